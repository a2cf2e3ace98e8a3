package org.regularize4j.backend;

import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@link KernelPath#JAVA_NCHW}: libnd4j's convolutions, batch norm and the ReLU's backward pass in Java
 * ({@link FloatBatchNorm}, on the calling thread). Float32 on ND4J's CPU backend; the fallback wherever the
 * channels-last path cannot run.
 */
final class JavaKernels extends NchwKernels {
    static final JavaKernels INSTANCE = new JavaKernels();

    private JavaKernels() {
    }

    @Override
    public KernelPath path() {
        return KernelPath.JAVA_NCHW;
    }

    @Override
    public void batchNormTraining(INDArray x, INDArray gamma, INDArray beta, double eps, boolean relu, INDArray y,
                                  double[] mean, double[] var) {
        FloatBatchNorm.forwardTraining(x, gamma, beta, eps, relu, y, mean, var);
    }

    @Override
    public void batchNormInference(INDArray x, double[] mean, double[] var, INDArray gamma, INDArray beta, double eps,
                                   boolean relu, INDArray y) {
        FloatBatchNorm.normalize(x, mean, var, gamma, beta, eps, relu, y);
    }

    @Override
    public void batchNormBackward(INDArray x, INDArray y, boolean relu, INDArray dy, double dyScale,
                                  float[] exampleScales, double[] mean, double[] var, INDArray gamma, double eps,
                                  INDArray dx, INDArray dGamma, INDArray dBeta, LayerWorkspaceMgr mgr) {
        // the uniform multiplier is folded into the kernel's sums; per-example ones need a scaled copy
        INDArray g = exampleScales == null ? NativeOps.contiguous(dy) : scaledGradient(dy, 1.0, exampleScales, mgr);
        FloatBatchNorm.backward(x, y, relu, g, dyScale, mean, var, gamma, eps, dx, dGamma, dBeta);
    }

    @Override
    public INDArray reluBackward(INDArray y, INDArray dy, INDArray dx) {
        FloatBatchNorm.reluBackward(y, NativeOps.contiguous(dy), dx);
        return dx;
    }
}
