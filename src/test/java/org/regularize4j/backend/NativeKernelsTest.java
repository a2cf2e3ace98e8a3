package org.regularize4j.backend;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.depth.RowScales;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.testutil.FastPath;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The native batch-norm kernels: loaded on this project's machines (linux-x86_64, AVX2) next to libnd4j's
 * OpenMP runtime and no second one, equal to the Java kernels to float rounding at a ResNet's shapes, and a
 * ResNet trained a few steps with either gives the same parameters to float tolerance.
 */
class NativeKernelsTest {

    @AfterEach
    void enableAgain() {
        NativeKernels.setEnabled(true);
    }

    @Test
    void loadsHereWithLibnd4jsOpenMpRuntimeOnly() throws Exception {
        FastPath.requireNativeKernels();
        assertTrue(NativeKernels.isLoaded(), NativeKernels.status());
        assertTrue(NativeKernels.isUsable());
        assertTrue(NativeKernels.status().startsWith("loaded, "), NativeKernels.status());
        Set<String> gomps = NativeKernels.mappedLibraries("libgomp");
        assertEquals(1, gomps.size(), "OpenMP runtimes mapped: " + gomps);
        assertTrue(NativeBackend.current().describe().contains("ResNet layers: channels-last (oneDNN"),
                NativeBackend.current().describe());
        NativeKernels.setEnabled(false);
        assertFalse(NativeKernels.isUsable());
        assertTrue(NativeKernels.status().endsWith("disabled"));
    }

    /** The native NHWC batch norm equals the Java NCHW one to float rounding (the two float paths' kernels). */
    @Test
    void matchesTheJavaKernelsAtAResNetShape() {
        FastPath.requireNativeKernels();
        Nd4j.getRandom().setSeed(7);
        int n = 64;
        int c = 16;
        // views at offsets, as in a network (parameters are views of one flat array, activations of workspaces)
        INDArray x = Nd4j.randn(DataType.FLOAT, n + 1, c, 32, 32).muli(3).addi(1).get(NDArrayIndex.interval(1, n + 1));
        INDArray params = Nd4j.rand(DataType.FLOAT, 1, 3 * c + 5);
        INDArray gamma = params.get(NDArrayIndex.point(0), NDArrayIndex.interval(5, 5 + c)).addi(0.5);
        INDArray beta = params.get(NDArrayIndex.point(0), NDArrayIndex.interval(5 + c, 5 + 2 * c)).subi(0.5);
        INDArray dy = Nd4j.randn(DataType.FLOAT, n + 2, c, 32, 32).get(NDArrayIndex.interval(2, n + 2));
        assertTrue(x.offset() > 0 && gamma.offset() > 0 && beta.offset() > 0 && dy.offset() > 0);
        for (boolean relu : new boolean[] {true, false}) {
            Run java = run(false, x, gamma, beta, dy, relu);
            Run nat = run(true, x, gamma, beta, dy, relu);
            assertArrayEquals(java.mean, nat.mean, 1e-6, "mean");
            assertArrayEquals(java.var, nat.var, 1e-5, "variance");
            assertClose(java.y, nat.y, 1e-6, "output");
            assertClose(java.dx, nat.dx, 1e-5, "dx");
            assertClose(java.dGamma, nat.dGamma, 1e-5, "dGamma");
            assertClose(java.dBeta, nat.dBeta, 1e-5, "dBeta");
            if (relu) {   // the masks agree exactly: a gradient passes where the output is positive
                assertEquals(java.y.gt(0).castTo(DataType.FLOAT).sumNumber().doubleValue(),
                        nat.y.gt(0).castTo(DataType.FLOAT).sumNumber().doubleValue(), 0.0);
            }
        }
        INDArray y = Nd4j.randn(DataType.FLOAT, 3, 5, 7, 11);
        NativeOps.reluInPlace(y);
        INDArray g = Nd4j.randn(DataType.FLOAT, 3, 5, 7, 11);
        INDArray dxJava = g.ulike();
        FloatBatchNorm.reluBackward(y, g, dxJava);
        INDArray dxNative = g.ulike();
        assertTrue(NativeKernels.reluBackward(y, g, dxNative));
        assertEquals(dxJava, dxNative);   // exact: a mask
        assertEquals(NativeOps.reluBackprop(y, g, g.ulike()), dxNative);   // and libnd4j's
    }

    @Test
    void scaleAddReluEqualsLibnd4jsOpsBitForBit() {
        FastPath.requireNativeKernels();
        Nd4j.getRandom().setSeed(13);
        INDArray branch = Nd4j.randn(DataType.FLOAT, 6, 4, 5, 5);
        INDArray shortcut = Nd4j.randn(DataType.FLOAT, 6, 4, 5, 5);
        branch.putScalar(0, -0.0f);
        shortcut.putScalar(0, -0.0f);   // -0 + -0: libnd4j's ReLU keeps -0
        for (double[] values : new double[][] {{1, 1, 1, 1, 1, 1}, {0, 2, 2, 0, 2, 1.3}}) {
            RowScales s = RowScales.of(values);
            INDArray expected = s.multiplyAdd(branch, shortcut, branch.ulike());
            NativeOps.reluInPlace(expected);
            float[] f = new float[values.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) values[i];
            }
            INDArray actual = branch.ulike();
            assertTrue(NativeKernels.scaleAddRelu(branch, s.isUniform() ? null : f, shortcut, actual));
            assertArrayEquals(expected.data().asFloat(), actual.data().asFloat(), 0f);
            assertEquals(Float.floatToRawIntBits(expected.getFloat(0)), Float.floatToRawIntBits(actual.getFloat(0)));
        }
        NativeKernels.setEnabled(false);
        assertFalse(NativeKernels.scaleAddRelu(branch, null, shortcut, branch.ulike()), "off: the caller's ops run");
        NativeKernels.setEnabled(true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NativeKernels.scaleAddRelu(branch, new float[5], shortcut, branch.ulike()));
        assertTrue(e.getMessage().startsWith("scales must have 6 values"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> NativeKernels.scaleAddRelu(branch, null, shortcut, Nd4j.create(DataType.FLOAT, 6, 4, 5, 4)));
        assertTrue(e.getMessage().startsWith("out must have shape [6, 4, 5, 5]"), e.getMessage());
    }

    /** The zero-padded shortcut and its backward pass equal libnd4j's strided views, exactly, with odd sizes. */
    @Test
    void zeroPadShortcutEqualsStridedViews() {
        FastPath.requireNativeKernels();
        Nd4j.getRandom().setSeed(17);
        for (int[] c : new int[][] {{3, 4, 7, 2, 1}, {2, 5, 6, 2, 0}, {16, 32, 8, 2, 8}, {3, 3, 5, 1, 0}}) {
            int cin = c[0], cout = c[1], hw = c[2], stride = c[3], before = c[4];
            INDArray x = Nd4j.randn(DataType.FLOAT, 3, cin, hw, hw);
            int ho = (hw + stride - 1) / stride;
            INDArray expected = Nd4j.zeros(DataType.FLOAT, 3, cout, ho, ho);
            expected.get(NDArrayIndex.all(), NDArrayIndex.interval(before, before + cin))
                    .assign(x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, stride, hw),
                            NDArrayIndex.interval(0, stride, hw)));
            INDArray out = Nd4j.valueArrayOf(new long[] {3, ho, ho, cout}, Float.NaN, DataType.FLOAT);
            assertTrue(NativeKernels.zeroPadShortcutNhwc(DirectConvTest.nhwc(x), stride, before, out));
            assertArrayEquals(DirectConvTest.nhwc(expected).data().asFloat(), out.data().asFloat(), 0f,
                    java.util.Arrays.toString(c));

            INDArray d = Nd4j.randn(DataType.FLOAT, 3, cout, ho, ho);
            for (boolean accumulate : new boolean[] {false, true}) {
                INDArray dx0 = accumulate ? Nd4j.randn(DataType.FLOAT, 3, cin, hw, hw)
                        : Nd4j.zeros(DataType.FLOAT, 3, cin, hw, hw);
                INDArray want = dx0.dup();
                want.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, stride, hw),
                        NDArrayIndex.interval(0, stride, hw)).addi(d.get(NDArrayIndex.all(),
                        NDArrayIndex.interval(before, before + cin)));
                INDArray dx = accumulate ? DirectConvTest.nhwc(dx0)
                        : Nd4j.valueArrayOf(new long[] {3, hw, hw, cin}, Float.NaN, DataType.FLOAT);
                assertTrue(NativeKernels.zeroPadShortcutBackwardNhwc(DirectConvTest.nhwc(d), stride, before, dx,
                        accumulate));
                assertArrayEquals(DirectConvTest.nhwc(want).data().asFloat(), dx.data().asFloat(), 0f,
                        "backward " + accumulate);
            }
        }
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 4, 4, 3);   // [n, h, w, cIn]
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NativeKernels.zeroPadShortcutNhwc(x, 2, 3, Nd4j.create(DataType.FLOAT, 2, 2, 2, 5)));
        assertEquals("before must be in [0, 2] (cOut - cIn), got 3", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> NativeKernels.zeroPadShortcutNhwc(x, 2, 1, Nd4j.create(DataType.FLOAT, 2, 3, 2, 5)));
        assertTrue(e.getMessage().startsWith("the shortcut's output must have shape [2, 5, 2, 2]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> NativeKernels.zeroPadShortcutNhwc(x, 0, 1, Nd4j.create(DataType.FLOAT, 2, 2, 2, 5)));
        assertEquals("stride must be >= 1, got 0", e.getMessage());
    }

    /** zero and copy: whole arrays, views at offsets, above and below the size that splits them over threads. */
    @Test
    void zeroAndCopyCoverExactlyTheArray() {
        FastPath.requireNativeKernels();
        for (int n : new int[] {5, 300_000}) {
            INDArray buf = Nd4j.randn(DataType.FLOAT, 1, n + 10);
            INDArray view = buf.get(NDArrayIndex.point(0), NDArrayIndex.interval(3, 3 + n));
            INDArray before = buf.dup();
            assertTrue(NativeKernels.zero(view));
            assertEquals(0.0, view.norm1Number().doubleValue(), 0.0);
            for (int i : new int[] {0, 1, 2, n + 3, n + 9}) {
                assertEquals(before.getFloat(0, i), buf.getFloat(0, i), 0f, "outside the view, index " + i);
            }
            INDArray src = Nd4j.randn(DataType.FLOAT, 1, n);
            assertTrue(NativeKernels.copy(src.reshape(n), view));
            assertArrayEquals(src.data().asFloat(), view.dup().data().asFloat(), 0f);
            assertEquals(before.getFloat(0, n + 3), buf.getFloat(0, n + 3), 0f);
        }
        INDArray a = Nd4j.rand(DataType.FLOAT, 10);
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.copy(a, a));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NativeKernels.copy(a, Nd4j.create(DataType.FLOAT, 11)));
        assertTrue(e.getMessage().startsWith("dst must have shape [10]"), e.getMessage());
    }

    @Test
    void addEqualsLibnd4jsAddiBitForBit() {
        FastPath.requireNativeKernels();
        assertTrue(NativeKernels.isUsable(), NativeKernels.status());
        for (int n : new int[] {7, 1 << 17}) {   // below and above the parallel threshold
            INDArray x = Nd4j.randn(DataType.FLOAT, 3, n);
            INDArray y = Nd4j.randn(DataType.FLOAT, 3, n);
            INDArray expected = x.add(y);
            INDArray out = x.ulike();
            assertTrue(NativeKernels.add(x, y, out));
            assertArrayEquals(expected.data().asFloat(), out.data().asFloat(), 0f);
            assertTrue(NativeKernels.add(x, y, x));   // in place
            assertArrayEquals(expected.data().asFloat(), x.data().asFloat(), 0f);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeKernels.add(
                Nd4j.create(DataType.FLOAT, 4), Nd4j.create(DataType.FLOAT, 5), Nd4j.create(DataType.FLOAT, 4)));
        assertTrue(e.getMessage().startsWith("y must have shape [4]"), e.getMessage());
        assertFalse(NativeKernels.add(Nd4j.create(DataType.DOUBLE, 4), Nd4j.create(DataType.DOUBLE, 4),
                Nd4j.create(DataType.DOUBLE, 4)), "double: not native");
    }

    @Test
    void mismatchedShapesAreRejectedBeforeTheNativeCall() {
        FastPath.requireNativeKernels();
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 4, 4);
        INDArray ones = Nd4j.ones(DataType.FLOAT, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FloatBatchNorm
                .forwardTraining(x, ones, ones, 1e-5, true, Nd4j.create(DataType.FLOAT, 2, 3, 4, 5), new double[3],
                        new double[3]));
        assertTrue(e.getMessage().contains("[2, 3, 4, 4]") && e.getMessage().contains("[2, 3, 4, 5]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FloatBatchNorm.forwardTraining(x,
                Nd4j.ones(DataType.FLOAT, 2), ones, 1e-5, true, x.ulike(), new double[3], new double[3]));
        assertTrue(e.getMessage().startsWith("gamma must have shape [3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FloatBatchNorm.reluBackward(x, x,
                Nd4j.create(DataType.FLOAT, 2, 3, 15)));
        assertTrue(e.getMessage().contains("got 96 and 90"), e.getMessage());
    }

    @Test
    void aResNetTrainsTheSameWithEitherKernel() {
        FastPath.requireNativeKernels();
        INDArray before = null;
        INDArray[] after = new INDArray[2];
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.rand(DataType.FLOAT, 16, 3, 16, 16);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 16, 10);
        for (int i = 0; i < 16; i++) {
            y.putScalar(i, i % 10, 1.0);
        }
        assumeTrue(KernelPaths.channelsLastAvailable(), KernelPaths.whyNotChannelsLast());
        for (int k = 0; k < 2; k++) {
            KernelPaths.setOverride(k == 1 ? KernelPath.CHANNELS_LAST : KernelPath.JAVA_NCHW);
            ComputationGraph net;
            try {
                net = ResNet.cifar(8).inputShape(3, 16, 16).numClasses(10).seed(11)
                        .stochasticDepth(DepthSchedule.linear(0.5), DropMode.ROW).build();   // per-example multipliers
            } finally {
                KernelPaths.setOverride(null);
            }
            if (before == null) {
                before = net.params().dup();
            }
            assertEquals(before, net.params());
            for (int step = 0; step < 3; step++) {
                net.fit(new DataSet(x, y));
            }
            after[k] = net.params().dup();
        }
        assertClose(after[0], after[1], 1e-4, "parameters after 3 steps");
        assertTrue(after[0].sub(before).norm2Number().doubleValue() > 1e-3, "the steps changed the parameters");
    }

    private static final class Run {
        INDArray y;
        INDArray dx;
        INDArray dGamma;
        INDArray dBeta;
        double[] mean;
        double[] var;
    }

    /** The NCHW Java kernels, or the native NHWC ones on transposed copies (results transposed back). */
    private static Run run(boolean nativeKernels, INDArray x, INDArray gamma, INDArray beta, INDArray dy,
                           boolean relu) {
        int c = (int) x.size(1);
        Run r = new Run();
        r.mean = new double[c];
        r.var = new double[c];
        r.dGamma = Nd4j.create(DataType.FLOAT, c);
        r.dBeta = Nd4j.create(DataType.FLOAT, c);
        if (!nativeKernels) {
            r.y = x.ulike();
            FloatBatchNorm.forwardTraining(x, gamma, beta, 1e-5, relu, r.y, r.mean, r.var);
            r.dx = x.ulike();
            FloatBatchNorm.backward(x, r.y, relu, dy, r.mean, r.var, gamma, 1e-5, r.dx, r.dGamma, r.dBeta);
            return r;
        }
        INDArray xh = DirectConvTest.nhwc(x.dup());
        INDArray yh = xh.ulike();
        FloatBatchNorm.forwardTrainingNhwc(xh, gamma.dup(), beta.dup(), 1e-5, relu, yh, r.mean, r.var);
        INDArray dxh = xh.ulike();
        FloatBatchNorm.backwardNhwc(xh, yh, relu, DirectConvTest.nhwc(dy.dup()), 1.0, r.mean, r.var, gamma.dup(), 1e-5,
                dxh, r.dGamma, r.dBeta);
        r.y = NativeKernels.nchwView(yh).dup('c');
        r.dx = NativeKernels.nchwView(dxh).dup('c');
        return r;
    }

    private static void assertClose(INDArray expected, INDArray actual, double tolerance, String what) {
        double rel = expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).norm2Number().doubleValue()
                / Math.max(1e-12, expected.castTo(DataType.DOUBLE).norm2Number().doubleValue());
        assertTrue(rel < tolerance, what + ": relative difference " + rel);
    }
}
