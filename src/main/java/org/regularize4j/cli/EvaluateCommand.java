package org.regularize4j.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.regularize4j.backend.NativeBackend;
import org.regularize4j.data.FashionMnist;
import org.regularize4j.data.FashionMnistIterator;
import org.regularize4j.ema.ModelEma;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code evaluate}: loads a model zip (from {@code train}, or any DL4J ComputationGraph with a 1x28x28 input and 10
 * softmax outputs), runs it on a Fashion-MNIST split and prints the accuracy, each class's accuracy and the
 * confusion matrix; writes the matrix as a PNG; ends with one JSON line.
 *
 * <pre>{@code
 * // run: the --out directory of a finished train run
 * int status = Main.run("evaluate", run.resolve("model.zip").toString(), "--data", "bundled", "--split", "test");
 * }</pre>
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate a saved model on Fashion-MNIST: accuracy, per-class accuracy, confusion matrix (text and"
                + " PNG); ends with a JSON line.")
final class EvaluateCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL_ZIP", description = "A model saved by train (model.zip or"
            + " checkpoint.zip).")
    Path modelFile;
    @Option(names = "--data", defaultValue = "bundled",
            description = "bundled, installed or a directory with the IDX files. Default: ${DEFAULT-VALUE}")
    String data;
    @Option(names = "--split", defaultValue = "test", description = "test or train. Default: ${DEFAULT-VALUE}")
    String split;
    @Option(names = "--batch", defaultValue = "256", description = "Batch size, in [1, 8192]. Default: ${DEFAULT-VALUE}")
    int batch;
    @Option(names = "--out", description = "Directory for confusion-matrix.png. Default: the model's directory")
    Path out;
    @Option(names = "--ema", description = "Evaluate the model EMA that train --ema saved inside MODEL_ZIP (model.zip,"
            + " checkpoint.zip) instead of its trained weights.")
    boolean ema;
    @Option(names = "--classes", paramLabel = "LIST", description = "The classes the model was trained on (train"
            + " --classes), e.g. 0,1,2,3,4,5,6,7. Default: all")
    String classes;

    @Override
    public Integer call() throws IOException {
        long start = System.nanoTime();
        PrintStream console = System.out;
        if (batch < 1 || batch > 8192) {
            throw new IllegalArgumentException("--batch must be in [1, 8192], got " + batch);
        }
        FashionMnist.Split which;
        switch (split.toLowerCase(Locale.ROOT)) {
            case "test":
                which = FashionMnist.Split.TEST;
                break;
            case "train":
                which = FashionMnist.Split.TRAIN;
                break;
            default:
                throw new IllegalArgumentException("--split must be test or train, got " + split);
        }
        if (!Files.isRegularFile(modelFile)) {
            throw new IllegalArgumentException("MODEL_ZIP " + modelFile + " is not a file");
        }
        Path outDir = out != null ? out : modelFile.toAbsolutePath().getParent();
        RunDirectory run = RunDirectory.create(outDir);   // fails fast when not writable
        FashionMnist dataSet = DataSources.load(data, which);
        if (classes != null) {
            dataSet = dataSet.classes(FineTuning.parseClasses(classes));
        }
        if (ema && !ModelEma.isIn(modelFile.toFile())) {
            throw new IllegalArgumentException("--ema: " + modelFile + " holds no model EMA (train --ema saves it in"
                    + " model.zip and checkpoint.zip; model-ema.zip is the averaged model itself)");
        }

        ComputationGraph net;
        try {
            net = ModelSerializer.restoreComputationGraph(modelFile.toFile(), false);
        } catch (IOException | RuntimeException e) {
            throw new IOException(modelFile + " is not a DL4J ComputationGraph zip: " + e, e);
        }
        if (ema) {
            ModelEma.readFrom(modelFile.toFile()).copyTo(net);
        }
        console.println("backend: " + NativeBackend.current().describe());
        console.printf(Locale.ROOT, "model: %s%s, %,d parameters, trained %d epochs%n", modelFile,
                ema ? " (model EMA)" : "", net.numParams(), net.getConfiguration().getEpochCount());
        console.printf(Locale.ROOT, "data: Fashion-MNIST %s, %s: %,d images%n", which.filePrefix(),
                DataSources.describe(data), dataSet.size());

        Evaluator.Result r;
        try {
            r = Evaluator.evaluate(net, FashionMnistIterator.builder(dataSet).batchSize(batch).build());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(modelFile + " does not take 1x28x28 Fashion-MNIST images with "
                    + dataSet.numClasses() + " classes" + (classes == null ? " (see --classes)" : "") + ": "
                    + e.getMessage(), e);
        }
        console.printf(Locale.ROOT, "accuracy %.2f%% (%,d of %,d), mean cross-entropy %.4f%n", 100 * r.accuracy(),
                Math.round(r.accuracy() * r.examples()), r.examples(), r.loss());
        console.print(table(r, dataSet.classNames()));
        TrainCommand.writeConfusion(run, r, modelFile.getFileName().toString() + (ema ? " (EMA)" : ""),
                dataSet.classNames());
        console.println("wrote " + run.file(RunDirectory.CONFUSION));

        JsonLine json = new JsonLine();
        if (which == FashionMnist.Split.TEST) {
            json.put("test_accuracy", r.accuracy(), "%.4f");
        }
        json.put("accuracy", r.accuracy(), "%.4f")
                .put("loss", r.loss(), "%.4f")
                .put("examples", r.examples())
                .put("split", which == FashionMnist.Split.TEST ? "test" : "train")
                .put("data", data)
                .put("model_file", modelFile.toString())
                .put("weights", ema ? "ema" : "trained")
                .put("classes", classes == null ? null : FineTuning.classesText(FineTuning.parseClasses(classes)))
                .put("epochs", net.getConfiguration().getEpochCount())
                .put("seconds", (System.nanoTime() - start) / 1e9, "%.1f");
        console.println(json);
        return 0;
    }

    /** The confusion matrix with each class's accuracy, as aligned text. */
    static String table(Evaluator.Result r, List<String> classNames) {
        StringBuilder sb = new StringBuilder();
        int nameWidth = Math.max(16, 2 + classNames.stream().mapToInt(String::length).max().orElse(10));
        sb.append(String.format(Locale.ROOT, "%-" + nameWidth + "s  %8s  ", "true \\ predicted", "accuracy"));
        for (int c = 0; c < r.confusion().length; c++) {
            sb.append(String.format(Locale.ROOT, "%5d", c));
        }
        sb.append('\n');
        double[] acc = r.classAccuracy();
        for (int row = 0; row < r.confusion().length; row++) {
            String name = row + " " + classNames.get(row);
            sb.append(String.format(Locale.ROOT, "%-" + nameWidth + "s  %7.1f%%  ", name, 100 * acc[row]));
            Arrays.stream(r.confusion()[row]).forEach(v -> sb.append(String.format(Locale.ROOT, "%5d", v)));
            sb.append('\n');
        }
        return sb.toString();
    }
}
