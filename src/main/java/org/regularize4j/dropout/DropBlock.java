package org.regularize4j.dropout;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.dropout.IDropout;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonIgnore;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.regularize4j.util.Checks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * DropBlock (Ghiasi et al. 2018) as a DL4J {@link IDropout}: while training, zeroes contiguous
 * {@code blockSize x blockSize} regions of each channel of a convolutional activation and rescales the rest
 * by {@code numel / kept}; at inference DL4J does not call it (identity). Dropping whole regions removes the
 * spatially correlated information that ordinary dropout leaves in the neighbours of a dropped pixel.
 * Semantics are timm's {@code drop_block_2d} / {@code drop_block_fast_2d} ({@code DropBlock2d(drop_prob,
 * block_size, gamma_scale, batchwise=, fast=)}); see {@link DropBlockMask} for the formulas.
 *
 * <p>DL4J applies a layer's dropout to the layer's <em>input</em>: {@code .dropOut(new DropBlock(...))} on a
 * convolution layer drops blocks of the activations coming into it. A {@code DropoutLayer} with a DropBlock
 * drops blocks of its input wherever it is placed. Activations must have rank 4: NCHW by default,
 * {@link #withDataFormat}(NHWC) for channels-last layers (an IDropout cannot see its layer's format). DL4J's
 * NHWC convolution layer hands its dropout an NCHW gradient in the backward pass; DropBlock recognizes that
 * and applies its mask in the gradient's layout.
 *
 * <p>Masks are a function of (seed, iteration, epoch, stream index), not of a random stream: the backward
 * pass, a gradient check's repeated forward passes and a resumed run see the same masks. Give every DropBlock
 * of a network its own stream with {@link #seedPerLayer(ComputationGraphConfiguration)}: it stamps the
 * network's seed and the layer's index, as the stochastic-depth vertices use theirs. Naming: {@code dropProb}
 * is a drop probability (DL4J's {@code Dropout(p)} takes a retain probability). Like DL4J's dropouts, an
 * instance keeps the mask of its layer's last forward pass: one instance per layer.
 *
 * <pre>{@code
 * ConvolutionLayer conv = new ConvolutionLayer.Builder(3, 3).nOut(16)
 *         .dropOut(new DropBlock(0.1, 5).withGammaScale(0.25))   // timm: DropBlock2d(0.1, 5, gamma_scale=0.25)
 *         .build();
 * }</pre>
 */
public class DropBlock implements IDropout {
    private static final long serialVersionUID = 1L;

    @JsonProperty("dropProb")
    private final double dropProb;
    @JsonProperty("blockSize")
    private final int blockSize;
    @JsonProperty("gammaScale")
    private final double gammaScale;
    @JsonProperty("batchwise")
    private final boolean batchwise;
    @JsonProperty("fast")
    private final boolean fast;
    @JsonProperty("schedule")
    private final ISchedule schedule;
    @JsonProperty("dataFormat")
    private final CNN2DFormat dataFormat;
    @JsonProperty("seed")
    private final long seed;
    @JsonProperty("streamIndex")
    private final long streamIndex;

    /** Scaled mask of the last forward pass (null: none, or the pass was the identity). */
    @JsonIgnore
    private transient INDArray mask;
    @JsonIgnore
    private transient boolean identity;

    /**
     * timm's defaults otherwise: gamma scale 1, per-example masks, seeds only where a whole block fits, NCHW.
     *
     * @param dropProb  share of activations to drop, in [0, 1]
     * @param blockSize side of a dropped block, {@code >= 1} (clipped to the feature map)
     */
    public DropBlock(double dropProb, int blockSize) {
        this(dropProb, blockSize, 1.0, false, false, null, CNN2DFormat.NCHW, 0L, 0L);
    }

    @JsonCreator
    private DropBlock(@JsonProperty("dropProb") double dropProb, @JsonProperty("blockSize") int blockSize,
                      @JsonProperty("gammaScale") double gammaScale, @JsonProperty("batchwise") boolean batchwise,
                      @JsonProperty("fast") boolean fast, @JsonProperty("schedule") ISchedule schedule,
                      @JsonProperty("dataFormat") CNN2DFormat dataFormat, @JsonProperty("seed") long seed,
                      @JsonProperty("streamIndex") long streamIndex) {
        this.dropProb = Checks.probability("dropProb", dropProb);
        this.blockSize = Checks.atLeast("blockSize", blockSize, 1);
        this.gammaScale = Checks.nonNegative("gammaScale", gammaScale);
        this.batchwise = batchwise;
        this.fast = fast;
        this.schedule = schedule;
        this.dataFormat = dataFormat == null ? CNN2DFormat.NCHW : dataFormat;
        this.seed = seed;
        this.streamIndex = streamIndex;
    }

    /** A copy whose seed rate γ is multiplied by {@code gammaScale} (finite, {@code >= 0}; timm's gamma_scale). */
    public DropBlock withGammaScale(double gammaScale) {
        return new DropBlock(dropProb, blockSize, gammaScale, batchwise, fast, schedule, dataFormat, seed, streamIndex);
    }

    /** A copy that draws one mask per mini-batch, shared by all its examples (timm's batchwise). */
    public DropBlock withBatchwise(boolean batchwise) {
        return new DropBlock(dropProb, blockSize, gammaScale, batchwise, fast, schedule, dataFormat, seed, streamIndex);
    }

    /**
     * A copy with block seeds anywhere and blocks clipped at the border (timm's {@code drop_block_fast_2d}),
     * instead of only where a whole block fits.
     */
    public DropBlock withFast(boolean fast) {
        return new DropBlock(dropProb, blockSize, gammaScale, batchwise, fast, schedule, dataFormat, seed, streamIndex);
    }

    /**
     * A copy whose drop probability follows {@code schedule} (its value at each iteration and epoch, which
     * must be in [0, 1]) instead of the fixed dropProb; null removes the schedule. The DropBlock paper ramps
     * it up linearly from 0: {@link LinearRampSchedule}.
     */
    public DropBlock withSchedule(ISchedule schedule) {
        return new DropBlock(dropProb, blockSize, gammaScale, batchwise, fast, schedule, dataFormat, seed, streamIndex);
    }

    /** A copy for activations in {@code dataFormat} (NCHW default, NHWC for channels-last layers). */
    public DropBlock withDataFormat(CNN2DFormat dataFormat) {
        return new DropBlock(dropProb, blockSize, gammaScale, batchwise, fast, schedule,
                Checks.notNull("dataFormat", dataFormat), seed, streamIndex);
    }

    /** A copy whose masks use this seed (default 0). */
    public DropBlock withSeed(long seed) {
        return new DropBlock(dropProb, blockSize, gammaScale, batchwise, fast, schedule, dataFormat, seed, streamIndex);
    }

    /** A copy whose masks use this stream index (default 0): different layers need different streams. */
    public DropBlock withStreamIndex(long streamIndex) {
        return new DropBlock(dropProb, blockSize, gammaScale, batchwise, fast, schedule, dataFormat, seed, streamIndex);
    }

    public double getDropProb() {
        return dropProb;
    }

    public int getBlockSize() {
        return blockSize;
    }

    public double getGammaScale() {
        return gammaScale;
    }

    public boolean isBatchwise() {
        return batchwise;
    }

    public boolean isFast() {
        return fast;
    }

    /** The drop-probability schedule, or null for the fixed dropProb. */
    public ISchedule getSchedule() {
        return schedule;
    }

    public CNN2DFormat getDataFormat() {
        return dataFormat;
    }

    public long getSeed() {
        return seed;
    }

    public long getStreamIndex() {
        return streamIndex;
    }

    /** The drop probability at this iteration and epoch: the schedule's value, else dropProb. */
    public double dropProbAt(int iteration, int epoch) {
        if (schedule == null) {
            return dropProb;
        }
        double p = schedule.valueAt(iteration, epoch);
        if (!(p >= 0.0 && p <= 1.0)) {
            throw new IllegalStateException("DropBlock's dropProb schedule must give values in [0, 1], got " + p
                    + " at iteration " + iteration + ", epoch " + epoch + " from " + schedule);
        }
        return p;
    }

    @Override
    public INDArray applyDropout(INDArray inputActivations, INDArray resultArray, int iteration, int epoch,
                                 LayerWorkspaceMgr workspaceMgr) {
        Checks.notNull("inputActivations", inputActivations);
        if (inputActivations.rank() != 4) {
            throw new IllegalArgumentException("DropBlock's inputActivations must have rank 4 ("
                    + dataFormat.dimensionNames() + "), got rank " + inputActivations.rank() + " with shape "
                    + Arrays.toString(inputActivations.shape())
                    + ": use it on convolutional layers, whose input is a feature map");
        }
        INDArray in = inputActivations;
        if (in != resultArray && in.dataType() != resultArray.dataType()) {
            in = in.castTo(resultArray.dataType());
        }
        double p = dropProbAt(iteration, epoch);
        if (p == 0.0) {
            mask = null;
            identity = true;
            return in == resultArray ? resultArray : resultArray.assign(in);
        }
        identity = false;
        mask = DropBlockMask.create(this, p, in.shape(), dataFormat == CNN2DFormat.NHWC, seed, iteration, epoch,
                streamIndex, resultArray.dataType());
        Nd4j.getExecutioner().exec(new MulOp(in, mask, resultArray));
        return resultArray;
    }

    @Override
    public INDArray backprop(INDArray gradAtOutput, INDArray gradAtInput, int iteration, int epoch) {
        if (identity) {
            return gradAtOutput == gradAtInput ? gradAtInput : gradAtInput.assign(gradAtOutput);
        }
        if (mask == null) {
            throw new IllegalStateException("Cannot do DropBlock's backward pass: no training forward pass, the mask"
                    + " was cleared, or this DropBlock instance is shared by several layers (give each layer its own,"
                    + " e.g. with DropBlock.seedPerLayer)");
        }
        INDArray m = maskInLayoutOf(gradAtOutput);
        m = m.dataType() == gradAtInput.dataType() ? m : m.castTo(gradAtInput.dataType());
        Nd4j.getExecutioner().exec(new MulOp(gradAtOutput, m, gradAtInput));
        mask = null;
        return gradAtInput;
    }

    /**
     * The mask in the layout of the gradient. DL4J 1.0.0-M2.1's ConvolutionLayer in NHWC mode applies its dropout
     * to the NHWC input but back-propagates through it while its gradient is still NCHW (a permuted view, before
     * its final permute back): that gradient has the mask's shape permuted to NCHW, or, when height, width and
     * channels are all equal, the same shape with a smaller stride for examples than for channels.
     */
    private INDArray maskInLayoutOf(INDArray grad) {
        long[] m = mask.shape();
        long[] g = grad.shape();
        if (dataFormat == CNN2DFormat.NHWC) {
            long[] asNchw = {m[0], m[3], m[1], m[2]};
            boolean sameShape = Arrays.equals(g, m);
            if (Arrays.equals(g, asNchw) && (!sameShape || (g[0] > 1 && grad.stride(0) < grad.stride(1)))) {
                return mask.permute(0, 3, 1, 2);
            }
        }
        if (!Arrays.equals(g, m)) {
            throw new IllegalStateException("DropBlock's backward pass got a gradient of shape " + Arrays.toString(g)
                    + " for activations of shape " + Arrays.toString(m));
        }
        return mask;
    }

    /** The scaled mask of the last training forward pass (0 dropped, numel / kept kept), or null. */
    public INDArray getLastMask() {
        return mask;
    }

    @Override
    public void clear() {
        mask = null;
        identity = false;
    }

    @Override
    public DropBlock clone() {
        return new DropBlock(dropProb, blockSize, gammaScale, batchwise, fast,
                schedule == null ? null : schedule.clone(), dataFormat, seed, streamIndex);
    }

    /**
     * Gives every layer of {@code conf} that has a DropBlock its own mask stream: the network's seed and the
     * layer's position among the graph's vertices (in the order they were added).
     *
     * @return the names of the layers stamped, in that order
     */
    public static List<String> seedPerLayer(ComputationGraphConfiguration conf) {
        Checks.notNull("conf", conf);
        long networkSeed = conf.getDefaultConfiguration().getSeed();
        List<String> stamped = new ArrayList<>();
        int index = 0;
        for (Map.Entry<String, GraphVertex> e : conf.getVertices().entrySet()) {
            if (e.getValue() instanceof LayerVertex) {
                Layer layer = ((LayerVertex) e.getValue()).getLayerConf().getLayer();
                if (stamp(layer, networkSeed, index)) {
                    stamped.add(e.getKey());
                }
            }
            index++;
        }
        return stamped;
    }

    /** {@link #seedPerLayer(ComputationGraphConfiguration)} for a MultiLayerNetwork's configuration (layer index). */
    public static List<String> seedPerLayer(MultiLayerConfiguration conf) {
        Checks.notNull("conf", conf);
        List<String> stamped = new ArrayList<>();
        for (int i = 0; i < conf.getConfs().size(); i++) {
            Layer layer = conf.getConf(i).getLayer();
            if (stamp(layer, conf.getConf(i).getSeed(), i)) {
                stamped.add(layer.getLayerName() != null ? layer.getLayerName() : "layer" + i);
            }
        }
        return stamped;
    }

    private static boolean stamp(Layer layer, long networkSeed, int index) {
        if (layer.getIDropout() instanceof DropBlock) {
            layer.setIDropout(((DropBlock) layer.getIDropout()).withSeed(networkSeed).withStreamIndex(index));
            return true;
        }
        return false;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (o == null || o.getClass() != getClass()) {
            return false;
        }
        DropBlock that = (DropBlock) o;
        return Double.compare(dropProb, that.dropProb) == 0 && blockSize == that.blockSize
                && Double.compare(gammaScale, that.gammaScale) == 0 && batchwise == that.batchwise
                && fast == that.fast && Objects.equals(schedule, that.schedule) && dataFormat == that.dataFormat
                && seed == that.seed && streamIndex == that.streamIndex;
    }

    @Override
    public int hashCode() {
        return Objects.hash(dropProb, blockSize, gammaScale, batchwise, fast, schedule, dataFormat, seed, streamIndex);
    }

    @Override
    public String toString() {
        return "DropBlock(dropProb=" + dropProb + ", blockSize=" + blockSize
                + (gammaScale != 1.0 ? ", gammaScale=" + gammaScale : "") + (batchwise ? ", batchwise" : "")
                + (fast ? ", fast" : "") + (schedule != null ? ", schedule=" + schedule : "")
                + (dataFormat != CNN2DFormat.NCHW ? ", " + dataFormat : "")
                + (seed != 0 || streamIndex != 0 ? ", seed=" + seed + ", stream=" + streamIndex : "") + ")";
    }
}
