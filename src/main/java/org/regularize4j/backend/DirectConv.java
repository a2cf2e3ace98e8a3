package org.regularize4j.backend;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.lang.ref.Cleaner;
import java.util.Arrays;
import java.util.Set;

/**
 * A convolution run by oneDNN directly on channels-last (NHWC) float arrays: no bias, no dilation, square kernel,
 * stride and symmetric padding; weights in DL4J's {@code [outC, inC, kH, kW]} layout.
 *
 * <p>Why: libnd4j's {@code conv2d}/{@code conv2d_bp} take NCHW arrays and copy them into oneDNN's layout and back on
 * every call (inputs once, output gradients twice), and create their primitives each time. At 16 channels and
 * 32x32 those copies cost about as much as the convolution. oneDNN's fast kernels read NHWC directly, so a network
 * whose activations stay channels-last needs no copies; the primitives are created once per shape (here).
 *
 * <p>How: the {@code linux-x86_64-onednn-avx2} build of libnd4j contains oneDNN 2.3 without exporting its C API;
 * the native kernels library finds the functions in libnd4j's ELF symbol table ({@code src/main/c/r4jkernels.c}).
 * Usable when the native kernels are, ND4J runs on oneDNN, and that lookup succeeds; the system property
 * {@code regularize4j.directConv=false} or {@link #setEnabled} turns it off (the blocks then run NCHW on libnd4j).
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
    private static final String EXPORTED =
            "_ZN2sd11onednnUtils13poolingONEDNNEPKNS_7NDArrayEPS1_iiiiiiiiiiN4dnnl9algorithmE";
    private static final Cleaner CLEANER = Cleaner.create();
    private static final Object LOCK = new Object();
    private static volatile String status;
    private static volatile boolean available;
    private static volatile boolean enabled =
            Boolean.parseBoolean(System.getProperty("regularize4j.directConv", "true"));

    private final long[] xShape;
    private final long[] yShape;
    private final long[] wShape;
    private final int stride;
    private final int padding;
    private final Handle handle;
    private final Cleaner.Cleanable cleanable;

    /** Owns the native handle; destroyed when the plan is closed or unreachable. */
    private static final class Handle implements Runnable {
        private long value;

        Handle(long value) {
            this.value = value;
        }

        @Override
        public synchronized void run() {
            if (value != 0) {
                NativeKernels.r4j_conv_destroy(value);
                value = 0;
            }
        }
    }

    private DirectConv(long handle, long[] xShape, long[] yShape, long[] wShape, int stride, int padding) {
        this.handle = new Handle(handle);
        this.cleanable = CLEANER.register(this, this.handle);
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
                if (!NativeKernels.isLoaded()) {
                    why = "not used: native kernels " + NativeKernels.status();
                } else if (!NativeBackend.current().oneDnnEnabled()) {
                    why = "not used: ND4J does not run on oneDNN";
                } else {
                    Set<String> libs = NativeKernels.mappedLibraries("libnd4jcpu");
                    if (libs.size() != 1) {
                        why = "not used: libnd4jcpu mapped " + libs.size() + " times " + libs;
                    } else {
                        int rc = NativeKernels.r4j_dnnl_init(libs.iterator().next(), EXPORTED);
                        ok = rc == 0;
                        why = (ok ? "" : "not used: ") + NativeKernels.r4j_dnnl_error();
                    }
                }
            } catch (Throwable t) {   // IOException, UnsatisfiedLinkError: the NCHW path runs
                why = "not used: " + t;
            }
            available = ok;
            status = why;
        }
    }

    /** Whether direct convolutions are available and enabled. */
    public static boolean isUsable() {
        init();
        return available && enabled && NativeKernels.isUsable();
    }

    /** Turns direct convolutions (and the channels-last blocks that use them) on or off. For tests and benchmarks. */
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
     * @throws IllegalStateException    if direct convolutions are not usable, or oneDNN refuses the shape
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
        if (!isUsable()) {
            throw new IllegalStateException("direct convolutions are not usable: " + status());
        }
        long handle = NativeKernels.r4j_conv_create(n, cIn, h, w, cOut, kernel, kernel, stride, padding);
        if (handle == 0) {
            throw new IllegalStateException("oneDNN refused the convolution: " + NativeKernels.r4j_dnnl_error());
        }
        long ho = NativeOps.outSize(h, kernel, stride, padding);
        long wo = NativeOps.outSize(w, kernel, stride, padding);
        return new DirectConv(handle, new long[] {n, h, w, cIn}, new long[] {n, ho, wo, cOut},
                new long[] {cOut, cIn, kernel, kernel}, stride, padding);
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
        long h = live();
        return new String[] {NativeKernels.r4j_conv_impl(h, 0), NativeKernels.r4j_conv_impl(h, 1),
                NativeKernels.r4j_conv_impl(h, 2)};
    }

    /** {@code y = conv(x, w)}. */
    public void forward(INDArray x, INDArray w, INDArray y) {
        check("x", x, xShape);
        check("w", w, wShape);
        check("y", y, yShape);
        status(NativeKernels.r4j_conv_forward(live(), NativeKernels.address(x), NativeKernels.address(w),
                NativeKernels.address(y)), "forward");
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
        status(NativeKernels.r4j_conv_backward(live(), NativeKernels.address(x), NativeKernels.address(w),
                NativeKernels.address(dy), dx == null ? 0L : NativeKernels.address(dx), NativeKernels.address(dw)),
                "backward");
    }

    private long live() {
        long h = handle.value;
        if (h == 0) {
            throw new IllegalStateException("DirectConv is closed");
        }
        return h;
    }

    private static void check(String name, INDArray a, long[] shape) {
        if (a.dataType() != DataType.FLOAT || !NativeOps.isCContiguous(a)) {
            throw new IllegalArgumentException(name + " must be a float 'c'-ordered array, got " + a.dataType()
                    + (NativeOps.isCContiguous(a) ? "" : " (not contiguous)"));
        }
        NativeKernels.requireShape(name, a, shape);
    }

    private static void status(int rc, String what) {
        if (rc != 0) {
            throw new IllegalStateException("oneDNN convolution " + what + " failed (status " + rc + ")");
        }
    }

    @Override
    public void close() {
        cleanable.clean();
    }
}
