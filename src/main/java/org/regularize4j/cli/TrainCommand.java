package org.regularize4j.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.jfree.chart.JFreeChart;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.schedule.FixedSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.MapSchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.regularize4j.backend.MemoryTrimListener;
import org.regularize4j.backend.NativeBackend;
import org.regularize4j.data.Augmentation;
import org.regularize4j.data.FashionMnist;
import org.regularize4j.data.FashionMnistIterator;
import org.regularize4j.depth.DropMode;
import org.regularize4j.ema.ModelEma;
import org.regularize4j.optim.LayerDecay;
import org.regularize4j.optim.TorchOptimizer;
import org.regularize4j.loss.LossLabelSmoothing;
import org.regularize4j.penalty.L1Penalty;
import org.regularize4j.penalty.ParamKind;
import org.regularize4j.penalty.PenaltyTable;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.penalty.Selector;
import org.regularize4j.resnet.InitPreset;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.util.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code train}: trains a ResNet from the builder on Fashion-MNIST (input 1x28x28, 10 classes) with the chosen
 * stochastic depth, weight penalties, optimizer and learning-rate schedule. It prints the backend and the
 * policy's penalty table, shows a progress bar per epoch, evaluates on the test split after every epoch, and
 * writes into {@code --out}: {@code metrics.csv}, {@code learning-curves.png}, {@code checkpoint.zip} (each
 * epoch), {@code model.zip}, {@code confusion-matrix.png}, {@code run.properties} and {@code result.json}; it ends
 * with one JSON line. Without options it is the README's demo on the bundled subset.
 *
 * <p>{@code --resume} continues the run in {@code --out} from its last finished epoch with its saved settings;
 * its results equal an uninterrupted run's: the model, the updater state and the iteration and epoch counters
 * are restored from the checkpoint, the data order and augmentation are functions of (seed, epoch, position),
 * and the stochastic-depth decisions of (seed, iteration, epoch, block).
 *
 * <pre>{@code
 * Path run = Files.createTempDirectory("run");
 * int exitCode = Main.run("train", "--model", "resnet8", "--epochs", "1", "--train-per-class", "5",
 *         "--out", run.toString());
 * }</pre>
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a ResNet on Fashion-MNIST with stochastic depth and weight penalties; evaluate each"
                + " epoch; write model, metrics, learning curves and checkpoints; end with a JSON line.",
                "Without options: the README's demo on the bundled subset (10,000 training and 2,000 test images)."})
final class TrainCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(TrainCommand.class);
    static final double MOMENTUM = 0.9;
    static final int CROP_PADDING = 2;

    @Spec
    CommandSpec spec;

    @Option(names = "--model", defaultValue = "resnet20",
            description = "resnet<6n+2> (CIFAR-style: resnet8, resnet14, resnet20, resnet56, ...) or resnet18/34/50/"
                    + "101/152 (ImageNet-style, with a small-input stem). Default: ${DEFAULT-VALUE}")
    String model;
    @Option(names = "--epochs", defaultValue = "15", description = "Epochs, in [1, 10000]. Default: ${DEFAULT-VALUE}")
    int epochs;
    @Option(names = "--batch", defaultValue = "128", description = "Mini-batch size, in [1, 8192]. Default: ${DEFAULT-VALUE}")
    int batch;
    @Option(names = "--lr", description = "Peak learning rate, > 0. Default: 0.1 with nesterov, 0.001 with adamw")
    Double lr;
    @Option(names = "--lr-schedule", defaultValue = "cosine",
            description = "cosine (to 0 over all iterations), step (x0.1 at 50%% and 75%% of the epochs) or constant."
                    + " Default: ${DEFAULT-VALUE}")
    String lrSchedule;
    @Option(names = "--updater", defaultValue = "nesterov",
            description = "nesterov (PyTorch's SGD, momentum 0.9, Nesterov) or adamw (PyTorch's AdamW)."
                    + " Default: ${DEFAULT-VALUE}")
    String updater;
    @Option(names = "--drop-path", defaultValue = "0.1",
            description = "Stochastic-depth rate of the schedule, in [0, 1]; 0 = off. Default: ${DEFAULT-VALUE}")
    double dropPath;
    @Option(names = "--drop-mode", defaultValue = "row",
            description = "row (per example) or batch (per mini-batch; skips dropped blocks). Default: ${DEFAULT-VALUE}")
    String dropMode;
    @Option(names = "--schedule", defaultValue = "linear",
            description = "Stochastic-depth schedule: linear, efficientnet or linspace. Default: ${DEFAULT-VALUE}")
    String schedule;
    @Option(names = "--shortcut", defaultValue = "b",
            description = "Shortcut of the blocks that change shape (CIFAR-style models): a (zero-padded identity, He et"
                    + " al.) or b (1x1 convolution + batch norm, torchvision; trains better with stochastic depth, see"
                    + " docs/training.md). Default: ${DEFAULT-VALUE}")
    String shortcut;
    @Option(names = "--init", defaultValue = "he",
            description = "Initial weights: pytorch (PyTorch's defaults: U(+-1/sqrt(fanIn)) for convolutions and the"
                    + " classifier) or he (He-normal convolutions, Xavier classifier). Default: ${DEFAULT-VALUE}")
    String init;
    @Option(names = "--policy", defaultValue = "standard",
            description = "standard (--weight-decay and --l1 on weights; biases and norm parameters exempt) or none"
                    + " (no penalty). Default: ${DEFAULT-VALUE}")
    String policy;
    @Option(names = "--weight-decay",
            description = "Weight decay, >= 0: coupled L2 (PyTorch's SGD weight_decay) with nesterov, decoupled with"
                    + " adamw. Default: 5e-4 with nesterov, 0.05 with adamw")
    Double weightDecay;
    @Option(names = "--l1", defaultValue = "0", description = "L1 coefficient on weights, >= 0. Default: ${DEFAULT-VALUE}")
    double l1;
    @Option(names = "--seed", defaultValue = "1",
            description = "Seed of weights, data order, augmentation and stochastic depth. Default: ${DEFAULT-VALUE}")
    long seed;
    @Option(names = "--data", defaultValue = "bundled",
            description = "bundled (the subset in the jar), installed (" + "/usr/share/datasets/fashion-mnist) or a"
                    + " directory with the four IDX files (gzipped or not). Default: ${DEFAULT-VALUE}")
    String data;
    @Option(names = "--out", description = "Output directory. Default: runs/<model>-<date>-<time>")
    Path out;
    @Option(names = "--train-per-class", description = "Use only the first N training images of each class, >= 1."
            + " Default: all")
    Integer trainPerClass;
    @Option(names = "--augment", arity = "1", defaultValue = "true",
            description = "Random crop (padding 2) and horizontal flip of training images: true or false."
                    + " Default: ${DEFAULT-VALUE}")
    boolean augment;
    @Option(names = "--resume", description = "Continue the run in --out from its last finished epoch, with its"
            + " saved settings.")
    boolean resume;
    @Option(names = "--stop-after", description = "Stop after this many epochs of this invocation (a later --resume"
            + " continues), >= 1.")
    Integer stopAfter;

    // ---- fine-tuning and weight averaging
    @Option(names = "--ema", paramLabel = "DECAY", description = "Also keep a model EMA (timm's ModelEmaV3 with its"
            + " decay warmup), decay in (0, 1): evaluated at the end (ema_test_accuracy), saved as model-ema.zip and"
            + " inside the checkpoints. Default: off")
    Double ema;
    @Option(names = "--init-from", paramLabel = "MODEL.zip", description = "Start from the weights of a saved model of"
            + " the same --model (a new classifier when its class count differs); a new optimizer. Default: off")
    Path initFrom;
    @Option(names = "--l2sp", paramLabel = "ALPHA[,BETA]", description = "L2-SP instead of weight decay: weights pulled"
            + " toward the --init-from weights (½·ALPHA·‖w − w0‖²), a new classifier plain L2 (½·BETA·‖w‖², BETA"
            + " default 0.01). Default: off")
    String l2sp;
    @Option(names = "--layer-decay", paramLabel = "D", description = "Layer-wise learning-rate decay in (0, 1]: layer i"
            + " of L (stem 0, blocks, classifier L) learns at lr·D^(L − i). Default: off")
    Double layerDecay;
    @Option(names = "--classes", paramLabel = "LIST", description = "Train and test on these classes only, e.g."
            + " 0,1,2,3,4,5,6,7 (labelled 0..k-1 in this order). Default: all")
    String classes;

    // ---- recipe flags (issue 16): label smoothing, Mixup/CutMix, random erasing, DropBlock; all off by default
    @Option(names = "--label-smoothing", defaultValue = "0",
            description = "Label smoothing of the loss, in [0, 1); 0 = off. Default: ${DEFAULT-VALUE}")
    double labelSmoothing;
    @Option(names = "--mixup", defaultValue = "0", description = "Mixup alpha, >= 0; 0 = off. Default: 0")
    double mixup;
    @Option(names = "--cutmix", defaultValue = "0", description = "CutMix alpha, >= 0; 0 = off. Default: 0")
    double cutmix;
    @Option(names = "--mix-prob", defaultValue = "1",
            description = "Probability that a batch is mixed (with --mixup/--cutmix), in [0, 1]. Default: 1")
    double mixProb;
    @Option(names = "--switch-prob", defaultValue = "0.5",
            description = "Probability of CutMix rather than mixup when both are on, in [0, 1]. Default: 0.5")
    double switchProb;
    @Option(names = "--random-erase", defaultValue = "0",
            description = "Random-erasing probability per image (per-pixel noise), in [0, 1]; 0 = off. Default: 0")
    double randomErase;
    @Option(names = "--drop-block", defaultValue = "0",
            description = "DropBlock drop probability on the last two stages (blocks of 5, then 3), in [0, 1]; 0 = off."
                    + " Default: ${DEFAULT-VALUE}")
    double dropBlock;
    /** The recipe settings of a run saved before these flags existed: off. */
    static final Map<String, String> RECIPE_OFF = Map.of("label-smoothing", "0.0", "mixup", "0.0", "cutmix", "0.0",
            "mix-prob", "1.0", "switch-prob", "0.5", "random-erase", "0.0", "drop-block", "0.0");
    /**
     * Settings added after runs were first saved, and the value that runs saved before them ran with: off for the
     * fine-tuning options; option-A shortcuts and He init. Declared after RECIPE_OFF, which {@link #added()} reads.
     */
    private static final Map<String, String> ADDED_SETTINGS = added();

    private static Map<String, String> added() {
        Map<String, String> m = new LinkedHashMap<>(Map.of("ema", "off", "init-from", "off", "l2sp", "off",
                "layer-decay", "off", "classes", "all", "shortcut", "a", "init", "he"));
        m.putAll(RECIPE_OFF);
        return java.util.Collections.unmodifiableMap(m);
    }

    /** Options that may differ from the saved settings on --resume. */
    private static final Set<String> RUN_CONTROL = Set.of("--resume", "--out", "--stop-after", "--help", "--version");

    @Override
    public Integer call() throws IOException {
        long start = System.nanoTime();
        PrintStream console = System.out;
        Map<String, String> settings = settings();
        RunDirectory run;
        List<RunDirectory.Metrics> history = new ArrayList<>();
        if (resume) {
            if (out == null) {
                throw new IllegalArgumentException("--resume needs --out DIR, the directory of the run to continue");
            }
            if (!java.nio.file.Files.isRegularFile(out.resolve(RunDirectory.SETTINGS))) {
                throw new IllegalArgumentException("--resume: " + out + " holds no run (no " + RunDirectory.SETTINGS + ")");
            }
            run = RunDirectory.create(out);
            settings = resumedSettings(settings, run.readSettings());
            apply(settings);
        } else {
            if (out == null) {
                out = Paths.get("runs", model.toLowerCase(Locale.ROOT) + "-"
                        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            }
            run = RunDirectory.create(out);
            if (run.has(RunDirectory.SETTINGS) || run.has(RunDirectory.CHECKPOINT)) {
                throw new IllegalArgumentException("--out " + out + " already holds a run; continue it with --resume"
                        + " or choose another --out");
            }
        }

        // ---- data, model, optimizer
        FashionMnist trainData = DataSources.load(data, FashionMnist.Split.TRAIN);
        int[] classList = classes == null ? null : FineTuning.parseClasses(classes);
        if (classList != null) {
            trainData = trainData.classes(classList);
        }
        if (trainPerClass != null) {
            trainData = trainData.firstPerClass(trainPerClass);
        }
        FashionMnist testData = DataSources.load(data, FashionMnist.Split.TEST);
        if (classList != null) {
            testData = testData.classes(classList);
        }
        FashionMnistIterator trainIt = FashionMnistIterator.builder(trainData).batchSize(batch).shuffle(true).seed(seed)
                .augmentation(augment ? Augmentation.cropAndFlip(CROP_PADDING) : Augmentation.none()).build();
        FashionMnistIterator testIt = FashionMnistIterator.builder(testData).batchSize(256).build();
        int stepsPerEpoch = trainIt.batchesPerEpoch();
        ISchedule lrSched = learningRateSchedule(lrSchedule, lr, epochs, stepsPerEpoch);
        TorchOptimizer optimizer = updater.equals("adamw") ? TorchOptimizer.adamW(lrSched, weightDecay)
                : TorchOptimizer.sgd(lrSched, MOMENTUM, true, weightDecay);
        RegularizationPolicy regularization = policy(optimizer);
        ResNet builder = Models.resnet(model).inputShape(1, FashionMnist.SIDE, FashionMnist.SIDE)
                .numClasses(trainData.numClasses()).seed(seed).updater(optimizer.updater())
                .stochasticDepth(Models.schedule(schedule, dropPath), BenchCommand.parseMode(dropMode))
                .weightInit(parseInit(init))
                .regularization(regularization);
        if (builder.name().endsWith("-imagenet")) {
            builder.smallInputStem(true);
        } else {
            builder.shortcut(BenchCommand.parseShortcut(shortcut));
        }
        // ---- recipe (issue 16): DropBlock and label smoothing in the model, erasing and mixing on the batches
        builder.dropBlock(dropBlock).loss(labelSmoothing > 0 ? new LossLabelSmoothing(labelSmoothing) : null);
        Recipe recipe = new Recipe(mixup, cutmix, mixProb, switchProb, randomErase, FashionMnist.NUM_CLASSES, seed);

        ComputationGraph net;
        int firstEpoch;
        if (resume && run.has(RunDirectory.CHECKPOINT)) {
            net = run.readModel(RunDirectory.CHECKPOINT);
            firstEpoch = net.getConfiguration().getEpochCount();
            for (RunDirectory.Metrics m : run.readMetrics()) {
                if (m.epoch() <= firstEpoch) {
                    history.add(m);
                }
            }
        } else {
            net = builder.build();
            firstEpoch = 0;
        }
        // ---- fine-tuning: starting weights, L2-SP, layer decay (in a checkpoint already), model EMA
        String fineTuning = initFrom == null ? "" : "from " + initFrom;
        if (firstEpoch == 0 && initFrom != null) {
            ComputationGraph startModel = FineTuning.load(initFrom);
            boolean newHead = FineTuning.copyWeights(startModel, net, initFrom, builder.name());
            fineTuning += newHead ? " with a new " + trainData.numClasses() + "-class classifier" : "";
            if (l2sp != null) {
                double[] ab = FineTuning.parseL2sp(l2sp);
                regularization = FineTuning.l2spPolicy(ab[0], ab[1], startModel, newHead, l1);
                regularization.applyTo(net);
            }
        }
        fineTuning += (l2sp == null ? "" : ", L2-SP " + l2sp) + (layerDecay == null ? "" : ", layer decay " + layerDecay)
                + (ema == null ? "" : ", model EMA decay " + ema + " (with warmup)");
        if (firstEpoch == 0 && layerDecay != null) {
            LayerDecay.of(layerDecay).applyTo(net);
        }
        ModelEma average = null;
        if (ema != null) {
            average = firstEpoch > 0 ? ModelEma.readFrom(run.file(RunDirectory.CHECKPOINT).toFile())
                    : new ModelEma(ema).withWarmup(true);
            net.addListeners(average);
        }
        if (firstEpoch == 0) {
            run.writeSettings(settings);
            run.writeMetrics(history);
        }

        // ---- what is about to run
        console.println("backend: " + NativeBackend.current().describe());
        console.printf(Locale.ROOT, "data: Fashion-MNIST, %s: %,d training images%s, %,d test images; augmentation:"
                        + " %s%n", DataSources.describe(data), trainData.size(),
                trainPerClass == null ? "" : " (first " + trainPerClass + " per class)", testData.size(),
                trainIt.augmentation());
        console.printf(Locale.ROOT, "model: %s on 1x28x28, %,d parameters; stochastic depth: %s%n", builder.name(),
                net.numParams(), dropPath == 0 ? "off" : schedule + " to " + dropPath + ", " + dropMode + " mode");
        console.printf(Locale.ROOT, "optimizer: %s, lr %s %s (%d steps per epoch), batch %d%n",
                updater.equals("adamw") ? "AdamW" : "SGD with Nesterov momentum 0.9", lr, describe(lrSched),
                stepsPerEpoch, batch);
        console.printf(Locale.ROOT, "weight penalties: policy %s%s%n", policy, policy.equals("none") ? ""
                : (l2sp != null ? ", L2-SP " + l2sp + " instead of weight decay" : ", weight decay " + weightDecay
                + (updater.equals("adamw") ? " (decoupled)" : " (coupled L2)")) + (l1 > 0 ? ", L1 " + l1 : ""));
        if (recipe.isActive() || labelSmoothing > 0 || dropBlock > 0) {
            console.printf(Locale.ROOT, "recipe: label smoothing %s, DropBlock %s, %s%n", labelSmoothing, dropBlock,
                    recipe.describe());
        }
        console.print(firstEpoch > 0 && l2sp != null ? PenaltyTable.of(net) : regularization.describe(net));
        if (!fineTuning.isEmpty()) {
            console.println("fine-tuning: " + fineTuning.replaceFirst("^, ", ""));
        }
        if (layerDecay != null) {
            console.print(LayerDecay.of(layerDecay).describe(net));
        }
        console.println("output: " + run.dir());
        if (firstEpoch > 0) {
            console.printf(Locale.ROOT, "resuming after epoch %d of %d%n", firstEpoch, epochs);
        }

        // ---- train
        BatchStatsListener stats = BatchStatsListener.forNet(net);
        if (stats != null) {
            net.addListeners(stats);
        }
        net.addListeners(MemoryTrimListener.forTraining());
        Nd4j.getRandom().setSeed(seed);
        Evaluator.Result lastEval = null;
        int ranEpochs = 0;
        for (int epoch = firstEpoch; epoch < epochs; epoch++) {
            if (stopAfter != null && ranEpochs >= stopAfter) {
                break;
            }
            long epochStart = System.nanoTime();
            trainIt.setEpoch(epoch);
            double lossSum = 0;
            double correct = 0;
            int seen = 0;
            String task = String.format(Locale.ROOT, "epoch %" + String.valueOf(epochs).length() + "d/%d", epoch + 1,
                    epochs);
            try (TrainingProgress bar = TrainingProgress.start(task, trainData.size(), console)) {
                while (trainIt.hasNext()) {
                    DataSet b = recipe.apply(trainIt.next(), net.getConfiguration().getIterationCount());
                    net.fit(b);
                    int n = b.numExamples();
                    double[] lc = stats == null ? new double[] {net.score(), Double.NaN} : stats.lossAndCorrect(b.getLabels());
                    lossSum += lc[0] * n;
                    correct += lc[1];
                    seen += n;
                    bar.advance(n, String.format(Locale.ROOT, "loss %.4f acc %.1f%%", lossSum / seen,
                            100 * correct / seen));
                }
            }
            double trainSeconds = (System.nanoTime() - epochStart) / 1e9;
            net.incrementEpochCount();
            double trainLoss = lossSum / seen;
            if (!Double.isFinite(trainLoss)) {
                console.printf(Locale.ROOT, "training diverged: the loss of epoch %d is %s; try a smaller --lr%n",
                        epoch + 1, trainLoss);
                return 1;
            }
            lastEval = Evaluator.evaluate(net, testIt);
            double seconds = (System.nanoTime() - epochStart) / 1e9;
            int iteration = net.getConfiguration().getIterationCount();
            RunDirectory.Metrics row = new RunDirectory.Metrics(epoch + 1, trainLoss, correct / seen, lastEval.loss(),
                    lastEval.accuracy(), lrSched.valueAt(Math.max(0, iteration - 1), epoch), seconds,
                    seen / trainSeconds, net.calcRegularizationScore(true));
            history.add(row);
            run.writeMetrics(history);
            run.writeModel(RunDirectory.CHECKPOINT, net, average);
            writeCurves(run, history);
            ranEpochs++;
            double meanEpoch = history.stream().skip(Math.max(0, history.size() - ranEpochs))
                    .mapToDouble(RunDirectory.Metrics::seconds).average().orElse(seconds);
            console.printf(Locale.ROOT, "%s  train loss %.4f acc %.2f%%  test loss %.4f acc %.2f%%  lr %.4g  %.1f s%s%n",
                    task, trainLoss, 100 * row.trainAccuracy(), lastEval.loss(), 100 * lastEval.accuracy(),
                    row.learningRate(), seconds, epoch + 1 < epochs
                            ? "  (" + TrainingProgress.duration(meanEpoch * (epochs - epoch - 1)) + " left)" : "");
        }
        int doneEpochs = net.getConfiguration().getEpochCount();
        if (lastEval == null) {
            lastEval = Evaluator.evaluate(net, testIt);
        }
        Evaluator.Result emaEval = null;
        if (average != null && average.hasAverage()) {
            ComputationGraph averaged = new ComputationGraph(net.getConfiguration().clone());
            averaged.init(average.params(), false);
            emaEval = Evaluator.evaluate(averaged, testIt);
            console.printf(Locale.ROOT, "model EMA: test accuracy %.2f%%%n", 100 * emaEval.accuracy());
            if (doneEpochs >= epochs) {
                run.writeModel(RunDirectory.MODEL_EMA, averaged, null);
            }
        }
        if (doneEpochs >= epochs) {
            run.writeModel(RunDirectory.MODEL, net, average);
            writeConfusion(run, lastEval, "after " + doneEpochs + " epochs", testData.classNames());
        }

        // ---- result
        double trainSeconds = history.stream().mapToDouble(RunDirectory.Metrics::seconds).sum();
        double best = history.stream().mapToDouble(RunDirectory.Metrics::testAccuracy).max().orElse(Double.NaN);
        double seconds = (System.nanoTime() - start) / 1e9;
        int correctTest = (int) Math.round(lastEval.accuracy() * lastEval.examples());
        console.printf(Locale.ROOT, "test accuracy %.2f%% (%,d of %,d) after %d of %d epochs; %s in this run%n",
                100 * lastEval.accuracy(), correctTest, lastEval.examples(), doneEpochs, epochs,
                TrainingProgress.duration(seconds));
        console.println("wrote " + run.dir() + "/{" + (doneEpochs >= epochs ? "model.zip, confusion-matrix.png, "
                + (emaEval != null ? "model-ema.zip, " : "") : "")
                + "checkpoint.zip, metrics.csv, learning-curves.png, result.json}");
        JsonLine json = new JsonLine()
                .put("test_accuracy", lastEval.accuracy(), "%.4f")
                .put("epochs", doneEpochs)
                .put("seconds", seconds, "%.1f")
                .put("complete", doneEpochs >= epochs)
                .put("test_loss", lastEval.loss(), "%.4f")
                .put("best_test_accuracy", best, "%.4f")
                .put("train_loss", history.isEmpty() ? Double.NaN : history.get(history.size() - 1).trainLoss(), "%.4f")
                .put("train_accuracy", history.isEmpty() ? Double.NaN : history.get(history.size() - 1).trainAccuracy(),
                        "%.4f")
                .put("train_seconds", trainSeconds, "%.1f")
                .put("model", builder.name())
                .put("params", net.numParams())
                .put("train_images", trainData.size())
                .put("test_images", testData.size())
                .put("data", data)
                .put("batch", batch)
                .put("lr", lr)
                .put("lr_schedule", lrSchedule)
                .put("updater", updater)
                .put("drop_path", dropPath)
                .put("drop_mode", dropMode)
                .put("schedule", schedule)
                .put("shortcut", builder.name().endsWith("-imagenet") ? "b" : shortcut)
                .put("init", init)
                .put("policy", policy)
                .put("weight_decay", policy.equals("none") || l2sp != null ? 0.0 : weightDecay)
                .put("l1", l1)
                .put("augment", augment)
                .put("label_smoothing", labelSmoothing)
                .put("mixup", mixup)
                .put("cutmix", cutmix)
                .put("mix_prob", mixProb)
                .put("switch_prob", switchProb)
                .put("random_erase", randomErase)
                .put("drop_block", dropBlock)
                .put("seed", seed)
                .put("ema", ema == null ? Double.NaN : ema)
                .put("ema_test_accuracy", emaEval == null ? Double.NaN : emaEval.accuracy(), "%.4f")
                .put("init_from", initFrom == null ? null : initFrom.toString())
                .put("l2sp_alpha", l2sp == null ? Double.NaN : FineTuning.parseL2sp(l2sp)[0])
                .put("l2sp_beta", l2sp == null ? Double.NaN : FineTuning.parseL2sp(l2sp)[1])
                .put("layer_decay", layerDecay == null ? Double.NaN : layerDecay)
                .put("classes", classes)
                .put("native_build", NativeBackend.current().nativeBuild())
                .put("out", run.dir().toString());
        run.writeText(RunDirectory.RESULT, json + "\n");
        console.println(json);
        return 0;
    }

    // ------------------------------------------------------------------------------------------ settings

    /** Checks every option (before any work) and returns the run's settings, defaults resolved. */
    Map<String, String> settings() {
        model = model.toLowerCase(Locale.ROOT);
        Models.resnet(model);   // throws for a bad name
        checkRange("--epochs", epochs, 1, 10_000);
        checkRange("--batch", batch, 1, 8192);
        updater = oneOf("--updater", updater, "nesterov", "adamw");
        lrSchedule = oneOf("--lr-schedule", lrSchedule, "cosine", "step", "constant");
        if (lr == null) {
            lr = updater.equals("adamw") ? 1e-3 : 0.1;
        }
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("--lr must be finite and > 0, got " + lr);
        }
        Checks.probability("--drop-path", dropPath);
        dropMode = oneOf("--drop-mode", dropMode, "row", "batch");
        schedule = oneOf("--schedule", schedule, "linear", "efficientnet", "linspace");
        shortcut = oneOf("--shortcut", shortcut, "a", "b");
        init = oneOf("--init", init, "pytorch", "he");
        policy = oneOf("--policy", policy, "standard", "none");
        boolean decayGiven = weightDecay != null;
        if (weightDecay == null) {
            weightDecay = updater.equals("adamw") ? 0.05 : 5e-4;
        }
        Checks.nonNegative("--weight-decay", weightDecay);
        Checks.nonNegative("--l1", l1);
        if (policy.equals("none") && ((decayGiven && weightDecay > 0) || l1 > 0)) {
            throw new IllegalArgumentException("--policy none applies no penalty; drop --weight-decay/--l1 or use"
                    + " --policy standard");
        }
        if (trainPerClass != null) {
            Checks.atLeast("--train-per-class", trainPerClass, 1);
        }
        if (stopAfter != null) {
            Checks.atLeast("--stop-after", stopAfter, 1);
        }
        if (!resume && !data.equalsIgnoreCase(FashionMnist.BUNDLED) && !data.equalsIgnoreCase("installed")
                && !Paths.get(data).toFile().isDirectory()) {
            throw new IllegalArgumentException("--data must be bundled, installed or a directory with Fashion-MNIST's"
                    + " IDX files, got " + data + " (no such directory)");
        }
        Map<String, String> s = new LinkedHashMap<>();
        s.put("model", model);
        s.put("epochs", Integer.toString(epochs));
        s.put("batch", Integer.toString(batch));
        s.put("lr", Double.toString(lr));
        s.put("lr-schedule", lrSchedule);
        s.put("updater", updater);
        s.put("drop-path", Double.toString(dropPath));
        s.put("drop-mode", dropMode);
        s.put("schedule", schedule);
        s.put("shortcut", shortcut);
        s.put("init", init);
        s.put("policy", policy);
        s.put("weight-decay", Double.toString(weightDecay));
        s.put("l1", Double.toString(l1));
        s.put("seed", Long.toString(seed));
        s.put("data", data);
        s.put("train-per-class", trainPerClass == null ? "all" : Integer.toString(trainPerClass));
        s.put("augment", Boolean.toString(augment));
        fineTuningSettings(s, decayGiven);
        recipeSettings(s);
        return s;
    }

    /** Checks the fine-tuning and averaging options and adds their settings ("off"/"all" when not given). */
    private void fineTuningSettings(Map<String, String> s, boolean decayGiven) {
        if (ema != null && !(ema > 0 && ema < 1)) {
            throw new IllegalArgumentException("--ema must be in (0, 1), got " + ema);
        }
        if (layerDecay != null && !(layerDecay > 0 && layerDecay <= 1)) {
            throw new IllegalArgumentException("--layer-decay must be in (0, 1], got " + layerDecay);
        }
        if (classes != null) {
            classes = FineTuning.classesText(FineTuning.parseClasses(classes));
        }
        if (initFrom != null && !resume && !java.nio.file.Files.isRegularFile(initFrom)) {
            throw new IllegalArgumentException("--init-from " + initFrom + " is not a file");
        }
        if (l2sp != null) {
            double[] ab = FineTuning.parseL2sp(l2sp);
            l2sp = ab[0] + "," + ab[1];
            if (initFrom == null) {
                throw new IllegalArgumentException("--l2sp pulls the weights toward the ones training starts from: it"
                        + " needs --init-from MODEL.zip");
            }
            if (policy.equals("none") || decayGiven) {
                throw new IllegalArgumentException("--l2sp replaces the weight decay of --policy standard: drop"
                        + " --weight-decay" + (policy.equals("none") ? " and --policy none" : ""));
            }
        }
        s.put("ema", ema == null ? "off" : Double.toString(ema));
        s.put("init-from", initFrom == null ? "off" : initFrom.toString());
        s.put("l2sp", l2sp == null ? "off" : l2sp);
        s.put("layer-decay", layerDecay == null ? "off" : Double.toString(layerDecay));
        s.put("classes", classes == null ? "all" : classes);
    }

    /** Checks the recipe flags and adds them to the settings. */
    private void recipeSettings(Map<String, String> s) {
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
            throw new IllegalArgumentException("--label-smoothing must be in [0, 1), got " + labelSmoothing);
        }
        Checks.nonNegative("--mixup", mixup);
        Checks.nonNegative("--cutmix", cutmix);
        Checks.probability("--mix-prob", mixProb);
        Checks.probability("--switch-prob", switchProb);
        Checks.probability("--random-erase", randomErase);
        Checks.probability("--drop-block", dropBlock);
        if (mixup == 0 && cutmix == 0 && (mixProb != 1.0 || switchProb != 0.5)) {
            throw new IllegalArgumentException("--mix-prob and --switch-prob apply with --mixup or --cutmix");
        }
        double[] values = {labelSmoothing, mixup, cutmix, mixProb, switchProb, randomErase, dropBlock};
        String[] keys = {"label-smoothing", "mixup", "cutmix", "mix-prob", "switch-prob", "random-erase", "drop-block"};
        for (int i = 0; i < keys.length; i++) {
            s.put(keys[i], Double.toString(values[i]));
        }
    }

    /** The saved settings, after checking that every option given now agrees with them. */
    private Map<String, String> resumedSettings(Map<String, String> now, Map<String, String> saved) {
        saved = new LinkedHashMap<>(saved);
        ADDED_SETTINGS.forEach(saved::putIfAbsent);   // a run saved before these options existed
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            String name = o.longestName();
            if (RUN_CONTROL.contains(name)) {
                continue;
            }
            String key = name.substring(2);
            if (!now.get(key).equals(saved.get(key))) {
                throw new IllegalArgumentException("--resume continues the run in " + out + " with its saved settings;"
                        + " " + name + " " + now.get(key) + " differs from the saved " + saved.get(key));
            }
        }
        for (String key : now.keySet()) {
            if (!saved.containsKey(key)) {
                throw new IllegalArgumentException("--resume: " + out.resolve(RunDirectory.SETTINGS) + " has no " + key);
            }
        }
        return saved;
    }

    /** Sets the option fields from saved settings. */
    private void apply(Map<String, String> s) {
        model = s.get("model");
        epochs = Integer.parseInt(s.get("epochs"));
        batch = Integer.parseInt(s.get("batch"));
        lr = Double.parseDouble(s.get("lr"));
        lrSchedule = s.get("lr-schedule");
        updater = s.get("updater");
        dropPath = Double.parseDouble(s.get("drop-path"));
        dropMode = s.get("drop-mode");
        schedule = s.get("schedule");
        shortcut = s.get("shortcut");
        init = s.get("init");
        policy = s.get("policy");
        weightDecay = Double.parseDouble(s.get("weight-decay"));
        l1 = Double.parseDouble(s.get("l1"));
        seed = Long.parseLong(s.get("seed"));
        data = s.get("data");
        trainPerClass = s.get("train-per-class").equals("all") ? null : Integer.valueOf(s.get("train-per-class"));
        augment = Boolean.parseBoolean(s.get("augment"));
        labelSmoothing = Double.parseDouble(s.get("label-smoothing"));
        mixup = Double.parseDouble(s.get("mixup"));
        cutmix = Double.parseDouble(s.get("cutmix"));
        mixProb = Double.parseDouble(s.get("mix-prob"));
        switchProb = Double.parseDouble(s.get("switch-prob"));
        randomErase = Double.parseDouble(s.get("random-erase"));
        dropBlock = Double.parseDouble(s.get("drop-block"));
        ema = s.get("ema").equals("off") ? null : Double.valueOf(s.get("ema"));
        initFrom = s.get("init-from").equals("off") ? null : Paths.get(s.get("init-from"));
        l2sp = s.get("l2sp").equals("off") ? null : s.get("l2sp");
        layerDecay = s.get("layer-decay").equals("off") ? null : Double.valueOf(s.get("layer-decay"));
        classes = s.get("classes").equals("all") ? null : s.get("classes");
    }

    static InitPreset parseInit(String text) {
        switch (text.toLowerCase(Locale.ROOT)) {
            case "pytorch":
                return InitPreset.PYTORCH;
            case "he":
                return InitPreset.HE;
            default:
                throw new IllegalArgumentException("--init must be pytorch or he, got " + text);
        }
    }

    private RegularizationPolicy policy(TorchOptimizer optimizer) {
        if (policy.equals("none")) {
            return RegularizationPolicy.none();
        }
        RegularizationPolicy p = optimizer.standardPolicy();
        if (l1 > 0) {
            p = p.toBuilder().alsoPenalize(Selector.kinds(ParamKind.WEIGHT), new L1Penalty(l1)).build();
        }
        return p;
    }

    /** The learning rate over training: cosine per iteration, step per epoch, or constant. */
    static ISchedule learningRateSchedule(String name, double lr, int epochs, int stepsPerEpoch) {
        switch (name) {
            case "cosine":
                return new CosineSchedule(ScheduleType.ITERATION, lr, 0.0, epochs * stepsPerEpoch);
            case "step":
                MapSchedule.Builder b = new MapSchedule.Builder(ScheduleType.EPOCH).add(0, lr);
                if (epochs / 2 > 0) {
                    b.add(epochs / 2, lr * 0.1);
                }
                if (3 * epochs / 4 > epochs / 2) {
                    b.add(3 * epochs / 4, lr * 0.01);
                }
                return b.build();
            case "constant":
                return new FixedSchedule(lr);
            default:
                throw new IllegalArgumentException("--lr-schedule must be cosine, step or constant, got " + name);
        }
    }

    private static String describe(ISchedule s) {
        if (s instanceof CosineSchedule) {
            return String.format(Locale.ROOT, "cosine to 0 over %,d steps", ((CosineSchedule) s).getTotalSteps());
        }
        if (s instanceof MapSchedule) {
            return "step: x0.1 at 50% and 75% of the epochs";
        }
        return "constant";
    }

    private static void checkRange(String name, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "], got " + value);
        }
    }

    private static String oneOf(String name, String value, String... allowed) {
        String v = value.toLowerCase(Locale.ROOT);
        for (String a : allowed) {
            if (a.equals(v)) {
                return v;
            }
        }
        throw new IllegalArgumentException(name + " must be " + String.join(", ", allowed).replaceFirst(", ([^,]*)$",
                " or $1") + ", got " + value);
    }

    // ------------------------------------------------------------------------------------------ charts

    private void writeCurves(RunDirectory run, List<RunDirectory.Metrics> history) {
        try {
            double[] x = history.stream().mapToDouble(RunDirectory.Metrics::epoch).toArray();
            JFreeChart chart = Charts.stackedLineChart("Fashion-MNIST, " + model + ": learning curves", "epoch", List.of(
                    new Charts.Panel("loss (cross-entropy)", List.of(
                            Charts.Series.of("train", x, history.stream().mapToDouble(RunDirectory.Metrics::trainLoss).toArray()),
                            Charts.Series.of("test", x, history.stream().mapToDouble(RunDirectory.Metrics::testLoss).toArray()))),
                    new Charts.Panel("accuracy", List.of(
                            Charts.Series.of("train", x, history.stream().mapToDouble(RunDirectory.Metrics::trainAccuracy).toArray()),
                            Charts.Series.of("test", x, history.stream().mapToDouble(RunDirectory.Metrics::testAccuracy).toArray())))));
            Charts.subtitle(chart, String.format(Locale.ROOT, "drop-path %s (%s), policy %s, weight decay %s, %s, lr %s,"
                    + " batch %d, seed %d", dropPath, dropMode, policy, policy.equals("none") ? 0 : weightDecay, updater,
                    lr, batch, seed));
            Charts.writePng(chart, run.file(RunDirectory.CURVES), 900, 700);
        } catch (IOException | RuntimeException | Error e) {
            // a chart is a convenience: a JDK without fonts (an AWTError) must not stop training
            rethrowIfFatal(e);
            log.warn("could not write {}: {}", RunDirectory.CURVES, e.toString());
        }
    }

    static void writeConfusion(RunDirectory run, Evaluator.Result eval, String when, List<String> classNames) {
        try {
            Charts.writePng(Charts.confusionMatrix(String.format(Locale.ROOT, "Fashion-MNIST test, %s: accuracy %.2f%%",
                    when, 100 * eval.accuracy()), classNames, eval.confusion()),
                    run.file(RunDirectory.CONFUSION));
        } catch (IOException | RuntimeException | Error e) {
            rethrowIfFatal(e);
            log.warn("could not write {}: {}", RunDirectory.CONFUSION, e.toString());
        }
    }

    static void rethrowIfFatal(Throwable e) {
        if (e instanceof VirtualMachineError) {
            throw (VirtualMachineError) e;
        }
    }
}
