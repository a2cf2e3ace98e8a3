package org.regularize4j.distributed;

import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.dataset.DataSet;
import org.regularize4j.depth.DropDecisions;
import org.regularize4j.depth.DropMode;
import org.regularize4j.depth.Scaling;
import org.regularize4j.distributed.spark.WorkerAwareTrainingMaster;
import org.regularize4j.resnet.ResidualBlock;
import org.regularize4j.resnet.ResidualBlockImpl;
import org.regularize4j.testutil.SingleThreadedNd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * dl4j-spark 1.0.0-M2 on the DL4J 1.0.0-M2.1 core, Spark 3.5 in local mode with 2 executor threads: the test
 * network (a ResNet from our builder with stochastic depth, the standard policy and an activity-penalty layer)
 * trained by SparkComputationGraph with parameter averaging. The configuration reaches the executors by Java
 * serialization (the training broadcast) and as JSON (distributed evaluation). A listener, shipped to the
 * executors with the workers, records each worker's counters and its blocks' decisions.
 */
@ExtendWith(SingleThreadedNd4j.class)
@Tag("spark")
class SparkTrainingTest {
    private static final Logger log = LoggerFactory.getLogger(SparkTrainingTest.class);
    private static final long SEED = 7;
    private static final int BATCH = 8;
    private static final int AVERAGING_FREQUENCY = 2;
    private static final int EPOCHS = 3;
    /** 96 examples = 12 DataSets of 8; 2 workers x 2 DataSets per split: 3 splits per epoch. */
    private static final int SPLITS_PER_EPOCH = 3;
    /** Filled on the executors (local mode: this JVM). */
    static final ConcurrentLinkedQueue<Record> RECORDS = new ConcurrentLinkedQueue<>();
    private static JavaSparkContext sc;

    static final class Record {
        final int partition;
        final int iteration;
        final int epoch;
        final int workerIndex;
        final Map<Integer, double[]> scales = new TreeMap<>();
        final Map<Integer, Boolean> computed = new TreeMap<>();

        Record(ComputationGraph g, int iteration, int epoch) {
            this.partition = TaskContext.getPartitionId();
            this.iteration = iteration;
            this.epoch = epoch;
            this.workerIndex = WorkerIndex.of(g);
            for (Layer l : g.getLayers()) {
                if (l instanceof ResidualBlockImpl) {
                    scales.put(l.getIndex(), ((ResidualBlockImpl) l).getLastScales().toArray());
                    computed.put(l.getIndex(), ((ResidualBlockImpl) l).wasBranchComputed());
                }
            }
        }
    }

    static final class Recorder extends BaseTrainingListener implements java.io.Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            RECORDS.add(new Record((ComputationGraph) model, iteration, epoch));
        }
    }

    @BeforeAll
    static void startSpark() {
        SparkConf conf = new SparkConf().setMaster("local[2]").setAppName("regularize4j-test")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1");
        sc = new JavaSparkContext(conf);
    }

    @AfterAll
    static void stopSpark() {
        if (sc != null) {
            sc.close();
        }
    }

    private static ParameterAveragingTrainingMaster.Builder masterSettings() {
        return new ParameterAveragingTrainingMaster.Builder(BATCH)
                .batchSizePerWorker(BATCH)
                .averagingFrequency(AVERAGING_FREQUENCY)
                .workerPrefetchNumBatches(0)
                .rngSeed(SEED)
                .rddTrainingApproach(RDDTrainingApproach.Direct);
    }

    private static List<Record> train(ComputationGraph net, ParameterAveragingTrainingMaster master,
                                      JavaRDD<DataSet> rdd) {
        RECORDS.clear();
        SparkComputationGraph sparkNet = new SparkComputationGraph(sc, net, master);
        sparkNet.setListeners(new Recorder());
        for (int e = 0; e < EPOCHS; e++) {
            sparkNet.fit(rdd);
        }
        return new ArrayList<>(RECORDS);
    }

    private static double dropProb(ComputationGraph net, int layerIndex) {
        for (Layer l : net.getLayers()) {
            if (l.getIndex() == layerIndex) {
                return ((ResidualBlock) l.conf().getLayer()).getDropProb();
            }
        }
        throw new IllegalArgumentException("no layer " + layerIndex);
    }

    /** The Javadoc example of {@link WorkerAwareTrainingMaster}, also in docs/distributed.md. */
    @Test
    void javadocExample() {
        ComputationGraph net = TestNets.net(DropMode.BATCH, SEED);
        JavaRDD<DataSet> trainingRdd = sc.parallelize(TestNets.batches(TestNets.data(64, 1), 32), 2);
        ParameterAveragingTrainingMaster master = new WorkerAwareTrainingMaster(
                new ParameterAveragingTrainingMaster.Builder(32)    // examples per DataSet in the RDD
                        .batchSizePerWorker(32)
                        .averagingFrequency(5)
                        .rddTrainingApproach(RDDTrainingApproach.Direct));
        SparkComputationGraph sparkNet = new SparkComputationGraph(sc, net, master);
        sparkNet.fit(trainingRdd);
        assertEquals(1, net.getEpochCount());
        assertEquals(5, net.getIterationCount(), "the driver counts averagingFrequency per split");
    }

    /**
     * DL4J's own master: the driver counts iterations (2 per split) and epochs, but every worker of every split
     * starts again at iteration 0 of epoch 0, so all splits draw the same two sets of masks, and both workers of a
     * split the same ones.
     */
    @Test
    void plainMasterRestartsEveryWorkerAtIterationZero() {
        ComputationGraph net = TestNets.net(DropMode.ROW, SEED);
        JavaRDD<DataSet> rdd = sc.parallelize(TestNets.batches(TestNets.data(96, 1), BATCH), 2);
        List<Record> records = train(net, masterSettings().build(), rdd);
        assertEquals(EPOCHS * SPLITS_PER_EPOCH * 2 * AVERAGING_FREQUENCY, records.size());
        assertEquals(EPOCHS * SPLITS_PER_EPOCH * AVERAGING_FREQUENCY, net.getIterationCount(), "driver's count");
        assertEquals(EPOCHS, net.getEpochCount(), "driver's count");
        Map<Integer, double[]> first = new TreeMap<>();
        for (Record r : records) {
            assertTrue(r.iteration < AVERAGING_FREQUENCY, "worker iteration " + r.iteration);
            assertEquals(0, r.epoch);
            double[] masks = r.scales.values().stream().flatMapToDouble(java.util.Arrays::stream).toArray();
            double[] seen = first.putIfAbsent(r.iteration, masks);
            if (seen != null) {
                assertArrayEquals(seen, masks, "the same masks at every split and on every worker");
            }
        }
        log.info("plain ParameterAveragingTrainingMaster: {} worker iterations, all at iterations {} of epoch 0",
                records.size(), first.keySet());
    }

    /**
     * {@link WorkerAwareTrainingMaster}: workers continue the driver's counters, worker w (= partition) draws the
     * ROW masks of DropDecisions with worker index w, BATCH decisions agree across the workers of a split; the loss
     * goes down, the trained network round-trips through ModelSerializer and evaluates on the driver and on the
     * executors (from the configuration's JSON) alike.
     */
    @ParameterizedTest
    @EnumSource(DropMode.class)
    void workerAwareMasterTrainsWithFreshDecisions(DropMode mode) throws Exception {
        ComputationGraph net = TestNets.net(mode, SEED);
        DataSet trainData = TestNets.data(96, 1);
        DataSet testData = TestNets.data(96, 2);
        JavaRDD<DataSet> rdd = sc.parallelize(TestNets.batches(trainData, BATCH), 2);
        double before = net.score(trainData);
        List<Record> records = train(net, new WorkerAwareTrainingMaster(masterSettings()), rdd);
        double after = net.score(trainData);

        int perEpoch = SPLITS_PER_EPOCH * AVERAGING_FREQUENCY;
        assertEquals(EPOCHS * perEpoch, net.getIterationCount());
        assertEquals(EPOCHS, net.getEpochCount());
        Map<Integer, List<Record>> byIteration = new TreeMap<>();
        for (Record r : records) {
            assertEquals(r.iteration / perEpoch, r.epoch, "epoch of iteration " + r.iteration);
            assertEquals(r.partition, r.workerIndex);
            byIteration.computeIfAbsent(r.iteration, k -> new ArrayList<>()).add(r);
        }
        assertEquals(EPOCHS * perEpoch, byIteration.size(), "every iteration of the driver's count, once");
        long rows = 0;
        long agree = 0;
        for (List<Record> round : byIteration.values()) {
            assertEquals(2, round.size(), "two workers per iteration");
            assertTrue(round.get(0).workerIndex != round.get(1).workerIndex);
            for (int layer : round.get(0).scales.keySet()) {
                double p = dropProb(net, layer);
                for (Record r : round) {
                    double[] want = DropDecisions.trainingScales(BATCH, p, mode, Scaling.INVERTED, SEED,
                            r.iteration, r.epoch, layer, r.workerIndex);
                    assertArrayEquals(want, r.scales.get(layer));
                }
                if (mode == DropMode.BATCH) {
                    assertEquals(round.get(0).computed.get(layer), round.get(1).computed.get(layer));
                } else {
                    for (int i = 0; i < BATCH; i++) {
                        agree += (round.get(0).scales.get(layer)[i] == 0) == (round.get(1).scales.get(layer)[i] == 0)
                                ? 1 : 0;
                        rows++;
                    }
                }
            }
        }
        if (mode == DropMode.ROW) {
            assertTrue(agree < rows, "the workers' ROW masks differ somewhere");
        }

        Evaluation driver = net.evaluate(new ListDataSetIterator<>(testData.asList(), 32));
        SparkComputationGraph sparkNet = new SparkComputationGraph(sc, net, new WorkerAwareTrainingMaster(
                masterSettings()));
        Evaluation executors = sparkNet.evaluate(sc.parallelize(TestNets.batches(testData, 32), 2));
        log.info("Spark {}: score {} -> {}, accuracy {} (driver) {} (executors), ROW agreement {}/{}", mode, before,
                after, driver.accuracy(), executors.accuracy(), agree, rows);
        assertTrue(after < 0.7 * before, "score " + before + " -> " + after);
        assertTrue(driver.accuracy() > 0.6, "accuracy " + driver.accuracy());
        assertEquals(driver.accuracy(), executors.accuracy(), 1e-12);

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ModelSerializer.writeModel(net, bytes, true);
        ComputationGraph restored = ModelSerializer.restoreComputationGraph(
                new ByteArrayInputStream(bytes.toByteArray()), true);
        assertEquals(net.getConfiguration(), restored.getConfiguration());
        assertEquals(net.params(), restored.params());
        assertEquals(driver.accuracy(),
                restored.evaluate(new ListDataSetIterator<>(testData.asList(), 32)).accuracy());
    }
}
