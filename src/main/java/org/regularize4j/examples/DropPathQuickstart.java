package org.regularize4j.examples;

import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.StochasticDepthVertex;
import org.regularize4j.util.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The smallest useful stochastic-depth network: a residual MLP with {@code numBlocks} blocks, each ending
 * in a {@link StochasticDepthVertex}, with Huang et al.'s linear schedule stamped on by
 * {@link DepthSchedule#applyTo}, trained on a three-arm spiral (a data set that needs depth). It logs the
 * training loss falling and returns the per-epoch losses and the test accuracy.
 *
 * <pre>{@code
 * DropPathQuickstart.Result r = DropPathQuickstart.run(4, 0.3, 20, 42);
 * // r.epochLosses().get(0) > r.epochLosses().get(19); r.testAccuracy() in [0, 1]
 * }</pre>
 */
public final class DropPathQuickstart {
    private static final Logger log = LoggerFactory.getLogger(DropPathQuickstart.class);
    private static final int WIDTH = 32;
    private static final int CLASSES = 3;

    /**
     * Loss of each epoch (mean over its mini-batches) and accuracy on held-out points.
     *
     * <pre>{@code
     * DropPathQuickstart.Result result = new DropPathQuickstart.Result(List.of(0.7, 0.2), 0.95);
     * }</pre>
     */
    public record Result(List<Double> epochLosses, double testAccuracy) {
    }

    private DropPathQuickstart() {
    }

    /** The graph: stem, {@code numBlocks} residual blocks with stochastic depth, softmax classifier. */
    public static ComputationGraphConfiguration conf(int numBlocks, double finalDropProb, long seed) {
        Checks.atLeast("numBlocks", numBlocks, 1);
        ComputationGraphConfiguration.GraphBuilder b = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .updater(new Adam(5e-3))
                .weightInit(WeightInit.XAVIER)
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.feedForward(2))
                .addLayer("stem", new DenseLayer.Builder().nOut(WIDTH).activation(Activation.TANH).build(), "in");
        String previous = "stem";
        for (int i = 0; i < numBlocks; i++) {
            String block = "block" + i;
            b.addLayer(block + ".fc1", new DenseLayer.Builder().nOut(WIDTH).activation(Activation.TANH).build(),
                            previous)
                    .addLayer(block + ".fc2", new DenseLayer.Builder().nOut(WIDTH).activation(Activation.IDENTITY)
                            .build(), block + ".fc1")
                    // (branch, shortcut); the drop probability is stamped below by the schedule
                    .addVertex(block + ".add", new StochasticDepthVertex(0.0), block + ".fc2", previous);
            previous = block + ".add";
        }
        ComputationGraphConfiguration conf = b
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES)
                        .activation(Activation.SOFTMAX).build(), previous)
                .setOutputs("out")
                .build();
        DepthSchedule.linear(finalDropProb).applyTo(conf);
        return conf;
    }

    /**
     * Trains for {@code epochs} epochs and returns the losses and the test accuracy.
     *
     * @param finalDropProb drop probability of the last block (linear schedule), in [0, 1]
     */
    public static Result run(int numBlocks, double finalDropProb, int epochs, long seed) {
        Checks.atLeast("epochs", epochs, 1);
        ComputationGraph net = new ComputationGraph(conf(numBlocks, finalDropProb, seed));
        net.init();
        DataSet train = spirals(900, seed);
        DataSet test = spirals(300, seed + 1);
        List<Double> losses = new ArrayList<>();
        for (int epoch = 0; epoch < epochs; epoch++) {
            train.shuffle(seed + epoch);
            ListDataSetIterator<DataSet> it = new ListDataSetIterator<>(train.asList(), 50);
            double sum = 0;
            int batches = 0;
            while (it.hasNext()) {
                net.fit(it.next());
                sum += net.score();
                batches++;
            }
            net.incrementEpochCount();
            losses.add(sum / batches);
            if (epoch == 0 || (epoch + 1) % 10 == 0 || epoch == epochs - 1) {
                log.info("epoch {}/{}  training loss {}", epoch + 1, epochs, String.format("%.4f", sum / batches));
            }
        }
        Evaluation eval = net.evaluate(new ListDataSetIterator<>(test.asList(), 100));
        log.info("test accuracy {}", String.format("%.3f", eval.accuracy()));
        return new Result(losses, eval.accuracy());
    }

    /** A three-arm spiral in the plane with Gaussian jitter, {@code n} points, balanced classes. */
    static DataSet spirals(int n, long seed) {
        Random r = new Random(seed);
        INDArray x = Nd4j.create(DataType.FLOAT, n, 2);
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, CLASSES);
        for (int i = 0; i < n; i++) {
            int c = i % CLASSES;
            double t = r.nextDouble();
            double angle = 4.0 * t + 2 * Math.PI * c / CLASSES + r.nextGaussian() * 0.15;
            x.putScalar(i, 0, t * Math.cos(angle) * 2);
            x.putScalar(i, 1, t * Math.sin(angle) * 2);
            y.putScalar(i, c, 1.0);
        }
        return new DataSet(x, y);
    }

    /** Runs the example with its defaults: 4 blocks, linear schedule to 0.3, 60 epochs, seed 42. */
    public static void main(String[] args) {
        run(4, 0.3, 60, 42);
    }
}
