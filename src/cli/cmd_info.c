/* cli/cmd_info.c — `edgellm info FILE [-c CTX] [--tensors] [--cpu]`: what a user wants to
 * know before loading a model on a small board: the file and its GGUF header, the
 * architecture's hyperparameters, a tokenizer summary, the tensors (per-type summary, or
 * every tensor with --tensors), totals (parameters, bytes, bits per weight) and the memory
 * needed at a context size: weights (mmapped) + f16 KV cache + an estimate of the compute
 * buffers, compared with the memory this machine has available.
 *
 * Reads the file through gguf/ only (no model load), so it works for any architecture and
 * for vocab-only files. Hyperparameters a model does not state are shown as "-" or with the
 * default llama.cpp would use, marked "(default)". Memory: the mapping, nothing else big.
 * Errors: one line on stderr, exit 1; bad flags: usage, exit 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/util.h"
#include "gguf/gguf.h"
#include "kernels/cpu.h"
#include "kernels/dispatch.h"
#include "kernels/repack.h"
#include "kernels/types.h"

static void usage(FILE *f) {
    fprintf(f, "usage: edgellm info FILE.gguf [-c CTX] [--tensors] [--cpu]\n"
               "       edgellm info --cpu\n"
               "  -c, --ctx-size N  context size for the memory estimate (default: the model's\n"
               "                    context_length, at most 4096)\n"
               "  --tensors         list every tensor (name, type, shape, bytes)\n"
               "  --cpu             print this machine's CPU features and kernel level\n");
}

/* ---- formatting ----------------------------------------------------------------------------- */

static const char *fmt_bytes(double b, char *buf, size_t n) {
    if (b < 1024)
        snprintf(buf, n, "%.0f B", b);
    else if (b < 1024.0 * 1024)
        snprintf(buf, n, "%.2f KiB", b / 1024);
    else if (b < 1024.0 * 1024 * 1024)
        snprintf(buf, n, "%.2f MiB", b / (1024.0 * 1024));
    else
        snprintf(buf, n, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    return buf;
}

static const char *fmt_count(double v, char *buf, size_t n) {
    if (v < 1e3)
        snprintf(buf, n, "%.0f", v);
    else if (v < 1e6)
        snprintf(buf, n, "%.2f K", v / 1e3);
    else if (v < 1e9)
        snprintf(buf, n, "%.2f M", v / 1e6);
    else
        snprintf(buf, n, "%.2f B", v / 1e9);
    return buf;
}

/* Prints a file string (not NUL-terminated) with control characters escaped, cut at max
 * bytes (never inside a UTF-8 sequence). */
static void put_str(const char *s, uint64_t n, uint64_t max) {
    uint64_t i = 0;
    for (; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    if (i < n) {
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
            putchar(s[i++]);
        if (i < n) fputs("...", stdout);
    }
}

/* ---- metadata helpers -------------------------------------------------------------------------
 */

typedef struct ctx {
    const el_gguf *g;
    char arch[64];
} ctx;

/* "<arch>.<suffix>" */
static const char *akey(const ctx *c, const char *suffix) {
    static char buf[4][160];
    static int slot;
    char *k = buf[slot++ & 3];
    snprintf(k, sizeof buf[0], "%s.%s", c->arch, suffix);
    return k;
}

/* An integer hyperparameter that may be a scalar or a per-layer array: the max over layers
 * (and the min, for display). Returns false when absent. */
static bool hp_int(const ctx *c, const char *suffix, int64_t *max, int64_t *min) {
    const char *k = akey(c, suffix);
    int64_t v;
    if (el_gguf_get_i64(c->g, k, &v) == 0) {
        *max = *min = v;
        return true;
    }
    el_gguf_arr a;
    if (el_gguf_get_arr(c->g, k, &a) == 0 && a.n > 0 && a.elem_type != EL_GGUF_STRING &&
        a.elem_type != EL_GGUF_ARRAY) {
        *max = *min = el_gguf_arr_i64(&a, 0);
        for (uint64_t j = 1; j < a.n; j++) {
            int64_t x = el_gguf_arr_i64(&a, j);
            if (x > *max) *max = x;
            if (x < *min) *min = x;
        }
        return true;
    }
    return false;
}

/* Sum over layers of a per-layer (or scalar) integer, for n_layer layers. */
static int64_t hp_sum(const ctx *c, const char *suffix, int64_t n_layer, int64_t dflt) {
    el_gguf_arr a;
    int64_t v;
    if (el_gguf_get_i64(c->g, akey(c, suffix), &v) == 0) return v * n_layer;
    if (el_gguf_get_arr(c->g, akey(c, suffix), &a) == 0 && a.elem_type != EL_GGUF_STRING &&
        a.elem_type != EL_GGUF_ARRAY) {
        int64_t s = 0;
        for (uint64_t j = 0; j < a.n && (int64_t)j < n_layer; j++)
            s += el_gguf_arr_i64(&a, j);
        return s;
    }
    return dflt * n_layer;
}

static void row_label(const char *label) {
    printf("  %-22s ", label);
}

static void row_int(const ctx *c, const char *label, const char *suffix) {
    int64_t mx, mn;
    row_label(label);
    if (!hp_int(c, suffix, &mx, &mn))
        printf("-\n");
    else if (mx == mn)
        printf("%lld\n", (long long)mx);
    else
        printf("%lld..%lld (per layer)\n", (long long)mn, (long long)mx);
}

static void print_token(const el_gguf *g, const el_gguf_arr *tok, const char *label,
                        const char *key) {
    int64_t id;
    if (el_gguf_get_i64(g, key, &id) != 0) return;
    printf(" %s %lld", label, (long long)id);
    if (tok && id >= 0 && (uint64_t)id < tok->n) {
        el_gstr s = el_gguf_arr_str(tok, (uint64_t)id);
        fputs(" '", stdout);
        put_str(s.s, s.n, 32);
        putchar('\'');
    } else if (id == 4294967295ll || id == -1) {
        fputs(" (none)", stdout);
    }
}

static void print_bool_key(const el_gguf *g, const char *label, const char *key) {
    bool b;
    printf(" %s %s", label, el_gguf_get_bool(g, key, &b) == 0 ? (b ? "yes" : "no") : "-");
}

/* MemAvailable from /proc/meminfo, bytes; 0 when unknown. */
static uint64_t mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

/* ---- sections ------------------------------------------------------------------------------- */

static void print_tensors(const el_gguf *g, bool all) {
    int64_t nt = el_gguf_n_tensors(g);
    if (nt == 0) {
        printf("tensors      none (vocab-only file)\n");
        return;
    }
    char b1[32], b2[32];
    if (all) {
        printf("tensors      %lld:\n", (long long)nt);
        printf("  %-40s %-8s %-24s %12s\n", "name", "type", "shape", "bytes");
        for (int64_t i = 0; i < nt; i++) {
            const el_gguf_tensor *t = el_gguf_tensor_at(g, i);
            char shape[96];
            size_t at = 0;
            for (uint32_t d = 0; d < t->n_dims && at < sizeof shape; d++)
                at += (size_t)snprintf(shape + at, sizeof shape - at, "%s%lld", d ? " x " : "",
                                       (long long)t->ne[d]);
            printf("  %-40s %-8s %-24s %12llu\n", t->name, el_type_traits(t->type)->name, shape,
                   (unsigned long long)t->size);
        }
        return;
    }
    /* per type: count, elements, bytes */
    int64_t cnt[EL_TYPE_COUNT] = {0};
    double nel[EL_TYPE_COUNT] = {0}, bytes[EL_TYPE_COUNT] = {0};
    for (int64_t i = 0; i < nt; i++) {
        const el_gguf_tensor *t = el_gguf_tensor_at(g, i);
        cnt[t->type]++;
        nel[t->type] += (double)t->n_elements;
        bytes[t->type] += (double)t->size;
    }
    printf("tensors      %lld (--tensors lists them)\n", (long long)nt);
    for (int t = 0; t < EL_TYPE_COUNT; t++) {
        if (!cnt[t]) continue;
        printf("  %-8s %5lld tensors  %10s params  %12s  %6.2f bits/weight\n",
               el_type_traits(t)->name, (long long)cnt[t], fmt_count(nel[t], b1, sizeof b1),
               fmt_bytes(bytes[t], b2, sizeof b2), bytes[t] * 8 / nel[t]);
    }
}

static void print_tokenizer(const el_gguf *g) {
    el_gstr model, pre, tmpl;
    el_gguf_arr tok, merges;
    bool has_tok =
        el_gguf_get_arr(g, "tokenizer.ggml.tokens", &tok) == 0 && tok.elem_type == EL_GGUF_STRING;
    bool has_model = el_gguf_get_str(g, "tokenizer.ggml.model", &model) == 0;
    if (!has_model && !has_tok) {
        printf("tokenizer    none in this file\n");
        return;
    }
    printf("tokenizer    ");
    if (has_model)
        put_str(model.s, model.n, 32);
    else
        fputs("-", stdout);
    if (has_model && model.n == 5 && !memcmp(model.s, "llama", 5))
        fputs(" (SentencePiece)", stdout);
    if (has_model && model.n == 4 && !memcmp(model.s, "gpt2", 4))
        fputs(" (byte-level BPE)", stdout);
    if (has_model && model.n == 4 && !memcmp(model.s, "bert", 4)) fputs(" (WordPiece)", stdout);
    fputs(", pre ", stdout);
    if (el_gguf_get_str(g, "tokenizer.ggml.pre", &pre) == 0)
        put_str(pre.s, pre.n, 32);
    else
        fputs("-", stdout);
    printf(", %llu tokens", has_tok ? (unsigned long long)tok.n : 0ull);
    if (el_gguf_get_arr(g, "tokenizer.ggml.merges", &merges) == 0)
        printf(", %llu merges", (unsigned long long)merges.n);
    printf("\n ");
    const el_gguf_arr *tp = has_tok ? &tok : NULL;
    print_token(g, tp, "bos", "tokenizer.ggml.bos_token_id");
    print_token(g, tp, "eos", "tokenizer.ggml.eos_token_id");
    print_token(g, tp, "eot", "tokenizer.ggml.eot_token_id");
    print_token(g, tp, "unk", "tokenizer.ggml.unknown_token_id");
    print_token(g, tp, "pad", "tokenizer.ggml.padding_token_id");
    printf("\n ");
    print_bool_key(g, "add_bos", "tokenizer.ggml.add_bos_token");
    print_bool_key(g, "add_eos", "tokenizer.ggml.add_eos_token");
    if (el_gguf_get_str(g, "tokenizer.chat_template", &tmpl) == 0)
        printf(" chat_template %llu bytes\n", (unsigned long long)tmpl.n);
    else
        printf(" chat_template none\n");
}

typedef struct dims {
    int64_t n_layer, n_embd, n_ff, n_head, n_head_kv, k_dim, v_dim, n_vocab, ctx_train;
} dims;

static void print_arch(const ctx *c, dims *d) {
    const el_gguf *g = c->g;
    int64_t mn, v;
    double f;
    el_gstr s;
    printf("arch         %s\n", c->arch[0] ? c->arch : "-");
    if (!c->arch[0]) return;
    if (hp_int(c, "block_count", &d->n_layer, &mn))
        row_int(c, "block_count", "block_count");
    else
        printf("  %-22s -\n", "block_count");
    hp_int(c, "embedding_length", &d->n_embd, &mn);
    row_int(c, "embedding_length", "embedding_length");
    hp_int(c, "feed_forward_length", &d->n_ff, &mn);
    row_int(c, "feed_forward_length", "feed_forward_length");
    hp_int(c, "attention.head_count", &d->n_head, &mn);
    row_int(c, "head_count", "attention.head_count");
    if (!hp_int(c, "attention.head_count_kv", &d->n_head_kv, &mn)) d->n_head_kv = d->n_head;
    row_label("head_count_kv");
    if (hp_int(c, "attention.head_count_kv", &v, &mn)) {
        printf(mn == v ? "%lld" : "%lld..%lld (per layer)", (long long)(mn == v ? v : mn),
               (long long)v);
        if (mn == v && v > 0 && d->n_head % v == 0 && d->n_head != v)
            printf("  (GQA %lld:1)", (long long)(d->n_head / v));
        printf("\n");
    } else {
        printf("%lld (default: head_count)\n", (long long)d->n_head);
    }
    row_label("head_dim");
    bool kl = hp_int(c, "attention.key_length", &d->k_dim, &mn);
    if (!kl) d->k_dim = d->n_head > 0 ? d->n_embd / d->n_head : 0;
    if (!hp_int(c, "attention.value_length", &d->v_dim, &mn)) d->v_dim = d->k_dim;
    if (d->v_dim != d->k_dim)
        printf("k %lld, v %lld\n", (long long)d->k_dim, (long long)d->v_dim);
    else
        printf("%lld%s\n", (long long)d->k_dim, kl ? "" : " (embedding_length / head_count)");
    row_label("rope");
    if (hp_int(c, "rope.dimension_count", &v, &mn))
        printf("dims %lld", (long long)v);
    else
        printf("dims %lld (default: head_dim)", (long long)d->k_dim);
    if (el_gguf_get_f64(g, akey(c, "rope.freq_base"), &f) == 0)
        printf(", freq_base %g", f);
    else
        printf(", freq_base 10000 (default)");
    if (el_gguf_get_str(g, akey(c, "rope.scaling.type"), &s) == 0) {
        fputs(", scaling ", stdout);
        put_str(s.s, s.n, 24);
        if (el_gguf_get_f64(g, akey(c, "rope.scaling.factor"), &f) == 0) printf(" x%g", f);
        if (hp_int(c, "rope.scaling.original_context_length", &v, &mn))
            printf(" (original context %lld)", (long long)v);
    } else if (el_gguf_get_f64(g, akey(c, "rope.scale_linear"), &f) == 0) {
        printf(", scaling linear x%g", f);
    } else {
        printf(", no scaling");
    }
    printf("\n");
    if (hp_int(c, "context_length", &d->ctx_train, &mn))
        row_int(c, "context_length", "context_length");
    else
        printf("  %-22s -\n", "context_length");
    row_label("norm eps");
    if (el_gguf_get_f64(g, akey(c, "attention.layer_norm_rms_epsilon"), &f) == 0)
        printf("%g (RMSNorm)\n", f);
    else if (el_gguf_get_f64(g, akey(c, "attention.layer_norm_epsilon"), &f) == 0)
        printf("%g (LayerNorm)\n", f);
    else
        printf("-\n");
    if (hp_int(c, "expert_count", &v, &mn)) {
        int64_t used = 0;
        hp_int(c, "expert_used_count", &used, &mn);
        row_label("experts");
        printf("%lld, %lld used per token\n", (long long)v, (long long)used);
    }
    row_label("vocab_size");
    el_gguf_arr tok;
    const el_gguf_tensor *emb = el_gguf_find_tensor(g, "token_embd.weight");
    if (hp_int(c, "vocab_size", &d->n_vocab, &mn)) {
        printf("%lld\n", (long long)d->n_vocab);
    } else if (el_gguf_get_arr(g, "tokenizer.ggml.tokens", &tok) == 0) {
        d->n_vocab = (int64_t)tok.n;
        printf("%lld (tokens)\n", (long long)d->n_vocab);
    } else if (emb && emb->n_dims >= 2) {
        d->n_vocab = emb->ne[1];
        printf("%lld (token_embd)\n", (long long)d->n_vocab);
    } else {
        printf("-\n");
    }
}

static void print_memory(const el_gguf *g, const dims *d, int64_t n_ctx, bool ctx_given,
                         const ctx *c) {
    char b1[32], b2[32], b3[32], b4[32];
    double weights = 0;
    for (int64_t i = 0; i < el_gguf_n_tensors(g); i++)
        weights += (double)el_gguf_tensor_at(g, i)->size;
    if (!ctx_given) n_ctx = d->ctx_train > 0 ? (d->ctx_train < 4096 ? d->ctx_train : 4096) : 4096;
    /* KV cache in f16: K and V for every layer, position and kv head */
    double kv_heads_sum = (double)hp_sum(c, "attention.head_count_kv", d->n_layer, d->n_head_kv);
    double kv = kv_heads_sum * (double)n_ctx * (double)(d->k_dim + d->v_dim) * 2;
    /* compute buffers: a 512-token prefill batch through one layer at a time (residual, norm
     * output, q/k/v, attention output, gate/up in f32, the int8 activations) and one row of
     * logits; attention is computed streaming, without an n_ctx x n_ctx score matrix */
    double B = 512, q_dim = (double)(d->n_head * d->k_dim),
           kv_dim = (double)(d->n_head_kv * (d->k_dim + d->v_dim)), ff = (double)d->n_ff,
           e = (double)d->n_embd;
    double widest = e > ff ? e : ff;
    if (q_dim > widest) widest = q_dim;
    double compute = 4 * B * (2 * e + widest + 2 * q_dim + kv_dim + 2 * ff) + B * widest * 1.125 +
                     4 * (double)d->n_vocab;
    double total = weights + kv + compute;
    printf("memory       at context %lld%s:\n", (long long)n_ctx,
           ctx_given ? ""
                     : (d->ctx_train > 4096 ? " (context_length capped at 4096; -c N)"
                                            : " (-c N to change)"));
    printf("  %-22s %s (mmapped, shared with the page cache)\n", "weights",
           fmt_bytes(weights, b1, sizeof b1));
    printf("  %-22s %s (f16: 2 x %lld layers x %lld ctx x %lld kv heads x %lld head_dim x 2 B)\n",
           "KV cache", fmt_bytes(kv, b2, sizeof b2), (long long)d->n_layer, (long long)n_ctx,
           (long long)d->n_head_kv, (long long)((d->k_dim + d->v_dim) / 2));
    /* matrices the engine repacks at load for this CPU's kernels (engine/model.c): they
     * replace the file's pages of the same matrices, so the total does not change */
    double repacked = 0;
    int n_repacked = 0;
    const int level = el_kernels_active_level();
    const bool tied = !el_gguf_find_tensor(g, "output.weight");
    const char *env = getenv("EL_REPACK");
    for (int64_t i = 0; i < el_gguf_n_tensors(g) && !(env && !strcmp(env, "0")); i++) {
        const el_gguf_tensor *t = el_gguf_tensor_at(g, i);
        const size_t nl = strlen(t->name);
        const bool matmul = t->n_dims == 2 && (strcmp(t->name, "token_embd.weight")
                                                   ? nl > 7 && !strcmp(t->name + nl - 7, ".weight")
                                                   : tied);
        if (!matmul || !el_kernels_packs(level, t->type)) continue;
        const size_t b = el_repack_bytes(t->type, t->ne[1], t->ne[0]);
        if (b) repacked += (double)b, n_repacked++;
    }
    printf("  %-22s ~%s (512-token batch)\n", "compute buffers", fmt_bytes(compute, b3, sizeof b3));
    if (n_repacked)
        printf("  %-22s %s in %d matrices interleaved for the %s kernels (their file pages are "
               "released: no extra memory; EL_REPACK=0 keeps the file's layout)\n",
               "repacked at load", fmt_bytes(repacked, b3, sizeof b3), n_repacked,
               el_kernels_level_name(level));
    printf("  %-22s ~%s", "total", fmt_bytes(total, b4, sizeof b4));
    uint64_t avail = mem_available();
    if (avail) {
        char b5[32];
        printf("; this machine has %s available: %s", fmt_bytes((double)avail, b5, sizeof b5),
               total < (double)avail * 0.9 ? "fits" : "does NOT fit");
    }
    printf("\n");
}

/* ---- command -------------------------------------------------------------------------------- */

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    bool cpu = false, tensors = false, ctx_given = false;
    long long n_ctx = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--cpu")) {
            cpu = true;
        } else if (!strcmp(a, "--tensors")) {
            tensors = true;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            const char *v = cli_next(argc, argv, &i);
            if (!v || cli_int(a, v, 1, 1 << 24, &n_ctx) != 0) {
                usage(stderr);
                return 2;
            }
            ctx_given = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "edgellm info: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (path) {
            fprintf(stderr, "edgellm info: one file at a time ('%s' and '%s')\n", path, a);
            usage(stderr);
            return 2;
        } else {
            path = a;
        }
    }
    if (!path && !cpu) {
        usage(stderr);
        return 2;
    }
    if (cpu) {
        char line[512];
        el_cpu_describe(line, sizeof line);
        printf("cpu          %s\n", line);
        if (!path) return 0;
    }

    char err[512];
    el_gguf *g = el_gguf_open(path, err, sizeof err);
    if (!g) {
        fprintf(stderr, "edgellm: %s\n", err);
        return 1;
    }
    char b1[32];
    ctx c = {.g = g};
    el_gstr s;
    if (el_gguf_get_str(g, "general.architecture", &s) == 0)
        snprintf(c.arch, sizeof c.arch, "%.*s", (int)(s.n < 63 ? s.n : 63), s.s);

    printf("file         %s (%s)\n", path, fmt_bytes((double)el_gguf_file_size(g), b1, sizeof b1));
    printf("format       GGUF v%u, %lld keys, %lld tensors, alignment %llu, data at byte %llu\n",
           el_gguf_version(g), (long long)el_gguf_n_kv(g), (long long)el_gguf_n_tensors(g),
           (unsigned long long)el_gguf_alignment(g), (unsigned long long)el_gguf_data_offset(g));
    printf("name         ");
    if (el_gguf_get_str(g, "general.name", &s) == 0)
        put_str(s.s, s.n, 80);
    else
        fputs("-", stdout);
    int64_t ft;
    if (el_gguf_get_i64(g, "general.file_type", &ft) == 0)
        printf("  (file_type %lld)", (long long)ft);
    printf("\n");

    dims d = {0};
    print_arch(&c, &d);
    print_tokenizer(g);
    print_tensors(g, tensors);

    double params = 0, bytes = 0;
    for (int64_t i = 0; i < el_gguf_n_tensors(g); i++) {
        params += (double)el_gguf_tensor_at(g, i)->n_elements;
        bytes += (double)el_gguf_tensor_at(g, i)->size;
    }
    if (params > 0) {
        char b2[32];
        printf("totals       %s parameters, %s, %.2f bits/weight\n",
               fmt_count(params, b1, sizeof b1), fmt_bytes(bytes, b2, sizeof b2),
               bytes * 8 / params);
    }
    if (d.n_layer > 0 && d.n_embd > 0 && el_gguf_n_tensors(g) > 0)
        print_memory(g, &d, n_ctx, ctx_given, &c);
    el_gguf_close(g);
    return 0;
}
