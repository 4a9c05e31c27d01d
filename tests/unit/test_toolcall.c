/* test_toolcall — tool-call parsing (src/server/toolcall.c) and the <think> splitter
 * (src/server/reasoning.c): every case is fed whole, one byte at a time and in random
 * pieces, and must give the same content / calls / reasoning each way; family detection from
 * the real chat templates in the shared test data. */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "core/core.h"
#include "server/reasoning.h"
#include "server/toolcall.h"
#include "test.h"

typedef struct result {
    char content[4096];
    int n_calls;
    char name[8][64];
    char args[8][1024];
    int events; /* sink calls, to see that streaming happens in pieces */
} result;

static void cat(char *dst, size_t cap, const char *s, size_t n) {
    size_t l = strlen(dst);
    if (l + n + 1 > cap) n = cap - l - 1;
    memcpy(dst + l, s, n);
    dst[l + n] = 0;
}
static void on_content(void *u, const char *s, size_t n) {
    result *r = u;
    r->events++;
    cat(r->content, sizeof r->content, s, n);
}
static void on_call(void *u, int idx, const char *s, size_t n) {
    result *r = u;
    r->events++;
    CHECK(idx == r->n_calls, "calls are numbered in order (%d vs %d)", idx, r->n_calls);
    if (idx < 0 || idx >= 8) return;
    r->n_calls = idx + 1;
    snprintf(r->name[idx], sizeof r->name[idx], "%.*s", (int)n, s);
}
static void on_args(void *u, int idx, const char *s, size_t n) {
    result *r = u;
    r->events++;
    CHECK(idx >= 0 && idx < r->n_calls, "args for a started call");
    if (idx < 0 || idx >= 8) return;
    cat(r->args[idx], sizeof r->args[idx], s, n);
}

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* mode 0: whole, 1: bytes, 2: random pieces */
static void run_tc(el_tc_format f, const char *text, int mode, result *r) {
    memset(r, 0, sizeof *r);
    el_tc_parser *p = el_tc_new(f);
    el_tc_sink k = {r, on_content, on_call, on_args};
    size_t n = strlen(text);
    for (size_t i = 0; i < n;) {
        size_t step = mode == 0 ? n : mode == 1 ? 1 : 1 + rnd() % 7;
        if (step > n - i) step = n - i;
        el_tc_push(p, text + i, step, &k);
        i += step;
    }
    el_tc_finish(p, &k);
    CHECK(el_tc_calls(p) == r->n_calls);
    el_tc_free(p);
}

/* checks one case in every feeding mode; args compared as JSON */
static void expect(el_tc_format f, const char *text, const char *content, int n_calls,
                   const char *const *names, const char *const *args) {
    for (int mode = 0; mode < 3; mode++) {
        result r;
        run_tc(f, text, mode, &r);
        CHECK(!strcmp(r.content, content), "[%s mode %d] content '%s' want '%s'",
              el_tc_format_name(f), mode, r.content, content);
        CHECK(r.n_calls == n_calls, "[mode %d] %d calls, want %d in '%s'", mode, r.n_calls, n_calls,
              text);
        for (int i = 0; i < n_calls && i < r.n_calls; i++) {
            CHECK(!strcmp(r.name[i], names[i]), "name '%s' want '%s'", r.name[i], names[i]);
            cJSON *a = cJSON_Parse(r.args[i]), *b = cJSON_Parse(args[i]);
            CHECK(a && b && cJSON_Compare(a, b, true), "[mode %d] args '%s' want '%s'", mode,
                  r.args[i], args[i]);
            cJSON_Delete(a);
            cJSON_Delete(b);
        }
    }
}

static void test_hermes(void) {
    const char *n1[] = {"get_weather"}, *a1[] = {"{\"city\": \"Paris\", \"unit\": \"c\"}"};
    expect(EL_TC_HERMES,
           "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", "
           "\"unit\": \"c\"}}\n</tool_call>",
           "", 1, n1, a1);
    expect(EL_TC_HERMES,
           "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
           "\"Paris\", \"unit\": \"c\"}}\n</tool_call>",
           "Let me check.\n", 1, n1, a1);
    const char *n2[] = {"get_time", "calculator"};
    const char *a2[] = {"{\"tz\": \"UTC\"}", "{\"expr\": \"1+{2}\\\"}\"}"};
    expect(EL_TC_HERMES,
           "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"UTC\"}}\n</tool_call>\n"
           "<tool_call>\n{\"name\":\"calculator\",\"arguments\":{\"expr\": \"1+{2}\\\"}\"}}\n"
           "</tool_call>",
           "\n", 2, n2, a2);
    /* arguments before name: parsed whole */
    const char *n3[] = {"f"}, *a3[] = {"{\"x\": [1, 2]}"};
    expect(EL_TC_HERMES, "<tool_call>{\"arguments\": {\"x\": [1, 2]}, \"name\": \"f\"}</tool_call>",
           "", 1, n3, a3);
    /* string arguments (some models double-encode) */
    expect(EL_TC_HERMES,
           "<tool_call>{\"arguments\": \"{\\\"x\\\": [1, 2]}\", \"name\": \"f\"}</tool_call>", "",
           1, n3, a3);
    /* not a call: comes back as content, unchanged */
    expect(EL_TC_HERMES, "<tool_call>not json</tool_call> ok", "<tool_call>not json</tool_call> ok",
           0, NULL, NULL);
    expect(EL_TC_HERMES, "a < b and <tool_ca", "a < b and <tool_ca", 0, NULL, NULL);
    expect(EL_TC_HERMES, "plain answer", "plain answer", 0, NULL, NULL);
    /* unterminated call at the end of generation: whole JSON still counts */
    expect(EL_TC_HERMES, "<tool_call>\n{\"arguments\": {}, \"name\": \"f\"}", "", 1, n3,
           (const char *[]){"{}"});
    /* arguments stream in pieces */
    result r;
    run_tc(EL_TC_HERMES,
           "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
           "</tool_call>",
           1, &r);
    CHECK(r.events > 10, "byte feeding streams the arguments (%d events)", r.events);
}

static void test_llama3(void) {
    const char *n1[] = {"get_weather"}, *a1[] = {"{\"city\": \"Oslo\"}"};
    expect(EL_TC_LLAMA3, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}", "", 1,
           n1, a1);
    expect(EL_TC_LLAMA3,
           "<|python_tag|>{\"type\": \"function\", \"name\": \"get_weather\", \"parameters\": "
           "{\"city\": \"Oslo\"}}",
           "", 1, n1, a1);
    expect(EL_TC_LLAMA3, "  The answer is {1}.", "  The answer is {1}.", 0, NULL, NULL);
    expect(EL_TC_LLAMA3, "{\"not\": \"a call\"}", "{\"not\": \"a call\"}", 0, NULL, NULL);
    expect(EL_TC_LLAMA3, "{\"name\": \"get_weather\"", "{\"name\": \"get_weather\"", 0, NULL, NULL);
}

static void test_mistral(void) {
    const char *n2[] = {"a", "b"}, *a2[] = {"{\"x\": 1}", "{}"};
    expect(EL_TC_MISTRAL,
           "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"x\": 1}}, {\"name\": \"b\", "
           "\"arguments\": {}}]",
           "", 2, n2, a2);
    const char *n1[] = {"get_time"}, *a1[] = {"{\"tz\": \"CET\"}"};
    expect(EL_TC_MISTRAL, "ok [TOOL_CALLS]get_time[ARGS]{\"tz\": \"CET\"}", "ok ", 1, n1, a1);
    expect(EL_TC_MISTRAL, "[TOOL_CALLS] [oops", "[TOOL_CALLS][oops", 0, NULL, NULL);
    expect(EL_TC_MISTRAL, "no calls [TOOL", "no calls [TOOL", 0, NULL, NULL);
}

static void test_detect(void) {
    struct {
        const char *file;
        el_tc_format want;
    } cases[] = {
        {"chat_templates/Qwen-Qwen3-0.6B.jinja", EL_TC_HERMES},
        {"chat_templates/Qwen-Qwen2.5-7B-Instruct.jinja", EL_TC_HERMES},
        {"chat_templates/meta-llama-Llama-3.1-8B-Instruct.jinja", EL_TC_LLAMA3},
        {"chat_templates/meta-llama-Llama-3.2-3B-Instruct.jinja", EL_TC_LLAMA3},
        {"chat_templates/mistralai-Mistral-Nemo-Instruct-2407.jinja", EL_TC_MISTRAL},
    };
    for (size_t i = 0; i < EL_ARRAY_LEN(cases); i++) {
        char *t = el_read_file(el_testdata(cases[i].file), NULL);
        CHECK(t != NULL, "read %s", cases[i].file);
        if (!t) continue;
        CHECK(el_tc_detect(t) == cases[i].want, "%s: %s", cases[i].file,
              el_tc_format_name(el_tc_detect(t)));
        free(t);
    }
    CHECK(el_tc_detect(NULL) == EL_TC_HERMES);
    const char *pre, *suf, *nk, *ak;
    el_tc_wrapper(EL_TC_LLAMA3, &pre, &suf, &nk, &ak);
    CHECK(!strcmp(ak, "parameters") && !*pre);
}

/* ---- reasoning ---- */

typedef struct think_out {
    char ch[2][2048];
} think_out;
static void on_think(void *u, int ch, const char *s, size_t n) {
    think_out *o = u;
    CHECK(n > 0, "no empty pieces");
    cat(o->ch[ch], sizeof o->ch[ch], s, n);
}

static void expect_think(bool open, const char *text, const char *reasoning, const char *content) {
    for (int mode = 0; mode < 3; mode++) {
        think_out o;
        memset(&o, 0, sizeof o);
        el_think t;
        el_think_init(&t, open);
        size_t n = strlen(text);
        for (size_t i = 0; i < n;) {
            size_t step = mode == 0 ? n : mode == 1 ? 1 : 1 + rnd() % 5;
            if (step > n - i) step = n - i;
            el_think_push(&t, text + i, step, on_think, &o);
            i += step;
        }
        el_think_finish(&t, on_think, &o);
        el_think_free(&t);
        CHECK(!strcmp(o.ch[EL_THINK_REASONING], reasoning), "[mode %d] reasoning '%s' want '%s'",
              mode, o.ch[1], reasoning);
        CHECK(!strcmp(o.ch[EL_THINK_CONTENT], content), "[mode %d] content '%s' want '%s'", mode,
              o.ch[0], content);
    }
}

static void test_reasoning(void) {
    expect_think(false, "<think>\nLet me see.\n\nOK.\n</think>\n\nIt is 4.", "Let me see.\n\nOK.",
                 "It is 4.");
    expect_think(false, "\n<think></think>Hi", "", "Hi");
    expect_think(false, "No thinking here <think>x</think>", "",
                 "No thinking here <think>x</think>");
    expect_think(true, "\nstill thinking\n</think>\n\nanswer", "still thinking", "answer");
    expect_think(false, "<think>\nunfinished thought\n\n", "unfinished thought", "");
    expect_think(false, "<thi", "", "<thi");
    expect_think(false, "<think>a </thin b</think> c", "a </thin b", "c");
    expect_think(false, "", "", "");
    CHECK(el_think_prompt_open("<|im_start|>assistant\n<think>\n", 30));
    CHECK(!el_think_prompt_open("<think>\n\n</think>\n\n", 19));
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_hermes);
    RUN(test_llama3);
    RUN(test_mistral);
    RUN(test_detect);
    RUN(test_reasoning);
    return test_summary(argv[0]);
}
