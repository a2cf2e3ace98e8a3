package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.MapSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input fails where it enters with an IllegalArgumentException naming the argument and its allowed range,
 * or quoting the rule: negative/NaN/infinite coefficients, schedules that turn negative, null or mis-shaped
 * reference weights, rules that match nothing, conflicting rules, impossible requests.
 */
class BadInputTest {

    static void fails(String expectedMessage, Executable e) {
        assertEquals(expectedMessage, assertThrows(IllegalArgumentException.class, e).getMessage());
    }

    static IllegalArgumentException failsContaining(Executable e, String... parts) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        for (String p : parts) {
            assertTrue(ex.getMessage().contains(p), "missing '" + p + "' in: " + ex.getMessage());
        }
        return ex;
    }

    @Test
    void coefficientsMustBeFiniteAndNonNegative() {
        fails("l1 must be finite and >= 0, got -1.0", () -> new L1Penalty(-1));
        fails("l1 must be finite and >= 0, got NaN", () -> new L1Penalty(Double.NaN));
        fails("l2 must be finite and >= 0, got -0.5", () -> new L2Penalty(-0.5));
        fails("l2 must be finite and >= 0, got Infinity", () -> new L2Penalty(Double.POSITIVE_INFINITY));
        fails("coeff must be finite and >= 0, got NaN", () -> new DecoupledWeightDecay(Double.NaN));
        fails("l1 must be finite and >= 0, got -1.0E-4", () -> new ElasticNet(-1e-4, 1e-4));
        fails("l2 must be finite and >= 0, got NaN", () -> new ElasticNet(1e-4, Double.NaN));
        fails("l1 must be finite and >= 0, got -2.0", () -> new ProximalL1(-2));
        fails("coeff must be finite and >= 0, got -1.0", () -> new L2SP(-1, Nd4j.ones(2, 2)));
        fails("l1 must be finite and >= 0, got -1.0", () -> new ActivityRegularization(-1, 0));
        fails("l2 must be finite and >= 0, got NaN", () -> new ActivityRegularization(0, Double.NaN));
        fails("weightDecay must be finite and >= 0, got -1.0", () -> RegularizationPolicy.standard(-1));
        fails("l1 must not be null", () -> new L1Penalty((ISchedule) null));
    }

    @Test
    void scheduleThatTurnsNegativeFailsWhenEvaluated() {
        MapSchedule s = new MapSchedule(ScheduleType.ITERATION, Map.of(0, 0.1, 5, -0.1));
        L2Penalty p = new L2Penalty(s);
        p.score(Nd4j.ones(2), 4, 0);
        failsContaining(() -> p.score(Nd4j.ones(2), 5, 0), "l2 must be finite and >= 0, got -0.1",
                "at iteration 5, epoch 0");
        MapSchedule negativeFromStart = new MapSchedule(ScheduleType.ITERATION, Map.of(0, -1.0));
        failsContaining(() -> new ProximalL1(negativeFromStart), "l1 must be finite and >= 0, got -1.0");
    }

    @Test
    void referenceWeights() {
        fails("reference must not be null", () -> new L2SP(1e-2, null));
        fails("paramOrder must be 'c' or 'f', got 'x'", () -> new L2SP(1e-2, Nd4j.ones(2, 2), 'x'));
        fails("reference must be a floating-point array, got INT", () -> new L2SP(1e-2, Nd4j.ones(DataType.INT, 2)));
        L2SP bound = new L2SP(1e-2, Nd4j.ones(DataType.DOUBLE, 3, 3));
        failsContaining(() -> bound.score(Nd4j.ones(DataType.DOUBLE, 4, 5), 0, 0),
                "L2SP reference has shape [3, 3] but the parameter has shape [4, 5]");
        fails("referenceModel must not be null", () -> L2SP.towards(1e-2, null));
    }

    static MultiLayerNetwork mlp(int hidden) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).updater(new Sgd(0.1)).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(hidden).build())
                .layer(new OutputLayer.Builder().nIn(hidden).nOut(3).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    @Test
    void referenceShapeMismatchThroughThePolicyQuotesTheRule() {
        MultiLayerNetwork net = mlp(5);
        MultiLayerNetwork otherWidth = mlp(6);
        failsContaining(() -> RegularizationPolicy.builder()
                        .penalize(Selector.kinds(ParamKind.WEIGHT), L2SP.towards(1e-2, otherWidth)).build().applyTo(net),
                "rule #1 penalize(kinds=[WEIGHT]) -> [L2SP.towards(coeff=0.01, MultiLayerNetwork)]",
                "has shape [4, 6] but the parameter has shape [4, 5]");
        failsContaining(() -> RegularizationPolicy.builder()
                        .penalize(Selector.layers("layer0").withKinds(ParamKind.WEIGHT),
                                new L2SP(1e-2, Nd4j.ones(3, 3))).build().applyTo(net),
                "rule #1", "L2SP reference has shape [3, 3] but layer 'layer0' (DenseLayer) parameter 'W' [WEIGHT] has"
                        + " shape [4, 5]");
        failsContaining(() -> RegularizationPolicy.builder()
                        .penalize(Selector.kinds(ParamKind.WEIGHT), new L2SP(1e-2, net.getParam("0_W"))).build()
                        .applyTo(net),
                "rule #1", "selects 2 parameters", "is bound to one parameter", "L2SP.towards");
    }

    @Test
    void rulesThatMatchNothing() {
        MultiLayerNetwork net = mlp(5);
        failsContaining(() -> RegularizationPolicy.standard(1e-4).toBuilder()
                        .penalize(Selector.layers("classifier"), new L1Penalty(1e-4)).build().applyTo(net),
                "rule #3 penalize(layers=\"classifier\") -> [L1Penalty(l1=1.0E-4)] matches no parameter; the network"
                        + " has layer0 (DenseLayer) [W:WEIGHT, b:BIAS], layer1 (OutputLayer) [W:WEIGHT, b:BIAS]");
        failsContaining(() -> RegularizationPolicy.builder().exempt(Selector.kinds(ParamKind.NORM)).build()
                .applyTo(net), "rule #1 exempt(kinds=[NORM]) matches no parameter");
        // optional() rules may match nothing
        RegularizationPolicy.builder().rule(Rule.exempt(Selector.kinds(ParamKind.NORM)).optional()).build()
                .applyTo(net);
    }

    @Test
    void conflictingRules() {
        MultiLayerNetwork net = mlp(5);
        failsContaining(() -> RegularizationPolicy.standard(1e-4).toBuilder()
                        .alsoPenalize(Selector.layers("layer1").withKinds(ParamKind.WEIGHT),
                                new DecoupledWeightDecay(1e-2)).build().applyTo(net),
                "conflicting rules: rule #1 \"standard: weights\": penalize(kinds=[WEIGHT]) -> [L2Penalty(l2=1.0E-4)]"
                        + " [optional] gives L2Penalty(l2=1.0E-4) and rule #3",
                "gives DecoupledWeightDecay(coeff=0.01) to layer 'layer1' (OutputLayer) parameter 'W' [WEIGHT]",
                "at most one L2-type penalty or weight decay");
        failsContaining(() -> RegularizationPolicy.builder()
                        .penalize(Selector.kinds(ParamKind.WEIGHT), new L1Penalty(1e-4))
                        .alsoPenalize(Selector.all(), new ProximalL1(1e-4)).build().applyTo(net),
                "conflicting rules: rule #1", "and rule #2", "at most one L1-type penalty");
        failsContaining(() -> RegularizationPolicy.builder()
                        .penalize(Selector.all(), new L2Penalty(1e-4), new L2Penalty(1e-3)).build().applyTo(net),
                "rule #1 penalize(all) -> [L2Penalty(l2=1.0E-4), L2Penalty(l2=0.001)] gives both",
                "at most one L2Penalty");
    }

    @Test
    void impossibleRequests() {
        failsContaining(() -> Rule.penalize(Selector.kinds(ParamKind.STATISTIC), new L2Penalty(1e-4)),
                "running statistics (ParamKind.STATISTIC) cannot be penalized: penalize(kinds=[STATISTIC])");
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).list()
                .layer(new LSTM.Builder().nIn(3).nOut(4).build())
                .layer(new RnnOutputLayer.Builder().nIn(4).nOut(2).activation(Activation.SOFTMAX).build()).build();
        failsContaining(() -> RegularizationPolicy.builder()
                        .penalize(Selector.kinds(ParamKind.WEIGHT), new L2Penalty(1e-4))
                        .exempt(Selector.layers("layer0").withParams("RW")).build().applyTo(conf),
                "layer 'layer0' (LSTM) keeps one penalty list for parameters 'W' and 'RW'",
                "(rule #1 penalize(kinds=[WEIGHT])", "(rule #2 exempt(layers=\"layer0\", params=[RW]))",
                "DL4J cannot penalize them differently");
        fails("paramName must be 'gamma' or 'beta' (running statistics cannot be penalized), got 'mean'",
                () -> new PenalizedBatchNormalization().setRegularizationByParam("mean",
                        java.util.List.of(new L2Penalty(1e-4))));
    }

    @Test
    void badSelectorsAndRules() {
        fails("glob has an unclosed '[': b[1conv", () -> Selector.layers("b[1conv"));
        fails("glob has an unclosed '{': {a,b", () -> Selector.layers("{a,b"));
        failsContaining(() -> Selector.layersMatching("b(1"), "regex is not a valid regular expression");
        fails("kinds must name at least one ParamKind", () -> Selector.kinds());
        fails("kinds[1] must not be null", () -> Selector.kinds(ParamKind.WEIGHT, null));
        fails("penalties must name at least one penalty (use Rule.exempt for none)",
                () -> Rule.penalize(Selector.all(), new org.nd4j.linalg.learning.regularization.Regularization[0]));
        fails("penalties[0] must not be null", () -> Rule.penalize(Selector.all(),
                (org.nd4j.linalg.learning.regularization.Regularization) null));
        fails("selector must not be null", () -> Rule.exempt(null));
        fails("net must be initialized (call init() first)", () -> RegularizationPolicy.standard(1e-4)
                .describe(new ComputationGraph(new NeuralNetConfiguration.Builder().graphBuilder().addInputs("in")
                        .addLayer("out", new OutputLayer.Builder().nIn(2).nOut(2).build(), "in").setOutputs("out")
                        .build())));
        fails("frequency must be >= 1, got 0", () -> new PenaltyBreakdownListener(0));
    }

    /** A layer whose bias list cannot be changed: DL4J would silently ignore a policy; we check and refuse. */
    public static class StubbornDense extends DenseLayer {
        @Override
        public java.util.List<org.nd4j.linalg.learning.regularization.Regularization> getRegularizationByParam(
                String paramName) {
            return "b".equals(paramName) ? java.util.List.of(new L2Penalty(1.0)) : super.getRegularizationByParam(paramName);
        }
    }

    @Test
    void aLayerThatIgnoresItsListIsDetectedAndNothingIsChanged() {
        StubbornDense stubborn = new StubbornDense();
        stubborn.setNIn(5);
        stubborn.setNOut(5);
        stubborn.setActivationFn(Activation.TANH.getActivationFunction());
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).l2(1e-3).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(5).build())
                .layer(stubborn)
                .layer(new OutputLayer.Builder().nIn(5).nOut(3).activation(Activation.SOFTMAX).build()).build();
        java.util.List<Object> before = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            before.add(conf.getConf(i).getLayer().getRegularizationByParam("W"));
            before.add(conf.getConf(i).getLayer().getRegularizationByParam("b"));
        }
        failsContaining(() -> RegularizationPolicy.standard(5e-4).applyTo(conf),
                "rule #2 \"standard: no decay on biases, norms, others\"",
                "gives layer 'layer1' (StubbornDense) parameter 'b' [BIAS] no penalty, but after writing,"
                        + " StubbornDense.getRegularizationByParam(\"b\") returns [L2Penalty(l2=1.0)]");
        java.util.List<Object> after = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            after.add(conf.getConf(i).getLayer().getRegularizationByParam("W"));
            after.add(conf.getConf(i).getLayer().getRegularizationByParam("b"));
        }
        assertEquals(before, after, "rolled back");
        assertEquals(java.util.List.of(new org.nd4j.linalg.learning.regularization.L2Regularization(1e-3)),
                after.get(0));
    }

    @Test
    void failedApplyLeavesTheConfigurationUnchanged() {
        ComputationGraphConfiguration conf = TestNets.resnetConf(3, 8, 4, 1, 3, new Sgd(0.1), DataType.FLOAT,
                b -> b.l2(1e-3), b -> b);
        String before = conf.toJson();
        // Rule #1 would rewrite every weight list before rule #2 fails on the first batch norm.
        assertThrows(IllegalArgumentException.class, () -> RegularizationPolicy.builder()
                .penalize(Selector.kinds(ParamKind.WEIGHT), new L2Penalty(5e-4))
                .penalize(Selector.layers("b1bn2").withKinds(ParamKind.NORM), new L2Penalty(5e-4)).build()
                .applyTo(conf));
        assertEquals(before, conf.toJson());
    }
}
