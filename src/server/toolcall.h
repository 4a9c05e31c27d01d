/* server/toolcall.h — model output → OpenAI tool_calls, per model family, streaming.
 *
 * Families (detected from the chat template's text):
 *   HERMES   Qwen2.5 / Qwen3 / Hermes: <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>
 *            (any number of them, text before them is content)
 *   LLAMA3   Llama 3.1+: the whole answer is {"name": ..., "parameters": {...}} (optionally
 *            after <|python_tag|>)
 *   MISTRAL  [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...] or the newer
 *            [TOOL_CALLS]name[ARGS]{...}
 * The parser is fed the generated text piece by piece and calls the sink with content text,
 * the start of each call (its name) and its argument text, as soon as each is certain: a
 * Hermes call's name is reported once its header is complete and its arguments stream as
 * they are generated; text that may be the start of a marker is held back. Calls that do not
 * parse come back as content, unchanged. Never fails: anything is either content or a call.
 *
 * Memory: one growable buffer per parser (the text not yet reported).
 */
#ifndef EL_SERVER_TOOLCALL_H
#define EL_SERVER_TOOLCALL_H

#include <stdbool.h>
#include <stddef.h>

typedef enum el_tc_format {
    EL_TC_NONE = 0,
    EL_TC_HERMES,
    EL_TC_LLAMA3,
    EL_TC_MISTRAL,
} el_tc_format;

/* The family whose markers the template text shows; HERMES when there are none (the
 * most common format among small models, and what our own default model uses). */
el_tc_format el_tc_detect(const char *chat_template);
const char *el_tc_format_name(el_tc_format f);

/* What a forced call must look like, for el_jc_compile_tools: the text before and after the
 * JSON object and its two keys. */
void el_tc_wrapper(el_tc_format f, const char **prefix, const char **suffix, const char **name_key,
                   const char **args_key);

typedef struct el_tc_sink {
    void *u;
    void (*content)(void *u, const char *s, size_t n);
    void (*call)(void *u, int index, const char *name, size_t n); /* call `index` begins */
    void (*args)(void *u, int index, const char *s, size_t n);    /* more of its arguments */
} el_tc_sink;

typedef struct el_tc_parser el_tc_parser;
el_tc_parser *el_tc_new(el_tc_format f); /* NULL: out of memory */
void el_tc_push(el_tc_parser *p, const char *s, size_t n, const el_tc_sink *k);
/* End of generation: what is held back is reported (as content unless it is a whole call). */
void el_tc_finish(el_tc_parser *p, const el_tc_sink *k);
int el_tc_calls(const el_tc_parser *p); /* calls reported so far */
void el_tc_free(el_tc_parser *p);

#endif
