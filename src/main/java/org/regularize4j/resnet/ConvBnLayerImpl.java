package org.regularize4j.resnet;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.regularize4j.backend.NativeKernels;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Implementation of {@link ConvBnLayer}.
 *
 * <pre>{@code
 * org.deeplearning4j.nn.api.Layer impl = net.getLayer("stem");   // a ConvBnLayerImpl
 * }</pre>
 */
public class ConvBnLayerImpl extends ConvBnStackImpl<ConvBnLayer> {

    private boolean channelsLast;   // the last forward pass ran channels-last

    public ConvBnLayerImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /** Whether the last forward pass ran channels-last (direct oneDNN convolution, output a view of NHWC). */
    public boolean wasChannelsLast() {
        return channelsLast;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        bindUnits();
        channelsLast = channelsLastFor(input);
        if (channelsLast) {
            // NHWC inside (direct oneDNN convolution); DL4J sees a [n, c, h, w] view
            return NativeKernels.nchwView(units().get(0).forwardNhwc(channelsLastInput(training, mgr), training, mgr,
                    ArrayType.ACTIVATIONS));
        }
        return units().get(0).forward(layerInput(training, mgr), training, mgr, ArrayType.ACTIVATIONS);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        INDArray eps = epsilon.castTo(dataType);
        if (channelsLast) {
            INDArray dx = units().get(0).backward(channelsLastGradient(eps, ArrayType.BP_WORKING_MEM, mgr),
                    gradientViews, mgr, ArrayType.ACTIVATION_GRAD);
            return new Pair<>(gradientObject(), NativeKernels.nchwView(dx));
        }
        INDArray dx = units().get(0).backward(eps, gradientViews, mgr, ArrayType.ACTIVATION_GRAD);
        return new Pair<>(gradientObject(), dx);
    }
}
