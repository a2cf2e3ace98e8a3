package org.regularize4j.dropout;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Small convolutional graphs with DropBlock: conv → DropoutLayer(DropBlock) → conv (with DropBlock as its dropOut,
 * applied to its input) → global average pooling → softmax, in NCHW or NHWC.
 */
final class DropBlockNets {
    static final int C = 2;
    static final int H = 6;
    static final int W = 7;
    /** Channels after the first convolution: with a 3x3 map, conv2's NHWC input is a cube (h = w = c). */
    static final int HIDDEN = 3;

    private DropBlockNets() {
    }

    static ComputationGraphConfiguration conf(DropBlock dropBlock, CNN2DFormat format, long seed, DataType dataType) {
        return conf(dropBlock, format, seed, dataType, H, W);
    }

    static ComputationGraphConfiguration conf(DropBlock dropBlock, CNN2DFormat format, long seed, DataType dataType,
                                              int h, int w) {
        DropBlock db = dropBlock.withDataFormat(format);
        return new NeuralNetConfiguration.Builder().seed(seed).dataType(dataType).updater(new NoOp())
                .convolutionMode(ConvolutionMode.Same).graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(h, w, C, format))
                .addLayer("conv1", new ConvolutionLayer.Builder(3, 3).nOut(HIDDEN).dataFormat(format)
                        .activation(Activation.TANH).build(), "in")
                .addLayer("drop", new DropoutLayer.Builder(db).build(), "conv1")
                .addLayer("conv2", new ConvolutionLayer.Builder(3, 3).nOut(3).dataFormat(format)
                        .activation(Activation.TANH).dropOut(db.clone()).build(), "drop")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "conv2")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("out").build();
    }

    static ComputationGraph net(DropBlock dropBlock, CNN2DFormat format, long seed, DataType dataType) {
        return net(dropBlock, format, seed, dataType, H, W);
    }

    static ComputationGraph net(DropBlock dropBlock, CNN2DFormat format, long seed, DataType dataType, int h, int w) {
        ComputationGraphConfiguration conf = conf(dropBlock, format, seed, dataType, h, w);
        DropBlock.seedPerLayer(conf);
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        return net;
    }

    static INDArray features(int mb, CNN2DFormat format, long seed, DataType dataType) {
        return features(mb, format, seed, dataType, H, W);
    }

    static INDArray features(int mb, CNN2DFormat format, long seed, DataType dataType, int h, int w) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(dataType, mb, C, h, w).subi(0.5).muli(2);
        return format == CNN2DFormat.NHWC ? x.permute(0, 2, 3, 1).dup('c') : x;
    }

    static INDArray labels(int mb, DataType dataType) {
        INDArray y = Nd4j.zeros(dataType, mb, 3);
        for (int i = 0; i < mb; i++) {
            y.putScalar(i, i % 3, 1.0);
        }
        return y;
    }

    /** The DropBlock instance of a layer of the running network (the one holding its last mask). */
    static DropBlock of(ComputationGraph net, String layer) {
        return (DropBlock) net.getLayer(layer).conf().getLayer().getIDropout();
    }
}
