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
 * SGD with momentum exactly as PyTorch's {@code torch.optim.SGD(momentum=mu, nesterov=...)} (dampening 0):
 * <pre>
 * buf = mu * buf + g                          (buf = g at the first step)
 * update = lr * (nesterov ? g + mu * buf : buf)
 * </pre>
 * The learning rate multiplies the update, not the velocity: DL4J's {@code Nesterovs} folds the learning
 * rate into the velocity, which equals PyTorch only while the rate is constant. With {@code momentum == 0} it is
 * plain SGD and keeps no state. PyTorch's {@code weight_decay} (coupled) is {@link L2Penalty}; SGDW
 * (decoupled) is {@link DecoupledWeightDecay}; see {@link TorchOptimizer}.
 *
 * <pre>{@code
 * IUpdater nesterov = new TorchSgd(new StepSchedule(ScheduleType.EPOCH, 0.1, 0.1, 30), 0.9, true);
 * }</pre>
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
public final class TorchSgd implements IUpdater {
    private static final long serialVersionUID = 1L;

    @JsonProperty("learningRate")
    private double learningRate;
    @JsonProperty("learningRateSchedule")
    private ISchedule learningRateSchedule;
    @JsonProperty("momentum")
    private final double momentum;
    @JsonProperty("nesterov")
    private final boolean nesterov;

    /**
     * @param learningRate finite and {@code >= 0}
     * @param momentum     finite and {@code >= 0} (0: plain SGD)
     * @param nesterov     Nesterov momentum (needs {@code momentum > 0}, as in PyTorch)
     */
    public TorchSgd(double learningRate, double momentum, boolean nesterov) {
        this(learningRate, null, momentum, nesterov);
    }

    /** As {@link #TorchSgd(double, double, boolean)} with a learning-rate schedule. */
    public TorchSgd(ISchedule learningRateSchedule, double momentum, boolean nesterov) {
        this(Double.NaN, Checks.notNull("learningRateSchedule", learningRateSchedule), momentum, nesterov);
    }

    @JsonCreator
    private TorchSgd(@JsonProperty("learningRate") double learningRate,
                     @JsonProperty("learningRateSchedule") ISchedule learningRateSchedule,
                     @JsonProperty("momentum") double momentum, @JsonProperty("nesterov") boolean nesterov) {
        if (learningRateSchedule == null) {
            Checks.nonNegative("learningRate", learningRate);
        }
        this.learningRate = learningRate;
        this.learningRateSchedule = learningRateSchedule;
        this.momentum = Checks.nonNegative("momentum", momentum);
        if (nesterov && momentum == 0.0) {
            throw new IllegalArgumentException("nesterov requires momentum > 0, got momentum " + momentum);
        }
        this.nesterov = nesterov;
    }

    public double getMomentum() {
        return momentum;
    }

    public boolean isNesterov() {
        return nesterov;
    }

    /** The schedule, or null for a constant learning rate. */
    public ISchedule getLearningRateSchedule() {
        return learningRateSchedule;
    }

    @Override
    public long stateSize(long numParams) {
        return momentum == 0.0 ? 0 : numParams;
    }

    @Override
    public GradientUpdater instantiate(INDArray viewArray, boolean initializeViewArray) {
        TorchSgdUpdater u = new TorchSgdUpdater(this);
        if (momentum != 0.0) {
            INDArray flat = viewArray.reshape(viewArray.length());
            u.setStateViewArray(flat, flat.shape(), flat.ordering(), initializeViewArray);
        }
        return u;
    }

    @Override
    public GradientUpdater instantiate(Map<String, INDArray> updaterState, boolean initializeStateArrays) {
        TorchSgdUpdater u = new TorchSgdUpdater(this);
        u.setState(updaterState, initializeStateArrays);
        return u;
    }

    @Override
    public TorchSgd clone() {
        return new TorchSgd(learningRate, learningRateSchedule == null ? null : learningRateSchedule.clone(), momentum,
                nesterov);
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
        if (!(o instanceof TorchSgd)) {
            return false;
        }
        TorchSgd t = (TorchSgd) o;
        return Double.compare(learningRate, t.learningRate) == 0 && Objects.equals(learningRateSchedule,
                t.learningRateSchedule) && Double.compare(momentum, t.momentum) == 0 && nesterov == t.nesterov;
    }

    @Override
    public int hashCode() {
        return Objects.hash(TorchSgd.class, learningRate, learningRateSchedule, momentum, nesterov);
    }

    @Override
    public String toString() {
        return "TorchSgd(lr=" + (learningRateSchedule == null ? learningRate : learningRateSchedule) + ", momentum="
                + momentum + ", nesterov=" + nesterov + ")";
    }
}
