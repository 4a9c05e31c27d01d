/* tok/tok_int.h — internals shared by the tokenizer files (tok.c, tok_spm.c, tok_bpe.c,
 * tok_pre.c, tok_wpm.c). Not for use outside src/tok/.
 */
#ifndef EL_TOK_INT_H
#define EL_TOK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tok/tok.h"

/* Token attributes, llama.cpp's llama_token_attr bits (token_type is mapped onto them at
 * load; LSTRIP/RSTRIP come from per-model rules). 0 = undefined. */
enum {
    ATTR_UNKNOWN = 1 << 0,
    ATTR_UNUSED = 1 << 1,
    ATTR_NORMAL = 1 << 2,
    ATTR_CONTROL = 1 << 3,
    ATTR_USER_DEFINED = 1 << 4,
    ATTR_BYTE = 1 << 5,
    ATTR_NORMALIZED = 1 << 6,
    ATTR_LSTRIP = 1 << 7,
    ATTR_RSTRIP = 1 << 8,
    ATTR_SINGLE_WORD = 1 << 9,
};

typedef enum tok_kind { KIND_SPM = 1, KIND_BPE = 2, KIND_WPM = 3 } tok_kind;

/* Pre-tokenizer families (byte-level BPE only); each is a fixed list of split passes. */
typedef enum tok_pre {
    PRE_DEFAULT = 0,
    PRE_LLAMA3,
    PRE_DEEPSEEK_LLM,
    PRE_DEEPSEEK_CODER,
    PRE_FALCON,
    PRE_STARCODER, /* also refact, command-r, smollm, codeshell, exaone, minerva */
    PRE_GPT2,      /* also mpt, olmo, jais, trillion, phi-2, ... */
    PRE_QWEN2,     /* also stablelm2, hunyuan, megrez, grok-2, bailingmoe */
    PRE_SEED_CODER,
    PRE_BLOOM, /* also poro-chat, gpt3-finnish */
    PRE_VIKING,
    PRE_DEEPSEEK3, /* also hunyuan-dense */
    PRE_GPT4O,     /* also llama4 */
    PRE_TEKKEN,
} tok_pre;

typedef struct tok_entry {
    uint32_t off; /* text at el_tok.text + off, NUL-terminated */
    uint32_t len;
    float score;
    uint32_t attr; /* ATTR_* */
    int32_t type;  /* token_type as read (EL_TOK_TYPE_*) */
} tok_entry;

/* Open-addressing hash: slots hold id + 1 (0 = empty); capacity a power of two. */
typedef struct tok_hash {
    uint32_t *slot;
    uint64_t mask;
} tok_hash;

struct el_tok {
    tok_kind kind;
    tok_pre pre;
    char model[16]; /* "llama" | "gpt2" | "bert" */
    char pre_name[48];
    int32_t n_vocab;
    tok_entry *tok; /* (n_vocab) */
    char *text;     /* every token's text, NUL-separated */
    tok_hash by_text;
    int max_token_len; /* bytes */
    int max_piece;     /* longest el_tok_piece(special = true), bytes */

    /* byte-level BPE merges: rank i joins merge_l[i] and merge_r[i] into merge_to[i]
     * (-1 when the joined text is not a token); by_pair maps the id pair to i */
    int32_t n_merges;
    int32_t *merge_l, *merge_r, *merge_to;
    tok_hash by_pair;

    /* SPM: token of each byte (<0xXX>, else the one-byte text), -1 when none.
     * BPE: token of each byte's byte-level character, -1 when none. */
    int32_t byte_tok[256];

    int32_t bos, eos, eot, eom, unk, sep, pad, mask;
    int32_t fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
    bool add_bos, add_eos, add_sep, add_space_prefix, ignore_merges, clean_spaces;

    int32_t *eog; /* sorted ids that end generation */
    int n_eog;

    /* tokens that partition text before tokenizing (CONTROL, USER_DEFINED, UNKNOWN), in
     * llama.cpp's priority order (longer text first; equal lengths by id) */
    int32_t *special;
    int n_special;
    /* byte trie over the special tokens' texts: node 0 is the root; child edges in
     * trie_edges (hash of node << 8 | byte -> child + 1); trie_tok[node] = rank in
     * special[] of the token ending there, or -1 */
    int32_t *trie_tok;
    int32_t trie_n;
    uint64_t *trie_key; /* edge keys, parallel to trie_val; open addressing */
    int32_t *trie_val;
    uint64_t trie_mask;
};

/* A growable id vector; `oom` is sticky. */
typedef struct tok_vec {
    int32_t *v;
    size_t n, cap;
    bool oom;
} tok_vec;

void tok_vec_push(tok_vec *v, int32_t id);

uint64_t tok_hash_bytes(const char *s, size_t n);
/* Exact text -> id, -1 when absent. */
int32_t tok_lookup(const el_tok *t, const char *s, size_t n);
/* Merge rank of the pair (l, r), -1 when none. */
int32_t tok_merge_rank(const el_tok *t, int32_t l, int32_t r);

/* Per-algorithm encoders for one raw text fragment (after the special-token partition).
 * They append to out and return 0, or -1 when out of memory. */
int tok_spm_encode(const el_tok *t, const char *text, size_t len, tok_vec *out);
int tok_bpe_encode(const el_tok *t, const char *text, size_t len, tok_vec *out);
int tok_wpm_encode(const el_tok *t, const char *text, size_t len, tok_vec *out);

/* Pre-tokenizer: splits text into words, written as byte lengths of the llama.cpp-style
 * re-encoded text (invalid UTF-8 becomes U+FFFD first) into *words (malloc'd, n in *n_words)
 * and the re-encoded text into *norm (malloc'd, *norm_len bytes). 0, or -1 out of memory. */
int tok_pre_split(tok_pre pre, const char *text, size_t len, char **norm, size_t *norm_len,
                  size_t **words, size_t *n_words);

#endif
