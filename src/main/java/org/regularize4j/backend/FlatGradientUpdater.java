package org.regularize4j.backend;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.regularize4j.util.Checks;

import java.util.List;
import java.util.Map;

/**
 * DL4J's {@link ComputationGraphUpdater} without a per-step cost that DL4J M2.1 pays by mistake: the same
 * updates, bit for bit, with no array views created per parameter per step.
 *
 * <p>What goes wrong in M2.1: {@code BaseMultiLayerUpdater.update} takes its cheap path only when
 * {@code gradient.gradient() == getFlattenedGradientsView()}, but {@code DefaultGradient.gradient()} returns a new
 * reshaped view on every call, so the check never holds and every step runs the "external gradient" path: for
 * each parameter and each regularization step it creates parameter and gradient views (four native-backed
 * arrays per parameter per step, whether or not any regularization applies). Measured with JFR on ResNet-56
 * (270 parameter arrays): about 4% of a training step. This class hands DL4J a gradient whose flattened array
 * <em>is</em> the updater's view when both are the same memory, so the standard path runs.
 *
 * <p>{@link org.regularize4j.resnet.ResNet#build()} installs it. A network restored by {@code ModelSerializer}
 * or made by {@code clone()} gets DL4J's updater back (with the same state); call {@link #install} again.
 *
 * <pre>{@code
 * ComputationGraph net = ModelSerializer.restoreComputationGraph(file, true);
 * FlatGradientUpdater.install(net);   // keeps the restored updater state
 * }</pre>
 */
public class FlatGradientUpdater extends ComputationGraphUpdater {

    /** An updater for {@code graph} whose state lives in {@code updaterState} (null: a new state array). */
    public FlatGradientUpdater(ComputationGraph graph, INDArray updaterState) {
        super(Checks.notNull("graph", graph), updaterState);
    }

    /**
     * Replaces the network's updater by one of this class over the same state array (momentum etc. are kept);
     * returns the network. A no-op if it already has one.
     */
    public static ComputationGraph install(ComputationGraph net) {
        Checks.notNull("net", net);
        ComputationGraphUpdater current = net.getUpdater(true);
        if (!(current instanceof FlatGradientUpdater)) {
            net.setUpdater(new FlatGradientUpdater(net, current.getStateViewArray()));
        }
        return net;
    }

    @Override
    public synchronized void update(Gradient gradient, int iteration, int epoch, int batchSize,
                                    LayerWorkspaceMgr workspaceMgr) {
        INDArray view = getFlattenedGradientsView();
        INDArray flat = gradient.gradient();
        if (flat != view && sameMemory(flat, view)) {
            gradient = new ViewGradient(gradient, view);
        }
        super.update(gradient, iteration, epoch, batchSize, workspaceMgr);
    }

    private static boolean sameMemory(INDArray a, INDArray b) {
        return a != null && b != null && a.length() == b.length() && a.dataType() == b.dataType()
                && NativeOps.isCContiguous(a) && NativeOps.isCContiguous(b)
                && a.data().addressPointer().address() == b.data().addressPointer().address();
    }

    /** A gradient whose flattened array is a given view of the same memory; everything else delegates. */
    private static final class ViewGradient implements Gradient {
        private final Gradient delegate;
        private final INDArray flat;

        ViewGradient(Gradient delegate, INDArray flat) {
            this.delegate = delegate;
            this.flat = flat;
        }

        @Override
        public Map<String, INDArray> gradientForVariable() {
            return delegate.gradientForVariable();
        }

        @Override
        public INDArray gradient(List<String> order) {
            return delegate.gradient(order);
        }

        @Override
        public INDArray gradient() {
            return flat;
        }

        @Override
        public void clear() {
            delegate.clear();
        }

        @Override
        public INDArray getGradientFor(String variable) {
            return delegate.getGradientFor(variable);
        }

        @Override
        public INDArray setGradientFor(String variable, INDArray gradient) {
            return delegate.setGradientFor(variable, gradient);
        }

        @Override
        public INDArray setGradientFor(String variable, INDArray gradient, Character flatteningOrder) {
            return delegate.setGradientFor(variable, gradient, flatteningOrder);
        }

        @Override
        public Character flatteningOrderForVariable(String variable) {
            return delegate.flatteningOrderForVariable(variable);
        }
    }
}
