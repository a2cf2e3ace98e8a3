package org.regularize4j.backend;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The one place that decides how the ResNet builder's layers run: each layer asks {@link #select} once, when it is
 * created, and keeps the {@link ConvBnKernels} it gets.
 *
 * <ul>
 *   <li>Float32 layers take {@link KernelPath#CHANNELS_LAST} where it can run ({@link DirectConv} usable: oneDNN's
 *       natives from {@code org.bytedeco:dnnl-platform} loaded; {@link NativeKernels} usable: Linux x86-64 with AVX2,
 *       glibc 2.17 or newer), else {@link KernelPath#JAVA_NCHW} on ND4J's CPU backend, else (CUDA)
 *       {@link KernelPath#LIBND4J_NCHW}.</li>
 *   <li>Other types (double precision for gradient checks) always take {@link KernelPath#LIBND4J_NCHW}.</li>
 *   <li>The system property {@code regularize4j.kernels} ({@code auto}, {@code channels-last}, {@code java},
 *       {@code libnd4j}) or {@link #setOverride} forces a path for float layers; a forced path that cannot run here
 *       is an error naming the reason, at layer creation.</li>
 * </ul>
 *
 * <p>When float layers fall back while nobody asked for it, one WARN line per process says why and what to do.
 * Silence is only right when the user turned the fast path off (a forced path, {@code regularize4j.directConv=false}
 * or {@code regularize4j.nativeKernels=false}).
 *
 * <pre>{@code
 * ConvBnKernels kernels = KernelPaths.select(DataType.FLOAT);
 * String why = KernelPaths.describe();   // e.g. "channels-last (oneDNN 2.5.2 convolutions, native kernels)"
 * }</pre>
 */
public final class KernelPaths {
    private static final Logger log = LoggerFactory.getLogger(KernelPaths.class);
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    private static volatile KernelPath override;
    private static volatile boolean foldBatchNorm =
            Boolean.parseBoolean(System.getProperty("regularize4j.foldBatchNorm", "true"));

    /** The default of {@link #recomputeMinBytes()}: 5 MiB (measured, docs/performance.md). */
    public static final long DEFAULT_RECOMPUTE_MIN_BYTES = 5L << 20;
    private static volatile long recomputeMinBytes = parseBytes("regularize4j.recomputeMinBytes",
            System.getProperty("regularize4j.recomputeMinBytes", String.valueOf(DEFAULT_RECOMPUTE_MIN_BYTES)));

    /**
     * A residual block on the channels-last path drops each intermediate output of its branch (conv → batch norm
     * → ReLU of every unit but the last) of at least this many bytes after the forward pass, and recomputes it from
     * the kept convolution output in the backward pass: one normalization pass traded for one activation (the same
     * values; units with DropBlock keep theirs). Recomputing all of them cost 7% of a ResNet-20 step at batch 64
     * (whose are 4 MiB at most, so the default keeps them); at ImageNet sizes the default saves about 400 MB of a
     * ResNet-50's 3.8 GB at batch 32 at no measurable cost. The system
     * property {@code regularize4j.recomputeMinBytes} or {@link #setRecomputeMinBytes} sets it;
     * {@link Long#MAX_VALUE} turns it off, 0 recomputes every intermediate output.
     */
    public static long recomputeMinBytes() {
        return recomputeMinBytes;
    }

    /**
     * Sets {@link #recomputeMinBytes()} (read at every training pass). For tests and benchmarks.
     *
     * @param bytes {@code >= 0}
     */
    public static void setRecomputeMinBytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("recompute min bytes must be >= 0 (Long.MAX_VALUE: off), got "
                    + bytes);
        }
        recomputeMinBytes = bytes;
    }

    /** The default of {@link #inferenceChunkBytes()}: 2 MiB (measured, docs/performance.md). */
    public static final long DEFAULT_CHUNK_BYTES = 2L << 20;
    /** The fewest examples in an inference chunk: below it, the batch runs at once. */
    public static final int MIN_CHUNK_ROWS = 16;
    private static volatile long inferenceChunkBytes = parseBytes("regularize4j.inferenceChunkBytes",
            System.getProperty("regularize4j.inferenceChunkBytes", String.valueOf(DEFAULT_CHUNK_BYTES)));

    private KernelPaths() {
    }

    /**
     * Forces a path for float layers created afterwards ({@code null}: the system property, else automatic). For
     * tests and benchmarks.
     */
    public static void setOverride(KernelPath path) {
        override = path;
    }

    /**
     * Whether the layers' inference passes fold batch norm into their convolutions where the path can
     * ({@link ConvBnKernels.Convolution#supportsFused()}: the channels-last path): weights times
     * {@code gamma / sqrt(var + eps)} per output channel, a bias, and the ReLU and the residual sum as oneDNN
     * post-ops, so that a conv → BN → (add) → ReLU chain is one pass over memory. The outputs equal the unfolded
     * computation's within float rounding. On by default; the system property {@code regularize4j.foldBatchNorm}
     * or {@link #setFoldBatchNorm} turns it off. Training is not affected.
     */
    public static boolean foldsBatchNorm() {
        return foldBatchNorm;
    }

    /** Turns batch-norm folding at inference on or off (read at every inference pass). For tests and benchmarks. */
    public static void setFoldBatchNorm(boolean on) {
        foldBatchNorm = on;
    }

    /**
     * With batch norm folded, a residual block at inference runs its convolutions on row ranges of the batch whose
     * input takes about this many bytes, one range after the other (the whole block per range), so that the
     * branch's intermediate activations are read back while they are still in the cache. The outputs are the
     * same as in one pass (each example is computed on its own). 0 runs the whole batch at once. The system
     * property {@code regularize4j.inferenceChunkBytes} or {@link #setInferenceChunkBytes} sets it.
     */
    public static long inferenceChunkBytes() {
        return inferenceChunkBytes;
    }

    /**
     * Sets {@link #inferenceChunkBytes()} (read at every inference pass). For tests and benchmarks.
     *
     * @param bytes {@code >= 0}; 0 turns the chunking off
     */
    public static void setInferenceChunkBytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("inference chunk bytes must be >= 0 (0: off), got " + bytes);
        }
        inferenceChunkBytes = bytes;
    }

    /**
     * The rows per chunk for a batch of {@code batch} examples of {@code bytesPerExample} each: chunks of about
     * {@link #inferenceChunkBytes()}, balanced so that the last is not much smaller than the others ({@code batch}
     * when the chunking is off, the batch fits, or a chunk would hold fewer than {@value #MIN_CHUNK_ROWS}
     * examples: at ImageNet sizes, chunks of a few large images made a ResNet-50 pass 18% slower, measured).
     */
    public static long inferenceChunkRows(long batch, long bytesPerExample) {
        long budget = inferenceChunkBytes;
        if (budget == 0 || batch <= 1 || bytesPerExample <= 0) {
            return Math.max(batch, 1);
        }
        long rows = budget / bytesPerExample;
        if (rows >= batch || rows < MIN_CHUNK_ROWS) {
            return batch;
        }
        long chunks = (batch + rows - 1) / rows;
        return (batch + chunks - 1) / chunks;
    }

    private static long parseBytes(String property, String value) {
        try {
            long bytes = Long.parseLong(value.trim());
            if (bytes >= 0) {
                return bytes;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("system property " + property + " must be a number of bytes >= 0, got \""
                + value + "\"");
    }

    /** The path forced by {@link #setOverride} or the system property, or null for the automatic choice. */
    public static KernelPath requested() {
        KernelPath o = override;
        if (o != null) {
            return o;
        }
        String p = System.getProperty("regularize4j.kernels", "auto").trim();
        return p.equalsIgnoreCase("auto") || p.isEmpty() ? null : KernelPath.of(p);
    }

    /** Whether the channels-last path can run in this process. */
    public static boolean channelsLastAvailable() {
        return Nd4j.getEnvironment().isCPU() && DirectConv.isUsable() && NativeKernels.isUsable();
    }

    /** Why the channels-last path cannot run here, or null if it can. */
    public static String whyNotChannelsLast() {
        if (channelsLastAvailable()) {
            return null;
        }
        StringBuilder b = new StringBuilder();
        if (!Nd4j.getEnvironment().isCPU()) {
            b.append("ND4J's backend is not the CPU backend");
        }
        if (!DirectConv.isUsable()) {
            b.append(b.length() > 0 ? "; " : "").append("oneDNN convolutions ").append(DirectConv.status());
        }
        if (!NativeKernels.isUsable()) {
            b.append(b.length() > 0 ? "; " : "").append("native kernels ").append(NativeKernels.status());
        }
        return b.toString();
    }

    /** The path a layer of this data type gets now (see the class comment). */
    public static KernelPath choose(DataType dataType) {
        if (dataType != DataType.FLOAT) {
            return KernelPath.LIBND4J_NCHW;
        }
        KernelPath requested = requested();
        boolean cpu = Nd4j.getEnvironment().isCPU();
        if (requested == KernelPath.CHANNELS_LAST && !channelsLastAvailable()) {
            throw new IllegalStateException("regularize4j.kernels asks for the channels-last path, which cannot run"
                    + " here: " + whyNotChannelsLast());
        }
        if (requested == KernelPath.JAVA_NCHW && !cpu) {
            throw new IllegalStateException("regularize4j.kernels asks for the java path, which needs ND4J's CPU"
                    + " backend");
        }
        if (requested != null) {
            return requested;
        }
        if (channelsLastAvailable()) {
            return KernelPath.CHANNELS_LAST;
        }
        warnOnce();
        return cpu ? KernelPath.JAVA_NCHW : KernelPath.LIBND4J_NCHW;
    }

    /** The kernels a layer of this data type gets now: {@link #choose}'s path. */
    public static ConvBnKernels select(DataType dataType) {
        return of(choose(dataType));
    }

    /** The kernels of a path (whether or not it can run here; the channels-last ones fail at first use if not). */
    public static ConvBnKernels of(KernelPath path) {
        switch (path) {
            case CHANNELS_LAST:
                return ChannelsLastKernels.INSTANCE;
            case JAVA_NCHW:
                return JavaKernels.INSTANCE;
            default:
                return Libnd4jKernels.INSTANCE;
        }
    }

    /** One line for float layers: the path they get now and why. */
    public static String describe() {
        KernelPath requested = requested();
        if (requested != null) {
            return requested.id() + " (forced)";
        }
        if (channelsLastAvailable()) {
            return "channels-last (" + DirectConv.status() + " convolutions, native kernels)";
        }
        return (Nd4j.getEnvironment().isCPU() ? "java" : "libnd4j") + " (" + whyNotChannelsLast() + ")";
    }

    /** Whether the user turned the fast path off (then falling back is what they asked for). */
    private static boolean turnedOff() {
        return !DirectConv.isEnabled() || !Boolean.parseBoolean(System.getProperty("regularize4j.nativeKernels", "true"))
                || (NativeKernels.isLoaded() && !NativeKernels.isUsable());
    }

    private static void warnOnce() {
        if (turnedOff() || !WARNED.compareAndSet(false, true)) {
            return;
        }
        boolean oneDnnNd4j = NativeBackend.current().oneDnnEnabled();
        log.warn("regularize4j: the ResNet layers run on the slower NCHW path ({} the channels-last path's step time,"
                + " measured on ResNet-20): {}. {}", oneDnnNd4j ? "about 2x" : "about 25x, on an ND4J build without"
                + " oneDNN,", whyNotChannelsLast(), hint());
    }

    /** What the user can do, for this platform. */
    static String hint() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        boolean x86 = arch.equals("amd64") || arch.equals("x86_64");
        if (!Nd4j.getEnvironment().isCPU()) {
            return "The channels-last path runs on ND4J's CPU backend only (nd4j-native).";
        }
        if (!x86 || !os.contains("linux")) {
            return "The channels-last path needs Linux x86-64 (this is " + os + "/" + arch + "); on this platform the"
                    + " NCHW path is the supported one. Set -Dregularize4j.kernels=java to say so and silence this line.";
        }
        if (!DirectConv.isAvailable()) {
            return "Put org.bytedeco:dnnl-platform:2.5.2-1.5.7 on the classpath (a dependency of regularize4j; keep it"
                    + " when trimming with -Djavacpp.platform=linux-x86_64), or set -Dregularize4j.kernels=java to"
                    + " silence this line.";
        }
        return "The native kernels need a CPU with AVX2 and FMA and glibc 2.17 or newer; set"
                + " -Dregularize4j.kernels=java to silence this line.";
    }
}
