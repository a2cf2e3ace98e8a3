package org.regularize4j.resnet;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Sgd;
import org.regularize4j.backend.KernelPath;
import org.regularize4j.backend.KernelPaths;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.depth.Scaling;
import org.regularize4j.testutil.FastPath;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Inference with batch norm folded into the convolutions (weights scaled per output channel, a bias, ReLU and the
 * residual sum as oneDNN post-ops) gives the unfolded network's outputs within float rounding (1e-4 of the largest
 * logit): CIFAR and ImageNet stems, basic and bottleneck blocks, both shortcut types, and stochastic depth scaled at
 * inference (the branch multiplier folded too). Batch-norm statistics and affine parameters are random, not the
 * initial 0/1/1/0, so that a wrong fold shows; the parameters are not changed by folding, and a later training step
 * is seen by the next inference pass.
 */
class FoldedInferenceTest {

    @AfterEach
    void restore() {
        KernelPaths.setFoldBatchNorm(true);
        KernelPaths.setInferenceChunkBytes(KernelPaths.DEFAULT_CHUNK_BYTES);
    }

    /**
     * Blocks run on row ranges of the batch (chunks of 16 x 16 x 16 floats per example at the first stage: 37
     * examples in 3 ranges) give the one-pass outputs within float rounding, for every shortcut kind and the
     * bottleneck block, and the ranges do run (more folded convolution calls than folds).
     */
    @Test
    void chunkedInferenceEqualsOnePass() {
        FastPath.requireDirectConv();
        for (String variant : List.of("PROJECTION", "ZERO_PAD", "bottleneck")) {
            ResNet r = variant.equals("bottleneck")
                    ? ResNet.imagenet(50).smallInputStem(true).widthMultiplier(0.125)
                    : ResNet.cifar(14).shortcut(variant.equals("ZERO_PAD") ? ShortcutType.ZERO_PAD
                    : ShortcutType.PROJECTION);
            r = r.inputShape(3, 16, 16).numClasses(3).seed(7).updater(new Sgd(0.05));
            ComputationGraph net = ChannelsLastTest.build(r, KernelPath.CHANNELS_LAST);
            randomizeBatchNorm(net, 13);
            INDArray x = BatchModeSkipTest.data(37, 3, 16, 6).getFeatures();
            KernelPaths.setInferenceChunkBytes(0);
            long calls = foldedConvolutions(net);
            long folds = foldedCalls(net);
            Map<String, INDArray> whole = activations(net, x);
            assertEquals(foldedConvolutions(net) - calls, foldedCalls(net) - folds, variant + ": one call per fold");
            long perExample = 16 * 16 * 16 * 4;   // the first stage's block input (16 channels at 16x16)
            KernelPaths.setInferenceChunkBytes(KernelPaths.MIN_CHUNK_ROWS * perExample);
            calls = foldedConvolutions(net);
            folds = foldedCalls(net);
            Map<String, INDArray> chunked = activations(net, x);
            assertTrue(foldedConvolutions(net) - calls > foldedCalls(net) - folds, variant + ": ranges ran");
            assertSame(whole, chunked, variant + " chunked");
            KernelPaths.setFoldBatchNorm(false);
            assertSame(activations(net, x), chunked, variant + " chunked vs unfolded");
            KernelPaths.setFoldBatchNorm(true);
        }
    }

    @Test
    void foldedOutputsEqualUnfoldedOnes() {
        FastPath.requireDirectConv();
        for (String variant : List.of("PROJECTION", "ZERO_PAD", "bottleneck", "resnet18", "at-inference")) {
            ResNet r = variant.equals("bottleneck")
                    ? ResNet.imagenet(50).smallInputStem(true).widthMultiplier(0.125)
                    : variant.equals("resnet18") ? ResNet.imagenet(18).widthMultiplier(0.25)
                    : ResNet.cifar(14).shortcut(variant.equals("ZERO_PAD") ? ShortcutType.ZERO_PAD
                    : ShortcutType.PROJECTION);
            if (variant.equals("at-inference")) {
                r = r.stochasticDepth(DepthSchedule.linear(0.5), DropMode.ROW, Scaling.AT_INFERENCE);
            }
            int hw = variant.equals("bottleneck") ? 32 : variant.equals("resnet18") ? 67 : 9;
            r = r.inputShape(3, hw, hw).numClasses(3).seed(7).updater(new Sgd(0.05));
            ComputationGraph net = ChannelsLastTest.build(r, KernelPath.CHANNELS_LAST);
            randomizeBatchNorm(net, 11);
            INDArray params = net.params().dup();
            INDArray x = BatchModeSkipTest.data(6, 3, hw, 4).getFeatures();

            long before = foldedCalls(net);
            Map<String, INDArray> folded = activations(net, x);
            assertTrue(foldedCalls(net) > before, variant + ": inference folded");
            assertEquals(params, net.params(), variant + ": folding leaves the parameters as they are");
            KernelPaths.setFoldBatchNorm(false);
            long unfoldedBefore = foldedCalls(net);
            Map<String, INDArray> plain = activations(net, x);
            assertEquals(unfoldedBefore, foldedCalls(net), variant + ": switched off");
            KernelPaths.setFoldBatchNorm(true);
            assertSame(plain, folded, variant);

            // a training step, then new statistics: the next folded pass uses the new values
            net.fit(BatchModeSkipTest.data(6, 3, hw, 5));
            randomizeBatchNorm(net, 12);
            Map<String, INDArray> folded2 = activations(net, x);
            KernelPaths.setFoldBatchNorm(false);
            Map<String, INDArray> plain2 = activations(net, x);
            KernelPaths.setFoldBatchNorm(true);
            assertSame(plain2, folded2, variant + " after a training step");
            String lastBlock = r.blockNames().get(r.blockNames().size() - 1);
            assertTrue(relativeError(plain.get(lastBlock), plain2.get(lastBlock)) > 1e-2,
                    variant + ": the step and new statistics changed the last block's output");
        }
    }

    /** Every layer's inference output (copies), by layer name. */
    private static Map<String, INDArray> activations(ComputationGraph net, INDArray x) {
        Map<String, INDArray> out = new java.util.TreeMap<>();
        for (Map.Entry<String, INDArray> e : net.feedForward(x, false).entrySet()) {
            out.put(e.getKey(), e.getValue().dup());
        }
        return out;
    }

    /**
     * The outputs of every conv + batch-norm layer and block, and the logits' softmax, within 1e-4 of each array's
     * largest value. (The softmax alone can be saturated and hide a difference: hence every layer.)
     */
    private static void assertSame(Map<String, INDArray> expected, Map<String, INDArray> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what);
        double worst = 0;
        for (String k : expected.keySet()) {
            double err = relativeError(expected.get(k), actual.get(k));
            assertTrue(err < 1e-4, what + ", " + k + ": relative error " + err);   // false for NaN too
            worst = Math.max(worst, err);
        }
        System.out.printf("%s: largest relative error over %d layers %.2e%n", what, expected.size(), worst);
    }

    private static double relativeError(INDArray expected, INDArray actual) {
        double scale = Math.max(1e-12, expected.amaxNumber().doubleValue());
        return expected.sub(actual).amaxNumber().doubleValue() / scale;
    }

    /** Random gamma in [0.5, 1.5], beta and running mean N(0, 0.3), running variance in [0.3, 2]. */
    static void randomizeBatchNorm(ComputationGraph net, long seed) {
        Random rnd = new Random(seed);
        for (Layer l : net.getLayers()) {
            if (!(l instanceof ConvBnStackImpl)) {
                continue;
            }
            for (Map.Entry<String, INDArray> e : l.paramTable().entrySet()) {
                INDArray p = e.getValue();
                String k = e.getKey();
                for (long i = 0; i < p.length(); i++) {
                    if (k.endsWith("Gamma")) {
                        p.putScalar(i, 0.5 + rnd.nextDouble());
                    } else if (k.endsWith("Beta") || k.endsWith("Mean")) {
                        p.putScalar(i, 0.3 * rnd.nextGaussian());
                    } else if (k.endsWith("Var")) {
                        p.putScalar(i, 0.3 + 1.7 * rnd.nextDouble());
                    }
                }
            }
        }
    }

    /** Folded convolution calls of the whole network so far. */
    static long foldedConvolutions(ComputationGraph net) {
        return sumOverUnits(net, ConvBnUnit::foldedConvolutions);
    }

    /** Folded unit passes of the whole network so far. */
    static long foldedCalls(ComputationGraph net) {
        return sumOverUnits(net, ConvBnUnit::foldedCalls);
    }

    /** A per-unit count summed over every conv + batch-norm unit of the network (also used for recomputations). */
    static long sumOverUnits(ComputationGraph net, java.util.function.ToLongFunction<ConvBnUnit> count) {
        long n = 0;
        for (Layer l : net.getLayers()) {
            if (l instanceof ConvBnStackImpl) {
                for (ConvBnUnit u : ((ConvBnStackImpl<?>) l).units()) {
                    n += count.applyAsLong(u);
                }
            }
        }
        return n;
    }
}
