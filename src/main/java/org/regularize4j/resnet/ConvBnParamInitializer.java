package org.regularize4j.resnet;

import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.weights.IWeightInit;
import org.deeplearning4j.nn.weights.WeightInitRelu;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.regularize4j.penalty.ParamKind;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parameters of a {@link BaseConvBnLayer}: for each {@link ConvBnSpec} unit, in order, the convolution
 * weights {@code <conv>W} ({@code [outC, inC, k, k]}, He-initialized unless the layer sets a weight init),
 * {@code <bn>Gamma} (1) and {@code <bn>Beta} (0); then for each unit {@code <bn>Mean} (0) and {@code <bn>Var}
 * (1). Keys never contain '_' (DL4J's updater splits gradient keys at the last '_').
 *
 * <pre>{@code
 * ConvBnLayer stem = new ConvBnLayer.Builder().nIn(3).nOut(16).kernelSize(3).build();
 * List<String> keys = ConvBnParamInitializer.INSTANCE.paramKeys(stem);   // [convW, bnGamma, bnBeta, bnMean, bnVar]
 * }</pre>
 */
public final class ConvBnParamInitializer implements ParamInitializer {
    /** The single instance. */
    public static final ConvBnParamInitializer INSTANCE = new ConvBnParamInitializer();

    private ConvBnParamInitializer() {
    }

    private static List<ConvBnSpec> units(Layer layer) {
        return ((BaseConvBnLayer) layer).units();
    }

    /**
     * The kind of {@code key} in {@code layer}: WEIGHT (convolution weights), NORM (batch-norm gamma and beta)
     * or STATISTIC (running mean and variance); IllegalArgumentException for an unknown key.
     */
    static ParamKind kindOf(BaseConvBnLayer layer, String key) {
        for (ConvBnSpec u : layer.units()) {
            if (key.equals(u.weightKey())) {
                return ParamKind.WEIGHT;
            }
            if (key.equals(u.gammaKey()) || key.equals(u.betaKey())) {
                return ParamKind.NORM;
            }
            if (key.equals(u.meanKey()) || key.equals(u.varKey())) {
                return ParamKind.STATISTIC;
            }
        }
        throw new IllegalArgumentException("Layer \"" + layer.getLayerName() + "\" has no parameter \"" + key
                + "\"; its parameters are " + INSTANCE.paramKeys(layer));
    }

    @Override
    public long numParams(NeuralNetConfiguration conf) {
        return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
        long n = 0;
        for (ConvBnSpec u : units(layer)) {
            n += u.numParams();
        }
        return n;
    }

    @Override
    public List<String> paramKeys(Layer layer) {
        List<String> keys = new ArrayList<>();
        for (ConvBnSpec u : units(layer)) {
            Collections.addAll(keys, u.weightKey(), u.gammaKey(), u.betaKey());
        }
        for (ConvBnSpec u : units(layer)) {
            Collections.addAll(keys, u.meanKey(), u.varKey());
        }
        return keys;
    }

    @Override
    public List<String> weightKeys(Layer layer) {
        List<String> keys = new ArrayList<>();
        for (ConvBnSpec u : units(layer)) {
            keys.add(u.weightKey());
        }
        return keys;
    }

    @Override
    public List<String> biasKeys(Layer layer) {
        return Collections.emptyList();
    }

    @Override
    public boolean isWeightParam(Layer layer, String key) {
        return kindOf((BaseConvBnLayer) layer, key) == ParamKind.WEIGHT;
    }

    @Override
    public boolean isBiasParam(Layer layer, String key) {
        return false;
    }

    @Override
    public Map<String, INDArray> init(NeuralNetConfiguration conf, INDArray paramsView, boolean initializeParams) {
        BaseConvBnLayer layer = (BaseConvBnLayer) conf.getLayer();
        Map<String, INDArray> views = views(layer, paramsView);
        for (String key : views.keySet()) {
            conf.addVariable(key);   // DL4J's updater and summary enumerate parameters through these
        }
        if (initializeParams) {
            IWeightInit init = layer.getWeightInitFn() != null ? layer.getWeightInitFn() : new WeightInitRelu();
            for (ConvBnSpec u : layer.units()) {
                INDArray w = views.get(u.weightKey());
                long k2 = (long) u.kernel() * u.kernel();
                init.init(u.inChannels() * k2, u.outChannels() * k2, w.shape(), 'c', w);
                views.get(u.gammaKey()).assign(1.0);
                views.get(u.betaKey()).assign(0.0);
                views.get(u.meanKey()).assign(0.0);
                views.get(u.varKey()).assign(1.0);
            }
        }
        return views;
    }

    @Override
    public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray gradientView) {
        return views((BaseConvBnLayer) conf.getLayer(), gradientView);
    }

    private static Map<String, INDArray> views(BaseConvBnLayer layer, INDArray flat) {
        INDArray row = flat.reshape(flat.length());
        Map<String, INDArray> out = new LinkedHashMap<>();
        long offset = 0;
        // trainable parameters first, running statistics last: DL4J then forms one updater block for the
        // layer's trainable parameters and one for its statistics (NoOp), instead of alternating per unit
        for (ConvBnSpec u : layer.units()) {
            long nW = (long) u.outChannels() * u.inChannels() * u.kernel() * u.kernel();
            out.put(u.weightKey(), row.get(NDArrayIndex.interval(offset, offset + nW))
                    .reshape('c', u.outChannels(), u.inChannels(), u.kernel(), u.kernel()));
            offset += nW;
            for (String key : new String[] {u.gammaKey(), u.betaKey()}) {
                out.put(key, row.get(NDArrayIndex.interval(offset, offset + u.outChannels())));
                offset += u.outChannels();
            }
        }
        for (ConvBnSpec u : layer.units()) {
            for (String key : new String[] {u.meanKey(), u.varKey()}) {
                out.put(key, row.get(NDArrayIndex.interval(offset, offset + u.outChannels())));
                offset += u.outChannels();
            }
        }
        if (offset != flat.length()) {
            throw new IllegalStateException("Layer \"" + layer.getLayerName() + "\": parameter view has "
                    + flat.length() + " values, expected " + offset);
        }
        return out;
    }
}
