package org.regularize4j.backend;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * What the two NCHW paths share: libnd4j's convolutions ({@link NativeOps}), NCHW activations, and the block's
 * element-wise arithmetic as libnd4j ops. {@link Libnd4jKernels} adds libnd4j's batch norm, {@link JavaKernels} the
 * Java one.
 */
abstract class NchwKernels implements ConvBnKernels {

    /** A stateless libnd4j convolution. */
    private static final class Nd4jConvolution implements Convolution {
        private final int kernel;
        private final int stride;
        private final int padding;

        Nd4jConvolution(int kernel, int stride, int padding) {
            this.kernel = kernel;
            this.stride = stride;
            this.padding = padding;
        }

        @Override
        public long[] outShape(INDArray x, long outChannels) {
            return new long[] {x.size(0), outChannels, NativeOps.outSize(x.size(2), kernel, stride, padding),
                    NativeOps.outSize(x.size(3), kernel, stride, padding)};
        }

        @Override
        public void forward(INDArray x, INDArray w, INDArray y) {
            NativeOps.conv2d(x, w, stride, padding, y);
        }

        @Override
        public void backward(INDArray x, INDArray w, INDArray dy, INDArray dx, INDArray dw) {
            NativeOps.conv2dBackprop(x, w, dy, stride, padding, dx, dw);
        }

        @Override
        public void close() {
        }
    }

    @Override
    public boolean channelsLast() {
        return false;
    }

    @Override
    public Convolution convolution(int kernel, int stride, int padding) {
        return new Nd4jConvolution(kernel, stride, padding);
    }

    @Override
    public INDArray toInner(INDArray input, DataType dataType, ArrayType type, LayerWorkspaceMgr mgr) {
        if (input.dataType() == dataType && NativeOps.isCContiguous(input)) {
            return input;
        }
        return mgr.createUninitialized(type, dataType, input.shape(), 'c').assign(input);
    }

    @Override
    public INDArray toOuter(INDArray inner) {
        return inner;
    }

    /** {@code dyScale · exampleScales[i] · dy[i]} as a new array, or dy itself when both are 1/null. */
    static INDArray scaledGradient(INDArray dy, double dyScale, float[] exampleScales, LayerWorkspaceMgr mgr) {
        if (exampleScales == null && dyScale == 1.0) {
            return dy;
        }
        INDArray g = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dy.dataType(), dy.shape(), 'c').assign(dy);
        if (exampleScales != null) {
            INDArray rows = g.reshape('c', g.size(0), g.length() / g.size(0));
            rows.muliColumnVector(Nd4j.createFromArray(exampleScales).castTo(dy.dataType()).reshape(g.size(0), 1));
        }
        if (dyScale != 1.0) {
            g.muli(dyScale);
        }
        return g;
    }

    @Override
    public void blockOutput(INDArray branch, float[] scales, INDArray shortcut, INDArray out) {
        long n = branch.size(0);
        if (scales != null && scales.length != n) {
            throw new IllegalArgumentException("scales must have " + n + " values (examples), got " + scales.length);
        }
        if (scales == null) {
            branch.add(shortcut, out);
        } else {
            // a float multiply, then a float add, as the native kernel
            out.assign(branch);
            out.reshape('c', n, out.length() / n).muliColumnVector(
                    Nd4j.createFromArray(scales).castTo(out.dataType()).reshape(n, 1));
            out.addi(shortcut);
        }
        NativeOps.reluInPlace(out);
    }

    @Override
    public void relu(INDArray x, INDArray out) {
        NativeOps.relu(x, out);
    }

    @Override
    public void add(INDArray x, INDArray y, INDArray out) {
        x.add(y, out);
    }

    @Override
    public void zeroPadShortcut(INDArray x, int stride, int before, INDArray out) {
        out.assign(0);
        out.get(channels(before, x.size(1))).assign(x.get(subsample(x, stride)));
    }

    @Override
    public void zeroPadShortcutBackward(INDArray d, int stride, int before, INDArray dx, boolean accumulate) {
        if (!accumulate) {
            dx.assign(0);
        }
        dx.get(subsample(dx, stride)).addi(d.get(channels(before, dx.size(1))));
    }

    private static INDArrayIndex[] subsample(INDArray x, int stride) {
        return new INDArrayIndex[] {NDArrayIndex.all(), NDArrayIndex.all(),
                NDArrayIndex.interval(0, stride, x.size(2)), NDArrayIndex.interval(0, stride, x.size(3))};
    }

    private static INDArrayIndex[] channels(long before, long count) {
        return new INDArrayIndex[] {NDArrayIndex.all(), NDArrayIndex.interval(before, before + count),
                NDArrayIndex.all(), NDArrayIndex.all()};
    }

    @Override
    public void zero(INDArray a) {
        a.assign(0);
    }

    @Override
    public void copy(INDArray src, INDArray dst) {
        dst.assign(src);
    }
}
