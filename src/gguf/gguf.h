/* gguf/gguf.h — GGUF container: read (v2/v3, over mmap or a caller's buffer) and write.
 *
 * The reader validates the whole header at open time: every count, length and offset is
 * checked against the file size with overflow-safe arithmetic, strings must be UTF-8, keys
 * unique, tensor types known, tensor data aligned, inside the file and non-overlapping.
 * After a successful open every accessor below is total (no further checks needed by
 * callers). The reader knows no model: architecture keys are plain metadata to it.
 *
 * Memory: the reader keeps the mapping (or borrows the caller's buffer) and builds small
 * index arrays (one entry per key, per tensor, per string-array element). Strings returned
 * as el_gstr point into the file bytes and are NOT NUL-terminated; keys and tensor names are
 * NUL-terminated copies (el_gguf_key, el_gguf_tensor.name).
 */
#ifndef EL_GGUF_H
#define EL_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EL_GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define EL_GGUF_DEFAULT_ALIGNMENT 32
#define EL_GGUF_MAX_DIMS 4

typedef enum el_gguf_vtype {
    EL_GGUF_UINT8 = 0,
    EL_GGUF_INT8 = 1,
    EL_GGUF_UINT16 = 2,
    EL_GGUF_INT16 = 3,
    EL_GGUF_UINT32 = 4,
    EL_GGUF_INT32 = 5,
    EL_GGUF_FLOAT32 = 6,
    EL_GGUF_BOOL = 7,
    EL_GGUF_STRING = 8,
    EL_GGUF_ARRAY = 9,
    EL_GGUF_UINT64 = 10,
    EL_GGUF_INT64 = 11,
    EL_GGUF_FLOAT64 = 12,
    EL_GGUF_VTYPE_COUNT = 13,
} el_gguf_vtype;

/* A string view into the file: n bytes at s, valid UTF-8, not NUL-terminated. */
typedef struct el_gstr {
    const char *s;
    uint64_t n;
} el_gstr;

typedef struct el_gguf el_gguf;

/* One array value: its element type and count. Nested arrays are arrays whose elem_type is
 * EL_GGUF_ARRAY; reach their elements with el_gguf_arr_get_arr. */
typedef struct el_gguf_arr {
    const el_gguf *g;
    el_gguf_vtype elem_type;
    uint64_t n;
    const void *data;   /* numeric/bool elements: n packed little-endian values (unaligned) */
    uint32_t index;     /* internal: where string offsets / child arrays are indexed */
} el_gguf_arr;

typedef struct el_gguf_tensor {
    const char *name;                /* NUL-terminated */
    uint32_t n_dims;                 /* 1..4 */
    int64_t ne[EL_GGUF_MAX_DIMS];    /* elements per dim, ne[0] fastest; unused dims are 1 */
    int type;                        /* el_type id (kernels/types.h); known to the traits */
    uint64_t offset;                 /* relative to the data section */
    uint64_t size;                   /* bytes */
    int64_t n_elements;
    const void *data;                /* file bytes of the tensor */
} el_gguf_tensor;

/* ---- open / close ------------------------------------------------------------------ */

/* Maps path read-only and parses it. NULL on error with one line in err, of the form
 * "<what is wrong> at byte <offset>" where an offset applies. */
el_gguf *el_gguf_open(const char *path, char *err, size_t errlen);
/* Parses a caller-owned buffer (must outlive the handle). Used by tests and the fuzzer. */
el_gguf *el_gguf_open_mem(const void *data, size_t size, char *err, size_t errlen);
void el_gguf_close(el_gguf *g);

uint32_t el_gguf_version(const el_gguf *g);
uint64_t el_gguf_file_size(const el_gguf *g);
uint64_t el_gguf_alignment(const el_gguf *g);
uint64_t el_gguf_data_offset(const el_gguf *g); /* absolute offset of the tensor data */
const void *el_gguf_base(const el_gguf *g);     /* the file bytes */

/* ---- metadata ----------------------------------------------------------------------- */

int64_t el_gguf_n_kv(const el_gguf *g);
const char *el_gguf_key(const el_gguf *g, int64_t i);      /* NUL-terminated */
el_gguf_vtype el_gguf_kv_type(const el_gguf *g, int64_t i);
int64_t el_gguf_find_key(const el_gguf *g, const char *key); /* -1 when absent */

/* Typed getters by key. Return 0 on success, -1 when the key is absent, -2 when it has an
 * incompatible type. Integer getters accept any integer type whose value fits; the float
 * getter accepts float32/float64 and integers; bool accepts bool. */
int el_gguf_get_i64(const el_gguf *g, const char *key, int64_t *out);
int el_gguf_get_u32(const el_gguf *g, const char *key, uint32_t *out);
int el_gguf_get_f64(const el_gguf *g, const char *key, double *out);
int el_gguf_get_bool(const el_gguf *g, const char *key, bool *out);
int el_gguf_get_str(const el_gguf *g, const char *key, el_gstr *out);
int el_gguf_get_arr(const el_gguf *g, const char *key, el_gguf_arr *out);

/* The same, by index i (0 <= i < n_kv). */
int el_gguf_kv_i64(const el_gguf *g, int64_t i, int64_t *out);
int el_gguf_kv_f64(const el_gguf *g, int64_t i, double *out);
int el_gguf_kv_bool(const el_gguf *g, int64_t i, bool *out);
int el_gguf_kv_str(const el_gguf *g, int64_t i, el_gstr *out);
int el_gguf_kv_arr(const el_gguf *g, int64_t i, el_gguf_arr *out);

/* Array elements (j < a->n, element type must match the accessor, else 0 / empty). */
el_gstr el_gguf_arr_str(const el_gguf_arr *a, uint64_t j);
int64_t el_gguf_arr_i64(const el_gguf_arr *a, uint64_t j);  /* any integer / bool type */
double el_gguf_arr_f64(const el_gguf_arr *a, uint64_t j);   /* float or integer types */
el_gguf_arr el_gguf_arr_get_arr(const el_gguf_arr *a, uint64_t j); /* nested */

/* ---- tensors ------------------------------------------------------------------------ */

int64_t el_gguf_n_tensors(const el_gguf *g);
const el_gguf_tensor *el_gguf_tensor_at(const el_gguf *g, int64_t i);
const el_gguf_tensor *el_gguf_find_tensor(const el_gguf *g, const char *name); /* or NULL */

/* ---- writer ------------------------------------------------------------------------- */
/* Builds a GGUF v3 file in memory-light fashion: metadata is copied into the writer,
 * tensor data is referenced (the caller keeps it alive until el_gguf_writer_write returns)
 * and streamed to disk. Setting a key that exists replaces its value in place (order kept).
 * Functions return 0 or -1 (out of memory / bad argument, message in the writer, see
 * el_gguf_writer_error). */
typedef struct el_gguf_writer el_gguf_writer;

el_gguf_writer *el_gguf_writer_new(void);
void el_gguf_writer_free(el_gguf_writer *w);
const char *el_gguf_writer_error(const el_gguf_writer *w);

int el_gguf_set_u8(el_gguf_writer *w, const char *key, uint8_t v);
int el_gguf_set_i8(el_gguf_writer *w, const char *key, int8_t v);
int el_gguf_set_u16(el_gguf_writer *w, const char *key, uint16_t v);
int el_gguf_set_i16(el_gguf_writer *w, const char *key, int16_t v);
int el_gguf_set_u32(el_gguf_writer *w, const char *key, uint32_t v);
int el_gguf_set_i32(el_gguf_writer *w, const char *key, int32_t v);
int el_gguf_set_u64(el_gguf_writer *w, const char *key, uint64_t v);
int el_gguf_set_i64(el_gguf_writer *w, const char *key, int64_t v);
int el_gguf_set_f32(el_gguf_writer *w, const char *key, float v);
int el_gguf_set_f64(el_gguf_writer *w, const char *key, double v);
int el_gguf_set_bool(el_gguf_writer *w, const char *key, bool v);
int el_gguf_set_str(el_gguf_writer *w, const char *key, const char *v);
int el_gguf_set_strn(el_gguf_writer *w, const char *key, const char *v, uint64_t n);
/* Numeric/bool array: n elements of elem_type, packed little-endian at data (copied). */
int el_gguf_set_arr(el_gguf_writer *w, const char *key, el_gguf_vtype elem_type,
                    const void *data, uint64_t n);
int el_gguf_set_arr_str(el_gguf_writer *w, const char *key, const char *const *v, uint64_t n);
/* Copies key i of a reader (any type, nested arrays included) into the writer. */
int el_gguf_copy_kv(el_gguf_writer *w, const el_gguf *src, int64_t i);
int el_gguf_remove_key(el_gguf_writer *w, const char *key); /* 0 even when absent */

/* Adds a tensor; data (size bytes = el_row_size(type, ne[0]) * rows) is referenced. */
int el_gguf_add_tensor(el_gguf_writer *w, const char *name, int type, uint32_t n_dims,
                       const int64_t *ne, const void *data, uint64_t size);

/* Adds a tensor whose bytes are produced at write time: fill(ctx, dst, size, err, errlen) must
 * fill dst (size bytes, 64-byte aligned, zeroed) and return 0, or return non-zero with a line
 * in err, which fails the write. One tensor buffer is alive at a time, so a model far larger
 * than RAM-for-all-tensors can be generated. */
typedef int (*el_gguf_fill_fn)(void *ctx, void *dst, uint64_t size, char *err, size_t errlen);
int el_gguf_add_tensor_fill(el_gguf_writer *w, const char *name, int type, uint32_t n_dims,
                            const int64_t *ne, uint64_t size, el_gguf_fill_fn fill, void *ctx);

/* Writes the file (alignment from general.alignment when set, else 32). Writes to a
 * temporary name and renames, so a failed write never leaves a half file at path. */
int el_gguf_writer_write(el_gguf_writer *w, const char *path, char *err, size_t errlen);

/* Name of a value type ("uint32", "string", ...). */
const char *el_gguf_vtype_name(int t);

#endif
