package org.regularize4j.bench;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The arithmetic of {@link BlockCosts} (the timing itself is a benchmark, run by scripts/block-costs). */
class BlockCostsTest {

    @Test
    void fitRecoversKnownCostsAndIgnoresTheSlowestSteps() {
        double[] truth = {70, 14, 6, 5};
        Random r = new Random(1);
        int steps = 200;
        double[][] rows = new double[steps][4];
        double[] t = new double[steps];
        for (int i = 0; i < steps; i++) {
            rows[i][0] = 1;
            for (int s = 1; s <= 3; s++) {
                rows[i][s] = r.nextInt(10);
            }
            for (int j = 0; j < 4; j++) {
                t[i] += truth[j] * rows[i][j];
            }
            if (i % 20 == 0) {
                t[i] += 1000;   // a garbage collection: must be left out
            }
        }
        assertArrayEquals(truth, BlockCosts.fit(rows, t, 0.9), 1e-9);
    }

    @Test
    void expectedComputedBranchesFollowTheLinearSchedule() {
        // ResNet-20: 9 blocks, l = 1..9 drop with 0.5 * l / 9
        double[] keep = BlockCosts.expectedComputed(3, 0.5);
        assertEquals(3 - 0.5 * (1 + 2 + 3) / 9.0, keep[0], 1e-12);
        assertEquals(3 - 0.5 * (4 + 5 + 6) / 9.0, keep[1], 1e-12);
        assertEquals(3 - 0.5 * (7 + 8 + 9) / 9.0, keep[2], 1e-12);
    }

    @Test
    void stageNumbersAndBadInput() {
        assertEquals(2, BlockCosts.stageOf("stage2.block5"));
        assertThrows(IllegalArgumentException.class, () -> BlockCosts.stageOf("stem"));
        double[][] rows = {{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}};
        assertThrows(IllegalArgumentException.class, () -> BlockCosts.fit(rows, new double[] {1, 2, 3, 4}, 1.0));
    }
}
