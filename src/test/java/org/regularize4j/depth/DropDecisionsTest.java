package org.regularize4j.depth;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The coordinate hash behind all decisions: deterministic, uniform, uncorrelated along each coordinate. */
class DropDecisionsTest {

    @Test
    void deterministicAndSensitiveToEveryCoordinate() {
        double u = DropDecisions.uniform(1, 2, 3, 4, 5);
        assertEquals(u, DropDecisions.uniform(1, 2, 3, 4, 5));
        assertNotEquals(u, DropDecisions.uniform(2, 2, 3, 4, 5));
        assertNotEquals(u, DropDecisions.uniform(1, 3, 3, 4, 5));
        assertNotEquals(u, DropDecisions.uniform(1, 2, 4, 4, 5));
        assertNotEquals(u, DropDecisions.uniform(1, 2, 3, 5, 5));
        assertNotEquals(u, DropDecisions.uniform(1, 2, 3, 4, 6));
    }

    /**
     * Along each coordinate, N = 100,000 consecutive variates have mean 1/2 (sd 1/sqrt(12 N)), fall in each
     * of 10 bins with frequency 1/10 (sd sqrt(0.09/N)), and have lag-1 correlation 0 (sd 1/sqrt(N)).
     * Tolerance: 6 sd each.
     */
    @Test
    void uniformAndUncorrelatedAlongEachCoordinate() {
        int n = 100_000;
        for (int coord = 0; coord < 5; coord++) {
            double[] u = new double[n];
            for (int i = 0; i < n; i++) {
                long[] c = {42, 7, 1, 3, 0};
                c[coord] += i;
                u[i] = DropDecisions.uniform(c[0], c[1], c[2], c[3], c[4]);
                assertTrue(u[i] >= 0 && u[i] < 1);
            }
            double mean = 0;
            int[] bins = new int[10];
            for (double v : u) {
                mean += v / n;
                bins[(int) (v * 10)]++;
            }
            assertEquals(0.5, mean, 6 / Math.sqrt(12.0 * n), "coordinate " + coord);
            for (int b : bins) {
                assertEquals(0.1, b / (double) n, 6 * Math.sqrt(0.09 / n), "coordinate " + coord);
            }
            double cov = 0;
            for (int i = 1; i < n; i++) {
                cov += (u[i] - 0.5) * (u[i - 1] - 0.5);
            }
            double corr = cov / (n - 1) * 12.0;
            assertEquals(0.0, corr, 6 / Math.sqrt(n), "lag-1 correlation along coordinate " + coord);
        }
    }

    @Test
    void trainingScales() {
        double[] s = DropDecisions.trainingScales(1000, 0.2, DropMode.ROW, Scaling.INVERTED, 1, 0, 0, 0);
        for (double v : s) {
            assertTrue(v == 0.0 || v == 1.25, "got " + v);
        }
        double[] unscaled = DropDecisions.trainingScales(1000, 0.2, DropMode.ROW, Scaling.AT_INFERENCE, 1, 0, 0, 0);
        for (int i = 0; i < s.length; i++) {
            assertEquals(s[i] == 0 ? 0.0 : 1.0, unscaled[i], "same decisions, other scaling");
        }
        for (double v : DropDecisions.trainingScales(10, 1.0, DropMode.ROW, Scaling.INVERTED, 1, 0, 0, 0)) {
            assertEquals(0.0, v);
        }
        for (double v : DropDecisions.trainingScales(10, 0.0, DropMode.BATCH, Scaling.INVERTED, 1, 0, 0, 0)) {
            assertEquals(1.0, v);
        }
        assertThrows(IllegalArgumentException.class,
                () -> DropDecisions.trainingScales(0, 0.2, DropMode.ROW, Scaling.INVERTED, 1, 0, 0, 0));
        assertThrows(IllegalArgumentException.class,
                () -> DropDecisions.trainingScales(3, -0.2, DropMode.ROW, Scaling.INVERTED, 1, 0, 0, 0));
    }
}
