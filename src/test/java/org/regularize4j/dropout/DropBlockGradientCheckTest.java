package org.regularize4j.dropout;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.regularize4j.testutil.DoublePrecision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DL4J gradient checks (double precision, central differences, max relative error 1e-5) of a graph with DropBlock
 * in a DropoutLayer and as a convolution layer's dropOut, in NCHW and NHWC. The masks are a function of (seed,
 * iteration, epoch, stream) and the iteration does not advance during the check, so they stay fixed; the check
 * needs a callEachIter hook only because DL4J refuses dropout without one. Both masks of the checked pass have
 * dropped and kept activations (asserted), and are the same after the check. The 3x3 NHWC case makes the second
 * convolution's input a cube (3 channels of 3x3), where DL4J's NCHW gradient has the shape of the NHWC mask.
 */
@ExtendWith(DoublePrecision.class)
class DropBlockGradientCheckTest {
    private static final int MB = 4;

    @ParameterizedTest(name = "{0} {1}x{2}")
    @CsvSource({"NCHW, 6, 7", "NHWC, 6, 7", "NHWC, 3, 3"})
    void gradientsMatchFiniteDifferences(CNN2DFormat format, int h, int w) {
        DropBlock dropBlock = new DropBlock(0.3, 3);
        INDArray x = DropBlockNets.features(MB, format, 5, DataType.DOUBLE, h, w);
        INDArray y = DropBlockNets.labels(MB, DataType.DOUBLE);
        ComputationGraph net = DropBlockNets.net(dropBlock, format, 12, DataType.DOUBLE, h, w);
        net.feedForward(new INDArray[] {x}, true, false);
        INDArray[] before = new INDArray[2];
        String[] layers = {"drop", "conv2"};
        for (int i = 0; i < 2; i++) {
            INDArray m = DropBlockNets.of(net, layers[i]).getLastMask();
            long kept = m.neq(0).castTo(DataType.INT).sumNumber().longValue();
            assertTrue(kept > 0 && kept < m.length(), layers[i] + ": kept " + kept + " of " + m.length());
            before[i] = m.dup();
        }
        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(net)
                .inputs(new INDArray[] {x}).labels(new INDArray[] {y}).callEachIter(g -> { })
                .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9));
        assertTrue(ok, "gradient check failed, " + format);
        net.feedForward(new INDArray[] {x}, true, false);
        for (int i = 0; i < 2; i++) {
            assertEquals(before[i], DropBlockNets.of(net, layers[i]).getLastMask(), layers[i] + " mask moved");
        }
    }
}
