package org.regularize4j.resnet;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.junit.jupiter.api.Test;
import org.regularize4j.data.FashionMnist;
import org.regularize4j.data.FashionMnistIterator;
import org.regularize4j.depth.DepthSchedule;
import org.regularize4j.depth.DropMode;
import org.regularize4j.depth.RowScales;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The stochastic-depth decisions that a real training loop produces: {@code ComputationGraph.fit} on a
 * {@link FashionMnistIterator}, 2 epochs of 40 iterations, recorded by a listener after every iteration. With
 * every block at drop probability 1/2 each decision is a fair coin, so under independence:
 * <ul>
 *   <li>a block's decisions in consecutive iterations agree with probability 1/2 (a counter that does not
 *       advance would make them agree always);</li>
 *   <li>two blocks' decisions in the same iteration agree with probability 1/2 (decisions shared across blocks
 *       would agree always);</li>
 *   <li>in ROW mode, the same example position in consecutive iterations agrees with probability 1/2.</li>
 * </ul>
 * Every bound is 5 standard deviations of the binomial proportion, sqrt(1/4 / n) (a false alarm per bound has
 * probability below 6e-7).
 */
class DropPatternInFitTest {
    private static final int BATCH = 25;
    private static final int PER_CLASS = 100;   // 1,000 images: 40 iterations per epoch
    private static final int EPOCHS = 2;

    /** kept[iteration][block] (BATCH) or kept[iteration][block * BATCH + example] (ROW). */
    private static List<boolean[]> record(DropMode mode) {
        ComputationGraph net = ResNet.cifar(20).widthMultiplier(0.25).inputShape(1, 28, 28).numClasses(10).seed(7)
                .stochasticDepth(DepthSchedule.constant(0.5), mode).build();
        List<ResidualBlockImpl> blocks = new ArrayList<>();
        for (Layer l : net.getLayers()) {
            if (l instanceof ResidualBlockImpl) {
                blocks.add((ResidualBlockImpl) l);
            }
        }
        List<boolean[]> kept = new ArrayList<>();
        List<Integer> iterations = new ArrayList<>();
        net.addListeners(new BaseTrainingListener() {
            @Override
            public void iterationDone(Model model, int iteration, int epoch) {
                boolean[] k = new boolean[blocks.size() * (mode == DropMode.ROW ? BATCH : 1)];
                for (int b = 0; b < blocks.size(); b++) {
                    RowScales s = blocks.get(b).getLastScales();
                    if (mode == DropMode.BATCH) {
                        k[b] = s.get(0) > 0;
                    } else {
                        assertEquals(BATCH, s.size());
                        for (int i = 0; i < BATCH; i++) {
                            k[b * BATCH + i] = s.get(i) > 0;
                        }
                    }
                }
                kept.add(k);
                iterations.add(iteration);
            }
        });
        FashionMnist data = FashionMnist.bundled(FashionMnist.Split.TRAIN).firstPerClass(PER_CLASS);
        FashionMnistIterator it = FashionMnistIterator.builder(data).batchSize(BATCH).shuffle(true).seed(3).build();
        for (int e = 0; e < EPOCHS; e++) {
            it.setEpoch(e);
            net.fit(it);
        }
        int expected = EPOCHS * PER_CLASS * 10 / BATCH;
        assertEquals(expected, kept.size(), "one record per iteration");
        assertEquals(expected, net.getConfiguration().getIterationCount(), "the network's iteration counter advanced");
        return kept;
    }

    private static void assertFair(String what, int agree, int n) {
        double p = (double) agree / n;
        double bound = 5 * Math.sqrt(0.25 / n);
        assertTrue(Math.abs(p - 0.5) <= bound, String.format("%s: agreement %.3f over %d pairs, expected 0.5 ± %.3f"
                + " (5 sigma)", what, p, n, bound));
    }

    @Test
    void batchModeDecisionsChangeEveryIterationAndDifferBetweenBlocks() {
        List<boolean[]> kept = record(DropMode.BATCH);
        int iters = kept.size();
        int blocks = kept.get(0).length;
        for (int b = 0; b < blocks; b++) {
            int keptCount = 0;
            int agree = 0;
            for (int t = 0; t < iters; t++) {
                keptCount += kept.get(t)[b] ? 1 : 0;
                if (t > 0 && kept.get(t)[b] == kept.get(t - 1)[b]) {
                    agree++;
                }
            }
            assertFair("block " + b + " kept share", keptCount, iters);
            assertFair("block " + b + ", consecutive iterations", agree, iters - 1);
        }
        for (int a = 0; a < blocks; a++) {
            for (int b = a + 1; b < blocks; b++) {
                int agree = 0;
                for (boolean[] k : kept) {
                    agree += k[a] == k[b] ? 1 : 0;
                }
                assertFair("blocks " + a + " and " + b + ", same iteration", agree, iters);
            }
        }
    }

    @Test
    void rowModeDecisionsChangeEveryIterationAndDifferBetweenBlocksAndExamples() {
        List<boolean[]> kept = record(DropMode.ROW);
        int iters = kept.size();
        int blocks = kept.get(0).length / BATCH;
        for (int b = 0; b < blocks; b++) {
            int agreeTime = 0;
            int agreeNextBlock = 0;
            int agreeNextExample = 0;
            for (int t = 0; t < iters; t++) {
                for (int i = 0; i < BATCH; i++) {
                    boolean k = kept.get(t)[b * BATCH + i];
                    if (t > 0 && k == kept.get(t - 1)[b * BATCH + i]) {
                        agreeTime++;
                    }
                    if (b + 1 < blocks && k == kept.get(t)[(b + 1) * BATCH + i]) {
                        agreeNextBlock++;
                    }
                    if (i + 1 < BATCH && k == kept.get(t)[b * BATCH + i + 1]) {
                        agreeNextExample++;
                    }
                }
            }
            assertFair("block " + b + ", same example position in consecutive iterations", agreeTime,
                    (iters - 1) * BATCH);
            if (b + 1 < blocks) {
                assertFair("blocks " + b + " and " + (b + 1) + ", same example", agreeNextBlock, iters * BATCH);
            }
            assertFair("block " + b + ", neighbouring examples", agreeNextExample, iters * (BATCH - 1));
        }
    }
}
