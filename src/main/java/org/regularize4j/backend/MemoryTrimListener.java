package org.regularize4j.backend;

import com.sun.jna.Function;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Gives memory that ND4J has freed back to the operating system, so that a training process's resident set
 * stays near what it really uses.
 *
 * <p>Why it is needed: ND4J's native buffers come from glibc's {@code malloc}. glibc keeps freed blocks
 * for reuse instead of returning them, and two things free a lot of memory during DL4J training: the
 * first iteration, during which DL4J's workspaces are still learning their size and every activation
 * and gradient is allocated outside them ("spilled"), and libnd4j's large temporaries, freed per
 * operation on OpenMP threads with arenas of their own. Measured on a ResNet-110 (batch 64, 3x32x32): the
 * resident set stays at the first iteration's 1.9 GB and creeps to 2.7 GB, while the memory actually in
 * use after that iteration is about 0.75 GB; see {@code docs/performance.md}.
 *
 * <p>What it does: after an iteration it calls glibc's {@code malloc_trim(0)} (through JNA, which DL4J
 * already depends on) when the resident set has grown by more than {@code growthBytes} since the last
 * trim, and always after each of the first {@code warmupTrims} iterations (where the workspaces' spills are
 * freed). A trim costs a few milliseconds (walking glibc's arenas); with the default threshold it runs
 * rarely. It does not change any result: it only hands back pages that are already free.
 *
 * <p>Where glibc is not present (macOS, Windows, musl) {@link #isAvailable()} is false and the listener
 * does nothing; {@link #forTraining()} logs that once, so the user knows it is not active.
 *
 * <pre>{@code
 * net.addListeners(MemoryTrimListener.forTraining());
 * }</pre>
 */
public final class MemoryTrimListener extends BaseTrainingListener {
    private static final Logger log = LoggerFactory.getLogger(MemoryTrimListener.class);
    private static final Path STATM = Paths.get("/proc/self/statm");
    private static final long PAGE = 4096;

    /** Default growth of the resident set that triggers a trim: 128 MB. */
    public static final long DEFAULT_GROWTH_BYTES = 128L << 20;
    /** Default number of first iterations after which a trim always runs: 2. */
    public static final int DEFAULT_WARMUP_TRIMS = 2;

    private static final Function MALLOC_TRIM = lookup();

    private final long growthBytes;
    private final int warmupTrims;
    private transient long lastRss = -1;
    private transient int seen;
    private transient int trims;
    private transient long trimNanos;

    /**
     * @param growthBytes growth of the resident set since the last trim that triggers the next one, >= 0
     *                    (0 trims after every iteration)
     * @param warmupTrims number of first iterations after which a trim always runs, >= 0
     */
    public MemoryTrimListener(long growthBytes, int warmupTrims) {
        if (growthBytes < 0) {
            throw new IllegalArgumentException("growthBytes must be >= 0, got " + growthBytes);
        }
        if (warmupTrims < 0) {
            throw new IllegalArgumentException("warmupTrims must be >= 0, got " + warmupTrims);
        }
        this.growthBytes = growthBytes;
        this.warmupTrims = warmupTrims;
    }

    /** The defaults: trim after the first two iterations, then when the resident set grew by 128 MB. */
    public static MemoryTrimListener forTraining() {
        if (!isAvailable()) {
            log.info("glibc malloc_trim is not available on this platform: memory trimming is off");
        }
        return new MemoryTrimListener(DEFAULT_GROWTH_BYTES, DEFAULT_WARMUP_TRIMS);
    }

    /** Whether glibc's {@code malloc_trim} was found (Linux with glibc). */
    public static boolean isAvailable() {
        return MALLOC_TRIM != null;
    }

    /**
     * Calls {@code malloc_trim(0)} now.
     *
     * @return whether glibc released memory; false also when it is not available
     */
    public static boolean trimNow() {
        if (MALLOC_TRIM == null) {
            return false;
        }
        return MALLOC_TRIM.invokeInt(new Object[]{0}) != 0;
    }

    /** Resident set size of this process in bytes, from {@code /proc/self/statm}; -1 where unavailable. */
    public static long residentBytes() {
        try {
            String[] f = new String(Files.readAllBytes(STATM), StandardCharsets.US_ASCII).trim().split("\\s+");
            return Long.parseLong(f[1]) * PAGE;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        if (MALLOC_TRIM == null) {
            return;
        }
        seen++;
        long rss = residentBytes();
        boolean warm = seen <= warmupTrims;
        if (warm || lastRss < 0 || rss < 0 || rss - lastRss > growthBytes) {
            long t0 = System.nanoTime();
            trimNow();
            trimNanos += System.nanoTime() - t0;
            trims++;
            lastRss = residentBytes();
        }
    }

    /** How many trims this listener has run. */
    public int trims() {
        return trims;
    }

    /** Total time spent in trims, in milliseconds. */
    public double trimMillis() {
        return trimNanos / 1e6;
    }

    private static Function lookup() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return null;
        }
        try {
            return Function.getFunction("c", "malloc_trim");
        } catch (Throwable t) {   // UnsatisfiedLinkError (musl, no libc.so.6) or JNA missing its native part
            return null;
        }
    }
}
