/* sample/stop.c — stop-string matcher for streamed text (see stop.h for the contract).
 *
 * Owns: copies of the stop strings and one text buffer. buf[start..len) is the held-back
 * text; buf[0..start) is what the previous call emitted (kept until the next call so the
 * caller's pointer stays valid, then dropped by moving the held text to the front).
 *
 * Invariants: the held text never contains a complete stop string; it is at most
 * (longest stop - 1) bytes of possible stop prefix or 3 bytes of an incomplete UTF-8
 * character, whichever starts earlier. Because stop strings are valid UTF-8, a possible
 * stop start is always a character boundary in valid text.
 *
 * Memory: allocated in el_stop_new; a push only reallocates for a piece longer than any
 * before (the buffer never shrinks).
 */
#include "sample/stop.h"

#include "core/core.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct el_stop {
    int n;          /* number of stop strings */
    char **stops;   /* (n) NUL-terminated copies */
    size_t *lens;   /* (n) byte lengths, >= 1 */
    size_t max_len; /* longest stop */
    char *buf;      /* (cap) text: emitted-last-time then held */
    size_t cap, start, len;
    int hit;   /* a stop completed */
    int which; /* its index, -1 */
};

el_stop *el_stop_new(const char *const *stops, int n, char *err, size_t errlen) {
    if (n < 0 || (n > 0 && !stops)) {
        el_errf(err, errlen, "stop: bad stop list (n %d)", n);
        return NULL;
    }
    el_stop *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->which = -1;
    if (n > 0) {
        s->stops = calloc((size_t)n, sizeof *s->stops);
        s->lens = calloc((size_t)n, sizeof *s->lens);
        if (!s->stops || !s->lens) goto oom;
    }
    s->n = n;
    for (int i = 0; i < n; i++) {
        if (!stops[i] || !stops[i][0]) {
            el_errf(err, errlen, "stop: stop string %d is empty", i);
            goto fail;
        }
        size_t l = strlen(stops[i]);
        if (l > INT_MAX / 4 || !el_utf8_valid(stops[i], l, NULL)) {
            el_errf(err, errlen, "stop: stop string %d is not valid UTF-8 (or too long)", i);
            goto fail;
        }
        s->stops[i] = malloc(l + 1);
        if (!s->stops[i]) goto oom;
        memcpy(s->stops[i], stops[i], l + 1);
        s->lens[i] = l;
        if (l > s->max_len) s->max_len = l;
    }
    s->cap = s->max_len + 4 + EL_STOP_PIECE_HINT;
    s->buf = malloc(s->cap);
    if (!s->buf) goto oom;
    return s;
oom:
    el_errf(err, errlen, "stop: out of memory");
fail:
    el_stop_free(s);
    return NULL;
}

void el_stop_free(el_stop *s) {
    if (!s) return;
    for (int i = 0; i < s->n && s->stops; i++)
        free(s->stops[i]);
    free(s->stops);
    free(s->lens);
    free(s->buf);
    free(s);
}

void el_stop_reset(el_stop *s) {
    if (!s) return;
    s->start = s->len = 0;
    s->hit = 0;
    s->which = -1;
}

int el_stop_which(const el_stop *s) {
    return s ? s->which : -1;
}

/* Start of a trailing incomplete UTF-8 sequence in b[0..n), or n when there is none. Bytes
 * that can never complete (bad lead, too many continuations) are not held. */
static size_t utf8_tail(const char *b, size_t n) {
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = (unsigned char)b[n - back];
        if ((c & 0xC0) == 0x80) continue; /* continuation: look further back */
        int need = el_utf8_len(c);
        return need > (int)back ? n - back : n;
    }
    return n;
}

int el_stop_push(el_stop *s, const char *piece, size_t n, const char **emit, int *hit) {
    static const char empty[1] = {0};
    if (hit) *hit = s && s->hit;
    if (emit) *emit = empty;
    if (!s || (n > 0 && !piece) || n > INT_MAX / 2) return -1;
    if (s->hit) return 0;

    /* drop what was emitted last time */
    size_t held = s->len - s->start;
    if (s->start > 0) memmove(s->buf, s->buf + s->start, held);
    s->start = 0;
    s->len = held;
    if (n > s->cap - held) {
        size_t cap = held + n;
        cap = cap > SIZE_MAX / 2 ? cap : cap + cap / 2;
        char *nb = realloc(s->buf, cap);
        if (!nb) return -1;
        s->buf = nb;
        s->cap = cap;
    }
    if (n > 0) memcpy(s->buf + held, piece, n);
    s->len = held + n;

    /* A complete stop must end inside the new piece (held text holds none). The winner is
     * the occurrence that ends first, as if the text came one byte at a time (so the answer
     * does not depend on how the text was cut into pieces); on equal ends, the longer. */
    size_t best = SIZE_MAX, best_end = SIZE_MAX;
    int best_i = -1;
    for (int i = 0; i < s->n; i++) {
        size_t l = s->lens[i];
        if (l > s->len) continue;
        size_t from = held >= l ? held - l + 1 : 0;
        const char *m = memmem(s->buf + from, s->len - from, s->stops[i], l);
        if (!m) continue;
        size_t at = (size_t)(m - s->buf);
        if (at + l < best_end || (at + l == best_end && at < best)) {
            best = at;
            best_end = at + l;
            best_i = i;
        }
    }
    if (best_i >= 0) {
        s->hit = 1;
        s->which = best_i;
        s->start = s->len = 0; /* the stop and anything after it are dropped */
        if (emit) *emit = s->buf;
        if (hit) *hit = 1;
        return (int)best;
    }

    /* earliest suffix of the text that is a proper prefix of some stop */
    size_t keep = s->len;
    for (int i = 0; i < s->n; i++) {
        size_t l = s->lens[i];
        size_t j = s->len >= l ? s->len - l + 1 : 0;
        for (; j < keep; j++)
            if (memcmp(s->buf + j, s->stops[i], s->len - j) == 0) break;
        if (j < keep) keep = j;
    }
    size_t u = utf8_tail(s->buf, s->len);
    if (u < keep) keep = u;
    s->start = keep;
    if (emit) *emit = s->buf;
    return (int)keep;
}

int el_stop_flush(el_stop *s, const char **emit) {
    static const char empty[1] = {0};
    if (emit) *emit = empty;
    if (!s || s->hit) return 0;
    size_t held = s->len - s->start;
    if (emit) *emit = s->buf + s->start;
    s->start = s->len;
    return (int)held;
}
