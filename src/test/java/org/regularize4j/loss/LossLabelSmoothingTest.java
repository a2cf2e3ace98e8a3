package org.regularize4j.loss;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.regularize4j.testutil.DoublePrecision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Score and gradient against a hand computation, timm's formula, LossMCXENT at ε = 0, and bad input. */
@ExtendWith(DoublePrecision.class)
class LossLabelSmoothingTest {
    private static final ActivationSoftmax SOFTMAX = new ActivationSoftmax();
    private static final double[][] Z = {{1.0, 2.0, 0.5}, {-1.0, 0.0, 3.0}, {0.3, -0.2, 0.1}};
    private static final double[][] Y = {{0, 1, 0}, {0, 0, 1}, {0.7, 0.3, 0}};   // the last row is a soft label

    /** Per example −Σ_k w_k m_k t_k log p_k and its gradient, by plain loops. */
    private static double[][] hand(double eps, double[] w, double[][] mask, double[] scores) {
        double[][] grad = new double[Z.length][3];
        for (int i = 0; i < Z.length; i++) {
            double sum = 0;
            for (double v : Z[i]) {
                sum += Math.exp(v);
            }
            double[] a = new double[3];
            double aSum = 0;
            scores[i] = 0;
            for (int k = 0; k < 3; k++) {
                double t = (1 - eps) * Y[i][k] + eps / 3;
                a[k] = t * (w == null ? 1 : w[k]) * (mask == null ? 1 : mask[i][mask[i].length == 1 ? 0 : k]);
                aSum += a[k];
                scores[i] -= a[k] * Math.log(Math.exp(Z[i][k]) / sum);
            }
            for (int k = 0; k < 3; k++) {
                grad[i][k] = Math.exp(Z[i][k]) / sum * aSum - a[k];
            }
        }
        return grad;
    }

    private static void check(LossLabelSmoothing loss, double[] w, double[][] mask) {
        INDArray z = Nd4j.createFromArray(Z);
        INDArray y = Nd4j.createFromArray(Y);
        INDArray m = mask == null ? null : Nd4j.createFromArray(mask);
        double[] scores = new double[3];
        double[][] grad = hand(loss.getSmoothing(), w, mask, scores);
        double total = scores[0] + scores[1] + scores[2];
        assertEquals(total / 3, loss.computeScore(y, z, SOFTMAX, m, true), 1e-12);
        assertEquals(total, loss.computeScore(y, z, SOFTMAX, m, false), 1e-12);
        INDArray perExample = loss.computeScoreArray(y, z, SOFTMAX, m);
        assertEquals(Nd4j.createFromArray(scores).reshape(3, 1), perExample);
        assertEquals(Nd4j.createFromArray(grad), loss.computeGradient(y, z, SOFTMAX, m));
        var both = loss.computeGradientAndScore(y, z, SOFTMAX, m, true);
        assertEquals(total / 3, both.getFirst(), 1e-12);
        assertEquals(Nd4j.createFromArray(grad), both.getSecond());
    }

    @Test
    void scoreAndGradientEqualAHandComputation() {
        check(new LossLabelSmoothing(0.1), null, null);
        check(new LossLabelSmoothing(0.3), null, null);
        check(new LossLabelSmoothing(0.0), null, null);
    }

    @Test
    void withPerOutputWeights() {
        double[] w = {1.0, 2.0, 0.5};
        check(new LossLabelSmoothing(0.1, Nd4j.createFromArray(w).reshape(1, 3)), w, null);
    }

    @Test
    void withPerExampleMasksAndPerOutputMasksRejected() {
        check(new LossLabelSmoothing(0.2), null, new double[][] {{1}, {0}, {1}});
        INDArray perOutput = Nd4j.createFromArray(new double[][] {{1, 1, 0}, {0, 1, 1}, {1, 0, 1}});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new LossLabelSmoothing(0.2)
                .computeGradient(Nd4j.createFromArray(Y), Nd4j.createFromArray(Z), SOFTMAX, perOutput));
        assertTrue(e.getMessage().startsWith("mask must be per example [n, 1], got shape [3, 3]"), e.getMessage());
        double[] w = {0.5, 1.0, 3.0};
        check(new LossLabelSmoothing(0.2, Nd4j.createFromArray(w).reshape(1, 3)), w, new double[][] {{0}, {1}, {1}});
    }

    /** timm's LabelSmoothingCrossEntropy: (1 − ε)·nll + ε·mean_k(−log p_k), per one-hot example. */
    @Test
    void equalsTimmsFormulaForOneHotLabels() {
        double eps = 0.1;
        INDArray z = Nd4j.createFromArray(new double[][] {Z[0], Z[1]});
        INDArray y = Nd4j.createFromArray(new double[][] {Y[0], Y[1]});
        int[] target = {1, 2};
        double timm = 0;
        for (int i = 0; i < 2; i++) {
            double lse = Math.log(Math.exp(Z[i][0]) + Math.exp(Z[i][1]) + Math.exp(Z[i][2]));
            double nll = lse - Z[i][target[i]];
            double smooth = 0;
            for (double v : Z[i]) {
                smooth += (lse - v) / 3;
            }
            timm += ((1 - eps) * nll + eps * smooth) / 2;
        }
        assertEquals(timm, new LossLabelSmoothing(eps).computeScore(y, z, SOFTMAX, null, true), 1e-12);
    }

    @Test
    void zeroSmoothingIsLossMcxent() {
        INDArray z = Nd4j.createFromArray(Z);
        INDArray y = Nd4j.createFromArray(Y);
        LossMCXENT mcxent = new LossMCXENT();
        LossLabelSmoothing ls = new LossLabelSmoothing(0.0);
        assertEquals(mcxent.computeScore(y, z, SOFTMAX, null, true), ls.computeScore(y, z, SOFTMAX, null, true), 1e-12);
        assertEquals(mcxent.computeGradient(y, z, SOFTMAX, null), ls.computeGradient(y, z, SOFTMAX, null));
        INDArray w = Nd4j.createFromArray(new double[] {1, 2, 3}).reshape(1, 3);
        assertEquals(new LossMCXENT(w).computeScore(y, z, SOFTMAX, null, true),
                new LossLabelSmoothing(0.0, w).computeScore(y, z, SOFTMAX, null, true), 1e-12);
    }

    /** Large logits: the log-softmax stays finite where exp would overflow. */
    @Test
    void largeLogitsStayFinite() {
        INDArray z = Nd4j.createFromArray(new double[][] {{1000, 0, -1000}});
        INDArray y = Nd4j.createFromArray(new double[][] {{0, 0, 1}});
        double s = new LossLabelSmoothing(0.1).computeScore(y, z, SOFTMAX, null, true);
        assertEquals((0.9 + 0.1 / 3) * 2000 + 0.1 / 3 * 1000, s, 1e-9);
        assertTrue(Double.isFinite(new LossLabelSmoothing(0.1).computeGradient(y, z, SOFTMAX, null).sumNumber()
                .doubleValue()));
    }

    @Test
    void smoothedTargets() {
        INDArray t = new LossLabelSmoothing(0.1).smoothedTargets(Nd4j.createFromArray(new double[][] {{0, 1, 0, 0}}));
        assertEquals(Nd4j.createFromArray(new double[][] {{0.025, 0.925, 0.025, 0.025}}), t);
    }

    @Test
    void badInput() {
        for (double bad : new double[] {1.0, -0.1, Double.NaN, 2.0}) {
            assertEquals("smoothing must be in [0, 1), got " + bad, assertThrows(IllegalArgumentException.class,
                    () -> new LossLabelSmoothing(bad)).getMessage());
        }
        assertEquals("weights must be finite and >= 0, got [1.0, -1.0]", assertThrows(
                IllegalArgumentException.class, () -> new LossLabelSmoothing(0.1,
                        Nd4j.createFromArray(new double[] {1, -1}).reshape(1, 2))).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LossLabelSmoothing(0.1,
                Nd4j.ones(DataType.DOUBLE, 2, 2))).getMessage().startsWith("weights must be a row vector"));
        LossLabelSmoothing loss = new LossLabelSmoothing(0.1);
        INDArray z = Nd4j.createFromArray(Z);
        INDArray y = Nd4j.createFromArray(Y);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> loss.computeScore(y, z, new ActivationIdentity(),
                null, true)).getMessage().startsWith("LossLabelSmoothing needs the softmax activation (activationFn)"));
        assertEquals("labels and preOutput must have the same shape [n, K], got [3, 2] and [3, 3]", assertThrows(
                IllegalArgumentException.class, () -> loss.computeGradient(y.getColumns(0, 1), z, SOFTMAX, null))
                .getMessage());
        assertEquals("labels must be >= 0 (one-hot or soft targets), got -1.0", assertThrows(
                IllegalArgumentException.class, () -> loss.computeScore(y.mul(-1), z, SOFTMAX, null, true))
                .getMessage());
        assertEquals("weights must have length K = 3, got 2", assertThrows(IllegalArgumentException.class,
                () -> new LossLabelSmoothing(0.1, Nd4j.ones(DataType.DOUBLE, 1, 2)).computeScore(y, z, SOFTMAX, null,
                        true)).getMessage());
    }
}
