/* engine/model.h — internal view of a loaded model: hyperparameters and weights bound by
 * name, per architecture. Only engine/ and kv/ see this; everything above uses edgellm.h. */
#ifndef EL_ENGINE_MODEL_H
#define EL_ENGINE_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "edgellm.h"
#include "gguf/gguf.h"

typedef enum el_arch { EL_ARCH_LLAMA, EL_ARCH_QWEN2, EL_ARCH_QWEN3 } el_arch;
typedef enum el_rope_kind {
    EL_ROPE_NORM, /* rotate adjacent pairs (x[2i], x[2i+1]) — llama */
    EL_ROPE_NEOX, /* rotate halves (x[i], x[i + n_rot/2]) — qwen2, qwen3 */
} el_rope_kind;

/* A 2-D weight matrix in the file's type: rows of n_in elements, n_out rows, mmapped. Matrix
 * products of a type with a packed layout (kernels/repack.h) read `packed`, made at load;
 * `data` stays valid (the file's pages, re-read on demand) for everything else. */
typedef struct el_weight {
    const uint8_t *data;   /* (n_out, row_bytes) */
    int type;              /* el_type */
    int64_t n_in;          /* ne[0] */
    int64_t n_out;         /* ne[1] */
    size_t row_bytes;
    const uint8_t *packed; /* groups of EL_REPACK_ROWS rows, or NULL (owned by the model) */
    size_t group_bytes;    /* stride of packed's groups */
} el_weight;

typedef struct el_layer {
    const float *attn_norm; /* (n_embd) */
    el_weight wq;           /* (n_head*head_dim, n_embd) as (out, in) */
    el_weight wk;           /* (n_head_kv*head_dim, n_embd) */
    el_weight wv;           /* (n_head_kv*head_dim_v, n_embd) */
    el_weight wo;           /* (n_embd, n_head*head_dim_v) */
    const float *bq, *bk, *bv; /* qwen2 biases or NULL */
    const float *q_norm;    /* qwen3: (head_dim) RMS-norm weight on each query head, or NULL */
    const float *k_norm;    /* qwen3: (head_dim) */
    const float *ffn_norm;  /* (n_embd) */
    el_weight w_gate;       /* (n_ff, n_embd) */
    el_weight w_up;         /* (n_ff, n_embd) */
    el_weight w_down;       /* (n_embd, n_ff) */
} el_layer;

typedef struct el_hparams {
    int32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head, n_head_kv, head_dim, head_dim_v;
    int32_t n_ff, n_rot;
    float rms_eps;
    float rope_base;
    float rope_scale;        /* linear position scaling (1: none) */
    el_rope_kind rope_kind;
} el_hparams;

struct el_tok;
struct el_tmpl;

struct el_model {
    el_gguf *g;
    el_arch arch;
    const char *arch_name;
    char name[128];
    el_hparams hp;
    el_weight tok_embd;         /* (n_vocab, n_embd) */
    el_weight output;           /* (n_vocab, n_embd); == tok_embd when tied */
    const float *output_norm;   /* (n_embd) */
    const float *rope_freqs;    /* (n_rot/2) frequency divisors (llama3 scaling) or NULL */
    el_layer *layers;           /* (n_layer) */
    float *vectors;             /* owned: every 1-D tensor widened to f32, carved */
    struct el_tok *tok;
    struct el_tmpl *tmpl;       /* parsed chat template or NULL */
    char tmpl_err[256];         /* why tmpl is NULL when the file has one */
    uint64_t n_params;
    uint64_t weight_bytes;
    uint64_t embd_bytes; /* bytes of token_embd.weight */
    uint8_t *packed;     /* owned: every repacked matrix, carved (NULL: none) */
    size_t packed_bytes;
    int n_packed;        /* matrices repacked */
};

#endif
