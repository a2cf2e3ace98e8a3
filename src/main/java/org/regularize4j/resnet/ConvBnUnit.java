package org.regularize4j.resnet;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
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
    private INDArray batchMean;
    private INDArray batchVar;
    private long batchCount;

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
        INDArray mean;
        INDArray var;
        if (training) {
            ensureBatchStats(dt);
            NativeOps.batchMoments(conv, batchMean, batchVar);
            batchCount = shape[0] * shape[2] * shape[3];
            mean = batchMean;
            var = batchVar;
        } else {
            mean = runMean;
            var = runVar;
        }
        INDArray out = mgr.createUninitialized(outType, dt, shape, 'c');
        NativeOps.batchNorm(conv, mean, var, gamma, beta, eps, out);
        if (spec.relu()) {
            NativeOps.reluInPlace(out);
        }
        if (training) {
            input = x;
            convOut = conv;
            output = out;
        }
        return out;
    }

    /**
     * Backward pass from the gradient at this unit's output; fills the parameter gradients (views in
     * {@code grads}) and returns the input gradient, created as {@code dxType}.
     */
    INDArray backward(INDArray dOut, Map<String, INDArray> grads, LayerWorkspaceMgr mgr, ArrayType dxType) {
        if (convOut == null) {
            throw new IllegalStateException("Cannot do backward pass in " + spec + ": no training forward pass");
        }
        DataType dt = dOut.dataType();
        INDArray d = dOut;
        if (spec.relu()) {
            d = NativeOps.reluBackprop(output, dOut, mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dt,
                    dOut.shape(), 'c'));
        }
        INDArray dConv = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dt, convOut.shape(), 'c');
        NativeOps.batchNormBackprop(convOut, batchMean, batchVar, gamma, beta, d, eps, dConv,
                grads.get(spec.gammaKey()), grads.get(spec.betaKey()));
        // running statistics: r_new = decay * r + (1 - decay) * batch (unbiased variance, as PyTorch);
        // the NoOp updater applies r -= (r - r_new)
        double unbiased = batchCount > 1 ? batchCount / (batchCount - 1.0) : 1.0;
        grads.get(spec.meanKey()).assign(runMean.sub(batchMean).muli(1 - decay));
        grads.get(spec.varKey()).assign(runVar.sub(batchVar.mul(unbiased)).muli(1 - decay));
        INDArray dx = mgr.createUninitialized(dxType, dt, input.shape(), 'c');
        NativeOps.conv2dBackprop(input, w, dConv, spec.stride(), spec.padding(), dx, grads.get(spec.weightKey()));
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
        }
    }
}
