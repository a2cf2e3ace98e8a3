package org.regularize4j.distributed.spark;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.junit.jupiter.api.Test;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.distributed.WorkerIndex;
import org.regularize4j.resnet.ResNet;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hook behind WorkerAwareTrainingMaster, without Spark running (SparkTrainingTest runs it on Spark). */
class WorkerCountersHookTest {

    @Test
    void hookSetsTheCountersOncePerNetworkAndTravelsByJavaSerialization() throws Exception {
        WorkerCountersHook hook = new WorkerCountersHook();
        hook.setCounters(17, 3);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(hook);
        }
        WorkerCountersHook shipped;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            shipped = (WorkerCountersHook) in.readObject();
        }
        assertEquals(17, shipped.getIterationCount());
        assertEquals(3, shipped.getEpochCount());

        ComputationGraph net = ResNet.cifar(8).widthMultiplier(0.25).inputShape(1, 8, 8).numClasses(3)
                .stochasticDepth(DepthSchedule.linear(0.5), DropMode.ROW).build();
        shipped.prepare(net);
        assertEquals(17, net.getIterationCount());
        assertEquals(3, net.getEpochCount());
        assertEquals(0, WorkerIndex.of(net), "outside a Spark task: worker 0");
        net.getConfiguration().setIterationCount(18);   // the worker trains on
        shipped.prepare(net);
        assertEquals(18, net.getIterationCount(), "prepared once per network");
    }

    @Test
    void masterPutsItsHookFirst() {
        assertEquals("builder must not be null", assertThrows(IllegalArgumentException.class,
                () -> new WorkerAwareTrainingMaster(null)).getMessage());
        WorkerAwareTrainingMaster master = new WorkerAwareTrainingMaster(
                new ParameterAveragingTrainingMaster.Builder(8).batchSizePerWorker(8));
        assertTrue(master.toString().startsWith("WorkerAwareTrainingMaster("));
    }
}
