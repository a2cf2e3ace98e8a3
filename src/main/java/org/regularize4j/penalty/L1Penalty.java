package org.regularize4j.penalty;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.Axpy;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * L1 penalty {@code l1 * sum|w|}, added to the gradient before the updater as the subgradient
 * {@code l1 * sign(w)} (0 at w = 0). Like any subgradient method it makes weights small but almost never
 * exactly zero; for exact zeros use {@link ProximalL1}.
 *
 * <p>Same formula as Keras {@code regularizers.L1(l1)} and DL4J's {@code L1Regularization}; the score is the
 * penalty itself, so the network's score is data loss + {@code l1 * sum|w|}.
 *
 * <pre>{@code
 * Layer layer = new DenseLayer.Builder().nIn(4).nOut(3)
 *         .regularization(List.of(new L1Penalty(1e-4))).build();
 * }</pre>
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
public final class L1Penalty implements Regularization {
    private static final long serialVersionUID = 1L;

    @JsonProperty("l1")
    private final ISchedule l1;

    /** @param l1 coefficient, finite and {@code >= 0} */
    public L1Penalty(double l1) {
        this.l1 = Coefficient.fixed("l1", l1);
    }

    /** @param l1 coefficient schedule (values must stay finite and {@code >= 0}) */
    @JsonCreator
    public L1Penalty(@JsonProperty("l1") ISchedule l1) {
        this.l1 = Coefficient.schedule("l1", l1);
    }

    /** The coefficient schedule. */
    public ISchedule getL1() {
        return l1;
    }

    @Override
    public ApplyStep applyStep() {
        return ApplyStep.BEFORE_UPDATER;
    }

    @Override
    public void apply(INDArray param, INDArray gradView, double lr, int iteration, int epoch) {
        double c = Coefficient.valueAt("l1", l1, iteration, epoch);
        if (c != 0.0) {
            Nd4j.exec(new Axpy(Transforms.sign(param, true), gradView, gradView, c));
        }
    }

    @Override
    public double score(INDArray param, int iteration, int epoch) {
        double c = Coefficient.valueAt("l1", l1, iteration, epoch);
        return c == 0.0 ? 0.0 : c * param.norm1Number().doubleValue();
    }

    @Override
    public L1Penalty clone() {
        return new L1Penalty(l1.clone());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof L1Penalty && l1.equals(((L1Penalty) o).l1);
    }

    @Override
    public int hashCode() {
        return 31 * L1Penalty.class.hashCode() + l1.hashCode();
    }

    @Override
    public String toString() {
        return "L1Penalty(l1=" + Coefficient.format(l1) + ")";
    }
}
