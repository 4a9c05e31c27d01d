/* cli/gen.h — the generation loop that `run` and `chat` share: options and flags common to
 * both, prompt prefill with prefix reuse (only tokens after the longest common prefix with
 * what the session already holds are decoded), sampling, streaming text through the stop
 * strings, speed figures. Uses only edgellm.h. */
#ifndef EL_CLI_GEN_H
#define EL_CLI_GEN_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "edgellm.h"

#define GEN_MAX_STOPS 16

typedef struct gen_opts {
    int32_t n_predict;  /* -1: until EOS or context end */
    int32_t n_ctx, n_batch, n_threads;
    el_kv_type type_k, type_v;
    el_sampling sampling;
    const char *stops[GEN_MAX_STOPS];
    int n_stops;
    bool ignore_eos;
    bool special;       /* print special tokens' text */
    bool verbose_prompt;
} gen_opts;

typedef enum { GEN_OUT_TEXT, GEN_OUT_JSON } gen_out;

typedef struct gen_ctx {
    gen_opts o;
    el_model *m;
    el_session *s;
    el_sampler *smp;
    el_detok *dt;
    el_token *hist;     /* (n_ctx) tokens the session holds, in order */
    int32_t n_hist;
    el_token *scratch;  /* (n_ctx) tokenizer output */
    int32_t *pos;       /* (n_batch) */
    bool have_logits;   /* the session's last output belongs to hist[n_hist-1] */
    double t_load;
    int64_t n_prompt, n_gen;
    double t_prompt, t_gen;
    int64_t n_reused;
    const char *stop_reason;
    char *last_text;    /* (growable) text of the last completion, for chat history */
    size_t last_len, last_cap;
} gen_ctx;

extern volatile sig_atomic_t gen_interrupted;

void gen_opts_default(gen_opts *o);
/* Consumes argv[*i] (and its value) when it is a generation flag: returns 1 consumed, 0 not
 * a generation flag, -1 bad value (message printed). */
int gen_parse_flag(gen_opts *o, int argc, char **argv, int *i);
void gen_usage(FILE *f);

int gen_open(gen_ctx *g, const char *model_path, const gen_opts *o);
void gen_close(gen_ctx *g);
/* Makes the session hold exactly tokenize(text): keeps the common prefix, decodes the rest. */
int gen_prompt(gen_ctx *g, const char *text, size_t len, bool add_special);
/* Samples until EOS / stop string / n_predict / context end / interrupt, writing to out. */
int gen_complete(gen_ctx *g, gen_out mode, int top_logprobs, FILE *out);
void gen_report(const gen_ctx *g, FILE *f);

#endif
