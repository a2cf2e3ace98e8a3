package org.regularize4j.depth;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The functional kernel: identity, zeros at dropProb 1, one decision per example at every rank, statistics. */
class DropPathTest {

    private static final long[][] SHAPES = {
            {7, 5},            // dense
            {7, 4, 6},         // recurrent [mb, n, T]
            {7, 3, 4, 5},      // CNN NCHW
            {7, 4, 5, 3},      // CNN NHWC
            {7, 2, 3, 4, 5}};  // CNN3D

    @Test
    void identityWhenNotTrainingOrDropProbZero() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 5, 3, 4, 4);
        INDArray before = x.dup();
        for (INDArray y : new INDArray[] {DropPath.apply(x, 0.7, false), DropPath.apply(x, 0.0, true)}) {
            assertNotSame(x, y);
            assertEquals(x, y);
        }
        assertEquals(before, x, "input must be untouched");
    }

    @Test
    void dropProbOneGivesZerosNeverNaN() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 6, 3);
        INDArray y = DropPath.apply(x, 1.0, true);
        assertEquals(0.0, y.norm1Number().doubleValue(), 0.0);
        assertFalse(y.isNaN().any());
        // AT_INFERENCE scaling: inference multiplies by survivalProb = 0
        assertEquals(0.0, DropPath.apply(x, 1.0, false, DropMode.ROW, Scaling.AT_INFERENCE).norm1Number()
                .doubleValue(), 0.0);
    }

    @Test
    void inferenceScalingMultipliesBySurvivalProb() {
        INDArray x = Nd4j.rand(DataType.DOUBLE, 4, 3);
        assertTrue(x.mul(0.75).equalsWithEps(DropPath.apply(x, 0.25, false, DropMode.ROW, Scaling.AT_INFERENCE),
                1e-12));
    }

    @Test
    void everyElementOfAnExampleSharesOneDecisionAtEveryRank() {
        for (long[] shape : SHAPES) {
            INDArray x = Nd4j.rand(DataType.DOUBLE, shape).addi(0.5); // strictly positive
            INDArray y = DropPath.apply(x, 0.5, true, DropMode.ROW, Scaling.INVERTED, 3, 0, 0, 0);
            int kept = 0;
            for (int i = 0; i < shape[0]; i++) {
                INDArray xi = x.get(NDArrayIndex.point(i));
                INDArray yi = y.get(NDArrayIndex.point(i));
                boolean dropped = yi.norm1Number().doubleValue() == 0.0;
                if (!dropped) {
                    kept++;
                    assertTrue(xi.mul(2.0).equalsWithEps(yi, 1e-12), "kept example scaled by 1/keepProb");
                }
            }
            assertTrue(kept > 0 && kept < shape[0], "this seed gives both kept and dropped examples");
        }
    }

    @Test
    void batchModeSharesOneDecisionAcrossTheBatch() {
        INDArray x = Nd4j.ones(DataType.DOUBLE, 16, 3);
        int keptBatches = 0;
        for (int it = 0; it < 200; it++) {
            INDArray y = DropPath.apply(x, 0.5, true, DropMode.BATCH, Scaling.INVERTED, 11, it, 0, 0);
            double sum = y.sumNumber().doubleValue();
            assertTrue(sum == 0.0 || sum == 2.0 * 48, "all examples dropped or all kept, got sum " + sum);
            keptBatches += sum > 0 ? 1 : 0;
        }
        // Binomial(200, 0.5): mean 100, sd 7.07; 6 sd = 42.4
        assertEquals(100, keptBatches, 42.4);
    }

    /**
     * Inverted scaling is unbiased: the mean over N examples of a kept-or-dropped ones row, scaled by
     * 1/keepProb, has mean 1 and standard deviation sqrt(dropProb / keepProb / N). Tolerance: 6 sd.
     */
    @ParameterizedTest
    @ValueSource(doubles = {0.1, 0.5, 0.9})
    void invertedScalingIsUnbiased(double dropProb) {
        int n = 40_000;
        INDArray x = Nd4j.ones(DataType.DOUBLE, n, 2);
        INDArray y = DropPath.apply(x, dropProb, true, DropMode.ROW, Scaling.INVERTED, 5, 17, 2, 9);
        double mean = y.meanNumber().doubleValue();
        double sd = Math.sqrt(dropProb / (1 - dropProb) / n);
        assertEquals(1.0, mean, 6 * sd, "mean " + mean + ", sd " + sd);
    }

    /** The dropped fraction is Binomial(N, dropProb)/N: tolerance 6 sd = 6 sqrt(p(1-p)/N). */
    @ParameterizedTest
    @ValueSource(doubles = {0.05, 0.3, 0.5, 0.95})
    void droppedFractionMatchesDropProb(double dropProb) {
        int n = 40_000;
        INDArray y = DropPath.apply(Nd4j.ones(DataType.FLOAT, n, 1), dropProb, true);
        double dropped = n - y.neq(0.0).castTo(DataType.DOUBLE).sumNumber().doubleValue();
        double sd = Math.sqrt(dropProb * (1 - dropProb) / n);
        assertEquals(dropProb, dropped / n, 6 * sd);
    }

    @Test
    void sameCoordinatesGiveTheSameMaskOtherIterationsDiffer() {
        INDArray x = Nd4j.ones(DataType.FLOAT, 64, 2);
        INDArray a = DropPath.apply(x, 0.5, true, DropMode.ROW, Scaling.INVERTED, 1, 10, 0, 2);
        INDArray b = DropPath.apply(x, 0.5, true, DropMode.ROW, Scaling.INVERTED, 1, 10, 0, 2);
        INDArray c = DropPath.apply(x, 0.5, true, DropMode.ROW, Scaling.INVERTED, 1, 11, 0, 2);
        assertEquals(a, b);
        assertFalse(a.equals(c));
    }

    @Test
    void badInputIsRejectedWithTheArgumentAndItsRange() {
        INDArray x = Nd4j.ones(2, 2);
        for (double bad : new double[] {Double.NaN, -0.1, 1.5}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DropPath.apply(x, bad, true));
            assertEquals("dropProb must be in [0, 1], got " + bad, e.getMessage());
        }
        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class,
                () -> DropPath.apply(Nd4j.ones(3), 0.5, true));
        assertTrue(rank.getMessage().contains("x must have rank >= 2"), rank.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DropPath.apply(null, 0.5, true));
    }

    @Test
    void rowScalesKernels() {
        RowScales s = RowScales.of(new double[] {0.0, 2.0, 0.5});
        INDArray x = Nd4j.ones(DataType.DOUBLE, 3, 2, 2);
        INDArray y = Nd4j.ones(DataType.DOUBLE, 3, 2, 2).muli(10);
        INDArray prod = s.multiply(x, x.ulike());
        INDArray sum = s.multiplyAdd(x, y, x.ulike());
        assertArrayEquals(new double[] {0, 0, 0, 0, 2, 2, 2, 2, .5, .5, .5, .5}, prod.data().asDouble(), 0.0);
        assertArrayEquals(new double[] {10, 10, 10, 10, 12, 12, 12, 12, 10.5, 10.5, 10.5, 10.5},
                sum.data().asDouble(), 0.0);
        // uniform fast paths: scalar op and Axpy
        RowScales u = RowScales.uniform(3, 1.5);
        assertTrue(u.isUniform());
        assertEquals(x.mul(1.5).add(y), u.multiplyAdd(x, y, x.ulike()));
        assertEquals(x.mul(1.5), u.multiply(x, x.ulike()));
        assertEquals(y, RowScales.uniform(3, 0.0).multiplyAdd(x, y, x.ulike()));
        assertEquals(x.add(y), RowScales.uniform(3, 1.0).multiplyAdd(x, y, x.ulike()));
        assertThrows(IllegalArgumentException.class, () -> s.multiply(Nd4j.ones(4, 2), Nd4j.ones(4, 2)));
        // both kernels (contiguous 'c' arrays, and views/other orders) agree with an explicit per-example product
        INDArray plain = Nd4j.rand(DataType.DOUBLE, 3, 4, 5, 6);
        INDArray permuted = Nd4j.rand(DataType.DOUBLE, 4, 3, 6, 5).permute(1, 0, 3, 2);
        INDArray fOrder = plain.dup('f');
        for (INDArray in : new INDArray[] {plain, permuted, fOrder}) {
            INDArray expected = in.dup('c');
            for (int i = 0; i < 3; i++) {
                expected.slice(i).muli(s.get(i));
            }
            assertEquals(expected, s.multiply(in, in.ulike()));
            assertEquals(expected.add(1.0), s.multiplyAdd(in, Nd4j.ones(DataType.DOUBLE, 3, 4, 5, 6), in.ulike()));
        }
        assertThrows(IllegalArgumentException.class, () -> RowScales.of(new double[] {Double.NaN}));
    }
}
