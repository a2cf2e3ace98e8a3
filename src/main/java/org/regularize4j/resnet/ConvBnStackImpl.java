package org.regularize4j.resnet;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.regularize4j.backend.ConvBnKernels;
import org.regularize4j.backend.KernelPath;
import org.regularize4j.backend.KernelPaths;
import org.regularize4j.penalty.ParamKind;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Implementation side shared by the ResNet layers: one {@link ConvBnUnit} per {@link ConvBnSpec} of the
 * configuration, bound to the layer's parameter and gradient views, all on the {@link ConvBnKernels} that
 * {@link KernelPaths} chose for this layer when it was created; the running statistics are excluded from the
 * updater's division by the mini-batch size (as in DL4J's BatchNormalization).
 *
 * @param <C> the layer configuration type
 */
abstract class ConvBnStackImpl<C extends BaseConvBnLayer> extends BaseLayer<C> {
    private final ConvBnKernels kernels;
    private List<ConvBnUnit> units;

    ConvBnStackImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
        this.kernels = KernelPaths.select(dataType);
    }

    /** The kernels this layer runs on (chosen once, when it was created). */
    protected ConvBnKernels kernels() {
        return kernels;
    }

    /** The path this layer runs on (chosen once, when it was created by its network). */
    public KernelPath kernelPath() {
        return kernels.path();
    }

    /** The runtime units, in the order of {@link BaseConvBnLayer#units()}. */
    protected List<ConvBnUnit> units() {
        if (units == null) {
            C c = layerConf();
            List<ConvBnUnit> list = new ArrayList<>();
            for (ConvBnSpec s : c.units()) {
                list.add(new ConvBnUnit(s, c.getBnEps(), c.getBnDecay(), kernels));
            }
            units = Collections.unmodifiableList(list);
        }
        return units;
    }

    /**
     * The layer input in the kernels' layout and the network's type. A copy, when needed, goes where it lives long
     * enough: the ACTIVATIONS workspace while training (the backward pass reads it), working memory otherwise.
     */
    protected INDArray layerInput(boolean training, LayerWorkspaceMgr mgr) {
        return kernels.toInner(input, dataType, training ? ArrayType.ACTIVATIONS : ArrayType.FF_WORKING_MEM, mgr);
    }

    /** The gradient at the layer's output in the kernels' layout (a view or a copy in BP_WORKING_MEM). */
    protected INDArray outputGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        return kernels.toInner(epsilon, dataType, ArrayType.BP_WORKING_MEM, mgr);
    }
    /**
     * FLOPs (2 per multiply-add) of this layer's convolutions since it was created: forward passes, and input and
     * weight gradients in backward passes. For benchmarks ({@code bench} reports GFLOP/s of a whole step).
     */
    public long convolutionFlops() {
        long n = 0;
        for (ConvBnUnit u : units()) {
            n += u.convolutionFlops();
        }
        return n;
    }

    /**
     * Each convolution's last call as {@code {n, cIn, h, w, cOut, kernel, stride, padding}} (input sizes), skipping
     * convolutions that have not run yet. For benchmarks.
     */
    public List<int[]> lastConvolutionShapes() {
        List<int[]> out = new ArrayList<>();
        for (ConvBnUnit u : units()) {
            long[] in = u.lastInputShape();
            if (in == null) {
                continue;
            }
            boolean nhwc = kernels.channelsLast();
            ConvBnSpec s = u.spec();
            out.add(new int[] {(int) in[0], s.inChannels(), (int) (nhwc ? in[1] : in[2]), (int) (nhwc ? in[2] : in[3]),
                s.outChannels(), s.kernel(), s.stride(), s.padding()});
        }
        return out;
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
