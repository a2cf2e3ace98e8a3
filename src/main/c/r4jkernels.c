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
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FLUSH 0x1p-100f

int r4j_version(void) { return 5; }

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
    double count = (double) n * hw;
    for (int ch = 0; ch < c; ch++) {
        double st = 0, qt = 0;
        for (int t = 0; t < nt; t++) {
            st += s[(size_t) t * c + ch];
            qt += q[(size_t) t * c + ch];
        }
        double m = st / count;
        mean[ch] = shiftx[ch] + m;
        double v = qt / count - m * m;
        var[ch] = v > 0 ? v : 0;
    }
    free(s);
    free(q);
    free(shiftx);
    r4j_bn_normalize(xp, yp, n, c, hw, gammap, betap, eps, relu, mean, var);
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
    double count = (double) n * hw;
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
