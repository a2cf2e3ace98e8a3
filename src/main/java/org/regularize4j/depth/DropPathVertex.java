package org.regularize4j.depth;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Drop path on a residual branch: a graph vertex with one input (the branch) whose output is the branch,
 * zeroed for dropped examples and scaled as {@link Scaling} says for kept ones. Add the shortcut after it
 * with an {@code ElementWiseVertex(Add)}, or use {@link StochasticDepthVertex}, which does both in one
 * vertex without a full-size mask.
 *
 * <p>Decisions depend on (seed, iteration, epoch, vertex index) only, so backprop, gradient checks, resumed
 * runs and parallel workers see the same mask (see {@link DropDecisions}). Inside a frozen part of a
 * network ({@code FrozenVertex}, TransferLearning's feature extractor) the vertex behaves as at inference.
 *
 * <pre>{@code
 * ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(42).graphBuilder()
 *         .addInputs("in")
 *         .addLayer("stem", new DenseLayer.Builder().nIn(4).nOut(8).activation(Activation.TANH).build(), "in")
 *         .addLayer("branch", new DenseLayer.Builder().nIn(8).nOut(8).activation(Activation.TANH).build(), "stem")
 *         .addVertex("drop", new DropPathVertex(0.2), "branch")
 *         .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "drop", "stem")
 *         .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(8).nOut(3)
 *                 .activation(Activation.SOFTMAX).build(), "sum")
 *         .setOutputs("out").build();
 * }</pre>
 */
public class DropPathVertex extends BaseDropPathVertex {
    private static final long serialVersionUID = 1L;

    /** Per-example drop path with inverted scaling and the network's seed. */
    public DropPathVertex(double dropProb) {
        this(dropProb, DropMode.ROW, Scaling.INVERTED, null);
    }

    /** Drop path with a chosen mode, inverted scaling and the network's seed. */
    public DropPathVertex(double dropProb, DropMode dropMode) {
        this(dropProb, dropMode, Scaling.INVERTED, null);
    }

    /**
     * @param dropProb probability of dropping the branch, in [0, 1]
     * @param dropMode ROW or BATCH (null: ROW)
     * @param scaling  INVERTED or AT_INFERENCE (null: INVERTED)
     * @param seed     seed of the decisions (null: the network's seed)
     */
    @JsonCreator
    public DropPathVertex(@JsonProperty("dropProb") double dropProb, @JsonProperty("dropMode") DropMode dropMode,
                          @JsonProperty("scaling") Scaling scaling, @JsonProperty("seed") Long seed) {
        super(dropProb, dropMode, scaling, seed);
    }

    @Override
    public DropPathVertex withDropProb(double dropProb) {
        return new DropPathVertex(dropProb, getDropMode(), getScaling(), getSeed());
    }

    @Override
    public DropPathVertex clone() {
        return new DropPathVertex(getDropProb(), getDropMode(), getScaling(), getSeed());
    }

    @Override
    public int minVertexInputs() {
        return 1;
    }

    /**
     * Larger than 1 on purpose: DL4J's GraphBuilder silently inserts a MergeVertex in front of a vertex whose
     * maximum is 1 when it is given several inputs; we reject that case with a clear message instead.
     */
    @Override
    public int maxVertexInputs() {
        return Integer.MAX_VALUE;
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                                                                      INDArray paramsView, boolean initializeParams,
                                                                      DataType networkDatatype) {
        return new DropPathVertexImpl(graph, name, idx, this, networkDatatype);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) {
        checkInputCount(vertexInputs.length);
        return vertexInputs[0];
    }
}
