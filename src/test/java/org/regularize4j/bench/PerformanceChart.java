package org.regularize4j.bench;

import org.jfree.chart.JFreeChart;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.regularize4j.cli.Charts;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Draws {@code docs/performance.png} from the JSON lines that {@code scripts/bench-all} writes: ms per
 * training step of each network, regularize4j against the PyTorch peer, without stochastic depth and with
 * batch-mode stochastic depth (linear schedule, finalDropProb 0.5). Given several result files (runs of
 * bench-all), each bar is the median over the runs: on a shared machine one run's slow spell moves a single
 * bar. Usage (from {@code scripts/perf-chart}): {@code PerformanceChart <out.png> <results.jsonl>...}.
 */
public final class PerformanceChart {
    static final String OURS = "regularize4j";
    static final String OURS_BATCH = "regularize4j, batch-mode SD 0.5 (skips blocks)";
    static final String PEER_CL = "PyTorch 1.13 channels-last";
    static final String PEER_CL_BATCH = "PyTorch channels-last, batch-mode SD 0.5";
    static final String PEER = "PyTorch 1.13 NCHW";
    static final String PEER_BATCH = "PyTorch NCHW, batch-mode SD 0.5";

    private PerformanceChart() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: PerformanceChart <out.png> <results.jsonl>...");
            System.exit(2);
        }
        List<Path> runs = new java.util.ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            runs.add(Paths.get(args[i]));
        }
        Map<String, Map<String, Double>> series = median(runs);
        String title = "Training step, batch 64 (2 cores; lower is better)"
                + (runs.size() > 1 ? ", median of " + runs.size() + " runs" : "");
        JFreeChart chart = Charts.groupedBarChart(title, "network", "ms per step (median)", series);
        Charts.writePng(chart, Paths.get(args[0]), 900, 520);
        System.out.println("wrote " + args[0]);
    }

    /** Series name → (network → median over the runs of ms per step); a bar missing from a run is skipped. */
    static Map<String, Map<String, Double>> median(List<Path> runs) throws IOException {
        Map<String, Map<String, List<Double>>> all = new LinkedHashMap<>();
        for (Path run : runs) {
            read(run).forEach((name, byNet) -> byNet.forEach((net, ms) -> all.computeIfAbsent(name,
                    k -> new LinkedHashMap<>()).computeIfAbsent(net, k -> new java.util.ArrayList<>()).add(ms)));
        }
        Map<String, Map<String, Double>> out = new LinkedHashMap<>();
        all.forEach((name, byNet) -> {
            Map<String, Double> m = new LinkedHashMap<>();
            byNet.forEach((net, values) -> {
                double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
                m.put(net, v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2);
            });
            out.put(name, m);
        });
        return out;
    }

    /** Series name → (network → ms per step), from bench-all's JSON lines. */
    static Map<String, Map<String, Double>> read(Path jsonl) throws IOException {
        ObjectMapper json = new ObjectMapper();
        Map<String, Map<String, Double>> series = new LinkedHashMap<>();
        for (String name : List.of(OURS, OURS_BATCH, PEER_CL, PEER_CL_BATCH, PEER, PEER_BATCH)) {
            series.put(name, new LinkedHashMap<>());
        }
        for (String line : Files.readAllLines(jsonl)) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = json.readTree(line);
            double drop = n.path("drop_path").asDouble();
            boolean peer = n.has("impl");
            boolean channelsLast = n.path("impl").asText().endsWith("channels-last");
            String mode = peer ? n.path("mode").asText() : n.path("drop_mode").asText();
            if (n.path("batch").asInt(64) != 64) {
                continue;   // the chart is of batch-64 steps; the 224x224 networks (batch 32) are in the tables
            }
            String name;
            if (drop == 0) {
                name = peer ? (channelsLast ? PEER_CL : PEER) : OURS;
            } else if (mode.equals("batch")) {
                name = peer ? (channelsLast ? PEER_CL_BATCH : PEER_BATCH) : OURS_BATCH;
            } else {
                continue;
            }
            if (!n.path("inference").asBoolean(false)) {
                series.get(name).put(label(n.path("model").asText()), n.path("ms_per_iter").asDouble());
            }
        }
        series.values().removeIf(Map::isEmpty);
        if (series.isEmpty()) {
            throw new IllegalArgumentException("no training-step results in " + jsonl);
        }
        return series;
    }

    static String label(String model) {
        String m = model.toLowerCase(Locale.ROOT);
        boolean imagenet = m.endsWith("-imagenet") || m.equals("resnet18");
        if (imagenet) {
            m = m.replace("-imagenet", "");
        }
        String name = m.startsWith("resnet") ? "ResNet-" + m.substring("resnet".length()) : model;
        return imagenet ? name + " (64x64)" : name;
    }
}
