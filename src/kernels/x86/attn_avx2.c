/* kernels/x86/attn_avx2.c — attention kernels for AVX2+FMA+F16C (see kernels/attn.h): the
 * reference's blocked online softmax with 8-wide dot products and value accumulation, f16
 * rows widened by vcvtph2ps. Head dims that are multiples of 8 (every real model) take
 * attn_fast (register-blocked: every widened K/V slice serves two query heads, scores 4 rows
 * per reduction); others the generic loop with a scalar tail. */
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
 * Register-blocked, straight from the cache rows (f16 widened by vcvtph2ps as they are
 * loaded, never stored to scratch). Per block of FB positions:
 *  - scores: 2 heads x 4 rows at a time; each widened 8-dim slice of a key row feeds both
 *    heads (8 accumulators, reduced 4 rows at once by a hadd tree, no horizontal sum per
 *    score);
 *  - one max, rescale and vector exp per head (online softmax, as the reference);
 *  - values: 2 heads x 32 dims at a time; each widened value slice feeds both heads.
 * Against the previous version, which widened each block of K and V rows into f32 scratch
 * and then ran one head at a time over it, the scratch stores and reloads are gone and every
 * load serves two heads: one call of 4 heads (Llama-3.2-1B's group) over 4096 f16
 * positions, hd 64, one Zen 4 thread: 112 -> 57 us; all 16 layers x 8 KV heads at depth
 * 4096 from memory: 14.2 -> 8.4 ms per token. (Widening into scratch first and running
 * these register blocks over it measured 92 us: the scratch traffic is what cost.) */
#define FB 32

/* lane p = full sum of s_p */
static inline __m128 sum4x8(__m256 s0, __m256 s1, __m256 s2, __m256 s3) {
    const __m256 u = _mm256_hadd_ps(_mm256_hadd_ps(s0, s1), _mm256_hadd_ps(s2, s3));
    return _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
}

/* scores of G (1 or 2) heads q[0..G) against rows kr[0..4) into sc[g][j..j+4); rows from m
 * on are padding (kr repeats a valid row) and score -inf. */
static inline __attribute__((always_inline)) void
qk_rows4(int tk, int G, int hd, const float *q, const uint8_t *const kr[4], float scale, int m,
         float (*sc)[FB], int j) {
    __m256 a[2][4];
    _Pragma("GCC unroll 2") for (int g = 0; g < G; g++)
        _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++) a[g][p] = _mm256_setzero_ps();
    for (int i = 0; i < hd; i += 8) {
        __m256 kv[4];
        _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++) kv[p] = load8(tk, kr[p], i);
        _Pragma("GCC unroll 2") for (int g = 0; g < G; g++) {
            const __m256 x = _mm256_loadu_ps(q + (size_t)g * hd + i);
            _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++) a[g][p] = _mm256_fmadd_ps(x, kv[p], a[g][p]);
        }
    }
    const __m128 keep = _mm_castsi128_ps(_mm_cmpgt_epi32(_mm_set1_epi32(m), _mm_setr_epi32(0, 1, 2, 3)));
    _Pragma("GCC unroll 2") for (int g = 0; g < G; g++) {
        const __m128 r = _mm_mul_ps(sum4x8(a[g][0], a[g][1], a[g][2], a[g][3]), _mm_set1_ps(scale));
        _mm_store_ps(sc[g] + j, _mm_blendv_ps(_mm_set1_ps(-INFINITY), r, keep));
    }
}

/* acc[g][i0 .. i0 + 32) += sum_j w[g][j] * v[j0 + j][i0 .. i0 + 32) for G (1 or 2) heads */
static inline __attribute__((always_inline)) void
pv_dims32(int tv, int G, const uint8_t *v, size_t vs, int j0, int nb, int i0, float (*w)[FB],
          float (*acc)[EL_ATTN_MAX_HDV]) {
    __m256 a[2][4];
    _Pragma("GCC unroll 2") for (int g = 0; g < G; g++)
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) a[g][c] = _mm256_load_ps(acc[g] + i0 + 8 * c);
    for (int j = 0; j < nb; j++) {
        const uint8_t *vr = v + (size_t)(j0 + j) * vs;
        __m256 vv[4];
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) vv[c] = load8(tv, vr, i0 + 8 * c);
        _Pragma("GCC unroll 2") for (int g = 0; g < G; g++) {
            const __m256 x = _mm256_broadcast_ss(w[g] + j);
            _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) a[g][c] = _mm256_fmadd_ps(x, vv[c], a[g][c]);
        }
    }
    _Pragma("GCC unroll 2") for (int g = 0; g < G; g++)
        _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) _mm256_store_ps(acc[g] + i0 + 8 * c, a[g][c]);
}

/* the same for 8 dims of one head (head dims that are not multiples of 32) */
static inline __attribute__((always_inline)) void
pv_dims8(int tv, const uint8_t *v, size_t vs, int j0, int nb, int i0, const float *w, float *acc) {
    __m256 a0 = _mm256_load_ps(acc + i0), a1 = _mm256_setzero_ps();
    int j = 0;
    for (; j + 2 <= nb; j += 2) {
        a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + j), load8(tv, v + (size_t)(j0 + j) * vs, i0), a0);
        a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + j + 1), load8(tv, v + (size_t)(j0 + j + 1) * vs, i0), a1);
    }
    if (j < nb) a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(w + j), load8(tv, v + (size_t)(j0 + j) * vs, i0), a0);
    _mm256_store_ps(acc + i0, _mm256_add_ps(a0, a1));
}

static inline __attribute__((always_inline)) void
attn_fast(int tk, int tv, int hd, int hdv, int n_q, int n, const float *q, const uint8_t *k,
          size_t ks, const uint8_t *v, size_t vs, float scale, float *out) {
    float acc[EL_ATTN_MAX_Q][EL_ATTN_MAX_HDV] __attribute__((aligned(32)));
    float sc[EL_ATTN_MAX_Q][FB] __attribute__((aligned(32)));
    float mx[EL_ATTN_MAX_Q], sum[EL_ATTN_MAX_Q];
    for (int g = 0; g < n_q; g++) {
        mx[g] = -INFINITY;
        sum[g] = 0;
        memset(acc[g], 0, (size_t)hdv * sizeof(float));
    }
    for (int j0 = 0; j0 < n; j0 += FB) {
        const int nb = n - j0 < FB ? n - j0 : FB;
        for (int j = 0; j < nb; j += 4) {
            const int m = nb - j < 4 ? nb - j : 4;
            const uint8_t *kr[4];
            for (int p = 0; p < 4; p++) kr[p] = k + (size_t)(j0 + j + (p < m ? p : m - 1)) * ks;
            int g = 0;
            for (; g + 2 <= n_q; g += 2) qk_rows4(tk, 2, hd, q + (size_t)g * hd, kr, scale, m, sc + g, j);
            if (g < n_q) qk_rows4(tk, 1, hd, q + (size_t)g * hd, kr, scale, m, sc + g, j);
        }
        const int nb4 = (nb + 3) & ~3; /* scores written; the loops below read whole 8s */
        if (nb4 & 4)
            for (int g = 0; g < n_q; g++) _mm_store_ps(sc[g] + nb4, _mm_set1_ps(-INFINITY));
        for (int g = 0; g < n_q; g++) {
            __m256 bm = _mm256_set1_ps(-INFINITY);
            for (int j = 0; j < nb; j += 8) bm = _mm256_max_ps(bm, _mm256_load_ps(sc[g] + j));
            __m128 b4 = _mm_max_ps(_mm256_castps256_ps128(bm), _mm256_extractf128_ps(bm, 1));
            b4 = _mm_max_ps(b4, _mm_movehl_ps(b4, b4));
            b4 = _mm_max_ss(b4, _mm_movehdup_ps(b4));
            const float bmx = _mm_cvtss_f32(b4);
            if (bmx > mx[g]) {
                const float c = expf(mx[g] - bmx); /* 0 on the first block */
                const __m256 cv = _mm256_set1_ps(c);
                for (int i = 0; i < hdv; i += 8) _mm256_store_ps(acc[g] + i, _mm256_mul_ps(_mm256_load_ps(acc[g] + i), cv));
                sum[g] *= c;
                mx[g] = bmx;
            }
            const __m256 mv = _mm256_set1_ps(mx[g]);
            __m256 ws = _mm256_setzero_ps();
            for (int j = 0; j < nb; j += 8) {
                /* padding scores (-inf) weigh exactly 0: exp8 alone would clamp them to ~1e-38 */
                const __m256 x = _mm256_load_ps(sc[g] + j);
                const __m256 w = _mm256_and_ps(exp8(_mm256_sub_ps(x, mv)),
                                               _mm256_cmp_ps(x, _mm256_set1_ps(-INFINITY), _CMP_GT_OQ));
                _mm256_store_ps(sc[g] + j, w);
                ws = _mm256_add_ps(ws, w);
            }
            sum[g] += hsum(ws);
        }
        for (int g = 0; g < n_q; g += 2) {
            const int G = n_q - g < 2 ? 1 : 2;
            int i = 0;
            for (; i + 32 <= hdv; i += 32) {
                if (G == 2) pv_dims32(tv, 2, v, vs, j0, nb, i, sc + g, acc + g);
                else pv_dims32(tv, 1, v, vs, j0, nb, i, sc + g, acc + g);
            }
            for (; i < hdv; i += 8)
                for (int h = 0; h < G; h++) pv_dims8(tv, v, vs, j0, nb, i, sc[g + h], acc[g + h]);
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
