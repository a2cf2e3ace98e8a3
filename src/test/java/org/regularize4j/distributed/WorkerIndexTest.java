package org.regularize4j.distributed;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.parallelism.ParallelWrapper.TrainingMode;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.depth.DropDecisions;
import org.regularize4j.depth.DropMode;
import org.regularize4j.depth.DropPathVertex;
import org.regularize4j.depth.Scaling;
import org.regularize4j.depth.StochasticDepthVertex;
import org.regularize4j.resnet.ResidualBlockImpl;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The worker component of the decisions, {@link WorkerIndex}, and argument checks of the distributed API. */
class WorkerIndexTest {

    @Test
    void workerZeroIsTheSingleProcessAndOtherWorkersGetSeedsOfTheirOwn() {
        assertEquals(42L, DropDecisions.workerSeed(42L, 0));
        Set<Long> seeds = new HashSet<>();
        for (int w = 0; w < 1000; w++) {
            seeds.add(DropDecisions.workerSeed(42L, w));
        }
        assertEquals(1000, seeds.size(), "distinct seeds");
        double[] single = DropDecisions.trainingScales(16, 0.3, DropMode.ROW, Scaling.INVERTED, 42L, 5, 1, 3);
        assertArrayEquals(single, DropDecisions.trainingScales(16, 0.3, DropMode.ROW, Scaling.INVERTED, 42L, 5, 1,
                3, 0));
        boolean differs = false;
        for (int w = 1; w < 5; w++) {
            differs |= !java.util.Arrays.equals(single, DropDecisions.trainingScales(16, 0.3, DropMode.ROW,
                    Scaling.INVERTED, 42L, 5, 1, 3, w));
            assertArrayEquals(DropDecisions.trainingScales(16, 0.3, DropMode.BATCH, Scaling.INVERTED, 42L, 5, 1, 3),
                    DropDecisions.trainingScales(16, 0.3, DropMode.BATCH, Scaling.INVERTED, 42L, 5, 1, 3, w),
                    "BATCH decisions are the same on every worker");
        }
        assertTrue(differs);
    }

    /**
     * Worker 3's ROW decisions keep rows at rate keepProb and are independent of worker 0's: over 200,000 rows with
     * dropProb 0.3, the keep rate is 0.7 and both keep a row at rate 0.49 (tolerance 0.005, about 5 standard errors).
     */
    @Test
    void rowDecisionsOfTwoWorkersAreIndependent() {
        double p = 0.3;
        int kept3 = 0;
        int both = 0;
        int n = 0;
        for (int it = 0; it < 2000; it++) {
            double[] a = DropDecisions.trainingScales(100, p, DropMode.ROW, Scaling.INVERTED, 9L, it, 0, 2, 0);
            double[] b = DropDecisions.trainingScales(100, p, DropMode.ROW, Scaling.INVERTED, 9L, it, 0, 2, 3);
            for (int i = 0; i < 100; i++) {
                kept3 += b[i] > 0 ? 1 : 0;
                both += a[i] > 0 && b[i] > 0 ? 1 : 0;
                n++;
            }
        }
        assertEquals(0.7, (double) kept3 / n, 0.005);
        assertEquals(0.49, (double) both / n, 0.005);
    }

    @Test
    void assignReachesResidualBlocksAndVertices() {
        ComputationGraph resnet = TestNets.net(DropMode.ROW, 1);
        assertEquals(0, WorkerIndex.of(resnet));
        assertEquals(3, WorkerIndex.assign(resnet, 2));
        assertEquals(2, WorkerIndex.of(resnet));
        assertEquals(2, ((ResidualBlockImpl) resnet.getLayer("stage2.block1")).getWorkerIndex());
        assertEquals(0, WorkerIndex.of(resnet.clone()), "run-time state: a clone starts at 0");

        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).graphBuilder()
                .addInputs("in")
                .addLayer("stem", new DenseLayer.Builder().nIn(4).nOut(8).build(), "in")
                .addLayer("fc1", new DenseLayer.Builder().nIn(8).nOut(8).build(), "stem")
                .addVertex("res1", new StochasticDepthVertex(0.5), "fc1", "stem")
                .addLayer("fc2", new DenseLayer.Builder().nIn(8).nOut(8).build(), "res1")
                .addVertex("drop2", new DropPathVertex(0.5), "fc2")
                .addVertex("res2", new ElementWiseVertex(ElementWiseVertex.Op.Add), "drop2", "res1")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(8).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "res2")
                .setOutputs("out").build();
        ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        INDArray x = Nd4j.rand(DataType.FLOAT, 64, 4);
        INDArray worker0 = graph.outputSingle(true, x);
        assertEquals(2, WorkerIndex.assign(graph, 1));
        INDArray worker1 = graph.outputSingle(true, x);
        assertNotEquals(worker0, worker1, "worker 1 draws other ROW masks");
        WorkerIndex.assign(graph, 0);
        assertEquals(worker0, graph.outputSingle(true, x), "index 0 restores the single-process masks");

        MultiLayerNetwork mln = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().list()
                .layer(new OutputLayer.Builder().nIn(4).nOut(2).build()).build());
        mln.init();
        assertEquals(0, WorkerIndex.assign(mln, 1), "no stochastic depth, nothing to set");
    }

    @Test
    void badArgumentsAreNamed() {
        ComputationGraph net = TestNets.net(DropMode.ROW, 1);
        assertEquals("workerIndex must be >= 0, got -1", assertThrows(IllegalArgumentException.class,
                () -> WorkerIndex.assign(net, -1)).getMessage());
        assertEquals("workerIndex must be >= 0, got -2", assertThrows(IllegalArgumentException.class,
                () -> DropDecisions.workerSeed(1L, -2)).getMessage());
        assertEquals("model must not be null", assertThrows(IllegalArgumentException.class,
                () -> WorkerIndex.assign(null, 0)).getMessage());
        ComputationGraph uninitialized = new ComputationGraph(TestNets.conf(DropMode.ROW, 1));
        assertEquals("model must be initialized (call init() first)", assertThrows(IllegalArgumentException.class,
                () -> WorkerIndex.assign(uninitialized, 0)).getMessage());
        assertEquals("model must be initialized (call init() first)", assertThrows(IllegalArgumentException.class,
                () -> ParallelTraining.builder(uninitialized)).getMessage());

        ParallelTraining.Builder b = ParallelTraining.builder(net);
        assertEquals("workers must be >= 2, got 1", assertThrows(IllegalArgumentException.class,
                () -> b.workers(1)).getMessage());
        assertEquals("averagingFrequency must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> b.averagingFrequency(0)).getMessage());
        assertEquals("prefetchBuffer must be >= 0, got -1", assertThrows(IllegalArgumentException.class,
                () -> b.prefetchBuffer(-1)).getMessage());
        assertEquals("mode must not be null", assertThrows(IllegalArgumentException.class,
                () -> b.mode(null)).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.mode(TrainingMode.CUSTOM)).getMessage()
                .startsWith("mode must be AVERAGING or SHARED_GRADIENTS, got CUSTOM"));
        try (ParallelTraining t = b.build()) {
            assertEquals("epochs must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                    () -> t.fit(new org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator<>(
                            TestNets.data(8, 1).asList(), 8), 0)).getMessage());
            assertEquals(2, t.workers());
            assertEquals(TrainingMode.AVERAGING, t.mode());
            assertFalse(t.wrapper().getTrainerContext() instanceof
                    org.deeplearning4j.parallelism.factory.DefaultTrainerContext, "our trainer context is installed");
        }
    }
}
