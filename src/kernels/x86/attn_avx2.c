/* kernels/x86/attn_avx2.c — attention kernels for AVX2+FMA+F16C (see kernels/attn.h): the
 * reference's blocked online softmax with 8-wide dot products and value accumulation, f16
 * rows widened by vcvtph2ps. Head dims that are multiples of 8 (every real model) take
 * attn_fast (rows widened once per block for the whole head group, scores 8 positions per
 * vector); others the generic loop with a scalar tail. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/attn.h"
#include "kernels/types.h"

static inline __m256 load8(int type, const uint8_t *row, int i) {
    if (type == EL_TYPE_F32) return _mm256_loadu_ps((const float *)(const void *)row + i);
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(row + (size_t)i * 2)));
}

static inline float load1(int type, const uint8_t *row, int i) {
    if (type == EL_TYPE_F32) {
        float f;
        memcpy(&f, row + (size_t)i * 4, 4);
        return f;
    }
    el_fp16 h;
    memcpy(&h, row + (size_t)i * 2, 2);
    return _cvtsh_ss(h);
}

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* exp(x) for x <= 0 (scores minus their running max): 2^(x log2 e) split into an integer
 * power (added to the exponent bits) and 2^f, |f| <= 1/2, by its degree-6 Taylor polynomial
 * (relative error < 2e-7). Inputs below -87 are clamped: their weight underflows anyway. */
static inline __m256 exp8(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    __m256 t = _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f));
    __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 f = _mm256_sub_ps(t, n);
    __m256 p = _mm256_set1_ps(1.5403530393381609e-4f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.3333558146428443e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.6181291076284772e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.5504108664821580e-2f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022650695910071e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.9314718055994531e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), e));
}

static inline __attribute__((always_inline)) void
attn(int tk, int tv, int hd, int hdv, int n_q, int n, const float *q, const uint8_t *k,
     size_t ks, const uint8_t *v, size_t vs, float scale, float *out) {
    float acc[EL_ATTN_MAX_Q][EL_ATTN_MAX_HDV] __attribute__((aligned(32)));
    float sc[EL_ATTN_BLOCK] __attribute__((aligned(32)));
    float mx[EL_ATTN_MAX_Q], sum[EL_ATTN_MAX_Q];
    const int hd8 = hd & ~7, hdv8 = hdv & ~7;
    for (int g = 0; g < n_q; g++) {
        mx[g] = -INFINITY;
        sum[g] = 0;
        memset(acc[g], 0, (size_t)hdv * sizeof(float));
    }
    for (int j0 = 0; j0 < n; j0 += EL_ATTN_BLOCK) {
        int nb = n - j0 < EL_ATTN_BLOCK ? n - j0 : EL_ATTN_BLOCK;
        /* the block's K and V rows stay in L1 while each query of the group passes */
        for (int g = 0; g < n_q; g++) {
            const float *qg = q + (size_t)g * hd;
            float bmx = -INFINITY;
            for (int j = 0; j < nb; j++) {
                const uint8_t *kr = k + (size_t)(j0 + j) * ks;
                __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
                int i = 0;
                for (; i + 16 <= hd8; i += 16) {
                    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + i), load8(tk, kr, i), s0);
                    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + i + 8), load8(tk, kr, i + 8), s1);
                }
                for (; i < hd8; i += 8)
                    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + i), load8(tk, kr, i), s0);
                float s = hsum(_mm256_add_ps(s0, s1));
                for (; i < hd; i++) s += qg[i] * load1(tk, kr, i);
                sc[j] = s * scale;
                bmx = sc[j] > bmx ? sc[j] : bmx;
            }
            float *ag = acc[g];
            if (bmx > mx[g]) {
                float c = expf(mx[g] - bmx);
                __m256 cv = _mm256_set1_ps(c);
                int i = 0;
                for (; i < hdv8; i += 8) _mm256_store_ps(ag + i, _mm256_mul_ps(_mm256_load_ps(ag + i), cv));
                for (; i < hdv; i++) ag[i] *= c;
                sum[g] *= c;
                mx[g] = bmx;
            }
            /* weights of the whole block at once */
            __m256 m = _mm256_set1_ps(mx[g]), ws = _mm256_setzero_ps();
            int j = 0;
            for (; j + 8 <= nb; j += 8) {
                __m256 w = exp8(_mm256_sub_ps(_mm256_load_ps(sc + j), m));
                _mm256_store_ps(sc + j, w);
                ws = _mm256_add_ps(ws, w);
            }
            float wsum = hsum(ws);
            for (; j < nb; j++) {
                sc[j] = expf(sc[j] - mx[g]);
                wsum += sc[j];
            }
            sum[g] += wsum;
            for (j = 0; j < nb; j++) {
                const uint8_t *vr = v + (size_t)(j0 + j) * vs;
                __m256 wv = _mm256_set1_ps(sc[j]);
                int i = 0;
                for (; i < hdv8; i += 8)
                    _mm256_store_ps(ag + i, _mm256_fmadd_ps(wv, load8(tv, vr, i), _mm256_load_ps(ag + i)));
                for (; i < hdv; i++) ag[i] += sc[j] * load1(tv, vr, i);
            }
        }
    }
    for (int g = 0; g < n_q; g++) {
        float inv = 1.0f / sum[g];
        for (int i = 0; i < hdv; i++) out[(size_t)g * hdv + i] = acc[g][i] * inv;
    }
}

/* ---- the fast path: head dims that are multiples of 8 -------------------------------------
 * Per block of FB positions the K and V rows are widened to f32 once (f16 caches) into L1
 * scratch, for all n_q heads of the group; then per head the block's scores come 8 positions
 * at a time (8 accumulators reduced by one transpose-add, no horizontal sum per position),
 * their weights in one vector exp, and the value rows are accumulated 32 dims at a time in
 * registers (8 independent FMA chains; the unroll pragmas keep the accumulator arrays in
 * registers). The generic loop above re-widens every row once per head and folds every score
 * horizontally: one call of 7 heads (Qwen2.5-0.5B's group) over 4096 f16 positions, hd 64,
 * one Zen 4 thread: 246 -> 119 us; Qwen2.5-0.5B Q4_K_M tg32 at depth 4096: 20.9 -> 26.5
 * tok/s. Same online softmax, so the same results up to float summation order. */
#define FB 32

/* lane p = sum of s[p] (8 accumulators of 8 partial sums each) */
static inline __m256 sum8x8(const __m256 s[8]) {
    const __m256 t0 = _mm256_hadd_ps(s[0], s[1]), t1 = _mm256_hadd_ps(s[2], s[3]);
    const __m256 t2 = _mm256_hadd_ps(s[4], s[5]), t3 = _mm256_hadd_ps(s[6], s[7]);
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* rows [j0, j0 + nb) of a cache as f32 rows of `dim` floats: in place for f32 rows whose
 * stride is whole floats, else widened into buf. Returns the rows; *st their stride. */
static inline const float *rows_f32(int type, const uint8_t *base, size_t stride, int j0, int nb,
                                    int dim, float *buf, size_t *st) {
    if (type == EL_TYPE_F32 && stride % sizeof(float) == 0) {
        *st = stride / sizeof(float);
        return (const float *)(const void *)(base + (size_t)j0 * stride);
    }
    for (int j = 0; j < nb; j++) {
        const uint8_t *r = base + (size_t)(j0 + j) * stride;
        for (int i = 0; i < dim; i += 8) _mm256_store_ps(buf + (size_t)j * dim + i, load8(type, r, i));
    }
    *st = (size_t)dim;
    return buf;
}

static inline __attribute__((always_inline)) void
attn_fast(int tk, int tv, int hd, int hdv, int n_q, int n, const float *q, const uint8_t *k,
          size_t ks, const uint8_t *v, size_t vs, float scale, float *out) {
    float acc[EL_ATTN_MAX_Q][EL_ATTN_MAX_HDV] __attribute__((aligned(32)));
    float kf[FB * EL_ATTN_MAX_HDV] __attribute__((aligned(32)));
    float vf[FB * EL_ATTN_MAX_HDV] __attribute__((aligned(32)));
    float sc[FB] __attribute__((aligned(32)));
    float mx[EL_ATTN_MAX_Q], sum[EL_ATTN_MAX_Q];
    for (int g = 0; g < n_q; g++) {
        mx[g] = -INFINITY;
        sum[g] = 0;
        memset(acc[g], 0, (size_t)hdv * sizeof(float));
    }
    for (int j0 = 0; j0 < n; j0 += FB) {
        const int nb = n - j0 < FB ? n - j0 : FB;
        size_t kst, vst;
        const float *kb = rows_f32(tk, k, ks, j0, nb, hd, kf, &kst);
        const float *vb = rows_f32(tv, v, vs, j0, nb, hdv, vf, &vst);
        for (int g = 0; g < n_q; g++) {
            const float *qg = q + (size_t)g * hd;
            __m256 bm = _mm256_set1_ps(-INFINITY);
            for (int j = 0; j < nb; j += 8) {
                const int m = nb - j < 8 ? nb - j : 8;
                const float *kr[8];
                _Pragma("GCC unroll 8") for (int p = 0; p < 8; p++) kr[p] = kb + (size_t)(j + (p < m ? p : m - 1)) * kst;
                __m256 s[8];
                _Pragma("GCC unroll 8") for (int p = 0; p < 8; p++) s[p] = _mm256_setzero_ps();
                for (int i = 0; i < hd; i += 8) {
                    const __m256 qv = _mm256_loadu_ps(qg + i);
                    _Pragma("GCC unroll 8") for (int p = 0; p < 8; p++) s[p] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kr[p] + i), s[p]);
                }
                __m256 r = _mm256_mul_ps(sum8x8(s), _mm256_set1_ps(scale));
                if (m < 8) { /* lanes past the block: no weight */
                    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                    const __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(m), lane));
                    r = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), r, keep);
                }
                _mm256_store_ps(sc + j, r);
                bm = _mm256_max_ps(bm, r);
            }
            __m128 b4 = _mm_max_ps(_mm256_castps256_ps128(bm), _mm256_extractf128_ps(bm, 1));
            b4 = _mm_max_ps(b4, _mm_movehl_ps(b4, b4));
            b4 = _mm_max_ss(b4, _mm_movehdup_ps(b4));
            const float bmx = _mm_cvtss_f32(b4);
            float *ag = acc[g];
            if (bmx > mx[g]) {
                const __m256 cv = _mm256_set1_ps(expf(mx[g] - bmx));
                for (int i = 0; i < hdv; i += 8) _mm256_store_ps(ag + i, _mm256_mul_ps(_mm256_load_ps(ag + i), cv));
                sum[g] *= expf(mx[g] - bmx);
                mx[g] = bmx;
            }
            const __m256 mv = _mm256_set1_ps(mx[g]);
            __m256 ws = _mm256_setzero_ps();
            for (int j = 0; j < nb; j += 8) {
                /* the padding lanes' -inf (exp8 would clamp it to ~1e-38) weigh exactly 0 */
                const __m256 x = _mm256_load_ps(sc + j);
                const __m256 w = _mm256_and_ps(exp8(_mm256_sub_ps(x, mv)),
                                               _mm256_cmp_ps(x, _mm256_set1_ps(-INFINITY), _CMP_GT_OQ));
                _mm256_store_ps(sc + j, w);
                ws = _mm256_add_ps(ws, w);
            }
            sum[g] += hsum(ws);
            /* 64 dims at a time: 8 independent FMA chains hide the FMA latency */
            int i = 0;
            for (; i + 64 <= hdv; i += 64) {
                __m256 a[8];
                _Pragma("GCC unroll 8") for (int c = 0; c < 8; c++) a[c] = _mm256_load_ps(ag + i + 8 * c);
                for (int j = 0; j < nb; j++) {
                    const __m256 w = _mm256_broadcast_ss(sc + j);
                    const float *vr = vb + (size_t)j * vst + i;
                    _Pragma("GCC unroll 8") for (int c = 0; c < 8; c++) a[c] = _mm256_fmadd_ps(w, _mm256_loadu_ps(vr + 8 * c), a[c]);
                }
                _Pragma("GCC unroll 8") for (int c = 0; c < 8; c++) _mm256_store_ps(ag + i + 8 * c, a[c]);
            }
            for (; i < hdv; i += 8) {
                __m256 a0 = _mm256_load_ps(ag + i), a1 = _mm256_setzero_ps();
                int j = 0;
                for (; j + 2 <= nb; j += 2) {
                    a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(sc + j), _mm256_loadu_ps(vb + (size_t)j * vst + i), a0);
                    a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(sc + j + 1), _mm256_loadu_ps(vb + (size_t)(j + 1) * vst + i), a1);
                }
                if (j < nb) a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(sc + j), _mm256_loadu_ps(vb + (size_t)j * vst + i), a0);
                _mm256_store_ps(ag + i, _mm256_add_ps(a0, a1));
            }
        }
    }
    for (int g = 0; g < n_q; g++) {
        const float inv = 1.0f / sum[g];
        for (int i = 0; i < hdv; i++) out[(size_t)g * hdv + i] = acc[g][i] * inv;
    }
}

#define VARIANT(name, TK, TV)                                                                  \
    static void name(int hd, int hdv, int n_q, int n, const float *q, const uint8_t *k,        \
                     size_t ks, const uint8_t *v, size_t vs, float scale, float *out) {        \
        if (hd % 8 == 0 && hdv % 8 == 0)                                                        \
            attn_fast(TK, TV, hd, hdv, n_q, n, q, k, ks, v, vs, scale, out);                    \
        else                                                                                   \
            attn(TK, TV, hd, hdv, n_q, n, q, k, ks, v, vs, scale, out);                         \
    }
VARIANT(attn_f32_f32, EL_TYPE_F32, EL_TYPE_F32)
VARIANT(attn_f16_f16, EL_TYPE_F16, EL_TYPE_F16)
VARIANT(attn_f32_f16, EL_TYPE_F32, EL_TYPE_F16)
VARIANT(attn_f16_f32, EL_TYPE_F16, EL_TYPE_F32)

el_attn_fn el_attn_avx2(int tk, int tv) {
    if (tk == EL_TYPE_F32 && tv == EL_TYPE_F32) return attn_f32_f32;
    if (tk == EL_TYPE_F16 && tv == EL_TYPE_F16) return attn_f16_f16;
    if (tk == EL_TYPE_F32 && tv == EL_TYPE_F16) return attn_f32_f16;
    if (tk == EL_TYPE_F16 && tv == EL_TYPE_F32) return attn_f16_f32;
    return NULL;
}
