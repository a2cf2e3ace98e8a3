package org.regularize4j.depth;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Round trips of configurations holding the vertices: JSON (every field survives: DL4J's mapper ignores
 * unknown properties, so a field that did not round-trip would silently take its default), ModelSerializer,
 * Java serialization, clone() and TransferLearning.
 */
class VertexSerializationTest {

    /** Non-default values in every field, so that a field lost in a round trip shows. */
    private static final List<BaseDropPathVertex> VERTICES = List.of(
            new StochasticDepthVertex(0.35, DropMode.BATCH, Scaling.AT_INFERENCE, 1234L),
            new DropPathVertex(0.65, DropMode.BATCH, Scaling.AT_INFERENCE, -5L),
            new StochasticDepthVertex(0.2),
            new DropPathVertex(0.1));

    @Test
    void jsonRoundTripKeepsEveryField() {
        for (BaseDropPathVertex v : VERTICES) {
            ComputationGraphConfiguration conf = TestGraphs.conf(TestGraphs.Kind.DENSE, v, 3, WorkspaceMode.ENABLED,
                    DataType.FLOAT, false);
            String json = conf.toJson();
            assertTrue(json.contains("\"dropProb\" : " + v.getDropProb()), json);
            ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(json);
            assertEquals(conf, back);
            GraphVertex restored = back.getVertices().get(v instanceof DropPathVertex ? "drop" : "res");
            assertEquals(v, restored);
            BaseDropPathVertex r = (BaseDropPathVertex) restored;
            assertEquals(v.getDropProb(), r.getDropProb());
            assertEquals(v.getDropMode(), r.getDropMode());
            assertEquals(v.getScaling(), r.getScaling());
            assertEquals(v.getSeed(), r.getSeed());
            assertEquals(ComputationGraphConfiguration.fromYaml(conf.toYaml()), conf);
        }
    }

    /** The training-mode drop rate after a JSON load equals the configured one (measured over many draws). */
    @Test
    void trainingDropRateUnchangedAfterJsonLoad() {
        BaseDropPathVertex v = new StochasticDepthVertex(0.35);
        ComputationGraphConfiguration conf = TestGraphs.conf(TestGraphs.Kind.DENSE, v, 3, WorkspaceMode.ENABLED,
                DataType.FLOAT, false);
        ComputationGraph g = new ComputationGraph(ComputationGraphConfiguration.fromJson(conf.toJson()));
        g.init();
        int n = 4000;
        g.feedForward(TestGraphs.features(TestGraphs.Kind.DENSE, n, 1, DataType.FLOAT), true);
        int dropped = n - ((BaseDropPathVertexImpl) g.getVertex("res")).getLastScales().keptCount();
        // Binomial(4000, 0.35): sd = sqrt(0.35 * 0.65 / 4000) = 0.00754; 6 sd = 0.045
        assertEquals(0.35, dropped / (double) n, 0.045);
    }

    @Test
    void javaSerializationAndClone() throws Exception {
        for (BaseDropPathVertex v : VERTICES) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(v);
            }
            Object back;
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
                back = in.readObject();
            }
            assertEquals(v, back);
            GraphVertex clone = v.clone();
            assertNotSame(v, clone);
            assertEquals(v, clone);
            assertEquals(v.hashCode(), clone.hashCode());

            ComputationGraphConfiguration conf = TestGraphs.conf(TestGraphs.Kind.CNN_NCHW, v, 3,
                    WorkspaceMode.ENABLED, DataType.FLOAT, false);
            bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(conf);
            }
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
                assertEquals(conf, in.readObject());
            }
            assertEquals(conf, conf.clone());
        }
    }

    /** A trained net saved and restored gives the same outputs, in inference and (same iteration) in training. */
    @Test
    void modelSerializerRoundTripOfATrainedNet(@TempDir Path dir) throws Exception {
        for (BaseDropPathVertex v : VERTICES) {
            ComputationGraph g = TestGraphs.graph(TestGraphs.Kind.CNN_NCHW, v, 3, WorkspaceMode.ENABLED,
                    DataType.FLOAT, false);
            INDArray x = TestGraphs.features(TestGraphs.Kind.CNN_NCHW, 16, 1, DataType.FLOAT);
            INDArray y = TestGraphs.labels(TestGraphs.Kind.CNN_NCHW, 16, 1, DataType.FLOAT);
            for (int i = 0; i < 3; i++) {
                g.fit(new DataSet(x, y));
            }
            File f = dir.resolve("net.zip").toFile();
            ModelSerializer.writeModel(g, f, true);
            ComputationGraph r = ModelSerializer.restoreComputationGraph(f, true);
            assertEquals(g.getConfiguration(), r.getConfiguration());
            assertEquals(g.params(), r.params());
            assertEquals(g.outputSingle(false, x), r.outputSingle(false, x));
            assertEquals(g.outputSingle(true, x), r.outputSingle(true, x), "same iteration, same masks");
            assertEquals(3, r.getConfiguration().getIterationCount());
            // training continues identically
            g.fit(new DataSet(x, y));
            r.fit(new DataSet(x, y));
            assertTrue(g.params().equalsWithEps(r.params(), 1e-6));

            // DL4J's ComputationGraphConfiguration.clone() does not copy the iteration count: a clone starts at
            // iteration 0 and so draws iteration 0's masks; with the counter restored it draws the same masks.
            ComputationGraph c = g.clone();
            assertEquals(g.outputSingle(false, x), c.outputSingle(false, x));
            c.getConfiguration().setIterationCount(g.getConfiguration().getIterationCount());
            c.getConfiguration().setEpochCount(g.getConfiguration().getEpochCount());
            assertEquals(g.outputSingle(true, x), c.outputSingle(true, x));
        }
    }

    @Test
    void transferLearningKeepsTheVertices() {
        for (BaseDropPathVertex v : VERTICES) {
            ComputationGraph g = TestGraphs.graph(TestGraphs.Kind.DENSE, v, 3, WorkspaceMode.ENABLED, DataType.FLOAT,
                    false);
            ComputationGraph t = new TransferLearning.GraphBuilder(g)
                    .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(new Sgd(0.01)).build())
                    .removeVertexKeepConnections("out")
                    .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(5).nOut(4)
                            .activation(Activation.SOFTMAX).build(), "res")
                    .setOutputs("out")
                    .build();
            String name = v instanceof DropPathVertex ? "drop" : "res";
            assertEquals(v, t.getConfiguration().getVertices().get(name));
            assertTrue(t.getVertex(name) instanceof BaseDropPathVertexImpl);
            INDArray x = TestGraphs.features(TestGraphs.Kind.DENSE, 8, 1, DataType.FLOAT);
            assertEquals(4, t.outputSingle(true, x).size(1));
            ComputationGraph viaJson = new ComputationGraph(
                    ComputationGraphConfiguration.fromJson(t.getConfiguration().toJson()));
            viaJson.init();
            assertEquals(v, viaJson.getConfiguration().getVertices().get(name));
        }
    }
}
