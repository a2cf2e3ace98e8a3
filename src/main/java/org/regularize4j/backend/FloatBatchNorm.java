package org.regularize4j.backend;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Batch normalization over (N, H, W) for float32 arrays, with an optional fused ReLU, over the arrays' memory:
 * NCHW in Java on the calling thread (the {@link KernelPath#JAVA_NCHW} path), NHWC in the native kernels on libnd4j's
 * OpenMP threads ({@link KernelPath#CHANNELS_LAST}, where {@link NativeKernels} load).
 *
 * <p>Why: in ND4J M2.1 the per-channel reductions over dimensions (0, 2, 3) and libnd4j's
 * {@code batchnorm_bp} cost about 10x what PyTorch pays for a training-mode batch norm (measured on
 * [64, 16, 32, 32]: 11 ms against 1.2 ms for forward + backward), which made batch norm, not convolution, the
 * bulk of a ResNet step. Two passes over the data per direction, each a simple loop the JIT vectorizes,
 * bring it to about 2 ms on one thread (the Java kernels: 0.68 ms forward, 1.12 ms backward on that shape, repeated
 * in a loop, so partly from cache). Statistics use shifted sums (shift = the channel's first value) accumulated in
 * double across blocks of float partial sums, so a large mean does not cancel the variance.
 *
 * <p>The libnd4j kernels in {@link NativeOps} are the reference and the path for double precision
 * ({@link KernelPath#LIBND4J_NCHW}); a test compares the paths.
 *
 * <pre>{@code
 * INDArray x = Nd4j.rand(DataType.FLOAT, 8, 4, 5, 5);
 * INDArray y = x.ulike();
 * double[] mean = new double[4], var = new double[4];
 * FloatBatchNorm.forwardTraining(x, Nd4j.ones(DataType.FLOAT, 4), Nd4j.zeros(DataType.FLOAT, 4), 1e-5, true,
 *         y, mean, var);   // y = relu(batch-normalized x)
 * }</pre>
 */
public final class FloatBatchNorm {
    /**
     * The kernels read and write the arrays' host memory, which is where the data lives on ND4J's CPU backend only.
     * On another backend (CUDA) the device copy would not see their writes, so there they never apply and the
     * libnd4j kernels run instead (docs/backends.md; not tested by CI, which has no GPU).
     */
    private static final boolean HOST_BACKEND = Nd4j.getEnvironment().isCPU();

    private FloatBatchNorm() {
    }

    /** Whether this kernel applies: the CPU backend, float32, rank 4, plain 'c' layout. */
    public static boolean supports(INDArray... arrays) {
        if (!HOST_BACKEND) {
            return false;
        }
        for (INDArray a : arrays) {
            if (a.dataType() != DataType.FLOAT || a.rank() != 4 || !NativeOps.isCContiguous(a)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Shapes the native kernels rely on: {@code other} like x (rank 4), gamma (and beta, unless null), mean and
     * var of length C.
     */
    private static void checkShapes(INDArray x, INDArray other, INDArray gamma, INDArray beta, double[] mean,
                                    double[] var) {
        if (x.rank() != 4 || x.length() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("x must be rank 4 with at most 2^31-1 values, got shape "
                    + java.util.Arrays.toString(x.shape()));
        }
        NativeKernels.requireShape("output/gradient", other, x.shape());
        long c = x.size(1);
        NativeKernels.requireShape("gamma", gamma, c);
        if (beta != null) {
            NativeKernels.requireShape("beta", beta, c);
        }
        if (mean.length != c || var.length != c) {
            throw new IllegalArgumentException("mean and var must have " + c + " values (channels), got "
                    + mean.length + " and " + var.length);
        }
    }

    /** Rejects arrays the NCHW Java kernels cannot read in place: another backend, another type, another layout. */
    private static void checkJava(INDArray... arrays) {
        for (INDArray a : arrays) {
            if (!supports(a)) {
                throw new IllegalArgumentException("the NCHW batch-norm kernels need float32 rank-4 'c'-contiguous arrays"
                        + " on ND4J's CPU backend, got " + a.dataType() + " " + java.util.Arrays.toString(a.shape())
                        + (NativeOps.isCContiguous(a) ? "" : " (not contiguous)"));
            }
        }
    }

    /** Whether the element-wise kernels apply: the CPU backend, float32, 'c'-contiguous, same length. */
    public static boolean supportsFlat(INDArray... arrays) {
        if (!HOST_BACKEND) {
            return false;
        }
        for (INDArray a : arrays) {
            if (a.dataType() != DataType.FLOAT || !NativeOps.isCContiguous(a) || a.length() != arrays[0].length()
                    || a.length() > Integer.MAX_VALUE) {
                return false;
            }
        }
        return true;
    }

    /**
     * Training forward: per-channel batch mean and biased variance into {@code mean}/{@code var}, then
     * {@code y = gamma (x − mean)/sqrt(var + eps) + beta}, ReLU'd if asked.
     */
    public static void forwardTraining(INDArray x, INDArray gamma, INDArray beta, double eps, boolean relu,
                                       INDArray y, double[] mean, double[] var) {
        checkJava(x, y);
        checkShapes(x, y, gamma, beta, mean, var);
        int n = (int) x.size(0);
        int c = (int) x.size(1);
        int hw = (int) (x.size(2) * x.size(3));
        int example = c * hw;
        FloatBuffer xb = buffer(x);
        float[] xr = scratch(0, example);
        float[] shift = new float[c];
        xb.get(0, xr, 0, example);
        for (int ch = 0; ch < c; ch++) {
            shift[ch] = xr[ch * hw];   // shifted sums: a large mean does not cancel the variance
        }
        double[] s = new double[c];
        double[] q = new double[c];
        for (int i = 0; i < n; i++) {
            xb.get(i * example, xr, 0, example);
            for (int ch = 0; ch < c; ch++) {
                float m = shift[ch];
                int off = ch * hw;
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
                int k = 0;
                for (; k + 3 < hw; k += 4) {
                    float a0 = xr[off + k] - m, a1 = xr[off + k + 1] - m;
                    float a2 = xr[off + k + 2] - m, a3 = xr[off + k + 3] - m;
                    s0 += a0;
                    s1 += a1;
                    s2 += a2;
                    s3 += a3;
                    q0 += a0 * a0;
                    q1 += a1 * a1;
                    q2 += a2 * a2;
                    q3 += a3 * a3;
                }
                for (; k < hw; k++) {
                    float a0 = xr[off + k] - m;
                    s0 += a0;
                    q0 += a0 * a0;
                }
                s[ch] += (double) s0 + s1 + s2 + s3;
                q[ch] += (double) q0 + q1 + q2 + q3;
            }
        }
        long count = (long) n * hw;
        for (int ch = 0; ch < c; ch++) {
            double m = s[ch] / count;
            mean[ch] = shift[ch] + m;
            var[ch] = Math.max(0.0, q[ch] / count - m * m);
        }
        normalize(x, mean, var, gamma, beta, eps, relu, y);
    }

    /**
     * {@link #forwardTraining} for channels-last arrays {@code x}, {@code y} of shape {@code [n, h, w, c]}
     * ('c' order). Native kernels only.
     *
     * @throws IllegalStateException if the native kernels are not usable or the arrays do not suit them
     */
    public static void forwardTrainingNhwc(INDArray x, INDArray gamma, INDArray beta, double eps, boolean relu,
                                           INDArray y, double[] mean, double[] var) {
        int c = checkNhwc(x, y, gamma, beta, mean, var);
        NativeKernels.r4j_bn_forward_train_nhwc(NativeKernels.address(x), NativeKernels.address(y), x.length() / c, c,
                NativeKernels.address(gamma), NativeKernels.address(beta), eps, relu ? 1 : 0, mean, var);
    }

    /** {@link #normalize} for channels-last arrays (as {@link #forwardTrainingNhwc}). */
    public static void normalizeNhwc(INDArray x, double[] mean, double[] var, INDArray gamma, INDArray beta,
                                     double eps, boolean relu, INDArray y) {
        int c = checkNhwc(x, y, gamma, beta, mean, var);
        NativeKernels.r4j_bn_normalize_nhwc(NativeKernels.address(x), NativeKernels.address(y), x.length() / c, c,
                NativeKernels.address(gamma), NativeKernels.address(beta), eps, relu ? 1 : 0, mean, var);
    }

    /** {@link #backward(INDArray, INDArray, boolean, INDArray, double, double[], double[], INDArray, double,
     * INDArray, INDArray, INDArray) backward} for channels-last arrays (as {@link #forwardTrainingNhwc}). */
    public static void backwardNhwc(INDArray x, INDArray y, boolean relu, INDArray dy, double dyScale, double[] mean,
                                    double[] var, INDArray gamma, double eps, INDArray dx, INDArray dGamma,
                                    INDArray dBeta) {
        backwardNhwc(x, y, relu, dy, dyScale, null, mean, var, gamma, eps, dx, dGamma, dBeta);
    }

    /**
     * {@link #backwardNhwc(INDArray, INDArray, boolean, INDArray, double, double[], double[], INDArray, double,
     * INDArray, INDArray, INDArray) backwardNhwc} with, in addition, one multiplier per example: the output
     * gradient of example i is {@code dyScale · exampleScales[i] · dy[i]} (null: none), as a ROW-mode
     * stochastic-depth branch receives it, with no pass of its own.
     *
     * @throws IllegalArgumentException if {@code dyScale} or a multiplier is not finite, or the multipliers are
     *                                  not one per example
     */
    public static void backwardNhwc(INDArray x, INDArray y, boolean relu, INDArray dy, double dyScale,
                                    float[] exampleScales, double[] mean, double[] var, INDArray gamma, double eps,
                                    INDArray dx, INDArray dGamma, INDArray dBeta) {
        if (!Double.isFinite(dyScale)) {
            throw new IllegalArgumentException("dyScale must be finite, got " + dyScale);
        }
        if (exampleScales != null) {
            if (exampleScales.length != x.size(0)) {
                throw new IllegalArgumentException("exampleScales must have " + x.size(0) + " values (examples), got "
                        + exampleScales.length);
            }
            for (float v : exampleScales) {
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("exampleScales must be finite, got " + v);
                }
            }
        }
        int c = checkNhwc(x, dy, gamma, null, mean, var);
        NativeKernels.requireShape("dx", dx, x.shape());
        if (!NativeKernels.supports(dx) || relu && !NativeKernels.supports(y)) {
            throw new IllegalStateException("channels-last batch norm needs float 'c'-ordered arrays");
        }
        if (relu) {
            NativeKernels.requireShape("y", y, x.shape());
        }
        double[] dg = new double[c];
        double[] db = new double[c];
        NativeKernels.r4j_bn_backward_nhwc(NativeKernels.address(x), relu ? NativeKernels.address(y) : 0L,
                relu ? 1 : 0, NativeKernels.address(dy), dyScale, x.length() / c, c, mean, var,
                NativeKernels.address(gamma), eps, NativeKernels.address(dx), dg, db, exampleScales,
                (int) (x.size(1) * x.size(2)));
        dGamma.assign(Nd4j.createFromArray(dg));
        dBeta.assign(Nd4j.createFromArray(db));
    }

    /** Checks a channels-last call's arguments; returns C. */
    private static int checkNhwc(INDArray x, INDArray other, INDArray gamma, INDArray beta, double[] mean,
                                 double[] var) {
        if (!NativeKernels.supports(x, other, gamma) || beta != null && !NativeKernels.supports(beta)) {
            throw new IllegalStateException("channels-last batch norm needs the native kernels ("
                    + NativeKernels.status() + ") and float 'c'-ordered arrays");
        }
        if (x.rank() != 4) {
            throw new IllegalArgumentException("x must have rank 4 [n, h, w, c], got " + Arrays.toString(x.shape()));
        }
        int c = (int) x.size(3);
        NativeKernels.requireShape("y", other, x.shape());
        NativeKernels.requireShape("gamma", gamma, c);
        if (beta != null) {
            NativeKernels.requireShape("beta", beta, c);
        }
        if (mean.length != c || var.length != c) {
            throw new IllegalArgumentException("mean and var must have " + c + " values, got " + mean.length + " and "
                    + var.length);
        }
        return c;
    }

    /** {@code y = gamma (x − mean)/sqrt(var + eps) + beta} with given statistics, ReLU'd if asked. */
    public static void normalize(INDArray x, double[] mean, double[] var, INDArray gamma, INDArray beta, double eps,
                                 boolean relu, INDArray y) {
        checkJava(x, y);
        checkShapes(x, y, gamma, beta, mean, var);
        int n = (int) x.size(0);
        int c = (int) x.size(1);
        int hw = (int) (x.size(2) * x.size(3));
        int example = c * hw;
        float[] scale = new float[c];
        float[] shift = new float[c];
        double[] gammaValues = gamma.toDoubleVector();
        double[] betaValues = beta.toDoubleVector();
        for (int ch = 0; ch < c; ch++) {
            double sc = gammaValues[ch] / Math.sqrt(var[ch] + eps);
            scale[ch] = (float) sc;
            shift[ch] = (float) (betaValues[ch] - mean[ch] * sc);
        }
        FloatBuffer xb = buffer(x);
        FloatBuffer yb = buffer(y);
        float[] run = scratch(0, example);
        for (int i = 0; i < n; i++) {
            xb.get(i * example, run, 0, example);
            for (int ch = 0; ch < c; ch++) {
                float a = scale[ch];
                float b = shift[ch];
                int from = ch * hw;
                int to = from + hw;
                if (relu) {
                    for (int k = from; k < to; k++) {
                        // (v + 2^-100) - 2^-100 rounds values below 2^-124 (denormals) to 0 or 2^-124 and
                        // leaves the rest exact to 2^-24 relative: every output is 0 or >= 2^-124 (reluMask)
                        run[k] = Math.max(0f, (run[k] * a + b + FLUSH) - FLUSH);
                    }
                } else {
                    for (int k = from; k < to; k++) {
                        run[k] = run[k] * a + b;
                    }
                }
            }
            yb.put(i * example, run, 0, example);
        }
    }

    /**
     * Training backward from the gradient {@code dy} at the output. With {@code relu}, {@code y} is the
     * forward output of {@link #normalize} and the gradient passes where {@code y > 0}. Writes {@code dx} and
     * the per-channel {@code dGamma}, {@code dBeta} (rank-1 views of length C).
     */
    public static void backward(INDArray x, INDArray y, boolean relu, INDArray dy, double[] mean, double[] var,
                                INDArray gamma, double eps, INDArray dx, INDArray dGamma, INDArray dBeta) {
        backward(x, y, relu, dy, 1.0, mean, var, gamma, eps, dx, dGamma, dBeta);
    }

    /**
     * {@link #backward(INDArray, INDArray, boolean, INDArray, double[], double[], INDArray, double, INDArray,
     * INDArray, INDArray) backward} from the gradient {@code dyScale · dy}, the multiplier folded into the
     * per-channel sums and coefficients (no pass over {@code dy} of its own): a stochastic-depth block's kept
     * branch receives its output gradient times the branch's multiplier this way.
     *
     * @throws IllegalArgumentException if {@code dyScale} is not finite
     */
    public static void backward(INDArray x, INDArray y, boolean relu, INDArray dy, double dyScale, double[] mean,
                                double[] var, INDArray gamma, double eps, INDArray dx, INDArray dGamma,
                                INDArray dBeta) {
        if (!Double.isFinite(dyScale)) {
            throw new IllegalArgumentException("dyScale must be finite, got " + dyScale);
        }
        checkJava(x, dy, dx);
        if (relu) {
            checkJava(y);
            NativeKernels.requireShape("y", y, x.shape());
        }
        checkShapes(x, dy, gamma, null, mean, var);
        NativeKernels.requireShape("dx", dx, x.shape());
        int n = (int) x.size(0);
        int c = (int) x.size(1);
        int hw = (int) (x.size(2) * x.size(3));
        int example = c * hw;
        FloatBuffer xb = buffer(x);
        FloatBuffer yb = relu ? buffer(y) : null;
        FloatBuffer db = buffer(dy);
        FloatBuffer dxb = buffer(dx);
        float[] xr = scratch(0, example);
        float[] gr = scratch(1, example);
        float[] yr = scratch(2, example);
        float[] meanF = new float[c];
        for (int ch = 0; ch < c; ch++) {
            meanF[ch] = (float) mean[ch];
        }
        double[] sumDy = new double[c];
        double[] sumDyXc = new double[c];
        // pass 1: g = dy masked by the ReLU (kept in dx for pass 2); per channel sum(g), sum(g * (x - mean))
        for (int i = 0; i < n; i++) {
            int base = i * example;
            xb.get(base, xr, 0, example);
            db.get(base, gr, 0, example);
            if (relu) {
                yb.get(base, yr, 0, example);
                reluMask(yr, gr, example);
                dxb.put(base, gr, 0, example);
            }
            for (int ch = 0; ch < c; ch++) {
                float m = meanF[ch];
                int off = ch * hw;
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
                int k = 0;
                for (; k + 3 < hw; k += 4) {
                    int p = off + k;
                    s0 += gr[p];
                    s1 += gr[p + 1];
                    s2 += gr[p + 2];
                    s3 += gr[p + 3];
                    t0 += gr[p] * (xr[p] - m);
                    t1 += gr[p + 1] * (xr[p + 1] - m);
                    t2 += gr[p + 2] * (xr[p + 2] - m);
                    t3 += gr[p + 3] * (xr[p + 3] - m);
                }
                for (; k < hw; k++) {
                    s0 += gr[off + k];
                    t0 += gr[off + k] * (xr[off + k] - m);
                }
                sumDy[ch] += (double) s0 + s1 + s2 + s3;
                sumDyXc[ch] += (double) t0 + t1 + t2 + t3;
            }
        }
        long count = (long) n * hw;
        float[] k1 = new float[c];
        float[] k2 = new float[c];
        float[] k3 = new float[c];
        double[] sumDyXhat = new double[c];
        double[] gammaValues = gamma.toDoubleVector();
        for (int ch = 0; ch < c; ch++) {
            sumDy[ch] *= dyScale;
            sumDyXc[ch] *= dyScale;
            double invStd = 1.0 / Math.sqrt(var[ch] + eps);
            sumDyXhat[ch] = sumDyXc[ch] * invStd;
            // dx = g·invStd·(dy − mean(dy) − xhat·mean(dy·xhat)),  xhat = (x − mean)·invStd
            double a = gammaValues[ch] * invStd;
            double b = -a * invStd * sumDyXhat[ch] / count;
            k1[ch] = (float) (a * dyScale);
            k2[ch] = (float) b;
            k3[ch] = (float) (-a * sumDy[ch] / count - b * mean[ch]);
        }
        dGamma.assign(Nd4j.createFromArray(sumDyXhat));
        dBeta.assign(Nd4j.createFromArray(sumDy));
        // pass 2: dx = k1·g + k2·x + k3
        FloatBuffer gb = relu ? dxb : db;
        for (int i = 0; i < n; i++) {
            int base = i * example;
            xb.get(base, xr, 0, example);
            gb.get(base, gr, 0, example);
            for (int ch = 0; ch < c; ch++) {
                float a = k1[ch];
                float b = k2[ch];
                float d = k3[ch];
                int from = ch * hw;
                int to = from + hw;
                for (int k = from; k < to; k++) {
                    gr[k] = gr[k] * a + xr[k] * b + d;
                }
            }
            dxb.put(base, gr, 0, example);
        }
    }

    /**
     * ReLU backward: {@code dx = dy where y > 0, else 0}, from the ReLU's output {@code y}
     * (float32, 'c'-contiguous, any rank).
     */
    public static void reluBackward(INDArray y, INDArray dy, INDArray dx) {
        if (!supportsFlat(y) || !supportsFlat(dy) || !supportsFlat(dx)) {
            throw new IllegalArgumentException("y, dy and dx must be float 'c'-contiguous host arrays");
        }
        if (dy.length() != y.length() || dx.length() != y.length()) {   // element-wise: lengths must agree
            throw new IllegalArgumentException("dy and dx must have y's " + y.length() + " values, got "
                    + dy.length() + " and " + dx.length());
        }
        int length = (int) y.length();
        int chunk = 16384;
        FloatBuffer yb = buffer(y);
        FloatBuffer db = buffer(dy);
        FloatBuffer dxb = buffer(dx);
        float[] yr = scratch(0, chunk);
        float[] gr = scratch(1, chunk);
        for (int from = 0; from < length; from += chunk) {
            int len = Math.min(chunk, length - from);
            yb.get(from, yr, 0, len);
            db.get(from, gr, 0, len);
            exactMask(yr, gr, len);
            dxb.put(from, gr, 0, len);
        }
    }

    /**
     * {@code g[k] = y[k] > 0 ? g[k] : 0} for outputs of {@link #normalize}'s ReLU, which are 0 or at least
     * 2^-124: then {@code min(y·2^125, 1)} is exactly that indicator, and the loop vectorizes (a compare does
     * not, in Java 17: 3x slower).
     */
    private static void reluMask(float[] y, float[] g, int len) {
        for (int k = 0; k < len; k++) {
            g[k] *= Math.min(y[k] * TWO_POW_125, 1f);
        }
    }

    private static final float FLUSH = 0x1p-100f;
    private static final float TWO_POW_125 = 0x1p125f;

    /**
     * {@code g[k] = y[k] > 0 ? g[k] : 0} without a data-dependent branch (which mispredicts half the time:
     * 10x slower). {@code y} holds ReLU outputs, all {@code >= +0}, so its bits are 0 exactly when y == 0.
     */
    private static void exactMask(float[] y, float[] g, int len) {
        for (int k = 0; k < len; k++) {
            g[k] *= (Float.floatToRawIntBits(y[k]) + 0x7FFFFFFF) >>> 31;
        }
    }

    /**
     * Work arrays of the calling thread. The kernels run on the calling thread on purpose: right after every
     * libnd4j op its OpenMP worker threads spin-wait (libgomp's default) on the other cores, so Java worker
     * threads only compete with them (measured inside a training step: two threads no faster than one).
     */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[3][0]);

    /** A per-thread work array of at least {@code length} floats. */
    private static float[] scratch(int slot, int length) {
        float[][] s = SCRATCH.get();
        if (s[slot].length < length) {
            s[slot] = new float[length];
        }
        return s[slot];
    }

    private static FloatBuffer buffer(INDArray a) {
        return org.regularize4j.util.HostArrays.floatBuffer(a);
    }

}
