/* kv/kv.h — the KV cache: keys and values of every cached position, a storage type per
 * layer, bytes accounted.
 *
 * Layout per layer l: k[l] is (n_seq, n_ctx, kv_dim_k) elements of type_k[l], v[l] likewise
 * with kv_dim_v. One sequence's positions are contiguous, so attention streams them. All
 * layers live in one allocation made at init; nothing is allocated afterwards.
 * Types now: EL_TYPE_F32, EL_TYPE_F16. Quantized and rotated types come next (the per-layer
 * type is the hook for hybrid precision).
 */
#ifndef EL_KV_H
#define EL_KV_H

#include <stddef.h>
#include <stdint.h>

typedef struct el_kv {
    int32_t n_layer, n_seq, n_ctx;
    int32_t dim_k, dim_v;    /* n_head_kv * head_dim(_v) */
    int32_t *type_k;         /* (n_layer) el_type */
    int32_t *type_v;         /* (n_layer) */
    uint8_t **k;             /* (n_layer) -> (n_seq, n_ctx, dim_k) of type_k[l] */
    uint8_t **v;             /* (n_layer) -> (n_seq, n_ctx, dim_v) of type_v[l] */
    int32_t *seq_len;        /* (n_seq) positions cached */
    void *block;             /* the one allocation */
    uint64_t bytes;          /* bytes of cached keys+values at full size */
} el_kv;

/* types_k/types_v: n_layer el_type values (F32 or F16). */
int el_kv_init(el_kv *kv, int32_t n_layer, int32_t n_seq, int32_t n_ctx, int32_t dim_k,
               int32_t dim_v, const int32_t *types_k, const int32_t *types_v, char *err,
               size_t errlen);
void el_kv_free(el_kv *kv);

/* Bytes one cached row (one position of one layer) of type t and dim n takes. */
size_t el_kv_row_bytes(int32_t type, int32_t n);

/* Writes the key and value rows of (layer, seq, pos). */
void el_kv_store(el_kv *kv, int32_t layer, int32_t seq, int32_t pos, const float *k,
                 const float *v);

/* Pointers to the first cached row of (layer, seq); rows follow at el_kv_row_bytes. */
static inline const uint8_t *el_kv_k_base(const el_kv *kv, int32_t layer, int32_t seq,
                                          size_t row_bytes) {
    return kv->k[layer] + (size_t)seq * (size_t)kv->n_ctx * row_bytes;
}
static inline const uint8_t *el_kv_v_base(const el_kv *kv, int32_t layer, int32_t seq,
                                          size_t row_bytes) {
    return kv->v[layer] + (size_t)seq * (size_t)kv->n_ctx * row_bytes;
}

#endif
