/* tests/unit/naive_ref.h — an independent, naive forward pass for tests: reads the GGUF
 * directly, widens every weight to double through the reference dequantizers, and runs the
 * textbook transformer in double precision with full score arrays (no online softmax, no
 * activation quantization, no batching). It shares nothing with engine/ but the GGUF reader
 * and the dequantizers, which have their own tests. Slow; for tiny models only.
 *
 * Usage: nref *r = nref_open(path); nref_step(r, token, logits_out) token by token from
 * position 0; nref_close(r). */
#ifndef EL_TEST_NAIVE_REF_H
#define EL_TEST_NAIVE_REF_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "kernels/types.h"

typedef struct nref {
    el_gguf *g;
    int arch; /* 0 llama, 1 qwen2, 2 qwen3 */
    int L, D, H, HKV, HD, F, V, rot;
    double eps, base;
    int pos;
    int max_pos;
    double *kc, *vc; /* (L, max_pos, HKV*HD) */
} nref;

static double *nref_tensor(nref *r, const char *name, int64_t *n_out) {
    const el_gguf_tensor *t = el_gguf_find_tensor(r->g, name);
    if (!t) return NULL;
    const el_type_info *ti = el_type_traits(t->type);
    float *f = malloc((size_t)t->n_elements * sizeof *f);
    double *d = malloc((size_t)t->n_elements * sizeof *d);
    int64_t row = t->ne[0], rows = t->n_elements / row;
    size_t rb = el_row_size(t->type, row);
    for (int64_t i = 0; i < rows; i++)
        ti->to_float((const uint8_t *)t->data + i * rb, f + i * row, row);
    for (int64_t i = 0; i < t->n_elements; i++) d[i] = f[i];
    free(f);
    if (n_out) *n_out = t->n_elements;
    return d;
}

static double *nref_layer_tensor(nref *r, int l, const char *what) {
    char name[96];
    snprintf(name, sizeof name, "blk.%d.%s", l, what);
    return nref_tensor(r, name, NULL);
}

static int nref_key(nref *r, const char *suffix, int def) {
    char key[128];
    const char *arch = r->arch == 0 ? "llama" : r->arch == 1 ? "qwen2" : "qwen3";
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t v;
    return el_gguf_get_i64(r->g, key, &v) == 0 ? (int)v : def;
}

static nref *nref_open(const char *path, int max_pos) {
    char err[256];
    nref *r = calloc(1, sizeof *r);
    r->g = el_gguf_open(path, err, sizeof err);
    if (!r->g) {
        fprintf(stderr, "nref: %s\n", err);
        free(r);
        return NULL;
    }
    el_gstr a;
    el_gguf_get_str(r->g, "general.architecture", &a);
    r->arch = !strncmp(a.s, "qwen2", 5) ? 1 : !strncmp(a.s, "qwen3", 5) ? 2 : 0;
    r->L = nref_key(r, "block_count", 0);
    r->D = nref_key(r, "embedding_length", 0);
    r->H = nref_key(r, "attention.head_count", 0);
    r->HKV = nref_key(r, "attention.head_count_kv", r->H);
    r->HD = nref_key(r, "attention.key_length", r->D / r->H);
    r->F = nref_key(r, "feed_forward_length", 0);
    r->rot = nref_key(r, "rope.dimension_count", r->HD);
    const char *arch = r->arch == 0 ? "llama" : r->arch == 1 ? "qwen2" : "qwen3";
    char key[128];
    double v;
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
    r->eps = el_gguf_get_f64(r->g, key, &v) == 0 ? v : 1e-5;
    snprintf(key, sizeof key, "%s.rope.freq_base", arch);
    r->base = el_gguf_get_f64(r->g, key, &v) == 0 ? v : 10000.0;
    r->V = (int)el_gguf_find_tensor(r->g, "token_embd.weight")->ne[1];
    r->max_pos = max_pos;
    r->kc = calloc((size_t)r->L * max_pos * r->HKV * r->HD, sizeof(double));
    r->vc = calloc((size_t)r->L * max_pos * r->HKV * r->HD, sizeof(double));
    return r;
}

static void nref_close(nref *r) {
    if (!r) return;
    el_gguf_close(r->g);
    free(r->kc);
    free(r->vc);
    free(r);
}

static void nref_rmsnorm(double *x, const double *w, int n, double eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    double s = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) x[i] = x[i] * s * w[i];
}

/* y = W x, W (rows, cols) row-major */
static void nref_mv(double *y, const double *W, const double *x, int rows, int cols) {
    for (int i = 0; i < rows; i++) {
        double s = 0;
        for (int j = 0; j < cols; j++) s += W[(size_t)i * cols + j] * x[j];
        y[i] = s;
    }
}

static void nref_rope(nref *r, double *v, int pos, const double *ff) {
    int half = r->rot / 2;
    for (int i = 0; i < half; i++) {
        double freq = pow(r->base, -2.0 * i / r->rot);
        if (ff) freq /= ff[i];
        double th = pos * freq, c = cos(th), s = sin(th);
        int a = r->arch == 0 ? 2 * i : i, b = r->arch == 0 ? 2 * i + 1 : i + half;
        double x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
    }
}

/* Feeds token at the next position; writes V logits (float). Loads weights per call
 * (slow, simple, no caching bugs). */
static void nref_step(nref *r, int token, float *logits) {
    int D = r->D, HD = r->HD, KV = r->HKV * HD, Q = r->H * HD, p = r->pos;
    double *x = calloc((size_t)D, sizeof *x), *xb = calloc((size_t)D, sizeof *xb);
    double *q = calloc((size_t)Q, sizeof *q), *k = calloc((size_t)KV, sizeof *k);
    double *v = calloc((size_t)KV, sizeof *v), *o = calloc((size_t)Q, sizeof *o);
    double *h1 = calloc((size_t)r->F, sizeof *h1), *h2 = calloc((size_t)r->F, sizeof *h2);
    double *att = calloc((size_t)(p + 1), sizeof *att), *tmp = calloc((size_t)D, sizeof *tmp);
    double *emb = nref_tensor(r, "token_embd.weight", NULL);
    double *ff = nref_tensor(r, "rope_freqs.weight", NULL);
    memcpy(x, emb + (size_t)token * D, (size_t)D * sizeof *x);
    for (int l = 0; l < r->L; l++) {
        double *an = nref_layer_tensor(r, l, "attn_norm.weight");
        double *wq = nref_layer_tensor(r, l, "attn_q.weight");
        double *wk = nref_layer_tensor(r, l, "attn_k.weight");
        double *wv = nref_layer_tensor(r, l, "attn_v.weight");
        double *wo = nref_layer_tensor(r, l, "attn_output.weight");
        double *bq = nref_layer_tensor(r, l, "attn_q.bias");
        double *bk = nref_layer_tensor(r, l, "attn_k.bias");
        double *bv = nref_layer_tensor(r, l, "attn_v.bias");
        double *qn = nref_layer_tensor(r, l, "attn_q_norm.weight");
        double *kn = nref_layer_tensor(r, l, "attn_k_norm.weight");
        double *fn = nref_layer_tensor(r, l, "ffn_norm.weight");
        double *wg = nref_layer_tensor(r, l, "ffn_gate.weight");
        double *wu = nref_layer_tensor(r, l, "ffn_up.weight");
        double *wd = nref_layer_tensor(r, l, "ffn_down.weight");
        memcpy(xb, x, (size_t)D * sizeof *x);
        nref_rmsnorm(xb, an, D, r->eps);
        nref_mv(q, wq, xb, Q, D);
        nref_mv(k, wk, xb, KV, D);
        nref_mv(v, wv, xb, KV, D);
        for (int i = 0; bq && i < Q; i++) q[i] += bq[i];
        for (int i = 0; bk && i < KV; i++) k[i] += bk[i];
        for (int i = 0; bv && i < KV; i++) v[i] += bv[i];
        for (int h = 0; h < r->H; h++) {
            if (qn) nref_rmsnorm(q + h * HD, qn, HD, r->eps);
            nref_rope(r, q + h * HD, p, ff);
        }
        for (int h = 0; h < r->HKV; h++) {
            if (kn) nref_rmsnorm(k + h * HD, kn, HD, r->eps);
            nref_rope(r, k + h * HD, p, ff);
        }
        double *kc = r->kc + ((size_t)l * r->max_pos) * KV, *vc = r->vc + ((size_t)l * r->max_pos) * KV;
        memcpy(kc + (size_t)p * KV, k, (size_t)KV * sizeof *k);
        memcpy(vc + (size_t)p * KV, v, (size_t)KV * sizeof *v);
        for (int h = 0; h < r->H; h++) {
            int kh = h / (r->H / r->HKV);
            double mx = -1e300, sum = 0;
            for (int j = 0; j <= p; j++) {
                double s = 0;
                for (int i = 0; i < HD; i++) s += q[h * HD + i] * kc[(size_t)j * KV + kh * HD + i];
                att[j] = s / sqrt((double)HD);
                if (att[j] > mx) mx = att[j];
            }
            for (int j = 0; j <= p; j++) sum += (att[j] = exp(att[j] - mx));
            for (int i = 0; i < HD; i++) {
                double acc = 0;
                for (int j = 0; j <= p; j++) acc += att[j] / sum * vc[(size_t)j * KV + kh * HD + i];
                o[h * HD + i] = acc;
            }
        }
        nref_mv(tmp, wo, o, D, Q);
        for (int i = 0; i < D; i++) x[i] += tmp[i];
        memcpy(xb, x, (size_t)D * sizeof *x);
        nref_rmsnorm(xb, fn, D, r->eps);
        nref_mv(h1, wg, xb, r->F, D);
        nref_mv(h2, wu, xb, r->F, D);
        for (int i = 0; i < r->F; i++) h1[i] = h1[i] / (1.0 + exp(-h1[i])) * h2[i];
        nref_mv(tmp, wd, h1, D, r->F);
        for (int i = 0; i < D; i++) x[i] += tmp[i];
        free(an), free(wq), free(wk), free(wv), free(wo), free(bq), free(bk), free(bv);
        free(qn), free(kn), free(fn), free(wg), free(wu), free(wd);
    }
    double *on = nref_tensor(r, "output_norm.weight", NULL);
    double *out = nref_tensor(r, "output.weight", NULL);
    nref_rmsnorm(x, on, D, r->eps);
    const double *W = out ? out : emb;
    for (int i = 0; i < r->V; i++) {
        double s = 0;
        for (int j = 0; j < D; j++) s += W[(size_t)i * D + j] * x[j];
        logits[i] = (float)s;
    }
    free(on), free(out), free(emb), free(ff);
    free(x), free(xb), free(q), free(k), free(v), free(o), free(h1), free(h2), free(att), free(tmp);
    r->pos++;
}

#endif
