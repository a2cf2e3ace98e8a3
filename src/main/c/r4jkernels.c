/*
 * regularize4j native kernels: training-mode batch norm (NCHW, float32) with an optional fused ReLU, and the
 * ReLU's backward pass. Same arithmetic as org.regularize4j.backend.FloatBatchNorm (the Java kernels), run on
 * the OpenMP team of the calling thread.
 *
 * Why native: the Java kernels can use one core only. libnd4j's OpenMP worker threads spin-wait (libgomp's
 * default) on the other core after every libnd4j operation, so a second Java thread competes with them. Code
 * that runs inside an OpenMP region of the same libgomp (the one libnd4j loaded) uses those very threads.
 *
 * Build: scripts/build-native (gcc -O3 -march=x86-64-v3 -fopenmp -ffp-contract=off). Loaded by
 * org.regularize4j.backend.NativeKernels after ND4J, so that libgomp.so.1 resolves to libnd4j's copy.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FLUSH 0x1p-100f

int r4j_version(void) { return 6; }

/* Number of threads a parallel region of the calling thread uses. */
int r4j_max_threads(void) { return omp_get_max_threads(); }

/* Example range [*from, *to) of thread t of nt over n examples. */
static void range(int n, int t, int nt, int *from, int *to) {
    int base = n / nt, extra = n % nt;
    *from = t * base + (t < extra ? t : extra);
    *to = *from + base + (t < extra ? 1 : 0);
}

/* Per-channel sums of (x - shift) and (x - shift)^2 over examples [from, to), added into s and q. */
static void moments(const float *x, int from, int to, int c, int hw, const float *shift, double *s, double *q) {
    for (int i = from; i < to; i++) {
        const float *xi = x + (size_t) i * c * hw;
        for (int ch = 0; ch < c; ch++) {
            const float *p = xi + (size_t) ch * hw;
            const float m = shift[ch];
            float s0 = 0, q0 = 0;
#pragma omp simd reduction(+ : s0, q0)
            for (int k = 0; k < hw; k++) {
                float a = p[k] - m;
                s0 += a;
                q0 += a * a;
            }
            s[ch] += s0;
            q[ch] += q0;
        }
    }
}

static void scale_shift(int c, const float *gamma, const float *beta, const double *mean, const double *var,
                        double eps, float *scale, float *shift) {
    for (int ch = 0; ch < c; ch++) {
        double sc = gamma[ch] / sqrt(var[ch] + eps);
        scale[ch] = (float) sc;
        shift[ch] = (float) (beta[ch] - mean[ch] * sc);
    }
}

static void normalize_range(const float *x, float *y, int from, int to, int c, int hw, const float *scale,
                            const float *shift, int relu) {
    for (int i = from; i < to; i++) {
        size_t base = (size_t) i * c * hw;
        for (int ch = 0; ch < c; ch++) {
            const float *p = x + base + (size_t) ch * hw;
            float *o = y + base + (size_t) ch * hw;
            const float a = scale[ch], b = shift[ch];
            if (relu) {
#pragma omp simd
                for (int k = 0; k < hw; k++) {
                    /* (v + 2^-100) - 2^-100: outputs are 0 or >= 2^-124, as in the Java kernel */
                    float v = (p[k] * a + b + FLUSH) - FLUSH;
                    o[k] = v > 0.0f ? v : 0.0f;
                }
            } else {
#pragma omp simd
                for (int k = 0; k < hw; k++) {
                    o[k] = p[k] * a + b;
                }
            }
        }
    }
}

/*
 * y = gamma (x - mean) / sqrt(var + eps) + beta with the given statistics (ReLU'd if relu != 0).
 * x, y: [n, c, h*w] float32 'c' order; gamma, beta: float32 [c]; mean, var: double [c].
 */
void r4j_bn_normalize(intptr_t xp, intptr_t yp, int n, int c, int hw, intptr_t gammap, intptr_t betap,
                      double eps, int relu, const double *mean, const double *var) {
    float *scale = malloc(sizeof(float) * c), *shift = malloc(sizeof(float) * c);
    scale_shift(c, (const float *) gammap, (const float *) betap, mean, var, eps, scale, shift);
    const float *x = (const float *) xp;
    float *y = (float *) yp;
#pragma omp parallel
    {
        int from, to;
        range(n, omp_get_thread_num(), omp_get_num_threads(), &from, &to);
        normalize_range(x, y, from, to, c, hw, scale, shift, relu);
    }
    free(scale);
    free(shift);
}

/*
 * Batch mean and biased variance (double [c]) from nt threads' per-channel sums s of (x - shift) and q of
 * (x - shift)^2 over count values per channel.
 */
static void moments_finish(int c, int nt, const double *s, const double *q, double count, const float *shift,
                           double *mean, double *var) {
    for (int ch = 0; ch < c; ch++) {
        double st = 0, qt = 0;
        for (int t = 0; t < nt; t++) {
            st += s[(size_t) t * c + ch];
            qt += q[(size_t) t * c + ch];
        }
        double m = st / count;
        mean[ch] = shift[ch] + m;
        double v = qt / count - m * m;
        var[ch] = v > 0 ? v : 0;
    }
}

/*
 * Training forward: per-channel batch mean and biased variance into mean/var (double [c]), then the
 * normalization of r4j_bn_normalize. Sums are shifted by each channel's first value.
 */
void r4j_bn_forward_train(intptr_t xp, intptr_t yp, int n, int c, int hw, intptr_t gammap, intptr_t betap,
                          double eps, int relu, double *mean, double *var) {
    const float *x = (const float *) xp;
    int nt = omp_get_max_threads();
    double *s = calloc((size_t) nt * c, sizeof(double)), *q = calloc((size_t) nt * c, sizeof(double));
    float *shiftx = malloc(sizeof(float) * c);
    for (int ch = 0; ch < c; ch++) {
        shiftx[ch] = x[(size_t) ch * hw];
    }
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), from, to;
        range(n, t, omp_get_num_threads(), &from, &to);
        moments(x, from, to, c, hw, shiftx, s + (size_t) t * c, q + (size_t) t * c);
    }
    moments_finish(c, nt, s, q, (double) n * hw, shiftx, mean, var);
    free(s);
    free(q);
    free(shiftx);
    r4j_bn_normalize(xp, yp, n, c, hw, gammap, betap, eps, relu, mean, var);
}

/*
 * The backward pass's per-channel coefficients from the per-thread sums sd (of g) and sx (of g (x - mean)) of nt
 * threads: dx = k1 g + k2 x + k3, and dGamma, dBeta; count values per channel, output gradient times scale.
 */
static void bn_backward_coefficients(int c, int nt, const double *sd, const double *sx, double scale, double count,
                                     const double *mean, const double *var, const float *gamma, double eps,
                                     float *k1, float *k2, float *k3, double *dGamma, double *dBeta) {
    for (int ch = 0; ch < c; ch++) {
        double sumDy = 0, sumDyXc = 0;
        for (int t = 0; t < nt; t++) {
            sumDy += sd[(size_t) t * c + ch];
            sumDyXc += sx[(size_t) t * c + ch];
        }
        sumDy *= scale;
        sumDyXc *= scale;
        double invStd = 1.0 / sqrt(var[ch] + eps);
        double sumDyXhat = sumDyXc * invStd;
        /* dx = g invStd (dy - mean(dy) - xhat mean(dy xhat)),  xhat = (x - mean) invStd */
        double a = gamma[ch] * invStd;
        double b = -a * invStd * sumDyXhat / count;
        k1[ch] = (float) (a * scale);
        k2[ch] = (float) b;
        k3[ch] = (float) (-a * sumDy / count - b * mean[ch]);
        dGamma[ch] = sumDyXhat;
        dBeta[ch] = sumDy;
    }
}

/*
 * Training backward from scale * dy (the multiplier folded into the per-channel sums and coefficients, so
 * that a scaled output gradient needs no pass of its own). With relu, y is the forward output and the
 * gradient passes where y > 0. Writes dx (float32, may not alias x, y or dy), dGamma and dBeta (double [c]).
 */
void r4j_bn_backward(intptr_t xp, intptr_t yp, int relu, intptr_t dyp, double scale, int n, int c, int hw,
                     const double *mean, const double *var, intptr_t gammap, double eps, intptr_t dxp,
                     double *dGamma, double *dBeta) {
    const float *x = (const float *) xp, *y = (const float *) yp, *dy = (const float *) dyp;
    const float *gamma = (const float *) gammap;
    float *dx = (float *) dxp;
    int nt = omp_get_max_threads();
    double *sd = calloc((size_t) nt * c, sizeof(double)), *sx = calloc((size_t) nt * c, sizeof(double));
    float *meanF = malloc(sizeof(float) * c), *k1 = malloc(sizeof(float) * c), *k2 = malloc(sizeof(float) * c),
          *k3 = malloc(sizeof(float) * c);
    for (int ch = 0; ch < c; ch++) {
        meanF[ch] = (float) mean[ch];
    }
    /* pass 1: g = dy masked by the ReLU (kept in dx for pass 2); per channel sum(g), sum(g (x - mean)) */
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), from, to;
        range(n, t, omp_get_num_threads(), &from, &to);
        double *sdt = sd + (size_t) t * c, *sxt = sx + (size_t) t * c;
        for (int i = from; i < to; i++) {
            size_t base = (size_t) i * c * hw;
            for (int ch = 0; ch < c; ch++) {
                size_t off = base + (size_t) ch * hw;
                const float *xp2 = x + off, *dp = dy + off;
                const float m = meanF[ch];
                float s0 = 0, t0 = 0;
                if (relu) {
                    const float *yp2 = y + off;
                    float *gp = dx + off;
#pragma omp simd reduction(+ : s0, t0)
                    for (int k = 0; k < hw; k++) {
                        float g = yp2[k] > 0.0f ? dp[k] : 0.0f;
                        gp[k] = g;
                        s0 += g;
                        t0 += g * (xp2[k] - m);
                    }
                } else {
#pragma omp simd reduction(+ : s0, t0)
                    for (int k = 0; k < hw; k++) {
                        s0 += dp[k];
                        t0 += dp[k] * (xp2[k] - m);
                    }
                }
                sdt[ch] += s0;
                sxt[ch] += t0;
            }
        }
    }
    bn_backward_coefficients(c, nt, sd, sx, scale, (double) n * hw, mean, var, gamma, eps, k1, k2, k3, dGamma, dBeta);
    /* pass 2: dx = k1 g + k2 x + k3 */
    const float *g = relu ? dx : dy;
#pragma omp parallel
    {
        int from, to;
        range(n, omp_get_thread_num(), omp_get_num_threads(), &from, &to);
        for (int i = from; i < to; i++) {
            size_t base = (size_t) i * c * hw;
            for (int ch = 0; ch < c; ch++) {
                size_t off = base + (size_t) ch * hw;
                const float *gp = g + off, *xp2 = x + off;
                float *o = dx + off;
                const float a = k1[ch], b = k2[ch], d = k3[ch];
#pragma omp simd
                for (int k = 0; k < hw; k++) {
                    o[k] = gp[k] * a + xp2[k] * b + d;
                }
            }
        }
    }
    free(sd);
    free(sx);
    free(meanF);
    free(k1);
    free(k2);
    free(k3);
}

/*
 * ReLU backward from the ReLU's output y: dx = dy where y is not +0, else 0 (float32, length len; dx may alias
 * dy). ReLU outputs are >= 0 or -0 or NaN; like the Java kernel, only an exact +0 blocks the gradient.
 */
void r4j_relu_backward(intptr_t yp, intptr_t dyp, intptr_t dxp, int64_t len) {
    const uint32_t *y = (const uint32_t *) yp;
    const float *dy = (const float *) dyp;
    float *dx = (float *) dxp;
#pragma omp parallel for simd schedule(static)
    for (int64_t k = 0; k < len; k++) {
        dx[k] = y[k] != 0u ? dy[k] : 0.0f;
    }
}

/*
 * The residual block's output: out[i, :] = relu(s[i] x[i, :] + y[i, :]) over n rows of m values (float32);
 * s == NULL means a multiplier of 1 (then x + y, no multiplication). relu(v) = v < 0 ? 0 : v, as libnd4j's
 * (-0 and NaN pass through). out may alias x or y.
 */
void r4j_scale_add_relu(intptr_t xp, intptr_t yp, intptr_t outp, int n, int64_t m, const float *s) {
    const float *x = (const float *) xp, *y = (const float *) yp;
    float *out = (float *) outp;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t) i * m, *yi = y + (size_t) i * m;
        float *oi = out + (size_t) i * m;
        if (s == NULL) {
#pragma omp simd
            for (int64_t k = 0; k < m; k++) {
                float v = xi[k] + yi[k];
                oi[k] = v < 0.0f ? 0.0f : v;
            }
        } else {
            const float a = s[i];
#pragma omp simd
            for (int64_t k = 0; k < m; k++) {
                float v = xi[k] * a + yi[k];
                oi[k] = v < 0.0f ? 0.0f : v;
            }
        }
    }
}

/*
 * Option-A (zero-padded) shortcut, forward: out[i, before + j, r, q] = x[i, j, r*stride, q*stride] for the cin
 * channels j of x, and 0 in the other channels of out (cout channels, ho x wo). Every element of out is written.
 */
void r4j_zero_pad_forward(intptr_t xp, intptr_t outp, int n, int cin, int h, int w, int cout, int before,
                          int stride, int ho, int wo) {
    const float *x = (const float *) xp;
    float *out = (float *) outp;
    const int64_t plane = (int64_t) ho * wo;
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < cout; c++) {
            float *o = out + ((int64_t) i * cout + c) * plane;
            int j = c - before;
            if (j < 0 || j >= cin) {
                memset(o, 0, sizeof(float) * (size_t) plane);
                continue;
            }
            const float *xi = x + ((int64_t) i * cin + j) * h * w;
            for (int r = 0; r < ho; r++) {
                const float *row = xi + (int64_t) r * stride * w;
                for (int q = 0; q < wo; q++) {
                    o[(int64_t) r * wo + q] = row[(int64_t) q * stride];
                }
            }
        }
    }
}

/*
 * Its backward: the input gradient dx (n x cin x h x w) gets d[i, before + j, r, q] at [i, j, r*stride,
 * q*stride] -- added to dx when accumulate != 0, else dx is overwritten (0 at the positions the shortcut skips).
 */
void r4j_zero_pad_backward(intptr_t dp, intptr_t dxp, int n, int cin, int h, int w, int cout, int before,
                           int stride, int ho, int wo, int accumulate) {
    const float *d = (const float *) dp;
    float *dx = (float *) dxp;
    const int64_t plane = (int64_t) ho * wo;
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < cin; j++) {
            float *g = dx + ((int64_t) i * cin + j) * h * w;
            const float *di = d + ((int64_t) i * cout + before + j) * plane;
            if (!accumulate) {
                memset(g, 0, sizeof(float) * (size_t) h * w);
            }
            for (int r = 0; r < ho; r++) {
                float *row = g + (int64_t) r * stride * w;
                for (int q = 0; q < wo; q++) {
                    row[(int64_t) q * stride] += di[(int64_t) r * wo + q];
                }
            }
        }
    }
}

/* Sets len floats to +0: memset, split over the team when large. */
void r4j_zero(intptr_t p, int64_t len) {
    float *a = (float *) p;
    if (len < (1 << 18)) {
        memset(a, 0, sizeof(float) * (size_t) len);
        return;
    }
#pragma omp parallel
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t from = len * t / nt, to = len * (t + 1) / nt;
        memset(a + from, 0, sizeof(float) * (size_t) (to - from));
    }
}

/* Copies len floats from src to dst (not overlapping): memcpy, split over the team when large. */
void r4j_copy(intptr_t srcp, intptr_t dstp, int64_t len) {
    const float *src = (const float *) srcp;
    float *dst = (float *) dstp;
    if (len < (1 << 18)) {
        memcpy(dst, src, sizeof(float) * (size_t) len);
        return;
    }
#pragma omp parallel
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t from = len * t / nt, to = len * (t + 1) / nt;
        memcpy(dst + from, src + from, sizeof(float) * (size_t) (to - from));
    }
}

/* ---------------------------------------------------------------------------------------------------------------
 * Channels-last (NHWC) kernels: an activation is [rows = n*h*w, c] float32, 'c' order. Used with the direct oneDNN
 * convolutions below, whose fast kernels read and write NHWC (libnd4j's conv2d copies NCHW arrays into oneDNN's
 * layout and back on every call).
 */

#define NHWC_CHUNK 256

/* Row range [*from, *to) of thread t of nt over rows rows. */
static void range64(int64_t rows, int t, int nt, int64_t *from, int64_t *to) {
    *from = rows * t / nt;
    *to = rows * (t + 1) / nt;
}

static void normalize_nhwc_range(const float *x, float *y, int64_t from, int64_t to, int c, const float *scale,
                                 const float *shift, int relu) {
    for (int64_t r = from; r < to; r++) {
        const float *p = x + r * c;
        float *o = y + r * c;
        if (relu) {
#pragma omp simd
            for (int ch = 0; ch < c; ch++) {
                float v = (p[ch] * scale[ch] + shift[ch] + FLUSH) - FLUSH;
                o[ch] = v > 0.0f ? v : 0.0f;
            }
        } else {
#pragma omp simd
            for (int ch = 0; ch < c; ch++) {
                o[ch] = p[ch] * scale[ch] + shift[ch];
            }
        }
    }
}

/* r4j_bn_normalize for NHWC: x, y [rows, c]. */
void r4j_bn_normalize_nhwc(intptr_t xp, intptr_t yp, int64_t rows, int c, intptr_t gammap, intptr_t betap,
                           double eps, int relu, const double *mean, const double *var) {
    float *scale = malloc(sizeof(float) * c), *shift = malloc(sizeof(float) * c);
    scale_shift(c, (const float *) gammap, (const float *) betap, mean, var, eps, scale, shift);
#pragma omp parallel
    {
        int64_t from, to;
        range64(rows, omp_get_thread_num(), omp_get_num_threads(), &from, &to);
        normalize_nhwc_range((const float *) xp, (float *) yp, from, to, c, scale, shift, relu);
    }
    free(scale);
    free(shift);
}

/* r4j_bn_forward_train for NHWC: float sums over chunks of NHWC_CHUNK rows, added in double. */
void r4j_bn_forward_train_nhwc(intptr_t xp, intptr_t yp, int64_t rows, int c, intptr_t gammap, intptr_t betap,
                               double eps, int relu, double *mean, double *var) {
    const float *x = (const float *) xp;
    int nt = omp_get_max_threads();
    double *s = calloc((size_t) nt * c, sizeof(double)), *q = calloc((size_t) nt * c, sizeof(double));
    const float *shiftx = x;   /* each channel's first value */
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num();
        int64_t from, to;
        range64(rows, t, omp_get_num_threads(), &from, &to);
        float *s0 = malloc(sizeof(float) * c), *q0 = malloc(sizeof(float) * c);
        double *st = s + (size_t) t * c, *qt = q + (size_t) t * c;
        for (int64_t r0 = from; r0 < to; r0 += NHWC_CHUNK) {
            int64_t r1 = r0 + NHWC_CHUNK < to ? r0 + NHWC_CHUNK : to;
            if (c % 16 == 0) {
                /* 16 channels at a time, the sums in registers */
                for (int cb = 0; cb < c; cb += 16) {
                    float ls[16] = {0}, lq[16] = {0}, sh[16];
                    for (int k = 0; k < 16; k++) sh[k] = shiftx[cb + k];
                    for (int64_t r = r0; r < r1; r++) {
                        const float *restrict p = x + r * c + cb;
#pragma omp simd
                        for (int k = 0; k < 16; k++) {
                            float a = p[k] - sh[k];
                            ls[k] += a;
                            lq[k] += a * a;
                        }
                    }
                    for (int k = 0; k < 16; k++) {
                        st[cb + k] += ls[k];
                        qt[cb + k] += lq[k];
                    }
                }
                continue;
            }
            memset(s0, 0, sizeof(float) * c);
            memset(q0, 0, sizeof(float) * c);
            for (int64_t r = r0; r < r1; r++) {
                const float *p = x + r * c;
#pragma omp simd
                for (int ch = 0; ch < c; ch++) {
                    float a = p[ch] - shiftx[ch];
                    s0[ch] += a;
                    q0[ch] += a * a;
                }
            }
            for (int ch = 0; ch < c; ch++) {
                st[ch] += s0[ch];
                qt[ch] += q0[ch];
            }
        }
        free(s0);
        free(q0);
    }
    moments_finish(c, nt, s, q, (double) rows, shiftx, mean, var);
    free(s);
    free(q);
    r4j_bn_normalize_nhwc(xp, yp, rows, c, gammap, betap, eps, relu, mean, var);
}

/*
 * r4j_bn_backward for NHWC (same arguments, rows instead of n and hw), and optionally a multiplier per example:
 * with rowScale != NULL the output gradient of row r is dy[r] * rowScale[r / hw] (a float multiply, as a separate
 * pass would do), e.g. a ROW-mode stochastic-depth branch's per-example 0 or 1/keepProb.
 */
void r4j_bn_backward_nhwc(intptr_t xp, intptr_t yp, int relu, intptr_t dyp, double scale, int64_t rows, int c,
                          const double *mean, const double *var, intptr_t gammap, double eps, intptr_t dxp,
                          double *dGamma, double *dBeta, const float *rowScale, int hw) {
    const float *x = (const float *) xp, *y = (const float *) yp, *dy = (const float *) dyp;
    const float *gamma = (const float *) gammap;
    float *dx = (float *) dxp;
    int nt = omp_get_max_threads();
    double *sd = calloc((size_t) nt * c, sizeof(double)), *sx = calloc((size_t) nt * c, sizeof(double));
    float *meanF = malloc(sizeof(float) * c), *k1 = malloc(sizeof(float) * c), *k2 = malloc(sizeof(float) * c),
          *k3 = malloc(sizeof(float) * c);
    for (int ch = 0; ch < c; ch++) {
        meanF[ch] = (float) mean[ch];
    }
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num();
        int64_t from, to;
        range64(rows, t, omp_get_num_threads(), &from, &to);
        float *s0 = malloc(sizeof(float) * c), *t0 = malloc(sizeof(float) * c);
        double *sdt = sd + (size_t) t * c, *sxt = sx + (size_t) t * c;
        for (int64_t r0 = from; r0 < to; r0 += NHWC_CHUNK) {
            int64_t r1 = r0 + NHWC_CHUNK < to ? r0 + NHWC_CHUNK : to;
            if (c % 16 == 0 && !rowScale) {
                /* 16 channels at a time, the sums in registers */
                for (int cb = 0; cb < c; cb += 16) {
                    float ls[16] = {0}, lt[16] = {0}, mf[16];
                    for (int k = 0; k < 16; k++) mf[k] = meanF[cb + k];
                    for (int64_t r = r0; r < r1; r++) {
                        const float *restrict xr = x + r * c + cb, *restrict dr = dy + r * c + cb;
                        if (relu) {
                            const float *restrict yr = y + r * c + cb;
                            float *restrict gr = dx + r * c + cb;
#pragma omp simd
                            for (int k = 0; k < 16; k++) {
                                float g = yr[k] > 0.0f ? dr[k] : 0.0f;
                                gr[k] = g;
                                ls[k] += g;
                                lt[k] += g * (xr[k] - mf[k]);
                            }
                        } else {
#pragma omp simd
                            for (int k = 0; k < 16; k++) {
                                ls[k] += dr[k];
                                lt[k] += dr[k] * (xr[k] - mf[k]);
                            }
                        }
                    }
                    for (int k = 0; k < 16; k++) {
                        sdt[cb + k] += ls[k];
                        sxt[cb + k] += lt[k];
                    }
                }
                continue;
            }
            memset(s0, 0, sizeof(float) * c);
            memset(t0, 0, sizeof(float) * c);
            for (int64_t r = r0; r < r1; r++) {
                const float *xr = x + r * c, *dr = dy + r * c;
                const float rs = rowScale ? rowScale[r / hw] : 1.0f;
                if (relu) {
                    const float *yr = y + r * c;
                    float *gr = dx + r * c;
                    if (rowScale) {
#pragma omp simd
                        for (int ch = 0; ch < c; ch++) {
                            float g = yr[ch] > 0.0f ? dr[ch] * rs : 0.0f;
                            gr[ch] = g;
                            s0[ch] += g;
                            t0[ch] += g * (xr[ch] - meanF[ch]);
                        }
                    } else {
#pragma omp simd
                        for (int ch = 0; ch < c; ch++) {
                            float g = yr[ch] > 0.0f ? dr[ch] : 0.0f;
                            gr[ch] = g;
                            s0[ch] += g;
                            t0[ch] += g * (xr[ch] - meanF[ch]);
                        }
                    }
                } else if (rowScale) {
#pragma omp simd
                    for (int ch = 0; ch < c; ch++) {
                        float g = dr[ch] * rs;
                        s0[ch] += g;
                        t0[ch] += g * (xr[ch] - meanF[ch]);
                    }
                } else {
#pragma omp simd
                    for (int ch = 0; ch < c; ch++) {
                        s0[ch] += dr[ch];
                        t0[ch] += dr[ch] * (xr[ch] - meanF[ch]);
                    }
                }
            }
            for (int ch = 0; ch < c; ch++) {
                sdt[ch] += s0[ch];
                sxt[ch] += t0[ch];
            }
        }
        free(s0);
        free(t0);
    }
    bn_backward_coefficients(c, nt, sd, sx, scale, (double) rows, mean, var, gamma, eps, k1, k2, k3, dGamma, dBeta);
    const float *g = relu ? dx : dy;
#pragma omp parallel
    {
        int64_t from, to;
        range64(rows, omp_get_thread_num(), omp_get_num_threads(), &from, &to);
        for (int64_t r = from; r < to; r++) {
            const float *gr = g + r * c, *xr = x + r * c;
            float *o = dx + r * c;
            if (rowScale && !relu) {   /* g = dy * rs, not stored */
                const float rs = rowScale[r / hw];
#pragma omp simd
                for (int ch = 0; ch < c; ch++) {
                    o[ch] = (gr[ch] * rs) * k1[ch] + xr[ch] * k2[ch] + k3[ch];
                }
            } else {
#pragma omp simd
                for (int ch = 0; ch < c; ch++) {
                    o[ch] = gr[ch] * k1[ch] + xr[ch] * k2[ch] + k3[ch];
                }
            }
        }
    }
    free(sd);
    free(sx);
    free(meanF);
    free(k1);
    free(k2);
    free(k3);
}

/*
 * Layout change of n examples of c channels x hw pixels: NCHW -> NHWC (to_nhwc != 0) or NHWC -> NCHW, added to
 * dst when accumulate != 0. Tiles of 16 x 16.
 */
void r4j_transpose(intptr_t srcp, intptr_t dstp, int n, int c, int hw, int to_nhwc, int accumulate) {
    const float *src = (const float *) srcp;
    float *dst = (float *) dstp;
    /* per example: src is a [rows_s, cols_s] matrix, dst its transpose */
    const int rs = to_nhwc ? c : hw, cs = to_nhwc ? hw : c;
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < n; i++) {
        for (int a0 = 0; a0 < rs; a0 += 16) {
            const float *s = src + (size_t) i * c * hw;
            float *d = dst + (size_t) i * c * hw;
            int a1 = a0 + 16 < rs ? a0 + 16 : rs;
            for (int b0 = 0; b0 < cs; b0 += 16) {
                int b1 = b0 + 16 < cs ? b0 + 16 : cs;
                for (int b = b0; b < b1; b++) {
                    float *dr = d + (size_t) b * rs;
                    if (accumulate) {
                        for (int a = a0; a < a1; a++) dr[a] += s[(size_t) a * cs + b];
                    } else {
                        for (int a = a0; a < a1; a++) dr[a] = s[(size_t) a * cs + b];
                    }
                }
            }
        }
    }
}

/* Option-A shortcut for NHWC: out[i, r, q, before + j] = x[i, r*stride, q*stride, j]; 0 elsewhere. */
void r4j_zero_pad_forward_nhwc(intptr_t xp, intptr_t outp, int n, int cin, int h, int w, int cout, int before,
                               int stride, int ho, int wo) {
    const float *x = (const float *) xp;
    float *out = (float *) outp;
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < n; i++) {
        for (int r = 0; r < ho; r++) {
            for (int q = 0; q < wo; q++) {
                float *o = out + (((int64_t) i * ho + r) * wo + q) * cout;
                const float *p = x + (((int64_t) i * h + (int64_t) r * stride) * w + (int64_t) q * stride) * cin;
                memset(o, 0, sizeof(float) * (size_t) before);
                memcpy(o + before, p, sizeof(float) * (size_t) cin);
                memset(o + before + cin, 0, sizeof(float) * (size_t) (cout - before - cin));
            }
        }
    }
}

/* Its backward: dx[i, r*stride, q*stride, j] (+)= d[i, r, q, before + j]; dx overwritten (0 elsewhere) unless
 * accumulate. */
void r4j_zero_pad_backward_nhwc(intptr_t dp, intptr_t dxp, int n, int cin, int h, int w, int cout, int before,
                                int stride, int ho, int wo, int accumulate) {
    const float *d = (const float *) dp;
    float *dx = (float *) dxp;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        float *g = dx + (int64_t) i * h * w * cin;
        if (!accumulate) {
            memset(g, 0, sizeof(float) * (size_t) h * w * cin);
        }
        for (int r = 0; r < ho; r++) {
            for (int q = 0; q < wo; q++) {
                const float *p = d + (((int64_t) i * ho + r) * wo + q) * cout + before;
                float *o = g + (((int64_t) r * stride) * w + (int64_t) q * stride) * cin;
                for (int j = 0; j < cin; j++) o[j] += p[j];
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------------------------
 * Direct oneDNN 2.x convolutions on NHWC arrays. libnd4jcpu.so (onednn build) contains oneDNN 2.3 but does not
 * export its C API; its ELF .symtab keeps the dnnl_* functions as local symbols. r4j_dnnl_init finds them there
 * and adds the library's load address. Only the stable v2 C API is used; descriptor structs are treated as opaque
 * buffers (larger than v2's), enum values are v2's (unchanged through 2.x).
 */

typedef struct { int arg; void *memory; } r4j_exec_arg;
typedef int dst_t;
static dst_t (*d_engine_create)(void **, int, size_t);
static dst_t (*d_stream_create)(void **, void *, unsigned);
static dst_t (*d_stream_destroy)(void *);
static dst_t (*d_md_init_by_strides)(void *, int, const int64_t *, int, const int64_t *);
static dst_t (*d_md_init_by_tag)(void *, int, const int64_t *, int, int);
static int (*d_md_equal)(const void *, const void *);
static size_t (*d_md_get_size)(const void *);
static dst_t (*d_conv_fwd_init)(void *, int, int, const void *, const void *, const void *, const void *,
                                const int64_t *, const int64_t *, const int64_t *);
static dst_t (*d_conv_bwd_data_init)(void *, int, const void *, const void *, const void *, const int64_t *,
                                     const int64_t *, const int64_t *);
static dst_t (*d_conv_bwd_w_init)(void *, int, const void *, const void *, const void *, const void *,
                                  const int64_t *, const int64_t *, const int64_t *);
static dst_t (*d_pd_create)(void **, const void *, const void *, void *, const void *);
static dst_t (*d_pd_destroy)(void *);
static const void *(*d_pd_query_md)(const void *, int, int);
static dst_t (*d_pd_query)(const void *, int, int, void *);
static dst_t (*d_reorder_pd_create)(void **, const void *, void *, const void *, void *, const void *);
static dst_t (*d_prim_create)(void **, const void *);
static dst_t (*d_prim_destroy)(void *);
static dst_t (*d_prim_execute)(const void *, void *, int, const r4j_exec_arg *);
static dst_t (*d_mem_create)(void **, const void *, void *, void *);
static dst_t (*d_mem_destroy)(void *);
static dst_t (*d_mem_set_handle)(void *, void *);
typedef struct { int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime; } r4j_dnnl_version_t;
static const r4j_dnnl_version_t *(*d_version)(void);

static void *ENGINE;
static char DNNL_ERROR[256];

/* oneDNN v2 constants */
#define D_F32 3
#define D_TAG_ANY 1
#define D_CPU 1
#define D_STREAM_DEFAULT 1
#define D_FORWARD_TRAINING 64
#define D_CONV_DIRECT 1
#define D_Q_IMPL 8
#define D_Q_WEIGHTS_MD 131
#define D_Q_DIFF_WEIGHTS_MD 132
#define D_ARG_SRC 1
#define D_ARG_DST 17
#define D_ARG_WEIGHTS 33
#define D_ARG_DIFF_SRC 129
#define D_ARG_DIFF_DST 145
#define D_ARG_DIFF_WEIGHTS 161
#define MD_BYTES 4096
#define OP_BYTES 32768

const char *r4j_dnnl_error(void) { return DNNL_ERROR; }

/*
 * Finds oneDNN inside the loaded library at path (exported: one of its exported symbols, to get the load
 * address) and creates the CPU engine. Returns 0 on success, else a negative code (message in r4j_dnnl_error).
 */
int r4j_dnnl_init(const char *path, const char *exported) {
    if (ENGINE) return 0;
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (!h) { snprintf(DNNL_ERROR, sizeof DNNL_ERROR, "not loaded: %s", path); return -1; }
    void *e = dlsym(h, exported);
    if (!e) { snprintf(DNNL_ERROR, sizeof DNNL_ERROR, "no exported symbol %s", exported); return -2; }
    int fd = open(path, O_RDONLY);
    if (fd < 0) { snprintf(DNNL_ERROR, sizeof DNNL_ERROR, "cannot open %s", path); return -3; }
    struct stat st;
    fstat(fd, &st);
    unsigned char *m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) { snprintf(DNNL_ERROR, sizeof DNNL_ERROR, "cannot map %s", path); return -3; }
    Elf64_Ehdr *eh = (Elf64_Ehdr *) m;
    Elf64_Shdr *sh = (Elf64_Shdr *) (m + eh->e_shoff);
    static const char *names[] = {"dnnl_engine_create", "dnnl_stream_create", "dnnl_stream_destroy",
        "dnnl_memory_desc_init_by_strides", "dnnl_memory_desc_init_by_tag", "dnnl_memory_desc_equal",
        "dnnl_memory_desc_get_size", "dnnl_convolution_forward_desc_init", "dnnl_convolution_backward_data_desc_init",
        "dnnl_convolution_backward_weights_desc_init", "dnnl_primitive_desc_create", "dnnl_primitive_desc_destroy",
        "dnnl_primitive_desc_query_md", "dnnl_primitive_desc_query", "dnnl_reorder_primitive_desc_create",
        "dnnl_primitive_create", "dnnl_primitive_destroy", "dnnl_primitive_execute", "dnnl_memory_create",
        "dnnl_memory_destroy", "dnnl_memory_set_data_handle", "dnnl_version"};
    enum { NN = sizeof names / sizeof names[0] };
    long values[NN + 1];
    for (int k = 0; k <= NN; k++) values[k] = -1;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB) continue;
        Elf64_Sym *sym = (Elf64_Sym *) (m + sh[i].sh_offset);
        const char *str = (const char *) (m + sh[sh[i].sh_link].sh_offset);
        size_t count = sh[i].sh_size / sizeof(Elf64_Sym);
        for (size_t k = 0; k < count; k++) {
            const char *nm = str + sym[k].st_name;
            if (ELF64_ST_TYPE(sym[k].st_info) != STT_FUNC || sym[k].st_value == 0) continue;
            if (strcmp(nm, exported) == 0) { values[NN] = (long) sym[k].st_value; continue; }
            if (nm[0] != 'd' || strncmp(nm, "dnnl_", 5) != 0) continue;
            for (int j = 0; j < NN; j++) if (strcmp(nm, names[j]) == 0) values[j] = (long) sym[k].st_value;
        }
    }
    munmap(m, st.st_size);
    for (int j = 0; j <= NN; j++) {
        if (values[j] < 0) {
            snprintf(DNNL_ERROR, sizeof DNNL_ERROR, "symbol %s not in the library's symbol table",
                     j < NN ? names[j] : exported);
            return -4;
        }
    }
    long base = (long) e - values[NN];
    Dl_info info;
    if (!dladdr(e, &info) || (long) info.dli_fbase != base) {
        snprintf(DNNL_ERROR, sizeof DNNL_ERROR, "load address mismatch");
        return -5;
    }
    void **slots[NN] = {(void **) &d_engine_create, (void **) &d_stream_create, (void **) &d_stream_destroy,
        (void **) &d_md_init_by_strides, (void **) &d_md_init_by_tag, (void **) &d_md_equal, (void **) &d_md_get_size,
        (void **) &d_conv_fwd_init, (void **) &d_conv_bwd_data_init, (void **) &d_conv_bwd_w_init,
        (void **) &d_pd_create, (void **) &d_pd_destroy, (void **) &d_pd_query_md, (void **) &d_pd_query,
        (void **) &d_reorder_pd_create, (void **) &d_prim_create, (void **) &d_prim_destroy,
        (void **) &d_prim_execute, (void **) &d_mem_create, (void **) &d_mem_destroy, (void **) &d_mem_set_handle,
        (void **) &d_version};
    for (int j = 0; j < NN; j++) *slots[j] = (void *) (base + values[j]);
    const r4j_dnnl_version_t *v = d_version();
    if (v->major != 2) {
        snprintf(DNNL_ERROR, sizeof DNNL_ERROR, "oneDNN %d.%d.%d: only 2.x is supported", v->major, v->minor,
                 v->patch);
        return -6;
    }
    void *eng;
    if (d_engine_create(&eng, D_CPU, 0)) { snprintf(DNNL_ERROR, sizeof DNNL_ERROR, "engine_create failed"); return -7; }
    ENGINE = eng;
    snprintf(DNNL_ERROR, sizeof DNNL_ERROR, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
    return 0;
}

typedef struct {
    void *stream;
    void *fwd, *bwd_d, *bwd_w;              /* primitives */
    void *x, *y, *dy, *dx;                  /* NHWC memories; handles set per call */
    void *wu, *dwu;                         /* user weights [cout, cin, kh, kw] */
    void *wf, *wb, *dwi;                    /* the primitives' weights (== wu / dwu when the formats agree) */
    void *rf, *rb, *rdw;                    /* weight reorders, or NULL */
    void *buf[3];
    char impl[3][64];
} r4j_conv;

static void conv_free(r4j_conv *c) {
    void *prims[] = {c->fwd, c->bwd_d, c->bwd_w, c->rf, c->rb, c->rdw};
    for (int i = 0; i < 6; i++) if (prims[i]) d_prim_destroy(prims[i]);
    void *mems[] = {c->x, c->y, c->dy, c->dx, c->wu, c->dwu};
    for (int i = 0; i < 6; i++) if (mems[i]) d_mem_destroy(mems[i]);
    if (c->wf && c->wf != c->wu) d_mem_destroy(c->wf);
    if (c->wb && c->wb != c->wu) d_mem_destroy(c->wb);
    if (c->dwi && c->dwi != c->dwu) d_mem_destroy(c->dwi);
    for (int i = 0; i < 3; i++) free(c->buf[i]);
    if (c->stream) d_stream_destroy(c->stream);
    free(c);
}

/* Memory for the primitive's weights md: the user's if equal, else a new buffer and a reorder (to or from). */
static int weights_mem(r4j_conv *c, const void *md, void *user, const void *user_md, int slot, int from_user,
                       void **mem, void **reorder) {
    if (d_md_equal(md, user_md)) { *mem = user; *reorder = NULL; return 0; }
    size_t bytes = d_md_get_size(md);
    c->buf[slot] = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!c->buf[slot] || d_mem_create(mem, md, ENGINE, c->buf[slot])) return -1;
    void *rpd;
    if (from_user ? d_reorder_pd_create(&rpd, user_md, ENGINE, md, ENGINE, NULL)
                  : d_reorder_pd_create(&rpd, md, ENGINE, user_md, ENGINE, NULL)) return -1;
    int st = d_prim_create(reorder, rpd);
    d_pd_destroy(rpd);
    return st ? -1 : 0;
}

#define DCK(call, what) do { if (call) { snprintf(DNNL_ERROR, sizeof DNNL_ERROR, "%s failed", what); \
    goto fail; } } while (0)

/*
 * A convolution (no bias, no dilation) of x [n, cin, h, w] into y [n, cout, ho, wo], both stored NHWC, with
 * weights [cout, cin, kh, kw] ('c' order, DL4J's layout), stride and symmetric padding. Returns a handle, or 0
 * (message in r4j_dnnl_error). A handle keeps mutable state: one thread at a time.
 */
int64_t r4j_conv_create(int n, int cin, int h, int w, int cout, int kh, int kw, int stride, int pad) {
    if (!ENGINE) { snprintf(DNNL_ERROR, sizeof DNNL_ERROR, "oneDNN not initialized"); return 0; }
    int ho = (h + 2 * pad - kh) / stride + 1, wo = (w + 2 * pad - kw) / stride + 1;
    r4j_conv *c = calloc(1, sizeof(r4j_conv));
    void *fpd = NULL, *bdpd = NULL, *bwpd = NULL;
    char *md = calloc(4, MD_BYTES), *op = calloc(1, OP_BYTES);
    void *xmd = md, *ymd = md + MD_BYTES, *wany = md + 2 * MD_BYTES, *wuser = md + 3 * MD_BYTES;
    int64_t xd[12] = {n, cin, h, w}, xs[12] = {(int64_t) h * w * cin, 1, (int64_t) w * cin, cin};
    int64_t yd[12] = {n, cout, ho, wo}, ys[12] = {(int64_t) ho * wo * cout, 1, (int64_t) wo * cout, cout};
    int64_t wd[12] = {cout, cin, kh, kw}, ws[12] = {(int64_t) cin * kh * kw, (int64_t) kh * kw, kw, 1};
    int64_t strides[12] = {stride, stride}, padl[12] = {pad, pad}, padr[12] = {pad, pad};
    DCK(d_md_init_by_strides(xmd, 4, xd, D_F32, xs), "input descriptor");
    DCK(d_md_init_by_strides(ymd, 4, yd, D_F32, ys), "output descriptor");
    DCK(d_md_init_by_tag(wany, 4, wd, D_F32, D_TAG_ANY), "weights descriptor");
    DCK(d_md_init_by_strides(wuser, 4, wd, D_F32, ws), "user weights descriptor");
    DCK(d_stream_create(&c->stream, ENGINE, D_STREAM_DEFAULT), "stream_create");
    DCK(d_conv_fwd_init(op, D_FORWARD_TRAINING, D_CONV_DIRECT, xmd, wany, NULL, ymd, strides, padl, padr),
        "convolution_forward_desc_init");
    DCK(d_pd_create(&fpd, op, NULL, ENGINE, NULL), "forward primitive_desc_create");
    memset(op, 0, OP_BYTES);
    DCK(d_conv_bwd_data_init(op, D_CONV_DIRECT, xmd, wany, ymd, strides, padl, padr),
        "convolution_backward_data_desc_init");
    DCK(d_pd_create(&bdpd, op, NULL, ENGINE, fpd), "backward-data primitive_desc_create");
    memset(op, 0, OP_BYTES);
    DCK(d_conv_bwd_w_init(op, D_CONV_DIRECT, xmd, wany, NULL, ymd, strides, padl, padr),
        "convolution_backward_weights_desc_init");
    DCK(d_pd_create(&bwpd, op, NULL, ENGINE, fpd), "backward-weights primitive_desc_create");
    DCK(d_prim_create(&c->fwd, fpd), "forward primitive_create");
    DCK(d_prim_create(&c->bwd_d, bdpd), "backward-data primitive_create");
    DCK(d_prim_create(&c->bwd_w, bwpd), "backward-weights primitive_create");
    DCK(d_mem_create(&c->x, xmd, ENGINE, NULL), "memory_create");
    DCK(d_mem_create(&c->dx, xmd, ENGINE, NULL), "memory_create");
    DCK(d_mem_create(&c->y, ymd, ENGINE, NULL), "memory_create");
    DCK(d_mem_create(&c->dy, ymd, ENGINE, NULL), "memory_create");
    DCK(d_mem_create(&c->wu, wuser, ENGINE, NULL), "memory_create");
    DCK(d_mem_create(&c->dwu, wuser, ENGINE, NULL), "memory_create");
    DCK(weights_mem(c, d_pd_query_md(fpd, D_Q_WEIGHTS_MD, 0), c->wu, wuser, 0, 1, &c->wf, &c->rf),
        "forward weights");
    DCK(weights_mem(c, d_pd_query_md(bdpd, D_Q_WEIGHTS_MD, 0), c->wu, wuser, 1, 1, &c->wb, &c->rb),
        "backward-data weights");
    DCK(weights_mem(c, d_pd_query_md(bwpd, D_Q_DIFF_WEIGHTS_MD, 0), c->dwu, wuser, 2, 0, &c->dwi, &c->rdw),
        "backward-weights weights");
    void *pds[3] = {fpd, bdpd, bwpd};
    for (int i = 0; i < 3; i++) {
        const char *nm = NULL;
        if (!d_pd_query(pds[i], D_Q_IMPL, 0, &nm) && nm) snprintf(c->impl[i], sizeof c->impl[i], "%s", nm);
    }
    d_pd_destroy(fpd);
    d_pd_destroy(bdpd);
    d_pd_destroy(bwpd);
    free(md);
    free(op);
    return (int64_t) (intptr_t) c;
fail:
    if (fpd) d_pd_destroy(fpd);
    if (bdpd) d_pd_destroy(bdpd);
    if (bwpd) d_pd_destroy(bwpd);
    free(md);
    free(op);
    conv_free(c);
    return 0;
}

/* Implementation names oneDNN chose (forward, backward data, backward weights), e.g. "brgconv:avx512_core". */
const char *r4j_conv_impl(int64_t handle, int which) {
    return ((r4j_conv *) (intptr_t) handle)->impl[which];
}

void r4j_conv_destroy(int64_t handle) {
    if (handle) conv_free((r4j_conv *) (intptr_t) handle);
}

static int exec2(void *prim, void *stream, int a0, void *m0, int a1, void *m1) {
    r4j_exec_arg args[2] = {{a0, m0}, {a1, m1}};
    return d_prim_execute(prim, stream, 2, args);
}

static int exec3(void *prim, void *stream, int a0, void *m0, int a1, void *m1, int a2, void *m2) {
    r4j_exec_arg args[3] = {{a0, m0}, {a1, m1}, {a2, m2}};
    return d_prim_execute(prim, stream, 3, args);
}

/* y = conv(x, w). Returns 0 or a oneDNN status. */
int r4j_conv_forward(int64_t handle, intptr_t x, intptr_t w, intptr_t y) {
    r4j_conv *c = (r4j_conv *) (intptr_t) handle;
    int st = d_mem_set_handle(c->x, (void *) x) | d_mem_set_handle(c->y, (void *) y)
             | d_mem_set_handle(c->wu, (void *) w);
    if (st) return st;
    if (c->rf && (st = exec2(c->rf, c->stream, D_ARG_SRC, c->wu, D_ARG_DST, c->wf))) return st;
    return exec3(c->fwd, c->stream, D_ARG_SRC, c->x, D_ARG_WEIGHTS, c->wf, D_ARG_DST, c->y);
}

/* Backward: dx (skipped when 0) and dw from dy. Returns 0 or a oneDNN status. */
int r4j_conv_backward(int64_t handle, intptr_t x, intptr_t w, intptr_t dy, intptr_t dx, intptr_t dw) {
    r4j_conv *c = (r4j_conv *) (intptr_t) handle;
    int st = d_mem_set_handle(c->x, (void *) x) | d_mem_set_handle(c->dy, (void *) dy)
             | d_mem_set_handle(c->dwu, (void *) dw);
    if (st) return st;
    if (dx) {
        if ((st = d_mem_set_handle(c->dx, (void *) dx) | d_mem_set_handle(c->wu, (void *) w))) return st;
        if (c->rb && (st = exec2(c->rb, c->stream, D_ARG_SRC, c->wu, D_ARG_DST, c->wb))) return st;
        if ((st = exec3(c->bwd_d, c->stream, D_ARG_DIFF_DST, c->dy, D_ARG_WEIGHTS, c->wb, D_ARG_DIFF_SRC, c->dx)))
            return st;
    }
    if ((st = exec3(c->bwd_w, c->stream, D_ARG_SRC, c->x, D_ARG_DIFF_DST, c->dy, D_ARG_DIFF_WEIGHTS, c->dwi)))
        return st;
    if (c->rdw) st = exec2(c->rdw, c->stream, D_ARG_SRC, c->dwi, D_ARG_DST, c->dwu);
    return st;
}

/* out = x + y over len floats (out may alias x or y), split over the team when large. */
void r4j_add(intptr_t xp, intptr_t yp, intptr_t outp, int64_t len) {
    const float *x = (const float *) xp, *y = (const float *) yp;
    float *out = (float *) outp;
#pragma omp parallel for simd schedule(static) if (len >= (1 << 16))
    for (int64_t k = 0; k < len; k++) {
        out[k] = x[k] + y[k];
    }
}
