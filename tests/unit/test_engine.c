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
#include "naive_ref.h"

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
    /* two sequences interleaved in one batch: each sees only itself */
    el_session_seq_truncate(b, 0, 0);
    el_session_seq_truncate(b, 1, 0);
    int n2 = n_tok / 2;
    el_token t2[2 * 64];
    int32_t p2[2 * 64], s2[2 * 64];
    bool o2[2 * 64];
    n2 = n2 > 64 ? 64 : n2;
    for (int i = 0; i < n2; i++) {
        t2[2 * i] = toks[i], p2[2 * i] = i, s2[2 * i] = 0, o2[2 * i] = i == n2 - 1;
        t2[2 * i + 1] = toks[i], p2[2 * i + 1] = i, s2[2 * i + 1] = 1, o2[2 * i + 1] = i == n2 - 1;
    }
    el_batch mb = {.n = 2 * n2, .tokens = t2, .pos = p2, .seq = s2, .logits = o2};
    REQUIRE(el_session_decode(b, &mb, err, sizeof err) == 0, "%s", err);
    max_err = 0;
    for (int q = 0; q < 2; q++) {
        const float *x = el_session_logits(a, n2 - 1), *y = el_session_logits(b, q);
        for (int j = 0; j < V; j++) max_err = fmax(max_err, fabs(x[j] - y[j]));
    }
    CHECK(max_err < 1e-4, "%s: two sequences in one batch max err %g", path, max_err);
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

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_stories_greedy);
    RUN(test_tiny_random_f16);
    RUN(test_paths);
    RUN(test_threads_agree);
    RUN(test_bad_batches);
    RUN(test_naive_stories);
    return test_summary(argv[0]);
}
