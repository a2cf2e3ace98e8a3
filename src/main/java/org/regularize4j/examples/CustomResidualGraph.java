package org.regularize4j.examples;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.data.FashionMnist;
import org.regularize4j.data.FashionMnistIterator;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.depth.DropPathVertex;
import org.regularize4j.depth.StochasticDepthVertex;
import org.regularize4j.resnet.ConvBnLayer;
import org.regularize4j.util.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * Stochastic depth in a hand-built convolutional graph, for networks the ResNet builder does not make: two
 * residual blocks whose branches are {@link ConvBnLayer}s (convolution + batch norm + ReLU on the fast path),
 * one closed by a {@link StochasticDepthVertex} (which replaces the residual add: {@code shortcut + mask * branch}),
 * the other by a {@link DropPathVertex} in BATCH mode followed by an ordinary add (timm's/torchvision's pattern),
 * with Huang et al.'s linear schedule stamped on both by {@link DepthSchedule#applyTo}. Trained on Fashion-MNIST.
 *
 * <pre>
 * in 1x28x28 → stem (16) ─┬─ block1.conv1 → block1.conv2 ─┐
 *                         └──────────────────────────────── block1.add (StochasticDepthVertex, drop 0.1)
 *                → down (32, stride 2) ─┬─ block2.conv1 → block2.conv2 → block2.drop (DropPathVertex, drop 0.2) ─┐
 *                                       └───────────────────────────────────────────────────── block2.add (Add)
 *                → pool (average) → out (softmax, 10)
 * </pre>
 *
 * <pre>{@code
 * FashionMnist train = FashionMnist.bundled(FashionMnist.Split.TRAIN).firstPerClass(100);
 * FashionMnist test = FashionMnist.bundled(FashionMnist.Split.TEST).firstPerClass(50);
 * CustomResidualGraph.Result r = CustomResidualGraph.run(train, test, 3, 1);
 * List<String> blocks = r.stochasticDepthVertices();   // [block1.add, block2.drop]
 * double accuracy = r.testAccuracy();
 * }</pre>
 */
public final class CustomResidualGraph {
    private static final Logger log = LoggerFactory.getLogger(CustomResidualGraph.class);

    /**
     * The vertices the schedule set (in schedule order) and the test accuracy after training.
     *
     * <pre>{@code
     * CustomResidualGraph.Result r = new CustomResidualGraph.Result(List.of("block1.add"), 0.8);
     * }</pre>
     */
    public record Result(List<String> stochasticDepthVertices, double testAccuracy) {
    }

    private CustomResidualGraph() {
    }

    /** The graph, with the linear schedule to {@code finalDropProb} applied; returns its configuration. */
    public static ComputationGraphConfiguration conf(double finalDropProb, long seed) {
        Checks.probability("finalDropProb", finalDropProb);
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .updater(new Nesterovs(0.05, 0.9))
                .weightInit(WeightInit.RELU)
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(28, 28, 1))
                .addLayer("stem", new ConvBnLayer.Builder().nOut(16).kernelSize(3).build(), "in")
                .addLayer("block1.conv1", new ConvBnLayer.Builder().nOut(16).kernelSize(3).build(), "stem")
                .addLayer("block1.conv2", new ConvBnLayer.Builder().nOut(16).kernelSize(3).build(), "block1.conv1")
                // (branch, shortcut): shortcut + mask * branch
                .addVertex("block1.add", new StochasticDepthVertex(0.0), "block1.conv2", "stem")
                .addLayer("down", new ConvBnLayer.Builder().nOut(32).kernelSize(3).stride(2).build(), "block1.add")
                .addLayer("block2.conv1", new ConvBnLayer.Builder().nOut(32).kernelSize(3).build(), "down")
                .addLayer("block2.conv2", new ConvBnLayer.Builder().nOut(32).kernelSize(3).build(), "block2.conv1")
                .addVertex("block2.drop", new DropPathVertex(0.0, DropMode.BATCH), "block2.conv2")
                .addVertex("block2.add", new ElementWiseVertex(ElementWiseVertex.Op.Add), "block2.drop", "down")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "block2.add")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                        .nOut(FashionMnist.NUM_CLASSES).activation(Activation.SOFTMAX).weightInit(WeightInit.XAVIER)
                        .build(), "pool")
                .setOutputs("out")
                .build();
        DepthSchedule.linear(finalDropProb).applyTo(conf);   // block1.add: finalDropProb / 2, block2.drop: finalDropProb
        return conf;
    }

    /** Trains the graph (final drop probability 0.2) for {@code epochs} epochs, batch 64, and evaluates it. */
    public static Result run(FashionMnist train, FashionMnist test, int epochs, long seed) {
        Checks.notNull("train", train);
        Checks.notNull("test", test);
        Checks.atLeast("epochs", epochs, 1);
        ComputationGraphConfiguration conf = conf(0.2, seed);
        List<String> vertices = DepthSchedule.linear(0.2).applyTo(conf);   // idempotent: reports what it set
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        FashionMnistIterator data = FashionMnistIterator.builder(train).batchSize(64).shuffle(true).seed(seed).build();
        for (int epoch = 0; epoch < epochs; epoch++) {
            data.setEpoch(epoch);
            net.fit(data);
            log.info("epoch {}/{}: training loss {}", epoch + 1, epochs, String.format("%.4f", net.score()));
        }
        double accuracy = net.evaluate(test.iterator(256)).accuracy();
        log.info("stochastic depth on {}; test accuracy {}", vertices, String.format("%.4f", accuracy));
        return new Result(vertices, accuracy);
    }

    /** Five epochs on the bundled subset. */
    public static void main(String[] args) {
        run(FashionMnist.bundled(FashionMnist.Split.TRAIN), FashionMnist.bundled(FashionMnist.Split.TEST), 5, 1);
    }
}
