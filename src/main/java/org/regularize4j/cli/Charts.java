package org.regularize4j.cli;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.DeviationRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;
import org.regularize4j.util.Checks;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.text.DecimalFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * PNG charts for the command line and the docs, on JFreeChart (an optional dependency: only the CLI needs it):
 * line charts with optional bands (mean with min-max spread over seeds), several line panels sharing one x axis
 * (learning curves: loss above, accuracy below), grouped bar charts (e.g. img/s per model and configuration), and
 * an annotated heatmap such as a confusion matrix. Rendering is headless; {@link #writePng} writes atomically.
 *
 * <pre>{@code
 * double[] epochs = {1, 2, 3};
 * JFreeChart curves = Charts.lineChart("Learning curve", "epoch", "accuracy", List.of(
 *         Charts.Series.of("train", epochs, new double[] {0.70, 0.80, 0.85}),
 *         Charts.Series.withBand("test", epochs, new double[] {0.72, 0.79, 0.83},
 *                 new double[] {0.70, 0.78, 0.82}, new double[] {0.74, 0.80, 0.84})));
 * Path png = Files.createTempFile("curves", ".png");
 * Charts.writePng(curves, png, 800, 500);
 *
 * Map<String, Map<String, Double>> imgPerS = new LinkedHashMap<>();
 * imgPerS.put("regularize4j", Map.of("resnet20", 520.0));
 * imgPerS.put("PyTorch", Map.of("resnet20", 850.0));
 * Charts.writePng(Charts.groupedBarChart("Training speed", "model", "images/s", imgPerS), png, 800, 500);
 *
 * BufferedImage matrix = Charts.confusionMatrix("Confusion matrix", List.of("cat", "dog"),
 *         new int[][] {{48, 2}, {5, 45}});
 * Charts.writePng(matrix, png);
 * }</pre>
 */
public final class Charts {
    /** A colour-blind-friendly palette (Okabe and Ito), in series order. */
    private static final Color[] PALETTE = {new Color(0x0072B2), new Color(0xD55E00), new Color(0x009E73),
            new Color(0xCC79A7), new Color(0xE69F00), new Color(0x56B4E9), new Color(0x000000), new Color(0xF0E442)};
    private static final Font FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
    private static final Font TITLE_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 16);

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private Charts() {
    }

    /**
     * One line of a line chart: {@code y} over {@code x}, optionally with a shaded band from {@code low} to
     * {@code high} (null for none).
     *
     * <pre>{@code
     * Charts.Series s = Charts.Series.of("loss", new double[] {1, 2}, new double[] {0.9, 0.5});
     * }</pre>
     */
    public record Series(String name, double[] x, double[] y, double[] low, double[] high) {
        /** Checks that the arrays have one length and the band is complete or absent. */
        public Series {
            Checks.notNull("name", name);
            Checks.notNull("x", x);
            Checks.notNull("y", y);
            if (y.length != x.length) {
                throw new IllegalArgumentException("y must have as many points as x (" + x.length + "), got " + y.length);
            }
            if ((low == null) != (high == null)) {
                throw new IllegalArgumentException("low and high must both be given or both be null");
            }
            if (low != null && (low.length != x.length || high.length != x.length)) {
                throw new IllegalArgumentException("low and high must have as many points as x (" + x.length + "), got "
                        + low.length + " and " + high.length);
            }
        }

        /** A line without a band. */
        public static Series of(String name, double[] x, double[] y) {
            return new Series(name, x, y, null, null);
        }

        /** A line with a band from {@code low} to {@code high}. */
        public static Series withBand(String name, double[] x, double[] y, double[] low, double[] high) {
            return new Series(name, x, y, Checks.notNull("low", low), Checks.notNull("high", high));
        }
    }

    /**
     * One panel of {@link #stackedLineChart}: a y-axis label and its lines.
     *
     * <pre>{@code
     * Charts.Panel loss = new Charts.Panel("loss", List.of(
     *         Charts.Series.of("train", new double[] {1, 2}, new double[] {0.9, 0.5})));
     * }</pre>
     */
    public record Panel(String yLabel, List<Series> series) {
        /** Checks its arguments. */
        public Panel {
            Checks.notNull("yLabel", yLabel);
            Checks.notNull("series", series);
            series = List.copyOf(series);
        }
    }

    /** A line chart; series with a band are drawn with a translucent band. */
    public static JFreeChart lineChart(String title, String xLabel, String yLabel, List<Series> series) {
        return stackedLineChart(title, xLabel, List.of(new Panel(yLabel, series)));
    }

    /** Line panels stacked vertically, sharing the x axis (e.g. loss above accuracy). */
    public static JFreeChart stackedLineChart(String title, String xLabel, List<Panel> panels) {
        Checks.notNull("panels", panels);
        if (panels.isEmpty()) {
            throw new IllegalArgumentException("panels must not be empty");
        }
        NumberAxis xAxis = new NumberAxis(xLabel);
        xAxis.setAutoRangeIncludesZero(false);
        xAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        xAxis.setLabelFont(FONT);
        CombinedDomainXYPlot combined = new CombinedDomainXYPlot(xAxis);
        combined.setGap(12);
        // one colour per series name across panels, and one legend entry per name
        java.util.Map<String, Color> colours = new java.util.LinkedHashMap<>();
        for (Panel panel : panels) {
            YIntervalSeriesCollection data = new YIntervalSeriesCollection();
            DeviationRenderer renderer = new DeviationRenderer(true, false);
            int i = 0;
            for (Series s : panel.series()) {
                YIntervalSeries ys = new YIntervalSeries(s.name(), false, true);
                for (int k = 0; k < s.x().length; k++) {
                    if (Double.isFinite(s.y()[k])) {
                        double lo = s.low() == null ? s.y()[k] : s.low()[k];
                        double hi = s.high() == null ? s.y()[k] : s.high()[k];
                        ys.add(s.x()[k], s.y()[k], lo, hi);
                    }
                }
                data.addSeries(ys);
                boolean seen = colours.containsKey(s.name());
                Color c = colours.computeIfAbsent(s.name(), k -> PALETTE[colours.size() % PALETTE.length]);
                renderer.setSeriesVisibleInLegend(i, !seen);
                renderer.setSeriesPaint(i, c);
                renderer.setSeriesFillPaint(i, c);
                renderer.setSeriesStroke(i, new BasicStroke(2f));
                i++;
            }
            renderer.setAlpha(0.2f);
            NumberAxis yAxis = new NumberAxis(panel.yLabel());
            yAxis.setAutoRangeIncludesZero(false);
            yAxis.setLabelFont(FONT);
            XYPlot plot = new XYPlot(data, null, yAxis, renderer);
            style(plot);
            combined.add(plot, 1);
        }
        JFreeChart chart = new JFreeChart(title, TITLE_FONT, combined, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    /**
     * Bars grouped by category, one bar per series in each group, value labels on the bars.
     *
     * @param valuesBySeries series name → (category → value), in the order to draw (use LinkedHashMaps)
     */
    public static JFreeChart groupedBarChart(String title, String categoryLabel, String valueLabel,
                                             Map<String, Map<String, Double>> valuesBySeries) {
        Checks.notNull("valuesBySeries", valuesBySeries);
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        valuesBySeries.forEach((series, byCategory) -> byCategory.forEach((category, value) ->
                data.addValue(value, series, category)));
        CategoryAxis categories = new CategoryAxis(categoryLabel);
        categories.setLabelFont(FONT);
        if (data.getColumnCount() > 6) {
            categories.setCategoryLabelPositions(CategoryLabelPositions.UP_45);
        }
        NumberAxis values = new NumberAxis(valueLabel);
        values.setLabelFont(FONT);
        BarRenderer renderer = new BarRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        renderer.setItemMargin(0.05);
        renderer.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}", new DecimalFormat("#,##0.##")));
        renderer.setDefaultItemLabelsVisible(true);
        for (int i = 0; i < data.getRowCount(); i++) {
            renderer.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
        }
        CategoryPlot plot = new CategoryPlot(data, categories, values, renderer);
        plot.setOrientation(PlotOrientation.VERTICAL);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(new Color(0xDDDDDD));
        JFreeChart chart = new JFreeChart(title, TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    /**
     * A confusion matrix: rows are the true classes, columns the predicted ones, each cell annotated with its
     * count and shaded by its share of the row (so a class's recall reads as the darkness of its diagonal).
     */
    public static BufferedImage confusionMatrix(String title, List<String> classNames, int[][] counts) {
        Checks.notNull("counts", counts);
        double[][] share = new double[counts.length][];
        String[][] text = new String[counts.length][];
        for (int r = 0; r < counts.length; r++) {
            long total = 0;
            for (int v : counts[r]) {
                total += v;
            }
            share[r] = new double[counts[r].length];
            text[r] = new String[counts[r].length];
            for (int c = 0; c < counts[r].length; c++) {
                share[r][c] = total == 0 ? 0 : counts[r][c] / (double) total;
                text[r][c] = Integer.toString(counts[r][c]);
            }
        }
        return heatmap(title, classNames, classNames, share, text, "true class", "predicted class");
    }

    /**
     * A heatmap: cell (r, c) shaded from white (0) to dark blue (the largest value), annotated with
     * {@code text[r][c]} (null: the value with two decimals).
     */
    public static BufferedImage heatmap(String title, List<String> rowLabels, List<String> colLabels,
                                        double[][] values, String[][] text, String rowAxis, String colAxis) {
        Checks.notNull("rowLabels", rowLabels);
        Checks.notNull("colLabels", colLabels);
        Checks.notNull("values", values);
        if (values.length != rowLabels.size()) {
            throw new IllegalArgumentException("values must have one row per row label (" + rowLabels.size()
                    + "), got " + values.length);
        }
        double max = 0;
        for (double[] row : values) {
            if (row.length != colLabels.size()) {
                throw new IllegalArgumentException("every row of values must have one entry per column label ("
                        + colLabels.size() + "), got " + row.length);
            }
            for (double v : row) {
                max = Math.max(max, v);
            }
        }
        int cell = 54;
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D pg = probe.createGraphics();
        pg.setFont(FONT);
        FontMetrics fm = pg.getFontMetrics();
        int rowLabelWidth = 0;
        for (String s : rowLabels) {
            rowLabelWidth = Math.max(rowLabelWidth, fm.stringWidth(s));
        }
        int colLabelHeight = 0;
        for (String s : colLabels) {
            colLabelHeight = Math.max(colLabelHeight, fm.stringWidth(s));
        }
        pg.dispose();
        int left = 40 + rowLabelWidth + 10;
        int top = 50;
        int gridW = cell * colLabels.size();
        int gridH = cell * rowLabels.size();
        int width = left + gridW + 30;
        int height = top + gridH + 10 + colLabelHeight + 45;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.BLACK);
        g.setFont(TITLE_FONT);
        if (title != null) {
            g.drawString(title, (width - g.getFontMetrics().stringWidth(title)) / 2, 30);
        }
        g.setFont(FONT);
        for (int r = 0; r < rowLabels.size(); r++) {
            for (int c = 0; c < colLabels.size(); c++) {
                double t = max == 0 ? 0 : values[r][c] / max;
                Color fill = blend(Color.WHITE, new Color(0x08306B), t);
                g.setColor(fill);
                g.fillRect(left + c * cell, top + r * cell, cell, cell);
                g.setColor(new Color(0xCCCCCC));
                g.drawRect(left + c * cell, top + r * cell, cell, cell);
                String label = text != null && text[r][c] != null ? text[r][c] : String.format(Locale.ROOT, "%.2f", values[r][c]);
                g.setColor(t > 0.5 ? Color.WHITE : Color.BLACK);
                g.drawString(label, left + c * cell + (cell - fm.stringWidth(label)) / 2,
                        top + r * cell + (cell + fm.getAscent() - fm.getDescent()) / 2);
            }
            g.setColor(Color.BLACK);
            g.drawString(rowLabels.get(r), left - 10 - fm.stringWidth(rowLabels.get(r)),
                    top + r * cell + (cell + fm.getAscent() - fm.getDescent()) / 2);
        }
        AffineTransform saved = g.getTransform();
        for (int c = 0; c < colLabels.size(); c++) {
            g.setTransform(saved);
            g.translate(left + c * cell + cell / 2 + fm.getAscent() / 2, top + gridH + 8);
            g.rotate(Math.PI / 2);
            g.drawString(colLabels.get(c), 0, 0);
        }
        g.setTransform(saved);
        if (colAxis != null) {
            g.drawString(colAxis, left + (gridW - fm.stringWidth(colAxis)) / 2, height - 15);
        }
        if (rowAxis != null) {
            g.translate(22, top + (gridH + fm.stringWidth(rowAxis)) / 2);
            g.rotate(-Math.PI / 2);
            g.drawString(rowAxis, 0, 0);
            g.setTransform(saved);
        }
        g.dispose();
        return img;
    }

    /** Writes a chart as a PNG of the given size (through a temporary file, then moved into place). */
    public static void writePng(JFreeChart chart, Path file, int width, int height) throws IOException {
        Checks.notNull("chart", chart);
        Checks.atLeast("width", width, 1);
        Checks.atLeast("height", height, 1);
        writeAtomically(file, out -> ChartUtils.writeChartAsPNG(out, chart, width, height));
    }

    /** Writes an image as a PNG (through a temporary file, then moved into place). */
    public static void writePng(BufferedImage image, Path file) throws IOException {
        Checks.notNull("image", image);
        writeAtomically(file, out -> ImageIO.write(image, "png", out));
    }

    private interface Writer {
        void write(OutputStream out) throws IOException;
    }

    private static void writeAtomically(Path file, Writer writer) throws IOException {
        Checks.notNull("file", file);
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = dir.resolve("." + file.getFileName() + ".tmp");   // usual permissions, unlike createTempFile
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                writer.write(out);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void style(XYPlot plot) {
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xDDDDDD));
        plot.setRangeGridlinePaint(new Color(0xDDDDDD));
        plot.setOutlineVisible(false);
    }

    private static Color blend(Color a, Color b, double t) {
        t = Math.max(0, Math.min(1, t));
        return new Color((int) Math.round(a.getRed() + (b.getRed() - a.getRed()) * t),
                (int) Math.round(a.getGreen() + (b.getGreen() - a.getGreen()) * t),
                (int) Math.round(a.getBlue() + (b.getBlue() - a.getBlue()) * t));
    }

    /** Adds a subtitle under the chart's title (e.g. a run's settings) and returns the chart. */
    public static JFreeChart subtitle(JFreeChart chart, String text) {
        Checks.notNull("chart", chart);
        chart.addSubtitle(new TextTitle(Checks.notNull("text", text), FONT));
        return chart;
    }
}
