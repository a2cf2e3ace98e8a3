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
    private long[] innerInputShape; // the input's shape as the units saw it (NHWC when channelsLast)
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
        long seed = c.getSeed() != null ? c.getSeed() : conf.getSeed();
        RowScales s = DropPath.scales(input.size(0), c.getDropProb(), training, c.getDropMode(), c.getScaling(), seed,
                getIterationCount(), getEpochCount(), getIndex(), workerIndex);
        boolean compute = s.keptCount() > 0;

        scales = s;
        branchComputed = compute;
        dropBlock.begin(c.getDropBlock(), training && compute, seed, getIterationCount(), getEpochCount(), getIndex(),
                workerIndex);
        passedThrough = !compute && training && c.isInputFromRelu() && !c.changesShape();
        boolean nhwc = channelsLastFor(input);
        if (passedThrough) {
            // relu(x + 0) = x for a ReLU's output: the block is the identity (nothing to compute or keep)
            INDArray x = nhwc ? input : layerInput(training, mgr);
            checkReluInput(x);
            output = null;
            channelsLast = false;
            return mgr.leverageTo(ArrayType.ACTIVATIONS, x);
        }
        // channels-last: the units read and write [n, h, w, c] arrays; DL4J sees [n, c, h, w] views of them
        INDArray x = nhwc ? channelsLastInput(training, mgr) : layerInput(training, mgr);
        INDArray shortcut = shortcutForward(x, nhwc, training, mgr);
        INDArray out = mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, shortcut.shape(), 'c');
        if (compute) {
            List<ConvBnUnit> units = units();
            int n = c.branchUnits();
            INDArray h = x;
            for (int i = 0; i < n; i++) {
                ArrayType keep = training && i < n - 1 ? ArrayType.ACTIVATIONS : ArrayType.FF_WORKING_MEM;
                h = nhwc ? units.get(i).forwardNhwc(h, training, mgr, keep) : units.get(i).forward(h, training, mgr, keep);
                h = dropBlock.forward(i, h, nhwc, mgr, keep);
            }
            if (!NativeKernels.scaleAddRelu(h, s.isUniform() && s.get(0) == 1.0 ? null : floats(s), shortcut, out)) {
                s.multiplyAdd(h, shortcut, out);
                NativeOps.reluInPlace(out);
            }
            branchForwardCount++;
        } else {
            NativeOps.relu(shortcut, out);
        }
        output = training ? out : null;
        channelsLast = nhwc;
        innerInputShape = x.shape();
        return nhwc ? NativeKernels.nchwView(out) : out;
    }

    private static void zero(INDArray a) {
        if (!NativeKernels.zero(a)) {
            a.assign(0.0);
        }
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

    private static float[] floats(RowScales s) {
        float[] f = new float[s.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) s.get(i);
        }
        return f;
    }

    private INDArray shortcutForward(INDArray x, boolean nhwc, boolean training, LayerWorkspaceMgr mgr) {
        ResidualBlock c = layerConf();
        if (!c.changesShape()) {
            return x;
        }
        if (c.zeroPadShortcut()) {
            if (nhwc) {
                long[] shape = units().get(0).outShapeNhwc(x);
                shape[3] = c.getNOut();
                INDArray sc = mgr.createUninitialized(ArrayType.FF_WORKING_MEM, dataType, shape, 'c');
                if (!NativeKernels.zeroPadShortcutNhwc(x, c.getStride(), padBefore(x.size(3)), sc)) {
                    throw new IllegalStateException("channels-last blocks need the native kernels: "
                            + NativeKernels.status());
                }
                return sc;
            }
            long[] shape = units().get(0).outShape(x);
            shape[1] = c.getNOut();
            INDArray sc = mgr.createUninitialized(ArrayType.FF_WORKING_MEM, dataType, shape, 'c');
            if (!NativeKernels.zeroPadShortcut(x, c.getStride(), padBefore(x.size(1)), sc)) {
                sc.assign(0);
                sc.get(padChannels(x.size(1))).assign(x.get(subsample()));
            }
            return sc;
        }
        return nhwc ? projection().forwardNhwc(x, training, mgr, ArrayType.FF_WORKING_MEM)
                : projection().forward(x, training, mgr, ArrayType.FF_WORKING_MEM);
    }

    private INDArrayIndex[] subsample() {
        int s = layerConf().getStride();
        return new INDArrayIndex[] {NDArrayIndex.all(), NDArrayIndex.all(),
                NDArrayIndex.interval(0, s, input.size(2)), NDArrayIndex.interval(0, s, input.size(3))};
    }

    private int padBefore(long inChannels) {
        return (int) ((layerConf().getNOut() - inChannels) / 2);
    }

    private INDArrayIndex[] padChannels(long inChannels) {
        long before = padBefore(inChannels);
        return new INDArrayIndex[] {NDArrayIndex.all(), NDArrayIndex.interval(before, before + inChannels),
                NDArrayIndex.all(), NDArrayIndex.all()};
    }

    private ConvBnUnit projection() {
        return units().get(layerConf().branchUnits());
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        if (passedThrough) {
            // the identity: zero gradients for the whole block (no projection: all its parameters are the
            // branch's), and the output gradient passes unchanged (the input's ReLU applies the same mask)
            zero(gradientsFlattened);
            // DL4J frees the output gradient's workspace after this call: the input gradient is a copy (in the
            // gradient's own layout)
            INDArray eps = epsilon.castTo(dataType);
            boolean nhwc = NativeKernels.isNhwcView(eps) && !NativeOps.isCContiguous(eps);
            INDArray src = nhwc ? eps.permute(0, 2, 3, 1) : eps;
            INDArray dx = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, src.shape(), 'c');
            if (!NativeKernels.copy(src, dx)) {
                dx.assign(src);
            }
            return new Pair<>(gradientObject(), nhwc ? NativeKernels.nchwView(dx) : dx);
        }
        if (output == null) {
            throw new IllegalStateException("Cannot do backward pass in layer \"" + layerConf().getLayerName()
                    + "\": no training forward pass");
        }
        INDArray eps = epsilon.castTo(dataType);
        if (channelsLast) {
            eps = channelsLastGradient(eps, ArrayType.BP_WORKING_MEM, mgr);
        }
        Pair<Gradient, INDArray> result = backward(eps, mgr);
        return channelsLast ? new Pair<>(result.getFirst(), NativeKernels.nchwView(result.getSecond())) : result;
    }

    /** The backward pass in the units' layout ({@code eps} and the result NHWC when channelsLast). */
    private Pair<Gradient, INDArray> backward(INDArray eps, LayerWorkspaceMgr mgr) {
        ResidualBlock c = layerConf();
        List<ConvBnUnit> units = units();
        int n = c.branchUnits();
        if (!branchComputed) {
            if (units.size() == n) {
                zero(gradientsFlattened);   // no projection: every parameter is the branch's
            } else {
                for (int i = 0; i < n; i++) {
                    units.get(i).zeroGradients(gradientViews);
                }
            }
        }
        if (!branchComputed && !c.changesShape()) {
            // a skipped block with an identity shortcut: the input gradient is the ReLU's, in one pass
            INDArray dx = NativeOps.reluBackprop(output, eps,
                    mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, eps.shape(), 'c'));
            return new Pair<>(gradientObject(), dx);
        }
        INDArray d = NativeOps.reluBackprop(output, eps,
                mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, eps.shape(), 'c'));
        INDArray dx = null;
        if (branchComputed) {
            // the units read their output gradient and never write it: a uniform multiplier (BATCH mode, or no
            // example dropped) is folded into the last unit's batch-norm backward pass, with no copy of d, and so
            // are per-example multipliers (ROW mode) on the channels-last path
            boolean uniform = scales.isUniform();
            float[] perExample = !uniform && channelsLast ? floats(scales) : null;
            INDArray g = uniform || perExample != null ? d
                    : scales.multiply(d, mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, d.shape(), 'c'));
            for (int i = n - 1; i >= 0; i--) {
                g = dropBlock.backward(i, g, mgr);   // DropBlock: the gradient at unit i's unmasked output
                g = units.get(i).backward(g, uniform && i == n - 1 ? scales.get(0) : 1.0, i == n - 1 ? perExample : null,
                        gradientViews, mgr, i == 0 ? ArrayType.ACTIVATION_GRAD : ArrayType.BP_WORKING_MEM);
            }
            dx = g;
        }
        if (!c.changesShape()) {
            if (!NativeKernels.add(dx, d, dx)) {
                dx.addi(d);
            }
        } else if (c.zeroPadShortcut()) {
            boolean accumulate = dx != null;
            if (dx == null) {
                dx = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, innerInputShape, 'c');
            }
            if (channelsLast) {
                if (!NativeKernels.zeroPadShortcutBackwardNhwc(d, c.getStride(), padBefore(innerInputShape[3]), dx,
                        accumulate)) {
                    throw new IllegalStateException("channels-last blocks need the native kernels: "
                            + NativeKernels.status());
                }
            } else if (!NativeKernels.zeroPadShortcutBackward(d, c.getStride(), padBefore(input.size(1)), dx,
                    accumulate)) {
                if (!accumulate) {
                    dx.assign(0);
                }
                dx.get(subsample()).addi(d.get(padChannels(input.size(1))));
            }
        } else if (dx == null) {
            dx = projection().backward(d, gradientViews, mgr, ArrayType.ACTIVATION_GRAD);
        } else {
            dx.addi(projection().backward(d, gradientViews, mgr, ArrayType.BP_WORKING_MEM));
        }
        return new Pair<>(gradientObject(), dx);
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
