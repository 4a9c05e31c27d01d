/* kernels/arm/arm_simd.h — small NEON building blocks shared by the aarch64 kernel files.
 * Everything is static inline and compiled with the including file's -march flags; where a
 * helper has a faster form on a higher level (sdot with +dotprod) it is chosen at compile
 * time from the ACLE feature macros, which is how quants_neon.inc becomes two kernel sets.
 *
 * Loads never touch a byte outside the block field they name. */
#ifndef EL_ARM_SIMD_H
#define EL_ARM_SIMD_H

#include <arm_neon.h>
#include <stdint.h>
#include <string.h>

#include "kernels/quants.h"

/* Exact fp16 -> fp32 (FCVT). */
static inline float arm_h2f(el_fp16 h) {
    __fp16 f;
    memcpy(&f, &h, sizeof f);
    return (float)f;
}

/* acc + the dot products of 16 int8 pairs, into 4 int32 lanes. Which lane gets which
 * products differs between the two forms; callers only ever sum the lanes (or scale them all
 * by one sub-block scale), so that is invisible. Products of two int8 fit int16 (even
 * -128 * -128), so the widening form is exact for any input. */
static inline int32x4_t arm_dot(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(acc, a, b);
#else
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
#endif
}

/* The dot product of two 32-byte int8 runs. */
static inline int32x4_t arm_dot32(int8x16_t a0, int8x16_t a1, const int8_t *y) {
    return arm_dot(arm_dot(vdupq_n_s32(0), a0, vld1q_s8(y)), a1, vld1q_s8(y + 16));
}

/* 16 bytes of nibbles -> low nibbles (elements 0..15) and high (16..31). */
static inline void arm_nibbles(const uint8_t *p, uint8x16_t *lo, uint8x16_t *hi) {
    const uint8x16_t q = vld1q_u8(p);
    *lo = vandq_u8(q, vdupq_n_u8(0x0F));
    *hi = vshrq_n_u8(q, 4);
}

/* Bits 0..15 / 16..31 of a little-endian 32-bit field -> 16 bytes each, `val` where the bit
 * is set, else 0. */
static inline void arm_bits32(const uint8_t *p, uint8_t val, uint8x16_t *lo, uint8x16_t *hi) {
    static const uint8_t bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t m = vld1q_u8(bit), v = vdupq_n_u8(val);
    const uint8x16_t b01 = vcombine_u8(vdup_n_u8(p[0]), vdup_n_u8(p[1]));
    const uint8x16_t b23 = vcombine_u8(vdup_n_u8(p[2]), vdup_n_u8(p[3]));
    *lo = vandq_u8(vtstq_u8(b01, m), v);
    *hi = vandq_u8(vtstq_u8(b23, m), v);
}

/* The 8 six-bit scales and 8 mins of a q4_K / q5_K block (el_quants_scale_min_k4 for all j). */
static inline void arm_scale_min_k4(const uint8_t *q, uint8_t sc[8], uint8_t m[8]) {
    uint32_t w0, w1, w2;
    memcpy(&w0, q, 4);
    memcpy(&w1, q + 4, 4);
    memcpy(&w2, q + 8, 4);
    /* j < 4: low 6 bits of bytes 0..3 / 4..7; j >= 4: a nibble of bytes 8..11 plus the top
     * 2 bits of bytes 0..3 / 4..7 ((b >> 6) << 4 == (b >> 2) & 0x30 bytewise) */
    const uint32_t s[2] = {w0 & 0x3F3F3F3Fu, (w2 & 0x0F0F0F0Fu) | ((w0 >> 2) & 0x30303030u)};
    const uint32_t n[2] = {w1 & 0x3F3F3F3Fu, ((w2 >> 4) & 0x0F0F0F0Fu) | ((w1 >> 2) & 0x30303030u)};
    memcpy(sc, s, 8);
    memcpy(m, n, 8);
}

/* The 16 signed 6-bit scales of a q3_K block (-32..31). */
static inline void arm_scales_q3_K(const uint8_t *q, int8_t out[16]) {
    uint32_t w0, w1, w2;
    memcpy(&w0, q, 4);
    memcpy(&w1, q + 4, 4);
    memcpy(&w2, q + 8, 4);
    const uint32_t lo = 0x0F0F0F0Fu, hi = 0x30303030u;
    const uint32_t s[4] = {(w0 & lo) | ((w2 << 4) & hi), (w1 & lo) | ((w2 << 2) & hi),
                           ((w0 >> 4) & lo) | (w2 & hi), ((w1 >> 4) & lo) | ((w2 >> 2) & hi)};
    vst1q_s8(out, vsubq_s8(vreinterpretq_s8_u8(vld1q_u8((const uint8_t *)s)), vdupq_n_s8(32)));
}

#endif
