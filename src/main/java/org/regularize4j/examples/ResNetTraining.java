package org.regularize4j.examples;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.schedule.PolySchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.regularize4j.data.Augmentation;
import org.regularize4j.data.FashionMnist;
import org.regularize4j.data.FashionMnistIterator;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.optim.TorchOptimizer;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.util.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * A full ResNet training on Fashion-MNIST in a few lines of library code, the programmatic counterpart of
 * {@code regularize4j train}: a CIFAR-style ResNet for 1x28x28 input with stochastic depth (Huang et al.'s
 * linear schedule, per-example masks) and the {@code standard} weight decay (PyTorch's coupled
 * {@code weight_decay} on weights, none on biases and batch-norm parameters), SGD with Nesterov momentum under a
 * linearly falling learning rate, shuffled and augmented batches, evaluation on the test split.
 *
 * <pre>{@code
 * FashionMnist train = FashionMnist.bundled(FashionMnist.Split.TRAIN).firstPerClass(100);
 * FashionMnist test = FashionMnist.bundled(FashionMnist.Split.TEST).firstPerClass(50);
 * ResNetTraining.Result r = ResNetTraining.run(8, train, test, 5, 1);   // ResNet-8, 5 epochs, seed 1
 * double accuracy = r.testAccuracy();
 * }</pre>
 */
public final class ResNetTraining {
    private static final Logger log = LoggerFactory.getLogger(ResNetTraining.class);

    /**
     * Mean training loss of each epoch (including the weight penalties, as DL4J's score) and the final test
     * accuracy.
     *
     * <pre>{@code
     * ResNetTraining.Result r = new ResNetTraining.Result(List.of(1.2, 0.8), 0.81);
     * }</pre>
     */
    public record Result(List<Double> epochLosses, double testAccuracy) {
    }

    private ResNetTraining() {
    }

    /** The network: ResNet-{@code depth} with stochastic depth 0.5 (linear) and weight decay 5e-4. */
    public static ComputationGraph network(int depth, int epochs, int stepsPerEpoch, long seed) {
        // learning rate 0.1 falling linearly to 0 over the run
        TorchOptimizer sgd = TorchOptimizer.sgd(new PolySchedule(ScheduleType.ITERATION, 0.1, 1.0,
                epochs * stepsPerEpoch), 0.9, true, 5e-4);
        return ResNet.cifar(depth)
                .inputShape(1, 28, 28)
                .numClasses(FashionMnist.NUM_CLASSES)
                .stochasticDepth(DepthSchedule.linear(0.5), DropMode.ROW)
                .updater(sgd.updater())
                .regularization(sgd.standardPolicy())
                .seed(seed)
                .build();
    }

    /**
     * Trains ResNet-{@code depth} for {@code epochs} epochs (batch 64) and evaluates it on {@code test}.
     *
     * @param depth 6n+2: 8, 14, 20, ...
     */
    public static Result run(int depth, FashionMnist train, FashionMnist test, int epochs, long seed) {
        Checks.notNull("train", train);
        Checks.notNull("test", test);
        Checks.atLeast("epochs", epochs, 1);
        FashionMnistIterator trainData = FashionMnistIterator.builder(train).batchSize(64).shuffle(true).seed(seed)
                .augmentation(Augmentation.cropAndFlip(2)).build();
        ComputationGraph net = network(depth, epochs, trainData.batchesPerEpoch(), seed);
        List<Double> losses = new ArrayList<>();
        for (int epoch = 0; epoch < epochs; epoch++) {
            trainData.setEpoch(epoch);
            double sum = 0;
            int batches = 0;
            while (trainData.hasNext()) {
                net.fit(trainData.next());
                sum += net.score();
                batches++;
            }
            net.incrementEpochCount();
            losses.add(sum / batches);
            log.info("epoch {}/{}: training loss {}", epoch + 1, epochs, String.format("%.4f", sum / batches));
        }
        Evaluation eval = net.evaluate(FashionMnistIterator.builder(test).batchSize(256).build());
        log.info("test accuracy {}", String.format("%.4f", eval.accuracy()));
        return new Result(losses, eval.accuracy());
    }

    /** ResNet-20, 10 epochs on the bundled subset (about 4 minutes on two cores). */
    public static void main(String[] args) {
        run(20, FashionMnist.bundled(FashionMnist.Split.TRAIN), FashionMnist.bundled(FashionMnist.Split.TEST), 10, 1);
    }
}
