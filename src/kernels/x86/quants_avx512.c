/* kernels/x86/quants_avx512.c — the AVX-512 level (F/BW/VL/DQ + VNNI + BF16: Ice Lake-SP
 * with BF16 i.e. Cooper/Sapphire Rapids, Zen 4 and later).
 *
 * What it owns: the x86 kernels above AVX2. A kernel is registered here only where it beat
 * the AVX2 one on this machine (Zen 4, TSC cycles per 4096-element row, L2-resident, best of
 * 1000 rows; streamed figures come from bench/kernels.c). Two sources:
 *   - quants_ymm.inc compiled again with VNNI: vpdpbusd replaces maddubs + madd in the int8
 *     dot products and vpdpwssd replaces madd + add in the scale step. Wins (AVX2 -> here):
 *     q8_0 356 -> 323, q4_0 414 -> 400, q4_1 391 -> 373, q5_1 530 -> 478, iq4_nl 474 -> 436,
 *     q2_K 244 -> 238, q4_K 250 -> 229, q5_K 324 -> 291, q6_K 297 -> 240.
 *   - 512-bit kernels below: q5_0 (two blocks per zmm, 558 -> 490), q3_K (64 elements per
 *     zmm, 350 -> 326), bf16 (vdpbf16ps, 595 -> 197).
 * Tried and dropped (slower than the line above on Zen 4, where a zmm operation costs two ymm
 * ones): zmm forms of q8_0, q4_0, q4_1, q5_1, iq4_nl, q2_K, q4_K, q5_K, q6_K, iq4_xs (the sign
 * has to be moved with a mask: no vpsignb in AVX-512), f16 (vcvtph2ps zmm is slow) and f32
 * (equal). iq4_xs, f16, f32 and the quantizers therefore stay at their AVX2 kernels.
 *
 * Techniques: two 32-element blocks per zmm use vpdpbusd on an unsigned form of the weight,
 * u = q + c, and sum(q*y) = dpbusd(u, y) - dpbusd(c, y), exact for any int8. 256-element
 * blocks put 64 consecutive elements in a zmm; vpmaddubsw forms the pair products and
 * vpdpwssd multiplies by the sub-block scales (picked with vpermw) and accumulates.
 * vdpbf16ps flushes subnormal inputs and results to zero, a difference below FLT_MIN per
 * element (test_kernels allows it). Integer sums are exactly the reference's; only the float
 * accumulation order differs. Nothing allocates; no state but constant tables.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/quants.h"
#include "kernels/x86/x86_simd.h"

#include "kernels/x86/quants_ymm.inc" /* the 256-bit kernels, in their VNNI forms */

static inline float hsum512(__m512 v) {
    return _mm512_reduce_add_ps(v);
}

static inline __m512i load512(const void *p) {
    return _mm512_loadu_si512(p);
}

/* two 32-byte fields -> one zmm */
static inline __m512i load_2x256(const void *a, const void *b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(x86_load256(a)), x86_load256(b), 1);
}

/* ======================================================================================== */
/* q5_0: two blocks per zmm                                                                   */
/* ======================================================================================== */

/* Two 16-byte nibble fields (blocks a, b) -> 64 bytes 0..15 in element order: a's low
 * nibbles, a's high, b's low, b's high. */
static inline __m512i nibbles_2x16(const uint8_t *a, const uint8_t *b) {
    const __m256i t =
        _mm256_inserti128_si256(_mm256_castsi128_si256(x86_load128(a)), x86_load128(b), 1);
    __m512i z = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3),
                                         _mm512_castsi256_si512(t));
    z = _mm512_mask_srli_epi16(z, 0xFF00FF00u, z, 4); /* 128-bit lanes 1 and 3 */
    return _mm512_and_si512(z, _mm512_set1_epi8(0x0F));
}

/* u = nibble | h << 4 (0..31) of blocks a, b; their two 32-bit qh fields are one 64-bit mask
 * in element order. The value is u - 16. */
static inline __m512i zq5_unsigned(const el_block_q5_0 *a, const el_block_q5_0 *b) {
    uint32_t ha, hb;
    memcpy(&ha, a->qh, 4);
    memcpy(&hb, b->qh, 4);
    const __mmask64 h = (__mmask64)ha | (__mmask64)hb << 32;
    const __m512i nib = nibbles_2x16(a->qs, b->qs);
    return _mm512_mask_add_epi8(nib, h, nib, _mm512_set1_epi8(16));
}

/* Scales of blocks i, j (lane 0 of quants_ymm.inc's block_scales): d_i in lanes 0..7, d_j in
 * lanes 8..15, or 0 there when j == i (a lone last block). */
static inline __m512 scale_2(const el_block_q5_0 *x, const el_block_q8_0 *y, int i, int j) {
    const __m256 di = _mm256_broadcastss_ps(block_scales(&x[i], &y[i]));
    const __m256 dj =
        j != i ? _mm256_broadcastss_ps(block_scales(&x[j], &y[j])) : _mm256_setzero_ps();
    return _mm512_insertf32x8(_mm512_castps256_ps512(di), dj, 1);
}

/* 16 int32 sums over 4-byte groups of (u - 16) * y. */
static inline __m512i q5_dot(__m512i u, __m512i y) {
    const __m512i z = _mm512_setzero_si512();
    return _mm512_sub_epi32(_mm512_dpbusd_epi32(z, u, y),
                            _mm512_dpbusd_epi32(z, _mm512_set1_epi8(16), y));
}

static void zdot_q5_0_q8_0(int n, float *s, const void *vx, const void *vy) {
    const el_block_q5_0 *x = vx;
    const el_block_q8_0 *y = vy;
    const int nb = n / EL_QK5_0;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int i = 0;
    for (; i + 4 <= nb; i += 4) {
        const __m512i p0 = q5_dot(zq5_unsigned(&x[i], &x[i + 1]), load_2x256(y[i].qs, y[i + 1].qs));
        const __m512i p1 =
            q5_dot(zq5_unsigned(&x[i + 2], &x[i + 3]), load_2x256(y[i + 2].qs, y[i + 3].qs));
        acc0 = _mm512_fmadd_ps(scale_2(x, y, i, i + 1), _mm512_cvtepi32_ps(p0), acc0);
        acc1 = _mm512_fmadd_ps(scale_2(x, y, i + 2, i + 3), _mm512_cvtepi32_ps(p1), acc1);
    }
    /* 1..3 blocks left: pairs, the last one paired with itself at scale 0 (all loads stay
     * inside blocks i..nb-1) */
    for (; i < nb; i += 2) {
        const int j = i + 1 < nb ? i + 1 : i;
        const __m512i p = q5_dot(zq5_unsigned(&x[i], &x[j]), load_2x256(y[i].qs, y[j].qs));
        acc0 = _mm512_fmadd_ps(scale_2(x, y, i, j), _mm512_cvtepi32_ps(p), acc0);
    }
    *s = hsum512(_mm512_add_ps(acc0, acc1));
}

/* ======================================================================================== */
/* q3_K: 64 consecutive elements per zmm                                                      */
/* ======================================================================================== */

/* vpermw indices: the 32 int16 pair sums of 64 elements -> their 16-element sub-block's scale
 * lane. zmm v of a block holds sub-blocks 4v..4v+3, one per 128 bits. */
#define R8(a) a, a, a, a, a, a, a, a
static const int16_t idx_sub16[4][32]
    __attribute__((aligned(64))) = {{R8(0), R8(1), R8(2), R8(3)},
                                    {R8(4), R8(5), R8(6), R8(7)},
                                    {R8(8), R8(9), R8(10), R8(11)},
                                    {R8(12), R8(13), R8(14), R8(15)}};
#undef R8

static inline __m512i sub_scales(int v, __m512i sc) {
    return _mm512_permutexvar_epi16(_mm512_load_si512((const void *)idx_sub16[v]), sc);
}

/* acc += scales * maddubs(u, y): pair products, times the sub-block scale, into int32. */
static inline __m512i mac(__m512i acc, __m512i u, __m512i y, __m512i scales) {
    return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(u, y), scales);
}

static void zdot_q3_K_q8_K(int n, float *s, const void *vx, const void *vy) {
    const el_block_q3_K *x = vx;
    const el_block_q8_K *y = vy;
    const int nb = n / EL_QK_K;
    const __m512i m3 = _mm512_set1_epi8(3), m4 = _mm512_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < nb; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(x86_scales_q3_K(x[i].scales));
        const __m512i sc = _mm512_castsi256_si512(sc16);
        const __m256i hm = x86_load256(x[i].hmask);
        /* [hm | hm >> 1]: bit 0 of each half is the high bit of its 32 elements; >> 2 per
         * 64 elements */
        __m512i hh = _mm512_inserti64x4(_mm512_castsi256_si512(hm), _mm256_srli_epi16(hm, 1), 1);
        __m512i sumi = _mm512_setzero_si512();
        EL_UNROLL
        for (int c = 0; c < 2; c++) {
            const __m256i q = x86_load256(x[i].qs + 32 * c);
            const __m512i qq =
                _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 2), 1);
            const __m512i u01 = _mm512_or_si512(_mm512_and_si512(qq, m3),
                                                _mm512_and_si512(_mm512_slli_epi16(hh, 2), m4));
            hh = _mm512_srli_epi16(hh, 2);
            const __m512i u23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(qq, 4), m3),
                                                _mm512_and_si512(_mm512_slli_epi16(hh, 2), m4));
            hh = _mm512_srli_epi16(hh, 2);
            sumi = mac(sumi, u01, load512(y[i].qs + 128 * c), sub_scales(2 * c, sc));
            sumi = mac(sumi, u23, load512(y[i].qs + 128 * c + 64), sub_scales(2 * c + 1, sc));
        }
        __m256i s8 =
            _mm256_add_epi32(_mm512_castsi512_si256(sumi), _mm512_extracti64x4_epi64(sumi, 1));
        /* value = u - 4: minus 4 * sum_j sc_j bsums_j */
        s8 = _mm256_sub_epi32(
            s8, _mm256_slli_epi32(_mm256_madd_epi16(sc16, x86_load256(y[i].bsums)), 2));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * h2f(x[i].d)), _mm256_cvtepi32_ps(s8), acc);
    }
    *s = x86_hsum_ps(acc);
}

/* ======================================================================================== */
/* bf16                                                                                       */
/* ======================================================================================== */

static void zdot_bf16(int n, float *s, const void *vx, const void *vy) {
    const el_bf16 *x = vx, *y = vy;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
#define LB(p) ((__m512bh)_mm512_loadu_si512(p))
    for (; i + 128 <= n; i += 128) {
        a0 = _mm512_dpbf16_ps(a0, LB(x + i), LB(y + i));
        a1 = _mm512_dpbf16_ps(a1, LB(x + i + 32), LB(y + i + 32));
        a2 = _mm512_dpbf16_ps(a2, LB(x + i + 64), LB(y + i + 64));
        a3 = _mm512_dpbf16_ps(a3, LB(x + i + 96), LB(y + i + 96));
    }
    for (; i + 32 <= n; i += 32)
        a0 = _mm512_dpbf16_ps(a0, LB(x + i), LB(y + i));
#undef LB
    if (i < n) {
        const __mmask32 k = (__mmask32)((1ull << (n - i)) - 1);
        a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_maskz_loadu_epi16(k, x + i),
                              (__m512bh)_mm512_maskz_loadu_epi16(k, y + i));
    }
    *s = hsum512(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

/* ======================================================================================== */

void el_kernels_fill_avx512(el_quant_kernels *k) {
    /* quants_ymm.inc, VNNI forms */
    k[EL_TYPE_Q8_0].vec_dot = dot_q8_0_q8_0;
    k[EL_TYPE_Q4_0].vec_dot = dot_q4_0_q8_0;
    k[EL_TYPE_Q4_1].vec_dot = dot_q4_1_q8_1;
    k[EL_TYPE_Q5_1].vec_dot = dot_q5_1_q8_1;
    k[EL_TYPE_IQ4_NL].vec_dot = dot_iq4_nl_q8_0;
    k[EL_TYPE_Q2_K].vec_dot = dot_q2_K_q8_K;
    k[EL_TYPE_Q4_K].vec_dot = dot_q4_K_q8_K;
    k[EL_TYPE_Q5_K].vec_dot = dot_q5_K_q8_K;
    k[EL_TYPE_Q6_K].vec_dot = dot_q6_K_q8_K;
    /* 512-bit */
    k[EL_TYPE_Q5_0].vec_dot = zdot_q5_0_q8_0;
    k[EL_TYPE_Q3_K].vec_dot = zdot_q3_K_q8_K;
    k[EL_TYPE_BF16].vec_dot = zdot_bf16;
}
