package org.regularize4j.optim;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.linalg.schedule.StepSchedule;
import org.regularize4j.penalty.DecoupledWeightDecay;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.testutil.JavadocExamples;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every usage example in the Javadoc of org.regularize4j.optim, copied here verbatim, compiled and run, with a few
 * assertions on what it produced. {@link #everyExampleIsCopiedHereVerbatim()} reads the sources and fails if an
 * example changed without this file, or if a public type has no example.
 */
class JavadocExamplesTest {

    @Test
    void updaters() {
        IUpdater adam = new TorchAdam(new ExponentialSchedule(ScheduleType.EPOCH, 1e-3, 0.9));
        IUpdater nesterov = new TorchSgd(new StepSchedule(ScheduleType.EPOCH, 0.1, 0.1, 30), 0.9, true);
        assertEquals(1e-3, adam.getLearningRate(0, 0), 1e-15);
        assertEquals(0.01, nesterov.getLearningRate(0, 30), 1e-15);

        INDArray state = Nd4j.zeros(DataType.DOUBLE, 1, 2 * 3);
        GradientUpdater<TorchAdam> u = new TorchAdam(0.01).instantiate(state, true);
        INDArray gradient = Nd4j.createFromArray(0.1, -0.2, 0.3);
        u.applyUpdater(gradient, 0, 0);   // gradient now holds the update of step 1
        assertEquals(-0.01, gradient.getDouble(1), 1e-9);
    }

    @Test
    void sgdUpdater() {
        GradientUpdater<TorchSgd> u = new TorchSgd(0.1, 0.9, true).instantiate(Nd4j.zeros(DataType.DOUBLE, 1, 2), true);
        INDArray gradient = Nd4j.createFromArray(1.0, -1.0);
        u.applyUpdater(gradient, 0, 0);   // update = 0.1 * (g + 0.9 * g)
        assertEquals(0.19, gradient.getDouble(0), 1e-15);
    }

    @Test
    void torchOptimizer() {
        TorchOptimizer adamW = TorchOptimizer.adamW(new ExponentialSchedule(ScheduleType.EPOCH, 1e-3, 0.95), 0.05);
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).updater(adamW.updater())
                .graphBuilder().addInputs("in")
                .addLayer("out", new OutputLayer.Builder().nIn(4).nOut(3).activation(Activation.SOFTMAX).build(), "in")
                .setOutputs("out").build();
        adamW.standardPolicy().applyTo(conf);
        assertEquals(List.of(new DecoupledWeightDecay(0.05)), ((org.deeplearning4j.nn.conf.graph.LayerVertex) conf
                .getVertices().get("out")).getLayerConf().getLayer().getRegularizationByParam("W"));
    }

    @Test
    void layerDecay() {
        ComputationGraph net = ResNet.cifar(20).inputShape(1, 28, 28).numClasses(10)
                .updater(new TorchSgd(0.01, 0.9, true)).build();
        LayerDecay decay = LayerDecay.of(0.7);
        decay.applyTo(net);   // stem: lr * 0.7^10, stage1.block1: lr * 0.7^9, ..., stage3.block3: lr * 0.7, fc: lr
        LoggerFactory.getLogger("example").info("\n{}", decay.describe(net));

        assertEquals(Math.pow(0.7, 10), LayerDecay.multipliersIn(net.getConfiguration()).get("stem"), 0.0);
        assertEquals(0.7, LayerDecay.multipliersIn(net.getConfiguration()).get("stage3.block3"), 0.0);
    }

    @Test
    void layerLrSchedule() {
        ISchedule lr = new LayerLrSchedule(new TorchSgd(0.1, 0.9, true), 0.25);   // 0.025 at every step

        assertEquals(0.025, lr.valueAt(100, 3), 1e-17);
    }

    @Test
    void everyExampleIsCopiedHereVerbatim() throws IOException {
        JavadocExamples.assertCopiedVerbatim("src/main/java/org/regularize4j/optim",
                "src/test/java/org/regularize4j/optim/JavadocExamplesTest.java", 7);
    }
}
