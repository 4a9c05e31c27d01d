/* kernels/attn.c — reference attention kernels (see attn.h) and their selection by CPU level.
 * Online softmax in blocks of EL_ATTN_BLOCK positions: scores of a block, then one rescale
 * of the running accumulator when the block raises the maximum, then the weighted values.
 * Stack only (a block of scores + one accumulator); no allocation. */
#include "kernels/attn.h"

#include <math.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/types.h"

static inline float load_f(int type, const uint8_t *row, int i) {
    if (type == EL_TYPE_F32) {
        float f;
        memcpy(&f, row + (size_t)i * 4, 4);
        return f;
    }
    el_fp16 h;
    memcpy(&h, row + (size_t)i * 2, 2);
    return el_fp16_to_fp32(h);
}

static void attn_ref(int tk, int tv, int hd, int hdv, int n_q, int n, const float *q,
                     const uint8_t *k, size_t ks, const uint8_t *v, size_t vs, float scale,
                     float *out) {
    float acc[EL_ATTN_MAX_Q][EL_ATTN_MAX_HDV], sc[EL_ATTN_MAX_Q][EL_ATTN_BLOCK];
    float mx[EL_ATTN_MAX_Q], sum[EL_ATTN_MAX_Q];
    for (int g = 0; g < n_q; g++) {
        mx[g] = -INFINITY;
        sum[g] = 0;
        memset(acc[g], 0, (size_t)hdv * sizeof(float));
    }
    for (int j0 = 0; j0 < n; j0 += EL_ATTN_BLOCK) {
        int nb = n - j0 < EL_ATTN_BLOCK ? n - j0 : EL_ATTN_BLOCK;
        for (int g = 0; g < n_q; g++) {
            const float *qg = q + (size_t)g * hd;
            float bmx = -INFINITY;
            for (int j = 0; j < nb; j++) {
                const uint8_t *kr = k + (size_t)(j0 + j) * ks;
                float s = 0;
                for (int i = 0; i < hd; i++) s += qg[i] * load_f(tk, kr, i);
                sc[g][j] = s * scale;
                bmx = sc[g][j] > bmx ? sc[g][j] : bmx;
            }
            if (bmx > mx[g]) {
                float c = expf(mx[g] - bmx); /* 0 on the first block */
                for (int i = 0; i < hdv; i++) acc[g][i] *= c;
                sum[g] *= c;
                mx[g] = bmx;
            }
            for (int j = 0; j < nb; j++) {
                float w = expf(sc[g][j] - mx[g]);
                sum[g] += w;
                const uint8_t *vr = v + (size_t)(j0 + j) * vs;
                for (int i = 0; i < hdv; i++) acc[g][i] += w * load_f(tv, vr, i);
            }
        }
    }
    for (int g = 0; g < n_q; g++) {
        float inv = 1.0f / sum[g];
        for (int i = 0; i < hdv; i++) out[(size_t)g * hdv + i] = acc[g][i] * inv;
    }
}

#define REF(name, TK, TV)                                                                      \
    static void name(int hd, int hdv, int n_q, int n, const float *q, const uint8_t *k,        \
                     size_t ks, const uint8_t *v, size_t vs, float scale, float *out) {        \
        attn_ref(TK, TV, hd, hdv, n_q, n, q, k, ks, v, vs, scale, out);                         \
    }
REF(attn_ref_f32_f32, EL_TYPE_F32, EL_TYPE_F32)
REF(attn_ref_f16_f16, EL_TYPE_F16, EL_TYPE_F16)
REF(attn_ref_f32_f16, EL_TYPE_F32, EL_TYPE_F16)
REF(attn_ref_f16_f32, EL_TYPE_F16, EL_TYPE_F32)

static el_attn_fn attn_ref_get(int tk, int tv) {
    if (tk == EL_TYPE_F32 && tv == EL_TYPE_F32) return attn_ref_f32_f32;
    if (tk == EL_TYPE_F16 && tv == EL_TYPE_F16) return attn_ref_f16_f16;
    if (tk == EL_TYPE_F32 && tv == EL_TYPE_F16) return attn_ref_f32_f16;
    if (tk == EL_TYPE_F16 && tv == EL_TYPE_F32) return attn_ref_f16_f32;
    return NULL;
}

el_attn_fn el_attn_get_level(int level, int tk, int tv) {
    switch (level) {
    case EL_CPU_SCALAR: return attn_ref_get(tk, tv);
#if defined(__x86_64__)
    case EL_CPU_AVX2:
    case EL_CPU_AVX512: return el_attn_avx2(tk, tv);
#endif
#if defined(__aarch64__)
    case EL_CPU_NEON:
    case EL_CPU_DOTPROD:
    case EL_CPU_I8MM: return el_attn_neon(tk, tv);
#endif
    default: return NULL;
    }
}

el_attn_fn el_attn_get(int tk, int tv) {
    el_attn_fn f = el_attn_get_level(el_cpu_get()->level, tk, tv);
    return f ? f : attn_ref_get(tk, tv);
}
