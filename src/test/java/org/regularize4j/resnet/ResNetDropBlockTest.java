package org.regularize4j.resnet;

import org.regularize4j.testutil.JavaSerialization;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.regularize4j.backend.DirectConv;
import org.regularize4j.backend.KernelPath;
import org.regularize4j.dropout.DropBlock;
import org.regularize4j.testutil.FastPath;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DropBlock in the ResNet builder: placement on the last two stages (timm's drop_block_rate), round trips, the
 * channels-last path against the NCHW path (same logical masks, same training within float tolerance), and identity
 * at inference. The gradient check is {@link ResNetDropBlockGradientCheckTest}.
 */
class ResNetDropBlockTest {

    @AfterEach
    void restore() {
        DirectConv.setEnabled(true);
    }

    private static DropBlock dropBlockOf(ComputationGraphConfiguration conf, String block) {
        return ((ResidualBlock) ((LayerVertex) conf.getVertices().get(block)).getLayerConf().getLayer()).getDropBlock();
    }

    @Test
    void theLastTwoStagesGetTimmsBlocks() {
        ComputationGraphConfiguration cifar = ResNet.cifar(20).inputShape(1, 28, 28).dropBlock(0.1).conf();
        DropBlock second = new DropBlock(0.1, 5).withGammaScale(0.25).withFast(true);
        DropBlock last = new DropBlock(0.1, 3).withFast(true);
        for (int b = 1; b <= 3; b++) {
            assertNull(dropBlockOf(cifar, "stage1.block" + b));
            assertEquals(second, dropBlockOf(cifar, "stage2.block" + b));
            assertEquals(last, dropBlockOf(cifar, "stage3.block" + b));
        }
        ComputationGraphConfiguration r18 = ResNet.imagenet(18).inputShape(3, 64, 64).dropBlock(0.2, 7).conf();
        for (String s : List.of("stage1", "stage2")) {
            assertNull(dropBlockOf(r18, s + ".block1"));
        }
        assertEquals(new DropBlock(0.2, 7).withGammaScale(0.25).withFast(true), dropBlockOf(r18, "stage3.block2"));
        assertEquals(new DropBlock(0.2, 7).withFast(true), dropBlockOf(r18, "stage4.block1"));
        assertNull(dropBlockOf(ResNet.cifar(8).dropBlock(0).conf(), "stage3.block1"));
        assertEquals("dropProb must be in [0, 1], got 1.5", assertThrows(IllegalArgumentException.class,
                () -> ResNet.cifar(8).dropBlock(1.5)).getMessage());
        assertEquals("blockSize must be >= 1, got 0", assertThrows(IllegalArgumentException.class,
                () -> ResNet.cifar(8).dropBlock(0.1, 0)).getMessage());
    }

    @Test
    void roundTrips(@TempDir Path dir) throws Exception {
        ResNet r = ResNet.cifar(8).inputShape(3, 8, 8).numClasses(3).seed(5).dropBlock(0.2);
        ComputationGraphConfiguration conf = r.conf();
        assertEquals(conf, ComputationGraphConfiguration.fromJson(conf.toJson()));
        assertEquals(conf, JavaSerialization.roundTrip(conf));
        assertEquals(conf, conf.clone());
        ComputationGraph net = r.build();
        DataSet ds = BatchModeSkipTest.data(6, 3, 8, 1);
        net.fit(ds);
        File f = dir.resolve("resnet.zip").toFile();
        ModelSerializer.writeModel(net, f, true);
        ComputationGraph restored = ModelSerializer.restoreComputationGraph(f, true);
        assertEquals(net.getConfiguration(), restored.getConfiguration());
        net.fit(ds);
        restored.fit(ds);
        assertTrue(net.params().equalsWithEps(restored.params(), 1e-6), "the same masks after restoring");
    }

    /** Masks of the blocks that have a DropBlock after a training forward pass (null entries skipped). */
    static List<INDArray> masks(ComputationGraph net) {
        List<INDArray> out = new ArrayList<>();
        for (Layer l : net.getLayers()) {
            if (l instanceof ResidualBlockImpl) {
                for (int u = 0; u < 2; u++) {
                    INDArray m = ((ResidualBlockImpl) l).dropBlockMask(u);
                    if (m != null) {
                        out.add(m);
                    }
                }
            }
        }
        return out;
    }

    /** The channels-last path draws the same logical masks as the NCHW path and trains the same way. */
    @Test
    void channelsLastMatchesTheNchwPath() {
        FastPath.requireDirectConv();
        ResNet r = ResNet.cifar(14).inputShape(3, 12, 12).numClasses(3).seed(5).updater(new Sgd(0.05)).dropBlock(0.3);
        ComputationGraph fast = ChannelsLastTest.build(r, KernelPath.CHANNELS_LAST);
        ComputationGraph ref = ChannelsLastTest.build(r, KernelPath.JAVA_NCHW);
        ref.init(fast.params().dup(), true);
        DataSet ds = BatchModeSkipTest.data(6, 3, 12, 3);
        fast.feedForward(new INDArray[] {ds.getFeatures()}, true, false);
        ref.feedForward(new INDArray[] {ds.getFeatures()}, true, false);
        List<INDArray> fastMasks = masks(fast);
        List<INDArray> refMasks = masks(ref);
        assertEquals(8, fastMasks.size());   // 2 stages x 2 blocks x 2 units
        for (int i = 0; i < fastMasks.size(); i++) {
            assertEquals(refMasks.get(i), fastMasks.get(i).permute(0, 3, 1, 2), "mask " + i);
        }
        for (int it = 0; it < 3; it++) {
            fast.fit(ds);
            ref.fit(ds);
            if (it == 0) {
                assertClose(ref.gradient().gradient(), fast.gradient().gradient(), "gradient");
            }
        }
        assertClose(ref.params(), fast.params(), "parameters after 3 steps");
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        double err = expected.sub(actual).amaxNumber().doubleValue() / expected.amaxNumber().doubleValue();
        assertTrue(err < 1e-3, what + ": relative error " + err);
    }

    @Test
    void identityAtInferenceActiveInTraining() {
        ResNet r = ResNet.cifar(8).inputShape(3, 8, 8).numClasses(3).seed(2);
        ComputationGraph plain = r.build();
        ComputationGraph dropped = r.dropBlock(0.3).build();
        dropped.init(plain.params().dup(), true);
        INDArray x = BatchModeSkipTest.data(4, 3, 8, 9).getFeatures();
        assertEquals(plain.outputSingle(false, x), dropped.outputSingle(false, x));
        assertNotEquals(plain.outputSingle(true, x), dropped.outputSingle(true, x));
    }
}
