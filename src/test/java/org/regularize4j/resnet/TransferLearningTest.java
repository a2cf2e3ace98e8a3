package org.regularize4j.resnet;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.testutil.SingleThreadedNd4j;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * DL4J's TransferLearning copies the layers it keeps through {@code Layer.setParams(flat)}: the builder's layers
 * read their 'c'-ordered kernels back unpermuted (DL4J's BaseLayer would read them in 'f' order).
 */
@ExtendWith(SingleThreadedNd4j.class)
class TransferLearningTest {

    @Test
    void keptLayersKeepEveryParameterAndANewHeadIsAdded() {
        ComputationGraph pretrained = ResNet.cifar(8).widthMultiplier(0.25).inputShape(1, 8, 8).numClasses(8).seed(3)
                .shortcut(ShortcutType.PROJECTION).build();
        ComputationGraph transferred = new TransferLearning.GraphBuilder(pretrained)
                .removeVertexAndConnections("fc")
                .addLayer("fc", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(16).nOut(10)
                        .activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("fc").build();
        int checked = 0;
        for (Layer l : pretrained.getLayers()) {
            String name = l.conf().getLayer().getLayerName();
            if (name.equals("fc")) {
                continue;
            }
            for (Map.Entry<String, INDArray> p : l.paramTable().entrySet()) {
                assertEquals(p.getValue(), transferred.getLayer(name).getParam(p.getKey()), name + " " + p.getKey());
                checked++;
            }
        }
        assertEquals(10, transferred.getLayer("fc").getParam("W").size(1));
        assertEquals(5 + 3 * 10 + 2 * 5, checked);   // stem; 3 blocks of 2 units; 2 projection shortcuts
    }
}
