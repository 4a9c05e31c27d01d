/* tests/fuzz/fuzz_template.c — libFuzzer harness for the chat-template interpreter: the input
 * is template text; when it parses (which also runs the tool-argument probe), it is rendered
 * against a fixed conversation with tools, a tool call and extra variables, under tight
 * limits so a slow template ends in an error instead of a fuzzer timeout. Any crash, leak,
 * sanitizer report or hang is a bug; errors are fine. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tok/jinja.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char messages[] =
    "[{\"role\":\"system\",\"content\":\"sys \\u00e9\"},{\"role\":\"user\",\"content\":\"hi\"},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call12345\",\"type\":"
    "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1.5}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call12345\",\"content\":\"ok\"},"
    "{\"role\":\"assistant\",\"content\":\"<think>x</think>done\",\"reasoning_content\":\"r\"}]";
static const char tools[] = "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":"
                            "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"number\"}}}}}]";
static const char extra[] = "{\"d\":{\"a\":1,\"l\":[1,2,3]},\"s\":\"abc\",\"n\":null,\"f\":2.5}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const jj_limits lim = {.max_steps = 200000, .max_mem = 16 << 20, .max_out = 1 << 18};
    char err[256];
    el_tmpl *t = el_tmpl_parse((const char *)data, size, err, sizeof err);
    if (!t) return 0;
    el_tmpl_opts o = {.add_generation_prompt = size & 1,
                      .enable_thinking = (int)(size % 3) - 1,
                      .bos_token = "<s>",
                      .eos_token = "</s>",
                      .extra_json = extra,
                      .now = 1736942400};
    char *out = NULL;
    if (jj_render(t, messages, tools, &o, &lim, &out, err, sizeof err) == 0) free(out);
    el_tmpl_free(t);
    return 0;
}
