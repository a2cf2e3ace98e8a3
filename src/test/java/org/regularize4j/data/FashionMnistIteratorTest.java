package org.regularize4j.data;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batches, per-epoch orders as functions of (seed, epoch), augmentation geometry and statistics. */
class FashionMnistIteratorTest {
    private static final FashionMnist SMALL = FashionMnist.bundled(FashionMnist.Split.TEST).firstPerClass(10);

    /** Synthetic images whose pixel (0, 0) encodes the index, to track order; pixel (r, c) = r * 9 + c elsewhere. */
    private static FashionMnist tagged(int n) {
        byte[] pixels = new byte[n * 784];
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < 784; k++) {
                pixels[i * 784 + k] = (byte) ((k / 28) * 9 + k % 28);
            }
            pixels[i * 784] = (byte) i;
            labels[i] = (byte) (i % 10);
        }
        return FashionMnist.of("tagged", FashionMnist.Split.TRAIN, new Idx.Images(n, 28, 28, pixels), labels);
    }

    private static int tag(INDArray features, int row) {
        return Math.round((features.getFloat(row, 0, 0, 0) * FashionMnist.STD + FashionMnist.MEAN) * 255);
    }

    private static List<Integer> epochOrder(FashionMnistIterator it) {
        List<Integer> order = new ArrayList<>();
        while (it.hasNext()) {
            INDArray x = it.next().getFeatures();
            for (int r = 0; r < x.size(0); r++) {
                order.add(tag(x, r));
            }
        }
        return order;
    }

    @Test
    void batchesHaveShapesLabelsAndAShortLastBatch() {
        FashionMnistIterator it = SMALL.iterator(32);
        assertEquals(4, it.batchesPerEpoch());
        List<DataSet> batches = new ArrayList<>();
        while (it.hasNext()) {
            batches.add(it.next());
        }
        assertEquals(4, batches.size());
        assertArrayEquals(new long[] {32, 1, 28, 28}, batches.get(0).getFeatures().shape());
        assertArrayEquals(new long[] {32, 10}, batches.get(0).getLabels().shape());
        assertArrayEquals(new long[] {4, 1, 28, 28}, batches.get(3).getFeatures().shape());
        for (int i = 0; i < 32; i++) {
            assertEquals(SMALL.label(i), batches.get(0).getLabels().getRow(i).argMax().getInt(0));
            assertEquals(1.0, batches.get(0).getLabels().getRow(i).sumNumber().doubleValue(), 0.0);
        }
        float expected = (SMALL.pixel(5, 10, 12) / 255f - FashionMnist.MEAN) / FashionMnist.STD;
        assertEquals(expected, batches.get(0).getFeatures().getFloat(5, 0, 10, 12), 1e-6);
        assertThrows(java.util.NoSuchElementException.class, it::next);
        assertEquals(784, it.inputColumns());
        assertEquals(10, it.totalOutcomes());
        assertEquals(FashionMnist.CLASS_NAMES, it.getLabels());
    }

    @Test
    void fileOrderWithoutShuffle() {
        FashionMnistIterator it = tagged(50).iterator(16);
        List<Integer> order = epochOrder(it);
        for (int i = 0; i < 50; i++) {
            assertEquals(i, order.get(i));
        }
    }

    @Test
    void shuffledOrderIsAPermutationPerEpochAndAFunctionOfSeedAndEpoch() {
        FashionMnist data = tagged(100);
        FashionMnistIterator it = FashionMnistIterator.builder(data).batchSize(16).shuffle(true).seed(7).build();
        List<List<Integer>> orders = new ArrayList<>();
        for (int epoch = 0; epoch < 4; epoch++) {
            assertEquals(epoch, it.epoch());
            List<Integer> order = epochOrder(it);
            assertEquals(100, new HashSet<>(order).size(), "every image exactly once");
            orders.add(order);
            it.reset();
        }
        assertEquals(4, it.epoch());
        assertEquals(4, new HashSet<>(orders).size(), "each epoch has its own order");
        // an iterator started at epoch 2 yields what the first one yielded in its third epoch
        FashionMnistIterator resumed = FashionMnistIterator.builder(data).batchSize(16).shuffle(true).seed(7).epoch(2)
                .build();
        assertEquals(orders.get(2), epochOrder(resumed));
        resumed.setEpoch(1);
        assertEquals(orders.get(1), epochOrder(resumed));
        // another seed, another order
        FashionMnistIterator other = FashionMnistIterator.builder(data).batchSize(16).shuffle(true).seed(8).build();
        assertNotEquals(orders.get(0), epochOrder(other));
        // reset before any batch rewinds without moving on
        other.setEpoch(3);
        other.reset();
        assertEquals(3, other.epoch());
    }

    /** Statistical: over 200 shuffles of 10 items, item 0 lands in each slot with frequency 1/10 (tolerance 0.07). */
    @Test
    void shuffleIsUniform() {
        int[] slotOfZero = new int[10];
        for (int epoch = 0; epoch < 200; epoch++) {
            int[] p = FashionMnistIterator.permutation(10,
                    new java.util.SplittableRandom(FashionMnistIterator.mix(3, epoch, -1)));
            for (int s = 0; s < 10; s++) {
                if (p[s] == 0) {
                    slotOfZero[s]++;
                }
            }
        }
        for (int count : slotOfZero) {
            // expected 20 per slot, binomial sd 4.2: [6, 34] is more than 3 sd either side
            assertTrue(count >= 6 && count <= 34, Arrays.toString(slotOfZero));
        }
    }

    @Test
    void augmentationShiftsWithBackgroundAndFlips() {
        FashionMnist data = tagged(1);
        float background = (0 - FashionMnist.MEAN) / FashionMnist.STD;
        Set<String> seen = new HashSet<>();
        for (int epoch = 0; epoch < 60; epoch++) {
            FashionMnistIterator it = FashionMnistIterator.builder(data).batchSize(1).seed(5).epoch(epoch)
                    .augmentation(Augmentation.cropAndFlip(2)).build();
            INDArray x = it.next().getFeatures();
            // find the shift and flip that explain the output exactly
            boolean explained = false;
            for (int dy = -2; dy <= 2 && !explained; dy++) {
                for (int dx = -2; dx <= 2 && !explained; dx++) {
                    for (boolean flip : new boolean[] {false, true}) {
                        if (matches(data, x, dy, dx, flip, background)) {
                            explained = true;
                            seen.add(dy + "," + dx + "," + flip);
                            break;
                        }
                    }
                }
            }
            assertTrue(explained, "epoch " + epoch + ": output is not a shifted/flipped copy");
        }
        assertTrue(seen.size() >= 20, "shifts and flips seen: " + seen.size());
    }

    private static boolean matches(FashionMnist data, INDArray x, int dy, int dx, boolean flip, float background) {
        for (int r = 0; r < 28; r++) {
            for (int c = 0; c < 28; c++) {
                int sr = r + dy;
                int sc = (flip ? 27 - c : c) + dx;
                float expected = sr < 0 || sr > 27 || sc < 0 || sc > 27 ? background
                        : (data.pixel(0, sr, sc) / 255f - FashionMnist.MEAN) / FashionMnist.STD;
                if (Math.abs(x.getFloat(0, 0, r, c) - expected) > 1e-6) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Statistical: over 4000 examples the flip rate is 1/2 (sd 0.008; tolerance 0.04, 5 sd) and each of the 25
     * shifts has frequency 1/25 (sd 0.003; tolerance 0.016, 5 sd). Draws are recovered from the images.
     */
    @Test
    void augmentationDrawsAreBalanced() {
        FashionMnist data = tagged(1);
        float background = (0 - FashionMnist.MEAN) / FashionMnist.STD;
        int n = 4000;
        int flips = 0;
        int[] shifts = new int[25];
        float[] out = new float[784];
        for (int i = 0; i < n; i++) {
            Augmentation.cropAndFlip(2).apply(data, 0, new java.util.SplittableRandom(FashionMnistIterator.mix(1, 0, i)),
                    out, 0);
            INDArray x = org.nd4j.linalg.factory.Nd4j.create(out, new long[] {1, 1, 28, 28});
            boolean found = false;
            for (int dy = -2; dy <= 2 && !found; dy++) {
                for (int dx = -2; dx <= 2 && !found; dx++) {
                    for (boolean flip : new boolean[] {false, true}) {
                        if (matches(data, x, dy, dx, flip, background)) {
                            flips += flip ? 1 : 0;
                            shifts[(dy + 2) * 5 + dx + 2]++;
                            found = true;
                            break;
                        }
                    }
                }
            }
            assertTrue(found, "draw " + i);
        }
        assertEquals(0.5, flips / (double) n, 0.04);
        for (int count : shifts) {
            assertEquals(1.0 / 25, count / (double) n, 0.016, Arrays.toString(shifts));
        }
    }

    @Test
    void augmentationIsDeterministicAndNoneIsIdentity() {
        FashionMnistIterator a = FashionMnistIterator.builder(SMALL).batchSize(100).shuffle(true).seed(3)
                .augmentation(Augmentation.cropAndFlip(2)).build();
        FashionMnistIterator b = FashionMnistIterator.builder(SMALL).batchSize(100).shuffle(true).seed(3)
                .augmentation(Augmentation.cropAndFlip(2)).build();
        assertEquals(a.next().getFeatures(), b.next().getFeatures());
        FashionMnistIterator none = FashionMnistIterator.builder(SMALL).batchSize(100).augmentation(Augmentation.none())
                .build();
        assertEquals(SMALL.toDataSet().getFeatures(), none.next().getFeatures());
        assertTrue(Augmentation.none().isIdentity());
        assertFalse(Augmentation.of(0, true).isIdentity());
        assertEquals("random crop (padding 2) + horizontal flip", Augmentation.cropAndFlip(2).toString());
        assertEquals(Augmentation.of(2, true), Augmentation.cropAndFlip(2));
    }

    /** DL4J's DataSetIterator is Serializable: a deserialized iterator yields the same batches. */
    @Test
    void javaSerializationRoundTrip() throws Exception {
        FashionMnistIterator it = FashionMnistIterator.builder(SMALL).batchSize(30).shuffle(true).seed(4).epoch(2)
                .augmentation(Augmentation.cropAndFlip(2)).build();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
            out.writeObject(it);
        }
        FashionMnistIterator back;
        try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(
                new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
            back = (FashionMnistIterator) in.readObject();
        }
        assertEquals(2, back.epoch());
        assertEquals(it.next().getFeatures(), back.next().getFeatures());
    }

    @Test
    void preProcessorIsApplied() {
        FashionMnistIterator it = SMALL.iterator(10);
        it.setPreProcessor(ds -> ds.getFeatures().assign(1.0));
        assertEquals(1.0, it.next().getFeatures().minNumber().doubleValue(), 0.0);
    }

    @Test
    void badArgumentsAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SMALL.iterator(0));
        assertEquals("batchSize must be >= 1, got 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Augmentation.of(14, true));
        assertEquals("padding must be in [0, 14), got 14", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FashionMnistIterator.builder(SMALL).epoch(-1));
        assertEquals("epoch must be >= 0, got -1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FashionMnistIterator.builder(null));
        assertEquals("data must not be null", e.getMessage());
    }
}
