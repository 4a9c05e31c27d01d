/* test_json_constrain — the JSON-schema validator that constrains generation
 * (src/server/json_constrain.c): whole documents and byte-at-a-time feeding accept exactly
 * what they should; random walks over allowed bytes always finish in documents that parse and
 * validate (checked by an independent little validator below); no walk gets stuck; forced
 * tool-call grammars; schema errors; the token mask over a made-up vocabulary. */
#include <math.h>

#include "core/core.h"
#include "server/json_constrain.h"
#include "test.h"

static el_jc_grammar *compile_str(const char *schema_json, char *err, size_t errlen) {
    if (!schema_json) return el_jc_compile(NULL, err, errlen);
    cJSON *s = cJSON_Parse(schema_json);
    if (!s) {
        snprintf(err, errlen, "bad test schema");
        return NULL;
    }
    el_jc_grammar *g = el_jc_compile(s, err, errlen);
    cJSON_Delete(s);
    return g;
}

/* accepts(whole) and accepts(byte by byte) agree; returns 1 valid+complete, 0 valid prefix,
 * -1 rejected */
static int feed_doc(const el_jc_grammar *g, const char *doc) {
    el_jc_state a, b;
    el_jc_init(&a, g);
    el_jc_init(&b, g);
    int ra = el_jc_feed(&a, doc, strlen(doc));
    int rb = 0;
    for (size_t i = 0; doc[i] && rb == 0; i++)
        rb = el_jc_feed(&b, doc + i, 1);
    CHECK(ra == rb, "whole vs bytewise disagree on '%s'", doc);
    if (ra < 0) return -1;
    return el_jc_can_end(&a) ? 1 : 0;
}

/* ---- an independent validator for the subset the tests use ---- */
static bool validate(const cJSON *v, const cJSON *s, const cJSON *root, int depth);

static bool validate_type(const cJSON *v, const char *t) {
    if (!strcmp(t, "object")) return cJSON_IsObject(v);
    if (!strcmp(t, "array")) return cJSON_IsArray(v);
    if (!strcmp(t, "string")) return cJSON_IsString(v);
    if (!strcmp(t, "number")) return cJSON_IsNumber(v);
    if (!strcmp(t, "integer")) return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble);
    if (!strcmp(t, "boolean")) return cJSON_IsBool(v);
    if (!strcmp(t, "null")) return cJSON_IsNull(v);
    return false;
}

static size_t cps(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool validate(const cJSON *v, const cJSON *s, const cJSON *root, int depth) {
    if (depth > 40) return false;
    const cJSON *x;
    if ((x = cJSON_GetObjectItem(s, "$ref"))) {
        const char *r = x->valuestring + strlen("#/$defs/");
        return validate(v, cJSON_GetObjectItem(cJSON_GetObjectItem(root, "$defs"), r), root,
                        depth + 1);
    }
    if ((x = cJSON_GetObjectItem(s, "anyOf"))) {
        const cJSON *a;
        cJSON_ArrayForEach(a, x) if (validate(v, a, root, depth + 1)) return true;
        return false;
    }
    if ((x = cJSON_GetObjectItem(s, "enum"))) {
        const cJSON *a;
        cJSON_ArrayForEach(a, x) if (cJSON_Compare(a, v, true)) return true;
        return false;
    }
    if ((x = cJSON_GetObjectItem(s, "const"))) return cJSON_Compare(x, v, true);
    if ((x = cJSON_GetObjectItem(s, "type"))) {
        bool ok = false;
        if (cJSON_IsString(x)) ok = validate_type(v, x->valuestring);
        const cJSON *a;
        if (cJSON_IsArray(x)) cJSON_ArrayForEach(a, x) ok |= validate_type(v, a->valuestring);
        if (!ok) return false;
    }
    if (cJSON_IsNumber(v)) {
        if ((x = cJSON_GetObjectItem(s, "minimum")) && v->valuedouble < x->valuedouble)
            return false;
        if ((x = cJSON_GetObjectItem(s, "maximum")) && v->valuedouble > x->valuedouble)
            return false;
        if ((x = cJSON_GetObjectItem(s, "exclusiveMaximum")) && v->valuedouble >= x->valuedouble)
            return false;
    }
    if (cJSON_IsString(v)) {
        if ((x = cJSON_GetObjectItem(s, "minLength")) && cps(v->valuestring) < (size_t)x->valueint)
            return false;
        if ((x = cJSON_GetObjectItem(s, "maxLength")) && cps(v->valuestring) > (size_t)x->valueint)
            return false;
    }
    if (cJSON_IsArray(v)) {
        int n = cJSON_GetArraySize(v);
        if ((x = cJSON_GetObjectItem(s, "minItems")) && n < x->valueint) return false;
        if ((x = cJSON_GetObjectItem(s, "maxItems")) && n > x->valueint) return false;
        const cJSON *items = cJSON_GetObjectItem(s, "items"), *a;
        if (items) cJSON_ArrayForEach(a, v) if (!validate(a, items, root, depth + 1)) return false;
    }
    if (cJSON_IsObject(v)) {
        const cJSON *props = cJSON_GetObjectItem(s, "properties"), *a;
        const cJSON *addl = cJSON_GetObjectItem(s, "additionalProperties");
        cJSON_ArrayForEach(a, cJSON_GetObjectItem(s, "required")) {
            if (!cJSON_GetObjectItemCaseSensitive(v, a->valuestring)) return false;
        }
        cJSON_ArrayForEach(a, v) {
            const cJSON *ps = props ? cJSON_GetObjectItemCaseSensitive(props, a->string) : NULL;
            if (ps && !validate(a, ps, root, depth + 1)) return false;
            if (!ps && cJSON_IsFalse(addl)) return false;
            if (!ps && cJSON_IsObject(addl) && !validate(a, addl, root, depth + 1)) return false;
        }
    }
    return true;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* Random walk: at each step choose uniformly among allowed bytes (ending counts as one
 * choice when allowed, weighted by end_bias). Returns the document (static buffer) or NULL
 * when stuck. */
static const char *walk(const el_jc_grammar *g, int max_len, int end_bias, bool *stuck) {
    static char doc[8192];
    el_jc_state s, t;
    el_jc_init(&s, g);
    int n = 0;
    *stuck = false;
    while (n < max_len && n < (int)sizeof doc - 1) {
        if (el_jc_done(&s)) break;
        unsigned char ok[256];
        int nok = 0;
        for (int c = 1; c < 256; c++) {
            el_jc_copy(&t, &s);
            char ch = (char)c;
            if (el_jc_feed(&t, &ch, 1) == 0) ok[nok++] = (unsigned char)c;
        }
        bool can_end = el_jc_can_end(&s);
        if (nok == 0 && !can_end) {
            *stuck = true;
            break;
        }
        if (can_end && (nok == 0 || (int)(rnd() % 100) < end_bias)) break;
        /* prefer structure-closing bytes a little so walks finish */
        unsigned char c = ok[rnd() % (uint32_t)nok];
        for (int i = 0; i < nok; i++)
            if ((ok[i] == '"' || ok[i] == '}' || ok[i] == ']') && rnd() % 4 == 0) c = ok[i];
        doc[n++] = (char)c;
        if (el_jc_feed(&s, (const char *)&c, 1) != 0) {
            CHECK(0, "allowed byte rejected");
            return NULL;
        }
    }
    doc[n] = 0;
    return el_jc_can_end(&s) ? doc : NULL;
}

static void test_basic_accept_reject(void) {
    char err[256];
    el_jc_grammar *g = compile_str(NULL, err, sizeof err); /* json_object: any object */
    REQUIRE(g, "%s", err);
    CHECK(feed_doc(g, "{}") == 1);
    CHECK(feed_doc(g, "{\"a\": [1, 2.5e3, -0, true, null, \"x\\u00e9\\n\"], \"b\": {}}") == 1);
    CHECK(feed_doc(g, " {\"a\":1}") == -1, "no whitespace before the document");
    CHECK(feed_doc(g, "{\n  \"a\": [1, 2],\n\t\"b\" : {\n  }\n}") == 1, "pretty-printed");
    CHECK(feed_doc(g, "{\"a\":") == 0, "prefix");
    CHECK(feed_doc(g, "[1]") == -1, "json_object wants an object");
    CHECK(feed_doc(g, "{\"a\":01}") == -1, "leading zero");
    CHECK(feed_doc(g, "{\"a\":1.}") == -1);
    CHECK(feed_doc(g, "{\"a\":tru}") == -1);
    CHECK(feed_doc(g, "{\"a\":\"\\ud800\"}") == -1, "surrogate escape");
    CHECK(feed_doc(g, "{\"a\":\"\\u0000\"}") == -1, "NUL escape");
    CHECK(feed_doc(g, "{\"a\":\"\x01\"}") == -1, "raw control char");
    CHECK(feed_doc(g, "{\"a\":\"\xc3\xa9\"}") == 1, "UTF-8");
    CHECK(feed_doc(g, "{\"a\":\"\xc3\"}") == -1, "truncated UTF-8");
    CHECK(feed_doc(g, "{\"a\":\"\xed\xa0\x80\"}") == -1, "UTF-8 surrogate");
    CHECK(feed_doc(g, "{\"a\":\"\xe0\x80\xaf\"}") == -1, "overlong");
    CHECK(feed_doc(g, "{}x") == -1, "nothing after the document");
    CHECK(feed_doc(g, "{,}") == -1);
    CHECK(feed_doc(g, "{\"a\" 1}") == -1);
    /* whitespace gaps: none, one space, or a newline and up to 20 spaces/tabs */
    CHECK(feed_doc(g, "{  }") == -1, "two spaces");
    CHECK(feed_doc(g, "{\t}") == -1, "a tab alone");
    CHECK(feed_doc(g, "{ \n}") == -1, "space then newline");
    char big[64] = "{\n";
    memset(big + 2, ' ', EL_JC_MAX_INDENT);
    strcat(big, "}");
    CHECK(feed_doc(g, big) == 1, "newline + maximal indent");
    big[2 + EL_JC_MAX_INDENT] = ' ';
    big[3 + EL_JC_MAX_INDENT] = 0;
    CHECK(feed_doc(g, big) == -1, "indent too deep");
    /* nesting is bounded */
    char deep[EL_JC_MAX_DEPTH * 6 + 8] = "";
    for (int i = 0; i < EL_JC_MAX_DEPTH + 1; i++)
        strcat(deep, "{\"a\":");
    CHECK(feed_doc(g, deep) == -1, "too deep");
    el_jc_free(g);
}

static void test_schema_objects(void) {
    char err[256];
    const char *schema = "{\"type\":\"object\",\"properties\":{"
                         "\"name\":{\"type\":\"string\",\"maxLength\":5},"
                         "\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":150},"
                         "\"color\":{\"enum\":[\"red\",\"green\",1,null]},"
                         "\"ok\":{\"type\":\"boolean\"}},"
                         "\"required\":[\"name\",\"age\"],\"additionalProperties\":false}";
    el_jc_grammar *g = compile_str(schema, err, sizeof err);
    REQUIRE(g, "%s", err);
    CHECK(feed_doc(g, "{\"name\":\"bob\",\"age\":42}") == 1);
    CHECK(feed_doc(g, "{\"age\":150,\"name\":\"\",\"color\":null,\"ok\":false}") == 1, "any order");
    CHECK(feed_doc(g, "{\"name\":\"bob\"}") == -1, "age is required");
    CHECK(feed_doc(g, "{\"name\":\"bobbyx\",\"age\":1}") == -1, "maxLength");
    CHECK(feed_doc(g, "{\"name\":\"b\",\"age\":151}") == -1, "maximum");
    CHECK(feed_doc(g, "{\"name\":\"b\",\"age\":-1}") == -1, "minimum");
    CHECK(feed_doc(g, "{\"name\":\"b\",\"age\":1.5}") == -1, "integer");
    CHECK(feed_doc(g, "{\"name\":\"b\",\"name\":\"c\",\"age\":1}") == -1, "duplicate key");
    CHECK(feed_doc(g, "{\"name\":\"b\",\"age\":1,\"x\":1}") == -1, "undeclared key");
    CHECK(feed_doc(g, "{\"name\":\"b\",\"age\":1,\"color\":\"blue\"}") == -1, "enum");
    CHECK(feed_doc(g, "{\"name\":\"b\",\"age\":1,\"color\":1}") == 1, "enum number");
    CHECK(feed_doc(g, "{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\",\"age\":0}") == 1,
          "maxLength counts code points");
    el_jc_free(g);
}

static void test_numbers(void) {
    char err[256];
    el_jc_grammar *g =
        compile_str("{\"type\":\"integer\",\"minimum\":-20,\"maximum\":305}", err, sizeof err);
    REQUIRE(g, "%s", err);
    CHECK(feed_doc(g, "305") == 1);
    CHECK(feed_doc(g, "-20") == 1);
    CHECK(feed_doc(g, "306") == -1);
    CHECK(feed_doc(g, "-21") == -1);
    CHECK(feed_doc(g, "-3") == 1);
    CHECK(feed_doc(g, "31") == 1, "31 can end (and could become 310? no: 310 > 305)");
    CHECK(feed_doc(g, "4") == 1);
    CHECK(feed_doc(g, "40") == 1);
    CHECK(feed_doc(g, "400") == -1);
    CHECK(feed_doc(g, "0") == 1);
    CHECK(feed_doc(g, "00") == -1);
    el_jc_free(g);
    g = compile_str("{\"type\":\"integer\",\"minimum\":100,\"maximum\":200}", err, sizeof err);
    REQUIRE(g, "%s", err);
    CHECK(feed_doc(g, "1") == 0, "1 is a prefix of 100..199 but cannot end");
    CHECK(feed_doc(g, "3") == -1, "no value in range starts with 3");
    CHECK(feed_doc(g, "-") == -1);
    el_jc_free(g);
    g = compile_str("{\"type\":\"number\"}", err, sizeof err);
    REQUIRE(g, "%s", err);
    CHECK(feed_doc(g, "-12.5e+3") == 1);
    CHECK(feed_doc(g, "1e") == 0);
    CHECK(feed_doc(g, "1234567890123456") == -1, "15 integer digits at most");
    el_jc_free(g);
    g = compile_str("{\"type\":\"number\",\"exclusiveMinimum\":0.5,\"maximum\":3.7}", err,
                    sizeof err);
    REQUIRE(g, "%s", err);
    CHECK(feed_doc(g, "1") == 1);
    CHECK(feed_doc(g, "3") == 1);
    CHECK(feed_doc(g, "0") == -1);
    CHECK(feed_doc(g, "1.5") == -1, "bounded numbers are generated as integers");
    el_jc_free(g);
}

static void test_unions_refs_arrays(void) {
    char err[256];
    const char *schema =
        "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{"
        "\"v\":{\"type\":[\"string\",\"null\"],\"maxLength\":3},"
        "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"},\"maxItems\":2}},"
        "\"required\":[\"v\"]}},"
        "\"$ref\":\"#/$defs/node\"}";
    el_jc_grammar *g = compile_str(schema, err, sizeof err);
    REQUIRE(g, "%s", err);
    CHECK(feed_doc(g, "{\"v\":null}") == 1);
    CHECK(feed_doc(g, "{\"v\":\"ab\",\"kids\":[{\"v\":null,\"kids\":[]},{\"v\":\"x\"}]}") == 1,
          "recursion");
    CHECK(feed_doc(g, "{\"v\":\"ab\",\"kids\":[{\"v\":null},{\"v\":null},{\"v\":null}]}") == -1,
          "maxItems");
    CHECK(feed_doc(g, "{\"v\":1}") == -1);
    el_jc_free(g);
    g = compile_str(
        "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"},{\"type\":\"null\"}]}", err,
        sizeof err);
    REQUIRE(g, "%s", err);
    CHECK(feed_doc(g, "\"s\"") == 1);
    CHECK(feed_doc(g, "7") == 1);
    CHECK(feed_doc(g, "null") == 1);
    CHECK(feed_doc(g, "true") == -1);
    el_jc_free(g);
    g = compile_str("{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":2}", err,
                    sizeof err);
    REQUIRE(g, "%s", err);
    CHECK(feed_doc(g, "[1]") == -1, "minItems");
    CHECK(feed_doc(g, "[1, 2]") == 1);
    el_jc_free(g);
}

static void test_schema_errors(void) {
    char err[256];
    const char *bad[] = {
        "{\"type\":\"string\",\"pattern\":\"^a\"}",
        "{\"anyOf\":[{\"type\":\"object\"},{\"type\":\"object\",\"properties\":{}}]}",
        "{\"type\":\"widget\"}",
        "{\"$ref\":\"#/$defs/missing\"}",
        "{\"$ref\":\"http://example.com/s.json\"}",
        "{\"type\":\"integer\",\"minimum\":5,\"maximum\":4}",
        "{\"type\":\"string\",\"minLength\":-1}",
        "{\"enum\":[]}",
        "{\"type\":\"array\",\"items\":[{\"type\":\"string\"}]}",
        "false",
        "[1]",
        "{\"type\":[\"integer\",\"number\"]}",
        "{\"allOf\":[{},{}]}",
    };
    for (size_t i = 0; i < EL_ARRAY_LEN(bad); i++) {
        err[0] = 0;
        el_jc_grammar *g = compile_str(bad[i], err, sizeof err);
        CHECK(!g, "schema %s should be refused", bad[i]);
        CHECK(err[0] && !strchr(err, '\n'), "one-line error for %s: '%s'", bad[i], err);
        el_jc_free(g);
    }
    el_jc_grammar *g =
        compile_str("{\"type\":\"string\",\"format\":\"date\",\"title\":\"x\"}", err, sizeof err);
    CHECK(g != NULL, "annotations are ignored: %s", err);
    el_jc_free(g);
}

static void test_random_walks_validate(void) {
    const char *schemas[] = {
        "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":8},"
        "\"temp\":{\"type\":\"integer\",\"minimum\":-50,\"maximum\":60},"
        "\"unit\":{\"enum\":[\"c\",\"f\"]},\"tags\":{\"type\":\"array\",\"maxItems\":3,"
        "\"items\":{\"type\":\"string\",\"maxLength\":3}}},"
        "\"required\":[\"city\",\"temp\",\"unit\"],\"additionalProperties\":false}",
        "{\"type\":\"array\",\"minItems\":1,\"maxItems\":4,\"items\":{\"anyOf\":["
        "{\"type\":\"boolean\"},{\"type\":\"null\"},{\"type\":\"number\",\"minimum\":0,"
        "\"maximum\":99}]}}",
        "{\"$defs\":{\"t\":{\"type\":\"object\",\"properties\":{\"k\":{\"type\":\"array\","
        "\"maxItems\":2,\"items\":{\"$ref\":\"#/$defs/t\"}}},\"required\":[\"k\"]}},"
        "\"$ref\":\"#/$defs/t\"}",
        "{\"type\":\"string\",\"minLength\":2,\"maxLength\":6}",
    };
    for (size_t i = 0; i < EL_ARRAY_LEN(schemas); i++) {
        char err[256];
        cJSON *s = cJSON_Parse(schemas[i]);
        REQUIRE(s);
        el_jc_grammar *g = el_jc_compile(s, err, sizeof err);
        REQUIRE(g, "%s", err);
        int ok = 0, incomplete = 0;
        for (int w = 0; w < 300; w++) {
            bool stuck;
            const char *doc = walk(g, 4000, 30, &stuck);
            CHECK(!stuck, "walk stuck (schema %zu)", i);
            if (!doc) {
                incomplete++;
                continue;
            }
            cJSON *v = cJSON_Parse(doc);
            CHECK(v != NULL, "schema %zu: walk produced unparsable '%s'", i, doc);
            if (v) {
                bool valid = validate(v, s, s, 0);
                CHECK(valid, "schema %zu: '%s' does not validate", i, doc);
                ok += valid;
            }
            cJSON_Delete(v);
        }
        CHECK(ok > 250, "schema %zu: only %d of 300 walks finished valid (%d incomplete)", i, ok,
              incomplete);
        el_jc_free(g);
        cJSON_Delete(s);
    }
}

static void test_tool_grammar(void) {
    char err[256];
    cJSON *p0 = cJSON_Parse("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\","
                            "\"maxLength\":4}},\"required\":[\"city\"]}");
    cJSON *p1 = cJSON_Parse("{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}},"
                            "\"required\":[\"x\"]}");
    const char *names[] = {"get_weather", "calc"};
    const cJSON *params[] = {p0, p1};
    el_jc_grammar *g = el_jc_compile_tools("<tool_call>\n", "\n</tool_call>", "name", "arguments",
                                           names, params, 2, err, sizeof err);
    REQUIRE(g, "%s", err);
    CHECK(feed_doc(g, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
                      "\"Oslo\"}}\n</tool_call>") == 1);
    CHECK(feed_doc(g,
                   "<tool_call>\n{\"name\": \"calc\", \"arguments\": {\"x\": 12}}\n</tool_call>") ==
              1,
          "the arguments schema follows the name");
    CHECK(feed_doc(g, "<tool_call>\n{\"name\": \"calc\", \"arguments\": {\"city\": \"Oslo\"}}") ==
              -1,
          "calc's arguments have no city");
    CHECK(feed_doc(g, "<tool_call>\n{\"arguments\": {}, \"name\": \"calc\"}") == -1,
          "name comes first");
    CHECK(feed_doc(g, "<tool_call>\n{\"name\": \"nope\"") == -1);
    CHECK(feed_doc(g,
                   "<tool_call>\n{\"name\": \"calc\", \"arguments\": {\"x\": 1}}\n</tool_call>x") ==
              -1,
          "nothing after the suffix");
    CHECK(feed_doc(g, "<tool_call>\n{\"name\": \"calc\", \"arguments\": {\"x\": 1}}") == 0,
          "the suffix is required");
    /* a lazy grammar's prefix is the bare trigger: one whitespace gap may follow it */
    el_jc_grammar *lz = el_jc_compile_tools("<tool_call>", "\n</tool_call>", "name", "arguments",
                                            names, params, 2, err, sizeof err);
    REQUIRE(lz, "%s", err);
    CHECK(feed_doc(lz, "<tool_call>\n{\"name\":\"calc\",\"arguments\":{\"x\":1}}\n</tool_call>") ==
          1);
    CHECK(feed_doc(lz, "<tool_call>{\"name\":\"calc\",\"arguments\":{\"x\":1}}\n</tool_call>") ==
          1);
    CHECK(feed_doc(lz, "<tool_call>  {") == -1, "one gap only");
    el_jc_free(lz);
    for (int w = 0; w < 200; w++) {
        bool stuck;
        const char *doc = walk(g, 4000, 0, &stuck);
        CHECK(!stuck && doc, "tool walk stuck");
        if (!doc) continue;
        CHECK(!strncmp(doc, "<tool_call>\n", 12), "prefix");
        size_t n = strlen(doc);
        CHECK(n > 13 && !strcmp(doc + n - 13, "\n</tool_call>"), "suffix in '%s'", doc);
        if (n <= 25) continue;
        char *body = strndup(doc + 12, n - 25);
        cJSON *v = cJSON_Parse(body);
        CHECK(v != NULL, "tool call body parses: '%s'", body);
        const cJSON *nm = cJSON_GetObjectItem(v, "name"),
                    *args = cJSON_GetObjectItem(v, "arguments");
        CHECK(cJSON_IsString(nm) && cJSON_IsObject(args), "shape of '%s'", body);
        if (cJSON_IsString(nm) && cJSON_IsObject(args))
            CHECK(validate(args, strcmp(nm->valuestring, "calc") ? p0 : p1, NULL, 0),
                  "arguments validate: '%s'", body);
        cJSON_Delete(v);
        free(body);
    }
    el_jc_free(g);
    cJSON_Delete(p0);
    cJSON_Delete(p1);
}

/* a made-up vocabulary: single bytes, a few multi-byte pieces, an EOG token */
static const char *vocab_text[] = {"<eos>", "{", "}",     "\"",   "a",    "b",    ":",
                                   " ",     ",", "\"a\"", "1",    "12",   "}\n",  "hello",
                                   "\":",   "[", "]",     "true", "null", "\xc3", "\xa9"};
static int vt(void *u, int32_t id, char *buf, int cap) {
    (void)u;
    int n = (int)strlen(vocab_text[id]);
    if (id == 0) return 0;
    memcpy(buf, vocab_text[id], (size_t)EL_MIN(n, cap));
    return n;
}
static bool veog(void *u, int32_t id) {
    (void)u;
    return id == 0;
}

static void test_mask(void) {
    char err[256];
    int nv = (int)EL_ARRAY_LEN(vocab_text);
    el_jc_vocab *v = el_jc_vocab_new(nv, vt, veog, NULL, err, sizeof err);
    REQUIRE(v, "%s", err);
    el_jc_grammar *g = compile_str("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
                                   "\"integer\"}},\"required\":[\"a\"]}",
                                   err, sizeof err);
    REQUIRE(g, "%s", err);
    float in[32], out[32];
    for (int i = 0; i < nv; i++)
        in[i] = (float)i; /* later tokens are "better" */
    in[7] = -1;           /* but not the space */
    el_jc_state s;
    el_jc_init(&s, g);
    int n = el_jc_mask(&s, v, in, out, 4);
    CHECK(n >= 1 && out[1] == in[1], "'{' allowed first");
    CHECK(isinf(out[0]) && isinf(out[2]) && isinf(out[13]), "EOG, '}', 'hello' not allowed");
    CHECK(isinf(out[7]) || out[7] == in[7], "space may lead");
    /* walk greedily through the mask until done: must produce {"a":<int>} then EOG */
    char doc[256] = "";
    for (int step = 0; step < 40; step++) {
        n = el_jc_mask(&s, v, in, out, step % 2 ? 2 : 64);
        REQUIRE(n > 0, "stuck after '%s'", doc);
        int best = -1;
        for (int i = 0; i < nv; i++)
            if (out[i] > -INFINITY && (best < 0 || out[i] > out[best])) best = i;
        if (best == 0) break;
        strcat(doc, vocab_text[best]);
        REQUIRE(el_jc_feed(&s, vocab_text[best], strlen(vocab_text[best])) == 0);
    }
    cJSON *j = cJSON_Parse(doc);
    CHECK(j && cJSON_IsNumber(cJSON_GetObjectItem(j, "a")), "greedy masked output '%s'", doc);
    cJSON_Delete(j);
    /* banned tokens (-inf logits) stay banned */
    el_jc_init(&s, g);
    in[1] = -INFINITY;
    n = el_jc_mask(&s, v, in, out, 8);
    CHECK(isinf(out[1]), "a banned token stays banned");
    /* split UTF-8: "\xc3" alone is a valid prefix inside a string, "\xa9" alone is not */
    el_jc_grammar *gs = compile_str("{\"type\":\"string\"}", err, sizeof err);
    REQUIRE(gs);
    el_jc_init(&s, gs);
    for (int i = 0; i < nv; i++)
        in[i] = 1;
    REQUIRE(el_jc_feed(&s, "\"", 1) == 0);
    n = el_jc_mask(&s, v, in, out, 0);
    CHECK(out[19] == 1 && isinf(out[20]), "lead byte ok, lone continuation not");
    REQUIRE(el_jc_feed(&s, "\xc3", 1) == 0);
    n = el_jc_mask(&s, v, in, out, 0);
    CHECK(n == 1 && out[20] == 1, "after a lead byte only its continuation fits (n=%d)", n);
    el_jc_free(gs);
    el_jc_free(g);
    el_jc_vocab_free(v);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_basic_accept_reject);
    RUN(test_schema_objects);
    RUN(test_numbers);
    RUN(test_unions_refs_arrays);
    RUN(test_schema_errors);
    RUN(test_random_walks_validate);
    RUN(test_tool_grammar);
    RUN(test_mask);
    return test_summary(argv[0]);
}
