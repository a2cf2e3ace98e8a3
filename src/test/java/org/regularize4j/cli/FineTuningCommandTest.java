package org.regularize4j.cli;

import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.regularize4j.ema.ModelEma;
import org.regularize4j.optim.LayerDecay;
import org.regularize4j.penalty.L2Penalty;
import org.regularize4j.penalty.L2SP;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code train --classes/--init-from/--l2sp/--layer-decay/--ema} on a tiny data directory (10 images per class,
 * ResNet-8): a pretraining on 8 classes, a fine-tuning from it on all 10 whose settings round-trip through
 * run.properties and --resume (bit for bit, the model EMA included), {@code evaluate --ema}, runs saved before
 * these options existed, and bad values rejected before training.
 */
class FineTuningCommandTest {
    @TempDir
    static Path shared;
    static Path data;
    static Path pretrained;

    @TempDir
    Path dir;

    static String[] tiny(Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("train", "--model", "resnet8", "--epochs", "2", "--batch", "32",
                "--data", data.toString(), "--out", out.toString()));
        args.addAll(List.of(more));
        return args.toArray(new String[0]);
    }

    @BeforeAll
    static void pretrainOnEightClasses() throws IOException {
        data = CliRun.tinyData(Files.createDirectories(shared.resolve("data")), 10);
        Path run = shared.resolve("pretrain");
        CliRun r = CliRun.of("train", "--model", "resnet8", "--epochs", "1", "--batch", "32", "--data", data.toString(),
                "--out", run.toString(), "--classes", "0,1,2,3,4,5,6,7");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(80, r.number("train_images"));
        assertEquals(80, r.number("test_images"));
        assertTrue(r.lastLine().contains("\"classes\": \"0,1,2,3,4,5,6,7\""), r.lastLine());
        assertTrue(r.lastLine().contains("\"ema\": null") && r.lastLine().contains("\"init_from\": null"), r.lastLine());
        pretrained = run.resolve("model.zip");
        ComputationGraph net = ModelSerializer.restoreComputationGraph(pretrained.toFile(), false);
        assertEquals(8, net.getLayer("fc").getParam("W").size(1), "8 outputs");
    }

    static final String[] FINE_TUNE = {"--l2sp", "0.1,0.02", "--layer-decay", "0.7", "--ema", "0.9", "--seed", "3"};

    @Test
    void fineTuningSettingsRoundTripThroughRunPropertiesAndResume() throws Exception {
        Path straight = dir.resolve("straight");
        CliRun a = CliRun.of(tiny(straight, concat(FINE_TUNE, "--init-from", pretrained.toString())));
        assertEquals(0, a.exitCode(), a.toString());
        assertTrue(a.out().contains("fine-tuning: from " + pretrained + " with a new 10-class classifier, L2-SP"
                + " 0.1,0.02, layer decay 0.7, model EMA decay 0.9 (with warmup)"), a.out());
        assertTrue(a.out().contains("weight penalties: policy standard, L2-SP 0.1,0.02 instead of weight decay"),
                a.out());
        assertTrue(a.out().contains("[L2Penalty(l2=0.02)]") && a.out().contains("L2SP(coeff=0.1"), a.out());
        assertTrue(a.out().contains("layer decay 0.7, L = 4"), a.out());
        assertTrue(a.out().contains("model EMA: test accuracy "), a.out());
        String json = a.lastLine();
        for (String field : List.of("\"ema\": 0.9", "\"l2sp_alpha\": 0.1", "\"l2sp_beta\": 0.02", "\"layer_decay\": 0.7",
                "\"init_from\": \"" + pretrained + "\"", "\"classes\": null", "\"weight_decay\": 0.0")) {
            assertTrue(json.contains(field), field + " in " + json);
        }
        double emaAccuracy = a.number("ema_test_accuracy");
        assertTrue(emaAccuracy >= 0 && emaAccuracy <= 1);
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(straight.resolve("run.properties"))) {
            p.load(in);
        }
        assertEquals("0.9", p.getProperty("ema"));
        assertEquals(pretrained.toString(), p.getProperty("init-from"));
        assertEquals("0.1,0.02", p.getProperty("l2sp"));
        assertEquals("0.7", p.getProperty("layer-decay"));
        assertEquals("all", p.getProperty("classes"));

        // the model: L2-SP toward the pretrained weights, a plain L2 head, layer decay, the EMA inside
        ComputationGraph start = ModelSerializer.restoreComputationGraph(pretrained.toFile(), false);
        ComputationGraph tuned = ModelSerializer.restoreComputationGraph(straight.resolve("model.zip").toFile(), true);
        L2SP stemPenalty = (L2SP) layer(tuned, "stem").getRegularizationByParam("convW").get(0);
        assertEquals(start.getLayer("stem").getParam("convW"), stemPenalty.getReference());
        assertEquals(List.of(new L2Penalty(0.02)), layer(tuned, "fc").getRegularizationByParam("W"));
        assertEquals(LayerDecay.of(0.7).multipliers(tuned.getConfiguration()),
                LayerDecay.multipliersIn(tuned.getConfiguration()));
        assertTrue(ModelEma.isIn(straight.resolve("model.zip").toFile()));
        ComputationGraph averaged = ModelSerializer.restoreComputationGraph(straight.resolve("model-ema.zip").toFile(),
                false);
        assertArrayEquals(ModelEma.readFrom(straight.resolve("model.zip").toFile()).params().data().asFloat(),
                averaged.params().data().asFloat(), 0f);

        // evaluate chooses: the averaged weights in model.zip (--ema), or model-ema.zip itself
        CliRun evalEma = CliRun.of("evaluate", straight.resolve("model.zip").toString(), "--ema", "--data",
                data.toString(), "--out", dir.resolve("eval").toString());
        assertEquals(0, evalEma.exitCode(), evalEma.toString());
        assertEquals(emaAccuracy, evalEma.number("test_accuracy"));
        assertTrue(evalEma.lastLine().contains("\"weights\": \"ema\""), evalEma.lastLine());
        CliRun evalFile = CliRun.of("evaluate", straight.resolve("model-ema.zip").toString(), "--data", data.toString(),
                "--out", dir.resolve("eval").toString());
        assertEquals(emaAccuracy, evalFile.number("test_accuracy"));
        CliRun evalRaw = CliRun.of("evaluate", straight.resolve("model.zip").toString(), "--data", data.toString(),
                "--out", dir.resolve("eval").toString());
        assertEquals(a.number("test_accuracy"), evalRaw.number("test_accuracy"));

        // stopped after epoch 1 and resumed with no options: the same run, bit for bit, the EMA included
        Path resumed = dir.resolve("resumed");
        CliRun first = CliRun.of(tiny(resumed, concat(FINE_TUNE, "--init-from", pretrained.toString(), "--stop-after",
                "1")));
        assertEquals(0, first.exitCode(), first.toString());
        CliRun second = CliRun.of("train", "--out", resumed.toString(), "--resume");
        assertEquals(0, second.exitCode(), second.toString());
        assertTrue(second.out().contains("resuming after epoch 1 of 2"), second.out());
        assertEquals(a.number("test_accuracy"), second.number("test_accuracy"));
        assertEquals(emaAccuracy, second.number("ema_test_accuracy"));
        String times = "\"(seconds|train_seconds)\": [^,]*,|, \"out\": \"[^\"]*\"";
        assertEquals(json.replaceAll(times, ""), second.lastLine().replaceAll(times, ""));
        for (String f : List.of("model.zip", "model-ema.zip")) {
            ComputationGraph x = ModelSerializer.restoreComputationGraph(straight.resolve(f).toFile(), false);
            ComputationGraph y = ModelSerializer.restoreComputationGraph(resumed.resolve(f).toFile(), false);
            assertArrayEquals(x.params().data().asFloat(), y.params().data().asFloat(), 0f, f);
        }
        CliRun other = CliRun.of("train", "--out", resumed.toString(), "--resume", "--layer-decay", "0.8");
        assertEquals(2, other.exitCode(), other.toString());
        assertTrue(other.err().contains("--layer-decay 0.8 differs from the saved 0.7"), other.toString());
    }

    static Layer layer(ComputationGraph net, String name) {
        return ((LayerVertex) net.getConfiguration().getVertices().get(name)).getLayerConf().getLayer();
    }

    /** A run directory written before these options existed: its run.properties lacks them; --resume means "off". */
    @Test
    void aRunSavedBeforeTheseOptionsResumesWithThemOff() throws IOException {
        Path out = dir.resolve("old");
        CliRun first = CliRun.of(tiny(out, "--stop-after", "1"));
        assertEquals(0, first.exitCode(), first.toString());
        Path settings = out.resolve("run.properties");
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(settings)) {
            if (!line.matches("(ema|init-from|l2sp|layer-decay|classes)=.*")) {
                kept.add(line);
            }
        }
        assertEquals(Files.readAllLines(settings).size() - 5, kept.size(), "the five settings were there");
        Files.write(settings, kept);
        CliRun second = CliRun.of("train", "--out", out.toString(), "--resume");
        assertEquals(0, second.exitCode(), second.toString());
        assertTrue(second.lastLine().contains("\"ema\": null, \"ema_test_accuracy\": null, \"init_from\": null,"
                + " \"l2sp_alpha\": null, \"l2sp_beta\": null, \"layer_decay\": null, \"classes\": null"),
                second.lastLine());
    }

    @Test
    void badValuesAreRejectedBeforeTraining() throws IOException {
        Path out = dir.resolve("never");
        Path missing = dir.resolve("missing.zip");
        String[][] cases = {
                {"--ema", "1"},
                {"--ema", "0"},
                {"--ema", "-0.5"},
                {"--layer-decay", "0"},
                {"--layer-decay", "1.5"},
                {"--classes", "3"},
                {"--classes", "1,1"},
                {"--classes", "0,10"},
                {"--classes", "shoes,bags"},
                {"--l2sp", "0.1"},
                {"--init-from", pretrained.toString(), "--l2sp", "x"},
                {"--init-from", pretrained.toString(), "--l2sp", "0,0.1"},
                {"--init-from", pretrained.toString(), "--l2sp", "0.1,-1"},
                {"--init-from", pretrained.toString(), "--l2sp", "1,2,3"},
                {"--init-from", pretrained.toString(), "--l2sp", "0.1", "--weight-decay", "1e-4"},
                {"--init-from", pretrained.toString(), "--l2sp", "0.1", "--policy", "none"},
                {"--init-from", missing.toString()},
        };
        String[] messages = {
                "--ema must be in (0, 1), got 1.0",
                "--ema must be in (0, 1), got 0.0",
                "--ema must be in (0, 1), got -0.5",
                "--layer-decay must be in (0, 1], got 0.0",
                "--layer-decay must be in (0, 1], got 1.5",
                "--classes must be at least 2 distinct classes in [0, 9], comma-separated (e.g. 0,1,2,3,4,5,6,7), got 3",
                "--classes must be at least 2 distinct classes in [0, 9]",
                "--classes must be at least 2 distinct classes in [0, 9]",
                "--classes must be at least 2 distinct classes in [0, 9]",
                "--l2sp pulls the weights toward the ones training starts from: it needs --init-from MODEL.zip",
                "--l2sp must be ALPHA or ALPHA,BETA with ALPHA > 0 and BETA >= 0 (finite), got x",
                "--l2sp must be ALPHA or ALPHA,BETA",
                "--l2sp must be ALPHA or ALPHA,BETA",
                "--l2sp must be ALPHA or ALPHA,BETA",
                "--l2sp replaces the weight decay of --policy standard: drop --weight-decay",
                "--l2sp replaces the weight decay of --policy standard",
                "--init-from " + missing + " is not a file",
        };
        for (int i = 0; i < cases.length; i++) {
            CliRun r = CliRun.of(concat(new String[] {"train", "--out", out.toString()}, cases[i]));
            assertEquals(2, r.exitCode(), Arrays.toString(cases[i]) + "\n" + r);
            assertTrue(r.err().contains(messages[i]), Arrays.toString(cases[i]) + ": expected <" + messages[i] + ">\n" + r);
            assertFalse(r.out().contains("epoch 1/"), "trained despite " + Arrays.toString(cases[i]));
            assertFalse(Files.exists(out), "output created despite " + Arrays.toString(cases[i]));
        }
        // another architecture: found when the weights are copied, still before any training
        CliRun r = CliRun.of("train", "--model", "resnet14", "--epochs", "1", "--data", data.toString(), "--out",
                dir.resolve("r14").toString(), "--init-from", pretrained.toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("--init-from " + pretrained + " is not a resnet14 on 1x28x28 images: its layers"
                + " with parameters are"), r.toString());
        assertFalse(r.out().contains("epoch 1/"), r.toString());
        assertFalse(Files.exists(dir.resolve("r14").resolve("run.properties")), "settings written for a failed start");
    }

    @Test
    void sameClassCountKeepsThePretrainedClassifier() throws IOException {
        Path out = dir.resolve("same");
        CliRun r = CliRun.of(tiny(out, "--init-from", pretrained.toString(), "--classes", "0,1,2,3,4,5,6,7", "--l2sp",
                "0.5"));
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("fine-tuning: from " + pretrained + ", L2-SP 0.5,0.01"), r.out());
        ComputationGraph start = ModelSerializer.restoreComputationGraph(pretrained.toFile(), false);
        ComputationGraph tuned = ModelSerializer.restoreComputationGraph(out.resolve("model.zip").toFile(), false);
        L2SP head = (L2SP) layer(tuned, "fc").getRegularizationByParam("W").get(0);   // the head is pretrained too
        assertEquals(start.getLayer("fc").getParam("W"), head.getReference());
    }

    static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
