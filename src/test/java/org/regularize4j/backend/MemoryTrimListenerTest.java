package org.regularize4j.backend;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryTrimListenerTest {

    @Test
    void availableOnThisLinuxMachine() {
        assertTrue(MemoryTrimListener.isAvailable(), "glibc malloc_trim should be found on the CI machine");
        assertTrue(MemoryTrimListener.residentBytes() > 0);
    }

    /**
     * Memory freed to glibc stays resident until trimmed; trimNow gives it back. Measured in a fresh JVM
     * ({@link MemoryTrimProbe}): in this one, earlier tests leave glibc's free lists in an unknown state.
     */
    @Test
    void trimReturnsFreedMallocMemory() throws Exception {
        Process p = new ProcessBuilder(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), MemoryTrimProbe.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe did not finish");
        assertEquals(0, p.exitValue(), out);
        String[] mb = out.substring(out.lastIndexOf('\n') + 1).split(" ");
        long touched = Long.parseLong(mb[0]);
        long freed = Long.parseLong(mb[1]);
        long trimmed = Long.parseLong(mb[2]);
        String msg = "resident set with the blocks " + touched + " MB, after free " + freed + " MB, after trim "
                + trimmed + " MB";
        // 3000 x 64 KB = 188 MB freed between live blocks: glibc keeps it until the trim; expect at least
        // 100 MB of it to stay resident after free and to be handed back by the trim.
        assertTrue(touched - freed < 88, msg);
        assertTrue(freed - trimmed > 100, msg);
    }

    @Test
    void trimsAfterWarmupIterationsThenOnlyOnGrowth() {
        MemoryTrimListener l = new MemoryTrimListener(Long.MAX_VALUE, 2);
        for (int i = 0; i < 5; i++) {
            l.iterationDone(null, i, 0);
        }
        assertEquals(2, l.trims(), "two warm-up trims, then none: the resident set cannot grow by Long.MAX_VALUE");

        MemoryTrimListener every = new MemoryTrimListener(0, 0);
        every.iterationDone(null, 0, 0);
        assertEquals(1, every.trims(), "the first iteration without a baseline trims");
    }

    @Test
    void badArgumentsNameTheArgument() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MemoryTrimListener(-1, 2));
        assertTrue(e.getMessage().contains("growthBytes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new MemoryTrimListener(0, -1));
        assertTrue(e.getMessage().contains("warmupTrims"), e.getMessage());
    }
}
