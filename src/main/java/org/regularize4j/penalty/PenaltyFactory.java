package org.regularize4j.penalty;

import org.nd4j.linalg.learning.regularization.Regularization;

import java.io.Serializable;

/**
 * Makes the penalty of one parameter. A {@link Rule} holds factories, not penalties, so that a penalty that
 * must be bound to one parameter ({@link L2SP}, whose reference weights differ per parameter) gets its own
 * instance for each parameter it covers. Plain penalties are wrapped by {@link #of(Regularization)}, which
 * hands each parameter a copy.
 *
 * <pre>{@code
 * PenaltyFactory plain = PenaltyFactory.of(new L2Penalty(1e-4));
 * PenaltyFactory perParameter = param -> new L2Penalty(param.kind() == ParamKind.WEIGHT ? 1e-4 : 1e-5);
 * }</pre>
 */
@FunctionalInterface
public interface PenaltyFactory extends Serializable {

    /** The penalty for this parameter (a new or an immutable instance). */
    Regularization forParam(ParamInfo param);

    /**
     * True if this factory can serve only one parameter (an {@link L2SP} with fixed reference weights): a rule
     * holding it must then select exactly one parameter.
     */
    default boolean singleParameter() {
        return false;
    }

    /** A factory giving every parameter a copy of {@code penalty}. */
    static PenaltyFactory of(Regularization penalty) {
        return new FixedPenalty(penalty);
    }
}
