package org.regularize4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code compare} on hand-written runs: the statistics of the table and the figure. */
class CompareCommandTest {
    @TempDir
    Path dir;

    static void fakeRun(Path runDir, Map<String, String> settings, double... testAccuracies) throws IOException {
        RunDirectory run = RunDirectory.create(runDir);
        run.writeSettings(settings);
        List<RunDirectory.Metrics> rows = new ArrayList<>();
        for (int e = 0; e < testAccuracies.length; e++) {
            rows.add(new RunDirectory.Metrics(e + 1, 1.0 / (e + 1), 0.5 + 0.1 * e, 0.9 / (e + 1), testAccuracies[e],
                    0.1, 10, 600, 0.1));
        }
        run.writeMetrics(rows);
    }

    @Test
    void tableOfMeansSpreadsAndAFigure() throws IOException {
        Map<String, String> none = Map.of("drop-path", "0.0", "policy", "none", "weight-decay", "5.0E-4");
        Map<String, String> both = Map.of("drop-path", "0.5", "policy", "standard", "weight-decay", "5.0E-4");
        fakeRun(dir.resolve("none/seed1"), none, 0.80, 0.84);
        fakeRun(dir.resolve("none/seed2"), none, 0.81, 0.86);
        fakeRun(dir.resolve("none/seed3"), none, 0.79, 0.85);
        fakeRun(dir.resolve("both/seed1"), both, 0.70, 0.88);
        fakeRun(dir.resolve("both/seed2"), both, 0.72, 0.90);
        Files.createDirectories(dir.resolve("both/not-a-run"));
        Path png = dir.resolve("results.png");
        CliRun r = CliRun.of("compare", dir.resolve("none").toString(), dir.resolve("both").toString(), "--out",
                png.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("| none | 0.0 | 0 | 3 | 2 | 85.00% ± 1.00 | 84.00% | 86.00% | 60.00% |"), r.out());
        assertTrue(r.out().contains("| both | 0.5 | 5.0E-4 | 2 | 2 | 89.00% ± 1.41 | 88.00% | 90.00% | 60.00% |"),
                r.out());
        assertEquals(0.85, r.number("test_accuracy_mean_none"), 1e-9);
        assertEquals(0.0141, r.number("test_accuracy_sd_both"), 1e-4);
        assertEquals(5, r.number("runs"));
        assertEquals(900, ImageIO.read(png.toFile()).getWidth());
    }

    @Test
    void aGroupOfOneRunHasNoSpreadAndNoNaN() throws IOException {
        fakeRun(dir.resolve("one/seed1"), Map.of("drop-path", "0.0", "policy", "none"), 0.70, 0.80);
        CliRun r = CliRun.of("compare", dir.resolve("one").toString(), "--out", dir.resolve("one.png").toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("| one | 0.0 | 0 | 1 | 2 | 80.00% ± – (one run) | 80.00% | 80.00% | 60.00% |"),
                r.out());
        assertFalse(r.out().contains("NaN"), r.out());
    }

    @Test
    void aGroupWithoutRunsIsAUsageError() throws IOException {
        Files.createDirectories(dir.resolve("empty"));
        CliRun r = CliRun.of("compare", dir.resolve("empty").toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("has no run (no subdirectory with metrics.csv)"), r.toString());
    }

    @Test
    void statistics() {
        assertEquals(Double.NaN, CompareCommand.sd(new double[] {1}));
        assertEquals(Math.sqrt(2.5), CompareCommand.sd(new double[] {1, 2, 3, 4, 5}), 1e-15);
        assertEquals(3, CompareCommand.mean(new double[] {1, 2, 3, 4, 5}), 0);
    }
}
