package org.regularize4j.dropout;

import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.regularize4j.util.Checks;

import java.util.Objects;

/**
 * A value that moves linearly from {@code start} to {@code end} over {@code steps} iterations (or epochs) and
 * then stays at {@code end}: the DropBlock paper's schedule (Ghiasi et al. 2018 lower the keep probability
 * linearly from 1 to its target, which they found more robust than a fixed one). DL4J's {@code RampSchedule}
 * does not survive a JSON round trip; this one does, and has equals/hashCode.
 *
 * <pre>{@code
 * ISchedule ramp = new LinearRampSchedule(ScheduleType.ITERATION, 0.0, 0.1, 1000);
 * double atStart = ramp.valueAt(0, 0);      // 0.0
 * double halfway = ramp.valueAt(500, 0);    // 0.05
 * double later = ramp.valueAt(5000, 3);     // 0.1
 * }</pre>
 */
public final class LinearRampSchedule implements ISchedule {
    private static final long serialVersionUID = 1L;

    @JsonProperty("scheduleType")
    private final ScheduleType scheduleType;
    @JsonProperty("start")
    private final double start;
    @JsonProperty("end")
    private final double end;
    @JsonProperty("steps")
    private final int steps;

    /**
     * @param scheduleType ITERATION or EPOCH: what {@code steps} counts
     * @param start        value at step 0, finite
     * @param end          value from step {@code steps} on, finite
     * @param steps        length of the ramp, {@code >= 1}
     */
    @JsonCreator
    public LinearRampSchedule(@JsonProperty("scheduleType") ScheduleType scheduleType,
                              @JsonProperty("start") double start, @JsonProperty("end") double end,
                              @JsonProperty("steps") int steps) {
        this.scheduleType = Checks.notNull("scheduleType", scheduleType);
        if (!Double.isFinite(start) || !Double.isFinite(end)) {
            throw new IllegalArgumentException("start and end must be finite, got " + start + " and " + end);
        }
        this.start = start;
        this.end = end;
        this.steps = Checks.atLeast("steps", steps, 1);
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        int step = scheduleType == ScheduleType.ITERATION ? iteration : epoch;
        if (step >= steps) {
            return end;
        }
        return start + (end - start) * Math.max(0, step) / steps;
    }

    @Override
    public LinearRampSchedule clone() {
        return new LinearRampSchedule(scheduleType, start, end, steps);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof LinearRampSchedule)) {
            return false;
        }
        LinearRampSchedule that = (LinearRampSchedule) o;
        return scheduleType == that.scheduleType && Double.compare(start, that.start) == 0
                && Double.compare(end, that.end) == 0 && steps == that.steps;
    }

    @Override
    public int hashCode() {
        return Objects.hash(scheduleType, start, end, steps);
    }

    @Override
    public String toString() {
        return "LinearRampSchedule(" + scheduleType + ", " + start + " -> " + end + " over " + steps + ")";
    }
}
