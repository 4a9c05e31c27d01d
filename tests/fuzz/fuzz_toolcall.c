/* tests/fuzz/fuzz_toolcall.c — libFuzzer harness for the streaming output parsers: tool calls
 * (src/server/toolcall.c, each family) and the <think> splitter (src/server/reasoning.c).
 * Byte 0 picks the family and how the text is cut into pieces; the rest is model output.
 * Oracle: feeding the text whole and feeding it in pieces give the same events — the same
 * sequence of content / call / argument / reasoning runs with the same text (consecutive
 * pieces of one kind merged) — so streaming never changes what a client assembles. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/reasoning.h"
#include "server/toolcall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ev {
    int tag; /* 'c' content, 'r' reasoning, 'x' think-content, 1000+i call i, 2000+i args i */
    size_t off, len;
} ev;

typedef struct events {
    ev *e;
    int n, cap;
    char *text;
    size_t nt, capt;
} events;

static void add(events *a, int tag, const char *s, size_t n, int merge) {
    if (merge && a->n && a->e[a->n - 1].tag == tag) {
        a->e[a->n - 1].len += n;
    } else {
        if (a->n == a->cap) {
            a->cap = a->cap ? a->cap * 2 : 16;
            if (!(a->e = realloc(a->e, (size_t)a->cap * sizeof *a->e))) abort();
        }
        a->e[a->n++] = (ev){tag, a->nt, n};
    }
    if (a->nt + n > a->capt) {
        a->capt = (a->nt + n) * 2 + 64;
        if (!(a->text = realloc(a->text, a->capt))) abort();
    }
    memcpy(a->text + a->nt, s, n);
    a->nt += n;
}

static void on_content(void *u, const char *s, size_t n) {
    add(u, 'c', s, n, 1);
}
static void on_call(void *u, int i, const char *s, size_t n) {
    add(u, 1000 + i, s, n, 0);
}
static void on_args(void *u, int i, const char *s, size_t n) {
    add(u, 2000 + i, s, n, 1);
}
static void on_think(void *u, int ch, const char *s, size_t n) {
    add(u, ch ? 'r' : 'x', s, n, 1);
}

/* cut 0: the whole text at once; otherwise pieces of 1..8 bytes drawn from cut */
static void run(el_tc_format f, const uint8_t *d, size_t n, unsigned cut, bool open, events *tc,
                events *th) {
    el_tc_parser *p = el_tc_new(f);
    if (!p) abort();
    el_tc_sink k = {tc, on_content, on_call, on_args};
    el_think t;
    el_think_init(&t, open);
    uint32_t x = cut * 2654435761u + 1;
    for (size_t i = 0; i < n;) {
        size_t step = cut ? 1 + (x >> 28) % 8 : n;
        x = x * 1664525u + 1013904223u;
        if (step > n - i) step = n - i;
        el_tc_push(p, (const char *)d + i, step, &k);
        el_think_push(&t, (const char *)d + i, step, on_think, th);
        i += step;
    }
    el_tc_finish(p, &k);
    el_think_finish(&t, on_think, th);
    el_think_free(&t);
    if (el_tc_calls(p) != 0 && tc->n == 0) abort();
    el_tc_free(p);
}

static int same(const events *a, const events *b) {
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++) {
        const ev *x = &a->e[i], *y = &b->e[i];
        if (x->tag != y->tag || x->len != y->len ||
            memcmp(a->text + x->off, b->text + y->off, x->len))
            return 0;
    }
    return 1;
}

static void release(events *a) {
    free(a->e);
    free(a->text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    el_tc_format f = (el_tc_format)(1 + data[0] % 3);
    unsigned cut = 1 + data[0] / 3;
    bool open = (data[0] / 3) & 1; /* the prompt opened a <think> block (both runs alike) */
    events w1 = {0}, w2 = {0}, p1 = {0}, p2 = {0};
    run(f, data + 1, size - 1, 0, open, &w1, &w2);
    run(f, data + 1, size - 1, cut, open, &p1, &p2);
    if (!same(&w1, &p1) || !same(&w2, &p2)) abort();
    release(&w1);
    release(&w2);
    release(&p1);
    release(&p2);
    return 0;
}
