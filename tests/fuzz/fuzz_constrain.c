/* tests/fuzz/fuzz_constrain.c — libFuzzer harness for the JSON-schema validator
 * (src/server/json_constrain.c). Input: a schema (JSON) and, after the first NUL byte,
 * bytes that steer a walk: at each step the validator is asked which of the 256 next bytes
 * it allows and the input picks one of them (or ends the walk where ending is allowed). Oracles:
 * the allowed set is never empty unless the document may end (no dead ends), every byte
 * reported allowed is accepted when fed, and a walk that ends where the validator says it may
 * is a document cJSON parses. An empty schema part means json_object mode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/json_constrain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t ns = nul ? (size_t)(nul - data) : size;
    const uint8_t *steer = nul ? nul + 1 : data + size;
    size_t nsteer = (size_t)(data + size - steer);
    cJSON *schema = NULL;
    if (ns) {
        schema = cJSON_ParseWithLength((const char *)data, ns);
        if (!schema) return 0;
    }
    char err[300];
    el_jc_grammar *g = el_jc_compile(schema, err, sizeof err);
    cJSON_Delete(schema);
    if (!g) return 0;
    static el_jc_state s, t;
    static char doc[4096];
    size_t n = 0;
    el_jc_init(&s, g);
    for (size_t i = 0; i < nsteer && n < sizeof doc - 1; i++) {
        unsigned char ok[256];
        int nok = 0;
        for (int c = 0; c < 256; c++) {
            el_jc_copy(&t, &s);
            char ch = (char)c;
            if (el_jc_feed(&t, &ch, 1) == 0) ok[nok++] = (unsigned char)c;
        }
        bool can_end = el_jc_can_end(&s);
        if (nok == 0 && !can_end) abort();  /* a dead end */
        if (el_jc_done(&s) && nok) abort(); /* done means nothing may follow */
        if (nok == 0 || (can_end && steer[i] == 0xFF)) break;
        char ch = (char)ok[steer[i] % nok];
        if (el_jc_feed(&s, &ch, 1) != 0) abort();
        doc[n++] = ch;
    }
    if (el_jc_can_end(&s) && n > 0) {
        cJSON *v = cJSON_ParseWithLength(doc, n);
        if (!v) abort(); /* the validator accepted something that is not JSON */
        cJSON_Delete(v);
    }
    el_jc_free(g);
    return 0;
}
