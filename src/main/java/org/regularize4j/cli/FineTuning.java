package org.regularize4j.cli;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.regularize4j.data.FashionMnist;
import org.regularize4j.penalty.L1Penalty;
import org.regularize4j.penalty.L2Penalty;
import org.regularize4j.penalty.L2SP;
import org.regularize4j.penalty.ParamKind;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.penalty.Rule;
import org.regularize4j.penalty.Selector;
import org.regularize4j.util.Checks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code train}'s fine-tuning options: {@code --classes} (parsing), {@code --init-from} (loading a saved model and
 * copying its weights into the network being trained, with a new classifier when the class count differs) and
 * {@code --l2sp} (the L2-SP policy of Li, Grandvalet &amp; Davoine 2018: the weights it starts from pull the
 * network's weights back, {@code ½α‖w − w0‖²}, and a new classifier gets plain L2, {@code ½β‖w‖²}).
 *
 * <pre>{@code
 * int[] classes = FineTuning.parseClasses("0,1,2,3,4,5,6,7");
 * double[] alphaBeta = FineTuning.parseL2sp("0.1");   // {0.1, 0.01}: beta defaults to the paper's 0.01
 * }</pre>
 */
final class FineTuning {
    /** The classifier layer of the builder's ResNets. */
    static final String HEAD = "fc";
    /** The paper's β (its experiments use α = 0.1, β = 0.01). */
    static final double DEFAULT_BETA = 0.01;

    private FineTuning() {
    }

    /** {@code --classes}: at least 2 distinct labels in [0, 9], comma-separated, in the order given. */
    static int[] parseClasses(String text) {
        String usage = "--classes must be at least 2 distinct classes in [0, " + (FashionMnist.NUM_CLASSES - 1)
                + "], comma-separated (e.g. 0,1,2,3,4,5,6,7), got " + text;
        Set<Integer> seen = new LinkedHashSet<>();
        for (String part : text.split(",", -1)) {
            int c;
            try {
                c = Integer.parseInt(part.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(usage);
            }
            if (c < 0 || c >= FashionMnist.NUM_CLASSES || !seen.add(c)) {
                throw new IllegalArgumentException(usage);
            }
        }
        if (seen.size() < 2) {
            throw new IllegalArgumentException(usage);
        }
        return seen.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The canonical text of a class list: {@code 0,1,2}. */
    static String classesText(int[] classes) {
        return String.join(",", Arrays.stream(classes).mapToObj(Integer::toString).toList());
    }

    /** {@code --l2sp ALPHA[,BETA]}: both finite and >= 0, ALPHA > 0; BETA defaults to {@link #DEFAULT_BETA}. */
    static double[] parseL2sp(String text) {
        String[] parts = text.split(",", -1);
        String usage = "--l2sp must be ALPHA or ALPHA,BETA with ALPHA > 0 and BETA >= 0 (finite), got " + text;
        if (parts.length > 2) {
            throw new IllegalArgumentException(usage);
        }
        double[] out = {0, DEFAULT_BETA};
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Double.parseDouble(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(usage);
            }
            if (!(out[i] >= 0) || Double.isInfinite(out[i])) {
                throw new IllegalArgumentException(usage);
            }
        }
        if (out[0] == 0) {
            throw new IllegalArgumentException(usage);
        }
        return out;
    }

    /** Loads {@code --init-from} (without updater state: fine-tuning starts a new optimizer). */
    static ComputationGraph load(Path zip) throws IOException {
        if (!Files.isRegularFile(zip)) {
            throw new IllegalArgumentException("--init-from " + zip + " is not a file");
        }
        try {
            return ModelSerializer.restoreComputationGraph(zip.toFile(), false);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("--init-from " + zip + " is not a DL4J ComputationGraph zip: " + e, e);
        }
    }

    /**
     * Copies every parameter of {@code start} into {@code net}, batch-norm statistics included, except the
     * classifier when its shape differs (a new class count: {@code net} keeps its freshly initialized one).
     *
     * @return true if the classifier is new
     * @throws IllegalArgumentException naming the first layer or parameter that differs, if the architectures do
     */
    static boolean copyWeights(ComputationGraph start, ComputationGraph net, Path from, String model) {
        String what = "--init-from " + from + " is not a " + model + " on 1x28x28 images: ";
        Set<String> startLayers = new TreeSet<>();
        for (Layer l : start.getLayers()) {
            if (l.numParams() > 0) {
                startLayers.add(l.conf().getLayer().getLayerName());
            }
        }
        Set<String> netLayers = new TreeSet<>();
        for (Layer l : net.getLayers()) {
            if (l.numParams() > 0) {
                netLayers.add(l.conf().getLayer().getLayerName());
            }
        }
        if (!startLayers.equals(netLayers)) {
            throw new IllegalArgumentException(what + "its layers with parameters are " + startLayers + ", here "
                    + netLayers);
        }
        boolean newHead = false;
        for (String name : netLayers) {
            Map<String, org.nd4j.linalg.api.ndarray.INDArray> theirs = start.getLayer(name).paramTable();
            Map<String, org.nd4j.linalg.api.ndarray.INDArray> ours = net.getLayer(name).paramTable();
            if (!theirs.keySet().equals(ours.keySet())) {
                throw new IllegalArgumentException(what + "layer '" + name + "' has parameters " + theirs.keySet()
                        + ", here " + ours.keySet());
            }
            for (String key : ours.keySet()) {
                long[] a = theirs.get(key).shape();
                long[] b = ours.get(key).shape();
                if (!Arrays.equals(a, b)) {
                    if (name.equals(HEAD) && a.length == b.length
                            && Arrays.equals(Arrays.copyOf(a, a.length - 1), Arrays.copyOf(b, b.length - 1))) {
                        newHead = true;   // the same input width, another class count (the last dimension)
                        continue;
                    }
                    throw new IllegalArgumentException(what + "layer '" + name + "' parameter '" + key + "' has shape "
                            + Arrays.toString(a) + " there, " + Arrays.toString(b) + " here");
                }
            }
        }
        for (String name : netLayers) {
            if (!(newHead && name.equals(HEAD))) {
                Map<String, org.nd4j.linalg.api.ndarray.INDArray> theirs = start.getLayer(name).paramTable();
                net.getLayer(name).paramTable().forEach((key, p) -> p.assign(theirs.get(key)));
            }
        }
        return newHead;
    }

    /**
     * L2-SP: weights toward {@code start}'s (bound per parameter), a new classifier's weights plain L2 with
     * {@code beta}, biases and normalization parameters free; L1 on all weights as well when {@code l1 > 0}.
     */
    static RegularizationPolicy l2spPolicy(double alpha, double beta, ComputationGraph start, boolean newHead,
                                           double l1) {
        Checks.notNull("start", start);
        RegularizationPolicy.Builder b = RegularizationPolicy.builder()
                .rule(Rule.penalize(Selector.kinds(ParamKind.WEIGHT), L2SP.towards(alpha, start))
                        .named("L2-SP: weights toward the starting model"));
        if (newHead) {
            Selector head = Selector.layers(HEAD).withKinds(ParamKind.WEIGHT);
            b.rule((beta > 0 ? Rule.penalize(head, new L2Penalty(beta)) : Rule.exempt(head))
                    .named("L2-SP: plain L2 on the new classifier"));
        }
        b.rule(Rule.exempt(Selector.kinds(ParamKind.BIAS, ParamKind.NORM, ParamKind.OTHER)).optional()
                .named("L2-SP: biases, norms and others free"));
        if (l1 > 0) {
            b.alsoPenalize(Selector.kinds(ParamKind.WEIGHT), new L1Penalty(l1));
        }
        return b.build();
    }
}
