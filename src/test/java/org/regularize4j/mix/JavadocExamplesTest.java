package org.regularize4j.mix;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.testutil.JavadocExamples;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every usage example in the Javadoc of org.regularize4j.mix, copied verbatim, compiled and run. */
class JavadocExamplesTest {

    @Test
    void mixup() {
        Mixup mix = Mixup.builder()   // timm: Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, num_classes=10)
                .mixupAlpha(0.8).cutmixAlpha(1.0).labelSmoothing(0.1).numClasses(10).seed(7).build();
        DataSet batch = new DataSet(Nd4j.rand(DataType.FLOAT, 8, 1, 28, 28), Nd4j.eye(10).getRows(0, 1, 2, 3, 4, 5, 6,
                7));
        mix.preProcess(batch);               // features mixed, labels soft (each row sums to 1)
        for (int i = 0; i < 8; i++) {
            assertEquals(1.0, batch.getLabels().getRow(i).sumNumber().doubleValue(), 1e-5);
            assertTrue(batch.getLabels().getRow(i).maxNumber().doubleValue() < 1.0);
        }
    }

    @Test
    void plan() {
        Mixup.Plan plan = Mixup.builder().cutmixAlpha(1.0).mixupAlpha(0).build().plan(8, 28, 28, 0);
        double keptShare = plan.lambdas()[0];   // the share of example 0's own pixels
        int[] box = plan.boxes()[0];            // {yl, yh, xl, xh}, or null
        assertEquals(1 - (double) (box[1] - box[0]) * (box[3] - box[2]) / (28 * 28), keptShare, 1e-12);
    }

    @Test
    void builderAndMode() {
        Mixup cutmixOnly = Mixup.builder().mixupAlpha(0).cutmixAlpha(1.0).mode(MixMode.PAIR).build();
        Mixup perExample = Mixup.builder().mixupAlpha(0.2).mode(MixMode.ELEM).build();
        assertEquals(MixMode.PAIR, cutmixOnly.getMode());
        assertEquals(0.2, perExample.getMixupAlpha());
    }

    @Test
    void everyExampleIsCopiedHereVerbatim() throws IOException {
        JavadocExamples.assertCopiedVerbatim("src/main/java/org/regularize4j/mix",
                "src/test/java/org/regularize4j/mix/JavadocExamplesTest.java", 4);
    }
}
