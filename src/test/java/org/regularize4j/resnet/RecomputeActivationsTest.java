package org.regularize4j.resnet;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Sgd;
import org.regularize4j.backend.KernelPath;
import org.regularize4j.backend.KernelPaths;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.testutil.FastPath;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Recomputing the branches' intermediate outputs in the backward pass ({@link KernelPaths#recomputeMinBytes()})
 * changes nothing but memory: three training steps with it and without it give bitwise the same parameters, running
 * statistics and scores, for basic and bottleneck blocks, with row-mode stochastic depth, and with DropBlock (whose
 * units keep their outputs); and the recomputation does run.
 */
class RecomputeActivationsTest {

    @AfterEach
    void restore() {
        KernelPaths.setRecomputeMinBytes(KernelPaths.DEFAULT_RECOMPUTE_MIN_BYTES);
    }

    @Test
    void trainingIsBitwiseTheSame() {
        FastPath.requireDirectConv();
        for (String variant : List.of("basic", "bottleneck", "row-sd", "dropblock")) {
            INDArray[] params = new INDArray[2];
            double[][] scores = new double[2][3];
            long[] recomputed = new long[2];
            for (int run = 0; run < 2; run++) {
                boolean recompute = run == 0;
                KernelPaths.setRecomputeMinBytes(recompute ? 0 : Long.MAX_VALUE);
                ResNet r = variant.equals("bottleneck") ? ResNet.imagenet(50).smallInputStem(true).widthMultiplier(0.125)
                        : ResNet.cifar(14);
                if (variant.equals("row-sd")) {
                    r = r.stochasticDepth(DepthSchedule.linear(0.5), DropMode.ROW);
                }
                if (variant.equals("dropblock")) {
                    r = r.dropBlock(0.3, 3);
                }
                int hw = variant.equals("bottleneck") ? 16 : 12;
                ComputationGraph net = ChannelsLastTest.build(r.inputShape(3, hw, hw).numClasses(3).seed(7)
                        .updater(new Sgd(0.05)), KernelPath.CHANNELS_LAST);
                long before = recomputations(net);
                for (int step = 0; step < 3; step++) {
                    DataSet ds = BatchModeSkipTest.data(8, 3, hw, 20 + step);
                    net.fit(ds);
                    scores[run][step] = net.score();
                }
                recomputed[run] = recomputations(net) - before;
                params[run] = net.params().dup();
            }
            assertTrue(recomputed[0] > 0, variant + ": outputs recomputed");
            assertEquals(0, recomputed[1], variant + ": switched off");
            assertEquals(params[1], params[0], variant + ": parameters and running statistics");
            for (int step = 0; step < 3; step++) {
                assertEquals(scores[1][step], scores[0][step], 0.0, variant + ": score of step " + step);
            }
        }
    }

    /** The default threshold keeps small outputs (CIFAR sizes at small batches) and drops large ones. */
    @Test
    void theThresholdChoosesByOutputSize() {
        FastPath.requireDirectConv();
        ComputationGraph net = ChannelsLastTest.build(ResNet.cifar(8).inputShape(3, 16, 16).numClasses(3).seed(7)
                .updater(new Sgd(0.05)), KernelPath.CHANNELS_LAST);
        DataSet ds = BatchModeSkipTest.data(8, 3, 16, 30);
        net.fit(ds);
        assertEquals(0, recomputations(net), "16 x 16 x 16 x 8 floats (32 KB) < 5 MiB: kept");
        // the first stage's intermediate output is 16 x 16 x 16 x 8 x 4 bytes, the later ones smaller
        KernelPaths.setRecomputeMinBytes(16 * 16 * 16 * 8 * 4);
        net.fit(ds);
        assertEquals(1, recomputations(net), "only the first stage's block (one intermediate unit) recomputes");
    }

    private static long recomputations(ComputationGraph net) {
        return FoldedInferenceTest.sumOverUnits(net, ConvBnUnit::recomputations);
    }
}
