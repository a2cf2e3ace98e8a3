package org.regularize4j.depth;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.testutil.DoublePrecision;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DL4J gradient checks (double precision, central differences, max relative error 1e-5) for both vertices
 * at ranks 2, 3 (with a feature mask), 4 (NCHW and NHWC) and 5. The decisions are a function of
 * (seed, iteration, epoch, vertex index) and the iteration does not advance during the check, so the mask
 * is held fixed; each checked batch has both kept and dropped examples (asserted).
 */
@ExtendWith(DoublePrecision.class)
class VertexGradientCheckTest {
    private static final int MB = 6;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (TestGraphs.Kind kind : TestGraphs.Kind.values()) {
            for (Scaling scaling : Scaling.values()) {
                out.add(Arguments.of(kind, new StochasticDepthVertex(0.5, DropMode.ROW, scaling, null)));
                out.add(Arguments.of(kind, new DropPathVertex(0.5, DropMode.ROW, scaling, null)));
            }
            out.add(Arguments.of(kind, new StochasticDepthVertex(0.3, DropMode.BATCH)));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void gradientsMatchFiniteDifferences(TestGraphs.Kind kind, BaseDropPathVertex vertex) {
        String vertexName = vertex instanceof StochasticDepthVertex ? "res" : "drop";
        INDArray x = TestGraphs.features(kind, MB, 7, DataType.DOUBLE);
        INDArray y = TestGraphs.labels(kind, MB, 7, DataType.DOUBLE);
        INDArray mask = kind == TestGraphs.Kind.RNN ? TestGraphs.rnnMask(MB, DataType.DOUBLE) : null;

        // Find a network seed whose iteration-0 decisions are the case we want to check.
        ComputationGraph net = null;
        for (long seed = 1; seed < 200 && net == null; seed++) {
            ComputationGraph candidate = TestGraphs.graph(kind, vertex, seed, WorkspaceMode.ENABLED, DataType.DOUBLE,
                    true);
            candidate.output(true, new INDArray[] {x}, mask == null ? null : new INDArray[] {mask});
            RowScales s = ((BaseDropPathVertexImpl) candidate.getVertex(vertexName)).getLastScales();
            boolean wanted = vertex.getDropMode() == DropMode.ROW
                    ? s.keptCount() > 0 && s.keptCount() < MB
                    : s.keptCount() == MB;  // BATCH: check the kept case (dropped is tested elsewhere)
            if (wanted) {
                net = candidate;
            }
        }
        assertTrue(net != null, "no seed gave the wanted decisions");

        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(net)
                .inputs(new INDArray[] {x}).labels(new INDArray[] {y})
                .inputMask(mask == null ? null : new INDArray[] {mask})
                .labelMask(mask == null ? null : new INDArray[] {mask})
                .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9));
        assertTrue(ok, "gradient check failed for " + kind + " " + vertex);

        // The decisions did not move during the check.
        RowScales after = ((BaseDropPathVertexImpl) net.getVertex(vertexName)).getLastScales();
        net.output(true, new INDArray[] {x}, mask == null ? null : new INDArray[] {mask});
        RowScales again = ((BaseDropPathVertexImpl) net.getVertex(vertexName)).getLastScales();
        assertEquals(after.toString(), again.toString());
    }
}
