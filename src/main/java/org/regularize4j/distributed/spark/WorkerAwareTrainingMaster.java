package org.regularize4j.distributed.spark;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.spark.api.TrainingHook;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;
import org.regularize4j.util.Checks;

import java.util.ArrayList;
import java.util.List;

/**
 * DL4J's {@link ParameterAveragingTrainingMaster} (dl4j-spark 1.0.0-M2) whose workers continue the network's
 * iteration and epoch counters and know their worker index.
 *
 * <p>Why: every averaging round ("split"), DL4J's worker builds its network from
 * {@code configuration.clone()}, and {@code ComputationGraphConfiguration.clone()} (like
 * {@code MultiLayerConfiguration.clone()}) drops the counters. Every worker of every split therefore trains at
 * iterations 0, 1, ..., averagingFrequency − 1 of epoch 0: stochastic-depth decisions, which are derived from
 * (seed, iteration, epoch, index), repeat from split to split and are identical on every worker, and
 * iteration- or epoch-based learning-rate schedules restart on the workers at every split ({@code SparkTrainingTest}
 * shows both). This master sets each worker's counters, before its first mini-batch, to the driver's at the time
 * the split was sent (the driver adds averagingFrequency after each split and one per epoch), and sets the worker
 * index to the Spark partition, so that {@code ROW}-mode masks differ between workers while {@code BATCH}-mode
 * decisions stay identical across the workers of a split.
 *
 * <pre>{@code
 * ParameterAveragingTrainingMaster master = new WorkerAwareTrainingMaster(
 *         new ParameterAveragingTrainingMaster.Builder(32)    // examples per DataSet in the RDD
 *                 .batchSizePerWorker(32)
 *                 .averagingFrequency(5)
 *                 .rddTrainingApproach(RDDTrainingApproach.Direct));
 * SparkComputationGraph sparkNet = new SparkComputationGraph(sc, net, master);
 * sparkNet.fit(trainingRdd);
 * }</pre>
 */
public class WorkerAwareTrainingMaster extends ParameterAveragingTrainingMaster {
    private final WorkerCountersHook hook = new WorkerCountersHook();

    /**
     * A master with the settings of {@code builder} (its training hooks included; ours runs first).
     *
     * @param builder DL4J's builder, configured as for a plain {@code ParameterAveragingTrainingMaster}
     */
    public WorkerAwareTrainingMaster(ParameterAveragingTrainingMaster.Builder builder) {
        super(Checks.notNull("builder", builder));
        List<TrainingHook> hooks = new ArrayList<>();
        hooks.add(hook);
        if (trainingHookList != null) {
            hooks.addAll(trainingHookList);
        }
        trainingHookList = hooks;
    }

    @Override
    public ParameterAveragingTrainingWorker getWorkerInstance(SparkComputationGraph graph) {
        ComputationGraphConfiguration c = graph.getNetwork().getConfiguration();
        hook.setCounters(c.getIterationCount(), c.getEpochCount());
        return super.getWorkerInstance(graph);
    }

    @Override
    public ParameterAveragingTrainingWorker getWorkerInstance(SparkDl4jMultiLayer network) {
        MultiLayerConfiguration c = network.getNetwork().getLayerWiseConfigurations();
        hook.setCounters(c.getIterationCount(), c.getEpochCount());
        return super.getWorkerInstance(network);
    }

    @Override
    public String toString() {
        return "WorkerAwareTrainingMaster(" + super.toString() + ")";
    }
}
