/* server/metrics.c — the server's counters in Prometheus' text exposition format (0.0.4).
 * Counters are totals since start; the tokens-per-second gauges are ratios of those totals
 * (engine time spent on prefill / decode, split by each step's token mix), so they describe
 * the whole run rather than the last second — scrape twice and diff the *_total series for a
 * rate. Memory: one malloc'd string per scrape. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "server/server.h"

typedef struct mbuf {
    char *p;
    size_t n, cap;
} mbuf;

static void put(mbuf *b, const char *fmt, ...) EL_PRINTF(2, 3);
static void put(mbuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + (size_t)k + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return;
        b->p = p;
        b->cap = cap;
    }
}

static void metric(mbuf *b, const char *name, const char *type, const char *help) {
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *srv_metrics_text(const srv_stats *s, const srv_http_counters *h, double uptime_s) {
    mbuf b = {0};
    static const char *const ep[3] = {"chat", "completions", "other"};
    metric(&b, "edgellm_requests_total", "counter",
           "HTTP requests answered, by endpoint and status class.");
    for (int e = 0; e < 3; e++)
        for (int k = 0; k < 5; k++) {
            unsigned long long v = atomic_load(&h->requests[e][k]);
            if (v || k == 1)
                put(&b, "edgellm_requests_total{endpoint=\"%s\",code=\"%dxx\"} %llu\n", ep[e],
                    k + 1, v);
        }
    metric(&b, "edgellm_requests_rejected_total", "counter",
           "Requests refused with 503 because every slot was busy and the queue was full.");
    put(&b, "edgellm_requests_rejected_total %llu\n",
        (unsigned long long)atomic_load(&h->rejected_busy));
    metric(&b, "edgellm_client_disconnects_total", "counter",
           "Requests whose client went away before the answer was complete.");
    put(&b, "edgellm_client_disconnects_total %llu\n",
        (unsigned long long)atomic_load(&h->disconnects));
    metric(&b, "edgellm_prompt_tokens_total", "counter",
           "Prompt tokens of finished requests (tokens in).");
    put(&b, "edgellm_prompt_tokens_total %llu\n", (unsigned long long)s->prompt_tokens);
    metric(&b, "edgellm_prompt_tokens_cached_total", "counter",
           "Prompt tokens found in a slot's cache and not computed again (prefix reuse).");
    put(&b, "edgellm_prompt_tokens_cached_total %llu\n",
        (unsigned long long)s->prompt_tokens_cached);
    metric(&b, "edgellm_generated_tokens_total", "counter", "Tokens generated (tokens out).");
    put(&b, "edgellm_generated_tokens_total %llu\n", (unsigned long long)s->gen_tokens);
    metric(&b, "edgellm_prefill_tokens_total", "counter", "Prompt tokens run through the model.");
    put(&b, "edgellm_prefill_tokens_total %llu\n", (unsigned long long)s->prefill_tokens);
    metric(&b, "edgellm_prefill_seconds_total", "counter", "Engine time spent on prompt tokens.");
    put(&b, "edgellm_prefill_seconds_total %.6f\n", s->prefill_s);
    metric(&b, "edgellm_decode_tokens_total", "counter", "Tokens decoded one per slot per step.");
    put(&b, "edgellm_decode_tokens_total %llu\n", (unsigned long long)s->decode_tokens);
    metric(&b, "edgellm_decode_seconds_total", "counter", "Engine time spent on decode tokens.");
    put(&b, "edgellm_decode_seconds_total %.6f\n", s->decode_s);
    metric(&b, "edgellm_prefill_tokens_per_second", "gauge",
           "Prompt tokens per second of engine time since start.");
    put(&b, "edgellm_prefill_tokens_per_second %.3f\n",
        s->prefill_s > 0 ? (double)s->prefill_tokens / s->prefill_s : 0.0);
    metric(&b, "edgellm_decode_tokens_per_second", "gauge",
           "Decoded tokens per second of engine time since start (all slots together).");
    put(&b, "edgellm_decode_tokens_per_second %.3f\n",
        s->decode_s > 0 ? (double)s->decode_tokens / s->decode_s : 0.0);
    metric(&b, "edgellm_time_to_first_token_seconds", "summary",
           "From request arrival to its first generated token.");
    put(&b, "edgellm_time_to_first_token_seconds_sum %.6f\n", s->ttft_sum_s);
    put(&b, "edgellm_time_to_first_token_seconds_count %llu\n", (unsigned long long)s->ttft_count);
    metric(&b, "edgellm_requests_cancelled_total", "counter",
           "Generations stopped because their client disconnected.");
    put(&b, "edgellm_requests_cancelled_total %llu\n", (unsigned long long)s->jobs_cancelled);
    metric(&b, "edgellm_queue_depth", "gauge", "Requests waiting for a slot.");
    put(&b, "edgellm_queue_depth %d\n", s->queue_depth);
    metric(&b, "edgellm_slots_busy", "gauge", "Slots serving a request.");
    put(&b, "edgellm_slots_busy %d\n", s->slots_busy);
    metric(&b, "edgellm_slots_total", "gauge", "Slots (sequences decoded together).");
    put(&b, "edgellm_slots_total %d\n", s->n_slots);
    metric(&b, "edgellm_kv_cache_bytes", "gauge", "Bytes held by the KV cache of all slots.");
    put(&b, "edgellm_kv_cache_bytes %llu\n", (unsigned long long)s->kv_bytes);
    metric(&b, "edgellm_uptime_seconds", "gauge", "Seconds since the server started.");
    put(&b, "edgellm_uptime_seconds %.0f\n", uptime_s);
    return b.p;
}
