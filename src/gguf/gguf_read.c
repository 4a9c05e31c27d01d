/* gguf/gguf_read.c — the GGUF v2/v3 reader: parses and validates the whole header once at
 * open, then answers every accessor in O(1) from small index arrays.
 *
 * Owns: the mapping (el_gguf_open) or nothing of the bytes (el_gguf_open_mem borrows them),
 * plus the index built at open: one kv_entry per key, one el_gguf_tensor per tensor, one
 * 64-bit offset per string-array element (so el_gguf_arr_str is O(1) even for a 151k-token
 * vocabulary), one arr_node per nested array, two open-addressing hash tables (keys, tensor
 * names) and one buffer holding the NUL-terminated copies of keys and tensor names.
 *
 * Invariants after a successful open: every count, length and offset has been checked
 * against the file size with overflow-safe arithmetic before anything was allocated for it
 * (so a hostile count cannot trigger a huge allocation: every table entry is backed by at
 * least 8 file bytes); strings are valid UTF-8; keys and tensor names are unique, non-empty
 * and free of NUL bytes; bools are 0 or 1; arrays nest at most MAX_DEPTH deep; tensor types
 * are known to el_type_traits and their block size divides ne[0]; tensor data is aligned,
 * inside the file and non-overlapping. Accessors therefore never re-check file bytes, only
 * their own arguments.
 *
 * Parsing uses a bounds-checked cursor with a sticky error: the first problem is recorded
 * with its byte offset, later reads return zeros and parsing unwinds. Little-endian hosts
 * only (x86-64, aarch64); big-endian GGUF files are rejected with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "gguf/gguf.h"
#include "gguf/gguf_int.h"
#include "kernels/types.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader assumes a little-endian host"
#endif

#define MAX_DEPTH 16     /* arrays of arrays nest at most this deep */
#define KV_MIN_BYTES 14  /* key length 8 + >= 1 key byte + type 4 + >= 1 value byte */
#define TI_MIN_BYTES 33  /* name 8+1, n_dims 4, one dim 8, type 4, offset 8 */
#define ARR_HDR_BYTES 12 /* element type 4 + count 8 */

/* One array value: where its elements are and how they are indexed. */
typedef struct arr_node {
    uint32_t elem_type;
    uint32_t index;    /* STRING: first slot in str_offs; ARRAY: first child in nodes */
    uint64_t n;        /* elements */
    uint64_t data_off; /* absolute offset of the first element */
} arr_node;

typedef struct kv_entry {
    const char *key;  /* NUL-terminated, in names (set after parsing) */
    uint64_t key_off; /* offset of the key in names (stable while names grows) */
    el_gguf_vtype type;
    uint64_t val_off; /* absolute offset of the value bytes */
    uint64_t val_len; /* encoded size of the value */
    arr_node arr;     /* type == ARRAY only */
} kv_entry;

struct el_gguf {
    el_mapped map; /* set when opened from a path; the handle unmaps it */
    const uint8_t *base;
    uint64_t size;
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;

    int64_t n_kv;
    kv_entry *kv; /* (n_kv) */
    int64_t n_tensors;
    el_gguf_tensor *tensors;   /* (n_tensors) */
    uint64_t *tensor_name_off; /* (n_tensors) name offsets in names, used while parsing */

    uint32_t *kv_hash; /* (kv_hash_mask + 1) slots: key index + 1, 0 = empty */
    uint64_t kv_hash_mask;
    uint32_t *t_hash; /* (t_hash_mask + 1) slots: tensor index + 1, 0 = empty */
    uint64_t t_hash_mask;

    uint64_t *str_offs; /* (n_str) absolute offset of each string-array element's length */
    uint64_t n_str, cap_str;
    arr_node *nodes; /* (n_nodes) nested arrays, siblings contiguous */
    uint64_t n_nodes, cap_nodes;
    char *names; /* keys and tensor names, each NUL-terminated */
    uint64_t names_len, names_cap;
};

/* ---- cursor --------------------------------------------------------------------------- */

typedef struct cursor {
    const uint8_t *p;
    uint64_t size;
    uint64_t pos;
    bool failed;
    char *err;
    size_t errlen;
    char ctx[96]; /* " (key 'x')" / " (tensor 'x')" appended to messages, or "" */
} cursor;

/* Records the first error as "<msg><ctx> at byte <off>"; later calls are ignored. */
EL_PRINTF(3, 4)
static void fail_at(cursor *c, uint64_t off, const char *fmt, ...) {
    if (c->failed) return;
    c->failed = true;
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    el_errf(c->err, c->errlen, "%s%s at byte %llu", msg, c->ctx, (unsigned long long)off);
}

static uint64_t left(const cursor *c) {
    return c->size - c->pos;
}

/* True when n more bytes are there; otherwise records a truncation error. */
static bool need(cursor *c, uint64_t n, const char *what) {
    if (c->failed) return false;
    if (n > left(c)) {
        fail_at(c, c->pos, "truncated file: %s needs %llu bytes, only %llu left", what,
                (unsigned long long)n, (unsigned long long)left(c));
        return false;
    }
    return true;
}

static uint32_t rd_u32(cursor *c, const char *what) {
    uint32_t v = 0;
    if (!need(c, 4, what)) return 0;
    memcpy(&v, c->p + c->pos, 4);
    c->pos += 4;
    return v;
}

static uint64_t rd_u64(cursor *c, const char *what) {
    uint64_t v = 0;
    if (!need(c, 8, what)) return 0;
    memcpy(&v, c->p + c->pos, 8);
    c->pos += 8;
    return v;
}

/* Reads a GGUF string (u64 length + bytes), checks length and UTF-8. Returns the absolute
 * offset of its bytes (length in *n), or 0 after an error. */
static uint64_t rd_str(cursor *c, uint64_t *n, const char *what) {
    uint64_t at = c->pos;
    uint64_t len = rd_u64(c, what);
    *n = 0;
    if (c->failed) return 0;
    if (len > left(c)) {
        fail_at(c, at, "%s length %llu runs past the end of the file (%llu bytes left)", what,
                (unsigned long long)len, (unsigned long long)left(c));
        return 0;
    }
    uint64_t off = c->pos;
    size_t bad = 0;
    if (!el_utf8_valid((const char *)c->p + off, (size_t)len, &bad)) {
        fail_at(c, off + bad, "%s is not valid UTF-8", what);
        return 0;
    }
    c->pos += len;
    *n = len;
    return off;
}

/* ---- growable tables (entries are always backed by file bytes, see the header) ---------- */

static bool grow(void **p, uint64_t *cap, uint64_t need_n, size_t elem) {
    if (need_n <= *cap) return true;
    uint64_t nc = *cap ? *cap : 64;
    while (nc < need_n) {
        if (nc > UINT64_MAX / 2) return false;
        nc *= 2;
    }
    uint64_t bytes;
    if (!el_mul_u64(nc, elem, &bytes) || bytes > SIZE_MAX) return false;
    void *q = realloc(*p, (size_t)bytes);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

/* Copies n bytes at off into names with a NUL; returns the names offset or UINT64_MAX. */
static uint64_t add_name(el_gguf *g, cursor *c, uint64_t off, uint64_t n, const char *what) {
    if (n == 0) {
        fail_at(c, off - 8, "empty %s", what);
        return UINT64_MAX;
    }
    if (memchr(c->p + off, 0, (size_t)n)) {
        fail_at(c, off, "%s contains a NUL byte", what);
        return UINT64_MAX;
    }
    uint64_t total;
    if (!el_add_u64(g->names_len, n + 1, &total) ||
        !grow((void **)&g->names, &g->names_cap, total, 1)) {
        fail_at(c, off, "out of memory for %s", what);
        return UINT64_MAX;
    }
    uint64_t at = g->names_len;
    memcpy(g->names + at, c->p + off, (size_t)n);
    g->names[at + n] = 0;
    g->names_len = total;
    return at;
}

/* ---- hashing -------------------------------------------------------------------------- */

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Table with at least 2*n slots (n <= UINT32_MAX - 1, checked by the caller). */
static uint32_t *hash_new(uint64_t n, uint64_t *mask) {
    uint64_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    *mask = cap - 1;
    return calloc((size_t)cap, sizeof(uint32_t));
}

/* Finds name in a table whose entries name through name_of(idx). Returns the slot; the
 * slot is empty (0) when the name is absent. */
static uint64_t hash_slot(const uint32_t *tab, uint64_t mask, const char *name, const char *names,
                          const uint64_t *offs, size_t stride) {
    uint64_t i = hash_str(name) & mask;
    while (tab[i]) {
        uint64_t idx = tab[i] - 1;
        uint64_t off = *(const uint64_t *)((const char *)offs + idx * stride);
        if (!strcmp(names + off, name)) return i;
        i = (i + 1) & mask;
    }
    return i;
}

/* ---- values --------------------------------------------------------------------------- */

static const char *const vtype_names[EL_GGUF_VTYPE_COUNT] = {
    "uint8", "int8",   "uint16", "int16",  "uint32", "int32",   "float32",
    "bool",  "string", "array",  "uint64", "int64",  "float64",
};

const char *el_gguf_vtype_name(int t) {
    return t >= 0 && t < EL_GGUF_VTYPE_COUNT ? vtype_names[t] : "unknown";
}

static bool check_bools(cursor *c, uint64_t off, uint64_t n) {
    for (uint64_t j = 0; j < n; j++) {
        uint8_t b = c->p[off + j];
        if (b > 1) {
            fail_at(c, off + j, "bool value %u is not 0 or 1", b);
            return false;
        }
    }
    return true;
}

/* Parses the elements of an array whose type and count were just read (type_at: offset of
 * the element type field), filling *node. depth counts array levels, 1 for a key's value. */
static void parse_array(el_gguf *g, cursor *c, uint32_t et, uint64_t n, uint64_t type_at, int depth,
                        arr_node *node) {
    uint64_t count_at = type_at + 4;
    node->elem_type = et;
    node->n = n;
    node->index = 0;
    node->data_off = c->pos;
    if (et >= EL_GGUF_VTYPE_COUNT) {
        fail_at(c, type_at, "unknown array element type %u", et);
        return;
    }
    if (depth > MAX_DEPTH) {
        fail_at(c, type_at, "arrays nested deeper than %d levels", MAX_DEPTH);
        return;
    }
    uint32_t esz = el_gguf_vtype_size((int)et);
    uint64_t min = esz ? esz : et == EL_GGUF_STRING ? 8 : ARR_HDR_BYTES;
    if (n > left(c) / min) {
        fail_at(c, count_at,
                "array of %llu %s elements is longer than the %llu bytes left could hold",
                (unsigned long long)n, vtype_names[et], (unsigned long long)left(c));
        return;
    }
    if (esz) {
        if (et == EL_GGUF_BOOL && !check_bools(c, c->pos, n)) return;
        c->pos += n * esz; /* n * esz <= left, checked above */
        return;
    }
    if (et == EL_GGUF_STRING) {
        if (g->n_str + n > UINT32_MAX) {
            fail_at(c, count_at, "too many string array elements to index");
            return;
        }
        if (!grow((void **)&g->str_offs, &g->cap_str, g->n_str + n, sizeof(uint64_t))) {
            fail_at(c, count_at, "out of memory indexing %llu strings", (unsigned long long)n);
            return;
        }
        node->index = (uint32_t)g->n_str;
        g->n_str += n;
        for (uint64_t j = 0; j < n && !c->failed; j++) {
            uint64_t len;
            g->str_offs[node->index + j] = c->pos;
            rd_str(c, &len, "string array element");
        }
        return;
    }
    /* array of arrays: reserve the children contiguously, then parse each */
    if (g->n_nodes + n > UINT32_MAX) {
        fail_at(c, count_at, "too many nested arrays to index");
        return;
    }
    if (!grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + n, sizeof(arr_node))) {
        fail_at(c, count_at, "out of memory indexing %llu arrays", (unsigned long long)n);
        return;
    }
    uint32_t first = (uint32_t)g->n_nodes;
    node->index = first;
    g->n_nodes += n;
    for (uint64_t j = 0; j < n && !c->failed; j++) {
        uint64_t at = c->pos;
        uint32_t cet = rd_u32(c, "nested array element type");
        uint64_t cn = rd_u64(c, "nested array length");
        if (c->failed) return;
        arr_node child;
        parse_array(g, c, cet, cn, at, depth + 1, &child);
        g->nodes[first + j] = child; /* by index: parse_array may have moved g->nodes */
    }
}

static void parse_value(el_gguf *g, cursor *c, kv_entry *e, uint64_t type_at) {
    uint32_t t = e->type;
    if (t >= EL_GGUF_VTYPE_COUNT) {
        fail_at(c, type_at, "unknown value type %u", t);
        return;
    }
    uint32_t esz = el_gguf_vtype_size((int)t);
    if (esz) {
        if (!need(c, esz, "value")) return;
        if (t == EL_GGUF_BOOL && !check_bools(c, c->pos, 1)) return;
        c->pos += esz;
    } else if (t == EL_GGUF_STRING) {
        uint64_t n;
        rd_str(c, &n, "string value");
    } else {
        uint64_t at = c->pos;
        uint32_t et = rd_u32(c, "array element type");
        uint64_t n = rd_u64(c, "array length");
        if (!c->failed) parse_array(g, c, et, n, at, 1, &e->arr);
    }
}

/* ---- typed access to a scalar ------------------------------------------------------------ */

/* Reads an integer (or bool when allow_bool) scalar at p of type t as a signed value with
 * a flag for uint64 values above INT64_MAX. Returns false for non-integer types. */
static bool load_int(int t, const uint8_t *p, bool allow_bool, int64_t *v, bool *big) {
    *big = false;
    switch (t) {
    case EL_GGUF_UINT8:
        *v = p[0];
        return true;
    case EL_GGUF_INT8:
        *v = (int8_t)p[0];
        return true;
    case EL_GGUF_BOOL:
        *v = p[0];
        return allow_bool;
    case EL_GGUF_UINT16: {
        uint16_t x;
        memcpy(&x, p, 2);
        *v = x;
        return true;
    }
    case EL_GGUF_INT16: {
        int16_t x;
        memcpy(&x, p, 2);
        *v = x;
        return true;
    }
    case EL_GGUF_UINT32: {
        uint32_t x;
        memcpy(&x, p, 4);
        *v = x;
        return true;
    }
    case EL_GGUF_INT32: {
        int32_t x;
        memcpy(&x, p, 4);
        *v = x;
        return true;
    }
    case EL_GGUF_UINT64: {
        uint64_t x;
        memcpy(&x, p, 8);
        *big = x > (uint64_t)INT64_MAX;
        *v = *big ? INT64_MAX : (int64_t)x;
        return true;
    }
    case EL_GGUF_INT64: {
        int64_t x;
        memcpy(&x, p, 8);
        *v = x;
        return true;
    }
    default:
        return false;
    }
}

static bool load_f64(int t, const uint8_t *p, double *v) {
    if (t == EL_GGUF_FLOAT32) {
        float f;
        memcpy(&f, p, 4);
        *v = f;
        return true;
    }
    if (t == EL_GGUF_FLOAT64) {
        memcpy(v, p, 8);
        return true;
    }
    int64_t i;
    bool big;
    if (!load_int(t, p, false, &i, &big)) return false;
    if (big) {
        uint64_t u;
        memcpy(&u, p, 8);
        *v = (double)u;
    } else {
        *v = (double)i;
    }
    return true;
}

/* ---- tensors ----------------------------------------------------------------------------- */

static void parse_tensor_info(el_gguf *g, cursor *c, int64_t i) {
    el_gguf_tensor *t = &g->tensors[i];
    uint64_t at = c->pos;
    uint64_t n;
    uint64_t off = rd_str(c, &n, "tensor name");
    if (c->failed) return;
    uint64_t name_off = add_name(g, c, off, n, "tensor name");
    if (c->failed) return;
    g->tensor_name_off[i] = name_off;
    const char *name = g->names + name_off;
    snprintf(c->ctx, sizeof c->ctx, " (tensor '%.60s')", name);

    uint64_t slot =
        hash_slot(g->t_hash, g->t_hash_mask, name, g->names, g->tensor_name_off, sizeof(uint64_t));
    if (g->t_hash[slot]) {
        fail_at(c, at, "duplicate tensor name");
        return;
    }
    g->t_hash[slot] = (uint32_t)i + 1;

    uint64_t dims_at = c->pos;
    uint32_t nd = rd_u32(c, "tensor n_dims");
    if (c->failed) return;
    if (nd == 0 || nd > EL_GGUF_MAX_DIMS) {
        fail_at(c, dims_at, "tensor n_dims %u is not in 1..%d", nd, EL_GGUF_MAX_DIMS);
        return;
    }
    t->n_dims = nd;
    int64_t nel = 1;
    for (int d = 0; d < EL_GGUF_MAX_DIMS; d++)
        t->ne[d] = 1;
    for (uint32_t d = 0; d < nd; d++) {
        uint64_t ne_at = c->pos;
        uint64_t v = rd_u64(c, "tensor dimension");
        if (c->failed) return;
        if (v > (uint64_t)INT64_MAX) {
            fail_at(c, ne_at, "tensor dimension %u is negative (%lld)", d, (long long)(int64_t)v);
            return;
        }
        if (v == 0) {
            fail_at(c, ne_at, "tensor dimension %u is zero", d);
            return;
        }
        if ((uint64_t)nel > (uint64_t)INT64_MAX / v) {
            fail_at(c, ne_at, "tensor element count overflows (dimension %u is %llu)", d,
                    (unsigned long long)v);
            return;
        }
        nel *= (int64_t)v;
        t->ne[d] = (int64_t)v;
    }
    t->n_elements = nel;

    uint64_t type_at = c->pos;
    uint32_t ty = rd_u32(c, "tensor type");
    if (c->failed) return;
    const el_type_info *ti = el_type_traits((int)ty);
    if (!ti) {
        fail_at(c, type_at, "unknown tensor type %u", ty);
        return;
    }
    if (t->ne[0] % ti->blck_size) {
        fail_at(c, type_at, "tensor type %s needs ne[0] to be a multiple of %d, ne[0] is %lld",
                ti->name, ti->blck_size, (long long)t->ne[0]);
        return;
    }
    t->type = (int)ty;
    uint64_t rows = (uint64_t)(nel / t->ne[0]);
    uint64_t row;
    if (!el_mul_u64((uint64_t)(t->ne[0] / ti->blck_size), ti->type_size, &row) ||
        !el_mul_u64(row, rows, &t->size)) {
        fail_at(c, type_at, "tensor byte size overflows");
        return;
    }

    uint64_t off_at = c->pos;
    t->offset = rd_u64(c, "tensor offset");
    if (c->failed) return;
    if (t->offset % g->alignment) {
        fail_at(c, off_at, "tensor offset %llu is not a multiple of the alignment %llu",
                (unsigned long long)t->offset, (unsigned long long)g->alignment);
        return;
    }
    c->ctx[0] = 0;
}

typedef struct off_idx {
    uint64_t off;
    uint32_t idx;
} off_idx;

static int cmp_off_idx(const void *a, const void *b) {
    uint64_t x = ((const off_idx *)a)->off, y = ((const off_idx *)b)->off;
    return x < y ? -1 : x > y;
}

/* Data placement: inside the file, non-overlapping. Needs data_offset. */
static void check_tensor_data(el_gguf *g, cursor *c) {
    if (g->n_tensors == 0) return;
    if (g->data_offset > g->size) {
        fail_at(c, g->size, "truncated file: tensor data section starts at byte %llu",
                (unsigned long long)g->data_offset);
        return;
    }
    uint64_t avail = g->size - g->data_offset;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        el_gguf_tensor *t = &g->tensors[i];
        if (t->offset > avail || t->size > avail - t->offset) {
            snprintf(c->ctx, sizeof c->ctx, " (tensor '%.60s')", t->name);
            fail_at(c, g->data_offset + (t->offset > avail ? avail : t->offset),
                    "tensor data [%llu, +%llu) runs past the end of the file (%llu data bytes)",
                    (unsigned long long)t->offset, (unsigned long long)t->size,
                    (unsigned long long)avail);
            return;
        }
        t->data = g->base + g->data_offset + t->offset;
    }
    /* overlap: sort by offset, each tensor must end before the next begins. Tensors are
     * non-empty (dims >= 1, sizes >= 1 block) so equal offsets overlap too. */
    off_idx *ord = malloc((size_t)g->n_tensors * sizeof *ord);
    if (!ord) {
        fail_at(c, 0, "out of memory sorting %lld tensors", (long long)g->n_tensors);
        return;
    }
    for (int64_t i = 0; i < g->n_tensors; i++)
        ord[i] = (off_idx){g->tensors[i].offset, (uint32_t)i};
    qsort(ord, (size_t)g->n_tensors, sizeof *ord, cmp_off_idx);
    for (int64_t i = 1; i < g->n_tensors; i++) {
        const el_gguf_tensor *a = &g->tensors[ord[i - 1].idx], *b = &g->tensors[ord[i].idx];
        if (a->offset + a->size > b->offset) {
            fail_at(c, g->data_offset + b->offset, "tensors '%.60s' and '%.60s' overlap", a->name,
                    b->name);
            break;
        }
    }
    free(ord);
}

/* ---- open ----------------------------------------------------------------------------- */

static void parse(el_gguf *g, cursor *c) {
    uint32_t magic = rd_u32(c, "magic");
    if (c->failed) return;
    if (magic != EL_GGUF_MAGIC) {
        fail_at(c, 0, "bad magic 0x%08x: not a GGUF file", magic);
        return;
    }
    uint32_t ver = rd_u32(c, "version");
    if (c->failed) return;
    if (ver == 1) {
        fail_at(c, 4,
                "GGUF version 1 is not supported (v2/v3 only; re-convert the model with a "
                "current llama.cpp)");
        return;
    }
    if (ver != 2 && ver != 3) {
        if ((ver & 0xFFFF) == 0)
            fail_at(c, 4,
                    "GGUF version 0x%08x looks byte-swapped: big-endian GGUF is not "
                    "supported",
                    ver);
        else
            fail_at(c, 4, "unsupported GGUF version %u (v2/v3 only)", ver);
        return;
    }
    g->version = ver;

    uint64_t nt_at = c->pos;
    uint64_t nt = rd_u64(c, "tensor count");
    uint64_t nkv_at = c->pos;
    uint64_t nkv = rd_u64(c, "key count");
    if (c->failed) return;
    /* counts vs. what the bytes left could hold: before any allocation */
    if (nkv > left(c) / KV_MIN_BYTES) {
        fail_at(c, nkv_at, "key count %llu is larger than the %llu bytes left could hold",
                (unsigned long long)nkv, (unsigned long long)left(c));
        return;
    }
    if (nt > (left(c) - nkv * KV_MIN_BYTES) / TI_MIN_BYTES) {
        fail_at(c, nt_at, "tensor count %llu is larger than the %llu bytes left could hold",
                (unsigned long long)nt, (unsigned long long)left(c));
        return;
    }
    if (nkv >= UINT32_MAX || nt >= UINT32_MAX) { /* hash slots store index + 1 in 32 bits */
        fail_at(c, nkv >= UINT32_MAX ? nkv_at : nt_at, "too many keys or tensors");
        return;
    }
    g->n_kv = (int64_t)nkv;
    g->n_tensors = (int64_t)nt;
    g->kv = calloc(nkv ? nkv : 1, sizeof *g->kv);
    g->tensors = calloc(nt ? nt : 1, sizeof *g->tensors);
    g->tensor_name_off = calloc(nt ? nt : 1, sizeof *g->tensor_name_off);
    g->kv_hash = hash_new(nkv, &g->kv_hash_mask);
    g->t_hash = hash_new(nt, &g->t_hash_mask);
    if (!g->kv || !g->tensors || !g->tensor_name_off || !g->kv_hash || !g->t_hash) {
        fail_at(c, nkv_at, "out of memory for %llu keys and %llu tensors", (unsigned long long)nkv,
                (unsigned long long)nt);
        return;
    }

    for (uint64_t i = 0; i < nkv && !c->failed; i++) {
        kv_entry *e = &g->kv[i];
        uint64_t at = c->pos;
        uint64_t n;
        uint64_t off = rd_str(c, &n, "key");
        if (c->failed) return;
        e->key_off = add_name(g, c, off, n, "key");
        if (c->failed) return;
        const char *key = g->names + e->key_off;
        snprintf(c->ctx, sizeof c->ctx, " (key '%.60s')", key);
        uint64_t slot = hash_slot(g->kv_hash, g->kv_hash_mask, key, g->names, &g->kv[0].key_off,
                                  sizeof(kv_entry));
        if (g->kv_hash[slot]) {
            fail_at(c, at, "duplicate key");
            return;
        }
        g->kv_hash[slot] = (uint32_t)i + 1;
        uint64_t type_at = c->pos;
        e->type = (el_gguf_vtype)rd_u32(c, "value type");
        if (c->failed) return;
        e->val_off = c->pos;
        parse_value(g, c, e, type_at);
        e->val_len = c->pos - e->val_off;
        if (!c->failed) c->ctx[0] = 0;
    }
    if (c->failed) return;

    g->alignment = EL_GGUF_DEFAULT_ALIGNMENT;
    int64_t ai = el_gguf_find_key(g, "general.alignment");
    if (ai >= 0) {
        const kv_entry *e = &g->kv[ai];
        int64_t v;
        bool big;
        if (!load_int(e->type, g->base + e->val_off, false, &v, &big)) {
            fail_at(c, e->val_off - 4, "general.alignment has type %s, expected an integer",
                    el_gguf_vtype_name(e->type));
            return;
        }
        if (big || v <= 0 || v > (int64_t)UINT32_MAX || (v & (v - 1))) {
            fail_at(c, e->val_off, "general.alignment %lld is not a power of two", (long long)v);
            return;
        }
        g->alignment = (uint64_t)v;
    }

    for (uint64_t i = 0; i < nt && !c->failed; i++)
        parse_tensor_info(g, c, (int64_t)i);
    if (c->failed) return;
    /* names is final now: point keys and tensor names into it */
    for (uint64_t i = 0; i < nkv; i++)
        g->kv[i].key = g->names + g->kv[i].key_off;
    for (uint64_t i = 0; i < nt; i++)
        g->tensors[i].name = g->names + g->tensor_name_off[i];

    uint64_t end = c->pos;
    uint64_t pad = (g->alignment - end % g->alignment) % g->alignment;
    if (!el_add_u64(end, pad, &g->data_offset)) {
        fail_at(c, end, "data offset overflows");
        return;
    }
    check_tensor_data(g, c);
}

void el_gguf_close(el_gguf *g) {
    if (!g) return;
    free(g->kv);
    free(g->tensors);
    free(g->tensor_name_off);
    free(g->kv_hash);
    free(g->t_hash);
    free(g->str_offs);
    free(g->nodes);
    free(g->names);
    el_unmap_file(&g->map);
    free(g);
}

el_gguf *el_gguf_open_mem(const void *data, size_t size, char *err, size_t errlen) {
    el_gguf *g = calloc(1, sizeof *g);
    if (!g) {
        el_errf(err, errlen, "out of memory");
        return NULL;
    }
    g->base = data;
    g->size = data ? size : 0;
    cursor c = {.p = g->base, .size = g->size, .err = err, .errlen = errlen};
    parse(g, &c);
    if (c.failed) {
        el_gguf_close(g);
        return NULL;
    }
    /* tensor_name_off was only needed for parsing */
    free(g->tensor_name_off);
    g->tensor_name_off = NULL;
    return g;
}

el_gguf *el_gguf_open(const char *path, char *err, size_t errlen) {
    el_mapped m;
    if (el_map_file(path, &m, err, errlen) != 0) return NULL;
    char e[384];
    el_gguf *g = el_gguf_open_mem(m.data, m.size, e, sizeof e);
    if (!g) {
        el_unmap_file(&m);
        el_errf(err, errlen, "%s: %s", path, e);
        return NULL;
    }
    g->map = m;
    return g;
}

/* ---- accessors ------------------------------------------------------------------------- */

uint32_t el_gguf_version(const el_gguf *g) {
    return g->version;
}
uint64_t el_gguf_file_size(const el_gguf *g) {
    return g->size;
}
uint64_t el_gguf_alignment(const el_gguf *g) {
    return g->alignment;
}
uint64_t el_gguf_data_offset(const el_gguf *g) {
    return g->data_offset;
}
const void *el_gguf_base(const el_gguf *g) {
    return g->base;
}
int64_t el_gguf_n_kv(const el_gguf *g) {
    return g->n_kv;
}
int64_t el_gguf_n_tensors(const el_gguf *g) {
    return g->n_tensors;
}

static const kv_entry *kv_at(const el_gguf *g, int64_t i) {
    return g && i >= 0 && i < g->n_kv ? &g->kv[i] : NULL;
}

const char *el_gguf_key(const el_gguf *g, int64_t i) {
    const kv_entry *e = kv_at(g, i);
    return e ? e->key : NULL;
}

el_gguf_vtype el_gguf_kv_type(const el_gguf *g, int64_t i) {
    const kv_entry *e = kv_at(g, i);
    return e ? e->type : EL_GGUF_VTYPE_COUNT;
}

int64_t el_gguf_find_key(const el_gguf *g, const char *key) {
    if (!g || !key || !g->kv_hash) return -1;
    uint64_t s =
        hash_slot(g->kv_hash, g->kv_hash_mask, key, g->names, &g->kv[0].key_off, sizeof(kv_entry));
    return g->kv_hash[s] ? (int64_t)g->kv_hash[s] - 1 : -1;
}

int el_gguf_kv_raw(const el_gguf *g, int64_t i, const uint8_t **p, uint64_t *n) {
    const kv_entry *e = kv_at(g, i);
    if (!e) return -1;
    *p = g->base + e->val_off;
    *n = e->val_len;
    return 0;
}

int el_gguf_kv_i64(const el_gguf *g, int64_t i, int64_t *out) {
    const kv_entry *e = kv_at(g, i);
    if (!e) return -1;
    int64_t v;
    bool big;
    if (!load_int(e->type, g->base + e->val_off, false, &v, &big) || big) return -2;
    *out = v;
    return 0;
}

int el_gguf_kv_f64(const el_gguf *g, int64_t i, double *out) {
    const kv_entry *e = kv_at(g, i);
    if (!e) return -1;
    return load_f64(e->type, g->base + e->val_off, out) ? 0 : -2;
}

int el_gguf_kv_bool(const el_gguf *g, int64_t i, bool *out) {
    const kv_entry *e = kv_at(g, i);
    if (!e) return -1;
    if (e->type != EL_GGUF_BOOL) return -2;
    *out = g->base[e->val_off] != 0;
    return 0;
}

int el_gguf_kv_str(const el_gguf *g, int64_t i, el_gstr *out) {
    const kv_entry *e = kv_at(g, i);
    if (!e) return -1;
    if (e->type != EL_GGUF_STRING) return -2;
    memcpy(&out->n, g->base + e->val_off, 8);
    out->s = (const char *)g->base + e->val_off + 8;
    return 0;
}

static el_gguf_arr make_arr(const el_gguf *g, const arr_node *nd) {
    el_gguf_arr a = {.g = g,
                     .elem_type = (el_gguf_vtype)nd->elem_type,
                     .n = nd->n,
                     .data = g->base + nd->data_off,
                     .index = nd->index};
    return a;
}

int el_gguf_kv_arr(const el_gguf *g, int64_t i, el_gguf_arr *out) {
    const kv_entry *e = kv_at(g, i);
    if (!e) return -1;
    if (e->type != EL_GGUF_ARRAY) return -2;
    *out = make_arr(g, &e->arr);
    return 0;
}

int el_gguf_get_i64(const el_gguf *g, const char *key, int64_t *out) {
    return el_gguf_kv_i64(g, el_gguf_find_key(g, key), out);
}

int el_gguf_get_u32(const el_gguf *g, const char *key, uint32_t *out) {
    int64_t v;
    int r = el_gguf_kv_i64(g, el_gguf_find_key(g, key), &v);
    if (r) return r;
    if (v < 0 || v > (int64_t)UINT32_MAX) return -2;
    *out = (uint32_t)v;
    return 0;
}

int el_gguf_get_f64(const el_gguf *g, const char *key, double *out) {
    return el_gguf_kv_f64(g, el_gguf_find_key(g, key), out);
}

int el_gguf_get_bool(const el_gguf *g, const char *key, bool *out) {
    return el_gguf_kv_bool(g, el_gguf_find_key(g, key), out);
}

int el_gguf_get_str(const el_gguf *g, const char *key, el_gstr *out) {
    return el_gguf_kv_str(g, el_gguf_find_key(g, key), out);
}

int el_gguf_get_arr(const el_gguf *g, const char *key, el_gguf_arr *out) {
    return el_gguf_kv_arr(g, el_gguf_find_key(g, key), out);
}

el_gstr el_gguf_arr_str(const el_gguf_arr *a, uint64_t j) {
    el_gstr s = {"", 0};
    if (!a || !a->g || a->elem_type != EL_GGUF_STRING || j >= a->n) return s;
    uint64_t off = a->g->str_offs[a->index + j];
    memcpy(&s.n, a->g->base + off, 8);
    s.s = (const char *)a->g->base + off + 8;
    return s;
}

int64_t el_gguf_arr_i64(const el_gguf_arr *a, uint64_t j) {
    if (!a || !a->data || j >= a->n) return 0;
    uint32_t esz = el_gguf_vtype_size(a->elem_type);
    int64_t v;
    bool big;
    if (!esz || !load_int(a->elem_type, (const uint8_t *)a->data + j * esz, true, &v, &big))
        return 0;
    return v; /* uint64 above INT64_MAX reads as INT64_MAX */
}

double el_gguf_arr_f64(const el_gguf_arr *a, uint64_t j) {
    if (!a || !a->data || j >= a->n) return 0;
    uint32_t esz = el_gguf_vtype_size(a->elem_type);
    double v;
    if (!esz || !load_f64(a->elem_type, (const uint8_t *)a->data + j * esz, &v)) return 0;
    return v;
}

el_gguf_arr el_gguf_arr_get_arr(const el_gguf_arr *a, uint64_t j) {
    el_gguf_arr none = {.g = a ? a->g : NULL, .elem_type = EL_GGUF_UINT8};
    if (!a || !a->g || a->elem_type != EL_GGUF_ARRAY || j >= a->n) return none;
    return make_arr(a->g, &a->g->nodes[a->index + j]);
}

const el_gguf_tensor *el_gguf_tensor_at(const el_gguf *g, int64_t i) {
    return g && i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const el_gguf_tensor *el_gguf_find_tensor(const el_gguf *g, const char *name) {
    if (!g || !name || g->n_tensors == 0) return NULL;
    uint64_t i = hash_str(name) & g->t_hash_mask;
    while (g->t_hash[i]) {
        const el_gguf_tensor *t = &g->tensors[g->t_hash[i] - 1];
        if (!strcmp(t->name, name)) return t;
        i = (i + 1) & g->t_hash_mask;
    }
    return NULL;
}
