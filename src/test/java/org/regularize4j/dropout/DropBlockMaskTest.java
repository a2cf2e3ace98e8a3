package org.regularize4j.dropout;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DropBlock's masks against closed forms of timm's definitions. Statistical assertions use 5 standard errors,
 * each estimated from the spread of independent masks (different iterations), so a correct implementation
 * fails one of them with probability below 1e-6.
 */
class DropBlockMaskTest {
    private static final int MASKS = 300;

    /**
     * The exact expected share of dropped activations: a place (y, x) is dropped unless none of the N(y, x) seed
     * positions whose block covers it holds a seed, each independently with probability γ.
     */
    static double expectedDropShare(int h, int w, int blockSize, double dropProb, double gammaScale, boolean fast) {
        int k = DropBlockMask.clippedBlockSize(blockSize, h, w);
        double gamma = Math.min(1, DropBlockMask.gamma(dropProb, blockSize, gammaScale, h, w));
        return 1 - meanKeep(covers(h, k, fast), covers(w, k, fast), gamma);
    }

    /** How many seed positions along one axis of length n cover each index, for blocks of side k. */
    private static int[] covers(int n, int k, boolean fast) {
        int[] c = new int[n];
        int seeds = fast ? n : n - k + 1;
        int shift = fast ? k / 2 : 0;
        for (int s = 0; s < seeds; s++) {
            for (int i = Math.max(0, s - shift); i < Math.min(n, s - shift + k); i++) {
                c[i]++;
            }
        }
        return c;
    }

    private static double meanKeep(int[] rows, int[] cols, double gamma) {
        double sum = 0;
        for (int r : rows) {
            for (int c : cols) {
                sum += Math.pow(1 - gamma, (double) r * c);
            }
        }
        return sum / (rows.length * cols.length);
    }

    @ParameterizedTest(name = "{0}x{1} block {2} dropProb {3} gammaScale {4} fast {5}")
    @CsvSource({
            "8, 8, 3, 0.1, 1.0, false", "8, 8, 3, 0.1, 1.0, true",
            "14, 14, 5, 0.3, 0.25, false", "14, 14, 5, 0.3, 0.25, true",
            "7, 7, 3, 0.2, 1.0, false", "7, 7, 3, 0.2, 1.0, true",
            "16, 16, 7, 0.1, 1.0, false", "5, 9, 3, 0.25, 1.0, false", "6, 6, 2, 0.2, 1.0, true",
            "3, 3, 5, 0.4, 1.0, false", "1, 1, 3, 0.3, 1.0, false", "1, 1, 3, 0.3, 1.0, true"})
    void measuredDropShareMatchesTheClosedForm(int h, int w, int blockSize, double dropProb, double gammaScale,
                                               boolean fast) {
        DropBlock conf = new DropBlock(dropProb, blockSize).withGammaScale(gammaScale).withFast(fast);
        long[] shape = {8, 4, h, w};
        double sum = 0;
        double sumSq = 0;
        for (int it = 0; it < MASKS; it++) {
            float[] keep = DropBlockMask.keep(conf, dropProb, shape, false, 11L, it, 0, 0);
            double dropped = 0;
            for (float v : keep) {
                dropped += v == 0f ? 1 : 0;
            }
            double share = dropped / keep.length;
            sum += share;
            sumSq += share * share;
        }
        double mean = sum / MASKS;
        double sd = Math.sqrt(Math.max(sumSq / MASKS - mean * mean, 0) * MASKS / (MASKS - 1));
        double expected = expectedDropShare(h, w, blockSize, dropProb, gammaScale, fast);
        double se = Math.max(sd / Math.sqrt(MASKS), 1e-4);
        assertTrue(Math.abs(mean - expected) < 5 * se, "measured " + mean + ", expected " + expected + " +- 5*" + se);
        if (!fast) {
            // first order the share is gammaScale * dropProb; overlapping blocks only lower it
            assertTrue(expected <= gammaScale * dropProb + 1e-12, expected + " > " + gammaScale * dropProb);
            assertEquals(gammaScale * dropProb, firstOrderShare(h, w, blockSize, dropProb, gammaScale), 1e-12);
        }
    }

    /** Σ over places of γ·N(place) / (H·W): one seed drops k² activations. */
    private static double firstOrderShare(int h, int w, int blockSize, double dropProb, double gammaScale) {
        int k = DropBlockMask.clippedBlockSize(blockSize, h, w);
        double gamma = DropBlockMask.gamma(dropProb, blockSize, gammaScale, h, w);
        long covered = 0;
        for (int r : covers(h, k, false)) {
            for (int c : covers(w, k, false)) {
                covered += (long) r * c;
            }
        }
        return gamma * covered / ((double) h * w);
    }

    @Test
    void smallDropProbabilitiesDropAboutDropProb() {
        // overlaps are second order: at dropProb 0.02 the expected share is within 3% of dropProb
        for (int[] s : new int[][] {{8, 8, 3}, {14, 14, 5}, {16, 16, 7}, {32, 32, 7}}) {
            double e = expectedDropShare(s[0], s[1], s[2], 0.02, 1.0, false);
            assertEquals(0.02, e, 0.02 * 0.03, "size " + s[0] + " block " + s[2]);
        }
    }

    @Test
    void gammaAtEdgeSizes() {
        // block larger than the map: clipped to the map, one place for a seed, γ = dropProb
        assertEquals(3, DropBlockMask.clippedBlockSize(7, 3, 3));
        assertEquals(0.2, DropBlockMask.gamma(0.2, 7, 1.0, 3, 3), 1e-15);
        // 1x1 maps: every activation is a block of its own, γ = dropProb
        assertEquals(1, DropBlockMask.clippedBlockSize(3, 1, 1));
        assertEquals(0.3, DropBlockMask.gamma(0.3, 3, 1.0, 1, 1), 1e-15);
        // non-square map, block longer than one side: k = 3 on 3x8: γ = p * 24 / 9 / (1 * 6)
        assertEquals(0.5 * 24 / 9.0 / 6, DropBlockMask.gamma(0.5, 5, 1.0, 3, 8), 1e-15);
        // the DropBlock paper's ImageNet case: 14x14, block 5, gamma scale 0.25
        assertEquals(0.25 * 0.1 * 196 / 25 / 100, DropBlockMask.gamma(0.1, 5, 0.25, 14, 14), 1e-15);
        assertEquals(0.0, DropBlockMask.gamma(0.0, 5, 1.0, 14, 14));
    }

    @Test
    void blockLargerThanTheMapDropsWholePlanes() {
        DropBlock conf = new DropBlock(0.4, 9);
        int planes = 0;
        int dropped = 0;
        for (int it = 0; it < 100; it++) {
            float[] keep = DropBlockMask.keep(conf, 0.4, new long[] {4, 5, 3, 3}, false, 5L, it, 0, 0);
            for (int p = 0; p < 20; p++) {
                float first = keep[p * 9];
                for (int i = 1; i < 9; i++) {
                    assertEquals(first, keep[p * 9 + i], "plane " + p + " is all kept or all dropped");
                }
                planes++;
                dropped += first == 0f ? 1 : 0;
            }
        }
        double share = (double) dropped / planes;
        double se = Math.sqrt(0.4 * 0.6 / planes);
        assertTrue(Math.abs(share - 0.4) < 5 * se, "share " + share);
    }

    @Test
    void oneByOneMapsAreBernoulliPerActivation() {
        DropBlock conf = new DropBlock(0.3, 3).withFast(true);
        float[] keep = DropBlockMask.keep(conf, 0.3, new long[] {200, 50, 1, 1}, false, 1L, 0, 0, 0);
        double dropped = 0;
        for (float v : keep) {
            dropped += v == 0f ? 1 : 0;
        }
        double share = dropped / keep.length;
        assertTrue(Math.abs(share - 0.3) < 5 * Math.sqrt(0.3 * 0.7 / keep.length), "share " + share);
    }

    /**
     * Without {@code fast} every dropped activation lies in a whole k x k dropped square inside the map; the fast
     * variant also drops squares clipped by the border, which the other cannot.
     */
    @Test
    void fastDropsClippedBlocksAndTheDefaultOnlyWholeOnes() {
        int h = 9;
        int k = 3;
        for (boolean fast : new boolean[] {false, true}) {
            DropBlock conf = new DropBlock(0.15, k).withFast(fast);
            int clipped = 0;
            for (int it = 0; it < 20; it++) {
                float[] keep = DropBlockMask.keep(conf, 0.15, new long[] {4, 4, h, h}, false, 3L, it, 0, 0);
                for (int p = 0; p < 16; p++) {
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < h; x++) {
                            if (keep[p * h * h + y * h + x] == 0f && !inWholeDroppedSquare(keep, p * h * h, h, k, y, x)) {
                                clipped++;
                            }
                        }
                    }
                }
            }
            if (fast) {
                assertTrue(clipped > 0, "fast: no clipped block in 320 planes");
            } else {
                assertEquals(0, clipped, "default: dropped activations outside whole blocks");
            }
        }
    }

    private static boolean inWholeDroppedSquare(float[] keep, int base, int h, int k, int y, int x) {
        for (int t = Math.max(0, y - k + 1); t <= Math.min(y, h - k); t++) {
            for (int l = Math.max(0, x - k + 1); l <= Math.min(x, h - k); l++) {
                boolean all = true;
                for (int i = 0; i < k && all; i++) {
                    for (int j = 0; j < k && all; j++) {
                        all = keep[base + (t + i) * h + l + j] == 0f;
                    }
                }
                if (all) {
                    return true;
                }
            }
        }
        return false;
    }

    @Test
    void batchwiseSharesOneMaskAcrossTheBatch() {
        long[] shape = {6, 3, 10, 10};
        float[] shared = DropBlockMask.keep(new DropBlock(0.3, 3).withBatchwise(true), 0.3, shape, false, 2L, 4, 1, 0);
        float[] own = DropBlockMask.keep(new DropBlock(0.3, 3), 0.3, shape, false, 2L, 4, 1, 0);
        int plane = 300;
        boolean differ = false;
        for (int b = 1; b < 6; b++) {
            for (int i = 0; i < plane; i++) {
                assertEquals(shared[i], shared[b * plane + i]);
                differ |= own[i] != own[b * plane + i];
            }
        }
        assertTrue(differ, "per-example masks differ between examples");
    }

    @Test
    void scaledMaskKeepsTheSumAndNeverGivesNaN() {
        DropBlock conf = new DropBlock(0.3, 3);
        INDArray m = DropBlockMask.create(conf, 0.3, new long[] {4, 2, 8, 8}, false, 9L, 0, 0, 0, DataType.DOUBLE);
        long kept = m.neq(0).castTo(DataType.INT).sumNumber().longValue();
        assertTrue(kept > 0 && kept < m.length(), "kept " + kept);
        float scale = (float) ((double) m.length() / kept);
        assertEquals(m.length(), m.sumNumber().doubleValue(), m.length() * 1e-6);
        assertEquals(scale, m.maxNumber().floatValue());
        // everything dropped (1x1 maps, dropProb 1: γ = 1): zeros, not NaN
        INDArray all = DropBlockMask.create(new DropBlock(1.0, 3), 1.0, new long[] {2, 2, 1, 1}, false, 1L, 0, 0, 0,
                DataType.FLOAT);
        assertEquals(0.0, all.amaxNumber().doubleValue());
        assertFalse(Double.isNaN(all.sumNumber().doubleValue()));
    }

    @Test
    void channelsLastHoldsTheSameLogicalMask() {
        DropBlock conf = new DropBlock(0.25, 3);
        INDArray nchw = DropBlockMask.create(conf, 0.25, new long[] {3, 5, 7, 9}, false, 4L, 2, 0, 1, DataType.FLOAT);
        INDArray nhwc = DropBlockMask.create(conf, 0.25, new long[] {3, 7, 9, 5}, true, 4L, 2, 0, 1, DataType.FLOAT);
        assertEquals(nchw, nhwc.permute(0, 3, 1, 2));
    }

    @Test
    void masksAreAFunctionOfTheirCoordinates() {
        DropBlock conf = new DropBlock(0.3, 3);
        long[] shape = {4, 3, 8, 8};
        float[] a = DropBlockMask.keep(conf, 0.3, shape, false, 1L, 5, 2, 3);
        assertArrayEquals(a, DropBlockMask.keep(conf, 0.3, shape, false, 1L, 5, 2, 3));
        for (long[] other : new long[][] {{2, 5, 2, 3}, {1, 6, 2, 3}, {1, 5, 3, 3}, {1, 5, 2, 4}}) {
            float[] b = DropBlockMask.keep(conf, 0.3, shape, false, other[0], other[1], other[2], other[3]);
            assertFalse(java.util.Arrays.equals(a, b), java.util.Arrays.toString(other));
        }
    }

    @Test
    void badArguments() {
        assertEquals("dropProb must be in [0, 1], got 1.5", assertThrows(IllegalArgumentException.class,
                () -> DropBlockMask.gamma(1.5, 3, 1.0, 8, 8)).getMessage());
        assertEquals("blockSize must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> DropBlockMask.gamma(0.1, 0, 1.0, 8, 8)).getMessage());
        assertEquals("gammaScale must be finite and >= 0, got -1.0", assertThrows(IllegalArgumentException.class,
                () -> DropBlockMask.gamma(0.1, 3, -1.0, 8, 8)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DropBlockMask.create(new DropBlock(0.1, 3), 0.1,
                new long[] {4, 8}, false, 0, 0, 0, 0, DataType.FLOAT)).getMessage()
                .startsWith("shape must have 4 dimensions, got [4, 8]"));
    }

    /**
     * The sparse form the ResNet builder applies: its dropped count (overlaps once) is the number of zeros of the
     * dense mask, zero() writes exactly those zeros, and saveAndZero/restore gives back every value bit for bit, -0.0
     * and activations that overlapping blocks cover twice included (high drop probabilities make overlaps common).
     */
    @ParameterizedTest
    @CsvSource({"0.1, 3, false, false, false", "0.6, 3, false, false, false", "0.6, 5, true, false, true",
            "0.9, 3, true, true, false", "0.5, 4, false, true, true", "0.3, 7, true, false, false"})
    void sparseBlocksMatchTheDenseMask(double dropProb, int blockSize, boolean fast, boolean batchwise,
                                       boolean channelsLast) {
        DropBlock conf = new DropBlock(dropProb, blockSize).withFast(fast).withBatchwise(batchwise);
        long[] shape = channelsLast ? new long[] {3, 9, 7, 4} : new long[] {3, 4, 9, 7};
        int numel = 3 * 4 * 9 * 7;
        for (int it = 0; it < 20; it++) {
            float[] keep = DropBlockMask.keep(conf, dropProb, shape, channelsLast, 7L, it, 1, 2);
            DropBlockMask.Blocks blocks = DropBlockMask.blocks(conf, dropProb, shape, channelsLast, 7L, it, 1, 2);
            int zeros = 0;
            for (float v : keep) {
                zeros += v == 0f ? 1 : 0;
            }
            assertEquals(zeros, blocks.droppedCount(), "dropped count at iteration " + it);
            assertEquals(zeros == numel ? 0.0 : (double) numel / (numel - zeros), blocks.scale(), 0.0);
            assertEquals(zeros, DropBlockMask.dropped(conf, dropProb, shape, channelsLast, 7L, it, 1, 2).length);

            java.nio.FloatBuffer a = java.nio.FloatBuffer.allocate(numel);
            for (int i = 0; i < numel; i++) {
                a.put(i, i % 11 == 0 ? -0.0f : i + 0.5f);
            }
            float[] original = new float[numel];
            a.get(0, original);
            float[] saved = blocks.saveAndZero(a);
            for (int i = 0; i < numel; i++) {
                assertEquals(keep[i] == 0f ? 0f : original[i], a.get(i), "masked value " + i);
            }
            blocks.restore(a, saved);
            for (int i = 0; i < numel; i++) {
                assertEquals(Float.floatToRawIntBits(original[i]), Float.floatToRawIntBits(a.get(i)), "restored " + i);
            }
            java.nio.DoubleBuffer d = java.nio.DoubleBuffer.allocate(numel);
            for (int i = 0; i < numel; i++) {
                d.put(i, 1.0);
            }
            blocks.zero(d);
            for (int i = 0; i < numel; i++) {
                assertEquals(keep[i], d.get(i), 0.0, "zeroed " + i);
            }
        }
    }
}
