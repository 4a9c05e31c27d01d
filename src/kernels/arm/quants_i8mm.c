/* kernels/arm/quants_i8mm.c — the i8mm level (ARMv8.6-A int8 matrix multiply: Cortex-A510,
 * A710/X2 and later, Neoverse V1/N2, Apple M2+): 2x2 tiles of int8 dot products.
 *
 * What it owns: el_vec_dot_2x2 kernels (two weight rows x two activation rows, see
 * dispatch.h) for q8_0 and q4_0, the two types ARM users run most. vmmlaq_s32 multiplies a
 * 2x8 int8 matrix by an 8x2 one into a 2x2 int32 tile: 32 multiply-adds per instruction,
 * twice an sdot's, and every weight load serves two activation rows. Single-row vec_dot gets
 * no i8mm variant: with one activation row half of each tile is wasted, which is the sdot
 * kernel's work at best; the level inherits the dotprod kernels for it.
 *
 * Layout trick: rows a, b of 16 int8 each become the two 2x8 operands [a0..7 | b0..7] and
 * [a8..15 | b8..15] (vzip1q/vzip2q on 64-bit lanes); the tile comes out as
 * [a.c, a.d, b.c, b.d] for weight rows a, b and activation rows c, d. Integer sums are exact;
 * the per-block float step is the one of vec_dot. Speed could not be measured where this
 * was written (qemu); the instruction count per 2x2 tile of 32 elements is 4 mmla against 8
 * sdot for four single dot products.
 */
#include <arm_neon.h>
#include <string.h>

#include "kernels/arm/arm_simd.h"
#include "kernels/dispatch.h"
#include "kernels/quants.h"

#if !defined(__ARM_FEATURE_MATMUL_INT8)
#error "quants_i8mm.c needs -march=armv8.6-a+i8mm (the Makefile's ISA_i8mm)"
#endif

/* acc + the 2x2 tile of 16-element dot products of weight rows (a, b) and activation rows
 * (c, d): lanes [a.c, a.d, b.c, b.d]. */
static inline int32x4_t tile16(int32x4_t acc, int8x16_t a, int8x16_t b, int8x16_t c, int8x16_t d) {
    const int64x2_t a64 = vreinterpretq_s64_s8(a), b64 = vreinterpretq_s64_s8(b);
    const int64x2_t c64 = vreinterpretq_s64_s8(c), d64 = vreinterpretq_s64_s8(d);
    acc = vmmlaq_s32(acc, vreinterpretq_s8_s64(vzip1q_s64(a64, b64)),
                     vreinterpretq_s8_s64(vzip1q_s64(c64, d64)));
    return vmmlaq_s32(acc, vreinterpretq_s8_s64(vzip2q_s64(a64, b64)),
                      vreinterpretq_s8_s64(vzip2q_s64(c64, d64)));
}

/* The four block scales in tile order. */
static inline float32x4_t tile_scales(el_fp16 xa, el_fp16 xb, el_fp16 yc, el_fp16 yd) {
    const float a = arm_h2f(xa), b = arm_h2f(xb), c = arm_h2f(yc), d = arm_h2f(yd);
    const float v[4] = {a * c, a * d, b * c, b * d};
    return vld1q_f32(v);
}

static inline void store_tile(float *s, float32x4_t acc) {
    s[0] = vgetq_lane_f32(acc, 0); /* x0.y0 */
    s[1] = vgetq_lane_f32(acc, 2); /* x1.y0 */
    s[2] = vgetq_lane_f32(acc, 1); /* x0.y1 */
    s[3] = vgetq_lane_f32(acc, 3); /* x1.y1 */
}

static void dot2_q8_0_q8_0(int n, float *s, const void *vx, size_t bx, const void *vy, size_t by) {
    const el_block_q8_0 *x0 = vx, *x1 = (const void *)((const uint8_t *)vx + bx);
    const el_block_q8_0 *y0 = vy, *y1 = (const void *)((const uint8_t *)vy + by);
    const int nb = n / EL_QK8_0;
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0);
    for (int i = 0; i < nb; i++) {
        int32x4_t p = vdupq_n_s32(0);
        p = tile16(p, vld1q_s8(x0[i].qs), vld1q_s8(x1[i].qs), vld1q_s8(y0[i].qs),
                   vld1q_s8(y1[i].qs));
        p = tile16(p, vld1q_s8(x0[i].qs + 16), vld1q_s8(x1[i].qs + 16), vld1q_s8(y0[i].qs + 16),
                   vld1q_s8(y1[i].qs + 16));
        const float32x4_t d = tile_scales(x0[i].d, x1[i].d, y0[i].d, y1[i].d);
        if (i & 1)
            acc1 = vfmaq_f32(acc1, vcvtq_f32_s32(p), d);
        else
            acc0 = vfmaq_f32(acc0, vcvtq_f32_s32(p), d);
    }
    store_tile(s, vaddq_f32(acc0, acc1));
}

static inline void q4_0_values(const el_block_q4_0 *b, int8x16_t *lo, int8x16_t *hi) {
    uint8x16_t l, h;
    arm_nibbles(b->qs, &l, &h);
    *lo = vsubq_s8(vreinterpretq_s8_u8(l), vdupq_n_s8(8));
    *hi = vsubq_s8(vreinterpretq_s8_u8(h), vdupq_n_s8(8));
}

static void dot2_q4_0_q8_0(int n, float *s, const void *vx, size_t bx, const void *vy, size_t by) {
    const el_block_q4_0 *x0 = vx, *x1 = (const void *)((const uint8_t *)vx + bx);
    const el_block_q8_0 *y0 = vy, *y1 = (const void *)((const uint8_t *)vy + by);
    const int nb = n / EL_QK4_0;
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0);
    for (int i = 0; i < nb; i++) {
        int8x16_t a0, a1, b0, b1;
        q4_0_values(&x0[i], &a0, &a1);
        q4_0_values(&x1[i], &b0, &b1);
        int32x4_t p = vdupq_n_s32(0);
        p = tile16(p, a0, b0, vld1q_s8(y0[i].qs), vld1q_s8(y1[i].qs));
        p = tile16(p, a1, b1, vld1q_s8(y0[i].qs + 16), vld1q_s8(y1[i].qs + 16));
        const float32x4_t d = tile_scales(x0[i].d, x1[i].d, y0[i].d, y1[i].d);
        if (i & 1)
            acc1 = vfmaq_f32(acc1, vcvtq_f32_s32(p), d);
        else
            acc0 = vfmaq_f32(acc0, vcvtq_f32_s32(p), d);
    }
    store_tile(s, vaddq_f32(acc0, acc1));
}

void el_kernels_fill_i8mm(el_quant_kernels *k) {
    (void)k; /* single-row vec_dot: the dotprod kernels (see the file comment) */
}

void el_kernels_fill_2x2_i8mm(el_vec_dot_2x2_fn *d) {
    d[EL_TYPE_Q8_0] = dot2_q8_0_q8_0;
    d[EL_TYPE_Q4_0] = dot2_q4_0_q8_0;
}
