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
 * Elastic net {@code l1 * sum|w| + ½ * l2 * ||w||²}, added to the gradient before the updater as
 * {@code l1 * sign(w) + l2 * w}: {@link L1Penalty} and {@link L2Penalty} in one entry (one L1 and one L2 per
 * parameter is what a {@link RegularizationPolicy} allows). Keras's {@code L1L2(l1, k)} has no ½ on the L2
 * part: it equals {@code ElasticNet(l1, 2 * k)}.
 *
 * <pre>{@code
 * Regularization penalty = new ElasticNet(1e-5, 1e-4);
 * double score = penalty.score(Nd4j.createFromArray(1.0, -2.0), 0, 0);   // 1e-5 * 3 + 0.5 * 1e-4 * 5
 * }</pre>
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
public final class ElasticNet implements Regularization {
    private static final long serialVersionUID = 1L;

    @JsonProperty("l1")
    private final ISchedule l1;
    @JsonProperty("l2")
    private final ISchedule l2;

    /**
     * @param l1 L1 coefficient, finite and {@code >= 0}
     * @param l2 L2 coefficient (with the ½), finite and {@code >= 0}
     */
    public ElasticNet(double l1, double l2) {
        this.l1 = Coefficient.fixed("l1", l1);
        this.l2 = Coefficient.fixed("l2", l2);
    }

    /** Scheduled coefficients (values must stay finite and {@code >= 0}). */
    @JsonCreator
    public ElasticNet(@JsonProperty("l1") ISchedule l1, @JsonProperty("l2") ISchedule l2) {
        this.l1 = Coefficient.schedule("l1", l1);
        this.l2 = Coefficient.schedule("l2", l2);
    }

    /** The L1 coefficient schedule. */
    public ISchedule getL1() {
        return l1;
    }

    /** The L2 coefficient schedule. */
    public ISchedule getL2() {
        return l2;
    }

    @Override
    public ApplyStep applyStep() {
        return ApplyStep.BEFORE_UPDATER;
    }

    @Override
    public void apply(INDArray param, INDArray gradView, double lr, int iteration, int epoch) {
        double c1 = Coefficient.valueAt("l1", l1, iteration, epoch);
        double c2 = Coefficient.valueAt("l2", l2, iteration, epoch);
        if (c1 != 0.0) {
            Nd4j.exec(new Axpy(Transforms.sign(param, true), gradView, gradView, c1));
        }
        if (c2 != 0.0) {
            Nd4j.exec(new Axpy(param, gradView, gradView, c2));
        }
    }

    @Override
    public double score(INDArray param, int iteration, int epoch) {
        double c1 = Coefficient.valueAt("l1", l1, iteration, epoch);
        double c2 = Coefficient.valueAt("l2", l2, iteration, epoch);
        double s = 0.0;
        if (c1 != 0.0) {
            s += c1 * param.norm1Number().doubleValue();
        }
        if (c2 != 0.0) {
            double norm2 = param.norm2Number().doubleValue();
            s += 0.5 * c2 * norm2 * norm2;
        }
        return s;
    }

    @Override
    public ElasticNet clone() {
        return new ElasticNet(l1.clone(), l2.clone());
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ElasticNet)) {
            return false;
        }
        ElasticNet that = (ElasticNet) o;
        return l1.equals(that.l1) && l2.equals(that.l2);
    }

    @Override
    public int hashCode() {
        return (31 * ElasticNet.class.hashCode() + l1.hashCode()) * 31 + l2.hashCode();
    }

    @Override
    public String toString() {
        return "ElasticNet(l1=" + Coefficient.format(l1) + ", l2=" + Coefficient.format(l2) + ")";
    }
}
