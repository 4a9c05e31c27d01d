/* kernels/x86/attn_avx2.c — attention kernels for AVX2+FMA+F16C (see kernels/attn.h): the
 * reference's blocked online softmax with 8-wide dot products and value accumulation,
 * f16 rows widened by vcvtph2ps. Head dims that are not multiples of 8 take a scalar tail. */
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

static inline __attribute__((always_inline)) void
attn(int tk, int tv, int hd, int hdv, int n, const float *q, const uint8_t *k, size_t ks,
     const uint8_t *v, size_t vs, float scale, float *out) {
    float acc[EL_ATTN_MAX_HDV] __attribute__((aligned(32))), sc[EL_ATTN_BLOCK];
    float mx = -INFINITY, sum = 0;
    memset(acc, 0, (size_t)hdv * sizeof(float));
    const int hd8 = hd & ~7, hdv8 = hdv & ~7;
    for (int j0 = 0; j0 < n; j0 += EL_ATTN_BLOCK) {
        int nb = n - j0 < EL_ATTN_BLOCK ? n - j0 : EL_ATTN_BLOCK;
        float bmx = -INFINITY;
        for (int j = 0; j < nb; j++) {
            const uint8_t *kr = k + (size_t)(j0 + j) * ks;
            __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
            int i = 0;
            for (; i + 16 <= hd8; i += 16) {
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(tk, kr, i), s0);
                s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), load8(tk, kr, i + 8), s1);
            }
            for (; i < hd8; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(tk, kr, i), s0);
            float s = hsum(_mm256_add_ps(s0, s1));
            for (; i < hd; i++) s += q[i] * load1(tk, kr, i);
            sc[j] = s * scale;
            bmx = sc[j] > bmx ? sc[j] : bmx;
        }
        if (bmx > mx) {
            float c = expf(mx - bmx);
            __m256 cv = _mm256_set1_ps(c);
            int i = 0;
            for (; i < hdv8; i += 8) _mm256_store_ps(acc + i, _mm256_mul_ps(_mm256_load_ps(acc + i), cv));
            for (; i < hdv; i++) acc[i] *= c;
            sum *= c;
            mx = bmx;
        }
        for (int j = 0; j < nb; j++) {
            float w = expf(sc[j] - mx);
            sum += w;
            const uint8_t *vr = v + (size_t)(j0 + j) * vs;
            __m256 wv = _mm256_set1_ps(w);
            int i = 0;
            for (; i < hdv8; i += 8)
                _mm256_store_ps(acc + i, _mm256_fmadd_ps(wv, load8(tv, vr, i), _mm256_load_ps(acc + i)));
            for (; i < hdv; i++) acc[i] += w * load1(tv, vr, i);
        }
    }
    float inv = 1.0f / sum;
    for (int i = 0; i < hdv; i++) out[i] = acc[i] * inv;
}

#define VARIANT(name, TK, TV)                                                                  \
    static void name(int hd, int hdv, int n, const float *q, const uint8_t *k, size_t ks,      \
                     const uint8_t *v, size_t vs, float scale, float *out) {                   \
        attn(TK, TV, hd, hdv, n, q, k, ks, v, vs, scale, out);                                  \
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
