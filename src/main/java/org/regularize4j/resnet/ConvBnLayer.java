package org.regularize4j.resnet;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.regularize4j.backend.NativeOps;
import org.regularize4j.util.Checks;

import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * Convolution (no bias) + batch normalization + ReLU in one layer, on the libnd4j/oneDNN kernels of
 * {@link NativeOps}: the ResNet stem. Parameters: {@code convW}, {@code bnGamma}, {@code bnBeta},
 * {@code bnMean}, {@code bnVar}. Padding is {@code kernelSize / 2} (PyTorch's).
 *
 * <pre>{@code
 * ConvBnLayer stem = new ConvBnLayer.Builder().nIn(3).nOut(16).kernelSize(3).stride(1).name("stem").build();
 * }</pre>
 */
public class ConvBnLayer extends BaseConvBnLayer {
    private static final long serialVersionUID = 1L;

    @JsonProperty("kernelSize")
    private int kernelSize = 3;
    @JsonProperty("stride")
    private int stride = 1;

    /** For JSON. */
    protected ConvBnLayer() {
    }

    protected ConvBnLayer(Builder b) {
        super(b);
        this.kernelSize = Checks.atLeast("kernelSize", b.kernelSize, 1);
        this.stride = Checks.atLeast("stride", b.stride, 1);
    }

    public int getKernelSize() {
        return kernelSize;
    }

    public int getStride() {
        return stride;
    }

    @Override
    public List<ConvBnSpec> units() {
        return List.of(new ConvBnSpec("conv", "bn", (int) nIn, (int) nOut, kernelSize, stride, true));
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                             INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        return bind(new ConvBnLayerImpl(conf, networkDataType), conf, listeners, layerIndex, layerParamsView,
                initializeParams);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        InputType.InputTypeConvolutional in = convInput(inputType);
        long h = NativeOps.outSize(in.getHeight(), kernelSize, stride, kernelSize / 2);
        long w = NativeOps.outSize(in.getWidth(), kernelSize, stride, kernelSize / 2);
        if (h < 1 || w < 1) {
            throw new IllegalArgumentException("ConvBnLayer \"" + layerName + "\": input " + in.getHeight() + "x"
                    + in.getWidth() + " is too small for a " + kernelSize + "x" + kernelSize + " convolution");
        }
        return InputType.convolutional(h, w, nOut);
    }

    @Override
    public boolean equals(Object o) {
        return super.equals(o) && kernelSize == ((ConvBnLayer) o).kernelSize && stride == ((ConvBnLayer) o).stride;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), kernelSize, stride);
    }

    /** Builder in DL4J's style. */
    public static class Builder extends BaseConvBnLayer.Builder<Builder> {
        private int kernelSize = 3;
        private int stride = 1;

        /** Square kernel size, >= 1. Default 3. */
        public Builder kernelSize(int kernelSize) {
            this.kernelSize = kernelSize;
            return this;
        }

        /** Stride, >= 1. Default 1. */
        public Builder stride(int stride) {
            this.stride = stride;
            return this;
        }

        @Override
        @SuppressWarnings("unchecked")
        public ConvBnLayer build() {
            return new ConvBnLayer(this);
        }
    }
}
