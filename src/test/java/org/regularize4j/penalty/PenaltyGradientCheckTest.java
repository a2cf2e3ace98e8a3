package org.regularize4j.penalty;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.distribution.NormalDistribution;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.testutil.DoublePrecision;
import org.regularize4j.testutil.SingleThreadedNd4j;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DL4J gradient checks (double precision, central differences with epsilon 1e-6, max relative error 1e-5) of
 * the gradient-based penalties in a network: GradientCheckUtil compares the backprop gradient after the
 * (NoOp) updater, which applies BEFORE_UPDATER penalties, with finite differences of the score, which includes
 * every penalty's score(). Coefficients are large (0.2-0.5) so that a wrong penalty gradient fails the check.
 * Post-updater penalties (DecoupledWeightDecay, ProximalL1) are not gradient-checkable and are tested by exact
 * updates instead.
 */
@ExtendWith(DoublePrecision.class)
@ExtendWith(SingleThreadedNd4j.class)
class PenaltyGradientCheckTest {

    /** Dense 4-5-3 (tanh, softmax), weights N(0, 0.7), NoOp updater, double precision. */
    static MultiLayerNetwork mlp(long seed) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.DOUBLE)
                .updater(new NoOp()).weightInit(new NormalDistribution(0, 0.7)).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(5).nOut(3)
                        .activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** DL4J's gradient check of {@code net} on {@code ds} with this class's settings. */
    static boolean check(MultiLayerNetwork net, DataSet ds) {
        return GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net)
                .input(ds.getFeatures()).labels(ds.getLabels())
                .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9));
    }

    /** Penalizes every parameter (weights and biases) of a two-layer MLP with one penalty and checks gradients. */
    private static void checkEverywhere(Function<MultiLayerNetwork, RegularizationPolicy> policy, boolean awayFromZero) {
        MultiLayerNetwork net = mlp(12345);
        if (awayFromZero) {
            TestNets.awayFromZero(net.params(), 7);
        }
        policy.apply(net).applyTo(net);
        DataSet ds = TestNets.data(new long[] {6, 4}, 3, 11, DataType.DOUBLE);
        double regScore = net.calcRegularizationScore(true);
        assertTrue(regScore > 0.05, "the penalty must weigh in the score, got " + regScore);
        assertTrue(check(net, ds), "gradient check failed for " + policy.apply(net));
    }

    @Test
    void l1AwayFromZero() {
        checkEverywhere(n -> RegularizationPolicy.builder().penalize(Selector.all(), new L1Penalty(0.2)).build(),
                true);
    }

    @Test
    void l2() {
        checkEverywhere(n -> RegularizationPolicy.builder().penalize(Selector.all(), new L2Penalty(0.5)).build(),
                false);
    }

    @Test
    void elasticNetAwayFromZero() {
        checkEverywhere(n -> RegularizationPolicy.builder().penalize(Selector.all(), new ElasticNet(0.2, 0.5))
                .build(), true);
    }

    @Test
    void l2spTowardAnotherNetwork() {
        MultiLayerNetwork reference = mlp(999);   // different weights: w - w0 is not small
        checkEverywhere(n -> RegularizationPolicy.builder()
                .penalize(Selector.all(), L2SP.towards(0.5, reference)).build(), false);
    }

    @Test
    void differentPenaltiesPerParameterInAGraph() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.DOUBLE)
                .updater(new NoOp()).weightInit(new NormalDistribution(0, 0.7)).graphBuilder().addInputs("in")
                .setInputTypes(InputType.feedForward(4))
                .addLayer("h", new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build(), "in")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "h")
                .setOutputs("out").build();
        ComputationGraph net = TestNets.init(conf);
        TestNets.awayFromZero(net.params(), 5);
        ComputationGraph reference = TestNets.init(conf.clone());
        reference.params().assign(net.params().mul(0.5));
        RegularizationPolicy.builder()
                .penalize(Selector.layers("h").withKinds(ParamKind.WEIGHT), L2SP.towards(0.5, reference))
                .penalize(Selector.layers("h").withKinds(ParamKind.BIAS), new L1Penalty(0.3))
                .penalize(Selector.layers("out").withKinds(ParamKind.WEIGHT), new ElasticNet(0.1, 0.4))
                .penalize(Selector.layers("out").withKinds(ParamKind.BIAS), new L2Penalty(0.6))
                .build().applyTo(net);
        DataSet ds = TestNets.data(new long[] {6, 4}, 3, 12, DataType.DOUBLE);
        assertTrue(GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(net)
                .inputs(new INDArray[] {ds.getFeatures()}).labels(new INDArray[] {ds.getLabels()})
                .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9)));
    }

    /** An LSTM shares one list between W and RW: L2SP through the policy binds one instance per parameter. */
    @Test
    void l2spOnLstmWeightsBindsOneInstancePerParameter() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(5).dataType(DataType.DOUBLE)
                .updater(new NoOp()).weightInit(new NormalDistribution(0, 0.5)).list()
                .layer(new LSTM.Builder().nIn(3).nOut(4).activation(Activation.TANH).build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(4).nOut(2)
                        .activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        MultiLayerNetwork reference = new MultiLayerNetwork(conf.clone());
        reference.init();
        reference.params().assign(net.params().mul(-1));
        // W and RW have different shapes and share one list: one L2SP per parameter cannot be expressed...
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> RegularizationPolicy.builder().penalize(Selector.layers("layer0").withParams("W", "RW"),
                        L2SP.towards(0.5, reference)).build().applyTo(net));
        assertTrue(e.getMessage().contains("keeps one penalty list for parameters 'W' and 'RW'"), e.getMessage());
        // ... so on stock layers L2SP goes on single-weight layers (the output layer here).
        RegularizationPolicy.builder().penalize(Selector.layers("layer1").withKinds(ParamKind.WEIGHT),
                L2SP.towards(0.5, reference)).build().applyTo(net);
        INDArray x = Nd4j.rand(DataType.DOUBLE, 3, 3, 4).subi(0.5);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, 3, 2, 4);
        y.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                org.nd4j.linalg.indexing.NDArrayIndex.all()).assign(1.0);
        assertTrue(GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net).input(x).labels(y)
                .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9)));
    }
}
