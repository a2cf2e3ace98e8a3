package org.regularize4j.penalty;

import org.nd4j.linalg.learning.regularization.Regularization;
import org.regularize4j.util.Checks;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * One rule of a {@link RegularizationPolicy}: a {@link Selector} and what the selected parameters get.
 * <ul>
 * <li>{@link #penalize}: exactly these penalties, replacing what earlier rules gave;</li>
 * <li>{@link #alsoPenalize}: these penalties in addition to what earlier rules gave;</li>
 * <li>{@link #exempt}: no penalty at all.</li>
 * </ul>
 * Rules are applied in order and later rules override earlier ones. A rule must select at least one parameter
 * unless marked {@link #optional()} (the presets' rules are, so that they fit any network).
 *
 * <pre>{@code
 * Rule l1OnHead = Rule.alsoPenalize(Selector.layers("head").withKinds(ParamKind.WEIGHT), new L1Penalty(1e-5))
 *         .named("sparse head");
 * Rule noDecayOnEmbeddings = Rule.exempt(Selector.layerTypes(EmbeddingLayer.class)).optional();
 * }</pre>
 */
public final class Rule implements Serializable {
    private static final long serialVersionUID = 1L;

    /**
     * What a rule does to the penalties of the parameters it selects.
     *
     * <pre>{@code
     * Rule.Action action = Rule.exempt(Selector.kinds(ParamKind.BIAS)).getAction();   // EXEMPT
     * }</pre>
     */
    public enum Action {
        /** Replace the penalties with the rule's. */
        PENALIZE,
        /** Append the rule's penalties. */
        ALSO_PENALIZE,
        /** Remove all penalties. */
        EXEMPT
    }

    private final Action action;
    private final Selector selector;
    private final List<PenaltyFactory> penalties;
    private final boolean optional;
    private final String name;

    private Rule(Action action, Selector selector, List<PenaltyFactory> penalties, boolean optional, String name) {
        this.action = action;
        this.selector = selector;
        this.penalties = penalties;
        this.optional = optional;
        this.name = name;
    }

    /** Selected parameters get exactly these penalties. */
    public static Rule penalize(Selector selector, Regularization... penalties) {
        return new Rule(Action.PENALIZE, checkSelector(selector, Action.PENALIZE), wrap(penalties), false, null);
    }

    /** Selected parameters get exactly the penalties these factories make for them (e.g. {@link L2SP#towards}). */
    public static Rule penalize(Selector selector, PenaltyFactory... penalties) {
        return new Rule(Action.PENALIZE, checkSelector(selector, Action.PENALIZE), factories(penalties), false, null);
    }

    /** Selected parameters get these penalties in addition to what earlier rules gave them. */
    public static Rule alsoPenalize(Selector selector, Regularization... penalties) {
        return new Rule(Action.ALSO_PENALIZE, checkSelector(selector, Action.ALSO_PENALIZE), wrap(penalties), false,
                null);
    }

    /** As {@link #alsoPenalize(Selector, Regularization...)} with factories. */
    public static Rule alsoPenalize(Selector selector, PenaltyFactory... penalties) {
        return new Rule(Action.ALSO_PENALIZE, checkSelector(selector, Action.ALSO_PENALIZE), factories(penalties),
                false, null);
    }

    /** Selected parameters get no penalty. */
    public static Rule exempt(Selector selector) {
        return new Rule(Action.EXEMPT, checkSelector(selector, Action.EXEMPT), Collections.emptyList(), false, null);
    }

    /** A copy that may select no parameter (otherwise that is an error). */
    public Rule optional() {
        return new Rule(action, selector, penalties, true, name);
    }

    /** A copy with a name, shown in errors and in {@link PenaltyTable}. */
    public Rule named(String name) {
        Checks.notNull("name", name);
        return new Rule(action, selector, penalties, optional, name);
    }

    public Action getAction() {
        return action;
    }

    public Selector getSelector() {
        return selector;
    }

    /** The penalty factories (empty for an exemption). */
    public List<PenaltyFactory> getPenalties() {
        return penalties;
    }

    public boolean isOptional() {
        return optional;
    }

    /** The name given with {@link #named}, or null. */
    public String getName() {
        return name;
    }

    private static Selector checkSelector(Selector selector, Action action) {
        Checks.notNull("selector", selector);
        if (action != Action.EXEMPT && selector.coveredKinds().contains(ParamKind.STATISTIC)) {
            throw new IllegalArgumentException("running statistics (ParamKind.STATISTIC) cannot be penalized: "
                    + action.name().toLowerCase() + "(" + selector + ")");
        }
        return selector;
    }

    private static List<PenaltyFactory> wrap(Regularization... penalties) {
        Checks.notNull("penalties", penalties);
        if (penalties.length == 0) {
            throw new IllegalArgumentException("penalties must name at least one penalty (use Rule.exempt for none)");
        }
        List<PenaltyFactory> l = new ArrayList<>();
        for (int i = 0; i < penalties.length; i++) {
            l.add(PenaltyFactory.of(Checks.notNull("penalties[" + i + "]", penalties[i])));
        }
        return Collections.unmodifiableList(l);
    }

    private static List<PenaltyFactory> factories(PenaltyFactory... penalties) {
        Checks.notNull("penalties", penalties);
        if (penalties.length == 0) {
            throw new IllegalArgumentException("penalties must name at least one penalty (use Rule.exempt for none)");
        }
        List<PenaltyFactory> l = new ArrayList<>();
        for (int i = 0; i < penalties.length; i++) {
            l.add(Checks.notNull("penalties[" + i + "]", penalties[i]));
        }
        return Collections.unmodifiableList(l);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Rule)) {
            return false;
        }
        Rule r = (Rule) o;
        return action == r.action && selector.equals(r.selector) && penalties.equals(r.penalties)
                && optional == r.optional && Objects.equals(name, r.name);
    }

    @Override
    public int hashCode() {
        return Objects.hash(action, selector, penalties, optional, name);
    }

    /** E.g. {@code "sparse head": alsoPenalize(layers="head", kinds=[WEIGHT]) -> [L1Penalty(l1=1.0E-5)]}. */
    @Override
    public String toString() {
        String verb = action == Action.PENALIZE ? "penalize" : action == Action.ALSO_PENALIZE ? "alsoPenalize" : "exempt";
        return (name == null ? "" : "\"" + name + "\": ") + verb + "(" + selector + ")"
                + (action == Action.EXEMPT ? "" : " -> " + penalties) + (optional ? " [optional]" : "");
    }
}
