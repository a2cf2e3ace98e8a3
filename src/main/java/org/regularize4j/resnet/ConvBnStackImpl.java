package org.regularize4j.resnet;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.regularize4j.backend.DirectConv;
import org.regularize4j.backend.NativeKernels;
import org.regularize4j.backend.NativeOps;
import org.regularize4j.penalty.ParamKind;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Implementation side shared by the ResNet layers: one {@link ConvBnUnit} per {@link ConvBnSpec} of the
 * configuration, bound to the layer's parameter and gradient views; the running statistics are excluded
 * from the updater's division by the mini-batch size (as in DL4J's BatchNormalization).
 *
 * @param <C> the layer configuration type
 */
abstract class ConvBnStackImpl<C extends BaseConvBnLayer> extends BaseLayer<C> {
    private List<ConvBnUnit> units;

    ConvBnStackImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    /** The runtime units, in the order of {@link BaseConvBnLayer#units()}. */
    protected List<ConvBnUnit> units() {
        if (units == null) {
            C c = layerConf();
            List<ConvBnUnit> list = new ArrayList<>();
            for (ConvBnSpec s : c.units()) {
                list.add(new ConvBnUnit(s, c.getBnEps(), c.getBnDecay()));
            }
            units = Collections.unmodifiableList(list);
        }
        return units;
    }

    /**
     * The layer input as a 'c'-contiguous array of the network's type. A copy, when needed, goes where it
     * lives long enough: the ACTIVATIONS workspace while training (the backward pass reads it), working
     * memory otherwise.
     */
    protected INDArray layerInput(boolean training, LayerWorkspaceMgr mgr) {
        INDArray x = input;
        if (x.dataType() == dataType && NativeOps.isCContiguous(x)) {
            return x;
        }
        ArrayType type = training ? ArrayType.ACTIVATIONS : ArrayType.FF_WORKING_MEM;
        INDArray copy = mgr.createUninitialized(type, dataType, x.shape(), 'c');
        return copy.assign(x);
    }

    /**
     * Whether this pass runs channels-last: float, direct oneDNN convolutions usable ({@link DirectConv}), and a
     * rank-4 input (either layout: an NCHW input is transposed once).
     */
    protected boolean channelsLastFor(INDArray in) {
        return dataType == DataType.FLOAT && in.dataType() == DataType.FLOAT && in.rank() == 4
                && DirectConv.isUsable();
    }

    /** The input as a 'c'-ordered [n, h, w, c] array: a view of a channels-last input, else a transposed copy. */
    protected INDArray channelsLastInput(boolean training, LayerWorkspaceMgr mgr) {
        if (NativeKernels.isNhwcView(input)) {
            return input.permute(0, 2, 3, 1);
        }
        INDArray x = NativeOps.contiguous(input);
        INDArray xh = mgr.createUninitialized(training ? ArrayType.ACTIVATIONS : ArrayType.FF_WORKING_MEM, dataType,
                new long[] {x.size(0), x.size(2), x.size(3), x.size(1)}, 'c');
        transpose(x, xh, true);
        return xh;
    }

    /** An output gradient as a 'c'-ordered [n, h, w, c] array (a view when it is stored channels-last). */
    protected INDArray channelsLastGradient(INDArray eps, ArrayType type, LayerWorkspaceMgr mgr) {
        if (NativeKernels.isNhwcView(eps)) {
            return eps.permute(0, 2, 3, 1);
        }
        INDArray e = NativeOps.contiguous(eps);
        INDArray eh = mgr.createUninitialized(type, dataType, new long[] {e.size(0), e.size(2), e.size(3), e.size(1)},
                'c');
        transpose(e, eh, true);
        return eh;
    }

    protected static void transpose(INDArray src, INDArray dst, boolean toNhwc) {
        if (!NativeKernels.transpose(src, dst, toNhwc, false)) {
            throw new IllegalStateException("channels-last blocks need the native kernels: " + NativeKernels.status());
        }
    }

    /** Points every unit at the current parameter views. */
    protected void bindUnits() {
        for (ConvBnUnit u : units()) {
            u.bind(params);
        }
    }

    /** A Gradient holding every parameter's gradient view, in parameter order. */
    protected Gradient gradientObject() {
        Gradient g = new DefaultGradient(gradientsFlattened);
        for (String key : conf.getLayer().initializer().paramKeys(conf.getLayer())) {
            g.gradientForVariable().put(key, gradientViews.get(key));
        }
        return g;
    }

    /**
     * The flat vector holds the kernels in 'c' order (ConvBnParamInitializer's views); BaseLayer would read it in 'f'
     * order and permute every kernel (what DL4J's ConvolutionLayer overrides too). TransferLearning copies kept
     * layers' parameters through this method.
     */
    @Override
    public void setParams(INDArray params) {
        if (params != paramsFlattened) {
            setParams(params, 'c');
        }
    }

    @Override
    public boolean updaterDivideByMinibatch(String paramName) {
        return layerConf().kindOf(paramName) != ParamKind.STATISTIC;
    }

    @Override
    public Type type() {
        return Type.CONVOLUTIONAL;
    }

    @Override
    public boolean isPretrainLayer() {
        return false;
    }

    @Override
    public void fit(INDArray input, LayerWorkspaceMgr workspaceMgr) {
        throw new UnsupportedOperationException("Not supported: layer \"" + layerConf().getLayerName()
                + "\" is trained through its network");
    }

    @Override
    public void clear() {
        super.clear();
        if (units != null) {
            for (ConvBnUnit u : units) {
                u.clear();
            }
        }
    }
}
