package org.regularize4j.depth;

/**
 * A stochastic-depth component (a drop-path vertex or a residual block) that can be told which worker of a
 * data-parallel run it belongs to.
 *
 * <p>DL4J's {@code ParallelWrapper} and Spark train several copies of one network; every copy has the same
 * seed and, in step, the same iteration count, so decisions derived from (seed, iteration, epoch, index) are
 * the same on every copy. For {@link DropMode#BATCH} that is what we want (every worker drops the same blocks
 * in the same iteration, as one process on the combined mini-batch would; and no worker waits for another that
 * did not skip). For {@link DropMode#ROW} it would give row {@code i} of every worker's shard the same mask, so
 * a row-mode component draws its per-example decisions with {@link DropDecisions#workerSeed(long, int)}.
 *
 * <p>The index is run-time state of the layer or vertex object, never part of the configuration: it is not
 * saved, not copied by {@code clone()}, and is 0 (single-process decisions) unless a multi-worker trainer sets
 * it. {@code org.regularize4j.distributed} sets it for {@code ParallelWrapper} and Spark workers.
 *
 * <pre>{@code
 * for (org.deeplearning4j.nn.graph.vertex.GraphVertex v : graph.getVertices()) {
 *     if (v instanceof WorkerAware) {
 *         ((WorkerAware) v).setWorkerIndex(1);   // this copy is worker 1
 *     }
 * }
 * }</pre>
 */
public interface WorkerAware {

    /**
     * Sets the 0-based index of the worker that trains this copy of the network.
     *
     * @param workerIndex {@code >= 0}; 0 is also the single-process value
     */
    void setWorkerIndex(int workerIndex);

    /** The 0-based worker index; 0 unless set. */
    int getWorkerIndex();
}
