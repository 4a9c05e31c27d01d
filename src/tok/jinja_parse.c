/* tok/jinja_parse.c — tokens -> AST with Jinja2 3.1's grammar (jinja2/parser.py is the
 * reference for precedence and the odd corners: filters bind tighter than arithmetic,
 * `-x|f` filters the negation, `a ** b ** c` is left-associative, a test takes one bare
 * argument, `for` iterables and `if` tests have no inline-if).
 *
 * Supported tags: if/elif/else, for (with else, inline filter), set (also ns.attr and block
 * set), macro, with, filter, print, raw (in the lexer), break/continue (loopcontrols) and
 * transformers' {% generation %}. Jinja tags we do not support (block, extends, include,
 * import, from, call, autoescape, recursive loops) are parse errors naming the tag, as are
 * filters and tests Jinja does not know (Jinja also rejects those at compile time).
 * Memory: nodes live in the template arena. Nesting is bounded by JJ_PARSE_DEPTH.
 */
#include "tok/jinja.h"

#include <stdio.h>
#include <string.h>

typedef struct parser {
    jj_ctx *c;
    jj_tok *t;
    size_t n, i;
    int loop_depth; /* for break/continue: > 0 inside a for body */
    int depth;
} parser;

typedef struct nvec {
    jj_node **v;
    uint32_t n, cap;
} nvec;

static void push(parser *p, nvec *vec, jj_node *x) {
    if (vec->n == vec->cap) {
        uint32_t cap = vec->cap ? vec->cap * 2 : 4;
        jj_node **nv = jj_alloc_n(p->c, cap, sizeof *nv);
        if (vec->n) memcpy(nv, vec->v, vec->n * sizeof *nv);
        vec->v = nv;
        vec->cap = cap;
    }
    vec->v[vec->n++] = x;
}

static jj_node *mk(parser *p, int kind, uint32_t pos) {
    jj_node *x = jj_alloc(p->c, sizeof *x);
    x->kind = (uint8_t)kind;
    x->pos = pos;
    return x;
}

static jj_tok *cur(parser *p) {
    return &p->t[p->i];
}
static jj_tok *look(parser *p) {
    return p->i + 1 < p->n ? &p->t[p->i + 1] : &p->t[p->n - 1];
}
static void next(parser *p) {
    if (p->t[p->i].type != T_EOF) p->i++;
}

static bool is_name(const jj_tok *t, const char *s) {
    return t->type == T_NAME && jj_str_eq(t->s, s, strlen(s));
}
static bool is_op(const jj_tok *t, int op) {
    return t->type == T_OP && t->op == op;
}

static const char *op_text(int op) {
    static const char *const txt[] = {
        [OP_ADD] = "+",      [OP_SUB] = "-",       [OP_DIV] = "/",    [OP_FLOORDIV] = "//",
        [OP_MUL] = "*",      [OP_MOD] = "%",       [OP_POW] = "**",   [OP_TILDE] = "~",
        [OP_LBRACKET] = "[", [OP_RBRACKET] = "]",  [OP_LPAREN] = "(", [OP_RPAREN] = ")",
        [OP_LBRACE] = "{",   [OP_RBRACE] = "}",    [OP_EQ] = "==",    [OP_NE] = "!=",
        [OP_GT] = ">",       [OP_GTEQ] = ">=",     [OP_LT] = "<",     [OP_LTEQ] = "<=",
        [OP_ASSIGN] = "=",   [OP_DOT] = ".",       [OP_COLON] = ":",  [OP_PIPE] = "|",
        [OP_COMMA] = ",",    [OP_SEMICOLON] = ";",
    };
    return op > 0 && op < (int)EL_ARRAY_LEN(txt) && txt[op] ? txt[op] : "?";
}

static const char *desc(const jj_tok *t, char buf[80]) {
    switch (t->type) {
    case T_EOF:
        return "end of template";
    case T_DATA:
        return "template data";
    case T_BLOCK_BEGIN:
        return "'{%'";
    case T_BLOCK_END:
        return "end of statement block";
    case T_VAR_BEGIN:
        return "'{{'";
    case T_VAR_END:
        return "end of print statement";
    case T_NAME:
        snprintf(buf, 80, "'%.60s'", t->s->s);
        return buf;
    case T_STRING:
        return "string";
    case T_INT:
        return "integer";
    case T_FLOAT:
        return "float";
    default:
        snprintf(buf, 80, "'%s'", op_text(t->op));
        return buf;
    }
}

static _Noreturn void fail_at(parser *p, const jj_tok *t, const char *what) {
    char buf[80];
    jj_fail(p->c, t->pos, "%s, got %s", what, desc(t, buf));
}

static void expect_op(parser *p, int op) {
    if (!is_op(cur(p), op)) {
        char what[40];
        snprintf(what, sizeof what, "expected '%s'", op_text(op));
        fail_at(p, cur(p), what);
    }
    next(p);
}

static jj_tok *expect_name(parser *p) {
    if (cur(p)->type != T_NAME) fail_at(p, cur(p), "expected a name");
    jj_tok *t = cur(p);
    next(p);
    return t;
}

static void expect_type(parser *p, int type, const char *what) {
    if (cur(p)->type != type) fail_at(p, cur(p), what);
    next(p);
}

static void enter(parser *p) {
    if (++p->depth > JJ_PARSE_DEPTH)
        jj_fail(p->c, cur(p)->pos, "template nested deeper than %d levels", JJ_PARSE_DEPTH);
}
static void leave(parser *p) {
    p->depth--;
}

static void seal(jj_node *x, const nvec *v, const nvec *w) {
    if (v) {
        x->v = v->v;
        x->n = v->n;
    }
    if (w) {
        x->w = w->v;
        x->m = w->n;
    }
}

/* ---- expressions ---------------------------------------------------------------------- */

enum { TUPLE_FULL, TUPLE_NOCOND, TUPLE_SIMPLE };

static jj_node *parse_expression(parser *p, bool with_condexpr);
static jj_node *parse_tuple(parser *p, int mode, const char *extra_end, bool explicit_parens);
static jj_node *parse_unary(parser *p, bool with_filter);
static jj_node *parse_primary(parser *p);
static jj_node *parse_postfix(parser *p, jj_node *node);
static jj_node *parse_filter(parser *p, jj_node *node, bool start_inline);

static void parse_call_args(parser *p, nvec *args) {
    expect_op(p, OP_LPAREN);
    bool kw = false;
    while (!is_op(cur(p), OP_RPAREN)) {
        if (args->n) {
            expect_op(p, OP_COMMA);
            if (is_op(cur(p), OP_RPAREN)) break;
        }
        if (is_op(cur(p), OP_MUL) || is_op(cur(p), OP_POW))
            jj_fail(p->c, cur(p)->pos, "unsupported: *args / **kwargs in a call");
        if (cur(p)->type == T_NAME && is_op(look(p), OP_ASSIGN)) {
            jj_node *k = mk(p, N_KW, cur(p)->pos);
            k->name = cur(p)->s;
            next(p);
            next(p);
            k->a = parse_expression(p, true);
            push(p, args, k);
            kw = true;
        } else {
            if (kw) jj_fail(p->c, cur(p)->pos, "positional argument follows keyword argument");
            push(p, args, parse_expression(p, true));
        }
    }
    expect_op(p, OP_RPAREN);
}

static jj_str *dotted_name(parser *p) {
    jj_tok *t = expect_name(p);
    jj_str *name = t->s;
    while (is_op(cur(p), OP_DOT)) {
        next(p);
        jj_tok *u = expect_name(p);
        name = jj_str_cat(p->c, jj_str_cat(p->c, name, jj_str_cstr(p->c, ".")), u->s);
    }
    return name;
}

static jj_node *parse_filter(parser *p, jj_node *node, bool start_inline) {
    while (is_op(cur(p), OP_PIPE) || start_inline) {
        if (!start_inline) next(p);
        start_inline = false;
        uint32_t pos = cur(p)->pos;
        jj_str *name = dotted_name(p);
        int id = jj_filter_id(name->s);
        if (id == 0) jj_fail(p->c, pos, "no filter named '%.60s'", name->s);
        jj_node *f = mk(p, N_FILTER, pos);
        f->op = (uint8_t)id;
        f->name = name;
        f->a = node;
        if (is_op(cur(p), OP_LPAREN)) {
            nvec args = {0};
            parse_call_args(p, &args);
            seal(f, &args, NULL);
        }
        node = f;
    }
    return node;
}

static jj_node *parse_test(parser *p, jj_node *node) {
    uint32_t is_pos = cur(p)->pos;
    next(p); /* is */
    bool negated = false;
    if (is_name(cur(p), "not")) {
        next(p);
        negated = true;
    }
    uint32_t pos = cur(p)->pos;
    jj_str *name = dotted_name(p);
    int id = jj_test_id(name->s);
    if (id == 0) jj_fail(p->c, pos, "no test named '%.60s'", name->s);
    jj_node *t = mk(p, N_TEST, pos);
    t->op = (uint8_t)id;
    t->name = name;
    t->a = node;
    jj_tok *c = cur(p);
    nvec args = {0};
    if (is_op(c, OP_LPAREN)) {
        parse_call_args(p, &args);
    } else if ((c->type == T_NAME || c->type == T_STRING || c->type == T_INT ||
                c->type == T_FLOAT || is_op(c, OP_LBRACKET) || is_op(c, OP_LBRACE)) &&
               !is_name(c, "else") && !is_name(c, "or") && !is_name(c, "and")) {
        if (is_name(c, "is")) jj_fail(p->c, c->pos, "you cannot chain multiple tests with is");
        jj_node *arg = parse_postfix(p, parse_primary(p));
        push(p, &args, arg);
    }
    seal(t, &args, NULL);
    if (negated) {
        jj_node *x = mk(p, N_NOT, is_pos);
        x->a = t;
        return x;
    }
    return t;
}

static jj_node *parse_subscribed(parser *p) {
    uint32_t pos = cur(p)->pos;
    jj_node *parts[3] = {NULL, NULL, NULL};
    if (is_op(cur(p), OP_COLON)) {
        next(p);
    } else {
        jj_node *e = parse_expression(p, true);
        if (!is_op(cur(p), OP_COLON)) return e;
        next(p);
        parts[0] = e;
    }
    if (is_op(cur(p), OP_COLON)) {
        /* start::step */
    } else if (!is_op(cur(p), OP_RBRACKET) && !is_op(cur(p), OP_COMMA)) {
        parts[1] = parse_expression(p, true);
    }
    if (is_op(cur(p), OP_COLON)) {
        next(p);
        if (!is_op(cur(p), OP_RBRACKET) && !is_op(cur(p), OP_COMMA))
            parts[2] = parse_expression(p, true);
    }
    jj_node *s = mk(p, N_SLICE, pos);
    s->b = parts[0];
    s->c = parts[1];
    s->d = parts[2];
    return s;
}

static jj_node *parse_postfix(parser *p, jj_node *node) {
    for (;;) {
        jj_tok *t = cur(p);
        if (is_op(t, OP_DOT)) {
            next(p);
            jj_tok *a = cur(p);
            if (a->type == T_NAME) {
                next(p);
                jj_node *g = mk(p, N_GETATTR, a->pos);
                g->a = node;
                g->name = a->s;
                node = g;
            } else if (a->type == T_INT) {
                next(p);
                jj_node *k = mk(p, N_CONST, a->pos);
                k->k = jv_int(a->i);
                jj_node *g = mk(p, N_GETITEM, a->pos);
                g->a = node;
                g->b = k;
                node = g;
            } else {
                fail_at(p, a, "expected a name or number after '.'");
            }
        } else if (is_op(t, OP_LBRACKET)) {
            next(p);
            nvec args = {0};
            while (!is_op(cur(p), OP_RBRACKET)) {
                if (args.n) expect_op(p, OP_COMMA);
                if (is_op(cur(p), OP_RBRACKET)) break;
                push(p, &args, parse_subscribed(p));
            }
            expect_op(p, OP_RBRACKET);
            if (args.n == 0) fail_at(p, t, "expected a subscript");
            jj_node *sub;
            if (args.n == 1) {
                sub = args.v[0];
            } else {
                /* Jinja compiles x[a:b, c] to Python that does not compile */
                for (uint32_t i = 0; i < args.n; i++)
                    if (args.v[i]->kind == N_SLICE)
                        jj_fail(p->c, args.v[i]->pos, "invalid syntax: slice in a tuple subscript");
                sub = mk(p, N_TUPLE, t->pos);
                seal(sub, &args, NULL);
            }
            if (sub->kind == N_SLICE) {
                sub->a = node;
                node = sub;
            } else {
                jj_node *g = mk(p, N_GETITEM, t->pos);
                g->a = node;
                g->b = sub;
                node = g;
            }
        } else if (is_op(t, OP_LPAREN)) {
            jj_node *call = mk(p, N_CALL, node->pos);
            call->a = node;
            nvec args = {0};
            parse_call_args(p, &args);
            seal(call, &args, NULL);
            node = call;
        } else {
            return node;
        }
    }
}

static jj_node *parse_filter_expr(parser *p, jj_node *node) {
    for (;;) {
        jj_tok *t = cur(p);
        if (is_op(t, OP_PIPE)) {
            node = parse_filter(p, node, false);
        } else if (is_name(t, "is")) {
            node = parse_test(p, node);
        } else if (is_op(t, OP_LPAREN)) {
            jj_node *call = mk(p, N_CALL, node->pos);
            call->a = node;
            nvec args = {0};
            parse_call_args(p, &args);
            seal(call, &args, NULL);
            node = call;
        } else {
            return node;
        }
    }
}

static jj_node *parse_primary(parser *p) {
    jj_tok *t = cur(p);
    jj_node *x;
    switch (t->type) {
    case T_NAME:
        next(p);
        if (is_name(t, "true") || is_name(t, "True") || is_name(t, "false") ||
            is_name(t, "False")) {
            x = mk(p, N_CONST, t->pos);
            x->k = jv_bool(t->s->s[0] == 't' || t->s->s[0] == 'T');
        } else if (is_name(t, "none") || is_name(t, "None")) {
            x = mk(p, N_CONST, t->pos);
            x->k = jv_none();
        } else {
            x = mk(p, N_NAME, t->pos);
            x->name = t->s;
        }
        return x;
    case T_STRING: {
        next(p);
        jj_str *s = t->s;
        while (cur(p)->type == T_STRING) {
            s = jj_str_cat(p->c, s, cur(p)->s);
            next(p);
        }
        x = mk(p, N_CONST, t->pos);
        x->k = jv_str(s);
        return x;
    }
    case T_INT:
    case T_FLOAT:
        next(p);
        x = mk(p, N_CONST, t->pos);
        x->k = t->type == T_INT ? jv_int(t->i) : jv_float(t->f);
        return x;
    default:
        break;
    }
    if (is_op(t, OP_LPAREN)) {
        next(p);
        enter(p);
        x = parse_tuple(p, TUPLE_FULL, NULL, true);
        leave(p);
        expect_op(p, OP_RPAREN);
        return x;
    }
    if (is_op(t, OP_LBRACKET)) {
        next(p);
        enter(p);
        nvec items = {0};
        while (!is_op(cur(p), OP_RBRACKET)) {
            if (items.n) expect_op(p, OP_COMMA);
            if (is_op(cur(p), OP_RBRACKET)) break;
            push(p, &items, parse_expression(p, true));
        }
        expect_op(p, OP_RBRACKET);
        leave(p);
        x = mk(p, N_LIST, t->pos);
        seal(x, &items, NULL);
        return x;
    }
    if (is_op(t, OP_LBRACE)) {
        next(p);
        enter(p);
        nvec keys = {0}, vals = {0};
        while (!is_op(cur(p), OP_RBRACE)) {
            if (keys.n) expect_op(p, OP_COMMA);
            if (is_op(cur(p), OP_RBRACE)) break;
            push(p, &keys, parse_expression(p, true));
            expect_op(p, OP_COLON);
            push(p, &vals, parse_expression(p, true));
        }
        expect_op(p, OP_RBRACE);
        leave(p);
        x = mk(p, N_DICT, t->pos);
        seal(x, &keys, &vals);
        return x;
    }
    fail_at(p, t, "expected an expression");
}

static jj_node *parse_unary(parser *p, bool with_filter) {
    jj_tok *t = cur(p);
    jj_node *node;
    enter(p);
    if (is_op(t, OP_SUB) || is_op(t, OP_ADD)) {
        next(p);
        node = mk(p, is_op(t, OP_SUB) ? N_NEG : N_POS, t->pos);
        node->a = parse_unary(p, false);
    } else {
        node = parse_postfix(p, parse_primary(p));
    }
    if (with_filter) node = parse_filter_expr(p, node);
    leave(p);
    return node;
}

static jj_node *bin(parser *p, int op, uint32_t pos, jj_node *a, jj_node *b) {
    jj_node *x = mk(p, N_BIN, pos);
    x->op = (uint8_t)op;
    x->a = a;
    x->b = b;
    return x;
}

static jj_node *parse_pow(parser *p) {
    jj_node *left = parse_unary(p, true);
    while (is_op(cur(p), OP_POW)) {
        uint32_t pos = cur(p)->pos;
        next(p);
        left = bin(p, OP_POW, pos, left, parse_unary(p, true));
    }
    return left;
}

static jj_node *parse_math2(parser *p) {
    jj_node *left = parse_pow(p);
    for (;;) {
        jj_tok *t = cur(p);
        if (!(is_op(t, OP_MUL) || is_op(t, OP_DIV) || is_op(t, OP_FLOORDIV) || is_op(t, OP_MOD)))
            return left;
        next(p);
        left = bin(p, t->op, t->pos, left, parse_pow(p));
    }
}

static jj_node *parse_concat(parser *p) {
    uint32_t pos = cur(p)->pos;
    jj_node *first = parse_math2(p);
    if (!is_op(cur(p), OP_TILDE)) return first;
    nvec args = {0};
    push(p, &args, first);
    while (is_op(cur(p), OP_TILDE)) {
        next(p);
        push(p, &args, parse_math2(p));
    }
    jj_node *x = mk(p, N_CONCAT, pos);
    seal(x, &args, NULL);
    return x;
}

static jj_node *parse_math1(parser *p) {
    jj_node *left = parse_concat(p);
    for (;;) {
        jj_tok *t = cur(p);
        if (!(is_op(t, OP_ADD) || is_op(t, OP_SUB))) return left;
        next(p);
        left = bin(p, t->op, t->pos, left, parse_concat(p));
    }
}

static jj_node *parse_compare(parser *p) {
    uint32_t pos = cur(p)->pos;
    jj_node *expr = parse_math1(p);
    nvec ops = {0};
    for (;;) {
        jj_tok *t = cur(p);
        int op;
        if (t->type == T_OP && (t->op == OP_EQ || t->op == OP_NE || t->op == OP_LT ||
                                t->op == OP_LTEQ || t->op == OP_GT || t->op == OP_GTEQ)) {
            op = t->op;
            next(p);
        } else if (is_name(t, "in")) {
            op = OP_IN;
            next(p);
        } else if (is_name(t, "not") && is_name(look(p), "in")) {
            op = OP_NOTIN;
            next(p);
            next(p);
        } else {
            break;
        }
        jj_node *o = mk(p, N_CMPOP, t->pos);
        o->op = (uint8_t)op;
        o->a = parse_math1(p);
        push(p, &ops, o);
    }
    if (!ops.n) return expr;
    jj_node *x = mk(p, N_CMP, pos);
    x->a = expr;
    seal(x, &ops, NULL);
    return x;
}

static jj_node *parse_not(parser *p) {
    jj_tok *t = cur(p);
    if (is_name(t, "not")) {
        next(p);
        enter(p);
        jj_node *x = mk(p, N_NOT, t->pos);
        x->a = parse_not(p);
        leave(p);
        return x;
    }
    return parse_compare(p);
}

static jj_node *parse_and(parser *p) {
    jj_node *left = parse_not(p);
    while (is_name(cur(p), "and")) {
        jj_node *x = mk(p, N_AND, cur(p)->pos);
        next(p);
        x->a = left;
        x->b = parse_not(p);
        left = x;
    }
    return left;
}

static jj_node *parse_or(parser *p) {
    jj_node *left = parse_and(p);
    while (is_name(cur(p), "or")) {
        jj_node *x = mk(p, N_OR, cur(p)->pos);
        next(p);
        x->a = left;
        x->b = parse_and(p);
        left = x;
    }
    return left;
}

static jj_node *parse_condexpr(parser *p) {
    jj_node *expr1 = parse_or(p);
    while (is_name(cur(p), "if")) {
        jj_node *x = mk(p, N_COND, cur(p)->pos);
        next(p);
        x->a = parse_or(p);
        x->b = expr1;
        if (is_name(cur(p), "else")) {
            next(p);
            enter(p);
            x->c = parse_condexpr(p);
            leave(p);
        }
        expr1 = x;
    }
    return expr1;
}

static jj_node *parse_expression(parser *p, bool with_condexpr) {
    enter(p);
    jj_node *x = with_condexpr ? parse_condexpr(p) : parse_or(p);
    leave(p);
    return x;
}

static bool tuple_end(parser *p, const char *extra_end) {
    jj_tok *t = cur(p);
    return t->type == T_VAR_END || t->type == T_BLOCK_END || is_op(t, OP_RPAREN) ||
           (extra_end && is_name(t, extra_end));
}

static jj_node *parse_tuple(parser *p, int mode, const char *extra_end, bool explicit_parens) {
    uint32_t pos = cur(p)->pos;
    nvec args = {0};
    bool is_tuple = false;
    for (;;) {
        if (args.n) expect_op(p, OP_COMMA);
        if (tuple_end(p, extra_end)) break;
        jj_node *e = mode == TUPLE_SIMPLE   ? parse_primary(p)
                     : mode == TUPLE_NOCOND ? parse_expression(p, false)
                                            : parse_expression(p, true);
        push(p, &args, e);
        if (is_op(cur(p), OP_COMMA))
            is_tuple = true;
        else
            break;
    }
    if (!is_tuple) {
        if (args.n) return args.v[0];
        if (!explicit_parens) fail_at(p, cur(p), "expected an expression");
    }
    jj_node *x = mk(p, N_TUPLE, pos);
    seal(x, &args, NULL);
    return x;
}

/* ---- statements ----------------------------------------------------------------------- */

static void parse_body(parser *p, const char *const *ends, uint32_t open_pos, const char *open,
                       nvec *out);

static void check_assignable(parser *p, const jj_node *t) {
    if (t->kind == N_NAME) return;
    if (t->kind == N_TUPLE) {
        for (uint32_t i = 0; i < t->n; i++)
            check_assignable(p, t->v[i]);
        return;
    }
    jj_fail(p->c, t->pos, "cannot assign to this expression");
}

static jj_node *parse_assign_target(parser *p, bool with_tuple, bool name_only,
                                    const char *extra_end, bool with_namespace) {
    jj_tok *t = cur(p);
    if (with_namespace && t->type == T_NAME && is_op(look(p), OP_DOT)) {
        next(p);
        next(p);
        jj_tok *attr = expect_name(p);
        jj_node *x = mk(p, N_NSREF, t->pos);
        x->name = t->s;
        x->a = mk(p, N_NAME, attr->pos);
        x->a->name = attr->s;
        return x;
    }
    jj_node *target;
    if (name_only) {
        jj_tok *n = expect_name(p);
        target = mk(p, N_NAME, n->pos);
        target->name = n->s;
    } else if (with_tuple) {
        target = parse_tuple(p, TUPLE_SIMPLE, extra_end, false);
    } else {
        target = parse_primary(p);
    }
    check_assignable(p, target);
    return target;
}

/* Jinja's parse_statements: optional ':', '%}', then a body up to one of `ends`. */
static void parse_statements(parser *p, const char *const *ends, bool drop_needle,
                             uint32_t open_pos, const char *open, nvec *out) {
    if (is_op(cur(p), OP_COLON)) next(p);
    expect_type(p, T_BLOCK_END, "expected end of statement block");
    parse_body(p, ends, open_pos, open, out);
    if (drop_needle) next(p);
}

static jj_node *parse_for(parser *p, uint32_t pos) {
    jj_node *x = mk(p, N_FOR, pos);
    x->a = parse_assign_target(p, true, false, "in", false);
    if (!is_name(cur(p), "in")) fail_at(p, cur(p), "expected 'in'");
    next(p);
    x->b = parse_tuple(p, TUPLE_NOCOND, "recursive", false);
    if (is_name(cur(p), "if")) {
        next(p);
        x->c = parse_expression(p, true);
    }
    if (is_name(cur(p), "recursive"))
        jj_fail(p->c, cur(p)->pos, "unsupported: recursive for loops");
    static const char *const ends1[] = {"endfor", "else", NULL};
    static const char *const ends2[] = {"endfor", NULL};
    nvec body = {0}, els = {0};
    p->loop_depth++;
    parse_statements(p, ends1, false, pos, "for", &body);
    p->loop_depth--;
    bool is_else = is_name(cur(p), "else");
    next(p);
    if (is_else) parse_statements(p, ends2, true, pos, "for", &els);
    seal(x, &body, &els);
    return x;
}

static jj_node *parse_if(parser *p, uint32_t pos) {
    static const char *const ends1[] = {"elif", "else", "endif", NULL};
    static const char *const ends2[] = {"endif", NULL};
    jj_node *x = mk(p, N_IF, pos);
    nvec branches = {0}, els = {0};
    for (;;) {
        jj_node *br = mk(p, N_BRANCH, cur(p)->pos);
        br->a = parse_tuple(p, TUPLE_NOCOND, NULL, false);
        nvec body = {0};
        parse_statements(p, ends1, false, pos, "if", &body);
        seal(br, &body, NULL);
        push(p, &branches, br);
        jj_tok *t = cur(p);
        next(p);
        if (is_name(t, "elif")) continue;
        if (is_name(t, "else")) parse_statements(p, ends2, true, pos, "if", &els);
        break;
    }
    seal(x, &branches, &els);
    return x;
}

static jj_node *parse_set(parser *p, uint32_t pos) {
    jj_node *target = parse_assign_target(p, true, false, NULL, true);
    if (is_op(cur(p), OP_ASSIGN)) {
        next(p);
        jj_node *x = mk(p, N_SET, pos);
        x->a = target;
        x->b = parse_tuple(p, TUPLE_FULL, NULL, false);
        return x;
    }
    static const char *const ends[] = {"endset", NULL};
    jj_node *x = mk(p, N_SETBLOCK, pos);
    x->a = target;
    x->b = is_op(cur(p), OP_PIPE) ? parse_filter(p, NULL, false) : NULL;
    nvec body = {0};
    parse_statements(p, ends, true, pos, "set", &body);
    seal(x, &body, NULL);
    return x;
}

static jj_node *parse_macro(parser *p, uint32_t pos) {
    jj_tok *name = expect_name(p);
    jj_node *x = mk(p, N_MACRO, pos);
    x->name = name->s;
    nvec params = {0}, body = {0};
    expect_op(p, OP_LPAREN);
    bool defaults = false;
    while (!is_op(cur(p), OP_RPAREN)) {
        if (params.n) expect_op(p, OP_COMMA);
        jj_tok *a = expect_name(p);
        jj_node *param;
        if (is_op(cur(p), OP_ASSIGN)) {
            next(p);
            param = mk(p, N_KW, a->pos);
            param->a = parse_expression(p, true);
            defaults = true;
        } else {
            if (defaults) jj_fail(p->c, a->pos, "non-default argument follows default argument");
            param = mk(p, N_NAME, a->pos);
        }
        param->name = a->s;
        push(p, &params, param);
    }
    expect_op(p, OP_RPAREN);
    static const char *const ends[] = {"endmacro", NULL};
    int saved = p->loop_depth;
    p->loop_depth = 0;
    parse_statements(p, ends, true, pos, "macro", &body);
    p->loop_depth = saved;
    seal(x, &params, &body);
    return x;
}

static jj_node *parse_with(parser *p, uint32_t pos) {
    jj_node *x = mk(p, N_WITH, pos);
    nvec sets = {0}, body = {0};
    while (cur(p)->type != T_BLOCK_END) {
        if (sets.n) expect_op(p, OP_COMMA);
        jj_node *s = mk(p, N_SET, cur(p)->pos);
        s->a = parse_assign_target(p, true, false, NULL, false);
        expect_op(p, OP_ASSIGN);
        s->b = parse_expression(p, true);
        push(p, &sets, s);
    }
    static const char *const ends[] = {"endwith", NULL};
    parse_statements(p, ends, true, pos, "with", &body);
    seal(x, &sets, &body);
    return x;
}

static void parse_statement(parser *p, nvec *out) {
    jj_tok *t = cur(p);
    if (t->type != T_NAME) fail_at(p, t, "expected a tag name");
    uint32_t pos = t->pos;
    enter(p);
    next(p);
    jj_node *x = NULL;
    if (is_name(t, "for")) {
        x = parse_for(p, pos);
    } else if (is_name(t, "if")) {
        x = parse_if(p, pos);
    } else if (is_name(t, "set")) {
        x = parse_set(p, pos);
    } else if (is_name(t, "macro")) {
        x = parse_macro(p, pos);
    } else if (is_name(t, "with")) {
        x = parse_with(p, pos);
    } else if (is_name(t, "filter")) {
        static const char *const ends[] = {"endfilter", NULL};
        x = mk(p, N_FILTERBLOCK, pos);
        x->b = parse_filter(p, NULL, true);
        nvec body = {0};
        parse_statements(p, ends, true, pos, "filter", &body);
        seal(x, &body, NULL);
    } else if (is_name(t, "print")) {
        bool first = true;
        while (cur(p)->type != T_BLOCK_END) {
            if (!first) expect_op(p, OP_COMMA);
            first = false;
            jj_node *o = mk(p, N_OUT, cur(p)->pos);
            o->a = parse_expression(p, true);
            push(p, out, o);
        }
    } else if (is_name(t, "break") || is_name(t, "continue")) {
        if (p->loop_depth == 0) jj_fail(p->c, pos, "'%s' outside loop", t->s->s);
        x = mk(p, is_name(t, "break") ? N_BREAK : N_CONTINUE, pos);
    } else if (is_name(t, "generation")) {
        static const char *const ends[] = {"endgeneration", NULL};
        x = mk(p, N_SCOPE, pos);
        nvec body = {0};
        int saved = p->loop_depth;
        p->loop_depth = 0;
        parse_statements(p, ends, true, pos, "generation", &body);
        p->loop_depth = saved;
        seal(x, &body, NULL);
    } else {
        static const char *const unsupported[] = {"block", "extends", "include",    "import",
                                                  "from",  "call",    "autoescape", "do",
                                                  "trans", NULL};
        for (int i = 0; unsupported[i]; i++)
            if (is_name(t, unsupported[i]))
                jj_fail(p->c, pos, "unsupported tag '%s'", unsupported[i]);
        jj_fail(p->c, pos, "unknown tag '%.60s'", t->s->s);
    }
    if (x) push(p, out, x);
    leave(p);
}

static bool at_end_tag(parser *p, const char *const *ends) {
    if (!ends) return false;
    for (int i = 0; ends[i]; i++)
        if (is_name(cur(p), ends[i])) return true;
    return false;
}

static void parse_body(parser *p, const char *const *ends, uint32_t open_pos, const char *open,
                       nvec *out) {
    for (;;) {
        jj_tok *t = cur(p);
        switch (t->type) {
        case T_DATA: {
            jj_node *x = mk(p, N_TEXT, t->pos);
            x->name = t->s;
            push(p, out, x);
            next(p);
            break;
        }
        case T_VAR_BEGIN: {
            next(p);
            jj_node *x = mk(p, N_OUT, cur(p)->pos);
            x->a = parse_tuple(p, TUPLE_FULL, NULL, false);
            push(p, out, x);
            expect_type(p, T_VAR_END, "expected end of print statement");
            break;
        }
        case T_BLOCK_BEGIN:
            next(p);
            if (at_end_tag(p, ends)) return;
            parse_statement(p, out);
            expect_type(p, T_BLOCK_END, "expected end of statement block");
            break;
        case T_EOF:
            if (ends)
                jj_fail(p->c, open_pos,
                        "unexpected end of template: '%s' is never closed with 'end%s'", open,
                        open);
            return;
        default:
            fail_at(p, t, "unexpected token");
        }
    }
}

jj_node *jj_parse(jj_ctx *c, jj_tok *toks, size_t ntok) {
    parser p = {.c = c, .t = toks, .n = ntok};
    nvec body = {0};
    parse_body(&p, NULL, 0, NULL, &body);
    jj_node *root = mk(&p, N_SCOPE, 0);
    seal(root, &body, NULL);
    return root;
}
