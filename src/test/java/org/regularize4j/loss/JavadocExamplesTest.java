package org.regularize4j.loss;

import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.regularize4j.testutil.JavadocExamples;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every usage example in the Javadoc of org.regularize4j.loss, copied verbatim, compiled and run. */
class JavadocExamplesTest {

    @Test
    void lossLabelSmoothing() {
        OutputLayer out = new OutputLayer.Builder(new LossLabelSmoothing(0.1))   // timm: LabelSmoothingCrossEntropy(0.1)
                .nOut(10).activation(Activation.SOFTMAX).build();
        assertEquals(new LossLabelSmoothing(0.1), out.getLossFn());
    }

    @Test
    void everyExampleIsCopiedHereVerbatim() throws IOException {
        JavadocExamples.assertCopiedVerbatim("src/main/java/org/regularize4j/loss",
                "src/test/java/org/regularize4j/loss/JavadocExamplesTest.java", 1);
    }
}
