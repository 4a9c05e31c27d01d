/* test_serve_engine — the server's engine worker (src/server/engine.c) driven directly, on a
 * tiny synthesized qwen3: greedy output is the same alone and batched with other requests
 * (continuous batching changes no result), a follow-up prompt reuses the slot's cache,
 * max_tokens / stop strings / json grammar end generation as they should, the lazy tool-call
 * grammar takes over after its trigger and completes a valid call, a cancelled job frees its
 * slot, and the queue bound refuses what does not fit. */
#include <time.h>

#include <cjson/cJSON.h>

#include "core/core.h"
#include "engine/synth.h"
#include "server/server.h"
#include "test.h"

static el_model *model;

static srv_job *job(const char *prompt, int32_t max_tokens) {
    srv_job *j = srv_job_new();
    j->req = calloc(1, sizeof *j->req);
    el_sampling_default(&j->req->sampling);
    j->req->sampling.temp = 0; /* greedy */
    j->prompt = malloc(512 * sizeof *j->prompt);
    j->n_prompt = el_tokenize(model, prompt, strlen(prompt), true, true, j->prompt, 512);
    j->max_tokens = max_tokens;
    j->detok_special = true; /* as chat requests print */
    j->t_submit = el_now();
    j->deadline = j->t_submit + 60;
    return j;
}

/* waits for the job to finish; returns its text (static buffer) */
static const char *wait_text(srv_job *j, char *out, size_t cap) {
    pthread_mutex_lock(&j->mu);
    while (j->finish == SRV_RUNNING) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    }
    size_t n = EL_MIN(j->n_text, cap - 1);
    memcpy(out, j->text ? j->text : "", n);
    out[n] = 0;
    pthread_mutex_unlock(&j->mu);
    return out;
}

static srv_engine *engine(int slots, int queue) {
    char err[256];
    srv_engine_params p = {.n_slots = slots,
                           .n_ctx = 1024,
                           .n_batch = 64,
                           .n_threads = 1,
                           .queue_max = queue,
                           .type_k = EL_KV_F32,
                           .type_v = EL_KV_F32};
    srv_engine *e = srv_engine_new(model, &p, err, sizeof err);
    CHECK(e != NULL, "%s", err);
    return e;
}

static void test_batching_and_reuse(void) {
    srv_engine *e = engine(3, 8);
    if (!e) return;
    const char *prompts[3] = {"hello there", "a b c d e f g", "zzz"};
    char alone[3][2048], together[3][2048];
    for (int i = 0; i < 3; i++) {
        srv_job *j = job(prompts[i], 24);
        REQUIRE(srv_engine_submit(e, j) == 0);
        wait_text(j, alone[i], sizeof alone[i]);
        CHECK(j->finish == SRV_FINISH_STOP || j->finish == SRV_FINISH_LENGTH);
        CHECK(j->n_gen >= 1 && j->n_gen <= 24);
        srv_job_unref(j);
    }
    srv_engine_free(e);
    e = engine(3, 8); /* cold caches: the three run together, prompts prefilled in one batch */
    srv_job *js[3];
    for (int i = 0; i < 3; i++) {
        js[i] = job(prompts[i], 24);
        REQUIRE(srv_engine_submit(e, js[i]) == 0);
    }
    for (int i = 0; i < 3; i++) {
        wait_text(js[i], together[i], sizeof together[i]);
        CHECK(!strcmp(alone[i], together[i]), "prompt %d: batched output differs:\n'%s'\n'%s'", i,
              alone[i], together[i]);
        CHECK(js[i]->n_cached == 0);
    }
    /* the next turn of prompt 1 finds its tokens in a slot */
    char next[4096];
    snprintf(next, sizeof next, "%s%s and more", prompts[1], together[1]);
    srv_job *f = job(next, 4);
    REQUIRE(srv_engine_submit(e, f) == 0);
    char out[2048];
    wait_text(f, out, sizeof out);
    CHECK(f->n_cached >= js[1]->n_prompt, "follow-up reused %d tokens (first prompt %d)",
          f->n_cached, js[1]->n_prompt);
    srv_stats st;
    srv_engine_stats(e, &st);
    CHECK(st.prompt_tokens_cached >= (uint64_t)f->n_cached && st.jobs_done == 4 &&
          st.slots_busy == 0);
    for (int i = 0; i < 3; i++)
        srv_job_unref(js[i]);
    srv_job_unref(f);
    srv_engine_free(e);
}

static void test_stops_and_grammar(void) {
    srv_engine *e = engine(2, 4);
    if (!e) return;
    char full[2048], cut[2048];
    srv_job *a = job("once upon", 30);
    REQUIRE(srv_engine_submit(e, a) == 0);
    wait_text(a, full, sizeof full);
    CHECK(a->finish == SRV_FINISH_LENGTH || a->n_gen < 30, "max_tokens");
    size_t L = strlen(full), at3 = L / 2; /* a stop string from the middle of the output: */
    while (at3 + 3 <= L &&
           !((unsigned char)full[at3] < 0x80 && (unsigned char)full[at3 + 1] < 0x80 &&
             (unsigned char)full[at3 + 2] < 0x80)) /* whole (ASCII) characters */
        at3++;
    if (at3 + 3 <= L) {
        srv_job *b = job("once upon", 30);
        b->req->stops[0] = strndup(full + at3, 3);
        b->req->n_stops = 1;
        REQUIRE(srv_engine_submit(e, b) == 0);
        wait_text(b, cut, sizeof cut);
        const char *at = strstr(full, b->req->stops[0]);
        CHECK(b->finish == SRV_FINISH_STOP && at && strlen(cut) == (size_t)(at - full) &&
                  !strncmp(cut, full, strlen(cut)),
              "stop string: '%s' in '%s' gave '%s'", b->req->stops[0], full, cut);
        srv_job_unref(b);
    }
    /* json grammar: the output is one JSON object of the schema, and generation ends there */
    char err[256];
    cJSON *schema = cJSON_Parse("{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"string\","
                                "\"maxLength\":5},\"n\":{\"type\":\"integer\",\"minimum\":1,"
                                "\"maximum\":9}},\"required\":[\"k\",\"n\"]}");
    srv_job *g = job("json please", 200);
    g->grammar = el_jc_compile(schema, err, sizeof err);
    REQUIRE(g->grammar, "%s", err);
    REQUIRE(srv_engine_submit(e, g) == 0);
    wait_text(g, cut, sizeof cut);
    cJSON *v = cJSON_Parse(cut);
    CHECK(g->finish == SRV_FINISH_STOP && v && cJSON_IsString(cJSON_GetObjectItem(v, "k")) &&
              cJSON_GetObjectItem(v, "n")->valueint >= 1 &&
              cJSON_GetObjectItem(v, "n")->valueint <= 9,
          "json output '%s'", cut);
    cJSON_Delete(v);
    cJSON_Delete(schema);
    srv_job_unref(g);
    srv_job_unref(a);
    srv_engine_free(e);
}

static void test_lazy_tool_grammar(void) {
    srv_engine *e = engine(1, 4);
    if (!e) return;
    /* the greedy output without grammar; its first token becomes the trigger, so the model is
     * sure to "start a call" at a known place */
    char free_text[2048], out[4096], err[256], trigger[64];
    srv_job *a = job("call a tool", 12);
    a->req->logprobs = true; /* to learn the first token */
    REQUIRE(srv_engine_submit(e, a) == 0);
    wait_text(a, free_text, sizeof free_text);
    REQUIRE(a->n_lps > 0);
    int tn = el_token_text(model, a->lps[0].id, true, trigger, (int)sizeof trigger - 1);
    srv_job_unref(a);
    REQUIRE(tn > 0 && tn < (int)sizeof trigger, "first token text");
    trigger[tn] = 0;
    cJSON *params = cJSON_Parse("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
                                "\"string\",\"maxLength\":6}},\"required\":[\"city\"]}");
    const char *names[] = {"get_weather"};
    const cJSON *ps[] = {params};
    for (int once = 1; once >= 0; once--) {
        srv_job *j = job("call a tool", 400);
        j->lazy = el_jc_compile_tools(trigger, "\n</tool_call>", "name", "arguments", names, ps, 1,
                                      err, sizeof err);
        REQUIRE(j->lazy, "%s", err);
        j->lazy_trigger = trigger;
        j->lazy_once = once;
        REQUIRE(srv_engine_submit(e, j) == 0);
        wait_text(j, out, sizeof out);
        const char *at = strstr(out, trigger);
        CHECK(at == out, "the trigger comes where the free model put it: '%s'", out);
        const char *end = at ? strstr(at, "\n</tool_call>") : NULL;
        CHECK(end != NULL, "the call is completed with its suffix: '%s'", out);
        if (at && end) {
            char *body = strndup(at + strlen(trigger), (size_t)(end - at) - strlen(trigger));
            cJSON *v = cJSON_Parse(body);
            cJSON *args = cJSON_GetObjectItem(v, "arguments");
            CHECK(v && !strcmp(cJSON_GetObjectItem(v, "name")->valuestring, "get_weather") &&
                      cJSON_IsString(cJSON_GetObjectItem(args, "city")),
                  "a valid call: '%s'", body);
            cJSON_Delete(v);
            free(body);
            if (once)
                CHECK(j->finish == SRV_FINISH_STOP && end[13] == 0,
                      "parallel_tool_calls false: generation ends after the call: '%s'", out);
        }
        srv_job_unref(j);
    }
    cJSON_Delete(params);
    srv_engine_free(e);
}

static void test_cancel_and_queue(void) {
    srv_engine *e = engine(1, 1);
    if (!e) return;
    srv_job *a = job("long", 900);
    a->req->ignore_eos = true;
    REQUIRE(srv_engine_submit(e, a) == 0);
    srv_job *b = job("second", 900), *c = job("third", 4);
    int rb = srv_engine_submit(e, b), rc = srv_engine_submit(e, c);
    CHECK(rb == 0, "one request may wait (queue 1)");
    CHECK(rc == -1, "the next is refused (queue full): %d", rc);
    atomic_store(&a->cancel, true);
    atomic_store(&b->cancel, true);
    char out[8192];
    double t0 = el_now();
    wait_text(a, out, sizeof out);
    wait_text(b, out, sizeof out);
    CHECK(a->finish == SRV_FINISH_CANCELLED && b->finish == SRV_FINISH_CANCELLED);
    CHECK(a->n_gen < 900, "cancel stopped generation (%d tokens)", a->n_gen);
    CHECK(el_now() - t0 < 5);
    CHECK(srv_engine_submit(e, c) == 0, "room again");
    wait_text(c, out, sizeof out);
    CHECK(c->finish != SRV_FINISH_CANCELLED);
    srv_stats st;
    srv_engine_stats(e, &st);
    CHECK(st.jobs_cancelled == 2 && st.slots_busy == 0 && st.queue_depth == 0);
    CHECK(srv_engine_drain(e, 1.0) == 0);
    srv_job *d = job("late", 4);
    CHECK(srv_engine_submit(e, d) == -2, "no new jobs once draining");
    srv_job_unref(a);
    srv_job_unref(b);
    srv_job_unref(c);
    srv_job_unref(d);
    srv_engine_free(e);
}

int main(int argc, char **argv) {
    (void)argc;
    char err[512], path[512];
    el_synth_params p;
    snprintf(path, sizeof path, "%s/q3.gguf", el_tmpdir());
    int bad = el_synth_preset("tiny-qwen3", &p, err, sizeof err);
    p.n_ctx = 2048;
    if (bad || el_synth_write(&p, path, err, sizeof err) ||
        !(model = el_model_open(path, err, sizeof err))) {
        CHECK(0, "model: %s", err);
        return test_summary(argv[0]);
    }
    RUN(test_batching_and_reuse);
    RUN(test_stops_and_grammar);
    RUN(test_lazy_tool_grammar);
    RUN(test_cancel_and_queue);
    el_model_close(model);
    return test_summary(argv[0]);
}
