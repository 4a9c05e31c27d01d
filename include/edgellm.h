/* edgellm.h — the one public engine boundary.
 *
 * The CLI, the server, the router and every tool above the engine see only this header.
 * Conventions:
 *   - Opaque handles with open/close pairs. A model is mmapped once and shared read-only by
 *     any number of sessions; a session owns its KV cache and scratch (one allocation at
 *     open, nothing allocated while decoding).
 *   - Functions that can fail return a negative value (or NULL) and write one line into a
 *     caller-owned `char *err, size_t errlen` (err may be NULL).
 *   - Counts that may not fit the caller's buffer are returned whole: a function that
 *     returns n > cap wrote only the first cap items; call again with a bigger buffer.
 *   - A model may be used from several threads at once; a session from one thread at a time.
 */
#ifndef EDGELLM_H
#define EDGELLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t el_token;
typedef struct el_model el_model;
typedef struct el_session el_session;

/* ---- model ------------------------------------------------------------------------ */

/* Opens a GGUF model (llama, qwen2, qwen3 architectures). Returns NULL on error. */
el_model *el_model_open(const char *path, char *err, size_t errlen);
void el_model_close(el_model *m);

typedef struct el_model_desc {
    const char *arch;      /* "llama", "qwen2", "qwen3" (owned by the model) */
    const char *name;      /* general.name or "" */
    int32_t n_vocab;
    int32_t n_ctx_train;   /* context length the model was trained for */
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;
    int32_t n_ff;
    uint64_t n_params;
    uint64_t weight_bytes; /* bytes of tensor data (mmapped) */
    uint64_t decode_bytes; /* weight bytes one decode step reads (all but the untied
                              embedding table, of which it reads one row) */
    uint64_t repacked_bytes; /* weights copied at load into an interleaved layout for this
                                CPU's kernels (their file pages are released, so memory holds
                                one copy); 0 when none are (EL_REPACK=0 turns it off) */
    int32_t repacked_matrices;
    bool has_chat_template;
} el_model_desc;
void el_model_describe(const el_model *m, el_model_desc *out);

/* ---- tokens ----------------------------------------------------------------------- */

/* Encodes text. add_special: BOS/EOS as the model's metadata asks. parse_special: text like
 * "<|im_start|>" becomes the special token instead of plain text. Returns the token count
 * (only min(count, cap) written), negative on error. */
int el_tokenize(const el_model *m, const char *text, size_t len, bool add_special,
                bool parse_special, el_token *out, int cap);
/* Text of one token (special tokens only when special is true). Returns the byte count
 * (only min(count, cap) written), negative for an id out of range. Pieces may be partial
 * UTF-8 sequences: use el_detok for streaming text. */
int el_token_text(const el_model *m, el_token t, bool special, char *buf, int cap);
el_token el_token_bos(const el_model *m); /* -1 when the model has none */
el_token el_token_eos(const el_model *m);
bool el_token_is_eog(const el_model *m, el_token t); /* ends generation (EOS, EOT, im_end...) */

/* Streaming detokenizer: emits only complete UTF-8 sequences, holding back the bytes of a
 * character split across tokens. */
typedef struct el_detok el_detok;
el_detok *el_detok_new(const el_model *m, bool special);
/* Appends the text of t; returns the number of bytes now ready in *out (valid until the
 * next call). */
int el_detok_push(el_detok *d, el_token t, const char **out);
int el_detok_flush(el_detok *d, const char **out); /* releases what is held (U+FFFD if broken) */
void el_detok_reset(el_detok *d);
void el_detok_free(el_detok *d);

/* ---- sessions --------------------------------------------------------------------- */

typedef enum el_kv_type {
    EL_KV_F32 = 0,
    EL_KV_F16 = 1,
} el_kv_type;

typedef struct el_session_params {
    int32_t n_ctx;      /* positions per sequence; 0: min(model's n_ctx_train, 4096) */
    int32_t n_seq;      /* independent sequences (server slots); 0: 1 */
    int32_t n_batch;    /* max tokens per el_session_decode call; 0: 512 */
    int32_t n_outputs;  /* max tokens per call that ask for logits; 0: n_seq */
    int32_t n_threads;  /* 0: number of cores */
    el_kv_type type_k;  /* cache type for every layer unless layer_types is set */
    el_kv_type type_v;
    const el_kv_type *layer_types_k; /* optional, n_layer entries */
    const el_kv_type *layer_types_v; /* optional, n_layer entries */
} el_session_params;
void el_session_params_default(el_session_params *p);

el_session *el_session_open(el_model *m, const el_session_params *p, char *err, size_t errlen);
void el_session_close(el_session *s);

/* A batch: n tokens, each with its position and sequence id and whether logits are wanted
 * for it. pos must continue each sequence: the i-th token of sequence s in this batch sits
 * at position (tokens already cached for s) + i. seq may be NULL (all 0), logits may be NULL
 * (logits for the last token only). */
typedef struct el_batch {
    int32_t n;
    const el_token *tokens;
    const int32_t *pos;
    const int32_t *seq;
    const bool *logits;
} el_batch;

/* Runs the model over the batch, appending its tokens to their sequences' caches. Returns 0,
 * or negative on error (bad ids/positions, context full, batch too large), in which case the
 * caches are unchanged. */
int el_session_decode(el_session *s, const el_batch *b, char *err, size_t errlen);
/* Logits (n_vocab floats) of the i-th output of the last decode, in batch order; NULL when i
 * is out of range. Valid until the next decode. */
const float *el_session_logits(el_session *s, int32_t i);
int32_t el_session_n_outputs(const el_session *s);
/* Tokens cached for sequence seq. */
int32_t el_session_seq_len(const el_session *s, int32_t seq);
/* Drops positions >= keep of seq (keep = 0 clears it). Returns 0 or negative. */
int el_session_seq_truncate(el_session *s, int32_t seq, int32_t keep);
int32_t el_session_n_ctx(const el_session *s);
uint64_t el_session_kv_bytes(const el_session *s); /* bytes held by the KV cache */

/* ---- sampling --------------------------------------------------------------------- */

typedef struct el_sampling {
    float temp;             /* <= 0: greedy */
    int32_t top_k;          /* <= 0: off */
    float top_p;            /* >= 1: off */
    float min_p;            /* <= 0: off */
    float repeat_penalty;   /* 1: off */
    int32_t penalty_last_n; /* -1: whole history, 0: off */
    float frequency_penalty;
    float presence_penalty;
    uint64_t seed;          /* EL_SEED_RANDOM: a seed from the OS */
} el_sampling;
#define EL_SEED_RANDOM 0xFFFFFFFFu /* as llama.cpp's LLAMA_DEFAULT_SEED */
void el_sampling_default(el_sampling *p); /* llama.cpp's defaults */

typedef struct el_sampler el_sampler;
el_sampler *el_sampler_open(const el_model *m, const el_sampling *p, char *err, size_t errlen);
void el_sampler_close(el_sampler *s);
el_token el_sampler_pick(el_sampler *s, const float *logits); /* and records it for penalties */
void el_sampler_add_history(el_sampler *s, el_token t);      /* e.g. the prompt */
void el_sampler_reset(el_sampler *s);
/* log-probability of t under logits, and the top k alternatives (ids + logprobs, sorted). */
float el_token_logprob(const el_model *m, const float *logits, el_token t);
int el_token_top_logprobs(const el_model *m, const float *logits, int k, el_token *ids,
                          float *lps);

/* Stop strings: feed generated text piece by piece; text that may still be the start of a
 * stop string is held back. emit/hit out-parameters: *emit points at the bytes that are
 * safe to print now (returned count), *hit is set when a stop string completed (the emitted
 * text then ends right before it, and generation should end). */
typedef struct el_stop el_stop;
el_stop *el_stop_new(const char *const *stops, int n, char *err, size_t errlen);
int el_stop_push(el_stop *s, const char *piece, size_t n, const char **emit, int *hit);
int el_stop_flush(el_stop *s, const char **emit);
void el_stop_free(el_stop *s);

/* ---- chat templates --------------------------------------------------------------- */

typedef struct el_chat_opts {
    bool add_generation_prompt;
    int enable_thinking; /* -1: template default, 0: off, 1: on */
} el_chat_opts;
/* Renders an OpenAI-shaped messages JSON array (and optional tools JSON array) with the
 * model's own chat template (tokenizer.chat_template). *out is malloc'd. 0 or negative. */
int el_chat_render(const el_model *m, const char *messages_json, const char *tools_json,
                   const el_chat_opts *opts, char **out, char *err, size_t errlen);

/* A chat template as an object: the model's own (src NULL; NULL + err when the model has
 * none or it does not parse) or one given as Jinja text (e.g. `serve --chat-template-file`,
 * for models whose template is missing or wrong). BOS/EOS come from the model. Immutable:
 * any number of threads may render with it at once; close it before the model. */
typedef struct el_chat_template el_chat_template;
el_chat_template *el_chat_template_open(const el_model *m, const char *src, size_t len, char *err,
                                        size_t errlen);
void el_chat_template_close(el_chat_template *t);
int el_chat_template_render(const el_chat_template *t, const char *messages_json,
                            const char *tools_json, const el_chat_opts *opts, char **out,
                            char *err, size_t errlen);
/* The Jinja text (NUL-terminated; owned by t) — e.g. to tell which tool-call format the
 * model was trained on. */
const char *el_chat_template_source(const el_chat_template *t);

#ifdef __cplusplus
}
#endif

#endif
