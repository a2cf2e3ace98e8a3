package org.regularize4j.cli;

import org.jfree.chart.JFreeChart;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The charts render headless into PNGs of the asked size; bad input is rejected with its reason. */
class ChartsTest {
    @TempDir
    Path dir;

    private static BufferedImage read(Path png) throws IOException {
        BufferedImage img = ImageIO.read(png.toFile());
        assertTrue(img != null, png + " is not a PNG");
        return img;
    }

    /** Share of pixels that are neither white nor grey: drawn lines, bars, bands. */
    private static double colouredShare(BufferedImage img) {
        int coloured = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                Color c = new Color(img.getRGB(x, y));
                int spread = Math.max(c.getRed(), Math.max(c.getGreen(), c.getBlue()))
                        - Math.min(c.getRed(), Math.min(c.getGreen(), c.getBlue()));
                coloured += spread > 40 ? 1 : 0;
            }
        }
        return coloured / (double) (img.getWidth() * img.getHeight());
    }

    @Test
    void lineChartsWithBandsAndPanels() throws IOException {
        double[] x = {1, 2, 3, 4};
        JFreeChart chart = Charts.stackedLineChart("curves", "epoch", List.of(
                new Charts.Panel("loss", List.of(Charts.Series.of("train", x, new double[] {1.0, 0.7, 0.5, 0.4}))),
                new Charts.Panel("accuracy", List.of(Charts.Series.withBand("test", x, new double[] {0.6, 0.7, 0.75, 0.8},
                        new double[] {0.55, 0.66, 0.7, 0.78}, new double[] {0.65, 0.74, 0.8, 0.82})))));
        Charts.subtitle(chart, "seed 1");
        Path png = dir.resolve("curves.png");
        Charts.writePng(chart, png, 640, 480);
        BufferedImage img = read(png);
        assertEquals(640, img.getWidth());
        assertEquals(480, img.getHeight());
        assertTrue(colouredShare(img) > 0.005, "nothing drawn? " + colouredShare(img));
        // non-finite points are skipped rather than breaking the chart
        Charts.writePng(Charts.lineChart("gaps", "x", "y", List.of(Charts.Series.of("a", x,
                new double[] {1, Double.NaN, 2, 3}))), png, 320, 240);
        assertEquals(320, read(png).getWidth());
    }

    @Test
    void groupedBars() throws IOException {
        Map<String, Map<String, Double>> values = new LinkedHashMap<>();
        values.put("regularize4j", new LinkedHashMap<>(Map.of("resnet20", 520.0)));
        values.put("PyTorch", new LinkedHashMap<>(Map.of("resnet20", 850.0)));
        Path png = dir.resolve("bars.png");
        Charts.writePng(Charts.groupedBarChart("speed", "model", "images/s", values), png, 500, 400);
        BufferedImage img = read(png);
        assertEquals(500, img.getWidth());
        assertTrue(colouredShare(img) > 0.02, "bars missing? " + colouredShare(img));
    }

    @Test
    void confusionMatrixShadesByRowShare() throws IOException {
        BufferedImage img = Charts.confusionMatrix("cm", List.of("cat", "dog", "eel"),
                new int[][] {{90, 10, 0}, {5, 95, 0}, {0, 0, 0}});
        Path png = dir.resolve("cm.png");
        Charts.writePng(img, png);
        BufferedImage back = read(png);
        assertEquals(img.getWidth(), back.getWidth());
        // a diagonal cell is darker than an off-diagonal one; an empty row stays white
        int darkest = Integer.MAX_VALUE;
        int lightest = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                Color c = new Color(img.getRGB(x, y));
                darkest = Math.min(darkest, c.getRed() + c.getGreen() + c.getBlue());
                lightest = Math.max(lightest, c.getRed() + c.getGreen() + c.getBlue());
            }
        }
        assertTrue(darkest < 200 && lightest == 765, darkest + " " + lightest);
    }

    @Test
    void badInputIsRejected() {
        double[] x = {1, 2};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Charts.Series.of("a", x, new double[] {1}));
        assertEquals("y must have as many points as x (2), got 1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new Charts.Series("a", x, x, x, null));
        assertEquals("low and high must both be given or both be null", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Charts.stackedLineChart("t", "x", List.of()));
        assertEquals("panels must not be empty", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Charts.heatmap("t", List.of("a"), List.of("b", "c"),
                new double[][] {{1}}, null, null, null));
        assertEquals("every row of values must have one entry per column label (2), got 1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Charts.writePng(
                Charts.lineChart("t", "x", "y", List.of()), dir.resolve("x.png"), 0, 10));
        assertEquals("width must be >= 1, got 0", e.getMessage());
        assertTrue(Files.notExists(dir.resolve("x.png")));
    }
}
