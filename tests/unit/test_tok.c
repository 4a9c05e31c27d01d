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

/* ---- helpers ---------------------------------------------------------------------------- */

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
    size_t ni, no;
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

/* ---- Qwen3: import tokenizer.json, write a vocab GGUF, load it, run the qwen2 vectors ------ */

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

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_vectors);
    RUN(test_qwen3_import);
    RUN(test_qwen_special);
    el_tok_free(g_qwen);
    return test_summary(argv[0]);
}
