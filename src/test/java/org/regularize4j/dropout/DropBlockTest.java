package org.regularize4j.dropout;

import org.regularize4j.testutil.JavaSerialization;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.schedule.MapSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

import java.io.File;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** DropBlock as a DL4J IDropout: forward/backward, schedule, inference, streams, round trips and bad input. */
class DropBlockTest {
    private static final LayerWorkspaceMgr NO_WS = LayerWorkspaceMgr.noWorkspaces();

    @Test
    void forwardMasksAndBackwardReusesTheMask() {
        DropBlock db = new DropBlock(0.3, 3);
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 3, 8, 8).addi(0.5);
        INDArray out = db.applyDropout(x, x.ulike(), 2, 0, NO_WS);
        INDArray mask = db.getLastMask();
        assertEquals(DropBlockMask.create(db, 0.3, x.shape(), false, 0L, 2, 0, 0, DataType.FLOAT), mask);
        assertEquals(x.mul(mask), out);
        INDArray g = Nd4j.rand(DataType.FLOAT, 4, 3, 8, 8);
        INDArray dx = db.backprop(g, g.ulike(), 2, 0);
        assertEquals(g.mul(mask), dx);
        assertNull(db.getLastMask(), "the mask is cleared by the backward pass, as IDropout asks");
        assertThrows(IllegalStateException.class, () -> db.backprop(g, g.ulike(), 2, 0));
    }

    @Test
    void scheduleDrivesTheDropProbabilityAndZeroIsTheIdentity() {
        DropBlock db = new DropBlock(0.5, 3).withSchedule(new LinearRampSchedule(ScheduleType.ITERATION, 0.0, 0.2, 10));
        assertEquals(0.0, db.dropProbAt(0, 0));
        assertEquals(0.1, db.dropProbAt(5, 0), 1e-15);
        assertEquals(0.2, db.dropProbAt(50, 3), 1e-15);
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 6, 6);
        INDArray out = db.applyDropout(x, x.ulike(), 0, 0, NO_WS);   // dropProb 0 at iteration 0
        assertEquals(x, out);
        INDArray g = Nd4j.rand(DataType.FLOAT, 2, 3, 6, 6);
        assertEquals(g, db.backprop(g, g.ulike(), 0, 0));
        INDArray later = db.applyDropout(x, x.ulike(), 50, 3, NO_WS);
        assertEquals(DropBlockMask.create(db, 0.2, x.shape(), false, 0L, 50, 3, 0, DataType.FLOAT), db.getLastMask());
        assertEquals(x.mul(db.getLastMask()), later);

        DropBlock bad = new DropBlock(0.1, 3).withSchedule(new MapSchedule(ScheduleType.ITERATION,
                java.util.Map.of(0, 0.1, 5, 1.5)));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> bad.dropProbAt(6, 0));
        assertTrue(e.getMessage().startsWith("DropBlock's dropProb schedule must give values in [0, 1], got 1.5 at"
                + " iteration 6"), e.getMessage());
    }

    @Test
    void nhwcDropsTheSameLogicalBlocks() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 3, 4, 7, 9);
        DropBlock nchw = new DropBlock(0.3, 3);
        DropBlock nhwc = new DropBlock(0.3, 3).withDataFormat(CNN2DFormat.NHWC);
        INDArray a = nchw.applyDropout(x, x.ulike(), 1, 0, NO_WS);
        INDArray xh = x.permute(0, 2, 3, 1).dup('c');
        INDArray b = nhwc.applyDropout(xh, xh.ulike(), 1, 0, NO_WS);
        assertEquals(a, b.permute(0, 3, 1, 2));
    }

    @Test
    void identityAtInferenceAndActiveInTraining() {
        ComputationGraph with = DropBlockNets.net(new DropBlock(0.3, 3), CNN2DFormat.NCHW, 3, DataType.FLOAT);
        ComputationGraphConfiguration plain = DropBlockNets.conf(new DropBlock(0.0, 3), CNN2DFormat.NCHW, 3,
                DataType.FLOAT);
        ComputationGraph without = new ComputationGraph(plain);
        without.init(with.params().dup(), false);
        INDArray x = DropBlockNets.features(6, CNN2DFormat.NCHW, 1, DataType.FLOAT);
        assertEquals(without.outputSingle(false, x), with.outputSingle(false, x));
        assertEquals(without.outputSingle(true, x), without.outputSingle(false, x));
        assertNotEquals(without.outputSingle(true, x), with.outputSingle(true, x));
        // a training step runs forward and backward through both DropBlocks
        with.setListeners();
        with.fit(new DataSet(x, DropBlockNets.labels(6, DataType.FLOAT)));
        assertEquals(1, with.getConfiguration().getIterationCount());
    }

    @Test
    void seedPerLayerGivesEachLayerItsOwnStream() {
        ComputationGraphConfiguration conf = DropBlockNets.conf(new DropBlock(0.2, 3), CNN2DFormat.NCHW, 77,
                DataType.FLOAT);
        List<String> stamped = DropBlock.seedPerLayer(conf);
        assertEquals(List.of("drop", "conv2"), stamped);
        DropBlock a = dropBlockOf(conf, "drop");
        DropBlock b = dropBlockOf(conf, "conv2");
        assertEquals(77L, a.getSeed());
        assertEquals(77L, b.getSeed());
        assertNotEquals(a.getStreamIndex(), b.getStreamIndex());

        MultiLayerConfiguration mlc = new NeuralNetConfiguration.Builder().seed(5).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(2).build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(2).dropOut(new DropBlock(0.1, 3)).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(8, 8, 1)).build();
        assertEquals(List.of("layer1"), DropBlock.seedPerLayer(mlc));
        DropBlock c = (DropBlock) mlc.getConf(1).getLayer().getIDropout();
        assertEquals(new DropBlock(0.1, 3).withSeed(5).withStreamIndex(1), c);
    }

    @Test
    void anInstanceSharedByTwoLayersIsAClearErrorNotASilentlyWrongMask() {
        DropBlock shared = new DropBlock(0.2, 3);
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(2).dropOut(shared).build())
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(2).dropOut(shared).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(9, 9, 1)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        DataSet ds = new DataSet(Nd4j.rand(DataType.FLOAT, 2, 1, 9, 9), Nd4j.eye(2).castTo(DataType.FLOAT));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> net.fit(ds));
        assertTrue(e.getMessage().contains("shared by several layers"), e.getMessage());
    }

    @Test
    void rank2InputIsRejectedNamingTheArgument() {
        DropBlock db = new DropBlock(0.1, 3);
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 10);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> db.applyDropout(x, x.ulike(), 0, 0, NO_WS));
        assertEquals("DropBlock's inputActivations must have rank 4 ([minibatch, channels, height, width]), got rank 2"
                + " with shape [8, 10]: use it on convolutional layers, whose input is a feature map", e.getMessage());
        // in a network: a dense layer's input is flattened, so DropBlock there fails on the first training pass
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().nIn(10).nOut(4).dropOut(new DropBlock(0.1, 3)).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(4).nOut(2)
                        .activation(Activation.SOFTMAX).build()).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        IllegalArgumentException inNet = assertThrows(IllegalArgumentException.class, () -> net.output(x, true));
        assertTrue(inNet.getMessage().contains("got rank 2 with shape [8, 10]"), inNet.getMessage());
    }

    @Test
    void badArguments() {
        assertEquals("dropProb must be in [0, 1], got 1.5", assertThrows(IllegalArgumentException.class,
                () -> new DropBlock(1.5, 3)).getMessage());
        assertEquals("dropProb must be in [0, 1], got -0.1", assertThrows(IllegalArgumentException.class,
                () -> new DropBlock(-0.1, 3)).getMessage());
        assertEquals("dropProb must be in [0, 1], got NaN", assertThrows(IllegalArgumentException.class,
                () -> new DropBlock(Double.NaN, 3)).getMessage());
        assertEquals("blockSize must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> new DropBlock(0.1, 0)).getMessage());
        assertEquals("gammaScale must be finite and >= 0, got -0.5", assertThrows(IllegalArgumentException.class,
                () -> new DropBlock(0.1, 3).withGammaScale(-0.5)).getMessage());
        assertEquals("dataFormat must not be null", assertThrows(IllegalArgumentException.class,
                () -> new DropBlock(0.1, 3).withDataFormat(null)).getMessage());
        assertEquals("steps must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> new LinearRampSchedule(ScheduleType.ITERATION, 0, 0.1, 0)).getMessage());
    }

    @Test
    void linearRamp() {
        LinearRampSchedule epochs = new LinearRampSchedule(ScheduleType.EPOCH, 0.0, 0.3, 3);
        assertEquals(0.0, epochs.valueAt(100, 0));
        assertEquals(0.2, epochs.valueAt(0, 2), 1e-15);
        assertEquals(0.3, epochs.valueAt(0, 9));
        assertEquals(epochs, epochs.clone());
        assertNotEquals(epochs, new LinearRampSchedule(ScheduleType.ITERATION, 0.0, 0.3, 3));
    }

    /**
     * JSON, Java-serialization and ModelSerializer round trips of a network whose DropBlocks use every option: the
     * configuration is equal afterwards (DL4J's JSON mapper ignores unknown properties, so a field that did not
     * round-trip would silently reset), and the restored network draws the same masks.
     */
    @Test
    void roundTripsInsideANetwork(@TempDir Path dir) throws Exception {
        DropBlock full = new DropBlock(0.25, 3).withGammaScale(0.5).withBatchwise(true).withFast(true)
                .withSchedule(new LinearRampSchedule(ScheduleType.ITERATION, 0.0, 0.25, 100)).withSeed(9)
                .withStreamIndex(4);
        for (CNN2DFormat format : CNN2DFormat.values()) {
            ComputationGraphConfiguration conf = DropBlockNets.conf(full, format, 3, DataType.FLOAT);
            String json = conf.toJson();
            assertTrue(json.contains("\"@class\" : \"org.regularize4j.dropout.DropBlock\""), json);
            assertTrue(json.contains("org.regularize4j.dropout.LinearRampSchedule"), json);
            ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(json);
            assertEquals(conf, back);
            assertEquals(full.withDataFormat(format), dropBlockOf(back, "drop"));

            assertEquals(conf, JavaSerialization.roundTrip(conf));

            ComputationGraph net = new ComputationGraph(conf);
            net.init();
            INDArray x = DropBlockNets.features(4, format, 2, DataType.FLOAT);
            DataSet ds = new DataSet(x, DropBlockNets.labels(4, DataType.FLOAT));
            net.setListeners();
            for (int i = 0; i < 60; i++) {
                net.fit(ds);
            }
            File f = dir.resolve("net-" + format + ".zip").toFile();
            ModelSerializer.writeModel(net, f, true);
            ComputationGraph restored = ModelSerializer.restoreComputationGraph(f, true);
            assertEquals(net.getConfiguration(), restored.getConfiguration());
            net.feedForward(new INDArray[] {x}, true, false);
            restored.feedForward(new INDArray[] {x}, true, false);
            assertEquals(DropBlockNets.of(net, "drop").getLastMask(), DropBlockNets.of(restored, "drop").getLastMask());
            net.fit(ds);
            restored.fit(ds);
            assertEquals(net.params(), restored.params());
        }
        // MultiLayerNetwork configuration
        MultiLayerConfiguration mlc = new NeuralNetConfiguration.Builder().updater(new Sgd(0.1)).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(2).dropOut(full).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(6, 6, 1)).build();
        assertEquals(mlc, MultiLayerConfiguration.fromJson(mlc.toJson()));
    }

    private static DropBlock dropBlockOf(ComputationGraphConfiguration conf, String layer) {
        return (DropBlock) ((LayerVertex) conf.getVertices().get(layer)).getLayerConf().getLayer().getIDropout();
    }

    @Test
    void equalityAndToString() {
        DropBlock a = new DropBlock(0.1, 5).withGammaScale(0.25);
        assertEquals(a, new DropBlock(0.1, 5).withGammaScale(0.25));
        assertEquals(a.hashCode(), new DropBlock(0.1, 5).withGammaScale(0.25).hashCode());
        assertNotEquals(a, a.withFast(true));
        assertNotEquals(a, a.withBatchwise(true));
        assertNotEquals(a, a.withSeed(1));
        assertEquals(a, a.clone());
        assertEquals("DropBlock(dropProb=0.1, blockSize=5, gammaScale=0.25)", a.toString());
    }
}
