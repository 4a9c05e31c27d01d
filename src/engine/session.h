/* engine/session.h — internal view of a session: its KV cache, thread pool and the scratch
 * the forward pass works in (all sized at open for n_batch tokens; nothing allocated
 * while decoding). */
#ifndef EL_ENGINE_SESSION_H
#define EL_ENGINE_SESSION_H

#include "engine/model.h"
#include "kernels/attn.h"
#include "kv/kv.h"

/* Tokens of a prompt batch the FFN processes at once (engine/forward.c). */
#define EL_FFN_CHUNK 128

struct el_pool;

struct el_session {
    el_model *m;
    el_kv kv;
    struct el_pool *pool;
    int32_t n_threads;
    int32_t n_ctx, n_seq, n_batch, n_outputs;

    /* scratch, rows of the current batch (T <= n_batch) */
    float *x;       /* (n_batch, n_embd) residual stream */
    float *xn;      /* (n_batch, max(n_embd, q_dim, n_ff)) normalised input of a matmul */
    float *q;       /* (n_batch, n_head*head_dim) */
    float *k;       /* (n_batch, n_head_kv*head_dim) */
    float *v;       /* (n_batch, n_head_kv*head_dim_v) */
    float *att;     /* (n_batch, n_head*head_dim_v) attention output */
    float *gate;    /* (min(n_batch, EL_FFN_CHUNK), n_ff): the FFN runs in token chunks */
    float *up;      /* (min(n_batch, EL_FFN_CHUNK), n_ff) */
    uint8_t *xq;    /* (n_batch, xq_row_cap) activations quantized to a weight's vec_dot_type */
    size_t xq_row_cap;
    el_attn_fn *attn_fn; /* (n_layer) the attention kernel for the layer's K/V cache types */
    float *inv_freq;/* (n_rot/2) RoPE inverse frequencies (scaling and freq factors folded) */
    int32_t *out_rows; /* (n_outputs) batch index of each output */
    int32_t *seq_next; /* (n_seq) validation: next expected position per sequence */

    float *logits;  /* (n_outputs, n_vocab) */
    int32_t n_out_last;
    void *block;    /* the one scratch allocation */
};

/* Runs the layers over a validated batch; fills logits for out_rows. */
void el_forward(el_session *s, const el_batch *b, int32_t n_out);

#endif
