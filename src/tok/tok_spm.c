/* tok/tok_spm.c — SentencePiece-style BPE ("llama" vocabularies: Llama 1/2, Phi-3, Mistral
 * v1, stories260K...): greedy merging of adjacent symbols by the score of the token they
 * would form, with byte fallback.
 *
 * Algorithm (llama.cpp's llm_tokenizer_spm): spaces become U+2581, the text is cut into
 * UTF-8 characters (lead-byte length, clipped at the end; no validation), every adjacent pair
 * whose concatenation is a token goes into a max-heap keyed by (score, then leftmost); the
 * best pair merges, and its new neighbours are pushed. Stale heap entries are recognised by
 * their length no longer matching (symbols only grow). Finally each symbol is its token, or,
 * if it is not one, its bytes as <0xXX> tokens (unknown token when the vocabulary has none).
 *
 * Cost: O(n log n) for n characters. Memory: the escaped text, one symbol per character and
 * a heap of at most 3n entries (n initial pairs, two more per merge), freed before returning.
 */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_int.h"

typedef struct sym {
    int32_t prev, next;
    uint32_t off, n; /* bytes in the escaped text; n == 0: merged away */
} sym;

typedef struct bigram {
    float score;
    int32_t left, right;
    uint32_t size;
} bigram;

typedef struct heap {
    bigram *v;
    size_t n, cap;
} heap;

/* a before b: higher score, then smaller left index */
static bool before(const bigram *a, const bigram *b) {
    if (a->score != b->score) return a->score > b->score;
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

typedef struct spm {
    const el_tok *t;
    const char *s;
    sym *sy;
    heap h;
} spm;

static int try_pair(spm *m, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return 0;
    const sym *a = &m->sy[l], *b = &m->sy[r];
    uint32_t size = a->n + b->n;
    int32_t id = tok_lookup(m->t, m->s + a->off, size);
    if (id < 0) return 0;
    return heap_push(&m->h, (bigram){m->t->tok[id].score, l, r, size});
}

int tok_spm_encode(const el_tok *t, const char *text, size_t len, tok_vec *out) {
    if (len == 0) return 0;
    if (len > UINT32_MAX / 3) return -1;
    /* escape: ' ' -> U+2581 (3 bytes) */
    char *s = malloc(len * 3);
    if (!s) return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(s + n, "\xe2\x96\x81", 3);
            n += 3;
        } else {
            s[n++] = text[i];
        }
    }
    /* one symbol per escaped byte at most: a stray lead byte can swallow the first byte of
     * an escaped space and leave its other two as symbols of their own */
    sym *sy = malloc(n * sizeof *sy);
    if (!sy) {
        free(s);
        return -1;
    }
    static const uint8_t lead_len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    int32_t ns = 0;
    for (size_t off = 0; off < n;) {
        size_t k = lead_len[(unsigned char)s[off] >> 4];
        if (k > n - off) k = n - off;
        sy[ns] = (sym){ns - 1, -1, (uint32_t)off, (uint32_t)k};
        if (ns > 0) sy[ns - 1].next = ns;
        ns++;
        off += k;
    }
    spm m = {t, s, sy, {0}};
    int rc = 0;
    for (int32_t i = 1; i < ns && rc == 0; i++)
        rc = try_pair(&m, i - 1, i);
    while (rc == 0 && m.h.n) {
        bigram b = heap_pop(&m.h);
        sym *l = &sy[b.left], *r = &sy[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sy[r->next].prev = b.left;
        rc = try_pair(&m, l->prev, b.left);
        if (rc == 0) rc = try_pair(&m, b.left, l->next);
    }
    for (int32_t i = 0; rc == 0 && i >= 0 && ns > 0; i = sy[i].next) {
        int32_t id = tok_lookup(t, s + sy[i].off, sy[i].n);
        if (id >= 0) {
            tok_vec_push(out, id);
            continue;
        }
        for (uint32_t j = 0; j < sy[i].n; j++) { /* byte fallback */
            int32_t b = t->byte_tok[(unsigned char)s[sy[i].off + j]];
            if (b < 0) b = t->unk; /* llama.cpp would throw here */
            if (b >= 0) tok_vec_push(out, b);
        }
    }
    free(m.h.v);
    free(s);
    free(sy);
    return rc;
}
