/* tok/jinja_value.c — the value layer of the chat-template interpreter: the arena everything
 * lives in, UTF-8 strings, containers, and Python's view of values (truthiness, ==, str(),
 * repr(), json.dumps as transformers' `tojson` calls it, json.loads for inputs).
 *
 * Invariants: every jj_str is valid UTF-8 and NUL-terminated, and knows its code-point
 * count (so ASCII strings index in O(1)); dict keys are strings, unique, insertion-ordered.
 * Memory: nothing here is freed individually; jj_arena_free drops a whole arena. Buffers
 * double inside the arena, so a buffer wastes at most its own final size.
 * Limits admitted: dict lookup is linear (chat-template dicts are small); printing floats
 * relies on the C library's correctly rounded printf/strtod (glibc's are).
 */
#include "tok/jinja.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors --------------------------------------------------------------------------- */

void jj_fail(jj_ctx *c, uint32_t pos, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (pos != JJ_NOPOS && c->src && pos <= c->srclen) {
        unsigned line = 1, col = 1;
        for (size_t i = 0; i < pos; i++) {
            unsigned char ch = (unsigned char)c->src[i];
            if (ch == '\n') {
                line++;
                col = 1;
            } else if ((ch & 0xC0) != 0x80) {
                col++;
            }
        }
        el_errf(c->err, c->errlen, "template %u:%u: %s", line, col, msg);
    } else {
        el_errf(c->err, c->errlen, "template: %s", msg);
    }
    longjmp(c->jb, 1);
}

void jj_charge(jj_ctx *c, uint64_t n) {
    if (!c->lim.max_steps) return;
    c->steps += n;
    if (c->steps > c->lim.max_steps)
        jj_fail(c, JJ_NOPOS, "template exceeded %llu evaluation steps",
                (unsigned long long)c->lim.max_steps);
}

/* ---- arena ---------------------------------------------------------------------------- */

struct jj_chunk {
    jj_chunk *next;
    size_t cap, used;
    max_align_t data[];
};

#define JJ_CHUNK_MIN ((size_t)64 << 10)

void *jj_alloc(jj_ctx *c, size_t n) {
    jj_arena *a = c->arena;
    if (n > SIZE_MAX / 2) jj_fail(c, JJ_NOPOS, "allocation too large");
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    jj_chunk *h = a->head;
    if (!h || h->cap - h->used < n) {
        size_t cap = n > JJ_CHUNK_MIN ? n : JJ_CHUNK_MIN;
        if (a->total + cap + sizeof(jj_chunk) > a->budget)
            jj_fail(c, JJ_NOPOS, "template needs more than %zu MiB of memory", a->budget >> 20);
        jj_chunk *k = calloc(1, sizeof(jj_chunk) + cap);
        if (!k) jj_fail(c, JJ_NOPOS, "out of memory");
        k->cap = cap;
        a->total += cap + sizeof(jj_chunk);
        if (h && h->cap - h->used >= JJ_CHUNK_MIN / 4 && cap > JJ_CHUNK_MIN) {
            /* a big one-off block: keep filling the current chunk afterwards */
            k->next = h->next;
            h->next = k;
            k->used = n;
            return k->data;
        }
        k->next = h;
        a->head = h = k;
    }
    void *p = (char *)h->data + h->used;
    h->used += n;
    return p;
}

void *jj_alloc_n(jj_ctx *c, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) jj_fail(c, JJ_NOPOS, "allocation too large");
    return jj_alloc(c, n * size);
}

void jj_arena_free(jj_arena *a) {
    jj_chunk *k = a->head;
    while (k) {
        jj_chunk *next = k->next;
        free(k);
        k = next;
    }
    a->head = NULL;
    a->total = 0;
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

size_t jj_utf8_count(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

uint32_t jj_utf8_decode(const char *s, size_t len, size_t *adv) {
    const unsigned char *u = (const unsigned char *)s;
    int n = el_utf8_len(u[0]);
    if (n == 0 || (size_t)n > len) {
        *adv = 1;
        return u[0];
    }
    uint32_t cp = n == 1 ? u[0] : n == 2 ? u[0] & 0x1F : n == 3 ? u[0] & 0x0F : u[0] & 0x07;
    for (int i = 1; i < n; i++)
        cp = (cp << 6) | (u[i] & 0x3F);
    *adv = (size_t)n;
    return cp;
}

size_t jj_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t jj_cp_offset(const jj_str *s, size_t cpi) {
    if (s->ncp == s->len) return cpi < s->len ? cpi : s->len;
    size_t i = 0, k = 0;
    while (i < s->len && k < cpi) {
        i++;
        while (i < s->len && ((unsigned char)s->s[i] & 0xC0) == 0x80)
            i++;
        k++;
    }
    return i;
}

/* Python's str.isspace() set. */
bool jj_py_isspace(uint32_t cp) {
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C);
    if (cp < 0x85) return false;
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* ---- strings and buffers -------------------------------------------------------------- */

jj_str *jj_str_new(jj_ctx *c, const char *s, size_t len) {
    if (len > SIZE_MAX - sizeof(jj_str) - 1) jj_fail(c, JJ_NOPOS, "string too large");
    jj_str *r = jj_alloc(c, sizeof(jj_str) + len + 1);
    r->len = len;
    if (len) memcpy(r->s, s, len);
    r->s[len] = 0;
    r->ncp = jj_utf8_count(r->s, len);
    return r;
}

jj_str *jj_str_cstr(jj_ctx *c, const char *s) {
    return jj_str_new(c, s, strlen(s));
}

jj_str *jj_str_cat(jj_ctx *c, const jj_str *a, const jj_str *b) {
    if (a->len > SIZE_MAX / 2 - b->len) jj_fail(c, JJ_NOPOS, "string too large");
    if (c->lim.max_out && a->len + b->len > c->lim.max_out)
        jj_fail(c, JJ_NOPOS, "string longer than %zu bytes", c->lim.max_out);
    jj_str *r = jj_alloc(c, sizeof(jj_str) + a->len + b->len + 1);
    r->len = a->len + b->len;
    r->ncp = a->ncp + b->ncp;
    memcpy(r->s, a->s, a->len);
    memcpy(r->s + a->len, b->s, b->len);
    r->s[r->len] = 0;
    return r;
}

bool jj_str_eq(const jj_str *a, const char *s, size_t len) {
    return a->len == len && memcmp(a->s, s, len) == 0;
}

void jj_buf_put(jj_ctx *c, jj_buf *b, const char *s, size_t n) {
    if (n == 0) return;
    if (n > SIZE_MAX / 4 || b->n > SIZE_MAX / 4) jj_fail(c, JJ_NOPOS, "output too large");
    size_t need = b->n + n;
    if (c->lim.max_out && need > c->lim.max_out)
        jj_fail(c, JJ_NOPOS, "output longer than %zu bytes", c->lim.max_out);
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < need)
            cap *= 2;
        char *p = jj_alloc(c, cap);
        if (b->n) memcpy(p, b->p, b->n);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n = need;
}

void jj_buf_puts(jj_ctx *c, jj_buf *b, const char *s) {
    jj_buf_put(c, b, s, strlen(s));
}

void jj_buf_putc(jj_ctx *c, jj_buf *b, char ch) {
    jj_buf_put(c, b, &ch, 1);
}

jj_str *jj_buf_str(jj_ctx *c, const jj_buf *b) {
    return jj_str_new(c, b->p, b->n);
}

/* ---- containers ----------------------------------------------------------------------- */

jj_list *jj_list_new(jj_ctx *c, size_t cap, int kind) {
    jj_list *l = jj_alloc(c, sizeof *l);
    l->kind = (uint8_t)kind;
    if (cap) {
        l->v = jj_alloc_n(c, cap, sizeof(jv));
        l->cap = cap;
    }
    return l;
}

void jj_list_push(jj_ctx *c, jj_list *l, jv v) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        jv *nv = jj_alloc_n(c, cap, sizeof(jv));
        if (l->n) memcpy(nv, l->v, l->n * sizeof(jv));
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = v;
}

jj_list *jj_list_copy(jj_ctx *c, const jj_list *l, int kind) {
    jj_list *r = jj_list_new(c, l->n, kind);
    if (l->n) memcpy(r->v, l->v, l->n * sizeof(jv));
    r->n = l->n;
    return r;
}

jj_dict *jj_dict_new(jj_ctx *c, size_t cap) {
    jj_dict *d = jj_alloc(c, sizeof *d);
    if (cap) {
        d->k = jj_alloc_n(c, cap, sizeof(jv));
        d->v = jj_alloc_n(c, cap, sizeof(jv));
        d->cap = cap;
    }
    return d;
}

jv *jj_dict_get(const jj_dict *d, const char *k, size_t klen) {
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].t == JV_STR && jj_str_eq(d->k[i].u.s, k, klen)) return &d->v[i];
    return NULL;
}

bool jj_hashable(jv v) {
    return v.t == JV_STR || v.t == JV_INT || v.t == JV_FLOAT || v.t == JV_BOOL || v.t == JV_NONE;
}

jv *jj_dict_find(jj_ctx *c, const jj_dict *d, jv key) {
    if (key.t == JV_STR) return jj_dict_get(d, key.u.s->s, key.u.s->len);
    if (!jj_hashable(key)) return NULL;
    for (size_t i = 0; i < d->n; i++)
        if (d->k[i].t != JV_STR && jj_equal(c, d->k[i], key, 0)) return &d->v[i];
    return NULL;
}

static void dict_append(jj_ctx *c, jj_dict *d, jv k, jv v) {
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        jv *nk = jj_alloc_n(c, cap, sizeof(jv));
        jv *nv = jj_alloc_n(c, cap, sizeof(jv));
        if (d->n) {
            memcpy(nk, d->k, d->n * sizeof(jv));
            memcpy(nv, d->v, d->n * sizeof(jv));
        }
        d->k = nk;
        d->v = nv;
        d->cap = cap;
    }
    d->k[d->n] = k;
    d->v[d->n] = v;
    d->n++;
}

void jj_dict_set(jj_ctx *c, jj_dict *d, jj_str *k, jv v) {
    jv *slot = jj_dict_get(d, k->s, k->len);
    if (slot)
        *slot = v;
    else
        dict_append(c, d, jv_str(k), v);
}

void jj_dict_put(jj_ctx *c, uint32_t pos, jj_dict *d, jv key, jv v) {
    if (!jj_hashable(key)) {
        if (key.t == JV_LIST && key.u.l->kind == JL_TUPLE)
            jj_fail(c, pos, "unsupported: tuple as a dict key");
        if (key.t == JV_LIST || key.t == JV_DICT || key.t == JV_NS)
            jj_fail(c, pos, "unhashable type: '%s'", jj_type_name(key));
        jj_fail(c, pos, "unsupported: %s as a dict key", jj_type_name(key));
    }
    jv *slot = jj_dict_find(c, d, key);
    if (slot)
        *slot = v; /* Python keeps the first key object and the last value */
    else
        dict_append(c, d, key, v);
}

/* ---- Python semantics ----------------------------------------------------------------- */

bool jj_truthy(jv v) {
    switch (v.t) {
    case JV_UNDEF:
    case JV_NONE:
        return false;
    case JV_BOOL:
        return v.u.b;
    case JV_INT:
        return v.u.i != 0;
    case JV_FLOAT:
        return v.u.f != 0.0;
    case JV_STR:
        return v.u.s->len != 0;
    case JV_LIST:
        return v.u.l->kind == JL_ITER || v.u.l->n != 0; /* a generator is always true */
    case JV_DICT:
        return v.u.d->n != 0;
    default:
        return true;
    }
}

const char *jj_type_name(jv v) {
    switch (v.t) {
    case JV_UNDEF:
        return "Undefined";
    case JV_NONE:
        return "NoneType";
    case JV_BOOL:
        return "bool";
    case JV_INT:
        return "int";
    case JV_FLOAT:
        return "float";
    case JV_STR:
        return "str";
    case JV_LIST:
        switch (v.u.l->kind) {
        case JL_TUPLE:
            return "tuple";
        case JL_ITER:
            return "generator";
        case JL_RANGE:
            return "range";
        case JL_ITEMS:
            return "dict_items";
        case JL_KEYS:
            return "dict_keys";
        case JL_VALUES:
            return "dict_values";
        default:
            return "list";
        }
    case JV_DICT:
        return "dict";
    case JV_NS:
        return "Namespace";
    case JV_FUNC:
        return "builtin_function_or_method";
    case JV_MACRO:
        return "Macro";
    case JV_LOOP:
        return "LoopContext";
    }
    return "object";
}

static bool is_num(jv v) {
    return v.t == JV_BOOL || v.t == JV_INT || v.t == JV_FLOAT;
}

static int64_t as_i64(jv v) {
    return v.t == JV_BOOL ? (int64_t)v.u.b : v.u.i;
}

/* Exact comparison of an int64 with a double (Python compares int and float exactly). */
static int cmp_int_float(int64_t i, double f) {
    if (isnan(f)) return 2; /* unordered */
    if (f >= 9223372036854775808.0) return -1;
    if (f < -9223372036854775808.0) return 1;
    double fl = floor(f);
    int64_t fi = (int64_t)fl;
    if (i < fi) return -1;
    if (i > fi) return 1;
    return fl < f ? -1 : 0;
}

/* Numeric three-way compare; 2 when unordered (NaN). */
static int num_cmp(jv a, jv b) {
    if (a.t != JV_FLOAT && b.t != JV_FLOAT) {
        int64_t x = as_i64(a), y = as_i64(b);
        return x < y ? -1 : x > y;
    }
    if (a.t == JV_FLOAT && b.t == JV_FLOAT) {
        if (isnan(a.u.f) || isnan(b.u.f)) return 2;
        return a.u.f < b.u.f ? -1 : a.u.f > b.u.f;
    }
    if (a.t == JV_FLOAT) {
        int r = cmp_int_float(as_i64(b), a.u.f);
        return r == 2 ? 2 : -r;
    }
    return cmp_int_float(as_i64(a), b.u.f);
}

bool jj_equal(jj_ctx *c, jv a, jv b, int depth) {
    jj_charge(c, 1);
    if (depth > JJ_VALUE_DEPTH) jj_fail(c, JJ_NOPOS, "values nested too deeply to compare");
    if (is_num(a) && is_num(b)) return num_cmp(a, b) == 0;
    if (a.t != b.t) return false;
    switch (a.t) {
    case JV_UNDEF:
    case JV_NONE:
        return true;
    case JV_STR:
        return a.u.s == b.u.s || jj_str_eq(a.u.s, b.u.s->s, b.u.s->len);
    case JV_LIST: {
        const jj_list *x = a.u.l, *y = b.u.l;
        if (x == y) return true;
        bool seq_x = x->kind == JL_LIST || x->kind == JL_TUPLE || x->kind == JL_RANGE;
        if (!seq_x || x->kind != y->kind || x->n != y->n) return false;
        for (size_t i = 0; i < x->n; i++)
            if (!jj_equal(c, x->v[i], y->v[i], depth + 1)) return false;
        return true;
    }
    case JV_DICT: {
        const jj_dict *x = a.u.d, *y = b.u.d;
        if (x == y) return true;
        if (x->n != y->n) return false;
        for (size_t i = 0; i < x->n; i++) {
            const jv *o = jj_dict_find(c, y, x->k[i]);
            if (!o || !jj_equal(c, x->v[i], *o, depth + 1)) return false;
        }
        return true;
    }
    case JV_FUNC:
        return a.u.bound == b.u.bound;
    default:
        return a.u.d == b.u.d; /* identity: namespace, macro, loop */
    }
}

int jj_order(jj_ctx *c, uint32_t pos, jv a, jv b) {
    jj_charge(c, 1);
    if (is_num(a) && is_num(b)) {
        int r = num_cmp(a, b);
        return r == 2 ? 2 : r;
    }
    if (a.t == JV_STR && b.t == JV_STR) {
        /* UTF-8 byte order is code-point order */
        size_t n = a.u.s->len < b.u.s->len ? a.u.s->len : b.u.s->len;
        int r = memcmp(a.u.s->s, b.u.s->s, n);
        if (r) return r < 0 ? -1 : 1;
        return a.u.s->len < b.u.s->len ? -1 : a.u.s->len > b.u.s->len;
    }
    if (a.t == JV_LIST && b.t == JV_LIST && a.u.l->kind == b.u.l->kind &&
        (a.u.l->kind == JL_LIST || a.u.l->kind == JL_TUPLE)) {
        const jj_list *x = a.u.l, *y = b.u.l;
        for (size_t i = 0; i < x->n && i < y->n; i++) {
            if (jj_equal(c, x->v[i], y->v[i], 0)) continue;
            return jj_order(c, pos, x->v[i], y->v[i]);
        }
        return x->n < y->n ? -1 : x->n > y->n;
    }
    if (a.t == JV_UNDEF) jj_undefined_error(c, pos, a);
    if (b.t == JV_UNDEF) jj_undefined_error(c, pos, b);
    jj_fail(c, pos, "'<' not supported between instances of '%s' and '%s'", jj_type_name(a),
            jj_type_name(b));
}

/* ---- number formatting ---------------------------------------------------------------- */

void jj_fmt_float(double d, char out[32]) {
    if (isnan(d)) {
        strcpy(out, "nan");
        return;
    }
    if (isinf(d)) {
        strcpy(out, d < 0 ? "-inf" : "inf");
        return;
    }
    if (d == 0) {
        strcpy(out, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    char buf[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, d);
        if (strtod(buf, NULL) == d) break;
    }
    /* buf: [-]d[.ddd]e[+-]xx */
    const char *s = buf;
    bool neg = *s == '-';
    if (neg) s++;
    char dig[24];
    int nd = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && nd < 20) dig[nd++] = *s;
    int e = *s == 'e' ? atoi(s + 1) : 0;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    char *o = out;
    if (neg) *o++ = '-';
    if (e >= -4 && e < 16) {
        int decpt = e + 1;
        if (decpt <= 0) {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -decpt; i++)
                *o++ = '0';
            for (int i = 0; i < nd; i++)
                *o++ = dig[i];
        } else if (decpt >= nd) {
            for (int i = 0; i < nd; i++)
                *o++ = dig[i];
            for (int i = nd; i < decpt; i++)
                *o++ = '0';
            *o++ = '.';
            *o++ = '0';
        } else {
            for (int i = 0; i < nd; i++) {
                if (i == decpt) *o++ = '.';
                *o++ = dig[i];
            }
        }
        *o = 0;
    } else {
        *o++ = dig[0];
        if (nd > 1) {
            *o++ = '.';
            for (int i = 1; i < nd; i++)
                *o++ = dig[i];
        }
        int ae = e < 0 ? -e : e; /* |e| <= 324 */
        *o++ = 'e';
        *o++ = e < 0 ? '-' : '+';
        if (ae >= 100) *o++ = (char)('0' + ae / 100);
        *o++ = (char)('0' + ae / 10 % 10);
        *o++ = (char)('0' + ae % 10);
        *o = 0;
    }
}

/* ---- str() and repr() ----------------------------------------------------------------- */

/* Python's str.isprintable() for non-ASCII code points, approximately: the separators,
 * format characters, surrogates and private-use ranges Python escapes in repr(). Unassigned
 * code points (which Python also escapes) are not known here. */
static bool py_isprintable(uint32_t cp) {
    if (cp < 0x7F) return cp >= 0x20;
    if (cp <= 0xA0 || cp == 0xAD) return false;
    if ((cp >= 0x600 && cp <= 0x605) || cp == 0x61C || cp == 0x6DD || cp == 0x70F || cp == 0x890 ||
        cp == 0x891 || cp == 0x8E2 || cp == 0x1680 || cp == 0x180E)
        return false;
    if ((cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
        (cp >= 0x205F && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206F) || cp == 0x3000)
        return false;
    if ((cp >= 0xD800 && cp <= 0xF8FF) || cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB))
        return false;
    if (cp == 0x110BD || cp == 0x110CD || (cp >= 0x13430 && cp <= 0x1343F) ||
        (cp >= 0x1BCA0 && cp <= 0x1BCA3) || (cp >= 0x1D173 && cp <= 0x1D17A) || cp == 0xE0001 ||
        (cp >= 0xE0020 && cp <= 0xE007F) || cp >= 0xF0000)
        return false;
    return true;
}

static void put_str_repr(jj_ctx *c, jj_buf *b, const jj_str *s) {
    bool sq = memchr(s->s, '\'', s->len) != NULL, dq = memchr(s->s, '"', s->len) != NULL;
    char q = sq && !dq ? '"' : '\'';
    jj_buf_putc(c, b, q);
    size_t i = 0;
    while (i < s->len) {
        size_t adv;
        uint32_t cp = jj_utf8_decode(s->s + i, s->len - i, &adv);
        char esc[16];
        if (cp == (uint32_t)q || cp == '\\') {
            esc[0] = '\\';
            esc[1] = (char)cp;
            jj_buf_put(c, b, esc, 2);
        } else if (cp == '\n') {
            jj_buf_puts(c, b, "\\n");
        } else if (cp == '\r') {
            jj_buf_puts(c, b, "\\r");
        } else if (cp == '\t') {
            jj_buf_puts(c, b, "\\t");
        } else if (py_isprintable(cp)) {
            jj_buf_put(c, b, s->s + i, adv);
        } else {
            if (cp <= 0xFF)
                snprintf(esc, sizeof esc, "\\x%02x", cp);
            else if (cp <= 0xFFFF)
                snprintf(esc, sizeof esc, "\\u%04x", cp);
            else
                snprintf(esc, sizeof esc, "\\U%08x", cp);
            jj_buf_puts(c, b, esc);
        }
        i += adv;
    }
    jj_buf_putc(c, b, q);
}

static void put_scalar(jj_ctx *c, jj_buf *b, jv v) {
    char tmp[32];
    switch (v.t) {
    case JV_NONE:
        jj_buf_puts(c, b, "None");
        break;
    case JV_BOOL:
        jj_buf_puts(c, b, v.u.b ? "True" : "False");
        break;
    case JV_INT:
        snprintf(tmp, sizeof tmp, "%lld", (long long)v.u.i);
        jj_buf_puts(c, b, tmp);
        break;
    case JV_FLOAT:
        jj_fmt_float(v.u.f, tmp);
        jj_buf_puts(c, b, tmp);
        break;
    default:
        break;
    }
}

static void put_seq(jj_ctx *c, uint32_t pos, jj_buf *b, const jj_list *l, int depth) {
    for (size_t i = 0; i < l->n; i++) {
        if (i) jj_buf_puts(c, b, ", ");
        jj_put_repr(c, pos, b, l->v[i], depth + 1);
    }
}

static void put_dict_repr(jj_ctx *c, uint32_t pos, jj_buf *b, const jj_dict *d, int depth) {
    jj_buf_putc(c, b, '{');
    for (size_t i = 0; i < d->n; i++) {
        if (i) jj_buf_puts(c, b, ", ");
        jj_put_repr(c, pos, b, d->k[i], depth + 1);
        jj_buf_puts(c, b, ": ");
        jj_put_repr(c, pos, b, d->v[i], depth + 1);
    }
    jj_buf_putc(c, b, '}');
}

void jj_put_repr(jj_ctx *c, uint32_t pos, jj_buf *b, jv v, int depth) {
    if (depth > JJ_VALUE_DEPTH) jj_fail(c, pos, "value nested too deeply to print");
    switch (v.t) {
    case JV_UNDEF:
        jj_buf_puts(c, b, "Undefined");
        return;
    case JV_STR:
        if (v.mk) jj_buf_puts(c, b, "Markup(");
        put_str_repr(c, b, v.u.s);
        if (v.mk) jj_buf_putc(c, b, ')');
        return;
    case JV_LIST: {
        const jj_list *l = v.u.l;
        switch (l->kind) {
        case JL_LIST:
            jj_buf_putc(c, b, '[');
            put_seq(c, pos, b, l, depth);
            jj_buf_putc(c, b, ']');
            return;
        case JL_TUPLE:
            jj_buf_putc(c, b, '(');
            put_seq(c, pos, b, l, depth);
            jj_buf_puts(c, b, l->n == 1 ? ",)" : ")");
            return;
        case JL_ITEMS:
        case JL_KEYS:
        case JL_VALUES:
            jj_buf_puts(c, b, jj_type_name(v));
            jj_buf_puts(c, b, "([");
            put_seq(c, pos, b, l, depth);
            jj_buf_puts(c, b, "])");
            return;
        case JL_RANGE:
            if (l->rstep != 0) {
                char tmp[96];
                int64_t stop = l->rstop;
                if (l->rstep == 1)
                    snprintf(tmp, sizeof tmp, "range(%lld, %lld)", (long long)l->rstart,
                             (long long)stop);
                else
                    snprintf(tmp, sizeof tmp, "range(%lld, %lld, %lld)", (long long)l->rstart,
                             (long long)stop, (long long)l->rstep);
                jj_buf_puts(c, b, tmp);
                return;
            }
            break;
        default:
            break;
        }
        jj_fail(c, pos, "unsupported: printing a %s (Python prints its address)", jj_type_name(v));
    }
    case JV_DICT:
        put_dict_repr(c, pos, b, v.u.d, depth);
        return;
    case JV_NS:
        jj_buf_puts(c, b, "<Namespace ");
        put_dict_repr(c, pos, b, v.u.d, depth);
        jj_buf_putc(c, b, '>');
        return;
    case JV_MACRO: {
        jj_buf_puts(c, b, "<Macro ");
        jj_str *nm = v.u.m->def->name;
        put_str_repr(c, b, nm);
        jj_buf_putc(c, b, '>');
        return;
    }
    case JV_LOOP: {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "<LoopContext %zu/%zu>", v.u.loop->i + 1, v.u.loop->items->n);
        jj_buf_puts(c, b, tmp);
        return;
    }
    case JV_FUNC:
        jj_fail(c, pos, "unsupported: printing a function (Python prints its address)");
    default:
        put_scalar(c, b, v);
        return;
    }
}

void jj_put_str(jj_ctx *c, uint32_t pos, jj_buf *b, jv v) {
    if (v.t == JV_UNDEF) return;
    if (v.t == JV_STR) {
        jj_buf_put(c, b, v.u.s->s, v.u.s->len);
        return;
    }
    jj_put_repr(c, pos, b, v, 0);
}

jj_str *jj_to_str(jj_ctx *c, uint32_t pos, jv v) {
    if (v.t == JV_STR) return v.u.s;
    jj_buf b = {0};
    jj_put_str(c, pos, &b, v);
    return jj_buf_str(c, &b);
}

/* ---- json.dumps ----------------------------------------------------------------------- */

static void put_json_str(jj_ctx *c, jj_buf *b, const char *s, size_t len, bool ascii) {
    jj_buf_putc(c, b, '"');
    size_t i = 0;
    while (i < len) {
        size_t adv;
        uint32_t cp = jj_utf8_decode(s + i, len - i, &adv);
        char esc[16];
        switch (cp) {
        case '"':
            jj_buf_puts(c, b, "\\\"");
            break;
        case '\\':
            jj_buf_puts(c, b, "\\\\");
            break;
        case '\n':
            jj_buf_puts(c, b, "\\n");
            break;
        case '\r':
            jj_buf_puts(c, b, "\\r");
            break;
        case '\t':
            jj_buf_puts(c, b, "\\t");
            break;
        case '\b':
            jj_buf_puts(c, b, "\\b");
            break;
        case '\f':
            jj_buf_puts(c, b, "\\f");
            break;
        default:
            if (cp < 0x20 || (ascii && cp > 0x7E)) {
                if (cp > 0xFFFF) {
                    uint32_t v = cp - 0x10000;
                    snprintf(esc, sizeof esc, "\\u%04x\\u%04x", 0xD800 + (v >> 10),
                             0xDC00 + (v & 0x3FF));
                } else {
                    snprintf(esc, sizeof esc, "\\u%04x", cp);
                }
                jj_buf_puts(c, b, esc);
            } else {
                jj_buf_put(c, b, s + i, adv);
            }
        }
        i += adv;
    }
    jj_buf_putc(c, b, '"');
}

static void json_newline(jj_ctx *c, jj_buf *b, const jj_json_opts *o, int level) {
    jj_buf_putc(c, b, '\n');
    for (int i = 0; i < level; i++)
        jj_buf_puts(c, b, o->indent);
}

/* json.dumps turns non-str keys into strings: 1 -> "1", 1.5 -> "1.5", True -> "true",
 * None -> "null". */
static void put_json_key(jj_ctx *c, jj_buf *b, jv k, bool ascii) {
    char tmp[48];
    switch (k.t) {
    case JV_STR:
        put_json_str(c, b, k.u.s->s, k.u.s->len, ascii);
        return;
    case JV_INT:
        snprintf(tmp, sizeof tmp, "\"%lld\"", (long long)k.u.i);
        break;
    case JV_BOOL:
        snprintf(tmp, sizeof tmp, "\"%s\"", k.u.b ? "true" : "false");
        break;
    case JV_FLOAT:
        if (isnan(k.u.f))
            strcpy(tmp, "\"NaN\"");
        else if (isinf(k.u.f))
            strcpy(tmp, k.u.f < 0 ? "\"-Infinity\"" : "\"Infinity\"");
        else {
            char f[32];
            jj_fmt_float(k.u.f, f);
            snprintf(tmp, sizeof tmp, "\"%s\"", f);
        }
        break;
    default:
        strcpy(tmp, "\"null\"");
        break;
    }
    jj_buf_puts(c, b, tmp);
}

static void put_json_level(jj_ctx *c, uint32_t pos, jj_buf *b, jv v, const jj_json_opts *o,
                           int depth) {
    if (depth > JJ_VALUE_DEPTH) jj_fail(c, pos, "value nested too deeply for tojson");
    char tmp[32];
    switch (v.t) {
    case JV_NONE:
        jj_buf_puts(c, b, "null");
        return;
    case JV_BOOL:
        jj_buf_puts(c, b, v.u.b ? "true" : "false");
        return;
    case JV_INT:
        put_scalar(c, b, v);
        return;
    case JV_FLOAT:
        if (isnan(v.u.f))
            jj_buf_puts(c, b, "NaN");
        else if (isinf(v.u.f))
            jj_buf_puts(c, b, v.u.f < 0 ? "-Infinity" : "Infinity");
        else {
            jj_fmt_float(v.u.f, tmp);
            jj_buf_puts(c, b, tmp);
        }
        return;
    case JV_STR:
        put_json_str(c, b, v.u.s->s, v.u.s->len, o->ensure_ascii);
        return;
    case JV_LIST: {
        const jj_list *l = v.u.l;
        if (l->kind != JL_LIST && l->kind != JL_TUPLE) break;
        if (l->n == 0) {
            jj_buf_puts(c, b, "[]");
            return;
        }
        jj_buf_putc(c, b, '[');
        for (size_t i = 0; i < l->n; i++) {
            if (i) jj_buf_puts(c, b, o->item_sep);
            if (o->indent) json_newline(c, b, o, depth + 1);
            put_json_level(c, pos, b, l->v[i], o, depth + 1);
        }
        if (o->indent) json_newline(c, b, o, depth);
        jj_buf_putc(c, b, ']');
        return;
    }
    case JV_DICT: {
        const jj_dict *d = v.u.d;
        if (d->n == 0) {
            jj_buf_puts(c, b, "{}");
            return;
        }
        size_t *order = jj_alloc_n(c, d->n, sizeof *order);
        for (size_t i = 0; i < d->n; i++)
            order[i] = i;
        if (o->sort_keys) /* insertion sort: stable, and TypeError on mixed key types */
            for (size_t i = 1; i < d->n; i++)
                for (size_t j = i;
                     j > 0 && jj_order(c, pos, d->k[order[j]], d->k[order[j - 1]]) < 0; j--) {
                    size_t t = order[j];
                    order[j] = order[j - 1];
                    order[j - 1] = t;
                }
        jj_buf_putc(c, b, '{');
        for (size_t i = 0; i < d->n; i++) {
            if (i) jj_buf_puts(c, b, o->item_sep);
            if (o->indent) json_newline(c, b, o, depth + 1);
            put_json_key(c, b, d->k[order[i]], o->ensure_ascii);
            jj_buf_puts(c, b, o->key_sep);
            put_json_level(c, pos, b, d->v[order[i]], o, depth + 1);
        }
        if (o->indent) json_newline(c, b, o, depth);
        jj_buf_putc(c, b, '}');
        return;
    }
    default:
        break;
    }
    jj_fail(c, pos, "Object of type %s is not JSON serializable", jj_type_name(v));
}

void jj_put_json(jj_ctx *c, uint32_t pos, jj_buf *b, jv v, const jj_json_opts *o, int depth) {
    put_json_level(c, pos, b, v, o, depth);
}

/* ---- json.loads ----------------------------------------------------------------------- */

/* cJSON keeps numbers as doubles; Python keeps "1" an int and "1.0" a float, and ints
 * exact. So the number tokens are found in the text first (in document order, which is
 * cJSON's node order) and each cJSON number takes the next token. */
typedef struct numscan {
    const char *text;
    uint32_t *off; /* token start offsets */
    size_t n, next;
} numscan;

static void scan_numbers(jj_ctx *c, const char *t, size_t len, const char *what, numscan *ns) {
    size_t cap = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = t[i];
        if (ch == '"') {
            for (i++; i < len && t[i] != '"'; i++) {
                if (t[i] == '\\' && i + 1 < len) {
                    i++;
                    if (t[i] == 'u' && i + 4 < len && memcmp(t + i + 1, "0000", 4) == 0)
                        jj_fail(c, JJ_NOPOS, "%s: unsupported: \\u0000 in a JSON string", what);
                }
            }
        } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
            if (ns->n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                uint32_t *o = jj_alloc_n(c, ncap, sizeof *o);
                if (ns->n) memcpy(o, ns->off, ns->n * sizeof *o);
                ns->off = o;
                cap = ncap;
            }
            ns->off[ns->n++] = (uint32_t)i;
            while (i + 1 < len && strchr("0123456789+-.eE", t[i + 1]) && t[i + 1])
                i++;
        }
    }
    ns->text = t;
}

static jv from_cjson(jj_ctx *c, const cJSON *j, numscan *ns, const char *what, int depth) {
    if (depth > JJ_VALUE_DEPTH) jj_fail(c, JJ_NOPOS, "%s: JSON nested too deeply", what);
    if (cJSON_IsNull(j)) return jv_none();
    if (cJSON_IsFalse(j)) return jv_bool(false);
    if (cJSON_IsTrue(j)) return jv_bool(true);
    if (cJSON_IsString(j)) return jv_str(jj_str_cstr(c, j->valuestring));
    if (cJSON_IsNumber(j)) {
        if (ns->next >= ns->n) jj_fail(c, JJ_NOPOS, "%s: JSON number scan mismatch", what);
        const char *tok = ns->text + ns->off[ns->next++];
        size_t k = 0;
        bool is_float = false;
        while (tok[k] && strchr("0123456789+-.eE", tok[k])) {
            if (tok[k] == '.' || tok[k] == 'e' || tok[k] == 'E') is_float = true;
            k++;
        }
        if (is_float) return jv_float(j->valuedouble);
        errno = 0;
        char *end;
        long long v = strtoll(tok, &end, 10);
        if (errno == ERANGE)
            jj_fail(c, JJ_NOPOS, "%s: unsupported: integer %.*s is wider than 64 bits", what,
                    (int)(k < 40 ? k : 40), tok);
        return jv_int((int64_t)v);
    }
    if (cJSON_IsArray(j)) {
        jj_list *l = jj_list_new(c, (size_t)cJSON_GetArraySize(j), JL_LIST);
        for (const cJSON *e = j->child; e; e = e->next)
            jj_list_push(c, l, from_cjson(c, e, ns, what, depth + 1));
        return jv_list(l);
    }
    if (cJSON_IsObject(j)) {
        jj_dict *d = jj_dict_new(c, (size_t)cJSON_GetArraySize(j));
        for (const cJSON *e = j->child; e; e = e->next) {
            jv val = from_cjson(c, e, ns, what, depth + 1);
            jj_dict_set(c, d, jj_str_cstr(c, e->string ? e->string : ""), val);
        }
        return jv_dict(d);
    }
    jj_fail(c, JJ_NOPOS, "%s: unexpected JSON value", what);
}

jv jj_from_json_text(jj_ctx *c, const char *text, const char *what) {
    size_t len = strlen(text);
    size_t bad;
    if (!el_utf8_valid(text, len, &bad))
        jj_fail(c, JJ_NOPOS, "%s: not valid UTF-8 at byte %zu", what, bad);
    numscan ns = {0};
    scan_numbers(c, text, len, what, &ns);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        jj_fail(c, JJ_NOPOS, "%s: invalid JSON near byte %zu", what, at);
    }
    int slot = -1;
    for (int i = 0; i < (int)EL_ARRAY_LEN(c->json_roots); i++)
        if (!c->json_roots[i]) {
            slot = i;
            break;
        }
    if (slot < 0) {
        cJSON_Delete(root);
        jj_fail(c, JJ_NOPOS, "%s: too many JSON inputs", what);
    }
    c->json_roots[slot] = root;
    if (end)
        for (; *end; end++)
            if (!strchr(" \t\r\n", *end))
                jj_fail(c, JJ_NOPOS, "%s: trailing characters after JSON", what);
    jv v = from_cjson(c, root, &ns, what, 0);
    c->json_roots[slot] = NULL;
    cJSON_Delete(root);
    return v;
}
