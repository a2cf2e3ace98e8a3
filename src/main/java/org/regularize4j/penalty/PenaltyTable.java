package org.regularize4j.penalty;

import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.regularization.Regularization;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One row per parameter: layer, layer type, parameter, kind, shape, penalties, the penalties' score at the
 * current parameters and the rule that decided (for {@link RegularizationPolicy#describe}); plus a per-penalty
 * breakdown of the regularization part of the loss, including the activity penalties of
 * {@link ActivityRegularization} layers from the last forward pass.
 *
 * <p>{@link #of(Model)} reads what a network actually has ({@code getRegularizationByParam}); its
 * {@link #total()} equals the network's {@code calcRegularizationScore(true)}, so
 * {@code net.score() == data loss + total()} after a forward pass.
 *
 * <pre>{@code
 * MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1).list()
 *         .layer(new DenseLayer.Builder().nIn(4).nOut(3).regularization(List.of(new L2Penalty(1e-3))).build())
 *         .layer(new OutputLayer.Builder().nIn(3).nOut(2).activation(Activation.SOFTMAX).build()).build());
 * net.init();
 * PenaltyTable table = PenaltyTable.of(net);
 * double l2Part = table.breakdown().get("L2Penalty(l2=0.001)");
 * LoggerFactory.getLogger("example").info("\n{}", table);
 * }</pre>
 */
public final class PenaltyTable {

    /**
     * One parameter.
     *
     * <pre>{@code
     * PenaltyTable.Row first = PenaltyTable.of(net).rows().get(0);   // net: an initialized network
     * }</pre>
     */
    public static final class Row {
        private final String layer;
        private final String layerType;
        private final String param;
        private final ParamKind kind;
        private final long[] shape;
        private final List<Regularization> penalties;
        private final double[] scores;
        private final String decidedBy;
        private final boolean frozen;

        Row(String layer, String layerType, String param, ParamKind kind, long[] shape, List<Regularization> penalties,
            double[] scores, String decidedBy, boolean frozen) {
            this.layer = layer;
            this.layerType = layerType;
            this.param = param;
            this.kind = kind;
            this.shape = shape;
            this.penalties = Collections.unmodifiableList(new ArrayList<>(penalties));
            this.scores = scores;
            this.decidedBy = decidedBy;
            this.frozen = frozen;
        }

        public String getLayer() {
            return layer;
        }

        public String getLayerType() {
            return layerType;
        }

        public String getParam() {
            return param;
        }

        public ParamKind getKind() {
            return kind;
        }

        /** The shape, or null if unknown. */
        public long[] getShape() {
            return shape == null ? null : shape.clone();
        }

        public List<Regularization> getPenalties() {
            return penalties;
        }

        /** Sum of the penalties' scores at the current parameters; NaN when described from a configuration. */
        public double getScore() {
            double s = 0.0;
            for (double v : scores) {
                s += v;
            }
            return s;
        }

        /** The score of each penalty, in the order of {@link #getPenalties()} (NaN when unknown). */
        public double[] getPenaltyScores() {
            return scores.clone();
        }

        /** "#2" (or "#1,#3") for the rules that decided, "" if none or read from a network. */
        public String getDecidedBy() {
            return decidedBy;
        }

        public boolean isFrozen() {
            return frozen;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Row)) {
                return false;
            }
            Row r = (Row) o;
            return layer.equals(r.layer) && layerType.equals(r.layerType) && param.equals(r.param) && kind == r.kind
                    && Arrays.equals(shape, r.shape) && penalties.equals(r.penalties) && frozen == r.frozen;
        }

        @Override
        public int hashCode() {
            return Objects.hash(layer, param, kind, penalties);
        }

        @Override
        public String toString() {
            return layer + "/" + param + " " + kind + " " + Arrays.toString(shape) + " " + penalties;
        }
    }

    private final List<Row> rows;
    private final Map<String, Double> activity;

    private PenaltyTable(List<Row> rows, Map<String, Double> activity) {
        this.rows = Collections.unmodifiableList(rows);
        this.activity = Collections.unmodifiableMap(activity);
    }

    /** What the network actually has: each parameter's {@code getRegularizationByParam} list, with scores. */
    public static PenaltyTable of(Model net) {
        List<RegularizationPolicy.LayerRef> layers = RegularizationPolicy.layersOf(net);
        List<Row> rows = new ArrayList<>();
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            for (RegularizationPolicy.LayerRef ref : layers) {
                for (String p : ref.access.paramNames()) {
                    List<Regularization> l = ref.access.read(p);
                    rows.add(new Row(ref.name, ref.layer.getClass().getSimpleName(), p, ref.access.kindOf(p),
                            ref.live.paramTable(false).get(p).shape(), l, scores(ref, p, l), "", ref.access.isFrozen()));
                }
            }
        }
        return new PenaltyTable(rows, activityScores(layers));
    }

    static PenaltyTable fromPlan(RegularizationPolicy.Plan plan, Model net) {
        List<Row> rows = new ArrayList<>();
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            for (RegularizationPolicy.ParamPlan pp : plan.params) {
                RegularizationPolicy.LayerRef ref = pp.layer;
                String p = pp.info.paramName();
                long[] shape;
                try {
                    shape = pp.info.shape();
                } catch (IllegalStateException e) {
                    shape = null;
                }
                List<Regularization> l = pp.penalties();
                double[] scores = ref.live == null ? nan(l.size()) : scores(ref, p, l);
                rows.add(new Row(ref.name, ref.layer.getClass().getSimpleName(), p, pp.info.kind(), shape, l, scores,
                        pp.rulesText(), ref.access.isFrozen()));
            }
        }
        return new PenaltyTable(rows, net == null ? new LinkedHashMap<>()
                : activityScores(RegularizationPolicy.layersOf(net)));
    }

    private static double[] scores(RegularizationPolicy.LayerRef ref, String param, List<Regularization> penalties) {
        double[] s = new double[penalties.size()];
        if (penalties.isEmpty()) {
            return s;
        }
        INDArray value = ref.live.paramTable(false).get(param);
        for (int i = 0; i < s.length; i++) {
            s[i] = penalties.get(i).score(value, ref.live.getIterationCount(), ref.live.getEpochCount());
        }
        return s;
    }

    private static double[] nan(int n) {
        double[] s = new double[n];
        Arrays.fill(s, Double.NaN);
        return s;
    }

    private static Map<String, Double> activityScores(List<RegularizationPolicy.LayerRef> layers) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (RegularizationPolicy.LayerRef ref : layers) {
            if (ref.live instanceof ActivityRegularizationImpl) {
                double s = ((ActivityRegularizationImpl) ref.live).getLastScore();
                if (!Double.isNaN(s)) {
                    m.put("activity '" + ref.name + "' " + ref.layer, s);
                }
            }
        }
        return m;
    }

    /** The rows, in the network's layer order. */
    public List<Row> rows() {
        return rows;
    }

    /** Each parameter's penalties, keyed "layer/param". */
    public Map<String, List<Regularization>> penaltiesByParam() {
        Map<String, List<Regularization>> m = new LinkedHashMap<>();
        for (Row r : rows) {
            m.put(r.layer + "/" + r.param, r.penalties);
        }
        return m;
    }

    /**
     * The regularization part of the loss by penalty (label: the penalty's text, L2SP by coefficient) and by
     * activity layer; NaN values when described from a configuration.
     */
    public Map<String, Double> breakdown() {
        Map<String, Double> m = new LinkedHashMap<>();
        for (Row r : rows) {
            if (r.penalties.isEmpty()) {
                continue;
            }
            for (int i = 0; i < r.penalties.size(); i++) {
                m.merge(label(r.penalties.get(i)), r.scores[i], Double::sum);
            }
        }
        m.putAll(activity);
        return m;
    }

    /** Sum of {@link #breakdown()}: the regularization part of the network's score. */
    public double total() {
        double t = 0.0;
        for (double v : breakdown().values()) {
            t += v;
        }
        return t;
    }

    static String label(Regularization r) {
        if (r instanceof L2SP) {
            return "L2SP(coeff=" + Coefficient.format(((L2SP) r).getCoeff()) + ")";
        }
        return r.toString();
    }

    @Override
    public String toString() {
        String[] head = {"layer", "type", "param", "kind", "shape", "penalties", "score", "rule"};
        List<String[]> lines = new ArrayList<>();
        lines.add(head);
        for (Row r : rows) {
            String pen = r.frozen ? "(frozen)" : r.penalties.isEmpty()
                    ? (r.kind == ParamKind.STATISTIC ? "(running statistic)" : "-") : r.penalties.toString();
            String score = r.penalties.isEmpty() || Double.isNaN(r.getScore()) ? "" : String.format("%.4g", r.getScore());
            lines.add(new String[] {r.layer, r.layerType, r.param, r.kind.name(),
                    r.shape == null ? "?" : Arrays.toString(r.shape), pen, score, r.decidedBy});
        }
        int[] w = new int[head.length];
        for (String[] l : lines) {
            for (int i = 0; i < l.length; i++) {
                w[i] = Math.max(w[i], l[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String[] l : lines) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < l.length; i++) {
                line.append(String.format("%-" + (w[i] + 2) + "s", l[i]));
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        Map<String, Double> b = breakdown();
        if (!b.isEmpty() && !b.values().stream().allMatch(v -> Double.isNaN(v))) {
            sb.append("regularization score by penalty:\n");
            for (Map.Entry<String, Double> e : b.entrySet()) {
                sb.append(String.format("  %-40s %.6g%n", e.getKey(), e.getValue()));
            }
            sb.append(String.format("  %-40s %.6g%n", "total", total()));
        }
        return sb.toString();
    }
}
