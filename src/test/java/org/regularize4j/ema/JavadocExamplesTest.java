package org.regularize4j.ema;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.dataset.DataSet;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.testutil.JavadocExamples;
import org.regularize4j.testutil.SingleThreadedNd4j;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every usage example in the Javadoc of org.regularize4j.ema, copied here verbatim, compiled and run, with a few
 * assertions on what it produced. {@link #everyExampleIsCopiedHereVerbatim()} reads the sources and fails if an
 * example changed without this file, or if a public type has no example.
 */
@ExtendWith(SingleThreadedNd4j.class)
class JavadocExamplesTest {

    @Test
    void modelEma() {
        ComputationGraph net = ResNet.cifar(8).widthMultiplier(0.25).inputShape(1, 8, 8).numClasses(3).seed(1).build();
        DataSet trainData = ModelEmaTest.batch(0);
        trainData.setFeatures(trainData.getFeatures().castTo(net.params().dataType()));
        trainData.setLabels(trainData.getLabels().castTo(net.params().dataType()));

        ModelEma ema = new ModelEma(0.999).withWarmup(true);
        net.addListeners(ema);                        // net: a ComputationGraph or MultiLayerNetwork
        net.fit(trainData);
        ComputationGraph averaged = (ComputationGraph) ema.model();   // for output(), evaluate(), ModelSerializer

        assertEquals(net.params(), averaged.params());   // the first step copies the weights
        assertEquals(1, ema.lastStep());
    }

    @Test
    void everyExampleIsCopiedHereVerbatim() throws IOException {
        JavadocExamples.assertCopiedVerbatim("src/main/java/org/regularize4j/ema",
                "src/test/java/org/regularize4j/ema/JavadocExamplesTest.java", 1);
    }
}
