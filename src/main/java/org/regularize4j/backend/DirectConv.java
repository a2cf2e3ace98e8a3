package org.regularize4j.backend;

import org.bytedeco.dnnl.const_dnnl_op_desc_t;
import org.bytedeco.dnnl.dnnl_convolution_desc_t;
import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc_t;
import org.bytedeco.dnnl.dnnl_post_ops;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.dnnl.dnnl_version_t;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_backward_data_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_backward_weights_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_direct;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_forward_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu;
import static org.bytedeco.dnnl.global.dnnl.dnnl_eltwise_relu;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_inference;
import static org.bytedeco.dnnl.global.dnnl.dnnl_post_ops_append_eltwise;
import static org.bytedeco.dnnl.global.dnnl.dnnl_post_ops_append_sum;
import static org.bytedeco.dnnl.global.dnnl.dnnl_post_ops_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_post_ops_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_attr_set_post_ops;
import static org.bytedeco.dnnl.global.dnnl.dnnl_engine_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_f32;
import static org.bytedeco.dnnl.global.dnnl.dnnl_format_tag_any;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_training;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_get_size;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_equal;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_init_by_strides;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_init_by_tag;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_set_data_handle;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_query;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_query_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_execute;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_diff_weights_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_impl_info_str;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_weights_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_reorder_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_default_flags;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;
import static org.bytedeco.dnnl.global.dnnl.dnnl_version;

/**
 * A convolution run by oneDNN directly on channels-last (NHWC) float arrays: no bias, no dilation, square kernel,
 * stride and symmetric padding; weights in DL4J's {@code [outC, inC, kH, kW]} layout.
 *
 * <p>Why: libnd4j's {@code conv2d}/{@code conv2d_bp} take NCHW arrays and copy them into oneDNN's layout and back on
 * every call (inputs once, output gradients twice), and create their primitives each time. At 16 channels and
 * 32x32 those copies cost about as much as the convolution. oneDNN's fast kernels read NHWC directly, so a network
 * whose activations stay channels-last needs no copies; the primitives are created once per shape (here).
 *
 * <p>How: oneDNN's public, stable C API (v2), through JavaCPP's presets {@code org.bytedeco:dnnl} (2.5.2, the
 * JavaCPP version of ND4J M2.1; natives for linux-x86_64, macosx-x86_64 and windows-x86_64). Its libdnnl resolves
 * its OpenMP runtime to the libgomp that libnd4j loaded, so both run on one thread team. Usable when those natives
 * load on this platform; the system property {@code regularize4j.directConv=false} or {@link #setEnabled} turns it
 * off. Which layers use it is decided once per layer by {@link KernelPaths}.
 *
 * <p>A plan holds mutable native state: use it from one thread at a time (each layer owns its plans).
 *
 * <pre>{@code
 * if (DirectConv.isUsable()) {
 *     try (DirectConv conv = DirectConv.create(8, 16, 32, 32, 16, 3, 1, 1)) {
 *         conv.forward(x, w, y);   // x [8, 32, 32, 16], w [16, 16, 3, 3], y [8, 32, 32, 16]
 *     }
 * }
 * }</pre>
 */
public final class DirectConv implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final Object LOCK = new Object();
    private static volatile String status;
    private static volatile boolean available;
    private static volatile boolean enabled =
            Boolean.parseBoolean(System.getProperty("regularize4j.directConv", "true"));
    private static dnnl_engine engine;

    private final long[] xShape;
    private final long[] yShape;
    private final long[] wShape;
    private final int stride;
    private final int padding;
    private final Handles handles;
    private final Cleaner.Cleanable cleanable;

    /** A pointer whose address is set per call (the arrays' memory; oneDNN keeps no reference after a call). */
    static final class Address extends Pointer {
        Address at(long address) {
            this.address = address;
            return this;
        }
    }

    /** The plan's native objects; destroyed when the plan is closed or unreachable. */
    private static final class Handles implements Runnable {
        final dnnl_stream stream = new dnnl_stream();
        final dnnl_primitive fwd = new dnnl_primitive();
        final dnnl_primitive bwdData = new dnnl_primitive();
        final dnnl_primitive bwdWeights = new dnnl_primitive();
        dnnl_primitive reorderFwd;          // user weights -> forward weights, or null when the layouts agree
        dnnl_primitive reorderBwd;          // user weights -> backward-data weights, or null
        dnnl_primitive reorderDw;           // backward-weights result -> user layout, or null
        final dnnl_memory x = new dnnl_memory();
        final dnnl_memory y = new dnnl_memory();
        final dnnl_memory dy = new dnnl_memory();
        final dnnl_memory dx = new dnnl_memory();
        final dnnl_memory wUser = new dnnl_memory();
        final dnnl_memory dwUser = new dnnl_memory();
        dnnl_memory wFwd;
        dnnl_memory wBwd;
        dnnl_memory dwInner;
        /** Bytes of the largest weights buffer in oneDNN's layouts (they live in the thread's scratch). */
        long scratchBytes;
        final Inference[] inference = new Inference[4];   // by (accumulate ? 2 : 0) + (relu ? 1 : 0), made on demand
        final List<Object> owned = new ArrayList<>();   // everything created, for run()
        final Address[] addresses = {new Address(), new Address(), new Address(), new Address()};
        final dnnl_exec_arg_t args = new dnnl_exec_arg_t(4);
        final String[] implementations = new String[3];
        boolean closed;

        @Override
        public synchronized void run() {
            if (closed) {
                return;
            }
            closed = true;
            release(owned, stream, args);
        }
    }

    /** A forward-inference primitive with a bias and post-ops (sum, ReLU); its weights and bias memories. */
    private static final class Inference {
        final dnnl_primitive conv = new dnnl_primitive();
        final dnnl_memory bias = new dnnl_memory();
        dnnl_primitive reorder;   // user weights -> the primitive's weights, or null when the layouts agree
        dnnl_memory weights;
        String implementation;
    }

    private DirectConv(Handles handles, long[] xShape, long[] yShape, long[] wShape, int stride, int padding) {
        this.handles = handles;
        this.cleanable = CLEANER.register(this, handles);
        this.xShape = xShape;
        this.yShape = yShape;
        this.wShape = wShape;
        this.stride = stride;
        this.padding = padding;
    }

    private static void init() {
        if (status != null) {
            return;
        }
        synchronized (LOCK) {
            if (status != null) {
                return;
            }
            String why;
            boolean ok = false;
            try {
                if (!Nd4j.getEnvironment().isCPU()) {
                    why = "not used: ND4J's backend is not the CPU backend (the arrays live on the device)";
                } else {
                    dnnl_engine e = new dnnl_engine();
                    int rc = dnnl_engine_create(e, dnnl_cpu, 0);
                    if (rc != dnnl_success) {
                        why = "not used: oneDNN could not create a CPU engine (status " + rc + ")";
                    } else {
                        engine = e;
                        dnnl_version_t v = dnnl_version();
                        why = String.format(Locale.ROOT, "oneDNN %d.%d.%d (public C API, org.bytedeco:dnnl)",
                                v.major(), v.minor(), v.patch());
                        ok = true;
                        // libdnnl resolves libgomp.so.1 to the copy libnd4j loaded; two runtimes would fight for the
                        // cores (checked where /proc/self/maps exists)
                        java.util.Set<String> gomps = mappedGomps();
                        if (gomps.size() > 1) {
                            why = "not used: " + gomps.size() + " OpenMP runtimes mapped " + gomps;
                            ok = false;
                        }
                    }
                }
            } catch (Throwable t) {   // NoClassDefFoundError, UnsatisfiedLinkError: no oneDNN for this platform
                Throwable root = t;
                while (root.getCause() != null) {
                    root = root.getCause();
                }
                why = "not used: oneDNN's natives did not load (" + root + "); they come with org.bytedeco:dnnl-platform"
                        + " 2.5.2-1.5.7, built for linux-x86_64, macosx-x86_64 and windows-x86_64";
            }
            available = ok;
            status = why;
        }
    }

    private static java.util.Set<String> mappedGomps() {
        try {
            return java.nio.file.Files.isReadable(java.nio.file.Paths.get("/proc/self/maps"))
                    ? NativeKernels.mappedLibraries("libgomp") : java.util.Set.of();
        } catch (java.io.IOException e) {
            return java.util.Set.of();
        }
    }

    /** Whether direct convolutions are available and enabled. */
    public static boolean isUsable() {
        init();
        return available && enabled;
    }

    /** The CPU engine (after {@link #isAvailable()} returned true), shared with {@link DirectPool}. */
    static dnnl_engine engine() {
        if (!isAvailable()) {
            throw new IllegalStateException("oneDNN is not available: " + status());
        }
        return engine;
    }

    /** Whether oneDNN loaded (whether or not enabled). */
    public static boolean isAvailable() {
        init();
        return available;
    }

    /** Whether direct convolutions are enabled (system property {@code regularize4j.directConv}, {@link #setEnabled}). */
    public static boolean isEnabled() {
        return enabled;
    }

    /**
     * Turns direct convolutions (and so the channels-last layers) on or off, for layers initialized afterwards. For
     * tests and benchmarks.
     */
    public static void setEnabled(boolean on) {
        enabled = on;
    }

    /** One line: the oneDNN version found, or why direct convolutions are not used. */
    public static String status() {
        init();
        return status + (available && !enabled ? ", disabled" : "");
    }

    /**
     * Plans a convolution of {@code [n, h, w, cIn]} inputs into {@code [n, hOut, wOut, cOut]} outputs, a
     * {@code kernel x kernel} window, the given stride and symmetric padding ({@code hOut = (h + 2 padding -
     * kernel) / stride + 1}).
     *
     * @throws IllegalArgumentException if a size is out of range (named)
     * @throws IllegalStateException    if oneDNN did not load, or refuses the shape
     */
    public static DirectConv create(int n, int cIn, int h, int w, int cOut, int kernel, int stride, int padding) {
        checkPositive("n", n);
        checkPositive("cIn", cIn);
        checkPositive("h", h);
        checkPositive("w", w);
        checkPositive("cOut", cOut);
        checkPositive("kernel", kernel);
        checkPositive("stride", stride);
        if (padding < 0 || padding >= kernel) {
            throw new IllegalArgumentException("padding must be in [0, " + (kernel - 1) + "] (kernel - 1), got "
                    + padding);
        }
        if (h + 2L * padding < kernel || w + 2L * padding < kernel) {
            throw new IllegalArgumentException("the padded input (" + h + "x" + w + ", padding " + padding
                    + ") must be at least the kernel (" + kernel + ")");
        }
        if (!isAvailable()) {   // enabled or not: the switch only steers which path layers created later take
            throw new IllegalStateException("direct convolutions are not available: " + status());
        }
        long ho = NativeOps.outSize(h, kernel, stride, padding);
        long wo = NativeOps.outSize(w, kernel, stride, padding);
        Handles hd = new Handles();
        try {
            plan(hd, n, cIn, h, w, cOut, kernel, stride, padding, ho, wo);
        } catch (RuntimeException e) {
            hd.run();
            throw e;
        }
        return new DirectConv(hd, new long[] {n, h, w, cIn}, new long[] {n, ho, wo, cOut},
                new long[] {cOut, cIn, kernel, kernel}, stride, padding);
    }

    private static void plan(Handles hd, int n, int cIn, int h, int w, int cOut, int k, int stride, int pad, long ho,
                             long wo) {
        dnnl_memory_desc_t[] mds = descriptors(n, cIn, h, w, cOut, k, ho, wo);
        dnnl_memory_desc_t xmd = mds[0];
        dnnl_memory_desc_t ymd = mds[1];
        dnnl_memory_desc_t wAny = mds[2];
        dnnl_memory_desc_t wUserMd = mds[3];
        check(dnnl_stream_create(hd.stream, engine, dnnl_stream_default_flags), "stream_create");
        long[] strides = {stride, stride};
        long[] pads = {pad, pad};
        dnnl_primitive_desc fpd = new dnnl_primitive_desc();
        dnnl_primitive_desc bdpd = new dnnl_primitive_desc();
        dnnl_primitive_desc bwpd = new dnnl_primitive_desc();
        try {
            dnnl_convolution_desc_t fwd = new dnnl_convolution_desc_t();
            check(dnnl_convolution_forward_desc_init(fwd, dnnl_forward_training, dnnl_convolution_direct, xmd, wAny,
                    null, ymd, strides, pads, pads), "convolution_forward_desc_init");
            check(dnnl_primitive_desc_create(fpd, new const_dnnl_op_desc_t(fwd), null, engine, null),
                    "forward primitive_desc_create");
            dnnl_convolution_desc_t bwdData = new dnnl_convolution_desc_t();
            check(dnnl_convolution_backward_data_desc_init(bwdData, dnnl_convolution_direct, xmd, wAny, ymd, strides,
                    pads, pads), "convolution_backward_data_desc_init");
            check(dnnl_primitive_desc_create(bdpd, new const_dnnl_op_desc_t(bwdData), null, engine, fpd),
                    "backward-data primitive_desc_create");
            dnnl_convolution_desc_t bwdWeights = new dnnl_convolution_desc_t();
            check(dnnl_convolution_backward_weights_desc_init(bwdWeights, dnnl_convolution_direct, xmd, wAny, null,
                    ymd, strides, pads, pads), "convolution_backward_weights_desc_init");
            check(dnnl_primitive_desc_create(bwpd, new const_dnnl_op_desc_t(bwdWeights), null, engine, fpd),
                    "backward-weights primitive_desc_create");
            primitive(hd, hd.fwd, fpd, "forward");
            primitive(hd, hd.bwdData, bdpd, "backward-data");
            primitive(hd, hd.bwdWeights, bwpd, "backward-weights");
            for (dnnl_memory m : new dnnl_memory[] {hd.x, hd.dx}) {
                memory(hd, m, xmd, null);
            }
            for (dnnl_memory m : new dnnl_memory[] {hd.y, hd.dy}) {
                memory(hd, m, ymd, null);
            }
            memory(hd, hd.wUser, wUserMd, null);
            memory(hd, hd.dwUser, wUserMd, null);
            dnnl_primitive[] reorder = new dnnl_primitive[1];
            hd.wFwd = weights(hd, dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0), hd.wUser, wUserMd,
                    true, reorder);
            hd.reorderFwd = reorder[0];
            reorder[0] = null;
            hd.wBwd = weights(hd, dnnl_primitive_desc_query_md(bdpd, dnnl_query_weights_md, 0), hd.wUser, wUserMd,
                    true, reorder);
            hd.reorderBwd = reorder[0];
            reorder[0] = null;
            hd.dwInner = weights(hd, dnnl_primitive_desc_query_md(bwpd, dnnl_query_diff_weights_md, 0), hd.dwUser,
                    wUserMd, false, reorder);
            hd.reorderDw = reorder[0];
            dnnl_primitive_desc[] pds = {fpd, bdpd, bwpd};
            for (int i = 0; i < 3; i++) {
                try (PointerPointer<BytePointer> name = new PointerPointer<>(1)) {
                    hd.implementations[i] = dnnl_primitive_desc_query(pds[i], dnnl_query_impl_info_str, 0, name)
                            == dnnl_success && name.get(0) != null ? name.get(BytePointer.class, 0).getString() : "?";
                }
            }
        } finally {
            for (dnnl_primitive_desc pd : new dnnl_primitive_desc[] {fpd, bdpd, bwpd}) {
                if (!pd.isNull()) {
                    dnnl_primitive_desc_destroy(pd);
                }
            }
        }
    }

    /**
     * The memory descriptors of a plan: NHWC input and output described as [n, c, h, w] with channels-last strides,
     * weights in any layout oneDNN likes, and DL4J's [outC, inC, k, k] weights.
     */
    private static dnnl_memory_desc_t[] descriptors(int n, int cIn, int h, int w, int cOut, int k, long ho, long wo) {
        dnnl_memory_desc_t xmd = new dnnl_memory_desc_t();
        dnnl_memory_desc_t ymd = new dnnl_memory_desc_t();
        dnnl_memory_desc_t wAny = new dnnl_memory_desc_t();
        dnnl_memory_desc_t wUserMd = new dnnl_memory_desc_t();
        check(dnnl_memory_desc_init_by_strides(xmd, 4, new long[] {n, cIn, h, w}, dnnl_f32,
                new long[] {(long) h * w * cIn, 1, (long) w * cIn, cIn}), "input descriptor");
        check(dnnl_memory_desc_init_by_strides(ymd, 4, new long[] {n, cOut, ho, wo}, dnnl_f32,
                new long[] {ho * wo * cOut, 1, wo * cOut, cOut}), "output descriptor");
        check(dnnl_memory_desc_init_by_tag(wAny, 4, new long[] {cOut, cIn, k, k}, dnnl_f32, dnnl_format_tag_any),
                "weights descriptor");
        check(dnnl_memory_desc_init_by_strides(wUserMd, 4, new long[] {cOut, cIn, k, k}, dnnl_f32,
                new long[] {(long) cIn * k * k, (long) k * k, k, 1}), "user weights descriptor");
        return new dnnl_memory_desc_t[] {xmd, ymd, wAny, wUserMd};
    }

    private static void primitive(Handles hd, dnnl_primitive p, dnnl_primitive_desc pd, String what) {
        check(dnnl_primitive_create(p, pd), what + " primitive_create");
        hd.owned.add(p);
    }

    /** A memory object; {@code data} null: no buffer yet (set per call). */
    private static void memory(Handles hd, dnnl_memory m, dnnl_memory_desc_t md, Pointer data) {
        check(dnnl_memory_create(m, md, engine, data), "memory_create");
        hd.owned.add(m);
    }

    /** Each thread's buffer for weights in oneDNN's layouts, shared by all its plans (it only grows). */
    private static final ThreadLocal<WeightScratch> SCRATCH = ThreadLocal.withInitial(WeightScratch::new);

    /** A 64-byte aligned native buffer of at least the largest size asked for so far. */
    private static final class WeightScratch {
        private BytePointer buffer;
        private long capacity;
        private final Address address = new Address();

        Pointer at(long bytes) {
            if (bytes > capacity) {
                if (buffer != null) {
                    buffer.close();
                }
                buffer = new BytePointer(bytes + 64);
                capacity = bytes;
                address.at((buffer.address() + 63) & ~63L);
            }
            return address;
        }
    }

    /** Points a weights memory in oneDNN's layout at the calling thread's scratch buffer for the next primitive. */
    private static void scratch(Handles hd, dnnl_memory m) {
        int rc = dnnl_memory_set_data_handle(m, SCRATCH.get().at(hd.scratchBytes));
        if (rc != dnnl_success) {
            throw new IllegalStateException("oneDNN convolution: memory_set_data_handle failed (status " + rc + ")");
        }
    }

    /**
     * The memory for a primitive's weights: the user's when oneDNN takes DL4J's layout as it is, else a memory of
     * oneDNN's layout and a reorder to it ({@code fromUser}) or from it. Such a memory has no buffer of its own: its
     * contents live only from the reorder to the convolution (or back), so every plan of a thread shares one scratch
     * buffer ({@link #scratch}); a ResNet-50 would otherwise hold three copies of its 23.5M weights.
     */
    private static dnnl_memory weights(Handles hd, dnnl_memory_desc_t md, dnnl_memory user, dnnl_memory_desc_t userMd,
                                       boolean fromUser, dnnl_primitive[] reorder) {
        if (dnnl_memory_desc_equal(md, userMd) != 0) {
            return user;
        }
        dnnl_memory m = new dnnl_memory();
        memory(hd, m, md, null);   // pointed at the thread's scratch for each call (WeightScratch)
        hd.scratchBytes = Math.max(hd.scratchBytes, dnnl_memory_desc_get_size(md));
        dnnl_primitive_desc rpd = new dnnl_primitive_desc();
        try {
            check(fromUser ? dnnl_reorder_primitive_desc_create(rpd, userMd, engine, md, engine, null)
                    : dnnl_reorder_primitive_desc_create(rpd, md, engine, userMd, engine, null), "reorder");
            reorder[0] = new dnnl_primitive();
            primitive(hd, reorder[0], rpd, "reorder");
        } finally {
            if (!rpd.isNull()) {
                dnnl_primitive_desc_destroy(rpd);
            }
        }
        return m;
    }

    private static void check(int rc, String what) {
        if (rc != dnnl_success) {
            throw new IllegalStateException("oneDNN refused the convolution: " + what + " failed (status " + rc + ")");
        }
    }

    private static void checkPositive(String name, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + v);
        }
    }

    /** Whether this plan is for inputs of this NHWC shape (and these weights, stride, padding). */
    public boolean fits(long[] xNhwc, long[] weights, int stride, int padding) {
        return Arrays.equals(xShape, xNhwc) && Arrays.equals(wShape, weights) && this.stride == stride
                && this.padding == padding;
    }

    /** The NHWC output shape {@code [n, hOut, wOut, cOut]}. */
    public long[] outShape() {
        return yShape.clone();
    }

    /** The implementations oneDNN chose: forward, backward data, backward weights (e.g. "brgconv:avx512_core"). */
    public String[] implementations() {
        live();
        return handles.implementations.clone();
    }

    /** {@code y = conv(x, w)}. */
    public void forward(INDArray x, INDArray w, INDArray y) {
        check("x", x, xShape);
        check("w", w, wShape);
        check("y", y, yShape);
        Handles hd = live();
        set(hd.x, hd.addresses[0], x);
        set(hd.y, hd.addresses[1], y);
        set(hd.wUser, hd.addresses[2], w);
        if (hd.reorderFwd != null) {
            scratch(hd, hd.wFwd);
            execute(hd, hd.reorderFwd, "forward", DNNL_ARG_SRC, hd.wUser, DNNL_ARG_DST, hd.wFwd);
        }
        execute(hd, hd.fwd, "forward", DNNL_ARG_SRC, hd.x, DNNL_ARG_WEIGHTS, hd.wFwd, DNNL_ARG_DST, hd.y);
    }

    /**
     * Backward pass from the output gradient {@code dy}: the input gradient into {@code dx} (skipped when null)
     * and the weight gradient into {@code dw} (overwritten).
     */
    public void backward(INDArray x, INDArray w, INDArray dy, INDArray dx, INDArray dw) {
        check("x", x, xShape);
        check("w", w, wShape);
        check("dy", dy, yShape);
        check("dw", dw, wShape);
        if (dx != null) {
            check("dx", dx, xShape);
        }
        Handles hd = live();
        set(hd.dy, hd.addresses[0], dy);
        if (dx != null) {
            set(hd.dx, hd.addresses[1], dx);
            set(hd.wUser, hd.addresses[2], w);
            if (hd.reorderBwd != null) {
                scratch(hd, hd.wBwd);
                execute(hd, hd.reorderBwd, "backward", DNNL_ARG_SRC, hd.wUser, DNNL_ARG_DST, hd.wBwd);
            }
            execute(hd, hd.bwdData, "backward", DNNL_ARG_DIFF_DST, hd.dy, DNNL_ARG_WEIGHTS, hd.wBwd, DNNL_ARG_DIFF_SRC,
                    hd.dx);
        }
        set(hd.x, hd.addresses[1], x);
        set(hd.dwUser, hd.addresses[2], dw);
        if (hd.reorderDw != null) {
            scratch(hd, hd.dwInner);
        }
        execute(hd, hd.bwdWeights, "backward", DNNL_ARG_SRC, hd.x, DNNL_ARG_DIFF_DST, hd.dy, DNNL_ARG_DIFF_WEIGHTS,
                hd.dwInner);
        if (hd.reorderDw != null) {
            execute(hd, hd.reorderDw, "backward", DNNL_ARG_SRC, hd.dwInner, DNNL_ARG_DST, hd.dwUser);
        }
    }

    /**
     * Inference with the bias and the activation fused into the convolution (oneDNN post-ops):
     * {@code y = conv(x, w) + bias}, plus the previous contents of {@code y} when {@code accumulate} (a residual
     * block's shortcut, written there first), then ReLU'd when {@code relu}. With batch norm folded into {@code w}
     * and {@code bias}, a conv → BN → (add) → ReLU chain is one pass over memory. The primitive for each combination
     * of the two flags is created at its first use.
     *
     * @param bias {@code [cOut]} float
     */
    public void forwardInference(INDArray x, INDArray w, INDArray bias, boolean accumulate, boolean relu, INDArray y) {
        check("x", x, xShape);
        check("w", w, wShape);
        check("y", y, yShape);
        check("bias", bias, new long[] {yShape[3]});
        Handles hd = live();
        Inference inf = inference(hd, (accumulate ? 2 : 0) + (relu ? 1 : 0), accumulate, relu);
        set(hd.x, hd.addresses[0], x);
        set(hd.y, hd.addresses[1], y);
        set(hd.wUser, hd.addresses[2], w);
        if (inf.reorder != null) {
            scratch(hd, inf.weights);
            execute(hd, inf.reorder, "inference", DNNL_ARG_SRC, hd.wUser, DNNL_ARG_DST, inf.weights);
        }
        set(inf.bias, hd.addresses[3], bias);
        hd.args.position(3).arg(DNNL_ARG_BIAS).memory(inf.bias);
        hd.args.position(0).arg(DNNL_ARG_SRC).memory(hd.x);
        hd.args.position(1).arg(DNNL_ARG_WEIGHTS).memory(inf.weights);
        hd.args.position(2).arg(DNNL_ARG_DST).memory(hd.y);
        run(hd, inf.conv, 4, "inference");
    }

    /** The implementation oneDNN chose for inference with these post-ops (creating the primitive if needed). */
    public String inferenceImplementation(boolean accumulate, boolean relu) {
        return inference(live(), (accumulate ? 2 : 0) + (relu ? 1 : 0), accumulate, relu).implementation;
    }

    private Inference inference(Handles hd, int key, boolean accumulate, boolean relu) {
        Inference inf = hd.inference[key];
        if (inf != null) {
            return inf;
        }
        int n = (int) xShape[0];
        int h = (int) xShape[1];
        int w = (int) xShape[2];
        int cIn = (int) xShape[3];
        long ho = yShape[1];
        long wo = yShape[2];
        int cOut = (int) yShape[3];
        int k = (int) wShape[2];
        dnnl_memory_desc_t[] mds = descriptors(n, cIn, h, w, cOut, k, ho, wo);
        dnnl_memory_desc_t xmd = mds[0];
        dnnl_memory_desc_t ymd = mds[1];
        dnnl_memory_desc_t wAny = mds[2];
        dnnl_memory_desc_t wUserMd = mds[3];
        dnnl_memory_desc_t bmd = new dnnl_memory_desc_t();
        check(dnnl_memory_desc_init_by_strides(bmd, 1, new long[] {cOut}, dnnl_f32, new long[] {1}),
                "bias descriptor");
        long[] strides = {stride, stride};
        long[] pads = {padding, padding};
        Inference made = new Inference();
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        dnnl_primitive_attr attr = new dnnl_primitive_attr();
        dnnl_post_ops po = new dnnl_post_ops();
        try {
            check(dnnl_primitive_attr_create(attr), "primitive_attr_create");
            check(dnnl_post_ops_create(po), "post_ops_create");
            if (accumulate) {
                check(dnnl_post_ops_append_sum(po, 1f), "post_ops_append_sum");
            }
            if (relu) {
                check(dnnl_post_ops_append_eltwise(po, 1f, dnnl_eltwise_relu, 0f, 0f), "post_ops_append_eltwise");
            }
            check(dnnl_primitive_attr_set_post_ops(attr, po), "primitive_attr_set_post_ops");
            dnnl_convolution_desc_t d = new dnnl_convolution_desc_t();
            check(dnnl_convolution_forward_desc_init(d, dnnl_forward_inference, dnnl_convolution_direct, xmd, wAny,
                    bmd, ymd, strides, pads, pads), "inference convolution_forward_desc_init");
            check(dnnl_primitive_desc_create(pd, new const_dnnl_op_desc_t(d), attr, engine, null),
                    "inference primitive_desc_create");
            primitive(hd, made.conv, pd, "inference");
            memory(hd, made.bias, bmd, null);
            dnnl_primitive[] reorder = new dnnl_primitive[1];
            made.weights = weights(hd, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), hd.wUser, wUserMd,
                    true, reorder);
            made.reorder = reorder[0];
            try (PointerPointer<BytePointer> name = new PointerPointer<>(1)) {
                made.implementation = dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, name) == dnnl_success
                        && name.get(0) != null ? name.get(BytePointer.class, 0).getString() : "?";
            }
        } finally {
            if (!pd.isNull()) {
                dnnl_primitive_desc_destroy(pd);
            }
            if (!po.isNull()) {
                dnnl_post_ops_destroy(po);
            }
            if (!attr.isNull()) {
                dnnl_primitive_attr_destroy(attr);
            }
        }
        hd.inference[key] = made;
        return made;
    }

    private static void set(dnnl_memory m, Address a, INDArray array) {
        set(m, a, array, "convolution");
    }

    /** Points a memory object at an array's data for the next call ({@code what} names the caller in errors). */
    static void set(dnnl_memory m, Address a, INDArray array, String what) {
        int rc = dnnl_memory_set_data_handle(m, a.at(NativeKernels.address(array)));
        if (rc != dnnl_success) {
            throw new IllegalStateException("oneDNN " + what + ": memory_set_data_handle failed (status " + rc + ")");
        }
    }

    /** Destroys the primitives and memories in {@code owned}, the stream and the argument array (a plan's close). */
    static void release(List<Object> owned, dnnl_stream stream, dnnl_exec_arg_t args) {
        for (Object o : owned) {
            if (o instanceof dnnl_primitive && !((dnnl_primitive) o).isNull()) {
                dnnl_primitive_destroy((dnnl_primitive) o);
            } else if (o instanceof dnnl_memory && !((dnnl_memory) o).isNull()) {
                dnnl_memory_destroy((dnnl_memory) o);
            }
        }
        if (!stream.isNull()) {
            dnnl_stream_destroy(stream);
        }
        args.close();
    }

    private static void execute(Handles hd, dnnl_primitive p, String what, int a0, dnnl_memory m0, int a1,
                                dnnl_memory m1) {
        hd.args.position(0).arg(a0).memory(m0);
        hd.args.position(1).arg(a1).memory(m1);
        run(hd, p, 2, what);
    }

    private static void execute(Handles hd, dnnl_primitive p, String what, int a0, dnnl_memory m0, int a1,
                                dnnl_memory m1, int a2, dnnl_memory m2) {
        hd.args.position(0).arg(a0).memory(m0);
        hd.args.position(1).arg(a1).memory(m1);
        hd.args.position(2).arg(a2).memory(m2);
        run(hd, p, 3, what);
    }

    private static void run(Handles hd, dnnl_primitive p, int nargs, String what) {
        int rc = dnnl_primitive_execute(p, hd.stream, nargs, hd.args.position(0));
        if (rc != dnnl_success) {
            throw new IllegalStateException("oneDNN convolution " + what + " failed (status " + rc + ")");
        }
    }

    private Handles live() {
        if (handles.closed) {
            throw new IllegalStateException("DirectConv is closed");
        }
        return handles;
    }

    /** A float, 'c'-contiguous array of this shape, or an exception naming {@code name}. */
    static void check(String name, INDArray a, long[] shape) {
        if (a.dataType() != DataType.FLOAT || !NativeOps.isCContiguous(a)) {
            throw new IllegalArgumentException(name + " must be a float 'c'-ordered array, got " + a.dataType()
                    + (NativeOps.isCContiguous(a) ? "" : " (not contiguous)"));
        }
        NativeKernels.requireShape(name, a, shape);
    }

    @Override
    public void close() {
        cleanable.clean();
    }
}
