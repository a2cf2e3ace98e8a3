package org.regularize4j.loss;

import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.LossUtil;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.serde.jackson.shaded.NDArrayTextDeSerializer;
import org.nd4j.serde.jackson.shaded.NDArrayTextSerializer;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonInclude;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.nd4j.shade.jackson.databind.annotation.JsonDeserialize;
import org.nd4j.shade.jackson.databind.annotation.JsonSerialize;

import java.util.Arrays;
import java.util.Objects;

/**
 * Cross-entropy against label-smoothed targets {@code t = (1 − ε)·y + ε/K} (K classes), for a softmax
 * {@code OutputLayer} or {@code LossLayer}: {@code L = −Σ_k w_k t_k log p_k} per example, p the softmax of the
 * layer's pre-activation. With one-hot labels it is timm's {@code LabelSmoothingCrossEntropy(smoothing)}
 * ({@code (1 − ε)·nll + ε·mean_k(−log p_k)}) and PyTorch's {@code CrossEntropyLoss(label_smoothing=ε)}; with
 * soft labels (Mixup, CutMix) smoothing the mixed target equals mixing the smoothed targets, which is how
 * timm's {@code mixup_target} composes the two. Smoothing keeps the logits from growing without bound to fit
 * a one-hot target, which regularizes and calibrates the classifier (Szegedy et al. 2016).
 *
 * <p>Per-example masks ({@code [n, 1]}, also the per-time-step masks of a {@code RnnOutputLayer}) and per-output
 * weights ({@code [1, K]}) act as in {@code LossMCXENT}, which also rejects per-output masks with a softmax; score,
 * gradient and {@link #computeScoreArray} are computed from one log-softmax, so they agree exactly:
 * {@code dL/dz_j = p_j Σ_k a_k − a_j} with {@code a_k = w_k m t_k}. ε = 0 is plain (weighted) cross-entropy.
 *
 * <pre>{@code
 * OutputLayer out = new OutputLayer.Builder(new LossLabelSmoothing(0.1))   // timm: LabelSmoothingCrossEntropy(0.1)
 *         .nOut(10).activation(Activation.SOFTMAX).build();
 * }</pre>
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class LossLabelSmoothing implements ILossFunction {
    private static final long serialVersionUID = 1L;

    @JsonProperty("smoothing")
    private final double smoothing;
    @JsonProperty("weights")
    @JsonSerialize(using = NDArrayTextSerializer.class)
    @JsonDeserialize(using = NDArrayTextDeSerializer.class)
    private final INDArray weights;

    /** @param smoothing ε, in [0, 1) */
    public LossLabelSmoothing(double smoothing) {
        this(smoothing, null);
    }

    /**
     * @param smoothing ε, in [0, 1)
     * @param weights   per-output weights, a row vector of length K with finite entries {@code >= 0}; null for none
     */
    @JsonCreator
    public LossLabelSmoothing(@JsonProperty("smoothing") double smoothing,
                              @JsonProperty("weights") INDArray weights) {
        if (!(smoothing >= 0.0 && smoothing < 1.0)) {
            throw new IllegalArgumentException("smoothing must be in [0, 1), got " + smoothing);
        }
        if (weights != null) {
            if (!weights.isRowVectorOrScalar()) {
                throw new IllegalArgumentException("weights must be a row vector [1, K], got shape "
                        + Arrays.toString(weights.shape()));
            }
            double min = weights.minNumber().doubleValue();
            double max = weights.maxNumber().doubleValue();
            if (!(min >= 0.0) || !Double.isFinite(max)) {
                throw new IllegalArgumentException("weights must be finite and >= 0, got "
                        + Arrays.toString(weights.toDoubleVector()));
            }
        }
        this.smoothing = smoothing;
        this.weights = weights;
    }

    public double getSmoothing() {
        return smoothing;
    }

    /** The per-output weights, or null. */
    public INDArray getWeights() {
        return weights;
    }

    /** The targets the loss fits: {@code (1 − ε)·labels + ε/K}, a new array. */
    public INDArray smoothedTargets(INDArray labels) {
        long k = labels.size(labels.rank() - 1);
        return labels.mul(1.0 - smoothing).addi(smoothing / k);
    }

    /** Per element {@code a = w ⊙ m ⊙ t} and {@code log p}: the two factors of the score. */
    private INDArray[] factors(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        if (!(activationFn instanceof ActivationSoftmax)) {
            throw new IllegalArgumentException("LossLabelSmoothing needs the softmax activation (activationFn),"
                    + " got " + activationFn);
        }
        if (preOutput.rank() != 2 || !Arrays.equals(labels.shape(), preOutput.shape())) {
            throw new IllegalArgumentException("labels and preOutput must have the same shape [n, K], got "
                    + Arrays.toString(labels.shape()) + " and " + Arrays.toString(preOutput.shape()));
        }
        if (weights != null && weights.length() != preOutput.size(1)) {
            throw new IllegalArgumentException("weights must have length K = " + preOutput.size(1) + ", got "
                    + weights.length());
        }
        INDArray y = labels.castTo(preOutput.dataType());
        double minLabel = y.minNumber().doubleValue();
        if (!(minLabel >= 0.0)) {
            throw new IllegalArgumentException("labels must be >= 0 (one-hot or soft targets), got " + minLabel);
        }
        INDArray a = smoothedTargets(y);
        if (weights != null) {
            a.muliRowVector(weights.castTo(a.dataType()));
        }
        if (mask != null) {
            if (LossUtil.isPerOutputMasking(a, mask)) {
                throw new IllegalArgumentException("mask must be per example [n, 1], got shape "
                        + Arrays.toString(mask.shape()) + ": DL4J's output layers apply a per-output mask to the"
                        + " pre-activations, which a softmax over all outputs does not survive (LossMCXENT rejects"
                        + " it too)");
            }
            LossUtil.applyMask(a, mask);
        }
        INDArray shifted = preOutput.subColumnVector(preOutput.max(true, 1));
        INDArray logSumExp = Transforms.log(Transforms.exp(shifted, true).sum(true, 1), false);
        INDArray logP = shifted.subiColumnVector(logSumExp);
        return new INDArray[] {a, logP};
    }

    private static INDArray gradient(INDArray a, INDArray logP) {
        INDArray p = Transforms.exp(logP, true);
        return p.muliColumnVector(a.sum(true, 1)).subi(a);
    }

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask,
                               boolean average) {
        INDArray[] f = factors(labels, preOutput, activationFn, mask);
        double score = -f[0].mul(f[1]).sumNumber().doubleValue();
        return average ? score / preOutput.size(0) : score;
    }

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        INDArray[] f = factors(labels, preOutput, activationFn, mask);
        return f[0].muli(f[1]).sum(true, 1).negi();
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        INDArray[] f = factors(labels, preOutput, activationFn, mask);
        return gradient(f[0], f[1]);
    }

    @Override
    public Pair<Double, INDArray> computeGradientAndScore(INDArray labels, INDArray preOutput,
                                                          IActivation activationFn, INDArray mask, boolean average) {
        INDArray[] f = factors(labels, preOutput, activationFn, mask);
        double score = -f[0].mul(f[1]).sumNumber().doubleValue();
        return new Pair<>(average ? score / preOutput.size(0) : score, gradient(f[0], f[1]));
    }

    @Override
    public String name() {
        return toString();
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (o == null || o.getClass() != getClass()) {
            return false;
        }
        LossLabelSmoothing that = (LossLabelSmoothing) o;
        return Double.compare(smoothing, that.smoothing) == 0 && Objects.equals(weights, that.weights);
    }

    @Override
    public int hashCode() {
        return Objects.hash(smoothing, weights == null ? 0 : weights.length());   // equals compares weights within 1e-5
    }

    @Override
    public String toString() {
        return "LossLabelSmoothing(smoothing=" + smoothing + (weights == null ? "" : ", weights=" + weights) + ")";
    }
}
