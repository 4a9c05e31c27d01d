/* server/server.h — `edgellm serve`: the pieces of the server and how they meet.
 *
 *   http.c      libmicrohttpd, one thread per connection: routing, limits, API key, body
 *               accumulation, request validation (request.c), chat template + tokenizing,
 *               grammar compilation, then a job for the engine; waits for the job's output
 *               and writes it (JSON, or SSE as it comes).
 *   respond.c   job output → OpenAI response bodies and SSE chunks (<think> split, tool-call
 *               parsing, logprobs, usage, timings).
 *   engine.c    the ONE thread that owns the session: slots, bounded queue, continuous
 *               batching, prefix reuse, sampling (+ constrained decoding), stop strings.
 *   metrics.c   counters → Prometheus text.
 *   server.c    lifecycle: bind, load, serve, SIGINT/SIGTERM drain, exit.
 * Everything here sees the engine only through include/edgellm.h.
 *
 * A job is shared by its connection thread and the engine thread: reference counted (each
 * side drops its reference when done with it), inputs written before submit and read-only
 * after, outputs under the job's mutex, cancellation through an atomic flag the engine
 * checks at every step.
 */
#ifndef EL_SERVER_H
#define EL_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edgellm.h"
#include "server/json_constrain.h"
#include "server/request.h"

/* ---- configuration (cmd_serve.c fills it) ---------------------------------------------- */

typedef struct el_server_config {
    const char *model_path;
    const char *host;               /* default 127.0.0.1 */
    int port;                       /* 0: any free port (printed) */
    const char *api_key;            /* NULL: none (only allowed on loopback) */
    const char *alias;              /* model id in the API; default: file name */
    const char *chat_template_file; /* overrides the model's template */
    bool metrics;                   /* serve /metrics */
    int32_t n_ctx;                  /* positions per slot; 0: min(train ctx, 4096) */
    int32_t n_parallel;             /* slots */
    int32_t n_batch;                /* tokens per decode step */
    int32_t n_threads;
    el_kv_type type_k, type_v;
    int32_t queue_max;      /* waiting requests past the free slots; more → 503 */
    int32_t timeout_s;      /* generation time limit per request */
    size_t max_body;        /* request body bytes */
    int32_t max_conns;      /* open connections */
    int32_t idle_timeout_s; /* idle connection timeout */
    const char *port_file;  /* write the bound port here once listening */
} el_server_config;

void el_server_config_default(el_server_config *c);
/* Runs until SIGINT/SIGTERM (then drains in-flight requests) or a fatal error. Returns the
 * process exit status. */
int el_server_run(const el_server_config *c);

/* ---- jobs ------------------------------------------------------------------------------- */

typedef struct srv_lp { /* one generated token's logprobs */
    el_token id;
    float lp;
    int32_t n_top;
    el_token top_id[EL_REQ_MAX_TOP_LOGPROBS];
    float top_lp[EL_REQ_MAX_TOP_LOGPROBS];
} srv_lp;

typedef enum {
    SRV_RUNNING = 0,
    SRV_FINISH_STOP,   /* end of text, stop string, constrained output complete */
    SRV_FINISH_LENGTH, /* max_tokens, context full, time limit */
    SRV_FINISH_ERROR,
    SRV_FINISH_CANCELLED,
} srv_finish;

typedef struct srv_job {
    atomic_int refs;
    atomic_bool cancel; /* set by the connection when its client is gone */
    /* inputs: written before submit, read-only afterwards */
    el_req *req;      /* owned: sampling, stops, logprobs, bias */
    el_token *prompt; /* (n_prompt) owned */
    int32_t n_prompt;
    int32_t max_tokens;       /* > 0, already capped by the context */
    el_jc_grammar *grammar;   /* owned, or NULL: the whole output follows it */
    el_jc_grammar *lazy;      /* owned, or NULL: a tool-call grammar that takes over once the
                                 output shows lazy_trigger (tool_choice auto) */
    const char *lazy_trigger; /* static text, e.g. "<tool_call>" */
    bool lazy_once;           /* stop after the first call (parallel_tool_calls false) */
    bool detok_special;       /* print special tokens (chat: tool/think markers may be ones);
                                 the grammar mask always sees special tokens' text */
    double t_submit, deadline;
    /* outputs, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *text; /* generated text not yet taken */
    size_t n_text, cap_text;
    srv_lp *lps; /* logprob records not yet taken */
    int32_t n_lps, cap_lps;
    srv_finish finish;
    char error[256];
    int32_t n_cached; /* prompt tokens reused from the slot's cache */
    int32_t n_gen;    /* tokens generated */
    double t_start;   /* admitted to a slot */
    double t_first;   /* first token sampled */
    double t_end;
} srv_job;

srv_job *srv_job_new(void);
void srv_job_unref(srv_job *j);

/* ---- engine ------------------------------------------------------------------------------ */

typedef struct srv_engine srv_engine;

typedef struct srv_engine_params {
    int32_t n_slots, n_ctx, n_batch, n_threads, queue_max;
    el_kv_type type_k, type_v;
} srv_engine_params;

typedef struct srv_stats {
    int32_t n_slots, slots_busy, queue_depth;
    uint64_t kv_bytes;
    uint64_t prompt_tokens, prompt_tokens_cached, gen_tokens; /* totals */
    double prefill_s, decode_s; /* engine time spent on each (split by tokens per step) */
    uint64_t prefill_tokens;    /* tokens actually decoded as prompt */
    uint64_t decode_tokens;     /* tokens decoded one per slot per step */
    double ttft_sum_s;
    uint64_t ttft_count;
    uint64_t jobs_done, jobs_cancelled;
} srv_stats;

srv_engine *srv_engine_new(el_model *m, const srv_engine_params *p, char *err, size_t errlen);
/* Queues a job (takes a reference). 0; -1 queue full; -2 shutting down. */
int srv_engine_submit(srv_engine *e, srv_job *j);
/* Stops taking jobs and waits up to timeout_s for the queued and running ones; returns how
 * many are left. */
int srv_engine_drain(srv_engine *e, double timeout_s);
/* Ends every job now (finish reason "length"), e.g. on a second Ctrl-C. */
void srv_engine_abort(srv_engine *e);
void srv_engine_free(srv_engine *e);
int32_t srv_engine_n_ctx(const srv_engine *e);
void srv_engine_stats(srv_engine *e, srv_stats *out);

/* ---- responses ------------------------------------------------------------------------- */

typedef struct srv_out srv_out;

typedef struct srv_out_params {
    el_req_kind kind;
    bool stream;
    const char *model_name;
    const el_model *m;
    bool logprobs;
    int32_t top_logprobs;
    bool include_usage;
    bool split_reasoning; /* run the <think> splitter */
    bool prompt_in_think; /* the prompt opened a <think> block */
    int tool_format;      /* el_tc_format; EL_TC_NONE: no tool parsing */
} srv_out_params;

srv_out *srv_out_new(const srv_out_params *p);
void srv_out_free(srv_out *o);
/* Feeds newly generated text and logprob records. In stream mode SSE bytes accumulate. */
void srv_out_feed(srv_out *o, const char *text, size_t n, const srv_lp *lps, int32_t n_lps);
/* The job finished: flushes the parsers and writes the last chunks (stream) or the whole
 * response (non-stream) into the output buffer. */
void srv_out_finish(srv_out *o, const srv_job *j);
/* Output bytes ready to send (SSE text, or the JSON body after finish). */
const char *srv_out_bytes(const srv_out *o, size_t *n);
void srv_out_consume(srv_out *o, size_t n);
int srv_out_tool_calls(const srv_out *o);

/* {"error": {...}} body for an error (malloc'd). */
char *srv_error_json(const el_req_error *e);
/* random ids like "chatcmpl-..." (buf >= 40 bytes) */
void srv_make_id(char *buf, size_t cap, const char *prefix);

/* ---- http ------------------------------------------------------------------------------ */

typedef struct srv_http srv_http;
/* Listens (health answers "loading" until attach). NULL + err when it cannot bind. */
srv_http *srv_http_start(const el_server_config *c, char *err, size_t errlen);
int srv_http_port(const srv_http *h);
/* The model is ready: requests are served from now on. tmpl may be NULL (no chat). */
void srv_http_attach(srv_http *h, el_model *m, srv_engine *e, el_chat_template *tmpl);
void srv_http_set_error(srv_http *h);
/* Stops accepting connections; requests on open ones get 503. */
void srv_http_quiesce(srv_http *h);
int srv_http_active(srv_http *h); /* requests with a job still being answered */
void srv_http_stop(srv_http *h);  /* closes every connection and frees h */
/* Whether host resolves to a loopback address. 0 or -1 (cannot resolve). */
int srv_host_is_loopback(const char *host, bool *loopback, char *err, size_t errlen);

/* ---- metrics ------------------------------------------------------------------------- */

typedef struct srv_http_counters {
    atomic_ullong requests[3][5]; /* [chat, completions, other][1xx..5xx] */
    atomic_ullong rejected_busy;
    atomic_ullong disconnects;
} srv_http_counters;

/* Prometheus text exposition (malloc'd). */
char *srv_metrics_text(const srv_stats *s, const srv_http_counters *h, double uptime_s);

#endif
