/* tests/unit/test_template.c — chat templates (src/tok/template.h).
 *
 * Golden: every real template in $EL_TESTDATA/chat_templates rendered over every
 * conversation of tests/golden/templates/conversations.json must equal, byte for byte, what
 * real Jinja2 produced in transformers' setup (tools/render_template_golden.py wrote the
 * expected files); where Jinja raised, el_tmpl_render must fail too. cases.jsonl does the
 * same for ~160 small templates that exercise the Jinja subset one feature at a time.
 * Then: errors carry line:col, unsupported constructs are named, hostile templates stop at
 * the limits, the API rejects bad input, and concurrent renders of one template agree.
 */
#include "test.h"

#include <cjson/cJSON.h>
#include <pthread.h>

#include "tok/jinja.h"
#include "tok/template.h"

#define GOLDEN "tests/golden/templates/"

static char *read_golden(const char *rel) {
    char path[1024];
    snprintf(path, sizeof path, GOLDEN "%s", rel);
    return el_read_file(path, NULL);
}

static void show_diff(const char *what, const char *got, const char *want) {
    size_t i = 0;
    while (got[i] && got[i] == want[i])
        i++;
    size_t from = i > 60 ? i - 60 : 0;
    fprintf(stderr, "  %s: first difference at byte %zu\n  got:  [%.120s]\n  want: [%.120s]\n",
            what, i, got + from, want + from);
}

static cJSON *load_spec(void) {
    char *text = read_golden("conversations.json");
    if (!text) return NULL;
    cJSON *spec = cJSON_Parse(text);
    free(text);
    return spec;
}

static void test_golden_templates(void) {
    cJSON *spec = load_spec();
    REQUIRE(spec, "cannot read " GOLDEN "conversations.json");
    double now = cJSON_GetObjectItem(spec, "now")->valuedouble;
    cJSON *tokens = cJSON_GetObjectItem(spec, "special_tokens");
    cJSON *convs = cJSON_GetObjectItem(spec, "conversations");
    int templates = 0, renders = 0, errors = 0;
    for (cJSON *tk = tokens ? tokens->child : NULL; tk; tk = tk->next) {
        char rel[256];
        snprintf(rel, sizeof rel, "chat_templates/%s.jinja", tk->string);
        size_t len;
        char *src = el_read_file(el_testdata(rel), &len);
        CHECK(src, "missing %s", el_testdata(rel));
        if (!src) continue;
        char err[512];
        el_tmpl *t = el_tmpl_parse(src, len, err, sizeof err);
        CHECK(t, "%s: %s", tk->string, err);
        free(src);
        if (!t) continue;
        templates++;
        for (cJSON *cv = convs->child; cv; cv = cv->next) {
            const char *name = cJSON_GetObjectItem(cv, "name")->valuestring;
            char path[512];
            snprintf(path, sizeof path, "inputs/%s.messages.json", name);
            char *messages = read_golden(path);
            snprintf(path, sizeof path, "inputs/%s.tools.json", name);
            char *tools = cJSON_GetObjectItem(cv, "tools") ? read_golden(path) : NULL;
            snprintf(path, sizeof path, "inputs/%s.extra.json", name);
            char *extra = cJSON_GetObjectItem(cv, "extra") ? read_golden(path) : NULL;
            snprintf(path, sizeof path, "%s/%s.txt", tk->string, name);
            char *want = read_golden(path);
            snprintf(path, sizeof path, "%s/%s.error", tk->string, name);
            char *want_err = read_golden(path);
            CHECK(messages && (want || want_err), "%s/%s: golden files missing", tk->string, name);
            cJSON *et = cJSON_GetObjectItem(cv, "enable_thinking");
            el_tmpl_opts o = {
                .add_generation_prompt =
                    cJSON_IsTrue(cJSON_GetObjectItem(cv, "add_generation_prompt")),
                .enable_thinking = et ? cJSON_IsTrue(et) : -1,
                .bos_token = cJSON_GetObjectItem(tk, "bos_token")->valuestring,
                .eos_token = cJSON_GetObjectItem(tk, "eos_token")->valuestring,
                .extra_json = extra,
                .now = (int64_t)now,
            };
            char *out = NULL;
            int rc = messages ? el_tmpl_render(t, messages, tools, &o, &out, err, sizeof err) : -1;
            if (want) {
                CHECK(rc == 0, "%s/%s: %s", tk->string, name, err);
                if (rc == 0) {
                    bool same = strcmp(out, want) == 0;
                    CHECK(same, "%s/%s differs from Jinja2", tk->string, name);
                    if (!same) show_diff(name, out, want);
                    renders++;
                }
            } else if (want_err) {
                CHECK(rc == -1, "%s/%s: Jinja2 raised (%.80s) but we rendered", tk->string, name,
                      want_err);
                if (rc == -1) {
                    CHECK(strncmp(err, "template", 8) == 0, "%s", err);
                    errors++;
                }
            }
            free(out);
            free(messages);
            free(tools);
            free(extra);
            free(want);
            free(want_err);
        }
        el_tmpl_free(t);
    }
    CHECK(templates == 8, "%d templates", templates);
    fprintf(stderr, "golden: %d templates, %d renders equal, %d errors as expected\n", templates,
            renders, errors);
    cJSON_Delete(spec);
}

/* Which templates need object arguments, as the Python probe printed. */
static void test_object_arguments_probe(void) {
    static const struct {
        const char *name;
        bool object_args;
    } want[] = {
        {"Qwen-QwQ-32B", true},
        {"Qwen-Qwen2.5-7B-Instruct", true},
        {"Qwen-Qwen3-0.6B", false},
        {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", false},
        {"meta-llama-Llama-3.1-8B-Instruct", true},
        {"meta-llama-Llama-3.2-3B-Instruct", true},
        {"microsoft-Phi-3.5-mini-instruct", false},
        {"mistralai-Mistral-Nemo-Instruct-2407", true},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char rel[256], err[256];
        snprintf(rel, sizeof rel, "chat_templates/%s.jinja", want[i].name);
        size_t len;
        char *src = el_read_file(el_testdata(rel), &len);
        REQUIRE(src, "missing %s", rel);
        el_tmpl *t = el_tmpl_parse(src, len, err, sizeof err);
        free(src);
        REQUIRE(t, "%s", err);
        CHECK(el_tmpl_wants_object_arguments(t) == want[i].object_args, "%s", want[i].name);
        el_tmpl_free(t);
    }
}

static void test_cases(void) {
    char *ctx = read_golden("inputs/cases_context.json");
    char *messages = read_golden("inputs/multi_turn.messages.json");
    char *text = read_golden("cases.jsonl");
    cJSON *spec = load_spec();
    REQUIRE(ctx && messages && text && spec, "cases inputs missing");
    int64_t now = (int64_t)cJSON_GetObjectItem(spec, "now")->valuedouble;
    cJSON_Delete(spec);
    int n = 0, ok = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        cJSON *rec = cJSON_Parse(line);
        CHECK(rec, "bad cases line %d", n + 1);
        if (rec) {
            const char *src = cJSON_GetObjectItem(rec, "template")->valuestring;
            cJSON *want = cJSON_GetObjectItem(rec, "out");
            char err[512] = "";
            char *out = NULL;
            el_tmpl *t = el_tmpl_parse(src, strlen(src), err, sizeof err);
            el_tmpl_opts o = {.add_generation_prompt = true,
                              .enable_thinking = -1,
                              .bos_token = "<s>",
                              .eos_token = "</s>",
                              .extra_json = ctx,
                              .now = now};
            int rc = t ? el_tmpl_render(t, messages, NULL, &o, &out, err, sizeof err) : -1;
            if (want) {
                bool same = rc == 0 && strcmp(out, want->valuestring) == 0;
                CHECK(same, "case %d %s: %s", n + 1, src, rc ? err : "output differs");
                if (rc == 0 && !same) show_diff(src, out, want->valuestring);
                ok += same;
            } else {
                CHECK(rc == -1, "case %d %s: Jinja2 raised (%s) but we rendered [%.80s]", n + 1,
                      src, cJSON_GetObjectItem(rec, "error")->valuestring, out ? out : "");
                if (rc == -1) {
                    ok++;
                    CHECK(strncmp(err, "template", 8) == 0 && !strchr(err, '\n'), "%s", err);
                }
            }
            free(out);
            el_tmpl_free(t);
            cJSON_Delete(rec);
        }
        n++;
        if (!nl) break;
        line = nl + 1;
    }
    CHECK(n > 150, "only %d cases", n);
    fprintf(stderr, "cases: %d of %d agree with Jinja2\n", ok, n);
    free(ctx);
    free(messages);
    free(text);
}

/* Renders src with messages "[]"; returns 0/-1 and the output or error in buf. */
static int run(const char *src, char *buf, size_t buflen) {
    char err[512];
    el_tmpl *t = el_tmpl_parse(src, strlen(src), err, sizeof err);
    if (!t) {
        snprintf(buf, buflen, "%s", err);
        return -1;
    }
    char *out = NULL;
    int rc = el_tmpl_render(t, "[]", NULL, NULL, &out, err, sizeof err);
    snprintf(buf, buflen, "%s", rc == 0 ? out : err);
    free(out);
    el_tmpl_free(t);
    return rc;
}

static void test_error_positions(void) {
    static const struct {
        const char *src, *want;
    } cases[] = {
        {"ab\n{% if true %}\nunclosed", "2:4"},      {"{{ 1 + }}", "1:8"},
        {"line1\nline2 {{ x.y }}", "2:12"},          {"héllo\n  {{ 'a' + 1 }}", "2:10"},
        {"{% for x in l %}{% endif %}", "1:20"},     {"{{ 'a' }}\n\n   {% unknowntag %}", "3:7"},
        {"x\n{{ raise_exception('boom') }}", "2:4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[512];
        CHECK(run(cases[i].src, buf, sizeof buf) == -1, "%s rendered", cases[i].src);
        CHECK(strstr(buf, cases[i].want) != NULL, "%s: want %s in [%s]", cases[i].src,
              cases[i].want, buf);
    }
    char buf[512];
    run("x\n{{ raise_exception('boom') }}", buf, sizeof buf);
    CHECK(strstr(buf, "raise_exception: boom"), "%s", buf);
    run("{% for x in [1] %}\n{% if x %}", buf, sizeof buf);
    CHECK(strstr(buf, "2:4") && strstr(buf, "'if'") && strstr(buf, "endif"), "%s", buf);
}

static void test_unsupported_named(void) {
    static const struct {
        const char *src, *want;
    } cases[] = {
        {"{% include 'x' %}", "unsupported tag 'include'"},
        {"{% extends 'x' %}", "unsupported tag 'extends'"},
        {"{% block b %}{% endblock %}", "unsupported tag 'block'"},
        {"{% call m() %}{% endcall %}", "unsupported tag 'call'"},
        {"{% for x in [1] recursive %}{% endfor %}", "recursive"},
        {"{{ [1,2]|groupby('x') }}", "unsupported filter 'groupby'"},
        {"{{ 'x'|truncate(2) }}", "unsupported filter 'truncate'"},
        {"{{ 'a{}'.format(1) }}", "unsupported function 'format'"},
        {"{{ cycler(1, 2) }}", "unsupported function 'cycler'"},
        {"{{ 1 is escaped }}", "unsupported test 'escaped'"},
        {"{{ [1]|select('odd') }}", "unsupported: printing a generator"},
        {"{{ f(*args) }}", "unsupported: *args"},
        {"{{ {(1, 2): 3} }}", "unsupported: tuple as a dict key"},
        {"{{ {[1]: 3} }}", "unhashable type: 'list'"},
        {"{{ 'x' ~ caf\xc3\xa9 }}", "unsupported: non-ASCII"},
        {"{{ 9223372036854775807 + 1 }}", "wider than 64 bits"},
        {"{{ 99999999999999999999 }}", "wider than 64 bits"},
        {"{{ '%5d' % 3 }}", "unsupported: '%5'"},
        {"{{ 'x'|nosuchfilter }}", "no filter named 'nosuchfilter'"},
        {"{{ range }}", "unsupported: printing a function"},
        {"{{ '\\N{BULLET}' }}", "unsupported: \\N"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[512];
        CHECK(run(cases[i].src, buf, sizeof buf) == -1, "%s rendered [%s]", cases[i].src, buf);
        CHECK(strstr(buf, cases[i].want) != NULL, "%s: want '%s' in [%s]", cases[i].src,
              cases[i].want, buf);
        CHECK(strchr(buf, '\n') == NULL, "multi-line error");
    }
}

static void test_limits(void) {
    char buf[512];
    /* a loop of 10^10 iterations stops at the step budget */
    const char *huge = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                       "{% endfor %}";
    el_tmpl *t = el_tmpl_parse(huge, strlen(huge), buf, sizeof buf);
    REQUIRE(t, "%s", buf);
    jj_limits lim = {.max_steps = 200000, .max_mem = 64 << 20, .max_out = 1 << 20};
    char *out = NULL;
    CHECK(jj_render(t, "[]", NULL, NULL, &lim, &out, buf, sizeof buf) == -1, "huge loop ran");
    CHECK(strstr(buf, "evaluation steps"), "%s", buf);
    el_tmpl_free(t);

    /* output size */
    const char *big = "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}";
    t = el_tmpl_parse(big, strlen(big), buf, sizeof buf);
    REQUIRE(t, "%s", buf);
    CHECK(jj_render(t, "[]", NULL, NULL, &lim, &out, buf, sizeof buf) == -1, "big output");
    CHECK(strstr(buf, "longer than"), "%s", buf);
    el_tmpl_free(t);

    /* memory: quadratic string growth */
    const char *quad = "{% set ns = namespace(s='') %}{% for i in range(100000) %}"
                       "{% set ns.s = ns.s ~ 'xxxxxxxxxx' %}{% endfor %}{{ ns.s|length }}";
    t = el_tmpl_parse(quad, strlen(quad), buf, sizeof buf);
    REQUIRE(t, "%s", buf);
    jj_limits lim2 = {.max_steps = 10000000, .max_mem = 32 << 20, .max_out = 16 << 20};
    CHECK(jj_render(t, "[]", NULL, NULL, &lim2, &out, buf, sizeof buf) == -1, "quadratic");
    CHECK(strstr(buf, "memory"), "%s", buf);
    el_tmpl_free(t);

    /* builtins that loop without evaluating nodes (membership, unique, sort) are charged too */
    const char *bulk = "{% set l = range(100000)|list %}{% for i in range(1000) %}{{ -1 in l }}"
                       "{% endfor %}";
    t = el_tmpl_parse(bulk, strlen(bulk), buf, sizeof buf);
    REQUIRE(t, "%s", buf);
    CHECK(el_tmpl_render(t, "[]", NULL, NULL, &out, buf, sizeof buf) == -1, "bulk membership");
    CHECK(strstr(buf, "evaluation steps"), "%s", buf);
    el_tmpl_free(t);
    const char *bulk2 = "{{ (range(90000)|list + range(90000)|list)|unique|list|length }}";
    t = el_tmpl_parse(bulk2, strlen(bulk2), buf, sizeof buf);
    REQUIRE(t, "%s", buf);
    CHECK(el_tmpl_render(t, "[]", NULL, NULL, &out, buf, sizeof buf) == -1, "quadratic unique");
    el_tmpl_free(t);
    const char *scan = "{% set s = 'a' * 1000000 ~ 'b' %}{% for i in range(100000) %}"
                       "{{ s.rfind('a' * 5000 ~ 'c') }}{% endfor %}";
    t = el_tmpl_parse(scan, strlen(scan), buf, sizeof buf);
    REQUIRE(t, "%s", buf);
    CHECK(el_tmpl_render(t, "[]", NULL, NULL, &out, buf, sizeof buf) == -1, "adversarial rfind");
    el_tmpl_free(t);

    /* infinite macro recursion */
    CHECK(run("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", buf, sizeof buf) == -1,
          "recursion");
    CHECK(strstr(buf, "recursion"), "%s", buf);

    /* deep nesting in the parser and in the lexer's bracket stack */
    char deep[4096];
    size_t k = 0;
    k += (size_t)snprintf(deep + k, sizeof deep - k, "{{ ");
    for (int i = 0; i < 1000; i++)
        deep[k++] = '(';
    deep[k++] = '1';
    for (int i = 0; i < 1000; i++)
        deep[k++] = ')';
    snprintf(deep + k, sizeof deep - k, " }}");
    CHECK(run(deep, buf, sizeof buf) == -1, "deep parens");
    CHECK(strstr(buf, "nested"), "%s", buf);
    k = 0;
    for (int i = 0; i < 300; i++)
        k += (size_t)snprintf(deep + k, sizeof deep - k, "{%% if 1 %%}");
    CHECK(run(deep, buf, sizeof buf) == -1, "deep ifs");
    k = 0;
    k += (size_t)snprintf(deep + k, sizeof deep - k, "{{ ");
    for (int i = 0; i < 1500; i++)
        deep[k++] = '-';
    snprintf(deep + k, sizeof deep - k, "1 }}");
    CHECK(run(deep, buf, sizeof buf) == -1, "deep unary");
    /* range() is capped like the sandbox's */
    CHECK(run("{{ range(100001)|length }}", buf, sizeof buf) == -1, "range");
    CHECK(strstr(buf, "Range too big"), "%s", buf);
    /* a long but legal template still works */
    CHECK(run("{% for i in range(1000) %}{{ i }}{% endfor %}", buf, sizeof buf) == 0, "%s", buf);
}

static void test_api(void) {
    char err[256], *out = (char *)1;
    CHECK(el_tmpl_parse(NULL, 5, err, sizeof err) == NULL, "NULL source");
    el_tmpl *t = el_tmpl_parse("{{ messages|length }}{{ tools }}", 32, err, sizeof err);
    REQUIRE(t, "%s", err);
    CHECK(el_tmpl_render(t, NULL, NULL, NULL, &out, err, sizeof err) == -1 && out == NULL,
          "NULL messages");
    CHECK(el_tmpl_render(t, "{not json", NULL, NULL, &out, err, sizeof err) == -1, "bad json");
    CHECK(strstr(err, "messages: invalid JSON"), "%s", err);
    CHECK(el_tmpl_render(t, "{}", NULL, NULL, &out, err, sizeof err) == -1, "object messages");
    CHECK(el_tmpl_render(t, "[] x", NULL, NULL, &out, err, sizeof err) == -1, "trailing");
    CHECK(el_tmpl_render(t, "[\"\xff\"]", NULL, NULL, &out, err, sizeof err) == -1, "utf8");
    CHECK(el_tmpl_render(t, "[\"a\\u0000b\"]", NULL, NULL, &out, err, sizeof err) == -1, "NUL");
    CHECK(el_tmpl_render(t, "[]", "[1", NULL, &out, err, sizeof err) == -1, "bad tools");
    el_tmpl_opts o = {.enable_thinking = -1, .extra_json = "{\"messages\": 1}"};
    CHECK(el_tmpl_render(t, "[]", NULL, &o, &out, err, sizeof err) == -1, "reserved extra");
    o.extra_json = "[1]";
    CHECK(el_tmpl_render(t, "[]", NULL, &o, &out, err, sizeof err) == -1, "extra not object");
    REQUIRE(el_tmpl_render(t, "[1, 2]", NULL, NULL, &out, err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(out, "2None") == 0, "[%s]", out);
    free(out);
    REQUIRE(el_tmpl_render(t, "[]", "[{\"a\": 1.0}]", NULL, &out, err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(out, "0[{'a': 1.0}]") == 0, "[%s]", out);
    free(out);
    el_tmpl_free(t);
    el_tmpl_free(NULL);
    /* bad template bytes */
    CHECK(el_tmpl_parse("a\xc3(b", 5, err, sizeof err) == NULL, "invalid utf-8 template");
    CHECK(el_tmpl_parse("a\0b", 3, err, sizeof err) == NULL, "NUL in template");
    /* an empty template renders "" */
    t = el_tmpl_parse("", 0, err, sizeof err);
    REQUIRE(t, "%s", err);
    REQUIRE(el_tmpl_render(t, "[]", NULL, NULL, &out, err, sizeof err) == 0, "%s", err);
    CHECK(out[0] == 0, "empty");
    free(out);
    el_tmpl_free(t);
    /* strftime_now defaults to the current time */
    t = el_tmpl_parse("{{ strftime_now('%Y') }}", 24, err, sizeof err);
    REQUIRE(t, "%s", err);
    REQUIRE(el_tmpl_render(t, "[]", NULL, NULL, &out, err, sizeof err) == 0, "%s", err);
    CHECK(strlen(out) == 4 && atoi(out) >= 2025, "[%s]", out);
    free(out);
    el_tmpl_free(t);
}

/* Object arguments: a string that parses becomes an object; one that does not is kept. */
static void test_argument_polyfill(void) {
    const char *src = "{% for m in messages %}{% for tc in m.tool_calls %}"
                      "{{ tc.function.arguments | tojson }};{% endfor %}{% endfor %}";
    char err[256], *out;
    el_tmpl *t = el_tmpl_parse(src, strlen(src), err, sizeof err);
    REQUIRE(t, "%s", err);
    CHECK(el_tmpl_wants_object_arguments(t), "probe");
    const char *msgs =
        "[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
        "{\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"{bad\"}},"
        "{\"type\":\"other\",\"function\":{\"name\":\"h\",\"arguments\":\"{\\\"b\\\":2}\"}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"i\",\"arguments\":\"[1] x\"}}]}]";
    REQUIRE(el_tmpl_render(t, msgs, NULL, NULL, &out, err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(out, "{\"a\": 1};\"{bad\";\"{\\\"b\\\":2}\";\"[1] x\";") == 0, "[%s]", out);
    free(out);
    el_tmpl_free(t);
}

typedef struct job {
    const el_tmpl *t;
    const char *messages;
    char *out;
    int rc;
} job;

static void *worker(void *arg) {
    job *j = arg;
    char err[256];
    for (int i = 0; i < 20; i++) {
        char *out = NULL;
        j->rc |= el_tmpl_render(j->t, j->messages, NULL, NULL, &out, err, sizeof err);
        if (i == 0)
            j->out = out;
        else {
            if (!out || strcmp(out, j->out) != 0) j->rc = -2;
            free(out);
        }
    }
    return NULL;
}

static void test_threads(void) {
    size_t len;
    char *src = el_read_file(el_testdata("chat_templates/Qwen-Qwen3-0.6B.jinja"), &len);
    char *messages = read_golden("inputs/multi_turn.messages.json");
    REQUIRE(src && messages, "inputs");
    char err[256];
    el_tmpl *t = el_tmpl_parse(src, len, err, sizeof err);
    REQUIRE(t, "%s", err);
    job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){.t = t, .messages = messages};
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        CHECK(jobs[i].rc == 0, "thread %d rc %d", i, jobs[i].rc);
        CHECK(jobs[i].out && strcmp(jobs[i].out, jobs[0].out) == 0, "thread %d differs", i);
    }
    for (int i = 0; i < 4; i++)
        free(jobs[i].out);
    el_tmpl_free(t);
    free(src);
    free(messages);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_golden_templates);
    RUN(test_object_arguments_probe);
    RUN(test_cases);
    RUN(test_error_positions);
    RUN(test_unsupported_named);
    RUN(test_limits);
    RUN(test_api);
    RUN(test_argument_polyfill);
    RUN(test_threads);
    return test_summary(argv[0]);
}
