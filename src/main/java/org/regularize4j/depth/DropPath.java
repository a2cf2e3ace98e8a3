package org.regularize4j.depth;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.util.Checks;

import java.util.Arrays;

/**
 * Drop path (stochastic depth) as a function: the counterpart of the seed article's
 * {@code drop_connect(inputs, p, training)} and of timm's {@code drop_path(x, drop_prob, training)}.
 *
 * <p>While training, each example of {@code x} (dimension 0) is kept with probability
 * {@code keepProb = 1 - dropProb} and zeroed otherwise, one decision for the whole example whatever the
 * rank (dense {@code [mb, n]}, recurrent {@code [mb, n, T]}, CNN {@code [mb, c, h, w]} or NHWC, CNN3D);
 * kept examples are divided by keepProb so that the expected output equals the input. When not training,
 * or when dropProb is 0, the result equals the input. When dropProb is 1 the result is all zeros: the
 * seed's {@code inputs / keep_prob * binary_tensor} divides by zero there and gives NaN, this never does.
 *
 * <p>Naming trap: DL4J's {@code Dropout(p)} takes a <em>retain</em> probability, timm and torchvision take a
 * <em>drop</em> probability. This library always says {@code dropProb} or {@code keepProb}.
 *
 * <p>Within a network use {@link DropPathVertex} or {@link StochasticDepthVertex}: their decisions are
 * derived from (seed, iteration, epoch, vertex index) (see {@link DropDecisions}) and backprop reuses them.
 * The plain functions here draw from {@code Nd4j.getRandom()} unless given the coordinates explicitly.
 *
 * <pre>{@code
 * INDArray x = Nd4j.ones(4, 3);
 * INDArray y = DropPath.apply(x, 0.5, true);    // each row is all 0 or all 2
 * INDArray z = DropPath.apply(x, 0.5, false);   // equals x (a new array)
 * }</pre>
 */
public final class DropPath {
    private DropPath() {
    }

    /**
     * Per-example drop path with inverted scaling; returns a new array and leaves {@code x} untouched.
     *
     * @param x        input, rank at least 2, examples along dimension 0
     * @param dropProb probability that an example's branch is dropped, in [0, 1]
     * @param training false gives (a copy of) the input
     */
    public static INDArray apply(INDArray x, double dropProb, boolean training) {
        return apply(x, dropProb, training, DropMode.ROW, Scaling.INVERTED);
    }

    /**
     * Drop path with a chosen mode and scaling, drawing from {@code Nd4j.getRandom()}.
     */
    public static INDArray apply(INDArray x, double dropProb, boolean training, DropMode mode, Scaling scaling) {
        checkArgs(x, dropProb, mode, scaling);
        long base = Nd4j.getRandom().nextLong();
        return apply(x, dropProb, training, mode, scaling, base, 0, 0, 0);
    }

    /**
     * Drop path whose decisions are the deterministic function {@link DropDecisions} of the given
     * coordinates: the same coordinates give the same mask.
     */
    public static INDArray apply(INDArray x, double dropProb, boolean training, DropMode mode, Scaling scaling,
                                 long seed, long iteration, long epoch, long streamIndex) {
        checkArgs(x, dropProb, mode, scaling);
        RowScales scales = scales(x.size(0), dropProb, training, mode, scaling, seed, iteration, epoch,
                streamIndex);
        return scales.multiply(x, x.ulike());
    }

    /**
     * The per-example multipliers that drop path applies: the training mask (0 or the kept scale) when
     * training, otherwise the inference scale for every example.
     */
    public static RowScales scales(long numExamples, double dropProb, boolean training, DropMode mode,
                                   Scaling scaling, long seed, long iteration, long epoch, long streamIndex) {
        return scales(numExamples, dropProb, training, mode, scaling, seed, iteration, epoch, streamIndex, 0);
    }

    /**
     * {@link #scales(long, double, boolean, DropMode, Scaling, long, long, long, long)} on worker
     * {@code workerIndex} of a data-parallel run (see {@link DropDecisions#workerSeed(long, int)}): ROW masks
     * differ between workers, BATCH decisions do not.
     */
    public static RowScales scales(long numExamples, double dropProb, boolean training, DropMode mode,
                                   Scaling scaling, long seed, long iteration, long epoch, long streamIndex,
                                   int workerIndex) {
        Checks.atLeast("workerIndex", workerIndex, 0);
        if (numExamples < 1 || numExamples > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("numExamples must be in [1, " + Integer.MAX_VALUE + "], got "
                    + numExamples);
        }
        int n = (int) numExamples;
        if (!training || dropProb == 0.0) {
            return RowScales.uniform(n, training ? 1.0 : DropDecisions.inferenceScale(dropProb, scaling));
        }
        return RowScales.of(DropDecisions.trainingScales(n, dropProb, mode, scaling, seed, iteration, epoch,
                streamIndex, workerIndex));
    }

    static void checkArgs(INDArray x, double dropProb, DropMode mode, Scaling scaling) {
        Checks.notNull("x", x);
        Checks.probability("dropProb", dropProb);
        Checks.notNull("mode", mode);
        Checks.notNull("scaling", scaling);
        if (x.rank() < 2) {
            throw new IllegalArgumentException("x must have rank >= 2 with examples along dimension 0, got shape "
                    + Arrays.toString(x.shape()));
        }
    }
}
