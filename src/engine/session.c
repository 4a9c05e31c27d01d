/* engine/session.c — sessions: one allocation for the scratch of the forward pass, the KV
 * cache, a thread pool; batch validation (a failed decode leaves the caches as they were);
 * logits access; sequence truncation (for prefix reuse and chat turn rollback). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "engine/session.h"
#include "kernels/threadpool.h"
#include "kernels/types.h"

void el_session_params_default(el_session_params *p) {
    memset(p, 0, sizeof *p);
    p->type_k = EL_KV_F16;
    p->type_v = EL_KV_F16;
}

static int32_t kv_el_type(el_kv_type t) { return t == EL_KV_F32 ? EL_TYPE_F32 : EL_TYPE_F16; }

/* Largest activation row (bytes) any weight of the model quantizes its input into; also
 * the scratch the embedding lookup unpacks a row of a repacked token_embd into. */
static size_t max_xq_row(const el_model *m) {
    size_t mx = m->tok_embd.packed ? m->tok_embd.row_bytes : 0;
    const el_weight *ws[] = {&m->output};
    for (size_t i = 0; i < EL_ARRAY_LEN(ws); i++) {
        const el_type_info *ti = el_type_traits(ws[i]->type);
        mx = EL_MAX(mx, el_row_size(ti->vec_dot_type, ws[i]->n_in));
    }
    for (int l = 0; l < m->hp.n_layer; l++) {
        const el_layer *L = &m->layers[l];
        const el_weight *lw[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < EL_ARRAY_LEN(lw); i++) {
            const el_type_info *ti = el_type_traits(lw[i]->type);
            mx = EL_MAX(mx, el_row_size(ti->vec_dot_type, lw[i]->n_in));
        }
    }
    return (mx + EL_ALIGN - 1) & ~(size_t)(EL_ALIGN - 1);
}

el_session *el_session_open(el_model *m, const el_session_params *pp, char *err, size_t errlen) {
    el_session_params p;
    if (pp)
        p = *pp;
    else
        el_session_params_default(&p);
    const el_hparams *hp = &m->hp;
    if (p.n_ctx < 0 || p.n_seq < 0 || p.n_batch < 0 || p.n_outputs < 0 || p.n_threads < 0) {
        el_errf(err, errlen, "session: negative parameter");
        return NULL;
    }
    if (p.n_ctx == 0) p.n_ctx = EL_MIN(hp->n_ctx_train > 0 ? hp->n_ctx_train : 4096, 4096);
    if (p.n_seq == 0) p.n_seq = 1;
    if (p.n_batch == 0) p.n_batch = 512;
    if (p.n_outputs == 0) p.n_outputs = p.n_seq;
    if (p.n_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        p.n_threads = n > 0 ? (int32_t)EL_MIN(n, 64) : 1;
    }
    if (p.n_ctx > (1 << 24) || p.n_seq > 4096 || p.n_batch > (1 << 16) || p.n_threads > 256) {
        el_errf(err, errlen, "session: parameter out of range (n_ctx %d, n_seq %d, n_batch %d, threads %d)",
                p.n_ctx, p.n_seq, p.n_batch, p.n_threads);
        return NULL;
    }
    if (p.n_outputs > p.n_batch) p.n_outputs = p.n_batch;

    el_session *s = calloc(1, sizeof *s);
    int32_t *tk = calloc((size_t)hp->n_layer * 2, sizeof(int32_t));
    if (!s || !tk) {
        free(s);
        free(tk);
        el_errf(err, errlen, "out of memory");
        return NULL;
    }
    s->m = m;
    s->n_ctx = p.n_ctx;
    s->n_seq = p.n_seq;
    s->n_batch = p.n_batch;
    s->n_outputs = p.n_outputs;
    s->n_threads = p.n_threads;
    for (int l = 0; l < hp->n_layer; l++) {
        tk[l] = kv_el_type(p.layer_types_k ? p.layer_types_k[l] : p.type_k);
        tk[hp->n_layer + l] = kv_el_type(p.layer_types_v ? p.layer_types_v[l] : p.type_v);
    }
    int rc = el_kv_init(&s->kv, hp->n_layer, p.n_seq, p.n_ctx, hp->n_head_kv, hp->head_dim,
                        hp->head_dim_v, tk, tk + hp->n_layer, err, errlen);
    free(tk);
    if (rc) {
        free(s);
        return NULL;
    }

    /* carve the scratch block */
    size_t B = (size_t)p.n_batch;
    size_t qd = (size_t)hp->n_head * hp->head_dim, kd = (size_t)hp->n_head_kv * hp->head_dim;
    size_t vd = (size_t)hp->n_head_kv * hp->head_dim_v, od = (size_t)hp->n_head * hp->head_dim_v;
    s->xq_row_cap = max_xq_row(m);
    struct {
        void **ptr;
        size_t bytes;
    } parts[] = {
        {(void **)&s->x, B * hp->n_embd * 4},
        {(void **)&s->xn, B * hp->n_embd * 4},
        {(void **)&s->q, B * qd * 4},
        {(void **)&s->k, B * kd * 4},
        {(void **)&s->v, B * vd * 4},
        {(void **)&s->att, B * od * 4},
        {(void **)&s->gate, EL_MIN(B, EL_FFN_CHUNK) * hp->n_ff * 4},
        {(void **)&s->up, EL_MIN(B, EL_FFN_CHUNK) * hp->n_ff * 4},
        {(void **)&s->xq, B * s->xq_row_cap},
        {(void **)&s->attn_fn, (size_t)hp->n_layer * sizeof(el_attn_fn)},
        {(void **)&s->inv_freq, (size_t)hp->n_rot / 2 * 4},
        {(void **)&s->out_rows, (size_t)p.n_outputs * 4},
        {(void **)&s->seq_next, (size_t)p.n_seq * 4},
        {(void **)&s->logits, (size_t)p.n_outputs * hp->n_vocab * 4},
    };
    size_t total = 0;
    for (size_t i = 0; i < EL_ARRAY_LEN(parts); i++)
        total += (parts[i].bytes + EL_ALIGN - 1) & ~(size_t)(EL_ALIGN - 1);
    s->block = el_alloc_aligned(total);
    if (!s->block) {
        el_errf(err, errlen, "session: cannot allocate %.1f MiB of scratch", (double)total / (1 << 20));
        el_session_close(s);
        return NULL;
    }
    size_t off = 0;
    for (size_t i = 0; i < EL_ARRAY_LEN(parts); i++) {
        *parts[i].ptr = (uint8_t *)s->block + off;
        off += (parts[i].bytes + EL_ALIGN - 1) & ~(size_t)(EL_ALIGN - 1);
    }
    if (hp->head_dim_v > EL_ATTN_MAX_HDV || hp->head_dim > EL_ATTN_MAX_HDV) {
        el_errf(err, errlen, "session: head dimension %d/%d exceeds %d", hp->head_dim,
                hp->head_dim_v, EL_ATTN_MAX_HDV);
        el_session_close(s);
        return NULL;
    }
    for (int l = 0; l < hp->n_layer; l++) {
        el_attn_fn f = el_attn_get(s->kv.type_k[l], s->kv.type_v[l]);
        if (!f) {
            el_errf(err, errlen, "session: no attention kernel for layer %d's cache types", l);
            el_session_close(s);
            return NULL;
        }
        s->attn_fn[l] = f;
    }
    for (int i = 0; i < hp->n_rot / 2; i++) {
        double f = pow((double)hp->rope_base, -2.0 * i / hp->n_rot) * hp->rope_scale;
        if (m->rope_freqs) f /= m->rope_freqs[i];
        s->inv_freq[i] = (float)f;
    }
    if (p.n_threads > 1) {
        s->pool = el_pool_new(p.n_threads, err, errlen);
        if (!s->pool) {
            el_session_close(s);
            return NULL;
        }
    }
    return s;
}

void el_session_close(el_session *s) {
    if (!s) return;
    if (s->pool) el_pool_free(s->pool);
    el_kv_free(&s->kv);
    el_free_aligned(s->block);
    free(s);
}

int el_session_decode(el_session *s, const el_batch *b, char *err, size_t errlen) {
    const el_hparams *hp = &s->m->hp;
    if (!b || b->n < 1 || !b->tokens || !b->pos)
        return el_errf(err, errlen, "decode: empty batch");
    if (b->n > s->n_batch)
        return el_errf(err, errlen, "decode: batch of %d tokens exceeds n_batch %d", b->n, s->n_batch);
    for (int32_t q = 0; q < s->n_seq; q++) s->seq_next[q] = s->kv.seq_len[q];
    int32_t n_out = 0;
    for (int32_t i = 0; i < b->n; i++) {
        el_token t = b->tokens[i];
        int32_t seq = b->seq ? b->seq[i] : 0;
        if (t < 0 || t >= hp->n_vocab)
            return el_errf(err, errlen, "decode: token %d at batch index %d is out of range [0, %d)",
                           t, i, hp->n_vocab);
        if (seq < 0 || seq >= s->n_seq)
            return el_errf(err, errlen, "decode: sequence %d out of range [0, %d)", seq, s->n_seq);
        if (b->pos[i] != s->seq_next[seq])
            return el_errf(err, errlen, "decode: token %d of sequence %d has position %d, expected %d",
                           i, seq, b->pos[i], s->seq_next[seq]);
        if (b->pos[i] >= s->n_ctx)
            return el_errf(err, errlen, "decode: context full (sequence %d, n_ctx %d)", seq, s->n_ctx);
        s->seq_next[seq]++;
        bool want = b->logits ? b->logits[i] : i == b->n - 1;
        if (want) {
            if (n_out == s->n_outputs)
                return el_errf(err, errlen, "decode: more than %d tokens ask for logits", s->n_outputs);
            s->out_rows[n_out++] = i;
        }
    }
    el_forward(s, b, n_out);
    for (int32_t q = 0; q < s->n_seq; q++) s->kv.seq_len[q] = s->seq_next[q];
    s->n_out_last = n_out;
    return 0;
}

const float *el_session_logits(el_session *s, int32_t i) {
    if (i < 0 || i >= s->n_out_last) return NULL;
    return s->logits + (size_t)i * s->m->hp.n_vocab;
}

int32_t el_session_n_outputs(const el_session *s) { return s->n_out_last; }

int32_t el_session_seq_len(const el_session *s, int32_t seq) {
    if (seq < 0 || seq >= s->n_seq) return -1;
    return s->kv.seq_len[seq];
}

int el_session_seq_truncate(el_session *s, int32_t seq, int32_t keep) {
    if (seq < 0 || seq >= s->n_seq || keep < 0) return -1;
    if (keep < s->kv.seq_len[seq]) s->kv.seq_len[seq] = keep;
    return 0;
}

int32_t el_session_n_ctx(const el_session *s) { return s->n_ctx; }
uint64_t el_session_kv_bytes(const el_session *s) { return s->kv.bytes; }
