package org.regularize4j.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PerformanceChartTest {

    @Test
    void readsBenchAllLinesIntoSeriesAndDrawsThem(@TempDir Path dir) throws Exception {
        Path jsonl = dir.resolve("results.jsonl");
        Files.write(jsonl, List.of(
                "{\"model\": \"resnet20\", \"drop_path\": 0.0, \"drop_mode\": \"row\", \"inference\": false, \"ms_per_iter\": 124.2}",
                "{\"impl\": \"pytorch-1.13.0a0\", \"model\": \"resnet20\", \"drop_path\": 0.0, \"mode\": \"none\", \"ms_per_iter\": 74.9}",
                "{\"model\": \"resnet20\", \"drop_path\": 0.5, \"drop_mode\": \"row\", \"inference\": false, \"ms_per_iter\": 130.9}",
                "{\"model\": \"resnet20\", \"drop_path\": 0.5, \"drop_mode\": \"batch\", \"inference\": false, \"ms_per_iter\": 108.0}",
                "{\"impl\": \"pytorch-1.13.0a0\", \"model\": \"resnet20\", \"drop_path\": 0.5, \"mode\": \"batch\", \"ms_per_iter\": 95.0}",
                "{\"model\": \"resnet18-imagenet\", \"drop_path\": 0.0, \"drop_mode\": \"row\", \"inference\": false, \"ms_per_iter\": 417.0}",
                "{\"impl\": \"pytorch-1.13.0a0-channels-last\", \"model\": \"resnet20\", \"drop_path\": 0.0, \"mode\": \"none\", \"batch\": 64, \"ms_per_iter\": 70.1}",
                "{\"model\": \"resnet50-imagenet\", \"batch\": 32, \"drop_path\": 0.0, \"drop_mode\": \"row\", \"inference\": false, \"ms_per_iter\": 2900.0}",
                ""));
        Map<String, Map<String, Double>> s = PerformanceChart.read(jsonl);
        assertEquals(List.of(PerformanceChart.OURS, PerformanceChart.OURS_BATCH, PerformanceChart.PEER_CL,
                PerformanceChart.PEER, PerformanceChart.PEER_BATCH), List.copyOf(s.keySet()));
        assertEquals(Map.of("ResNet-20", 70.1), s.get(PerformanceChart.PEER_CL));   // batch 32 (224x224) left out
        assertEquals(Map.of("ResNet-20", 124.2, "ResNet-18 (64x64)", 417.0), s.get(PerformanceChart.OURS));
        assertEquals(Map.of("ResNet-20", 108.0), s.get(PerformanceChart.OURS_BATCH));
        assertEquals(Map.of("ResNet-20", 74.9), s.get(PerformanceChart.PEER));

        Path png = dir.resolve("p.png");
        PerformanceChart.main(new String[]{png.toString(), jsonl.toString()});
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(900, img.getWidth());
        assertEquals(520, img.getHeight());
    }

    @Test
    void severalRunsGiveTheMedianPerBar(@TempDir Path dir) throws Exception {
        double[] ms = {130, 120, 150};
        List<Path> runs = new java.util.ArrayList<>();
        for (int i = 0; i < ms.length; i++) {
            Path f = dir.resolve("run" + i + ".jsonl");
            Files.write(f, List.of("{\"model\": \"resnet20\", \"drop_path\": 0.0, \"drop_mode\": \"row\", \"ms_per_iter\": "
                    + ms[i] + "}"));
            runs.add(f);
        }
        assertEquals(Map.of(PerformanceChart.OURS, Map.of("ResNet-20", 130.0)), PerformanceChart.median(runs));
        assertEquals(Map.of(PerformanceChart.OURS, Map.of("ResNet-20", 125.0)), PerformanceChart.median(runs.subList(0, 2)));
    }

    @Test
    void noResultsIsAnError(@TempDir Path dir) throws Exception {
        Path jsonl = dir.resolve("empty.jsonl");
        Files.write(jsonl, List.of(""));
        assertThrows(IllegalArgumentException.class, () -> PerformanceChart.read(jsonl));
    }
}
