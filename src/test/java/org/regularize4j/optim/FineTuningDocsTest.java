package org.regularize4j.optim;

import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.ema.ModelEma;
import org.regularize4j.penalty.L2Penalty;
import org.regularize4j.penalty.L2SP;
import org.regularize4j.penalty.ParamKind;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.penalty.Selector;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.testutil.JavadocExamples;
import org.regularize4j.testutil.SingleThreadedNd4j;

import java.io.File;
import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Java blocks of docs/fine-tuning.md, copied here verbatim and run. */
@ExtendWith(SingleThreadedNd4j.class)
class FineTuningDocsTest {

    static ComputationGraph resnet8(int classes) {
        return ResNet.cifar(8).widthMultiplier(0.25).inputShape(1, 8, 8).numClasses(classes)
                .updater(new TorchSgd(0.01, 0.9, true)).seed(4).build();
    }

    static DataSet data(int classes) {
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 1, 8, 8);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 4, classes);
        for (int i = 0; i < 4; i++) {
            y.putScalar(i, i % classes, 1.0);
        }
        return new DataSet(x, y);
    }

    @Test
    void modelEma(@TempDir File dir) throws IOException {
        ComputationGraph net = resnet8(3);
        DataSet trainData = data(3);

        ModelEma ema = new ModelEma(0.999).withWarmup(true);
        net.addListeners(ema);
        net.fit(trainData);                                   // after each step: ema = d * ema + (1 - d) * w
        ComputationGraph averaged = (ComputationGraph) ema.model();   // evaluate or save it like any network
        File checkpoint = new File(dir, "checkpoint.zip");
        ModelSerializer.writeModel(net, checkpoint, true);
        ema.writeTo(checkpoint);                              // the average and its settings ride in the zip
        ModelEma resumed = ModelEma.readFrom(checkpoint);     // attach it to the restored network to continue

        assertEquals(net.params(), averaged.params());
        assertEquals(ema.params(), resumed.params());
        assertTrue(resumed.sameSettings(ema));
    }

    @Test
    void fineTuning() {
        ComputationGraph pretrained = resnet8(8);

        ComputationGraph fineTuned = new TransferLearning.GraphBuilder(pretrained)    // pretrained on 8 classes
                .removeVertexAndConnections("fc")
                .addLayer("fc", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(16).nOut(10)
                        .activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("fc").build();
        RegularizationPolicy.builder()
                .penalize(Selector.kinds(ParamKind.WEIGHT), L2SP.towards(0.1, pretrained))          // shared weights
                .penalize(Selector.layers("fc").withKinds(ParamKind.WEIGHT), new L2Penalty(0.01))   // the new head
                .exempt(Selector.kinds(ParamKind.BIAS, ParamKind.NORM))
                .build().applyTo(fineTuned);
        LayerDecay.of(0.7).applyTo(fineTuned);

        assertEquals(1.0, LayerDecay.multipliersIn(fineTuned.getConfiguration()).get("fc"));
        assertEquals(Math.pow(0.7, 4), LayerDecay.multipliersIn(fineTuned.getConfiguration()).get("stem"), 1e-15);
        assertEquals(List.of(new L2Penalty(0.01)), fineTuned.getLayer("fc").conf().getLayer()
                .getRegularizationByParam("W"));
        assertEquals(0.0, fineTuned.calcRegularizationScore(true) - 0.5 * 0.01 * Math.pow(fineTuned.getLayer("fc")
                .getParam("W").norm2Number().doubleValue(), 2), 1e-6);   // L2-SP is 0 at the start
        fineTuned.fit(data(10));
    }

    @Test
    void everyDocsBlockIsCopiedHereVerbatim() throws IOException {
        assertEquals(2, JavadocExamples.assertDocBlocksCopiedVerbatim("docs/fine-tuning.md", 2,
                "src/test/java/org/regularize4j/optim/FineTuningDocsTest.java"));
    }
}
