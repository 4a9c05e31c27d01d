/* engine/model.c — opens a GGUF model: reads the architecture's hyperparameters from
 * metadata (no model sizes are hard-coded), binds every tensor by name with its shape
 * checked, widens the small 1-D tensors (norms, biases) to f32, and loads the tokenizer and
 * chat template.
 *
 * Memory: weight matrices stay in the read-only mapping, except those of a type with a packed
 * layout the CPU's kernels read (kernels/repack.h: q4_0, q5_0, q8_0 on x86, q4_K and q6_K at
 * AVX-512): those are copied once, interleaved, into one allocation, and the mapping's pages
 * of the original are released, so the process holds about one copy either way (EL_REPACK=0:
 * no copies). The other copies are the 1-D vectors (a few hundred KB even for 8B models), in
 * one allocation.
 * Invariant after el_model_open: every el_weight has a type whose traits can dequantize it
 * and a vec_dot for its activation type, and every shape matches the hyperparameters, so
 * the forward pass needs no further checks.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "engine/model.h"
#include "kernels/cpu.h"
#include "kernels/dispatch.h"
#include "kernels/repack.h"
#include "kernels/types.h"
#include "tok/template.h"
#include "tok/tok.h"

typedef struct loader {
    el_model *m;
    char *err;
    size_t errlen;
    /* 1-D vectors: first pass counts floats, second pass fills */
    size_t vec_used, vec_cap;
} loader;

static int get_u32(loader *L, const char *suffix, int32_t *out, bool required, int32_t def) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", L->m->arch_name, suffix);
    int64_t v;
    int rc = el_gguf_get_i64(L->m->g, key, &v);
    if (rc == -1) {
        if (required) return el_errf(L->err, L->errlen, "model: missing metadata key %s", key);
        *out = def;
        return 0;
    }
    if (rc < 0) {
        /* some converters store counts per layer as arrays; we need one value */
        el_gguf_arr a;
        if (el_gguf_get_arr(L->m->g, key, &a) == 0 && a.n > 0) {
            v = el_gguf_arr_i64(&a, 0);
            for (uint64_t i = 1; i < a.n; i++)
                if (el_gguf_arr_i64(&a, i) != v)
                    return el_errf(L->err, L->errlen,
                                   "model: %s varies per layer, which is not supported", key);
        } else {
            return el_errf(L->err, L->errlen, "model: metadata key %s is not an integer", key);
        }
    }
    if (v < 0 || v > (1 << 30))
        return el_errf(L->err, L->errlen, "model: %s = %lld is out of range", key, (long long)v);
    *out = (int32_t)v;
    return 0;
}

static int get_f32(loader *L, const char *suffix, float *out, float def) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", L->m->arch_name, suffix);
    double v;
    int rc = el_gguf_get_f64(L->m->g, key, &v);
    if (rc == -1) {
        *out = def;
        return 0;
    }
    if (rc < 0 || !isfinite(v))
        return el_errf(L->err, L->errlen, "model: metadata key %s is not a finite number", key);
    *out = (float)v;
    return 0;
}

static const el_gguf_tensor *find_tensor(loader *L, const char *name, bool required) {
    const el_gguf_tensor *t = el_gguf_find_tensor(L->m->g, name);
    if (!t && required) el_errf(L->err, L->errlen, "model: missing tensor %s", name);
    return t;
}

/* Binds a 2-D weight (n_in, n_out) = (ne0, ne1). */
static int bind_weight(loader *L, el_weight *w, const char *name, int64_t n_in, int64_t n_out,
                       bool required) {
    const el_gguf_tensor *t = find_tensor(L, name, required);
    if (!t) return required ? -1 : 1;
    if (t->n_dims != 2 || t->ne[0] != n_in || t->ne[1] != n_out)
        return el_errf(L->err, L->errlen,
                       "model: tensor %s has shape [%lld, %lld, %lld], expected [%lld, %lld]",
                       name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                       (long long)n_in, (long long)n_out);
    const el_type_info *ti = el_type_traits(t->type);
    const el_type_info *vt = ti ? el_type_traits(ti->vec_dot_type) : NULL;
    if (!ti || !ti->to_float || !ti->vec_dot || !vt || (ti->vec_dot_type != EL_TYPE_F32 && !vt->from_float))
        return el_errf(L->err, L->errlen, "model: tensor %s has type %s, which is not supported yet",
                       name, ti ? ti->name : "unknown");
    w->data = t->data;
    w->type = t->type;
    w->n_in = n_in;
    w->n_out = n_out;
    w->row_bytes = el_row_size(t->type, n_in);
    L->m->n_params += (uint64_t)(n_in * n_out);
    L->m->weight_bytes += t->size;
    return 0;
}

/* Binds a 1-D tensor of n elements, widened to f32 in the model's vector block. During the
 * counting pass (m->vectors == NULL) it only checks and counts. */
static int bind_vector(loader *L, const float **out, const char *name, int64_t n, bool required) {
    const el_gguf_tensor *t = find_tensor(L, name, required);
    if (!t) {
        *out = NULL;
        return required ? -1 : 1;
    }
    if (t->n_elements != n || t->ne[0] != n)
        return el_errf(L->err, L->errlen, "model: tensor %s has %lld elements, expected %lld",
                       name, (long long)t->n_elements, (long long)n);
    const el_type_info *ti = el_type_traits(t->type);
    if (!ti || !ti->to_float || n % ti->blck_size)
        return el_errf(L->err, L->errlen, "model: tensor %s has unsupported type %s", name,
                       ti ? ti->name : "unknown");
    if (L->m->vectors) {
        float *dst = L->m->vectors + L->vec_used;
        ti->to_float(t->data, dst, n);
        *out = dst;
    } else {
        *out = NULL;
    }
    L->vec_used += (size_t)n;
    L->m->n_params += (uint64_t)n;
    L->m->weight_bytes += t->size;
    return 0;
}

static int read_hparams(loader *L) {
    el_model *m = L->m;
    el_hparams *hp = &m->hp;
    if (get_u32(L, "block_count", &hp->n_layer, true, 0) || get_u32(L, "embedding_length", &hp->n_embd, true, 0) ||
        get_u32(L, "feed_forward_length", &hp->n_ff, true, 0) ||
        get_u32(L, "attention.head_count", &hp->n_head, true, 0) ||
        get_u32(L, "context_length", &hp->n_ctx_train, false, 2048))
        return -1;
    if (get_u32(L, "attention.head_count_kv", &hp->n_head_kv, false, hp->n_head)) return -1;
    if (hp->n_layer < 1 || hp->n_embd < 1 || hp->n_head < 1 || hp->n_ff < 1 || hp->n_head_kv < 1)
        return el_errf(L->err, L->errlen, "model: zero-sized hyperparameter (layers %d, embd %d, heads %d, kv heads %d, ffn %d)",
                       hp->n_layer, hp->n_embd, hp->n_head, hp->n_head_kv, hp->n_ff);
    if (hp->n_head % hp->n_head_kv)
        return el_errf(L->err, L->errlen, "model: head_count %d is not a multiple of head_count_kv %d",
                       hp->n_head, hp->n_head_kv);
    int32_t def_hd = hp->n_embd % hp->n_head ? 0 : hp->n_embd / hp->n_head;
    if (get_u32(L, "attention.key_length", &hp->head_dim, false, def_hd) ||
        get_u32(L, "attention.value_length", &hp->head_dim_v, false, hp->head_dim))
        return -1;
    if (hp->head_dim < 2 || hp->head_dim % 2 || hp->head_dim_v < 1 || hp->head_dim > 1024)
        return el_errf(L->err, L->errlen, "model: unsupported head dimension %d", hp->head_dim);
    if (get_u32(L, "rope.dimension_count", &hp->n_rot, false, hp->head_dim)) return -1;
    if (hp->n_rot > hp->head_dim || hp->n_rot % 2)
        return el_errf(L->err, L->errlen, "model: rope.dimension_count %d does not fit head dim %d",
                       hp->n_rot, hp->head_dim);
    if (get_f32(L, "attention.layer_norm_rms_epsilon", &hp->rms_eps, 1e-5f) ||
        get_f32(L, "rope.freq_base", &hp->rope_base, 10000.0f))
        return -1;
    if (hp->rms_eps <= 0 || hp->rope_base <= 0)
        return el_errf(L->err, L->errlen, "model: rms epsilon and rope base must be positive");
    hp->rope_scale = 1.0f;
    char key[160];
    snprintf(key, sizeof key, "%s.rope.scaling.type", m->arch_name);
    el_gstr st;
    if (el_gguf_get_str(m->g, key, &st) == 0) {
        if (st.n == 6 && !memcmp(st.s, "linear", 6)) {
            float f;
            if (get_f32(L, "rope.scaling.factor", &f, 1.0f)) return -1;
            if (f <= 0) return el_errf(L->err, L->errlen, "model: rope.scaling.factor must be positive");
            hp->rope_scale = 1.0f / f;
        } else if (!(st.n == 4 && !memcmp(st.s, "none", 4)) && !(st.n == 6 && !memcmp(st.s, "llama3", 6))) {
            return el_errf(L->err, L->errlen, "model: rope scaling '%.*s' is not supported yet",
                           (int)EL_MIN(st.n, 32), st.s);
        }
    }
    hp->rope_kind = m->arch == EL_ARCH_LLAMA ? EL_ROPE_NORM : EL_ROPE_NEOX;
    return 0;
}

static int bind_all(loader *L) {
    el_model *m = L->m;
    const el_hparams *hp = &m->hp;
    char name[96];
    L->vec_used = 0;
    m->n_params = 0;
    m->weight_bytes = 0;
    const el_gguf_tensor *te = find_tensor(L, "token_embd.weight", true);
    if (!te) return -1;
    if (te->n_dims != 2 || te->ne[0] != hp->n_embd || te->ne[1] < 1 || te->ne[1] > (1 << 28))
        return el_errf(L->err, L->errlen, "model: token_embd.weight has a bad shape");
    m->hp.n_vocab = (int32_t)te->ne[1];
    if (bind_weight(L, &m->tok_embd, "token_embd.weight", hp->n_embd, hp->n_vocab, true)) return -1;
    m->embd_bytes = te->size;
    if (bind_vector(L, &m->output_norm, "output_norm.weight", hp->n_embd, true) < 0) return -1;
    int rc = bind_weight(L, &m->output, "output.weight", hp->n_embd, hp->n_vocab, false);
    if (rc < 0) return -1;
    if (rc == 1) m->output = m->tok_embd; /* tied */
    if (bind_vector(L, &m->rope_freqs, "rope_freqs.weight", hp->n_rot / 2, false) < 0) return -1;

    int64_t q_dim = (int64_t)hp->n_head * hp->head_dim;
    int64_t k_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    int64_t v_dim = (int64_t)hp->n_head_kv * hp->head_dim_v;
    int64_t o_dim = (int64_t)hp->n_head * hp->head_dim_v;
    for (int il = 0; il < hp->n_layer; il++) {
        el_layer *l = &m->layers[il];
#define W(field, suffix, nin, nout)                                                            \
    do {                                                                                       \
        snprintf(name, sizeof name, "blk.%d.%s.weight", il, suffix);                           \
        if (bind_weight(L, &l->field, name, nin, nout, true)) return -1;                       \
    } while (0)
#define V(field, suffix, kind, n, req)                                                         \
    do {                                                                                       \
        snprintf(name, sizeof name, "blk.%d.%s.%s", il, suffix, kind);                         \
        if (bind_vector(L, &l->field, name, n, req) < 0) return -1;                            \
    } while (0)
        V(attn_norm, "attn_norm", "weight", hp->n_embd, true);
        W(wq, "attn_q", hp->n_embd, q_dim);
        W(wk, "attn_k", hp->n_embd, k_dim);
        W(wv, "attn_v", hp->n_embd, v_dim);
        W(wo, "attn_output", o_dim, hp->n_embd);
        bool bias_req = m->arch == EL_ARCH_QWEN2;
        V(bq, "attn_q", "bias", q_dim, bias_req);
        V(bk, "attn_k", "bias", k_dim, bias_req);
        V(bv, "attn_v", "bias", v_dim, bias_req);
        bool qk_norm = m->arch == EL_ARCH_QWEN3;
        V(q_norm, "attn_q_norm", "weight", hp->head_dim, qk_norm);
        V(k_norm, "attn_k_norm", "weight", hp->head_dim, qk_norm);
        V(ffn_norm, "ffn_norm", "weight", hp->n_embd, true);
        W(w_gate, "ffn_gate", hp->n_embd, hp->n_ff);
        W(w_up, "ffn_up", hp->n_embd, hp->n_ff);
        W(w_down, "ffn_down", hp->n_ff, hp->n_embd);
#undef W
#undef V
    }
    return 0;
}

/* The matrices a forward pass multiplies by (the output one once, even when tied). */
static int matmul_weights(el_model *m, el_weight **out) {
    int n = 0;
    for (int i = 0; i < m->hp.n_layer; i++) {
        el_layer *l = &m->layers[i];
        el_weight *ws[] = {&l->wq, &l->wk, &l->wv, &l->wo, &l->w_gate, &l->w_up, &l->w_down};
        for (size_t j = 0; j < sizeof ws / sizeof ws[0]; j++)
            out[n++] = ws[j];
    }
    out[n++] = &m->output;
    return n;
}

/* Repacking runs on all cores (it is page faults and byte shuffles): the matrices are cut
 * into jobs of ~4 MiB of groups that threads take in turn. Each job releases the file pages
 * of the rows it packed (whole pages inside them; the few pages that straddle two jobs go
 * when the whole matrix is released at the end), so peak memory stays near one copy. */
typedef struct {
    const el_weight *w;
    uint8_t *dst; /* the matrix's packed copy (w->packed, writable) */
    int64_t g0, g1;
} repack_job;
typedef struct {
    repack_job *jobs;
    int n_jobs;
    atomic_int next;
} repack_work;

/* How many jobs of about job_bytes matrix w makes; *per (if given) its groups per job. */
static int64_t jobs_of(const el_weight *w, size_t job_bytes, int64_t *per) {
    const size_t gb = el_repack_group_bytes(w->type, w->n_in);
    const int64_t groups = (w->n_out + EL_REPACK_ROWS - 1) / EL_REPACK_ROWS;
    const int64_t pg = EL_MAX(1, (int64_t)(job_bytes / gb));
    if (per) *per = pg;
    return (groups + pg - 1) / pg;
}

static void *repack_worker(void *p) {
    repack_work *rw = p;
    for (int i; (i = atomic_fetch_add(&rw->next, 1)) < rw->n_jobs;) {
        const repack_job *j = &rw->jobs[i];
        const el_weight *w = j->w;
        el_repack_groups(w->type, w->data, w->row_bytes, w->n_out, w->n_in, j->dst, j->g0, j->g1);
        const int64_t r0 = j->g0 * EL_REPACK_ROWS, r1 = EL_MIN(w->n_out, j->g1 * EL_REPACK_ROWS);
        el_map_release(w->data + (size_t)r0 * w->row_bytes, (size_t)(r1 - r0) * w->row_bytes);
    }
    return NULL;
}

/* Repacks every matrix whose type has a packed layout with kernels at the active level
 * (kernels/repack.h) into one owned buffer, then releases the original's pages: resident
 * memory stays at about one copy of the weights (a few MiB more while loading). EL_REPACK=0
 * in the environment keeps the file's layout. Not repacking is never an error: without
 * memory for the copy the model runs from the file's layout. */
static void repack_weights(el_model *m) {
    const char *env = getenv("EL_REPACK");
    if (env && !strcmp(env, "0")) return;
    el_weight **ws = malloc(sizeof *ws * ((size_t)m->hp.n_layer * 7 + 1));
    if (!ws) return;
    const int n = matmul_weights(m, ws);
    const int level = el_kernels_active_level();
    size_t total = 0;
    int n_jobs = 0;
    const size_t job_bytes = (size_t)4 << 20;
    for (int i = 0; i < n; i++) {
        const size_t b = el_kernels_packs(level, ws[i]->type)
                             ? el_repack_bytes(ws[i]->type, ws[i]->n_out, ws[i]->n_in)
                             : 0;
        if (b && total <= SIZE_MAX - b - 64) {
            total += (b + 63) & ~(size_t)63;
            n_jobs += (int)jobs_of(ws[i], job_bytes, NULL);
        } else {
            ws[i] = NULL;
        }
    }
    repack_job *jobs = total ? malloc(sizeof *jobs * (size_t)n_jobs) : NULL;
    if (jobs) m->packed = el_alloc_aligned(total);
    if (!m->packed) {
        if (total)
            el_log(EL_LOG_WARN, "repack: no memory for %.1f MiB: the weights run unpacked",
                   total / 1048576.0);
        free(jobs);
        free(ws);
        return;
    }
    size_t at = 0;
    int nj = 0;
    for (int i = 0; i < n; i++) {
        el_weight *w = ws[i];
        if (!w) continue;
        uint8_t *dst = m->packed + at;
        w->packed = dst;
        w->group_bytes = el_repack_group_bytes(w->type, w->n_in);
        at += (el_repack_bytes(w->type, w->n_out, w->n_in) + 63) & ~(size_t)63;
        m->n_packed++;
        int64_t per;
        const int64_t nw = jobs_of(w, job_bytes, &per);
        const int64_t groups = (w->n_out + EL_REPACK_ROWS - 1) / EL_REPACK_ROWS;
        for (int64_t k = 0; k < nw; k++)
            jobs[nj++] = (repack_job){w, dst, k * per, EL_MIN(groups, (k + 1) * per)};
    }
    repack_work rw = {.jobs = jobs, .n_jobs = nj};
    atomic_init(&rw.next, 0);
    pthread_t th[7];
    const int n_th = EL_MAX(0, EL_MIN(7, el_cpu_get()->n_logical - 1));
    int started = 0;
    for (int t = 0; t < n_th; t++)
        if (pthread_create(&th[started], NULL, repack_worker, &rw) == 0) started++;
    repack_worker(&rw); /* and this thread; fewer helpers if threads cannot start */
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    /* a tied output is token_embd: the embedding lookup then reads its rows from the packed
     * copy too (engine/forward.c), so its file pages are released like the others' */
    if (m->output.data == m->tok_embd.data && m->output.packed) {
        m->tok_embd.packed = m->output.packed;
        m->tok_embd.group_bytes = m->output.group_bytes;
    }
    for (int i = 0; i < n; i++)
        if (ws[i]) el_map_release(ws[i]->data, (size_t)ws[i]->n_out * ws[i]->row_bytes);
    m->packed_bytes = total;
    el_log(EL_LOG_DEBUG, "repack: %d matrices, %.1f MiB, %d threads", m->n_packed,
           total / 1048576.0, started + 1);
    free(jobs);
    free(ws);
}

el_model *el_model_open(const char *path, char *err, size_t errlen) {
    el_model *m = calloc(1, sizeof *m);
    if (!m) {
        el_errf(err, errlen, "out of memory");
        return NULL;
    }
    loader L = {.m = m, .err = err, .errlen = errlen};
    char gerr[256];
    m->g = el_gguf_open(path, gerr, sizeof gerr);
    if (!m->g) {
        el_errf(err, errlen, "%s", gerr);
        goto fail;
    }
    el_gstr arch;
    if (el_gguf_get_str(m->g, "general.architecture", &arch) != 0) {
        el_errf(err, errlen, "model: general.architecture is missing");
        goto fail;
    }
    if (arch.n == 5 && !memcmp(arch.s, "llama", 5)) {
        m->arch = EL_ARCH_LLAMA;
        m->arch_name = "llama";
    } else if (arch.n == 5 && !memcmp(arch.s, "qwen2", 5)) {
        m->arch = EL_ARCH_QWEN2;
        m->arch_name = "qwen2";
    } else if (arch.n == 5 && !memcmp(arch.s, "qwen3", 5)) {
        m->arch = EL_ARCH_QWEN3;
        m->arch_name = "qwen3";
    } else {
        el_errf(err, errlen, "model: architecture '%.*s' is not supported (llama, qwen2, qwen3)",
                (int)EL_MIN(arch.n, 64), arch.s);
        goto fail;
    }
    el_gstr nm;
    if (el_gguf_get_str(m->g, "general.name", &nm) == 0)
        snprintf(m->name, sizeof m->name, "%.*s", (int)EL_MIN(nm.n, sizeof m->name - 1), nm.s);
    if (read_hparams(&L)) goto fail;
    m->layers = calloc((size_t)m->hp.n_layer, sizeof *m->layers);
    if (!m->layers) {
        el_errf(err, errlen, "out of memory");
        goto fail;
    }
    if (bind_all(&L)) goto fail; /* pass 1: check and count */
    m->vectors = el_alloc_aligned(L.vec_used * sizeof(float));
    if (!m->vectors) {
        el_errf(err, errlen, "out of memory");
        goto fail;
    }
    if (bind_all(&L)) goto fail; /* pass 2: fill */
    repack_weights(m);

    char terr[256];
    m->tok = el_tok_from_gguf(m->g, terr, sizeof terr);
    if (!m->tok) {
        el_errf(err, errlen, "tokenizer: %s", terr);
        goto fail;
    }
    if (el_tok_n_vocab(m->tok) > m->hp.n_vocab) {
        el_errf(err, errlen, "model: tokenizer has %d tokens but token_embd has %d rows",
                el_tok_n_vocab(m->tok), m->hp.n_vocab);
        goto fail;
    }
    el_gstr tmpl;
    if (el_gguf_get_str(m->g, "tokenizer.chat_template", &tmpl) == 0) {
        m->tmpl = el_tmpl_parse(tmpl.s, (size_t)tmpl.n, m->tmpl_err, sizeof m->tmpl_err);
        if (!m->tmpl) el_log(EL_LOG_WARN, "chat template: %s", m->tmpl_err);
    } else {
        snprintf(m->tmpl_err, sizeof m->tmpl_err, "the model has no chat template");
    }
    return m;
fail:
    el_model_close(m);
    return NULL;
}

void el_model_close(el_model *m) {
    if (!m) return;
    if (m->tmpl) el_tmpl_free(m->tmpl);
    if (m->tok) el_tok_free(m->tok);
    el_free_aligned(m->vectors);
    el_free_aligned(m->packed);
    free(m->layers);
    el_gguf_close(m->g);
    free(m);
}

void el_model_describe(const el_model *m, el_model_desc *d) {
    memset(d, 0, sizeof *d);
    d->arch = m->arch_name;
    d->name = m->name;
    d->n_vocab = m->hp.n_vocab;
    d->n_ctx_train = m->hp.n_ctx_train;
    d->n_embd = m->hp.n_embd;
    d->n_layer = m->hp.n_layer;
    d->n_head = m->hp.n_head;
    d->n_head_kv = m->hp.n_head_kv;
    d->head_dim = m->hp.head_dim;
    d->n_ff = m->hp.n_ff;
    d->n_params = m->n_params;
    d->weight_bytes = m->weight_bytes;
    bool tied = m->output.data == m->tok_embd.data;
    d->decode_bytes = m->weight_bytes - (tied ? 0 : m->embd_bytes);
    d->repacked_bytes = m->packed_bytes;
    d->repacked_matrices = m->n_packed;
    d->has_chat_template = m->tmpl != NULL;
}
