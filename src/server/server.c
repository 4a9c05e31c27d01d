/* server/server.c — the life of `edgellm serve`: check the bind address against the API
 * key rule, listen (health says "loading"), load the model and its chat template, start the
 * engine, serve until SIGINT/SIGTERM, then drain: stop accepting, let in-flight responses
 * finish (a second signal ends them at once, with finish_reason "length"), close, exit 0.
 *
 * Signals are blocked in every thread (the mask is set before any thread starts) and taken
 * synchronously here with sigwait, so no code runs in signal context at all.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "server/server.h"
#include "server/toolcall.h"

void el_server_config_default(el_server_config *c) {
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8080;
    c->n_parallel = 2;
    c->n_batch = 512;
    c->type_k = EL_KV_F16;
    c->type_v = EL_KV_F16;
    c->queue_max = 64;
    c->timeout_s = 600;
    c->max_body = 4u << 20;
    c->max_conns = 256;
    c->idle_timeout_s = 60;
}

static char *read_text(const char *path, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        el_errf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    while (p) {
        if (n + 1024 > cap) {
            if (cap > (16u << 20)) {
                el_errf(err, errlen, "%s: larger than 16 MiB", path);
                free(p);
                p = NULL;
                break;
            }
            char *q = realloc(p, cap *= 2);
            if (!q) {
                free(p);
                p = NULL;
                break;
            }
            p = q;
        }
        size_t k = fread(p + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0) break;
    }
    fclose(f);
    if (!p) {
        if (err && !err[0]) el_errf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    p[n] = 0;
    *len = n;
    return p;
}

int el_server_run(const el_server_config *c) {
    char err[512] = "";
    bool loopback = false;
    if (srv_host_is_loopback(c->host, &loopback, err, sizeof err)) {
        fprintf(stderr, "edgellm serve: %s\n", err);
        return 2;
    }
    if (!loopback && !c->api_key) {
        fprintf(stderr,
                "edgellm serve: binding to %s (not a loopback address) needs an API key: "
                "--api-key KEY or EDGELLM_API_KEY\n",
                c->host);
        return 2;
    }
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    el_model *m = NULL;
    el_chat_template *tmpl = NULL;
    srv_engine *e = NULL;
    srv_http *h = srv_http_start(c, err, sizeof err);
    if (!h) {
        fprintf(stderr, "edgellm serve: %s\n", err);
        goto out;
    }
    int port = srv_http_port(h);
    bool v6 = strchr(c->host, ':') != NULL;
    fprintf(stderr, "edgellm serve: listening on http://%s%s%s:%d (loading %s)\n", v6 ? "[" : "",
            c->host, v6 ? "]" : "", port, c->model_path);
    if (c->port_file) {
        FILE *f = fopen(c->port_file, "w");
        if (f) {
            fprintf(f, "%d\n", port);
            fclose(f);
        }
    }
    double t0 = el_now();
    m = el_model_open(c->model_path, err, sizeof err);
    if (!m) {
        srv_http_set_error(h);
        fprintf(stderr, "edgellm serve: %s\n", err);
        goto out;
    }
    if (c->chat_template_file) {
        size_t len = 0;
        char *src = read_text(c->chat_template_file, &len, err, sizeof err);
        tmpl = src ? el_chat_template_open(m, src, len, err, sizeof err) : NULL;
        free(src);
        if (!tmpl) {
            srv_http_set_error(h);
            fprintf(stderr, "edgellm serve: --chat-template-file: %s\n", err);
            goto out;
        }
    } else {
        tmpl = el_chat_template_open(m, NULL, 0, err, sizeof err);
        if (!tmpl)
            fprintf(stderr,
                    "edgellm serve: no usable chat template (%s): /v1/chat/completions will answer "
                    "400, /v1/completions works\n",
                    err);
    }
    srv_engine_params ep = {
        .n_slots = c->n_parallel,
        .n_ctx = c->n_ctx,
        .n_batch = c->n_batch,
        .n_threads = c->n_threads,
        .queue_max = c->queue_max,
        .type_k = c->type_k,
        .type_v = c->type_v,
    };
    e = srv_engine_new(m, &ep, err, sizeof err);
    if (!e) {
        srv_http_set_error(h);
        fprintf(stderr, "edgellm serve: %s\n", err);
        goto out;
    }
    srv_http_attach(h, m, e, tmpl);
    srv_stats st;
    srv_engine_stats(e, &st);
    fprintf(stderr,
            "edgellm serve: ready in %.1f s: %d slot%s x %d tokens of context, KV cache %.1f MiB, "
            "tool calls: %s\n",
            el_now() - t0, c->n_parallel, c->n_parallel == 1 ? "" : "s", srv_engine_n_ctx(e),
            (double)st.kv_bytes / (1 << 20),
            tmpl ? el_tc_format_name(el_tc_detect(el_chat_template_source(tmpl))) : "none");

    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    fprintf(stderr, "edgellm serve: %s: finishing %d request(s); again to stop at once\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", srv_http_active(h));
    srv_http_quiesce(h);
    srv_engine_drain(e, 0); /* no new jobs; the running ones go on */
    double end = el_now() + (c->timeout_s > 0 ? c->timeout_s : 600) + 5;
    bool aborted = false;
    while (srv_http_active(h) > 0) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        bool again = sigtimedwait(&set, NULL, &ts) > 0;
        if (!aborted && (again || el_now() > end)) { /* second signal, or past the time limit */
            fprintf(stderr, "edgellm serve: stopping now\n");
            srv_engine_abort(e);
            aborted = true;
            end = el_now() + 5; /* the aborted responses end within a step or two */
        } else if (aborted && el_now() > end) {
            break;
        }
    }
    rc = 0;
out:
    srv_http_stop(h); /* closes the remaining (idle) connections, joins their threads */
    srv_engine_free(e);
    el_chat_template_close(tmpl);
    el_model_close(m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) fprintf(stderr, "edgellm serve: stopped\n");
    return rc;
}
