/* server/reasoning.c — <think> ... </think> split into reasoning_content and content (see
 * reasoning.h). States: START (nothing but whitespace seen; "<think>" may come), THINK
 * (inside the block), CONTENT (the answer, or output that never thought).
 * Memory: one growable buffer of held-back bytes (a partial tag, or trailing whitespace
 * inside the block).
 */
#include "server/reasoning.h"

#include <stdlib.h>
#include <string.h>

enum { T_START, T_THINK, T_CONTENT };

static const char OPEN[] = "<think>", CLOSE[] = "</think>";

static inline bool ws(char c) {
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

void el_think_init(el_think *t, bool in_think) {
    memset(t, 0, sizeof *t);
    t->state = in_think ? T_THINK : T_START;
    t->lead = true;
}

void el_think_free(el_think *t) {
    free(t->pend);
    memset(t, 0, sizeof *t);
}

static bool hold(el_think *t, const char *s, size_t n) {
    if (n == 0) return true;
    if (t->n + n > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < t->n + n)
            cap *= 2;
        char *p = realloc(t->pend, cap);
        if (!p) return false;
        t->pend = p;
        t->cap = cap;
    }
    memcpy(t->pend + t->n, s, n);
    t->n += n;
    return true;
}

static void drop(el_think *t, size_t k) {
    if (k == 0) return;
    memmove(t->pend, t->pend + k, t->n - k);
    t->n -= k;
}

/* Emits s[0..n) on channel ch, dropping leading whitespace while t->lead. */
static void out(el_think *t, int ch, const char *s, size_t n, el_think_sink k, void *u) {
    if (t->lead) {
        while (n && ws(*s))
            s++, n--;
        if (n) t->lead = false;
    }
    if (n) k(u, ch, s, n);
}

static long find(const char *s, size_t n, const char *m) {
    size_t k = strlen(m);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(s + i, m, k)) return (long)i;
    return -1;
}

static size_t partial(const char *s, size_t n, const char *m) {
    size_t k = strlen(m);
    for (size_t l = n < k - 1 ? n : k - 1; l > 0; l--)
        if (!memcmp(s + n - l, m, l)) return l;
    return 0;
}

static void run(el_think *t, el_think_sink k, void *u) {
    for (;;) {
        if (t->state == T_START) {
            size_t i = 0;
            while (i < t->n && ws(t->pend[i]))
                i++;
            if (i == t->n) return;
            size_t rest = t->n - i, kk = strlen(OPEN);
            if (!memcmp(t->pend + i, OPEN, rest < kk ? rest : kk)) {
                if (rest < kk) return;
                drop(t, i + kk);
                t->state = T_THINK;
                t->lead = true;
                continue;
            }
            t->state = T_CONTENT; /* no thinking: everything is the answer, as written */
            t->lead = false;
        } else if (t->state == T_THINK) {
            long at = find(t->pend, t->n, CLOSE);
            size_t upto = at >= 0 ? (size_t)at : t->n - partial(t->pend, t->n, CLOSE);
            size_t body = upto;
            while (body > 0 && ws(t->pend[body - 1]))
                body--; /* maybe padding before </think> */
            out(t, EL_THINK_REASONING, t->pend, body, k, u);
            if (at < 0) {
                drop(t, body);
                return;
            }
            drop(t, (size_t)at + strlen(CLOSE));
            t->state = T_CONTENT;
            t->lead = true;
        } else {
            out(t, EL_THINK_CONTENT, t->pend, t->n, k, u);
            t->n = 0;
            return;
        }
    }
}

void el_think_push(el_think *t, const char *s, size_t n, el_think_sink k, void *u) {
    if (t->state == T_CONTENT && t->n == 0) { /* the common case: no copy */
        out(t, EL_THINK_CONTENT, s, n, k, u);
        return;
    }
    if (!hold(t, s, n)) { /* out of memory: pass through rather than lose text */
        out(t, t->state == T_THINK ? EL_THINK_REASONING : EL_THINK_CONTENT, t->pend, t->n, k, u);
        t->n = 0;
        out(t, t->state == T_THINK ? EL_THINK_REASONING : EL_THINK_CONTENT, s, n, k, u);
        return;
    }
    run(t, k, u);
}

void el_think_finish(el_think *t, el_think_sink k, void *u) {
    if (t->state == T_THINK) { /* never closed: what was held is reasoning (minus padding) */
        size_t body = t->n;
        while (body > 0 && ws(t->pend[body - 1]))
            body--;
        out(t, EL_THINK_REASONING, t->pend, body, k, u);
    } else if (t->state == T_START) {
        out(t, EL_THINK_CONTENT, t->pend, t->n, k, u); /* only whitespace: dropped */
    } else {
        out(t, EL_THINK_CONTENT, t->pend, t->n, k, u);
    }
    t->n = 0;
}

bool el_think_prompt_open(const char *p, size_t n) {
    while (n && ws(p[n - 1]))
        n--;
    size_t k = strlen(OPEN);
    return n >= k && !memcmp(p + n - k, OPEN, k);
}
