package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.distribution.NormalDistribution;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.penalty.OrthogonalPenalty.Mode;
import org.regularize4j.testutil.DoublePrecision;
import org.regularize4j.testutil.SingleThreadedNd4j;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * OrthogonalPenalty against a hand computation of Keras's formula (both modes, dense and convolution layouts, a zero
 * row), its gradient against finite differences (directly through DL4J's flat views in both memory orders, and with
 * DL4J's gradient check, {@link PenaltyGradientCheckTest}'s settings, on a dense and a convolutional network), and a policy that places it on chosen layers.
 */
@ExtendWith({DoublePrecision.class, SingleThreadedNd4j.class})
class OrthogonalPenaltyTest {

    /** Keras's OrthogonalRegularizer on a row-major matrix, written out with loops. */
    static double keras(double[][] w, double factor, boolean rows) {
        double[][] v = rows ? w : transpose(w);
        int n = v.length;
        double[][] u = new double[n][];
        for (int i = 0; i < n; i++) {
            double sq = 0;
            for (double x : v[i]) {
                sq += x * x;
            }
            double inv = Math.min(1 / Math.sqrt(sq), 1e7);
            u[i] = new double[v[i].length];
            for (int k = 0; k < v[i].length; k++) {
                u[i][k] = v[i][k] * inv;
            }
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (i != j) {
                    double dot = 0;
                    for (int k = 0; k < u[i].length; k++) {
                        dot += u[i][k] * u[j][k];
                    }
                    sum += Math.abs(dot);
                }
            }
        }
        return factor * 0.5 * sum / (n * (n - 1.0) / 2.0);
    }

    static double[][] transpose(double[][] a) {
        double[][] t = new double[a[0].length][a.length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[0].length; j++) {
                t[j][i] = a[i][j];
            }
        }
        return t;
    }

    @Test
    void closedForm() {
        // rows (1, 0) and (1, 1): one pair with cosine 1/sqrt(2); penalty = factor * 0.5 * 2/sqrt(2) / 1
        INDArray w = Nd4j.createFromArray(new double[][] {{1, 0}, {1, 1}});
        assertEquals(0.3 / Math.sqrt(2), new OrthogonalPenalty(0.3, Mode.ROWS).score(w, 0, 0), 1e-15);
        // columns (1, 1) and (0, 1): the same cosine
        assertEquals(0.3 / Math.sqrt(2), new OrthogonalPenalty(0.3, Mode.COLUMNS).score(w, 0, 0), 1e-15);
        assertEquals(0.0, new OrthogonalPenalty(0.3, Mode.ROWS).score(Nd4j.eye(3), 0, 0));
    }

    @Test
    void scoreEqualsKerasFormulaInBothModes() {
        Nd4j.getRandom().setSeed(3);
        INDArray dense = Nd4j.randn(DataType.DOUBLE, 5, 4).dup('f');   // DL4J's dense W: [nIn, nOut], 'f' order
        for (Mode mode : Mode.values()) {
            double expected = keras(dense.toDoubleMatrix(), 0.7, mode == Mode.ROWS);
            assertEquals(expected, new OrthogonalPenalty(0.7, mode).score(dense, 0, 0), 1e-14, "dense " + mode);
        }
        INDArray conv = Nd4j.randn(DataType.DOUBLE, 4, 3, 2, 2);       // [out, in, kH, kW] -> [out, in*kH*kW]
        double[][] asMatrix = conv.reshape('c', 4, 12).toDoubleMatrix();
        for (Mode mode : Mode.values()) {
            double expected = keras(asMatrix, 0.2, mode == Mode.ROWS);
            assertEquals(expected, new OrthogonalPenalty(0.2, mode).score(conv, 0, 0), 1e-14, "conv " + mode);
        }
        INDArray withZeroRow = dense.dup();
        withZeroRow.getRow(2).assign(0);
        assertEquals(keras(withZeroRow.toDoubleMatrix(), 1.0, true),
                new OrthogonalPenalty(1.0, Mode.ROWS).score(withZeroRow, 0, 0), 1e-14);
    }

    /** The gradient added by apply() on a flat view (as DL4J passes it) against central differences of score(). */
    @Test
    void gradientOfFlatViewsInBothOrdersMatchesFiniteDifferences() {
        Nd4j.getRandom().setSeed(7);
        check(Nd4j.randn(DataType.DOUBLE, 5, 4).dup('f'), Mode.ROWS);
        check(Nd4j.randn(DataType.DOUBLE, 5, 4).dup('f'), Mode.COLUMNS);
        check(Nd4j.randn(DataType.DOUBLE, 4, 3, 2, 2), Mode.ROWS);
        check(Nd4j.randn(DataType.DOUBLE, 4, 3, 2, 2), Mode.COLUMNS);
    }

    private static void check(INDArray param, Mode mode) {
        OrthogonalPenalty p = new OrthogonalPenalty(0.9, mode).boundTo(param.shape(), param.ordering());
        INDArray flat = Nd4j.toFlattened(param.ordering(), param);   // memory order, like DL4J's parameter views
        INDArray grad = Nd4j.zeros(DataType.DOUBLE, flat.length());
        grad.assign(0.25);                                             // added to, not overwritten
        p.apply(flat, grad, 0.1, 0, 0);
        double eps = 1e-6;
        for (int i = 0; i < flat.length(); i++) {
            double orig = flat.getDouble(i);
            flat.putScalar(i, orig + eps);
            double plus = p.score(flat, 0, 0);
            flat.putScalar(i, orig - eps);
            double minus = p.score(flat, 0, 0);
            flat.putScalar(i, orig);
            double numeric = (plus - minus) / (2 * eps);
            assertEquals(numeric, grad.getDouble(i) - 0.25, 1e-8 * Math.max(1, Math.abs(numeric)),
                    mode + " " + java.util.Arrays.toString(param.shape()) + " element " + i);
        }
        // the shaped parameter (score's path) and the flat view give the same score
        assertEquals(p.score(param, 0, 0), p.score(flat, 0, 0), 1e-15);
    }

    @Test
    void gradientCheckDenseNetwork() {
        MultiLayerNetwork net = PenaltyGradientCheckTest.mlp(11);
        RegularizationPolicy.builder()
                .penalize(Selector.layers("layer0").withKinds(ParamKind.WEIGHT), new OrthogonalPenalty(0.5, Mode.ROWS))
                .penalize(Selector.layers("layer1").withKinds(ParamKind.WEIGHT),
                        new OrthogonalPenalty(0.5, Mode.COLUMNS))
                .build().applyTo(net);
        assertTrue(net.calcRegularizationScore(true) > 0.05, "the penalty must weigh in the score");
        assertTrue(PenaltyGradientCheckTest.check(net, TestNets.data(new long[] {6, 4}, 3, 13, DataType.DOUBLE)));
    }

    @Test
    void gradientCheckConvolutionalNetwork() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(12).dataType(DataType.DOUBLE)
                .updater(new NoOp()).weightInit(new NormalDistribution(0, 0.7)).list()
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(4).activation(Activation.TANH).build())
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(4, 4, 2)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        RegularizationPolicy.builder()
                .penalize(Selector.layerTypes(ConvolutionLayer.class).withKinds(ParamKind.WEIGHT),
                        new OrthogonalPenalty(0.5, Mode.ROWS))
                .build().applyTo(net);
        assertTrue(net.calcRegularizationScore(true) > 0.05, "the penalty must weigh in the score");
        assertTrue(PenaltyGradientCheckTest.check(net, TestNets.data(new long[] {5, 2, 4, 4}, 3, 14, DataType.DOUBLE)));
        // each convolution got its own copy, bound to its kernel's shape
        List<Regularization> first = net.getLayer(0).conf().getLayer().getRegularizationByParam("W");
        assertEquals(new OrthogonalPenalty(0.5, Mode.ROWS).boundTo(new long[] {4, 2, 2, 2}, 'c'), first.get(0));
    }

    @Test
    void policyDescribeShowsItOnTheChosenLayersOnly() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1).list()
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(4).name("conv1").build())
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(4).name("conv2").build())
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).name("fc").build())
                .setInputType(InputType.convolutional(5, 5, 1)).build());
        net.init();
        RegularizationPolicy policy = RegularizationPolicy.standard(5e-4).toBuilder()
                .alsoPenalize(Selector.layers("conv*").withKinds(ParamKind.WEIGHT),
                        new OrthogonalPenalty(0.01, Mode.ROWS))
                .build();
        PenaltyTable table = policy.describe(net);
        int rowsWithIt = 0;
        for (PenaltyTable.Row r : table.rows()) {
            boolean has = r.getPenalties().stream().anyMatch(p -> p instanceof OrthogonalPenalty);
            boolean chosen = r.getLayer().startsWith("conv") && r.getKind() == ParamKind.WEIGHT;
            assertEquals(chosen, has, r.toString());
            rowsWithIt += has ? 1 : 0;
        }
        assertEquals(2, rowsWithIt);
        String text = table.toString();
        assertTrue(text.contains("[L2Penalty(l2=5.0E-4), OrthogonalPenalty(factor=0.01, mode=ROWS)]"), text);
        for (String line : text.split("\n")) {
            if (line.startsWith("fc ")) {
                assertTrue(!line.contains("Orthogonal"), line);
            }
        }
        policy.applyTo(net);
        assertEquals(table.rows(), PenaltyTable.of(net).rows());
    }

    @Test
    void badInputIsRejected() {
        assertEquals("factor must be finite and >= 0, got -0.1",
                assertThrows(IllegalArgumentException.class, () -> new OrthogonalPenalty(-0.1, Mode.ROWS)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new OrthogonalPenalty(0.1, null));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new OrthogonalPenalty(0.1, Mode.COLUMNS)
                .boundTo(new long[] {4, 1}, 'f')).getMessage().contains("needs at least 2 columns"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new OrthogonalPenalty(0.1, Mode.ROWS)
                .boundTo(new long[] {6}, 'c')).getMessage().contains("rank >= 2"));
        assertTrue(assertThrows(IllegalStateException.class, () -> new OrthogonalPenalty(0.1, Mode.ROWS)
                .apply(Nd4j.ones(6), Nd4j.zeros(6), 0.1, 0, 0)).getMessage().contains("no shape"));
        OrthogonalPenalty bound = new OrthogonalPenalty(0.1, Mode.ROWS).boundTo(new long[] {2, 3}, 'c');
        assertThrows(IllegalArgumentException.class, () -> bound.score(Nd4j.ones(3, 2), 0, 0));
        assertThrows(IllegalArgumentException.class, () -> bound.boundTo(new long[] {3, 2}, 'c'));
        // a rule that puts it on a bias (a vector) fails where the policy binds it, quoting the rule
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new OutputLayer.Builder().nIn(3).nOut(2).activation(Activation.SOFTMAX).build()).build());
        net.init();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RegularizationPolicy.builder()
                .penalize(Selector.kinds(ParamKind.BIAS), new OrthogonalPenalty(0.1, Mode.ROWS)).build().applyTo(net));
        assertTrue(e.getMessage().contains("rule #1") && e.getMessage().contains("rank >= 2"),
                e.getMessage());
    }
}
