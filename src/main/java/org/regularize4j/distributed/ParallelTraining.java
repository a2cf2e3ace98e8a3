package org.regularize4j.distributed;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.ThresholdAlgorithm;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.deeplearning4j.parallelism.ParallelWrapper.TrainingMode;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;
import org.regularize4j.util.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Data-parallel training of one network by several workers in one JVM, on DL4J's {@link ParallelWrapper}
 * (several CPU threads, or one worker per GPU on the CUDA backend), set up for stochastic depth.
 *
 * <p>What it adds to a plain {@code ParallelWrapper}:
 * <ul>
 *   <li>each worker's copy of the network learns its worker index ({@link WorkerIndex}), so that
 *       {@code ROW}-mode stochastic depth draws independent masks on every worker, while {@code BATCH}-mode
 *       decisions stay identical across workers (all workers skip the same blocks in the same iteration);</li>
 *   <li>{@link #fit(DataSetIterator)} counts the epoch on the network afterwards, as
 *       {@code ComputationGraph.fit(iterator)} does and {@code ParallelWrapper} does not, so epoch-based
 *       schedules and the stochastic-depth decisions advance as in single-process training;</li>
 *   <li>arguments are checked with messages that name them.</li>
 * </ul>
 *
 * <p>Modes: {@link TrainingMode#AVERAGING} (every worker fits its own mini-batch, parameters and updater state
 * are averaged every {@code averagingFrequency} rounds; worker 0 trains the given network itself, so after
 * {@link #fit} it holds the last average) and {@link TrainingMode#SHARED_GRADIENTS} (workers exchange
 * threshold-encoded updates after every mini-batch; see docs/distributed.md for what this does to
 * {@code ProximalL1}'s exact zeros). Each worker consumes whole mini-batches of the iterator: the
 * effective batch of one round is {@code workers × batch size}.
 *
 * <pre>{@code
 * ComputationGraph net = ResNet.cifar(20).inputShape(1, 28, 28).numClasses(10)
 *         .stochasticDepth(DepthSchedule.linear(0.5), DropMode.ROW).build();
 * try (ParallelTraining training = ParallelTraining.builder(net)
 *         .workers(2)
 *         .mode(ParallelWrapper.TrainingMode.AVERAGING)
 *         .build()) {
 *     training.fit(trainData, 3);   // 3 epochs; net holds the result
 * }
 * }</pre>
 */
public final class ParallelTraining implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ParallelTraining.class);

    private final Model model;
    private final ParallelWrapper wrapper;
    private final TrainingMode mode;
    private final int workers;

    private ParallelTraining(Builder b) {
        this.model = b.model;
        this.mode = b.mode;
        this.workers = b.workers;
        ParallelWrapper.Builder<Model> pw = new ParallelWrapper.Builder<>(b.model);
        pw.workers(b.workers)
                .trainingMode(b.mode)
                .averagingFrequency(b.averagingFrequency)
                .prefetchBuffer(b.prefetchBuffer)
                .workspaceMode(b.workspaceMode)
                .reportScoreAfterAveraging(false);
        if (b.thresholdAlgorithm != null) {
            pw.thresholdAlgorithm(b.thresholdAlgorithm);
        }
        this.wrapper = workerAware(pw.build());
    }

    /**
     * A builder for training {@code model} (an initialized {@link ComputationGraph} or
     * {@link MultiLayerNetwork}, e.g. from {@code ResNet.build()}).
     */
    public static Builder builder(Model model) {
        return new Builder(model);
    }

    /**
     * Makes a {@link ParallelWrapper} you built yourself give each worker's copy its worker index (see
     * {@link WorkerIndex}). Call it after {@code ParallelWrapper.Builder.build()} and before the first
     * {@code fit}; {@code AVERAGING} and {@code SHARED_GRADIENTS} wrappers are recognised by whether they
     * have a gradients accumulator.
     *
     * @return the same wrapper
     */
    public static ParallelWrapper workerAware(ParallelWrapper wrapper) {
        Checks.notNull("wrapper", wrapper);
        if (wrapper.getZoo() != null) {
            throw new IllegalStateException("wrapper has already started its workers; call workerAware before fit");
        }
        wrapper.setTrainerContext(new WorkerIndexingTrainerContext(wrapper.getGradientsAccumulator() != null));
        return wrapper;
    }

    /** One epoch over {@code data}, then the network's epoch count goes up by one. */
    public void fit(DataSetIterator data) {
        Checks.notNull("data", data);
        long start = System.nanoTime();
        wrapper.fit(data);
        endEpoch(start);
    }

    /** One epoch over {@code data}, then the network's epoch count goes up by one. */
    public void fit(MultiDataSetIterator data) {
        Checks.notNull("data", data);
        long start = System.nanoTime();
        wrapper.fit(data);
        endEpoch(start);
    }

    /**
     * {@code epochs} epochs over {@code data} (reset between epochs).
     *
     * @param epochs {@code >= 1}
     */
    public void fit(DataSetIterator data, int epochs) {
        Checks.notNull("data", data);
        Checks.atLeast("epochs", epochs, 1);
        for (int e = 0; e < epochs; e++) {
            if (e > 0) {
                data.reset();
            }
            fit(data);
        }
    }

    /** The network being trained (worker 0's copy: after {@link #fit}, the result). */
    public Model model() {
        return model;
    }

    /** The underlying DL4J wrapper, for settings this class does not expose (listeners, stats storage). */
    public ParallelWrapper wrapper() {
        return wrapper;
    }

    /** The training mode. */
    public TrainingMode mode() {
        return mode;
    }

    /** Number of workers. */
    public int workers() {
        return workers;
    }

    /** Stops the workers (they also stop at the end of each {@code fit}). */
    @Override
    public void close() {
        wrapper.shutdown();
    }

    private void endEpoch(long startNanos) {
        if (model instanceof ComputationGraph) {
            ((ComputationGraph) model).incrementEpochCount();
        } else {
            ((MultiLayerNetwork) model).incrementEpochCount();
        }
        log.info("{} workers ({}) finished epoch {} in {} ms; score {}", workers, mode, epochCount() - 1,
                (System.nanoTime() - startNanos) / 1_000_000, model.score());
    }

    private int epochCount() {
        return model instanceof ComputationGraph ? ((ComputationGraph) model).getEpochCount()
                : ((MultiLayerNetwork) model).getEpochCount();
    }

    /**
     * Settings of a {@link ParallelTraining}; defaults: 2 workers, {@code AVERAGING}, averaging every round,
     * a prefetch buffer of 2 mini-batches per worker, workspaces enabled.
     *
     * <pre>{@code
     * ParallelTraining training = ParallelTraining.builder(net)
     *         .workers(2)
     *         .mode(ParallelWrapper.TrainingMode.SHARED_GRADIENTS)
     *         .prefetchBuffer(4)
     *         .build();
     * }</pre>
     */
    public static final class Builder {
        private final Model model;
        private int workers = 2;
        private TrainingMode mode = TrainingMode.AVERAGING;
        private int averagingFrequency = 1;
        private int prefetchBuffer = 2;
        private WorkspaceMode workspaceMode = WorkspaceMode.ENABLED;
        private ThresholdAlgorithm thresholdAlgorithm;

        private Builder(Model model) {
            Checks.notNull("model", model);
            if (!(model instanceof ComputationGraph) && !(model instanceof MultiLayerNetwork)) {
                throw new IllegalArgumentException("model must be a ComputationGraph or a MultiLayerNetwork, got "
                        + model.getClass().getName());
            }
            boolean initialized = model instanceof ComputationGraph ? ((ComputationGraph) model).getVertices() != null
                    : ((MultiLayerNetwork) model).getLayers() != null;
            if (!initialized) {
                throw new IllegalArgumentException("model must be initialized (call init() first)");
            }
            this.model = model;
        }

        /** Number of workers, {@code >= 2} (ParallelWrapper's minimum). Default 2. */
        public Builder workers(int workers) {
            this.workers = Checks.atLeast("workers", workers, 2);
            return this;
        }

        /** {@code AVERAGING} (default) or {@code SHARED_GRADIENTS}. */
        public Builder mode(TrainingMode mode) {
            Checks.notNull("mode", mode);
            if (mode == TrainingMode.CUSTOM) {
                throw new IllegalArgumentException("mode must be AVERAGING or SHARED_GRADIENTS, got CUSTOM (build a"
                        + " ParallelWrapper with your GradientsAccumulator and pass it to"
                        + " ParallelTraining.workerAware)");
            }
            this.mode = mode;
            return this;
        }

        /** {@code AVERAGING} only: average parameters every this many rounds, {@code >= 1}. Default 1. */
        public Builder averagingFrequency(int averagingFrequency) {
            this.averagingFrequency = Checks.atLeast("averagingFrequency", averagingFrequency, 1);
            return this;
        }

        /** Mini-batches fetched ahead by a background thread, {@code >= 0} (0: none). Default 2. */
        public Builder prefetchBuffer(int prefetchBuffer) {
            this.prefetchBuffer = Checks.atLeast("prefetchBuffer", prefetchBuffer, 0);
            return this;
        }

        /** Workspace mode of the workers' copies. Default ENABLED. */
        public Builder workspaceMode(WorkspaceMode workspaceMode) {
            this.workspaceMode = Checks.notNull("workspaceMode", workspaceMode);
            return this;
        }

        /**
         * {@code SHARED_GRADIENTS} only: how the encoding threshold is chosen (DL4J's default is an
         * {@code AdaptiveThresholdAlgorithm}).
         */
        public Builder thresholdAlgorithm(ThresholdAlgorithm thresholdAlgorithm) {
            this.thresholdAlgorithm = Checks.notNull("thresholdAlgorithm", thresholdAlgorithm);
            return this;
        }

        /** The trainer; its workers start at the first {@code fit}. */
        public ParallelTraining build() {
            return new ParallelTraining(this);
        }
    }
}
