/* tests/unit/test_engine.c — the engine end to end through edgellm.h on real files:
 *  - stories260K (real, trained): greedy from BOS reproduces llama2.c's 200-token output
 *    (tokens and text) and the reference logits within 1e-3 (f32 cache);
 *  - llama-2-tiny-random (F16 weights, 32k vocab): logits of " Hello, world!" vs the fp64
 *    reference (llama.cpp-style F16 activation rounding allows ~1e-3 relative);
 *  - one code path for prefill and decode: a batch prefill gives the same logits as feeding
 *    the tokens one by one; KV reuse after truncation gives the logits of a fresh prefill;
 *    several sequences in one batch give each sequence's own logits; 1 vs 2 threads agree;
 *  - every architecture against the independent naive double-precision forward in
 *    naive_ref.h (models made by the synth module), including long positions;
 *  - bad batches and bad files fail with a message and leave the cache unchanged.
 */
#include "test.h"

#include "edgellm.h"
#include "engine/synth.h"
#include "kernels/dispatch.h"
#include "naive_ref.h"

/* Allocation counting (not under ASan, which owns malloc): every malloc-family call of
 * the process passes through here while `count_allocs` is set, so a test can assert that
 * the decode loop allocates nothing (STYLE.md: sessions allocate once). */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define EL_COUNT_ALLOCS 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
static volatile int count_allocs;
static volatile long n_allocs;
void *malloc(size_t n) {
    if (count_allocs) __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
    if (count_allocs) __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    if (count_allocs) __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    return __libc_realloc(p, n);
}
int posix_memalign(void **p, size_t al, size_t n) {
    if (count_allocs) __atomic_add_fetch(&n_allocs, 1, __ATOMIC_RELAXED);
    *p = __libc_memalign(al, n);
    return *p ? 0 : 12;
}
#endif

static el_model *open_model(const char *rel) {
    char err[512];
    el_model *m = el_model_open(el_testdata(rel), err, sizeof err);
    if (!m) fprintf(stderr, "open %s: %s\n", rel, err);
    return m;
}

static el_session *open_session(el_model *m, int n_ctx, int n_seq, int n_batch, int n_out,
                                int threads, el_kv_type kv) {
    el_session_params p;
    el_session_params_default(&p);
    p.n_ctx = n_ctx;
    p.n_seq = n_seq;
    p.n_batch = n_batch;
    p.n_outputs = n_out;
    p.n_threads = threads;
    p.type_k = p.type_v = kv;
    char err[256];
    el_session *s = el_session_open(m, &p, err, sizeof err);
    if (!s) fprintf(stderr, "session: %s\n", err);
    return s;
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static int decode1(el_session *s, el_token t, int32_t pos, int32_t seq) {
    char err[256];
    el_batch b = {.n = 1, .tokens = &t, .pos = &pos, .seq = &seq};
    int rc = el_session_decode(s, &b, err, sizeof err);
    if (rc) fprintf(stderr, "decode: %s\n", err);
    return rc;
}

static void test_stories_greedy(void) {
    el_model *m = open_model("models/stories260K.gguf");
    REQUIRE(m);
    el_session *s = open_session(m, 256, 1, 64, 1, 1, EL_KV_F32);
    REQUIRE(s);
    size_t tl, ll;
    char *tok_txt = el_read_file(el_testdata("expected/stories260K.greedy200.tokens.txt"), &tl);
    float *ref = (float *)el_read_file(el_testdata("expected/stories260K.greedy200.logits.f32"), &ll);
    char *expect = el_read_file(el_testdata("expected/stories260K.llama2c-greedy200.txt"), NULL);
    REQUIRE(tok_txt && ref && expect && ll == 200 * 512 * 4);
    int expected[201], n = 0;
    for (char *p = tok_txt; n < 201;) {
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p) break;
        expected[n++] = (int)v;
        p = e;
    }
    CHECK(n == 201 && expected[0] == el_token_bos(m), "tokens file: %d ids", n);
    el_token t = el_token_bos(m);
    int same = 0;
    double max_err = 0;
    char text[4096];
    size_t tlen = 0;
    el_detok *dt = el_detok_new(m, false);
    for (int i = 0; i < 200; i++) {
        REQUIRE(decode1(s, t, i, 0) == 0);
        const float *lg = el_session_logits(s, 0);
        for (int j = 0; j < 512; j++) {
            double e = fabs((double)lg[j] - ref[i * 512 + j]);
            if (e > max_err) max_err = e;
        }
        t = argmax(lg, 512);
        same += t == expected[i + 1];
        const char *piece;
        int k = el_detok_push(dt, t, &piece);
        if (tlen + (size_t)k < sizeof text) memcpy(text + tlen, piece, (size_t)k), tlen += (size_t)k;
    }
    const char *piece;
    int k = el_detok_flush(dt, &piece);
    if (tlen + (size_t)k < sizeof text) memcpy(text + tlen, piece, (size_t)k), tlen += (size_t)k;
    text[tlen] = 0;
    el_detok_free(dt);
    CHECK(same == 200, "greedy tokens equal: %d of 200", same);
    CHECK(max_err <= 1e-3, "max |logit - reference| = %g", max_err);
    /* llama2.c drops the leading space of the first piece after BOS */
    const char *got = text[0] == ' ' ? text + 1 : text;
    CHECK(!strcmp(got, expect), "text differs:\n%s\n---\n%s", got, expect);
    free(tok_txt);
    free(ref);
    free(expect);
    el_session_close(s);
    el_model_close(m);
}

static void test_tiny_random_f16(void) {
    el_model *m = open_model("models/llama-2-tiny-random.gguf");
    REQUIRE(m);
    el_session *s = open_session(m, 64, 1, 16, 8, 1, EL_KV_F32);
    REQUIRE(s);
    size_t ll;
    float *ref = (float *)el_read_file(el_testdata("expected/llama-2-tiny-random.hello.logits.f32"), &ll);
    REQUIRE(ref && ll == 6 * 32000 * 4);
    el_token toks[8];
    int n = el_tokenize(m, " Hello, world!", 14, true, false, toks, 8);
    int want[6] = {1, 29871, 15043, 29892, 3186, 29991};
    CHECK(n == 6 && !memcmp(toks, want, sizeof want), "tokenize gave %d tokens", n);
    int32_t pos[6];
    bool out[6];
    for (int i = 0; i < 6; i++) pos[i] = i, out[i] = true;
    char err[256];
    el_batch b = {.n = 6, .tokens = want, .pos = pos, .logits = out};
    REQUIRE(el_session_decode(s, &b, err, sizeof err) == 0, "%s", err);
    double max_rel = 0;
    for (int i = 0; i < 6; i++) {
        const float *lg = el_session_logits(s, i);
        for (int j = 0; j < 32000; j++) {
            double r = ref[i * 32000 + j];
            double e = fabs(lg[j] - r) / (fabs(r) > 0.05 ? fabs(r) : 0.05);
            if (e > max_rel) max_rel = e;
        }
    }
    CHECK(max_rel < 5e-3, "max relative logit error %g", max_rel);
    free(ref);
    el_session_close(s);
    el_model_close(m);
}

/* prefill in one batch == one token at a time; truncation + re-decode == fresh */
static void check_paths(const char *path, int n_tok, int threads) {
    char err[512];
    el_model *m = el_model_open(path, err, sizeof err);
    REQUIRE(m, "%s", err);
    el_model_desc d;
    el_model_describe(m, &d);
    int V = d.n_vocab;
    el_session *a = open_session(m, n_tok + 8, 1, n_tok, n_tok, threads, EL_KV_F32);
    el_session *b = open_session(m, n_tok + 8, 2, n_tok, 2, threads, EL_KV_F32);
    REQUIRE(a && b);
    el_token *toks = malloc((size_t)n_tok * sizeof *toks);
    int32_t *pos = malloc((size_t)n_tok * sizeof *pos);
    bool *out = malloc((size_t)n_tok * sizeof *out);
    for (int i = 0; i < n_tok; i++) toks[i] = (el_token)((i * 7919 + 13) % V), pos[i] = i, out[i] = true;
    el_batch bt = {.n = n_tok, .tokens = toks, .pos = pos, .logits = out};
    REQUIRE(el_session_decode(a, &bt, err, sizeof err) == 0, "%s", err);
    double max_err = 0;
    for (int i = 0; i < n_tok; i++) {
        REQUIRE(decode1(b, toks[i], i, 0) == 0);
        const float *x = el_session_logits(a, i), *y = el_session_logits(b, 0);
        for (int j = 0; j < V; j++) max_err = fmax(max_err, fabs(x[j] - y[j]));
    }
    CHECK(max_err < 1e-4, "%s: batch vs token-by-token max err %g", path, max_err);
    /* rollback: keep half, decode the rest again: same logits as the first time */
    int half = n_tok / 2;
    CHECK(el_session_seq_truncate(b, 0, half) == 0 && el_session_seq_len(b, 0) == half);
    max_err = 0;
    for (int i = half; i < n_tok; i++) {
        REQUIRE(decode1(b, toks[i], i, 0) == 0);
        const float *x = el_session_logits(a, i), *y = el_session_logits(b, 0);
        for (int j = 0; j < V; j++) max_err = fmax(max_err, fabs(x[j] - y[j]));
    }
    CHECK(max_err < 1e-4, "%s: after truncation max err %g", path, max_err);
    /* two sequences interleaved in one batch, each with its own tokens: each sees only
     * itself (sequence 1's tokens are sequence 0's shifted, so a cache that mixed the two
     * up would change both results) */
    el_session_seq_truncate(b, 0, 0);
    el_session_seq_truncate(b, 1, 0);
    int n2 = n_tok / 2;
    el_token t2[2 * 64], other[64];
    int32_t p2[2 * 64], s2[2 * 64];
    bool o2[2 * 64];
    n2 = n2 > 64 ? 64 : n2;
    for (int i = 0; i < n2; i++) {
        other[i] = toks[(i + 5) % n_tok];
        t2[2 * i] = toks[i], p2[2 * i] = i, s2[2 * i] = 0, o2[2 * i] = i == n2 - 1;
        t2[2 * i + 1] = other[i], p2[2 * i + 1] = i, s2[2 * i + 1] = 1, o2[2 * i + 1] = i == n2 - 1;
    }
    el_batch mb = {.n = 2 * n2, .tokens = t2, .pos = p2, .seq = s2, .logits = o2};
    REQUIRE(el_session_decode(b, &mb, err, sizeof err) == 0, "%s", err);
    float *y1 = malloc((size_t)V * sizeof *y1);
    memcpy(y1, el_session_logits(b, 1), (size_t)V * sizeof *y1);
    max_err = 0;
    const float *x0 = el_session_logits(a, n2 - 1), *y0 = el_session_logits(b, 0);
    for (int j = 0; j < V; j++) max_err = fmax(max_err, fabs(x0[j] - y0[j]));
    CHECK(max_err < 1e-4, "%s: two sequences in one batch, sequence 0: max err %g", path, max_err);
    /* sequence 1 against the same tokens alone in a fresh cache */
    el_session_seq_truncate(a, 0, 0);
    bool last[64];
    for (int i = 0; i < n2; i++) last[i] = i == n2 - 1;
    el_batch ob = {.n = n2, .tokens = other, .pos = pos, .logits = last};
    REQUIRE(el_session_decode(a, &ob, err, sizeof err) == 0, "%s", err);
    const float *x1 = el_session_logits(a, 0);
    max_err = 0;
    double moved = 0;
    for (int j = 0; j < V; j++) {
        max_err = fmax(max_err, fabs(x1[j] - y1[j]));
        moved = fmax(moved, fabs(x1[j] - y0[j]));
    }
    CHECK(max_err < 1e-4, "%s: two sequences in one batch, sequence 1: max err %g", path, max_err);
    CHECK(moved > 1e-3, "%s: the two sequences' tokens must give different logits", path);
    free(y1);
    free(toks);
    free(pos);
    free(out);
    el_session_close(a);
    el_session_close(b);
    el_model_close(m);
}

static void test_paths(void) {
    check_paths(el_testdata("models/stories260K.gguf"), 40, 1);
    check_paths(el_testdata("models/stories260K.gguf"), 40, 2);
}

static void test_threads_agree(void) {
    el_model *m = open_model("models/stories260K.gguf");
    REQUIRE(m);
    el_session *a = open_session(m, 128, 1, 32, 1, 1, EL_KV_F16);
    el_session *b = open_session(m, 128, 1, 32, 1, 2, EL_KV_F16);
    REQUIRE(a && b);
    el_token t = el_token_bos(m), u = t;
    int same = 0;
    for (int i = 0; i < 100; i++) {
        REQUIRE(decode1(a, t, i, 0) == 0 && decode1(b, u, i, 0) == 0);
        t = argmax(el_session_logits(a, 0), 512);
        u = argmax(el_session_logits(b, 0), 512);
        same += t == u;
    }
    CHECK(same == 100, "1 vs 2 threads: %d of 100 greedy tokens equal", same);
    el_session_close(a);
    el_session_close(b);
    el_model_close(m);
}

static void test_bad_batches(void) {
    el_model *m = open_model("models/stories260K.gguf");
    REQUIRE(m);
    el_session *s = open_session(m, 8, 1, 4, 1, 1, EL_KV_F16);
    REQUIRE(s);
    char err[256];
    el_token t[5] = {1, 2, 3, 4, 5};
    int32_t pos[5] = {0, 1, 2, 3, 4};
    el_batch b = {.n = 5, .tokens = t, .pos = pos};
    CHECK(el_session_decode(s, &b, err, sizeof err) < 0 && strstr(err, "n_batch"), "%s", err);
    el_token bad = 512;
    el_batch b2 = {.n = 1, .tokens = &bad, .pos = pos};
    CHECK(el_session_decode(s, &b2, err, sizeof err) < 0 && strstr(err, "out of range"), "%s", err);
    int32_t wrong = 3;
    el_batch b3 = {.n = 1, .tokens = t, .pos = &wrong};
    CHECK(el_session_decode(s, &b3, err, sizeof err) < 0 && strstr(err, "position"), "%s", err);
    int32_t seq = 1;
    el_batch b4 = {.n = 1, .tokens = t, .pos = pos, .seq = &seq};
    CHECK(el_session_decode(s, &b4, err, sizeof err) < 0 && strstr(err, "sequence"), "%s", err);
    CHECK(el_session_seq_len(s, 0) == 0, "cache unchanged after failed decodes");
    for (int i = 0; i < 8; i++) REQUIRE(decode1(s, 1, i, 0) == 0);
    int32_t p8 = 8;
    el_batch b5 = {.n = 1, .tokens = t, .pos = &p8};
    CHECK(el_session_decode(s, &b5, err, sizeof err) < 0 && strstr(err, "context full"), "%s", err);
    CHECK(el_session_logits(s, 1) == NULL && el_session_logits(s, -1) == NULL);
    el_session_close(s);
    el_model_close(m);
    /* files */
    CHECK(el_model_open("/nonexistent.gguf", err, sizeof err) == NULL && strstr(err, "nonexistent"),
          "%s", err);
    CHECK(el_model_open(el_testdata("tokenizer/ggml-vocab-gpt-2.gguf"), err, sizeof err) == NULL,
          "vocab-only file must not open as a model");
    fprintf(stderr, "(vocab-only file: %s)\n", err);
}

static void test_naive_stories(void) {
    /* the engine against the independent naive forward, on the real model, f32 cache */
    el_model *m = open_model("models/stories260K.gguf");
    nref *r = nref_open(el_testdata("models/stories260K.gguf"), 64);
    REQUIRE(m && r);
    el_session *s = open_session(m, 64, 1, 8, 1, 1, EL_KV_F32);
    REQUIRE(s);
    float ref[512];
    double max_err = 0;
    el_token t = 1;
    for (int i = 0; i < 30; i++) {
        nref_step(r, t, ref);
        REQUIRE(decode1(s, t, i, 0) == 0);
        const float *lg = el_session_logits(s, 0);
        for (int j = 0; j < 512; j++) max_err = fmax(max_err, fabs(lg[j] - ref[j]));
        t = argmax(ref, 512);
    }
    CHECK(max_err < 1e-3, "engine vs naive reference: max err %g", max_err);
    nref_close(r);
    el_session_close(s);
    el_model_close(m);
}

/* FNV-1a 64 of a file, to tell whether synth still writes the bytes the golden logits were
 * made from (tests/golden/engine/models.fnv). */
static void check_synth_bytes(const char *path) {
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t n = 0;
    unsigned char *b = (unsigned char *)el_read_file(path, &n);
    char *man = el_read_file("tests/golden/engine/models.fnv", NULL);
    if (!b || !man) {
        CHECK(0, "cannot read %s or the manifest", path);
        free(b);
        free(man);
        return;
    }
    char name[128];
    snprintf(name, sizeof name, "%s ", base);
    if (!strstr(man, name)) { /* no golden data for this model */
        free(b);
        free(man);
        return;
    }
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    char want[128];
    snprintf(want, sizeof want, "%s %016llx\n", base, (unsigned long long)h);
    CHECK(strstr(man, want) != NULL,
          "%s: synth wrote other bytes than the golden logits were made from; regenerate them as "
          "tests/golden/engine/README.md says (got %s)", base, want);
    free(b);
    free(man);
}

/* A synthesized model of arch/shape/type in the scratch folder; NULL on failure. */
static int synth_llama3_rope; /* next synth_model*: llama3 rope frequency scaling */

static const char *synth_model_ctx(const char *preset, const char *ftype, int embd, int ff,
                                   int hd, int ctx, const char *tag) {
    static char path[8][512];
    static int slot;
    char *out = path[slot++ & 7];
    el_synth_params p;
    char err[256];
    if (el_synth_preset(preset, &p, err, sizeof err)) {
        fprintf(stderr, "synth: %s\n", err);
        return NULL;
    }
    p.ftype = el_synth_ftype_from_name(ftype);
    if (embd) p.n_embd = embd;
    if (ff) p.n_ff = ff;
    if (hd) p.head_dim = hd;
    if (ctx) p.n_ctx = ctx;
    if (synth_llama3_rope) { /* Llama 3.x: factor 32, low/high 1/4, a short original context
                                so that every regime (kept, scaled, blended) has dims */
        p.rope_llama3 = true;
        p.rope_base = 500000;
        p.rope_orig_ctx = 256;
    }
    p.seed = 7;
    snprintf(out, 512, "%s/%s-%s-%s.gguf", el_tmpdir(), preset, ftype, tag);
    if (el_synth_write(&p, out, err, sizeof err)) {
        fprintf(stderr, "synth %s: %s\n", out, err);
        return NULL;
    }
    check_synth_bytes(out);
    return out;
}

static const char *synth_model(const char *preset, const char *ftype, int embd, int ff, int hd,
                               const char *tag) {
    return synth_model_ctx(preset, ftype, embd, ff, hd, 0, tag);
}

/* engine vs the naive double forward over n steps of greedy decoding (tokens chosen by the
 * reference): returns the max |logit difference| relative to the logit spread; *top1_miss
 * counts steps where the greedy choices differ although the reference's top two are more
 * than `margin` of the spread apart (closer calls may flip within the error). */
static double engine_vs_naive(const char *path, int n, double margin, int *top1_miss) {
    char err[512];
    el_model *m = el_model_open(path, err, sizeof err);
    nref *r = nref_open(path, n + 1);
    if (!m || !r) {
        fprintf(stderr, "open %s: %s\n", path, m ? "naive ref failed" : err);
        el_model_close(m);
        nref_close(r);
        return 1e9;
    }
    el_model_desc d;
    el_model_describe(m, &d);
    el_session *s = open_session(m, n + 8, 1, 8, 1, 1, EL_KV_F32);
    float *ref = malloc((size_t)d.n_vocab * sizeof *ref);
    double max_err = 0, spread = 0;
    el_token t = el_token_bos(m) >= 0 ? el_token_bos(m) : 1;
    *top1_miss = 0;
    for (int i = 0; i < n && s; i++) {
        nref_step(r, t, ref);
        if (decode1(s, t, i, 0)) break;
        const float *lg = el_session_logits(s, 0);
        float lo = ref[0], hi = ref[0];
        for (int j = 0; j < d.n_vocab; j++) {
            max_err = fmax(max_err, fabs(lg[j] - ref[j]));
            lo = fminf(lo, ref[j]);
            hi = fmaxf(hi, ref[j]);
        }
        spread = fmax(spread, hi - lo);
        int a = argmax(ref, d.n_vocab);
        float second = -INFINITY;
        for (int j = 0; j < d.n_vocab; j++)
            if (j != a) second = fmaxf(second, ref[j]);
        if (ref[a] - second > margin * (hi - lo)) *top1_miss += argmax(lg, d.n_vocab) != a;
        t = argmax(ref, d.n_vocab);
    }
    free(ref);
    nref_close(r);
    el_session_close(s);
    el_model_close(m);
    return spread > 0 ? max_err / spread : 1e9;
}

static void test_archs_vs_naive(void) {
    /* F32 weights: the engine's only approximations are float accumulation order, so
     * the error is tiny; F16 adds the rounding of activations to f16 in the matmuls */
    const char *presets[] = {"tiny-llama", "tiny-qwen2", "tiny-qwen3"};
    for (int i = 0; i < 3; i++) {
        const char *path = synth_model(presets[i], "F32", 0, 0, 0, "a");
        REQUIRE(path);
        int miss;
        double e = engine_vs_naive(path, 24, 1e-5, &miss);
        CHECK(e < 1e-5 && miss == 0, "%s F32: rel err %g, top-1 misses %d", presets[i], e, miss);
        check_paths(path, 40, 2);
        path = synth_model(presets[i], "F16", 0, 0, 0, "a");
        REQUIRE(path);
        e = engine_vs_naive(path, 24, 2e-3, &miss);
        CHECK(e < 2e-3 && miss == 0, "%s F16: rel err %g, top-1 misses %d", presets[i], e, miss);
    }
    /* Llama 3.x rope scaling (rope_freqs.weight divides the frequencies) */
    synth_llama3_rope = 1;
    const char *path = synth_model("tiny-llama", "F32", 0, 0, 0, "rope3");
    synth_llama3_rope = 0;
    REQUIRE(path);
    int miss;
    double e = engine_vs_naive(path, 24, 1e-5, &miss);
    CHECK(e < 1e-5 && miss == 0, "tiny-llama llama3 rope: rel err %g, top-1 misses %d", e, miss);
}

/* Per-layer KV cache types: a session whose layers alternate f32 and f16 gives logits
 * between the all-f32 and all-f16 sessions' (within the f16 rounding of either), and the
 * byte count is the sum of the layers'. */
static void test_kv_layer_types(void) {
    el_model *m = open_model("models/stories260K.gguf");
    REQUIRE(m);
    el_session_params p;
    el_session_params_default(&p);
    p.n_ctx = 64;
    p.n_threads = 1;
    el_kv_type mix[5] = {EL_KV_F32, EL_KV_F16, EL_KV_F32, EL_KV_F16, EL_KV_F32};
    el_session *s[3];
    char err[256];
    for (int i = 0; i < 3; i++) {
        p.type_k = p.type_v = i == 1 ? EL_KV_F16 : EL_KV_F32;
        p.layer_types_k = p.layer_types_v = i == 2 ? mix : NULL;
        s[i] = el_session_open(m, &p, err, sizeof err);
        REQUIRE(s[i], "%s", err);
    }
    /* 5 layers x 64 positions x 32 (4 kv heads x 8) x 2 (k and v) x bytes */
    CHECK(el_session_kv_bytes(s[0]) == 5ull * 64 * 32 * 2 * 4, "f32 bytes %llu",
          (unsigned long long)el_session_kv_bytes(s[0]));
    CHECK(el_session_kv_bytes(s[1]) == 5ull * 64 * 32 * 2 * 2);
    CHECK(el_session_kv_bytes(s[2]) == 3ull * 64 * 32 * 2 * 4 + 2ull * 64 * 32 * 2 * 2);
    el_token t = 1;
    double d_mix = 0, d_f16 = 0;
    for (int i = 0; i < 40; i++) {
        for (int k = 0; k < 3; k++) REQUIRE(decode1(s[k], t, i, 0) == 0);
        const float *a = el_session_logits(s[0], 0), *b = el_session_logits(s[1], 0),
                    *c = el_session_logits(s[2], 0);
        for (int j = 0; j < 512; j++) {
            d_mix = fmax(d_mix, fabs(a[j] - c[j]));
            d_f16 = fmax(d_f16, fabs(a[j] - b[j]));
        }
        t = argmax(a, 512);
    }
    CHECK(d_f16 > 0 && d_mix > 0 && d_mix <= d_f16 * 1.5 && d_f16 < 0.05,
          "f16 cache moves logits by %g, the mix by %g", d_f16, d_mix);
    for (int i = 0; i < 3; i++) el_session_close(s[i]);
    el_model_close(m);
}

/* Weights repacked at load (kernels/repack.h, q4_0 on x86) against the same file in its own
 * layout (EL_REPACK=0): same integer sums, float sums in another order, so logits agree to
 * within the 8-bit activation noise such differences can flip (see test_vs_llama_cpp: bound
 * 3% of the spread) and greedy choices agree wherever they are decided; for a prompt batch
 * (the prefill tiles) and token by token (the decode tiles), at 1 and 2 threads. A level
 * without packed kernels (scalar, ARM today) repacks nothing and the check is the same. */
static void test_repacked(void) {
    const char *path = synth_model("tiny-qwen2", "Q4_0", 256, 512, 64, "rp");
    REQUIRE(path);
    char err[256];
    setenv("EL_REPACK", "0", 1);
    el_model *plain = el_model_open(path, err, sizeof err);
    unsetenv("EL_REPACK");
    el_model *packed = el_model_open(path, err, sizeof err);
    REQUIRE(plain && packed, "%s", err);
    el_model_desc dp, dq;
    el_model_describe(plain, &dp);
    el_model_describe(packed, &dq);
    CHECK(dp.repacked_bytes == 0 && dp.repacked_matrices == 0, "EL_REPACK=0 repacks nothing");
    const el_packed_kernels *pk = el_kernels_packed(el_kernels_active_level(), EL_TYPE_Q4_0);
    if (pk && pk->gemv.gemm)
        CHECK(dq.repacked_matrices >= 7 * dq.n_layer && dq.repacked_bytes > 0,
              "q4_0 matrices repacked: %d, %llu bytes", dq.repacked_matrices,
              (unsigned long long)dq.repacked_bytes);
    const int V = dq.n_vocab;
    for (int threads = 1; threads <= 2; threads++) {
        el_session *a = open_session(plain, 64, 1, 16, 16, threads, EL_KV_F16);
        el_session *b = open_session(packed, 64, 1, 16, 16, threads, EL_KV_F16);
        REQUIRE(a && b);
        el_token toks[16];
        int32_t pos[16];
        bool out[16];
        for (int i = 0; i < 16; i++) toks[i] = (i * 7919 + 13) % V, pos[i] = i, out[i] = true;
        el_batch bt = {.n = 16, .tokens = toks, .pos = pos, .logits = out};
        REQUIRE(el_session_decode(a, &bt, err, sizeof err) == 0, "%s", err);
        REQUIRE(el_session_decode(b, &bt, err, sizeof err) == 0, "%s", err);
        double worst = 0;
        int decided = 0, agree = 0;
        for (int step = 0; step < 16 + 8; step++) {
            const int row = step < 16 ? step : 0;
            const float *x = el_session_logits(a, row), *y = el_session_logits(b, row);
            float lo = x[0], hi = x[0];
            double e = 0;
            for (int j = 0; j < V; j++) {
                lo = fminf(lo, x[j]), hi = fmaxf(hi, x[j]);
                e = fmax(e, fabs(x[j] - y[j]));
            }
            worst = fmax(worst, e / (hi - lo));
            const int t = argmax(x, V);
            float second = -INFINITY;
            for (int j = 0; j < V; j++)
                if (j != t) second = fmaxf(second, x[j]);
            if (x[t] - second > 0.03 * (hi - lo)) decided++, agree += argmax(y, V) == t;
            if (step >= 15) { /* then decode the plain model's greedy token in both */
                REQUIRE(decode1(a, t, 16 + step - 15, 0) == 0 && decode1(b, t, 16 + step - 15, 0) == 0);
            }
        }
        CHECK(worst < 0.03 && agree == decided && decided > 0,
              "%d threads: repacked vs plain rel err %g, top-1 %d/%d", threads, worst, agree,
              decided);
        el_session_close(a);
        el_session_close(b);
    }
    el_model_close(plain);
    el_model_close(packed);
}

static void test_quantized_vs_naive(void) {
    /* Quantized weights: the naive forward uses the dequantized weights with float
     * activations; the engine quantizes activations to 8 bits (Q8_0 / Q8_K) as llama.cpp
     * does, and the synthesized models' sharp attention amplifies that noise over the
     * positions: measured 1-8% of the logit spread (max over the vocabulary and 16
     * positions). This is the gross-error check (a wrong block decode gives ~100%): bound
     * 12%, and the same greedy choice wherever the reference's top two are further apart. The precise check of the quantized
     * path is test_vs_llama_cpp, where both sides quantize activations alike. */
    const char *presets[] = {"tiny-llama", "tiny-qwen2", "tiny-qwen3"};
    const char *types[] = {"Q8_0", "Q4_0", "Q4_K_M", "Q6_K", "Q5_K_M"};
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 5; k++) {
            const char *path = synth_model(presets[i], types[k], 256, 512, 64, "q");
            REQUIRE(path);
            int miss;
            double e = engine_vs_naive(path, 16, 0.12, &miss);
            CHECK(e < 0.12 && miss == 0, "%s %s: rel err %g, top-1 misses %d", presets[i], types[k],
                  e, miss);
        }
    }
}

/* The engine against llama.cpp's logits for the same synthesized files (golden data in
 * tests/golden/engine/, made as its README says): 16 fixed tokens, prefilled in one batch,
 * f16 KV cache as llama.cpp's default.
 * F32/F16 weights: the runtimes differ by float summation order and llama.cpp's rounding of
 * the query and attention weights to f16: measured 0.04-0.14% of the logit spread, bound
 * 0.2%. Quantized weights: at position 0 the two agree exactly (same Q8 activation
 * quantization, bit for bit), but any later difference, however small (f16 attention
 * rounding), flips some 8-bit roundings of the next activations, which moves logits by the
 * size of the Q8 noise itself: measured 1.2-2.4% of the spread; bound 3%. The greedy choice must
 * agree wherever the reference's top two differ by more than the bound. */
static void check_golden(const char *preset, const char *ftype, int embd, int ff, int hd,
                         const char *tag) {
    const char *path = synth_model(preset, ftype, embd, ff, hd, tag);
    REQUIRE(path);
    char gpath[512], err[256];
    snprintf(gpath, sizeof gpath, "tests/golden/engine/%s-%s-%s.ref.f32", preset, ftype, tag);
    size_t gl;
    float *ref = (float *)el_read_file(gpath, &gl);
    REQUIRE(ref, "missing %s", gpath);
    el_model *m = el_model_open(path, err, sizeof err);
    REQUIRE(m, "%s", err);
    el_model_desc d;
    el_model_describe(m, &d);
    int V = d.n_vocab, n = 16;
    REQUIRE(gl == (size_t)n * V * 4, "%s: %zu bytes", gpath, gl);
    el_session *s = open_session(m, 64, 1, 16, 16, 2, EL_KV_F16);
    REQUIRE(s);
    el_token toks[16];
    int32_t pos[16];
    bool out[16];
    for (int i = 0; i < n; i++) toks[i] = i == 0 ? 1 : (i * 7919 + 13) % V, pos[i] = i, out[i] = true;
    el_batch b = {.n = n, .tokens = toks, .pos = pos, .logits = out};
    REQUIRE(el_session_decode(s, &b, err, sizeof err) == 0, "%s", err);
    double bound = strstr(ftype, "F") == ftype ? 0.002 : 0.03;
    double max_rel = 0;
    int agree = 0, decided = 0;
    for (int i = 0; i < n; i++) {
        const float *lg = el_session_logits(s, i), *r = ref + (size_t)i * V;
        float lo = r[0], hi = r[0];
        for (int j = 0; j < V; j++) lo = fminf(lo, r[j]), hi = fmaxf(hi, r[j]);
        double e = 0;
        for (int j = 0; j < V; j++) e = fmax(e, fabs(lg[j] - r[j]));
        max_rel = fmax(max_rel, e / (hi - lo));
        int a = argmax(r, V);
        float second = -INFINITY;
        for (int j = 0; j < V; j++)
            if (j != a) second = fmaxf(second, r[j]);
        if (r[a] - second > bound * (hi - lo)) {
            decided++;
            agree += argmax(lg, V) == a;
        }
    }
    CHECK(max_rel < bound && agree == decided, "%s %s vs llama.cpp: rel err %g, top-1 %d/%d",
          preset, ftype, max_rel, agree, decided);
    if (getenv("EL_VERBOSE"))
        fprintf(stderr, "golden %s %s: rel err %.3g top-1 %d/%d\n", preset, ftype, max_rel, agree,
                decided);
    free(ref);
    el_session_close(s);
    el_model_close(m);
}

static void test_vs_llama_cpp(void) {
    const char *presets[] = {"tiny-llama", "tiny-qwen2", "tiny-qwen3"};
    const char *qtypes[] = {"Q8_0", "Q4_0", "Q4_K_M", "Q6_K", "Q5_K_M"};
    synth_llama3_rope = 1;
    check_golden("tiny-llama", "F32", 0, 0, 0, "rope3");
    synth_llama3_rope = 0;
    for (int i = 0; i < 3; i++) {
        check_golden(presets[i], "F32", 0, 0, 0, "a");
        check_golden(presets[i], "F16", 0, 0, 0, "a");
        for (int k = 0; k < 5; k++) check_golden(presets[i], qtypes[k], 256, 512, 64, "q");
    }
}

/* Long positions, up to the context length: a 4096-context model of each architecture (and
 * stories260K at its 2048) is filled with n_ctx tokens in 512-token batches; logits at
 * several positions are compared with llama.cpp's for the same file and tokens (golden
 * data). Same bounds as the short F32 comparison: RoPE at large positions and attention over
 * thousands of f16 keys must not drift. */
static void check_long(const char *path, const char *gold, int n_ctx, const int *rows, int n_rows,
                       const char *what) {
    char err[256];
    size_t gl;
    float *ref = (float *)el_read_file(gold, &gl);
    REQUIRE(ref, "missing %s", gold);
    el_model *m = el_model_open(path, err, sizeof err);
    REQUIRE(m, "%s", err);
    el_model_desc d;
    el_model_describe(m, &d);
    int V = d.n_vocab;
    REQUIRE(gl == (size_t)n_rows * V * 4, "%s: %zu bytes", gold, gl);
    el_session *s = open_session(m, n_ctx, 1, 512, 512, 2, EL_KV_F16);
    REQUIRE(s);
    el_token toks[512];
    int32_t pos[512];
    bool out[512];
    double max_rel = 0;
    int agree = 0, ri = 0;
    for (int s0 = 0; s0 < n_ctx; s0 += 512) {
        int n = n_ctx - s0 < 512 ? n_ctx - s0 : 512, n_out = 0;
        for (int i = 0; i < n; i++) {
            int k = s0 + i;
            toks[i] = k == 0 ? 1 : (el_token)(((long)(k - 1) * 7919 + 13) % V);
            pos[i] = k;
            out[i] = false;
            for (int r = 0; r < n_rows; r++) out[i] |= rows[r] == k;
        }
        el_batch b = {.n = n, .tokens = toks, .pos = pos, .logits = out};
        REQUIRE(el_session_decode(s, &b, err, sizeof err) == 0, "%s", err);
        for (int i = 0; i < n; i++) {
            if (!out[i]) continue;
            const float *lg = el_session_logits(s, n_out++), *r = ref + (size_t)ri++ * V;
            float lo = r[0], hi = r[0];
            double e = 0;
            for (int j = 0; j < V; j++) lo = fminf(lo, r[j]), hi = fmaxf(hi, r[j]);
            for (int j = 0; j < V; j++) e = fmax(e, fabs(lg[j] - r[j]));
            max_rel = fmax(max_rel, e / (hi - lo));
            agree += argmax(lg, V) == argmax(r, V);
        }
    }
    CHECK(ri == n_rows && max_rel < 0.002 && agree == n_rows,
          "%s at long positions vs llama.cpp: rel err %g, top-1 %d/%d", what, max_rel, agree, n_rows);
    if (getenv("EL_VERBOSE")) fprintf(stderr, "long %s: rel err %.3g\n", what, max_rel);
    free(ref);
    el_session_close(s);
    el_model_close(m);
}

static void test_long_positions(void) {
    static const int rows[] = {511, 1023, 2047, 3071, 4095};
    const char *presets[] = {"tiny-llama", "tiny-qwen2", "tiny-qwen3"};
    for (int i = 0; i < 3; i++) {
        const char *path = synth_model_ctx(presets[i], "F16", 0, 0, 0, 4096, "long");
        REQUIRE(path);
        char gold[256];
        snprintf(gold, sizeof gold, "tests/golden/engine/%s-F16-long.ref.f32", presets[i]);
        check_long(path, gold, 4096, rows, 5, presets[i]);
    }
    static const int srows[] = {1023, 2047};
    check_long(el_testdata("models/stories260K.gguf"), "tests/golden/engine/stories260K-long.ref.f32",
               2048, srows, 2, "stories260K");
}

/* The decode path (batch validation, forward, thread pool, attention, sampling) allocates
 * nothing once the session is open. */
static void test_no_alloc_in_decode(void) {
#ifdef EL_COUNT_ALLOCS
    const char *path = synth_model("tiny-qwen3", "Q4_K_M", 256, 512, 64, "q");
    REQUIRE(path);
    char err[256];
    el_model *m = el_model_open(path, err, sizeof err);
    REQUIRE(m, "%s", err);
    el_session *s = open_session(m, 256, 2, 32, 2, 2, EL_KV_F16);
    el_sampling sp;
    el_sampling_default(&sp);
    sp.seed = 1;
    el_sampler *smp = el_sampler_open(m, &sp, err, sizeof err);
    REQUIRE(s && smp);
    el_token prompt[20];
    int32_t pos[20];
    for (int i = 0; i < 20; i++) prompt[i] = (el_token)(i * 31 % 300), pos[i] = i;
    el_batch b = {.n = 20, .tokens = prompt, .pos = pos};
    REQUIRE(el_session_decode(s, &b, err, sizeof err) == 0, "%s", err);
    el_token t = el_sampler_pick(smp, el_session_logits(s, 0));
    n_allocs = 0;
    count_allocs = 1;
    for (int i = 20; i < 120; i++) {
        if (decode1(s, t, i, 0)) break;
        t = el_sampler_pick(smp, el_session_logits(s, 0));
    }
    count_allocs = 0;
    CHECK(n_allocs == 0, "%ld allocations in 100 decode steps", (long)n_allocs);
    el_sampler_close(smp);
    el_session_close(s);
    el_model_close(m);
#endif
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_stories_greedy);
    RUN(test_tiny_random_f16);
    RUN(test_paths);
    RUN(test_threads_agree);
    RUN(test_bad_batches);
    RUN(test_naive_stories);
    RUN(test_archs_vs_naive);
    RUN(test_quantized_vs_naive);
    RUN(test_vs_llama_cpp);
    RUN(test_repacked);
    RUN(test_kv_layer_types);
    RUN(test_no_alloc_in_decode);
    RUN(test_long_positions);
    return test_summary(argv[0]);
}
