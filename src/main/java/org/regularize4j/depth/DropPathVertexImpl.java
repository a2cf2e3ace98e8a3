package org.regularize4j.depth;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Implementation of {@link DropPathVertex}: output = mask * branch. Outputs are created in the
 * ACTIVATIONS workspace and gradients in ACTIVATION_GRAD, never returned as the input array itself.
 *
 * <pre>{@code
 * GraphVertex impl = graph.getVertex("drop");   // a DropPathVertexImpl after graph.init()
 * }</pre>
 */
public class DropPathVertexImpl extends BaseDropPathVertexImpl {

    /** Called by {@link DropPathVertex#instantiate}. */
    public DropPathVertexImpl(ComputationGraph graph, String name, int vertexIndex, DropPathVertex conf,
                              DataType dataType) {
        super(graph, name, vertexIndex, conf, dataType);
    }

    @Override
    public INDArray doForward(boolean training, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoForward()) {
            throw new IllegalStateException("Cannot do forward pass in vertex \"" + vertexName + "\": input not set");
        }
        INDArray x = inputs[0];
        RowScales s = drawScales(training, x.size(0));
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, x.dataType(), x.shape(), 'c');
        return s.multiply(x, out);
    }

    @Override
    public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        if (!canDoBackward()) {
            throw new IllegalStateException("Cannot do backward pass in vertex \"" + vertexName
                    + "\": input or epsilon not set");
        }
        RowScales s = requireScales();
        INDArray eps = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, epsilon.dataType(),
                epsilon.shape(), 'c');
        return new Pair<>(null, new INDArray[] {s.multiply(epsilon, eps)});
    }
}
