package org.regularize4j.resnet;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.regularize4j.backend.ConvBnKernels;
import org.regularize4j.backend.KernelPaths;
import org.regularize4j.backend.NativeOps;

import java.util.Map;

/**
 * Runtime of one {@link ConvBnSpec}: conv → batch norm → (ReLU), forward and backward, on the layer's
 * {@link ConvBnKernels} (one path, chosen when the layer was created; activations in that path's layout). Training
 * mode normalizes with the batch statistics and produces the running-statistics update as DL4J's BatchNormalization
 * does: a pseudo-gradient {@code r − r_new} that the NoOp updater subtracts as is. The arrays the backward pass needs
 * are kept from the forward pass (in the ACTIVATIONS workspace, which lives until the end of the training
 * iteration), the batch statistics as numbers.
 */
final class ConvBnUnit {
    private final ConvBnSpec spec;
    /** gamma and beta times an output multiplier (DropBlock's), reused from step to step. */
    private INDArray scaledGamma;
    private INDArray scaledBeta;
    private final double eps;
    private final double decay;
    private final ConvBnKernels kernels;
    private final ConvBnKernels.Convolution conv;
    private INDArray w;
    private INDArray gamma;
    private INDArray beta;
    private INDArray runMean;
    private INDArray runVar;
    /** Batch norm folded into the convolution for inference: scaled weights and the bias (reused). */
    private INDArray foldedW;
    private INDArray foldedBias;
    private INDArray foldScale;
    private long foldedCalls;
    private long foldedConvolutions;
    private long recomputations;
    /** The output multiplier of the last training pass. */
    private double lastOutScale = 1.0;
    /** Multiply-add FLOPs (2 per multiply-add) of this unit's convolution calls so far; the last input shape. */
    private long flops;
    private long[] lastInputShape;

    // kept from the last training forward pass
    private INDArray input;
    private INDArray convOut;
    private INDArray output;
    private double[] meanValues;
    private double[] varValues;
    private long batchCount;

    ConvBnUnit(ConvBnSpec spec, double eps, double decay, ConvBnKernels kernels) {
        this.spec = spec;
        this.eps = eps;
        this.decay = decay;
        this.kernels = kernels;
        this.conv = kernels.convolution(spec.kernel(), spec.stride(), spec.padding());
        this.meanValues = new double[spec.outChannels()];
        this.varValues = new double[spec.outChannels()];
    }

    ConvBnSpec spec() {
        return spec;
    }

    /** Points the unit at its parameter views (they move when DL4J re-flattens parameters). */
    void bind(Map<String, INDArray> params) {
        w = params.get(spec.weightKey());
        gamma = params.get(spec.gammaKey());
        beta = params.get(spec.betaKey());
        runMean = params.get(spec.meanKey());
        runVar = params.get(spec.varKey());
    }

    /** The output shape for an input {@code x} in the kernels' layout. */
    long[] outShape(INDArray x) {
        return conv.outShape(x, spec.outChannels());
    }

    /**
     * Forward pass on an input in the kernels' layout. In training the unit keeps what its backward pass needs;
     * {@code outType} says where the result goes (ACTIVATIONS when it is the layer output or needed later, else
     * FF_WORKING_MEM).
     */
    INDArray forward(INDArray x, boolean training, LayerWorkspaceMgr mgr, ArrayType outType) {
        return forward(x, training, mgr, outType, 1.0);
    }

    /**
     * {@link #forward(INDArray, boolean, LayerWorkspaceMgr, ArrayType) forward} with the output multiplied by
     * {@code outScale} ({@code >= 0}), folded into the batch-norm affine transform (no pass of its own): DropBlock's
     * multiplier of the kept activations. The backward pass then takes the same multiplier as its output-gradient
     * scale.
     */
    INDArray forward(INDArray x, boolean training, LayerWorkspaceMgr mgr, ArrayType outType, double outScale) {
        checkOutScale(outScale);
        INDArray g = gamma;
        INDArray b = beta;
        if (outScale != 1.0) {
            if (scaledGamma == null || scaledGamma.dataType() != gamma.dataType()) {
                try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                    scaledGamma = Nd4j.create(gamma.dataType(), gamma.length());
                    scaledBeta = Nd4j.create(beta.dataType(), beta.length());
                }
            }
            g = scaled(gamma, outScale, scaledGamma);
            b = scaled(beta, outScale, scaledBeta);
        }
        DataType dt = x.dataType();
        long[] shape = outShape(x);
        if (!training && foldsHere()) {
            INDArray y = mgr.createUninitialized(outType, dt, shape, 'c');
            forwardFolded(x, y, false, spec.relu(), outScale);
            return y;
        }
        countForward(x, shape);
        INDArray c = mgr.createUninitialized(training ? ArrayType.ACTIVATIONS : ArrayType.FF_WORKING_MEM, dt, shape,
                'c');
        conv.forward(x, w, c);
        INDArray out = mgr.createUninitialized(outType, dt, shape, 'c');
        if (training) {
            lastOutScale = outScale;
            batchCount = shape[0] * shape[1] * shape[2] * shape[3] / spec.outChannels();
            kernels.batchNormTraining(c, g, b, eps, spec.relu(), out, meanValues, varValues);
            input = x;
            convOut = c;
            output = out;
        } else {
            kernels.batchNormInference(c, runMean.toDoubleVector(), runVar.toDoubleVector(), g, b, eps,
                    spec.relu(), out);
        }
        return out;
    }

    private static void checkOutScale(double outScale) {
        if (!(outScale >= 0) || Double.isInfinite(outScale)) {
            throw new IllegalArgumentException("outScale must be finite and >= 0, got " + outScale);
        }
    }

    /** Whether inference here folds batch norm into the convolution ({@link KernelPaths#foldsBatchNorm()}). */
    boolean foldsHere() {
        return KernelPaths.foldsBatchNorm() && conv.supportsFused();
    }

    /**
     * Inference with batch norm folded into the convolution: {@code y = outScale · BN(conv(x))}, plus the previous
     * contents of {@code y} when {@code accumulate} (a residual block's shortcut), ReLU'd when {@code relu}; one
     * oneDNN call after scaling the weights per output channel by {@code outScale · gamma / sqrt(var + eps)}.
     * Only where {@link #foldsHere()}.
     */
    void forwardFolded(INDArray x, INDArray y, boolean accumulate, boolean relu, double outScale) {
        fold(outScale);
        convolveFolded(x, y, accumulate, relu);
    }

    /**
     * The folded convolution of {@link #fold}'s last call: {@code y = BN(conv(x))} (times its multiplier), plus
     * the previous contents of {@code y} when {@code accumulate}, ReLU'd when {@code relu}. Called on any number of
     * row ranges of a batch after one fold.
     */
    void convolveFolded(INDArray x, INDArray y, boolean accumulate, boolean relu) {
        requireFolded();
        countForward(x, y.shape());
        conv.forwardFused(x, foldedW, foldedBias, accumulate, relu, y);
        foldedConvolutions++;
    }

    private void requireFolded() {
        if (foldedW == null) {
            throw new IllegalStateException("fold(outScale) must come before the folded convolution");
        }
    }

    /**
     * Batch norm (times {@code outScale}) folded into the weights and a bias for {@link #convolveFolded}: weights
     * scaled per output channel by {@code outScale · gamma / sqrt(var + eps)}, from the current parameters.
     */
    void fold(double outScale) {
        checkOutScale(outScale);
        foldedCalls++;
        int c = spec.outChannels();
        if (foldedW == null || foldedW.dataType() != w.dataType() || !java.util.Arrays.equals(foldedW.shape(),
                w.shape())) {
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                foldedW = Nd4j.createUninitialized(w.dataType(), w.shape(), 'c');
                foldedBias = Nd4j.create(w.dataType(), c);
                foldScale = Nd4j.create(w.dataType(), c);
            }
        }
        double[] g = gamma.toDoubleVector();
        double[] b = beta.toDoubleVector();
        double[] m = runMean.toDoubleVector();
        double[] v = runVar.toDoubleVector();
        java.nio.FloatBuffer scale = org.regularize4j.util.HostArrays.floatBuffer(foldScale);
        java.nio.FloatBuffer bias = org.regularize4j.util.HostArrays.floatBuffer(foldedBias);
        for (int ch = 0; ch < c; ch++) {
            double s = outScale * g[ch] / Math.sqrt(v[ch] + eps);
            scale.put(ch, (float) s);
            bias.put(ch, (float) (outScale * b[ch] - m[ch] * s));
        }
        INDArray wc = NativeOps.contiguous(w);
        Nd4j.getExecutioner().exec(new BroadcastMulOp(wc.reshape('c', c, wc.length() / c), foldScale,
                foldedW.reshape('c', c, foldedW.length() / c), 0));
    }

    private void countForward(INDArray x, long[] outShape) {
        lastInputShape = x.shape();
        flops += forwardFlops(lastInputShape, outShape);
    }

    /** 2 · outputs · inChannels · k² (outputs counted over all output channels), in the kernels' layout. */
    private long forwardFlops(long[] in, long[] out) {
        long outputs = out[0] * out[1] * out[2] * out[3];
        return 2L * outputs * spec.inChannels() * spec.kernel() * spec.kernel();
    }

    /** FLOPs of this unit's convolutions so far (forward, input and weight gradients: 2 per multiply-add). */
    long convolutionFlops() {
        return flops;
    }

    /** The shape of the last input of the convolution, in the kernels' layout, or null before the first call. */
    long[] lastInputShape() {
        return lastInputShape == null ? null : lastInputShape.clone();
    }

    /** Inference passes run with batch norm folded (for tests). */
    long foldedCalls() {
        return foldedCalls;
    }

    /** How many folded convolution calls ran (one per row range of a batch: more than folds when chunked). */
    long foldedConvolutions() {
        return foldedConvolutions;
    }

    /**
     * Backward pass from the gradient at this unit's output; fills the parameter gradients (views in
     * {@code grads}) and returns the input gradient, created as {@code dxType}.
     */
    INDArray backward(INDArray dOut, Map<String, INDArray> grads, LayerWorkspaceMgr mgr, ArrayType dxType) {
        return backward(dOut, 1.0, null, grads, mgr, dxType, null);
    }

    /**
     * Drops the reference to the last training pass's output, which the caller did not keep (it is recomputed by
     * {@link #recomputeOutput} when the backward pass needs it). Only after a pass without an output multiplier.
     */
    void forgetOutput() {
        if (lastOutScale != 1.0) {
            throw new IllegalStateException(spec + ": an output with a multiplier (" + lastOutScale + ") is kept,"
                    + " not recomputed");
        }
        output = null;
    }

    /** Whether the last training pass's output is held (false after {@link #forgetOutput}). */
    boolean keepsOutput() {
        return output != null || convOut == null;
    }

    /**
     * The last training pass's output computed again from the kept convolution output and batch statistics (the
     * kernels' normalization as in the forward pass: the same values), into working memory of the backward pass;
     * the unit's backward pass uses it for its ReLU mask.
     */
    INDArray recomputeOutput(LayerWorkspaceMgr mgr) {
        if (convOut == null) {
            throw new IllegalStateException("Cannot recompute the output of " + spec + ": no training forward pass");
        }
        INDArray out = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, convOut.dataType(), convOut.shape(), 'c');
        kernels.batchNormInference(convOut, meanValues, varValues, gamma, beta, eps, spec.relu(), out);
        output = out;
        recomputations++;
        return out;
    }

    /** How many times {@link #recomputeOutput} ran (for tests). */
    long recomputations() {
        return recomputations;
    }

    /** Points the backward pass at a recomputed input (the previous unit's {@link #recomputeOutput}). */
    void rebindInput(INDArray x) {
        if (input == null || !java.util.Arrays.equals(input.shape(), x.shape())) {
            throw new IllegalArgumentException("the recomputed input must have the kept input's shape "
                    + (input == null ? "(none kept)" : java.util.Arrays.toString(input.shape())) + ", got "
                    + java.util.Arrays.toString(x.shape()));
        }
        input = x;
    }

    /** The number of elements of this unit's convolution output in the last training pass (0 before one). */
    long convOutLength() {
        return convOut == null ? 0 : convOut.length();
    }

    /**
     * Backward pass from the gradient {@code dOutScale · exampleScales[i] · dOut[i]} per example i
     * ({@code exampleScales} null: none); the kernels fold the multipliers in where they can (no pass of their own).
     * {@code dOut} is never written. {@code dxType} null: no input gradient is wanted (returns null; on the
     * channels-last path it is not computed). The convolution-output gradient, dead when this returns, goes into the first
     * elements of {@code scratch} (a rank-1 array of at least {@link #convOutLength()} elements, which callers
     * reuse from unit to unit) or, when it is null, into a new working array.
     */
    INDArray backward(INDArray dOut, double dOutScale, float[] exampleScales, Map<String, INDArray> grads,
                      LayerWorkspaceMgr mgr, ArrayType dxType, INDArray scratch) {
        if (convOut == null) {
            throw new IllegalStateException("Cannot do backward pass in " + spec + ": no training forward pass");
        }
        DataType dt = dOut.dataType();
        INDArray dConv;
        if (scratch == null) {
            dConv = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dt, convOut.shape(), 'c');
        } else {
            if (scratch.rank() != 1 || scratch.length() < convOut.length() || scratch.dataType() != dt) {
                throw new IllegalArgumentException("scratch must be a rank-1 " + dt + " array of at least "
                        + convOut.length() + " elements, got " + scratch.shapeInfoToString());
            }
            dConv = (scratch.length() == convOut.length() ? scratch
                    : scratch.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, convOut.length())))
                    .reshape('c', convOut.shape());
        }
        kernels.batchNormBackward(convOut, output, spec.relu(), dOut, dOutScale, exampleScales, meanValues, varValues,
                gamma, eps, dConv, grads.get(spec.gammaKey()), grads.get(spec.betaKey()), mgr);
        runningStatisticsGradient(grads);
        if (dxType == null && kernels.channelsLast()) {   // no input gradient wanted: the weight gradient alone
            conv.backward(input, w, dConv, null, grads.get(spec.weightKey()));
            flops += forwardFlops(input.shape(), convOut.shape());
            return null;
        }
        // (the other paths compute the input gradient with the weight gradient: into working memory when unwanted)
        INDArray dx = mgr.createUninitialized(dxType == null ? ArrayType.BP_WORKING_MEM : dxType, dt, input.shape(),
                'c');
        conv.backward(input, w, dConv, dx, grads.get(spec.weightKey()));
        flops += 2 * forwardFlops(input.shape(), convOut.shape());   // input gradient and weight gradient
        return dxType == null ? null : dx;
    }

    /** Running statistics: r_new = decay r + (1 - decay) batch (unbiased variance, as PyTorch); the NoOp updater
     * applies r -= (r - r_new). */
    private void runningStatisticsGradient(Map<String, INDArray> grads) {
        double unbiased = batchCount > 1 ? batchCount / (batchCount - 1.0) : 1.0;
        INDArray gMean = grads.get(spec.meanKey());
        INDArray gVar = grads.get(spec.varKey());
        for (int ch = 0; ch < meanValues.length; ch++) {
            gMean.putScalar(ch, (1 - decay) * (runMean.getDouble(ch) - meanValues[ch]));
            gVar.putScalar(ch, (1 - decay) * (runVar.getDouble(ch) - varValues[ch] * unbiased));
        }
    }

    /** {@code out = v · s} for a rank-1 parameter view, in Java (no ND4J op per call for a few dozen values). */
    private static INDArray scaled(INDArray v, double s, INDArray out) {
        int n = (int) v.length();
        if (v.dataType() == DataType.FLOAT && NativeOps.isCContiguous(v)) {
            java.nio.FloatBuffer src = org.regularize4j.util.HostArrays.floatBuffer(v);
            java.nio.FloatBuffer dst = org.regularize4j.util.HostArrays.floatBuffer(out);
            float f = (float) s;
            for (int i = 0; i < n; i++) {
                dst.put(i, src.get(i) * f);
            }
            return out;
        }
        return out.assign(v.reshape(out.shape())).muli(s);
    }

    /** How many oneDNN plans this unit's convolution holds (channels-last path; 0 otherwise; for tests). */
    int planCount() {
        return conv.cachedPlans();
    }

    /** Zero gradients for a step in which this unit did not run (its running statistics stay as they are). */
    void zeroGradients(Map<String, INDArray> grads) {
        for (String key : new String[] {spec.weightKey(), spec.gammaKey(), spec.betaKey(), spec.meanKey(),
                spec.varKey()}) {
            grads.get(key).assign(0.0);
        }
    }

    /** Drops references to the arrays kept for the backward pass. */
    void clear() {
        input = null;
        convOut = null;
        output = null;
    }
}
