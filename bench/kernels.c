/* bench/kernels.c — how close each vec_dot kernel gets to memory bandwidth (not a test).
 *
 * Decode reads every weight once per token: a matrix-vector product streams the weight rows
 * from DRAM through vec_dot against one activation row that stays in L1. For each weight
 * type and each kernel level this machine runs, single thread:
 *   stream  GB/s of weight bytes over a matrix much larger than the caches (--mb MiB,
 *           default 256), best of --reps passes;
 *   hot     GB/s over a 256 KiB matrix that stays in L2: the kernel's compute ceiling;
 *   x       the level's stream speed over the scalar reference's.
 * The first line is the ceiling: a plain 64-bit read loop over the same kind of buffer, one
 * thread. Then the activation quantizers (from_float of Q8_0, Q8_K, ...) in Melem/s over a
 * 4096-wide row, since they run once per matmul input row.
 * Times are the thread's CPU time (see now_s), best of --reps.
 *
 * Weights are real quantizer output (64 gaussian rows through the reference quantizer,
 * copied over the whole matrix), so per-block scales are realistic. On a shared machine,
 * read ratios rather than absolute numbers, and rerun when a line looks odd.
 *
 *   make bench-kernels [BENCH_ARGS="--mb 512 --reps 5 --types q4_0,q4_K --cols 4096"]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "kernels/cpu.h"
#include "kernels/dispatch.h"
#include "kernels/quants.h"
#include "kernels/repack.h"
#include "kernels/types.h"

/* Thread CPU time, not wall time: the machines this runs on in CI are shared, and time
 * spent descheduled is not the kernel's. Stalls on memory still count (the thread runs). */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ULL;
static float gauss(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    const double u = ((rng >> 11) + 0.5) / 9007199254740992.0;
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    const double v = (rng >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

static const int bench_types[] = {
    EL_TYPE_Q4_0,   EL_TYPE_Q4_1,   EL_TYPE_Q5_0, EL_TYPE_Q5_1, EL_TYPE_Q8_0,
    EL_TYPE_IQ4_NL, EL_TYPE_Q2_K,   EL_TYPE_Q3_K, EL_TYPE_Q4_K, EL_TYPE_Q5_K,
    EL_TYPE_Q6_K,   EL_TYPE_IQ4_XS, EL_TYPE_F16,  EL_TYPE_BF16, EL_TYPE_F32,
};

/* A sink the compiler cannot see through, so no dot product is optimized away. */
static volatile float sink;

/* One pass of rows x vec_dot over the matrix; returns seconds. */
static double pass(el_vec_dot_fn dot, int cols, const uint8_t *w, size_t row_bytes, int rows,
                   const void *act) {
    float acc = 0;
    const double t0 = now_s();
    for (int r = 0; r < rows; r++) {
        float s;
        dot(cols, &s, w + (size_t)r * row_bytes, act);
        acc += s;
    }
    const double t = now_s() - t0;
    sink = acc;
    return t;
}

/* One pass of a packed matrix (kernels/repack.h) through a packed tile kernel, one column:
 * the decode path of a repacked type. */
static const el_gemm_kernel *pk_cur;
static double pass_packed(int cols, const uint8_t *w, size_t group_bytes, int rows,
                          const void *act) {
    const el_gemm_kernel *g = pk_cur;
    float s[64], acc = 0;
    const double t0 = now_s();
    for (int r = 0; r < rows; r += g->mr) {
        const int nr = rows - r < g->mr ? rows - r : g->mr;
        g->gemm(cols, s, 0, w + (size_t)(r / EL_REPACK_ROWS) * group_bytes, group_bytes, nr, act, 0,
                1);
        acc += s[0];
    }
    const double t = now_s() - t0;
    sink = acc;
    return t;
}

/* Best GB/s of `reps` passes, each at least `min_s` seconds (repeating the pass inside).
 * dot NULL: the packed pass (pk_cur), row_bytes then the group stride / EL_REPACK_ROWS. */
static double gbps(el_vec_dot_fn dot, int cols, const uint8_t *w, size_t row_bytes, int rows,
                   const void *act, int reps, double min_s) {
    double best = 0;
    for (int r = 0; r < reps; r++) {
        int inner = 0;
        double t = 0;
        do {
            t += dot ? pass(dot, cols, w, row_bytes, rows, act)
                     : pass_packed(cols, w, row_bytes * EL_REPACK_ROWS, rows, act);
            inner++;
        } while (t < min_s);
        const double g = (double)row_bytes * rows * inner / t / 1e9;
        if (g > best) best = g;
    }
    return best;
}

/* The read ceiling: 64-bit loads, four independent sums, one thread. */
static double read_gbps(const uint8_t *p, size_t bytes, int reps) {
    double best = 0;
    for (int r = 0; r < reps; r++) {
        const uint64_t *q = (const uint64_t *)(const void *)p;
        const size_t n = bytes / 8;
        uint64_t a = 0, b = 0, c = 0, d = 0;
        const double t0 = now_s();
        for (size_t i = 0; i + 4 <= n; i += 4) {
            a += q[i];
            b += q[i + 1];
            c += q[i + 2];
            d += q[i + 3];
        }
        const double t = now_s() - t0;
        sink = (float)(a + b + c + d);
        if (bytes / t / 1e9 > best) best = bytes / t / 1e9;
    }
    return best;
}

static int type_selected(const char *list, const char *name) {
    if (!list) return 1;
    const size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
    return 0;
}

int main(int argc, char **argv) {
    size_t mb = 256;
    int reps = 3, cols = 4096;
    const char *types = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mb") && i + 1 < argc)
            mb = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--cols") && i + 1 < argc)
            cols = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--types") && i + 1 < argc)
            types = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--mb MiB] [--reps N] [--cols N] [--types q4_0,q4_K]\n",
                    argv[0]);
            return 2;
        }
    }
    if (mb < 1 || reps < 1 || cols < 256 || cols % 256) {
        fprintf(stderr, "--mb >= 1, --reps >= 1, --cols a multiple of 256\n");
        return 2;
    }

    char cpu[512];
    el_cpu_describe(cpu, sizeof cpu);
    printf("# %s\n", cpu);
    int all[EL_CPU_LEVEL_COUNT], lv[EL_CPU_LEVEL_COUNT], nl = 0;
    const int na = el_kernels_levels(all, EL_CPU_LEVEL_COUNT);
    for (int i = 0; i < na; i++)
        if (el_kernels_level_available(all[i])) lv[nl++] = all[i];

    const size_t big = mb << 20, hot = 256 << 10;
    uint8_t *w = el_alloc_aligned(big + (1 << 20));
    float *xf = malloc(sizeof(float) * (size_t)cols * 64);
    uint8_t *act = el_alloc_aligned((size_t)cols * 8);
    if (!w || !xf || !act) {
        fprintf(stderr, "out of memory (--mb %zu)\n", mb);
        return 1;
    }
    memset(w, 1, big); /* fault the pages in before any timing */
    printf("# single thread, %d columns, stream over %zu MiB, hot over %zu KiB, best of %d\n", cols,
           mb, hot >> 10, reps);
    printf("# memory read ceiling (plain 64-bit loads): %.1f GB/s\n\n", read_gbps(w, big, reps));

    printf("%-7s %9s", "type", "row bytes");
    for (int l = 0; l < nl; l++)
        printf(" | %-7s stream     x  hot", el_kernels_level_name(lv[l]));
    printf("\n");
    for (size_t ti = 0; ti < sizeof bench_types / sizeof bench_types[0]; ti++) {
        const int t = bench_types[ti];
        const el_type_info *info = el_type_traits(t);
        if (!type_selected(types, info->name)) continue;
        const size_t rb = el_row_size(t, cols);
        const el_quant_kernels *ref = el_quants_ref(t);
        if (!rb || !ref->vec_dot || !ref->from_float) continue;
        /* 64 distinct rows, then copies to fill the matrix */
        for (size_t i = 0; i < (size_t)cols * 64; i++)
            xf[i] = gauss() * 0.02f;
        for (int r = 0; r < 64; r++)
            ref->from_float(xf + (size_t)r * cols, w + (size_t)r * rb, cols);
        const int rows = (int)(big / rb);
        for (int r = 64; r < rows; r++)
            memcpy(w + (size_t)r * rb, w + (size_t)(r % 64) * rb, rb);
        const int hot_rows = (int)(hot / rb) > 0 ? (int)(hot / rb) : 1;
        /* the activation row, in the vec_dot type */
        for (int i = 0; i < cols; i++)
            xf[i] = gauss();
        el_quants_ref(info->vec_dot_type)->from_float(xf, act, cols);

        printf("%-7s %9zu", info->name, rb);
        double base = 0;
        for (int l = 0; l < nl; l++) {
            const el_quant_kernels *k = el_kernels_for_level(lv[l], t);
            const el_quant_kernels *below = l ? el_kernels_for_level(lv[l - 1], t) : NULL;
            const double s = gbps(k->vec_dot, cols, w, rb, rows, act, reps, 0);
            const double h = gbps(k->vec_dot, cols, w, rb, hot_rows, act, reps, 0.05);
            if (l == 0) base = s;
            printf(" | %-7s %6.2f %5.1f %5.1f",
                   below && k->vec_dot == below->vec_dot ? "(same)" : "", s, s / base, h);
            fflush(stdout);
        }
        printf("\n");
        /* the packed form, where the type has one: repacked copy, decode's tile per level */
        const size_t pb = el_repack_bytes(t, rows, cols);
        uint8_t *pw = pb ? el_alloc_aligned(pb) : NULL;
        if (pw) {
            el_repack_groups(t, w, rb, rows, cols, pw, 0,
                             (rows + EL_REPACK_ROWS - 1) / EL_REPACK_ROWS);
            printf("%-7s %9s", "  packed", "");
            for (int l = 0; l < nl; l++) {
                const el_packed_kernels *pk = el_kernels_packed(lv[l], t);
                if (!pk || !pk->gemv.gemm) {
                    printf(" | %-7s %6s %5s %5s", "", "-", "", "");
                    continue;
                }
                pk_cur = &pk->gemv;
                const double s = gbps(NULL, cols, pw, rb, rows, act, reps, 0);
                const double h =
                    gbps(NULL, cols, pw, rb, hot_rows - hot_rows % 8 + 8, act, reps, 0.05);
                printf(" | %-7s %6.2f %5.1f %5.1f", "", s, s / base, h);
                fflush(stdout);
            }
            printf("\n");
            el_free_aligned(pw);
        }
    }

    /* activation quantizers: Melem/s over one row, L1-resident */
    static const int qt[] = {EL_TYPE_Q8_0, EL_TYPE_Q8_1, EL_TYPE_Q8_K, EL_TYPE_F16, EL_TYPE_BF16};
    printf("\n%-7s %9s", "quant", "");
    for (int l = 0; l < nl; l++)
        printf(" | %-7s Melem/s     x     ", el_kernels_level_name(lv[l]));
    printf("\n");
    for (int i = 0; i < cols; i++)
        xf[i] = gauss();
    for (size_t qi = 0; qi < sizeof qt / sizeof qt[0]; qi++) {
        const int t = qt[qi];
        if (!type_selected(types, el_type_traits(t)->name)) continue;
        printf("%-7s %9s", el_type_traits(t)->name, "");
        double base = 0;
        for (int l = 0; l < nl; l++) {
            const el_from_float_fn q = el_kernels_for_level(lv[l], t)->from_float;
            double best = 0;
            for (int r = 0; r < reps; r++) {
                int n = 0;
                const double t0 = now_s();
                double dt;
                do {
                    q(xf, act, cols);
                    n++;
                } while ((dt = now_s() - t0) < 0.05);
                if ((double)cols * n / dt / 1e6 > best) best = (double)cols * n / dt / 1e6;
            }
            if (l == 0) base = best;
            printf(" | %-7s %7.0f %5.1f     ", "", best, best / base);
        }
        printf("\n");
    }
    el_free_aligned(w);
    el_free_aligned(act);
    free(xf);
    return 0;
}
