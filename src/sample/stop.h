/* sample/stop.h — stop strings over streamed text.
 *
 * The generator pushes each token's text piece; the matcher answers how much text is safe to
 * show now. Text is held back while it could still be the start of a stop string (a stop
 * split across tokens, "</" + "stop>", is caught), and while it ends in an incomplete UTF-8
 * sequence (so a stream never emits half a character; at most 3 bytes). Held text that
 * turns out not to be a stop is released, in order, with the next push.
 *
 * When a stop string completes, the emitted text ends right before it, *hit is set, and the
 * matcher is finished: later pushes return 0 with *hit = 1 until el_stop_reset. With several
 * stop strings, the occurrence that ends first in the text wins (on equal ends the longer,
 * then the one listed first) — what a byte-by-byte reader would see, so the result never
 * depends on how the text was split into pieces.
 * A matcher with no stop strings only does the UTF-8 hold-back.
 *
 * Memory: one buffer sized at creation to the longest stop string + EL_STOP_PIECE_HINT bytes
 * of piece. A push of a longer piece grows it (once; the buffer keeps the size), so the
 * steady state allocates nothing. Emitted pointers point into that buffer and stay valid
 * until the next push/flush/reset/free.
 *
 * Cost: O(total stop length x longest stop) per push (naive suffix/prefix checks); stop lists
 * are a handful of short strings, so this beats building an automaton.
 */
#ifndef EL_STOP_H
#define EL_STOP_H

#include <stddef.h>

#define EL_STOP_PIECE_HINT 256

typedef struct el_stop el_stop;

/* Copies the n stop strings (NUL-terminated, non-empty, valid UTF-8). n may be 0. */
el_stop *el_stop_new(const char *const *stops, int n, char *err, size_t errlen);
void el_stop_free(el_stop *s);

/* Appends piece[0..n); returns the number of bytes at *emit that can be shown now (text that
 * can no longer be the start of a stop string), sets *hit (if hit is non-NULL) to 1 when a
 * stop string completed, else 0. Returns -1 (and emits nothing) only when the buffer cannot
 * grow for an oversized piece or n is absurd (> INT_MAX / 2). */
int el_stop_push(el_stop *s, const char *piece, size_t n, const char **emit, int *hit);

/* At the end of generation: releases the held-back text (0 bytes after a hit). */
int el_stop_flush(el_stop *s, const char **emit);

/* Forgets held text and any hit, for the next generation with the same stop list. */
void el_stop_reset(el_stop *s);

/* Index (in the list given to el_stop_new) of the stop string that hit, or -1. */
int el_stop_which(const el_stop *s);

#endif
