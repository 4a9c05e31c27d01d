/* tok/jinja_lex.c — template text -> tokens, following Jinja2 3.1's lexer with the options
 * transformers uses: trim_blocks (a newline right after a block or comment tag is dropped),
 * lstrip_blocks (spaces before a block or comment tag on its own line are dropped),
 * keep_trailing_newline=False, plus the `-`/`+` whitespace-control signs on every tag.
 *
 * Shape of the output: DATA tokens for text, and for each tag BLOCK_BEGIN/VAR_BEGIN, the
 * expression tokens (NAME, STRING, INT, FLOAT, OP) and BLOCK_END/VAR_END. Comments vanish;
 * {% raw %} bodies become DATA. String literals are unescaped here the way Jinja does
 * (Python's unicode-escape). Brackets are balanced inside a tag, so `}}` inside a dict
 * literal does not end the tag (Jinja's rule).
 * Memory: tokens and strings go to the caller's arena (the template's).
 */
#include "tok/jinja.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lexer {
    jj_ctx *c;
    const char *s;
    size_t len;
    jj_tok *toks;
    size_t n, cap;
} lexer;

static jj_tok *emit(lexer *L, int type, size_t pos) {
    if (L->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 256;
        jj_tok *t = jj_alloc_n(L->c, cap, sizeof *t);
        if (L->n) memcpy(t, L->toks, L->n * sizeof *t);
        L->toks = t;
        L->cap = cap;
    }
    jj_tok *t = &L->toks[L->n++];
    memset(t, 0, sizeof *t);
    t->type = (uint8_t)type;
    t->pos = (uint32_t)pos;
    return t;
}

/* Byte length of the Python-whitespace code point at i, or 0. */
static size_t ws_at(const char *s, size_t len, size_t i) {
    if (i >= len) return 0;
    size_t adv;
    uint32_t cp = jj_utf8_decode(s + i, len - i, &adv);
    return jj_py_isspace(cp) ? adv : 0;
}

static size_t skip_ws(const char *s, size_t len, size_t i) {
    size_t k;
    while ((k = ws_at(s, len, i)) != 0)
        i += k;
    return i;
}

/* Length of text[0..n) once trailing Python whitespace is removed. */
static size_t rstrip_len(const char *s, size_t n) {
    size_t i = 0, keep = 0;
    while (i < n) {
        size_t k = ws_at(s, n, i);
        if (k) {
            i += k;
        } else {
            i += el_utf8_len((unsigned char)s[i]) ? el_utf8_len((unsigned char)s[i]) : 1;
            keep = i;
        }
    }
    return keep;
}

static bool all_ws(const char *s, size_t from, size_t to) {
    if (from >= to) return false; /* Jinja's \s+ needs at least one character */
    size_t i = from;
    while (i < to) {
        size_t k = ws_at(s, to, i);
        if (!k) return false;
        i += k;
    }
    return true;
}

/* Emits text[start..end) as DATA after applying the tag's whitespace control. */
static void emit_text(lexer *L, size_t start, size_t end, char sign, bool lstrip_ok,
                      bool line_starting) {
    const char *s = L->s;
    if (sign == '-') {
        end = start + rstrip_len(s + start, end - start);
    } else if (sign != '+' && lstrip_ok) {
        size_t lpos = start;
        for (size_t i = end; i > start; i--)
            if (s[i - 1] == '\n') {
                lpos = i;
                break;
            }
        if ((lpos > start || line_starting) && all_ws(s, lpos, end)) end = lpos;
    }
    if (end > start) {
        jj_tok *t = emit(L, T_DATA, start);
        t->s = jj_str_new(L->c, s + start, end - start);
    }
}

static bool starts(const lexer *L, size_t i, const char *lit) {
    size_t n = strlen(lit);
    return i <= L->len && L->len - i >= n && memcmp(L->s + i, lit, n) == 0;
}

/* `{%[-+]? raw [-]%}` at i? Returns the end of the tag (after Jinja's suffix) or 0. */
static size_t raw_begin(const lexer *L, size_t i) {
    size_t j = i + 2;
    if (j < L->len && (L->s[j] == '-' || L->s[j] == '+')) j++;
    j = skip_ws(L->s, L->len, j);
    if (!starts(L, j, "raw")) return 0;
    j = skip_ws(L->s, L->len, j + 3);
    if (starts(L, j, "-%}")) return skip_ws(L->s, L->len, j + 3);
    if (starts(L, j, "%}")) return j + 2; /* no trim_blocks suffix on raw's own tag */
    return 0;
}

static bool is_digit(char ch) {
    return ch >= '0' && ch <= '9';
}
static bool is_hex(char ch) {
    return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}
static int hexval(char ch) {
    return is_digit(ch) ? ch - '0' : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : ch - 'A' + 10;
}

/* `(\d+_)*\d+` at i: returns the end, or i when absent. */
static size_t digit_group(const char *s, size_t len, size_t i) {
    if (i >= len || !is_digit(s[i])) return i;
    size_t j = i;
    for (;;) {
        while (j < len && is_digit(s[j]))
            j++;
        if (j + 1 < len && s[j] == '_' && is_digit(s[j + 1]))
            j++;
        else
            return j;
    }
}

static size_t exponent(const char *s, size_t len, size_t j) {
    if (j >= len || (s[j] != 'e' && s[j] != 'E')) return 0;
    size_t k = j + 1;
    if (k < len && (s[k] == '+' || s[k] == '-')) k++;
    size_t e = digit_group(s, len, k);
    return e > k ? e : 0;
}

/* Number at i: returns its end and sets *is_float; 0 when there is none. */
static size_t lex_number(const lexer *L, size_t i, bool *is_float) {
    const char *s = L->s;
    size_t len = L->len;
    *is_float = false;
    if (!(i > 0 && s[i - 1] == '.')) { /* float_re's (?<!\.) */
        size_t j = digit_group(s, len, i);
        if (j > i) {
            size_t frac = 0;
            if (j < len && s[j] == '.') {
                size_t f = digit_group(s, len, j + 1);
                if (f > j + 1) frac = f;
            }
            size_t e = exponent(s, len, frac ? frac : j);
            if (e || frac) {
                *is_float = true;
                return e ? e : frac;
            }
        }
    }
    if (!is_digit(s[i])) return 0;
    if (s[i] == '0' && i + 1 < len && strchr("bBoOxX", s[i + 1]) && s[i + 1]) {
        char k = (char)(s[i + 1] | 0x20);
        size_t j = i + 2, end = 0;
        for (;;) {
            size_t q = j < len && s[j] == '_' ? j + 1 : j;
            if (q >= len) break;
            char ch = s[q];
            bool ok = k == 'b'   ? (ch == '0' || ch == '1')
                      : k == 'o' ? (ch >= '0' && ch <= '7')
                                 : is_hex(ch);
            if (!ok) break;
            j = end = q + 1;
        }
        if (end) return end;
    }
    if (s[i] == '0') {
        size_t j = i + 1;
        for (;;) {
            size_t q = j < len && s[j] == '_' ? j + 1 : j;
            if (q < len && s[q] == '0')
                j = q + 1;
            else
                return j;
        }
    }
    size_t j = i + 1;
    for (;;) {
        size_t q = j < len && s[j] == '_' ? j + 1 : j;
        if (q < len && is_digit(s[q]))
            j = q + 1;
        else
            return j;
    }
}

static void number_token(lexer *L, size_t i, size_t end, bool is_float) {
    char buf[128];
    size_t n = 0;
    for (size_t k = i; k < end; k++) {
        if (L->s[k] == '_') continue;
        if (n + 1 >= sizeof buf) jj_fail(L->c, (uint32_t)i, "number literal too long");
        buf[n++] = L->s[k];
    }
    buf[n] = 0;
    jj_tok *t = emit(L, is_float ? T_FLOAT : T_INT, i);
    if (is_float) {
        t->f = strtod(buf, NULL);
        return;
    }
    int base = 10;
    const char *p = buf;
    if (n > 1 && buf[0] == '0' && strchr("bBoOxX", buf[1])) {
        char k = (char)(buf[1] | 0x20);
        base = k == 'b' ? 2 : k == 'o' ? 8 : 16;
        p += 2;
    }
    uint64_t v = 0;
    for (; *p; p++) {
        uint64_t d = (uint64_t)hexval(*p);
        if (v > (UINT64_MAX - d) / (uint64_t)base || v * (uint64_t)base + d > INT64_MAX)
            jj_fail(L->c, (uint32_t)i, "unsupported: integer literal wider than 64 bits");
        v = v * (uint64_t)base + d;
    }
    t->i = (int64_t)v;
}

static void put_cp(jj_ctx *c, jj_buf *b, uint32_t cp) {
    char u[4];
    jj_buf_put(c, b, u, jj_utf8_encode(cp, u));
}

/* Jinja: value[1:-1].encode("ascii", "backslashreplace").decode("unicode-escape"). */
static jj_str *unescape(lexer *L, size_t start, size_t end, size_t at) {
    jj_ctx *c = L->c;
    const char *s = L->s;
    if (!memchr(s + start, '\\', end - start)) return jj_str_new(c, s + start, end - start);
    jj_buf b = {0};
    size_t i = start;
    while (i < end) {
        if (s[i] != '\\') {
            jj_buf_putc(c, &b, s[i]);
            i++;
            continue;
        }
        if (i + 1 >= end) jj_fail(c, (uint32_t)at, "\\ at end of string");
        unsigned char nx = (unsigned char)s[i + 1];
        if (nx >= 0x80) {
            /* backslashreplace turned the character into an escape that now follows an
             * escaped backslash: the result is a backslash and that escape's text */
            size_t adv;
            uint32_t cp = jj_utf8_decode(s + i + 1, end - i - 1, &adv);
            char tmp[16];
            if (cp <= 0xFF)
                snprintf(tmp, sizeof tmp, "\\x%02x", cp);
            else if (cp <= 0xFFFF)
                snprintf(tmp, sizeof tmp, "\\u%04x", cp);
            else
                snprintf(tmp, sizeof tmp, "\\U%08x", cp);
            jj_buf_puts(c, &b, tmp);
            i += 1 + adv;
            continue;
        }
        i += 2;
        uint32_t cp;
        int want = 0;
        switch (nx) {
        case '\n':
            continue;
        case '\\':
        case '\'':
        case '"':
            jj_buf_putc(c, &b, (char)nx);
            continue;
        case 'a':
            jj_buf_putc(c, &b, '\a');
            continue;
        case 'b':
            jj_buf_putc(c, &b, '\b');
            continue;
        case 'f':
            jj_buf_putc(c, &b, '\f');
            continue;
        case 'n':
            jj_buf_putc(c, &b, '\n');
            continue;
        case 'r':
            jj_buf_putc(c, &b, '\r');
            continue;
        case 't':
            jj_buf_putc(c, &b, '\t');
            continue;
        case 'v':
            jj_buf_putc(c, &b, '\v');
            continue;
        case 'x':
            want = 2;
            break;
        case 'u':
            want = 4;
            break;
        case 'U':
            want = 8;
            break;
        case 'N':
            jj_fail(c, (uint32_t)at, "unsupported: \\N{...} escape in a string literal");
        default:
            if (nx >= '0' && nx <= '7') {
                cp = nx - '0';
                for (int k = 0; k < 2 && i < end && s[i] >= '0' && s[i] <= '7'; k++, i++)
                    cp = cp * 8 + (uint32_t)(s[i] - '0');
                put_cp(c, &b, cp);
            } else {
                jj_buf_putc(c, &b, '\\');
                jj_buf_putc(c, &b, (char)nx);
            }
            continue;
        }
        cp = 0;
        for (int k = 0; k < want; k++, i++) {
            if (i >= end || !is_hex(s[i]))
                jj_fail(c, (uint32_t)at, "truncated \\%c escape in a string literal", nx);
            cp = cp * 16 + (uint32_t)hexval(s[i]);
        }
        if (cp > 0x10FFFF) jj_fail(c, (uint32_t)at, "illegal Unicode character in a string");
        if (cp >= 0xD800 && cp <= 0xDFFF)
            jj_fail(c, (uint32_t)at, "unsupported: surrogate escape in a string literal");
        put_cp(c, &b, cp);
    }
    return jj_buf_str(c, &b);
}

static const struct {
    const char *s;
    uint8_t op;
} ops[] = {
    {"**", OP_POW},     {"//", OP_FLOORDIV}, {"==", OP_EQ},    {"!=", OP_NE},
    {">=", OP_GTEQ},    {"<=", OP_LTEQ},     {"+", OP_ADD},    {"-", OP_SUB},
    {"/", OP_DIV},      {"*", OP_MUL},       {"%", OP_MOD},    {"~", OP_TILDE},
    {"[", OP_LBRACKET}, {"]", OP_RBRACKET},  {"(", OP_LPAREN}, {")", OP_RPAREN},
    {"{", OP_LBRACE},   {"}", OP_RBRACE},    {">", OP_GT},     {"<", OP_LT},
    {"=", OP_ASSIGN},   {".", OP_DOT},       {":", OP_COLON},  {"|", OP_PIPE},
    {",", OP_COMMA},    {";", OP_SEMICOLON},
};

/* Lexes the inside of a tag starting at i; returns the position after its end tag and
 * sets *line_starting from the last character the end tag consumed. */
static size_t lex_tag(lexer *L, size_t i, bool block, bool *line_starting) {
    jj_ctx *c = L->c;
    const char *s = L->s;
    size_t len = L->len;
    char stack[JJ_PARSE_DEPTH];
    int depth = 0;
    while (i < len) {
        if (depth == 0) {
            size_t end = 0;
            if (block) {
                if (starts(L, i, "+%}"))
                    end = i + 3;
                else if (starts(L, i, "-%}"))
                    end = skip_ws(s, len, i + 3);
                else if (starts(L, i, "%}"))
                    end = i + 2 < len && s[i + 2] == '\n' ? i + 3 : i + 2;
            } else {
                if (starts(L, i, "-}}"))
                    end = skip_ws(s, len, i + 3);
                else if (starts(L, i, "}}"))
                    end = i + 2;
            }
            if (end) {
                emit(L, block ? T_BLOCK_END : T_VAR_END, i);
                *line_starting = s[end - 1] == '\n';
                return end;
            }
        }
        size_t k = ws_at(s, len, i);
        if (k) {
            i = skip_ws(s, len, i);
            continue;
        }
        bool is_float;
        size_t end = lex_number(L, i, &is_float);
        if (end) {
            number_token(L, i, end, is_float);
            i = end;
            continue;
        }
        unsigned char ch = (unsigned char)s[i];
        if (ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
            size_t j = i + 1;
            while (j < len && (s[j] == '_' || is_digit(s[j]) || (s[j] >= 'a' && s[j] <= 'z') ||
                               (s[j] >= 'A' && s[j] <= 'Z')))
                j++;
            if (j < len && (unsigned char)s[j] >= 0x80)
                jj_fail(c, (uint32_t)i, "unsupported: non-ASCII identifier");
            jj_tok *t = emit(L, T_NAME, i);
            t->s = jj_str_new(c, s + i, j - i);
            i = j;
            continue;
        }
        if (ch >= 0x80) jj_fail(c, (uint32_t)i, "unsupported: non-ASCII character in a tag");
        if (ch == '\'' || ch == '"') {
            size_t j = i + 1;
            while (j < len && s[j] != (char)ch)
                j += s[j] == '\\' && j + 1 < len ? 2 : 1;
            if (j < len) {
                jj_tok *t = emit(L, T_STRING, i);
                t->s = unescape(L, i + 1, j, i);
                i = j + 1;
                continue;
            }
            jj_fail(c, (uint32_t)i, "unterminated string literal");
        }
        size_t o;
        for (o = 0; o < EL_ARRAY_LEN(ops); o++)
            if (starts(L, i, ops[o].s)) break;
        if (o == EL_ARRAY_LEN(ops)) jj_fail(c, (uint32_t)i, "unexpected char '%c'", ch);
        uint8_t op = ops[o].op;
        if (op == OP_LPAREN || op == OP_LBRACKET || op == OP_LBRACE) {
            if (depth == JJ_PARSE_DEPTH) jj_fail(c, (uint32_t)i, "brackets nested too deeply");
            stack[depth++] = op == OP_LPAREN ? ')' : op == OP_LBRACKET ? ']' : '}';
        } else if (op == OP_RPAREN || op == OP_RBRACKET || op == OP_RBRACE) {
            if (depth == 0) jj_fail(c, (uint32_t)i, "unexpected '%c'", ch);
            if (stack[depth - 1] != (char)ch)
                jj_fail(c, (uint32_t)i, "unexpected '%c', expected '%c'", ch, stack[depth - 1]);
            depth--;
        }
        jj_tok *t = emit(L, T_OP, i);
        t->op = op;
        i += strlen(ops[o].s);
    }
    *line_starting = false;
    return len; /* the parser reports the missing end tag */
}

jj_str *jj_normalize_source(jj_ctx *c, const char *src, size_t len) {
    size_t bad;
    if (len > JJ_MAX_SRC) jj_fail(c, JJ_NOPOS, "template larger than %u bytes", JJ_MAX_SRC);
    if (!el_utf8_valid(src, len, &bad))
        jj_fail(c, JJ_NOPOS, "template is not valid UTF-8 (byte %zu)", bad);
    if (memchr(src, 0, len)) jj_fail(c, JJ_NOPOS, "template contains a NUL byte");
    jj_buf b = {0};
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            jj_buf_putc(c, &b, '\n');
            if (i + 1 < len && src[i + 1] == '\n') i++;
        } else {
            jj_buf_putc(c, &b, src[i]);
        }
    }
    if (b.n && b.p[b.n - 1] == '\n') b.n--;
    return jj_buf_str(c, &b);
}

jj_tok *jj_lex(jj_ctx *c, const jj_str *src, size_t *ntok) {
    lexer L = {.c = c, .s = src->s, .len = src->len};
    size_t pos = 0;
    bool line_starting = true;
    const char *s = L.s;
    while (pos < L.len) {
        /* find the next tag start */
        size_t i = pos;
        const char *hit = NULL;
        while (i + 1 < L.len) {
            hit = memchr(s + i, '{', L.len - i - 1);
            if (!hit) break;
            i = (size_t)(hit - s);
            char nx = s[i + 1];
            if (nx == '{' || nx == '%' || nx == '#') break;
            i++;
            hit = NULL;
        }
        if (!hit) {
            emit_text(&L, pos, L.len, 0, false, line_starting);
            break;
        }
        char kind = s[i + 1];
        char sign = i + 2 < L.len && (s[i + 2] == '-' || s[i + 2] == '+') ? s[i + 2] : 0;
        size_t rawend = kind == '%' ? raw_begin(&L, i) : 0;
        emit_text(&L, pos, i, sign, kind != '{', line_starting);
        size_t body = i + 2 + (sign ? 1 : 0);
        if (rawend) {
            /* find {%[-+]? endraw [-+]?%} */
            size_t j = rawend;
            bool rls = s[rawend - 1] == '\n';
            for (;;) {
                const char *p = strstr(s + j, "{%");
                if (!p) jj_fail(c, (uint32_t)i, "missing end of raw directive");
                size_t k = (size_t)(p - s);
                char rsign = k + 2 < L.len && (s[k + 2] == '-' || s[k + 2] == '+') ? s[k + 2] : 0;
                size_t q = skip_ws(s, L.len, k + 2 + (rsign ? 1 : 0));
                if (starts(&L, q, "endraw")) {
                    size_t e = skip_ws(s, L.len, q + 6), end = 0;
                    if (starts(&L, e, "+%}"))
                        end = e + 3;
                    else if (starts(&L, e, "-%}"))
                        end = skip_ws(s, L.len, e + 3);
                    else if (starts(&L, e, "%}"))
                        end = e + 2 < L.len && s[e + 2] == '\n' ? e + 3 : e + 2;
                    if (end) {
                        emit_text(&L, rawend, k, rsign, true, rls);
                        line_starting = s[end - 1] == '\n';
                        pos = end;
                        break;
                    }
                }
                j = k + 2;
            }
            continue;
        }
        if (kind == '#') {
            const char *p = strstr(s + body, "#}");
            if (!p) jj_fail(c, (uint32_t)i, "missing end of comment tag");
            size_t k = (size_t)(p - s), end;
            if (k > body && s[k - 1] == '-')
                end = skip_ws(s, L.len, k + 2);
            else if (k > body && s[k - 1] == '+')
                end = k + 2;
            else
                end = k + 2 < L.len && s[k + 2] == '\n' ? k + 3 : k + 2;
            line_starting = s[end - 1] == '\n';
            pos = end;
            continue;
        }
        emit(&L, kind == '%' ? T_BLOCK_BEGIN : T_VAR_BEGIN, i);
        pos = lex_tag(&L, body, kind == '%', &line_starting);
    }
    emit(&L, T_EOF, L.len);
    *ntok = L.n;
    return L.toks;
}
