package org.regularize4j.distributed;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.regularize4j.depth.WorkerAware;
import org.regularize4j.util.Checks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Tells every stochastic-depth component of one copy of a network which worker of a data-parallel run trains
 * that copy ({@link WorkerAware}). With index {@code w}, {@code ROW}-mode decisions use a seed of their own
 * ({@code DropDecisions.workerSeed(seed, w)}) while {@code BATCH}-mode decisions stay the same on every worker.
 *
 * <p>{@link ParallelTraining} and {@link org.regularize4j.distributed.spark.WorkerAwareTrainingMaster} call it
 * on each worker's copy; call it yourself when you replicate a network some other way. The index is run-time
 * state of the layer and vertex objects, not part of the configuration.
 *
 * <pre>{@code
 * ComputationGraph replica = ResNet.cifar(20).stochasticDepth(DepthSchedule.linear(0.5)).build();
 * int components = WorkerIndex.assign(replica, 1);   // 9 residual blocks now draw as worker 1
 * }</pre>
 */
public final class WorkerIndex {
    private WorkerIndex() {
    }

    /**
     * Sets {@code workerIndex} on every {@link WorkerAware} layer and vertex of a {@link ComputationGraph} or
     * {@link MultiLayerNetwork} (frozen ones included: they do not draw anyway).
     *
     * @param model       an initialized network
     * @param workerIndex 0-based worker index, {@code >= 0}; 0 restores single-process decisions
     * @return how many components were set (0 for a network without stochastic depth)
     */
    public static int assign(Model model, int workerIndex) {
        Checks.notNull("model", model);
        Checks.atLeast("workerIndex", workerIndex, 0);
        int count = 0;
        if (model instanceof ComputationGraph) {
            GraphVertex[] vertices = ((ComputationGraph) model).getVertices();
            if (vertices == null) {
                throw new IllegalArgumentException("model must be initialized (call init() first)");
            }
            for (GraphVertex v : vertices) {
                count += set(v, workerIndex);
                if (v.hasLayer()) {
                    count += set(v.getLayer(), workerIndex);
                }
            }
        } else if (model instanceof MultiLayerNetwork) {
            Layer[] layers = ((MultiLayerNetwork) model).getLayers();
            if (layers == null) {
                throw new IllegalArgumentException("model must be initialized (call init() first)");
            }
            for (Layer l : layers) {
                count += set(l, workerIndex);
            }
        } else {
            throw new IllegalArgumentException("model must be a ComputationGraph or a MultiLayerNetwork, got "
                    + model.getClass().getName());
        }
        return count;
    }

    /**
     * The worker index of the network's stochastic-depth components: 0 when it has none or none was set.
     *
     * @throws IllegalStateException when components disagree (a half-assigned network)
     */
    public static int of(Model model) {
        Checks.notNull("model", model);
        Integer found = null;
        Iterable<?> parts;
        if (model instanceof ComputationGraph) {
            List<Object> all = new ArrayList<>();
            for (GraphVertex v : ((ComputationGraph) model).getVertices()) {
                all.add(v);
                if (v.hasLayer()) {
                    all.add(v.getLayer());
                }
            }
            parts = all;
        } else if (model instanceof MultiLayerNetwork) {
            parts = Arrays.asList(((MultiLayerNetwork) model).getLayers());
        } else {
            throw new IllegalArgumentException("model must be a ComputationGraph or a MultiLayerNetwork, got "
                    + model.getClass().getName());
        }
        for (Object o : parts) {
            if (o instanceof WorkerAware) {
                int w = ((WorkerAware) o).getWorkerIndex();
                if (found != null && found != w) {
                    throw new IllegalStateException("stochastic-depth components disagree on the worker index: "
                            + found + " and " + w);
                }
                found = w;
            }
        }
        return found == null ? 0 : found;
    }

    private static int set(Object component, int workerIndex) {
        if (component instanceof WorkerAware) {
            ((WorkerAware) component).setWorkerIndex(workerIndex);
            return 1;
        }
        return 0;
    }
}
