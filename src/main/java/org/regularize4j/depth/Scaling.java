package org.regularize4j.depth;

/**
 * Where stochastic depth compensates for the branches it drops, so that the expected output at training
 * time equals the output at inference.
 *
 * <ul>
 *   <li>{@link #INVERTED} (default; the seed article, timm, torchvision): kept branches are divided by
 *       keepProb while training; inference is the identity on the branch.</li>
 *   <li>{@link #AT_INFERENCE} (Huang et al. 2016, TF Addons, keras_cv): training keeps or drops the branch
 *       unscaled; inference multiplies the branch by its survival probability.</li>
 * </ul>
 * The two are equivalent in expectation; they differ in which phase sees unscaled activations, which
 * matters when loading weights trained under the other convention.
 *
 * <pre>{@code
 * GraphVertex v = new StochasticDepthVertex(0.2, DropMode.ROW, Scaling.AT_INFERENCE, null);
 * }</pre>
 */
public enum Scaling {
    /** Divide kept branches by keepProb while training; identity at inference. */
    INVERTED,
    /** Train unscaled; multiply the branch by survivalProb at inference. */
    AT_INFERENCE
}
