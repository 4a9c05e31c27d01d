/* kernels/arm/gemm_i8mm.c — the i8mm level's tile kernels: q8_0 and q4_0 with vmmlaq_s32, the
 * instruction the 2x2 kernels of quants_i8mm.c (el_vec_dot_2x2) are built on, here over
 * tiles of 4 weight rows x up to 8 activation columns.
 *
 * What it owns: prefill's matrix products for the two types ARM users run most, on cores with
 * the int8 matrix multiply extension (Cortex-A510/A710/X2 and later, Neoverse V1/N2, Apple
 * M2+). Every other type, and these where the level does not replace them, use the dotprod
 * level's tiles (gemm_dotprod.c), which the i8mm level inherits.
 *
 * vmmlaq_s32(acc, A, B) adds the 2x2 int32 matrix of dot products of A's two 8-byte rows with
 * B's two: 32 multiply-adds per instruction, twice an sdot's. A pair of weight rows (a, b) is
 * zipped per 8 elements into [a | b] operands once per block and reused for every column pair;
 * a pair of columns (c, d) is zipped the same way once per block and reused for both row
 * pairs. A tile (row pair, column pair) comes out as [a.c, a.d, b.c, b.d]; its block scale is
 * the vector (dxa*dyc, dxa*dyd, dxb*dyc, dxb*dyd). Weights are used as signed values (q4_0:
 * u - 8), exact for any int8; float steps per block as vec_dot's. An odd last column pairs
 * with itself and one half of its tiles is dropped.
 *
 * Speed could not be measured where this was written (qemu): per 4 rows x 2 columns x 32
 * elements it spends 8 mmla where the dotprod tile spends 16 sdot, and the operand zips are
 * shared across the tile, so q4_0 and q8_0 are registered. Nothing allocates.
 */
#include <arm_neon.h>
#include <stddef.h>
#include <string.h>

#include "kernels/arm/arm_simd.h"
#include "kernels/dispatch.h"
#include "kernels/quants.h"

#if !defined(__ARM_FEATURE_MATMUL_INT8)
#error "gemm_i8mm.c needs -march=armv8.6-a+i8mm (the Makefile's ISA_i8mm)"
#endif

#include "kernels/arm/gemm_neon.inc" /* the row pointers, entry macro and fp16 helpers */

#define MMLA_MR 4
#define MMLA_NC 8

/* [lo 8 bytes of a | lo 8 bytes of b] and [hi of a | hi of b] */
GEMM_INLINE void mmla_zip(int8x16_t a, int8x16_t b, int8x16_t *lo, int8x16_t *hi) {
    const int64x2_t a64 = vreinterpretq_s64_s8(a), b64 = vreinterpretq_s64_s8(b);
    *lo = vreinterpretq_s8_s64(vzip1q_s64(a64, b64));
    *hi = vreinterpretq_s8_s64(vzip2q_s64(a64, b64));
}

/* The 32 signed values of row i's block b. */
GEMM_INLINE void mmla_row(const gemm_rows *r, int i, int b, const int T, int8x16_t v[2]) {
    if (T == EL_TYPE_Q8_0) {
        const el_block_q8_0 *x = (const el_block_q8_0 *)(const void *)r->p[i] + b;
        v[0] = vld1q_s8(x->qs);
        v[1] = vld1q_s8(x->qs + 16);
    } else {
        const el_block_q4_0 *x = (const el_block_q4_0 *)(const void *)r->p[i] + b;
        const uint8x16_t q = vld1q_u8(x->qs);
        v[0] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0F))), vdupq_n_s8(8));
        v[1] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), vdupq_n_s8(8));
    }
}

GEMM_INLINE el_fp16 mmla_row_d(const gemm_rows *r, int i, int b, const int T) {
    el_fp16 d;
    memcpy(&d,
           r->p[i] +
               (size_t)b * (T == EL_TYPE_Q8_0 ? sizeof(el_block_q8_0) : sizeof(el_block_q4_0)),
           2);
    return d;
}

GEMM_INLINE void tile_mmla(int n, float *s, size_t bs, const gemm_rows *r, int nr, const uint8_t *y,
                           size_t by, const int NC, const int T) {
    const int nb = n / 32;
    enum { NP = (MMLA_NC + 1) / 2 };
    const int ncp = (NC + 1) / 2; /* column pairs */
    float32x4_t acc[NP][2];       /* [column pair][row pair] */
    GEMM_UNROLL
    for (int cp = 0; cp < ncp; cp++)
        acc[cp][0] = acc[cp][1] = vdupq_n_f32(0);
    for (int b = 0; b < nb; b++) {
        int8x16_t xo[2][4]; /* [row pair][elements 0-7, 8-15, 16-23, 24-31] */
        float32x4_t dx[2];
        GEMM_UNROLL
        for (int rp = 0; rp < 2; rp++) {
            int8x16_t va[2], vb[2];
            mmla_row(r, 2 * rp, b, T, va);
            mmla_row(r, 2 * rp + 1, b, T, vb);
            mmla_zip(va[0], vb[0], &xo[rp][0], &xo[rp][1]);
            mmla_zip(va[1], vb[1], &xo[rp][2], &xo[rp][3]);
            const float da = arm_h2f(mmla_row_d(r, 2 * rp, b, T));
            const float db = arm_h2f(mmla_row_d(r, 2 * rp + 1, b, T));
            const float t[4] = {da, da, db, db};
            dx[rp] = vld1q_f32(t);
        }
        GEMM_UNROLL
        for (int cp = 0; cp < ncp; cp++) {
            const int c0 = 2 * cp, c1 = 2 * cp + 1 < NC ? 2 * cp + 1 : 2 * cp;
            const el_block_q8_0 *yc =
                (const el_block_q8_0 *)(const void *)(y + (size_t)c0 * by) + b;
            const el_block_q8_0 *yd =
                (const el_block_q8_0 *)(const void *)(y + (size_t)c1 * by) + b;
            int8x16_t yo[4];
            mmla_zip(vld1q_s8(yc->qs), vld1q_s8(yd->qs), &yo[0], &yo[1]);
            mmla_zip(vld1q_s8(yc->qs + 16), vld1q_s8(yd->qs + 16), &yo[2], &yo[3]);
            const float dc = arm_h2f(yc->d), dd = arm_h2f(yd->d);
            const float t[4] = {dc, dd, dc, dd};
            const float32x4_t dy = vld1q_f32(t);
            GEMM_UNROLL
            for (int rp = 0; rp < 2; rp++) {
                int32x4_t p = vmmlaq_s32(vdupq_n_s32(0), xo[rp][0], yo[0]);
                p = vmmlaq_s32(p, xo[rp][1], yo[1]);
                p = vmmlaq_s32(p, xo[rp][2], yo[2]);
                p = vmmlaq_s32(p, xo[rp][3], yo[3]);
                acc[cp][rp] = vfmaq_f32(acc[cp][rp], vcvtq_f32_s32(p), vmulq_f32(dx[rp], dy));
            }
        }
    }
    /* lanes [a.c, a.d, b.c, b.d] of (row pair rp, column pair cp) */
    GEMM_UNROLL
    for (int cp = 0; cp < ncp; cp++) {
        GEMM_UNROLL
        for (int rp = 0; rp < 2; rp++) {
            float t[4];
            vst1q_f32(t, acc[cp][rp]);
            const int a = 2 * rp, c = 2 * cp;
            if (a < nr) s[(size_t)c * bs + (size_t)a] = t[0];
            if (a + 1 < nr) s[(size_t)c * bs + (size_t)a + 1] = t[2];
            if (c + 1 < NC) {
                if (a < nr) s[(size_t)(c + 1) * bs + (size_t)a] = t[1];
                if (a + 1 < nr) s[(size_t)(c + 1) * bs + (size_t)a + 1] = t[3];
            }
        }
    }
}

GEMM_ENTRY(gemm_q8_0, tile_mmla, EL_TYPE_Q8_0, MMLA_NC)
GEMM_ENTRY(gemm_q4_0, tile_mmla, EL_TYPE_Q4_0, MMLA_NC)

void el_kernels_fill_gemm_i8mm(el_gemm_kernel *g) {
    g[EL_TYPE_Q8_0] = (el_gemm_kernel){gemm_q8_0, MMLA_MR, MMLA_NC};
    g[EL_TYPE_Q4_0] = (el_gemm_kernel){gemm_q4_0, MMLA_MR, MMLA_NC};
}
