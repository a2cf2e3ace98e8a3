package org.regularize4j.resnet;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.convolution.subsampling.SubsamplingLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.regularize4j.backend.DirectPool;
import org.regularize4j.backend.KernelPath;
import org.regularize4j.backend.KernelPaths;
import org.regularize4j.backend.NativeKernels;

/**
 * Implementation of {@link MaxPoolLayer}: on the channels-last path (chosen once, when the layer is created, like the
 * other builder layers' paths) a channels-last input (a {@code [n, c, h, w]} view of an NHWC array, as the stem
 * gives) is pooled by oneDNN into a channels-last output, forward and backward; otherwise DL4J's implementation runs.
 *
 * <pre>{@code
 * MaxPoolLayerImpl pool = (MaxPoolLayerImpl) net.getLayer("stem.pool");
 * boolean fast = pool.wasChannelsLast();   // after a forward pass
 * }</pre>
 */
public class MaxPoolLayerImpl extends SubsamplingLayer {
    private static final int MAX_PLANS = 4;
    private final boolean channelsLastPath;
    private final java.util.List<DirectPool> plans = new java.util.ArrayList<>();
    private DirectPool lastTraining;   // the plan of the last training forward pass on the channels-last path
    private boolean channelsLast;

    public MaxPoolLayerImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
        this.channelsLastPath = KernelPaths.choose(dataType) == KernelPath.CHANNELS_LAST;
    }

    /** Whether the last forward pass pooled channels-last with oneDNN (else DL4J's implementation ran). */
    public boolean wasChannelsLast() {
        return channelsLast;
    }

    private int[] geometry() {
        org.deeplearning4j.nn.conf.layers.SubsamplingLayer c = layerConf();
        int[] k = c.getKernelSize();
        int[] s = c.getStride();
        int[] p = c.getPadding();
        int[] d = c.getDilation();
        boolean square = k[0] == k[1] && s[0] == s[1] && p[0] == p[1] && (d == null || d[0] == 1 && d[1] == 1);
        return square && c.getPoolingType() == org.deeplearning4j.nn.conf.layers.PoolingType.MAX
                && c.getConvolutionMode() == org.deeplearning4j.nn.conf.ConvolutionMode.Truncate
                ? new int[] {k[0], s[0], p[0]} : null;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        int[] g = geometry();
        if (!channelsLastPath || g == null || input.dataType() != DataType.FLOAT || !NativeKernels.isNhwcView(input)) {
            channelsLast = false;
            return super.activate(training, mgr);
        }
        INDArray x = input.permute(0, 2, 3, 1);   // the NHWC array itself
        DirectPool plan = plan(x, g);
        INDArray y = mgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, plan.outShape(), 'c');
        plan.forward(x, y, training);
        if (training) {
            lastTraining = plan;
        }
        channelsLast = true;
        return NativeKernels.nchwView(y);
    }

    private DirectPool plan(INDArray x, int[] g) {
        for (int i = 0; i < plans.size(); i++) {
            DirectPool p = plans.get(i);
            if (p.fits(x.shape(), g[0], g[1], g[2])) {
                return p;
            }
        }
        DirectPool p = DirectPool.create((int) x.size(0), (int) x.size(3), (int) x.size(1), (int) x.size(2), g[0],
                g[1], g[2]);
        plans.add(0, p);
        if (plans.size() > MAX_PLANS) {
            DirectPool old = plans.remove(plans.size() - 1);
            if (old != lastTraining) {
                old.close();
            }
        }
        return p;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        if (!channelsLast) {
            return super.backpropGradient(epsilon, mgr);
        }
        DirectPool plan = lastTraining;
        if (plan == null) {
            throw new IllegalStateException("Cannot do backward pass in layer \"" + layerConf().getLayerName()
                    + "\": no training forward pass");
        }
        INDArray eps = epsilon.castTo(DataType.FLOAT);
        INDArray dy;
        if (NativeKernels.isNhwcView(eps)) {
            dy = eps.permute(0, 2, 3, 1);
        } else {
            dy = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, DataType.FLOAT, plan.outShape(), 'c');
            dy.assign(eps.permute(0, 2, 3, 1));
        }
        INDArray xNhwc = input.permute(0, 2, 3, 1);
        INDArray dx = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, DataType.FLOAT, xNhwc.shape(), 'c');
        plan.backward(org.regularize4j.backend.NativeOps.contiguous(dy), dx);
        return new Pair<>(new DefaultGradient(), NativeKernels.nchwView(dx));
    }
}
