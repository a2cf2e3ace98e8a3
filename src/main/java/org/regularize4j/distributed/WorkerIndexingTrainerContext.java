package org.regularize4j.distributed;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.deeplearning4j.parallelism.factory.TrainerContext;
import org.deeplearning4j.parallelism.trainer.DefaultTrainer;
import org.deeplearning4j.parallelism.trainer.SymmetricTrainer;
import org.deeplearning4j.parallelism.trainer.Trainer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's two trainer contexts (averaging: {@code DefaultTrainerContext}; shared gradients:
 * {@code SymmetricTrainerContext}) with two additions, made once a worker has built its copy of the model, on the
 * worker's own thread, before it fits anything:
 * <ul>
 *   <li>the copy starts from the state the network had when {@code fit} began (parameters, updater state,
 *       iteration and epoch counters), captured on the caller's thread when the worker is created. DL4J copies
 *       them from the live network on the worker's thread, by which time worker 0, which trains the network
 *       itself, may already have fitted its first mini-batch: the copy then starts one iteration ahead (measured
 *       in {@code WorkerDecisionsTest}), draws other BATCH decisions than worker 0 for a whole epoch, and in
 *       shared-gradients mode receives worker 0's first update twice;</li>
 *   <li>{@link WorkerIndex#assign} with the worker's thread id (0 = the original network).</li>
 * </ul>
 */
final class WorkerIndexingTrainerContext implements TrainerContext {
    private final boolean sharedGradients;

    WorkerIndexingTrainerContext(boolean sharedGradients) {
        this.sharedGradients = sharedGradients;
    }

    boolean isSharedGradients() {
        return sharedGradients;
    }

    @Override
    public void init(Model model, Object... args) {
        // nothing to prepare, as in DL4J's contexts
    }

    @Override
    public Trainer create(String uuid, int threadId, Model model, int rootDevice, boolean useMDS,
                          ParallelWrapper wrapper, WorkspaceMode workspaceMode, int averagingFrequency) {
        ReplicaStart start = threadId == 0 ? null : new ReplicaStart(model);
        DefaultTrainer trainer = sharedGradients
                ? new IndexedSymmetricTrainer(model, uuid, threadId, workspaceMode, wrapper, useMDS, start)
                : new IndexedDefaultTrainer(model, uuid, threadId, workspaceMode, wrapper, useMDS,
                        averagingFrequency, start);
        trainer.setName((sharedGradients ? "SymmetricTrainer" : "DefaultTrainer") + " thread " + threadId);
        trainer.setDaemon(true);
        return trainer;
    }

    @Override
    public void finalizeRound(Model originalModel, Model... models) {
        // as DefaultTrainerContext: ParallelWrapper averages by itself
    }

    @Override
    public void finalizeTraining(Model originalModel, Model... models) {
        // as DefaultTrainerContext (never called by ParallelWrapper M2.1)
    }

    /** The state of the network when a worker was created (on the caller's thread, before any fitting). */
    static final class ReplicaStart {
        private final INDArray params;
        private final INDArray updaterState;
        private final int iterationCount;
        private final int epochCount;

        ReplicaStart(Model model) {
            this.params = model.params().dup();
            INDArray state;
            if (model instanceof ComputationGraph) {
                ComputationGraph g = (ComputationGraph) model;
                state = g.getUpdater() == null ? null : g.getUpdater().getStateViewArray();
                iterationCount = g.getConfiguration().getIterationCount();
                epochCount = g.getConfiguration().getEpochCount();
            } else {
                MultiLayerNetwork n = (MultiLayerNetwork) model;
                state = n.getUpdater() == null ? null : n.getUpdater().getStateViewArray();
                iterationCount = n.getLayerWiseConfigurations().getIterationCount();
                epochCount = n.getLayerWiseConfigurations().getEpochCount();
            }
            this.updaterState = state == null ? null : state.dup();
        }

        void applyTo(Model replica) {
            replica.setParams(params);
            if (replica instanceof ComputationGraph) {
                ComputationGraph g = (ComputationGraph) replica;
                if (updaterState != null) {
                    g.getUpdater().getStateViewArray().assign(updaterState);
                }
                g.getConfiguration().setIterationCount(iterationCount);
                g.getConfiguration().setEpochCount(epochCount);
            } else {
                MultiLayerNetwork n = (MultiLayerNetwork) replica;
                if (updaterState != null) {
                    n.getUpdater().getStateViewArray().assign(updaterState);
                }
                n.getLayerWiseConfigurations().setIterationCount(iterationCount);
                n.getLayerWiseConfigurations().setEpochCount(epochCount);
            }
            Nd4j.getExecutioner().commit();
        }
    }

    /** Called by both trainers on the worker's thread once its copy exists. */
    static void prepare(Model replica, int threadId, ReplicaStart start) {
        if (start != null) {
            start.applyTo(replica);
        }
        WorkerIndex.assign(replica, threadId);
    }

    /** DL4J's averaging trainer, plus the worker's start state and index. */
    static final class IndexedDefaultTrainer extends DefaultTrainer {
        private ReplicaStart start;

        IndexedDefaultTrainer(Model originalModel, String uuid, int threadId, WorkspaceMode mode,
                              ParallelWrapper wrapper, boolean useMDS, int averagingFrequency, ReplicaStart start) {
            super();
            this.originalModel = originalModel;
            this.replicatedModel = originalModel;
            this.uuid = uuid + "_thread_" + threadId;
            this.threadId = threadId;
            this.workspaceMode = mode;
            this.parallelWrapper = wrapper;
            this.useMDS = useMDS;
            this.averagingFrequency = averagingFrequency;
            this.start = start;
        }

        @Override
        protected void postInit() {
            prepare(replicatedModel, threadId, start);
            start = null;
            super.postInit();
        }
    }

    /** DL4J's shared-gradients trainer, plus the worker's start state and index. */
    static final class IndexedSymmetricTrainer extends SymmetricTrainer {
        private ReplicaStart start;

        IndexedSymmetricTrainer(Model originalModel, String uuid, int threadId, WorkspaceMode mode,
                                ParallelWrapper wrapper, boolean useMDS, ReplicaStart start) {
            super(originalModel, uuid, threadId, mode, wrapper, useMDS);
            this.start = start;
        }

        @Override
        protected void postInit() {
            prepare(replicatedModel, threadId, start);
            start = null;
            super.postInit();
        }
    }
}
