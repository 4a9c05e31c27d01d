/* server/reasoning.h — splits a reasoning model's output into reasoning and answer.
 *
 * Qwen3, QwQ and DeepSeek-R1 think inside <think> ... </think> before answering. The OpenAI
 * shape (as llama.cpp, vLLM and DeepSeek's API return it) puts the thinking in
 * `reasoning_content` and only the answer in `content`. The splitter is fed the generated
 * text piece by piece and reports each byte on one of the two channels as soon as it is
 * certain: a tail that may be the start of a tag is held back, and so is whitespace that may
 * turn out to be the padding before "</think>" (the newlines around the thinking are dropped
 * from both channels, as the templates add them back when the turn is rendered again).
 *
 * Thinking is recognised only at the very start of the output (after whitespace), or from
 * the first byte when the prompt already opened the block (templates that end the
 * generation prompt with "<think>\n"). Output that does not start with <think> is all
 * content. Never fails.
 */
#ifndef EL_SERVER_REASONING_H
#define EL_SERVER_REASONING_H

#include <stdbool.h>
#include <stddef.h>

enum { EL_THINK_CONTENT = 0, EL_THINK_REASONING = 1 };

typedef void (*el_think_sink)(void *u, int channel, const char *s, size_t n);

typedef struct el_think {
    int state;
    char *pend; /* held-back bytes */
    size_t n, cap;
    bool lead; /* strip leading whitespace of the current channel */
} el_think;

/* in_think: the prompt ends inside an open <think> block. */
void el_think_init(el_think *t, bool in_think);
void el_think_push(el_think *t, const char *s, size_t n, el_think_sink k, void *u);
void el_think_finish(el_think *t, el_think_sink k, void *u);
void el_think_free(el_think *t);

/* Whether a rendered prompt leaves the model inside a <think> block. */
bool el_think_prompt_open(const char *prompt, size_t n);

#endif
