package org.regularize4j.backend;

import org.bytedeco.dnnl.const_dnnl_op_desc_t;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc_t;
import org.bytedeco.dnnl.dnnl_pooling_desc_t;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WORKSPACE;
import static org.bytedeco.dnnl.global.dnnl.dnnl_backward_data;
import static org.bytedeco.dnnl.global.dnnl.dnnl_f32;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_inference;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_training;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_init_by_strides;
import static org.bytedeco.dnnl.global.dnnl.dnnl_pooling_backward_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_pooling_forward_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_pooling_max;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_query_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_execute;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_workspace_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_default_flags;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;

/**
 * Max pooling run by oneDNN on channels-last (NHWC) float arrays, square window, stride and symmetric padding (the
 * padding never wins: oneDNN's max pooling ignores it, as libnd4j's and PyTorch's do): the ImageNet stem's 3x3
 * stride-2 pooling of the channels-last path ({@link DirectConv}'s engine and OpenMP team). The training forward
 * pass records where each maximum came from (a oneDNN workspace the plan keeps), and the backward pass routes the
 * gradient there; so {@link #backward} belongs to the last {@link #forward} with {@code training}. One thread at a
 * time.
 *
 * <pre>{@code
 * try (DirectPool pool = DirectPool.create(8, 64, 112, 112, 3, 2, 1)) {
 *     pool.forward(x, y, true);   // x [8, 112, 112, 64], y [8, 56, 56, 64]
 *     pool.backward(dy, dx);      // dy like y, dx like x
 * }
 * }</pre>
 */
public final class DirectPool implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();
    private final long[] xShape;
    private final long[] yShape;
    private final int kernel;
    private final int stride;
    private final int padding;
    private final Handles handles;
    private final Cleaner.Cleanable cleanable;

    private static final class Handles implements Runnable {
        final dnnl_stream stream = new dnnl_stream();
        final dnnl_primitive training = new dnnl_primitive();
        final dnnl_primitive inference = new dnnl_primitive();
        final dnnl_primitive backward = new dnnl_primitive();
        final dnnl_memory x = new dnnl_memory();
        final dnnl_memory y = new dnnl_memory();
        final dnnl_memory workspace = new dnnl_memory();
        final List<Object> owned = new ArrayList<>();
        final DirectConv.Address[] addresses = {new DirectConv.Address(), new DirectConv.Address()};
        final dnnl_exec_arg_t args = new dnnl_exec_arg_t(3);
        boolean closed;
        boolean trained;   // a training forward pass filled the workspace

        @Override
        public synchronized void run() {
            if (closed) {
                return;
            }
            closed = true;
            DirectConv.release(owned, stream, args);
        }
    }

    private DirectPool(Handles handles, long[] xShape, long[] yShape, int kernel, int stride, int padding) {
        this.handles = handles;
        this.cleanable = CLEANER.register(this, handles);
        this.xShape = xShape;
        this.yShape = yShape;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
    }

    /**
     * Plans max pooling of {@code [n, h, w, c]} inputs with a {@code kernel x kernel} window, the given stride and
     * symmetric padding ({@code hOut = (h + 2 padding - kernel) / stride + 1}).
     *
     * @throws IllegalArgumentException if a size is out of range (named)
     * @throws IllegalStateException    if oneDNN did not load, or refuses the shape
     */
    public static DirectPool create(int n, int c, int h, int w, int kernel, int stride, int padding) {
        for (Object[] a : new Object[][] {{"n", n}, {"c", c}, {"h", h}, {"w", w}, {"kernel", kernel},
            {"stride", stride}}) {
            if ((int) a[1] < 1) {
                throw new IllegalArgumentException(a[0] + " must be >= 1, got " + a[1]);
            }
        }
        if (padding < 0 || padding >= kernel) {
            throw new IllegalArgumentException("padding must be in [0, " + (kernel - 1) + "] (kernel - 1), got "
                    + padding);
        }
        if (h + 2L * padding < kernel || w + 2L * padding < kernel) {
            throw new IllegalArgumentException("the padded input (" + h + "x" + w + ", padding " + padding
                    + ") must be at least the kernel (" + kernel + ")");
        }
        long ho = NativeOps.outSize(h, kernel, stride, padding);
        long wo = NativeOps.outSize(w, kernel, stride, padding);
        Handles hd = new Handles();
        try {
            plan(hd, n, c, h, w, ho, wo, kernel, stride, padding);
        } catch (RuntimeException e) {
            hd.run();
            throw e;
        }
        return new DirectPool(hd, new long[] {n, h, w, c}, new long[] {n, ho, wo, c}, kernel, stride, padding);
    }

    private static void plan(Handles hd, int n, int c, int h, int w, long ho, long wo, int k, int stride, int pad) {
        org.bytedeco.dnnl.dnnl_engine engine = DirectConv.engine();
        dnnl_memory_desc_t xmd = new dnnl_memory_desc_t();
        dnnl_memory_desc_t ymd = new dnnl_memory_desc_t();
        check(dnnl_memory_desc_init_by_strides(xmd, 4, new long[] {n, c, h, w}, dnnl_f32,
                new long[] {(long) h * w * c, 1, (long) w * c, c}), "input descriptor");
        check(dnnl_memory_desc_init_by_strides(ymd, 4, new long[] {n, c, ho, wo}, dnnl_f32,
                new long[] {ho * wo * c, 1, wo * c, c}), "output descriptor");
        check(dnnl_stream_create(hd.stream, engine, dnnl_stream_default_flags), "stream_create");
        long[] strides = {stride, stride};
        long[] kernel = {k, k};
        long[] pads = {pad, pad};
        dnnl_primitive_desc tpd = new dnnl_primitive_desc();
        dnnl_primitive_desc ipd = new dnnl_primitive_desc();
        dnnl_primitive_desc bpd = new dnnl_primitive_desc();
        try {
            dnnl_pooling_desc_t d = new dnnl_pooling_desc_t();
            check(dnnl_pooling_forward_desc_init(d, dnnl_forward_training, dnnl_pooling_max, xmd, ymd, strides, kernel,
                    pads, pads), "pooling_forward_desc_init");
            check(dnnl_primitive_desc_create(tpd, new const_dnnl_op_desc_t(d), null, engine, null),
                    "training primitive_desc_create");
            dnnl_pooling_desc_t di = new dnnl_pooling_desc_t();
            check(dnnl_pooling_forward_desc_init(di, dnnl_forward_inference, dnnl_pooling_max, xmd, ymd, strides,
                    kernel, pads, pads), "pooling_forward_desc_init (inference)");
            check(dnnl_primitive_desc_create(ipd, new const_dnnl_op_desc_t(di), null, engine, null),
                    "inference primitive_desc_create");
            dnnl_pooling_desc_t db = new dnnl_pooling_desc_t();
            check(dnnl_pooling_backward_desc_init(db, dnnl_pooling_max, xmd, ymd, strides, kernel, pads, pads),
                    "pooling_backward_desc_init");
            check(dnnl_primitive_desc_create(bpd, new const_dnnl_op_desc_t(db), null, engine, tpd),
                    "backward primitive_desc_create");
            for (Object[] p : new Object[][] {{hd.training, tpd}, {hd.inference, ipd}, {hd.backward, bpd}}) {
                check(dnnl_primitive_create((dnnl_primitive) p[0], (dnnl_primitive_desc) p[1]), "primitive_create");
                hd.owned.add(p[0]);
            }
            check(dnnl_memory_create(hd.x, xmd, engine, (Pointer) null), "memory_create");
            hd.owned.add(hd.x);
            check(dnnl_memory_create(hd.y, ymd, engine, (Pointer) null), "memory_create");
            hd.owned.add(hd.y);
            check(dnnl_memory_create(hd.workspace, dnnl_primitive_desc_query_md(tpd, dnnl_query_workspace_md, 0),
                    engine, new DirectConv.Address().at(-1L)), "workspace memory_create");   // DNNL_MEMORY_ALLOCATE
            hd.owned.add(hd.workspace);
        } finally {
            for (dnnl_primitive_desc pd : new dnnl_primitive_desc[] {tpd, ipd, bpd}) {
                if (!pd.isNull()) {
                    dnnl_primitive_desc_destroy(pd);
                }
            }
        }
    }

    private static void check(int rc, String what) {
        if (rc != dnnl_success) {
            throw new IllegalStateException("oneDNN refused the pooling: " + what + " failed (status " + rc + ")");
        }
    }

    /** Whether this plan is for inputs of this NHWC shape, window, stride and padding. */
    public boolean fits(long[] xNhwc, int kernel, int stride, int padding) {
        return java.util.Arrays.equals(xShape, xNhwc) && this.kernel == kernel && this.stride == stride
                && this.padding == padding;
    }

    /** The NHWC output shape {@code [n, hOut, wOut, c]}. */
    public long[] outShape() {
        return yShape.clone();
    }

    /** {@code y = maxpool(x)}; with {@code training}, where each maximum came from is kept for {@link #backward}. */
    public void forward(INDArray x, INDArray y, boolean training) {
        DirectConv.check("x", x, xShape);
        DirectConv.check("y", y, yShape);
        Handles hd = live();
        DirectConv.set(hd.x, hd.addresses[0], x, "pooling");
        DirectConv.set(hd.y, hd.addresses[1], y, "pooling");
        hd.args.position(0).arg(DNNL_ARG_SRC).memory(hd.x);
        hd.args.position(1).arg(DNNL_ARG_DST).memory(hd.y);
        int nargs = 2;
        if (training) {
            hd.args.position(2).arg(DNNL_ARG_WORKSPACE).memory(hd.workspace);
            nargs = 3;
        }
        run(hd, training ? hd.training : hd.inference, nargs);
        hd.trained |= training;
    }

    /** The input gradient {@code dx} (overwritten) of the last training {@link #forward} for the output gradient. */
    public void backward(INDArray dy, INDArray dx) {
        DirectConv.check("dy", dy, yShape);
        DirectConv.check("dx", dx, xShape);
        Handles hd = live();
        if (!hd.trained) {
            throw new IllegalStateException("DirectPool.backward needs a training forward pass first");
        }
        DirectConv.set(hd.y, hd.addresses[0], dy, "pooling");
        DirectConv.set(hd.x, hd.addresses[1], dx, "pooling");
        hd.args.position(0).arg(DNNL_ARG_DIFF_DST).memory(hd.y);
        hd.args.position(1).arg(DNNL_ARG_WORKSPACE).memory(hd.workspace);
        hd.args.position(2).arg(DNNL_ARG_DIFF_SRC).memory(hd.x);
        run(hd, hd.backward, 3);
    }

    private static void run(Handles hd, dnnl_primitive p, int nargs) {
        int rc = dnnl_primitive_execute(p, hd.stream, nargs, hd.args.position(0));
        if (rc != dnnl_success) {
            throw new IllegalStateException("oneDNN pooling failed (status " + rc + ")");
        }
    }

    private Handles live() {
        if (handles.closed) {
            throw new IllegalStateException("DirectPool is closed");
        }
        return handles;
    }

    @Override
    public void close() {
        cleanable.clean();
    }
}
