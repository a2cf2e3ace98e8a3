package org.regularize4j.penalty;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.distribution.NormalDistribution;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.regularize4j.testutil.DoublePrecision;
import org.regularize4j.testutil.SingleThreadedNd4j;

import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ActivityRegularization: gradient checks at ranks 2, 3 (with a mask that pads some steps) and 4, in a
 * MultiLayerNetwork and a ComputationGraph; the score equals the data loss plus the hand-computed
 * {@code (l1 * sum|a| + l2 * sum a²) / batchSize}; padded steps do not count; no division without mini-batch
 * mode.
 */
@ExtendWith({SingleThreadedNd4j.class, DoublePrecision.class})
class ActivityRegularizationTest {
    private static final int MB = 5;
    private static final int T = 4;

    enum Rank { DENSE, RNN_MASKED, CNN }

    static InputType inputType(Rank r) {
        switch (r) {
            case DENSE:
                return InputType.feedForward(4);
            case RNN_MASKED:
                return InputType.recurrent(3, T);
            default:
                return InputType.convolutional(4, 4, 2);
        }
    }

    static Layer hidden(Rank r) {
        switch (r) {
            case DENSE:
                return new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build();
            case RNN_MASKED:
                // (Not TimeDistributed(Dense): with a feature mask DL4J M2.1 zeroes the wrong time steps there,
                // its mask is flattened time-major and its activations example-major.)
                return new SimpleRnn.Builder().nOut(4).activation(Activation.TANH).build();
            default:
                return new ConvolutionLayer.Builder(2, 2).nOut(3).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.TANH).build();
        }
    }

    static Layer output(Rank r) {
        if (r == Rank.RNN_MASKED) {
            return new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                    .activation(Activation.SOFTMAX).build();
        }
        return new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX)
                .build();
    }

    static NeuralNetConfiguration.Builder global(boolean miniBatch) {
        return new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.DOUBLE).updater(new NoOp())
                .miniBatch(miniBatch).weightInit(new NormalDistribution(0, 0.8));
    }

    static MultiLayerNetwork mln(Rank r, double l1, double l2, boolean miniBatch) {
        MultiLayerConfiguration conf = global(miniBatch).list()
                .layer(hidden(r))
                .layer(new ActivityRegularization(l1, l2))
                .layer(output(r))
                .setInputType(inputType(r)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    static ComputationGraph graph(Rank r, double l1, double l2) {
        ComputationGraphConfiguration conf = global(true).graphBuilder().addInputs("in")
                .setInputTypes(inputType(r))
                .addLayer("h", hidden(r), "in")
                .addLayer("act", new ActivityRegularization(l1, l2), "h")
                .addLayer("h2", hidden(r), "act")
                .addLayer("out", output(r), "h2")
                .setOutputs("out").build();
        return TestNets.init(conf);
    }

    static INDArray features(Rank r) {
        Nd4j.getRandom().setSeed(3);
        long[] shape = r == Rank.DENSE ? new long[] {MB, 4} : r == Rank.RNN_MASKED ? new long[] {MB, 3, T}
                : new long[] {MB, 2, 4, 4};
        return Nd4j.rand(DataType.DOUBLE, shape).subi(0.5).muli(2);
    }

    static INDArray labels(Rank r) {
        Random rnd = new Random(5);
        INDArray y = r == Rank.RNN_MASKED ? Nd4j.zeros(DataType.DOUBLE, MB, 3, T) : Nd4j.zeros(DataType.DOUBLE, MB, 3);
        for (int i = 0; i < MB; i++) {
            if (r == Rank.RNN_MASKED) {
                for (int t = 0; t < T; t++) {
                    y.putScalar(new long[] {i, rnd.nextInt(3), t}, 1.0);
                }
            } else {
                y.putScalar(i, rnd.nextInt(3), 1.0);
            }
        }
        return y;
    }

    /** Example i has T - (i % T) valid steps: every example but the multiples of T is padded. */
    static INDArray mask(Rank r) {
        if (r != Rank.RNN_MASKED) {
            return null;
        }
        INDArray m = Nd4j.zeros(DataType.DOUBLE, MB, T);
        for (int i = 0; i < MB; i++) {
            for (int t = 0; t < T - (i % T); t++) {
                m.putScalar(i, t, 1.0);
            }
        }
        return m;
    }

    static Stream<Arguments> ranks() {
        return Stream.of(Rank.values()).map(Arguments::of);
    }

    @ParameterizedTest
    @MethodSource("ranks")
    void gradientCheckMultiLayerNetwork(Rank r) {
        MultiLayerNetwork net = mln(r, 0.3, 0.4, true);
        INDArray x = features(r);
        INDArray m = mask(r);
        assertTrue(GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net).input(x)
                .labels(labels(r)).inputMask(m).labelMask(m)
                .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9)), "gradient check failed at " + r);
        net.output(x, false, m, m);
        assertTrue(((ActivityRegularizationImpl) net.getLayer(1)).getLastScore() > 0.1,
                "the activity penalty must weigh in the score");
    }

    @ParameterizedTest
    @MethodSource("ranks")
    void gradientCheckComputationGraph(Rank r) {
        ComputationGraph net = graph(r, 0.3, 0.4);
        INDArray m = mask(r);
        assertTrue(GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(net)
                .inputs(new INDArray[] {features(r)}).labels(new INDArray[] {labels(r)})
                .inputMask(m == null ? null : new INDArray[] {m}).labelMask(m == null ? null : new INDArray[] {m})
                .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9)), "gradient check failed at " + r);
    }

    /** score(l1, l2) - score(0, 0) = (l1 sum|a| + l2 sum a²) / mb over unpadded entries, a = hidden output. */
    @ParameterizedTest
    @MethodSource("ranks")
    void scoreIsDataLossPlusHandComputedPenalty(Rank r) {
        MultiLayerNetwork net = mln(r, 0.3, 0.4, true);
        MultiLayerNetwork plain = mln(r, 0, 0, true);
        plain.setParams(net.params());
        INDArray x = features(r);
        INDArray m = mask(r);
        DataSet ds = new DataSet(x, labels(r), m, m);
        double withPenalty = net.score(ds, true);
        double dataLoss = plain.score(ds, true);

        INDArray a = net.feedForwardToLayer(0, x, true).get(1);   // output of the hidden layer
        if (m != null) {
            a = a.mul(m.reshape(MB, 1, T).broadcast(a.shape()));
        }
        double expected = (0.3 * a.norm1Number().doubleValue() + 0.4 * a.mul(a).sumNumber().doubleValue()) / MB;
        assertEquals(dataLoss + expected, withPenalty, 1e-12 * Math.abs(withPenalty));
        assertEquals(expected, net.calcRegularizationScore(true), 1e-12 * expected);
    }

    /** In a ComputationGraph the layer gets the propagated mask too: its penalty is the masked hand value. */
    @Test
    void graphPenaltyHonoursTheMask() {
        ComputationGraph net = graph(Rank.RNN_MASKED, 0.3, 0.4);
        INDArray x = features(Rank.RNN_MASKED);
        INDArray m = mask(Rank.RNN_MASKED);
        net.output(true, new INDArray[] {x}, new INDArray[] {m}, new INDArray[] {m});
        double layerScore = ((ActivityRegularizationImpl) net.getLayer("act")).getLastScore();
        INDArray a = net.feedForward(x, true).get("h").mul(m.reshape(MB, 1, T).broadcast(MB, 4, T));
        double expected = (0.3 * a.norm1Number().doubleValue() + 0.4 * a.mul(a).sumNumber().doubleValue()) / MB;
        assertEquals(expected, layerScore, 1e-12 * expected);
        net.output(true, new INDArray[] {x}, null, null);
        assertTrue(((ActivityRegularizationImpl) net.getLayer("act")).getLastScore() > expected * 1.05,
                "without the mask the padded steps count");
    }

    @Test
    void paddedStepsDoNotCount() {
        MultiLayerNetwork net = mln(Rank.RNN_MASKED, 0.3, 0.4, true);
        INDArray x = features(Rank.RNN_MASKED);
        INDArray m = mask(Rank.RNN_MASKED);
        DataSet ds = new DataSet(x, labels(Rank.RNN_MASKED), m, m);
        double before = net.score(ds, true);
        // Change the inputs of the last step of example 1, which is padded. SimpleRnn is causal, so only the
        // padded step's activations change; the masked output loss ignores it, and so must the penalty.
        INDArray x2 = x.dup();
        x2.put(new org.nd4j.linalg.indexing.INDArrayIndex[] {NDArrayIndex.point(1), NDArrayIndex.all(),
                NDArrayIndex.point(T - 1)}, Nd4j.valueArrayOf(new long[] {3}, 5.0, DataType.DOUBLE));
        double after = net.score(new DataSet(x2, labels(Rank.RNN_MASKED), m, m), true);
        assertEquals(before, after, 1e-12);
        // Without the mask the same change does count (the test can fail).
        double unmasked = net.score(new DataSet(x, labels(Rank.RNN_MASKED)), true);
        double unmasked2 = net.score(new DataSet(x2, labels(Rank.RNN_MASKED)), true);
        assertNotEquals(unmasked, unmasked2, 1e-6);
    }

    /**
     * The gradient added in backprop is l1 sign(a) + 2 l2 a at valid steps and nothing at padded ones (a network
     * gradient check cannot see this: recurrent layers mask the gradient they receive).
     */
    @ParameterizedTest
    @ValueSource(strings = {"NCW", "NWC"})
    void backpropAddsPenaltyGradientOnlyAtValidSteps(String format) {
        RNNFormat f = RNNFormat.valueOf(format);
        MultiLayerConfiguration conf = global(true).list()
                .layer(new SimpleRnn.Builder().nOut(4).dataFormat(f).build())
                .layer(new ActivityRegularization(0.3, 0.4))
                .layer(new RnnOutputLayer.Builder().nOut(2).dataFormat(f).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(3, T, f)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        ActivityRegularizationImpl layer = (ActivityRegularizationImpl) net.getLayer(1);
        Nd4j.getRandom().setSeed(9);
        INDArray a = Nd4j.rand(DataType.DOUBLE, f == RNNFormat.NCW ? new long[] {MB, 4, T} : new long[] {MB, T, 4})
                .subi(0.5);
        INDArray m = mask(Rank.RNN_MASKED).dup('f');   // DL4J hands masks over in 'f' order
        org.deeplearning4j.nn.workspace.LayerWorkspaceMgr ws =
                org.deeplearning4j.nn.workspace.LayerWorkspaceMgr.noWorkspaces();
        layer.setMaskArray(m);
        layer.activate(a, true, ws);
        INDArray eps = layer.backpropGradient(Nd4j.zeros(DataType.DOUBLE, a.shape()), ws).getSecond();
        for (int i = 0; i < MB; i++) {
            for (int c = 0; c < 4; c++) {
                for (int t = 0; t < T; t++) {
                    long[] idx = f == RNNFormat.NCW ? new long[] {i, c, t} : new long[] {i, t, c};
                    double v = a.getDouble(idx);
                    double expected = m.getDouble(i, t) * (0.3 * Math.signum(v) + 0.8 * v);
                    assertEquals(expected, eps.getDouble(idx), 1e-14, "at " + java.util.Arrays.toString(idx));
                }
            }
        }
        double s1 = 0;
        double s2 = 0;
        for (int i = 0; i < MB; i++) {
            for (int c = 0; c < 4; c++) {
                for (int t = 0; t < T; t++) {
                    double v = a.getDouble(f == RNNFormat.NCW ? new long[] {i, c, t} : new long[] {i, t, c});
                    s1 += m.getDouble(i, t) * Math.abs(v);
                    s2 += m.getDouble(i, t) * v * v;
                }
            }
        }
        assertEquals((0.3 * s1 + 0.4 * s2) / MB, layer.getLastScore(), 1e-14);
    }

    @Test
    void noDivisionWithoutMiniBatchMode() {
        MultiLayerNetwork net = mln(Rank.DENSE, 0.3, 0.4, false);
        INDArray x = features(Rank.DENSE);
        net.output(x, true);
        INDArray a = Transforms.tanh(x.mmul(net.getParam("0_W")).addiRowVector(net.getParam("0_b")));
        double expected = 0.3 * a.norm1Number().doubleValue() + 0.4 * a.mul(a).sumNumber().doubleValue();
        assertEquals(expected, net.calcRegularizationScore(true), 1e-12 * expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"NCW", "NWC"})
    void rnnFormatComesFromTheInputType(String format) {
        MultiLayerConfiguration conf = global(true).list()
                .layer(new SimpleRnn.Builder().nOut(4).dataFormat(RNNFormat.valueOf(format)).build())
                .layer(new ActivityRegularization(0.1, 0.1))
                .layer(new RnnOutputLayer.Builder().nOut(2).dataFormat(RNNFormat.valueOf(format))
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(3, T, RNNFormat.valueOf(format))).build();
        assertEquals(RNNFormat.valueOf(format),
                ((ActivityRegularization) conf.getConf(1).getLayer()).getRnnDataFormat());
    }
}
