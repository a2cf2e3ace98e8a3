package org.regularize4j.backend;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * Run in a fresh JVM by {@link MemoryTrimListenerTest}: mallocs 3000 blocks of 64 KB (below glibc's mmap
 * threshold, so from the heap) with a small live block after each, touches them, frees the big ones, trims.
 * Prints the resident set in MB with the blocks, after the free and after the trim, on one line.
 */
public final class MemoryTrimProbe {
    private MemoryTrimProbe() {
    }

    public static void main(String[] args) {
        int n = 3000;
        int size = 64 * 1024;
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
        MemoryTrimListener.trimNow();
        long trimmed = MemoryTrimListener.residentBytes();
        for (long p : pins) {
            Native.free(p);
        }
        System.out.println((touched >> 20) + " " + (freed >> 20) + " " + (trimmed >> 20));
    }
}
