package org.regularize4j.resnet;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.backend.DirectConv;
import org.regularize4j.backend.FloatBatchNorm;
import org.regularize4j.backend.NativeKernels;
import org.regularize4j.backend.NativeOps;

import java.util.Map;

/**
 * Runtime of one {@link ConvBnSpec}: conv → batch norm → (ReLU), forward and backward on the libnd4j
 * kernels of {@link NativeOps}. Training mode normalizes with the batch statistics and produces the
 * running-statistics update as DL4J's BatchNormalization does: a pseudo-gradient {@code r − r_new} that the
 * NoOp updater subtracts as is. The arrays the backward pass needs are kept from the forward pass (in the
 * ACTIVATIONS workspace, which lives until the end of the training iteration), the batch statistics in
 * small arrays outside all workspaces.
 */
final class ConvBnUnit {
    private final ConvBnSpec spec;
    private final double eps;
    private final double decay;
    private INDArray w;
    private INDArray gamma;
    private INDArray beta;
    private INDArray runMean;
    private INDArray runVar;

    // kept from the last training forward pass
    private INDArray input;
    private INDArray convOut;
    private INDArray output;
    private INDArray batchMean;     // libnd4j path: detached [C] arrays
    private INDArray batchVar;
    private double[] meanValues;    // both paths: the batch statistics as numbers
    private double[] varValues;
    private boolean javaKernel;     // whether the last forward pass used FloatBatchNorm
    private boolean channelsLast;   // whether the last training forward pass ran channels-last
    private long batchCount;
    // channels-last convolutions for the last input shapes, most recent first (training batches, the last partial
    // batch of an epoch and evaluation batches differ; creating primitives costs milliseconds)
    private final java.util.ArrayList<DirectConv> plans = new java.util.ArrayList<>();
    private static final int MAX_PLANS = 4;

    ConvBnUnit(ConvBnSpec spec, double eps, double decay) {
        this.spec = spec;
        this.eps = eps;
        this.decay = decay;
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

    long[] outShape(INDArray x) {
        return new long[] {x.size(0), spec.outChannels(),
                NativeOps.outSize(x.size(2), spec.kernel(), spec.stride(), spec.padding()),
                NativeOps.outSize(x.size(3), spec.kernel(), spec.stride(), spec.padding())};
    }

    /**
     * Forward pass. In training the unit keeps what its backward pass needs; {@code outType} says where the
     * result goes (ACTIVATIONS when it is the layer output or needed later, else FF_WORKING_MEM).
     */
    INDArray forward(INDArray x, boolean training, LayerWorkspaceMgr mgr, ArrayType outType) {
        DataType dt = x.dataType();
        long[] shape = outShape(x);
        INDArray conv = mgr.createUninitialized(training ? ArrayType.ACTIVATIONS : ArrayType.FF_WORKING_MEM, dt,
                shape, 'c');
        NativeOps.conv2d(x, w, spec.stride(), spec.padding(), conv);
        INDArray out = mgr.createUninitialized(outType, dt, shape, 'c');
        boolean useJava = FloatBatchNorm.supports(conv, out);
        if (training) {
            channelsLast = false;
            javaKernel = useJava;
            batchCount = shape[0] * shape[2] * shape[3];
            ensureBatchStats(dt);
            if (useJava) {
                FloatBatchNorm.forwardTraining(conv, gamma, beta, eps, spec.relu(), out, meanValues, varValues);
            } else {
                NativeOps.batchMoments(conv, batchMean, batchVar);
                copy(batchMean, meanValues);
                copy(batchVar, varValues);
                normalizeNative(conv, batchMean, batchVar, out);
            }
        } else if (useJava) {
            FloatBatchNorm.normalize(conv, runMean.toDoubleVector(), runVar.toDoubleVector(), gamma, beta, eps,
                    spec.relu(), out);
        } else {
            normalizeNative(conv, runMean, runVar, out);
        }
        if (training) {
            input = x;
            convOut = conv;
            output = out;
        }
        return out;
    }

    private void normalizeNative(INDArray conv, INDArray mean, INDArray var, INDArray out) {
        NativeOps.batchNorm(conv, mean, var, gamma, beta, eps, out);
        if (spec.relu()) {
            NativeOps.reluInPlace(out);
        }
    }

    private static void copy(INDArray from, double[] to) {
        for (int i = 0; i < to.length; i++) {
            to[i] = from.getDouble(i);
        }
    }

    /**
     * Backward pass from the gradient at this unit's output; fills the parameter gradients (views in
     * {@code grads}) and returns the input gradient, created as {@code dxType}.
     */
    INDArray backward(INDArray dOut, Map<String, INDArray> grads, LayerWorkspaceMgr mgr, ArrayType dxType) {
        return backward(dOut, 1.0, grads, mgr, dxType);
    }

    /**
     * Backward pass from the gradient {@code dOutScale · dOut} at this unit's output (the multiplier folded into
     * the batch norm's backward pass where the float kernels run).
     */
    INDArray backward(INDArray dOut, double dOutScale, Map<String, INDArray> grads, LayerWorkspaceMgr mgr,
                      ArrayType dxType) {
        return backward(dOut, dOutScale, null, grads, mgr, dxType);
    }

    /**
     * Backward pass from the gradient {@code dOutScale · exampleScales[i] · dOut[i]} per example i
     * ({@code exampleScales} null: none). Per-example multipliers need a channels-last forward pass (they are
     * folded into its batch norm's backward pass).
     */
    INDArray backward(INDArray dOut, double dOutScale, float[] exampleScales, Map<String, INDArray> grads,
                      LayerWorkspaceMgr mgr, ArrayType dxType) {
        if (convOut == null) {
            throw new IllegalStateException("Cannot do backward pass in " + spec + ": no training forward pass");
        }
        if (channelsLast) {
            return backwardNhwc(dOut, dOutScale, exampleScales, grads, mgr, dxType);
        }
        if (exampleScales != null) {
            throw new IllegalStateException("per-example multipliers need a channels-last forward pass");
        }
        DataType dt = dOut.dataType();
        INDArray dConv = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dt, convOut.shape(), 'c');
        INDArray dOutC = nchwContiguous(dOut, mgr);
        if (javaKernel && FloatBatchNorm.supports(dOutC)) {
            FloatBatchNorm.backward(convOut, output, spec.relu(), dOutC, dOutScale, meanValues, varValues, gamma, eps,
                    dConv, grads.get(spec.gammaKey()), grads.get(spec.betaKey()));
        } else {
            INDArray d = dOutC;
            if (dOutScale != 1.0) {
                d = dOutC.muli(dOutScale, mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dt, dOut.shape(), 'c'));
            }
            if (spec.relu()) {
                d = NativeOps.reluBackprop(output, d, mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dt,
                        dOut.shape(), 'c'));
            }
            batchMean.assign(Nd4j.createFromArray(meanValues));
            batchVar.assign(Nd4j.createFromArray(varValues));
            NativeOps.batchNormBackprop(convOut, batchMean, batchVar, gamma, beta, d, eps, dConv,
                    grads.get(spec.gammaKey()), grads.get(spec.betaKey()));
        }
        runningStatisticsGradient(grads);
        INDArray dx = mgr.createUninitialized(dxType, dt, input.shape(), 'c');
        NativeOps.conv2dBackprop(input, w, dConv, spec.stride(), spec.padding(), dx, grads.get(spec.weightKey()));
        return dx;
    }

    /** The gradient as a 'c'-ordered NCHW array; a channels-last view (from a channels-last block) is transposed. */
    private static INDArray nchwContiguous(INDArray d, LayerWorkspaceMgr mgr) {
        if (NativeOps.isCContiguous(d) || !NativeKernels.isNhwcView(d)) {
            return NativeOps.contiguous(d);
        }
        INDArray c = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, d.dataType(), d.shape(), 'c');
        if (!NativeKernels.transpose(d.permute(0, 2, 3, 1), c, false, false)) {
            c.assign(d);
        }
        return c;
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

    /** The output shape {@code [n, hOut, wOut, cOut]} for a channels-last input {@code [n, h, w, cIn]}. */
    long[] outShapeNhwc(INDArray x) {
        return new long[] {x.size(0), NativeOps.outSize(x.size(1), spec.kernel(), spec.stride(), spec.padding()),
                NativeOps.outSize(x.size(2), spec.kernel(), spec.stride(), spec.padding()), spec.outChannels()};
    }

    private DirectConv plan(INDArray x) {
        for (int i = 0; i < plans.size(); i++) {
            DirectConv p = plans.get(i);
            if (p.fits(x.shape(), w.shape(), spec.stride(), spec.padding())) {
                if (i > 0) {
                    plans.remove(i);
                    plans.add(0, p);
                }
                return p;
            }
        }
        DirectConv p = DirectConv.create((int) x.size(0), (int) x.size(3), (int) x.size(1), (int) x.size(2),
                spec.outChannels(), spec.kernel(), spec.stride(), spec.padding());
        plans.add(0, p);
        if (plans.size() > MAX_PLANS) {
            plans.remove(plans.size() - 1).close();
        }
        return p;
    }

    /** How many channels-last convolution plans this unit holds (for tests). */
    int planCount() {
        return plans.size();
    }

    /**
     * {@link #forward} for a channels-last float input {@code [n, h, w, cIn]} ('c' order): direct oneDNN
     * convolution and the channels-last batch norm; the output is {@code [n, hOut, wOut, cOut]}. Only where
     * {@link DirectConv#isUsable()}.
     */
    INDArray forwardNhwc(INDArray x, boolean training, LayerWorkspaceMgr mgr, ArrayType outType) {
        DataType dt = x.dataType();
        long[] shape = outShapeNhwc(x);
        INDArray conv = mgr.createUninitialized(training ? ArrayType.ACTIVATIONS : ArrayType.FF_WORKING_MEM, dt,
                shape, 'c');
        plan(x).forward(x, NativeOps.contiguous(w), conv);
        INDArray out = mgr.createUninitialized(outType, dt, shape, 'c');
        if (training) {
            channelsLast = true;
            batchCount = shape[0] * shape[1] * shape[2];
            ensureBatchStats(dt);
            FloatBatchNorm.forwardTrainingNhwc(conv, gamma, beta, eps, spec.relu(), out, meanValues, varValues);
            input = x;
            convOut = conv;
            output = out;
        } else {
            FloatBatchNorm.normalizeNhwc(conv, runMean.toDoubleVector(), runVar.toDoubleVector(), gamma, beta, eps,
                    spec.relu(), out);
        }
        return out;
    }

    /** {@link #backward} after a channels-last forward pass: {@code dOut} and the result are channels-last. */
    private INDArray backwardNhwc(INDArray dOut, double dOutScale, float[] exampleScales, Map<String, INDArray> grads,
                                  LayerWorkspaceMgr mgr, ArrayType dxType) {
        DataType dt = dOut.dataType();
        INDArray dConv = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dt, convOut.shape(), 'c');
        FloatBatchNorm.backwardNhwc(convOut, output, spec.relu(), NativeOps.contiguous(dOut), dOutScale, exampleScales,
                meanValues, varValues, gamma, eps, dConv, grads.get(spec.gammaKey()), grads.get(spec.betaKey()));
        runningStatisticsGradient(grads);
        INDArray dx = mgr.createUninitialized(dxType, dt, input.shape(), 'c');
        INDArray dw = grads.get(spec.weightKey());
        INDArray dwC = NativeOps.isCContiguous(dw) ? dw : dw.ulike();
        plan(input).backward(input, NativeOps.contiguous(w), dConv, dx, dwC);
        if (dwC != dw) {
            dw.assign(dwC);
        }
        return dx;
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

    private void ensureBatchStats(DataType dt) {
        int c = spec.outChannels();
        if (batchMean == null || batchMean.dataType() != dt) {
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                batchMean = Nd4j.create(dt, c);
                batchVar = Nd4j.create(dt, c);
            }
            meanValues = new double[c];
            varValues = new double[c];
        }
    }
}
