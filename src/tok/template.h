/* tok/template.h — chat templates: a Jinja-subset interpreter that renders the Jinja text a
 * model carries in `tokenizer.chat_template` the way Hugging Face transformers'
 * apply_chat_template does (Jinja2 sandbox with trim_blocks and lstrip_blocks, HF's `tojson`,
 * `raise_exception`, `strftime_now`, loop controls, `{% generation %}`).
 *
 * What is supported is the subset real templates use (see src/tok/jinja.h for the list).
 * Anything outside it fails with one line naming the construct and its line:col; the
 * interpreter never guesses. Rendering is bounded: evaluation steps, nesting depth, memory
 * and output size all have limits, so hostile templates end in an error, not a hang.
 *
 * Tool-call arguments: OpenAI clients send tool_calls[].function.arguments as a JSON *string*.
 * Like llama.cpp's server (minja's chat_template::apply, "polyfill_object_arguments"),
 * el_tmpl_parse probes the template once: if it renders the arguments of a tool call only
 * when they are an object (Qwen2.5, QwQ, Llama 3.x, Mistral-Nemo do `arguments | tojson`),
 * el_tmpl_render parses string arguments into objects before rendering (a string that is
 * not valid JSON is left as it is). Templates that render strings themselves (Qwen3,
 * DeepSeek-R1) get the string untouched. Nothing else in the messages is rewritten: the
 * messages reach the template exactly as given (content null stays None, etc.).
 *
 * Thread safety: an el_tmpl is immutable after el_tmpl_parse; any number of threads may call
 * el_tmpl_render on it at once.
 */
#ifndef EL_TEMPLATE_H
#define EL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct el_tmpl el_tmpl;

/* Parses template text (need not be NUL-terminated; must be UTF-8). NULL + err on a syntax
 * error or a construct the interpreter does not know ("line:col: ..."). */
el_tmpl *el_tmpl_parse(const char *src, size_t len, char *err, size_t errlen);
void el_tmpl_free(el_tmpl *t);

typedef struct el_tmpl_opts {
    bool add_generation_prompt;
    int enable_thinking;               /* -1 unset (variable undefined), 0 false, 1 true */
    const char *bos_token, *eos_token; /* NULL renders as "" */
    const char *extra_json;            /* optional JSON object of extra variables, or NULL */
    int64_t now; /* strftime_now's clock: seconds since the epoch, formatted in UTC;
                    0 = the current local time (what transformers does) */
} el_tmpl_opts;

/* messages: a JSON array in OpenAI shape ({role, content, tool_calls:[{type,function:{name,
 * arguments}}], tool_call_id, name, reasoning_content}); tools: JSON array of OpenAI tool
 * definitions or NULL (the template then sees tools = None, as in transformers).
 * opts may be NULL (all defaults). Output: malloc'd NUL-terminated string in *out.
 * Returns 0, or -1 with one line in err (template raise_exception messages included). */
int el_tmpl_render(const el_tmpl *t, const char *messages_json, const char *tools_json,
                   const el_tmpl_opts *opts, char **out, char *err, size_t errlen);

/* True when el_tmpl_render turns string tool-call arguments into objects for this template
 * (see above). */
bool el_tmpl_wants_object_arguments(const el_tmpl *t);

#endif
