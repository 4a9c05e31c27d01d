/* server/request.h — an OpenAI request body (chat completions, completions, tokenize,
 * detokenize) → a validated request struct, or an OpenAI-shaped error.
 *
 * Everything from the network passes through here before anything else sees it: the body
 * must be well-formed UTF-8 JSON; every field we use is type- and range-checked; unknown
 * fields are ignored (clients send many: store, metadata, service_tier...); unsupported
 * values of fields we know are refused with a message naming the field (n > 1, image
 * content parts, pattern in a schema...). Pure: no model, no I/O — fuzzed whole by
 * tests/fuzz/fuzz_request.c.
 *
 * Memory: every pointer in el_req is owned by it (el_req_free). Strings are NUL-terminated
 * and valid UTF-8.
 */
#ifndef EL_SERVER_REQUEST_H
#define EL_SERVER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "edgellm.h"

#define EL_REQ_MAX_STOPS 16
#define EL_REQ_MAX_STOP_LEN 256
#define EL_REQ_MAX_TOP_LOGPROBS 20
#define EL_REQ_MAX_TOOLS 64
#define EL_REQ_MAX_MESSAGES 4096
#define EL_REQ_MAX_BIAS 1024

typedef enum el_req_kind {
    EL_REQ_CHAT = 0,
    EL_REQ_COMPLETION,
    EL_REQ_TOKENIZE,
    EL_REQ_DETOKENIZE,
} el_req_kind;

typedef enum { EL_TOOLS_AUTO = 0, EL_TOOLS_NONE, EL_TOOLS_REQUIRED, EL_TOOLS_NAMED } el_tool_choice;
typedef enum { EL_RF_TEXT = 0, EL_RF_JSON_OBJECT, EL_RF_JSON_SCHEMA } el_resp_format;

/* An OpenAI error: HTTP status, type, code (may be NULL), param (may be NULL), message. */
typedef struct el_req_error {
    int status;
    const char *type;
    const char *code;
    char param[64];
    char message[320];
} el_req_error;

typedef struct el_req_limits {
    int32_t n_vocab;           /* token ids must be < n_vocab (0: not checked) */
    int32_t max_prompt_tokens; /* token-array prompts longer than this are refused */
} el_req_limits;

typedef struct el_req {
    el_req_kind kind;
    char *model; /* as the client named it, or NULL */
    bool stream, include_usage;
    int32_t max_tokens;   /* -1: not given (until end of text or context) */
    el_sampling sampling; /* llama.cpp defaults, then the request's fields */
    bool seed_given;
    char *stops[EL_REQ_MAX_STOPS];
    int n_stops;
    bool logprobs;
    int32_t top_logprobs; /* 0..20 */
    int32_t n_bias;
    int32_t *bias_ids; /* (n_bias) */
    float *bias_vals;  /* (n_bias), -100..100; -100 bans */
    bool ignore_eos;
    /* chat */
    char *messages_json; /* normalized messages for the chat template */
    int n_messages;
    char *tools_json; /* normalized tools array, NULL when none */
    int n_tools;
    char *tool_names[EL_REQ_MAX_TOOLS];
    cJSON *tool_params[EL_REQ_MAX_TOOLS]; /* parameters schema of each tool, or NULL */
    el_tool_choice tool_choice;
    char *tool_choice_name; /* EL_TOOLS_NAMED */
    bool parallel_tool_calls;
    el_resp_format response_format;
    cJSON *schema;        /* EL_RF_JSON_SCHEMA */
    int enable_thinking;  /* -1 template default, 0 off, 1 on */
    bool reasoning_split; /* return <think> text as reasoning_content (default true) */
    /* completions */
    char *prompt; /* text prompt, or NULL when tokens are given */
    el_token *prompt_tokens;
    int32_t n_prompt_tokens;
    /* tokenize / detokenize */
    char *content;
    bool add_special, with_pieces;
    el_token *tokens;
    int32_t n_tokens;
} el_req;

/* Parses and validates body[0..len) for endpoint kind. 0, or -1 with *e filled (and *out
 * released). */
int el_req_parse(el_req_kind kind, const char *body, size_t len, const el_req_limits *lim,
                 el_req *out, el_req_error *e);
void el_req_free(el_req *r);

/* Fills e (status, type, code, printf-style message); returns -1. */
int el_req_fail(el_req_error *e, int status, const char *type, const char *code, const char *param,
                const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

#endif
