/* tests/fuzz/fuzz_tok.c — libFuzzer harness for the tokenizers: arbitrary bytes -> encode ->
 * decode -> streaming decode, with a few real vocabularies and one built here.
 *
 * Input: byte 0 picks the vocabulary (bits 0-1; for the built-in one, bits 4-6 pick its
 * pre-tokenizer) and the flags (bit 2 add_special, bit 3 parse_special); the rest is the
 * text. Vocabularies are loaded once per process from
 * $EL_TESTDATA (default ../shared/testdata): Llama 2 SPM, GPT-2 BPE, BERT WordPiece; a
 * missing file falls back to a small byte-level vocabulary with special tokens written by
 * this harness. Besides "no crash, no hang, no leak", it checks invariants and aborts when
 * one fails: ids within the vocabulary, the two calls of encode/decode agree, SPM round
 * trips exactly for valid UTF-8 (byte fallback makes it lossless), and the streaming
 * detokenizer emits valid UTF-8 whatever the token sequence.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "gguf/gguf.h"
#include "tok/tok.h"

static el_tok *g_tok[4];
/* the built-in vocabulary under each pre-tokenizer family (byte 0, bits 4-6) */
static const char *const PRES[8] = {"qwen2",       "llama-bpe",    "gpt-4o",         "tekken",
                                    "deepseek-v3", "deepseek-llm", "deepseek-coder", "bloom"};
static el_tok *g_builtin[8];

static el_tok *load(const char *rel) {
    const char *root = getenv("EL_TESTDATA");
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/%s", root && *root ? root : "../shared/testdata", rel);
    el_gguf *g = el_gguf_open(path, err, sizeof err);
    if (!g) return NULL;
    el_tok *t = el_tok_from_gguf(g, err, sizeof err);
    el_gguf_close(g);
    return t;
}

/* byte alphabet + "ab", "Ġa", "<|sp|>" (control), "<u>" (user-defined) */
static el_tok *builtin(const char *pre) {
    el_gguf_writer *w = el_gguf_writer_new();
    if (!w) return NULL;
    char texts[260][4];
    const char *tp[260];
    int32_t types[260];
    int n = 0;
    for (int b = 0; b < 256; b++, n++) {
        char u[4] = {0};
        /* GPT-2's byte alphabet, written out */
        unsigned c = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE ? (unsigned)b
                     : b <= 0x20 ? 256u + (unsigned)b
                     : b <= 0xA0 ? 289u + (unsigned)(b - 0x7F)
                                 : 323u;
        if (c < 0x80)
            u[0] = (char)c;
        else
            u[0] = (char)(0xC0 | (c >> 6)), u[1] = (char)(0x80 | (c & 0x3F));
        memcpy(texts[n], u, 4);
        types[n] = EL_TOK_TYPE_NORMAL;
    }
    const char *extra[4] = {"ab",
                            "\xc4\xa0"
                            "a",
                            "<|sp|>", "<u>"};
    int32_t extra_t[4] = {1, 1, 3, 4};
    for (int i = 0; i < 4; i++, n++)
        tp[n] = extra[i], types[n] = extra_t[i];
    for (int i = 0; i < 256; i++)
        tp[i] = texts[i];
    const char *merges[2] = {"a b", "\xc4\xa0 a"};
    el_gguf_set_str(w, "general.architecture", "gpt2");
    el_gguf_set_str(w, "tokenizer.ggml.model", "gpt2");
    el_gguf_set_str(w, "tokenizer.ggml.pre", pre);
    el_gguf_set_arr_str(w, "tokenizer.ggml.tokens", tp, (uint64_t)n);
    el_gguf_set_arr(w, "tokenizer.ggml.token_type", EL_GGUF_INT32, types, (uint64_t)n);
    el_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, 2);
    el_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 258);
    char path[] = "/tmp/fuzz_tok_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        el_gguf_writer_free(w);
        return NULL;
    }
    close(fd);
    char err[256];
    el_tok *t = NULL;
    if (el_gguf_writer_write(w, path, err, sizeof err) == 0) {
        el_gguf *g = el_gguf_open(path, err, sizeof err);
        if (g) t = el_tok_from_gguf(g, err, sizeof err);
        el_gguf_close(g);
    }
    unlink(path);
    el_gguf_writer_free(w);
    return t;
}

static void init(void) {
    static int done;
    if (done) return;
    done = 1;
    g_tok[0] = load("tokenizer/ggml-vocab-llama-spm.gguf");
    g_tok[1] = load("tokenizer/ggml-vocab-gpt-2.gguf");
    g_tok[2] = load("tokenizer/ggml-vocab-bert-bge.gguf");
    for (int i = 0; i < 8; i++)
        if (!(g_builtin[i] = builtin(PRES[i]))) abort(); /* the harness itself is broken */
    g_tok[3] = g_builtin[0];
    for (int i = 0; i < 3; i++)
        if (!g_tok[i]) g_tok[i] = g_tok[3];
}

#define CHECK_OR_DIE(c)                                                                            \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_tok: invariant failed: %s (line %d)\n", #c, __LINE__);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    init();
    if (size < 1 || size > 65536) return 0;
    int which = data[0] & 3;
    bool add_special = data[0] & 4, parse_special = data[0] & 8;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    const el_tok *t = which == 3 ? g_builtin[(data[0] >> 4) & 7] : g_tok[which];
    int32_t nv = el_tok_n_vocab(t);

    int n = el_tok_encode(t, text, len, add_special, parse_special, NULL, 0);
    CHECK_OR_DIE(n >= 0);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    CHECK_OR_DIE(ids != NULL);
    CHECK_OR_DIE(el_tok_encode(t, text, len, add_special, parse_special, ids, n) == n);
    for (int i = 0; i < n; i++)
        CHECK_OR_DIE(ids[i] >= 0 && ids[i] < nv);

    int m = el_tok_decode(t, ids, n, add_special, parse_special, NULL, 0);
    CHECK_OR_DIE(m >= 0);
    char *out = malloc((size_t)m + 1);
    CHECK_OR_DIE(out != NULL);
    CHECK_OR_DIE(el_tok_decode(t, ids, n, add_special, parse_special, out, m) == m);
    bool spm = !strcmp(el_tok_model_name(t), "llama");
    /* SPM is lossless for valid UTF-8 without a literal U+2581 (invalid bytes next to a
     * space can capture part of the escaped space into byte tokens, as in llama.cpp) */
    if (spm && !parse_special && !add_special && el_utf8_valid(text, len, NULL) &&
        !memmem(text, len, "\xe2\x96\x81", 3))
        CHECK_OR_DIE((size_t)m == len && !memcmp(out, text, len));

    /* streaming: always valid UTF-8 */
    el_tok_stream st;
    el_tok_stream_init(&st, t);
    char *sbuf = malloc((size_t)m * 3 + 64);
    size_t sn = 0, scap = (size_t)m * 3 + 64;
    CHECK_OR_DIE(sbuf != NULL);
    char small[8];
    for (int i = 0; i < n; i++) {
        int r = el_tok_stream_push(&st, ids[i], parse_special, small, sizeof small);
        if (r > (int)sizeof small) {
            char *big = malloc((size_t)r);
            CHECK_OR_DIE(big != NULL);
            CHECK_OR_DIE(el_tok_stream_push(&st, ids[i], parse_special, big, r) == r);
            CHECK_OR_DIE(sn + (size_t)r <= scap);
            memcpy(sbuf + sn, big, (size_t)r);
            free(big);
        } else {
            CHECK_OR_DIE(r >= 0 && sn + (size_t)r <= scap);
            memcpy(sbuf + sn, small, (size_t)r);
        }
        sn += (size_t)r;
    }
    int r = el_tok_stream_flush(&st, sbuf + sn, (int)(scap - sn));
    CHECK_OR_DIE(r >= 0 && (size_t)r <= scap - sn);
    sn += (size_t)r;
    CHECK_OR_DIE(el_utf8_valid(sbuf, sn, NULL));
    free(sbuf);
    free(out);
    free(ids);
    return 0;
}
