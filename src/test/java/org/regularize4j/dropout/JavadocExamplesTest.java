package org.regularize4j.dropout;

import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.regularize4j.testutil.JavadocExamples;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every usage example in the Javadoc of org.regularize4j.dropout, copied verbatim, compiled and run. */
class JavadocExamplesTest {

    @Test
    void dropBlock() {
        ConvolutionLayer conv = new ConvolutionLayer.Builder(3, 3).nOut(16)
                .dropOut(new DropBlock(0.1, 5).withGammaScale(0.25))   // timm: DropBlock2d(0.1, 5, gamma_scale=0.25)
                .build();
        assertEquals(new DropBlock(0.1, 5).withGammaScale(0.25), conv.getIDropout());
    }

    @Test
    void dropBlockMask() {
        DropBlock conf = new DropBlock(0.1, 3);
        INDArray mask = DropBlockMask.create(conf, 0.1, new long[] {2, 4, 8, 8}, false, 42L, 0, 0, 0,
                DataType.FLOAT);   // 0 where dropped, numel / kept elsewhere
        assertArrayEquals(new long[] {2, 4, 8, 8}, mask.shape());
        assertEquals(mask.length(), mask.sumNumber().doubleValue(), 1e-2);
        assertTrue(mask.minNumber().doubleValue() == 0.0);
    }

    @Test
    void blocks() {
        DropBlockMask.Blocks blocks = DropBlockMask.blocks(new DropBlock(0.1, 3), 0.1, new long[] {2, 4, 8, 8}, false,
                42L, 0, 0, 0);
        double scale = blocks.scale();               // numel / kept: the multiplier of the kept activations
        java.nio.FloatBuffer activations = java.nio.FloatBuffer.allocate(2 * 4 * 8 * 8);
        blocks.zero(activations);                    // zeros exactly where the dense mask has them
        INDArray mask = DropBlockMask.create(new DropBlock(0.1, 3), 0.1, new long[] {2, 4, 8, 8}, false, 42L, 0, 0, 0,
                DataType.FLOAT);
        assertEquals(mask.maxNumber().doubleValue(), scale, 1e-6);
        assertEquals(0.0, activations.get(0));
    }

    @Test
    void linearRampSchedule() {
        ISchedule ramp = new LinearRampSchedule(ScheduleType.ITERATION, 0.0, 0.1, 1000);
        double atStart = ramp.valueAt(0, 0);      // 0.0
        double halfway = ramp.valueAt(500, 0);    // 0.05
        double later = ramp.valueAt(5000, 3);     // 0.1
        assertEquals(0.0, atStart);
        assertEquals(0.05, halfway, 1e-15);
        assertEquals(0.1, later);
    }

    @Test
    void everyExampleIsCopiedHereVerbatim() throws IOException {
        JavadocExamples.assertCopiedVerbatim("src/main/java/org/regularize4j/dropout",
                "src/test/java/org/regularize4j/dropout/JavadocExamplesTest.java", 4);
    }
}
