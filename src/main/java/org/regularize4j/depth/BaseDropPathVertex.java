package org.regularize4j.depth;

import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.regularize4j.util.Checks;

import java.util.Objects;

/**
 * Configuration shared by {@link DropPathVertex} and {@link StochasticDepthVertex}: the drop probability,
 * the {@link DropMode}, the {@link Scaling} and an optional seed (null: the network's seed, as set by
 * {@code NeuralNetConfiguration.Builder().seed(...)}).
 *
 * <p>Immutable: {@link #withDropProb(double)} returns a copy, which is how a {@link DepthSchedule} is
 * stamped onto an existing configuration.
 *
 * <pre>{@code
 * BaseDropPathVertex v = new DropPathVertex(0.1).withDropProb(0.3);
 * }</pre>
 */
public abstract class BaseDropPathVertex extends GraphVertex {
    private static final long serialVersionUID = 1L;

    @JsonProperty("dropProb")
    private final double dropProb;
    @JsonProperty("dropMode")
    private final DropMode dropMode;
    @JsonProperty("scaling")
    private final Scaling scaling;
    @JsonProperty("seed")
    private final Long seed;

    /**
     * @param dropProb probability of dropping the branch, in [0, 1]
     * @param dropMode ROW (per example) or BATCH (per mini-batch); null means ROW
     * @param scaling  INVERTED or AT_INFERENCE; null means INVERTED
     * @param seed     seed of the decisions; null means the network's seed
     */
    protected BaseDropPathVertex(double dropProb, DropMode dropMode, Scaling scaling, Long seed) {
        this.dropProb = Checks.probability("dropProb", dropProb);
        this.dropMode = dropMode == null ? DropMode.ROW : dropMode;
        this.scaling = scaling == null ? Scaling.INVERTED : scaling;
        this.seed = seed;
    }

    /** Probability of dropping the branch while training. */
    public double getDropProb() {
        return dropProb;
    }

    /** One decision per example (ROW) or per mini-batch (BATCH). */
    public DropMode getDropMode() {
        return dropMode;
    }

    /** Where the drop is compensated. */
    public Scaling getScaling() {
        return scaling;
    }

    /** Seed of the decisions, or null for the network's seed. */
    public Long getSeed() {
        return seed;
    }

    /** A copy with another drop probability. */
    public abstract BaseDropPathVertex withDropProb(double dropProb);

    @Override
    public long numParams(boolean backprop) {
        return 0;
    }

    @Override
    public MemoryReport getMemoryReport(InputType... inputTypes) {
        // One output activation array; the mask is one value per example.
        return new LayerMemoryReport.Builder(null, getClass(), inputTypes[0], inputTypes[0])
                .standardMemory(0, 0).workingMemory(0, 0, 0, 0).cacheMemory(0, 0).build();
    }

    /** Checks the number of inputs, naming this vertex type in the message. */
    protected void checkInputCount(int actual) {
        int expected = minVertexInputs();
        if (actual != expected) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " takes exactly " + expected
                    + (expected == 1 ? " input (the residual branch)" : " inputs (branch, shortcut)")
                    + ", got " + actual);
        }
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (o == null || o.getClass() != getClass()) {
            return false;
        }
        BaseDropPathVertex that = (BaseDropPathVertex) o;
        return Double.compare(dropProb, that.dropProb) == 0 && dropMode == that.dropMode
                && scaling == that.scaling && Objects.equals(seed, that.seed);
    }

    @Override
    public int hashCode() {
        return Objects.hash(getClass().getName(), dropProb, dropMode, scaling, seed);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(dropProb=" + dropProb + ", dropMode=" + dropMode + ", scaling="
                + scaling + (seed == null ? "" : ", seed=" + seed) + ")";
    }
}
