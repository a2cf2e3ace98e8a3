package org.regularize4j.depth;

/**
 * How many random decisions stochastic depth draws per mini-batch.
 *
 * <ul>
 *   <li>{@link #ROW}: one Bernoulli draw per example (timm's {@code drop_path}, torchvision's
 *       {@code mode="row"}, the seed article's {@code drop_connect}). The default.</li>
 *   <li>{@link #BATCH}: one draw for the whole mini-batch, as in Huang et al.'s original Torch code. On
 *       {@link DropPathVertex} and {@link StochasticDepthVertex} the branch is still computed and then
 *       masked (like torchvision's {@code mode="batch"}); residual blocks built by
 *       {@code org.regularize4j.resnet.ResNet} skip a dropped branch entirely.</li>
 * </ul>
 *
 * <pre>{@code
 * GraphVertex v = new StochasticDepthVertex(0.2, DropMode.BATCH);
 * }</pre>
 */
public enum DropMode {
    /** One decision per example. */
    ROW,
    /** One decision per mini-batch. */
    BATCH
}
