/* engine/forward.c — the transformer forward pass for llama, qwen2 and qwen3, one code path
 * for a prompt batch (prefill) and for a single token (decode).
 *
 * Per layer, for the T tokens of a batch (residual stream x, shape (T, n_embd)):
 *   xn = rmsnorm(x) * attn_norm
 *   q, k, v = xn Wq^T (+bq), xn Wk^T (+bk), xn Wv^T (+bv)      [qwen2 has the biases]
 *   q, k = rmsnorm_per_head(q) * q_norm, ... * k_norm           [qwen3]
 *   q, k = rope(q, pos), rope(k, pos)    adjacent pairs (llama) or halves (qwen)
 *   cache k, v at (layer, seq, pos); att = softmax(q K^T / sqrt(hd)) V over the cached
 *     positions 0..pos of the token's own sequence (GQA: head h reads kv head h / group)
 *   x += att Wo^T
 *   xn = rmsnorm(x) * ffn_norm;  x += (silu(xn Wg^T) * (xn Wu^T)) Wd^T
 * then logits = rmsnorm(x) * output_norm Wout^T for the rows that asked for them.
 *
 * Matrix products quantize the activation rows once to the weight's vec_dot_type (Q8_0,
 * Q8_K, F16, ...) as llama.cpp does; a batch (T >= 2) then runs the type's tile kernel over
 * tiles of weight rows x tokens (kernels/dispatch.h el_gemm_fn), a single token the type's
 * dot product per row; a matrix repacked at load (kernels/repack.h) runs its packed tiles for
 * both. Rows are split across the thread pool. Attention is kernels/attn.h's
 * per-KV-type kernel: an online softmax over the cache, so no (n_ctx)-sized score buffer
 * exists. Nothing here allocates.
 */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "engine/session.h"
#include "kernels/attn.h"
#include "kernels/dispatch.h"
#include "kernels/repack.h"
#include "kernels/threadpool.h"
#include "kernels/types.h"

typedef void (*par_fn)(void *ctx, int ith, int nth);

/* Runs fn over the pool when the job is worth waking the other threads for: `work` is the
 * job's size in multiply-adds. Below ~64K per thread the wake-up and barrier (microseconds,
 * far more on a loaded machine) cost more than the work; such jobs run on the caller. */
static void run_par(el_session *s, par_fn fn, void *ctx, double work) {
    if (s->pool && s->n_threads > 1 && work >= 65536.0 * s->n_threads)
        el_pool_run(s->pool, fn, ctx);
    else
        fn(ctx, 0, 1);
}

static void rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / n + eps));
    for (int i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
}

/* ---- matrix product: y (T, n_out) = x (T, n_in) W^T ---------------------------------- */

typedef struct matmul_ctx {
    const el_weight *w;
    const uint8_t *xq; /* (T, xrow) activations in the weight's vec_dot_type */
    size_t xrow;
    int T;
    float *y;          /* (T, ldy) */
    int ldy;
    el_vec_dot_fn dot;
    const el_gemm_kernel *gemm; /* tile kernel, or NULL: vec_dot per (row, token) */
    bool packed;                /* gemm reads w->packed (tiles start at group boundaries) */
} matmul_ctx;

/* Rows of a panel: the weights a thread keeps in L2 while every token passes over them. */
enum { PANEL_ROWS = 128 };

static void matmul_rows(void *p, int ith, int nth) {
    matmul_ctx *c = p;
    const el_weight *w = c->w;
    const el_gemm_kernel *g = c->gemm;
    if (g) {
        /* tiles of mr rows x nc tokens; whole tiles per thread, so no tile is split. Per
         * panel of rows, tokens in groups of nc: a group's activations stay in L1 while the
         * panel's row tiles pass over them. */
        const int64_t n_tiles = (w->n_out + g->mr - 1) / g->mr;
        int64_t t0, t1;
        el_pool_split(n_tiles, ith, nth, &t0, &t1);
        const int64_t r0 = t0 * g->mr, r1 = EL_MIN(w->n_out, t1 * g->mr);
        const int64_t panel = EL_MAX(1, PANEL_ROWS / g->mr) * g->mr;
        for (int64_t pb = r0; pb < r1; pb += panel) {
            const int64_t pe = EL_MIN(r1, pb + panel);
            for (int t = 0; t < c->T; t += g->nc) {
                const int nc = EL_MIN(g->nc, c->T - t);
                for (int64_t r = pb; r < pe; r += g->mr) {
                    /* the tile's rows: from row r in the file's layout, or from r's group */
                    const uint8_t *x =
                        c->packed ? w->packed + (size_t)(r / EL_REPACK_ROWS) * w->group_bytes
                                  : w->data + (size_t)r * w->row_bytes;
                    g->gemm((int)w->n_in, c->y + (size_t)t * c->ldy + r, (size_t)c->ldy, x,
                            c->packed ? w->group_bytes : w->row_bytes,
                            (int)EL_MIN((int64_t)g->mr, pe - r), c->xq + (size_t)t * c->xrow,
                            c->xrow, nc);
                }
            }
        }
        return;
    }
    int64_t per = (w->n_out + nth - 1) / nth;
    int64_t r0 = per * ith, r1 = EL_MIN(w->n_out, r0 + per);
    /* blocks of rows: a block of weights stays in cache while every token passes over it */
    enum { RB = 16 };
    for (int64_t rb = r0; rb < r1; rb += RB) {
        int64_t re = EL_MIN(r1, rb + RB);
        for (int t = 0; t < c->T; t++) {
            const uint8_t *xt = c->xq + (size_t)t * c->xrow;
            float *yt = c->y + (size_t)t * c->ldy;
            for (int64_t r = rb; r < re; r++)
                c->dot((int)w->n_in, &yt[r], w->data + (size_t)r * w->row_bytes, xt);
        }
    }
}

typedef struct quant_ctx {
    const float *x;
    int ldx;
    int n;
    int T;
    uint8_t *xq;
    size_t xrow;
    el_from_float_fn q;
} quant_ctx;

static void quant_rows(void *p, int ith, int nth) {
    quant_ctx *c = p;
    for (int t = ith; t < c->T; t += nth)
        c->q(c->x + (size_t)t * c->ldx, c->xq + (size_t)t * c->xrow, c->n);
}

/* x: (T, ldx) rows of w->n_in floats; y: (T, ldy). */
static void matmul(el_session *s, const el_weight *w, const float *x, int ldx, int T, float *y,
                   int ldy) {
    const el_type_info *ti = el_type_traits(w->type);
    const el_type_info *vt = el_type_traits(ti->vec_dot_type);
    matmul_ctx mc = {.w = w, .T = T, .y = y, .ldy = ldy, .dot = ti->vec_dot};
    const int level = el_kernels_active_level();
    const el_packed_kernels *pk = w->packed ? el_kernels_packed(level, w->type) : NULL;
    if (pk && (T == 1 ? pk->gemv.gemm : pk->gemm.gemm)) {
        /* a repacked matrix: the packed tiles, for decode (one column) and prefill */
        mc.gemm = T == 1 ? &pk->gemv : &pk->gemm;
        mc.packed = true;
    } else if (T >= 2) {
        /* T == 1 stays on vec_dot here: the file's layout makes a one-column tile transpose
         * its rows for nothing */
        const el_gemm_kernel *g = el_kernels_gemm(level, w->type);
        if (g && g->gemm) mc.gemm = g;
    }
    if (ti->vec_dot_type == EL_TYPE_F32) {
        mc.xq = (const uint8_t *)x;
        mc.xrow = (size_t)ldx * sizeof(float);
    } else {
        size_t xrow = el_row_size(ti->vec_dot_type, w->n_in);
        quant_ctx qc = {.x = x, .ldx = ldx, .n = (int)w->n_in, .T = T, .xq = s->xq,
                        .xrow = xrow, .q = vt->from_float};
        run_par(s, quant_rows, &qc, (double)T * (double)w->n_in);
        mc.xq = s->xq;
        mc.xrow = xrow;
    }
    run_par(s, matmul_rows, &mc, (double)T * (double)w->n_in * (double)w->n_out);
}

/* ---- RoPE ---------------------------------------------------------------------------- */

static void rope(float *x, int n_heads, int head_dim, int n_rot, el_rope_kind kind, int32_t pos,
                 const float *inv_freq) {
    int half = n_rot / 2;
    for (int i = 0; i < half; i++) {
        float theta = (float)pos * inv_freq[i];
        float c = cosf(theta), sn = sinf(theta);
        for (int h = 0; h < n_heads; h++) {
            float *v = x + (size_t)h * head_dim;
            int a = kind == EL_ROPE_NORM ? 2 * i : i;
            int b = kind == EL_ROPE_NORM ? 2 * i + 1 : i + half;
            float x0 = v[a], x1 = v[b];
            v[a] = x0 * c - x1 * sn;
            v[b] = x0 * sn + x1 * c;
        }
    }
}

/* ---- attention ----------------------------------------------------------------------- */

/* Attention tasks: (token, kv head, chunk of that head's query group). One kernel call
 * serves a chunk, so each cached row is read once per chunk; chunks are made smaller only
 * when there would otherwise be too few tasks to keep every thread busy (decode with few KV
 * heads). */
typedef struct attn_ctx {
    el_session *s;
    const el_batch *b;
    int layer;
    int T;
    int chunk;    /* query heads per task */
    int n_chunks; /* per kv head */
} attn_ctx;

static void attn_heads(void *p, int ith, int nth) {
    attn_ctx *c = p;
    el_session *s = c->s;
    const el_hparams *hp = &s->m->hp;
    const el_kv *kv = &s->kv;
    int l = c->layer;
    int hd = hp->head_dim, hdv = hp->head_dim_v;
    int group = hp->n_head / hp->n_head_kv;
    float scale = 1.0f / sqrtf((float)hd);
    size_t rk = el_kv_row_bytes(kv->type_k[l], hd), rv = el_kv_row_bytes(kv->type_v[l], hdv);
    el_attn_fn attn = s->attn_fn[l];
    int per_t = hp->n_head_kv * c->n_chunks;
    int n_tasks = c->T * per_t;
    for (int task = ith; task < n_tasks; task += nth) {
        int t = task / per_t, r = task % per_t, kh = r / c->n_chunks, ch = r % c->n_chunks;
        int h0 = kh * group + ch * c->chunk;
        int nq = EL_MIN(c->chunk, (kh + 1) * group - h0);
        int32_t seq = c->b->seq ? c->b->seq[t] : 0;
        int32_t pos = c->b->pos[t];
        attn(hd, hdv, nq, pos + 1, s->q + ((size_t)t * hp->n_head + h0) * hd,
             el_kv_k_head(kv, l, seq, kh), rk, el_kv_v_head(kv, l, seq, kh), rv,
             scale, s->att + ((size_t)t * hp->n_head + h0) * hdv);
    }
}

/* ---- the pass ------------------------------------------------------------------------ */

static void add_bias(float *y, const float *bias, int T, int n) {
    if (!bias) return;
    for (int t = 0; t < T; t++)
        for (int i = 0; i < n; i++) y[(size_t)t * n + i] += bias[i];
}

void el_forward(el_session *s, const el_batch *b, int32_t n_out) {
    const el_model *m = s->m;
    const el_hparams *hp = &m->hp;
    const int T = b->n, d = hp->n_embd;
    const int qd = hp->n_head * hp->head_dim, kd = hp->n_head_kv * hp->head_dim;
    const int vd = hp->n_head_kv * hp->head_dim_v, od = hp->n_head * hp->head_dim_v;
    const el_type_info *et = el_type_traits(m->tok_embd.type);

    /* a token_embd repacked as the tied output matrix: its rows come from the packed copy
     * (unpacked into the activation scratch, free until the first matmul) so the file's
     * released pages are never faulted back in */
    for (int t = 0; t < T; t++) {
        const uint8_t *row = m->tok_embd.data + (size_t)b->tokens[t] * m->tok_embd.row_bytes;
        if (m->tok_embd.packed) {
            el_repack_unpack_row(m->tok_embd.type, m->tok_embd.packed, m->tok_embd.n_in,
                                 b->tokens[t], s->xq);
            row = s->xq;
        }
        et->to_float(row, s->x + (size_t)t * d, d);
    }

    for (int l = 0; l < hp->n_layer; l++) {
        const el_layer *L = &m->layers[l];
        for (int t = 0; t < T; t++)
            rmsnorm(s->xn + (size_t)t * d, s->x + (size_t)t * d, L->attn_norm, d, hp->rms_eps);
        matmul(s, &L->wq, s->xn, d, T, s->q, qd);
        matmul(s, &L->wk, s->xn, d, T, s->k, kd);
        matmul(s, &L->wv, s->xn, d, T, s->v, vd);
        add_bias(s->q, L->bq, T, qd);
        add_bias(s->k, L->bk, T, kd);
        add_bias(s->v, L->bv, T, vd);
        for (int t = 0; t < T; t++) {
            float *q = s->q + (size_t)t * qd, *k = s->k + (size_t)t * kd;
            if (L->q_norm) {
                for (int h = 0; h < hp->n_head; h++)
                    rmsnorm(q + h * hp->head_dim, q + h * hp->head_dim, L->q_norm, hp->head_dim,
                            hp->rms_eps);
                for (int h = 0; h < hp->n_head_kv; h++)
                    rmsnorm(k + h * hp->head_dim, k + h * hp->head_dim, L->k_norm, hp->head_dim,
                            hp->rms_eps);
            }
            rope(q, hp->n_head, hp->head_dim, hp->n_rot, hp->rope_kind, b->pos[t], s->inv_freq);
            rope(k, hp->n_head_kv, hp->head_dim, hp->n_rot, hp->rope_kind, b->pos[t], s->inv_freq);
            el_kv_store(&s->kv, l, b->seq ? b->seq[t] : 0, b->pos[t], k, s->v + (size_t)t * vd);
        }
        int group = hp->n_head / hp->n_head_kv;
        int want = (2 * s->n_threads + T * hp->n_head_kv - 1) / (T * hp->n_head_kv);
        int n_chunks = EL_MAX((group + EL_ATTN_MAX_Q - 1) / EL_ATTN_MAX_Q, EL_MIN(want, group));
        int chunk = (group + n_chunks - 1) / n_chunks;
        attn_ctx ac = {.s = s, .b = b, .layer = l, .T = T, .chunk = chunk,
                       .n_chunks = (group + chunk - 1) / chunk};
        run_par(s, attn_heads, &ac,
                (double)T * hp->n_head * (hp->head_dim + hp->head_dim_v) * (b->pos[T - 1] + 1));
        matmul(s, &L->wo, s->att, od, T, s->xn, d);
        for (size_t i = 0; i < (size_t)T * d; i++) s->x[i] += s->xn[i];

        for (int t = 0; t < T; t++)
            rmsnorm(s->xn + (size_t)t * d, s->x + (size_t)t * d, L->ffn_norm, d, hp->rms_eps);
        /* the FFN in chunks of EL_FFN_CHUNK tokens: its n_ff-wide buffers are the largest
         * scratch of a prompt batch (2 x 512 x 8192 floats for Llama-3.2-1B), and a chunk of
         * 128 columns keeps the tiles as busy; each chunk's output replaces its own input */
        for (int t0 = 0; t0 < T; t0 += EL_FFN_CHUNK) {
            const int tc = EL_MIN(EL_FFN_CHUNK, T - t0);
            float *xc = s->xn + (size_t)t0 * d;
            matmul(s, &L->w_gate, xc, d, tc, s->gate, hp->n_ff);
            matmul(s, &L->w_up, xc, d, tc, s->up, hp->n_ff);
            for (size_t i = 0; i < (size_t)tc * hp->n_ff; i++) {
                float g = s->gate[i];
                s->gate[i] = g / (1.0f + expf(-g)) * s->up[i];
            }
            matmul(s, &L->w_down, s->gate, hp->n_ff, tc, xc, d);
        }
        for (size_t i = 0; i < (size_t)T * d; i++) s->x[i] += s->xn[i];
    }

    /* final norm only for the rows that want logits, gathered densely */
    for (int o = 0; o < n_out; o++)
        rmsnorm(s->xn + (size_t)o * d, s->x + (size_t)s->out_rows[o] * d, m->output_norm, d,
                hp->rms_eps);
    matmul(s, &m->output, s->xn, d, n_out, s->logits, hp->n_vocab);
}
