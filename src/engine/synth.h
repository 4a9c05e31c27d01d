/* engine/synth.h — random-weight GGUF models of a real architecture, shape and type.
 *
 * Tests and benchmarks need models nobody has to download: a Qwen2.5-0.5B-shaped Q4_K_M file
 * to measure bandwidth, a tiny qwen3 to test qk-norm, a Llama-3.2-1B-shaped Q8_0 to compare
 * speed with llama.cpp. el_synth_write() makes such a file: tensor names, shapes and metadata
 * keys exactly as llama.cpp's converter writes them for the architecture, weights drawn from
 * a seeded generator (same seed, same bytes), quantized tensor by tensor with the model
 * quantizer's per-tensor type mix, and a tokenizer (a made-up byte-level BPE vocabulary, or
 * one copied from a vocab GGUF or imported from an HF tokenizer.json).
 *
 * Use from a test:
 *     el_synth_params p;
 *     el_synth_preset("tiny-qwen3", &p, err, sizeof err);
 *     p.ftype = el_synth_ftype_from_name("Q8_0");
 *     el_synth_write(&p, path, err, sizeof err);
 */
#ifndef EL_SYNTH_H
#define EL_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum el_synth_arch {
    EL_SYNTH_LLAMA = 0, /* llama: NORM rope, no biases; rope_freqs.weight for llama3 scaling */
    EL_SYNTH_QWEN2 = 1, /* qwen2: NEOX rope, q/k/v biases */
    EL_SYNTH_QWEN3 = 2, /* qwen3: NEOX rope, per-head q/k RMS norms, head_dim may differ */
} el_synth_arch;

/* Everything that decides the bytes of the file. Presets fill all of it; any field may be
 * changed afterwards. Sizes are element counts. */
typedef struct el_synth_params {
    el_synth_arch arch;
    char name[64];       /* general.name; "" → "synth-<arch>" */
    int64_t n_layer;     /* block_count */
    int64_t n_embd;      /* embedding_length */
    int64_t n_head;      /* attention.head_count */
    int64_t n_head_kv;   /* attention.head_count_kv; divides n_head */
    int64_t head_dim;    /* 0: n_embd / n_head; written as key/value_length when it differs */
    int64_t n_ff;        /* feed_forward_length */
    int64_t n_vocab;     /* rows of token_embd; for a file tokenizer see vocab_exact */
    int64_t n_ctx;       /* context_length */
    int ftype;           /* llama.cpp's LLAMA_FTYPE_* value (el_synth_ftype_from_name) */
    uint64_t seed;       /* weights; the made-up vocabulary does not depend on it */
    char tokenizer[512]; /* "byte", a vocab .gguf path, or an HF tokenizer.json path */
    bool vocab_exact;    /* file tokenizer: n_vocab must be >= its token count (padded up with
                            [PAD<id>] tokens); false: n_vocab = max(n_vocab, token count) */
    bool tied;           /* no output.weight: the output reuses token_embd */
    double rope_base;    /* rope.freq_base */
    bool rope_llama3;    /* llama3 frequency scaling, written as rope_freqs.weight (llama) */
    double rope_factor;  /* llama3 scaling: factor, low/high frequency factors, original ctx */
    double rope_low_freq;
    double rope_high_freq;
    int64_t rope_orig_ctx;
    double norm_eps;  /* attention.layer_norm_rms_epsilon */
    int n_threads;    /* generate/quantize with this many threads (0: 1); bytes do not
                         depend on it */
    bool kv_len_keys; /* write attention.key_length/value_length even when head_dim ==
                         n_embd / n_head (the converter does when config.json states it) */
} el_synth_params;

/* Fills p from a preset ("qwen2.5-0.5b", "qwen3-0.6b", "llama-3.2-1b", "smollm-135m",
 * "tinyllama-1.1b", "tiny-llama", "tiny-qwen2", "tiny-qwen3"); ftype F32, seed 1, tokenizer
 * "byte". Returns 0, or -1 for an unknown name. */
int el_synth_preset(const char *name, el_synth_params *p, char *err, size_t errlen);
/* The i-th preset's name and one-line description, NULL past the end. */
const char *el_synth_preset_name(int i, const char **desc);

/* Architecture by name ("llama", "qwen2", "qwen3"), -1 when unknown; and back. */
int el_synth_arch_from_name(const char *name);
const char *el_synth_arch_name(el_synth_arch a);

/* llama.cpp file type by name, case-insensitive: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0,
 * Q5_1, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K and the others the model quantizer writes
 * (kernels/quantize_model.h, whose per-tensor mix synth uses). Returns the LLAMA_FTYPE
 * value, -1 if unknown. */
int el_synth_ftype_from_name(const char *name);
const char *el_synth_ftype_name(int ftype); /* "Q4_K_M", or NULL */

/* Checks shapes and values (heads divide, block sizes divide, nothing zero or absurd).
 * 0 or -1 with one line in err. el_synth_write calls it too. */
int el_synth_check(const el_synth_params *p, char *err, size_t errlen);

/* Writes the model to path (via a temporary file and rename). Tensors are generated and
 * quantized one at a time while the file is written, so peak memory is about one quantized
 * tensor plus a small float scratch, whatever the model size. Returns 0 or -1. */
int el_synth_write(const el_synth_params *p, const char *path, char *err, size_t errlen);

#endif
