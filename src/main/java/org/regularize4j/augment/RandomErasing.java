package org.regularize4j.augment;

import org.apache.commons.math3.random.RandomGenerator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.util.Checks;
import org.regularize4j.util.HostArrays;
import org.regularize4j.util.SplittableGenerator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Random erasing (Zhong et al. 2020), exactly as timm's {@code RandomErasing(probability, min_area, max_area,
 * min_aspect, max_aspect, mode, min_count, max_count)}: each image of a batch, with probability
 * {@code probability}, gets {@code count} rectangles (uniform in [minCount, maxCount]) overwritten, so that the
 * network cannot rely on any one region. For each rectangle, up to 10 attempts draw a target area uniform in
 * {@code [minArea, maxArea]·H·W / count} and an aspect ratio log-uniform in {@code [minAspect, maxAspect]};
 * {@code h = round(sqrt(area·aspect))}, {@code w = round(sqrt(area / aspect))} (half to even, as Python), and
 * the first attempt with {@code h < H} and {@code w < W} is erased at a uniform position. The fill is
 * {@link Mode#CONST} (0), {@link Mode#RAND} (one N(0, 1) value per channel) or {@link Mode#PIXEL} (N(0, 1) per
 * pixel): meant for normalized images, like timm's.
 *
 * <p>Features are NCHW {@code [n, c, h, w]}. Every draw is a function of (seed, step, example):
 * {@link #preProcess(DataSet)} counts its calls, {@link #apply(DataSet, long)} takes the step. timm's
 * {@code num_splits} (keeping a clean part of the batch for AugMix) is not offered.
 *
 * <pre>{@code
 * RandomErasing erase = RandomErasing.builder()   // timm: RandomErasing(0.25, mode='pixel')
 *         .probability(0.25).mode(RandomErasing.Mode.PIXEL).seed(3).build();
 * DataSet batch = new DataSet(Nd4j.rand(DataType.FLOAT, 8, 1, 28, 28), Nd4j.eye(8));
 * erase.preProcess(batch);   // about a quarter of the images get one rectangle of noise
 * }</pre>
 */
public final class RandomErasing implements DataSetPreProcessor {
    private static final long serialVersionUID = 1L;
    /** Attempts per rectangle, as in timm. */
    public static final int ATTEMPTS = 10;

    private final double probability;
    private final double minArea;
    private final double maxArea;
    private final double minAspect;
    private final double maxAspect;
    private final Mode mode;
    private final int minCount;
    private final int maxCount;
    private final long seed;
    private final AtomicLong calls = new AtomicLong();

    private RandomErasing(Builder b) {
        this.probability = b.probability;
        this.minArea = b.minArea;
        this.maxArea = b.maxArea;
        if (!(minArea > 0 && minArea <= maxArea && maxArea <= 1)) {
            throw new IllegalArgumentException("minArea and maxArea must satisfy 0 < minArea <= maxArea <= 1, got ["
                    + minArea + ", " + maxArea + "]");
        }
        this.minAspect = b.minAspect;
        this.maxAspect = b.maxAspect != null ? b.maxAspect : 1.0 / b.minAspect;
        if (!(minAspect <= maxAspect) || Double.isInfinite(maxAspect)) {
            throw new IllegalArgumentException("minAspect and maxAspect must satisfy 0 < minAspect <= maxAspect, got ["
                    + minAspect + ", " + maxAspect + "]");
        }
        this.mode = b.mode;
        this.minCount = b.minCount;
        this.maxCount = b.maxCount != null ? b.maxCount : b.minCount;
        if (maxCount < minCount) {
            throw new IllegalArgumentException("maxCount must be >= minCount = " + minCount + ", got " + maxCount);
        }
        this.seed = b.seed;
    }

    /**
     * The fill of an erased rectangle: timm's {@code mode} 'const', 'rand' or 'pixel'.
     *
     * <pre>{@code
     * RandomErasing.Mode mode = RandomErasing.Mode.valueOf("PIXEL");
     * }</pre>
     */
    public enum Mode {
        /** 0 in every channel. */
        CONST,
        /** One standard-normal value per channel. */
        RAND,
        /** A standard-normal value per pixel and channel. */
        PIXEL
    }

    /**
     * One erased rectangle: rows {@code [top, top + height)}, columns {@code [left, left + width)} of image
     * {@code example}.
     *
     * <pre>{@code
     * RandomErasing.Box box = new RandomErasing.Box(0, 2, 3, 4, 5);
     * double share = box.area() / (28.0 * 28.0);
     * }</pre>
     */
    public record Box(int example, int top, int left, int height, int width) {
        /** height · width. */
        public int area() {
            return height * width;
        }
    }

    /** A builder with timm's defaults: probability 0.5, area [0.02, 1/3], aspect [0.3, 1/0.3], CONST, count 1. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void preProcess(DataSet dataSet) {
        apply(dataSet, calls.getAndIncrement());
    }

    /** Erases in a copy of the features of {@code dataSet} with the draws of {@code step}; the call count stays. */
    public void apply(DataSet dataSet, long step) {
        Checks.notNull("dataSet", dataSet);
        dataSet.setFeatures(erase(dataSet.getFeatures(), step));
    }

    /** Number of {@code preProcess} calls so far: the step of the next one. */
    public long calls() {
        return calls.get();
    }

    /** Sets the step of the next {@code preProcess} call. */
    public void setCalls(long calls) {
        this.calls.set(calls);
    }

    /** The erased images of step {@code step}: a new array, {@code features} ({@code [n, c, h, w]}) untouched. */
    public INDArray erase(INDArray features, long step) {
        Checks.notNull("features", features);
        if (features.rank() != 4) {
            throw new IllegalArgumentException("RandomErasing needs features of rank 4 [n, c, h, w], got shape "
                    + Arrays.toString(features.shape()));
        }
        int n = (int) features.size(0);
        int c = (int) features.size(1);
        int h = (int) features.size(2);
        int w = (int) features.size(3);
        if (features.length() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("RandomErasing erases batches of at most 2^31 - 9 values, got shape "
                    + Arrays.toString(features.shape()));
        }
        // in a Java array of the features (double for any type but float), one ND4J array made at the end; the
        // draws in timm's order: per image its boxes, per box every channel's values
        boolean isFloat = features.dataType() == DataType.FLOAT;
        float[] f = isFloat ? HostArrays.floats(features) : null;
        double[] d = isFloat ? null : HostArrays.doubles(features);
        for (int i = 0; i < n; i++) {
            RandomGenerator rng = generator(step, i);
            for (Box b : boxes(rng, i, h, w)) {
                if (b.area() == 0) {
                    continue;
                }
                for (int ch = 0; ch < c; ch++) {
                    double fill = mode == Mode.RAND ? rng.nextGaussian() : 0.0;
                    for (int y = b.top(); y < b.top() + b.height(); y++) {
                        int row = ((i * c + ch) * h + y) * w;
                        for (int x = b.left(); x < b.left() + b.width(); x++) {
                            double v = mode == Mode.PIXEL ? rng.nextGaussian() : fill;
                            if (isFloat) {
                                f[row + x] = (float) v;
                            } else {
                                d[row + x] = v;
                            }
                        }
                    }
                }
            }
        }
        return isFloat ? HostArrays.of(f, features.shape()) : HostArrays.of(d, features.shape(), features.dataType());
    }

    /** The rectangles of step {@code step} for {@code batchSize} images of {@code height x width}, in order. */
    public List<Box> plan(int batchSize, int height, int width, long step) {
        Checks.atLeast("batchSize", batchSize, 1);
        Checks.atLeast("height", height, 1);
        Checks.atLeast("width", width, 1);
        List<Box> all = new ArrayList<>();
        for (int i = 0; i < batchSize; i++) {
            all.addAll(boxes(generator(step, i), i, height, width));
        }
        return all;
    }

    private RandomGenerator generator(long step, int example) {
        long s = new SplittableRandom(seed + step * 0x9E3779B97F4A7C15L).nextLong();
        return new SplittableGenerator(new SplittableRandom(s + example * 0xC2B2AE3D27D4EB4FL).nextLong());
    }

    /** timm's {@code _erase} for one image: the geometry, drawn first from the image's generator. */
    private List<Box> boxes(RandomGenerator rng, int example, int height, int width) {
        List<Box> out = new ArrayList<>();
        if (!(rng.nextDouble() < probability)) {
            return out;
        }
        double area = (double) height * width;
        int count = minCount == maxCount ? minCount : minCount + rng.nextInt(maxCount - minCount + 1);
        double logMin = Math.log(minAspect);
        double logMax = Math.log(maxAspect);
        for (int k = 0; k < count; k++) {
            for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
                double target = (minArea + (maxArea - minArea) * rng.nextDouble()) * area / count;
                double aspect = Math.exp(logMin + (logMax - logMin) * rng.nextDouble());
                int h = (int) Math.rint(Math.sqrt(target * aspect));
                int w = (int) Math.rint(Math.sqrt(target / aspect));
                if (w < width && h < height) {
                    out.add(new Box(example, rng.nextInt(height - h + 1), rng.nextInt(width - w + 1), h, w));
                    break;
                }
            }
        }
        return out;
    }

    public double getProbability() {
        return probability;
    }

    public double getMinArea() {
        return minArea;
    }

    public double getMaxArea() {
        return maxArea;
    }

    public double getMinAspect() {
        return minAspect;
    }

    public double getMaxAspect() {
        return maxAspect;
    }

    public Mode getMode() {
        return mode;
    }

    public int getMinCount() {
        return minCount;
    }

    public int getMaxCount() {
        return maxCount;
    }

    public long getSeed() {
        return seed;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof RandomErasing)) {
            return false;
        }
        RandomErasing r = (RandomErasing) o;
        return Double.compare(probability, r.probability) == 0 && Double.compare(minArea, r.minArea) == 0
                && Double.compare(maxArea, r.maxArea) == 0 && Double.compare(minAspect, r.minAspect) == 0
                && Double.compare(maxAspect, r.maxAspect) == 0 && mode == r.mode && minCount == r.minCount
                && maxCount == r.maxCount && seed == r.seed;
    }

    @Override
    public int hashCode() {
        return Objects.hash(probability, minArea, maxArea, minAspect, maxAspect, mode, minCount, maxCount, seed);
    }

    @Override
    public String toString() {
        return "RandomErasing(probability=" + probability + ", area=[" + minArea + ", " + maxArea + "], aspect=["
                + minAspect + ", " + maxAspect + "], mode=" + mode + ", count=[" + minCount + ", " + maxCount
                + "], seed=" + seed + ")";
    }

    /**
     * Builder of {@link RandomErasing}, with timm's parameter names and defaults.
     *
     * <pre>{@code
     * RandomErasing twoBoxes = RandomErasing.builder().probability(1.0).minCount(1).maxCount(2).build();
     * }</pre>
     */
    public static final class Builder {
        private double probability = 0.5;
        private double minArea = 0.02;
        private double maxArea = 1.0 / 3;
        private double minAspect = 0.3;
        private Double maxAspect;
        private Mode mode = Mode.CONST;
        private int minCount = 1;
        private Integer maxCount;
        private long seed = 42;

        private Builder() {
        }

        /** Probability that an image is erased, in [0, 1]. Default 0.5. */
        public Builder probability(double probability) {
            this.probability = Checks.probability("probability", probability);
            return this;
        }

        /** Smallest erased share of the image (per image, split over its rectangles), in (0, 1]. Default 0.02. */
        public Builder minArea(double minArea) {
            if (!(minArea > 0 && minArea <= 1)) {
                throw new IllegalArgumentException("minArea must be in (0, 1], got " + minArea);
            }
            this.minArea = minArea;
            return this;
        }

        /** Largest erased share of the image, in (0, 1]. Default 1/3. */
        public Builder maxArea(double maxArea) {
            if (!(maxArea > 0 && maxArea <= 1)) {
                throw new IllegalArgumentException("maxArea must be in (0, 1], got " + maxArea);
            }
            this.maxArea = maxArea;
            return this;
        }

        /** Smallest height/width ratio, finite and > 0. Default 0.3. */
        public Builder minAspect(double minAspect) {
            if (!(minAspect > 0) || Double.isInfinite(minAspect)) {
                throw new IllegalArgumentException("minAspect must be finite and > 0, got " + minAspect);
            }
            this.minAspect = minAspect;
            return this;
        }

        /** Largest height/width ratio, finite and {@code >= minAspect}. Default 1 / minAspect. */
        public Builder maxAspect(double maxAspect) {
            if (!(maxAspect > 0) || Double.isInfinite(maxAspect)) {
                throw new IllegalArgumentException("maxAspect must be finite and > 0, got " + maxAspect);
            }
            this.maxAspect = maxAspect;
            return this;
        }

        /** CONST (default), RAND or PIXEL. */
        public Builder mode(Mode mode) {
            this.mode = Checks.notNull("mode", mode);
            return this;
        }

        /** Fewest rectangles per erased image, {@code >= 1}. Default 1. */
        public Builder minCount(int minCount) {
            this.minCount = Checks.atLeast("minCount", minCount, 1);
            return this;
        }

        /** Most rectangles per erased image, {@code >= minCount}. Default minCount. */
        public Builder maxCount(int maxCount) {
            this.maxCount = Checks.atLeast("maxCount", maxCount, 1);
            return this;
        }

        /** Seed of the draws. Default 42. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public RandomErasing build() {
            return new RandomErasing(this);
        }
    }
}
