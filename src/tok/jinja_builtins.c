/* tok/jinja_builtins.c — Jinja2 3.1's builtin filters and tests as chat templates use them
 * (transformers' tojson included), and the Python-style argument binding every builtin uses.
 *
 * Each filter mirrors its Jinja original, arguments included (positional or keyword, with the
 * same names and defaults). Filters and tests Jinja has but we do not implement map to
 * JJ_UNSUPPORTED: the template still parses, and using one is an error naming it.
 * Generators (map, select, reject, items, unique, reverse of a list) are lists of kind
 * JL_ITER: one pass, no len(), not printable — as in Python.
 * Memory: results go to the render arena.
 */
#include "tok/jinja.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ids ------------------------------------------------------------------------------ */

enum {
    F_NONE,
    F_ABS,
    F_ATTR,
    F_CAPITALIZE,
    F_COUNT,
    F_DEFAULT,
    F_DICTSORT,
    F_ESCAPE,
    F_FORCEESCAPE,
    F_FIRST,
    F_FLOAT,
    F_FORMAT,
    F_INDENT,
    F_INT,
    F_ITEMS,
    F_JOIN,
    F_LAST,
    F_LENGTH,
    F_LIST,
    F_LOWER,
    F_MAP,
    F_MAX,
    F_MIN,
    F_REJECT,
    F_REJECTATTR,
    F_REPLACE,
    F_REVERSE,
    F_ROUND,
    F_SAFE,
    F_SELECT,
    F_SELECTATTR,
    F_SORT,
    F_STRING,
    F_SUM,
    F_TITLE,
    F_TOJSON,
    F_TRIM,
    F_UNIQUE,
    F_UPPER,
};

static const struct {
    const char *name;
    int id;
} filters[] = {
    {"abs", F_ABS},
    {"attr", F_ATTR},
    {"capitalize", F_CAPITALIZE},
    {"count", F_COUNT},
    {"d", F_DEFAULT},
    {"default", F_DEFAULT},
    {"dictsort", F_DICTSORT},
    {"e", F_ESCAPE},
    {"escape", F_ESCAPE},
    {"forceescape", F_FORCEESCAPE},
    {"first", F_FIRST},
    {"float", F_FLOAT},
    {"format", F_FORMAT},
    {"indent", F_INDENT},
    {"int", F_INT},
    {"items", F_ITEMS},
    {"join", F_JOIN},
    {"last", F_LAST},
    {"length", F_LENGTH},
    {"list", F_LIST},
    {"lower", F_LOWER},
    {"map", F_MAP},
    {"max", F_MAX},
    {"min", F_MIN},
    {"reject", F_REJECT},
    {"rejectattr", F_REJECTATTR},
    {"replace", F_REPLACE},
    {"reverse", F_REVERSE},
    {"round", F_ROUND},
    {"safe", F_SAFE},
    {"select", F_SELECT},
    {"selectattr", F_SELECTATTR},
    {"sort", F_SORT},
    {"string", F_STRING},
    {"sum", F_SUM},
    {"title", F_TITLE},
    {"tojson", F_TOJSON},
    {"trim", F_TRIM},
    {"unique", F_UNIQUE},
    {"upper", F_UPPER},
    /* Jinja builtins we do not implement */
    {"batch", JJ_UNSUPPORTED},
    {"center", JJ_UNSUPPORTED},
    {"filesizeformat", JJ_UNSUPPORTED},
    {"groupby", JJ_UNSUPPORTED},
    {"pprint", JJ_UNSUPPORTED},
    {"random", JJ_UNSUPPORTED},
    {"slice", JJ_UNSUPPORTED},
    {"striptags", JJ_UNSUPPORTED},
    {"truncate", JJ_UNSUPPORTED},
    {"urlencode", JJ_UNSUPPORTED},
    {"urlize", JJ_UNSUPPORTED},
    {"wordcount", JJ_UNSUPPORTED},
    {"wordwrap", JJ_UNSUPPORTED},
    {"xmlattr", JJ_UNSUPPORTED},
};

enum {
    TS_NONE_,
    TS_DEFINED,
    TS_UNDEFINED,
    TS_NONE,
    TS_BOOLEAN,
    TS_FALSE,
    TS_TRUE,
    TS_INTEGER,
    TS_FLOAT,
    TS_NUMBER,
    TS_STRING,
    TS_MAPPING,
    TS_ITERABLE,
    TS_SEQUENCE,
    TS_CALLABLE,
    TS_SAMEAS,
    TS_ODD,
    TS_EVEN,
    TS_DIVISIBLEBY,
    TS_LOWER,
    TS_UPPER,
    TS_EQ,
    TS_NE,
    TS_LT,
    TS_LE,
    TS_GT,
    TS_GE,
    TS_IN,
    TS_FILTER,
    TS_TEST,
};

static const struct {
    const char *name;
    int id;
} tests[] = {
    {"defined", TS_DEFINED},
    {"undefined", TS_UNDEFINED},
    {"none", TS_NONE},
    {"boolean", TS_BOOLEAN},
    {"false", TS_FALSE},
    {"true", TS_TRUE},
    {"integer", TS_INTEGER},
    {"float", TS_FLOAT},
    {"number", TS_NUMBER},
    {"string", TS_STRING},
    {"mapping", TS_MAPPING},
    {"iterable", TS_ITERABLE},
    {"sequence", TS_SEQUENCE},
    {"callable", TS_CALLABLE},
    {"sameas", TS_SAMEAS},
    {"odd", TS_ODD},
    {"even", TS_EVEN},
    {"divisibleby", TS_DIVISIBLEBY},
    {"lower", TS_LOWER},
    {"upper", TS_UPPER},
    {"eq", TS_EQ},
    {"equalto", TS_EQ},
    {"==", TS_EQ},
    {"ne", TS_NE},
    {"!=", TS_NE},
    {"lt", TS_LT},
    {"lessthan", TS_LT},
    {"<", TS_LT},
    {"le", TS_LE},
    {"<=", TS_LE},
    {"gt", TS_GT},
    {"greaterthan", TS_GT},
    {">", TS_GT},
    {"ge", TS_GE},
    {">=", TS_GE},
    {"in", TS_IN},
    {"filter", TS_FILTER},
    {"test", TS_TEST},
    {"escaped", JJ_UNSUPPORTED},
};

int jj_filter_id(const char *name) {
    for (size_t i = 0; i < EL_ARRAY_LEN(filters); i++)
        if (strcmp(filters[i].name, name) == 0) return filters[i].id;
    return 0;
}

int jj_test_id(const char *name) {
    for (size_t i = 0; i < EL_ARRAY_LEN(tests); i++)
        if (strcmp(tests[i].name, name) == 0) return tests[i].id;
    return 0;
}

/* ---- argument binding ----------------------------------------------------------------- */

/* Binds a call's arguments to parameter names like Python does. out[i] keeps the default
 * the caller put there unless the argument was given. */
void jj_bind(jj_ctx *c, uint32_t pos, const char *fname, const jj_args *a, int np,
             const char *const *names, jv *out) {
    if (a->n > (size_t)np)
        jj_fail(c, pos, "%s() takes at most %d argument(s) (%zu given)", fname, np, a->n);
    bool given[16] = {false};
    for (size_t i = 0; i < a->n; i++) {
        out[i] = a->v[i];
        given[i] = true;
    }
    for (size_t k = 0; k < a->nkw; k++) {
        int i;
        for (i = 0; i < np; i++)
            if (jj_str_eq(a->kwn[k], names[i], strlen(names[i]))) break;
        if (i == np)
            jj_fail(c, pos, "%s() got an unexpected keyword argument '%s'", fname, a->kwn[k]->s);
        if (given[i])
            jj_fail(c, pos, "%s() got multiple values for argument '%s'", fname, names[i]);
        out[i] = a->kwv[k];
        given[i] = true;
    }
}

void jj_no_args(jj_ctx *c, uint32_t pos, const char *fname, const jj_args *a) {
    if (a->n || a->nkw) jj_fail(c, pos, "%s() takes no arguments", fname);
}

const jj_str *jj_need_str(jj_ctx *c, uint32_t pos, jv v, const char *what) {
    if (v.t == JV_UNDEF) jj_undefined_error(c, pos, v);
    if (v.t != JV_STR) jj_fail(c, pos, "%s must be str, not %s", what, jj_type_name(v));
    return v.u.s;
}

int64_t jj_need_int(jj_ctx *c, uint32_t pos, jv v, const char *what) {
    if (v.t == JV_BOOL) return v.u.b;
    if (v.t == JV_UNDEF) jj_undefined_error(c, pos, v);
    if (v.t != JV_INT) jj_fail(c, pos, "%s must be an integer, not %s", what, jj_type_name(v));
    return v.u.i;
}

static jj_str *S(jj_ctx *c, const char *s) {
    return jj_str_cstr(c, s);
}

/* ---- sorting -------------------------------------------------------------------------- */

typedef struct keyed {
    jv key, val;
} keyed;

static void merge_sort(jj_ctx *c, uint32_t pos, keyed *v, keyed *tmp, size_t n, bool reverse) {
    if (n < 2) return;
    size_t h = n / 2;
    merge_sort(c, pos, v, tmp, h, reverse);
    merge_sort(c, pos, v + h, tmp, n - h, reverse);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        /* stable: take from the right only when strictly before */
        int r =
            reverse ? jj_order(c, pos, v[i].key, v[j].key) : jj_order(c, pos, v[j].key, v[i].key);
        if (r == 2) r = 1; /* NaN: keep order */
        tmp[k++] = r < 0 ? v[j++] : v[i++];
    }
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static jv lower_if_str(jj_ctx *c, uint32_t pos, jv v) {
    return v.t == JV_STR ? jv_str(jj_change_case(c, pos, v.u.s, JJ_CASE_LOWER)) : v;
}

/* Jinja's make_attrgetter: "a.b.0" -> getitem per part (digits become ints). */
static jv attr_get(jj_ctx *c, uint32_t pos, jv item, jv attribute) {
    if (attribute.t == JV_NONE) return item;
    if (attribute.t == JV_INT) return jj_getitem(c, pos, item, attribute);
    const jj_str *a = jj_need_str(c, pos, attribute, "attribute");
    size_t st = 0;
    for (size_t i = 0; i <= a->len; i++) {
        if (i < a->len && a->s[i] != '.') continue;
        jj_str *part = jj_str_new(c, a->s + st, i - st);
        bool digits = part->len > 0;
        for (size_t k = 0; k < part->len; k++)
            digits &= part->s[k] >= '0' && part->s[k] <= '9';
        jv key = jv_str(part);
        if (digits && part->len < 18) key = jv_int(strtoll(part->s, NULL, 10));
        item = jj_getitem(c, pos, item, key);
        st = i + 1;
    }
    return item;
}

static keyed *keyed_items(jj_ctx *c, uint32_t pos, const jj_list *l, jv attribute,
                          bool case_sensitive) {
    keyed *k = jj_alloc_n(c, l->n ? l->n : 1, sizeof *k);
    for (size_t i = 0; i < l->n; i++) {
        k[i].val = l->v[i];
        k[i].key = attr_get(c, pos, l->v[i], attribute);
        if (!case_sensitive) k[i].key = lower_if_str(c, pos, k[i].key);
    }
    return k;
}

/* sort's attribute may list several keys, "age,name" (Jinja's make_multi_attrgetter): the
 * key is then the list of those values. */
static keyed *sort_keys(jj_ctx *c, uint32_t pos, const jj_list *l, jv attribute,
                        bool case_sensitive) {
    if (attribute.t != JV_STR || !memchr(attribute.u.s->s, ',', attribute.u.s->len))
        return keyed_items(c, pos, l, attribute, case_sensitive);
    jj_list *parts = jj_list_new(c, 0, JL_LIST);
    const jj_str *a = attribute.u.s;
    size_t st = 0;
    for (size_t i = 0; i <= a->len; i++)
        if (i == a->len || a->s[i] == ',') {
            jj_list_push(c, parts, jv_str(jj_str_new(c, a->s + st, i - st)));
            st = i + 1;
        }
    keyed *k = jj_alloc_n(c, l->n ? l->n : 1, sizeof *k);
    for (size_t i = 0; i < l->n; i++) {
        jj_list *key = jj_list_new(c, parts->n, JL_LIST);
        for (size_t j = 0; j < parts->n; j++) {
            jv v = attr_get(c, pos, l->v[i], parts->v[j]);
            key->v[key->n++] = case_sensitive ? v : lower_if_str(c, pos, v);
        }
        k[i].val = l->v[i];
        k[i].key = jv_list(key);
    }
    return k;
}

/* ---- filters -------------------------------------------------------------------------- */

static jv f_length(jj_ctx *c, uint32_t pos, jv v) {
    switch (v.t) {
    case JV_UNDEF:
        return jv_int(0);
    case JV_STR:
        return jv_int((int64_t)v.u.s->ncp);
    case JV_LIST:
        if (v.u.l->kind == JL_ITER) jj_fail(c, pos, "object of type 'generator' has no len()");
        return jv_int((int64_t)v.u.l->n);
    case JV_DICT:
        return jv_int((int64_t)v.u.d->n);
    case JV_LOOP:
        return jv_int((int64_t)v.u.loop->items->n);
    default:
        jj_fail(c, pos, "object of type '%s' has no len()", jj_type_name(v));
    }
}

static jv seq_item(jj_ctx *c, uint32_t pos, jv v, bool last) {
    if (last && v.t == JV_LIST && v.u.l->kind == JL_ITER)
        jj_fail(c, pos, "'generator' object is not reversible");
    if (v.t == JV_NS || v.t == JV_NONE || v.t == JV_BOOL || v.t == JV_INT || v.t == JV_FLOAT)
        jj_fail(c, pos, "'%s' object is not iterable", jj_type_name(v));
    const jj_list *l = jj_iterate(c, pos, v);
    if (l->n == 0)
        return jv_undef(last ? "No last item, sequence was empty."
                             : "No first item, sequence was empty.");
    jv r = l->v[last ? l->n - 1 : 0];
    if (last && v.t == JV_STR) r.mk = v.mk; /* reversed() goes through Markup.__getitem__ */
    return r;
}

static bool parse_py_float(const char *s, size_t len, double *out) {
    char buf[128];
    size_t n = 0;
    size_t i = 0;
    while (i < len && (s[i] == ' ' || (s[i] >= 9 && s[i] <= 13)))
        i++;
    while (len > i && (s[len - 1] == ' ' || (s[len - 1] >= 9 && s[len - 1] <= 13)))
        len--;
    if (i >= len || len - i >= sizeof buf) return false;
    for (size_t k = i; k < len; k++) {
        char ch = s[k];
        if (ch == '_') {
            bool ok = k > i && k + 1 < len && s[k - 1] >= '0' && s[k - 1] <= '9' &&
                      s[k + 1] >= '0' && s[k + 1] <= '9';
            if (!ok) return false;
            continue;
        }
        if (!strchr("0123456789+-.eEinfatyINFATY", ch) || !ch) return false;
        buf[n++] = ch;
    }
    buf[n] = 0;
    char *end;
    /* reject hex floats and other strtod extensions Python does not take */
    if (strchr(buf, 'x') || strchr(buf, 'X')) return false;
    double d = strtod(buf, &end);
    if (end == buf || *end) return false;
    const char *p = buf + (buf[0] == '+' || buf[0] == '-');
    bool alpha = (p[0] | 0x20) == 'i' || (p[0] | 0x20) == 'n';
    if (alpha) {
        static const char *const ok[] = {"inf", "infinity", "nan"};
        bool match = false;
        for (int k = 0; k < 3; k++)
            if (strcasecmp(p, ok[k]) == 0) match = true;
        if (!match) return false;
    }
    *out = d;
    return true;
}

static bool parse_py_int(const jj_str *s, int base, int64_t *out) {
    size_t i = 0, len = s->len;
    while (i < len && jj_py_isspace((unsigned char)s->s[i]))
        i++;
    while (len > i && jj_py_isspace((unsigned char)s->s[len - 1]))
        len--;
    if (i >= len) return false;
    bool neg = false;
    if (s->s[i] == '+' || s->s[i] == '-') {
        neg = s->s[i] == '-';
        i++;
    }
    if (base == 16 && len - i > 2 && s->s[i] == '0' && (s->s[i + 1] | 0x20) == 'x') i += 2;
    if (base == 8 && len - i > 2 && s->s[i] == '0' && (s->s[i + 1] | 0x20) == 'o') i += 2;
    if (base == 2 && len - i > 2 && s->s[i] == '0' && (s->s[i + 1] | 0x20) == 'b') i += 2;
    if (i >= len) return false;
    uint64_t v = 0;
    bool prev_digit = false;
    for (; i < len; i++) {
        char ch = s->s[i];
        if (ch == '_') {
            if (!prev_digit || i + 1 >= len) return false;
            prev_digit = false;
            continue;
        }
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'z' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'Z' ? ch - 'A' + 10
                                         : 99;
        if (d >= base) return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return false;
        v = v * (uint64_t)base + (uint64_t)d;
        prev_digit = true;
    }
    if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0)) return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static jv f_int(jj_ctx *c, uint32_t pos, jv v, jv dflt, jv basev) {
    int64_t base = jj_need_int(c, pos, basev, "base");
    int64_t r;
    if (v.t == JV_STR) {
        if (base >= 2 && base <= 36 && parse_py_int(v.u.s, (int)base, &r)) return jv_int(r);
        double d;
        if (parse_py_float(v.u.s->s, v.u.s->len, &d)) {
            if (isinf(d)) jj_fail(c, pos, "cannot convert float infinity to integer");
            if (isnan(d)) return dflt;
            if (fabs(d) >= 9.2e18) jj_fail(c, pos, "unsupported: integer wider than 64 bits");
            return jv_int((int64_t)d);
        }
        return dflt;
    }
    if (v.t == JV_INT) return v;
    if (v.t == JV_BOOL) return jv_int(v.u.b);
    if (v.t == JV_FLOAT) {
        if (isinf(v.u.f)) jj_fail(c, pos, "cannot convert float infinity to integer");
        if (isnan(v.u.f)) return dflt;
        if (fabs(v.u.f) >= 9.2e18) jj_fail(c, pos, "unsupported: integer wider than 64 bits");
        return jv_int((int64_t)v.u.f);
    }
    return dflt;
}

static jv f_float(jj_ctx *c, uint32_t pos, jv v, jv dflt) {
    (void)c;
    (void)pos;
    if (v.t == JV_FLOAT) return v;
    if (v.t == JV_INT || v.t == JV_BOOL) return jv_float((double)(v.t == JV_INT ? v.u.i : v.u.b));
    double d;
    if (v.t == JV_STR && parse_py_float(v.u.s->s, v.u.s->len, &d)) return jv_float(d);
    return dflt;
}

static jv f_round(jj_ctx *c, uint32_t pos, jv v, jv precv, jv methodv) {
    int64_t prec = jj_need_int(c, pos, precv, "precision");
    const jj_str *m = jj_need_str(c, pos, methodv, "method");
    bool common = jj_str_eq(m, "common", 6), ceil_ = jj_str_eq(m, "ceil", 4),
         floor_ = jj_str_eq(m, "floor", 5);
    if (!common && !ceil_ && !floor_) jj_fail(c, pos, "method must be common, ceil or floor");
    if (v.t != JV_INT && v.t != JV_BOOL && v.t != JV_FLOAT) {
        if (v.t == JV_UNDEF) jj_undefined_error(c, pos, v);
        jj_fail(c, pos, "type %s doesn't define __round__ method", jj_type_name(v));
    }
    if (prec < 0 || prec > 300)
        jj_fail(c, pos, "unsupported: round() precision %lld", (long long)prec);
    if (common && v.t != JV_FLOAT) return v.t == JV_BOOL ? jv_int(v.u.b) : v;
    double x = v.t == JV_FLOAT ? v.u.f : (double)(v.t == JV_INT ? v.u.i : v.u.b);
    if (!isfinite(x)) return jv_float(x);
    if (common) {
        char buf[400];
        snprintf(buf, sizeof buf, "%.*f", (int)prec, x);
        return jv_float(strtod(buf, NULL));
    }
    double p = pow(10.0, (double)prec);
    return jv_float((ceil_ ? ceil(x * p) : floor(x * p)) / p);
}

static jv f_indent(jj_ctx *c, uint32_t pos, jv sv, jv widthv, jv firstv, jv blankv) {
    jj_str *s = jj_to_str(c, pos, sv);
    jj_str *ind;
    if (widthv.t == JV_STR) {
        ind = widthv.u.s;
    } else {
        int64_t w = jj_need_int(c, pos, widthv, "width");
        if (w < 0) w = 0;
        if (w > 1024) jj_fail(c, pos, "unsupported: indent wider than 1024");
        char sp[1025];
        memset(sp, ' ', (size_t)w);
        ind = jj_str_new(c, sp, (size_t)w);
    }
    jj_str *nl = S(c, "\n");
    jj_list *lines = jj_splitlines(c, jj_str_cat(c, s, nl), false);
    jj_buf b = {0};
    if (jj_truthy(firstv)) jj_buf_put(c, &b, ind->s, ind->len);
    for (size_t i = 0; i < lines->n; i++) {
        const jj_str *ln = lines->v[i].u.s;
        if (i) {
            jj_buf_putc(c, &b, '\n');
            if (ln->len || jj_truthy(blankv)) jj_buf_put(c, &b, ind->s, ind->len);
        }
        jj_buf_put(c, &b, ln->s, ln->len);
    }
    return jv_str(jj_buf_str(c, &b));
}

static jv f_tojson(jj_ctx *c, uint32_t pos, jv x, const jv *p) {
    jj_json_opts o = {.ensure_ascii = jj_truthy(p[0])};
    char *spaces = NULL;
    if (p[1].t == JV_STR) {
        o.indent = p[1].u.s->s;
    } else if (p[1].t == JV_INT || p[1].t == JV_BOOL) {
        int64_t w = p[1].t == JV_INT ? p[1].u.i : p[1].u.b;
        if (w < 0) w = 0;
        if (w > 1024) jj_fail(c, pos, "unsupported: tojson indent wider than 1024");
        spaces = jj_alloc(c, (size_t)w + 1);
        memset(spaces, ' ', (size_t)w);
        o.indent = spaces;
    } else if (p[1].t != JV_NONE) {
        jj_fail(c, pos, "tojson indent must be an int, a str or None");
    }
    o.item_sep = o.indent ? "," : ", ";
    o.key_sep = ": ";
    if (p[2].t != JV_NONE) {
        if (p[2].t != JV_LIST || p[2].u.l->n != 2 || p[2].u.l->v[0].t != JV_STR ||
            p[2].u.l->v[1].t != JV_STR)
            jj_fail(c, pos, "tojson separators must be a pair of strings");
        o.item_sep = p[2].u.l->v[0].u.s->s;
        o.key_sep = p[2].u.l->v[1].u.s->s;
    }
    o.sort_keys = jj_truthy(p[3]);
    jj_buf b = {0};
    jj_put_json(c, pos, &b, x, &o, 0);
    return jv_str(jj_buf_str(c, &b));
}

/* select / reject / selectattr / rejectattr */
static jv f_select(jj_ctx *c, uint32_t pos, jv seq, const jj_args *a, bool attr, bool keep) {
    if (!jj_truthy(seq)) return jv_list(jj_list_new(c, 0, JL_ITER)); /* Jinja: `if value:` */
    size_t k = 0;
    jv attribute = jv_none();
    if (attr) {
        if (a->n < 1) jj_fail(c, pos, "missing parameter for attribute name");
        attribute = a->v[0];
        k = 1;
    }
    if (a->nkw) jj_fail(c, pos, "unsupported: keyword arguments to select/reject");
    int test = -1;
    const char *tname = NULL;
    if (a->n > k) {
        const jj_str *tn = jj_need_str(c, pos, a->v[k], "test name");
        tname = tn->s;
        test = jj_test_id(tn->s);
        if (test == 0) jj_fail(c, pos, "no test named '%s'", tn->s);
        k++;
    }
    jj_args targs = {.n = a->n - k, .v = a->n > k ? a->v + k : NULL};
    const jj_list *l = jj_iterate(c, pos, seq);
    jj_list *out = jj_list_new(c, l->n, JL_ITER);
    for (size_t i = 0; i < l->n; i++) {
        jv item = attr ? attr_get(c, pos, l->v[i], attribute) : l->v[i];
        bool r = test < 0 ? jj_truthy(item) : jj_apply_test(c, pos, test, tname, item, &targs);
        if (r == keep) out->v[out->n++] = l->v[i];
    }
    return jv_list(out);
}

static jv f_map(jj_ctx *c, uint32_t pos, jv seq, const jj_args *a) {
    if (!jj_truthy(seq)) return jv_list(jj_list_new(c, 0, JL_ITER)); /* Jinja: `if value:` */
    const jj_list *l = jj_iterate(c, pos, seq);
    jj_list *out = jj_list_new(c, l->n, JL_ITER);
    if (a->n == 0) {
        jv attribute = jv_undef(NULL), dflt = jv_none();
        bool has_default = false;
        for (size_t k = 0; k < a->nkw; k++) {
            if (jj_str_eq(a->kwn[k], "attribute", 9)) {
                attribute = a->kwv[k];
            } else if (jj_str_eq(a->kwn[k], "default", 7)) {
                dflt = a->kwv[k];
                has_default = true;
            } else {
                jj_fail(c, pos, "unexpected keyword argument '%s' to map", a->kwn[k]->s);
            }
        }
        if (attribute.t == JV_UNDEF) jj_fail(c, pos, "map requires a filter argument");
        for (size_t i = 0; i < l->n; i++) {
            jv v = attr_get(c, pos, l->v[i], attribute);
            if (has_default && v.t == JV_UNDEF) v = dflt;
            out->v[out->n++] = v;
        }
        return jv_list(out);
    }
    const jj_str *fname = jj_need_str(c, pos, a->v[0], "filter name");
    int id = jj_filter_id(fname->s);
    if (id == 0) jj_fail(c, pos, "no filter named '%s'", fname->s);
    jj_args rest = {.n = a->n - 1, .v = a->v + 1, .nkw = a->nkw, .kwn = a->kwn, .kwv = a->kwv};
    for (size_t i = 0; i < l->n; i++)
        out->v[out->n++] = jj_apply_filter(c, pos, id, fname->s, l->v[i], &rest);
    return jv_list(out);
}

static jv f_minmax(jj_ctx *c, uint32_t pos, jv seq, const jj_args *a, bool max) {
    static const char *const names[] = {"case_sensitive", "attribute"};
    jv p[2] = {jv_bool(false), jv_none()};
    jj_bind(c, pos, max ? "max" : "min", a, 2, names, p);
    const jj_list *l = jj_iterate(c, pos, seq);
    if (l->n == 0) return jv_undef("No aggregated item, sequence was empty.");
    keyed *k = keyed_items(c, pos, l, p[1], jj_truthy(p[0]));
    size_t best = 0;
    for (size_t i = 1; i < l->n; i++) {
        int r = jj_order(c, pos, k[i].key, k[best].key);
        if (r != 2 && (max ? r > 0 : r < 0)) best = i;
    }
    return k[best].val;
}

static jv f_sort(jj_ctx *c, uint32_t pos, jv seq, const jj_args *a) {
    static const char *const names[] = {"reverse", "case_sensitive", "attribute"};
    jv p[3] = {jv_bool(false), jv_bool(false), jv_none()};
    jj_bind(c, pos, "sort", a, 3, names, p);
    const jj_list *l = jj_iterate(c, pos, seq);
    keyed *k = sort_keys(c, pos, l, p[2], jj_truthy(p[1]));
    keyed *tmp = jj_alloc_n(c, l->n ? l->n : 1, sizeof *tmp);
    merge_sort(c, pos, k, tmp, l->n, jj_truthy(p[0]));
    jj_list *out = jj_list_new(c, l->n, JL_LIST);
    for (size_t i = 0; i < l->n; i++)
        out->v[out->n++] = k[i].val;
    return jv_list(out);
}

static jv f_dictsort(jj_ctx *c, uint32_t pos, jv d, const jj_args *a) {
    static const char *const names[] = {"case_sensitive", "by", "reverse"};
    jv p[3] = {jv_bool(false), jv_str(S(c, "key")), jv_bool(false)};
    jj_bind(c, pos, "dictsort", a, 3, names, p);
    if (d.t != JV_DICT) jj_fail(c, pos, "dictsort needs a dict, not %s", jj_type_name(d));
    const jj_str *by = jj_need_str(c, pos, p[1], "by");
    bool by_value = jj_str_eq(by, "value", 5);
    if (!by_value && !jj_str_eq(by, "key", 3))
        jj_fail(c, pos, "You can only sort by either \"key\" or \"value\"");
    size_t n = d.u.d->n;
    keyed *k = jj_alloc_n(c, n ? n : 1, sizeof *k);
    for (size_t i = 0; i < n; i++) {
        jj_list *t = jj_list_new(c, 2, JL_TUPLE);
        t->v[0] = d.u.d->k[i];
        t->v[1] = d.u.d->v[i];
        t->n = 2;
        k[i].val = jv_list(t);
        k[i].key = t->v[by_value ? 1 : 0];
        if (!jj_truthy(p[0])) k[i].key = lower_if_str(c, pos, k[i].key);
    }
    keyed *tmp = jj_alloc_n(c, n ? n : 1, sizeof *tmp);
    merge_sort(c, pos, k, tmp, n, jj_truthy(p[2]));
    jj_list *out = jj_list_new(c, n, JL_LIST);
    for (size_t i = 0; i < n; i++)
        out->v[out->n++] = k[i].val;
    return jv_list(out);
}

static jv f_unique(jj_ctx *c, uint32_t pos, jv seq, const jj_args *a) {
    static const char *const names[] = {"case_sensitive", "attribute"};
    jv p[2] = {jv_bool(false), jv_none()};
    jj_bind(c, pos, "unique", a, 2, names, p);
    const jj_list *l = jj_iterate(c, pos, seq);
    keyed *k = keyed_items(c, pos, l, p[1], jj_truthy(p[0]));
    jj_list *out = jj_list_new(c, l->n, JL_ITER);
    for (size_t i = 0; i < l->n; i++) {
        if (k[i].key.t == JV_LIST || k[i].key.t == JV_DICT)
            jj_fail(c, pos, "unhashable type: '%s'", jj_type_name(k[i].key));
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = jj_equal(c, k[j].key, k[i].key, 0);
        if (!seen) out->v[out->n++] = l->v[i];
    }
    return jv_list(out);
}

static jv f_sum(jj_ctx *c, uint32_t pos, jv seq, const jj_args *a) {
    static const char *const names[] = {"attribute", "start"};
    jv p[2] = {jv_none(), jv_int(0)};
    jj_bind(c, pos, "sum", a, 2, names, p);
    const jj_list *l = jj_iterate(c, pos, seq);
    jv acc = p[1];
    if (acc.t == JV_STR) jj_fail(c, pos, "sum() can't sum strings [use ''.join(seq) instead]");
    for (size_t i = 0; i < l->n; i++)
        acc = jj_binop(c, pos, OP_ADD, acc, attr_get(c, pos, l->v[i], p[0]));
    return acc;
}

static jv f_join(jj_ctx *c, uint32_t pos, jv seq, const jj_args *a) {
    static const char *const names[] = {"d", "attribute"};
    jv p[2] = {jv_str(S(c, "")), jv_none()};
    jj_bind(c, pos, "join", a, 2, names, p);
    jj_str *sep = jj_to_str(c, pos, p[0]);
    const jj_list *l = jj_iterate(c, pos, seq);
    jj_buf b = {0};
    for (size_t i = 0; i < l->n; i++) {
        if (i) jj_buf_put(c, &b, sep->s, sep->len);
        jj_put_str(c, pos, &b, attr_get(c, pos, l->v[i], p[1]));
    }
    return jv_str(jj_buf_str(c, &b));
}

static jv f_reverse(jj_ctx *c, uint32_t pos, jv v) {
    if (v.t == JV_STR) {
        const jj_str *s = v.u.s;
        char *r = jj_alloc(c, s->len + 1);
        size_t i = 0;
        while (i < s->len) {
            size_t adv;
            jj_utf8_decode(s->s + i, s->len - i, &adv);
            memcpy(r + s->len - i - adv, s->s + i, adv);
            i += adv;
        }
        jv rv = jv_str(jj_str_new(c, r, s->len));
        rv.mk = v.mk;
        return rv;
    }
    if (v.t == JV_NS || v.t == JV_NONE || v.t == JV_BOOL || v.t == JV_INT || v.t == JV_FLOAT)
        jj_fail(c, pos, "argument must be iterable");
    bool gen = v.t == JV_LIST && v.u.l->kind == JL_ITER;
    const jj_list *l = jj_iterate(c, pos, v);
    jj_list *r = jj_list_new(c, l->n, gen ? JL_LIST : JL_ITER);
    for (size_t i = l->n; i-- > 0;)
        r->v[r->n++] = l->v[i];
    return jv_list(r);
}

static jv f_items(jj_ctx *c, uint32_t pos, jv v) {
    if (v.t == JV_UNDEF) return jv_list(jj_list_new(c, 0, JL_ITER));
    if (v.t != JV_DICT) jj_fail(c, pos, "Can only get item pairs from a mapping.");
    jj_list *out = jj_list_new(c, v.u.d->n, JL_ITER);
    for (size_t i = 0; i < v.u.d->n; i++) {
        jj_list *t = jj_list_new(c, 2, JL_TUPLE);
        t->v[0] = v.u.d->k[i];
        t->v[1] = v.u.d->v[i];
        t->n = 2;
        out->v[out->n++] = jv_list(t);
    }
    return jv_list(out);
}

jv jj_apply_filter(jj_ctx *c, uint32_t pos, int id, const char *name, jv v, const jj_args *a) {
    jv p[4];
    switch (id) {
    case F_ABS:
        jj_no_args(c, pos, "abs", a);
        if (v.t == JV_FLOAT) return jv_float(fabs(v.u.f));
        if (v.t == JV_INT || v.t == JV_BOOL) {
            int64_t x = v.t == JV_INT ? v.u.i : v.u.b;
            if (x == INT64_MIN) jj_fail(c, pos, "unsupported: integer result wider than 64 bits");
            return jv_int(x < 0 ? -x : x);
        }
        if (v.t == JV_UNDEF) jj_undefined_error(c, pos, v);
        jj_fail(c, pos, "bad operand type for abs(): '%s'", jj_type_name(v));
    case F_ATTR: {
        static const char *const names[] = {"name"};
        p[0] = jv_undef(NULL);
        jj_bind(c, pos, "attr", a, 1, names, p);
        const jj_str *nm = jj_need_str(c, pos, p[0], "attribute name");
        jv m;
        if (v.t == JV_UNDEF) return jj_undefined_error(c, pos, v);
        if (v.t == JV_NS || v.t == JV_LOOP) return jj_getattr(c, pos, v, nm->s, nm->len);
        if (jj_method(c, v, nm->s, nm->len, &m)) return m;
        return jv_undef("no such attribute");
    }
    case F_CAPITALIZE:
        jj_no_args(c, pos, "capitalize", a);
        return jv_str(jj_change_case(c, pos, jj_to_str(c, pos, v), JJ_CASE_CAPITALIZE));
    case F_COUNT:
    case F_LENGTH:
        jj_no_args(c, pos, "length", a);
        return f_length(c, pos, v);
    case F_DEFAULT: {
        static const char *const names[] = {"default_value", "boolean"};
        p[0] = jv_str(S(c, ""));
        p[1] = jv_bool(false);
        jj_bind(c, pos, "default", a, 2, names, p);
        if (v.t == JV_UNDEF || (jj_truthy(p[1]) && !jj_truthy(v))) return p[0];
        return v;
    }
    case F_DICTSORT:
        return f_dictsort(c, pos, v, a);
    case F_ESCAPE:
        jj_no_args(c, pos, "escape", a);
        return jj_escape(c, pos, v);
    case F_FORCEESCAPE:
        jj_no_args(c, pos, "forceescape", a);
        return jv_markup(jj_html_escape(c, jj_to_str(c, pos, v)));
    case F_FIRST:
    case F_LAST:
        jj_no_args(c, pos, id == F_FIRST ? "first" : "last", a);
        return seq_item(c, pos, v, id == F_LAST);
    case F_FLOAT: {
        static const char *const names[] = {"default"};
        p[0] = jv_float(0.0);
        jj_bind(c, pos, "float", a, 1, names, p);
        return f_float(c, pos, v, p[0]);
    }
    case F_FORMAT: {
        if (a->nkw && a->n) jj_fail(c, pos, "can't handle positional and keyword arguments");
        if (a->nkw) jj_fail(c, pos, "unsupported: format() with keyword arguments");
        jj_list *t = jj_list_new(c, a->n, JL_TUPLE);
        for (size_t i = 0; i < a->n; i++)
            t->v[t->n++] = a->v[i];
        return jj_format_percent(c, pos, jj_to_str(c, pos, v), jv_list(t), v.t == JV_STR && v.mk);
    }
    case F_INDENT: {
        static const char *const names[] = {"width", "first", "blank"};
        p[0] = jv_int(4);
        p[1] = jv_bool(false);
        p[2] = jv_bool(false);
        jj_bind(c, pos, "indent", a, 3, names, p);
        jv r = f_indent(c, pos, v, p[0], p[1], p[2]);
        r.mk = v.t == JV_STR && v.mk;
        return r;
    }
    case F_INT: {
        static const char *const names[] = {"default", "base"};
        p[0] = jv_int(0);
        p[1] = jv_int(10);
        jj_bind(c, pos, "int", a, 2, names, p);
        return f_int(c, pos, v, p[0], p[1]);
    }
    case F_ITEMS:
        jj_no_args(c, pos, "items", a);
        return f_items(c, pos, v);
    case F_JOIN:
        return f_join(c, pos, v, a);
    case F_LIST:
        jj_no_args(c, pos, "list", a);
        if (v.t == JV_NS || v.t == JV_NONE || v.t == JV_BOOL || v.t == JV_INT || v.t == JV_FLOAT)
            jj_fail(c, pos, "'%s' object is not iterable", jj_type_name(v));
        return jv_list(jj_list_copy(c, jj_iterate(c, pos, v), JL_LIST));
    case F_LOWER:
    case F_UPPER:
    case F_TITLE: {
        jj_no_args(c, pos, name, a);
        jv r = jv_str(jj_change_case(c, pos, jj_to_str(c, pos, v),
                                     id == F_LOWER   ? JJ_CASE_LOWER
                                     : id == F_UPPER ? JJ_CASE_UPPER
                                                     : JJ_CASE_JINJA_TITLE));
        r.mk = id != F_TITLE && v.t == JV_STR && v.mk; /* Markup.upper() is a Markup */
        return r;
    }
    case F_MAP:
        return f_map(c, pos, v, a);
    case F_MAX:
    case F_MIN:
        return f_minmax(c, pos, v, a, id == F_MAX);
    case F_REJECT:
    case F_SELECT:
        return f_select(c, pos, v, a, false, id == F_SELECT);
    case F_REJECTATTR:
    case F_SELECTATTR:
        return f_select(c, pos, v, a, true, id == F_SELECTATTR);
    case F_REPLACE: {
        static const char *const names[] = {"old", "new", "count"};
        p[0] = jv_undef(NULL);
        p[1] = jv_undef(NULL);
        p[2] = jv_none();
        jj_bind(c, pos, "replace", a, 3, names, p);
        jj_str *s = jj_to_str(c, pos, v);
        int64_t count = p[2].t == JV_NONE ? -1 : jj_need_int(c, pos, p[2], "count");
        return jv_str(jj_replace(c, s, jj_to_str(c, pos, p[0]), jj_to_str(c, pos, p[1]), count));
    }
    case F_REVERSE:
        jj_no_args(c, pos, "reverse", a);
        return f_reverse(c, pos, v);
    case F_ROUND: {
        static const char *const names[] = {"precision", "method"};
        p[0] = jv_int(0);
        p[1] = jv_str(S(c, "common"));
        jj_bind(c, pos, "round", a, 2, names, p);
        return f_round(c, pos, v, p[0], p[1]);
    }
    case F_SAFE:
        jj_no_args(c, pos, name, a);
        return jv_markup(jj_to_str(c, pos, v));
    case F_STRING: /* soft_str: a string (Markup included) is returned as it is */
        jj_no_args(c, pos, name, a);
        return v.t == JV_STR ? v : jv_str(jj_to_str(c, pos, v));
    case F_SORT:
        return f_sort(c, pos, v, a);
    case F_SUM:
        return f_sum(c, pos, v, a);
    case F_TOJSON: {
        static const char *const names[] = {"ensure_ascii", "indent", "separators", "sort_keys"};
        p[0] = jv_bool(false);
        p[1] = jv_none();
        p[2] = jv_none();
        p[3] = jv_bool(false);
        jj_bind(c, pos, "tojson", a, 4, names, p);
        return f_tojson(c, pos, v, p);
    }
    case F_TRIM: {
        static const char *const names[] = {"chars"};
        p[0] = jv_none();
        jj_bind(c, pos, "trim", a, 1, names, p);
        bool mk = v.t == JV_STR && v.mk;
        const jj_str *set = p[0].t == JV_NONE ? NULL : jj_to_str(c, pos, p[0]);
        if (set && mk) set = jj_html_escape(c, set); /* Markup.strip escapes its argument */
        jv r = jv_str(jj_strip(c, jj_to_str(c, pos, v), set, true, true));
        r.mk = mk;
        return r;
    }
    case F_UNIQUE:
        return f_unique(c, pos, v, a);
    default:
        jj_fail(c, pos, "unsupported filter '%s'", name);
    }
}

/* ---- tests ---------------------------------------------------------------------------- */

bool jj_apply_test(jj_ctx *c, uint32_t pos, int id, const char *name, jv v, const jj_args *a) {
    jv arg = jv_undef("missing test argument");
    if (id == JJ_UNSUPPORTED) jj_fail(c, pos, "unsupported test '%s'", name);
    if (id >= TS_SAMEAS && id != TS_ODD && id != TS_EVEN && id != TS_LOWER && id != TS_UPPER &&
        id != TS_FILTER && id != TS_TEST) {
        if (a->n + a->nkw != 1) jj_fail(c, pos, "test '%s' takes one argument", name);
        arg = a->n ? a->v[0] : a->kwv[0];
    } else if (a->n || a->nkw) {
        jj_fail(c, pos, "test '%s' takes no arguments", name);
    }
    switch (id) {
    case TS_DEFINED:
        return v.t != JV_UNDEF;
    case TS_UNDEFINED:
        return v.t == JV_UNDEF;
    case TS_NONE:
        return v.t == JV_NONE;
    case TS_BOOLEAN:
        return v.t == JV_BOOL;
    case TS_FALSE:
        return v.t == JV_BOOL && !v.u.b;
    case TS_TRUE:
        return v.t == JV_BOOL && v.u.b;
    case TS_INTEGER:
        return v.t == JV_INT;
    case TS_FLOAT:
        return v.t == JV_FLOAT;
    case TS_NUMBER:
        return v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL;
    case TS_STRING:
        return v.t == JV_STR;
    case TS_MAPPING:
        return v.t == JV_DICT;
    case TS_ITERABLE:
        return v.t == JV_STR || v.t == JV_LIST || v.t == JV_DICT || v.t == JV_UNDEF ||
               v.t == JV_LOOP;
    case TS_SEQUENCE:
        return v.t == JV_STR || v.t == JV_DICT || v.t == JV_UNDEF ||
               (v.t == JV_LIST &&
                (v.u.l->kind == JL_LIST || v.u.l->kind == JL_TUPLE || v.u.l->kind == JL_RANGE));
    case TS_CALLABLE:
        return v.t == JV_FUNC || v.t == JV_MACRO || v.t == JV_UNDEF || v.t == JV_LOOP;
    case TS_SAMEAS:
        if (v.t != arg.t) return false;
        switch (v.t) {
        case JV_NONE:
        case JV_UNDEF:
            return v.t == JV_NONE;
        case JV_BOOL:
            return v.u.b == arg.u.b;
        case JV_INT: /* CPython caches small ints */
            return v.u.i == arg.u.i && v.u.i >= -5 && v.u.i <= 256;
        default:
            return v.u.s == arg.u.s;
        }
    case TS_ODD:
    case TS_EVEN:
    case TS_DIVISIBLEBY: {
        jv r = jj_binop(c, pos, OP_MOD, v, id == TS_DIVISIBLEBY ? arg : jv_int(2));
        bool zero = r.t == JV_FLOAT ? r.u.f == 0 : r.u.i == 0;
        return id == TS_ODD ? (r.t == JV_FLOAT ? r.u.f == 1 : r.u.i == 1) : zero;
    }
    case TS_LOWER:
    case TS_UPPER: {
        jj_str *s = jj_to_str(c, pos, v);
        jj_str *conv = jj_change_case(c, pos, s, id == TS_LOWER ? JJ_CASE_LOWER : JJ_CASE_UPPER);
        jj_str *other = jj_change_case(c, pos, s, id == TS_LOWER ? JJ_CASE_UPPER : JJ_CASE_LOWER);
        /* islower(): no uppercase cased characters and at least one cased one */
        return jj_str_eq(conv, s->s, s->len) && !jj_str_eq(other, s->s, s->len);
    }
    case TS_EQ:
        return jj_equal(c, v, arg, 0);
    case TS_NE:
        return !jj_equal(c, v, arg, 0);
    case TS_LT:
    case TS_LE:
    case TS_GT:
    case TS_GE: {
        int r = jj_order(c, pos, v, arg);
        if (r == 2) return false;
        return id == TS_LT ? r < 0 : id == TS_LE ? r <= 0 : id == TS_GT ? r > 0 : r >= 0;
    }
    case TS_IN: {
        jv r = jv_bool(false);
        if (arg.t == JV_STR) {
            if (v.t != JV_STR)
                jj_fail(c, pos, "'in <string>' requires string as left operand, not %s",
                        jj_type_name(v));
            jj_charge(c, (arg.u.s->len >> 6) + 1);
            return v.u.s->len == 0 ||
                   memmem(arg.u.s->s, arg.u.s->len, v.u.s->s, v.u.s->len) != NULL;
        }
        if (arg.t == JV_DICT) {
            if (v.t == JV_LIST || v.t == JV_DICT || v.t == JV_NS)
                jj_fail(c, pos, "unhashable type: '%s'", jj_type_name(v));
            return jj_dict_find(c, arg.u.d, v) != NULL;
        }
        if (arg.t == JV_UNDEF) return false;
        const jj_list *l = jj_iterate(c, pos, arg);
        for (size_t i = 0; i < l->n && !r.u.b; i++)
            r.u.b = jj_equal(c, v, l->v[i], 0);
        return r.u.b;
    }
    case TS_FILTER:
        return v.t == JV_STR && jj_filter_id(v.u.s->s) > 0 &&
               jj_filter_id(v.u.s->s) != JJ_UNSUPPORTED;
    case TS_TEST:
        return v.t == JV_STR && jj_test_id(v.u.s->s) > 0 && jj_test_id(v.u.s->s) != JJ_UNSUPPORTED;
    default:
        jj_fail(c, pos, "unsupported test '%s'", name);
    }
}
