package org.regularize4j.data;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.util.Checks;

import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

/**
 * A DL4J {@link DataSetIterator} over a {@link FashionMnist} split: features {@code [batch, 1, 28, 28]} (float,
 * normalized to {@code (x / 255 - MEAN) / STD}), one-hot labels {@code [batch, numClasses]} (10, or as many as
 * {@link FashionMnist#classes} kept); the last batch may be smaller.
 *
 * <p><b>Epochs.</b> The iterator starts at epoch {@link Builder#epoch(int)} (default 0); {@link #reset()} after a
 * batch was taken moves to the next epoch, {@link #setEpoch(int)} to a given one. With {@link Builder#shuffle
 * shuffle(true)} each epoch visits the images in its own order, and each example gets its own augmentation draws,
 * both pure functions of (seed, epoch, position) rather than of a random stream: an iterator set to epoch 7
 * yields exactly what an iterator that ran through epochs 0..6 yields in its eighth epoch, which is what a
 * resumed training run needs.
 *
 * <pre>{@code
 * FashionMnist train = FashionMnist.bundled(FashionMnist.Split.TRAIN).firstPerClass(20);
 * FashionMnistIterator it = FashionMnistIterator.builder(train)
 *         .batchSize(32)
 *         .shuffle(true)
 *         .seed(1)
 *         .augmentation(Augmentation.cropAndFlip(2))
 *         .build();
 * int batches = 0;
 * while (it.hasNext()) {
 *     DataSet batch = it.next();        // features [32, 1, 28, 28]; the last batch has 8 examples
 *     batches++;                        // 7 batches
 * }
 * it.reset();                           // epoch 1: another order, other crops and flips
 * }</pre>
 */
public final class FashionMnistIterator implements DataSetIterator {
    private static final long serialVersionUID = 1L;
    private static final int PIXELS = FashionMnist.SIDE * FashionMnist.SIDE;

    private final FashionMnist data;
    private final int batchSize;
    private final boolean shuffle;
    private final long seed;
    private final Augmentation augmentation;
    private DataSetPreProcessor preProcessor;
    private int epoch;
    private int[] order;
    private int cursor;

    private FashionMnistIterator(Builder b) {
        this.data = b.data;
        this.batchSize = b.batchSize;
        this.shuffle = b.shuffle;
        this.seed = b.seed;
        this.augmentation = b.augmentation;
        setEpoch(b.epoch);
    }

    /** A builder over {@code data}: batch size 128, file order, seed 0, no augmentation, epoch 0. */
    public static Builder builder(FashionMnist data) {
        return new Builder(data);
    }

    /**
     * Settings of a {@link FashionMnistIterator}.
     *
     * <pre>{@code
     * FashionMnistIterator test = FashionMnistIterator.builder(FashionMnist.bundled(FashionMnist.Split.TEST))
     *         .batchSize(256)
     *         .build();                     // file order, no augmentation: for evaluation
     * }</pre>
     */
    public static final class Builder {
        private final FashionMnist data;
        private int batchSize = 128;
        private boolean shuffle;
        private long seed;
        private Augmentation augmentation = Augmentation.none();
        private int epoch;

        private Builder(FashionMnist data) {
            this.data = Checks.notNull("data", data);
        }

        /** Examples per batch, {@code >= 1}. */
        public Builder batchSize(int batchSize) {
            this.batchSize = Checks.atLeast("batchSize", batchSize, 1);
            return this;
        }

        /** Visit the images in a new order each epoch (default: file order). */
        public Builder shuffle(boolean shuffle) {
            this.shuffle = shuffle;
            return this;
        }

        /** Seed of the orders and augmentation draws. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Augmentation applied to every example (default {@link Augmentation#none()}). */
        public Builder augmentation(Augmentation augmentation) {
            this.augmentation = Checks.notNull("augmentation", augmentation);
            return this;
        }

        /** The epoch to start at, {@code >= 0} (a resumed run starts at its next epoch). */
        public Builder epoch(int epoch) {
            this.epoch = Checks.atLeast("epoch", epoch, 0);
            return this;
        }

        /** The iterator. */
        public FashionMnistIterator build() {
            return new FashionMnistIterator(this);
        }
    }

    /** The current epoch (0-based). */
    public int epoch() {
        return epoch;
    }

    /** Rewinds to the start of epoch {@code epoch} ({@code >= 0}). */
    public void setEpoch(int epoch) {
        this.epoch = Checks.atLeast("epoch", epoch, 0);
        this.cursor = 0;
        this.order = shuffle ? permutation(data.size(), new SplittableRandom(mix(seed, epoch, -1))) : null;
    }

    /** Number of batches in an epoch. */
    public int batchesPerEpoch() {
        return (data.size() + batchSize - 1) / batchSize;
    }

    /** The data this iterates over. */
    public FashionMnist data() {
        return data;
    }

    /** The augmentation applied. */
    public Augmentation augmentation() {
        return augmentation;
    }

    @Override
    public DataSet next(int num) {
        Checks.atLeast("num", num, 1);
        if (!hasNext()) {
            throw new NoSuchElementException("epoch " + epoch + " has no more batches; call reset()");
        }
        int n = Math.min(num, data.size() - cursor);
        float[] features = new float[n * PIXELS];
        int classes = data.numClasses();
        float[] labels = new float[n * classes];
        for (int k = 0; k < n; k++) {
            int position = cursor + k;
            int index = order == null ? position : order[position];
            if (augmentation.isIdentity()) {
                data.normalizedImage(index, features, k * PIXELS);
            } else {
                augmentation.apply(data, index, new SplittableRandom(mix(seed, epoch, position)), features, k * PIXELS);
            }
            labels[k * classes + data.label(index)] = 1f;
        }
        cursor += n;
        INDArray x = Nd4j.create(features, new long[] {n, 1, FashionMnist.SIDE, FashionMnist.SIDE}, DataType.FLOAT);
        INDArray y = Nd4j.create(labels, new long[] {n, classes}, DataType.FLOAT);
        DataSet ds = new DataSet(x, y);
        if (preProcessor != null) {
            preProcessor.preProcess(ds);
        }
        return ds;
    }

    @Override
    public DataSet next() {
        return next(batchSize);
    }

    @Override
    public boolean hasNext() {
        return cursor < data.size();
    }

    @Override
    public int inputColumns() {
        return PIXELS;
    }

    @Override
    public int totalOutcomes() {
        return data.numClasses();
    }

    @Override
    public boolean resetSupported() {
        return true;
    }

    /** False: batches are cheap to make, and a prefetching wrapper would call {@link #reset()} on its own. */
    @Override
    public boolean asyncSupported() {
        return false;
    }

    /** Moves to the start of the next epoch, or rewinds the current one if no batch was taken from it yet. */
    @Override
    public void reset() {
        setEpoch(cursor > 0 ? epoch + 1 : epoch);
    }

    @Override
    public int batch() {
        return batchSize;
    }

    @Override
    public void setPreProcessor(DataSetPreProcessor preProcessor) {
        this.preProcessor = preProcessor;
    }

    @Override
    public DataSetPreProcessor getPreProcessor() {
        return preProcessor;
    }

    @Override
    public List<String> getLabels() {
        return FashionMnist.CLASS_NAMES;
    }

    /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
    static int[] permutation(int n, SplittableRandom random) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** A well-mixed 64-bit seed for (seed, epoch, position); position -1 is the epoch's order. */
    static long mix(long seed, long epoch, long position) {
        long h = splitMix(seed ^ 0x5DEECE66DL);
        h = splitMix(h ^ (epoch * 0x9E3779B97F4A7C15L + 0xBF58476D1CE4E5B9L));
        return splitMix(h ^ (position * 0x94D049BB133111EBL + 0x2545F4914F6CDD1DL));
    }

    private static long splitMix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
