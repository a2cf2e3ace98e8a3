package org.regularize4j.backend;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * Run in a fresh JVM by {@link MemoryTrimListenerTest}, where glibc's free lists are in a known state.
 * <ul>
 *   <li>{@code trim}: mallocs 3000 blocks of 64 KB (below glibc's mmap threshold, so from the heap) with a
 *   small live block after each, touches them, frees the big ones, trims. Prints the resident set in MB with
 *   the blocks, after the free and after the trim.</li>
 *   <li>{@code mmap}: the same with 600 blocks of 256 KB, first with the mmap threshold at 128 KB (mapped:
 *   freed memory leaves at once), then at 32 MB (from the heap: it stays). Prints the resident set with the
 *   blocks and after the free, for each threshold.</li>
 * </ul>
 */
public final class MemoryTrimProbe {
    private MemoryTrimProbe() {
    }

    public static void main(String[] args) {
        if (args.length == 1 && args[0].equals("mmap")) {
            MemoryTrimListener.setMmapThreshold(MemoryTrimListener.FIRST_ITERATION_MMAP_THRESHOLD);
            long[] mapped = allocateAndFree(600, 256 * 1024);
            MemoryTrimListener.setMmapThreshold(MemoryTrimListener.MMAP_THRESHOLD);
            long[] heap = allocateAndFree(600, 256 * 1024);
            System.out.println(mapped[0] + " " + mapped[1] + " " + heap[0] + " " + heap[1]);
        } else {
            long[] mb = allocateAndFree(3000, 64 * 1024);
            MemoryTrimListener.trimNow();
            System.out.println(mb[0] + " " + mb[1] + " " + (MemoryTrimListener.residentBytes() >> 20));
        }
    }

    /** Resident set in MB with n touched blocks of the given size, and after freeing them (small pins stay). */
    private static long[] allocateAndFree(int n, int size) {
        long[] blocks = new long[n];
        long[] pins = new long[n];   // keeps glibc from shrinking the heap by itself
        for (int i = 0; i < n; i++) {
            blocks[i] = Native.malloc(size);
            new Pointer(blocks[i]).setMemory(0, size, (byte) 1);   // touch: make it resident
            pins[i] = Native.malloc(64);
        }
        long touched = MemoryTrimListener.residentBytes();
        for (long b : blocks) {
            Native.free(b);
        }
        long freed = MemoryTrimListener.residentBytes();
        // the pins stay allocated: freeing them could let glibc release the heap's top by itself
        return new long[] {touched >> 20, freed >> 20};
    }
}
