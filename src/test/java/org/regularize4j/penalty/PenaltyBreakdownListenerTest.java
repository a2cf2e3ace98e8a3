package org.regularize4j.penalty;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The listener's per-penalty breakdown adds up to the network's score, activity penalty included. */
class PenaltyBreakdownListenerTest {

    static MultiLayerConfiguration conf(double activity) {
        return new NeuralNetConfiguration.Builder().seed(2).dataType(DataType.DOUBLE).updater(new Sgd(0.1)).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(6).activation(Activation.TANH).build())
                .layer(new ActivityRegularization(activity, activity))
                .layer(new OutputLayer.Builder().nIn(6).nOut(3).activation(Activation.SOFTMAX).build())
                .build();
    }

    @Test
    void breakdownAddsUpToTheScore() {
        MultiLayerConfiguration conf = conf(1e-2);
        RegularizationPolicy.standard(1e-2).toBuilder()
                .alsoPenalize(Selector.layers("layer2").withKinds(ParamKind.WEIGHT), new L1Penalty(1e-3)).build()
                .applyTo(conf);
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        PenaltyBreakdownListener listener = new PenaltyBreakdownListener(2);
        net.setListeners(listener);
        DataSet ds = TestNets.data(new long[] {5, 4}, 3, 1, DataType.DOUBLE);
        MultiLayerNetwork before = net.clone();
        net.fit(ds);   // iteration 0: recorded, at the parameters before the update
        assertEquals(0, listener.getLastIteration());
        Map<String, Double> b = listener.getLastBreakdown();
        assertEquals(3, b.size(), b.toString());
        assertTrue(b.containsKey("L2Penalty(l2=0.01)") && b.containsKey("L1Penalty(l1=0.001)"), b.toString());
        assertTrue(b.keySet().stream().anyMatch(k -> k.startsWith("activity 'layer1'")), b.toString());
        double sum = b.values().stream().mapToDouble(Double::doubleValue).sum();
        assertEquals(listener.getLastScore(), listener.getLastDataLoss() + sum, 1e-12);
        assertEquals(net.score(), listener.getLastScore(), 0.0);

        // The data-loss part equals the score of the same parameters without any penalty.
        MultiLayerNetwork plain = new MultiLayerNetwork(RegularizationPolicy.none().applyTo(conf(0)));
        plain.init();
        plain.setParams(before.params());
        assertEquals(plain.score(ds, true), listener.getLastDataLoss(), 1e-12);

        net.fit(ds);   // iteration 1: not recorded
        assertEquals(0, listener.getLastIteration());
        net.fit(ds);   // iteration 2: recorded
        assertEquals(2, listener.getLastIteration());
    }
}
