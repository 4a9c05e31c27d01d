/* kv/kv.h — the KV cache: keys and values of every cached position, a storage type per
 * layer, bytes accounted.
 *
 * Layout per layer l: k[l] is (n_seq, n_head_kv, n_ctx, head_dim_k) elements of type_k[l],
 * v[l] likewise with head_dim_v: head-major, so the cached rows of one KV head of one
 * sequence are contiguous and attention streams them. (Position-major rows — one row per
 * position holding every head, llama.cpp's layout — make each head's pass read 128 of every
 * n_head_kv * 128 bytes: Llama-3.2-1B's 8 KV heads at depth 4096 then ran attention at
 * 3.9 GB/s, 34.6 ms per token, against 14.2 ms head-major.) All layers live in one
 * allocation made at init; nothing is allocated afterwards.
 * Types now: EL_TYPE_F32, EL_TYPE_F16. Quantized and rotated types come next (the per-layer
 * type is the hook for hybrid precision).
 */
#ifndef EL_KV_H
#define EL_KV_H

#include <stddef.h>
#include <stdint.h>

typedef struct el_kv {
    int32_t n_layer, n_seq, n_ctx;
    int32_t n_head_kv;
    int32_t head_dim_k, head_dim_v;
    int32_t *type_k;         /* (n_layer) el_type */
    int32_t *type_v;         /* (n_layer) */
    uint8_t **k;             /* (n_layer) -> (n_seq, n_head_kv, n_ctx, head_dim_k) of type_k[l] */
    uint8_t **v;             /* (n_layer) -> (n_seq, n_head_kv, n_ctx, head_dim_v) of type_v[l] */
    int32_t *seq_len;        /* (n_seq) positions cached */
    void *block;             /* the one allocation */
    uint64_t bytes;          /* bytes of cached keys+values at full size */
} el_kv;

/* types_k/types_v: n_layer el_type values (F32 or F16). */
int el_kv_init(el_kv *kv, int32_t n_layer, int32_t n_seq, int32_t n_ctx, int32_t n_head_kv,
               int32_t head_dim_k, int32_t head_dim_v, const int32_t *types_k,
               const int32_t *types_v, char *err, size_t errlen);
void el_kv_free(el_kv *kv);

/* Bytes one cached row (one position of one KV head) of type t and head dim n takes. */
size_t el_kv_row_bytes(int32_t type, int32_t n);

/* Writes the key and value rows of (layer, seq, pos): k holds n_head_kv * head_dim_k floats
 * (the heads one after another), v likewise. */
void el_kv_store(el_kv *kv, int32_t layer, int32_t seq, int32_t pos, const float *k,
                 const float *v);

/* Pointers to the first cached row of (layer, seq, KV head); rows follow at
 * el_kv_row_bytes(type, head_dim). */
static inline const uint8_t *el_kv_k_head(const el_kv *kv, int32_t layer, int32_t seq,
                                          int32_t head) {
    size_t row = el_kv_row_bytes(kv->type_k[layer], kv->head_dim_k);
    return kv->k[layer] + ((size_t)seq * (size_t)kv->n_head_kv + (size_t)head) *
                              (size_t)kv->n_ctx * row;
}
static inline const uint8_t *el_kv_v_head(const el_kv *kv, int32_t layer, int32_t seq,
                                          int32_t head) {
    size_t row = el_kv_row_bytes(kv->type_v[layer], kv->head_dim_v);
    return kv->v[layer] + ((size_t)seq * (size_t)kv->n_head_kv + (size_t)head) *
                              (size_t)kv->n_ctx * row;
}

#endif
