package org.regularize4j.distributed;

import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.threshold.FixedThresholdAlgorithm;
import org.deeplearning4j.parallelism.ParallelWrapper.TrainingMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.regularize4j.penalty.ProximalL1;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.testutil.SingleThreadedNd4j;
import org.regularize4j.testutil.SparseClassification;
import org.regularize4j.testutil.HangGuard;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;


import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What ProximalL1 gives under multi-worker training. Its exact zeros come from replacing the update by one that
 * lands exactly on the soft-thresholded weight. Parameter averaging averages such weights (a weight stays exactly 0
 * where every worker zeroed it). Shared gradients threshold-encode the update: each weight moves by multiples of the
 * encoding threshold, so it lands near zero, not on it.
 */
@ExtendWith(SingleThreadedNd4j.class)
class ProximalL1SharedGradientsTest {
    private static final Logger log = LoggerFactory.getLogger(ProximalL1SharedGradientsTest.class);
    private static final double L1 = 2e-2;
    private static final double THRESHOLD = 1e-3;

    static DataSet data(int n, long seed) {
        return SparseClassification.data(n, seed);
    }

    static MultiLayerNetwork net() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.FLOAT)
                .updater(new Sgd(0.2)).list()
                .layer(new DenseLayer.Builder().nIn(SparseClassification.FEATURES).nOut(16).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(16).nOut(SparseClassification.CLASSES)
                        .activation(Activation.SOFTMAX).build())
                .build();
        RegularizationPolicy.standard(new ProximalL1(L1)).applyTo(conf);
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    static double[] shares(MultiLayerNetwork net, double nearZero) {
        long zeros = 0;
        long near = 0;
        long total = 0;
        for (String key : new String[] {"0_W", "1_W"}) {
            INDArray w = net.getParam(key);
            zeros += w.eq(0.0).castTo(DataType.INT).sumNumber().longValue();
            near += Transforms.abs(w).lte(nearZero).castTo(DataType.INT).sumNumber().longValue();
            total += w.length();
        }
        return new double[] {(double) zeros / total, (double) near / total};
    }

    @Test
    void exactZerosSurviveAveragingButNotSharedGradients() {
        DataSet train = data(1024, 1);
        DataSet test = data(1024, 2);
        int epochs = 8;
        double nearZero = 4 * THRESHOLD;

        MultiLayerNetwork single = net();
        single.fit(new ListDataSetIterator<>(train.asList(), 64), epochs);

        MultiLayerNetwork averaged = net();
        try (ParallelTraining t = ParallelTraining.builder(averaged).mode(TrainingMode.AVERAGING).build()) {
            t.fit(new ListDataSetIterator<>(train.asList(), 64), epochs);
        }
        MultiLayerNetwork shared = HangGuard.retryOnHang("shared-gradients training", () -> {
            MultiLayerNetwork n = net();
            try (ParallelTraining t = ParallelTraining.builder(n).mode(TrainingMode.SHARED_GRADIENTS)
                    .thresholdAlgorithm(new FixedThresholdAlgorithm(THRESHOLD)).build()) {
                t.fit(new ListDataSetIterator<>(train.asList(), 64), epochs);
            }
            return n;
        });
        double[] s = shares(single, nearZero);
        double[] a = shares(averaged, nearZero);
        double[] g = shares(shared, nearZero);
        Evaluation es = single.evaluate(new ListDataSetIterator<>(test.asList(), 256));
        Evaluation ea = averaged.evaluate(new ListDataSetIterator<>(test.asList(), 256));
        Evaluation eg = shared.evaluate(new ListDataSetIterator<>(test.asList(), 256));
        log.info("exact zeros / |w| <= {}: single {} / {}, averaging {} / {}, shared gradients {} / {};"
                        + " test accuracy {}, {}, {}", nearZero, s[0], s[1], a[0], a[1], g[0], g[1],
                es.accuracy(), ea.accuracy(), eg.accuracy());
        // Measured: exact zeros 80.7% (single), 57.9% (averaging), 0.0% (shared gradients, of which 38.8% of the
        // weights within 4 thresholds of zero); test accuracy 94.3%, 88.6%, 58.4% (slow: one threshold per step).
        assertTrue(s[0] > 0.7, "single process exact zeros " + s[0]);
        assertTrue(a[0] > 0.4, "averaging keeps exact zeros where all workers agree: " + a[0]);
        assertTrue(g[0] < 0.01, "shared gradients leave (almost) no exact zeros: " + g[0]);
        assertTrue(g[1] > 0.25, "but many weights near zero: " + g[1]);
        assertTrue(es.accuracy() > 0.9 && ea.accuracy() > 0.8, "accuracy " + es.accuracy() + ", " + ea.accuracy());
    }
}
