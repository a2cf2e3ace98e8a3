package org.regularize4j.bench;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.layers.CnnLossLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.regularize4j.depth.DropMode;
import org.regularize4j.depth.DropPathVertex;
import org.regularize4j.depth.StochasticDepthVertex;

import java.util.concurrent.TimeUnit;

/**
 * Forward + backward of one residual-sum vertex on a [64, 64, 16, 16] float activation, the way a
 * ComputationGraph runs it (outputs in an ACTIVATIONS workspace, gradients in an ACTIVATION_GRAD workspace,
 * both reused across iterations). {@code add} is DL4J's {@code ElementWiseVertex(Add)}: the floor.
 *
 * <p>Run: {@code scripts/jmh VertexBenchmark} (or {@code java -cp <test classpath> org.openjdk.jmh.Main
 * VertexBenchmark}). Target (issue 2): stochasticDepth row at most 1.3x add.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class VertexBenchmark {

    @Param({"add", "stochasticDepthRow", "stochasticDepthBatch", "dropPathRowPlusAdd"})
    public String vertex;

    private org.deeplearning4j.nn.graph.vertex.GraphVertex impl;
    private org.deeplearning4j.nn.graph.vertex.GraphVertex addImpl; // for dropPathRowPlusAdd
    private INDArray branch;
    private INDArray shortcut;
    private INDArray epsilon;
    private LayerWorkspaceMgr mgr;
    private int iteration;

    @Setup
    public void setUp() {
        Nd4j.getRandom().setSeed(1);
        branch = Nd4j.rand(DataType.FLOAT, 64, 64, 16, 16);
        shortcut = Nd4j.rand(DataType.FLOAT, 64, 64, 16, 16);
        epsilon = Nd4j.rand(DataType.FLOAT, 64, 64, 16, 16);
        switch (vertex) {
            case "add":
                impl = vertexOf(new ElementWiseVertex(ElementWiseVertex.Op.Add), 2);
                break;
            case "stochasticDepthRow":
                impl = vertexOf(new StochasticDepthVertex(0.5, DropMode.ROW), 2);
                break;
            case "stochasticDepthBatch":
                impl = vertexOf(new StochasticDepthVertex(0.5, DropMode.BATCH), 2);
                break;
            default:
                impl = vertexOf(new DropPathVertex(0.5, DropMode.ROW), 1);
                addImpl = vertexOf(new ElementWiseVertex(ElementWiseVertex.Op.Add), 2);
        }
        WorkspaceConfiguration ws = WorkspaceConfiguration.builder().initialSize(0).overallocationLimit(0.05)
                .policyLearning(LearningPolicy.FIRST_LOOP).policyReset(ResetPolicy.BLOCK_LEFT)
                .policySpill(SpillPolicy.REALLOCATE).policyAllocation(AllocationPolicy.OVERALLOCATE).build();
        mgr = LayerWorkspaceMgr.builder()
                .with(ArrayType.ACTIVATIONS, "BENCH_ACT", ws)
                .with(ArrayType.ACTIVATION_GRAD, "BENCH_GRAD", ws)
                .with(ArrayType.INPUT, "BENCH_ACT", ws)
                .with(ArrayType.FF_WORKING_MEM, "BENCH_WM", ws)
                .with(ArrayType.BP_WORKING_MEM, "BENCH_WM", ws)
                .with(ArrayType.RNN_FF_LOOP_WORKING_MEM, "BENCH_WM", ws)
                .with(ArrayType.RNN_BP_LOOP_WORKING_MEM, "BENCH_WM", ws)
                .with(ArrayType.FF_CACHE, "BENCH_WM", ws)
                .build();
    }

    private static org.deeplearning4j.nn.graph.vertex.GraphVertex vertexOf(GraphVertex v, int inputs) {
        ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder().seed(1).graphBuilder()
                .addInputs("b", "s");
        if (inputs == 2) {
            b.addVertex("v", v, "b", "s");
        } else {
            b.addVertex("v", v, "b").allowDisconnected(true);
        }
        ComputationGraph g = new ComputationGraph(b.addLayer("loss", new CnnLossLayer.Builder(
                LossFunctions.LossFunction.MSE).activation(Activation.IDENTITY).build(), "v")
                .setOutputs("loss").build());
        g.init();
        return g.getVertex("v");
    }

    @Benchmark
    public Object forwardBackward() {
        // a new iteration each call, so that masks (and BATCH decisions) change as in training
        ((org.deeplearning4j.nn.graph.vertex.BaseGraphVertex) impl).getGraph().getConfiguration()
                .setIterationCount(iteration++);
        INDArray out;
        INDArray[] grads;
        try (MemoryWorkspace act = mgr.notifyScopeEntered(ArrayType.ACTIVATIONS)) {
            try (MemoryWorkspace grad = mgr.notifyScopeEntered(ArrayType.ACTIVATION_GRAD)) {
                if (addImpl == null) {
                    impl.setInput(0, branch, mgr);
                    if (impl.getNumInputArrays() > 1) {
                        impl.setInput(1, shortcut, mgr);
                    }
                    out = impl.doForward(true, mgr);
                    impl.setEpsilon(epsilon);
                    grads = impl.doBackward(false, mgr).getSecond();
                } else {
                    impl.setInput(0, branch, mgr);
                    INDArray dropped = impl.doForward(true, mgr);
                    addImpl.setInput(0, dropped, mgr);
                    addImpl.setInput(1, shortcut, mgr);
                    out = addImpl.doForward(true, mgr);
                    addImpl.setEpsilon(epsilon);
                    INDArray[] addGrads = addImpl.doBackward(false, mgr).getSecond();
                    impl.setEpsilon(addGrads[0]);
                    grads = new INDArray[] {impl.doBackward(false, mgr).getSecond()[0], addGrads[1]};
                }
                // force completion of queued native work before leaving the scope
                return out.getFloat(0) + grads[grads.length - 1].getFloat(0);
            }
        }
    }
}
