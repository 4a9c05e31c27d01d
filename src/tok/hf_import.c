/* tok/hf_import.c — Hugging Face tokenizer.json (+ tokenizer_config.json) -> GGUF
 * tokenizer.* keys, the way llama.cpp's convert_hf_to_gguf.py writes them for a byte-level
 * BPE model (its get_vocab_base + gguf.SpecialVocab path). Used by tests (a real Qwen3
 * vocabulary) and by `edgellm synth` (models with real vocabularies).
 *
 * What is reproduced: token list by id (holes become "[PAD<i>]", type UNUSED), token types
 * (added tokens: CONTROL when "special" or looking special like <|...|>, else USER_DEFINED
 * with U+2581 turned into spaces; the rest NORMAL), merges as "a b" strings (pair-form
 * merges joined, spaces inside parts encoded as U+0120), tokenizer.ggml.pre chosen from the
 * pre-tokenizer's Split regex (convert_hf_to_gguf hashes a test encoding instead; the regex
 * names the same family for the tokenizers we know), special ids and add_* flags from
 * tokenizer_config.json and the post-processor (RobertaProcessing; TemplateProcessing's
 * single-sequence template), and the chat template.
 * Not reproduced: re-normalising added tokens through the HF tokenizer (identity for the
 * byte-level tokenizers handled here), config.json's *_token_id fallbacks, the EOM and
 * add_sep guesses from TemplateProcessing's pair template, SentencePiece / WordPiece
 * tokenizer.json files (rejected with a message).
 *
 * Memory: the JSON trees and a few arrays of n_vocab entries, all freed before returning;
 * the writer copies what it is given.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "gguf/gguf.h"
#include "tok/tok.h"

#define MAX_IMPORT_VOCAB (1 << 24) /* 16M ids: far above any real vocabulary */

enum { T_NORMAL = 1, T_CONTROL = 3, T_USER_DEFINED = 4, T_UNUSED = 5 };

static cJSON *read_json(const char *path, const char *what, char *err, size_t errlen) {
    el_mapped m;
    char e2[256];
    if (el_map_file(path, &m, e2, sizeof e2)) {
        el_errf(err, errlen, "%s: %s", what, e2);
        return NULL;
    }
    const char *end = NULL;
    cJSON *j = m.size ? cJSON_ParseWithLengthOpts((const char *)m.data, m.size, &end, 0) : NULL;
    if (!j)
        el_errf(err, errlen, "%s: invalid JSON near byte %lld", what,
                end && m.data ? (long long)(end - (const char *)m.data) : 0LL);
    el_unmap_file(&m);
    return j;
}

static const char *jstr(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* a special-token entry of tokenizer_config.json: "text" or {"content": "text"} */
static const char *token_content(const cJSON *cfg, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (cJSON_IsString(v)) return v->valuestring;
    if (cJSON_IsObject(v)) return jstr(v, "content");
    return NULL;
}

static bool starts_ends(const char *s, const char *a, const char *b) {
    size_t n = strlen(s), na = strlen(a), nb = strlen(b);
    return n >= na + nb && memcmp(s, a, na) == 0 && memcmp(s + n - nb, b, nb) == 0;
}

/* convert_hf_to_gguf's does_token_look_special */
static bool looks_special(const char *s) {
    return !strcmp(s, "<pad>") || !strcmp(s, "<mask>") || !strcmp(s, "<2mass>") ||
           !strcmp(s, "[@BOS@]") || starts_ends(s, "<|", "|>") ||
           starts_ends(s, "<\xef\xbd\x9c", "\xef\xbd\x9c>") || starts_ends(s, "<unused", ">");
}

/* the Split regex of the pre-tokenizer (searched through Sequence), or NULL */
static const char *split_regex(const cJSON *pt) {
    if (!cJSON_IsObject(pt)) return NULL;
    const char *type = jstr(pt, "type");
    if (type && !strcmp(type, "Split")) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(pt, "pattern");
        return cJSON_IsObject(pat) ? jstr(pat, "Regex") : NULL;
    }
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(pt, "pretokenizers");
    const cJSON *it;
    cJSON_ArrayForEach(it, seq) {
        const char *r = split_regex(it);
        if (r) return r;
    }
    return NULL;
}

/* whether a ByteLevel step is present (and whether it splits with GPT-2's regex) */
static bool has_bytelevel(const cJSON *pt, bool *use_regex) {
    if (!cJSON_IsObject(pt)) return false;
    const char *type = jstr(pt, "type");
    if (type && !strcmp(type, "ByteLevel")) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(pt, "use_regex");
        *use_regex = !cJSON_IsBool(u) || cJSON_IsTrue(u); /* HF's default is true */
        return true;
    }
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(pt, "pretokenizers");
    const cJSON *it;
    cJSON_ArrayForEach(it, seq) if (has_bytelevel(it, use_regex)) return true;
    return false;
}

static const struct {
    const char *regex;
    const char *pre;
} KNOWN_SPLITS[] = {
    {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
     "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     "qwen2"},
    {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
     "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
     "llama-bpe"},
    {"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", "gpt-2"},
};

/* one merge "a b"; pair form ["a", "b"] is joined with spaces in parts written as U+0120 */
static char *merge_text(const cJSON *m) {
    if (cJSON_IsString(m)) return strdup(m->valuestring);
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2) return NULL;
    const cJSON *a = cJSON_GetArrayItem(m, 0), *b = cJSON_GetArrayItem(m, 1);
    if (!cJSON_IsString(a) || !cJSON_IsString(b)) return NULL;
    size_t na = strlen(a->valuestring), nb = strlen(b->valuestring);
    char *s = malloc(2 * (na + nb) + 2); /* ' ' (1 byte) -> U+0120 (2 bytes) */
    if (!s) return NULL;
    size_t o = 0;
    for (int part = 0; part < 2; part++) {
        const char *p = part ? b->valuestring : a->valuestring;
        if (part) s[o++] = ' ';
        for (; *p; p++) {
            if (*p == ' ') {
                s[o++] = (char)0xC4;
                s[o++] = (char)0xA0;
            } else {
                s[o++] = *p;
            }
        }
    }
    s[o] = 0;
    return s;
}

typedef struct added {
    const char *content;
    int64_t id;
    bool special;
} added;

int el_tok_hf_import_ex(const char *tokenizer_json, const char *tokenizer_config_json_or_NULL,
                        int64_t n_vocab, el_gguf_writer *w, char *err, size_t errlen) {
    int rc = -1;
    cJSON *tj = NULL, *cfg = NULL;
    const char **texts = NULL;
    char **owned = NULL; /* "[PAD<i>]" names and rewritten user-defined tokens */
    int32_t *types = NULL;
    char **merges = NULL;
    added *add = NULL;
    int64_t n = 0, n_merges = 0, n_add = 0;
    if (!tokenizer_json || !w) return el_errf(err, errlen, "hf import: missing argument");

    tj = read_json(tokenizer_json, "tokenizer.json", err, errlen);
    if (!tj) goto done;
    if (tokenizer_config_json_or_NULL) {
        cfg = read_json(tokenizer_config_json_or_NULL, "tokenizer_config.json", err, errlen);
        if (!cfg) goto done;
        if (!cJSON_IsObject(cfg)) {
            el_errf(err, errlen, "tokenizer_config.json: not a JSON object");
            goto done;
        }
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(tj, "model");
    const char *mtype = cJSON_IsObject(model) ? jstr(model, "type") : NULL;
    if (!mtype || strcmp(mtype, "BPE") != 0) {
        el_errf(err, errlen, "tokenizer.json: model type %s is not supported (BPE only)",
                mtype ? mtype : "(missing)");
        goto done;
    }
    bool use_regex = false;
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(tj, "pre_tokenizer");
    if (!has_bytelevel(pt, &use_regex)) {
        el_errf(err, errlen,
                "tokenizer.json: not a byte-level BPE tokenizer "
                "(SentencePiece-style tokenizers are not supported)");
        goto done;
    }
    const char *pre = NULL;
    const char *rx = split_regex(pt);
    if (rx) {
        for (size_t i = 0; i < EL_ARRAY_LEN(KNOWN_SPLITS); i++)
            if (!strcmp(rx, KNOWN_SPLITS[i].regex)) pre = KNOWN_SPLITS[i].pre;
    } else if (use_regex) {
        pre = "gpt-2"; /* ByteLevel's own split is GPT-2's pattern */
    }
    if (!pre) {
        el_errf(err, errlen, "tokenizer.json: unrecognised pre-tokenizer%s%.60s%s",
                rx ? " regex \"" : "", rx ? rx : "", rx ? "\"" : "");
        goto done;
    }

    /* ids: the vocabulary, then the added tokens on top */
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsObject(vocab)) {
        el_errf(err, errlen, "tokenizer.json: model.vocab is not an object");
        goto done;
    }
    const cJSON *added_arr = cJSON_GetObjectItemCaseSensitive(tj, "added_tokens");
    int64_t max_id = -1;
    const cJSON *it;
    cJSON_ArrayForEach(it, vocab) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= MAX_IMPORT_VOCAB ||
            it->valuedouble != (double)(int64_t)it->valuedouble) {
            el_errf(err, errlen, "tokenizer.json: bad id for token \"%.40s\"", it->string);
            goto done;
        }
        if ((int64_t)it->valuedouble > max_id) max_id = (int64_t)it->valuedouble;
    }
    n_add = cJSON_IsArray(added_arr) ? cJSON_GetArraySize(added_arr) : 0;
    add = calloc((size_t)(n_add ? n_add : 1), sizeof *add);
    if (!add) goto oom;
    int64_t k = 0;
    cJSON_ArrayForEach(it, added_arr) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        const char *content = jstr(it, "content");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= MAX_IMPORT_VOCAB ||
            !content) {
            el_errf(err, errlen, "tokenizer.json: added token %lld has no valid id/content",
                    (long long)k);
            goto done;
        }
        add[k].content = content;
        add[k].id = (int64_t)id->valuedouble;
        add[k].special = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "special"));
        if (add[k].id > max_id) max_id = add[k].id;
        k++;
    }
    n = max_id + 1;
    if (n_vocab > n) {
        if (n_vocab > MAX_IMPORT_VOCAB) {
            el_errf(err, errlen, "hf import: n_vocab %lld too large", (long long)n_vocab);
            goto done;
        }
        n = n_vocab;
    }
    if (n <= 0) {
        el_errf(err, errlen, "tokenizer.json: empty vocabulary");
        goto done;
    }
    texts = calloc((size_t)n, sizeof *texts);
    owned = calloc((size_t)n, sizeof *owned);
    types = calloc((size_t)n, sizeof *types);
    if (!texts || !owned || !types) goto oom;
    cJSON_ArrayForEach(it, vocab) {
        int64_t id = (int64_t)it->valuedouble;
        if (texts[id]) {
            el_errf(err, errlen, "tokenizer.json: id %lld is used by two tokens", (long long)id);
            goto done;
        }
        texts[id] = it->string;
        types[id] = T_NORMAL;
    }
    for (int64_t i = 0; i < n_add; i++)
        texts[add[i].id] = add[i].content;
    for (int64_t id = 0; id < n; id++) {
        if (!texts[id]) {
            owned[id] = malloc(32);
            if (!owned[id]) goto oom;
            snprintf(owned[id], 32, "[PAD%lld]", (long long)id);
            texts[id] = owned[id];
            types[id] = T_UNUSED;
            continue;
        }
        const added *a = NULL; /* convert_hf_to_gguf tests "token in added_vocab" by text */
        for (int64_t i = 0; i < n_add && !a; i++)
            if (add[i].content[0] == texts[id][0] && !strcmp(add[i].content, texts[id]))
                a = &add[i];
        if (!a) {
            types[id] = T_NORMAL;
        } else if (a->special || looks_special(texts[id])) {
            types[id] = T_CONTROL;
        } else {
            types[id] = T_USER_DEFINED;
            if (strstr(texts[id], "\xe2\x96\x81")) { /* pre-normalise U+2581 to spaces */
                size_t len = strlen(texts[id]);
                char *s = malloc(len + 1);
                if (!s) goto oom;
                size_t o = 0;
                for (size_t i = 0; i < len;) {
                    if (i + 3 <= len && !memcmp(texts[id] + i, "\xe2\x96\x81", 3)) {
                        s[o++] = ' ';
                        i += 3;
                    } else {
                        s[o++] = texts[id][i++];
                    }
                }
                s[o] = 0;
                owned[id] = s;
                texts[id] = s;
            }
        }
    }

    const cJSON *jm = cJSON_GetObjectItemCaseSensitive(model, "merges");
    n_merges = cJSON_IsArray(jm) ? cJSON_GetArraySize(jm) : 0;
    merges = calloc((size_t)(n_merges ? n_merges : 1), sizeof *merges);
    if (!merges) goto oom;
    k = 0;
    cJSON_ArrayForEach(it, jm) {
        merges[k] = merge_text(it);
        if (!merges[k]) {
            el_errf(err, errlen, "tokenizer.json: merge %lld is not \"a b\" or [\"a\", \"b\"]",
                    (long long)k);
            goto done;
        }
        k++;
    }
    if (n_merges == 0) {
        el_errf(err, errlen, "tokenizer.json: no merges");
        goto done;
    }

    /* special tokens: gguf.SpecialVocab._try_load_from_tokenizer_json */
    static const char *const kinds[] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};
    const char *tc[8] = {0}; /* the seven kinds above, then eot */
    for (int i = 0; i < 7 && cfg; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s_token", kinds[i]);
        tc[i] = token_content(cfg, key);
    }
    if (cfg && !tc[0] && tc[5]) tc[0] = tc[5]; /* bos <- cls */
    if (cfg && !tc[1] && tc[3]) tc[1] = tc[3]; /* eos <- sep */
    int add_flag[3] = {-1, -1, -1};            /* bos, eos, sep: -1 unset */
    const cJSON *pp = cJSON_GetObjectItemCaseSensitive(tj, "post_processor");
    if (cJSON_IsObject(pp)) {
        const cJSON *procs = cJSON_GetObjectItemCaseSensitive(pp, "processors");
        const cJSON *one = procs ? NULL : pp;
        const cJSON *p = one ? one : (procs ? procs->child : NULL);
        for (; p; p = one ? NULL : p->next) {
            const char *ptype = jstr(p, "type");
            if (!ptype) continue;
            if (!strcmp(ptype, "RobertaProcessing")) {
                add_flag[0] = add_flag[1] = add_flag[2] = 1;
            } else if (!strcmp(ptype, "TemplateProcessing")) {
                const cJSON *single = cJSON_GetObjectItemCaseSensitive(p, "single");
                int ns = cJSON_GetArraySize(single);
                if (ns > 1) {
                    const cJSON *f = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(single, 0),
                                                                      "SpecialToken");
                    const cJSON *l = cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetArrayItem(single, ns - 1), "SpecialToken");
                    const char *first = f ? jstr(f, "id") : NULL;
                    const char *last = l ? jstr(l, "id") : NULL;
                    if (first) {
                        if (!cfg) tc[0] = first;
                        add_flag[0] =
                            (tc[0] && !strcmp(first, tc[0])) || (tc[5] && !strcmp(first, tc[5]));
                    }
                    if (last) {
                        /* a template ending in another token makes it the EOS (the
                         * configured EOS becomes EOT), as SpecialVocab does */
                        if (cfg && tc[1] && strcmp(last, tc[1]) != 0 && !tc[7]) tc[7] = tc[1];
                        tc[1] = last;
                        add_flag[1] = 1;
                    }
                }
            }
        }
    }
    if (cfg) {
        static const char *const flags[] = {"add_bos_token", "add_eos_token", "add_sep_token"};
        for (int i = 0; i < 3; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, flags[i]);
            if (cJSON_IsBool(v)) add_flag[i] = cJSON_IsTrue(v);
        }
    }
    int64_t ids[8];
    for (int i = 0; i < 8; i++) {
        ids[i] = -1;
        for (int64_t j = 0; j < n_add && tc[i] && ids[i] < 0; j++)
            if (!strcmp(add[j].content, tc[i])) ids[i] = add[j].id;
    }

    /* write, in convert_hf_to_gguf's order */
    if (el_gguf_set_str(w, "tokenizer.ggml.model", "gpt2") ||
        el_gguf_set_str(w, "tokenizer.ggml.pre", pre) ||
        el_gguf_set_arr_str(w, "tokenizer.ggml.tokens", texts, (uint64_t)n) ||
        el_gguf_set_arr(w, "tokenizer.ggml.token_type", EL_GGUF_INT32, types, (uint64_t)n) ||
        el_gguf_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)merges,
                            (uint64_t)n_merges))
        goto werr;
    static const char *const id_keys[8] = {
        "tokenizer.ggml.bos_token_id",     "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.seperator_token_id",
        "tokenizer.ggml.padding_token_id", NULL, /* cls: no GGUF key */
        "tokenizer.ggml.mask_token_id",    "tokenizer.ggml.eot_token_id",
    };
    for (int i = 0; i < 8; i++)
        if (id_keys[i] && ids[i] >= 0 && el_gguf_set_u32(w, id_keys[i], (uint32_t)ids[i]))
            goto werr;
    static const char *const add_keys[3] = {"tokenizer.ggml.add_bos_token",
                                            "tokenizer.ggml.add_eos_token",
                                            "tokenizer.ggml.add_sep_token"};
    for (int i = 0; i < 3; i++)
        if (add_flag[i] >= 0 && el_gguf_set_bool(w, add_keys[i], add_flag[i] == 1)) goto werr;
    const cJSON *ct = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "chat_template") : NULL;
    if (cJSON_IsString(ct)) {
        if (el_gguf_set_str(w, "tokenizer.chat_template", ct->valuestring)) goto werr;
    } else if (cJSON_IsArray(ct)) { /* [{"name": ..., "template": ...}] */
        const char *names[64];
        int nn = 0;
        cJSON_ArrayForEach(it, ct) {
            const char *name = jstr(it, "name"), *tmpl = jstr(it, "template");
            if (!name || !tmpl) continue;
            char key[160];
            if (!strcmp(name, "default"))
                snprintf(key, sizeof key, "tokenizer.chat_template");
            else
                snprintf(key, sizeof key, "tokenizer.chat_template.%s", name);
            if (el_gguf_set_str(w, key, tmpl)) goto werr;
            if (strcmp(name, "default") && nn < 64) names[nn++] = name;
        }
        if (nn && el_gguf_set_arr_str(w, "tokenizer.chat_templates", names, (uint64_t)nn))
            goto werr;
    }
    rc = 0;
    goto done;
werr:
    el_errf(err, errlen, "hf import: %s", el_gguf_writer_error(w));
    goto done;
oom:
    el_errf(err, errlen, "hf import: out of memory");
done:
    if (owned)
        for (int64_t i = 0; i < n; i++)
            free(owned[i]);
    free(owned);
    free(texts);
    free(types);
    if (merges)
        for (int64_t i = 0; i < n_merges; i++)
            free(merges[i]);
    free(merges);
    free(add);
    cJSON_Delete(tj);
    cJSON_Delete(cfg);
    return rc;
}

int el_tok_hf_import(const char *tokenizer_json, const char *tokenizer_config_json_or_NULL,
                     el_gguf_writer *w, char *err, size_t errlen) {
    return el_tok_hf_import_ex(tokenizer_json, tokenizer_config_json_or_NULL, 0, w, err, errlen);
}
