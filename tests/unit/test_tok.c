/* tests/unit/test_tok.c — tokenizers against llama.cpp's own test vectors, the real Qwen3
 * tokenizer imported from tokenizer.json, round trips, the streaming detokenizer, special
 * tokens, corrupt metadata, and long inputs.
 *
 * Vectors: shared/testdata/tokenizer/ggml-vocab-*.gguf{,.inp,.out} from llama.cpp
 * (tests/test-tokenizer-0 format: inputs separated by "\n__ggml_vocab_test__\n", one line of
 * ids per input; add_special = false, parse_special = false).
 */
#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"
#include "gguf/gguf.h"
#include "test.h"
#include "tok/tok.h"

/* ---- helpers ---- */

typedef struct vectors {
    char *inp_raw;
    char *out_raw;
    int n;
    const char *in[128];
    size_t in_len[128];
    int32_t *ids[128];
    int n_ids[128];
} vectors;

static void vectors_free(vectors *v) {
    free(v->inp_raw);
    free(v->out_raw);
    for (int i = 0; i < v->n; i++)
        free(v->ids[i]);
    memset(v, 0, sizeof *v);
}

/* Loads X.gguf.inp / X.gguf.out; 0 on success. */
static int vectors_load(vectors *v, const char *base) {
    memset(v, 0, sizeof *v);
    char p[512];
    size_t ni = 0, no = 0;
    snprintf(p, sizeof p, "%s.inp", base);
    v->inp_raw = el_read_file(el_testdata(p), &ni);
    snprintf(p, sizeof p, "%s.out", base);
    v->out_raw = el_read_file(el_testdata(p), &no);
    if (!v->inp_raw || !v->out_raw) return -1;
    static const char sep[] = "\n__ggml_vocab_test__\n";
    size_t seplen = sizeof sep - 1;
    char *s = v->inp_raw, *end = v->inp_raw + ni;
    while (s < end && v->n < 128) {
        char *m = memmem(s, (size_t)(end - s), sep, seplen);
        v->in[v->n] = s;
        v->in_len[v->n] = m ? (size_t)(m - s) : (size_t)(end - s);
        v->n++;
        if (!m) break;
        s = m + seplen;
    }
    char *line = v->out_raw;
    for (int i = 0; i < v->n; i++) {
        if (!line || line >= v->out_raw + no) return -1;
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        v->ids[i] = malloc(sizeof(int32_t) * (strlen(line) / 2 + 1));
        int k = 0;
        for (char *q = line; *q;) {
            char *e;
            long x = strtol(q, &e, 10);
            if (e == q) {
                q++;
                continue;
            }
            v->ids[i][k++] = (int32_t)x;
            q = e;
        }
        v->n_ids[i] = k;
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

static el_tok *load_vocab(const char *rel, el_gguf **gout) {
    char err[256] = "";
    el_gguf *g = el_gguf_open(el_testdata(rel), err, sizeof err);
    if (!g) {
        fprintf(stderr, "open %s: %s\n", rel, err);
        return NULL;
    }
    el_tok *t = el_tok_from_gguf(g, err, sizeof err);
    if (!t) fprintf(stderr, "tokenizer %s: %s\n", rel, err);
    if (gout)
        *gout = g;
    else
        el_gguf_close(g);
    return t;
}

static void print_ids(const char *what, const int32_t *ids, int n) {
    fprintf(stderr, "  %s (%d):", what, n);
    for (int i = 0; i < n && i < 64; i++)
        fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, n > 64 ? " ...\n" : "\n");
}

/* encodes with a buffer that grows; returns count or -1 */
static int encode_all(const el_tok *t, const char *s, size_t n, bool add_special,
                      bool parse_special, int32_t **ids) {
    int cap = 256;
    *ids = malloc(sizeof(int32_t) * (size_t)cap);
    int k = el_tok_encode(t, s, n, add_special, parse_special, *ids, cap);
    if (k > cap) {
        free(*ids);
        *ids = malloc(sizeof(int32_t) * (size_t)k);
        k = el_tok_encode(t, s, n, add_special, parse_special, *ids, k);
    }
    return k;
}

/* runs every vector of one vocabulary: one CHECK per input string */
static void run_vectors(const el_tok *t, const char *base, const char *name) {
    vectors v;
    if (vectors_load(&v, base) != 0) {
        CHECK(0, "%s: cannot read vectors", name);
        vectors_free(&v);
        return;
    }
    CHECK(v.n == 46, "%s: %d inputs", name, v.n);
    bool first_bad = true;
    for (int i = 0; i < v.n; i++) {
        int32_t *got;
        int k = encode_all(t, v.in[i], v.in_len[i], false, false, &got);
        bool ok = k == v.n_ids[i] && memcmp(got, v.ids[i], sizeof(int32_t) * (size_t)k) == 0;
        CHECK(ok, "%s: input %d mismatches", name, i);
        if (!ok && first_bad) {
            first_bad = false;
            fprintf(stderr, "  input %d: \"%.*s\"\n", i, (int)v.in_len[i], v.in[i]);
            print_ids("expected", v.ids[i], v.n_ids[i]);
            print_ids("got     ", got, k);
        }
        free(got);
    }
    vectors_free(&v);
}

static const char *const VOCABS[] = {
    "llama-spm", "phi-3", "gpt-2",  "deepseek-coder", "deepseek-llm",
    "falcon",    "mpt",   "refact", "starcoder",      "bert-bge",
};

static void test_vectors(void) {
    for (size_t i = 0; i < EL_ARRAY_LEN(VOCABS); i++) {
        char rel[256], base[256];
        snprintf(rel, sizeof rel, "tokenizer/ggml-vocab-%s.gguf", VOCABS[i]);
        snprintf(base, sizeof base, "tokenizer/ggml-vocab-%s.gguf", VOCABS[i]);
        el_tok *t = load_vocab(rel, NULL);
        CHECK(t != NULL, "%s loads", VOCABS[i]);
        if (!t) continue;
        run_vectors(t, base, VOCABS[i]);
        el_tok_free(t);
    }
}

/* ---- Qwen3: import tokenizer.json, write a vocab GGUF, load it, run the qwen2 vectors ---- */

static el_tok *g_qwen; /* loaded once, used by several tests */

static void test_qwen3_import(void) {
    char err[256] = "", path[512];
    snprintf(path, sizeof path, "%s/qwen3-vocab.gguf", el_tmpdir());
    el_gguf_writer *w = el_gguf_writer_new();
    REQUIRE(w != NULL);
    el_gguf_set_str(w, "general.architecture", "qwen3");
    int rc = el_tok_hf_import(el_testdata("tokenizer/hf-qwen3/tokenizer.json"),
                              el_testdata("tokenizer/hf-qwen3/tokenizer_config.json"), w, err,
                              sizeof err);
    CHECK(rc == 0, "import: %s", err);
    rc = rc == 0 ? el_gguf_writer_write(w, path, err, sizeof err) : -1;
    el_gguf_writer_free(w);
    REQUIRE(rc == 0, "write: %s", err);

    el_gguf *g = el_gguf_open(path, err, sizeof err);
    REQUIRE(g != NULL, "open: %s", err);
    /* what convert_hf_to_gguf.py writes for Qwen3 */
    el_gstr s;
    CHECK(el_gguf_get_str(g, "tokenizer.ggml.model", &s) == 0 && s.n == 4 &&
          !memcmp(s.s, "gpt2", 4));
    CHECK(el_gguf_get_str(g, "tokenizer.ggml.pre", &s) == 0 && s.n == 5 &&
          !memcmp(s.s, "qwen2", 5));
    el_gguf_arr a;
    CHECK(el_gguf_get_arr(g, "tokenizer.ggml.tokens", &a) == 0 && a.n == 151669, "%llu tokens",
          (unsigned long long)a.n);
    CHECK(el_gguf_get_arr(g, "tokenizer.ggml.merges", &a) == 0 && a.n == 151387);
    CHECK(el_gguf_get_arr(g, "tokenizer.ggml.token_type", &a) == 0 &&
          el_gguf_arr_i64(&a, 0) == EL_TOK_TYPE_NORMAL &&
          el_gguf_arr_i64(&a, 151643) == EL_TOK_TYPE_CONTROL &&     /* <|endoftext|> */
          el_gguf_arr_i64(&a, 151659) == EL_TOK_TYPE_CONTROL &&     /* <|fim_prefix|> */
          el_gguf_arr_i64(&a, 151667) == EL_TOK_TYPE_USER_DEFINED); /* <think> */
    uint32_t u;
    CHECK(el_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &u) == 0 && u == 151645);
    CHECK(el_gguf_get_u32(g, "tokenizer.ggml.padding_token_id", &u) == 0 && u == 151643);
    CHECK(el_gguf_find_key(g, "tokenizer.ggml.bos_token_id") < 0);
    bool b = true;
    CHECK(el_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) == 0 && !b);
    CHECK(el_gguf_get_str(g, "tokenizer.chat_template", &s) == 0 && s.n == 4116,
          "chat template %llu bytes", (unsigned long long)s.n);

    el_tok *t = el_tok_from_gguf(g, err, sizeof err);
    el_gguf_close(g); /* the tokenizer keeps its own copy */
    REQUIRE(t != NULL, "load: %s", err);
    CHECK(el_tok_n_vocab(t) == 151669);
    CHECK(el_tok_max_piece(t) == 128, "max piece %d", el_tok_max_piece(t));
    CHECK(!strcmp(el_tok_model_name(t), "gpt2") && !strcmp(el_tok_pre_name(t), "qwen2"));
    /* no BOS key: llama.cpp's gpt2 default (11) stays, but it is never added */
    CHECK(el_tok_bos(t) == 11 && el_tok_eos(t) == 151645 && !el_tok_add_bos(t));
    CHECK(el_tok_eot(t) == 151645, "eot %d", el_tok_eot(t)); /* <|im_end|> */
    CHECK(el_tok_is_eog(t, 151645) && el_tok_is_eog(t, 151643) && !el_tok_is_eog(t, 151644));
    CHECK(el_tok_find(t, "<|im_start|>", 12) == 151644);
    run_vectors(t, "tokenizer/ggml-vocab-qwen2.gguf", "qwen2 (Qwen3 tokenizer.json)");
    g_qwen = t;
}

static void test_qwen_special(void) {
    const el_tok *t = g_qwen;
    REQUIRE(t != NULL);
    const char *chat = "<|im_start|>user\nhi<|im_end|>";
    int32_t *ids, *mid;
    int n = encode_all(t, chat, strlen(chat), false, true, &ids);
    int m = encode_all(t, "user\nhi", 7, false, false, &mid);
    CHECK(n == m + 2 && n >= 3, "n %d m %d", n, m);
    if (n == m + 2 && n >= 3) {
        CHECK(ids[0] == 151644 && ids[n - 1] == 151645, "%d ... %d", ids[0], ids[n - 1]);
        CHECK(!memcmp(ids + 1, mid, sizeof(int32_t) * (size_t)m));
        CHECK(m == 3 && mid[0] == 872 && mid[1] == 198 && mid[2] == 6023, "user \\n hi");
    }
    free(ids);
    /* parse_special off: the markers are plain text */
    n = encode_all(t, chat, strlen(chat), false, false, &ids);
    bool any = false;
    for (int i = 0; i < n; i++)
        any |= ids[i] == 151644 || ids[i] == 151645;
    CHECK(n > 5 && !any, "no special ids without parse_special (n %d)", n);
    free(ids);
    /* user-defined tokens (<think>) are matched even without parse_special */
    n = encode_all(t, "<think>x</think>", 16, false, false, &ids);
    CHECK(n == 3 && ids[0] == 151667 && ids[2] == 151668, "n %d", n);
    free(ids);
    free(mid);
    /* add_special adds nothing for Qwen (no BOS, no EOS) */
    int32_t one[4];
    CHECK(el_tok_encode(t, "hi", 2, true, false, one, 4) == 1 && one[0] == 6023);
    /* pieces: control text only when asked */
    char buf[64];
    CHECK(el_tok_piece(t, 151645, false, buf, sizeof buf) == 0);
    CHECK(el_tok_piece(t, 151645, true, buf, sizeof buf) == 10 && !memcmp(buf, "<|im_end|>", 10));
    CHECK(el_tok_piece(t, 151667, false, buf, sizeof buf) == 7); /* user-defined: always */
    CHECK(el_tok_piece(t, 220, false, buf, sizeof buf) == 1 && buf[0] == ' ');
    CHECK(el_tok_piece(t, -1, false, buf, sizeof buf) < 0);
    CHECK(el_tok_piece(t, 151669, false, buf, sizeof buf) < 0);
}

/* ---- round trips ---- */

static void roundtrip_vectors(const el_tok *t, const char *name) {
    vectors v;
    if (vectors_load(&v, "tokenizer/ggml-vocab-llama-spm.gguf") != 0) {
        CHECK(0, "cannot read inputs");
        vectors_free(&v);
        return;
    }
    int bad = 0;
    for (int i = 0; i < v.n; i++) {
        int32_t *ids;
        int k = encode_all(t, v.in[i], v.in_len[i], false, false, &ids);
        char *out = malloc(v.in_len[i] * 4 + 16);
        int m = el_tok_decode(t, ids, k, false, false, out, (int)(v.in_len[i] * 4 + 16));
        bool ok = m == (int)v.in_len[i] && !memcmp(out, v.in[i], v.in_len[i]);
        CHECK(ok, "%s: decode(encode(input %d))", name, i);
        if (!ok && !bad++)
            fprintf(stderr, "  in  \"%.*s\"\n  out \"%.*s\"\n", (int)v.in_len[i], v.in[i],
                    m > 0 ? m : 0, out);
        free(out);
        free(ids);
    }
    vectors_free(&v);
}

static void test_roundtrip(void) {
    /* lossless tokenizers: SPM (the added leading space is removed again) and byte-level
     * BPE without clean_up_tokenization_spaces */
    static const char *const lossless[] = {"llama-spm", "phi-3", "deepseek-coder", "deepseek-llm"};
    for (size_t i = 0; i < EL_ARRAY_LEN(lossless); i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tokenizer/ggml-vocab-%s.gguf", lossless[i]);
        el_tok *t = load_vocab(rel, NULL);
        CHECK(t != NULL);
        if (t) roundtrip_vectors(t, lossless[i]);
        el_tok_free(t);
    }
    if (g_qwen) roundtrip_vectors(g_qwen, "qwen3");

    /* GPT-2 cleans " ," and " 's" on decode, as llama.cpp (and HF) do */
    el_tok *t = load_vocab("tokenizer/ggml-vocab-gpt-2.gguf", NULL);
    REQUIRE(t != NULL);
    const char *s = "Hello , world ! It 's done .";
    int32_t *ids;
    int k = encode_all(t, s, strlen(s), false, false, &ids);
    char out[64];
    int m = el_tok_decode(t, ids, k, false, false, out, sizeof out);
    CHECK(m == 24 && !memcmp(out, "Hello, world! It's done.", 24), "%.*s", m, out);
    /* a short buffer gets a prefix, the return value is the full length */
    CHECK(el_tok_decode(t, ids, k, false, false, out, 5) == 24 && !memcmp(out, "Hello", 5));
    CHECK(el_tok_decode(t, ids, k, false, false, NULL, 0) == 24);
    int32_t bad_id = 50257;
    CHECK(el_tok_decode(t, &bad_id, 1, false, false, out, sizeof out) < 0);
    free(ids);
    el_tok_free(t);

    /* SPM: BOS added by add_special, removed again by remove_special */
    t = load_vocab("tokenizer/ggml-vocab-llama-spm.gguf", NULL);
    REQUIRE(t != NULL);
    k = encode_all(t, "Hello world", 11, true, false, &ids);
    CHECK(k == 3 && ids[0] == 1 && ids[1] == 15043 && ids[2] == 3186, "k %d", k);
    m = el_tok_decode(t, ids, k, false, true, out, sizeof out); /* BOS shown */
    CHECK(m == 15 && !memcmp(out, "<s> Hello world", 15), "%.*s", m, out);
    m = el_tok_decode(t, ids, k, true, false, out, sizeof out); /* llama.cpp keeps the space */
    CHECK(m == 12 && !memcmp(out, " Hello world", 12), "%.*s", m, out);
    free(ids);
    el_tok_free(t);
}

/* stories260K: llama2.c's greedy output, detokenized, is its expected text */
static void test_stories_decode(void) {
    el_tok *t = load_vocab("models/stories260K.gguf", NULL);
    REQUIRE(t != NULL);
    CHECK(el_tok_n_vocab(t) == 512 && el_tok_bos(t) == 1 && el_tok_eos(t) == 2);
    CHECK(el_tok_find(t, "<0x0A>", 6) == 13);
    size_t n;
    char *txt = el_read_file(el_testdata("expected/stories260K.greedy200.tokens.txt"), &n);
    char *want = el_read_file(el_testdata("expected/stories260K.llama2c-greedy200.txt"), &n);
    REQUIRE(txt && want);
    int32_t ids[256];
    int k = 0;
    for (char *q = txt; *q && k < 256;) {
        char *e;
        long x = strtol(q, &e, 10);
        if (e == q) break;
        ids[k++] = (int32_t)x;
        q = e;
    }
    CHECK(k == 201 && ids[0] == 1);
    /* the 200 generated tokens, leading space stripped (what llama2.c prints after BOS) */
    char out[2048];
    int m = el_tok_decode(t, ids + 1, k - 1, false, false, out, sizeof out);
    CHECK(m == (int)n && !memcmp(out, want, n), "decoded %d bytes, want %zu", m, n);
    /* the streaming detokenizer gives the same bytes, with the leading space */
    el_tok_stream st;
    el_tok_stream_init(&st, t);
    char sbuf[2048];
    int sn = 0;
    for (int i = 1; i < k; i++) {
        int r = el_tok_stream_push(&st, ids[i], false, sbuf + sn, (int)sizeof sbuf - sn);
        CHECK(r >= 0 && r <= (int)sizeof sbuf - sn);
        if (r > 0) sn += r;
    }
    sn += el_tok_stream_flush(&st, sbuf + sn, (int)sizeof sbuf - sn);
    CHECK(sn == (int)n + 1 && sbuf[0] == ' ' && !memcmp(sbuf + 1, want, n), "stream %d", sn);
    free(txt);
    free(want);
    el_tok_free(t);
}

/* ---- streaming detokenizer ---- */

static void test_stream(void) {
    el_tok *t = load_vocab("tokenizer/ggml-vocab-llama-spm.gguf", NULL);
    REQUIRE(t != NULL);
    /* "🦙" has no token in Llama 2's vocabulary: four byte-fallback tokens */
    const char *s = "a\xf0\x9f\xa6\x99"
                    "b";
    int32_t *ids;
    int k = encode_all(t, s, strlen(s), false, false, &ids);
    int32_t b0 = el_tok_find(t, "<0xF0>", 6);
    int at = -1;
    for (int i = 0; i < k; i++)
        if (ids[i] == b0) at = i;
    REQUIRE(at >= 0 && at + 3 < k, "byte fallback expected (k %d)", k);
    el_tok_stream st;
    el_tok_stream_init(&st, t);
    char out[64], all[64];
    int n = 0;
    for (int i = 0; i < k; i++) {
        int r = el_tok_stream_push(&st, ids[i], false, out, sizeof out);
        if (i >= at && i < at + 3)
            CHECK(r == 0, "byte %d of the emoji held back (got %d)", i - at, r);
        if (i == at + 3) CHECK(r == 4 && !memcmp(out, "\xf0\x9f\xa6\x99", 4), "emoji released");
        REQUIRE(r >= 0 && n + r <= (int)sizeof all);
        memcpy(all + n, out, (size_t)r);
        n += r;
    }
    n += el_tok_stream_flush(&st, all + n, (int)sizeof all - n);
    CHECK(n == 7 && !memcmp(all,
                            " a\xf0\x9f\xa6\x99"
                            "b",
                            7),
          "%.*s", n, all);
    free(ids);

    int32_t f0 = b0, x82 = el_tok_find(t, "<0x82>", 6), e2 = el_tok_find(t, "<0xE2>", 6),
            c3 = el_tok_find(t, "<0xC3>", 6), a9 = el_tok_find(t, "<0xA9>", 6),
            ff = el_tok_find(t, "<0xFF>", 6), a = el_tok_find(t, "a", 1);
    REQUIRE(x82 >= 0 && e2 >= 0 && c3 >= 0 && a9 >= 0 && ff >= 0 && a >= 0);
    /* a lead byte followed by a non-continuation: U+FFFD, then the character */
    el_tok_stream_init(&st, t);
    CHECK(el_tok_stream_push(&st, f0, false, out, sizeof out) == 0);
    int r = el_tok_stream_push(&st, a, false, out, sizeof out);
    CHECK(r == 4 && !memcmp(out,
                            "\xef\xbf\xbd"
                            "a",
                            4),
          "r %d", r);
    /* two bytes of a three-byte sequence, then the end: one U+FFFD at flush */
    el_tok_stream_init(&st, t);
    CHECK(el_tok_stream_push(&st, e2, false, out, sizeof out) == 0);
    CHECK(el_tok_stream_push(&st, x82, false, out, sizeof out) == 0);
    r = el_tok_stream_flush(&st, out, sizeof out);
    CHECK(r == 3 && !memcmp(out, "\xef\xbf\xbd", 3), "r %d", r);
    CHECK(el_tok_stream_flush(&st, out, sizeof out) == 0);
    /* 0xFF can never start a sequence: replaced at once; é from two byte tokens */
    el_tok_stream_init(&st, t);
    r = el_tok_stream_push(&st, ff, false, out, sizeof out);
    CHECK(r == 3 && !memcmp(out, "\xef\xbf\xbd", 3));
    CHECK(el_tok_stream_push(&st, c3, false, out, sizeof out) == 0);
    r = el_tok_stream_push(&st, a9, false, out, sizeof out);
    CHECK(r == 2 && !memcmp(out, "\xc3\xa9", 2));
    /* too small a buffer: nothing written, state kept, the size needed returned */
    el_tok_stream_init(&st, t);
    el_tok_stream_push(&st, e2, false, out, sizeof out);
    int32_t hello = el_tok_find(t, "\xe2\x96\x81Hello", 8);
    REQUIRE(hello >= 0);
    r = el_tok_stream_push(&st, hello, false, out, 2);
    CHECK(r == 9, "needs U+FFFD + \" Hello\" = 9 bytes, got %d", r);
    r = el_tok_stream_push(&st, hello, false, out, sizeof out);
    CHECK(r == 9 && !memcmp(out, "\xef\xbf\xbd Hello", 9));
    /* control tokens: hidden unless special */
    CHECK(el_tok_stream_push(&st, 2, false, out, sizeof out) == 0);
    r = el_tok_stream_push(&st, 2, true, out, sizeof out);
    CHECK(r == 4 && !memcmp(out, "</s>", 4));
    CHECK(el_tok_stream_push(&st, 32000, false, out, sizeof out) < 0);
    el_tok_free(t);
}

/* ---- special tokens and metadata flags ---- */

static void test_specials(void) {
    el_tok *t = load_vocab("tokenizer/ggml-vocab-llama-spm.gguf", NULL);
    REQUIRE(t != NULL);
    CHECK(!strcmp(el_tok_model_name(t), "llama"));
    CHECK(el_tok_bos(t) == 1 && el_tok_eos(t) == 2 && el_tok_unk(t) == 0 && el_tok_add_bos(t));
    CHECK(el_tok_is_eog(t, 2) && !el_tok_is_eog(t, 1) && !el_tok_is_eog(t, -1));
    CHECK(el_tok_type(t, 0) == EL_TOK_TYPE_UNKNOWN && el_tok_type(t, 1) == EL_TOK_TYPE_CONTROL &&
          el_tok_type(t, 3) == EL_TOK_TYPE_BYTE && el_tok_type(t, 400) == EL_TOK_TYPE_NORMAL);
    size_t len;
    const char *txt = el_tok_text(t, 15043, &len);
    CHECK(txt && len == 8 && !memcmp(txt, "\xe2\x96\x81Hello", 8));
    CHECK(el_tok_text(t, 32000, &len) == NULL && el_tok_type(t, -3) == -1);
    /* parse_special: "<s>" in text is BOS only when asked; SPM adds a space after it */
    int32_t ids[16];
    int k = el_tok_encode(t, "<s>Hi", 5, false, true, ids, 16);
    CHECK(k == 2 && ids[0] == 1 && ids[1] == 6324, "k %d", k); /* "▁Hi" */
    k = el_tok_encode(t, "<s>Hi", 5, false, false, ids, 16);
    CHECK(k > 2 && ids[0] != 1);
    /* out == NULL / small cap: the count is still returned */
    CHECK(el_tok_encode(t, "Hello world", 11, true, false, NULL, 0) == 3);
    CHECK(el_tok_encode(t, "Hello world", 11, true, false, ids, 1) == 3 && ids[0] == 1);
    CHECK(el_tok_encode(t, "", 0, true, false, ids, 16) == 1 && ids[0] == 1);
    CHECK(el_tok_encode(t, "", 0, false, false, ids, 16) == 0);
    CHECK(el_tok_encode(t, NULL, 3, false, false, ids, 16) < 0);
    /* stray lead bytes before spaces split the escaped space into more symbols than input
     * bytes (found by fuzz_tok; ids checked against llama.cpp) */
    static const int32_t want[] = {29871, 251, 226, 229, 153, 132, 940, 176, 3, 29877};
    k = el_tok_encode(t, "\xf8\xdf  He\xad\0o", 9, false, false, ids, 16);
    CHECK(k == 10 && !memcmp(ids, want, sizeof want), "k %d", k);
    el_tok_free(t);

    /* phi-3: llama.cpp strips spaces right of its special tokens */
    t = load_vocab("tokenizer/ggml-vocab-phi-3.gguf", NULL);
    REQUIRE(t != NULL);
    int32_t end = el_tok_find(t, "<|end|>", 7);
    CHECK(end == 32007 && el_tok_is_eog(t, end) && el_tok_eot(t) == end);
    k = el_tok_encode(t, "<|user|>  hi<|end|>", 19, false, true, ids, 16);
    int32_t user = el_tok_find(t, "<|user|>", 8), hi = el_tok_find(t, "\xe2\x96\x81hi", 5);
    /* the spaces after <|user|> go; SPM's prefix space comes back after the special */
    CHECK(k == 3 && ids[0] == user && ids[1] == hi && ids[2] == end, "k %d", k);
    el_tok_free(t);

    /* BERT: [CLS] ... [SEP] around the text when add_special */
    t = load_vocab("tokenizer/ggml-vocab-bert-bge.gguf", NULL);
    REQUIRE(t != NULL);
    CHECK(!strcmp(el_tok_model_name(t), "bert"));
    k = el_tok_encode(t, "Hello World!", 12, true, false, ids, 16);
    CHECK(k == 5 && ids[0] == 101 && ids[1] == 7592 && ids[2] == 2088 && ids[3] == 999 &&
              ids[4] == 102,
          "k %d", k);
    char out[64];
    int m = el_tok_decode(t, ids, k, true, false, out, sizeof out);
    CHECK(m == 13 && !memcmp(out, " hello world!", 13), "%.*s", m, out); /* llama.cpp's */
    /* accents stripped through NFD, CJK split per character */
    const char *cafe = "Caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87",
               *cafe2 = "cafe \xe4\xb8\xad \xe6\x96\x87";
    k = el_tok_encode(t, cafe, strlen(cafe), false, false, ids, 16);
    int k2 = el_tok_encode(t, cafe2, strlen(cafe2), false, false, ids + 8, 8);
    CHECK(k == k2 && k == 3 && !memcmp(ids, ids + 8, 3 * sizeof(int32_t)), "k %d k2 %d", k, k2);
    el_tok_free(t);

    /* GPT-2: EOS = BOS = <|endoftext|>, no BOS added */
    t = load_vocab("tokenizer/ggml-vocab-gpt-2.gguf", NULL);
    REQUIRE(t != NULL);
    CHECK(el_tok_bos(t) == 50256 && el_tok_eos(t) == 50256 && !el_tok_add_bos(t));
    CHECK(el_tok_is_eog(t, 50256) && el_tok_type(t, 50256) == EL_TOK_TYPE_CONTROL);
    CHECK(el_tok_encode(t, "<|endoftext|>", 13, false, true, ids, 16) == 1 && ids[0] == 50256);
    CHECK(el_tok_encode(t, "<|endoftext|>", 13, true, false, ids, 16) > 1);
    el_tok_free(t);
}

/* ---- pre-tokenizer families on GPT-2's vocabulary vs llama.cpp (tests/golden/tok) ---- */

static int hexv(int c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void test_pretok_golden(void) {
    static const char *const pres[] = {"default", "llama-bpe",   "qwen2",  "seed-coder", "bloom",
                                       "viking",  "deepseek-v3", "gpt-4o", "tekken"};
    enum { NP = (int)(sizeof pres / sizeof pres[0]) };
    el_tok *toks[NP] = {0};
    char err[256] = "";
    el_gguf *src = el_gguf_open(el_testdata("tokenizer/ggml-vocab-gpt-2.gguf"), err, sizeof err);
    REQUIRE(src != NULL, "%s", err);
    for (int p = 0; p < NP; p++) {
        el_gguf_writer *w = el_gguf_writer_new();
        for (int64_t i = 0; i < el_gguf_n_kv(src); i++)
            el_gguf_copy_kv(w, src, i);
        el_gguf_set_str(w, "tokenizer.ggml.pre", pres[p]);
        char path[512];
        snprintf(path, sizeof path, "%s/pre-%s.gguf", el_tmpdir(), pres[p]);
        int rc = el_gguf_writer_write(w, path, err, sizeof err);
        el_gguf_writer_free(w);
        CHECK(rc == 0, "%s", err);
        el_gguf *g = rc == 0 ? el_gguf_open(path, err, sizeof err) : NULL;
        toks[p] = g ? el_tok_from_gguf(g, err, sizeof err) : NULL;
        CHECK(toks[p] != NULL, "%s: %s", pres[p], err);
        el_gguf_close(g);
    }
    el_gguf_close(src);
    size_t n;
    char *data = el_read_file("tests/golden/tok/pretok.txt", &n);
    REQUIRE(data != NULL, "tests/golden/tok/pretok.txt (run from the repo root)");
    char *in = malloc(n);
    size_t in_len = 0;
    int cases = 0, checked = 0;
    bool first_bad = true;
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == 'I' && line[1] == ' ') {
            in_len = 0;
            for (char *q = line + 2; q[0] && q[1]; q += 2)
                in[in_len++] = (char)(hexv(q[0]) * 16 + hexv(q[1]));
            cases++;
        } else if (line[0] == 'E' && line[1] == ' ') {
            char *name = line + 2, *sp = strchr(name, ' ');
            if (sp) *sp = 0;
            int p = -1;
            for (int i = 0; i < NP; i++)
                if (!strcmp(name, pres[i])) p = i;
            if (p < 0 || !toks[p]) continue;
            int32_t want[1024];
            int nw = 0;
            for (char *q = sp ? sp + 1 : name + strlen(name); *q && nw < 1024;) {
                char *e;
                long x = strtol(q, &e, 10);
                if (e == q) break;
                want[nw++] = (int32_t)x;
                q = e;
            }
            int32_t *got;
            int k = encode_all(toks[p], in, in_len, true, true, &got);
            bool ok = k == nw && !memcmp(got, want, sizeof(int32_t) * (size_t)nw);
            CHECK(ok, "%s: case %d", pres[p], cases);
            if (!ok && first_bad) {
                first_bad = false;
                fprintf(stderr, "  input \"%.*s\"\n", (int)in_len, in);
                print_ids("expected", want, nw);
                print_ids("got     ", got, k);
            }
            free(got);
            checked++;
        }
    }
    CHECK(cases == 150 && checked == 150 * NP, "%d cases, %d checks", cases, checked);
    free(in);
    free(data);
    for (int p = 0; p < NP; p++)
        el_tok_free(toks[p]);
}

/* ---- corrupt metadata: one-line errors, no crash ---- */

typedef struct mk {
    const char *model, *pre;
    bool no_tokens, int_tokens, empty_tokens, dup_token, no_merges, int_merges, int_model;
    int scores; /* entries of tokenizer.ggml.scores (-1: none) */
    int types;  /* entries of tokenizer.ggml.token_type (-1: as many as tokens) */
    const char *bad_merge;
    int64_t bos; /* -1: unset */
    bool bos_str, add_bos_int, types_str;
} mk;

/* A small byte-level vocabulary: the 256 byte characters, "ab", "Ġa", "<|sp|>" (control),
 * "<u>" (user-defined), merges "a b" and "Ġ a". Written to a file, opened, tokenizer built.
 * Returns the tokenizer or NULL with the error in err. */
static el_tok *mk_vocab(const mk *o, char *err, size_t errlen) {
    static int seq;
    el_gguf_writer *w = el_gguf_writer_new();
    if (!w) return NULL;
    el_gguf_set_str(w, "general.architecture", "gpt2");
    if (o->int_model)
        el_gguf_set_u32(w, "tokenizer.ggml.model", 3);
    else
        el_gguf_set_str(w, "tokenizer.ggml.model", o->model ? o->model : "gpt2");
    el_gguf_set_str(w, "tokenizer.ggml.pre", o->pre ? o->pre : "gpt-2");
    char texts[260][8];
    const char *tp[260];
    int32_t types[260];
    int n = 0;
    for (int b = 0; b < 256; b++) {
        /* GPT-2's byte alphabet */
        unsigned c = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE ? (unsigned)b
                     : b <= 0x20                                                       ? 256u + b
                     : b <= 0xA0 ? 289u + (b - 0x7F)
                                 : 323u;
        if (c < 0x80) {
            texts[n][0] = (char)c, texts[n][1] = 0;
        } else {
            texts[n][0] = (char)(0xC0 | (c >> 6)), texts[n][1] = (char)(0x80 | (c & 0x3F));
            texts[n][2] = 0;
        }
        types[n] = EL_TOK_TYPE_NORMAL;
        n++;
    }
    strcpy(texts[n], "ab"), types[n++] = EL_TOK_TYPE_NORMAL;
    strcpy(texts[n], "\xc4\xa0"
                     "a"),
        types[n++] = EL_TOK_TYPE_NORMAL;
    strcpy(texts[n], "<|sp|>"), types[n++] = EL_TOK_TYPE_CONTROL;
    strcpy(texts[n], o->dup_token ? "ab" : "<u>"), types[n++] = EL_TOK_TYPE_USER_DEFINED;
    for (int i = 0; i < n; i++)
        tp[i] = texts[i];
    if (o->int_tokens)
        el_gguf_set_arr(w, "tokenizer.ggml.tokens", EL_GGUF_INT32, types, (uint64_t)n);
    else if (o->empty_tokens)
        el_gguf_set_arr_str(w, "tokenizer.ggml.tokens", tp, 0);
    else if (!o->no_tokens)
        el_gguf_set_arr_str(w, "tokenizer.ggml.tokens", tp, (uint64_t)n);
    if (o->types_str)
        el_gguf_set_arr_str(w, "tokenizer.ggml.token_type", tp, (uint64_t)n);
    else
        el_gguf_set_arr(w, "tokenizer.ggml.token_type", EL_GGUF_INT32, types,
                        (uint64_t)(o->types >= 0 ? o->types : n));
    if (o->scores >= 0) {
        float sc[300] = {0};
        el_gguf_set_arr(w, "tokenizer.ggml.scores", EL_GGUF_FLOAT32, sc, (uint64_t)o->scores);
    }
    const char *merges[2] = {"a b", "\xc4\xa0 a"};
    if (o->bad_merge) merges[1] = o->bad_merge;
    if (o->int_merges)
        el_gguf_set_arr(w, "tokenizer.ggml.merges", EL_GGUF_INT32, types, 2);
    else if (!o->no_merges)
        el_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, 2);
    if (o->bos_str)
        el_gguf_set_str(w, "tokenizer.ggml.bos_token_id", "1");
    else if (o->bos >= 0)
        el_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)o->bos);
    if (o->add_bos_int) el_gguf_set_u32(w, "tokenizer.ggml.add_bos_token", 1);
    char path[512];
    snprintf(path, sizeof path, "%s/mk-%d.gguf", el_tmpdir(), seq++);
    int rc = el_gguf_writer_write(w, path, err, errlen);
    el_gguf_writer_free(w);
    if (rc) return NULL;
    el_gguf *g = el_gguf_open(path, err, errlen);
    if (!g) return NULL;
    el_tok *t = el_tok_from_gguf(g, err, errlen);
    el_gguf_close(g);
    return t;
}

static void expect_error(const mk *o, const char *what, const char *needle) {
    char err[256] = "";
    el_tok *t = mk_vocab(o, err, sizeof err);
    CHECK(t == NULL, "%s: loaded", what);
    CHECK(err[0] && !strchr(err, '\n') && strstr(err, needle), "%s: \"%s\"", what, err);
    el_tok_free(t);
}

static void test_corrupt(void) {
    char err[256] = "";
    mk ok = {.scores = -1, .types = -1, .bos = -1};
    el_tok *t = mk_vocab(&ok, err, sizeof err);
    REQUIRE(t != NULL, "the base vocabulary loads: %s", err);
    int32_t ids[16];
    CHECK(el_tok_encode(t, "ab", 2, false, false, ids, 16) == 1 && ids[0] == 256);
    /* token ids of the byte characters are the byte values; " a" merges into "Ġa" */
    CHECK(el_tok_encode(t, "b a", 3, false, false, ids, 16) == 2 && ids[0] == 'b' && ids[1] == 257,
          "%d %d", ids[0], ids[1]);
    CHECK(el_tok_encode(t, "x<|sp|>", 7, false, true, ids, 16) == 2 && ids[1] == 258);
    CHECK(el_tok_encode(t, "x<|sp|>", 7, false, false, ids, 16) > 2);
    CHECK(el_tok_encode(t, "<u><u>", 6, false, false, ids, 16) == 2 && ids[0] == 259 &&
          ids[1] == 259);
    /* gpt2 defaults: bos = eos = 11 when the file names none */
    CHECK(el_tok_bos(t) == 11 && el_tok_eos(t) == 11);
    el_tok_free(t);

    mk o;
    o = ok, o.no_tokens = true;
    expect_error(&o, "no tokens", "missing tokenizer.ggml.tokens");
    o = ok, o.int_tokens = true;
    expect_error(&o, "int tokens", "not of strings");
    o = ok, o.empty_tokens = true;
    expect_error(&o, "empty tokens", "empty");
    o = ok, o.scores = 7;
    expect_error(&o, "short scores", "scores has 7 entries");
    o = ok, o.types = 3;
    expect_error(&o, "short token_type", "token_type has 3 entries");
    o = ok, o.types_str = true;
    expect_error(&o, "string token_type", "not of integers");
    o = ok, o.bad_merge = "a zz";
    expect_error(&o, "merge of unknown token", "not in the vocabulary");
    o = ok, o.bad_merge = "ab";
    expect_error(&o, "merge without space", "separated by a space");
    o = ok, o.no_merges = true;
    expect_error(&o, "no merges", "missing tokenizer.ggml.merges");
    o = ok, o.int_merges = true;
    expect_error(&o, "int merges", "not of strings");
    o = ok, o.bos = 5000;
    expect_error(&o, "bos out of range", "bos_token_id = 5000");
    o = ok, o.bos_str = true;
    expect_error(&o, "bos as string", "bos_token_id is not an integer");
    o = ok, o.add_bos_int = true;
    expect_error(&o, "add_bos as int", "add_bos_token is not a bool");
    o = ok, o.dup_token = true;
    expect_error(&o, "duplicate token", "same text");
    o = ok, o.model = "t5";
    expect_error(&o, "unknown model", "unsupported tokenizer model 't5'");
    o = ok, o.pre = "kimi-k2";
    expect_error(&o, "unknown pre", "unsupported pre-tokenizer 'kimi-k2'");
    o = ok, o.int_model = true;
    expect_error(&o, "model not a string", "tokenizer.ggml.model is not a string");
    CHECK(el_tok_from_gguf(NULL, err, sizeof err) == NULL);

    /* hf import: broken inputs fail with one line too */
    el_gguf_writer *w = el_gguf_writer_new();
    char path[512];
    snprintf(path, sizeof path, "%s/bad.json", el_tmpdir());
    FILE *f = fopen(path, "w");
    fputs("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [", f);
    fclose(f);
    err[0] = 0;
    CHECK(el_tok_hf_import(path, NULL, w, err, sizeof err) < 0 && strstr(err, "invalid JSON"), "%s",
          err);
    f = fopen(path, "w");
    fputs("{\"model\": {\"type\": \"Unigram\"}}", f);
    fclose(f);
    CHECK(el_tok_hf_import(path, NULL, w, err, sizeof err) < 0 && strstr(err, "Unigram"), "%s",
          err);
    f = fopen(path, "w");
    fputs("{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", "
          "\"vocab\": {\"a\": -4}, \"merges\": []}}",
          f);
    fclose(f);
    CHECK(el_tok_hf_import(path, NULL, w, err, sizeof err) < 0 && strstr(err, "bad id"), "%s", err);
    CHECK(el_tok_hf_import("/nonexistent/tokenizer.json", NULL, w, err, sizeof err) < 0 &&
          !strchr(err, '\n'));
    el_gguf_writer_free(w);
}

/* ---- long inputs: linear-time paths (no timing asserted; run.sh's timeout bounds it) ---- */

static void test_long_inputs(void) {
    size_t n = 100000;
    char *s = malloc(n), *back = malloc(n + 16);
    el_tok *spm = load_vocab("tokenizer/ggml-vocab-llama-spm.gguf", NULL);
    el_tok *bert = load_vocab("tokenizer/ggml-vocab-bert-bge.gguf", NULL);
    const el_tok *toks[3] = {g_qwen, spm, bert};
    for (int pat = 0; pat < 6; pat++) {
        for (size_t i = 0; i < n; i++) {
            switch (pat) {
            case 0:
                s[i] = ' ';
                break;
            case 1:
                s[i] = 'a';
                break;
            case 2:
                s[i] = (char)('0' + i % 10);
                break;
            case 3:
                s[i] = "ab \n\t.,!x1'"[(i * 7919) % 11];
                break;
            case 4:
                s[i] = "<|im_start|>"[i % 12];
                break;
            default:
                s[i] = (char)(0x80 + (i * 31) % 128);
                break;
            }
        }
        for (int k = 0; k < 3; k++) {
            if (!toks[k]) continue;
            int32_t *ids;
            int m = encode_all(toks[k], s, n, false, pat == 4, &ids);
            CHECK(m > 0 || (k == 2 && (pat == 0 || pat == 5)), "pattern %d tokenizer %d: %d", pat,
                  k, m);
            if (k == 0 && pat != 5) { /* byte-level BPE is lossless */
                int b = el_tok_decode(toks[k], ids, m, false, true, back, (int)n + 16);
                CHECK(b == (int)n && !memcmp(back, s, n), "pattern %d round trip", pat);
            }
            free(ids);
        }
    }
    free(s);
    free(back);
    el_tok_free(spm);
    el_tok_free(bert);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_vectors);
    RUN(test_qwen3_import);
    RUN(test_qwen_special);
    RUN(test_roundtrip);
    RUN(test_stories_decode);
    RUN(test_stream);
    RUN(test_specials);
    RUN(test_pretok_golden);
    RUN(test_corrupt);
    RUN(test_long_inputs);
    el_tok_free(g_qwen);
    return test_summary(argv[0]);
}
