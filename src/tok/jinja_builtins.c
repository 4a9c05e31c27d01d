/* tok/jinja_builtins.c — what templates call: Jinja2 3.1's builtin filters and tests (with
 * transformers' tojson), Python's str / dict / list methods, the loop helpers, and the
 * globals (range, dict, namespace, raise_exception, strftime_now).
 *
 * Each function mirrors its Python original, arguments included (positional or keyword, with
 * the same names and defaults), because chat templates are written against Python. What is
 * not implemented is named in the error: a Jinja filter or test outside the list below, a
 * Python str method we skip (format, center, ...), a sandbox-forbidden mutation (append,
 * pop, update, ...), which behaves as in Jinja's sandbox: an Undefined that fails when used.
 * Generators (map, select, reject, items, unique, reverse) are lists of kind JL_ITER: one
 * pass, no len(), not printable — as in Python.
 * Limits admitted: case mapping of non-ASCII text uses the C library's C.UTF-8 tables plus
 * Python's few one-to-many cases (ß, ligatures, İ, final sigma); str.isalpha() and friends
 * refuse non-ASCII text rather than guess.
 */
#include "tok/jinja.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wctype.h>

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
    {"forceescape", F_ESCAPE},
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

enum jj_fn {
    FN_NONE,
    FN_UNSUPPORTED,
    FN_RANGE,
    FN_DICT,
    FN_NAMESPACE,
    FN_RAISE,
    FN_STRFTIME,
    FN_S_STRIP,
    FN_S_LSTRIP,
    FN_S_RSTRIP,
    FN_S_SPLIT,
    FN_S_RSPLIT,
    FN_S_SPLITLINES,
    FN_S_STARTSWITH,
    FN_S_ENDSWITH,
    FN_S_UPPER,
    FN_S_LOWER,
    FN_S_TITLE,
    FN_S_CAPITALIZE,
    FN_S_REPLACE,
    FN_S_FIND,
    FN_S_RFIND,
    FN_S_INDEX,
    FN_S_RINDEX,
    FN_S_COUNT,
    FN_S_JOIN,
    FN_S_ISDIGIT,
    FN_S_ISALPHA,
    FN_S_ISALNUM,
    FN_S_ISSPACE,
    FN_S_ISLOWER,
    FN_S_ISUPPER,
    FN_S_REMOVEPREFIX,
    FN_S_REMOVESUFFIX,
    FN_D_ITEMS,
    FN_D_KEYS,
    FN_D_VALUES,
    FN_D_GET,
    FN_D_COPY,
    FN_L_INDEX,
    FN_L_COUNT,
    FN_L_COPY,
    FN_LOOP_CYCLE,
    FN_LOOP_CHANGED,
};

typedef struct named {
    const char *name;
    int id;
} named;

static const named str_methods[] = {
    {"strip", FN_S_STRIP},
    {"lstrip", FN_S_LSTRIP},
    {"rstrip", FN_S_RSTRIP},
    {"split", FN_S_SPLIT},
    {"rsplit", FN_S_RSPLIT},
    {"splitlines", FN_S_SPLITLINES},
    {"startswith", FN_S_STARTSWITH},
    {"endswith", FN_S_ENDSWITH},
    {"upper", FN_S_UPPER},
    {"lower", FN_S_LOWER},
    {"title", FN_S_TITLE},
    {"capitalize", FN_S_CAPITALIZE},
    {"replace", FN_S_REPLACE},
    {"find", FN_S_FIND},
    {"rfind", FN_S_RFIND},
    {"index", FN_S_INDEX},
    {"rindex", FN_S_RINDEX},
    {"count", FN_S_COUNT},
    {"join", FN_S_JOIN},
    {"isdigit", FN_S_ISDIGIT},
    {"isalpha", FN_S_ISALPHA},
    {"isalnum", FN_S_ISALNUM},
    {"isspace", FN_S_ISSPACE},
    {"islower", FN_S_ISLOWER},
    {"isupper", FN_S_ISUPPER},
    {"removeprefix", FN_S_REMOVEPREFIX},
    {"removesuffix", FN_S_REMOVESUFFIX},
    /* Python str methods we do not implement: calling them is an error */
    {"casefold", FN_UNSUPPORTED},
    {"center", FN_UNSUPPORTED},
    {"encode", FN_UNSUPPORTED},
    {"expandtabs", FN_UNSUPPORTED},
    {"format", FN_UNSUPPORTED},
    {"format_map", FN_UNSUPPORTED},
    {"isascii", FN_UNSUPPORTED},
    {"isdecimal", FN_UNSUPPORTED},
    {"isidentifier", FN_UNSUPPORTED},
    {"isnumeric", FN_UNSUPPORTED},
    {"isprintable", FN_UNSUPPORTED},
    {"istitle", FN_UNSUPPORTED},
    {"ljust", FN_UNSUPPORTED},
    {"maketrans", FN_UNSUPPORTED},
    {"partition", FN_UNSUPPORTED},
    {"rjust", FN_UNSUPPORTED},
    {"rpartition", FN_UNSUPPORTED},
    {"swapcase", FN_UNSUPPORTED},
    {"translate", FN_UNSUPPORTED},
    {"zfill", FN_UNSUPPORTED},
};

static const named dict_methods[] = {
    {"items", FN_D_ITEMS}, {"keys", FN_D_KEYS}, {"values", FN_D_VALUES},
    {"get", FN_D_GET},     {"copy", FN_D_COPY}, {"fromkeys", FN_UNSUPPORTED},
};
static const char *const dict_unsafe[] = {"pop", "popitem", "setdefault", "update", "clear", NULL};

static const named list_methods[] = {
    {"index", FN_L_INDEX},
    {"count", FN_L_COUNT},
    {"copy", FN_L_COPY},
};
static const char *const list_unsafe[] = {"append",  "extend", "insert", "pop", "remove",
                                          "reverse", "sort",   "clear",  NULL};

static const named loop_methods[] = {
    {"cycle", FN_LOOP_CYCLE},
    {"changed", FN_LOOP_CHANGED},
};

static int find_named(const named *t, size_t n, const char *name, size_t len) {
    for (size_t i = 0; i < n; i++)
        if (strlen(t[i].name) == len && memcmp(t[i].name, name, len) == 0) return (int)i;
    return -1;
}

static bool in_list(const char *const *names, const char *name, size_t len) {
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) return true;
    return false;
}

static jv bound(jj_ctx *c, int id, jv self, const char *name) {
    jj_bound *b = jj_alloc(c, sizeof *b);
    b->self = self;
    b->name = name;
    jv v = {.t = JV_FUNC, .id = (uint16_t)id};
    v.u.bound = b;
    return v;
}

static jv unsafe_undef(jj_ctx *c, jv self, const char *name) {
    size_t n = strlen(name) + 80;
    char *h = jj_alloc(c, n);
    snprintf(h, n, "access to attribute '%s' of '%s' object is unsafe.", name, jj_type_name(self));
    return jv_undef(h);
}

bool jj_method(jj_ctx *c, jv self, const char *name, size_t len, jv *out) {
    const named *t = NULL;
    size_t n = 0;
    const char *const *unsafe = NULL;
    switch (self.t) {
    case JV_STR:
        t = str_methods;
        n = EL_ARRAY_LEN(str_methods);
        break;
    case JV_DICT:
        t = dict_methods;
        n = EL_ARRAY_LEN(dict_methods);
        unsafe = dict_unsafe;
        break;
    case JV_LIST:
        if (self.u.l->kind == JL_LIST) {
            t = list_methods;
            n = EL_ARRAY_LEN(list_methods);
            unsafe = list_unsafe;
        } else if (self.u.l->kind == JL_TUPLE) {
            t = list_methods;
            n = 2; /* index, count */
        }
        break;
    case JV_LOOP:
        t = loop_methods;
        n = EL_ARRAY_LEN(loop_methods);
        break;
    default:
        break;
    }
    int i = t ? find_named(t, n, name, len) : -1;
    if (i >= 0) {
        *out = bound(c, t[i].id, self, t[i].name);
        return true;
    }
    if (unsafe && in_list(unsafe, name, len)) {
        char *nm = jj_alloc(c, len + 1);
        memcpy(nm, name, len);
        *out = unsafe_undef(c, self, nm);
        return true;
    }
    return false;
}

bool jj_global(jj_ctx *c, const char *name, size_t len, jv *out) {
    static const named globals[] = {
        {"range", FN_RANGE},           {"dict", FN_DICT},
        {"namespace", FN_NAMESPACE},   {"raise_exception", FN_RAISE},
        {"strftime_now", FN_STRFTIME}, {"lipsum", FN_UNSUPPORTED},
        {"cycler", FN_UNSUPPORTED},    {"joiner", FN_UNSUPPORTED},
    };
    int i = find_named(globals, EL_ARRAY_LEN(globals), name, len);
    if (i < 0) return false;
    *out = bound(c, globals[i].id, jv_none(), globals[i].name);
    return true;
}

/* ---- argument binding ----------------------------------------------------------------- */

/* Binds a call's arguments to parameter names like Python does. out[i] keeps the default
 * the caller put there unless the argument was given. */
static void bind(jj_ctx *c, uint32_t pos, const char *fname, const jj_args *a, int np,
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

static void no_args(jj_ctx *c, uint32_t pos, const char *fname, const jj_args *a) {
    if (a->n || a->nkw) jj_fail(c, pos, "%s() takes no arguments", fname);
}

static jj_str *sval(jj_ctx *c, uint32_t pos, jv v) {
    return jj_to_str(c, pos, v);
}

static const jj_str *need_str(jj_ctx *c, uint32_t pos, jv v, const char *what) {
    if (v.t == JV_UNDEF) jj_undefined_error(c, pos, v);
    if (v.t != JV_STR) jj_fail(c, pos, "%s must be str, not %s", what, jj_type_name(v));
    return v.u.s;
}

static int64_t need_int(jj_ctx *c, uint32_t pos, jv v, const char *what) {
    if (v.t == JV_BOOL) return v.u.b;
    if (v.t == JV_UNDEF) jj_undefined_error(c, pos, v);
    if (v.t != JV_INT) jj_fail(c, pos, "%s must be an integer, not %s", what, jj_type_name(v));
    return v.u.i;
}

static jj_str *S(jj_ctx *c, const char *s) {
    return jj_str_cstr(c, s);
}

/* ---- case mapping --------------------------------------------------------------------- */

static pthread_once_t loc_once = PTHREAD_ONCE_INIT;
static locale_t loc_utf8;

static void loc_init(void) {
    loc_utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (!loc_utf8) loc_utf8 = newlocale(LC_CTYPE_MASK, "C.utf8", (locale_t)0);
}

static locale_t need_loc(jj_ctx *c, uint32_t pos) {
    pthread_once(&loc_once, loc_init);
    if (!loc_utf8) jj_fail(c, pos, "unsupported: non-ASCII case mapping (no C.UTF-8 locale)");
    return loc_utf8;
}

static uint32_t cp_upper(jj_ctx *c, uint32_t pos, uint32_t cp) {
    if (cp < 0x80) return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
    return (uint32_t)towupper_l((wint_t)cp, need_loc(c, pos));
}

static uint32_t cp_lower(jj_ctx *c, uint32_t pos, uint32_t cp) {
    if (cp < 0x80) return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    return (uint32_t)towlower_l((wint_t)cp, need_loc(c, pos));
}

static bool cp_cased(jj_ctx *c, uint32_t pos, uint32_t cp) {
    if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    return cp_upper(c, pos, cp) != cp || cp_lower(c, pos, cp) != cp;
}

static void put_cp(jj_ctx *c, jj_buf *b, uint32_t cp) {
    char u[4];
    jj_buf_put(c, b, u, jj_utf8_encode(cp, u));
}

static void put_upper(jj_ctx *c, uint32_t pos, jj_buf *b, uint32_t cp) {
    static const struct {
        uint32_t cp;
        const char *up;
    } special[] = {{0xDF, "SS"},    {0xFB00, "FF"},  {0xFB01, "FI"}, {0xFB02, "FL"},
                   {0xFB03, "FFI"}, {0xFB04, "FFL"}, {0xFB05, "ST"}, {0xFB06, "ST"}};
    for (size_t i = 0; i < EL_ARRAY_LEN(special); i++)
        if (special[i].cp == cp) {
            jj_buf_puts(c, b, special[i].up);
            return;
        }
    put_cp(c, b, cp_upper(c, pos, cp));
}

/* Title case (str.title(), str.capitalize()): differs from upper case for a few letters. */
static void put_title(jj_ctx *c, uint32_t pos, jj_buf *b, uint32_t cp) {
    static const struct {
        uint32_t cp;
        const char *t;
    } special[] = {{0xDF, "Ss"},    {0xFB00, "Ff"},  {0xFB01, "Fi"}, {0xFB02, "Fl"},
                   {0xFB03, "Ffi"}, {0xFB04, "Ffl"}, {0xFB05, "St"}, {0xFB06, "St"}};
    for (size_t i = 0; i < EL_ARRAY_LEN(special); i++)
        if (special[i].cp == cp) {
            jj_buf_puts(c, b, special[i].t);
            return;
        }
    /* the Latin digraphs DŽ Dž dž, LJ Lj lj, NJ Nj nj, DZ Dz dz title-case to their middle form */
    if (cp >= 0x1C4 && cp <= 0x1CC) {
        put_cp(c, b, 0x1C5 + (cp - 0x1C4) / 3 * 3);
        return;
    }
    if (cp >= 0x1F1 && cp <= 0x1F3) {
        put_cp(c, b, 0x1F2);
        return;
    }
    put_upper(c, pos, b, cp);
}

enum { CASE_UPPER, CASE_LOWER, CASE_TITLE, CASE_CAPITALIZE, CASE_JINJA_TITLE };

static bool jinja_title_sep(uint32_t cp) {
    return cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || jj_py_isspace(cp);
}

static jj_str *change_case(jj_ctx *c, uint32_t pos, const jj_str *s, int mode) {
    jj_buf b = {0};
    size_t i = 0;
    bool prev_cased = false, first = true, prev_sep = true;
    while (i < s->len) {
        size_t adv;
        uint32_t cp = jj_utf8_decode(s->s + i, s->len - i, &adv);
        bool up;
        switch (mode) {
        case CASE_UPPER:
            up = true;
            break;
        case CASE_LOWER:
            up = false;
            break;
        case CASE_CAPITALIZE:
            up = first;
            break;
        case CASE_JINJA_TITLE: {
            /* Jinja's do_title: each piece of re.split(r"([-\s({\[<]+)") gets
             * piece[0].upper() + piece[1:].lower() */
            bool sep = jinja_title_sep(cp);
            up = first || sep != prev_sep;
            prev_sep = sep;
            break;
        }
        default: /* str.title() */
            up = !prev_cased;
            prev_cased = cp_cased(c, pos, cp);
            break;
        }
        first = false;
        if (up && (mode == CASE_TITLE || mode == CASE_CAPITALIZE)) {
            put_title(c, pos, &b, cp);
        } else if (up) {
            put_upper(c, pos, &b, cp);
        } else if (cp == 0x130) {
            jj_buf_puts(c, &b, "i\xcc\x87");
        } else if (cp == 0x3A3) {
            /* final sigma: preceded by a cased letter and not followed by one */
            bool before = i > 0, after = false;
            size_t j = i + adv;
            while (j < s->len) {
                size_t a2;
                uint32_t n = jj_utf8_decode(s->s + j, s->len - j, &a2);
                after = cp_cased(c, pos, n);
                break;
            }
            if (before) {
                size_t k = i;
                while (k > 0 && ((unsigned char)s->s[k - 1] & 0xC0) == 0x80)
                    k--;
                if (k > 0) {
                    size_t st = k - 1;
                    while (st > 0 && ((unsigned char)s->s[st] & 0xC0) == 0x80)
                        st--;
                    size_t a3;
                    before = cp_cased(c, pos, jj_utf8_decode(s->s + st, k - st, &a3));
                }
            }
            put_cp(c, &b, before && !after ? 0x3C2 : 0x3C3);
        } else {
            put_cp(c, &b, cp_lower(c, pos, cp));
        }
        i += adv;
    }
    return jj_buf_str(c, &b);
}

/* ---- string helpers ------------------------------------------------------------------- */

static bool cp_in(uint32_t cp, const jj_str *chars) {
    size_t i = 0;
    while (i < chars->len) {
        size_t adv;
        if (jj_utf8_decode(chars->s + i, chars->len - i, &adv) == cp) return true;
        i += adv;
    }
    return false;
}

/* strip (both, left, right) by whitespace (chars NULL) or a set of code points */
static jj_str *strip(jj_ctx *c, const jj_str *s, const jj_str *chars, bool left, bool right) {
    size_t a = 0, b = s->len;
    if (left) {
        while (a < b) {
            size_t adv;
            uint32_t cp = jj_utf8_decode(s->s + a, b - a, &adv);
            if (chars ? !cp_in(cp, chars) : !jj_py_isspace(cp)) break;
            a += adv;
        }
    }
    if (right) {
        while (b > a) {
            size_t st = b - 1;
            while (st > a && ((unsigned char)s->s[st] & 0xC0) == 0x80)
                st--;
            size_t adv;
            uint32_t cp = jj_utf8_decode(s->s + st, b - st, &adv);
            if (chars ? !cp_in(cp, chars) : !jj_py_isspace(cp)) break;
            b = st;
        }
    }
    if (a == 0 && b == s->len) return (jj_str *)s;
    return jj_str_new(c, s->s + a, b - a);
}

static jv strip_method(jj_ctx *c, uint32_t pos, const jj_str *s, const jj_args *a, const char *name,
                       bool left, bool right) {
    static const char *const names[] = {"chars"};
    jv chars = jv_none();
    bind(c, pos, name, a, 1, names, &chars);
    const jj_str *set = NULL;
    if (chars.t != JV_NONE) set = need_str(c, pos, chars, "strip arg");
    return jv_str(strip(c, s, set, left, right));
}

static const char *find_bytes(const char *h, size_t hn, const char *n, size_t nn) {
    if (nn == 0) return h;
    return memmem(h, hn, n, nn);
}

static const char *rfind_bytes(const char *h, size_t hn, const char *n, size_t nn) {
    if (nn > hn) return NULL;
    for (size_t i = hn - nn + 1; i-- > 0;)
        if (memcmp(h + i, n, nn) == 0) return h + i;
    return NULL;
}

static jv split_method(jj_ctx *c, uint32_t pos, const jj_str *s, const jj_args *a, bool rev) {
    static const char *const names[] = {"sep", "maxsplit"};
    jv args[2] = {jv_none(), jv_int(-1)};
    bind(c, pos, rev ? "rsplit" : "split", a, 2, names, args);
    int64_t maxsplit = need_int(c, pos, args[1], "maxsplit");
    if (maxsplit < 0) maxsplit = INT64_MAX;
    jj_list *out = jj_list_new(c, 0, JL_LIST);
    if (args[0].t == JV_NONE) {
        /* runs of whitespace; empty pieces dropped */
        jj_list *tmp = jj_list_new(c, 0, JL_LIST);
        if (!rev) {
            size_t i = 0;
            int64_t done = 0;
            for (;;) {
                while (i < s->len) {
                    size_t adv;
                    if (!jj_py_isspace(jj_utf8_decode(s->s + i, s->len - i, &adv))) break;
                    i += adv;
                }
                if (i >= s->len) break;
                if (done == maxsplit) {
                    jj_list_push(c, out, jv_str(jj_str_new(c, s->s + i, s->len - i)));
                    break;
                }
                size_t st = i;
                while (i < s->len) {
                    size_t adv;
                    if (jj_py_isspace(jj_utf8_decode(s->s + i, s->len - i, &adv))) break;
                    i += adv;
                }
                jj_list_push(c, out, jv_str(jj_str_new(c, s->s + st, i - st)));
                done++;
            }
            return jv_list(out);
        }
        size_t e = s->len;
        int64_t done = 0;
        for (;;) {
            while (e > 0) {
                size_t st = e - 1;
                while (st > 0 && ((unsigned char)s->s[st] & 0xC0) == 0x80)
                    st--;
                size_t adv;
                if (!jj_py_isspace(jj_utf8_decode(s->s + st, e - st, &adv))) break;
                e = st;
            }
            if (e == 0) break;
            if (done == maxsplit) {
                jj_list_push(c, tmp, jv_str(jj_str_new(c, s->s, e)));
                break;
            }
            size_t b = e;
            while (b > 0) {
                size_t st = b - 1;
                while (st > 0 && ((unsigned char)s->s[st] & 0xC0) == 0x80)
                    st--;
                size_t adv;
                if (jj_py_isspace(jj_utf8_decode(s->s + st, b - st, &adv))) break;
                b = st;
            }
            jj_list_push(c, tmp, jv_str(jj_str_new(c, s->s + b, e - b)));
            e = b;
            done++;
        }
        for (size_t i = tmp->n; i-- > 0;)
            jj_list_push(c, out, tmp->v[i]);
        return jv_list(out);
    }
    const jj_str *sep = need_str(c, pos, args[0], "separator");
    if (sep->len == 0) jj_fail(c, pos, "empty separator");
    if (!rev) {
        size_t i = 0;
        int64_t done = 0;
        const char *hit;
        while (done < maxsplit && (hit = find_bytes(s->s + i, s->len - i, sep->s, sep->len))) {
            size_t at = (size_t)(hit - s->s);
            jj_list_push(c, out, jv_str(jj_str_new(c, s->s + i, at - i)));
            i = at + sep->len;
            done++;
        }
        jj_list_push(c, out, jv_str(jj_str_new(c, s->s + i, s->len - i)));
        return jv_list(out);
    }
    jj_list *tmp = jj_list_new(c, 0, JL_LIST);
    size_t e = s->len;
    int64_t done = 0;
    const char *hit;
    while (done < maxsplit && (hit = rfind_bytes(s->s, e, sep->s, sep->len))) {
        size_t at = (size_t)(hit - s->s);
        jj_list_push(c, tmp, jv_str(jj_str_new(c, s->s + at + sep->len, e - at - sep->len)));
        e = at;
        done++;
    }
    jj_list_push(c, tmp, jv_str(jj_str_new(c, s->s, e)));
    for (size_t i = tmp->n; i-- > 0;)
        jj_list_push(c, out, tmp->v[i]);
    return jv_list(out);
}

static bool is_line_break(uint32_t cp) {
    return cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || cp == 0x1C || cp == 0x1D ||
           cp == 0x1E || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

static jj_list *splitlines(jj_ctx *c, const jj_str *s, bool keepends) {
    jj_list *out = jj_list_new(c, 0, JL_LIST);
    size_t i = 0, st = 0;
    while (i < s->len) {
        size_t adv;
        uint32_t cp = jj_utf8_decode(s->s + i, s->len - i, &adv);
        if (is_line_break(cp)) {
            size_t end = i + adv;
            if (cp == '\r' && end < s->len && s->s[end] == '\n') end++;
            jj_list_push(c, out, jv_str(jj_str_new(c, s->s + st, (keepends ? end : i) - st)));
            i = st = end;
        } else {
            i += adv;
        }
    }
    if (st < s->len) jj_list_push(c, out, jv_str(jj_str_new(c, s->s + st, s->len - st)));
    return out;
}

static jj_str *replace(jj_ctx *c, const jj_str *s, const jj_str *old, const jj_str *new_,
                       int64_t count) {
    if (count < 0) count = INT64_MAX;
    jj_buf b = {0};
    if (old->len == 0) {
        size_t i = 0;
        int64_t done = 0;
        for (;;) {
            if (done < count) {
                jj_buf_put(c, &b, new_->s, new_->len);
                done++;
            }
            if (i >= s->len) break;
            size_t adv;
            jj_utf8_decode(s->s + i, s->len - i, &adv);
            jj_buf_put(c, &b, s->s + i, adv);
            i += adv;
        }
        return jj_buf_str(c, &b);
    }
    size_t i = 0;
    int64_t done = 0;
    const char *hit;
    while (done < count && (hit = find_bytes(s->s + i, s->len - i, old->s, old->len))) {
        size_t at = (size_t)(hit - s->s);
        jj_buf_put(c, &b, s->s + i, at - i);
        jj_buf_put(c, &b, new_->s, new_->len);
        i = at + old->len;
        done++;
    }
    jj_buf_put(c, &b, s->s + i, s->len - i);
    return jj_buf_str(c, &b);
}

/* Byte range of s[start:end] with Python's clamping of code-point indices. */
static void sub_range(jj_ctx *c, uint32_t pos, const jj_str *s, jv start, jv end, size_t *a,
                      size_t *b) {
    int64_t n = (int64_t)s->ncp;
    int64_t st = start.t == JV_NONE ? 0 : need_int(c, pos, start, "start");
    int64_t en = end.t == JV_NONE ? n : need_int(c, pos, end, "end");
    if (st < 0) st = st + n < 0 ? 0 : st + n;
    if (en < 0) en = en + n < 0 ? 0 : en + n;
    if (st > n) st = n;
    if (en > n) en = n;
    if (en < st) en = st;
    *a = jj_cp_offset(s, (size_t)st);
    *b = jj_cp_offset(s, (size_t)en);
}

static jv find_method(jj_ctx *c, uint32_t pos, const jj_str *s, const jj_args *a, int id) {
    static const char *const names[] = {"sub", "start", "end"};
    jv args[3] = {jv_undef(NULL), jv_none(), jv_none()};
    const char *fname = id == FN_S_FIND     ? "find"
                        : id == FN_S_RFIND  ? "rfind"
                        : id == FN_S_INDEX  ? "index"
                        : id == FN_S_RINDEX ? "rindex"
                                            : "count";
    bind(c, pos, fname, a, 3, names, args);
    const jj_str *sub = need_str(c, pos, args[0], "substring");
    size_t lo, hi;
    int64_t n = (int64_t)s->ncp;
    int64_t st = args[1].t == JV_NONE ? 0 : need_int(c, pos, args[1], "start");
    if (st < 0) st += n;
    if (st > n) {
        /* Python: a start beyond the end finds nothing (even the empty string) */
        if (id == FN_S_COUNT) return jv_int(0);
        if (id == FN_S_INDEX || id == FN_S_RINDEX) jj_fail(c, pos, "substring not found");
        return jv_int(-1);
    }
    sub_range(c, pos, s, args[1], args[2], &lo, &hi);
    if (id == FN_S_COUNT) {
        if (sub->len == 0) return jv_int((int64_t)jj_utf8_count(s->s + lo, hi - lo) + 1);
        int64_t k = 0;
        size_t i = lo;
        const char *hit;
        while ((hit = find_bytes(s->s + i, hi - i, sub->s, sub->len))) {
            k++;
            i = (size_t)(hit - s->s) + sub->len;
        }
        return jv_int(k);
    }
    const char *hit = id == FN_S_FIND || id == FN_S_INDEX
                          ? find_bytes(s->s + lo, hi - lo, sub->s, sub->len)
                          : rfind_bytes(s->s + lo, hi - lo, sub->s, sub->len);
    if (!hit) {
        if (id == FN_S_INDEX || id == FN_S_RINDEX) jj_fail(c, pos, "substring not found");
        return jv_int(-1);
    }
    return jv_int((int64_t)jj_utf8_count(s->s, (size_t)(hit - s->s)));
}

static bool affix_match(jj_ctx *c, uint32_t pos, const jj_str *s, size_t lo, size_t hi, jv aff,
                        bool end) {
    const jj_str *x = need_str(c, pos, aff, end ? "endswith arg" : "startswith arg");
    if (x->len > hi - lo) return false;
    return memcmp(s->s + (end ? hi - x->len : lo), x->s, x->len) == 0;
}

static jv affix_method(jj_ctx *c, uint32_t pos, const jj_str *s, const jj_args *a, bool end) {
    static const char *const names[] = {"prefix", "start", "end"};
    jv args[3] = {jv_undef(NULL), jv_none(), jv_none()};
    bind(c, pos, end ? "endswith" : "startswith", a, 3, names, args);
    if ((int64_t)s->ncp < (args[1].t == JV_NONE ? 0 : need_int(c, pos, args[1], "start")))
        return jv_bool(false);
    size_t lo, hi;
    sub_range(c, pos, s, args[1], args[2], &lo, &hi);
    if (args[0].t == JV_LIST && args[0].u.l->kind == JL_TUPLE) {
        for (size_t i = 0; i < args[0].u.l->n; i++)
            if (affix_match(c, pos, s, lo, hi, args[0].u.l->v[i], end)) return jv_bool(true);
        return jv_bool(false);
    }
    return jv_bool(affix_match(c, pos, s, lo, hi, args[0], end));
}

static jv classify(jj_ctx *c, uint32_t pos, const jj_str *s, int id) {
    if (s->len == 0) return jv_bool(false);
    bool any_cased = false;
    for (size_t i = 0; i < s->len; i++) {
        unsigned char ch = (unsigned char)s->s[i];
        if (ch >= 0x80 && id != FN_S_ISSPACE)
            jj_fail(c, pos, "unsupported: str classification of non-ASCII text");
        bool lo = ch >= 'a' && ch <= 'z', up = ch >= 'A' && ch <= 'Z';
        bool dig = ch >= '0' && ch <= '9';
        switch (id) {
        case FN_S_ISDIGIT:
            if (!dig) return jv_bool(false);
            break;
        case FN_S_ISALPHA:
            if (!lo && !up) return jv_bool(false);
            break;
        case FN_S_ISALNUM:
            if (!lo && !up && !dig) return jv_bool(false);
            break;
        case FN_S_ISLOWER:
            if (up) return jv_bool(false);
            any_cased |= lo;
            break;
        case FN_S_ISUPPER:
            if (lo) return jv_bool(false);
            any_cased |= up;
            break;
        default: { /* isspace */
            size_t adv;
            if (!jj_py_isspace(jj_utf8_decode(s->s + i, s->len - i, &adv))) return jv_bool(false);
            i += adv - 1;
        }
        }
    }
    if (id == FN_S_ISLOWER || id == FN_S_ISUPPER) return jv_bool(any_cased);
    return jv_bool(true);
}

static jv str_join(jj_ctx *c, uint32_t pos, const jj_str *sep, jv iterable) {
    const jj_list *l = jj_iterate(c, pos, iterable);
    jj_buf b = {0};
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].t != JV_STR)
            jj_fail(c, pos, "sequence item %zu: expected str instance, %s found", i,
                    jj_type_name(l->v[i]));
        if (i) jj_buf_put(c, &b, sep->s, sep->len);
        jj_buf_put(c, &b, l->v[i].u.s->s, l->v[i].u.s->len);
    }
    return jv_str(jj_buf_str(c, &b));
}

/* ---- percent formatting --------------------------------------------------------------- */

jv jj_format_percent(jj_ctx *c, uint32_t pos, const jj_str *fmt, jv args) {
    const jv *items = &args;
    size_t n = 1, used = 0;
    if (args.t == JV_LIST && args.u.l->kind == JL_TUPLE) {
        items = args.u.l->v;
        n = args.u.l->n;
    }
    jj_buf b = {0};
    for (size_t i = 0; i < fmt->len; i++) {
        char ch = fmt->s[i];
        if (ch != '%') {
            jj_buf_putc(c, &b, ch);
            continue;
        }
        if (++i >= fmt->len) jj_fail(c, pos, "incomplete format");
        char conv = fmt->s[i];
        if (conv == '%') {
            jj_buf_putc(c, &b, '%');
            continue;
        }
        if (!strchr("srdi", conv) || !conv)
            jj_fail(c, pos, "unsupported: '%%%c' in %% formatting (only %%s %%r %%d %%i)", conv);
        if (used >= n) jj_fail(c, pos, "not enough arguments for format string");
        jv v = items[used++];
        if (conv == 's') {
            jj_put_str(c, pos, &b, v);
        } else if (conv == 'r') {
            jj_put_repr(c, pos, &b, v, 0);
        } else {
            char tmp[32];
            if (v.t == JV_FLOAT) {
                if (!isfinite(v.u.f) || fabs(v.u.f) >= 9.2e18)
                    jj_fail(c, pos, "unsupported: %%d of %s", jj_type_name(v));
                v = jv_int((int64_t)v.u.f);
            }
            int64_t x = need_int(c, pos, v, "%d format");
            snprintf(tmp, sizeof tmp, "%lld", (long long)x);
            jj_buf_puts(c, &b, tmp);
        }
    }
    if (used < n) jj_fail(c, pos, "not all arguments converted during string formatting");
    return jv_str(jj_buf_str(c, &b));
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
    return v.t == JV_STR ? jv_str(change_case(c, pos, v.u.s, CASE_LOWER)) : v;
}

/* Jinja's make_attrgetter: "a.b.0" -> getitem per part (digits become ints). */
static jv attr_get(jj_ctx *c, uint32_t pos, jv item, jv attribute) {
    if (attribute.t == JV_NONE) return item;
    if (attribute.t == JV_INT) return jj_getitem(c, pos, item, attribute);
    const jj_str *a = need_str(c, pos, attribute, "attribute");
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
    return l->v[last ? l->n - 1 : 0];
}

static jj_list *copy_list(jj_ctx *c, const jj_list *l, int kind) {
    jj_list *r = jj_list_new(c, l->n, kind);
    if (l->n) memcpy(r->v, l->v, l->n * sizeof(jv));
    r->n = l->n;
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
    int64_t base = need_int(c, pos, basev, "base");
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
    int64_t prec = need_int(c, pos, precv, "precision");
    const jj_str *m = need_str(c, pos, methodv, "method");
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
    jj_str *s = sval(c, pos, sv);
    jj_str *ind;
    if (widthv.t == JV_STR) {
        ind = widthv.u.s;
    } else {
        int64_t w = need_int(c, pos, widthv, "width");
        if (w < 0) w = 0;
        if (w > 1024) jj_fail(c, pos, "unsupported: indent wider than 1024");
        char sp[1025];
        memset(sp, ' ', (size_t)w);
        ind = jj_str_new(c, sp, (size_t)w);
    }
    jj_str *nl = S(c, "\n");
    jj_list *lines = splitlines(c, jj_str_cat(c, s, nl), false);
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

static jv f_escape(jj_ctx *c, uint32_t pos, jv v) {
    jj_str *s = sval(c, pos, v);
    jj_buf b = {0};
    for (size_t i = 0; i < s->len; i++) {
        switch (s->s[i]) {
        case '&':
            jj_buf_puts(c, &b, "&amp;");
            break;
        case '<':
            jj_buf_puts(c, &b, "&lt;");
            break;
        case '>':
            jj_buf_puts(c, &b, "&gt;");
            break;
        case '"':
            jj_buf_puts(c, &b, "&#34;");
            break;
        case '\'':
            jj_buf_puts(c, &b, "&#39;");
            break;
        default:
            jj_buf_putc(c, &b, s->s[i]);
        }
    }
    return jv_str(jj_buf_str(c, &b));
}

/* select / reject / selectattr / rejectattr */
static jv f_select(jj_ctx *c, uint32_t pos, jv seq, const jj_args *a, bool attr, bool keep) {
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
        const jj_str *tn = need_str(c, pos, a->v[k], "test name");
        tname = tn->s;
        test = jj_test_id(tn->s);
        if (test == 0) jj_fail(c, pos, "no test named '%s'", tn->s);
        k++;
    }
    jj_args targs = {.n = a->n - k, .v = a->v + k};
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
    const jj_str *fname = need_str(c, pos, a->v[0], "filter name");
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
    bind(c, pos, max ? "max" : "min", a, 2, names, p);
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
    bind(c, pos, "sort", a, 3, names, p);
    const jj_list *l = jj_iterate(c, pos, seq);
    keyed *k = keyed_items(c, pos, l, p[2], jj_truthy(p[1]));
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
    bind(c, pos, "dictsort", a, 3, names, p);
    if (d.t != JV_DICT) jj_fail(c, pos, "dictsort needs a dict, not %s", jj_type_name(d));
    const jj_str *by = need_str(c, pos, p[1], "by");
    bool by_value = jj_str_eq(by, "value", 5);
    if (!by_value && !jj_str_eq(by, "key", 3))
        jj_fail(c, pos, "You can only sort by either \"key\" or \"value\"");
    size_t n = d.u.d->n;
    keyed *k = jj_alloc_n(c, n ? n : 1, sizeof *k);
    for (size_t i = 0; i < n; i++) {
        jj_list *t = jj_list_new(c, 2, JL_TUPLE);
        t->v[0] = jv_str(d.u.d->k[i]);
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
    bind(c, pos, "unique", a, 2, names, p);
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
    bind(c, pos, "sum", a, 2, names, p);
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
    bind(c, pos, "join", a, 2, names, p);
    jj_str *sep = sval(c, pos, p[0]);
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
        return jv_str(jj_str_new(c, r, s->len));
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
        t->v[0] = jv_str(v.u.d->k[i]);
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
        no_args(c, pos, "abs", a);
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
        bind(c, pos, "attr", a, 1, names, p);
        const jj_str *nm = need_str(c, pos, p[0], "attribute name");
        jv m;
        if (v.t == JV_UNDEF) return jj_undefined_error(c, pos, v);
        if (v.t == JV_NS || v.t == JV_LOOP) return jj_getattr(c, pos, v, nm->s, nm->len);
        if (jj_method(c, v, nm->s, nm->len, &m)) return m;
        return jv_undef("no such attribute");
    }
    case F_CAPITALIZE:
        no_args(c, pos, "capitalize", a);
        return jv_str(change_case(c, pos, sval(c, pos, v), CASE_CAPITALIZE));
    case F_COUNT:
    case F_LENGTH:
        no_args(c, pos, "length", a);
        return f_length(c, pos, v);
    case F_DEFAULT: {
        static const char *const names[] = {"default_value", "boolean"};
        p[0] = jv_str(S(c, ""));
        p[1] = jv_bool(false);
        bind(c, pos, "default", a, 2, names, p);
        if (v.t == JV_UNDEF || (jj_truthy(p[1]) && !jj_truthy(v))) return p[0];
        return v;
    }
    case F_DICTSORT:
        return f_dictsort(c, pos, v, a);
    case F_ESCAPE:
        no_args(c, pos, "escape", a);
        return f_escape(c, pos, v);
    case F_FIRST:
    case F_LAST:
        no_args(c, pos, id == F_FIRST ? "first" : "last", a);
        return seq_item(c, pos, v, id == F_LAST);
    case F_FLOAT: {
        static const char *const names[] = {"default"};
        p[0] = jv_float(0.0);
        bind(c, pos, "float", a, 1, names, p);
        return f_float(c, pos, v, p[0]);
    }
    case F_FORMAT: {
        if (a->nkw && a->n) jj_fail(c, pos, "can't handle positional and keyword arguments");
        if (a->nkw) jj_fail(c, pos, "unsupported: format() with keyword arguments");
        jj_list *t = jj_list_new(c, a->n, JL_TUPLE);
        for (size_t i = 0; i < a->n; i++)
            t->v[t->n++] = a->v[i];
        return jj_format_percent(c, pos, sval(c, pos, v), jv_list(t));
    }
    case F_INDENT: {
        static const char *const names[] = {"width", "first", "blank"};
        p[0] = jv_int(4);
        p[1] = jv_bool(false);
        p[2] = jv_bool(false);
        bind(c, pos, "indent", a, 3, names, p);
        return f_indent(c, pos, v, p[0], p[1], p[2]);
    }
    case F_INT: {
        static const char *const names[] = {"default", "base"};
        p[0] = jv_int(0);
        p[1] = jv_int(10);
        bind(c, pos, "int", a, 2, names, p);
        return f_int(c, pos, v, p[0], p[1]);
    }
    case F_ITEMS:
        no_args(c, pos, "items", a);
        return f_items(c, pos, v);
    case F_JOIN:
        return f_join(c, pos, v, a);
    case F_LIST:
        no_args(c, pos, "list", a);
        if (v.t == JV_NS || v.t == JV_NONE || v.t == JV_BOOL || v.t == JV_INT || v.t == JV_FLOAT)
            jj_fail(c, pos, "'%s' object is not iterable", jj_type_name(v));
        return jv_list(copy_list(c, jj_iterate(c, pos, v), JL_LIST));
    case F_LOWER:
    case F_UPPER:
    case F_TITLE:
        no_args(c, pos, name, a);
        return jv_str(change_case(c, pos, sval(c, pos, v),
                                  id == F_LOWER   ? CASE_LOWER
                                  : id == F_UPPER ? CASE_UPPER
                                                  : CASE_JINJA_TITLE));
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
        bind(c, pos, "replace", a, 3, names, p);
        jj_str *s = sval(c, pos, v);
        int64_t count = p[2].t == JV_NONE ? -1 : need_int(c, pos, p[2], "count");
        return jv_str(replace(c, s, sval(c, pos, p[0]), sval(c, pos, p[1]), count));
    }
    case F_REVERSE:
        no_args(c, pos, "reverse", a);
        return f_reverse(c, pos, v);
    case F_ROUND: {
        static const char *const names[] = {"precision", "method"};
        p[0] = jv_int(0);
        p[1] = jv_str(S(c, "common"));
        bind(c, pos, "round", a, 2, names, p);
        return f_round(c, pos, v, p[0], p[1]);
    }
    case F_SAFE:
    case F_STRING:
        no_args(c, pos, name, a);
        return jv_str(sval(c, pos, v));
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
        bind(c, pos, "tojson", a, 4, names, p);
        return f_tojson(c, pos, v, p);
    }
    case F_TRIM: {
        static const char *const names[] = {"chars"};
        p[0] = jv_none();
        bind(c, pos, "trim", a, 1, names, p);
        const jj_str *set = p[0].t == JV_NONE ? NULL : sval(c, pos, p[0]);
        return jv_str(strip(c, sval(c, pos, v), set, true, true));
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
        jj_str *s = sval(c, pos, v);
        jj_str *conv = change_case(c, pos, s, id == TS_LOWER ? CASE_LOWER : CASE_UPPER);
        jj_str *other = change_case(c, pos, s, id == TS_LOWER ? CASE_UPPER : CASE_LOWER);
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
            return v.u.s->len == 0 ||
                   memmem(arg.u.s->s, arg.u.s->len, v.u.s->s, v.u.s->len) != NULL;
        }
        if (arg.t == JV_DICT) return v.t == JV_STR && jj_dict_get(arg.u.d, v.u.s->s, v.u.s->len);
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

/* ---- globals and methods -------------------------------------------------------------- */

static jv g_range(jj_ctx *c, uint32_t pos, const jj_args *a) {
    if (a->nkw) jj_fail(c, pos, "range() takes no keyword arguments");
    if (a->n < 1 || a->n > 3) jj_fail(c, pos, "range expected 1 to 3 arguments");
    int64_t start = 0, stop, step = 1;
    if (a->n == 1) {
        stop = need_int(c, pos, a->v[0], "range() argument");
    } else {
        start = need_int(c, pos, a->v[0], "range() argument");
        stop = need_int(c, pos, a->v[1], "range() argument");
        if (a->n == 3) step = need_int(c, pos, a->v[2], "range() argument");
    }
    if (step == 0) jj_fail(c, pos, "range() arg 3 must not be zero");
    double count = step > 0 ? ceil(((double)stop - (double)start) / (double)step)
                            : ceil(((double)start - (double)stop) / (double)-step);
    if (count < 0) count = 0;
    if (count > JJ_RANGE_MAX)
        jj_fail(c, pos, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).",
                JJ_RANGE_MAX);
    size_t n = (size_t)count;
    jj_list *l = jj_list_new(c, n, JL_RANGE);
    for (size_t i = 0; i < n; i++)
        l->v[l->n++] = jv_int(start + (int64_t)i * step);
    l->rstart = start;
    l->rstop = stop;
    l->rstep = step;
    return jv_list(l);
}

/* dict(mapping_or_pairs?, **kwargs) into d */
static void fill_dict(jj_ctx *c, uint32_t pos, jj_dict *d, const jj_args *a, const char *fname) {
    if (a->n > 1) jj_fail(c, pos, "%s expected at most 1 positional argument", fname);
    if (a->n == 1) {
        jv src = a->v[0];
        if (src.t == JV_DICT) {
            for (size_t i = 0; i < src.u.d->n; i++)
                jj_dict_set(c, d, src.u.d->k[i], src.u.d->v[i]);
        } else {
            const jj_list *l = jj_iterate(c, pos, src);
            for (size_t i = 0; i < l->n; i++) {
                jv pair = l->v[i];
                if (pair.t != JV_LIST || pair.u.l->n != 2)
                    jj_fail(c, pos, "%s: sequence element %zu is not a pair", fname, i);
                if (pair.u.l->v[0].t != JV_STR)
                    jj_fail(c, pos, "unsupported: dict key of type '%s'",
                            jj_type_name(pair.u.l->v[0]));
                jj_dict_set(c, d, pair.u.l->v[0].u.s, pair.u.l->v[1]);
            }
        }
    }
    for (size_t k = 0; k < a->nkw; k++)
        jj_dict_set(c, d, a->kwn[k], a->kwv[k]);
}

static jv g_strftime(jj_ctx *c, uint32_t pos, const jj_args *a) {
    static const char *const names[] = {"format"};
    jv p[1] = {jv_undef(NULL)};
    bind(c, pos, "strftime_now", a, 1, names, p);
    const jj_str *fmt = need_str(c, pos, p[0], "format");
    struct tm tm;
    long usec = 0;
    if (c->now) {
        time_t t = (time_t)c->now;
        if (!gmtime_r(&t, &tm)) jj_fail(c, pos, "strftime_now: bad time");
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        time_t t = ts.tv_sec;
        usec = ts.tv_nsec / 1000;
        if (!localtime_r(&t, &tm)) jj_fail(c, pos, "strftime_now: bad time");
    }
    /* datetime.strftime handles %f, %z and %Z itself (a naive datetime: empty zone) */
    jj_buf f = {0};
    for (size_t i = 0; i < fmt->len; i++) {
        if (fmt->s[i] == '%' && i + 1 < fmt->len) {
            char k = fmt->s[i + 1];
            if (k == 'f') {
                char us[16];
                snprintf(us, sizeof us, "%06d", (int)(usec % 1000000));
                jj_buf_puts(c, &f, us);
                i++;
                continue;
            }
            if (k == 'z' || k == 'Z') {
                i++;
                continue;
            }
            jj_buf_putc(c, &f, '%');
            jj_buf_putc(c, &f, k);
            i++;
            continue;
        }
        jj_buf_putc(c, &f, fmt->s[i]);
    }
    jj_buf_putc(c, &f, 0);
    if (f.n > 256) jj_fail(c, pos, "strftime_now: format too long");
    char out[2048];
    out[0] = 0;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    size_t n = f.n > 1 ? strftime(out, sizeof out, f.p, &tm) : 0;
#pragma GCC diagnostic pop
    if (n == 0 && f.n > 1 && out[0]) jj_fail(c, pos, "strftime_now: result too long");
    return jv_str(jj_str_new(c, out, n));
}

jv jj_call_builtin(jj_ctx *c, uint32_t pos, jv fn, const jj_args *a) {
    const jj_bound *b = fn.u.bound;
    jv self = b->self;
    jv p[3];
    switch (fn.id) {
    case FN_UNSUPPORTED:
        jj_fail(c, pos, "unsupported function '%s'", b->name);
    case FN_RANGE:
        return g_range(c, pos, a);
    case FN_DICT: {
        jj_dict *d = jj_dict_new(c, a->nkw);
        fill_dict(c, pos, d, a, "dict");
        return jv_dict(d);
    }
    case FN_NAMESPACE: {
        jj_dict *d = jj_dict_new(c, a->nkw);
        fill_dict(c, pos, d, a, "namespace");
        jv v = {.t = JV_NS};
        v.u.d = d;
        return v;
    }
    case FN_RAISE: {
        static const char *const names[] = {"message"};
        p[0] = jv_undef(NULL);
        bind(c, pos, "raise_exception", a, 1, names, p);
        jj_fail(c, pos, "raise_exception: %s", sval(c, pos, p[0])->s);
    }
    case FN_STRFTIME:
        return g_strftime(c, pos, a);
    case FN_S_STRIP:
        return strip_method(c, pos, self.u.s, a, "strip", true, true);
    case FN_S_LSTRIP:
        return strip_method(c, pos, self.u.s, a, "lstrip", true, false);
    case FN_S_RSTRIP:
        return strip_method(c, pos, self.u.s, a, "rstrip", false, true);
    case FN_S_SPLIT:
    case FN_S_RSPLIT:
        return split_method(c, pos, self.u.s, a, fn.id == FN_S_RSPLIT);
    case FN_S_SPLITLINES: {
        static const char *const names[] = {"keepends"};
        p[0] = jv_bool(false);
        bind(c, pos, "splitlines", a, 1, names, p);
        return jv_list(splitlines(c, self.u.s, jj_truthy(p[0])));
    }
    case FN_S_STARTSWITH:
    case FN_S_ENDSWITH:
        return affix_method(c, pos, self.u.s, a, fn.id == FN_S_ENDSWITH);
    case FN_S_UPPER:
    case FN_S_LOWER:
    case FN_S_TITLE:
    case FN_S_CAPITALIZE:
        no_args(c, pos, b->name, a);
        return jv_str(change_case(c, pos, self.u.s,
                                  fn.id == FN_S_UPPER   ? CASE_UPPER
                                  : fn.id == FN_S_LOWER ? CASE_LOWER
                                  : fn.id == FN_S_TITLE ? CASE_TITLE
                                                        : CASE_CAPITALIZE));
    case FN_S_REPLACE: {
        static const char *const names[] = {"old", "new", "count"};
        p[0] = jv_undef(NULL);
        p[1] = jv_undef(NULL);
        p[2] = jv_int(-1);
        bind(c, pos, "replace", a, 3, names, p);
        return jv_str(replace(c, self.u.s, need_str(c, pos, p[0], "replace arg"),
                              need_str(c, pos, p[1], "replace arg"),
                              need_int(c, pos, p[2], "count")));
    }
    case FN_S_FIND:
    case FN_S_RFIND:
    case FN_S_INDEX:
    case FN_S_RINDEX:
    case FN_S_COUNT:
        return find_method(c, pos, self.u.s, a, fn.id);
    case FN_S_JOIN: {
        static const char *const names[] = {"iterable"};
        p[0] = jv_undef(NULL);
        bind(c, pos, "join", a, 1, names, p);
        if (p[0].t == JV_UNDEF && a->n + a->nkw == 0)
            jj_fail(c, pos, "join() takes exactly one argument");
        return str_join(c, pos, self.u.s, p[0]);
    }
    case FN_S_ISDIGIT:
    case FN_S_ISALPHA:
    case FN_S_ISALNUM:
    case FN_S_ISSPACE:
    case FN_S_ISLOWER:
    case FN_S_ISUPPER:
        no_args(c, pos, b->name, a);
        return classify(c, pos, self.u.s, fn.id);
    case FN_S_REMOVEPREFIX:
    case FN_S_REMOVESUFFIX: {
        static const char *const names[] = {"affix"};
        p[0] = jv_undef(NULL);
        bind(c, pos, b->name, a, 1, names, p);
        const jj_str *s = self.u.s, *x = need_str(c, pos, p[0], "affix");
        if (x->len > s->len) return self;
        if (fn.id == FN_S_REMOVEPREFIX)
            return memcmp(s->s, x->s, x->len) == 0
                       ? jv_str(jj_str_new(c, s->s + x->len, s->len - x->len))
                       : self;
        return x->len && memcmp(s->s + s->len - x->len, x->s, x->len) == 0
                   ? jv_str(jj_str_new(c, s->s, s->len - x->len))
                   : self;
    }
    case FN_D_ITEMS:
    case FN_D_KEYS:
    case FN_D_VALUES: {
        no_args(c, pos, b->name, a);
        const jj_dict *d = self.u.d;
        int kind = fn.id == FN_D_ITEMS ? JL_ITEMS : fn.id == FN_D_KEYS ? JL_KEYS : JL_VALUES;
        jj_list *l = jj_list_new(c, d->n, kind);
        for (size_t i = 0; i < d->n; i++) {
            if (fn.id == FN_D_ITEMS) {
                jj_list *t = jj_list_new(c, 2, JL_TUPLE);
                t->v[0] = jv_str(d->k[i]);
                t->v[1] = d->v[i];
                t->n = 2;
                l->v[l->n++] = jv_list(t);
            } else {
                l->v[l->n++] = fn.id == FN_D_KEYS ? jv_str(d->k[i]) : d->v[i];
            }
        }
        return jv_list(l);
    }
    case FN_D_GET: {
        static const char *const names[] = {"key", "default"};
        p[0] = jv_undef(NULL);
        p[1] = jv_none();
        bind(c, pos, "get", a, 2, names, p);
        if (a->n + a->nkw == 0) jj_fail(c, pos, "get expected at least 1 argument, got 0");
        if (p[0].t == JV_LIST || p[0].t == JV_DICT)
            jj_fail(c, pos, "unhashable type: '%s'", jj_type_name(p[0]));
        if (p[0].t == JV_STR) {
            jv *v = jj_dict_get(self.u.d, p[0].u.s->s, p[0].u.s->len);
            if (v) return *v;
        }
        return p[1];
    }
    case FN_D_COPY: {
        no_args(c, pos, "copy", a);
        jj_dict *d = jj_dict_new(c, self.u.d->n);
        for (size_t i = 0; i < self.u.d->n; i++)
            jj_dict_set(c, d, self.u.d->k[i], self.u.d->v[i]);
        return jv_dict(d);
    }
    case FN_L_INDEX:
    case FN_L_COUNT: {
        if (a->nkw || a->n != 1)
            jj_fail(c, pos, "%s() takes exactly one argument (unsupported: start/stop)", b->name);
        const jj_list *l = self.u.l;
        int64_t k = 0;
        for (size_t i = 0; i < l->n; i++) {
            if (!jj_equal(c, l->v[i], a->v[0], 0)) continue;
            if (fn.id == FN_L_INDEX) return jv_int((int64_t)i);
            k++;
        }
        if (fn.id == FN_L_INDEX) jj_fail(c, pos, "value is not in list");
        return jv_int(k);
    }
    case FN_L_COPY:
        no_args(c, pos, "copy", a);
        return jv_list(copy_list(c, self.u.l, JL_LIST));
    case FN_LOOP_CYCLE:
        if (a->nkw) jj_fail(c, pos, "cycle() takes no keyword arguments");
        if (a->n == 0) jj_fail(c, pos, "no items for cycling given");
        return a->v[self.u.loop->i % a->n];
    case FN_LOOP_CHANGED: {
        if (a->nkw) jj_fail(c, pos, "changed() takes no keyword arguments");
        jj_loop *lp = self.u.loop;
        jj_list *t = jj_list_new(c, a->n, JL_LIST);
        for (size_t i = 0; i < a->n; i++)
            t->v[t->n++] = a->v[i];
        jv now = jv_list(t);
        if (lp->changed_set && jj_equal(c, lp->changed_last, now, 0)) return jv_bool(false);
        lp->changed_last = now;
        lp->changed_set = true;
        return jv_bool(true);
    }
    default:
        jj_fail(c, pos, "internal: unknown function");
    }
}
