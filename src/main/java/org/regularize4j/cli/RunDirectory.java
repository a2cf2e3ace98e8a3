package org.regularize4j.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.regularize4j.backend.FlatGradientUpdater;
import org.regularize4j.ema.ModelEma;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The files of one {@code train} run: {@code run.properties} (its settings, for {@code --resume}),
 * {@code metrics.csv} (one row per epoch), {@code checkpoint.zip} (model and updater state after the last
 * finished epoch, and the model EMA's state with {@code --ema}), {@code model.zip} (the same),
 * {@code model-ema.zip} (the averaged model), {@code learning-curves.png}, {@code confusion-matrix.png} and
 * {@code result.json} (the final JSON line). Files are written through a temporary file and moved into place, so
 * an interrupted run never leaves a half-written checkpoint.
 *
 * <pre>{@code
 * RunDirectory run = RunDirectory.create(Files.createTempDirectory("run"));
 * run.appendMetrics(new RunDirectory.Metrics(1, 0.7, 0.75, 0.5, 0.81, 0.1, 12.3, 650, 0.02));
 * }</pre>
 */
final class RunDirectory {
    static final String SETTINGS = "run.properties";
    static final String METRICS = "metrics.csv";
    static final String CHECKPOINT = "checkpoint.zip";
    static final String MODEL = "model.zip";
    static final String MODEL_EMA = "model-ema.zip";
    static final String CURVES = "learning-curves.png";
    static final String CONFUSION = "confusion-matrix.png";
    static final String RESULT = "result.json";
    static final String CSV_HEADER = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,seconds,"
            + "images_per_second,penalty";

    /** One epoch's row of {@code metrics.csv}; losses are mean cross-entropy, {@code penalty} the weight penalties' score. */
    record Metrics(int epoch, double trainLoss, double trainAccuracy, double testLoss, double testAccuracy,
                   double learningRate, double seconds, double imagesPerSecond, double penalty) {
        String toCsv() {
            return epoch + "," + trainLoss + "," + trainAccuracy + "," + testLoss + "," + testAccuracy + ","
                    + learningRate + "," + String.format(Locale.ROOT, "%.3f", seconds) + ","
                    + String.format(Locale.ROOT, "%.1f", imagesPerSecond) + "," + penalty;
        }

        static Metrics parse(String line, Path file) throws IOException {
            String[] f = line.split(",");
            if (f.length != 9) {
                throw new IOException(file + ": expected 9 comma-separated fields, got " + f.length + ": " + line);
            }
            try {
                return new Metrics(Integer.parseInt(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]),
                        Double.parseDouble(f[3]), Double.parseDouble(f[4]), Double.parseDouble(f[5]),
                        Double.parseDouble(f[6]), Double.parseDouble(f[7]), Double.parseDouble(f[8]));
            } catch (NumberFormatException e) {
                throw new IOException(file + ": not a metrics row: " + line, e);
            }
        }
    }

    private final Path dir;

    private RunDirectory(Path dir) {
        this.dir = dir;
    }

    /**
     * Creates the directory (and parents) and checks that a file can be written in it.
     *
     * @throws IllegalArgumentException naming the directory when it cannot be created or written
     */
    static RunDirectory create(Path dir) {
        try {
            Files.createDirectories(dir);
            Path probe = Files.createTempFile(dir, ".write-test", ".tmp");
            Files.delete(probe);
        } catch (IOException | SecurityException e) {
            throw new IllegalArgumentException("--out " + dir + " cannot be created or written: " + describe(e));
        }
        return new RunDirectory(dir);
    }

    /** An existing run directory (for reading). */
    static RunDirectory existing(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + " is not a directory");
        }
        return new RunDirectory(dir);
    }

    Path dir() {
        return dir;
    }

    Path file(String name) {
        return dir.resolve(name);
    }

    boolean has(String name) {
        return Files.exists(dir.resolve(name));
    }

    // ------------------------------------------------------------------------------------------ settings

    void writeSettings(Map<String, String> settings) throws IOException {
        Properties p = new Properties();
        p.putAll(settings);
        atomically(SETTINGS, tmp -> {
            try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                p.store(w, "regularize4j train settings; --resume continues with these");
            }
        });
    }

    Map<String, String> readSettings() throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(dir.resolve(SETTINGS), StandardCharsets.UTF_8)) {
            p.load(r);
        }
        Map<String, String> out = new TreeMap<>();
        for (String k : p.stringPropertyNames()) {
            out.put(k, p.getProperty(k));
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------ metrics

    List<Metrics> readMetrics() throws IOException {
        Path f = dir.resolve(METRICS);
        List<Metrics> rows = new ArrayList<>();
        if (!Files.exists(f)) {
            return rows;
        }
        List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        for (int i = 1; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) {
                rows.add(Metrics.parse(lines.get(i), f));
            }
        }
        return rows;
    }

    void writeMetrics(List<Metrics> rows) throws IOException {
        StringBuilder sb = new StringBuilder(CSV_HEADER).append('\n');
        for (Metrics m : rows) {
            sb.append(m.toCsv()).append('\n');
        }
        atomically(METRICS, tmp -> Files.writeString(tmp, sb.toString(), StandardCharsets.UTF_8));
    }

    void appendMetrics(Metrics row) throws IOException {
        List<Metrics> rows = readMetrics();
        rows.add(row);
        writeMetrics(rows);
    }

    // ------------------------------------------------------------------------------------------ models

    /**
     * Saves the network with its updater state (what {@code --resume} and fine-tuning need), and the model EMA's
     * state when there is one (null: none).
     */
    void writeModel(String name, ComputationGraph net, ModelEma ema) throws IOException {
        atomically(name, tmp -> {
            ModelSerializer.writeModel(net, tmp.toFile(), true);
            if (ema != null && ema.hasAverage()) {
                ema.writeTo(tmp.toFile());
            }
        });
    }

    ComputationGraph readModel(String name) throws IOException {
        return FlatGradientUpdater.install(ModelSerializer.restoreComputationGraph(dir.resolve(name).toFile(), true));
    }

    void writeText(String name, String text) throws IOException {
        atomically(name, tmp -> Files.writeString(tmp, text, StandardCharsets.UTF_8));
    }

    private interface FileWriter {
        void write(Path tmp) throws IOException;
    }

    private void atomically(String name, FileWriter writer) throws IOException {
        // not Files.createTempFile: its files are owner-only (0600); these should get the usual permissions
        Path tmp = dir.resolve("." + name + ".tmp");
        try {
            writer.write(tmp);
            Files.move(tmp, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static String describe(Exception e) {
        String name = e.getClass().getSimpleName();
        return e.getMessage() == null ? name : name + ": " + e.getMessage();
    }
}
