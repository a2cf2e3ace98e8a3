package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.learning.regularization.L2Regularization;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.regularize4j.testutil.DoublePrecision;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * DL4J M2.1's global/layer merge, reproduced, and the policy free of it.
 * <ul>
 * <li>{@code NeuralNetConfiguration.copyConfigToLayer} copies the global list into a layer with an empty list, then
 * {@code LayerValidation.configureBaseLayer} appends every global entry that is not L1/L2Regularization again: a
 * global {@code .weightDecay(x)} (or a custom penalty list) ends up twice on every layer and decays twice.</li>
 * <li>A layer's {@code .l2(0)} only removes the layer's own L2, leaving an empty list that the global L2 fills: it
 * cannot opt a layer out.</li>
 * </ul>
 */
@ExtendWith(DoublePrecision.class)
class Dl4jMergeBugTest {

    static NeuralNetConfiguration.ListBuilder list(NeuralNetConfiguration.Builder global, DenseLayer hidden) {
        return global.seed(1).dataType(DataType.DOUBLE).list()
                .layer(hidden)
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(3).nOut(2)
                        .activation(Activation.IDENTITY).build());
    }

    static List<Regularization> weights(MultiLayerConfiguration conf, int layer) {
        return conf.getConf(layer).getLayer().getRegularizationByParam("W");
    }

    @Test
    void globalWeightDecayIsAppliedTwice() {
        double c = 0.1;
        MultiLayerConfiguration conf = list(new NeuralNetConfiguration.Builder().updater(new Sgd(0.5)).weightDecay(c),
                new DenseLayer.Builder().nIn(2).nOut(3).build()).build();
        WeightDecay wd = new WeightDecay(c, true);
        assertEquals(List.of(wd, wd), weights(conf, 0));
        assertEquals(List.of(wd, wd), weights(conf, 1));

        // Same in a graph (merged at addLayer).
        ComputationGraphConfiguration graph = new NeuralNetConfiguration.Builder().weightDecay(c).graphBuilder()
                .addInputs("in").addLayer("h", new DenseLayer.Builder().nIn(2).nOut(3).build(), "in")
                .addLayer("out", new OutputLayer.Builder().nIn(3).nOut(2).build(), "h").setOutputs("out").build();
        ComputationGraph g = TestNets.init(graph);
        assertEquals(List.of(wd, wd), g.getLayer("h").conf().getLayer().getRegularizationByParam("W"));

        // Custom penalties double too.
        MultiLayerConfiguration custom = list(new NeuralNetConfiguration.Builder()
                        .regularization(new java.util.ArrayList<>(List.of(new L2Penalty(1e-3)))),
                new DenseLayer.Builder().nIn(2).nOut(3).build()).build();
        assertEquals(List.of(new L2Penalty(1e-3), new L2Penalty(1e-3)), weights(custom, 0));

        // Effect: with a zero data gradient (labels = outputs) one SGD step shrinks W by 2 * lr * c, not lr * c.
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        INDArray w0 = net.getParam("1_W").dup();
        INDArray x = Nd4j.rand(DataType.DOUBLE, 4, 2);
        net.fit(x, net.output(x));
        INDArray w1 = net.getParam("1_W");
        assertEquals(w0.mul(1 - 2 * 0.5 * c).sub(w1).amaxNumber().doubleValue(), 0.0, 1e-12,
                "decayed twice: w1 = (1 - 2 lr c) w0");

        // The policy: one decay, and exactly the one it names.
        RegularizationPolicy.standard(new DecoupledWeightDecay(c)).applyTo(net);
        assertEquals(List.of(new DecoupledWeightDecay(c)), net.getLayer(1).conf().getLayer()
                .getRegularizationByParam("W"));
        INDArray x2 = Nd4j.rand(DataType.DOUBLE, 4, 2);
        INDArray w2 = net.getParam("1_W").dup();
        net.fit(x2, net.output(x2));
        assertEquals(w2.mul(1 - 0.5 * c).sub(net.getParam("1_W")).amaxNumber().doubleValue(), 0.0, 1e-12,
                "decayed once: w = (1 - lr c) w");
    }

    @Test
    void layerL2ZeroStillInheritsTheGlobalL2() {
        MultiLayerConfiguration conf = list(new NeuralNetConfiguration.Builder().updater(new Sgd(0.1)).l2(1e-3),
                new DenseLayer.Builder().nIn(2).nOut(3).l2(0.0).build()).build();
        assertEquals(List.of(new L2Regularization(1e-3)), weights(conf, 0), "the .l2(0) opt-out is lost");

        RegularizationPolicy.standard(1e-3).toBuilder().exempt(Selector.layers("layer0")).build().applyTo(conf);
        assertEquals(List.of(), weights(conf, 0));
        assertEquals(List.of(new L2Penalty(1e-3)), weights(conf, 1));
    }
}
