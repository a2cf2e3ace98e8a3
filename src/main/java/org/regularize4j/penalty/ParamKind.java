package org.regularize4j.penalty;

/**
 * What a parameter is, for the rules of a {@link RegularizationPolicy}. The policy classifies every parameter
 * of every layer; a layer can state the kinds of its own parameters by implementing {@link ParamKindAware}.
 *
 * <ul>
 * <li>{@link #WEIGHT}: kernels and weight matrices (dense {@code W}, conv {@code W}, recurrent {@code RW},
 *     depthwise/pointwise kernels, embeddings).</li>
 * <li>{@link #BIAS}: additive biases.</li>
 * <li>{@link #NORM}: gain and shift of batch/layer normalization (BatchNormalization {@code gamma}/{@code beta},
 *     the layer-norm gain {@code g} of DenseLayer, {@code gx}/{@code gr} of SimpleRnn). Never the running
 *     statistics.</li>
 * <li>{@link #STATISTIC}: running mean/variance of BatchNormalization: not trained by gradient, never
 *     penalized (a rule that tries fails).</li>
 * <li>{@link #OTHER}: anything else with a gradient (PReLU slopes, CenterLoss centres, custom layers' extras).</li>
 * </ul>
 *
 * <pre>{@code
 * Selector weightsOnly = Selector.kinds(ParamKind.WEIGHT);
 * boolean penalizable = ParamKind.NORM.isPenalizable();   // true; STATISTIC is the only kind that is not
 * }</pre>
 */
public enum ParamKind {
    WEIGHT, BIAS, NORM, STATISTIC, OTHER;

    /** False only for {@link #STATISTIC}. */
    public boolean isPenalizable() {
        return this != STATISTIC;
    }
}
