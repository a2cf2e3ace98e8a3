package org.regularize4j.distributed.spark;

import org.apache.spark.TaskContext;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.TrainingHook;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.regularize4j.distributed.WorkerIndex;

/**
 * The hook behind {@link WorkerAwareTrainingMaster}. The master sets the driver's counters on it just before a
 * split's worker is created; the hook travels to the executors inside that worker (Java serialization, at job
 * submission), and before a worker's first mini-batch sets the counters and the worker index (the Spark
 * partition) on the worker's network.
 */
final class WorkerCountersHook implements TrainingHook {
    private static final long serialVersionUID = 1L;

    private int iterationCount;
    private int epochCount;
    /** The network this copy of the hook has prepared (one per task: each task deserializes its own hook). */
    private transient Model prepared;

    void setCounters(int iterationCount, int epochCount) {
        this.iterationCount = iterationCount;
        this.epochCount = epochCount;
    }

    int getIterationCount() {
        return iterationCount;
    }

    int getEpochCount() {
        return epochCount;
    }

    @Override
    public void preUpdate(DataSet minibatch, Model model) {
        prepare(model);
    }

    @Override
    public void preUpdate(MultiDataSet minibatch, Model model) {
        prepare(model);
    }

    @Override
    public void postUpdate(DataSet minibatch, Model model) {
        // nothing after the update
    }

    @Override
    public void postUpdate(MultiDataSet minibatch, Model model) {
        // nothing after the update
    }

    /** Sets the counters and worker index once per network. */
    void prepare(Model model) {
        if (model == prepared) {
            return;
        }
        if (model instanceof ComputationGraph) {
            ((ComputationGraph) model).getConfiguration().setIterationCount(iterationCount);
            ((ComputationGraph) model).getConfiguration().setEpochCount(epochCount);
        } else if (model instanceof MultiLayerNetwork) {
            ((MultiLayerNetwork) model).getLayerWiseConfigurations().setIterationCount(iterationCount);
            ((MultiLayerNetwork) model).getLayerWiseConfigurations().setEpochCount(epochCount);
        }
        TaskContext task = TaskContext.get();
        WorkerIndex.assign(model, task == null ? 0 : task.partitionId());
        prepared = model;
    }
}
