/* server/engine.c — the engine worker: the one thread that owns the session.
 *
 * The session has n_slots sequences; each slot is one sequence and serves one request at a
 * time. Every step the worker
 *   1. admits queued jobs into idle slots — each to the idle slot whose cached tokens share
 *      the longest prefix with its prompt (the next turn of a chat finds its previous turn),
 *      truncating that sequence to the common prefix so only new tokens are prefilled;
 *   2. drops jobs whose client went away or whose time is up (their slot is free again
 *      within this step);
 *   3. builds ONE batch: the next token of every decoding slot, then prefill chunks of
 *      admitted slots up to n_batch tokens (decoding slots come first so streams stay smooth
 *      while a long prompt is being read);
 *   4. runs one el_session_decode over it;
 *   5. samples each slot that got logits (logit bias, JSON/tool grammar mask, sampler
 *      chain), detokenizes, applies stop strings and hands the text to the job.
 * A slot keeps its token history after its job ends: that cache is what prefix reuse finds.
 *
 * Threads: connection threads only call srv_engine_submit (under mu); everything else on
 * slots and the session runs on the worker. Jobs' outputs are written under each job's own
 * mutex. Memory: slots, batch arrays, logit scratch and the vocabulary index are allocated
 * at start; per request the worker allocates a sampler and stop matcher (freed when the
 * request ends). The decode step itself allocates nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "server/server.h"

typedef enum { SLOT_IDLE, SLOT_NEW, SLOT_PREFILL, SLOT_DECODE } slot_state;

typedef struct slot {
    int32_t id; /* sequence id */
    slot_state state;
    srv_job *job;
    el_token *hist; /* (n_ctx) tokens in this sequence's cache, in order */
    int32_t n_hist;
    int32_t n_chunk; /* prompt tokens in the current batch */
    el_token next;   /* sampled, decoded in the next step */
    uint64_t last_used;
    el_sampler *smp;
    el_detok *dt_plain, *dt_special, *dt;
    el_stop *stop;
    bool stop_hit;
    bool constrained;
    bool lazy_armed; /* watching the output for the job's lazy trigger */
    char tail[64];   /* the last bytes of output while armed */
    int n_tail;
    el_jc_state jc;
} slot;

struct srv_engine {
    el_model *m;
    el_session *s;
    srv_engine_params p;
    int32_t n_ctx, n_vocab;
    slot *slots;
    /* batch scratch (n_batch) */
    el_token *b_tok;
    int32_t *b_pos, *b_seq;
    bool *b_logits;
    slot **out_slot; /* (n_slots) slot of each output row */
    float *sa, *sb;  /* (n_vocab) logit scratch: biased copy, masked copy */
    el_jc_vocab *jv;
    /* queue and state, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv, cv_idle;
    srv_job **q;
    int32_t q_cap, q_head, q_n;
    int32_t n_busy;
    bool stop, draining, abort_all;
    int32_t rr; /* prefill round robin */
    uint64_t clock;
    srv_stats st;
    pthread_t th;
    bool th_started;
};

/* ---- jobs ---------------------------------------------------------------------------- */

srv_job *srv_job_new(void) {
    srv_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    atomic_init(&j->refs, 1);
    atomic_init(&j->cancel, false);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    return j;
}

void srv_job_unref(srv_job *j) {
    if (!j || atomic_fetch_sub(&j->refs, 1) != 1) return;
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    if (j->req) {
        el_req_free(j->req);
        free(j->req);
    }
    free(j->prompt);
    el_jc_free(j->grammar);
    el_jc_free(j->lazy);
    free(j->text);
    free(j->lps);
    free(j);
}

/* appends under the job's lock; allocation failure drops the text (never blocks the loop) */
static void job_emit(srv_job *j, const char *s, size_t n, const srv_lp *lp) {
    pthread_mutex_lock(&j->mu);
    if (n) {
        if (j->n_text + n > j->cap_text) {
            size_t cap = j->cap_text ? j->cap_text * 2 : 256;
            while (cap < j->n_text + n)
                cap *= 2;
            char *t = realloc(j->text, cap);
            if (t) {
                j->text = t;
                j->cap_text = cap;
            }
        }
        if (j->n_text + n <= j->cap_text) {
            memcpy(j->text + j->n_text, s, n);
            j->n_text += n;
        }
    }
    if (lp) {
        if (j->n_lps == j->cap_lps) {
            int32_t cap = j->cap_lps ? j->cap_lps * 2 : 16;
            srv_lp *l = realloc(j->lps, (size_t)cap * sizeof *l);
            if (l) {
                j->lps = l;
                j->cap_lps = cap;
            }
        }
        if (j->n_lps < j->cap_lps) j->lps[j->n_lps++] = *lp;
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* ---- vocabulary for the grammar mask ---- */

static int vocab_text(void *u, int32_t id, char *buf, int cap) {
    /* as chat output prints it (special tokens included: a model may spell its tool and
     * think markers with control tokens, and the grammar must see what the client sees) */
    return el_token_text((const el_model *)u, id, true, buf, cap);
}
static bool vocab_eog(void *u, int32_t id) {
    return el_token_is_eog((const el_model *)u, id);
}

/* ---- slots -------------------------------------------------------------------------- */

static int32_t common_prefix(const el_token *a, int32_t na, const el_token *b, int32_t nb) {
    int32_t n = EL_MIN(na, nb), i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

static void finish(srv_engine *e, slot *sl, srv_finish why, const char *msg) {
    srv_job *j = sl->job;
    if ((why == SRV_FINISH_STOP || why == SRV_FINISH_LENGTH) && !sl->stop_hit && sl->dt) {
        const char *s;
        int n = el_detok_flush(sl->dt, &s);
        if (n > 0) {
            if (sl->stop) {
                const char *emit;
                int hit = 0;
                int k = el_stop_push(sl->stop, s, (size_t)n, &emit, &hit);
                if (k > 0) job_emit(j, emit, (size_t)k, NULL);
                sl->stop_hit = hit != 0;
            } else {
                job_emit(j, s, (size_t)n, NULL);
            }
        }
        if (sl->stop && !sl->stop_hit) {
            n = el_stop_flush(sl->stop, &s);
            if (n > 0) job_emit(j, s, (size_t)n, NULL);
        }
    }
    el_sampler_close(sl->smp);
    sl->smp = NULL;
    el_stop_free(sl->stop);
    sl->stop = NULL;
    sl->job = NULL;
    sl->state = SLOT_IDLE;
    sl->constrained = false;
    sl->lazy_armed = false;

    /* the engine's counters first, so whoever sees the job finished sees them counted */
    double now = el_now();
    pthread_mutex_lock(&e->mu);
    sl->last_used = ++e->clock;
    e->n_busy--;
    if (why == SRV_FINISH_CANCELLED)
        e->st.jobs_cancelled++;
    else
        e->st.jobs_done++;
    e->st.prompt_tokens += (uint64_t)j->n_prompt;
    e->st.prompt_tokens_cached += (uint64_t)j->n_cached;
    e->st.gen_tokens += (uint64_t)j->n_gen;
    if (j->t_first > 0) {
        e->st.ttft_sum_s += j->t_first - j->t_submit;
        e->st.ttft_count++;
    }
    pthread_cond_broadcast(&e->cv_idle);
    pthread_mutex_unlock(&e->mu);

    pthread_mutex_lock(&j->mu);
    j->finish = why;
    if (msg) snprintf(j->error, sizeof j->error, "%s", msg);
    j->t_end = now;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    srv_job_unref(j);
}

/* A job that never reached a slot (cancelled or aborted while queued). Called without mu. */
static void finish_unadmitted(srv_engine *e, srv_job *j, srv_finish why) {
    pthread_mutex_lock(&e->mu);
    if (why == SRV_FINISH_CANCELLED)
        e->st.jobs_cancelled++;
    else
        e->st.jobs_done++;
    pthread_cond_broadcast(&e->cv_idle);
    pthread_mutex_unlock(&e->mu);
    pthread_mutex_lock(&j->mu);
    j->finish = why;
    j->t_end = el_now();
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    srv_job_unref(j);
}

/* Under mu: moves queued jobs into idle slots (state SLOT_NEW). Cancelled jobs are returned
 * in drop[] for the caller to finish outside the lock. */
static int admit_locked(srv_engine *e, srv_job **drop, int cap_drop) {
    int n_drop = 0;
    while (e->q_n > 0) {
        srv_job *j = e->q[e->q_head];
        if (atomic_load(&j->cancel) || e->abort_all) {
            if (n_drop == cap_drop) break;
            drop[n_drop++] = j;
            e->q_head = (e->q_head + 1) % e->q_cap;
            e->q_n--;
            continue;
        }
        slot *best = NULL;
        int32_t best_lcp = -1;
        for (int32_t i = 0; i < e->p.n_slots; i++) {
            slot *sl = &e->slots[i];
            if (sl->state != SLOT_IDLE) continue;
            int32_t l = common_prefix(sl->hist, sl->n_hist, j->prompt, j->n_prompt);
            if (l > best_lcp || (l == best_lcp && sl->last_used < best->last_used)) {
                best = sl;
                best_lcp = l;
            }
        }
        if (!best) break;
        e->q_head = (e->q_head + 1) % e->q_cap;
        e->q_n--;
        best->job = j;
        best->state = SLOT_NEW;
        e->n_busy++;
    }
    return n_drop;
}

/* Sets up a slot in SLOT_NEW for its job (worker thread, no lock). */
static void slot_start(srv_engine *e, slot *sl) {
    srv_job *j = sl->job;
    char err[256];
    int32_t common = common_prefix(sl->hist, sl->n_hist, j->prompt, j->n_prompt);
    if (common >= j->n_prompt) common = j->n_prompt - 1; /* decode the last one for logits */
    el_session_seq_truncate(e->s, sl->id, common);
    sl->n_hist = common;
    sl->stop_hit = false;
    sl->state = SLOT_PREFILL;
    j->n_cached = common;
    j->t_start = el_now();
    sl->smp = el_sampler_open(e->m, &j->req->sampling, err, sizeof err);
    if (!sl->smp) {
        finish(e, sl, SRV_FINISH_ERROR, err);
        return;
    }
    if (j->req->n_stops) {
        sl->stop =
            el_stop_new((const char *const *)j->req->stops, j->req->n_stops, err, sizeof err);
        if (!sl->stop) {
            finish(e, sl, SRV_FINISH_ERROR, err);
            return;
        }
    }
    sl->dt = j->detok_special ? sl->dt_special : sl->dt_plain;
    el_detok_reset(sl->dt);
    sl->constrained = j->grammar != NULL;
    if (sl->constrained) el_jc_init(&sl->jc, j->grammar);
    sl->lazy_armed = !sl->constrained && j->lazy && j->lazy_trigger;
    sl->n_tail = 0;
}

/* tool_choice auto: keeps the last bytes of output; once they end in the trigger (e.g.
 * "<tool_call>"), the tool-call grammar takes over from the trigger on, so the call the model
 * has started is completed as valid JSON for one of the declared tools. If what follows the
 * trigger in the same token does not fit, the model goes on unconstrained. */
static void lazy_watch(slot *sl, const srv_job *j, const char *s, int n) {
    const size_t cap = sizeof sl->tail, tl = strlen(j->lazy_trigger);
    if ((size_t)n >= cap) {
        s += (size_t)n - (cap - 1);
        n = (int)(cap - 1);
    }
    if ((size_t)(sl->n_tail + n) > cap) {
        size_t drop = (size_t)(sl->n_tail + n) - cap;
        memmove(sl->tail, sl->tail + drop, (size_t)sl->n_tail - drop);
        sl->n_tail -= (int)drop;
    }
    memcpy(sl->tail + sl->n_tail, s, (size_t)n);
    sl->n_tail += n;
    for (int at = 0; at + (int)tl <= sl->n_tail; at++) {
        if (memcmp(sl->tail + at, j->lazy_trigger, tl)) continue;
        el_jc_init(&sl->jc, j->lazy);
        if (el_jc_feed(&sl->jc, sl->tail + at, (size_t)(sl->n_tail - at)) == 0) {
            sl->constrained = true;
            sl->lazy_armed = false;
        }
        sl->n_tail = 0;
        return;
    }
}

/* Samples the slot's next token from logits L and delivers its text. */
static void slot_sample(srv_engine *e, slot *sl, const float *L) {
    srv_job *j = sl->job;
    const el_req *r = j->req;
    const float *use = L;
    if (r->n_bias || r->ignore_eos) {
        memcpy(e->sa, L, (size_t)e->n_vocab * sizeof *e->sa);
        for (int32_t i = 0; i < r->n_bias; i++)
            e->sa[r->bias_ids[i]] =
                r->bias_vals[i] <= -100 ? -INFINITY : e->sa[r->bias_ids[i]] + r->bias_vals[i];
        if (r->ignore_eos) {
            const int32_t *eog;
            int32_t n_eog = el_jc_vocab_eog(e->jv, &eog);
            for (int32_t i = 0; i < n_eog; i++)
                e->sa[eog[i]] = -INFINITY;
        }
        use = e->sa;
    }
    if (sl->constrained) {
        int allowed = el_jc_mask(&sl->jc, e->jv, use, e->sb, 32);
        if (allowed == 0) { /* nothing fits (e.g. all fitting tokens banned): end here */
            finish(e, sl, SRV_FINISH_STOP, NULL);
            return;
        }
        use = e->sb;
    }
    el_token t = el_sampler_pick(sl->smp, use);
    if (t < 0) {
        finish(e, sl, SRV_FINISH_STOP, NULL);
        return;
    }
    double now = el_now();
    if (j->t_first == 0) j->t_first = now;
    srv_lp lp, *lpp = NULL;
    if (r->logprobs) {
        lp.id = t;
        lp.lp = el_token_logprob(e->m, L, t);
        lp.n_top = 0;
        if (r->top_logprobs > 0) {
            int k = el_token_top_logprobs(e->m, L, r->top_logprobs, lp.top_id, lp.top_lp);
            lp.n_top = EL_MAX(0, EL_MIN(k, r->top_logprobs));
        }
        lpp = &lp;
    }
    if (el_token_is_eog(e->m, t) && !r->ignore_eos) {
        j->n_gen++;
        finish(e, sl, SRV_FINISH_STOP, NULL);
        return;
    }
    j->n_gen++;
    char buf[512];
    int tn = 0;
    if (sl->constrained || sl->lazy_armed) {
        tn = el_token_text(e->m, t, true, buf, (int)sizeof buf);
        if (tn < 0 || tn > (int)sizeof buf) tn = sl->constrained ? -1 : 0;
    }
    if (sl->constrained && (tn < 0 || el_jc_feed(&sl->jc, buf, (size_t)tn) != 0)) {
        finish(e, sl, SRV_FINISH_ERROR, "constrained decoding lost track of the output");
        return;
    }
    if (sl->lazy_armed && tn > 0) lazy_watch(sl, j, buf, tn);
    const char *s;
    int n = el_detok_push(sl->dt, t, &s);
    if (sl->stop) {
        const char *emit;
        int hit = 0;
        int k = n > 0 ? el_stop_push(sl->stop, s, (size_t)n, &emit, &hit) : 0;
        job_emit(j, k > 0 ? emit : "", k > 0 ? (size_t)k : 0, lpp);
        if (hit) {
            sl->stop_hit = true;
            finish(e, sl, SRV_FINISH_STOP, NULL);
            return;
        }
    } else {
        job_emit(j, s, n > 0 ? (size_t)n : 0, lpp);
    }
    if (sl->constrained && el_jc_done(&sl->jc)) {
        if (j->grammar || j->lazy_once) { /* the whole answer, or the one call wanted */
            finish(e, sl, SRV_FINISH_STOP, NULL);
            return;
        }
        sl->constrained = false; /* a lazy call is complete: free text again, re-armed */
        sl->lazy_armed = true;
        sl->n_tail = 0;
    }
    if (j->n_gen >= j->max_tokens || sl->n_hist >= e->n_ctx) {
        finish(e, sl, SRV_FINISH_LENGTH, NULL);
        return;
    }
    sl->next = t;
    sl->state = SLOT_DECODE;
}

/* One step: drop, batch, decode, sample. */
static void step(srv_engine *e, bool abort_all) {
    double now = el_now();
    for (int32_t i = 0; i < e->p.n_slots; i++) {
        slot *sl = &e->slots[i];
        if (sl->state == SLOT_NEW) slot_start(e, sl);
        if (!sl->job) continue;
        if (abort_all || now > sl->job->deadline)
            finish(e, sl, SRV_FINISH_LENGTH, NULL);
        else if (atomic_load(&sl->job->cancel))
            finish(e, sl, SRV_FINISH_CANCELLED, NULL);
    }
    int32_t n = 0, n_out = 0, n_dec = 0;
    for (int32_t i = 0; i < e->p.n_slots; i++) {
        slot *sl = &e->slots[i];
        if (sl->state != SLOT_DECODE) continue;
        e->b_tok[n] = sl->next;
        e->b_pos[n] = sl->n_hist;
        e->b_seq[n] = sl->id;
        e->b_logits[n] = true;
        e->out_slot[n_out++] = sl;
        sl->n_chunk = 1;
        n++;
    }
    n_dec = n;
    for (int32_t k = 0; k < e->p.n_slots && n < e->p.n_batch; k++) {
        slot *sl = &e->slots[(e->rr + k) % e->p.n_slots];
        if (sl->state != SLOT_PREFILL) continue;
        srv_job *j = sl->job;
        int32_t rem = j->n_prompt - sl->n_hist;
        int32_t take = EL_MIN(rem, e->p.n_batch - n);
        for (int32_t t = 0; t < take; t++) {
            e->b_tok[n] = j->prompt[sl->n_hist + t];
            e->b_pos[n] = sl->n_hist + t;
            e->b_seq[n] = sl->id;
            e->b_logits[n] = take == rem && t == take - 1;
            n++;
        }
        sl->n_chunk = take;
        if (take == rem) e->out_slot[n_out++] = sl;
    }
    e->rr = (e->rr + 1) % e->p.n_slots;
    if (n == 0) return;
    char err[256];
    el_batch b = {
        .n = n, .tokens = e->b_tok, .pos = e->b_pos, .seq = e->b_seq, .logits = e->b_logits};
    double t0 = el_now();
    if (el_session_decode(e->s, &b, err, sizeof err) != 0) {
        el_log(EL_LOG_ERROR, "serve: decode: %s", err);
        for (int32_t i = 0; i < e->p.n_slots; i++) {
            slot *sl = &e->slots[i];
            if (sl->state == SLOT_DECODE || sl->state == SLOT_PREFILL)
                finish(e, sl, SRV_FINISH_ERROR, err);
        }
        return;
    }
    double dt = el_now() - t0;
    /* the caches now hold the batch: extend each slot's history */
    for (int32_t i = 0; i < e->p.n_slots; i++) {
        slot *sl = &e->slots[i];
        if (sl->state == SLOT_DECODE) {
            sl->hist[sl->n_hist++] = sl->next;
        } else if (sl->state == SLOT_PREFILL && sl->n_chunk > 0) {
            memcpy(sl->hist + sl->n_hist, sl->job->prompt + sl->n_hist,
                   (size_t)sl->n_chunk * sizeof *sl->hist);
            sl->n_hist += sl->n_chunk;
        }
        sl->n_chunk = 0;
    }
    pthread_mutex_lock(&e->mu);
    e->st.decode_s += dt * n_dec / n;
    e->st.prefill_s += dt * (n - n_dec) / n;
    e->st.prefill_tokens += (uint64_t)(n - n_dec);
    e->st.decode_tokens += (uint64_t)n_dec;
    pthread_mutex_unlock(&e->mu);
    if (el_session_n_outputs(e->s) != n_out) {
        el_log(EL_LOG_ERROR, "serve: decode returned %d outputs, expected %d",
               el_session_n_outputs(e->s), n_out);
        return;
    }
    for (int32_t i = 0; i < n_out; i++) {
        slot *sl = e->out_slot[i];
        if (!sl->job) continue;
        const float *L = el_session_logits(e->s, i);
        if (!L) {
            finish(e, sl, SRV_FINISH_ERROR, "no logits");
            continue;
        }
        slot_sample(e, sl, L);
    }
}

static void *engine_main(void *arg) {
    srv_engine *e = arg;
    srv_job *drop[64];
    for (;;) {
        pthread_mutex_lock(&e->mu);
        while (!e->stop && !e->abort_all && e->q_n == 0 && e->n_busy == 0)
            pthread_cond_wait(&e->cv, &e->mu);
        if (e->stop && e->q_n == 0 && e->n_busy == 0) {
            pthread_mutex_unlock(&e->mu);
            break;
        }
        bool abort_all = e->abort_all;
        int n_drop = admit_locked(e, drop, (int)EL_ARRAY_LEN(drop));
        if (abort_all && e->q_n == 0) e->abort_all = false;
        e->st.queue_depth = e->q_n;
        e->st.slots_busy = e->n_busy;
        pthread_mutex_unlock(&e->mu);
        for (int i = 0; i < n_drop; i++)
            finish_unadmitted(e, drop[i], abort_all ? SRV_FINISH_LENGTH : SRV_FINISH_CANCELLED);
        step(e, abort_all);
    }
    return NULL;
}

/* ---- public -------------------------------------------------------------------------- */

srv_engine *srv_engine_new(el_model *m, const srv_engine_params *p, char *err, size_t errlen) {
    srv_engine *e = calloc(1, sizeof *e);
    if (!e) {
        el_errf(err, errlen, "out of memory");
        return NULL;
    }
    e->m = m;
    e->p = *p;
    if (e->p.n_slots < 1) e->p.n_slots = 1;
    if (e->p.n_batch < 1) e->p.n_batch = 512;
    if (e->p.n_batch < e->p.n_slots) e->p.n_batch = e->p.n_slots;
    if (e->p.queue_max < 0) e->p.queue_max = 0;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    pthread_cond_init(&e->cv_idle, NULL);
    el_session_params sp;
    el_session_params_default(&sp);
    sp.n_ctx = p->n_ctx;
    sp.n_seq = e->p.n_slots;
    sp.n_batch = e->p.n_batch;
    sp.n_outputs = e->p.n_slots;
    sp.n_threads = p->n_threads;
    sp.type_k = p->type_k;
    sp.type_v = p->type_v;
    e->s = el_session_open(m, &sp, err, errlen);
    if (!e->s) goto fail;
    e->n_ctx = el_session_n_ctx(e->s);
    el_model_desc d;
    el_model_describe(m, &d);
    e->n_vocab = d.n_vocab;
    size_t B = (size_t)e->p.n_batch, S = (size_t)e->p.n_slots;
    e->slots = calloc(S, sizeof *e->slots);
    e->b_tok = malloc(B * sizeof *e->b_tok);
    e->b_pos = malloc(B * sizeof *e->b_pos);
    e->b_seq = malloc(B * sizeof *e->b_seq);
    e->b_logits = malloc(B * sizeof *e->b_logits);
    e->out_slot = malloc(S * sizeof *e->out_slot);
    e->sa = malloc((size_t)e->n_vocab * sizeof *e->sa);
    e->sb = malloc((size_t)e->n_vocab * sizeof *e->sb);
    e->q_cap = e->p.queue_max + e->p.n_slots;
    e->q = malloc((size_t)e->q_cap * sizeof *e->q);
    if (!e->slots || !e->b_tok || !e->b_pos || !e->b_seq || !e->b_logits || !e->out_slot ||
        !e->sa || !e->sb || !e->q) {
        el_errf(err, errlen, "out of memory");
        goto fail;
    }
    for (int32_t i = 0; i < e->p.n_slots; i++) {
        slot *sl = &e->slots[i];
        sl->id = i;
        sl->hist = malloc((size_t)e->n_ctx * sizeof *sl->hist);
        sl->dt_plain = el_detok_new(m, false);
        sl->dt_special = el_detok_new(m, true);
        if (!sl->hist || !sl->dt_plain || !sl->dt_special) {
            el_errf(err, errlen, "out of memory");
            goto fail;
        }
    }
    e->jv = el_jc_vocab_new(e->n_vocab, vocab_text, vocab_eog, m, err, errlen);
    if (!e->jv) goto fail;
    e->st.n_slots = e->p.n_slots;
    e->st.kv_bytes = el_session_kv_bytes(e->s);
    if (pthread_create(&e->th, NULL, engine_main, e) != 0) {
        el_errf(err, errlen, "cannot start the engine thread");
        goto fail;
    }
    e->th_started = true;
    return e;
fail:
    srv_engine_free(e);
    return NULL;
}

int srv_engine_submit(srv_engine *e, srv_job *j) {
    pthread_mutex_lock(&e->mu);
    if (e->draining || e->stop) {
        pthread_mutex_unlock(&e->mu);
        return -2;
    }
    int32_t idle = e->p.n_slots - e->n_busy;
    if (e->q_n >= e->p.queue_max + idle || e->q_n >= e->q_cap) {
        pthread_mutex_unlock(&e->mu);
        return -1;
    }
    atomic_fetch_add(&j->refs, 1);
    e->q[(e->q_head + e->q_n) % e->q_cap] = j;
    e->q_n++;
    e->st.queue_depth = e->q_n;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return 0;
}

int srv_engine_drain(srv_engine *e, double timeout_s) {
    pthread_mutex_lock(&e->mu);
    e->draining = true;
    double end = el_now() + timeout_s;
    while ((e->q_n > 0 || e->n_busy > 0) && el_now() < end) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&e->cv_idle, &e->mu, &ts);
    }
    int left = e->q_n + e->n_busy;
    pthread_mutex_unlock(&e->mu);
    return left;
}

void srv_engine_abort(srv_engine *e) {
    pthread_mutex_lock(&e->mu);
    e->abort_all = true;
    e->draining = true;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

void srv_engine_free(srv_engine *e) {
    if (!e) return;
    if (e->th_started) {
        pthread_mutex_lock(&e->mu);
        e->stop = true;
        e->abort_all = true;
        pthread_cond_signal(&e->cv);
        pthread_mutex_unlock(&e->mu);
        pthread_join(e->th, NULL);
    }
    if (e->slots)
        for (int32_t i = 0; i < e->p.n_slots; i++) {
            free(e->slots[i].hist);
            el_detok_free(e->slots[i].dt_plain);
            el_detok_free(e->slots[i].dt_special);
            el_sampler_close(e->slots[i].smp);
            el_stop_free(e->slots[i].stop);
        }
    free(e->slots);
    free(e->b_tok);
    free(e->b_pos);
    free(e->b_seq);
    free(e->b_logits);
    free(e->out_slot);
    free(e->sa);
    free(e->sb);
    free(e->q);
    el_jc_vocab_free(e->jv);
    el_session_close(e->s);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    pthread_cond_destroy(&e->cv_idle);
    free(e);
}

int32_t srv_engine_n_ctx(const srv_engine *e) {
    return e->n_ctx;
}

void srv_engine_stats(srv_engine *e, srv_stats *out) {
    pthread_mutex_lock(&e->mu);
    *out = e->st;
    out->queue_depth = e->q_n;
    out->slots_busy = e->n_busy;
    pthread_mutex_unlock(&e->mu);
}
