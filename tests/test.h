/* tests/test.h — the tiny test harness every unit test uses.
 *
 * A test file defines `static void test_xxx(void)` functions, lists them in main() with
 * RUN(test_xxx), and ends with `return test_summary(argv[0]);`. CHECK records one assertion
 * (a failed one prints file:line and a message and the test goes on); REQUIRE returns from
 * the current test function on failure. The last line a binary prints is
 * "<name>: N passed, N failed"; tests/run.sh sums those lines over all binaries.
 *
 * Test data: el_testdata("models/stories260K.gguf") resolves a path under the shared
 * testdata folder ($EL_TESTDATA, default ../shared/testdata relative to the repo root).
 * Scratch files go under el_tmpdir() (a fresh mkdtemp folder, removed by nothing: the build
 * folder is disposable).
 */
#ifndef EL_TEST_H
#define EL_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int t_passed, t_failed;
static const char *t_current = "";

#define CHECK(cond, ...) CHECK_AT_((cond) ? 1 : 0, #cond, __VA_ARGS__)

/* ok is evaluated once: REQUIRE(f() == 0) calls f once. */
#define CHECK_AT_(ok, text, ...)                                                             \
    do {                                                                                     \
        if (ok) {                                                                            \
            t_passed++;                                                                      \
        } else {                                                                             \
            t_failed++;                                                                      \
            fprintf(stderr, "FAIL %s:%d [%s] %s: ", __FILE__, __LINE__, t_current, text);    \
            fprintf(stderr, " " __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                             \
        }                                                                                    \
    } while (0)

#define REQUIRE(cond, ...)                                                                   \
    do {                                                                                     \
        int req_ok_ = (cond) ? 1 : 0;                                                        \
        CHECK_AT_(req_ok_, #cond, __VA_ARGS__);                                              \
        if (!req_ok_) return;                                                                \
    } while (0)

#define CHECK_NEAR(a, b, tol, ...)                                                           \
    CHECK(fabs((double)(a) - (double)(b)) <= (tol), "%g vs %g (tol %g) " __VA_ARGS__,        \
          (double)(a), (double)(b), (double)(tol))

#define RUN(fn)                                                                              \
    do {                                                                                     \
        t_current = #fn;                                                                     \
        fn();                                                                                \
    } while (0)

static inline int test_summary(const char *argv0) {
    const char *name = strrchr(argv0, '/');
    name = name ? name + 1 : argv0;
    printf("%s: %d passed, %d failed\n", name, t_passed, t_failed);
    return t_failed ? 1 : 0;
}

static inline const char *el_testdata(const char *rel) {
    static char buf[8][4096];
    static int slot;
    const char *root = getenv("EL_TESTDATA");
    if (!root || !*root) root = "../shared/testdata";
    char *out = buf[slot++ & 7];
    snprintf(out, sizeof buf[0], "%s/%s", root, rel);
    return out;
}

static inline const char *el_tmpdir(void) {
    static char dir[256];
    if (!dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/edgellm-test-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return dir;
}

/* Reads a whole file into malloc'd memory (NUL-terminated); NULL on error. */
static inline char *el_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long n = ftell(f);
    rewind(f);
    char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) {
        p[n] = 0;
        if (len) *len = (size_t)n;
    }
    return p;
}

#endif
