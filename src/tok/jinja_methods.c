/* tok/jinja_methods.c — the Python side of templates: str / dict / list methods, the loop
 * helpers (cycle, changed), the globals (range, dict, namespace, raise_exception,
 * strftime_now), Unicode case mapping and `%` formatting.
 *
 * What is not implemented is named in the error: a Python str method we skip (format,
 * center, ...); a sandbox-forbidden mutation (append, pop, update, ...) is, as in Jinja's
 * ImmutableSandboxedEnvironment, an Undefined that fails when used.
 * Limits admitted: case mapping of non-ASCII text uses the C library's C.UTF-8 tables plus
 * Python's few one-to-many cases (ß, ligatures, İ, final sigma, title-case digraphs);
 * str.isalpha() and friends refuse non-ASCII text rather than guess.
 * Memory: results go to the render arena; the C.UTF-8 locale object is created once.
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

static bool jinja_title_sep(uint32_t cp) {
    return cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || jj_py_isspace(cp);
}

jj_str *jj_change_case(jj_ctx *c, uint32_t pos, const jj_str *s, int mode) {
    jj_buf b = {0};
    size_t i = 0;
    bool prev_cased = false, first = true, prev_sep = true;
    while (i < s->len) {
        size_t adv;
        uint32_t cp = jj_utf8_decode(s->s + i, s->len - i, &adv);
        bool up;
        switch (mode) {
        case JJ_CASE_UPPER:
            up = true;
            break;
        case JJ_CASE_LOWER:
            up = false;
            break;
        case JJ_CASE_CAPITALIZE:
            up = first;
            break;
        case JJ_CASE_JINJA_TITLE: {
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
        if (up && (mode == JJ_CASE_TITLE || mode == JJ_CASE_CAPITALIZE)) {
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
jj_str *jj_strip(jj_ctx *c, const jj_str *s, const jj_str *chars, bool left, bool right) {
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
    jj_bind(c, pos, name, a, 1, names, &chars);
    const jj_str *set = NULL;
    if (chars.t != JV_NONE) set = jj_need_str(c, pos, chars, "strip arg");
    return jv_str(jj_strip(c, s, set, left, right));
}

/* Substring search; the bytes scanned are charged to the step budget (64 bytes a step). */
static const char *find_bytes(jj_ctx *c, const char *h, size_t hn, const char *n, size_t nn) {
    if (nn == 0) return h;
    const char *hit = memmem(h, hn, n, nn);
    jj_charge(c, ((hit ? (size_t)(hit - h) + nn : hn) >> 6) + 1);
    return hit;
}

/* Last occurrence: candidates found by their first byte; each comparison is charged, so an
 * adversarial haystack/needle pair ends at the step limit instead of taking O(n*m). */
static const char *rfind_bytes(jj_ctx *c, const char *h, size_t hn, const char *n, size_t nn) {
    if (nn > hn) return NULL;
    if (nn == 0) return h + hn;
    size_t end = hn - nn + 1; /* candidates are h[0 .. end) */
    jj_charge(c, (hn >> 6) + 1);
    while (end > 0) {
        const char *p = memrchr(h, n[0], end);
        if (!p) return NULL;
        jj_charge(c, (nn >> 6) + 1);
        if (memcmp(p, n, nn) == 0) return p;
        end = (size_t)(p - h);
    }
    return NULL;
}

static jv split_method(jj_ctx *c, uint32_t pos, const jj_str *s, const jj_args *a, bool rev) {
    static const char *const names[] = {"sep", "maxsplit"};
    jv args[2] = {jv_none(), jv_int(-1)};
    jj_bind(c, pos, rev ? "rsplit" : "split", a, 2, names, args);
    int64_t maxsplit = jj_need_int(c, pos, args[1], "maxsplit");
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
    const jj_str *sep = jj_need_str(c, pos, args[0], "separator");
    if (sep->len == 0) jj_fail(c, pos, "empty separator");
    if (!rev) {
        size_t i = 0;
        int64_t done = 0;
        const char *hit;
        while (done < maxsplit && (hit = find_bytes(c, s->s + i, s->len - i, sep->s, sep->len))) {
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
    while (done < maxsplit && (hit = rfind_bytes(c, s->s, e, sep->s, sep->len))) {
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

jj_list *jj_splitlines(jj_ctx *c, const jj_str *s, bool keepends) {
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

jj_str *jj_replace(jj_ctx *c, const jj_str *s, const jj_str *old, const jj_str *new_,
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
    while (done < count && (hit = find_bytes(c, s->s + i, s->len - i, old->s, old->len))) {
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
    int64_t st = start.t == JV_NONE ? 0 : jj_need_int(c, pos, start, "start");
    int64_t en = end.t == JV_NONE ? n : jj_need_int(c, pos, end, "end");
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
    jj_bind(c, pos, fname, a, 3, names, args);
    const jj_str *sub = jj_need_str(c, pos, args[0], "substring");
    size_t lo, hi;
    int64_t n = (int64_t)s->ncp;
    int64_t st = args[1].t == JV_NONE ? 0 : jj_need_int(c, pos, args[1], "start");
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
        while ((hit = find_bytes(c, s->s + i, hi - i, sub->s, sub->len))) {
            k++;
            i = (size_t)(hit - s->s) + sub->len;
        }
        return jv_int(k);
    }
    const char *hit = id == FN_S_FIND || id == FN_S_INDEX
                          ? find_bytes(c, s->s + lo, hi - lo, sub->s, sub->len)
                          : rfind_bytes(c, s->s + lo, hi - lo, sub->s, sub->len);
    if (!hit) {
        if (id == FN_S_INDEX || id == FN_S_RINDEX) jj_fail(c, pos, "substring not found");
        return jv_int(-1);
    }
    return jv_int((int64_t)jj_utf8_count(s->s, (size_t)(hit - s->s)));
}

static bool affix_match(jj_ctx *c, uint32_t pos, const jj_str *s, size_t lo, size_t hi, jv aff,
                        bool end) {
    const jj_str *x = jj_need_str(c, pos, aff, end ? "endswith arg" : "startswith arg");
    if (x->len > hi - lo) return false;
    return memcmp(s->s + (end ? hi - x->len : lo), x->s, x->len) == 0;
}

static jv affix_method(jj_ctx *c, uint32_t pos, const jj_str *s, const jj_args *a, bool end) {
    static const char *const names[] = {"prefix", "start", "end"};
    jv args[3] = {jv_undef(NULL), jv_none(), jv_none()};
    jj_bind(c, pos, end ? "endswith" : "startswith", a, 3, names, args);
    if ((int64_t)s->ncp < (args[1].t == JV_NONE ? 0 : jj_need_int(c, pos, args[1], "start")))
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

jj_str *jj_html_escape(jj_ctx *c, const jj_str *s) {
    if (!strpbrk(s->s, "&<>'\"")) return (jj_str *)s;
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
    return jj_buf_str(c, &b);
}

jv jj_escape(jj_ctx *c, uint32_t pos, jv v) {
    if (v.t == JV_STR && v.mk) return v;
    return jv_markup(jj_html_escape(c, jj_to_str(c, pos, v)));
}

jv jj_format_percent(jj_ctx *c, uint32_t pos, const jj_str *fmt, jv args, bool markup) {
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
        if (conv == 's' || conv == 'r') {
            jj_buf tmp = {0};
            if (conv == 's')
                jj_put_str(c, pos, &tmp, v);
            else
                jj_put_repr(c, pos, &tmp, v, 0);
            jj_str *t = jj_buf_str(c, &tmp);
            /* Markup.__mod__ escapes each argument (a Markup argument stays as it is) */
            if (markup && !(conv == 's' && v.t == JV_STR && v.mk)) t = jj_html_escape(c, t);
            jj_buf_put(c, &b, t->s, t->len);
        } else {
            char tmp[32];
            if (v.t == JV_FLOAT) {
                if (!isfinite(v.u.f) || fabs(v.u.f) >= 9.2e18)
                    jj_fail(c, pos, "unsupported: %%d of %s", jj_type_name(v));
                v = jv_int((int64_t)v.u.f);
            }
            int64_t x = jj_need_int(c, pos, v, "%d format");
            snprintf(tmp, sizeof tmp, "%lld", (long long)x);
            jj_buf_puts(c, &b, tmp);
        }
    }
    if (used < n) jj_fail(c, pos, "not all arguments converted during string formatting");
    jj_str *r = jj_buf_str(c, &b);
    return markup ? jv_markup(r) : jv_str(r);
}

/* A str method called on a Markup (markupsafe 2.1): the case/strip/replace family escapes
 * its string arguments and returns a Markup, split and friends return lists of Markup, join
 * escapes the items; the rest behave as on a plain str. */
static jv markup_method(jj_ctx *c, uint32_t pos, jv fn, const jj_args *a) {
    const jj_bound *b = fn.u.bound;
    jv plain = b->self;
    plain.mk = 0;
    jv pfn = bound(c, fn.id, plain, b->name);
    switch (fn.id) {
    case FN_S_STRIP:
    case FN_S_LSTRIP:
    case FN_S_RSTRIP:
    case FN_S_REPLACE:
    case FN_S_UPPER:
    case FN_S_LOWER:
    case FN_S_TITLE:
    case FN_S_CAPITALIZE: {
        jv *v = jj_alloc_n(c, a->n + 1, sizeof(jv));
        jv *kv = jj_alloc_n(c, a->nkw + 1, sizeof(jv));
        for (size_t i = 0; i < a->n; i++)
            v[i] = a->v[i].t == JV_STR ? jj_escape(c, pos, a->v[i]) : a->v[i];
        for (size_t i = 0; i < a->nkw; i++)
            kv[i] = a->kwv[i].t == JV_STR ? jj_escape(c, pos, a->kwv[i]) : a->kwv[i];
        jj_args esc = {.n = a->n, .v = v, .nkw = a->nkw, .kwn = a->kwn, .kwv = kv};
        jv r = jj_call_builtin(c, pos, pfn, &esc);
        r.mk = 1;
        return r;
    }
    case FN_S_SPLIT:
    case FN_S_RSPLIT:
    case FN_S_SPLITLINES: {
        jv r = jj_call_builtin(c, pos, pfn, a);
        for (size_t i = 0; i < r.u.l->n; i++)
            r.u.l->v[i].mk = 1;
        return r;
    }
    case FN_S_JOIN: {
        if (a->n != 1 || a->nkw) jj_fail(c, pos, "join() takes exactly one argument");
        const jj_list *l = jj_iterate(c, pos, a->v[0]);
        jj_list *e = jj_list_new(c, l->n, JL_LIST);
        for (size_t i = 0; i < l->n; i++)
            e->v[e->n++] = jj_escape(c, pos, l->v[i]);
        jv arg = jv_list(e);
        jj_args ea = {.n = 1, .v = &arg};
        jv r = jj_call_builtin(c, pos, pfn, &ea);
        r.mk = 1;
        return r;
    }
    default:
        return jj_call_builtin(c, pos, pfn, a);
    }
}

/* ---- globals and methods -------------------------------------------------------------- */

static jv g_range(jj_ctx *c, uint32_t pos, const jj_args *a) {
    if (a->nkw) jj_fail(c, pos, "range() takes no keyword arguments");
    if (a->n < 1 || a->n > 3) jj_fail(c, pos, "range expected 1 to 3 arguments");
    int64_t start = 0, stop, step = 1;
    if (a->n == 1) {
        stop = jj_need_int(c, pos, a->v[0], "range() argument");
    } else {
        start = jj_need_int(c, pos, a->v[0], "range() argument");
        stop = jj_need_int(c, pos, a->v[1], "range() argument");
        if (a->n == 3) step = jj_need_int(c, pos, a->v[2], "range() argument");
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
                jj_dict_put(c, pos, d, src.u.d->k[i], src.u.d->v[i]);
        } else {
            const jj_list *l = jj_iterate(c, pos, src);
            for (size_t i = 0; i < l->n; i++) {
                jv pair = l->v[i];
                if (pair.t != JV_LIST || pair.u.l->n != 2)
                    jj_fail(c, pos, "%s: sequence element %zu is not a pair", fname, i);
                jj_dict_put(c, pos, d, pair.u.l->v[0], pair.u.l->v[1]);
            }
        }
    }
    for (size_t k = 0; k < a->nkw; k++)
        jj_dict_set(c, d, a->kwn[k], a->kwv[k]);
}

static jv g_strftime(jj_ctx *c, uint32_t pos, const jj_args *a) {
    static const char *const names[] = {"format"};
    jv p[1] = {jv_undef(NULL)};
    jj_bind(c, pos, "strftime_now", a, 1, names, p);
    const jj_str *fmt = jj_need_str(c, pos, p[0], "format");
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
    if (self.t == JV_STR && self.mk) return markup_method(c, pos, fn, a);
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
        jj_bind(c, pos, "raise_exception", a, 1, names, p);
        jj_fail(c, pos, "raise_exception: %s", jj_to_str(c, pos, p[0])->s);
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
        jj_bind(c, pos, "splitlines", a, 1, names, p);
        return jv_list(jj_splitlines(c, self.u.s, jj_truthy(p[0])));
    }
    case FN_S_STARTSWITH:
    case FN_S_ENDSWITH:
        return affix_method(c, pos, self.u.s, a, fn.id == FN_S_ENDSWITH);
    case FN_S_UPPER:
    case FN_S_LOWER:
    case FN_S_TITLE:
    case FN_S_CAPITALIZE:
        jj_no_args(c, pos, b->name, a);
        return jv_str(jj_change_case(c, pos, self.u.s,
                                     fn.id == FN_S_UPPER   ? JJ_CASE_UPPER
                                     : fn.id == FN_S_LOWER ? JJ_CASE_LOWER
                                     : fn.id == FN_S_TITLE ? JJ_CASE_TITLE
                                                           : JJ_CASE_CAPITALIZE));
    case FN_S_REPLACE: {
        static const char *const names[] = {"old", "new", "count"};
        p[0] = jv_undef(NULL);
        p[1] = jv_undef(NULL);
        p[2] = jv_int(-1);
        jj_bind(c, pos, "replace", a, 3, names, p);
        return jv_str(jj_replace(c, self.u.s, jj_need_str(c, pos, p[0], "replace arg"),
                                 jj_need_str(c, pos, p[1], "replace arg"),
                                 jj_need_int(c, pos, p[2], "count")));
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
        jj_bind(c, pos, "join", a, 1, names, p);
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
        jj_no_args(c, pos, b->name, a);
        return classify(c, pos, self.u.s, fn.id);
    case FN_S_REMOVEPREFIX:
    case FN_S_REMOVESUFFIX: {
        static const char *const names[] = {"affix"};
        p[0] = jv_undef(NULL);
        jj_bind(c, pos, b->name, a, 1, names, p);
        const jj_str *s = self.u.s, *x = jj_need_str(c, pos, p[0], "affix");
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
        jj_no_args(c, pos, b->name, a);
        const jj_dict *d = self.u.d;
        int kind = fn.id == FN_D_ITEMS ? JL_ITEMS : fn.id == FN_D_KEYS ? JL_KEYS : JL_VALUES;
        jj_list *l = jj_list_new(c, d->n, kind);
        for (size_t i = 0; i < d->n; i++) {
            if (fn.id == FN_D_ITEMS) {
                jj_list *t = jj_list_new(c, 2, JL_TUPLE);
                t->v[0] = d->k[i];
                t->v[1] = d->v[i];
                t->n = 2;
                l->v[l->n++] = jv_list(t);
            } else {
                l->v[l->n++] = fn.id == FN_D_KEYS ? d->k[i] : d->v[i];
            }
        }
        return jv_list(l);
    }
    case FN_D_GET: {
        static const char *const names[] = {"key", "default"};
        p[0] = jv_undef(NULL);
        p[1] = jv_none();
        jj_bind(c, pos, "get", a, 2, names, p);
        if (a->n + a->nkw == 0) jj_fail(c, pos, "get expected at least 1 argument, got 0");
        if (p[0].t == JV_LIST || p[0].t == JV_DICT)
            jj_fail(c, pos, "unhashable type: '%s'", jj_type_name(p[0]));
        jv *v = jj_dict_find(c, self.u.d, p[0]);
        if (v) return *v;
        return p[1];
    }
    case FN_D_COPY: {
        jj_no_args(c, pos, "copy", a);
        jj_dict *d = jj_dict_new(c, self.u.d->n);
        for (size_t i = 0; i < self.u.d->n; i++)
            jj_dict_put(c, pos, d, self.u.d->k[i], self.u.d->v[i]);
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
        jj_no_args(c, pos, "copy", a);
        return jv_list(jj_list_copy(c, self.u.l, JL_LIST));
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
