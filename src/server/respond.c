/* server/respond.c — a job's output → OpenAI response bodies and SSE chunks.
 *
 * Generated text goes through the <think> splitter (chat), then the tool-call parser (chat
 * with tools), and comes out as deltas of three kinds: content, reasoning_content, tool
 * calls (name, then argument text). Streaming coalesces consecutive deltas of one kind fed
 * in one call into one chunk (one chunk per decode step and kind, in order); non-streaming
 * accumulates them into one message. Logprobs travel with the chunk of the step that made
 * them. Formats follow OpenAI's chat.completion(.chunk) and text_completion objects, plus
 * llama.cpp's `timings` and `reasoning_content`.
 *
 * JSON is written by hand here (output only — parsing is cJSON's job): strings are escaped
 * and any invalid UTF-8 (a token piece cut inside a character) becomes U+FFFD, so every
 * byte sent is valid JSON in valid UTF-8.
 *
 * Memory: growable buffers per response, freed with it.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "server/reasoning.h"
#include "server/server.h"
#include "server/toolcall.h"

/* ---- string builder ------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_reserve(sbuf *b, size_t more) {
    if (b->n + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return; /* writes below check the capacity */
    b->p = p;
    b->cap = cap;
}

static void sb_put(sbuf *b, const char *s, size_t n) {
    sb_reserve(b, n);
    if (b->n + n + 1 > b->cap) return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) {
    sb_put(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, ...) EL_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_put(b, tmp, (size_t)EL_MIN(n, (int)sizeof tmp - 1));
}

static void sb_free(sbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* JSON string literal of s[0..n), quotes included */
static void sb_json(sbuf *b, const char *s, size_t n) {
    sb_reserve(b, n + n / 8 + 2);
    sb_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        size_t adv = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20) {
            snprintf(u, sizeof u, "\\u%04x", c);
            esc = u;
        } else if (c >= 0x80) {
            size_t bad;
            int len = el_utf8_len(c);
            if (len == 0 || i + (size_t)len > n || !el_utf8_valid(s + i, (size_t)len, &bad))
                esc = "\xEF\xBF\xBD"; /* U+FFFD for a broken sequence, one byte at a time */
            else
                adv = (size_t)len;
        }
        if (esc) {
            sb_put(b, s + i - run, run);
            run = 0;
            sb_str(b, esc);
            i += 1;
        } else {
            run += adv;
            i += adv;
        }
    }
    sb_put(b, s + n - run, run);
    sb_put(b, "\"", 1);
}

static void sb_jsonz(sbuf *b, const char *s) {
    sb_json(b, s, strlen(s));
}

static void sb_float(sbuf *b, double v) {
    if (!(v > -1e30)) v = -9999.0; /* -inf logprob: JSON has no infinities */
    sb_printf(b, "%.6g", v);
}

/* ---- ids ------------------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void srv_make_id(char *buf, size_t cap, const char *prefix) {
    static atomic_ullong counter;
    static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                 (atomic_fetch_add(&counter, 1) * 0x2545F4914F6CDD1Dull) ^ (uintptr_t)buf;
    size_t p = (size_t)snprintf(buf, cap, "%s", prefix);
    for (int i = 0; i < 24 && p + 1 < cap; i++)
        buf[p++] = al[splitmix(&x) % (sizeof al - 1)];
    if (p < cap) buf[p] = 0;
}

char *srv_error_json(const el_req_error *e) {
    sbuf b = {0};
    sb_str(&b, "{\"error\":{\"message\":");
    sb_jsonz(&b, e->message);
    sb_str(&b, ",\"type\":");
    sb_jsonz(&b, e->type ? e->type : "invalid_request_error");
    sb_str(&b, ",\"param\":");
    if (e->param[0])
        sb_jsonz(&b, e->param);
    else
        sb_str(&b, "null");
    sb_str(&b, ",\"code\":");
    if (e->code)
        sb_jsonz(&b, e->code);
    else
        sb_str(&b, "null");
    sb_str(&b, "}}");
    return b.p;
}

/* ---- the response builder ------------------------------------------------------------- */

enum { K_NONE, K_CONTENT, K_REASONING, K_ARGS };

typedef struct call {
    char id[40];
    sbuf name, args;
} call;

struct srv_out {
    srv_out_params p;
    char id[48];
    long long created;
    bool think_on;
    el_think think;
    el_tc_parser *tc;
    sbuf out;                /* bytes ready to send */
    sbuf content, reasoning; /* non-stream accumulation */
    call *calls;
    int n_calls, cap_calls;
    /* logprobs: chat items, or the four legacy completion arrays */
    sbuf lp_items, lp_tokens, lp_vals, lp_tops, lp_offs;
    int n_lp;
    size_t text_offset;
    /* stream: pending delta */
    int pend_kind, pend_idx;
    sbuf pend;
    bool finished;
};

static void chunk_head(srv_out *o, sbuf *b) {
    bool chat = o->p.kind == EL_REQ_CHAT;
    sb_str(b, "data: {\"id\":");
    sb_jsonz(b, o->id);
    sb_printf(b, ",\"object\":\"%s\",\"created\":%lld,\"model\":",
              chat ? "chat.completion.chunk" : "text_completion", o->created);
    sb_jsonz(b, o->p.model_name);
    sb_str(b, ",\"system_fingerprint\":\"edgellm\",\"choices\":[");
}

/* logprobs JSON of what is pending (chat: {"content":[...]}; completions: legacy object) */
static void put_logprobs(srv_out *o, sbuf *b) {
    if (!o->p.logprobs) {
        sb_str(b, "null");
        return;
    }
    if (o->p.kind == EL_REQ_CHAT) {
        sb_str(b, "{\"content\":[");
        sb_put(b, o->lp_items.p ? o->lp_items.p : "", o->lp_items.n);
        sb_str(b, "]}");
    } else {
        sb_str(b, "{\"tokens\":[");
        sb_put(b, o->lp_tokens.p ? o->lp_tokens.p : "", o->lp_tokens.n);
        sb_str(b, "],\"token_logprobs\":[");
        sb_put(b, o->lp_vals.p ? o->lp_vals.p : "", o->lp_vals.n);
        sb_str(b, "],\"top_logprobs\":[");
        sb_put(b, o->lp_tops.p ? o->lp_tops.p : "", o->lp_tops.n);
        sb_str(b, "],\"text_offset\":[");
        sb_put(b, o->lp_offs.p ? o->lp_offs.p : "", o->lp_offs.n);
        sb_str(b, "]}");
    }
}

static void lp_reset(srv_out *o) {
    o->lp_items.n = o->lp_tokens.n = o->lp_vals.n = o->lp_tops.n = o->lp_offs.n = 0;
    o->n_lp = 0;
}

/* Writes the pending delta (and pending logprobs) as one chunk. */
static void flush_pending(srv_out *o) {
    if (!o->p.stream) return;
    bool has_lp = o->p.logprobs && o->n_lp > 0;
    if (o->pend_kind == K_NONE && !has_lp) return;
    sbuf *b = &o->out;
    chunk_head(o, b);
    if (o->p.kind == EL_REQ_CHAT) {
        sb_str(b, "{\"index\":0,\"delta\":{");
        if (o->pend_kind == K_CONTENT) {
            sb_str(b, "\"content\":");
            sb_json(b, o->pend.p ? o->pend.p : "", o->pend.n);
        } else if (o->pend_kind == K_REASONING) {
            sb_str(b, "\"reasoning_content\":");
            sb_json(b, o->pend.p ? o->pend.p : "", o->pend.n);
        } else if (o->pend_kind == K_ARGS) {
            sb_printf(b, "\"tool_calls\":[{\"index\":%d,\"function\":{\"arguments\":", o->pend_idx);
            sb_json(b, o->pend.p ? o->pend.p : "", o->pend.n);
            sb_str(b, "}}]");
        }
        sb_str(b, "},\"logprobs\":");
    } else {
        sb_str(b, "{\"index\":0,\"text\":");
        sb_json(b, o->pend.p ? o->pend.p : "", o->pend.n);
        sb_str(b, ",\"logprobs\":");
    }
    if (has_lp)
        put_logprobs(o, b);
    else
        sb_str(b, "null");
    sb_str(b, ",\"finish_reason\":null}]}\n\n");
    o->pend.n = 0;
    o->pend_kind = K_NONE;
    lp_reset(o);
}

static void delta(srv_out *o, int kind, int idx, const char *s, size_t n) {
    if (!n) return;
    if (!o->p.stream) {
        if (kind == K_CONTENT)
            sb_put(&o->content, s, n);
        else if (kind == K_REASONING)
            sb_put(&o->reasoning, s, n);
        else if (idx >= 0 && idx < o->n_calls)
            sb_put(&o->calls[idx].args, s, n);
        return;
    }
    if (o->pend_kind != kind || (kind == K_ARGS && o->pend_idx != idx)) {
        bool keep_lp = o->pend_kind == K_NONE; /* logprobs wait for the step's text */
        if (!keep_lp) flush_pending(o);
    }
    o->pend_kind = kind;
    o->pend_idx = idx;
    sb_put(&o->pend, s, n);
}

static void on_call(void *u, int idx, const char *name, size_t n) {
    srv_out *o = u;
    if (idx != o->n_calls) return;
    if (o->n_calls == o->cap_calls) {
        int cap = o->cap_calls ? o->cap_calls * 2 : 4;
        call *c = realloc(o->calls, (size_t)cap * sizeof *c);
        if (!c) return;
        o->calls = c;
        o->cap_calls = cap;
    }
    call *c = &o->calls[o->n_calls++];
    memset(c, 0, sizeof *c);
    srv_make_id(c->id, sizeof c->id, "call_");
    sb_put(&c->name, name, n);
    if (!o->p.stream) return;
    if (o->pend_kind != K_NONE) flush_pending(o);
    sbuf *b = &o->out;
    chunk_head(o, b);
    sb_printf(b, "{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":%d,\"id\":", idx);
    sb_jsonz(b, c->id);
    sb_str(b, ",\"type\":\"function\",\"function\":{\"name\":");
    sb_json(b, name, n);
    sb_str(b, ",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

static void on_args(void *u, int idx, const char *s, size_t n) {
    delta(u, K_ARGS, idx, s, n);
}
static void on_content(void *u, const char *s, size_t n) {
    delta(u, K_CONTENT, -1, s, n);
}

static void on_think(void *u, int ch, const char *s, size_t n) {
    srv_out *o = u;
    if (ch == EL_THINK_REASONING) {
        delta(o, K_REASONING, -1, s, n);
    } else if (o->tc) {
        el_tc_sink k = {o, on_content, on_call, on_args};
        el_tc_push(o->tc, s, n, &k);
    } else {
        delta(o, K_CONTENT, -1, s, n);
    }
}

srv_out *srv_out_new(const srv_out_params *p) {
    srv_out *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->p = *p;
    bool chat = p->kind == EL_REQ_CHAT;
    srv_make_id(o->id, sizeof o->id, chat ? "chatcmpl-" : "cmpl-");
    o->created = (long long)time(NULL);
    if (chat && p->tool_format != EL_TC_NONE) {
        o->tc = el_tc_new((el_tc_format)p->tool_format);
        if (!o->tc) {
            free(o);
            return NULL;
        }
    }
    o->think_on = chat && p->split_reasoning;
    if (o->think_on) el_think_init(&o->think, p->prompt_in_think);
    if (p->stream && chat) { /* first chunk: the role, as OpenAI sends it */
        chunk_head(o, &o->out);
        sb_str(&o->out, "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                        "\"logprobs\":null,\"finish_reason\":null}]}\n\n");
    }
    return o;
}

void srv_out_free(srv_out *o) {
    if (!o) return;
    el_tc_free(o->tc);
    if (o->think_on) el_think_free(&o->think);
    sb_free(&o->out);
    sb_free(&o->content);
    sb_free(&o->reasoning);
    for (int i = 0; i < o->n_calls; i++) {
        sb_free(&o->calls[i].name);
        sb_free(&o->calls[i].args);
    }
    free(o->calls);
    sb_free(&o->lp_items);
    sb_free(&o->lp_tokens);
    sb_free(&o->lp_vals);
    sb_free(&o->lp_tops);
    sb_free(&o->lp_offs);
    sb_free(&o->pend);
    free(o);
}

static void piece(const el_model *m, el_token t, char *buf, int cap, int *n) {
    int k = el_token_text(m, t, true, buf, cap);
    *n = k < 0 ? 0 : EL_MIN(k, cap);
}

static void add_lp(srv_out *o, const srv_lp *lp) {
    char buf[256];
    int n;
    piece(o->p.m, lp->id, buf, (int)sizeof buf, &n);
    if (o->p.kind == EL_REQ_CHAT) {
        sbuf *b = &o->lp_items;
        if (o->n_lp) sb_put(b, ",", 1);
        sb_str(b, "{\"token\":");
        sb_json(b, buf, (size_t)n);
        sb_str(b, ",\"logprob\":");
        sb_float(b, lp->lp);
        sb_str(b, ",\"bytes\":[");
        for (int i = 0; i < n; i++)
            sb_printf(b, "%s%u", i ? "," : "", (unsigned char)buf[i]);
        sb_str(b, "],\"top_logprobs\":[");
        for (int k = 0; k < lp->n_top; k++) {
            char tb[256];
            int tn;
            piece(o->p.m, lp->top_id[k], tb, (int)sizeof tb, &tn);
            sb_str(b, k ? ",{\"token\":" : "{\"token\":");
            sb_json(b, tb, (size_t)tn);
            sb_str(b, ",\"logprob\":");
            sb_float(b, lp->top_lp[k]);
            sb_str(b, ",\"bytes\":[");
            for (int i = 0; i < tn; i++)
                sb_printf(b, "%s%u", i ? "," : "", (unsigned char)tb[i]);
            sb_str(b, "]}");
        }
        sb_str(b, "]}");
    } else {
        const char *sep = o->n_lp ? "," : "";
        sb_str(&o->lp_tokens, sep);
        sb_json(&o->lp_tokens, buf, (size_t)n);
        sb_str(&o->lp_vals, sep);
        sb_float(&o->lp_vals, lp->lp);
        sb_str(&o->lp_tops, sep);
        sb_str(&o->lp_tops, "{");
        for (int k = 0; k < lp->n_top; k++) {
            char tb[256];
            int tn;
            piece(o->p.m, lp->top_id[k], tb, (int)sizeof tb, &tn);
            if (k) sb_str(&o->lp_tops, ",");
            sb_json(&o->lp_tops, tb, (size_t)tn);
            sb_str(&o->lp_tops, ":");
            sb_float(&o->lp_tops, lp->top_lp[k]);
        }
        sb_str(&o->lp_tops, "}");
        sb_printf(&o->lp_offs, "%s%zu", sep, o->text_offset);
        o->text_offset += (size_t)n;
    }
    o->n_lp++;
}

void srv_out_feed(srv_out *o, const char *text, size_t n, const srv_lp *lps, int32_t n_lps) {
    if (o->finished) return;
    if (o->p.logprobs)
        for (int32_t i = 0; i < n_lps; i++)
            add_lp(o, &lps[i]);
    if (n) {
        if (o->p.kind != EL_REQ_CHAT)
            delta(o, K_CONTENT, -1, text, n);
        else if (o->think_on)
            el_think_push(&o->think, text, n, on_think, o);
        else
            on_think(o, EL_THINK_CONTENT, text, n);
    }
    flush_pending(o);
}

static const char *finish_reason(const srv_out *o, const srv_job *j) {
    if (j->finish == SRV_FINISH_LENGTH) return "length";
    return o->n_calls > 0 ? "tool_calls" : "stop";
}

static void put_usage(sbuf *b, const srv_job *j) {
    sb_printf(b,
              "{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d,"
              "\"prompt_tokens_details\":{\"cached_tokens\":%d}}",
              j->n_prompt, j->n_gen, j->n_prompt + j->n_gen, j->n_cached);
}

static void put_timings(sbuf *b, const srv_job *j) {
    double t_first = j->t_first > 0 ? j->t_first : j->t_end;
    double prompt_ms = (t_first - j->t_start) * 1e3;
    double gen_ms = (j->t_end - t_first) * 1e3;
    int32_t prompt_n = j->n_prompt - j->n_cached;
    sb_printf(b, "{\"cache_n\":%d,\"prompt_n\":%d,\"prompt_ms\":%.3f,\"prompt_per_second\":%.2f,",
              j->n_cached, prompt_n, prompt_ms, prompt_ms > 0 ? prompt_n * 1e3 / prompt_ms : 0.0);
    sb_printf(b, "\"predicted_n\":%d,\"predicted_ms\":%.3f,\"predicted_per_second\":%.2f,",
              j->n_gen, gen_ms, gen_ms > 0 && j->n_gen > 1 ? (j->n_gen - 1) * 1e3 / gen_ms : 0.0);
    sb_printf(b, "\"queue_ms\":%.3f,\"ttft_ms\":%.3f}", (j->t_start - j->t_submit) * 1e3,
              (t_first - j->t_submit) * 1e3);
}

void srv_out_finish(srv_out *o, const srv_job *j) {
    if (o->finished) return;
    if (o->think_on) el_think_finish(&o->think, on_think, o);
    if (o->tc) {
        el_tc_sink k = {o, on_content, on_call, on_args};
        el_tc_finish(o->tc, &k);
    }
    flush_pending(o);
    o->finished = true;
    sbuf *b = &o->out;
    bool chat = o->p.kind == EL_REQ_CHAT;
    if (o->p.stream) {
        if (j->finish == SRV_FINISH_ERROR) {
            el_req_error e = {.status = 500, .type = "server_error", .code = "generation_failed"};
            snprintf(e.message, sizeof e.message, "generation failed: %s", j->error);
            char *ej = srv_error_json(&e);
            sb_str(b, "data: ");
            if (ej) sb_str(b, ej);
            sb_str(b, "\n\n");
            free(ej);
        } else {
            chunk_head(o, b);
            sb_str(b, chat ? "{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"
                           : "{\"index\":0,\"text\":\"\",\"logprobs\":null,\"finish_reason\":");
            sb_jsonz(b, finish_reason(o, j));
            sb_str(b, "}]");
            sb_str(b, ",\"timings\":");
            put_timings(b, j);
            sb_str(b, "}\n\n");
            if (o->p.include_usage) {
                chunk_head(o, b);
                sb_str(b, "],\"usage\":");
                put_usage(b, j);
                sb_str(b, "}\n\n");
            }
        }
        sb_str(b, "data: [DONE]\n\n");
        return;
    }
    /* the whole response */
    sb_str(b, "{\"id\":");
    sb_jsonz(b, o->id);
    sb_printf(b, ",\"object\":\"%s\",\"created\":%lld,\"model\":",
              chat ? "chat.completion" : "text_completion", o->created);
    sb_jsonz(b, o->p.model_name);
    sb_str(b, ",\"system_fingerprint\":\"edgellm\",\"choices\":[{\"index\":0,");
    if (chat) {
        sb_str(b, "\"message\":{\"role\":\"assistant\",\"content\":");
        if (o->n_calls > 0 && o->content.n == 0)
            sb_str(b, "null");
        else
            sb_json(b, o->content.p ? o->content.p : "", o->content.n);
        if (o->reasoning.n) {
            sb_str(b, ",\"reasoning_content\":");
            sb_json(b, o->reasoning.p, o->reasoning.n);
        }
        if (o->n_calls) {
            sb_str(b, ",\"tool_calls\":[");
            for (int i = 0; i < o->n_calls; i++) {
                call *c = &o->calls[i];
                sb_str(b, i ? ",{\"id\":" : "{\"id\":");
                sb_jsonz(b, c->id);
                sb_str(b, ",\"type\":\"function\",\"function\":{\"name\":");
                sb_json(b, c->name.p ? c->name.p : "", c->name.n);
                sb_str(b, ",\"arguments\":");
                sb_json(b, c->args.p ? c->args.p : "", c->args.n);
                sb_str(b, "}}");
            }
            sb_str(b, "]");
        }
        sb_str(b, "},");
    } else {
        sb_str(b, "\"text\":");
        sb_json(b, o->content.p ? o->content.p : "", o->content.n);
        sb_str(b, ",");
    }
    sb_str(b, "\"logprobs\":");
    put_logprobs(o, b);
    sb_str(b, ",\"finish_reason\":");
    sb_jsonz(b, finish_reason(o, j));
    sb_str(b, "}],\"usage\":");
    put_usage(b, j);
    sb_str(b, ",\"timings\":");
    put_timings(b, j);
    sb_str(b, "}");
}

const char *srv_out_bytes(const srv_out *o, size_t *n) {
    *n = o->out.n;
    return o->out.p ? o->out.p : "";
}

void srv_out_consume(srv_out *o, size_t n) {
    if (n >= o->out.n) {
        o->out.n = 0;
        if (o->out.p) o->out.p[0] = 0;
        return;
    }
    memmove(o->out.p, o->out.p + n, o->out.n - n);
    o->out.n -= n;
    o->out.p[o->out.n] = 0;
}

int srv_out_tool_calls(const srv_out *o) {
    return o->n_calls;
}
