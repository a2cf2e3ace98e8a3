package org.regularize4j.depth;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;

import java.util.Arrays;

/**
 * The residual sum with stochastic depth: two inputs in this order, (branch, shortcut), and output
 * {@code shortcut + mask * branch}, where the mask holds one value per example (ROW) or per mini-batch
 * (BATCH): 0 when the branch is dropped, 1/keepProb (INVERTED) or 1 (AT_INFERENCE) when kept. It replaces
 * the {@code ElementWiseVertex(Add)} of a residual block and costs about the same; no full-size mask is
 * ever made.
 *
 * <p>Decisions depend on (seed, iteration, epoch, vertex index) only (see {@link DropDecisions}); inside a
 * frozen part of a network the vertex behaves as at inference.
 *
 * <pre>{@code
 * ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(42).graphBuilder()
 *         .addInputs("in")
 *         .addLayer("stem", new DenseLayer.Builder().nIn(4).nOut(8).activation(Activation.TANH).build(), "in")
 *         .addLayer("branch", new DenseLayer.Builder().nIn(8).nOut(8).activation(Activation.TANH).build(), "stem")
 *         .addVertex("res", new StochasticDepthVertex(0.2), "branch", "stem")   // (branch, shortcut)
 *         .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(8).nOut(3)
 *                 .activation(Activation.SOFTMAX).build(), "res")
 *         .setOutputs("out").build();
 * }</pre>
 */
public class StochasticDepthVertex extends BaseDropPathVertex {
    private static final long serialVersionUID = 1L;

    /** Per-example stochastic depth with inverted scaling and the network's seed. */
    public StochasticDepthVertex(double dropProb) {
        this(dropProb, DropMode.ROW, Scaling.INVERTED, null);
    }

    /** Stochastic depth with a chosen mode, inverted scaling and the network's seed. */
    public StochasticDepthVertex(double dropProb, DropMode dropMode) {
        this(dropProb, dropMode, Scaling.INVERTED, null);
    }

    /**
     * @param dropProb probability of dropping the branch, in [0, 1]
     * @param dropMode ROW or BATCH (null: ROW)
     * @param scaling  INVERTED or AT_INFERENCE (null: INVERTED)
     * @param seed     seed of the decisions (null: the network's seed)
     */
    @JsonCreator
    public StochasticDepthVertex(@JsonProperty("dropProb") double dropProb,
                                 @JsonProperty("dropMode") DropMode dropMode,
                                 @JsonProperty("scaling") Scaling scaling, @JsonProperty("seed") Long seed) {
        super(dropProb, dropMode, scaling, seed);
    }

    @Override
    public StochasticDepthVertex withDropProb(double dropProb) {
        return new StochasticDepthVertex(dropProb, getDropMode(), getScaling(), getSeed());
    }

    @Override
    public StochasticDepthVertex clone() {
        return new StochasticDepthVertex(getDropProb(), getDropMode(), getScaling(), getSeed());
    }

    @Override
    public int minVertexInputs() {
        return 2;
    }

    @Override
    public int maxVertexInputs() {
        return 2;
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                                                                      INDArray paramsView, boolean initializeParams,
                                                                      DataType networkDatatype) {
        return new StochasticDepthVertexImpl(graph, name, idx, this, networkDatatype);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) {
        checkInputCount(vertexInputs.length);
        InputType branch = vertexInputs[0];
        InputType shortcut = vertexInputs[1];
        if (branch.getType() != shortcut.getType()
                || !sameShape(branch.getShape(false), shortcut.getShape(false))) {
            throw new IllegalArgumentException("StochasticDepthVertex: branch and shortcut must have the same shape,"
                    + " got branch " + branch + " and shortcut " + shortcut);
        }
        return branch;
    }

    private static boolean sameShape(long[] a, long[] b) {
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            if (a[i] != b[i] && a[i] >= 0 && b[i] >= 0) { // -1: unknown (e.g. time series length)
                return false;
            }
        }
        return true;
    }

    static String shapes(INDArray branch, INDArray shortcut) {
        return "branch " + Arrays.toString(branch.shape()) + " and shortcut " + Arrays.toString(shortcut.shape());
    }
}
