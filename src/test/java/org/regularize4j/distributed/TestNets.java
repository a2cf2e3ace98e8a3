package org.regularize4j.distributed;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.penalty.ActivityRegularization;
import org.regularize4j.penalty.RegularizationPolicy;
import org.regularize4j.resnet.ResNet;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The network every distributed test trains: a tiny ResNet from our builder (ResNet-8, widths 4/8/16, 1x8x8
 * input, 3 classes) with stochastic depth, the standard weight-decay policy, and an {@link ActivityRegularization}
 * layer inserted between the global pooling and the classifier. And a small, learnable data set.
 */
final class TestNets {
    static final int CLASSES = 3;
    static final int SIDE = 8;

    private TestNets() {
    }

    static ResNet resnet(DropMode mode, long seed) {
        return ResNet.cifar(8)
                .widthMultiplier(0.25)
                .inputShape(1, SIDE, SIDE)
                .numClasses(CLASSES)
                .stochasticDepth(DepthSchedule.linear(0.5), mode)
                .regularization(RegularizationPolicy.standard(5e-4))
                .updater(new Nesterovs(0.05, 0.9))
                .seed(seed);
    }

    /** {@link #resnet} with an activity penalty on the pooled features ("pool" -> "activity" -> "fc"). */
    static ComputationGraphConfiguration conf(DropMode mode, long seed) {
        ComputationGraphConfiguration base = resnet(mode, seed).conf();
        Layer fc = ((LayerVertex) base.getVertices().get("fc")).getLayerConf().getLayer().clone();
        ComputationGraphConfiguration conf = new ComputationGraphConfiguration.GraphBuilder(base,
                new NeuralNetConfiguration.Builder(base.getDefaultConfiguration().clone()).dataType(DataType.FLOAT))
                .removeVertex("fc")
                .addLayer("activity", new ActivityRegularization(1e-3, 1e-3), "pool")
                .addLayer("fc", fc, "activity")
                .setOutputs("fc")
                .setInputTypes(InputType.convolutional(SIDE, SIDE, 1))
                .build();
        return RegularizationPolicy.standard(5e-4).applyTo(conf);
    }

    static ComputationGraph net(DropMode mode, long seed) {
        ComputationGraph net = new ComputationGraph(conf(mode, seed));
        net.init();
        return net;
    }

    /**
     * {@code n} examples of 1x8x8 images: class k has a bright 3x3 patch in one of three places plus uniform
     * noise, so a small network separates them within a few epochs.
     */
    static DataSet data(int n, long seed) {
        Random r = new Random(seed);
        INDArray x = Nd4j.create(DataType.FLOAT, n, 1, SIDE, SIDE);
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, CLASSES);
        int[][] corners = {{0, 0}, {0, 5}, {5, 2}};
        for (int i = 0; i < n; i++) {
            int k = r.nextInt(CLASSES);
            y.putScalar(i, k, 1.0);
            for (int h = 0; h < SIDE; h++) {
                for (int w = 0; w < SIDE; w++) {
                    boolean patch = h >= corners[k][0] && h < corners[k][0] + 3 && w >= corners[k][1]
                            && w < corners[k][1] + 3;
                    x.putScalar(new long[] {i, 0, h, w}, (patch ? 1.0 : 0.0) + 0.5 * r.nextDouble());
                }
            }
        }
        return new DataSet(x, y);
    }

    /** {@code data} cut into mini-batches of {@code batch} examples. */
    static List<DataSet> batches(DataSet data, int batch) {
        List<DataSet> out = new ArrayList<>();
        for (DataSet d : data.batchBy(batch)) {
            out.add(d);
        }
        return out;
    }
}
