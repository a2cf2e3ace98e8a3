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
        long[] mb = probe("trim");
        String msg = "resident set with the blocks " + mb[0] + " MB, after free " + mb[1] + " MB, after trim "
                + mb[2] + " MB";
        // 3000 x 64 KB = 188 MB freed between live blocks: glibc keeps it until the trim; expect at least
        // 100 MB of it to stay resident after free and to be handed back by the trim.
        assertTrue(mb[0] - mb[1] < 88, msg);
        assertTrue(mb[1] - mb[2] > 100, msg);
    }

    /** Under the first iteration's low mmap threshold freed blocks leave at once; under 32 MB they stay. */
    @Test
    void lowMmapThresholdReturnsMemoryOnFree() throws Exception {
        long[] mb = probe("mmap");
        String msg = "128 KB threshold: " + mb[0] + " MB with the blocks, " + mb[1] + " MB after free; 32 MB"
                + " threshold: " + mb[2] + " MB with the blocks, " + mb[3] + " MB after free";
        // 600 x 256 KB = 150 MB
        assertTrue(mb[0] - mb[1] > 100, msg);
        assertTrue(mb[2] - mb[3] < 50, msg);
    }

    private static long[] probe(String mode) throws Exception {
        Process p = new ProcessBuilder(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), MemoryTrimProbe.class.getName(), mode)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe did not finish");
        assertEquals(0, p.exitValue(), out);
        String[] f = out.substring(out.lastIndexOf('\n') + 1).split(" ");
        long[] mb = new long[f.length];
        for (int i = 0; i < f.length; i++) {
            mb[i] = Long.parseLong(f[i]);
        }
        return mb;
    }

    @Test
    void trimsInAndAfterWarmupIterationsThenOnlyOnGrowth() {
        MemoryTrimListener l = new MemoryTrimListener(Long.MAX_VALUE, 2, false);
        for (int i = 0; i < 5; i++) {
            l.onForwardPass(null, java.util.Map.of());
            l.iterationDone(null, i, 0);
        }
        assertEquals(4, l.trims(), "two warm-up iterations, each trimmed after its forward pass and at its end;"
                + " then none: the resident set cannot grow by Long.MAX_VALUE");

        MemoryTrimListener every = new MemoryTrimListener(0, 0, false);
        every.onForwardPass(null, java.util.List.of());
        every.iterationDone(null, 0, 0);
        assertEquals(1, every.trims(), "no warm-up: the first iteration without a baseline trims at its end only");
    }

    @Test
    void badArgumentsNameTheArgument() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MemoryTrimListener(-1, 2, false));
        assertTrue(e.getMessage().contains("growthBytes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new MemoryTrimListener(0, -1, false));
        assertTrue(e.getMessage().contains("warmupTrims"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MemoryTrimListener.setMmapThreshold(64 << 20));
        assertTrue(e.getMessage().contains("bytes must be in [0, 33554432]"), e.getMessage());
    }
}
