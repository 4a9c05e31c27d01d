/* kernels/arm/attn_neon.c — attention kernels for NEON (see kernels/attn.h): the reference's
 * blocked online softmax with 4-wide dot products and value accumulation; f16 rows widened
 * with vcvt_f32_f16 (baseline ARMv8 NEON has the conversion). */
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "kernels/attn.h"
#include "kernels/types.h"

static inline float32x4_t load4(int type, const uint8_t *row, int i) {
    if (type == EL_TYPE_F32) return vld1q_f32((const float *)(const void *)row + i);
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)(const void *)row + i)));
}

static inline float load1(int type, const uint8_t *row, int i) {
    if (type == EL_TYPE_F32) {
        float f;
        memcpy(&f, row + (size_t)i * 4, 4);
        return f;
    }
    el_fp16 h;
    memcpy(&h, row + (size_t)i * 2, 2);
    return el_fp16_to_fp32(h);
}

/* exp(x) for x <= 0, as the AVX2 file: 2^n by exponent bits times 2^f by a degree-6
 * polynomial (relative error < 2e-7); inputs below -87 clamped. */
static inline float32x4_t exp4(float32x4_t x) {
    x = vmaxq_f32(x, vdupq_n_f32(-87.0f));
    float32x4_t t = vmulq_n_f32(x, 1.44269504088896341f);
    float32x4_t n = vrndnq_f32(t);
    float32x4_t f = vsubq_f32(t, n);
    float32x4_t p = vdupq_n_f32(1.5403530393381609e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3333558146428443e-3f), p, f);
    p = vfmaq_f32(vdupq_n_f32(9.6181291076284772e-3f), p, f);
    p = vfmaq_f32(vdupq_n_f32(5.5504108664821580e-2f), p, f);
    p = vfmaq_f32(vdupq_n_f32(2.4022650695910071e-1f), p, f);
    p = vfmaq_f32(vdupq_n_f32(6.9314718055994531e-1f), p, f);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, f);
    int32x4_t e = vshlq_n_s32(vcvtq_s32_f32(n), 23);
    return vreinterpretq_f32_s32(vaddq_s32(vreinterpretq_s32_f32(p), e));
}

static inline __attribute__((always_inline)) void
attn(int tk, int tv, int hd, int hdv, int n_q, int n, const float *q, const uint8_t *k,
     size_t ks, const uint8_t *v, size_t vs, float scale, float *out) {
    float acc[EL_ATTN_MAX_Q][EL_ATTN_MAX_HDV], sc[EL_ATTN_BLOCK];
    float mx[EL_ATTN_MAX_Q], sum[EL_ATTN_MAX_Q];
    const int hd4 = hd & ~3, hdv4 = hdv & ~3;
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
                float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
                int i = 0;
                for (; i + 8 <= hd4; i += 8) {
                    s0 = vfmaq_f32(s0, vld1q_f32(qg + i), load4(tk, kr, i));
                    s1 = vfmaq_f32(s1, vld1q_f32(qg + i + 4), load4(tk, kr, i + 4));
                }
                for (; i < hd4; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(qg + i), load4(tk, kr, i));
                float s = vaddvq_f32(vaddq_f32(s0, s1));
                for (; i < hd; i++) s += qg[i] * load1(tk, kr, i);
                sc[j] = s * scale;
                bmx = sc[j] > bmx ? sc[j] : bmx;
            }
            float *ag = acc[g];
            if (bmx > mx[g]) {
                float c = expf(mx[g] - bmx);
                int i = 0;
                for (; i < hdv4; i += 4) vst1q_f32(ag + i, vmulq_n_f32(vld1q_f32(ag + i), c));
                for (; i < hdv; i++) ag[i] *= c;
                sum[g] *= c;
                mx[g] = bmx;
            }
            float32x4_t m = vdupq_n_f32(mx[g]), ws = vdupq_n_f32(0);
            int j = 0;
            for (; j + 4 <= nb; j += 4) {
                float32x4_t w = exp4(vsubq_f32(vld1q_f32(sc + j), m));
                vst1q_f32(sc + j, w);
                ws = vaddq_f32(ws, w);
            }
            float wsum = vaddvq_f32(ws);
            for (; j < nb; j++) {
                sc[j] = expf(sc[j] - mx[g]);
                wsum += sc[j];
            }
            sum[g] += wsum;
            for (j = 0; j < nb; j++) {
                const uint8_t *vr = v + (size_t)(j0 + j) * vs;
                int i = 0;
                for (; i < hdv4; i += 4) vst1q_f32(ag + i, vfmaq_n_f32(vld1q_f32(ag + i), load4(tv, vr, i), sc[j]));
                for (; i < hdv; i++) ag[i] += sc[j] * load1(tv, vr, i);
            }
        }
    }
    for (int g = 0; g < n_q; g++) {
        float inv = 1.0f / sum[g];
        for (int i = 0; i < hdv; i++) out[(size_t)g * hdv + i] = acc[g][i] * inv;
    }
}

#define VARIANT(name, TK, TV)                                                                  \
    static void name(int hd, int hdv, int n_q, int n, const float *q, const uint8_t *k,        \
                     size_t ks, const uint8_t *v, size_t vs, float scale, float *out) {        \
        attn(TK, TV, hd, hdv, n_q, n, q, k, ks, v, vs, scale, out);                             \
    }
VARIANT(attn_f32_f32, EL_TYPE_F32, EL_TYPE_F32)
VARIANT(attn_f16_f16, EL_TYPE_F16, EL_TYPE_F16)
VARIANT(attn_f32_f16, EL_TYPE_F32, EL_TYPE_F16)
VARIANT(attn_f16_f32, EL_TYPE_F16, EL_TYPE_F32)

el_attn_fn el_attn_neon(int tk, int tv) {
    if (tk == EL_TYPE_F32 && tv == EL_TYPE_F32) return attn_f32_f32;
    if (tk == EL_TYPE_F16 && tv == EL_TYPE_F16) return attn_f16_f16;
    if (tk == EL_TYPE_F32 && tv == EL_TYPE_F16) return attn_f32_f16;
    if (tk == EL_TYPE_F16 && tv == EL_TYPE_F32) return attn_f16_f32;
    return NULL;
}
