package org.regularize4j.resnet;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.depth.DropDecisions;
import org.regularize4j.dropout.DropBlock;
import org.regularize4j.dropout.DropBlockMask;

import java.util.Arrays;

/**
 * The DropBlock of a {@link ResidualBlockImpl}: one mask per branch unit output, drawn in the forward pass from
 * (seed, iteration, epoch, 4 · layer index + unit) in the unit's layout (NCHW or channels-last: the same logical
 * mask either way) and applied again to the gradient in the backward pass. Kept apart from the block's kernels:
 * the block calls {@link #forward} after each unit and {@link #backward} before each unit's backward pass.
 */
final class BranchDropBlock {
    private final INDArray[] masks;
    private DropBlock conf;
    private double dropProb;
    private long seed;
    private long iteration;
    private long epoch;
    private long stream;

    BranchDropBlock(int units) {
        masks = new INDArray[units];
    }

    /** Starts a forward pass: DropBlock is active when configured, training and its drop probability is > 0. */
    void begin(DropBlock dropBlock, boolean training, long seed, int iteration, int epoch, int layerIndex,
               int workerIndex) {
        Arrays.fill(masks, null);
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

    /** The output of branch unit {@code unit}, masked (a new array of {@code type}) when active. */
    INDArray forward(int unit, INDArray h, boolean channelsLast, LayerWorkspaceMgr mgr, ArrayType type) {
        if (conf == null) {
            return h;
        }
        INDArray m = DropBlockMask.create(conf, dropProb, h.shape(), channelsLast, seed, iteration, epoch,
                stream + unit, h.dataType());
        masks[unit] = m;
        INDArray out = mgr.createUninitialized(type, h.dataType(), h.shape(), 'c');
        Nd4j.getExecutioner().exec(new MulOp(h, m, out));
        return out;
    }

    /** The gradient at branch unit {@code unit}'s output from the gradient at its masked output. */
    INDArray backward(int unit, INDArray g, LayerWorkspaceMgr mgr) {
        INDArray m = masks[unit];
        if (m == null) {
            return g;
        }
        INDArray out = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, g.dataType(), g.shape(), 'c');
        Nd4j.getExecutioner().exec(new MulOp(g, m, out));
        return out;
    }

    /** The mask of unit {@code unit} in the last training forward pass, or null (for tests). */
    INDArray mask(int unit) {
        return masks[unit];
    }

    void clear() {
        Arrays.fill(masks, null);
    }
}
