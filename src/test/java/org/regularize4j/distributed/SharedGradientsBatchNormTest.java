package org.regularize4j.distributed;

import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.threshold.FixedThresholdAlgorithm;
import org.deeplearning4j.parallelism.ParallelWrapper.TrainingMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.depth.DropMode;
import org.regularize4j.testutil.SingleThreadedNd4j;
import org.regularize4j.testutil.HangGuard;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batch-norm running statistics under SHARED_GRADIENTS. DL4J updates them through the gradient view (a
 * pseudo-gradient with a NoOp updater), so in shared-gradients mode they are threshold-encoded like every update:
 * each element moves by one threshold per message, at most {@code 2 × rounds × threshold} with 2 workers, while
 * the batch statistics they should follow are far away. Our blocks' statistics and DL4J's own BatchNormalization
 * behave the same: it is how DL4J's gradient sharing works, not something our layers do.
 */
@ExtendWith(SingleThreadedNd4j.class)
class SharedGradientsBatchNormTest {
    private static final Logger log = LoggerFactory.getLogger(SharedGradientsBatchNormTest.class);
    private static final double THRESHOLD = 1e-3;
    private static final int BATCH = 8;
    private static final int ROUNDS = 12;   // 24 mini-batches, 2 workers, one epoch

    static MultiLayerNetwork dl4jBatchNormNet() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.FLOAT)
                .updater(new Nesterovs(0.05, 0.9)).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.IDENTITY).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(TestNets.CLASSES)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(TestNets.SIDE, TestNets.SIDE, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** Largest change of any running statistic (keys ending in the given suffixes). */
    static double maxStatisticChange(Map<String, INDArray> before, Model after) {
        double max = 0;
        for (Map.Entry<String, INDArray> e : before.entrySet()) {
            max = Math.max(max, after.getParam(e.getKey()).sub(e.getValue()).amaxNumber().doubleValue());
        }
        return max;
    }

    static Map<String, INDArray> statistics(Model net) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        net.paramTable().forEach((k, v) -> {
            if (k.endsWith("Mean") || k.endsWith("Var") || k.endsWith("_mean") || k.endsWith("_log10stdev")) {
                out.put(k, v.dup());
            }
        });
        return out;
    }

    private static double[] run(Supplier<Model> factory, DataSet data) {
        Map<String, INDArray> before = statistics(factory.get());
        Model shared = HangGuard.retryOnHang("shared-gradients training", () -> {
            Model m = factory.get();
            try (ParallelTraining t = ParallelTraining.builder(m).mode(TrainingMode.SHARED_GRADIENTS)
                    .thresholdAlgorithm(new FixedThresholdAlgorithm(THRESHOLD)).build()) {
                t.fit(new ListDataSetIterator<>(data.asList(), BATCH));
            }
            return m;
        });
        Model single = factory.get();
        if (single instanceof ComputationGraph) {
            ((ComputationGraph) single).fit(new ListDataSetIterator<>(data.asList(), BATCH));
        } else {
            ((MultiLayerNetwork) single).fit(new ListDataSetIterator<>(data.asList(), BATCH));
        }
        return new double[] {maxStatisticChange(before, shared), maxStatisticChange(before, single),
                before.size()};
    }

    @Test
    void runningStatisticsMoveByAtMostOneThresholdPerMessage() {
        DataSet data = TestNets.data(2 * ROUNDS * BATCH, 1);
        double bound = 2 * ROUNDS * THRESHOLD * (1 + 1e-3);
        double[] ours = run(() -> TestNets.net(DropMode.ROW, 7), data);
        double[] dl4j = run(SharedGradientsBatchNormTest::dl4jBatchNormNet, data);
        log.info("largest running-statistic change over {} rounds, threshold {}: our blocks {} (single process {},"
                        + " {} arrays), DL4J BatchNormalization {} (single process {}); bound {}", ROUNDS, THRESHOLD,
                ours[0], ours[1], (int) ours[2], dl4j[0], dl4j[1], bound);
        assertTrue(ours[2] > 0 && dl4j[2] > 0, "statistics found");
        assertTrue(ours[0] <= bound, "our blocks: " + ours[0]);
        assertTrue(dl4j[0] <= bound, "DL4J: " + dl4j[0]);
        assertTrue(ours[1] > 5 * bound, "single process moves far more: " + ours[1]);
        assertTrue(dl4j[1] > 5 * bound, "single process moves far more: " + dl4j[1]);
    }
}
