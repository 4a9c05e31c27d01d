/* tok/tok.c — the tokenizer object: loading tokenizer.ggml.* metadata, the vocabulary hash,
 * special tokens (defaults, detection by text, end-of-generation set), the special-token
 * partition of input text, encode dispatch, and every direction of detokenizing (one piece,
 * a whole sequence, a stream).
 *
 * Owns: one el_tok per model — token table, one text buffer, the text->id hash, the merge
 * table (BPE), the special-token list and its byte trie. All built once in
 * el_tok_from_gguf, never modified afterwards (so encoding is thread-safe); freed by
 * el_tok_free. Per call, encode/decode allocate scratch and free it before returning.
 *
 * Invariants after a successful load: 1 <= n_vocab < 2^31; token texts are unique and
 * non-empty (llama.cpp's "[EMPTY_<i>]" replaces an empty one); every special id is -1 or a
 * valid id; every merge names two vocabulary tokens.
 *
 * llama.cpp compatibility notes (where behaviour is not obvious): defaults per model type
 * and per pre-tokenizer name, EOT/EOM/FIM detection by token text, and which tokens end
 * generation follow llama_vocab::impl::load; the partition follows tokenizer_st_partition
 * (each special token in priority order splits every remaining text fragment at all its
 * non-overlapping occurrences), after one pass of a byte trie has found which special texts
 * occur at all, so a vocabulary with thousands of special tokens costs one scan, not one
 * substring search per special token. Where llama.cpp picks "the first match" while
 * iterating an unordered_map (EOT detection), we take the first candidate in its list order;
 * special tokens of equal length are tried in id order (llama.cpp's std::sort leaves that
 * order unspecified).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "tok/tok_int.h"
#include "tok/unicode.h"

/* ---- small helpers ---- */

void tok_vec_push(tok_vec *v, int32_t id) {
    if (v->oom) return;
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 64;
        if (nc > SIZE_MAX / sizeof(int32_t)) {
            v->oom = true;
            return;
        }
        int32_t *p = realloc(v->v, nc * sizeof(int32_t));
        if (!p) {
            v->oom = true;
            return;
        }
        v->v = p;
        v->cap = nc;
    }
    v->v[v->n++] = id;
}

uint64_t tok_hash_bytes(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a final mix for the low bits */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static int hash_init(tok_hash *h, uint64_t n) {
    uint64_t cap = 16;
    while (cap < n * 2)
        cap <<= 1;
    h->slot = calloc((size_t)cap, sizeof(uint32_t));
    h->mask = cap - 1;
    return h->slot ? 0 : -1;
}

int32_t tok_lookup(const el_tok *t, const char *s, size_t n) {
    if (n > (size_t)t->max_token_len) return -1;
    for (uint64_t i = tok_hash_bytes(s, n) & t->by_text.mask;; i = (i + 1) & t->by_text.mask) {
        uint32_t v = t->by_text.slot[i];
        if (!v) return -1;
        const tok_entry *e = &t->tok[v - 1];
        if (e->len == n && memcmp(t->text + e->off, s, n) == 0) return (int32_t)(v - 1);
    }
}

int32_t tok_merge_rank(const el_tok *t, int32_t l, int32_t r) {
    if (!t->n_merges) return -1;
    uint64_t key = ((uint64_t)(uint32_t)l << 32) | (uint32_t)r;
    for (uint64_t i = mix64(key) & t->by_pair.mask;; i = (i + 1) & t->by_pair.mask) {
        uint32_t v = t->by_pair.slot[i];
        if (!v) return -1;
        if (t->merge_l[v - 1] == l && t->merge_r[v - 1] == r) return (int32_t)(v - 1);
    }
}

static bool is_ascii_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* ---- loading ---- */

typedef struct pre_name {
    const char *name;
    tok_pre pre;
    int8_t clean;       /* -1 keep the BPE default (true), 0/1 set */
    bool llama3_extras; /* ignore_merges + add_bos */
    bool add_sep;
    bool no_bos;
} pre_name;

static const pre_name PRE_NAMES[] = {
    {"default", PRE_DEFAULT, -1, false, false, false},
    {"llama3", PRE_LLAMA3, -1, true, false, false},
    {"llama-v3", PRE_LLAMA3, -1, true, false, false},
    {"llama-bpe", PRE_LLAMA3, -1, true, false, false},
    {"falcon3", PRE_LLAMA3, -1, true, false, false},
    {"falcon-h1", PRE_LLAMA3, -1, true, false, false},
    {"pixtral", PRE_LLAMA3, -1, true, false, false},
    {"midm-2.0", PRE_LLAMA3, -1, true, false, false},
    {"lfm2", PRE_LLAMA3, -1, true, false, false},
    {"dbrx", PRE_LLAMA3, -1, false, false, false},
    {"smaug-bpe", PRE_LLAMA3, -1, false, false, false},
    {"glm4", PRE_LLAMA3, -1, false, false, true},
    {"chatglm-bpe", PRE_LLAMA3, -1, false, false, true},
    {"deepseek-llm", PRE_DEEPSEEK_LLM, 0, false, false, false},
    {"deepseek-coder", PRE_DEEPSEEK_CODER, 0, false, false, false},
    {"falcon", PRE_FALCON, -1, false, false, false},
    {"mpt", PRE_GPT2, -1, false, false, false},
    {"starcoder", PRE_STARCODER, -1, false, false, false},
    {"gpt-2", PRE_GPT2, -1, false, false, false},
    {"phi-2", PRE_GPT2, -1, false, false, false},
    {"jina-es", PRE_GPT2, -1, false, false, false},
    {"jina-de", PRE_GPT2, -1, false, false, false},
    {"gigachat", PRE_GPT2, -1, false, false, false},
    {"jina-v2-es", PRE_GPT2, -1, false, false, false},
    {"jina-v2-de", PRE_GPT2, -1, false, false, false},
    {"a.x-4.0", PRE_GPT2, -1, false, false, false},
    {"mellum", PRE_GPT2, -1, false, false, false},
    {"jina-v1-en", PRE_GPT2, -1, false, true, false},
    {"jina-v2-code", PRE_GPT2, -1, false, true, false},
    {"roberta-bpe", PRE_GPT2, -1, false, true, false},
    {"refact", PRE_STARCODER, -1, false, false, false},
    {"command-r", PRE_STARCODER, 0, false, false, false},
    {"qwen2", PRE_QWEN2, 0, false, false, false},
    {"deepseek-r1-qwen", PRE_QWEN2, 0, false, false, false},
    {"stablelm2", PRE_QWEN2, -1, false, false, false},
    {"olmo", PRE_GPT2, -1, false, false, false},
    {"poro-chat", PRE_BLOOM, 0, false, false, false},
    {"viking", PRE_VIKING, 0, false, false, false},
    {"jais", PRE_GPT2, -1, false, false, false},
    {"smollm", PRE_STARCODER, 0, false, false, false},
    {"codeshell", PRE_STARCODER, -1, false, false, false},
    {"bloom", PRE_BLOOM, -1, false, false, false},
    {"gpt3-finnish", PRE_BLOOM, -1, false, false, false},
    {"exaone", PRE_STARCODER, -1, false, false, false},
    {"exaone4", PRE_GPT2, -1, false, false, false},
    {"minerva-7b", PRE_STARCODER, -1, false, false, false},
    {"megrez", PRE_QWEN2, -1, false, false, false},
    {"trillion", PRE_GPT2, 0, false, false, false},
    {"bailingmoe", PRE_QWEN2, 0, false, false, false},
    {"llada-moe", PRE_QWEN2, 0, false, false, false},
    {"seed-coder", PRE_SEED_CODER, 0, false, false, false},
    {"hunyuan", PRE_QWEN2, 0, false, false, false},
    {"grok-2", PRE_QWEN2, 0, false, false, false},
    {"deepseek-v3", PRE_DEEPSEEK3, 0, false, false, false},
    {"hunyuan-dense", PRE_DEEPSEEK3, 0, false, false, false},
    {"gpt-4o", PRE_GPT4O, 0, false, false, false},
    {"llama4", PRE_GPT4O, 0, false, false, false},
    {"tekken", PRE_TEKKEN, 0, true, false, false},
};

/* candidates llama.cpp recognises by text, in the order we try them */
static const char *const EOT_TEXTS[] = {
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<EOT>",
    "_<EOT>",
    "<\xef\xbd\x9c"
    "end\xe2\x96\x81"
    "of\xe2\x96\x81"
    "sentence\xef\xbd\x9c>",
    "<end_of_utterance>",
};
static const char *const FIM_PRE_TEXTS[] = {
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<\xef\xbd\x9c"
    "fim\xe2\x96\x81"
    "begin\xef\xbd\x9c>",
    "<PRE>",
    "\xe2\x96\x81<PRE>",
    "<|code_prefix|>",
};
static const char *const FIM_SUF_TEXTS[] = {
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<\xef\xbd\x9c"
    "fim\xe2\x96\x81"
    "hole\xef\xbd\x9c>",
    "<SUF>",
    "\xe2\x96\x81<SUF>",
    "<|code_suffix|>",
};
static const char *const FIM_MID_TEXTS[] = {
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<\xef\xbd\x9c"
    "fim\xe2\x96\x81"
    "end\xef\xbd\x9c>",
    "<MID>",
    "\xe2\x96\x81<MID>",
    "<|code_middle|>",
};
static const char *const FIM_PAD_TEXTS[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"};
static const char *const FIM_REP_TEXTS[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
                                            "<reponame>"};
static const char *const FIM_SEP_TEXTS[] = {"<|file_sep|>"};
static const char *const EOG_TEXTS[] = {
    "<|eot_id|>",    "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",        "<end_of_turn>",
    "<|endoftext|>", "<|eom_id|>", "<EOT>",   "_<EOT>",     "<|end_of_text|>", "<end_of_utterance>",
};

static int32_t lookup_cstr(const el_tok *t, const char *s) {
    return tok_lookup(t, s, strlen(s));
}

static void mark_control(el_tok *t, int32_t id) {
    if (id >= 0 && !(t->tok[id].attr & ATTR_CONTROL)) t->tok[id].attr = ATTR_CONTROL;
}

static void detect_by_text(el_tok *t, int32_t *id, const char *const *texts, size_t n) {
    if (*id >= 0) return;
    for (size_t i = 0; i < n; i++) {
        int32_t k = lookup_cstr(t, texts[i]);
        if (k >= 0) {
            *id = k;
            mark_control(t, k);
            return;
        }
    }
}

static uint32_t attr_of_type(int64_t type) {
    switch (type) {
    case EL_TOK_TYPE_UNKNOWN:
        return ATTR_UNKNOWN;
    case EL_TOK_TYPE_UNUSED:
        return ATTR_UNUSED;
    case EL_TOK_TYPE_NORMAL:
        return ATTR_NORMAL;
    case EL_TOK_TYPE_CONTROL:
        return ATTR_CONTROL;
    case EL_TOK_TYPE_USER_DEFINED:
        return ATTR_USER_DEFINED;
    case EL_TOK_TYPE_BYTE:
        return ATTR_BYTE;
    default:
        return 0;
    }
}

/* Reads an optional bool key. 0 ok/absent, -1 wrong type (err written). */
static int get_flag(const el_gguf *g, const char *key, bool *v, char *err, size_t errlen) {
    int r = el_gguf_get_bool(g, key, v);
    if (r == -2) return el_errf(err, errlen, "%s is not a bool", key);
    return 0;
}

/* Reads an optional token-id key. A negative value or 0xFFFFFFFF (converters' "-1") leaves
 * the default, as llama.cpp does. strict: another id outside the vocabulary is an error
 * (otherwise it is warned about and ignored, as llama.cpp does). */
static int get_id(const el_tok *t, const el_gguf *g, const char *key, int32_t *id, bool strict,
                  char *err, size_t errlen) {
    int64_t v;
    int r = el_gguf_get_i64(g, key, &v);
    if (r == -1) return 0;
    if (r == -2) return el_errf(err, errlen, "%s is not an integer", key);
    if (v < 0 || v == (int64_t)UINT32_MAX) return 0;
    if (v >= t->n_vocab) {
        if (strict)
            return el_errf(err, errlen, "%s = %lld is outside the vocabulary (%d tokens)", key,
                           (long long)v, (int)t->n_vocab);
        el_log(EL_LOG_WARN, "tokenizer: %s = %lld is outside the vocabulary, ignored", key,
               (long long)v);
        return 0;
    }
    *id = (int32_t)v;
    return 0;
}

static int load_tokens(el_tok *t, const el_gguf *g, char *err, size_t errlen) {
    el_gguf_arr toks;
    int r = el_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks);
    if (r == -1) return el_errf(err, errlen, "missing tokenizer.ggml.tokens");
    if (r != 0) return el_errf(err, errlen, "tokenizer.ggml.tokens is not an array");
    if (toks.elem_type != EL_GGUF_STRING)
        return el_errf(err, errlen, "tokenizer.ggml.tokens is an array of %s, not of strings",
                       el_gguf_vtype_name(toks.elem_type));
    if (toks.n == 0) return el_errf(err, errlen, "tokenizer.ggml.tokens is empty");
    if (toks.n > (uint64_t)INT32_MAX - 1)
        return el_errf(err, errlen, "tokenizer.ggml.tokens has too many entries (%llu)",
                       (unsigned long long)toks.n);
    int32_t n = (int32_t)toks.n;
    t->n_vocab = n;

    el_gguf_arr scores = {0}, types = {0};
    bool has_scores = false, has_types = false;
    r = el_gguf_get_arr(g, "tokenizer.ggml.scores", &scores);
    if (r == -2) return el_errf(err, errlen, "tokenizer.ggml.scores is not an array");
    if (r == 0) {
        if (scores.elem_type != EL_GGUF_FLOAT32 && scores.elem_type != EL_GGUF_FLOAT64)
            return el_errf(err, errlen, "tokenizer.ggml.scores is an array of %s, not of floats",
                           el_gguf_vtype_name(scores.elem_type));
        if (scores.n != toks.n)
            return el_errf(err, errlen, "tokenizer.ggml.scores has %llu entries for %d tokens",
                           (unsigned long long)scores.n, (int)n);
        has_scores = true;
    }
    r = el_gguf_get_arr(g, "tokenizer.ggml.token_type", &types);
    if (r == -2) return el_errf(err, errlen, "tokenizer.ggml.token_type is not an array");
    if (r == 0) {
        if (types.elem_type > EL_GGUF_INT32 && types.elem_type != EL_GGUF_UINT64 &&
            types.elem_type != EL_GGUF_INT64)
            return el_errf(err, errlen,
                           "tokenizer.ggml.token_type is an array of %s, not of integers",
                           el_gguf_vtype_name(types.elem_type));
        if (types.n != toks.n)
            return el_errf(err, errlen, "tokenizer.ggml.token_type has %llu entries for %d tokens",
                           (unsigned long long)types.n, (int)n);
        has_types = true;
    }

    /* one buffer for all texts: bytes + NULs + room for "[EMPTY_<i>]" replacements */
    uint64_t total = 0;
    for (int32_t i = 0; i < n; i++) {
        el_gstr s = el_gguf_arr_str(&toks, (uint64_t)i);
        if (s.n > UINT32_MAX / 2) return el_errf(err, errlen, "token %d is too long", (int)i);
        total += s.n ? s.n + 1 : 24;
    }
    if (total > UINT32_MAX) return el_errf(err, errlen, "token texts too large");
    t->text = malloc((size_t)total);
    t->tok = calloc((size_t)n, sizeof *t->tok);
    if (!t->text || !t->tok || hash_init(&t->by_text, (uint64_t)n))
        return el_errf(err, errlen, "out of memory");

    uint32_t off = 0;
    for (int32_t i = 0; i < n; i++) {
        el_gstr s = el_gguf_arr_str(&toks, (uint64_t)i);
        tok_entry *e = &t->tok[i];
        e->off = off;
        if (s.n == 0) {
            /* llama.cpp names empty tokens so every text stays unique */
            int k = snprintf(t->text + off, 24, "[EMPTY_%d]", (int)i);
            e->len = (uint32_t)k;
        } else {
            memcpy(t->text + off, s.s, (size_t)s.n);
            t->text[off + s.n] = 0;
            e->len = (uint32_t)s.n;
        }
        off += e->len + 1;
        if ((int)e->len > t->max_token_len) t->max_token_len = (int)e->len;
        e->score = has_scores ? (float)el_gguf_arr_f64(&scores, (uint64_t)i) : 0.0f;
        e->type = has_types ? (int32_t)el_gguf_arr_i64(&types, (uint64_t)i) : EL_TOK_TYPE_NORMAL;
        e->attr = has_types ? attr_of_type(el_gguf_arr_i64(&types, (uint64_t)i)) : ATTR_NORMAL;

        const char *txt = t->text + e->off;
        uint64_t h = tok_hash_bytes(txt, e->len) & t->by_text.mask;
        for (;; h = (h + 1) & t->by_text.mask) {
            uint32_t v = t->by_text.slot[h];
            if (!v) {
                t->by_text.slot[h] = (uint32_t)i + 1;
                break;
            }
            const tok_entry *o = &t->tok[v - 1];
            if (o->len == e->len && memcmp(t->text + o->off, txt, e->len) == 0)
                return el_errf(err, errlen, "tokens %d and %d have the same text", (int)(v - 1),
                               (int)i);
        }
    }
    return 0;
}

static int load_merges(el_tok *t, const el_gguf *g, char *err, size_t errlen) {
    el_gguf_arr m;
    int r = el_gguf_get_arr(g, "tokenizer.ggml.merges", &m);
    if (r == -1) return el_errf(err, errlen, "missing tokenizer.ggml.merges");
    if (r != 0) return el_errf(err, errlen, "tokenizer.ggml.merges is not an array");
    if (m.elem_type != EL_GGUF_STRING)
        return el_errf(err, errlen, "tokenizer.ggml.merges is an array of %s, not of strings",
                       el_gguf_vtype_name(m.elem_type));
    if (m.n > (uint64_t)INT32_MAX - 1) return el_errf(err, errlen, "too many merges");
    int32_t n = (int32_t)m.n;
    t->merge_l = malloc(((size_t)n + 1) * sizeof(int32_t));
    t->merge_r = malloc(((size_t)n + 1) * sizeof(int32_t));
    t->merge_to = malloc(((size_t)n + 1) * sizeof(int32_t));
    char *buf = malloc((size_t)t->max_token_len * 2 + 2);
    if (!t->merge_l || !t->merge_r || !t->merge_to || !buf || hash_init(&t->by_pair, (uint64_t)n)) {
        free(buf);
        return el_errf(err, errlen, "out of memory");
    }
    t->n_merges = n; /* tok_merge_rank must see the table while it is being filled */
    for (int32_t i = 0; i < n; i++) {
        el_gstr s = el_gguf_arr_str(&m, (uint64_t)i);
        /* "left right", split at the first space after the first byte (llama.cpp's rule) */
        const char *sp = s.n > 1 ? memchr(s.s + 1, ' ', (size_t)s.n - 1) : NULL;
        if (!sp) {
            free(buf);
            return el_errf(err, errlen,
                           "merge %d (\"%.*s\") is not two tokens separated by a space", (int)i,
                           (int)EL_MIN(s.n, 40), s.s);
        }
        size_t ln = (size_t)(sp - s.s), rn = (size_t)s.n - ln - 1;
        int32_t l = tok_lookup(t, s.s, ln), rr = tok_lookup(t, sp + 1, rn);
        if (l < 0 || rr < 0) {
            free(buf);
            return el_errf(err, errlen, "merge %d (\"%.*s\") names a token not in the vocabulary",
                           (int)i, (int)EL_MIN(s.n, 40), s.s);
        }
        t->merge_l[i] = l;
        t->merge_r[i] = rr;
        memcpy(buf, s.s, ln);
        memcpy(buf + ln, sp + 1, rn);
        t->merge_to[i] = tok_lookup(t, buf, ln + rn);
        uint64_t key = ((uint64_t)(uint32_t)l << 32) | (uint32_t)rr;
        for (uint64_t h = mix64(key) & t->by_pair.mask;; h = (h + 1) & t->by_pair.mask) {
            uint32_t v = t->by_pair.slot[h];
            if (!v) {
                t->by_pair.slot[h] = (uint32_t)i + 1;
                break;
            }
            if (t->merge_l[v - 1] == l && t->merge_r[v - 1] == rr) break; /* first rank wins */
        }
    }
    free(buf);
    return 0;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* special-token order: longer text first, then smaller id (keys carry the length, so no
 * global is needed and loads may run in parallel) */
typedef struct spec_key {
    uint32_t len;
    int32_t id;
} spec_key;

static int cmp_special(const void *a, const void *b) {
    const spec_key *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int build_eog(el_tok *t, char *err, size_t errlen) {
    int32_t cand[64];
    int n = 0;
    int32_t fims[3] = {t->fim_pad, t->fim_rep, t->fim_sep};
    for (int i = 0; i < 3; i++)
        if (fims[i] >= 0) cand[n++] = fims[i];
    for (size_t i = 0; i < EL_ARRAY_LEN(EOG_TEXTS); i++) {
        int32_t k = lookup_cstr(t, EOG_TEXTS[i]);
        if (k >= 0) {
            cand[n++] = k;
            mark_control(t, k);
        }
    }
    /* gpt-oss: these render as text (llama.cpp's user-defined override) */
    static const char *const harmony_text[] = {"<|channel|>", "<|message|>", "<|start|>",
                                               "<|constrain|>"};
    for (size_t i = 0; i < EL_ARRAY_LEN(harmony_text); i++) {
        int32_t k = lookup_cstr(t, harmony_text[i]);
        if (k >= 0) t->tok[k].attr = ATTR_USER_DEFINED;
    }
    int32_t spec[3] = {t->eos, t->eot, t->eom};
    for (int i = 0; i < 3; i++)
        if (spec[i] >= 0) cand[n++] = spec[i];
    qsort(cand, (size_t)n, sizeof cand[0], cmp_i32);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (m == 0 || cand[m - 1] != cand[i]) cand[m++] = cand[i];
    /* o200k_harmony: with <|return|> and <|call|> ending generation, <|end|> does not */
    int32_t ret = lookup_cstr(t, "<|return|>"), call = lookup_cstr(t, "<|call|>"),
            end = lookup_cstr(t, "<|end|>");
    if (ret >= 0 && call >= 0 && end >= 0) {
        int k = 0;
        for (int i = 0; i < m; i++)
            if (cand[i] != end) cand[k++] = cand[i];
        if (k != m) t->tok[end].attr = ATTR_USER_DEFINED;
        m = k;
    }
    t->eog = malloc((size_t)(m ? m : 1) * sizeof(int32_t));
    if (!t->eog) return el_errf(err, errlen, "out of memory");
    memcpy(t->eog, cand, (size_t)m * sizeof(int32_t));
    t->n_eog = m;
    return 0;
}

static int trie_child(const el_tok *t, int32_t node, unsigned char c) {
    uint64_t key = ((uint64_t)(uint32_t)node << 8) | c;
    for (uint64_t h = mix64(key) & t->trie_mask;; h = (h + 1) & t->trie_mask) {
        if (t->trie_val[h] < 0) return -1;
        if (t->trie_key[h] == key) return t->trie_val[h];
    }
}

static int build_specials(el_tok *t, char *err, size_t errlen) {
    int32_t n = 0;
    uint64_t bytes = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->tok[i].attr & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) {
            n++;
            bytes += t->tok[i].len;
        }
    t->special = malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    if (!t->special) return el_errf(err, errlen, "out of memory");
    spec_key *keys = malloc((size_t)(n ? n : 1) * sizeof *keys);
    if (!keys) return el_errf(err, errlen, "out of memory");
    n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->tok[i].attr & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN))
            keys[n++] = (spec_key){t->tok[i].len, i};
    if (n) qsort(keys, (size_t)n, sizeof *keys, cmp_special);
    for (int32_t i = 0; i < n; i++)
        t->special[i] = keys[i].id;
    free(keys);
    t->n_special = n;

    /* trie: at most bytes + 1 nodes, bytes edges */
    if (bytes > (uint64_t)INT32_MAX / 4) return el_errf(err, errlen, "special tokens too large");
    uint64_t cap = 16;
    while (cap < bytes * 2 + 2)
        cap <<= 1;
    t->trie_tok = malloc((size_t)(bytes + 1) * sizeof(int32_t));
    t->trie_key = malloc((size_t)cap * sizeof(uint64_t));
    t->trie_val = malloc((size_t)cap * sizeof(int32_t));
    if (!t->trie_tok || !t->trie_key || !t->trie_val) return el_errf(err, errlen, "out of memory");
    memset(t->trie_val, 0xFF, (size_t)cap * sizeof(int32_t)); /* -1: empty */
    t->trie_mask = cap - 1;
    t->trie_n = 1;
    t->trie_tok[0] = -1;
    for (int32_t k = 0; k < n; k++) {
        const tok_entry *e = &t->tok[t->special[k]];
        const unsigned char *s = (const unsigned char *)t->text + e->off;
        int32_t node = 0;
        for (uint32_t j = 0; j < e->len; j++) {
            int32_t c = trie_child(t, node, s[j]);
            if (c < 0) {
                c = t->trie_n++;
                t->trie_tok[c] = -1;
                uint64_t key = ((uint64_t)(uint32_t)node << 8) | s[j];
                uint64_t h = mix64(key) & t->trie_mask;
                while (t->trie_val[h] >= 0)
                    h = (h + 1) & t->trie_mask;
                t->trie_key[h] = key;
                t->trie_val[h] = c;
            }
            node = c;
        }
        if (t->trie_tok[node] < 0) t->trie_tok[node] = k; /* texts are unique */
    }
    return 0;
}

static void lowercase_ascii(char *s) {
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z') *s = (char)(*s + 32);
}

/* llama.cpp's per-model strip attributes (phi-3 family, jina v2 / nomic-bert-moe masks). */
static void model_attrs(el_tok *t, const el_gguf *g) {
    char name[128] = "", arch[64] = "";
    el_gstr s;
    if (el_gguf_get_str(g, "general.name", &s) == 0)
        snprintf(name, sizeof name, "%.*s", (int)EL_MIN(s.n, sizeof name - 1), s.s);
    if (el_gguf_get_str(g, "general.architecture", &s) == 0)
        snprintf(arch, sizeof arch, "%.*s", (int)EL_MIN(s.n, sizeof arch - 1), s.s);
    lowercase_ascii(name);
    const char *pre = t->pre_name;
    if (strstr(pre, "jina-v2-de") || strstr(pre, "jina-v2-es") || strstr(pre, "jina-v2-code") ||
        strstr(arch, "nomic-bert-moe") || strstr(arch, "jina-bert-v3")) {
        int32_t k = lookup_cstr(t, "<mask>");
        if (k >= 0) t->tok[k].attr |= ATTR_LSTRIP;
    } else if (strstr(name, "phi-3") || strstr(name, "phi3")) {
        for (int i = 0; i < t->n_special; i++)
            t->tok[t->special[i]].attr |= ATTR_RSTRIP;
        int32_t k = lookup_cstr(t, "</s>");
        if (k >= 0) t->tok[k].attr |= ATTR_RSTRIP;
        static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
        for (size_t i = 0; i < EL_ARRAY_LEN(keep); i++) {
            k = lookup_cstr(t, keep[i]);
            if (k >= 0) t->tok[k].attr &= ~(uint32_t)ATTR_RSTRIP;
        }
    }
}

el_tok *el_tok_from_gguf(const el_gguf *g, char *err, size_t errlen) {
    if (!g) {
        el_errf(err, errlen, "no model file");
        return NULL;
    }
    el_tok *t = calloc(1, sizeof *t);
    if (!t) {
        el_errf(err, errlen, "out of memory");
        return NULL;
    }
    el_gstr model, pre = {"", 0};
    int r = el_gguf_get_str(g, "tokenizer.ggml.model", &model);
    if (r == -1) {
        el_errf(err, errlen, "missing tokenizer.ggml.model");
        goto fail;
    }
    if (r != 0) {
        el_errf(err, errlen, "tokenizer.ggml.model is not a string");
        goto fail;
    }
    r = el_gguf_get_str(g, "tokenizer.ggml.pre", &pre);
    if (r == -2) {
        el_errf(err, errlen, "tokenizer.ggml.pre is not a string");
        goto fail;
    }
    if (r == -1) pre.n = 0;
    snprintf(t->model, sizeof t->model, "%.*s", (int)EL_MIN(model.n, sizeof t->model - 1), model.s);
    snprintf(t->pre_name, sizeof t->pre_name, "%.*s", (int)EL_MIN(pre.n, sizeof t->pre_name - 1),
             pre.s);

    /* defaults per model type (llama.cpp's) */
    t->eot = t->eom = t->sep = t->pad = t->mask = -1;
    t->fim_pre = t->fim_suf = t->fim_mid = t->fim_pad = t->fim_rep = t->fim_sep = -1;
    if (model.n == 5 && memcmp(model.s, "llama", 5) == 0) {
        t->kind = KIND_SPM;
        t->bos = 1, t->eos = 2, t->unk = 0;
        t->add_space_prefix = true;
        t->add_bos = true;
    } else if (model.n == 4 && memcmp(model.s, "bert", 4) == 0) {
        t->kind = KIND_WPM;
        t->bos = 101, t->eos = -1, t->unk = 100, t->sep = 102, t->pad = 0, t->mask = 103;
        t->add_sep = true;
        t->add_bos = true;
        t->clean_spaces = true;
    } else if (model.n == 4 && memcmp(model.s, "gpt2", 4) == 0) {
        t->kind = KIND_BPE;
        t->bos = 11, t->eos = 11, t->unk = -1;
        t->clean_spaces = true;
        t->pre = PRE_DEFAULT;
        if (pre.n == 0) {
            el_log(EL_LOG_WARN, "tokenizer: no tokenizer.ggml.pre, using the default "
                                "pre-tokenizer (quality may suffer)");
        } else {
            const pre_name *p = NULL;
            for (size_t i = 0; i < EL_ARRAY_LEN(PRE_NAMES); i++)
                if (strlen(PRE_NAMES[i].name) == pre.n &&
                    memcmp(PRE_NAMES[i].name, pre.s, (size_t)pre.n) == 0)
                    p = &PRE_NAMES[i];
            if (!p) {
                el_errf(err, errlen, "unsupported pre-tokenizer '%s'", t->pre_name);
                goto fail;
            }
            t->pre = p->pre;
            if (p->clean >= 0) t->clean_spaces = p->clean;
            if (p->llama3_extras) t->ignore_merges = t->add_bos = true;
            if (p->add_sep) t->add_sep = true;
            if (p->no_bos) t->bos = -1;
        }
    } else {
        el_errf(err, errlen, "unsupported tokenizer model '%s'", t->model);
        goto fail;
    }
    if (get_flag(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix, err, errlen))
        goto fail;

    if (load_tokens(t, g, err, errlen)) goto fail;
    if (t->kind == KIND_BPE && load_merges(t, g, err, errlen)) goto fail;

    /* byte fallback / byte-level alphabet */
    for (int b = 0; b < 256; b++) {
        t->byte_tok[b] = -1;
        if (t->kind == KIND_SPM) {
            char hex[8];
            snprintf(hex, sizeof hex, "<0x%02X>", b);
            t->byte_tok[b] = lookup_cstr(t, hex);
            if (t->byte_tok[b] < 0) {
                char one = (char)b;
                t->byte_tok[b] = tok_lookup(t, &one, 1);
            }
        } else if (t->kind == KIND_BPE) {
            char u[4];
            int k = el_utf8_encode(el_bytelevel_cpt((uint8_t)b), u);
            t->byte_tok[b] = tok_lookup(t, u, (size_t)k);
        }
    }

    /* defaults that fall outside this vocabulary mean "none" */
    int32_t *ids[] = {&t->bos, &t->eos, &t->unk, &t->sep, &t->pad, &t->mask};
    for (size_t i = 0; i < EL_ARRAY_LEN(ids); i++)
        if (*ids[i] >= t->n_vocab) *ids[i] = -1;

    static const struct {
        const char *key;
        size_t off;
        bool strict;
    } id_keys[] = {
        {"tokenizer.ggml.bos_token_id", offsetof(el_tok, bos), true},
        {"tokenizer.ggml.eos_token_id", offsetof(el_tok, eos), true},
        {"tokenizer.ggml.eot_token_id", offsetof(el_tok, eot), true},
        {"tokenizer.ggml.eom_token_id", offsetof(el_tok, eom), true},
        {"tokenizer.ggml.unknown_token_id", offsetof(el_tok, unk), true},
        {"tokenizer.ggml.seperator_token_id", offsetof(el_tok, sep), false},
        {"tokenizer.ggml.padding_token_id", offsetof(el_tok, pad), false},
        {"tokenizer.ggml.mask_token_id", offsetof(el_tok, mask), false},
        {"tokenizer.ggml.fim_pre_token_id", offsetof(el_tok, fim_pre), false},
        {"tokenizer.ggml.fim_suf_token_id", offsetof(el_tok, fim_suf), false},
        {"tokenizer.ggml.fim_mid_token_id", offsetof(el_tok, fim_mid), false},
        {"tokenizer.ggml.fim_pad_token_id", offsetof(el_tok, fim_pad), false},
        {"tokenizer.ggml.fim_rep_token_id", offsetof(el_tok, fim_rep), false},
        {"tokenizer.ggml.fim_sep_token_id", offsetof(el_tok, fim_sep), false},
        {"tokenizer.ggml.prefix_token_id", offsetof(el_tok, fim_pre), false},
        {"tokenizer.ggml.suffix_token_id", offsetof(el_tok, fim_suf), false},
        {"tokenizer.ggml.middle_token_id", offsetof(el_tok, fim_mid), false},
    };
    for (size_t i = 0; i < EL_ARRAY_LEN(id_keys); i++)
        if (get_id(t, g, id_keys[i].key, (int32_t *)((char *)t + id_keys[i].off), id_keys[i].strict,
                   err, errlen))
            goto fail;
    if (get_flag(g, "tokenizer.ggml.add_bos_token", &t->add_bos, err, errlen) ||
        get_flag(g, "tokenizer.ggml.add_eos_token", &t->add_eos, err, errlen) ||
        get_flag(g, "tokenizer.ggml.add_sep_token", &t->add_sep, err, errlen))
        goto fail;

    detect_by_text(t, &t->eot, EOT_TEXTS, EL_ARRAY_LEN(EOT_TEXTS));
    static const char *const eom_texts[] = {"<|eom_id|>"};
    detect_by_text(t, &t->eom, eom_texts, 1);
    detect_by_text(t, &t->fim_pre, FIM_PRE_TEXTS, EL_ARRAY_LEN(FIM_PRE_TEXTS));
    detect_by_text(t, &t->fim_suf, FIM_SUF_TEXTS, EL_ARRAY_LEN(FIM_SUF_TEXTS));
    detect_by_text(t, &t->fim_mid, FIM_MID_TEXTS, EL_ARRAY_LEN(FIM_MID_TEXTS));
    detect_by_text(t, &t->fim_pad, FIM_PAD_TEXTS, EL_ARRAY_LEN(FIM_PAD_TEXTS));
    detect_by_text(t, &t->fim_rep, FIM_REP_TEXTS, EL_ARRAY_LEN(FIM_REP_TEXTS));
    detect_by_text(t, &t->fim_sep, FIM_SEP_TEXTS, EL_ARRAY_LEN(FIM_SEP_TEXTS));

    if (build_eog(t, err, errlen)) goto fail;
    if (build_specials(t, err, errlen)) goto fail;
    model_attrs(t, g);
    for (int32_t i = 0; i < t->n_vocab; i++) {
        int k = el_tok_piece(t, i, true, NULL, 0);
        if (k > t->max_piece) t->max_piece = k;
    }
    return t;
fail:
    el_tok_free(t);
    return NULL;
}

void el_tok_free(el_tok *t) {
    if (!t) return;
    free(t->tok);
    free(t->text);
    free(t->by_text.slot);
    free(t->merge_l);
    free(t->merge_r);
    free(t->merge_to);
    free(t->by_pair.slot);
    free(t->eog);
    free(t->special);
    free(t->trie_tok);
    free(t->trie_key);
    free(t->trie_val);
    free(t);
}

/* ---- accessors ---- */

int32_t el_tok_n_vocab(const el_tok *t) {
    return t->n_vocab;
}
int el_tok_max_piece(const el_tok *t) {
    return t->max_piece;
}
const char *el_tok_model_name(const el_tok *t) {
    return t->model;
}
const char *el_tok_pre_name(const el_tok *t) {
    return t->pre_name;
}
int32_t el_tok_bos(const el_tok *t) {
    return t->bos;
}
int32_t el_tok_eos(const el_tok *t) {
    return t->eos;
}
int32_t el_tok_eot(const el_tok *t) {
    return t->eot;
}
int32_t el_tok_unk(const el_tok *t) {
    return t->unk;
}
int32_t el_tok_sep(const el_tok *t) {
    return t->sep;
}
int32_t el_tok_pad(const el_tok *t) {
    return t->pad;
}
bool el_tok_add_bos(const el_tok *t) {
    return t->add_bos && t->bos >= 0;
}
bool el_tok_add_eos(const el_tok *t) {
    return t->add_eos && t->eos >= 0;
}

bool el_tok_is_eog(const el_tok *t, int32_t id) {
    if (id < 0) return false;
    int lo = 0, hi = t->n_eog;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (t->eog[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n_eog && t->eog[lo] == id;
}

int el_tok_type(const el_tok *t, int32_t id) {
    if (id < 0 || id >= t->n_vocab) return -1;
    uint32_t a = t->tok[id].attr;
    if (a & ATTR_CONTROL) return EL_TOK_TYPE_CONTROL;
    if (a & ATTR_USER_DEFINED) return EL_TOK_TYPE_USER_DEFINED;
    if (a & ATTR_UNKNOWN) return EL_TOK_TYPE_UNKNOWN;
    if (a & ATTR_BYTE) return EL_TOK_TYPE_BYTE;
    if (a & ATTR_UNUSED) return EL_TOK_TYPE_UNUSED;
    if (a & ATTR_NORMAL) return EL_TOK_TYPE_NORMAL;
    return EL_TOK_TYPE_UNDEFINED;
}

const char *el_tok_text(const el_tok *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->n_vocab) return NULL;
    if (len) *len = t->tok[id].len;
    return t->text + t->tok[id].off;
}

int32_t el_tok_find(const el_tok *t, const char *text, size_t len) {
    return text ? tok_lookup(t, text, len) : -1;
}

/* ---- special-token partition ---- */

/* A piece of the input: raw text [off, off+len) or a special token matched there. */
typedef struct frag {
    size_t off, len;
    int32_t tok; /* -1: raw text */
    int32_t next;
} frag;

typedef struct frag_list {
    frag *f;
    int32_t n, cap, head;
} frag_list;

static int32_t frag_new(frag_list *L, size_t off, size_t len, int32_t tok) {
    if (L->n == L->cap) {
        int32_t nc = L->cap ? L->cap * 2 : 16;
        if (nc < 0 || (size_t)nc > SIZE_MAX / sizeof(frag)) return -1;
        frag *p = realloc(L->f, (size_t)nc * sizeof(frag));
        if (!p) return -1;
        L->f = p;
        L->cap = nc;
    }
    L->f[L->n] = (frag){off, len, tok, -1};
    return L->n++;
}

static bool special_usable(const el_tok *t, int32_t id, bool parse_special) {
    /* control and unknown tokens only match when parse_special; user-defined always do */
    return parse_special || !(t->tok[id].attr & (ATTR_CONTROL | ATTR_UNKNOWN));
}

/* Splits text into raw fragments and special tokens, like llama.cpp's
 * tokenizer_st_partition: special tokens in priority order, each one cutting every raw
 * fragment at all its non-overlapping occurrences, left to right. One trie pass first finds
 * which special texts occur at all, so only those are searched for. -1 out of memory. */
static int partition(const el_tok *t, const char *text, size_t len, bool parse_special,
                     frag_list *L) {
    L->head = frag_new(L, 0, len, -1);
    if (L->head < 0) return -1;
    bool any = false;
    for (int i = 0; i < t->n_special && !any; i++)
        any = special_usable(t, t->special[i], parse_special);
    if (!any) return 0;

    uint8_t *present = calloc((size_t)t->n_special, 1);
    if (!present) return -1;
    const unsigned char *u = (const unsigned char *)text;
    for (size_t i = 0; i < len; i++) {
        int32_t node = 0;
        for (size_t j = i; j < len; j++) {
            node = trie_child(t, node, u[j]);
            if (node < 0) break;
            if (t->trie_tok[node] >= 0) present[t->trie_tok[node]] = 1;
        }
    }

    for (int32_t r = 0; r < t->n_special; r++) {
        int32_t id = t->special[r];
        if (!present[r] || !special_usable(t, id, parse_special)) continue;
        const tok_entry *e = &t->tok[id];
        const char *needle = t->text + e->off;
        for (int32_t prev = -1, cur = L->head; cur >= 0;) {
            frag f = L->f[cur]; /* a copy: frag_new may move the array */
            const char *m = f.tok < 0 ? memmem(text + f.off, f.len, needle, e->len) : NULL;
            if (!m) {
                prev = cur;
                cur = f.next;
                continue;
            }
            size_t p = (size_t)(m - text), q = p + e->len, f_end = f.off + f.len;
            size_t left_len = p - f.off;
            if (e->attr & ATTR_LSTRIP)
                while (left_len > 0 && is_ascii_space(text[f.off + left_len - 1]))
                    left_len--;
            size_t r_off = q;
            if (e->attr & ATTR_RSTRIP)
                while (r_off < f_end && is_ascii_space(text[r_off]))
                    r_off++;
            /* [left] token [right]; the node is reused for the left part */
            int32_t tk = frag_new(L, p, e->len, id);
            int32_t rt = r_off < f_end ? frag_new(L, r_off, f_end - r_off, -1) : -2;
            if (tk < 0 || rt == -1) {
                free(present);
                return -1;
            }
            if (left_len > 0) {
                L->f[cur].len = left_len;
                L->f[cur].next = tk;
            } else if (prev >= 0) {
                L->f[prev].next = tk;
            } else {
                L->head = tk;
            }
            L->f[tk].next = rt >= 0 ? rt : f.next;
            if (rt >= 0) L->f[rt].next = f.next;
            prev = tk;
            cur = rt >= 0 ? rt : f.next; /* go on searching the right part */
        }
    }
    free(present);
    return 0;
}

/* ---- encode ---- */

int el_tok_encode(const el_tok *t, const char *text, size_t len, bool add_special,
                  bool parse_special, int32_t *out, int cap) {
    if (!t || (!text && len)) return -1;
    tok_vec v = {0};
    frag_list L = {0};
    int rc = 0;
    if (len && partition(t, text, len, parse_special, &L)) {
        rc = -1;
        goto done;
    }
    if (add_special) {
        bool bos = t->kind == KIND_WPM ? true : t->add_bos;
        if (bos && t->bos >= 0) tok_vec_push(&v, t->bos);
    }
    bool prev_special = true; /* SPM: a leading space before the first text and after specials */
    for (int32_t i = len ? L.head : -1; i >= 0 && rc == 0; i = L.f[i].next) {
        const frag *f = &L.f[i];
        if (f->tok >= 0) {
            tok_vec_push(&v, f->tok);
            prev_special = true;
            continue;
        }
        const char *s = text + f->off;
        switch (t->kind) {
        case KIND_SPM:
            if (t->add_space_prefix && prev_special) {
                /* prepend one space: the SPM encoder takes the text in one piece */
                char *buf = malloc(f->len + 1);
                if (!buf) {
                    rc = -1;
                    break;
                }
                buf[0] = ' ';
                memcpy(buf + 1, s, f->len);
                rc = tok_spm_encode(t, buf, f->len + 1, &v);
                free(buf);
            } else {
                rc = tok_spm_encode(t, s, f->len, &v);
            }
            break;
        case KIND_BPE:
            rc = tok_bpe_encode(t, s, f->len, &v);
            break;
        case KIND_WPM:
            rc = tok_wpm_encode(t, s, f->len, &v);
            break;
        }
        prev_special = false;
    }
    if (rc == 0 && add_special) {
        if (t->kind == KIND_WPM) {
            if (t->sep >= 0) tok_vec_push(&v, t->sep);
        } else if (t->add_eos && t->eos >= 0) {
            tok_vec_push(&v, t->eos);
        }
    }
done:
    free(L.f);
    if (rc || v.oom || v.n > (size_t)INT32_MAX) {
        free(v.v);
        return -1;
    }
    if (out && cap > 0 && v.n) memcpy(out, v.v, EL_MIN(v.n, (size_t)cap) * sizeof(int32_t));
    free(v.v);
    return (int)v.n;
}

/* ---- pieces ---- */

/* A bounded writer: counts every byte, stores the first cap. */
typedef struct bw {
    char *buf;
    size_t cap, n;
} bw;

static void bw_put(bw *w, const char *s, size_t n) {
    if (w->n < w->cap) memcpy(w->buf + w->n, s, EL_MIN(n, w->cap - w->n));
    w->n += n;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Writes s[0..n), first dropping leading spaces while *skip > 0 (llama.cpp's lstrip); once
 * anything is written, no more stripping. */
static void put_strip(bw *w, const char *s, size_t n, int *skip) {
    while (*skip > 0 && n && *s == ' ') {
        s++;
        n--;
        (*skip)--;
    }
    if (n) *skip = 0;
    bw_put(w, s, n);
}

/* llama.cpp's token_to_piece: lstrip drops up to that many leading spaces. */
static void piece(const el_tok *t, int32_t id, bool special, int lstrip, bw *w) {
    const tok_entry *e = &t->tok[id];
    uint32_t a = e->attr;
    if (!special && (a & (ATTR_UNKNOWN | ATTR_CONTROL))) return;
    const char *s = t->text + e->off;
    size_t n = e->len;
    int skip = lstrip;
    if (a & (ATTR_UNKNOWN | ATTR_CONTROL | ATTR_USER_DEFINED)) {
        put_strip(w, s, n, &skip);
        return;
    }
    if (t->kind == KIND_SPM || t->kind == KIND_WPM) {
        if (a & ATTR_NORMAL) { /* "\u2581" -> " " */
            size_t run = 0;    /* bytes copied verbatim since the last escape */
            for (size_t i = 0; i < n;) {
                if (i + 3 <= n && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
                    put_strip(w, s + i - run, run, &skip);
                    put_strip(w, " ", 1, &skip);
                    run = 0;
                    i += 3;
                } else {
                    run++;
                    i++;
                }
            }
            put_strip(w, s + n - run, run, &skip);
            return;
        }
        if (a & ATTR_BYTE) { /* "<0xXX>" */
            int hi = n >= 6 ? hexval(s[3]) : -1, lo = n >= 6 ? hexval(s[4]) : -1;
            char byte = (char)(hi >= 0 && lo >= 0 ? hi * 16 + lo : 0);
            put_strip(w, &byte, 1, &skip);
        }
        return;
    }
    if (t->kind == KIND_BPE && (a & ATTR_NORMAL)) { /* byte-level characters -> bytes */
        for (size_t i = 0; i < n;) {
            size_t adv;
            uint32_t c = el_utf8_decode(s + i, n - i, &adv);
            int b = el_bytelevel_byte(c);
            if (b >= 0) {
                char ch = (char)b;
                put_strip(w, &ch, 1, &skip);
            } else { /* llama.cpp's marker for a character outside the alphabet */
                char u[4], hx[4];
                int k = el_utf8_encode(c, u);
                put_strip(w, "[UNK_BYTE_0x", 12, &skip);
                for (int j = 0; j < k; j++) {
                    snprintf(hx, sizeof hx, "%02x", (unsigned char)u[j]);
                    bw_put(w, hx, 2);
                }
                bw_put(w, s, n);
                bw_put(w, "]", 1);
            }
            i += adv;
        }
    }
}

int el_tok_piece(const el_tok *t, int32_t id, bool special, char *buf, int cap) {
    if (!t || id < 0 || id >= t->n_vocab) return -1;
    bw w = {buf, buf && cap > 0 ? (size_t)cap : 0, 0};
    piece(t, id, special, 0, &w);
    return w.n > (size_t)INT32_MAX ? -1 : (int)w.n;
}

/* llama.cpp's clean_up_tokenization_spaces passes, in place; returns the new length */
static size_t clean_spaces(char *s, size_t total) {
    /* 1: " ?", " !", " .", " ," lose the space */
    size_t n = total;
    size_t o = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (s[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) o--;
        s[o++] = x;
    }
    /* 2: a lone apostrophe between spaces: " ' " -> "'" */
    n = o;
    o = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (x == '\'' && i + 1 < n && s[i - 1] == ' ' && s[i + 1] == ' ') {
            o--;
            s[++i] = 0; /* the space after is skipped (and no longer reads as a space) */
        }
        s[o++] = x;
    }
    /* 3: " 's", " 'm", " 're", " 've" lose the space (" 't", " 'd", " 'll" keep it) */
    n = o;
    o = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (s[i - 1] == ' ' && x == '\'' && i + 1 < n) {
            char x1 = s[i + 1];
            if (x1 == 's' || x1 == 'm')
                o--;
            else if (x1 != 't' && x1 != 'd' && i + 2 < n) {
                char x2 = s[i + 2];
                if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) o--;
            }
        }
        s[o++] = x;
    }
    return o;
}

int el_tok_decode(const el_tok *t, const int32_t *ids, int n, bool remove_special,
                  bool unparse_special, char *out, int cap) {
    if (!t || n < 0 || (!ids && n)) return -1;
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= t->n_vocab) return -1;
    bool remove_space = t->add_space_prefix;
    if (remove_special && t->add_bos && n > 0 && ids[0] == t->bos) {
        remove_space = false;
        ids++;
        n--;
    }
    if (remove_special && t->add_eos && n > 0 && ids[n - 1] == t->eos) n--;
    /* measure, then render into a scratch buffer (the cleanup needs the whole text) */
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        bw m = {NULL, 0, 0};
        piece(t, ids[i], unparse_special, i == 0 && remove_space, &m);
        total += m.n;
    }
    char *s = malloc(total + 1);
    if (!s) return -1;
    bw w = {s, total, 0};
    for (int i = 0; i < n; i++)
        piece(t, ids[i], unparse_special, i == 0 && remove_space, &w);
    if (t->clean_spaces) total = clean_spaces(s, total);
    if (out && cap > 0) memcpy(out, s, EL_MIN(total, (size_t)cap));
    free(s);
    return total > (size_t)INT32_MAX ? -1 : (int)total;
}

/* ---- streaming ---- */

void el_tok_stream_init(el_tok_stream *s, const el_tok *t) {
    memset(s, 0, sizeof *s);
    s->tok = t;
}

/* Length of the valid prefix of a UTF-8 sequence at u[0..n): returns the full sequence
 * length when complete and valid, 0 when u[0..n) is a valid but unfinished prefix, or -k
 * when the first k bytes are a maximal invalid subpart (k >= 1). */
static int utf8_scan(const unsigned char *u, size_t n) {
    unsigned c = u[0];
    if (c < 0x80) return 1;
    int len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return -1;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n) return 0;
        unsigned b = u[i];
        bool ok = i == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
        if (!ok) return -i;
    }
    return len;
}

/* Emits the complete part of bytes[0..n) into w; returns how many trailing bytes form an
 * unfinished sequence (0 when flushing: those become U+FFFD too). */
static size_t stream_emit(const unsigned char *b, size_t n, bool flush, bw *w) {
    size_t i = 0;
    while (i < n) {
        int k = utf8_scan(b + i, n - i);
        if (k > 0) {
            bw_put(w, (const char *)b + i, (size_t)k);
            i += (size_t)k;
        } else if (k == 0) {
            if (!flush) return n - i;
            bw_put(w, "\xef\xbf\xbd", 3);
            return 0;
        } else {
            bw_put(w, "\xef\xbf\xbd", 3);
            i += (size_t)-k;
        }
    }
    return 0;
}

int el_tok_stream_push(el_tok_stream *s, int32_t id, bool special, char *out, int cap) {
    const el_tok *t = s->tok;
    if (!t || id < 0 || id >= t->n_vocab) return -1;
    bw m = {NULL, 0, 0};
    piece(t, id, special, 0, &m);
    size_t n = (size_t)s->n_pend + m.n;
    unsigned char stack[512];
    unsigned char *b = n <= sizeof stack ? stack : malloc(n);
    if (!b) return -1;
    memcpy(b, s->pend, (size_t)s->n_pend);
    bw pw = {(char *)b + s->n_pend, m.n, 0};
    piece(t, id, special, 0, &pw);
    bw cnt = {NULL, 0, 0};
    size_t keep = stream_emit(b, n, false, &cnt);
    int rc;
    if (cnt.n > (size_t)INT32_MAX) {
        rc = -1;
    } else if (!out || cnt.n > (size_t)(cap > 0 ? cap : 0)) {
        rc = cnt.n ? (int)cnt.n : 0; /* does not fit: state unchanged */
        if (cnt.n == 0) {            /* nothing to write: commit the held bytes */
            memcpy(s->pend, b + n - keep, keep);
            s->n_pend = (int)keep;
        }
    } else {
        bw w = {out, (size_t)cap, 0};
        stream_emit(b, n, false, &w);
        memcpy(s->pend, b + n - keep, keep);
        s->n_pend = (int)keep;
        rc = (int)w.n;
    }
    if (b != stack) free(b);
    return rc;
}

int el_tok_stream_flush(el_tok_stream *s, char *out, int cap) {
    bw cnt = {NULL, 0, 0};
    stream_emit(s->pend, (size_t)s->n_pend, true, &cnt);
    if (cnt.n == 0) {
        s->n_pend = 0;
        return 0;
    }
    if (!out || cnt.n > (size_t)(cap > 0 ? cap : 0)) return (int)cnt.n;
    bw w = {out, (size_t)cap, 0};
    stream_emit(s->pend, (size_t)s->n_pend, true, &w);
    s->n_pend = 0;
    return (int)w.n;
}
