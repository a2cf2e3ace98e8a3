package org.regularize4j.depth;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Implementation of {@link StochasticDepthVertex}: output = shortcut + mask * branch, with one mask value
 * per example. The branch gradient is mask * epsilon, the shortcut gradient a copy of epsilon (two distinct
 * arrays: DL4J adds fan-out gradients into them in place).
 *
 * <pre>{@code
 * GraphVertex impl = graph.getVertex("res");   // a StochasticDepthVertexImpl after graph.init()
 * }</pre>
 */
public class StochasticDepthVertexImpl extends BaseDropPathVertexImpl {

    /** Called by {@link StochasticDepthVertex#instantiate}. */
    public StochasticDepthVertexImpl(ComputationGraph graph, String name, int vertexIndex,
                                     StochasticDepthVertex conf, DataType dataType) {
        super(graph, name, vertexIndex, conf, dataType);
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoForward()) {
            throw new IllegalStateException("Cannot do forward pass in vertex \"" + vertexName
                    + "\": inputs not set");
        }
        INDArray branch = inputs[0];
        INDArray shortcut = inputs[1];
        if (!branch.equalShapes(shortcut)) {
            throw new IllegalArgumentException("StochasticDepthVertex \"" + vertexName
                    + "\": branch and shortcut must have the same shape, got "
                    + StochasticDepthVertex.shapes(branch, shortcut));
        }
        RowScales s = drawScales(training, branch.size(0));
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, branch.dataType(), branch.shape(),
                'c');
        return s.multiplyAdd(branch, shortcut.dataType() == branch.dataType() ? shortcut
                : shortcut.castTo(branch.dataType()), out);
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoBackward()) {
            throw new IllegalStateException("Cannot do backward pass in vertex \"" + vertexName
                    + "\": inputs or epsilon not set");
        }
        RowScales s = requireScales();
        INDArray epsBranch = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, epsilon.dataType(),
                epsilon.shape(), 'c');
        s.multiply(epsilon, epsBranch);
        INDArray epsShortcut = workspaceMgr.dup(ArrayType.ACTIVATION_GRAD, epsilon);
        return new Pair<>(null, new INDArray[] {epsBranch, epsShortcut});
    }
}
