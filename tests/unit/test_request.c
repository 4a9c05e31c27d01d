/* test_request — OpenAI request validation (src/server/request.c): what a good body turns
 * into (defaults, sampling fields, normalized messages and tools), and for each class of bad
 * input the status, error code and field named; plus the error body's JSON shape. */
#include <cjson/cJSON.h>

#include "core/core.h"
#include "server/request.h"
#include "server/server.h"
#include "test.h"

static const el_req_limits lim = {.n_vocab = 500, .max_prompt_tokens = 100};

static int parse(el_req_kind k, const char *body, el_req *r, el_req_error *e) {
    return el_req_parse(k, body, strlen(body), &lim, r, e);
}

static void test_chat_defaults_and_fields(void) {
    el_req r;
    el_req_error e;
    REQUIRE(parse(EL_REQ_CHAT,
                  "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", &r,
                  &e) == 0,
            "%s", e.message);
    el_sampling d;
    el_sampling_default(&d);
    CHECK(r.max_tokens == -1 && !r.stream && r.n_stops == 0 && !r.logprobs);
    CHECK(r.sampling.temp == d.temp && r.sampling.top_k == d.top_k &&
          r.sampling.seed == EL_SEED_RANDOM);
    CHECK(r.enable_thinking == -1 && r.reasoning_split && r.tool_choice == EL_TOOLS_AUTO);
    CHECK(!strcmp(r.model, "x"));
    CHECK(!strcmp(r.messages_json, "[{\"role\":\"user\",\"content\":\"hi\"}]"), "%s",
          r.messages_json);
    el_req_free(&r);

    const char *body =
        "{\"messages\":[{\"role\":\"developer\",\"content\":\"d\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\","
        "\"text\":\"b\"}]},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
        "\"function\","
        "\"function\":{\"name\":\"f\",\"arguments\":{\"x\":1}}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"r\"}],"
        "\"max_completion_tokens\":7,\"max_tokens\":99,\"temperature\":0,\"top_p\":0.5,\"seed\":9,"
        "\"stop\":\"END\",\"presence_penalty\":1,\"logprobs\":true,\"top_logprobs\":4,"
        "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"logit_bias\":{\"3\":-100,"
        "\"4\":2.5},"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":\"D\","
        "\"parameters\":{\"type\":\"object\"},\"extra\":1}}],\"tool_choice\":{\"type\":"
        "\"function\","
        "\"function\":{\"name\":\"f\"}},\"response_format\":{\"type\":\"json_object\"},"
        "\"chat_template_kwargs\":{\"enable_thinking\":false},\"store\":true,\"metadata\":{}}";
    REQUIRE(parse(EL_REQ_CHAT, body, &r, &e) == 0, "%s", e.message);
    CHECK(r.max_tokens == 7, "max_completion_tokens wins over max_tokens");
    CHECK(r.sampling.temp == 0 && r.sampling.top_p == 0.5f && r.seed_given && r.sampling.seed == 9);
    CHECK(r.sampling.penalty_last_n == -1, "OpenAI penalties widen the window to the whole output");
    CHECK(r.n_stops == 1 && !strcmp(r.stops[0], "END"));
    CHECK(r.logprobs && r.top_logprobs == 4 && r.stream && r.include_usage);
    CHECK(r.n_bias == 2 && r.bias_ids[0] == 3 && r.bias_vals[0] == -100 && r.bias_vals[1] == 2.5f);
    CHECK(r.n_tools == 1 && !strcmp(r.tool_names[0], "f") && r.tool_params[0]);
    CHECK(r.tool_choice == EL_TOOLS_NAMED && !strcmp(r.tool_choice_name, "f"));
    CHECK(r.response_format == EL_RF_JSON_OBJECT && r.enable_thinking == 0);
    cJSON *m = cJSON_Parse(r.messages_json);
    REQUIRE(m);
    CHECK(!strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "role")->valuestring, "system"),
          "developer becomes system");
    CHECK(!strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 1), "content")->valuestring, "a\nb"),
          "text parts joined");
    cJSON *a = cJSON_GetArrayItem(m, 2);
    CHECK(!strcmp(cJSON_GetObjectItem(a, "content")->valuestring, ""), "null content becomes \"\"");
    cJSON *fn = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(a, "tool_calls"), 0),
                                    "function");
    CHECK(!strcmp(cJSON_GetObjectItem(fn, "arguments")->valuestring, "{\"x\":1}"),
          "object arguments become a JSON string");
    CHECK(
        !strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 3), "tool_call_id")->valuestring, "c1"));
    cJSON_Delete(m);
    cJSON *t = cJSON_Parse(r.tools_json);
    CHECK(t && !cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(t, 0), "function"),
                                    "extra"),
          "tools carry only the fields templates read");
    cJSON_Delete(t);
    el_req_free(&r);
}

static void test_completion_and_tokens(void) {
    el_req r;
    el_req_error e;
    REQUIRE(parse(EL_REQ_COMPLETION, "{\"prompt\":[\"one\"],\"logprobs\":3}", &r, &e) == 0, "%s",
            e.message);
    CHECK(!strcmp(r.prompt, "one") && r.logprobs && r.top_logprobs == 3);
    el_req_free(&r);
    REQUIRE(parse(EL_REQ_COMPLETION, "{\"prompt\":[1,2,499]}", &r, &e) == 0, "%s", e.message);
    CHECK(!r.prompt && r.n_prompt_tokens == 3 && r.prompt_tokens[2] == 499);
    el_req_free(&r);
    REQUIRE(parse(EL_REQ_TOKENIZE, "{\"content\":\"x\",\"with_pieces\":true}", &r, &e) == 0);
    CHECK(!strcmp(r.content, "x") && r.with_pieces && !r.add_special);
    el_req_free(&r);
    REQUIRE(parse(EL_REQ_DETOKENIZE, "{\"tokens\":[]}", &r, &e) == 0);
    CHECK(r.n_tokens == 0);
    el_req_free(&r);
}

static void test_bad_inputs(void) {
    struct {
        el_req_kind k;
        const char *body;
        int status;
        const char *code, *param;
    } cases[] = {
        {EL_REQ_CHAT, "", 400, "invalid_json", ""},
        {EL_REQ_CHAT, "{\"messages\":", 400, "invalid_json", ""},
        {EL_REQ_CHAT, "[1]", 400, "invalid_json", ""},
        {EL_REQ_CHAT, "{} {}", 400, "invalid_json", ""},
        {EL_REQ_CHAT, "{\"a\":\"\xc3\x28\"}", 400, "invalid_utf8", ""},
        {EL_REQ_CHAT, "{}", 400, "missing_field", "messages"},
        {EL_REQ_CHAT, "{\"messages\":{}}", 400, "invalid_type", "messages"},
        {EL_REQ_CHAT, "{\"messages\":[]}", 400, "invalid_value", "messages"},
        {EL_REQ_CHAT, "{\"messages\":[1]}", 400, "invalid_type", "messages[0]"},
        {EL_REQ_CHAT, "{\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}", 400, "invalid_value",
         "messages[0]"},
        {EL_REQ_CHAT, "{\"messages\":[{\"role\":\"function\",\"content\":\"x\"}]}", 400,
         "invalid_value", "messages[0]"},
        {EL_REQ_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}", 400, "invalid_type",
         "messages[0].content"},
        {EL_REQ_CHAT,
         "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\"}]}]}", 400,
         "unsupported_content", "messages[0].content"},
        {EL_REQ_CHAT,
         "{\"messages\":[{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{}}"
         "]}]}",
         400, "invalid_value", "messages[0].tool_calls"},
        {EL_REQ_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":3}",
         400, "invalid_value", "temperature"},
        {EL_REQ_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":null}",
         0, NULL, NULL},
        {EL_REQ_CHAT,
         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":2147483648}", 400,
         "invalid_value", "max_tokens"},
        {EL_REQ_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":\"5\"}",
         400, "invalid_type", "max_tokens"},
        {EL_REQ_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":0.5}", 400,
         "invalid_type", "seed"},
        {EL_REQ_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"a\",1]}",
         400, "invalid_type", "stop"},
        {EL_REQ_CHAT,
         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"1\",\"2\",\"3\",\"4\","
         "\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]}",
         400, "invalid_value", "stop"},
        {EL_REQ_CHAT,
         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logit_bias\":{\"500\":1}}", 400,
         "invalid_value", "logit_bias"},
        {EL_REQ_CHAT,
         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logit_bias\":{\"a\":1}}", 400,
         "invalid_value", "logit_bias"},
        {EL_REQ_CHAT,
         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
         "\"function\":{\"name\":\"bad name\"}}]}",
         400, "invalid_value", "tools[0]"},
        {EL_REQ_CHAT,
         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\","
         "\"function\":{\"name\":\"f\"}},{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}",
         400, "invalid_value", "tools[1]"},
        {EL_REQ_CHAT,
         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"required\"}", 400,
         "invalid_value", "tool_choice"},
        {EL_REQ_CHAT,
         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{\"type\":"
         "\"json_schema\"}}",
         400, "missing_field", "response_format.json_schema"},
        {EL_REQ_CHAT,
         "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"reasoning_effort\":\"max\"}", 400,
         "invalid_value", "reasoning_effort"},
        {EL_REQ_COMPLETION, "{}", 400, "missing_field", "prompt"},
        {EL_REQ_COMPLETION, "{\"prompt\":[]}", 400, "invalid_type", "prompt"},
        {EL_REQ_COMPLETION, "{\"prompt\":[500]}", 400, "invalid_value", "prompt"},
        {EL_REQ_COMPLETION, "{\"prompt\":[1.5]}", 400, "invalid_type", "prompt"},
        {EL_REQ_COMPLETION, "{\"prompt\":\"x\",\"echo\":true}", 400, "unsupported_value", "echo"},
        {EL_REQ_COMPLETION, "{\"prompt\":\"x\",\"best_of\":3}", 400, "invalid_value", "best_of"},
        {EL_REQ_TOKENIZE, "{\"content\":1}", 400, "invalid_type", "content"},
        {EL_REQ_DETOKENIZE, "{\"tokens\":[1,-1]}", 400, "invalid_value", "tokens"},
    };
    for (size_t i = 0; i < EL_ARRAY_LEN(cases); i++) {
        el_req r;
        el_req_error e;
        int rc = parse(cases[i].k, cases[i].body, &r, &e);
        if (cases[i].status == 0) {
            CHECK(rc == 0, "case %zu should pass: %s", i, e.message);
            if (rc == 0) el_req_free(&r);
            continue;
        }
        CHECK(rc == -1, "case %zu (%s) should fail", i, cases[i].body);
        if (rc == 0) {
            el_req_free(&r);
            continue;
        }
        CHECK(e.status == cases[i].status && e.code && !strcmp(e.code, cases[i].code) &&
                  !strcmp(e.param, cases[i].param),
              "case %zu: got %d %s [%s] '%s'", i, e.status, e.code ? e.code : "-", e.param,
              e.message);
        CHECK(e.message[0] && !strchr(e.message, '\n'), "one line");
    }
    /* prompts of more tokens than the context */
    char big[2048] = "{\"prompt\":[1";
    for (int i = 0; i < 150; i++)
        strcat(big, ",1");
    strcat(big, "]}");
    el_req r;
    el_req_error e;
    CHECK(parse(EL_REQ_COMPLETION, big, &r, &e) == -1 &&
          !strcmp(e.code, "context_length_exceeded"));
    /* the error body */
    el_req_fail(&e, 400, "invalid_request_error", "invalid_value", "x", "bad \"quote\"\nline");
    char *j = srv_error_json(&e);
    cJSON *v = cJSON_Parse(j);
    cJSON *er = cJSON_GetObjectItem(v, "error");
    CHECK(er && !strcmp(cJSON_GetObjectItem(er, "message")->valuestring, "bad \"quote\" line") &&
              !strcmp(cJSON_GetObjectItem(er, "type")->valuestring, "invalid_request_error") &&
              !strcmp(cJSON_GetObjectItem(er, "code")->valuestring, "invalid_value") &&
              !strcmp(cJSON_GetObjectItem(er, "param")->valuestring, "x"),
          "%s", j);
    cJSON_Delete(v);
    free(j);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_chat_defaults_and_fields);
    RUN(test_completion_and_tokens);
    RUN(test_bad_inputs);
    return test_summary(argv[0]);
}
