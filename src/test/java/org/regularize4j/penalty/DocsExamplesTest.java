package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.linalg.schedule.StepSchedule;
import org.regularize4j.optim.TorchAdam;
import org.regularize4j.optim.TorchOptimizer;
import org.regularize4j.optim.TorchSgd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The examples of docs/penalties.md, copied here verbatim and run; {@link #everyDocsExampleIsCopiedHereVerbatim}
 * fails when the document and this file drift apart.
 */
class DocsExamplesTest {

    static ComputationGraphConfiguration smallResNet() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(42)
                .updater(new TorchSgd(0.1, 0.9, true)).convolutionMode(ConvolutionMode.Same)
                .graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(32, 32, 3))
                .addLayer("conv1", new ConvolutionLayer.Builder(3, 3).nOut(16).build(), "in")
                .addLayer("bn1", new BatchNormalization.Builder().build(), "conv1")
                .addLayer("relu1", new ActivationLayer(Activation.RELU), "bn1")
                .addLayer("conv2", new ConvolutionLayer.Builder(3, 3).nOut(16).hasBias(false).build(), "relu1")
                .addLayer("bn2", new BatchNormalization.Builder().build(), "conv2")
                .addVertex("add", new ElementWiseVertex(ElementWiseVertex.Op.Add), "bn2", "relu1")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "add")
                .addLayer("fc", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                        .activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("fc").build();
        return conf;
    }

    @Test
    void quickStart() {
        ComputationGraphConfiguration conf = smallResNet();

        RegularizationPolicy policy = RegularizationPolicy.standard(5e-4);   // weights only, like timm
        policy.applyTo(conf);
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        System.out.println(policy.describe(net));

        assertEquals(List.of(new L2Penalty(5e-4)), net.getLayer("conv1").conf().getLayer().getRegularizationByParam("W"));
        assertEquals(List.of(), net.getLayer("conv1").conf().getLayer().getRegularizationByParam("b"));
    }

    @Test
    void customRules() {
        ComputationGraphConfiguration conf = smallResNet();

        RegularizationPolicy policy = RegularizationPolicy.builder()
                .penalize(Selector.kinds(ParamKind.WEIGHT), new L2Penalty(5e-4))                          // #1
                .alsoPenalize(Selector.layers("fc").withKinds(ParamKind.WEIGHT), new L1Penalty(1e-5))     // #2
                .exempt(Selector.layersMatching("conv[0-9]+").withParams("b"))                            // #3
                .exempt(Selector.layers("conv2"))                                                         // #4
                .build();
        policy.applyTo(conf);

        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        assertEquals(List.of(new L2Penalty(5e-4), new L1Penalty(1e-5)),
                net.getLayer("fc").conf().getLayer().getRegularizationByParam("W"));
        assertEquals(List.of(), net.getLayer("conv2").conf().getLayer().getRegularizationByParam("W"));
    }

    @Test
    void adamW() {
        TorchOptimizer adamW = TorchOptimizer.adamW(new StepSchedule(ScheduleType.EPOCH, 1e-3, 0.1, 30), 0.05);
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(42)
                .updater(adamW.updater())                       // TorchAdam: PyTorch's Adam arithmetic
                .graphBuilder().addInputs("in")
                .addLayer("hidden", new DenseLayer.Builder().nIn(20).nOut(64).activation(Activation.RELU).build(), "in")
                .addLayer("out", new OutputLayer.Builder().nIn(64).nOut(3).activation(Activation.SOFTMAX).build(),
                        "hidden")
                .setOutputs("out").build();
        adamW.standardPolicy().applyTo(conf);                 // DecoupledWeightDecay(0.05) on weights only

        assertEquals(List.of(new DecoupledWeightDecay(0.05)), ((org.deeplearning4j.nn.conf.graph.LayerVertex) conf
                .getVertices().get("hidden")).getLayerConf().getLayer().getRegularizationByParam("W"));
    }

    @Test
    void normParameters() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(42)
                .updater(new TorchSgd(0.1, 0.9, true)).graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(8, 8, 3))
                .addLayer("conv", new ConvolutionLayer.Builder(3, 3).nOut(8).build(), "in")
                .addLayer("bn", PenalizedBatchNormalization.of(new BatchNormalization.Builder().build()), "conv")
                .addLayer("out", new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build(), "bn")
                .setOutputs("out").build();
        RegularizationPolicy.builder()
                .penalize(Selector.kinds(ParamKind.WEIGHT, ParamKind.NORM), new L2Penalty(1e-4))   // PyTorch's default
                .build().applyTo(conf);

        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        assertEquals(List.of(new L2Penalty(1e-4)), net.getLayer("bn").conf().getLayer().getRegularizationByParam("beta"));
        assertEquals(null, net.getLayer("bn").conf().getLayer().getRegularizationByParam("mean"));
    }

    @Test
    void fineTuningWithL2SP() {
        ComputationGraph pretrained = new ComputationGraph(smallResNet());
        pretrained.init();

        ComputationGraph fineTuned = new TransferLearning.GraphBuilder(pretrained)
                .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(new TorchSgd(0.01, 0.9, true)).build())
                .removeVertexAndConnections("fc")
                .addLayer("fc", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(16).nOut(5)
                        .activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("fc")
                .build();
        RegularizationPolicy.builder()
                .penalize(Selector.layers("conv*").withKinds(ParamKind.WEIGHT), L2SP.towards(1e-2, pretrained))
                .penalize(Selector.layers("fc").withKinds(ParamKind.WEIGHT), new L2Penalty(1e-4))
                .build().applyTo(fineTuned);          // after TransferLearning, which replaces penalty lists

        L2SP conv1 = (L2SP) fineTuned.getLayer("conv1").conf().getLayer().getRegularizationByParam("W").get(0);
        assertEquals(pretrained.getLayer("conv1").getParam("W"), conv1.getReference());
    }

    @Test
    void activityRegularization() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(42).updater(new Adam(1e-3)).list()
                .layer(new DenseLayer.Builder().nIn(20).nOut(64).activation(Activation.RELU).build())
                .layer(new ActivityRegularization(1e-5, 1e-4))   // Keras: layers.ActivityRegularization(1e-5, 1e-4)
                .layer(new OutputLayer.Builder().nIn(64).nOut(3).activation(Activation.SOFTMAX).build())
                .build();

        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.fit(TestNets.data(new long[] {8, 20}, 3, 1, DataType.FLOAT));
        assertTrue(((ActivityRegularizationImpl) net.getLayer(1)).getLastScore() > 0);
    }

    @Test
    void breakdownListener() {
        ComputationGraph net = new ComputationGraph(RegularizationPolicy.standard(5e-4).applyTo(smallResNet()));
        net.init();
        DataSet batch = TestNets.data(new long[] {4, 3, 32, 32}, 10, 1, DataType.FLOAT);

        PenaltyBreakdownListener breakdown = new PenaltyBreakdownListener(100);   // logs every 100 iterations
        net.setListeners(breakdown);
        net.fit(batch);
        Map<String, Double> byPenalty = breakdown.getLastBreakdown();        // {L2Penalty(l2=5.0E-4)=...}
        double dataLoss = breakdown.getLastDataLoss();

        assertEquals(1, byPenalty.size());
        assertEquals(net.score(), dataLoss + byPenalty.get("L2Penalty(l2=5.0E-4)"), 1e-6);
    }

    // ---------------------------------------------------------------------------------------------------------

    @Test
    void everyDocsExampleIsCopiedHereVerbatim() throws IOException {
        String doc = Files.readString(Paths.get("docs/penalties.md"));
        String self = org.regularize4j.testutil.JavadocExamples.normalize(Files.readString(
                Paths.get("src/test/java/org/regularize4j/penalty/DocsExamplesTest.java")));
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(doc);
        List<String> blocks = new ArrayList<>();
        while (m.find()) {
            blocks.add(m.group(1));
        }
        assertTrue(blocks.size() >= 7, "java blocks in docs/penalties.md: " + blocks.size());
        for (String b : blocks) {
            assertTrue(self.contains(org.regularize4j.testutil.JavadocExamples.normalize(b)), "docs example not copied verbatim:\n" + b);
        }
    }
}
