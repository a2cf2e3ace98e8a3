package org.regularize4j.backend;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryTrimListenerTest {

    @Test
    void availableOnThisLinuxMachine() {
        assertTrue(MemoryTrimListener.isAvailable(), "glibc malloc_trim should be found on the CI machine");
        assertTrue(MemoryTrimListener.residentBytes() > 0);
    }

    /** Memory freed to glibc stays resident until trimmed; trimNow gives it back. */
    @Test
    void trimReturnsFreedMallocMemory() {
        int n = 3000;
        int size = 64 * 1024;        // below glibc's mmap threshold: served from the heap, kept after free
        long[] blocks = new long[n];
        long[] pins = new long[n];   // a small live block after each one: glibc cannot shrink the heap by itself
        for (int i = 0; i < n; i++) {
            blocks[i] = Native.malloc(size);
            new Pointer(blocks[i]).setMemory(0, size, (byte) 1);   // touch: make it resident
            pins[i] = Native.malloc(64);
        }
        try {
            long touched = MemoryTrimListener.residentBytes();
            for (long b : blocks) {
                Native.free(b);
            }
            long freed = MemoryTrimListener.residentBytes();
            MemoryTrimListener.trimNow();
            long trimmed = MemoryTrimListener.residentBytes();
            String msg = "resident set with the blocks " + (touched >> 20) + " MB, after free " + (freed >> 20)
                    + " MB, after trim " + (trimmed >> 20) + " MB";
            // 3000 x 64 KB = 188 MB freed between live blocks: glibc keeps it until the trim; expect at least
            // 100 MB of it to stay resident after free and to be handed back by the trim.
            assertTrue(touched - freed < (88L << 20), msg);
            assertTrue(freed - trimmed > (100L << 20), msg);
        } finally {
            for (long p : pins) {
                Native.free(p);
            }
        }
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
