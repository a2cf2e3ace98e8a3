package org.regularize4j.cli;

import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.regularize4j.util.Checks;

import java.util.Objects;

/**
 * Cosine annealing without restarts (Loshchilov and Hutter; PyTorch's {@code CosineAnnealingLR(T_max, eta_min)}
 * stepped per iteration): {@code value(t) = finalValue + (initialValue - finalValue) * (1 + cos(pi * t / totalSteps)) / 2}
 * for {@code t} in [0, totalSteps], {@code finalValue} after. ND4J 1.0.0-M2.1 has no cosine schedule; this one
 * serializes with the network's configuration like ND4J's own, so a saved model resumes on the same curve.
 *
 * <pre>{@code
 * ISchedule lr = new CosineSchedule(ScheduleType.ITERATION, 0.1, 0.0, 1000);
 * double start = lr.valueAt(0, 0);      // 0.1
 * double middle = lr.valueAt(500, 0);   // 0.05
 * double end = lr.valueAt(1000, 0);     // 0.0
 * }</pre>
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.NONE, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE, setterVisibility = JsonAutoDetect.Visibility.NONE)
public final class CosineSchedule implements ISchedule {
    private static final long serialVersionUID = 1L;

    @JsonProperty("scheduleType")
    private final ScheduleType scheduleType;
    @JsonProperty("initialValue")
    private final double initialValue;
    @JsonProperty("finalValue")
    private final double finalValue;
    @JsonProperty("totalSteps")
    private final int totalSteps;

    /**
     * @param scheduleType per ITERATION or per EPOCH
     * @param initialValue the value at step 0, finite
     * @param finalValue   the value at {@code totalSteps} and after, finite
     * @param totalSteps   length of the half cosine, {@code >= 1}
     */
    @JsonCreator
    public CosineSchedule(@JsonProperty("scheduleType") ScheduleType scheduleType,
                          @JsonProperty("initialValue") double initialValue,
                          @JsonProperty("finalValue") double finalValue,
                          @JsonProperty("totalSteps") int totalSteps) {
        this.scheduleType = Checks.notNull("scheduleType", scheduleType);
        if (!Double.isFinite(initialValue) || !Double.isFinite(finalValue)) {
            throw new IllegalArgumentException("initialValue and finalValue must be finite, got " + initialValue
                    + " and " + finalValue);
        }
        this.initialValue = initialValue;
        this.finalValue = finalValue;
        this.totalSteps = Checks.atLeast("totalSteps", totalSteps, 1);
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        int t = scheduleType == ScheduleType.ITERATION ? iteration : epoch;
        if (t >= totalSteps) {
            return finalValue;
        }
        return finalValue + (initialValue - finalValue) * (1 + Math.cos(Math.PI * Math.max(t, 0) / totalSteps)) / 2;
    }

    @Override
    public ISchedule clone() {
        return new CosineSchedule(scheduleType, initialValue, finalValue, totalSteps);
    }

    public ScheduleType getScheduleType() {
        return scheduleType;
    }

    public double getInitialValue() {
        return initialValue;
    }

    public double getFinalValue() {
        return finalValue;
    }

    public int getTotalSteps() {
        return totalSteps;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof CosineSchedule)) {
            return false;
        }
        CosineSchedule s = (CosineSchedule) o;
        return s.scheduleType == scheduleType && Double.compare(s.initialValue, initialValue) == 0
                && Double.compare(s.finalValue, finalValue) == 0 && s.totalSteps == totalSteps;
    }

    @Override
    public int hashCode() {
        return Objects.hash(scheduleType, initialValue, finalValue, totalSteps);
    }

    @Override
    public String toString() {
        return "CosineSchedule(" + scheduleType + ", " + initialValue + " -> " + finalValue + " over " + totalSteps
                + ")";
    }
}
