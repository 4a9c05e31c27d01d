/* server/request.c — OpenAI request bodies → el_req (see request.h).
 *
 * Order of checks: size and UTF-8 of the raw body, JSON syntax (cJSON, with its nesting
 * limit, so hostile depth fails cleanly), then each field: absent or null keeps the default;
 * a wrong type or a value out of range is a 400 naming the field. Chat messages are rebuilt
 * into a normalized array (content parts joined, developer → system, only the fields
 * templates read) so that what reaches the chat template is always the same shape.
 *
 * Memory: the cJSON tree of the body is freed before returning; el_req owns copies.
 */
#include "server/request.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define E400 400, "invalid_request_error"

int el_req_fail(el_req_error *e, int status, const char *type, const char *code, const char *param,
                const char *fmt, ...) {
    e->status = status;
    e->type = type;
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    for (char *p = e->message; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return -1;
}

void el_req_free(el_req *r) {
    if (!r) return;
    free(r->model);
    for (int i = 0; i < r->n_stops; i++)
        free(r->stops[i]);
    free(r->bias_ids);
    free(r->bias_vals);
    free(r->messages_json);
    free(r->tools_json);
    for (int i = 0; i < r->n_tools; i++) {
        free(r->tool_names[i]);
        cJSON_Delete(r->tool_params[i]);
    }
    free(r->tool_choice_name);
    cJSON_Delete(r->schema);
    free(r->prompt);
    free(r->prompt_tokens);
    free(r->content);
    free(r->tokens);
    memset(r, 0, sizeof *r);
}

/* ---- field helpers: absent or null → untouched, 0; wrong → -1 with e filled ---- */

static const cJSON *field(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static int get_bool(const cJSON *o, const char *k, bool *out, el_req_error *e) {
    const cJSON *v = field(o, k);
    if (!v) return 0;
    if (!cJSON_IsBool(v))
        return el_req_fail(e, E400, "invalid_type", k, "'%s' must be a boolean", k);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int get_num(const cJSON *o, const char *k, double lo, double hi, float *out,
                   el_req_error *e) {
    const cJSON *v = field(o, k);
    if (!v) return 0;
    if (!cJSON_IsNumber(v))
        return el_req_fail(e, E400, "invalid_type", k, "'%s' must be a number", k);
    double d = v->valuedouble;
    if (!isfinite(d) || d < lo || d > hi)
        return el_req_fail(e, E400, "invalid_value", k, "'%s' must be between %g and %g (got %g)",
                           k, lo, hi, d);
    *out = (float)d;
    return 0;
}

static int int_value(const cJSON *v, const char *k, double lo, double hi, int64_t *out,
                     el_req_error *e) {
    if (!cJSON_IsNumber(v))
        return el_req_fail(e, E400, "invalid_type", k, "'%s' must be an integer", k);
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d))
        return el_req_fail(e, E400, "invalid_type", k, "'%s' must be an integer", k);
    if (d < lo || d > hi)
        return el_req_fail(e, E400, "invalid_value", k,
                           "'%s' must be between %.0f and %.0f (got %g)", k, lo, hi, d);
    *out = (int64_t)d;
    return 0;
}

static int get_int(const cJSON *o, const char *k, double lo, double hi, int64_t *out,
                   el_req_error *e) {
    const cJSON *v = field(o, k);
    return v ? int_value(v, k, lo, hi, out, e) : 0;
}

static int get_str(const cJSON *o, const char *k, const cJSON **out, el_req_error *e) {
    const cJSON *v = field(o, k);
    *out = NULL;
    if (!v) return 0;
    if (!cJSON_IsString(v))
        return el_req_fail(e, E400, "invalid_type", k, "'%s' must be a string", k);
    *out = v;
    return 0;
}

static char *dup_or_fail(const char *s, el_req_error *e) {
    char *d = strdup(s);
    if (!d) el_req_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    return d;
}

static int oom(el_req_error *e) {
    return el_req_fail(e, 500, "server_error", NULL, NULL, "out of memory");
}

/* ---- shared fields ---- */

static int parse_stop(const cJSON *o, el_req *r, el_req_error *e) {
    const cJSON *v = field(o, "stop");
    if (!v) return 0;
    const cJSON *one[1] = {v};
    int n = 1;
    if (cJSON_IsArray(v)) {
        n = cJSON_GetArraySize(v);
        if (n > EL_REQ_MAX_STOPS)
            return el_req_fail(e, E400, "invalid_value", "stop", "at most %d stop sequences",
                               EL_REQ_MAX_STOPS);
    } else if (!cJSON_IsString(v)) {
        return el_req_fail(e, E400, "invalid_type", "stop",
                           "'stop' must be a string or an array of strings");
    }
    for (int i = 0; i < n; i++) {
        const cJSON *s = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, i) : one[0];
        if (!cJSON_IsString(s))
            return el_req_fail(e, E400, "invalid_type", "stop",
                               "'stop' must be a string or an array of strings");
        size_t len = strlen(s->valuestring);
        if (len == 0) continue; /* OpenAI ignores empty stops */
        if (len > EL_REQ_MAX_STOP_LEN)
            return el_req_fail(e, E400, "invalid_value", "stop",
                               "stop sequences are at most %d bytes", EL_REQ_MAX_STOP_LEN);
        if (!(r->stops[r->n_stops] = dup_or_fail(s->valuestring, e))) return -1;
        r->n_stops++;
    }
    return 0;
}

static int parse_bias(const cJSON *o, el_req *r, const el_req_limits *lim, el_req_error *e) {
    const cJSON *v = field(o, "logit_bias");
    if (!v) return 0;
    if (!cJSON_IsObject(v))
        return el_req_fail(e, E400, "invalid_type", "logit_bias", "'logit_bias' must be an object");
    int n = cJSON_GetArraySize(v);
    if (n > EL_REQ_MAX_BIAS)
        return el_req_fail(e, E400, "invalid_value", "logit_bias", "at most %d logit_bias entries",
                           EL_REQ_MAX_BIAS);
    if (n == 0) return 0;
    r->bias_ids = malloc((size_t)n * sizeof *r->bias_ids);
    r->bias_vals = malloc((size_t)n * sizeof *r->bias_vals);
    if (!r->bias_ids || !r->bias_vals) return oom(e);
    const cJSON *it;
    cJSON_ArrayForEach(it, v) {
        char *end;
        errno = 0;
        long id = strtol(it->string, &end, 10);
        if (errno || end == it->string || *end || id < 0 || id > INT32_MAX ||
            (lim && lim->n_vocab > 0 && id >= lim->n_vocab))
            return el_req_fail(e, E400, "invalid_value", "logit_bias",
                               "logit_bias key '%.40s' is not a token id of this model",
                               it->string);
        if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < -100 ||
            it->valuedouble > 100)
            return el_req_fail(e, E400, "invalid_value", "logit_bias",
                               "logit_bias values must be numbers between -100 and 100");
        r->bias_ids[r->n_bias] = (int32_t)id;
        r->bias_vals[r->n_bias++] = (float)it->valuedouble;
    }
    return 0;
}

static int parse_sampling(const cJSON *o, el_req *r, const el_req_limits *lim, el_req_error *e) {
    el_sampling *s = &r->sampling;
    int64_t i64;
    if (get_num(o, "temperature", 0, 2, &s->temp, e) || get_num(o, "top_p", 0, 1, &s->top_p, e) ||
        get_num(o, "min_p", 0, 1, &s->min_p, e) ||
        get_num(o, "presence_penalty", -2, 2, &s->presence_penalty, e) ||
        get_num(o, "frequency_penalty", -2, 2, &s->frequency_penalty, e) ||
        get_num(o, "repeat_penalty", 0, 10, &s->repeat_penalty, e))
        return -1;
    i64 = s->top_k;
    if (get_int(o, "top_k", 0, 1 << 30, &i64, e)) return -1;
    s->top_k = (int32_t)i64;
    i64 = s->penalty_last_n;
    if (get_int(o, "repeat_last_n", -1, 1 << 24, &i64, e)) return -1;
    s->penalty_last_n = (int32_t)i64;
    /* OpenAI's penalties apply over the whole output; widen the window when they are used */
    if ((s->presence_penalty != 0 || s->frequency_penalty != 0) && !field(o, "repeat_last_n"))
        s->penalty_last_n = -1;
    const cJSON *seed = field(o, "seed");
    if (seed) {
        if (int_value(seed, "seed", -9.2e18, 9.2e18, &i64, e)) return -1;
        if (i64 >= 0 && (uint64_t)i64 != EL_SEED_RANDOM) {
            s->seed = (uint64_t)i64;
            r->seed_given = true;
        }
    }
    i64 = 1;
    if (get_int(o, "n", -1e18, 1e18, &i64, e)) return -1;
    if (i64 != 1)
        return el_req_fail(e, E400, "invalid_value", "n", "only n=1 is supported (got %lld)",
                           (long long)i64);
    const cJSON *mt = field(o, "max_completion_tokens");
    const char *mk = "max_completion_tokens";
    if (!mt) mt = field(o, "max_tokens"), mk = "max_tokens";
    if (!mt) mt = field(o, "n_predict"), mk = "n_predict"; /* llama.cpp's name */
    if (mt) {
        if (int_value(mt, mk, 1, INT32_MAX, &i64, e)) return -1;
        r->max_tokens = (int32_t)i64;
    }
    if (get_bool(o, "stream", &r->stream, e) || get_bool(o, "ignore_eos", &r->ignore_eos, e))
        return -1;
    const cJSON *so = field(o, "stream_options");
    if (so) {
        if (!cJSON_IsObject(so))
            return el_req_fail(e, E400, "invalid_type", "stream_options",
                               "'stream_options' must be an object");
        if (get_bool(so, "include_usage", &r->include_usage, e)) return -1;
    }
    const cJSON *m;
    if (get_str(o, "model", &m, e)) return -1;
    if (m && !(r->model = dup_or_fail(m->valuestring, e))) return -1;
    (void)lim;
    return parse_stop(o, r, e) || parse_bias(o, r, lim, e) ? -1 : 0;
}

/* ---- chat ---- */

static bool tool_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

/* content: string, array of text parts, or (allow_null) null/absent. Returns a new cJSON
 * string (caller adds it to the message). */
static cJSON *parse_content(const cJSON *msg, int mi, bool allow_null, el_req_error *e) {
    char p[64];
    snprintf(p, sizeof p, "messages[%d].content", mi);
    const cJSON *c = field(msg, "content");
    if (!c) {
        if (allow_null) return cJSON_CreateString("");
        el_req_fail(e, E400, "missing_field", p, "%s is required", p);
        return NULL;
    }
    if (cJSON_IsString(c)) return cJSON_CreateString(c->valuestring);
    if (!cJSON_IsArray(c)) {
        el_req_fail(e, E400, "invalid_type", p, "%s must be a string or an array of content parts",
                    p);
        return NULL;
    }
    size_t total = 0;
    const cJSON *part;
    int pi = 0;
    cJSON_ArrayForEach(part, c) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsObject(part) || !cJSON_IsString(type)) {
            el_req_fail(e, E400, "invalid_type", p, "%s[%d] must be an object with a 'type'", p,
                        pi);
            return NULL;
        }
        if (strcmp(type->valuestring, "text")) {
            el_req_fail(e, E400, "unsupported_content", p,
                        "%s[%d]: content parts of type '%.40s' are not supported (this model reads "
                        "text only)",
                        p, pi, type->valuestring);
            return NULL;
        }
        if (!cJSON_IsString(text)) {
            el_req_fail(e, E400, "invalid_type", p, "%s[%d].text must be a string", p, pi);
            return NULL;
        }
        total += strlen(text->valuestring) + 1;
        pi++;
    }
    char *buf = malloc(total + 1), *w = buf;
    if (!buf) {
        oom(e);
        return NULL;
    }
    pi = 0;
    cJSON_ArrayForEach(part, c) {
        const char *t = cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring;
        if (pi++) *w++ = '\n';
        size_t n = strlen(t);
        memcpy(w, t, n);
        w += n;
    }
    *w = 0;
    cJSON *out = cJSON_CreateString(buf);
    free(buf);
    if (!out) oom(e);
    return out;
}

static cJSON *parse_tool_calls(const cJSON *tc, int mi, el_req_error *e) {
    char p[64];
    snprintf(p, sizeof p, "messages[%d].tool_calls", mi);
    if (!cJSON_IsArray(tc)) {
        el_req_fail(e, E400, "invalid_type", p, "%s must be an array", p);
        return NULL;
    }
    cJSON *out = cJSON_CreateArray();
    if (!out) {
        oom(e);
        return NULL;
    }
    const cJSON *c;
    int ci = 0;
    cJSON_ArrayForEach(c, tc) {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
        const cJSON *name = fn ? cJSON_GetObjectItemCaseSensitive(fn, "name") : NULL;
        const cJSON *args = fn ? cJSON_GetObjectItemCaseSensitive(fn, "arguments") : NULL;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(c, "type");
        if (!cJSON_IsObject(c) || !cJSON_IsObject(fn) || !cJSON_IsString(name) ||
            !name->valuestring[0] ||
            (type && !cJSON_IsNull(type) &&
             (!cJSON_IsString(type) || strcmp(type->valuestring, "function"))) ||
            (id && !cJSON_IsNull(id) && !cJSON_IsString(id))) {
            el_req_fail(e, E400, "invalid_value", p,
                        "%s[%d] must be {\"id\", \"type\": \"function\", \"function\": {\"name\", "
                        "\"arguments\"}}",
                        p, ci);
            cJSON_Delete(out);
            return NULL;
        }
        cJSON *o = cJSON_CreateObject(), *f = cJSON_CreateObject();
        char *astr = NULL;
        if (cJSON_IsString(args))
            astr = strdup(args->valuestring);
        else if (args && !cJSON_IsNull(args))
            astr = cJSON_PrintUnformatted(args);
        else
            astr = strdup("{}");
        bool ok = o && f && astr;
        ok = ok && cJSON_AddStringToObject(o, "id", cJSON_IsString(id) ? id->valuestring : "") &&
             cJSON_AddStringToObject(o, "type", "function") &&
             cJSON_AddStringToObject(f, "name", name->valuestring) &&
             cJSON_AddStringToObject(f, "arguments", astr);
        free(astr);
        if (!ok) {
            cJSON_Delete(o);
            cJSON_Delete(f);
            cJSON_Delete(out);
            oom(e);
            return NULL;
        }
        cJSON_AddItemToObject(o, "function", f);
        cJSON_AddItemToArray(out, o);
        ci++;
    }
    return out;
}

static int parse_messages(const cJSON *o, el_req *r, el_req_error *e) {
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(o, "messages");
    if (!ms) return el_req_fail(e, E400, "missing_field", "messages", "'messages' is required");
    if (!cJSON_IsArray(ms))
        return el_req_fail(e, E400, "invalid_type", "messages", "'messages' must be an array");
    int n = cJSON_GetArraySize(ms);
    if (n == 0)
        return el_req_fail(e, E400, "invalid_value", "messages", "'messages' must not be empty");
    if (n > EL_REQ_MAX_MESSAGES)
        return el_req_fail(e, E400, "invalid_value", "messages", "at most %d messages",
                           EL_REQ_MAX_MESSAGES);
    cJSON *out = cJSON_CreateArray();
    if (!out) return oom(e);
    const cJSON *m;
    int mi = 0;
    cJSON_ArrayForEach(m, ms) {
        char p[64];
        snprintf(p, sizeof p, "messages[%d]", mi);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!cJSON_IsObject(m)) {
            el_req_fail(e, E400, "invalid_type", p, "%s must be an object", p);
            goto fail;
        }
        if (!cJSON_IsString(role)) {
            el_req_fail(e, E400, "invalid_type", p, "%s.role must be a string", p);
            goto fail;
        }
        const char *rs = role->valuestring;
        bool is_asst = !strcmp(rs, "assistant"), is_tool = !strcmp(rs, "tool");
        if (!strcmp(rs, "developer")) rs = "system";
        if (strcmp(rs, "system") && strcmp(rs, "user") && !is_asst && !is_tool) {
            el_req_fail(e, E400, "invalid_value", p,
                        "%s.role '%.40s' is not one of system, developer, user, assistant, tool", p,
                        rs);
            goto fail;
        }
        cJSON *nm = cJSON_CreateObject();
        if (!nm || !cJSON_AddStringToObject(nm, "role", rs)) {
            cJSON_Delete(nm);
            oom(e);
            goto fail;
        }
        cJSON_AddItemToArray(out, nm);
        const cJSON *tc = is_asst ? field(m, "tool_calls") : NULL;
        cJSON *content = parse_content(m, mi, is_asst, e);
        if (!content) goto fail;
        cJSON_AddItemToObject(nm, "content", content);
        const cJSON *s;
        if (get_str(m, "name", &s, e)) goto fail;
        if (s && !cJSON_AddStringToObject(nm, "name", s->valuestring)) goto oom;
        if (tc) {
            cJSON *calls = parse_tool_calls(tc, mi, e);
            if (!calls) goto fail;
            cJSON_AddItemToObject(nm, "tool_calls", calls);
        }
        if (is_tool) {
            if (get_str(m, "tool_call_id", &s, e)) goto fail;
            if (!s) {
                el_req_fail(e, E400, "missing_field", p,
                            "%s.tool_call_id is required for role tool", p);
                goto fail;
            }
            if (!cJSON_AddStringToObject(nm, "tool_call_id", s->valuestring)) goto oom;
        }
        if (is_asst) {
            if (get_str(m, "reasoning_content", &s, e)) goto fail;
            if (s && !cJSON_AddStringToObject(nm, "reasoning_content", s->valuestring)) goto oom;
        }
        mi++;
    }
    r->n_messages = n;
    r->messages_json = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return r->messages_json ? 0 : oom(e);
oom:
    oom(e);
fail:
    cJSON_Delete(out);
    return -1;
}

static int parse_tools(const cJSON *o, el_req *r, el_req_error *e) {
    const cJSON *ts = field(o, "tools");
    if (ts) {
        if (!cJSON_IsArray(ts))
            return el_req_fail(e, E400, "invalid_type", "tools", "'tools' must be an array");
        if (cJSON_GetArraySize(ts) > EL_REQ_MAX_TOOLS)
            return el_req_fail(e, E400, "invalid_value", "tools", "at most %d tools",
                               EL_REQ_MAX_TOOLS);
        cJSON *out = cJSON_CreateArray();
        if (!out) return oom(e);
        const cJSON *t;
        int ti = 0;
        cJSON_ArrayForEach(t, ts) {
            char p[32];
            snprintf(p, sizeof p, "tools[%d]", ti++);
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(t, "type");
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
            const cJSON *name = fn ? cJSON_GetObjectItemCaseSensitive(fn, "name") : NULL;
            const cJSON *desc = fn ? field(fn, "description") : NULL;
            const cJSON *params = fn ? field(fn, "parameters") : NULL;
            if (!cJSON_IsObject(t) || !cJSON_IsString(type) ||
                strcmp(type->valuestring, "function") || !cJSON_IsObject(fn)) {
                cJSON_Delete(out);
                return el_req_fail(e, E400, "invalid_value", p,
                                   "%s must be {\"type\": \"function\", \"function\": {...}}", p);
            }
            if (!cJSON_IsString(name) || !tool_name_ok(name->valuestring)) {
                cJSON_Delete(out);
                return el_req_fail(e, E400, "invalid_value", p,
                                   "%s.function.name must be 1-64 characters of a-z, A-Z, 0-9, _ "
                                   "and -",
                                   p);
            }
            if ((desc && !cJSON_IsString(desc)) || (params && !cJSON_IsObject(params))) {
                cJSON_Delete(out);
                return el_req_fail(e, E400, "invalid_type", p,
                                   "%s.function: description must be a string and parameters an "
                                   "object",
                                   p);
            }
            for (int i = 0; i < r->n_tools; i++)
                if (!strcmp(r->tool_names[i], name->valuestring)) {
                    cJSON_Delete(out);
                    return el_req_fail(e, E400, "invalid_value", p, "duplicate tool name '%s'",
                                       name->valuestring);
                }
            cJSON *nt = cJSON_CreateObject(), *nf = cJSON_CreateObject();
            bool ok = nt && nf && cJSON_AddStringToObject(nt, "type", "function") &&
                      cJSON_AddStringToObject(nf, "name", name->valuestring) &&
                      (!desc || cJSON_AddStringToObject(nf, "description", desc->valuestring));
            cJSON *pc = params ? cJSON_Duplicate(params, true) : NULL;
            cJSON *pk = params ? cJSON_Duplicate(params, true) : NULL;
            r->tool_names[r->n_tools] = strdup(name->valuestring);
            ok = ok && (!params || (pc && pk)) && r->tool_names[r->n_tools];
            if (!ok) {
                cJSON_Delete(nt);
                cJSON_Delete(nf);
                cJSON_Delete(pc);
                cJSON_Delete(pk);
                free(r->tool_names[r->n_tools]);
                r->tool_names[r->n_tools] = NULL;
                cJSON_Delete(out);
                return oom(e);
            }
            r->tool_params[r->n_tools++] = pk;
            if (pc) cJSON_AddItemToObject(nf, "parameters", pc);
            cJSON_AddItemToObject(nt, "function", nf);
            cJSON_AddItemToArray(out, nt);
        }
        if (r->n_tools) r->tools_json = cJSON_PrintUnformatted(out);
        cJSON_Delete(out);
        if (r->n_tools && !r->tools_json) return oom(e);
    }
    const cJSON *tc = field(o, "tool_choice");
    if (tc) {
        if (cJSON_IsString(tc)) {
            const char *s = tc->valuestring;
            if (!strcmp(s, "auto"))
                r->tool_choice = EL_TOOLS_AUTO;
            else if (!strcmp(s, "none"))
                r->tool_choice = EL_TOOLS_NONE;
            else if (!strcmp(s, "required"))
                r->tool_choice = EL_TOOLS_REQUIRED;
            else
                return el_req_fail(e, E400, "invalid_value", "tool_choice",
                                   "'tool_choice' must be none, auto, required or a function");
        } else if (cJSON_IsObject(tc)) {
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
            const cJSON *name = fn ? cJSON_GetObjectItemCaseSensitive(fn, "name") : NULL;
            if (!cJSON_IsString(name))
                return el_req_fail(e, E400, "invalid_value", "tool_choice",
                                   "'tool_choice' must be {\"type\": \"function\", \"function\": "
                                   "{\"name\": ...}}");
            int i = 0;
            while (i < r->n_tools && strcmp(r->tool_names[i], name->valuestring))
                i++;
            if (i == r->n_tools)
                return el_req_fail(e, E400, "invalid_value", "tool_choice",
                                   "tool_choice names '%.64s', which is not in 'tools'",
                                   name->valuestring);
            r->tool_choice = EL_TOOLS_NAMED;
            if (!(r->tool_choice_name = dup_or_fail(name->valuestring, e))) return -1;
        } else {
            return el_req_fail(e, E400, "invalid_type", "tool_choice",
                               "'tool_choice' must be a string or an object");
        }
        if (r->tool_choice == EL_TOOLS_REQUIRED && r->n_tools == 0)
            return el_req_fail(e, E400, "invalid_value", "tool_choice",
                               "tool_choice 'required' needs at least one tool in 'tools'");
    }
    r->parallel_tool_calls = true;
    return get_bool(o, "parallel_tool_calls", &r->parallel_tool_calls, e);
}

static int parse_response_format(const cJSON *o, el_req *r, el_req_error *e) {
    const cJSON *rf = field(o, "response_format");
    if (!rf) return 0;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(rf, "type");
    if (!cJSON_IsObject(rf) || !cJSON_IsString(type))
        return el_req_fail(e, E400, "invalid_type", "response_format",
                           "'response_format' must be an object with a 'type'");
    const char *t = type->valuestring;
    const cJSON *schema = NULL;
    if (!strcmp(t, "text")) return 0;
    if (!strcmp(t, "json_object")) {
        r->response_format = EL_RF_JSON_OBJECT;
        schema = field(rf, "schema"); /* llama.cpp's extension */
    } else if (!strcmp(t, "json_schema")) {
        const cJSON *js = field(rf, "json_schema");
        if (!cJSON_IsObject(js))
            return el_req_fail(e, E400, "missing_field", "response_format.json_schema",
                               "response_format json_schema needs a 'json_schema' object");
        schema = field(js, "schema");
        if (!schema)
            return el_req_fail(e, E400, "missing_field", "response_format.json_schema.schema",
                               "response_format.json_schema.schema is required");
    } else {
        return el_req_fail(e, E400, "invalid_value", "response_format.type",
                           "response_format type '%.40s' is not one of text, json_object, "
                           "json_schema",
                           t);
    }
    if (schema) {
        if (!cJSON_IsObject(schema) && !cJSON_IsBool(schema))
            return el_req_fail(e, E400, "invalid_type", "response_format.json_schema.schema",
                               "the JSON schema must be an object");
        r->response_format = EL_RF_JSON_SCHEMA;
        if (!(r->schema = cJSON_Duplicate(schema, true))) return oom(e);
    }
    return 0;
}

static int parse_thinking(const cJSON *o, el_req *r, el_req_error *e) {
    r->enable_thinking = -1;
    r->reasoning_split = true;
    bool b;
    const cJSON *kw = field(o, "chat_template_kwargs");
    if (kw) {
        if (!cJSON_IsObject(kw))
            return el_req_fail(e, E400, "invalid_type", "chat_template_kwargs",
                               "'chat_template_kwargs' must be an object");
        if (field(kw, "enable_thinking")) {
            if (get_bool(kw, "enable_thinking", &b, e)) return -1;
            r->enable_thinking = b;
        }
    }
    if (field(o, "enable_thinking")) {
        if (get_bool(o, "enable_thinking", &b, e)) return -1;
        r->enable_thinking = b;
    }
    const cJSON *s;
    if (get_str(o, "reasoning_effort", &s, e)) return -1;
    if (s) {
        const char *v = s->valuestring;
        if (!strcmp(v, "none") || !strcmp(v, "minimal"))
            r->enable_thinking = 0;
        else if (!strcmp(v, "low") || !strcmp(v, "medium") || !strcmp(v, "high"))
            r->enable_thinking = 1;
        else
            return el_req_fail(e, E400, "invalid_value", "reasoning_effort",
                               "'reasoning_effort' must be none, minimal, low, medium or high");
    }
    if (get_str(o, "reasoning_format", &s, e)) return -1;
    if (s) {
        if (!strcmp(s->valuestring, "none"))
            r->reasoning_split = false;
        else if (strcmp(s->valuestring, "auto") && strcmp(s->valuestring, "deepseek") &&
                 strcmp(s->valuestring, "parsed"))
            return el_req_fail(e, E400, "invalid_value", "reasoning_format",
                               "'reasoning_format' must be none, auto or deepseek");
    }
    return 0;
}

static int parse_chat(const cJSON *o, el_req *r, el_req_error *e) {
    const cJSON *lp = field(o, "logprobs");
    if (lp && !cJSON_IsBool(lp))
        return el_req_fail(e, E400, "invalid_type", "logprobs", "'logprobs' must be a boolean");
    r->logprobs = cJSON_IsTrue(lp);
    int64_t tl = 0;
    if (get_int(o, "top_logprobs", 0, EL_REQ_MAX_TOP_LOGPROBS, &tl, e)) return -1;
    if (tl > 0 && !r->logprobs)
        return el_req_fail(e, E400, "invalid_value", "top_logprobs",
                           "'logprobs' must be true when 'top_logprobs' is used");
    r->top_logprobs = (int32_t)tl;
    return parse_messages(o, r, e) || parse_tools(o, r, e) || parse_response_format(o, r, e) ||
                   parse_thinking(o, r, e)
               ? -1
               : 0;
}

/* token array: non-empty, each id in [0, n_vocab) */
static int parse_tokens(const cJSON *a, const char *k, const el_req_limits *lim, el_token **out,
                        int32_t *n_out, el_req_error *e) {
    int n = cJSON_GetArraySize(a);
    int32_t cap = lim && lim->max_prompt_tokens > 0 ? lim->max_prompt_tokens : 1 << 24;
    if (n == 0) return el_req_fail(e, E400, "invalid_value", k, "'%s' must not be empty", k);
    if (n > cap)
        return el_req_fail(e, E400, "context_length_exceeded", k,
                           "'%s' has %d tokens, more than the context allows (%d)", k, n, cap);
    *out = malloc((size_t)n * sizeof **out);
    if (!*out) return oom(e);
    const cJSON *t;
    int i = 0;
    cJSON_ArrayForEach(t, a) {
        int64_t id;
        if (int_value(t, k, 0, lim && lim->n_vocab > 0 ? lim->n_vocab - 1 : INT32_MAX, &id, e))
            return -1;
        (*out)[i++] = (el_token)id;
    }
    *n_out = n;
    return 0;
}

static int parse_completion(const cJSON *o, el_req *r, const el_req_limits *lim, el_req_error *e) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "prompt");
    if (!p || cJSON_IsNull(p))
        return el_req_fail(e, E400, "missing_field", "prompt", "'prompt' is required");
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 1 &&
        (cJSON_IsString(p->child) || cJSON_IsArray(p->child)))
        p = p->child; /* a batch of one */
    if (cJSON_IsString(p)) {
        if (!(r->prompt = dup_or_fail(p->valuestring, e))) return -1;
    } else if (cJSON_IsArray(p) && cJSON_IsNumber(p->child)) {
        if (parse_tokens(p, "prompt", lim, &r->prompt_tokens, &r->n_prompt_tokens, e)) return -1;
    } else if (cJSON_IsArray(p) && cJSON_GetArraySize(p) > 1) {
        return el_req_fail(e, E400, "invalid_value", "prompt",
                           "one prompt per request (batches of prompts are not supported)");
    } else {
        return el_req_fail(
            e, E400, "invalid_type", "prompt",
            "'prompt' must be a string, an array of one string, or an array of token "
            "ids");
    }
    bool echo = false;
    if (get_bool(o, "echo", &echo, e)) return -1;
    if (echo) return el_req_fail(e, E400, "unsupported_value", "echo", "'echo' is not supported");
    const cJSON *suffix = field(o, "suffix");
    if (suffix && (!cJSON_IsString(suffix) || suffix->valuestring[0]))
        return el_req_fail(e, E400, "unsupported_value", "suffix", "'suffix' is not supported");
    int64_t bo = 1;
    if (get_int(o, "best_of", -1e18, 1e18, &bo, e)) return -1;
    if (bo != 1)
        return el_req_fail(e, E400, "invalid_value", "best_of", "only best_of=1 is supported");
    const cJSON *lp = field(o, "logprobs");
    if (lp) {
        int64_t n = 0;
        if (cJSON_IsBool(lp))
            n = cJSON_IsTrue(lp) ? 0 : -1;
        else if (int_value(lp, "logprobs", 0, EL_REQ_MAX_TOP_LOGPROBS, &n, e))
            return -1;
        r->logprobs = n >= 0;
        r->top_logprobs = (int32_t)(n > 0 ? n : 0);
    }
    return 0;
}

static int parse_tokenize(const cJSON *o, el_req *r, el_req_error *e) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "content");
    if (!cJSON_IsString(c))
        return el_req_fail(e, E400, "invalid_type", "content", "'content' must be a string");
    if (!(r->content = dup_or_fail(c->valuestring, e))) return -1;
    return get_bool(o, "add_special", &r->add_special, e) ||
                   get_bool(o, "with_pieces", &r->with_pieces, e)
               ? -1
               : 0;
}

static int parse_detokenize(const cJSON *o, el_req *r, const el_req_limits *lim, el_req_error *e) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "tokens");
    if (!cJSON_IsArray(t))
        return el_req_fail(e, E400, "invalid_type", "tokens",
                           "'tokens' must be an array of token ids");
    if (cJSON_GetArraySize(t) == 0) return 0;
    el_req_limits l = lim ? *lim : (el_req_limits){0};
    l.max_prompt_tokens = 1 << 20;
    return parse_tokens(t, "tokens", &l, &r->tokens, &r->n_tokens, e);
}

int el_req_parse(el_req_kind kind, const char *body, size_t len, const el_req_limits *lim,
                 el_req *r, el_req_error *e) {
    memset(r, 0, sizeof *r);
    memset(e, 0, sizeof *e);
    r->kind = kind;
    r->max_tokens = -1;
    r->enable_thinking = -1;
    r->reasoning_split = true;
    el_sampling_default(&r->sampling);
    if (len == 0) return el_req_fail(e, E400, "invalid_json", NULL, "the request body is empty");
    size_t bad;
    if (!el_utf8_valid(body, len, &bad))
        return el_req_fail(e, E400, "invalid_utf8", NULL,
                           "the request body is not valid UTF-8 (byte %zu)", bad);
    if (memchr(body, 0, len))
        return el_req_fail(e, E400, "invalid_json", NULL, "the request body contains a NUL byte");
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!o) {
        size_t at = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;
        return el_req_fail(e, E400, "invalid_json", NULL,
                           "the request body is not valid JSON (near byte %zu)", at);
    }
    for (const char *p = end; p && p < body + len; p++)
        if (!(*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
            cJSON_Delete(o);
            return el_req_fail(e, E400, "invalid_json", NULL,
                               "the request body has data after the JSON value (byte %zu)",
                               (size_t)(p - body));
        }
    int rc;
    if (!cJSON_IsObject(o)) {
        rc = el_req_fail(e, E400, "invalid_json", NULL, "the request body must be a JSON object");
    } else if (kind == EL_REQ_TOKENIZE) {
        rc = parse_tokenize(o, r, e);
    } else if (kind == EL_REQ_DETOKENIZE) {
        rc = parse_detokenize(o, r, lim, e);
    } else {
        rc = parse_sampling(o, r, lim, e);
        if (!rc) rc = kind == EL_REQ_CHAT ? parse_chat(o, r, e) : parse_completion(o, r, lim, e);
    }
    cJSON_Delete(o);
    if (rc) el_req_free(r);
    return rc;
}
