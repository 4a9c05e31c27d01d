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

static inline __attribute__((always_inline)) void
attn(int tk, int tv, int hd, int hdv, int n, const float *q, const uint8_t *k, size_t ks,
     const uint8_t *v, size_t vs, float scale, float *out) {
    float acc[EL_ATTN_MAX_HDV], sc[EL_ATTN_BLOCK];
    float mx = -INFINITY, sum = 0;
    memset(acc, 0, (size_t)hdv * sizeof(float));
    const int hd4 = hd & ~3, hdv4 = hdv & ~3;
    for (int j0 = 0; j0 < n; j0 += EL_ATTN_BLOCK) {
        int nb = n - j0 < EL_ATTN_BLOCK ? n - j0 : EL_ATTN_BLOCK;
        float bmx = -INFINITY;
        for (int j = 0; j < nb; j++) {
            const uint8_t *kr = k + (size_t)(j0 + j) * ks;
            float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
            int i = 0;
            for (; i + 8 <= hd4; i += 8) {
                s0 = vfmaq_f32(s0, vld1q_f32(q + i), load4(tk, kr, i));
                s1 = vfmaq_f32(s1, vld1q_f32(q + i + 4), load4(tk, kr, i + 4));
            }
            for (; i < hd4; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(q + i), load4(tk, kr, i));
            float s = vaddvq_f32(vaddq_f32(s0, s1));
            for (; i < hd; i++) s += q[i] * load1(tk, kr, i);
            sc[j] = s * scale;
            bmx = sc[j] > bmx ? sc[j] : bmx;
        }
        if (bmx > mx) {
            float c = expf(mx - bmx);
            int i = 0;
            for (; i < hdv4; i += 4) vst1q_f32(acc + i, vmulq_n_f32(vld1q_f32(acc + i), c));
            for (; i < hdv; i++) acc[i] *= c;
            sum *= c;
            mx = bmx;
        }
        for (int j = 0; j < nb; j++) {
            float w = expf(sc[j] - mx);
            sum += w;
            const uint8_t *vr = v + (size_t)(j0 + j) * vs;
            int i = 0;
            for (; i < hdv4; i += 4)
                vst1q_f32(acc + i, vfmaq_n_f32(vld1q_f32(acc + i), load4(tv, vr, i), w));
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

el_attn_fn el_attn_neon(int tk, int tv) {
    if (tk == EL_TYPE_F32 && tv == EL_TYPE_F32) return attn_f32_f32;
    if (tk == EL_TYPE_F16 && tv == EL_TYPE_F16) return attn_f16_f16;
    if (tk == EL_TYPE_F32 && tv == EL_TYPE_F16) return attn_f32_f16;
    if (tk == EL_TYPE_F16 && tv == EL_TYPE_F32) return attn_f16_f32;
    return NULL;
}
