package org.regularize4j.optim;

import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.regularize4j.util.Checks;

import java.util.Objects;

/**
 * The learning rate of one layer under {@link LayerDecay}: {@code multiplier ×} the learning rate of the layer's
 * original updater at each (iteration, epoch), schedule included. {@link LayerDecay} sets it as the learning-rate
 * schedule of a copy of that updater, so the updater's own arithmetic runs unchanged with a scaled rate (timm's
 * {@code lr_scale}; decoupled weight decay, which DL4J scales by the updater's rate, is scaled too, as in PyTorch).
 * It keeps the original updater, so applying layer decay again starts from it instead of compounding. JSON (with
 * {@code @class}), Java serialization and {@code ModelSerializer} keep both.
 *
 * <pre>{@code
 * ISchedule lr = new LayerLrSchedule(new TorchSgd(0.1, 0.9, true), 0.25);   // 0.025 at every step
 * }</pre>
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
public final class LayerLrSchedule implements ISchedule {
    private static final long serialVersionUID = 1L;

    @JsonProperty("original")
    private final IUpdater original;
    @JsonProperty("multiplier")
    private final double multiplier;

    /**
     * @param original   the layer's updater before layer decay (copied), with a learning rate
     * @param multiplier finite and {@code > 0}
     */
    @JsonCreator
    public LayerLrSchedule(@JsonProperty("original") IUpdater original, @JsonProperty("multiplier") double multiplier) {
        Checks.notNull("original", original);
        if (!original.hasLearningRate()) {
            throw new IllegalArgumentException("original must have a learning rate, got " + original);
        }
        if (!(multiplier > 0.0) || Double.isInfinite(multiplier)) {
            throw new IllegalArgumentException("multiplier must be finite and > 0, got " + multiplier);
        }
        this.original = original.clone();
        this.multiplier = multiplier;
    }

    /** The layer's updater before layer decay (do not modify). */
    public IUpdater getOriginal() {
        return original;
    }

    public double getMultiplier() {
        return multiplier;
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        return multiplier * original.getLearningRate(iteration, epoch);
    }

    @Override
    public LayerLrSchedule clone() {
        return new LayerLrSchedule(original, multiplier);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LayerLrSchedule && Double.compare(multiplier, ((LayerLrSchedule) o).multiplier) == 0
                && original.equals(((LayerLrSchedule) o).original);
    }

    @Override
    public int hashCode() {
        return Objects.hash(LayerLrSchedule.class, original, multiplier);
    }

    @Override
    public String toString() {
        return multiplier + " x lr of " + original;
    }
}
