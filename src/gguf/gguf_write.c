/* gguf/gguf_write.c — the GGUF v3 writer: collects metadata and tensor references, then
 * streams one file out through a temporary name and a rename.
 *
 * Owns: a copy of every key and value, each value kept already encoded the way it will sit
 * in the file (so el_gguf_copy_kv copies a reader's bytes verbatim, nested arrays
 * included), and a copy of each tensor's name and shape. Tensor data is only referenced:
 * the caller keeps it alive until el_gguf_writer_write returns.
 *
 * Invariants: every value held is valid GGUF (the reader would accept it): keys and names
 * are non-empty UTF-8, strings UTF-8, bools 0/1, array byte sizes overflow-checked; tensor
 * names are unique, shapes positive, types known, and the byte size given matches the
 * shape. Layout written: header, kv pairs in insertion order, tensor infos in insertion
 * order, zero padding to the alignment, then each tensor's bytes padded to the alignment
 * (the last one too, as llama.cpp does). Offsets are assigned at write time.
 *
 * Limits: key and tensor-name lookups are linear scans (files have tens of keys and at most
 * a few thousand tensors; O(n^2) over a whole model's tensors is still milliseconds).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "gguf/gguf.h"
#include "gguf/gguf_int.h"
#include "kernels/types.h"

typedef struct wkv {
    char *key;
    el_gguf_vtype type;
    uint8_t *val; /* (len) encoded value bytes */
    uint64_t len;
} wkv;

typedef struct wtensor {
    char *name;
    int type;
    uint32_t n_dims;
    int64_t ne[EL_GGUF_MAX_DIMS];
    const void *data; /* borrowed, (size) bytes; NULL when fill produces them */
    uint64_t size;
    el_gguf_fill_fn fill;
    void *fill_ctx;
} wtensor;

struct el_gguf_writer {
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *t;
    size_t n_t, cap_t;
    char err[256];
};

EL_PRINTF(2, 3)
static int werr(el_gguf_writer *w, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    return -1;
}

el_gguf_writer *el_gguf_writer_new(void) {
    return calloc(1, sizeof(el_gguf_writer));
}

void el_gguf_writer_free(el_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].val);
    }
    for (size_t i = 0; i < w->n_t; i++)
        free(w->t[i].name);
    free(w->kv);
    free(w->t);
    free(w);
}

const char *el_gguf_writer_error(const el_gguf_writer *w) {
    return w ? w->err : "no writer";
}

static bool valid_name(const char *s) {
    return s && *s && el_utf8_valid(s, strlen(s), NULL);
}

static bool grow(void **p, size_t *cap, size_t need_n, size_t elem) {
    if (need_n <= *cap) return true;
    size_t nc = *cap ? *cap * 2 : 16;
    if (nc < need_n) nc = need_n;
    if (nc > SIZE_MAX / elem) return false;
    void *q = realloc(*p, nc * elem);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

static wkv *find_kv(el_gguf_writer *w, const char *key) {
    for (size_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->kv[i].key, key)) return &w->kv[i];
    return NULL;
}

/* Takes ownership of val (malloc'd, len bytes) on success and on failure. */
static int put(el_gguf_writer *w, const char *key, el_gguf_vtype type, uint8_t *val, uint64_t len) {
    if (!w) {
        free(val);
        return -1;
    }
    if (!valid_name(key)) {
        free(val);
        return werr(w, "key must be a non-empty UTF-8 string");
    }
    wkv *e = find_kv(w, key);
    if (e) {
        free(e->val);
        e->type = type;
        e->val = val;
        e->len = len;
        return 0;
    }
    char *k = strdup(key);
    if (!k || !grow((void **)&w->kv, &w->cap_kv, w->n_kv + 1, sizeof *w->kv)) {
        free(k);
        free(val);
        return werr(w, "out of memory adding key '%.60s'", key);
    }
    w->kv[w->n_kv++] = (wkv){k, type, val, len};
    return 0;
}

/* A malloc'd copy of n bytes (n may be 0: a 1-byte block then). */
static uint8_t *dup_bytes(const void *p, uint64_t n) {
    if (n > SIZE_MAX) return NULL;
    uint8_t *q = malloc(n ? (size_t)n : 1);
    if (q && n) memcpy(q, p, (size_t)n);
    return q;
}

static int put_scalar(el_gguf_writer *w, const char *key, el_gguf_vtype t, const void *v) {
    uint8_t *b = dup_bytes(v, el_gguf_vtype_size(t));
    if (!b) return w ? werr(w, "out of memory") : -1;
    return put(w, key, t, b, el_gguf_vtype_size(t));
}

int el_gguf_set_u8(el_gguf_writer *w, const char *key, uint8_t v) {
    return put_scalar(w, key, EL_GGUF_UINT8, &v);
}
int el_gguf_set_i8(el_gguf_writer *w, const char *key, int8_t v) {
    return put_scalar(w, key, EL_GGUF_INT8, &v);
}
int el_gguf_set_u16(el_gguf_writer *w, const char *key, uint16_t v) {
    return put_scalar(w, key, EL_GGUF_UINT16, &v);
}
int el_gguf_set_i16(el_gguf_writer *w, const char *key, int16_t v) {
    return put_scalar(w, key, EL_GGUF_INT16, &v);
}
int el_gguf_set_u32(el_gguf_writer *w, const char *key, uint32_t v) {
    return put_scalar(w, key, EL_GGUF_UINT32, &v);
}
int el_gguf_set_i32(el_gguf_writer *w, const char *key, int32_t v) {
    return put_scalar(w, key, EL_GGUF_INT32, &v);
}
int el_gguf_set_u64(el_gguf_writer *w, const char *key, uint64_t v) {
    return put_scalar(w, key, EL_GGUF_UINT64, &v);
}
int el_gguf_set_i64(el_gguf_writer *w, const char *key, int64_t v) {
    return put_scalar(w, key, EL_GGUF_INT64, &v);
}
int el_gguf_set_f32(el_gguf_writer *w, const char *key, float v) {
    return put_scalar(w, key, EL_GGUF_FLOAT32, &v);
}
int el_gguf_set_f64(el_gguf_writer *w, const char *key, double v) {
    return put_scalar(w, key, EL_GGUF_FLOAT64, &v);
}
int el_gguf_set_bool(el_gguf_writer *w, const char *key, bool v) {
    uint8_t b = v ? 1 : 0;
    return put_scalar(w, key, EL_GGUF_BOOL, &b);
}

int el_gguf_set_strn(el_gguf_writer *w, const char *key, const char *v, uint64_t n) {
    if (!w) return -1;
    if (!v && n) return werr(w, "NULL string for key '%.60s'", key ? key : "");
    if (n > SIZE_MAX - 8) return werr(w, "string too long for key '%.60s'", key ? key : "");
    if (n && !el_utf8_valid(v, (size_t)n, NULL))
        return werr(w, "value of key '%.60s' is not valid UTF-8", key ? key : "");
    uint8_t *b = malloc((size_t)n + 8);
    if (!b) return werr(w, "out of memory");
    memcpy(b, &n, 8);
    if (n) memcpy(b + 8, v, (size_t)n);
    return put(w, key, EL_GGUF_STRING, b, n + 8);
}

int el_gguf_set_str(el_gguf_writer *w, const char *key, const char *v) {
    return el_gguf_set_strn(w, key, v, v ? strlen(v) : 0);
}

int el_gguf_set_arr(el_gguf_writer *w, const char *key, el_gguf_vtype elem_type, const void *data,
                    uint64_t n) {
    if (!w) return -1;
    uint32_t esz = el_gguf_vtype_size(elem_type);
    if (!esz)
        return werr(w, "el_gguf_set_arr takes numeric or bool elements, not %s",
                    el_gguf_vtype_name(elem_type));
    uint64_t bytes, total;
    if (!el_mul_u64(n, esz, &bytes) || !el_add_u64(bytes, 12, &total) || total > SIZE_MAX)
        return werr(w, "array of %llu elements is too large", (unsigned long long)n);
    if (n && !data) return werr(w, "NULL array data for key '%.60s'", key ? key : "");
    if (elem_type == EL_GGUF_BOOL)
        for (uint64_t j = 0; j < n; j++)
            if (((const uint8_t *)data)[j] > 1) return werr(w, "bool array element is not 0/1");
    uint8_t *b = malloc((size_t)total);
    if (!b) return werr(w, "out of memory");
    uint32_t et = elem_type;
    memcpy(b, &et, 4);
    memcpy(b + 4, &n, 8);
    if (bytes) memcpy(b + 12, data, (size_t)bytes);
    return put(w, key, EL_GGUF_ARRAY, b, total);
}

int el_gguf_set_arr_str(el_gguf_writer *w, const char *key, const char *const *v, uint64_t n) {
    if (!w) return -1;
    if (n && !v) return werr(w, "NULL string array for key '%.60s'", key ? key : "");
    uint64_t total = 12;
    for (uint64_t j = 0; j < n; j++) {
        if (!v[j]) return werr(w, "NULL string at index %llu", (unsigned long long)j);
        size_t len = strlen(v[j]);
        if (!el_utf8_valid(v[j], len, NULL))
            return werr(w, "string %llu of key '%.60s' is not valid UTF-8", (unsigned long long)j,
                        key ? key : "");
        if (!el_add_u64(total, 8, &total) || !el_add_u64(total, len, &total))
            return werr(w, "string array too large");
    }
    if (total > SIZE_MAX) return werr(w, "string array too large");
    uint8_t *b = malloc((size_t)total);
    if (!b) return werr(w, "out of memory");
    uint32_t et = EL_GGUF_STRING;
    memcpy(b, &et, 4);
    memcpy(b + 4, &n, 8);
    size_t at = 12;
    for (uint64_t j = 0; j < n; j++) {
        uint64_t len = strlen(v[j]);
        memcpy(b + at, &len, 8);
        memcpy(b + at + 8, v[j], (size_t)len);
        at += 8 + (size_t)len;
    }
    return put(w, key, EL_GGUF_ARRAY, b, total);
}

int el_gguf_copy_kv(el_gguf_writer *w, const el_gguf *src, int64_t i) {
    if (!w) return -1;
    const uint8_t *p;
    uint64_t n;
    if (!src || el_gguf_kv_raw(src, i, &p, &n) != 0)
        return werr(w, "el_gguf_copy_kv: no key %lld in the source", (long long)i);
    uint8_t *b = dup_bytes(p, n);
    if (!b) return werr(w, "out of memory copying key '%.60s'", el_gguf_key(src, i));
    return put(w, el_gguf_key(src, i), el_gguf_kv_type(src, i), b, n);
}

int el_gguf_remove_key(el_gguf_writer *w, const char *key) {
    if (!w) return -1;
    if (!key) return 0;
    wkv *e = find_kv(w, key);
    if (!e) return 0;
    size_t i = (size_t)(e - w->kv);
    free(e->key);
    free(e->val);
    memmove(&w->kv[i], &w->kv[i + 1], (w->n_kv - i - 1) * sizeof *w->kv);
    w->n_kv--;
    return 0;
}

static int add_tensor(el_gguf_writer *w, const char *name, int type, uint32_t n_dims,
                      const int64_t *ne, const void *data, uint64_t size, el_gguf_fill_fn fill,
                      void *fill_ctx) {
    if (!w) return -1;
    if (!valid_name(name)) return werr(w, "tensor name must be a non-empty UTF-8 string");
    for (size_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name)) return werr(w, "duplicate tensor name '%.60s'", name);
    const el_type_info *ti = el_type_traits(type);
    if (!ti) return werr(w, "tensor '%.60s': unknown type %d", name, type);
    if (n_dims < 1 || n_dims > EL_GGUF_MAX_DIMS || !ne)
        return werr(w, "tensor '%.60s': n_dims %u is not in 1..%d", name, n_dims, EL_GGUF_MAX_DIMS);
    wtensor t = {.type = type,
                 .n_dims = n_dims,
                 .data = data,
                 .size = size,
                 .fill = fill,
                 .fill_ctx = fill_ctx};
    uint64_t nel = 1;
    for (uint32_t d = 0; d < EL_GGUF_MAX_DIMS; d++) {
        int64_t v = d < n_dims ? ne[d] : 1;
        if (v <= 0) return werr(w, "tensor '%.60s': dimension %u is %lld", name, d, (long long)v);
        if (!el_mul_u64(nel, (uint64_t)v, &nel) || nel > (uint64_t)INT64_MAX)
            return werr(w, "tensor '%.60s': element count overflows", name);
        t.ne[d] = v;
    }
    if (t.ne[0] % ti->blck_size)
        return werr(w, "tensor '%.60s': type %s needs ne[0] to be a multiple of %d", name, ti->name,
                    ti->blck_size);
    uint64_t want;
    if (!el_mul_u64(el_row_size(type, t.ne[0]), nel / (uint64_t)t.ne[0], &want))
        return werr(w, "tensor '%.60s': byte size overflows", name);
    if (want != size)
        return werr(w, "tensor '%.60s': %llu bytes given, its shape and type need %llu", name,
                    (unsigned long long)size, (unsigned long long)want);
    if (!data && !fill) return werr(w, "tensor '%.60s': NULL data", name);
    if (size > SIZE_MAX - EL_ALIGN) return werr(w, "tensor '%.60s': too large", name);
    t.name = strdup(name);
    if (!t.name || !grow((void **)&w->t, &w->cap_t, w->n_t + 1, sizeof *w->t)) {
        free(t.name);
        return werr(w, "out of memory adding tensor '%.60s'", name);
    }
    w->t[w->n_t++] = t;
    return 0;
}

int el_gguf_add_tensor(el_gguf_writer *w, const char *name, int type, uint32_t n_dims,
                       const int64_t *ne, const void *data, uint64_t size) {
    return add_tensor(w, name, type, n_dims, ne, data, size, NULL, NULL);
}

int el_gguf_add_tensor_fill(el_gguf_writer *w, const char *name, int type, uint32_t n_dims,
                            const int64_t *ne, uint64_t size, el_gguf_fill_fn fill, void *ctx) {
    if (w && !fill) return werr(w, "tensor '%.60s': NULL fill function", name ? name : "");
    return add_tensor(w, name, type, n_dims, ne, NULL, size, fill, ctx);
}

/* ---- output --------------------------------------------------------------------------- */

typedef struct out {
    FILE *f;
    uint64_t pos;
    bool bad;
} out;

static void put_bytes(out *o, const void *p, uint64_t n) {
    /* fwrite in chunks: size_t is 64-bit here but keep each call modest */
    const uint8_t *b = p;
    while (n && !o->bad) {
        size_t k = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : (size_t)n;
        if (fwrite(b, 1, k, o->f) != k) o->bad = true;
        b += k;
        n -= k;
        o->pos += k;
    }
}

static void put_u32(out *o, uint32_t v) {
    put_bytes(o, &v, 4);
}
static void put_u64(out *o, uint64_t v) {
    put_bytes(o, &v, 8);
}

static void put_gstr(out *o, const char *s) {
    uint64_t n = strlen(s);
    put_u64(o, n);
    put_bytes(o, s, n);
}

static void put_pad(out *o, uint64_t align) {
    static const uint8_t zeros[256];
    uint64_t pad = (align - o->pos % align) % align;
    while (pad) {
        uint64_t k = pad > sizeof zeros ? sizeof zeros : pad;
        put_bytes(o, zeros, k);
        pad -= k;
    }
}

/* Alignment the writer will use: general.alignment when set (an integer, power of two). */
static int writer_alignment(el_gguf_writer *w, uint64_t *align) {
    *align = EL_GGUF_DEFAULT_ALIGNMENT;
    wkv *e = find_kv(w, "general.alignment");
    if (!e) return 0;
    uint64_t v = 0;
    bool neg = false;
    switch (e->type) {
    case EL_GGUF_UINT8:
        v = e->val[0];
        break;
    case EL_GGUF_INT8:
        neg = (int8_t)e->val[0] < 0;
        v = (uint64_t)(int8_t)e->val[0];
        break;
    case EL_GGUF_UINT16: {
        uint16_t x;
        memcpy(&x, e->val, 2);
        v = x;
        break;
    }
    case EL_GGUF_INT16: {
        int16_t x;
        memcpy(&x, e->val, 2);
        neg = x < 0;
        v = (uint64_t)x;
        break;
    }
    case EL_GGUF_UINT32: {
        uint32_t x;
        memcpy(&x, e->val, 4);
        v = x;
        break;
    }
    case EL_GGUF_INT32: {
        int32_t x;
        memcpy(&x, e->val, 4);
        neg = x < 0;
        v = (uint64_t)x;
        break;
    }
    case EL_GGUF_UINT64:
        memcpy(&v, e->val, 8);
        break;
    case EL_GGUF_INT64: {
        int64_t x;
        memcpy(&x, e->val, 8);
        neg = x < 0;
        v = (uint64_t)x;
        break;
    }
    default:
        return werr(w, "general.alignment must be an integer (llama.cpp wants uint32)");
    }
    if (neg || v == 0 || v > UINT32_MAX || (v & (v - 1)))
        return werr(w, "general.alignment %lld is not a power of two", (long long)v);
    *align = v;
    return 0;
}

int el_gguf_writer_write(el_gguf_writer *w, const char *path, char *err, size_t errlen) {
    if (!w || !path) return el_errf(err, errlen, "el_gguf_writer_write: bad argument");
    uint64_t align;
    if (writer_alignment(w, &align) != 0) return el_errf(err, errlen, "%s", w->err);

    /* offsets of each tensor inside the data section */
    uint64_t *offs = calloc(w->n_t ? w->n_t : 1, sizeof *offs);
    if (!offs) return el_errf(err, errlen, "out of memory");
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        offs[i] = off;
        uint64_t end, pad;
        if (!el_add_u64(off, w->t[i].size, &end)) goto too_big;
        pad = (align - end % align) % align;
        if (!el_add_u64(end, pad, &off)) goto too_big;
    }

    char tmp[4096];
    static _Atomic unsigned counter;
    int fd = -1;
    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        int k = snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
        if (k < 0 || (size_t)k >= sizeof tmp) {
            free(offs);
            return el_errf(err, errlen, "%s: path too long", path);
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        free(offs);
        return el_errf(err, errlen, "%s: cannot create temporary file: %s", path, strerror(e));
    }
    out o = {fdopen(fd, "wb"), 0, false};
    if (!o.f) {
        close(fd);
        unlink(tmp);
        free(offs);
        return el_errf(err, errlen, "%s: fdopen failed", path);
    }

    put_u32(&o, EL_GGUF_MAGIC);
    put_u32(&o, 3);
    put_u64(&o, w->n_t);
    put_u64(&o, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        put_gstr(&o, w->kv[i].key);
        put_u32(&o, w->kv[i].type);
        put_bytes(&o, w->kv[i].val, w->kv[i].len);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        put_gstr(&o, t->name);
        put_u32(&o, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++)
            put_u64(&o, (uint64_t)t->ne[d]);
        put_u32(&o, (uint32_t)t->type);
        put_u64(&o, offs[i]);
    }
    put_pad(&o, align);
    char ferr[256] = "";
    bool fill_failed = false;
    for (size_t i = 0; i < w->n_t && !o.bad && !fill_failed; i++) {
        const wtensor *t = &w->t[i];
        if (t->fill) {
            void *buf = el_alloc_aligned((size_t)t->size);
            if (!buf) {
                snprintf(ferr, sizeof ferr, "out of memory for tensor '%.60s' (%llu bytes)",
                         t->name, (unsigned long long)t->size);
                fill_failed = true;
            } else if (t->fill(t->fill_ctx, buf, t->size, ferr, sizeof ferr) != 0) {
                if (!ferr[0]) snprintf(ferr, sizeof ferr, "filling tensor '%.60s' failed", t->name);
                fill_failed = true;
            } else {
                put_bytes(&o, buf, t->size);
            }
            el_free_aligned(buf);
        } else {
            put_bytes(&o, t->data, t->size);
        }
        put_pad(&o, align);
    }
    free(offs);
    if (fill_failed) {
        fclose(o.f);
        unlink(tmp);
        return el_errf(err, errlen, "%s: %s", path, ferr);
    }
    int e = 0;
    if (o.bad || fflush(o.f) != 0) e = errno ? errno : EIO;
    if (!e && fsync(fileno(o.f)) != 0) e = errno;
    if (fclose(o.f) != 0 && !e) e = errno ? errno : EIO;
    if (!e && rename(tmp, path) != 0) e = errno;
    if (e) {
        unlink(tmp);
        return el_errf(err, errlen, "%s: write failed: %s", path, strerror(e));
    }
    return 0;

too_big:
    free(offs);
    return el_errf(err, errlen, "%s: tensor data too large", path);
}
