package org.regularize4j.resnet;

import org.bytedeco.javacpp.Loader;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.backend.NativeBackend;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.depth.Scaling;
import org.regularize4j.penalty.L1Penalty;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.penalty.Selector;
import org.regularize4j.testutil.FastPath;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResNetBuilderTest {

    /** Trainable parameters: everything but the batch-norm running mean and variance. */
    static long trainable(ComputationGraph net) {
        long n = 0;
        for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
            if (!e.getKey().endsWith("Mean") && !e.getKey().endsWith("Var")) {
                n += e.getValue().length();
            }
        }
        return n;
    }

    /**
     * Counts equal the PyTorch peer's ({@code shared/bench/torch_resnet_bench.py}, option B; torchvision's
     * resnet18/50 with 10 classes), printed by {@code sum(p.numel() for p in net.parameters())} with torch 1.13.
     */
    @Test
    void trainableParameterCountsEqualThePeers() {
        assertEquals(272_474, trainable(ResNet.cifar(20).shortcut(ShortcutType.PROJECTION).conf()));
        assertEquals(855_770, trainable(ResNet.cifar(56).shortcut(ShortcutType.PROJECTION).conf()));
        assertEquals(1_730_714, trainable(ResNet.cifar(110).shortcut(ShortcutType.PROJECTION).conf()));
        assertEquals(11_181_642, trainable(ResNet.imagenet(18).numClasses(10).conf()));
        assertEquals(23_528_522, trainable(ResNet.imagenet(50).numClasses(10).conf()));
        // He et al.: ResNet-110 (option A) has 1.7M parameters, ResNet-20 0.27M
        long r110 = trainable(ResNet.cifar(110).conf());
        assertTrue(r110 > 1_690_000 && r110 < 1_750_000, "ResNet-110 option A: " + r110);
        long r20 = trainable(ResNet.cifar(20).conf());
        assertTrue(r20 > 265_000 && r20 < 275_000, "ResNet-20 option A: " + r20);
    }

    private static long trainable(ComputationGraphConfiguration conf) {
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return trainable(g);
    }

    @Test
    void layerNamesAndScheduleStamping() {
        ResNet r = ResNet.cifar(20).stochasticDepth(DepthSchedule.linear(0.5), DropMode.BATCH, Scaling.AT_INFERENCE);
        assertEquals(9, r.numBlocks());
        List<String> names = r.blockNames();
        assertEquals("stage1.block1", names.get(0));
        assertEquals("stage3.block3", names.get(8));
        ComputationGraphConfiguration conf = r.conf();
        for (int i = 0; i < 9; i++) {
            ResidualBlock b = (ResidualBlock) ((org.deeplearning4j.nn.conf.graph.LayerVertex) conf.getVertices()
                    .get(names.get(i))).getLayerConf().getLayer();
            assertEquals(DepthSchedule.linear(0.5).dropProb(i, 9), b.getDropProb(), 0.0);
            assertEquals(DropMode.BATCH, b.getDropMode());
            assertEquals(Scaling.AT_INFERENCE, b.getScaling());
        }
        assertTrue(conf.getVertices().containsKey("stem"));
        assertTrue(conf.getVertices().containsKey("fc"));
        assertTrue(ResNet.imagenet(18).conf().getVertices().containsKey("stem.pool"));
        assertTrue(!ResNet.imagenet(18).smallInputStem(true).inputShape(3, 32, 32).conf().getVertices()
                .containsKey("stem.pool"));
    }

    @Test
    void anyInputShapeAndClassCount() {
        ComputationGraph net = ResNet.cifar(8).inputShape(1, 28, 28).numClasses(7).widthMultiplier(0.5).build();
        assertEquals(7, net.outputSingle(Nd4j.rand(DataType.FLOAT, 2, 1, 28, 28)).size(1));
        ComputationGraph r18 = ResNet.imagenet(18).inputShape(3, 40, 48).numClasses(5).widthMultiplier(0.25).build();
        assertEquals(5, r18.outputSingle(Nd4j.rand(DataType.FLOAT, 2, 3, 40, 48)).size(1));
        ComputationGraph r50 = ResNet.imagenet(50).inputShape(3, 32, 32).smallInputStem(true).numClasses(3)
                .widthMultiplier(0.125).build();
        assertEquals(3, r50.outputSingle(Nd4j.rand(DataType.FLOAT, 2, 3, 32, 32)).size(1));
    }

    @Test
    void badInput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ResNet.cifar(21));
        assertEquals("depth must be 6n+2 with n >= 1 (8, 14, 20, 32, 44, 56, 110, 1202, ...), got 21", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ResNet.cifar(2));
        e = assertThrows(IllegalArgumentException.class, () -> ResNet.imagenet(20));
        assertEquals("depth must be one of 18, 34, 50, 101, 152, got 20", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ResNet.cifar(20).inputShape(3, 3, 8).conf());
        assertEquals("input 3x8 is too small for resnet20: its downsampling needs height and width of at least 4",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ResNet.imagenet(18).inputShape(3, 16, 16).conf());
        assertTrue(e.getMessage().contains("at least 32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ResNet.cifar(20).numClasses(0));
        assertEquals("numClasses must be >= 2, got 0", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ResNet.cifar(20).numClasses(-3));
        assertThrows(IllegalArgumentException.class, () -> ResNet.cifar(20).inputShape(0, 32, 32));
        assertThrows(IllegalArgumentException.class, () -> ResNet.cifar(20).widthMultiplier(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> ResNet.cifar(20).smallInputStem(true));
        assertThrows(IllegalArgumentException.class, () -> ResNet.cifar(20).dataType(DataType.INT));
        assertThrows(IllegalArgumentException.class,
                () -> new ResidualBlock.Builder().nOut(4).dropProb(1.5).build());
        assertThrows(IllegalArgumentException.class,
                () -> new ResidualBlock.Builder().nOut(4).blockType(BlockType.BOTTLENECK).build());
    }

    /**
     * The builder applies a policy: under {@code standard} every convolution and classifier weight is decayed,
     * batch-norm gamma/beta and the classifier bias are exempt, running statistics are never penalized, and the
     * built net's getRegularizationByParam equals describe's table; a rule can reach one layer's one parameter.
     */
    @Test
    void policyOnTheBuiltNetwork() {
        RegularizationPolicy policy = RegularizationPolicy.standard(5e-4).toBuilder()
                .alsoPenalize(Selector.layers("stage3.block*").withParams("conv2W"), new L1Penalty(1e-4))
                .build();
        ComputationGraph net = ResNet.cifar(14).regularization(policy).build();
        Map<String, List<org.nd4j.linalg.learning.regularization.Regularization>> table =
                policy.describe(net).penaltiesByParam();
        int rows = 0;
        for (org.deeplearning4j.nn.api.Layer l : net.getLayers()) {
            String layer = l.conf().getLayer().getLayerName();
            for (String p : l.paramTable().keySet()) {
                List<org.nd4j.linalg.learning.regularization.Regularization> regs =
                        l.conf().getLayer().getRegularizationByParam(p);
                List<?> expected = table.get(layer + "/" + p);
                assertEquals(expected == null || expected.isEmpty() ? List.of() : expected,
                        regs == null ? List.of() : regs, layer + "." + p);
                boolean weight = p.endsWith("W") && !p.equals("b");
                boolean stat = p.endsWith("Mean") || p.endsWith("Var");
                int n = regs == null ? 0 : regs.size();
                if (stat || !weight) {
                    assertEquals(0, n, layer + "." + p + " must be exempt");
                } else {
                    boolean l1 = layer.startsWith("stage3.") && p.equals("conv2W");
                    assertEquals(l1 ? 2 : 1, n, layer + "." + p);
                }
                rows++;
            }
        }
        assertTrue(rows > 50);
    }

    /** The network can fit: a few hundred steps on one small batch drive the loss near zero. */
    @Test
    void fitsASmallBatch() {
        ComputationGraph net = ResNet.cifar(8).inputShape(3, 12, 12).numClasses(4).seed(7).build();
        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.rand(DataType.FLOAT, 16, 3, 12, 12);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 16, 4);
        for (int i = 0; i < 16; i++) {
            y.putScalar(i, i % 4, 1.0);
        }
        DataSet ds = new DataSet(x, y);
        double first = net.score(ds);
        for (int i = 0; i < 300; i++) {
            net.fit(ds);
        }
        double last = net.score(ds, true);
        assertTrue(first > 1.0 && last < 0.05, "loss " + first + " -> " + last);
    }

    /** The ImageNet stem's pooling is a {@link MaxPoolLayer}, and survives JSON and Java serialization as one. */
    @Test
    void imagenetStemPoolRoundTrips() throws Exception {
        ComputationGraphConfiguration conf = ResNet.imagenet(18).widthMultiplier(0.25).conf();
        org.deeplearning4j.nn.conf.layers.Layer pool =
                ((org.deeplearning4j.nn.conf.graph.LayerVertex) conf.getVertices().get("stem.pool")).getLayerConf()
                        .getLayer();
        assertTrue(pool instanceof MaxPoolLayer, pool.getClass().getName());
        ComputationGraphConfiguration back = assertConfigurationRoundTrips(conf);
        assertTrue(((org.deeplearning4j.nn.conf.graph.LayerVertex) back.getVertices().get("stem.pool")).getLayerConf()
                .getLayer() instanceof MaxPoolLayer);
        assertEquals("padding must be in [0, 2] (kernel - 1), got 3",
                org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                        () -> new MaxPoolLayer.Builder(3, 2, 3)).getMessage());
    }

    /** JSON, Java serialization and clone each give an equal configuration; returns the one read from JSON. */
    private static ComputationGraphConfiguration assertConfigurationRoundTrips(ComputationGraphConfiguration conf)
            throws Exception {
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
        assertEquals(conf, back);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(conf);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals(conf, in.readObject());
        }
        assertEquals(conf, conf.clone());
        return back;
    }

    /** JSON, Java-serialization and ModelSerializer round trips of a ResNet with stochastic depth. */
    @Test
    void roundTrips(@TempDir Path dir) throws Exception {
        ResNet r = ResNet.cifar(8).inputShape(3, 8, 8).numClasses(3).shortcut(ShortcutType.PROJECTION)
                .stochasticDepth(DepthSchedule.linear(0.5), DropMode.BATCH, Scaling.AT_INFERENCE).seed(5)
                .regularization(RegularizationPolicy.standard(5e-4));
        ComputationGraphConfiguration conf = r.conf();
        assertConfigurationRoundTrips(conf);

        ComputationGraph net = r.build();
        INDArray x = Nd4j.rand(DataType.FLOAT, 6, 3, 8, 8);
        INDArray y = Nd4j.eye(3).getRows(0, 1, 2, 0, 1, 2).castTo(DataType.FLOAT);
        for (int i = 0; i < 3; i++) {
            net.fit(new DataSet(x, y));
        }
        File f = dir.resolve("resnet.zip").toFile();
        ModelSerializer.writeModel(net, f, true);
        ComputationGraph restored = ModelSerializer.restoreComputationGraph(f, true);
        assertEquals(net.getConfiguration(), restored.getConfiguration());
        assertEquals(net.params(), restored.params());
        assertEquals(net.outputSingle(false, x), restored.outputSingle(false, x));
        assertEquals(net.outputSingle(true, x), restored.outputSingle(true, x));
        net.fit(new DataSet(x, y));
        restored.fit(new DataSet(x, y));
        assertTrue(net.params().equalsWithEps(restored.params(), 1e-5));
        ComputationGraph clone = net.clone();
        assertEquals(net.outputSingle(false, x), clone.outputSingle(false, x));
    }

    /**
     * The backend reports the native build that the build put on the class path (the oneDNN build on Linux x86-64,
     * the plain one with -Pportable), and oneDNN on exactly when that build has it.
     */
    @Test
    void backendReportsTheFastPath() {
        NativeBackend b = NativeBackend.current();
        assertTrue(b.nativeBuild().startsWith(Loader.getPlatform()), b.describe());
        String build = FastPath.expectedNd4jBuild();
        if (build != null) {
            assertEquals(build, b.nativeBuild(), b.describe());
        }
        assertEquals(b.nativeBuild().contains("onednn"), b.oneDnnEnabled(), b.describe());
    }

    /**
     * The fast path (oneDNN, float) and the fallback (libnd4j's generic kernels, helpers disallowed) give the
     * same outputs and gradients within float tolerance.
     */
    @Test
    void fastPathEqualsFallback() {
        FastPath.requireNd4jOneDnn();
        ComputationGraph net = ResNet.cifar(8).inputShape(3, 16, 16).numClasses(4).shortcut(ShortcutType.PROJECTION)
                .seed(9).build();
        Nd4j.getRandom().setSeed(9);
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 3, 16, 16);
        INDArray y = Nd4j.eye(4).getRows(0, 1, 2, 3, 0, 1, 2, 3).castTo(DataType.FLOAT);
        INDArray[] fast = outputsAndGradient(net, x, y);
        boolean allowed = Nd4j.getEnvironment().helpersAllowed();
        INDArray[] slow;
        try {
            Nd4j.getEnvironment().allowHelpers(false);
            slow = outputsAndGradient(net, x, y);
        } finally {
            Nd4j.getEnvironment().allowHelpers(allowed);
        }
        for (int i = 0; i < fast.length; i++) {
            double rel = fast[i].sub(slow[i]).norm2Number().doubleValue() / slow[i].norm2Number().doubleValue();
            assertTrue(rel < 1e-4, "array " + i + " relative difference " + rel);
        }
    }

    private static INDArray[] outputsAndGradient(ComputationGraph net, INDArray x, INDArray y) {
        INDArray inference = net.outputSingle(false, x).dup();
        INDArray training = net.outputSingle(true, x).dup();
        net.setInputs(x);
        net.setLabels(y);
        net.computeGradientAndScore();
        return new INDArray[] {inference, training, net.gradient().gradient().dup()};
    }

    @Test
    void blocksAreResidualBlockLayers() {
        ComputationGraph net = ResNet.cifar(20).build();
        int blocks = 0;
        for (Layer l : net.getLayers()) {
            blocks += l instanceof ResidualBlockImpl ? 1 : 0;
        }
        assertEquals(9, blocks);
    }
}
