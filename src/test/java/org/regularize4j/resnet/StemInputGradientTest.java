package org.regularize4j.resnet;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.backend.KernelPath;
import org.regularize4j.backend.KernelPaths;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ConvBnLayer.Builder#inputGradient(false)}: a stem fed by the network input does not compute the gradient of
 * the data, and training is bitwise the same as with it (on every kernel path that runs here: the channels-last path
 * skips the convolution's input-gradient pass, the others compute it into working memory and drop it). The ResNet
 * builder sets it for its stem; the setting survives the JSON round trip.
 */
class StemInputGradientTest {

    @Test
    void trainingIsTheSameWithoutTheDataGradient() {
        for (KernelPath path : KernelPath.values()) {
            if (path == KernelPath.CHANNELS_LAST && !KernelPaths.channelsLastAvailable()) {
                continue;
            }
            INDArray[] params = new INDArray[2];
            for (int run = 0; run < 2; run++) {
                boolean inputGradient = run == 0;
                ComputationGraph net = build(inputGradient, path);
                for (int step = 0; step < 3; step++) {
                    net.fit(BatchModeSkipTest.data(6, 3, 9, 40 + step));
                }
                params[run] = net.params().dup();
                DataSet ds = BatchModeSkipTest.data(6, 3, 9, 50);
                net.feedForward(new INDArray[] {ds.getFeatures()}, true, false);   // inputs kept
                INDArray eps = net.getLayer("stem").backpropGradient(
                        org.nd4j.linalg.factory.Nd4j.rand(DataType.FLOAT, 6, 4, 9, 9), LayerWorkspaceMgr.noWorkspaces()).getSecond();
                if (inputGradient) {
                    assertNotNull(eps, path + ": the input gradient when asked for");
                } else {
                    assertNull(eps, path + ": no input gradient");
                }
            }
            assertEquals(params[0], params[1], path + ": same parameters after three steps");
        }
    }

    @Test
    void theResNetStemSkipsItAndTheSettingSerializes() {
        ComputationGraph net = ResNet.cifar(8).inputShape(3, 8, 8).numClasses(3).seed(1).build();
        ConvBnLayer stem = (ConvBnLayer) ((org.deeplearning4j.nn.conf.graph.LayerVertex) net.getConfiguration()
                .getVertices().get("stem")).getLayerConf().getLayer();
        assertFalse(stem.isInputGradient());
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(net.getConfiguration().toJson());
        assertEquals(net.getConfiguration(), back);
        assertTrue(new ConvBnLayer.Builder().nOut(4).build().isInputGradient(), "the default computes it");
    }

    private static ComputationGraph build(boolean inputGradient, KernelPath path) {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.FLOAT)
                .updater(new Sgd(0.1)).graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(9, 9, 3))
                .addLayer("stem", new ConvBnLayer.Builder().nOut(4).kernelSize(3).inputGradient(inputGradient)
                        .build(), "in")
                .addLayer("block", new ResidualBlock.Builder().nOut(4).build(), "stem")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "block")
                .addLayer("fc", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("fc").build();
        KernelPaths.setOverride(path);
        try {
            ComputationGraph net = new ComputationGraph(conf);
            net.init();
            return net;
        } finally {
            KernelPaths.setOverride(null);
        }
    }
}
