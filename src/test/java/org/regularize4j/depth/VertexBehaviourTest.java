package org.regularize4j.depth;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vertices inside real graphs: forward formula, inference, workspaces, frozen parts, bad wiring. */
class VertexBehaviourTest {
    private static final int MB = 32;

    /** Training output of the residual vertex is exactly shortcut + mask * branch; inference is branch + shortcut. */
    @ParameterizedTest
    @EnumSource(TestGraphs.Kind.class)
    void forwardIsShortcutPlusMaskTimesBranch(TestGraphs.Kind kind) {
        for (BaseDropPathVertex v : new BaseDropPathVertex[] {new StochasticDepthVertex(0.5),
                new DropPathVertex(0.5), new StochasticDepthVertex(0.4, DropMode.ROW, Scaling.AT_INFERENCE, 9L)}) {
            for (WorkspaceMode ws : WorkspaceMode.values()) {
                ComputationGraph g = TestGraphs.graph(kind, v, 3, ws, DataType.DOUBLE, false);
                INDArray x = TestGraphs.features(kind, MB, 1, DataType.DOUBLE);
                Map<String, INDArray> act = g.feedForward(x, true);
                BaseDropPathVertexImpl impl = (BaseDropPathVertexImpl) g.getVertex(v instanceof DropPathVertex
                        ? "drop" : "res");
                RowScales s = impl.getLastScales();
                assertTrue(s.keptCount() > 0 && s.keptCount() < MB, "mixed batch");
                INDArray expected = s.multiplyAdd(act.get("b"), act.get("a"), act.get("a").ulike());
                assertTrue(expected.equalsWithEps(act.get("res"), 1e-12), kind + " " + v + " " + ws);
                for (int i = 0; i < MB; i++) {
                    double keep = s.get(i);
                    double kept = v.getScaling() == Scaling.INVERTED ? 1 / (1 - v.getDropProb()) : 1.0;
                    assertTrue(keep == 0.0 || Math.abs(keep - kept) < 1e-15, "scale " + keep);
                }

                Map<String, INDArray> inf = g.feedForward(x, false);
                double survival = DropDecisions.inferenceScale(v.getDropProb(), v.getScaling());
                INDArray expectedInf = inf.get("b").mul(survival).addi(inf.get("a"));
                assertTrue(expectedInf.equalsWithEps(inf.get("res"), 1e-12), "inference " + kind + " " + v);
                // output() validates workspaces: must not throw in either mode
                g.output(false, x);
                g.output(true, x);
            }
        }
    }

    /** With dropProb 1 the residual vertex returns the shortcut exactly; no NaN anywhere. */
    @Test
    void dropProbOneGivesTheShortcutExactly() {
        for (DropMode mode : DropMode.values()) {
            ComputationGraph g = TestGraphs.graph(TestGraphs.Kind.CNN_NCHW, new StochasticDepthVertex(1.0, mode), 1,
                    WorkspaceMode.ENABLED, DataType.FLOAT, false);
            INDArray x = TestGraphs.features(TestGraphs.Kind.CNN_NCHW, 8, 1, DataType.FLOAT);
            Map<String, INDArray> act = g.feedForward(x, true);
            assertEquals(act.get("a"), act.get("res"));
            g.fit(new DataSet(x, TestGraphs.labels(TestGraphs.Kind.CNN_NCHW, 8, 1, DataType.FLOAT)));
            assertFalse(g.params().isNaN().any());
            assertFalse(Double.isNaN(g.score()));
        }
    }

    /**
     * Backprop uses the forward pass's mask under both workspace modes: gradients of the same network and
     * batch agree between ENABLED and NONE, and training (fit) runs in both.
     */
    @ParameterizedTest
    @EnumSource(TestGraphs.Kind.class)
    void gradientsAgreeAcrossWorkspaceModes(TestGraphs.Kind kind) {
        INDArray x = TestGraphs.features(kind, MB, 2, DataType.DOUBLE);
        INDArray y = TestGraphs.labels(kind, MB, 2, DataType.DOUBLE);
        for (BaseDropPathVertex v : new BaseDropPathVertex[] {new StochasticDepthVertex(0.5),
                new DropPathVertex(0.5, DropMode.BATCH)}) {
            ComputationGraph on = TestGraphs.graph(kind, v, 5, WorkspaceMode.ENABLED, DataType.DOUBLE, false);
            ComputationGraph off = TestGraphs.graph(kind, v, 5, WorkspaceMode.NONE, DataType.DOUBLE, false);
            off.setParams(on.params().dup());
            on.setInputs(x);
            on.setLabels(y);
            on.computeGradientAndScore();
            off.setInputs(x);
            off.setLabels(y);
            off.computeGradientAndScore();
            assertTrue(on.gradient().gradient().equalsWithEps(off.gradient().gradient(), 1e-12),
                    kind + " " + v);
            for (int i = 0; i < 3; i++) {
                on.fit(new DataSet(x, y));
                off.fit(new DataSet(x, y));
            }
            assertTrue(on.params().equalsWithEps(off.params(), 1e-10), "same training in both modes");
        }
    }

    /**
     * The backward pass uses the mask stored by the forward pass, not a new draw: even if the iteration
     * counter moves between the two, the branch gradient is epsilon times the forward pass's multipliers.
     */
    @Test
    void backwardUsesExactlyTheForwardMask() {
        ComputationGraph g = TestGraphs.graph(TestGraphs.Kind.CNN_NCHW, new StochasticDepthVertex(0.5), 1,
                WorkspaceMode.NONE, DataType.DOUBLE, false);
        StochasticDepthVertexImpl v = (StochasticDepthVertexImpl) g.getVertex("res");
        LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
        INDArray branch = Nd4j.rand(DataType.DOUBLE, MB, 3, 4, 4);
        INDArray shortcut = Nd4j.rand(DataType.DOUBLE, MB, 3, 4, 4);
        INDArray eps = Nd4j.rand(DataType.DOUBLE, MB, 3, 4, 4);
        v.setInput(0, branch, mgr);
        v.setInput(1, shortcut, mgr);
        v.doForward(true, mgr);
        RowScales forward = v.getLastScales();
        g.getConfiguration().setIterationCount(17);   // a new draw would now differ
        v.setEpsilon(eps);
        INDArray[] grads = v.doBackward(false, mgr).getSecond();
        assertEquals(forward.multiply(eps, eps.ulike()), grads[0]);
        assertEquals(eps, grads[1]);
        assertNotSame(eps, grads[1]);
        assertNotSame(grads[0], grads[1]);
        v.doForward(true, mgr);
        assertNotEquals(forward.toString(), v.getLastScales().toString(), "iteration 17 draws another mask");
    }

    /** Masks are drawn per iteration: a step's masks differ from the next step's, and fit() moves them. */
    @Test
    void decisionsFollowTheIterationCounter() {
        ComputationGraph g = TestGraphs.graph(TestGraphs.Kind.DENSE, new StochasticDepthVertex(0.5), 1,
                WorkspaceMode.ENABLED, DataType.FLOAT, false);
        INDArray x = TestGraphs.features(TestGraphs.Kind.DENSE, 64, 1, DataType.FLOAT);
        INDArray y = TestGraphs.labels(TestGraphs.Kind.DENSE, 64, 1, DataType.FLOAT);
        BaseDropPathVertexImpl impl = (BaseDropPathVertexImpl) g.getVertex("res");
        g.feedForward(x, true);
        String first = impl.getLastScales().toString();
        g.feedForward(x, true);
        assertEquals(first, impl.getLastScales().toString(), "same iteration, same mask");
        g.fit(new DataSet(x, y));
        g.feedForward(x, true);
        assertNotEquals(first, impl.getLastScales().toString(), "next iteration, new mask");
        assertEquals(1, g.getConfiguration().getIterationCount());
    }

    /** The network seed is the default; an explicit vertex seed overrides it. */
    @Test
    void seedDefaultsToTheNetworkSeed() {
        INDArray x = TestGraphs.features(TestGraphs.Kind.DENSE, 64, 1, DataType.FLOAT);
        String a = scalesOf(TestGraphs.graph(TestGraphs.Kind.DENSE, new StochasticDepthVertex(0.5), 1,
                WorkspaceMode.ENABLED, DataType.FLOAT, false), x);
        String b = scalesOf(TestGraphs.graph(TestGraphs.Kind.DENSE, new StochasticDepthVertex(0.5), 2,
                WorkspaceMode.ENABLED, DataType.FLOAT, false), x);
        StochasticDepthVertex seeded = new StochasticDepthVertex(0.5, DropMode.ROW, Scaling.INVERTED, 77L);
        String c = scalesOf(TestGraphs.graph(TestGraphs.Kind.DENSE, seeded, 1, WorkspaceMode.ENABLED,
                DataType.FLOAT, false), x);
        String d = scalesOf(TestGraphs.graph(TestGraphs.Kind.DENSE, seeded, 2, WorkspaceMode.ENABLED,
                DataType.FLOAT, false), x);
        assertNotEquals(a, b);
        assertEquals(c, d);
    }

    private static String scalesOf(ComputationGraph g, INDArray x) {
        g.feedForward(x, true);
        return ((BaseDropPathVertexImpl) g.getVertex("res")).getLastScales().toString();
    }

    /** Inside a frozen part (a FrozenVertex, or TransferLearning's feature extractor) drop path is off. */
    @Test
    void frozenPartsBehaveAsAtInference() {
        INDArray x = TestGraphs.features(TestGraphs.Kind.DENSE, MB, 1, DataType.DOUBLE);
        // 1. FrozenVertex in the configuration
        ComputationGraph frozen = TestGraphs.graph(TestGraphs.Kind.DENSE,
                new StochasticDepthVertex(0.5, DropMode.ROW, Scaling.AT_INFERENCE, null), 1, WorkspaceMode.ENABLED,
                DataType.DOUBLE, false);
        ComputationGraphConfiguration conf = frozen.getConfiguration().clone();
        conf.getVertices().put("res", new FrozenVertex(conf.getVertices().get("res")));
        ComputationGraph g = new ComputationGraph(conf);
        g.init(frozen.params().dup(), false);
        assertEquals(g.feedForward(x, false).get("res"), g.feedForward(x, true).get("res"));
        // 2. TransferLearning feature extractor freezing everything up to "res"
        ComputationGraph base = TestGraphs.graph(TestGraphs.Kind.DENSE, new StochasticDepthVertex(0.5), 1,
                WorkspaceMode.ENABLED, DataType.DOUBLE, false);
        assertNotEquals(base.feedForward(x, false).get("res"), base.feedForward(x, true).get("res"),
                "not frozen: training differs");
        ComputationGraph fe = new TransferLearning.GraphBuilder(base).setFeatureExtractor("res").build();
        assertEquals(fe.feedForward(x, false).get("res"), fe.feedForward(x, true).get("res"));
    }

    @Test
    void wrongNumberOfInputsIsRejected() {
        // With input types: rejected when the configuration is built.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> builder(true)
                .addVertex("drop", new DropPathVertex(0.1), "d1", "d2").addLayer("out", out(), "drop")
                .setOutputs("out").build());
        assertTrue(e.getMessage().contains("DropPathVertex takes exactly 1 input (the residual branch), got 2"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> builder(true).allowDisconnected(true)
                .addVertex("res", new StochasticDepthVertex(0.1), "d1").addLayer("out", out(), "res")
                .setOutputs("out").build());
        assertTrue(e.getMessage().contains("StochasticDepthVertex takes exactly 2 inputs (branch, shortcut), got 1"),
                e.getMessage());
        // Without input types: rejected when the graph is initialized.
        ComputationGraphConfiguration c = builder(false).addVertex("res", new StochasticDepthVertex(0.1),
                "d1", "d2", "d1").addLayer("out", out(), "res").setOutputs("out").build();
        e = assertThrows(IllegalArgumentException.class, () -> new ComputationGraph(c).init());
        assertTrue(e.getMessage().contains("got 3"), e.getMessage());
    }

    @Test
    void branchAndShortcutShapesMustMatch() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> builder(true)
                .addLayer("d3", new DenseLayer.Builder().nOut(7).build(), "d1")
                .addVertex("res", new StochasticDepthVertex(0.1), "d3", "d2").addLayer("out", out(), "res")
                .setOutputs("out").build());
        assertTrue(e.getMessage().contains("branch InputTypeFeedForward(7") && e.getMessage().contains(
                "shortcut InputTypeFeedForward(5"), e.getMessage());
        ComputationGraphConfiguration c = builder(false)
                .addLayer("d3", new DenseLayer.Builder().nIn(5).nOut(7).build(), "d1")
                .addVertex("res", new StochasticDepthVertex(0.1), "d3", "d2")
                .addLayer("out", new OutputLayer.Builder().nIn(7).nOut(2).activation(Activation.SOFTMAX).build(),
                        "res").setOutputs("out").build();
        ComputationGraph g = new ComputationGraph(c);
        g.init();
        e = assertThrows(IllegalArgumentException.class, () -> g.output(Nd4j.rand(DataType.FLOAT, 3, 4)));
        assertTrue(e.getMessage().contains("got branch [3, 7] and shortcut [3, 5]"), e.getMessage());
    }

    private static ComputationGraphConfiguration.GraphBuilder builder(boolean inputTypes) {
        ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder().graphBuilder()
                .addInputs("in");
        if (inputTypes) {
            b.setInputTypes(InputType.feedForward(4));
        }
        return b.addLayer("d1", new DenseLayer.Builder().nIn(4).nOut(5).build(), "in")
                .addLayer("d2", new DenseLayer.Builder().nIn(5).nOut(5).build(), "d1");
    }

    private static OutputLayer out() {
        return new OutputLayer.Builder().nIn(5).nOut(2).activation(Activation.SOFTMAX).build();
    }
}
