/* sample/sample.h — token samplers: logit bias, repetition/frequency/presence penalties,
 * top-k, typical, top-p, min-p, temperature, and a seeded draw; plus log-softmax helpers for
 * logprobs. Internal API: the engine wraps it in include/edgellm.h.
 *
 * Chain order (llama.cpp's default, so the same flags give the same distribution):
 *   logit bias -> penalties -> top-k -> typical -> top-p -> min-p -> temperature -> draw
 * temp <= 0 is greedy: argmax after bias and penalties (ties -> lowest id); the truncation
 * samplers are skipped then (top-k/top-p/min-p always keep the argmax anyway; typical is the
 * one that could drop it, and is ignored in greedy mode) and no random number is consumed.
 *
 * Logits: -inf means "never". NaN logits are treated as -inf (never chosen, never an error:
 * one bad value in 150k should not kill a request). +inf logits are allowed: when any
 * survivor is +inf, the +inf survivors share all the probability equally.
 * el_sampler_sample returns -1 only when no token has a logit above -inf.
 *
 * Memory: el_sampler_new allocates everything (one candidate per vocab entry, penalty
 * counters, the penalty window); sample/accept/reset never allocate.
 * Threads: a sampler is used by one thread at a time.
 */
#ifndef EL_SAMPLE_H
#define EL_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

/* seed value meaning "pick a seed from the OS (getrandom/urandom, time as a last resort)".
 * el_sampler_new resolves it once (see el_sampler_seed); callers that need the seed
 * themselves can call el_seed_random(). Same value as llama.cpp's LLAMA_DEFAULT_SEED so
 * "-s -1"-style user input maps over unchanged after a cast to uint32. */
#define EL_SEED_RANDOM 0xFFFFFFFFu

typedef struct el_logit_bias {
    int32_t id;
    float bias; /* added to the logit; -INFINITY bans the token */
} el_logit_bias;

typedef struct el_sampler_params {
    float temp;              /* <= 0: greedy (argmax, ties -> lowest id); must be finite */
    int32_t top_k;           /* <= 0: off */
    float top_p;             /* >= 1: off; must be >= 0 */
    float min_p;             /* <= 0: off; must be <= 1 (p_i >= min_p * p_max survives) */
    float typical_p;         /* >= 1: off; must be >= 0 */
    float repeat_penalty;    /* 1: off; > 0 (positive logits divided, negative multiplied) */
    int32_t penalty_last_n;  /* window of accepted tokens for all penalties: -1 = whole history
                                since reset, 0 = penalties off */
    float frequency_penalty; /* OpenAI: logit -= count * frequency_penalty */
    float presence_penalty;  /* OpenAI: logit -= (count > 0) * presence_penalty */
    uint64_t seed;           /* EL_SEED_RANDOM: from the OS */
    const el_logit_bias *logit_bias; /* (n_logit_bias) pairs, copied by el_sampler_new */
    int32_t n_logit_bias;
} el_sampler_params;

/* One candidate token. After el_sampler_sample, el_sampler_candidates shows the survivors
 * of the chain with their final (post-temperature) logits and probabilities. */
typedef struct el_token_prob {
    int32_t id;
    float logit;
    float p;
    float aux; /* scratch (typical's score); meaningless to callers */
} el_token_prob;

typedef struct el_sampler el_sampler;

/* llama.cpp's defaults: temp 0.8, top_k 40, top_p 0.95, min_p 0.05, typical 1 (off),
 * repeat 1.0 (off), last_n 64, frequency/presence 0, seed EL_SEED_RANDOM, no bias. */
void el_sampler_params_default(el_sampler_params *p);

/* Validates p (one-line error naming the bad field) and allocates the sampler for a vocab
 * of n_vocab tokens. */
el_sampler *el_sampler_new(const el_sampler_params *p, int32_t n_vocab, char *err, size_t errlen);
void el_sampler_free(el_sampler *s);

/* Picks a token from logits[0..n_vocab). Does not allocate and does not modify logits.
 * Returns the token id, or -1 when every logit is -inf/NaN (after bias). Does not record the
 * token: call el_sampler_accept with whatever token is actually kept. */
int32_t el_sampler_sample(el_sampler *s, const float *logits);

/* Records a token in the penalty history. Ids outside [0, n_vocab) are ignored. */
void el_sampler_accept(el_sampler *s, int32_t token);

/* Clears the history and restarts the random sequence from the sampler's seed (so a reset
 * sampler replays the same draws for the same logits). */
void el_sampler_reset(el_sampler *s);

/* The seed actually in use (EL_SEED_RANDOM resolved). */
uint64_t el_sampler_seed(const el_sampler *s);

/* Survivors of the last el_sampler_sample call: *out points into the sampler, valid until
 * the next sample/reset/free. Order: by probability descending when top-p ran, otherwise
 * unspecified. Greedy leaves one candidate with p = 1. Returns the count (0 before any
 * sample or after a -1 result). */
int32_t el_sampler_candidates(const el_sampler *s, const el_token_prob **out);

/* A seed from getrandom()/dev/urandom, falling back to time and address entropy. Never
 * returns EL_SEED_RANDOM. */
uint64_t el_seed_random(void);

/* ---- log-softmax for logprobs (raw logits, no sampler state) ---------------------------
 * NaN logits count as -inf. Sums are done in double. */

/* log p(id) under softmax(logits). -INFINITY for a -inf/NaN logit (or when all are -inf),
 * NAN for an id outside [0, n_vocab) or n_vocab <= 0. */
float el_logprob_of(const float *logits, int32_t n_vocab, int32_t id);

/* The k most likely tokens (ids[], lps[] hold k entries, caller-owned), most likely first,
 * ties by lower id. Tokens whose logit is -inf/NaN are never listed. O(n log k), no
 * allocation. Returns the number written (<= k), or -1 for bad arguments. */
int el_top_logprobs(const float *logits, int32_t n_vocab, int k, int32_t *ids, float *lps);

#endif
