package org.regularize4j;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.augment.RandomErasing;
import org.regularize4j.data.FashionMnist;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropPath;
import org.regularize4j.dropout.DropBlock;
import org.regularize4j.loss.LossLabelSmoothing;
import org.regularize4j.mix.Mixup;
import org.regularize4j.penalty.L2Penalty;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.resnet.ResidualBlock;
import org.regularize4j.testutil.JavadocExamples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The examples of docs/regularizers.md, copied verbatim, compiled and run, with assertions on what they claim. */
class RegularizersDocExamplesTest {

    @Test
    void stochasticDepth() {
        ComputationGraph net = ResNet.cifar(20).inputShape(1, 28, 28).numClasses(10)
                .stochasticDepth(DepthSchedule.linspace(0.1))   // timm: drop_path_rate=0.1
                .seed(1).build();
        DataSet batch = FashionMnist.bundled(FashionMnist.Split.TRAIN).firstPerClass(2).iterator(20).next();
        net.fit(batch);
        INDArray x = Nd4j.ones(DataType.FLOAT, 4, 8);
        INDArray y = DropPath.apply(x, 0.5, true);              // each row all 0 or all 2
        assertEquals(1, net.getConfiguration().getIterationCount());
        for (int i = 0; i < 4; i++) {
            double s = y.getRow(i).sumNumber().doubleValue();
            assertTrue(s == 0 || s == 16, "row sum " + s);
        }
        assertEquals(0.1, ((ResidualBlock) layer(net.getConfiguration(), "stage3.block3")).getDropProb(), 1e-12);
    }

    @Test
    void weightPenalties() {
        ComputationGraph resnet = ResNet.cifar(20).inputShape(1, 28, 28)
                .regularization(RegularizationPolicy.standard(5e-4))   // timm: weight_decay=5e-4, biases and norms exempt
                .build();
        MultiLayerConfiguration mlp = new NeuralNetConfiguration.Builder().list()
                .layer(new DenseLayer.Builder().nIn(64).nOut(32).activation(Activation.RELU)
                        .regularization(List.of(new L2Penalty(2e-4))).build())   // Keras: kernel_regularizer=L2(1e-4)
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(32).nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .build();
        assertTrue(resnet.calcRegularizationScore(true) > 0);
        assertEquals(List.of(new L2Penalty(2e-4)),
                ((DenseLayer) mlp.getConf(0).getLayer()).getRegularization());
        MultiLayerNetwork net = new MultiLayerNetwork(mlp);
        net.init();
        net.fit(new DataSet(Nd4j.rand(DataType.FLOAT, 4, 64), Nd4j.eye(10).getRows(0, 1, 2, 3)));
        double w2 = net.getLayer(0).getParam("W").norm2Number().doubleValue();
        assertEquals(0.5 * 2e-4 * w2 * w2, net.calcRegularizationScore(true), 1e-6);
    }

    @Test
    void dropBlock() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).graphBuilder()
                .addInputs("in").setInputTypes(InputType.convolutional(14, 14, 8))
                .addLayer("conv", new ConvolutionLayer.Builder(3, 3).nOut(8).convolutionMode(ConvolutionMode.Same).build(), "in")
                .addLayer("drop", new DropoutLayer.Builder(new DropBlock(0.1, 5).withGammaScale(0.25)).build(), "conv")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "drop")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10)
                        .activation(Activation.SOFTMAX).build(), "pool")
                .setOutputs("out").build();
        DropBlock.seedPerLayer(conf);                                        // each DropBlock its own mask stream
        ComputationGraph resnet = ResNet.cifar(20).inputShape(1, 28, 28).dropBlock(0.1).build();   // timm: drop_block_rate=0.1
        DropBlock stamped = (DropBlock) layer(conf, "drop").getIDropout();
        assertEquals(new DropBlock(0.1, 5).withGammaScale(0.25).withSeed(1).withStreamIndex(1), stamped);
        assertEquals(new DropBlock(0.1, 3).withFast(true),
                ((ResidualBlock) layer(resnet.getConfiguration(), "stage3.block1")).getDropBlock());
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        net.fit(new DataSet(Nd4j.rand(DataType.FLOAT, 4, 8, 14, 14), Nd4j.eye(10).getRows(0, 1, 2, 3)));
        assertEquals(1, net.getConfiguration().getIterationCount());
    }

    @Test
    void labelSmoothing() {
        MultiLayerConfiguration mlp = new NeuralNetConfiguration.Builder().seed(1).updater(new Adam(1e-3)).list()
                .layer(new DenseLayer.Builder().nIn(784).nOut(64).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(new LossLabelSmoothing(0.1))   // timm: LabelSmoothingCrossEntropy(0.1)
                        .nIn(64).nOut(10).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(mlp);
        net.init();
        ComputationGraph resnet = ResNet.cifar(20).inputShape(1, 28, 28).loss(new LossLabelSmoothing(0.1)).build();
        assertEquals(new LossLabelSmoothing(0.1), ((OutputLayer) layer(resnet.getConfiguration(), "fc")).getLossFn());
        DataSet batch = FashionMnist.bundled(FashionMnist.Split.TRAIN).firstPerClass(2).iterator(20).next();
        batch.setFeatures(batch.getFeatures().reshape(20, 784));
        net.fit(batch);
        // with ε = 0.1 and 10 classes the loss is at least the entropy of the smoothed target (0.5 nats)
        assertTrue(net.score() > 0.5, "score " + net.score());
    }

    @Test
    void mixupAndCutMix() {
        Mixup mixup = Mixup.builder()   // timm: Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=10)
                .mixupAlpha(0.8).cutmixAlpha(1.0).labelSmoothing(0.1).numClasses(10).seed(1).build();
        DataSetIterator train = FashionMnist.bundled(FashionMnist.Split.TRAIN).firstPerClass(4).iterator(20);
        train.setPreProcessor(mixup);
        ComputationGraph resnet = ResNet.cifar(8).inputShape(1, 28, 28).build();
        resnet.fit(train);              // each batch mixed; labels soft (rows sum to 1)
        assertEquals(2, mixup.calls());
        assertEquals(2, resnet.getConfiguration().getIterationCount());
        train.reset();
        DataSet b = train.next();
        assertEquals(1.0, b.getLabels().getRow(0).sumNumber().doubleValue(), 1e-5);
        assertTrue(b.getLabels().getRow(0).maxNumber().doubleValue() <= 0.91 + 1e-6, "smoothed and mixed");
    }

    @Test
    void randomErasing() {
        RandomErasing erasing = RandomErasing.builder()   // timm: RandomErasing(0.25, mode='pixel')
                .probability(0.25).mode(RandomErasing.Mode.PIXEL).seed(1).build();
        DataSet images = FashionMnist.bundled(FashionMnist.Split.TRAIN).firstPerClass(4).iterator(40).next();
        erasing.preProcess(images);                       // about 10 of the 40 images get a rectangle of noise
        List<RandomErasing.Box> boxes = erasing.plan(40, 28, 28, 0);   // the rectangles of that call
        assertTrue(boxes.size() > 0 && boxes.size() < 25, boxes.size() + " boxes");
        RandomErasing.Box b = boxes.get(0);
        INDArray original = FashionMnist.bundled(FashionMnist.Split.TRAIN).firstPerClass(4).iterator(40).next()
                .getFeatures();
        assertTrue(!original.slice(b.example()).equals(images.getFeatures().slice(b.example())));
    }

    private static org.deeplearning4j.nn.conf.layers.Layer layer(ComputationGraphConfiguration conf, String name) {
        return ((LayerVertex) conf.getVertices().get(name)).getLayerConf().getLayer();
    }

    @Test
    void everyDocsExampleIsCopiedHereVerbatim() throws IOException {
        String doc = Files.readString(Paths.get("docs/regularizers.md"));
        String self = JavadocExamples.normalize(Files.readString(
                Paths.get("src/test/java/org/regularize4j/RegularizersDocExamplesTest.java")));
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(doc);
        List<String> blocks = new ArrayList<>();
        while (m.find()) {
            blocks.add(m.group(1));
        }
        assertEquals(6, blocks.size(), "java blocks in docs/regularizers.md");
        for (String b : blocks) {
            assertTrue(self.contains(JavadocExamples.normalize(b)), "docs example not copied verbatim:\n" + b);
        }
    }
}
