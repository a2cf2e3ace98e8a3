package org.regularize4j.penalty;

import org.regularize4j.util.Checks;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which parameters a {@link Rule} covers: by layer name (a glob or a regular expression, matched against the
 * whole name), layer type (the configuration class, or the class of a wrapped layer, subclasses included),
 * {@link ParamKind} and parameter key. Every criterion left out matches everything, except that without
 * explicit kinds a selector never covers {@link ParamKind#STATISTIC} (running mean/variance). Selectors are
 * immutable: the {@code with...} methods return a narrowed copy.
 *
 * <p>Globs: {@code *} any run of characters, {@code ?} one character, {@code [abc]} a class, {@code {a,b}}
 * alternatives; everything else is literal (so {@code "res1.conv"} matches only that name).
 *
 * <pre>{@code
 * Selector classifierWeights = Selector.layers("fc*").withKinds(ParamKind.WEIGHT);
 * Selector convKernels = Selector.layerTypes(ConvolutionLayer.class).withKinds(ParamKind.WEIGHT);
 * Selector blockNorms = Selector.layersMatching("res[0-9]+_bn[12]").withKinds(ParamKind.NORM);
 * }</pre>
 */
public final class Selector implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String layerText;       // the glob or regex as given, for messages
    private final boolean layerIsRegex;
    private final Pattern layerPattern;   // null: any layer
    private final List<Class<?>> layerTypes;
    private final Set<ParamKind> kinds;   // null: every penalizable kind
    private final Set<String> paramNames; // empty: any

    private Selector(String layerText, boolean layerIsRegex, Pattern layerPattern, List<Class<?>> layerTypes,
                     Set<ParamKind> kinds, Set<String> paramNames) {
        this.layerText = layerText;
        this.layerIsRegex = layerIsRegex;
        this.layerPattern = layerPattern;
        this.layerTypes = layerTypes;
        this.kinds = kinds;
        this.paramNames = paramNames;
    }

    /** Every parameter of every layer, except running statistics. */
    public static Selector all() {
        return new Selector(null, false, null, Collections.emptyList(), null, Collections.emptySet());
    }

    /** Parameters of these kinds, in any layer. */
    public static Selector kinds(ParamKind... kinds) {
        return all().withKinds(kinds);
    }

    /** Layers whose whole name matches the glob (see the class comment). */
    public static Selector layers(String glob) {
        return all().withLayers(glob);
    }

    /** Layers whose whole name matches the regular expression. */
    public static Selector layersMatching(String regex) {
        return all().withLayersMatching(regex);
    }

    /** Layers that are instances of one of these configuration classes (or wrap one). */
    @SafeVarargs
    public static Selector layerTypes(Class<? extends org.deeplearning4j.nn.conf.layers.Layer>... types) {
        return all().withLayerTypes(types);
    }

    /** A copy restricted to parameters of these kinds. */
    public Selector withKinds(ParamKind... kinds) {
        Checks.notNull("kinds", kinds);
        if (kinds.length == 0) {
            throw new IllegalArgumentException("kinds must name at least one ParamKind");
        }
        EnumSet<ParamKind> set = EnumSet.noneOf(ParamKind.class);
        for (int i = 0; i < kinds.length; i++) {
            set.add(Checks.notNull("kinds[" + i + "]", kinds[i]));
        }
        return new Selector(layerText, layerIsRegex, layerPattern, layerTypes, Collections.unmodifiableSet(set),
                paramNames);
    }

    /** A copy restricted to layers whose whole name matches the glob. */
    public Selector withLayers(String glob) {
        Checks.notNull("glob", glob);
        if (glob.isEmpty()) {
            throw new IllegalArgumentException("glob must not be empty");
        }
        return new Selector(glob, false, Pattern.compile(globToRegex(glob)), layerTypes, kinds, paramNames);
    }

    /** A copy restricted to layers whose whole name matches the regular expression. */
    public Selector withLayersMatching(String regex) {
        Checks.notNull("regex", regex);
        try {
            return new Selector(regex, true, Pattern.compile(regex), layerTypes, kinds, paramNames);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("regex is not a valid regular expression: " + e.getMessage(), e);
        }
    }

    /** A copy restricted to layers of these configuration classes (or wrapping one). */
    @SafeVarargs
    public final Selector withLayerTypes(Class<? extends org.deeplearning4j.nn.conf.layers.Layer>... types) {
        Checks.notNull("types", types);
        if (types.length == 0) {
            throw new IllegalArgumentException("types must name at least one layer class");
        }
        List<Class<?>> l = new ArrayList<>();
        for (int i = 0; i < types.length; i++) {
            l.add(Checks.notNull("types[" + i + "]", types[i]));
        }
        return new Selector(layerText, layerIsRegex, layerPattern, Collections.unmodifiableList(l), kinds, paramNames);
    }

    /** A copy restricted to these parameter keys ("W", "RW", "gamma", ...). */
    public Selector withParams(String... paramNames) {
        Checks.notNull("paramNames", paramNames);
        if (paramNames.length == 0) {
            throw new IllegalArgumentException("paramNames must name at least one parameter");
        }
        Set<String> s = new LinkedHashSet<>();
        for (int i = 0; i < paramNames.length; i++) {
            s.add(Checks.notNull("paramNames[" + i + "]", paramNames[i]));
        }
        return new Selector(layerText, layerIsRegex, layerPattern, layerTypes, kinds, Collections.unmodifiableSet(s));
    }

    /** The kinds this selector covers: the explicit ones, or every penalizable kind. */
    public Set<ParamKind> coveredKinds() {
        if (kinds != null) {
            return kinds;
        }
        EnumSet<ParamKind> s = EnumSet.allOf(ParamKind.class);
        s.remove(ParamKind.STATISTIC);
        return Collections.unmodifiableSet(s);
    }

    /** True if the selector covers this parameter. */
    public boolean matches(ParamInfo param) {
        return matches(param.layerName(), LayerAccess.of(param.layer()), param.paramName(), param.kind());
    }

    boolean matches(String layerName, LayerAccess access, String paramName, ParamKind kind) {
        if (!coveredKinds().contains(kind)) {
            return false;
        }
        if (!paramNames.isEmpty() && !paramNames.contains(paramName)) {
            return false;
        }
        if (layerPattern != null && (layerName == null || !layerPattern.matcher(layerName).matches())) {
            return false;
        }
        if (!layerTypes.isEmpty()) {
            boolean any = false;
            for (Class<?> t : layerTypes) {
                any |= access.isA(t);
            }
            return any;
        }
        return true;
    }

    static String globToRegex(String glob) {
        StringBuilder re = new StringBuilder();
        int braces = 0;
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            switch (c) {
                case '*':
                    re.append(".*");
                    break;
                case '?':
                    re.append('.');
                    break;
                case '[': {
                    int end = glob.indexOf(']', i + 1);
                    if (end < 0) {
                        throw new IllegalArgumentException("glob has an unclosed '[': " + glob);
                    }
                    String cls = glob.substring(i + 1, end);
                    if (cls.startsWith("!")) {
                        cls = "^" + cls.substring(1);
                    }
                    re.append('[').append(cls.replace("\\", "\\\\")).append(']');
                    i = end;
                    break;
                }
                case '{':
                    braces++;
                    re.append("(?:");
                    break;
                case '}':
                    if (braces == 0) {
                        throw new IllegalArgumentException("glob has an unmatched '}': " + glob);
                    }
                    braces--;
                    re.append(')');
                    break;
                case ',':
                    re.append(braces > 0 ? "|" : ",");
                    break;
                default:
                    re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        if (braces != 0) {
            throw new IllegalArgumentException("glob has an unclosed '{': " + glob);
        }
        return re.toString();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Selector)) {
            return false;
        }
        Selector s = (Selector) o;
        return Objects.equals(layerText, s.layerText) && layerIsRegex == s.layerIsRegex
                && layerTypes.equals(s.layerTypes) && Objects.equals(kinds, s.kinds) && paramNames.equals(s.paramNames);
    }

    @Override
    public int hashCode() {
        return Objects.hash(layerText, layerIsRegex, layerTypes, kinds, paramNames);
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        if (layerText != null) {
            parts.add((layerIsRegex ? "layersMatching=\"" : "layers=\"") + layerText + "\"");
        }
        if (!layerTypes.isEmpty()) {
            List<String> names = new ArrayList<>();
            for (Class<?> t : layerTypes) {
                names.add(t.getSimpleName());
            }
            parts.add("types=" + names);
        }
        if (kinds != null) {
            parts.add("kinds=" + kinds);
        }
        if (!paramNames.isEmpty()) {
            parts.add("params=" + paramNames);
        }
        return parts.isEmpty() ? "all" : String.join(", ", parts);
    }
}
