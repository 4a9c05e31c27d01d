/* tests/unit/test_synth.c — engine/synth: random-weight models of each architecture and
 * type, read back with the GGUF reader: metadata keys, tensor names/shapes/types, values
 * (every quantized file holds the quantization of the F32 file's weights), determinism,
 * the made-up vocabulary, copying a real vocabulary, llama3 rope factors, and errors. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "edgellm.h"
#include "engine/synth.h"
#include "gguf/gguf.h"
#include "kernels/quantize_model.h"
#include "kernels/types.h"
#include "test.h"

static const char *const all_types[] = {"F32",    "F16",    "BF16", "Q8_0",   "Q4_0",
                                        "Q4_1",   "Q5_0",   "Q5_1", "Q4_K_M", "Q4_K_S",
                                        "Q5_K_M", "Q5_K_S", "Q6_K"};
static const char *const tiny[] = {"tiny-llama", "tiny-qwen2", "tiny-qwen3"};

/* A path in the test's scratch folder (rotating static buffers: copy it to keep it). */
static char *tmp_path(const char *name) {
    static char buf[8][512];
    static int slot;
    char *p = buf[slot++ & 7];
    snprintf(p, sizeof buf[0], "%s/%s", el_tmpdir(), name);
    return p;
}

static int64_t get_i(const el_gguf *g, const char *key) {
    int64_t v = -1;
    if (el_gguf_get_i64(g, key, &v) != 0) return -12345;
    return v;
}

static bool str_eq(const el_gguf *g, const char *key, const char *want) {
    el_gstr s;
    if (el_gguf_get_str(g, key, &s) != 0) return false;
    return s.n == strlen(want) && !memcmp(s.s, want, s.n);
}

/* Row r of a 2-D tensor (or the whole 1-D one) widened to floats via the type traits. */
static bool row_floats(const el_gguf_tensor *t, int64_t r, float *out) {
    const el_type_info *ti = el_type_traits(t->type);
    size_t rb = el_row_size(t->type, t->ne[0]);
    if (!ti || !ti->to_float || !rb) return false;
    ti->to_float((const uint8_t *)t->data + (size_t)r * rb, out, t->ne[0]);
    return true;
}

static int write_model(const el_synth_params *p, const char *path) {
    char err[256] = "";
    int rc = el_synth_write(p, path, err, sizeof err);
    if (rc) fprintf(stderr, "  el_synth_write(%s): %s\n", path, err);
    return rc;
}

static void test_presets(void) {
    el_synth_params p;
    char err[256];
    REQUIRE(el_synth_preset("qwen2.5-0.5b", &p, err, sizeof err) == 0);
    CHECK(p.arch == EL_SYNTH_QWEN2 && p.n_layer == 24 && p.n_embd == 896 && p.n_head == 14 &&
          p.n_head_kv == 2 && p.n_ff == 4864 && p.n_vocab == 151936 && p.tied &&
          p.rope_base == 1e6);
    REQUIRE(el_synth_preset("qwen3-0.6b", &p, err, sizeof err) == 0);
    CHECK(p.arch == EL_SYNTH_QWEN3 && p.n_layer == 28 && p.n_embd == 1024 && p.n_head == 16 &&
          p.n_head_kv == 8 && p.head_dim == 128 && p.n_ff == 3072 && p.n_vocab == 151936 && p.tied);
    REQUIRE(el_synth_preset("llama-3.2-1b", &p, err, sizeof err) == 0);
    CHECK(p.arch == EL_SYNTH_LLAMA && p.n_layer == 16 && p.n_embd == 2048 && p.n_head == 32 &&
          p.n_head_kv == 8 && p.n_ff == 8192 && p.n_vocab == 128256 && p.tied &&
          p.rope_base == 500000 && p.rope_llama3 && p.rope_factor == 32 && p.rope_low_freq == 1 &&
          p.rope_high_freq == 4 && p.rope_orig_ctx == 8192);
    /* every preset is valid in every type */
    int n = 0;
    for (int i = 0; el_synth_preset_name(i, NULL); i++, n++) {
        REQUIRE(el_synth_preset(el_synth_preset_name(i, NULL), &p, err, sizeof err) == 0);
        for (size_t k = 0; k < EL_ARRAY_LEN(all_types); k++) {
            p.ftype = el_synth_ftype_from_name(all_types[k]);
            CHECK(p.ftype >= 0);
            CHECK(el_synth_check(&p, err, sizeof err) == 0, "%s %s: %s",
                  el_synth_preset_name(i, NULL), all_types[k], err);
        }
    }
    CHECK(n >= 8, "%d presets", n);
    CHECK(el_synth_preset("gpt-5", &p, err, sizeof err) < 0 && strstr(err, "gpt-5"));
    CHECK(el_synth_ftype_from_name("q4_k_m") == 15 && el_synth_ftype_from_name("Q8_0") == 7 &&
          el_synth_ftype_from_name("BF16") == 32 && el_synth_ftype_from_name("Q3_XL") == -1);
    CHECK(el_synth_arch_from_name("qwen3") == EL_SYNTH_QWEN3 &&
          el_synth_arch_from_name("gpt2") == -1);
}

/* Expected tensor list of a synth model: name, ne0, ne1 (0 for 1-D). */
typedef struct want_t {
    char name[64];
    int64_t ne0, ne1;
} want_t;

static int expected_tensors(const el_synth_params *p, int64_t n_vocab, want_t *w) {
    int n = 0;
    int64_t E = p->n_embd, hd = p->head_dim ? p->head_dim : E / p->n_head;
    int64_t Q = p->n_head * hd, KV = p->n_head_kv * hd;
#define ADD(nm, a, b) (snprintf(w[n].name, 64, "%s", nm), w[n].ne0 = (a), w[n].ne1 = (b), n++)
    char nm[64];
    if (p->rope_llama3) ADD("rope_freqs.weight", hd / 2, 0);
    ADD("token_embd.weight", E, n_vocab);
    ADD("output_norm.weight", E, 0);
    if (!p->tied) ADD("output.weight", E, n_vocab);
    for (int64_t i = 0; i < p->n_layer; i++) {
#define L(suffix, a, b)                                                                            \
    (snprintf(nm, sizeof nm, "blk.%lld.%s", (long long)i, suffix), ADD(nm, a, b))
        L("attn_norm.weight", E, 0);
        L("attn_q.weight", E, Q);
        L("attn_k.weight", E, KV);
        L("attn_v.weight", E, KV);
        L("attn_output.weight", Q, E);
        L("ffn_norm.weight", E, 0);
        L("ffn_gate.weight", E, p->n_ff);
        L("ffn_up.weight", E, p->n_ff);
        L("ffn_down.weight", p->n_ff, E);
        if (p->arch == EL_SYNTH_QWEN2) {
            L("attn_q.bias", Q, 0);
            L("attn_k.bias", KV, 0);
            L("attn_v.bias", KV, 0);
        }
        if (p->arch == EL_SYNTH_QWEN3) {
            L("attn_q_norm.weight", hd, 0);
            L("attn_k_norm.weight", hd, 0);
        }
#undef L
    }
#undef ADD
    return n;
}

/* Opens path and checks metadata + tensor list against p. Returns the handle or NULL. */
static el_gguf *open_and_check(const el_synth_params *p, const char *path, const char *label) {
    char err[256];
    el_gguf *g = el_gguf_open(path, err, sizeof err);
    CHECK(g != NULL, "%s: %s", label, err);
    if (!g) return NULL;
    const char *arch = el_synth_arch_name(p->arch);
    char k[96];
    CHECK(str_eq(g, "general.architecture", arch), "%s", label);
    CHECK(get_i(g, "general.file_type") == p->ftype, "%s", label);
    CHECK(get_i(g, "general.quantization_version") == 2, "%s", label);
#define AK(s) (snprintf(k, sizeof k, "%s.%s", arch, s), k)
    CHECK(get_i(g, AK("block_count")) == p->n_layer, "%s", label);
    CHECK(get_i(g, AK("embedding_length")) == p->n_embd, "%s", label);
    CHECK(get_i(g, AK("feed_forward_length")) == p->n_ff, "%s", label);
    CHECK(get_i(g, AK("attention.head_count")) == p->n_head, "%s", label);
    CHECK(get_i(g, AK("attention.head_count_kv")) == p->n_head_kv, "%s", label);
    CHECK(get_i(g, AK("context_length")) == p->n_ctx, "%s", label);
    double f = 0;
    CHECK(el_gguf_get_f64(g, AK("rope.freq_base"), &f) == 0 &&
              fabs(f - p->rope_base) < 1e-3 * p->rope_base,
          "%s", label);
    CHECK(el_gguf_get_f64(g, AK("attention.layer_norm_rms_epsilon"), &f) == 0 &&
              fabs(f - p->norm_eps) < 1e-9,
          "%s", label);
    int64_t hd = p->head_dim ? p->head_dim : p->n_embd / p->n_head;
    if (hd * p->n_head != p->n_embd || p->kv_len_keys) {
        CHECK(get_i(g, AK("attention.key_length")) == hd, "%s", label);
        CHECK(get_i(g, AK("attention.value_length")) == hd, "%s", label);
    } else {
        CHECK(el_gguf_find_key(g, AK("attention.key_length")) < 0, "%s", label);
    }
    if (p->arch == EL_SYNTH_LLAMA) {
        CHECK(get_i(g, AK("rope.dimension_count")) == hd, "%s", label);
        CHECK(get_i(g, AK("vocab_size")) > 0, "%s", label);
    } else {
        CHECK(el_gguf_find_key(g, AK("rope.dimension_count")) < 0, "%s", label);
    }
#undef AK
    el_gguf_arr toks;
    if (el_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks) != 0 || toks.n == 0) {
        CHECK(0, "%s: no tokens", label);
        return g;
    }
    int64_t n_vocab = (int64_t)toks.n;
    if (p->arch == EL_SYNTH_LLAMA) CHECK(get_i(g, "llama.vocab_size") == n_vocab, "%s", label);

    want_t *w = calloc(4096, sizeof *w);
    if (!w) return g;
    int n = expected_tensors(p, n_vocab, w);
    CHECK(el_gguf_n_tensors(g) == n, "%s: %lld tensors, want %d", label,
          (long long)el_gguf_n_tensors(g), n);
    const char *ftn = el_synth_ftype_name(p->ftype);
    bool is_float = ftn && (!strcmp(ftn, "F32") || !strcmp(ftn, "F16") || !strcmp(ftn, "BF16"));
    for (int i = 0; i < n; i++) {
        const el_gguf_tensor *t = el_gguf_find_tensor(g, w[i].name);
        CHECK(t != NULL, "%s: missing %s", label, w[i].name);
        if (!t) continue;
        bool one_d = w[i].ne1 == 0;
        CHECK(t->n_dims == (one_d ? 1u : 2u) && t->ne[0] == w[i].ne0 &&
                  (one_d || t->ne[1] == w[i].ne1),
              "%s: %s shape %lld x %lld", label, w[i].name, (long long)t->ne[0],
              (long long)t->ne[1]);
        if (one_d) {
            CHECK(t->type == EL_TYPE_F32, "%s: %s is %d, 1-D tensors stay F32", label, w[i].name,
                  t->type);
        } else if (is_float) {
            CHECK(t->type == el_type_from_name(ftn), "%s: %s type %d", label, w[i].name, t->type);
        } else {
            const el_type_info *ti = el_type_traits(t->type);
            CHECK(ti && (ti->is_quantized || t->type == EL_TYPE_F16) &&
                      t->ne[0] % ti->blck_size == 0,
                  "%s: %s type %d", label, w[i].name, t->type);
        }
    }
    free(w);
    return g;
}

/* Every arch x every type: keys, tensors, and the values are the F32 model's, quantized. */
static void test_arch_types(void) {
    char err[256];
    for (size_t a = 0; a < EL_ARRAY_LEN(tiny); a++) {
        el_synth_params p;
        REQUIRE(el_synth_preset(tiny[a], &p, err, sizeof err) == 0);
        p.ftype = 0;
        char ref_path[512];
        snprintf(ref_path, sizeof ref_path, "%s", tmp_path("ref.gguf"));
        REQUIRE(write_model(&p, ref_path) == 0);
        el_gguf *ref = open_and_check(&p, ref_path, tiny[a]);
        REQUIRE(ref != NULL);
        for (size_t k = 0; k < EL_ARRAY_LEN(all_types); k++) {
            p.ftype = el_synth_ftype_from_name(all_types[k]);
            char label[64], name[96];
            snprintf(label, sizeof label, "%s/%s", tiny[a], all_types[k]);
            snprintf(name, sizeof name, "%s-%s.gguf", tiny[a], all_types[k]);
            char *path = tmp_path(name);
            if (write_model(&p, path) != 0) {
                CHECK(0, "%s: write failed", label);
                continue;
            }
            el_gguf *g = open_and_check(&p, path, label);
            if (!g) continue;
            /* values: every tensor's first and last rows against the F32 model */
            double worst = 0;
            const char *worst_name = "";
            for (int64_t i = 0; i < el_gguf_n_tensors(g); i++) {
                const el_gguf_tensor *t = el_gguf_tensor_at(g, i);
                const el_gguf_tensor *r = el_gguf_find_tensor(ref, t->name);
                if (!r || r->ne[0] != t->ne[0]) {
                    CHECK(0, "%s: %s not in the F32 model", label, t->name);
                    continue;
                }
                int64_t rows = t->n_dims > 1 ? t->ne[1] : 1;
                float x[4096], y[4096];
                if (t->ne[0] > 4096) continue;
                for (int64_t rr = 0; rr<rows; rr += rows> 1 ? rows - 1 : 1) {
                    REQUIRE(row_floats(t, rr, x) && row_floats(r, rr, y), "%s", t->name);
                    double num = 0, den = 0;
                    for (int64_t j = 0; j < t->ne[0]; j++) {
                        num += (x[j] - y[j]) * (double)(x[j] - y[j]);
                        den += (double)y[j] * y[j];
                    }
                    double rel = sqrt(num / (den > 0 ? den : 1));
                    if (rel > worst) worst = rel, worst_name = t->name;
                }
            }
            /* relative RMS error of the coarsest type in the mix (4-bit: ~10%) */
            CHECK(worst < 0.2, "%s: %s differs from F32 by %.3f (rel. RMS)", label, worst_name,
                  worst);
            if (!strcmp(all_types[k], "F32")) CHECK(worst == 0, "%s", label);
            el_gguf_close(g);
            remove(path);
        }
        el_gguf_close(ref);
        remove(ref_path);
    }
}

/* Widths of 256 so the K-quants are used (the tiny presets' rows fall back). */
static void test_kquants(void) {
    char err[256];
    el_synth_params p;
    REQUIRE(el_synth_preset("tiny-qwen3", &p, err, sizeof err) == 0);
    p.n_embd = 256;
    p.n_ff = 512;
    p.n_head = 4;
    p.head_dim = 64;
    p.n_layer = 2;
    const struct {
        const char *ft;
        int ffn_up;
    } cases[] = {{"Q4_K_M", EL_TYPE_Q4_K},
                 {"Q4_K_S", EL_TYPE_Q4_K},
                 {"Q5_K_M", EL_TYPE_Q5_K},
                 {"Q5_K_S", EL_TYPE_Q5_K},
                 {"Q6_K", EL_TYPE_Q6_K}};
    for (size_t i = 0; i < EL_ARRAY_LEN(cases); i++) {
        p.ftype = el_synth_ftype_from_name(cases[i].ft);
        char *path = tmp_path("k.gguf");
        REQUIRE(write_model(&p, path) == 0);
        el_gguf *g = open_and_check(&p, path, cases[i].ft);
        REQUIRE(g != NULL);
        const el_gguf_tensor *t = el_gguf_find_tensor(g, "blk.0.ffn_up.weight");
        CHECK(t && t->type == cases[i].ffn_up, "%s: ffn_up type %d", cases[i].ft, t ? t->type : -1);
        el_gguf_close(g);
        remove(path);
    }
}

/* A synthesized quantized model is exactly what the model quantizer makes of the F32 model
 * of the same seed: same type for every tensor (the skeleton plan is the real plan) and the
 * same bytes. Shapes where the mixes differ: rows of 256 (K-quants used), rows of 64 (all
 * K-quants fall back), untied and tied, llama3 rope_freqs, 8 layers (use_more_bits). */
static void test_matches_quantize(void) {
    char err[256];
    struct {
        const char *preset;
        int64_t layers, embd, ffn, heads, kv, hd;
        bool tied;
    } shapes[] = {
        {"tiny-llama", 8, 256, 512, 4, 1, 0, false},
        {"tiny-qwen2", 2, 64, 128, 4, 2, 0, true},
        {"tiny-qwen3", 3, 256, 768, 4, 2, 128, true},
        {"llama-3.2-1b", 2, 256, 256, 4, 2, 64, true},
    };
    const char *fts[] = {"Q8_0", "Q4_0", "Q5_1", "Q4_K_S", "Q4_K_M", "Q5_K_M", "Q6_K", "BF16"};
    for (size_t k = 0; k < EL_ARRAY_LEN(shapes); k++) {
        el_synth_params p;
        REQUIRE(el_synth_preset(shapes[k].preset, &p, err, sizeof err) == 0);
        p.n_layer = shapes[k].layers, p.n_embd = shapes[k].embd, p.n_ff = shapes[k].ffn;
        p.n_head = shapes[k].heads, p.n_head_kv = shapes[k].kv, p.head_dim = shapes[k].hd;
        p.tied = shapes[k].tied, p.n_vocab = 512, p.ftype = 0;
        char f32[512], a[512], b[512];
        snprintf(f32, sizeof f32, "%s", tmp_path("mq-f32.gguf"));
        snprintf(a, sizeof a, "%s", tmp_path("mq-synth.gguf"));
        snprintf(b, sizeof b, "%s", tmp_path("mq-quant.gguf"));
        REQUIRE(write_model(&p, f32) == 0);
        for (size_t f = 0; f < EL_ARRAY_LEN(fts); f++) {
            p.ftype = el_synth_ftype_from_name(fts[f]);
            char label[96];
            snprintf(label, sizeof label, "%s x%lld %s", shapes[k].preset,
                     (long long)shapes[k].embd, fts[f]);
            REQUIRE(write_model(&p, a) == 0, "%s", label);
            el_quantize_params qp = {.ftype = p.ftype, .n_threads = 1};
            REQUIRE(el_quantize_model(f32, b, &qp, NULL, err, sizeof err) == 0, "%s: %s", label,
                    err);
            el_gguf *ga = el_gguf_open(a, err, sizeof err), *gb = el_gguf_open(b, err, sizeof err);
            REQUIRE(ga && gb, "%s", label);
            CHECK(el_gguf_n_tensors(ga) == el_gguf_n_tensors(gb), "%s", label);
            int bad = 0;
            for (int64_t i = 0; i < el_gguf_n_tensors(ga); i++) {
                const el_gguf_tensor *x = el_gguf_tensor_at(ga, i);
                const el_gguf_tensor *y = el_gguf_find_tensor(gb, x->name);
                bool same = y && x->type == y->type && x->size == y->size &&
                            !memcmp(x->data, y->data, x->size);
                if (!same && bad++ < 3)
                    CHECK(0, "%s: %s: synth type %d, quantize type %d", label, x->name, x->type,
                          y ? y->type : -1);
            }
            CHECK(bad == 0, "%s: %d tensors differ", label, bad);
            el_gguf_close(ga);
            el_gguf_close(gb);
            remove(a);
            remove(b);
        }
        remove(f32);
    }
}

static bool same_file(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *x = el_read_file(a, &na), *y = el_read_file(b, &nb);
    bool same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

static void test_determinism(void) {
    char err[256];
    el_synth_params p;
    REQUIRE(el_synth_preset("tiny-qwen2", &p, err, sizeof err) == 0);
    p.ftype = el_synth_ftype_from_name("Q4_0");
    p.seed = 42;
    char *a = tmp_path("det-a.gguf"), *b = tmp_path("det-b.gguf"), *c = tmp_path("det-c.gguf");
    REQUIRE(write_model(&p, a) == 0);
    p.n_threads = 3; /* threads split rows: bytes must not change */
    REQUIRE(write_model(&p, b) == 0);
    CHECK(same_file(a, b), "same seed (1 vs 3 threads) must give identical bytes");
    p.seed = 43;
    REQUIRE(write_model(&p, c) == 0);
    CHECK(!same_file(a, c), "different seeds must differ");
    /* ... in every matrix, and not in the vocabulary */
    el_gguf *ga = el_gguf_open(a, err, sizeof err), *gc = el_gguf_open(c, err, sizeof err);
    REQUIRE(ga && gc);
    CHECK(el_gguf_n_tensors(ga) == el_gguf_n_tensors(gc));
    for (int64_t i = 0; i < el_gguf_n_tensors(ga); i++) {
        const el_gguf_tensor *x = el_gguf_tensor_at(ga, i), *y = el_gguf_tensor_at(gc, i);
        CHECK(x->size == y->size && !strcmp(x->name, y->name));
        CHECK(x->size != y->size || memcmp(x->data, y->data, x->size) != 0,
              "%s is the same for seeds 42 and 43", x->name);
    }
    el_gguf_arr ta, tc;
    REQUIRE(el_gguf_get_arr(ga, "tokenizer.ggml.merges", &ta) == 0 &&
            el_gguf_get_arr(gc, "tokenizer.ggml.merges", &tc) == 0);
    CHECK(ta.n == tc.n && ta.n > 0);
    bool same = ta.n == tc.n;
    for (uint64_t i = 0; same && i < ta.n; i++) {
        el_gstr x = el_gguf_arr_str(&ta, i), y = el_gguf_arr_str(&tc, i);
        same = x.n == y.n && !memcmp(x.s, y.s, x.n);
    }
    CHECK(same, "the vocabulary must not depend on the weights seed");
    el_gguf_close(ga);
    el_gguf_close(gc);
}

/* Weight statistics: the scales the header promises. */
static void test_weight_scale(void) {
    char err[256];
    el_synth_params p;
    REQUIRE(el_synth_preset("tiny-qwen2", &p, err, sizeof err) == 0);
    p.ftype = 0;
    p.n_vocab = 2048;
    char *path = tmp_path("stats.gguf");
    REQUIRE(write_model(&p, path) == 0);
    el_gguf *g = el_gguf_open(path, err, sizeof err);
    REQUIRE(g != NULL, "%s", err);
    const struct {
        const char *name;
        double mean, std;
    } cases[] = {
        {"token_embd.weight", 0, 0.05 / 8.0},          /* 0.05 / sqrt(64) */
        {"output_norm.weight", 50.0, 5.0},             /* tied: 50 * (1 +- 0.1) */
        {"blk.0.attn_q.weight", 0, 1.7320508 / 8.0},   /* sqrt(3) / sqrt(fan-in 64) */
        {"blk.0.attn_v.weight", 0, 1.0 / 8.0},         /* 1 / sqrt(fan-in 64) */
        {"blk.0.attn_k.weight", 0, 1.7320508 / 8.0},   /* sqrt(3) / sqrt(fan-in 64) */
        {"blk.1.ffn_down.weight", 0, 0.5 / sqrt(128)}, /* / sqrt(2 * 2 layers) */
        {"blk.0.attn_norm.weight", 1.0, 0.1},
        {"blk.1.attn_k.bias", 0, 0.1},
    };
    for (size_t i = 0; i < EL_ARRAY_LEN(cases); i++) {
        const el_gguf_tensor *t = el_gguf_find_tensor(g, cases[i].name);
        REQUIRE(t && t->type == EL_TYPE_F32, "%s", cases[i].name);
        const float *x = t->data;
        double s = 0, s2 = 0, mx = 0;
        for (int64_t j = 0; j < t->n_elements; j++) {
            s += x[j];
            s2 += (double)x[j] * x[j];
            mx = fmax(mx, fabs(x[j] - cases[i].mean));
        }
        double mean = s / (double)t->n_elements;
        double sd = sqrt(s2 / (double)t->n_elements - mean * mean);
        double tol = 4 * cases[i].std / sqrt((double)t->n_elements) + 1e-6;
        CHECK(fabs(mean - cases[i].mean) < tol, "%s mean %g", cases[i].name, mean);
        double stol = 0.05 + 3.0 / sqrt(2.0 * (double)t->n_elements);
        CHECK(fabs(sd - cases[i].std) < stol * cases[i].std, "%s std %g want %g", cases[i].name, sd,
              cases[i].std);
        /* Irwin-Hall(4) is bounded at 2*sqrt(3) standard deviations */
        CHECK(mx <= 3.4642 * cases[i].std * 1.0001, "%s max dev %g", cases[i].name, mx);
    }
    el_gguf_close(g);
    /* qwen3 normalises q and k per head: the attention scale sits in the norm weights */
    REQUIRE(el_synth_preset("tiny-qwen3", &p, err, sizeof err) == 0);
    p.ftype = 0;
    REQUIRE(write_model(&p, path) == 0);
    g = el_gguf_open(path, err, sizeof err);
    REQUIRE(g != NULL, "%s", err);
    const char *qk[2] = {"blk.2.attn_q_norm.weight", "blk.0.attn_k_norm.weight"};
    for (int i = 0; i < 2; i++) {
        const el_gguf_tensor *t = el_gguf_find_tensor(g, qk[i]);
        REQUIRE(t && t->type == EL_TYPE_F32 && t->ne[0] == 64, "%s", qk[i]);
        double m = 0;
        for (int j = 0; j < 64; j++)
            m += ((const float *)t->data)[j] / 64.0;
        CHECK(fabs(m - 1.7320508) < 0.1, "%s mean %g, want sqrt(3)", qk[i], m);
    }
    el_gguf_close(g);
    remove(path);
}

static el_gstr tok_at(const el_gguf_arr *a, uint64_t i) {
    return el_gguf_arr_str(a, i);
}

static bool gstr_is(el_gstr s, const char *want) {
    return s.n == strlen(want) && !memcmp(s.s, want, s.n);
}

static void test_byte_vocab(void) {
    char err[256];
    for (size_t a = 0; a < EL_ARRAY_LEN(tiny); a++) {
        el_synth_params p;
        REQUIRE(el_synth_preset(tiny[a], &p, err, sizeof err) == 0);
        p.n_vocab = 1000;
        p.n_layer = 1;
        char *path = tmp_path("vocab.gguf");
        REQUIRE(write_model(&p, path) == 0);
        el_gguf *g = el_gguf_open(path, err, sizeof err);
        REQUIRE(g != NULL, "%s", err);
        el_gguf_arr toks, types, merges;
        REQUIRE(el_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks) == 0 &&
                el_gguf_get_arr(g, "tokenizer.ggml.token_type", &types) == 0 &&
                el_gguf_get_arr(g, "tokenizer.ggml.merges", &merges) == 0);
        CHECK(toks.n == 1000 && types.n == 1000);
        CHECK(str_eq(g, "tokenizer.ggml.model", "gpt2"));
        CHECK(str_eq(g, "tokenizer.ggml.pre", p.arch == EL_SYNTH_LLAMA ? "llama-bpe" : "qwen2"));
        CHECK(el_gguf_find_key(g, "tokenizer.chat_template") >= 0);
        /* GPT-2 byte spelling */
        CHECK(gstr_is(tok_at(&toks, 'a'), "a") && gstr_is(tok_at(&toks, ' '), "\xC4\xA0") &&
              gstr_is(tok_at(&toks, '\n'), "\xC4\x8A") && gstr_is(tok_at(&toks, 0), "\xC4\x80") &&
              gstr_is(tok_at(&toks, 0xAD), "\xC5\x83") && gstr_is(tok_at(&toks, 0xFF), "\xC3\xBF"));
        /* every merge joins two tokens into a token, each defined before the merge */
        CHECK(merges.n > 500, "%llu merges", (unsigned long long)merges.n);
        bool ok = true;
        for (uint64_t m = 0; m < merges.n && ok; m++) {
            el_gstr s = el_gguf_arr_str(&merges, m);
            const char *sp = memchr(s.s, ' ', s.n);
            ok = sp != NULL;
            if (!ok) break;
            /* the merged token is 256 + m (merges are listed in token order) */
            el_gstr t = tok_at(&toks, 256 + m);
            size_t nl = (size_t)(sp - s.s), nr = s.n - nl - 1;
            ok = t.n == nl + nr && !memcmp(t.s, s.s, nl) && !memcmp(t.s + nl, sp + 1, nr);
            CHECK(ok, "merge %llu '%.*s' vs token '%.*s'", (unsigned long long)m, (int)s.n, s.s,
                  (int)t.n, t.s);
        }
        /* specials at the end; bos/eos point at them */
        int64_t eos = get_i(g, "tokenizer.ggml.eos_token_id");
        int64_t bos = get_i(g, "tokenizer.ggml.bos_token_id");
        REQUIRE(eos >= 0 && eos < 1000 && bos >= 0 && bos < 1000);
        if (p.arch == EL_SYNTH_LLAMA) {
            CHECK(gstr_is(tok_at(&toks, (uint64_t)bos), "<|begin_of_text|>"));
            CHECK(gstr_is(tok_at(&toks, (uint64_t)eos), "<|eot_id|>"));
            CHECK(gstr_is(tok_at(&toks, 999), "<|python_tag|>"));
        } else {
            CHECK(gstr_is(tok_at(&toks, (uint64_t)bos), "<|endoftext|>"));
            CHECK(gstr_is(tok_at(&toks, (uint64_t)eos), "<|im_end|>"));
            CHECK(el_gguf_arr_i64(&types, (uint64_t)eos) == 3);
        }
        bool add_bos = true;
        CHECK(el_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos) == 0 &&
              add_bos == (p.arch == EL_SYNTH_LLAMA));
        /* unique tokens */
        bool uniq = true;
        for (uint64_t i = 0; i < toks.n && uniq; i++)
            for (uint64_t j = i + 1; j < toks.n && uniq; j++) {
                el_gstr x = tok_at(&toks, i), y = tok_at(&toks, j);
                uniq = !(x.n == y.n && !memcmp(x.s, y.s, x.n));
            }
        CHECK(uniq, "tokens must be unique");
        el_gguf_close(g);
        remove(path);
    }
    /* too small for 256 bytes + specials */
    el_synth_params p;
    REQUIRE(el_synth_preset("tiny-llama", &p, err, sizeof err) == 0);
    p.n_vocab = 260;
    CHECK(el_synth_write(&p, tmp_path("small.gguf"), err, sizeof err) < 0 &&
              strstr(err, "too small"),
          "%s", err);
}

static void test_copy_vocab(void) {
    char err[256];
    const char *src = el_testdata("tokenizer/ggml-vocab-gpt-2.gguf");
    el_gguf *s = el_gguf_open(src, err, sizeof err);
    REQUIRE(s != NULL, "%s", err);
    el_gguf_arr st;
    REQUIRE(el_gguf_get_arr(s, "tokenizer.ggml.tokens", &st) == 0);
    el_synth_params p;
    REQUIRE(el_synth_preset("tiny-llama", &p, err, sizeof err) == 0);
    p.n_layer = 1;
    snprintf(p.tokenizer, sizeof p.tokenizer, "%s", src);
    /* vocab from the file (the preset's 384 grows to 50257) */
    char *path = tmp_path("gpt2vocab.gguf");
    REQUIRE(write_model(&p, path) == 0);
    el_gguf *g = el_gguf_open(path, err, sizeof err);
    REQUIRE(g != NULL, "%s", err);
    const el_gguf_tensor *te = el_gguf_find_tensor(g, "token_embd.weight");
    CHECK(te && te->ne[1] == (int64_t)st.n, "token_embd rows");
    CHECK(get_i(g, "llama.vocab_size") == (int64_t)st.n);
    int copied = 0;
    for (int64_t i = 0; i < el_gguf_n_kv(s); i++) {
        const char *key = el_gguf_key(s, i);
        if (strncmp(key, "tokenizer.", 10)) continue;
        CHECK(el_gguf_find_key(g, key) >= 0, "%s not copied", key);
        copied++;
    }
    CHECK(copied >= 4);
    el_gguf_arr gt;
    REQUIRE(el_gguf_get_arr(g, "tokenizer.ggml.tokens", &gt) == 0 && gt.n == st.n);
    bool same = true;
    for (uint64_t i = 0; i < st.n && same; i++) {
        el_gstr x = el_gguf_arr_str(&st, i), y = el_gguf_arr_str(&gt, i);
        same = x.n == y.n && !memcmp(x.s, y.s, x.n);
    }
    CHECK(same, "tokens copied verbatim");
    el_gguf_close(g);

    /* padded to an exact, larger vocab: [PAD<id>] tokens of type UNUSED */
    p.n_vocab = 50304;
    p.vocab_exact = true;
    REQUIRE(write_model(&p, path) == 0);
    g = el_gguf_open(path, err, sizeof err);
    REQUIRE(g != NULL, "%s", err);
    el_gguf_arr ty;
    REQUIRE(el_gguf_get_arr(g, "tokenizer.ggml.tokens", &gt) == 0 && gt.n == 50304);
    CHECK(gstr_is(el_gguf_arr_str(&gt, 50257), "[PAD50257]") &&
          gstr_is(el_gguf_arr_str(&gt, 50303), "[PAD50303]"));
    CHECK(gstr_is(el_gguf_arr_str(&gt, 50256), "<|endoftext|>"));
    REQUIRE(el_gguf_get_arr(g, "tokenizer.ggml.token_type", &ty) == 0 && ty.n == 50304);
    CHECK(el_gguf_arr_i64(&ty, 50300) == 5 && el_gguf_arr_i64(&ty, 100) == 1);
    te = el_gguf_find_tensor(g, "token_embd.weight");
    CHECK(te && te->ne[1] == 50304);
    el_gguf_close(g);

    /* exact and too small: error */
    p.n_vocab = 1000;
    CHECK(el_synth_write(&p, path, err, sizeof err) < 0 && strstr(err, "smaller"), "%s", err);
    el_gguf_close(s);
    remove(path);
}

/* A real vocabulary imported from an HF tokenizer.json (Qwen3's, with its config beside it),
 * padded to the real model's 151936 rows as llama.cpp's converter pads it. */
static void test_hf_vocab(void) {
    char err[256];
    el_synth_params p;
    REQUIRE(el_synth_preset("tiny-qwen3", &p, err, sizeof err) == 0);
    p.n_layer = 1;
    p.n_vocab = 151936;
    p.ftype = el_synth_ftype_from_name("Q4_0");
    snprintf(p.tokenizer, sizeof p.tokenizer, "%s",
             el_testdata("tokenizer/hf-qwen3/tokenizer.json"));
    char *path = tmp_path("hf.gguf");
    REQUIRE(write_model(&p, path) == 0);
    el_gguf *g = el_gguf_open(path, err, sizeof err);
    REQUIRE(g != NULL, "%s", err);
    el_gguf_arr toks, ty;
    REQUIRE(el_gguf_get_arr(g, "tokenizer.ggml.tokens", &toks) == 0 && toks.n == 151936);
    REQUIRE(el_gguf_get_arr(g, "tokenizer.ggml.token_type", &ty) == 0 && ty.n == 151936);
    const el_gguf_tensor *te = el_gguf_find_tensor(g, "token_embd.weight");
    CHECK(te && te->ne[1] == 151936);
    CHECK(str_eq(g, "tokenizer.ggml.model", "gpt2") && str_eq(g, "tokenizer.ggml.pre", "qwen2"));
    CHECK(gstr_is(el_gguf_arr_str(&toks, 151643), "<|endoftext|>") &&
          gstr_is(el_gguf_arr_str(&toks, 151645), "<|im_end|>"));
    CHECK(gstr_is(el_gguf_arr_str(&toks, 151935), "[PAD151935]") &&
          el_gguf_arr_i64(&ty, 151935) == 5);
    CHECK(get_i(g, "tokenizer.ggml.eos_token_id") == 151645);
    size_t tl = 0;
    char *tmpl = el_read_file(el_testdata("chat_templates/Qwen-Qwen3-0.6B.jinja"), &tl);
    el_gstr ct;
    CHECK(tmpl && el_gguf_get_str(g, "tokenizer.chat_template", &ct) == 0 && ct.n == tl &&
              !memcmp(ct.s, tmpl, tl),
          "the config's chat template is carried over");
    free(tmpl);
    el_gguf_close(g);
    remove(path);
    /* no temporary files left next to the output */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q synth-", el_tmpdir());
    CHECK(system(cmd) != 0, "temporary files left in %s", el_tmpdir());
}

static void test_rope_llama3(void) {
    char err[256];
    el_synth_params p;
    REQUIRE(el_synth_preset("tiny-llama", &p, err, sizeof err) == 0);
    p.rope_llama3 = true;
    p.rope_base = 500000;
    p.n_head = 2;
    p.n_head_kv = 1; /* head_dim 32: 16 frequencies */
    char *path = tmp_path("rope.gguf");
    REQUIRE(write_model(&p, path) == 0);
    el_gguf *g = open_and_check(&p, path, "llama3 rope");
    REQUIRE(g != NULL);
    const el_gguf_tensor *t = el_gguf_find_tensor(g, "rope_freqs.weight");
    REQUIRE(t && t->type == EL_TYPE_F32 && t->ne[0] == 16);
    const float *f = t->data;
    CHECK(f[0] == 1.0f, "highest frequency unscaled: %g", f[0]);
    CHECK(f[15] == 32.0f, "lowest frequency divided by the factor: %g", f[15]);
    bool mono = true, mid = false;
    for (int i = 1; i < 16; i++) {
        mono = mono && f[i] >= f[i - 1];
        mid = mid || (f[i] > 1.0f && f[i] < 32.0f);
    }
    CHECK(mono && mid, "factors rise smoothly from 1 to 32");
    el_gguf_close(g);
    remove(path);
}

static void test_errors(void) {
    char err[256];
    el_synth_params base, p;
    REQUIRE(el_synth_preset("tiny-llama", &base, err, sizeof err) == 0);
    CHECK(el_synth_check(&base, err, sizeof err) == 0, "%s", err);
    struct {
        const char *what;
        const char *needle;
    } cases[] = {
        {"heads 3 vs embd 64", "divide embd"},
        {"kv 3 vs heads 4", "kv-heads"},
        {"Q4_0 embd 48", "multiple of 32"},
        {"layers 0", "layers"},
        {"layers huge", "layers"},
        {"vocab 0", "vocab"},
        {"odd head dim", "even"},
        {"llama3 on qwen2", "llama3"},
        {"rope base 0", "rope base"},
        {"eps 0", "epsilon"},
        {"ftype 99", "file type"},
        {"too large", "too large"},
        {"ctx 0", "ctx"},
    };
    for (size_t i = 0; i < EL_ARRAY_LEN(cases); i++) {
        p = base;
        switch (i) {
        case 0:
            p.n_head = 3, p.n_head_kv = 1;
            break;
        case 1:
            p.n_head_kv = 3;
            break;
        case 2:
            p.n_embd = 48, p.n_head = 4, p.ftype = 2;
            break;
        case 3:
            p.n_layer = 0;
            break;
        case 4:
            p.n_layer = 100000;
            break;
        case 5:
            p.n_vocab = 0;
            break;
        case 6:
            p.head_dim = 7;
            break;
        case 7:
            p.arch = EL_SYNTH_QWEN2, p.rope_llama3 = true;
            break;
        case 8:
            p.rope_base = 0;
            break;
        case 9:
            p.norm_eps = 0;
            break;
        case 10:
            p.ftype = 99;
            break;
        case 11:
            p.n_embd = 65536, p.n_ff = 1 << 20, p.n_layer = 1024, p.n_head = 64, p.n_head_kv = 64;
            break;
        case 12:
            p.n_ctx = 0;
            break;
        }
        err[0] = 0;
        CHECK(el_synth_check(&p, err, sizeof err) < 0 && strstr(err, cases[i].needle) &&
                  !strchr(err, '\n'),
              "%s: '%s'", cases[i].what, err);
        CHECK(el_synth_write(&p, tmp_path("bad.gguf"), err, sizeof err) < 0, "%s", cases[i].what);
    }
    CHECK(access(tmp_path("bad.gguf"), F_OK) != 0, "no file left behind");
    /* unwritable destination: an error, no crash */
    CHECK(el_synth_write(&base, "/nonexistent-dir/x.gguf", err, sizeof err) < 0 && err[0]);
    /* a tokenizer that is not a GGUF file */
    p = base;
    snprintf(p.tokenizer, sizeof p.tokenizer, "%s", el_testdata("text/tinystories_sample.txt"));
    CHECK(el_synth_write(&p, tmp_path("bad.gguf"), err, sizeof err) < 0 && err[0]);
    snprintf(p.tokenizer, sizeof p.tokenizer, "/nonexistent/tokenizer.gguf");
    CHECK(el_synth_write(&p, tmp_path("bad.gguf"), err, sizeof err) < 0 && err[0]);
}

/* The weights make greedy decoding a meaningful test: through the engine, each tiny model's
 * logits have a real spread (std ~1..6, no top-1 ties) and a greedy run of 24 steps
 * visits many tokens (a random tied model that just repeats its input fails this). */
static void test_greedy_spread(void) {
    char err[256];
    for (size_t a = 0; a < EL_ARRAY_LEN(tiny); a++) {
        el_synth_params p;
        REQUIRE(el_synth_preset(tiny[a], &p, err, sizeof err) == 0);
        p.ftype = 0;
        p.n_layer = 4;
        char *path = tmp_path("greedy.gguf");
        REQUIRE(write_model(&p, path) == 0);
        el_model *m = el_model_open(path, err, sizeof err);
        REQUIRE(m != NULL, "%s: %s", tiny[a], err);
        el_session_params sp;
        el_session_params_default(&sp);
        sp.n_ctx = 64;
        sp.n_threads = 1;
        el_session *s = el_session_open(m, &sp, err, sizeof err);
        REQUIRE(s != NULL, "%s", err);
        el_model_desc d;
        el_model_describe(m, &d);
        el_token tok = 300 % d.n_vocab; /* some merged token */
        int seen[4096] = {0}, distinct = 0;
        double min_gap = 1e9, sd_lo = 1e9, sd_hi = 0;
        for (int32_t step = 0; step < 24; step++) {
            el_batch b = {.n = 1, .tokens = &tok, .pos = &step};
            REQUIRE(el_session_decode(s, &b, err, sizeof err) == 0, "%s", err);
            const float *lg = el_session_logits(s, 0);
            REQUIRE(lg != NULL);
            double sum = 0, sum2 = 0, best = -1e30, second = -1e30;
            int arg = 0;
            for (int i = 0; i < d.n_vocab; i++) {
                sum += lg[i];
                sum2 += (double)lg[i] * lg[i];
                if (lg[i] > best)
                    second = best, best = lg[i], arg = i;
                else if (lg[i] > second)
                    second = lg[i];
            }
            double mean = sum / d.n_vocab, sd = sqrt(sum2 / d.n_vocab - mean * mean);
            sd_lo = fmin(sd_lo, sd), sd_hi = fmax(sd_hi, sd);
            min_gap = fmin(min_gap, best - second);
            if (arg < 4096 && !seen[arg]++) distinct++;
            tok = arg;
        }
        CHECK(sd_lo > 1.0 && sd_hi < 6.0, "%s: logit std %g..%g", tiny[a], sd_lo, sd_hi);
        CHECK(min_gap > 1e-4, "%s: top-1/top-2 gap %g", tiny[a], min_gap);
        CHECK(distinct >= 6, "%s: greedy visits %d distinct tokens in 24 steps", tiny[a], distinct);
        el_session_close(s);
        el_model_close(m);
        remove(path);
    }
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_presets);
    RUN(test_arch_types);
    RUN(test_kquants);
    RUN(test_matches_quantize);
    RUN(test_determinism);
    RUN(test_weight_scale);
    RUN(test_byte_vocab);
    RUN(test_copy_vocab);
    RUN(test_hf_vocab);
    RUN(test_rope_llama3);
    RUN(test_greedy_spread);
    RUN(test_errors);
    return test_summary(argv[0]);
}
