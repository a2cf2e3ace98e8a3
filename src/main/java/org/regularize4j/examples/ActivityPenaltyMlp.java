package org.regularize4j.examples;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.data.FashionMnist;
import org.regularize4j.data.FashionMnistIterator;
import org.regularize4j.penalty.ActivityRegularization;
import org.regularize4j.util.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Locale;

/**
 * {@link ActivityRegularization} in a {@code MultiLayerNetwork}: a multilayer perceptron on Fashion-MNIST
 * (784 → 256 ReLU → 10) with an L1 activity penalty on its hidden layer, Keras's
 * {@code ActivityRegularization(l1=...)}. The penalty pushes hidden units to stay silent: after training, the
 * hidden layer's mean activation is smaller and more units are exactly zero (sparse codes) than without it, at a
 * small cost in accuracy. The layer has no parameters; it is an identity in the forward pass that adds
 * {@code l1 * sum|a| / batchSize} to the loss and its gradient to the backward pass.
 *
 * <pre>{@code
 * FashionMnist train = FashionMnist.bundled(FashionMnist.Split.TRAIN).firstPerClass(100);
 * FashionMnist test = FashionMnist.bundled(FashionMnist.Split.TEST).firstPerClass(50);
 * ActivityPenaltyMlp.Result plain = ActivityPenaltyMlp.run(0.0, train, test, 3, 1);
 * ActivityPenaltyMlp.Result sparse = ActivityPenaltyMlp.run(1e-3, train, test, 3, 1);
 * // sparse.meanActivation() < plain.meanActivation(); sparse.zeroShare() > plain.zeroShare()
 * }</pre>
 */
public final class ActivityPenaltyMlp {
    private static final Logger log = LoggerFactory.getLogger(ActivityPenaltyMlp.class);
    private static final int HIDDEN = 256;

    /**
     * Mean hidden activation and share of exactly zero hidden activations on the test images, and test accuracy.
     *
     * <pre>{@code
     * ActivityPenaltyMlp.Result r = new ActivityPenaltyMlp.Result(0.4, 0.7, 0.82);
     * }</pre>
     */
    public record Result(double meanActivation, double zeroShare, double testAccuracy) {
    }

    private ActivityPenaltyMlp() {
    }

    /** The network: dense 256 ReLU, ActivityRegularization(l1, 0), softmax output; Adam 1e-3. */
    public static MultiLayerConfiguration conf(double activityL1, long seed) {
        return new NeuralNetConfiguration.Builder()
                .seed(seed)
                .updater(new Adam(1e-3))
                .weightInit(WeightInit.RELU)
                .list()
                .layer(new DenseLayer.Builder().nOut(HIDDEN).activation(Activation.RELU).build())
                .layer(new ActivityRegularization(activityL1, 0.0))
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(FashionMnist.NUM_CLASSES)
                        .activation(Activation.SOFTMAX).weightInit(WeightInit.XAVIER).build())
                .setInputType(InputType.convolutional(28, 28, 1))   // DL4J flattens the images for the dense layer
                .build();
    }

    /**
     * Trains for {@code epochs} epochs (batch 64) and measures the hidden layer on {@code test}.
     *
     * @param activityL1 the L1 activity coefficient, finite and {@code >= 0} (0: no penalty)
     */
    public static Result run(double activityL1, FashionMnist train, FashionMnist test, int epochs, long seed) {
        Checks.nonNegative("activityL1", activityL1);
        Checks.atLeast("epochs", epochs, 1);
        MultiLayerNetwork net = new MultiLayerNetwork(conf(activityL1, seed));
        net.init();
        FashionMnistIterator data = FashionMnistIterator.builder(train).batchSize(64).shuffle(true).seed(seed).build();
        for (int epoch = 0; epoch < epochs; epoch++) {
            data.setEpoch(epoch);
            net.fit(data);
        }
        DataSet all = test.toDataSet();
        List<INDArray> activations = net.feedForward(all.getFeatures(), false);
        INDArray hidden = activations.get(1);   // [0] is the input, [1] the dense layer's output
        double mean = hidden.meanNumber().doubleValue();
        double zeros = hidden.eq(0.0).castTo(hidden.dataType()).meanNumber().doubleValue();
        double accuracy = net.evaluate(test.iterator(256)).accuracy();
        log.info(String.format(Locale.ROOT, "activity L1 %s: mean hidden activation %.4f, %.1f%% of hidden activations"
                + " exactly 0, test accuracy %.4f", activityL1, mean, 100 * zeros, accuracy));
        return new Result(mean, zeros, accuracy);
    }

    /** With and without the activity penalty, 5 epochs on the bundled subset. */
    public static void main(String[] args) {
        FashionMnist train = FashionMnist.bundled(FashionMnist.Split.TRAIN);
        FashionMnist test = FashionMnist.bundled(FashionMnist.Split.TEST);
        run(0.0, train, test, 5, 1);
        run(1e-3, train, test, 5, 1);
    }
}
