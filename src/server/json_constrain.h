/* server/json_constrain.h — constrained JSON output: a JSON schema compiled into an
 * incremental validator that, given the bytes generated so far, says whether more bytes keep
 * the output a valid prefix of a document the schema accepts; and a token mask built on it.
 *
 * Used for response_format json_object / json_schema and for forced tool calls
 * (tool_choice "required" or a named function), where the document is wrapped in the model
 * family's literal markers (prefix + JSON value + suffix, e.g. "<tool_call>\n" ...
 * "\n</tool_call>").
 *
 * What the generator produces is a subset of what the schema accepts, chosen so that the
 * output always validates and a random model still terminates:
 *   - objects with "properties" get only declared keys, each at most once, in any order
 *     (tool wrappers: in declared order); they close once every "required" key is present;
 *     objects without "properties" take any keys (values: additionalProperties or any JSON);
 *   - integers (and numbers with bounds, which are generated as integers) honour minimum /
 *     maximum / exclusive*; unbounded numbers are JSON numbers of at most 15 integer digits;
 *   - strings honour minLength / maxLength (in code points), are valid UTF-8 and carry no
 *     \u escapes of surrogates or NUL;
 *   - whitespace between tokens is none, one space, or a newline and at most
 *     EL_JC_MAX_INDENT spaces/tabs; none before the document (one gap after a prefix);
 *     nesting at most EL_JC_MAX_DEPTH.
 * Supported keywords: type (also as a list), properties, required, additionalProperties,
 * items, minItems, maxItems, minLength, maxLength, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, enum, const, anyOf / oneOf (alternatives of different JSON types, e.g.
 * string | null), allOf of one schema, $ref into #/$defs or #/definitions (recursion
 * allowed). Annotations (title, description, format, default, examples, $schema...) are
 * ignored. Keywords that restrict values in ways the generator cannot follow (pattern,
 * not, if/then/else, prefixItems, uniqueItems, multipleOf, ...) make compilation fail with
 * one line naming the keyword: the caller answers 400 rather than emit invalid output.
 *
 * Memory: a grammar is allocated by compile and immutable afterwards (share it freely); a
 * state is a plain struct the caller owns (copy only its live part with el_jc_copy).
 */
#ifndef EL_SERVER_JSON_CONSTRAIN_H
#define EL_SERVER_JSON_CONSTRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define EL_JC_MAX_DEPTH 32
#define EL_JC_MAX_INDENT 20

typedef struct el_jc_grammar el_jc_grammar;

/* schema NULL: any JSON object (response_format json_object). The schema is read, not kept. */
el_jc_grammar *el_jc_compile(const cJSON *schema, char *err, size_t errlen);
/* A forced tool call: prefix + {"<name_key>": one of names, "<args_key>": a value of the
 * chosen function's parameters schema (NULL: any object)} + suffix, keys in that order.
 * n in 1..64. */
el_jc_grammar *el_jc_compile_tools(const char *prefix, const char *suffix, const char *name_key,
                                   const char *args_key, const char *const *names,
                                   const cJSON *const *params, int n, char *err, size_t errlen);
void el_jc_free(el_jc_grammar *g);

typedef struct jc_frame {
    uint8_t type;  /* FR_* */
    uint8_t phase; /* sub-state of the frame */
    uint8_t ws;    /* whitespace bytes so far in the current gap */
    uint8_t key;   /* string/literal frame: this is an object key */
    int32_t node;  /* schema node */
    int32_t pick;  /* object: property being read; literal: the one matched */
    int32_t sel;   /* object: literal index of the last literal value (tool name) */
    uint64_t mask; /* object: properties seen; literal: candidates still alive */
    int64_t n;     /* array: items; string: code points; literal: bytes; number: magnitude */
    uint32_t aux;  /* string: UTF-8 / escape state; number: digit counts */
    uint32_t aux2;
} jc_frame;

typedef struct el_jc_state {
    const el_jc_grammar *g;
    uint8_t phase; /* prefix, value, suffix, done */
    uint32_t pos;  /* bytes of the prefix/suffix matched */
    int32_t top;   /* frames in use */
    jc_frame st[EL_JC_MAX_DEPTH];
} el_jc_state;

void el_jc_init(el_jc_state *s, const el_jc_grammar *g);
/* Feeds bytes. 0: still a valid prefix. -1: rejected (s is then unspecified: feed a copy
 * when probing). */
int el_jc_feed(el_jc_state *s, const char *p, size_t n);
/* The document may end here (end of generation is valid). */
bool el_jc_can_end(const el_jc_state *s);
/* The document is complete and nothing may follow. */
bool el_jc_done(const el_jc_state *s);
/* Copies the live part of src (cheaper than a struct copy). */
void el_jc_copy(el_jc_state *dst, const el_jc_state *src);

/* ---- token masks -------------------------------------------------------------------- */

/* The model's vocabulary as the mask sees it: each token's text (as the detokenizer prints
 * it) and whether it ends generation. Built once per model; immutable afterwards. */
typedef struct el_jc_vocab el_jc_vocab;
/* text(u, id, buf, cap) returns the byte count of token id's text (may exceed cap: then
 * called again with a bigger buffer); eog(u, id) says whether it ends generation. */
el_jc_vocab *el_jc_vocab_new(int32_t n_vocab, int (*text)(void *u, int32_t id, char *buf, int cap),
                             bool (*eog)(void *u, int32_t id), void *u, char *err, size_t errlen);
void el_jc_vocab_free(el_jc_vocab *v);
/* The end-of-generation token ids (count returned, *ids owned by v). */
int32_t el_jc_vocab_eog(const el_jc_vocab *v, const int32_t **ids);

/* Writes into out (n_vocab floats) the logits of `in` for the tokens allowed after state s,
 * -INFINITY for the rest. End-of-generation tokens are allowed only when el_jc_can_end.
 * Tokens are checked best-logit first: when one of the top `k` candidates fits, only those
 * among the top k are kept (exact for greedy decoding; for sampling it trims the tail the
 * sampler's top-k/top-p would mostly cut anyway); otherwise the whole vocabulary is
 * scanned, prefiltered by first byte. Returns the number of allowed tokens (0: nothing
 * fits — the caller ends generation). */
int el_jc_mask(const el_jc_state *s, const el_jc_vocab *v, const float *in, float *out, int k);

#endif
