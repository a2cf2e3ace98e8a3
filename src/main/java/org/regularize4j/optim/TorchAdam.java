package org.regularize4j.optim;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.regularize4j.penalty.DecoupledWeightDecay;
import org.regularize4j.penalty.L2Penalty;
import org.regularize4j.util.Checks;

import java.util.Map;
import java.util.Objects;

/**
 * Adam exactly as PyTorch's {@code torch.optim.Adam} computes it (amsgrad off): with {@code t = iteration + 1},
 * <pre>
 * m = beta1 * m + (1 - beta1) * g
 * v = beta2 * v + (1 - beta2) * g²
 * update = lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * DL4J's own {@code Adam} adds {@code eps} to the uncorrected {@code sqrt(v)}, which differs from PyTorch by
 * about 3e-4 relative at step 1 with default settings. The learning rate may follow an {@link ISchedule},
 * evaluated at each step like a PyTorch LR scheduler. {@code t} is the network's iteration count + 1, which
 * is saved with the model, so resumed training continues the bias correction.
 *
 * <p>PyTorch's AdamW is this updater plus {@link DecoupledWeightDecay} (see {@link TorchOptimizer#adamW}); its
 * Adam with {@code weight_decay} is this updater plus {@link L2Penalty}.
 *
 * <pre>{@code
 * IUpdater adam = new TorchAdam(new ExponentialSchedule(ScheduleType.EPOCH, 1e-3, 0.9));
 * }</pre>
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
public final class TorchAdam implements IUpdater {
    private static final long serialVersionUID = 1L;
    public static final double DEFAULT_LEARNING_RATE = 1e-3;
    public static final double DEFAULT_BETA1 = 0.9;
    public static final double DEFAULT_BETA2 = 0.999;
    public static final double DEFAULT_EPSILON = 1e-8;

    @JsonProperty("learningRate")
    private double learningRate;
    @JsonProperty("learningRateSchedule")
    private ISchedule learningRateSchedule;
    @JsonProperty("beta1")
    private final double beta1;
    @JsonProperty("beta2")
    private final double beta2;
    @JsonProperty("epsilon")
    private final double epsilon;

    /** PyTorch's defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8). */
    public TorchAdam() {
        this(DEFAULT_LEARNING_RATE);
    }

    /** @param learningRate finite and {@code >= 0} */
    public TorchAdam(double learningRate) {
        this(learningRate, null, DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_EPSILON);
    }

    /** @param learningRateSchedule the learning rate per (iteration, epoch) */
    public TorchAdam(ISchedule learningRateSchedule) {
        this(Double.NaN, Checks.notNull("learningRateSchedule", learningRateSchedule), DEFAULT_BETA1, DEFAULT_BETA2,
                DEFAULT_EPSILON);
    }

    /**
     * @param learningRate finite and {@code >= 0}
     * @param beta1        in [0, 1)
     * @param beta2        in [0, 1)
     * @param epsilon      finite and {@code >= 0}
     */
    public TorchAdam(double learningRate, double beta1, double beta2, double epsilon) {
        this(learningRate, null, beta1, beta2, epsilon);
    }

    /** As {@link #TorchAdam(double, double, double, double)} with a learning-rate schedule. */
    public TorchAdam(ISchedule learningRateSchedule, double beta1, double beta2, double epsilon) {
        this(Double.NaN, Checks.notNull("learningRateSchedule", learningRateSchedule), beta1, beta2, epsilon);
    }

    @JsonCreator
    private TorchAdam(@JsonProperty("learningRate") double learningRate,
                      @JsonProperty("learningRateSchedule") ISchedule learningRateSchedule,
                      @JsonProperty("beta1") double beta1, @JsonProperty("beta2") double beta2,
                      @JsonProperty("epsilon") double epsilon) {
        if (learningRateSchedule == null) {
            Checks.nonNegative("learningRate", learningRate);
        }
        this.learningRate = learningRate;
        this.learningRateSchedule = learningRateSchedule;
        this.beta1 = beta("beta1", beta1);
        this.beta2 = beta("beta2", beta2);
        this.epsilon = Checks.nonNegative("epsilon", epsilon);
    }

    static double beta(String name, double value) {
        if (!(value >= 0.0 && value < 1.0)) {
            throw new IllegalArgumentException(name + " must be in [0, 1), got " + value);
        }
        return value;
    }

    public double getBeta1() {
        return beta1;
    }

    public double getBeta2() {
        return beta2;
    }

    public double getEpsilon() {
        return epsilon;
    }

    /** The schedule, or null for a constant learning rate. */
    public ISchedule getLearningRateSchedule() {
        return learningRateSchedule;
    }

    @Override
    public long stateSize(long numParams) {
        return 2 * numParams;
    }

    @Override
    public GradientUpdater instantiate(INDArray viewArray, boolean initializeViewArray) {
        TorchAdamUpdater u = new TorchAdamUpdater(this);
        INDArray flat = viewArray.reshape(viewArray.length());
        u.setStateViewArray(flat, new long[] {flat.length() / 2}, flat.ordering(), initializeViewArray);
        return u;
    }

    @Override
    public GradientUpdater instantiate(Map<String, INDArray> updaterState, boolean initializeStateArrays) {
        TorchAdamUpdater u = new TorchAdamUpdater(this);
        u.setState(updaterState, initializeStateArrays);
        return u;
    }

    @Override
    public TorchAdam clone() {
        return new TorchAdam(learningRate, learningRateSchedule == null ? null : learningRateSchedule.clone(), beta1,
                beta2, epsilon);
    }

    @Override
    public double getLearningRate(int iteration, int epoch) {
        return learningRateSchedule != null ? learningRateSchedule.valueAt(iteration, epoch) : learningRate;
    }

    @Override
    public boolean hasLearningRate() {
        return true;
    }

    @Override
    public void setLrAndSchedule(double lr, ISchedule lrSchedule) {
        if (lrSchedule == null) {
            Checks.nonNegative("learningRate", lr);
        }
        this.learningRate = lr;
        this.learningRateSchedule = lrSchedule;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TorchAdam)) {
            return false;
        }
        TorchAdam t = (TorchAdam) o;
        return Double.compare(learningRate, t.learningRate) == 0 && Objects.equals(learningRateSchedule,
                t.learningRateSchedule) && Double.compare(beta1, t.beta1) == 0 && Double.compare(beta2, t.beta2) == 0
                && Double.compare(epsilon, t.epsilon) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(TorchAdam.class, learningRate, learningRateSchedule, beta1, beta2, epsilon);
    }

    @Override
    public String toString() {
        return "TorchAdam(lr=" + (learningRateSchedule == null ? learningRate : learningRateSchedule) + ", beta1="
                + beta1 + ", beta2=" + beta2 + ", epsilon=" + epsilon + ")";
    }
}
