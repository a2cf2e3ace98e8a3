package org.regularize4j.examples;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.regularize4j.data.FashionMnist;
import org.regularize4j.data.FashionMnistIterator;
import org.regularize4j.penalty.ParamKind;
import org.regularize4j.penalty.ProximalL1;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.penalty.Selector;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.util.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * An L1 penalty on the classifier only: a ResNet-8 on Fashion-MNIST whose policy penalizes the weights of the
 * {@code fc} layer and nothing else, and a sparsity report (share of exactly zero weights per layer) of the
 * trained network. With {@link ProximalL1} (soft-thresholding after each update, the proximal gradient method)
 * weights become exactly zero: each class ends up reading a few of the 64 pooled features, while the
 * convolutions, which no rule selects, stay dense. Swap in {@code new L1Penalty(l1)} for the subgradient
 * version (small, but never exactly zero, weights).
 *
 * <pre>{@code
 * FashionMnist train = FashionMnist.bundled(FashionMnist.Split.TRAIN).firstPerClass(100);
 * FashionMnist test = FashionMnist.bundled(FashionMnist.Split.TEST).firstPerClass(50);
 * ClassifierL1.Result r = ClassifierL1.run(new ProximalL1(0.1), train, test, 4, 1);
 * double classifierZeros = r.zeroShareByLayer().get("fc");        // most of the 640 classifier weights (72%)
 * double convZeros = r.zeroShareByLayer().get("stage1.block1");   // 0: the policy leaves them alone
 * }</pre>
 */
public final class ClassifierL1 {
    private static final Logger log = LoggerFactory.getLogger(ClassifierL1.class);

    /**
     * The share of exactly zero weights ({@link ParamKind#WEIGHT} parameters) of each layer and the test accuracy.
     *
     * <pre>{@code
     * ClassifierL1.Result r = new ClassifierL1.Result(Map.of("fc", 0.8), 0.85);
     * }</pre>
     */
    public record Result(Map<String, Double> zeroShareByLayer, double testAccuracy) {
    }

    private ClassifierL1() {
    }

    /** The policy: {@code penalty} on the weights of layer {@code fc}, no penalty anywhere else. */
    public static RegularizationPolicy classifierOnly(Regularization penalty) {
        return RegularizationPolicy.builder()
                .penalize(Selector.layers("fc").withKinds(ParamKind.WEIGHT), penalty)
                .build();
    }

    /** Trains ResNet-8 with {@link #classifierOnly} for {@code epochs} epochs (batch 64, SGD 0.1) and reports. */
    public static Result run(Regularization penalty, FashionMnist train, FashionMnist test, int epochs, long seed) {
        Checks.notNull("penalty", penalty);
        Checks.atLeast("epochs", epochs, 1);
        RegularizationPolicy policy = classifierOnly(penalty);
        ComputationGraph net = ResNet.cifar(8).inputShape(1, 28, 28).regularization(policy).seed(seed).build();
        log.info("policy:\n{}", policy.describe(net));
        FashionMnistIterator data = FashionMnistIterator.builder(train).batchSize(64).shuffle(true).seed(seed).build();
        for (int epoch = 0; epoch < epochs; epoch++) {
            data.setEpoch(epoch);
            net.fit(data);
        }
        double accuracy = net.evaluate(test.iterator(256)).accuracy();
        Map<String, Double> zeros = zeroShareByLayer(net);
        log.info("sparsity report (share of weights that are exactly 0), test accuracy {}:\n{}",
                String.format(Locale.ROOT, "%.4f", accuracy), report(net, zeros));
        return new Result(zeros, accuracy);
    }

    /** For each layer with weights: the share of its WEIGHT-kind parameters that are exactly zero. */
    public static Map<String, Double> zeroShareByLayer(ComputationGraph net) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Layer layer : net.getLayers()) {
            long total = 0;
            long zeros = 0;
            for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
                if (isWeight(layer, p.getKey())) {
                    total += p.getValue().length();
                    zeros += p.getValue().length() - p.getValue().neq(0.0).castTo(p.getValue().dataType())
                            .sumNumber().longValue();
                }
            }
            if (total > 0) {
                out.put(layer.conf().getLayer().getLayerName(), zeros / (double) total);
            }
        }
        return out;
    }

    private static boolean isWeight(Layer layer, String param) {
        Object conf = layer.conf().getLayer();
        if (conf instanceof org.regularize4j.penalty.ParamKindAware) {
            return ((org.regularize4j.penalty.ParamKindAware) conf).kindOf(param) == ParamKind.WEIGHT;
        }
        return param.equals("W");
    }

    private static String report(ComputationGraph net, Map<String, Double> zeros) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "  %-16s %10s  %s%n", "layer", "weights",
                "exactly 0"));
        for (Map.Entry<String, Double> e : zeros.entrySet()) {
            long n = 0;
            Layer layer = net.getLayer(e.getKey());
            for (Map.Entry<String, INDArray> p : layer.paramTable().entrySet()) {
                if (isWeight(layer, p.getKey())) {
                    n += p.getValue().length();
                }
            }
            sb.append(String.format(Locale.ROOT, "  %-16s %,10d  %5.1f%%%n", e.getKey(), n, 100 * e.getValue()));
        }
        INDArray fc = net.getLayer("fc").getParam("W");
        sb.append(String.format(Locale.ROOT, "  features each class reads (non-zero classifier weights per class): %s",
                java.util.Arrays.toString(Transforms.abs(fc).gt(0).castTo(fc.dataType()).sum(0).toIntVector())));
        return sb.toString();
    }

    /** Three epochs on the bundled subset, L1 0.01 on the classifier only. */
    public static void main(String[] args) {
        run(new ProximalL1(0.01), FashionMnist.bundled(FashionMnist.Split.TRAIN),
                FashionMnist.bundled(FashionMnist.Split.TEST), 3, 1);
    }
}
