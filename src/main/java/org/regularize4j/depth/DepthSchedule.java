package org.regularize4j.depth;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.FrozenVertex;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.regularize4j.util.Checks;

import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How the drop probability grows with depth: block {@code blockIndex} (0-based) of {@code numBlocks}
 * gets {@link #dropProb(int, int)}.
 *
 * <p>Three conventions are in use and they differ by one block; here they are for ResNet-110
 * (N = 54 blocks) with rate 0.5:
 * <table>
 *   <caption>First and last drop probabilities for N = 54, rate 0.5</caption>
 *   <tr><th>schedule</th><th>formula (idx = 0..N-1)</th><th>first block</th><th>last block</th><th>used by</th></tr>
 *   <tr><td>{@link #linear(double) linear(0.5)}</td><td>rate·(idx+1)/N</td><td>0.00926</td><td>0.5</td>
 *       <td>Huang et al. 2016: p_l = 1 − l/L·(1 − p_L), l = 1..L; rate = 1 − p_L</td></tr>
 *   <tr><td>{@link #efficientNet(double) efficientNet(0.5)}</td><td>rate·idx/N</td><td>0</td><td>0.49074</td>
 *       <td>EfficientNet, the seed article: {@code drop_rate * idx / len(blocks)}</td></tr>
 *   <tr><td>{@link #linspace(double) linspace(0.5)}</td><td>rate·idx/(N−1)</td><td>0</td><td>0.5</td>
 *       <td>timm: {@code torch.linspace(0, drop_path_rate, N)}</td></tr>
 * </table>
 * Also {@link #constant(double)} and {@link #of(double...)} (explicit values).
 *
 * <p>{@link #applyTo(ComputationGraphConfiguration)} stamps a schedule onto the drop-path vertices of an
 * existing graph configuration, numbering them in topological order.
 *
 * <pre>{@code
 * DepthSchedule s = DepthSchedule.linear(0.5);
 * double first = s.dropProb(0, 54);    // 0.5 / 54
 * double last = s.dropProb(53, 54);    // 0.5
 * }</pre>
 */
public final class DepthSchedule implements Serializable {
    private static final long serialVersionUID = 1L;

    private enum Kind { LINEAR, EFFICIENTNET, LINSPACE, CONSTANT, EXPLICIT }

    private final Kind kind;
    private final double rate;
    private final double[] values;

    private DepthSchedule(Kind kind, double rate, double[] values) {
        this.kind = kind;
        this.rate = rate;
        this.values = values;
    }

    /**
     * Huang et al.'s linear decay: block l = idx + 1 of L gets l/L·finalDropProb, so the last block gets
     * finalDropProb (the paper's survival p_L = 1 − finalDropProb; its default p_L = 0.5).
     */
    public static DepthSchedule linear(double finalDropProb) {
        return new DepthSchedule(Kind.LINEAR, Checks.probability("finalDropProb", finalDropProb), null);
    }

    /** EfficientNet's (and the seed article's) rate·idx/N: the first block gets 0, the last rate·(N−1)/N. */
    public static DepthSchedule efficientNet(double rate) {
        return new DepthSchedule(Kind.EFFICIENTNET, Checks.probability("rate", rate), null);
    }

    /** timm's evenly spaced values from 0 (first block) to rate (last block); a single block gets 0. */
    public static DepthSchedule linspace(double rate) {
        return new DepthSchedule(Kind.LINSPACE, Checks.probability("rate", rate), null);
    }

    /** The same drop probability for every block. */
    public static DepthSchedule constant(double dropProb) {
        return new DepthSchedule(Kind.CONSTANT, Checks.probability("dropProb", dropProb), null);
    }

    /** Explicit per-block drop probabilities; {@code numBlocks} must then equal their count. */
    public static DepthSchedule of(double... dropProbs) {
        Checks.notNull("dropProbs", dropProbs);
        if (dropProbs.length == 0) {
            throw new IllegalArgumentException("dropProbs must have at least one value, got 0");
        }
        for (int i = 0; i < dropProbs.length; i++) {
            Checks.probability("dropProbs[" + i + "]", dropProbs[i]);
        }
        return new DepthSchedule(Kind.EXPLICIT, Double.NaN, dropProbs.clone());
    }

    /**
     * Drop probability of block {@code blockIndex} (0-based) among {@code numBlocks}.
     */
    public double dropProb(int blockIndex, int numBlocks) {
        Checks.atLeast("numBlocks", numBlocks, 1);
        Checks.index("blockIndex", blockIndex, numBlocks);
        switch (kind) {
            case LINEAR:
                return rate * (blockIndex + 1) / numBlocks;
            case EFFICIENTNET:
                return rate * blockIndex / numBlocks;
            case LINSPACE:
                return numBlocks == 1 ? 0.0 : rate * blockIndex / (numBlocks - 1);
            case CONSTANT:
                return rate;
            default:
                if (numBlocks != values.length) {
                    throw new IllegalArgumentException("numBlocks must equal the " + values.length
                            + " values of this schedule, got " + numBlocks);
                }
                return values[blockIndex];
        }
    }

    /** All drop probabilities for {@code numBlocks} blocks. */
    public double[] dropProbs(int numBlocks) {
        Checks.atLeast("numBlocks", numBlocks, 1);
        double[] out = new double[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            out[i] = dropProb(i, numBlocks);
        }
        return out;
    }

    /**
     * Sets the drop probability of every {@link DropPathVertex} and {@link StochasticDepthVertex} in
     * {@code conf} (also inside a {@code FrozenVertex}) from this schedule, numbering them 0..N−1 in the
     * topological order of the graph (ties broken as DL4J breaks them). Mode, scaling and seed are kept.
     *
     * @return the names of the stamped vertices, in block order
     * @throws IllegalArgumentException if the configuration has no drop-path vertex
     */
    public List<String> applyTo(ComputationGraphConfiguration conf) {
        Checks.notNull("conf", conf);
        Map<String, GraphVertex> vertices = conf.getVertices();
        List<String> names = new ArrayList<>();
        for (String name : topologicalOrder(conf)) {
            if (dropPathOf(vertices.get(name)) != null) {
                names.add(name);
            }
        }
        if (names.isEmpty()) {
            throw new IllegalArgumentException("conf has no DropPathVertex or StochasticDepthVertex to apply "
                    + this + " to");
        }
        for (int i = 0; i < names.size(); i++) {
            GraphVertex v = vertices.get(names.get(i));
            BaseDropPathVertex stamped = dropPathOf(v).withDropProb(dropProb(i, names.size()));
            vertices.put(names.get(i), v instanceof FrozenVertex ? new FrozenVertex(stamped) : stamped);
        }
        return names;
    }

    private static BaseDropPathVertex dropPathOf(GraphVertex v) {
        if (v instanceof FrozenVertex) {
            v = ((FrozenVertex) v).getUnderlying();
        }
        return v instanceof BaseDropPathVertex ? (BaseDropPathVertex) v : null;
    }

    /** Kahn's algorithm with a FIFO queue seeded by the network inputs, as DL4J orders a graph. */
    static List<String> topologicalOrder(ComputationGraphConfiguration conf) {
        Map<String, List<String>> inputsOf = conf.getVertexInputs();
        Map<String, List<String>> outputsOf = new HashMap<>();
        Map<String, Integer> pending = new HashMap<>();
        for (Map.Entry<String, List<String>> e : inputsOf.entrySet()) {
            pending.put(e.getKey(), e.getValue().size());
            for (String in : e.getValue()) {
                outputsOf.computeIfAbsent(in, k -> new ArrayList<>()).add(e.getKey());
            }
        }
        Deque<String> ready = new ArrayDeque<>(conf.getNetworkInputs());
        List<String> order = new ArrayList<>();
        while (!ready.isEmpty()) {
            String next = ready.removeFirst();
            order.add(next);
            for (String out : outputsOf.getOrDefault(next, List.of())) {
                if (pending.merge(out, -1, Integer::sum) == 0) {
                    ready.addLast(out);
                }
            }
        }
        return order;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof DepthSchedule)) {
            return false;
        }
        DepthSchedule that = (DepthSchedule) o;
        return kind == that.kind && Double.compare(rate, that.rate) == 0 && Arrays.equals(values, that.values);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, rate, Arrays.hashCode(values));
    }

    @Override
    public String toString() {
        switch (kind) {
            case LINEAR:
                return "DepthSchedule.linear(" + rate + ")";
            case EFFICIENTNET:
                return "DepthSchedule.efficientNet(" + rate + ")";
            case LINSPACE:
                return "DepthSchedule.linspace(" + rate + ")";
            case CONSTANT:
                return "DepthSchedule.constant(" + rate + ")";
            default:
                return "DepthSchedule.of" + Arrays.toString(values).replace('[', '(').replace(']', ')');
        }
    }
}
