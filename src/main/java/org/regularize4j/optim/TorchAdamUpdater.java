package org.regularize4j.optim;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.HashMap;
import java.util.Map;

/**
 * Implementation of {@link TorchAdam}: turns the gradient into the update in place. State: the first moment
 * {@code M} and second moment {@code V}, one value per parameter each.
 *
 * <pre>{@code
 * INDArray state = Nd4j.zeros(DataType.DOUBLE, 1, 2 * 3);
 * GradientUpdater<TorchAdam> u = new TorchAdam(0.01).instantiate(state, true);
 * INDArray gradient = Nd4j.createFromArray(0.1, -0.2, 0.3);
 * u.applyUpdater(gradient, 0, 0);   // gradient now holds the update of step 1
 * }</pre>
 */
public final class TorchAdamUpdater implements GradientUpdater<TorchAdam> {
    public static final String M_STATE = "M";
    public static final String V_STATE = "V";

    private final TorchAdam config;
    private INDArray m;
    private INDArray v;

    /** Called by {@link TorchAdam#instantiate}. */
    public TorchAdamUpdater(TorchAdam config) {
        this.config = config;
    }

    @Override
    public TorchAdam getConfig() {
        return config;
    }

    @Override
    public void setState(Map<String, INDArray> stateMap, boolean initialize) {
        if (stateMap == null || !stateMap.containsKey(M_STATE) || !stateMap.containsKey(V_STATE)
                || stateMap.size() != 2) {
            throw new IllegalStateException("State map should contain only keys [" + M_STATE + ", " + V_STATE
                    + "] but has " + (stateMap == null ? null : stateMap.keySet()));
        }
        this.m = stateMap.get(M_STATE);
        this.v = stateMap.get(V_STATE);
        if (initialize) {
            m.assign(0);
            v.assign(0);
        }
    }

    @Override
    public Map<String, INDArray> getState() {
        Map<String, INDArray> r = new HashMap<>();
        r.put(M_STATE, m);
        r.put(V_STATE, v);
        return r;
    }

    @Override
    public void setStateViewArray(INDArray viewArray, long[] gradientShape, char gradientOrder, boolean initialize) {
        if (initialize) {
            viewArray.assign(0);
        }
        INDArray flat = viewArray.reshape(viewArray.length());
        long half = flat.length() / 2;
        this.m = Shape.newShapeNoCopy(flat.get(NDArrayIndex.interval(0, half)), gradientShape, gradientOrder == 'f');
        this.v = Shape.newShapeNoCopy(flat.get(NDArrayIndex.interval(half, 2 * half)), gradientShape,
                gradientOrder == 'f');
        if (m == null || v == null) {
            throw new IllegalStateException("Could not reshape the TorchAdam state view to the gradient shape");
        }
    }

    @Override
    public void applyUpdater(INDArray gradient, int iteration, int epoch) {
        if (m == null || v == null) {
            throw new IllegalStateException("TorchAdam updater has not been initialized with a state view");
        }
        double lr = config.getLearningRate(iteration, epoch);
        double beta1 = config.getBeta1();
        double beta2 = config.getBeta2();
        int t = iteration + 1;
        boolean sameShape = java.util.Arrays.equals(gradient.shape(), m.shape());
        INDArray g = sameShape ? gradient : gradient.reshape(m.shape());

        m.muli(beta1).addi(g.mul(1.0 - beta1));
        v.muli(beta2).addi(g.mul(g).muli(1.0 - beta2));

        double biasCorrection1 = 1.0 - Math.pow(beta1, t);
        double biasCorrection2Sqrt = Math.sqrt(1.0 - Math.pow(beta2, t));
        INDArray denom = Transforms.sqrt(v, true).divi(biasCorrection2Sqrt).addi(config.getEpsilon());
        g.assign(m).divi(denom).muli(lr / biasCorrection1);
        if (!sameShape) {
            gradient.assign(g.reshape(gradient.shape()));
        }
    }
}
