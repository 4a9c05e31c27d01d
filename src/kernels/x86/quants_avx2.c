/* kernels/x86/quants_avx2.c — AVX2 + FMA + F16C kernels: dot products of every weight type
 * edgellm computes with against its activation type, the activation quantizers (Q8_0, Q8_1,
 * Q8_K), and fp16/bf16 row conversion.
 *
 * What it owns: the fast path of decode on x86 mini-PCs. Each kernel computes exactly the
 * integer sums of its reference in quants.c; only the order of the float accumulation
 * differs (8 lanes, fused multiply-add), which tests/unit/test_kernels.c bounds. The
 * quantizers reproduce the reference bytes for finite input (same float operations in the
 * same order per element; roundf's ties-away and nearest_int's ties-even both reproduced).
 *
 * Techniques, once: 4-bit weights are unpacked with a shift and a mask (low nibbles -> the low
 * 128-bit lane); signed*signed int8 products go through _mm256_maddubs_epi16 with the sign
 * moved onto the activation (x86_dot_i8); a per-block offset (q - 8, q - 32, ...) is not
 * subtracted per element when the activation carries its sums (Q8_K's bsums): the offset
 * term is one multiply-add per block instead. Sub-block scales multiply int16 pair sums with
 * _mm256_madd_epi16, which also widens to int32.
 *
 * Range assumptions: int8 activations in -127..127 (every quantizer here and in ggml stays
 * there); Q8_0 weights too. Nothing allocates; no static state.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/quants.h"
#include "kernels/x86/x86_simd.h"

#define h2f x86_h2f
#define hsum x86_hsum_ps

/* ======================================================================================== */
/* 32-element blocks against Q8_0 / Q8_1                                                      */
/* ======================================================================================== */

static void dot_q8_0_q8_0(int n, float *s, const void *vx, const void *vy) {
    const el_block_q8_0 *x = vx;
    const el_block_q8_0 *y = vy;
    const int nb = n / EL_QK8_0;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 2 <= nb; i += 2) {
        const __m256i p0 = x86_dot_i8(x86_load256(x[i].qs), x86_load256(y[i].qs));
        const __m256i p1 = x86_dot_i8(x86_load256(x[i + 1].qs), x86_load256(y[i + 1].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p0),
                               acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i + 1].d) * h2f(y[i + 1].d)),
                               _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; i++) {
        const __m256i p = x86_dot_i8(x86_load256(x[i].qs), x86_load256(y[i].qs));
        acc0 =
            _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), acc0);
    }
    *s = hsum(_mm256_add_ps(acc0, acc1));
}

static inline __m256i q4_0_values(const el_block_q4_0 *b) {
    return _mm256_sub_epi8(x86_nibbles32(b->qs), _mm256_set1_epi8(8));
}

static void dot_q4_0_q8_0(int n, float *s, const void *vx, const void *vy) {
    const el_block_q4_0 *x = vx;
    const el_block_q8_0 *y = vy;
    const int nb = n / EL_QK4_0;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 2 <= nb; i += 2) {
        const __m256i p0 = x86_dot_i8(q4_0_values(&x[i]), x86_load256(y[i].qs));
        const __m256i p1 = x86_dot_i8(q4_0_values(&x[i + 1]), x86_load256(y[i + 1].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p0),
                               acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i + 1].d) * h2f(y[i + 1].d)),
                               _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; i++) {
        const __m256i p = x86_dot_i8(q4_0_values(&x[i]), x86_load256(y[i].qs));
        acc0 =
            _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), acc0);
    }
    *s = hsum(_mm256_add_ps(acc0, acc1));
}

/* q4_1: unsigned nibbles straight into maddubs; the min term is m * s per block. */
static void dot_q4_1_q8_1(int n, float *s, const void *vx, const void *vy) {
    const el_block_q4_1 *x = vx;
    const el_block_q8_1 *y = vy;
    const int nb = n / EL_QK4_1;
    __m256 acc = _mm256_setzero_ps();
    float summ = 0;
    for (int i = 0; i < nb; i++) {
        const __m256i p = x86_dot_u8i8(x86_nibbles32(x[i].qs), x86_load256(y[i].qs));
        acc =
            _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), acc);
        summ += h2f(x[i].m) * h2f(y[i].s);
    }
    *s = hsum(acc) + summ;
}

/* q5_0: value = (nibble | h << 4) - 16; with h clear that is nibble - 16 == nibble | 0xF0 as
 * an int8, with h set it is the nibble: one OR of the inverted bit mask. */
static inline __m256i q5_0_values(const el_block_q5_0 *b) {
    const __m256i hi = _mm256_andnot_si256(x86_bits32(b->qh), _mm256_set1_epi8((char)0xF0));
    return _mm256_or_si256(x86_nibbles32(b->qs), hi);
}

static void dot_q5_0_q8_0(int n, float *s, const void *vx, const void *vy) {
    const el_block_q5_0 *x = vx;
    const el_block_q8_0 *y = vy;
    const int nb = n / EL_QK5_0;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 2 <= nb; i += 2) {
        const __m256i p0 = x86_dot_i8(q5_0_values(&x[i]), x86_load256(y[i].qs));
        const __m256i p1 = x86_dot_i8(q5_0_values(&x[i + 1]), x86_load256(y[i + 1].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p0),
                               acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i + 1].d) * h2f(y[i + 1].d)),
                               _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; i++) {
        const __m256i p = x86_dot_i8(q5_0_values(&x[i]), x86_load256(y[i].qs));
        acc0 =
            _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), acc0);
    }
    *s = hsum(_mm256_add_ps(acc0, acc1));
}

static void dot_q5_1_q8_1(int n, float *s, const void *vx, const void *vy) {
    const el_block_q5_1 *x = vx;
    const el_block_q8_1 *y = vy;
    const int nb = n / EL_QK5_1;
    __m256 acc = _mm256_setzero_ps();
    float summ = 0;
    for (int i = 0; i < nb; i++) {
        const __m256i hi = _mm256_and_si256(x86_bits32(x[i].qh), _mm256_set1_epi8(0x10));
        const __m256i q = _mm256_or_si256(x86_nibbles32(x[i].qs), hi);
        const __m256i p = x86_dot_u8i8(q, x86_load256(y[i].qs));
        acc =
            _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * h2f(y[i].d)), _mm256_cvtepi32_ps(p), acc);
        summ += h2f(x[i].m) * h2f(y[i].s);
    }
    *s = hsum(acc) + summ;
}

/* iq4_nl: the 16 code points are a byte table; _mm256_shuffle_epi8 looks 32 up at once. */
static inline __m256i iq4_table(void) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)el_kvalues_iq4nl));
}

static void dot_iq4_nl_q8_0(int n, float *s, const void *vx, const void *vy) {
    const el_block_iq4_nl *x = vx;
    const el_block_q8_0 *y = vy;
    const int nb = n / EL_QK4_NL;
    const __m256i table = iq4_table();
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 2 <= nb; i += 2) {
        const __m256i v0 = _mm256_shuffle_epi8(table, x86_nibbles32(x[i].qs));
        const __m256i v1 = _mm256_shuffle_epi8(table, x86_nibbles32(x[i + 1].qs));
        const __m256i p0 = x86_dot_i8(v0, x86_load256(y[i].qs));
        const __m256i p1 = x86_dot_i8(v1, x86_load256(y[i + 1].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(y[i].d) * h2f(x[i].d)), _mm256_cvtepi32_ps(p0),
                               acc0);
        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(h2f(y[i + 1].d) * h2f(x[i + 1].d)),
                               _mm256_cvtepi32_ps(p1), acc1);
    }
    for (; i < nb; i++) {
        const __m256i v = _mm256_shuffle_epi8(table, x86_nibbles32(x[i].qs));
        const __m256i p = x86_dot_i8(v, x86_load256(y[i].qs));
        acc0 =
            _mm256_fmadd_ps(_mm256_set1_ps(h2f(y[i].d) * h2f(x[i].d)), _mm256_cvtepi32_ps(p), acc0);
    }
    *s = hsum(_mm256_add_ps(acc0, acc1));
}

/* ======================================================================================== */
/* K-quants and IQ4_XS against Q8_K                                                           */
/* ======================================================================================== */

/* 16 int16 sub-block scales (lanes 0..15, one per 16 elements) -> for the 32-element vector v
 * (0..7) of a 256-element block, int16 lanes holding scale 2v (low half) and 2v+1 (high). */
typedef struct {
    __m256i lo, hi; /* scales 0..7 / 8..15 in both 128-bit halves */
} pair_scales;

static inline pair_scales pair_scales_make(__m256i sc16) {
    pair_scales p = {_mm256_permute2x128_si256(sc16, sc16, 0x00),
                     _mm256_permute2x128_si256(sc16, sc16, 0x11)};
    return p;
}
static inline __m256i pair_scales_get(const pair_scales *p, int v) {
    return _mm256_shuffle_epi8(v < 4 ? p->lo : p->hi, x86_pair_mask((2 * v) & 7));
}

/* The scalar bsums-dot of a block: sum_j scale_j * bsums_j over the 16 sub-blocks. */
static inline __m256i bsums_dot(__m256i sc16, const el_block_q8_K *y) {
    return _mm256_madd_epi16(sc16, x86_load256(y->bsums));
}

static void dot_q2_K_q8_K(int n, float *s, const void *vx, const void *vy) {
    const el_block_q2_K *x = vx;
    const el_block_q8_K *y = vy;
    const int nb = n / EL_QK_K;
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int i = 0; i < nb; i++) {
        const __m128i sc8 = x86_load128(x[i].scales);
        const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(sc8, _mm_set1_epi8(0x0F)));
        const __m256i mn16 =
            _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), _mm_set1_epi8(0x0F)));
        const pair_scales ps = pair_scales_make(sc16);
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int c = 0; c < 2; c++) {
            const __m256i q = x86_load256(x[i].qs + 32 * c);
            for (int k = 0; k < 4; k++, q8 += 32) {
                const __m256i u = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), m3);
                const __m256i p = _mm256_maddubs_epi16(u, x86_load256(q8));
                sumi =
                    _mm256_add_epi32(sumi, _mm256_madd_epi16(pair_scales_get(&ps, 4 * c + k), p));
            }
        }
        const float d8 = y[i].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d8 * h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(d8 * h2f(x[i].dmin)),
                               _mm256_cvtepi32_ps(bsums_dot(mn16, &y[i])), accm);
    }
    *s = hsum(_mm256_sub_ps(acc, accm));
}

/* q3_K: u = 2 low bits | high bit << 2 is 0..7 and the value u - 4; the -4 goes through
 * bsums: sum_j sc_j (sum u p - 4 sum p). */
static void dot_q3_K_q8_K(int n, float *s, const void *vx, const void *vy) {
    const el_block_q3_K *x = vx;
    const el_block_q8_K *y = vy;
    const int nb = n / EL_QK_K;
    const __m256i m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < nb; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(x86_scales_q3_K(x[i].scales));
        const pair_scales ps = pair_scales_make(sc16);
        const int8_t *q8 = y[i].qs;
        __m256i hm = x86_load256(x[i].hmask);
        __m256i sumi = _mm256_setzero_si256();
        for (int c = 0; c < 2; c++) {
            const __m256i q = x86_load256(x[i].qs + 32 * c);
            for (int k = 0; k < 4; k++, q8 += 32) {
                /* bit 4c+k of hmask[l] is the high bit of element 128c + 32k + l; hm is
                 * shifted right once per vector so it is always bit 0 */
                const __m256i h = _mm256_and_si256(_mm256_slli_epi16(hm, 2), m4);
                hm = _mm256_srli_epi16(hm, 1);
                const __m256i u =
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * k), m3), h);
                const __m256i p = _mm256_maddubs_epi16(u, x86_load256(q8));
                sumi =
                    _mm256_add_epi32(sumi, _mm256_madd_epi16(pair_scales_get(&ps, 4 * c + k), p));
            }
        }
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(bsums_dot(sc16, &y[i]), 2));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
    }
    *s = hsum(acc);
}

/* q4_K / q5_K: 8 sub-blocks of 32; scales broadcast as int16 into madd, the mins through the
 * bsums (pairs of 16-element sums make the 32-element ones). */
static inline __m128i k4_mins_dot(uint64_t m, const el_block_q8_K *y) {
    const __m256i bs = x86_load256(y->bsums);
    const __m128i bs32 =
        _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
    return _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)m)), bs32);
}

static void dot_q4_K_q8_K(int n, float *s, const void *vx, const void *vy) {
    const el_block_q4_K *x = vx;
    const el_block_q8_K *y = vy;
    const int nb = n / EL_QK_K;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int i = 0; i < nb; i++) {
        uint64_t sc, m;
        x86_scale_min_k4(x[i].scales, &sc, &m);
        const __m256i sc16 =
            _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
        const uint8_t *q4 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++, q4 += 32, q8 += 64) {
            const __m256i q = x86_load256(q4);
            const __m256i lo = _mm256_and_si256(q, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            const __m256i pl = _mm256_maddubs_epi16(lo, x86_load256(q8));
            const __m256i ph = _mm256_maddubs_epi16(hi, x86_load256(q8 + 32));
            const __m256i sl =
                _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)((4 * j + 1) << 8 | 4 * j)));
            const __m256i sh = _mm256_shuffle_epi8(
                sc16, _mm256_set1_epi16((short)((4 * j + 3) << 8 | (4 * j + 2))));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(sl, pl));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(sh, ph));
        }
        const float d8 = y[i].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d8 * h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
        accm = _mm_fmadd_ps(_mm_set1_ps(d8 * h2f(x[i].dmin)),
                            _mm_cvtepi32_ps(k4_mins_dot(m, &y[i])), accm);
    }
    *s = hsum(acc) - x86_hsum_ps128(accm);
}

static void dot_q5_K_q8_K(int n, float *s, const void *vx, const void *vy) {
    const el_block_q5_K *x = vx;
    const el_block_q8_K *y = vy;
    const int nb = n / EL_QK_K;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m16 = _mm256_set1_epi8(0x10);
    __m256 acc = _mm256_setzero_ps();
    __m128 accm = _mm_setzero_ps();
    for (int i = 0; i < nb; i++) {
        uint64_t sc, m;
        x86_scale_min_k4(x[i].scales, &sc, &m);
        const __m256i sc16 =
            _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
        const uint8_t *q5 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        __m256i hb = x86_load256(x[i].qh); /* bit 2j / 2j+1 of qh[l], moved down to bit 0/1 */
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++, q5 += 32, q8 += 64) {
            const __m256i q = x86_load256(q5);
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4),
                                               _mm256_and_si256(_mm256_slli_epi16(hb, 4), m16));
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                                               _mm256_and_si256(_mm256_slli_epi16(hb, 3), m16));
            hb = _mm256_srli_epi16(hb, 2);
            const __m256i pl = _mm256_maddubs_epi16(lo, x86_load256(q8));
            const __m256i ph = _mm256_maddubs_epi16(hi, x86_load256(q8 + 32));
            const __m256i sl =
                _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)((4 * j + 1) << 8 | 4 * j)));
            const __m256i sh = _mm256_shuffle_epi8(
                sc16, _mm256_set1_epi16((short)((4 * j + 3) << 8 | (4 * j + 2))));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(sl, pl));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(sh, ph));
        }
        const float d8 = y[i].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d8 * h2f(x[i].d)), _mm256_cvtepi32_ps(sumi), acc);
        accm = _mm_fmadd_ps(_mm_set1_ps(d8 * h2f(x[i].dmin)),
                            _mm_cvtepi32_ps(k4_mins_dot(m, &y[i])), accm);
    }
    *s = hsum(acc) - x86_hsum_ps128(accm);
}

/* q6_K: u = 4 low bits | 2 high bits << 4 is 0..63 and the value u - 32; the -32 through
 * bsums as in q3_K. Per 128 elements: ql[0..31] low nibbles = elements 0..31, ql[32..63] low
 * = 32..63, ql[0..31] high = 64..95, ql[32..63] high = 96..127; qh bits 0-1, 2-3, 4-5, 6-7 in
 * the same order. */
static void dot_q6_K_q8_K(int n, float *s, const void *vx, const void *vy) {
    const el_block_q6_K *x = vx;
    const el_block_q8_K *y = vy;
    const int nb = n / EL_QK_K;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (int i = 0; i < nb; i++) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(x86_load128(x[i].scales));
        const pair_scales ps = pair_scales_make(sc16);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *q8 = y[i].qs;
        __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
        for (int c = 0; c < 2; c++, ql += 64, qh += 32, q8 += 128) {
            const __m256i a = x86_load256(ql), b = x86_load256(ql + 32), h = x86_load256(qh);
            const __m256i u0 =
                _mm256_or_si256(_mm256_and_si256(a, m4),
                                _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi8(0x03)), 4));
            const __m256i u1 =
                _mm256_or_si256(_mm256_and_si256(b, m4),
                                _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi8(0x0C)), 2));
            const __m256i u2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), m4),
                                               _mm256_and_si256(h, _mm256_set1_epi8(0x30)));
            const __m256i u3 = _mm256_or_si256(
                _mm256_and_si256(_mm256_srli_epi16(b, 4), m4),
                _mm256_srli_epi16(_mm256_and_si256(h, _mm256_set1_epi8((char)0xC0)), 2));
            const __m256i p0 = _mm256_maddubs_epi16(u0, x86_load256(q8));
            const __m256i p1 = _mm256_maddubs_epi16(u1, x86_load256(q8 + 32));
            const __m256i p2 = _mm256_maddubs_epi16(u2, x86_load256(q8 + 64));
            const __m256i p3 = _mm256_maddubs_epi16(u3, x86_load256(q8 + 96));
            sum0 = _mm256_add_epi32(sum0, _mm256_madd_epi16(pair_scales_get(&ps, 4 * c + 0), p0));
            sum1 = _mm256_add_epi32(sum1, _mm256_madd_epi16(pair_scales_get(&ps, 4 * c + 1), p1));
            sum0 = _mm256_add_epi32(sum0, _mm256_madd_epi16(pair_scales_get(&ps, 4 * c + 2), p2));
            sum1 = _mm256_add_epi32(sum1, _mm256_madd_epi16(pair_scales_get(&ps, 4 * c + 3), p3));
        }
        __m256i sumi = _mm256_add_epi32(sum0, sum1);
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(bsums_dot(sc16, &y[i]), 5));
        const __m256 d = _mm256_set1_ps(y[i].d * h2f(x[i].d));
        if (i & 1)
            acc1 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc1);
        else
            acc0 = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc0);
    }
    *s = hsum(_mm256_add_ps(acc0, acc1));
}

/* iq4_xs: table lookup as iq4_nl, 8 sub-blocks of 32 with 6-bit scales (stored + 32). */
static void dot_iq4_xs_q8_K(int n, float *s, const void *vx, const void *vy) {
    const el_block_iq4_xs *x = vx;
    const el_block_q8_K *y = vy;
    const int nb = n / EL_QK_K;
    const __m256i table = iq4_table();
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < nb; i++) {
        const uint16_t sh = (uint16_t)(x[i].scales_h[0] | x[i].scales_h[1] << 8);
        const uint8_t *qs = x[i].qs;
        const int8_t *q8 = y[i].qs;
        __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib += 2, qs += 32, q8 += 64) {
            const int ls0 = ((x[i].scales_l[ib / 2] & 0xF) | ((sh >> 2 * ib) & 3) << 4) - 32;
            const int ls1 = ((x[i].scales_l[ib / 2] >> 4) | ((sh >> (2 * ib + 2)) & 3) << 4) - 32;
            const __m256i v0 = _mm256_shuffle_epi8(table, x86_nibbles32(qs));
            const __m256i v1 = _mm256_shuffle_epi8(table, x86_nibbles32(qs + 16));
            const __m256i y0 = x86_load256(q8), y1 = x86_load256(q8 + 32);
            const __m256i p0 =
                _mm256_maddubs_epi16(_mm256_sign_epi8(v0, v0), _mm256_sign_epi8(y0, v0));
            const __m256i p1 =
                _mm256_maddubs_epi16(_mm256_sign_epi8(v1, v1), _mm256_sign_epi8(y1, v1));
            sum0 = _mm256_add_epi32(sum0, _mm256_madd_epi16(p0, _mm256_set1_epi16((short)ls0)));
            sum1 = _mm256_add_epi32(sum1, _mm256_madd_epi16(p1, _mm256_set1_epi16((short)ls1)));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[i].d) * y[i].d),
                              _mm256_cvtepi32_ps(_mm256_add_epi32(sum0, sum1)), acc);
    }
    *s = hsum(acc);
}

/* ======================================================================================== */
/* F32, F16, BF16                                                                             */
/* ======================================================================================== */

/* Four accumulators of 8 lanes hide the FMA latency; any n (these types have blck_size 1). */
static void dot_f32(int n, float *s, const void *vx, const void *vy) {
    const float *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    float sum = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++)
        sum += x[i] * y[i];
    *s = sum;
}

static inline __m256 load_f16(const el_fp16 *p) {
    return _mm256_cvtph_ps(x86_load128(p));
}

static void dot_f16(int n, float *s, const void *vx, const void *vy) {
    const el_fp16 *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(load_f16(x + i), load_f16(y + i), a0);
        a1 = _mm256_fmadd_ps(load_f16(x + i + 8), load_f16(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(load_f16(x + i + 16), load_f16(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(load_f16(x + i + 24), load_f16(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(load_f16(x + i), load_f16(y + i), a0);
    float sum = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++)
        sum += h2f(x[i]) * h2f(y[i]);
    *s = sum;
}

static inline __m256 load_bf16(const el_bf16 *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(x86_load128(p)), 16));
}

static void dot_bf16(int n, float *s, const void *vx, const void *vy) {
    const el_bf16 *x = vx, *y = vy;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(load_bf16(x + i), load_bf16(y + i), a0);
        a1 = _mm256_fmadd_ps(load_bf16(x + i + 8), load_bf16(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(load_bf16(x + i + 16), load_bf16(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(load_bf16(x + i + 24), load_bf16(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(load_bf16(x + i), load_bf16(y + i), a0);
    float sum = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++)
        sum += el_bf16_to_fp32(x[i]) * el_bf16_to_fp32(y[i]);
    *s = sum;
}

static void to_float_f16(const void *vx, float *y, int64_t k) {
    const el_fp16 *x = vx;
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        _mm256_storeu_ps(y + i, load_f16(x + i));
        _mm256_storeu_ps(y + i + 8, load_f16(x + i + 8));
    }
    for (; i < k; i++)
        y[i] = h2f(x[i]);
}

/* vcvtps2ph with round-to-nearest-even is el_fp32_to_fp16 bit for bit, NaN payloads and
 * subnormal results included. */
static void from_float_f16(const float *x, void *vy, int64_t k) {
    el_fp16 *y = vy;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8)
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < k; i++)
        y[i] = el_fp32_to_fp16(x[i]);
}

static void to_float_bf16(const void *vx, float *y, int64_t k) {
    const el_bf16 *x = vx;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8)
        _mm256_storeu_ps(y + i, load_bf16(x + i));
    for (; i < k; i++)
        y[i] = el_bf16_to_fp32(x[i]);
}

/* el_fp32_to_bf16 in integer lanes: round to nearest even, NaN kept quiet. */
static void from_float_bf16(const float *x, void *vy, int64_t k) {
    el_bf16 *y = vy;
    int64_t i = 0;
    const __m256i abs = _mm256_set1_epi32(0x7FFFFFFF), inf = _mm256_set1_epi32(0x7F800000);
    for (; i + 16 <= k; i += 16) {
        __m256i r[2];
        for (int h = 0; h < 2; h++) {
            const __m256i u = _mm256_castps_si256(_mm256_loadu_ps(x + i + 8 * h));
            const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
            const __m256i rounded = _mm256_srli_epi32(
                _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7FFF), odd)), 16);
            const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs), inf);
            const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
            r[h] = _mm256_blendv_epi8(rounded, quiet, nan);
        }
        /* 16 values < 65536 in two int32 vectors -> 16 uint16 in order */
        const __m256i p = _mm256_packus_epi32(r[0], r[1]);
        _mm256_storeu_si256((__m256i *)(y + i), _mm256_permute4x64_epi64(p, 0xD8));
    }
    for (; i < k; i++)
        y[i] = el_fp32_to_bf16(x[i]);
}

/* ======================================================================================== */
/* activation quantizers                                                                      */
/* ======================================================================================== */

/* Largest |x| over 32 floats: max is exact, so this is the reference's amax for finite x. */
static inline float amax32(const float *x, __m256 v[4]) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < 4; j++) {
        v[j] = _mm256_loadu_ps(x + 8 * j);
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[j]));
    }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

/* 32 floats * id rounded as roundf -> int32 lanes q[4]; returns them packed to int8. */
static inline __m256i quantize32_q8(const __m256 v[4], float id, __m256i q[4]) {
    const __m256 vid = _mm256_set1_ps(id);
    for (int j = 0; j < 4; j++)
        q[j] = _mm256_cvttps_epi32(x86_round_away(_mm256_mul_ps(v[j], vid)));
    return x86_pack_i32_i8(q[0], q[1], q[2], q[3]);
}

static void from_float_q8_0(const float *x, void *vy, int64_t k) {
    el_block_q8_0 *y = vy;
    for (int64_t i = 0; i < k / EL_QK8_0; i++, x += EL_QK8_0) {
        __m256 v[4];
        __m256i q[4];
        const float d = amax32(x, v) / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = el_fp32_to_fp16(d);
        _mm256_storeu_si256((__m256i *)y[i].qs, quantize32_q8(v, id, q));
    }
}

static void from_float_q8_1(const float *x, void *vy, int64_t k) {
    el_block_q8_1 *y = vy;
    for (int64_t i = 0; i < k / EL_QK8_1; i++, x += EL_QK8_1) {
        __m256 v[4];
        __m256i q[4];
        const float d = amax32(x, v) / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = el_fp32_to_fp16(d);
        _mm256_storeu_si256((__m256i *)y[i].qs, quantize32_q8(v, id, q));
        const int sum = x86_hsum_epi32(
            _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
        y[i].s = el_fp32_to_fp16(sum * d);
    }
}

/* Q8_K: the element of largest magnitude (the first one on ties, as the reference's strict
 * `>`) sets iscale = -127 / max; quants round to nearest even (cvtps2dq in the default MXCSR
 * mode == the reference's nearest_int for |v| <= 127). */
static void from_float_q8_K(const float *x, void *vy, int64_t k) {
    el_block_q8_K *y = vy;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < k / EL_QK_K; i++, x += EL_QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < EL_QK_K; j += 8)
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float amax = _mm_cvtss_f32(h);
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        float max = 0;
        const __m256 va = _mm256_set1_ps(amax);
        for (int j = 0; j < EL_QK_K; j += 8) {
            const __m256 eq =
                _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), va, _CMP_EQ_OQ);
            const int bits = _mm256_movemask_ps(eq);
            if (bits) {
                max = x[j + __builtin_ctz((unsigned)bits)];
                break;
            }
        }
        const float iscale = -127.f / max;
        const __m256 vs = _mm256_set1_ps(iscale);
        for (int j = 0; j < EL_QK_K; j += 32) {
            __m256i q[4];
            for (int t = 0; t < 4; t++)
                q[t] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + j + 8 * t), vs));
            const __m256i b = x86_pack_i32_i8(q[0], q[1], q[2], q[3]);
            _mm256_storeu_si256((__m256i *)(y[i].qs + j), b);
            /* two 16-element sums: int32 lanes of q[0]+q[1] and q[2]+q[3] */
            y[i].bsums[j / 16] = (int16_t)x86_hsum_epi32(_mm256_add_epi32(q[0], q[1]));
            y[i].bsums[j / 16 + 1] = (int16_t)x86_hsum_epi32(_mm256_add_epi32(q[2], q[3]));
        }
        y[i].d = 1 / iscale;
    }
}

/* ======================================================================================== */

void el_kernels_fill_avx2(el_quant_kernels *k) {
    k[EL_TYPE_F32].vec_dot = dot_f32;
    k[EL_TYPE_F16].vec_dot = dot_f16;
    k[EL_TYPE_F16].to_float = to_float_f16;
    k[EL_TYPE_F16].from_float = from_float_f16;
    k[EL_TYPE_BF16].vec_dot = dot_bf16;
    k[EL_TYPE_BF16].to_float = to_float_bf16;
    k[EL_TYPE_BF16].from_float = from_float_bf16;
    k[EL_TYPE_Q4_0].vec_dot = dot_q4_0_q8_0;
    k[EL_TYPE_Q4_1].vec_dot = dot_q4_1_q8_1;
    k[EL_TYPE_Q5_0].vec_dot = dot_q5_0_q8_0;
    k[EL_TYPE_Q5_1].vec_dot = dot_q5_1_q8_1;
    k[EL_TYPE_Q8_0].vec_dot = dot_q8_0_q8_0;
    k[EL_TYPE_Q8_0].from_float = from_float_q8_0;
    k[EL_TYPE_Q8_1].from_float = from_float_q8_1;
    k[EL_TYPE_Q8_K].from_float = from_float_q8_K;
    k[EL_TYPE_IQ4_NL].vec_dot = dot_iq4_nl_q8_0;
    k[EL_TYPE_Q2_K].vec_dot = dot_q2_K_q8_K;
    k[EL_TYPE_Q3_K].vec_dot = dot_q3_K_q8_K;
    k[EL_TYPE_Q4_K].vec_dot = dot_q4_K_q8_K;
    k[EL_TYPE_Q5_K].vec_dot = dot_q5_K_q8_K;
    k[EL_TYPE_Q6_K].vec_dot = dot_q6_K_q8_K;
    k[EL_TYPE_IQ4_XS].vec_dot = dot_iq4_xs_q8_K;
}
