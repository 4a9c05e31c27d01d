/* server/json_constrain.c — JSON schema → incremental byte validator → token mask (see
 * json_constrain.h for what is generated and why).
 *
 * Compilation turns the schema into a graph of nodes (object, array, string, integer,
 * number, literal set, union, switch); literal sets hold the exact JSON text of enum/const
 * values, true/false/null and object keys, matched byte for byte. $ref targets are compiled
 * once (memo), so recursive schemas become cycles in the graph, bounded at run time by the
 * frame stack.
 *
 * The validator is a pushdown automaton: a stack of frames, one per open JSON value. Each
 * byte goes to the top frame; a frame that completes pops and tells its parent; numbers and
 * literals only know they ended when a byte that is not theirs arrives, so that byte is
 * handed on to the parent after the pop. Invariant: the stack holds only frames whose
 * prefix so far can still be completed into a valid value (bounds are checked as digits and
 * characters arrive, never only at the end), so "some next byte is allowed" holds unless the
 * document is complete — a constrained generator never paints itself into a corner.
 *
 * Memory: grammar arrays grow during compile (bounded by JC_MAX_* limits) and are fixed
 * afterwards; states are caller-owned structs; el_jc_mask allocates nothing.
 */
#include "server/json_constrain.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define JC_MAX_NODES 4096
#define JC_MAX_LITS 8192
#define JC_MAX_LIT_BYTES 1024
#define JC_MAX_POOL (1u << 20)
#define JC_MAX_SET 64                   /* literals per enum, properties per object */
#define JC_MAX_ALTS 16                  /* anyOf alternatives */
#define JC_NUM_DIGITS 15                /* integer digits of an unbounded number */
#define JC_FRAC_DIGITS 15               /* fraction digits */
#define JC_EXP_DIGITS 3                 /* exponent digits */
#define JC_INT_MAX 999999999999999999LL /* bounded integers: 18 digits at most */

enum { N_ANY, N_OBJECT, N_ARRAY, N_STRING, N_INT, N_NUM, N_LIT, N_UNION, N_SWITCH };
enum { FR_VALUE, FR_OBJ, FR_ARR, FR_STR, FR_NUM, FR_LIT };
enum { PH_PREFIX, PH_VALUE, PH_SUFFIX, PH_DONE };
enum { O_OPEN, O_KEY, O_COLON, O_VAL, O_NEXT, O_COMMA };
enum { A_OPEN, A_VAL, A_NEXT };
enum { S_CHAR, S_ESC, S_U, S_UTF8 };
/* number phases; the ones marked * are complete */
enum {
    NM_START,
    NM_MINUS,
    NM_ZERO /* * */,
    NM_INT /* * */,
    NM_DOT,
    NM_FRAC /* * */,
    NM_E,
    NM_ESIGN,
    NM_EXP /* * */
};

/* builtin nodes every grammar starts with */
enum { NODE_ANY = 0, NODE_ANY_OBJ, NODE_ANY_ARR, NODE_ANY_STR, NODE_ANY_NUM, NODE_TFN, NODE_N0 };

typedef struct jc_node {
    uint8_t kind;
    bool ordered;      /* object: keys in declared order (tool wrappers) */
    bool free_keys;    /* object: any key; values of node `item` */
    int32_t first;     /* object: first prop; literal set: first lit; union/switch: first alt */
    int32_t count;     /* how many of those */
    int32_t key_first; /* object: literal index of the first key (keys are contiguous) */
    int32_t item;      /* array: items; free-form object: values */
    uint64_t required; /* object: bit i = prop first+i must appear */
    int64_t min, max;  /* string: length; array: items; int/bounded number: value */
    bool bounded;      /* int/number: min/max given (numbers are then generated as ints) */
} jc_node;

typedef struct jc_lit {
    uint32_t off, len;
} jc_lit;

struct el_jc_grammar {
    jc_node *nodes;
    int32_t n_nodes, cap_nodes;
    int32_t *props; /* node index of each property's value */
    int32_t n_props, cap_props;
    jc_lit *lits;
    int32_t n_lits, cap_lits;
    char *pool;
    uint32_t n_pool, cap_pool;
    int32_t *alts;
    int32_t n_alts, cap_alts;
    int32_t root;
    char *prefix, *suffix;
    uint32_t n_prefix, n_suffix;
};

/* ---- grammar building ----------------------------------------------------------------- */

#define GROW(arr, n, cap, maxn)                                                                    \
    do {                                                                                           \
        if ((n) >= (cap)) {                                                                        \
            if ((cap) >= (maxn)) return -1;                                                        \
            int32_t nc_ = (cap) ? (cap)*2 : 16;                                                    \
            if (nc_ > (maxn)) nc_ = (maxn);                                                        \
            void *np_ = realloc((arr), (size_t)nc_ * sizeof *(arr));                               \
            if (!np_) return -1;                                                                   \
            (arr) = np_;                                                                           \
            (cap) = nc_;                                                                           \
        }                                                                                          \
    } while (0)

static int32_t new_node(el_jc_grammar *g, uint8_t kind) {
    GROW(g->nodes, g->n_nodes, g->cap_nodes, JC_MAX_NODES);
    jc_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->item = NODE_ANY;
    n->min = 0;
    n->max = INT64_MAX;
    return g->n_nodes++;
}

static int32_t add_lit(el_jc_grammar *g, const char *s, size_t len) {
    if (len == 0 || len > JC_MAX_LIT_BYTES) return -1;
    GROW(g->lits, g->n_lits, g->cap_lits, JC_MAX_LITS);
    if (g->n_pool + len > g->cap_pool) {
        uint32_t nc = g->cap_pool ? g->cap_pool : 1024;
        while (nc < g->n_pool + len)
            nc *= 2;
        if (nc > JC_MAX_POOL) return -1;
        char *np = realloc(g->pool, nc);
        if (!np) return -1;
        g->pool = np;
        g->cap_pool = nc;
    }
    memcpy(g->pool + g->n_pool, s, len);
    g->lits[g->n_lits] = (jc_lit){g->n_pool, (uint32_t)len};
    g->n_pool += (uint32_t)len;
    return g->n_lits++;
}

static int32_t add_prop(el_jc_grammar *g, int32_t node) {
    GROW(g->props, g->n_props, g->cap_props, JC_MAX_NODES);
    g->props[g->n_props] = node;
    return g->n_props++;
}

static int32_t add_alt(el_jc_grammar *g, int32_t node) {
    GROW(g->alts, g->n_alts, g->cap_alts, JC_MAX_NODES);
    g->alts[g->n_alts] = node;
    return g->n_alts++;
}

/* Literal of a cJSON value: its compact JSON text. */
static int32_t add_json_lit(el_jc_grammar *g, const cJSON *v) {
    char *s = cJSON_PrintUnformatted(v);
    if (!s) return -1;
    int32_t r = add_lit(g, s, strlen(s));
    cJSON_free(s);
    return r;
}

/* JSON string literal (with quotes) of raw text s. */
static int32_t add_str_lit(el_jc_grammar *g, const char *s) {
    cJSON *v = cJSON_CreateString(s);
    if (!v) return -1;
    int32_t r = add_json_lit(g, v);
    cJSON_Delete(v);
    return r;
}

static el_jc_grammar *grammar_new(void) {
    el_jc_grammar *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    /* builtins, in enum order */
    int32_t any = new_node(g, N_ANY);
    int32_t obj = new_node(g, N_OBJECT);
    int32_t arr = new_node(g, N_ARRAY);
    int32_t str = new_node(g, N_STRING);
    int32_t num = new_node(g, N_NUM);
    int32_t tfn = new_node(g, N_LIT);
    if (any != NODE_ANY || obj != NODE_ANY_OBJ || arr != NODE_ANY_ARR || str != NODE_ANY_STR ||
        num != NODE_ANY_NUM || tfn != NODE_TFN) {
        el_jc_free(g);
        return NULL;
    }
    g->nodes[NODE_ANY_OBJ].free_keys = true;
    g->nodes[NODE_TFN].first = g->n_lits;
    if (add_lit(g, "true", 4) < 0 || add_lit(g, "false", 5) < 0 || add_lit(g, "null", 4) < 0) {
        el_jc_free(g);
        return NULL;
    }
    g->nodes[NODE_TFN].count = 3;
    g->root = NODE_ANY_OBJ;
    return g;
}

void el_jc_free(el_jc_grammar *g) {
    if (!g) return;
    free(g->nodes);
    free(g->props);
    free(g->lits);
    free(g->pool);
    free(g->alts);
    free(g->prefix);
    free(g->suffix);
    free(g);
}

/* ---- first bytes ---------------------------------------------------------------------- */

typedef struct bset {
    uint64_t w[4];
} bset;
static inline void bs_set(bset *b, unsigned c) {
    b->w[c >> 6] |= 1ull << (c & 63);
}
static inline bool bs_has(const bset *b, unsigned c) {
    return (b->w[c >> 6] >> (c & 63)) & 1;
}

static void first_bytes(const el_jc_grammar *g, int32_t node, bset *b, int depth) {
    const jc_node *n = &g->nodes[node];
    const char *num = "-0123456789";
    switch (n->kind) {
    case N_ANY:
        for (const char *p = "{[\"tfn-0123456789"; *p; p++)
            bs_set(b, (unsigned char)*p);
        break;
    case N_OBJECT:
        bs_set(b, '{');
        break;
    case N_ARRAY:
        bs_set(b, '[');
        break;
    case N_STRING:
        bs_set(b, '"');
        break;
    case N_INT:
    case N_NUM:
        for (const char *p = num; *p; p++)
            bs_set(b, (unsigned char)*p);
        break;
    case N_LIT:
        for (int32_t i = 0; i < n->count; i++)
            bs_set(b, (unsigned char)g->pool[g->lits[n->first + i].off]);
        break;
    case N_UNION:
    case N_SWITCH:
        if (depth > 64) return;
        for (int32_t i = 0; i < n->count; i++)
            first_bytes(g, g->alts[n->first + i], b, depth + 1);
        break;
    }
}

/* ---- schema compilation ----------------------------------------------------------------- */

typedef struct jc_build {
    el_jc_grammar *g;
    const cJSON *root;
    char *err;
    size_t errlen;
    struct {
        const cJSON *target;
        int32_t node;
    } memo[256];
    int n_memo;
    int depth;
    bool failed;
} jc_build;

static int32_t fail(jc_build *b, const char *fmt, ...) EL_PRINTF(2, 3);
static int32_t fail(jc_build *b, const char *fmt, ...) {
    if (!b->failed) {
        char line[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        el_errf(b->err, b->errlen, "json schema: %s", line);
    }
    b->failed = true;
    return -1;
}

static int32_t compile(jc_build *b, const cJSON *s, const char *force_type);

/* "#/$defs/Name" or "#/definitions/Name" (JSON pointer, ~0 ~1 unescaped) */
static const cJSON *resolve_ref(jc_build *b, const char *ref) {
    if (ref[0] != '#') return NULL;
    const cJSON *cur = b->root;
    const char *p = ref + 1;
    char seg[256];
    while (*p == '/') {
        p++;
        size_t k = 0;
        while (*p && *p != '/') {
            char c = *p++;
            if (c == '~' && (*p == '0' || *p == '1')) c = *p++ == '0' ? '~' : '/';
            if (k + 1 >= sizeof seg) return NULL;
            seg[k++] = c;
        }
        seg[k] = 0;
        if (!cJSON_IsObject(cur)) return NULL;
        cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
        if (!cur) return NULL;
    }
    return *p ? NULL : cur;
}

static bool get_int(const cJSON *s, const char *key, int64_t lo, int64_t hi, int64_t *out,
                    jc_build *b) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, key);
    if (!v) return true;
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d == floor(d)) || d < (double)lo || d > (double)hi) {
        fail(b, "'%s' must be a non-negative integer", key);
        return false;
    }
    *out = (int64_t)d;
    return true;
}

static const char *const unsupported[] = {
    "pattern",
    "patternProperties",
    "not",
    "if",
    "then",
    "else",
    "prefixItems",
    "uniqueItems",
    "multipleOf",
    "contains",
    "minContains",
    "maxContains",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "minProperties",
    "maxProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "$dynamicRef",
    "additionalItems",
};

static int32_t compile_literals(jc_build *b, const cJSON *vals, bool single) {
    el_jc_grammar *g = b->g;
    int32_t node = new_node(g, N_LIT);
    if (node < 0) return fail(b, "too many nodes");
    int32_t first = g->n_lits, count = 0;
    if (single) {
        if (add_json_lit(g, vals) < 0) return fail(b, "const value too large");
        count = 1;
    } else {
        const cJSON *v;
        cJSON_ArrayForEach(v, vals) {
            if (count == JC_MAX_SET) return fail(b, "enum with more than 64 values");
            char *txt = cJSON_PrintUnformatted(v);
            bool dup = false;
            for (int32_t i = 0; txt && i < count; i++) {
                const jc_lit *l = &g->lits[first + i];
                dup |= l->len == strlen(txt) && !memcmp(g->pool + l->off, txt, l->len);
            }
            int32_t r = dup || !txt ? 0 : add_lit(g, txt, strlen(txt));
            cJSON_free(txt);
            if (!txt || r < 0) return fail(b, "enum value too large");
            if (!dup) count++;
        }
        if (count == 0) return fail(b, "'enum' must be a non-empty array");
    }
    /* a literal that is a strict prefix of another one of a different JSON type cannot be
     * told apart at its end (123 vs 1234 is fine: numbers end when a non-digit arrives) */
    g->nodes[node].first = first;
    g->nodes[node].count = count;
    return node;
}

static int32_t compile_union(jc_build *b, const cJSON *alts) {
    el_jc_grammar *g = b->g;
    int32_t tmp[JC_MAX_ALTS];
    int n = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, alts) {
        if (n == JC_MAX_ALTS) return fail(b, "anyOf with more than 16 alternatives");
        int32_t c = compile(b, a, NULL);
        if (c < 0) return -1;
        tmp[n++] = c;
    }
    if (n == 0) return fail(b, "anyOf/oneOf must be a non-empty array");
    if (n == 1) return tmp[0];
    bset seen = {{0}};
    for (int i = 0; i < n; i++) {
        bset f = {{0}};
        first_bytes(g, tmp[i], &f, 0);
        for (int w = 0; w < 4; w++)
            if (seen.w[w] & f.w[w])
                return fail(b, "%s",
                            "anyOf/oneOf alternatives must be of different JSON types "
                            "(e.g. string | null); alternatives that can start alike are not "
                            "supported");
        for (int w = 0; w < 4; w++)
            seen.w[w] |= f.w[w];
    }
    int32_t node = new_node(g, N_UNION);
    if (node < 0) return fail(b, "too many nodes");
    int32_t first = g->n_alts;
    for (int i = 0; i < n; i++)
        if (add_alt(g, tmp[i]) < 0) return fail(b, "too many nodes");
    g->nodes[node].first = first;
    g->nodes[node].count = n;
    return node;
}

/* integer bounds from minimum/maximum/exclusive*; true when any was given */
static bool int_bounds(jc_build *b, const cJSON *s, int64_t *lo, int64_t *hi) {
    *lo = -JC_INT_MAX;
    *hi = JC_INT_MAX;
    bool any = false;
    const char *keys[] = {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"};
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, keys[i]);
        if (!v) continue;
        if (cJSON_IsBool(v)) continue; /* draft-4 boolean exclusive*: treat as inclusive */
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
            fail(b, "'%s' must be a number", keys[i]);
            return false;
        }
        double d = v->valuedouble, r;
        if (i == 0)
            r = ceil(d);
        else if (i == 1)
            r = floor(d) + 1;
        else if (i == 2)
            r = floor(d);
        else
            r = ceil(d) - 1;
        if (r < (double)-JC_INT_MAX) r = (double)-JC_INT_MAX;
        if (r > (double)JC_INT_MAX) r = (double)JC_INT_MAX;
        if (i < 2)
            *lo = EL_MAX(*lo, (int64_t)r);
        else
            *hi = EL_MIN(*hi, (int64_t)r);
        any = true;
    }
    return any;
}

static int32_t compile_typed(jc_build *b, const cJSON *s, const char *type) {
    el_jc_grammar *g = b->g;
    if (!strcmp(type, "null")) {
        cJSON *nul = cJSON_CreateNull();
        int32_t r = nul ? compile_literals(b, nul, true) : fail(b, "out of memory");
        cJSON_Delete(nul);
        return r;
    }
    if (!strcmp(type, "boolean")) {
        int32_t node = new_node(g, N_LIT);
        if (node < 0) return fail(b, "too many nodes");
        g->nodes[node].first = g->nodes[NODE_TFN].first; /* true, false */
        g->nodes[node].count = 2;
        return node;
    }
    if (!strcmp(type, "string")) {
        int32_t node = new_node(g, N_STRING);
        if (node < 0) return fail(b, "too many nodes");
        int64_t mn = 0, mx = INT64_MAX;
        if (!get_int(s, "minLength", 0, 1 << 24, &mn, b) ||
            !get_int(s, "maxLength", 0, INT64_MAX / 2, &mx, b))
            return -1;
        if (mn > mx) return fail(b, "minLength > maxLength");
        g->nodes[node].min = mn;
        g->nodes[node].max = mx;
        return node;
    }
    if (!strcmp(type, "integer") || !strcmp(type, "number")) {
        int64_t lo, hi;
        bool bounded = int_bounds(b, s, &lo, &hi);
        if (b->failed) return -1;
        if (lo > hi)
            return fail(b, "%s",
                        "numeric range holds no integer (numbers with bounds are generated as "
                        "integers)");
        int32_t node = new_node(g, type[0] == 'i' ? N_INT : N_NUM);
        if (node < 0) return fail(b, "too many nodes");
        g->nodes[node].bounded = bounded || type[0] == 'i';
        g->nodes[node].min = lo;
        g->nodes[node].max = hi;
        return node;
    }
    if (!strcmp(type, "array")) {
        int32_t node = new_node(g, N_ARRAY);
        if (node < 0) return fail(b, "too many nodes");
        int64_t mn = 0, mx = INT64_MAX;
        if (!get_int(s, "minItems", 0, 1 << 20, &mn, b) ||
            !get_int(s, "maxItems", 0, INT64_MAX / 2, &mx, b))
            return -1;
        if (mn > mx) return fail(b, "minItems > maxItems");
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
        int32_t it = NODE_ANY;
        if (items) {
            if (cJSON_IsArray(items)) return fail(b, "'items' as an array (tuple form)");
            if ((it = compile(b, items, NULL)) < 0) return -1;
        }
        g->nodes[node].item = it;
        g->nodes[node].min = mn;
        g->nodes[node].max = mx;
        return node;
    }
    if (!strcmp(type, "object")) {
        const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
        const cJSON *addl = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
        if (props && !cJSON_IsObject(props)) return fail(b, "'properties' must be an object");
        if (req && !cJSON_IsArray(req)) return fail(b, "'required' must be an array");
        int32_t node = new_node(g, N_OBJECT);
        if (node < 0) return fail(b, "too many nodes");
        /* the property list: declared ones, then required names not declared (any value) */
        const char *names[JC_MAX_SET];
        const cJSON *schemas[JC_MAX_SET];
        int n = 0;
        const cJSON *p;
        cJSON_ArrayForEach(p, props) {
            if (n == JC_MAX_SET) return fail(b, "object with more than 64 properties");
            names[n] = p->string;
            schemas[n++] = p;
        }
        uint64_t required = 0;
        cJSON_ArrayForEach(p, req) {
            if (!cJSON_IsString(p)) return fail(b, "'required' must list strings");
            int i = 0;
            while (i < n && strcmp(names[i], p->valuestring))
                i++;
            if (i == n) {
                if (n == JC_MAX_SET) return fail(b, "object with more than 64 properties");
                names[n] = p->valuestring;
                schemas[n++] = NULL;
            }
            required |= 1ull << i;
        }
        if (n == 0) {
            /* free-form: any keys; values per additionalProperties (false: only {}) */
            if (cJSON_IsFalse(addl)) {
                g->nodes[node].count = 0;
                return node;
            }
            int32_t vn = NODE_ANY;
            if (addl && cJSON_IsObject(addl) && (vn = compile(b, addl, NULL)) < 0) return -1;
            g->nodes[node].free_keys = true;
            g->nodes[node].item = vn;
            return node;
        }
        int32_t kids[JC_MAX_SET];
        for (int i = 0; i < n; i++) {
            kids[i] = schemas[i] ? compile(b, schemas[i], NULL) : NODE_ANY;
            if (kids[i] < 0) return -1;
        }
        int32_t key_first = g->n_lits, first = g->n_props;
        for (int i = 0; i < n; i++) {
            if (add_str_lit(g, names[i]) < 0) return fail(b, "property name too long");
            if (add_prop(g, kids[i]) < 0) return fail(b, "too many nodes");
        }
        jc_node *o = &g->nodes[node];
        o->first = first;
        o->count = n;
        o->key_first = key_first;
        o->required = required;
        return node;
    }
    return fail(b, "unknown type '%s'", type);
}

static int32_t compile(jc_build *b, const cJSON *s, const char *force_type) {
    if (b->failed) return -1;
    if (cJSON_IsTrue(s)) return NODE_ANY;
    if (cJSON_IsFalse(s)) return fail(b, "schema 'false' accepts nothing");
    if (!cJSON_IsObject(s)) return fail(b, "a schema must be an object");
    if (++b->depth > 48) {
        b->depth--;
        return fail(b, "schema nested too deeply");
    }
    int32_t r = -1;
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
    if (ref && !force_type) {
        if (!cJSON_IsString(ref)) {
            r = fail(b, "'$ref' must be a string");
            goto out;
        }
        const cJSON *t = resolve_ref(b, ref->valuestring);
        if (!t) {
            r = fail(b, "cannot resolve $ref '%s' (only local #/... references)", ref->valuestring);
            goto out;
        }
        for (int i = 0; i < b->n_memo; i++)
            if (b->memo[i].target == t) {
                r = b->memo[i].node;
                goto out;
            }
        if (b->n_memo == (int)EL_ARRAY_LEN(b->memo)) {
            r = fail(b, "too many $ref targets");
            goto out;
        }
        /* a union of one alternative stands in for the target while it compiles, so that a
         * recursive reference resolves to it */
        int32_t ph = new_node(b->g, N_UNION);
        if (ph < 0 || add_alt(b->g, NODE_ANY) < 0) {
            r = fail(b, "too many nodes");
            goto out;
        }
        int slot = b->n_memo++;
        b->memo[slot].target = t;
        b->memo[slot].node = ph;
        int32_t alt_idx = b->g->n_alts - 1;
        b->g->nodes[ph].first = alt_idx;
        b->g->nodes[ph].count = 1;
        int32_t c = compile(b, t, NULL);
        if (c < 0) goto out;
        b->g->alts[alt_idx] = c;
        r = ph;
        goto out;
    }
    for (size_t i = 0; i < EL_ARRAY_LEN(unsupported); i++)
        if (cJSON_GetObjectItemCaseSensitive(s, unsupported[i])) {
            r = fail(b, "keyword '%s' is not supported", unsupported[i]);
            goto out;
        }
    const cJSON *x;
    if (!force_type && (x = cJSON_GetObjectItemCaseSensitive(s, "allOf"))) {
        if (!cJSON_IsArray(x) || cJSON_GetArraySize(x) != 1) {
            r = fail(b, "'allOf' is supported with exactly one schema");
            goto out;
        }
        r = compile(b, cJSON_GetArrayItem(x, 0), NULL);
        goto out;
    }
    if (!force_type && ((x = cJSON_GetObjectItemCaseSensitive(s, "anyOf")) ||
                        (x = cJSON_GetObjectItemCaseSensitive(s, "oneOf")))) {
        if (!cJSON_IsArray(x)) {
            r = fail(b, "'anyOf'/'oneOf' must be an array");
            goto out;
        }
        r = compile_union(b, x);
        goto out;
    }
    if (!force_type && (x = cJSON_GetObjectItemCaseSensitive(s, "const"))) {
        r = compile_literals(b, x, true);
        goto out;
    }
    if (!force_type && (x = cJSON_GetObjectItemCaseSensitive(s, "enum"))) {
        if (!cJSON_IsArray(x)) {
            r = fail(b, "'enum' must be an array");
            goto out;
        }
        r = compile_literals(b, x, false);
        goto out;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
    if (force_type) {
        r = compile_typed(b, s, force_type);
    } else if (cJSON_IsString(type)) {
        r = compile_typed(b, s, type->valuestring);
    } else if (cJSON_IsArray(type)) {
        /* a list of types: a union of the same schema under each type */
        int32_t tmp[8];
        int n = 0;
        const cJSON *t;
        cJSON_ArrayForEach(t, type) {
            if (!cJSON_IsString(t) || n == 8) {
                r = fail(b, "'type' must be a string or a short list of strings");
                goto out;
            }
            if ((tmp[n++] = compile(b, s, t->valuestring)) < 0) goto out;
        }
        if (n == 0) {
            r = fail(b, "'type' list is empty");
            goto out;
        }
        if (n == 1) {
            r = tmp[0];
            goto out;
        }
        bset seen = {{0}};
        for (int i = 0; i < n; i++) {
            bset f = {{0}};
            first_bytes(b->g, tmp[i], &f, 0);
            for (int w = 0; w < 4; w++)
                if (seen.w[w] & f.w[w]) {
                    r = fail(b, "'type' lists that overlap (integer and number) are not "
                                "supported");
                    goto out;
                }
            for (int w = 0; w < 4; w++)
                seen.w[w] |= f.w[w];
        }
        int32_t node = new_node(b->g, N_UNION);
        if (node < 0) {
            r = fail(b, "too many nodes");
            goto out;
        }
        b->g->nodes[node].first = b->g->n_alts;
        b->g->nodes[node].count = n;
        for (int i = 0; i < n; i++)
            if (add_alt(b->g, tmp[i]) < 0) {
                r = fail(b, "too many nodes");
                goto out;
            }
        r = node;
    } else if (type) {
        r = fail(b, "'type' must be a string or a list of strings");
    } else if (cJSON_GetObjectItemCaseSensitive(s, "properties") ||
               cJSON_GetObjectItemCaseSensitive(s, "required") ||
               cJSON_GetObjectItemCaseSensitive(s, "additionalProperties")) {
        r = compile_typed(b, s, "object");
    } else if (cJSON_GetObjectItemCaseSensitive(s, "items")) {
        r = compile_typed(b, s, "array");
    } else {
        r = NODE_ANY;
    }
out:
    b->depth--;
    return b->failed ? -1 : r;
}

static int set_affixes(el_jc_grammar *g, const char *prefix, const char *suffix) {
    if (prefix && *prefix) {
        if (!(g->prefix = strdup(prefix))) return -1;
        g->n_prefix = (uint32_t)strlen(prefix);
    }
    if (suffix && *suffix) {
        if (!(g->suffix = strdup(suffix))) return -1;
        g->n_suffix = (uint32_t)strlen(suffix);
    }
    return 0;
}

el_jc_grammar *el_jc_compile(const cJSON *schema, char *err, size_t errlen) {
    el_jc_grammar *g = grammar_new();
    if (!g) {
        el_errf(err, errlen, "out of memory");
        return NULL;
    }
    if (!schema) return g; /* root: any object */
    jc_build *b = calloc(1, sizeof *b);
    if (!b) {
        el_jc_free(g);
        el_errf(err, errlen, "out of memory");
        return NULL;
    }
    *b = (jc_build){.g = g, .root = schema, .err = err, .errlen = errlen};
    int32_t r = compile(b, schema, NULL);
    if (r < 0) {
        if (!b->failed) el_errf(err, errlen, "json schema: too large");
        free(b);
        el_jc_free(g);
        return NULL;
    }
    free(b);
    g->root = r;
    return g;
}

el_jc_grammar *el_jc_compile_tools(const char *prefix, const char *suffix, const char *name_key,
                                   const char *args_key, const char *const *names,
                                   const cJSON *const *params, int n, char *err, size_t errlen) {
    if (n < 1 || n > JC_MAX_SET) {
        el_errf(err, errlen, "tool grammar: 1..64 functions");
        return NULL;
    }
    el_jc_grammar *g = grammar_new();
    jc_build *b = calloc(1, sizeof *b);
    if (!g || !b || set_affixes(g, prefix, suffix)) {
        el_jc_free(g);
        free(b);
        el_errf(err, errlen, "out of memory");
        return NULL;
    }
    *b = (jc_build){.g = g, .err = err, .errlen = errlen};
    int32_t alts[JC_MAX_SET];
    for (int i = 0; i < n && !b->failed; i++) {
        b->root = params[i];
        b->n_memo = 0; /* $refs are per schema */
        alts[i] = params[i] ? compile(b, params[i], NULL) : NODE_ANY_OBJ;
    }
    int32_t names_node = -1, sw = -1, obj = -1;
    if (!b->failed) {
        names_node = new_node(g, N_LIT);
        sw = new_node(g, N_SWITCH);
        obj = new_node(g, N_OBJECT);
    }
    if (b->failed || names_node < 0 || sw < 0 || obj < 0) goto fail;
    g->nodes[names_node].first = g->n_lits;
    g->nodes[names_node].count = n;
    for (int i = 0; i < n; i++)
        if (add_str_lit(g, names[i]) < 0) goto fail;
    g->nodes[sw].first = g->n_alts;
    g->nodes[sw].count = n;
    for (int i = 0; i < n; i++)
        if (add_alt(g, alts[i]) < 0) goto fail;
    g->nodes[obj].key_first = g->n_lits;
    if (add_str_lit(g, name_key) < 0 || add_str_lit(g, args_key) < 0) goto fail;
    g->nodes[obj].first = g->n_props;
    if (add_prop(g, names_node) < 0 || add_prop(g, sw) < 0) goto fail;
    g->nodes[obj].count = 2;
    g->nodes[obj].required = 3;
    g->nodes[obj].ordered = true;
    g->root = obj;
    free(b);
    return g;
fail:
    if (!b->failed) el_errf(err, errlen, "tool grammar: too large");
    free(b);
    el_jc_free(g);
    return NULL;
}

/* ---- the validator ----------------------------------------------------------------------- */

static inline bool is_ws(unsigned c) {
    return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

void el_jc_init(el_jc_state *s, const el_jc_grammar *g) {
    s->g = g;
    s->pos = 0;
    s->top = 0;
    s->phase = PH_PREFIX;
    if (g->n_prefix == 0) {
        s->phase = PH_VALUE;
        s->st[0] = (jc_frame){.type = FR_VALUE, .node = g->root, .pick = -1, .sel = -1};
        s->top = 1;
    }
}

void el_jc_copy(el_jc_state *dst, const el_jc_state *src) {
    memcpy(dst, src, offsetof(el_jc_state, st) + (size_t)src->top * sizeof(jc_frame));
}

static int push(el_jc_state *s, uint8_t type, int32_t node) {
    if (s->top >= EL_JC_MAX_DEPTH) return -1;
    s->st[s->top++] = (jc_frame){.type = type, .node = node, .pick = -1, .sel = -1};
    return 0;
}

/* The frame below the top finished a child; update it. */
static void child_done(el_jc_state *s, const jc_frame *child) {
    if (s->top == 0) {
        s->phase = s->g->n_suffix ? PH_SUFFIX : PH_DONE;
        s->pos = 0;
        return;
    }
    jc_frame *p = &s->st[s->top - 1];
    if (p->type == FR_OBJ) {
        if (child->key) {
            p->phase = O_COLON;
            p->ws = 0;
            if (child->type == FR_LIT) {
                const jc_node *o = &s->g->nodes[p->node];
                p->pick = child->pick - o->key_first;
                p->mask |= 1ull << p->pick;
            } else {
                p->pick = -1;
            }
        } else {
            if (child->type == FR_LIT) p->sel = child->pick;
            p->phase = O_NEXT;
            p->ws = 0;
        }
    } else if (p->type == FR_ARR) {
        p->n++;
        p->phase = A_NEXT;
        p->ws = 0;
    }
}

static void pop(el_jc_state *s) {
    jc_frame child = s->st[--s->top];
    child_done(s, &child);
}

/* literal candidates of a literal frame: (first index, count) */
static void lit_set(const el_jc_state *s, const jc_frame *f, int32_t *first, int32_t *count) {
    const el_jc_grammar *g = s->g;
    if (f->key) {
        const jc_node *o = &g->nodes[s->st[s->top - 2].node];
        *first = o->key_first;
        *count = o->count;
    } else {
        *first = g->nodes[f->node].first;
        *count = g->nodes[f->node].count;
    }
}

/* A literal candidate has been matched whole (len == n) */
static int lit_complete(const el_jc_state *s, const jc_frame *f) {
    int32_t first, count;
    lit_set(s, f, &first, &count);
    for (int32_t i = 0; i < count; i++)
        if ((f->mask >> i) & 1 && s->g->lits[first + i].len == (uint32_t)f->n) return first + i;
    return -1;
}

/* Object: which properties may come next (bit i = prop first+i). */
static uint64_t obj_candidates(const jc_node *o, uint64_t seen) {
    uint64_t all = o->count >= 64 ? ~0ull : (1ull << o->count) - 1;
    uint64_t c = all & ~seen;
    if (o->ordered && c) c &= -c; /* lowest unseen only */
    return c;
}

static bool obj_can_close(const jc_node *o, uint64_t seen) {
    return (o->required & ~seen) == 0;
}

/* ---- numbers ------- */
/* aux: bits 0-7 integer digits, 8-15 fraction digits, 16-23 exponent digits, 24 negative */
#define ND(a) ((a)&0xff)
#define FD(a) (((a) >> 8) & 0xff)
#define ED(a) (((a) >> 16) & 0xff)
#define NEG(a) (((a) >> 24) & 1)

static const int64_t p10[19] = {1LL,
                                10LL,
                                100LL,
                                1000LL,
                                10000LL,
                                100000LL,
                                1000000LL,
                                10000000LL,
                                100000000LL,
                                1000000000LL,
                                10000000000LL,
                                100000000000LL,
                                1000000000000LL,
                                10000000000000LL,
                                100000000000000LL,
                                1000000000000000LL,
                                10000000000000000LL,
                                100000000000000000LL,
                                1000000000000000000LL};

/* Can an integer whose digits so far give magnitude mag (nd digits; nd 0 = only the sign
 * so far) still end inside [lo, hi]? mag 0 with nd 1 is a leading zero: no more digits. */
static bool int_feasible(bool neg, int64_t mag, int nd, int64_t lo, int64_t hi) {
    if (nd == 0) return neg ? lo <= -1 : hi >= 0;
    int maxk = (mag == 0) ? 0 : 18 - nd;
    for (int k = 0; k <= maxk; k++) {
        int64_t a = mag * p10[k], b = a + p10[k] - 1; /* magnitudes reachable */
        if (k > 0 && mag == 0) break;
        int64_t vlo = neg ? -b : a, vhi = neg ? -a : b;
        if (vhi >= lo && vlo <= hi) return true;
    }
    return false;
}

static bool int_in_range(bool neg, int64_t mag, int64_t lo, int64_t hi) {
    int64_t v = neg ? -mag : mag;
    return v >= lo && v <= hi;
}

static bool num_complete(const el_jc_state *s, const jc_frame *f) {
    if (!(f->phase == NM_ZERO || f->phase == NM_INT || f->phase == NM_FRAC || f->phase == NM_EXP))
        return false;
    const jc_node *n = &s->g->nodes[f->node];
    if (n->bounded) return int_in_range(NEG(f->aux), f->n, n->min, n->max);
    return true;
}

/* Feeds c to the number frame f. 1: consumed, 0: not part of the number (frame complete:
 * caller pops and re-feeds), -1: reject. */
static int num_byte(el_jc_state *s, jc_frame *f, unsigned c) {
    const jc_node *n = &s->g->nodes[f->node];
    bool digit = c >= '0' && c <= '9';
    int d = (int)c - '0';
    bool bounded = n->bounded; /* generated as an integer within [min, max] */
    switch (f->phase) {
    case NM_START:
        if (c == '-') {
            if (bounded && !int_feasible(true, 0, 0, n->min, n->max)) return -1;
            f->aux |= 1u << 24;
            f->phase = NM_MINUS;
            return 1;
        }
        /* fallthrough */
    case NM_MINUS:
        if (!digit) return -1;
        if (bounded && !int_feasible(NEG(f->aux), d, 1, n->min, n->max)) return -1;
        f->n = d;
        f->aux = (f->aux & ~0xffu) | 1u;
        f->phase = d == 0 ? NM_ZERO : NM_INT;
        return 1;
    case NM_ZERO:
    case NM_INT:
        if (digit && f->phase == NM_INT) {
            int nd = (int)ND(f->aux);
            if (nd >= (bounded ? 18 : JC_NUM_DIGITS)) return num_complete(s, f) ? 0 : -1;
            int64_t m = f->n * 10 + d;
            if (bounded && !int_feasible(NEG(f->aux), m, nd + 1, n->min, n->max))
                return num_complete(s, f) ? 0 : -1;
            f->n = m;
            f->aux = (f->aux & ~0xffu) | (uint32_t)(nd + 1);
            return 1;
        }
        if (!bounded && c == '.') {
            f->phase = NM_DOT;
            return 1;
        }
        if (!bounded && (c == 'e' || c == 'E')) {
            f->phase = NM_E;
            return 1;
        }
        return num_complete(s, f) ? 0 : -1;
    case NM_DOT:
        if (!digit) return -1;
        f->phase = NM_FRAC;
        f->aux += 1u << 8;
        return 1;
    case NM_FRAC:
        if (digit && FD(f->aux) < JC_FRAC_DIGITS) {
            f->aux += 1u << 8;
            return 1;
        }
        if (c == 'e' || c == 'E') {
            f->phase = NM_E;
            return 1;
        }
        return 0;
    case NM_E:
        if (c == '+' || c == '-') {
            f->phase = NM_ESIGN;
            return 1;
        }
        /* fallthrough */
    case NM_ESIGN:
        if (!digit) return -1;
        f->phase = NM_EXP;
        f->aux += 1u << 16;
        return 1;
    case NM_EXP:
        if (digit && ED(f->aux) < JC_EXP_DIGITS) {
            f->aux += 1u << 16;
            return 1;
        }
        return 0;
    }
    return -1;
}

/* ---- strings ------- */
/* aux for S_UTF8: bits 0-7 continuation bytes left, 8-15 low bound, 16-23 high bound of the
 * next one; for S_U: bits 0-7 hex digits read, 8-23 value */
static int str_byte(el_jc_state *s, jc_frame *f, unsigned c) {
    const jc_node *n = &s->g->nodes[f->node];
    int64_t mx = f->key ? INT64_MAX : n->max, mn = f->key ? 0 : n->min;
    switch (f->phase) {
    case S_CHAR:
        if (c == '"') {
            if (f->n < mn) return -1;
            pop(s);
            return 1;
        }
        if (f->n >= mx) return -1;
        if (c == '\\') {
            f->phase = S_ESC;
            return 1;
        }
        if (c < 0x20) return -1;
        if (c < 0x80) {
            f->n++;
            return 1;
        }
        {
            int len = el_utf8_len((unsigned char)c);
            if (len < 2) return -1;
            unsigned lo = 0x80, hi = 0xBF;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
            else if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
            f->aux = (uint32_t)(len - 1) | lo << 8 | hi << 16;
            f->phase = S_UTF8;
            return 1;
        }
    case S_UTF8: {
        unsigned lo = (f->aux >> 8) & 0xff, hi = (f->aux >> 16) & 0xff;
        if (c < lo || c > hi) return -1;
        uint32_t left = (f->aux & 0xff) - 1;
        f->aux = left | 0x80u << 8 | 0xBFu << 16;
        if (left == 0) {
            f->n++;
            f->phase = S_CHAR;
        }
        return 1;
    }
    case S_ESC:
        if (c == 'u') {
            f->phase = S_U;
            f->aux = 0;
            return 1;
        }
        if (!strchr("\"\\/bfnrt", (int)c) || c == 0) return -1;
        f->n++;
        f->phase = S_CHAR;
        return 1;
    case S_U: {
        int v;
        if (c >= '0' && c <= '9')
            v = (int)c - '0';
        else if (c >= 'a' && c <= 'f')
            v = (int)c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = (int)c - 'A' + 10;
        else
            return -1;
        uint32_t cnt = (f->aux & 0xff) + 1, val = ((f->aux >> 8) << 4) | (uint32_t)v;
        if (cnt == 2 && val >= 0xD8 && val <= 0xDF) return -1; /* surrogates */
        if (cnt == 4) {
            if (val == 0) return -1; /* NUL would cut C strings downstream */
            f->n++;
            f->phase = S_CHAR;
            f->aux = 0;
            return 1;
        }
        f->aux = cnt | val << 8;
        return 1;
    }
    }
    return -1;
}

/* ---- literals ------- */
static int lit_byte(el_jc_state *s, jc_frame *f, unsigned c) {
    int32_t first, count;
    lit_set(s, f, &first, &count);
    const el_jc_grammar *g = s->g;
    uint64_t nm = 0, mask = f->mask;
    for (int32_t i = 0; i < count; i++) {
        if (!((mask >> i) & 1)) continue;
        const jc_lit *l = &g->lits[first + i];
        if (l->len > (uint32_t)f->n && (unsigned char)g->pool[l->off + (uint32_t)f->n] == c)
            nm |= 1ull << i;
    }
    if (nm) {
        f->mask = nm;
        f->n++;
        /* eager end: every live candidate is now complete */
        bool all = true;
        for (int32_t i = 0; i < count && all; i++)
            if ((nm >> i) & 1 && g->lits[first + i].len != (uint32_t)f->n) all = false;
        if (all) {
            f->pick = lit_complete(s, f);
            pop(s);
        }
        return 1;
    }
    int done = lit_complete(s, f);
    if (done < 0) return -1;
    f->pick = done;
    return 0; /* complete: the byte belongs to the parent */
}

/* Starts a value of node `node` in frame f (which is FR_VALUE) with first byte c. */
static int value_start(el_jc_state *s, jc_frame *f, unsigned c) {
    const el_jc_grammar *g = s->g;
    int32_t node = f->node;
    for (int guard = 0; guard < 64; guard++) {
        const jc_node *n = &g->nodes[node];
        if (n->kind == N_SWITCH) {
            jc_frame *parent = s->top >= 2 ? &s->st[s->top - 2] : NULL;
            int32_t names_first = -1;
            if (parent && parent->type == FR_OBJ && parent->sel >= 0) {
                const jc_node *o = &g->nodes[parent->node];
                names_first = g->nodes[g->props[o->first]].first;
            }
            int32_t k = names_first >= 0 ? parent->sel - names_first : -1;
            if (k < 0 || k >= n->count) return -1;
            node = g->alts[n->first + k];
            continue;
        }
        if (n->kind == N_UNION) {
            int32_t pickd = -1;
            for (int32_t i = 0; i < n->count && pickd < 0; i++) {
                bset b = {{0}};
                first_bytes(g, g->alts[n->first + i], &b, 0);
                if (bs_has(&b, c)) pickd = g->alts[n->first + i];
            }
            if (pickd < 0) return -1;
            node = pickd;
            continue;
        }
        if (n->kind == N_ANY) {
            if (c == '{')
                node = NODE_ANY_OBJ;
            else if (c == '[')
                node = NODE_ANY_ARR;
            else if (c == '"')
                node = NODE_ANY_STR;
            else if (c == '-' || (c >= '0' && c <= '9'))
                node = NODE_ANY_NUM;
            else if (c == 't' || c == 'f' || c == 'n')
                node = NODE_TFN;
            else
                return -1;
            continue;
        }
        break;
    }
    const jc_node *n = &g->nodes[node];
    uint8_t key = f->key;
    *f = (jc_frame){.node = node, .pick = -1, .sel = -1, .key = key};
    switch (n->kind) {
    case N_OBJECT:
        if (c != '{') return -1;
        f->type = FR_OBJ;
        f->phase = O_OPEN;
        return 1;
    case N_ARRAY:
        if (c != '[') return -1;
        f->type = FR_ARR;
        f->phase = A_OPEN;
        return 1;
    case N_STRING:
        if (c != '"') return -1;
        f->type = FR_STR;
        f->phase = S_CHAR;
        return 1;
    case N_INT:
    case N_NUM:
        f->type = FR_NUM;
        f->phase = NM_START;
        return num_byte(s, f, c) == 1 ? 1 : -1;
    case N_LIT:
        f->type = FR_LIT;
        f->mask = n->count >= 64 ? ~0ull : (1ull << n->count) - 1;
        return lit_byte(s, f, c) == 1 ? 1 : -1;
    default:
        return -1;
    }
}

/* Whitespace between tokens: none, one space, or a newline and up to EL_JC_MAX_INDENT spaces
 * or tabs (llama.cpp's JSON grammar rule). Enough for compact and pretty-printed JSON, and it
 * keeps a model that likes whitespace from spending its tokens on it. f->ws: 0 nothing yet,
 * 1 one space, 2 + k a newline and k indent characters. */
static int gap_ws(jc_frame *f, unsigned c) {
    if (f->ws == 0) {
        if (c == ' ' || c == '\n') {
            f->ws = c == ' ' ? 1 : 2;
            return 1;
        }
        return -1;
    }
    if (f->ws >= 2 && (c == ' ' || c == '\t') && f->ws < 2 + EL_JC_MAX_INDENT) {
        f->ws++;
        return 1;
    }
    return -1;
}
static int step(el_jc_state *s, unsigned c) {
    const el_jc_grammar *g = s->g;
    for (int guard = 0; guard < EL_JC_MAX_DEPTH + 4; guard++) {
        if (s->phase == PH_PREFIX) {
            if ((unsigned char)g->prefix[s->pos] != c) return -1;
            if (++s->pos == g->n_prefix) {
                s->phase = PH_VALUE;
                s->pos = 0;
                s->top = 0;
                push(s, FR_VALUE, g->root);
            }
            return 0;
        }
        if (s->phase == PH_SUFFIX) {
            if ((unsigned char)g->suffix[s->pos] != c) return -1;
            if (++s->pos == g->n_suffix) s->phase = PH_DONE;
            return 0;
        }
        if (s->phase == PH_DONE || s->top == 0) return -1;
        jc_frame *f = &s->st[s->top - 1];
        int r;
        switch (f->type) {
        case FR_VALUE:
            if (is_ws(c)) /* no whitespace before the document itself (after a prefix: a gap) */
                return (s->top == 1 && !g->n_prefix) || gap_ws(f, c) < 0 ? -1 : 0;
            return value_start(s, f, c) < 0 ? -1 : 0;
        case FR_OBJ: {
            const jc_node *o = &g->nodes[f->node];
            switch (f->phase) {
            case O_OPEN:
            case O_COMMA:
                if (is_ws(c)) return gap_ws(f, c) < 0 ? -1 : 0;
                if (c == '}' && f->phase == O_OPEN && (o->free_keys || obj_can_close(o, f->mask))) {
                    pop(s);
                    return 0;
                }
                if (c != '"') return -1;
                f->phase = O_KEY;
                f->ws = 0;
                if (o->free_keys) {
                    if (push(s, FR_STR, NODE_ANY_STR)) return -1;
                    s->st[s->top - 1].key = 1;
                    s->st[s->top - 1].phase = S_CHAR;
                    return 0;
                }
                {
                    uint64_t cand = obj_candidates(o, f->mask);
                    if (!cand) return -1;
                    if (push(s, FR_LIT, f->node)) return -1;
                    jc_frame *k = &s->st[s->top - 1];
                    k->key = 1;
                    k->mask = cand;
                    return lit_byte(s, k, c) == 1 ? 0 : -1;
                }
            case O_COLON:
                if (is_ws(c)) return gap_ws(f, c) < 0 ? -1 : 0;
                if (c != ':') return -1;
                f->phase = O_VAL;
                f->ws = 0;
                return push(s, FR_VALUE, f->pick >= 0 ? g->props[o->first + f->pick] : o->item) ? -1
                                                                                                : 0;
            case O_NEXT:
                if (is_ws(c)) return gap_ws(f, c) < 0 ? -1 : 0;
                if (c == '}' && (o->free_keys || obj_can_close(o, f->mask))) {
                    pop(s);
                    return 0;
                }
                if (c == ',' && (o->free_keys || obj_candidates(o, f->mask))) {
                    f->phase = O_COMMA;
                    f->ws = 0;
                    return 0;
                }
                return -1;
            default:
                return -1; /* O_KEY / O_VAL: a child is on top */
            }
        }
        case FR_ARR: {
            const jc_node *a = &g->nodes[f->node];
            if (f->phase == A_OPEN) {
                if (is_ws(c)) return gap_ws(f, c) < 0 ? -1 : 0;
                if (c == ']') {
                    if (f->n < a->min) return -1;
                    pop(s);
                    return 0;
                }
                if (a->max < 1) return -1;
                f->phase = A_VAL;
                if (push(s, FR_VALUE, a->item)) return -1;
                continue; /* c starts the item */
            }
            if (f->phase == A_NEXT) {
                if (is_ws(c)) return gap_ws(f, c) < 0 ? -1 : 0;
                if (c == ']' && f->n >= a->min) {
                    pop(s);
                    return 0;
                }
                if (c == ',' && f->n < a->max) {
                    f->phase = A_VAL;
                    f->ws = 0;
                    return push(s, FR_VALUE, a->item) ? -1 : 0;
                }
                return -1;
            }
            return -1;
        }
        case FR_STR:
            return str_byte(s, f, c) < 0 ? -1 : 0;
        case FR_NUM:
            r = num_byte(s, f, c);
            if (r < 0) return -1;
            if (r == 1) return 0;
            pop(s); /* complete; c goes to the parent */
            continue;
        case FR_LIT:
            r = lit_byte(s, f, c);
            if (r < 0) return -1;
            if (r == 1) return 0;
            pop(s);
            continue;
        }
        return -1;
    }
    return -1;
}

int el_jc_feed(el_jc_state *s, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (step(s, (unsigned char)p[i]) < 0) return -1;
    return 0;
}

bool el_jc_done(const el_jc_state *s) {
    return s->phase == PH_DONE;
}

bool el_jc_can_end(const el_jc_state *s) {
    if (s->phase == PH_DONE) return true;
    if (s->phase != PH_VALUE || s->g->n_suffix || s->top != 1) return false;
    const jc_frame *f = &s->st[0];
    if (f->type == FR_NUM) return num_complete(s, f);
    if (f->type == FR_LIT) return lit_complete(s, f) >= 0;
    return false;
}

/* ---- token masks -------------------------------------------------------------------------- */

struct el_jc_vocab {
    int32_t n_vocab;
    char *text;          /* all token texts back to back */
    uint32_t *off;       /* (n_vocab + 1) offsets into text */
    int32_t *by_byte;    /* token ids with non-empty text, grouped by first byte */
    uint32_t start[257]; /* by_byte[start[b] .. start[b+1]) begin with byte b */
    int32_t *eog;        /* end-of-generation ids */
    int32_t n_eog;
};

el_jc_vocab *el_jc_vocab_new(int32_t n_vocab, int (*text)(void *u, int32_t id, char *buf, int cap),
                             bool (*eog)(void *u, int32_t id), void *u, char *err, size_t errlen) {
    el_jc_vocab *v = calloc(1, sizeof *v);
    size_t cap = (size_t)n_vocab * 8 + 64, used = 0;
    if (!v || n_vocab <= 0) goto oom;
    v->n_vocab = n_vocab;
    v->text = malloc(cap);
    v->off = malloc(((size_t)n_vocab + 1) * sizeof *v->off);
    v->by_byte = malloc((size_t)n_vocab * sizeof *v->by_byte);
    v->eog = malloc((size_t)n_vocab * sizeof *v->eog);
    if (!v->text || !v->off || !v->by_byte || !v->eog) goto oom;
    char buf[512];
    uint32_t count[256] = {0};
    for (int32_t id = 0; id < n_vocab; id++) {
        v->off[id] = (uint32_t)used;
        if (eog(u, id)) {
            v->eog[v->n_eog++] = id;
            continue; /* never text */
        }
        int n = text(u, id, buf, (int)sizeof buf);
        if (n < 0 || n > (int)sizeof buf) n = 0; /* absurdly long pieces: never allowed */
        if (used + (size_t)n > cap) {
            while (used + (size_t)n > cap)
                cap *= 2;
            if (cap > UINT32_MAX) goto oom;
            char *nt = realloc(v->text, cap);
            if (!nt) goto oom;
            v->text = nt;
        }
        memcpy(v->text + used, buf, (size_t)n);
        used += (size_t)n;
        if (n > 0) count[(unsigned char)buf[0]]++;
    }
    v->off[n_vocab] = (uint32_t)used;
    v->start[0] = 0;
    for (int b = 0; b < 256; b++)
        v->start[b + 1] = v->start[b] + count[b];
    uint32_t fill[256];
    memcpy(fill, v->start, sizeof fill);
    for (int32_t id = 0; id < n_vocab; id++)
        if (v->off[id + 1] > v->off[id])
            v->by_byte[fill[(unsigned char)v->text[v->off[id]]]++] = id;
    return v;
oom:
    el_jc_vocab_free(v);
    el_errf(err, errlen, "out of memory building the vocabulary index");
    return NULL;
}

void el_jc_vocab_free(el_jc_vocab *v) {
    if (!v) return;
    free(v->text);
    free(v->off);
    free(v->by_byte);
    free(v->eog);
    free(v);
}

int32_t el_jc_vocab_eog(const el_jc_vocab *v, const int32_t **ids) {
    *ids = v->eog;
    return v->n_eog;
}

static bool token_fits(const el_jc_state *s, const el_jc_vocab *v, int32_t id) {
    el_jc_state t;
    el_jc_copy(&t, s);
    uint32_t a = v->off[id], b = v->off[id + 1];
    return b > a && el_jc_feed(&t, v->text + a, b - a) == 0;
}

#define JC_TOPK_MAX 64

int el_jc_mask(const el_jc_state *s, const el_jc_vocab *v, const float *in, float *out, int k) {
    const int32_t nv = v->n_vocab;
    bool first_ok[256];
    el_jc_state t;
    for (int c = 0; c < 256; c++) {
        el_jc_copy(&t, s);
        char ch = (char)c;
        first_ok[c] = v->start[c + 1] > v->start[c] && el_jc_feed(&t, &ch, 1) == 0;
    }
    bool end_ok = el_jc_can_end(s);
    for (int32_t i = 0; i < nv; i++)
        out[i] = -INFINITY;
    int allowed = 0;
    if (end_ok)
        for (int32_t i = 0; i < v->n_eog; i++) {
            out[v->eog[i]] = in[v->eog[i]];
            allowed++;
        }
    /* top-k candidates (by logit) whose first byte fits, best first */
    if (k > JC_TOPK_MAX) k = JC_TOPK_MAX;
    int32_t top[JC_TOPK_MAX];
    int nt = 0;
    if (k > 0) {
        for (int c = 0; c < 256; c++) {
            if (!first_ok[c]) continue;
            for (uint32_t j = v->start[c]; j < v->start[c + 1]; j++) {
                int32_t id = v->by_byte[j];
                float x = in[id];
                if (!(x > -INFINITY)) continue; /* banned or NaN */
                int p;
                if (nt < k) {
                    p = nt++;
                } else {
                    if (!(x > in[top[k - 1]])) continue;
                    p = k - 1;
                }
                while (p > 0 && in[top[p - 1]] < x) {
                    top[p] = top[p - 1];
                    p--;
                }
                top[p] = id;
            }
        }
        int found = 0;
        for (int i = 0; i < nt; i++)
            if (token_fits(s, v, top[i])) {
                out[top[i]] = in[top[i]];
                found++;
            }
        if (found) return allowed + found;
    }
    for (int c = 0; c < 256; c++) {
        if (!first_ok[c]) continue;
        for (uint32_t j = v->start[c]; j < v->start[c + 1]; j++) {
            int32_t id = v->by_byte[j];
            if (!(in[id] > -INFINITY)) continue; /* banned or NaN */
            if (token_fits(s, v, id)) {
                out[id] = in[id];
                allowed++;
            }
        }
    }
    return allowed;
}
