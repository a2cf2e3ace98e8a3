package org.regularize4j.backend;

import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link KernelPath#LIBND4J_NCHW}: every kernel a libnd4j op ({@link NativeOps}); any floating-point type, any ND4J
 * backend. The reference the other paths are tested against, and the path of double-precision gradient checks.
 */
final class Libnd4jKernels extends NchwKernels {
    static final Libnd4jKernels INSTANCE = new Libnd4jKernels();

    private Libnd4jKernels() {
    }

    @Override
    public KernelPath path() {
        return KernelPath.LIBND4J_NCHW;
    }

    private static INDArray vector(double[] values, DataType dt) {
        return Nd4j.createFromArray(values).castTo(dt);
    }

    @Override
    public void batchNormTraining(INDArray x, INDArray gamma, INDArray beta, double eps, boolean relu, INDArray y,
                                  double[] mean, double[] var) {
        long c = x.size(1);
        INDArray m = Nd4j.create(x.dataType(), c);
        INDArray v = Nd4j.create(x.dataType(), c);
        NativeOps.batchMoments(x, m, v);
        for (int ch = 0; ch < c; ch++) {
            mean[ch] = m.getDouble(ch);
            var[ch] = v.getDouble(ch);
        }
        NativeOps.batchNorm(x, m, v, gamma, beta, eps, y);
        if (relu) {
            NativeOps.reluInPlace(y);
        }
    }

    @Override
    public void batchNormInference(INDArray x, double[] mean, double[] var, INDArray gamma, INDArray beta, double eps,
                                   boolean relu, INDArray y) {
        NativeOps.batchNorm(x, vector(mean, x.dataType()), vector(var, x.dataType()), gamma, beta, eps, y);
        if (relu) {
            NativeOps.reluInPlace(y);
        }
    }

    @Override
    public void batchNormBackward(INDArray x, INDArray y, boolean relu, INDArray dy, double dyScale,
                                  float[] exampleScales, double[] mean, double[] var, INDArray gamma, double eps,
                                  INDArray dx, INDArray dGamma, INDArray dBeta, LayerWorkspaceMgr mgr) {
        INDArray g = scaledGradient(dy, dyScale, exampleScales, mgr);
        if (relu) {
            g = NativeOps.reluBackprop(y, g, g == dy ? dy.ulike() : g);
        }
        NativeOps.batchNormBackprop(x, vector(mean, x.dataType()), vector(var, x.dataType()), gamma, Nd4j.zerosLike(gamma), g,
                eps, dx, dGamma, dBeta);
    }

    @Override
    public INDArray reluBackward(INDArray y, INDArray dy, INDArray dx) {
        return NativeOps.reluBackprop(y, dy, dx);
    }
}
