/* kernels/quantize_model.c — `edgellm quantize`: re-encode a GGUF model's weights, choosing
 * each tensor's type the way llama.cpp's llama-quantize does (src/llama-quant.cpp at commit
 * 1eeb523c, read for its rules; no code taken), so a Q4_K_M made here is the Q4_K_M users
 * know.
 *
 * What it owns: the per-tensor type policy (which tensors are quantized at all, the _S/_M
 * mixes, the fallbacks when a row length does not fit a block size) and the streaming of
 * rows through dequantize -> quantize. The block formats themselves are quants.c's.
 *
 * Rules kept from llama-quantize (no importance matrix, no overrides):
 *  - only tensors whose name ends in "weight", with at least 2 non-trivial dims, and that
 *    are not norms, MoE router gates, positional / token-type embeddings or a few small
 *    architecture-specific matrices, are quantized; everything else is copied as it is;
 *  - output.weight (or token_embd.weight when there is no output.weight) gets Q6_K, or Q8_0
 *    when its rows do not fit 256-blocks (or the ftype is Q8_0);
 *  - attn_v / ffn_down / attn_output / attn_qkv get more bits in the _M/_S mixes, by layer
 *    (use_more_bits: the first and last eighth and every third layer in between);
 *  - a row length that does not fit the chosen type falls back: Q2_K/Q3_K/IQ4_XS -> IQ4_NL,
 *    Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, and to F16 when even 32 does not divide.
 * Deliberate differences: llama-quantize refuses a tensor whose rows do not fit a 32-block
 * type (Q4_0 ... Q8_0, IQ4_NL); we write it as F16 and count it as a fallback. Sources that
 * are already quantized are dequantized first (llama-quantize needs --allow-requantize).
 * Tensor shapes keep the source's n_dims (llama-quantize drops trailing 1-dims).
 *
 * Memory: the input is mmapped; unchanged tensors are referenced, never copied; each
 * converted tensor is produced by the writer's fill callback into one buffer of its output
 * size, with one row of floats per thread as scratch. Rows are independent, so the output
 * does not depend on the thread count.
 */
#include "kernels/quantize_model.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "kernels/quants.h"
#include "kernels/types.h"

/* ---- ftypes ------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int ftype;
    int type; /* default tensor type */
} ftypes[] = {
    {"F32", EL_FTYPE_ALL_F32, EL_TYPE_F32},      {"F16", EL_FTYPE_F16, EL_TYPE_F16},
    {"BF16", EL_FTYPE_BF16, EL_TYPE_BF16},       {"Q8_0", EL_FTYPE_Q8_0, EL_TYPE_Q8_0},
    {"Q4_0", EL_FTYPE_Q4_0, EL_TYPE_Q4_0},       {"Q4_1", EL_FTYPE_Q4_1, EL_TYPE_Q4_1},
    {"Q5_0", EL_FTYPE_Q5_0, EL_TYPE_Q5_0},       {"Q5_1", EL_FTYPE_Q5_1, EL_TYPE_Q5_1},
    {"Q2_K", EL_FTYPE_Q2_K, EL_TYPE_Q2_K},       {"Q3_K_S", EL_FTYPE_Q3_K_S, EL_TYPE_Q3_K},
    {"Q3_K_M", EL_FTYPE_Q3_K_M, EL_TYPE_Q3_K},   {"Q3_K_L", EL_FTYPE_Q3_K_L, EL_TYPE_Q3_K},
    {"Q4_K_S", EL_FTYPE_Q4_K_S, EL_TYPE_Q4_K},   {"Q4_K_M", EL_FTYPE_Q4_K_M, EL_TYPE_Q4_K},
    {"Q5_K_S", EL_FTYPE_Q5_K_S, EL_TYPE_Q5_K},   {"Q5_K_M", EL_FTYPE_Q5_K_M, EL_TYPE_Q5_K},
    {"Q6_K", EL_FTYPE_Q6_K, EL_TYPE_Q6_K},       {"IQ4_NL", EL_FTYPE_IQ4_NL, EL_TYPE_IQ4_NL},
    {"IQ4_XS", EL_FTYPE_IQ4_XS, EL_TYPE_IQ4_XS}, {"MXFP4_MOE", EL_FTYPE_MXFP4_MOE, EL_TYPE_MXFP4},
};

int el_quantize_ftype_from_name(const char *name) {
    if (!name) return -1;
    if (!strcasecmp(name, "Q3_K")) return EL_FTYPE_Q3_K_M; /* llama-quantize's aliases */
    if (!strcasecmp(name, "Q4_K")) return EL_FTYPE_Q4_K_M;
    if (!strcasecmp(name, "Q5_K")) return EL_FTYPE_Q5_K_M;
    for (size_t i = 0; i < EL_ARRAY_LEN(ftypes); i++)
        if (!strcasecmp(name, ftypes[i].name)) return ftypes[i].ftype;
    return -1;
}

const char *el_quantize_ftype_name(int ftype) {
    for (size_t i = 0; i < EL_ARRAY_LEN(ftypes); i++)
        if (ftypes[i].ftype == ftype) return ftypes[i].name;
    return NULL;
}

const char *el_quantize_ftype_list(void) {
    return "Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M "
           "Q6_K IQ4_NL IQ4_XS MXFP4_MOE F16 BF16 F32";
}

static int default_type(int ftype) {
    for (size_t i = 0; i < EL_ARRAY_LEN(ftypes); i++)
        if (ftypes[i].ftype == ftype) return ftypes[i].type;
    return -1;
}

/* ---- model facts the policy reads --------------------------------------------------------- */

typedef struct model_info {
    char arch[64];
    int n_layer, n_expert, n_gqa;
    bool is_70b; /* llama.cpp's LLM_TYPE_70B, which gives attn_v more bits */
    bool is_falcon;
    bool has_output; /* output.weight exists (else token_embd doubles as output) */
    int n_attention_wv;
} model_info;

/* An integer hyperparameter that may be stored per layer as an array: element 0 then. */
static int64_t hparam(const el_gguf *g, const char *arch, const char *suffix, int64_t dflt) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t v;
    if (el_gguf_get_i64(g, key, &v) == 0) return v;
    el_gguf_arr a;
    if (el_gguf_get_arr(g, key, &a) == 0 && a.n > 0) return el_gguf_arr_i64(&a, 0);
    return dflt;
}

static bool contains(const char *s, const char *sub) {
    return strstr(s, sub) != NULL;
}

static void read_model_info(const el_gguf *g, model_info *mi) {
    memset(mi, 0, sizeof *mi);
    el_gstr a;
    if (el_gguf_get_str(g, "general.architecture", &a) == 0 && a.n < sizeof mi->arch) {
        memcpy(mi->arch, a.s, (size_t)a.n);
        mi->arch[a.n] = 0;
    }
    mi->n_layer = (int)EL_MAX(0, EL_MIN(hparam(g, mi->arch, "block_count", 0), 1 << 20));
    mi->n_expert = (int)EL_MAX(0, EL_MIN(hparam(g, mi->arch, "expert_count", 0), 1 << 20));
    int64_t n_head = hparam(g, mi->arch, "attention.head_count", 0);
    int64_t n_head_kv = hparam(g, mi->arch, "attention.head_count_kv", n_head);
    mi->n_gqa = n_head_kv > 0 ? (int)EL_MIN(n_head / n_head_kv, 1 << 20) : 0;
    mi->is_falcon = !strcmp(mi->arch, "falcon");
    if (mi->n_layer == 80) {
        if (!strcmp(mi->arch, "llama"))
            mi->is_70b = mi->n_expert != 8 && n_head != n_head_kv; /* else "65B" (or MoE) */
        else
            mi->is_70b = !strcmp(mi->arch, "deci") || !strcmp(mi->arch, "qwen2") ||
                         !strcmp(mi->arch, "qwen2vl") || !strcmp(mi->arch, "olmo");
    }
    for (int64_t i = 0; i < el_gguf_n_tensors(g); i++) {
        const char *name = el_gguf_tensor_at(g, i)->name;
        if (contains(name, "attn_v.weight") || contains(name, "attn_qkv.weight") ||
            contains(name, "attn_kv_b.weight"))
            mi->n_attention_wv++;
        else if (!strcmp(name, "output.weight"))
            mi->has_output = true;
    }
}

/* ---- llama-quantize's tensor order -------------------------------------------------------- */

static int layer_of(const char *name) {
    int l = -1;
    if (sscanf(name, "blk.%d.", &l) != 1) l = -1;
    return l;
}

typedef struct sort_key {
    int layer; /* -1 for tensors outside the blocks */
    const char *name;
    int index;
} sort_key;

static int cmp_tensors(const void *pa, const void *pb) {
    const sort_key *a = pa, *b = pb;
    if (a->layer != b->layer) return a->layer < b->layer ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* ---- the policy --------------------------------------------------------------------------- */

typedef struct counters {
    int i_attention_wv, i_ffn_down, i_ffn_gate, i_ffn_up;
} counters;

static bool use_more_bits(int i_layer, int n_layers) {
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 ||
           (i_layer - n_layers / 8) % 3 == 2;
}

/* The layer a per-layer tensor belongs to: the running count, except in MoE models where
 * experts are not consecutive and the name says it (llama.cpp's reasoning). */
static int layer_index(const model_info *mi, int counter, const char *name) {
    if (mi->n_expert > 1) {
        int l = layer_of(name);
        if (l >= 0 && l < mi->n_layer) return l;
    }
    return counter;
}

static bool name_ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !memcmp(s + n - m, suffix, m);
}

static int n_dims_of(const el_gguf_tensor *t) {
    int nd = 1;
    for (int d = 1; d < EL_GGUF_MAX_DIMS; d++)
        if (t->ne[d] > 1) nd = d + 1;
    return nd;
}

/* Whether llama-quantize would quantize this tensor at all. */
static bool wants_quantize(const el_gguf_tensor *t) {
    static const char *const never[] = {"_norm.weight",
                                        "ffn_gate_inp.weight",
                                        "altup",
                                        "laurel",
                                        "per_layer_model_proj",
                                        "ssm_conv1d.weight",
                                        "shortconv.conv.weight",
                                        "time_mix_first.weight",
                                        "time_mix_w0.weight",
                                        "time_mix_w1.weight",
                                        "time_mix_w2.weight",
                                        "time_mix_v0.weight",
                                        "time_mix_v1.weight",
                                        "time_mix_v2.weight",
                                        "time_mix_a0.weight",
                                        "time_mix_a1.weight",
                                        "time_mix_a2.weight",
                                        "time_mix_g1.weight",
                                        "time_mix_g2.weight",
                                        "time_mix_decay_w1.weight",
                                        "time_mix_decay_w2.weight",
                                        "time_mix_lerp_fused.weight",
                                        "attn_rel_b.weight"};
    const char *name = t->name;
    if (!name_ends_with(name, "weight") || n_dims_of(t) < 2) return false;
    for (size_t i = 0; i < EL_ARRAY_LEN(never); i++)
        if (contains(name, never[i])) return false;
    if (!strcmp(name, "position_embd.weight") || !strcmp(name, "token_types.weight")) return false;
    return true;
}

/* llama_tensor_get_type for the ftypes we write: the mix, then the fallback. */
static int tensor_type(const model_info *mi, counters *c, int ftype, int new_type,
                       const el_gguf_tensor *t, bool *fallback) {
    const char *name = t->name;
    const int64_t nx = t->ne[0];
    const int F = ftype;
    *fallback = false;

    if (!strcmp(name, "output.weight") || (!mi->has_output && !strcmp(name, "token_embd.weight"))) {
        if (F == EL_FTYPE_MXFP4_MOE)
            new_type = EL_TYPE_Q8_0;
        else if (mi->is_falcon || nx % el_type_traits(new_type)->blck_size != 0)
            new_type = EL_TYPE_Q8_0;
        else if (new_type != EL_TYPE_Q8_0)
            new_type = EL_TYPE_Q6_K;
    } else if (F == EL_FTYPE_MXFP4_MOE) {
        new_type = t->ne[2] > 1 ? EL_TYPE_MXFP4 : EL_TYPE_Q8_0; /* experts vs the rest */
    } else if (!strcmp(name, "token_embd.weight") || !strcmp(name, "per_layer_token_embd.weight")) {
        /* only the IQ1/IQ2/IQ3/TQ mixes touch it */
    } else if (contains(name, "attn_v.weight")) {
        if (F == EL_FTYPE_Q2_K)
            new_type = mi->n_gqa >= 4 ? EL_TYPE_Q4_K : EL_TYPE_Q3_K;
        else if (F == EL_FTYPE_Q3_K_M)
            new_type = c->i_attention_wv < 2 ? EL_TYPE_Q5_K : EL_TYPE_Q4_K;
        else if (F == EL_FTYPE_Q3_K_L)
            new_type = EL_TYPE_Q5_K;
        else if ((F == EL_FTYPE_IQ4_NL || F == EL_FTYPE_IQ4_XS) && mi->n_gqa >= 4)
            new_type = EL_TYPE_Q5_K;
        else if ((F == EL_FTYPE_Q4_K_M || F == EL_FTYPE_Q5_K_M) &&
                 use_more_bits(c->i_attention_wv, mi->n_attention_wv))
            new_type = EL_TYPE_Q6_K;
        else if (F == EL_FTYPE_Q4_K_S && c->i_attention_wv < 4)
            new_type = EL_TYPE_Q5_K;
        /* 70B: 8 heads share attn_v, so it is 8x smaller than attn_q and more bits are cheap */
        if (mi->is_70b && (new_type == EL_TYPE_Q3_K || new_type == EL_TYPE_Q4_K))
            new_type = EL_TYPE_Q5_K;
        if (mi->n_expert == 8) new_type = EL_TYPE_Q8_0;
        c->i_attention_wv++;
    } else if (contains(name, "attn_k.weight")) {
        if (mi->n_expert == 8) new_type = EL_TYPE_Q8_0;
    } else if (contains(name, "attn_q.weight")) {
        /* only the IQ3 mixes touch it */
    } else if (contains(name, "ffn_down")) {
        const int il = layer_index(mi, c->i_ffn_down, name), nl = mi->n_layer;
        if (F == EL_FTYPE_Q2_K)
            new_type = EL_TYPE_Q3_K;
        else if (F == EL_FTYPE_Q3_K_M)
            new_type = il < nl / 16                              ? EL_TYPE_Q5_K
                       : !mi->is_falcon || use_more_bits(il, nl) ? EL_TYPE_Q4_K
                                                                 : EL_TYPE_Q3_K;
        else if (F == EL_FTYPE_Q3_K_L)
            new_type = mi->is_falcon ? EL_TYPE_Q4_K : EL_TYPE_Q5_K;
        else if (F == EL_FTYPE_Q4_K_M) {
            if (mi->is_falcon)
                new_type = il < nl / 16            ? EL_TYPE_Q6_K
                           : use_more_bits(il, nl) ? EL_TYPE_Q5_K
                                                   : EL_TYPE_Q4_K;
            else if (use_more_bits(il, nl))
                new_type = EL_TYPE_Q6_K;
        } else if (il < nl / 8 && (F == EL_FTYPE_IQ4_NL || F == EL_FTYPE_IQ4_XS))
            new_type = EL_TYPE_Q5_K;
        else if (F == EL_FTYPE_Q5_K_M && use_more_bits(il, nl))
            new_type = EL_TYPE_Q6_K;
        else if (F == EL_FTYPE_Q4_K_S && !mi->is_falcon && il < nl / 8)
            new_type = EL_TYPE_Q5_K;
        c->i_ffn_down++;
    } else if (contains(name, "attn_output.weight")) {
        if (!mi->is_falcon) {
            if (mi->n_expert == 8) {
                if (F == EL_FTYPE_Q2_K || F == EL_FTYPE_Q3_K_S || F == EL_FTYPE_Q3_K_M ||
                    F == EL_FTYPE_IQ4_NL || F == EL_FTYPE_Q4_K_S || F == EL_FTYPE_Q4_K_M ||
                    F == EL_FTYPE_IQ4_XS)
                    new_type = EL_TYPE_Q5_K;
            } else {
                if (F == EL_FTYPE_Q2_K)
                    new_type = EL_TYPE_Q3_K;
                else if (F == EL_FTYPE_Q3_K_M)
                    new_type = EL_TYPE_Q4_K;
                else if (F == EL_FTYPE_Q3_K_L)
                    new_type = EL_TYPE_Q5_K;
            }
        } else if (F == EL_FTYPE_Q3_K_L) {
            new_type = EL_TYPE_Q4_K;
        }
    } else if (contains(name, "attn_qkv.weight")) {
        if (F == EL_FTYPE_Q3_K_M || F == EL_FTYPE_Q3_K_L)
            new_type = EL_TYPE_Q4_K;
        else if (F == EL_FTYPE_Q4_K_M)
            new_type = EL_TYPE_Q5_K;
        else if (F == EL_FTYPE_Q5_K_M)
            new_type = EL_TYPE_Q6_K;
    } else if (contains(name, "ffn_gate")) {
        c->i_ffn_gate++; /* only the IQ3_XS mix acts on it */
    } else if (contains(name, "ffn_up")) {
        c->i_ffn_up++;
    }

    if (nx % el_type_traits(new_type)->blck_size != 0) {
        *fallback = true;
        switch (new_type) {
        case EL_TYPE_Q2_K:
        case EL_TYPE_Q3_K:
        case EL_TYPE_IQ4_XS:
            new_type = EL_TYPE_IQ4_NL;
            break;
        case EL_TYPE_Q4_K:
            new_type = EL_TYPE_Q5_0;
            break;
        case EL_TYPE_Q5_K:
            new_type = EL_TYPE_Q5_1;
            break;
        case EL_TYPE_Q6_K:
            new_type = EL_TYPE_Q8_0;
            break;
        default:
            new_type = EL_TYPE_F16;
            break; /* llama-quantize gives up here */
        }
        if (nx % el_type_traits(new_type)->blck_size != 0) new_type = EL_TYPE_F16;
    }
    return new_type;
}

int el_quantize_plan(const el_gguf *g, int ftype, int *types, bool *fallback, int *order, char *err,
                     size_t errlen) {
    const int dtype = default_type(ftype);
    if (dtype < 0) return el_errf(err, errlen, "file type %d cannot be written", ftype);
    const int64_t n = el_gguf_n_tensors(g);
    if (n > INT32_MAX / 2) return el_errf(err, errlen, "too many tensors (%lld)", (long long)n);
    model_info mi;
    read_model_info(g, &mi);
    int *ord = malloc((size_t)(n ? n : 1) * sizeof *ord);
    sort_key *keys = malloc((size_t)(n ? n : 1) * sizeof *keys);
    if (!ord || !keys) {
        free(ord);
        free(keys);
        return el_errf(err, errlen, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        const char *name = el_gguf_tensor_at(g, i)->name;
        keys[i] = (sort_key){layer_of(name), name, i};
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_tensors);
    for (int k = 0; k < n; k++)
        ord[k] = keys[k].index;
    free(keys);

    counters c = {0, 0, 0, 0};
    const bool mixed = el_type_traits(dtype)->is_quantized;
    for (int k = 0; k < n; k++) {
        const int i = ord[k];
        const el_gguf_tensor *t = el_gguf_tensor_at(g, i);
        int type = t->type;
        bool fb = false;
        if (wants_quantize(t)) type = mixed ? tensor_type(&mi, &c, ftype, dtype, t, &fb) : dtype;
        types[i] = type;
        if (fallback) fallback[i] = fb;
    }
    if (order) memcpy(order, ord, (size_t)n * sizeof *ord);
    free(ord);
    return 0;
}

/* ---- conversion --------------------------------------------------------------------------- */

typedef struct convert_job {
    const el_gguf_tensor *t;
    int dst_type;
    int n_threads;
    int64_t n_per_row, nrows;
    size_t src_rs, dst_rs;
} convert_job;

typedef struct convert_part {
    const convert_job *job;
    uint8_t *dst;
    int64_t r0, r1;
    int status; /* 0 ok, -1 out of memory */
} convert_part;

static void *convert_rows(void *arg) {
    convert_part *p = arg;
    const convert_job *j = p->job;
    /* the scalar reference kernels, not the dispatched ones: a file must not depend on the
     * CPU that wrote it, and these are the ones that match llama-quantize's bytes */
    const el_quant_kernels *src = el_quants_ref(j->t->type), *dst = el_quants_ref(j->dst_type);
    float *row = malloc((size_t)j->n_per_row * sizeof(float));
    if (!row) {
        p->status = -1;
        return NULL;
    }
    const uint8_t *in = j->t->data;
    for (int64_t r = p->r0; r < p->r1; r++) {
        src->to_float(in + (size_t)r * j->src_rs, row, j->n_per_row);
        dst->from_float(row, p->dst + (size_t)r * j->dst_rs, j->n_per_row);
    }
    free(row);
    p->status = 0;
    return NULL;
}

enum { MAX_THREADS = 256 };

static int convert_fill(void *ctx, void *dst, uint64_t size, char *err, size_t errlen) {
    const convert_job *j = ctx;
    if (size != (uint64_t)j->dst_rs * (uint64_t)j->nrows)
        return el_errf(err, errlen, "tensor '%s': size mismatch", j->t->name);
    int nt = (int)EL_MIN((int64_t)j->n_threads, j->nrows);
    if (nt < 1) nt = 1;
    convert_part parts[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    bool started[MAX_THREADS] = {false};
    for (int k = 0; k < nt; k++) {
        parts[k] = (convert_part){j, dst, j->nrows * k / nt, j->nrows * (k + 1) / nt, 0};
        if (k > 0) started[k] = pthread_create(&tid[k], NULL, convert_rows, &parts[k]) == 0;
    }
    convert_rows(&parts[0]);
    int status = parts[0].status;
    for (int k = 1; k < nt; k++) {
        if (started[k])
            pthread_join(tid[k], NULL);
        else
            convert_rows(&parts[k]); /* could not start a thread: do its rows here */
        if (parts[k].status) status = parts[k].status;
    }
    if (status) return el_errf(err, errlen, "tensor '%s': out of memory", j->t->name);
    return 0;
}

int el_quantize_model(const char *in_path, const char *out_path, const el_quantize_params *p,
                      el_quantize_stats *stats, char *err, size_t errlen) {
    if (!in_path || !out_path || !p) return el_errf(err, errlen, "el_quantize_model: bad argument");
    if (default_type(p->ftype) < 0)
        return el_errf(err, errlen, "file type %d cannot be written", p->ftype);
    el_quantize_stats st = {0, 0, 0, 0, 0};
    el_gguf *g = el_gguf_open(in_path, err, errlen);
    if (!g) return -1;
    const int64_t n = el_gguf_n_tensors(g);
    const size_t nalloc = (size_t)(n ? n : 1);
    int *types = malloc(nalloc * sizeof *types), *order = malloc(nalloc * sizeof *order);
    bool *fallback = malloc(nalloc * sizeof *fallback);
    convert_job *jobs = calloc(nalloc, sizeof *jobs);
    el_gguf_writer *w = el_gguf_writer_new();
    int rc = -1;
    if (!types || !order || !fallback || !jobs || !w) {
        el_errf(err, errlen, "out of memory");
        goto done;
    }
    if (el_quantize_plan(g, p->ftype, types, fallback, order, err, errlen) != 0) goto done;

    /* metadata: everything, in order, minus split bookkeeping; then the two keys
     * llama-quantize sets, removed first so they land at the end as in its files */
    for (int64_t i = 0; i < el_gguf_n_kv(g); i++) {
        const char *key = el_gguf_key(g, i);
        if (!strcmp(key, "split.no") || !strcmp(key, "split.count") ||
            !strcmp(key, "split.tensors.count"))
            continue;
        if (el_gguf_copy_kv(w, g, i) != 0) goto werr;
    }
    if (el_gguf_remove_key(w, "general.quantization_version") != 0 ||
        el_gguf_set_u32(w, "general.quantization_version", 2) != 0 ||
        el_gguf_remove_key(w, "general.file_type") != 0 ||
        el_gguf_set_u32(w, "general.file_type", (uint32_t)p->ftype) != 0)
        goto werr;

    const int n_threads = p->n_threads < 1 ? 1 : EL_MIN(p->n_threads, MAX_THREADS);
    for (int k = 0; k < n; k++) {
        const int i = order[k];
        const el_gguf_tensor *t = el_gguf_tensor_at(g, i);
        const int dst_type = types[i];
        uint64_t dst_bytes = t->size;
        if (dst_type == t->type) {
            if (el_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->size) != 0)
                goto werr;
        } else {
            const el_type_info *src = el_type_traits(t->type), *dst = el_type_traits(dst_type);
            if (!el_quants_ref(t->type)->to_float) {
                el_errf(err, errlen, "tensor '%s': cannot convert from %s (no dequantizer)",
                        t->name, src->name);
                goto done;
            }
            convert_job *j = &jobs[i];
            j->t = t;
            j->dst_type = dst_type;
            j->n_threads = n_threads;
            j->n_per_row = t->ne[0];
            j->nrows = t->ne[0] > 0 ? t->n_elements / t->ne[0] : 0;
            j->src_rs = el_row_size(t->type, t->ne[0]);
            j->dst_rs = el_row_size(dst_type, t->ne[0]);
            if (!j->src_rs || !j->dst_rs || !el_quants_ref(dst_type)->from_float ||
                !el_mul_u64(j->dst_rs, (uint64_t)j->nrows, &dst_bytes)) {
                el_errf(err, errlen, "tensor '%s': cannot convert %s -> %s", t->name, src->name,
                        dst->name);
                goto done;
            }
            if (el_gguf_add_tensor_fill(w, t->name, dst_type, t->n_dims, t->ne, dst_bytes,
                                        convert_fill, j) != 0)
                goto werr;
            st.n_quantized++;
        }
        st.n_tensors++;
        st.n_fallback += fallback[i];
        st.src_bytes += t->size;
        st.dst_bytes += dst_bytes;
        if (p->on_tensor) {
            el_quantize_tensor info = {k,       (int)n,   t->name, t->n_dims, t->ne,
                                       t->type, dst_type, t->size, dst_bytes, fallback[i]};
            p->on_tensor(p->ctx, &info);
        }
    }
    if (el_gguf_writer_write(w, out_path, err, errlen) != 0) goto done;
    rc = 0;
    if (stats) *stats = st;
    goto done;
werr:
    el_errf(err, errlen, "%s", el_gguf_writer_error(w));
done:
    el_gguf_writer_free(w);
    free(jobs);
    free(fallback);
    free(order);
    free(types);
    el_gguf_close(g);
    return rc;
}
