package org.regularize4j.backend;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.resnet.ResNet;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FlatGradientUpdater} takes DL4J's standard (non-external) update path and gives bit-for-bit the
 * updates of DL4J's own updater, with and without regularization, and keeps an existing updater state.
 */
class FlatGradientUpdaterTest {

    private static DataSet data() {
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 3, 8, 8);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 8, 4);
        for (int i = 0; i < 8; i++) {
            y.putScalar(i, i % 4, 1.0);
        }
        return new DataSet(x, y);
    }

    private static ResNet resnet() {
        return ResNet.cifar(8).inputShape(3, 8, 8).numClasses(4).seed(9)
                .regularization(RegularizationPolicy.standard(5e-4))
                .stochasticDepth(DepthSchedule.linear(0.5), DropMode.BATCH);
    }

    /** Records whether DL4J's update ran its external-gradient path. */
    private static final class Recording extends FlatGradientUpdater {
        final List<Boolean> external = new ArrayList<>();

        Recording(ComputationGraph graph, INDArray state) {
            super(graph, state);
        }

        @Override
        protected void divideByMinibatch(boolean isExternal, Gradient gradient, int batchSize) {
            external.add(isExternal);
            super.divideByMinibatch(isExternal, gradient, batchSize);
        }
    }

    @Test
    void takesTheStandardPathAndMatchesDl4jsUpdaterBitForBit() {
        ComputationGraphConfiguration conf = resnet().conf();
        ComputationGraph dl4j = new ComputationGraph(conf.clone());
        dl4j.init();
        assertFalse(dl4j.getUpdater() instanceof FlatGradientUpdater);
        ComputationGraph ours = new ComputationGraph(conf.clone());
        ours.init();
        Recording recording = new Recording(ours, ours.getUpdater().getStateViewArray());
        ours.setUpdater(recording);
        assertEquals(dl4j.params(), ours.params());
        DataSet ds = data();
        for (int i = 0; i < 4; i++) {
            dl4j.fit(ds);
            ours.fit(ds);
        }
        assertEquals(List.of(false, false, false, false), recording.external);
        assertEquals(dl4j.params(), ours.params());   // exact
        assertEquals(dl4j.getUpdater().getStateViewArray(), ours.getUpdater().getStateViewArray());
        assertTrue(dl4j.params().sub(resnet().build().params()).norm2Number().doubleValue() > 0,
                "the steps changed the parameters");
    }

    @Test
    void builderInstallsItAndInstallKeepsTheState() {
        ComputationGraph built = resnet().build();
        assertTrue(built.getUpdater() instanceof FlatGradientUpdater);

        ComputationGraphConfiguration conf = resnet().conf();
        ComputationGraph a = new ComputationGraph(conf.clone());
        a.init();
        ComputationGraph b = new ComputationGraph(conf.clone());
        b.init();
        DataSet ds = data();
        a.fit(ds);
        b.fit(ds);
        ComputationGraphUpdater before = b.getUpdater();
        INDArray state = before.getStateViewArray();
        FlatGradientUpdater.install(b);
        assertTrue(b.getUpdater() instanceof FlatGradientUpdater);
        assertSame(state, b.getUpdater().getStateViewArray());
        ComputationGraphUpdater installed = b.getUpdater();
        FlatGradientUpdater.install(b);
        assertSame(installed, b.getUpdater(), "installing twice keeps the first");
        for (int i = 0; i < 2; i++) {
            a.fit(ds);
            b.fit(ds);
        }
        assertEquals(a.params(), b.params());
    }

    @Test
    void nullNetworkIsRejectedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FlatGradientUpdater.install(null));
        assertTrue(e.getMessage().contains("net"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new FlatGradientUpdater(null, null));
        assertTrue(e.getMessage().contains("graph"), e.getMessage());
    }
}
