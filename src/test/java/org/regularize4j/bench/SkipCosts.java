package org.regularize4j.bench;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;
import org.regularize4j.backend.MemoryTrimListener;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.resnet.ResNet;
import org.regularize4j.resnet.ResidualBlockImpl;
import org.regularize4j.resnet.ShortcutType;

import java.util.Arrays;
import java.util.Locale;

/**
 * What batch-mode stochastic depth saves, measured in one process so that the machine's slow spells hit every
 * variant alike: six copies of a CIFAR ResNet (batch 64, 3x32x32 random data, projection shortcuts as in
 * {@code bench}) train in turn, one step each per round: without stochastic depth; with the linear schedule
 * (finalDropProb 0.5, BATCH); with every block of stage 1, 2 or 3 always dropped (the others never); and with
 * every block dropped. Prints the medians, the measured ratio of the linear schedule to none with the realized
 * share of computed branches, each stage's cost per branch (none minus that stage dropped, per block), and the
 * ratio those costs predict for the schedule (no cost for a skipped branch).
 *
 * <p>Usage: {@code scripts/skip-costs [DEPTH] [ROUNDS]} (defaults 56 and 60, after 10 warm-up rounds).
 */
public final class SkipCosts {
    private SkipCosts() {
    }

    public static void main(String[] args) {
        int depth = args.length > 0 ? Integer.parseInt(args[0]) : 56;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 60;
        int perStage = (depth - 2) / 6;
        String[] names = {"none", "linear(0.5)", "stage 1 dropped", "stage 2 dropped", "stage 3 dropped",
                "all dropped"};
        ComputationGraph[] nets = new ComputationGraph[names.length];
        for (int v = 0; v < nets.length; v++) {
            ResNet r = ResNet.cifar(depth).inputShape(3, 32, 32).numClasses(10).shortcut(ShortcutType.PROJECTION)
                    .seed(1);
            if (v == 1) {
                r = r.stochasticDepth(DepthSchedule.linear(0.5), DropMode.BATCH);
            } else if (v > 1) {
                r = r.stochasticDepth(DepthSchedule.of(stageDropProbs(perStage, v == 5 ? 0 : v - 1)), DropMode.BATCH);
            }
            nets[v] = r.build();
            nets[v].setListeners(MemoryTrimListener.forTraining());
        }
        DataSet ds = BlockCosts.cifarBatch();
        double[][] ms = new double[nets.length][rounds];
        long computed = 0;
        long blocks = 0;
        long[] computedByStage = new long[3];
        for (int round = -10; round < rounds; round++) {
            for (int v = 0; v < nets.length; v++) {
                long t0 = System.nanoTime();
                nets[v].fit(ds);
                if (round >= 0) {
                    ms[v][round] = (System.nanoTime() - t0) / 1e6;
                }
            }
            if (round >= 0) {
                int b = 0;
                for (Layer l : nets[1].getLayers()) {
                    if (l instanceof ResidualBlockImpl) {
                        boolean c = ((ResidualBlockImpl) l).wasBranchComputed();
                        blocks++;
                        computed += c ? 1 : 0;
                        computedByStage[b++ / perStage] += c ? 1 : 0;
                    }
                }
            }
        }
        double[] med = new double[nets.length];
        for (int v = 0; v < nets.length; v++) {
            med[v] = median(ms[v]);
            System.out.printf(Locale.ROOT, "%-16s median %.1f ms%n", names[v], med[v]);
        }
        double[] cost = new double[3];
        for (int s = 0; s < 3; s++) {
            cost[s] = (med[0] - med[2 + s]) / perStage;
        }
        double[] keep = BlockCosts.expectedComputed(perStage, 0.5);
        double saved = 0;
        for (int s = 0; s < 3; s++) {
            saved += (perStage - keep[s]) * cost[s];
        }
        double savedRealized = 0;
        for (int s = 0; s < 3; s++) {
            savedRealized += (perStage - computedByStage[s] / (double) rounds) * cost[s];
        }
        System.out.printf(Locale.ROOT, "ResNet-%d, %d rounds: linear(0.5) BATCH / none = %.3f (computed share %.3f);"
                        + " one branch costs: stage 1 %.2f ms, stage 2 %.2f ms, stage 3 %.2f ms; predicted ratio"
                        + " %.3f (%.3f with the realized decisions)%n", depth, rounds, med[1] / med[0],
                computed / (double) blocks, cost[0], cost[1], cost[2], (med[0] - saved) / med[0],
                (med[0] - savedRealized) / med[0]);
    }

    /**
     * Drop probabilities for 3 stages of {@code perStage} blocks: 1 for the blocks of {@code stage} (1-3), 0 for
     * the others; stage 0 means every block.
     */
    static double[] stageDropProbs(int perStage, int stage) {
        if (perStage < 1 || stage < 0 || stage > 3) {
            throw new IllegalArgumentException("perStage must be >= 1 and stage in [0, 3], got " + perStage
                    + " and " + stage);
        }
        double[] p = new double[3 * perStage];
        for (int i = 0; i < p.length; i++) {
            p[i] = stage == 0 || i / perStage == stage - 1 ? 1.0 : 0.0;
        }
        return p;
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
