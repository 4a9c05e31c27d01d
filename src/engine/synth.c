/* engine/synth.c — random-weight GGUF models (see synth.h for what and why).
 *
 * What it owns: the architecture presets (shapes of real models), the tensor plan of each
 * architecture (names and shapes as llama.cpp's loader wants them, metadata keys as its
 * converter writes them), the weight generator, the made-up byte-level BPE vocabulary, and
 * the assembly of the file.
 *
 * Invariants:
 *  - Bytes depend only on the params: each row of a tensor comes from a generator seeded
 *    with (seed, tensor name, row), with integer arithmetic and exact float scaling only (no
 *    libm in the draw), so files are identical across runs, thread counts and hosts.
 *  - Per-tensor types come from the model quantizer's plan (kernels/quantize_model.h), and
 *    the bytes from the same reference quantizers: a synthesized Q4_K_M file holds exactly
 *    what `edgellm quantize` (and llama-quantize, checked by hand) makes of the F32 file of
 *    the same seed.
 *  - Differences from a converted model, on purpose: tensors are in per-layer logical order
 *    (the converter follows the checkpoint's order; llama.cpp does not care), and
 *    general.description says the weights are random.
 *
 * Memory policy: the file is streamed. Metadata (the vocabulary is the largest part: ~4 MB
 * for 152k tokens) is built in memory; tensors are produced one at a time by a fill
 * callback when the GGUF writer reaches them: the writer holds one quantized tensor and each
 * thread a float scratch of SCRATCH_FLOATS, so peak memory stays near the largest quantized
 * tensor however big the model is (Llama-3.2-1B Q4_K_M: ~230 MB RSS for an 805 MB file).
 * Two small temporary files may appear next to the output and are removed at once: the
 * skeleton the quantizer plans from, and a tokenizer.json's imported vocabulary.
 */
#include "engine/synth.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/core.h"
#include "gguf/gguf.h"
#include "kernels/quantize_model.h"
#include "kernels/types.h"
#include "tok/tok.h"

/* ---- presets ------------------------------------------------------------------------------
 * Shapes from the models' Hugging Face config.json files (hidden_size, num_hidden_layers,
 * num_attention_heads, num_key_value_heads, head_dim, intermediate_size, vocab_size,
 * max_position_embeddings, rope_theta, rms_norm_eps, tie_word_embeddings, rope_scaling):
 *   Qwen/Qwen2.5-0.5B         24 x 896, 14/2 heads, ffn 4864, vocab 151936, tied, θ 1e6, eps 1e-6,
 *                              ctx 32768; qwen2 = q/k/v biases (llama.cpp requires them)
 *   Qwen/Qwen3-0.6B           28 x 1024, 16/8 heads, head_dim 128, ffn 3072, vocab 151936,
 *                              tied, θ 1e6, eps 1e-6, ctx 40960; qwen3 = q/k norms
 *   meta-llama/Llama-3.2-1B   16 x 2048, 32/8 heads, head_dim 64, ffn 8192, vocab 128256,
 *                              tied, θ 500000, eps 1e-5, ctx 131072, rope_scaling llama3
 *                              (factor 32, low 1, high 4, original 8192)
 *   HuggingFaceTB/SmolLM-135M 30 x 576, 9/3 heads, ffn 1536, vocab 49152, tied, θ 10000,
 *                              eps 1e-5, ctx 2048
 *   TinyLlama/TinyLlama-1.1B  22 x 2048, 32/4 heads, ffn 5632, vocab 32000, untied, θ 10000,
 *                              eps 1e-5, ctx 2048
 * llama.cpp's loader agrees (src/llama-model.cpp types these shapes as 0.5B, 0.6B, 1B).
 * kv_len_keys: the config states head_dim, so the converter writes key_length/value_length.
 * The tiny-* presets are ours: a few layers, width 64-128, GQA, byte vocabulary. */
typedef struct preset {
    const char *name;
    const char *desc;
    el_synth_arch arch;
    int64_t n_layer, n_embd, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx;
    bool tied;
    double rope_base, norm_eps;
    bool llama3_rope;
    bool kv_len_keys;
} preset;

static const preset presets[] = {
    {"qwen2.5-0.5b", "Qwen2.5-0.5B shape: 24 x 896, 14/2 heads, ffn 4864, vocab 151936",
     EL_SYNTH_QWEN2, 24, 896, 14, 2, 0, 4864, 151936, 32768, true, 1e6, 1e-6, false, false},
    {"qwen3-0.6b", "Qwen3-0.6B shape: 28 x 1024, 16/8 heads of 128, ffn 3072, vocab 151936",
     EL_SYNTH_QWEN3, 28, 1024, 16, 8, 128, 3072, 151936, 40960, true, 1e6, 1e-6, false, true},
    {"llama-3.2-1b", "Llama-3.2-1B shape: 16 x 2048, 32/8 heads, ffn 8192, vocab 128256",
     EL_SYNTH_LLAMA, 16, 2048, 32, 8, 64, 8192, 128256, 131072, true, 500000.0, 1e-5, true, true},
    {"smollm-135m", "SmolLM-135M shape: 30 x 576, 9/3 heads, ffn 1536, vocab 49152", EL_SYNTH_LLAMA,
     30, 576, 9, 3, 0, 1536, 49152, 2048, true, 10000.0, 1e-5, false, false},
    {"tinyllama-1.1b", "TinyLlama-1.1B shape: 22 x 2048, 32/4 heads, ffn 5632, vocab 32000",
     EL_SYNTH_LLAMA, 22, 2048, 32, 4, 0, 5632, 32000, 2048, false, 10000.0, 1e-5, false, false},
    {"tiny-llama", "tiny llama for tests: 2 x 64, 4/2 heads, ffn 128, byte vocab 384",
     EL_SYNTH_LLAMA, 2, 64, 4, 2, 0, 128, 384, 512, false, 10000.0, 1e-5, false, false},
    {"tiny-qwen2", "tiny qwen2 for tests: 2 x 64, 4/2 heads, ffn 128, byte vocab 384, tied",
     EL_SYNTH_QWEN2, 2, 64, 4, 2, 0, 128, 384, 512, true, 1e6, 1e-6, false, false},
    {"tiny-qwen3", "tiny qwen3 for tests: 3 x 128, 4/2 heads of 64, ffn 256, byte vocab 384",
     EL_SYNTH_QWEN3, 3, 128, 4, 2, 64, 256, 384, 512, true, 1e6, 1e-6, false, true},
};

const char *el_synth_preset_name(int i, const char **desc) {
    if (i < 0 || (size_t)i >= EL_ARRAY_LEN(presets)) return NULL;
    if (desc) *desc = presets[i].desc;
    return presets[i].name;
}

static const char *const arch_names[] = {"llama", "qwen2", "qwen3"};

int el_synth_arch_from_name(const char *name) {
    for (size_t i = 0; i < EL_ARRAY_LEN(arch_names); i++)
        if (name && !strcmp(name, arch_names[i])) return (int)i;
    return -1;
}

const char *el_synth_arch_name(el_synth_arch a) {
    return (unsigned)a < EL_ARRAY_LEN(arch_names) ? arch_names[a] : "?";
}

int el_synth_preset(const char *name, el_synth_params *p, char *err, size_t errlen) {
    const preset *ps = NULL;
    for (size_t i = 0; i < EL_ARRAY_LEN(presets); i++)
        if (name && !strcmp(name, presets[i].name)) ps = &presets[i];
    if (!ps) return el_errf(err, errlen, "unknown preset '%.64s'", name ? name : "");
    memset(p, 0, sizeof *p);
    p->arch = ps->arch;
    snprintf(p->name, sizeof p->name, "synth %s", ps->name);
    p->n_layer = ps->n_layer;
    p->n_embd = ps->n_embd;
    p->n_head = ps->n_head;
    p->n_head_kv = ps->n_head_kv;
    p->head_dim = ps->head_dim;
    p->n_ff = ps->n_ff;
    p->n_vocab = ps->n_vocab;
    p->n_ctx = ps->n_ctx;
    p->ftype = 0; /* F32 */
    p->seed = 1;
    snprintf(p->tokenizer, sizeof p->tokenizer, "byte");
    p->tied = ps->tied;
    p->rope_base = ps->rope_base;
    p->rope_llama3 = ps->llama3_rope;
    p->rope_factor = 32.0;
    p->rope_low_freq = 1.0;
    p->rope_high_freq = 4.0;
    p->rope_orig_ctx = 8192;
    p->norm_eps = ps->norm_eps;
    p->kv_len_keys = ps->kv_len_keys;
    return 0;
}

/* ---- file types ------------------------------------------------------------------------
 * llama.cpp's LLAMA_FTYPE values, named and mixed by the model quantizer: one list. */

int el_synth_ftype_from_name(const char *name) {
    return el_quantize_ftype_from_name(name);
}

const char *el_synth_ftype_name(int ftype) {
    return el_quantize_ftype_name(ftype);
}

static bool ftype_is_float(int ftype) {
    return ftype == EL_FTYPE_ALL_F32 || ftype == EL_FTYPE_F16 || ftype == EL_FTYPE_BF16;
}

/* ---- special tokens of the made-up vocabulary (the last ids), per architecture ------ */

enum { TOK_NORMAL = 1, TOK_CONTROL = 3, TOK_USER_DEFINED = 4, TOK_UNUSED = 5 };

typedef struct special {
    const char *text;
    int type;
} special;

static const special qwen_specials[] = {
    {"<|endoftext|>", TOK_CONTROL}, {"<|im_start|>", TOK_CONTROL},  {"<|im_end|>", TOK_CONTROL},
    {"<think>", TOK_USER_DEFINED},  {"</think>", TOK_USER_DEFINED},
};
static const special llama3_specials[] = {
    {"<|begin_of_text|>", TOK_CONTROL},   {"<|end_of_text|>", TOK_CONTROL},
    {"<|start_header_id|>", TOK_CONTROL}, {"<|end_header_id|>", TOK_CONTROL},
    {"<|eom_id|>", TOK_CONTROL},          {"<|eot_id|>", TOK_CONTROL},
    {"<|python_tag|>", TOK_CONTROL},
};

static void arch_specials(el_synth_arch a, const special **sp, int *n) {
    if (a == EL_SYNTH_LLAMA) {
        *sp = llama3_specials;
        *n = (int)EL_ARRAY_LEN(llama3_specials);
    } else {
        *sp = qwen_specials;
        *n = a == EL_SYNTH_QWEN3 ? 5 : 3; /* <think> tokens are Qwen3's */
    }
}

/* ---- checks ------------------------------------------------------------------------------ */

#define MAX_LAYER 1024
#define MAX_EMBD 65536
#define MAX_HEADS 1024
#define MAX_HEAD_DIM 1024
#define MAX_FF (1 << 20)
#define MAX_VOCAB (1 << 22)
#define MAX_CTX (1 << 24)
#define MAX_FILE_BYTES ((uint64_t)1 << 40)

static int64_t head_dim_of(const el_synth_params *p) {
    return p->head_dim ? p->head_dim : (p->n_head ? p->n_embd / p->n_head : 0);
}

static int check_range(const char *what, int64_t v, int64_t lo, int64_t hi, char *err,
                       size_t errlen) {
    if (v < lo || v > hi)
        return el_errf(err, errlen, "%s = %lld is out of range (%lld..%lld)", what, (long long)v,
                       (long long)lo, (long long)hi);
    return 0;
}

int el_synth_check(const el_synth_params *p, char *err, size_t errlen) {
    if (!p) return el_errf(err, errlen, "no parameters");
    if ((unsigned)p->arch >= EL_ARRAY_LEN(arch_names))
        return el_errf(err, errlen, "unknown architecture %d", (int)p->arch);
    if (check_range("layers", p->n_layer, 1, MAX_LAYER, err, errlen) ||
        check_range("embd", p->n_embd, 1, MAX_EMBD, err, errlen) ||
        check_range("heads", p->n_head, 1, MAX_HEADS, err, errlen) ||
        check_range("kv-heads", p->n_head_kv, 1, MAX_HEADS, err, errlen) ||
        check_range("head-dim", p->head_dim, 0, MAX_HEAD_DIM, err, errlen) ||
        check_range("ffn", p->n_ff, 1, MAX_FF, err, errlen) ||
        check_range("vocab", p->n_vocab, 1, MAX_VOCAB, err, errlen) ||
        check_range("ctx", p->n_ctx, 1, MAX_CTX, err, errlen))
        return -1;
    if (p->n_head % p->n_head_kv)
        return el_errf(err, errlen, "kv-heads %lld does not divide heads %lld",
                       (long long)p->n_head_kv, (long long)p->n_head);
    if (!p->head_dim && p->n_embd % p->n_head)
        return el_errf(err, errlen, "heads %lld do not divide embd %lld (or give --head-dim)",
                       (long long)p->n_head, (long long)p->n_embd);
    int64_t hd = head_dim_of(p);
    if (hd < 2 || hd % 2)
        return el_errf(err, errlen, "head dim %lld must be even and >= 2 (RoPE rotates pairs)",
                       (long long)hd);
    const char *ftn = el_synth_ftype_name(p->ftype);
    if (!ftn) return el_errf(err, errlen, "unsupported file type %d", p->ftype);
    if (!ftype_is_float(p->ftype)) {
        /* every matrix row (ne[0]) must hold whole 32-blocks: the legacy types need it, and
         * it is what the K-quant mixes fall back to when a row is not a multiple of 256 */
        const int64_t rows[3] = {p->n_embd, p->n_head * hd, p->n_ff};
        const char *what[3] = {"embd", "heads x head-dim", "ffn"};
        for (int i = 0; i < 3; i++)
            if (rows[i] % 32)
                return el_errf(err, errlen, "%s = %lld is not a multiple of 32, which %s needs",
                               what[i], (long long)rows[i], ftn);
    }
    if (!(p->rope_base > 0) || !isfinite(p->rope_base))
        return el_errf(err, errlen, "rope base must be a positive number");
    if (!(p->norm_eps > 0) || !(p->norm_eps < 1))
        return el_errf(err, errlen, "norm epsilon must be in (0, 1)");
    if (p->rope_llama3) {
        if (p->arch != EL_SYNTH_LLAMA)
            return el_errf(err, errlen, "llama3 rope scaling is only defined for arch llama");
        if (!(p->rope_factor >= 1) || !isfinite(p->rope_factor) || !(p->rope_low_freq > 0) ||
            !(p->rope_high_freq > p->rope_low_freq) || !isfinite(p->rope_high_freq) ||
            p->rope_orig_ctx < 1 || p->rope_orig_ctx > MAX_CTX)
            return el_errf(err, errlen,
                           "llama3 rope scaling needs factor >= 1, 0 < low < high "
                           "frequency factors and an original context > 0");
    }
    if (!p->tokenizer[0]) return el_errf(err, errlen, "no tokenizer given");
    if (!strcmp(p->tokenizer, "byte")) {
        const special *sp;
        int n_sp;
        arch_specials(p->arch, &sp, &n_sp);
        if (p->n_vocab < 256 + n_sp)
            return el_errf(err, errlen,
                           "vocab %lld is too small for the byte vocabulary (needs "
                           ">= %d: 256 bytes + %d special tokens)",
                           (long long)p->n_vocab, 256 + n_sp, n_sp);
    }
    /* total size: every product checked, and a sane cap */
    uint64_t embd = (uint64_t)p->n_embd, q = (uint64_t)(p->n_head * hd);
    uint64_t kv = (uint64_t)(p->n_head_kv * hd), ff = (uint64_t)p->n_ff;
    uint64_t per_layer = 0, t, total = 0;
    bool ok = el_mul_u64(embd, q + 2 * kv, &t) && el_add_u64(per_layer, t, &per_layer) &&
              el_mul_u64(q, embd, &t) && el_add_u64(per_layer, t, &per_layer) &&
              el_mul_u64(3 * ff, embd, &t) && el_add_u64(per_layer, t, &per_layer) &&
              el_mul_u64(per_layer, (uint64_t)p->n_layer, &total) &&
              el_mul_u64(embd, (uint64_t)p->n_vocab * (p->tied ? 1 : 2), &t) &&
              el_add_u64(total, t, &total) && el_mul_u64(total, 4, &t);
    if (!ok || t > MAX_FILE_BYTES)
        return el_errf(err, errlen, "model too large (%s parameters)",
                       ok ? "more than 256G" : "overflowing");
    return 0;
}

/* ---- weights -----------------------------------------------------------------------------
 * Every row has its own generator, seeded from (seed, tensor name, row): rows can be made in
 * any order and by any number of threads with the same result. Values are Irwin-Hall sums
 * of four uniform 16-bit draws, centred and scaled to unit variance: close enough to a
 * Gaussian for weights, bounded (|z| <= 2*sqrt(3)), and computed with integer sums and one
 * exact-by-IEEE multiply, so no libm difference can change a byte. */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl64(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman & Vigna) */
static inline uint64_t rng_next(rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return out;
}

/* ~N(0, 1), bounded; see above. */
static inline float rng_normal(rng *r) {
    uint64_t v = rng_next(r);
    int32_t sum = (int32_t)(v & 0xFFFF) + (int32_t)((v >> 16) & 0xFFFF) +
                  (int32_t)((v >> 32) & 0xFFFF) + (int32_t)(v >> 48);
    /* sum of 4 U{0..65535}: mean 131070, variance 4 * (65536^2 - 1) / 12 */
    return (float)((double)(sum - 131070) * (1.7320508075688772 / 65536.0));
}

static uint64_t hash_str(const char *s) { /* FNV-1a 64 */
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h;
}

typedef enum gen_kind {
    GEN_MATRIX, /* scale * z */
    GEN_NORM,   /* center * (1 + scale * z): RMS-norm weights */
    GEN_BIAS,   /* scale * z */
    GEN_ROPE_FREQS,
} gen_kind;

typedef struct synth synth;

typedef struct tplan {
    char name[64];
    uint32_t n_dims;
    int64_t ne[2]; /* ne[0] = row length (fan-in of a matrix), ne[1] = rows */
    gen_kind kind;
    float scale;
    float center;  /* GEN_NORM: the weights' mean */
    int type;      /* el_type written */
    uint64_t size; /* bytes */
    uint64_t hash; /* of the name, for the row seeds */
    synth *s;
} tplan;

/* Largest float scratch one thread fills before converting (per thread). */
#define SCRATCH_FLOATS ((int64_t)1 << 18)

struct synth {
    el_synth_params p;
    int64_t head_dim;
    int64_t n_vocab; /* final: after the tokenizer decided */
    tplan *t;
    int n_t;
    int n_threads;
    float *scratch[16]; /* (SCRATCH_FLOATS) per thread */
};

static void gen_rows(const tplan *t, uint64_t seed, int64_t r0, int64_t nr, float *x) {
    const int64_t n = t->ne[0];
    for (int64_t r = 0; r < nr; r++) {
        rng g;
        uint64_t mix = seed ^ rotl64(t->hash, 17);
        rng_seed(&g, splitmix64(&mix) ^ (uint64_t)(r0 + r) * 0xD1B54A32D192ED03ull);
        float *row = x + r * n;
        switch (t->kind) {
        case GEN_MATRIX:
        case GEN_BIAS:
            for (int64_t i = 0; i < n; i++)
                row[i] = t->scale * rng_normal(&g);
            break;
        case GEN_NORM:
            for (int64_t i = 0; i < n; i++)
                row[i] = t->center * (1.0f + t->scale * rng_normal(&g));
            break;
        case GEN_ROPE_FREQS:
            break; /* not random: filled by rope_freqs() */
        }
    }
}

/* llama3 frequency scaling as the converter computes it (convert_hf_to_gguf.py, LlamaModel.
 * generate_extra_tensors): per rotated pair i, a divisor of its frequency base^(-2i/d):
 * 1 for short wavelengths, factor for long ones, a smooth blend between. */
static void rope_freqs(const el_synth_params *p, int64_t head_dim, float *out) {
    const double lo_wavelen = (double)p->rope_orig_ctx / p->rope_low_freq;
    const double hi_wavelen = (double)p->rope_orig_ctx / p->rope_high_freq;
    for (int64_t i = 0; i < head_dim / 2; i++) {
        float freq = (float)(1.0 / pow(p->rope_base, (double)(2 * i) / (double)head_dim));
        double wavelen = 2.0 * M_PI / freq;
        double f;
        if (wavelen < hi_wavelen) {
            f = 1.0;
        } else if (wavelen > lo_wavelen) {
            f = p->rope_factor;
        } else {
            double smooth = ((double)p->rope_orig_ctx / wavelen - p->rope_low_freq) /
                            (p->rope_high_freq - p->rope_low_freq);
            f = 1.0 / ((1.0 - smooth) / p->rope_factor + smooth);
        }
        out[i] = (float)f;
    }
}

/* Converts n floats to type t (n a multiple of its block size; checked by the plan). */
static int convert(int type, const float *x, void *dst, int64_t n, char *err, size_t errlen) {
    switch (type) {
    case EL_TYPE_F32:
        memcpy(dst, x, (size_t)n * sizeof(float));
        return 0;
    case EL_TYPE_F16: {
        el_fp16 *y = dst;
        for (int64_t i = 0; i < n; i++)
            y[i] = el_fp32_to_fp16(x[i]);
        return 0;
    }
    case EL_TYPE_BF16: {
        el_bf16 *y = dst;
        for (int64_t i = 0; i < n; i++)
            y[i] = el_fp32_to_bf16(x[i]);
        return 0;
    }
    default: {
        const el_type_info *ti = el_type_traits(type);
        if (!ti || !ti->from_float)
            return el_errf(err, errlen, "quantizing to %s is not implemented",
                           ti ? ti->name : "an unknown type");
        ti->from_float(x, dst, n);
        return 0;
    }
    }
}

/* ---- producing one tensor ------------------------------------------------------------- */

typedef struct fill_job {
    const tplan *t;
    uint8_t *dst;
    int64_t r0, r1; /* rows [r0, r1) */
    float *scratch;
    int rc;
    char err[160];
} fill_job;

static void *fill_rows(void *arg) {
    fill_job *j = arg;
    const tplan *t = j->t;
    const int64_t n = t->ne[0];
    const size_t row_bytes = el_row_size(t->type, n);
    const int64_t chunk = EL_MAX(1, SCRATCH_FLOATS / n);
    for (int64_t r = j->r0; r < j->r1 && j->rc == 0; r += chunk) {
        int64_t nr = EL_MIN(chunk, j->r1 - r);
        gen_rows(t, t->s->p.seed, r, nr, j->scratch);
        j->rc = convert(t->type, j->scratch, j->dst + (size_t)r * row_bytes, nr * n, j->err,
                        sizeof j->err);
    }
    return NULL;
}

/* Writer callback: the bytes of tensor ctx (a tplan) into dst. */
static int fill_tensor(void *ctx, void *dst, uint64_t size, char *err, size_t errlen) {
    const tplan *t = ctx;
    synth *s = t->s;
    if (size != t->size) return el_errf(err, errlen, "%s: size mismatch", t->name);
    if (t->kind == GEN_ROPE_FREQS) { /* tiny, F32 */
        rope_freqs(&s->p, s->head_dim, dst);
        return 0;
    }
    const int64_t rows = t->n_dims > 1 ? t->ne[1] : 1;
    /* threads only pay for big tensors; at most one chunk of rows per thread minimum */
    int nt = (int)EL_MIN((int64_t)s->n_threads, EL_MAX(1, rows * t->ne[0] / SCRATCH_FLOATS));
    fill_job jobs[16];
    pthread_t tid[16];
    for (int i = 0; i < nt; i++) {
        jobs[i] = (fill_job){.t = t, .dst = dst, .scratch = s->scratch[i], .rc = 0};
        jobs[i].r0 = rows * i / nt;
        jobs[i].r1 = rows * (i + 1) / nt;
    }
    int started = 1;
    for (int i = 1; i < nt; i++, started++)
        if (pthread_create(&tid[i], NULL, fill_rows, &jobs[i]) != 0) break;
    fill_rows(&jobs[0]);
    for (int i = 1; i < started; i++)
        pthread_join(tid[i], NULL);
    for (int i = started; i < nt; i++)
        fill_rows(&jobs[i]); /* threads we could not start */
    for (int i = 0; i < nt; i++)
        if (jobs[i].rc) return el_errf(err, errlen, "%s: %s", t->name, jobs[i].err);
    return 0;
}

/* ---- the made-up byte-level BPE vocabulary ------------------------------------------------
 * Layout: ids 0..255 are the 256 bytes in GPT-2's byte-to-unicode spelling (printable bytes
 * as themselves, the rest as U+0100.. in byte order: space is "Ġ", newline "Ċ"); then merged
 * tokens; the architecture's special tokens take the last ids. The merges are "Ġ"+letter
 * for every letter, then random letter strings grown from earlier tokens (up to 12 bytes,
 * so pieces look like words: "Ġtrok", "ela"), generated from a fixed seed: the vocabulary
 * is the same for every model of a given size and architecture. Every merge joins two
 * earlier tokens, so each merged token is reachable by the BPE merge loop. If the random
 * growth ever runs dry, the rest is filled with unused "[PAD<id>]" tokens, as llama.cpp's
 * converter pads a vocabulary. */

typedef struct vocab {
    char **tok;
    int32_t *type;
    int64_t n;
    char **merges;
    int64_t n_merges;
    int64_t cap; /* entries allocated (zeroed) in tok, type, merges */
} vocab;

static void vocab_free(vocab *v) {
    for (int64_t i = 0; v->tok && i < v->cap; i++)
        free(v->tok[i]);
    for (int64_t i = 0; v->merges && i < v->cap; i++)
        free(v->merges[i]);
    free(v->tok);
    free(v->type);
    free(v->merges);
    memset(v, 0, sizeof *v);
}

static bool byte_is_printable(int b) {
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

/* GPT-2's bytes_to_unicode code point for byte b. */
static int byte_codepoint(int b) {
    if (byte_is_printable(b)) return b;
    int k = 0;
    for (int c = 0; c < b; c++)
        k += !byte_is_printable(c);
    return 256 + k;
}

static int utf8_put(int cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6)); /* all code points here are < 0x800 */
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* Open-addressing set of the token strings (pointers into v->tok), for uniqueness. */
typedef struct strset {
    const char **slot;
    uint64_t mask;
} strset;

static bool strset_add(strset *h, const char *s) { /* false when present */
    uint64_t i = hash_str(s) & h->mask;
    while (h->slot[i]) {
        if (!strcmp(h->slot[i], s)) return false;
        i = (i + 1) & h->mask;
    }
    h->slot[i] = s;
    return true;
}

static bool strset_has(const strset *h, const char *s) {
    uint64_t i = hash_str(s) & h->mask;
    while (h->slot[i]) {
        if (!strcmp(h->slot[i], s)) return true;
        i = (i + 1) & h->mask;
    }
    return false;
}

/* Chat templates (ours, written for these vocabularies): ChatML for qwen2/qwen3 (qwen3 with
 * the empty think block Qwen3 emits when enable_thinking is false), Llama 3's header format
 * for llama. llama.cpp recognises both by their markers. */
static const char tmpl_chatml[] =
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
static const char tmpl_qwen3[] =
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}";
static const char tmpl_llama3[] =
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
    "message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

#define VOCAB_SEED 0x5EEDB0CAB5ull
#define MERGE_MAX_BYTES 12

static char *str_cat3(const char *a, const char *sep, const char *b) {
    size_t na = strlen(a), ns = strlen(sep), nb = strlen(b);
    char *s = malloc(na + ns + nb + 1);
    if (!s) return NULL;
    memcpy(s, a, na);
    memcpy(s + na, sep, ns);
    memcpy(s + na + ns, b, nb + 1);
    return s;
}

/* Builds the vocabulary of n tokens for arch a. */
static int vocab_build(el_synth_arch a, int64_t n, vocab *v, char *err, size_t errlen) {
    const special *sp;
    int n_sp;
    arch_specials(a, &sp, &n_sp);
    memset(v, 0, sizeof *v);
    if (n < 256 + n_sp)
        return el_errf(err, errlen,
                       "vocab %lld is too small for the byte vocabulary (needs "
                       ">= %d: 256 bytes + %d special tokens)",
                       (long long)n, 256 + n_sp, n_sp);
    int64_t n_norm = n - n_sp; /* bytes + merges */
    uint64_t cap = 1;
    while (cap < (uint64_t)n * 2)
        cap <<= 1;
    strset set = {calloc(cap, sizeof(char *)), cap - 1};
    /* index lists: word-start tokens ("Ġ..."), letter-only tokens, short letter-only ones */
    int32_t *ws = malloc((size_t)n * sizeof *ws), *lo = malloc((size_t)n * sizeof *lo);
    int32_t *sh = malloc((size_t)n * sizeof *sh);
    int64_t n_ws = 0, n_lo = 0, n_sh = 0;
    v->tok = calloc((size_t)n, sizeof *v->tok);
    v->type = calloc((size_t)n, sizeof *v->type);
    v->merges = calloc((size_t)n, sizeof *v->merges);
    v->cap = n;
    if (!set.slot || !ws || !lo || !sh || !v->tok || !v->type || !v->merges) goto oom;
    for (int b = 0; b < 256; b++) {
        char buf[4];
        int k = utf8_put(byte_codepoint(b), buf);
        buf[k] = 0;
        if (!(v->tok[v->n] = strdup(buf))) goto oom;
        v->type[v->n] = TOK_NORMAL;
        strset_add(&set, v->tok[v->n]);
        if (b >= 'a' && b <= 'z') lo[n_lo++] = (int32_t)b, sh[n_sh++] = (int32_t)b;
        v->n++;
    }
    const char *space = v->tok[' '];
    /* "Ġ" + every letter, lower case first */
    for (int i = 0; i < 52 && v->n < n_norm; i++) {
        int c = i < 26 ? 'a' + i : 'A' + (i - 26);
        if (!(v->tok[v->n] = str_cat3(space, "", v->tok[c]))) goto oom;
        if (!(v->merges[v->n_merges++] = str_cat3(space, " ", v->tok[c]))) goto oom;
        v->type[v->n] = TOK_NORMAL;
        strset_add(&set, v->tok[v->n]);
        ws[n_ws++] = (int32_t)v->n++;
    }
    rng g;
    rng_seed(&g, VOCAB_SEED ^ (uint64_t)a);
    int64_t tries = 0, max_tries = 64 * n + 4096;
    char buf[2 * MERGE_MAX_BYTES + 2];
    while (v->n < n_norm && tries++ < max_tries) {
        uint64_t r = rng_next(&g);
        bool word = (r & 1) != 0;
        int32_t left = word ? ws[(r >> 1) % (uint64_t)n_ws] : lo[(r >> 1) % (uint64_t)n_lo];
        int32_t right = sh[(r >> 33) % (uint64_t)n_sh];
        size_t nl = strlen(v->tok[left]), nr = strlen(v->tok[right]);
        if (nl + nr > MERGE_MAX_BYTES) continue;
        memcpy(buf, v->tok[left], nl);
        memcpy(buf + nl, v->tok[right], nr + 1);
        if (strset_has(&set, buf)) continue;
        if (!(v->tok[v->n] = strdup(buf))) goto oom;
        if (!(v->merges[v->n_merges++] = str_cat3(v->tok[left], " ", v->tok[right]))) goto oom;
        v->type[v->n] = TOK_NORMAL;
        strset_add(&set, v->tok[v->n]);
        if (word) {
            ws[n_ws++] = (int32_t)v->n;
        } else {
            lo[n_lo++] = (int32_t)v->n;
            if (nl + nr <= 3) sh[n_sh++] = (int32_t)v->n;
        }
        v->n++;
    }
    while (v->n < n_norm) { /* growth ran dry: unused padding, as the converter pads */
        char pad[32];
        snprintf(pad, sizeof pad, "[PAD%lld]", (long long)v->n);
        if (!(v->tok[v->n] = strdup(pad))) goto oom;
        v->type[v->n++] = TOK_UNUSED;
    }
    for (int i = 0; i < n_sp; i++) {
        if (!(v->tok[v->n] = strdup(sp[i].text))) goto oom;
        v->type[v->n++] = sp[i].type;
    }
    free(set.slot);
    free(ws);
    free(lo);
    free(sh);
    return 0;
oom:
    free(set.slot);
    free(ws);
    free(lo);
    free(sh);
    vocab_free(v);
    return el_errf(err, errlen, "out of memory building the vocabulary");
}

/* ---- tokenizer metadata ------------------------------------------------------------------ */

/* Writer calls return -1 with the reason in the writer; this turns that into err. */
#define WCHK(call)                                                                                 \
    do {                                                                                           \
        if ((call) != 0) return el_errf(err, errlen, "gguf writer: %s", el_gguf_writer_error(w));  \
    } while (0)

/* The tokenizer.* keys of the made-up vocabulary, with the architecture's conventions:
 * Qwen: <|endoftext|> is bos and padding, <|im_end|> eos, no BOS added; Llama 3:
 * <|begin_of_text|> bos added, <|eot_id|> eos (instruct style). */
static int put_byte_keys(el_synth_arch a, const vocab *v, el_gguf_writer *w, char *err,
                         size_t errlen) {
    const special *sp;
    int n_sp;
    arch_specials(a, &sp, &n_sp);
    const uint32_t first_sp = (uint32_t)(v->n - n_sp);
    WCHK(el_gguf_set_str(w, "tokenizer.ggml.model", "gpt2"));
    WCHK(el_gguf_set_str(w, "tokenizer.ggml.pre", a == EL_SYNTH_LLAMA ? "llama-bpe" : "qwen2"));
    WCHK(el_gguf_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v->tok,
                             (uint64_t)v->n));
    WCHK(el_gguf_set_arr(w, "tokenizer.ggml.token_type", EL_GGUF_INT32, v->type, (uint64_t)v->n));
    WCHK(el_gguf_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)v->merges,
                             (uint64_t)v->n_merges));
    if (a == EL_SYNTH_LLAMA) {
        WCHK(el_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", first_sp + 0));
        WCHK(el_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", first_sp + 5));
        WCHK(el_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", true));
        WCHK(el_gguf_set_str(w, "tokenizer.chat_template", tmpl_llama3));
    } else {
        WCHK(el_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", first_sp + 2));
        WCHK(el_gguf_set_u32(w, "tokenizer.ggml.padding_token_id", first_sp + 0));
        WCHK(el_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", first_sp + 0));
        WCHK(el_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", false));
        WCHK(el_gguf_set_str(w, "tokenizer.chat_template",
                             a == EL_SYNTH_QWEN3 ? tmpl_qwen3 : tmpl_chatml));
    }
    return 0;
}

static int put_byte_vocab(const synth *s, el_gguf_writer *w, char *err, size_t errlen) {
    vocab v;
    if (vocab_build(s->p.arch, s->n_vocab, &v, err, errlen)) return -1;
    int rc = put_byte_keys(s->p.arch, &v, w, err, errlen);
    vocab_free(&v);
    return rc;
}

/* Copies every tokenizer.* key of the vocab GGUF at path. When the model has more rows than
 * the file has tokens, tokens/token_type/scores are rebuilt with "[PAD<id>]" entries of type
 * UNUSED (score -1000), as llama.cpp's converter pads Qwen's 151665 tokens to 151936 rows. */
static int put_gguf_vocab(synth *s, const char *path, el_gguf_writer *w, char *err, size_t errlen) {
    char e2[256];
    el_gguf *g = el_gguf_open(path, e2, sizeof e2);
    if (!g) return el_errf(err, errlen, "tokenizer %s: %s", path, e2);
    int rc = -1;
    char **toks = NULL;
    void *vals = NULL;
    int64_t n_tok = 0, n = 0;
    el_gguf_arr ta;
    if (el_gguf_get_arr(g, "tokenizer.ggml.tokens", &ta) != 0 || ta.elem_type != EL_GGUF_STRING ||
        ta.n == 0) {
        el_errf(err, errlen, "tokenizer %s: no tokenizer.ggml.tokens string array", path);
        goto out;
    }
    n_tok = (int64_t)ta.n;
    n = s->p.vocab_exact ? s->p.n_vocab : EL_MAX(s->p.n_vocab, n_tok);
    if (n < n_tok) {
        el_errf(err, errlen, "vocab %lld is smaller than the tokenizer's %lld tokens", (long long)n,
                (long long)n_tok);
        goto out;
    }
    if (n > MAX_VOCAB) {
        el_errf(err, errlen, "tokenizer %s: %lld tokens is too many", path, (long long)n);
        goto out;
    }
    s->n_vocab = n;
    for (int64_t i = 0; i < el_gguf_n_kv(g); i++) {
        const char *key = el_gguf_key(g, i);
        if (strncmp(key, "tokenizer.", 10) != 0) continue;
        if (el_gguf_copy_kv(w, g, i) != 0) {
            el_errf(err, errlen, "gguf writer: %s", el_gguf_writer_error(w));
            goto out;
        }
    }
    if (n > n_tok) {
        toks = calloc((size_t)n, sizeof *toks);
        vals = calloc((size_t)n, sizeof(float)); /* int32 types or f32 scores */
        if (!toks || !vals) goto oom;
        for (int64_t i = 0; i < n; i++) {
            if (i < n_tok) {
                el_gstr t = el_gguf_arr_str(&ta, (uint64_t)i);
                toks[i] = malloc(t.n + 1);
                if (toks[i]) memcpy(toks[i], t.s, t.n), toks[i][t.n] = 0;
            } else {
                char pad[32];
                snprintf(pad, sizeof pad, "[PAD%lld]", (long long)i);
                toks[i] = strdup(pad);
            }
            if (!toks[i]) goto oom;
        }
        if (el_gguf_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)toks,
                                (uint64_t)n) != 0)
            goto werr;
        el_gguf_arr a;
        if (el_gguf_get_arr(g, "tokenizer.ggml.token_type", &a) == 0 && a.n == (uint64_t)n_tok) {
            int32_t *ty = vals;
            for (int64_t i = 0; i < n; i++)
                ty[i] = i < n_tok ? (int32_t)el_gguf_arr_i64(&a, (uint64_t)i) : TOK_UNUSED;
            if (el_gguf_set_arr(w, "tokenizer.ggml.token_type", EL_GGUF_INT32, ty, (uint64_t)n))
                goto werr;
        }
        if (el_gguf_get_arr(g, "tokenizer.ggml.scores", &a) == 0 && a.n == (uint64_t)n_tok) {
            float *sc = vals;
            for (int64_t i = 0; i < n; i++)
                sc[i] = i < n_tok ? (float)el_gguf_arr_f64(&a, (uint64_t)i) : -1000.0f;
            if (el_gguf_set_arr(w, "tokenizer.ggml.scores", EL_GGUF_FLOAT32, sc, (uint64_t)n))
                goto werr;
        }
    }
    rc = 0;
    goto out;
werr:
    el_errf(err, errlen, "gguf writer: %s", el_gguf_writer_error(w));
    goto out;
oom:
    el_errf(err, errlen, "out of memory copying the tokenizer");
out:
    if (toks)
        for (int64_t i = 0; i < n; i++)
            free(toks[i]);
    free(toks);
    free(vals);
    el_gguf_close(g);
    return rc;
}

/* ---- the model -------------------------------------------------------------------------- */

static int put_model_meta(const synth *s, el_gguf_writer *w, char *err, size_t errlen) {
    const el_synth_params *p = &s->p;
    const char *arch = el_synth_arch_name(p->arch);
    char key[96], desc[160];
#define AKEY(suffix) (snprintf(key, sizeof key, "%s.%s", arch, suffix), key)
    WCHK(el_gguf_set_str(w, "general.architecture", arch));
    WCHK(el_gguf_set_str(w, "general.type", "model"));
    if (p->name[0]) {
        WCHK(el_gguf_set_str(w, "general.name", p->name));
    } else {
        snprintf(desc, sizeof desc, "synth-%s", arch);
        WCHK(el_gguf_set_str(w, "general.name", desc));
    }
    snprintf(desc, sizeof desc,
             "random weights made by edgellm synth (seed %llu): not a trained "
             "model",
             (unsigned long long)p->seed);
    WCHK(el_gguf_set_str(w, "general.description", desc));
    /* the converter's order: TextModel.set_gguf_parameters, then the arch's additions */
    WCHK(el_gguf_set_u32(w, AKEY("block_count"), (uint32_t)p->n_layer));
    WCHK(el_gguf_set_u32(w, AKEY("context_length"), (uint32_t)p->n_ctx));
    WCHK(el_gguf_set_u32(w, AKEY("embedding_length"), (uint32_t)p->n_embd));
    WCHK(el_gguf_set_u32(w, AKEY("feed_forward_length"), (uint32_t)p->n_ff));
    WCHK(el_gguf_set_u32(w, AKEY("attention.head_count"), (uint32_t)p->n_head));
    WCHK(el_gguf_set_u32(w, AKEY("attention.head_count_kv"), (uint32_t)p->n_head_kv));
    WCHK(el_gguf_set_f32(w, AKEY("rope.freq_base"), (float)p->rope_base));
    WCHK(el_gguf_set_f32(w, AKEY("attention.layer_norm_rms_epsilon"), (float)p->norm_eps));
    if (p->kv_len_keys || s->head_dim * p->n_head != p->n_embd) {
        WCHK(el_gguf_set_u32(w, AKEY("attention.key_length"), (uint32_t)s->head_dim));
        WCHK(el_gguf_set_u32(w, AKEY("attention.value_length"), (uint32_t)s->head_dim));
    }
    WCHK(el_gguf_set_u32(w, "general.file_type", (uint32_t)p->ftype));
    if (p->arch == EL_SYNTH_LLAMA) { /* LlamaModel.set_gguf_parameters adds these two */
        WCHK(el_gguf_set_u32(w, AKEY("vocab_size"), (uint32_t)s->n_vocab));
        WCHK(el_gguf_set_u32(w, AKEY("rope.dimension_count"), (uint32_t)s->head_dim));
    }
    WCHK(el_gguf_set_u32(w, "general.quantization_version", 2));
#undef AKEY
    return 0;
}

static int plan_add(synth *s, int cap, const char *name, uint32_t n_dims, int64_t ne0, int64_t ne1,
                    gen_kind kind, float scale) {
    if (s->n_t >= cap) return -1;
    tplan *t = &s->t[s->n_t++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = n_dims;
    t->ne[0] = ne0;
    t->ne[1] = n_dims > 1 ? ne1 : 1;
    t->kind = kind;
    t->scale = scale;
    t->center = 1.0f;
    t->hash = hash_str(name);
    t->s = s;
    return 0;
}

/* Tensor names and shapes as llama.cpp's loader wants them (src/llama-model.cpp,
 * load_tensors: LLM_ARCH_LLAMA, LLM_ARCH_QWEN2, LLM_ARCH_QWEN3). ne = {fan-in, rows}.
 *
 * Scales keep activations O(1) and make greedy decoding a meaningful test (test_synth's
 * test_greedy_spread measures it through the engine):
 *  - matrices N(0, 1/fan_in), so each projection preserves the variance; the two residual
 *    writers (attn_output, ffn_down) are further divided by sqrt(2 n_layer) so the residual
 *    stream stays O(1) however deep the model is;
 *  - attention scores have std ~3 (attn_q and attn_k, or qwen3's q/k norm weights, carry a
 *    factor sqrt(3) each): attention picks out a few positions instead of averaging the
 *    context, so positions (RoPE) and the KV cache visibly change the output, and greedy
 *    runs wander instead of settling into a 2-token loop;
 *  - logits of the normed final state have std ~2.5 (a real spread, no near-ties): output
 *    rows have std 2.5/sqrt(n_embd) with output_norm ~1;
 *  - token embeddings are small (std 0.05/sqrt(n_embd)). This matters for tied models, where
 *    token_embd is also the output matrix: the input token's own embedding sits in the
 *    residual stream, and its dot product with its own row (n_embd * std^2, divided by the
 *    state's RMS) would otherwise outscore every other token, so a random tied model just
 *    repeats its input ("eeeee..."). Small embeddings shrink that self-term to ~0.1 logit;
 *    the output_norm weights (~50) then restore the 2.5 spread, as trained tied models also
 *    carry large final-norm weights;
 *  - norm weights center * (1 +- 0.1), biases +-0.1. */
#define EMB_STD 0.05f /* * 1/sqrt(n_embd) */
#define LOGIT_STD 2.5f
#define ATT_SCALE 1.7320508f /* sqrt(3), on each of q and k */
static int plan_build(synth *s, char *err, size_t errlen) {
    const el_synth_params *p = &s->p;
    const int64_t E = p->n_embd, hd = s->head_dim, Q = p->n_head * hd, KV = p->n_head_kv * hd;
    const int64_t F = p->n_ff, V = s->n_vocab, L = p->n_layer;
    const int cap = (int)(L * 16 + 8);
    s->t = calloc((size_t)cap, sizeof *s->t);
    if (!s->t) return el_errf(err, errlen, "out of memory");
    const float rs = 1.0f / sqrtf(2.0f * (float)L);
    const float emb = EMB_STD / sqrtf((float)E), out = LOGIT_STD / sqrtf((float)E);
    char nm[64];
    int rc = 0;
    if (p->rope_llama3)
        rc |= plan_add(s, cap, "rope_freqs.weight", 1, hd / 2, 1, GEN_ROPE_FREQS, 0);
    rc |= plan_add(s, cap, "token_embd.weight", 2, E, V, GEN_MATRIX, emb);
    for (int64_t i = 0; i < L; i++) {
#define T(suffix, nd, ne0, ne1, kind, scale)                                                       \
    (snprintf(nm, sizeof nm, "blk.%lld.%s", (long long)i, suffix),                                 \
     plan_add(s, cap, nm, nd, ne0, ne1, kind, scale))
        rc |= T("attn_norm.weight", 1, E, 1, GEN_NORM, 0.1f);
        rc |= T("attn_q.weight", 2, E, Q, GEN_MATRIX, ATT_SCALE / sqrtf((float)E));
        if (p->arch == EL_SYNTH_QWEN2) rc |= T("attn_q.bias", 1, Q, 1, GEN_BIAS, 0.1f);
        rc |= T("attn_k.weight", 2, E, KV, GEN_MATRIX, ATT_SCALE / sqrtf((float)E));
        if (p->arch == EL_SYNTH_QWEN2) rc |= T("attn_k.bias", 1, KV, 1, GEN_BIAS, 0.1f);
        rc |= T("attn_v.weight", 2, E, KV, GEN_MATRIX, 1.0f / sqrtf((float)E));
        if (p->arch == EL_SYNTH_QWEN2) rc |= T("attn_v.bias", 1, KV, 1, GEN_BIAS, 0.1f);
        rc |= T("attn_output.weight", 2, Q, E, GEN_MATRIX, rs / sqrtf((float)Q));
        if (p->arch == EL_SYNTH_QWEN3) {
            /* q and k are RMS-normed per head: the scale lives in the norm weights */
            rc |= T("attn_q_norm.weight", 1, hd, 1, GEN_NORM, 0.1f);
            if (rc == 0) s->t[s->n_t - 1].center = ATT_SCALE;
            rc |= T("attn_k_norm.weight", 1, hd, 1, GEN_NORM, 0.1f);
            if (rc == 0) s->t[s->n_t - 1].center = ATT_SCALE;
        }
        rc |= T("ffn_norm.weight", 1, E, 1, GEN_NORM, 0.1f);
        rc |= T("ffn_gate.weight", 2, E, F, GEN_MATRIX, 1.0f / sqrtf((float)E));
        rc |= T("ffn_up.weight", 2, E, F, GEN_MATRIX, 1.0f / sqrtf((float)E));
        rc |= T("ffn_down.weight", 2, F, E, GEN_MATRIX, rs / sqrtf((float)F));
#undef T
    }
    rc |= plan_add(s, cap, "output_norm.weight", 1, E, 1, GEN_NORM, 0.1f);
    if (rc == 0 && p->tied) s->t[s->n_t - 1].center = LOGIT_STD / EMB_STD;
    if (!p->tied) rc |= plan_add(s, cap, "output.weight", 2, E, V, GEN_MATRIX, out);
    if (rc) return el_errf(err, errlen, "internal: tensor plan overflow");
    return 0;
}

/* Per-tensor types: the model quantizer's plan (kernels/quantize_model.h), the same mix
 * `edgellm quantize` and llama-quantize apply. The plan reads a GGUF, so we give it a
 * skeleton of this model: the same metadata and tensor names, ne[0] and dimensionality, but
 * at most 2 rows per tensor (the rules look at names, row lengths, n_dims and the
 * hyperparameters, never at the row count; test_synth checks the skeleton's plan against
 * the plan of a complete file). The skeleton is a few MB at most; it is written next to the
 * output, mapped, and deleted at once. */
static int fill_zero(void *ctx, void *dst, uint64_t size, char *err, size_t errlen) {
    (void)ctx, (void)dst, (void)size, (void)err, (void)errlen; /* the writer's buffer is zeroed */
    return 0;
}

static int choose_types(synth *s, const char *out_path, char *err, size_t errlen) {
    char skel[4200];
    if (snprintf(skel, sizeof skel, "%s.synth-plan.%ld", out_path, (long)getpid()) >=
        (int)sizeof skel)
        return el_errf(err, errlen, "output path too long");
    int rc = -1;
    int *types = NULL;
    el_gguf *g = NULL;
    el_gguf_writer *w = el_gguf_writer_new();
    if (!w) return el_errf(err, errlen, "out of memory");
    if (put_model_meta(s, w, err, errlen)) goto out;
    for (int i = 0; i < s->n_t; i++) {
        const tplan *t = &s->t[i];
        const int64_t ne[2] = {t->ne[0], EL_MIN(t->ne[1], 2)};
        if (el_gguf_add_tensor_fill(w, t->name, EL_TYPE_F32, t->n_dims, ne,
                                    (uint64_t)(ne[0] * ne[1]) * sizeof(float), fill_zero,
                                    NULL) != 0) {
            el_errf(err, errlen, "gguf writer: %s", el_gguf_writer_error(w));
            goto out;
        }
    }
    char e2[300];
    if (el_gguf_writer_write(w, skel, e2, sizeof e2)) {
        const char *why = strstr(e2, ": ");
        el_errf(err, errlen, "%s: cannot write there%s", out_path, why ? why : "");
        goto out;
    }
    g = el_gguf_open(skel, err, errlen);
    remove(skel); /* the mapping stays valid */
    if (!g) goto out;
    types = calloc((size_t)s->n_t, sizeof *types);
    if (!types) {
        el_errf(err, errlen, "out of memory");
        goto out;
    }
    if (el_gguf_n_tensors(g) != s->n_t ||
        el_quantize_plan(g, s->p.ftype, types, NULL, NULL, err, errlen) != 0) {
        if (el_gguf_n_tensors(g) != s->n_t) el_errf(err, errlen, "internal: skeleton mismatch");
        goto out;
    }
    for (int i = 0; i < s->n_t; i++) {
        tplan *t = &s->t[i];
        t->type = types[i];
        size_t rb = el_row_size(t->type, t->ne[0]);
        if (!rb || !el_mul_u64(rb, (uint64_t)t->ne[1], &t->size)) {
            const el_type_info *ti = el_type_traits(t->type);
            el_errf(err, errlen, "%s: %lld columns do not fit type %s", t->name,
                    (long long)t->ne[0], ti ? ti->name : "?");
            goto out;
        }
    }
    rc = 0;
out:
    free(types);
    el_gguf_close(g);
    el_gguf_writer_free(w);
    return rc;
}

static bool file_starts_with_gguf(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    unsigned char m[4] = {0};
    size_t k = fread(m, 1, 4, f);
    fclose(f);
    return k == 4 && !memcmp(m, "GGUF", 4);
}

/* An HF tokenizer.json (with the tokenizer_config.json beside it, when there is one, for the
 * chat template and special ids): imported by the tokenizer module into a vocab-only GGUF
 * next to the output, then copied like any vocab GGUF (same padding rules). */
static int put_json_vocab(synth *s, const char *json, const char *out_path, el_gguf_writer *w,
                          char *err, size_t errlen) {
    char cfg[4096], tmp[4200];
    const char *slash = strrchr(json, '/');
    int dn = slash ? (int)(slash - json) + 1 : 0;
    if (snprintf(cfg, sizeof cfg, "%.*stokenizer_config.json", dn, json) >= (int)sizeof cfg ||
        snprintf(tmp, sizeof tmp, "%s.synth-vocab.%ld", out_path, (long)getpid()) >=
            (int)sizeof tmp)
        return el_errf(err, errlen, "tokenizer path too long");
    el_gguf_writer *tw = el_gguf_writer_new();
    if (!tw) return el_errf(err, errlen, "out of memory");
    char e2[400];
    int rc = -1;
    if (el_tok_hf_import(json, access(cfg, R_OK) == 0 ? cfg : NULL, tw, e2, sizeof e2) != 0) {
        el_errf(err, errlen, "tokenizer %s: %s", json, e2);
    } else if (el_gguf_writer_write(tw, tmp, e2, sizeof e2) != 0) {
        el_errf(err, errlen, "tokenizer %s: %s", json, e2);
    } else {
        rc = put_gguf_vocab(s, tmp, w, err, errlen);
        remove(tmp);
    }
    el_gguf_writer_free(tw);
    return rc;
}

static int put_tokenizer(synth *s, const char *out_path, el_gguf_writer *w, char *err,
                         size_t errlen) {
    const char *tk = s->p.tokenizer;
    if (!strcmp(tk, "byte")) {
        s->n_vocab = s->p.n_vocab;
        return put_byte_vocab(s, w, err, errlen);
    }
    if (access(tk, R_OK) != 0) return el_errf(err, errlen, "tokenizer %s: cannot read it", tk);
    if (file_starts_with_gguf(tk)) return put_gguf_vocab(s, tk, w, err, errlen);
    return put_json_vocab(s, tk, out_path, w, err, errlen);
}

int el_synth_write(const el_synth_params *p, const char *path, char *err, size_t errlen) {
    if (el_synth_check(p, err, errlen)) return -1;
    if (!path || !*path) return el_errf(err, errlen, "no output path");
    synth s = {.p = *p};
    s.p.name[sizeof s.p.name - 1] = 0;
    s.p.tokenizer[sizeof s.p.tokenizer - 1] = 0;
    s.head_dim = head_dim_of(p);
    s.n_vocab = p->n_vocab;
    s.n_threads = (int)EL_MIN(EL_MAX(p->n_threads, 1), (int)EL_ARRAY_LEN(s.scratch));
    int rc = -1;
    el_gguf_writer *w = el_gguf_writer_new();
    if (!w) return el_errf(err, errlen, "out of memory");
    if (put_model_meta(&s, w, err, errlen) || put_tokenizer(&s, path, w, err, errlen)) goto out;
    el_synth_params final = s.p; /* the tokenizer may have grown the vocabulary */
    final.n_vocab = s.n_vocab;
    if (el_synth_check(&final, err, errlen)) goto out;
    if (p->arch == EL_SYNTH_LLAMA && el_gguf_set_u32(w, "llama.vocab_size", (uint32_t)s.n_vocab)) {
        el_errf(err, errlen, "gguf writer: %s", el_gguf_writer_error(w));
        goto out;
    }
    if (plan_build(&s, err, errlen) || choose_types(&s, path, err, errlen)) goto out;
    for (int i = 0; i < s.n_threads; i++) {
        s.scratch[i] = el_alloc_aligned((size_t)SCRATCH_FLOATS * sizeof(float));
        if (!s.scratch[i]) {
            el_errf(err, errlen, "out of memory");
            goto out;
        }
    }
    for (int i = 0; i < s.n_t; i++) {
        tplan *t = &s.t[i];
        if (el_gguf_add_tensor_fill(w, t->name, t->type, t->n_dims, t->ne, t->size, fill_tensor,
                                    t) != 0) {
            el_errf(err, errlen, "gguf writer: %s", el_gguf_writer_error(w));
            goto out;
        }
    }
    rc = el_gguf_writer_write(w, path, err, errlen);
out:
    for (int i = 0; i < (int)EL_ARRAY_LEN(s.scratch); i++)
        el_free_aligned(s.scratch[i]);
    free(s.t);
    el_gguf_writer_free(w);
    return rc;
}
