/* server/toolcall.c — tool-call parsing for the Hermes (Qwen), Llama 3 and Mistral formats
 * (see toolcall.h).
 *
 * Each parser is a small state machine over a buffer of text not yet reported. Markers are
 * found by plain search; a buffer tail that could still become a marker is held back. The
 * end of a JSON value is found by a scanner that tracks strings, escapes and nesting only —
 * whole calls are then parsed with cJSON; streamed Hermes/Mistral arguments are reported raw
 * (they are the model's JSON text, which is what OpenAI's `arguments` string carries).
 *
 * Memory: the parser and its buffer (grows with the longest pending stretch: a call being
 * parsed whole, or a marker prefix).
 */
#include "server/toolcall.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/core.h"

enum {
    /* hermes */
    H_TEXT,
    H_HEAD,
    H_ARGS,
    H_TAIL,
    H_RAW,
    /* llama3 */
    L_START,
    L_JSON,
    L_TEXT,
    /* mistral */
    M_TEXT,
    M_AFTER,
    M_LIST,
    M_NAME,
    M_ARGS,
};

static const char HERMES_OPEN[] = "<tool_call>", HERMES_CLOSE[] = "</tool_call>";
static const char PY_TAG[] = "<|python_tag|>";
static const char MISTRAL_TAG[] = "[TOOL_CALLS]", MISTRAL_ARGS[] = "[ARGS]";

typedef struct jscan {
    int depth;
    bool str, esc, started, prim;
} jscan;

struct el_tc_parser {
    el_tc_format f;
    int state;
    char *buf;
    size_t n, cap;
    size_t scanned; /* bytes of buf already fed to the scanner */
    jscan sc;
    int calls;
};

el_tc_format el_tc_detect(const char *t) {
    if (!t) return EL_TC_HERMES;
    if (strstr(t, "<tool_call>")) return EL_TC_HERMES;
    if (strstr(t, "[TOOL_CALLS]")) return EL_TC_MISTRAL;
    if (strstr(t, "<|python_tag|>") ||
        (strstr(t, "<|start_header_id|>") && strstr(t, "parameters")))
        return EL_TC_LLAMA3;
    return EL_TC_HERMES;
}

const char *el_tc_format_name(el_tc_format f) {
    switch (f) {
    case EL_TC_HERMES:
        return "hermes";
    case EL_TC_LLAMA3:
        return "llama3";
    case EL_TC_MISTRAL:
        return "mistral";
    default:
        return "none";
    }
}

void el_tc_wrapper(el_tc_format f, const char **prefix, const char **suffix, const char **name_key,
                   const char **args_key) {
    *name_key = "name";
    *args_key = "arguments";
    if (f == EL_TC_LLAMA3) {
        *prefix = "";
        *suffix = "";
        *args_key = "parameters";
    } else if (f == EL_TC_MISTRAL) {
        *prefix = "[TOOL_CALLS][";
        *suffix = "]";
    } else {
        *prefix = "<tool_call>\n";
        *suffix = "\n</tool_call>";
    }
}

el_tc_parser *el_tc_new(el_tc_format f) {
    el_tc_parser *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->f = f == EL_TC_NONE ? EL_TC_HERMES : f;
    p->state = p->f == EL_TC_LLAMA3 ? L_START : p->f == EL_TC_MISTRAL ? M_TEXT : H_TEXT;
    return p;
}

void el_tc_free(el_tc_parser *p) {
    if (!p) return;
    free(p->buf);
    free(p);
}

int el_tc_calls(const el_tc_parser *p) {
    return p->calls;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static bool append(el_tc_parser *p, const char *s, size_t n) {
    if (n == 0) return true;
    if (p->n + n > p->cap) {
        size_t cap = p->cap ? p->cap : 256;
        while (cap < p->n + n)
            cap *= 2;
        char *b = realloc(p->buf, cap);
        if (!b) return false;
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->n, s, n);
    p->n += n;
    return true;
}

static void consume(el_tc_parser *p, size_t k) {
    if (k > p->n) k = p->n;
    if (k == 0) return;
    memmove(p->buf, p->buf + k, p->n - k);
    p->n -= k;
    p->scanned = p->scanned > k ? p->scanned - k : 0;
}

static inline bool ws(char c) {
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

static long find(const char *s, size_t n, const char *m) {
    size_t k = strlen(m);
    if (k > n) return -1;
    for (size_t i = 0; i + k <= n; i++)
        if (s[i] == m[0] && !memcmp(s + i, m, k)) return (long)i;
    return -1;
}

/* length of the longest tail of s that is a proper prefix of marker m */
static size_t partial(const char *s, size_t n, const char *m) {
    size_t k = strlen(m);
    for (size_t l = EL_MIN(n, k - 1); l > 0; l--)
        if (!memcmp(s + n - l, m, l)) return l;
    return 0;
}

static void emit_content(const el_tc_sink *k, const char *s, size_t n) {
    if (n && k->content) k->content(k->u, s, n);
}

/* Feeds bytes to the value scanner. Returns the offset just past the value's end when it
 * ends within s[0..n), -1 when more is needed. Leading whitespace is skipped. */
static long jscan_feed(jscan *j, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!j->started) {
            if (ws(c)) continue;
            j->started = true;
            if (c == '{' || c == '[')
                j->depth = 1;
            else if (c == '"')
                j->str = true;
            else
                j->prim = true;
            continue;
        }
        if (j->prim) {
            if (ws(c) || c == ',' || c == '}' || c == ']') return (long)i;
            continue;
        }
        if (j->str) {
            if (j->esc)
                j->esc = false;
            else if (c == '\\')
                j->esc = true;
            else if (c == '"') {
                j->str = false;
                if (j->depth == 0) return (long)i + 1;
            }
            continue;
        }
        if (c == '"')
            j->str = true;
        else if (c == '{' || c == '[')
            j->depth++;
        else if ((c == '}' || c == ']') && --j->depth == 0)
            return (long)i + 1;
    }
    return -1;
}

/* Reports a parsed call object {name, arguments|parameters}; false when it is not one. */
static bool emit_call_json(el_tc_parser *p, const cJSON *o, const el_tc_sink *k) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(o, "arguments");
    if (!args) args = cJSON_GetObjectItemCaseSensitive(o, "parameters");
    if (!cJSON_IsObject(o) || !cJSON_IsString(name) || !name->valuestring[0]) return false;
    int idx = p->calls++;
    if (k->call) k->call(k->u, idx, name->valuestring, strlen(name->valuestring));
    if (cJSON_IsString(args)) {
        if (k->args) k->args(k->u, idx, args->valuestring, strlen(args->valuestring));
    } else {
        char *a = args ? cJSON_PrintUnformatted(args) : NULL;
        const char *txt = a ? a : "{}";
        if (k->args) k->args(k->u, idx, txt, strlen(txt));
        cJSON_free(a);
    }
    return true;
}

/* Parses s[0..n) as one call object (or, list_ok, an array of them). */
static bool emit_calls_text(el_tc_parser *p, const char *s, size_t n, bool list_ok,
                            const el_tc_sink *k) {
    cJSON *v = cJSON_ParseWithLength(s, n);
    if (!v) return false;
    bool ok = false;
    if (cJSON_IsObject(v)) {
        ok = emit_call_json(p, v, k);
    } else if (list_ok && cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
        ok = true;
        const cJSON *e;
        cJSON_ArrayForEach(e, v) ok &=
            cJSON_IsObject(e) && cJSON_IsString(cJSON_GetObjectItem(e, "name"));
        if (ok) cJSON_ArrayForEach(e, v) emit_call_json(p, e, k);
    }
    cJSON_Delete(v);
    return ok;
}

/* ---- hermes ------------------------------------------------------------------------------ */

/* literal at s[*i]: 1 matched (advanced), 0 need more, -1 mismatch */
static int lit_at(const char *s, size_t n, size_t *i, const char *m) {
    size_t k = strlen(m), have = n - *i;
    if (have < k) return memcmp(s + *i, m, have) ? -1 : 0;
    if (memcmp(s + *i, m, k)) return -1;
    *i += k;
    return 1;
}

static bool skip_ws(const char *s, size_t n, size_t *i) {
    while (*i < n && ws(s[*i]))
        (*i)++;
    return *i < n;
}

/* The call header `{"name": "NAME", "arguments":` : >0 bytes of a complete header (name in
 * [*ns, *ns + *nl)), 0 need more, -1 not this shape (the call is then parsed whole). */
static long hermes_head(const char *s, size_t n, size_t *ns, size_t *nl) {
    size_t i = 0;
    int r;
#define STEP(lit)                                                                                  \
    do {                                                                                           \
        if (!skip_ws(s, n, &i)) return 0;                                                          \
        if ((r = lit_at(s, n, &i, lit)) <= 0) return r;                                            \
    } while (0)
    STEP("{");
    STEP("\"name\"");
    STEP(":");
    if (!skip_ws(s, n, &i)) return 0;
    if (s[i] != '"') return -1;
    size_t start = ++i;
    while (i < n && s[i] != '"') {
        if (s[i] == '\\' || (unsigned char)s[i] < 0x20 || i - start >= 256)
            return -1; /* unusual (escapes, absurd length): parse the call whole */
        i++;
    }
    if (i == n) return 0;
    if (i == start) return -1;
    *ns = start;
    *nl = i - start;
    i++;
    STEP(",");
    if (!skip_ws(s, n, &i)) return 0;
    size_t save = i;
    r = lit_at(s, n, &i, "\"arguments\"");
    if (r < 0) {
        i = save;
        r = lit_at(s, n, &i, "\"parameters\"");
    }
    if (r <= 0) return r;
    STEP(":");
#undef STEP
    return (long)i;
}

static void hermes_run(el_tc_parser *p, const el_tc_sink *k) {
    for (;;) {
        if (p->state == H_TEXT) {
            long at = find(p->buf, p->n, HERMES_OPEN);
            if (at < 0) {
                size_t keep = partial(p->buf, p->n, HERMES_OPEN);
                emit_content(k, p->buf, p->n - keep);
                consume(p, p->n - keep);
                return;
            }
            emit_content(k, p->buf, (size_t)at);
            consume(p, (size_t)at + strlen(HERMES_OPEN));
            p->state = H_HEAD;
        } else if (p->state == H_HEAD) {
            size_t ns = 0, nl = 0;
            long h = hermes_head(p->buf, p->n, &ns, &nl);
            if (h == 0) return;
            if (h < 0) {
                p->state = H_RAW;
                continue;
            }
            int idx = p->calls++;
            if (k->call) k->call(k->u, idx, p->buf + ns, nl);
            consume(p, (size_t)h);
            memset(&p->sc, 0, sizeof p->sc);
            p->state = H_ARGS;
        } else if (p->state == H_ARGS) {
            size_t lead = 0;
            if (!p->sc.started) {
                while (lead < p->n && ws(p->buf[lead]))
                    lead++;
                consume(p, lead);
                if (!p->n) return;
            }
            long end = jscan_feed(&p->sc, p->buf, p->n);
            size_t take = end < 0 ? p->n : (size_t)end;
            if (take && k->args) k->args(k->u, p->calls - 1, p->buf, take);
            consume(p, take);
            if (end < 0) return;
            p->state = H_TAIL;
        } else if (p->state == H_TAIL) {
            long at = find(p->buf, p->n, HERMES_CLOSE);
            if (at < 0) {
                size_t keep = partial(p->buf, p->n, HERMES_CLOSE);
                consume(p, p->n - keep); /* the closing brace and newline */
                return;
            }
            consume(p, (size_t)at + strlen(HERMES_CLOSE));
            p->state = H_TEXT;
        } else { /* H_RAW: wait for the closing tag, then parse the whole call */
            long at = find(p->buf, p->n, HERMES_CLOSE);
            if (at < 0) return;
            if (!emit_calls_text(p, p->buf, (size_t)at, false, k)) {
                emit_content(k, HERMES_OPEN, strlen(HERMES_OPEN));
                emit_content(k, p->buf, (size_t)at + strlen(HERMES_CLOSE));
            }
            consume(p, (size_t)at + strlen(HERMES_CLOSE));
            p->state = H_TEXT;
        }
    }
}

static void hermes_finish(el_tc_parser *p, const el_tc_sink *k) {
    if (p->state == H_TEXT) {
        emit_content(k, p->buf, p->n);
    } else if (p->state == H_HEAD || p->state == H_RAW) {
        if (!emit_calls_text(p, p->buf, p->n, false, k)) {
            emit_content(k, HERMES_OPEN, strlen(HERMES_OPEN));
            emit_content(k, p->buf, p->n);
        }
    } else if (p->state == H_ARGS && p->n && k->args) {
        k->args(k->u, p->calls - 1, p->buf, p->n);
    }
    consume(p, p->n);
    p->state = H_TEXT;
}

/* ---- llama 3 ------------------------------------------------------------------------------ */

static void llama3_run(el_tc_parser *p, const el_tc_sink *k) {
    for (;;) {
        if (p->state == L_START) {
            size_t i = 0;
            while (i < p->n && ws(p->buf[i]))
                i++;
            if (i == p->n) return;
            size_t rest = p->n - i, tag = strlen(PY_TAG);
            if (!memcmp(p->buf + i, PY_TAG, EL_MIN(rest, tag))) {
                if (rest < tag) return;
                consume(p, i + tag);
                p->state = L_JSON;
            } else if (p->buf[i] == '{') {
                consume(p, i);
                p->state = L_JSON;
            } else {
                p->state = L_TEXT;
            }
            memset(&p->sc, 0, sizeof p->sc);
            p->scanned = 0;
        } else if (p->state == L_JSON) {
            long end = jscan_feed(&p->sc, p->buf + p->scanned, p->n - p->scanned);
            if (end < 0) {
                p->scanned = p->n;
                return;
            }
            size_t at = p->scanned + (size_t)end;
            if (!emit_calls_text(p, p->buf, at, false, k)) emit_content(k, p->buf, at);
            consume(p, at);
            p->state = L_TEXT;
        } else {
            emit_content(k, p->buf, p->n);
            consume(p, p->n);
            return;
        }
    }
}

static void llama3_finish(el_tc_parser *p, const el_tc_sink *k) {
    if (p->state == L_JSON && emit_calls_text(p, p->buf, p->n, false, k)) {
        consume(p, p->n);
        return;
    }
    emit_content(k, p->buf, p->n);
    consume(p, p->n);
}

/* ---- mistral ----------------------------------------------------------------------------- */

static void mistral_run(el_tc_parser *p, const el_tc_sink *k) {
    for (;;) {
        if (p->state == M_TEXT) {
            long at = find(p->buf, p->n, MISTRAL_TAG);
            if (at < 0) {
                size_t keep = partial(p->buf, p->n, MISTRAL_TAG);
                emit_content(k, p->buf, p->n - keep);
                consume(p, p->n - keep);
                return;
            }
            emit_content(k, p->buf, (size_t)at);
            consume(p, (size_t)at + strlen(MISTRAL_TAG));
            p->state = M_AFTER;
        } else if (p->state == M_AFTER) {
            size_t i = 0;
            while (i < p->n && ws(p->buf[i]))
                i++;
            if (i == p->n) return;
            consume(p, i);
            memset(&p->sc, 0, sizeof p->sc);
            p->scanned = 0;
            p->state = p->buf[0] == '[' ? M_LIST : M_NAME;
        } else if (p->state == M_LIST) {
            long end = jscan_feed(&p->sc, p->buf + p->scanned, p->n - p->scanned);
            if (end < 0) {
                p->scanned = p->n;
                return;
            }
            size_t at = p->scanned + (size_t)end;
            if (!emit_calls_text(p, p->buf, at, true, k)) {
                emit_content(k, MISTRAL_TAG, strlen(MISTRAL_TAG));
                emit_content(k, p->buf, at);
            }
            consume(p, at);
            p->state = M_TEXT;
        } else if (p->state == M_NAME) {
            long at = find(p->buf, p->n, MISTRAL_ARGS);
            if (at < 0 || at > 256) { /* a name is short: past 256 bytes this is text */
                if (at < 0 && p->n <= 256 + strlen(MISTRAL_ARGS)) return;
                emit_content(k, MISTRAL_TAG, strlen(MISTRAL_TAG)); /* not a name: text */
                p->state = M_TEXT;
                continue;
            }
            size_t a = 0, b = (size_t)at;
            while (b > a && ws(p->buf[b - 1]))
                b--;
            int idx = p->calls++;
            if (k->call) k->call(k->u, idx, p->buf + a, b - a);
            consume(p, (size_t)at + strlen(MISTRAL_ARGS));
            memset(&p->sc, 0, sizeof p->sc);
            p->state = M_ARGS;
        } else { /* M_ARGS */
            if (!p->sc.started) {
                size_t lead = 0;
                while (lead < p->n && ws(p->buf[lead]))
                    lead++;
                consume(p, lead);
                if (!p->n) return;
            }
            long end = jscan_feed(&p->sc, p->buf, p->n);
            size_t take = end < 0 ? p->n : (size_t)end;
            if (take && k->args) k->args(k->u, p->calls - 1, p->buf, take);
            consume(p, take);
            if (end < 0) return;
            p->state = M_TEXT;
        }
    }
}

static void mistral_finish(el_tc_parser *p, const el_tc_sink *k) {
    if (p->state == M_LIST || p->state == M_NAME) {
        if (!(p->state == M_LIST && emit_calls_text(p, p->buf, p->n, true, k))) {
            emit_content(k, MISTRAL_TAG, strlen(MISTRAL_TAG));
            emit_content(k, p->buf, p->n);
        }
    } else if (p->state == M_ARGS) {
        if (p->n && k->args) k->args(k->u, p->calls - 1, p->buf, p->n);
    } else if (p->state == M_TEXT) {
        emit_content(k, p->buf, p->n);
    }
    consume(p, p->n);
    p->state = M_TEXT;
}

/* ---- public ------------------------------------------------------------------------------ */

void el_tc_push(el_tc_parser *p, const char *s, size_t n, const el_tc_sink *k) {
    if (!append(p, s, n)) { /* out of memory: pass the text through rather than lose it */
        emit_content(k, p->buf, p->n);
        consume(p, p->n);
        emit_content(k, s, n);
        return;
    }
    if (p->f == EL_TC_LLAMA3)
        llama3_run(p, k);
    else if (p->f == EL_TC_MISTRAL)
        mistral_run(p, k);
    else
        hermes_run(p, k);
}

void el_tc_finish(el_tc_parser *p, const el_tc_sink *k) {
    if (p->f == EL_TC_LLAMA3)
        llama3_finish(p, k);
    else if (p->f == EL_TC_MISTRAL)
        mistral_finish(p, k);
    else
        hermes_finish(p, k);
}
