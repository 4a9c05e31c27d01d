/* tests/unit/test_quants.c — block layouts, scalar reference kernels and their agreement with
 * llama.cpp (ggml 1eeb523c).
 *
 *   layout     struct sizes == the traits table's geometry; every listed type has its kernels
 *   known      hand-built blocks -> exact floats (q4_0, q4_1, q5_0, q8_0, q2_K, q3_K, q4_K,
 *              q5_K, q6_K, q8_K, iq4_nl, iq4_xs, mxfp4)
 *   roundtrip  quantize -> dequantize error per type over several distributions, against a
 *              per-type bound (see bound_for)
 *   vec_dot    kernel vs double-precision dot of the two dequantized vectors
 *   golden     tests/golden/quants: our dequant of ggml's bytes == ggml's floats bit for bit,
 *              our quantize of the same input == ggml's bytes, our vec_dot ~ ggml's
 *   bad input  NaN / inf / huge values never crash the quantizers (UBSan watches)
 *   model      el_quantize_model on a synthetic 8-layer llama: llama-quantize's per-tensor
 *              types for several mixes (expected types derived by hand from llama-quant.cpp's
 *              rules), tensor order, metadata kept, bytes == from_float of the source rows,
 *              thread count does not change the file, F16 and quantized sources, errors
 *
 * The kernels are taken from el_quants_ref(), not the traits table: after SIMD dispatch the
 * table may point at faster variants (tests/unit/test_kernels.c holds those to these).
 * Runs on aarch64 under qemu too (make cross): files are read as little-endian bytes and
 * decoded explicitly, buffers come from malloc (aligned for every block type).
 */
#include "test.h"

#include "core/core.h"
#include "gguf/gguf.h"
#include "kernels/quantize_model.h"
#include "kernels/quants.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t rng = 88172645463325252ull;
static uint64_t next_u64(void) {
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double uniform01(void) {
    return (double)(next_u64() >> 11) * (1.0 / 9007199254740992.0);
}
static double gauss(void) {
    double u1 = uniform01(), u2 = uniform01();
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static float le_f32(const uint8_t *p) {
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return el_bits_f32(u);
}

/* Weight types whose reference quantizer must exist (the brief's list, plus mxfp4). */
static const int weight_types[] = {
    EL_TYPE_F16,  EL_TYPE_BF16, EL_TYPE_Q4_0,   EL_TYPE_Q4_1,   EL_TYPE_Q5_0,
    EL_TYPE_Q5_1, EL_TYPE_Q8_0, EL_TYPE_Q2_K,   EL_TYPE_Q3_K,   EL_TYPE_Q4_K,
    EL_TYPE_Q5_K, EL_TYPE_Q6_K, EL_TYPE_IQ4_NL, EL_TYPE_IQ4_XS, EL_TYPE_MXFP4,
};

static void *qalloc(int t, int64_t n) {
    size_t rs = el_row_size(t, n);
    return calloc(1, rs ? rs : 1);
}

/* ---- layout ------------------------------------------------------------------------------- */

static void test_layout(void) {
    static const struct {
        int t;
        size_t size;
        int blck;
        int vdt;
    } want[] = {
        {EL_TYPE_F32, 4, 1, EL_TYPE_F32},
        {EL_TYPE_F16, 2, 1, EL_TYPE_F16},
        {EL_TYPE_BF16, 2, 1, EL_TYPE_BF16},
        {EL_TYPE_Q4_0, sizeof(el_block_q4_0), EL_QK4_0, EL_TYPE_Q8_0},
        {EL_TYPE_Q4_1, sizeof(el_block_q4_1), EL_QK4_1, EL_TYPE_Q8_1},
        {EL_TYPE_Q5_0, sizeof(el_block_q5_0), EL_QK5_0, EL_TYPE_Q8_0},
        {EL_TYPE_Q5_1, sizeof(el_block_q5_1), EL_QK5_1, EL_TYPE_Q8_1},
        {EL_TYPE_Q8_0, sizeof(el_block_q8_0), EL_QK8_0, EL_TYPE_Q8_0},
        {EL_TYPE_Q8_1, sizeof(el_block_q8_1), EL_QK8_1, EL_TYPE_Q8_1},
        {EL_TYPE_Q2_K, sizeof(el_block_q2_K), EL_QK_K, EL_TYPE_Q8_K},
        {EL_TYPE_Q3_K, sizeof(el_block_q3_K), EL_QK_K, EL_TYPE_Q8_K},
        {EL_TYPE_Q4_K, sizeof(el_block_q4_K), EL_QK_K, EL_TYPE_Q8_K},
        {EL_TYPE_Q5_K, sizeof(el_block_q5_K), EL_QK_K, EL_TYPE_Q8_K},
        {EL_TYPE_Q6_K, sizeof(el_block_q6_K), EL_QK_K, EL_TYPE_Q8_K},
        {EL_TYPE_Q8_K, sizeof(el_block_q8_K), EL_QK_K, EL_TYPE_Q8_K},
        {EL_TYPE_IQ4_NL, sizeof(el_block_iq4_nl), EL_QK4_NL, EL_TYPE_Q8_0},
        {EL_TYPE_IQ4_XS, sizeof(el_block_iq4_xs), EL_QK_K, EL_TYPE_Q8_K},
        {EL_TYPE_MXFP4, sizeof(el_block_mxfp4), EL_QK_MXFP4, EL_TYPE_Q8_0},
    };
    for (size_t i = 0; i < EL_ARRAY_LEN(want); i++) {
        const el_type_info *ti = el_type_traits(want[i].t);
        REQUIRE(ti != NULL, "type %d", want[i].t);
        CHECK(ti->type_size == want[i].size, "%s: %zu vs %zu", ti->name, ti->type_size,
              want[i].size);
        CHECK(ti->blck_size == want[i].blck, "%s", ti->name);
        CHECK((int)ti->vec_dot_type == want[i].vdt, "%s vec_dot_type %d", ti->name,
              (int)ti->vec_dot_type);
        CHECK(ti->to_float != NULL, "%s has no to_float", ti->name);
        CHECK(ti->from_float != NULL, "%s has no from_float", ti->name);
        if (want[i].t != EL_TYPE_Q8_1 && want[i].t != EL_TYPE_Q8_K)
            CHECK(ti->vec_dot != NULL, "%s has no vec_dot", ti->name);
        const el_quant_kernels *rk = el_quants_ref(want[i].t);
        REQUIRE(rk != NULL);
        CHECK(rk->to_float != NULL && rk->from_float != NULL, "%s", ti->name);
    }
    CHECK(el_quants_ref(-1) == NULL && el_quants_ref(EL_TYPE_COUNT) == NULL);
    CHECK(el_row_size(EL_TYPE_Q4_K, 4096) == 16 * 144);
    CHECK(el_row_size(EL_TYPE_Q4_K, 4000) == 0); /* not a multiple of 256 */
    CHECK(el_row_size(EL_TYPE_Q8_0, 64) == 68);
}

/* ---- known answers ------------------------------------------------------------------------ */

static el_fp16 h(float f) {
    el_fp16 r = el_fp32_to_fp16(f);
    return r;
}

static void test_known_q4_0_q8_0(void) {
    el_block_q4_0 b;
    b.d = h(0.5f);
    for (int j = 0; j < 16; j++)
        b.qs[j] = (uint8_t)(j | (15 - j) << 4);
    float y[32];
    el_quants_to_float_q4_0(&b, y, 32);
    for (int j = 0; j < 16; j++) {
        CHECK(y[j] == (j - 8) * 0.5f, "q4_0 low %d: %g", j, y[j]);
        CHECK(y[j + 16] == (7 - j) * 0.5f, "q4_0 high %d: %g", j, y[j + 16]);
    }
    /* quantizing those floats gives the extreme -4 -> d = -4 / -8 = 0.5 back, same nibbles */
    el_block_q4_0 r;
    el_quants_from_float_q4_0(y, &r, 32);
    CHECK(r.d == b.d && !memcmp(r.qs, b.qs, 16), "q4_0 requantize");

    el_block_q8_0 c;
    c.d = h(0.25f);
    for (int j = 0; j < 32; j++)
        c.qs[j] = (int8_t)(j * 8 - 127);
    el_quants_to_float_q8_0(&c, y, 32);
    for (int j = 0; j < 32; j++)
        CHECK(y[j] == (j * 8 - 127) * 0.25f, "q8_0 %d", j);
}

static void test_known_q4_1_q5(void) {
    float y[32];
    el_block_q4_1 a;
    a.d = h(0.125f);
    a.m = h(-1.0f);
    for (int j = 0; j < 16; j++)
        a.qs[j] = (uint8_t)(j | j << 4);
    el_quants_to_float_q4_1(&a, y, 32);
    for (int j = 0; j < 16; j++)
        CHECK(y[j] == j * 0.125f - 1.0f && y[j + 16] == y[j], "q4_1 %d", j);

    /* q5_0: element e gets q = e (0..31); bit 4 of element e is bit e of qh */
    el_block_q5_0 b;
    b.d = h(2.0f);
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
        b.qs[j] = (uint8_t)((j & 15) | ((j + 16) & 15) << 4);
        qh |= (uint32_t)((j >> 4) & 1) << j | (uint32_t)(((j + 16) >> 4) & 1) << (j + 16);
    }
    for (int k = 0; k < 4; k++)
        b.qh[k] = (uint8_t)(qh >> (8 * k));
    el_quants_to_float_q5_0(&b, y, 32);
    for (int e = 0; e < 32; e++)
        CHECK(y[e] == (e - 16) * 2.0f, "q5_0 %d: %g", e, y[e]);

    el_block_q5_1 c;
    c.d = h(0.5f);
    c.m = h(3.0f);
    memcpy(c.qh, b.qh, 4);
    memcpy(c.qs, b.qs, 16);
    el_quants_to_float_q5_1(&c, y, 32);
    for (int e = 0; e < 32; e++)
        CHECK(y[e] == e * 0.5f + 3.0f, "q5_1 %d", e);
}

static void pack_k4(uint8_t *scales, const uint8_t *sc, const uint8_t *m) {
    memset(scales, 0, 12);
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            scales[j] = sc[j];
            scales[j + 4] = m[j];
        } else {
            scales[j + 4] = (uint8_t)((sc[j] & 0xF) | (m[j] & 0xF) << 4);
            scales[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
            scales[j] |= (uint8_t)((m[j] >> 4) << 6);
        }
    }
}

static void test_known_q4_K_q5_K(void) {
    static const uint8_t sc[8] = {1, 2, 3, 4, 60, 33, 17, 63};
    static const uint8_t mn[8] = {0, 1, 2, 63, 40, 50, 16, 5};
    el_block_q4_K b;
    b.d = h(0.5f);
    b.dmin = h(0.25f);
    pack_k4(b.scales, sc, mn);
    for (int j = 0; j < 8; j++) {
        uint8_t s, m;
        el_quants_scale_min_k4(j, b.scales, &s, &m);
        CHECK(s == sc[j] && m == mn[j], "k4 scales %d: %u %u", j, s, m);
    }
    /* element e: sub-block e/32, q = (e * 7) % 16; stored per 64: byte l = e%32 of chunk
     * e/64, low nibble for the first 32 */
    for (int e = 0; e < 256; e++) {
        int q = (e * 7) % 16, byte = (e / 64) * 32 + e % 32;
        if ((e / 32) % 2 == 0)
            b.qs[byte] = (uint8_t)q;
        else
            b.qs[byte] |= (uint8_t)(q << 4);
    }
    float y[256];
    el_quants_to_float_q4_K(&b, y, 256);
    int bad = 0;
    for (int e = 0; e < 256; e++) {
        float want = (0.5f * sc[e / 32]) * ((e * 7) % 16) - 0.25f * mn[e / 32];
        if (y[e] != want) bad++;
    }
    CHECK(bad == 0, "q4_K: %d wrong", bad);

    el_block_q5_K c;
    c.d = b.d;
    c.dmin = b.dmin;
    memcpy(c.scales, b.scales, 12);
    memset(c.qh, 0, sizeof c.qh);
    for (int e = 0; e < 256; e++) {
        int q = (e * 11) % 32, byte = (e / 64) * 32 + e % 32;
        if ((e / 32) % 2 == 0)
            c.qs[byte] = (uint8_t)(q & 15);
        else
            c.qs[byte] |= (uint8_t)((q & 15) << 4);
        if (q & 16) c.qh[e % 32] |= (uint8_t)(1 << (e / 32));
    }
    el_quants_to_float_q5_K(&c, y, 256);
    bad = 0;
    for (int e = 0; e < 256; e++) {
        float want = (0.5f * sc[e / 32]) * ((e * 11) % 32) - 0.25f * mn[e / 32];
        if (y[e] != want) bad++;
    }
    CHECK(bad == 0, "q5_K: %d wrong", bad);
}

static void test_known_q6_K(void) {
    el_block_q6_K b;
    memset(&b, 0, sizeof b);
    b.d = h(0.125f);
    for (int j = 0; j < 16; j++)
        b.scales[j] = (int8_t)(j * 9 - 70);
    for (int e = 0; e < 256; e++) {
        int q = (e * 5 + 3) % 64;
        int half = e / 128, r = e % 128, l = r % 32, quarter = r / 32;
        uint8_t *ql = b.ql + 64 * half, *qh = b.qh + 32 * half;
        int idx = l + (quarter & 1) * 32; /* quarters 0,2 -> ql[l]; 1,3 -> ql[l+32] */
        ql[idx] |= (uint8_t)((q & 15) << (quarter >= 2 ? 4 : 0));
        qh[l] |= (uint8_t)((q >> 4) << (2 * quarter));
    }
    float y[256];
    el_quants_to_float_q6_K(&b, y, 256);
    int bad = 0;
    for (int e = 0; e < 256; e++) {
        float want = 0.125f * (float)(e / 16 * 9 - 70) * ((e * 5 + 3) % 64 - 32);
        if (y[e] != want) bad++;
    }
    CHECK(bad == 0, "q6_K: %d wrong", bad);
}

static void test_known_q2_K_q3_K(void) {
    float y[256];
    el_block_q2_K a;
    memset(&a, 0, sizeof a);
    a.d = h(0.5f);
    a.dmin = h(0.125f);
    for (int j = 0; j < 16; j++)
        a.scales[j] = (uint8_t)((j & 15) | ((15 - j) << 4));
    for (int e = 0; e < 256; e++) {
        int q = (e / 3) % 4, half = e / 128, r = e % 128;
        a.qs[32 * half + r % 32] |= (uint8_t)(q << (2 * (r / 32)));
    }
    el_quants_to_float_q2_K(&a, y, 256);
    int bad = 0;
    for (int e = 0; e < 256; e++) {
        int j = e / 16;
        float want = (0.5f * (j & 15)) * ((e / 3) % 4) - 0.125f * (15 - j);
        if (y[e] != want) bad++;
    }
    CHECK(bad == 0, "q2_K: %d wrong", bad);

    el_block_q3_K b;
    memset(&b, 0, sizeof b);
    b.d = h(0.25f);
    for (int j = 0; j < 16; j++) {
        int u = j * 4 + 1; /* stored 6-bit, value u - 32 */
        if (j < 8)
            b.scales[j] = (uint8_t)(u & 15);
        else
            b.scales[j - 8] |= (uint8_t)((u & 15) << 4);
        b.scales[8 + j % 4] |= (uint8_t)((u >> 4) << (2 * (j / 4)));
    }
    for (int e = 0; e < 256; e++) {
        int q = (e * 3) % 8, half = e / 128, r = e % 128;
        b.qs[32 * half + r % 32] |= (uint8_t)((q & 3) << (2 * (r / 32)));
        if (q & 4) b.hmask[e % 32] |= (uint8_t)(1 << (e / 32));
    }
    el_quants_to_float_q3_K(&b, y, 256);
    bad = 0;
    for (int e = 0; e < 256; e++) {
        float want = (0.25f * (e / 16 * 4 + 1 - 32)) * ((e * 3) % 8 - 4);
        if (y[e] != want) bad++;
    }
    CHECK(bad == 0, "q3_K: %d wrong", bad);
}

static void test_known_iq4_q8_K_mxfp4(void) {
    float y[256];
    el_block_iq4_nl a;
    a.d = h(1.0f);
    for (int j = 0; j < 16; j++)
        a.qs[j] = (uint8_t)(j | (15 - j) << 4);
    el_quants_to_float_iq4_nl(&a, y, 32);
    static const int kv[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                               1,    13,   25,  38,  53,  69,  89,  113};
    for (int j = 0; j < 16; j++)
        CHECK(y[j] == kv[j] && y[j + 16] == kv[15 - j], "iq4_nl %d: %g %g", j, y[j], y[j + 16]);

    el_block_iq4_xs b;
    memset(&b, 0, sizeof b);
    b.d = h(0.5f);
    uint16_t sh = 0;
    for (int ib = 0; ib < 8; ib++) {
        int ls = ib * 9; /* 0..63, value ls - 32 */
        b.scales_l[ib / 2] |= (uint8_t)((ls & 15) << 4 * (ib % 2));
        sh |= (uint16_t)((ls >> 4) << 2 * ib);
    }
    b.scales_h[0] = (uint8_t)sh;
    b.scales_h[1] = (uint8_t)(sh >> 8);
    for (int e = 0; e < 256; e++) {
        int q = (e * 7) % 16, ib = e / 32, r = e % 32;
        b.qs[16 * ib + r % 16] |= (uint8_t)(q << (r >= 16 ? 4 : 0));
    }
    el_quants_to_float_iq4_xs(&b, y, 256);
    int bad = 0;
    for (int e = 0; e < 256; e++)
        if (y[e] != (0.5f * (e / 32 * 9 - 32)) * kv[(e * 7) % 16]) bad++;
    CHECK(bad == 0, "iq4_xs: %d wrong", bad);

    el_block_q8_K c;
    c.d = 0.5f;
    for (int j = 0; j < 256; j++)
        c.qs[j] = (int8_t)(j - 128);
    el_quants_to_float_q8_K(&c, y, 256);
    bad = 0;
    for (int j = 0; j < 256; j++)
        if (y[j] != 0.5f * (j - 128)) bad++;
    CHECK(bad == 0, "q8_K: %d wrong", bad);
    /* quantize: amax -> -127 * sign, bsums are sums of 16 */
    float x[256];
    for (int j = 0; j < 256; j++)
        x[j] = (float)(j % 17) - 8.0f;
    x[100] = -12.7f;
    el_quants_from_float_q8_K(x, &c, 256);
    CHECK(c.qs[100] == -127, "q8_K extreme %d", c.qs[100]); /* iscale = -127 / -12.7 */
    CHECK_NEAR(c.d, 0.1f, 1e-7);
    for (int j = 0; j < 16; j++) {
        int sum = 0;
        for (int l = 0; l < 16; l++)
            sum += c.qs[16 * j + l];
        CHECK(c.bsums[j] == sum, "bsums %d", j);
    }

    el_block_mxfp4 m;
    m.e = 128; /* 2^(128-128) = 1: values are the doubled e2m1 table itself */
    for (int j = 0; j < 16; j++)
        m.qs[j] = (uint8_t)(j | (15 - j) << 4);
    el_quants_to_float_mxfp4(&m, y, 32);
    static const int km[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
    for (int j = 0; j < 16; j++)
        CHECK(y[j] == km[j] && y[j + 16] == km[15 - j], "mxfp4 %d", j);
    m.e = 0; /* 2^-128: subnormal */
    el_quants_to_float_mxfp4(&m, y, 32);
    CHECK(y[1] == ldexpf(1.0f, -128), "mxfp4 e=0: %g", y[1]);
}

/* ---- round trip --------------------------------------------------------------------------- */

enum { DIST_GAUSS, DIST_UNIFORM, DIST_OUTLIERS, DIST_ZERO, DIST_CONST, DIST_COUNT };
static const char *dist_name[DIST_COUNT] = {"gaussian", "uniform", "outliers", "zero", "const"};

static void fill(float *x, int n, int dist) {
    for (int i = 0; i < n; i++) {
        switch (dist) {
        case DIST_GAUSS:
            x[i] = (float)gauss();
            break;
        case DIST_UNIFORM:
            x[i] = (float)(2 * uniform01() - 1);
            break;
        /* a weight-like bulk with a few 30x outliers: the case block scales are bad at */
        case DIST_OUTLIERS:
            x[i] = (float)(gauss() * (next_u64() % 61 == 0 ? 30 : 1));
            break;
        case DIST_ZERO:
            x[i] = 0;
            break;
        case DIST_CONST:
            x[i] = (i / 512) % 2 ? -0.73f : 1.3f;
            break; /* constant rows */
        }
    }
}

/* Bound on RMSE(x - dequant(quant(x))) / RMS(x) for a gaussian or uniform input.
 *
 * A uniform quantizer with step D has RMS error about D / sqrt(12). The legacy types scale a
 * 32-block by its largest magnitude, ~2.1 sigma on average for N(0,1) (up to ~3), so
 * q4_0: D ~ 2.1/8 -> 0.076 sigma, q5_0: D/2 -> 0.038, q8_0: 2.1/127 -> 0.0048; the affine
 * q4_1/q5_1 spread min..max (~4.2 sigma) over 15 / 31 steps -> 0.081 / 0.039; q8_K scales 256
 * elements by their max (~2.9 sigma) -> 0.0066. The K-quants and IQ4 fit their scales (and
 * mins) by weighted least squares per 16/32 elements, which analysis does not pin down; their
 * bounds come from measurement (8192 samples, this generator; gaussian / uniform):
 *   q2_K .294/.233  q3_K .152/.126  q4_K .072/.054  q5_K .036/.028  q6_K .018/.013
 *   iq4_nl .077/.064  iq4_xs .077/.065  mxfp4 .117/.143 (power-of-two scale)
 * and measured legacy values sit as predicted: q4_0 .086, q4_1 .078, q5_0 .042, q5_1 .038,
 * q8_0 .0054, q8_K .0071. Each bound is ~1.3x the larger measured value. fp16 / bf16 are
 * relative rounding, 2^-11 / 2^-8 over sqrt(3) for a uniform mantissa error, times ~2.
 * Outlier inputs (30x spikes) get twice the bound (4x for q8_K, whose one scale per 256
 * elements is set by the spike): the scale follows the outlier and the bulk loses bits. */
static double bound_for(int t) {
    switch (t) {
    case EL_TYPE_F16:
        return 4e-4;
    case EL_TYPE_BF16:
        return 3e-3;
    case EL_TYPE_Q8_0:
        return 0.0072;
    case EL_TYPE_Q8_1:
        return 0.0072;
    case EL_TYPE_Q8_K:
        return 0.0095;
    case EL_TYPE_Q4_0:
        return 0.11;
    case EL_TYPE_Q4_1:
        return 0.10;
    case EL_TYPE_Q5_0:
        return 0.055;
    case EL_TYPE_Q5_1:
        return 0.05;
    case EL_TYPE_Q2_K:
        return 0.39;
    case EL_TYPE_Q3_K:
        return 0.20;
    case EL_TYPE_Q4_K:
        return 0.095;
    case EL_TYPE_Q5_K:
        return 0.048;
    case EL_TYPE_Q6_K:
        return 0.024;
    case EL_TYPE_IQ4_NL:
        return 0.10;
    case EL_TYPE_IQ4_XS:
        return 0.10;
    case EL_TYPE_MXFP4:
        return 0.19;
    }
    return 0;
}

static void test_roundtrip(void) {
    enum { N = 8192 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    REQUIRE(x && y);
    int types[EL_ARRAY_LEN(weight_types) + 2];
    int nt = 0;
    for (size_t i = 0; i < EL_ARRAY_LEN(weight_types); i++)
        types[nt++] = weight_types[i];
    types[nt++] = EL_TYPE_Q8_1;
    types[nt++] = EL_TYPE_Q8_K;
    for (int ti = 0; ti < nt; ti++) {
        const int t = types[ti];
        const el_type_info *info = el_type_traits(t);
        void *q = qalloc(t, N);
        REQUIRE(q);
        for (int dist = 0; dist < DIST_COUNT; dist++) {
            fill(x, N, dist);
            el_quants_ref(t)->from_float(x, q, N);
            el_quants_ref(t)->to_float(q, y, N);
            double se = 0, sx = 0, maxrel = 0;
            for (int i = 0; i < N; i++) {
                double e = (double)x[i] - y[i];
                se += e * e;
                sx += (double)x[i] * x[i];
                if (x[i] != 0) maxrel = fmax(maxrel, fabs(e / x[i]));
            }
            if (dist == DIST_ZERO) {
                CHECK(se == 0, "%s: zeros came back as non-zero", info->name);
                continue;
            }
            double rel = sqrt(se / sx);
            if (getenv("EL_QUANTS_VERBOSE"))
                printf("%-7s %-9s rel rmse %.5f\n", info->name, dist_name[dist], rel);
            if (dist == DIST_CONST) {
                /* a constant block is representable up to the fp16 rounding of its scale
                 * (and its min) — except q2_K/q3_K/mxfp4, whose coarse grids land a constant
                 * within a step: bound those by the type's general bound */
                double b = (t == EL_TYPE_Q2_K || t == EL_TYPE_Q3_K || t == EL_TYPE_MXFP4)
                               ? bound_for(t)
                               : (t == EL_TYPE_BF16 ? 4e-3 : 2e-3);
                CHECK(maxrel <= b, "%s const: max rel err %g > %g", info->name, maxrel, b);
                continue;
            }
            double b = bound_for(t) * (dist != DIST_OUTLIERS ? 1 : t == EL_TYPE_Q8_K ? 4 : 2);
            CHECK(rel <= b, "%s %s: rel rmse %.4f > %.4f", info->name, dist_name[dist], rel, b);
            /* and not suspiciously exact for a lossy type (catches a to_float that reads the
             * input instead of the blocks, or similar) */
            if (t != EL_TYPE_F16 && t != EL_TYPE_BF16)
                CHECK(rel > bound_for(t) / 20, "%s %s: rel rmse %.5f implausibly small", info->name,
                      dist_name[dist], rel);
        }
        free(q);
    }
    free(x);
    free(y);
}

/* ---- vec_dot ------------------------------------------------------------------------------ */

static void test_vec_dot(void) {
    enum { N = 4096 };
    float *x = malloc(N * sizeof(float)), *a = malloc(N * sizeof(float));
    float *dx = malloc(N * sizeof(float)), *da = malloc(N * sizeof(float));
    REQUIRE(x && a && dx && da);
    int types[EL_ARRAY_LEN(weight_types) + 1];
    int nt = 0;
    types[nt++] = EL_TYPE_F32;
    for (size_t i = 0; i < EL_ARRAY_LEN(weight_types); i++)
        types[nt++] = weight_types[i];
    for (int ti = 0; ti < nt; ti++) {
        const int t = types[ti];
        const el_type_info *info = el_type_traits(t);
        const el_type_info *vinfo = el_type_traits(info->vec_dot_type);
        void *qx = qalloc(t, N), *qa = qalloc(info->vec_dot_type, N);
        REQUIRE(qx && qa);
        for (int rep = 0; rep < 3; rep++) {
            fill(x, N, rep == 2 ? DIST_OUTLIERS : DIST_GAUSS);
            fill(a, N, DIST_GAUSS);
            for (int i = 0; i < N; i++)
                x[i] += rep == 1 ? 0.5f : 0.0f; /* biased: min terms */
            el_quants_ref(t)->from_float(x, qx, N);
            el_quants_ref(info->vec_dot_type)->from_float(a, qa, N);
            el_quants_ref(t)->to_float(qx, dx, N);
            el_quants_ref(info->vec_dot_type)->to_float(qa, da, N);
            /* whole row and a single block */
            for (int pass = 0; pass < 2; pass++) {
                int n = pass ? info->blck_size : N;
                if (n < (int)vinfo->blck_size) n = vinfo->blck_size;
                double ref = 0, mag = 0;
                for (int i = 0; i < n; i++) {
                    ref += (double)dx[i] * da[i];
                    mag += fabs((double)dx[i] * da[i]);
                }
                float s = NAN;
                el_quants_ref(t)->vec_dot(n, &s, qx, qa);
                /* Integer block sums are exact; what differs from the double reference is
                 * float accumulation (~n_blocks * 2^-24 relative) and, for q4_1/q5_1, the
                 * activation's s = d*sum(q) stored in fp16 (2^-11 relative per block). */
                double tol = (info->vec_dot_type == EL_TYPE_Q8_1 ? 2e-3 : 2e-5) * mag + 1e-30;
                CHECK(fabs(s - ref) <= tol, "%s n=%d rep %d: %.9g vs %.9g (tol %g)", info->name, n,
                      rep, s, ref, tol);
            }
        }
        free(qx);
        free(qa);
    }
    free(x);
    free(a);
    free(dx);
    free(da);
}

/* ---- golden data from ggml ---------------------------------------------------------------- */

#define GOLDEN "tests/golden/quants/"
#define GN 2048
#define GSEG 256

static uint8_t *golden(const char *name, size_t *len) {
    char path[256];
    snprintf(path, sizeof path, GOLDEN "%s", name);
    return (uint8_t *)el_read_file(path, len);
}

static float *golden_f32(const char *name) {
    size_t len = 0;
    uint8_t *b = golden(name, &len);
    if (!b) return NULL;
    if (len != GN * 4) {
        free(b);
        return NULL;
    }
    float *f = malloc(GN * sizeof(float));
    for (int i = 0; f && i < GN; i++)
        f[i] = le_f32(b + 4 * i);
    free(b);
    return f;
}

static void test_golden(void) {
    float *x = golden_f32("input.f32"), *a = golden_f32("act.f32");
    char *man = (char *)golden("manifest.txt", NULL);
    REQUIRE(x && a && man, "golden inputs missing (run from the repo root)");
    int n_types = 0;
    for (char *line = strtok(man, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        char tname[32], aname[32];
        int off = 0;
        if (sscanf(line, "%31s %31s %n", tname, aname, &off) < 2) continue;
        const int t = el_type_from_name(tname);
        const el_type_info *info = el_type_traits(t);
        REQUIRE(info, "unknown type %s", tname);
        n_types++;
        const size_t rs = el_row_size(t, GN);
        char name[64];
        size_t qlen = 0;
        snprintf(name, sizeof name, "%s.q", tname);
        uint8_t *gq = golden(name, &qlen);
        REQUIRE(gq && qlen == rs, "%s: %zu bytes, want %zu", name, qlen, rs);

        /* 1. our quantizer writes ggml's bytes */
        uint8_t *mq = calloc(1, rs);
        el_quants_ref(t)->from_float(x, mq, GN);
        size_t first = rs;
        for (size_t i = 0; i < rs; i++)
            if (mq[i] != gq[i]) {
                first = i;
                break;
            }
        CHECK(first == rs, "%s: quantized bytes differ from ggml's at byte %zu (block %zu)", tname,
              first, first / info->type_size);

        /* 2. our dequantizer gives ggml's floats, bit for bit */
        snprintf(name, sizeof name, "%s.deq.f32", tname);
        float *gd = golden_f32(name);
        float *md = malloc(GN * sizeof(float));
        if (gd) {
            el_quants_ref(t)->to_float(gq, md, GN);
            int bad = 0, first_bad = -1;
            for (int i = 0; i < GN; i++)
                if (el_f32_bits(md[i]) != el_f32_bits(gd[i]) && bad++ == 0) first_bad = i;
            CHECK(bad == 0, "%s: %d dequantized floats differ from ggml's (first at %d: %a vs %a)",
                  tname, bad, first_bad, first_bad >= 0 ? md[first_bad] : 0.0,
                  first_bad >= 0 ? gd[first_bad] : 0.0);
        } else {
            CHECK(t == EL_TYPE_Q8_1, "%s: no dequantized golden", tname); /* ggml has none */
        }

        /* 3. vec_dot against ggml's (AVX2/NEON) kernels on the same bytes */
        if (strcmp(aname, "-") != 0) {
            const int at = el_type_from_name(aname);
            const el_type_info *ainfo = el_type_traits(at);
            REQUIRE(ainfo && at == (int)info->vec_dot_type, "%s: act type %s", tname, aname);
            const size_t ars = el_row_size(at, GN);
            size_t alen = 0;
            snprintf(name, sizeof name, "act.%s.q", aname);
            uint8_t *gaq = golden(name, &alen);
            REQUIRE(gaq && alen == ars, "%s", name);
            /* our activation quantizer writes ggml's reference bytes too */
            uint8_t *maq = calloc(1, ars);
            el_quants_ref(at)->from_float(a, maq, GN);
            CHECK(!memcmp(maq, gaq, ars), "%s: activation bytes differ from ggml's", aname);
            float *da = malloc(GN * sizeof(float));
            el_quants_ref(at)->to_float(gaq, da, GN);
            el_quants_ref(t)->to_float(gq, md, GN);
            const char *p = line + off;
            for (int s = 0; s <= GN / GSEG; s++) {
                char *end;
                double want = strtod(p, &end);
                REQUIRE(end != p, "%s: manifest has too few dots", tname);
                p = end;
                const int n = s < GN / GSEG ? GSEG : GN;
                const size_t xo = s < GN / GSEG ? el_row_size(t, GSEG) * (size_t)s : 0;
                const size_t yo = s < GN / GSEG ? el_row_size(at, GSEG) * (size_t)s : 0;
                double mag = 0;
                const int i0 = s < GN / GSEG ? s * GSEG : 0;
                for (int i = i0; i < i0 + n; i++)
                    mag += fabs((double)md[i] * da[i]);
                float got = NAN;
                el_quants_ref(t)->vec_dot(n, &got, gq + xo, gaq + yo);
                /* both sides sum exact integer block dots; they differ only in float
                 * accumulation order and FMA use */
                double tol = 1e-5 * mag + 1e-30;
                CHECK(fabs(got - want) <= tol, "%s seg %d: vec_dot %.9g, ggml %.9g (tol %g)", tname,
                      s, got, want, tol);
            }
            free(da);
            free(maq);
            free(gaq);
        }
        free(gd);
        free(md);
        free(mq);
        free(gq);
    }
    CHECK(n_types == 17, "manifest lists %d types", n_types);
    free(x);
    free(a);
    free(man);
}

/* ---- bad input ---------------------------------------------------------------------------- */

static void test_bad_input(void) {
    enum { N = 512 };
    float x[N], y[N];
    static const float specials[] = {NAN, INFINITY, -INFINITY, 3e38f, -3e38f, 1e-40f, 0.0f};
    int types[EL_ARRAY_LEN(weight_types) + 2];
    int nt = 0;
    for (size_t i = 0; i < EL_ARRAY_LEN(weight_types); i++)
        types[nt++] = weight_types[i];
    types[nt++] = EL_TYPE_Q8_1;
    types[nt++] = EL_TYPE_Q8_K;
    for (int ti = 0; ti < nt; ti++) {
        const el_type_info *info = el_type_traits(types[ti]);
        void *q = qalloc(types[ti], N);
        for (size_t s = 0; s < EL_ARRAY_LEN(specials); s++) {
            for (int i = 0; i < N; i++)
                x[i] = (float)gauss();
            for (int i = s; i < N; i += 37)
                x[i] = specials[s];
            el_quants_ref(types[ti])->from_float(x, q, N); /* no crash, no UBSan report */
            el_quants_ref(types[ti])->to_float(q, y, N);
        }
        /* all-huge row */
        for (int i = 0; i < N; i++)
            x[i] = (i & 1) ? 3.4e38f : -3.4e38f;
        el_quants_ref(types[ti])->from_float(x, q, N);
        el_quants_ref(types[ti])->to_float(q, y, N);
        CHECK(1, "%s survived", info->name);
        free(q);
    }
}

/* ---- whole-model quantize ---------------------------------------------------------------- */

enum { M_LAYERS = 8, M_EMBD = 256, M_FF = 320, M_VOCAB = 32 };

static float *m_rand(int64_t n) {
    float *d = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; d && i < n; i++)
        d[i] = (float)(0.02 * gauss());
    return d;
}

/* One tensor of the synthetic model: float data, converted to src_type when written. */
typedef struct mtensor {
    char name[48];
    uint32_t n_dims;
    int64_t ne[2];
    float *f;
    void *bytes; /* in src_type */
} mtensor;

static mtensor m_t[16 + 10 * M_LAYERS];
static int m_n;

static void m_add(const char *name, uint32_t n_dims, int64_t ne0, int64_t ne1) {
    mtensor *t = &m_t[m_n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = n_dims;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->f = m_rand(ne0 * ne1);
    if (strstr(name, "norm")) /* norms near 1, as in real models */
        for (int64_t i = 0; i < ne0; i++)
            t->f[i] += 1.0f;
}

static void m_build(void) {
    if (m_n) return;
    /* deliberately not in llama-quantize's order: the output must be sorted anyway */
    for (int l = M_LAYERS - 1; l >= 0; l--) {
        char b[48];
#define L(nm, nd, a, c)                                                                            \
    do {                                                                                           \
        snprintf(b, sizeof b, "blk.%d." nm, l);                                                    \
        m_add(b, nd, a, c);                                                                        \
    } while (0)
        L("attn_norm.weight", 1, M_EMBD, 1);
        L("attn_q.weight", 2, M_EMBD, 8);
        L("attn_k.weight", 2, M_EMBD, 2);
        L("attn_v.weight", 2, M_EMBD, 2);
        L("attn_output.weight", 2, M_EMBD, 8);
        L("ffn_norm.weight", 1, M_EMBD, 1);
        L("ffn_gate.weight", 2, M_EMBD, 4);
        L("ffn_up.weight", 2, M_EMBD, 4);
        L("ffn_down.weight", 2, M_FF, 2);       /* rows of 320: fit 32-blocks, not 256 */
        if (l == 0) L("odd.weight", 2, 100, 4); /* fits no block size */
#undef L
    }
    m_add("token_embd.weight", 2, M_EMBD, M_VOCAB);
    m_add("output_norm.weight", 1, M_EMBD, 1);
    m_add("output.weight", 2, M_EMBD, M_VOCAB);
}

/* The type tensor t is stored in when the model's weights are src_type: norms, and rows that
 * do not fit src_type's blocks, stay F32. */
static int m_type(const mtensor *t, int src_type) {
    if (t->n_dims == 1 || t->ne[0] % el_type_traits(src_type)->blck_size) return EL_TYPE_F32;
    return src_type;
}

/* Writes the synthetic model with 2-D weights in src_type (norms stay F32). */
static int m_write(const char *path, int src_type) {
    m_build();
    el_gguf_writer *w = el_gguf_writer_new();
    if (!w) return -1;
    const char *toks[] = {"<unk>", "<s>", "</s>", "hello"};
    el_gguf_set_str(w, "general.architecture", "llama");
    el_gguf_set_str(w, "general.name", "synthetic");
    el_gguf_set_u32(w, "general.file_type", 0);
    el_gguf_set_u32(w, "llama.context_length", 128);
    el_gguf_set_u32(w, "llama.block_count", M_LAYERS);
    el_gguf_set_u32(w, "llama.embedding_length", M_EMBD);
    el_gguf_set_u32(w, "llama.feed_forward_length", M_FF);
    el_gguf_set_u32(w, "llama.attention.head_count", 4);
    el_gguf_set_u32(w, "llama.attention.head_count_kv", 1);
    el_gguf_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    el_gguf_set_u16(w, "split.count", 1); /* dropped by quantize, as llama-quantize does */
    el_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 4);
    for (int i = 0; i < m_n; i++) {
        mtensor *t = &m_t[i];
        const int type = m_type(t, src_type);
        const int64_t n = t->ne[0] * t->ne[1];
        free(t->bytes);
        t->bytes = calloc(1, el_row_size(type, t->ne[0]) * (size_t)t->ne[1] + 1);
        el_quants_ref(type)->from_float(t->f, t->bytes, n);
        el_gguf_add_tensor(w, t->name, type, t->n_dims, t->ne, t->bytes,
                           el_row_size(type, t->ne[0]) * (uint64_t)t->ne[1]);
    }
    char err[256];
    int rc = el_gguf_writer_write(w, path, err, sizeof err);
    if (rc) fprintf(stderr, "m_write: %s\n", err);
    el_gguf_writer_free(w);
    return rc;
}

static bool more_bits(int i, int n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* The type llama-quantize gives tensor `name` (layer l, -1 outside layers) of the synthetic
 * model, worked out by hand from llama-quant.cpp for this model: 8 layers, GQA 4, rows of
 * 256 except ffn_down (320) and blk.0.odd (100). */
static int expected_type(int ftype, const char *name, int l) {
    const bool v = strstr(name, "attn_v") != NULL, down = strstr(name, "ffn_down") != NULL;
    if (strstr(name, "norm")) return EL_TYPE_F32;
    if (ftype == EL_FTYPE_F16) return EL_TYPE_F16;
    if (strstr(name, "odd")) return EL_TYPE_F16; /* 100 fits no block: F16 */
    if (!strcmp(name, "output.weight")) return ftype == EL_FTYPE_Q8_0 ? EL_TYPE_Q8_0 : EL_TYPE_Q6_K;
    switch (ftype) {
    case EL_FTYPE_Q8_0:
        return EL_TYPE_Q8_0;
    case EL_FTYPE_Q4_0:
        return EL_TYPE_Q4_0;
    case EL_FTYPE_Q4_K_M: /* more bits for attn_v and ffn_down in layers 0, 3, 6, 7 */
        if (v) return more_bits(l, 8) ? EL_TYPE_Q6_K : EL_TYPE_Q4_K;
        if (down) return more_bits(l, 8) ? EL_TYPE_Q8_0 : EL_TYPE_Q5_0; /* K -> fallback */
        return EL_TYPE_Q4_K;
    case EL_FTYPE_Q4_K_S: /* attn_v Q5_K in the first 4 layers, ffn_down in the first 1/8 */
        if (v) return l < 4 ? EL_TYPE_Q5_K : EL_TYPE_Q4_K;
        if (down) return l < 1 ? EL_TYPE_Q5_1 : EL_TYPE_Q5_0;
        return EL_TYPE_Q4_K;
    case EL_FTYPE_Q5_K_M:
        if (v) return more_bits(l, 8) ? EL_TYPE_Q6_K : EL_TYPE_Q5_K;
        if (down) return more_bits(l, 8) ? EL_TYPE_Q8_0 : EL_TYPE_Q5_1;
        return EL_TYPE_Q5_K;
    case EL_FTYPE_Q3_K_M:
        if (v) return l < 2 ? EL_TYPE_Q5_K : EL_TYPE_Q4_K;
        if (down) return EL_TYPE_Q5_0; /* Q4_K, falls back */
        if (strstr(name, "attn_output")) return EL_TYPE_Q4_K;
        return EL_TYPE_Q3_K;
    case EL_FTYPE_Q2_K:
        if (v) return EL_TYPE_Q4_K;      /* GQA >= 4 */
        if (down) return EL_TYPE_IQ4_NL; /* Q3_K, falls back */
        if (strstr(name, "attn_output")) return EL_TYPE_Q3_K;
        return EL_TYPE_Q2_K;
    case EL_FTYPE_IQ4_XS:
        if (v) return EL_TYPE_Q5_K; /* GQA >= 4 */
        if (down) return l < 1 ? EL_TYPE_Q5_1 : EL_TYPE_IQ4_NL;
        return EL_TYPE_IQ4_XS;
    }
    return -1;
}

static void test_model_names(void) {
    CHECK(el_quantize_ftype_from_name("q4_k_m") == EL_FTYPE_Q4_K_M);
    CHECK(el_quantize_ftype_from_name("Q4_K") == EL_FTYPE_Q4_K_M);
    CHECK(el_quantize_ftype_from_name("Q5_K") == EL_FTYPE_Q5_K_M);
    CHECK(el_quantize_ftype_from_name("Q8_0") == 7 && el_quantize_ftype_from_name("BF16") == 32);
    CHECK(el_quantize_ftype_from_name("Q9_9") == -1 && el_quantize_ftype_from_name(NULL) == -1);
    CHECK(!strcmp(el_quantize_ftype_name(EL_FTYPE_Q6_K), "Q6_K"));
    CHECK(el_quantize_ftype_name(5) == NULL);
}

static int n_callbacks, last_index;
static void count_cb(void *ctx, const el_quantize_tensor *t) {
    (void)ctx;
    if (t->index == last_index + 1) n_callbacks++;
    last_index = t->index;
}

/* Reads path back and checks types, order, metadata and bytes against the source model. */
static void check_output(const char *path, int ftype, int src_type) {
    char err[256];
    el_gguf *g = el_gguf_open(path, err, sizeof err);
    REQUIRE(g, "%s: %s", path, err);
    CHECK(el_gguf_n_tensors(g) == m_n);
    /* order: non-layer tensors first, then by layer number, by name within */
    int prev_l = -2;
    const char *prev = "";
    for (int64_t i = 0; i < el_gguf_n_tensors(g); i++) {
        const char *nm = el_gguf_tensor_at(g, i)->name;
        int l = -1;
        if (sscanf(nm, "blk.%d.", &l) != 1) l = -1;
        CHECK(l > prev_l || (l == prev_l && strcmp(prev, nm) < 0), "order: %s after %s", nm, prev);
        prev_l = l;
        prev = nm;
    }
    /* metadata */
    uint32_t u = 0;
    CHECK(el_gguf_get_u32(g, "general.file_type", &u) == 0 && u == (uint32_t)ftype, "file_type %u",
          u);
    CHECK(el_gguf_get_u32(g, "general.quantization_version", &u) == 0 && u == 2);
    const int64_t nkv = el_gguf_n_kv(g);
    CHECK(nkv == 12, "%lld keys", (long long)nkv); /* 12 written - split.count + q.version */
    CHECK(!strcmp(el_gguf_key(g, nkv - 1), "general.file_type") &&
          !strcmp(el_gguf_key(g, nkv - 2), "general.quantization_version"));
    CHECK(el_gguf_find_key(g, "split.count") < 0);
    el_gstr s;
    CHECK(el_gguf_get_str(g, "general.name", &s) == 0 && s.n == 9 && !memcmp(s.s, "synthetic", 9));
    el_gguf_arr a;
    CHECK(el_gguf_get_arr(g, "tokenizer.ggml.tokens", &a) == 0 && a.n == 4);
    if (a.n == 4) {
        el_gstr t3 = el_gguf_arr_str(&a, 3);
        CHECK(t3.n == 5 && !memcmp(t3.s, "hello", 5));
    }
    double eps = 0;
    CHECK(el_gguf_get_f64(g, "llama.attention.layer_norm_rms_epsilon", &eps) == 0 &&
          fabs(eps - 1e-5) < 1e-10);
    /* tensors */
    int bad_type = 0, bad_bytes = 0;
    for (int i = 0; i < m_n; i++) {
        const mtensor *mt = &m_t[i];
        const el_gguf_tensor *t = el_gguf_find_tensor(g, mt->name);
        if (!t) {
            CHECK(0, "%s missing", mt->name);
            continue;
        }
        CHECK(t->n_dims == mt->n_dims && t->ne[0] == mt->ne[0] && t->ne[1] == mt->ne[1], "%s",
              mt->name);
        int l = -1;
        if (sscanf(mt->name, "blk.%d.", &l) != 1) l = -1;
        const int want = expected_type(ftype, mt->name, l);
        if (t->type != want) {
            bad_type++;
            fprintf(stderr, "  %s %s: got %s, want %s\n", el_quantize_ftype_name(ftype), mt->name,
                    el_type_traits(t->type)->name, want >= 0 ? el_type_traits(want)->name : "?");
        }
        /* bytes: exactly from_float(to_float(source)), row by row; unchanged types copied */
        const int st = m_type(mt, src_type);
        const size_t rs = el_row_size(t->type, t->ne[0]);
        const size_t srs = el_row_size(st, t->ne[0]);
        uint8_t *want_b = calloc(1, rs * (size_t)t->ne[1] + 1);
        float *row = malloc((size_t)t->ne[0] * sizeof(float));
        for (int64_t r = 0; r < t->ne[1]; r++) {
            el_quants_ref(st)->to_float((const uint8_t *)mt->bytes + r * srs, row, t->ne[0]);
            el_quants_ref(t->type)->from_float(row, want_b + r * rs, t->ne[0]);
        }
        if (t->size != rs * (size_t)t->ne[1] || memcmp(t->data, want_b, t->size)) {
            bad_bytes++;
            fprintf(stderr, "  %s: bytes differ\n", mt->name);
        }
        free(row);
        free(want_b);
    }
    CHECK(bad_type == 0, "%s: %d tensors of the wrong type", el_quantize_ftype_name(ftype),
          bad_type);
    CHECK(bad_bytes == 0, "%s: %d tensors with wrong bytes", el_quantize_ftype_name(ftype),
          bad_bytes);
    el_gguf_close(g);
}

static void test_model_quantize(void) {
    char src[512], out[512], out4[512], err[256];
    snprintf(src, sizeof src, "%s/model-f32.gguf", el_tmpdir());
    REQUIRE(m_write(src, EL_TYPE_F32) == 0);
    static const int fts[] = {EL_FTYPE_Q4_K_M, EL_FTYPE_Q4_K_S, EL_FTYPE_Q5_K_M,
                              EL_FTYPE_Q3_K_M, EL_FTYPE_Q2_K,   EL_FTYPE_IQ4_XS,
                              EL_FTYPE_Q8_0,   EL_FTYPE_Q4_0,   EL_FTYPE_F16};
    for (size_t k = 0; k < EL_ARRAY_LEN(fts); k++) {
        snprintf(out, sizeof out, "%s/model-%s.gguf", el_tmpdir(), el_quantize_ftype_name(fts[k]));
        n_callbacks = 0;
        last_index = -1;
        el_quantize_params p = {fts[k], 1, count_cb, NULL};
        el_quantize_stats st;
        int rc = el_quantize_model(src, out, &p, &st, err, sizeof err);
        CHECK(rc == 0, "%s: %s", el_quantize_ftype_name(fts[k]), err);
        if (rc) continue;
        CHECK(n_callbacks == m_n && st.n_tensors == m_n, "%d callbacks", n_callbacks);
        CHECK(st.dst_bytes < st.src_bytes, "%s did not shrink the model",
              el_quantize_ftype_name(fts[k]));
        check_output(out, fts[k], EL_TYPE_F32);
    }
    /* threads change nothing */
    snprintf(out, sizeof out, "%s/model-Q4_K_M.gguf", el_tmpdir());
    snprintf(out4, sizeof out4, "%s/model-Q4_K_M-t4.gguf", el_tmpdir());
    el_quantize_params p4 = {EL_FTYPE_Q4_K_M, 4, NULL, NULL};
    REQUIRE(el_quantize_model(src, out4, &p4, NULL, err, sizeof err) == 0, "%s", err);
    size_t l1 = 0, l4 = 0;
    char *b1 = el_read_file(out, &l1), *b4 = el_read_file(out4, &l4);
    CHECK(b1 && b4 && l1 == l4 && !memcmp(b1, b4, l1), "1 vs 4 threads differ");
    free(b1);
    free(b4);
}

static void test_model_sources(void) {
    char src[512], out[512], out2[512], err[256];
    /* F16 source */
    snprintf(src, sizeof src, "%s/model-f16src.gguf", el_tmpdir());
    REQUIRE(m_write(src, EL_TYPE_F16) == 0);
    snprintf(out, sizeof out, "%s/model-f16src-Q4_K_M.gguf", el_tmpdir());
    el_quantize_params p = {EL_FTYPE_Q4_K_M, 2, NULL, NULL};
    REQUIRE(el_quantize_model(src, out, &p, NULL, err, sizeof err) == 0, "%s", err);
    check_output(out, EL_FTYPE_Q4_K_M, EL_TYPE_F16);
    /* an already quantized source is dequantized first */
    snprintf(src, sizeof src, "%s/model-q8src.gguf", el_tmpdir());
    REQUIRE(m_write(src, EL_TYPE_Q8_0) == 0);
    snprintf(out2, sizeof out2, "%s/model-q8src-Q4_K_M.gguf", el_tmpdir());
    REQUIRE(el_quantize_model(src, out2, &p, NULL, err, sizeof err) == 0, "%s", err);
    check_output(out2, EL_FTYPE_Q4_K_M, EL_TYPE_Q8_0);
    /* plan() agrees with what was written */
    el_gguf *g = el_gguf_open(src, err, sizeof err);
    REQUIRE(g, "%s", err);
    int types[EL_ARRAY_LEN(m_t)], order[EL_ARRAY_LEN(m_t)];
    bool fb[EL_ARRAY_LEN(m_t)];
    REQUIRE(el_quantize_plan(g, EL_FTYPE_Q4_K_M, types, fb, order, err, sizeof err) == 0);
    int n_fb = 0;
    for (int i = 0; i < m_n; i++)
        n_fb += fb[i];
    CHECK(n_fb == M_LAYERS + 1, "%d fallbacks (8 ffn_down + odd)", n_fb);
    CHECK(!strcmp(el_gguf_tensor_at(g, order[0])->name, "output.weight"));
    CHECK(!strcmp(el_gguf_tensor_at(g, order[3])->name, "blk.0.attn_k.weight"));
    CHECK(el_quantize_plan(g, 5, types, NULL, NULL, err, sizeof err) == -1 && err[0]);
    el_gguf_close(g);
}

static void test_model_errors(void) {
    char out[512], err[256] = "";
    el_quantize_params p = {EL_FTYPE_Q4_0, 1, NULL, NULL};
    snprintf(out, sizeof out, "%s/never.gguf", el_tmpdir());
    CHECK(el_quantize_model("/nonexistent/model.gguf", out, &p, NULL, err, sizeof err) == -1 &&
              err[0] && !strchr(err, '\n'),
          "%s", err);
    CHECK(access(out, F_OK) != 0, "failed run left %s", out);
    char src[512];
    snprintf(src, sizeof src, "%s/model-f32.gguf", el_tmpdir());
    err[0] = 0;
    CHECK(el_quantize_model(src, "/nonexistent/dir/x.gguf", &p, NULL, err, sizeof err) == -1 &&
          err[0]);
    p.ftype = 4; /* a removed llama.cpp ftype */
    err[0] = 0;
    CHECK(el_quantize_model(src, out, &p, NULL, err, sizeof err) == -1 && err[0]);
    CHECK(access(out, F_OK) != 0);
    /* not a GGUF */
    char junk[512];
    snprintf(junk, sizeof junk, "%s/junk.gguf", el_tmpdir());
    FILE *f = fopen(junk, "wb");
    if (f) {
        fputs("this is not a model", f);
        fclose(f);
    }
    p.ftype = EL_FTYPE_Q8_0;
    err[0] = 0;
    CHECK(el_quantize_model(junk, out, &p, NULL, err, sizeof err) == -1 && err[0]);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_layout);
    RUN(test_known_q4_0_q8_0);
    RUN(test_known_q4_1_q5);
    RUN(test_known_q4_K_q5_K);
    RUN(test_known_q6_K);
    RUN(test_known_q2_K_q3_K);
    RUN(test_known_iq4_q8_K_mxfp4);
    RUN(test_roundtrip);
    RUN(test_vec_dot);
    RUN(test_golden);
    RUN(test_bad_input);
    RUN(test_model_names);
    RUN(test_model_quantize);
    RUN(test_model_sources);
    RUN(test_model_errors);
    return test_summary(argv[0]);
}
