/*
 * regularize4j native kernels for the channels-last (NHWC, float32) path of the ResNet layers: training-mode batch
 * norm with an optional fused ReLU and its backward pass (with per-example output-gradient multipliers folded in),
 * the residual block's output, the zero-padded (option-A) shortcut, NCHW<->NHWC transposes, and memory helpers. Run
 * on the OpenMP team of the calling thread. The convolutions are oneDNN's, through its public C API
 * (org.regularize4j.backend.DirectConv); nothing here looks into another library.
 *
 * Why native: Java code can use one core only. libnd4j's OpenMP worker threads spin-wait (libgomp's default) on the
 * other core after every libnd4j operation, so a second Java thread competes with them. Code that runs inside an
 * OpenMP region of the same libgomp (the one libnd4j loaded) uses those very threads.
 *
 * Build: scripts/build-native (gcc -O3 -march=x86-64-v3 -fopenmp -ffp-contract=off), linked against nothing newer
 * than glibc 2.17 (scripts/check-native checks it). Loaded by org.regularize4j.backend.NativeKernels after ND4J, so
 * that libgomp.so.1 resolves to libnd4j's copy.
 */
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FLUSH 0x1p-100f

int r4j_version(void) { return 7; }

/* Number of threads a parallel region of the calling thread uses. */
int r4j_max_threads(void) { return omp_get_max_threads(); }

static void scale_shift(int c, const float *gamma, const float *beta, const double *mean, const double *var,
                        double eps, float *scale, float *shift) {
    for (int ch = 0; ch < c; ch++) {
        double sc = gamma[ch] / sqrt(var[ch] + eps);
        scale[ch] = (float) sc;
        shift[ch] = (float) (beta[ch] - mean[ch] * sc);
    }
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
                /* 16 channels at a time, two rows per iteration: eight independent sums in AVX2 registers */
                for (int cb = 0; cb < c; cb += 16) {
                    const __m256 h0 = _mm256_loadu_ps(shiftx + cb), h1 = _mm256_loadu_ps(shiftx + cb + 8);
                    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, q0 = s0, q1 = s0, q2 = s0, q3 = s0;
                    int64_t r = r0;
                    for (; r + 1 < r1; r += 2) {
                        const float *p = x + r * c + cb;
                        __m256 a0 = _mm256_sub_ps(_mm256_loadu_ps(p), h0);
                        __m256 a1 = _mm256_sub_ps(_mm256_loadu_ps(p + 8), h1);
                        __m256 b0 = _mm256_sub_ps(_mm256_loadu_ps(p + c), h0);
                        __m256 b1 = _mm256_sub_ps(_mm256_loadu_ps(p + c + 8), h1);
                        s0 = _mm256_add_ps(s0, a0);
                        s1 = _mm256_add_ps(s1, a1);
                        s2 = _mm256_add_ps(s2, b0);
                        s3 = _mm256_add_ps(s3, b1);
                        q0 = _mm256_add_ps(q0, _mm256_mul_ps(a0, a0));
                        q1 = _mm256_add_ps(q1, _mm256_mul_ps(a1, a1));
                        q2 = _mm256_add_ps(q2, _mm256_mul_ps(b0, b0));
                        q3 = _mm256_add_ps(q3, _mm256_mul_ps(b1, b1));
                    }
                    if (r < r1) {
                        const float *p = x + r * c + cb;
                        __m256 a0 = _mm256_sub_ps(_mm256_loadu_ps(p), h0);
                        __m256 a1 = _mm256_sub_ps(_mm256_loadu_ps(p + 8), h1);
                        s0 = _mm256_add_ps(s0, a0);
                        s1 = _mm256_add_ps(s1, a1);
                        q0 = _mm256_add_ps(q0, _mm256_mul_ps(a0, a0));
                        q1 = _mm256_add_ps(q1, _mm256_mul_ps(a1, a1));
                    }
                    float ls[16], lq[16];
                    _mm256_storeu_ps(ls, _mm256_add_ps(s0, s2));
                    _mm256_storeu_ps(ls + 8, _mm256_add_ps(s1, s3));
                    _mm256_storeu_ps(lq, _mm256_add_ps(q0, q2));
                    _mm256_storeu_ps(lq + 8, _mm256_add_ps(q1, q3));
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
                /* 16 channels at a time, two rows per iteration: eight independent sums in AVX2 registers; with
                   relu, g = dy where y > 0 (else 0) is stored into dx for the second pass */
                const __m256 zero = _mm256_setzero_ps();
                for (int cb = 0; cb < c; cb += 16) {
                    const __m256 m0 = _mm256_loadu_ps(meanF + cb), m1 = _mm256_loadu_ps(meanF + cb + 8);
                    __m256 s0 = zero, s1 = zero, s2 = zero, s3 = zero, u0 = zero, u1 = zero, u2 = zero, u3 = zero;
                    int64_t r = r0;
                    for (; r < r1; r += 2) {
                        int two = r + 1 < r1;
                        for (int j = 0; j <= two; j++) {   /* unrolled by the compiler: j = 0, 1 */
                            const int64_t o = (r + j) * c + cb;
                            __m256 g0 = _mm256_loadu_ps(dy + o), g1 = _mm256_loadu_ps(dy + o + 8);
                            if (relu) {
                                g0 = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(y + o), zero, _CMP_GT_OQ), g0);
                                g1 = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(y + o + 8), zero, _CMP_GT_OQ), g1);
                                _mm256_storeu_ps(dx + o, g0);
                                _mm256_storeu_ps(dx + o + 8, g1);
                            }
                            __m256 d0 = _mm256_mul_ps(g0, _mm256_sub_ps(_mm256_loadu_ps(x + o), m0));
                            __m256 d1 = _mm256_mul_ps(g1, _mm256_sub_ps(_mm256_loadu_ps(x + o + 8), m1));
                            if (j == 0) {
                                s0 = _mm256_add_ps(s0, g0);
                                s1 = _mm256_add_ps(s1, g1);
                                u0 = _mm256_add_ps(u0, d0);
                                u1 = _mm256_add_ps(u1, d1);
                            } else {
                                s2 = _mm256_add_ps(s2, g0);
                                s3 = _mm256_add_ps(s3, g1);
                                u2 = _mm256_add_ps(u2, d0);
                                u3 = _mm256_add_ps(u3, d1);
                            }
                        }
                    }
                    float ls[16], lt[16];
                    _mm256_storeu_ps(ls, _mm256_add_ps(s0, s2));
                    _mm256_storeu_ps(ls + 8, _mm256_add_ps(s1, s3));
                    _mm256_storeu_ps(lt, _mm256_add_ps(u0, u2));
                    _mm256_storeu_ps(lt + 8, _mm256_add_ps(u1, u3));
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

/* out = x + y over len floats (out may alias x or y), split over the team when large. */
void r4j_add(intptr_t xp, intptr_t yp, intptr_t outp, int64_t len) {
    const float *x = (const float *) xp, *y = (const float *) yp;
    float *out = (float *) outp;
#pragma omp parallel for simd schedule(static) if (len >= (1 << 16))
    for (int64_t k = 0; k < len; k++) {
        out[k] = x[k] + y[k];
    }
}
