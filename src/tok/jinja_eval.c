/* tok/jinja_eval.c — the interpreter: walks the AST, keeps scopes, and gives operators,
 * attribute access, subscripts, slices, calls and loops Python's and Jinja2's meaning.
 *
 * Scoping is Jinja's: a for-loop iteration, a macro call, {% with %} and {% generation %}
 * open a scope; {% if %} does not. `set` writes the innermost scope, so assignments inside a
 * loop are gone after the iteration (namespace() attributes are how templates carry state
 * out, and those are shared objects). Attribute access tries the Python attribute first and
 * the item second (Jinja's getattr), subscripts the other way round; a miss is an Undefined
 * that renders as "" and is false, and using it any further (attribute, call, arithmetic)
 * is an error, as with Jinja's default Undefined.
 * Bounds: every node evaluation and loop iteration is a step (c->lim.max_steps), recursion
 * is capped at JJ_EVAL_DEPTH. Memory: all values go to the render arena.
 */
#include "tok/jinja.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { FLOW_NORMAL, FLOW_BREAK, FLOW_CONTINUE };

static void step(jj_ctx *c, uint32_t pos) {
    if (++c->steps > c->lim.max_steps)
        jj_fail(c, pos, "template exceeded %llu evaluation steps",
                (unsigned long long)c->lim.max_steps);
}

static void enter(jj_ctx *c, uint32_t pos) {
    if (++c->depth > JJ_EVAL_DEPTH)
        jj_fail(c, pos, "template recursion deeper than %d", JJ_EVAL_DEPTH);
}

/* Concatenates up to five pieces into an arena string (Undefined hints, messages). */
static char *cat(jj_ctx *c, const char *p0, const char *p1, const char *p2, const char *p3,
                 const char *p4) {
    const char *parts[5] = {p0, p1, p2, p3, p4};
    size_t n = 1;
    for (int i = 0; i < 5; i++)
        n += parts[i] ? strlen(parts[i]) : 0;
    char *h = jj_alloc(c, n), *o = h;
    for (int i = 0; i < 5; i++)
        if (parts[i]) {
            size_t k = strlen(parts[i]);
            memcpy(o, parts[i], k);
            o += k;
        }
    *o = 0;
    return h;
}

jv jj_undefined_error(jj_ctx *c, uint32_t pos, jv u) {
    jj_fail(c, pos, "%s", u.u.hint ? u.u.hint : "undefined value");
}

/* ---- scopes --------------------------------------------------------------------------- */

void jj_scope_set(jj_ctx *c, jj_scope *s, jj_str *name, jv v) {
    jj_dict_set(c, &s->vars, name, v);
}

static jj_scope *push_scope(jj_ctx *c) {
    jj_scope *s = jj_alloc(c, sizeof *s);
    s->parent = c->scope;
    c->scope = s;
    return s;
}

jv jj_lookup(jj_ctx *c, const char *name, size_t len) {
    for (jj_scope *s = c->scope; s; s = s->parent) {
        jv *v = jj_dict_get(&s->vars, name, len);
        if (v) return *v;
    }
    jv g;
    if (jj_global(c, name, len, &g)) return g;
    return jv_undef(cat(c, "'", name, "' is undefined", NULL, NULL));
}

/* ---- attribute / item access ---------------------------------------------------------- */

static const char *obj_desc(jj_ctx *c, jv obj) {
    if (obj.t == JV_NONE) return "None";
    return cat(c, jj_type_name(obj), " object", NULL, NULL, NULL);
}

static jv no_attr(jj_ctx *c, jv obj, const char *name) {
    const char *d = obj_desc(c, obj);
    return jv_undef(cat(c, "'", d, "' has no attribute '", name, "'"));
}

static jv loop_attr(jj_loop *l, const char *name, size_t len, bool *found) {
    size_t n = l->items->n, i = l->i;
    *found = true;
#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
    if (IS("index")) return jv_int((int64_t)i + 1);
    if (IS("index0")) return jv_int((int64_t)i);
    if (IS("revindex")) return jv_int((int64_t)(n - i));
    if (IS("revindex0")) return jv_int((int64_t)(n - i - 1));
    if (IS("first")) return jv_bool(i == 0);
    if (IS("last")) return jv_bool(i + 1 == n);
    if (IS("length")) return jv_int((int64_t)n);
    if (IS("depth")) return jv_int(l->depth);
    if (IS("depth0")) return jv_int(l->depth - 1);
    if (IS("previtem")) return i > 0 ? l->items->v[i - 1] : jv_undef("there is no previous item");
    if (IS("nextitem")) return i + 1 < n ? l->items->v[i + 1] : jv_undef("there is no next item");
#undef IS
    *found = false;
    return jv_none();
}

jv jj_getattr(jj_ctx *c, uint32_t pos, jv obj, const char *name, size_t len) {
    jv m;
    switch (obj.t) {
    case JV_UNDEF:
        return jj_undefined_error(c, pos, obj);
    case JV_DICT: {
        if (jj_method(c, obj, name, len, &m)) return m;
        jv *v = jj_dict_get(obj.u.d, name, len);
        return v ? *v : no_attr(c, obj, name);
    }
    case JV_NS: {
        jv *v = jj_dict_get(obj.u.d, name, len);
        return v ? *v : no_attr(c, obj, name);
    }
    case JV_LOOP: {
        bool found;
        jv v = loop_attr(obj.u.loop, name, len, &found);
        if (found) return v;
        if (jj_method(c, obj, name, len, &m)) return m;
        return no_attr(c, obj, name);
    }
    case JV_STR:
    case JV_LIST:
        if (jj_method(c, obj, name, len, &m)) return m;
        return no_attr(c, obj, name);
    case JV_BOOL:
    case JV_INT:
    case JV_FLOAT: {
        /* the number attributes of Python's int and float */
        bool fl = obj.t == JV_FLOAT;
        jv self = obj.t == JV_BOOL ? jv_int(obj.u.b) : obj;
        if (len == 4 && memcmp(name, "real", 4) == 0) return self;
        if (len == 4 && memcmp(name, "imag", 4) == 0) return fl ? jv_float(0.0) : jv_int(0);
        if (!fl && len == 9 && memcmp(name, "numerator", 9) == 0) return self;
        if (!fl && len == 11 && memcmp(name, "denominator", 11) == 0) return jv_int(1);
        return no_attr(c, obj, name);
    }
    default:
        return no_attr(c, obj, name);
    }
}

static bool index_of(jv key, size_t n, size_t *out) {
    if (key.t != JV_INT && key.t != JV_BOOL) return false;
    int64_t i = key.t == JV_BOOL ? key.u.b : key.u.i;
    if (i < 0) i += (int64_t)n;
    if (i < 0 || (uint64_t)i >= n) return false;
    *out = (size_t)i;
    return true;
}

jv jj_getitem(jj_ctx *c, uint32_t pos, jv obj, jv key) {
    size_t i;
    switch (obj.t) {
    case JV_UNDEF:
        return jj_undefined_error(c, pos, obj);
    case JV_DICT: {
        jv *v = jj_dict_find(c, obj.u.d, key);
        if (v) return *v;
        break;
    }
    case JV_LIST: {
        const jj_list *l = obj.u.l;
        if (l->kind == JL_LIST || l->kind == JL_TUPLE || l->kind == JL_RANGE) {
            if (index_of(key, l->n, &i)) return l->v[i];
        }
        break;
    }
    case JV_STR: {
        const jj_str *s = obj.u.s;
        if (index_of(key, s->ncp, &i)) {
            size_t a = jj_cp_offset(s, i), b = jj_cp_offset(s, i + 1);
            jv r = jv_str(jj_str_new(c, s->s + a, b - a));
            r.mk = obj.mk; /* Markup.__getitem__ returns a Markup */
            return r;
        }
        break;
    }
    default:
        break;
    }
    if (key.t == JV_STR) {
        /* Jinja falls back to the attribute */
        if (obj.t == JV_NONE || obj.t == JV_BOOL || obj.t == JV_INT || obj.t == JV_FLOAT)
            return no_attr(c, obj, key.u.s->s);
        return jj_getattr(c, pos, obj, key.u.s->s, key.u.s->len);
    }
    if (obj.t == JV_NONE) return jv_undef("'None' has no element");
    return jv_undef(cat(c, "'", obj_desc(c, obj), "' has no such element", NULL, NULL));
}

/* Python's slice.indices(): fills start/step, returns the count. */
static size_t slice_indices(int64_t len, const jv *start, const jv *stop, int64_t step,
                            int64_t *out_start) {
    int64_t lo, hi;
    bool has_start = start->t == JV_INT || start->t == JV_BOOL;
    bool has_stop = stop->t == JV_INT || stop->t == JV_BOOL;
    int64_t s = has_start ? (start->t == JV_BOOL ? start->u.b : start->u.i) : 0;
    int64_t e = has_stop ? (stop->t == JV_BOOL ? stop->u.b : stop->u.i) : 0;
    lo = step < 0 ? -1 : 0;
    hi = step < 0 ? len - 1 : len;
    if (!has_start) {
        s = step < 0 ? hi : lo;
    } else if (s < 0) {
        s = s + len < lo ? lo : s + len;
    } else if (s > hi) {
        s = hi;
    }
    if (!has_stop) {
        e = step < 0 ? lo : hi;
    } else if (e < 0) {
        e = e + len < lo ? lo : e + len;
    } else if (e > hi) {
        e = hi;
    }
    *out_start = s;
    if (step > 0) return s < e ? (size_t)((e - s - 1) / step + 1) : 0;
    return e < s ? (size_t)((s - e - 1) / (-step) + 1) : 0;
}

static bool slice_arg_ok(jv v) {
    return v.t == JV_INT || v.t == JV_BOOL || v.t == JV_NONE;
}

static jv do_slice(jj_ctx *c, uint32_t pos, jv obj, jv start, jv stop, jv stepv) {
    if (obj.t == JV_UNDEF) return jj_undefined_error(c, pos, obj);
    if (!slice_arg_ok(start) || !slice_arg_ok(stop) || !slice_arg_ok(stepv))
        return jv_undef("slice indices must be integers or None");
    int64_t step = stepv.t == JV_NONE ? 1 : stepv.t == JV_BOOL ? stepv.u.b : stepv.u.i;
    if (step == 0) jj_fail(c, pos, "slice step cannot be zero");
    if (step == INT64_MIN) step = -INT64_MAX;
    int64_t s;
    if (obj.t == JV_STR) {
        const jj_str *str = obj.u.s;
        size_t n = slice_indices((int64_t)str->ncp, &start, &stop, step, &s);
        if (step == 1) {
            size_t a = jj_cp_offset(str, (size_t)s), b = jj_cp_offset(str, (size_t)s + n);
            jv r = jv_str(jj_str_new(c, str->s + a, b - a));
            r.mk = obj.mk;
            return r;
        }
        jj_buf b = {0};
        for (size_t k = 0; k < n; k++) {
            size_t at = (size_t)(s + (int64_t)k * step);
            size_t x = jj_cp_offset(str, at), y = jj_cp_offset(str, at + 1);
            jj_buf_put(c, &b, str->s + x, y - x);
        }
        jv r = jv_str(jj_buf_str(c, &b));
        r.mk = obj.mk;
        return r;
    }
    if (obj.t == JV_LIST) {
        const jj_list *l = obj.u.l;
        if (l->kind != JL_LIST && l->kind != JL_TUPLE && l->kind != JL_RANGE)
            return jv_undef("object is not subscriptable");
        size_t n = slice_indices((int64_t)l->n, &start, &stop, step, &s);
        jj_list *r = jj_list_new(c, n, l->kind);
        for (size_t k = 0; k < n; k++)
            r->v[k] = l->v[s + (int64_t)k * step];
        r->n = n;
        return jv_list(r);
    }
    return jv_undef(cat(c, "'", obj_desc(c, obj), "' is not subscriptable", NULL, NULL));
}

jj_list *jj_iterate(jj_ctx *c, uint32_t pos, jv v) {
    switch (v.t) {
    case JV_UNDEF:
        return jj_list_new(c, 0, JL_LIST);
    case JV_STR: {
        const jj_str *s = v.u.s;
        jj_list *l = jj_list_new(c, s->ncp, JL_LIST);
        size_t i = 0;
        while (i < s->len) {
            size_t adv;
            jj_utf8_decode(s->s + i, s->len - i, &adv);
            l->v[l->n++] = jv_str(jj_str_new(c, s->s + i, adv));
            i += adv;
        }
        return l;
    }
    case JV_LIST:
        if (v.u.l->kind == JL_ITER) {
            if (v.u.l->consumed) return jj_list_new(c, 0, JL_LIST);
            v.u.l->consumed = true;
        }
        return v.u.l;
    case JV_DICT: {
        jj_list *l = jj_list_new(c, v.u.d->n, JL_LIST);
        for (size_t i = 0; i < v.u.d->n; i++)
            l->v[l->n++] = v.u.d->k[i];
        return l;
    }
    default:
        jj_fail(c, pos, "'%s' object is not iterable", jj_type_name(v));
    }
}

/* ---- operators ------------------------------------------------------------------------ */

static bool is_intlike(jv v) {
    return v.t == JV_INT || v.t == JV_BOOL;
}
static bool is_num(jv v) {
    return is_intlike(v) || v.t == JV_FLOAT;
}
static int64_t ival(jv v) {
    return v.t == JV_BOOL ? (int64_t)v.u.b : v.u.i;
}
static double fval(jv v) {
    return v.t == JV_FLOAT ? v.u.f : (double)ival(v);
}

static _Noreturn void type_error(jj_ctx *c, uint32_t pos, int op, jv a, jv b) {
    static const char *const sym[] = {
        [OP_ADD] = "+",       [OP_SUB] = "-", [OP_MUL] = "*", [OP_DIV] = "/",
        [OP_FLOORDIV] = "//", [OP_MOD] = "%", [OP_POW] = "**"};
    if (op == OP_ADD && a.t == JV_STR)
        jj_fail(c, pos, "can only concatenate str (not \"%s\") to str", jj_type_name(b));
    jj_fail(c, pos, "unsupported operand type(s) for %s: '%s' and '%s'",
            op < (int)EL_ARRAY_LEN(sym) && sym[op] ? sym[op] : "?", jj_type_name(a),
            jj_type_name(b));
}

static _Noreturn void overflow(jj_ctx *c, uint32_t pos) {
    jj_fail(c, pos, "unsupported: integer result wider than 64 bits");
}

static jv repeat(jj_ctx *c, uint32_t pos, jv seq, int64_t times) {
    if (times < 0) times = 0;
    if (seq.t == JV_STR) {
        const jj_str *s = seq.u.s;
        if (s->len && (uint64_t)times > (c->lim.max_out ? c->lim.max_out : SIZE_MAX) / s->len)
            jj_fail(c, pos, "string repetition too large");
        jj_buf b = {0};
        for (int64_t i = 0; i < times; i++)
            jj_buf_put(c, &b, s->s, s->len);
        jv r = jv_str(jj_buf_str(c, &b));
        r.mk = seq.mk;
        return r;
    }
    const jj_list *l = seq.u.l;
    if (l->n && (uint64_t)times > (uint64_t)(1u << 24) / l->n)
        jj_fail(c, pos, "list repetition too large");
    jj_list *r = jj_list_new(c, l->n * (size_t)times, l->kind);
    for (int64_t i = 0; i < times; i++)
        for (size_t k = 0; k < l->n; k++)
            r->v[r->n++] = l->v[k];
    return jv_list(r);
}

static double py_fmod(double a, double b, double *floordiv) {
    double mod = fmod(a, b), div = (a - mod) / b;
    if (mod != 0) {
        if ((b < 0) != (mod < 0)) {
            mod += b;
            div -= 1.0;
        }
    } else {
        mod = copysign(0.0, b);
    }
    double fd;
    if (div != 0) {
        fd = floor(div);
        if (div - fd > 0.5) fd += 1.0;
    } else {
        fd = copysign(0.0, a / b);
    }
    *floordiv = fd;
    return mod;
}

jv jj_binop(jj_ctx *c, uint32_t pos, int op, jv a, jv b) {
    if (a.t == JV_UNDEF) return jj_undefined_error(c, pos, a);
    if (b.t == JV_UNDEF) return jj_undefined_error(c, pos, b);
    if (is_num(a) && is_num(b)) {
        bool ints = is_intlike(a) && is_intlike(b);
        int64_t x = ival(a), y = ival(b), r;
        double fx = fval(a), fy = fval(b), fd;
        switch (op) {
        case OP_ADD:
            if (!ints) return jv_float(fx + fy);
            if (__builtin_add_overflow(x, y, &r)) overflow(c, pos);
            return jv_int(r);
        case OP_SUB:
            if (!ints) return jv_float(fx - fy);
            if (__builtin_sub_overflow(x, y, &r)) overflow(c, pos);
            return jv_int(r);
        case OP_MUL:
            if (!ints) return jv_float(fx * fy);
            if (__builtin_mul_overflow(x, y, &r)) overflow(c, pos);
            return jv_int(r);
        case OP_DIV:
            if (fy == 0) jj_fail(c, pos, "division by zero");
            if (ints && (fabs(fx) > 9007199254740992.0 || fabs(fy) > 9007199254740992.0))
                jj_fail(c, pos, "unsupported: true division of integers beyond 2**53");
            return jv_float(fx / fy);
        case OP_FLOORDIV:
        case OP_MOD:
            if (ints) {
                if (y == 0) jj_fail(c, pos, "integer division or modulo by zero");
                if (x == INT64_MIN && y == -1) {
                    if (op == OP_MOD) return jv_int(0);
                    overflow(c, pos);
                }
                int64_t q = x / y, m = x % y;
                if (m != 0 && ((m < 0) != (y < 0))) {
                    m += y;
                    q -= 1;
                }
                return jv_int(op == OP_MOD ? m : q);
            }
            if (fy == 0) jj_fail(c, pos, "float modulo or division by zero");
            {
                double m = py_fmod(fx, fy, &fd);
                return jv_float(op == OP_MOD ? m : fd);
            }
        case OP_POW:
            if (ints && y >= 0) {
                int64_t base = x, acc = 1, e = y;
                while (e > 0) {
                    if (e & 1)
                        if (__builtin_mul_overflow(acc, base, &acc)) overflow(c, pos);
                    e >>= 1;
                    if (e && __builtin_mul_overflow(base, base, &base)) overflow(c, pos);
                }
                return jv_int(acc);
            }
            if (fx == 0 && fy < 0) jj_fail(c, pos, "0.0 cannot be raised to a negative power");
            if (fx < 0 && fy != floor(fy))
                jj_fail(c, pos, "unsupported: fractional power of a negative number");
            {
                double p = pow(fx, fy);
                if (isinf(p) && !isinf(fx) && !isinf(fy))
                    jj_fail(c, pos, "numerical result out of range");
                return jv_float(p);
            }
        default:
            break;
        }
    }
    if (op == OP_ADD) {
        if (a.t == JV_STR && b.t == JV_STR && (a.mk || b.mk)) {
            /* Markup.__add__ / __radd__: the plain operand is escaped */
            const jj_str *x = a.mk ? a.u.s : jj_html_escape(c, a.u.s);
            const jj_str *y = b.mk ? b.u.s : jj_html_escape(c, b.u.s);
            return jv_markup(jj_str_cat(c, x, y));
        }
        if (a.t == JV_STR && b.t == JV_STR) return jv_str(jj_str_cat(c, a.u.s, b.u.s));
        if (a.t == JV_LIST && b.t == JV_LIST && a.u.l->kind == b.u.l->kind &&
            (a.u.l->kind == JL_LIST || a.u.l->kind == JL_TUPLE)) {
            jj_list *r = jj_list_new(c, a.u.l->n + b.u.l->n, a.u.l->kind);
            for (size_t i = 0; i < a.u.l->n; i++)
                r->v[r->n++] = a.u.l->v[i];
            for (size_t i = 0; i < b.u.l->n; i++)
                r->v[r->n++] = b.u.l->v[i];
            return jv_list(r);
        }
    }
    if (op == OP_MUL) {
        bool seq_a = a.t == JV_STR ||
                     (a.t == JV_LIST && (a.u.l->kind == JL_LIST || a.u.l->kind == JL_TUPLE));
        bool seq_b = b.t == JV_STR ||
                     (b.t == JV_LIST && (b.u.l->kind == JL_LIST || b.u.l->kind == JL_TUPLE));
        if (seq_a && is_intlike(b)) return repeat(c, pos, a, ival(b));
        if (seq_b && is_intlike(a)) return repeat(c, pos, b, ival(a));
    }
    if (op == OP_MOD && a.t == JV_STR) return jj_format_percent(c, pos, a.u.s, b, a.mk);
    type_error(c, pos, op, a, b);
}

static bool contains(jj_ctx *c, uint32_t pos, jv needle, jv hay) {
    switch (hay.t) {
    case JV_UNDEF:
        return false;
    case JV_STR:
        if (needle.t != JV_STR)
            jj_fail(c, pos, "'in <string>' requires string as left operand, not %s",
                    jj_type_name(needle));
        if (needle.u.s->len == 0) return true;
        jj_charge(c, (hay.u.s->len >> 6) + 1);
        return memmem(hay.u.s->s, hay.u.s->len, needle.u.s->s, needle.u.s->len) != NULL;
    case JV_DICT:
        if (needle.t == JV_LIST || needle.t == JV_DICT || needle.t == JV_NS)
            jj_fail(c, pos, "unhashable type: '%s'", jj_type_name(needle));
        return jj_dict_find(c, hay.u.d, needle) != NULL;
    case JV_LIST: {
        const jj_list *l = jj_iterate(c, pos, hay);
        for (size_t i = 0; i < l->n; i++)
            if (jj_equal(c, needle, l->v[i], 0)) return true;
        return false;
    }
    default:
        jj_fail(c, pos, "argument of type '%s' is not iterable", jj_type_name(hay));
    }
}

static bool compare(jj_ctx *c, uint32_t pos, int op, jv a, jv b) {
    int r;
    switch (op) {
    case OP_EQ:
        return jj_equal(c, a, b, 0);
    case OP_NE:
        return !jj_equal(c, a, b, 0);
    case OP_IN:
        return contains(c, pos, a, b);
    case OP_NOTIN:
        return !contains(c, pos, a, b);
    default:
        break;
    }
    r = jj_order(c, pos, a, b);
    if (r == 2) return false;
    switch (op) {
    case OP_LT:
        return r < 0;
    case OP_LTEQ:
        return r <= 0;
    case OP_GT:
        return r > 0;
    default:
        return r >= 0;
    }
}

/* ---- calls ---------------------------------------------------------------------------- */

typedef struct argv_ {
    jv *v;
    jj_str **kwn;
    jv *kwv;
    size_t n, nkw;
} argv_;

static void eval_args(jj_ctx *c, jj_node *const *nodes, uint32_t count, argv_ *a) {
    memset(a, 0, sizeof *a);
    if (!count) return;
    a->v = jj_alloc_n(c, count, sizeof(jv));
    a->kwn = jj_alloc_n(c, count, sizeof(jj_str *));
    a->kwv = jj_alloc_n(c, count, sizeof(jv));
    for (uint32_t i = 0; i < count; i++) {
        const jj_node *x = nodes[i];
        if (x->kind == N_KW) {
            for (size_t k = 0; k < a->nkw; k++)
                if (jj_str_eq(a->kwn[k], x->name->s, x->name->len))
                    jj_fail(c, x->pos, "keyword argument repeated: %s", x->name->s);
            a->kwn[a->nkw] = x->name;
            a->kwv[a->nkw++] = jj_eval(c, x->a);
        } else {
            a->v[a->n++] = jj_eval(c, x);
        }
    }
}

static int exec_body(jj_ctx *c, jj_node *const *v, uint32_t n);

static jv call_macro(jj_ctx *c, uint32_t pos, const jj_macro *m, size_t nargs, const jv *args,
                     size_t nkw, jj_str *const *kwn, const jv *kwv) {
    const jj_node *def = m->def;
    if (nargs > def->n)
        jj_fail(c, pos, "macro '%s' takes not more than %u argument(s)", def->name->s, def->n);
    jj_scope *saved = c->scope;
    c->scope = m->closure;
    jj_scope *s = push_scope(c);
    bool *set = jj_alloc(c, def->n + 1);
    for (size_t i = 0; i < nargs; i++) {
        jj_scope_set(c, s, def->v[i]->name, args[i]);
        set[i] = true;
    }
    for (size_t k = 0; k < nkw; k++) {
        uint32_t i;
        for (i = 0; i < def->n; i++)
            if (jj_str_eq(def->v[i]->name, kwn[k]->s, kwn[k]->len)) break;
        if (i == def->n)
            jj_fail(c, pos, "macro '%s' takes no keyword argument '%s'", def->name->s, kwn[k]->s);
        if (set[i])
            jj_fail(c, pos, "macro '%s' got multiple values for argument '%s'", def->name->s,
                    kwn[k]->s);
        jj_scope_set(c, s, def->v[i]->name, kwv[k]);
        set[i] = true;
    }
    for (uint32_t i = 0; i < def->n; i++) {
        if (set[i]) continue;
        const jj_node *p = def->v[i];
        jv dv = p->kind == N_KW
                    ? jj_eval(c, p->a)
                    : jv_undef(cat(c, "parameter '", p->name->s, "' was not provided", NULL, NULL));
        jj_scope_set(c, s, p->name, dv);
    }
    jj_buf buf = {0}, *out = c->out;
    c->out = &buf;
    exec_body(c, def->w, def->m);
    c->out = out;
    c->scope = saved;
    return jv_str(jj_buf_str(c, &buf));
}

jv jj_call_value(jj_ctx *c, uint32_t pos, jv fn, size_t nargs, const jv *args, size_t nkw,
                 jj_str *const *kwnames, const jv *kwvals) {
    switch (fn.t) {
    case JV_FUNC: {
        jj_args a = {.n = nargs, .v = args, .nkw = nkw, .kwn = kwnames, .kwv = kwvals};
        return jj_call_builtin(c, pos, fn, &a);
    }
    case JV_MACRO:
        return call_macro(c, pos, fn.u.m, nargs, args, nkw, kwnames, kwvals);
    case JV_UNDEF:
        return jj_undefined_error(c, pos, fn);
    default:
        jj_fail(c, pos, "'%s' object is not callable", jj_type_name(fn));
    }
}

/* ---- expressions ---------------------------------------------------------------------- */

/* A filter node's subject is an expression, another filter, or (in the chain of a
 * {% set %}/{% filter %} block) NULL, standing for `input`. */
static jv apply_chain(jj_ctx *c, const jj_node *f, jv input) {
    enter(c, f->pos);
    jv subject = !f->a                    ? input
                 : f->a->kind == N_FILTER ? apply_chain(c, f->a, input)
                                          : jj_eval(c, f->a);
    argv_ a;
    eval_args(c, f->v, f->n, &a);
    jj_args ja = {.n = a.n, .v = a.v, .nkw = a.nkw, .kwn = a.kwn, .kwv = a.kwv};
    jv r = jj_apply_filter(c, f->pos, f->op, f->name->s, subject, &ja);
    c->depth--;
    return r;
}

static jv eval_inner(jj_ctx *c, const jj_node *n) {
    switch (n->kind) {
    case N_CONST:
        return n->k;
    case N_NAME:
        return jj_lookup(c, n->name->s, n->name->len);
    case N_GETATTR:
        return jj_getattr(c, n->pos, jj_eval(c, n->a), n->name->s, n->name->len);
    case N_GETITEM: {
        jv obj = jj_eval(c, n->a);
        return jj_getitem(c, n->pos, obj, jj_eval(c, n->b));
    }
    case N_SLICE: {
        /* a slice inside a tuple subscript (x[a:b, c]): the tuple key finds nothing in any
         * of our containers, so what the slice evaluates to does not matter */
        if (!n->a) return jv_undef("slice object");
        jv obj = jj_eval(c, n->a);
        jv s = n->b ? jj_eval(c, n->b) : jv_none();
        jv e = n->c ? jj_eval(c, n->c) : jv_none();
        jv st = n->d ? jj_eval(c, n->d) : jv_none();
        return do_slice(c, n->pos, obj, s, e, st);
    }
    case N_CALL: {
        jv fn = jj_eval(c, n->a);
        argv_ a;
        eval_args(c, n->v, n->n, &a);
        return jj_call_value(c, n->pos, fn, a.n, a.v, a.nkw, a.kwn, a.kwv);
    }
    case N_FILTER:
        return apply_chain(c, n, jv_none());
    case N_TEST: {
        jv subject = jj_eval(c, n->a);
        argv_ a;
        eval_args(c, n->v, n->n, &a);
        jj_args ja = {.n = a.n, .v = a.v, .nkw = a.nkw, .kwn = a.kwn, .kwv = a.kwv};
        return jv_bool(jj_apply_test(c, n->pos, n->op, n->name->s, subject, &ja));
    }
    case N_NEG:
    case N_POS: {
        jv v = jj_eval(c, n->a);
        if (v.t == JV_UNDEF) return jj_undefined_error(c, n->pos, v);
        if (!is_num(v))
            jj_fail(c, n->pos, "bad operand type for unary %c: '%s'", n->kind == N_NEG ? '-' : '+',
                    jj_type_name(v));
        if (n->kind == N_POS) return v.t == JV_BOOL ? jv_int(v.u.b) : v;
        if (v.t == JV_FLOAT) return jv_float(-v.u.f);
        if (ival(v) == INT64_MIN) overflow(c, n->pos);
        return jv_int(-ival(v));
    }
    case N_NOT:
        return jv_bool(!jj_truthy(jj_eval(c, n->a)));
    case N_BIN: {
        jv a = jj_eval(c, n->a);
        jv b = jj_eval(c, n->b);
        return jj_binop(c, n->pos, n->op, a, b);
    }
    case N_CONCAT: {
        jj_buf b = {0};
        for (uint32_t i = 0; i < n->n; i++)
            jj_put_str(c, n->v[i]->pos, &b, jj_eval(c, n->v[i]));
        return jv_str(jj_buf_str(c, &b));
    }
    case N_CMP: {
        jv left = jj_eval(c, n->a);
        for (uint32_t i = 0; i < n->n; i++) {
            const jj_node *o = n->v[i];
            jv right = jj_eval(c, o->a);
            if (!compare(c, o->pos, o->op, left, right)) return jv_bool(false);
            left = right;
        }
        return jv_bool(true);
    }
    case N_AND: {
        jv l = jj_eval(c, n->a);
        return jj_truthy(l) ? jj_eval(c, n->b) : l;
    }
    case N_OR: {
        jv l = jj_eval(c, n->a);
        return jj_truthy(l) ? l : jj_eval(c, n->b);
    }
    case N_COND:
        if (jj_truthy(jj_eval(c, n->a))) return jj_eval(c, n->b);
        return n->c ? jj_eval(c, n->c)
                    : jv_undef("the inline if-expression evaluated to false and no else section "
                               "was defined");
    case N_LIST:
    case N_TUPLE: {
        jj_list *l = jj_list_new(c, n->n, n->kind == N_LIST ? JL_LIST : JL_TUPLE);
        for (uint32_t i = 0; i < n->n; i++)
            l->v[l->n++] = jj_eval(c, n->v[i]);
        return jv_list(l);
    }
    case N_DICT: {
        jj_dict *d = jj_dict_new(c, n->n);
        for (uint32_t i = 0; i < n->n; i++) {
            jv k = jj_eval(c, n->v[i]);
            jj_dict_put(c, n->v[i]->pos, d, k, jj_eval(c, n->w[i]));
        }
        return jv_dict(d);
    }
    default:
        jj_fail(c, n->pos, "internal: not an expression");
    }
}

jv jj_eval(jj_ctx *c, const jj_node *n) {
    step(c, n->pos);
    enter(c, n->pos);
    jv v = eval_inner(c, n);
    c->depth--;
    return v;
}

/* ---- statements ----------------------------------------------------------------------- */

static void assign(jj_ctx *c, const jj_node *t, jv v) {
    if (t->kind == N_NAME) {
        jj_scope_set(c, c->scope, t->name, v);
        return;
    }
    if (t->kind == N_NSREF) {
        jv ns = jj_lookup(c, t->name->s, t->name->len);
        if (ns.t != JV_NS) jj_fail(c, t->pos, "cannot assign attribute on non-namespace object");
        jj_dict_set(c, ns.u.d, t->a->name, v);
        return;
    }
    /* tuple unpacking */
    if (v.t == JV_UNDEF) jj_undefined_error(c, t->pos, v);
    const jj_list *items = jj_iterate(c, t->pos, v);
    if (items->n > t->n) jj_fail(c, t->pos, "too many values to unpack (expected %u)", t->n);
    if (items->n < t->n)
        jj_fail(c, t->pos, "not enough values to unpack (expected %u, got %zu)", t->n, items->n);
    for (uint32_t i = 0; i < t->n; i++)
        assign(c, t->v[i], items->v[i]);
}

static jj_str *capture(jj_ctx *c, jj_node *const *v, uint32_t n, int *flow) {
    jj_buf buf = {0}, *out = c->out;
    c->out = &buf;
    *flow = exec_body(c, v, n);
    c->out = out;
    return jj_buf_str(c, &buf);
}

static int exec_for(jj_ctx *c, const jj_node *s) {
    jv seq = jj_eval(c, s->b);
    if (seq.t == JV_NONE || seq.t == JV_BOOL || seq.t == JV_INT || seq.t == JV_FLOAT ||
        seq.t == JV_NS || seq.t == JV_FUNC || seq.t == JV_MACRO || seq.t == JV_LOOP)
        jj_fail(c, s->b->pos, "'%s' object is not iterable", jj_type_name(seq));
    jj_list *items = jj_iterate(c, s->b->pos, seq);
    jj_scope *outer = c->scope;
    if (s->c) {
        jj_list *kept = jj_list_new(c, items->n, JL_LIST);
        for (size_t i = 0; i < items->n; i++) {
            step(c, s->pos);
            push_scope(c);
            assign(c, s->a, items->v[i]);
            bool keep = jj_truthy(jj_eval(c, s->c));
            c->scope = outer;
            if (keep) kept->v[kept->n++] = items->v[i];
        }
        items = kept;
    }
    if (items->n == 0) return exec_body(c, s->w, s->m);
    jj_loop *lp = jj_alloc(c, sizeof *lp);
    lp->items = items;
    lp->depth = 1; /* loop.depth counts recursive loop levels; recursion is unsupported */
    jv loopv = {.t = JV_LOOP};
    loopv.u.loop = lp;
    jj_str *ln = jj_str_new(c, "loop", 4);
    int flow = FLOW_NORMAL;
    for (size_t i = 0; i < items->n; i++) {
        step(c, s->pos);
        lp->i = i;
        jj_scope *it = push_scope(c);
        jj_scope_set(c, it, ln, loopv);
        assign(c, s->a, items->v[i]);
        flow = exec_body(c, s->v, s->n);
        c->scope = outer;
        if (flow == FLOW_BREAK) break;
    }
    return FLOW_NORMAL;
}

static int exec_stmt(jj_ctx *c, const jj_node *s) {
    switch (s->kind) {
    case N_TEXT:
        jj_buf_put(c, c->out, s->name->s, s->name->len);
        return FLOW_NORMAL;
    case N_OUT:
        jj_put_str(c, s->a->pos, c->out, jj_eval(c, s->a));
        return FLOW_NORMAL;
    case N_IF:
        for (uint32_t i = 0; i < s->n; i++) {
            const jj_node *br = s->v[i];
            if (jj_truthy(jj_eval(c, br->a))) return exec_body(c, br->v, br->n);
        }
        return exec_body(c, s->w, s->m);
    case N_FOR:
        return exec_for(c, s);
    case N_SET:
        assign(c, s->a, jj_eval(c, s->b));
        return FLOW_NORMAL;
    case N_SETBLOCK: {
        int flow;
        jj_str *text = capture(c, s->v, s->n, &flow);
        if (flow != FLOW_NORMAL) return flow;
        jv v = jv_str(text);
        if (s->b) v = apply_chain(c, s->b, v);
        assign(c, s->a, v);
        return FLOW_NORMAL;
    }
    case N_FILTERBLOCK: {
        int flow;
        jj_str *text = capture(c, s->v, s->n, &flow);
        if (flow != FLOW_NORMAL) return flow;
        jj_put_str(c, s->pos, c->out, apply_chain(c, s->b, jv_str(text)));
        return FLOW_NORMAL;
    }
    case N_MACRO: {
        jj_macro *m = jj_alloc(c, sizeof *m);
        m->def = s;
        m->closure = c->scope;
        jv v = {.t = JV_MACRO};
        v.u.m = m;
        jj_scope_set(c, c->scope, s->name, v);
        return FLOW_NORMAL;
    }
    case N_WITH: {
        jv *vals = jj_alloc_n(c, s->n ? s->n : 1, sizeof(jv));
        for (uint32_t i = 0; i < s->n; i++)
            vals[i] = jj_eval(c, s->v[i]->b);
        jj_scope *outer = c->scope;
        push_scope(c);
        for (uint32_t i = 0; i < s->n; i++)
            assign(c, s->v[i]->a, vals[i]);
        int flow = exec_body(c, s->w, s->m);
        c->scope = outer;
        return flow;
    }
    case N_SCOPE: {
        jj_scope *outer = c->scope;
        push_scope(c);
        int flow = exec_body(c, s->v, s->n);
        c->scope = outer;
        return flow;
    }
    case N_BREAK:
        return FLOW_BREAK;
    case N_CONTINUE:
        return FLOW_CONTINUE;
    default:
        jj_fail(c, s->pos, "internal: not a statement");
    }
}

static int exec_body(jj_ctx *c, jj_node *const *v, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        step(c, v[i]->pos);
        enter(c, v[i]->pos);
        int flow = exec_stmt(c, v[i]);
        c->depth--;
        if (flow != FLOW_NORMAL) return flow;
    }
    return FLOW_NORMAL;
}

void jj_exec_template(jj_ctx *c, const jj_node *root) {
    exec_body(c, root->v, root->n);
}
