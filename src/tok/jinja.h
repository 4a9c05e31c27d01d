/* tok/jinja.h — internals of the chat-template interpreter (module-private; the public face is
 * tok/template.h). Files:
 *   jinja_lex.c       template text -> tokens (Jinja's lexer rules, trim/lstrip blocks)
 *   jinja_parse.c     tokens -> AST (Jinja's grammar, operator precedence included)
 *   jinja_value.c     arena, values, Python str()/repr(), json.dumps, JSON input, equality
 *   jinja_eval.c      the interpreter: scopes, statements, operators, attribute access, calls
 *   jinja_builtins.c  filters and tests, Python-style argument binding
 *   jinja_methods.c   str/dict/list methods, loop helpers, globals, case mapping, % format
 *   jinja_template.c  el_tmpl_* (the public API), render context, tool-argument probe
 *
 * Semantics follow Python + Jinja2 3.1 (ImmutableSandboxedEnvironment, default Undefined):
 * values are Python's (None, bool, 64-bit int, float, str, list, tuple, dict, namespace);
 * strings are UTF-8 and indexed by code point. Where we cannot match Python exactly (a
 * Python int wider than 64 bits, a filter we do not implement, printing a generator) we fail
 * with a message rather than print different text.
 *
 * Errors: every failure calls jj_fail(), which formats one line and longjmps to the
 * setjmp in jinja_template.c. That is safe because everything allocated between the setjmp
 * and the failure lives in a jj_arena owned by the caller of setjmp (or is listed in
 * jj_ctx.json_roots), so unwinding drops nothing on the floor.
 *
 * Memory: two arenas — the template's (AST, constant strings; lives as long as the el_tmpl)
 * and one per render (every value, scope and output buffer; freed when render returns).
 * Values are never freed individually; the per-render budget bounds the total.
 */
#ifndef EL_JINJA_H
#define EL_JINJA_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "tok/template.h"

/* ---- limits ------------------------------------------------------------------------- */
#define JJ_MAX_SRC (4u << 20) /* template text bytes */
#define JJ_PARSE_DEPTH 96     /* nesting of expressions / blocks in the parser */
#define JJ_EVAL_DEPTH 800     /* interpreter recursion (nodes + macro calls) */
#define JJ_VALUE_DEPTH 512    /* nesting walked by repr / tojson / == / JSON input */
#define JJ_RANGE_MAX 100000   /* range() length cap, the sandbox's MAX_RANGE */
#define JJ_NOPOS UINT32_MAX

typedef struct jj_limits {
    uint64_t max_steps; /* interpreter steps (node evaluations + loop iterations) */
    size_t max_mem;     /* bytes the render arena may hold */
    size_t max_out;     /* bytes of any one output buffer (the result, a {% set %} capture) */
} jj_limits;
extern const jj_limits jj_default_limits;

/* ---- arena ---------------------------------------------------------------------------- */
typedef struct jj_chunk jj_chunk;
typedef struct jj_arena {
    jj_chunk *head; /* newest chunk first */
    size_t total;   /* bytes malloc'd so far */
    size_t budget;  /* jj_alloc fails past this */
} jj_arena;
void jj_arena_free(jj_arena *a);

/* ---- values --------------------------------------------------------------------------- */
typedef struct jj_str {
    size_t len; /* bytes, excluding the NUL */
    size_t ncp; /* code points (== len when ASCII) */
    char s[];   /* UTF-8, NUL-terminated */
} jj_str;

enum jv_type {
    JV_UNDEF, /* Jinja's default Undefined; u.hint says why (may be NULL) */
    JV_NONE,
    JV_BOOL,
    JV_INT,
    JV_FLOAT,
    JV_STR,
    JV_LIST,  /* list, tuple, generator, range, dict views: see jj_list.kind */
    JV_DICT,  /* str keys only, insertion ordered */
    JV_NS,    /* namespace(): a mutable dict */
    JV_FUNC,  /* builtin function or bound method: id + u.bound */
    JV_MACRO, /* {% macro %} */
    JV_LOOP,  /* the `loop` variable */
};

enum jl_kind { JL_LIST, JL_TUPLE, JL_ITER, JL_RANGE, JL_ITEMS, JL_KEYS, JL_VALUES };

typedef struct jj_list jj_list;
typedef struct jj_dict jj_dict;
typedef struct jj_bound jj_bound;
typedef struct jj_macro jj_macro;
typedef struct jj_loop jj_loop;

typedef struct jv {
    uint8_t t;   /* enum jv_type */
    uint8_t mk;  /* JV_STR: a markupsafe Markup (|safe, |escape): see jj_markup_add */
    uint16_t id; /* JV_FUNC: enum jj_fn */
    union {
        bool b;
        int64_t i;
        double f;
        jj_str *s;
        jj_list *l;
        jj_dict *d;
        jj_bound *bound;
        jj_macro *m;
        jj_loop *loop;
        const char *hint;
    } u;
} jv;

struct jj_list {
    size_t n, cap;
    jv *v;          /* (cap) items */
    uint8_t kind;   /* enum jl_kind */
    bool consumed;  /* JL_ITER: a generator is exhausted after one full pass */
    int64_t rstart; /* JL_RANGE: start, stop, step as given (for repr); step 0 = a slice */
    int64_t rstop;
    int64_t rstep;
};

struct jj_dict {
    size_t n, cap;
    jv *k; /* (cap) keys: str, int, float, bool or None (Python's hashable scalars) */
    jv *v; /* (cap) values */
};

struct jj_bound {
    jv self;          /* receiver (JV_NONE for plain functions) */
    const char *name; /* for messages */
};

struct jj_node;
struct jj_scope;
struct jj_macro {
    const struct jj_node *def;
    struct jj_scope *closure;
};

struct jj_loop {
    jj_list *items;
    size_t i;  /* index0 */
    int depth; /* 1 for the outermost loop */
    bool changed_set;
    jv changed_last;
};

static inline jv jv_undef(const char *hint) {
    jv v = {.t = JV_UNDEF};
    v.u.hint = hint;
    return v;
}
static inline jv jv_none(void) {
    return (jv){.t = JV_NONE};
}
static inline jv jv_bool(bool b) {
    jv v = {.t = JV_BOOL};
    v.u.b = b;
    return v;
}
static inline jv jv_int(int64_t i) {
    jv v = {.t = JV_INT};
    v.u.i = i;
    return v;
}
static inline jv jv_float(double f) {
    jv v = {.t = JV_FLOAT};
    v.u.f = f;
    return v;
}
static inline jv jv_str(jj_str *s) {
    jv v = {.t = JV_STR};
    v.u.s = s;
    return v;
}
static inline jv jv_markup(jj_str *s) {
    jv v = {.t = JV_STR, .mk = 1};
    v.u.s = s;
    return v;
}
static inline jv jv_list(jj_list *l) {
    jv v = {.t = JV_LIST};
    v.u.l = l;
    return v;
}
static inline jv jv_dict(jj_dict *d) {
    jv v = {.t = JV_DICT};
    v.u.d = d;
    return v;
}

/* ---- AST ------------------------------------------------------------------------------ */
enum jj_kind {
    /* statements */
    N_TEXT,        /* name = text */
    N_OUT,         /* {{ a }} */
    N_IF,          /* v = N_BRANCH list, w = else body */
    N_BRANCH,      /* a = test, v = body */
    N_FOR,         /* a = target, b = iterable, c = filter test, v = body, w = else */
    N_SET,         /* a = target, b = value */
    N_SETBLOCK,    /* a = target, b = filter chain or NULL, v = body */
    N_MACRO,       /* name, v = params (N_NAME / N_KW with default), w = body */
    N_FILTERBLOCK, /* b = filter chain, v = body */
    N_WITH,        /* v = N_SET list, w = body */
    N_SCOPE,       /* v = body rendered in a child scope ({% generation %}) */
    N_BREAK,
    N_CONTINUE,
    /* expressions */
    N_CONST,   /* k */
    N_NAME,    /* name */
    N_GETATTR, /* a . name */
    N_GETITEM, /* a [ b ] */
    N_SLICE,   /* a [ b : c : d ], any of b c d may be NULL */
    N_CALL,    /* a ( v ), v holds positional nodes and N_KW */
    N_KW,      /* name = a */
    N_FILTER,  /* a | name ( v ), op = filter id; a NULL in filter chains */
    N_TEST,    /* a is name ( v ), op = test id */
    N_NEG,
    N_POS,
    N_NOT,
    N_BIN,    /* a op b, op = token op (+ - * / // % **) */
    N_CONCAT, /* v joined with ~ */
    N_CMP,    /* a, then v = N_CMPOP list */
    N_CMPOP,  /* op, a */
    N_AND,
    N_OR,
    N_COND,  /* b if a else c (c may be NULL) */
    N_LIST,  /* v */
    N_TUPLE, /* v */
    N_DICT,  /* v = keys, w = values */
    N_NSREF, /* name = variable, a = N_NAME of the attribute (set target only) */
};

typedef struct jj_node {
    uint8_t kind;
    uint8_t op;     /* operator, filter or test id */
    uint16_t flags; /* N_FOR: recursive; N_CMPOP: - */
    uint32_t pos;   /* byte offset in the (normalized) source, for line:col */
    struct jj_node *a, *b, *c, *d;
    struct jj_node **v; /* (n) */
    struct jj_node **w; /* (m) */
    uint32_t n, m;
    jj_str *name;
    jv k;
} jj_node;

/* Comparison operators (N_CMPOP.op) and binary operators (N_BIN.op) share the lexer's
 * operator numbering. */
enum jj_op {
    OP_NONE,
    OP_ADD,
    OP_SUB,
    OP_DIV,
    OP_FLOORDIV,
    OP_MUL,
    OP_MOD,
    OP_POW,
    OP_TILDE,
    OP_LBRACKET,
    OP_RBRACKET,
    OP_LPAREN,
    OP_RPAREN,
    OP_LBRACE,
    OP_RBRACE,
    OP_EQ,
    OP_NE,
    OP_GT,
    OP_GTEQ,
    OP_LT,
    OP_LTEQ,
    OP_ASSIGN,
    OP_DOT,
    OP_COLON,
    OP_PIPE,
    OP_COMMA,
    OP_SEMICOLON,
    OP_IN, /* comparison only */
    OP_NOTIN,
};

/* ---- lexer ---------------------------------------------------------------------------- */
enum jj_tok_type {
    T_EOF,
    T_DATA,
    T_BLOCK_BEGIN,
    T_BLOCK_END,
    T_VAR_BEGIN,
    T_VAR_END,
    T_NAME,
    T_STRING,
    T_INT,
    T_FLOAT,
    T_OP,
};

typedef struct jj_tok {
    uint8_t type;
    uint8_t op;   /* T_OP */
    uint32_t pos; /* byte offset */
    jj_str *s;    /* T_DATA, T_NAME, T_STRING */
    int64_t i;    /* T_INT */
    double f;     /* T_FLOAT */
} jj_tok;

/* ---- context -------------------------------------------------------------------------- */
typedef struct jj_buf {
    char *p;
    size_t n, cap;
} jj_buf;

typedef struct jj_scope {
    struct jj_scope *parent;
    jj_dict vars;
} jj_scope;

typedef struct jj_ctx {
    jmp_buf jb;
    char *err;
    size_t errlen;
    const char *src; /* normalized template text, for line:col */
    size_t srclen;
    jj_arena *arena;
    int depth; /* recursion guard (parser and interpreter) */
    /* render only */
    jj_limits lim;
    uint64_t steps;
    jj_buf *out;         /* where output goes now (captures push their own) */
    jj_scope *scope;     /* innermost scope */
    int64_t now;         /* strftime_now clock, 0 = current time */
    void *json_roots[4]; /* cJSON trees to free on unwind */
} jj_ctx;

/* Formats "line:col: message" (pos = byte offset into c->src, or JJ_NOPOS) and unwinds. */
_Noreturn void jj_fail(jj_ctx *c, uint32_t pos, const char *fmt, ...) EL_PRINTF(3, 4);

/* Counts n steps of bulk work (comparisons, string scans) against c->lim.max_steps, so
 * builtins that loop without evaluating nodes are bounded too. */
void jj_charge(jj_ctx *c, uint64_t n);

void *jj_alloc(jj_ctx *c, size_t n);                /* zeroed, 16-byte aligned; fails past budget */
void *jj_alloc_n(jj_ctx *c, size_t n, size_t size); /* overflow-checked n * size */

/* strings */
jj_str *jj_str_new(jj_ctx *c, const char *s, size_t len);
jj_str *jj_str_cstr(jj_ctx *c, const char *s);
jj_str *jj_str_cat(jj_ctx *c, const jj_str *a, const jj_str *b);
bool jj_str_eq(const jj_str *a, const char *s, size_t len);
size_t jj_utf8_count(const char *s, size_t len);
uint32_t jj_utf8_decode(const char *s, size_t len, size_t *adv); /* s non-empty */
size_t jj_utf8_encode(uint32_t cp, char out[4]);
size_t jj_cp_offset(const jj_str *s, size_t cpi); /* byte offset of code point cpi */
bool jj_py_isspace(uint32_t cp);

/* buffers (arena-backed, doubling) */
void jj_buf_put(jj_ctx *c, jj_buf *b, const char *s, size_t n);
void jj_buf_puts(jj_ctx *c, jj_buf *b, const char *s);
void jj_buf_putc(jj_ctx *c, jj_buf *b, char ch);
jj_str *jj_buf_str(jj_ctx *c, const jj_buf *b);

/* containers */
jj_list *jj_list_new(jj_ctx *c, size_t cap, int kind);
void jj_list_push(jj_ctx *c, jj_list *l, jv v);
jj_dict *jj_dict_new(jj_ctx *c, size_t cap);
jv *jj_dict_get(const jj_dict *d, const char *k, size_t klen); /* str keys only */
void jj_dict_set(jj_ctx *c, jj_dict *d, jj_str *k, jv v);      /* replaces in place, else appends */
/* Any key, with Python's key equality (1 == 1.0 == True). find: NULL when absent or the key
 * cannot be a dict key; put: fails on an unhashable key. */
jv *jj_dict_find(jj_ctx *c, const jj_dict *d, jv key);
void jj_dict_put(jj_ctx *c, uint32_t pos, jj_dict *d, jv key, jv v);
bool jj_hashable(jv v);
jj_list *jj_list_copy(jj_ctx *c, const jj_list *l, int kind);

/* Python semantics */
bool jj_truthy(jv v);
const char *jj_type_name(jv v); /* Python type name: 'str', 'dict', 'NoneType', ... */
bool jj_equal(jj_ctx *c, jv a, jv b, int depth);
void jj_fmt_float(double d, char out[32]);                             /* Python repr(float) */
void jj_put_str(jj_ctx *c, uint32_t pos, jj_buf *b, jv v);             /* str(v) */
void jj_put_repr(jj_ctx *c, uint32_t pos, jj_buf *b, jv v, int depth); /* repr(v) */
jj_str *jj_to_str(jj_ctx *c, uint32_t pos, jv v);                      /* str(v) as a string */

typedef struct jj_json_opts {
    bool ensure_ascii;
    bool sort_keys;
    const char *indent; /* NULL: no newlines */
    const char *item_sep, *key_sep;
} jj_json_opts;
void jj_put_json(jj_ctx *c, uint32_t pos, jj_buf *b, jv v, const jj_json_opts *o, int depth);

/* JSON text -> value, Python's json.loads semantics (ints stay ints, floats stay floats,
 * duplicate keys keep the last value). Fails on invalid JSON or unsupported content. */
jv jj_from_json_text(jj_ctx *c, const char *text, const char *what);

/* ---- lexer / parser ------------------------------------------------------------------- */
/* Normalizes newlines and drops one trailing newline (Jinja's keep_trailing_newline=False);
 * the result is what positions refer to. */
jj_str *jj_normalize_source(jj_ctx *c, const char *src, size_t len);
jj_tok *jj_lex(jj_ctx *c, const jj_str *src, size_t *ntok);
jj_node *jj_parse(jj_ctx *c, jj_tok *toks, size_t ntok);

/* ---- interpreter ---------------------------------------------------------------------- */
void jj_exec_template(jj_ctx *c, const jj_node *root);
jv jj_eval(jj_ctx *c, const jj_node *n);
jv jj_getattr(jj_ctx *c, uint32_t pos, jv obj, const char *name, size_t len);
jv jj_getitem(jj_ctx *c, uint32_t pos, jv obj, jv key);
jj_list *jj_iterate(jj_ctx *c, uint32_t pos, jv v); /* list(v) semantics */
jv jj_call_value(jj_ctx *c, uint32_t pos, jv fn, size_t nargs, const jv *args, size_t nkw,
                 jj_str *const *kwnames, const jv *kwvals);
jv jj_binop(jj_ctx *c, uint32_t pos, int op, jv a, jv b);
int jj_order(jj_ctx *c, uint32_t pos, jv a, jv b);    /* <0, 0, >0; TypeError on mismatch */
jv jj_undefined_error(jj_ctx *c, uint32_t pos, jv u); /* fails with u's hint */
void jj_scope_set(jj_ctx *c, jj_scope *s, jj_str *name, jv v);
jv jj_lookup(jj_ctx *c, const char *name, size_t len);

/* ---- builtins ------------------------------------------------------------------------- */
/* Filters and tests: the parser maps a name to an id (0 = unknown to Jinja: a parse error;
 * JJ_UNSUPPORTED = a Jinja builtin we do not implement: a render error where reached). */
#define JJ_UNSUPPORTED 255
int jj_filter_id(const char *name);
int jj_test_id(const char *name);
/* Global functions resolved by name when no variable shadows them. */
bool jj_global(jj_ctx *c, const char *name, size_t len, jv *out);

typedef struct jj_args {
    size_t n;
    const jv *v;
    size_t nkw;
    jj_str *const *kwn;
    const jv *kwv;
} jj_args;

jv jj_apply_filter(jj_ctx *c, uint32_t pos, int id, const char *name, jv subject, const jj_args *a);
bool jj_apply_test(jj_ctx *c, uint32_t pos, int id, const char *name, jv subject, const jj_args *a);
/* A bound method for attribute `name` of a str / dict / list / loop, or false. Sets *out to
 * an Undefined carrying the sandbox's message for methods that would mutate. */
bool jj_method(jj_ctx *c, jv self, const char *name, size_t len, jv *out);
jv jj_call_builtin(jj_ctx *c, uint32_t pos, jv fn, const jj_args *a);
/* Binds a call's arguments to parameter names as Python does (positional, then keywords;
 * unknown or repeated ones are errors). out[i] keeps the caller's default unless given. */
void jj_bind(jj_ctx *c, uint32_t pos, const char *fname, const jj_args *a, int np,
             const char *const *names, jv *out);
void jj_no_args(jj_ctx *c, uint32_t pos, const char *fname, const jj_args *a);
const jj_str *jj_need_str(jj_ctx *c, uint32_t pos, jv v, const char *what);
int64_t jj_need_int(jj_ctx *c, uint32_t pos, jv v, const char *what);

/* String operations shared by filters and methods (jinja_methods.c). */
enum { JJ_CASE_UPPER, JJ_CASE_LOWER, JJ_CASE_TITLE, JJ_CASE_CAPITALIZE, JJ_CASE_JINJA_TITLE };
jj_str *jj_change_case(jj_ctx *c, uint32_t pos, const jj_str *s, int mode);
jj_str *jj_strip(jj_ctx *c, const jj_str *s, const jj_str *chars, bool left, bool right);
jj_str *jj_replace(jj_ctx *c, const jj_str *s, const jj_str *old, const jj_str *new_,
                   int64_t count);
jj_list *jj_splitlines(jj_ctx *c, const jj_str *s, bool keepends);

/* Python's `format % args` (the subset %s %r %d %i %%); with markup, Markup.__mod__: the
 * arguments are HTML-escaped and the result is a Markup. */
jv jj_format_percent(jj_ctx *c, uint32_t pos, const jj_str *fmt, jv args, bool markup);

/* markupsafe: escape() of any value (a Markup stays as it is) and the five-character HTML
 * escape of a string. */
jv jj_escape(jj_ctx *c, uint32_t pos, jv v);
jj_str *jj_html_escape(jj_ctx *c, const jj_str *s);

/* ---- rendering with explicit limits (tests and the fuzz harness use it) ---------------- */
int jj_render(const el_tmpl *t, const char *messages_json, const char *tools_json,
              const el_tmpl_opts *opts, const jj_limits *lim, char **out, char *err, size_t errlen);

#endif
