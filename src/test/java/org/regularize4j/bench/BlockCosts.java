package org.regularize4j.bench;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.regularize4j.backend.MemoryTrimListener;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.resnet.ResidualBlockImpl;

import java.util.Arrays;
import java.util.Locale;

/**
 * Where batch-mode stochastic depth's time goes: trains a CIFAR ResNet with {@code DropMode.BATCH} (linear
 * schedule, finalDropProb 0.5; batch 64, 3x32x32 random data), records each step's time and how many blocks
 * of each stage computed their branch, and fits by least squares
 * {@code t = fixed + Σ_stage cost_stage · computed_stage}. {@code fixed} is what a step costs with every
 * branch skipped (stem, classifier, updater, DL4J's bookkeeping, and what a skipped block still does: its
 * ReLU and the shortcut); {@code cost_stage} what one computed branch of that stage adds. From these it
 * predicts the best ratio that skipping can reach under the schedule. The slowest 10% of steps (garbage
 * collections) are left out of the fit.
 *
 * <p>Usage: {@code scripts/block-costs [DEPTH] [STEPS]} (default 110 and 200, after 20 warm-up steps).
 */
public final class BlockCosts {
    private BlockCosts() {
    }

    public static void main(String[] args) {
        int depth = args.length > 0 ? Integer.parseInt(args[0]) : 110;
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        double finalDropProb = 0.5;
        ComputationGraph net = ResNet.cifar(depth).inputShape(3, 32, 32).numClasses(10).seed(1)
                .stochasticDepth(DepthSchedule.linear(finalDropProb), DropMode.BATCH).build();
        net.setListeners(MemoryTrimListener.forTraining());
        DataSet ds = cifarBatch();
        for (int i = 0; i < 20; i++) {
            net.fit(ds);
        }
        double[][] rows = new double[steps][4];
        double[] ms = new double[steps];
        for (int it = 0; it < steps; it++) {
            long t0 = System.nanoTime();
            net.fit(ds);
            ms[it] = (System.nanoTime() - t0) / 1e6;
            rows[it][0] = 1;
            for (Layer l : net.getLayers()) {
                if (l instanceof ResidualBlockImpl && ((ResidualBlockImpl) l).wasBranchComputed()) {
                    rows[it][stageOf(l.conf().getLayer().getLayerName())] += 1;
                }
            }
        }
        double[] b = fit(rows, ms, 0.9);
        int n = (depth - 2) / 6;
        double[] keep = expectedComputed(n, finalDropProb);
        double full = b[0] + n * (b[1] + b[2] + b[3]);
        double expected = b[0] + keep[0] * b[1] + keep[1] * b[2] + keep[2] * b[3];
        double branchFull = n * (b[1] + b[2] + b[3]);
        System.out.printf(Locale.ROOT, "ResNet-%d, %d steps: fixed %.1f ms; one computed branch: stage 1 %.2f ms,"
                + " stage 2 %.2f ms, stage 3 %.2f ms%n", depth, steps, b[0], b[1], b[2], b[3]);
        System.out.printf(Locale.ROOT, "predicted step with every branch: %.1f ms; with linear(%.1f) skipping:"
                        + " %.1f ms = %.3fx; expected share of branches computed %.3f, of branch time %.3f%n",
                full, finalDropProb, expected, expected / full, (keep[0] + keep[1] + keep[2]) / (3.0 * n),
                (expected - b[0]) / branchFull);
    }

    /** The benchmarks' batch: 64 random 3x32x32 images (seed 1), 10 classes in turn. */
    static DataSet cifarBatch() {
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.rand(DataType.FLOAT, 64, 3, 32, 32);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 64, 10);
        for (int i = 0; i < 64; i++) {
            y.putScalar(i, i % 10, 1.0);
        }
        return new DataSet(x, y);
    }

    /** Stage number (1-based) from a block name such as {@code stage2.block5}. */
    static int stageOf(String blockName) {
        if (!blockName.startsWith("stage") || blockName.length() < 6) {
            throw new IllegalArgumentException("not a block name: " + blockName);
        }
        return blockName.charAt(5) - '0';
    }

    /** Expected number of computed branches per stage under linear(finalDropProb), n blocks per stage. */
    static double[] expectedComputed(int n, double finalDropProb) {
        double[] keep = new double[3];
        for (int stage = 0; stage < 3; stage++) {
            for (int k = 1; k <= n; k++) {
                int l = stage * n + k;   // Huang et al.'s l = 1..L
                keep[stage] += 1 - finalDropProb * l / (3.0 * n);
            }
        }
        return keep;
    }

    /** Least squares of t on the columns of rows, over the steps not slower than the given quantile. */
    public static double[] fit(double[][] rows, double[] t, double quantile) {
        double[] sorted = t.clone();
        Arrays.sort(sorted);
        double cut = sorted[Math.min(t.length - 1, (int) (t.length * quantile))];
        int p = rows[0].length;
        double[][] a = new double[p][p];
        double[] rhs = new double[p];
        for (int it = 0; it < t.length; it++) {
            if (t[it] > cut) {
                continue;
            }
            for (int i = 0; i < p; i++) {
                rhs[i] += rows[it][i] * t[it];
                for (int j = 0; j < p; j++) {
                    a[i][j] += rows[it][i] * rows[it][j];
                }
            }
        }
        return solve(a, rhs);
    }

    /** Gaussian elimination with partial pivoting; throws when the system is singular. */
    static double[] solve(double[][] a, double[] b) {
        int n = b.length;
        for (int p = 0; p < n; p++) {
            int max = p;
            for (int i = p + 1; i < n; i++) {
                if (Math.abs(a[i][p]) > Math.abs(a[max][p])) {
                    max = i;
                }
            }
            double[] row = a[p];
            a[p] = a[max];
            a[max] = row;
            double v = b[p];
            b[p] = b[max];
            b[max] = v;
            if (Math.abs(a[p][p]) < 1e-12) {
                throw new IllegalArgumentException("singular system: the steps do not vary the computed blocks"
                        + " of every stage independently (more steps needed)");
            }
            for (int i = p + 1; i < n; i++) {
                double f = a[i][p] / a[p][p];
                b[i] -= f * b[p];
                for (int j = p; j < n; j++) {
                    a[i][j] -= f * a[p][j];
                }
            }
        }
        double[] x = new double[n];
        for (int i = n - 1; i >= 0; i--) {
            double s = b[i];
            for (int j = i + 1; j < n; j++) {
                s -= a[i][j] * x[j];
            }
            x[i] = s / a[i][i];
        }
        return x;
    }
}
