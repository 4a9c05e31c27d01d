/* server/http.c — the HTTP side of `edgellm serve` (libmicrohttpd, one thread per
 * connection).
 *
 * A request's life: the first callback (headers only) routes it and refuses early what can
 * be refused early (unknown path 404, wrong method 405, missing API key 401, declared body
 * over the limit 413, server loading or shutting down 503); body chunks are appended up to
 * the limit; the last callback validates the body (request.c), renders the chat template
 * and tokenizes (the model is shared read-only by all connection threads), compiles the
 * output grammar, and queues a job for the engine (503 when the queue is full). A
 * non-streaming request then waits for its job and answers once; a streaming one answers
 * 200 at once with a content-reader callback that blocks for the job's next output and
 * writes it as SSE. While waiting, the connection's socket is polled for hang-up every
 * 100 ms: a client that disconnects has its job cancelled, which frees its slot at the
 * engine's next step.
 *
 * Lifetime: the per-request context (conn) is shared by MHD's request-completed callback and,
 * for streams, the response's free callback; it is reference counted and freed by whichever
 * comes last. Limits: headers by MHD's connection memory limit (431 past it), body by
 * max_body (413), idle connections by MHD's timeout, generation by the job deadline.
 */
#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "server/reasoning.h"
#include "server/server.h"
#include "server/toolcall.h"

#define HEADER_LIMIT (64 * 1024) /* MHD connection memory: request line + headers */

enum { ST_LOADING = 0, ST_OK, ST_ERROR, ST_DRAINING };

enum route {
    R_NONE = 0,
    R_HEALTH,
    R_MODELS,
    R_METRICS,
    R_CHAT,
    R_COMPLETIONS,
    R_TOKENIZE,
    R_DETOKENIZE,
};

static const struct {
    const char *path;
    enum route r;
    const char *method;
} routes[] = {
    {"/health", R_HEALTH, "GET"},
    {"/v1/health", R_HEALTH, "GET"},
    {"/v1/models", R_MODELS, "GET"},
    {"/models", R_MODELS, "GET"},
    {"/metrics", R_METRICS, "GET"},
    {"/v1/chat/completions", R_CHAT, "POST"},
    {"/chat/completions", R_CHAT, "POST"},
    {"/v1/completions", R_COMPLETIONS, "POST"},
    {"/completions", R_COMPLETIONS, "POST"},
    {"/tokenize", R_TOKENIZE, "POST"},
    {"/v1/tokenize", R_TOKENIZE, "POST"},
    {"/detokenize", R_DETOKENIZE, "POST"},
    {"/v1/detokenize", R_DETOKENIZE, "POST"},
};

struct srv_http {
    el_server_config cfg;
    struct MHD_Daemon *d;
    int port;
    atomic_int state;
    char state_msg[256];
    /* set once by srv_http_attach before state becomes OK; read-only afterwards */
    el_model *m;
    srv_engine *e;
    el_chat_template *tmpl;
    el_tc_format tc_format;
    el_model_desc desc;
    int32_t n_ctx;
    char bos[64];
    char model_name[256];
    srv_http_counters hc;
    atomic_int active; /* requests holding a job */
    double t_start;
};

typedef struct conn {
    atomic_int refs;
    srv_http *h;
    struct MHD_Connection *c;
    enum route route;
    char *body;
    size_t n, cap;
    bool too_big;
    srv_job *job;
    srv_out *out;
    bool done;        /* the job finished and its output is in `out` */
    bool counted;     /* holds one of h->active */
    double t_checked; /* last look at the socket for a hang-up */
    char *tb;         /* text taken from the job (swapped with the job's buffer) */
    size_t tb_cap;
    srv_lp *lb;
    int32_t lb_cap;
} conn;

static void conn_unref(conn *cx) {
    if (!cx || atomic_fetch_sub(&cx->refs, 1) != 1) return;
    if (cx->job) {
        if (!cx->done) atomic_store(&cx->job->cancel, true);
        srv_job_unref(cx->job);
    }
    if (cx->counted) atomic_fetch_sub(&cx->h->active, 1);
    srv_out_free(cx->out);
    free(cx->body);
    free(cx->tb);
    free(cx->lb);
    free(cx);
}

/* ---- responses -------------------------------------------------------------------------- */

static int route_class(enum route r) {
    return r == R_CHAT ? 0 : r == R_COMPLETIONS ? 1 : 2;
}

static void count(srv_http *h, enum route r, unsigned status) {
    unsigned k = status / 100;
    if (k >= 1 && k <= 5) atomic_fetch_add(&h->hc.requests[route_class(r)][k - 1], 1);
}

static void cors(struct MHD_Response *rsp) {
    MHD_add_response_header(rsp, "Access-Control-Allow-Origin", "*");
}

static enum MHD_Result respond(srv_http *h, conn *cx, struct MHD_Connection *c, unsigned status,
                               const char *ctype, const char *body, size_t n) {
    struct MHD_Response *rsp =
        MHD_create_response_from_buffer(n, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!rsp) return MHD_NO;
    MHD_add_response_header(rsp, "Content-Type", ctype);
    cors(rsp);
    if (status == 503) MHD_add_response_header(rsp, "Retry-After", "1");
    enum MHD_Result r = MHD_queue_response(c, status, rsp);
    MHD_destroy_response(rsp);
    count(h, cx ? cx->route : R_NONE, status);
    return r;
}

static enum MHD_Result respond_json(srv_http *h, conn *cx, struct MHD_Connection *c,
                                    unsigned status, const char *json) {
    return respond(h, cx, c, status, "application/json", json, strlen(json));
}

static enum MHD_Result respond_err(srv_http *h, conn *cx, struct MHD_Connection *c,
                                   const el_req_error *e) {
    char *j = srv_error_json(e);
    enum MHD_Result r = j ? respond_json(h, cx, c, (unsigned)e->status, j) : MHD_NO;
    free(j);
    return r;
}

static enum MHD_Result fail(srv_http *h, conn *cx, struct MHD_Connection *c, int status,
                            const char *type, const char *code, const char *fmt, ...)
    EL_PRINTF(7, 8);
static enum MHD_Result fail(srv_http *h, conn *cx, struct MHD_Connection *c, int status,
                            const char *type, const char *code, const char *fmt, ...) {
    el_req_error e = {.status = status, .type = type, .code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    for (char *p = e.message; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return respond_err(h, cx, c, &e);
}

/* ---- client liveness ------------------------------------------------------------------ */

static bool client_gone(conn *cx) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(cx->c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return false;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* Waits for the job's next output and feeds it to cx->out. 1: the job is finished (and
 * its last output is in cx->out), 0: more to come, -1: the client went away. */
static int pump(conn *cx) {
    srv_job *j = cx->job;
    double now = el_now();
    if (now - cx->t_checked > 0.1) { /* also while output flows: a fast model never waits */
        cx->t_checked = now;
        if (client_gone(cx)) return -1;
    }
    pthread_mutex_lock(&j->mu);
    while (j->finish == SRV_RUNNING && j->n_text == 0 && j->n_lps == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&j->mu);
            if (client_gone(cx)) return -1;
            pthread_mutex_lock(&j->mu);
        }
    }
    /* take the output by swapping buffers with the job: no copy, no allocation */
    char *t = j->text;
    size_t tcap = j->cap_text, tn = j->n_text;
    j->text = cx->tb;
    j->cap_text = cx->tb_cap;
    j->n_text = 0;
    cx->tb = t;
    cx->tb_cap = tcap;
    srv_lp *l = j->lps;
    int32_t lcap = j->cap_lps, ln = j->n_lps;
    j->lps = cx->lb;
    j->cap_lps = cx->lb_cap;
    j->n_lps = 0;
    cx->lb = l;
    cx->lb_cap = lcap;
    bool finished = j->finish != SRV_RUNNING;
    pthread_mutex_unlock(&j->mu);
    srv_out_feed(cx->out, cx->tb ? cx->tb : "", tn, cx->lb, ln);
    if (!finished) return 0;
    srv_out_finish(cx->out, j);
    return 1;
}

static ssize_t sse_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    conn *cx = cls;
    for (;;) {
        size_t n;
        const char *p = srv_out_bytes(cx->out, &n);
        if (n) {
            size_t k = EL_MIN(n, max);
            memcpy(buf, p, k);
            srv_out_consume(cx->out, k);
            return (ssize_t)k;
        }
        if (cx->done) return MHD_CONTENT_READER_END_OF_STREAM;
        int r = pump(cx);
        if (r < 0) {
            atomic_store(&cx->job->cancel, true);
            atomic_fetch_add(&cx->h->hc.disconnects, 1);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (r == 1) cx->done = true;
    }
}

static void sse_free(void *cls) {
    conn_unref(cls);
}

/* ---- handlers ------------------------------------------------------------------------- */

static enum MHD_Result handle_health(srv_http *h, conn *cx, struct MHD_Connection *c) {
    int st = atomic_load(&h->state);
    if (st == ST_OK) return respond_json(h, cx, c, 200, "{\"status\":\"ok\"}");
    if (st == ST_LOADING) return respond_json(h, cx, c, 503, "{\"status\":\"loading\"}");
    if (st == ST_DRAINING) return respond_json(h, cx, c, 503, "{\"status\":\"shutting_down\"}");
    char body[512];
    snprintf(body, sizeof body, "{\"status\":\"error\",\"error\":\"%s\"}", "model failed to load");
    return respond_json(h, cx, c, 500, body);
}

static void json_escape_into(char *dst, size_t cap, const char *s) {
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(dst + o, cap - o, "\\u%04x", ch);
        } else {
            dst[o++] = (char)ch;
        }
    }
    dst[o] = 0;
}

static enum MHD_Result handle_models(srv_http *h, conn *cx, struct MHD_Connection *c) {
    char name[600], body[2048];
    json_escape_into(name, sizeof name, h->model_name);
    if (atomic_load(&h->state) == ST_OK || atomic_load(&h->state) == ST_DRAINING) {
        char arch[64];
        json_escape_into(arch, sizeof arch, h->desc.arch ? h->desc.arch : "");
        snprintf(
            body, sizeof body,
            "{\"object\":\"list\",\"data\":[{\"id\":\"%s\",\"object\":\"model\",\"created\":%lld,"
            "\"owned_by\":\"edgellm\",\"meta\":{\"arch\":\"%s\",\"n_vocab\":%d,\"n_ctx_train\":%d,"
            "\"n_ctx\":%d,\"n_params\":%llu,\"size\":%llu,\"slots\":%d,\"chat_template\":%s,"
            "\"tool_format\":\"%s\"}}]}",
            name, (long long)h->t_start, arch, h->desc.n_vocab, h->desc.n_ctx_train, h->n_ctx,
            (unsigned long long)h->desc.n_params, (unsigned long long)h->desc.weight_bytes,
            h->cfg.n_parallel, h->tmpl ? "true" : "false", el_tc_format_name(h->tc_format));
    } else {
        snprintf(
            body, sizeof body,
            "{\"object\":\"list\",\"data\":[{\"id\":\"%s\",\"object\":\"model\",\"created\":%lld,"
            "\"owned_by\":\"edgellm\"}]}",
            name, (long long)h->t_start);
    }
    return respond_json(h, cx, c, 200, body);
}

static enum MHD_Result handle_metrics(srv_http *h, conn *cx, struct MHD_Connection *c) {
    srv_stats st;
    memset(&st, 0, sizeof st);
    if (h->e) srv_engine_stats(h->e, &st);
    st.n_slots = h->cfg.n_parallel;
    char *t = srv_metrics_text(&st, &h->hc, (double)time(NULL) - h->t_start);
    if (!t) return MHD_NO;
    enum MHD_Result r = respond(h, cx, c, 200, "text/plain; version=0.0.4", t, strlen(t));
    free(t);
    return r;
}

/* Tokenizes with a growing buffer. Returns the count, -1 on error. */
static int32_t tokenize(srv_http *h, const char *text, size_t len, bool add_special, el_token **out,
                        int32_t limit) {
    int32_t cap = (int32_t)EL_MIN(len + 16, (size_t)limit + 1);
    *out = NULL;
    for (int tries = 0; tries < 2; tries++) {
        el_token *t = malloc((size_t)cap * sizeof *t);
        if (!t) return -1;
        int n = el_tokenize(h->m, text, len, add_special, true, t, cap);
        if (n < 0) {
            free(t);
            return -1;
        }
        if (n <= cap || n > limit) {
            *out = t;
            return n; /* n > limit: the caller refuses it (only cap ids were written) */
        }
        free(t);
        cap = n;
    }
    return -1;
}

static enum MHD_Result handle_tokenize(srv_http *h, conn *cx, struct MHD_Connection *c) {
    el_req r;
    el_req_error e;
    el_req_limits lim = {.n_vocab = h->desc.n_vocab};
    if (el_req_parse(EL_REQ_TOKENIZE, cx->body, cx->n, &lim, &r, &e))
        return respond_err(h, cx, c, &e);
    el_token *t;
    int32_t limit = 1 << 22;
    int32_t n = tokenize(h, r.content, strlen(r.content), r.add_special, &t, limit);
    if (n < 0 || n > limit) {
        free(t);
        el_req_free(&r);
        return fail(h, cx, c, 400, "invalid_request_error", "invalid_value",
                    "cannot tokenize the content");
    }
    size_t cap = (size_t)n * (r.with_pieces ? 64 : 12) + 32;
    char *body = malloc(cap), piece[256], esc[1600];
    if (!body) {
        free(t);
        el_req_free(&r);
        return MHD_NO;
    }
    size_t o = (size_t)snprintf(body, cap, "{\"tokens\":[");
    for (int32_t i = 0; i < n; i++) {
        if (r.with_pieces) {
            int k = el_token_text(h->m, t[i], true, piece, (int)sizeof piece - 1);
            piece[k < 0 ? 0 : EL_MIN(k, (int)sizeof piece - 1)] = 0;
            /* pieces may be cut inside a UTF-8 character: replace those bytes */
            for (char *p = piece; *p; p++) {
                size_t bad;
                if (!el_utf8_valid(p, strlen(p), &bad)) p[bad] = '?';
            }
            json_escape_into(esc, sizeof esc, piece);
            size_t need = strlen(esc) + 48;
            if (o + need >= cap) {
                cap = (cap + need) * 2;
                char *nb = realloc(body, cap);
                if (!nb) break;
                body = nb;
            }
            o += (size_t)snprintf(body + o, cap - o, "%s{\"id\":%d,\"piece\":\"%s\"}", i ? "," : "",
                                  t[i], esc);
        } else {
            o += (size_t)snprintf(body + o, cap - o, "%s%d", i ? "," : "", t[i]);
        }
    }
    snprintf(body + o, cap - o, "]}");
    enum MHD_Result res = respond_json(h, cx, c, 200, body);
    free(body);
    free(t);
    el_req_free(&r);
    return res;
}

static enum MHD_Result handle_detokenize(srv_http *h, conn *cx, struct MHD_Connection *c) {
    el_req r;
    el_req_error e;
    el_req_limits lim = {.n_vocab = h->desc.n_vocab};
    if (el_req_parse(EL_REQ_DETOKENIZE, cx->body, cx->n, &lim, &r, &e))
        return respond_err(h, cx, c, &e);
    el_detok *d = el_detok_new(h->m, true);
    size_t cap = 256, len = 0;
    char *text = malloc(cap);
    if (!d || !text) {
        el_detok_free(d);
        free(text);
        el_req_free(&r);
        return MHD_NO;
    }
    for (int32_t i = 0; i <= r.n_tokens; i++) {
        const char *s;
        int k = i < r.n_tokens ? el_detok_push(d, r.tokens[i], &s) : el_detok_flush(d, &s);
        if (k <= 0) continue;
        if (len + (size_t)k + 1 > cap) {
            while (len + (size_t)k + 1 > cap)
                cap *= 2;
            char *nt = realloc(text, cap);
            if (!nt) break;
            text = nt;
        }
        memcpy(text + len, s, (size_t)k);
        len += (size_t)k;
    }
    text[len] = 0;
    el_detok_free(d);
    size_t bcap = len * 6 + 32;
    char *body = malloc(bcap);
    if (!body) {
        free(text);
        el_req_free(&r);
        return MHD_NO;
    }
    size_t o = (size_t)snprintf(body, bcap, "{\"content\":\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '"' || ch == '\\')
            o += (size_t)snprintf(body + o, bcap - o, "\\%c", ch);
        else if (ch < 0x20)
            o += (size_t)snprintf(body + o, bcap - o, "\\u%04x", ch);
        else
            body[o++] = (char)ch;
    }
    snprintf(body + o, bcap - o, "\"}");
    enum MHD_Result res = respond_json(h, cx, c, 200, body);
    free(body);
    free(text);
    el_req_free(&r);
    return res;
}

/* Builds the grammar a request asks for (NULL when none). -1 with e filled on error. */
static int request_grammar(srv_http *h, const el_req *r, el_jc_grammar **out, el_req_error *e) {
    char err[300];
    *out = NULL;
    if (r->kind == EL_REQ_CHAT && r->n_tools > 0 &&
        (r->tool_choice == EL_TOOLS_REQUIRED || r->tool_choice == EL_TOOLS_NAMED)) {
        const char *names[EL_REQ_MAX_TOOLS];
        const cJSON *params[EL_REQ_MAX_TOOLS];
        int n = 0;
        for (int i = 0; i < r->n_tools; i++) {
            if (r->tool_choice == EL_TOOLS_NAMED && strcmp(r->tool_names[i], r->tool_choice_name))
                continue;
            names[n] = r->tool_names[i];
            params[n++] = r->tool_params[i];
        }
        const char *pre, *suf, *nk, *ak;
        el_tc_wrapper(h->tc_format, &pre, &suf, &nk, &ak);
        *out = el_jc_compile_tools(pre, suf, nk, ak, names, params, n, err, sizeof err);
        if (!*out)
            return el_req_fail(e, 400, "invalid_request_error", "invalid_schema", "tools",
                               "tool parameters: %s", err);
        return 0;
    }
    if (r->response_format == EL_RF_JSON_OBJECT || r->response_format == EL_RF_JSON_SCHEMA) {
        *out = el_jc_compile(r->response_format == EL_RF_JSON_SCHEMA ? r->schema : NULL, err,
                             sizeof err);
        if (!*out)
            return el_req_fail(e, 400, "invalid_request_error", "invalid_schema", "response_format",
                               "%s", err);
    }
    return 0;
}

static enum MHD_Result handle_generate(srv_http *h, conn *cx, struct MHD_Connection *c) {
    el_req_kind kind = cx->route == R_CHAT ? EL_REQ_CHAT : EL_REQ_COMPLETION;
    el_req *r = calloc(1, sizeof *r);
    el_req_error e;
    if (!r) return MHD_NO;
    el_req_limits lim = {.n_vocab = h->desc.n_vocab, .max_prompt_tokens = h->n_ctx - 1};
    if (el_req_parse(kind, cx->body, cx->n, &lim, r, &e)) {
        free(r);
        return respond_err(h, cx, c, &e);
    }
    char err[512];
    el_token *toks = NULL;
    int32_t n_tok = 0;
    bool in_think = false;
    bool tools_on = kind == EL_REQ_CHAT && r->n_tools > 0 && r->tool_choice != EL_TOOLS_NONE;
    if (kind == EL_REQ_CHAT) {
        if (!h->tmpl) {
            el_req_fail(&e, 400, "invalid_request_error", "no_chat_template", NULL,
                        "model '%s' has no chat template: use /v1/completions, or start the "
                        "server with --chat-template-file",
                        h->model_name);
            goto fail;
        }
        el_chat_opts co = {.add_generation_prompt = true, .enable_thinking = r->enable_thinking};
        char *prompt = NULL;
        if (el_chat_template_render(h->tmpl, r->messages_json, tools_on ? r->tools_json : NULL, &co,
                                    &prompt, err, sizeof err)) {
            el_req_fail(&e, 400, "invalid_request_error", "template_error", "messages",
                        "the chat template failed on these messages: %s", err);
            goto fail;
        }
        size_t pl = strlen(prompt);
        in_think = el_think_prompt_open(prompt, pl);
        bool add_special = !(h->bos[0] && !strncmp(prompt, h->bos, strlen(h->bos)));
        n_tok = tokenize(h, prompt, pl, add_special, &toks, h->n_ctx);
        free(prompt);
    } else if (r->prompt) {
        n_tok = tokenize(h, r->prompt, strlen(r->prompt), true, &toks, h->n_ctx);
    } else {
        toks = r->prompt_tokens;
        n_tok = r->n_prompt_tokens;
        r->prompt_tokens = NULL;
    }
    if (n_tok < 0) {
        el_req_fail(&e, 400, "invalid_request_error", "invalid_value", NULL,
                    "cannot tokenize the prompt");
        goto fail;
    }
    if (n_tok == 0) {
        el_req_fail(&e, 400, "invalid_request_error", "invalid_value", "prompt",
                    "the prompt is empty (and the model adds no BOS token)");
        goto fail;
    }
    if (n_tok >= h->n_ctx) {
        el_req_fail(&e, 400, "invalid_request_error", "context_length_exceeded",
                    kind == EL_REQ_CHAT ? "messages" : "prompt",
                    "this model's context is %d tokens per request, but the prompt has %d tokens "
                    "(at least one token must be left to generate)",
                    h->n_ctx, n_tok);
        goto fail;
    }
    el_jc_grammar *g = NULL, *lazy = NULL;
    if (request_grammar(h, r, &g, &e)) goto fail;
    if (!g && tools_on && r->tool_choice == EL_TOOLS_AUTO && h->tc_format == EL_TC_HERMES) {
        /* auto: a call the model starts is held to the tools' schemas (if they compile; a
         * schema we cannot follow just leaves the model free) */
        const char *pre, *suf, *nk, *ak;
        el_tc_wrapper(EL_TC_HERMES, &pre, &suf, &nk, &ak);
        lazy =
            el_jc_compile_tools("<tool_call>", suf, nk, ak, (const char *const *)r->tool_names,
                                (const cJSON *const *)r->tool_params, r->n_tools, err, sizeof err);
    }
    srv_job *j = srv_job_new();
    srv_out_params op = {
        .kind = kind,
        .stream = r->stream,
        .model_name = h->model_name,
        .m = h->m,
        .logprobs = r->logprobs,
        .top_logprobs = r->top_logprobs,
        .include_usage = r->include_usage,
        .split_reasoning = r->reasoning_split,
        .prompt_in_think = in_think,
        .tool_format = tools_on ? (int)h->tc_format : (int)EL_TC_NONE,
    };
    cx->out = j ? srv_out_new(&op) : NULL;
    if (!j || !cx->out) {
        srv_job_unref(j);
        el_jc_free(g);
        el_jc_free(lazy);
        el_req_fail(&e, 500, "server_error", NULL, NULL, "out of memory");
        goto fail;
    }
    int32_t room = h->n_ctx - n_tok;
    j->req = r;
    j->prompt = toks;
    j->n_prompt = n_tok;
    j->max_tokens = r->max_tokens > 0 ? EL_MIN(r->max_tokens, room) : room;
    j->grammar = g;
    j->lazy = lazy;
    j->lazy_trigger = lazy ? "<tool_call>" : NULL;
    j->lazy_once = !r->parallel_tool_calls;
    /* chat prints special tokens: the <think>/<tool_call> markers the splitter and the tool
     * parser look for are control tokens in some vocabularies (our default model's, Mistral's
     * [TOOL_CALLS]); end-of-generation tokens end the answer before they are printed */
    j->detok_special = kind == EL_REQ_CHAT;
    j->t_submit = el_now();
    j->deadline = j->t_submit + (h->cfg.timeout_s > 0 ? h->cfg.timeout_s : 1e9);
    cx->job = j; /* owns r, toks, g from here */
    int rc = srv_engine_submit(h->e, j);
    if (rc == -1) {
        atomic_fetch_add(&h->hc.rejected_busy, 1);
        return fail(h, cx, c, 503, "server_error", "server_busy",
                    "the server is busy: every slot is in use and the queue is full; retry later");
    }
    if (rc == -2)
        return fail(h, cx, c, 503, "server_error", "shutting_down", "the server is shutting down");
    atomic_fetch_add(&h->active, 1);
    cx->counted = true;
    /* No idle timeout while generating: waiting for a long prefill or a busy engine is not
     * idleness (libmicrohttpd would close a stream whose next chunk takes longer than the idle
     * timeout). The job's deadline bounds the time instead; on_completed restores it. */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    if (r->stream) {
        struct MHD_Response *rsp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                                                     sse_reader, cx, sse_free);
        if (!rsp) return MHD_NO;
        atomic_fetch_add(&cx->refs, 1);
        MHD_add_response_header(rsp, "Content-Type", "text/event-stream");
        MHD_add_response_header(rsp, "Cache-Control", "no-cache");
        MHD_add_response_header(rsp, "X-Accel-Buffering", "no");
        cors(rsp);
        enum MHD_Result res = MHD_queue_response(c, 200, rsp);
        MHD_destroy_response(rsp);
        count(h, cx->route, 200);
        return res;
    }
    int p;
    while ((p = pump(cx)) == 0) {
    }
    if (p < 0) { /* client gone: nobody to answer */
        atomic_store(&j->cancel, true);
        atomic_fetch_add(&h->hc.disconnects, 1);
        return MHD_NO;
    }
    cx->done = true;
    if (j->finish == SRV_FINISH_ERROR)
        return fail(h, cx, c, 500, "server_error", "generation_failed", "generation failed: %s",
                    j->error);
    size_t n;
    const char *body = srv_out_bytes(cx->out, &n);
    return respond(h, cx, c, 200, "application/json", body, n);
fail:
    free(toks);
    el_req_free(r);
    free(r);
    return respond_err(h, cx, c, &e);
}

/* ---- the access handler ----------------------------------------------------------------- */

static bool key_ok(const srv_http *h, struct MHD_Connection *c) {
    if (!h->cfg.api_key) return true;
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *x = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Api-Key");
    const char *key = h->cfg.api_key;
    const char *given = NULL;
    if (a && !strncasecmp(a, "Bearer ", 7))
        given = a + 7;
    else if (x)
        given = x;
    if (!given) return false;
    size_t kl = strlen(key), gl = strlen(given);
    unsigned diff = (unsigned)(kl ^ gl);
    for (size_t i = 0; i < gl; i++)
        diff |= (unsigned)(given[i] ^ key[i % (kl ? kl : 1)]);
    return diff == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls) {
    (void)version;
    srv_http *h = cls;
    conn *cx = *con_cls;
    if (!cx) {
        cx = calloc(1, sizeof *cx);
        if (!cx) return MHD_NO;
        atomic_init(&cx->refs, 1);
        cx->h = h;
        cx->c = c;
        *con_cls = cx;
        if (!strcmp(method, "OPTIONS")) { /* CORS preflight */
            struct MHD_Response *rsp =
                MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
            if (!rsp) return MHD_NO;
            cors(rsp);
            MHD_add_response_header(rsp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
            MHD_add_response_header(rsp, "Access-Control-Allow-Headers",
                                    "Authorization, Content-Type, X-Api-Key");
            MHD_add_response_header(rsp, "Access-Control-Max-Age", "86400");
            enum MHD_Result r = MHD_queue_response(c, 204, rsp);
            MHD_destroy_response(rsp);
            return r;
        }
        bool path_known = false;
        for (size_t i = 0; i < EL_ARRAY_LEN(routes); i++) {
            if (strcmp(url, routes[i].path)) continue;
            path_known = true;
            if (!strcmp(method, routes[i].method) ||
                (!strcmp(method, "HEAD") && !strcmp(routes[i].method, "GET")))
                cx->route = routes[i].r;
        }
        if (cx->route == R_METRICS && !h->cfg.metrics) cx->route = R_NONE, path_known = false;
        if (cx->route == R_NONE) {
            if (path_known)
                return fail(h, cx, c, 405, "invalid_request_error", "method_not_allowed",
                            "%.16s is not allowed on %.200s", method, url);
            return fail(h, cx, c, 404, "invalid_request_error", "not_found",
                        "no such endpoint: %.16s %.200s", method, url);
        }
        if (cx->route != R_HEALTH && !key_ok(h, c))
            return fail(h, cx, c, 401, "invalid_request_error", "invalid_api_key",
                        "invalid or missing API key (send Authorization: Bearer <key>)");
        int st = atomic_load(&h->state);
        if (cx->route >= R_CHAT && st != ST_OK) {
            if (st == ST_LOADING)
                return fail(h, cx, c, 503, "server_error", "model_loading",
                            "the model is still loading");
            if (st == ST_DRAINING)
                return fail(h, cx, c, 503, "server_error", "shutting_down",
                            "the server is shutting down");
            return fail(h, cx, c, 500, "server_error", "model_error", "the model failed to load");
        }
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(cl, &end, 10);
            if (errno || end == cl || v > h->cfg.max_body)
                return fail(h, cx, c, 413, "invalid_request_error", "request_too_large",
                            "the request body is larger than %zu bytes", h->cfg.max_body);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        size_t k = *upload_size;
        *upload_size = 0;
        if (cx->too_big) return MHD_YES;
        if (cx->n + k > h->cfg.max_body) {
            cx->too_big = true;
            return MHD_YES;
        }
        if (cx->n + k + 1 > cx->cap) {
            size_t cap = cx->cap ? cx->cap : 4096;
            while (cap < cx->n + k + 1)
                cap *= 2;
            char *b = realloc(cx->body, cap);
            if (!b) {
                cx->too_big = true;
                return MHD_YES;
            }
            cx->body = b;
            cx->cap = cap;
        }
        memcpy(cx->body + cx->n, upload_data, k);
        cx->n += k;
        cx->body[cx->n] = 0;
        return MHD_YES;
    }
    if (cx->too_big)
        return fail(h, cx, c, 413, "invalid_request_error", "request_too_large",
                    "the request body is larger than %zu bytes", h->cfg.max_body);
    if (cx->out || cx->done) return MHD_YES; /* already answered */
    switch (cx->route) {
    case R_HEALTH:
        return handle_health(h, cx, c);
    case R_MODELS:
        return handle_models(h, cx, c);
    case R_METRICS:
        return handle_metrics(h, cx, c);
    case R_TOKENIZE:
        return handle_tokenize(h, cx, c);
    case R_DETOKENIZE:
        return handle_detokenize(h, cx, c);
    case R_CHAT:
    case R_COMPLETIONS:
        return handle_generate(h, cx, c);
    default:
        return MHD_NO;
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    srv_http *h = cls;
    conn *cx = *con_cls;
    *con_cls = NULL;
    if (!cx) return;
    if (cx->job && !cx->done && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        atomic_store(&cx->job->cancel, true);
        atomic_fetch_add(&h->hc.disconnects, 1);
    }
    if (cx->counted) /* idle timeout again for the next request on this connection */
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                                  (unsigned int)h->cfg.idle_timeout_s);
    conn_unref(cx);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) EL_PRINTF(2, 0);
static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    el_log(EL_LOG_DEBUG, "http: %s", line);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len,
                   bool *loopback, char *err, size_t errlen) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE},
                    *res = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || !res)
        return el_errf(err, errlen, "cannot resolve host '%s': %s", host, gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (ss->ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_port = htons((uint16_t)port);
        *loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else if (ss->ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_port = htons((uint16_t)port);
        *loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
                    (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127);
    } else {
        return el_errf(err, errlen, "host '%s': unsupported address family", host);
    }
    return 0;
}

srv_http *srv_http_start(const el_server_config *cfg, char *err, size_t errlen) {
    srv_http *h = calloc(1, sizeof *h);
    if (!h) {
        el_errf(err, errlen, "out of memory");
        return NULL;
    }
    h->cfg = *cfg;
    h->t_start = (double)time(NULL);
    atomic_init(&h->state, ST_LOADING);
    atomic_init(&h->active, 0);
    const char *base = strrchr(cfg->model_path ? cfg->model_path : "model", '/');
    snprintf(h->model_name, sizeof h->model_name, "%s",
             cfg->alias        ? cfg->alias
             : base            ? base + 1
             : cfg->model_path ? cfg->model_path
                               : "model");
    struct sockaddr_storage ss;
    socklen_t sl;
    bool loop;
    if (resolve(cfg->host, cfg->port, &ss, &sl, &loop, err, errlen)) {
        free(h);
        return NULL;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_conns,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->idle_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEADER_LIMIT, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!h->d) {
        el_errf(err, errlen, "cannot listen on %s:%d (%s)", cfg->host, cfg->port,
                errno ? strerror(errno) : "libmicrohttpd refused the settings");
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : cfg->port;
    return h;
}

int srv_http_port(const srv_http *h) {
    return h->port;
}

int srv_host_is_loopback(const char *host, bool *loopback, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    socklen_t sl;
    return resolve(host, 0, &ss, &sl, loopback, err, errlen);
}

void srv_http_attach(srv_http *h, el_model *m, srv_engine *e, el_chat_template *tmpl) {
    h->m = m;
    h->e = e;
    h->tmpl = tmpl;
    el_model_describe(m, &h->desc);
    h->n_ctx = srv_engine_n_ctx(e);
    h->tc_format = el_tc_detect(tmpl ? el_chat_template_source(tmpl) : NULL);
    el_token b = el_token_bos(m);
    if (b >= 0) {
        int n = el_token_text(m, b, true, h->bos, (int)sizeof h->bos - 1);
        h->bos[n >= 0 && n < (int)sizeof h->bos ? n : 0] = 0;
    }
    atomic_store(&h->state, ST_OK);
}

void srv_http_set_error(srv_http *h) {
    atomic_store(&h->state, ST_ERROR);
}

void srv_http_quiesce(srv_http *h) {
    atomic_store(&h->state, ST_DRAINING);
    MHD_socket s = MHD_quiesce_daemon(h->d);
    if (s != MHD_INVALID_SOCKET) close(s);
}

int srv_http_active(srv_http *h) {
    return atomic_load(&h->active);
}

void srv_http_stop(srv_http *h) {
    if (!h) return;
    if (h->d) MHD_stop_daemon(h->d);
    free(h);
}
