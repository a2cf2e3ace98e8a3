package org.regularize4j.backend;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;

/**
 * {@link KernelPath#CHANNELS_LAST}: activations {@code [n, h, w, c]} inside the layers, oneDNN's convolutions on
 * them ({@link DirectConv}) and the native kernels for the rest ({@link NativeKernels}, {@link FloatBatchNorm}'s
 * NHWC methods). DL4J sees {@code [n, c, h, w]} views of the NHWC arrays; a neighbour that is not channels-last
 * gets and gives NCHW through one transpose. Float32 only; {@link KernelPaths} selects it only where both
 * {@link DirectConv} and the native kernels are usable.
 */
final class ChannelsLastKernels implements ConvBnKernels {
    static final ChannelsLastKernels INSTANCE = new ChannelsLastKernels();
    private static final int MAX_PLANS = 4;

    private ChannelsLastKernels() {
    }

    /**
     * oneDNN plans for the last input shapes of one convolution, most recent first (training batches, the last
     * partial batch of an epoch and evaluation batches differ; creating primitives costs milliseconds).
     */
    private static final class PlannedConvolution implements Convolution {
        private final int kernel;
        private final int stride;
        private final int padding;
        private final List<DirectConv> plans = new ArrayList<>();

        PlannedConvolution(int kernel, int stride, int padding) {
            this.kernel = kernel;
            this.stride = stride;
            this.padding = padding;
        }

        @Override
        public long[] outShape(INDArray x, long outChannels) {
            return new long[] {x.size(0), NativeOps.outSize(x.size(1), kernel, stride, padding),
                    NativeOps.outSize(x.size(2), kernel, stride, padding), outChannels};
        }

        private DirectConv plan(INDArray x, INDArray w) {
            for (int i = 0; i < plans.size(); i++) {
                DirectConv p = plans.get(i);
                if (p.fits(x.shape(), w.shape(), stride, padding)) {
                    if (i > 0) {
                        plans.remove(i);
                        plans.add(0, p);
                    }
                    return p;
                }
            }
            DirectConv p = DirectConv.create((int) x.size(0), (int) x.size(3), (int) x.size(1), (int) x.size(2),
                    (int) w.size(0), kernel, stride, padding);
            plans.add(0, p);
            if (plans.size() > MAX_PLANS) {
                plans.remove(plans.size() - 1).close();
            }
            return p;
        }

        @Override
        public void forward(INDArray x, INDArray w, INDArray y) {
            plan(x, w).forward(x, NativeOps.contiguous(w), y);
        }

        @Override
        public void backward(INDArray x, INDArray w, INDArray dy, INDArray dx, INDArray dw) {
            INDArray dwC = NativeOps.isCContiguous(dw) ? dw : dw.ulike();
            plan(x, w).backward(x, NativeOps.contiguous(w), NativeOps.contiguous(dy), dx, dwC);
            if (dwC != dw) {
                dw.assign(dwC);
            }
        }

        @Override
        public boolean supportsFused() {
            return true;
        }

        @Override
        public void forwardFused(INDArray x, INDArray w, INDArray bias, boolean accumulate, boolean relu, INDArray y) {
            plan(x, w).forwardInference(x, NativeOps.contiguous(w), bias, accumulate, relu, y);
        }

        @Override
        public int cachedPlans() {
            return plans.size();
        }

        @Override
        public void close() {
            for (DirectConv p : plans) {
                p.close();
            }
            plans.clear();
        }
    }

    private static void require(boolean done, String what) {
        if (!done) {
            throw new IllegalStateException("the channels-last path needs float32 'c'-ordered arrays and the native"
                    + " kernels (" + NativeKernels.status() + "): " + what + " could not run");
        }
    }

    @Override
    public KernelPath path() {
        return KernelPath.CHANNELS_LAST;
    }

    @Override
    public boolean channelsLast() {
        return true;
    }

    @Override
    public Convolution convolution(int kernel, int stride, int padding) {
        return new PlannedConvolution(kernel, stride, padding);
    }

    @Override
    public INDArray toInner(INDArray input, DataType dataType, ArrayType type, LayerWorkspaceMgr mgr) {
        INDArray a = input.dataType() == dataType ? input : input.castTo(dataType);
        if (NativeKernels.isNhwcView(a)) {
            return a.permute(0, 2, 3, 1);
        }
        INDArray x = NativeOps.contiguous(a);
        INDArray xh = mgr.createUninitialized(type, dataType, new long[] {x.size(0), x.size(2), x.size(3), x.size(1)},
                'c');
        require(NativeKernels.transpose(x, xh, true, false), "transpose");
        return xh;
    }

    @Override
    public INDArray toOuter(INDArray inner) {
        return NativeKernels.nchwView(inner);
    }

    @Override
    public void batchNormTraining(INDArray x, INDArray gamma, INDArray beta, double eps, boolean relu, INDArray y,
                                  double[] mean, double[] var) {
        FloatBatchNorm.forwardTrainingNhwc(x, gamma, beta, eps, relu, y, mean, var);
    }

    @Override
    public void batchNormInference(INDArray x, double[] mean, double[] var, INDArray gamma, INDArray beta, double eps,
                                   boolean relu, INDArray y) {
        FloatBatchNorm.normalizeNhwc(x, mean, var, gamma, beta, eps, relu, y);
    }

    @Override
    public void batchNormBackward(INDArray x, INDArray y, boolean relu, INDArray dy, double dyScale,
                                  float[] exampleScales, double[] mean, double[] var, INDArray gamma, double eps,
                                  INDArray dx, INDArray dGamma, INDArray dBeta, LayerWorkspaceMgr mgr) {
        // both multipliers are folded into the kernel's per-channel sums: no pass over dy of their own
        FloatBatchNorm.backwardNhwc(x, y, relu, NativeOps.contiguous(dy), dyScale, exampleScales, mean, var, gamma,
                eps, dx, dGamma, dBeta);
    }

    @Override
    public void blockOutput(INDArray branch, float[] scales, INDArray shortcut, INDArray out) {
        require(NativeKernels.scaleAddRelu(branch, scales, shortcut, out), "the block output");
    }

    @Override
    public void relu(INDArray x, INDArray out) {
        NativeOps.relu(x, out);
    }

    @Override
    public INDArray reluBackward(INDArray y, INDArray dy, INDArray dx) {
        require(NativeKernels.reluBackward(y, NativeOps.contiguous(dy), dx), "the ReLU's backward pass");
        return dx;
    }

    @Override
    public void add(INDArray x, INDArray y, INDArray out) {
        require(NativeKernels.add(x, y, out), "add");
    }

    @Override
    public void zeroPadShortcut(INDArray x, int stride, int before, INDArray out) {
        require(NativeKernels.zeroPadShortcutNhwc(x, stride, before, out), "the zero-padded shortcut");
    }

    @Override
    public void zeroPadShortcutBackward(INDArray d, int stride, int before, INDArray dx, boolean accumulate) {
        require(NativeKernels.zeroPadShortcutBackwardNhwc(d, stride, before, dx, accumulate),
                "the zero-padded shortcut's backward pass");
    }

    @Override
    public void zero(INDArray a) {
        require(NativeKernels.zero(a), "zero");
    }

    @Override
    public void copy(INDArray src, INDArray dst) {
        require(NativeKernels.copy(src, dst), "copy");
    }
}
