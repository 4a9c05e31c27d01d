/* kernels/x86/gemm_avx512.c — the AVX-512 level's tile kernels: 16 weight rows (zmm lanes) x
 * 16 activation columns, each step of four int8 products per lane one vpdpbusd.
 *
 * What it owns: prefill's matrix products on x86 with AVX-512 (Zen 4, Sapphire Rapids). The
 * layout and arithmetic are gemm_ymm.inc's (lanes = weight rows, unsigned weights with the
 * offset taken off through the activation's block sums; read its header), here with 16 rows
 * per register: the per-column work of a block (its sum, its scale, the K-quants' bsums
 * terms) is paid once for 16 rows instead of 8, and 32 zmm registers hold 16 columns'
 * accumulators. On Zen 4, where a zmm operation costs two ymm ones, that still measured
 * faster than gemm_ymm.inc's 8-row tiles compiled here (bench/gemm.c, 2048 x 2048 x 64
 * columns, GMAC/s of one thread: ymm 8x8 -> zmm 16x16: q4_0 72 -> 106, q5_0 66 -> 97, q8_0 71
 * -> 107, q4_K 120 -> 124, q6_K 83 -> 102; 16x8 / 16x12 were in between, and gathers for the
 * per-row scales measured no faster than scalar loads). f16 keeps gemm_ymm.inc's ymm tile
 * (lanes = elements). Nothing allocates; the K-quant tile has a ~5 KiB stack buffer.
 */
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/quants.h"
#include "kernels/repack.h"
#include "kernels/x86/x86_simd.h"

#include "kernels/x86/gemm_ymm.inc"

#define ZNCMAX 16

/* ======================================================================================== */
/* 32-element blocks in zmm: 16 rows per tile                                                 */
/* ======================================================================================== */

/* The ymm tiles above (8 rows) spend about as many instructions per (column, block) on the
 * column's side (its block sum for the offset, its scale) as on the 8 vpdpbusd; a zmm tile of
 * 16 rows pays that side once for twice the rows. Same layout and arithmetic as gemm_ymm.inc's
 * tile_b32 (lanes = rows, unsigned weights, offset times the block sum), VNNI only. */

#define ZMR 16

typedef struct {
    const uint8_t *p[ZMR];
} zrows;

GEMM_INLINE zrows zrows_of(const void *x, size_t bx, int nr) {
    zrows r;
    GEMM_UNROLL
    for (int i = 0; i < ZMR; i++)
        r.p[i] = (const uint8_t *)x + (size_t)(i < nr ? i : nr - 1) * bx;
    return r;
}

/* 16 rows' 16 bytes at byte offset off -> v[k], lane r = dword k of row r's 16 bytes. */
GEMM_INLINE void ztranspose_16x4(const zrows *r, size_t off, __m512i v[4]) {
    __m512i a[4];
    GEMM_UNROLL
    for (int i = 0; i < 4; i++) {
        __m512i t = _mm512_castsi128_si512(x86_load128(r->p[i] + off));
        t = _mm512_inserti32x4(t, x86_load128(r->p[i + 4] + off), 1);
        t = _mm512_inserti32x4(t, x86_load128(r->p[i + 8] + off), 2);
        a[i] = _mm512_inserti32x4(t, x86_load128(r->p[i + 12] + off), 3);
    }
    const __m512i t0 = _mm512_unpacklo_epi32(a[0], a[1]), t1 = _mm512_unpackhi_epi32(a[0], a[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(a[2], a[3]), t3 = _mm512_unpackhi_epi32(a[2], a[3]);
    v[0] = _mm512_unpacklo_epi64(t0, t2);
    v[1] = _mm512_unpackhi_epi64(t0, t2);
    v[2] = _mm512_unpacklo_epi64(t1, t3);
    v[3] = _mm512_unpackhi_epi64(t1, t3);
}

/* The 32-bit word at byte offset off of each of the 16 rows (a gather measured no faster). */
GEMM_INLINE __m512i zu32x16(const zrows *r, size_t off) {
    int v[ZMR];
    GEMM_UNROLL
    for (int i = 0; i < ZMR; i++)
        memcpy(&v[i], r->p[i] + off, 4);
    return _mm512_loadu_si512(v);
}

/* The fp16 at byte offset off of each of the 16 rows, as floats (reads only those 2 bytes:
 * q6_K's d ends its block). */
GEMM_INLINE __m512 zh16(const zrows *r, size_t off) {
    el_fp16 h[ZMR];
    GEMM_UNROLL
    for (int i = 0; i < ZMR; i++)
        memcpy(&h[i], r->p[i] + off, 2);
    return _mm512_cvtph_ps(x86_load256(h));
}

/* q5: bit 4g + i of each lane's qh (h, lane r = row r's 32 bits) -> 16 into byte i of step g */
GEMM_INLINE void zq5_high(__m512i w[8], __m512i h) {
    const __m512i c16 = _mm512_set1_epi8(0x10);
    GEMM_UNROLL
    for (int g = 0; g < 8; g++) {
        const __m512i sel = _mm512_broadcast_i32x4(
            _mm256_castsi256_si128(gemm_dword_ctl(g / 2, g / 2, g / 2, g / 2)));
        const __m512i bits = _mm512_set1_epi32(g % 2 ? (int)0x80402010 : 0x08040201);
        const __mmask64 k = _mm512_test_epi8_mask(_mm512_shuffle_epi8(h, sel), bits);
        w[g] = _mm512_mask_add_epi8(w[g], k, w[g], c16);
    }
}

GEMM_INLINE void zb32_values(const zrows *r, int b, const int T, __m512i w[8]) {
    const size_t ob = (size_t)b * b32_size(T);
    if (T == EL_TYPE_Q8_0) {
        ztranspose_16x4(r, ob + offsetof(el_block_q8_0, qs), w);
        ztranspose_16x4(r, ob + offsetof(el_block_q8_0, qs) + 16, w + 4);
        GEMM_UNROLL
        for (int g = 0; g < 8; g++)
            w[g] = _mm512_xor_si512(w[g], _mm512_set1_epi8((char)0x80));
        return;
    }
    size_t qs = offsetof(el_block_q4_0, qs);
    if (T == EL_TYPE_Q5_0) qs = offsetof(el_block_q5_0, qs);
    if (T == EL_TYPE_IQ4_NL) qs = offsetof(el_block_iq4_nl, qs);
    if (T == EL_TYPE_Q4_1) qs = offsetof(el_block_q4_1, qs);
    if (T == EL_TYPE_Q5_1) qs = offsetof(el_block_q5_1, qs);
    __m512i v[4];
    ztranspose_16x4(r, ob + qs, v);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    GEMM_UNROLL
    for (int k = 0; k < 4; k++) {
        w[k] = _mm512_and_si512(v[k], m4);
        w[k + 4] = _mm512_and_si512(_mm512_srli_epi16(v[k], 4), m4);
    }
    if (B32_Q5(T))
        zq5_high(w, zu32x16(r, ob + (T == EL_TYPE_Q5_0 ? offsetof(el_block_q5_0, qh)
                                                       : offsetof(el_block_q5_1, qh))));
    if (T == EL_TYPE_IQ4_NL) {
        const __m512i table = _mm512_xor_si512(
            _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)el_kvalues_iq4nl)),
            _mm512_set1_epi8((char)0x80));
        GEMM_UNROLL
        for (int g = 0; g < 8; g++)
            w[g] = _mm512_shuffle_epi8(table, w[g]);
    }
}

GEMM_INLINE __m512i zbcast32(const void *p) {
    int v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

GEMM_INLINE void zstore(float *s, __m512 v, int nr) {
    if (nr == ZMR)
        _mm512_storeu_ps(s, v);
    else
        _mm512_mask_storeu_ps(s, (__mmask16)((1u << nr) - 1), v);
}

/* Packed blocks (kernels/repack.h), two groups per zmm: lanes 0..7 from the group at r->p[0],
 * 8..15 from the one at r->p[1]; w[] and the scales as zb32_values / zh16 give them. */
GEMM_INLINE __m512i zpair(const zrows *r, size_t off) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(x86_load256(r->p[0] + off)),
                              x86_load256(r->p[1] + off), 1);
}
GEMM_INLINE void zb32_values_x8(const zrows *r, int b, const int T, __m512i w[8], __m512 *dx) {
    const size_t ob = (size_t)b * GEMM_MR * b32_size(T);
    *dx = _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(x86_load128(r->p[0] + ob)),
                                                  x86_load128(r->p[1] + ob), 1));
    if (T == EL_TYPE_Q8_0) {
        GEMM_UNROLL
        for (int k = 0; k < 8; k++)
            w[k] = _mm512_xor_si512(zpair(r, ob + offsetof(el_block_q8_0x8, qs) + 32 * (size_t)k),
                                    _mm512_set1_epi8((char)0x80));
        return;
    }
    const size_t qs =
        T == EL_TYPE_Q5_0 ? offsetof(el_block_q5_0x8, qs) : offsetof(el_block_q4_0x8, qs);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    GEMM_UNROLL
    for (int k = 0; k < 4; k++) {
        const __m512i v = zpair(r, ob + qs + 32 * (size_t)k);
        w[k] = _mm512_and_si512(v, m4);
        w[k + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
    }
    if (T == EL_TYPE_Q5_0) zq5_high(w, zpair(r, ob + offsetof(el_block_q5_0x8, qh)));
}

/* P: r->p[0], r->p[1] are two packed groups (q4_0x8) rather than 16 row pointers. */
GEMM_INLINE void ztile_b32_of(int n, float *s, size_t bs, const zrows *r, int nr, const uint8_t *y,
                              size_t by, const int NC, const int T, const int P) {
    const int nb = n / 32;
    const size_t xb = b32_size(T);
    const int off = T == EL_TYPE_Q4_0 ? 8 : T == EL_TYPE_Q5_0 ? 16 : B32_SIGNED(T) ? 128 : 0;
    const __m256i coff = _mm256_set1_epi8((char)off);
    __m512 acc[ZNCMAX];
    GEMM_UNROLL
    for (int c = 0; c < NC; c++)
        acc[c] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m512i w[8];
        __m512 dx;
        if (P) {
            zb32_values_x8(r, b, T, w, &dx);
        } else {
            zb32_values(r, b, T, w);
            dx = zh16(r, (size_t)b * xb);
        }
        __m512 mx = _mm512_setzero_ps();
        if (B32_MIN(T)) mx = zh16(r, (size_t)b * xb + 2);
        GEMM_UNROLL
        for (int c = 0; c < NC; c++) {
            const uint8_t *yc = y + (size_t)c * by;
            const int8_t *q;
            float dy, sy = 0;
            if (B32_MIN(T)) {
                const el_block_q8_1 *yb = (const el_block_q8_1 *)yc + b;
                q = yb->qs;
                dy = x86_h2f(yb->d);
                sy = x86_h2f(yb->s);
            } else {
                const el_block_q8_0 *yb = (const el_block_q8_0 *)yc + b;
                q = yb->qs;
                dy = x86_h2f(yb->d);
            }
            __m512i p = _mm512_setzero_si512();
            GEMM_UNROLL
            for (int g = 0; g < 8; g++)
                p = _mm512_dpbusd_epi32(p, w[g], zbcast32(q + 4 * g));
            if (off)
                p = _mm512_sub_epi32(
                    p, _mm512_broadcastd_epi32(_mm256_castsi256_si128(gemm_ysum(q, coff))));
            const __m512 d = _mm512_mul_ps(dx, _mm512_set1_ps(dy));
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), d, acc[c]);
            if (B32_MIN(T)) acc[c] = _mm512_fmadd_ps(mx, _mm512_set1_ps(sy), acc[c]);
        }
    }
    GEMM_UNROLL
    for (int c = 0; c < NC; c++)
        zstore(s + (size_t)c * bs, acc[c], nr);
}

GEMM_INLINE void ztile_b32(int n, float *s, size_t bs, const zrows *r, int nr, const uint8_t *y,
                           size_t by, const int NC, const int T) {
    ztile_b32_of(n, s, bs, r, nr, y, by, NC, T, 0);
}
GEMM_INLINE void ztile_x8(int n, float *s, size_t bs, const zrows *r, int nr, const uint8_t *y,
                          size_t by, const int NC, const int T) {
    ztile_b32_of(n, s, bs, r, nr, y, by, NC, T, 1);
}

/* ======================================================================================== */
/* K-quants in zmm: 16 rows per tile                                                          */
/* ======================================================================================== */

/* gemm_ymm.inc's tile_kq for 16 rows: a 256-element block of 16 rows unpacked once into a
 * stack buffer, then every column runs over it; the per-column side (mins or offset from
 * bsums, scales) is paid once for 16 rows. */
typedef struct {
    __m512i w[64];  /* step g: elements 4g..4g+3, lane r = row r, unsigned */
    __m512i sc[16]; /* sub-block scales, int32 lanes */
    __m512i mn[8];  /* int16 pairs per lane for the bsums term */
    __m512 d, dmin;
} zkq_block;

/* 32 bytes at off of 16 rows -> v[k] (k < 8) */
GEMM_INLINE void ztranspose_16x8(const zrows *r, size_t off, __m512i v[8]) {
    ztranspose_16x4(r, off, v);
    ztranspose_16x4(r, off + 16, v + 4);
}

GEMM_INLINE __m512i zctl(int b0, int b1, int b2, int b3) {
    return _mm512_broadcast_i32x4(_mm256_castsi256_si128(gemm_dword_ctl(b0, b1, b2, b3)));
}

GEMM_INLINE void zkq_scales_k4(const zrows *r, size_t ob, zkq_block *kb) {
    kb->d = zh16(r, ob);
    kb->dmin = zh16(r, ob + 2);
    __m512i v[4];
    ztranspose_16x4(r, ob + 4, v);
    const __m512i m6 = _mm512_set1_epi8(0x3F), m4 = _mm512_set1_epi8(0x0F);
    const __m512i m30 = _mm512_set1_epi8(0x30);
    const __m512i sc_lo = _mm512_and_si512(v[0], m6), m_lo = _mm512_and_si512(v[1], m6);
    const __m512i sc_hi = _mm512_or_si512(_mm512_and_si512(v[2], m4),
                                          _mm512_and_si512(_mm512_srli_epi32(v[0], 2), m30));
    const __m512i m_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(v[2], 4), m4),
                                         _mm512_and_si512(_mm512_srli_epi32(v[1], 2), m30));
    GEMM_UNROLL
    for (int j = 0; j < 4; j++) {
        kb->sc[j] = _mm512_shuffle_epi8(sc_lo, zctl(j, -1, -1, -1));
        kb->sc[j + 4] = _mm512_shuffle_epi8(sc_hi, zctl(j, -1, -1, -1));
    }
    kb->mn[0] = _mm512_shuffle_epi8(m_lo, zctl(0, -1, 1, -1));
    kb->mn[1] = _mm512_shuffle_epi8(m_lo, zctl(2, -1, 3, -1));
    kb->mn[2] = _mm512_shuffle_epi8(m_hi, zctl(0, -1, 1, -1));
    kb->mn[3] = _mm512_shuffle_epi8(m_hi, zctl(2, -1, 3, -1));
}

GEMM_INLINE __m512i zbit_to_4(__m512i v, int bit) {
    const __m512i t = bit <= 4 ? _mm512_slli_epi16(v, 4 - bit) : _mm512_srli_epi16(v, bit - 4);
    return _mm512_and_si512(t, _mm512_set1_epi8(0x10));
}

GEMM_INLINE void zkq_unpack(const zrows *r, int b, zkq_block *kb, const int T) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    if (T == EL_TYPE_Q4_K || T == EL_TYPE_Q5_K) {
        const size_t ob =
            (size_t)b * (T == EL_TYPE_Q4_K ? sizeof(el_block_q4_K) : sizeof(el_block_q5_K));
        const size_t qs =
            T == EL_TYPE_Q4_K ? offsetof(el_block_q4_K, qs) : offsetof(el_block_q5_K, qs);
        zkq_scales_k4(r, ob, kb);
        __m512i h[8];
        if (T == EL_TYPE_Q5_K) ztranspose_16x8(r, ob + offsetof(el_block_q5_K, qh), h);
        GEMM_UNROLL
        for (int c = 0; c < 4; c++) {
            __m512i v[8];
            ztranspose_16x8(r, ob + qs + 32 * (size_t)c, v);
            GEMM_UNROLL
            for (int k = 0; k < 8; k++) {
                __m512i lo = _mm512_and_si512(v[k], m4);
                __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v[k], 4), m4);
                if (T == EL_TYPE_Q5_K) {
                    lo = _mm512_or_si512(lo, zbit_to_4(h[k], 2 * c));
                    hi = _mm512_or_si512(hi, zbit_to_4(h[k], 2 * c + 1));
                }
                kb->w[16 * c + k] = lo;
                kb->w[16 * c + 8 + k] = hi;
            }
        }
        return;
    }
    /* q6_K */
    const size_t ob = (size_t)b * sizeof(el_block_q6_K);
    kb->d = zh16(r, ob + offsetof(el_block_q6_K, d));
    kb->dmin = _mm512_setzero_ps();
    __m512i v[4];
    ztranspose_16x4(r, ob + offsetof(el_block_q6_K, scales), v);
    GEMM_UNROLL
    for (int q = 0; q < 4; q++) {
        GEMM_UNROLL
        for (int i = 0; i < 4; i++)
            kb->sc[4 * q + i] = _mm512_srai_epi32(_mm512_slli_epi32(v[q], 24 - 8 * i), 24);
        kb->mn[2 * q] = _mm512_srai_epi16(_mm512_shuffle_epi8(v[q], zctl(-1, 0, -1, 1)), 8);
        kb->mn[2 * q + 1] = _mm512_srai_epi16(_mm512_shuffle_epi8(v[q], zctl(-1, 2, -1, 3)), 8);
    }
    GEMM_UNROLL
    for (int h = 0; h < 2; h++) {
        __m512i a[8], c[8], hb[8];
        ztranspose_16x8(r, ob + offsetof(el_block_q6_K, ql) + 64 * (size_t)h, a);
        ztranspose_16x8(r, ob + offsetof(el_block_q6_K, ql) + 64 * (size_t)h + 32, c);
        ztranspose_16x8(r, ob + offsetof(el_block_q6_K, qh) + 32 * (size_t)h, hb);
        GEMM_UNROLL
        for (int k = 0; k < 8; k++) {
            __m512i *w = kb->w + 32 * h + k;
            w[0] = _mm512_or_si512(_mm512_and_si512(a[k], m4),
                                   _mm512_and_si512(_mm512_slli_epi16(hb[k], 4), m30));
            w[8] = _mm512_or_si512(_mm512_and_si512(c[k], m4),
                                   _mm512_and_si512(_mm512_slli_epi16(hb[k], 2), m30));
            w[16] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(a[k], 4), m4),
                                    _mm512_and_si512(hb[k], m30));
            w[24] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(c[k], 4), m4),
                                    _mm512_and_si512(_mm512_srli_epi16(hb[k], 2), m30));
        }
    }
}

GEMM_INLINE void ztile_kq(int n, float *s, size_t bs, const zrows *r, int nr, const uint8_t *y,
                          size_t by, const int NC, const int T) {
    const int nb = n / EL_QK_K;
    const int NSUB = T == EL_TYPE_Q6_K ? 16 : 8, SPS = 64 / NSUB;
    __m512 acc[ZNCMAX];
    GEMM_UNROLL
    for (int c = 0; c < NC; c++)
        acc[c] = _mm512_setzero_ps();
    zkq_block kb;
    for (int b = 0; b < nb; b++) {
        zkq_unpack(r, b, &kb, T);
        const el_block_q8_K *yb[ZNCMAX];
        GEMM_UNROLL
        for (int c = 0; c < NC; c++)
            yb[c] = (const el_block_q8_K *)(y + (size_t)c * by) + b;
        /* columns in groups of 8: a group's sub-block and block sums stay in registers */
        __m512i isum[ZNCMAX];
        GEMM_UNROLL
        for (int c0 = 0; c0 < NC; c0 += 8) {
            const int ng = NC - c0 < 8 ? NC - c0 : 8;
            GEMM_UNROLL
            for (int c = 0; c < ng; c++)
                isum[c0 + c] = _mm512_setzero_si512();
            for (int j = 0; j < NSUB; j++) {
                __m512i p[8];
                GEMM_UNROLL
                for (int c = 0; c < ng; c++)
                    p[c] = _mm512_setzero_si512();
                GEMM_UNROLL
                for (int k = 0; k < SPS; k++) {
                    const __m512i w = kb.w[j * SPS + k];
                    GEMM_UNROLL
                    for (int c = 0; c < ng; c++)
                        p[c] = _mm512_dpbusd_epi32(p[c], w,
                                                   zbcast32(yb[c0 + c]->qs + 4 * (j * SPS + k)));
                }
                GEMM_UNROLL
                for (int c = 0; c < ng; c++)
                    isum[c0 + c] =
                        _mm512_add_epi32(isum[c0 + c], _mm512_mullo_epi32(p[c], kb.sc[j]));
            }
        }
        GEMM_UNROLL
        for (int c = 0; c < NC; c++) {
            const __m512 dy = _mm512_set1_ps(yb[c]->d);
            if (T == EL_TYPE_Q6_K) {
                __m512i o = _mm512_madd_epi16(kb.mn[0], zbcast32(yb[c]->bsums));
                GEMM_UNROLL
                for (int i = 1; i < 8; i++)
                    o = _mm512_dpwssd_epi32(o, kb.mn[i], zbcast32(yb[c]->bsums + 2 * i));
                const __m512i p = _mm512_sub_epi32(isum[c], _mm512_slli_epi32(o, 5));
                acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(kb.d, dy), acc[c]);
            } else {
                const __m256i b32 =
                    _mm256_madd_epi16(x86_load256(yb[c]->bsums), _mm256_set1_epi16(1));
                const __m256i pk = _mm256_packs_epi32(b32, b32);
                __m512i m =
                    _mm512_madd_epi16(kb.mn[0], _mm512_set1_epi32(_mm256_extract_epi32(pk, 0)));
                m = _mm512_dpwssd_epi32(m, kb.mn[1],
                                        _mm512_set1_epi32(_mm256_extract_epi32(pk, 1)));
                m = _mm512_dpwssd_epi32(m, kb.mn[2],
                                        _mm512_set1_epi32(_mm256_extract_epi32(pk, 4)));
                m = _mm512_dpwssd_epi32(m, kb.mn[3],
                                        _mm512_set1_epi32(_mm256_extract_epi32(pk, 5)));
                acc[c] =
                    _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_mul_ps(kb.d, dy), acc[c]);
                acc[c] =
                    _mm512_fnmadd_ps(_mm512_cvtepi32_ps(m), _mm512_mul_ps(kb.dmin, dy), acc[c]);
            }
        }
    }
    GEMM_UNROLL
    for (int c = 0; c < NC; c++)
        zstore(s + (size_t)c * bs, acc[c], nr);
}

#define ZGEMM_NC_CASE(BODY, T, MAXNC, K)                                                           \
    case K:                                                                                        \
        if ((MAXNC) >= (K)) BODY(n, s, bs, &rows_, nr, y_, by, K, T);                              \
        break;
/* packed: the tile's rows are the group at x and (rows 8..15) the next one */
GEMM_INLINE zrows zgroups_of(const void *x, size_t bx, int nr) {
    zrows r = {{x, (const uint8_t *)x + (nr > EL_REPACK_ROWS ? bx : 0)}};
    return r;
}
#define ZGEMM_ENTRY(name, BODY, T, MAXNC) ZGEMM_ENTRY_ROWS(name, BODY, T, MAXNC, zrows_of)
#define ZGEMM_ENTRY_ROWS(name, BODY, T, MAXNC, ROWS)                                               \
    static void name(int n, float *s, size_t bs, const void *x, size_t bx, int nr, const void *y,  \
                     size_t by, int nc) {                                                          \
        const zrows rows_ = ROWS(x, bx, nr);                                                       \
        const uint8_t *y_ = y;                                                                     \
        switch (nc) {                                                                              \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 1)                                                       \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 2)                                                       \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 3)                                                       \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 4)                                                       \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 5)                                                       \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 6)                                                       \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 7)                                                       \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 8)                                                       \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 9)                                                       \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 10)                                                      \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 11)                                                      \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 12)                                                      \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 13)                                                      \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 14)                                                      \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 15)                                                      \
            ZGEMM_NC_CASE(BODY, T, MAXNC, 16)                                                      \
        default:                                                                                   \
            break;                                                                                 \
        }                                                                                          \
    }

#define ZNC32 16 /* columns per tile, 32-element block types */
ZGEMM_ENTRY(zgemm_q4_0, ztile_b32, EL_TYPE_Q4_0, ZNC32)
ZGEMM_ENTRY(zgemm_q5_0, ztile_b32, EL_TYPE_Q5_0, ZNC32)
ZGEMM_ENTRY(zgemm_q8_0, ztile_b32, EL_TYPE_Q8_0, ZNC32)
ZGEMM_ENTRY(zgemm_iq4_nl, ztile_b32, EL_TYPE_IQ4_NL, ZNC32)
ZGEMM_ENTRY(zgemm_q4_1, ztile_b32, EL_TYPE_Q4_1, ZNC32)
ZGEMM_ENTRY(zgemm_q5_1, ztile_b32, EL_TYPE_Q5_1, ZNC32)
#define ZNCK 16 /* K-quants */
ZGEMM_ENTRY(zgemm_q4_K, ztile_kq, EL_TYPE_Q4_K, ZNCK)
ZGEMM_ENTRY(zgemm_q5_K, ztile_kq, EL_TYPE_Q5_K, ZNCK)
ZGEMM_ENTRY(zgemm_q6_K, ztile_kq, EL_TYPE_Q6_K, ZNCK)

#define NCF 4 /* f16: 4 rows x 4 columns, ymm (lanes = elements) */
GEMM_ENTRY(gemm_f16, tile_f16, EL_TYPE_F16, NCF)

/* packed q4_0: zmm tiles of two groups for prefill; decode's one column takes the ymm tile of
 * one group in its VNNI form: bench/kernels.c, 4096 columns, GB/s streamed / L2-hot, one
 * thread on Zen 4: row vec_dot 14.1 / 14.3, packed ymm 25.7 / 34.4, packed zmm 17.5 / 39.9 */
ZGEMM_ENTRY_ROWS(zgemm_q4_0x8, ztile_x8, EL_TYPE_Q4_0, ZNC32, zgroups_of)
ZGEMM_ENTRY_ROWS(zgemm_q5_0x8, ztile_x8, EL_TYPE_Q5_0, ZNC32, zgroups_of)
ZGEMM_ENTRY_ROWS(zgemm_q8_0x8, ztile_x8, EL_TYPE_Q8_0, ZNC32, zgroups_of)
GEMM_PACKED_ENTRY(gemm_q4_0x8, tile_x8, EL_TYPE_Q4_0, 1)
GEMM_PACKED_ENTRY(gemm_q5_0x8, tile_x8, EL_TYPE_Q5_0, 1)
GEMM_PACKED_ENTRY(gemm_q8_0x8, tile_x8, EL_TYPE_Q8_0, 1)
/* packed q4_K / q6_K: the fused one-column tiles for decode, gemm_ymm.inc's unpacking tile
 * (ymm, 8 columns) for prefill */
GEMM_PACKED_ENTRY(gemv_q4_Kx8, tile_q4_Kx8_gemv, EL_TYPE_Q4_K, 1)
GEMM_PACKED_ENTRY(gemm_q4_Kx8, tile_kq_x8, EL_TYPE_Q4_K, 8)
GEMM_PACKED_ENTRY(gemv_q6_Kx8, tile_q6_Kx8_gemv, EL_TYPE_Q6_K, 1)
GEMM_PACKED_ENTRY(gemm_q6_Kx8, tile_kq_x8, EL_TYPE_Q6_K, 8)

void el_kernels_fill_gemm_avx512(el_gemm_kernel *g) {
    g[EL_TYPE_Q4_0] = (el_gemm_kernel){zgemm_q4_0, ZMR, ZNC32};
    g[EL_TYPE_Q5_0] = (el_gemm_kernel){zgemm_q5_0, ZMR, ZNC32};
    g[EL_TYPE_Q8_0] = (el_gemm_kernel){zgemm_q8_0, ZMR, ZNC32};
    g[EL_TYPE_IQ4_NL] = (el_gemm_kernel){zgemm_iq4_nl, ZMR, ZNC32};
    g[EL_TYPE_Q4_1] = (el_gemm_kernel){zgemm_q4_1, ZMR, ZNC32};
    g[EL_TYPE_Q5_1] = (el_gemm_kernel){zgemm_q5_1, ZMR, ZNC32};
    g[EL_TYPE_Q4_K] = (el_gemm_kernel){zgemm_q4_K, ZMR, ZNCK};
    g[EL_TYPE_Q5_K] = (el_gemm_kernel){zgemm_q5_K, ZMR, ZNCK};
    g[EL_TYPE_Q6_K] = (el_gemm_kernel){zgemm_q6_K, ZMR, ZNCK};
    g[EL_TYPE_F16] = (el_gemm_kernel){gemm_f16, GEMM_F16_MR, NCF};
}

void el_kernels_fill_packed_avx512(el_packed_kernels *p) {
    p[EL_TYPE_Q4_0] =
        (el_packed_kernels){.gemv = {gemm_q4_0x8, GEMM_MR, 1}, .gemm = {zgemm_q4_0x8, ZMR, ZNC32}};
    p[EL_TYPE_Q5_0] =
        (el_packed_kernels){.gemv = {gemm_q5_0x8, GEMM_MR, 1}, .gemm = {zgemm_q5_0x8, ZMR, ZNC32}};
    p[EL_TYPE_Q8_0] =
        (el_packed_kernels){.gemv = {gemm_q8_0x8, GEMM_MR, 1}, .gemm = {zgemm_q8_0x8, ZMR, ZNC32}};
    p[EL_TYPE_Q4_K] =
        (el_packed_kernels){.gemv = {gemv_q4_Kx8, GEMM_MR, 1}, .gemm = {gemm_q4_Kx8, GEMM_MR, 8}};
    p[EL_TYPE_Q6_K] =
        (el_packed_kernels){.gemv = {gemv_q6_Kx8, GEMM_MR, 1}, .gemm = {gemm_q6_Kx8, GEMM_MR, 8}};
}
