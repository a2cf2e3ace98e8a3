package org.regularize4j.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainingProgressTest {

    @Test
    void drawsTaskCountsSpeedAndMessageAndEndsTheLine() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        try (TrainingProgress bar = TrainingProgress.start("epoch 2/5", 1000, out, false)) {
            for (int i = 0; i < 10; i++) {
                bar.advance(100, "loss 0.4100 acc 85.0%");
            }
            assertEquals(1000, bar.done());
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        String last = text.substring(text.lastIndexOf('\r') + 1);
        assertTrue(last.startsWith("epoch 2/5 100% ["), last);
        assertTrue(last.contains("1000/1000 img ("), last);
        assertTrue(last.contains("img/s loss 0.4100 acc 85.0%"), last);
        assertTrue(last.endsWith("\n"), "the line is ended");
        assertTrue(last.strip().length() <= 120, "at most 120 columns off a terminal: " + last.length());
        assertTrue(!text.contains("\u001b["), "no escape sequences off a terminal");
    }

    /** A bar closed before the library's first scheduled drawing still draws its final state and ends the line. */
    @Test
    void closingAtOnceStillEndsTheLine() {
        for (int i = 0; i < 20; i++) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
            try (TrainingProgress bar = TrainingProgress.start("epoch 1/1", 10, out, false)) {
                bar.advance(10, "done");
            }
            String text = buf.toString(StandardCharsets.UTF_8);
            assertTrue(text.endsWith("\n") && text.contains("10/10 img"), "run " + i + ": <" + text + ">");
        }
    }

    @Test
    void durationsAndBadArguments() {
        assertEquals("0:00:00", TrainingProgress.duration(0.2));
        assertEquals("0:03:07", TrainingProgress.duration(187));
        assertEquals("2:00:01", TrainingProgress.duration(7201));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrainingProgress.start("x", 0, System.out, false));
        assertEquals("totalImages must be >= 1, got 0", e.getMessage());
    }
}
