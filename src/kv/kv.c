/* kv/kv.c — KV cache storage and accounting (see kv.h for the layout). */
#include "kv/kv.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "kernels/types.h"

size_t el_kv_row_bytes(int32_t type, int32_t n) {
    switch (type) {
    case EL_TYPE_F32: return (size_t)n * 4;
    case EL_TYPE_F16: return (size_t)n * 2;
    default: return 0;
    }
}

int el_kv_init(el_kv *kv, int32_t n_layer, int32_t n_seq, int32_t n_ctx, int32_t n_head_kv,
               int32_t head_dim_k, int32_t head_dim_v, const int32_t *types_k,
               const int32_t *types_v, char *err, size_t errlen) {
    memset(kv, 0, sizeof *kv);
    if (n_layer < 1 || n_seq < 1 || n_ctx < 1 || n_head_kv < 1 || head_dim_k < 1 ||
        head_dim_v < 1)
        return el_errf(err, errlen, "kv cache: bad geometry");
    uint64_t total = 0;
    for (int32_t l = 0; l < n_layer; l++) {
        size_t rk = el_kv_row_bytes(types_k[l], head_dim_k);
        size_t rv = el_kv_row_bytes(types_v[l], head_dim_v);
        if (!rk || !rv) return el_errf(err, errlen, "kv cache: layer %d: unsupported cache type", l);
        uint64_t per, a, b;
        if (!el_mul_u64((uint64_t)n_seq, (uint64_t)n_ctx, &per) ||
            !el_mul_u64(per, (uint64_t)n_head_kv, &per) || !el_mul_u64(per, rk, &a) ||
            !el_mul_u64(per, rv, &b) || !el_add_u64(total, a, &total) ||
            !el_add_u64(total, b, &total))
            return el_errf(err, errlen, "kv cache: size overflows");
        /* keep each layer's block 64-byte aligned */
        total = (total + EL_ALIGN - 1) & ~(uint64_t)(EL_ALIGN - 1);
    }
    if (total > (uint64_t)SIZE_MAX / 2)
        return el_errf(err, errlen, "kv cache: %llu bytes is too large", (unsigned long long)total);
    size_t meta = (size_t)n_layer * (2 * sizeof(int32_t) + 2 * sizeof(uint8_t *)) +
                  (size_t)n_seq * sizeof(int32_t);
    uint8_t *block = el_alloc_aligned((size_t)total);
    uint8_t *m = calloc(1, meta);
    if (!block || !m) {
        el_free_aligned(block);
        free(m);
        return el_errf(err, errlen, "kv cache: cannot allocate %.1f MiB", (double)total / (1 << 20));
    }
    kv->n_layer = n_layer;
    kv->n_seq = n_seq;
    kv->n_ctx = n_ctx;
    kv->n_head_kv = n_head_kv;
    kv->head_dim_k = head_dim_k;
    kv->head_dim_v = head_dim_v;
    kv->k = (uint8_t **)m;
    kv->v = kv->k + n_layer;
    kv->type_k = (int32_t *)(kv->v + n_layer);
    kv->type_v = kv->type_k + n_layer;
    kv->seq_len = kv->type_v + n_layer;
    kv->block = block;
    kv->bytes = total;
    size_t off = 0;
    for (int32_t l = 0; l < n_layer; l++) {
        kv->type_k[l] = types_k[l];
        kv->type_v[l] = types_v[l];
        size_t per = (size_t)n_seq * (size_t)n_head_kv * (size_t)n_ctx;
        kv->k[l] = block + off;
        off += per * el_kv_row_bytes(types_k[l], head_dim_k);
        kv->v[l] = block + off;
        off += per * el_kv_row_bytes(types_v[l], head_dim_v);
        off = (off + EL_ALIGN - 1) & ~(size_t)(EL_ALIGN - 1);
    }
    return 0;
}

void el_kv_free(el_kv *kv) {
    el_free_aligned(kv->block);
    free(kv->k);
    memset(kv, 0, sizeof *kv);
}

static void store_row(int32_t type, uint8_t *dst, const float *src, int32_t n) {
    if (type == EL_TYPE_F32) {
        memcpy(dst, src, (size_t)n * 4);
    } else {
        el_fp16 *h = (el_fp16 *)(void *)dst;
        for (int32_t i = 0; i < n; i++) h[i] = el_fp32_to_fp16(src[i]);
    }
}

void el_kv_store(el_kv *kv, int32_t layer, int32_t seq, int32_t pos, const float *k,
                 const float *v) {
    int32_t tk = kv->type_k[layer], tv = kv->type_v[layer];
    size_t rk = el_kv_row_bytes(tk, kv->head_dim_k), rv = el_kv_row_bytes(tv, kv->head_dim_v);
    for (int32_t h = 0; h < kv->n_head_kv; h++) {
        store_row(tk, (uint8_t *)el_kv_k_head(kv, layer, seq, h) + (size_t)pos * rk,
                  k + (size_t)h * kv->head_dim_k, kv->head_dim_k);
        store_row(tv, (uint8_t *)el_kv_v_head(kv, layer, seq, h) + (size_t)pos * rv,
                  v + (size_t)h * kv->head_dim_v, kv->head_dim_v);
    }
}
