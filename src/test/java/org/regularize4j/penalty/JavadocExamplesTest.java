package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.regularize4j.testutil.JavadocExamples;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every usage example in the Javadoc of org.regularize4j.penalty, copied here verbatim, compiled and run, with
 * a few assertions on what it produced. {@link #everyExampleIsCopiedHereVerbatim()} reads the sources and fails
 * if an example changed without this file, or if a public type has no example.
 */
class JavadocExamplesTest {

    @Test
    void activityRegularization() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(8).activation(Activation.RELU).build())
                .layer(new ActivityRegularization(1e-4, 1e-3))
                .layer(new OutputLayer.Builder().nIn(8).nOut(3).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.output(Nd4j.rand(DataType.FLOAT, 2, 4));
        ActivityRegularizationImpl act = (ActivityRegularizationImpl) net.getLayer(1);   // net: the MultiLayerNetwork above
        double lastPenalty = act.getLastScore();
        assertTrue(lastPenalty > 0);
    }

    @Test
    void activityRegularizationBuilder() {
        ActivityRegularization act = new ActivityRegularization.Builder().l2(1e-3).name("act").build();
        assertEquals("act", act.getLayerName());
    }

    @Test
    void penalties() {
        Layer layer = new DenseLayer.Builder().nIn(4).nOut(3)
                .regularization(List.of(new L1Penalty(1e-4))).build();
        Layer conv = new ConvolutionLayer.Builder(3, 3).nIn(3).nOut(8)
                .regularization(List.of(new L2Penalty(5e-4))).build();
        assertEquals(List.of(new L1Penalty(1e-4)), layer.getRegularizationByParam("W"));
        assertEquals(List.of(new L2Penalty(5e-4)), conv.getRegularizationByParam("W"));

        Regularization penalty = new ElasticNet(1e-5, 1e-4);
        double score = penalty.score(Nd4j.createFromArray(1.0, -2.0), 0, 0);   // 1e-5 * 3 + 0.5 * 1e-4 * 5
        assertEquals(1e-5 * 3 + 0.5 * 1e-4 * 5, score, 1e-15);
    }

    @Test
    void decoupledWeightDecay() {
        RegularizationPolicy policy = RegularizationPolicy.standard(new DecoupledWeightDecay(0.05));
        assertEquals(2, policy.getRules().size());
    }

    @Test
    void proximalL1() {
        RegularizationPolicy policy = RegularizationPolicy.builder()
                .penalize(Selector.kinds(ParamKind.WEIGHT), new ProximalL1(1e-3))
                .build();
        assertEquals(1, policy.getRules().size());
    }

    @Test
    void l2sp() {
        MultiLayerNetwork pretrained = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(3).build())
                .layer(new OutputLayer.Builder().nIn(3).nOut(2).activation(Activation.SOFTMAX).build()).build());
        pretrained.init();
        RegularizationPolicy fineTune = RegularizationPolicy.builder()
                .penalize(Selector.kinds(ParamKind.WEIGHT), L2SP.towards(1e-2, pretrained))
                .build();
        Regularization single = new L2SP(1e-2, pretrained.getParam("0_W"));   // bound to one parameter by hand

        MultiLayerNetwork net = pretrained.clone();
        fineTune.applyTo(net);
        assertEquals(single, net.getLayer(0).conf().getLayer().getRegularizationByParam("W").get(0));
    }

    @Test
    void paramInfoAndFactories() {
        PenaltyFactory logOnly = param -> {
            LoggerFactory.getLogger("policy").info("penalizing {} {}", param, Arrays.toString(param.shape()));
            return new L2Penalty(1e-4);
        };
        PenaltyFactory plain = PenaltyFactory.of(new L2Penalty(1e-4));
        PenaltyFactory perParameter = param -> new L2Penalty(param.kind() == ParamKind.WEIGHT ? 1e-4 : 1e-5);

        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new OutputLayer.Builder().nIn(3).nOut(2).build()).build());
        net.init();
        RegularizationPolicy.builder().penalize(Selector.kinds(ParamKind.WEIGHT), logOnly).build().describe(net);
        RegularizationPolicy.builder().penalize(Selector.kinds(ParamKind.WEIGHT), plain).build().applyTo(net);
        assertEquals(List.of(new L2Penalty(1e-4)), net.getLayer(0).conf().getLayer().getRegularizationByParam("W"));
        RegularizationPolicy.builder().penalize(Selector.all(), perParameter).build().applyTo(net);
        assertEquals(List.of(new L2Penalty(1e-5)), net.getLayer(0).conf().getLayer().getRegularizationByParam("b"));
    }

    @Test
    void paramKinds() {
        Selector weightsOnly = Selector.kinds(ParamKind.WEIGHT);
        boolean penalizable = ParamKind.NORM.isPenalizable();   // true; STATISTIC is the only kind that is not
        assertTrue(penalizable && weightsOnly.coveredKinds().equals(java.util.Set.of(ParamKind.WEIGHT)));

        ParamKindAware block = paramName -> paramName.endsWith("W") ? ParamKind.WEIGHT
                : paramName.endsWith("Gamma") || paramName.endsWith("Beta") ? ParamKind.NORM
                : paramName.endsWith("Mean") || paramName.endsWith("Var") ? ParamKind.STATISTIC : null;
        assertEquals(ParamKind.NORM, block.kindOf("bn1Gamma"));
        assertEquals(null, block.kindOf("other"));
    }

    @Test
    void penalizedBatchNormalization() {
        PenalizedBatchNormalization bn = PenalizedBatchNormalization.of(new BatchNormalization.Builder().nOut(16).build());
        RegularizationPolicy decayNormsToo = RegularizationPolicy.builder()
                .penalize(Selector.kinds(ParamKind.WEIGHT, ParamKind.NORM), new L2Penalty(1e-4))
                .build();
        assertEquals(16, bn.getNOut());
        assertEquals(1, decayNormsToo.getRules().size());
    }

    @Test
    void perParameterRegularization() {
        PenalizedBatchNormalization bn = PenalizedBatchNormalization.of(new BatchNormalization.Builder().nOut(8).build());
        bn.setRegularizationByParam("gamma", List.of(new L2Penalty(1e-5)));
        List<Regularization> penalties = bn.getRegularizationByParam("gamma");   // [L2Penalty(l2=1.0E-5)]
        assertEquals(List.of(new L2Penalty(1e-5)), penalties);
    }

    @Test
    void breakdownListener() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().updater(new Sgd(0.1))
                .l2(1e-3).list().layer(new OutputLayer.Builder().nIn(3).nOut(2).activation(Activation.SOFTMAX)
                        .build()).build());
        net.init();
        INDArray features = Nd4j.rand(DataType.FLOAT, 4, 3);
        INDArray labels = Nd4j.createFromArray(new float[][] {{1, 0}, {0, 1}, {1, 0}, {0, 1}});

        PenaltyBreakdownListener breakdown = new PenaltyBreakdownListener(10);
        net.setListeners(breakdown);             // net: an initialized network
        net.fit(new DataSet(features, labels));
        double dataLoss = breakdown.getLastDataLoss();
        Map<String, Double> byPenalty = breakdown.getLastBreakdown();
        assertTrue(dataLoss > 0 && byPenalty.size() == 1, byPenalty.toString());
    }

    @Test
    void penaltyTable() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(3).regularization(List.of(new L2Penalty(1e-3))).build())
                .layer(new OutputLayer.Builder().nIn(3).nOut(2).activation(Activation.SOFTMAX).build()).build());
        net.init();
        PenaltyTable table = PenaltyTable.of(net);
        double l2Part = table.breakdown().get("L2Penalty(l2=0.001)");
        LoggerFactory.getLogger("example").info("\n{}", table);
        assertTrue(l2Part > 0);

        PenaltyTable.Row first = PenaltyTable.of(net).rows().get(0);   // net: an initialized network
        assertEquals("layer0/W", first.getLayer() + "/" + first.getParam());
    }

    @Test
    void regularizationPolicy() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).updater(new Sgd(0.1))
                .graphBuilder().addInputs("in")
                .addLayer("hidden", new DenseLayer.Builder().nIn(4).nOut(8).activation(Activation.RELU).build(), "in")
                .addLayer("head", new OutputLayer.Builder().nIn(8).nOut(3).activation(Activation.SOFTMAX).build(), "hidden")
                .setOutputs("head").build();
        RegularizationPolicy policy = RegularizationPolicy.standard(5e-4).toBuilder()
                .alsoPenalize(Selector.layers("head").withKinds(ParamKind.WEIGHT), new L1Penalty(1e-5))
                .build();
        policy.applyTo(conf);
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        LoggerFactory.getLogger("example").info("\n{}", policy.describe(net));
        assertEquals(List.of(new L2Penalty(5e-4), new L1Penalty(1e-5)),
                net.getLayer("head").conf().getLayer().getRegularizationByParam("W"));
    }

    @Test
    void policyBuilder() {
        RegularizationPolicy policy = RegularizationPolicy.builder()
                .penalize(Selector.kinds(ParamKind.WEIGHT), new L2Penalty(1e-4))
                .exempt(Selector.layers("embedding*"))
                .build();
        assertEquals(2, policy.getRules().size());
    }

    @Test
    void rulesAndSelectors() {
        Rule l1OnHead = Rule.alsoPenalize(Selector.layers("head").withKinds(ParamKind.WEIGHT), new L1Penalty(1e-5))
                .named("sparse head");
        Rule noDecayOnEmbeddings = Rule.exempt(Selector.layerTypes(EmbeddingLayer.class)).optional();
        Rule.Action action = Rule.exempt(Selector.kinds(ParamKind.BIAS)).getAction();   // EXEMPT
        assertEquals(Rule.Action.EXEMPT, action);
        assertTrue(noDecayOnEmbeddings.isOptional() && l1OnHead.getName().equals("sparse head"));

        Selector classifierWeights = Selector.layers("fc*").withKinds(ParamKind.WEIGHT);
        Selector convKernels = Selector.layerTypes(ConvolutionLayer.class).withKinds(ParamKind.WEIGHT);
        Selector blockNorms = Selector.layersMatching("res[0-9]+_bn[12]").withKinds(ParamKind.NORM);
        assertEquals("layers=\"fc*\", kinds=[WEIGHT]", classifierWeights.toString());
        assertTrue(convKernels != null && blockNorms != null);
    }

    @Test
    void orthogonalPenalty() {
        RegularizationPolicy policy = RegularizationPolicy.standard(5e-4).toBuilder()
                .alsoPenalize(Selector.layers("conv*").withKinds(ParamKind.WEIGHT),
                        new OrthogonalPenalty(0.01, OrthogonalPenalty.Mode.ROWS))
                .build();
        Regularization dense = new OrthogonalPenalty(0.01, OrthogonalPenalty.Mode.COLUMNS).boundTo(new long[] {8, 4}, 'f');

        OrthogonalPenalty.Mode filters = OrthogonalPenalty.Mode.ROWS;   // of a convolution kernel: its filters

        assertEquals(filters, new OrthogonalPenalty(0.01, filters).getMode());
        assertEquals(3, policy.getRules().size());
        assertEquals(0.0, dense.score(Nd4j.concat(0, Nd4j.eye(4), Nd4j.zeros(4, 4)), 0, 0), 0.0);   // orthonormal columns
    }

    @Test
    void everyExampleIsCopiedHereVerbatim() throws IOException {
        JavadocExamples.assertCopiedVerbatim("src/main/java/org/regularize4j/penalty",
                "src/test/java/org/regularize4j/penalty/JavadocExamplesTest.java", 24);
    }
}
