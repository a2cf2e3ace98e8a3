package org.regularize4j.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.regularize4j.dropout.DropBlock;
import org.regularize4j.loss.LossLabelSmoothing;
import org.regularize4j.resnet.ResidualBlock;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The recipe flags of {@code train} (--label-smoothing, --mixup, --cutmix, --mix-prob, --switch-prob, --random-erase,
 * --drop-block) and {@code bench --drop-block}: usage errors before any training, what a run records, {@code --resume}
 * reproducing an uninterrupted run with the whole recipe, and resuming a run saved before these flags existed.
 */
class RecipeFlagsTest {
    @TempDir
    static Path shared;
    static Path data;

    @TempDir
    Path dir;

    private static final String[] RECIPE = {"--label-smoothing", "0.1", "--mixup", "0.2", "--cutmix", "1.0",
            "--mix-prob", "0.8", "--random-erase", "0.25", "--drop-block", "0.1", "--seed", "3"};

    @BeforeAll
    static void tinyData() throws IOException {
        data = CliRun.tinyData(Files.createDirectories(shared.resolve("data")), 10);
    }

    private static String[] tiny(Path out, String... more) {
        return tiny(out, 2, more);
    }

    private static String[] tiny(Path out, int epochs, String... more) {
        List<String> args = new ArrayList<>(List.of("train", "--model", "resnet8", "--epochs", "" + epochs, "--batch", "32",
                "--data", data.toString(), "--out", out.toString()));
        args.addAll(List.of(more));
        return args.toArray(new String[0]);
    }

    @Test
    void badRecipeFlagsAreUsageErrorsBeforeAnyTraining() {
        Path out = dir.resolve("never");
        String[][] cases = {
                {"--label-smoothing", "1"},
                {"--label-smoothing", "-0.1"},
                {"--mixup", "-1"},
                {"--cutmix", "NaN"},
                {"--mixup", "0.2", "--mix-prob", "1.5"},
                {"--cutmix", "1", "--switch-prob", "-0.1"},
                {"--random-erase", "2"},
                {"--drop-block", "1.5"},
                {"--mix-prob", "0.5"},
        };
        String[] messages = {
                "--label-smoothing must be in [0, 1), got 1.0",
                "--label-smoothing must be in [0, 1), got -0.1",
                "--mixup must be finite and >= 0, got -1.0",
                "--cutmix must be finite and >= 0, got NaN",
                "--mix-prob must be in [0, 1], got 1.5",
                "--switch-prob must be in [0, 1], got -0.1",
                "--random-erase must be in [0, 1], got 2.0",
                "--drop-block must be in [0, 1], got 1.5",
                "--mix-prob and --switch-prob apply with --mixup or --cutmix",
        };
        for (int i = 0; i < cases.length; i++) {
            String[] args = new String[cases[i].length + 3];
            args[0] = "train";
            args[1] = "--out";
            args[2] = out.toString();
            System.arraycopy(cases[i], 0, args, 3, cases[i].length);
            CliRun r = CliRun.of(args);
            assertEquals(2, r.exitCode(), Arrays.toString(cases[i]) + "\n" + r);
            assertTrue(r.err().contains(messages[i]), Arrays.toString(cases[i]) + ": expected <" + messages[i] + ">\n"
                    + r);
            assertTrue(r.err().contains("Usage: regularize4j train"), r.toString());
            assertFalse(r.out().contains("epoch 1/"), "trained despite " + Arrays.toString(cases[i]));
            assertFalse(Files.exists(out), "output created despite " + Arrays.toString(cases[i]));
        }
    }

    @Test
    void aRunRecordsTheRecipeAndBuildsItIntoTheModel() throws IOException {
        Path out = dir.resolve("run");
        CliRun r = CliRun.of(tiny(out, 1, RECIPE));
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("recipe: label smoothing 0.1, DropBlock 0.1, mixup 0.2, cutmix 1.0 (prob 0.8, switch"
                + " 0.5), random erasing 0.25 (per-pixel noise)"), r.out());
        for (String field : List.of("\"label_smoothing\": 0.1", "\"mixup\": 0.2", "\"cutmix\": 1.0", "\"mix_prob\": 0.8",
                "\"switch_prob\": 0.5", "\"random_erase\": 0.25", "\"drop_block\": 0.1")) {
            assertTrue(r.lastLine().contains(field), field + " in " + r.lastLine());
        }
        assertTrue(Double.isFinite(r.number("train_loss")), r.lastLine());
        String props = Files.readString(out.resolve("run.properties"));
        for (String p : List.of("label-smoothing=0.1", "mixup=0.2", "cutmix=1.0", "mix-prob=0.8", "switch-prob=0.5",
                "random-erase=0.25", "drop-block=0.1")) {
            assertTrue(props.contains(p), p + " in\n" + props);
        }
        ComputationGraph model = ModelSerializer.restoreComputationGraph(out.resolve("model.zip").toFile(), false);
        assertEquals(new LossLabelSmoothing(0.1), ((org.deeplearning4j.nn.conf.layers.OutputLayer) model.getLayer("fc")
                .conf().getLayer()).getLossFn());
        assertEquals(new DropBlock(0.1, 3).withFast(true),
                ((ResidualBlock) model.getLayer("stage3.block1").conf().getLayer()).getDropBlock());
    }

    /** Stopped after epoch 1 and resumed, a run with the whole recipe equals an uninterrupted one, bit for bit. */
    @Test
    void resumeWithTheRecipeReproducesAnUninterruptedRun() throws IOException {
        Path straight = dir.resolve("straight");
        Path resumed = dir.resolve("resumed");
        CliRun a = CliRun.of(tiny(straight, RECIPE));
        assertEquals(0, a.exitCode(), a.toString());
        CliRun first = CliRun.of(tiny(resumed, TrainCommandTest.concat(RECIPE, "--stop-after", "1")));
        assertEquals(0, first.exitCode(), first.toString());
        CliRun second = CliRun.of("train", "--out", resumed.toString(), "--resume");
        assertEquals(0, second.exitCode(), second.toString());
        assertTrue(second.out().contains("resuming after epoch 1 of 2"), second.out());
        assertTrue(second.lastLine().contains("\"mixup\": 0.2") && second.lastLine().contains("\"drop_block\": 0.1"),
                second.lastLine());
        assertEquals(TrainCommandTest.metricsWithoutTimes(straight), TrainCommandTest.metricsWithoutTimes(resumed));
        ComputationGraph x = ModelSerializer.restoreComputationGraph(straight.resolve("model.zip").toFile(), true);
        ComputationGraph y = ModelSerializer.restoreComputationGraph(resumed.resolve("model.zip").toFile(), true);
        assertEquals(x.params(), y.params());
    }

    /** A run.properties written before the recipe flags resumes with them off. */
    @Test
    void aRunSavedBeforeTheRecipeFlagsResumesWithThemOff() throws IOException {
        Path out = dir.resolve("old");
        CliRun first = CliRun.of(tiny(out, "--stop-after", "1"));
        assertEquals(0, first.exitCode(), first.toString());
        Path props = out.resolve("run.properties");
        List<String> old = Files.readAllLines(props).stream().filter(l -> TrainCommand.RECIPE_OFF.keySet().stream()
                .noneMatch(k -> l.startsWith(k + "="))).collect(Collectors.toList());
        Files.write(props, old);
        assertFalse(Files.readString(props).contains("mixup"), "the recipe keys were removed");

        CliRun other = CliRun.of("train", "--out", out.toString(), "--resume", "--mixup", "0.2");
        assertEquals(2, other.exitCode(), other.toString());
        assertTrue(other.err().contains("--mixup 0.2 differs from the saved 0.0"), other.toString());

        CliRun second = CliRun.of("train", "--out", out.toString(), "--resume");
        assertEquals(0, second.exitCode(), second.toString());
        assertTrue(second.lastLine().contains("\"label_smoothing\": 0.0") && second.lastLine().contains(
                "\"drop_block\": 0.0") && second.lastLine().contains("\"mix_prob\": 1.0"), second.lastLine());
        assertEquals(2, second.number("epochs"));
    }

    @Test
    void benchTakesDropBlock() {
        CliRun run = CliRun.of("bench", "--model", "resnet8", "--batch", "2", "--iters", "2", "--warmup", "0",
                "--input", "3x8x8", "--drop-block", "0.2", "--baseline");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.lastLine().contains("\"drop_block\": 0.2"), run.lastLine());
        assertTrue(run.out().contains("without DropBlock (alternating)"), run.out());
        CliRun bad = CliRun.of("bench", "--model", "resnet8", "--drop-block", "1.5");
        assertEquals(2, bad.exitCode());
        assertTrue(bad.err().contains("--drop-block must be in [0, 1], got 1.5"), bad.err());
    }
}
