/* tok/tok_bpe.c — byte-level BPE ("gpt2" vocabularies: GPT-2, Llama 3, Qwen, DeepSeek,
 * Falcon, StarCoder...): pre-tokenize, map every byte to its byte-level character, then
 * merge adjacent symbols by merge rank within each word.
 *
 * Algorithm (llama.cpp's llm_tokenizer_bpe): per word, symbols start as one byte-level
 * character each (one input byte); every adjacent pair with a merge rank goes into a
 * min-heap keyed by (rank, then leftmost); the best pair merges and its new neighbours are
 * pushed; stale entries are recognised by their length. Ranks are found by the pair of token
 * ids (a symbol that is not a token cannot be part of any merge, since every merge names two
 * tokens). With ignore_merges (Llama 3), a word that is itself a token is emitted whole.
 * A final symbol that is not a token (possible only for a broken vocabulary) falls back to
 * one-byte tokens, as llama.cpp does.
 *
 * Cost: O(n) to pre-tokenize plus O(w log w) per word of w bytes. Memory: the split, one
 * symbol per byte of the current word and its heap, all freed before returning.
 */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_int.h"
#include "tok/unicode.h"

typedef struct sym {
    int32_t prev, next;
    uint32_t off, n; /* bytes of the byte-level text; n == 0: merged away */
    int32_t id;      /* token of the symbol's text, -1 when none */
} sym;

typedef struct bigram {
    int32_t rank;
    int32_t left, right;
    uint32_t size;
} bigram;

typedef struct heap {
    bigram *v;
    size_t n, cap;
} heap;

/* a before b: lower rank, then smaller left index */
static bool before(const bigram *a, const bigram *b) {
    if (a->rank != b->rank) return a->rank < b->rank;
    return a->left < b->left;
}

static int heap_push(heap *h, bigram x) {
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        bigram *p = nc <= SIZE_MAX / sizeof *p ? realloc(h->v, nc * sizeof *p) : NULL;
        if (!p) return -1;
        h->v = p;
        h->cap = nc;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!before(&x, &h->v[up])) break;
        h->v[i] = h->v[up];
        i = up;
    }
    h->v[i] = x;
    return 0;
}

static bigram heap_pop(heap *h) {
    bigram top = h->v[0], x = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c])) c++;
        if (!before(&h->v[c], &x)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = x;
    return top;
}

typedef struct bpe {
    const el_tok *t;
    sym *sy;
    heap h;
} bpe;

static int try_pair(bpe *b, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return 0;
    const sym *a = &b->sy[l], *c = &b->sy[r];
    if (a->id < 0 || c->id < 0) return 0;
    int32_t rank = tok_merge_rank(b->t, a->id, c->id);
    if (rank < 0) return 0;
    return heap_push(&b->h, (bigram){rank, l, r, a->n + c->n});
}

/* merges one word (byte-level text w[0..n)) and appends its tokens */
static int encode_word(bpe *b, const char *w, size_t n, tok_vec *out) {
    const el_tok *t = b->t;
    if (t->ignore_merges) {
        int32_t id = tok_lookup(t, w, n);
        if (id >= 0) {
            tok_vec_push(out, id);
            return 0;
        }
    }
    sym *sy = b->sy;
    int32_t ns = 0;
    for (size_t off = 0; off < n;) {
        size_t k = ((unsigned char)w[off] < 0x80) ? 1 : 2; /* byte-level chars: 1 or 2 bytes */
        if (k > n - off) k = n - off;
        sy[ns] = (sym){ns - 1, -1, (uint32_t)off, (uint32_t)k, tok_lookup(t, w + off, k)};
        if (ns > 0) sy[ns - 1].next = ns;
        ns++;
        off += k;
    }
    b->h.n = 0;
    int rc = 0;
    for (int32_t i = 1; i < ns && rc == 0; i++)
        rc = try_pair(b, i - 1, i);
    while (rc == 0 && b->h.n) {
        bigram g = heap_pop(&b->h);
        sym *l = &sy[g.left], *r = &sy[g.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != g.size) continue; /* stale */
        int32_t rank = tok_merge_rank(t, l->id, r->id);
        l->id = t->merge_to[rank];
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sy[r->next].prev = g.left;
        rc = try_pair(b, l->prev, g.left);
        if (rc == 0) rc = try_pair(b, g.left, l->next);
    }
    for (int32_t i = 0; rc == 0 && i < ns; i++) {
        if (sy[i].n == 0) continue;
        if (sy[i].id >= 0) {
            tok_vec_push(out, sy[i].id);
            continue;
        }
        for (uint32_t j = 0; j < sy[i].n; j++) { /* one-byte tokens, llama.cpp's fallback */
            int32_t id = tok_lookup(t, w + sy[i].off + j, 1);
            if (id >= 0) tok_vec_push(out, id);
        }
    }
    return rc;
}

int tok_bpe_encode(const el_tok *t, const char *text, size_t len, tok_vec *out) {
    char *norm;
    size_t norm_len, *words, n_words;
    if (tok_pre_split(t->pre, text, len, &norm, &norm_len, &words, &n_words)) return -1;
    size_t max_w = 0;
    for (size_t i = 0; i < n_words; i++)
        if (words[i] > max_w) max_w = words[i];
    /* byte-level text of the longest word (2 bytes per byte at most), one symbol per byte */
    char *w = max_w ? malloc(max_w * 2) : NULL;
    sym *sy = max_w ? malloc(max_w * sizeof *sy) : NULL;
    int rc = 0;
    if (max_w && (!w || !sy || max_w > UINT32_MAX / 2)) rc = -1;

    /* the byte-level alphabet, as UTF-8 */
    char enc[256][4];
    uint8_t enc_n[256];
    for (int c = 0; c < 256; c++)
        enc_n[c] = (uint8_t)el_utf8_encode(el_bytelevel_cpt((uint8_t)c), enc[c]);

    bpe b = {t, sy, {0}};
    size_t off = 0;
    for (size_t i = 0; i < n_words && rc == 0; i++) {
        size_t wn = 0;
        for (size_t j = 0; j < words[i]; j++) {
            unsigned char c = (unsigned char)norm[off + j];
            memcpy(w + wn, enc[c], enc_n[c]);
            wn += enc_n[c];
        }
        off += words[i];
        rc = encode_word(&b, w, wn, out);
    }
    free(b.h.v);
    free(w);
    free(sy);
    free(norm);
    free(words);
    return rc;
}
