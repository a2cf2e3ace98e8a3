package org.regularize4j.depth;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class DepthScheduleTest {

    @Test
    void theThreeConventionsForResNet110() {
        int n = 54;
        assertEquals(0.5 / 54, DepthSchedule.linear(0.5).dropProb(0, n), 1e-15);
        assertEquals(0.5, DepthSchedule.linear(0.5).dropProb(53, n), 1e-15);
        assertEquals(0.0, DepthSchedule.efficientNet(0.5).dropProb(0, n));
        assertEquals(0.5 * 53 / 54, DepthSchedule.efficientNet(0.5).dropProb(53, n), 1e-15);
        assertEquals(0.0, DepthSchedule.linspace(0.5).dropProb(0, n));
        assertEquals(0.5, DepthSchedule.linspace(0.5).dropProb(53, n), 1e-15);
        // the Javadoc table's rounded values
        assertEquals("0.00926", String.format("%.5f", DepthSchedule.linear(0.5).dropProb(0, n)));
        assertEquals("0.49074", String.format("%.5f", DepthSchedule.efficientNet(0.5).dropProb(53, n)));
    }

    @Test
    void huangSurvivalFormula() {
        // p_l = 1 - l/L (1 - p_L) with p_L = 0.5, L = 27 (ResNet-56)
        int blocks = 27;
        double pL = 0.5;
        for (int l = 1; l <= blocks; l++) {
            double survival = 1 - (double) l / blocks * (1 - pL);
            assertEquals(1 - survival, DepthSchedule.linear(1 - pL).dropProb(l - 1, blocks), 1e-15);
        }
    }

    @Test
    void linspaceMatchesTorchLinspaceAndOthers() {
        assertArrayEquals(new double[] {0.0, 0.1, 0.2, 0.3, 0.4}, DepthSchedule.linspace(0.4).dropProbs(5), 1e-15);
        assertArrayEquals(new double[] {0.0}, DepthSchedule.linspace(0.4).dropProbs(1), 0.0);
        assertArrayEquals(new double[] {0.0, 0.1, 0.2, 0.3}, DepthSchedule.efficientNet(0.4).dropProbs(4), 1e-15);
        assertArrayEquals(new double[] {0.3, 0.3}, DepthSchedule.constant(0.3).dropProbs(2), 0.0);
        assertArrayEquals(new double[] {0.1, 0.7}, DepthSchedule.of(0.1, 0.7).dropProbs(2), 0.0);
    }

    @Test
    void badInput() {
        assertEquals("finalDropProb must be in [0, 1], got NaN",
                assertThrows(IllegalArgumentException.class, () -> DepthSchedule.linear(Double.NaN)).getMessage());
        assertEquals("rate must be in [0, 1], got -0.1",
                assertThrows(IllegalArgumentException.class, () -> DepthSchedule.linspace(-0.1)).getMessage());
        assertEquals("rate must be in [0, 1], got 1.5",
                assertThrows(IllegalArgumentException.class, () -> DepthSchedule.efficientNet(1.5)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> DepthSchedule.constant(2));
        assertEquals("dropProbs[1] must be in [0, 1], got 1.2",
                assertThrows(IllegalArgumentException.class, () -> DepthSchedule.of(0.1, 1.2)).getMessage());
        assertEquals("numBlocks must be >= 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> DepthSchedule.linear(0.5).dropProb(0, 0))
                        .getMessage());
        assertEquals("blockIndex must be in [0, 4), got 4",
                assertThrows(IllegalArgumentException.class, () -> DepthSchedule.linear(0.5).dropProb(4, 4))
                        .getMessage());
        assertThrows(IllegalArgumentException.class, () -> DepthSchedule.linear(0.5).dropProb(-1, 4));
        assertThrows(IllegalArgumentException.class, () -> DepthSchedule.of(0.1, 0.2).dropProb(0, 3));
    }

    @Test
    void applyToStampsVerticesInTopologicalOrder() {
        // Vertices added out of topological order on purpose: block "r2" is added before "r1" feeds it.
        ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder().graphBuilder()
                .addInputs("in")
                .addLayer("d0", dense(), "in")
                .addLayer("d2", dense(), "r1")
                .addVertex("r2", new StochasticDepthVertex(0.9, DropMode.BATCH), "d2", "r1")
                .addLayer("d1", dense(), "d0")
                .addVertex("p1", new DropPathVertex(0.9), "d1")
                .addVertex("r1", new ElementWiseVertex(ElementWiseVertex.Op.Add), "p1", "d0")
                .addLayer("d3", dense(), "r2")
                .addVertex("r3", new FrozenVertex(new StochasticDepthVertex(0.9)), "d3", "r2")
                .addLayer("out", new OutputLayer.Builder().nIn(4).nOut(2).activation(Activation.SOFTMAX).build(), "r3")
                .setOutputs("out");
        ComputationGraphConfiguration conf = b.build();
        List<String> stamped = DepthSchedule.linear(0.6).applyTo(conf);
        assertEquals(List.of("p1", "r2", "r3"), stamped);
        DepthSchedule linear = DepthSchedule.linear(0.6);
        assertEquals(new DropPathVertex(linear.dropProb(0, 3)), conf.getVertices().get("p1"));
        assertEquals(0.2, linear.dropProb(0, 3), 1e-15);
        assertEquals(new StochasticDepthVertex(linear.dropProb(1, 3), DropMode.BATCH), conf.getVertices().get("r2"),
                "mode kept, probability stamped");
        assertEquals(new FrozenVertex(new StochasticDepthVertex(linear.dropProb(2, 3))), conf.getVertices().get("r3"));

        ComputationGraphConfiguration none = new NeuralNetConfiguration.Builder().graphBuilder().addInputs("in")
                .addLayer("out", new OutputLayer.Builder().nIn(4).nOut(2).build(), "in").setOutputs("out").build();
        assertThrows(IllegalArgumentException.class, () -> DepthSchedule.constant(0.1).applyTo(none));
    }

    private static DenseLayer dense() {
        return new DenseLayer.Builder().nIn(4).nOut(4).build();
    }
}
