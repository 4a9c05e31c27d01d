/* engine/api.c — the public faces of the tokenizer, the samplers and the chat templates:
 * thin wrappers from edgellm.h onto tok/, sample/ and the template interpreter, so that
 * nothing above the engine sees those modules' internal headers. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "engine/model.h"
#include "sample/sample.h"
#include "tok/template.h"
#include "tok/tok.h"

/* ---- tokens ---------------------------------------------------------------------- */

int el_tokenize(const el_model *m, const char *text, size_t len, bool add_special,
                bool parse_special, el_token *out, int cap) {
    return el_tok_encode(m->tok, text, len, add_special, parse_special, out, cap);
}

int el_token_text(const el_model *m, el_token t, bool special, char *buf, int cap) {
    return el_tok_piece(m->tok, t, special, buf, cap);
}

el_token el_token_bos(const el_model *m) { return el_tok_bos(m->tok); }
el_token el_token_eos(const el_model *m) { return el_tok_eos(m->tok); }
bool el_token_is_eog(const el_model *m, el_token t) { return el_tok_is_eog(m->tok, t); }

struct el_detok {
    el_tok_stream st;
    bool special;
    char *buf; /* grows only when one token's text exceeds it (rare: 256 bytes first) */
    int cap;
};

el_detok *el_detok_new(const el_model *m, bool special) {
    el_detok *d = calloc(1, sizeof *d);
    if (!d || !(d->buf = malloc(256))) {
        free(d);
        return NULL;
    }
    d->cap = 256;
    el_tok_stream_init(&d->st, m->tok);
    d->special = special;
    return d;
}

static int detok_grow(el_detok *d, int need) {
    char *nb = realloc(d->buf, (size_t)need);
    if (!nb) return -1;
    d->buf = nb;
    d->cap = need;
    return 0;
}

int el_detok_push(el_detok *d, el_token t, const char **out) {
    int n = el_tok_stream_push(&d->st, t, d->special, d->buf, d->cap);
    if (n > d->cap && detok_grow(d, n) == 0)
        n = el_tok_stream_push(&d->st, t, d->special, d->buf, d->cap);
    *out = d->buf;
    return n < 0 || n > d->cap ? 0 : n;
}

int el_detok_flush(el_detok *d, const char **out) {
    int n = el_tok_stream_flush(&d->st, d->buf, d->cap);
    if (n > d->cap && detok_grow(d, n) == 0) n = el_tok_stream_flush(&d->st, d->buf, d->cap);
    *out = d->buf;
    return n < 0 || n > d->cap ? 0 : n;
}

void el_detok_reset(el_detok *d) { el_tok_stream_init(&d->st, d->st.tok); }

void el_detok_free(el_detok *d) {
    if (!d) return;
    free(d->buf);
    free(d);
}

/* ---- sampling -------------------------------------------------------------------- */

void el_sampling_default(el_sampling *p) {
    el_sampler_params sp;
    el_sampler_params_default(&sp);
    memset(p, 0, sizeof *p);
    p->temp = sp.temp;
    p->top_k = sp.top_k;
    p->top_p = sp.top_p;
    p->min_p = sp.min_p;
    p->repeat_penalty = sp.repeat_penalty;
    p->penalty_last_n = sp.penalty_last_n;
    p->frequency_penalty = sp.frequency_penalty;
    p->presence_penalty = sp.presence_penalty;
    p->seed = EL_SEED_RANDOM;
}

/* The public sampler is sample/'s sampler itself (same struct); open converts the public
 * parameters, pick samples and records the token for the penalties. */
el_sampler *el_sampler_open(const el_model *m, const el_sampling *p, char *err, size_t errlen) {
    el_sampler_params sp;
    el_sampler_params_default(&sp);
    sp.temp = p->temp;
    sp.top_k = p->top_k;
    sp.top_p = p->top_p;
    sp.min_p = p->min_p;
    sp.repeat_penalty = p->repeat_penalty;
    sp.penalty_last_n = p->penalty_last_n;
    sp.frequency_penalty = p->frequency_penalty;
    sp.presence_penalty = p->presence_penalty;
    sp.seed = p->seed; /* EL_SEED_RANDOM is resolved by the sampler */
    return el_sampler_new(&sp, m->hp.n_vocab, err, errlen);
}

void el_sampler_close(el_sampler *s) { el_sampler_free(s); }

el_token el_sampler_pick(el_sampler *s, const float *logits) {
    el_token t = el_sampler_sample(s, logits);
    if (t >= 0) el_sampler_accept(s, t);
    return t;
}

void el_sampler_add_history(el_sampler *s, el_token t) { el_sampler_accept(s, t); }

float el_token_logprob(const el_model *m, const float *logits, el_token t) {
    return el_logprob_of(logits, m->hp.n_vocab, t);
}

int el_token_top_logprobs(const el_model *m, const float *logits, int k, el_token *ids,
                          float *lps) {
    return el_top_logprobs(logits, m->hp.n_vocab, k, ids, lps);
}

/* ---- chat templates -------------------------------------------------------------- */

int el_chat_render(const el_model *m, const char *messages_json, const char *tools_json,
                   const el_chat_opts *opts, char **out, char *err, size_t errlen) {
    *out = NULL;
    if (!m->tmpl) return el_errf(err, errlen, "chat template: %s", m->tmpl_err);
    char bos[64] = "", eos[64] = "";
    el_token b = el_tok_bos(m->tok), e = el_tok_eos(m->tok);
    if (b >= 0) {
        int n = el_tok_piece(m->tok, b, true, bos, (int)sizeof bos - 1);
        bos[n >= 0 && n < (int)sizeof bos ? n : 0] = 0;
    }
    if (e >= 0) {
        int n = el_tok_piece(m->tok, e, true, eos, (int)sizeof eos - 1);
        eos[n >= 0 && n < (int)sizeof eos ? n : 0] = 0;
    }
    el_tmpl_opts to = {
        .add_generation_prompt = opts ? opts->add_generation_prompt : true,
        .enable_thinking = opts ? opts->enable_thinking : -1,
        .bos_token = bos,
        .eos_token = eos,
    };
    return el_tmpl_render(m->tmpl, messages_json, tools_json, &to, out, err, errlen) < 0 ? -1 : 0;
}

/* ---- chat templates as objects --------------------------------------------------- */

struct el_chat_template {
    el_tmpl *t;
    char *src;     /* the Jinja text, NUL-terminated */
    char bos[64];  /* the model's BOS/EOS text for bos_token/eos_token */
    char eos[64];
};

el_chat_template *el_chat_template_open(const el_model *m, const char *src, size_t len, char *err,
                                        size_t errlen) {
    el_gstr own = {0};
    if (!src) {
        if (el_gguf_get_str(m->g, "tokenizer.chat_template", &own) != 0) {
            el_errf(err, errlen, "the model has no chat template");
            return NULL;
        }
        src = own.s;
        len = (size_t)own.n;
    }
    el_chat_template *c = calloc(1, sizeof *c);
    if (!c || !(c->src = malloc(len + 1))) {
        free(c);
        el_errf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(c->src, src, len);
    c->src[len] = 0;
    c->t = el_tmpl_parse(c->src, len, err, errlen);
    if (!c->t) {
        free(c->src);
        free(c);
        return NULL;
    }
    el_token b = el_tok_bos(m->tok), e = el_tok_eos(m->tok);
    if (b >= 0) {
        int n = el_tok_piece(m->tok, b, true, c->bos, (int)sizeof c->bos - 1);
        c->bos[n >= 0 && n < (int)sizeof c->bos ? n : 0] = 0;
    }
    if (e >= 0) {
        int n = el_tok_piece(m->tok, e, true, c->eos, (int)sizeof c->eos - 1);
        c->eos[n >= 0 && n < (int)sizeof c->eos ? n : 0] = 0;
    }
    return c;
}

void el_chat_template_close(el_chat_template *c) {
    if (!c) return;
    el_tmpl_free(c->t);
    free(c->src);
    free(c);
}

int el_chat_template_render(const el_chat_template *c, const char *messages_json,
                            const char *tools_json, const el_chat_opts *opts, char **out,
                            char *err, size_t errlen) {
    *out = NULL;
    el_tmpl_opts to = {
        .add_generation_prompt = opts ? opts->add_generation_prompt : true,
        .enable_thinking = opts ? opts->enable_thinking : -1,
        .bos_token = c->bos,
        .eos_token = c->eos,
    };
    return el_tmpl_render(c->t, messages_json, tools_json, &to, out, err, errlen) < 0 ? -1 : 0;
}

const char *el_chat_template_source(const el_chat_template *c) { return c->src; }
