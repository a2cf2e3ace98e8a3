package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.recurrent.LastTimeStep;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * RegularizationPolicy on a ResNet-like graph (conv + BatchNormalization + ElementWiseVertex residual adds +
 * global pooling + dense classifier), built with DL4J's own global penalties switched on so that the policy has
 * to override DL4J's merge: timm's standard rule, a per-layer L1 rule on the classifier only, {@code .l2(0)}-style
 * opt-outs, NORM penalties (refused on stock BatchNormalization, applied with PenalizedBatchNormalization), the
 * built network's getRegularizationByParam equal to describe's table, MultiLayerNetwork and builders, and
 * re-application after TransferLearning.
 */
class PolicyTest {
    private static final Logger log = LoggerFactory.getLogger(PolicyTest.class);
    private static final double WD = 5e-4;

    static ComputationGraphConfiguration resnet(Consumer<NeuralNetConfiguration.Builder> global,
                                                Function<BatchNormalization, org.deeplearning4j.nn.conf.layers.Layer> bn) {
        return TestNets.resnetConf(3, 8, 4, 2, 3, new Sgd(0.1), DataType.FLOAT, global, bn);
    }

    /** DL4J's global penalties, which the policy must replace. */
    static void dl4jGlobals(NeuralNetConfiguration.Builder b) {
        b.l2(1e-3).l2Bias(1e-3);
    }

    static List<Regularization> actual(ComputationGraph net, String layer, String param) {
        List<Regularization> l = net.getLayer(layer).conf().getLayer().getRegularizationByParam(param);
        return l == null ? Collections.emptyList() : l;
    }

    /** Every parameter of the net: expected penalties by kind/layer, checked against DL4J's own lookup. */
    static void assertLists(ComputationGraph net, Function<PenaltyTable.Row, List<Regularization>> expected) {
        PenaltyTable table = PenaltyTable.of(net);
        assertTrue(table.rows().size() >= 20, "rows: " + table.rows().size());
        for (PenaltyTable.Row r : table.rows()) {
            assertEquals(expected.apply(r), actual(net, r.getLayer(), r.getParam()),
                    r.getLayer() + "/" + r.getParam() + " (" + r.getKind() + ")");
        }
    }

    @Test
    void standardDecaysWeightsAndExemptsBiasesAndNormParameters() {
        ComputationGraphConfiguration conf = resnet(PolicyTest::dl4jGlobals, b -> b);
        // Without the policy, DL4J put its global L2 on weights and biases.
        assertEquals(List.of(new L2Regularization(1e-3)), ((ConvolutionLayer) ((org.deeplearning4j.nn.conf.graph
                .LayerVertex) conf.getVertices().get("stem")).getLayerConf().getLayer()).getRegularizationBias());
        RegularizationPolicy.standard(WD).applyTo(conf);
        ComputationGraph net = TestNets.init(conf);
        assertLists(net, r -> r.getKind() == ParamKind.WEIGHT ? List.of(new L2Penalty(WD)) : List.of());
        // The kinds the policy saw.
        Map<String, List<Regularization>> byParam = PenaltyTable.of(net).penaltiesByParam();
        assertTrue(byParam.containsKey("stem/b") && byParam.containsKey("stembn/gamma")
                && byParam.containsKey("stembn/mean") && byParam.containsKey("b2conv2/W") && byParam.containsKey("fc/b"));
        // The score's regularization part is exactly sum over weights of ½ wd ||W||².
        double expected = 0;
        for (String w : new String[] {"stem", "b1conv1", "b1conv2", "b2conv1", "b2conv2", "fc"}) {
            double n = net.getLayer(w).getParam("W").norm2Number().doubleValue();
            expected += 0.5 * WD * n * n;
        }
        assertEquals(expected, net.calcRegularizationScore(true), 1e-6 * expected);
    }

    @Test
    void l1RuleOnTheClassifierOnly() {
        ComputationGraphConfiguration conf = resnet(PolicyTest::dl4jGlobals, b -> b);
        RegularizationPolicy policy = RegularizationPolicy.standard(WD).toBuilder()
                .alsoPenalize(Selector.layers("fc").withKinds(ParamKind.WEIGHT), new L1Penalty(1e-4))
                .build();
        ComputationGraph net = TestNets.init(policy.applyTo(conf));
        assertLists(net, r -> r.getKind() != ParamKind.WEIGHT ? List.of()
                : r.getLayer().equals("fc") ? List.of(new L2Penalty(WD), new L1Penalty(1e-4))
                : List.of(new L2Penalty(WD)));
        // Replacing instead of adding: the classifier gets L1 only.
        RegularizationPolicy.standard(WD).toBuilder()
                .penalize(Selector.layers("f?").withKinds(ParamKind.WEIGHT), new L1Penalty(1e-4)).build().applyTo(net);
        assertEquals(List.of(new L1Penalty(1e-4)), actual(net, "fc", "W"));
        assertEquals(List.of(new L2Penalty(WD)), actual(net, "b1conv1", "W"));
    }

    /** DL4J cannot opt a layer out with .l2(0) (see Dl4jMergeBugTest); an exemption rule can. */
    @Test
    void optOutOfOneLayerWorks() {
        ComputationGraphConfiguration conf = resnet(PolicyTest::dl4jGlobals, b -> b);
        RegularizationPolicy.standard(WD).toBuilder().exempt(Selector.layersMatching("b2conv[12]")).build()
                .applyTo(conf);
        ComputationGraph net = TestNets.init(conf);
        assertLists(net, r -> r.getKind() == ParamKind.WEIGHT && !r.getLayer().startsWith("b2conv")
                ? List.of(new L2Penalty(WD)) : List.of());
        // No rule at all: nothing, not even DL4J's global L2.
        RegularizationPolicy.none().applyTo(net);
        assertLists(net, r -> List.of());
        assertEquals(0.0, net.calcRegularizationScore(true), 0.0);
    }

    @Test
    void builtNetworkEqualsDescribesTable() {
        ComputationGraphConfiguration conf = resnet(PolicyTest::dl4jGlobals, PenalizedBatchNormalization::of);
        ComputationGraph pretrained = TestNets.init(conf.clone());
        RegularizationPolicy policy = RegularizationPolicy.standard(WD).toBuilder()
                .penalize(Selector.layers("b1*").withKinds(ParamKind.WEIGHT), L2SP.towards(1e-2, pretrained))
                .alsoPenalize(Selector.layers("fc").withKinds(ParamKind.WEIGHT), new ProximalL1(1e-4))
                .penalize(Selector.layerTypes(BatchNormalization.class).withKinds(ParamKind.NORM).withParams("gamma"),
                        new L2Penalty(1e-5))
                .build();
        PenaltyTable planned = policy.describe(conf);
        ComputationGraph net = TestNets.init(policy.applyTo(conf));
        PenaltyTable described = policy.describe(net);
        PenaltyTable actualTable = PenaltyTable.of(net);
        assertEquals(actualTable.rows(), described.rows());
        assertEquals(actualTable.rows(), planned.rows());
        for (PenaltyTable.Row r : described.rows()) {
            assertEquals(r.getPenalties(), actual(net, r.getLayer(), r.getParam()), r.toString());
        }
        assertEquals(List.of(new L2Penalty(1e-5)), actual(net, "stembn", "gamma"));
        assertEquals(List.of(), actual(net, "stembn", "beta"));
        assertEquals(List.of(), actual(net, "stembn", "mean"));
        assertTrue(actual(net, "b1conv2", "W").get(0) instanceof L2SP);
        assertEquals(List.of(new L2Penalty(WD), new ProximalL1(1e-4)), actual(net, "fc", "W"));
        PenaltyTable.Row fcW = described.rows().stream().filter(r -> r.toString().startsWith("fc/W ")).findFirst()
                .orElseThrow();
        assertEquals("#1,#4", fcW.getDecidedBy());
        // Scores: the table's total is the network's regularization score.
        assertEquals(net.calcRegularizationScore(true), described.total(), 1e-6 * described.total());
        String text = described.toString();
        log.info("describe:\n{}", text);
        assertTrue(text.contains("b1conv2") && text.contains("L2SP(coeff=0.01, reference=[4, 4, 3, 3])")
                && text.contains("(running statistic)") && text.contains("#3"), text);
    }

    @Test
    void normRuleOnStockBatchNormalizationFailsQuotingTheRule() {
        ComputationGraphConfiguration conf = resnet(null, b -> b);
        String before = conf.toJson();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RegularizationPolicy.builder()
                .penalize(Selector.kinds(ParamKind.WEIGHT, ParamKind.NORM), new L2Penalty(1e-4)).build().applyTo(conf));
        assertTrue(e.getMessage().startsWith("rule #1 penalize(kinds=[WEIGHT, NORM]) -> [L2Penalty(l2=1.0E-4)] asks"
                + " to penalize layer 'stembn' (BatchNormalization) parameter 'gamma' [NORM]"), e.getMessage());
        assertTrue(e.getMessage().contains("PenalizedBatchNormalization"), e.getMessage());
        assertEquals(before, conf.toJson(), "a failed apply leaves the configuration unchanged");
    }

    /** With PenalizedBatchNormalization the NORM penalty acts: one SGD step moves gamma by -lr * l2 * gamma more. */
    @Test
    void normPenaltyOnPenalizedBatchNormalizationActs() {
        double lr = 0.1;
        double l2 = 0.5;
        ComputationGraph plain = TestNets.init(RegularizationPolicy.none().applyTo(
                resnet(null, PenalizedBatchNormalization::of)));
        ComputationGraph penalized = TestNets.init(RegularizationPolicy.builder()
                .penalize(Selector.kinds(ParamKind.NORM).withParams("gamma"), new L2Penalty(l2)).build()
                .applyTo(resnet(null, PenalizedBatchNormalization::of)));
        penalized.setParams(plain.params());
        INDArray gamma0 = plain.getLayer("b1bn1").getParam("gamma").dup();
        gamma0.addi(0.5);   // gamma starts at 1: make it non-uniform
        plain.getLayer("b1bn1").getParam("gamma").assign(gamma0);
        penalized.getLayer("b1bn1").getParam("gamma").assign(gamma0);
        DataSet ds = TestNets.data(new long[] {4, 3, 8, 8}, 3, 5, DataType.FLOAT);
        plain.fit(ds);
        penalized.fit(ds);
        INDArray diff = penalized.getLayer("b1bn1").getParam("gamma").sub(plain.getLayer("b1bn1").getParam("gamma"));
        INDArray expected = gamma0.mul(-lr * l2);
        assertTrue(diff.equalsWithEps(expected, 1e-5), "diff " + diff + " expected " + expected);
        // Running statistics are untouched by the penalty.
        assertTrue(penalized.getLayer("b1bn1").getParam("mean").equalsWithEps(
                plain.getLayer("b1bn1").getParam("mean"), 1e-6));
    }

    @Test
    void multiLayerNetworkAndBuilders() {
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder().seed(1).updater(new Sgd(0.1))
                .weightDecay(1e-3).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder().nIn(5).nOut(3).activation(Activation.SOFTMAX).build());
        MultiLayerConfiguration conf = RegularizationPolicy.standard(new DecoupledWeightDecay(1e-3)).applyTo(list);
        MultiLayerNetwork mln = new MultiLayerNetwork(conf);
        mln.init();
        assertEquals(List.of(new DecoupledWeightDecay(1e-3)), mln.getLayer(0).conf().getLayer().getRegularizationByParam("W"));
        assertEquals(List.of(), mln.getLayer(1).conf().getLayer().getRegularizationByParam("b"));
        assertEquals(List.of("layer0/W", "layer0/b", "layer1/W", "layer1/b"),
                List.copyOf(PenaltyTable.of(mln).penaltiesByParam().keySet()));

        // GraphBuilder: merged at addLayer, so applying before build() sticks.
        ComputationGraphConfiguration.GraphBuilder gb = new NeuralNetConfiguration.Builder().seed(1)
                .updater(new Sgd(0.1)).weightDecay(1e-3).graphBuilder().addInputs("in")
                .addLayer("h", new DenseLayer.Builder().nIn(4).nOut(5).build(), "in")
                .addLayer("out", new OutputLayer.Builder().nIn(5).nOut(3).activation(Activation.SOFTMAX).build(), "h")
                .setOutputs("out");
        RegularizationPolicy.standard(WD).applyTo(gb);
        ComputationGraph g = TestNets.init(gb.build());
        assertEquals(List.of(new L2Penalty(WD)), actual(g, "h", "W"));
        assertEquals(List.of(new L2Penalty(WD)), actual(g, "out", "W"));
        assertEquals(List.of(), actual(g, "out", "b"));
    }

    /** FineTuneConfiguration replaces whole lists; re-applying the policy restores exactly what it says. */
    @Test
    void reappliedAfterTransferLearning() {
        ComputationGraph pretrained = TestNets.init(RegularizationPolicy.standard(WD)
                .applyTo(resnet(null, b -> b)));
        ComputationGraph fineTuned = new TransferLearning.GraphBuilder(pretrained)
                .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(new Sgd(0.01)).weightDecay(1e-2)
                        .build())
                .setFeatureExtractor("b1out")
                .build();
        assertTrue(actual(fineTuned, "fc", "W").stream().anyMatch(r -> r instanceof WeightDecay),
                "FineTuneConfiguration replaced the list: " + actual(fineTuned, "fc", "W"));
        RegularizationPolicy policy = RegularizationPolicy.standard(WD);
        policy.applyTo(fineTuned);
        assertEquals(List.of(new L2Penalty(WD)), actual(fineTuned, "fc", "W"));
        assertEquals(List.of(new L2Penalty(WD)), actual(fineTuned, "b2conv1", "W"));
        // The live layers share their configuration objects with the network's configuration (what gets saved).
        assertEquals(List.of(new L2Penalty(WD)), ((org.deeplearning4j.nn.conf.graph.LayerVertex) fineTuned
                .getConfiguration().getVertices().get("fc")).getLayerConf().getLayer().getRegularizationByParam("W"));
        // Frozen layers are never selected and show as frozen.
        // (TransferLearning freezes the implementation; its conf() still returns the unfrozen configuration.)
        assertTrue(fineTuned.getLayer("b1conv1") instanceof org.deeplearning4j.nn.layers.FrozenLayer);
        assertTrue(((org.deeplearning4j.nn.conf.graph.LayerVertex) fineTuned.getConfiguration().getVertices()
                .get("b1conv1")).getLayerConf().getLayer() instanceof FrozenLayer);
        PenaltyTable table = policy.describe(fineTuned);
        PenaltyTable.Row frozen = table.rows().stream().filter(r -> r.getLayer().equals("b1conv1")).findFirst()
                .orElseThrow();
        assertTrue(frozen.isFrozen() && frozen.getPenalties().isEmpty(), table.toString());
        assertTrue(table.toString().contains("(frozen)"));
        // A rule selecting only frozen layers selects nothing.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RegularizationPolicy.builder()
                .penalize(Selector.layers("b1conv*"), new L2Penalty(1e-3)).build().applyTo(fineTuned));
        assertTrue(e.getMessage().contains("matches no parameter") && e.getMessage().contains("frozen"),
                e.getMessage());
    }

    /** Wrapped layers: Bidirectional (both directions written), LastTimeStep (the wrapped LSTM), frozen layers. */
    @Test
    void wrappedLayers() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).updater(new Sgd(0.1)).l2(1e-2)
                .list()
                .layer(new Bidirectional(new LSTM.Builder().nOut(4).activation(Activation.TANH).build()))
                .layer(new LastTimeStep(new LSTM.Builder().nOut(5).activation(Activation.TANH).build()))
                .layer(new FrozenLayerWithBackprop(new DenseLayer.Builder().nIn(5).nOut(4).build()))
                .layer(new OutputLayer.Builder().nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(3, 6)).build();
        RegularizationPolicy policy = RegularizationPolicy.standard(WD);
        policy.applyTo(conf);
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        Bidirectional bidi = (Bidirectional) conf.getConf(0).getLayer();
        for (org.deeplearning4j.nn.conf.layers.Layer direction : List.of(bidi.getFwd(), bidi.getBwd())) {
            assertEquals(List.of(new L2Penalty(WD)), direction.getRegularizationByParam("W"));
            assertEquals(List.of(new L2Penalty(WD)), direction.getRegularizationByParam("RW"));
            assertEquals(List.of(), direction.getRegularizationByParam("b"));
        }
        LastTimeStep last = (LastTimeStep) conf.getConf(1).getLayer();
        assertEquals(List.of(new L2Penalty(WD)), last.getUnderlying().getRegularizationByParam("RW"));
        Map<String, List<Regularization>> table = PenaltyTable.of(net).penaltiesByParam();
        assertEquals(List.of(new L2Penalty(WD)), table.get("layer0/bW"));
        assertEquals(List.of(), table.get("layer0/bb"));
        assertEquals(List.of(), table.get("layer2/W"), "frozen");
        assertTrue(PenaltyTable.of(net).rows().stream().filter(r -> r.getLayer().equals("layer2"))
                .allMatch(PenaltyTable.Row::isFrozen));
        assertEquals(PenaltyTable.of(net).rows(), policy.describe(net).rows());
        // The score DL4J computes is the table's total (both directions of the Bidirectional layer included).
        DataSet ds = new DataSet(org.nd4j.linalg.factory.Nd4j.rand(DataType.FLOAT, 3, 3, 6),
                org.nd4j.linalg.factory.Nd4j.createFromArray(new float[][] {{1, 0}, {0, 1}, {1, 0}}));
        net.fit(ds);
        assertEquals(PenaltyTable.of(net).total(), net.calcRegularizationScore(true), 1e-6);
    }

    @Test
    void selectorsByTypeGlobRegexAndParam() {
        ComputationGraphConfiguration conf = resnet(null, b -> b);
        ComputationGraph net = TestNets.init(RegularizationPolicy.builder()
                .penalize(Selector.layerTypes(ConvolutionLayer.class).withKinds(ParamKind.WEIGHT), new L2Penalty(1e-4))
                .penalize(Selector.layers("{stem,fc}").withParams("b"), new L1Penalty(1e-5))
                .exempt(Selector.layersMatching("b[0-9]conv2"))
                .build().applyTo(conf));
        assertEquals(List.of(new L2Penalty(1e-4)), actual(net, "stem", "W"));
        assertEquals(List.of(new L1Penalty(1e-5)), actual(net, "stem", "b"));
        assertEquals(List.of(new L1Penalty(1e-5)), actual(net, "fc", "b"));
        assertEquals(List.of(), actual(net, "fc", "W"));
        assertEquals(List.of(new L2Penalty(1e-4)), actual(net, "b2conv1", "W"));
        assertEquals(List.of(), actual(net, "b2conv2", "W"));
    }

    @Test
    void selectorMatchesItsCriteria() {
        ParamInfo convW = new ParamInfo("b1conv1", 3, new ConvolutionLayer.Builder(3, 3).nIn(2).nOut(2).build(), "W",
                ParamKind.WEIGHT, null);
        assertTrue(Selector.all().matches(convW));
        assertTrue(Selector.layers("b?conv*").matches(convW));
        assertTrue(!Selector.layers("b?conv").matches(convW));
        assertTrue(Selector.layers("b[12]conv1").matches(convW));
        assertTrue(!Selector.layers("b[!1]conv1").matches(convW));
        assertTrue(Selector.layersMatching("b\\dconv\\d").matches(convW));
        assertTrue(!Selector.kinds(ParamKind.BIAS).matches(convW));
        assertTrue(!Selector.layerTypes(DenseLayer.class).matches(convW));
        assertTrue(Selector.layers("b1.conv1").matches(convW) == false, "'.' is literal in a glob");
        ParamInfo mean = new ParamInfo("bn", 0, new BatchNormalization(), "mean", ParamKind.STATISTIC, null);
        assertTrue(!Selector.all().matches(mean), "running statistics only by explicit kind");
        assertTrue(Selector.kinds(ParamKind.STATISTIC).matches(mean));
    }
}
