package org.regularize4j.distributed;

import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.threshold.FixedThresholdAlgorithm;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.testutil.JavadocExamples;
import org.regularize4j.testutil.SingleThreadedNd4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every usage example in the Javadoc of org.regularize4j.distributed (and .spark) and every Java block of
 * docs/distributed.md, copied here verbatim (the Spark ones in {@link SparkTrainingTest}, which has a Spark context),
 * compiled and run. {@link #everyExampleIsCopiedVerbatim()} fails if an example changed without its copy, or if a
 * public type has no example.
 */
@ExtendWith(SingleThreadedNd4j.class)
class JavadocExamplesTest {

    /** 16 MNIST-sized examples: 2 mini-batches of 8, one round of 2 workers per epoch. */
    private static DataSetIterator mnistLike() {
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.rand(DataType.FLOAT, 16, 1, 28, 28);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 16, 10);
        for (int i = 0; i < 16; i++) {
            y.putScalar(i, i % 10, 1.0);
        }
        return new ListDataSetIterator<>(new DataSet(x, y).asList(), 8);
    }

    @Test
    void workerIndex() {
        ComputationGraph replica = ResNet.cifar(20).stochasticDepth(DepthSchedule.linear(0.5)).build();
        int components = WorkerIndex.assign(replica, 1);   // 9 residual blocks now draw as worker 1
        assertEquals(9, components);
        assertEquals(1, WorkerIndex.of(replica));
    }

    @Test
    void parallelTraining() {
        DataSetIterator trainData = mnistLike();
        ComputationGraph net = ResNet.cifar(20).inputShape(1, 28, 28).numClasses(10)
                .stochasticDepth(DepthSchedule.linear(0.5), DropMode.ROW).build();
        try (ParallelTraining training = ParallelTraining.builder(net)
                .workers(2)
                .mode(ParallelWrapper.TrainingMode.AVERAGING)
                .build()) {
            training.fit(trainData, 3);   // 3 epochs; net holds the result
        }
        assertEquals(3, net.getEpochCount());
        assertEquals(3, net.getIterationCount());
    }

    @Test
    void parallelTrainingBuilder() {
        ComputationGraph net = TestNets.net(DropMode.ROW, 1);
        ParallelTraining training = ParallelTraining.builder(net)
                .workers(2)
                .mode(ParallelWrapper.TrainingMode.SHARED_GRADIENTS)
                .prefetchBuffer(4)
                .build();
        assertEquals(ParallelWrapper.TrainingMode.SHARED_GRADIENTS, training.mode());
        training.close();
    }

    @Test
    void docsQuickStart() {
        DataSetIterator trainData = mnistLike();
        ComputationGraph net = ResNet.cifar(20).inputShape(1, 28, 28).numClasses(10)
                .stochasticDepth(DepthSchedule.linear(0.5), DropMode.ROW)
                .regularization(RegularizationPolicy.standard(5e-4))
                .build();
        try (ParallelTraining training = ParallelTraining.builder(net)
                .workers(2)
                .mode(ParallelWrapper.TrainingMode.AVERAGING)
                .build()) {
            training.fit(trainData, 3);   // 3 epochs; net holds the result
        }
        assertEquals(3, net.getEpochCount());
    }

    @Test
    void docsOwnWrapper() throws Exception {
        DataSetIterator trainData = mnistLike();
        ComputationGraph net = TestNets.resnet(DropMode.ROW, 1).inputShape(1, 28, 28).numClasses(10).build();
        ParallelWrapper wrapper = new ParallelWrapper.Builder<>(net)
                .workers(2)
                .trainingMode(ParallelWrapper.TrainingMode.SHARED_GRADIENTS)
                .thresholdAlgorithm(new FixedThresholdAlgorithm(1e-3))
                .build();
        ParallelTraining.workerAware(wrapper);   // per-worker ROW masks; copies start from the network's state
        wrapper.fit(trainData);
        net.incrementEpochCount();               // ParallelWrapper does not count epochs
        wrapper.close();
        assertEquals(1, net.getEpochCount());
        assertEquals(1, net.getIterationCount());
    }

    @Test
    void everyExampleIsCopiedVerbatim() throws IOException {
        String here = "src/test/java/org/regularize4j/distributed/JavadocExamplesTest.java";
        String spark = "src/test/java/org/regularize4j/distributed/SparkTrainingTest.java";
        JavadocExamples.assertCopiedVerbatim("src/main/java/org/regularize4j/distributed", here, 4, spark);
        String copies = JavadocExamples.normalize(Files.readString(Paths.get(here))) + "\n"
                + JavadocExamples.normalize(Files.readString(Paths.get(spark)));

        String doc = Files.readString(Paths.get("docs/distributed.md"));
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(doc);
        int blocks = 0;
        while (m.find()) {
            assertTrue(copies.contains(JavadocExamples.normalize(m.group(1))), "docs/distributed.md example not copied verbatim:\n"
                    + m.group(1));
            blocks++;
        }
        assertTrue(blocks >= 3, "java blocks in docs/distributed.md: " + blocks);
    }
}
