package org.regularize4j.distributed;

import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.threshold.FixedThresholdAlgorithm;
import org.deeplearning4j.parallelism.ParallelWrapper.TrainingMode;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.adapter.MultiDataSetIteratorAdapter;
import org.regularize4j.depth.DropMode;
import org.regularize4j.penalty.ActivityRegularization;
import org.regularize4j.penalty.ActivityRegularizationImpl;
import org.regularize4j.resnet.ResidualBlockImpl;
import org.regularize4j.testutil.SingleThreadedNd4j;
import org.regularize4j.testutil.HangGuard;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A ResNet from our builder, with stochastic depth, the standard weight-decay policy and an activity penalty,
 * trained by 2 ParallelWrapper workers in both of DL4J's modes: the loss goes down, the trained network
 * round-trips through ModelSerializer and evaluates.
 */
@ExtendWith(SingleThreadedNd4j.class)
class ParallelTrainingTest {
    private static final Logger log = LoggerFactory.getLogger(ParallelTrainingTest.class);
    static final int BATCH = 8;

    @ParameterizedTest(name = "{0}, {1}")
    @CsvSource({"AVERAGING, ROW", "AVERAGING, BATCH", "SHARED_GRADIENTS, ROW", "SHARED_GRADIENTS, BATCH"})
    void twoWorkersTrainTheResNet(TrainingMode mode, DropMode dropMode) throws IOException {
        ComputationGraph net = TestNets.net(dropMode, 7);
        assertTrue(net.getLayer("activity") instanceof ActivityRegularizationImpl);
        assertTrue(net.getLayer("stage1.block1") instanceof ResidualBlockImpl);
        DataSet train = TestNets.data(192, 1);
        DataSet test = TestNets.data(96, 2);
        double before = net.score(train);
        int epochs = 4;
        // Shared gradients move every parameter by one encoding threshold per message; DL4J's default adaptive
        // threshold (starting at 1e-4, aiming at 0.01%..1% of values per message) needs far more than the 48
        // iterations of this test. A fixed 1e-3 learns here (see docs/distributed.md).
        ComputationGraph untrained = net;
        net = HangGuard.retryOnHang(mode + " training", () -> {
            ComputationGraph n = untrained.clone();   // a fresh copy per attempt
            try (ParallelTraining training = ParallelTraining.builder(n).workers(2).mode(mode)
                    .thresholdAlgorithm(new FixedThresholdAlgorithm(1e-3)).build()) {
                training.fit(new ListDataSetIterator<>(train.asList(), BATCH), epochs);
            }
            return n;
        });
        double after = net.score(train);
        Evaluation eval = net.evaluate(new ListDataSetIterator<>(test.asList(), 32));
        log.info("{} {}: score {} -> {}, test accuracy {}, iterations {}", mode, dropMode, before, after,
                eval.accuracy(), net.getIterationCount());
        assertTrue(after < 0.7 * before, "score " + before + " -> " + after);
        // Measured: averaging 100% (both drop modes), shared gradients 75% (ROW) and 70% (BATCH); chance is 33%.
        assertTrue(eval.accuracy() > (mode == TrainingMode.AVERAGING ? 0.9 : 0.5), "test accuracy "
                + eval.accuracy());
        // 24 mini-batches per epoch, 2 workers: worker 0 (the network itself) fits 12 of them per epoch.
        assertEquals(epochs * 12, net.getIterationCount());
        assertEquals(epochs, net.getEpochCount());
        assertEquals(0, WorkerIndex.of(net), "the trained network is worker 0: single-process decisions");

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ModelSerializer.writeModel(net, bytes, true);
        ComputationGraph restored = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(
                bytes.toByteArray()), true);
        assertEquals(net.getConfiguration(), restored.getConfiguration());
        assertEquals(net.params(), restored.params());
        assertEquals(net.getUpdater().getStateViewArray(), restored.getUpdater().getStateViewArray());
        assertEquals(net.outputSingle(test.getFeatures()), restored.outputSingle(test.getFeatures()));
        assertEquals(eval.accuracy(), restored.evaluate(new ListDataSetIterator<>(test.asList(), 32)).accuracy());
        assertTrue(((ActivityRegularization) restored.getLayer("activity").conf().getLayer()).getL2() > 0);
    }

    /** The MultiDataSet path of ParallelWrapper (a ComputationGraph's native input) gets the same treatment. */
    @Test
    void multiDataSetIteratorsTrainToo() {
        ComputationGraph net = TestNets.net(DropMode.ROW, 7);
        DataSet train = TestNets.data(64, 1);
        double before = net.score(train);
        try (ParallelTraining training = ParallelTraining.builder(net).build()) {
            for (int e = 0; e < 3; e++) {
                training.fit(new MultiDataSetIteratorAdapter(new ListDataSetIterator<>(train.asList(), BATCH)));
            }
        }
        assertEquals(3, net.getEpochCount());
        assertEquals(3 * 4, net.getIterationCount());   // 8 mini-batches, 2 workers: 4 rounds per epoch
        assertTrue(net.score(train) < before, before + " -> " + net.score(train));
    }
}
