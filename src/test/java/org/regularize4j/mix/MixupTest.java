package org.regularize4j.mix;

import org.regularize4j.testutil.JavaSerialization;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.regularize4j.loss.LossLabelSmoothing;


import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mixup and CutMix against timm's definitions. Statistical assertions allow 5 standard errors of the estimate
 * (a correct implementation fails one with probability below 1e-6); the standard errors are closed forms: for the
 * mean of N draws of Beta(α, α), sqrt(v/N) with v = 1/(4(2α+1)); for their sample variance,
 * sqrt((μ4 − v²)/N) with μ4 = 3v²(2α+1)/(2α+3) (Beta's excess kurtosis −6/(2α+3) at a = b = α); for a share of N
 * Bernoulli(p) draws, sqrt(p(1 − p)/N).
 */
class MixupTest {
    private static final int N_BATCH = 500;
    private static final int STEPS = 40;

    @ParameterizedTest(name = "alpha {0}")
    @ValueSource(doubles = {0.2, 0.4, 1.0, 2.0})
    void lambdaIsBetaAlphaAlpha(double alpha) {
        assertBeta(alpha, Mixup.builder().mixupAlpha(alpha).mode(MixMode.ELEM).seed(3).build());
        // CutMix without the correction keeps the Beta draw as λ
        assertBeta(alpha, Mixup.builder().mixupAlpha(0).cutmixAlpha(alpha).correctLam(false).mode(MixMode.ELEM)
                .seed(4).build());
    }

    private static void assertBeta(double alpha, Mixup mix) {
        int n = N_BATCH * STEPS;
        double sum = 0;
        double sumSq = 0;
        for (int step = 0; step < STEPS; step++) {
            for (double lam : mix.plan(N_BATCH, 28, 28, step).lambdas()) {
                sum += lam;
                sumSq += lam * lam;
            }
        }
        double mean = sum / n;
        double var = (sumSq - n * mean * mean) / (n - 1);
        double v = 1 / (4 * (2 * alpha + 1));
        double mu4 = 3 * v * v * (2 * alpha + 1) / (2 * alpha + 3);
        assertEquals(0.5, mean, 5 * Math.sqrt(v / n), mix + ": mean");
        assertEquals(v, var, 5 * Math.sqrt((mu4 - v * v) / n), mix + ": variance");
    }

    @Test
    void probAndSwitchProbAreTheSharesOfMixedAndCutMixDraws() {
        Mixup mix = Mixup.builder().mixupAlpha(1.0).cutmixAlpha(1.0).prob(0.3).switchProb(0.7).mode(MixMode.ELEM)
                .seed(5).build();
        int mixed = 0;
        int cut = 0;
        for (int step = 0; step < STEPS; step++) {
            Mixup.Plan p = mix.plan(N_BATCH, 28, 28, step);
            for (int i = 0; i < N_BATCH; i++) {
                mixed += p.lambdas()[i] < 1.0 ? 1 : 0;
                cut += p.boxes()[i] != null ? 1 : 0;
            }
        }
        int n = N_BATCH * STEPS;
        assertEquals(0.3, (double) mixed / n, 5 * Math.sqrt(0.3 * 0.7 / n), "mixed share");
        assertEquals(0.7, (double) cut / mixed, 5 * Math.sqrt(0.7 * 0.3 / mixed), "CutMix share of the mixed");
    }

    @Test
    void modes() {
        Mixup.Builder b = Mixup.builder().mixupAlpha(1.0).cutmixAlpha(1.0).seed(6);
        for (int step = 0; step < 10; step++) {
            Mixup.Plan batch = b.mode(MixMode.BATCH).build().plan(8, 16, 16, step);
            for (int i = 1; i < 8; i++) {
                assertEquals(batch.lambdas()[0], batch.lambdas()[i]);
                assertSame(batch.boxes()[0], batch.boxes()[i]);
            }
            Mixup.Plan pair = b.mode(MixMode.PAIR).build().plan(8, 16, 16, step);
            for (int i = 0; i < 8; i++) {
                assertEquals(pair.lambdas()[i], pair.lambdas()[7 - i]);
                assertSame(pair.boxes()[i], pair.boxes()[7 - i]);
            }
            assertNotEquals(pair.lambdas()[0], pair.lambdas()[1]);
            Mixup.Plan elem = b.mode(MixMode.ELEM).build().plan(8, 16, 16, step);
            assertNotEquals(elem.lambdas()[0], elem.lambdas()[7]);
        }
        assertEquals("Mixup in PAIR mode needs an even batch size, got 7", assertThrows(IllegalArgumentException.class,
                () -> b.mode(MixMode.PAIR).build().plan(7, 16, 16, 0)).getMessage());
    }

    /**
     * CutMix with the correction: for every example the label weight of its own class equals the share of its own
     * pixels in the mixed image, and every other pixel is its partner's; the boxes are timm's (half-sides rounded
     * down, clipped), including clipped ones.
     */
    @ParameterizedTest
    @EnumSource(MixMode.class)
    void cutmixCorrectedLambdaIsTheKeptPixelShare(MixMode mode) {
        int n = 8;
        int side = 12;
        Mixup mix = Mixup.builder().mixupAlpha(0).cutmixAlpha(1.0).labelSmoothing(0).numClasses(n).mode(mode)
                .seed(7).build();
        int clipped = 0;
        for (int step = 0; step < 30; step++) {
            INDArray[] out = mix.mix(constantImages(n, 2, side), Nd4j.eye(n).castTo(DataType.FLOAT), step);
            Mixup.Plan plan = mix.plan(n, side, side, step);
            for (int i = 0; i < n; i++) {
                int partner = n - 1 - i;
                double[] px = out[0].slice(i).dup().data().asDouble();
                int own = 0;
                for (double v : px) {
                    assertTrue(v == i + 1 || v == partner + 1, "pixel from neither image: " + v);
                    own += v == i + 1 ? 1 : 0;
                }
                double kept = (double) own / px.length;
                assertEquals(kept, out[1].getDouble(i, i), 1e-6, "example " + i + " step " + step);
                assertEquals(1 - kept, out[1].getDouble(i, partner), 1e-6);
                assertEquals(kept, plan.lambdas()[i], 1e-12);
                int[] box = plan.boxes()[i];
                if (box != null) {
                    clipped += box[0] == 0 || box[2] == 0 || box[1] == side || box[3] == side ? 1 : 0;
                    assertEquals(1 - (double) (box[1] - box[0]) * (box[3] - box[2]) / (side * side), kept, 1e-12);
                }
            }
        }
        assertTrue(clipped > 0, "no clipped box in 30 steps");
    }

    /** Without the correction the labels keep the Beta draw, which differs from the kept share of a clipped box. */
    @Test
    void withoutCorrectionLabelsKeepTheDraw() {
        int n = 8;
        Mixup mix = Mixup.builder().mixupAlpha(0).cutmixAlpha(1.0).labelSmoothing(0).correctLam(false)
                .mode(MixMode.ELEM).seed(8).build();
        double largest = 0;
        for (int step = 0; step < 10; step++) {
            INDArray[] out = mix.mix(constantImages(n, 1, 12), Nd4j.eye(n).castTo(DataType.FLOAT), step);
            Mixup.Plan plan = mix.plan(n, 12, 12, step);
            for (int i = 0; i < n; i++) {
                assertEquals(plan.lambdas()[i], out[1].getDouble(i, i), 1e-6);
                // timm's rand_bbox: cut = int(side * sqrt(1 - λ)), box [c - cut/2, c + cut/2) clipped
                int[] b = plan.boxes()[i];
                int half = (int) (12 * Math.sqrt(1 - plan.lambdas()[i])) / 2;
                for (int[] lohi : new int[][] {{b[0], b[1]}, {b[2], b[3]}}) {
                    if (lohi[0] > 0 && lohi[1] < 12) {
                        assertEquals(2 * half, lohi[1] - lohi[0], "unclipped side " + java.util.Arrays.toString(b));
                    } else {
                        assertTrue(lohi[1] - lohi[0] <= 2 * half, java.util.Arrays.toString(b));
                    }
                }
                double own = out[0].slice(i).eq(i + 1).castTo(DataType.INT).sumNumber().doubleValue() / 144;
                largest = Math.max(largest, Math.abs(own - plan.lambdas()[i]));
            }
        }
        assertTrue(largest > 0.05, "largest gap between λ and the kept share " + largest);
    }

    @Test
    void minMaxBoxesStayInsideWithSidesInRange() {
        Mixup mix = Mixup.builder().mixupAlpha(0).cutmixMinMax(0.2, 0.8).mode(MixMode.ELEM).seed(9).build();
        assertEquals(1.0, mix.getCutmixAlpha());
        for (int step = 0; step < 20; step++) {
            Mixup.Plan p = mix.plan(16, 28, 20, step);
            for (int i = 0; i < 16; i++) {
                int[] b = p.boxes()[i];
                int h = b[1] - b[0];
                int w = b[3] - b[2];
                assertTrue(h >= 5 && h < 22 && w >= 4 && w < 16, "box " + java.util.Arrays.toString(b));
                assertTrue(b[0] >= 0 && b[1] <= 28 && b[2] >= 0 && b[3] <= 20);
                assertEquals(1 - (double) h * w / (28 * 20), p.lambdas()[i], 1e-12);
            }
        }
    }

    /** Mixup: x_i = λ_i·x_i + (1 − λ_i)·x_{n−1−i}; labels smoothed, then mixed with the same λ. */
    @Test
    void mixupBlendsImagesAndSmoothedLabels() {
        int n = 6;
        double eps = 0.1;
        Mixup mix = Mixup.builder().mixupAlpha(0.4).labelSmoothing(eps).mode(MixMode.ELEM).seed(10).build();
        INDArray x = Nd4j.rand(DataType.FLOAT, n, 3, 5, 5);
        INDArray y = Nd4j.eye(4).getRows(0, 1, 2, 3, 0, 1).castTo(DataType.FLOAT);
        INDArray[] out = mix.mix(x, y, 3);
        double[] lam = mix.plan(n, 5, 5, 3).lambdas();
        for (int i = 0; i < n; i++) {
            int j = n - 1 - i;
            INDArray expected = x.slice(i).mul(lam[i]).add(x.slice(j).mul(1 - lam[i]));
            assertTrue(expected.equalsWithEps(out[0].slice(i), 1e-6), "example " + i);
            for (int k = 0; k < 4; k++) {
                double ti = (1 - eps) * y.getDouble(i, k) + eps / 4;
                double tj = (1 - eps) * y.getDouble(j, k) + eps / 4;
                assertEquals(lam[i] * ti + (1 - lam[i]) * tj, out[1].getDouble(i, k), 1e-6);
            }
            assertEquals(1.0, out[1].getRow(i).sumNumber().doubleValue(), 1e-6);
        }
        assertEquals(x, x.dup(), "input untouched");
    }

    /** Smoothing the mixed target equals mixing the smoothed targets (timm's mixup_target). */
    @Test
    void labelSmoothingInsideMixupEqualsTheSmoothedLossOnMixedLabels() {
        INDArray x = Nd4j.rand(DataType.DOUBLE, 8, 1, 6, 6);
        INDArray y = Nd4j.eye(8).castTo(DataType.DOUBLE);
        Mixup.Builder b = Mixup.builder().mixupAlpha(1.0).cutmixAlpha(1.0).mode(MixMode.ELEM).seed(11);
        INDArray smoothedInside = b.labelSmoothing(0.2).build().mix(x, y, 0)[1];
        INDArray raw = b.labelSmoothing(0.0).build().mix(x, y, 0)[1];
        INDArray logits = Nd4j.rand(DataType.DOUBLE, 8, 8);
        ActivationSoftmax softmax = new ActivationSoftmax();
        assertEquals(new LossMCXENT().computeScore(smoothedInside, logits, softmax, null, true),
                new LossLabelSmoothing(0.2).computeScore(raw, logits, softmax, null, true), 1e-9);
    }

    @Test
    void oddBatchesMixInBatchAndElemModes() {
        Mixup mix = Mixup.builder().mixupAlpha(1.0).mode(MixMode.ELEM).seed(12).build();
        INDArray x = Nd4j.rand(DataType.FLOAT, 5, 1, 4, 4);
        INDArray[] out = mix.mix(x, Nd4j.eye(5).castTo(DataType.FLOAT), 0);
        assertTrue(x.slice(2).equalsWithEps(out[0].slice(2), 1e-6), "the middle example is its own partner");
    }

    @Test
    void drawsAreAFunctionOfSeedAndStep() {
        Mixup mix = Mixup.builder().mixupAlpha(1.0).cutmixAlpha(1.0).mode(MixMode.ELEM).seed(13).build();
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 2, 8, 8);
        INDArray y = Nd4j.eye(4).castTo(DataType.FLOAT);
        DataSet a = new DataSet(x.dup(), y.dup());
        DataSet b = new DataSet(x.dup(), y.dup());
        mix.preProcess(a);
        assertEquals(1, mix.calls());
        mix.apply(b, 0);
        assertEquals(a.getFeatures(), b.getFeatures());
        assertEquals(a.getLabels(), b.getLabels());
        DataSet c = new DataSet(x.dup(), y.dup());
        mix.preProcess(c);   // step 1
        assertNotEquals(a.getLabels(), c.getLabels());
        DataSet d = new DataSet(x.dup(), y.dup());
        mix.toBuilder().seed(14).build().apply(d, 0);
        assertNotEquals(a.getLabels(), d.getLabels());

        MultiDataSet m = new MultiDataSet(x.dup(), y.dup());
        mix.setCalls(0);
        mix.preProcess(m);
        assertEquals(a.getFeatures(), m.getFeatures(0));
        assertEquals(a.getLabels(), m.getLabels(0));
    }

    @Test
    void javaSerializationRoundTrip() throws Exception {
        Mixup mix = Mixup.builder().mixupAlpha(0.8).cutmixAlpha(1.0).cutmixMinMax(0.3, 0.9).prob(0.9).switchProb(0.4)
                .mode(MixMode.PAIR).correctLam(false).labelSmoothing(0.05).numClasses(10).seed(15).build();
        Mixup back = JavaSerialization.roundTrip(mix);
        assertEquals(mix, back);
        assertEquals(mix.hashCode(), back.hashCode());
        assertEquals(mix, mix.toBuilder().build());
        assertArrayEquals(mix.plan(8, 10, 10, 3).lambdas(), back.plan(8, 10, 10, 3).lambdas());
    }

    @Test
    void badInput() {
        assertEquals("mixupAlpha must be finite and >= 0, got -1.0", message(() -> Mixup.builder().mixupAlpha(-1)));
        assertEquals("cutmixAlpha must be finite and >= 0, got NaN",
                message(() -> Mixup.builder().cutmixAlpha(Double.NaN)));
        assertEquals("prob must be in [0, 1], got 1.5", message(() -> Mixup.builder().prob(1.5)));
        assertEquals("switchProb must be in [0, 1], got -0.1", message(() -> Mixup.builder().switchProb(-0.1)));
        assertEquals("labelSmoothing must be in [0, 1), got 1.0", message(() -> Mixup.builder().labelSmoothing(1.0)));
        assertEquals("cutmixMinMax must satisfy 0 <= min < max <= 1, got [0.8, 0.2]",
                message(() -> Mixup.builder().cutmixMinMax(0.8, 0.2)));
        assertEquals("numClasses must be 0 (from the labels) or >= 2, got 1", message(() -> Mixup.builder().numClasses(1)));
        assertEquals("mode must not be null", message(() -> Mixup.builder().mode(null)));
        assertEquals("Mixup needs mixupAlpha > 0, cutmixAlpha > 0 or cutmixMinMax, got mixupAlpha 0.0 and cutmixAlpha"
                + " 0.0", message(() -> Mixup.builder().mixupAlpha(0).build()));

        Mixup mix = Mixup.builder().cutmixAlpha(1.0).numClasses(3).build();
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 1, 4, 4);
        INDArray soft = Nd4j.createFromArray(new float[][] {{1, 0, 0}, {0.5f, 0.5f, 0}});
        assertEquals("Mixup needs one-hot labels (one 1 per row, zeros elsewhere): row 1 is [0.5, 0.5, 0.0]; mix a batch"
                + " before smoothing or mixing its labels", message(() -> mix.mix(x, soft, 0)));
        assertEquals("labels must have numClasses = 3 columns, got 2",
                message(() -> mix.mix(x, Nd4j.eye(2).castTo(DataType.FLOAT), 0)));
        INDArray y3 = Nd4j.eye(3).getRows(0, 1).castTo(DataType.FLOAT);
        assertEquals("CutMix needs features of rank 4 [n, c, h, w], got shape [2, 16]",
                message(() -> mix.mix(Nd4j.rand(DataType.FLOAT, 2, 16), y3, 0)));
        assertEquals("features and labels must have the same number of examples, got 3 and 2",
                message(() -> mix.mix(Nd4j.rand(DataType.FLOAT, 3, 1, 4, 4), y3, 0)));
        DataSet masked = new DataSet(x, y3, null, Nd4j.ones(DataType.FLOAT, 2, 1));
        assertEquals("Mixup does not mix mask arrays; this DataSet has some", message(() -> mix.preProcess(masked)));
        MultiDataSet two = new MultiDataSet(new INDArray[] {x, x}, new INDArray[] {y3});
        assertEquals("Mixup mixes a MultiDataSet with one features and one labels array, got 2 and 1",
                message(() -> mix.preProcess(two)));
        assertNull(Mixup.builder().build().getCutmixMinMax());
    }

    private static String message(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    /** n images of c x side x side, image i filled with the value i + 1. */
    private static INDArray constantImages(int n, int c, int side) {
        INDArray x = Nd4j.create(DataType.FLOAT, n, c, side, side);
        for (int i = 0; i < n; i++) {
            x.slice(i).assign(i + 1);
        }
        return x;
    }
}
