package org.regularize4j.cli;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.jfree.chart.JFreeChart;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.regularize4j.data.FashionMnist;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.testutil.JavadocExamples;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every usage example in the Javadoc of org.regularize4j.cli, copied verbatim, compiled and run. */
class JavadocExamplesTest {

    @Test
    void trainAndEvaluate() throws IOException {
        Path run = Files.createTempDirectory("run");
        int exitCode = Main.run("train", "--model", "resnet8", "--epochs", "1", "--train-per-class", "5",
                "--out", run.toString());
        assertEquals(0, exitCode);
        // run: the --out directory of a finished train run
        int status = Main.run("evaluate", run.resolve("model.zip").toString(), "--data", "bundled", "--split", "test");
        assertEquals(0, status);
    }

    @Test
    void compare() throws IOException {
        Path runs = Files.createTempDirectory("runs");
        CompareCommandTest.fakeRun(runs.resolve("none/seed1"), Map.of("drop-path", "0.0"), 0.8, 0.85);
        CompareCommandTest.fakeRun(runs.resolve("decay/seed1"), Map.of("drop-path", "0.0"), 0.8, 0.87);
        // runs: a directory with none/seed1, none/seed2, ..., decay/seed1, ... (as scripts/results makes them)
        int exitCode = Main.run("compare", runs.resolve("none").toString(), runs.resolve("decay").toString(),
                "--out", runs.resolve("results.png").toString());
        assertEquals(0, exitCode);
        assertTrue(Files.exists(runs.resolve("results.png")));
    }

    @Test
    void bench() {
        int exitCode = Main.run("bench", "--model", "resnet20", "--batch", "8", "--iters", "2", "--warmup", "1");
        assertEquals(0, exitCode);
    }

    @Test
    void quickstart() {
        int exitCode = Main.run("quickstart", "--blocks", "2", "--epochs", "3");
        assertEquals(0, exitCode);
    }

    @Test
    void main() {
        int exitCode = Main.run("quickstart", "--epochs", "5");
        assertEquals(0, exitCode);
    }

    @Test
    void charts() throws IOException {
        double[] epochs = {1, 2, 3};
        JFreeChart curves = Charts.lineChart("Learning curve", "epoch", "accuracy", List.of(
                Charts.Series.of("train", epochs, new double[] {0.70, 0.80, 0.85}),
                Charts.Series.withBand("test", epochs, new double[] {0.72, 0.79, 0.83},
                        new double[] {0.70, 0.78, 0.82}, new double[] {0.74, 0.80, 0.84})));
        Path png = Files.createTempFile("curves", ".png");
        Charts.writePng(curves, png, 800, 500);

        Map<String, Map<String, Double>> imgPerS = new LinkedHashMap<>();
        imgPerS.put("regularize4j", Map.of("resnet20", 520.0));
        imgPerS.put("PyTorch", Map.of("resnet20", 850.0));
        Charts.writePng(Charts.groupedBarChart("Training speed", "model", "images/s", imgPerS), png, 800, 500);

        BufferedImage matrix = Charts.confusionMatrix("Confusion matrix", List.of("cat", "dog"),
                new int[][] {{48, 2}, {5, 45}});
        Charts.writePng(matrix, png);
        assertTrue(Files.size(png) > 1000);
        Files.delete(png);

        Charts.Series s = Charts.Series.of("loss", new double[] {1, 2}, new double[] {0.9, 0.5});
        Charts.Panel loss = new Charts.Panel("loss", List.of(
                Charts.Series.of("train", new double[] {1, 2}, new double[] {0.9, 0.5})));
        assertEquals("loss", s.name());
        assertEquals(1, loss.series().size());
    }

    @Test
    void cosineSchedule() {
        ISchedule lr = new CosineSchedule(ScheduleType.ITERATION, 0.1, 0.0, 1000);
        double start = lr.valueAt(0, 0);      // 0.1
        double middle = lr.valueAt(500, 0);   // 0.05
        double end = lr.valueAt(1000, 0);     // 0.0
        assertEquals(0.1, start, 1e-15);
        assertEquals(0.05, middle, 1e-15);
        assertEquals(0.0, end, 1e-15);
    }

    @Test
    void progress() {
        try (TrainingProgress bar = TrainingProgress.start("epoch 1/3", 1000, System.out)) {
            for (int done = 0; done < 1000; done += 100) {
                bar.advance(100, "loss 0.41");
            }
        }
    }

    @Test
    void internals() throws IOException {
        FashionMnist test = DataSources.load("bundled", FashionMnist.Split.TEST);
        assertEquals(2000, test.size());

        ComputationGraph net = ResNet.cifar(8).inputShape(1, 28, 28).seed(1).build();
        DataSet batch = test.iterator(16).next();
        BatchStatsListener stats = BatchStatsListener.forNet(net);
        net.addListeners(stats);
        net.fit(batch);
        double[] lossAndCorrect = stats.lossAndCorrect(batch.getLabels());   // {mean data loss, correct examples}
        assertTrue(lossAndCorrect[0] > 0 && lossAndCorrect[1] >= 0 && lossAndCorrect[1] <= 16);

        Evaluator.Result r = Evaluator.evaluate(net, FashionMnist.bundled(FashionMnist.Split.TEST).iterator(256));
        double accuracy = r.accuracy();
        assertEquals(2000, r.examples());
        assertTrue(accuracy >= 0 && accuracy <= 1);

        String line = new JsonLine().put("model", "resnet20").put("test_accuracy", 0.91234, "%.4f").put("epochs", 15)
                .toString();   // {"model": "resnet20", "test_accuracy": 0.9123, "epochs": 15}
        assertEquals("{\"model\": \"resnet20\", \"test_accuracy\": 0.9123, \"epochs\": 15}", line);

        RunDirectory run = RunDirectory.create(Files.createTempDirectory("run"));
        run.appendMetrics(new RunDirectory.Metrics(1, 0.7, 0.75, 0.5, 0.81, 0.1, 12.3, 650, 0.02));
        assertEquals(1, run.readMetrics().size());
    }

    @Test
    void models() {
        ResNet r = Models.resnet("resnet20");
        DepthSchedule s = Models.schedule("linear", 0.5);
        assertEquals(9, r.numBlocks());
        assertEquals(0.5, s.dropProb(8, 9), 1e-15);
    }

    @Test
    void fineTuning() {
        int[] classes = FineTuning.parseClasses("0,1,2,3,4,5,6,7");
        double[] alphaBeta = FineTuning.parseL2sp("0.1");   // {0.1, 0.01}: beta defaults to the paper's 0.01

        assertEquals(8, classes.length);
        assertEquals(0.01, alphaBeta[1], 0.0);
    }

    @Test
    void recipe() {
        DataSet batch = new DataSet(org.nd4j.linalg.factory.Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 4, 1,
                28, 28), org.nd4j.linalg.factory.Nd4j.eye(10).getRows(0, 1, 2, 3));
        Recipe recipe = new Recipe(0.8, 1.0, 1.0, 0.5, 0.25, 10, 1L);
        DataSet mixed = recipe.apply(batch, 0);   // erased, then mixed; labels soft
        assertTrue(recipe.isActive());
        assertEquals(1.0, mixed.getLabels().getRow(0).sumNumber().doubleValue(), 1e-5);
    }

    @Test
    void everyExampleIsCopiedHereVerbatim() throws IOException {
        JavadocExamples.assertCopiedVerbatim("src/main/java/org/regularize4j/cli",
                "src/test/java/org/regularize4j/cli/JavadocExamplesTest.java", 15);
    }
}
