package org.regularize4j.util;

/**
 * Argument checks with messages that name the argument and its allowed range, so that bad input fails
 * where it enters (constructors, builders, kernels) and never turns into a NaN further down.
 *
 * <pre>{@code
 * double dropProb = Checks.probability("dropProb", 0.2);   // returns 0.2
 * Checks.probability("dropProb", 1.5);                      // IllegalArgumentException: dropProb must be in [0, 1], got 1.5
 * }</pre>
 */
public final class Checks {
    private Checks() {
    }

    /** A probability in [0, 1]; rejects NaN. */
    public static double probability(String name, double value) {
        if (!(value >= 0.0 && value <= 1.0)) {
            throw new IllegalArgumentException(name + " must be in [0, 1], got " + value);
        }
        return value;
    }

    /** A finite value {@code >= 0}; rejects NaN and infinity. */
    public static double nonNegative(String name, double value) {
        if (!(value >= 0.0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(name + " must be finite and >= 0, got " + value);
        }
        return value;
    }

    /** An integer {@code >= min}. */
    public static int atLeast(String name, int value, int min) {
        if (value < min) {
            throw new IllegalArgumentException(name + " must be >= " + min + ", got " + value);
        }
        return value;
    }

    /** An index in [0, size). */
    public static int index(String name, int value, int size) {
        if (value < 0 || value >= size) {
            throw new IllegalArgumentException(name + " must be in [0, " + size + "), got " + value);
        }
        return value;
    }

    /** A non-null reference. */
    public static <T> T notNull(String name, T value) {
        if (value == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        return value;
    }
}
