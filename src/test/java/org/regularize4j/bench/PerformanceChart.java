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
 * batch-mode stochastic depth (linear schedule, finalDropProb 0.5). Usage (from {@code scripts/perf-chart}):
 * {@code PerformanceChart <results.jsonl> <out.png>}.
 */
public final class PerformanceChart {
    static final String OURS = "regularize4j";
    static final String OURS_BATCH = "regularize4j, batch-mode SD 0.5 (skips blocks)";
    static final String PEER = "PyTorch 1.13";
    static final String PEER_BATCH = "PyTorch, batch-mode SD 0.5";

    private PerformanceChart() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: PerformanceChart <results.jsonl> <out.png>");
            System.exit(2);
        }
        Map<String, Map<String, Double>> series = read(Paths.get(args[0]));
        JFreeChart chart = Charts.groupedBarChart("Training step, batch 64 (2 cores; lower is better)", "network",
                "ms per step (median)", series);
        Charts.writePng(chart, Paths.get(args[1]), 900, 520);
        System.out.println("wrote " + args[1]);
    }

    /** Series name → (network → ms per step), from bench-all's JSON lines. */
    static Map<String, Map<String, Double>> read(Path jsonl) throws IOException {
        ObjectMapper json = new ObjectMapper();
        Map<String, Map<String, Double>> series = new LinkedHashMap<>();
        for (String name : List.of(OURS, OURS_BATCH, PEER, PEER_BATCH)) {
            series.put(name, new LinkedHashMap<>());
        }
        for (String line : Files.readAllLines(jsonl)) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = json.readTree(line);
            double drop = n.path("drop_path").asDouble();
            boolean peer = n.has("impl");
            String mode = peer ? n.path("mode").asText() : n.path("drop_mode").asText();
            String name;
            if (drop == 0) {
                name = peer ? PEER : OURS;
            } else if (mode.equals("batch")) {
                name = peer ? PEER_BATCH : OURS_BATCH;
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
        return imagenet ? name + " (ImageNet-style, 64x64)" : name;
    }
}
