package org.regularize4j.optim;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.MultiLayerUpdater;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.schedule.ISchedule;
import org.regularize4j.backend.FlatGradientUpdater;
import org.regularize4j.util.Checks;

import java.io.Serializable;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Layer-wise learning-rate decay (BEiT; timm's {@code param_groups_layer_decay}): layer {@code i} of a network
 * with depth indices {@code 0..L} learns at {@code lr · decay^(L − i)}, so the layers near the input, which hold
 * the most general features of a pretrained network, move least when it is fine-tuned.
 *
 * <p><b>Depth</b>, as timm assigns it (every layer with parameters gets one; layers without parameters none):
 * <ul>
 *   <li>on the {@link org.regularize4j.resnet.ResNet} builder's networks (layers {@code stage<s>.block<b>}): the
 *       stem (everything before the first block) is 0, the blocks 1..B in (stage, block) order, and the head
 *       (everything after the last block, the classifier {@code fc}) is {@code L = B + 1}: timm's fine-grained
 *       ResNet groups;</li>
 *   <li>on any other network: its layers with parameters in topological order are 0, 1, ..., and the output
 *       layers (the head) share {@code L}, one more than the last of the others;</li>
 *   <li>{@link #withDepth(String, int)} overrides a layer's depth (for custom groupings, e.g. a batch
 *       normalization with its convolution); {@code L} is then the largest depth.</li>
 * </ul>
 *
 * <p><b>How.</b> Each layer's updater is replaced by a copy whose learning rate is a {@link LayerLrSchedule}:
 * {@code multiplier ×} the original updater's rate (its schedule included). The updater class and its arithmetic
 * stay the same, so this works for the {@link TorchOptimizer} updaters and for DL4J's own (any updater with a
 * learning rate; {@code NoOp}, e.g. of frozen layers and running statistics, is left alone; {@code AdaDelta},
 * which has no learning rate, is rejected). The multipliers are part of the configuration: they survive JSON,
 * {@code ModelSerializer} and TransferLearning (which clones the layers it keeps; the layers it adds get the
 * plain updater, so apply again to give the new head its depth). Applying again, with this or another decay,
 * starts from the original updaters: it never compounds.
 *
 * <p>On an initialized network the updater is rebuilt (layers with different rates no longer share DL4J's
 * updater blocks), which is only allowed while its state is zero (before training): apply it to the
 * configuration, to a new network, or right after TransferLearning.
 *
 * <pre>{@code
 * ComputationGraph net = ResNet.cifar(20).inputShape(1, 28, 28).numClasses(10)
 *         .updater(new TorchSgd(0.01, 0.9, true)).build();
 * LayerDecay decay = LayerDecay.of(0.7);
 * decay.applyTo(net);   // stem: lr * 0.7^10, stage1.block1: lr * 0.7^9, ..., stage3.block3: lr * 0.7, fc: lr
 * LoggerFactory.getLogger("example").info("\n{}", decay.describe(net));
 * }</pre>
 */
public final class LayerDecay implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Pattern BLOCK = Pattern.compile("stage(\\d+)\\.block(\\d+)");

    private final double decay;
    private final Map<String, Integer> overrides;

    private LayerDecay(double decay, Map<String, Integer> overrides) {
        this.decay = decay;
        this.overrides = Collections.unmodifiableMap(new LinkedHashMap<>(overrides));
    }

    /** @param decay in (0, 1] (BEiT and timm use 0.65-0.75 for fine-tuning) */
    public static LayerDecay of(double decay) {
        if (!(decay > 0.0 && decay <= 1.0)) {
            throw new IllegalArgumentException("decay must be in (0, 1], got " + decay);
        }
        return new LayerDecay(decay, Collections.emptyMap());
    }

    /** A copy that gives layer {@code layerName} depth {@code depth} (>= 0) instead of the computed one. */
    public LayerDecay withDepth(String layerName, int depth) {
        Checks.notNull("layerName", layerName);
        Checks.atLeast("depth", depth, 0);
        Map<String, Integer> o = new LinkedHashMap<>(overrides);
        o.put(layerName, depth);
        return new LayerDecay(decay, o);
    }

    /** A copy with every override of {@code depths} (layer name to depth, each >= 0) added. */
    public LayerDecay withDepths(Map<String, Integer> depths) {
        LayerDecay d = this;
        for (Map.Entry<String, Integer> e : Checks.notNull("depths", depths).entrySet()) {
            d = d.withDepth(e.getKey(), Checks.notNull("depth of " + e.getKey(), e.getValue()));
        }
        return d;
    }

    public double getDecay() {
        return decay;
    }

    /** The depth overrides (layer name to depth). */
    public Map<String, Integer> getOverrides() {
        return overrides;
    }

    // ------------------------------------------------------------------------------------------ depths

    /** One layer of a network, in topological order. */
    private record Entry(String name, Layer layer, boolean output) {
    }

    /** Each layer with parameters and its depth, in topological order. */
    public Map<String, Integer> depths(ComputationGraphConfiguration conf) {
        return depths(layers(Checks.notNull("conf", conf)));
    }

    /** Each layer with parameters and its depth, in order. */
    public Map<String, Integer> depths(MultiLayerConfiguration conf) {
        return depths(layers(Checks.notNull("conf", conf)));
    }

    /** Each layer with parameters and its learning-rate multiplier {@code decay^(L − depth)}, in order. */
    public Map<String, Double> multipliers(ComputationGraphConfiguration conf) {
        return multipliers(depths(conf));
    }

    /** Each layer with parameters and its learning-rate multiplier {@code decay^(L − depth)}, in order. */
    public Map<String, Double> multipliers(MultiLayerConfiguration conf) {
        return multipliers(depths(conf));
    }

    private Map<String, Double> multipliers(Map<String, Integer> depths) {
        int max = depths.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        Map<String, Double> out = new LinkedHashMap<>();
        for (Map.Entry<String, Integer> e : depths.entrySet()) {
            out.put(e.getKey(), Math.pow(decay, max - e.getValue()));
        }
        return out;
    }

    private Map<String, Integer> depths(List<Entry> all) {
        List<Entry> layers = new ArrayList<>();
        for (Entry e : all) {
            if (numParams(e) > 0) {
                layers.add(e);
            }
        }
        Map<String, Integer> depths = hasBlocks(layers) ? resnetDepths(layers) : topologicalDepths(layers);
        for (Map.Entry<String, Integer> o : overrides.entrySet()) {
            if (all.stream().noneMatch(e -> e.name().equals(o.getKey()))) {
                List<String> names = new ArrayList<>();
                all.forEach(e -> names.add(e.name()));
                throw new IllegalArgumentException("LayerDecay override names layer '" + o.getKey() + "', but the"
                        + " network has no such layer; its layers are " + names);
            }
            if (depths.containsKey(o.getKey())) {
                depths.put(o.getKey(), o.getValue());
            }
        }
        return depths;
    }

    private static boolean hasBlocks(List<Entry> layers) {
        return layers.stream().anyMatch(e -> BLOCK.matcher(e.name()).matches());
    }

    /** Stem 0, blocks 1..B in (stage, block) order, head B + 1; others take the depth of the block before them. */
    private static Map<String, Integer> resnetDepths(List<Entry> layers) {
        List<int[]> keys = new ArrayList<>();
        for (Entry e : layers) {
            Matcher m = BLOCK.matcher(e.name());
            if (m.matches()) {
                keys.add(new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))});
            }
        }
        keys.sort((a, b) -> a[0] != b[0] ? Integer.compare(a[0], b[0]) : Integer.compare(a[1], b[1]));
        Map<String, Integer> blockDepth = new HashMap<>();
        for (int i = 0; i < keys.size(); i++) {
            blockDepth.put("stage" + keys.get(i)[0] + ".block" + keys.get(i)[1], i + 1);
        }
        int lastBlock = -1;
        for (int i = 0; i < layers.size(); i++) {
            if (blockDepth.containsKey(canonical(layers.get(i).name()))) {
                lastBlock = i;
            }
        }
        Map<String, Integer> out = new LinkedHashMap<>();
        int current = 0;
        for (int i = 0; i < layers.size(); i++) {
            Integer d = blockDepth.get(canonical(layers.get(i).name()));
            if (d != null) {
                current = d;
            }
            out.put(layers.get(i).name(), d != null ? d : i > lastBlock ? keys.size() + 1 : current);
        }
        return out;
    }

    /** {@code stage01.block2} as {@code stage1.block2}. */
    private static String canonical(String name) {
        Matcher m = BLOCK.matcher(name);
        return m.matches() ? "stage" + Integer.parseInt(m.group(1)) + ".block" + Integer.parseInt(m.group(2)) : name;
    }

    /** The other layers 0, 1, ... in topological order; the output layers one more. */
    private static Map<String, Integer> topologicalDepths(List<Entry> layers) {
        Map<String, Integer> out = new LinkedHashMap<>();
        int trunk = (int) layers.stream().filter(e -> !e.output()).count();
        int next = 0;
        for (Entry e : layers) {
            out.put(e.name(), e.output() ? trunk : next++);
        }
        return out;
    }

    private static long numParams(Entry e) {
        try {
            return e.layer().initializer().numParams(e.layer());
        } catch (RuntimeException ex) {
            throw new IllegalStateException("LayerDecay cannot tell whether layer '" + e.name() + "' has parameters ("
                    + ex + "); apply it to the built configuration, where nIn is set", ex);
        }
    }

    private static List<Entry> layers(ComputationGraphConfiguration conf) {
        Map<String, GraphVertex> vertices = conf.getVertices();
        Map<String, List<String>> inputs = conf.getVertexInputs();
        List<String> names = new ArrayList<>(vertices.keySet());
        Map<String, Integer> pending = new HashMap<>();
        for (String v : names) {
            int n = 0;
            for (String in : inputs.getOrDefault(v, Collections.emptyList())) {
                n += vertices.containsKey(in) ? 1 : 0;
            }
            pending.put(v, n);
        }
        // Kahn's algorithm; among ready vertices the one added first to the configuration goes first
        List<Entry> out = new ArrayList<>();
        boolean progress = true;
        List<String> done = new ArrayList<>();
        while (progress) {
            progress = false;
            for (String v : names) {
                if (pending.get(v) == 0 && !done.contains(v)) {
                    done.add(v);
                    progress = true;
                    for (String w : names) {
                        for (String in : inputs.getOrDefault(w, Collections.emptyList())) {
                            if (in.equals(v)) {
                                pending.put(w, pending.get(w) - 1);
                            }
                        }
                    }
                    GraphVertex gv = vertices.get(v);
                    if (gv instanceof LayerVertex) {
                        out.add(new Entry(v, ((LayerVertex) gv).getLayerConf().getLayer(),
                                conf.getNetworkOutputs().contains(v)));
                    }
                    break;
                }
            }
        }
        if (done.size() != names.size()) {
            throw new IllegalArgumentException("the graph has a cycle; vertices not ordered: " + names.stream()
                    .filter(n -> !done.contains(n)).toList());
        }
        return out;
    }

    private static List<Entry> layers(MultiLayerConfiguration conf) {
        List<Entry> out = new ArrayList<>();
        List<NeuralNetConfiguration> confs = conf.getConfs();
        for (int i = 0; i < confs.size(); i++) {
            out.add(new Entry(layerName(confs.get(i).getLayer(), i), confs.get(i).getLayer(), i == confs.size() - 1));
        }
        return out;
    }

    private static String layerName(Layer layer, int index) {
        return layer.getLayerName() == null ? "layer" + index : layer.getLayerName();
    }

    // ------------------------------------------------------------------------------------------ apply

    /** Sets every layer's learning-rate multiplier in the (built) configuration; returns it. */
    public ComputationGraphConfiguration applyTo(ComputationGraphConfiguration conf) {
        apply(layers(Checks.notNull("conf", conf)));
        return conf;
    }

    /** Sets every layer's learning-rate multiplier in the (built) configuration; returns it. */
    public MultiLayerConfiguration applyTo(MultiLayerConfiguration conf) {
        apply(layers(Checks.notNull("conf", conf)));
        return conf;
    }

    private void apply(List<Entry> layers) {
        Map<String, Double> m = multipliers(depths(layers));
        for (Entry e : layers) {
            if (m.containsKey(e.name())) {
                setMultiplier(e.name(), e.layer(), m.get(e.name()));
            }
        }
    }

    /**
     * Sets the multipliers in an initialized network's layers (their configuration objects are the network's)
     * and rebuilds its updater, keeping the updater class (e.g. {@link FlatGradientUpdater}); returns it.
     *
     * @throws IllegalStateException if the updater state is not zero (the network has trained)
     */
    public ComputationGraph applyTo(ComputationGraph net) {
        Checks.notNull("net", net);
        ComputationGraphUpdater before = net.getUpdater(false);
        checkFreshUpdater(before == null ? null : before.getStateViewArray(), net.getIterationCount());
        applyTo(net.getConfiguration());
        if (before != null) {
            net.setUpdater(before instanceof FlatGradientUpdater ? new FlatGradientUpdater(net, null)
                    : new ComputationGraphUpdater(net));
        }
        return net;
    }

    /** As {@link #applyTo(ComputationGraph)} for a MultiLayerNetwork. */
    public MultiLayerNetwork applyTo(MultiLayerNetwork net) {
        Checks.notNull("net", net);
        Updater before = net.getUpdater(false);
        checkFreshUpdater(before == null ? null : before.getStateViewArray(), net.getIterationCount());
        applyTo(net.getLayerWiseConfigurations());
        if (before != null) {
            net.setUpdater(new MultiLayerUpdater(net));
        }
        return net;
    }

    private static void checkFreshUpdater(INDArray state, int iterations) {
        if (state != null && state.length() > 0 && state.amaxNumber().doubleValue() != 0.0) {
            throw new IllegalStateException("LayerDecay changes which layers share DL4J's updater blocks, so it must"
                    + " be applied before training; this network has updater state (after " + iterations
                    + " iterations). Apply it to the configuration, to a new network, or right after TransferLearning");
        }
    }

    private static void setMultiplier(String name, Layer layer, double multiplier) {
        List<BaseLayer> trained = trained(layer);
        if (trained == null) {
            throw new IllegalArgumentException("LayerDecay cannot set the learning rate of layer '" + name + "' ("
                    + layer.getClass().getSimpleName() + "): it is not a BaseLayer (nor a wrapper of one)");
        }
        for (BaseLayer b : trained) {
            if (b.getIUpdater() == null) {
                throw new IllegalStateException("layer '" + name + "' has no updater yet; apply LayerDecay to the"
                        + " built configuration");
            }
            b.setIUpdater(scaled(name, b.getIUpdater(), multiplier));
            if (b.getBiasUpdater() != null) {
                b.setBiasUpdater(scaled(name, b.getBiasUpdater(), multiplier));
            }
        }
    }

    /**
     * The BaseLayers that a layer configuration trains, through wrappers (Bidirectional: both); none for a frozen
     * layer; null for a layer that is none of these.
     */
    private static List<BaseLayer> trained(Layer layer) {
        if (layer instanceof FrozenLayer || layer instanceof FrozenLayerWithBackprop) {
            return List.of();
        }
        if (layer instanceof Bidirectional) {
            List<BaseLayer> fwd = trained(((Bidirectional) layer).getFwd());
            List<BaseLayer> bwd = trained(((Bidirectional) layer).getBwd());
            if (fwd == null || bwd == null) {
                return null;
            }
            List<BaseLayer> both = new ArrayList<>(fwd);
            both.addAll(bwd);
            return both;
        }
        if (layer instanceof BaseWrapperLayer) {
            return trained(((BaseWrapperLayer) layer).getUnderlying());
        }
        return layer instanceof BaseLayer ? List.of((BaseLayer) layer) : null;
    }

    /** A copy of the layer's original updater with its rate times {@code multiplier}. */
    static IUpdater scaled(String name, IUpdater updater, double multiplier) {
        if (updater instanceof NoOp) {
            return updater;
        }
        if (!updater.hasLearningRate()) {
            throw new IllegalArgumentException("layer '" + name + "' uses " + updater + ", which has no learning rate"
                    + " to scale; LayerDecay needs an updater with one (TorchSgd, TorchAdam, Sgd, Adam, Nesterovs, ...)");
        }
        IUpdater original = original(updater);
        IUpdater out = original.clone();
        if (multiplier != 1.0) {
            out.setLrAndSchedule(multiplier * original.getLearningRate(0, 0), new LayerLrSchedule(original, multiplier));
        }
        return out;
    }

    /** The updater before any layer decay. */
    private static IUpdater original(IUpdater updater) {
        ISchedule s = schedule(updater);
        return s instanceof LayerLrSchedule ? ((LayerLrSchedule) s).getOriginal() : updater;
    }

    /** The updater's learning-rate schedule (or null), read through its {@code getLearningRateSchedule()}. */
    private static ISchedule schedule(IUpdater updater) {
        if (updater instanceof TorchSgd) {
            return ((TorchSgd) updater).getLearningRateSchedule();
        }
        if (updater instanceof TorchAdam) {
            return ((TorchAdam) updater).getLearningRateSchedule();
        }
        try {   // DL4J's updaters (Sgd, Adam, Nesterovs, RmsProp, ...) have the Lombok getter
            Method getter = updater.getClass().getMethod("getLearningRateSchedule");
            Object s = getter.invoke(updater);
            return s instanceof ISchedule ? (ISchedule) s : null;
        } catch (NoSuchMethodException | IllegalAccessException | InvocationTargetException e) {
            throw new IllegalArgumentException("LayerDecay cannot read the learning-rate schedule of "
                    + updater.getClass().getName() + " (no public getLearningRateSchedule())", e);
        }
    }

    // ------------------------------------------------------------------------------------------ read back, describe

    /** The multiplier each layer with parameters has in this configuration (1 without layer decay), in order. */
    public static Map<String, Double> multipliersIn(ComputationGraphConfiguration conf) {
        return multipliersIn(layers(Checks.notNull("conf", conf)));
    }

    /** The multiplier each layer with parameters has in this configuration (1 without layer decay), in order. */
    public static Map<String, Double> multipliersIn(MultiLayerConfiguration conf) {
        return multipliersIn(layers(Checks.notNull("conf", conf)));
    }

    private static Map<String, Double> multipliersIn(List<Entry> layers) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Entry e : layers) {
            if (numParams(e) > 0) {
                IUpdater u = updaterOf(e.layer());
                ISchedule s = u == null || u instanceof NoOp || !u.hasLearningRate() ? null : schedule(u);
                out.put(e.name(), s instanceof LayerLrSchedule ? ((LayerLrSchedule) s).getMultiplier() : 1.0);
            }
        }
        return out;
    }

    /** The weight updater of a layer (through wrappers), or null (frozen, or no BaseLayer). */
    private static IUpdater updaterOf(Layer layer) {
        List<BaseLayer> trained = trained(layer);
        return trained == null || trained.isEmpty() ? null : trained.get(0).getIUpdater();
    }

    /** The table of {@link #describe(Model)} for a configuration. */
    public String describe(ComputationGraphConfiguration conf) {
        return table(layers(Checks.notNull("conf", conf)), depths(conf));
    }

    /** The table of {@link #describe(Model)} for a configuration. */
    public String describe(MultiLayerConfiguration conf) {
        return table(layers(Checks.notNull("conf", conf)), depths(conf));
    }

    /**
     * One row per layer with parameters: name, type, depth, multiplier and the learning rate it gets at iteration
     * 0 (the original updater's rate times the multiplier; "frozen" for frozen layers).
     */
    public String describe(Model net) {
        if (net instanceof ComputationGraph) {
            return describe(((ComputationGraph) net).getConfiguration());
        }
        if (net instanceof MultiLayerNetwork) {
            return describe(((MultiLayerNetwork) net).getLayerWiseConfigurations());
        }
        throw new IllegalArgumentException("net must be a ComputationGraph or MultiLayerNetwork, got "
                + (net == null ? "null" : net.getClass().getName()));
    }

    private String table(List<Entry> layers, Map<String, Integer> depths) {
        Map<String, Double> m = multipliers(depths);
        int max = depths.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        int nameWidth = Math.max(5, depths.keySet().stream().mapToInt(String::length).max().orElse(5));
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "layer decay %s, L = %d%n", decay, max));
        sb.append(String.format(Locale.ROOT, "%-" + nameWidth + "s  %-22s  %5s  %10s  %12s%n", "layer", "type",
                "depth", "multiplier", "lr (step 0)"));
        for (Entry e : layers) {
            if (!depths.containsKey(e.name())) {
                continue;
            }
            IUpdater u = updaterOf(e.layer());
            String lr = u == null || u instanceof NoOp ? "frozen" : !u.hasLearningRate() ? "-" : String.format(
                    Locale.ROOT, "%.4g", m.get(e.name()) * original(u).getLearningRate(0, 0));
            sb.append(String.format(Locale.ROOT, "%-" + nameWidth + "s  %-22s  %5d  %10.4g  %12s%n", e.name(),
                    e.layer().getClass().getSimpleName(), depths.get(e.name()), m.get(e.name()), lr));
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LayerDecay && decay == ((LayerDecay) o).decay && overrides.equals(((LayerDecay) o).overrides);
    }

    @Override
    public int hashCode() {
        return 31 * Double.hashCode(decay) + overrides.hashCode();
    }

    @Override
    public String toString() {
        return "LayerDecay(" + decay + (overrides.isEmpty() ? "" : ", depths " + overrides) + ")";
    }
}
