/* plan/membw.c — memory read bandwidth probe. Each thread sums its own slice of one large
 * buffer with 16-byte vector loads and four independent accumulators (enough to keep the
 * load units busy on Cortex-A76 and x86 alike); the pass time is the slowest thread's.
 * The buffer is written once before timing so every page is really backed. Memory: one
 * buffer of the requested size for the duration of the call. */
#include "plan/membw.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

typedef uint64_t v2u64 __attribute__((vector_size(16)));

typedef struct job {
    const uint8_t *p;
    size_t n;
    atomic_int *go; /* 0: wait, 1: run, 2: abort */
    double secs;
    uint64_t sink;
} job;

static void *reader(void *arg) {
    job *j = arg;
    int g;
    while ((g = atomic_load(j->go)) == 0) sched_yield();
    if (g == 2) return NULL;
    double t0 = el_now();
    const v2u64 *v = (const v2u64 *)(const void *)j->p;
    size_t n = j->n / sizeof(v2u64);
    v2u64 a = {0, 0}, b = a, c = a, d = a;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a += v[i];
        b += v[i + 1];
        c += v[i + 2];
        d += v[i + 3];
    }
    for (; i < n; i++) a += v[i];
    a += b + c + d;
    j->secs = el_now() - t0;
    j->sink = a[0] ^ a[1];
    return NULL;
}

double el_membw_read(size_t bytes, int n_threads, int reps) {
    if (bytes == 0) bytes = (size_t)512 << 20;
    if (n_threads < 1 || n_threads > 256 || reps < 1) return -1;
    size_t slice = (bytes / (size_t)n_threads) & ~(size_t)63;
    if (slice == 0) return -1;
    uint8_t *buf = el_alloc_aligned(slice * (size_t)n_threads);
    if (!buf) return -1;
    for (size_t i = 0; i < slice * (size_t)n_threads; i += 4096) buf[i] = (uint8_t)i;
    job *jobs = calloc((size_t)n_threads, sizeof *jobs);
    pthread_t *th = calloc((size_t)n_threads, sizeof *th);
    double best = -1;
    if (!jobs || !th) goto out;
    for (int r = 0; r < reps; r++) {
        atomic_int go = 0;
        int started = 0;
        for (int t = 0; t < n_threads; t++) {
            jobs[t] = (job){.p = buf + (size_t)t * slice, .n = slice, .go = &go};
            if (t > 0 && pthread_create(&th[t], NULL, reader, &jobs[t]) != 0) break;
            started++;
        }
        if (started < n_threads) { /* tell the started ones to leave, then give up */
            atomic_store(&go, 2);
            for (int t = 1; t < started; t++) pthread_join(th[t], NULL);
            best = -1;
            goto out;
        }
        atomic_store(&go, 1);
        reader(&jobs[0]);
        double worst = jobs[0].secs;
        for (int t = 1; t < n_threads; t++) {
            pthread_join(th[t], NULL);
            if (jobs[t].secs > worst) worst = jobs[t].secs;
        }
        double gbs = (double)(slice * (size_t)n_threads) / worst / 1e9;
        if (gbs > best) best = gbs;
    }
out:
    free(jobs);
    free(th);
    el_free_aligned(buf);
    return best;
}
