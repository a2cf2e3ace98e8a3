package org.regularize4j.penalty;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.schedule.MapSchedule;
import org.nd4j.linalg.schedule.ScheduleType;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Each penalty's apply step, apply and score on a small vector, against hand-computed values. */
class PenaltyMathTest {
    private static final double[] W = {0.5, -2.0, 0.0, 0.25};
    private static final double[] G = {0.1, 0.1, -0.2, 0.0};

    static INDArray w() {
        return Nd4j.createFromArray(W);
    }

    static double[] apply(Regularization r, double lr, int iteration) {
        INDArray g = Nd4j.createFromArray(G);
        r.apply(w(), g, lr, iteration, 0);
        return g.toDoubleVector();
    }

    @Test
    void l1() {
        L1Penalty p = new L1Penalty(0.3);
        assertEquals(Regularization.ApplyStep.BEFORE_UPDATER, p.applyStep());
        assertArrayEquals(new double[] {0.1 + 0.3, 0.1 - 0.3, -0.2, 0.0 + 0.3}, apply(p, 1, 0), 1e-15,
                "subgradient 0 at w = 0");
        assertEquals(0.3 * 2.75, p.score(w(), 0, 0), 1e-15);
    }

    @Test
    void l2() {
        L2Penalty p = new L2Penalty(0.3);
        assertEquals(Regularization.ApplyStep.BEFORE_UPDATER, p.applyStep());
        assertArrayEquals(new double[] {0.1 + 0.15, 0.1 - 0.6, -0.2, 0.075}, apply(p, 1, 0), 1e-15);
        assertEquals(0.5 * 0.3 * (0.25 + 4 + 0.0625), p.score(w(), 0, 0), 1e-15);
    }

    @Test
    void elasticNet() {
        ElasticNet p = new ElasticNet(0.3, 0.2);
        assertArrayEquals(new double[] {0.1 + 0.3 + 0.1, 0.1 - 0.3 - 0.4, -0.2, 0.3 + 0.05}, apply(p, 1, 0), 1e-15);
        assertEquals(0.3 * 2.75 + 0.5 * 0.2 * 4.3125, p.score(w(), 0, 0), 1e-15);
    }

    @Test
    void decoupledWeightDecay() {
        DecoupledWeightDecay p = new DecoupledWeightDecay(0.3);
        assertEquals(Regularization.ApplyStep.POST_UPDATER, p.applyStep());
        assertArrayEquals(new double[] {0.1 + 0.05 * 0.3 * 0.5, 0.1 - 0.05 * 0.3 * 2, -0.2, 0.05 * 0.3 * 0.25},
                apply(p, 0.05, 0), 1e-15, "update += lr * coeff * w");
        assertEquals(0.0, p.score(w(), 0, 0), 0.0);
    }

    @Test
    void proximalL1() {
        ProximalL1 p = new ProximalL1(2.0);
        assertEquals(Regularization.ApplyStep.POST_UPDATER, p.applyStep());
        double lr = 0.1;   // threshold 0.2; w - u = {0.4, -2.1, 0.2, 0.25}
        double[] u = apply(p, lr, 0);
        double[] wNew = new double[W.length];
        for (int i = 0; i < W.length; i++) {
            wNew[i] = W[i] - u[i];
        }
        assertArrayEquals(new double[] {0.2, -1.9, 0.0, 0.05}, wNew, 1e-15);
        assertEquals(0.0, wNew[2], 0.0, "exactly zero");
        assertEquals(2.0 * 2.75, p.score(w(), 0, 0), 1e-15);
    }

    @Test
    void l2sp() {
        INDArray ref = Nd4j.createFromArray(1.0, -1.0, 0.5, 0.25);
        L2SP p = new L2SP(0.3, ref);
        assertArrayEquals(new double[] {0.1 - 0.15, 0.1 - 0.3, -0.2 - 0.15, 0.0}, apply(p, 1, 0), 1e-15);
        assertEquals(0.5 * 0.3 * (0.25 + 1 + 0.25), p.score(w(), 0, 0), 1e-15);
        ref.assign(0);   // the reference was copied
        assertEquals(0.5 * 0.3 * (0.25 + 1 + 0.25), p.score(w(), 0, 0), 1e-15);
    }

    /** A 'f'-ordered 2-D parameter and its flat updater view: both pair elements with the right reference. */
    @Test
    void l2spOnShapedAndFlatViews() {
        INDArray param = Nd4j.createFromArray(new double[][] {{1, 2, 3}, {4, 5, 6}}).dup('f');
        INDArray ref = Nd4j.createFromArray(new double[][] {{0, 1, 0}, {1, 0, 1}}).dup('f');
        L2SP p = new L2SP(1.0, ref);
        INDArray flatParam = param.reshape('f', new long[] {6});   // (reshape('f', 6) would be reshape(long...))
        INDArray flatGrad = Nd4j.zeros(DataType.DOUBLE, 6);
        p.apply(flatParam, flatGrad, 1, 0, 0);
        INDArray expected = param.sub(ref);
        assertEquals(expected, flatGrad.reshape('f', new long[] {2, 3}));
        assertEquals(0.5 * expected.mul(expected).sumNumber().doubleValue(), p.score(param, 0, 0), 1e-15);
    }

    @Test
    void scheduledCoefficientsFollowTheSchedule() {
        MapSchedule s = new MapSchedule(ScheduleType.ITERATION, Map.of(0, 0.1, 3, 0.4));
        assertEquals(0.1 * 2.75, new L1Penalty(s).score(w(), 2, 0), 1e-15);
        assertEquals(0.4 * 2.75, new L1Penalty(s).score(w(), 3, 0), 1e-15);
        assertArrayEquals(new double[] {0.1 + 0.4 * 0.5, 0.1 - 0.8, -0.2, 0.1}, apply(new L2Penalty(s), 1, 5), 1e-15);
    }
}
