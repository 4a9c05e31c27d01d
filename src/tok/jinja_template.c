/* tok/jinja_template.c — the public face of the chat-template interpreter (tok/template.h):
 * parse once into an immutable el_tmpl, render many times with the variables transformers'
 * apply_chat_template passes (messages, tools, documents=None, add_generation_prompt,
 * bos_token, eos_token, enable_thinking and any extra ones).
 *
 * Also owns the tool-argument probe that llama.cpp's minja runs on every template (see
 * template.h): four tiny renders at parse time decide whether string tool-call arguments
 * must become objects before rendering.
 *
 * Error handling: jj_fail() longjmps back to the setjmp here. The context lives on the heap
 * (so nothing the setjmp caller reads afterwards is an indeterminate local), every value is
 * in an arena freed on both paths, and cJSON trees in flight are listed in ctx->json_roots.
 * Numbers are printed and parsed under the "C" locale (uselocale, per thread), whatever the
 * host program set.
 */
#include "tok/jinja.h"

#include <cjson/cJSON.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const jj_limits jj_default_limits = {
    .max_steps = 20000000,
    .max_mem = (size_t)256 << 20,
    .max_out = (size_t)16 << 20,
};

struct el_tmpl {
    jj_arena arena; /* AST, constants, normalized source */
    jj_str *src;
    jj_node *root;
    bool object_args;
};

static pthread_once_t cloc_once = PTHREAD_ONCE_INIT;
static locale_t cloc;
static void cloc_init(void) {
    cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static locale_t use_c_locale(void) {
    pthread_once(&cloc_once, cloc_init);
    return cloc ? uselocale(cloc) : (locale_t)0;
}
static void restore_locale(locale_t old) {
    if (old) uselocale(old);
}

typedef struct work {
    jj_ctx c;
    jj_arena arena;
} work;

static void free_work(work *w) {
    for (size_t i = 0; i < EL_ARRAY_LEN(w->c.json_roots); i++)
        if (w->c.json_roots[i]) cJSON_Delete(w->c.json_roots[i]);
    jj_arena_free(&w->arena);
    free(w);
}

static bool contains(const char *hay, const char *needle) {
    return hay && strstr(hay, needle) != NULL;
}

/* Renders a probe conversation; "" on any error (as minja's try_raw_render). The probe
 * conversations are tiny, so a template that needs more than these limits for them is
 * pathological and simply answers "no". */
static char *probe(const el_tmpl *t, const char *messages) {
    static const jj_limits lim = {
        .max_steps = 1000000, .max_mem = (size_t)32 << 20, .max_out = (size_t)1 << 20};
    el_tmpl_opts o = {.add_generation_prompt = false, .enable_thinking = -1, .now = 1};
    char *out = NULL, err[8];
    if (jj_render(t, messages, NULL, &o, &lim, &out, err, sizeof err) != 0) return NULL;
    return out;
}

static bool probe_object_arguments(const el_tmpl *t) {
    const char *needle = "<User Needle>";
    char *empty = probe(t, "[{\"role\":\"user\",\"content\":\"<User Needle>\"},"
                           "{\"role\":\"assistant\",\"content\":\"\"},"
                           "{\"role\":\"user\",\"content\":\"<User Needle>\"},"
                           "{\"role\":\"assistant\",\"content\":\"\"}]");
    char *null = probe(t, "[{\"role\":\"user\",\"content\":\"<User Needle>\"},"
                          "{\"role\":\"assistant\",\"content\":null},"
                          "{\"role\":\"user\",\"content\":\"<User Needle>\"},"
                          "{\"role\":\"assistant\",\"content\":null}]");
    bool non_null = contains(empty, needle) && !contains(null, needle);
    free(empty);
    free(null);
    const char *head = "[{\"role\":\"user\",\"content\":\"<User Needle>\"},"
                       "{\"role\":\"assistant\",\"content\":";
    const char *mid = ",\"tool_calls\":[{\"id\":\"call_1___\",\"type\":\"function\","
                      "\"function\":{\"arguments\":";
    const char *tail = ",\"name\":\"ipython\"}}]}]";
    const char *args_str = "\"{\\\"argument_needle\\\":\\\"print('Hello, World!')\\\"}\"";
    const char *args_obj = "{\"argument_needle\":\"print('Hello, World!')\"}";
    char msg[1024];
    bool ok[2];
    for (int k = 0; k < 2; k++) {
        msg[0] = 0;
        strcat(msg, head);
        strcat(msg, non_null ? "\"\"" : "null");
        strcat(msg, mid);
        strcat(msg, k ? args_obj : args_str);
        strcat(msg, tail);
        char *out = probe(t, msg);
        ok[k] = contains(out, "<parameter=argument_needle>") ||
                contains(out, "\"argument_needle\":") || contains(out, "'argument_needle':");
        free(out);
    }
    return !ok[0] && ok[1];
}

static void parse_body(jj_ctx *c, el_tmpl *t, const char *src, size_t len) {
    t->src = jj_normalize_source(c, src ? src : "", len);
    c->src = t->src->s;
    c->srclen = t->src->len;
    size_t ntok;
    jj_tok *toks = jj_lex(c, t->src, &ntok);
    t->root = jj_parse(c, toks, ntok);
}

el_tmpl *el_tmpl_parse(const char *src, size_t len, char *err, size_t errlen) {
    if (!src && len) {
        el_errf(err, errlen, "template: NULL source");
        return NULL;
    }
    el_tmpl *t = calloc(1, sizeof *t);
    work *w = calloc(1, sizeof *w);
    if (!t || !w) {
        free(t);
        free(w);
        el_errf(err, errlen, "template: out of memory");
        return NULL;
    }
    t->arena.budget = ((size_t)64 << 20) + (len < JJ_MAX_SRC ? len * 64 : 0);
    w->c.arena = &t->arena;
    w->c.err = err;
    w->c.errlen = errlen;
    locale_t old = use_c_locale();
    if (setjmp(w->c.jb)) {
        restore_locale(old);
        jj_arena_free(&t->arena);
        free(t);
        free(w);
        return NULL;
    }
    parse_body(&w->c, t, src, len);
    restore_locale(old);
    free(w);
    t->object_args = probe_object_arguments(t);
    return t;
}

void el_tmpl_free(el_tmpl *t) {
    if (!t) return;
    jj_arena_free(&t->arena);
    free(t);
}

bool el_tmpl_wants_object_arguments(const el_tmpl *t) {
    return t && t->object_args;
}

/* A string that is a complete JSON document (what nlohmann's json::parse accepts). */
static bool json_text_ok(const jj_str *s) {
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s->s, s->len, &end, 0);
    if (!j) return false;
    cJSON_Delete(j);
    for (; end && *end; end++)
        if (!strchr(" \t\r\n", *end)) return false;
    return true;
}

/* llama.cpp's polyfill_object_arguments: tool_calls[].function.arguments given as a JSON
 * string becomes the parsed value (left alone when it does not parse). */
static void object_arguments(jj_ctx *c, jv messages) {
    if (messages.t != JV_LIST) return;
    for (size_t i = 0; i < messages.u.l->n; i++) {
        jv m = messages.u.l->v[i];
        if (m.t != JV_DICT) continue;
        jv *calls = jj_dict_get(m.u.d, "tool_calls", 10);
        if (!calls || calls->t != JV_LIST) continue;
        for (size_t k = 0; k < calls->u.l->n; k++) {
            jv tc = calls->u.l->v[k];
            if (tc.t != JV_DICT) continue;
            jv *type = jj_dict_get(tc.u.d, "type", 4);
            jv *fn = jj_dict_get(tc.u.d, "function", 8);
            if (!type || type->t != JV_STR || !jj_str_eq(type->u.s, "function", 8) || !fn ||
                fn->t != JV_DICT)
                continue;
            jv *args = jj_dict_get(fn->u.d, "arguments", 9);
            if (!args || args->t != JV_STR || !json_text_ok(args->u.s)) continue;
            *args = jj_from_json_text(c, args->u.s->s, "tool call arguments");
        }
    }
}

static void set_var(jj_ctx *c, jj_scope *s, const char *name, jv v) {
    jj_scope_set(c, s, jj_str_cstr(c, name), v);
}

static char *render_body(jj_ctx *c, const el_tmpl *t, const char *messages_json,
                         const char *tools_json, const el_tmpl_opts *opts) {
    jj_scope *root = jj_alloc(c, sizeof *root);
    jv messages = jj_from_json_text(c, messages_json, "messages");
    if (messages.t != JV_LIST) jj_fail(c, JJ_NOPOS, "messages: expected a JSON array");
    if (t->object_args) object_arguments(c, messages);
    set_var(c, root, "messages", messages);
    set_var(c, root, "tools", tools_json ? jj_from_json_text(c, tools_json, "tools") : jv_none());
    set_var(c, root, "documents", jv_none());
    set_var(c, root, "add_generation_prompt", jv_bool(opts->add_generation_prompt));
    set_var(c, root, "bos_token", jv_str(jj_str_cstr(c, opts->bos_token ? opts->bos_token : "")));
    set_var(c, root, "eos_token", jv_str(jj_str_cstr(c, opts->eos_token ? opts->eos_token : "")));
    if (opts->enable_thinking >= 0)
        set_var(c, root, "enable_thinking", jv_bool(opts->enable_thinking != 0));
    if (opts->extra_json) {
        jv extra = jj_from_json_text(c, opts->extra_json, "extra_json");
        if (extra.t != JV_DICT) jj_fail(c, JJ_NOPOS, "extra_json: expected a JSON object");
        static const char *const reserved[] = {"messages", "tools", "documents",
                                               "add_generation_prompt"};
        for (size_t i = 0; i < extra.u.d->n; i++) {
            for (size_t k = 0; k < EL_ARRAY_LEN(reserved); k++)
                if (strcmp(extra.u.d->k[i].u.s->s, reserved[k]) == 0)
                    jj_fail(c, JJ_NOPOS, "extra_json: '%s' cannot be overridden", reserved[k]);
            jj_scope_set(c, root, extra.u.d->k[i].u.s, extra.u.d->v[i]);
        }
    }
    jj_scope *top = jj_alloc(c, sizeof *top);
    top->parent = root;
    c->scope = top;
    jj_buf buf = {0};
    c->out = &buf;
    jj_exec_template(c, t->root);
    char *r = malloc(buf.n + 1);
    if (!r) jj_fail(c, JJ_NOPOS, "out of memory");
    if (buf.n) memcpy(r, buf.p, buf.n);
    r[buf.n] = 0;
    return r;
}

int jj_render(const el_tmpl *t, const char *messages_json, const char *tools_json,
              const el_tmpl_opts *opts, const jj_limits *lim, char **out, char *err,
              size_t errlen) {
    static const el_tmpl_opts dflt = {.enable_thinking = -1};
    if (out) *out = NULL;
    if (!t || !messages_json || !out || !lim)
        return el_errf(err, errlen, "template: bad arguments");
    work *w = calloc(1, sizeof *w);
    if (!w) return el_errf(err, errlen, "template: out of memory");
    w->arena.budget = lim->max_mem;
    w->c.arena = &w->arena;
    w->c.err = err;
    w->c.errlen = errlen;
    w->c.src = t->src->s;
    w->c.srclen = t->src->len;
    w->c.lim = *lim;
    w->c.now = opts ? opts->now : 0;
    locale_t old = use_c_locale();
    if (setjmp(w->c.jb)) {
        restore_locale(old);
        free_work(w);
        return -1;
    }
    *out = render_body(&w->c, t, messages_json, tools_json, opts ? opts : &dflt);
    restore_locale(old);
    free_work(w);
    return 0;
}

int el_tmpl_render(const el_tmpl *t, const char *messages_json, const char *tools_json,
                   const el_tmpl_opts *opts, char **out, char *err, size_t errlen) {
    return jj_render(t, messages_json, tools_json, opts, &jj_default_limits, out, err, errlen);
}
