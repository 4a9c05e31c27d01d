/* tests/unit/test_gguf.c — GGUF reader and writer: round trips of every value type, nested
 * arrays and tensors of several types; a corrupt-input suite (one hand-built file per
 * validation rule, checking the message and the byte offset); truncations of a real model at
 * every header byte; and the real files of the shared testdata compared against the header
 * dumps in testdata/expected/NAME.header.json (names, types, shapes, offsets, sha256 of every
 * tensor's bytes).
 *
 * Hand-built files are assembled with a tiny byte builder (bb_*) so each test knows the exact
 * offset of the field it breaks. Every buffer handed to el_gguf_open_mem is an exact-size
 * malloc copy, so ASan sees any read past its end.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <inttypes.h>

#include "core/core.h"
#include "gguf/gguf.h"
#include "gguf/gguf_int.h"
#include "kernels/types.h"
#include "test.h"

/* ---- byte builder ------------------------------------------------------------------------ */

typedef struct bb {
    uint8_t *p;
    size_t n, cap;
} bb;

static void bb_raw(bb *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
}
static void bb_u8(bb *b, uint8_t v) {
    bb_raw(b, &v, 1);
}
static void bb_u32(bb *b, uint32_t v) {
    bb_raw(b, &v, 4);
}
static void bb_u64(bb *b, uint64_t v) {
    bb_raw(b, &v, 8);
}
static void bb_f32(bb *b, float v) {
    bb_raw(b, &v, 4);
}
static void bb_strn(bb *b, const char *s, size_t n) {
    bb_u64(b, n);
    bb_raw(b, s, n);
}
static void bb_str(bb *b, const char *s) {
    bb_strn(b, s, strlen(s));
}
static void bb_pad(bb *b, size_t align) {
    while (b->n % align)
        bb_u8(b, 0);
}
static void bb_hdr(bb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    bb_u32(b, EL_GGUF_MAGIC);
    bb_u32(b, version);
    bb_u64(b, n_tensors);
    bb_u64(b, n_kv);
}
/* key + type: the caller appends the value */
static void bb_key(bb *b, const char *key, uint32_t type) {
    bb_str(b, key);
    bb_u32(b, type);
}
static void bb_arr_hdr(bb *b, uint32_t elem_type, uint64_t n) {
    bb_u32(b, elem_type);
    bb_u64(b, n);
}
static void bb_free(bb *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* Opens an exact-size copy of n bytes at p; the copy is returned in *copy (free it after
 * closing). */
static el_gguf *open_copy(const void *p, size_t n, char *err, size_t errlen, void **copy) {
    *copy = malloc(n ? n : 1);
    if (n) memcpy(*copy, p, n);
    return el_gguf_open_mem(n ? *copy : NULL, n, err, errlen);
}

static char last_err[512];

/* Open must fail, the message must contain what and (when at >= 0) "at byte <at>". */
static void expect_fail_(const bb *b, const char *what, long long at, int line) {
    void *copy;
    last_err[0] = 0;
    el_gguf *g = open_copy(b->p, b->n, last_err, sizeof last_err, &copy);
    CHECK(g == NULL, "line %d: open succeeded, expected '%s'", line, what);
    el_gguf_close(g);
    free(copy);
    CHECK(strstr(last_err, what) != NULL, "line %d: '%s' not in: %s", line, what, last_err);
    if (at >= 0) {
        char want[64];
        snprintf(want, sizeof want, "at byte %lld", at);
        size_t wl = strlen(want), el = strlen(last_err);
        CHECK(el >= wl && !strcmp(last_err + el - wl, want), "line %d: want '%s' in: %s", line,
              want, last_err);
    }
    CHECK(strchr(last_err, '\n') == NULL, "line %d: message is not one line", line);
}
#define EXPECT_FAIL(b, what, at) expect_fail_((b), (what), (long long)(at), __LINE__)

static void expect_ok_(const bb *b, int line) {
    void *copy;
    char err[512] = "";
    el_gguf *g = open_copy(b->p, b->n, err, sizeof err, &copy);
    CHECK(g != NULL, "line %d: valid file rejected: %s", line, err);
    el_gguf_close(g);
    free(copy);
}
#define EXPECT_OK(b) expect_ok_((b), __LINE__)

/* ---- sha256 (to compare tensor bytes with the header dumps) -------------------------------- */

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror(uint32_t x, int r) {
    return (x >> r) | (x << (32 - r));
}

static void sha_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 =
            hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void sha256_hex(const void *data, uint64_t n, char out[65]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const uint8_t *p = data;
    uint64_t i = 0;
    for (; i + 64 <= n; i += 64)
        sha_block(h, p + i);
    uint8_t tail[128] = {0};
    size_t r = (size_t)(n - i);
    if (r) memcpy(tail, p + i, r);
    tail[r] = 0x80;
    size_t tl = r + 9 <= 64 ? 64 : 128;
    uint64_t bits = n * 8;
    for (int k = 0; k < 8; k++)
        tail[tl - 1 - k] = (uint8_t)(bits >> (8 * k));
    sha_block(h, tail);
    if (tl == 128) sha_block(h, tail + 64);
    for (int k = 0; k < 8; k++)
        snprintf(out + 8 * k, 9, "%08x", h[k]);
}

static void test_sha256_selfcheck(void) {
    char hex[65];
    sha256_hex("abc", 3, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "%s",
          hex);
    sha256_hex("", 0, hex);
    CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "%s",
          hex);
}

/* ---- round trip: every value type, tensors -------------------------------------------------- */

typedef struct tdef {
    const char *name;
    int type;
    uint32_t n_dims;
    int64_t ne[4];
} tdef;

static const tdef rt_tensors[] = {
    {"t.f32", EL_TYPE_F32, 2, {4, 3, 1, 1}},     {"t.f16", EL_TYPE_F16, 1, {8, 1, 1, 1}},
    {"t.q4_0", EL_TYPE_Q4_0, 2, {64, 2, 1, 1}},  {"t.q8_0", EL_TYPE_Q8_0, 3, {32, 1, 2, 1}},
    {"t.q4_K", EL_TYPE_Q4_K, 2, {256, 2, 1, 1}}, {"t.i8", EL_TYPE_I8, 4, {5, 1, 1, 2}},
    {"t.q6_K", EL_TYPE_Q6_K, 1, {256, 1, 1, 1}}, {"t.mxfp4", EL_TYPE_MXFP4, 1, {32, 1, 1, 1}},
    {"t.bf16", EL_TYPE_BF16, 2, {3, 5, 1, 1}},
};
static const uint64_t rt_sizes[] = {48, 16, 72, 68, 288, 10, 210, 17, 30};

static uint8_t *pattern(uint64_t n, unsigned seed) {
    uint8_t *p = malloc(n);
    for (uint64_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + seed * 31 + 1);
    return p;
}

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int slot;
    char *out = buf[slot++ & 3];
    snprintf(out, sizeof buf[0], "%s/%s", el_tmpdir(), name);
    return out;
}

static void test_roundtrip_values(void) {
    el_gguf_writer *w = el_gguf_writer_new();
    REQUIRE(w);
    CHECK(el_gguf_set_u8(w, "v.u8", 200) == 0);
    CHECK(el_gguf_set_i8(w, "v.i8", -100) == 0);
    CHECK(el_gguf_set_u16(w, "v.u16", 60000) == 0);
    CHECK(el_gguf_set_i16(w, "v.i16", -30000) == 0);
    CHECK(el_gguf_set_u32(w, "v.u32", 4000000000u) == 0);
    CHECK(el_gguf_set_i32(w, "v.i32", -2000000000) == 0);
    CHECK(el_gguf_set_u64(w, "v.u64", UINT64_MAX) == 0);
    CHECK(el_gguf_set_i64(w, "v.i64", INT64_MIN) == 0);
    CHECK(el_gguf_set_f32(w, "v.f32", 3.5f) == 0);
    CHECK(el_gguf_set_f64(w, "v.f64", 1e-300) == 0);
    CHECK(el_gguf_set_bool(w, "v.true", true) == 0);
    CHECK(el_gguf_set_bool(w, "v.false", false) == 0);
    CHECK(el_gguf_set_str(w, "v.str", "h\xc3\xa9llo \xe2\x9c\x93") == 0);
    CHECK(el_gguf_set_str(w, "v.empty", "") == 0);
    CHECK(el_gguf_set_strn(w, "v.nul", "a\0b", 3) == 0);
    const uint8_t au8[] = {0, 255, 7};
    const int8_t ai8[] = {-128, 127};
    const uint16_t au16[] = {65535, 1};
    const int16_t ai16[] = {-32768, 32767};
    const uint32_t au32[] = {1, 4294967295u, 3};
    const int32_t ai32[] = {-5, 2147483647};
    const float af32[] = {1.5f, -2.25f, 1e30f};
    const uint8_t abool[] = {1, 0, 1};
    const uint64_t au64[] = {UINT64_MAX, 42};
    const int64_t ai64[] = {INT64_MIN, -1};
    const double af64[] = {-0.5, 1e300};
    CHECK(el_gguf_set_arr(w, "a.u8", EL_GGUF_UINT8, au8, 3) == 0);
    CHECK(el_gguf_set_arr(w, "a.i8", EL_GGUF_INT8, ai8, 2) == 0);
    CHECK(el_gguf_set_arr(w, "a.u16", EL_GGUF_UINT16, au16, 2) == 0);
    CHECK(el_gguf_set_arr(w, "a.i16", EL_GGUF_INT16, ai16, 2) == 0);
    CHECK(el_gguf_set_arr(w, "a.u32", EL_GGUF_UINT32, au32, 3) == 0);
    CHECK(el_gguf_set_arr(w, "a.i32", EL_GGUF_INT32, ai32, 2) == 0);
    CHECK(el_gguf_set_arr(w, "a.f32", EL_GGUF_FLOAT32, af32, 3) == 0);
    CHECK(el_gguf_set_arr(w, "a.bool", EL_GGUF_BOOL, abool, 3) == 0);
    CHECK(el_gguf_set_arr(w, "a.u64", EL_GGUF_UINT64, au64, 2) == 0);
    CHECK(el_gguf_set_arr(w, "a.i64", EL_GGUF_INT64, ai64, 2) == 0);
    CHECK(el_gguf_set_arr(w, "a.f64", EL_GGUF_FLOAT64, af64, 2) == 0);
    CHECK(el_gguf_set_arr(w, "a.empty", EL_GGUF_UINT32, NULL, 0) == 0);
    const char *strs[] = {"a", "", "\xc3\xb1"};
    CHECK(el_gguf_set_arr_str(w, "a.str", strs, 3) == 0);
    CHECK(el_gguf_set_arr_str(w, "a.str_empty", NULL, 0) == 0);

    /* writer argument errors */
    CHECK(el_gguf_set_strn(w, "bad.utf8", "\xff", 1) == -1);
    CHECK(strstr(el_gguf_writer_error(w), "UTF-8") != NULL, "%s", el_gguf_writer_error(w));
    CHECK(el_gguf_set_arr(w, "bad.arr", EL_GGUF_STRING, strs, 1) == -1);
    CHECK(el_gguf_set_u32(w, "", 1) == -1);
    CHECK(el_gguf_set_arr(w, "bad.bool", EL_GGUF_BOOL, (const uint8_t[]){2}, 1) == -1);
    CHECK(el_gguf_find_key(NULL, "x") == -1);

    uint8_t *data[EL_ARRAY_LEN(rt_tensors)];
    for (size_t i = 0; i < EL_ARRAY_LEN(rt_tensors); i++) {
        const tdef *t = &rt_tensors[i];
        data[i] = pattern(rt_sizes[i], (unsigned)i);
        CHECK(el_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, data[i], rt_sizes[i]) == 0,
              "%s: %s", t->name, el_gguf_writer_error(w));
    }
    /* tensor argument errors */
    const int64_t ne_bad[] = {16, 1};
    CHECK(el_gguf_add_tensor(w, "t.f32", EL_TYPE_F32, 1, ne_bad, data[0], 64) == -1);
    CHECK(strstr(el_gguf_writer_error(w), "duplicate") != NULL, "%s", el_gguf_writer_error(w));
    CHECK(el_gguf_add_tensor(w, "x.q4", EL_TYPE_Q4_0, 1, ne_bad, data[0], 9) == -1);
    CHECK(el_gguf_add_tensor(w, "x.sz", EL_TYPE_F32, 1, ne_bad, data[0], 60) == -1);
    CHECK(strstr(el_gguf_writer_error(w), "need 64") != NULL, "%s", el_gguf_writer_error(w));
    CHECK(el_gguf_add_tensor(w, "x.ty", 4, 1, ne_bad, data[0], 64) == -1);
    CHECK(el_gguf_add_tensor(w, "x.nd", EL_TYPE_F32, 5, ne_bad, data[0], 64) == -1);
    const int64_t ne_neg[] = {-16};
    CHECK(el_gguf_add_tensor(w, "x.neg", EL_TYPE_F32, 1, ne_neg, data[0], 64) == -1);

    const char *path = tmp_path("roundtrip.gguf");
    char err[512] = "";
    REQUIRE(el_gguf_writer_write(w, path, err, sizeof err) == 0, "%s", err);
    el_gguf_writer_free(w);

    el_gguf *g = el_gguf_open(path, err, sizeof err);
    REQUIRE(g, "%s", err);
    CHECK(el_gguf_version(g) == 3);
    CHECK(el_gguf_alignment(g) == 32);
    CHECK(el_gguf_data_offset(g) % 32 == 0);
    CHECK(el_gguf_n_kv(g) == 29, "%lld", (long long)el_gguf_n_kv(g));
    /* insertion order kept */
    CHECK(!strcmp(el_gguf_key(g, 0), "v.u8"));
    CHECK(!strcmp(el_gguf_key(g, 28), "a.str_empty"));
    for (int64_t i = 0; i < el_gguf_n_kv(g); i++)
        CHECK(el_gguf_find_key(g, el_gguf_key(g, i)) == i, "%s", el_gguf_key(g, i));
    CHECK(el_gguf_find_key(g, "absent") == -1);

    int64_t i64 = 0;
    uint32_t u32 = 0;
    double f64 = 0;
    bool bv = false;
    el_gstr s;
    CHECK(el_gguf_get_i64(g, "v.u8", &i64) == 0 && i64 == 200);
    CHECK(el_gguf_get_i64(g, "v.i8", &i64) == 0 && i64 == -100);
    CHECK(el_gguf_get_i64(g, "v.u16", &i64) == 0 && i64 == 60000);
    CHECK(el_gguf_get_i64(g, "v.i16", &i64) == 0 && i64 == -30000);
    CHECK(el_gguf_get_u32(g, "v.u32", &u32) == 0 && u32 == 4000000000u);
    CHECK(el_gguf_get_i64(g, "v.i32", &i64) == 0 && i64 == -2000000000);
    CHECK(el_gguf_get_u32(g, "v.i32", &u32) == -2, "negative does not fit u32");
    CHECK(el_gguf_get_i64(g, "v.u64", &i64) == -2, "UINT64_MAX does not fit i64");
    CHECK(el_gguf_get_f64(g, "v.u64", &f64) == 0 && f64 == 18446744073709551615.0);
    CHECK(el_gguf_get_i64(g, "v.i64", &i64) == 0 && i64 == INT64_MIN);
    CHECK(el_gguf_get_u32(g, "v.i64", &u32) == -2);
    CHECK(el_gguf_get_f64(g, "v.f32", &f64) == 0 && f64 == 3.5);
    CHECK(el_gguf_get_f64(g, "v.f64", &f64) == 0 && f64 == 1e-300);
    CHECK(el_gguf_get_f64(g, "v.i16", &f64) == 0 && f64 == -30000.0);
    CHECK(el_gguf_get_i64(g, "v.f32", &i64) == -2);
    CHECK(el_gguf_get_bool(g, "v.true", &bv) == 0 && bv);
    CHECK(el_gguf_get_bool(g, "v.false", &bv) == 0 && !bv);
    CHECK(el_gguf_get_i64(g, "v.true", &i64) == -2, "bool is not an integer");
    CHECK(el_gguf_get_bool(g, "v.u8", &bv) == -2);
    CHECK(el_gguf_get_str(g, "v.str", &s) == 0 && s.n == 10 &&
          !memcmp(s.s, "h\xc3\xa9llo \xe2\x9c\x93", 10));
    CHECK(el_gguf_get_str(g, "v.empty", &s) == 0 && s.n == 0);
    CHECK(el_gguf_get_str(g, "v.nul", &s) == 0 && s.n == 3 && !memcmp(s.s, "a\0b", 3));
    CHECK(el_gguf_get_str(g, "v.u8", &s) == -2);
    CHECK(el_gguf_get_str(g, "nope", &s) == -1);
    CHECK(el_gguf_get_i64(g, "nope", &i64) == -1);
    CHECK(el_gguf_kv_type(g, el_gguf_find_key(g, "v.f64")) == EL_GGUF_FLOAT64);
    CHECK(el_gguf_kv_type(g, 999) == EL_GGUF_VTYPE_COUNT);
    CHECK(el_gguf_key(g, -1) == NULL);

    el_gguf_arr a;
    REQUIRE(el_gguf_get_arr(g, "a.u8", &a) == 0);
    CHECK(a.elem_type == EL_GGUF_UINT8 && a.n == 3 && el_gguf_arr_i64(&a, 1) == 255);
    CHECK(el_gguf_arr_i64(&a, 3) == 0, "out of range reads 0");
    CHECK(el_gguf_get_arr(g, "a.i8", &a) == 0 && el_gguf_arr_i64(&a, 0) == -128 &&
          el_gguf_arr_i64(&a, 1) == 127);
    CHECK(el_gguf_get_arr(g, "a.u16", &a) == 0 && el_gguf_arr_i64(&a, 0) == 65535);
    CHECK(el_gguf_get_arr(g, "a.i16", &a) == 0 && el_gguf_arr_i64(&a, 0) == -32768);
    CHECK(el_gguf_get_arr(g, "a.u32", &a) == 0 && el_gguf_arr_i64(&a, 1) == 4294967295ll &&
          el_gguf_arr_i64(&a, 2) == 3);
    CHECK(el_gguf_get_arr(g, "a.i32", &a) == 0 && el_gguf_arr_i64(&a, 0) == -5 &&
          el_gguf_arr_f64(&a, 1) == 2147483647.0);
    CHECK(el_gguf_get_arr(g, "a.f32", &a) == 0 && el_gguf_arr_f64(&a, 1) == -2.25 &&
          el_gguf_arr_f64(&a, 2) == (double)1e30f);
    CHECK(el_gguf_arr_i64(&a, 0) == 0, "float array does not read as integer");
    CHECK(el_gguf_get_arr(g, "a.bool", &a) == 0 && a.elem_type == EL_GGUF_BOOL &&
          el_gguf_arr_i64(&a, 0) == 1 && el_gguf_arr_i64(&a, 1) == 0);
    CHECK(el_gguf_get_arr(g, "a.u64", &a) == 0 && el_gguf_arr_i64(&a, 0) == INT64_MAX &&
          el_gguf_arr_i64(&a, 1) == 42);
    CHECK(el_gguf_get_arr(g, "a.i64", &a) == 0 && el_gguf_arr_i64(&a, 0) == INT64_MIN);
    CHECK(el_gguf_get_arr(g, "a.f64", &a) == 0 && el_gguf_arr_f64(&a, 1) == 1e300);
    CHECK(el_gguf_get_arr(g, "a.empty", &a) == 0 && a.n == 0 && a.elem_type == EL_GGUF_UINT32);
    REQUIRE(el_gguf_get_arr(g, "a.str", &a) == 0);
    CHECK(a.elem_type == EL_GGUF_STRING && a.n == 3);
    el_gstr e0 = el_gguf_arr_str(&a, 0), e1 = el_gguf_arr_str(&a, 1), e2 = el_gguf_arr_str(&a, 2);
    CHECK(e0.n == 1 && e0.s[0] == 'a');
    CHECK(e1.n == 0);
    CHECK(e2.n == 2 && !memcmp(e2.s, "\xc3\xb1", 2));
    CHECK(el_gguf_arr_str(&a, 3).n == 0, "out of range is empty");
    CHECK(el_gguf_arr_i64(&a, 0) == 0, "string array does not read as integer");
    CHECK(el_gguf_get_arr(g, "a.str_empty", &a) == 0 && a.n == 0 && a.elem_type == EL_GGUF_STRING);
    CHECK(el_gguf_get_arr(g, "v.u8", &a) == -2);

    CHECK(el_gguf_n_tensors(g) == (int64_t)EL_ARRAY_LEN(rt_tensors));
    for (size_t i = 0; i < EL_ARRAY_LEN(rt_tensors); i++) {
        const tdef *d = &rt_tensors[i];
        const el_gguf_tensor *t = el_gguf_tensor_at(g, (int64_t)i);
        REQUIRE(t);
        CHECK(el_gguf_find_tensor(g, d->name) == t, "%s", d->name);
        CHECK(!strcmp(t->name, d->name), "%s vs %s", t->name, d->name);
        CHECK(t->type == d->type && t->n_dims == d->n_dims, "%s", d->name);
        int64_t nel = 1;
        for (int k = 0; k < 4; k++) {
            CHECK(t->ne[k] == d->ne[k], "%s ne[%d]", d->name, k);
            nel *= d->ne[k];
        }
        CHECK(t->n_elements == nel);
        CHECK(t->size == rt_sizes[i], "%s size %llu", d->name, (unsigned long long)t->size);
        CHECK(t->offset % 32 == 0);
        CHECK((const uint8_t *)t->data ==
              (const uint8_t *)el_gguf_base(g) + el_gguf_data_offset(g) + t->offset);
        CHECK(!memcmp(t->data, data[i], rt_sizes[i]), "%s bytes", d->name);
        free(data[i]);
    }
    CHECK(el_gguf_find_tensor(g, "t.none") == NULL);
    CHECK(el_gguf_tensor_at(g, -1) == NULL && el_gguf_tensor_at(g, 99) == NULL);
    el_gguf_close(g);
}

static void test_writer_keys_alignment_errors(void) {
    el_gguf_writer *w = el_gguf_writer_new();
    REQUIRE(w);
    el_gguf_set_u32(w, "a", 1);
    el_gguf_set_u32(w, "b", 2);
    el_gguf_set_u32(w, "c", 3);
    CHECK(el_gguf_set_str(w, "b", "two") == 0, "replace in place");
    CHECK(el_gguf_remove_key(w, "a") == 0);
    CHECK(el_gguf_remove_key(w, "zz") == 0, "absent key is fine");
    el_gguf_set_u32(w, "general.alignment", 64);
    float f[24] = {0};
    const int64_t ne1[] = {3}, ne2[] = {24};
    CHECK(el_gguf_add_tensor(w, "small", EL_TYPE_F32, 1, ne1, f, 12) == 0);
    CHECK(el_gguf_add_tensor(w, "big", EL_TYPE_F32, 1, ne2, f, 96) == 0);
    char err[512] = "";
    const char *path = tmp_path("align64.gguf");
    REQUIRE(el_gguf_writer_write(w, path, err, sizeof err) == 0, "%s", err);
    el_gguf *g = el_gguf_open(path, err, sizeof err);
    REQUIRE(g, "%s", err);
    CHECK(el_gguf_n_kv(g) == 3);
    CHECK(!strcmp(el_gguf_key(g, 0), "b") && el_gguf_kv_type(g, 0) == EL_GGUF_STRING);
    CHECK(!strcmp(el_gguf_key(g, 1), "c"));
    CHECK(el_gguf_alignment(g) == 64);
    CHECK(el_gguf_data_offset(g) % 64 == 0);
    CHECK(el_gguf_tensor_at(g, 0)->offset == 0);
    CHECK(el_gguf_tensor_at(g, 1)->offset == 64, "%llu",
          (unsigned long long)el_gguf_tensor_at(g, 1)->offset);
    CHECK(el_gguf_file_size(g) == el_gguf_data_offset(g) + 64 + 128, "last tensor padded");
    el_gguf_close(g);

    /* bad alignment: write fails, nothing is left behind */
    el_gguf_set_u32(w, "general.alignment", 48);
    const char *bad = tmp_path("align48.gguf");
    CHECK(el_gguf_writer_write(w, bad, err, sizeof err) == -1);
    CHECK(strstr(err, "power of two") != NULL, "%s", err);
    CHECK(access(bad, F_OK) != 0);
    /* unwritable path: error, no temp file */
    el_gguf_set_u32(w, "general.alignment", 32);
    CHECK(el_gguf_writer_write(w, "/nonexistent-dir/x.gguf", err, sizeof err) == -1);
    CHECK(strstr(err, "/nonexistent-dir/x.gguf") != NULL, "%s", err);
    /* no stray temporary files in the scratch folder */
    DIR *dir = opendir(el_tmpdir());
    int stray = 0;
    for (struct dirent *de; dir && (de = readdir(dir));)
        if (strstr(de->d_name, ".tmp.")) stray++;
    if (dir) closedir(dir);
    CHECK(stray == 0, "%d temporary files left", stray);
    el_gguf_writer_free(w);
}

static int fill_iota(void *ctx, void *dst, uint64_t size, char *err, size_t errlen) {
    (void)err, (void)errlen;
    int *calls = ctx;
    uint8_t *p = dst;
    CHECK(((uintptr_t)dst & 63) == 0, "fill buffer is 64-byte aligned");
    for (uint64_t i = 0; i < size; i++)
        p[i] = (uint8_t)(i + (uint64_t)*calls);
    (*calls)++;
    return 0;
}

static int fill_fail(void *ctx, void *dst, uint64_t size, char *err, size_t errlen) {
    (void)ctx, (void)dst, (void)size;
    return el_errf(err, errlen, "no data today");
}

static void test_writer_fill(void) {
    el_gguf_writer *w = el_gguf_writer_new();
    int calls = 0;
    const int64_t ne[] = {64, 3};
    uint8_t direct[36];
    for (int i = 0; i < 36; i++)
        direct[i] = (uint8_t)(200 + i);
    CHECK(el_gguf_add_tensor_fill(w, "gen", EL_TYPE_Q8_0, 2, ne, 3 * 68, fill_iota, &calls) == 0,
          "%s", el_gguf_writer_error(w));
    CHECK(el_gguf_add_tensor(w, "direct", EL_TYPE_Q8_1, 1, (const int64_t[]){32}, direct, 36) == 0);
    CHECK(el_gguf_add_tensor_fill(w, "gen2", EL_TYPE_F32, 1, (const int64_t[]){5}, 20, fill_iota,
                                  &calls) == 0);
    CHECK(el_gguf_add_tensor_fill(w, "nofn", EL_TYPE_F32, 1, ne, 256, NULL, NULL) == -1);
    CHECK(el_gguf_add_tensor_fill(w, "badsz", EL_TYPE_F32, 1, ne, 255, fill_iota, &calls) == -1);
    char err[512] = "";
    const char *path = tmp_path("fill.gguf");
    REQUIRE(el_gguf_writer_write(w, path, err, sizeof err) == 0, "%s", err);
    CHECK(calls == 2, "%d calls", calls);
    el_gguf *g = el_gguf_open(path, err, sizeof err);
    REQUIRE(g, "%s", err);
    const el_gguf_tensor *t = el_gguf_find_tensor(g, "gen");
    REQUIRE(t && t->size == 204);
    const uint8_t *p = t->data;
    CHECK(p[0] == 0 && p[203] == 203);
    t = el_gguf_find_tensor(g, "direct");
    REQUIRE(t);
    CHECK(!memcmp(t->data, direct, 36));
    t = el_gguf_find_tensor(g, "gen2");
    REQUIRE(t && t->size == 20);
    p = t->data;
    CHECK(p[0] == 1 && p[19] == 20, "second fill call");
    el_gguf_close(g);

    /* a failing fill fails the write with its message; the old file stays intact */
    CHECK(el_gguf_add_tensor_fill(w, "fails", EL_TYPE_F32, 1, (const int64_t[]){1}, 4, fill_fail,
                                  NULL) == 0);
    CHECK(el_gguf_writer_write(w, path, err, sizeof err) == -1);
    CHECK(strstr(err, "no data today") != NULL, "%s", err);
    g = el_gguf_open(path, err, sizeof err);
    CHECK(g && el_gguf_n_tensors(g) == 3, "the earlier file is untouched");
    el_gguf_close(g);
    el_gguf_writer_free(w);
}

/* ---- nested arrays ------------------------------------------------------------------------- */

static void build_nested(bb *b) {
    bb_hdr(b, 3, 0, 5);
    /* nest.i32: [[1,2,3], [], [-7]] */
    bb_key(b, "nest.i32", EL_GGUF_ARRAY);
    bb_arr_hdr(b, EL_GGUF_ARRAY, 3);
    bb_arr_hdr(b, EL_GGUF_INT32, 3);
    for (int32_t v = 1; v <= 3; v++)
        bb_raw(b, &v, 4);
    bb_arr_hdr(b, EL_GGUF_INT32, 0);
    bb_arr_hdr(b, EL_GGUF_INT32, 1);
    int32_t m7 = -7;
    bb_raw(b, &m7, 4);
    /* nest.str: [["x","yz"], ["", "✓"]] */
    bb_key(b, "nest.str", EL_GGUF_ARRAY);
    bb_arr_hdr(b, EL_GGUF_ARRAY, 2);
    bb_arr_hdr(b, EL_GGUF_STRING, 2);
    bb_str(b, "x");
    bb_str(b, "yz");
    bb_arr_hdr(b, EL_GGUF_STRING, 2);
    bb_str(b, "");
    bb_str(b, "\xe2\x9c\x93");
    /* nest.deep: [[[5]], []] */
    bb_key(b, "nest.deep", EL_GGUF_ARRAY);
    bb_arr_hdr(b, EL_GGUF_ARRAY, 2);
    bb_arr_hdr(b, EL_GGUF_ARRAY, 1);
    bb_arr_hdr(b, EL_GGUF_UINT8, 1);
    bb_u8(b, 5);
    bb_arr_hdr(b, EL_GGUF_ARRAY, 0);
    /* nest.mixed: [[1.5f], ["s"], [[true]]] */
    bb_key(b, "nest.mixed", EL_GGUF_ARRAY);
    bb_arr_hdr(b, EL_GGUF_ARRAY, 3);
    bb_arr_hdr(b, EL_GGUF_FLOAT32, 1);
    bb_f32(b, 1.5f);
    bb_arr_hdr(b, EL_GGUF_STRING, 1);
    bb_str(b, "s");
    bb_arr_hdr(b, EL_GGUF_ARRAY, 1);
    bb_arr_hdr(b, EL_GGUF_BOOL, 1);
    bb_u8(b, 1);
    /* a scalar after them: the cursor must have landed exactly here */
    bb_key(b, "after", EL_GGUF_UINT32);
    bb_u32(b, 77);
}

static void check_nested(const el_gguf *g) {
    el_gguf_arr a, c, d;
    int64_t v = 0;
    REQUIRE(el_gguf_get_arr(g, "nest.i32", &a) == 0);
    CHECK(a.elem_type == EL_GGUF_ARRAY && a.n == 3);
    c = el_gguf_arr_get_arr(&a, 0);
    CHECK(c.elem_type == EL_GGUF_INT32 && c.n == 3 && el_gguf_arr_i64(&c, 2) == 3);
    c = el_gguf_arr_get_arr(&a, 1);
    CHECK(c.elem_type == EL_GGUF_INT32 && c.n == 0);
    c = el_gguf_arr_get_arr(&a, 2);
    CHECK(c.n == 1 && el_gguf_arr_i64(&c, 0) == -7);
    c = el_gguf_arr_get_arr(&a, 3);
    CHECK(c.n == 0, "out of range child is empty");

    REQUIRE(el_gguf_get_arr(g, "nest.str", &a) == 0);
    c = el_gguf_arr_get_arr(&a, 0);
    el_gstr s = el_gguf_arr_str(&c, 1);
    CHECK(c.elem_type == EL_GGUF_STRING && s.n == 2 && !memcmp(s.s, "yz", 2));
    c = el_gguf_arr_get_arr(&a, 1);
    CHECK(el_gguf_arr_str(&c, 0).n == 0);
    s = el_gguf_arr_str(&c, 1);
    CHECK(s.n == 3 && !memcmp(s.s, "\xe2\x9c\x93", 3));

    REQUIRE(el_gguf_get_arr(g, "nest.deep", &a) == 0);
    c = el_gguf_arr_get_arr(&a, 0);
    d = el_gguf_arr_get_arr(&c, 0);
    CHECK(c.elem_type == EL_GGUF_ARRAY && d.elem_type == EL_GGUF_UINT8 && d.n == 1 &&
          el_gguf_arr_i64(&d, 0) == 5);
    c = el_gguf_arr_get_arr(&a, 1);
    CHECK(c.elem_type == EL_GGUF_ARRAY && c.n == 0);

    REQUIRE(el_gguf_get_arr(g, "nest.mixed", &a) == 0);
    c = el_gguf_arr_get_arr(&a, 0);
    CHECK(c.elem_type == EL_GGUF_FLOAT32 && el_gguf_arr_f64(&c, 0) == 1.5);
    c = el_gguf_arr_get_arr(&a, 1);
    s = el_gguf_arr_str(&c, 0);
    CHECK(c.elem_type == EL_GGUF_STRING && s.n == 1 && s.s[0] == 's');
    c = el_gguf_arr_get_arr(&a, 2);
    d = el_gguf_arr_get_arr(&c, 0);
    CHECK(d.elem_type == EL_GGUF_BOOL && el_gguf_arr_i64(&d, 0) == 1);

    CHECK(el_gguf_get_i64(g, "after", &v) == 0 && v == 77);
}

static void test_nested_arrays(void) {
    bb b = {0};
    build_nested(&b);
    void *copy;
    char err[512] = "";
    el_gguf *g = open_copy(b.p, b.n, err, sizeof err, &copy);
    REQUIRE(g, "%s", err);
    check_nested(g);

    /* copy every key into a writer, write, reread: same bytes, same values */
    el_gguf_writer *w = el_gguf_writer_new();
    for (int64_t i = 0; i < el_gguf_n_kv(g); i++)
        CHECK(el_gguf_copy_kv(w, g, i) == 0);
    CHECK(el_gguf_copy_kv(w, g, 99) == -1);
    const char *path = tmp_path("nested.gguf");
    REQUIRE(el_gguf_writer_write(w, path, err, sizeof err) == 0, "%s", err);
    el_gguf_writer_free(w);
    el_gguf *h = el_gguf_open(path, err, sizeof err);
    REQUIRE(h, "%s", err);
    check_nested(h);
    CHECK(el_gguf_n_kv(h) == el_gguf_n_kv(g));
    for (int64_t i = 0; i < el_gguf_n_kv(g); i++) {
        const uint8_t *p1, *p2;
        uint64_t n1, n2;
        el_gguf_kv_raw(g, i, &p1, &n1);
        el_gguf_kv_raw(h, i, &p2, &n2);
        CHECK(n1 == n2 && !memcmp(p1, p2, n1), "key %s", el_gguf_key(g, i));
    }
    /* hand-built and written file are the same bytes up to the (absent) padding */
    CHECK(el_gguf_file_size(h) >= b.n && !memcmp(el_gguf_base(h), b.p, b.n));
    el_gguf_close(h);
    el_gguf_close(g);
    free(copy);
    bb_free(&b);
}

/* depth levels of arrays: [[[...[1]...]]] with depth arrays in total */
static void build_deep(bb *b, int depth) {
    bb_hdr(b, 3, 0, 1);
    bb_key(b, "deep", EL_GGUF_ARRAY);
    for (int i = 1; i < depth; i++)
        bb_arr_hdr(b, EL_GGUF_ARRAY, 1);
    bb_arr_hdr(b, EL_GGUF_UINT8, 1);
    bb_u8(b, 1);
}

static void test_nesting_limit(void) {
    bb b = {0};
    build_deep(&b, 16);
    EXPECT_OK(&b);
    bb_free(&b);
    build_deep(&b, 17);
    /* the 17th array header starts after: header 24, key 8+4, type 4, 16 headers of 12 */
    EXPECT_FAIL(&b, "nested deeper than 16", 24 + 12 + 4 + 16 * 12);
    bb_free(&b);
}

/* ---- corrupt input: header and metadata ------------------------------------------------------ */

static void test_corrupt_header(void) {
    bb b = {0};
    EXPECT_FAIL(&b, "truncated", 0); /* empty */
    bb_u32(&b, EL_GGUF_MAGIC);
    EXPECT_FAIL(&b, "truncated", 4);
    bb_free(&b);

    bb_hdr(&b, 3, 0, 0);
    EXPECT_OK(&b);
    b.p[0] = 'X';
    EXPECT_FAIL(&b, "bad magic", 0);
    bb_free(&b);

    bb_hdr(&b, 1, 0, 0);
    EXPECT_FAIL(&b, "GGUF version 1 is not supported", 4);
    bb_free(&b);
    bb_hdr(&b, 4, 0, 0);
    EXPECT_FAIL(&b, "unsupported GGUF version 4", 4);
    bb_free(&b);
    bb_hdr(&b, 0x03000000, 0, 0);
    EXPECT_FAIL(&b, "big-endian", 4);
    bb_free(&b);
    bb_hdr(&b, 2, 0, 0); /* v2 reads */
    EXPECT_OK(&b);
    bb_free(&b);

    /* absurd counts: checked against the bytes left before anything is allocated */
    bb_hdr(&b, 3, 0, (uint64_t)1 << 60);
    EXPECT_FAIL(&b, "key count 1152921504606846976 is larger than", 16);
    bb_free(&b);
    bb_hdr(&b, 3, UINT64_MAX, 0);
    EXPECT_FAIL(&b, "tensor count", 8);
    bb_free(&b);
    bb_hdr(&b, 3, 0, 2); /* 2 keys, but room for one only */
    bb_key(&b, "k", EL_GGUF_UINT8);
    bb_u8(&b, 1);
    EXPECT_FAIL(&b, "key count 2", 16);
    bb_free(&b);
}

static void test_corrupt_metadata(void) {
    bb b = {0};
    size_t at;

    /* key string length past the end */
    bb_hdr(&b, 3, 0, 1);
    at = b.n;
    bb_u64(&b, 1000);
    bb_raw(&b, "abcdefgh", 8);
    EXPECT_FAIL(&b, "key length 1000 runs past the end", at);
    bb_free(&b);

    /* string value length past the end */
    bb_hdr(&b, 3, 0, 1);
    bb_key(&b, "s", EL_GGUF_STRING);
    at = b.n;
    bb_u64(&b, UINT64_MAX);
    bb_raw(&b, "abc", 3);
    EXPECT_FAIL(&b, "string value length 18446744073709551615 runs past the end", at);
    CHECK(strstr(last_err, "(key 's')") != NULL, "message names the key: %s", last_err);
    bb_free(&b);

    /* unknown value type */
    bb_hdr(&b, 3, 0, 1);
    bb_str(&b, "k");
    at = b.n;
    bb_u32(&b, 13);
    bb_u32(&b, 0);
    EXPECT_FAIL(&b, "unknown value type 13", at);
    bb_free(&b);

    /* unknown array element type */
    bb_hdr(&b, 3, 0, 1);
    bb_key(&b, "k", EL_GGUF_ARRAY);
    at = b.n;
    bb_arr_hdr(&b, 77, 1);
    bb_u32(&b, 0);
    EXPECT_FAIL(&b, "unknown array element type 77", at);
    bb_free(&b);

    /* absurd array lengths: numeric, string, nested */
    bb_hdr(&b, 3, 0, 1);
    bb_key(&b, "k", EL_GGUF_ARRAY);
    bb_u32(&b, EL_GGUF_UINT32);
    at = b.n;
    bb_u64(&b, (uint64_t)1 << 50);
    bb_u32(&b, 1);
    EXPECT_FAIL(&b, "array of 1125899906842624 uint32 elements is longer than", at);
    bb_free(&b);
    bb_hdr(&b, 3, 0, 1);
    bb_key(&b, "k", EL_GGUF_ARRAY);
    bb_u32(&b, EL_GGUF_STRING);
    at = b.n;
    bb_u64(&b, 3); /* 3 strings need >= 24 bytes, 16 are there */
    bb_str(&b, "");
    bb_str(&b, "");
    EXPECT_FAIL(&b, "array of 3 string elements", at);
    bb_free(&b);
    bb_hdr(&b, 3, 0, 1);
    bb_key(&b, "k", EL_GGUF_ARRAY);
    bb_u32(&b, EL_GGUF_ARRAY);
    at = b.n;
    bb_u64(&b, UINT64_MAX);
    EXPECT_FAIL(&b, "array of 18446744073709551615 array elements", at);
    bb_free(&b);

    /* string array element past the end */
    bb_hdr(&b, 3, 0, 1);
    bb_key(&b, "k", EL_GGUF_ARRAY);
    bb_arr_hdr(&b, EL_GGUF_STRING, 2);
    bb_str(&b, "ok");
    at = b.n;
    bb_u64(&b, 9);
    bb_raw(&b, "12345678", 8);
    EXPECT_FAIL(&b, "string array element length 9 runs past the end", at);
    bb_free(&b);

    /* truncated scalar */
    bb_hdr(&b, 3, 0, 1);
    bb_key(&b, "k", EL_GGUF_UINT64);
    at = b.n;
    bb_u32(&b, 5);
    bb_u8(&b, 0); /* 5 bytes: the key-count check passes, the u64 does not */
    EXPECT_FAIL(&b, "truncated file: value needs 8 bytes, only 5 left", at);
    bb_free(&b);

    /* duplicate keys */
    bb_hdr(&b, 3, 0, 3);
    bb_key(&b, "a", EL_GGUF_UINT8);
    bb_u8(&b, 1);
    bb_key(&b, "b", EL_GGUF_UINT8);
    bb_u8(&b, 1);
    at = b.n;
    bb_key(&b, "a", EL_GGUF_UINT8);
    bb_u8(&b, 1);
    EXPECT_FAIL(&b, "duplicate key (key 'a')", at);
    bb_free(&b);

    /* empty key, NUL inside a key */
    bb_hdr(&b, 3, 0, 1);
    at = b.n;
    bb_key(&b, "", EL_GGUF_UINT8);
    bb_u8(&b, 1);
    bb_u8(&b, 0); /* a key needs >= 14 bytes to pass the count check */
    EXPECT_FAIL(&b, "empty key", at);
    bb_free(&b);
    bb_hdr(&b, 3, 0, 1);
    bb_strn(&b, "a\0b", 3);
    bb_u32(&b, EL_GGUF_UINT8);
    bb_u8(&b, 1);
    EXPECT_FAIL(&b, "key contains a NUL byte", 32);
    bb_free(&b);

    /* non-UTF-8: in a key, a string value, a string array element (offset of the bad byte) */
    bb_hdr(&b, 3, 0, 1);
    bb_strn(&b, "ab\xc0\x80", 4); /* overlong NUL */
    bb_u32(&b, EL_GGUF_UINT8);
    bb_u8(&b, 1);
    EXPECT_FAIL(&b, "key is not valid UTF-8", 24 + 8 + 2);
    bb_free(&b);
    bb_hdr(&b, 3, 0, 1);
    bb_key(&b, "k", EL_GGUF_STRING);
    at = b.n + 8 + 1;
    bb_strn(&b, "a\xed\xa0\x80", 4); /* surrogate */
    EXPECT_FAIL(&b, "string value is not valid UTF-8", at);
    bb_free(&b);
    bb_hdr(&b, 3, 0, 1);
    bb_key(&b, "k", EL_GGUF_ARRAY);
    bb_arr_hdr(&b, EL_GGUF_STRING, 2);
    bb_str(&b, "fine");
    at = b.n + 8;
    bb_strn(&b, "\xff", 1);
    EXPECT_FAIL(&b, "string array element is not valid UTF-8", at);
    bb_free(&b);

    /* bools must be 0/1, scalar and in arrays */
    bb_hdr(&b, 3, 0, 1);
    bb_key(&b, "k", EL_GGUF_BOOL);
    at = b.n;
    bb_u8(&b, 2);
    EXPECT_FAIL(&b, "bool value 2 is not 0 or 1", at);
    bb_free(&b);
    bb_hdr(&b, 3, 0, 1);
    bb_key(&b, "k", EL_GGUF_ARRAY);
    bb_arr_hdr(&b, EL_GGUF_BOOL, 3);
    bb_u8(&b, 1);
    bb_u8(&b, 0);
    at = b.n;
    bb_u8(&b, 255);
    EXPECT_FAIL(&b, "bool value 255", at);
    bb_free(&b);

    /* general.alignment: zero, not a power of two, not an integer; 16 is fine */
    const uint32_t bad_align[] = {0, 3, 48};
    for (size_t i = 0; i < EL_ARRAY_LEN(bad_align); i++) {
        bb_hdr(&b, 3, 0, 1);
        bb_key(&b, "general.alignment", EL_GGUF_UINT32);
        at = b.n;
        bb_u32(&b, bad_align[i]);
        EXPECT_FAIL(&b, "is not a power of two", at);
        bb_free(&b);
    }
    bb_hdr(&b, 3, 0, 1);
    bb_key(&b, "general.alignment", EL_GGUF_STRING);
    bb_str(&b, "32");
    EXPECT_FAIL(&b, "general.alignment has type string", -1);
    bb_free(&b);
    bb_hdr(&b, 3, 0, 1);
    bb_key(&b, "general.alignment", EL_GGUF_UINT32);
    bb_u32(&b, 16);
    EXPECT_OK(&b);
    bb_free(&b);
}

/* ---- corrupt input: tensors ------------------------------------------------------------------ */

typedef struct tspec {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[4];
    uint32_t type;
    uint64_t offset;
} tspec;

typedef struct tpos {
    size_t name, n_dims, ne, type, offset; /* byte offsets of each field */
} tpos;

/* A file with no keys (or just general.alignment when align != 0), the tensor infos, the
 * padding and data_bytes of data. Returns the absolute data start. */
static size_t tensor_file(bb *b, const tspec *ts, int nt, tpos *pos, size_t data_bytes,
                          uint32_t align) {
    bb_hdr(b, 3, (uint64_t)nt, align ? 1 : 0);
    if (align) {
        bb_key(b, "general.alignment", EL_GGUF_UINT32);
        bb_u32(b, align);
    }
    for (int i = 0; i < nt; i++) {
        if (pos) pos[i].name = b->n;
        bb_str(b, ts[i].name);
        if (pos) pos[i].n_dims = b->n;
        bb_u32(b, ts[i].n_dims);
        if (pos) pos[i].ne = b->n;
        for (uint32_t d = 0; d < ts[i].n_dims && d < 4; d++)
            bb_u64(b, ts[i].ne[d]);
        if (pos) pos[i].type = b->n;
        bb_u32(b, ts[i].type);
        if (pos) pos[i].offset = b->n;
        bb_u64(b, ts[i].offset);
    }
    bb_pad(b, align ? align : 32);
    size_t start = b->n;
    for (size_t i = 0; i < data_bytes; i++)
        bb_u8(b, (uint8_t)i);
    return start;
}

static void test_corrupt_tensors(void) {
    bb b = {0};
    tpos pos[3];
    /* the valid base: two f32 tensors [8] and [4,2], 32 + 32 data bytes */
    tspec ok[2] = {{"a", 1, {8}, EL_TYPE_F32, 0}, {"b", 2, {4, 2}, EL_TYPE_F32, 32}};
    size_t start = tensor_file(&b, ok, 2, pos, 64, 0);
    EXPECT_OK(&b);
    {
        void *copy;
        char err[256];
        el_gguf *g = open_copy(b.p, b.n, err, sizeof err, &copy);
        REQUIRE(g, "%s", err);
        CHECK(el_gguf_data_offset(g) == start);
        CHECK(el_gguf_tensor_at(g, 1)->data == (const uint8_t *)copy + start + 32);
        el_gguf_close(g);
        free(copy);
    }
    bb_free(&b);

    tspec t[2];
#define VARIANT(field, value, nbytes, what, at_field)                                              \
    do {                                                                                           \
        memcpy(t, ok, sizeof t);                                                                   \
        t[1].field = value;                                                                        \
        tensor_file(&b, t, 2, pos, nbytes, 0);                                                     \
        EXPECT_FAIL(&b, what, pos[1].at_field);                                                    \
        bb_free(&b);                                                                               \
    } while (0)

    VARIANT(n_dims, 0, 64, "tensor n_dims 0 is not in 1..4", n_dims);
    VARIANT(n_dims, 5, 64, "tensor n_dims 5 is not in 1..4", n_dims);
    VARIANT(ne[0], (uint64_t)-4, 64, "tensor dimension 0 is negative (-4)", ne);
    VARIANT(ne[1], 0, 64, "tensor dimension 1 is zero", ne + 8);
    VARIANT(type, 4, 64, "unknown tensor type 4", type);
    VARIANT(type, 1000, 64, "unknown tensor type 1000", type);
    VARIANT(type, EL_TYPE_Q4_0, 64, "needs ne[0] to be a multiple of 32", type);
    VARIANT(offset, 16, 64, "tensor offset 16 is not a multiple of the alignment 32", offset);
    VARIANT(name, "a", 64, "duplicate tensor name (tensor 'a')", name);
    VARIANT(name, "", 64, "empty tensor name", name);
    VARIANT(name, "\xc3", 64, "tensor name is not valid UTF-8", name + 8);
#undef VARIANT

    /* element count overflow: 2^32 * 2^32 */
    memcpy(t, ok, sizeof t);
    t[1].ne[0] = (uint64_t)1 << 32;
    t[1].ne[1] = (uint64_t)1 << 32;
    tensor_file(&b, t, 2, pos, 64, 0);
    EXPECT_FAIL(&b, "tensor element count overflows", pos[1].ne + 8);
    CHECK(strstr(last_err, "(tensor 'b')") != NULL, "names the tensor: %s", last_err);
    bb_free(&b);
    /* byte size overflow: 2^62 f64 elements fit int64, their bytes do not fit uint64 */
    t[1].ne[0] = (uint64_t)1 << 62;
    t[1].ne[1] = 1;
    t[1].type = EL_TYPE_F64;
    tensor_file(&b, t, 2, pos, 64, 0);
    EXPECT_FAIL(&b, "tensor byte size overflows", pos[1].type);
    bb_free(&b);

    /* data past the end: offset beyond the data section, size running past it */
    memcpy(t, ok, sizeof t);
    t[1].offset = 1 << 20;
    start = tensor_file(&b, t, 2, pos, 64, 0);
    EXPECT_FAIL(&b, "runs past the end of the file", start + 64);
    bb_free(&b);
    memcpy(t, ok, sizeof t);
    start = tensor_file(&b, t, 2, pos, 60, 0); /* b needs [32, 64) */
    EXPECT_FAIL(&b, "tensor data [32, +32) runs past the end of the file (60 data bytes)",
                start + 32);
    bb_free(&b);
    /* data section itself past the end: header end not padded, no data */
    memcpy(t, ok, sizeof t);
    tensor_file(&b, t, 2, pos, 0, 0);
    b.n = pos[1].offset + 8; /* drop the padding */
    EXPECT_FAIL(&b, "truncated file: tensor data section starts at byte", -1);
    bb_free(&b);

    /* overlapping tensors (reported at the later one's start) */
    memcpy(t, ok, sizeof t);
    t[0].ne[0] = 16; /* a now covers [0, 64), b starts at 32 */
    start = tensor_file(&b, t, 2, pos, 64, 0);
    EXPECT_FAIL(&b, "tensors 'a' and 'b' overlap", start + 32);
    bb_free(&b);
    memcpy(t, ok, sizeof t);
    t[1].offset = 0; /* same offset */
    tensor_file(&b, t, 2, pos, 64, 0);
    EXPECT_FAIL(&b, "overlap", -1);
    bb_free(&b);
    /* order in the file does not matter, only overlap: b before a is fine */
    memcpy(t, ok, sizeof t);
    t[0].offset = 32;
    t[1].offset = 0;
    tensor_file(&b, t, 2, pos, 64, 0);
    EXPECT_OK(&b);
    bb_free(&b);

    /* custom alignment: offsets must follow it */
    memcpy(t, ok, sizeof t);
    t[1].offset = 32;
    tensor_file(&b, t, 2, pos, 96, 64);
    EXPECT_FAIL(&b, "not a multiple of the alignment 64", pos[1].offset);
    bb_free(&b);
    t[1].offset = 64;
    start = tensor_file(&b, t, 2, pos, 96, 64);
    CHECK(start % 64 == 0);
    EXPECT_OK(&b);
    bb_free(&b);

    /* tensor count larger than the bytes could hold */
    bb_hdr(&b, 3, 1000, 0);
    bb_str(&b, "x");
    EXPECT_FAIL(&b, "tensor count 1000 is larger than", 8);
    bb_free(&b);
}

/* ---- real files ------------------------------------------------------------------------------ */

static void test_truncations(void) {
    size_t n = 0;
    char *full = el_read_file(el_testdata("models/stories260K.gguf"), &n);
    REQUIRE(full, "cannot read stories260K.gguf");
    REQUIRE(n == 1185376);
    char err[512];
    int opened = 0, no_message = 0, bad_kind = 0, tried = 0;
    /* every byte over the header (data starts at 14176), then a stride over the data */
    for (size_t len = 0; len < n; len += len < 14176 + 64 ? 1 : 997) {
        void *copy;
        err[0] = 0;
        el_gguf *g = open_copy(full, len, err, sizeof err, &copy);
        tried++;
        if (g) opened++;
        if (!err[0]) no_message++;
        if (!strstr(err, "truncated") && !strstr(err, "past the end") &&
            !strstr(err, "bytes left could hold"))
            bad_kind++;
        el_gguf_close(g);
        free(copy);
    }
    void *copy;
    el_gguf *g = open_copy(full, n - 1, err, sizeof err, &copy);
    CHECK(g == NULL && strstr(err, "past the end"), "one byte short: %s", err);
    el_gguf_close(g);
    free(copy);
    CHECK(tried > 15000);
    CHECK(opened == 0, "%d truncated files opened", opened);
    CHECK(no_message == 0);
    CHECK(bad_kind == 0, "%d messages neither 'truncated' nor 'past the end'", bad_kind);
    free(full);
}

static int json_int(const cJSON *o, const char *k, long long *v) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!cJSON_IsNumber(x)) return -1;
    *v = (long long)x->valuedouble;
    return 0;
}

/* Compares one JSON value (number / string) with element j of array a, or the scalar key i. */
static bool json_matches_elem(const cJSON *want, const el_gguf_arr *a, uint64_t j) {
    if (cJSON_IsString(want)) {
        el_gstr s = el_gguf_arr_str(a, j);
        return s.n == strlen(want->valuestring) && !memcmp(s.s, want->valuestring, s.n);
    }
    if (cJSON_IsNumber(want)) return el_gguf_arr_f64(a, j) == want->valuedouble;
    return false;
}

static bool json_matches_kv(const cJSON *want, const el_gguf *g, int64_t i) {
    if (cJSON_IsString(want)) {
        el_gstr s;
        return el_gguf_kv_str(g, i, &s) == 0 && s.n == strlen(want->valuestring) &&
               !memcmp(s.s, want->valuestring, s.n);
    }
    if (cJSON_IsBool(want)) {
        bool b;
        return el_gguf_kv_bool(g, i, &b) == 0 && b == cJSON_IsTrue(want);
    }
    if (cJSON_IsNumber(want)) {
        double d;
        return el_gguf_kv_f64(g, i, &d) == 0 && d == want->valuedouble;
    }
    return false;
}

static void check_header_json(const char *json_path) {
    size_t n;
    char *text = el_read_file(json_path, &n);
    REQUIRE(text, "%s", json_path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    REQUIRE(j, "%s: bad JSON", json_path);
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(j, "file");
    long long version = 0, n_t = 0, n_kv = 0, align = 0, start = 0, size = 0;
    json_int(j, "gguf_version", &version);
    json_int(j, "n_tensors", &n_t);
    json_int(j, "n_kv", &n_kv);
    json_int(j, "alignment", &align);
    json_int(j, "tensor_data_start", &start);
    json_int(j, "file_size", &size);
    if (!cJSON_IsString(file)) {
        CHECK(0, "%s: no file", json_path);
        cJSON_Delete(j);
        return;
    }
    char err[512] = "";
    el_gguf *g = el_gguf_open(el_testdata(file->valuestring), err, sizeof err);
    if (version == 1) {
        CHECK(g == NULL && strstr(err, "GGUF version 1 is not supported") &&
                  strstr(err, "at byte 4"),
              "%s: %s", file->valuestring, err);
        el_gguf_close(g);
        cJSON_Delete(j);
        return;
    }
    if (!g) {
        CHECK(0, "%s: %s", file->valuestring, err);
        cJSON_Delete(j);
        return;
    }
    const char *fn = file->valuestring;
    CHECK(el_gguf_version(g) == (uint32_t)version, "%s", fn);
    CHECK(el_gguf_n_tensors(g) == n_t, "%s", fn);
    CHECK(el_gguf_n_kv(g) == n_kv, "%s", fn);
    CHECK(el_gguf_alignment(g) == (uint64_t)align, "%s", fn);
    CHECK(el_gguf_data_offset(g) == (uint64_t)start, "%s: %llu vs %lld", fn,
          (unsigned long long)el_gguf_data_offset(g), start);
    CHECK(el_gguf_file_size(g) == (uint64_t)size, "%s", fn);

    const cJSON *kvs = cJSON_GetObjectItemCaseSensitive(j, "kv");
    int64_t i = 0;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, kvs) {
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(kv, "key");
        REQUIRE(cJSON_IsString(key));
        CHECK(el_gguf_key(g, i) && !strcmp(el_gguf_key(g, i), key->valuestring), "%s key %lld", fn,
              (long long)i);
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(kv, "value");
        if (val) {
            CHECK(json_matches_kv(val, g, i), "%s: value of %s", fn, key->valuestring);
        } else {
            long long alen = -1;
            json_int(kv, "array_len", &alen);
            el_gguf_arr a;
            REQUIRE(el_gguf_kv_arr(g, i, &a) == 0, "%s: %s is not an array", fn, key->valuestring);
            CHECK(a.n == (uint64_t)alen, "%s: %s length", fn, key->valuestring);
            const cJSON *first = cJSON_GetObjectItemCaseSensitive(kv, "first");
            const cJSON *last = cJSON_GetObjectItemCaseSensitive(kv, "last");
            uint64_t k = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, first) {
                CHECK(json_matches_elem(e, &a, k), "%s: %s[%llu]", fn, key->valuestring,
                      (unsigned long long)k);
                k++;
            }
            uint64_t nl = (uint64_t)cJSON_GetArraySize(last);
            k = a.n - nl;
            cJSON_ArrayForEach(e, last) {
                CHECK(json_matches_elem(e, &a, k), "%s: %s[%llu]", fn, key->valuestring,
                      (unsigned long long)k);
                k++;
            }
        }
        i++;
    }
    CHECK(i == n_kv);

    const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(j, "tensors");
    const cJSON *tj;
    i = 0;
    cJSON_ArrayForEach(tj, tensors) {
        const el_gguf_tensor *t = el_gguf_tensor_at(g, i++);
        REQUIRE(t);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(tj, "name");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(tj, "type");
        const cJSON *ne = cJSON_GetObjectItemCaseSensitive(tj, "ne");
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(tj, "sha256");
        long long off = -1, nbytes = -1;
        json_int(tj, "offset", &off);
        json_int(tj, "nbytes", &nbytes);
        REQUIRE(cJSON_IsString(name) && cJSON_IsString(type) && cJSON_IsString(sha));
        CHECK(!strcmp(t->name, name->valuestring), "%s: %s vs %s", fn, t->name, name->valuestring);
        CHECK(el_gguf_find_tensor(g, name->valuestring) == t, "%s", name->valuestring);
        CHECK(t->type == el_type_from_name(type->valuestring), "%s: %s type", fn, t->name);
        CHECK(t->n_dims == (uint32_t)cJSON_GetArraySize(ne), "%s: %s n_dims", fn, t->name);
        int d = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, ne) {
            CHECK(d < 4 && t->ne[d] == (int64_t)x->valuedouble, "%s: %s ne[%d]", fn, t->name, d);
            d++;
        }
        CHECK(t->offset == (uint64_t)off, "%s: %s offset", fn, t->name);
        CHECK(t->size == (uint64_t)nbytes, "%s: %s size", fn, t->name);
        char hex[65];
        sha256_hex(t->data, t->size, hex);
        CHECK(!strcmp(hex, sha->valuestring), "%s: %s sha256 %s", fn, t->name, hex);
    }
    CHECK(i == n_t);
    el_gguf_close(g);
    cJSON_Delete(j);
}

static void test_header_dumps(void) {
    const char *dir = el_testdata("expected");
    DIR *d = opendir(dir);
    REQUIRE(d, "cannot open %s", dir);
    int files = 0;
    for (struct dirent *de; (de = readdir(d));) {
        size_t l = strlen(de->d_name);
        if (l < 12 || strcmp(de->d_name + l - 12, ".header.json")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        check_header_json(path);
        files++;
    }
    closedir(d);
    CHECK(files >= 3, "%d header dumps", files);
}

/* Vocabulary-only files: counts from testdata/README.md's table. */
static void test_vocab_files(void) {
    static const struct {
        const char *file, *model;
        uint64_t n_vocab, n_merges;
    } v[] = {
        {"ggml-vocab-llama-spm.gguf", "llama", 32000, 0},
        {"ggml-vocab-phi-3.gguf", "llama", 32064, 0},
        {"ggml-vocab-baichuan.gguf", "llama", 64000, 0},
        {"ggml-vocab-gpt-2.gguf", "gpt2", 50257, 50000},
        {"ggml-vocab-deepseek-coder.gguf", "gpt2", 32256, 31757},
        {"ggml-vocab-deepseek-llm.gguf", "gpt2", 102400, 99757},
        {"ggml-vocab-falcon.gguf", "gpt2", 65024, 64784},
        {"ggml-vocab-mpt.gguf", "gpt2", 50432, 50009},
        {"ggml-vocab-gpt-neox.gguf", "gpt2", 50432, 50009},
        {"ggml-vocab-refact.gguf", "gpt2", 49216, 48891},
        {"ggml-vocab-starcoder.gguf", "gpt2", 49152, 48872},
        {"ggml-vocab-bert-bge.gguf", "bert", 30522, 0},
    };
    for (size_t i = 0; i < EL_ARRAY_LEN(v); i++) {
        char rel[256], err[512] = "";
        snprintf(rel, sizeof rel, "tokenizer/%s", v[i].file);
        el_gguf *g = el_gguf_open(el_testdata(rel), err, sizeof err);
        CHECK(g, "%s: %s", v[i].file, err);
        if (!g) continue;
        el_gstr model;
        el_gguf_arr tok, merges;
        CHECK(el_gguf_n_tensors(g) == 0);
        CHECK(el_gguf_get_str(g, "tokenizer.ggml.model", &model) == 0 &&
                  model.n == strlen(v[i].model) && !memcmp(model.s, v[i].model, model.n),
              "%s", v[i].file);
        CHECK(el_gguf_get_arr(g, "tokenizer.ggml.tokens", &tok) == 0 &&
                  tok.elem_type == EL_GGUF_STRING && tok.n == v[i].n_vocab,
              "%s: %llu tokens", v[i].file, (unsigned long long)tok.n);
        /* walk every token: O(1) each, all within the file */
        uint64_t bytes = 0;
        for (uint64_t k = 0; k < tok.n; k++)
            bytes += el_gguf_arr_str(&tok, k).n;
        CHECK(bytes > tok.n, "%s", v[i].file);
        if (v[i].n_merges) {
            CHECK(el_gguf_get_arr(g, "tokenizer.ggml.merges", &merges) == 0 &&
                      merges.n == v[i].n_merges,
                  "%s merges", v[i].file);
            el_gstr m = el_gguf_arr_str(&merges, 0);
            CHECK(memchr(m.s, ' ', m.n) != NULL, "%s: a merge is 'a b'", v[i].file);
        } else {
            CHECK(el_gguf_find_key(g, "tokenizer.ggml.merges") == -1);
        }
        el_gguf_close(g);
    }
    /* spot values in the Llama SPM vocab */
    char err[512] = "";
    el_gguf *g = el_gguf_open(el_testdata("tokenizer/ggml-vocab-llama-spm.gguf"), err, sizeof err);
    REQUIRE(g, "%s", err);
    el_gguf_arr tok;
    REQUIRE(el_gguf_get_arr(g, "tokenizer.ggml.tokens", &tok) == 0);
    el_gstr s = el_gguf_arr_str(&tok, 1);
    CHECK(s.n == 3 && !memcmp(s.s, "<s>", 3));
    s = el_gguf_arr_str(&tok, 3);
    CHECK(s.n == 6 && !memcmp(s.s, "<0x00>", 6));
    el_gguf_close(g);
}

/* Copy every key and tensor of stories260K into a new file: values and tensor bytes match,
 * and since the layout rules are the same, so does the whole file. */
static void test_copy_stories(void) {
    char err[512] = "";
    el_gguf *g = el_gguf_open(el_testdata("models/stories260K.gguf"), err, sizeof err);
    REQUIRE(g, "%s", err);
    el_gguf_writer *w = el_gguf_writer_new();
    for (int64_t i = 0; i < el_gguf_n_kv(g); i++)
        CHECK(el_gguf_copy_kv(w, g, i) == 0);
    for (int64_t i = 0; i < el_gguf_n_tensors(g); i++) {
        const el_gguf_tensor *t = el_gguf_tensor_at(g, i);
        CHECK(el_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->size) == 0,
              "%s", el_gguf_writer_error(w));
    }
    const char *path = tmp_path("stories-copy.gguf");
    REQUIRE(el_gguf_writer_write(w, path, err, sizeof err) == 0, "%s", err);
    el_gguf_writer_free(w);
    el_gguf *h = el_gguf_open(path, err, sizeof err);
    REQUIRE(h, "%s", err);
    CHECK(el_gguf_n_kv(h) == el_gguf_n_kv(g) && el_gguf_n_tensors(h) == el_gguf_n_tensors(g));
    for (int64_t i = 0; i < el_gguf_n_kv(g); i++) {
        const uint8_t *p1, *p2;
        uint64_t n1, n2;
        CHECK(!strcmp(el_gguf_key(g, i), el_gguf_key(h, i)));
        CHECK(el_gguf_kv_type(g, i) == el_gguf_kv_type(h, i));
        el_gguf_kv_raw(g, i, &p1, &n1);
        el_gguf_kv_raw(h, i, &p2, &n2);
        CHECK(n1 == n2 && !memcmp(p1, p2, n1), "value of %s", el_gguf_key(g, i));
    }
    for (int64_t i = 0; i < el_gguf_n_tensors(g); i++) {
        const el_gguf_tensor *a = el_gguf_tensor_at(g, i), *b = el_gguf_tensor_at(h, i);
        CHECK(!strcmp(a->name, b->name) && a->type == b->type && a->n_dims == b->n_dims &&
                  !memcmp(a->ne, b->ne, sizeof a->ne) && a->size == b->size,
              "%s", a->name);
        CHECK(!memcmp(a->data, b->data, a->size), "%s bytes", a->name);
    }
    CHECK(el_gguf_file_size(h) == el_gguf_file_size(g));
    CHECK(el_gguf_file_size(h) == el_gguf_file_size(g) &&
              !memcmp(el_gguf_base(h), el_gguf_base(g), el_gguf_file_size(g)),
          "the copy is byte-identical to the original");
    el_gguf_close(h);
    el_gguf_close(g);
}

static void test_open_errors(void) {
    char err[512] = "";
    CHECK(el_gguf_open("/nonexistent/model.gguf", err, sizeof err) == NULL);
    CHECK(strstr(err, "/nonexistent/model.gguf") != NULL, "%s", err);
    const char *empty = tmp_path("empty.gguf");
    FILE *f = fopen(empty, "wb");
    if (f) fclose(f);
    CHECK(el_gguf_open(empty, err, sizeof err) == NULL);
    CHECK(strstr(err, "empty.gguf: truncated file") != NULL, "%s", err);
    CHECK(el_gguf_open(el_tmpdir(), err, sizeof err) == NULL, "a folder is not a file");
    CHECK(el_gguf_open_mem(NULL, 0, NULL, 0) == NULL, "err may be NULL");
    CHECK(!strcmp(el_gguf_vtype_name(EL_GGUF_UINT32), "uint32"));
    CHECK(!strcmp(el_gguf_vtype_name(99), "unknown"));
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_sha256_selfcheck);
    RUN(test_roundtrip_values);
    RUN(test_writer_keys_alignment_errors);
    RUN(test_writer_fill);
    RUN(test_nested_arrays);
    RUN(test_nesting_limit);
    RUN(test_corrupt_header);
    RUN(test_corrupt_metadata);
    RUN(test_corrupt_tensors);
    RUN(test_truncations);
    RUN(test_header_dumps);
    RUN(test_vocab_files);
    RUN(test_copy_stories);
    RUN(test_open_errors);
    return test_summary(argv[0]);
}
