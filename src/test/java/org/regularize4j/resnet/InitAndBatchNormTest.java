package org.regularize4j.resnet;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.deeplearning4j.nn.weights.WeightInit;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The defaults that decide whether a recipe ported from PyTorch trains the same (docs/results.md, "Parity with
 * PyTorch"): the initial weights per layer kind under each {@link InitPreset}, and batch norm's running statistics.
 *
 * <p>Tolerances: the sample variance of n i.i.d. values has relative standard deviation sqrt((κ − 1)/n), κ the
 * kurtosis (1.8 for a uniform, 3 for a normal); every variance is checked to 5 of those standard deviations.
 */
class InitAndBatchNormTest {

    private static ComputationGraph cifar20(InitPreset preset) {
        return ResNet.cifar(20).inputShape(1, 28, 28).numClasses(10).seed(5).weightInit(preset)
                .shortcut(ShortcutType.PROJECTION).build();
    }

    private static void assertVariance(String key, INDArray w, double expected, double kurtosis) {
        long n = w.length();
        double mean = w.meanNumber().doubleValue();
        double var = w.varNumber().doubleValue();
        double tol = 5 * Math.sqrt((kurtosis - 1) / n);
        assertTrue(Math.abs(var / expected - 1) <= tol, String.format("%s: variance %.3g, expected %.3g ± %.1f%%",
                key, var, expected, 100 * tol));
        assertTrue(Math.abs(mean) <= 5 * Math.sqrt(expected / n), key + ": mean " + mean);
    }

    /** fanIn of a weight array: [out, in, k, k] for convolutions, [in, out] for the classifier. */
    private static long fanIn(String key, INDArray w) {
        return key.startsWith("fc_") ? w.size(0) : w.size(1) * w.size(2) * w.size(3);
    }

    @Test
    void pytorchPresetDrawsEveryWeightFromPyTorchsDefaultUniform() {
        ComputationGraph net = cifar20(InitPreset.PYTORCH);
        int checked = 0;
        for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
            String key = e.getKey();
            if (!key.endsWith("W")) {
                continue;
            }
            INDArray w = e.getValue();
            double bound = 1 / Math.sqrt(fanIn(key, w));   // kaiming_uniform_(a=sqrt(5)): U(±1/sqrt(fanIn))
            assertTrue(w.amaxNumber().doubleValue() <= bound, key + " exceeds ±" + bound);
            assertVariance(key, w, bound * bound / 3, 1.8);
            checked++;
        }
        assertEquals(1 + 18 + 2 + 1, checked, "stem, 9 blocks x 2, 2 projections, classifier");
        INDArray bias = net.getParam("fc_b");
        assertTrue(bias.amaxNumber().doubleValue() <= 1 / Math.sqrt(64), "nn.Linear bias: U(±1/sqrt(fanIn))");
        assertTrue(bias.amaxNumber().doubleValue() > 0.02, "the classifier bias is drawn, not zero");
        // the same seed gives the same network, another seed another one
        assertEquals(net.params(), cifar20(InitPreset.PYTORCH).params());
    }

    @Test
    void hePresetDrawsHeNormalConvolutionsAndAXavierClassifier() {
        ComputationGraph net = cifar20(InitPreset.HE);
        for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
            String key = e.getKey();
            if (!key.endsWith("W")) {
                continue;
            }
            INDArray w = e.getValue();
            long fanIn = fanIn(key, w);
            if (key.startsWith("fc_")) {
                assertVariance(key, w, 2.0 / (fanIn + w.size(1)), 3);   // DL4J XAVIER: N(0, 2/(fanIn + fanOut))
            } else {
                assertVariance(key, w, 2.0 / fanIn, 3);                 // He: N(0, 2/fanIn)
            }
        }
        assertEquals(0.0, net.getParam("fc_b").amaxNumber().doubleValue(), 0.0);
    }

    @Test
    void perKindInitAndPresetsAreMutuallyExclusive() {
        ResNet r = ResNet.cifar(8).inputShape(1, 8, 8).weightInit(WeightInit.ZERO, WeightInit.ONES);
        assertNull(r.initPreset());
        ComputationGraph net = r.build();
        assertEquals(0.0, net.getParam("stage1.block1_conv1W").amaxNumber().doubleValue(), 0.0);
        assertEquals(1.0, net.getParam("fc_W").minNumber().doubleValue(), 0.0);
        assertEquals(InitPreset.PYTORCH, r.weightInit(InitPreset.PYTORCH).initPreset());
        assertThrows(IllegalArgumentException.class, () -> ResNet.cifar(8).weightInit((InitPreset) null));
    }

    /**
     * One training step updates the stem's running statistics as PyTorch does, checked against a hand computation
     * of the stem convolution: mean ← (1 − m)·mean + m·batchMean, var ← (1 − m)·var + m·unbiasedBatchVar.
     */
    @Test
    void runningStatisticsFollowPyTorchsUpdate() {
        for (double momentum : new double[] {0.1, 0.25}) {
            ComputationGraph net = ResNet.cifar(8).inputShape(1, 6, 6).numClasses(3).seed(3).updater(new Sgd(0.0))
                    .batchNorm(momentum, 1e-5).dataType(DataType.DOUBLE).build();
            Nd4j.getRandom().setSeed(9);
            INDArray x = Nd4j.rand(DataType.DOUBLE, 4, 1, 6, 6);
            INDArray y = Nd4j.zeros(DataType.DOUBLE, 4, 3);
            for (int i = 0; i < 4; i++) {
                y.putScalar(i, i % 3, 1);
            }
            INDArray w = net.getParam("stem_convW").dup();   // [16, 1, 3, 3], padding 1
            net.fit(new DataSet(x, y));
            int channels = (int) w.size(0);
            for (int c = 0; c < channels; c++) {
                double sum = 0;
                double sumSq = 0;
                int count = 0;
                for (int n = 0; n < 4; n++) {
                    for (int r = 0; r < 6; r++) {
                        for (int q = 0; q < 6; q++) {
                            double v = 0;
                            for (int i = 0; i < 3; i++) {
                                for (int j = 0; j < 3; j++) {
                                    int rr = r + i - 1;
                                    int qq = q + j - 1;
                                    if (rr >= 0 && rr < 6 && qq >= 0 && qq < 6) {
                                        v += w.getDouble(c, 0, i, j) * x.getDouble(n, 0, rr, qq);
                                    }
                                }
                            }
                            sum += v;
                            sumSq += v * v;
                            count++;
                        }
                    }
                }
                double mean = sum / count;
                double unbiased = (sumSq - count * mean * mean) / (count - 1);
                assertEquals(momentum * mean, net.getParam("stem_bnMean").getDouble(c), 1e-12, "mean, channel " + c);
                assertEquals((1 - momentum) + momentum * unbiased, net.getParam("stem_bnVar").getDouble(c), 1e-12,
                        "variance, channel " + c);
            }
        }
    }

    @Test
    void batchNormSettingsAreCheckedAndReachEveryUnit() {
        assertThrows(IllegalArgumentException.class, () -> ResNet.cifar(8).batchNorm(0, 1e-5));
        assertThrows(IllegalArgumentException.class, () -> ResNet.cifar(8).batchNorm(1.5, 1e-5));
        assertThrows(IllegalArgumentException.class, () -> ResNet.cifar(8).batchNorm(0.1, 0));
        ComputationGraphConfiguration conf = ResNet.cifar(8).batchNorm(0.01, 1e-3).conf();
        for (String name : new String[] {"stem", "stage1.block1", "stage3.block1"}) {
            BaseConvBnLayer layer = (BaseConvBnLayer) ((LayerVertex) conf.getVertices().get(name)).getLayerConf()
                    .getLayer();
            assertEquals(0.99, layer.getBnDecay(), 1e-15, name);
            assertEquals(1e-3, layer.getBnEps(), 0.0, name);
        }
    }
}
