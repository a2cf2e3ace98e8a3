package org.regularize4j.penalty;

import org.nd4j.linalg.learning.regularization.Regularization;

import java.util.List;

/**
 * Implemented by a layer configuration that keeps one penalty list per parameter (DL4J's {@code BaseLayer}
 * keeps one for all weights and one for all biases). {@link RegularizationPolicy} then writes each parameter's
 * list with {@link #setRegularizationByParam}, and checks that {@code getRegularizationByParam(paramName)}
 * returns exactly that list afterwards. {@link PenalizedBatchNormalization} is one; a custom residual block
 * holding conv and batch-norm parameters should be another, so that every parameter can get its own
 * penalties (and its own {@link L2SP} instance). {@link PenalizedBatchNormalization} shows what such a layer
 * needs: a {@code Map<String, List<Regularization>>} field annotated {@code @JsonProperty} (so that the lists
 * survive JSON and ModelSerializer), a deep copy in {@code clone()}, and the map in {@code equals}.
 *
 * <pre>{@code
 * PenalizedBatchNormalization bn = PenalizedBatchNormalization.of(new BatchNormalization.Builder().nOut(8).build());
 * bn.setRegularizationByParam("gamma", List.of(new L2Penalty(1e-5)));
 * List<Regularization> penalties = bn.getRegularizationByParam("gamma");   // [L2Penalty(l2=1.0E-5)]
 * }</pre>
 */
public interface PerParameterRegularization {

    /**
     * Sets the penalties of one parameter (an empty list: none).
     *
     * @throws IllegalArgumentException if the parameter cannot be penalized (for example a running statistic)
     */
    void setRegularizationByParam(String paramName, List<Regularization> penalties);
}
