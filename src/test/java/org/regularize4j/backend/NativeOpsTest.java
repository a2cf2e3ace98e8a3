package org.regularize4j.backend;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.testutil.FastPath;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link NativeOps#conv2dBackprop} on chunks of 13 examples (what it does for narrow 3x3 stride-1 convolutions,
 * to keep oneDNN off its slow Winograd kernel) gives the gradients of one call over the whole batch.
 */
class NativeOpsTest {

    @AfterEach
    void restore() {
        NativeOps.setSplitBackward(true);
    }

    @Test
    void splitsOnlyNarrowStrideOneThreeByThreeFloatConvolutionsOverThirteenExamples() {
        FastPath.requireNd4jOneDnn();   // the split is for libnd4j's oneDNN kernels; without them nothing splits
        INDArray w16 = Nd4j.create(DataType.FLOAT, 16, 16, 3, 3);
        assertTrue(NativeOps.splitsBackward(Nd4j.create(DataType.FLOAT, 20, 16, 9, 9), w16, 1));
        assertTrue(NativeOps.splitsBackward(Nd4j.create(DataType.FLOAT, 64, 3, 32, 32),
                Nd4j.create(DataType.FLOAT, 16, 3, 3, 3), 1));
        assertFalse(NativeOps.splitsBackward(Nd4j.create(DataType.FLOAT, 13, 16, 9, 9), w16, 1), "13 examples");
        assertTrue(NativeOps.splitsBackward(Nd4j.create(DataType.FLOAT, 14, 16, 9, 9), w16, 1), "14 examples");
        assertFalse(NativeOps.splitsBackward(Nd4j.create(DataType.FLOAT, 20, 16, 9, 9), w16, 2), "stride 2");
        assertFalse(NativeOps.splitsBackward(Nd4j.create(DataType.FLOAT, 20, 32, 9, 9),
                Nd4j.create(DataType.FLOAT, 32, 32, 3, 3), 1), "32 channels");
        assertFalse(NativeOps.splitsBackward(Nd4j.create(DataType.FLOAT, 20, 16, 9, 9),
                Nd4j.create(DataType.FLOAT, 16, 16, 1, 1), 1), "1x1");
        assertFalse(NativeOps.splitsBackward(Nd4j.create(DataType.DOUBLE, 20, 16, 9, 9),
                Nd4j.create(DataType.DOUBLE, 16, 16, 3, 3), 1), "double: no oneDNN");
        NativeOps.setSplitBackward(false);
        assertFalse(NativeOps.splitsBackward(Nd4j.create(DataType.FLOAT, 20, 16, 9, 9), w16, 1), "switched off");
    }

    @Test
    void chunkedBackwardEqualsOneCall() {
        Nd4j.getRandom().setSeed(21);
        INDArray x = Nd4j.randn(DataType.FLOAT, 21, 16, 9, 9);   // 21: the last chunk has 8 examples
        INDArray w = Nd4j.randn(DataType.FLOAT, 16, 16, 3, 3);
        INDArray dOut = Nd4j.randn(DataType.FLOAT, 21, 16, 9, 9);
        INDArray[] dx = new INDArray[2];
        INDArray[] dw = new INDArray[2];
        for (int k = 0; k < 2; k++) {
            NativeOps.setSplitBackward(k == 1);
            dx[k] = x.ulike();
            dw[k] = w.ulike();
            NativeOps.conv2dBackprop(x, w, dOut, 1, 1, dx[k], dw[k]);
        }
        assertClose(dx[0], dx[1], "dx");
        assertClose(dw[0], dw[1], "dw");
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        double rel = expected.sub(actual).norm2Number().doubleValue() / expected.norm2Number().doubleValue();
        assertTrue(rel < 1e-5, what + ": relative difference " + rel);
    }
}
