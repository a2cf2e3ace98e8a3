package org.regularize4j.penalty;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.NoParamLayer;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.regularize4j.util.Checks;

import java.util.Collection;
import java.util.Objects;

/**
 * An identity layer that adds an activity penalty on its input to the loss, like Keras's
 * {@code layers.ActivityRegularization(l1, l2)}: {@code (l1 * sum|a| + l2 * sum a²) / batchSize}, where
 * {@code batchSize} is the number of examples (dimension 0 of the input). Its gradient
 * {@code l1 * sign(a) + 2 * l2 * a} is added to the gradient flowing backward (not divided: DL4J's updater
 * divides the whole gradient by the batch size later, just as the data loss is divided before the penalties
 * are added). With {@code miniBatch(false)} neither is divided. There is no ½ on the l2 term, as in Keras.
 *
 * <p><b>Which Keras behaviour.</b> tf.keras 2.x divided activity penalties by the batch size; early Keras 3
 * releases added the undivided sum; current Keras 3 divides again. We divide (per-example strength,
 * independent of the batch size). Unlike Keras we honour masks: for rank-3 input {@code [batch, size, time]}
 * (or NWC) with a {@code [batch, time]} mask, padded steps do not count; rank-2 and rank-4 input accept
 * per-example or same-shape masks.
 *
 * <p>It must be a layer (not a vertex): DL4J sums {@code calcRegularizationScore} over layers only. The score is
 * computed in each forward pass (two reductions over the activations), so the network's score is data loss +
 * weight penalties + activity penalties. Place it where dimension 0 counts examples (before an
 * RnnToFeedForward preprocessor, not after it). Global dropout is not applied by this layer.
 *
 * <pre>{@code
 * MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).list()
 *         .layer(new DenseLayer.Builder().nIn(4).nOut(8).activation(Activation.RELU).build())
 *         .layer(new ActivityRegularization(1e-4, 1e-3))
 *         .layer(new OutputLayer.Builder().nIn(8).nOut(3).activation(Activation.SOFTMAX).build())
 *         .build();
 * }</pre>
 */
public class ActivityRegularization extends NoParamLayer {
    private static final long serialVersionUID = 1L;

    @JsonProperty("l1")
    private double l1;
    @JsonProperty("l2")
    private double l2;
    @JsonProperty("rnnDataFormat")
    private RNNFormat rnnDataFormat = RNNFormat.NCW;

    /** For JSON. */
    private ActivityRegularization() {
    }

    /**
     * @param l1 coefficient of {@code sum|a|}, finite and {@code >= 0}
     * @param l2 coefficient of {@code sum a²} (no ½), finite and {@code >= 0}
     */
    public ActivityRegularization(double l1, double l2) {
        this(new Builder().l1(l1).l2(l2));
    }

    private ActivityRegularization(Builder builder) {
        super(builder);
        this.l1 = builder.l1;
        this.l2 = builder.l2;
        this.rnnDataFormat = builder.rnnDataFormat;
    }

    public double getL1() {
        return l1;
    }

    public double getL2() {
        return l2;
    }

    /** Layout of rank-3 input, taken from the input type (NCW unless the input is NWC). */
    public RNNFormat getRnnDataFormat() {
        return rnnDataFormat;
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> trainingListeners,
                             int layerIndex, INDArray layerParamsView, boolean initializeParams,
                             DataType networkDataType) {
        return org.regularize4j.util.LayerInstances.bind(new ActivityRegularizationImpl(conf, networkDataType), initializer(), conf,
                trainingListeners, layerIndex, layerParamsView, initializeParams);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        if (inputType == null) {
            throw new IllegalStateException("Invalid input type: null for layer name \"" + getLayerName() + "\"");
        }
        return inputType;
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        if (inputType instanceof InputType.InputTypeRecurrent) {
            rnnDataFormat = ((InputType.InputTypeRecurrent) inputType).getFormat();
        }
    }

    @Override
    public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
        return null;
    }

    @Override
    public LayerMemoryReport getMemoryReport(InputType inputType) {
        long perExample = inputType.arrayElementsPerExample();
        return new LayerMemoryReport.Builder(layerName, ActivityRegularization.class, inputType, inputType)
                .standardMemory(0, 0)
                .workingMemory(0, 0, 0, perExample)
                .cacheMemory(MemoryReport.CACHE_MODE_ALL_ZEROS, MemoryReport.CACHE_MODE_ALL_ZEROS)
                .build();
    }

    @Override
    public ActivityRegularization clone() {
        return (ActivityRegularization) super.clone();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ActivityRegularization) || !super.equals(o)) {
            return false;
        }
        ActivityRegularization that = (ActivityRegularization) o;
        return Double.compare(l1, that.l1) == 0 && Double.compare(l2, that.l2) == 0
                && rnnDataFormat == that.rnnDataFormat;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), l1, l2, rnnDataFormat);
    }

    @Override
    public String toString() {
        return "ActivityRegularization(l1=" + l1 + ", l2=" + l2 + ")";
    }

    /**
     * Builds an {@link ActivityRegularization}; use it to name the layer in a MultiLayerNetwork.
     *
     * <pre>{@code
     * ActivityRegularization act = new ActivityRegularization.Builder().l2(1e-3).name("act").build();
     * }</pre>
     */
    public static class Builder extends org.deeplearning4j.nn.conf.layers.Layer.Builder<Builder> {
        private double l1;
        private double l2;
        private RNNFormat rnnDataFormat = RNNFormat.NCW;

        /** Coefficient of {@code sum|a|}, finite and {@code >= 0} (default 0). */
        public Builder l1(double l1) {
            this.l1 = Checks.nonNegative("l1", l1);
            return this;
        }

        /** Coefficient of {@code sum a²}, finite and {@code >= 0} (default 0). */
        public Builder l2(double l2) {
            this.l2 = Checks.nonNegative("l2", l2);
            return this;
        }

        /** Layout of rank-3 input when no input type is given (NCW by default). */
        public Builder rnnDataFormat(RNNFormat format) {
            this.rnnDataFormat = Checks.notNull("format", format);
            return this;
        }

        @Override
        @SuppressWarnings("unchecked")
        public ActivityRegularization build() {
            return new ActivityRegularization(this);
        }
    }
}
