package org.regularize4j.resnet;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BATCH-mode stochastic depth in the builder's blocks: a dropped block does no work at all. */
class BatchModeSkipTest {

    /** Random inputs in [0, 1) and one-hot labels cycling over 3 classes. */
    static DataSet data(int mb, int c, int hw, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.FLOAT, mb, c, hw, hw);
        INDArray y = Nd4j.zeros(DataType.FLOAT, mb, 3);
        for (int i = 0; i < mb; i++) {
            y.putScalar(i, i % 3, 1.0);
        }
        return new DataSet(x, y);
    }

    /**
     * While a block is dropped: its branch is not run (forward counter unchanged), its parameters get exactly
     * zero gradient and stay unchanged under plain SGD, its batch-norm running statistics stay as they were,
     * and its output equals the shortcut path (for an identity shortcut, the input itself: ReLU of a
     * post-ReLU input).
     */
    @Test
    void droppedBlocksDoNoWork() {
        for (BlockType type : BlockType.values()) {
            ResNet r = (type == BlockType.BASIC ? ResNet.cifar(14) : ResNet.imagenet(50).smallInputStem(true)
                    .widthMultiplier(0.125)).inputShape(3, 8, 8).numClasses(3).shortcut(ShortcutType.PROJECTION)
                    .updater(new Sgd(0.1)).seed(11).stochasticDepth(DepthSchedule.constant(0.5), DropMode.BATCH);
            ComputationGraph net = r.build();
            DataSet ds = data(6, 3, 8, 3);
            int skippedSeen = 0;
            for (int it = 0; it < 12; it++) {
                Map<String, INDArray> before = net.paramTable();
                Map<String, INDArray> snapshot = new java.util.HashMap<>();
                before.forEach((k, v) -> snapshot.put(k, v.dup()));
                long[] counts = forwardCounts(net);
                net.fit(ds);
                long[] after = forwardCounts(net);
                int i = 0;
                for (Layer l : net.getLayers()) {
                    if (!(l instanceof ResidualBlockImpl)) {
                        continue;
                    }
                    ResidualBlockImpl b = (ResidualBlockImpl) l;
                    String name = b.conf().getLayer().getLayerName();
                    if (!b.wasBranchComputed()) {
                        skippedSeen++;
                        assertEquals(counts[i], after[i], name + ": branch must not run");
                        ResidualBlock conf = (ResidualBlock) b.conf().getLayer();
                        for (ConvBnSpec u : conf.units().subList(0, conf.branchUnits())) {
                            for (String key : List.of(u.weightKey(), u.gammaKey(), u.betaKey(), u.meanKey(),
                                    u.varKey())) {
                                String full = name + "_" + key;
                                assertEquals(0.0, net.gradient().getGradientFor(full).norm1Number().doubleValue(),
                                        0.0, full + " gradient");
                                assertEquals(snapshot.get(full), net.getParam(full), full + " unchanged");
                            }
                        }
                    } else {
                        assertEquals(counts[i] + 1, after[i], name + ": branch runs once");
                    }
                    i++;
                }
            }
            assertTrue(skippedSeen > 5, type + ": some blocks were dropped (" + skippedSeen + ")");
        }
    }

    private static long[] forwardCounts(ComputationGraph net) {
        return java.util.Arrays.stream(net.getLayers()).filter(l -> l instanceof ResidualBlockImpl)
                .mapToLong(l -> ((ResidualBlockImpl) l).getBranchForwardCount()).toArray();
    }

    /** A dropped identity-shortcut block outputs its input exactly; a kept one does not. */
    @Test
    void droppedBlockOutputIsTheShortcut() {
        ComputationGraph net = ResNet.cifar(8).inputShape(3, 8, 8).numClasses(3).seed(2)
                .stochasticDepth(DepthSchedule.constant(0.5), DropMode.BATCH).build();
        DataSet ds = data(4, 3, 8, 5);
        int dropped = 0;
        for (int it = 0; it < 20; it++) {
            for (Layer l : net.getLayers()) {
                l.setIterationCount(it);
            }
            Map<String, INDArray> act = net.feedForward(ds.getFeatures(), true);
            ResidualBlockImpl b = (ResidualBlockImpl) net.getLayer("stage1.block1");
            boolean same = act.get("stem").equals(act.get("stage1.block1"));
            assertEquals(!b.wasBranchComputed(), same, "iteration " + it);
            dropped += b.wasBranchComputed() ? 0 : 1;
        }
        assertTrue(dropped > 0 && dropped < 20, "dropped " + dropped + " of 20");
    }

    /**
     * In a frozen part of a network (TransferLearning's feature extractor wraps the blocks in DL4J's
     * FrozenLayer) stochastic depth is off, as dropout is: a training forward pass equals inference.
     */
    @Test
    void frozenBlocksDoNotDrop() {
        ComputationGraph net = ResNet.cifar(8).inputShape(3, 8, 8).numClasses(3).seed(4)
                .stochasticDepth(DepthSchedule.constant(0.9), DropMode.ROW).build();
        INDArray x = data(6, 3, 8, 1).getFeatures();
        assertTrue(!net.outputSingle(true, x).equalsWithEps(net.outputSingle(false, x), 1e-6),
                "unfrozen: training differs from inference");
        ComputationGraph frozen = new org.deeplearning4j.nn.transferlearning.TransferLearning.GraphBuilder(net)
                .setFeatureExtractor("stage3.block1").build();
        assertTrue(frozen.getLayer("stage2.block1") instanceof org.deeplearning4j.nn.layers.FrozenLayer);
        Map<String, INDArray> train = frozen.feedForward(x, true);
        Map<String, INDArray> infer = frozen.feedForward(x, false);
        for (String b : List.of("stage1.block1", "stage2.block1", "stage3.block1")) {
            assertEquals(infer.get(b), train.get(b), b);
        }
    }

    /**
     * Over 3,000 iterations each block's drop frequency matches its linear-schedule probability: the count
     * is Binomial(3000, p); tolerance 6 sd = 6 sqrt(p(1-p)/3000) (at most 0.055).
     */
    @Test
    void dropFrequencyMatchesTheSchedule() {
        ResNet r = ResNet.cifar(20).inputShape(1, 4, 4).numClasses(3).widthMultiplier(0.125).seed(21)
                .stochasticDepth(DepthSchedule.linear(0.5), DropMode.BATCH);
        ComputationGraph net = r.build();
        INDArray x = Nd4j.rand(DataType.FLOAT, 1, 1, 4, 4);
        int iterations = 3000;
        ActiveBlocksListener blocks = new ActiveBlocksListener(0);
        for (int it = 0; it < iterations; it++) {
            for (Layer l : net.getLayers()) {
                l.setIterationCount(it);
            }
            net.output(true, x);
            blocks.iterationDone(net, it, 0);
        }
        List<String> names = r.blockNames();
        Map<String, Double> computed = blocks.computedFractionByBlock();
        for (int i = 0; i < names.size(); i++) {
            double p = DepthSchedule.linear(0.5).dropProb(i, names.size());
            double dropped = 1 - computed.get(names.get(i));
            assertEquals(p, dropped, 6 * Math.sqrt(p * (1 - p) / iterations), names.get(i));
        }
        double expectedShare = 1 - java.util.Arrays.stream(DepthSchedule.linear(0.5).dropProbs(9)).average()
                .orElseThrow();
        assertEquals(expectedShare, blocks.computedShare(), 0.02);
    }

    /**
     * A skipped identity block of a ResNet is the identity itself (inputFromRelu: returns its input, passes the
     * gradient through): training is bit for bit the same as with the two ReLU passes it saves (the same
     * network read back with inputFromRelu false), with zero-padded and projection shortcuts and bottlenecks.
     */
    @Test
    void passThroughTrainsBitForBitLikeTheReluPasses() {
        for (String variant : List.of("ZERO_PAD", "PROJECTION", "bottleneck")) {
            ResNet r = variant.equals("bottleneck")
                    ? ResNet.imagenet(50).smallInputStem(true).widthMultiplier(0.125)
                    : ResNet.cifar(14).shortcut(ShortcutType.valueOf(variant));
            ComputationGraph net = r.inputShape(3, 8, 8).numClasses(3).seed(5)
                    .stochasticDepth(DepthSchedule.constant(0.5), DropMode.BATCH).build();
            String json = net.getConfiguration().toJson();
            assertTrue(json.contains("\"inputFromRelu\" : true"), "the builder declares ReLU inputs");
            ComputationGraph plain = new ComputationGraph(org.deeplearning4j.nn.conf.ComputationGraphConfiguration
                    .fromJson(json.replace("\"inputFromRelu\" : true", "\"inputFromRelu\" : false")));
            plain.init(net.params().dup(), true);
            assertTrue(!((ResidualBlock) plain.getLayer("stage1.block2").conf().getLayer()).isInputFromRelu());
            DataSet ds = data(6, 3, 8, 7);
            int skipped = 0;
            for (int it = 0; it < 10; it++) {
                net.fit(ds);
                plain.fit(ds);
                for (Layer l : net.getLayers()) {
                    if (l instanceof ResidualBlockImpl && !((ResidualBlockImpl) l).wasBranchComputed()) {
                        skipped++;
                        String name = l.conf().getLayer().getLayerName();
                        assertTrue(!((ResidualBlockImpl) plain.getLayer(name)).wasBranchComputed(),
                                name + " skipped in both, iteration " + it);
                    }
                }
                assertArrayEquals(plain.params().data().asFloat(), net.params().data().asFloat(), 0f,
                        variant + ", iteration " + it);
            }
            assertTrue(skipped > 10, variant + ": blocks were skipped (" + skipped + ")");
        }
    }

    /** inputFromRelu(true) on a block whose input has negative values is caught on its first skipped pass. */
    @Test
    void aWrongReluInputDeclarationIsCaught() {
        org.deeplearning4j.nn.conf.ComputationGraphConfiguration conf = new org.deeplearning4j.nn.conf
                .NeuralNetConfiguration.Builder().seed(1).graphBuilder().addInputs("in")
                .setInputTypes(org.deeplearning4j.nn.conf.inputs.InputType.convolutional(4, 4, 2))
                .addLayer("block", new ResidualBlock.Builder().nOut(2).dropProb(1.0).dropMode(DropMode.BATCH)
                        .inputFromRelu(true).build(), "in")
                .addLayer("pool", new org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer.Builder(
                        org.deeplearning4j.nn.conf.layers.PoolingType.AVG).build(), "block")
                .addLayer("out", new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder().nOut(3)
                        .activation(org.nd4j.linalg.activations.Activation.SOFTMAX).build(), "pool")
                .setOutputs("out").build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        INDArray x = Nd4j.rand(DataType.FLOAT, 4, 2, 4, 4).subi(0.5);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 3);
        y.putScalar(0, 0, 1.0);
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> net.fit(new DataSet(x, y)));
        assertTrue(e.getMessage().contains("\"block\" is declared inputFromRelu(true)"), e.getMessage());
        net.fit(new DataSet(x.sub(x.minNumber()), y));   // non-negative input: fine
    }
}
