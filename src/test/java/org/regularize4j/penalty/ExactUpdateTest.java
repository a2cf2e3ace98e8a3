package org.regularize4j.penalty;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.schedule.MapSchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.regularize4j.testutil.DoublePrecision;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Exact updates in double precision against hand computation ({@link LinearModel}): DecoupledWeightDecay
 * ({@code w <- w - lr g - lr c w}, lr from the schedule), ProximalL1 (soft-thresholding with exact zeros, last
 * among post-updater penalties whatever the rule order), and the network score = data loss + the sum of the
 * penalties' scores.
 */
@ExtendWith(DoublePrecision.class)
class ExactUpdateTest {

    static MapSchedule lrSchedule() {
        Map<Integer, Double> m = new HashMap<>();
        m.put(0, 0.1);
        m.put(1, 0.05);
        m.put(2, 0.2);
        return new MapSchedule(ScheduleType.ITERATION, m);
    }

    @Test
    void decoupledWeightDecayUsesTheScheduledLearningRate() {
        LinearModel lm = new LinearModel(1);
        MultiLayerNetwork net = lm.network(new Sgd(lrSchedule()));
        double c = 0.3;
        RegularizationPolicy.standard(new DecoupledWeightDecay(c)).applyTo(net);
        double[][] w = LinearModel.weights(net);
        double[] b = LinearModel.bias(net);
        double[] lrs = {0.1, 0.05, 0.2, 0.2};
        for (int step = 0; step < lrs.length; step++) {
            double lr = lrs[step];
            double[][] gw = lm.gradW(w, b);
            double[] gb = lm.gradB(w, b);
            for (int i = 0; i < LinearModel.N_IN; i++) {
                for (int j = 0; j < LinearModel.N_OUT; j++) {
                    w[i][j] = w[i][j] - lr * gw[i][j] - lr * c * w[i][j];
                }
            }
            for (int j = 0; j < LinearModel.N_OUT; j++) {
                b[j] = b[j] - lr * gb[j];   // biases exempt under standard
            }
            net.fit(lm.data);
            LinearModel.assertClose(w, LinearModel.weights(net), 1e-12, "W after step " + step);
            LinearModel.assertClose(b, LinearModel.bias(net), 1e-12, "b after step " + step);
        }
    }

    @Test
    void proximalL1SoftThresholdsToExactZeros() {
        LinearModel lm = new LinearModel(2);
        double lr = 0.1;
        double l1 = 1.5;   // threshold 0.15: some weights land inside it
        MultiLayerNetwork net = lm.network(new Sgd(lr));
        net.getParam("0_W").assign(Nd4j.createFromArray(new double[][] {{0.5, -0.05}, {0.1, -0.9}, {-0.12, 0.3}}));
        RegularizationPolicy.builder().penalize(Selector.kinds(ParamKind.WEIGHT), new ProximalL1(l1)).build()
                .applyTo(net);
        double[][] w = LinearModel.weights(net);
        double[] b = LinearModel.bias(net);
        int zeros = 0;
        for (int step = 0; step < 3; step++) {
            double[][] gw = lm.gradW(w, b);
            double[] gb = lm.gradB(w, b);
            for (int i = 0; i < LinearModel.N_IN; i++) {
                for (int j = 0; j < LinearModel.N_OUT; j++) {
                    w[i][j] = softThreshold(w[i][j] - lr * gw[i][j], lr * l1);
                }
            }
            for (int j = 0; j < LinearModel.N_OUT; j++) {
                b[j] -= lr * gb[j];
            }
            net.fit(lm.data);
            double[][] actual = LinearModel.weights(net);
            LinearModel.assertClose(w, actual, 1e-12, "W after step " + step);
            LinearModel.assertClose(b, LinearModel.bias(net), 1e-12, "b after step " + step);
            zeros = 0;
            for (int i = 0; i < LinearModel.N_IN; i++) {
                for (int j = 0; j < LinearModel.N_OUT; j++) {
                    if (w[i][j] == 0.0) {
                        zeros++;
                        assertEquals(0.0, actual[i][j], 0.0, "exact zero expected at W[" + i + "][" + j + "]");
                    }
                }
            }
        }
        assertTrue(zeros >= 2, "the test must produce exact zeros, got " + zeros);
    }

    @Test
    void proximalL1IsAppliedAfterDecoupledDecayWhateverTheRuleOrder() {
        LinearModel lm = new LinearModel(3);
        double lr = 0.1;
        double l1 = 1.0;
        double c = 0.5;
        MultiLayerNetwork net = lm.network(new Sgd(lr));
        RegularizationPolicy policy = RegularizationPolicy.builder()
                .penalize(Selector.kinds(ParamKind.WEIGHT), new ProximalL1(l1), new DecoupledWeightDecay(c)).build();
        policy.applyTo(net);
        assertEquals(java.util.List.of(new DecoupledWeightDecay(c), new ProximalL1(l1)),
                net.getLayer(0).conf().getLayer().getRegularizationByParam("W"));
        double[][] w = LinearModel.weights(net);
        double[] b = LinearModel.bias(net);
        double[][] gw = lm.gradW(w, b);
        for (int i = 0; i < LinearModel.N_IN; i++) {
            for (int j = 0; j < LinearModel.N_OUT; j++) {
                w[i][j] = softThreshold(w[i][j] - lr * gw[i][j] - lr * c * w[i][j], lr * l1);
            }
        }
        net.fit(lm.data);
        LinearModel.assertClose(w, LinearModel.weights(net), 1e-12, "W");
    }

    /** score = data loss + sum of penalty scores (DecoupledWeightDecay reports 0, ProximalL1 l1 sum|w|). */
    @Test
    void scoreIsDataLossPlusPenaltyScores() {
        LinearModel lm = new LinearModel(4);
        MultiLayerNetwork net = lm.network(new Sgd(0.1));
        RegularizationPolicy.builder()
                .penalize(Selector.kinds(ParamKind.WEIGHT), new L2Penalty(0.7), new ProximalL1(0.2))
                .penalize(Selector.kinds(ParamKind.BIAS), new L1Penalty(0.3), new DecoupledWeightDecay(0.9))
                .build().applyTo(net);
        net.getParam("0_b").assign(Nd4j.createFromArray(0.25, -0.5).reshape(net.getParam("0_b").shape()));
        double[][] w = LinearModel.weights(net);
        double[] b = LinearModel.bias(net);
        double sq = 0;
        double abs = 0;
        for (double[] row : w) {
            for (double v : row) {
                sq += v * v;
                abs += Math.abs(v);
            }
        }
        double bAbs = Math.abs(b[0]) + Math.abs(b[1]);
        double expected = lm.dataLoss(w, b) + 0.5 * 0.7 * sq + 0.2 * abs + 0.3 * bAbs + 0.0;
        LinearModel.assertClose(expected, net.score(lm.data), 1e-12, "score(DataSet)");
        net.setInput(lm.data.getFeatures());
        net.setLabels(lm.data.getLabels());
        net.computeGradientAndScore();
        LinearModel.assertClose(expected, net.score(), 1e-12, "score after computeGradientAndScore");
        PenaltyTable table = PenaltyTable.of(net);
        LinearModel.assertClose(expected - lm.dataLoss(w, b), table.total(), 1e-12, "PenaltyTable total");
        LinearModel.assertClose(0.5 * 0.7 * sq, table.breakdown().get("L2Penalty(l2=0.7)"), 1e-12, "L2 share");
        assertEquals(0.0, table.breakdown().get("DecoupledWeightDecay(coeff=0.9)"), 0.0);
    }

    static double softThreshold(double z, double t) {
        return Math.signum(z) * Math.max(Math.abs(z) - t, 0.0);
    }
}
