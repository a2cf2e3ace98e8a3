package org.regularize4j.depth;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.distribution.NormalDistribution;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Convolution3D;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Small graphs for the vertex tests: in -> a -> b, then either StochasticDepthVertex(b, a) or
 * DropPathVertex(b) + Add(a), then an output layer. Trainable layers sit upstream of both the branch and
 * the shortcut, and all activations are smooth (tanh), as gradient checks need.
 */
final class TestGraphs {
    /** Input layouts covered by the tests. */
    enum Kind {
        DENSE(2), RNN(3), CNN_NCHW(4), CNN_NHWC(4), CNN3D(5);
        final int rank;

        Kind(int rank) {
            this.rank = rank;
        }
    }

    static final int CLASSES = 3;
    static final int T = 4;

    private TestGraphs() {
    }

    static ComputationGraphConfiguration conf(Kind kind, BaseDropPathVertex vertex, long seed, WorkspaceMode ws,
                                              DataType dtype, boolean gradientCheck) {
        ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(dtype)
                .updater(gradientCheck ? new NoOp() : new Sgd(0.05))
                .weightInit(new NormalDistribution(0, 0.5))
                .activation(Activation.TANH)
                .trainingWorkspaceMode(ws).inferenceWorkspaceMode(ws)
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(inputType(kind))
                .addLayer("a", hidden(kind), "in")
                .addLayer("b", hidden(kind), "a");
        if (vertex instanceof StochasticDepthVertex) {
            b.addVertex("res", vertex, "b", "a");
        } else {
            b.addVertex("drop", vertex, "b");
            b.addVertex("res", new ElementWiseVertex(ElementWiseVertex.Op.Add), "drop", "a");
        }
        return b.addLayer("out", output(kind), "res").setOutputs("out").build();
    }

    static ComputationGraph graph(Kind kind, BaseDropPathVertex vertex, long seed, WorkspaceMode ws, DataType dtype,
                                  boolean gradientCheck) {
        ComputationGraph g = new ComputationGraph(conf(kind, vertex, seed, ws, dtype, gradientCheck));
        g.init();
        return g;
    }

    static InputType inputType(Kind kind) {
        switch (kind) {
            case DENSE:
                return InputType.feedForward(4);
            case RNN:
                return InputType.recurrent(3, T);
            case CNN_NCHW:
                return InputType.convolutional(4, 4, 2, CNN2DFormat.NCHW);
            case CNN_NHWC:
                return InputType.convolutional(4, 4, 2, CNN2DFormat.NHWC);
            default:
                return InputType.convolutional3D(Convolution3D.DataFormat.NCDHW, 3, 3, 3, 2);
        }
    }

    static long[] inputShape(Kind kind, int mb) {
        switch (kind) {
            case DENSE:
                return new long[] {mb, 4};
            case RNN:
                return new long[] {mb, 3, T};
            case CNN_NCHW:
                return new long[] {mb, 2, 4, 4};
            case CNN_NHWC:
                return new long[] {mb, 4, 4, 2};
            default:
                return new long[] {mb, 2, 3, 3, 3};
        }
    }

    private static Layer hidden(Kind kind) {
        switch (kind) {
            case DENSE:
                return new DenseLayer.Builder().nOut(5).build();
            case RNN:
                return new SimpleRnn.Builder().nOut(4).build();
            case CNN_NCHW:
            case CNN_NHWC:
                return new ConvolutionLayer.Builder(3, 3).nOut(3).convolutionMode(ConvolutionMode.Same)
                        .dataFormat(kind == Kind.CNN_NHWC ? CNN2DFormat.NHWC : CNN2DFormat.NCHW).build();
            default:
                return new Convolution3D.Builder().kernelSize(2, 2, 2).nOut(2)
                        .convolutionMode(ConvolutionMode.Same).build();
        }
    }

    private static Layer output(Kind kind) {
        if (kind == Kind.RNN) {
            return new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES)
                    .activation(Activation.SOFTMAX).build();
        }
        return new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES)
                .activation(Activation.SOFTMAX).build();
    }

    static INDArray features(Kind kind, int mb, long seed, DataType dtype) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(dtype, inputShape(kind, mb)).subi(0.5).muli(2);
    }

    static INDArray labels(Kind kind, int mb, long seed, DataType dtype) {
        java.util.Random r = new java.util.Random(seed);
        INDArray y = kind == Kind.RNN ? Nd4j.zeros(dtype, mb, CLASSES, T) : Nd4j.zeros(dtype, mb, CLASSES);
        for (int i = 0; i < mb; i++) {
            if (kind == Kind.RNN) {
                for (int t = 0; t < T; t++) {
                    y.putScalar(new long[] {i, r.nextInt(CLASSES), t}, 1.0);
                }
            } else {
                y.putScalar(new long[] {i, r.nextInt(CLASSES)}, 1.0);
            }
        }
        return y;
    }

    /** A [mb, T] mask where example i has T - (i % T) valid steps (so some are padded). */
    static INDArray rnnMask(int mb, DataType dtype) {
        INDArray m = Nd4j.zeros(dtype, mb, T);
        for (int i = 0; i < mb; i++) {
            for (int t = 0; t < T - (i % T); t++) {
                m.putScalar(i, t, 1.0);
            }
        }
        return m;
    }
}
