/* tests/unit/test_kernels.c — every SIMD kernel level this machine runs against the scalar
 * reference (kernels/quants.c), type by type.
 *
 * vec_dot: weights from the reference quantizer over several float distributions, and raw
 * random blocks (every bit pattern of the quant fields, scales sanitized to finite fp16);
 * activations from the reference quantizer. Lengths 1..16 blocks and a real row (4864).
 * Integer sums are exact in both kernels, so they differ only in how float partial sums are
 * rounded and added. A partial sum (of any grouping: a block, a SIMD lane, a sub-block) costs
 * at most 4 roundings (d_x*d_y, int -> float, the product, the add) and the accumulation of
 * nb blocks nb more, plus a few for the final horizontal sum; each rounding errs by at most
 * FLT_EPSILON times a magnitude bounded by
 *     M = sum_i (|a_i q_i| + |b_i|) * |y_i|      (weight x_i = a_i q_i - b_i, b = 0 if symmetric)
 * so |simd - ref| <= 2 * (nb + 6) * FLT_EPSILON * M.
 * For f32/f16/bf16 (any n, the reference sums in double) M = sum |x_i y_i| and the bound is
 * (n / 8 + 16) * FLT_EPSILON * M (at least 8 independent float accumulators in every SIMD
 * kernel). Observed errors are far below these worst cases; the test prints the largest
 * err / (FLT_EPSILON * M) per level.
 *
 * from_float (Q8_0, Q8_1, Q8_K, F16, BF16) and to_float (F16, BF16): byte-identical to the
 * reference on finite input, including rounding ties (x.5 after scaling), subnormal halves,
 * fp16 overflow; F16 and BF16 also on inf/NaN and on all 65536 half / bf16 patterns (F16C
 * quiets a signalling NaN the reference passes through: the one difference allowed).
 *
 * vec_dot_2x2 (i8mm tiles): each of the four results against the reference vec_dot of its
 * row pair, same bound.
 *
 * Buffers are malloc'd to their exact size and used at an offset that breaks 32-byte
 * alignment, so ASan sees any read past a row and no kernel may assume alignment.
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "kernels/cpu.h"
#include "kernels/dispatch.h"
#include "kernels/quants.h"
#include "kernels/types.h"
#include "test.h"

/* ---- deterministic randomness ------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd64(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static float rnd_unit(void) { /* [0, 1) */
    return (float)(rnd64() >> 40) / (float)(1 << 24);
}
static float rnd_gauss(void) {
    float u = rnd_unit(), v = rnd_unit();
    if (u < 1e-7f) u = 1e-7f;
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

enum { D_GAUSS, D_UNIFORM, D_POSITIVE, D_OUTLIERS, D_TINY, D_SPARSE, D_CONST, D_TIES, D_COUNT };
static const char *const dist_name[D_COUNT] = {"gauss", "uniform", "positive", "outliers",
                                               "tiny",  "sparse",  "const",    "ties"};

/* n floats of distribution d. D_TIES: integers and half-integers in -127..127 with one
 * element at +-127 per 32 (so Q8_0's d is exactly 1 and x * id lands on .5 ties). */
static void fill_floats(float *x, int n, int d) {
    for (int i = 0; i < n; i++) {
        switch (d) {
        case D_GAUSS:
            x[i] = rnd_gauss();
            break;
        case D_UNIFORM:
            x[i] = 2 * rnd_unit() - 1;
            break;
        case D_POSITIVE:
            x[i] = 0.5f + rnd_unit();
            break;
        case D_OUTLIERS:
            x[i] = rnd_gauss() * (rnd64() % 64 == 0 ? 40.f : 1.f);
            break;
        case D_TINY:
            x[i] = rnd_gauss() * 1e-4f;
            break;
        case D_SPARSE:
            x[i] = rnd64() % 4 == 0 ? rnd_gauss() : 0.0f;
            break;
        case D_CONST:
            x[i] = 0.75f;
            break;
        default:
            x[i] = (float)((int)(rnd64() % 509) - 254) * 0.5f;
            break;
        }
    }
    if (d == D_TIES)
        for (int i = 0; i < n; i += 32)
            x[i + (int)(rnd64() % 32) % (n - i)] = rnd64() & 1 ? 127.f : -127.f;
}

/* A random finite fp16 scale of magnitude 2^-12 .. 1, either sign. */
static el_fp16 rnd_scale(void) {
    float v = ldexpf(1.0f + rnd_unit(), -(int)(rnd64() % 13));
    return el_fp32_to_fp16(rnd64() & 1 ? v : -v);
}

static void put_fp16(uint8_t *blk, size_t off, el_fp16 h) {
    memcpy(blk + off, &h, 2);
}

/* Fills nb blocks of type t with random bytes, then makes the fp16 fields finite (random
 * scales) and keeps Q8_0 quants out of -128 (the documented SIMD range). */
static void fill_raw_blocks(int t, uint8_t *p, int nb) {
    const size_t bs = el_type_traits(t)->type_size;
    for (size_t i = 0; i < bs * (size_t)nb; i++)
        p[i] = (uint8_t)rnd64();
    for (int b = 0; b < nb; b++) {
        uint8_t *blk = p + (size_t)b * bs;
        switch (t) {
        case EL_TYPE_Q4_0:
        case EL_TYPE_Q5_0:
        case EL_TYPE_IQ4_NL:
        case EL_TYPE_IQ4_XS:
            put_fp16(blk, 0, rnd_scale());
            break;
        case EL_TYPE_Q8_0:
            put_fp16(blk, 0, rnd_scale());
            for (int j = 0; j < EL_QK8_0; j++)
                if (blk[2 + j] == 0x80) blk[2 + j] = 0x81;
            break;
        case EL_TYPE_Q4_1:
        case EL_TYPE_Q5_1:
        case EL_TYPE_Q4_K:
        case EL_TYPE_Q5_K:
            put_fp16(blk, 0, rnd_scale());
            put_fp16(blk, 2, rnd_scale());
            break;
        case EL_TYPE_Q2_K:
            put_fp16(blk, offsetof(el_block_q2_K, d), rnd_scale());
            put_fp16(blk, offsetof(el_block_q2_K, dmin), rnd_scale());
            break;
        case EL_TYPE_Q3_K:
            put_fp16(blk, offsetof(el_block_q3_K, d), rnd_scale());
            break;
        case EL_TYPE_MXFP4:
            blk[0] = (uint8_t)(118 + rnd64() % 20);
            break;
        case EL_TYPE_Q6_K:
            put_fp16(blk, offsetof(el_block_q6_K, d), rnd_scale());
            /* scales are int8 and may be -128: fine, products stay in int32 */
            break;
        default:
            break;
        }
    }
}

/* ---- the types under test ----------------------------------------------------------------- */

typedef struct {
    int t;
    int d_off, m_off; /* fp16 scale / min fields of an affine type, -1 for symmetric ones */
} qtype;

static const qtype qtypes[] = {
    {EL_TYPE_Q4_0, -1, -1},
    {EL_TYPE_Q4_1, 0, 2},
    {EL_TYPE_Q5_0, -1, -1},
    {EL_TYPE_Q5_1, 0, 2},
    {EL_TYPE_Q8_0, -1, -1},
    {EL_TYPE_IQ4_NL, -1, -1},
    {EL_TYPE_Q2_K, (int)offsetof(el_block_q2_K, d), (int)offsetof(el_block_q2_K, dmin)},
    {EL_TYPE_Q3_K, -1, -1},
    {EL_TYPE_Q4_K, (int)offsetof(el_block_q4_K, d), (int)offsetof(el_block_q4_K, dmin)},
    {EL_TYPE_Q5_K, (int)offsetof(el_block_q5_K, d), (int)offsetof(el_block_q5_K, dmin)},
    {EL_TYPE_Q6_K, -1, -1},
    {EL_TYPE_IQ4_XS, -1, -1},
    {EL_TYPE_MXFP4, -1, -1},
};

/* Exact-size copy at offset `off` inside a fresh malloc'd buffer: reads past the end hit the
 * ASan redzone, and a 4-byte offset breaks vector alignment. */
typedef struct {
    uint8_t *base, *p;
} buf;
static buf buf_copy(const void *src, size_t n, size_t off) {
    buf b;
    b.base = malloc(n + off);
    if (!b.base) abort();
    b.p = b.base + off;
    memcpy(b.p, src, n);
    return b;
}

/* M of the header comment: sum_i |a_i q_i| |y_i| + sum_i |b_i| |y_i| over the dequantized
 * values, where x_i = a_i q_i - b_i (b = 0 for symmetric types). It bounds the magnitude of
 * every partial sum either kernel can form, whatever its grouping into lanes and blocks. The
 * two parts come from the reference dequantizer on the blocks with the other part's fp16
 * factor zeroed. */
static double term_magnitude(const qtype *q, const uint8_t *x, const uint8_t *y, int nb) {
    const el_type_info *ti = el_type_traits(q->t);
    const el_type_info *vi = el_type_traits(ti->vec_dot_type);
    const int n = nb * ti->blck_size;
    float *xa = malloc(sizeof(float) * (size_t)n), *xb = malloc(sizeof(float) * (size_t)n);
    float *yd = malloc(sizeof(float) * (size_t)n);
    uint8_t *tmp = malloc((size_t)nb * ti->type_size);
    if (!xa || !xb || !yd || !tmp) abort();
    el_quants_ref(ti->vec_dot_type)->to_float(y, yd, n);
    const el_to_float_fn deq = el_quants_ref(q->t)->to_float;
    memcpy(tmp, x, (size_t)nb * ti->type_size);
    if (q->m_off >= 0)
        for (int b = 0; b < nb; b++)
            put_fp16(tmp + (size_t)b * ti->type_size, (size_t)q->m_off, 0);
    deq(tmp, xa, n);
    memset(xb, 0, sizeof(float) * (size_t)n);
    if (q->m_off >= 0) {
        memcpy(tmp, x, (size_t)nb * ti->type_size);
        for (int b = 0; b < nb; b++)
            put_fp16(tmp + (size_t)b * ti->type_size, (size_t)q->d_off, 0);
        deq(tmp, xb, n);
    }
    double m = 0;
    for (int i = 0; i < n; i++)
        m += (fabs((double)xa[i]) + fabs((double)xb[i])) * fabs((double)yd[i]);
    free(xa);
    free(xb);
    free(yd);
    free(tmp);
    (void)vi;
    return m;
}

static int levels[EL_CPU_LEVEL_COUNT], n_levels;
static double worst[EL_CPU_LEVEL_COUNT][EL_TYPE_COUNT]; /* max err / (eps * M) */

static int level_index(int level) {
    for (int i = 0; i < n_levels; i++)
        if (levels[i] == level) return i;
    return 0;
}

/* One vec_dot comparison of level `lv` on type q over nb blocks of the given x, y. */
static void check_dot(int lv, const qtype *q, const uint8_t *x, const uint8_t *y, int nb,
                      const char *what) {
    const el_type_info *ti = el_type_traits(q->t);
    const el_type_info *vi = el_type_traits(ti->vec_dot_type);
    const el_quant_kernels *k = el_kernels_for_level(lv, q->t);
    const el_quant_kernels *r = el_quants_ref(q->t);
    if (k->vec_dot == r->vec_dot) return; /* no variant at this level: nothing to compare */
    const int n = nb * ti->blck_size;
    const size_t xs = (size_t)nb * ti->type_size, ys = (size_t)nb * vi->type_size;
    buf bx = buf_copy(x, xs, 4), by = buf_copy(y, ys, 4);
    float got = NAN, want = NAN;
    k->vec_dot(n, &got, bx.p, by.p);
    r->vec_dot(n, &want, x, y);
    const double m = term_magnitude(q, x, y, nb);
    const double tol = 2.0 * (nb + 6) * FLT_EPSILON * m + 1e-30;
    const double err = fabs((double)got - (double)want);
    CHECK(err <= tol, "%s %s %s nb=%d: simd %.9g ref %.9g (err %.3g, tol %.3g)",
          el_kernels_level_name(lv), ti->name, what, nb, got, want, err, tol);
    double *w = &worst[level_index(lv)][q->t];
    if (m > 0 && err / (FLT_EPSILON * m) > *w) *w = err / (FLT_EPSILON * m);
    free(bx.base);
    free(by.base);
}

static const int block_counts[] = {1, 2, 3, 4, 5, 7, 8, 16};
#define ROW 4864 /* a real row length (Qwen2.5-0.5B's ffn width): 19 super-blocks, 152 blocks */

static void test_vec_dot_quant(void) {
    float *xf = malloc(sizeof(float) * ROW), *yf = malloc(sizeof(float) * ROW);
    uint8_t *xq = malloc(ROW * 2), *yq = malloc(ROW * 2);
    REQUIRE(xf && yf && xq && yq);
    for (size_t qi = 0; qi < EL_ARRAY_LEN(qtypes); qi++) {
        const qtype *q = &qtypes[qi];
        const el_type_info *ti = el_type_traits(q->t);
        const el_type_info *vi = el_type_traits(ti->vec_dot_type);
        const el_quant_kernels *r = el_quants_ref(q->t);
        const el_quant_kernels *rv = el_quants_ref(ti->vec_dot_type);
        REQUIRE(r->vec_dot && r->from_float && rv->from_float, "%s", ti->name);
        int lens[EL_ARRAY_LEN(block_counts) + 1], nl = 0;
        for (size_t i = 0; i < EL_ARRAY_LEN(block_counts); i++)
            lens[nl++] = block_counts[i];
        lens[nl++] = ROW / ti->blck_size;
        for (int li = 0; li < nl; li++) {
            const int nb = lens[li], n = nb * ti->blck_size;
            for (int d = 0; d <= D_COUNT; d++) { /* D_COUNT: raw random weight blocks */
                char what[48];
                if (d < D_COUNT) {
                    fill_floats(xf, n, d);
                    r->from_float(xf, xq, n);
                } else {
                    fill_raw_blocks(q->t, xq, nb);
                }
                const int ya = d < D_COUNT ? (d + 1) % D_COUNT : D_GAUSS;
                fill_floats(yf, n, ya == D_CONST ? D_OUTLIERS : ya);
                rv->from_float(yf, yq, n);
                snprintf(what, sizeof what, "w=%s", d < D_COUNT ? dist_name[d] : "raw");
                for (int l = 1; l < n_levels; l++)
                    check_dot(levels[l], q, xq, yq, nb, what);
            }
        }
        (void)vi;
    }
    free(xf);
    free(yf);
    free(xq);
    free(yq);
}

/* 2x2 tiles (i8mm): each of the four results against the reference vec_dot of its row pair,
 * with rows at strides larger than a row (bx, by are honoured, not assumed). */
static void test_vec_dot_2x2(void) {
    int checked = 0;
    float *f = malloc(sizeof(float) * ROW);
    REQUIRE(f);
    for (int l = 0; l < n_levels; l++) {
        for (size_t qi = 0; qi < EL_ARRAY_LEN(qtypes); qi++) {
            const qtype *q = &qtypes[qi];
            el_vec_dot_2x2_fn d2 = el_kernels_vec_dot_2x2(levels[l], q->t);
            if (!d2) continue;
            const el_type_info *ti = el_type_traits(q->t);
            const el_quant_kernels *r = el_quants_ref(q->t);
            const el_quant_kernels *rv = el_quants_ref(ti->vec_dot_type);
            const int lens[] = {1, 2, 3, 7, 16, ROW / ti->blck_size};
            for (size_t li = 0; li < EL_ARRAY_LEN(lens); li++) {
                const int nb = lens[li], n = nb * ti->blck_size;
                const size_t xr = el_row_size(q->t, n), yr = el_row_size(ti->vec_dot_type, n);
                const size_t bx = xr + 2 * ti->type_size, by = yr + 34; /* gaps between rows */
                uint8_t *x = malloc(bx + xr), *y = malloc(by + yr);
                REQUIRE(x && y);
                for (int row = 0; row < 2; row++) {
                    if (li % 2) {
                        fill_raw_blocks(q->t, x + row * bx, nb);
                    } else {
                        fill_floats(f, n, (int)(li + row) % D_COUNT);
                        r->from_float(f, x + row * bx, n);
                    }
                    fill_floats(f, n, D_GAUSS);
                    rv->from_float(f, y + row * by, n);
                }
                float got[4];
                d2(n, got, x, bx, y, by);
                for (int k = 0; k < 4; k++) {
                    const uint8_t *xk = x + (k & 1) * bx, *yk = y + (k >> 1) * by;
                    float want;
                    r->vec_dot(n, &want, xk, yk);
                    const double m = term_magnitude(q, xk, yk, nb);
                    const double tol = 2.0 * (nb + 6) * FLT_EPSILON * m + 1e-30;
                    CHECK(fabs((double)got[k] - want) <= tol,
                          "%s %s 2x2 nb=%d s[%d]: %.9g vs ref %.9g (tol %.3g)",
                          el_kernels_level_name(levels[l]), ti->name, nb, k, got[k], want, tol);
                }
                checked++;
                free(x);
                free(y);
            }
        }
    }
    free(f);
    /* the scalar level never has one; on aarch64 with i8mm q8_0 and q4_0 must */
    CHECK(el_kernels_vec_dot_2x2(EL_CPU_SCALAR, EL_TYPE_Q8_0) == NULL);
    CHECK(el_kernels_vec_dot_2x2(EL_CPU_SCALAR, -1) == NULL);
#if defined(__aarch64__)
    if (el_kernels_level_available(EL_CPU_I8MM))
        CHECK(checked >= 12, "2x2 kernels checked: %d", checked);
#endif
    printf("  2x2 tiles checked: %d\n", checked);
}

/* f32 / f16 / bf16: any n. */
static void test_vec_dot_float(void) {
    static const int ns[] = {1, 3, 7, 8, 9, 16, 31, 32, 33, 63, 64, 65, 100, 255, 1000, 4864, 4867};
    static const int ft[] = {EL_TYPE_F32, EL_TYPE_F16, EL_TYPE_BF16};
    float *xf = malloc(sizeof(float) * 4867), *yf = malloc(sizeof(float) * 4867);
    uint8_t *xq = malloc(4 * 4867), *yq = malloc(4 * 4867);
    REQUIRE(xf && yf && xq && yq);
    for (size_t ti_ = 0; ti_ < EL_ARRAY_LEN(ft); ti_++) {
        const int t = ft[ti_];
        const el_type_info *ti = el_type_traits(t);
        const el_quant_kernels *r = el_quants_ref(t);
        for (size_t ni = 0; ni < EL_ARRAY_LEN(ns); ni++) {
            const int n = ns[ni];
            for (int d = 0; d < D_COUNT; d++) {
                fill_floats(xf, n, d);
                fill_floats(yf, n, (d + 3) % D_COUNT);
                r->from_float(xf, xq, n);
                r->from_float(yf, yq, n);
                /* M = sum |x_i y_i| of the values as stored */
                float *xd = malloc(sizeof(float) * (size_t)n),
                      *yd = malloc(sizeof(float) * (size_t)n);
                REQUIRE(xd && yd);
                r->to_float(xq, xd, n);
                r->to_float(yq, yd, n);
                double m = 0;
                for (int i = 0; i < n; i++)
                    m += fabs((double)xd[i] * yd[i]);
                free(xd);
                free(yd);
                float want;
                r->vec_dot(n, &want, xq, yq);
                for (int l = 1; l < n_levels; l++) {
                    const el_quant_kernels *k = el_kernels_for_level(levels[l], t);
                    buf bx = buf_copy(xq, ti->type_size * (size_t)n, 4);
                    buf by = buf_copy(yq, ti->type_size * (size_t)n, 4);
                    float got = NAN;
                    k->vec_dot(n, &got, bx.p, by.p);
                    /* + n * FLT_MIN: AVX512-BF16 flushes subnormal products to zero */
                    const double tol = (n / 8.0 + 16) * FLT_EPSILON * m + n * (double)FLT_MIN;
                    const double err = fabs((double)got - want);
                    CHECK(err <= tol, "%s %s n=%d %s: simd %.9g ref %.9g (err %.3g tol %.3g)",
                          el_kernels_level_name(levels[l]), ti->name, n, dist_name[d], got, want,
                          err, tol);
                    double *w = &worst[l][t];
                    if (m > 0 && err / (FLT_EPSILON * m) > *w) *w = err / (FLT_EPSILON * m);
                    free(bx.base);
                    free(by.base);
                }
            }
        }
    }
    free(xf);
    free(yf);
    free(xq);
    free(yq);
}

/* ---- quantizers and conversions: bytes must match ----------------------------------------- */

static void check_from_float(int lv, int t, const float *x, int n, const char *what) {
    const el_type_info *ti = el_type_traits(t);
    const el_quant_kernels *k = el_kernels_for_level(lv, t);
    const el_quant_kernels *r = el_quants_ref(t);
    const size_t sz = el_row_size(t, n);
    uint8_t *want = malloc(sz);
    buf bx = buf_copy(x, sizeof(float) * (size_t)n, 4);
    buf out = buf_copy(want, sz, 4); /* contents overwritten */
    REQUIRE(want && sz);
    memset(out.p, 0xA5, sz);
    r->from_float(x, want, n);
    k->from_float((const float *)bx.p, out.p, n);
    size_t at = 0;
    while (at < sz && out.p[at] == want[at])
        at++;
    CHECK(at == sz, "%s %s from_float %s n=%d: first differing byte %zu of %zu (block %zu)",
          el_kernels_level_name(lv), ti->name, what, n, at, sz, at / ti->type_size);
    free(want);
    free(bx.base);
    free(out.base);
}

static void test_quantizers(void) {
    static const int qt[] = {EL_TYPE_Q8_0, EL_TYPE_Q8_1, EL_TYPE_Q8_K, EL_TYPE_F16, EL_TYPE_BF16};
    float *x = malloc(sizeof(float) * (ROW + 3));
    REQUIRE(x);
    for (size_t i = 0; i < EL_ARRAY_LEN(qt); i++) {
        const int t = qt[i];
        const int bs = el_type_traits(t)->blck_size;
        const int ns[] = {bs, 2 * bs, 3 * bs, 8 * bs, bs == 1 ? ROW + 3 : ROW};
        for (size_t ni = 0; ni < EL_ARRAY_LEN(ns); ni++) {
            for (int d = 0; d < D_COUNT; d++) {
                fill_floats(x, ns[ni], d);
                for (int l = 1; l < n_levels; l++)
                    check_from_float(levels[l], t, x, ns[ni], dist_name[d]);
            }
            /* the first max-magnitude element decides Q8_K's sign: put +a and -a in a row */
            fill_floats(x, ns[ni], D_GAUSS);
            for (int j = 0; j + 255 < ns[ni]; j += 256) {
                x[j + 17] = 9.f;
                x[j + 200] = -9.f;
                x[j + 3] = (j / 256) % 2 ? -9.f : 9.f;
            }
            for (int l = 1; l < n_levels; l++)
                check_from_float(levels[l], t, x, ns[ni], "sign-ties");
            /* an all-zero block between live ones */
            for (int j = 0; j < bs && j < ns[ni]; j++)
                x[j] = 0;
            for (int l = 1; l < n_levels; l++)
                check_from_float(levels[l], t, x, ns[ni], "zero-block");
        }
    }
    /* fp16 / bf16 edge values: subnormal results, overflow to inf, inf, NaN, -0 */
    static const float edge[] = {0.0f,     -0.0f,    5.96e-8f,  2.98e-8f, 2.99e-8f, 6.1e-5f,
                                 6.09e-5f, 65504.f,  65519.f,   65520.f,  1e9f,     -1e-40f,
                                 1e-45f,   INFINITY, -INFINITY, NAN,      -NAN,     3.0e-39f};
    for (int rep = 0; rep < 4; rep++) {
        float v[40];
        for (int j = 0; j < 40; j++)
            v[j] = edge[(j + 7 * rep) % EL_ARRAY_LEN(edge)] * (j % 3 ? 1.f : -1.f);
        for (int l = 1; l < n_levels; l++) {
            check_from_float(levels[l], EL_TYPE_F16, v, 40, "edge");
            check_from_float(levels[l], EL_TYPE_BF16, v, 40, "edge");
        }
    }
    free(x);
}

/* All 65536 patterns (plus an odd tail length) through to_float: identical float bits. */
static void test_to_float(void) {
    static const int ct[] = {EL_TYPE_F16, EL_TYPE_BF16};
    const int n = 65536 + 5;
    uint16_t *h = malloc(2 * (size_t)n);
    float *want = malloc(4 * (size_t)n);
    REQUIRE(h && want);
    for (int i = 0; i < n; i++)
        h[i] = (uint16_t)(i * 40503u); /* odd multiplier: a permutation of 0..65535 */
    for (size_t c = 0; c < EL_ARRAY_LEN(ct); c++) {
        el_quants_ref(ct[c])->to_float(h, want, n);
        for (int l = 1; l < n_levels; l++) {
            buf in = buf_copy(h, 2 * (size_t)n, 2);
            buf out = buf_copy(want, 4 * (size_t)n, 4);
            memset(out.p, 0, 4 * (size_t)n);
            el_kernels_for_level(levels[l], ct[c])->to_float(in.p, (float *)out.p, n);
            int bad = -1;
            for (int i = 0; i < n && bad < 0; i++) {
                uint32_t a, b;
                memcpy(&a, out.p + 4 * (size_t)i, 4);
                memcpy(&b, &want[i], 4);
                /* F16C quiets a signalling NaN (sets the top mantissa bit), the reference
                 * keeps it signalling: the only difference allowed */
                const bool nan = (b & 0x7F800000u) == 0x7F800000u && (b & 0x7FFFFFu);
                if (nan ? (a | 0x400000u) != (b | 0x400000u) : a != b) bad = i;
            }
            CHECK(bad < 0, "%s %s to_float: pattern 0x%04x differs",
                  el_kernels_level_name(levels[l]), el_type_traits(ct[c])->name,
                  bad < 0 ? 0 : h[bad]);
            free(in.base);
            free(out.base);
        }
    }
    free(h);
    free(want);
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static void test_dispatch(void) {
    const el_cpu_info *ci = el_cpu_get();
    CHECK(el_kernels_level_available(EL_CPU_SCALAR));
    CHECK(el_kernels_level_available(ci->detected), "detected %s", el_cpu_level_name(ci->detected));
    CHECK(el_kernels_active_level() == (int)ci->level, "active %s, cpu level %s",
          el_kernels_level_name(el_kernels_active_level()), el_cpu_level_name(ci->level));
    CHECK(el_kernels_for_level(EL_CPU_SCALAR, -1) == NULL);
    CHECK(el_kernels_for_level(EL_CPU_SCALAR, EL_TYPE_COUNT) == NULL);
    CHECK(el_kernels_for_level(EL_CPU_LEVEL_COUNT, EL_TYPE_Q4_0) == NULL);
    CHECK(strcmp(el_kernels_level_name(-5), "?") == 0);
    /* scalar level == the reference, and the traits point at the active level's kernels */
    for (int t = 0; t < EL_TYPE_COUNT; t++) {
        const el_type_info *ti = el_type_traits(t);
        if (!ti) continue;
        const el_quant_kernels *s = el_kernels_for_level(EL_CPU_SCALAR, t);
        const el_quant_kernels *r = el_quants_ref(t);
        CHECK(s->vec_dot == r->vec_dot && s->from_float == r->from_float &&
                  s->to_float == r->to_float,
              "%s", ti->name);
        const el_quant_kernels *a = el_kernels_for_level(el_kernels_active_level(), t);
        CHECK(ti->vec_dot == a->vec_dot && ti->from_float == a->from_float &&
                  ti->to_float == a->to_float,
              "%s", ti->name);
    }
    /* levels of the other architecture are not levels here */
#if defined(__x86_64__)
    CHECK(el_kernels_for_level(EL_CPU_NEON, EL_TYPE_Q4_0) == NULL);
    CHECK(!el_kernels_level_available(EL_CPU_DOTPROD));
#elif defined(__aarch64__)
    CHECK(el_kernels_for_level(EL_CPU_AVX2, EL_TYPE_Q4_0) == NULL);
    CHECK(!el_kernels_level_available(EL_CPU_AVX512));
#endif
    /* what each level replaces (a line per level; informative) */
    for (int l = 1; l < n_levels; l++) {
        char line[512];
        int len = snprintf(line, sizeof line, "  %-8s vec_dot:", el_kernels_level_name(levels[l]));
        for (int t = 0; t < EL_TYPE_COUNT && len < (int)sizeof line - 16; t++) {
            const el_quant_kernels *k = el_kernels_for_level(levels[l], t);
            const el_quant_kernels *b = el_kernels_for_level(levels[l - 1], t);
            if (k && k->vec_dot && k->vec_dot != b->vec_dot)
                len +=
                    snprintf(line + len, sizeof line - (size_t)len, " %s", el_type_traits(t)->name);
        }
        printf("%s%s\n", line, el_kernels_level_available(levels[l]) ? "" : " (not run here)");
    }
}

int main(int argc, char **argv) {
    (void)argc;
    int all[EL_CPU_LEVEL_COUNT];
    const int na = el_kernels_levels(all, EL_CPU_LEVEL_COUNT);
    for (int i = 0; i < na; i++)
        if (el_kernels_level_available(all[i])) levels[n_levels++] = all[i];
    printf("levels run here:");
    for (int i = 0; i < n_levels; i++)
        printf(" %s", el_kernels_level_name(levels[i]));
    printf("\n");

    RUN(test_dispatch);
    RUN(test_to_float);
    RUN(test_quantizers);
    RUN(test_vec_dot_quant);
    RUN(test_vec_dot_float);
    RUN(test_vec_dot_2x2);

    printf("largest vec_dot error / (FLT_EPSILON * M) per level:\n");
    for (int l = 1; l < n_levels; l++) {
        printf("  %-8s", el_kernels_level_name(levels[l]));
        for (int t = 0; t < EL_TYPE_COUNT; t++)
            if (worst[l][t] > 0) printf(" %s %.2f", el_type_traits(t)->name, worst[l][t]);
        printf("\n");
    }
    return test_summary(argv[0]);
}
