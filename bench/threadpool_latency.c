/* bench/threadpool_latency.c — dispatch cost of kernels/threadpool (not a test).
 *
 * For each pool size, runs many empty jobs back to back and prints the mean wall time per
 * job (fork + barrier), once with the default spin budget and once with spinning off (every
 * wake-up through the condvar), then the process CPU time burnt while the pool sits idle
 * for 200 ms after its spin budget ran out (should be ~0).
 *
 * Build and run from the repo root, after `make`:
 *   cc -O2 -D_GNU_SOURCE -Isrc bench/threadpool_latency.c build/libedgellm.a -lm -lpthread \
 *      -o build/threadpool_latency && ./build/threadpool_latency [max_threads] [jobs]
 */
#include "kernels/threadpool.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void empty_fn(void *ctx, int ith, int nth) {
    (void)ith;
    (void)nth;
    atomic_fetch_add_explicit((atomic_int *)ctx, 1, memory_order_relaxed);
}

static double per_job_us(el_pool *p, long jobs) {
    atomic_int n;
    atomic_init(&n, 0);
    for (int i = 0; i < 100; i++)
        el_pool_run(p, empty_fn, &n); /* warm up */
    double t0 = now_s();
    for (long i = 0; i < jobs; i++)
        el_pool_run(p, empty_fn, &n);
    return (now_s() - t0) / (double)jobs * 1e6;
}

int main(int argc, char **argv) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int max_t = argc > 1 ? atoi(argv[1]) : (int)(ncpu > 0 ? ncpu : 1);
    long jobs = argc > 2 ? atol(argv[2]) : 20000;
    if (max_t < 1 || max_t > EL_POOL_MAX_THREADS || jobs < 1) {
        fprintf(stderr, "usage: %s [max_threads 1..%d] [jobs]\n", argv[0], EL_POOL_MAX_THREADS);
        return 2;
    }
    printf("online cpus %ld, %ld jobs per point\n", ncpu, jobs);
    printf("%8s %14s %14s %16s\n", "threads", "us/job spin", "us/job sleep", "idle cpu ms/200");
    for (int t = 1; t <= max_t; t++) {
        char err[200];
        el_pool *p = el_pool_new(t, err, sizeof err);
        if (!p) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        double spin = per_job_us(p, jobs);
        el_pool_set_spin_us(p, 0);
        double sleep = per_job_us(p, jobs / 10 + 1);
        el_pool_set_spin_us(p, EL_POOL_SPIN_US);
        atomic_int n;
        atomic_init(&n, 0);
        el_pool_run(p, empty_fn, &n);
        usleep(20000); /* let the spin budget run out */
        double c0 = cpu_s();
        usleep(200000);
        double idle = (cpu_s() - c0) * 1e3;
        printf("%8d %14.2f %14.2f %16.3f\n", t, spin, sleep, idle);
        el_pool_free(p);
    }
    return 0;
}
