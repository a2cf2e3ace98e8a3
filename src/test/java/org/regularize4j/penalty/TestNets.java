package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Function;

/** Networks and data shared by the penalty tests. */
final class TestNets {
    private TestNets() {
    }

    /**
     * A small ResNet-like graph: stem conv (with bias) + BN + relu, {@code blocks} residual blocks
     * (conv-BN-relu-conv-BN, no conv bias, identity shortcut, ElementWiseVertex add, relu), global average
     * pooling, a dense classifier "fc". Layer names: stem, stembn, stemrelu, b{i}conv1, b{i}bn1, b{i}relu1,
     * b{i}conv2, b{i}bn2, b{i}add (vertex), b{i}out, pool, fc.
     *
     * @param globalConfig  changes to the global builder (e.g. DL4J's own .l2 or .weightDecay)
     * @param batchNorm     makes the BN layers (stock or penalizable)
     */
    static ComputationGraphConfiguration resnetConf(int channels, int size, int width, int blocks, int classes,
                                                    IUpdater updater, DataType dtype,
                                                    Consumer<NeuralNetConfiguration.Builder> globalConfig,
                                                    Function<BatchNormalization, Layer> batchNorm) {
        return resnetConf(channels, size, width, blocks, classes, updater, dtype, globalConfig, batchNorm, null);
    }

    /** As above, with an optional layer "act" between the pooling and the classifier. */
    static ComputationGraphConfiguration resnetConf(int channels, int size, int width, int blocks, int classes,
                                                    IUpdater updater, DataType dtype,
                                                    Consumer<NeuralNetConfiguration.Builder> globalConfig,
                                                    Function<BatchNormalization, Layer> batchNorm,
                                                    Layer beforeClassifier) {
        NeuralNetConfiguration.Builder global = new NeuralNetConfiguration.Builder().seed(42).dataType(dtype)
                .updater(updater).convolutionMode(ConvolutionMode.Same);
        if (globalConfig != null) {
            globalConfig.accept(global);
        }
        ComputationGraphConfiguration.GraphBuilder b = global.graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(size, size, channels))
                .addLayer("stem", new ConvolutionLayer.Builder(3, 3).nOut(width).activation(Activation.IDENTITY)
                        .build(), "in")
                .addLayer("stembn", batchNorm.apply(new BatchNormalization.Builder().build()), "stem")
                .addLayer("stemrelu", new ActivationLayer(Activation.RELU), "stembn");
        String prev = "stemrelu";
        for (int i = 1; i <= blocks; i++) {
            String p = "b" + i;
            b.addLayer(p + "conv1", new ConvolutionLayer.Builder(3, 3).nOut(width).hasBias(false)
                            .activation(Activation.IDENTITY).build(), prev)
                    .addLayer(p + "bn1", batchNorm.apply(new BatchNormalization.Builder().build()), p + "conv1")
                    .addLayer(p + "relu1", new ActivationLayer(Activation.RELU), p + "bn1")
                    .addLayer(p + "conv2", new ConvolutionLayer.Builder(3, 3).nOut(width).hasBias(false)
                            .activation(Activation.IDENTITY).build(), p + "relu1")
                    .addLayer(p + "bn2", batchNorm.apply(new BatchNormalization.Builder().build()), p + "conv2")
                    .addVertex(p + "add", new ElementWiseVertex(ElementWiseVertex.Op.Add), p + "bn2", prev)
                    .addLayer(p + "out", new ActivationLayer(Activation.RELU), p + "add");
            prev = p + "out";
        }
        b.addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), prev);
        String last = "pool";
        if (beforeClassifier != null) {
            b.addLayer("act", beforeClassifier, "pool");
            last = "act";
        }
        return b.addLayer("fc", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(classes)
                        .activation(Activation.SOFTMAX).build(), last)
                .setOutputs("fc").build();
    }

    static ComputationGraph init(ComputationGraphConfiguration conf) {
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return g;
    }

    /** Random features in [-1, 1) and one-hot labels. */
    static DataSet data(long[] featureShape, int classes, long seed, DataType dtype) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(dtype, featureShape).subi(0.5).muli(2);
        INDArray y = Nd4j.zeros(dtype, featureShape[0], classes);
        Random r = new Random(seed);
        for (int i = 0; i < featureShape[0]; i++) {
            y.putScalar(i, r.nextInt(classes), 1.0);
        }
        return new DataSet(x, y);
    }

    /** Moves every parameter at least 0.1 away from zero (for L1 gradient checks), keeping its sign. */
    static void awayFromZero(INDArray params, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray sign = Nd4j.rand(params.dataType(), params.shape()).subi(0.5);
        INDArray s = org.nd4j.linalg.ops.transforms.Transforms.sign(sign);
        INDArray mag = org.nd4j.linalg.ops.transforms.Transforms.abs(params, true).addi(0.1);
        params.assign(mag.muli(s));
    }
}
