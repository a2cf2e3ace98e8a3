package org.regularize4j.cli;

import org.jfree.chart.JFreeChart;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code compare}: summarizes groups of {@code train} runs (one group per configuration, one run per seed): a
 * Markdown table of the final test accuracy (mean, sample standard deviation, min, max over the runs) and a PNG of
 * the mean learning curves with their min-max band. Each argument is a directory whose subdirectories are runs
 * (each with {@code metrics.csv} and {@code run.properties}); the group's label is the directory's name.
 * {@code scripts/results} uses it for docs/results.md.
 *
 * <pre>{@code
 * // runs: a directory with none/seed1, none/seed2, ..., decay/seed1, ... (as scripts/results makes them)
 * int exitCode = Main.run("compare", runs.resolve("none").toString(), runs.resolve("decay").toString(),
 *         "--out", runs.resolve("results.png").toString());
 * }</pre>
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Summarize groups of train runs (one directory per configuration holding one run per seed):"
                + " Markdown table of test accuracy (mean, sd, min, max) and a PNG of the mean learning curves.")
final class CompareCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "GROUP_DIR", description = "A directory of runs of one configuration.")
    List<Path> groups;
    @Option(names = "--out", description = "PNG of the learning curves (mean and min-max band per group).")
    Path png;
    @Option(names = "--title", defaultValue = "Fashion-MNIST", description = "Title of the figure. Default: ${DEFAULT-VALUE}")
    String title;

    /** The runs of one group and their statistics. */
    record Group(String label, List<Path> runs, List<List<RunDirectory.Metrics>> metrics, Map<String, String> settings) {
        double[] finalTestAccuracies() {
            return metrics.stream().mapToDouble(m -> m.get(m.size() - 1).testAccuracy()).toArray();
        }

        double[] finalTrainAccuracies() {
            return metrics.stream().mapToDouble(m -> m.get(m.size() - 1).trainAccuracy()).toArray();
        }

        int epochs() {
            return metrics.stream().mapToInt(List::size).min().orElse(0);
        }
    }

    @Override
    public Integer call() throws IOException {
        PrintStream console = System.out;
        List<Group> loaded = new ArrayList<>();
        for (Path g : groups) {
            loaded.add(load(g));
        }
        console.println(markdown(loaded));
        if (png != null) {
            writeFigure(loaded, png, title);
            console.println("wrote " + png);
        }
        JsonLine json = new JsonLine().put("groups", loaded.size())
                .put("runs", loaded.stream().mapToInt(g -> g.runs().size()).sum());
        for (Group g : loaded) {
            double[] acc = g.finalTestAccuracies();
            json.put("test_accuracy_mean_" + g.label(), mean(acc), "%.4f").put("test_accuracy_sd_" + g.label(), sd(acc),
                    "%.4f");
        }
        console.println(json);
        return 0;
    }

    static Group load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("GROUP_DIR " + dir + " is not a directory");
        }
        List<Path> runs;
        try (Stream<Path> s = Files.list(dir)) {
            runs = s.filter(p -> Files.isRegularFile(p.resolve(RunDirectory.METRICS))).sorted()
                    .collect(Collectors.toList());
        }
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("GROUP_DIR " + dir + " has no run (no subdirectory with "
                    + RunDirectory.METRICS + ")");
        }
        List<List<RunDirectory.Metrics>> metrics = new ArrayList<>();
        Map<String, String> settings = null;
        for (Path r : runs) {
            RunDirectory run = RunDirectory.existing(r);
            List<RunDirectory.Metrics> m = run.readMetrics();
            if (m.isEmpty()) {
                throw new IllegalArgumentException(r.resolve(RunDirectory.METRICS) + " has no epoch yet");
            }
            metrics.add(m);
            if (settings == null && run.has(RunDirectory.SETTINGS)) {
                settings = run.readSettings();
            }
        }
        return new Group(dir.getFileName().toString(), runs, metrics, settings == null ? Map.of() : settings);
    }

    static String markdown(List<Group> groups) {
        StringBuilder sb = new StringBuilder();
        sb.append("| configuration | drop-path | weight decay | runs | epochs | test accuracy, mean ± sd | min | max |"
                + " train accuracy, mean |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|\n");
        for (Group g : groups) {
            double[] acc = g.finalTestAccuracies();
            Map<String, String> s = g.settings();
            String decay = "none".equals(s.get("policy")) ? "0" : !s.getOrDefault("l2sp", "off").equals("off")
                    ? "L2-SP " + s.get("l2sp") : s.getOrDefault("weight-decay", "?");
            // one run has no sample standard deviation: say so instead of printing NaN
            String spread = acc.length > 1 ? String.format(Locale.ROOT, "%.2f", 100 * sd(acc)) : "– (one run)";
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %d | %.2f%% ± %s | %.2f%% | %.2f%% | %.2f%% |%n",
                    g.label(), s.getOrDefault("drop-path", "?"), decay, acc.length, g.epochs(), 100 * mean(acc),
                    spread, 100 * min(acc), 100 * max(acc), 100 * mean(g.finalTrainAccuracies())));
        }
        return sb.toString();
    }

    static void writeFigure(List<Group> groups, Path file, String title) throws IOException {
        List<Charts.Series> test = new ArrayList<>();
        List<Charts.Series> trainLoss = new ArrayList<>();
        for (Group g : groups) {
            test.add(band(g, RunDirectory.Metrics::testAccuracy));
            trainLoss.add(band(g, RunDirectory.Metrics::trainLoss));
        }
        JFreeChart chart = Charts.stackedLineChart(title, "epoch", List.of(
                new Charts.Panel("test accuracy", test), new Charts.Panel("training loss", trainLoss)));
        Charts.subtitle(chart, "mean over seeds; band: min to max");
        Charts.writePng(chart, file, 900, 750);
    }

    private static Charts.Series band(Group g, java.util.function.ToDoubleFunction<RunDirectory.Metrics> f) {
        int epochs = g.epochs();
        double[] x = new double[epochs];
        double[] mean = new double[epochs];
        double[] lo = new double[epochs];
        double[] hi = new double[epochs];
        for (int e = 0; e < epochs; e++) {
            final int k = e;
            double[] v = g.metrics().stream().mapToDouble(m -> f.applyAsDouble(m.get(k))).toArray();
            x[e] = e + 1;
            mean[e] = mean(v);
            lo[e] = min(v);
            hi[e] = max(v);
        }
        return Charts.Series.withBand(g.label(), x, mean, lo, hi);
    }

    static double mean(double[] v) {
        double s = 0;
        for (double d : v) {
            s += d;
        }
        return v.length == 0 ? Double.NaN : s / v.length;
    }

    /** Sample standard deviation (n - 1); NaN for fewer than two values. */
    static double sd(double[] v) {
        if (v.length < 2) {
            return Double.NaN;
        }
        double m = mean(v);
        double s = 0;
        for (double d : v) {
            s += (d - m) * (d - m);
        }
        return Math.sqrt(s / (v.length - 1));
    }

    static double min(double[] v) {
        double m = Double.POSITIVE_INFINITY;
        for (double d : v) {
            m = Math.min(m, d);
        }
        return m;
    }

    static double max(double[] v) {
        double m = Double.NEGATIVE_INFINITY;
        for (double d : v) {
            m = Math.max(m, d);
        }
        return m;
    }
}
