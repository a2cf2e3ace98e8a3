package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.AbstractLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.Arrays;

/**
 * Implementation of {@link ActivityRegularization}: output = input; the penalty of the last forward pass is
 * this layer's {@link #calcRegularizationScore}, and its gradient is added in {@link #backpropGradient}.
 *
 * <pre>{@code
 * ActivityRegularizationImpl act = (ActivityRegularizationImpl) net.getLayer(1);   // net: the MultiLayerNetwork above
 * double lastPenalty = act.getLastScore();
 * }</pre>
 */
public class ActivityRegularizationImpl extends AbstractLayer<ActivityRegularization> {
    private double lastScore = Double.NaN;

    /** Called by {@link ActivityRegularization#instantiate}. */
    public ActivityRegularizationImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /** The activity penalty of the last forward pass (already divided by the batch size), NaN before any. */
    public double getLastScore() {
        return lastScore;
    }

    @Override
    public Type type() {
        return Type.FEED_FORWARD;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        lastScore = penalty(input, maskArray);
        if (training) {
            // A copy: a later layer may modify its input in place, and backprop needs ours.
            return mgr.dup(ArrayType.ACTIVATIONS, input, input.ordering());
        }
        return mgr.leverageTo(ArrayType.ACTIVATIONS, input);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        INDArray eps = mgr.dup(ArrayType.ACTIVATION_GRAD, epsilon, epsilon.ordering());
        double l1 = layerConf().getL1();
        double l2 = layerConf().getL2();
        if (l1 != 0.0) {
            eps.addi(masked(Transforms.sign(input, true).muli(l1), maskArray));
        }
        if (l2 != 0.0) {
            eps.addi(masked(input.mul(2.0 * l2), maskArray));
        }
        return new Pair<>(new DefaultGradient(), eps);
    }

    /** {@code (l1 * sum m|a| + l2 * sum m a²) / batchSize} (no division without mini-batch mode). */
    private double penalty(INDArray a, INDArray mask) {
        double l1 = layerConf().getL1();
        double l2 = layerConf().getL2();
        if (l1 == 0.0 && l2 == 0.0) {
            return 0.0;
        }
        INDArray am = masked(a.dup(), mask);
        double s = 0.0;
        if (l1 != 0.0) {
            s += l1 * am.norm1Number().doubleValue();
        }
        if (l2 != 0.0) {
            s += l2 * am.muli(a).sumNumber().doubleValue();
        }
        return conf().isMiniBatch() ? s / a.size(0) : s;
    }

    /** Multiplies {@code x} (same shape as the input) in place by the mask, broadcast over the feature axis. */
    private INDArray masked(INDArray x, INDArray mask) {
        if (mask == null) {
            return x;
        }
        if (Arrays.equals(mask.shape(), x.shape())) {
            return x.muli(mask.castTo(x.dataType()));
        }
        INDArray m = mask.castTo(x.dataType());
        long mb = x.size(0);
        if (x.rank() == 3 && m.rank() == 2 && m.size(0) == mb) {
            boolean nwc = layerConf().getRnnDataFormat() == RNNFormat.NWC;
            return Broadcast.mul(x, m, x, 0, nwc ? 1 : 2);
        }
        if (m.length() == mb) {   // one value per example: [mb], [mb, 1], [mb, 1, 1, 1], ...
            return Broadcast.mul(x, m.reshape(mb), x, 0);
        }
        if (m.rank() == x.rank()) {
            return x.muli(m.broadcast(x.shape()));
        }
        throw new IllegalStateException("ActivityRegularization layer '" + layerConf().getLayerName()
                + "' cannot apply a mask of shape " + Arrays.toString(mask.shape()) + " to input of shape "
                + Arrays.toString(x.shape()));
    }

    @Override
    public double calcRegularizationScore(boolean backpropParamsOnly) {
        return Double.isNaN(lastScore) ? 0.0 : lastScore;
    }

    @Override
    public boolean isPretrainLayer() {
        return false;
    }

    @Override
    public void clearNoiseWeightParams() {
        // no parameters
    }

    @Override
    public INDArray params() {
        return null;
    }
}
