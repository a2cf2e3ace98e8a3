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
    @JsonProperty("inputGradient")
    private boolean inputGradient = true;

    /** For JSON. */
    protected ConvBnLayer() {
    }

    protected ConvBnLayer(Builder b) {
        super(b);
        this.kernelSize = Checks.atLeast("kernelSize", b.kernelSize, 1);
        this.stride = Checks.atLeast("stride", b.stride, 1);
        this.inputGradient = b.inputGradient;
    }

    public int getKernelSize() {
        return kernelSize;
    }

    public int getStride() {
        return stride;
    }

    /** Whether the backward pass computes the gradient of the layer's input (see {@link Builder#inputGradient}). */
    public boolean isInputGradient() {
        return inputGradient;
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
        return super.equals(o) && kernelSize == ((ConvBnLayer) o).kernelSize && stride == ((ConvBnLayer) o).stride
                && inputGradient == ((ConvBnLayer) o).inputGradient;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), kernelSize, stride, inputGradient);
    }

    /** Builder in DL4J's style. */
    public static class Builder extends BaseConvBnLayer.Builder<Builder> {
        private int kernelSize = 3;
        private int stride = 1;
        private boolean inputGradient = true;

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

        /**
         * Whether the backward pass computes the gradient of the layer's input. Default true. False only for a
         * layer fed directly by a network input (a stem): on the channels-last path the gradient of the data is
         * then not computed (DL4J discards it anyway; the NCHW paths compute it and drop it), which at 3x224x224
         * saves the 7x7 convolution's slowest pass, 3.5% of a ResNet-50 step; the layer hands DL4J a null input
         * gradient, which DL4J accepts only from a layer fed by an input.
         * {@link ResNet} sets it for its stem.
         */
        public Builder inputGradient(boolean inputGradient) {
            this.inputGradient = inputGradient;
            return this;
        }

        @Override
        @SuppressWarnings("unchecked")
        public ConvBnLayer build() {
            return new ConvBnLayer(this);
        }
    }
}
