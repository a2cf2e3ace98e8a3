package org.regularize4j.penalty;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Coupled L2 penalty {@code ½ * l2 * ||w||²}: its gradient {@code l2 * w} is added to the loss gradient before
 * the updater, so momentum and adaptive updaters see it. This is exactly PyTorch's {@code weight_decay=l2} in
 * {@code SGD} and {@code Adam}. Keras's {@code L2(k)} has no ½: it equals {@code L2Penalty(2 * k)}.
 *
 * <p>The score is {@code ½ * l2 * ||w||²}. For decay applied after the updater (AdamW, SGDW) use
 * {@link DecoupledWeightDecay}.
 *
 * <pre>{@code
 * Layer conv = new ConvolutionLayer.Builder(3, 3).nIn(3).nOut(8)
 *         .regularization(List.of(new L2Penalty(5e-4))).build();
 * }</pre>
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
public final class L2Penalty implements Regularization {
    private static final long serialVersionUID = 1L;

    @JsonProperty("l2")
    private final ISchedule l2;

    /** @param l2 coefficient, finite and {@code >= 0} */
    public L2Penalty(double l2) {
        this.l2 = Coefficient.fixed("l2", l2);
    }

    /** @param l2 coefficient schedule (values must stay finite and {@code >= 0}) */
    @JsonCreator
    public L2Penalty(@JsonProperty("l2") ISchedule l2) {
        this.l2 = Coefficient.schedule("l2", l2);
    }

    /** The coefficient schedule. */
    public ISchedule getL2() {
        return l2;
    }

    @Override
    public ApplyStep applyStep() {
        return ApplyStep.BEFORE_UPDATER;
    }

    @Override
    public void apply(INDArray param, INDArray gradView, double lr, int iteration, int epoch) {
        double c = Coefficient.valueAt("l2", l2, iteration, epoch);
        if (c != 0.0) {
            Nd4j.exec(new Axpy(param, gradView, gradView, c));
        }
    }

    @Override
    public double score(INDArray param, int iteration, int epoch) {
        double c = Coefficient.valueAt("l2", l2, iteration, epoch);
        if (c == 0.0) {
            return 0.0;
        }
        double norm2 = param.norm2Number().doubleValue();
        return 0.5 * c * norm2 * norm2;
    }

    @Override
    public L2Penalty clone() {
        return new L2Penalty(l2.clone());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof L2Penalty && l2.equals(((L2Penalty) o).l2);
    }

    @Override
    public int hashCode() {
        return 31 * L2Penalty.class.hashCode() + l2.hashCode();
    }

    @Override
    public String toString() {
        return "L2Penalty(l2=" + Coefficient.format(l2) + ")";
    }
}
