/* kernels/quants.c — scalar reference kernels per type: dequantize, quantize, dot product.
 *
 * What it owns: the meaning of every block format edgellm computes with. These functions are
 * the ground truth: SIMD kernels (kernels/x86, kernels/arm) are tested against them, and the
 * quantizers must produce exactly the bytes ggml's reference quantizers produce (what
 * llama-quantize writes without an importance matrix), so files we write are the files
 * llama.cpp would write. Where that forces an odd detail (a rounding trick, a float
 * expression order, a search grid) the comment says so; do not "simplify" those.
 *
 * Invariants: element counts are multiples of the block size (callers check with
 * el_row_size); blocks are suitably aligned (see quants.h). Nothing here allocates; scratch
 * is on the stack (at most a few KiB). Bad numbers (NaN/inf weights) never cause undefined
 * behaviour: every float->int conversion goes through a clamping helper, and the results are
 * the same as ggml's wherever ggml's are defined.
 *
 * Float semantics: bit-exactness with ggml needs the same operation order and no fused
 * multiply-add. The build is ISO C (-std=c11), where GCC does not contract a*b+c; clang
 * contracts within expressions unless told not to, hence the pragma below.
 */
#include "kernels/quants.h"

#include <float.h>
#include <math.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

const int8_t el_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                     1,    13,   25,  38,  53,  69,  89,  113};
const int8_t el_kvalues_mxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/* A group whose largest magnitude is below this quantizes to all zeros (ggml's threshold). */
#define GROUP_MAX_EPS 1e-15f

/* ---- helpers ------------------------------------------------------------------------------ */

static inline float fp16(el_fp16 h) {
    return el_fp16_to_fp32(h);
}

/* Round to nearest, ties to even, by adding 1.5*2^23 so the integer lands in the low mantissa
 * bits. Exact for |f| <= 2^22, which every caller's range is; outside it (only reachable with
 * garbage input) it returns a deterministic wrong value, as ggml does — never UB, NaN gives 0.
 * ggml uses this exact trick, and matching it bit for bit is the point. */
static inline int nearest_int(float f) {
    float v = f + 12582912.f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* C's float->int truncation, defined for every input: NaN -> 0, out of range -> clamped. */
static inline int trunc_int(float v) {
    if (!(v == v)) return 0;
    if (v >= 2147483520.f) return INT32_MAX;
    if (v <= -2147483648.f) return INT32_MIN;
    return (int)v;
}

static inline int imin(int a, int b) {
    return a < b ? a : b;
}
static inline int imax(int a, int b) {
    return a > b ? a : b;
}
static inline int clampi(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

static inline uint32_t load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void store_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* 2^(e-128) — half the E8M0 value, because the mxfp4 table holds doubled e2m1 values. */
static inline float e8m0_half(uint8_t e) {
    uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    return el_bits_f32(bits);
}

/* Index of the code point in the sorted table val[n] closest to x (ties to the lower one). */
static int best_index_int8(int n, const int8_t *val, float x) {
    if (x <= val[0]) return 0;
    if (x >= val[n - 1]) return n - 1;
    int lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (x < val[mid])
            hi = mid;
        else
            lo = mid;
    }
    return x - val[hi - 1] < val[hi] - x ? hi - 1 : hi;
}

/* ======================================================================================== */
/* F32, F16, BF16                                                                            */
/* ======================================================================================== */

void el_quants_to_float_f32(const void *x, float *y, int64_t k) {
    memcpy(y, x, (size_t)k * sizeof(float));
}
void el_quants_from_float_f32(const float *x, void *y, int64_t k) {
    memcpy(y, x, (size_t)k * sizeof(float));
}

void el_quants_to_float_f16(const void *vx, float *y, int64_t k) {
    const el_fp16 *x = vx;
    for (int64_t i = 0; i < k; i++)
        y[i] = el_fp16_to_fp32(x[i]);
}
void el_quants_from_float_f16(const float *x, void *vy, int64_t k) {
    el_fp16 *y = vy;
    for (int64_t i = 0; i < k; i++)
        y[i] = el_fp32_to_fp16(x[i]);
}

void el_quants_to_float_bf16(const void *vx, float *y, int64_t k) {
    const el_bf16 *x = vx;
    for (int64_t i = 0; i < k; i++)
        y[i] = el_bf16_to_fp32(x[i]);
}
void el_quants_from_float_bf16(const float *x, void *vy, int64_t k) {
    el_bf16 *y = vy;
    for (int64_t i = 0; i < k; i++)
        y[i] = el_fp32_to_bf16(x[i]);
}

/* Float dot products accumulate in double: products of two floats are exact in double, so the
 * reference is as close to the true value as a long sum allows. */
void el_quants_vec_dot_f32(int n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += (double)x[i] * (double)y[i];
    *s = (float)sum;
}
void el_quants_vec_dot_f16(int n, float *s, const void *vx, const void *vy) {
    const el_fp16 *x = vx, *y = vy;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += (double)el_fp16_to_fp32(x[i]) * el_fp16_to_fp32(y[i]);
    *s = (float)sum;
}
void el_quants_vec_dot_bf16(int n, float *s, const void *vx, const void *vy) {
    const el_bf16 *x = vx, *y = vy;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += (double)el_bf16_to_fp32(x[i]) * el_bf16_to_fp32(y[i]);
    *s = (float)sum;
}

/* ======================================================================================== */
/* 32-element blocks: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 IQ4_NL MXFP4                             */
/* ======================================================================================== */

/* Q4_0: the element of largest magnitude maps to -8 exactly (d = max / -8), so the sign of d
 * carries the sign of the extreme and the asymmetric range -8..7 is used fully. */
void el_quants_from_float_q4_0(const float *x, void *vy, int64_t k) {
    el_block_q4_0 *y = vy;
    for (int64_t i = 0; i < k / EL_QK4_0; i++, x += EL_QK4_0) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < EL_QK4_0; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = el_fp32_to_fp16(d);
        for (int j = 0; j < EL_QK4_0 / 2; j++) {
            /* truncation after +8.5 rounds half up within the shifted range, as ggml */
            int q0 = imin(15, trunc_int(x[j] * id + 8.5f));
            int q1 = imin(15, trunc_int(x[j + EL_QK4_0 / 2] * id + 8.5f));
            y[i].qs[j] = (uint8_t)((q0 & 0xF) | (q1 & 0xF) << 4);
        }
    }
}

void el_quants_to_float_q4_0(const void *vx, float *y, int64_t k) {
    const el_block_q4_0 *x = vx;
    for (int64_t i = 0; i < k / EL_QK4_0; i++, y += EL_QK4_0) {
        const float d = fp16(x[i].d);
        for (int j = 0; j < EL_QK4_0 / 2; j++) {
            y[j] = ((x[i].qs[j] & 0x0F) - 8) * d;
            y[j + EL_QK4_0 / 2] = ((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

/* Q4_1: affine, min..max split into 15 steps. */
void el_quants_from_float_q4_1(const float *x, void *vy, int64_t k) {
    el_block_q4_1 *y = vy;
    for (int64_t i = 0; i < k / EL_QK4_1; i++, x += EL_QK4_1) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < EL_QK4_1; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 15;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = el_fp32_to_fp16(d);
        y[i].m = el_fp32_to_fp16(min);
        for (int j = 0; j < EL_QK4_1 / 2; j++) {
            int q0 = imin(15, trunc_int((x[j] - min) * id + 0.5f));
            int q1 = imin(15, trunc_int((x[j + EL_QK4_1 / 2] - min) * id + 0.5f));
            y[i].qs[j] = (uint8_t)((q0 & 0xF) | (q1 & 0xF) << 4);
        }
    }
}

void el_quants_to_float_q4_1(const void *vx, float *y, int64_t k) {
    const el_block_q4_1 *x = vx;
    for (int64_t i = 0; i < k / EL_QK4_1; i++, y += EL_QK4_1) {
        const float d = fp16(x[i].d), m = fp16(x[i].m);
        for (int j = 0; j < EL_QK4_1 / 2; j++) {
            y[j] = (x[i].qs[j] & 0x0F) * d + m;
            y[j + EL_QK4_1 / 2] = (x[i].qs[j] >> 4) * d + m;
        }
    }
}

/* Q5_0: as Q4_0 with 32 levels (d = max / -16); bit 4 goes to qh. */
void el_quants_from_float_q5_0(const float *x, void *vy, int64_t k) {
    el_block_q5_0 *y = vy;
    for (int64_t i = 0; i < k / EL_QK5_0; i++, x += EL_QK5_0) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < EL_QK5_0; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        const float d = max / -16;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = el_fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < EL_QK5_0 / 2; j++) {
            int q0 = imin(31, trunc_int(x[j] * id + 16.5f));
            int q1 = imin(31, trunc_int(x[j + EL_QK5_0 / 2] * id + 16.5f));
            y[i].qs[j] = (uint8_t)((q0 & 0x0F) | (q1 & 0x0F) << 4);
            qh |= (uint32_t)((q0 >> 4) & 1) << j;
            qh |= (uint32_t)((q1 >> 4) & 1) << (j + EL_QK5_0 / 2);
        }
        store_le32(y[i].qh, qh);
    }
}

void el_quants_to_float_q5_0(const void *vx, float *y, int64_t k) {
    const el_block_q5_0 *x = vx;
    for (int64_t i = 0; i < k / EL_QK5_0; i++, y += EL_QK5_0) {
        const float d = fp16(x[i].d);
        const uint32_t qh = load_le32(x[i].qh);
        for (int j = 0; j < EL_QK5_0 / 2; j++) {
            int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
            y[j] = (((x[i].qs[j] & 0x0F) | h0 << 4) - 16) * d;
            y[j + EL_QK5_0 / 2] = (((x[i].qs[j] >> 4) | h1 << 4) - 16) * d;
        }
    }
}

/* Q5_1: as Q4_1 with 31 steps. (ggml clamps nothing here: (x - min) * id <= 31.5 always.) */
void el_quants_from_float_q5_1(const float *x, void *vy, int64_t k) {
    el_block_q5_1 *y = vy;
    for (int64_t i = 0; i < k / EL_QK5_1; i++, x += EL_QK5_1) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < EL_QK5_1; j++) {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        const float d = (max - min) / 31;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = el_fp32_to_fp16(d);
        y[i].m = el_fp32_to_fp16(min);
        uint32_t qh = 0;
        for (int j = 0; j < EL_QK5_1 / 2; j++) {
            int q0 = trunc_int((x[j] - min) * id + 0.5f) & 0xFF;
            int q1 = trunc_int((x[j + EL_QK5_1 / 2] - min) * id + 0.5f) & 0xFF;
            y[i].qs[j] = (uint8_t)((q0 & 0x0F) | (q1 & 0x0F) << 4);
            qh |= (uint32_t)((q0 >> 4) & 1) << j;
            qh |= (uint32_t)((q1 >> 4) & 1) << (j + EL_QK5_1 / 2);
        }
        store_le32(y[i].qh, qh);
    }
}

void el_quants_to_float_q5_1(const void *vx, float *y, int64_t k) {
    const el_block_q5_1 *x = vx;
    for (int64_t i = 0; i < k / EL_QK5_1; i++, y += EL_QK5_1) {
        const float d = fp16(x[i].d), m = fp16(x[i].m);
        const uint32_t qh = load_le32(x[i].qh);
        for (int j = 0; j < EL_QK5_1 / 2; j++) {
            int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
            y[j] = ((x[i].qs[j] & 0x0F) | h0 << 4) * d + m;
            y[j + EL_QK5_1 / 2] = ((x[i].qs[j] >> 4) | h1 << 4) * d + m;
        }
    }
}

/* Q8_0: symmetric, amax -> 127, roundf (ties away from zero). */
void el_quants_from_float_q8_0(const float *x, void *vy, int64_t k) {
    el_block_q8_0 *y = vy;
    for (int64_t i = 0; i < k / EL_QK8_0; i++, x += EL_QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < EL_QK8_0; j++)
            amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
        const float d = amax / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = el_fp32_to_fp16(d);
        for (int j = 0; j < EL_QK8_0; j++)
            y[i].qs[j] = (int8_t)clampi(trunc_int(roundf(x[j] * id)), -128, 127);
    }
}

void el_quants_to_float_q8_0(const void *vx, float *y, int64_t k) {
    const el_block_q8_0 *x = vx;
    for (int64_t i = 0; i < k / EL_QK8_0; i++, y += EL_QK8_0) {
        const float d = fp16(x[i].d);
        for (int j = 0; j < EL_QK8_0; j++)
            y[j] = x[i].qs[j] * d;
    }
}

/* Q8_1: Q8_0 plus s = d * sum(q) (in fp16). */
void el_quants_from_float_q8_1(const float *x, void *vy, int64_t k) {
    el_block_q8_1 *y = vy;
    for (int64_t i = 0; i < k / EL_QK8_1; i++, x += EL_QK8_1) {
        float amax = 0.0f;
        for (int j = 0; j < EL_QK8_1; j++)
            amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
        const float d = amax / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = el_fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < EL_QK8_1; j++) {
            y[i].qs[j] = (int8_t)clampi(trunc_int(roundf(x[j] * id)), -128, 127);
            sum += y[i].qs[j];
        }
        y[i].s = el_fp32_to_fp16(sum * d);
    }
}

void el_quants_to_float_q8_1(const void *vx, float *y, int64_t k) {
    const el_block_q8_1 *x = vx;
    for (int64_t i = 0; i < k / EL_QK8_1; i++, y += EL_QK8_1) {
        const float d = fp16(x[i].d);
        for (int j = 0; j < EL_QK8_1; j++)
            y[j] = x[i].qs[j] * d;
    }
}

/* MXFP4: a shared power-of-two scale chosen from amax's exponent, then each element takes
 * the nearest of the 16 fp4 code points. log2f, as ggml, so the chosen exponent agrees even
 * where float rounding puts amax's log on an integer. */
static int best_index_mxfp4(float x, float e) {
    int best = 0;
    float best_err = fabsf(el_kvalues_mxfp4[0] * e - x);
    for (int i = 1; i < 16; i++) {
        float err = fabsf(el_kvalues_mxfp4[i] * e - x);
        if (err < best_err) {
            best = i;
            best_err = err;
        }
    }
    return best;
}

void el_quants_from_float_mxfp4(const float *x, void *vy, int64_t k) {
    el_block_mxfp4 *y = vy;
    for (int64_t i = 0; i < k / EL_QK_MXFP4; i++, x += EL_QK_MXFP4) {
        float amax = 0.0f;
        for (int j = 0; j < EL_QK_MXFP4; j++)
            if (amax < fabsf(x[j])) amax = fabsf(x[j]);
        int e = 0;
        if (amax > 0.0f) e = clampi(trunc_int(floorf(log2f(amax)) - 2 + 127), 0, 255);
        const float d = e8m0_half((uint8_t)e);
        y[i].e = (uint8_t)e;
        for (int j = 0; j < EL_QK_MXFP4 / 2; j++) {
            int q0 = best_index_mxfp4(x[j], d);
            int q1 = best_index_mxfp4(x[j + EL_QK_MXFP4 / 2], d);
            y[i].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

void el_quants_to_float_mxfp4(const void *vx, float *y, int64_t k) {
    const el_block_mxfp4 *x = vx;
    for (int64_t i = 0; i < k / EL_QK_MXFP4; i++, y += EL_QK_MXFP4) {
        const float d = e8m0_half(x[i].e);
        for (int j = 0; j < EL_QK_MXFP4 / 2; j++) {
            y[j] = el_kvalues_mxfp4[x[i].qs[j] & 0x0F] * d;
            y[j + EL_QK_MXFP4 / 2] = el_kvalues_mxfp4[x[i].qs[j] >> 4] * d;
        }
    }
}

/* ---- dot products of 32-element blocks --------------------------------------------------- */

void el_quants_vec_dot_q4_0_q8_0(int n, float *s, const void *vx, const void *vy) {
    const el_block_q4_0 *x = vx;
    const el_block_q8_0 *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / EL_QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < EL_QK8_0 / 2; j++) {
            sumi += ((x[i].qs[j] & 0x0F) - 8) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + EL_QK8_0 / 2];
        }
        sumf += sumi * (fp16(x[i].d) * fp16(y[i].d));
    }
    *s = sumf;
}

/* sum_j (d_x q_j + m_x) * d_y p_j = d_x d_y sum q_j p_j + m_x * (d_y sum p_j), and the
 * activation carries s = d_y sum p_j. */
void el_quants_vec_dot_q4_1_q8_1(int n, float *s, const void *vx, const void *vy) {
    const el_block_q4_1 *x = vx;
    const el_block_q8_1 *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / EL_QK8_1; i++) {
        int sumi = 0;
        for (int j = 0; j < EL_QK8_1 / 2; j++) {
            sumi += (x[i].qs[j] & 0x0F) * y[i].qs[j];
            sumi += (x[i].qs[j] >> 4) * y[i].qs[j + EL_QK8_1 / 2];
        }
        sumf += (fp16(x[i].d) * fp16(y[i].d)) * sumi + fp16(x[i].m) * fp16(y[i].s);
    }
    *s = sumf;
}

void el_quants_vec_dot_q5_0_q8_0(int n, float *s, const void *vx, const void *vy) {
    const el_block_q5_0 *x = vx;
    const el_block_q8_0 *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / EL_QK8_0; i++) {
        const uint32_t qh = load_le32(x[i].qh);
        int sumi = 0;
        for (int j = 0; j < EL_QK8_0 / 2; j++) {
            int q0 = ((x[i].qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4) - 16;
            int q1 = ((x[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - 16;
            sumi += q0 * y[i].qs[j] + q1 * y[i].qs[j + EL_QK8_0 / 2];
        }
        sumf += (fp16(x[i].d) * fp16(y[i].d)) * sumi;
    }
    *s = sumf;
}

void el_quants_vec_dot_q5_1_q8_1(int n, float *s, const void *vx, const void *vy) {
    const el_block_q5_1 *x = vx;
    const el_block_q8_1 *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / EL_QK8_1; i++) {
        const uint32_t qh = load_le32(x[i].qh);
        int sumi = 0;
        for (int j = 0; j < EL_QK8_1 / 2; j++) {
            int q0 = (x[i].qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4;
            int q1 = (x[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            sumi += q0 * y[i].qs[j] + q1 * y[i].qs[j + EL_QK8_1 / 2];
        }
        sumf += (fp16(x[i].d) * fp16(y[i].d)) * sumi + fp16(x[i].m) * fp16(y[i].s);
    }
    *s = sumf;
}

void el_quants_vec_dot_q8_0_q8_0(int n, float *s, const void *vx, const void *vy) {
    const el_block_q8_0 *x = vx;
    const el_block_q8_0 *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / EL_QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < EL_QK8_0; j++)
            sumi += x[i].qs[j] * y[i].qs[j];
        sumf += sumi * (fp16(x[i].d) * fp16(y[i].d));
    }
    *s = sumf;
}

void el_quants_vec_dot_iq4_nl_q8_0(int n, float *s, const void *vx, const void *vy) {
    const el_block_iq4_nl *x = vx;
    const el_block_q8_0 *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / EL_QK4_NL; i++) {
        const float d = fp16(y[i].d) * fp16(x[i].d);
        int sumi = 0;
        for (int j = 0; j < EL_QK4_NL / 2; j++) {
            sumi += y[i].qs[j] * el_kvalues_iq4nl[x[i].qs[j] & 0x0F];
            sumi += y[i].qs[j + EL_QK4_NL / 2] * el_kvalues_iq4nl[x[i].qs[j] >> 4];
        }
        sumf += d * sumi;
    }
    *s = sumf;
}

void el_quants_vec_dot_mxfp4_q8_0(int n, float *s, const void *vx, const void *vy) {
    const el_block_mxfp4 *x = vx;
    const el_block_q8_0 *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / EL_QK_MXFP4; i++) {
        const float d = fp16(y[i].d) * e8m0_half(x[i].e);
        int sumi = 0;
        for (int j = 0; j < EL_QK_MXFP4 / 2; j++) {
            sumi += y[i].qs[j] * el_kvalues_mxfp4[x[i].qs[j] & 0x0F];
            sumi += y[i].qs[j + EL_QK_MXFP4 / 2] * el_kvalues_mxfp4[x[i].qs[j] >> 4];
        }
        sumf += d * sumi;
    }
    *s = sumf;
}

/* ======================================================================================== */
/* K-quants: scale searches                                                                  */
/* ======================================================================================== */

/* Symmetric search (Q6_K): try the max-magnitude scale and 18 nearby ones (nmax +- 0.1*is),
 * keep the scale that maximises (sum w x l)^2 / (sum w l^2), i.e. minimises weighted squared
 * error with the optimal scale for each rounding; weights w = x^2. Writes L[i] = l + nmax
 * (0..2*nmax-1) and returns the scale. */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                L[i] = (int8_t)(nmax + clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* Symmetric search (Q3_K): start from the max-magnitude scale, then up to 5 sweeps of
 * coordinate descent, moving single quants when that improves the weighted fit (w = x^2).
 * Writes L[i] = l + nmax and returns the scale. */
static float make_q3_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int itry = 0; itry < 5; itry++) {
        int n_changed = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * L[i];
            if (slx > 0) {
                float sl2 = suml2 - w * L[i] * L[i];
                int new_l = clampi(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
                if (new_l != L[i]) {
                    slx += w * x[i] * new_l;
                    sl2 += w * new_l * new_l;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        n_changed++;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; i++)
        L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Affine search (Q2_K, Q4_K, Q5_K): x ~ scale * l - the_min with l in 0..nmax and the_min >= 0.
 * Starts from the min..max grid, then tries nstep+1 grid stretches (rmin + rdelta*is) and for
 * each solves the weighted least-squares (scale, min) for that rounding; keeps the best by
 * weighted squared (use_mad: absolute) error. Returns the scale, writes the_min. */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                              float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep,
                              bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)clampi(l, 0, nmax);
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += weights[i] * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(nearest_int(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* Packs 2-bit values L[0..255] as q2_K/q3_K want them: byte l of each 32-byte group holds
 * elements l, l+32, l+64, l+96 of its 128-element half. */
static void pack_2bit(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < EL_QK_K; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] =
                (uint8_t)(L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 | L[j + l + 96] << 6);
}

/* Packs 8 (scale, min) 6-bit pairs into the 12 bytes of q4_K / q5_K (inverse of
 * el_quants_scale_min_k4): sub-blocks 0..3 take the low 6 bits of bytes 0..3 / 4..7; 4..7
 * keep their low nibbles in bytes 8..11 and their top 2 bits in the spare bits of 0..7. */
static void pack_scale_min_k4(int j, uint8_t ls, uint8_t lm, uint8_t *scales) {
    if (j < 4) {
        scales[j] = ls;
        scales[j + 4] = lm;
    } else {
        scales[j + 4] = (uint8_t)((ls & 0xF) | (lm & 0xF) << 4);
        scales[j - 4] |= (uint8_t)((ls >> 4) << 6);
        scales[j] |= (uint8_t)((lm >> 4) << 6);
    }
}

/* ======================================================================================== */
/* Q2_K                                                                                      */
/* ======================================================================================== */

void el_quants_from_float_q2_K(const float *x, void *vy, int64_t k) {
    el_block_q2_K *y = vy;
    const float q4scale = 15.f;
    for (int64_t i = 0; i < k / EL_QK_K; i++, x += EL_QK_K) {
        uint8_t L[EL_QK_K], Laux[16];
        float weights[16], mins[EL_QK_K / 16], scales[EL_QK_K / 16];
        float max_scale = 0, max_min = 0; /* the min is subtracted, so scales are >= 0 */
        for (int j = 0; j < EL_QK_K / 16; j++) {
            for (int l = 0; l < 16; l++)
                weights[l] = fabsf(x[16 * j + l]);
            scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux,
                                         -0.5f, 0.1f, 15, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            float iscale = q4scale / max_scale;
            for (int j = 0; j < EL_QK_K / 16; j++)
                y[i].scales[j] = (uint8_t)nearest_int(iscale * scales[j]);
            y[i].d = el_fp32_to_fp16(max_scale / q4scale);
        } else {
            memset(y[i].scales, 0, sizeof y[i].scales);
            y[i].d = el_fp32_to_fp16(0.f);
        }
        if (max_min > 0) {
            float iscale = q4scale / max_min;
            for (int j = 0; j < EL_QK_K / 16; j++)
                y[i].scales[j] |= (uint8_t)(nearest_int(iscale * mins[j]) << 4);
            y[i].dmin = el_fp32_to_fp16(max_min / q4scale);
        } else {
            y[i].dmin = el_fp32_to_fp16(0.f);
        }
        /* requantize against the scales as stored (fp16 d, 4-bit sub-scales) */
        for (int j = 0; j < EL_QK_K / 16; j++) {
            const float d = fp16(y[i].d) * (y[i].scales[j] & 0xF);
            if (!d) continue;
            const float dm = fp16(y[i].dmin) * (y[i].scales[j] >> 4);
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (uint8_t)clampi(nearest_int((x[16 * j + ii] + dm) / d), 0, 3);
        }
        pack_2bit(L, y[i].qs);
    }
}

void el_quants_to_float_q2_K(const void *vx, float *y, int64_t k) {
    const el_block_q2_K *x = vx;
    for (int64_t i = 0; i < k / EL_QK_K; i++) {
        const float d = fp16(x[i].d), min = fp16(x[i].dmin);
        const uint8_t *q = x[i].qs;
        int is = 0;
        for (int n = 0; n < EL_QK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; half++) { /* two 16-element sub-blocks */
                    uint8_t sc = x[i].scales[is++];
                    float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                    for (int l = 0; l < 16; l++)
                        *y++ = dl * ((q[16 * half + l] >> shift) & 3) - ml;
                }
            }
        }
    }
}

void el_quants_vec_dot_q2_K_q8_K(int n, float *s, const void *vx, const void *vy) {
    const el_block_q2_K *x = vx;
    const el_block_q8_K *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / EL_QK_K; i++) {
        const uint8_t *q2 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        int summs = 0; /* sum over sub-blocks of min_j * sum(q8 in j) */
        for (int j = 0; j < 16; j++)
            summs += y[i].bsums[j] * (x[i].scales[j] >> 4);
        int isum = 0, is = 0;
        for (int c = 0; c < EL_QK_K / 128; c++, q2 += 32) {
            for (int shift = 0; shift < 8; shift += 2, q8 += 32) {
                for (int half = 0; half < 2; half++) {
                    int d = x[i].scales[is++] & 0xF, isuml = 0;
                    for (int l = 16 * half; l < 16 * half + 16; l++)
                        isuml += q8[l] * ((q2[l] >> shift) & 3);
                    isum += d * isuml;
                }
            }
        }
        const float dall = y[i].d * fp16(x[i].d);
        const float dmin = y[i].d * fp16(x[i].dmin);
        sumf += dall * isum - dmin * summs;
    }
    *s = sumf;
}

/* ======================================================================================== */
/* Q3_K                                                                                      */
/* ======================================================================================== */

/* The signed 6-bit scale of sub-block j (0..15) of a q3_K block. */
static inline int q3_K_scale(const uint8_t *scales, int j) {
    int lo = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
    int hi = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | hi << 4) - 32;
}

void el_quants_from_float_q3_K(const float *x, void *vy, int64_t k) {
    el_block_q3_K *y = vy;
    for (int64_t i = 0; i < k / EL_QK_K; i++, x += EL_QK_K) {
        int8_t L[EL_QK_K];
        float scales[EL_QK_K / 16];
        float max_scale = 0, amax = 0;
        for (int j = 0; j < EL_QK_K / 16; j++) {
            scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
            float scale = fabsf(scales[j]);
            if (scale > amax) {
                amax = scale;
                max_scale = scales[j];
            }
        }
        memset(y[i].scales, 0, sizeof y[i].scales);
        if (max_scale) {
            float iscale = -32.f / max_scale;
            for (int j = 0; j < EL_QK_K / 16; j++) {
                /* ggml narrows to int8_t before clamping; keep that (it only matters for
                 * garbage input, and then identically) */
                int l = (int8_t)nearest_int(iscale * scales[j]);
                l = imax(-32, imin(31, l)) + 32;
                if (j < 8)
                    y[i].scales[j] = (uint8_t)(l & 0xF);
                else
                    y[i].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
                y[i].scales[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
            }
            y[i].d = el_fp32_to_fp16(1 / iscale);
        } else {
            y[i].d = el_fp32_to_fp16(0.f);
        }
        for (int j = 0; j < EL_QK_K / 16; j++) {
            float d = fp16(y[i].d) * q3_K_scale(y[i].scales, j);
            if (!d) continue;
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (int8_t)(clampi(nearest_int(x[16 * j + ii] / d), -4, 3) + 4);
        }
        /* high bit of element j goes to bit (j / 32) of hmask[j % 32] */
        memset(y[i].hmask, 0, sizeof y[i].hmask);
        uint8_t L2[EL_QK_K];
        for (int j = 0; j < EL_QK_K; j++) {
            if (L[j] > 3) y[i].hmask[j % 32] |= (uint8_t)(1 << (j / 32));
            L2[j] = (uint8_t)(L[j] & 3);
        }
        pack_2bit(L2, y[i].qs);
    }
}

void el_quants_to_float_q3_K(const void *vx, float *y, int64_t k) {
    const el_block_q3_K *x = vx;
    for (int64_t i = 0; i < k / EL_QK_K; i++) {
        const float d_all = fp16(x[i].d);
        const uint8_t *q = x[i].qs, *hm = x[i].hmask;
        uint8_t m = 1;
        int is = 0;
        for (int n = 0; n < EL_QK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
                for (int half = 0; half < 2; half++) {
                    float dl = d_all * q3_K_scale(x[i].scales, is++);
                    for (int l = 16 * half; l < 16 * half + 16; l++)
                        *y++ = dl * (((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                }
            }
        }
    }
}

/* Unpacks a q3_K block into signed quants a[256] (-4..3) in element order. */
static void q3_K_unpack(const el_block_q3_K *b, int8_t *a) {
    for (int j = 0; j < EL_QK_K; j++) {
        int q = (b->qs[(j / 128) * 32 + j % 32] >> (2 * ((j % 128) / 32))) & 3;
        int h = (b->hmask[j % 32] >> (j / 32)) & 1;
        a[j] = (int8_t)(q - (h ? 0 : 4));
    }
}

void el_quants_vec_dot_q3_K_q8_K(int n, float *s, const void *vx, const void *vy) {
    const el_block_q3_K *x = vx;
    const el_block_q8_K *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / EL_QK_K; i++) {
        int8_t a[EL_QK_K];
        q3_K_unpack(&x[i], a);
        int sumi = 0;
        for (int j = 0; j < EL_QK_K / 16; j++) {
            int sub = 0;
            for (int l = 0; l < 16; l++)
                sub += a[16 * j + l] * y[i].qs[16 * j + l];
            sumi += q3_K_scale(x[i].scales, j) * sub;
        }
        sumf += fp16(x[i].d) * y[i].d * sumi;
    }
    *s = sumf;
}

/* ======================================================================================== */
/* Q4_K, Q5_K                                                                                */
/* ======================================================================================== */

/* The common part of q4_K / q5_K quantization: per 32-element sub-block an affine fit with
 * weights av_x + |x| (av_x = rms of the sub-block), then the 8 scales and 8 mins quantized to
 * 6 bits against their maxima, then every element requantized against the stored scales.
 * nmax = 15 (q4_K) or 31 (q5_K); the search grid differs per type, as in ggml. */
static void quantize_k4_common(const float *x, int nmax, float rmin, float rdelta, int nstep,
                               el_fp16 *dh, el_fp16 *dminh, uint8_t *scales, uint8_t *L) {
    uint8_t Laux[32];
    float weights[32], mins[EL_QK_K / 32], sc[EL_QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < EL_QK_K / 32; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++)
            sum_x2 += x[32 * j + l] * x[32 * j + l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++)
            weights[l] = av_x + fabsf(x[32 * j + l]);
        sc[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin,
                                 rdelta, nstep, false);
        if (sc[j] > max_scale) max_scale = sc[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    memset(scales, 0, EL_K_SCALE_SIZE);
    for (int j = 0; j < EL_QK_K / 32; j++) {
        /* narrowed to uint8_t before the clamp, as ggml */
        uint8_t ls = (uint8_t)nearest_int(inv_scale * sc[j]);
        uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
        pack_scale_min_k4(j, ls < 63 ? ls : 63, lm < 63 ? lm : 63, scales);
    }
    *dh = el_fp32_to_fp16(max_scale / 63.f);
    *dminh = el_fp32_to_fp16(max_min / 63.f);
    for (int j = 0; j < EL_QK_K / 32; j++) {
        uint8_t s, m;
        el_quants_scale_min_k4(j, scales, &s, &m);
        const float d = fp16(*dh) * s;
        if (!d) continue;
        const float dm = fp16(*dminh) * m;
        for (int ii = 0; ii < 32; ii++)
            L[32 * j + ii] = (uint8_t)clampi(nearest_int((x[32 * j + ii] + dm) / d), 0, nmax);
    }
}

void el_quants_from_float_q4_K(const float *x, void *vy, int64_t k) {
    el_block_q4_K *y = vy;
    for (int64_t i = 0; i < k / EL_QK_K; i++, x += EL_QK_K) {
        uint8_t L[EL_QK_K];
        quantize_k4_common(x, 15, -1.f, 0.1f, 20, &y[i].d, &y[i].dmin, y[i].scales, L);
        uint8_t *q = y[i].qs;
        for (int j = 0; j < EL_QK_K; j += 64, q += 32)
            for (int l = 0; l < 32; l++)
                q[l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
    }
}

void el_quants_to_float_q4_K(const void *vx, float *y, int64_t k) {
    const el_block_q4_K *x = vx;
    for (int64_t i = 0; i < k / EL_QK_K; i++) {
        const uint8_t *q = x[i].qs;
        const float d = fp16(x[i].d), min = fp16(x[i].dmin);
        for (int j = 0, is = 0; j < EL_QK_K; j += 64, q += 32, is += 2) {
            uint8_t sc, m;
            el_quants_scale_min_k4(is, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            el_quants_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

/* sum_j (d sc_j q - dmin m_j) p d8 = d d8 sum_j sc_j (q.p)_j - dmin d8 sum_j m_j sum(p)_j;
 * sum(p) over a 32-element sub-block is two bsums. */
void el_quants_vec_dot_q4_K_q8_K(int n, float *s, const void *vx, const void *vy) {
    const el_block_q4_K *x = vx;
    const el_block_q8_K *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / EL_QK_K; i++) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < EL_QK_K / 32; j++) {
            uint8_t sc, m;
            el_quants_scale_min_k4(j, x[i].scales, &sc, &m);
            const uint8_t *q = x[i].qs + 32 * (j / 2);
            const int shift = 4 * (j % 2);
            const int8_t *p = y[i].qs + 32 * j;
            int dot = 0;
            for (int l = 0; l < 32; l++)
                dot += ((q[l] >> shift) & 0xF) * p[l];
            sumi += sc * dot;
            summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        }
        sumf += fp16(x[i].d) * y[i].d * sumi - fp16(x[i].dmin) * y[i].d * summ;
    }
    *s = sumf;
}

void el_quants_from_float_q5_K(const float *x, void *vy, int64_t k) {
    el_block_q5_K *y = vy;
    for (int64_t i = 0; i < k / EL_QK_K; i++, x += EL_QK_K) {
        uint8_t L[EL_QK_K];
        quantize_k4_common(x, 31, -0.5f, 0.1f, 15, &y[i].d, &y[i].dmin, y[i].scales, L);
        uint8_t *qh = y[i].qh, *ql = y[i].qs;
        memset(qh, 0, EL_QK_K / 8);
        uint8_t m1 = 1, m2 = 2;
        for (int n = 0; n < EL_QK_K; n += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
            for (int j = 0; j < 32; j++) {
                int l1 = L[n + j], l2 = L[n + j + 32];
                if (l1 > 15) {
                    l1 -= 16;
                    qh[j] |= m1;
                }
                if (l2 > 15) {
                    l2 -= 16;
                    qh[j] |= m2;
                }
                ql[j] = (uint8_t)(l1 | l2 << 4);
            }
        }
    }
}

void el_quants_to_float_q5_K(const void *vx, float *y, int64_t k) {
    const el_block_q5_K *x = vx;
    for (int64_t i = 0; i < k / EL_QK_K; i++) {
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        const float d = fp16(x[i].d), min = fp16(x[i].dmin);
        uint8_t u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < EL_QK_K; j += 64, ql += 32, is += 2, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, m;
            el_quants_scale_min_k4(is, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            el_quants_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

void el_quants_vec_dot_q5_K_q8_K(int n, float *s, const void *vx, const void *vy) {
    const el_block_q5_K *x = vx;
    const el_block_q8_K *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / EL_QK_K; i++) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < EL_QK_K / 32; j++) {
            uint8_t sc, m;
            el_quants_scale_min_k4(j, x[i].scales, &sc, &m);
            const uint8_t *q = x[i].qs + 32 * (j / 2);
            const int shift = 4 * (j % 2);
            const int8_t *p = y[i].qs + 32 * j;
            int dot = 0;
            for (int l = 0; l < 32; l++) {
                int v = ((q[l] >> shift) & 0xF) | ((x[i].qh[l] >> j) & 1) << 4;
                dot += v * p[l];
            }
            sumi += sc * dot;
            summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        }
        sumf += fp16(x[i].d) * y[i].d * sumi - fp16(x[i].dmin) * y[i].d * summ;
    }
    *s = sumf;
}

/* ======================================================================================== */
/* Q6_K                                                                                      */
/* ======================================================================================== */

void el_quants_from_float_q6_K(const float *x, void *vy, int64_t k) {
    el_block_q6_K *y = vy;
    for (int64_t i = 0; i < k / EL_QK_K; i++, x += EL_QK_K) {
        int8_t L[EL_QK_K];
        float scales[EL_QK_K / 16];
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < EL_QK_K / 16; ib++) {
            scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
            if (fabsf(scales[ib]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[ib]);
                max_scale = scales[ib];
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        /* the extreme sub-block scale maps to -128, as in Q4_0 */
        float iscale = -128.f / max_scale;
        y[i].d = el_fp32_to_fp16(1 / iscale);
        for (int ib = 0; ib < EL_QK_K / 16; ib++)
            y[i].scales[ib] = (int8_t)imin(127, nearest_int(iscale * scales[ib]));
        for (int j = 0; j < EL_QK_K / 16; j++) {
            float d = fp16(y[i].d) * y[i].scales[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (int8_t)(clampi(nearest_int(x[16 * j + ii] / d), -32, 31) + 32);
        }
        uint8_t *ql = y[i].ql, *qh = y[i].qh;
        for (int j = 0; j < EL_QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
                ql[l] = (uint8_t)((q1 & 0xF) | (q3 & 0xF) << 4);
                ql[l + 32] = (uint8_t)((q2 & 0xF) | (q4 & 0xF) << 4);
                qh[l] = (uint8_t)((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
    }
}

void el_quants_to_float_q6_K(const void *vx, float *y, int64_t k) {
    const el_block_q6_K *x = vx;
    for (int64_t i = 0; i < k / EL_QK_K; i++) {
        const float d = fp16(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int n = 0; n < EL_QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32;
                int q2 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
                int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                /* (d * sc) * q, in this order: the bytes must match ggml's floats */
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

void el_quants_vec_dot_q6_K_q8_K(int n, float *s, const void *vx, const void *vy) {
    const el_block_q6_K *x = vx;
    const el_block_q8_K *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / EL_QK_K; i++) {
        int8_t a[EL_QK_K];
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        for (int j = 0; j < EL_QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                a[j + l] = (int8_t)(((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32);
                a[j + l + 32] = (int8_t)(((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32);
                a[j + l + 64] = (int8_t)(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
                a[j + l + 96] = (int8_t)(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
            }
        }
        int sumi = 0;
        for (int j = 0; j < EL_QK_K / 16; j++) {
            int sub = 0;
            for (int l = 0; l < 16; l++)
                sub += a[16 * j + l] * y[i].qs[16 * j + l];
            sumi += x[i].scales[j] * sub;
        }
        sumf += fp16(x[i].d) * y[i].d * sumi;
    }
    *s = sumf;
}

/* ======================================================================================== */
/* Q8_K (activations)                                                                        */
/* ======================================================================================== */

/* amax -> -127 (not -128: keeps every product of two int8 quants inside int16 for the SIMD
 * kernels that rely on it, ggml's reason). bsums are zeroed for an all-zero block (ggml leaves
 * them unwritten). */
void el_quants_from_float_q8_K(const float *x, void *vy, int64_t k) {
    el_block_q8_K *y = vy;
    for (int64_t i = 0; i < k / EL_QK_K; i++, x += EL_QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < EL_QK_K; j++) {
            float ax = fabsf(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < EL_QK_K; j++)
            y[i].qs[j] = (int8_t)clampi(nearest_int(iscale * x[j]), -128, 127);
        for (int j = 0; j < EL_QK_K / 16; j++) {
            int sum = 0;
            for (int ii = 0; ii < 16; ii++)
                sum += y[i].qs[j * 16 + ii];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

void el_quants_to_float_q8_K(const void *vx, float *y, int64_t k) {
    const el_block_q8_K *x = vx;
    for (int64_t i = 0; i < k / EL_QK_K; i++)
        for (int j = 0; j < EL_QK_K; j++)
            *y++ = x[i].d * x[i].qs[j];
}

/* ======================================================================================== */
/* IQ4_NL, IQ4_XS                                                                            */
/* ======================================================================================== */

/* One IQ4 super-block of sbs elements (32 for IQ4_NL, 256 for IQ4_XS) in 32-element
 * sub-blocks. Per sub-block: start from d = max / 127 (the extreme lands on the table's -127)
 * and try 2*ntry+1 stretches of the grid, keeping the d that best fits with weights x^2.
 * IQ4_XS then stores the sub-block scales as 6-bit multiples of a block scale and re-picks
 * every code point against the stored scale; IQ4_NL stores its one scale in fp16 and re-picks
 * against the unrounded one. ntry = 7 is what ggml's quantize_iq4_nl / _xs use (and what
 * llama-quantize therefore writes). Outputs: *dh, q4[sbs/2], and for IQ4_XS scales_h[2],
 * scales_l[sbs/64]. */
static void quantize_iq4(int sbs, const float *x, el_fp16 *dh, uint8_t *q4, uint8_t *scales_h,
                         uint8_t *scales_l, int ntry) {
    const int8_t *values = el_kvalues_iq4nl;
    uint8_t L[EL_QK_K];
    float scales[EL_QK_K / 32], weight[32];
    memset(q4, 0, (size_t)sbs / 2);
    memset(L, 0, sizeof L);
    *dh = el_fp32_to_fp16(0.f);
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < sbs / 32; ib++) {
        const float *xb = x + 32 * ib;
        uint8_t *Lb = L + 32 * ib;
        for (int j = 0; j < 32; j++)
            weight[j] = xb[j] * xb[j];
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++) {
            if (fabsf(xb[j]) > amax) {
                amax = fabsf(xb[j]);
                max = xb[j];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            scales[ib] = 0;
            continue;
        }
        float d = ntry > 0 ? -max / values[0] : max / values[0];
        float id = 1 / d;
        float sumqx = 0, sumq2 = 0;
        for (int j = 0; j < 32; j++) {
            int l = best_index_int8(16, values, id * xb[j]);
            Lb[j] = (uint8_t)l;
            float q = values[l], w = weight[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        d = sumqx / sumq2;
        float best = d * sumqx;
        for (int itry = -ntry; itry <= ntry; itry++) {
            id = (itry + values[0]) / max;
            sumqx = sumq2 = 0;
            for (int j = 0; j < 32; j++) {
                float q = values[best_index_int8(16, values, id * xb[j])], w = weight[j];
                sumqx += w * q * xb[j];
                sumq2 += w * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        scales[ib] = d;
        if (fabsf(d) > amax_scale) {
            amax_scale = fabsf(d);
            max_scale = d;
        }
    }
    if (sbs > 32) {
        scales_h[0] = scales_h[1] = 0;
        float d = -max_scale / 32;
        *dh = el_fp32_to_fp16(d);
        float id = d ? 1 / d : 0.f;
        for (int ib = 0; ib < sbs / 32; ib++) {
            int l = clampi(nearest_int(id * scales[ib]), -32, 31);
            float dl = d * l;
            float idl = dl ? 1 / dl : 0.f;
            for (int j = 0; j < 32; j++)
                L[32 * ib + j] = (uint8_t)best_index_int8(16, values, idl * x[32 * ib + j]);
            l += 32;
            if (ib % 2 == 0)
                scales_l[ib / 2] = (uint8_t)(l & 0xF);
            else
                scales_l[ib / 2] |= (uint8_t)((l & 0xF) << 4);
            scales_h[ib / 4] |= (uint8_t)((l >> 4) << (2 * (ib % 4)));
        }
    } else {
        *dh = el_fp32_to_fp16(scales[0]);
        if (ntry > 0) {
            float id = scales[0] ? 1 / scales[0] : 0;
            for (int j = 0; j < sbs; j++)
                L[j] = (uint8_t)best_index_int8(16, values, id * x[j]);
        }
    }
    for (int i = 0; i < sbs / 32; i++)
        for (int j = 0; j < 16; j++)
            q4[16 * i + j] = (uint8_t)(L[32 * i + j] | L[32 * i + 16 + j] << 4);
}

void el_quants_from_float_iq4_nl(const float *x, void *vy, int64_t k) {
    el_block_iq4_nl *y = vy;
    for (int64_t i = 0; i < k / EL_QK4_NL; i++)
        quantize_iq4(EL_QK4_NL, x + EL_QK4_NL * i, &y[i].d, y[i].qs, NULL, NULL, 7);
}

void el_quants_to_float_iq4_nl(const void *vx, float *y, int64_t k) {
    const el_block_iq4_nl *x = vx;
    for (int64_t i = 0; i < k / EL_QK4_NL; i++, y += EL_QK4_NL) {
        const float d = fp16(x[i].d);
        for (int j = 0; j < EL_QK4_NL / 2; j++) {
            y[j] = d * el_kvalues_iq4nl[x[i].qs[j] & 0xF];
            y[j + EL_QK4_NL / 2] = d * el_kvalues_iq4nl[x[i].qs[j] >> 4];
        }
    }
}

void el_quants_from_float_iq4_xs(const float *x, void *vy, int64_t k) {
    el_block_iq4_xs *y = vy;
    for (int64_t i = 0; i < k / EL_QK_K; i++)
        quantize_iq4(EL_QK_K, x + EL_QK_K * i, &y[i].d, y[i].qs, y[i].scales_h, y[i].scales_l, 7);
}

/* The 6-bit scale (0..63, stored +32) of sub-block ib of an iq4_xs block. */
static inline int iq4_xs_scale(const el_block_iq4_xs *b, int ib) {
    uint16_t h = (uint16_t)(b->scales_h[0] | b->scales_h[1] << 8);
    return ((b->scales_l[ib / 2] >> 4 * (ib % 2)) & 0xF) | ((h >> 2 * ib) & 3) << 4;
}

void el_quants_to_float_iq4_xs(const void *vx, float *y, int64_t k) {
    const el_block_iq4_xs *x = vx;
    for (int64_t i = 0; i < k / EL_QK_K; i++) {
        const uint8_t *qs = x[i].qs;
        const float d = fp16(x[i].d);
        for (int ib = 0; ib < EL_QK_K / 32; ib++, y += 32, qs += 16) {
            const float dl = d * (iq4_xs_scale(&x[i], ib) - 32);
            for (int j = 0; j < 16; j++) {
                y[j] = dl * el_kvalues_iq4nl[qs[j] & 0xF];
                y[j + 16] = dl * el_kvalues_iq4nl[qs[j] >> 4];
            }
        }
    }
}

void el_quants_vec_dot_iq4_xs_q8_K(int n, float *s, const void *vx, const void *vy) {
    const el_block_iq4_xs *x = vx;
    const el_block_q8_K *y = vy;
    float sumf = 0;
    for (int i = 0; i < n / EL_QK_K; i++) {
        const float d4d8 = fp16(x[i].d) * y[i].d;
        const uint8_t *qs = x[i].qs;
        const int8_t *q8 = y[i].qs;
        for (int ib = 0; ib < EL_QK_K / 32; ib++, qs += 16, q8 += 32) {
            int sumi = 0;
            for (int j = 0; j < 16; j++) {
                sumi += q8[j] * el_kvalues_iq4nl[qs[j] & 0xF];
                sumi += q8[j + 16] * el_kvalues_iq4nl[qs[j] >> 4];
            }
            sumf += d4d8 * (iq4_xs_scale(&x[i], ib) - 32) * sumi;
        }
    }
    *s = sumf;
}

/* ======================================================================================== */
/* registration                                                                              */
/* ======================================================================================== */

/* clang-format off */
static const el_quant_kernels ref_kernels[EL_TYPE_COUNT] = {
    [EL_TYPE_F32]    = {el_quants_to_float_f32,    el_quants_from_float_f32,    el_quants_vec_dot_f32},
    [EL_TYPE_F16]    = {el_quants_to_float_f16,    el_quants_from_float_f16,    el_quants_vec_dot_f16},
    [EL_TYPE_BF16]   = {el_quants_to_float_bf16,   el_quants_from_float_bf16,   el_quants_vec_dot_bf16},
    [EL_TYPE_Q4_0]   = {el_quants_to_float_q4_0,   el_quants_from_float_q4_0,   el_quants_vec_dot_q4_0_q8_0},
    [EL_TYPE_Q4_1]   = {el_quants_to_float_q4_1,   el_quants_from_float_q4_1,   el_quants_vec_dot_q4_1_q8_1},
    [EL_TYPE_Q5_0]   = {el_quants_to_float_q5_0,   el_quants_from_float_q5_0,   el_quants_vec_dot_q5_0_q8_0},
    [EL_TYPE_Q5_1]   = {el_quants_to_float_q5_1,   el_quants_from_float_q5_1,   el_quants_vec_dot_q5_1_q8_1},
    [EL_TYPE_Q8_0]   = {el_quants_to_float_q8_0,   el_quants_from_float_q8_0,   el_quants_vec_dot_q8_0_q8_0},
    [EL_TYPE_Q8_1]   = {el_quants_to_float_q8_1,   el_quants_from_float_q8_1,   NULL},
    [EL_TYPE_Q2_K]   = {el_quants_to_float_q2_K,   el_quants_from_float_q2_K,   el_quants_vec_dot_q2_K_q8_K},
    [EL_TYPE_Q3_K]   = {el_quants_to_float_q3_K,   el_quants_from_float_q3_K,   el_quants_vec_dot_q3_K_q8_K},
    [EL_TYPE_Q4_K]   = {el_quants_to_float_q4_K,   el_quants_from_float_q4_K,   el_quants_vec_dot_q4_K_q8_K},
    [EL_TYPE_Q5_K]   = {el_quants_to_float_q5_K,   el_quants_from_float_q5_K,   el_quants_vec_dot_q5_K_q8_K},
    [EL_TYPE_Q6_K]   = {el_quants_to_float_q6_K,   el_quants_from_float_q6_K,   el_quants_vec_dot_q6_K_q8_K},
    [EL_TYPE_Q8_K]   = {el_quants_to_float_q8_K,   el_quants_from_float_q8_K,   NULL},
    [EL_TYPE_IQ4_NL] = {el_quants_to_float_iq4_nl, el_quants_from_float_iq4_nl, el_quants_vec_dot_iq4_nl_q8_0},
    [EL_TYPE_IQ4_XS] = {el_quants_to_float_iq4_xs, el_quants_from_float_iq4_xs, el_quants_vec_dot_iq4_xs_q8_K},
    [EL_TYPE_MXFP4]  = {el_quants_to_float_mxfp4,  el_quants_from_float_mxfp4,  el_quants_vec_dot_mxfp4_q8_0},
};
/* clang-format on */

const el_quant_kernels *el_quants_ref(int t) {
    if (t < 0 || t >= EL_TYPE_COUNT) return NULL;
    return &ref_kernels[t];
}

void el_quants_register(el_type_info *traits) {
    for (int t = 0; t < EL_TYPE_COUNT; t++) {
        if (!traits[t].name) continue;
        traits[t].to_float = ref_kernels[t].to_float;
        traits[t].from_float = ref_kernels[t].from_float;
        traits[t].vec_dot = ref_kernels[t].vec_dot;
    }
}
