/* core/core.h — the small things every module uses: errors, checked arithmetic, aligned
 * memory, arenas, read-only file mapping, UTF-8 validation, logging.
 *
 * Error convention (whole project): a function that can fail takes a caller-owned
 * `char *err, size_t errlen`, returns a negative status (or NULL) and writes one line into
 * err. el_errf() formats that line and returns -1 so `return el_errf(err, errlen, ...)` reads
 * naturally. err may be NULL (errlen 0).
 */
#ifndef EL_CORE_H
#define EL_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EL_ALIGN 64

#if defined(__GNUC__)
#define EL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define EL_UNUSED __attribute__((unused))
#else
#define EL_PRINTF(a, b)
#define EL_UNUSED
#endif

#define EL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define EL_MAX(a, b) ((a) > (b) ? (a) : (b))
#define EL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Writes a formatted one-line message into err (if any) and returns -1. */
int el_errf(char *err, size_t errlen, const char *fmt, ...) EL_PRINTF(3, 4);

/* Overflow-checked arithmetic: return false on overflow, *out untouched then. */
static inline bool el_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a) return false;
    *out = a * b;
    return true;
}
static inline bool el_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (b > UINT64_MAX - a) return false;
    *out = a + b;
    return true;
}

/* 64-byte aligned allocation (zeroed). Free with el_free_aligned. NULL on failure or size 0
 * overflow. */
void *el_alloc_aligned(size_t size);
void el_free_aligned(void *p);

/* Arena: one block, bump allocation, everything freed at once. No growth: the owner sizes it
 * (sessions and requests know their worst case up front). */
typedef struct el_arena {
    uint8_t *base; /* (cap) bytes, 64-byte aligned */
    size_t cap;
    size_t used;
} el_arena;
int el_arena_init(el_arena *a, size_t cap);
void *el_arena_alloc(el_arena *a, size_t size); /* 64-byte aligned, zeroed; NULL when full */
void el_arena_reset(el_arena *a);
void el_arena_free(el_arena *a);

/* A whole file mapped read-only (PROT_READ, MAP_PRIVATE). size 0 files map to data == NULL. */
typedef struct el_mapped {
    const uint8_t *data;
    size_t size;
} el_mapped;
int el_map_file(const char *path, el_mapped *m, char *err, size_t errlen);
void el_unmap_file(el_mapped *m);
/* Drops the whole pages inside [p, p + n) from the process's resident memory. For ranges of
 * an el_map_file mapping only: its pages come back from the file if read again (on anonymous
 * memory they would come back as zeros). Advisory: errors are ignored. */
void el_map_release(const void *p, size_t n);

/* True when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
 * On false, *bad_at (if non-NULL) receives the offset of the first bad byte. */
bool el_utf8_valid(const char *s, size_t n, size_t *bad_at);
/* Length of the UTF-8 sequence that starts with byte c (1..4), or 0 for a continuation or
 * invalid lead byte. */
static inline int el_utf8_len(unsigned char c) {
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) return 2;
    if (c < 0xF0) return 3;
    if (c < 0xF5) return 4;
    return 0;
}

/* Logging to stderr. Level from EL_LOG (error|warn|info|debug), default warn. */
enum { EL_LOG_ERROR = 0, EL_LOG_WARN = 1, EL_LOG_INFO = 2, EL_LOG_DEBUG = 3 };
void el_log(int level, const char *fmt, ...) EL_PRINTF(2, 3);

/* Monotonic clock in seconds. */
double el_now(void);

#endif
