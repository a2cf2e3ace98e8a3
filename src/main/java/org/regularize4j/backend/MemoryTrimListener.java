package org.regularize4j.backend;

import com.sun.jna.Function;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Keeps a DL4J training process's resident memory near what it really uses, by steering glibc's
 * {@code malloc} (through JNA, which DL4J already depends on). It changes no result: it only decides when
 * pages that are already free go back to the operating system.
 *
 * <p>Why it is needed: ND4J's native buffers come from glibc's {@code malloc}, which keeps freed blocks for
 * reuse instead of returning them. Two things free a lot of memory during DL4J training:
 * <ul>
 *   <li>The first iteration. DL4J's workspaces learn their size in it, so every activation is allocated
 *   outside them ("spilled"); at the end of the iteration DL4J frees the spills and then allocates the
 *   workspace in one block of the same size. glibc keeps the freed spills, so the process holds both:
 *   ResNet-110 (batch 64, 3x32x32) peaked at 1.8 GB, of which 0.77 GB was in use after the iteration.</li>
 *   <li>libnd4j's large temporaries, freed per operation (also on OpenMP threads, with malloc arenas of
 *   their own): the resident set creeps up over later iterations.</li>
 * </ul>
 *
 * <p>What it does:
 * <ul>
 *   <li>From its construction until the end of the second iteration it sets glibc's mmap threshold
 *   ({@code mallopt(M_MMAP_THRESHOLD)}) to 128 KB, so that the spills are mapped and unmapped and their
 *   memory goes back to the system as soon as DL4J frees them (DL4J's per-layer workspaces are still growing
 *   in the second iteration: mapping only the first, ResNet-50 at 224, batch 32, peaked at 3.52 GB, mapping
 *   two at 3.33 GB, 3.23-3.25 GB being in use afterwards); then it sets the threshold to 32 MB, the
 *   largest value glibc's own adaptive threshold can reach on 64-bit systems (a mapped allocation costs
 *   page faults on every use; ResNet-110's step time was the same as with glibc's default). Create the
 *   listener just before training: until its second iteration ends, every allocation of 128 KB or more in
 *   the process is mapped.</li>
 *   <li>After an iteration it calls {@code malloc_trim(0)} when the resident set has grown by more than
 *   {@code growthBytes} since the last trim, and always after each of the first {@code warmupTrims}
 *   iterations and between their forward and backward passes. A trim costs a few milliseconds.</li>
 * </ul>
 * Measured effect on peak memory (docs/performance.md): ResNet-110 1.8 GB → 1.1 GB, step time unchanged.
 *
 * <p>Where glibc is not present (macOS, Windows, musl) {@link #isAvailable()} is false and the listener
 * does nothing; {@link #forTraining()} logs that once, so the user knows it is not active.
 *
 * <pre>{@code
 * net.addListeners(MemoryTrimListener.forTraining());   // right before net.fit(...)
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
    /** How many first iterations run with the low mmap threshold: 2. */
    public static final int MAPPED_ITERATIONS = 2;
    /** glibc's mmap threshold until the second iteration ends: 128 KB (glibc's initial default). */
    public static final int FIRST_ITERATION_MMAP_THRESHOLD = 128 * 1024;
    /** glibc's mmap threshold afterwards: 32 MB, the ceiling of glibc's adaptive threshold on 64-bit. */
    public static final int MMAP_THRESHOLD = 32 << 20;

    private static final int M_TRIM_THRESHOLD = -1;   // from glibc's malloc.h
    private static final int M_MMAP_THRESHOLD = -3;
    private static final Function MALLOC_TRIM = lookup("malloc_trim");
    private static final Function MALLOPT = lookup("mallopt");

    private final long growthBytes;
    private final int warmupTrims;
    private final boolean mapFirstIteration;
    private transient long lastRss = -1;
    private transient int seen;
    private transient int trims;
    private transient long trimNanos;

    /**
     * @param growthBytes       growth of the resident set since the last trim that triggers the next one,
     *                          >= 0 (0 trims after every iteration)
     * @param warmupTrims       number of first iterations after which (and between whose forward and
     *                          backward passes) a trim always runs, >= 0
     * @param mapFirstIteration whether to serve the first {@value #MAPPED_ITERATIONS} iterations' large
     *                          allocations by mmap (see above)
     */
    public MemoryTrimListener(long growthBytes, int warmupTrims, boolean mapFirstIteration) {
        if (growthBytes < 0) {
            throw new IllegalArgumentException("growthBytes must be >= 0, got " + growthBytes);
        }
        if (warmupTrims < 0) {
            throw new IllegalArgumentException("warmupTrims must be >= 0, got " + warmupTrims);
        }
        this.growthBytes = growthBytes;
        this.warmupTrims = warmupTrims;
        this.mapFirstIteration = mapFirstIteration;
        if (mapFirstIteration) {
            setMmapThreshold(FIRST_ITERATION_MMAP_THRESHOLD);
        }
    }

    /**
     * The defaults: the first two iterations' large allocations mapped, a trim after (and within) the first two
     * iterations, then whenever the resident set grew by 128 MB.
     */
    public static MemoryTrimListener forTraining() {
        if (!isAvailable()) {
            log.info("glibc's malloc_trim/mallopt are not available on this platform: memory trimming is off");
        }
        return new MemoryTrimListener(DEFAULT_GROWTH_BYTES, DEFAULT_WARMUP_TRIMS, true);
    }

    /** Whether glibc's {@code malloc_trim} and {@code mallopt} were found (Linux with glibc). */
    public static boolean isAvailable() {
        return MALLOC_TRIM != null && MALLOPT != null;
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

    /**
     * Sets glibc's mmap threshold ({@code mallopt(M_MMAP_THRESHOLD, bytes)}): allocations of at least this
     * size are mapped, and unmapped when freed; and its trim threshold to twice that, as glibc's adaptive
     * rule does (which setting them turns off).
     *
     * @param bytes in [0, 32 MB] (glibc refuses larger values on 64-bit systems)
     * @return whether glibc accepted it; false also when it is not available
     */
    public static boolean setMmapThreshold(int bytes) {
        if (bytes < 0 || bytes > MMAP_THRESHOLD) {
            throw new IllegalArgumentException("bytes must be in [0, " + MMAP_THRESHOLD + "], got " + bytes);
        }
        // glibc's adaptive rule keeps the trim threshold at twice the mmap threshold; setting either turns
        // the rule off, so set both (with the default 128 KB trim threshold every free at the top of the heap
        // hands memory back and the next allocation faults it in again: ResNet-20 steps took 1.4x as long)
        return MALLOPT != null && MALLOPT.invokeInt(new Object[]{M_MMAP_THRESHOLD, bytes}) == 1
                && MALLOPT.invokeInt(new Object[]{M_TRIM_THRESHOLD, 2 * bytes}) == 1;
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
    public void onForwardPass(Model model, List<INDArray> activations) {
        warmupTrim();
    }

    @Override
    public void onForwardPass(Model model, Map<String, INDArray> activations) {
        warmupTrim();
    }

    private void warmupTrim() {
        if (MALLOC_TRIM != null && seen < warmupTrims) {
            trim();
        }
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        if (MALLOC_TRIM == null) {
            return;
        }
        seen++;
        if (seen == MAPPED_ITERATIONS && mapFirstIteration) {
            setMmapThreshold(MMAP_THRESHOLD);
        }
        long rss = residentBytes();
        if (seen <= warmupTrims || lastRss < 0 || rss < 0 || rss - lastRss > growthBytes) {
            trim();
            lastRss = residentBytes();
        }
    }

    private void trim() {
        long t0 = System.nanoTime();
        trimNow();
        trimNanos += System.nanoTime() - t0;
        trims++;
    }

    /** How many trims this listener has run. */
    public int trims() {
        return trims;
    }

    /** Total time spent in trims, in milliseconds. */
    public double trimMillis() {
        return trimNanos / 1e6;
    }

    private static Function lookup(String name) {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return null;
        }
        try {
            return Function.getFunction("c", name);
        } catch (Throwable t) {   // UnsatisfiedLinkError (musl, no libc.so.6) or JNA missing its native part
            return null;
        }
    }
}
