/* kernels/threadpool.h — the persistent thread pool the matrix kernels run on.
 *
 * A pool of n threads is n-1 workers plus the calling thread as thread 0.
 * el_pool_run(pool, fn, ctx) calls fn(ctx, ith, nth) once on every thread (ith = 0..nth-1)
 * and returns when all calls have returned: a fork and a barrier. The callee splits its
 * work by ith/nth (rows, usually); el_pool_split gives the usual contiguous split.
 *
 * Waiting: idle workers spin on an atomic generation counter for a bounded time
 * (EL_POOL_SPIN_US by default; pause instructions, with sched_yield mixed in after the first
 * 20 us or when the pool has more threads than CPUs) and then sleep on a condvar, so
 * back-to-back small jobs (hundreds per token) cost microseconds and an idle pool uses no
 * CPU. The caller waits for the workers the same way.
 *
 * Rules:
 * - A pool is driven by one thread at a time (its owner). Calling el_pool_run while the same
 *   pool is running a job — from inside fn (nested use) or from another thread — is
 *   rejected: it returns -1 and runs nothing. Nested use of a *different* pool works but
 *   oversubscribes the CPUs.
 * - A pool of 1 thread, and el_pool_run_n with nth 1, run fn inline: no wake-up, no barrier.
 * - fn must not block waiting for another thread of the same job (there is no
 *   guarantee all nth calls run at once: a worker may still be waking up).
 * - Memory: el_pool_new allocates; runs allocate nothing. Writes made by any thread's fn
 *   are visible to the caller when el_pool_run returns (and the caller's writes before the
 *   call are visible to every fn).
 */
#ifndef EL_THREADPOOL_H
#define EL_THREADPOOL_H

#include <stddef.h>
#include <stdint.h>

#define EL_POOL_MAX_THREADS 512
#define EL_POOL_SPIN_US 200

typedef struct el_pool el_pool;
typedef void (*el_pool_fn)(void *ctx, int ith, int nth);

/* n_threads >= 1 (including the caller), at most EL_POOL_MAX_THREADS. */
el_pool *el_pool_new(int n_threads, char *err, size_t errlen);
/* Stops and joins the workers. Must not be called while a job runs. NULL is a no-op. */
void el_pool_free(el_pool *p);
int el_pool_size(const el_pool *p);

/* Spin budget before sleeping, in microseconds (0: sleep at once). Call between runs. */
void el_pool_set_spin_us(el_pool *p, int us);

/* Runs fn on all threads of the pool. 0, or -1 (nothing ran) when fn is NULL or the pool is
 * busy (nested or concurrent use). */
int el_pool_run(el_pool *p, el_pool_fn fn, void *ctx);
/* The same on the first nth threads only (clamped to 1..size): the serial path for jobs too
 * small to be worth waking everyone. */
int el_pool_run_n(el_pool *p, int nth, el_pool_fn fn, void *ctx);

/* Contiguous share of n items for thread ith of nth: [*lo, *hi). Shares differ by at most 1
 * item and cover 0..n exactly. */
static inline void el_pool_split(int64_t n, int ith, int nth, int64_t *lo, int64_t *hi) {
    int64_t q = n / nth, r = n % nth;
    *lo = ith * q + (ith < r ? ith : r);
    *hi = *lo + q + (ith < r ? 1 : 0);
}

#endif
