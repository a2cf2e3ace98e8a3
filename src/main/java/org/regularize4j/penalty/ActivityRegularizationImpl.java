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

    /**
     * {@code x} (a temporary shaped like the input) times the mask, broadcast over the feature axis. Works on a
     * c-ordered copy: ND4J's dimension-wise broadcast pairs elements by buffer position, and DL4J hands over
     * masks in 'f' order and activations as permuted views.
     */
    private INDArray masked(INDArray x, INDArray mask) {
        if (mask == null) {
            return x;
        }
        INDArray y = x.ordering() == 'c' && !x.isView() ? x : x.dup('c');
        INDArray m = mask.castTo(y.dataType()).dup('c');
        long mb = y.size(0);
        if (Arrays.equals(m.shape(), y.shape())) {
            return y.muli(m);
        }
        if (y.rank() == 3 && m.rank() == 2 && m.size(0) == mb && m.size(1) == y.size(2)
                && layerConf().getRnnDataFormat() == RNNFormat.NCW) {
            return Broadcast.mul(y, m, y, 0, 2);
        }
        if (y.rank() == 3 && m.rank() == 2 && m.size(0) == mb && m.size(1) == y.size(1)
                && layerConf().getRnnDataFormat() == RNNFormat.NWC) {
            return Broadcast.mul(y, m, y, 0, 1);
        }
        if (m.length() == mb) {   // one value per example: [mb], [mb, 1], [mb, 1, 1, 1], ...
            return Broadcast.mul(y, m.reshape(mb), y, 0);
        }
        if (m.rank() == y.rank()) {
            return y.muli(m.broadcast(y.shape()));
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
