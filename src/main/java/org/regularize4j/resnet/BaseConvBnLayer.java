package org.regularize4j.resnet;

import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.shade.jackson.annotation.JsonIgnore;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.regularize4j.penalty.ParamKind;
import org.regularize4j.penalty.ParamKindAware;
import org.regularize4j.penalty.PerParameterRegularization;
import org.regularize4j.util.Checks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Configuration shared by the ResNet layers that are stacks of {@link ConvBnSpec} units ({@link ConvBnLayer},
 * {@link ResidualBlock}): NCHW input with {@code nIn} channels, {@code nOut} output channels, batch-norm
 * momentum and epsilon, and which penalties apply to which parameter. A layer keeps one penalty list per
 * parameter ({@link PerParameterRegularization}, written by a
 * {@link org.regularize4j.penalty.RegularizationPolicy}); a parameter without its own list falls back by
 * kind ({@link ParamKindAware}): convolution weights (WEIGHT) take the layer's {@code regularization} list
 * (as DL4J's weights do), batch-norm gamma/beta (NORM) none, and the running statistics (STATISTIC) never
 * any. The statistics are never touched by the updater either: they are updated as DL4J's
 * {@code BatchNormalization} does, as pseudo-gradients with a {@code NoOp} updater.
 *
 * <p>Batch norm follows PyTorch: running mean/variance {@code r ← decay·r + (1 − decay)·batch} with the
 * unbiased batch variance, {@code decay = 0.9} (PyTorch momentum 0.1), {@code eps = 1e-5}.
 *
 * <pre>{@code
 * ConvBnLayer stem = new ConvBnLayer.Builder().nIn(3).nOut(16).kernelSize(3).stride(1).build();
 * long n = stem.initializer().numParams(stem);   // 16*3*3*3 weights + 4*16 batch-norm values
 * }</pre>
 */
public abstract class BaseConvBnLayer extends org.deeplearning4j.nn.conf.layers.BaseLayer
        implements ParamKindAware, PerParameterRegularization {
    private static final long serialVersionUID = 1L;

    @JsonProperty("nIn")
    protected long nIn;
    @JsonProperty("nOut")
    protected long nOut;
    @JsonProperty("bnDecay")
    protected double bnDecay = 0.9;
    @JsonProperty("bnEps")
    protected double bnEps = 1e-5;
    @JsonProperty("regularizationByParam")
    protected Map<String, List<Regularization>> regularizationByParam = new LinkedHashMap<>();

    protected BaseConvBnLayer() {
    }

    protected BaseConvBnLayer(Builder<?> b) {
        super(b);
        this.nIn = b.nIn;
        this.nOut = b.nOut;
        this.bnDecay = Checks.probability("bnDecay", b.bnDecay);
        this.bnEps = b.bnEps;
        if (!(bnEps > 0) || Double.isInfinite(bnEps)) {
            throw new IllegalArgumentException("bnEps must be finite and > 0, got " + bnEps);
        }
    }

    /** The conv + batch-norm units of this layer, in forward order; the shortcut projection, if any, last. */
    public abstract List<ConvBnSpec> units();

    @JsonIgnore
    public long getNIn() {
        return nIn;
    }

    public void setNIn(long nIn) {
        this.nIn = nIn;
    }

    @JsonIgnore
    public long getNOut() {
        return nOut;
    }

    public void setNOut(long nOut) {
        this.nOut = nOut;
    }

    /** Running-statistics decay (PyTorch momentum = 1 − decay). */
    public double getBnDecay() {
        return bnDecay;
    }

    public double getBnEps() {
        return bnEps;
    }

    /** The penalty lists set per parameter (parameters not in the map fall back by kind). */
    public Map<String, List<Regularization>> getRegularizationByParam() {
        return regularizationByParam;
    }

    /**
     * Sets one parameter's penalties (an empty list: none). Running statistics cannot be penalized.
     */
    @Override
    public void setRegularizationByParam(String paramName, List<Regularization> penalties) {
        if (kindOf(paramName) == ParamKind.STATISTIC) {
            throw new IllegalArgumentException("Layer \"" + layerName + "\": parameter \"" + paramName
                    + "\" is a batch-norm running statistic and cannot be penalized");
        }
        regularizationByParam.put(paramName, penalties == null ? new ArrayList<>() : new ArrayList<>(penalties));
    }

    /** The kind of parameter a key names: WEIGHT, NORM or STATISTIC. */
    @Override
    public ParamKind kindOf(String paramName) {
        return ConvBnParamInitializer.kindOf(this, paramName);
    }

    /** The common part of {@code instantiate}: wires an implementation to its configuration and parameters. */
    protected org.deeplearning4j.nn.api.Layer bind(org.deeplearning4j.nn.layers.BaseLayer<?> impl,
                                                   NeuralNetConfiguration conf,
                                                   Collection<TrainingListener> listeners, int layerIndex,
                                                   INDArray layerParamsView, boolean initializeParams) {
        return org.regularize4j.util.LayerInstances.bind(impl, initializer(), conf, listeners, layerIndex,
                layerParamsView, initializeParams);
    }

    @Override
    public ParamInitializer initializer() {
        return ConvBnParamInitializer.INSTANCE;
    }

    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        ParamKind kind = kindOf(paramName);
        if (kind == ParamKind.STATISTIC) {
            return null;
        }
        List<Regularization> own = regularizationByParam.get(paramName);
        if (own != null) {
            return own;
        }
        return kind == ParamKind.WEIGHT ? regularization : null;
    }

    @Override
    public IUpdater getUpdaterByParam(String paramName) {
        if (kindOf(paramName) == ParamKind.STATISTIC) {
            return new NoOp();
        }
        return super.getUpdaterByParam(paramName);
    }

    @Override
    public boolean isPretrainParam(String paramName) {
        return false;
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        InputType.InputTypeConvolutional c = convInput(inputType);
        if (nIn <= 0 || override) {
            nIn = c.getChannels();
        }
    }

    @Override
    public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
        convInput(inputType);
        return null;
    }

    /** Checks that the input is NCHW convolutional and returns it. */
    protected InputType.InputTypeConvolutional convInput(InputType inputType) {
        if (!(inputType instanceof InputType.InputTypeConvolutional)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " \"" + layerName
                    + "\" needs convolutional input (InputType.convolutional(h, w, c)), got " + inputType);
        }
        InputType.InputTypeConvolutional c = (InputType.InputTypeConvolutional) inputType;
        if (c.getFormat() != CNN2DFormat.NCHW) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " \"" + layerName
                    + "\" supports NCHW input only, got " + c.getFormat());
        }
        return c;
    }

    @Override
    public LayerMemoryReport getMemoryReport(InputType inputType) {
        InputType out = getOutputType(-1, inputType);
        long params = initializer().numParams(this);
        long perUnit = out.arrayElementsPerExample();
        return new LayerMemoryReport.Builder(layerName, getClass(), inputType, out)
                .standardMemory(params, params)
                // training keeps each unit's convolution and batch-norm outputs for the backward pass
                .workingMemory(0, 0, 0, 2 * perUnit * units().size())
                .cacheMemory(0, 0)
                .build();
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (o == null || o.getClass() != getClass() || !super.equals(o)) {
            return false;
        }
        BaseConvBnLayer that = (BaseConvBnLayer) o;
        return nIn == that.nIn && nOut == that.nOut && Double.compare(bnDecay, that.bnDecay) == 0
                && Double.compare(bnEps, that.bnEps) == 0
                && Objects.equals(regularizationByParam, that.regularizationByParam);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), nIn, nOut, bnDecay, bnEps, regularizationByParam);
    }

    @Override
    public BaseConvBnLayer clone() {
        BaseConvBnLayer c = (BaseConvBnLayer) super.clone();
        c.regularizationByParam = new LinkedHashMap<>();
        for (Map.Entry<String, List<Regularization>> e : regularizationByParam.entrySet()) {
            List<Regularization> copy = new ArrayList<>();
            for (Regularization r : e.getValue()) {
                copy.add(r.clone());
            }
            c.regularizationByParam.put(e.getKey(), copy);
        }
        return c;
    }

    /** Builder fields shared by the conv + batch-norm layers. */
    @SuppressWarnings("unchecked")
    public abstract static class Builder<T extends Builder<T>>
            extends org.deeplearning4j.nn.conf.layers.BaseLayer.Builder<T> {
        protected long nIn;
        protected long nOut;
        protected double bnDecay = 0.9;
        protected double bnEps = 1e-5;

        /** Input channels (set automatically from the input type when omitted). */
        public T nIn(long nIn) {
            this.nIn = nIn;
            return (T) this;
        }

        /** Output channels. */
        public T nOut(long nOut) {
            this.nOut = nOut;
            return (T) this;
        }

        /** Running-statistics decay in [0, 1]; PyTorch momentum = 1 − decay. Default 0.9. */
        public T bnDecay(double bnDecay) {
            this.bnDecay = bnDecay;
            return (T) this;
        }

        /** Batch-norm epsilon, > 0. Default 1e-5. */
        public T bnEps(double bnEps) {
            this.bnEps = bnEps;
            return (T) this;
        }
    }
}
