/* tests/unit/test_sample.c — samplers (sample/sample.h) and stop strings (sample/stop.h).
 *
 * Truncation samplers are checked through el_sampler_candidates (the exact surviving set);
 * penalties through the surviving logits at temp 1 with no truncation (exact values);
 * the draw through seeded repeatability and a chi-square test against softmax(logits / T).
 * Stop strings are checked on hand-made cases and by a property: whatever way a text is cut
 * into pieces, emitted text + flush equals the text up to the first stop (byte-by-byte
 * reference), and no emitted chunk ends inside a UTF-8 character.
 */
#include "core/core.h"
#include "sample/sample.h"
#include "sample/stop.h"
#include "test.h"

#include <float.h>

/* test.h's CHECK(cond) without a message expands to a zero-length format string */
#pragma GCC diagnostic ignored "-Wformat-zero-length"

/* ---- helpers ---------------------------------------------------------------------------- */

static el_sampler_params plain(void) { /* temp 1, nothing truncates, no penalties */
    el_sampler_params p;
    el_sampler_params_default(&p);
    p.temp = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 1234;
    return p;
}

static el_sampler *mk(const el_sampler_params *p, int32_t n) {
    char err[256] = "";
    el_sampler *s = el_sampler_new(p, n, err, sizeof err);
    if (!s) fprintf(stderr, "el_sampler_new: %s\n", err);
    return s;
}

/* bitmask of surviving ids (n <= 64) after one sample */
static uint64_t survivors(el_sampler *s, const float *logits) {
    el_sampler_sample(s, logits);
    const el_token_prob *c;
    int32_t n = el_sampler_candidates(s, &c);
    uint64_t m = 0;
    for (int32_t i = 0; i < n; i++)
        m |= 1ull << c[i].id;
    return m;
}

static float cand_logit(el_sampler *s, int32_t id) {
    const el_token_prob *c;
    int32_t n = el_sampler_candidates(s, &c);
    for (int32_t i = 0; i < n; i++)
        if (c[i].id == id) return c[i].logit;
    return NAN;
}

/* true when s[0..n) ends inside a multi-byte character (an incomplete lead sequence) */
static int ends_mid_char(const char *s, size_t n) {
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        unsigned char c = (unsigned char)s[n - back];
        if ((c & 0xC0) == 0x80) continue;
        return el_utf8_len(c) > (int)back;
    }
    return 0;
}

static void logs_of(const double *p, float *out, int n) {
    for (int i = 0; i < n; i++)
        out[i] = (float)log(p[i]);
}

/* ---- sampler ------------------------------------------------------------------------------ */

static void test_defaults(void) {
    el_sampler_params p;
    el_sampler_params_default(&p);
    CHECK(p.temp == 0.8f && p.top_k == 40 && p.top_p == 0.95f && p.min_p == 0.05f);
    CHECK(p.repeat_penalty == 1.0f && p.penalty_last_n == 64 && p.typical_p == 1.0f);
    CHECK(p.frequency_penalty == 0 && p.presence_penalty == 0 && p.seed == EL_SEED_RANDOM);
    el_sampler *s = mk(&p, 100);
    REQUIRE(s);
    CHECK(el_sampler_seed(s) != EL_SEED_RANDOM);
    el_sampler *s2 = mk(&p, 100);
    CHECK(s2 && el_sampler_seed(s2) != el_sampler_seed(s), "two random seeds collided");
    el_sampler_free(s);
    el_sampler_free(s2);
}

static void test_greedy(void) {
    el_sampler_params p = plain();
    p.temp = 0;
    el_sampler *s = mk(&p, 6);
    REQUIRE(s);
    float a[6] = {1, 3, 3, 2, -INFINITY, 3};
    CHECK(el_sampler_sample(s, a) == 1, "ties go to the lowest id");
    float b[6] = {NAN, -INFINITY, -5, NAN, -INFINITY, -6};
    CHECK(el_sampler_sample(s, b) == 2, "NaN and -inf never chosen");
    float c[6] = {-INFINITY, NAN, -INFINITY, -INFINITY, NAN, -INFINITY};
    CHECK(el_sampler_sample(s, c) == -1);
    CHECK(el_sampler_candidates(s, NULL) == 0);
    float d[6] = {-FLT_MAX, -FLT_MAX, -FLT_MAX, -FLT_MAX, -FLT_MAX, -FLT_MAX};
    CHECK(el_sampler_sample(s, d) == 0);
    const el_token_prob *cp;
    CHECK(el_sampler_candidates(s, &cp) == 1 && cp[0].id == 0 && cp[0].p == 1.0f);
    el_sampler_free(s);

    p.temp = -1; /* negative is greedy too */
    p.top_k = 2;
    s = mk(&p, 6);
    REQUIRE(s);
    float e[6] = {0, 0, 0, 0, 0, 0.5f};
    for (int i = 0; i < 5; i++)
        CHECK(el_sampler_sample(s, e) == 5);
    el_sampler_free(s);
}

static void test_top_k(void) {
    el_sampler_params p = plain();
    p.top_k = 3;
    el_sampler *s = mk(&p, 6);
    REQUIRE(s);
    float a[6] = {0.1f, 5, 3, 4, 1, 4.5f};
    CHECK(survivors(s, a) == ((1u << 1) | (1u << 5) | (1u << 3)));
    /* survivors' probabilities are the softmax over the three */
    const el_token_prob *c;
    int32_t n = el_sampler_candidates(s, &c);
    double z = exp(5.0) + exp(4.5) + exp(4.0);
    for (int32_t i = 0; i < n; i++)
        CHECK_NEAR(c[i].p, exp(a[c[i].id]) / z, 1e-6);
    float t[6] = {1, 2, 2, 2, 0, 2};
    CHECK(survivors(s, t) == ((1u << 1) | (1u << 2) | (1u << 3)), "ties: lowest ids");
    float few[6] = {1, -INFINITY, NAN, -INFINITY, 0, -INFINITY};
    CHECK(survivors(s, few) == ((1u << 0) | (1u << 4)), "k above the finite count");
    el_sampler_free(s);

    /* a big vocab against a full sort */
    enum { N = 150000, K = 40 };
    float *big = malloc(N * sizeof *big);
    REQUIRE(big);
    uint64_t x = 99;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        big[i] = (float)((x >> 40) % 100000) / 1000.0f; /* many ties on purpose */
    }
    /* reference: the K best by (logit desc, id asc), O(N K) but obviously right */
    unsigned char *taken = calloc(N, 1);
    REQUIRE(taken);
    for (int k = 0; k < K; k++) {
        int32_t best = -1;
        for (int i = 0; i < N; i++)
            if (!taken[i] && (best < 0 || big[i] > big[best])) best = i;
        taken[best] = 1;
    }
    p.top_k = K;
    s = mk(&p, N);
    REQUIRE(s);
    el_sampler_sample(s, big);
    n = el_sampler_candidates(s, &c);
    CHECK(n == K);
    int match = 0;
    for (int32_t i = 0; i < n; i++)
        match += taken[c[i].id];
    CHECK(match == K, "%d of %d top-k ids match the reference", match, K);
    el_sampler_free(s);
    free(taken);
    free(big);
}

static void test_top_p(void) {
    el_sampler_params p = plain();
    double pr[4] = {0.5, 0.25, 0.15, 0.1};
    float a[4];
    logs_of(pr, a, 4);
    float cut[] = {0.7f, 0.8f, 0.0f, 0.95f, 0.4f};
    uint64_t want[] = {0x3, 0x7, 0x1, 0xF, 0x1};
    for (size_t i = 0; i < EL_ARRAY_LEN(cut); i++) {
        p.top_p = cut[i];
        el_sampler *s = mk(&p, 4);
        REQUIRE(s);
        CHECK(survivors(s, a) == want[i], "top_p %g", (double)cut[i]);
        /* sorted by probability, renormalised */
        const el_token_prob *c;
        int32_t n = el_sampler_candidates(s, &c);
        double sum = 0;
        for (int32_t j = 0; j < n; j++) {
            sum += c[j].p;
            if (j > 0) CHECK(c[j].p <= c[j - 1].p);
        }
        CHECK_NEAR(sum, 1.0, 1e-6);
        el_sampler_free(s);
    }
    /* exact boundary (quarters are exact in float): the mass reaching top_p is kept */
    {
        float q[4] = {0, 0, 0, 0};
        p.top_p = 0.5f;
        el_sampler *s = mk(&p, 4);
        REQUIRE(s);
        CHECK(survivors(s, q) == 0x3, "0.25 + 0.25 >= 0.5");
        el_sampler_free(s);
    }
    /* order: top-k renormalises before top-p (llama.cpp's chain): {2/3, 1/3} at 0.6 -> {0} */
    p.top_k = 2;
    p.top_p = 0.6f;
    el_sampler *s = mk(&p, 4);
    REQUIRE(s);
    CHECK(survivors(s, a) == 0x1);
    el_sampler_free(s);

    /* big flat vocab: the partial sort of 256 is not enough, the full path must take over */
    enum { N = 5000 };
    float *flat = calloc(N, sizeof *flat);
    REQUIRE(flat);
    p.top_k = 0;
    p.top_p = 0.4999f; /* p = (float)(1/5000) is a hair below 2e-4: 2500 of them make 0.49999999 */
    s = mk(&p, N);
    REQUIRE(s);
    el_sampler_sample(s, flat);
    const el_token_prob *c;
    int32_t n = el_sampler_candidates(s, &c);
    CHECK(n == 2500, "n %d", n);
    int32_t maxid = -1;
    for (int32_t i = 0; i < n; i++)
        maxid = c[i].id > maxid ? c[i].id : maxid;
    CHECK(maxid == 2499, "ties keep the lowest ids, max id %d", maxid);
    /* big peaked vocab: the partial path answers */
    for (int i = 0; i < N; i++)
        flat[i] = -10.0f - (float)(i % 7);
    flat[4000] = 5;
    flat[17] = 4;
    flat[3] = 3;
    p.top_p = 0.9f;
    el_sampler *s2 = mk(&p, N);
    REQUIRE(s2);
    el_sampler_sample(s2, flat);
    n = el_sampler_candidates(s2, &c);
    CHECK(n == 2 && c[0].id == 4000 && c[1].id == 17, "n %d", n);
    el_sampler_free(s);
    el_sampler_free(s2);
    free(flat);
}

static void test_min_p(void) {
    el_sampler_params p = plain();
    double pr[5] = {0.5, 0.2, 0.04, 0.03, 0.23};
    float a[5];
    logs_of(pr, a, 5);
    p.min_p = 0.1f; /* keeps p >= 0.05 */
    el_sampler *s = mk(&p, 5);
    REQUIRE(s);
    CHECK(survivors(s, a) == ((1u << 0) | (1u << 1) | (1u << 4)));
    el_sampler_free(s);
    p.min_p = 1.0f; /* only the max (and its exact ties) */
    s = mk(&p, 5);
    REQUIRE(s);
    CHECK(survivors(s, a) == 0x1);
    float t[5] = {2, 2, 1, 2, 0};
    CHECK(survivors(s, t) == ((1u << 0) | (1u << 1) | (1u << 3)));
    el_sampler_free(s);
}

static void test_typical(void) {
    el_sampler_params p = plain();
    double pr[3] = {0.4, 0.3, 0.3};
    float a[3];
    logs_of(pr, a, 3);
    /* H = 1.0889; |-ln p - H|: 0.173 for 0.4, 0.115 for 0.3: the 0.3s are more typical */
    p.typical_p = 0.5f;
    el_sampler *s = mk(&p, 3);
    REQUIRE(s);
    CHECK(survivors(s, a) == 0x6, "typical drops the most likely token here");
    el_sampler_free(s);
    p.typical_p = 0.65f; /* 0.3 + 0.3 = 0.6 is not > 0.65: all three */
    s = mk(&p, 3);
    REQUIRE(s);
    CHECK(survivors(s, a) == 0x7);
    el_sampler_free(s);
}

/* naive reference for top-p / typical: double softmax, full sort, cumulative cut */
typedef struct ref_tok {
    int32_t id;
    double logit, p, score;
} ref_tok;

static int ref_by_logit(const void *a, const void *b) {
    const ref_tok *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return x->id < y->id ? -1 : 1;
}

static int ref_by_score(const void *a, const void *b) {
    const ref_tok *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return ref_by_logit(a, b);
}

/* survivors (as a 0/1 map over ids) of top-p (typical = 0) or typical (typical = 1) */
static int ref_mass_cut(const float *l, int n, double target, int typical, unsigned char *keep) {
    ref_tok *t = malloc((size_t)n * sizeof *t);
    if (!t) return -1;
    double m = -INFINITY, z = 0, h = 0;
    for (int i = 0; i < n; i++)
        m = l[i] > m ? l[i] : m;
    for (int i = 0; i < n; i++)
        z += exp(l[i] - m);
    for (int i = 0; i < n; i++) {
        t[i] = (ref_tok){.id = i, .logit = l[i], .p = exp(l[i] - m) / z};
        h -= t[i].p * log(t[i].p);
    }
    for (int i = 0; i < n; i++)
        t[i].score = fabs(-log(t[i].p) - h);
    qsort(t, (size_t)n, sizeof *t, typical ? ref_by_score : ref_by_logit);
    double cum = 0;
    int k = n;
    for (int i = 0; i < n; i++) {
        cum += t[i].p;
        if (typical ? cum > target : cum >= target) {
            k = i + 1;
            break;
        }
    }
    memset(keep, 0, (size_t)n);
    for (int i = 0; i < k; i++)
        keep[t[i].id] = 1;
    free(t);
    return k;
}

static void test_cut_vs_reference(void) {
    enum { N = 3000 };
    float *l = malloc(N * sizeof *l);
    unsigned char *keep = malloc(N);
    REQUIRE(l && keep, "alloc");
    uint64_t x = 7;
    for (int shape = 0; shape < 3; shape++) {
        for (int i = 0; i < N; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            double u = (double)(x >> 11) * 0x1.0p-53;
            l[i] = shape == 0   ? (float)(u * 0.5)        /* nearly flat */
                   : shape == 1 ? (float)(u * 8.0)        /* spread */
                                : (float)(-30.0 * u * u); /* a peak among a long tail */
        }
        const float cuts[] = {0.05f, 0.3f, 0.6f, 0.9f, 0.99f};
        for (int typ = 0; typ < 2; typ++) {
            for (size_t ci = 0; ci < EL_ARRAY_LEN(cuts); ci++) {
                el_sampler_params p = plain();
                if (typ)
                    p.typical_p = cuts[ci];
                else
                    p.top_p = cuts[ci];
                el_sampler *s = mk(&p, N);
                REQUIRE(s, "sampler");
                el_sampler_sample(s, l);
                const el_token_prob *c;
                int32_t n = el_sampler_candidates(s, &c);
                int want = ref_mass_cut(l, N, cuts[ci], typ, keep);
                int in = 0;
                for (int32_t i = 0; i < n; i++)
                    in += keep[c[i].id];
                CHECK(n == want && in == want, "shape %d %s %g: %d survivors, reference %d", shape,
                      typ ? "typical" : "top_p", (double)cuts[ci], n, want);
                if (!typ)
                    for (int32_t i = 1; i < n; i++)
                        CHECK(c[i].p <= c[i - 1].p, "top-p survivors sorted");
                el_sampler_free(s);
            }
        }
    }
    free(l);
    free(keep);
}

static void test_temperature(void) {
    el_sampler_params p = plain();
    p.temp = 2.0f;
    float a[4] = {1, 2, 3, -INFINITY};
    el_sampler *s = mk(&p, 4);
    REQUIRE(s);
    el_sampler_sample(s, a);
    const el_token_prob *c;
    int32_t n = el_sampler_candidates(s, &c);
    CHECK(n == 3, "the -inf token is not a candidate");
    double z = exp(0.5) + exp(1.0) + exp(1.5);
    for (int32_t i = 0; i < n; i++) {
        CHECK_NEAR(c[i].p, exp(a[c[i].id] / 2.0) / z, 1e-6);
        CHECK_NEAR(c[i].logit, a[c[i].id] / 2.0, 1e-6);
    }
    el_sampler_free(s);
    /* tiny temperature: no overflow, behaves as argmax */
    p.temp = 1e-30f;
    s = mk(&p, 4);
    REQUIRE(s);
    for (int i = 0; i < 20; i++)
        CHECK(el_sampler_sample(s, a) == 2);
    el_sampler_free(s);
}

static void test_penalties(void) {
    el_sampler_params p = plain();
    p.repeat_penalty = 2.0f;
    p.frequency_penalty = 0.5f;
    p.presence_penalty = 0.25f;
    float a[5] = {2.0f, -1.0f, 0.5f, 3.0f, 0.0f};
    int32_t hist[4] = {0, 1, 0, 4};

    p.penalty_last_n = 64;
    el_sampler *s = mk(&p, 5);
    REQUIRE(s);
    for (int i = 0; i < 4; i++)
        el_sampler_accept(s, hist[i]);
    el_sampler_accept(s, 99); /* out of range: ignored */
    el_sampler_accept(s, -1);
    el_sampler_sample(s, a);
    CHECK(cand_logit(s, 0) == -0.25f, "2/2 - 2*0.5 - 0.25: %g", (double)cand_logit(s, 0));
    CHECK(cand_logit(s, 1) == -2.75f, "-1*2 - 0.5 - 0.25: %g", (double)cand_logit(s, 1));
    CHECK(cand_logit(s, 2) == 0.5f);
    CHECK(cand_logit(s, 3) == 3.0f);
    CHECK(cand_logit(s, 4) == -0.75f, "0 is multiplied: 0 - 0.5 - 0.25: %g",
          (double)cand_logit(s, 4));
    /* logits must not be modified */
    CHECK(a[0] == 2.0f && a[1] == -1.0f && a[4] == 0.0f);
    /* reset forgets the history */
    el_sampler_reset(s);
    el_sampler_sample(s, a);
    CHECK(cand_logit(s, 0) == 2.0f && cand_logit(s, 4) == 0.0f);
    el_sampler_free(s);

    /* window of 2: only {0, 4} are in it */
    p.penalty_last_n = 2;
    s = mk(&p, 5);
    REQUIRE(s);
    for (int i = 0; i < 4; i++)
        el_sampler_accept(s, hist[i]);
    el_sampler_sample(s, a);
    CHECK(cand_logit(s, 0) == 0.25f, "2/2 - 0.5 - 0.25: %g", (double)cand_logit(s, 0));
    CHECK(cand_logit(s, 1) == -1.0f);
    CHECK(cand_logit(s, 4) == -0.75f);
    el_sampler_accept(s, 2); /* window {4, 2}: 0 leaves */
    el_sampler_accept(s, 2); /* window {2, 2} */
    el_sampler_sample(s, a);
    CHECK(cand_logit(s, 0) == 2.0f && cand_logit(s, 4) == 0.0f);
    CHECK(cand_logit(s, 2) == -1.0f, "0.5/2 - 2*0.5 - 0.25: %g", (double)cand_logit(s, 2));
    el_sampler_free(s);

    /* whole history */
    p.penalty_last_n = -1;
    s = mk(&p, 5);
    REQUIRE(s);
    for (int r = 0; r < 100; r++)
        for (int i = 0; i < 4; i++)
            el_sampler_accept(s, hist[i]);
    el_sampler_sample(s, a);
    CHECK(cand_logit(s, 0) == 1.0f - 200 * 0.5f - 0.25f);
    CHECK(cand_logit(s, 1) == -2.0f - 100 * 0.5f - 0.25f);
    el_sampler_free(s);

    /* window 0: off */
    p.penalty_last_n = 0;
    s = mk(&p, 5);
    REQUIRE(s);
    for (int i = 0; i < 4; i++)
        el_sampler_accept(s, hist[i]);
    el_sampler_sample(s, a);
    CHECK(cand_logit(s, 0) == 2.0f && cand_logit(s, 1) == -1.0f);
    el_sampler_free(s);

    /* greedy sees penalties: repeat 3 turns 3.0 into 1.0, below 2.0 */
    p = plain();
    p.temp = 0;
    p.repeat_penalty = 3.0f;
    s = mk(&p, 5);
    REQUIRE(s);
    CHECK(el_sampler_sample(s, a) == 3);
    el_sampler_accept(s, 3);
    CHECK(el_sampler_sample(s, a) == 0);
    el_sampler_free(s);
}

static void test_logit_bias(void) {
    el_sampler_params p = plain();
    el_logit_bias b[3] = {{3, -INFINITY}, {2, 10.0f}, {2, 1.0f}};
    p.logit_bias = b;
    p.n_logit_bias = 3;
    float a[5] = {2.0f, -1.0f, 0.5f, 3.0f, 0.0f};
    el_sampler *s = mk(&p, 5);
    REQUIRE(s);
    b[2].bias = 1000; /* the sampler copied the list */
    el_sampler_sample(s, a);
    CHECK(cand_logit(s, 2) == 11.5f, "biases add up: %g", (double)cand_logit(s, 2));
    CHECK(isnan(cand_logit(s, 3)), "banned token is not a candidate");
    for (int i = 0; i < 200; i++)
        CHECK(el_sampler_sample(s, a) != 3);
    el_sampler_free(s);
}

static void test_seed(void) {
    el_sampler_params p = plain();
    float a[16];
    for (int i = 0; i < 16; i++)
        a[i] = (float)(i % 5) * 0.1f;
    int32_t s1[200], s2[200], s3[200], s4[200];
    el_sampler *x = mk(&p, 16), *y = mk(&p, 16);
    p.seed = 1235;
    el_sampler *z = mk(&p, 16);
    REQUIRE(x && y && z);
    for (int i = 0; i < 200; i++) {
        s1[i] = el_sampler_sample(x, a);
        s2[i] = el_sampler_sample(y, a);
        s3[i] = el_sampler_sample(z, a);
    }
    CHECK(memcmp(s1, s2, sizeof s1) == 0, "same seed, same sequence");
    int diff = 0;
    for (int i = 0; i < 200; i++)
        diff += s1[i] != s3[i];
    CHECK(diff > 100, "different seed, different sequence (%d of 200 differ)", diff);
    el_sampler_reset(x);
    for (int i = 0; i < 200; i++)
        s4[i] = el_sampler_sample(x, a);
    CHECK(memcmp(s1, s4, sizeof s1) == 0, "reset replays the sequence");
    CHECK(el_sampler_seed(z) == 1235);
    el_sampler_free(x);
    el_sampler_free(y);
    el_sampler_free(z);
}

static void test_distribution(void) {
    /* 20k draws at T = 0.7 against softmax(logits / T); -inf, NaN never drawn */
    enum { N = 9, DRAWS = 20000 };
    float a[N] = {1.0f, 0.5f, 0.0f, -0.5f, -1.0f, -INFINITY, NAN, 2.0f, -2.0f};
    el_sampler_params p = plain();
    p.temp = 0.7f;
    p.seed = 42;
    el_sampler *s = mk(&p, N);
    REQUIRE(s);
    int cnt[N] = {0};
    int bad = 0;
    for (int i = 0; i < DRAWS; i++) {
        int32_t t = el_sampler_sample(s, a);
        if (t < 0 || t >= N)
            bad++;
        else
            cnt[t]++;
    }
    CHECK(bad == 0);
    CHECK(cnt[5] == 0 && cnt[6] == 0, "-inf drawn %d, NaN drawn %d", cnt[5], cnt[6]);
    double z = 0, e[N];
    for (int i = 0; i < N; i++)
        z += i == 5 || i == 6 ? 0 : exp(a[i] / 0.7);
    double chi2 = 0;
    for (int i = 0; i < N; i++) {
        if (i == 5 || i == 6) continue;
        e[i] = DRAWS * exp(a[i] / 0.7) / z;
        chi2 += (cnt[i] - e[i]) * (cnt[i] - e[i]) / e[i];
    }
    /* 7 categories, 6 degrees of freedom: P(chi2 > 22.46) = 0.001 */
    CHECK(chi2 < 22.46, "chi2 %.2f", chi2);
    el_sampler_free(s);

    /* with the default chain (top-k 40, top-p 0.95, min-p 0.05) the draw must follow the
     * renormalised survivors */
    el_sampler_params_default(&p);
    p.seed = 7;
    s = mk(&p, N);
    REQUIRE(s);
    memset(cnt, 0, sizeof cnt);
    for (int i = 0; i < DRAWS; i++) {
        int32_t t = el_sampler_sample(s, a);
        if (t >= 0 && t < N) cnt[t]++;
    }
    /* draws must stay in the surviving set, in proportion to exp(logit / 0.8) */
    const el_token_prob *c;
    int32_t n = el_sampler_candidates(s, &c);
    double zz = 0;
    for (int32_t i = 0; i < n; i++)
        zz += exp(a[c[i].id] / 0.8);
    chi2 = 0;
    int in_set = 0;
    for (int32_t i = 0; i < n; i++) {
        double ex = DRAWS * exp(a[c[i].id] / 0.8) / zz;
        chi2 += (cnt[c[i].id] - ex) * (cnt[c[i].id] - ex) / ex;
        in_set += cnt[c[i].id];
    }
    CHECK(in_set == DRAWS, "draws outside the surviving set: %d", DRAWS - in_set);
    CHECK(n >= 2 && chi2 < 20.0, "n %d chi2 %.2f", n, chi2);
    el_sampler_free(s);
}

static void test_inf_logits(void) {
    el_sampler_params p = plain();
    float a[4] = {0, INFINITY, 1, INFINITY};
    el_sampler *s = mk(&p, 4);
    REQUIRE(s);
    int cnt[4] = {0};
    for (int i = 0; i < 2000; i++) {
        int32_t t = el_sampler_sample(s, a);
        if (t >= 0 && t < 4) cnt[t]++;
    }
    CHECK(cnt[0] == 0 && cnt[2] == 0 && cnt[1] + cnt[3] == 2000);
    CHECK(cnt[1] > 800 && cnt[3] > 800, "+inf tokens share: %d %d", cnt[1], cnt[3]);
    el_sampler_free(s);
}

/* el_sampler_new must refuse p with a one-line error naming `what` */
static void expect_bad(el_sampler_params p, int32_t n_vocab, const char *what) {
    char err[200] = "";
    el_sampler *s = el_sampler_new(&p, n_vocab, err, sizeof err);
    CHECK(s == NULL, "bad %s accepted", what);
    CHECK(strstr(err, what) != NULL, "error '%s' should name %s", err, what);
    CHECK(strchr(err, '\n') == NULL, "one line");
    el_sampler_free(s);
}

static void test_invalid(void) {
    el_sampler_params p = plain();
    expect_bad(p, 0, "n_vocab");
    p = plain(), p.temp = NAN;
    expect_bad(p, 10, "temp");
    p = plain(), p.temp = INFINITY;
    expect_bad(p, 10, "temp");
    p = plain(), p.top_p = -0.1f;
    expect_bad(p, 10, "top_p");
    p = plain(), p.top_p = NAN;
    expect_bad(p, 10, "top_p");
    p = plain(), p.min_p = NAN;
    expect_bad(p, 10, "min_p");
    p = plain(), p.min_p = 1.5f;
    expect_bad(p, 10, "min_p");
    p = plain(), p.typical_p = -1;
    expect_bad(p, 10, "typical_p");
    p = plain(), p.repeat_penalty = 0;
    expect_bad(p, 10, "repeat_penalty");
    p = plain(), p.repeat_penalty = NAN;
    expect_bad(p, 10, "repeat_penalty");
    p = plain(), p.penalty_last_n = -2;
    expect_bad(p, 10, "penalty_last_n");
    p = plain(), p.frequency_penalty = INFINITY;
    expect_bad(p, 10, "frequency_penalty");
    p = plain(), p.presence_penalty = NAN;
    expect_bad(p, 10, "presence_penalty");
    el_logit_bias bad_id = {10, 1.0f}, bad_bias = {1, NAN};
    p = plain(), p.logit_bias = &bad_id, p.n_logit_bias = 1;
    expect_bad(p, 10, "logit_bias");
    p = plain(), p.logit_bias = &bad_bias, p.n_logit_bias = 1;
    expect_bad(p, 10, "logit_bias");
    p = plain(), p.logit_bias = NULL, p.n_logit_bias = 2;
    expect_bad(p, 10, "logit_bias");

    char err[200] = "";
    CHECK(el_sampler_new(NULL, 10, err, sizeof err) == NULL && err[0]);
    CHECK(el_sampler_sample(NULL, NULL) == -1);
    /* valid edge values */
    p = plain();
    p.top_p = 0;
    p.min_p = -1; /* off */
    p.top_k = 1000;
    p.frequency_penalty = -2;
    el_sampler *s = el_sampler_new(&p, 10, err, sizeof err);
    CHECK(s != NULL, "%s", err);
    el_sampler_free(s);
}

static void test_logprobs(void) {
    float a[5] = {1, 2, 3, -INFINITY, NAN};
    double lz = log(exp(1.0) + exp(2.0) + exp(3.0));
    CHECK_NEAR(el_logprob_of(a, 5, 2), 3 - lz, 1e-6);
    CHECK_NEAR(el_logprob_of(a, 5, 0), 1 - lz, 1e-6);
    CHECK(el_logprob_of(a, 5, 3) == -INFINITY && el_logprob_of(a, 5, 4) == -INFINITY);
    CHECK(isnan(el_logprob_of(a, 5, 5)) && isnan(el_logprob_of(a, 5, -1)));
    int32_t ids[8];
    float lps[8];
    int n = el_top_logprobs(a, 5, 8, ids, lps);
    CHECK(n == 3, "only finite tokens are listed: %d", n);
    CHECK(ids[0] == 2 && ids[1] == 1 && ids[2] == 0);
    CHECK_NEAR(lps[0], 3 - lz, 1e-6);
    CHECK(lps[0] >= lps[1] && lps[1] >= lps[2]);
    n = el_top_logprobs(a, 5, 2, ids, lps);
    CHECK(n == 2 && ids[0] == 2 && ids[1] == 1);
    CHECK(el_top_logprobs(a, 5, 0, ids, lps) == 0);
    CHECK(el_top_logprobs(a, 5, -1, ids, lps) == -1);
    CHECK(el_top_logprobs(a, 0, 2, ids, lps) == -1);
    /* ties by lower id; huge logits don't overflow */
    float t[6] = {1e30f, 5, 1e30f, 1e30f, -1e30f, 1e30f};
    n = el_top_logprobs(t, 6, 3, ids, lps);
    CHECK(n == 3 && ids[0] == 0 && ids[1] == 2 && ids[2] == 3);
    CHECK_NEAR(lps[0], -log(4.0), 1e-6);
    /* a big vocab: probabilities sum to 1 and the heap agrees with a scan */
    enum { N = 32000 };
    float *big = malloc(N * sizeof *big);
    REQUIRE(big);
    for (int i = 0; i < N; i++)
        big[i] = (float)sin(i * 0.37) * 8.0f;
    double sum = 0;
    for (int i = 0; i < N; i++)
        sum += exp(el_logprob_of(big, N, i));
    CHECK_NEAR(sum, 1.0, 1e-4);
    n = el_top_logprobs(big, N, 5, ids, lps);
    int32_t best = 0;
    for (int i = 1; i < N; i++)
        best = big[i] > big[best] ? i : best;
    CHECK(n == 5 && ids[0] == best);
    CHECK_NEAR(lps[0], el_logprob_of(big, N, best), 1e-6);
    for (int i = 1; i < n; i++)
        CHECK(big[ids[i]] <= big[ids[i - 1]]);
    free(big);
}

/* ---- stop strings ------------------------------------------------------------------------- */

typedef struct outbuf {
    char s[4096];
    size_t n;
    int hit;
    int bad_utf8_cut; /* an emitted chunk ended inside a character */
} outbuf;

static void out_push(el_stop *st, outbuf *o, const char *piece, size_t n) {
    const char *e;
    int hit = 0;
    int k = el_stop_push(st, piece, n, &e, &hit);
    if (k < 0) {
        o->hit = -1;
        return;
    }
    if (k > 0 && ends_mid_char(e, (size_t)k)) o->bad_utf8_cut = 1;
    if ((size_t)k < sizeof o->s - o->n) {
        memcpy(o->s + o->n, e, (size_t)k);
        o->n += (size_t)k;
    }
    if (hit) o->hit = 1;
}

static void out_flush(el_stop *st, outbuf *o) {
    const char *e;
    int k = el_stop_flush(st, &e);
    if (k > 0 && (size_t)k < sizeof o->s - o->n) {
        memcpy(o->s + o->n, e, (size_t)k);
        o->n += (size_t)k;
    }
}

static el_stop *mkstop(const char *const *stops, int n) {
    char err[200] = "";
    el_stop *s = el_stop_new(stops, n, err, sizeof err);
    if (!s) fprintf(stderr, "el_stop_new: %s\n", err);
    return s;
}

static void test_stop_split(void) {
    const char *stops[] = {"</stop>"};
    el_stop *st = mkstop(stops, 1);
    REQUIRE(st);
    const char *e;
    int hit = -1;
    CHECK(el_stop_push(st, "Hello ", 6, &e, &hit) == 6 && hit == 0 && !memcmp(e, "Hello ", 6));
    CHECK(el_stop_push(st, "</", 2, &e, &hit) == 0 && hit == 0, "'</' is held");
    CHECK(el_stop_push(st, "stop>", 5, &e, &hit) == 0 && hit == 1);
    CHECK(el_stop_which(st) == 0);
    CHECK(el_stop_push(st, "more", 4, &e, &hit) == 0 && hit == 1, "finished after a hit");
    CHECK(el_stop_flush(st, &e) == 0);

    el_stop_reset(st);
    CHECK(el_stop_which(st) == -1);
    CHECK(el_stop_push(st, "abc</st", 7, &e, &hit) == 3 && !memcmp(e, "abc", 3));
    CHECK(el_stop_push(st, "op>xyz", 6, &e, &hit) == 0 && hit == 1);

    /* partial match, then divergence: held text comes back in order */
    el_stop_reset(st);
    CHECK(el_stop_push(st, "a</st", 5, &e, &hit) == 1 && e[0] == 'a' && hit == 0);
    int k = el_stop_push(st, "ill", 3, &e, &hit);
    CHECK(k == 7 && !memcmp(e, "</still", 7) && hit == 0, "k %d", k);
    /* diverge into a new partial start */
    CHECK(el_stop_push(st, " <", 2, &e, &hit) == 1 && e[0] == ' ');
    CHECK(el_stop_push(st, "</", 2, &e, &hit) == 1 && e[0] == '<', "'<<' releases one '<'");
    CHECK(el_stop_flush(st, &e) == 2 && !memcmp(e, "</", 2), "flush releases the held '</'");
    CHECK(el_stop_flush(st, &e) == 0);
    el_stop_free(st);
}

static void test_stop_multi(void) {
    const char *e;
    int hit;
    /* overlapping stops: "bc" completes inside "abcd" first */
    const char *s1[] = {"abcd", "bc"};
    el_stop *st = mkstop(s1, 2);
    REQUIRE(st);
    CHECK(el_stop_push(st, "xab", 3, &e, &hit) == 1 && e[0] == 'x' && !hit);
    CHECK(el_stop_push(st, "c", 1, &e, &hit) == 1 && e[0] == 'a' && hit);
    CHECK(el_stop_which(st) == 1);
    /* the same text in one piece gives the same answer */
    el_stop_reset(st);
    CHECK(el_stop_push(st, "xabcd", 5, &e, &hit) == 2 && !memcmp(e, "xa", 2) && hit);
    CHECK(el_stop_which(st) == 1);
    el_stop_free(st);

    /* same end: the longer wins */
    const char *s2[] = {"b", "ab"};
    st = mkstop(s2, 2);
    REQUIRE(st);
    CHECK(el_stop_push(st, "cab", 3, &e, &hit) == 1 && e[0] == 'c' && hit);
    CHECK(el_stop_which(st) == 1);
    el_stop_free(st);

    /* one stop is a prefix of another */
    const char *s3[] = {"</stop>", "</s"};
    st = mkstop(s3, 2);
    REQUIRE(st);
    CHECK(el_stop_push(st, "x</", 3, &e, &hit) == 1 && !hit);
    CHECK(el_stop_push(st, "st", 2, &e, &hit) == 0 && hit && el_stop_which(st) == 1);
    el_stop_free(st);

    /* self-overlapping stop: "aab" inside "aaab" */
    const char *s4[] = {"aab"};
    st = mkstop(s4, 1);
    REQUIRE(st);
    int total = 0;
    for (const char *c = "aaab"; *c; c++) {
        int k = el_stop_push(st, c, 1, &e, &hit);
        if (k > 0) total += k;
    }
    CHECK(total == 1 && hit == 1, "emitted %d", total);
    el_stop_free(st);
}

static void test_stop_utf8(void) {
    const char *e;
    int hit;
    el_stop *st = mkstop(NULL, 0); /* no stops: only UTF-8 hold-back */
    REQUIRE(st);
    CHECK(el_stop_push(st, "caf\xC3", 4, &e, &hit) == 3 && !memcmp(e, "caf", 3));
    CHECK(el_stop_push(st, "\xA9!", 2, &e, &hit) == 3 && !memcmp(e, "\xC3\xA9!", 3));
    /* a 4-byte emoji in three pieces */
    CHECK(el_stop_push(st, "\xF0\x9F", 2, &e, &hit) == 0);
    CHECK(el_stop_push(st, "\x98", 1, &e, &hit) == 0);
    CHECK(el_stop_push(st, "\x80", 1, &e, &hit) == 4 && !memcmp(e, "\xF0\x9F\x98\x80", 4));
    /* invalid bytes are not held forever */
    CHECK(el_stop_push(st, "\x80\xFF", 2, &e, &hit) == 2);
    /* flush releases an unfinished character */
    CHECK(el_stop_push(st, "\xE4\xBD", 2, &e, &hit) == 0);
    CHECK(el_stop_flush(st, &e) == 2 && !memcmp(e, "\xE4\xBD", 2));
    el_stop_free(st);

    /* a multi-byte stop split inside its characters */
    const char *s1[] = {"\xE3\x80\x82"}; /* "。" */
    st = mkstop(s1, 1);
    REQUIRE(st);
    CHECK(el_stop_push(st, "\xE4\xBD\xA0\xE5\xA5\xBD\xE3\x80", 8, &e, &hit) == 6 && !hit);
    CHECK(el_stop_push(st, "\x82", 1, &e, &hit) == 0 && hit);
    el_stop_free(st);
}

static void test_stop_errors(void) {
    char err[200] = "";
    const char *empty[] = {"ok", ""};
    CHECK(el_stop_new(empty, 2, err, sizeof err) == NULL && strstr(err, "empty"));
    const char *null[] = {NULL};
    CHECK(el_stop_new(null, 1, err, sizeof err) == NULL);
    const char *bad[] = {"\xC3("};
    err[0] = 0;
    CHECK(el_stop_new(bad, 1, err, sizeof err) == NULL && strstr(err, "UTF-8"));
    CHECK(el_stop_new(NULL, 1, err, sizeof err) == NULL);
    CHECK(el_stop_new(NULL, -1, err, sizeof err) == NULL);
    const char *e;
    int hit;
    CHECK(el_stop_push(NULL, "a", 1, &e, &hit) == -1);
    /* a piece far above the creation-time hint */
    const char *s1[] = {"END"};
    el_stop *st = mkstop(s1, 1);
    REQUIRE(st);
    size_t big = 10000;
    char *piece = malloc(big + 4);
    REQUIRE(piece);
    memset(piece, 'x', big);
    memcpy(piece + big - 2, "EN", 2);
    CHECK(el_stop_push(st, piece, big, &e, &hit) == (int)big - 2 && !hit);
    CHECK(el_stop_push(st, "D", 1, &e, &hit) == 0 && hit);
    free(piece);
    el_stop_free(st);
}

/* reference: the text up to the first stop by end position (longest on ties) */
static size_t ref_cut(const char *t, size_t n, const char *const *stops, int ns, int *hit) {
    for (size_t end = 1; end <= n; end++) {
        size_t best = SIZE_MAX;
        for (int i = 0; i < ns; i++) {
            size_t l = strlen(stops[i]);
            if (l <= end && !memcmp(t + end - l, stops[i], l) && end - l < best) best = end - l;
        }
        if (best != SIZE_MAX) {
            *hit = 1;
            return best;
        }
    }
    *hit = 0;
    return n;
}

static void test_stop_property(void) {
    const char *texts[] = {
        "The answer is 42.</s> trailing",
        "no stop in here at all, just text",
        "<|im_end|><|im_start|>",
        "aaaaaaaaaab<|im_end",
        "caf\xC3\xA9 \xE2\x82\xAC\xF0\x9F\x98\x80 User: hi",
        "ab abc abcd abcde",
        "<<<</</s</s>",
        "\n\nUser:\n\nUser: x",
    };
    const char *stops[] = {"</s>", "<|im_end|>", "User:", "abcd", "\n\n", "\xF0\x9F\x98\x80 U"};
    const int ns = (int)EL_ARRAY_LEN(stops);
    uint64_t x = 12345;
    int cases = 0, ok = 0, utf8_ok = 0;
    for (size_t ti = 0; ti < EL_ARRAY_LEN(texts); ti++) {
        const char *t = texts[ti];
        size_t n = strlen(t);
        for (int used = 1; used <= ns; used++) { /* first `used` stops */
            int rhit;
            size_t want = ref_cut(t, n, stops, used, &rhit);
            for (int mode = 0; mode < 12; mode++) {
                el_stop *st = mkstop(stops, used);
                REQUIRE(st);
                outbuf o = {0};
                size_t pos = 0;
                while (pos < n && o.hit == 0) {
                    size_t len;
                    if (mode == 0)
                        len = n; /* whole */
                    else if (mode == 1)
                        len = 1; /* byte by byte */
                    else {       /* random chunks 1..6 */
                        x = x * 6364136223846793005ull + 1442695040888963407ull;
                        len = 1 + (size_t)((x >> 33) % 6);
                    }
                    if (len > n - pos) len = n - pos;
                    out_push(st, &o, t + pos, len);
                    pos += len;
                }
                if (!o.hit) out_flush(st, &o);
                cases++;
                ok += o.hit == rhit && o.n == want && !memcmp(o.s, t, want);
                utf8_ok += !o.bad_utf8_cut;
                el_stop_free(st);
            }
        }
    }
    CHECK(ok == cases, "%d of %d chunkings give the reference text", ok, cases);
    CHECK(utf8_ok == cases, "%d of %d never cut inside a character", utf8_ok, cases);
}

int main(int argc, char **argv) {
    (void)argc;
    RUN(test_defaults);
    RUN(test_greedy);
    RUN(test_top_k);
    RUN(test_top_p);
    RUN(test_min_p);
    RUN(test_typical);
    RUN(test_cut_vs_reference);
    RUN(test_temperature);
    RUN(test_penalties);
    RUN(test_logit_bias);
    RUN(test_seed);
    RUN(test_distribution);
    RUN(test_inf_logits);
    RUN(test_invalid);
    RUN(test_logprobs);
    RUN(test_stop_split);
    RUN(test_stop_multi);
    RUN(test_stop_utf8);
    RUN(test_stop_errors);
    RUN(test_stop_property);
    return test_summary(argv[0]);
}
