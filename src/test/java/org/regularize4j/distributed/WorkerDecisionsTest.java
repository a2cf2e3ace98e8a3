package org.regularize4j.distributed;

import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.threshold.FixedThresholdAlgorithm;
import org.deeplearning4j.parallelism.ParallelWrapper.TrainingMode;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.dataset.DataSet;
import org.regularize4j.depth.DropDecisions;
import org.regularize4j.depth.DropMode;
import org.regularize4j.depth.Scaling;
import org.regularize4j.resnet.ResidualBlock;
import org.regularize4j.resnet.ResidualBlockImpl;
import org.regularize4j.testutil.SingleThreadedNd4j;
import org.regularize4j.testutil.HangGuard;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What each ParallelWrapper worker sees: its iteration and epoch counters, and the stochastic-depth decisions its
 * residual blocks take. A listener (ParallelWrapper hands the same listener object to every worker) records, after
 * every iteration of every worker, the worker's model, counters and each block's per-example multipliers.
 */
@ExtendWith(SingleThreadedNd4j.class)
class WorkerDecisionsTest {
    private static final Logger log = LoggerFactory.getLogger(WorkerDecisionsTest.class);
    private static final long SEED = 7;
    private static final int BATCH = 8;
    private static final int EPOCHS = 2;
    /** 24 mini-batches per epoch, 2 workers: 12 rounds per epoch. */
    private static final int ROUNDS = 12;

    /** One worker's iteration. */
    static final class Record {
        final int model;
        final String thread;
        final int iteration;
        final int epoch;
        final int workerIndex;
        final Map<Integer, double[]> scales = new TreeMap<>();   // layer index -> per-example multipliers
        final Map<Integer, Boolean> computed = new TreeMap<>();  // layer index -> branch computed

        Record(ComputationGraph g, int iteration, int epoch) {
            this.model = System.identityHashCode(g);
            this.thread = Thread.currentThread().getName();
            this.iteration = iteration;
            this.epoch = epoch;
            this.workerIndex = WorkerIndex.of(g);
            for (Layer l : g.getLayers()) {
                if (l instanceof ResidualBlockImpl) {
                    ResidualBlockImpl b = (ResidualBlockImpl) l;
                    scales.put(b.getIndex(), b.getLastScales().toArray());
                    computed.put(b.getIndex(), b.wasBranchComputed());
                }
            }
        }
    }

    static final class Recorder extends BaseTrainingListener {
        final List<Record> records = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            records.add(new Record((ComputationGraph) model, iteration, epoch));
        }

        /** Records by (epoch, iteration), each list sorted by worker index. */
        Map<Long, List<Record>> byRound() {
            Map<Long, List<Record>> out = new TreeMap<>();
            synchronized (records) {
                for (Record r : records) {
                    out.computeIfAbsent(((long) r.epoch << 32) + r.iteration, k -> new ArrayList<>()).add(r);
                }
            }
            out.values().forEach(l -> l.sort((a, b) -> Integer.compare(a.workerIndex, b.workerIndex)));
            return out;
        }
    }

    private static ListDataSetIterator<DataSet> data() {
        return new ListDataSetIterator<>(TestNets.data(ROUNDS * 2 * BATCH, 1).asList(), BATCH);
    }

    private static double dropProb(ComputationGraph net, int layerIndex) {
        for (Layer l : net.getLayers()) {
            if (l.getIndex() == layerIndex) {
                return ((ResidualBlock) l.conf().getLayer()).getDropProb();
            }
        }
        throw new IllegalArgumentException("no layer " + layerIndex);
    }

    /** Every round has one record per worker, both with the same counters, from two different models. */
    private static void assertLockstep(Map<Long, List<Record>> rounds, int expectedRounds) {
        rounds.forEach((k, v) -> {
            if (v.size() != 2) {
                v.forEach(r -> log.warn("DEBUG round {}: worker {} thread {} it {} ep {} model {}", k, r.workerIndex,
                        r.thread, r.iteration, r.epoch, r.model));
            }
        });
        assertEquals(expectedRounds, rounds.size(), "rounds");
        for (List<Record> round : rounds.values()) {
            assertEquals(2, round.size(), "records per round");
            Record a = round.get(0);
            Record b = round.get(1);
            assertEquals(a.iteration, b.iteration);
            assertEquals(a.epoch, b.epoch);
            assertNotEquals(a.model, b.model, "two copies of the network");
            assertNotEquals(a.thread, b.thread, "two threads");
        }
    }

    /**
     * DL4J's own ParallelWrapper, as it comes: the workers' copies are rebuilt from the configuration (JSON), so
     * they start with the network's counters and then advance in step; the epoch counter never moves
     * (ParallelWrapper does not count epochs). Hence every worker derives the same decisions: at equal counters the
     * two workers' ROW masks are identical, row for row. (Worker 1 copies the network on its own thread, sometimes
     * after worker 0 has fitted its first mini-batch; it then runs one iteration ahead for the whole fit. Rounds
     * that this leaves without a partner are not compared; {@link #replicaStartsFromTheStateAtFitStart} tests our
     * fix.)
     */
    @Test
    void plainParallelWrapperGivesEveryWorkerTheSameRowMasks() throws Exception {
        ComputationGraph net = TestNets.net(DropMode.ROW, SEED);
        Recorder recorder = new Recorder();
        net.setListeners(recorder);
        ParallelWrapper pw = new ParallelWrapper.Builder<>(net).workers(2).prefetchBuffer(2)
                .trainingMode(TrainingMode.AVERAGING).build();
        for (int e = 0; e < EPOCHS; e++) {
            pw.fit(data());
        }
        pw.close();
        assertEquals(0, net.getEpochCount(), "ParallelWrapper does not count epochs");
        assertEquals(EPOCHS * ROUNDS, net.getIterationCount());
        int paired = 0;
        int unpaired = 0;
        for (List<Record> round : recorder.byRound().values()) {
            assertEquals(0, round.get(0).epoch);
            if (round.size() == 1) {
                unpaired++;
                continue;
            }
            assertEquals(2, round.size());
            paired++;
            for (int layer : round.get(0).scales.keySet()) {
                assertArrayEquals(round.get(0).scales.get(layer), round.get(1).scales.get(layer),
                        "identical masks on both workers, iteration " + round.get(0).iteration);
            }
        }
        log.info("plain ParallelWrapper: identical ROW masks in all {} rounds where both workers had the same"
                + " counters; {} rounds without a partner (worker 1 started ahead)", paired, unpaired);
        assertTrue(paired >= EPOCHS * (ROUNDS - 1), "paired rounds " + paired);
    }

    /**
     * The race that ParallelTraining closes, played out deterministically: worker 0 (the network itself) fits a
     * mini-batch before worker 1 copies the network, as DL4J's trainer does, from the live object. The copy is then
     * one iteration ahead with worker 0's new parameters. {@code prepare} resets it to the state captured when the
     * worker was created, and gives it its worker index.
     */
    @Test
    void replicaStartsFromTheStateAtFitStart() {
        ComputationGraph net = TestNets.net(DropMode.BATCH, SEED);
        org.nd4j.linalg.api.ndarray.INDArray paramsAtStart = net.params().dup();
        WorkerIndexingTrainerContext.ReplicaStart start = new WorkerIndexingTrainerContext.ReplicaStart(net);
        net.fit(TestNets.data(BATCH, 3));   // worker 0 goes ahead
        ComputationGraph replica = new ComputationGraph(org.deeplearning4j.nn.conf.ComputationGraphConfiguration
                .fromJson(net.getConfiguration().toJson()));
        replica.init();
        replica.setParams(net.params().dup());   // what DL4J's DefaultTrainer does on the worker's thread
        assertEquals(1, replica.getIterationCount());

        WorkerIndexingTrainerContext.prepare(replica, 1, start);
        assertEquals(0, replica.getIterationCount());
        assertEquals(0, replica.getEpochCount());
        assertEquals(paramsAtStart, replica.params());
        assertEquals(1, WorkerIndex.of(replica));
    }

    /** A trained network and its workers' decisions, by round. */
    private static final class Recorded {
        final ComputationGraph net;
        final Map<Long, List<Record>> rounds;

        Recorded(ComputationGraph net, Map<Long, List<Record>> rounds) {
            this.net = net;
            this.rounds = rounds;
        }
    }

    /**
     * Trains a new test network with 2 ParallelTraining workers, records every worker's decisions, checks the
     * lockstep (run again from scratch if DL4J's shared-gradients barrier hangs: {@link HangGuard}).
     */
    private static Recorded trainRecorded(DropMode dropMode, TrainingMode mode) {
        Recorded r = HangGuard.retryOnHang(mode + " training", () -> {
            ComputationGraph net = TestNets.net(dropMode, SEED);
            Recorder recorder = new Recorder();
            net.setListeners(recorder);
            try (ParallelTraining training = ParallelTraining.builder(net).mode(mode)
                    .thresholdAlgorithm(new FixedThresholdAlgorithm(1e-3)).build()) {
                training.fit(data(), EPOCHS);
            }
            return new Recorded(net, recorder.byRound());
        });
        assertLockstep(r.rounds, EPOCHS * ROUNDS);
        return r;
    }

    /**
     * With {@link ParallelTraining}, worker w's ROW masks are exactly DropDecisions with worker index w (worker 0's
     * are the single-process masks), and the two workers' masks agree only as often as independent draws do:
     * {@code p² + (1 − p)²} per row, averaged over blocks (dropProb 1/6, 1/3, 1/2: 0.593). Tolerance 0.08, about
     * five standard errors for 1152 rows. Both DL4J modes keep the workers' counters in step.
     */
    @ParameterizedTest
    @EnumSource(value = TrainingMode.class, names = {"AVERAGING", "SHARED_GRADIENTS"})
    void parallelTrainingDrawsIndependentRowMasksPerWorker(TrainingMode mode) {
        Recorded recorded = trainRecorded(DropMode.ROW, mode);
        ComputationGraph net = recorded.net;
        Map<Long, List<Record>> rounds = recorded.rounds;
        assertEquals(EPOCHS, net.getEpochCount());
        long agree = 0;
        long rows = 0;
        double expected = 0;
        for (List<Record> round : rounds.values()) {
            assertEquals(0, round.get(0).workerIndex);
            assertEquals(1, round.get(1).workerIndex);
            for (int layer : round.get(0).scales.keySet()) {
                double p = dropProb(net, layer);
                for (Record r : round) {
                    double[] want = DropDecisions.trainingScales(BATCH, p, DropMode.ROW, Scaling.INVERTED, SEED,
                            r.iteration, r.epoch, layer, r.workerIndex);
                    assertArrayEquals(want, r.scales.get(layer), "worker " + r.workerIndex + " layer " + layer);
                }
                double[] a = round.get(0).scales.get(layer);
                double[] b = round.get(1).scales.get(layer);
                for (int i = 0; i < BATCH; i++) {
                    agree += (a[i] == 0) == (b[i] == 0) ? 1 : 0;
                    rows++;
                    expected += p * p + (1 - p) * (1 - p);
                }
            }
        }
        double agreement = (double) agree / rows;
        log.info("{}: ROW decisions agree between the 2 workers on {} of {} rows ({}; independent draws: {})", mode,
                agree, rows, agreement, expected / rows);
        assertEquals(expected / rows, agreement, 0.08);
    }

    /**
     * BATCH mode: in every iteration both workers drop the same blocks (and skip the same computation), the
     * decisions of a single process at those counters; over 48 rounds some block is dropped at least once.
     */
    @ParameterizedTest
    @EnumSource(value = TrainingMode.class, names = {"AVERAGING", "SHARED_GRADIENTS"})
    void batchDecisionsAreTheSameOnEveryWorker(TrainingMode mode) {
        Recorded recorded = trainRecorded(DropMode.BATCH, mode);
        ComputationGraph net = recorded.net;
        Map<Long, List<Record>> rounds = recorded.rounds;
        int skipped = 0;
        for (List<Record> round : rounds.values()) {
            Record a = round.get(0);
            for (int layer : a.computed.keySet()) {
                boolean kept = DropDecisions.trainingScales(1, dropProb(net, layer), DropMode.BATCH,
                        Scaling.INVERTED, SEED, a.iteration, a.epoch, layer)[0] > 0;
                for (Record r : round) {
                    assertEquals(kept, r.computed.get(layer), "worker " + r.workerIndex + " layer " + layer
                            + " iteration " + r.iteration);
                }
                skipped += kept ? 0 : 1;
            }
        }
        log.info("{}: {} block skips over {} rounds, identical on both workers", mode, skipped, rounds.size());
        assertTrue(skipped > 0, "some block must have been dropped");
    }
}
