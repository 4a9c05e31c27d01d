/* tests/fuzz/fuzz_request.c — libFuzzer harness for request handling: an HTTP body → a
 * validated request (src/server/request.c), then what the server does next with it without
 * a model: compile the response_format schema or the forced tool-call grammar, write the
 * error body. Byte 0 picks the endpoint (c chat, p completions, t tokenize, d detokenize by
 * value mod 4); the rest is the body. Checks the contract: failure means one 4xx/5xx line,
 * success means normalized JSON that parses again and ids within the vocabulary. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/json_constrain.h"
#include "server/request.h"
#include "server/server.h"
#include "server/toolcall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const el_req_kind kinds[4] = {EL_REQ_DETOKENIZE, EL_REQ_CHAT, EL_REQ_COMPLETION,
                                         EL_REQ_TOKENIZE};
    el_req_kind kind = kinds[data[0] % 4]; /* 'c' 99, 'p' 112, 't' 116, 'd' 100 */
    el_req_limits lim = {.n_vocab = 1000, .max_prompt_tokens = 512};
    el_req r;
    el_req_error e;
    if (el_req_parse(kind, (const char *)data + 1, size - 1, &lim, &r, &e) != 0) {
        if (e.status < 400 || e.status > 599 || !e.message[0] || strchr(e.message, '\n')) abort();
        char *j = srv_error_json(&e);
        if (!j) abort();
        cJSON *v = cJSON_Parse(j);
        if (!v || !cJSON_GetObjectItem(cJSON_GetObjectItem(v, "error"), "message")) abort();
        cJSON_Delete(v);
        free(j);
        return 0;
    }
    if (r.messages_json) {
        cJSON *m = cJSON_Parse(r.messages_json);
        if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != r.n_messages) abort();
        cJSON_Delete(m);
    }
    if (r.tools_json) {
        cJSON *t = cJSON_Parse(r.tools_json);
        if (!cJSON_IsArray(t) || cJSON_GetArraySize(t) != r.n_tools) abort();
        cJSON_Delete(t);
    }
    for (int32_t i = 0; i < r.n_prompt_tokens; i++)
        if (r.prompt_tokens[i] < 0 || r.prompt_tokens[i] >= lim.n_vocab) abort();
    for (int32_t i = 0; i < r.n_tokens; i++)
        if (r.tokens[i] < 0 || r.tokens[i] >= lim.n_vocab) abort();
    if (r.max_tokens == 0 || r.n_stops > EL_REQ_MAX_STOPS || r.top_logprobs > 20) abort();
    char err[300];
    el_jc_grammar *g = NULL;
    if (r.response_format != EL_RF_TEXT)
        g = el_jc_compile(r.response_format == EL_RF_JSON_SCHEMA ? r.schema : NULL, err,
                          sizeof err);
    el_jc_free(g);
    if (r.n_tools && (r.tool_choice == EL_TOOLS_REQUIRED || r.tool_choice == EL_TOOLS_NAMED)) {
        const char *pre, *suf, *nk, *ak;
        el_tc_wrapper((el_tc_format)(1 + data[0] % 3), &pre, &suf, &nk, &ak);
        g = el_jc_compile_tools(pre, suf, nk, ak, (const char *const *)r.tool_names,
                                (const cJSON *const *)r.tool_params, r.n_tools, err, sizeof err);
        el_jc_free(g);
    }
    el_req_free(&r);
    return 0;
}
