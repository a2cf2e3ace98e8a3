package org.regularize4j.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {

    @Test
    void quickstartEndsWithAJsonLine() {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            code = Main.run("quickstart", "--blocks", "2", "--epochs", "3");
        } finally {
            System.setOut(saved);
        }
        assertEquals(0, code);
        String[] lines = buf.toString(StandardCharsets.UTF_8).trim().split("\n");
        String last = lines[lines.length - 1];
        assertTrue(last.startsWith("{\"first_epoch_loss\"") && last.contains("\"test_accuracy\""), last);
    }

    @Test
    void badValuesAndUnknownOptionsAreUsageErrors() {
        PrintStream savedErr = System.err;
        try {
            System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            assertEquals(2, Main.run("quickstart", "--drop-path", "1.5"));
            assertEquals(2, Main.run("quickstart", "--epochs", "0"));
            assertEquals(2, Main.run("quickstart", "--no-such-option"));
            assertEquals(2, Main.run(new String[0]));
        } finally {
            System.setErr(savedErr);
        }
    }
}
