/* gguf/gguf_int.h — what the GGUF writer needs from the reader's internals, and the value
 * type geometry both share. Not for other modules: use gguf/gguf.h. */
#ifndef EL_GGUF_INT_H
#define EL_GGUF_INT_H

#include <stdint.h>

#include "gguf/gguf.h"

/* Fixed byte size of a scalar value type; 0 for string, array and unknown ids. */
static inline uint32_t el_gguf_vtype_size(int t) {
    static const uint8_t sz[EL_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t >= 0 && t < EL_GGUF_VTYPE_COUNT ? sz[t] : 0;
}

/* The encoded bytes of the value of key i exactly as they sit in the file (after the key
 * and the 4-byte type; for an array: element type, count, elements). Returns 0, or -1 for a
 * bad index. The span is validated, so a writer can copy it verbatim. */
int el_gguf_kv_raw(const el_gguf *g, int64_t i, const uint8_t **p, uint64_t *n);

#endif
