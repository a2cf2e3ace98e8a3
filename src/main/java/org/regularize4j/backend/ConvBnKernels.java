package org.regularize4j.backend;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The kernels of the ResNet builder's conv + batch-norm layers, in one interface with one implementation per
 * {@link KernelPath}: convolution, batch norm (training forward, inference, backward), the residual block's output
 * and ReLU, the zero-padded shortcut, and the layout of the activations inside the layer. A layer gets its
 * implementation from {@link KernelPaths#select} once, when it is created, and never tests availability again.
 *
 * <p>Activations inside a layer are in the path's layout: {@code [n, h, w, c]} for {@link KernelPath#CHANNELS_LAST},
 * {@code [n, c, h, w]} otherwise ({@link #channelsLast()}); DL4J always sees {@code [n, c, h, w]} ({@link #toOuter}).
 * Arrays are 'c'-contiguous unless a method says otherwise; outputs are supplied by the caller (so that they land in
 * the right DL4J workspace). Batch statistics are double arrays of length C; {@code gamma}, {@code beta} are the
 * layer's parameter views.
 *
 * <pre>{@code
 * ConvBnKernels k = KernelPaths.select(DataType.FLOAT);
 * ConvBnKernels.Convolution conv = k.convolution(3, 1, 1);   // 3x3, stride 1, padding 1
 * }</pre>
 */
public interface ConvBnKernels {

    /** One convolution (no bias) of a layer, with whatever per-shape state the path keeps (oneDNN plans). */
    interface Convolution extends AutoCloseable {
        /** The output shape, in the path's layout, for an input {@code x} in that layout. */
        long[] outShape(INDArray x, long outChannels);

        /** {@code y = conv(x, w)}; {@code w} is {@code [outC, inC, k, k]}. */
        void forward(INDArray x, INDArray w, INDArray y);

        /** Input gradient into {@code dx} and weight gradient into {@code dw} (overwritten). */
        void backward(INDArray x, INDArray w, INDArray dy, INDArray dx, INDArray dw);

        /**
         * Whether {@link #forwardFused} runs here (oneDNN's inference primitives with post-ops on the channels-last
         * path; the other paths compute convolution and batch norm apart).
         */
        default boolean supportsFused() {
            return false;
        }

        /**
         * Inference in one pass: {@code y = conv(x, w) + bias}, plus the previous contents of {@code y} when
         * {@code accumulate}, then ReLU'd when {@code relu} (with batch norm folded into {@code w} and
         * {@code bias} by the caller). Only where {@link #supportsFused()}.
         *
         * @throws UnsupportedOperationException where it does not
         */
        default void forwardFused(INDArray x, INDArray w, INDArray bias, boolean accumulate, boolean relu,
                                  INDArray y) {
            throw new UnsupportedOperationException("this kernel path has no fused inference convolution");
        }

        /** How many per-shape plans it holds (oneDNN primitives of the channels-last path; 0 when stateless). */
        default int cachedPlans() {
            return 0;
        }

        /** Releases native state (a no-op where there is none). */
        @Override
        void close();
    }

    /** This implementation's path. */
    KernelPath path();

    /** Whether activations inside the layer are {@code [n, h, w, c]}. */
    boolean channelsLast();

    /** A convolution with this window, stride and symmetric padding. */
    Convolution convolution(int kernel, int stride, int padding);

    /**
     * An array DL4J hands the layer ({@code [n, c, h, w]}, of any memory layout or type: its input or the gradient at
     * its output) as a 'c'-contiguous array of the path's layout and of {@code dataType}: the array itself, a view of
     * it, or a copy created as {@code type}.
     */
    INDArray toInner(INDArray input, org.nd4j.linalg.api.buffer.DataType dataType, ArrayType type,
                     LayerWorkspaceMgr mgr);

    /** The {@code [n, c, h, w]} array DL4J sees for an array of the path's layout (a view, no copy). */
    INDArray toOuter(INDArray inner);

    /** Training forward: batch mean and biased variance into {@code mean}/{@code var}, then the normalization. */
    void batchNormTraining(INDArray x, INDArray gamma, INDArray beta, double eps, boolean relu, INDArray y,
                           double[] mean, double[] var);

    /** {@code y = gamma (x − mean)/sqrt(var + eps) + beta}, ReLU'd if asked, with the given statistics. */
    void batchNormInference(INDArray x, double[] mean, double[] var, INDArray gamma, INDArray beta, double eps,
                            boolean relu, INDArray y);

    /**
     * Training backward from the output gradient {@code dyScale · exampleScales[i] · dy[i]} per example i
     * ({@code exampleScales} null: none). With {@code relu}, {@code y} is the forward output and the gradient passes
     * where {@code y > 0}. Writes {@code dx}, {@code dGamma}, {@code dBeta}; never writes {@code dy}; scratch arrays
     * go into {@code mgr}'s BP_WORKING_MEM.
     */
    void batchNormBackward(INDArray x, INDArray y, boolean relu, INDArray dy, double dyScale, float[] exampleScales,
                           double[] mean, double[] var, INDArray gamma, double eps, INDArray dx, INDArray dGamma,
                           INDArray dBeta, LayerWorkspaceMgr mgr);

    /**
     * A residual block's output: {@code out[i] = relu(scales[i] · branch[i] + shortcut[i])} per example i
     * ({@code scales} null: 1), ReLU as libnd4j's ({@code v < 0 ? 0 : v}).
     */
    void blockOutput(INDArray branch, float[] scales, INDArray shortcut, INDArray out);

    /** {@code out = max(x, 0)}. */
    void relu(INDArray x, INDArray out);

    /** {@code dx = dy} where the ReLU output {@code y} is positive, else 0; returns dx. */
    INDArray reluBackward(INDArray y, INDArray dy, INDArray dx);

    /** {@code out = x + y} ({@code out} may be {@code x} or {@code y}). */
    void add(INDArray x, INDArray y, INDArray out);

    /**
     * The option-A shortcut: the input subsampled by {@code stride}, its channels placed at {@code before} in
     * {@code out}, zeros elsewhere (every element of {@code out} is written).
     */
    void zeroPadShortcut(INDArray x, int stride, int before, INDArray out);

    /** Its backward pass into {@code dx}: added when {@code accumulate}, else overwritten. */
    void zeroPadShortcutBackward(INDArray d, int stride, int before, INDArray dx, boolean accumulate);

    /** Sets every element to +0. */
    void zero(INDArray a);

    /** {@code dst = src} (same shape and layout, not overlapping). */
    void copy(INDArray src, INDArray dst);
}
