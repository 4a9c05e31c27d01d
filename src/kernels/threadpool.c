/* kernels/threadpool.c — persistent fork/join pool (see threadpool.h for the contract).
 *
 * Owns: n-1 worker threads, one job slot, and the wake/done signalling.
 *
 * Protocol. A job is published by writing fn/ctx/pending and then storing the job word
 * (generation << 16 | nth) with release order; workers spin on that word with acquire loads,
 * so a changed word makes fn/ctx visible. nth lives in the word (not in the slot) so a worker
 * that is not part of a job (ith >= nth) never reads the slot, which the next job may be
 * rewriting. Each active worker decrements `pending` after fn returns; the caller waits for
 * 0. fn/ctx are rewritten only after pending reached 0, i.e. after every active worker has
 * finished reading them. nth 0 in the word means "exit".
 *
 * Sleeping (both directions) is a Dekker-style handshake on seq_cst atomics plus a mutex and
 * condvar: a sleeper announces itself (n_sleepers / main_sleeping) under the mutex and then
 * re-checks the condition; the waker changes the condition and then reads the announcement.
 * Sequential consistency guarantees at least one of them sees the other, and the mutex
 * makes the signal land after the sleeper is really waiting. So no wake-up is lost, and the
 * condvar is touched only when someone actually sleeps (the fast path is atomics only).
 *
 * Memory: the pool and its thread handles are allocated in el_pool_new; runs allocate
 * nothing. The hot atomics sit on their own cache lines to avoid false sharing.
 */
#include "kernels/threadpool.h"

#include "core/core.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct worker {
    struct el_pool *pool;
    int ith; /* 1..n-1 */
} worker;

struct el_pool {
    _Alignas(64) _Atomic uint64_t word; /* generation << 16 | nth; nth 0: exit */
    _Alignas(64) atomic_int pending;    /* active workers still inside fn */
    _Alignas(64) atomic_int busy;       /* a run is in progress (rejects nested runs) */
    atomic_int n_sleepers;              /* workers waiting on cv_work */
    atomic_int main_sleeping;           /* the caller waits on cv_done */
    atomic_int spin_us;
    el_pool_fn fn; /* job slot: written before `word`, read by active workers only */
    void *ctx;
    uint64_t gen; /* caller-side generation counter */
    int n;        /* threads including the caller */
    bool oversub; /* more threads than online CPUs: yield while spinning */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    pthread_t *threads; /* (n-1) */
    worker *workers;    /* (n-1) */
    int n_started;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

static inline int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Pure spinning (pause only) for this long; after it, and always when the pool has more
 * threads than CPUs, the spin also yields every 64 iterations, so on a machine shared with
 * other work a spinning thread hands its core to the thread it is waiting for. */
#define PURE_SPIN_US 20

/* One step of a bounded spin; false once the budget from t0 is used up. Reads the clock only
 * every 64 iterations. */
static inline bool spin_step(const el_pool *p, unsigned i, int64_t t0, int budget_us) {
    cpu_relax();
    if ((i & 63) != 63) return true;
    int64_t t = now_us() - t0;
    if (t >= budget_us) return false;
    if (p->oversub || t >= PURE_SPIN_US) sched_yield();
    return true;
}

/* Waits until the job word differs from `last`; returns the new word. */
static uint64_t wait_job(el_pool *p, uint64_t last) {
    int budget = atomic_load_explicit(&p->spin_us, memory_order_relaxed);
    int64_t t0 = budget > 0 ? now_us() : 0;
    uint64_t w;
    for (unsigned i = 0; budget > 0; i++) {
        w = atomic_load_explicit(&p->word, memory_order_acquire);
        if (w != last) return w;
        if (!spin_step(p, i, t0, budget)) break;
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->n_sleepers, 1);
    while ((w = atomic_load(&p->word)) == last)
        pthread_cond_wait(&p->cv_work, &p->mu);
    atomic_fetch_sub(&p->n_sleepers, 1);
    pthread_mutex_unlock(&p->mu);
    return w;
}

/* The caller waits for pending == 0. */
static void wait_done(el_pool *p) {
    int budget = atomic_load_explicit(&p->spin_us, memory_order_relaxed);
    int64_t t0 = budget > 0 ? now_us() : 0;
    for (unsigned i = 0; budget > 0; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0) return;
        if (!spin_step(p, i, t0, budget)) break;
    }
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->main_sleeping, 1);
    while (atomic_load(&p->pending) != 0)
        pthread_cond_wait(&p->cv_done, &p->mu);
    atomic_store(&p->main_sleeping, 0);
    pthread_mutex_unlock(&p->mu);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    el_pool *p = w->pool;
    uint64_t last = 0; /* the word el_pool_new starts with */
    for (;;) {
        uint64_t word = wait_job(p, last);
        last = word;
        int nth = (int)(word & 0xFFFF);
        if (nth == 0) break;
        if (w->ith >= nth) continue; /* not in this job: never touch the slot */
        p->fn(p->ctx, w->ith, nth);
        if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->main_sleeping)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

static void stop_workers(el_pool *p) {
    pthread_mutex_lock(&p->mu);
    p->gen++;
    atomic_store(&p->word, p->gen << 16); /* nth 0: exit */
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_started; i++)
        pthread_join(p->threads[i], NULL);
    p->n_started = 0;
}

el_pool *el_pool_new(int n_threads, char *err, size_t errlen) {
    if (n_threads < 1 || n_threads > EL_POOL_MAX_THREADS) {
        el_errf(err, errlen, "threadpool: %d threads (1..%d)", n_threads, EL_POOL_MAX_THREADS);
        return NULL;
    }
    el_pool *p = el_alloc_aligned(sizeof *p); /* zeroed, 64-byte aligned */
    if (!p) {
        el_errf(err, errlen, "threadpool: out of memory");
        return NULL;
    }
    p->n = n_threads;
    atomic_init(&p->word, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->busy, 0);
    atomic_init(&p->n_sleepers, 0);
    atomic_init(&p->main_sleeping, 0);
    atomic_init(&p->spin_us, EL_POOL_SPIN_US);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    p->oversub = ncpu > 0 && n_threads > ncpu;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    if (n_threads == 1) return p;

    p->threads = calloc((size_t)n_threads - 1, sizeof *p->threads);
    p->workers = calloc((size_t)n_threads - 1, sizeof *p->workers);
    if (!p->threads || !p->workers) {
        el_errf(err, errlen, "threadpool: out of memory");
        el_pool_free(p);
        return NULL;
    }
    /* workers block all signals: handlers run on the caller's threads only */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (int i = 0; i < n_threads - 1; i++) {
        p->workers[i] = (worker){.pool = p, .ith = i + 1};
        rc = pthread_create(&p->threads[i], NULL, worker_main, &p->workers[i]);
        if (rc != 0) break;
        p->n_started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        el_errf(err, errlen, "threadpool: cannot start thread %d of %d: %s", p->n_started + 1,
                n_threads, strerror(rc));
        el_pool_free(p);
        return NULL;
    }
    return p;
}

void el_pool_free(el_pool *p) {
    if (!p) return;
    if (p->n_started > 0) stop_workers(p);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_done);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p->workers);
    el_free_aligned(p);
}

int el_pool_size(const el_pool *p) {
    return p ? p->n : 0;
}

void el_pool_set_spin_us(el_pool *p, int us) {
    if (p) atomic_store_explicit(&p->spin_us, us < 0 ? 0 : us, memory_order_relaxed);
}

int el_pool_run_n(el_pool *p, int nth, el_pool_fn fn, void *ctx) {
    if (!p || !fn) return -1;
    if (nth > p->n) nth = p->n;
    if (nth < 1) nth = 1;
    if (atomic_exchange_explicit(&p->busy, 1, memory_order_acquire)) return -1;
    if (nth == 1) {
        fn(ctx, 0, 1);
        atomic_store_explicit(&p->busy, 0, memory_order_release);
        return 0;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->pending, nth - 1, memory_order_relaxed);
    p->gen++;
    atomic_store(&p->word, p->gen << 16 | (uint64_t)nth); /* publishes the slot */
    if (atomic_load(&p->n_sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
    }
    fn(ctx, 0, nth);
    wait_done(p);
    atomic_store_explicit(&p->busy, 0, memory_order_release);
    return 0;
}

int el_pool_run(el_pool *p, el_pool_fn fn, void *ctx) {
    return el_pool_run_n(p, p ? p->n : 1, fn, ctx);
}
