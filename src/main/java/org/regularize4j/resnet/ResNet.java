package org.regularize4j.resnet;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.IWeightInit;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.backend.FlatGradientUpdater;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.depth.Scaling;
import org.regularize4j.dropout.DropBlock;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.util.Checks;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds residual networks as DL4J {@link ComputationGraph}s whose blocks are {@link ResidualBlock} layers on
 * the libnd4j/oneDNN kernels.
 *
 * <ul>
 *   <li>{@link #cifar(int)}: He et al.'s CIFAR ResNets, depth 6n+2 (20, 32, 44, 56, 110, 1202, ...): a 3x3
 *       stem with 16 channels, three stages of n BasicBlocks with 16/32/64 channels (stride 2 entering
 *       stages 2 and 3), global average pooling, a softmax classifier. Shortcut option A (zero padding) by
 *       default, as in He et al. and Huang et al.</li>
 *   <li>{@link #imagenet(int)}: ResNet-18/34 (BasicBlock) and 50/101/152 (Bottleneck, torchvision's v1.5),
 *       a 7x7 stride-2 stem with max pooling ({@link #smallInputStem(boolean)} swaps it for a 3x3 stride-1
 *       stem without pooling), option B (projection) shortcuts.</li>
 * </ul>
 *
 * <p>Layer names: {@code stem}, {@code stem.pool} (ImageNet stem), {@code stage<s>.block<b>} (1-based),
 * {@code pool}, {@code fc}. Inside a block the parameters are {@code conv1W}, {@code bn1Gamma},
 * {@code bn1Beta}, {@code bn1Mean}, {@code bn1Var}, {@code conv2W}, ..., and {@code scConvW}, {@code scBn...}
 * for a projection shortcut; stochastic-depth blocks are numbered 0..N−1 across all stages for the
 * {@link DepthSchedule}.
 *
 * <p>{@link #dropBlock(double)} puts DropBlock on the last two stages as timm's {@code drop_block_rate} does:
 * block size 5 with γ scale 0.25 on the second-to-last stage, 3 with γ scale 1 on the last, the fast variant
 * (timm's default then), on the output of every conv + batch-norm unit of each block's branch. The same sizes
 * serve the CIFAR-style networks: their last two stages see 14x14 and 7x7 maps on 28x28 inputs (Fashion-MNIST)
 * and 16x16 and 8x8 on 32x32 (CIFAR), the sizes of an ImageNet ResNet's last two stages at 224x224 (14x14 and
 * 7x7) for which timm chose 5 and 3; a block then covers about the same share of the map (5/14 and 3/7 of a
 * side). Smaller maps clip the block.
 *
 * <pre>{@code
 * ComputationGraph net = ResNet.cifar(20)
 *         .inputShape(1, 28, 28)
 *         .numClasses(10)
 *         .stochasticDepth(DepthSchedule.linear(0.5), DropMode.ROW)
 *         .regularization(RegularizationPolicy.standard(5e-4))
 *         .seed(1)
 *         .build();
 * }</pre>
 */
public final class ResNet {
    private static final int[] IMAGENET_DEPTHS = {18, 34, 50, 101, 152};

    private final String family;
    private final int depth;
    private final int[] blocksPerStage;
    private final int[] stageWidths;
    private final BlockType blockType;
    private long channels;
    private long height;
    private long width;
    private int numClasses;
    private double widthMultiplier = 1.0;
    private ShortcutType shortcut;
    private boolean smallInputStem;
    private DepthSchedule schedule = DepthSchedule.constant(0.0);
    private DropMode dropMode = DropMode.ROW;
    private Scaling scaling = Scaling.INVERTED;
    private IUpdater updater = new Nesterovs(0.1, 0.9);
    private RegularizationPolicy policy = RegularizationPolicy.none();
    private DropBlock dropBlockSecondToLast;
    private DropBlock dropBlockLast;
    private ILossFunction loss;
    private long seed = 42;
    private DataType dataType = DataType.FLOAT;
    private WorkspaceMode workspaceMode = WorkspaceMode.ENABLED;
    private InitPreset initPreset = InitPreset.HE;
    private IWeightInit convInit = WeightInit.RELU.getWeightInitFunction();
    private IWeightInit classifierInit = WeightInit.XAVIER.getWeightInitFunction();
    private boolean uniformClassifierBias;
    private double bnMomentum = 0.1;
    private double bnEps = 1e-5;

    private ResNet(String family, int depth, int[] blocksPerStage, int[] stageWidths, BlockType blockType,
                   long c, long h, long w, int numClasses, ShortcutType shortcut) {
        this.family = family;
        this.depth = depth;
        this.blocksPerStage = blocksPerStage;
        this.stageWidths = stageWidths;
        this.blockType = blockType;
        this.channels = c;
        this.height = h;
        this.width = w;
        this.numClasses = numClasses;
        this.shortcut = shortcut;
    }

    /**
     * He et al.'s CIFAR ResNet of the given depth, 6n+2 with n >= 1 (3x32x32 input and 10 classes by default).
     */
    public static ResNet cifar(int depth) {
        if (depth < 8 || (depth - 2) % 6 != 0) {
            throw new IllegalArgumentException("depth must be 6n+2 with n >= 1 (8, 14, 20, 32, 44, 56, 110, 1202, ...),"
                    + " got " + depth);
        }
        int n = (depth - 2) / 6;
        return new ResNet("cifar", depth, new int[] {n, n, n}, new int[] {16, 32, 64}, BlockType.BASIC, 3, 32, 32,
                10, ShortcutType.ZERO_PAD);
    }

    /** ImageNet-style ResNet-18, 34, 50, 101 or 152 (3x224x224 input and 1000 classes by default). */
    public static ResNet imagenet(int depth) {
        int[] blocks;
        switch (depth) {
            case 18:
                blocks = new int[] {2, 2, 2, 2};
                break;
            case 34:
            case 50:
                blocks = new int[] {3, 4, 6, 3};
                break;
            case 101:
                blocks = new int[] {3, 4, 23, 3};
                break;
            case 152:
                blocks = new int[] {3, 8, 36, 3};
                break;
            default:
                throw new IllegalArgumentException("depth must be one of 18, 34, 50, 101, 152, got " + depth);
        }
        return new ResNet("imagenet", depth, blocks, new int[] {64, 128, 256, 512},
                depth < 50 ? BlockType.BASIC : BlockType.BOTTLENECK, 3, 224, 224, 1000, ShortcutType.PROJECTION);
    }

    /** The valid ImageNet-style depths. */
    public static int[] imagenetDepths() {
        return IMAGENET_DEPTHS.clone();
    }

    /** Input channels, height and width (NCHW). */
    public ResNet inputShape(long channels, long height, long width) {
        this.channels = checkPositive("channels", channels);
        this.height = checkPositive("height", height);
        this.width = checkPositive("width", width);
        return this;
    }

    /** Number of classes, >= 2. */
    public ResNet numClasses(int numClasses) {
        this.numClasses = Checks.atLeast("numClasses", numClasses, 2);
        return this;
    }

    /** Multiplies every stage's width (channels), e.g. 2 for a wide ResNet; > 0. Default 1. */
    public ResNet widthMultiplier(double widthMultiplier) {
        if (!(widthMultiplier > 0) || Double.isInfinite(widthMultiplier)) {
            throw new IllegalArgumentException("widthMultiplier must be finite and > 0, got " + widthMultiplier);
        }
        this.widthMultiplier = widthMultiplier;
        return this;
    }

    /** Shortcut of the blocks that change shape: ZERO_PAD (option A) or PROJECTION (option B). */
    public ResNet shortcut(ShortcutType shortcut) {
        this.shortcut = Checks.notNull("shortcut", shortcut);
        return this;
    }

    /** ImageNet networks only: a 3x3 stride-1 stem without max pooling, for small inputs (e.g. 32x32). */
    public ResNet smallInputStem(boolean smallInputStem) {
        if (smallInputStem && !family.equals("imagenet")) {
            throw new IllegalArgumentException("smallInputStem applies to ResNet.imagenet networks; CIFAR networks"
                    + " always have a 3x3 stride-1 stem");
        }
        this.smallInputStem = smallInputStem;
        return this;
    }

    /** Stochastic depth on every residual branch, per example (ROW), inverted scaling. */
    public ResNet stochasticDepth(DepthSchedule schedule) {
        return stochasticDepth(schedule, DropMode.ROW, Scaling.INVERTED);
    }

    /** Stochastic depth with the given mode; BATCH skips a dropped block's computation entirely. */
    public ResNet stochasticDepth(DepthSchedule schedule, DropMode mode) {
        return stochasticDepth(schedule, mode, Scaling.INVERTED);
    }

    /** Stochastic depth with the given mode and scaling. */
    public ResNet stochasticDepth(DepthSchedule schedule, DropMode mode, Scaling scaling) {
        this.schedule = Checks.notNull("schedule", schedule);
        this.dropMode = Checks.notNull("mode", mode);
        this.scaling = Checks.notNull("scaling", scaling);
        return this;
    }

    /**
     * DropBlock on the last two stages with timm's block sizes and γ scales (5 and 0.25, then 3 and 1; see the
     * class comment); {@code dropProb} in [0, 1], 0 = off.
     */
    public ResNet dropBlock(double dropProb) {
        return dropBlock(dropProb, 5, 3);
    }

    /** DropBlock on the last two stages with {@code blockSize} ({@code >= 1}) in both and timm's γ scales. */
    public ResNet dropBlock(double dropProb, int blockSize) {
        return dropBlock(dropProb, blockSize, blockSize);
    }

    private ResNet dropBlock(double dropProb, int secondToLastSize, int lastSize) {
        Checks.probability("dropProb", dropProb);
        if (dropProb == 0) {
            return dropBlock(null, null);
        }
        return dropBlock(new DropBlock(dropProb, secondToLastSize).withGammaScale(0.25).withFast(true),
                new DropBlock(dropProb, lastSize).withFast(true));
    }

    /**
     * The classifier's loss; null (default) is DL4J's softmax cross-entropy (MCXENT), e.g.
     * {@code new LossLabelSmoothing(0.1)} for label smoothing.
     */
    public ResNet loss(ILossFunction loss) {
        this.loss = loss;
        return this;
    }

    /** Any DropBlock on the second-to-last and the last stage (null: none there). */
    public ResNet dropBlock(DropBlock secondToLastStage, DropBlock lastStage) {
        this.dropBlockSecondToLast = secondToLastStage;
        this.dropBlockLast = lastStage;
        return this;
    }

    /**
     * The weight penalties, applied to the built configuration (default {@link RegularizationPolicy#none()};
     * {@code RegularizationPolicy.standard(5e-4)} decays convolution and classifier weights and exempts
     * biases and batch-norm parameters).
     */
    public ResNet regularization(RegularizationPolicy policy) {
        this.policy = Checks.notNull("policy", policy);
        return this;
    }

    /** The updater (default: SGD with Nesterov momentum 0.9, learning rate 0.1). */
    public ResNet updater(IUpdater updater) {
        this.updater = Checks.notNull("updater", updater);
        return this;
    }

    /** Seed of the weights and of the stochastic-depth decisions. Default 42. */
    public ResNet seed(long seed) {
        this.seed = seed;
        return this;
    }

    /** FLOAT (default; runs on oneDNN) or DOUBLE (generic kernels; for gradient checks). */
    public ResNet dataType(DataType dataType) {
        Checks.notNull("dataType", dataType);
        if (!dataType.isFPType()) {
            throw new IllegalArgumentException("dataType must be a floating point type, got " + dataType);
        }
        this.dataType = dataType;
        return this;
    }

    /**
     * The initial weights by preset: {@link InitPreset#HE} (default) or {@link InitPreset#PYTORCH} (PyTorch's
     * defaults, classifier bias included). Replaces earlier {@link #weightInit(IWeightInit, IWeightInit)} calls.
     */
    public ResNet weightInit(InitPreset preset) {
        this.initPreset = Checks.notNull("preset", preset);
        if (preset == InitPreset.PYTORCH) {
            convInit = WeightInit.UNIFORM.getWeightInitFunction();
            classifierInit = WeightInit.UNIFORM.getWeightInitFunction();
            uniformClassifierBias = true;
        } else {
            convInit = WeightInit.RELU.getWeightInitFunction();
            classifierInit = WeightInit.XAVIER.getWeightInitFunction();
            uniformClassifierBias = false;
        }
        return this;
    }

    /** The initial weights per kind: every convolution (stem, blocks, projections), and the classifier; zero bias. */
    public ResNet weightInit(WeightInit conv, WeightInit classifier) {
        return weightInit(Checks.notNull("conv", conv).getWeightInitFunction(),
                Checks.notNull("classifier", classifier).getWeightInitFunction());
    }

    /** {@link #weightInit(WeightInit, WeightInit)} with any DL4J weight init function; zero classifier bias. */
    public ResNet weightInit(IWeightInit conv, IWeightInit classifier) {
        this.convInit = Checks.notNull("conv", conv);
        this.classifierInit = Checks.notNull("classifier", classifier);
        this.initPreset = null;
        this.uniformClassifierBias = false;
        return this;
    }

    /** The preset of the last {@link #weightInit(InitPreset)}, or null after a per-kind setting. */
    public InitPreset initPreset() {
        return initPreset;
    }

    /**
     * Batch-norm settings of every unit, in PyTorch's terms: running statistics
     * {@code r ← (1 − momentum)·r + momentum·batch} (unbiased batch variance), {@code momentum} in (0, 1], and
     * {@code eps} > 0 in {@code (x − mean)/√(var + eps)}. Default 0.1 and 1e-5, PyTorch's (Keras: 0.01, 1e-3).
     */
    public ResNet batchNorm(double momentum, double eps) {
        if (!(momentum > 0 && momentum <= 1)) {
            throw new IllegalArgumentException("momentum must be in (0, 1], got " + momentum);
        }
        if (!(eps > 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("eps must be finite and > 0, got " + eps);
        }
        this.bnMomentum = momentum;
        this.bnEps = eps;
        return this;
    }

    /** DL4J workspace mode for training and inference (default ENABLED). */
    public ResNet workspaceMode(WorkspaceMode workspaceMode) {
        this.workspaceMode = Checks.notNull("workspaceMode", workspaceMode);
        return this;
    }

    /** Number of residual blocks (the N of the depth schedule). */
    public int numBlocks() {
        int n = 0;
        for (int b : blocksPerStage) {
            n += b;
        }
        return n;
    }

    /** A short name, e.g. {@code resnet20} or {@code resnet18-imagenet}. */
    public String name() {
        return "resnet" + depth + (family.equals("imagenet") ? "-imagenet" : "");
    }

    /** Names of the residual blocks in schedule order. */
    public List<String> blockNames() {
        List<String> names = new ArrayList<>();
        for (int s = 0; s < blocksPerStage.length; s++) {
            for (int b = 0; b < blocksPerStage[s]; b++) {
                names.add("stage" + (s + 1) + ".block" + (b + 1));
            }
        }
        return names;
    }

    /** The smallest input height and width that every downsampling step accepts. */
    public int minInputSize() {
        int total = 1 << (blocksPerStage.length - 1);
        if (family.equals("imagenet") && !smallInputStem) {
            total *= 4;
        }
        return total;
    }

    /** The network configuration. */
    public ComputationGraphConfiguration conf() {
        int min = minInputSize();
        if (height < min || width < min) {
            throw new IllegalArgumentException("input " + height + "x" + width + " is too small for " + name()
                    + (smallInputStem ? " with the small-input stem" : "") + ": its downsampling needs height and"
                    + " width of at least " + min);
        }
        ComputationGraphConfiguration.GraphBuilder g = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(dataType)
                .updater(updater)
                .trainingWorkspaceMode(workspaceMode)
                .inferenceWorkspaceMode(workspaceMode)
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(height, width, channels));
        boolean bigStem = family.equals("imagenet") && !smallInputStem;
        int stemWidth = scale(bigStem || family.equals("imagenet") ? 64 : 16);
        g.addLayer("stem", new ConvBnLayer.Builder().nOut(stemWidth).kernelSize(bigStem ? 7 : 3)
                .stride(bigStem ? 2 : 1).weightInit(convInit).bnDecay(1 - bnMomentum).bnEps(bnEps)
                .inputGradient(false).build(), "in");   // fed by the network input: no gradient of the data
        String previous = "stem";
        if (bigStem) {
            g.addLayer("stem.pool", new MaxPoolLayer.Builder(3, 2, 1).build(), previous);
            previous = "stem.pool";
        }
        int numBlocks = numBlocks();
        int blockIndex = 0;
        for (int s = 0; s < blocksPerStage.length; s++) {
            int planes = scale(stageWidths[s]);
            int out = blockType == BlockType.BOTTLENECK ? planes * 4 : planes;
            for (int b = 0; b < blocksPerStage[s]; b++) {
                String name = "stage" + (s + 1) + ".block" + (b + 1);
                g.addLayer(name, new ResidualBlock.Builder()
                        .blockType(blockType)
                        .nOut(out)
                        .bottleneckWidth(planes)
                        .stride(s > 0 && b == 0 ? 2 : 1)
                        .shortcut(shortcut)
                        .dropProb(schedule.dropProb(blockIndex, numBlocks))
                        .dropMode(dropMode)
                        .scaling(scaling)
                        .inputFromRelu(true)
                        .dropBlock(s == blocksPerStage.length - 1 ? dropBlockLast
                                : s == blocksPerStage.length - 2 ? dropBlockSecondToLast : null)
                        .weightInit(convInit)
                        .bnDecay(1 - bnMomentum)
                        .bnEps(bnEps)
                        .build(), previous);
                previous = name;
                blockIndex++;
            }
        }
        ComputationGraphConfiguration conf = g
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), previous)
                .addLayer("fc", (loss == null ? new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                        : new OutputLayer.Builder(loss)).nOut(numClasses)
                        .activation(Activation.SOFTMAX).weightInit(classifierInit).build(), "pool")
                .setOutputs("fc")
                .build();
        return policy.applyTo(conf);
    }

    /**
     * An initialized network, with {@link FlatGradientUpdater} as its updater (DL4J's updates without DL4J
     * M2.1's per-parameter views in every step). Under {@link InitPreset#PYTORCH} the classifier bias is drawn
     * here, U(−1/√fanIn, 1/√fanIn) from the seed (a DL4J configuration can only hold a constant bias: a network
     * made from {@link #conf()} alone starts with a zero bias).
     */
    public ComputationGraph build() {
        ComputationGraph net = new ComputationGraph(conf());
        net.init();
        if (uniformClassifierBias) {
            INDArray bias = net.getParam("fc_b");
            double bound = 1.0 / Math.sqrt(net.getParam("fc_W").size(0));
            java.util.SplittableRandom rng = new java.util.SplittableRandom(seed ^ 0x5DEECE66DL);
            for (long i = 0; i < bias.length(); i++) {
                bias.putScalar(i, (2 * rng.nextDouble() - 1) * bound);
            }
        }
        return FlatGradientUpdater.install(net);
    }

    private int scale(int channelsAtWidth1) {
        return Math.max(1, (int) Math.round(channelsAtWidth1 * widthMultiplier));
    }

    private static long checkPositive(String name, long value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + value);
        }
        return value;
    }
}
