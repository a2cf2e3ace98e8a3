package org.regularize4j.penalty;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.MapSchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.regularize4j.optim.TorchAdam;
import org.regularize4j.optim.TorchOptimizer;
import org.regularize4j.optim.TorchSgd;
import org.regularize4j.testutil.DoublePrecision;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PyTorch optimizers reproduced step by step: a DL4J network trained with {@link TorchOptimizer} under a
 * learning-rate schedule follows a hand-written double-precision transcription of PyTorch's update rules
 * (torch/optim/adamw.py, sgd.py: single-tensor path) to 1e-10 relative, for 6 steps.
 */
@ExtendWith(DoublePrecision.class)
class TorchOptimizerTest {
    private static final double TOL = 1e-10;
    private static final double[] LRS = {0.01, 0.02, 0.005, 0.03, 0.01, 0.015};

    static ISchedule schedule() {
        Map<Integer, Double> m = new HashMap<>();
        for (int i = 0; i < LRS.length; i++) {
            m.put(i, LRS[i]);
        }
        return new MapSchedule(ScheduleType.ITERATION, m);
    }

    /** PyTorch state of one parameter tensor, flattened. */
    static final class TorchParam {
        final double[] p;
        final double[] m;
        final double[] v;
        final boolean decayed;

        TorchParam(double[] p, boolean decayed) {
            this.p = p.clone();
            this.m = new double[p.length];
            this.v = new double[p.length];
            this.decayed = decayed;
        }

        /** torch.optim.AdamW, single-tensor, amsgrad=False, maximize=False. */
        void adamW(double[] g, int step, double lr, double beta1, double beta2, double eps, double wd) {
            if (decayed) {
                for (int i = 0; i < p.length; i++) {
                    p[i] *= 1 - lr * wd;                                  // param.mul_(1 - lr * weight_decay)
                }
            }
            double bc1 = 1 - Math.pow(beta1, step);
            double bc2 = 1 - Math.pow(beta2, step);
            double stepSize = lr / bc1;
            double bc2Sqrt = Math.sqrt(bc2);
            for (int i = 0; i < p.length; i++) {
                m[i] += (g[i] - m[i]) * (1 - beta1);                      // exp_avg.lerp_(grad, 1 - beta1)
                v[i] = v[i] * beta2 + (1 - beta2) * g[i] * g[i];          // exp_avg_sq.mul_(b2).addcmul_(g, g, 1 - b2)
                double denom = Math.sqrt(v[i]) / bc2Sqrt + eps;          // (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
                p[i] -= stepSize * m[i] / denom;                         // param.addcdiv_(exp_avg, denom, -step_size)
            }
        }

        /** torch.optim.SGD (dampening 0), coupled weight_decay; or SGDW when decoupled. */
        void sgd(double[] g, int step, double lr, double momentum, boolean nesterov, double wd, boolean decoupled) {
            double[] d = g.clone();
            if (decayed && decoupled) {
                for (int i = 0; i < p.length; i++) {
                    p[i] *= 1 - lr * wd;
                }
            } else if (decayed) {
                for (int i = 0; i < p.length; i++) {
                    d[i] += wd * p[i];                                    // d_p = d_p.add(param, alpha=wd)
                }
            }
            if (momentum != 0) {
                for (int i = 0; i < p.length; i++) {
                    m[i] = step == 1 ? d[i] : momentum * m[i] + d[i];     // buf = clone(d_p) / buf.mul_(mu).add_(d_p)
                    d[i] = nesterov ? d[i] + momentum * m[i] : m[i];
                }
            }
            for (int i = 0; i < p.length; i++) {
                p[i] -= lr * d[i];
            }
        }
    }

    interface Step {
        void apply(TorchParam w, TorchParam b, double[] gw, double[] gb, int step, double lr);
    }

    static double[] flat(double[][] a) {
        double[] f = new double[a.length * a[0].length];
        for (int i = 0; i < a.length; i++) {
            System.arraycopy(a[i], 0, f, i * a[0].length, a[0].length);
        }
        return f;
    }

    static double[][] unflat(double[] f) {
        double[][] a = new double[LinearModel.N_IN][LinearModel.N_OUT];
        for (int i = 0; i < LinearModel.N_IN; i++) {
            System.arraycopy(f, i * LinearModel.N_OUT, a[i], 0, LinearModel.N_OUT);
        }
        return a;
    }

    /** Trains the DL4J network and the PyTorch transcription side by side and compares after each step. */
    static void followsPyTorch(TorchOptimizer opt, RegularizationPolicy policy, boolean biasDecayed, Step torchStep) {
        LinearModel lm = new LinearModel(21);
        MultiLayerNetwork net = lm.network(opt.updater());
        policy.applyTo(net);
        TorchParam w = new TorchParam(flat(LinearModel.weights(net)), true);
        TorchParam b = new TorchParam(LinearModel.bias(net), biasDecayed);
        b.p[0] = 0.3;   // non-zero biases, so that decaying them or not makes a difference
        b.p[1] = -0.2;
        net.getParam("0_b").assign(Nd4j.createFromArray(b.p).reshape(net.getParam("0_b").shape()));
        for (int step = 1; step <= LRS.length; step++) {
            double[][] wNow = unflat(w.p);
            double[] gw = flat(lm.gradW(wNow, b.p));
            double[] gb = lm.gradB(wNow, b.p);
            torchStep.apply(w, b, gw, gb, step, LRS[step - 1]);
            net.fit(lm.data);
            LinearModel.assertClose(unflat(w.p), LinearModel.weights(net), TOL, "W after step " + step);
            LinearModel.assertClose(b.p, LinearModel.bias(net), TOL, "b after step " + step);
        }
    }

    @Test
    void adamWWithStandardPolicy() {
        double wd = 0.1;
        TorchOptimizer opt = TorchOptimizer.adamW(schedule(), 0.9, 0.999, 1e-8, wd);
        followsPyTorch(opt, opt.standardPolicy(), false, (w, b, gw, gb, step, lr) -> {
            w.adamW(gw, step, lr, 0.9, 0.999, 1e-8, wd);
            b.adamW(gb, step, lr, 0.9, 0.999, 1e-8, wd);
        });
    }

    @Test
    void adamWDecayingEveryParameterLikePyTorchsDefault() {
        double wd = 0.2;
        TorchOptimizer opt = TorchOptimizer.adamW(schedule(), 0.8, 0.99, 1e-6, wd);
        followsPyTorch(opt, opt.everyParameterPolicy(), true, (w, b, gw, gb, step, lr) -> {
            w.adamW(gw, step, lr, 0.8, 0.99, 1e-6, wd);
            b.adamW(gb, step, lr, 0.8, 0.99, 1e-6, wd);
        });
    }

    @ParameterizedTest(name = "nesterov={0}")
    @ValueSource(booleans = {false, true})
    void sgdWDecoupled(boolean nesterov) {
        double wd = 0.3;
        TorchOptimizer opt = TorchOptimizer.sgdW(schedule(), 0.9, nesterov, wd);
        followsPyTorch(opt, opt.standardPolicy(), false, (w, b, gw, gb, step, lr) -> {
            w.sgd(gw, step, lr, 0.9, nesterov, wd, true);
            b.sgd(gb, step, lr, 0.9, nesterov, wd, true);
        });
    }

    @ParameterizedTest(name = "nesterov={0}")
    @ValueSource(booleans = {false, true})
    void sgdWithCoupledWeightDecayLikeTorchOptimSgd(boolean nesterov) {
        double wd = 0.3;
        TorchOptimizer opt = TorchOptimizer.sgd(schedule(), 0.9, nesterov, wd);
        followsPyTorch(opt, opt.standardPolicy(), false, (w, b, gw, gb, step, lr) -> {
            w.sgd(gw, step, lr, 0.9, nesterov, wd, false);
            b.sgd(gb, step, lr, 0.9, nesterov, wd, false);
        });
    }

    @Test
    void adamWithCoupledWeightDecayLikeTorchOptimAdam() {
        double wd = 0.1;
        TorchOptimizer opt = TorchOptimizer.adam(schedule(), wd);
        followsPyTorch(opt, opt.everyParameterPolicy(), true, (w, b, gw, gb, step, lr) -> {
            for (int i = 0; i < gw.length; i++) {
                gw[i] += wd * w.p[i];
            }
            for (int i = 0; i < gb.length; i++) {
                gb[i] += wd * b.p[i];
            }
            w.adamW(gw, step, lr, 0.9, 0.999, 1e-8, 0);
            b.adamW(gb, step, lr, 0.9, 0.999, 1e-8, 0);
        });
    }

    /** Why TorchAdam exists: DL4J's Adam puts eps on the uncorrected sqrt(v), ~3e-4 relative off at step 1. */
    @Test
    void dl4jAdamDiffersFromPyTorchAtStepOne() {
        double g = 1e-3;
        INDArray state = Nd4j.zeros(DataType.DOUBLE, 1, 2);
        GradientUpdater<?> dl4j = new Adam(1e-3).instantiate(state, true);
        INDArray u1 = Nd4j.createFromArray(g);
        dl4j.applyUpdater(u1, 0, 0);
        GradientUpdater<?> torch = new TorchAdam(1e-3).instantiate(Nd4j.zeros(DataType.DOUBLE, 1, 2), true);
        INDArray u2 = Nd4j.createFromArray(g);
        torch.applyUpdater(u2, 0, 0);
        double pyTorch = 1e-3 * g / (Math.abs(g) + 1e-8);   // step 1: m_hat = g, v_hat = g^2
        assertEquals(pyTorch, u2.getDouble(0), 1e-15 * pyTorch);
        double rel = Math.abs(u1.getDouble(0) - pyTorch) / pyTorch;
        assertTrue(rel > 2e-4 && rel < 4e-4, "DL4J Adam relative difference at step 1: " + rel);
    }

    @Test
    void badArguments() {
        assertEquals("beta1 must be in [0, 1), got 1.0",
                assertThrows(IllegalArgumentException.class, () -> new TorchAdam(0.1, 1.0, 0.9, 1e-8)).getMessage());
        assertEquals("learningRate must be finite and >= 0, got -0.1",
                assertThrows(IllegalArgumentException.class, () -> new TorchAdam(-0.1)).getMessage());
        assertEquals("nesterov requires momentum > 0, got momentum 0.0",
                assertThrows(IllegalArgumentException.class, () -> new TorchSgd(0.1, 0.0, true)).getMessage());
        assertEquals("momentum must be finite and >= 0, got NaN",
                assertThrows(IllegalArgumentException.class, () -> new TorchSgd(0.1, Double.NaN, false)).getMessage());
        assertEquals("weightDecay must be finite and >= 0, got -1.0",
                assertThrows(IllegalArgumentException.class, () -> TorchOptimizer.adamW(0.1, -1)).getMessage());
    }

    @Test
    void zeroWeightDecayHasNoPenalty() {
        TorchOptimizer opt = TorchOptimizer.sgd(0.1, 0.9, true, 0.0);
        assertEquals(null, opt.weightPenalty());
        assertEquals(new TorchSgd(0.1, 0.9, true), opt.updater());
    }
}
