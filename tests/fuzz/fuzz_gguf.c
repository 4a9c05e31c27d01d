/* tests/fuzz/fuzz_gguf.c — libFuzzer harness for the GGUF reader: parse the input with
 * el_gguf_open_mem and, when it opens, walk every key, every array element (nested arrays
 * included) and every tensor through the public accessors, touching the bytes they point
 * at, so ASan sees any index that validation let through wrongly. */
#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void walk(const el_gguf_arr *a) {
    for (uint64_t j = 0; j < a->n; j++) {
        if (a->elem_type == EL_GGUF_ARRAY) {
            el_gguf_arr c = el_gguf_arr_get_arr(a, j);
            walk(&c);
        } else if (a->elem_type == EL_GGUF_STRING) {
            el_gstr s = el_gguf_arr_str(a, j);
            sink += s.n ? (uint8_t)s.s[0] + (uint8_t)s.s[s.n - 1] : 0;
        } else {
            sink += (uint64_t)el_gguf_arr_i64(a, j) + (uint64_t)el_gguf_arr_f64(a, j);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[256];
    el_gguf *g = el_gguf_open_mem(data, size, err, sizeof err);
    if (!g) return 0;
    for (int64_t i = 0; i < el_gguf_n_kv(g); i++) {
        int64_t v;
        double d;
        bool b;
        el_gstr s;
        el_gguf_arr a;
        sink += (uint64_t)el_gguf_find_key(g, el_gguf_key(g, i)) + el_gguf_kv_type(g, i);
        if (el_gguf_kv_i64(g, i, &v) == 0) sink += (uint64_t)v;
        if (el_gguf_kv_f64(g, i, &d) == 0) sink += (uint64_t)(d == d);
        if (el_gguf_kv_bool(g, i, &b) == 0) sink += b;
        if (el_gguf_kv_str(g, i, &s) == 0 && s.n) sink += (uint8_t)s.s[s.n - 1];
        if (el_gguf_kv_arr(g, i, &a) == 0) walk(&a);
    }
    for (int64_t i = 0; i < el_gguf_n_tensors(g); i++) {
        const el_gguf_tensor *t = el_gguf_tensor_at(g, i);
        const uint8_t *p = t->data;
        sink += (el_gguf_find_key(g, t->name) >= 0) + (el_gguf_find_tensor(g, t->name) == t);
        sink += p[0] + p[t->size - 1];
    }
    el_gguf_close(g);
    return 0;
}
