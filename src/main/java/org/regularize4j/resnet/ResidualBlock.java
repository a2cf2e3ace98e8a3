package org.regularize4j.resnet;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.regularize4j.backend.NativeOps;
import org.regularize4j.depth.DropMode;
import org.regularize4j.depth.Scaling;
import org.regularize4j.dropout.DropBlock;
import org.regularize4j.util.Checks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * A whole residual block as one DL4J layer: {@code relu(shortcut(x) + mask · branch(x))}, where the branch
 * is a {@link BlockType#BASIC} or {@link BlockType#BOTTLENECK} stack of conv + batch-norm units running on
 * the libnd4j/oneDNN kernels, and the mask is stochastic depth (as in {@code StochasticDepthVertex}):
 * {@link DropMode#ROW} draws per example; {@link DropMode#BATCH} draws once per iteration and, when the
 * block is dropped, does not compute its branch at all, forward or backward (its parameters get zero
 * gradient and its batch-norm statistics stay as they are). An optional {@link DropBlock} masks the output
 * of every branch unit (conv + batch norm, and ReLU where the unit has one) while training, as timm's
 * ResNets apply {@code drop_block} after each batch norm of the branch (a mask of 0s and a positive scale
 * commutes with the ReLU).
 *
 * <p>Parameters (readable names for penalty rules): {@code conv1W}, {@code bn1Gamma}, {@code bn1Beta},
 * {@code bn1Mean}, {@code bn1Var}, {@code conv2W}, ... ({@code conv3W} for bottlenecks), and for a
 * projection shortcut {@code scConvW}, {@code scBnGamma}, ... .
 *
 * <pre>{@code
 * ResidualBlock block = new ResidualBlock.Builder().nIn(16).nOut(32).stride(2)
 *         .shortcut(ShortcutType.ZERO_PAD).dropProb(0.1).name("stage2.block1").build();
 * }</pre>
 */
public class ResidualBlock extends BaseConvBnLayer {
    private static final long serialVersionUID = 1L;

    @JsonProperty("blockType")
    private BlockType blockType = BlockType.BASIC;
    @JsonProperty("stride")
    private int stride = 1;
    @JsonProperty("shortcut")
    private ShortcutType shortcut = ShortcutType.PROJECTION;
    @JsonProperty("bottleneckWidth")
    private long bottleneckWidth;
    @JsonProperty("dropProb")
    private double dropProb;
    @JsonProperty("dropMode")
    private DropMode dropMode = DropMode.ROW;
    @JsonProperty("scaling")
    private Scaling scaling = Scaling.INVERTED;
    @JsonProperty("seed")
    private Long seed;
    @JsonProperty("inputFromRelu")
    private boolean inputFromRelu;
    @JsonProperty("dropBlock")
    private DropBlock dropBlock;

    /** For JSON. */
    protected ResidualBlock() {
    }

    protected ResidualBlock(Builder b) {
        super(b);
        this.blockType = Checks.notNull("blockType", b.blockType);
        this.stride = Checks.atLeast("stride", b.stride, 1);
        this.shortcut = Checks.notNull("shortcut", b.shortcut);
        this.bottleneckWidth = b.bottleneckWidth;
        this.dropProb = Checks.probability("dropProb", b.dropProb);
        this.dropMode = Checks.notNull("dropMode", b.dropMode);
        this.scaling = Checks.notNull("scaling", b.scaling);
        this.seed = b.seed;
        this.inputFromRelu = b.inputFromRelu;
        this.dropBlock = b.dropBlock;
        if (b.nOut < 1) {
            throw new IllegalArgumentException("nOut must be >= 1, got " + b.nOut);
        }
        if (blockType == BlockType.BOTTLENECK && bottleneckWidth < 1) {
            throw new IllegalArgumentException("bottleneckWidth must be >= 1 for a bottleneck block, got "
                    + bottleneckWidth);
        }
    }

    public BlockType getBlockType() {
        return blockType;
    }

    public int getStride() {
        return stride;
    }

    public ShortcutType getShortcut() {
        return shortcut;
    }

    public long getBottleneckWidth() {
        return bottleneckWidth;
    }

    public double getDropProb() {
        return dropProb;
    }

    /** A copy with another drop probability (used to stamp a depth schedule). */
    public ResidualBlock withDropProb(double newDropProb) {
        ResidualBlock c = clone();
        c.dropProb = Checks.probability("dropProb", newDropProb);
        return c;
    }

    public DropMode getDropMode() {
        return dropMode;
    }

    public Scaling getScaling() {
        return scaling;
    }

    public Long getSeed() {
        return seed;
    }

    /** DropBlock on the branch units' outputs, or null (off). */
    public DropBlock getDropBlock() {
        return dropBlock;
    }

    /** Whether the input is declared to be a ReLU's output (see {@link Builder#inputFromRelu}). */
    public boolean isInputFromRelu() {
        return inputFromRelu;
    }

    /** True when input and output shapes differ, so the shortcut is not the identity. */
    public boolean changesShape() {
        return stride != 1 || nIn != nOut;
    }

    /** True for an option-A (zero-padded) shortcut that is not the identity. */
    public boolean zeroPadShortcut() {
        return changesShape() && shortcut == ShortcutType.ZERO_PAD;
    }

    /** The branch units, then the projection shortcut unit (option B and a shape change only). */
    @Override
    public List<ConvBnSpec> units() {
        List<ConvBnSpec> u = new ArrayList<>();
        int in = (int) nIn;
        int out = (int) nOut;
        if (blockType == BlockType.BASIC) {
            u.add(new ConvBnSpec("conv1", "bn1", in, out, 3, stride, true));
            u.add(new ConvBnSpec("conv2", "bn2", out, out, 3, 1, false));
        } else {
            int mid = (int) bottleneckWidth;
            u.add(new ConvBnSpec("conv1", "bn1", in, mid, 1, 1, true));
            u.add(new ConvBnSpec("conv2", "bn2", mid, mid, 3, stride, true));
            u.add(new ConvBnSpec("conv3", "bn3", mid, out, 1, 1, false));
        }
        if (changesShape() && shortcut == ShortcutType.PROJECTION) {
            u.add(new ConvBnSpec("scConv", "scBn", in, out, 1, stride, false));
        }
        return u;
    }

    /** Number of branch units (2 for BASIC, 3 for BOTTLENECK). */
    int branchUnits() {
        return blockType == BlockType.BASIC ? 2 : 3;
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                             INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        return bind(new ResidualBlockImpl(conf, networkDataType), conf, listeners, layerIndex, layerParamsView,
                initializeParams);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        InputType.InputTypeConvolutional in = convInput(inputType);
        if (zeroPadShortcut() && nOut < in.getChannels()) {
            throw new IllegalArgumentException("ResidualBlock \"" + layerName + "\": a zero-padded shortcut needs"
                    + " nOut >= nIn, got nIn " + in.getChannels() + " and nOut " + nOut);
        }
        long h = NativeOps.outSize(in.getHeight(), 3, stride, 1);
        long w = NativeOps.outSize(in.getWidth(), 3, stride, 1);
        return InputType.convolutional(h, w, nOut);
    }

    @Override
    public ResidualBlock clone() {
        ResidualBlock c = (ResidualBlock) super.clone();
        c.dropBlock = dropBlock == null ? null : dropBlock.clone();
        return c;
    }

    @Override
    public boolean equals(Object o) {
        if (!super.equals(o)) {
            return false;
        }
        ResidualBlock that = (ResidualBlock) o;
        return blockType == that.blockType && stride == that.stride && shortcut == that.shortcut
                && bottleneckWidth == that.bottleneckWidth && Double.compare(dropProb, that.dropProb) == 0
                && dropMode == that.dropMode && scaling == that.scaling && Objects.equals(seed, that.seed)
                && inputFromRelu == that.inputFromRelu && Objects.equals(dropBlock, that.dropBlock);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), blockType, stride, shortcut, bottleneckWidth, dropProb, dropMode,
                scaling, seed, inputFromRelu, dropBlock);
    }

    /** Builder in DL4J's style. */
    public static class Builder extends BaseConvBnLayer.Builder<Builder> {
        private BlockType blockType = BlockType.BASIC;
        private int stride = 1;
        private ShortcutType shortcut = ShortcutType.PROJECTION;
        private long bottleneckWidth;
        private double dropProb;
        private DropMode dropMode = DropMode.ROW;
        private Scaling scaling = Scaling.INVERTED;
        private Long seed;
        private boolean inputFromRelu;
        private DropBlock dropBlock;

        /** BASIC (default) or BOTTLENECK. */
        public Builder blockType(BlockType blockType) {
            this.blockType = blockType;
            return this;
        }

        /** Stride of the block (on its first 3x3 convolution and on the shortcut), >= 1. */
        public Builder stride(int stride) {
            this.stride = stride;
            return this;
        }

        /** Shortcut when the shape changes: PROJECTION (default) or ZERO_PAD. */
        public Builder shortcut(ShortcutType shortcut) {
            this.shortcut = shortcut;
            return this;
        }

        /** Middle width of a bottleneck block (torchvision: nOut / 4 · widthMultiplier). */
        public Builder bottleneckWidth(long bottleneckWidth) {
            this.bottleneckWidth = bottleneckWidth;
            return this;
        }

        /** Stochastic-depth drop probability of the branch, in [0, 1]. Default 0 (off). */
        public Builder dropProb(double dropProb) {
            this.dropProb = dropProb;
            return this;
        }

        /** ROW (per example, default) or BATCH (per iteration; a dropped branch is not computed). */
        public Builder dropMode(DropMode dropMode) {
            this.dropMode = dropMode;
            return this;
        }

        /** INVERTED (default) or AT_INFERENCE. */
        public Builder scaling(Scaling scaling) {
            this.scaling = scaling;
            return this;
        }

        /** Seed of the drop decisions; null (default) means the network's seed. */
        public Builder seed(Long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Declares that the block's input is the output of a ReLU, directly or through max pooling (true for
         * every block of a {@link ResNet}: the stem and each block end with one). Default false. When true, a
         * block with an identity shortcut whose branch is skipped (dropped in BATCH mode) is the identity
         * itself: it returns its input ({@code relu(x) = x}) and passes the gradient through unchanged (the
         * ReLU that produced the input applies the same mask), instead of two passes over the activations;
         * results are bit for bit the same. The first skipped pass of each block checks that the input has no
         * negative value and throws IllegalStateException if it has (the declaration was wrong).
         */
        public Builder inputFromRelu(boolean inputFromRelu) {
            this.inputFromRelu = inputFromRelu;
            return this;
        }

        /**
         * DropBlock on the output of every branch unit while training; null (default) for none. Its seed and
         * stream index are not used: the masks come from (block seed or network seed, iteration, epoch, layer
         * index, unit), and the layouts (NCHW or channels-last) are the block's own.
         */
        public Builder dropBlock(DropBlock dropBlock) {
            this.dropBlock = dropBlock;
            return this;
        }

        @Override
        @SuppressWarnings("unchecked")
        public ResidualBlock build() {
            return new ResidualBlock(this);
        }
    }
}
