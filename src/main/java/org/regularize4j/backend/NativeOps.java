package org.regularize4j.backend;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinearDerivative;
import org.nd4j.linalg.api.ops.impl.summarystats.Variance;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The libnd4j kernels that ResNets spend their time in, called directly: {@code conv2d}, {@code conv2d_bp},
 * {@code batchnorm}, {@code batchnorm_bp}, ReLU. With the {@code linux-x86_64-onednn-avx2} build of
 * nd4j-native and float arrays they run on oneDNN; otherwise (double precision, another native build)
 * libnd4j's generic C++ code gives the same results, slower. DL4J M2.1's own {@code ConvolutionLayer} does
 * not reach these kernels by default (its oneDNN helper is disabled and its availability check is broken);
 * see {@link NativeBackend}.
 *
 * <p>All outputs are supplied by the caller (so that they land in the right DL4J workspace). Layouts:
 * activations NCHW, convolution weights {@code [outC, inC, kH, kW]} (DL4J's layout), explicit symmetric
 * padding (PyTorch's {@code padding=}), no bias.
 *
 * <pre>{@code
 * INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 8, 8);
 * INDArray w = Nd4j.rand(DataType.FLOAT, 4, 3, 3, 3);
 * INDArray y = Nd4j.create(DataType.FLOAT, 2, 4, 8, 8);
 * NativeOps.conv2d(x, w, 1, 1, y);   // 3x3, stride 1, padding 1
 * }</pre>
 */
public final class NativeOps {
    private NativeOps() {
    }

    /** Output size of a convolution or pooling window along one axis. */
    public static long outSize(long in, int kernel, int stride, int padding) {
        return (in + 2L * padding - kernel) / stride + 1;
    }

    private static int[] convArgs(INDArray w, int stride, int padding) {
        int kH = (int) w.size(2);
        int kW = (int) w.size(3);
        // kH, kW, sH, sW, pH, pW, dH, dW, paddingMode (0 = explicit), dataFormat (0 = NCHW), wFormat (1 = OIYX)
        return new int[] {kH, kW, stride, stride, padding, padding, 1, 1, 0, 0, 1};
    }

    /** {@code out = conv2d(x, w)} with the given stride and symmetric padding. */
    public static INDArray conv2d(INDArray x, INDArray w, int stride, int padding, INDArray out) {
        Nd4j.exec(DynamicCustomOp.builder("conv2d").addInputs(contiguous(x), w).addOutputs(out)
                .addIntegerArguments(convArgs(w, stride, padding)).build());
        return out;
    }

    /**
     * Backward pass of {@link #conv2d}: writes the input gradient into {@code dx} and the weight gradient into
     * {@code dw} (the kernel always computes both).
     */
    public static void conv2dBackprop(INDArray x, INDArray w, INDArray dOut, int stride, int padding, INDArray dx,
                                      INDArray dw) {
        INDArray xc = contiguous(x);
        INDArray dOutC = contiguous(dOut);
        long batch = x.size(0);
        if (!splitsBackward(x, w, stride) || !isCContiguous(dx)) {
            convBackprop(xc, w, dOutC, stride, padding, dx, dw);
            return;
        }
        // From about 15 examples at 32x32 (the choice grows with batch x image size), oneDNN 2.3 inside libnd4j
        // computes the input gradient of a 3x3 stride-1 convolution with Winograd, which at 16 channels takes
        // 1.7-4.6 ms per call where its direct kernel on chunks takes 0.7 ms in all (docs/performance.md). The
        // chunks' weight gradients are summed.
        INDArray part = null;
        for (long from = 0; from < batch; from += SPLIT_CHUNK) {
            long to = Math.min(batch, from + SPLIT_CHUNK);
            INDArrayIndex rows = NDArrayIndex.interval(from, to);
            INDArray dwChunk = dw;
            if (from > 0) {
                if (part == null) {
                    part = Nd4j.createUninitialized(dw.dataType(), dw.shape(), 'c');
                }
                dwChunk = part;
            }
            convBackprop(xc.get(rows), w, dOutC.get(rows), stride, padding, dx.get(rows), dwChunk);
            if (from > 0) {
                dw.addi(part);
            }
        }
    }

    private static void convBackprop(INDArray x, INDArray w, INDArray dOut, int stride, int padding, INDArray dx,
                                     INDArray dw) {
        Nd4j.exec(DynamicCustomOp.builder("conv2d_bp").addInputs(x, w, dOut)
                .addOutputs(dx, dw).addIntegerArguments(convArgs(w, stride, padding)).build());
    }

    /**
     * Examples per call when {@link #conv2dBackprop} splits a batch: at 16 channels and 32x32 oneDNN 2.3 takes its
     * direct kernel up to 14 examples and Winograd from 15 (13: one to spare; a batch of 64 takes 5 calls).
     */
    static final int SPLIT_CHUNK = 13;

    /** Widest convolution (input and output channels) whose backward pass is split into chunks. */
    static final long SPLIT_MAX_CHANNELS = 16;

    private static volatile boolean splitBackward =
            Boolean.parseBoolean(System.getProperty("regularize4j.conv.splitBackward", "true"));

    /**
     * Whether {@link #conv2dBackprop} runs a narrow 3x3 stride-1 convolution's backward pass on chunks of
     * {@value #SPLIT_CHUNK} examples (default true; system property {@code regularize4j.conv.splitBackward}).
     */
    public static void setSplitBackward(boolean enabled) {
        splitBackward = enabled;
    }

    /** See {@link #setSplitBackward}. */
    public static boolean isSplitBackward() {
        return splitBackward;
    }

    /**
     * Whether {@link #conv2dBackprop} splits this convolution's batch: float on oneDNN, 3x3, stride 1, at most
     * {@value #SPLIT_MAX_CHANNELS} input and output channels, more than {@value #SPLIT_CHUNK} examples.
     */
    static boolean splitsBackward(INDArray x, INDArray w, int stride) {
        return splitBackward && stride == 1 && w.size(2) == 3 && w.size(3) == 3 && x.size(0) > SPLIT_CHUNK
                && w.size(0) <= SPLIT_MAX_CHANNELS && w.size(1) <= SPLIT_MAX_CHANNELS && usesOneDnn(x.dataType());
    }

    /**
     * Batch statistics over (N, H, W) per channel: {@code mean} and the biased variance {@code var}, both
     * rank 1 of length C.
     */
    public static void batchMoments(INDArray x, INDArray mean, INDArray var) {
        x.mean(mean, 0, 2, 3);
        Nd4j.exec(new Variance(x, var, false, 0, 2, 3));
    }

    /** {@code out = gamma * (x - mean) / sqrt(var + eps) + beta}, per channel (axis 1); vectors of length C. */
    public static INDArray batchNorm(INDArray x, INDArray mean, INDArray var, INDArray gamma, INDArray beta,
                                     double eps, INDArray out) {
        Nd4j.exec(DynamicCustomOp.builder("batchnorm").addInputs(contiguous(x), mean, var, gamma, beta)
                .addOutputs(out).addIntegerArguments(1, 1, 1).addFloatingPointArguments(eps).build());
        return out;
    }

    /**
     * Backward pass of {@link #batchNorm} with batch statistics (the full gradient, through the mean and
     * variance): input gradient into {@code dx}, and {@code dGamma}, {@code dBeta}.
     */
    public static void batchNormBackprop(INDArray x, INDArray mean, INDArray var, INDArray gamma, INDArray beta,
                                         INDArray dOut, double eps, INDArray dx, INDArray dGamma, INDArray dBeta) {
        long c = mean.length();
        INDArray dMean = Nd4j.createUninitialized(mean.dataType(), c); // always zero: folded into dx
        INDArray dVar = Nd4j.createUninitialized(mean.dataType(), c);
        Nd4j.exec(DynamicCustomOp.builder("batchnorm_bp")
                .addInputs(contiguous(x), mean, var, gamma, beta, contiguous(dOut))
                .addOutputs(dx, dMean, dVar, dGamma, dBeta)
                .addIntegerArguments(1, 1, 1).addFloatingPointArguments(eps).build());
    }

    /** {@code out = max(x, 0)} in one pass ({@code out} of x's shape); returns out. */
    public static INDArray relu(INDArray x, INDArray out) {
        Nd4j.getExecutioner().exec(new RectifiedLinear(x, out, 0.0));
        return out;
    }

    /** In-place ReLU. */
    public static INDArray reluInPlace(INDArray x) {
        Nd4j.getExecutioner().exec(new RectifiedLinear(x, x, 0.0));
        return x;
    }

    /**
     * {@code dx = dOut where out > 0, else 0}, from the ReLU's output {@code out} (libnd4j's {@code relu_bp}; the
     * other paths have faster kernels of their own: {@link FloatBatchNorm#reluBackward},
     * {@link NativeKernels#reluBackward}).
     */
    public static INDArray reluBackprop(INDArray out, INDArray dOut, INDArray dx) {
        Nd4j.exec(new RectifiedLinearDerivative(out, dOut, dx));
        return dx;
    }

    /**
     * The array itself if it is 'c'-contiguous, else a 'c' copy in the current workspace (oneDNN reorders
     * otherwise). For a copy that must outlive the current scope, use {@link #isCContiguous} and a
     * workspace manager's {@code dup}.
     */
    public static INDArray contiguous(INDArray a) {
        return isCContiguous(a) ? a : a.dup('c');
    }

    /**
     * Whether the array's elements lie in 'c' order without gaps. Unlike
     * {@code Shape.hasDefaultStridesForShape}, which rejects e.g. shape [6, 64, 1, 1] with strides
     * [64, 1, 1, 1], strides of size-1 dimensions are ignored.
     */
    public static boolean isCContiguous(INDArray a) {
        long expected = 1;
        long[] shape = a.shape();
        long[] stride = a.stride();
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && stride[d] != expected) {
                return false;
            }
            expected *= shape[d];
        }
        return true;
    }

    /** Whether these kernels run on oneDNN for arrays of this type (float32 with the oneDNN build). */
    public static boolean usesOneDnn(DataType dataType) {
        return dataType == DataType.FLOAT && NativeBackend.current().oneDnnEnabled();
    }
}
