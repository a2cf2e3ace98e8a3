package org.regularize4j.loss;

import org.regularize4j.testutil.JavaSerialization;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

import java.io.File;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * JSON, Java-serialization and ModelSerializer round trips of networks using LossLabelSmoothing (with and without
 * weights, in an OutputLayer and a LossLayer): the configurations are equal afterwards, and so are scores.
 */
class LossSerializationTest {

    private static MultiLayerConfiguration conf(LossLabelSmoothing loss) {
        return new NeuralNetConfiguration.Builder().seed(1).updater(new Sgd(0.1)).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(6).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(loss).nIn(6).nOut(3).activation(Activation.SOFTMAX).build())
                .build();
    }

    @Test
    void roundTrips(@TempDir Path dir) throws Exception {
        INDArray w = Nd4j.createFromArray(new float[] {1f, 2f, 0.5f}).reshape(1, 3);
        for (LossLabelSmoothing loss : new LossLabelSmoothing[] {new LossLabelSmoothing(0.1),
                new LossLabelSmoothing(0.25, w)}) {
            MultiLayerConfiguration conf = conf(loss);
            String json = conf.toJson();
            assertTrue(json.contains("org.regularize4j.loss.LossLabelSmoothing"), json);
            MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(json);
            assertEquals(conf, back);
            assertEquals(loss, ((OutputLayer) back.getConf(1).getLayer()).getLossFn());

            assertEquals(conf, JavaSerialization.roundTrip(conf));

            MultiLayerNetwork net = new MultiLayerNetwork(conf);
            net.init();
            DataSet ds = new DataSet(Nd4j.rand(DataType.FLOAT, 5, 4), Nd4j.eye(3).getRows(0, 1, 2, 0, 1)
                    .castTo(DataType.FLOAT));
            net.fit(ds);
            File f = dir.resolve("net.zip").toFile();
            ModelSerializer.writeModel(net, f, true);
            MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(f, true);
            assertEquals(net.getLayerWiseConfigurations(), restored.getLayerWiseConfigurations());
            assertEquals(net.score(ds), restored.score(ds), 1e-6);
        }
        assertNotEquals(new LossLabelSmoothing(0.1), new LossLabelSmoothing(0.2));
        assertNotEquals(new LossLabelSmoothing(0.1), new LossLabelSmoothing(0.1, w));
    }

    @Test
    void inALossLayerOfAGraph() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().graphBuilder().addInputs("in")
                .addLayer("fc", new DenseLayer.Builder().nIn(4).nOut(3).activation(Activation.IDENTITY).build(), "in")
                .addLayer("loss", new LossLayer.Builder(new LossLabelSmoothing(0.1)).activation(Activation.SOFTMAX)
                        .build(), "fc")
                .setOutputs("loss").build();
        assertEquals(conf, ComputationGraphConfiguration.fromJson(conf.toJson()));
    }
}
