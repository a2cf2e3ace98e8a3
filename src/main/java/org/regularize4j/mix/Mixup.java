package org.regularize4j.mix;

import org.apache.commons.math3.distribution.BetaDistribution;
import org.apache.commons.math3.random.RandomGenerator;
import org.apache.commons.math3.random.Well19937c;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.MultiDataSetPreProcessor;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.util.Checks;
import org.regularize4j.util.HostArrays;

import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) on mini-batches, exactly as timm's
 * {@code Mixup(mixup_alpha, cutmix_alpha, cutmix_minmax, prob, switch_prob, mode, correct_lam, label_smoothing,
 * num_classes)}: a training batch becomes convex combinations of its examples, with soft labels mixed by the
 * same λ, which regularizes the classifier toward linear behaviour between training examples.
 *
 * <ul>
 *   <li>The partner of example i is example {@code n − 1 − i} (timm's {@code flip(0)}).</li>
 *   <li>With probability {@code prob} a draw mixes; if both alphas are positive it is CutMix with probability
 *       {@code switchProb}, else mixup; λ ~ Beta(α, α) with the chosen alpha.</li>
 *   <li>Mixup: {@code x = λ·x + (1 − λ)·x_partner}. CutMix: the partner's pixels inside a box replace the
 *       example's; the box has sides {@code floor(H·sqrt(1 − λ))} and {@code floor(W·sqrt(1 − λ))}, a uniform
 *       integer centre, half-sides rounded down and is clipped to the image; with {@code correctLam} (or a
 *       {@code cutmixMinMax} box) λ becomes {@code 1 − box area / image area}, the share of pixels kept.</li>
 *   <li>Labels must be one-hot; they are smoothed first ({@code (1 − ε)·y + ε/K}) and then mixed with the same
 *       λ: {@code λ·y_s + (1 − λ)·y_s,partner}.</li>
 * </ul>
 *
 * <p>Features are {@code [n, ...]} for mixup and {@code [n, c, h, w]} (NCHW) for CutMix. timm asserts an even
 * batch in every mode; here only {@link MixMode#PAIR} needs one (in the other modes the middle example of an
 * odd batch is its own partner and stays as it is). Every draw is a function of (seed, step): {@link
 * #preProcess(DataSet)} counts its calls, {@link #apply(DataSet, long)} takes the step (e.g. the network's
 * iteration count, which a resumed run restores), so runs are reproducible.
 *
 * <pre>{@code
 * Mixup mix = Mixup.builder()   // timm: Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, num_classes=10)
 *         .mixupAlpha(0.8).cutmixAlpha(1.0).labelSmoothing(0.1).numClasses(10).seed(7).build();
 * DataSet batch = new DataSet(Nd4j.rand(DataType.FLOAT, 8, 1, 28, 28), Nd4j.eye(10).getRows(0, 1, 2, 3, 4, 5, 6,
 *         7));
 * mix.preProcess(batch);               // features mixed, labels soft (each row sums to 1)
 * }</pre>
 */
public final class Mixup implements DataSetPreProcessor, MultiDataSetPreProcessor {
    private static final long serialVersionUID = 1L;

    private final double mixupAlpha;
    private final double cutmixAlpha;
    private final double[] cutmixMinMax;
    private final double prob;
    private final double switchProb;
    private final MixMode mode;
    private final boolean correctLam;
    private final double labelSmoothing;
    private final int numClasses;
    private final long seed;
    private final AtomicLong calls = new AtomicLong();

    private Mixup(Builder b) {
        this.mixupAlpha = b.mixupAlpha;
        this.cutmixMinMax = b.cutmixMinMax == null ? null : b.cutmixMinMax.clone();
        this.cutmixAlpha = cutmixMinMax != null ? 1.0 : b.cutmixAlpha;   // timm forces 1.0 with a min/max box
        this.prob = b.prob;
        this.switchProb = b.switchProb;
        this.mode = b.mode;
        this.correctLam = b.correctLam;
        this.labelSmoothing = b.labelSmoothing;
        this.numClasses = b.numClasses;
        this.seed = b.seed;
        if (!(mixupAlpha > 0) && !(cutmixAlpha > 0)) {
            throw new IllegalArgumentException("Mixup needs mixupAlpha > 0, cutmixAlpha > 0 or cutmixMinMax, got"
                    + " mixupAlpha " + mixupAlpha + " and cutmixAlpha " + cutmixAlpha);
        }
    }

    /**
     * A builder with timm's defaults: mixupAlpha 1, cutmixAlpha 0, prob 1, switchProb 0.5, BATCH, correctLam,
     * labelSmoothing 0.1.
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Mixes {@code dataSet} (new feature and label arrays) with the draws of step {@link #calls()}, then counts it. */
    @Override
    public void preProcess(DataSet dataSet) {
        apply(dataSet, calls.getAndIncrement());
    }

    /** Mixes a MultiDataSet with one features array and one labels array, like {@link #preProcess(DataSet)}. */
    @Override
    public void preProcess(MultiDataSet multiDataSet) {
        Checks.notNull("multiDataSet", multiDataSet);
        if (multiDataSet.numFeatureArrays() != 1 || multiDataSet.numLabelsArrays() != 1) {
            throw new IllegalArgumentException("Mixup mixes a MultiDataSet with one features and one labels array, got "
                    + multiDataSet.numFeatureArrays() + " and " + multiDataSet.numLabelsArrays());
        }
        if (multiDataSet.hasMaskArrays()) {
            throw new IllegalArgumentException("Mixup does not mix mask arrays; this MultiDataSet has some");
        }
        INDArray[] mixed = mix(multiDataSet.getFeatures(0), multiDataSet.getLabels(0), calls.getAndIncrement());
        multiDataSet.setFeatures(0, mixed[0]);
        multiDataSet.setLabels(0, mixed[1]);
    }

    /** Mixes {@code dataSet} (new feature and label arrays) with the draws of {@code step}; the call count stays. */
    public void apply(DataSet dataSet, long step) {
        Checks.notNull("dataSet", dataSet);
        if (dataSet.getFeaturesMaskArray() != null || dataSet.getLabelsMaskArray() != null) {
            throw new IllegalArgumentException("Mixup does not mix mask arrays; this DataSet has some");
        }
        INDArray[] mixed = mix(dataSet.getFeatures(), dataSet.getLabels(), step);
        dataSet.setFeatures(mixed[0]);
        dataSet.setLabels(mixed[1]);
    }

    /** Number of {@code preProcess} calls so far: the step of the next one. */
    public long calls() {
        return calls.get();
    }

    /** Sets the step of the next {@code preProcess} call (e.g. when resuming). */
    public void setCalls(long calls) {
        this.calls.set(calls);
    }

    /**
     * The mixed features and labels of step {@code step}: new arrays, the inputs untouched.
     *
     * @param features {@code [n, ...]}; {@code [n, c, h, w]} when CutMix is on
     * @param labels   one-hot {@code [n, K]}
     */
    public INDArray[] mix(INDArray features, INDArray labels, long step) {
        Checks.notNull("features", features);
        Checks.notNull("labels", labels);
        checkOneHot(labels);
        int n = (int) features.size(0);
        if (labels.size(0) != n) {
            throw new IllegalArgumentException("features and labels must have the same number of examples, got "
                    + n + " and " + labels.size(0));
        }
        boolean cutmixOn = cutmixAlpha > 0;
        if (cutmixOn && features.rank() != 4) {
            throw new IllegalArgumentException("CutMix needs features of rank 4 [n, c, h, w], got shape "
                    + Arrays.toString(features.shape()));
        }
        Plan plan = plan(n, cutmixOn ? (int) features.size(2) : 1, cutmixOn ? (int) features.size(3) : 1, step);
        long per = features.length() / n;
        if (features.length() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("Mixup mixes batches of at most 2^31 - 9 values, got shape "
                    + Arrays.toString(features.shape()));
        }
        int c = cutmixOn ? (int) features.size(1) : 1;
        int h = cutmixOn ? (int) features.size(2) : 1;
        int w = cutmixOn ? (int) features.size(3) : 1;
        // in Java arrays, with the arithmetic of the features' type: x·λ + partner·(1 − λ) per value, then the CutMix
        // boxes copied from the partner (the reversed batch); no ND4J op per example
        INDArray mixed;
        if (features.dataType() == DataType.FLOAT) {
            float[] x = HostArrays.floats(features);
            float[] out = new float[x.length];
            for (int i = 0; i < n; i++) {
                int[] box = plan.boxes()[i];
                float lam = (float) (box == null ? plan.lambdas()[i] : 1.0);
                float rest = 1f - lam;
                int at = (int) (i * per);
                int from = (int) ((n - 1 - i) * per);
                for (int j = 0; j < per; j++) {
                    out[at + j] = x[at + j] * lam + x[from + j] * rest;
                }
                copyBox(x, from, out, at, box, c, h, w);
            }
            mixed = HostArrays.of(out, features.shape());
        } else {
            double[] x = HostArrays.doubles(features);
            double[] out = new double[x.length];
            for (int i = 0; i < n; i++) {
                int[] box = plan.boxes()[i];
                double lam = box == null ? plan.lambdas()[i] : 1.0;
                double rest = 1.0 - lam;
                int at = (int) (i * per);
                int from = (int) ((n - 1 - i) * per);
                for (int j = 0; j < per; j++) {
                    out[at + j] = x[at + j] * lam + x[from + j] * rest;
                }
                copyBox(x, from, out, at, box, c, h, w);
            }
            mixed = HostArrays.of(out, features.shape(), features.dataType());
        }
        DataType labelType = features.dataType().isFPType() ? features.dataType() : labels.dataType();
        int k = (int) labels.size(1);
        double[] y = HostArrays.doubles(labels);
        INDArray mixedLabels;
        if (labelType == DataType.FLOAT) {
            float keep = (float) (1.0 - labelSmoothing);
            float add = (float) (labelSmoothing / k);
            float[] sm = new float[y.length];
            for (int j = 0; j < y.length; j++) {
                sm[j] = (float) y[j] * keep + add;
            }
            float[] out = new float[y.length];
            for (int i = 0; i < n; i++) {
                float lam = (float) plan.lambdas()[i];
                float rest = 1f - lam;
                for (int j = 0; j < k; j++) {
                    out[i * k + j] = sm[i * k + j] * lam + sm[(n - 1 - i) * k + j] * rest;
                }
            }
            mixedLabels = HostArrays.of(out, new long[] {n, k});
        } else {
            double[] sm = new double[y.length];
            for (int j = 0; j < y.length; j++) {
                sm[j] = y[j] * (1.0 - labelSmoothing) + labelSmoothing / k;
            }
            double[] out = new double[y.length];
            for (int i = 0; i < n; i++) {
                double lam = plan.lambdas()[i];
                for (int j = 0; j < k; j++) {
                    out[i * k + j] = sm[i * k + j] * lam + sm[(n - 1 - i) * k + j] * (1.0 - lam);
                }
            }
            mixedLabels = HostArrays.of(out, new long[] {n, k}, labelType);
        }
        return new INDArray[] {mixed, mixedLabels};
    }

    /**
     * The draws of step {@code step} for a batch of {@code batchSize} images of {@code height x width}: a pure
     * function of (seed, step, batch size, image size).
     */
    public Plan plan(int batchSize, int height, int width, long step) {
        Checks.atLeast("batchSize", batchSize, 1);
        Checks.atLeast("height", height, 1);
        Checks.atLeast("width", width, 1);
        if (mode == MixMode.PAIR && batchSize % 2 != 0) {
            throw new IllegalArgumentException("Mixup in PAIR mode needs an even batch size, got " + batchSize);
        }
        RandomGenerator rng = new Well19937c(new SplittableRandom(seed + step * 0x9E3779B97F4A7C15L).nextLong());
        double[] lambdas = new double[batchSize];
        int[][] boxes = new int[batchSize][];
        int draws = mode == MixMode.BATCH ? 1 : mode == MixMode.PAIR ? batchSize / 2 : batchSize;
        BetaDistribution mixupBeta = mixupAlpha > 0 ? new BetaDistribution(rng, mixupAlpha, mixupAlpha) : null;
        BetaDistribution cutmixBeta = cutmixAlpha > 0 ? new BetaDistribution(rng, cutmixAlpha, cutmixAlpha) : null;
        for (int d = 0; d < draws; d++) {
            double lam = 1.0;
            int[] box = null;
            if (rng.nextDouble() < prob) {
                boolean useCutmix = cutmixBeta != null && (mixupBeta == null || rng.nextDouble() < switchProb);
                lam = (useCutmix ? cutmixBeta : mixupBeta).sample();
                if (useCutmix && lam != 1.0) {
                    box = cutmixMinMax != null ? minMaxBox(rng, height, width) : box(rng, lam, height, width);
                    if (correctLam || cutmixMinMax != null) {
                        lam = 1.0 - (double) (box[1] - box[0]) * (box[3] - box[2]) / ((double) height * width);
                    }
                }
            }
            if (mode == MixMode.BATCH) {
                Arrays.fill(lambdas, lam);
                Arrays.fill(boxes, box);
            } else {
                lambdas[d] = lam;
                boxes[d] = box;
                if (mode == MixMode.PAIR) {
                    lambdas[batchSize - 1 - d] = lam;
                    boxes[batchSize - 1 - d] = box;
                }
            }
        }
        return new Plan(lambdas, boxes);
    }

    /** CutMix: the box {yl, yh, xl, xh} of every channel from the image at {@code from} into the one at {@code at}. */
    private static void copyBox(Object src, int from, Object dst, int at, int[] box, int c, int h, int w) {
        if (box == null) {
            return;
        }
        for (int ch = 0; ch < c; ch++) {
            for (int y = box[0]; y < box[1]; y++) {
                int row = (ch * h + y) * w;
                System.arraycopy(src, from + row + box[2], dst, at + row + box[2], box[3] - box[2]);
            }
        }
    }

    /** timm's {@code rand_bbox}: {yl, yh, xl, xh}, half-open. */
    private static int[] box(RandomGenerator rng, double lam, int height, int width) {
        double ratio = Math.sqrt(1.0 - lam);
        int cutH = (int) (height * ratio);
        int cutW = (int) (width * ratio);
        int cy = rng.nextInt(height);
        int cx = rng.nextInt(width);
        return new int[] {clip(cy - cutH / 2, height), clip(cy + cutH / 2, height), clip(cx - cutW / 2, width),
                clip(cx + cutW / 2, width)};
    }

    /** timm's {@code rand_bbox_minmax}: sides uniform in [min·side, max·side), the box inside the image. */
    private int[] minMaxBox(RandomGenerator rng, int height, int width) {
        int[] h = minMaxSide(rng, height);
        int[] w = minMaxSide(rng, width);
        return new int[] {h[0], h[0] + h[1], w[0], w[0] + w[1]};
    }

    private int[] minMaxSide(RandomGenerator rng, int side) {
        int lo = (int) (side * cutmixMinMax[0]);
        int hi = (int) (side * cutmixMinMax[1]);
        if (hi <= lo || hi > side) {
            throw new IllegalArgumentException("cutmixMinMax " + Arrays.toString(cutmixMinMax) + " gives no box size on"
                    + " an image side of " + side + " (need int(side*min) < int(side*max) <= side)");
        }
        int cut = lo + rng.nextInt(hi - lo);
        return new int[] {rng.nextInt(side - cut), cut};
    }

    private static int clip(int v, int max) {
        return Math.max(0, Math.min(max, v));
    }

    private void checkOneHot(INDArray labels) {
        if (labels.rank() != 2) {
            throw new IllegalArgumentException("Mixup needs one-hot labels [n, K], got shape "
                    + Arrays.toString(labels.shape()));
        }
        if (numClasses > 0 && labels.size(1) != numClasses) {
            throw new IllegalArgumentException("labels must have numClasses = " + numClasses + " columns, got "
                    + labels.size(1));
        }
        int k = (int) labels.size(1);
        double[] v = HostArrays.doubles(labels);   // one copy, not one per row
        for (int i = 0; i < labels.size(0); i++) {
            int ones = 0;
            for (int j = 0; j < k; j++) {
                double e = v[i * k + j];
                if (e == 1.0) {
                    ones++;
                } else if (e != 0.0) {
                    ones = -1;
                    break;
                }
            }
            if (ones != 1) {
                throw new IllegalArgumentException("Mixup needs one-hot labels (one 1 per row, zeros elsewhere):"
                        + " row " + i + " is " + Arrays.toString(Arrays.copyOfRange(v, i * k, i * k + k))
                        + "; mix a batch before smoothing or mixing its labels");
            }
        }
    }

    public double getMixupAlpha() {
        return mixupAlpha;
    }

    public double getCutmixAlpha() {
        return cutmixAlpha;
    }

    /** {min, max} of a CutMix box side as a share of the image side, or null (box from λ). */
    public double[] getCutmixMinMax() {
        return cutmixMinMax == null ? null : cutmixMinMax.clone();
    }

    public double getProb() {
        return prob;
    }

    public double getSwitchProb() {
        return switchProb;
    }

    public MixMode getMode() {
        return mode;
    }

    public boolean isCorrectLam() {
        return correctLam;
    }

    public double getLabelSmoothing() {
        return labelSmoothing;
    }

    /** Number of classes the labels must have, or 0 for any. */
    public int getNumClasses() {
        return numClasses;
    }

    public long getSeed() {
        return seed;
    }

    /** A builder holding this configuration. */
    public Builder toBuilder() {
        Builder b = new Builder().mixupAlpha(mixupAlpha).cutmixAlpha(cutmixAlpha).prob(prob).switchProb(switchProb)
                .mode(mode).correctLam(correctLam).labelSmoothing(labelSmoothing).numClasses(numClasses).seed(seed);
        if (cutmixMinMax != null) {
            b.cutmixMinMax(cutmixMinMax[0], cutmixMinMax[1]);
        }
        return b;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Mixup)) {
            return false;
        }
        Mixup m = (Mixup) o;
        return Double.compare(mixupAlpha, m.mixupAlpha) == 0 && Double.compare(cutmixAlpha, m.cutmixAlpha) == 0
                && Arrays.equals(cutmixMinMax, m.cutmixMinMax) && Double.compare(prob, m.prob) == 0
                && Double.compare(switchProb, m.switchProb) == 0 && mode == m.mode && correctLam == m.correctLam
                && Double.compare(labelSmoothing, m.labelSmoothing) == 0 && numClasses == m.numClasses
                && seed == m.seed;
    }

    @Override
    public int hashCode() {
        return Objects.hash(mixupAlpha, cutmixAlpha, Arrays.hashCode(cutmixMinMax), prob, switchProb, mode, correctLam,
                labelSmoothing, numClasses, seed);
    }

    @Override
    public String toString() {
        return "Mixup(mixupAlpha=" + mixupAlpha + ", cutmixAlpha=" + cutmixAlpha
                + (cutmixMinMax == null ? "" : ", cutmixMinMax=" + Arrays.toString(cutmixMinMax)) + ", prob=" + prob
                + ", switchProb=" + switchProb + ", mode=" + mode + ", correctLam=" + correctLam + ", labelSmoothing="
                + labelSmoothing + (numClasses > 0 ? ", numClasses=" + numClasses : "") + ", seed=" + seed + ")";
    }

    /**
     * The draws for one batch: per example its label weight λ (after the CutMix correction) and its CutMix box
     * {yl, yh, xl, xh} (half-open; null for mixup or no mixing). Example i is mixed with example n − 1 − i.
     *
     * <pre>{@code
     * Mixup.Plan plan = Mixup.builder().cutmixAlpha(1.0).mixupAlpha(0).build().plan(8, 28, 28, 0);
     * double keptShare = plan.lambdas()[0];   // the share of example 0's own pixels
     * int[] box = plan.boxes()[0];            // {yl, yh, xl, xh}, or null
     * }</pre>
     */
    public record Plan(double[] lambdas, int[][] boxes) {
    }

    /**
     * Builder of {@link Mixup}, with timm's parameter names and defaults.
     *
     * <pre>{@code
     * Mixup cutmixOnly = Mixup.builder().mixupAlpha(0).cutmixAlpha(1.0).mode(MixMode.PAIR).build();
     * }</pre>
     */
    public static final class Builder {
        private double mixupAlpha = 1.0;
        private double cutmixAlpha = 0.0;
        private double[] cutmixMinMax;
        private double prob = 1.0;
        private double switchProb = 0.5;
        private MixMode mode = MixMode.BATCH;
        private boolean correctLam = true;
        private double labelSmoothing = 0.1;
        private int numClasses;
        private long seed = 42;

        private Builder() {
        }

        /** α of mixup's Beta(α, α), finite and {@code >= 0}; 0 turns mixup off. Default 1. */
        public Builder mixupAlpha(double mixupAlpha) {
            this.mixupAlpha = Checks.nonNegative("mixupAlpha", mixupAlpha);
            return this;
        }

        /** α of CutMix's Beta(α, α), finite and {@code >= 0}; 0 turns CutMix off. Default 0. */
        public Builder cutmixAlpha(double cutmixAlpha) {
            this.cutmixAlpha = Checks.nonNegative("cutmixAlpha", cutmixAlpha);
            return this;
        }

        /**
         * CutMix boxes with sides uniform between {@code min} and {@code max} of the image side instead of from
         * λ (λ is then always the kept share, and cutmixAlpha is 1 as in timm); {@code 0 <= min < max <= 1}.
         */
        public Builder cutmixMinMax(double min, double max) {
            if (!(min >= 0 && min < max && max <= 1)) {
                throw new IllegalArgumentException("cutmixMinMax must satisfy 0 <= min < max <= 1, got [" + min + ", "
                        + max + "]");
            }
            this.cutmixMinMax = new double[] {min, max};
            return this;
        }

        /** Probability that a draw mixes at all, in [0, 1]. Default 1. */
        public Builder prob(double prob) {
            this.prob = Checks.probability("prob", prob);
            return this;
        }

        /** Probability of CutMix rather than mixup when both alphas are positive, in [0, 1]. Default 0.5. */
        public Builder switchProb(double switchProb) {
            this.switchProb = Checks.probability("switchProb", switchProb);
            return this;
        }

        /** BATCH (default), PAIR or ELEM. */
        public Builder mode(MixMode mode) {
            this.mode = Checks.notNull("mode", mode);
            return this;
        }

        /** Whether λ becomes the kept pixel share after a CutMix box is clipped. Default true. */
        public Builder correctLam(boolean correctLam) {
            this.correctLam = correctLam;
            return this;
        }

        /** ε of the label smoothing applied before mixing, in [0, 1). Default 0.1 (timm's). */
        public Builder labelSmoothing(double labelSmoothing) {
            if (!(labelSmoothing >= 0.0 && labelSmoothing < 1.0)) {
                throw new IllegalArgumentException("labelSmoothing must be in [0, 1), got " + labelSmoothing);
            }
            this.labelSmoothing = labelSmoothing;
            return this;
        }

        /** Number of classes the labels must have: 0 (default) takes it from the labels, else {@code >= 2}. */
        public Builder numClasses(int numClasses) {
            if (numClasses != 0 && numClasses < 2) {
                throw new IllegalArgumentException("numClasses must be 0 (from the labels) or >= 2, got " + numClasses);
            }
            this.numClasses = numClasses;
            return this;
        }

        /** Seed of the draws. Default 42. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** The Mixup; at least one of mixupAlpha, cutmixAlpha and cutmixMinMax must turn mixing on. */
        public Mixup build() {
            return new Mixup(this);
        }
    }
}
