/* kernels/x86/x86_simd.h — small AVX2 building blocks shared by quants_avx2.c and
 * quants_avx512.c. Everything is static inline and compiled with the including file's ISA
 * flags, so only files built with at least -mavx2 -mfma -mf16c may include it.
 *
 * Where a helper has a VNNI form it is chosen at compile time (__AVX512VNNI__), which is how
 * quants_ymm.inc becomes two kernel sets.
 *
 * Loads are unaligned (block fields sit at odd offsets: a q4_0 block is 18 bytes) and never
 * touch a byte outside the block field they name. */
#ifndef EL_X86_SIMD_H
#define EL_X86_SIMD_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/quants.h"

/* Full unrolling of the short fixed loops inside a block: their trip counts select lanes and
 * shifts, which are only constants once unrolled. */
#define EL_UNROLL _Pragma("GCC unroll 8")

static inline float x86_hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float x86_hsum_ps128(__m128 s) {
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline int32_t x86_hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* Exact fp16 -> fp32 (F16C). */
static inline float x86_h2f(el_fp16 h) {
    return _cvtsh_ss(h);
}

static inline __m256i x86_load256(const void *p) {
    return _mm256_loadu_si256((const __m256i *)p);
}
static inline __m128i x86_load128(const void *p) {
    return _mm_loadu_si128((const __m128i *)p);
}

/* 16 bytes of packed nibbles -> 32 bytes 0..15: low nibbles (elements 0..15) in the low
 * 128-bit lane, high nibbles (elements 16..31) in the high lane — the order of q4_0 and its
 * relatives. */
static inline __m256i x86_nibbles32(const uint8_t *p) {
    const __m128i t = x86_load128(p);
    const __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

/* 4 bytes = 32 bits (little-endian) -> 32 bytes, 0xFF where bit j is set, else 0x00. */
static inline __m256i x86_bits32(const uint8_t *p) {
    uint32_t w;
    memcpy(&w, p, 4);
    /* byte j of the result starts as byte j/8 of w ... */
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32((int)w), _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                     0x0101010101010101, 0x0000000000000000));
    /* ... and keeps bit j%8 of it */
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

/* 8 partial sums (int32) of x[j]*y[j] over 32 int8 pairs. x and y in -127..127 (the sign
 * trick: |x| * (y with x's sign), as maddubs / dpbusd want unsigned * signed; pair sums stay
 * below 2*127*127 < 32767, so maddubs never saturates). With AVX512-VNNI (+VL) one vpdpbusd
 * replaces maddubs + madd. */
static inline __m256i x86_dot_i8(__m256i x, __m256i y) {
    const __m256i ax = _mm256_sign_epi8(x, x), sy = _mm256_sign_epi8(y, x);
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sy);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
#endif
}

/* Same for unsigned x (0..127) and signed y. */
static inline __m256i x86_dot_u8i8(__m256i x, __m256i y) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), x, y);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), _mm256_set1_epi16(1));
#endif
}

/* 8 partial sums of (u[j] - c[j]) * y[j]: u, c unsigned (0..63), y signed. The offset is
 * taken off after the multiply, which costs one multiply instead of the sign trick's two
 * sign operations (pair sums stay below 2*63*127, no saturation). */
static inline __m256i x86_dot_off_u8i8(__m256i u, __m256i c, __m256i y) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    const __m256i z = _mm256_setzero_si256();
    return _mm256_sub_epi32(_mm256_dpbusd_epi32(z, u, y), _mm256_dpbusd_epi32(z, c, y));
#else
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(u, y), _mm256_maddubs_epi16(c, y));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
#endif
}

/* acc + the int16 pair products a*b summed into int32 lanes (vpdpwssd with VNNI). */
static inline __m256i x86_mac_i16(__m256i acc, __m256i a, __m256i b) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpwssd_epi32(acc, a, b);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

/* Four vectors of 8 int32 (each within int8 range) -> 32 int8 in order a, b, c, d. */
static inline __m256i x86_pack_i32_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_packs_epi32(a, b); /* a0-3 b0-3 | a4-7 b4-7 (int16) */
    const __m256i cd = _mm256_packs_epi32(c, d);
    const __m256i v = _mm256_packs_epi16(ab, cd); /* dwords: a0-3 b0-3 c0-3 d0-3 | a4-7 ... */
    return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* roundf() on 8 lanes: nearest, ties away from zero (what the reference Q8_0/Q8_1
 * quantizers use). v - trunc(v) is exact, so the tie test is exact too. */
static inline __m256 x86_round_away(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(up, one));
}

/* Unpacks the 8 six-bit scales and 8 mins of a q4_K / q5_K block (el_quants_scale_min_k4 for
 * all j at once) into sc[0..7], m[0..7], as two little-endian 64-bit words. */
static inline void x86_scale_min_k4(const uint8_t *q, uint64_t *sc, uint64_t *m) {
    uint32_t w0, w1, w2;
    memcpy(&w0, q, 4);
    memcpy(&w1, q + 4, 4);
    memcpy(&w2, q + 8, 4);
    /* j < 4: low 6 bits of bytes 0..3 / 4..7; j >= 4: a nibble of bytes 8..11 plus the top
     * 2 bits of bytes 0..3 / 4..7 ((b >> 6) << 4 == (b >> 2) & 0x30 bytewise) */
    const uint32_t sc_lo = w0 & 0x3F3F3F3Fu, m_lo = w1 & 0x3F3F3F3Fu;
    const uint32_t sc_hi = (w2 & 0x0F0F0F0Fu) | ((w0 >> 2) & 0x30303030u);
    const uint32_t m_hi = ((w2 >> 4) & 0x0F0F0F0Fu) | ((w1 >> 2) & 0x30303030u);
    *sc = (uint64_t)sc_lo | (uint64_t)sc_hi << 32;
    *m = (uint64_t)m_lo | (uint64_t)m_hi << 32;
}

/* The 16 signed 6-bit scales of a q3_K block (-32..31), as 16 int8 in a vector. */
static inline __m128i x86_scales_q3_K(const uint8_t *q) {
    uint32_t w0, w1, w2;
    memcpy(&w0, q, 4);
    memcpy(&w1, q + 4, 4);
    memcpy(&w2, q + 8, 4);
    /* sub-block j: low nibble from byte j (j < 8) or the high nibble of byte j-8; the top two
     * bits from byte 8 + j%4 at bit 2*(j/4). Bytewise, four sub-blocks per 32-bit word. */
    const uint32_t lo = 0x0F0F0F0Fu, hi = 0x30303030u;
    const uint32_t s0 = (w0 & lo) | ((w2 << 4) & hi);
    const uint32_t s1 = (w1 & lo) | ((w2 << 2) & hi);
    const uint32_t s2 = ((w0 >> 4) & lo) | (w2 & hi);
    const uint32_t s3 = ((w1 >> 4) & lo) | ((w2 >> 2) & hi);
    return _mm_sub_epi8(_mm_setr_epi32((int)s0, (int)s1, (int)s2, (int)s3), _mm_set1_epi8(32));
}

/* _mm256_shuffle_epi8 masks that broadcast one int16 lane of each 128-bit half:
 * x86_lane_pair_mask[a] takes lane a into the low half and lane a+1 into the high half
 * (a = 0, 2, 4, 6 -> index a/2); x86_lane_mask[a] takes lane a into both halves. Tables, not
 * computed: a loop-dependent _mm256_setr_epi16 costs a dozen instructions per use. */
#define X86_W(a) (int8_t)(2 * (a)), (int8_t)(2 * (a) + 1)
#define X86_W8(a) X86_W(a), X86_W(a), X86_W(a), X86_W(a), X86_W(a), X86_W(a), X86_W(a), X86_W(a)
static const int8_t x86_lane_pair_mask[4][32] __attribute__((aligned(32))) = {
    {X86_W8(0), X86_W8(1)}, {X86_W8(2), X86_W8(3)}, {X86_W8(4), X86_W8(5)}, {X86_W8(6), X86_W8(7)}};
static const int8_t x86_lane_mask[8][32] __attribute__((aligned(32))) = {
    {X86_W8(0), X86_W8(0)}, {X86_W8(1), X86_W8(1)}, {X86_W8(2), X86_W8(2)}, {X86_W8(3), X86_W8(3)},
    {X86_W8(4), X86_W8(4)}, {X86_W8(5), X86_W8(5)}, {X86_W8(6), X86_W8(6)}, {X86_W8(7), X86_W8(7)}};
#undef X86_W8
#undef X86_W

/* int16 lanes 0..7 of each half of v (the same 8 in both halves), lane a broadcast */
static inline __m256i x86_bcast_lane16(__m256i v, int a) {
    return _mm256_shuffle_epi8(v, x86_load256(x86_lane_mask[a]));
}

#endif
