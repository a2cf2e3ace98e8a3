package org.regularize4j.penalty;

import org.nd4j.linalg.schedule.FixedSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.regularize4j.util.Checks;

/**
 * Checks and formatting for penalty coefficients, which are always held as an {@link ISchedule} (a constant
 * is a {@link FixedSchedule}). A coefficient must be finite and {@code >= 0}: where it enters (constructors)
 * and every time a schedule is evaluated, since a schedule can turn negative later in training.
 */
final class Coefficient {
    private Coefficient() {
    }

    /** A constant coefficient; rejects negative, NaN and infinite values, naming the argument. */
    static ISchedule fixed(String name, double value) {
        return new FixedSchedule(Checks.nonNegative(name, value));
    }

    /** A scheduled coefficient; rejects null and a schedule whose first value is not finite and >= 0. */
    static ISchedule schedule(String name, ISchedule schedule) {
        Checks.notNull(name, schedule);
        valueAt(name, schedule, 0, 0);
        return schedule;
    }

    /** The schedule's value, checked. */
    static double valueAt(String name, ISchedule schedule, int iteration, int epoch) {
        double v = schedule.valueAt(iteration, epoch);
        if (!(v >= 0.0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(name + " must be finite and >= 0, got " + v + " from schedule "
                    + schedule + " at iteration " + iteration + ", epoch " + epoch);
        }
        return v;
    }

    /** "5.0E-4" for a constant, the schedule's own text otherwise. */
    static String format(ISchedule schedule) {
        if (schedule instanceof FixedSchedule) {
            return Double.toString(((FixedSchedule) schedule).getValue());
        }
        return String.valueOf(schedule);
    }
}
