package org.regularize4j.cli;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.regularize4j.optim.TorchSgd;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CosineScheduleTest {

    @Test
    void valuesFollowPyTorchsCosineAnnealing() {
        CosineSchedule s = new CosineSchedule(ScheduleType.ITERATION, 0.1, 0.001, 100);
        for (int t = 0; t <= 100; t += 7) {
            // torch.optim.lr_scheduler.CosineAnnealingLR closed form
            double expected = 0.001 + (0.1 - 0.001) * (1 + Math.cos(Math.PI * t / 100)) / 2;
            assertEquals(expected, s.valueAt(t, 3), 1e-15);
        }
        assertEquals(0.001, s.valueAt(100, 0), 1e-15);
        assertEquals(0.001, s.valueAt(500, 0), 0.0);
        CosineSchedule perEpoch = new CosineSchedule(ScheduleType.EPOCH, 1.0, 0.0, 4);
        assertEquals(0.5, perEpoch.valueAt(999, 2), 1e-15);
    }

    @Test
    void roundTripsInANetworkConfiguration() throws IOException, ClassNotFoundException {
        ISchedule s = new CosineSchedule(ScheduleType.ITERATION, 0.1, 0.0, 1185);
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().updater(new TorchSgd(s, 0.9, true))
                .graphBuilder().addInputs("in")
                .addLayer("out", new OutputLayer.Builder().nIn(4).nOut(3).activation(Activation.SOFTMAX).build(), "in")
                .setOutputs("out").build();
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
        assertEquals(conf, back);
        TorchSgd u = (TorchSgd) ((BaseLayer) ((LayerVertex) back.getVertices().get("out")).getLayerConf().getLayer())
                .getIUpdater();
        assertEquals(s, u.getLearningRateSchedule());

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(s);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals(s, in.readObject());
        }
        assertEquals(s, s.clone());
    }

    @Test
    void badArgumentsAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new CosineSchedule(ScheduleType.ITERATION, 0.1, 0.0, 0));
        assertEquals("totalSteps must be >= 1, got 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new CosineSchedule(ScheduleType.ITERATION, Double.NaN, 0.0, 10));
        assertEquals("initialValue and finalValue must be finite, got NaN and 0.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new CosineSchedule(null, 0.1, 0.0, 10));
        assertEquals("scheduleType must not be null", e.getMessage());
    }
}
