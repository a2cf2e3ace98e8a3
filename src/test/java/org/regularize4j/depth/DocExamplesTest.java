package org.regularize4j.depth;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.util.Checks;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The usage examples of the depth package's Javadoc and of docs/stochastic-depth.md, copied verbatim
 * between the BEGIN/END markers, compiled and run, with assertions on what they claim.
 */
class DocExamplesTest {

    @Test
    void docsResidualBlockExample() {
        // BEGIN docs/stochastic-depth.md "a residual block with stochastic depth"
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(42)
                .updater(new Adam(1e-3))
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.feedForward(4))
                .addLayer("stem", new DenseLayer.Builder().nOut(16).activation(Activation.TANH).build(), "in")
                .addLayer("block0.fc", new DenseLayer.Builder().nOut(16).activation(Activation.TANH).build(), "stem")
                .addVertex("block0.add", new StochasticDepthVertex(0.0), "block0.fc", "stem")
                .addLayer("block1.fc", new DenseLayer.Builder().nOut(16).activation(Activation.TANH).build(), "block0.add")
                .addVertex("block1.drop", new DropPathVertex(0.0, DropMode.BATCH), "block1.fc")
                .addVertex("block1.add", new ElementWiseVertex(ElementWiseVertex.Op.Add), "block1.drop", "block0.add")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "block1.add")
                .setOutputs("out")
                .build();
        List<String> blocks = DepthSchedule.linear(0.5).applyTo(conf);   // [block0.add, block1.drop]: 0.25, 0.5
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        net.fit(new DataSet(Nd4j.rand(DataType.FLOAT, 8, 4), Nd4j.eye(3).getRows(0, 1, 2, 0, 1, 2, 0, 1)));
        // END
        assertEquals(List.of("block0.add", "block1.drop"), blocks);
        assertEquals(0.25, ((BaseDropPathVertex) conf.getVertices().get("block0.add")).getDropProb(), 1e-15);
        assertEquals(new DropPathVertex(0.5, DropMode.BATCH), conf.getVertices().get("block1.drop"));
        assertEquals(1, net.getConfiguration().getIterationCount());
    }

    @Test
    void docsFunctionExample() {
        // BEGIN docs/stochastic-depth.md "the function"
        INDArray x = Nd4j.ones(DataType.FLOAT, 6, 3, 8, 8);
        INDArray train = DropPath.apply(x, 0.25, true);      // each example all 0 or all 1/0.75
        INDArray infer = DropPath.apply(x, 0.25, false);     // equals x
        INDArray paper = DropPath.apply(x, 0.25, false, DropMode.ROW, Scaling.AT_INFERENCE);   // x * 0.75
        // END
        for (int i = 0; i < 6; i++) {
            double s = train.slice(i).maxNumber().doubleValue();
            assertTrue(s == 0.0 || Math.abs(s - 1 / 0.75) < 1e-6, "got " + s);
            assertEquals(s, train.slice(i).minNumber().doubleValue(), 0.0);
        }
        assertEquals(x, infer);
        assertEquals(x.mul(0.75), paper);
    }

    @Test
    void javadocOfDropPath() {
        INDArray x = Nd4j.ones(4, 3);
        INDArray y = DropPath.apply(x, 0.5, true);    // each row is all 0 or all 2
        INDArray z = DropPath.apply(x, 0.5, false);   // equals x (a new array)
        for (int i = 0; i < 4; i++) {
            double s = y.getRow(i).sumNumber().doubleValue();
            assertTrue(s == 0.0 || s == 6.0);
        }
        assertEquals(x, z);
    }

    @Test
    void javadocOfModeScalingAndVertices() {
        GraphVertex v = new StochasticDepthVertex(0.2, DropMode.BATCH);
        GraphVertex w = new StochasticDepthVertex(0.2, DropMode.ROW, Scaling.AT_INFERENCE, null);
        BaseDropPathVertex u = new DropPathVertex(0.1).withDropProb(0.3);
        assertEquals(DropMode.BATCH, ((BaseDropPathVertex) v).getDropMode());
        assertEquals(Scaling.AT_INFERENCE, ((BaseDropPathVertex) w).getScaling());
        assertEquals(0.3, u.getDropProb());
    }

    @Test
    void javadocOfDropDecisionsAndRowScales() {
        double[] scales = DropDecisions.trainingScales(8, 0.25, DropMode.ROW, Scaling.INVERTED,
                42L, 0, 0, 3);   // each entry 0 (dropped) or 1/0.75 (kept)
        for (double s : scales) {
            assertTrue(s == 0.0 || s == 1 / 0.75);
        }
        RowScales s = RowScales.of(new double[] {0.0, 2.0});
        INDArray out = s.multiply(Nd4j.ones(2, 3), Nd4j.create(2, 3));   // [[0,0,0],[2,2,2]]
        assertEquals(Nd4j.create(new float[][] {{0, 0, 0}, {2, 2, 2}}), out);
    }

    @Test
    void javadocOfDepthSchedule() {
        DepthSchedule s = DepthSchedule.linear(0.5);
        double first = s.dropProb(0, 54);    // 0.5 / 54
        double last = s.dropProb(53, 54);    // 0.5
        assertEquals(0.5 / 54, first, 1e-15);
        assertEquals(0.5, last, 1e-15);
    }

    @Test
    void javadocOfVertexClassesAndImpls() {
        // DropPathVertex's example
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(42).graphBuilder()
                .addInputs("in")
                .addLayer("stem", new DenseLayer.Builder().nIn(4).nOut(8).activation(Activation.TANH).build(), "in")
                .addLayer("branch", new DenseLayer.Builder().nIn(8).nOut(8).activation(Activation.TANH).build(), "stem")
                .addVertex("drop", new DropPathVertex(0.2), "branch")
                .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "drop", "stem")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(8).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "sum")
                .setOutputs("out").build();
        ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        org.deeplearning4j.nn.graph.vertex.GraphVertex impl = graph.getVertex("drop");   // a DropPathVertexImpl after graph.init()
        assertTrue(impl instanceof DropPathVertexImpl);

        // StochasticDepthVertex's example
        ComputationGraphConfiguration conf2 = new NeuralNetConfiguration.Builder().seed(42).graphBuilder()
                .addInputs("in")
                .addLayer("stem", new DenseLayer.Builder().nIn(4).nOut(8).activation(Activation.TANH).build(), "in")
                .addLayer("branch", new DenseLayer.Builder().nIn(8).nOut(8).activation(Activation.TANH).build(), "stem")
                .addVertex("res", new StochasticDepthVertex(0.2), "branch", "stem")   // (branch, shortcut)
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(8).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "res")
                .setOutputs("out").build();
        ComputationGraph graph2 = new ComputationGraph(conf2);
        graph2.init();
        org.deeplearning4j.nn.graph.vertex.GraphVertex impl2 = graph2.getVertex("res");   // a StochasticDepthVertexImpl after graph.init()
        assertTrue(impl2 instanceof StochasticDepthVertexImpl);
        assertEquals(3, graph2.outputSingle(true, Nd4j.rand(DataType.FLOAT, 5, 4)).size(1));
    }

    @Test
    void javadocOfWorkerAware() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(42).graphBuilder()
                .addInputs("in")
                .addLayer("stem", new DenseLayer.Builder().nIn(4).nOut(8).build(), "in")
                .addLayer("branch", new DenseLayer.Builder().nIn(8).nOut(8).build(), "stem")
                .addVertex("res", new StochasticDepthVertex(0.5), "branch", "stem")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(8).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "res")
                .setOutputs("out").build();
        ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        for (org.deeplearning4j.nn.graph.vertex.GraphVertex v : graph.getVertices()) {
            if (v instanceof WorkerAware) {
                ((WorkerAware) v).setWorkerIndex(1);   // this copy is worker 1
            }
        }
        assertEquals(1, ((WorkerAware) graph.getVertex("res")).getWorkerIndex());
    }

    @Test
    void javadocOfChecks() {
        double dropProb = Checks.probability("dropProb", 0.2);   // returns 0.2
        assertEquals(0.2, dropProb);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Checks.probability("dropProb", 1.5));
        assertEquals("dropProb must be in [0, 1], got 1.5", e.getMessage());
    }
}
