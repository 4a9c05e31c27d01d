/* core/core.c — errors, aligned memory, arenas, file mapping, UTF-8 checks, logging.
 * Nothing here allocates behind the caller's back except el_alloc_aligned and
 * el_arena_init, which say so. */
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int el_errf(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        /* one line: fold any newline a caller's string smuggled in */
        for (char *p = err; *p; p++)
            if (*p == '\n' || *p == '\r') *p = ' ';
    }
    return -1;
}

/* Blocks of EL_MMAP_MIN bytes or more (KV caches, session scratch, repacked weights) are
 * mapped and unmapped directly, so freeing one always gives its pages back. Through malloc,
 * glibc's dynamic mmap threshold rises to the size of the last freed block, the next blocks
 * of that size come from the heap, and a process that opens a session after closing one
 * (edgellm bench runs pp512 and then tg128, a server reloads) kept the first one's pages:
 * Llama-3.2-1B Q8_0, pp512 then tg128 in one process, peaked at file + KV + 82 MiB against
 * 47 MiB for either alone. Every block is prefaulted (zeroed), as before: no page faults on
 * the decode path. A 64-byte header in front of the block records how it was made. */
#define EL_MMAP_MIN ((size_t)1 << 20)
#define EL_HDR EL_ALIGN

void *el_alloc_aligned(size_t size) {
    if (size == 0) size = EL_ALIGN;
    if (size > SIZE_MAX - 2 * EL_ALIGN - 4096) return NULL;
    size = (size + EL_ALIGN - 1) & ~(size_t)(EL_ALIGN - 1);
    size_t total = size + EL_HDR;
    uint8_t *base;
    if (total >= EL_MMAP_MIN) {
        void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return NULL;
        base = m;
    } else {
        void *m = NULL;
        if (posix_memalign(&m, EL_ALIGN, total) != 0) return NULL;
        base = m;
    }
    memset(base, 0, total);
    memcpy(base, &total, sizeof total);
    return base + EL_HDR;
}

void el_free_aligned(void *p) {
    if (!p) return;
    uint8_t *base = (uint8_t *)p - EL_HDR;
    size_t total;
    memcpy(&total, base, sizeof total);
    if (total >= EL_MMAP_MIN)
        munmap(base, total);
    else
        free(base);
}

int el_arena_init(el_arena *a, size_t cap) {
    a->base = el_alloc_aligned(cap);
    a->cap = a->base ? cap : 0;
    a->used = 0;
    return a->base ? 0 : -1;
}

void *el_arena_alloc(el_arena *a, size_t size) {
    size_t off = (a->used + EL_ALIGN - 1) & ~(size_t)(EL_ALIGN - 1);
    if (off > a->cap || size > a->cap - off) return NULL;
    a->used = off + size;
    memset(a->base + off, 0, size);
    return a->base + off;
}

void el_arena_reset(el_arena *a) { a->used = 0; }

void el_arena_free(el_arena *a) {
    el_free_aligned(a->base);
    a->base = NULL;
    a->cap = a->used = 0;
}

int el_map_file(const char *path, el_mapped *m, char *err, size_t errlen) {
    m->data = NULL;
    m->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return el_errf(err, errlen, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return el_errf(err, errlen, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return el_errf(err, errlen, "%s: not a regular file", path);
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return el_errf(err, errlen, "%s: mmap: %s", path, strerror(e));
        }
        m->data = p;
        m->size = (size_t)st.st_size;
    }
    close(fd);
    return 0;
}

void el_unmap_file(el_mapped *m) {
    if (m->data) munmap((void *)m->data, m->size);
    m->data = NULL;
    m->size = 0;
}

void el_map_release(const void *p, size_t n) {
    const long ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0 || !p) return;
    const uintptr_t a = ((uintptr_t)p + (uintptr_t)ps - 1) & ~((uintptr_t)ps - 1);
    const uintptr_t e = ((uintptr_t)p + n) & ~((uintptr_t)ps - 1);
    if (e > a) madvise((void *)a, e - a, MADV_DONTNEED);
}

bool el_utf8_valid(const char *str, size_t n, size_t *bad_at) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int len = el_utf8_len((unsigned char)c);
        if (len == 0 || i + (size_t)len > n) goto bad;
        unsigned c1 = s[i + 1];
        if ((c1 & 0xC0) != 0x80) goto bad;
        if (len == 3) {
            if (c == 0xE0 && c1 < 0xA0) goto bad; /* overlong */
            if (c == 0xED && c1 > 0x9F) goto bad; /* surrogate */
            if ((s[i + 2] & 0xC0) != 0x80) goto bad;
        } else if (len == 4) {
            if (c == 0xF0 && c1 < 0x90) goto bad; /* overlong */
            if (c == 0xF4 && c1 > 0x8F) goto bad; /* > U+10FFFF */
            if ((s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80) goto bad;
        }
        i += (size_t)len;
    }
    return true;
bad:
    if (bad_at) *bad_at = i;
    return false;
}

static int log_level = -1;

void el_log(int level, const char *fmt, ...) {
    if (log_level < 0) {
        const char *e = getenv("EL_LOG");
        log_level = EL_LOG_WARN;
        if (e) {
            if (!strcmp(e, "error")) log_level = EL_LOG_ERROR;
            else if (!strcmp(e, "info")) log_level = EL_LOG_INFO;
            else if (!strcmp(e, "debug")) log_level = EL_LOG_DEBUG;
        }
    }
    if (level > log_level) return;
    static const char *names[] = {"error", "warn", "info", "debug"};
    fprintf(stderr, "edgellm: %s: ", names[level < 0 ? 0 : level > 3 ? 3 : level]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

double el_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
