package org.regularize4j.depth;

import org.regularize4j.util.Checks;

/**
 * Stochastic-depth decisions as a pure function of (seed, iteration, epoch, stream index, example).
 *
 * <p>Why not a random stream: a stream's state would have to travel with the network. Deriving every
 * decision from its coordinates means that the backward pass, a gradient check's repeated forward passes,
 * a run resumed from a checkpoint and every worker of a multi-worker run see exactly the same decisions,
 * with no extra state to save or ship. The stream index tells the vertices (or blocks) of one network
 * apart; the graph vertices use their vertex index in the {@code ComputationGraph}.
 *
 * <p>The uniform variates come from a SplitMix64-style mix of the coordinates (53 random bits); the
 * statistical tests in {@code DropDecisionsTest} bound their bias and correlation.
 *
 * <p>Several workers of a data-parallel run (DL4J's {@code ParallelWrapper}, Spark) train copies of one network
 * with the same seed and, in step, the same iteration count. {@link DropMode#BATCH} decisions are then the same
 * on every worker: all workers drop the same blocks in the same iteration, as one process training on the
 * combined mini-batch would. {@link DropMode#ROW} decisions are per example and must not repeat from one
 * worker's shard to the next, so they use {@link #workerSeed(long, int)}: worker 0 draws what a single process
 * draws, every other worker draws independently (see {@link WorkerAware} and docs/distributed.md).
 *
 * <pre>{@code
 * double[] scales = DropDecisions.trainingScales(8, 0.25, DropMode.ROW, Scaling.INVERTED,
 *         42L, 0, 0, 3);   // each entry 0 (dropped) or 1/0.75 (kept)
 * }</pre>
 */
public final class DropDecisions {
    /** Example index used for the single draw of {@link DropMode#BATCH}. */
    static final long BATCH_DRAW = -1L;

    private DropDecisions() {
    }

    /**
     * A uniform variate in [0, 1) determined by its coordinates.
     */
    public static double uniform(long seed, long iteration, long epoch, long streamIndex, long example) {
        return (hash(seed, iteration, epoch, streamIndex, example) >>> 11) * 0x1.0p-53;
    }

    /**
     * The 64 random bits behind {@link #uniform}: a well-mixed function of the coordinates, for components that
     * need more than one variate per coordinate (e.g. to seed a generator per example, as DropBlock does).
     */
    public static long hash(long seed, long iteration, long epoch, long streamIndex, long example) {
        long h = mix(seed ^ 0x9E3779B97F4A7C15L);
        h = mix(h ^ (iteration * 0xBF58476D1CE4E5B9L + 0x632BE59BD9B4E019L));
        h = mix(h ^ (epoch * 0x94D049BB133111EBL + 0x2545F4914F6CDD1DL));
        h = mix(h ^ (streamIndex * 0xD6E8FEB86659FD93L + 0x9E3779B97F4A7C15L));
        return mix(h ^ (example * 0xA0761D6478BD642FL + 0xE7037ED1A0B428DBL));
    }

    /**
     * The seed of {@link DropMode#ROW} decisions on worker {@code workerIndex} of a data-parallel run:
     * {@code seed} itself on worker 0 (so a single process, or the first worker, is unaffected) and a
     * well-mixed seed of its own on every other worker, so that row {@code i} of one worker's mini-batch and
     * row {@code i} of another's are decided independently. BATCH decisions never use it.
     *
     * @param workerIndex 0-based worker index, {@code >= 0}
     */
    public static long workerSeed(long seed, int workerIndex) {
        Checks.atLeast("workerIndex", workerIndex, 0);
        if (workerIndex == 0) {
            return seed;
        }
        return mix(mix(seed ^ 0x5851F42D4C957F2DL) + workerIndex * 0xC2B2AE3D27D4EB4FL);
    }

    /**
     * Whether a branch is kept: true with probability {@code 1 - dropProb}. Exactly never kept when
     * dropProb is 1 and always kept when it is 0.
     */
    public static boolean keep(double dropProb, long seed, long iteration, long epoch, long streamIndex,
                               long example) {
        Checks.probability("dropProb", dropProb);
        return uniform(seed, iteration, epoch, streamIndex, example) >= dropProb;
    }

    /**
     * The multiplier applied to each example's branch while training: 0 for a dropped example, and for a
     * kept one 1/keepProb under {@link Scaling#INVERTED} or 1 under {@link Scaling#AT_INFERENCE}.
     *
     * @param numExamples mini-batch size, at least 1
     */
    public static double[] trainingScales(int numExamples, double dropProb, DropMode mode, Scaling scaling,
                                          long seed, long iteration, long epoch, long streamIndex) {
        return trainingScales(numExamples, dropProb, mode, scaling, seed, iteration, epoch, streamIndex, 0);
    }

    /**
     * {@link #trainingScales(int, double, DropMode, Scaling, long, long, long, long)} on worker
     * {@code workerIndex} of a data-parallel run: ROW decisions use {@link #workerSeed(long, int)}, the BATCH
     * decision is the same on every worker.
     *
     * @param workerIndex 0-based worker index, {@code >= 0}; 0 gives the single-process decisions
     */
    public static double[] trainingScales(int numExamples, double dropProb, DropMode mode, Scaling scaling,
                                          long seed, long iteration, long epoch, long streamIndex,
                                          int workerIndex) {
        Checks.atLeast("numExamples", numExamples, 1);
        Checks.probability("dropProb", dropProb);
        Checks.notNull("mode", mode);
        Checks.atLeast("workerIndex", workerIndex, 0);
        double keptScale = keptScale(dropProb, scaling);
        double[] scales = new double[numExamples];
        if (mode == DropMode.BATCH) {
            boolean keep = keep(dropProb, seed, iteration, epoch, streamIndex, BATCH_DRAW);
            java.util.Arrays.fill(scales, keep ? keptScale : 0.0);
        } else {
            long rowSeed = workerSeed(seed, workerIndex);
            for (int i = 0; i < numExamples; i++) {
                scales[i] = keep(dropProb, rowSeed, iteration, epoch, streamIndex, i) ? keptScale : 0.0;
            }
        }
        return scales;
    }

    /** Multiplier of a kept branch while training. */
    public static double keptScale(double dropProb, Scaling scaling) {
        Checks.notNull("scaling", scaling);
        if (scaling == Scaling.AT_INFERENCE || dropProb >= 1.0) {
            return 1.0; // with dropProb == 1 nothing is kept; never divide by zero
        }
        return 1.0 / (1.0 - dropProb);
    }

    /** Multiplier of the branch at inference: 1 under INVERTED, survivalProb under AT_INFERENCE. */
    public static double inferenceScale(double dropProb, Scaling scaling) {
        Checks.notNull("scaling", scaling);
        return scaling == Scaling.AT_INFERENCE ? 1.0 - dropProb : 1.0;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
