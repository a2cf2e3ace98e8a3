package org.regularize4j.backend;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.testutil.FastPath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Direct oneDNN convolutions on channels-last arrays give libnd4j's NCHW {@code conv2d}/{@code conv2d_bp} results
 * (relative error below 1e-4 of the largest value), for the shapes ResNets use and odd ones; the channels-last
 * batch norm and layout kernels agree with their NCHW counterparts.
 */
class DirectConvTest {

    @Test
    void isUsableOnThisProjectsMachines() {
        // on Linux x86-64 (AVX2) DirectConv must work, or the fast path silently disappears
        FastPath.requireDirectConv();
        assertTrue(DirectConv.status().startsWith("oneDNN 2."), DirectConv.status());
    }

    @Test
    void matchesLibnd4jForwardAndBackward() {
        FastPath.requireDirectConv();
        int[][] cases = {
            // n, cIn, h, w, cOut, kernel, stride, padding
            {13, 16, 32, 32, 16, 3, 1, 1}, {8, 16, 16, 16, 32, 3, 2, 1}, {8, 16, 16, 16, 32, 1, 2, 0},
            {5, 3, 9, 9, 8, 3, 1, 1}, {6, 64, 8, 8, 16, 1, 1, 0}, {8, 32, 8, 8, 8, 1, 1, 0}, {8, 8, 8, 8, 32, 1, 1, 0}, {8, 32, 8, 8, 64, 1, 2, 0},
            {8, 8, 4, 4, 8, 3, 2, 1}, {8, 64, 2, 2, 64, 3, 1, 1}, {8, 32, 4, 4, 32, 3, 1, 1}, {8, 64, 1, 1, 64, 3, 1, 1}, {8, 64, 2, 2, 256, 1, 1, 0}, {8, 128, 4, 4, 256, 1, 2, 0}, {3, 8, 7, 5, 24, 3, 2, 1}, {2, 4, 11, 11, 8, 7, 2, 3},
        };
        Nd4j.getRandom().setSeed(5);
        for (int[] c : cases) {
            try (DirectConv conv = DirectConv.create(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7])) {
                for (int round = 0; round < 3; round++) {   // a plan is reused with new arrays
                    String what = java.util.Arrays.toString(c) + " round " + round;
                    INDArray x = Nd4j.randn(DataType.FLOAT, c[0], c[1], c[2], c[3]);
                    INDArray w = Nd4j.randn(DataType.FLOAT, c[4], c[1], c[5], c[5]);
                    long ho = NativeOps.outSize(c[2], c[5], c[6], c[7]);
                    long wo = NativeOps.outSize(c[3], c[5], c[6], c[7]);
                    INDArray y = Nd4j.create(DataType.FLOAT, c[0], c[4], ho, wo);
                    NativeOps.conv2d(x, w, c[6], c[7], y);
                    INDArray dy = Nd4j.randn(DataType.FLOAT, c[0], c[4], ho, wo);
                    INDArray dx = x.ulike();
                    INDArray dw = w.ulike();
                    NativeOps.conv2dBackprop(x, w, dy, c[6], c[7], dx, dw);

                    INDArray xh = nhwc(x);
                    INDArray yh = Nd4j.create(DataType.FLOAT, conv.outShape());
                    conv.forward(xh, w, yh);
                    assertClose(y, NativeKernels.nchwView(yh), what + " y");
                    INDArray dxh = xh.ulike();
                    INDArray dw2 = Nd4j.valueArrayOf(w.shape(), 7f, DataType.FLOAT);   // overwritten
                    conv.backward(xh, w, nhwc(dy), dxh, dw2);
                    assertClose(dx, NativeKernels.nchwView(dxh), what + " dx");
                    assertClose(dw, dw2, what + " dw");
                    INDArray dw3 = w.ulike();
                    conv.backward(xh, w, nhwc(dy), null, dw3);
                    assertClose(dw, dw3, what + " dw without dx");
                }
            }
        }
    }

    @Test
    void fusedInferenceAddsBiasShortcutAndRelu() {
        FastPath.requireDirectConv();
        int[][] cases = {{13, 16, 32, 32, 16, 3, 1, 1}, {8, 16, 16, 16, 32, 1, 2, 0}, {4, 64, 8, 8, 256, 1, 1, 0},
            {3, 8, 7, 5, 24, 3, 2, 1}, {2, 3, 23, 23, 16, 7, 2, 3}};
        Nd4j.getRandom().setSeed(6);
        for (int[] c : cases) {
            try (DirectConv conv = DirectConv.create(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7])) {
                for (int flags = 0; flags < 4; flags++) {
                    boolean accumulate = (flags & 2) != 0;
                    boolean relu = (flags & 1) != 0;
                    String what = java.util.Arrays.toString(c) + " accumulate " + accumulate + " relu " + relu;
                    for (int round = 0; round < 2; round++) {   // the inference plan is reused with new arrays
                        INDArray x = Nd4j.randn(DataType.FLOAT, c[0], c[2], c[3], c[1]);
                        INDArray w = Nd4j.randn(DataType.FLOAT, c[4], c[1], c[5], c[5]);
                        INDArray bias = Nd4j.randn(DataType.FLOAT, c[4]);
                        INDArray before = Nd4j.randn(DataType.FLOAT, conv.outShape());
                        INDArray expected = Nd4j.create(DataType.FLOAT, conv.outShape());
                        conv.forward(x, w, expected);
                        expected.reshape(expected.length() / c[4], c[4]).addiRowVector(bias.reshape(1, c[4]));
                        if (accumulate) {
                            expected.addi(before);
                        }
                        if (relu) {
                            expected = org.nd4j.linalg.ops.transforms.Transforms.relu(expected, false);
                        }
                        INDArray y = before.dup();
                        conv.forwardInference(x, w, bias, accumulate, relu, y);
                        assertClose(expected, y, what + " round " + round);
                        if (relu) {
                            assertTrue(y.minNumber().doubleValue() >= 0, what + ": ReLU'd");
                        }
                    }
                    assertTrue(!conv.inferenceImplementation(accumulate, relu).isEmpty(), what);
                }
                INDArray x = Nd4j.create(DataType.FLOAT, c[0], c[2], c[3], c[1]);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> conv.forwardInference(x, Nd4j.create(DataType.FLOAT, c[4], c[1], c[5], c[5]),
                                Nd4j.create(DataType.FLOAT, c[4] + 1), false, true,
                                Nd4j.create(DataType.FLOAT, conv.outShape())));
                assertTrue(e.getMessage().startsWith("bias must have shape"), e.getMessage());
            }
        }
    }

    /**
     * Plans share one weights scratch buffer per thread (the weights in oneDNN's layouts live only from the reorder
     * to the convolution): calls interleaved with a plan whose weights are larger (the buffer grows in between), and
     * calls from another thread, give the same results as each plan alone.
     */
    @Test
    void plansShareTheWeightsScratch() throws Exception {
        FastPath.requireDirectConv();
        Nd4j.getRandom().setSeed(9);
        try (DirectConv small = DirectConv.create(4, 16, 8, 8, 16, 3, 1, 1);
             DirectConv large = DirectConv.create(2, 64, 6, 6, 128, 3, 1, 1)) {
            INDArray x = Nd4j.randn(DataType.FLOAT, 4, 8, 8, 16);
            INDArray w = Nd4j.randn(DataType.FLOAT, 16, 16, 3, 3);
            INDArray dy = Nd4j.randn(DataType.FLOAT, small.outShape());
            INDArray y0 = Nd4j.create(DataType.FLOAT, small.outShape());
            INDArray dx0 = x.ulike();
            INDArray dw0 = w.ulike();
            small.forward(x, w, y0);
            small.backward(x, w, dy, dx0, dw0);
            INDArray bias = Nd4j.randn(DataType.FLOAT, 16);
            INDArray yi0 = Nd4j.create(DataType.FLOAT, small.outShape());
            small.forwardInference(x, w, bias, false, true, yi0);

            INDArray xl = Nd4j.randn(DataType.FLOAT, 2, 6, 6, 64);
            INDArray wl = Nd4j.randn(DataType.FLOAT, 128, 64, 3, 3);
            INDArray yl = Nd4j.create(DataType.FLOAT, large.outShape());
            large.forward(xl, wl, yl);
            INDArray y1 = Nd4j.create(DataType.FLOAT, small.outShape());
            small.forward(x, w, y1);
            large.backward(xl, wl, Nd4j.randn(DataType.FLOAT, large.outShape()), xl.ulike(), wl.ulike());
            INDArray dx1 = x.ulike();
            INDArray dw1 = w.ulike();
            small.backward(x, w, dy, dx1, dw1);
            large.forwardInference(xl, wl, Nd4j.randn(DataType.FLOAT, 128), false, false, yl);
            INDArray yi1 = Nd4j.create(DataType.FLOAT, small.outShape());
            small.forwardInference(x, w, bias, false, true, yi1);
            assertEquals(y0, y1, "forward");
            assertEquals(dx0, dx1, "input gradient");
            assertEquals(dw0, dw1, "weight gradient");
            assertEquals(yi0, yi1, "inference");

            INDArray[] other = new INDArray[3];
            Thread t = new Thread(() -> {
                other[0] = Nd4j.create(DataType.FLOAT, small.outShape());
                other[1] = x.ulike();
                other[2] = w.ulike();
                small.forward(x, w, other[0]);
                small.backward(x, w, dy, other[1], other[2]);
            });
            t.start();
            t.join();
            assertEquals(y0, other[0], "forward on another thread");
            assertEquals(dw0, other[2], "weight gradient on another thread");
        }
    }

    @Test
    void maxPoolingMatchesLibnd4j() {
        FastPath.requireDirectConv();
        int[][] cases = {{4, 16, 16, 16, 3, 2, 1}, {3, 8, 7, 9, 3, 2, 1}, {2, 64, 12, 12, 2, 2, 0}, {2, 5, 6, 6, 3, 1, 1}};
        Nd4j.getRandom().setSeed(8);
        for (int[] c : cases) {   // n, c, h, w, kernel, stride, padding
            try (DirectPool pool = DirectPool.create(c[0], c[1], c[2], c[3], c[4], c[5], c[6])) {
                for (int round = 0; round < 2; round++) {
                    String what = java.util.Arrays.toString(c) + " round " + round;
                    INDArray x = Nd4j.randn(DataType.FLOAT, c[0], c[1], c[2], c[3]);   // NCHW
                    org.nd4j.linalg.api.ops.DynamicCustomOp fwd = org.nd4j.linalg.api.ops.DynamicCustomOp
                            .builder("maxpool2d").addInputs(x)
                            .addIntegerArguments(c[4], c[4], c[5], c[5], c[6], c[6], 1, 1, 0, 0, 0).build();
                    INDArray y = Nd4j.create(DataType.FLOAT, fwd.calculateOutputShape().get(0).getShape());
                    fwd.addOutputArgument(y);
                    Nd4j.exec(fwd);
                    INDArray dy = Nd4j.randn(DataType.FLOAT, y.shape());
                    INDArray dx = x.ulike();
                    Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("maxpool2d_bp").addInputs(x, dy)
                            .addOutputs(dx).addIntegerArguments(c[4], c[4], c[5], c[5], c[6], c[6], 1, 1, 0, 0, 0)
                            .build());

                    INDArray yh = Nd4j.create(DataType.FLOAT, pool.outShape());
                    pool.forward(nhwc(x), yh, round == 0);
                    assertClose(y, NativeKernels.nchwView(yh), what + " y");
                    if (round == 1) {   // an inference pass, then a training pass: the backward pass uses the latter
                        pool.forward(nhwc(x), yh, true);
                    }
                    INDArray dxh = Nd4j.valueArrayOf(new long[] {c[0], c[2], c[3], c[1]}, 5f, DataType.FLOAT);
                    pool.backward(nhwc(dy), dxh);
                    assertClose(dx, NativeKernels.nchwView(dxh), what + " dx");
                }
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> pool.forward(Nd4j.create(DataType.FLOAT, c[0], c[2], c[3], c[1] + 1),
                                Nd4j.create(DataType.FLOAT, pool.outShape()), false));
                assertTrue(e.getMessage().startsWith("x must have shape"), e.getMessage());
            }
        }
        assertEquals("padding must be in [0, 2] (kernel - 1), got 3",
                assertThrows(IllegalArgumentException.class, () -> DirectPool.create(1, 1, 4, 4, 3, 1, 3))
                        .getMessage());
        try (DirectPool fresh = DirectPool.create(1, 2, 4, 4, 3, 2, 1)) {
            assertThrows(IllegalStateException.class, () -> fresh.backward(Nd4j.create(DataType.FLOAT,
                    fresh.outShape()), Nd4j.create(DataType.FLOAT, 1, 4, 4, 2)));
        }
    }

    @Test
    void rejectsBadArgumentsByName() {
        assertEquals("stride must be >= 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> DirectConv.create(1, 1, 4, 4, 1, 3, 0, 1))
                        .getMessage());
        assertEquals("padding must be in [0, 2] (kernel - 1), got 3",
                assertThrows(IllegalArgumentException.class, () -> DirectConv.create(1, 1, 4, 4, 1, 3, 1, 3))
                        .getMessage());
        FastPath.requireDirectConv();
        try (DirectConv conv = DirectConv.create(2, 4, 6, 6, 8, 3, 1, 1)) {
            INDArray w = Nd4j.create(DataType.FLOAT, 8, 4, 3, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> conv.forward(Nd4j.create(DataType.FLOAT, 2, 4, 6, 6), w, Nd4j.create(DataType.FLOAT, 2, 6, 6, 8)));
            assertEquals("x must have shape [2, 6, 6, 4], got [2, 4, 6, 6]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> conv.forward(Nd4j.create(DataType.DOUBLE, 2, 6, 6, 4),
                    w, Nd4j.create(DataType.FLOAT, 2, 6, 6, 8)));
            assertTrue(e.getMessage().startsWith("x must be a float"), e.getMessage());
            conv.close();
            assertThrows(IllegalStateException.class, () -> conv.forward(Nd4j.create(DataType.FLOAT, 2, 6, 6, 4), w,
                    Nd4j.create(DataType.FLOAT, 2, 6, 6, 8)));
        }
    }

    @Test
    void channelsLastBatchNormMatchesNchw() {
        // 24 channels: the generic loops; 16, 32 and 48: 16 channels at a time, two rows per iteration (210 rows: an
        // odd count per thread with two threads, so the last single row is covered too)
        for (int c : new int[] {24, 16, 32, 48}) {
            channelsLastBatchNormMatchesNchw(c);
        }
    }

    private static void channelsLastBatchNormMatchesNchw(int c) {
        FastPath.requireNativeKernels();
        Nd4j.getRandom().setSeed(9);
        INDArray x = Nd4j.randn(DataType.FLOAT, 7, c, 5, 6).muli(3).addi(2);
        INDArray gamma = Nd4j.rand(DataType.FLOAT, c).addi(0.5);
        INDArray beta = Nd4j.randn(DataType.FLOAT, c);
        for (boolean relu : new boolean[] {false, true}) {
            double[] m1 = new double[c], v1 = new double[c], m2 = new double[c], v2 = new double[c];
            INDArray y1 = x.ulike();
            FloatBatchNorm.forwardTraining(x, gamma, beta, 1e-5, relu, y1, m1, v1);
            INDArray xh = nhwc(x);
            INDArray y2 = xh.ulike();
            FloatBatchNorm.forwardTrainingNhwc(xh, gamma, beta, 1e-5, relu, y2, m2, v2);
            for (int ch = 0; ch < c; ch++) {
                assertEquals(m1[ch], m2[ch], 1e-5, "mean");
                assertEquals(v1[ch], v2[ch], 1e-4, "var");
            }
            assertClose(y1, NativeKernels.nchwView(y2), "y relu=" + relu);
            INDArray y3 = xh.ulike();
            FloatBatchNorm.normalizeNhwc(xh, m1, v1, gamma, beta, 1e-5, relu, y3);
            assertClose(y1, NativeKernels.nchwView(y3), "normalize relu=" + relu);

            INDArray dy = Nd4j.randn(DataType.FLOAT, 7, c, 5, 6);
            INDArray dx1 = x.ulike(), dg1 = gamma.ulike(), db1 = gamma.ulike();
            FloatBatchNorm.backward(x, y1, relu, dy, 1 / 0.7, m1, v1, gamma, 1e-5, dx1, dg1, db1);
            INDArray dx2 = xh.ulike(), dg2 = gamma.ulike(), db2 = gamma.ulike();
            FloatBatchNorm.backwardNhwc(xh, y2, relu, nhwc(dy), 1 / 0.7, m1, v1, gamma, 1e-5, dx2, dg2, db2);
            assertClose(dx1, NativeKernels.nchwView(dx2), "dx relu=" + relu);
            assertClose(dg1, dg2, "dGamma");
            assertClose(db1, db2, "dBeta");

            // per-example multipliers (ROW-mode stochastic depth): as if dy had been multiplied first
            float[] rs = {0f, 2f, 1f, 0f, 1 / 0.3f, 2f, 0f};
            INDArray dyScaled = dy.dup();
            for (int i = 0; i < rs.length; i++) {
                dyScaled.get(org.nd4j.linalg.indexing.NDArrayIndex.point(i)).muli(rs[i]);
            }
            FloatBatchNorm.backward(x, y1, relu, dyScaled, 1 / 0.7, m1, v1, gamma, 1e-5, dx1, dg1, db1);
            FloatBatchNorm.backwardNhwc(xh, y2, relu, nhwc(dy), 1 / 0.7, rs, m1, v1, gamma, 1e-5, dx2, dg2, db2);
            assertClose(dx1, NativeKernels.nchwView(dx2), "dx per example, relu=" + relu);
            assertClose(dg1, dg2, "dGamma per example");
            assertClose(db1, db2, "dBeta per example");
        }
        INDArray xh = nhwc(x);
        double[] m = new double[c];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FloatBatchNorm.backwardNhwc(xh,
                xh, true, xh, 1.0, new float[3], m, m, gamma, 1e-5, xh.ulike(), gamma.ulike(), gamma.ulike()));
        assertEquals("exampleScales must have 7 values (examples), got 3", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FloatBatchNorm.backwardNhwc(xh, xh, true, xh, 1.0,
                new float[] {1, 1, 1, Float.NaN, 1, 1, 1}, m, m, gamma, 1e-5, xh.ulike(), gamma.ulike(), gamma.ulike()));
        assertEquals("exampleScales must be finite, got NaN", e.getMessage());
    }

    @Test
    void layoutAndZeroPadKernelsMatchNchw() {
        FastPath.requireNativeKernels();
        INDArray x = Nd4j.randn(DataType.FLOAT, 3, 5, 7, 9);
        INDArray xh = nhwc(x);
        assertEquals(x.permute(0, 2, 3, 1), xh);
        assertTrue(NativeKernels.isNhwcView(NativeKernels.nchwView(xh)));
        assertTrue(!NativeKernels.isNhwcView(x), "an NCHW array");
        assertTrue(!NativeKernels.isNhwcView(xh), "[n, h, w, c] itself (its NCHW view is the channels-last one)");
        assertTrue(NativeKernels.isNhwcView(Nd4j.create(DataType.FLOAT, 4, 1, 3, 3)), "one channel: both layouts");
        assertTrue(!NativeKernels.isNhwcView(Nd4j.create(DataType.FLOAT, 4, 3, 3)), "rank 3");
        INDArray back = x.ulike();
        assertTrue(NativeKernels.transpose(xh, back, false, false));
        assertEquals(x, back);
        assertTrue(NativeKernels.transpose(xh, back, false, true));
        assertEquals(x.mul(2), back);
        for (int stride : new int[] {1, 2}) {
            long ho = (7 + stride - 1) / stride, wo = (9 + stride - 1) / stride;
            INDArray sc = Nd4j.create(DataType.FLOAT, 3, 12, ho, wo);
            KernelPaths.of(KernelPath.LIBND4J_NCHW).zeroPadShortcut(x, stride, 3, sc);
            INDArray sch = Nd4j.create(DataType.FLOAT, 3, ho, wo, 12);
            assertTrue(NativeKernels.zeroPadShortcutNhwc(xh, stride, 3, sch));
            assertEquals(sc, NativeKernels.nchwView(sch));
            INDArray d = Nd4j.randn(DataType.FLOAT, 3, 12, ho, wo);
            for (boolean acc : new boolean[] {false, true}) {
                INDArray dx = Nd4j.ones(DataType.FLOAT, 3, 5, 7, 9);
                KernelPaths.of(KernelPath.LIBND4J_NCHW).zeroPadShortcutBackward(d, stride, 3, dx, acc);
                INDArray dxh = Nd4j.ones(DataType.FLOAT, 3, 7, 9, 5);
                assertTrue(NativeKernels.zeroPadShortcutBackwardNhwc(nhwc(d), stride, 3, dxh, acc));
                assertEquals(dx, NativeKernels.nchwView(dxh));
            }
        }
    }

    static INDArray nhwc(INDArray nchw) {
        INDArray out = Nd4j.create(DataType.FLOAT, nchw.size(0), nchw.size(2), nchw.size(3), nchw.size(1));
        assertTrue(NativeKernels.transpose(nchw, out, true, false));
        return out;
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        double scale = Math.max(1e-6, expected.amaxNumber().doubleValue());
        double err = expected.sub(actual).amaxNumber().doubleValue() / scale;
        assertTrue(err < 1e-4, what + ": relative error " + err);
    }
}
