package org.regularize4j.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.backend.MemoryTrimListener;
import org.regularize4j.backend.DirectConv;
import org.regularize4j.backend.KernelPaths;
import org.regularize4j.backend.NativeBackend;
import org.regularize4j.depth.DropMode;
import org.regularize4j.ema.ModelEma;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.resnet.ConvBnLayerImpl;
import org.regularize4j.resnet.ResidualBlockImpl;
import org.regularize4j.resnet.ActiveBlocksListener;
import org.regularize4j.resnet.ShortcutType;
import org.regularize4j.util.Checks;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code bench}: median milliseconds per training step (or inference pass) of a ResNet from the builder on
 * random data, the counterpart of {@code shared/bench/torch_resnet_bench.py}. Ends with one JSON line.
 *
 * <pre>{@code
 * int exitCode = Main.run("bench", "--model", "resnet20", "--batch", "8", "--iters", "2", "--warmup", "1");
 * }</pre>
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time training steps (or inference) of a ResNet on random data; ends with a JSON line.")
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "resnet20",
            description = "resnet<6n+2> (CIFAR-style) or resnet18/34/50/101/152 (ImageNet-style). Default: ${DEFAULT-VALUE}")
    String model;
    @Option(names = "--batch", defaultValue = "64", description = "Mini-batch size (>= 1). Default: ${DEFAULT-VALUE}")
    int batch;
    @Option(names = "--iters", defaultValue = "20", description = "Timed iterations (>= 1). Default: ${DEFAULT-VALUE}")
    int iters;
    @Option(names = "--warmup", defaultValue = "5", description = "Untimed iterations first (>= 0). Default: ${DEFAULT-VALUE}")
    int warmup;
    @Option(names = "--input", defaultValue = "3x32x32", description = "Input CxHxW. Default: ${DEFAULT-VALUE}")
    String input;
    @Option(names = "--classes", defaultValue = "10", description = "Classes (>= 2). Default: ${DEFAULT-VALUE}")
    int classes;
    @Option(names = "--drop-path", defaultValue = "0",
            description = "Stochastic-depth rate of the schedule, in [0, 1]; 0 = off. Default: ${DEFAULT-VALUE}")
    double dropPath;
    @Option(names = "--drop-mode", defaultValue = "row", description = "row or batch. Default: ${DEFAULT-VALUE}")
    String dropMode;
    @Option(names = "--schedule", defaultValue = "linear",
            description = "linear, efficientnet or linspace. Default: ${DEFAULT-VALUE}")
    String schedule;
    @Option(names = "--drop-block", defaultValue = "0",
            description = "DropBlock drop probability on the last two stages (blocks of 5, then 3, as timm's"
                    + " drop_block_rate), in [0, 1]; 0 = off. Default: ${DEFAULT-VALUE}")
    double dropBlock;
    @Option(names = "--mixup", defaultValue = "0",
            description = "Also apply train's batch recipe each step and time it apart: Mixup alpha, >= 0. Default: 0")
    double mixup;
    @Option(names = "--cutmix", defaultValue = "0", description = "CutMix alpha of that recipe, >= 0. Default: 0")
    double cutmix;
    @Option(names = "--random-erase", defaultValue = "0",
            description = "Random-erasing probability per image of that recipe, in [0, 1]. Default: 0")
    double randomErase;
    @Option(names = "--shortcut", defaultValue = "b",
            description = "a (zero padding) or b (projection, the PyTorch peer's). Default: ${DEFAULT-VALUE}")
    String shortcut;
    @Option(names = "--policy", defaultValue = "none",
            description = "Weight penalties: standard (--weight-decay on weights; biases and norm parameters exempt)"
                    + " or none. Default: ${DEFAULT-VALUE}")
    String policy;
    @Option(names = "--weight-decay", defaultValue = "5e-4",
            description = "Coupled L2 coefficient of the standard policy, >= 0. Default: ${DEFAULT-VALUE}")
    double weightDecay;
    @Option(names = "--seed", defaultValue = "1", description = "Random seed. Default: ${DEFAULT-VALUE}")
    long seed;
    @Option(names = "--inference", description = "Time inference (output) instead of training steps.")
    boolean inference;
    @Option(names = "--memory-format", defaultValue = "nchw",
            description = "How the input batch is laid out in memory: nchw ([n, c, h, w], DL4J's default) or nhwc"
                    + " (channels-last, as PyTorch's channels_last and most image decoders give it; the network gets"
                    + " a [n, c, h, w] view of it, which the channels-last layers read without a copy)."
                    + " Default: ${DEFAULT-VALUE}")
    String memoryFormat;
    @Option(names = "--fold-batch-norm", defaultValue = "true", arity = "1",
            description = "With --inference: fold batch norm into the convolutions and fuse ReLU and the residual"
                    + " sum (backend.KernelPaths.setFoldBatchNorm): true or false. Default: ${DEFAULT-VALUE}")
    boolean foldBatchNorm;
    @Option(names = "--inference-chunk-bytes", paramLabel = "BYTES",
            description = "With --inference and folding: run each residual block on row ranges of the batch whose"
                    + " input takes about this many bytes (backend.KernelPaths.setInferenceChunkBytes; 0: the whole"
                    + " batch at once). Default: the library's, 2097152 unless -Dregularize4j.inferenceChunkBytes"
                    + " says otherwise.")
    Long inferenceChunkBytes;
    @Option(names = "--conv-peak",
            description = "Also time the network's heaviest convolution alone (oneDNN, channels-last; fastest of 20"
                    + " calls each of forward, input gradient and weight gradient) and report its GFLOP/s next to the"
                    + " step's: how far the whole step is from what the convolutions alone could reach.")
    boolean convPeak;
    @Option(names = "--baseline",
            description = "Also time the same network without stochastic depth and DropBlock (same seed, same initial"
                    + " parameters),"
                    + " one step of each in turn in this process, so that slow spells of a shared machine hit both;"
                    + " reports its median and the ratio of the two medians.")
    boolean baseline;
    @Option(names = "--trim-memory", defaultValue = "true", arity = "1",
            description = "Return freed native memory to the OS during training (backend.MemoryTrimListener),"
                    + " as `train` does: true or false. Default: ${DEFAULT-VALUE}")
    boolean trimMemory;
    @Option(names = "--ema", paramLabel = "DECAY", description = "Keep a model EMA (ema.ModelEma, decay in (0, 1)) of"
            + " the timed network, and time the same network without it in turn, as --baseline does; reports the"
            + " ratio of the two medians.")
    Double ema;

    @Override
    public Integer call() {
        boolean folding = KernelPaths.foldsBatchNorm();   // process-wide switches: restored afterwards
        long chunkBytes = KernelPaths.inferenceChunkBytes();
        try {
            return run();
        } finally {
            KernelPaths.setFoldBatchNorm(folding);
            KernelPaths.setInferenceChunkBytes(chunkBytes);
        }
    }

    private int run() {
        Checks.atLeast("--batch", batch, 1);
        Checks.atLeast("--iters", iters, 1);
        Checks.atLeast("--warmup", warmup, 0);
        Checks.probability("--drop-path", dropPath);
        Checks.probability("--drop-block", dropBlock);
        Checks.nonNegative("--mixup", mixup);
        Checks.nonNegative("--cutmix", cutmix);
        Checks.probability("--random-erase", randomErase);
        Recipe recipe = new Recipe(mixup, cutmix, 1.0, 0.5, randomErase, classes, seed);
        if (recipe.isActive() && inference) {
            throw new IllegalArgumentException("--mixup, --cutmix and --random-erase apply to training steps, not"
                    + " --inference");
        }
        long[] shape = Models.inputShape(input);
        boolean nhwc = parseMemoryFormat(memoryFormat);
        KernelPaths.setFoldBatchNorm(foldBatchNorm);
        if (inferenceChunkBytes != null) {
            if (inferenceChunkBytes < 0) {
                throw new IllegalArgumentException("--inference-chunk-bytes must be >= 0 (0: the whole batch at once),"
                        + " got " + inferenceChunkBytes);
            }
            KernelPaths.setInferenceChunkBytes(inferenceChunkBytes);
        }
        DropMode mode = parseMode(dropMode);
        ResNet builder = Models.resnet(model).inputShape(shape[0], shape[1], shape[2]).numClasses(classes)
                .shortcut(parseShortcut(shortcut)).seed(seed).regularization(parsePolicy(policy, weightDecay))
                .stochasticDepth(Models.schedule(schedule, dropPath), mode).dropBlock(dropBlock);
        if (baseline && (inference || (dropPath == 0 && dropBlock == 0))) {
            throw new IllegalArgumentException("--baseline compares training with stochastic depth or DropBlock to"
                    + " training without them: it needs --drop-path > 0 or --drop-block > 0, and no --inference");
        }
        if (ema != null && (baseline || inference || !(ema > 0 && ema < 1))) {
            throw new IllegalArgumentException("--ema compares training steps with and without a model EMA: it needs a"
                    + " decay in (0, 1) and no --baseline or --inference, got --ema " + ema);
        }
        ComputationGraph net = builder.build();
        ComputationGraph base = baseline ? builder.stochasticDepth(Models.schedule(schedule, 0), mode).dropBlock(0)
                .build() : ema != null ? builder.build() : null;
        ModelEma average = ema == null ? null : new ModelEma(ema).withWarmup(true);
        System.out.println("backend: " + NativeBackend.current().describe());
        System.out.printf(Locale.ROOT, "%s: %,d parameters, batch %d, input %s (%s), drop-path %s (%s, %s), drop-block %s,"
                        + " %s%n",
                builder.name(), net.numParams(), batch, input, nhwc ? "nhwc" : "nchw", dropPath, schedule,
                mode.name().toLowerCase(Locale.ROOT), dropBlock, inference ? "inference" + (foldBatchNorm
                        ? " (batch norm folded)" : " (batch norm not folded)") : "training");

        Nd4j.getRandom().setSeed(seed);
        INDArray x = nhwc ? Nd4j.rand(DataType.FLOAT, batch, shape[1], shape[2], shape[0]).permute(0, 3, 1, 2)
                : Nd4j.rand(DataType.FLOAT, batch, shape[0], shape[1], shape[2]);
        INDArray y = Nd4j.zeros(DataType.FLOAT, batch, classes);
        java.util.Random r = new java.util.Random(seed);
        for (int i = 0; i < batch; i++) {
            y.putScalar(i, r.nextInt(classes), 1.0);
        }
        DataSet ds = new DataSet(x, y);
        double[] ms = new double[iters];
        double[] baseMs = new double[iters];
        double[] recipeMs = new double[iters];
        ActiveBlocksListener blocks = new ActiveBlocksListener(0);
        MemoryTrimListener trim = trimMemory ? MemoryTrimListener.forTraining() : null;
        if (trim != null) {
            net.setListeners(trim);
            if (base != null) {
                base.setListeners(MemoryTrimListener.forTraining());
            }
        }
        if (average != null) {
            net.addListeners(average);
        }
        long flops0 = 0;
        for (int i = -warmup; i < iters; i++) {
            if (i == 0) {   // count the timed iterations only
                flops0 = convolutionFlops(net);
                if (trim != null) {
                    net.setListeners(blocks, trim);
                } else {
                    net.setListeners(blocks);
                }
                if (average != null) {
                    net.addListeners(average);
                }
            }
            DataSet step = ds;
            if (recipe.isActive()) {   // a fresh batch, as the iterator gives train; the recipe timed apart
                step = new DataSet(x.dup(), y.dup());
                long tr = System.nanoTime();
                recipe.apply(step, i + warmup);
                if (i >= 0) {
                    recipeMs[i] = (System.nanoTime() - tr) / 1e6;
                }
            }
            long t0 = System.nanoTime();
            if (inference) {
                net.output(x);
            } else {
                net.fit(step);
            }
            double elapsed = (System.nanoTime() - t0) / 1e6;
            if (i >= 0) {
                ms[i] = elapsed;
            }
            if (base != null) {
                long t1 = System.nanoTime();
                base.fit(ds);
                if (i >= 0) {
                    baseMs[i] = (System.nanoTime() - t1) / 1e6;
                }
            }
        }
        double flopsPerIter = (convolutionFlops(net) - flops0) / (double) iters;
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double median = median(sorted);
        System.out.printf(Locale.ROOT, "median %.2f ms per %s (min %.2f, max %.2f) over %d iterations: %.1f images/s%n",
                median, inference ? "inference pass" : "training step", sorted[0], sorted[iters - 1], iters,
                batch * 1000.0 / median);
        System.out.printf(Locale.ROOT, "convolutions: %.2f GFLOP per %s, %.0f GFLOP/s at the median%n",
                flopsPerIter / 1e9, inference ? "pass" : "step", flopsPerIter / median / 1e6);
        double[] peak = convPeak ? convolutionPeak(net) : null;
        double baseMedian = Double.NaN;
        if (base != null) {
            double[] b = baseMs.clone();
            Arrays.sort(b);
            baseMedian = median(b);
            System.out.printf(Locale.ROOT, "without %s (alternating): median %.2f ms per training step"
                            + " (min %.2f, max %.2f); ratio %.3f with %.1f%% of the branches computed%n",
                    average != null ? "the model EMA" : dropBlock == 0 ? "stochastic depth"
                            : dropPath == 0 ? "DropBlock" : "stochastic depth and DropBlock",
                    baseMedian, b[0], b[iters - 1], median / baseMedian, 100 * blocks.computedShare());
        }
        double recipeMedian = Double.NaN;
        if (recipe.isActive()) {
            double[] rs = recipeMs.clone();
            Arrays.sort(rs);
            recipeMedian = median(rs);
            System.out.printf(Locale.ROOT, "batch recipe (%s): median %.3f ms per batch, %.2f%% of the training step%n",
                    recipe.describe(), recipeMedian, 100 * recipeMedian / median);
        }
        if (trim != null && !inference) {
            System.out.printf(Locale.ROOT, "memory trims: %d (%.1f ms in all), resident set now %d MB%n",
                    trim.trims(), trim.trimMillis(), MemoryTrimListener.residentBytes() >> 20);
        }
        System.out.printf(Locale.ROOT, "{\"model\": \"%s\", \"batch\": %d, \"input\": \"%s\", \"drop_path\": %s,"
                        + " \"drop_mode\": \"%s\", \"schedule\": \"%s\", \"drop_block\": %s, \"policy\": \"%s\","
                        + " \"inference\": %s, \"memory_format\": \"%s\", \"fold_batch_norm\": %s,"
                        + " \"iters\": %d,"
                        + " \"ms_per_iter\": %.2f, \"img_per_s\": %.1f, \"computed_block_share\": %.4f,"
                        + " \"baseline_ms_per_iter\": %s, \"ratio_to_baseline\": %s, \"ema\": %s,"
                        + " \"recipe_ms_per_iter\": %s, \"conv_gflop_per_iter\": %.6f, \"conv_gflops\": %.1f,"
                        + " \"peak_conv\": %s, \"peak_conv_gflops_fwd\": %s, \"peak_conv_gflops_train\": %s,"
                        + " \"params\": %d, \"native_build\": \"%s\", \"onednn\": %s}%n",
                builder.name(), batch, input, dropPath, mode.name().toLowerCase(Locale.ROOT), schedule, dropBlock, policy,
                inference, nhwc ? "nhwc" : "nchw", inference && foldBatchNorm,
                iters,
                median, batch * 1000.0 / median, inference ? 1.0 : blocks.computedShare(),
                base == null ? "null" : String.format(Locale.ROOT, "%.2f", baseMedian),
                base == null ? "null" : String.format(Locale.ROOT, "%.4f", median / baseMedian), ema,
                recipe.isActive() ? String.format(Locale.ROOT, "%.3f", recipeMedian) : "null", flopsPerIter / 1e9,
                flopsPerIter / median / 1e6,
                peak == null ? "null" : "\"" + (long) peak[2] + "x" + (long) peak[3] + "x" + (long) peak[4] + "x"
                        + (long) peak[5] + "->" + (long) peak[6] + " k" + (long) peak[7] + " s" + (long) peak[8] + "\"",
                peak == null ? "null" : String.format(Locale.ROOT, "%.1f", peak[0]),
                peak == null ? "null" : String.format(Locale.ROOT, "%.1f", peak[1]), net.numParams(),
                NativeBackend.current().nativeBuild(), NativeBackend.current().oneDnnEnabled());
        return 0;
    }

    /** FLOPs of the network's ResNet-layer convolutions so far. */
    static long convolutionFlops(ComputationGraph net) {
        long n = 0;
        for (org.deeplearning4j.nn.api.Layer l : net.getLayers()) {
            if (l instanceof ResidualBlockImpl) {
                n += ((ResidualBlockImpl) l).convolutionFlops();
            } else if (l instanceof ConvBnLayerImpl) {
                n += ((ConvBnLayerImpl) l).convolutionFlops();
            }
        }
        return n;
    }

    /**
     * The heaviest convolution of the network's last pass, timed alone on oneDNN (fastest of 20 calls each):
     * {forward GFLOP/s, forward + both gradients GFLOP/s, n, cIn, h, w, cOut, kernel, stride}; null (with a line
     * saying why) when direct convolutions are not usable here.
     */
    static double[] convolutionPeak(ComputationGraph net) {
        if (!DirectConv.isUsable()) {
            System.out.println("convolution peak: not measured, " + DirectConv.status());
            return null;
        }
        int[] best = null;
        double bestFlops = 0;
        for (org.deeplearning4j.nn.api.Layer l : net.getLayers()) {
            java.util.List<int[]> shapes = l instanceof ResidualBlockImpl
                    ? ((ResidualBlockImpl) l).lastConvolutionShapes()
                    : l instanceof ConvBnLayerImpl ? ((ConvBnLayerImpl) l).lastConvolutionShapes()
                    : java.util.List.of();
            for (int[] c : shapes) {
                double f = forwardFlops(c);
                if (f > bestFlops) {
                    bestFlops = f;
                    best = c;
                }
            }
        }
        if (best == null) {
            System.out.println("convolution peak: not measured, no convolution ran");
            return null;
        }
        int[] c = best;
        try (DirectConv conv = DirectConv.create(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7])) {
            INDArray x = Nd4j.rand(DataType.FLOAT, c[0], c[2], c[3], c[1]);
            INDArray w = Nd4j.rand(DataType.FLOAT, c[4], c[1], c[5], c[5]);
            INDArray y = Nd4j.create(DataType.FLOAT, conv.outShape());
            INDArray dy = Nd4j.rand(DataType.FLOAT, conv.outShape());
            INDArray dx = x.ulike();
            INDArray dw = w.ulike();
            double fwd = Double.MAX_VALUE;
            double bwd = Double.MAX_VALUE;
            for (int i = 0; i < 20; i++) {
                long t0 = System.nanoTime();
                conv.forward(x, w, y);
                long t1 = System.nanoTime();
                conv.backward(x, w, dy, dx, dw);
                long t2 = System.nanoTime();
                fwd = Math.min(fwd, (t1 - t0) / 1e9);
                bwd = Math.min(bwd, (t2 - t1) / 1e9);
            }
            double f = forwardFlops(c);
            double[] out = {f / fwd / 1e9, 3 * f / (fwd + bwd) / 1e9, c[0], c[1], c[2], c[3], c[4], c[5], c[6]};
            System.out.printf(Locale.ROOT, "convolution peak (the heaviest one alone, %dx%dx%dx%d -> %d, %dx%d stride %d):"
                            + " forward %.0f GFLOP/s, forward + gradients %.0f GFLOP/s (%s)%n", c[0], c[1], c[2], c[3],
                    c[4], c[5], c[5], c[6], out[0], out[1], String.join(" / ", conv.implementations()));
            return out;
        }
    }

    /** 2 · outputs · cIn · k² for {n, cIn, h, w, cOut, k, stride, padding}. */
    private static double forwardFlops(int[] c) {
        long ho = (c[2] + 2L * c[7] - c[5]) / c[6] + 1;
        long wo = (c[3] + 2L * c[7] - c[5]) / c[6] + 1;
        return 2.0 * c[0] * ho * wo * c[4] * c[1] * c[5] * c[5];
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    static RegularizationPolicy parsePolicy(String name, double weightDecay) {
        Checks.nonNegative("--weight-decay", weightDecay);
        switch (name.toLowerCase(Locale.ROOT)) {
            case "standard":
                return RegularizationPolicy.standard(weightDecay);
            case "none":
                return RegularizationPolicy.none();
            default:
                throw new IllegalArgumentException("--policy must be standard or none, got " + name);
        }
    }

    static DropMode parseMode(String text) {
        switch (text.toLowerCase(Locale.ROOT)) {
            case "row":
                return DropMode.ROW;
            case "batch":
                return DropMode.BATCH;
            default:
                throw new IllegalArgumentException("--drop-mode must be row or batch, got " + text);
        }
    }

    /** True for nhwc. */
    static boolean parseMemoryFormat(String text) {
        switch (text.toLowerCase(Locale.ROOT)) {
            case "nchw":
                return false;
            case "nhwc":
                return true;
            default:
                throw new IllegalArgumentException("--memory-format must be nchw or nhwc, got " + text);
        }
    }

    static ShortcutType parseShortcut(String text) {
        switch (text.toLowerCase(Locale.ROOT)) {
            case "a":
                return ShortcutType.ZERO_PAD;
            case "b":
                return ShortcutType.PROJECTION;
            default:
                throw new IllegalArgumentException("--shortcut must be a or b, got " + text);
        }
    }
}
