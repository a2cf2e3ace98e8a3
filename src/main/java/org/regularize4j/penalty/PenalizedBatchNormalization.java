package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.regularize4j.util.Checks;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * DL4J's BatchNormalization whose gain ({@code gamma}) and shift ({@code beta}) can be penalized. Stock
 * {@code BatchNormalization.getRegularizationByParam} always returns null, so DL4J never penalizes them (and a
 * {@link RegularizationPolicy} rule asking for it fails); this subclass keeps one list per parameter
 * ({@link PerParameterRegularization}) and otherwise behaves exactly like BatchNormalization (same
 * implementation, same parameters, same oneDNN/cuDNN helpers). The running mean and variance are never
 * penalized. Lists merged in from DL4J's global configuration are ignored, as in the stock layer: only what is
 * set here (usually by a policy) applies.
 *
 * <p>Build it from a configured BatchNormalization with {@link #of(BatchNormalization)} (BatchNormalization's
 * builder methods return that builder, so a builder subclass could not keep the type through a chain).
 *
 * <pre>{@code
 * PenalizedBatchNormalization bn = PenalizedBatchNormalization.of(new BatchNormalization.Builder().nOut(16).build());
 * RegularizationPolicy decayNormsToo = RegularizationPolicy.builder()
 *         .penalize(Selector.kinds(ParamKind.WEIGHT, ParamKind.NORM), new L2Penalty(1e-4))
 *         .build();
 * }</pre>
 */
public class PenalizedBatchNormalization extends BatchNormalization implements PerParameterRegularization,
        ParamKindAware {
    private static final long serialVersionUID = 1L;

    @JsonProperty("regularizationByParam")
    private Map<String, List<Regularization>> regularizationByParam = new LinkedHashMap<>();

    /** Defaults of {@code new BatchNormalization()}, nothing penalized. */
    public PenalizedBatchNormalization() {
        super();
    }

    /** A penalizable copy of {@code batchNorm} (every setting copied), nothing penalized yet. */
    public static PenalizedBatchNormalization of(BatchNormalization batchNorm) {
        Checks.notNull("batchNorm", batchNorm);
        BatchNormalization source = batchNorm.clone();
        PenalizedBatchNormalization out = new PenalizedBatchNormalization();
        for (Class<?> c = BatchNormalization.class; c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers())) {
                    continue;
                }
                try {
                    f.setAccessible(true);
                    f.set(out, f.get(source));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException("cannot copy BatchNormalization field " + f.getName(), e);
                }
            }
        }
        if (batchNorm instanceof PenalizedBatchNormalization) {
            for (Map.Entry<String, List<Regularization>> e
                    : ((PenalizedBatchNormalization) batchNorm).regularizationByParam.entrySet()) {
                out.setRegularizationByParam(e.getKey(), e.getValue());
            }
        }
        return out;
    }

    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        return regularizationByParam.get(paramName);
    }

    /**
     * @param paramName "gamma" or "beta"
     * @param penalties the parameter's penalties (null or empty: none)
     */
    @Override
    public void setRegularizationByParam(String paramName, List<Regularization> penalties) {
        if (!BatchNormalizationParamInitializer.GAMMA.equals(paramName)
                && !BatchNormalizationParamInitializer.BETA.equals(paramName)) {
            throw new IllegalArgumentException("paramName must be 'gamma' or 'beta' (running statistics cannot be"
                    + " penalized), got '" + paramName + "'");
        }
        if (penalties == null || penalties.isEmpty()) {
            regularizationByParam.remove(paramName);
        } else {
            regularizationByParam.put(paramName, new ArrayList<>(penalties));
        }
    }

    @Override
    public ParamKind kindOf(String paramName) {
        return LayerAccess.builtInKind(this, paramName);
    }

    @Override
    public PenalizedBatchNormalization clone() {
        PenalizedBatchNormalization c = (PenalizedBatchNormalization) super.clone();
        c.regularizationByParam = new LinkedHashMap<>();
        for (Map.Entry<String, List<Regularization>> e : regularizationByParam.entrySet()) {
            List<Regularization> l = new ArrayList<>();
            for (Regularization r : e.getValue()) {
                l.add(r.clone());
            }
            c.regularizationByParam.put(e.getKey(), l);
        }
        return c;
    }

    @Override
    protected boolean canEqual(Object other) {
        return other instanceof PenalizedBatchNormalization;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PenalizedBatchNormalization && super.equals(o)
                && regularizationByParam.equals(((PenalizedBatchNormalization) o).regularizationByParam);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), regularizationByParam);
    }

    @Override
    public String toString() {
        return "Penalized" + super.toString() + "(regularizationByParam=" + regularizationByParam + ")";
    }
}
