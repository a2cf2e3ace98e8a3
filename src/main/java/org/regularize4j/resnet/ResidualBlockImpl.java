package org.regularize4j.resnet;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.regularize4j.backend.ConvBnKernels;
import org.regularize4j.backend.KernelPaths;
import org.regularize4j.backend.NativeKernels;
import org.regularize4j.backend.NativeOps;
import org.regularize4j.depth.DropPath;
import org.regularize4j.depth.RowScales;
import org.regularize4j.depth.WorkerAware;
import org.regularize4j.util.Checks;

import java.util.List;

/**
 * Implementation of {@link ResidualBlock}. Decisions come from (seed, iteration, epoch, layer index), like
 * the stochastic-depth vertices'; a branch whose examples are all dropped (always the case for a dropped
 * block in BATCH mode) is skipped: no convolution, no batch norm, zero gradients.
 *
 * <pre>{@code
 * ResidualBlockImpl block = (ResidualBlockImpl) net.getLayer("stage1.block1");
 * boolean computed = block.wasBranchComputed();   // after a training step
 * }</pre>
 */
public class ResidualBlockImpl extends ConvBnStackImpl<ResidualBlock> implements WorkerAware {
    private INDArray output;        // kept for the ReLU's backward pass
    private RowScales scales;       // multipliers of the last forward pass
    private boolean branchComputed = true;
    private long branchForwardCount;
    private int workerIndex;        // worker of a data-parallel run (ROW decisions only); 0 unless set
    private boolean inputChecked;   // inputFromRelu verified on a skipped pass
    private boolean passedThrough;  // the last forward pass returned its input (skipped identity block)
    private boolean channelsLast;   // the last forward pass ran channels-last (NHWC inside; kept after clear())
    private long[] innerInputShape; // the input's shape as the units saw it (in the kernels' layout)
    private final BranchDropBlock dropBlock = new BranchDropBlock(3);   // masks of the branch units (DropBlock)

    public ResidualBlockImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    @Override
    public void setWorkerIndex(int workerIndex) {
        this.workerIndex = Checks.atLeast("workerIndex", workerIndex, 0);
    }

    @Override
    public int getWorkerIndex() {
        return workerIndex;
    }

    /** Whether the last forward pass computed the branch (false: the block was dropped and skipped). */
    public boolean wasBranchComputed() {
        return branchComputed;
    }

    /** The per-example multipliers of the branch in the last forward pass, or null before the first one. */
    public RowScales getLastScales() {
        return scales;
    }

    /**
     * Whether the last forward pass ran channels-last: the units on NHWC arrays with direct oneDNN convolutions
     * ({@link org.regularize4j.backend.DirectConv}), the output a [n, c, h, w] view of an NHWC array. False for a skipped identity block.
     */
    public boolean wasChannelsLast() {
        return channelsLast;
    }

    /** How many forward passes computed the branch since this layer was created. */
    public long getBranchForwardCount() {
        return branchForwardCount;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        bindUnits();
        ResidualBlock c = layerConf();
        ConvBnKernels k = kernels();
        long seed = c.getSeed() != null ? c.getSeed() : conf.getSeed();
        RowScales s = DropPath.scales(input.size(0), c.getDropProb(), training, c.getDropMode(), c.getScaling(), seed,
                getIterationCount(), getEpochCount(), getIndex(), workerIndex);
        boolean compute = s.keptCount() > 0;

        scales = s;
        branchComputed = compute;
        dropBlock.begin(c.getDropBlock(), training && compute, seed, getIterationCount(), getEpochCount(), getIndex(),
                workerIndex);
        passedThrough = !compute && training && c.isInputFromRelu() && !c.changesShape();
        if (passedThrough) {
            // relu(x + 0) = x for a ReLU's output: the block is the identity (nothing to compute or keep); the input
            // is returned in whatever layout it came
            checkReluInput(input);
            output = null;
            channelsLast = false;
            return mgr.leverageTo(ArrayType.ACTIVATIONS, input);
        }
        INDArray x = layerInput(training, mgr);
        if (!training && compute && s.isUniform() && units().get(c.branchUnits() - 1).foldsHere()) {
            INDArray out = foldedInference(x, s.get(0), mgr);
            output = null;
            channelsLast = k.channelsLast();
            innerInputShape = x.shape();
            branchForwardCount++;
            return k.toOuter(out);
        }
        INDArray shortcut = shortcutForward(x, training, mgr);
        INDArray out = mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, shortcut.shape(), 'c');
        if (compute) {
            List<ConvBnUnit> units = units();
            int n = c.branchUnits();
            INDArray h = x;
            for (int i = 0; i < n; i++) {
                ConvBnUnit unit = units.get(i);
                // DropBlock: the kept activations' multiplier folded into the unit, then zeros where dropped
                double dropBlockScale = dropBlock.scale(i, unit.outShape(h), k.channelsLast());
                // an intermediate output is kept for the backward pass, or recomputed there from the unit's
                // convolution output (channels-last, no DropBlock on it: the same kernel gives the same values)
                boolean recompute = training && i < n - 1 && k.channelsLast() && !dropBlock.drops(i)
                        && bytes(unit.outShape(h)) >= KernelPaths.recomputeMinBytes();
                ArrayType keep = training && i < n - 1 && !recompute ? ArrayType.ACTIVATIONS
                        : ArrayType.FF_WORKING_MEM;
                h = unit.forward(h, training, mgr, keep, dropBlockScale);
                dropBlock.zeroDropped(i, h);
                if (recompute) {
                    unit.forgetOutput();
                }
            }
            k.blockOutput(h, s.isUniform() && s.get(0) == 1.0 ? null : floats(s), shortcut, out);
            branchForwardCount++;
        } else {
            k.relu(shortcut, out);
        }
        output = training ? out : null;
        channelsLast = k.channelsLast();
        innerInputShape = x.shape();
        return k.toOuter(out);
    }

    /**
     * Inference with batch norm folded into every convolution ({@link KernelPaths#foldsBatchNorm()}): the branch's
     * last convolution adds the shortcut and applies the block's ReLU as oneDNN post-ops, with the branch's inference
     * multiplier {@code branchScale} folded into its weights; the shortcut (a copy of the input, the zero-padded
     * input, or the folded projection) is written into the output first and added by a sum post-op. No batch-norm
     * or block-output pass. (Reading an identity shortcut with a binary post-op instead of the copy made oneDNN 2.5
     * leave its brgconv kernels for slower jit ones: the ResNet-20 pass took 5% longer, docs/backends.md.) The
     * block runs on row ranges of the batch ({@link KernelPaths#inferenceChunkRows}), the whole block per range, so
     * that the branch's intermediate activations are still in the cache when the next convolution reads them.
     */
    private INDArray foldedInference(INDArray x, double branchScale, LayerWorkspaceMgr mgr) {
        ResidualBlock c = layerConf();
        ConvBnKernels k = kernels();
        List<ConvBnUnit> units = units();
        int n = c.branchUnits();
        ConvBnUnit last = units.get(n - 1);
        for (int i = 0; i < n; i++) {
            units.get(i).fold(i == n - 1 ? branchScale : 1.0);
        }
        boolean projection = c.changesShape() && !c.zeroPadShortcut();
        if (projection) {
            projection().fold(1.0);
        }
        long batch = x.size(0);
        long rows = KernelPaths.inferenceChunkRows(batch, x.length() / batch * x.dataType().width());
        INDArray[] buffers = new INDArray[n - 1];
        INDArray out = null;
        for (long start = 0; start < batch; start += rows) {
            long r = Math.min(rows, batch - start);
            INDArray xr = rows(x, start, r);
            INDArray h = xr;
            for (int i = 0; i < n - 1; i++) {
                ConvBnUnit u = units.get(i);
                if (buffers[i] == null) {   // the first range is the largest
                    buffers[i] = mgr.createUninitialized(ArrayType.FF_WORKING_MEM, dataType, u.outShape(h), 'c');
                }
                INDArray hr = rows(buffers[i], 0, r);
                u.convolveFolded(h, hr, false, u.spec().relu());
                h = hr;
            }
            if (out == null) {
                long[] shape = last.outShape(h);
                shape[0] = batch;
                out = mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, shape, 'c');
            }
            INDArray or = rows(out, start, r);
            if (!c.changesShape()) {
                k.copy(xr, or);
            } else if (projection) {
                projection().convolveFolded(xr, or, false, false);
            } else {
                k.zeroPadShortcut(xr, c.getStride(), padBefore(channels(x)), or);
            }
            last.convolveFolded(h, or, true, true);
        }
        return out;
    }

    /** Examples {@code [start, start + count)} of {@code a} (a view; {@code a} itself when that is all of it). */
    private static INDArray rows(INDArray a, long start, long count) {
        if (start == 0 && count == a.size(0)) {
            return a;
        }
        INDArrayIndex[] index = new INDArrayIndex[a.rank()];
        index[0] = NDArrayIndex.interval(start, start + count);
        for (int d = 1; d < index.length; d++) {
            index[d] = NDArrayIndex.all();
        }
        return a.get(index);
    }

    /** Once per block: a declared ReLU input must have no negative value. */
    private void checkReluInput(INDArray x) {
        if (inputChecked) {
            return;
        }
        double min = x.minNumber().doubleValue();
        if (min < 0) {
            throw new IllegalStateException("ResidualBlock \"" + layerConf().getLayerName() + "\" is declared"
                    + " inputFromRelu(true), but its input has a negative value (" + min + "): build it with"
                    + " inputFromRelu(false) unless a ReLU produces its input");
        }
        inputChecked = true;
    }

    private long bytes(long[] shape) {
        long n = dataType.width();
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    private static float[] floats(RowScales s) {
        float[] f = new float[s.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) s.get(i);
        }
        return f;
    }

    private INDArray shortcutForward(INDArray x, boolean training, LayerWorkspaceMgr mgr) {
        ResidualBlock c = layerConf();
        if (!c.changesShape()) {
            return x;
        }
        if (c.zeroPadShortcut()) {
            ConvBnKernels k = kernels();
            long[] shape = units().get(0).outShape(x);
            shape[k.channelsLast() ? 3 : 1] = c.getNOut();
            INDArray sc = mgr.createUninitialized(ArrayType.FF_WORKING_MEM, dataType, shape, 'c');
            k.zeroPadShortcut(x, c.getStride(), padBefore(channels(x)), sc);
            return sc;
        }
        return projection().forward(x, training, mgr, ArrayType.FF_WORKING_MEM);
    }

    /** Channels of an activation in the kernels' layout. */
    private long channels(INDArray a) {
        return kernels().channelsLast() ? a.size(3) : a.size(1);
    }

    private static long channels(long[] shape, boolean channelsLast) {
        return channelsLast ? shape[3] : shape[1];
    }

    private int padBefore(long inChannels) {
        return (int) ((layerConf().getNOut() - inChannels) / 2);
    }

    private ConvBnUnit projection() {
        return units().get(layerConf().branchUnits());
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        ConvBnKernels k = kernels();
        if (passedThrough) {
            // the identity: zero gradients for the whole block (no projection: all its parameters are the
            // branch's), and the output gradient passes unchanged (the input's ReLU applies the same mask).
            // DL4J frees the output gradient's workspace after this call: the input gradient is a copy, in the
            // gradient's own layout
            k.zero(gradientsFlattened);
            INDArray eps = epsilon.castTo(dataType);
            boolean nhwc = NativeKernels.isNhwcView(eps) && !NativeOps.isCContiguous(eps);
            INDArray src = nhwc ? eps.permute(0, 2, 3, 1) : NativeOps.contiguous(eps);
            INDArray dx = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, src.shape(), 'c');
            k.copy(src, dx);
            return new Pair<>(gradientObject(), nhwc ? NativeKernels.nchwView(dx) : dx);
        }
        if (output == null) {
            throw new IllegalStateException("Cannot do backward pass in layer \"" + layerConf().getLayerName()
                    + "\": no training forward pass");
        }
        Pair<Gradient, INDArray> result = backward(outputGradient(epsilon, mgr), mgr);
        return new Pair<>(result.getFirst(), k.toOuter(result.getSecond()));
    }

    /** The backward pass in the kernels' layout. */
    private Pair<Gradient, INDArray> backward(INDArray eps, LayerWorkspaceMgr mgr) {
        ResidualBlock c = layerConf();
        ConvBnKernels k = kernels();
        List<ConvBnUnit> units = units();
        int n = c.branchUnits();
        if (!branchComputed) {
            if (units.size() == n) {
                k.zero(gradientsFlattened);   // no projection: every parameter is the branch's
            } else {
                for (int i = 0; i < n; i++) {
                    units.get(i).zeroGradients(gradientViews);
                }
            }
        }
        if (!branchComputed && !c.changesShape()) {
            // a skipped block with an identity shortcut: the input gradient is the ReLU's, in one pass
            INDArray dx = k.reluBackward(output, eps,
                    mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, eps.shape(), 'c'));
            return new Pair<>(gradientObject(), dx);
        }
        // the block's ReLU gradient in place of the output gradient where the element-wise kernel allows it (DL4J
        // hands each layer its own output gradient, and accumulates several in place too): one array less
        boolean inPlace = k.channelsLast() && eps.dataType() == dataType && NativeOps.isCContiguous(eps);
        INDArray d = k.reluBackward(output, eps, inPlace ? eps
                : mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, eps.shape(), 'c'));
        INDArray dx = null;
        INDArray scratch = null;
        if (branchComputed) {
            // the units read their output gradient and never write it; the branch's multipliers (a uniform one in
            // BATCH mode or when no example is dropped, per-example ones in ROW mode) go to the last unit's batch-norm
            // backward pass, which folds them in where its kernels can
            boolean uniform = scales.isUniform();
            float[] perExample = uniform ? null : floats(scales);
            scratch = gradientScratch(mgr);
            INDArray g = d;
            for (int i = n - 1; i >= 0; i--) {
                boolean last = i == n - 1;
                ConvBnUnit unit = units.get(i);
                if (i > 0 && !units.get(i - 1).keepsOutput()) {
                    // the previous unit's output, this unit's input, recomputed now (working memory of the pass)
                    unit.rebindInput(units.get(i - 1).recomputeOutput(mgr));
                }
                // DropBlock: the unit's multiplier, and the dropped entries of g zeroed while the unit reads it (a
                // unit with a ReLU needs no zeroing: its output is 0 where dropped)
                dropBlock.maskGradient(i, g, unit.spec().relu());
                INDArray gIn = unit.backward(g, (uniform && last ? scales.get(0) : 1.0) * dropBlock.gradientScale(i),
                        last ? perExample : null, gradientViews, mgr,
                        i == 0 ? ArrayType.ACTIVATION_GRAD : ArrayType.BP_WORKING_MEM, scratch);
                dropBlock.restoreGradient(i, g);
                g = gIn;
            }
            dx = g;
        }
        if (!c.changesShape()) {
            k.add(dx, d, dx);
        } else if (c.zeroPadShortcut()) {
            boolean accumulate = dx != null;
            if (dx == null) {
                dx = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, innerInputShape, 'c');
            }
            k.zeroPadShortcutBackward(d, c.getStride(), padBefore(channels(innerInputShape, k.channelsLast())), dx,
                    accumulate);
        } else {
            ConvBnUnit p = projection();
            if (scratch == null) {
                scratch = gradientScratch(mgr);
            }
            if (dx == null) {
                dx = p.backward(d, 1.0, null, gradientViews, mgr, ArrayType.ACTIVATION_GRAD, scratch);
            } else {
                k.add(dx, p.backward(d, 1.0, null, gradientViews, mgr, ArrayType.BP_WORKING_MEM, scratch), dx);
            }
        }
        return new Pair<>(gradientObject(), dx);
    }

    /**
     * One working array for the convolution-output gradients of all units of the block, in turn (each is dead
     * when its unit's backward pass returns): the largest of them instead of one per unit. At a ResNet-50's first
     * stage that is 103 MB instead of 257 MB.
     */
    private INDArray gradientScratch(LayerWorkspaceMgr mgr) {
        long length = 0;
        for (ConvBnUnit u : units()) {
            length = Math.max(length, u.convOutLength());
        }
        return mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, new long[] {length}, 'c');
    }

    /** The DropBlock mask of branch unit {@code unit} in the last training forward pass, or null. */
    INDArray dropBlockMask(int unit) {
        return dropBlock.mask(unit);
    }

    @Override
    public void clear() {
        super.clear();
        output = null;
        passedThrough = false;
        dropBlock.clear();
    }
}
