package org.regularize4j.resnet;

import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.shade.jackson.annotation.JsonIgnore;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.regularize4j.util.Checks;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Configuration shared by the ResNet layers that are stacks of {@link ConvBnSpec} units ({@link ConvBnLayer},
 * {@link ResidualBlock}): NCHW input with {@code nIn} channels, {@code nOut} output channels, batch-norm
 * momentum and epsilon, and which penalties apply to which kind of parameter:
 * convolution weights take the layer's {@code regularization} list (like DL4J's weights), batch-norm
 * gamma/beta take {@link #getRegularizationNorm()} (empty by default), the running statistics never take
 * any and are never touched by the updater (they are updated as DL4J's {@code BatchNormalization} does, as
 * pseudo-gradients with a {@code NoOp} updater).
 *
 * <p>Batch norm follows PyTorch: running mean/variance {@code r ← decay·r + (1 − decay)·batch} with the
 * unbiased batch variance, {@code decay = 0.9} (PyTorch momentum 0.1), {@code eps = 1e-5}.
 *
 * <pre>{@code
 * ConvBnLayer stem = new ConvBnLayer.Builder().nIn(3).nOut(16).kernelSize(3).stride(1).build();
 * long n = stem.initializer().numParams(stem);   // 16*3*3*3 weights + 4*16 batch-norm values
 * }</pre>
 */
public abstract class BaseConvBnLayer extends org.deeplearning4j.nn.conf.layers.BaseLayer {
    private static final long serialVersionUID = 1L;

    @JsonProperty("nIn")
    protected long nIn;
    @JsonProperty("nOut")
    protected long nOut;
    @JsonProperty("bnDecay")
    protected double bnDecay = 0.9;
    @JsonProperty("bnEps")
    protected double bnEps = 1e-5;
    @JsonProperty("regularizationNorm")
    protected List<Regularization> regularizationNorm = new ArrayList<>();

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

    /** Penalties on the batch-norm gamma and beta (empty: none, the usual choice). */
    public List<Regularization> getRegularizationNorm() {
        return regularizationNorm;
    }

    public void setRegularizationNorm(List<Regularization> regularizationNorm) {
        this.regularizationNorm = regularizationNorm == null ? new ArrayList<>() : new ArrayList<>(regularizationNorm);
    }

    /** The kind of parameter a key names. */
    public ConvBnParamInitializer.Kind kindOf(String paramKey) {
        return ConvBnParamInitializer.kindOf(this, paramKey);
    }

    @Override
    public ParamInitializer initializer() {
        return ConvBnParamInitializer.INSTANCE;
    }

    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        switch (kindOf(paramName)) {
            case WEIGHT:
                return regularization;
            case NORM:
                return regularizationNorm;
            default:
                return null;
        }
    }

    @Override
    public IUpdater getUpdaterByParam(String paramName) {
        if (kindOf(paramName) == ConvBnParamInitializer.Kind.RUNNING_STAT) {
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
                && Objects.equals(regularizationNorm, that.regularizationNorm);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), nIn, nOut, bnDecay, bnEps, regularizationNorm);
    }

    @Override
    public BaseConvBnLayer clone() {
        BaseConvBnLayer c = (BaseConvBnLayer) super.clone();
        c.regularizationNorm = new ArrayList<>();
        for (Regularization r : regularizationNorm) {
            c.regularizationNorm.add(r.clone());
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
