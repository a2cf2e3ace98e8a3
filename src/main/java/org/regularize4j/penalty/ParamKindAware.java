package org.regularize4j.penalty;

/**
 * Implemented by a layer configuration that knows what its parameters are. {@link RegularizationPolicy} asks
 * it first, and falls back to its built-in rules for stock DL4J layers (weight/bias keys of the layer's
 * ParamInitializer, BatchNormalization's gamma/beta/mean/var, layer-norm gains) when it returns null.
 *
 * <p>This is the extension point for custom layers that hold several sub-layers' parameters, such as a
 * residual block with parameters {@code "conv1W"}, {@code "bn1Gamma"}, {@code "bn1Mean"}: return WEIGHT,
 * NORM and STATISTIC for them. The policy then writes each parameter's list through the layer's own
 * {@code getRegularizationByParam} contract: implement {@link PerParameterRegularization} to keep one list
 * per parameter, or extend {@code BaseLayer} and route weights to {@code getRegularization()} and biases to
 * {@code getRegularizationBias()} as DL4J does.
 *
 * <pre>{@code
 * ParamKindAware block = paramName -> paramName.endsWith("W") ? ParamKind.WEIGHT
 *         : paramName.endsWith("Gamma") || paramName.endsWith("Beta") ? ParamKind.NORM
 *         : paramName.endsWith("Mean") || paramName.endsWith("Var") ? ParamKind.STATISTIC : null;
 * }</pre>
 */
@FunctionalInterface
public interface ParamKindAware {

    /**
     * @param paramName a parameter key of this layer (as in its ParamInitializer's paramKeys)
     * @return the parameter's kind, or null to let the policy classify it
     */
    ParamKind kindOf(String paramName);
}
