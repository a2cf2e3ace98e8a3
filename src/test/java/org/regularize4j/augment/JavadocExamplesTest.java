package org.regularize4j.augment;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.testutil.JavadocExamples;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every usage example in the Javadoc of org.regularize4j.augment, copied verbatim, compiled and run. */
class JavadocExamplesTest {

    @Test
    void randomErasing() {
        RandomErasing erase = RandomErasing.builder()   // timm: RandomErasing(0.25, mode='pixel')
                .probability(0.25).mode(RandomErasing.Mode.PIXEL).seed(3).build();
        DataSet batch = new DataSet(Nd4j.rand(DataType.FLOAT, 8, 1, 28, 28), Nd4j.eye(8));
        erase.preProcess(batch);   // about a quarter of the images get one rectangle of noise
        assertEquals(1, erase.calls());
    }

    @Test
    void modeBoxAndBuilder() {
        RandomErasing.Mode mode = RandomErasing.Mode.valueOf("PIXEL");
        RandomErasing.Box box = new RandomErasing.Box(0, 2, 3, 4, 5);
        double share = box.area() / (28.0 * 28.0);
        RandomErasing twoBoxes = RandomErasing.builder().probability(1.0).minCount(1).maxCount(2).build();
        assertEquals(RandomErasing.Mode.PIXEL, mode);
        assertEquals(20 / 784.0, share, 1e-15);
        assertEquals(2, twoBoxes.getMaxCount());
    }

    @Test
    void everyExampleIsCopiedHereVerbatim() throws IOException {
        JavadocExamples.assertCopiedVerbatim("src/main/java/org/regularize4j/augment",
                "src/test/java/org/regularize4j/augment/JavadocExamplesTest.java", 4);
    }
}
