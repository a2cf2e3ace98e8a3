package org.regularize4j.penalty;

import org.nd4j.linalg.learning.regularization.Regularization;
import org.regularize4j.util.Checks;

import java.util.Arrays;

/**
 * {@link PenaltyFactory#of(Regularization)}: a copy of one penalty for every parameter ({@link OrthogonalPenalty}:
 * a copy bound to the parameter's shape).
 */
final class FixedPenalty implements PenaltyFactory {
    private static final long serialVersionUID = 1L;
    private final Regularization penalty;

    FixedPenalty(Regularization penalty) {
        this.penalty = Checks.notNull("penalty", penalty);
    }

    @Override
    public Regularization forParam(ParamInfo param) {
        if (penalty instanceof L2SP) {
            ((L2SP) penalty).checkFits(param);
        }
        if (penalty instanceof OrthogonalPenalty) {
            return ((OrthogonalPenalty) penalty).boundTo(param.shape(), param.order());
        }
        return penalty.clone();
    }

    @Override
    public boolean singleParameter() {
        return penalty instanceof L2SP;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FixedPenalty && penalty.equals(((FixedPenalty) o).penalty);
    }

    @Override
    public int hashCode() {
        return penalty.hashCode();
    }

    @Override
    public String toString() {
        return penalty instanceof L2SP ? ((L2SP) penalty).toString() + " bound to shape "
                + Arrays.toString(((L2SP) penalty).getReference().shape()) : penalty.toString();
    }
}
