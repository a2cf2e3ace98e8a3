package org.regularize4j.loss;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.regularize4j.testutil.DoublePrecision;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DL4J gradient checks (double precision, central differences, max relative error 1e-5) of networks whose output
 * layer uses LossLabelSmoothing: one-hot labels, soft labels (as Mixup makes them), per-example label masks,
 * per-output weights, and a time-series output layer with a mask over time steps.
 */
@ExtendWith(DoublePrecision.class)
class LossGradientCheckTest {
    private static final int MB = 6;

    static MultiLayerNetwork dense(LossLabelSmoothing loss) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.DOUBLE)
                .updater(new NoOp()).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(loss).nIn(5).nOut(3).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    private static INDArray oneHot() {
        INDArray y = Nd4j.zeros(DataType.DOUBLE, MB, 3);
        for (int i = 0; i < MB; i++) {
            y.putScalar(i, i % 3, 1.0);
        }
        return y;
    }

    private static INDArray soft() {
        Nd4j.getRandom().setSeed(4);
        INDArray y = Nd4j.rand(DataType.DOUBLE, MB, 3).addi(0.1);
        return y.diviColumnVector(y.sum(true, 1));
    }

    private static boolean check(MultiLayerNetwork net, INDArray y, INDArray labelMask) {
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.rand(DataType.DOUBLE, MB, 4).subi(0.5).muli(2);
        return GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net).input(x).labels(y)
                .labelMask(labelMask).epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9));
    }

    @Test
    void oneHotLabels() {
        assertTrue(check(dense(new LossLabelSmoothing(0.1)), oneHot(), null));
    }

    @Test
    void softLabels() {
        assertTrue(check(dense(new LossLabelSmoothing(0.2)), soft(), null));
    }

    @Test
    void perExampleMask() {
        INDArray mask = Nd4j.createFromArray(new double[] {1, 0, 1, 1, 0, 1}).reshape(MB, 1);
        assertTrue(check(dense(new LossLabelSmoothing(0.1)), oneHot(), mask));
        assertTrue(check(dense(new LossLabelSmoothing(0.3)), soft(), mask));
    }

    @Test
    void perOutputWeights() {
        INDArray w = Nd4j.createFromArray(new double[] {0.5, 2.0, 1.0}).reshape(1, 3);
        assertTrue(check(dense(new LossLabelSmoothing(0.1, w)), soft(), null));
        INDArray mask = Nd4j.createFromArray(new double[] {1, 1, 0, 1, 0, 1}).reshape(MB, 1);
        assertTrue(check(dense(new LossLabelSmoothing(0.1, w)), oneHot(), mask));
    }

    /** RnnOutputLayer: DL4J reshapes [n, K, T] to [n·T, K] and the [n, T] mask to a per-row mask. */
    @Test
    void timeSeriesWithAMask() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.DOUBLE)
                .updater(new NoOp()).list()
                .layer(new RnnOutputLayer.Builder(new LossLabelSmoothing(0.15)).nIn(4).nOut(3)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(4, 5))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        Nd4j.getRandom().setSeed(6);
        INDArray x = Nd4j.rand(DataType.DOUBLE, 3, 4, 5);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, 3, 3, 5);
        for (int i = 0; i < 3; i++) {
            for (int t = 0; t < 5; t++) {
                y.putScalar(new int[] {i, (i + t) % 3, t}, 1.0);
            }
        }
        INDArray mask = Nd4j.createFromArray(new double[][] {{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}, {1, 0, 0, 0, 0}});
        assertTrue(GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net).input(x).labels(y)
                .inputMask(mask).labelMask(mask).epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9)));
    }
}
