package org.regularize4j.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.regularize4j.data.Idx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code train} on a tiny data directory (10 images per class, ResNet-8): its outputs, usage errors before any
 * training, fail-fast output checks, and {@code --resume} reproducing an uninterrupted run exactly.
 */
class TrainCommandTest {
    @TempDir
    static Path shared;
    static Path data;

    @TempDir
    Path dir;

    @BeforeAll
    static void tinyData() throws IOException {
        data = CliRun.tinyData(Files.createDirectories(shared.resolve("data")), 10);
    }

    private static String[] tiny(Path out, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("train", "--model", "resnet8", "--epochs", "2",
                "--batch", "32", "--data", data.toString(), "--out", out.toString()));
        args.addAll(List.of(more));
        return args.toArray(new String[0]);
    }

    @Test
    void tinyRunWritesItsFilesAndEndsWithTheJsonLine() throws IOException {
        Path out = dir.resolve("run");
        CliRun r = CliRun.of(tiny(out, "--l1", "1e-5"));
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().startsWith("backend: "), r.out());
        assertTrue(r.out().contains("fc             OutputLayer    W          WEIGHT     [64, 10]        "
                + "[L2Penalty(l2=5.0E-4), L1Penalty(l1=1.0E-5)]"), "policy table:\n" + r.out());
        assertTrue(r.out().contains("epoch 1/2 100% ["), "progress bar:\n" + r.out());
        assertTrue(r.out().contains(" img/s loss "), "progress bar:\n" + r.out());
        assertTrue(r.lastLine().startsWith("{\"test_accuracy\": "), r.lastLine());
        assertEquals(2, r.number("epochs"));
        assertTrue(r.number("seconds") > 0);
        double accuracy = r.number("test_accuracy");
        assertTrue(accuracy >= 0 && accuracy <= 1);
        assertEquals(100, r.number("train_images"));
        assertTrue(r.lastLine().contains("\"shortcut\": \"b\"") && r.lastLine().contains("\"init\": \"he\""),
                r.lastLine());
        for (String f : List.of("run.properties", "metrics.csv", "checkpoint.zip", "model.zip", "learning-curves.png",
                "confusion-matrix.png", "result.json")) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        List<String> csv = Files.readAllLines(out.resolve("metrics.csv"));
        assertEquals(3, csv.size());
        assertEquals(RunDirectory.CSV_HEADER, csv.get(0));
        assertEquals(r.lastLine(), Files.readString(out.resolve("result.json")).strip());
        assertEquals(accuracy, Double.parseDouble(csv.get(2).split(",")[4]), 1e-4);
        // the model knows how far it trained
        assertEquals(2, ModelSerializer.restoreComputationGraph(out.resolve("model.zip").toFile(), false)
                .getConfiguration().getEpochCount());
        try (java.util.stream.Stream<Path> files = Files.list(out)) {
            assertFalse(files.anyMatch(p -> p.getFileName().toString().endsWith(".tmp")), "temporary files left");
        }
    }

    /**
     * A run stopped after epoch 1 and resumed equals an uninterrupted run of the same seed, bit for bit: metrics
     * of both epochs, weights, batch-norm statistics and updater state. Stochastic depth (0.5, per example),
     * augmentation, shuffling, the cosine schedule and L2 + L1 penalties are all on.
     */
    @Test
    void resumeReproducesAnUninterruptedRun() throws IOException {
        String[] settings = {"--drop-path", "0.5", "--l1", "1e-5", "--seed", "7"};
        Path straight = dir.resolve("straight");
        Path resumed = dir.resolve("resumed");
        CliRun a = CliRun.of(tiny(straight, settings));
        assertEquals(0, a.exitCode(), a.toString());

        CliRun first = CliRun.of(tiny(resumed, concat(settings, "--stop-after", "1")));
        assertEquals(0, first.exitCode(), first.toString());
        assertEquals(1, first.number("epochs"));
        assertTrue(first.lastLine().contains("\"complete\": false"), first.lastLine());
        assertFalse(Files.exists(resumed.resolve("model.zip")));
        CliRun second = CliRun.of("train", "--out", resumed.toString(), "--resume");
        assertEquals(0, second.exitCode(), second.toString());
        assertTrue(second.out().contains("resuming after epoch 1 of 2"), second.out());
        assertFalse(second.out().contains("epoch 1/2 100%"), "epoch 1 must not run again");

        assertEquals(a.number("test_accuracy"), second.number("test_accuracy"));
        assertEquals(a.number("test_loss"), second.number("test_loss"));
        assertEquals(metricsWithoutTimes(straight), metricsWithoutTimes(resumed));
        ComputationGraph x = ModelSerializer.restoreComputationGraph(straight.resolve("model.zip").toFile(), true);
        ComputationGraph y = ModelSerializer.restoreComputationGraph(resumed.resolve("model.zip").toFile(), true);
        assertEquals(x.params(), y.params());
        assertEquals(x.getUpdater().getStateViewArray(), y.getUpdater().getStateViewArray());
        assertEquals(x.getConfiguration().getIterationCount(), y.getConfiguration().getIterationCount());
        assertEquals(8, y.getConfiguration().getIterationCount());   // 2 epochs of 4 batches (100 images, batch 32)
    }

    static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** metrics.csv without the columns that measure time (seconds, images per second). */
    static List<String> metricsWithoutTimes(Path run) throws IOException {
        return Files.readAllLines(run.resolve("metrics.csv")).stream().map(l -> {
            String[] f = l.split(",");
            return String.join(",", f[0], f[1], f[2], f[3], f[4], f[5], f[8]);
        }).collect(Collectors.toList());
    }

    @Test
    void badOptionsAreUsageErrorsBeforeAnyTraining() {
        Path out = dir.resolve("never");
        String[][] cases = {
                {"--no-such-option"},
                {"--epochs", "0"},
                {"--epochs", "many"},
                {"--batch", "0"},
                {"--lr", "-0.1"},
                {"--lr", "NaN"},
                {"--drop-path", "1.5"},
                {"--drop-mode", "column"},
                {"--schedule", "cubic"},
                {"--weight-decay", "-1"},
                {"--l1", "-1e-5"},
                {"--policy", "all"},
                {"--policy", "none", "--weight-decay", "5e-4"},
                {"--updater", "sgd"},
                {"--lr-schedule", "linear"},
                {"--model", "resnet21"},
                {"--model", "vgg16"},
                {"--train-per-class", "0"},
                {"--augment", "maybe"},
                {"--stop-after", "0"},
                {"--data", dir.resolve("no-such-dir").toString()},
                {"--shortcut", "c"},
                {"--init", "xavier"},
        };
        String[] messages = {
                "Unknown option: '--no-such-option'",
                "--epochs must be in [1, 10000], got 0",
                "Invalid value for option '--epochs': 'many' is not an int",
                "--batch must be in [1, 8192], got 0",
                "--lr must be finite and > 0, got -0.1",
                "--lr must be finite and > 0, got NaN",
                "--drop-path must be in [0, 1], got 1.5",
                "--drop-mode must be row or batch, got column",
                "--schedule must be linear, efficientnet or linspace, got cubic",
                "--weight-decay must be finite and >= 0, got -1.0",
                "--l1 must be finite and >= 0, got -1.0E-5",
                "--policy must be standard or none, got all",
                "--policy none applies no penalty",
                "--updater must be nesterov or adamw, got sgd",
                "--lr-schedule must be cosine, step or constant, got linear",
                "depth must be 6n+2 with n >= 1",
                "model must be resnet<6n+2>",
                "--train-per-class must be >= 1, got 0",
                "Invalid value for option '--augment'",
                "--stop-after must be >= 1, got 0",
                "--data must be bundled, installed or a directory",
                "--shortcut must be a or b, got c",
                "--init must be pytorch or he, got xavier",
        };
        for (int i = 0; i < cases.length; i++) {
            long t0 = System.nanoTime();
            CliRun r = CliRun.of(concat(new String[] {"train", "--out", out.toString()}, cases[i]));
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals(2, r.exitCode(), Arrays.toString(cases[i]) + "\n" + r);
            assertTrue(r.err().contains(messages[i]), Arrays.toString(cases[i]) + ": expected <" + messages[i] + ">\n" + r);
            assertTrue(r.err().contains("Usage: regularize4j train"), r.toString());
            assertFalse(r.out().contains("epoch 1/"), "trained despite " + Arrays.toString(cases[i]));
            assertFalse(Files.exists(out), "output created despite " + Arrays.toString(cases[i]));
            assertTrue(seconds < 10, Arrays.toString(cases[i]) + " took " + seconds + " s");
        }
    }

    @Test
    void outputThatCannotBeWrittenFailsFast() throws IOException {
        Path file = Files.writeString(dir.resolve("a-file"), "not a directory");
        long t0 = System.nanoTime();
        CliRun r = CliRun.of(tiny(file.resolve("run")));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("--out " + file.resolve("run") + " cannot be created or written"), r.toString());
        assertFalse(r.out().contains("epoch 1/"), r.toString());
        assertTrue(seconds < 10, "took " + seconds + " s");
    }

    @Test
    void anExistingRunIsNeitherOverwrittenNorResumedWithOtherSettings() throws IOException {
        Path out = dir.resolve("run");
        CliRun first = CliRun.of(tiny(out, "--stop-after", "1"));
        assertEquals(0, first.exitCode(), first.toString());
        String csv = Files.readString(out.resolve("metrics.csv"));

        CliRun again = CliRun.of(tiny(out));
        assertEquals(2, again.exitCode(), again.toString());
        assertTrue(again.err().contains("already holds a run; continue it with --resume or choose another --out"),
                again.toString());

        CliRun other = CliRun.of("train", "--out", out.toString(), "--resume", "--lr", "0.05");
        assertEquals(2, other.exitCode(), other.toString());
        assertTrue(other.err().contains("--lr 0.05 differs from the saved 0.1"), other.toString());

        CliRun noOut = CliRun.of("train", "--resume");
        assertEquals(2, noOut.exitCode(), noOut.toString());
        assertTrue(noOut.err().contains("--resume needs --out DIR"), noOut.toString());

        CliRun nothing = CliRun.of("train", "--resume", "--out", dir.resolve("empty").toString());
        assertEquals(2, nothing.exitCode(), nothing.toString());
        assertTrue(nothing.err().contains("holds no run"), nothing.toString());
        assertFalse(Files.exists(dir.resolve("empty")), "--resume created a directory");
        assertEquals(csv, Files.readString(out.resolve("metrics.csv")), "the run was changed");
    }

    /** AdamW gets decoupled decay (PyTorch's AdamW), a step schedule, batch-mode stochastic depth. */
    @Test
    void adamwStepScheduleAndBatchMode() {
        CliRun r = CliRun.of(tiny(dir.resolve("adamw"), "--updater", "adamw", "--lr-schedule", "step", "--drop-mode",
                "batch", "--drop-path", "0.3", "--augment", "false"));
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("weight penalties: policy standard, weight decay 0.05 (decoupled)"), r.out());
        assertTrue(r.out().contains("[DecoupledWeightDecay("), r.out());
        assertTrue(r.out().contains("optimizer: AdamW, lr 0.001 step"), r.out());
        assertTrue(r.out().contains("stochastic depth: linear to 0.3, batch mode"), r.out());
        assertTrue(r.lastLine().contains("\"updater\": \"adamw\"") && r.lastLine().contains("\"augment\": false"),
                r.lastLine());
    }

    /**
     * {@code --shortcut a --init pytorch} (the default is b and he): the network has zero-padded shortcuts and
     * PyTorch's initial weights, the run records both, and a run saved without them (before the options existed)
     * resumes as option A with He init.
     */
    @Test
    void shortcutAndInitAreBuiltRecordedAndResumed() throws IOException {
        Path out = dir.resolve("pt");
        CliRun r = CliRun.of(tiny(out, "--shortcut", "a", "--init", "pytorch", "--stop-after", "1"));
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.lastLine().contains("\"shortcut\": \"a\"") && r.lastLine().contains("\"init\": \"pytorch\""),
                r.lastLine());
        String props = Files.readString(out.resolve("run.properties"));
        assertTrue(props.contains("shortcut=a") && props.contains("init=pytorch"), props);
        ComputationGraph net = ModelSerializer.restoreComputationGraph(out.resolve("checkpoint.zip").toFile(), false);
        assertFalse(net.paramTable().containsKey("stage2.block1_scConvW"), "zero-padded shortcut: no projection");

        CliRun other = CliRun.of("train", "--out", out.toString(), "--resume", "--init", "he");
        assertEquals(2, other.exitCode(), other.toString());
        assertTrue(other.err().contains("--init he differs from the saved pytorch"), other.toString());

        Path old = dir.resolve("old");
        assertEquals(0, CliRun.of(tiny(old, "--stop-after", "1")).exitCode());
        assertTrue(ModelSerializer.restoreComputationGraph(old.resolve("checkpoint.zip").toFile(), false).paramTable()
                .containsKey("stage2.block1_scConvW"), "the default: projection shortcuts");
        Path settings = old.resolve("run.properties");
        Files.write(settings, Files.readAllLines(settings).stream()
                .filter(l -> !l.startsWith("shortcut=") && !l.startsWith("init=")).collect(Collectors.toList()));
        CliRun resumed = CliRun.of("train", "--out", old.toString(), "--resume");
        assertEquals(0, resumed.exitCode(), resumed.toString());
        assertTrue(resumed.lastLine().contains("\"shortcut\": \"a\"") && resumed.lastLine().contains("\"init\": \"he\""),
                resumed.lastLine());
    }

    /** An ImageNet-style ResNet gets the small-input stem for 28x28 images. */
    @Test
    void imagenetResNetOnSmallImages() {
        CliRun r = CliRun.of("train", "--model", "resnet18", "--epochs", "1", "--train-per-class", "1", "--data",
                data.toString(), "--out", dir.resolve("r18").toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("model: resnet18-imagenet on 1x28x28, 11,"), r.out());
    }

    /** The demo's data: without --data, the bundled subset, also where the full set is installed. */
    @Test
    void withoutDataTheBundledSubsetIsUsed() {
        CliRun r = CliRun.of("train", "--model", "resnet8", "--epochs", "1", "--train-per-class", "2", "--out",
                dir.resolve("run").toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("data: Fashion-MNIST, bundled subset (in the jar): 20 training images (first 2 per"
                + " class), 2,000 test images"), r.out());
        assertTrue(r.lastLine().contains("\"data\": \"bundled\""), r.lastLine());
        assertEquals(2000, r.number("test_images"));
    }

    @Test
    void damagedDataFilesAreErrorsNamingTheFile() throws IOException {
        Path bad = CliRun.tinyData(Files.createDirectories(dir.resolve("bad")), 2);
        Path labels = bad.resolve("train-labels-idx1-ubyte.gz");
        byte[] read = Idx.readLabels(labels);
        Idx.writeLabels(labels, Arrays.copyOf(read, read.length - 1));
        CliRun r = CliRun.of("train", "--model", "resnet8", "--epochs", "1", "--data", bad.toString(), "--out",
                dir.resolve("run").toString());
        assertEquals(1, r.exitCode(), r.toString());
        assertTrue(r.err().contains("has 20 images but " + labels + " has 19 labels"), r.toString());
        assertFalse(r.err().contains("\tat "), "no stack trace:\n" + r.err());
    }
}
