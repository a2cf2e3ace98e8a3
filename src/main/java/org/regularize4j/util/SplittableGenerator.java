package org.regularize4j.util;

import org.apache.commons.math3.random.AbstractRandomGenerator;

import java.util.SplittableRandom;

/**
 * A commons-math {@code RandomGenerator} over {@link SplittableRandom}: as cheap to create as to draw from (a
 * {@code Well19937c} fills 624 words of state when seeded, which dominates when a generator lives for a handful of
 * draws, as the per-image generators of random erasing do). Gaussians come from commons-math's polar method.
 */
public final class SplittableGenerator extends AbstractRandomGenerator {
    private SplittableRandom random;

    /** A generator seeded with {@code seed}. */
    public SplittableGenerator(long seed) {
        random = new SplittableRandom(seed);
    }

    @Override
    public void setSeed(long seed) {
        random = new SplittableRandom(seed);
        clear();
    }

    @Override
    public double nextDouble() {
        return random.nextDouble();
    }

    @Override
    public int nextInt(int n) {
        return random.nextInt(n);
    }

    @Override
    public int nextInt() {
        return random.nextInt();
    }

    @Override
    public long nextLong() {
        return random.nextLong();
    }
}
