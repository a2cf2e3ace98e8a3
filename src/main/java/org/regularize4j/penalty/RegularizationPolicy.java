package org.regularize4j.penalty;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.learning.regularization.L1Regularization;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.regularize4j.util.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which parameter gets which penalty, declared once as ordered {@link Rule}s and written into a DL4J
 * configuration as explicit per-layer lists, so that what DL4J does is exactly what the policy says.
 *
 * <p><b>Rules.</b> Each rule selects parameters ({@link Selector}: layer name glob/regex, layer type,
 * {@link ParamKind}, parameter key) and penalizes, also-penalizes or exempts them; rules apply in order and later
 * rules override earlier ones. A parameter no rule selects gets no penalty (this also removes whatever DL4J's
 * global {@code .l2()/.weightDecay()} merged into the layer). Errors are {@link IllegalArgumentException}s that
 * quote the rule: a rule that selects nothing (unless {@link Rule#optional()}), two penalties of one family on a
 * parameter (two L1-type, or two L2/decay-type such as L2Penalty plus DecoupledWeightDecay: "conflicting
 * rules"), parameters that share one DL4J list but get different lists (an LSTM's W and RW), penalties on a
 * parameter the layer cannot penalize (stock BatchNormalization's gamma/beta: use {@link
 * PenalizedBatchNormalization}) or on running statistics. On error the configuration is left unchanged.
 *
 * <p><b>Presets.</b> {@link #standard(double)} is timm's rule: weights decayed ({@link L2Penalty}, PyTorch's
 * coupled {@code weight_decay}), biases, normalization gains/shifts and other parameters exempt.
 * {@link #standard(Regularization)} takes the weight penalty, e.g. {@link DecoupledWeightDecay} for AdamW.
 * {@link #none()} removes every penalty.
 *
 * <p><b>When to apply.</b> DL4J merges global penalties into layers when {@code GraphBuilder.addLayer} runs,
 * when {@code ListBuilder.build()} runs, and TransferLearning's {@code FineTuneConfiguration} replaces whole
 * lists: apply the policy to the built configuration (or to a GraphBuilder after its last {@code addLayer}),
 * and again to the network TransferLearning returns. Applying to an initialized network takes effect at its
 * next update. Frozen layers are never selected (DL4J does not update or penalize them).
 *
 * <p><b>Extension point.</b> Custom layers declare the kinds of their parameters with {@link ParamKindAware} and
 * keep one list per parameter with {@link PerParameterRegularization}; the policy checks after writing that
 * the layer's {@code getRegularizationByParam} returns exactly the planned list.
 *
 * <pre>{@code
 * ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).updater(new Sgd(0.1))
 *         .graphBuilder().addInputs("in")
 *         .addLayer("hidden", new DenseLayer.Builder().nIn(4).nOut(8).activation(Activation.RELU).build(), "in")
 *         .addLayer("head", new OutputLayer.Builder().nIn(8).nOut(3).activation(Activation.SOFTMAX).build(), "hidden")
 *         .setOutputs("head").build();
 * RegularizationPolicy policy = RegularizationPolicy.standard(5e-4).toBuilder()
 *         .alsoPenalize(Selector.layers("head").withKinds(ParamKind.WEIGHT), new L1Penalty(1e-5))
 *         .build();
 * policy.applyTo(conf);
 * ComputationGraph net = new ComputationGraph(conf);
 * net.init();
 * LoggerFactory.getLogger("example").info("\n{}", policy.describe(net));
 * }</pre>
 */
public final class RegularizationPolicy implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Logger log = LoggerFactory.getLogger(RegularizationPolicy.class);

    private final List<Rule> rules;

    private RegularizationPolicy(List<Rule> rules) {
        this.rules = Collections.unmodifiableList(new ArrayList<>(rules));
    }

    /** An empty builder. */
    public static Builder builder() {
        return new Builder(Collections.emptyList());
    }

    /** A builder holding this policy's rules, to add more (they come after, so they override). */
    public Builder toBuilder() {
        return new Builder(rules);
    }

    /** No penalty on any parameter (and none of DL4J's global merges survive). */
    public static RegularizationPolicy none() {
        return new RegularizationPolicy(Collections.emptyList());
    }

    /**
     * timm's rule with PyTorch's coupled weight decay: weights get {@code L2Penalty(weightDecay)} (gradient
     * {@code weightDecay * w}); biases, NORM and OTHER parameters are exempt. {@code weightDecay == 0} exempts
     * everything.
     *
     * @param weightDecay finite and {@code >= 0}
     */
    public static RegularizationPolicy standard(double weightDecay) {
        Checks.nonNegative("weightDecay", weightDecay);
        if (weightDecay == 0.0) {
            return builder().rule(Rule.exempt(Selector.all()).optional().named("standard: no weight decay")).build();
        }
        return standard(new L2Penalty(weightDecay));
    }

    /**
     * timm's rule with a chosen weight penalty: weights get {@code weightPenalty}; biases, NORM and OTHER
     * parameters are exempt.
     */
    public static RegularizationPolicy standard(Regularization weightPenalty) {
        Checks.notNull("weightPenalty", weightPenalty);
        return builder()
                .rule(Rule.penalize(Selector.kinds(ParamKind.WEIGHT), weightPenalty).optional()
                        .named("standard: weights"))
                .rule(Rule.exempt(Selector.kinds(ParamKind.BIAS, ParamKind.NORM, ParamKind.OTHER)).optional()
                        .named("standard: no decay on biases, norms, others"))
                .build();
    }

    /** The rules, in order. */
    public List<Rule> getRules() {
        return rules;
    }

    // ------------------------------------------------------------------------------------------ apply

    /** Writes explicit penalty lists into every layer of the configuration; returns it. */
    public ComputationGraphConfiguration applyTo(ComputationGraphConfiguration conf) {
        Checks.notNull("conf", conf);
        apply(layersOf(conf.getVertices()));
        return conf;
    }

    /** Writes explicit penalty lists into every layer of the configuration; returns it. */
    public MultiLayerConfiguration applyTo(MultiLayerConfiguration conf) {
        Checks.notNull("conf", conf);
        apply(layersOf(conf));
        return conf;
    }

    /**
     * Writes explicit penalty lists into the layers added so far (GraphBuilder merged the global configuration
     * when each layer was added, and {@code build()} does not merge again); returns the builder. Parameter
     * shapes are not known yet at this point, so {@link L2SP} rules need the built configuration.
     */
    public ComputationGraphConfiguration.GraphBuilder applyTo(ComputationGraphConfiguration.GraphBuilder builder) {
        Checks.notNull("builder", builder);
        apply(layersOf(builder.getVertices()));
        return builder;
    }

    /**
     * Builds the list configuration (ListBuilder merges the global configuration in {@code build()}, which would
     * undo anything applied before) and applies the policy to the result.
     */
    public MultiLayerConfiguration applyTo(NeuralNetConfiguration.ListBuilder builder) {
        Checks.notNull("builder", builder);
        return applyTo(builder.build());
    }

    /** Applies to an initialized network (its configuration objects are the live ones); returns it. */
    public ComputationGraph applyTo(ComputationGraph net) {
        Checks.notNull("net", net);
        apply(layersOf(net));
        return net;
    }

    /** Applies to an initialized network (its configuration objects are the live ones); returns it. */
    public MultiLayerNetwork applyTo(MultiLayerNetwork net) {
        Checks.notNull("net", net);
        apply(layersOf(net));
        return net;
    }

    // ------------------------------------------------------------------------------------------ describe

    /**
     * What this policy gives each parameter of an initialized network (one row per parameter: layer, parameter,
     * kind, shape, penalties, deciding rule) with each row's penalty score at the current parameters. Nothing
     * is written. After {@code applyTo}, this table equals {@link PenaltyTable#of(Model)}.
     */
    public PenaltyTable describe(Model net) {
        Checks.notNull("net", net);
        List<LayerRef> layers = layersOf(net);
        Plan plan = plan(layers);
        return PenaltyTable.fromPlan(plan, net);
    }

    /** As {@link #describe(Model)} for a configuration (no scores). */
    public PenaltyTable describe(ComputationGraphConfiguration conf) {
        Checks.notNull("conf", conf);
        return PenaltyTable.fromPlan(plan(layersOf(conf.getVertices())), null);
    }

    /** As {@link #describe(Model)} for a configuration (no scores). */
    public PenaltyTable describe(MultiLayerConfiguration conf) {
        Checks.notNull("conf", conf);
        return PenaltyTable.fromPlan(plan(layersOf(conf)), null);
    }

    // ------------------------------------------------------------------------------------------ internals

    /** A layer the policy works on. */
    static final class LayerRef {
        final String name;
        final int index;
        final Layer layer;
        final LayerAccess access;
        final ParamShapes shapes;
        final org.deeplearning4j.nn.api.Layer live;

        LayerRef(String name, int index, Layer layer, ParamShapes shapes, org.deeplearning4j.nn.api.Layer live) {
            this.name = name;
            this.index = index;
            this.layer = layer;
            this.shapes = shapes;
            this.live = live;
            // TransferLearning freezes a live layer by wrapping the implementation, whose conf() still returns the
            // unfrozen layer configuration: recognise the wrapper.
            boolean frozenImpl = live instanceof org.deeplearning4j.nn.layers.FrozenLayer
                    || live instanceof org.deeplearning4j.nn.layers.FrozenLayerWithBackprop;
            LayerAccess a = LayerAccess.of(layer);
            this.access = frozenImpl && !a.isFrozen() ? new LayerAccess.Frozen(layer, a) : a;
        }
    }

    /** One penalty planned for a parameter, with the rule it comes from (0-based). */
    static final class Entry {
        final PenaltyFactory factory;
        final int ruleIndex;
        Regularization penalty;

        Entry(PenaltyFactory factory, int ruleIndex) {
            this.factory = factory;
            this.ruleIndex = ruleIndex;
        }
    }

    /** The plan of one parameter. */
    static final class ParamPlan {
        final LayerRef layer;
        final ParamInfo info;
        final List<Entry> entries = new ArrayList<>();
        int decidingRule = -1;

        ParamPlan(LayerRef layer, ParamInfo info) {
            this.layer = layer;
            this.info = info;
        }

        List<Regularization> penalties() {
            List<Regularization> l = new ArrayList<>();
            for (Entry e : entries) {
                l.add(e.penalty);
            }
            return l;
        }

        /** "#1,#3": the rules the penalties come from, or the exempting rule; "" if no rule selected it. */
        String rulesText() {
            List<String> l = new ArrayList<>();
            for (Entry e : entries) {
                String r = "#" + (e.ruleIndex + 1);
                if (!l.contains(r)) {
                    l.add(r);
                }
            }
            if (l.isEmpty() && decidingRule >= 0) {
                l.add("#" + (decidingRule + 1));
            }
            return String.join(",", l);
        }
    }

    /** The plan of a whole network. */
    static final class Plan {
        final List<ParamPlan> params = new ArrayList<>();
    }

    String quote(int ruleIndex) {
        return "rule #" + (ruleIndex + 1) + " " + rules.get(ruleIndex);
    }

    Plan plan(List<LayerRef> layers) {
        Plan plan = new Plan();
        int[] matches = new int[rules.size()];
        for (LayerRef ref : layers) {
            for (String param : ref.access.paramNames()) {
                ParamKind kind = ref.access.kindOf(param);
                ParamPlan pp = new ParamPlan(ref, new ParamInfo(ref.name, ref.index, ref.layer, param, kind, ref.shapes));
                plan.params.add(pp);
                if (ref.access.isFrozen()) {
                    continue;
                }
                for (int i = 0; i < rules.size(); i++) {
                    Rule rule = rules.get(i);
                    if (!rule.getSelector().matches(ref.name, ref.access, param, kind)) {
                        continue;
                    }
                    matches[i]++;
                    pp.decidingRule = i;
                    if (rule.getAction() != Rule.Action.ALSO_PENALIZE) {
                        pp.entries.clear();
                    }
                    for (PenaltyFactory f : rule.getPenalties()) {
                        pp.entries.add(new Entry(f, i));
                    }
                }
            }
        }
        for (int i = 0; i < rules.size(); i++) {
            if (matches[i] == 0 && !rules.get(i).isOptional()) {
                throw new IllegalArgumentException(quote(i) + " matches no parameter; the network has "
                        + summary(layers));
            }
            if (matches[i] > 1) {
                for (PenaltyFactory f : rules.get(i).getPenalties()) {
                    if (f.singleParameter()) {
                        throw new IllegalArgumentException(quote(i) + " selects " + matches[i] + " parameters, but "
                                + f + " is bound to one parameter; use L2SP.towards(coeff, referenceModel) to bind "
                                + "one instance per parameter");
                    }
                }
            }
        }
        for (ParamPlan pp : plan.params) {
            bind(pp);
            checkConflicts(pp);
            proximalLast(pp);
            if (!pp.entries.isEmpty() && pp.layer.access.groupOf(pp.info.paramName()) == null) {
                throw new IllegalArgumentException(rulesOf(pp) + " asks to penalize " + pp.info + " with "
                        + pp.penalties() + ", but " + pp.layer.access.whyNotWritable(pp.info.paramName()));
            }
        }
        checkSharedLists(plan);
        return plan;
    }

    private void bind(ParamPlan pp) {
        for (Entry e : pp.entries) {
            try {
                e.penalty = Checks.notNull("penalty", e.factory.forParam(pp.info));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(quote(e.ruleIndex) + ": " + ex.getMessage(), ex);
            } catch (IllegalStateException ex) {
                throw new IllegalStateException(quote(e.ruleIndex) + ": " + ex.getMessage(), ex);
            }
        }
    }

    /** At most one L1-type, one L2/decay-type and one L2SP per parameter, and no class twice. */
    private void checkConflicts(ParamPlan pp) {
        for (int a = 0; a < pp.entries.size(); a++) {
            for (int b = a + 1; b < pp.entries.size(); b++) {
                Regularization ra = pp.entries.get(a).penalty;
                Regularization rb = pp.entries.get(b).penalty;
                String family = sharedFamily(ra, rb);
                if (family != null) {
                    int ia = pp.entries.get(a).ruleIndex;
                    int ib = pp.entries.get(b).ruleIndex;
                    String who = ia == ib ? quote(ia) + " gives both " + ra + " and " + rb
                            : "conflicting rules: " + quote(ia) + " gives " + ra + " and " + quote(ib) + " gives " + rb;
                    throw new IllegalArgumentException(who + " to " + pp.info + "; a parameter takes at most one "
                            + family + " (use Rule.penalize to replace rather than Rule.alsoPenalize to add)");
                }
            }
        }
    }

    private static String sharedFamily(Regularization a, Regularization b) {
        if (a.getClass() == b.getClass()) {
            return a.getClass().getSimpleName();
        }
        if (isL1(a) && isL1(b)) {
            return "L1-type penalty (L1Penalty, ProximalL1, ElasticNet, L1Regularization)";
        }
        if (isDecay(a) && isDecay(b)) {
            return "L2-type penalty or weight decay (L2Penalty, ElasticNet, DecoupledWeightDecay, L2Regularization,"
                    + " WeightDecay)";
        }
        return null;
    }

    private static boolean isL1(Regularization r) {
        return r instanceof L1Penalty || r instanceof ProximalL1 || r instanceof ElasticNet
                || r instanceof L1Regularization;
    }

    private static boolean isDecay(Regularization r) {
        return r instanceof L2Penalty || r instanceof ElasticNet || r instanceof DecoupledWeightDecay
                || r instanceof L2Regularization || r instanceof WeightDecay;
    }

    /** ProximalL1 must be the last post-updater entry: move it to the end (order is otherwise kept). */
    private static void proximalLast(ParamPlan pp) {
        List<Entry> prox = new ArrayList<>();
        pp.entries.removeIf(e -> {
            if (e.penalty instanceof ProximalL1) {
                prox.add(e);
                return true;
            }
            return false;
        });
        pp.entries.addAll(prox);
    }

    private String rulesOf(ParamPlan pp) {
        List<String> l = new ArrayList<>();
        for (Entry e : pp.entries) {
            String q = quote(e.ruleIndex);
            if (!l.contains(q)) {
                l.add(q);
            }
        }
        return String.join(" and ", l);
    }

    /** Parameters that share one DL4J list must get equal lists. */
    private void checkSharedLists(Plan plan) {
        Map<LayerRef, Map<String, ParamPlan>> firstOfGroup = new LinkedHashMap<>();
        for (ParamPlan pp : plan.params) {
            String group = pp.layer.access.groupOf(pp.info.paramName());
            if (group == null) {
                continue;
            }
            Map<String, ParamPlan> groups = firstOfGroup.computeIfAbsent(pp.layer, k -> new LinkedHashMap<>());
            ParamPlan first = groups.putIfAbsent(group, pp);
            if (first != null && !first.penalties().equals(pp.penalties())) {
                throw new IllegalArgumentException("layer '" + pp.layer.name + "' (" + pp.layer.layer.getClass()
                        .getSimpleName() + ") keeps one penalty list for parameters '" + first.info.paramName()
                        + "' and '" + pp.info.paramName() + "', but the policy gives '" + first.info.paramName() + "' "
                        + first.penalties() + " (" + decidedBy(first) + ") and '" + pp.info.paramName() + "' "
                        + pp.penalties() + " (" + decidedBy(pp) + "); DL4J cannot penalize them differently: give"
                        + " both the same rule" + (pp.layer.layer instanceof PerParameterRegularization ? ""
                        : ", or use a layer implementing PerParameterRegularization"));
            }
        }
    }

    private String decidedBy(ParamPlan pp) {
        return pp.decidingRule < 0 ? "no rule" : quote(pp.decidingRule);
    }

    /** Plans, writes and verifies; restores every layer's lists on failure. */
    private void apply(List<LayerRef> layers) {
        Plan plan = plan(layers);
        Map<LayerRef, Object> snapshots = new LinkedHashMap<>();
        for (LayerRef ref : layers) {
            snapshots.put(ref, ref.access.snapshot());
        }
        try {
            for (ParamPlan pp : plan.params) {
                if (pp.layer.access.groupOf(pp.info.paramName()) != null) {
                    pp.layer.access.write(pp.info.paramName(), pp.penalties());
                }
            }
            for (ParamPlan pp : plan.params) {
                List<Regularization> actual = pp.layer.access.read(pp.info.paramName());
                if (!actual.equals(pp.penalties())) {
                    String want = pp.penalties().isEmpty() ? "no penalty" : pp.penalties().toString();
                    throw new IllegalArgumentException((pp.decidingRule < 0 ? "the policy (no rule selects it)"
                            : quote(pp.decidingRule)) + " gives " + pp.info + " " + want + ", but after writing, "
                            + pp.layer.layer.getClass().getSimpleName() + ".getRegularizationByParam(\""
                            + pp.info.paramName() + "\") returns " + actual + ": "
                            + pp.layer.access.whyNotWritable(pp.info.paramName()));
                }
            }
        } catch (RuntimeException e) {
            for (Map.Entry<LayerRef, Object> s : snapshots.entrySet()) {
                s.getKey().access.restore(s.getValue());
            }
            throw e;
        }
        if (log.isDebugEnabled()) {
            log.debug("Applied regularization policy:\n{}", PenaltyTable.fromPlan(plan, null));
        }
    }

    private static String summary(List<LayerRef> layers) {
        StringBuilder sb = new StringBuilder();
        int shown = 0;
        for (LayerRef ref : layers) {
            List<String> params = new ArrayList<>();
            for (String p : ref.access.paramNames()) {
                params.add(p + ":" + ref.access.kindOf(p));
            }
            if (params.isEmpty()) {
                continue;
            }
            if (shown == 12) {
                sb.append(", ...");
                break;
            }
            sb.append(shown == 0 ? "" : ", ").append(ref.name).append(" (").append(ref.layer.getClass().getSimpleName())
                    .append(ref.access.isFrozen() ? ", frozen" : "").append(") ").append(params);
            shown++;
        }
        return shown == 0 ? "no parameters" : sb.toString();
    }

    private static List<LayerRef> layersOf(Map<String, GraphVertex> vertices) {
        List<LayerRef> out = new ArrayList<>();
        int i = 0;
        for (Map.Entry<String, GraphVertex> e : vertices.entrySet()) {
            if (e.getValue() instanceof LayerVertex) {
                NeuralNetConfiguration nnc = ((LayerVertex) e.getValue()).getLayerConf();
                out.add(new LayerRef(e.getKey(), i++, nnc.getLayer(), ParamShapes.config(nnc), null));
            }
        }
        return out;
    }

    private static List<LayerRef> layersOf(MultiLayerConfiguration conf) {
        List<LayerRef> out = new ArrayList<>();
        for (int i = 0; i < conf.getConfs().size(); i++) {
            NeuralNetConfiguration nnc = conf.getConf(i);
            String name = nnc.getLayer().getLayerName() == null ? "layer" + i : nnc.getLayer().getLayerName();
            out.add(new LayerRef(name, i, nnc.getLayer(), ParamShapes.config(nnc), null));
        }
        return out;
    }

    static List<LayerRef> layersOf(Model net) {
        org.deeplearning4j.nn.api.Layer[] layers;
        if (net instanceof ComputationGraph) {
            layers = ((ComputationGraph) net).getLayers();
        } else if (net instanceof MultiLayerNetwork) {
            layers = ((MultiLayerNetwork) net).getLayers();
        } else {
            throw new IllegalArgumentException("net must be a MultiLayerNetwork or ComputationGraph, got "
                    + (net == null ? "null" : net.getClass().getName()));
        }
        if (layers == null) {
            throw new IllegalArgumentException("net must be initialized (call init() first)");
        }
        List<LayerRef> out = new ArrayList<>();
        for (int i = 0; i < layers.length; i++) {
            Layer conf = layers[i].conf().getLayer();
            String name = conf.getLayerName() == null ? "layer" + i : conf.getLayerName();
            out.add(new LayerRef(name, i, conf, ParamShapes.live(layers[i]), layers[i]));
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RegularizationPolicy && rules.equals(((RegularizationPolicy) o).rules);
    }

    @Override
    public int hashCode() {
        return rules.hashCode();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("RegularizationPolicy[");
        for (int i = 0; i < rules.size(); i++) {
            sb.append(i == 0 ? "" : "; ").append('#').append(i + 1).append(' ').append(rules.get(i));
        }
        return sb.append(']').toString();
    }

    /**
     * Collects rules in order (later rules override earlier ones).
     *
     * <pre>{@code
     * RegularizationPolicy policy = RegularizationPolicy.builder()
     *         .penalize(Selector.kinds(ParamKind.WEIGHT), new L2Penalty(1e-4))
     *         .exempt(Selector.layers("embedding*"))
     *         .build();
     * }</pre>
     */
    public static final class Builder {
        private final List<Rule> rules;

        private Builder(List<Rule> rules) {
            this.rules = new ArrayList<>(rules);
        }

        /** Adds a rule. */
        public Builder rule(Rule rule) {
            rules.add(Checks.notNull("rule", rule));
            return this;
        }

        /** Adds {@link Rule#penalize(Selector, Regularization...)}. */
        public Builder penalize(Selector selector, Regularization... penalties) {
            return rule(Rule.penalize(selector, penalties));
        }

        /** Adds {@link Rule#penalize(Selector, PenaltyFactory...)}. */
        public Builder penalize(Selector selector, PenaltyFactory... penalties) {
            return rule(Rule.penalize(selector, penalties));
        }

        /** Adds {@link Rule#alsoPenalize(Selector, Regularization...)}. */
        public Builder alsoPenalize(Selector selector, Regularization... penalties) {
            return rule(Rule.alsoPenalize(selector, penalties));
        }

        /** Adds {@link Rule#alsoPenalize(Selector, PenaltyFactory...)}. */
        public Builder alsoPenalize(Selector selector, PenaltyFactory... penalties) {
            return rule(Rule.alsoPenalize(selector, penalties));
        }

        /** Adds {@link Rule#exempt(Selector)}. */
        public Builder exempt(Selector selector) {
            return rule(Rule.exempt(selector));
        }

        public RegularizationPolicy build() {
            return new RegularizationPolicy(rules);
        }
    }
}
