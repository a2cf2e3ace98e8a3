package org.regularize4j.backend;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The native kernels of the channels-last path ({@link KernelPath#CHANNELS_LAST}): NHWC batch norm
 * ({@link FloatBatchNorm}'s {@code *Nhwc} methods), the residual block's output, the zero-padded shortcut, layout
 * transposes and memory helpers, compiled from {@code src/main/c/r4jkernels.c} (bundled for linux-x86_64 with AVX2,
 * linked against nothing newer than glibc 2.17). They run on the OpenMP threads libnd4j already uses.
 *
 * <p>Why: Java code runs on one core. After each libnd4j operation its OpenMP worker thread spin-waits on
 * the other core (libgomp's default), so a second Java thread only competes with it (measured: no faster). The
 * native kernels run inside OpenMP regions of the same libgomp, on those very threads, and read the arrays in
 * place. Same arithmetic as the Java kernels (no fused multiply-adds); a test compares them.
 *
 * <p>Loaded when: Linux x86-64 with AVX2 and FMA, ND4J's CPU backend, the library file passes {@link #probe}
 * (it loads, has every function with the expected version), and exactly one libgomp is mapped afterwards (two
 * OpenMP runtimes would fight over the cores). Nothing else is looked up in any other library. The system property
 * {@code regularize4j.nativeKernels=false} or {@link #setEnabled} turns them off.
 *
 * <pre>{@code
 * boolean used = NativeKernels.isUsable();   // true on Linux x86-64 with AVX2
 * String why = NativeKernels.status();       // e.g. "loaded, 2 OpenMP threads"
 * }</pre>
 */
public final class NativeKernels {
    private static final String RESOURCE = "/org/regularize4j/native/linux-x86_64/libr4jkernels.so";
    private static final int VERSION = 7;
    private static final boolean LOADED;
    private static final String STATUS;
    private static volatile boolean enabled =
            Boolean.parseBoolean(System.getProperty("regularize4j.nativeKernels", "true"));

    static {
        boolean loaded = false;
        String status;
        try {
            status = load();
            loaded = status == null;
            if (loaded) {
                status = "loaded, " + r4j_max_threads() + " OpenMP threads";
            }
        } catch (Throwable t) {   // UnsatisfiedLinkError, IOException, ...: fall back to the Java kernels
            status = "not loaded: " + t;
        }
        LOADED = loaded;
        STATUS = status;
    }

    private NativeKernels() {
    }

    /** Loads the library; returns null on success, else why it was not loaded. */
    private static String load() throws IOException {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return "not loaded: bundled for linux-x86_64 only (this is " + os + "/" + arch + ")";
        }
        if (!Nd4j.getEnvironment().isCPU()) {
            return "not loaded: ND4J backend is not the CPU backend";
        }
        String flags = cpuFlags();
        if (!flags.contains(" avx2 ") || !flags.contains(" fma ")) {
            return "not loaded: the CPU lacks AVX2/FMA";
        }
        NativeBackend.current();   // libnd4j (and its libgomp) first: ours must resolve to that libgomp
        if (NativeKernels.class.getResource(RESOURCE) == null) {
            return "not loaded: " + RESOURCE + " is not on the classpath";
        }
        File file = Native.extractFromResourcePath(RESOURCE, NativeKernels.class.getClassLoader());
        String problem = probe(file);
        if (problem != null) {
            return problem;
        }
        String identity = identity(file);
        if (identity != null) {
            return identity;
        }
        Native.register(NativeKernels.class, NativeLibrary.getInstance(file.getAbsolutePath()));
        Set<String> gomps = mappedLibraries("libgomp");
        if (gomps.size() > 1) {
            return "not used: " + gomps.size() + " OpenMP runtimes mapped " + gomps;
        }
        return null;
    }

    /**
     * Checks a library file before anything is registered from it: it must load (the dynamic loader rejects a file
     * that is not a complete ELF shared object of this machine's class), export every function this class declares,
     * and report the expected version. Returns null when it passes, else why not ({@code "not loaded: ..."} or
     * {@code "not used: ..."}). Never registers anything.
     */
    static String probe(File file) {
        String elf = ElfCheck.problem(file.toPath());
        if (elf != null) {   // dlopen trusts the headers: a truncated file would crash the process
            return "not loaded: " + file + " is not a loadable shared library (" + elf + ")";
        }
        NativeLibrary library;
        try {
            library = NativeLibrary.getInstance(file.getAbsolutePath());
        } catch (UnsatisfiedLinkError e) {
            return "not loaded: " + file + " is not a loadable shared library (" + e.getMessage() + ")";
        }
        for (java.lang.reflect.Method m : NativeKernels.class.getDeclaredMethods()) {
            if (java.lang.reflect.Modifier.isNative(m.getModifiers())) {
                try {
                    library.getFunction(m.getName());
                } catch (UnsatisfiedLinkError e) {
                    return "not loaded: " + file + " has no function " + m.getName();
                }
            }
        }
        int version = library.getFunction("r4j_version").invokeInt(new Object[0]);
        if (version != VERSION) {
            return "not used: " + file + " is version " + version + ", expected " + VERSION;
        }
        return null;
    }

    /**
     * Null if the file's SHA-256 is the one {@code scripts/build-native} recorded in {@code BUILD-INFO} next to the
     * bundled library (the exact build this version of the classes was made with), else why not.
     */
    private static String identity(File file) throws IOException {
        String info = RESOURCE.substring(0, RESOURCE.lastIndexOf('/') + 1) + "BUILD-INFO";
        java.io.InputStream expected = NativeKernels.class.getResourceAsStream(info);
        if (expected == null) {
            return "not used: no " + info + " next to the library";
        }
        String want = null;
        try (expected) {
            for (String line : new String(expected.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
                if (line.startsWith("sha256: ")) {
                    want = line.substring("sha256: ".length()).trim();
                }
            }
        }
        if (want == null) {
            return "not used: " + info + " has no sha256 line";
        }
        String got;
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file.toPath()));
            got = String.format("%064x", new java.math.BigInteger(1, digest));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return got.equals(want) ? null : "not used: " + file + " has SHA-256 " + got + ", expected " + want;
    }

    private static String cpuFlags() throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/cpuinfo"))) {
            if (line.startsWith("flags")) {
                return " " + line.substring(line.indexOf(':') + 1).trim() + " ";
            }
        }
        return "";
    }

    /** Distinct paths of mapped files whose name contains {@code name} (from /proc/self/maps). */
    static Set<String> mappedLibraries(String name) throws IOException {
        Set<String> paths = new TreeSet<>();
        for (String line : Files.readAllLines(Paths.get("/proc/self/maps"))) {
            int slash = line.indexOf('/');
            if (slash >= 0 && line.substring(line.lastIndexOf('/') + 1).contains(name)) {
                paths.add(Paths.get(line.substring(slash).trim()).toRealPath().toString());
            }
        }
        return paths;
    }

    /** Whether the library is loaded and may be used (the Java kernels run otherwise). */
    public static boolean isLoaded() {
        return LOADED;
    }

    /** Whether the kernels are loaded and enabled. */
    public static boolean isUsable() {
        return LOADED && enabled;
    }

    /** Turns the native kernels on or off (the Java kernels run when off). For benchmarks and tests. */
    public static void setEnabled(boolean on) {
        enabled = on;
    }

    /** One line: loaded (with the thread count) or why not, and whether enabled. */
    public static String status() {
        return STATUS + (LOADED && !enabled ? ", disabled" : "");
    }

    /** Whether the arrays suit the kernels: usable, float32, 'c'-contiguous. */
    static boolean supports(INDArray... arrays) {
        if (!isUsable()) {
            return false;
        }
        for (INDArray a : arrays) {
            if (a.dataType() != DataType.FLOAT || !NativeOps.isCContiguous(a)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Throws IllegalArgumentException unless {@code a} has exactly {@code shape} (the native kernels trust the
     * lengths they are given; a mismatch must not reach them).
     */
    static void requireShape(String name, INDArray a, long... shape) {
        if (!Arrays.equals(a.shape(), shape)) {
            throw new IllegalArgumentException(name + " must have shape " + Arrays.toString(shape) + ", got "
                    + Arrays.toString(a.shape()));
        }
    }

    /**
     * Address of an array's first element. A view's data buffer is itself a view that starts at the array's
     * offset (ND4J M2.1), so the buffer's address is the element's; {@code offset()} must not be added again.
     */
    static long address(INDArray a) {
        return a.data().addressPointer().address();
    }

    /**
     * A residual block's output in one pass: {@code out[i] = relu(scales[i]·branch[i] + shortcut[i])} per example
     * i ({@code scales} null: a multiplier of 1, i.e. {@code relu(branch + shortcut)}), where ReLU is libnd4j's
     * ({@code v < 0 ? 0 : v}). Returns false, doing nothing, where the native kernels do not apply (then compute
     * it with libnd4j ops); the arithmetic is the same as theirs (a float multiply, then a float add).
     */
    public static boolean scaleAddRelu(INDArray branch, float[] scales, INDArray shortcut, INDArray out) {
        if (!supports(branch, shortcut, out) || branch.rank() < 1) {
            return false;
        }
        requireShape("shortcut", shortcut, branch.shape());
        requireShape("out", out, branch.shape());
        int n = (int) branch.size(0);
        if (scales != null && scales.length != n) {
            throw new IllegalArgumentException("scales must have " + n + " values (examples), got " + scales.length);
        }
        r4j_scale_add_relu(address(branch), address(shortcut), address(out), n, n == 0 ? 0 : branch.length() / n,
                scales);
        return true;
    }

    /**
     * ReLU backward from the ReLU's output {@code y}: {@code dx = dy} where {@code y} is not +0, else 0 (float32,
     * 'c'-contiguous, equal lengths; {@code dx} may be {@code dy}). Returns false, doing nothing, where the native
     * kernels do not apply.
     */
    public static boolean reluBackward(INDArray y, INDArray dy, INDArray dx) {
        if (!supports(y, dy, dx)) {
            return false;
        }
        if (dy.length() != y.length() || dx.length() != y.length()) {
            throw new IllegalArgumentException("dy and dx must have y's " + y.length() + " values, got " + dy.length()
                    + " and " + dx.length());
        }
        r4j_relu_backward(address(y), address(dy), address(dx), y.length());
        return true;
    }

    /**
     * Sets every element of {@code a} to +0 (one memset). Returns false, doing nothing, where the native kernels
     * do not apply (then use {@code a.assign(0)}).
     */
    public static boolean zero(INDArray a) {
        if (!supports(a)) {
            return false;
        }
        r4j_zero(address(a), a.length());
        return true;
    }

    /**
     * {@code out = x + y} element-wise (same shape; {@code out} may be {@code x} or {@code y}), the float sum as
     * libnd4j's {@code addi}. Returns false, doing nothing, where the native kernels do not apply.
     */
    public static boolean add(INDArray x, INDArray y, INDArray out) {
        if (!supports(x, y, out)) {
            return false;
        }
        requireShape("y", y, x.shape());
        requireShape("out", out, x.shape());
        r4j_add(address(x), address(y), address(out), x.length());
        return true;
    }

    /**
     * Copies {@code src} into {@code dst} (same shape, not overlapping), on the OpenMP team when large. Returns
     * false, doing nothing, where the native kernels do not apply (then use {@code dst.assign(src)}).
     */
    public static boolean copy(INDArray src, INDArray dst) {
        if (!supports(src, dst)) {
            return false;
        }
        requireShape("dst", dst, src.shape());
        long a = address(src), b = address(dst), bytes = 4 * src.length();
        if (a < b + bytes && b < a + bytes && src.length() > 0) {
            throw new IllegalArgumentException("src and dst overlap");
        }
        r4j_copy(a, b, src.length());
        return true;
    }

    /**
     * Whether {@code a} is a rank-4 {@code [n, c, h, w]} array stored channels-last: a view, as {@link #nchwView}
     * makes, of a 'c'-ordered {@code [n, h, w, c]} array.
     */
    public static boolean isNhwcView(INDArray a) {
        if (a.rank() != 4) {
            return false;
        }
        // 'c' order of the dimensions (n, h, w, c), sizes of 1 ignored (as NativeOps.isCContiguous); no permute,
        // which costs a native call
        long[] shape = a.shape();
        long[] stride = a.stride();
        long expected = 1;
        for (int d : new int[] {1, 3, 2, 0}) {
            if (shape[d] != 1 && stride[d] != expected) {
                return false;
            }
            expected *= shape[d];
        }
        return true;
    }

    /** The {@code [n, c, h, w]} view of a channels-last {@code [n, h, w, c]} array (no copy). */
    public static INDArray nchwView(INDArray nhwc) {
        return nhwc.permute(0, 3, 1, 2);
    }

    /**
     * Layout change between NCHW and NHWC ('c'-ordered float arrays, not overlapping): {@code toNhwc} reads
     * {@code src [n, c, h, w]} into {@code dst [n, h, w, c]}, else the reverse; with {@code accumulate}, added to
     * {@code dst}. Returns false, doing nothing, where the native kernels do not apply.
     */
    public static boolean transpose(INDArray src, INDArray dst, boolean toNhwc, boolean accumulate) {
        if (!supports(src, dst) || src.rank() != 4) {
            return false;
        }
        long n = src.size(0);
        long c = toNhwc ? src.size(1) : src.size(3);
        long h = toNhwc ? src.size(2) : src.size(1);
        long w = toNhwc ? src.size(3) : src.size(2);
        requireShape("dst", dst, toNhwc ? new long[] {n, h, w, c} : new long[] {n, c, h, w});
        r4j_transpose(address(src), address(dst), (int) n, (int) c, (int) (h * w), toNhwc ? 1 : 0,
                accumulate ? 1 : 0);
        return true;
    }

    /**
     * The option-A (zero-padded) shortcut of a residual block on channels-last arrays, in one pass: {@code
     * out[:, r, q, before + j] = x[:, r·stride, q·stride, j]} for each input channel j, and 0 in {@code out}'s other
     * channels ({@code x [n, h, w, cIn]}, {@code out [n, hOut, wOut, cOut]} with {@code hOut = ceil(h / stride)};
     * every element is written). Returns false, doing nothing, where the native kernels do not apply.
     *
     * @throws IllegalArgumentException if the shapes do not fit (named), or {@code before} is outside
     *                                  {@code [0, cOut - cIn]}, or {@code stride < 1}
     */
    public static boolean zeroPadShortcutNhwc(INDArray x, int stride, int before, INDArray out) {
        if (!supports(x, out)) {
            return false;
        }
        long[] s = zeroPadShape(x.permute(0, 3, 1, 2), stride, before, out.permute(0, 3, 1, 2));
        r4j_zero_pad_forward_nhwc(address(x), address(out), (int) s[0], (int) s[1], (int) s[2], (int) s[3],
                (int) s[4], before, stride, (int) s[5], (int) s[6]);
        return true;
    }

    /**
     * The zero-padded shortcut's backward pass: {@code dx[:, r·stride, q·stride, j] (+)= d[:, r, q, before + j]},
     * added to {@code dx} when {@code accumulate}, else {@code dx} is overwritten (0 where the shortcut does not
     * read). Shapes as in {@link #zeroPadShortcutNhwc} ({@code d} like {@code out}, {@code dx} like {@code x}).
     * Returns false, doing nothing, where the native kernels do not apply.
     */
    public static boolean zeroPadShortcutBackwardNhwc(INDArray d, int stride, int before, INDArray dx,
                                                      boolean accumulate) {
        if (!supports(d, dx)) {
            return false;
        }
        long[] s = zeroPadShape(dx.permute(0, 3, 1, 2), stride, before, d.permute(0, 3, 1, 2));
        r4j_zero_pad_backward_nhwc(address(d), address(dx), (int) s[0], (int) s[1], (int) s[2], (int) s[3],
                (int) s[4], before, stride, (int) s[5], (int) s[6], accumulate ? 1 : 0);
        return true;
    }

    /** Checks the shapes of a zero-padded shortcut; returns {n, cIn, h, w, cOut, hOut, wOut}. */
    private static long[] zeroPadShape(INDArray in, int stride, int before, INDArray out) {
        if (in.rank() != 4 || out.rank() != 4) {
            throw new IllegalArgumentException("the shortcut's input and output must have rank 4 (NCHW), got "
                    + Arrays.toString(in.shape()) + " and " + Arrays.toString(out.shape()));
        }
        if (stride < 1) {
            throw new IllegalArgumentException("stride must be >= 1, got " + stride);
        }
        long n = in.size(0), cIn = in.size(1), h = in.size(2), w = in.size(3), cOut = out.size(1);
        if (before < 0 || before > cOut - cIn) {
            throw new IllegalArgumentException("before must be in [0, " + (cOut - cIn) + "] (cOut - cIn), got "
                    + before);
        }
        long hOut = (h + stride - 1) / stride;
        long wOut = (w + stride - 1) / stride;
        requireShape("the shortcut's output", out, n, cOut, hOut, wOut);
        return new long[] {n, cIn, h, w, cOut, hOut, wOut};
    }

    static native int r4j_version();

    static native int r4j_max_threads();

    static native void r4j_relu_backward(long y, long dy, long dx, long length);

    static native void r4j_scale_add_relu(long x, long y, long out, int n, long m, float[] scales);

    static native void r4j_zero(long a, long length);

    static native void r4j_copy(long src, long dst, long length);

    static native void r4j_add(long x, long y, long out, long length);

    static native void r4j_zero_pad_forward_nhwc(long x, long out, int n, int cIn, int h, int w, int cOut,
                                                 int before, int stride, int hOut, int wOut);

    static native void r4j_zero_pad_backward_nhwc(long d, long dx, int n, int cIn, int h, int w, int cOut,
                                                  int before, int stride, int hOut, int wOut, int accumulate);

    static native void r4j_transpose(long src, long dst, int n, int c, int hw, int toNhwc, int accumulate);

    static native void r4j_bn_normalize_nhwc(long x, long y, long rows, int c, long gamma, long beta, double eps,
                                             int relu, double[] mean, double[] var);

    static native void r4j_bn_forward_train_nhwc(long x, long y, long rows, int c, long gamma, long beta,
                                                 double eps, int relu, double[] mean, double[] var);

    static native void r4j_bn_backward_nhwc(long x, long y, int relu, long dy, double scale, long rows, int c,
                                            double[] mean, double[] var, long gamma, double eps, long dx,
                                            double[] dGamma, double[] dBeta, float[] exampleScales, int hw);

}
