package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.PReLULayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.nd4j.linalg.learning.regularization.Regularization;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How the policy reads and writes penalty lists of one layer configuration, and what kind each parameter is.
 * Parameters in the same "group" share one DL4J list (a BaseLayer's weights share {@code regularization});
 * a null group means the layer keeps no writable list for that parameter.
 */
abstract class LayerAccess {
    final Layer layer;

    LayerAccess(Layer layer) {
        this.layer = layer;
    }

    static LayerAccess of(Layer layer) {
        if (layer instanceof FrozenLayer || layer instanceof FrozenLayerWithBackprop) {
            Layer inner = layer instanceof FrozenLayer ? ((FrozenLayer) layer).getLayer()
                    : ((FrozenLayerWithBackprop) layer).getUnderlying();
            return new Frozen(layer, of(inner));
        }
        if (layer instanceof Bidirectional) {
            return new Bidi((Bidirectional) layer);
        }
        if (layer instanceof BaseWrapperLayer) {
            return new Wrapper(layer, of(((BaseWrapperLayer) layer).getUnderlying()));
        }
        if (layer instanceof PerParameterRegularization) {
            return new PerParam(layer);
        }
        if (layer instanceof BaseLayer) {
            return new Base((BaseLayer) layer);
        }
        return new ReadOnly(layer);
    }

    List<String> paramNames() {
        return new ArrayList<>(layer.initializer().paramKeys(layer));
    }

    boolean isFrozen() {
        return false;
    }

    /** True if the layer's class or a wrapped layer's class is {@code type}. */
    boolean isA(Class<?> type) {
        return type.isInstance(layer);
    }

    ParamKind kindOf(String param) {
        if (layer instanceof ParamKindAware) {
            ParamKind k = ((ParamKindAware) layer).kindOf(param);
            if (k != null) {
                return k;
            }
        }
        return builtInKind(layer, param);
    }

    abstract String groupOf(String param);

    abstract void write(String param, List<Regularization> penalties);

    /** The list DL4J uses for the parameter (empty for null). */
    List<Regularization> read(String param) {
        List<Regularization> l = layer.getRegularizationByParam(param);
        return l == null ? Collections.emptyList() : l;
    }

    /** Copies of the current lists, for {@link #restore}. */
    abstract Object snapshot();

    abstract void restore(Object snapshot);

    /** A sentence on why a list cannot be written for this parameter (used in errors). */
    String whyNotWritable(String param) {
        if (layer instanceof BatchNormalization && !(layer instanceof PerParameterRegularization)) {
            return "BatchNormalization.getRegularizationByParam always returns null, so DL4J never penalizes its "
                    + "parameters; use PenalizedBatchNormalization.of(batchNorm) (or its Builder) to penalize gamma/beta";
        }
        return layer.getClass().getSimpleName() + " keeps no penalty list for parameter '" + param
                + "' (getRegularizationByParam); implement PerParameterRegularization to allow it";
    }

    static ParamKind builtInKind(Layer layer, String param) {
        if (layer instanceof BatchNormalization) {
            switch (param) {
                case BatchNormalizationParamInitializer.GAMMA:
                case BatchNormalizationParamInitializer.BETA:
                    return ParamKind.NORM;
                default:
                    return ParamKind.STATISTIC;
            }
        }
        if (layer instanceof PReLULayer) {
            return ParamKind.OTHER;
        }
        if (layer instanceof DenseLayer && "g".equals(param)) {
            return ParamKind.NORM;
        }
        if (layer instanceof SimpleRnn && ("gx".equals(param) || "gr".equals(param))) {
            return ParamKind.NORM;
        }
        if (layer.initializer().isWeightParam(layer, param)) {
            return ParamKind.WEIGHT;
        }
        if (layer.initializer().isBiasParam(layer, param)) {
            return ParamKind.BIAS;
        }
        return ParamKind.OTHER;
    }

    static List<Regularization> copy(List<Regularization> l) {
        return l == null ? null : new ArrayList<>(l);
    }

    /** Stock DL4J layers: one list for weight parameters, one for bias parameters. */
    static final class Base extends LayerAccess {
        private final BaseLayer base;

        Base(BaseLayer layer) {
            super(layer);
            this.base = layer;
        }

        @Override
        String groupOf(String param) {
            if (layer instanceof BatchNormalization) {
                return null;
            }
            if (layer.initializer().isWeightParam(layer, param)) {
                return "weights";
            }
            if (layer.initializer().isBiasParam(layer, param)) {
                return "biases";
            }
            return null;
        }

        @Override
        void write(String param, List<Regularization> penalties) {
            if ("weights".equals(groupOf(param))) {
                base.setRegularization(new ArrayList<>(penalties));
            } else {
                base.setRegularizationBias(new ArrayList<>(penalties));
            }
        }

        @Override
        Object snapshot() {
            return new Object[] {copy(base.getRegularization()), copy(base.getRegularizationBias())};
        }

        @Override
        @SuppressWarnings("unchecked")
        void restore(Object snapshot) {
            Object[] s = (Object[]) snapshot;
            base.setRegularization((List<Regularization>) s[0]);
            base.setRegularizationBias((List<Regularization>) s[1]);
        }
    }

    /** Layers with one list per parameter. */
    static final class PerParam extends LayerAccess {
        PerParam(Layer layer) {
            super(layer);
        }

        @Override
        String groupOf(String param) {
            return kindOf(param) == ParamKind.STATISTIC ? null : param;
        }

        @Override
        void write(String param, List<Regularization> penalties) {
            ((PerParameterRegularization) layer).setRegularizationByParam(param, new ArrayList<>(penalties));
        }

        @Override
        Object snapshot() {
            Map<String, List<Regularization>> m = new LinkedHashMap<>();
            for (String p : paramNames()) {
                if (groupOf(p) != null) {
                    m.put(p, copy(read(p)));
                }
            }
            return m;
        }

        @Override
        @SuppressWarnings("unchecked")
        void restore(Object snapshot) {
            for (Map.Entry<String, List<Regularization>> e : ((Map<String, List<Regularization>>) snapshot).entrySet()) {
                write(e.getKey(), e.getValue());
            }
        }
    }

    /** Frozen layers: no updates, no penalties (DL4J returns null lists). */
    static final class Frozen extends LayerAccess {
        private final LayerAccess inner;

        Frozen(Layer layer, LayerAccess inner) {
            super(layer);
            this.inner = inner;
        }

        @Override
        boolean isFrozen() {
            return true;
        }

        @Override
        boolean isA(Class<?> type) {
            return super.isA(type) || inner.isA(type);
        }

        @Override
        ParamKind kindOf(String param) {
            return inner.kindOf(param);
        }

        @Override
        String groupOf(String param) {
            return null;
        }

        @Override
        void write(String param, List<Regularization> penalties) {
            throw new IllegalStateException("frozen");
        }

        @Override
        Object snapshot() {
            return null;
        }

        @Override
        void restore(Object snapshot) {
        }

        /** DL4J neither updates nor penalizes frozen parameters, whatever lists the wrapped layer holds. */
        @Override
        List<Regularization> read(String param) {
            return Collections.emptyList();
        }

        @Override
        String whyNotWritable(String param) {
            return "the layer is frozen";
        }
    }

    /** Wrappers (LastTimeStep, MaskZeroLayer, ...) that delegate to the wrapped layer's lists. */
    static final class Wrapper extends LayerAccess {
        private final LayerAccess inner;

        Wrapper(Layer layer, LayerAccess inner) {
            super(layer);
            this.inner = inner;
        }

        @Override
        boolean isA(Class<?> type) {
            return super.isA(type) || inner.isA(type);
        }

        @Override
        ParamKind kindOf(String param) {
            if (layer instanceof ParamKindAware) {
                ParamKind k = ((ParamKindAware) layer).kindOf(param);
                if (k != null) {
                    return k;
                }
            }
            return inner.kindOf(param);
        }

        @Override
        String groupOf(String param) {
            return inner.groupOf(param);
        }

        @Override
        void write(String param, List<Regularization> penalties) {
            inner.write(param, penalties);
        }

        @Override
        Object snapshot() {
            return inner.snapshot();
        }

        @Override
        void restore(Object snapshot) {
            inner.restore(snapshot);
        }

        @Override
        String whyNotWritable(String param) {
            return inner.whyNotWritable(param);
        }
    }

    /**
     * Bidirectional: parameters "f..." and "b..."; DL4J's update reads the forward layer's list for both
     * directions while the score reads each direction's own list, so both are written alike.
     */
    static final class Bidi extends LayerAccess {
        private final LayerAccess fwd;
        private final LayerAccess bwd;

        Bidi(Bidirectional layer) {
            super(layer);
            this.fwd = of(layer.getFwd());
            this.bwd = of(layer.getBwd());
        }

        @Override
        boolean isA(Class<?> type) {
            return super.isA(type) || fwd.isA(type);
        }

        @Override
        ParamKind kindOf(String param) {
            return fwd.kindOf(param.substring(1));
        }

        @Override
        String groupOf(String param) {
            return fwd.groupOf(param.substring(1));
        }

        @Override
        void write(String param, List<Regularization> penalties) {
            fwd.write(param.substring(1), penalties);
            bwd.write(param.substring(1), penalties);
        }

        @Override
        Object snapshot() {
            return new Object[] {fwd.snapshot(), bwd.snapshot()};
        }

        @Override
        void restore(Object snapshot) {
            Object[] s = (Object[]) snapshot;
            fwd.restore(s[0]);
            bwd.restore(s[1]);
        }

        @Override
        String whyNotWritable(String param) {
            return fwd.whyNotWritable(param.substring(1));
        }
    }

    /** Any other layer: lists can only be read. */
    static final class ReadOnly extends LayerAccess {
        ReadOnly(Layer layer) {
            super(layer);
        }

        @Override
        String groupOf(String param) {
            return null;
        }

        @Override
        void write(String param, List<Regularization> penalties) {
            throw new IllegalStateException("read-only");
        }

        @Override
        Object snapshot() {
            return null;
        }

        @Override
        void restore(Object snapshot) {
        }
    }
}
