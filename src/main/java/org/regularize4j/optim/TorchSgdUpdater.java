package org.regularize4j.optim;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.learning.GradientUpdater;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;

/**
 * Implementation of {@link TorchSgd}: turns the gradient into the update in place. State: the momentum buffer
 * {@code B} (none when momentum is 0).
 *
 * <pre>{@code
 * GradientUpdater<TorchSgd> u = new TorchSgd(0.1, 0.9, true).instantiate(Nd4j.zeros(DataType.DOUBLE, 1, 2), true);
 * INDArray gradient = Nd4j.createFromArray(1.0, -1.0);
 * u.applyUpdater(gradient, 0, 0);   // update = 0.1 * (g + 0.9 * g)
 * }</pre>
 */
public final class TorchSgdUpdater implements GradientUpdater<TorchSgd> {
    public static final String MOMENTUM_STATE = "B";

    private final TorchSgd config;
    private INDArray buf;

    /** Called by {@link TorchSgd#instantiate}. */
    public TorchSgdUpdater(TorchSgd config) {
        this.config = config;
    }

    @Override
    public TorchSgd getConfig() {
        return config;
    }

    @Override
    public void setState(Map<String, INDArray> stateMap, boolean initialize) {
        if (config.getMomentum() == 0.0) {
            if (stateMap != null && !stateMap.isEmpty()) {
                throw new IllegalStateException("TorchSgd without momentum has no state, got " + stateMap.keySet());
            }
            return;
        }
        if (stateMap == null || !stateMap.containsKey(MOMENTUM_STATE) || stateMap.size() != 1) {
            throw new IllegalStateException("State map should contain only key [" + MOMENTUM_STATE + "] but has "
                    + (stateMap == null ? null : stateMap.keySet()));
        }
        this.buf = stateMap.get(MOMENTUM_STATE);
        if (initialize) {
            buf.assign(0);
        }
    }

    @Override
    public Map<String, INDArray> getState() {
        return buf == null ? Collections.emptyMap() : Collections.singletonMap(MOMENTUM_STATE, buf);
    }

    @Override
    public void setStateViewArray(INDArray viewArray, long[] gradientShape, char gradientOrder, boolean initialize) {
        if (config.getMomentum() == 0.0) {
            return;
        }
        if (initialize) {
            viewArray.assign(0);
        }
        this.buf = Shape.newShapeNoCopy(viewArray.reshape(viewArray.length()), gradientShape, gradientOrder == 'f');
        if (buf == null) {
            throw new IllegalStateException("Could not reshape the TorchSgd state view to the gradient shape");
        }
    }

    @Override
    public void applyUpdater(INDArray gradient, int iteration, int epoch) {
        double lr = config.getLearningRate(iteration, epoch);
        double mu = config.getMomentum();
        if (mu == 0.0) {
            gradient.muli(lr);
            return;
        }
        if (buf == null) {
            throw new IllegalStateException("TorchSgd updater has not been initialized with a state view");
        }
        boolean sameShape = Arrays.equals(gradient.shape(), buf.shape());
        INDArray g = sameShape ? gradient : gradient.reshape(buf.shape());
        buf.muli(mu).addi(g);
        if (config.isNesterov()) {
            g.addi(buf.mul(mu));
        } else {
            g.assign(buf);
        }
        g.muli(lr);
        if (!sameShape) {
            gradient.assign(g.reshape(gradient.shape()));
        }
    }
}
