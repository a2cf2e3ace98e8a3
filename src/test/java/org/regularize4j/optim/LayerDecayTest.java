package org.regularize4j.optim;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.AdaDelta;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.linalg.schedule.StepSchedule;
import org.regularize4j.backend.FlatGradientUpdater;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.testutil.DoublePrecision;
import org.regularize4j.testutil.SingleThreadedNd4j;

import java.io.File;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LayerDecay: the depth/multiplier tables of a ResNet-20 and of a hand-built graph, one step per layer equal to
 * {@code lr · multiplier} times the plain step (bit for bit with multipliers that are powers of 2, in double),
 * idempotence, and JSON / ModelSerializer / TransferLearning round trips.
 */
@ExtendWith({DoublePrecision.class, SingleThreadedNd4j.class})
class LayerDecayTest {

    @Test
    void resnet20Table() {
        ComputationGraphConfiguration conf = ResNet.cifar(20).inputShape(1, 28, 28).numClasses(10)
                .updater(new TorchSgd(0.1, 0.9, true)).conf();
        LayerDecay decay = LayerDecay.of(0.7);
        Map<String, Integer> expected = new LinkedHashMap<>();
        expected.put("stem", 0);
        int d = 1;
        for (int s = 1; s <= 3; s++) {
            for (int b = 1; b <= 3; b++) {
                expected.put("stage" + s + ".block" + b, d++);
            }
        }
        expected.put("fc", 10);
        assertEquals(expected, decay.depths(conf));   // "pool" has no parameters
        Map<String, Double> m = decay.multipliers(conf);
        for (Map.Entry<String, Integer> e : expected.entrySet()) {
            assertEquals(Math.pow(0.7, 10 - e.getValue()), m.get(e.getKey()), 0.0, e.getKey());
        }
        decay.applyTo(conf);
        assertEquals(m, LayerDecay.multipliersIn(conf));
        assertEquals(0.1 * Math.pow(0.7, 10), layer(conf, "stem").getIUpdater().getLearningRate(0, 0), 1e-17);
        assertEquals(new TorchSgd(0.1, 0.9, true), layer(conf, "fc").getIUpdater());   // the head keeps the plain one
        String table = decay.describe(conf);
        assertTrue(table.contains("layer decay 0.7, L = 10"), table);
        assertTrue(table.matches("(?s).*stage2\\.block1\\s+ResidualBlock\\s+4\\s+0\\.1176\\s+0\\.01176\\n.*"), table);
        // ImageNet-style: stem.pool has no parameters; 8 blocks; fc at 9
        Map<String, Integer> r18 = LayerDecay.of(0.7).depths(ResNet.imagenet(18).inputShape(3, 32, 32).conf());
        assertEquals(0, r18.get("stem"));
        assertEquals(8, r18.get("stage4.block2"));
        assertEquals(9, r18.get("fc"));
        assertTrue(!r18.containsKey("stem.pool"));
    }

    static BaseLayer layer(ComputationGraphConfiguration conf, String name) {
        return (BaseLayer) ((LayerVertex) conf.getVertices().get(name)).getLayerConf().getLayer();
    }

    /** in -> a -> (b, c) -> add -> bn -> out, with c added to the configuration before b. */
    static ComputationGraphConfiguration handBuilt(IUpdater updater) {
        return new NeuralNetConfiguration.Builder().seed(4).updater(updater).dataType(DataType.DOUBLE)
                .graphBuilder().addInputs("in").setInputTypes(InputType.feedForward(3))
                .addLayer("a", new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build(), "in")
                .addLayer("c", new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build(), "a")
                .addLayer("b", new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build(), "a")
                .addVertex("add", new ElementWiseVertex(ElementWiseVertex.Op.Add), "b", "c")
                .addLayer("bn", new BatchNormalization.Builder().build(), "add")
                .addLayer("out", new OutputLayer.Builder().nOut(2).activation(Activation.SOFTMAX).build(), "bn")
                .setOutputs("out").build();
    }

    @Test
    void handBuiltGraphTable() {
        ComputationGraphConfiguration conf = handBuilt(new Sgd(0.1));
        Map<String, Integer> expected = new LinkedHashMap<>();
        expected.put("a", 0);
        expected.put("c", 1);   // ready at the same time as b, and added first
        expected.put("b", 2);
        expected.put("bn", 3);
        expected.put("out", 4);
        assertEquals(expected, LayerDecay.of(0.5).depths(conf));
        assertEquals(List.of(1 / 16.0, 1 / 8.0, 1 / 4.0, 1 / 2.0, 1.0),
                List.copyOf(LayerDecay.of(0.5).multipliers(conf).values()));
        // overrides: b and c as one group, bn with them
        LayerDecay grouped = LayerDecay.of(0.5).withDepth("b", 1).withDepths(Map.of("bn", 1, "out", 2));
        assertEquals(Map.of("a", 0, "b", 1, "c", 1, "bn", 1, "out", 2), grouped.depths(conf));
        assertEquals(0.25, grouped.multipliers(conf).get("a"));
        String table = grouped.describe(conf);
        assertTrue(table.contains("L = 2") && table.matches("(?s).*\\nbn\\s+BatchNormalization\\s+1\\s+0\\.5000\\s+0\\.05000\\n.*"),
                table);
    }

    /** The updates of one step for the same gradient, without and with layer decay, flat. */
    static INDArray[] updates(ComputationGraph plain, ComputationGraph decayed, DataSet ds) {
        INDArray[] out = new INDArray[2];
        ComputationGraph[] nets = {plain, decayed};
        for (int i = 0; i < 2; i++) {
            nets[i].setInputs(ds.getFeatures());
            nets[i].setLabels(ds.getLabels());
            nets[i].computeGradientAndScore();
            Gradient g = nets[i].gradient();
            nets[i].getUpdater().update(g, 0, 0, (int) ds.numExamples(), LayerWorkspaceMgr.noWorkspaces());
            out[i] = g.gradient().dup();
        }
        return out;
    }

    static DataSet data() {
        Nd4j.getRandom().setSeed(8);
        INDArray x = Nd4j.rand(DataType.DOUBLE, 5, 3).subi(0.5);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, 5, 2);
        for (int i = 0; i < 5; i++) {
            y.putScalar(i, i % 2, 1.0);
        }
        return new DataSet(x, y);
    }

    /** Each layer's slice of the flat update: decayed == multiplier * plain. */
    static void assertScaled(ComputationGraph net, INDArray plain, INDArray decayed, Map<String, Double> m,
                             double relTol) {
        long offset = 0;
        for (org.deeplearning4j.nn.api.Layer l : net.getLayers()) {
            String name = l.conf().getLayer().getLayerName();
            for (Map.Entry<String, INDArray> p : l.paramTable().entrySet()) {
                long n = p.getValue().length();
                // running statistics (NoOp updater, pseudo-gradients) are not scaled
                double factor = l.conf().getLayer().getUpdaterByParam(p.getKey()) instanceof NoOp ? 1.0 : m.get(name);
                assertScaled(name + " " + p.getKey(), plain, decayed, offset, n, factor, relTol, 0.0);
                offset += n;
            }
        }
    }

    static void assertScaled(String what, INDArray plain, INDArray decayed, long offset, long n, double factor,
                             double relTol, double absTol) {
        for (long i = offset; i < offset + n; i++) {
            double expected = factor * plain.getDouble(i);
            assertEquals(expected, decayed.getDouble(i), relTol * Math.abs(expected) + absTol,
                    what + " element " + (i - offset));
        }
    }

    @Test
    void oneStepPerLayerIsLrTimesMultiplierTimesThePlainStep() {
        DataSet ds = data();
        // decay 0.5: multipliers are powers of 2, so the scaled updates are exact, bit for bit
        for (IUpdater u : List.of(new Sgd(0.1), new TorchSgd(0.1, 0.9, true), new TorchSgd(
                new StepSchedule(ScheduleType.ITERATION, 0.3, 0.5, 1), 0.0, false), new Adam(0.01),
                new TorchAdam(0.01))) {
            ComputationGraph plain = new ComputationGraph(handBuilt(u));
            plain.init();
            ComputationGraph decayed = new ComputationGraph(handBuilt(u));
            decayed.init();
            LayerDecay.of(0.5).applyTo(decayed);
            INDArray[] step = updates(plain, decayed, ds);
            assertTrue(step[0].amaxNumber().doubleValue() > 0);
            assertScaled(plain, step[0], step[1], LayerDecay.of(0.5).multipliers(decayed.getConfiguration()), 0.0);
        }
        // any decay: equal to rounding
        ComputationGraph plain = new ComputationGraph(handBuilt(new TorchSgd(0.1, 0.9, true)));
        plain.init();
        ComputationGraph decayed = new ComputationGraph(handBuilt(new TorchSgd(0.1, 0.9, true)));
        decayed.init();
        LayerDecay.of(0.65).applyTo(decayed);
        INDArray[] step = updates(plain, decayed, ds);
        assertScaled(plain, step[0], step[1], LayerDecay.of(0.65).multipliers(decayed.getConfiguration()), 1e-15);
    }

    @Test
    void fitOnTheBuildersResNetStepsEachBlockByItsMultiplier() {
        ComputationGraph plain = ResNet.cifar(8).widthMultiplier(0.25).inputShape(1, 8, 8).numClasses(3)
                .dataType(DataType.DOUBLE).updater(new TorchSgd(0.05, 0.9, true)).seed(2).build();
        ComputationGraph decayed = ResNet.cifar(8).widthMultiplier(0.25).inputShape(1, 8, 8).numClasses(3)
                .dataType(DataType.DOUBLE).updater(new TorchSgd(0.05, 0.9, true)).seed(2).build();
        LayerDecay.of(0.5).applyTo(decayed);
        assertInstanceOf(FlatGradientUpdater.class, decayed.getUpdater(), "the updater class is kept");
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.rand(DataType.DOUBLE, 4, 1, 8, 8);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, 4, 3);
        for (int i = 0; i < 4; i++) {
            y.putScalar(i, i % 3, 1.0);
        }
        INDArray p0 = plain.params().dup();
        plain.fit(new DataSet(x, y));
        decayed.fit(new DataSet(x, y));
        INDArray plainStep = p0.sub(plain.params());
        INDArray decayedStep = p0.sub(decayed.params());
        // the running statistics (NoOp updater, pseudo-gradients) move alike in both; the trained parameters scale
        Map<String, Double> m = LayerDecay.multipliersIn(decayed.getConfiguration());
        assertEquals(0.0625, m.get("stem"));   // 3 blocks: L = 4
        assertEquals(0.5, m.get("stage3.block1"));
        long offset = 0;
        for (org.deeplearning4j.nn.api.Layer l : decayed.getLayers()) {
            String name = l.conf().getLayer().getLayerName();
            for (Map.Entry<String, INDArray> p : l.paramTable().entrySet()) {
                long n = p.getValue().length();
                boolean statistic = p.getKey().endsWith("Mean") || p.getKey().endsWith("Var");
                // steps are differences of parameters: each carries the rounding of p0 - step (an ulp of p0)
                assertScaled(name + " " + p.getKey(), plainStep, decayedStep, offset, n, statistic ? 1.0 : m.get(name),
                        1e-12, 1e-15);
                offset += n;
            }
        }
    }

    @Test
    void applyingTwiceIsApplyingOnce() {
        ComputationGraphConfiguration once = LayerDecay.of(0.5).applyTo(handBuilt(new TorchAdam(1e-3)));
        ComputationGraphConfiguration twice = LayerDecay.of(0.5).applyTo(LayerDecay.of(0.5).applyTo(
                handBuilt(new TorchAdam(1e-3))));
        assertEquals(once, twice);
        ComputationGraphConfiguration changed = LayerDecay.of(0.5).applyTo(LayerDecay.of(0.3).applyTo(
                handBuilt(new TorchAdam(1e-3))));
        assertEquals(once, changed);
        assertEquals(LayerDecay.of(0.5).multipliers(once), LayerDecay.multipliersIn(twice));
        ComputationGraphConfiguration undone = LayerDecay.of(1.0).applyTo(once.clone());
        assertEquals(handBuilt(new TorchAdam(1e-3)), undone);
        // on a network too
        ComputationGraph net = new ComputationGraph(handBuilt(new Sgd(0.1)));
        net.init();
        LayerDecay.of(0.5).applyTo(LayerDecay.of(0.5).applyTo(net));
        assertEquals(updaters(LayerDecay.of(0.5).applyTo(handBuilt(new Sgd(0.1)))), updaters(net.getConfiguration()));
    }

    static Map<String, IUpdater> updaters(ComputationGraphConfiguration conf) {
        Map<String, IUpdater> out = new LinkedHashMap<>();
        for (String name : List.of("a", "b", "c", "bn", "out")) {
            out.put(name, layer(conf, name).getIUpdater());
        }
        return out;
    }

    @Test
    void jsonModelSerializerAndTransferLearningKeepTheMultipliers(@TempDir Path dir) throws Exception {
        ComputationGraphConfiguration conf = LayerDecay.of(0.6).applyTo(handBuilt(
                new TorchSgd(new StepSchedule(ScheduleType.EPOCH, 0.1, 0.1, 5), 0.9, true)));
        Map<String, Double> m = LayerDecay.multipliersIn(conf);
        assertEquals(LayerDecay.of(0.6).multipliers(conf), m);
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
        assertEquals(conf, back);
        assertEquals(m, LayerDecay.multipliersIn(back));
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.ObjectOutputStream o = new java.io.ObjectOutputStream(bytes)) {
            o.writeObject(conf);
        }
        try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(
                new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals(conf, in.readObject(), "Java serialization");
        }

        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        DataSet ds = data();
        net.fit(ds);
        File f = dir.resolve("net.zip").toFile();
        ModelSerializer.writeModel(net, f, true);
        ComputationGraph restored = ModelSerializer.restoreComputationGraph(f, true);
        assertEquals(net.getConfiguration(), restored.getConfiguration());
        assertEquals(m, LayerDecay.multipliersIn(restored.getConfiguration()));
        net.fit(ds);
        restored.fit(ds);
        assertArrayEquals(net.params().data().asDouble(), restored.params().data().asDouble(), 0.0);

        // TransferLearning keeps the kept layers' multipliers; the new head gets the plain updater until reapplied
        ComputationGraph transferred = new TransferLearning.GraphBuilder(restored)
                .removeVertexAndConnections("out")
                .addLayer("out", new OutputLayer.Builder().nIn(4).nOut(5).activation(Activation.SOFTMAX).build(), "bn")
                .setOutputs("out").build();
        Map<String, Double> kept = LayerDecay.multipliersIn(transferred.getConfiguration());
        assertEquals(m.get("a"), kept.get("a"));
        assertEquals(m.get("bn"), kept.get("bn"));
        assertEquals(1.0, kept.get("out"));
        LayerDecay.of(0.6).applyTo(transferred);
        assertEquals(m, LayerDecay.multipliersIn(transferred.getConfiguration()));
        transferred.fit(new DataSet(ds.getFeatures(), Nd4j.zeros(DataType.DOUBLE, 5, 5).putScalar(0, 1, 1.0)));
    }

    @Test
    void multiLayerNetwork() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().updater(new Sgd(0.2)).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(4).build())
                .layer(new DenseLayer.Builder().nIn(4).nOut(4).build())
                .layer(new OutputLayer.Builder().nIn(4).nOut(2).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        LayerDecay.of(0.5).applyTo(net);
        assertEquals(Map.of("layer0", 0.25, "layer1", 0.5, "layer2", 1.0),
                LayerDecay.multipliersIn(net.getLayerWiseConfigurations()));
        assertEquals(0.05, ((BaseLayer) net.getLayer(0).conf().getLayer()).getIUpdater().getLearningRate(0, 0), 1e-17);
    }

    @Test
    void badInputIsRejected() {
        assertEquals("decay must be in (0, 1], got 0.0",
                assertThrows(IllegalArgumentException.class, () -> LayerDecay.of(0)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> LayerDecay.of(1.5));
        assertThrows(IllegalArgumentException.class, () -> LayerDecay.of(Double.NaN));
        assertEquals("depth must be >= 0, got -1",
                assertThrows(IllegalArgumentException.class, () -> LayerDecay.of(0.5).withDepth("a", -1)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LayerDecay.of(0.5).withDepth("nope", 1)
                .depths(handBuilt(new Sgd(0.1)))).getMessage().contains("has no such layer"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LayerDecay.of(0.5)
                .applyTo(handBuilt(new AdaDelta()))).getMessage().contains("has no learning rate"));
        ComputationGraph trained = new ComputationGraph(handBuilt(new TorchSgd(0.1, 0.9, false)));
        trained.init();
        trained.fit(data());
        assertTrue(assertThrows(IllegalStateException.class, () -> LayerDecay.of(0.5).applyTo(trained)).getMessage()
                .contains("before training"));
        assertThrows(IllegalArgumentException.class, () -> new LayerLrSchedule(new Sgd(0.1), 0));
        assertThrows(IllegalArgumentException.class, () -> new LayerLrSchedule(new AdaDelta(), 0.5));
    }
}
