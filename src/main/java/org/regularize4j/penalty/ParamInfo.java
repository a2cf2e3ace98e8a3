package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One parameter of one layer, as a {@link RegularizationPolicy} sees it while it applies its rules: the layer's
 * name, index and configuration, the parameter's key within the layer ({@code "W"}, {@code "b"},
 * {@code "gamma"}, ...), its {@link ParamKind} and, when it can be known, its shape and memory order.
 * A {@link PenaltyFactory} receives it to make the penalty of that parameter.
 *
 * <pre>{@code
 * PenaltyFactory logOnly = param -> {
 *     LoggerFactory.getLogger("policy").info("penalizing {} {}", param, Arrays.toString(param.shape()));
 *     return new L2Penalty(1e-4);
 * };
 * }</pre>
 */
public final class ParamInfo {
    private final String layerName;
    private final int layerIndex;
    private final Layer layer;
    private final String paramName;
    private final ParamKind kind;
    private final ParamShapes shapes;

    ParamInfo(String layerName, int layerIndex, Layer layer, String paramName, ParamKind kind, ParamShapes shapes) {
        this.layerName = layerName;
        this.layerIndex = layerIndex;
        this.layer = layer;
        this.paramName = paramName;
        this.kind = kind;
        this.shapes = shapes;
    }

    /** Name of the layer (a ComputationGraph vertex name, or a MultiLayerNetwork layer name like "layer0"). */
    public String layerName() {
        return layerName;
    }

    /** Index of the layer in a MultiLayerNetwork, or its position among the graph's layers. */
    public int layerIndex() {
        return layerIndex;
    }

    /** The layer configuration (the outer one for wrappers such as Bidirectional). */
    public Layer layer() {
        return layer;
    }

    /** The parameter key within the layer, e.g. "W", "b", "gamma", "fRW". */
    public String paramName() {
        return paramName;
    }

    /** What the parameter is. */
    public ParamKind kind() {
        return kind;
    }

    /** The parameter's shape; throws IllegalStateException if the layer's sizes are not known yet. */
    public long[] shape() {
        return template().shape().clone();
    }

    /** Memory order ('c' or 'f') of the parameter as DL4J stores it (the order of its flattened gradient). */
    public char order() {
        INDArray t = template();
        return t.isVector() || t.isScalar() ? 'c' : t.ordering();
    }

    private INDArray template() {
        if (shapes == null) {
            throw new IllegalStateException("shape of " + this + " is not known");
        }
        return shapes.template(paramName);
    }

    @Override
    public String toString() {
        return "layer '" + layerName + "' (" + layer.getClass().getSimpleName() + ") parameter '" + paramName + "' ["
                + kind + "]";
    }
}
