package org.regularize4j.ema;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.regularize4j.backend.FlatGradientUpdater;
import org.regularize4j.optim.TorchSgd;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.testutil.DoublePrecision;
import org.regularize4j.testutil.SingleThreadedNd4j;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ModelEma's arithmetic against a double-precision recomputation of timm's recurrence, on a small ResNet whose
 * batch-norm running statistics are parameters; resume from a checkpoint bit for bit; the live network untouched.
 */
@ExtendWith({DoublePrecision.class, SingleThreadedNd4j.class})
class ModelEmaTest {
    static final int STEPS = 100;

    /** A ResNet-8 (width 1/4) on 1x8x8 inputs, 3 classes, in double precision, PyTorch's SGD with Nesterov. */
    static ComputationGraph resnet() {
        return ResNet.cifar(8).widthMultiplier(0.25).inputShape(1, 8, 8).numClasses(3).dataType(DataType.DOUBLE)
                .updater(new TorchSgd(0.05, 0.9, true)).seed(5).build();
    }

    /** Batch {@code step} of a fixed synthetic data set (4 examples), the same in every run. */
    static DataSet batch(int step) {
        Nd4j.getRandom().setSeed(1000 + step);
        INDArray x = Nd4j.rand(DataType.DOUBLE, 4, 1, 8, 8);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, 4, 3);
        for (int i = 0; i < 4; i++) {
            y.putScalar(i, (step + i) % 3, 1.0);
        }
        return new DataSet(x, y);
    }

    /** timm's get_decay, written out again here. */
    static double timmDecay(long step, double decay, boolean warmup, int updateAfterStep, double minDecay) {
        long s = Math.max(0, step - updateAfterStep - 1);
        if (s <= 0) {
            return 0.0;
        }
        return warmup ? Math.max(Math.min(1 - Math.pow(1 + s, -2.0 / 3.0), decay), minDecay) : decay;
    }

    /** Records the live parameters after every step. */
    static final class Recorder extends BaseTrainingListener {
        final List<double[]> params = new ArrayList<>();

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            params.add(model.params().dup().data().asDouble());
        }
    }

    @ParameterizedTest(name = "warmup={0}, updateAfterStep={1}")
    @CsvSource({"false, 0", "true, 0", "true, 7"})
    void averageAndBatchNormStatisticsEqualTheRecurrenceInDouble(boolean warmup, int updateAfterStep) {
        double decay = 0.95;
        double minDecay = 0.1;
        ComputationGraph net = resnet();
        ModelEma ema = new ModelEma(decay).withWarmup(warmup).withUpdateAfterStep(updateAfterStep)
                .withMinDecay(minDecay);
        Recorder recorder = new Recorder();
        net.addListeners(recorder, ema);
        double[] initialStats = statistics(net);
        for (int step = 0; step < STEPS; step++) {
            net.fit(batch(step));
        }

        double[] expected = null;
        for (int k = 0; k < STEPS; k++) {
            double[] w = recorder.params.get(k);
            double d = timmDecay(k + 1, decay, warmup, updateAfterStep, minDecay);
            if (expected == null || d == 0.0) {
                expected = w.clone();
            } else {
                for (int i = 0; i < w.length; i++) {
                    expected[i] = d * expected[i] + (1 - d) * w[i];
                }
            }
        }
        double[] actual = ema.params().data().asDouble();
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < actual.length; i++) {
            assertEquals(expected[i], actual[i], 1e-14 * Math.max(1, Math.abs(expected[i])), "parameter " + i);
        }
        assertEquals(STEPS, ema.lastStep());

        // the running statistics are averaged too: the averaged network's BN mean/var are the recomputed ones
        ComputationGraph averaged = (ComputationGraph) ema.model();
        ComputationGraph recomputed = (ComputationGraph) ema.model();
        recomputed.params().assign(Nd4j.createFromArray(expected).reshape(recomputed.params().shape()));
        double[] stats = statistics(averaged);
        assertTrue(stats.length >= 8, "the ResNet has running statistics");
        assertArrayEquals(statistics(recomputed), stats, 1e-13);
        assertFalse(java.util.Arrays.equals(initialStats, stats), "the statistics moved during training");
        assertFalse(java.util.Arrays.equals(statistics(net), stats), "the average is not the live statistics");
    }

    /** Every running mean and variance of the network, in parameter order. */
    static double[] statistics(ComputationGraph net) {
        List<Double> out = new ArrayList<>();
        for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
            if (e.getKey().endsWith("Mean") || e.getKey().endsWith("Var")) {
                for (double v : e.getValue().dup().data().asDouble()) {
                    out.add(v);
                }
            }
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    @Test
    void resumeFromACheckpointAtStep50GivesTheSameAverageBitForBit(@TempDir Path dir) throws Exception {
        ComputationGraph straight = resnet();
        ModelEma straightEma = new ModelEma(0.9).withWarmup(true);
        straight.addListeners(straightEma);
        for (int step = 0; step < STEPS; step++) {
            straight.fit(batch(step));
        }

        ComputationGraph first = resnet();
        ModelEma firstEma = new ModelEma(0.9).withWarmup(true);
        first.addListeners(firstEma);
        for (int step = 0; step < 50; step++) {
            first.fit(batch(step));
        }
        File checkpoint = dir.resolve("checkpoint.zip").toFile();
        ModelSerializer.writeModel(first, checkpoint, true);
        firstEma.writeTo(checkpoint);

        ComputationGraph resumed = FlatGradientUpdater.install(ModelSerializer.restoreComputationGraph(checkpoint, true));
        ModelEma resumedEma = ModelEma.readFrom(checkpoint);
        assertTrue(resumedEma.sameSettings(firstEma));
        assertEquals(50, resumedEma.lastStep());
        resumed.addListeners(resumedEma);
        for (int step = 50; step < STEPS; step++) {
            resumed.fit(batch(step));
        }
        assertArrayEquals(straight.params().data().asDouble(), resumed.params().data().asDouble(), 0.0);
        assertArrayEquals(straightEma.params().data().asDouble(), resumedEma.params().data().asDouble(), 0.0);
        assertEquals(STEPS, resumedEma.lastStep());
    }

    @Test
    void theLiveNetworkAndItsUpdaterStateAreUntouched() {
        ComputationGraph plain = resnet();
        ComputationGraph withEma = resnet();
        withEma.addListeners(new ModelEma(0.99));
        for (int step = 0; step < 10; step++) {
            plain.fit(batch(step));
            withEma.fit(batch(step));
        }
        assertArrayEquals(plain.params().data().asDouble(), withEma.params().data().asDouble(), 0.0);
        assertArrayEquals(plain.getUpdater().getStateViewArray().data().asDouble(),
                withEma.getUpdater().getStateViewArray().data().asDouble(), 0.0);
    }

    @Test
    void decayFollowsTimm() {
        ModelEma plain = new ModelEma(0.9999);
        assertEquals(0.0, plain.decayAt(0));
        assertEquals(0.0, plain.decayAt(1));   // the first step copies the weights
        assertEquals(0.9999, plain.decayAt(2));
        ModelEma warm = new ModelEma(0.9999).withWarmup(true);
        assertEquals(1 - Math.pow(2, -2.0 / 3.0), warm.decayAt(2), 1e-15);
        assertEquals(0.999, warm.decayAt(31_624), 1e-7);   // timm: "reaches 0.999 at 31.6K steps"
        assertEquals(0.9999, warm.decayAt(2_000_000));     // clamped at decay
        ModelEma shifted = new ModelEma(0.5).withWarmup(true).withUpdateAfterStep(10).withWarmupGamma(2)
                .withWarmupPower(1);
        assertEquals(0.0, shifted.decayAt(11));
        assertEquals(1 - 1 / 1.5, shifted.decayAt(12), 1e-15);   // s = 1: 1 - (1 + 1/2)^-1
        assertEquals(0.5, shifted.decayAt(14));                  // s = 3: 0.6, clamped at decay
        ModelEma floored = new ModelEma(0.5).withWarmup(true).withWarmupPower(0.1).withMinDecay(0.2);
        assertEquals(0.2, floored.decayAt(2));                   // 1 - 2^-0.1 = 0.067, clamped at minDecay
    }

    @Test
    void multiLayerNetworkWithDl4jBatchNormalization() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(3).updater(new Adam(1e-2))
                .dataType(DataType.DOUBLE).list()
                .layer(new DenseLayer.Builder().nOut(6).activation(Activation.TANH).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new OutputLayer.Builder().nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(4)).build());
        net.init();
        ModelEma ema = new ModelEma(0.5);
        Recorder recorder = new Recorder();
        net.addListeners(recorder, ema);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, 5, 3);
        for (int i = 0; i < 5; i++) {
            y.putScalar(i, i % 3, 1.0);
        }
        for (int step = 0; step < 3; step++) {
            Nd4j.getRandom().setSeed(step);
            net.fit(new DataSet(Nd4j.rand(DataType.DOUBLE, 5, 4), y));
        }
        // step 1 copies; steps 2 and 3 halve
        INDArray w1 = Nd4j.createFromArray(recorder.params.get(0));
        INDArray w2 = Nd4j.createFromArray(recorder.params.get(1));
        INDArray w3 = Nd4j.createFromArray(recorder.params.get(2));
        INDArray expected = w1.mul(0.5).addi(w2.mul(0.5)).muli(0.5).addi(w3.mul(0.5));
        MultiLayerNetwork averaged = (MultiLayerNetwork) ema.model();
        assertEquals(net.getLayerWiseConfigurations(), averaged.getLayerWiseConfigurations());
        assertArrayEquals(expected.data().asDouble(), averaged.params().data().asDouble(), 1e-15);
        assertNotEquals(net.getParam("1_mean"), averaged.getParam("1_mean"), "BN running mean averaged");
        assertEquals(5, averaged.output(Nd4j.rand(DataType.DOUBLE, 5, 4)).size(0));
        assertTrue(averaged.getListeners() == null || averaged.getListeners().isEmpty());
    }

    @Test
    void copyToWritesTheAverageIntoANetworkOfTheSameArchitecture() {
        ComputationGraph net = resnet();
        ModelEma ema = new ModelEma(0.8);
        net.addListeners(ema);
        for (int step = 0; step < 3; step++) {
            net.fit(batch(step));
        }
        ComputationGraph other = resnet();
        assertTrue(other == ema.copyTo(other));
        assertArrayEquals(ema.params().data().asDouble(), other.params().data().asDouble(), 0.0);
        assertArrayEquals(((ComputationGraph) ema.model()).params().data().asDouble(),
                other.params().data().asDouble(), 0.0);
    }

    @Test
    void badInputIsRejectedWithItsRange(@TempDir Path dir) throws Exception {
        assertEquals("decay must be in [0, 1], got 1.5",
                assertThrows(IllegalArgumentException.class, () -> new ModelEma(1.5)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ModelEma(Double.NaN));
        assertEquals("minDecay must be in [0, decay] = [0, 0.9], got 0.95", assertThrows(IllegalArgumentException.class,
                () -> new ModelEma(0.9).withMinDecay(0.95)).getMessage());
        assertEquals("warmupGamma must be finite and > 0, got 0.0", assertThrows(IllegalArgumentException.class,
                () -> new ModelEma(0.9).withWarmupGamma(0)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ModelEma(0.9).withWarmupPower(-1));
        assertEquals("updateAfterStep must be >= 0, got -1", assertThrows(IllegalArgumentException.class,
                () -> new ModelEma(0.9).withUpdateAfterStep(-1)).getMessage());
        assertEquals("step must be >= 0, got -1",
                assertThrows(IllegalArgumentException.class, () -> new ModelEma(0.9).decayAt(-1)).getMessage());
        ModelEma fresh = new ModelEma(0.9);
        assertThrows(IllegalStateException.class, fresh::params);
        assertThrows(IllegalStateException.class, fresh::model);

        ComputationGraph net = resnet();
        ModelEma ema = new ModelEma(0.9);
        net.addListeners(ema);
        net.fit(batch(0));
        assertThrows(IllegalStateException.class, () -> ema.withWarmup(true));
        MultiLayerNetwork small = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new OutputLayer.Builder().nIn(2).nOut(2).activation(Activation.SOFTMAX).build()).build());
        small.init();
        assertTrue(assertThrows(IllegalStateException.class, () -> ema.copyTo(small)).getMessage()
                .contains("use one ModelEma per network"));

        File zip = dir.resolve("plain.zip").toFile();
        ModelSerializer.writeModel(net, zip, false);
        assertFalse(ModelEma.isIn(zip));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelEma.readFrom(zip)).getMessage()
                .contains("holds no model EMA"));
    }
}
