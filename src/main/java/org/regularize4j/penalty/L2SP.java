package org.regularize4j.penalty;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.serde.jackson.shaded.NDArrayDeSerializer;
import org.nd4j.serde.jackson.shaded.NDArraySerializer;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.nd4j.shade.jackson.databind.annotation.JsonDeserialize;
import org.nd4j.shade.jackson.databind.annotation.JsonSerialize;
import org.regularize4j.util.Checks;

import java.util.Arrays;
import java.util.Objects;

/**
 * L2-SP (Li, Grandvalet &amp; Davoine 2018): {@code ½ * coeff * ||w - w0||²} toward reference weights {@code w0},
 * usually the pretrained weights a network is fine-tuned from; gradient {@code coeff * (w - w0)}, added before
 * the updater. The score is the penalty itself.
 *
 * <p><b>One instance per parameter.</b> DL4J does not tell a penalty which parameter it receives, and a stock
 * layer shares one list between its weight parameters (an LSTM's {@code W} and {@code RW}), so an L2SP is
 * bound to one parameter: its reference has that parameter's shape. Let a {@link RegularizationPolicy} do the
 * binding with {@link #towards(double, Model)}: it gives every selected parameter its own instance whose
 * reference is the parameter of the same layer name and key in the reference model (and fails, quoting the
 * rule, if that parameter is missing or has another shape, or if two parameters share one DL4J list).
 *
 * <p><b>The reference is saved with the model.</b> The reference weights are part of this configuration object:
 * the JSON configuration holds them (base64, via ND4J's array serializer), and so do Java serialization and
 * {@code ModelSerializer}, so a restored network keeps penalizing toward the same {@code w0} with no extra step
 * (the price: the configuration is as large as the penalized weights). The reference is copied when bound and
 * never re-read from any network; to re-bind (for example after TransferLearning replaced layers, or to use
 * other reference weights) apply the policy again.
 *
 * <p>DL4J's updater hands penalties a flat view of each parameter, in the parameter's memory order ('f' for
 * dense weights, 'c' for convolution kernels). {@link #towards(double, Model)} records that order; the
 * two-argument constructor takes it from the reference array, so pass the parameter as the network holds it
 * ({@code net.getParam("0_W")}) or give the order explicitly. A wrong order is detected on the first score
 * computation (which DL4J runs before each update).
 *
 * <pre>{@code
 * MultiLayerNetwork pretrained = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1).list()
 *         .layer(new DenseLayer.Builder().nIn(4).nOut(3).build())
 *         .layer(new OutputLayer.Builder().nIn(3).nOut(2).activation(Activation.SOFTMAX).build()).build());
 * pretrained.init();
 * RegularizationPolicy fineTune = RegularizationPolicy.builder()
 *         .penalize(Selector.kinds(ParamKind.WEIGHT), L2SP.towards(1e-2, pretrained))
 *         .build();
 * Regularization single = new L2SP(1e-2, pretrained.getParam("0_W"));   // bound to one parameter by hand
 * }</pre>
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
public final class L2SP implements Regularization {
    private static final long serialVersionUID = 1L;

    @JsonProperty("coeff")
    private final ISchedule coeff;
    @JsonProperty("reference")
    @JsonSerialize(using = NDArraySerializer.class)
    @JsonDeserialize(using = NDArrayDeSerializer.class)
    private final INDArray reference;
    @JsonProperty("paramOrder")
    private final char paramOrder;

    /** The reference flattened in paramOrder, cast to the parameters' type: built on first use. */
    private transient volatile INDArray flatCache;

    /**
     * @param coeff     coefficient, finite and {@code >= 0}
     * @param reference reference weights (copied), shaped like the parameter, in the parameter's memory order
     */
    public L2SP(double coeff, INDArray reference) {
        this(Coefficient.fixed("coeff", coeff), reference, Checks.notNull("reference", reference).ordering());
    }

    /**
     * @param coeff      coefficient, finite and {@code >= 0}
     * @param reference  reference weights (copied), shaped like the parameter
     * @param paramOrder memory order of the parameter in the network, 'c' or 'f'
     */
    public L2SP(double coeff, INDArray reference, char paramOrder) {
        this(Coefficient.fixed("coeff", coeff), reference, paramOrder);
    }

    /** Scheduled coefficient; see {@link #L2SP(double, INDArray, char)}. */
    @JsonCreator
    public L2SP(@JsonProperty("coeff") ISchedule coeff, @JsonProperty("reference") INDArray reference,
                @JsonProperty("paramOrder") char paramOrder) {
        this.coeff = Coefficient.schedule("coeff", coeff);
        Checks.notNull("reference", reference);
        if (!reference.dataType().isFPType()) {
            throw new IllegalArgumentException("reference must be a floating-point array, got " + reference.dataType());
        }
        if (reference.isEmpty()) {
            throw new IllegalArgumentException("reference must not be empty");
        }
        if (paramOrder != 'c' && paramOrder != 'f') {
            throw new IllegalArgumentException("paramOrder must be 'c' or 'f', got '" + paramOrder + "'");
        }
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            this.reference = reference.dup(reference.ordering());
        }
        this.paramOrder = paramOrder;
    }

    /** Private copy constructor for clone(): shares the (never modified) reference array. */
    private L2SP(ISchedule coeff, INDArray sharedReference, char paramOrder, boolean shared) {
        this.coeff = coeff;
        this.reference = sharedReference;
        this.paramOrder = paramOrder;
    }

    /**
     * A factory for {@link RegularizationPolicy} rules: each selected parameter gets an L2SP toward the parameter
     * with the same layer name and key in {@code referenceModel} (copied at binding time).
     *
     * @param coeff          coefficient, finite and {@code >= 0}
     * @param referenceModel an initialized MultiLayerNetwork or ComputationGraph (for instance the pretrained one)
     */
    public static PenaltyFactory towards(double coeff, Model referenceModel) {
        return towards(Coefficient.fixed("coeff", coeff), referenceModel);
    }

    /** As {@link #towards(double, Model)} with a scheduled coefficient. */
    public static PenaltyFactory towards(ISchedule coeff, Model referenceModel) {
        ISchedule c = Coefficient.schedule("coeff", coeff);
        Checks.notNull("referenceModel", referenceModel);
        if (!(referenceModel instanceof MultiLayerNetwork) && !(referenceModel instanceof ComputationGraph)) {
            throw new IllegalArgumentException("referenceModel must be a MultiLayerNetwork or ComputationGraph, got "
                    + referenceModel.getClass().getName());
        }
        return new TowardsModel(c, referenceModel);
    }

    /** The coefficient schedule. */
    public ISchedule getCoeff() {
        return coeff;
    }

    /** The reference weights (do not modify). */
    public INDArray getReference() {
        return reference;
    }

    /** Memory order of the parameter this instance is bound to. */
    public char getParamOrder() {
        return paramOrder;
    }

    @Override
    public ApplyStep applyStep() {
        return ApplyStep.BEFORE_UPDATER;
    }

    @Override
    public void apply(INDArray param, INDArray gradView, double lr, int iteration, int epoch) {
        double c = Coefficient.valueAt("coeff", coeff, iteration, epoch);
        if (c != 0.0) {
            gradView.addi(param.sub(referenceLike(param)).muli(c));
        }
    }

    @Override
    public double score(INDArray param, int iteration, int epoch) {
        double c = Coefficient.valueAt("coeff", coeff, iteration, epoch);
        if (c == 0.0) {
            return 0.0;
        }
        double d = param.sub(referenceLike(param)).norm2Number().doubleValue();
        return 0.5 * c * d * d;
    }

    /** The reference arranged like {@code param}: same shape, or flat in paramOrder for the updater's flat views. */
    private INDArray referenceLike(INDArray param) {
        if (param.length() != reference.length()) {
            throw new IllegalArgumentException("L2SP reference has shape " + Arrays.toString(reference.shape())
                    + " but the parameter has shape " + Arrays.toString(param.shape()));
        }
        if (Arrays.equals(param.shape(), reference.shape())) {
            if (param.rank() >= 2 && !param.isVector() && param.ordering() != paramOrder) {
                throw new IllegalStateException("L2SP was bound to a parameter stored in '" + paramOrder
                        + "' order but gets one stored in '" + param.ordering() + "' order (shape "
                        + Arrays.toString(param.shape()) + "): construct it with new L2SP(coeff, reference, '"
                        + param.ordering() + "') or bind it with L2SP.towards(coeff, referenceModel)");
            }
            return reference.dataType() == param.dataType() ? reference : flat(param.dataType()).reshape(paramOrder,
                    reference.shape());
        }
        INDArray flat = flat(param.dataType());
        return param.rank() == 1 ? flat : flat.reshape(paramOrder, param.shape());
    }

    private INDArray flat(DataType dataType) {
        INDArray f = flatCache;
        if (f == null || f.dataType() != dataType) {
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                f = reference.castTo(dataType).dup(paramOrder).reshape(paramOrder, new long[] {reference.length()});
            }
            flatCache = f;
        }
        return f;
    }

    /** Throws IllegalArgumentException if this instance cannot serve {@code param}. */
    void checkFits(ParamInfo param) {
        long[] shape = param.shape();
        if (!Arrays.equals(shape, reference.shape())) {
            throw new IllegalArgumentException("L2SP reference has shape " + Arrays.toString(reference.shape()) + " but "
                    + param + " has shape " + Arrays.toString(shape));
        }
        if (param.order() != paramOrder && !reference.isVector()) {
            throw new IllegalArgumentException("L2SP was bound to a parameter stored in '" + paramOrder + "' order but "
                    + param + " is stored in '" + param.order() + "' order; use L2SP.towards(coeff, referenceModel)"
                    + " or new L2SP(coeff, reference, '" + param.order() + "')");
        }
    }

    @Override
    public L2SP clone() {
        return new L2SP(coeff.clone(), reference, paramOrder, true);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof L2SP)) {
            return false;
        }
        L2SP that = (L2SP) o;
        return paramOrder == that.paramOrder && coeff.equals(that.coeff) && sameValues(reference, that.reference);
    }

    /** Exact equality of type, shape and every value (INDArray.equals uses a tolerance). */
    private static boolean sameValues(INDArray a, INDArray b) {
        if (a == b) {
            return true;
        }
        if (a.dataType() != b.dataType() || !Arrays.equals(a.shape(), b.shape())) {
            return false;
        }
        return Arrays.equals(a.dup('c').data().asDouble(), b.dup('c').data().asDouble());
    }

    @Override
    public int hashCode() {
        return Objects.hash(L2SP.class, coeff, paramOrder, Arrays.hashCode(reference.shape()));
    }

    @Override
    public String toString() {
        return "L2SP(coeff=" + Coefficient.format(coeff) + ", reference=" + Arrays.toString(reference.shape()) + ")";
    }

    /** {@link #towards(double, Model)}. */
    private static final class TowardsModel implements PenaltyFactory {
        private static final long serialVersionUID = 1L;
        private final ISchedule coeff;
        private final transient Model referenceModel;

        TowardsModel(ISchedule coeff, Model referenceModel) {
            this.coeff = coeff;
            this.referenceModel = referenceModel;
        }

        @Override
        public Regularization forParam(ParamInfo param) {
            if (referenceModel == null) {
                throw new IllegalStateException("L2SP.towards(...) lost its reference model in serialization; "
                        + "build the policy again");
            }
            org.deeplearning4j.nn.api.Layer layer;
            try {
                layer = referenceModel instanceof ComputationGraph
                        ? ((ComputationGraph) referenceModel).getLayer(param.layerName())
                        : ((MultiLayerNetwork) referenceModel).getLayer(param.layerName());
            } catch (RuntimeException e) {
                layer = null;
            }
            INDArray ref = layer == null ? null : layer.paramTable(false).get(param.paramName());
            if (ref == null) {
                throw new IllegalArgumentException("L2SP reference model has no parameter '" + param.paramName()
                        + "' in a layer named '" + param.layerName() + "' (needed for " + param + ")");
            }
            long[] shape = param.shape();
            if (!Arrays.equals(shape, ref.shape())) {
                throw new IllegalArgumentException("L2SP reference for " + param + " has shape "
                        + Arrays.toString(ref.shape()) + " but the parameter has shape " + Arrays.toString(shape));
            }
            return new L2SP(coeff.clone(), ref, param.order());
        }

        @Override
        public String toString() {
            return "L2SP.towards(coeff=" + Coefficient.format(coeff) + ", " + referenceModel.getClass().getSimpleName()
                    + ")";
        }
    }
}
