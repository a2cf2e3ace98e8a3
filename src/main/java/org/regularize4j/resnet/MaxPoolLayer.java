package org.regularize4j.resnet;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collection;

/**
 * Max pooling for the ResNet builder's ImageNet stem: DL4J's {@link SubsamplingLayer} (same configuration, same
 * results, saved and loaded like it), whose implementation ({@link MaxPoolLayerImpl}) pools channels-last activations
 * in place with oneDNN ({@link org.regularize4j.backend.DirectPool}) where the layer runs on the channels-last path,
 * instead of libnd4j's NCHW op on a strided view followed by a copy back to channels-last in the next layer.
 *
 * <pre>{@code
 * MaxPoolLayer pool = new MaxPoolLayer.Builder(3, 2, 1).build();   // 3x3 window, stride 2, padding 1
 * }</pre>
 */
public class MaxPoolLayer extends SubsamplingLayer {

    /** For JSON deserialization. */
    protected MaxPoolLayer() {
        super();
    }

    protected MaxPoolLayer(Builder builder) {
        super(builder);
    }

    @Override
    public org.deeplearning4j.nn.api.Layer instantiate(NeuralNetConfiguration conf,
                                                       Collection<TrainingListener> trainingListeners, int layerIndex,
                                                       INDArray layerParamsView, boolean initializeParams,
                                                       DataType networkDataType) {
        return org.regularize4j.util.LayerInstances.bind(new MaxPoolLayerImpl(conf, networkDataType), initializer(), conf,
                trainingListeners, layerIndex, layerParamsView, initializeParams);
    }

    @Override
    public MaxPoolLayer clone() {
        return (MaxPoolLayer) super.clone();
    }

    /** Square max pooling: window, stride and symmetric padding (truncating output sizes). */
    public static class Builder extends SubsamplingLayer.Builder {

        /**
         * @param kernel  window size, >= 1
         * @param stride  stride, >= 1
         * @param padding padding on each side, in [0, kernel - 1]
         */
        public Builder(int kernel, int stride, int padding) {
            super(PoolingType.MAX, new int[] {kernel, kernel}, new int[] {stride, stride}, new int[] {padding, padding});
            if (kernel < 1 || stride < 1) {
                throw new IllegalArgumentException("kernel and stride must be >= 1, got kernel " + kernel + ", stride "
                        + stride);
            }
            if (padding < 0 || padding >= kernel) {
                throw new IllegalArgumentException("padding must be in [0, " + (kernel - 1) + "] (kernel - 1), got "
                        + padding);
            }
            convolutionMode(ConvolutionMode.Truncate);
        }

        @Override
        @SuppressWarnings("unchecked")
        public MaxPoolLayer build() {
            super.build();   // DL4J's validation
            return new MaxPoolLayer(this);
        }
    }
}
