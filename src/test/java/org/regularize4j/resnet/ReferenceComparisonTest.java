package org.regularize4j.resnet;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.testutil.DoublePrecision;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused {@link ResidualBlock} against the same block assembled from stock DL4J layers
 * (ConvolutionLayer, BatchNormalization, ElementWiseVertex, ReLU) with the same parameters, in double
 * precision: outputs (training and inference mode) agree to 1e-10 and every trainable parameter's gradient
 * to 1e-6 relative (libnd4j's batchnorm_bp and DL4J's BatchNormalization evaluate the same gradient with
 * differently ordered sums: about 1e-8 apart; a wrong gradient is off by order 1).
 */
@ExtendWith(DoublePrecision.class)
class ReferenceComparisonTest {

    @ParameterizedTest(name = "nIn {0}, nOut {1}, stride {2}")
    @CsvSource({"4, 4, 1", "4, 6, 2", "3, 5, 1"})
    void fusedBlockEqualsStockLayers(int nIn, int nOut, int stride) {
        int h = 7;
        ComputationGraph fused = fused(nIn, nOut, stride, h);
        ComputationGraph stock = stock(nIn, nOut, stride, h);
        boolean projection = stride != 1 || nIn != nOut;
        Map<String, INDArray> p = fused.paramTable();
        copy(p, "block_conv1W", stock, "c1_W");
        copy(p, "block_conv2W", stock, "c2_W");
        for (String[] bn : new String[][] {{"bn1", "b1"}, {"bn2", "b2"}, {"scBn", "scb"}}) {
            if (!projection && bn[0].equals("scBn")) {
                continue;
            }
            copy(p, "block_" + bn[0] + "Gamma", stock, bn[1] + "_gamma");
            copy(p, "block_" + bn[0] + "Beta", stock, bn[1] + "_beta");
            copy(p, "block_" + bn[0] + "Mean", stock, bn[1] + "_mean");
            copy(p, "block_" + bn[0] + "Var", stock, bn[1] + "_var");
        }
        if (projection) {
            copy(p, "block_scConvW", stock, "sc_W");
        }
        copy(p, "fc_W", stock, "fc_W");
        copy(p, "fc_b", stock, "fc_b");
        // non-trivial running statistics, so that inference mode is checked too
        Nd4j.getRandom().setSeed(3);
        for (String k : p.keySet()) {
            if (k.endsWith("Mean")) {
                p.get(k).assign(Nd4j.rand(DataType.DOUBLE, p.get(k).shape()).subi(0.5));
            } else if (k.endsWith("Var")) {
                p.get(k).assign(Nd4j.rand(DataType.DOUBLE, p.get(k).shape()).addi(0.5));
            }
        }
        String[][] stats = {{"bn1", "b1"}, {"bn2", "b2"}, {"scBn", "scb"}};
        for (String[] bn : stats) {
            if (projection || !bn[0].equals("scBn")) {
                copy(p, "block_" + bn[0] + "Mean", stock, bn[1] + "_mean");
                copy(p, "block_" + bn[0] + "Var", stock, bn[1] + "_var");
            }
        }

        INDArray x = Nd4j.rand(DataType.DOUBLE, 5, nIn, h, h).subi(0.5);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, 5, 3);
        for (int i = 0; i < 5; i++) {
            y.putScalar(i, i % 3, 1.0);
        }
        for (boolean train : new boolean[] {true, false}) {
            INDArray a = fused.outputSingle(train, x);
            INDArray b = stock.outputSingle(train, x);
            assertTrue(a.equalsWithEps(b, 1e-10), "outputs (train=" + train + ")\n" + a + "\n" + b);
        }
        fused.setInputs(x);
        fused.setLabels(y);
        fused.computeGradientAndScore();
        stock.setInputs(x);
        stock.setLabels(y);
        stock.computeGradientAndScore();
        Map<String, INDArray> gf = fused.gradient().gradientForVariable();
        Map<String, INDArray> gs = stock.gradient().gradientForVariable();
        compare(gf, "block_conv1W", gs, "c1_W");
        compare(gf, "block_conv2W", gs, "c2_W");
        compare(gf, "block_bn1Gamma", gs, "b1_gamma");
        compare(gf, "block_bn2Beta", gs, "b2_beta");
        compare(gf, "block_bn1Mean", gs, "b1_mean");   // running-mean update, same rule as DL4J
        compare(gf, "fc_W", gs, "fc_W");
        if (projection) {
            compare(gf, "block_scConvW", gs, "sc_W");
            compare(gf, "block_scBnGamma", gs, "scb_gamma");
        }
    }

    private static void copy(Map<String, INDArray> from, String key, ComputationGraph to, String toKey) {
        to.getParam(toKey).assign(from.get(key).reshape(to.getParam(toKey).shape()));
    }

    private static void compare(Map<String, INDArray> a, String ka, Map<String, INDArray> b, String kb) {
        INDArray x = a.get(ka);
        INDArray y = b.get(kb).reshape(x.shape());
        double scale = Math.max(1e-12, y.norm2Number().doubleValue());
        double err = x.sub(y).norm2Number().doubleValue() / scale;
        assertTrue(err < 1e-6, ka + " vs " + kb + ": relative error " + err);
    }

    private static NeuralNetConfiguration.Builder base() {
        return new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.DOUBLE).updater(new NoOp());
    }

    private static ComputationGraph fused(int nIn, int nOut, int stride, int h) {
        ComputationGraphConfiguration conf = base().graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(h, h, nIn))
                .addLayer("block", new ResidualBlock.Builder().nOut(nOut).stride(stride)
                        .shortcut(ShortcutType.PROJECTION).build(), "in")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "block")
                .addLayer("fc", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("fc").build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return g;
    }

    private static ComputationGraph stock(int nIn, int nOut, int stride, int h) {
        ComputationGraphConfiguration.GraphBuilder b = base().graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(h, h, nIn))
                .addLayer("c1", conv(3, stride, 1, nOut), "in")
                .addLayer("b1", bn(), "c1")
                .addLayer("r1", new ActivationLayer(Activation.RELU), "b1")
                .addLayer("c2", conv(3, 1, 1, nOut), "r1")
                .addLayer("b2", bn(), "c2");
        String shortcut = "in";
        if (stride != 1 || nIn != nOut) {
            b.addLayer("sc", conv(1, stride, 0, nOut), "in").addLayer("scb", bn(), "sc");
            shortcut = "scb";
        }
        ComputationGraphConfiguration conf = b
                .addVertex("add", new ElementWiseVertex(ElementWiseVertex.Op.Add), "b2", shortcut)
                .addLayer("relu", new ActivationLayer(Activation.RELU), "add")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "relu")
                .addLayer("fc", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("fc").build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return g;
    }

    private static ConvolutionLayer conv(int k, int stride, int pad, int nOut) {
        return new ConvolutionLayer.Builder(k, k).stride(stride, stride).padding(pad, pad)
                .convolutionMode(ConvolutionMode.Truncate).hasBias(false).nOut(nOut)
                .activation(Activation.IDENTITY).build();
    }

    private static BatchNormalization bn() {
        return new BatchNormalization.Builder().useLogStd(false).decay(0.9).eps(1e-5).build();
    }
}
