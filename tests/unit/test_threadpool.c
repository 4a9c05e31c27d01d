/* tests/unit/test_threadpool.c — kernels/threadpool: every thread runs each job exactly once
 * with the right (ith, nth), row splits cover every row once, writes are visible after the
 * barrier, the sleep path never loses a wake-up, nested/concurrent runs are rejected, and
 * many tiny jobs go through. Pool sizes 1..8 (the test machine has 2 cores, so larger pools
 * are oversubscribed on purpose). No timing is asserted.
 *
 * Also run under ThreadSanitizer:
 *   make BUILD=build-tsan OPT="-O1 -g" SAN=-fsanitize=thread build-tsan/tests/test_threadpool
 */
#include "kernels/threadpool.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

#pragma GCC diagnostic ignored "-Wformat-zero-length" /* CHECK(cond) with no message */

enum { MAXT = 8 };

/* ---- partitioning ------------------------------------------------------------------------ */

typedef struct part_job {
    int64_t n;         /* rows this run */
    int *rows;         /* (n) each row incremented by the thread that owns it */
    int calls[MAXT];   /* calls per ith (each ith writes its own slot) */
    int bad_nth[MAXT]; /* calls that saw an unexpected nth */
    int want_nth;
    const int *input;   /* (n) written by the caller before the run */
    int64_t sums[MAXT]; /* per-thread sum of input over its rows */
} part_job;

static void part_fn(void *ctx, int ith, int nth) {
    part_job *j = ctx;
    j->calls[ith]++;
    if (nth != j->want_nth) j->bad_nth[ith]++;
    int64_t lo, hi;
    el_pool_split(j->n, ith, nth, &lo, &hi);
    int64_t sum = 0;
    for (int64_t r = lo; r < hi; r++) {
        j->rows[r]++;
        sum += j->input[r];
    }
    j->sums[ith] = sum;
}

static void test_partition(void) {
    enum { MAXN = 1000, RUNS = 300 };
    int *rows = malloc(MAXN * sizeof *rows), *input = malloc(MAXN * sizeof *input);
    REQUIRE(rows && input, "alloc");
    for (int t = 1; t <= MAXT; t++) {
        char err[200] = "";
        el_pool *p = el_pool_new(t, err, sizeof err);
        REQUIRE(p, "pool of %d: %s", t, err);
        CHECK(el_pool_size(p) == t, "size %d", el_pool_size(p));
        part_job j = {.rows = rows, .input = input, .want_nth = t};
        int bad_rows = 0, bad_sum = 0;
        for (int run = 0; run < RUNS; run++) {
            j.n = (run * 37) % MAXN; /* includes 0 and n < nth */
            int64_t want = 0;
            for (int64_t r = 0; r < j.n; r++) {
                rows[r] = 0;
                input[r] = run + (int)r; /* caller writes before the run */
                want += input[r];
            }
            CHECK(el_pool_run(p, part_fn, &j) == 0, "run");
            for (int64_t r = 0; r < j.n; r++)
                bad_rows += rows[r] != 1;
            int64_t got = 0;
            for (int i = 0; i < t; i++)
                got += j.sums[i];
            bad_sum += got != want;
        }
        CHECK(bad_rows == 0, "pool %d: %d rows not covered exactly once", t, bad_rows);
        CHECK(bad_sum == 0, "pool %d: %d runs with a wrong total", t, bad_sum);
        for (int i = 0; i < MAXT; i++) {
            CHECK(j.calls[i] == (i < t ? RUNS : 0), "pool %d: ith %d called %d times", t, i,
                  j.calls[i]);
            CHECK(j.bad_nth[i] == 0, "pool %d: ith %d saw a wrong nth", t, i);
        }
        el_pool_free(p);
    }
    free(rows);
    free(input);
}

static void test_split(void) {
    int bad = 0;
    for (int64_t n = 0; n < 100; n++) {
        for (int nth = 1; nth <= 9; nth++) {
            int64_t expect_lo = 0;
            for (int ith = 0; ith < nth; ith++) {
                int64_t lo, hi;
                el_pool_split(n, ith, nth, &lo, &hi);
                int64_t share = hi - lo;
                bad += lo != expect_lo || share < n / nth || share > n / nth + 1;
                expect_lo = hi;
            }
            bad += expect_lo != n;
        }
    }
    CHECK(bad == 0, "%d bad splits", bad);
}

/* ---- run_n: subsets of the pool ----------------------------------------------------------- */

typedef struct sub_job {
    int calls[MAXT];
    int nth_seen[MAXT];
} sub_job;

static void sub_fn(void *ctx, int ith, int nth) {
    sub_job *j = ctx;
    j->calls[ith]++;
    j->nth_seen[ith] = nth;
}

static void test_run_n(void) {
    el_pool *p = el_pool_new(6, NULL, 0);
    REQUIRE(p, "pool");
    sub_job j;
    memset(&j, 0, sizeof j);
    int want[MAXT] = {0};
    int bad = 0;
    for (int run = 0; run < 3000; run++) {
        int n = 1 + (run * 7) % 8; /* 1..8, above the size is clamped to 6 */
        int eff = n > 6 ? 6 : n;
        CHECK(el_pool_run_n(p, n, sub_fn, &j) == 0, "run_n");
        for (int i = 0; i < eff; i++) {
            want[i]++;
            bad += j.nth_seen[i] != eff;
        }
    }
    CHECK(bad == 0, "%d calls saw a wrong nth", bad);
    for (int i = 0; i < MAXT; i++)
        CHECK(j.calls[i] == want[i], "ith %d: %d calls, want %d", i, j.calls[i], want[i]);
    CHECK(el_pool_run_n(p, 0, sub_fn, &j) == 0 && j.calls[0] == want[0] + 1, "nth 0 -> 1");
    el_pool_free(p);
}

/* ---- stress: many tiny jobs --------------------------------------------------------------- */

typedef struct tiny_job {
    atomic_llong sum;
} tiny_job;

static void tiny_fn(void *ctx, int ith, int nth) {
    tiny_job *j = ctx;
    (void)nth;
    atomic_fetch_add_explicit(&j->sum, ith + 1, memory_order_relaxed);
}

static void stress(int threads, long jobs, int spin_us) {
    el_pool *p = el_pool_new(threads, NULL, 0);
    REQUIRE(p, "pool of %d", threads);
    if (spin_us >= 0) el_pool_set_spin_us(p, spin_us);
    tiny_job j;
    atomic_init(&j.sum, 0);
    long fails = 0;
    for (long i = 0; i < jobs; i++)
        fails += el_pool_run(p, tiny_fn, &j) != 0;
    long long want = (long long)jobs * threads * (threads + 1) / 2;
    CHECK(fails == 0, "%ld runs failed", fails);
    CHECK(atomic_load(&j.sum) == want, "pool %d spin %d: sum %lld want %lld", threads, spin_us,
          (long long)atomic_load(&j.sum), want);
    el_pool_free(p);
}

static void test_stress(void) {
    stress(2, 100000, -1); /* as many threads as cores: the spinning fast path */
    stress(4, 20000, -1);  /* oversubscribed */
    stress(8, 5000, -1);
    stress(3, 20000, 0); /* no spinning: every wake-up and every finish goes through sleep */
    stress(8, 2000, 0);
}

/* sleeping workers (idle longer than the spin budget) wake up for the next job */
static void test_sleep_wake(void) {
    el_pool *p = el_pool_new(4, NULL, 0);
    REQUIRE(p, "pool");
    el_pool_set_spin_us(p, 50);
    tiny_job j;
    atomic_init(&j.sum, 0);
    for (int i = 0; i < 20; i++) {
        usleep(2000); /* > spin budget: everyone is asleep now */
        CHECK(el_pool_run(p, tiny_fn, &j) == 0, "run");
    }
    CHECK(atomic_load(&j.sum) == 20 * 10, "sum %lld", (long long)atomic_load(&j.sum));
    el_pool_free(p);
}

/* ---- misuse ------------------------------------------------------------------------------- */

typedef struct nest_job {
    el_pool *pool;
    int rc[MAXT];
} nest_job;

static void nested_fn(void *ctx, int ith, int nth) {
    (void)nth;
    nest_job *j = ctx;
    j->rc[ith] = el_pool_run(j->pool, tiny_fn, NULL); /* must be refused, not deadlock */
}

static void test_nested(void) {
    for (int t = 1; t <= 4; t++) {
        nest_job j = {0};
        j.pool = el_pool_new(t, NULL, 0);
        REQUIRE(j.pool, "pool");
        for (int i = 0; i < MAXT; i++)
            j.rc[i] = 7;
        CHECK(el_pool_run(j.pool, nested_fn, &j) == 0, "outer run");
        for (int i = 0; i < t; i++)
            CHECK(j.rc[i] == -1, "pool %d: nested run from ith %d returned %d", t, i, j.rc[i]);
        /* the pool still works afterwards */
        tiny_job tj;
        atomic_init(&tj.sum, 0);
        CHECK(el_pool_run(j.pool, tiny_fn, &tj) == 0 && atomic_load(&tj.sum) == t * (t + 1) / 2,
              "pool %d usable after a nested attempt", t);
        el_pool_free(j.pool);
    }
}

/* two outside threads drive one pool: each run either runs whole or is refused */
typedef struct race_arg {
    el_pool *pool;
    tiny_job *job;
    long ok;
} race_arg;

static void *race_main(void *arg) {
    race_arg *a = arg;
    for (int i = 0; i < 3000; i++)
        a->ok += el_pool_run(a->pool, tiny_fn, a->job) == 0;
    return NULL;
}

static void test_concurrent_callers(void) {
    el_pool *p = el_pool_new(3, NULL, 0);
    REQUIRE(p, "pool");
    tiny_job j;
    atomic_init(&j.sum, 0);
    race_arg a = {p, &j, 0}, b = {p, &j, 0};
    pthread_t ta, tb;
    REQUIRE(pthread_create(&ta, NULL, race_main, &a) == 0, "thread");
    REQUIRE(pthread_create(&tb, NULL, race_main, &b) == 0, "thread");
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(a.ok + b.ok > 0, "some runs went through: %ld", a.ok + b.ok);
    CHECK(atomic_load(&j.sum) == (a.ok + b.ok) * 6, "every accepted run ran whole: %lld vs %ld",
          (long long)atomic_load(&j.sum), (a.ok + b.ok) * 6);
    el_pool_free(p);
}

static void test_bad_args(void) {
    char err[200] = "";
    CHECK(el_pool_new(0, err, sizeof err) == NULL && strstr(err, "threads"), "%s", err);
    CHECK(el_pool_new(EL_POOL_MAX_THREADS + 1, err, sizeof err) == NULL, "too many");
    CHECK(strchr(err, '\n') == NULL, "one line");
    el_pool *p = el_pool_new(2, err, sizeof err);
    REQUIRE(p, "%s", err);
    CHECK(el_pool_run(p, NULL, NULL) == -1, "NULL fn");
    CHECK(el_pool_run(NULL, tiny_fn, NULL) == -1, "NULL pool");
    CHECK(el_pool_size(NULL) == 0, "size of NULL");
    el_pool_free(p);
    el_pool_free(NULL);
    /* create and destroy repeatedly, with and without ever running */
    for (int i = 0; i < 50; i++) {
        p = el_pool_new(1 + i % 8, NULL, 0);
        REQUIRE(p, "pool");
        if (i & 1) {
            tiny_job j;
            atomic_init(&j.sum, 0);
            CHECK(el_pool_run(p, tiny_fn, &j) == 0, "run");
        }
        el_pool_free(p);
    }
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_split);
    RUN(test_partition);
    RUN(test_run_n);
    RUN(test_stress);
    RUN(test_sleep_wake);
    RUN(test_nested);
    RUN(test_concurrent_callers);
    RUN(test_bad_args);
    return test_summary(argv[0]);
}
