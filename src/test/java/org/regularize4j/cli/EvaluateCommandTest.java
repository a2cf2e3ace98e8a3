package org.regularize4j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code evaluate} on a model that {@code train} made on tiny data. */
class EvaluateCommandTest {
    @TempDir
    static Path dir;
    static Path data;
    static CliRun trained;

    @BeforeAll
    static void train() throws IOException {
        data = CliRun.tinyData(Files.createDirectories(dir.resolve("data")), 10);
        trained = CliRun.of("train", "--model", "resnet8", "--epochs", "1", "--batch", "50", "--data", data.toString(),
                "--out", dir.resolve("run").toString());
        assertEquals(0, trained.exitCode(), trained.toString());
    }

    @Test
    void reportsTheAccuracyTrainMeasuredAndTheConfusionMatrix() {
        Path out = dir.resolve("eval");
        CliRun r = CliRun.of("evaluate", dir.resolve("run/model.zip").toString(), "--data", data.toString(), "--out",
                out.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals(trained.number("test_accuracy"), r.number("test_accuracy"), 0.0);
        assertEquals(trained.number("test_accuracy"), r.number("accuracy"), 0.0);
        assertEquals(100, r.number("examples"));
        assertEquals(1, r.number("epochs"));
        assertTrue(r.out().contains("true \\ predicted  accuracy      0    1"), r.out());
        assertTrue(r.out().contains("9 Ankle boot"), r.out());
        assertTrue(Files.exists(out.resolve("confusion-matrix.png")));
        // the rows of the printed matrix add up to the 10 images per class
        long rows = r.out().lines().filter(l -> l.matches("\\d [A-Za-z].*")).count();
        assertEquals(10, rows);
        r.out().lines().filter(l -> l.matches("\\d [A-Za-z].*")).forEach(l -> {
            String[] f = l.substring(l.indexOf('%') + 1).trim().split("\\s+");
            int sum = 0;
            for (String v : f) {
                sum += Integer.parseInt(v);
            }
            assertEquals(10, sum, l);
        });
    }

    @Test
    void trainingSplitAndDefaultOutput() {
        CliRun r = CliRun.of("evaluate", dir.resolve("run/model.zip").toString(), "--data", data.toString(), "--split",
                "train");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(!r.lastLine().contains("test_accuracy") && r.lastLine().contains("\"split\": \"train\""),
                r.lastLine());
        assertTrue(Files.exists(dir.resolve("run/confusion-matrix.png")));
    }

    @Test
    void badInput() throws IOException {
        CliRun missing = CliRun.of("evaluate", dir.resolve("nothing.zip").toString());
        assertEquals(2, missing.exitCode(), missing.toString());
        assertTrue(missing.err().contains("is not a file"), missing.toString());

        Path notZip = Files.writeString(dir.resolve("not.zip"), "hello");
        CliRun bad = CliRun.of("evaluate", notZip.toString(), "--data", data.toString());
        assertEquals(1, bad.exitCode(), bad.toString());
        assertTrue(bad.err().contains(notZip + " is not a DL4J ComputationGraph zip"), bad.toString());

        CliRun split = CliRun.of("evaluate", dir.resolve("run/model.zip").toString(), "--split", "validation");
        assertEquals(2, split.exitCode(), split.toString());
        assertTrue(split.err().contains("--split must be test or train, got validation"), split.toString());

        CliRun noArg = CliRun.of("evaluate");
        assertEquals(2, noArg.exitCode(), noArg.toString());
        assertTrue(noArg.err().contains("Missing required parameter: 'MODEL_ZIP'"), noArg.toString());
    }
}
