package org.regularize4j.resnet;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.backend.NativeOps;
import org.regularize4j.depth.DropDecisions;
import org.regularize4j.dropout.DropBlock;
import org.regularize4j.dropout.DropBlockMask;
import org.regularize4j.util.HostArrays;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * The DropBlock of a {@link ResidualBlockImpl}: one mask per branch unit output, drawn from (seed, iteration,
 * epoch, 4 · layer index + unit) in the unit's layout (NCHW or channels-last: the same logical mask either way).
 *
 * <p>No pass over the activations of its own. The mask is known before the unit runs (it depends on shapes and
 * coordinates only), so the unit folds the kept activations' multiplier {@code numel / kept} into its batch-norm
 * affine transform ({@link #scale}), and {@link #zeroDropped} then writes zeros only where blocks are dropped. In
 * the backward pass the unit takes the same multiplier as its output-gradient scale; a unit with a ReLU needs no
 * masking of its gradient (its forward output is 0 where dropped, so its ReLU's mask drops those gradients), and
 * for a unit without one {@link #maskGradient} zeroes the dropped entries of the output gradient, which
 * {@link #restoreGradient} puts back after the unit's backward pass (units never write their output gradient, and
 * the block still needs it for the shortcut).
 */
final class BranchDropBlock {
    private final DropBlockMask.Blocks[] dropped;
    private final double[] scales;
    private final long[][] shapes;
    private final Object[] saved;
    private DropBlock conf;
    private double dropProb;
    private long seed;
    private long iteration;
    private long epoch;
    private long stream;

    BranchDropBlock(int units) {
        dropped = new DropBlockMask.Blocks[units];
        scales = new double[units];
        shapes = new long[units][];
        saved = new Object[units];
    }

    /** Starts a forward pass: DropBlock is active when configured, training and its drop probability is > 0. */
    void begin(DropBlock dropBlock, boolean training, long seed, int iteration, int epoch, int layerIndex,
               int workerIndex) {
        clear();
        conf = null;
        if (dropBlock == null || !training) {
            return;
        }
        dropProb = dropBlock.dropProbAt(iteration, epoch);
        if (dropProb > 0) {
            conf = dropBlock;
            this.seed = dropBlock.isBatchwise() ? seed : DropDecisions.workerSeed(seed, workerIndex);
            this.iteration = iteration;
            this.epoch = epoch;
            this.stream = 4L * layerIndex;
        }
    }

    /**
     * Draws the mask of branch unit {@code unit}, whose output has {@code shape} in the given layout, and returns the
     * multiplier of its kept activations (1 when DropBlock is inactive), for the unit to fold into its output.
     */
    double scale(int unit, long[] shape, boolean channelsLast) {
        if (conf == null) {
            return 1.0;
        }
        DropBlockMask.Blocks d = DropBlockMask.blocks(conf, dropProb, shape, channelsLast, seed, iteration, epoch,
                stream + unit);
        dropped[unit] = d;
        shapes[unit] = shape.clone();
        scales[unit] = d.scale();
        return scales[unit];
    }

    /** Whether unit {@code unit}'s output has blocks dropped in this pass (after {@link #scale} for it). */
    boolean drops(int unit) {
        return dropped[unit] != null;
    }

    /** Zeroes the dropped activations of unit {@code unit}'s output (already multiplied by {@link #scale}). */
    void zeroDropped(int unit, INDArray h) {
        DropBlockMask.Blocks d = dropped[unit];
        if (d == null) {
            return;
        }
        check(h, unit);
        if (h.dataType() == DataType.FLOAT) {
            d.zero(floats(h));
        } else {
            d.zero(doubles(h));
        }
    }

    /** The multiplier of unit {@code unit}'s output gradient: its kept activations' multiplier, or 1. */
    double gradientScale(int unit) {
        return dropped[unit] == null ? 1.0 : scales[unit];
    }

    /**
     * Zeroes the dropped entries of the output gradient {@code g} of a unit without ReLU, remembering them for
     * {@link #restoreGradient}; a unit with a ReLU needs nothing (see the class comment).
     */
    void maskGradient(int unit, INDArray g, boolean unitRelu) {
        DropBlockMask.Blocks d = dropped[unit];
        if (d == null || unitRelu) {
            return;
        }
        check(g, unit);
        saved[unit] = g.dataType() == DataType.FLOAT ? d.saveAndZero(floats(g)) : d.saveAndZero(doubles(g));
    }

    /**
     * Puts back what {@link #maskGradient} zeroed. An index that overlapping blocks visit twice was saved first with
     * its value, then as +0: a saved +0 is skipped, so the first, true value stays.
     */
    void restoreGradient(int unit, INDArray g) {
        Object s = saved[unit];
        if (s == null) {
            return;
        }
        if (s instanceof float[]) {
            dropped[unit].restore(floats(g), (float[]) s);
        } else {
            dropped[unit].restore(doubles(g), (double[]) s);
        }
        saved[unit] = null;
    }

    /**
     * The mask of unit {@code unit} in the last training forward pass as an array (0 where dropped, the multiplier
     * elsewhere, in the unit's layout), or null (for tests).
     */
    INDArray mask(int unit) {
        if (dropped[unit] == null) {
            return null;
        }
        long numel = 1;
        for (long s : shapes[unit]) {
            numel *= s;
        }
        float[] m = new float[(int) numel];
        Arrays.fill(m, (float) scales[unit]);
        dropped[unit].forEachIndex(i -> m[i] = 0f);
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return Nd4j.create(m, shapes[unit], 'c');
        }
    }

    void clear() {
        Arrays.fill(dropped, null);
        Arrays.fill(saved, null);
    }

    private void check(INDArray a, int unit) {
        if (!Arrays.equals(a.shape(), shapes[unit]) || !NativeOps.isCContiguous(a)) {
            throw new IllegalStateException("DropBlock of branch unit " + unit + " needs a 'c'-contiguous array of"
                    + " shape " + Arrays.toString(shapes[unit]) + ", got " + a.shapeInfoToString());
        }
    }

    private static FloatBuffer floats(INDArray a) {
        return HostArrays.floatBuffer(a);
    }

    private static DoubleBuffer doubles(INDArray a) {
        return HostArrays.doubleBuffer(a);
    }
}
