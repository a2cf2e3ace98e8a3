package org.regularize4j.backend;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.testutil.FastPath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The float kernels, Java NCHW and native NHWC ({@link NativeKernels}, on transposed copies), against the same
 * computation in double precision with libnd4j's batchnorm_bp (the reference path): relative errors below 1e-4
 * (float32 sums over up to 4,096 values per channel).
 */
class FloatBatchNormTest {

    @ParameterizedTest(name = "N={0} C={1} H={2} W={3} relu={4} offset={5} native={6}")
    @CsvSource({"8, 4, 5, 5, true, 0, false", "3, 6, 1, 1, true, 0, false", "16, 3, 4, 4, false, 0, false",
            "4, 5, 6, 7, true, 1000, false", "2, 2, 32, 32, true, -3, false",
            "8, 4, 5, 5, true, 0, true", "3, 6, 1, 1, true, 0, true", "16, 3, 4, 4, false, 0, true",
            "4, 5, 6, 7, true, 1000, true", "2, 2, 32, 32, true, -3, true", "1, 3, 2, 2, true, 0, true"})
    void matchesTheDoublePrecisionReference(int n, int c, int h, int w, boolean relu, double offset,
                                            boolean nativeKernels) {
        if (nativeKernels) {
            FastPath.requireNativeKernels();
        }
        checkAgainstReference(n, c, h, w, relu, offset, 1.0, nativeKernels);
        checkAgainstReference(n, c, h, w, relu, offset, 1.0 / 0.7, nativeKernels);   // a kept branch's multiplier
    }

    private static void checkAgainstReference(int n, int c, int h, int w, boolean relu, double offset,
                                              double dyScale, boolean nhwc) {
        Nd4j.getRandom().setSeed(n * 31L + c);
        INDArray xd = Nd4j.randn(DataType.DOUBLE, n, c, h, w).muli(2).addi(offset);   // large offset: shifted sums
        INDArray gammaD = Nd4j.rand(DataType.DOUBLE, c).addi(0.5);
        INDArray betaD = Nd4j.randn(DataType.DOUBLE, c);
        INDArray dyD = Nd4j.randn(DataType.DOUBLE, n, c, h, w);
        double eps = 1e-5;

        // reference in double: libnd4j batchnorm, ReLU, relu_bp, batchnorm_bp
        INDArray mean = xd.mean(0, 2, 3);
        INDArray var = Nd4j.exec(new org.nd4j.linalg.api.ops.impl.summarystats.Variance(xd, false, 0, 2, 3));
        INDArray yD = NativeOps.batchNorm(xd, mean, var, gammaD, betaD, eps, xd.ulike());
        if (relu) {
            NativeOps.reluInPlace(yD);
        }
        INDArray dyScaled = dyD.mul(dyScale);
        INDArray g = relu ? NativeOps.reluBackprop(yD, dyScaled, dyD.ulike()) : dyScaled;
        INDArray dxD = xd.ulike();
        INDArray dGammaD = gammaD.ulike();
        INDArray dBetaD = betaD.ulike();
        NativeOps.batchNormBackprop(xd, mean, var, gammaD, betaD, g, eps, dxD, dGammaD, dBetaD);

        // the float kernel (NHWC: on channels-last copies, results back in NCHW)
        INDArray x = xd.castTo(DataType.FLOAT);
        INDArray dyF = dyD.castTo(DataType.FLOAT);
        double[] m = new double[c];
        double[] v = new double[c];
        INDArray dGamma = Nd4j.create(DataType.FLOAT, c);
        INDArray dBeta = Nd4j.create(DataType.FLOAT, c);
        INDArray y;
        INDArray dx;
        if (nhwc) {
            INDArray xh = x.permute(0, 2, 3, 1).dup('c');
            INDArray yh = xh.ulike();
            FloatBatchNorm.forwardTrainingNhwc(xh, gammaD.castTo(DataType.FLOAT), betaD.castTo(DataType.FLOAT), eps,
                    relu, yh, m, v);
            INDArray dxh = xh.ulike();
            FloatBatchNorm.backwardNhwc(xh, yh, relu, dyF.permute(0, 2, 3, 1).dup('c'), dyScale, m, v,
                    gammaD.castTo(DataType.FLOAT), eps, dxh, dGamma, dBeta);
            y = yh.permute(0, 3, 1, 2);
            dx = dxh.permute(0, 3, 1, 2);
        } else {
            y = x.ulike();
            FloatBatchNorm.forwardTraining(x, gammaD.castTo(DataType.FLOAT), betaD.castTo(DataType.FLOAT), eps, relu,
                    y, m, v);
            dx = x.ulike();
            FloatBatchNorm.backward(x, y, relu, dyF, dyScale, m, v, gammaD.castTo(DataType.FLOAT), eps, dx, dGamma,
                    dBeta);
        }

        assertClose(mean, Nd4j.createFromArray(m), "mean");
        assertClose(var, Nd4j.createFromArray(v), "variance");
        assertClose(yD, y, "output");
        assertClose(dxD, dx, "dx (dyScale " + dyScale + ")");
        assertClose(dGammaD, dGamma, "dGamma (dyScale " + dyScale + ")");
        assertClose(dBetaD, dBeta, "dBeta (dyScale " + dyScale + ")");
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        INDArray e = expected.castTo(DataType.DOUBLE);
        INDArray a = actual.castTo(DataType.DOUBLE).reshape(e.shape());
        double rel = e.sub(a).norm2Number().doubleValue() / Math.max(1e-12, e.norm2Number().doubleValue());
        assertTrue(rel < 1e-4, what + ": relative error " + rel);
    }

    /** ReLU outputs are 0 or at least 2^-124, so that the backward mask is exact (both kernels). */
    @ParameterizedTest(name = "native={0}")
    @CsvSource({"false", "true"})
    void reluOutputsHaveNoDenormals(boolean nativeKernels) {
        if (nativeKernels) {
            FastPath.requireNativeKernels();
        }
        INDArray x = Nd4j.create(new float[] {1e-40f, -1e-40f, 3e-38f, 1.5f, 0f, -2f}, 1, 1, 2, 3);
        INDArray y = x.ulike();
        if (nativeKernels) {   // one channel: NCHW and NHWC are the same memory
            FloatBatchNorm.normalizeNhwc(x.reshape(1, 2, 3, 1), new double[] {0}, new double[] {1},
                    Nd4j.ones(DataType.FLOAT, 1), Nd4j.zeros(DataType.FLOAT, 1), 0.0, true, y.reshape(1, 2, 3, 1));
        } else {
            FloatBatchNorm.normalize(x, new double[] {0}, new double[] {1}, Nd4j.ones(DataType.FLOAT, 1),
                    Nd4j.zeros(DataType.FLOAT, 1), 0.0, true, y);
        }
        for (float v : y.data().asFloat()) {
            assertTrue(v == 0f || v >= 0x1p-124f, "got " + v);
        }
        assertEquals(1.5f, y.getFloat(0, 0, 1, 0), 1e-6f);
        INDArray dy = Nd4j.ones(DataType.FLOAT, 1, 1, 2, 3);
        INDArray dx = dy.ulike();
        FloatBatchNorm.reluBackward(y, dy, dx);
        for (int i = 0; i < 6; i++) {
            assertEquals(y.data().getFloat(i) > 0 ? 1f : 0f, dx.data().getFloat(i), 0f);
        }
    }

    @Test
    void aNonFiniteGradientMultiplierIsRejected() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 2, 2);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> FloatBatchNorm.backward(x, x, false, x, Double.NaN, new double[3], new double[3],
                        Nd4j.ones(DataType.FLOAT, 3), 1e-5, x.ulike(), Nd4j.create(DataType.FLOAT, 3),
                        Nd4j.create(DataType.FLOAT, 3)));
        assertEquals("dyScale must be finite, got NaN", e.getMessage());
    }

    @Test
    void supportsOnlyContiguousFloatRank4() {
        assertTrue(FloatBatchNorm.supports(Nd4j.create(DataType.FLOAT, 2, 3, 4, 5)));
        assertTrue(!FloatBatchNorm.supports(Nd4j.create(DataType.DOUBLE, 2, 3, 4, 5)));
        assertTrue(!FloatBatchNorm.supports(Nd4j.create(DataType.FLOAT, 2, 3, 4, 5).permute(0, 2, 1, 3)));
        assertTrue(FloatBatchNorm.supports(Nd4j.create(DataType.FLOAT, 6, 64, 1, 1)));
    }
}
