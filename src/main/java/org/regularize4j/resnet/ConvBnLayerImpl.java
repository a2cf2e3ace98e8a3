package org.regularize4j.resnet;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
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

    public ConvBnLayerImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /** Whether the layer runs channels-last (direct oneDNN convolution, output a view of NHWC). */
    public boolean wasChannelsLast() {
        return kernels().channelsLast();
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        bindUnits();
        return kernels().toOuter(units().get(0).forward(layerInput(training, mgr), training, mgr,
                ArrayType.ACTIVATIONS));
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        boolean wanted = layerConf().isInputGradient();
        INDArray dx = units().get(0).backward(outputGradient(epsilon, mgr), gradientViews, mgr,
                wanted ? ArrayType.ACTIVATION_GRAD : null);
        // no input gradient: DL4J takes a null one for a layer fed by a network input (as from its EmbeddingLayer)
        return new Pair<>(gradientObject(), wanted ? kernels().toOuter(dx) : null);
    }
}
