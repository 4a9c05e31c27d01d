/* sample/sample.c — the sampler chain, its PRNG, and log-softmax helpers.
 *
 * Owns: one el_sampler per generation stream. Each sample reads the logits (through a
 * working copy only when logit bias or penalties change some of them), and fills the
 * candidate array with what can survive: top-k streams the logits through a k-entry heap
 * (O(n log k), usually one comparison per token); without top-k every finite token is a
 * candidate. Truncation then shrinks the candidates in place. Top-p first tries the best 256
 * (sorted), which is where peaked distributions end; otherwise it, like typical, finds its
 * cut with a mass-guided quickselect (expected O(n)) and sorts only the survivors. Penalty
 * state is a per-token counter plus either a ring of the last `penalty_last_n` accepted
 * tokens or, for "whole history", the list of distinct tokens seen.
 *
 * Invariants: candidates never hold a -inf or NaN logit; ids are unique, so "logit
 * descending, then id ascending" is a strict total order and every selection and sort is
 * deterministic for a given input (ties always go to the lower id).
 *
 * Memory: everything is allocated in el_sampler_new (16 bytes per vocab entry, plus 8 with
 * penalties or 4 with only a logit bias); sample/accept/reset allocate nothing (sorting is
 * an in-place heap sort, not qsort, which may malloc).
 *
 * PRNG: xoshiro256** seeded through splitmix64 (both public-domain algorithms by Vigna and
 * Blackman); doubles in [0,1) from the top 53 bits.
 */
#include "sample/sample.h"

#include "core/core.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Top-p over more than TOP_P_PARTIAL_MIN candidates first sorts only the best TOP_P_FIRST and
 * falls back to the quickselect when their mass is below top_p. */
#define TOP_P_FIRST 256
#define TOP_P_PARTIAL_MIN 1024

struct el_sampler {
    el_sampler_params p; /* copy; p.logit_bias points at bias below */
    int32_t n_vocab;
    el_token_prob *cand; /* (n_vocab) */
    float *adj;          /* (n_vocab) logits after bias + penalties; NULL when neither is on */
    int32_t n_cand;      /* survivors of the last sample */
    el_logit_bias *bias; /* (p.n_logit_bias) */
    bool penalties;      /* any penalty active */
    int32_t *count;      /* (n_vocab) occurrences in the window; NULL without penalties */
    int32_t *ring;       /* (penalty_last_n) accepted tokens, oldest at ring_head; last_n > 0 */
    int32_t ring_head, ring_len;
    int32_t *seen; /* (n_vocab) distinct tokens with count > 0; penalty_last_n == -1 only */
    int32_t n_seen;
    uint64_t seed;   /* resolved */
    uint64_t rng[4]; /* xoshiro256** state */
};

/* ---- PRNG ------------------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl64(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t st[4]) {
    uint64_t r = rotl64(st[1] * 5, 7) * 9;
    uint64_t t = st[1] << 17;
    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = rotl64(st[3], 45);
    return r;
}

static double rng_uniform(uint64_t st[4]) {
    return (double)(rng_next(st) >> 11) * 0x1.0p-53;
}

static void rng_seed(uint64_t st[4], uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        st[i] = splitmix64(&x); /* never all zero in practice */
}

uint64_t el_seed_random(void) {
    uint64_t v = 0;
    bool ok = getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v;
    if (!ok) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ok = read(fd, &v, sizeof v) == (ssize_t)sizeof v;
            close(fd);
        }
    }
    if (!ok) { /* last resort: time, pid and an address, mixed */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        x ^= (uint64_t)getpid() << 32;
        x ^= (uint64_t)(uintptr_t)&v;
        v = splitmix64(&x);
    }
    if (v == EL_SEED_RANDOM) v ^= 1;
    return v;
}

/* ---- params ---------------------------------------------------------------------------- */

void el_sampler_params_default(el_sampler_params *p) {
    memset(p, 0, sizeof *p);
    p->temp = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->typical_p = 1.0f;
    p->repeat_penalty = 1.0f;
    p->penalty_last_n = 64;
    p->frequency_penalty = 0.0f;
    p->presence_penalty = 0.0f;
    p->seed = EL_SEED_RANDOM;
    p->logit_bias = NULL;
    p->n_logit_bias = 0;
}

static int check_params(const el_sampler_params *p, int32_t n_vocab, char *err, size_t errlen) {
    if (n_vocab <= 0) return el_errf(err, errlen, "sampler: n_vocab %d must be > 0", n_vocab);
    if (!isfinite(p->temp)) return el_errf(err, errlen, "sampler: temp must be finite");
    if (isnan(p->top_p) || p->top_p < 0)
        return el_errf(err, errlen, "sampler: top_p %g must be >= 0", (double)p->top_p);
    if (isnan(p->min_p) || p->min_p > 1)
        return el_errf(err, errlen, "sampler: min_p %g must be <= 1", (double)p->min_p);
    if (isnan(p->typical_p) || p->typical_p < 0)
        return el_errf(err, errlen, "sampler: typical_p %g must be >= 0", (double)p->typical_p);
    if (!isfinite(p->repeat_penalty) || p->repeat_penalty <= 0)
        return el_errf(err, errlen, "sampler: repeat_penalty %g must be finite and > 0",
                       (double)p->repeat_penalty);
    if (p->penalty_last_n < -1)
        return el_errf(err, errlen, "sampler: penalty_last_n %d must be >= -1", p->penalty_last_n);
    if (!isfinite(p->frequency_penalty))
        return el_errf(err, errlen, "sampler: frequency_penalty must be finite");
    if (!isfinite(p->presence_penalty))
        return el_errf(err, errlen, "sampler: presence_penalty must be finite");
    if (p->n_logit_bias < 0 || (p->n_logit_bias > 0 && !p->logit_bias))
        return el_errf(err, errlen, "sampler: bad logit_bias list (n %d)", p->n_logit_bias);
    for (int32_t i = 0; i < p->n_logit_bias; i++) {
        const el_logit_bias *b = &p->logit_bias[i];
        if (b->id < 0 || b->id >= n_vocab)
            return el_errf(err, errlen, "sampler: logit_bias token %d outside vocab of %d", b->id,
                           n_vocab);
        if (isnan(b->bias))
            return el_errf(err, errlen, "sampler: logit_bias for token %d is NaN", b->id);
    }
    return 0;
}

el_sampler *el_sampler_new(const el_sampler_params *p, int32_t n_vocab, char *err, size_t errlen) {
    if (!p) {
        el_errf(err, errlen, "sampler: no params");
        return NULL;
    }
    if (check_params(p, n_vocab, err, errlen) < 0) return NULL;
    el_sampler *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    s->p = *p;
    s->n_vocab = n_vocab;
    s->penalties =
        p->penalty_last_n != 0 &&
        (p->repeat_penalty != 1.0f || p->frequency_penalty != 0.0f || p->presence_penalty != 0.0f);
    /* n_vocab > 0 fits int32, so these products fit size_t on every target we build for */
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    if (!s->cand) goto oom;
    if (s->penalties || p->n_logit_bias > 0) {
        s->adj = malloc((size_t)n_vocab * sizeof *s->adj);
        if (!s->adj) goto oom;
    }
    if (p->n_logit_bias > 0) {
        s->bias = malloc((size_t)p->n_logit_bias * sizeof *s->bias);
        if (!s->bias) goto oom;
        memcpy(s->bias, p->logit_bias, (size_t)p->n_logit_bias * sizeof *s->bias);
    }
    s->p.logit_bias = s->bias;
    if (s->penalties) {
        s->count = calloc((size_t)n_vocab, sizeof *s->count);
        if (!s->count) goto oom;
        if (p->penalty_last_n > 0) {
            s->ring = malloc((size_t)p->penalty_last_n * sizeof *s->ring);
            if (!s->ring) goto oom;
        } else {
            s->seen = malloc((size_t)n_vocab * sizeof *s->seen);
            if (!s->seen) goto oom;
        }
    }
    s->seed = p->seed == EL_SEED_RANDOM ? el_seed_random() : p->seed;
    el_sampler_reset(s);
    return s;
oom:
    el_sampler_free(s);
    el_errf(err, errlen, "sampler: out of memory for a vocab of %d", n_vocab);
    return NULL;
}

void el_sampler_free(el_sampler *s) {
    if (!s) return;
    free(s->cand);
    free(s->adj);
    free(s->bias);
    free(s->count);
    free(s->ring);
    free(s->seen);
    free(s);
}

void el_sampler_reset(el_sampler *s) {
    if (!s) return;
    if (s->count) memset(s->count, 0, (size_t)s->n_vocab * sizeof *s->count);
    s->ring_head = s->ring_len = 0;
    s->n_seen = 0;
    s->n_cand = 0;
    rng_seed(s->rng, s->seed);
}

uint64_t el_sampler_seed(const el_sampler *s) {
    return s ? s->seed : 0;
}

int32_t el_sampler_candidates(const el_sampler *s, const el_token_prob **out) {
    if (out) *out = s ? s->cand : NULL;
    return s ? s->n_cand : 0;
}

void el_sampler_accept(el_sampler *s, int32_t token) {
    if (!s || !s->penalties || token < 0 || token >= s->n_vocab) return;
    int32_t last_n = s->p.penalty_last_n;
    if (last_n > 0) {
        if (s->ring_len == last_n) { /* window full: the oldest token leaves it */
            s->count[s->ring[s->ring_head]]--;
            s->ring[s->ring_head] = token;
            s->ring_head = s->ring_head + 1 == last_n ? 0 : s->ring_head + 1;
        } else {
            int32_t at = s->ring_head + s->ring_len;
            if (at >= last_n) at -= last_n;
            s->ring[at] = token;
            s->ring_len++;
        }
        s->count[token]++;
    } else {
        if (s->count[token] == 0) s->seen[s->n_seen++] = token;
        if (s->count[token] < INT32_MAX) s->count[token]++;
    }
}

/* ---- chain pieces ---------------------------------------------------------------------- */

/* a ranks before b: higher logit, then lower id */
static inline bool better(const el_token_prob *a, const el_token_prob *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

/* typical: lower score first, then the usual order */
static inline bool typical_before(const el_token_prob *a, const el_token_prob *b) {
    return a->aux < b->aux || (a->aux == b->aux && better(a, b));
}

typedef bool (*before_fn)(const el_token_prob *a, const el_token_prob *b);

static inline void swap_tp(el_token_prob *a, el_token_prob *b) {
    el_token_prob t = *a;
    *a = *b;
    *b = t;
}

/* Heap over h[0..n) whose root is the element that sorts last under `before`. */
static inline void sift_down(el_token_prob *h, int32_t n, int32_t i, before_fn before) {
    for (;;) {
        int32_t l = 2 * i + 1, w = i;
        if (l < n && before(&h[w], &h[l])) w = l;
        if (l + 1 < n && before(&h[w], &h[l + 1])) w = l + 1;
        if (w == i) return;
        swap_tp(&h[i], &h[w]);
        i = w;
    }
}

/* In-place heap sort (not qsort: glibc's allocates a merge buffer for large arrays, and this
 * path must not allocate). O(n log n) worst case; `before` is a strict total order here, so
 * the result is fully determined. */
static void sort_by(el_token_prob *a, int32_t n, before_fn before) {
    for (int32_t i = n / 2 - 1; i >= 0; i--)
        sift_down(a, n, i, before);
    for (int32_t end = n - 1; end > 0; end--) {
        swap_tp(&a[0], &a[end]); /* the last-sorting element goes to the back */
        sift_down(a, end, 0, before);
    }
}

/* The k best tokens of x[0..n) into h[0..k) (unordered); returns how many (fewer when fewer
 * than k tokens are above -inf). O(n log k), reading x only: most tokens are rejected by one
 * comparison with the worst kept so far. NaN and -inf are skipped. */
static int32_t select_top(const float *x, int32_t n, el_token_prob *h, int32_t k) {
    int32_t m = 0, i = 0;
    for (; i < n && m < k; i++) { /* fill: sift up, the worst stays at the root */
        if (!(x[i] > -INFINITY)) continue;
        el_token_prob t = {.id = i, .logit = x[i]};
        int32_t j = m++;
        while (j > 0 && better(&h[(j - 1) / 2], &t)) {
            h[j] = h[(j - 1) / 2];
            j = (j - 1) / 2;
        }
        h[j] = t;
    }
    /* ids arrive in increasing order, so a tie with the worst kept loses: only a strictly
     * greater logit gets in (NaN compares false and stays out) */
    float thr = m > 0 ? h[0].logit : INFINITY;
    for (; i < n; i++) {
        if (!(x[i] > thr)) continue;
        h[0] = (el_token_prob){.id = i, .logit = x[i]};
        sift_down(h, k, 0, better);
        thr = h[0].logit;
    }
    return m;
}

/* In place over c[0..n): the k best into c[0..k) (unordered). 0 < k < n. */
static void select_top_inplace(el_token_prob *c, int32_t n, int32_t k) {
    for (int32_t i = k / 2 - 1; i >= 0; i--)
        sift_down(c, k, i, better);
    for (int32_t i = k; i < n; i++) {
        if (better(&c[i], &c[0])) {
            swap_tp(&c[0], &c[i]);
            sift_down(c, k, 0, better);
        }
    }
}

/* p = softmax(logit) over c[0..n), normalised. n >= 1, no -inf/NaN logits. When the max is
 * +inf, the +inf entries share the mass. */
static void softmax(el_token_prob *c, int32_t n) {
    float m = c[0].logit;
    for (int32_t i = 1; i < n; i++)
        m = c[i].logit > m ? c[i].logit : m;
    double sum = 0;
    for (int32_t i = 0; i < n; i++) {
        float e = isinf(m) ? (c[i].logit == m ? 1.0f : 0.0f) : expf(c[i].logit - m);
        c[i].p = e;
        sum += e;
    }
    for (int32_t i = 0; i < n; i++)
        c[i].p = (float)(c[i].p / sum);
}

static void apply_penalties(el_sampler *s, float *x) {
    const el_sampler_params *p = &s->p;
    int32_t *count = s->count;
#define PENALIZE(id, n)                                                                            \
    do {                                                                                           \
        float x_ = x[id];                                                                          \
        x_ = x_ <= 0 ? x_ * p->repeat_penalty : x_ / p->repeat_penalty;                            \
        x_ -= (float)(n)*p->frequency_penalty + p->presence_penalty;                               \
        x[id] = isnan(x_) ? -INFINITY : x_;                                                        \
    } while (0)
    if (p->penalty_last_n > 0) {
        /* each distinct id once: flip its count negative after use, restore after */
        for (int32_t j = 0, at = s->ring_head; j < s->ring_len; j++) {
            int32_t id = s->ring[at];
            if (count[id] > 0) {
                PENALIZE(id, count[id]);
                count[id] = -count[id];
            }
            at = at + 1 == p->penalty_last_n ? 0 : at + 1;
        }
        for (int32_t j = 0, at = s->ring_head; j < s->ring_len; j++) {
            int32_t id = s->ring[at];
            if (count[id] < 0) count[id] = -count[id];
            at = at + 1 == p->penalty_last_n ? 0 : at + 1;
        }
    } else {
        for (int32_t j = 0; j < s->n_seen; j++)
            PENALIZE(s->seen[j], count[s->seen[j]]);
    }
#undef PENALIZE
}

/* Mass reaching a target: top-p keeps the shortest prefix with mass >= p, typical (as
 * llama.cpp) the shortest with mass > p. */
static inline bool reaches(double mass, double target, bool strict) {
    return strict ? mass > target : mass >= target;
}

/* Rearranges c[0..n) so that c[0..k) holds the first k under `before` (unordered), for the
 * smallest k (>= 1) whose mass reaches target; returns k (n when the total never reaches
 * it). Quickselect with pivots from a fixed xorshift sequence: expected O(n), and the same
 * input always takes the same steps. */
static int32_t select_mass(el_token_prob *c, int32_t n, double target, bool strict,
                           before_fn before) {
    int32_t lo = 0, hi = n; /* c[0..lo) is taken, c[lo..hi) undecided, c[hi..n) dropped */
    double need = target;
    uint32_t r = 0x9E3779B9u;
    while (lo < hi) {
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        swap_tp(&c[lo + (int32_t)(r % (uint32_t)(hi - lo))], &c[hi - 1]);
        el_token_prob piv = c[hi - 1];
        int32_t store = lo;
        double mass = 0; /* of the elements before the pivot */
        for (int32_t i = lo; i < hi - 1; i++) {
            if (before(&c[i], &piv)) {
                mass += c[i].p;
                swap_tp(&c[i], &c[store++]);
            }
        }
        swap_tp(&c[store], &c[hi - 1]); /* pivot between the earlier and the later ones */
        if (store > lo && reaches(mass, need, strict)) {
            hi = store; /* the cut is among the earlier ones */
        } else if (reaches(mass + piv.p, need, strict)) {
            return store + 1;
        } else {
            need -= mass + piv.p; /* take the earlier ones and the pivot */
            lo = store + 1;
        }
    }
    return lo > 0 ? lo : 1;
}

/* Smallest k >= 1 whose prefix mass of the sorted c[0..n) reaches target, or 0 if none. */
static int32_t cut_sorted(const el_token_prob *c, int32_t n, double target, bool strict) {
    double cum = 0;
    for (int32_t i = 0; i < n; i++) {
        cum += c[i].p;
        if (reaches(cum, target, strict)) return i + 1;
    }
    return 0;
}

/* Keeps the shortest prefix under `before` whose mass reaches target; sorts only the
 * survivors. The selection sums in partition order and the final count re-sums in sorted
 * order, so they can differ only by rounding (then the sorted count, if any, wins). */
static int32_t cut_by_mass(el_token_prob *c, int32_t n, double target, bool strict,
                           before_fn before) {
    int32_t k = select_mass(c, n, target, strict, before);
    sort_by(c, k, before);
    int32_t k2 = cut_sorted(c, k, target, strict);
    return k2 > 0 ? k2 : k;
}

static int32_t apply_top_p(el_token_prob *c, int32_t n, float top_p) {
    softmax(c, n);
    if (n > TOP_P_PARTIAL_MIN) { /* peaked distributions end inside the best 256 */
        select_top_inplace(c, n, TOP_P_FIRST);
        sort_by(c, TOP_P_FIRST, better);
        int32_t k = cut_sorted(c, TOP_P_FIRST, top_p, false);
        if (k > 0) return k;
    }
    return cut_by_mass(c, n, top_p, false, better);
}

static int32_t apply_typical(el_token_prob *c, int32_t n, float typ) {
    softmax(c, n);
    double h = 0;
    for (int32_t i = 0; i < n; i++)
        if (c[i].p > 0) h -= (double)c[i].p * log((double)c[i].p);
    for (int32_t i = 0; i < n; i++)
        c[i].aux = c[i].p > 0 ? (float)fabs(-log((double)c[i].p) - h) : INFINITY;
    return cut_by_mass(c, n, typ, true, typical_before);
}

static int32_t apply_min_p(el_token_prob *c, int32_t n, float min_p) {
    float m = c[0].logit;
    for (int32_t i = 1; i < n; i++)
        m = c[i].logit > m ? c[i].logit : m;
    /* p_i >= min_p * p_max  <=>  logit_i >= max + log(min_p); the max always survives */
    float thr = m + logf(min_p);
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++)
        if (c[i].logit >= thr) c[k++] = c[i]; /* stable: keeps a sorted order sorted */
    return k;
}

/* Final softmax at temperature t > 0 and one draw. Computes exp((x - max) / t) so a tiny t
 * cannot overflow. Leaves normalised p and logit / t in c. */
static int32_t draw(el_sampler *s, el_token_prob *c, int32_t n, float t) {
    float m = c[0].logit;
    for (int32_t i = 1; i < n; i++)
        m = c[i].logit > m ? c[i].logit : m;
    double sum = 0;
    for (int32_t i = 0; i < n; i++) {
        float e = isinf(m) ? (c[i].logit == m ? 1.0f : 0.0f) : expf((c[i].logit - m) / t);
        c[i].p = e;
        sum += e;
        c[i].logit /= t;
    }
    double target = rng_uniform(s->rng) * sum, cum = 0;
    int32_t pick = -1;
    for (int32_t i = 0; i < n; i++) {
        if (c[i].p <= 0) continue;
        cum += c[i].p;
        pick = i;
        if (cum > target) break;
    }
    for (int32_t i = 0; i < n; i++)
        c[i].p = (float)(c[i].p / sum);
    return pick < 0 ? -1 : c[pick].id; /* pick < 0 impossible: sum >= 1 holds the max */
}

int32_t el_sampler_sample(el_sampler *s, const float *logits) {
    if (!s || !logits) return -1;
    const el_sampler_params *p = &s->p;
    el_token_prob *c = s->cand;
    int32_t n = s->n_vocab;
    s->n_cand = 0;

    /* x: the logits after bias and penalties (a working copy only when either is on) */
    const float *x = logits;
    if (s->adj) {
        memcpy(s->adj, logits, (size_t)n * sizeof *s->adj);
        for (int32_t j = 0; j < p->n_logit_bias; j++) {
            float v = s->adj[s->bias[j].id] + s->bias[j].bias;
            s->adj[s->bias[j].id] = isnan(v) ? -INFINITY : v; /* -inf + inf: banned wins */
        }
        if (s->penalties) apply_penalties(s, s->adj);
        x = s->adj;
    }

    if (p->temp <= 0) { /* greedy: the lowest id holding the maximum; NaN never compares > */
        float bx = -INFINITY;
        for (int32_t i = 0; i < n; i++)
            bx = x[i] > bx ? x[i] : bx; /* vectorisable */
        if (!(bx > -INFINITY)) return -1;
        int32_t best = 0;
        while (x[best] != bx)
            best++;
        c[0] = (el_token_prob){.id = best, .logit = bx, .p = 1.0f};
        s->n_cand = 1;
        return best;
    }

    if (p->top_k > 0 && p->top_k < n) {
        n = select_top(x, n, c, p->top_k);
    } else {
        int32_t k = 0;
        for (int32_t i = 0; i < n; i++)
            if (x[i] > -INFINITY) c[k++] = (el_token_prob){.id = i, .logit = x[i]};
        n = k;
    }
    if (n == 0) return -1;

    if (p->typical_p < 1.0f && n > 1) n = apply_typical(c, n, p->typical_p);
    if (p->top_p < 1.0f && n > 1) n = apply_top_p(c, n, p->top_p);
    if (p->min_p > 0.0f && n > 1) n = apply_min_p(c, n, p->min_p);
    s->n_cand = n;
    return draw(s, c, n, p->temp);
}

/* ---- log-softmax helpers --------------------------------------------------------------- */

static inline float clean(float x) {
    return isnan(x) ? -INFINITY : x;
}

/* max and log(sum exp(x - max)); for a +inf max, lse = log(count of +inf) */
static void log_sum_exp(const float *x, int32_t n, float *max, double *lse) {
    float m = -INFINITY;
    for (int32_t i = 0; i < n; i++)
        m = clean(x[i]) > m ? clean(x[i]) : m;
    double sum = 0;
    if (m == -INFINITY) {
        sum = 0;
    } else if (isinf(m)) {
        for (int32_t i = 0; i < n; i++)
            sum += clean(x[i]) == m;
    } else {
        for (int32_t i = 0; i < n; i++)
            sum += exp((double)clean(x[i]) - (double)m);
    }
    *max = m;
    *lse = log(sum);
}

static float logprob(float x, float m, double lse) {
    x = clean(x);
    if (x == -INFINITY || m == -INFINITY) return -INFINITY;
    if (isinf(m)) return x == m ? (float)-lse : -INFINITY;
    return (float)((double)x - (double)m - lse);
}

float el_logprob_of(const float *logits, int32_t n_vocab, int32_t id) {
    if (!logits || n_vocab <= 0 || id < 0 || id >= n_vocab) return NAN;
    float m;
    double lse;
    log_sum_exp(logits, n_vocab, &m, &lse);
    return logprob(logits[id], m, lse);
}

/* id a ranks before id b */
static inline bool better_id(const float *x, int32_t a, int32_t b) {
    float xa = clean(x[a]), xb = clean(x[b]);
    return xa > xb || (xa == xb && a < b);
}

static void sift_down_id(const float *x, int32_t *h, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, w = i;
        if (l < n && better_id(x, h[w], h[l])) w = l;
        if (l + 1 < n && better_id(x, h[w], h[l + 1])) w = l + 1;
        if (w == i) return;
        int32_t t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void sift_up_id(const float *x, int32_t *h, int i) {
    while (i > 0) {
        int up = (i - 1) / 2;
        if (!better_id(x, h[up], h[i])) return;
        int32_t t = h[i];
        h[i] = h[up];
        h[up] = t;
        i = up;
    }
}

int el_top_logprobs(const float *logits, int32_t n_vocab, int k, int32_t *ids, float *lps) {
    if (!logits || n_vocab <= 0 || k < 0 || (k > 0 && (!ids || !lps))) return -1;
    if (k == 0) return 0;
    float m;
    double lse;
    log_sum_exp(logits, n_vocab, &m, &lse);
    int n = 0; /* ids[0..n) is a min-heap: the worst kept token at the root */
    for (int32_t i = 0; i < n_vocab; i++) {
        if (clean(logits[i]) == -INFINITY) continue;
        if (n < k) {
            ids[n] = i;
            sift_up_id(logits, ids, n++);
        } else if (better_id(logits, i, ids[0])) {
            ids[0] = i;
            sift_down_id(logits, ids, n, 0);
        }
    }
    /* heap sort: moving the worst to the back each time leaves the best first */
    for (int end = n - 1; end > 0; end--) {
        int32_t t = ids[0];
        ids[0] = ids[end];
        ids[end] = t;
        sift_down_id(logits, ids, end, 0);
    }
    for (int i = 0; i < n; i++)
        lps[i] = logprob(logits[ids[i]], m, lse);
    return n;
}
