package org.regularize4j.penalty;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Proximal L1 (ISTA): after the updater, soft-thresholding {@code w <- sign(w) * max(|w| - lr * l1, 0)} of
 * the updated weights. Weights whose magnitude falls below the threshold become <b>exactly</b> zero, which the
 * subgradient of {@link L1Penalty} never achieves. With plain SGD this is the proximal gradient method for
 * {@code loss + l1 * sum|w|}; with momentum or adaptive updaters the threshold {@code lr * l1} is the usual
 * heuristic.
 *
 * <p>How it fits DL4J: a POST_UPDATER entry receives the <i>update</i> {@code u} (subtracted from the parameters
 * afterwards) and the scheduled learning rate (1.0 for {@code NoOp}). We set {@code u <- w - prox(w - u)}, so
 * DL4J's {@code w - u} is the thresholded value, and zeros are exact ({@code w - w == 0}). It must be the last
 * post-updater entry of its parameter (a later one would move the zeros again); {@link RegularizationPolicy}
 * puts it last. Under ParallelWrapper's shared-gradients mode updates are threshold-encoded before they are
 * applied, so exact zeros do not survive there: weights end near zero (within a few encoding thresholds), not on
 * it. Parameter averaging keeps a zero wherever every worker zeroed the weight (docs/distributed.md).
 *
 * <p><b>Score:</b> {@code l1 * sum|w|}, the term of the objective this method minimizes. Keep it out of gradient
 * checks (it acts in the updater, not in the gradient).
 *
 * <pre>{@code
 * RegularizationPolicy policy = RegularizationPolicy.builder()
 *         .penalize(Selector.kinds(ParamKind.WEIGHT), new ProximalL1(1e-3))
 *         .build();
 * }</pre>
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
public final class ProximalL1 implements Regularization {
    private static final long serialVersionUID = 1L;

    @JsonProperty("l1")
    private final ISchedule l1;

    /** @param l1 coefficient (the threshold is {@code lr * l1}), finite and {@code >= 0} */
    public ProximalL1(double l1) {
        this.l1 = Coefficient.fixed("l1", l1);
    }

    /** @param l1 coefficient schedule (values must stay finite and {@code >= 0}) */
    @JsonCreator
    public ProximalL1(@JsonProperty("l1") ISchedule l1) {
        this.l1 = Coefficient.schedule("l1", l1);
    }

    /** The coefficient schedule. */
    public ISchedule getL1() {
        return l1;
    }

    @Override
    public ApplyStep applyStep() {
        return ApplyStep.POST_UPDATER;
    }

    /** {@code update <- w - softThreshold(w - update, lr * l1)}. */
    @Override
    public void apply(INDArray param, INDArray update, double lr, int iteration, int epoch) {
        double threshold = lr * Coefficient.valueAt("l1", l1, iteration, epoch);
        if (threshold == 0.0) {
            return;
        }
        INDArray z = param.sub(update);                           // the weights DL4J would write
        INDArray shrunk = Transforms.abs(z, true).subi(threshold); // |z| - t
        Transforms.max(shrunk, 0.0, false);                        // max(|z| - t, 0), exactly 0 below t
        shrunk.muli(Transforms.sign(z, false));                    // prox(z)
        update.assign(param).subi(shrunk);                         // u = w - prox(z)
    }

    /** {@code l1 * sum|w|}. */
    @Override
    public double score(INDArray param, int iteration, int epoch) {
        double c = Coefficient.valueAt("l1", l1, iteration, epoch);
        return c == 0.0 ? 0.0 : c * param.norm1Number().doubleValue();
    }

    @Override
    public ProximalL1 clone() {
        return new ProximalL1(l1.clone());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProximalL1 && l1.equals(((ProximalL1) o).l1);
    }

    @Override
    public int hashCode() {
        return 31 * ProximalL1.class.hashCode() + l1.hashCode();
    }

    @Override
    public String toString() {
        return "ProximalL1(l1=" + Coefficient.format(l1) + ")";
    }
}
