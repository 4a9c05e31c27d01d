/* tests/unit/test_gemm.c — every tile kernel (el_gemm_fn, kernels/dispatch.h) of every level
 * this machine runs, against the reference vec_dot of each (row, column) pair.
 *
 * Weights come from the reference quantizer over a few float distributions, or are raw random
 * blocks (every bit pattern of the quant fields, fp16 scales made finite, q8_0 quants kept out
 * of -128 as dispatch.h documents); activations from the reference quantizer of the type's
 * vec_dot_type. Every tile shape a kernel takes is run (nr = 1..mr, nc = 1..nc_max) on short
 * rows, and the full and a ragged tile on real row lengths (Qwen2.5-0.5B's 896 and 4864,
 * Llama-3.2-1B's 2048). Rows and columns sit at strides larger than a row, in exact-size
 * buffers (ASan sees a read past the last row or column), and the output has a stride larger
 * than nr with sentinels around every result: a kernel may write s[c*bs + r] for r < nr,
 * c < nc and nothing else.
 *
 * Error bound: the tile kernels compute the reference's integer sums and differ only in how
 * float partial sums are rounded and added, as vec_dot's SIMD kernels do, so the bound is
 * test_kernels.c's: |tile - ref| <= 2 * (nb + 6) * FLT_EPSILON * M for a quantized type over
 * nb blocks, and (n / 8 + 16) * FLT_EPSILON * M for f16, where
 *     M = sum_i (|a_i q_i| + |b_i|) * |y_i|    (weight x_i = a_i q_i - b_i)
 * bounds every partial sum. The largest err / (FLT_EPSILON * M) per level and type is printed.
 *
 * Also: the scalar reference tile (el_kernels_gemm_ref) equals the reference vec_dot bit for
 * bit, and the levels that must have tile kernels for the Q4_K_M mix, Q4_0, Q8_0 and F16 do.
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
#include "kernels/repack.h"
#include "kernels/quants.h"
#include "kernels/types.h"
#include "test.h"

/* ---- deterministic randomness ------------------------------------------------------------ */

static uint64_t rng_state = 0x243F6A8885A308D3ULL;
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

enum { D_GAUSS, D_UNIFORM, D_POSITIVE, D_OUTLIERS, D_SPARSE, D_COUNT, D_RAW = D_COUNT };
static const char *const dist_name[D_COUNT + 1] = {"gauss",    "uniform", "positive",
                                                   "outliers", "sparse",  "raw"};

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
        default:
            x[i] = rnd64() % 4 == 0 ? rnd_gauss() : 0.0f;
            break;
        }
    }
}

static el_fp16 rnd_scale(void) { /* finite, 2^-12 .. 1, either sign */
    float v = ldexpf(1.0f + rnd_unit(), -(int)(rnd64() % 13));
    return el_fp32_to_fp16(rnd64() & 1 ? v : -v);
}

static void put_fp16(uint8_t *p, size_t off, el_fp16 h) {
    memcpy(p + off, &h, 2);
}

/* ---- the types under test ----------------------------------------------------------------- */

typedef struct {
    int t;
    int d_off, m_off; /* fp16 scale / min of an affine type (x = a q - b), -1 if symmetric */
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
    {EL_TYPE_F16, -1, -1},
};

/* nb random blocks of t: random bytes, fp16 fields finite, q8_0 quants not -128. */
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
        case EL_TYPE_Q6_K:
            put_fp16(blk, offsetof(el_block_q6_K, d), rnd_scale());
            break;
        case EL_TYPE_F16: /* blck_size 1: one random finite half per element */
            put_fp16(blk, 0, rnd_scale());
            break;
        default:
            break;
        }
    }
}

/* |a q| and |b| parts of row x (n elements) as floats, via the reference dequantizer with the
 * other part's fp16 factor zeroed (b = 0 for symmetric types). */
static void dequant_parts(const qtype *q, const uint8_t *x, int n, float *xa, float *xb) {
    const el_type_info *ti = el_type_traits(q->t);
    const int nb = n / ti->blck_size;
    const size_t sz = (size_t)nb * ti->type_size;
    uint8_t *tmp = malloc(sz);
    if (!tmp) abort();
    const el_to_float_fn deq = el_quants_ref(q->t)->to_float;
    memcpy(tmp, x, sz);
    if (q->m_off >= 0)
        for (int b = 0; b < nb; b++)
            put_fp16(tmp + (size_t)b * ti->type_size, (size_t)q->m_off, 0);
    deq(tmp, xa, n);
    memset(xb, 0, sizeof(float) * (size_t)n);
    if (q->m_off >= 0) {
        memcpy(tmp, x, sz);
        for (int b = 0; b < nb; b++)
            put_fp16(tmp + (size_t)b * ti->type_size, (size_t)q->d_off, 0);
        deq(tmp, xb, n);
    }
    free(tmp);
}

/* ---- one problem: a weight matrix and activation columns ------------------------------------ */

typedef struct {
    const qtype *q;
    int n, nb;      /* elements per row, blocks per row */
    int rows, cols; /* the most a tile will read */
    size_t bx, by;  /* strides in bytes (larger than a row) */
    uint8_t *x, *y; /* exact-size buffers */
    float *want;    /* (cols, rows) reference vec_dot */
    double *mag;    /* (cols, rows) M of the bound */
} problem;

static void problem_make(problem *p, const qtype *q, int nb, int rows, int cols, int dist) {
    const el_type_info *ti = el_type_traits(q->t);
    const int vt = ti->vec_dot_type;
    const el_type_info *vi = el_type_traits(vt);
    p->q = q;
    p->nb = nb;
    p->n = nb * ti->blck_size;
    p->rows = rows;
    p->cols = cols;
    const size_t xr = el_row_size(q->t, p->n), yr = el_row_size(vt, p->n);
    p->bx = xr + (size_t)(1 + rnd64() % 3) * ti->type_size; /* gaps between rows */
    p->by = yr + (size_t)(1 + rnd64() % 2) * vi->type_size;
    p->x = malloc(p->bx * (size_t)(rows - 1) + xr);
    p->y = malloc(p->by * (size_t)(cols - 1) + yr);
    p->want = malloc(sizeof(float) * (size_t)rows * (size_t)cols);
    p->mag = malloc(sizeof(double) * (size_t)rows * (size_t)cols);
    float *f = malloc(sizeof(float) * (size_t)p->n);
    float *xa = malloc(sizeof(float) * (size_t)p->n * (size_t)rows);
    float *xb = malloc(sizeof(float) * (size_t)p->n * (size_t)rows);
    float *yd = malloc(sizeof(float) * (size_t)p->n);
    if (!p->x || !p->y || !p->want || !p->mag || !f || !xa || !xb || !yd) abort();
    const el_quant_kernels *r = el_quants_ref(q->t), *rv = el_quants_ref(vt);
    for (int i = 0; i < rows; i++) {
        uint8_t *row = p->x + p->bx * (size_t)i;
        if (dist == D_RAW) {
            fill_raw_blocks(q->t, row, nb);
        } else {
            fill_floats(f, p->n, (dist + i) % D_COUNT);
            r->from_float(f, row, p->n);
        }
        dequant_parts(q, row, p->n, xa + (size_t)i * p->n, xb + (size_t)i * p->n);
    }
    for (int c = 0; c < cols; c++) {
        uint8_t *col = p->y + p->by * (size_t)c;
        fill_floats(f, p->n, c % 3 == 2 ? D_OUTLIERS : D_GAUSS);
        rv->from_float(f, col, p->n);
        rv->to_float(col, yd, p->n);
        for (int i = 0; i < rows; i++) {
            r->vec_dot(p->n, &p->want[(size_t)c * rows + i], p->x + p->bx * (size_t)i, col);
            double m = 0;
            const float *a = xa + (size_t)i * p->n, *b = xb + (size_t)i * p->n;
            for (int e = 0; e < p->n; e++)
                m += (fabs((double)a[e]) + fabs((double)b[e])) * fabs((double)yd[e]);
            p->mag[(size_t)c * rows + i] = m;
        }
    }
    free(f);
    free(xa);
    free(xb);
    free(yd);
}

static void problem_free(problem *p) {
    free(p->x);
    free(p->y);
    free(p->want);
    free(p->mag);
}

static int levels[EL_CPU_LEVEL_COUNT], n_levels;
static double worst[EL_CPU_LEVEL_COUNT][EL_TYPE_COUNT];
static int tiles_run[EL_CPU_LEVEL_COUNT][EL_TYPE_COUNT];

#define SENTINEL -1234.5f

/* Runs fn on the nr x nc tile at row r0, column c0 of p and checks every result and that
 * nothing around them was written. li: index into levels (-1: the reference tile). */
static void check_tile_at(el_gemm_fn fn, int li, const problem *p, const uint8_t *x, size_t bx,
                          int r0, int nr, int c0, int nc, const char *what);
static void check_tile(el_gemm_fn fn, int li, const problem *p, int r0, int nr, int c0, int nc,
                       const char *what) {
    check_tile_at(fn, li, p, p->x + p->bx * (size_t)r0, p->bx, r0, nr, c0, nc, what);
}

/* The same with the tile's rows given as x / bx (a packed matrix's group and stride). */
static void check_tile_at(el_gemm_fn fn, int li, const problem *p, const uint8_t *x, size_t bx,
                          int r0, int nr, int c0, int nc, const char *what) {
    const el_type_info *ti = el_type_traits(p->q->t);
    const size_t bs = (size_t)nr + 1 + rnd64() % 5; /* output stride in floats */
    const size_t ns = bs * (size_t)nc + 2;
    float *out = malloc(sizeof(float) * ns);
    if (!out) abort();
    for (size_t i = 0; i < ns; i++)
        out[i] = SENTINEL;
    float *s = out + 1;
    fn(p->n, s, bs, x, bx, nr, p->y + p->by * (size_t)c0, p->by, nc);
    const char *lname = li < 0 ? "ref" : el_kernels_level_name(levels[li]);
    int bad = 0;
    for (size_t i = 0; i < ns && !bad; i++) {
        const size_t k = i - 1; /* index into s */
        const bool inside = i >= 1 && k % bs < (size_t)nr && k / bs < (size_t)nc;
        if (!inside) {
            if (out[i] != SENTINEL) {
                CHECK(0, "%s %s %s %dx%d: wrote outside the tile at s[%zd]", lname, ti->name, what,
                      nr, nc, (ptrdiff_t)i - 1);
                bad = 1;
            }
            continue;
        }
        const int r = r0 + (int)(k % bs), c = c0 + (int)(k / bs);
        const size_t at = (size_t)c * p->rows + (size_t)r;
        const double want = p->want[at], m = p->mag[at];
        const double err = fabs((double)s[k] - want);
        double tol;
        if (li < 0)
            tol = 0; /* the reference tile is the reference vec_dot */
        else if (ti->blck_size == 1)
            tol = (p->n / 8.0 + 16) * FLT_EPSILON * m + 1e-30;
        else
            tol = 2.0 * (p->nb + 6) * FLT_EPSILON * m + 1e-30;
        if (!(err <= tol)) {
            CHECK(0,
                  "%s %s %s nb=%d tile %dx%d at (%d,%d): s[r=%d,c=%d] %.9g vs ref %.9g "
                  "(err %.3g tol %.3g)",
                  lname, ti->name, what, p->nb, nr, nc, r0, c0, r - r0, c - c0, s[k], want, err,
                  tol);
            bad = 1;
        }
        if (li >= 0 && m > 0 && err / (FLT_EPSILON * m) > worst[li][p->q->t])
            worst[li][p->q->t] = err / (FLT_EPSILON * m);
    }
    if (!bad) CHECK(1, "tile");
    if (li >= 0) tiles_run[li][p->q->t]++;
    free(out);
}

/* Short rows: every tile shape of every level's kernel, at offset tiles. */
static void test_tiles_short(void) {
    static const int nbs[] = {1, 2, 3, 5};
    for (size_t qi = 0; qi < EL_ARRAY_LEN(qtypes); qi++) {
        const qtype *q = &qtypes[qi];
        const el_type_info *ti = el_type_traits(q->t);
        int mr = 1, ncm = 1, any = 0;
        for (int l = 1; l < n_levels; l++) {
            const el_gemm_kernel *g = el_kernels_gemm(levels[l], q->t);
            if (!g || !g->gemm) continue;
            any = 1;
            mr = EL_MAX(mr, g->mr);
            ncm = EL_MAX(ncm, g->nc);
        }
        for (size_t ni = 0; ni < EL_ARRAY_LEN(nbs); ni++) {
            /* f16 (blck_size 1): lengths that are not multiples of the vector width too */
            const int nb = ti->blck_size == 1 ? (int)(nbs[ni] * 37 + ni) : nbs[ni];
            const int dist = (int)(ni + qi) % (D_COUNT + 1);
            problem p;
            problem_make(&p, q, nb, mr + 2, ncm + 2, dist);
            char what[32];
            snprintf(what, sizeof what, "w=%s", dist_name[dist]);
            /* the reference tile: bit-exact */
            check_tile(el_kernels_gemm_ref(q->t), -1, &p, 1, 2, 1, 2, what);
            for (int l = 1; any && l < n_levels; l++) {
                const el_gemm_kernel *g = el_kernels_gemm(levels[l], q->t);
                if (!g || !g->gemm) continue;
                for (int nr = 1; nr <= g->mr; nr++)
                    for (int nc = 1; nc <= g->nc; nc++)
                        check_tile(g->gemm, l, &p, (nr + nc) % 3, nr, (nr * nc) % 3, nc, what);
            }
            problem_free(&p);
        }
    }
}

/* Real row lengths: the full tile and a ragged one. */
static void test_tiles_real(void) {
    static const int lens[] = {896, 2048, 4864};
    for (size_t qi = 0; qi < EL_ARRAY_LEN(qtypes); qi++) {
        const qtype *q = &qtypes[qi];
        const el_type_info *ti = el_type_traits(q->t);
        int mr = 0, ncm = 0;
        for (int l = 1; l < n_levels; l++) {
            const el_gemm_kernel *g = el_kernels_gemm(levels[l], q->t);
            if (!g || !g->gemm) continue;
            mr = EL_MAX(mr, g->mr);
            ncm = EL_MAX(ncm, g->nc);
        }
        if (!mr) continue;
        for (size_t li = 0; li < EL_ARRAY_LEN(lens); li++) {
            if (lens[li] % ti->blck_size) continue;
            const int dist = (int)(li + qi) % (D_COUNT + 1);
            problem p;
            problem_make(&p, q, lens[li] / ti->blck_size, mr, ncm, dist);
            char what[32];
            snprintf(what, sizeof what, "w=%s", dist_name[dist]);
            for (int l = 1; l < n_levels; l++) {
                const el_gemm_kernel *g = el_kernels_gemm(levels[l], q->t);
                if (!g || !g->gemm) continue;
                check_tile(g->gemm, l, &p, 0, g->mr, 0, g->nc, what);
                check_tile(g->gemm, l, &p, 0, EL_MAX(1, g->mr - 3), 0, EL_MAX(1, g->nc - 1), what);
            }
            problem_free(&p);
        }
    }
}

/* Packed matrices (kernels/repack.h): the layout round-trips, and every level's packed tiles
 * (decode's and prefill's) match the reference over a matrix whose last group is partial,
 * for every tile start (group boundaries), nr and nc, from an exact-size packed buffer. */
static int packed_run[EL_CPU_LEVEL_COUNT];
static void test_packed(void) {
    for (size_t qi = 0; qi < EL_ARRAY_LEN(qtypes); qi++) {
        const qtype *q = &qtypes[qi];
        const el_type_info *ti = el_type_traits(q->t);
        int mr = 0, ncm = 0;
        for (int l = 1; l < n_levels; l++) {
            const el_packed_kernels *pk = el_kernels_packed(levels[l], q->t);
            if (pk && pk->gemv.gemm) mr = EL_MAX(mr, pk->gemv.mr), ncm = EL_MAX(ncm, 1);
            if (pk && pk->gemm.gemm) mr = EL_MAX(mr, pk->gemm.mr), ncm = EL_MAX(ncm, pk->gemm.nc);
        }
        CHECK((mr > 0) == (el_repack_bytes(q->t, 8, 256) > 0) || mr == 0,
              "%s: packed kernels without a packed layout", ti->name);
        if (!mr) continue;
        /* blocks per row: 28 x 32 is Qwen2.5-0.5B's 896, 8 x 256 Llama-3.2-1B's 2048 */
        static const int nbs[] = {1, 3, 28};
        for (size_t ni = 0; ni < EL_ARRAY_LEN(nbs); ni++) {
            const int dist = (int)(ni + qi) % (D_COUNT + 1);
            const int rows = 2 * mr + 5; /* the last group partial */
            problem p;
            problem_make(&p, q, ti->blck_size == 32 ? nbs[ni] : (int)ni * 3 + 1, rows, ncm, dist);
            const size_t pb = el_repack_bytes(q->t, rows, p.n),
                         gb = el_repack_group_bytes(q->t, p.n);
            const int groups = (rows + EL_REPACK_ROWS - 1) / EL_REPACK_ROWS;
            REQUIRE(pb == (size_t)groups * gb &&
                    gb == (size_t)EL_REPACK_ROWS * el_row_size(q->t, p.n));
            uint8_t *pw = malloc(pb), *row = malloc(el_row_size(q->t, p.n));
            REQUIRE(pw && row);
            el_repack_groups(q->t, p.x, p.bx, rows, p.n, pw, 0, groups);
            for (int r = 0; r < groups * EL_REPACK_ROWS; r++) {
                el_repack_unpack_row(q->t, pw, p.n, r, row);
                const int src = EL_MIN(r, rows - 1); /* padding rows repeat the last */
                CHECK(!memcmp(row, p.x + p.bx * (size_t)src, el_row_size(q->t, p.n)),
                      "%s nb=%d: packed row %d does not unpack to row %d", ti->name, nbs[ni], r,
                      src);
            }
            char what[40];
            snprintf(what, sizeof what, "packed w=%s", dist_name[dist]);
            for (int l = 1; l < n_levels; l++) {
                const el_packed_kernels *pk = el_kernels_packed(levels[l], q->t);
                const el_gemm_kernel *ks[2] = {pk ? &pk->gemv : NULL, pk ? &pk->gemm : NULL};
                for (int k = 0; k < 2; k++) {
                    const el_gemm_kernel *g = ks[k];
                    if (!g || !g->gemm) continue;
                    CHECK(g->mr % EL_REPACK_ROWS == 0, "packed tiles span whole groups");
                    for (int r0 = 0; r0 < rows; r0 += g->mr)
                        for (int nc = 1; nc <= g->nc; nc++) {
                            const int nr = EL_MIN(g->mr, rows - r0);
                            check_tile_at(g->gemm, l, &p, pw + (size_t)(r0 / EL_REPACK_ROWS) * gb,
                                          gb, r0, nr, 0, nc, what);
                            if (nr > 1)
                                check_tile_at(g->gemm, l, &p,
                                              pw + (size_t)(r0 / EL_REPACK_ROWS) * gb, gb, r0,
                                              nr - 1, 0, nc, what);
                        }
                    packed_run[l]++;
                }
            }
            free(pw);
            free(row);
            problem_free(&p);
        }
    }
    CHECK(el_repack_bytes(EL_TYPE_Q4_1, 8, 256) == 0, "q4_1 has no packed layout");
    CHECK(el_repack_bytes(EL_TYPE_Q4_K, 8, 384) == 0, "a partial super-block cannot be packed");
    CHECK(el_repack_bytes(EL_TYPE_Q4_0, 8, 48) == 0, "a partial block cannot be packed");
    CHECK(el_repack_bytes(EL_TYPE_Q4_0, INT64_MAX, 1 << 20) == 0, "overflow is 0");
}

/* The levels a build must fill, where the machine runs them. */
static void test_coverage(void) {
    static const int must[] = {EL_TYPE_Q4_0, EL_TYPE_Q8_0, EL_TYPE_Q4_K,
                               EL_TYPE_Q5_K, EL_TYPE_Q6_K, EL_TYPE_F16};
    CHECK(el_kernels_gemm(EL_CPU_SCALAR, EL_TYPE_Q4_0) != NULL);
    CHECK(el_kernels_gemm(EL_CPU_SCALAR, EL_TYPE_Q4_0)->gemm == NULL, "scalar has no tiles");
    CHECK(el_kernels_gemm(EL_CPU_SCALAR, -1) == NULL);
    CHECK(el_kernels_gemm(EL_CPU_SCALAR, EL_TYPE_COUNT) == NULL);
    CHECK(el_kernels_gemm(-5, EL_TYPE_Q4_0) == NULL);
    CHECK(el_kernels_gemm_ref(EL_TYPE_Q8_K) == NULL, "q8_K is an activation type");
    CHECK(el_kernels_packed(EL_CPU_SCALAR, EL_TYPE_Q4_0) != NULL);
    CHECK(el_kernels_packed(EL_CPU_SCALAR, EL_TYPE_Q4_0)->gemv.gemm == NULL, "scalar: no packed");
    CHECK(el_kernels_packed(-5, EL_TYPE_Q4_0) == NULL);
    for (int l = 1; l < n_levels; l++) {
        const el_packed_kernels *pk = el_kernels_packed(levels[l], EL_TYPE_Q4_0);
        if (pk && pk->gemv.gemm) CHECK(packed_run[l] > 0, "packed tiles never ran");
    }
    for (int l = 1; l < n_levels; l++)
        for (size_t i = 0; i < EL_ARRAY_LEN(must); i++) {
            const el_gemm_kernel *g = el_kernels_gemm(levels[l], must[i]);
            CHECK(g && g->gemm && g->mr >= 1 && g->nc >= 1, "%s has no %s tile kernel",
                  el_kernels_level_name(levels[l]), el_type_traits(must[i])->name);
            if (g && g->gemm)
                CHECK(tiles_run[l][must[i]] > 0, "%s %s never ran",
                      el_kernels_level_name(levels[l]), el_type_traits(must[i])->name);
        }
}

int main(int argc, char **argv) {
    (void)argc;
    int all[EL_CPU_LEVEL_COUNT];
    const int na = el_kernels_levels(all, EL_CPU_LEVEL_COUNT);
    for (int i = 0; i < na; i++)
        if (el_kernels_level_available(all[i])) levels[n_levels++] = all[i];
    printf("levels:");
    for (int i = 0; i < n_levels; i++)
        printf(" %s", el_kernels_level_name(levels[i]));
    printf("\n");
    RUN(test_tiles_short);
    RUN(test_tiles_real);
    RUN(test_packed);
    RUN(test_coverage);
    for (int l = 1; l < n_levels; l++)
        for (int t = 0; t < EL_TYPE_COUNT; t++)
            if (tiles_run[l][t])
                printf("  %-7s %-7s %5d tiles, max err %.2f eps*M\n",
                       el_kernels_level_name(levels[l]), el_type_traits(t)->name, tiles_run[l][t],
                       worst[l][t]);
    return test_summary(argv[0]);
}
