package org.regularize4j.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The helpers of {@link SkipCosts} (the timing itself is a benchmark, run by scripts/skip-costs). */
class SkipCostsTest {

    @Test
    void stageDropProbsDropExactlyOneStageOrAll() {
        assertArrayEquals(new double[] {0, 0, 1, 1, 0, 0}, SkipCosts.stageDropProbs(2, 2), 0.0);
        assertArrayEquals(new double[] {1, 0, 0}, SkipCosts.stageDropProbs(1, 1), 0.0);
        assertArrayEquals(new double[] {1, 1, 1, 1, 1, 1}, SkipCosts.stageDropProbs(2, 0), 0.0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SkipCosts.stageDropProbs(2, 4));
        assertEquals("perStage must be >= 1 and stage in [0, 3], got 2 and 4", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SkipCosts.stageDropProbs(0, 1));
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(2.0, SkipCosts.median(new double[] {3, 1, 2}), 0.0);
        assertEquals(2.5, SkipCosts.median(new double[] {4, 1, 3, 2}), 0.0);
    }
}
