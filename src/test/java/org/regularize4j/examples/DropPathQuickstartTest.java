package org.regularize4j.examples;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DropPathQuickstartTest {

    /** The example (its Javadoc call, 20 epochs): the loss falls by more than half and the net generalizes. */
    @Test
    void lossFallsAndTheNetGeneralizes() {
        DropPathQuickstart.Result r = DropPathQuickstart.run(4, 0.3, 20, 42);
        // r.epochLosses().get(0) > r.epochLosses().get(19); r.testAccuracy() in [0, 1]
        double first = r.epochLosses().get(0);
        double last = r.epochLosses().get(19);
        assertTrue(last < first / 2, "first " + first + ", last " + last);
        assertTrue(r.testAccuracy() > 0.85, "test accuracy " + r.testAccuracy());
    }

    @Test
    void resultRecord() {
        DropPathQuickstart.Result result = new DropPathQuickstart.Result(List.of(0.7, 0.2), 0.95);
        assertTrue(result.epochLosses().size() == 2 && result.testAccuracy() == 0.95);
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> DropPathQuickstart.run(0, 0.3, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> DropPathQuickstart.run(2, 1.3, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> DropPathQuickstart.run(2, 0.3, 0, 1));
    }
}
