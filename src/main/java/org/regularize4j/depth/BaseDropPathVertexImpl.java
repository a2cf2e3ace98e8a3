package org.regularize4j.depth;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.BaseGraphVertex;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.graph.vertex.VertexIndices;
import org.deeplearning4j.nn.graph.vertex.impl.FrozenVertex;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.bool.Or;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Implementation side shared by {@link DropPathVertexImpl} and {@link StochasticDepthVertexImpl}: draws the
 * per-example multipliers of a forward pass and keeps them (outside DL4J's workspaces, one value per
 * example) for the backward pass.
 */
abstract class BaseDropPathVertexImpl extends BaseGraphVertex implements WorkerAware {
    protected final BaseDropPathVertex conf;
    /** Multipliers of the last forward pass; backprop uses exactly these. */
    protected RowScales scales;
    /** Worker of a data-parallel run this copy belongs to (ROW decisions only); 0 unless set. */
    private int workerIndex;

    BaseDropPathVertexImpl(ComputationGraph graph, String name, int vertexIndex, BaseDropPathVertex conf,
                           DataType dataType) {
        super(graph, name, vertexIndex, null, null, dataType);
        this.conf = conf;
    }

    /** The configuration this vertex was built from. */
    public BaseDropPathVertex getConf() {
        return conf;
    }

    @Override
    public void setWorkerIndex(int workerIndex) {
        this.workerIndex = org.regularize4j.util.Checks.atLeast("workerIndex", workerIndex, 0);
    }

    @Override
    public int getWorkerIndex() {
        return workerIndex;
    }

    /** The per-example multipliers used by the last forward pass, or null before the first one. */
    public RowScales getLastScales() {
        return scales;
    }

    @Override
    public void setInputVertices(VertexIndices[] inputVertices) {
        if (inputVertices != null) {
            conf.checkInputCount(inputVertices.length);
        }
        super.setInputVertices(inputVertices);
    }

    /** Draws (training) or sets (inference) the multipliers for a mini-batch of {@code numExamples}. */
    protected RowScales drawScales(boolean training, long numExamples) {
        boolean active = training && !isFrozen();
        ComputationGraphConfiguration gc = graph.getConfiguration();
        long seed = conf.getSeed() != null ? conf.getSeed() : gc.getDefaultConfiguration().getSeed();
        scales = DropPath.scales(numExamples, conf.getDropProb(), active, conf.getDropMode(), conf.getScaling(),
                seed, gc.getIterationCount(), gc.getEpochCount(), vertexIndex, workerIndex);
        return scales;
    }

    /**
     * True when this vertex sits in a frozen part of the network: TransferLearning's feature extractor and a
     * configuration's {@code FrozenVertex} both wrap it in a {@link FrozenVertex}. Like DL4J's
     * {@code FrozenLayer} with dropout, a frozen drop path behaves as at inference.
     */
    protected boolean isFrozen() {
        GraphVertex[] all = graph.getVertices();
        return all != null && vertexIndex < all.length && all[vertexIndex] instanceof FrozenVertex;
    }

    protected RowScales requireScales() {
        if (scales == null) {
            throw new IllegalStateException("Cannot do backward pass in vertex \"" + vertexName
                    + "\": no forward pass has been done");
        }
        return scales;
    }

    @Override
    public boolean hasLayer() {
        return false;
    }

    @Override
    public Layer getLayer() {
        return null;
    }

    @Override
    public void setBackpropGradientsViewArray(INDArray backpropGradientsViewArray) {
        if (backpropGradientsViewArray != null) {
            throw new IllegalStateException("Vertex \"" + vertexName + "\" has no parameters and no gradients");
        }
    }

    /** Masks pass through; with two different masks, a step counts if either input counts it. */
    @Override
    public Pair<INDArray, MaskState> feedForwardMaskArrays(INDArray[] maskArrays, MaskState currentMaskState,
                                                           int minibatchSize) {
        if (maskArrays == null || maskArrays.length == 0) {
            return new Pair<>(null, currentMaskState);
        }
        INDArray first = maskArrays[0];
        for (INDArray m : maskArrays) {
            if (m == null) {
                return new Pair<>(null, currentMaskState);
            }
        }
        for (int i = 1; i < maskArrays.length; i++) {
            if (maskArrays[i] != first) {
                INDArray ret = Nd4j.createUninitialized(DataType.BOOL, first.shape());
                Nd4j.getExecutioner().exec(new Or(first.castTo(DataType.BOOL),
                        maskArrays[i].castTo(DataType.BOOL), ret));
                return new Pair<>(ret.castTo(first.dataType()), currentMaskState);
            }
        }
        return new Pair<>(first, currentMaskState);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(id=" + vertexIndex + ",name=\"" + vertexName + "\"," + conf + ")";
    }
}
