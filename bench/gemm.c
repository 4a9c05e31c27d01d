/* bench/gemm.c — prefill's matrix product per weight type: tile kernels (el_gemm_fn) against
 * one vec_dot per (row, column), one thread (not a test).
 *
 * For each weight type and each kernel level this machine runs, a weight matrix of --rows x
 * --k (default 4864 x 896: Qwen2.5-0.5B's ffn_up) times --cols activation columns (default
 * 64, already quantized to the type's vec_dot_type), walked as engine/forward.c walks it:
 *   vecdot  blocks of 16 rows, each row against every column (the T == 1 path, and what
 *           prefill ran before tile kernels);
 *   gemm    panels of --panel rows (default 64); per panel, columns in groups of the
 *           kernel's nc, each group against every mr-row tile of the panel.
 * Figures are GMAC/s (rows x cols x k multiply-adds per second of the thread's CPU time, best
 * of --reps), and gemm's speed-up over vecdot at the same level. On a shared machine read the
 * ratios, and rerun when a line looks odd.
 *
 *   make bench-gemm [BENCH_ARGS="--types q4_0,q4_K --k 4864 --rows 896 --cols 128"]
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
#include "kernels/types.h"

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

static const int bench_types[] = {EL_TYPE_Q4_0, EL_TYPE_Q8_0, EL_TYPE_Q4_K, EL_TYPE_Q5_K,
                                  EL_TYPE_Q6_K, EL_TYPE_F16,  EL_TYPE_Q5_0, EL_TYPE_IQ4_NL,
                                  EL_TYPE_Q4_1, EL_TYPE_Q2_K, EL_TYPE_Q3_K, EL_TYPE_IQ4_XS};

typedef struct {
    int type;
    int64_t rows, k;
    int cols;
    const uint8_t *x, *y;
    size_t xrow, yrow;
    float *out; /* (cols, rows) */
} job;

static void run_vecdot(const job *j, el_vec_dot_fn dot) {
    enum { RB = 16 };
    for (int64_t rb = 0; rb < j->rows; rb += RB) {
        const int64_t re = EL_MIN(j->rows, rb + RB);
        for (int t = 0; t < j->cols; t++)
            for (int64_t r = rb; r < re; r++)
                dot((int)j->k, &j->out[(size_t)t * j->rows + r], j->x + (size_t)r * j->xrow,
                    j->y + (size_t)t * j->yrow);
    }
}

static void run_gemm(const job *j, const el_gemm_kernel *g, int panel) {
    for (int64_t pb = 0; pb < j->rows; pb += panel) {
        const int64_t pe = EL_MIN(j->rows, pb + panel);
        for (int c = 0; c < j->cols; c += g->nc) {
            const int nc = EL_MIN(g->nc, j->cols - c);
            for (int64_t r = pb; r < pe; r += g->mr) {
                const int nr = (int)EL_MIN((int64_t)g->mr, pe - r);
                g->gemm((int)j->k, &j->out[(size_t)c * j->rows + r], (size_t)j->rows,
                        j->x + (size_t)r * j->xrow, j->xrow, nr, j->y + (size_t)c * j->yrow,
                        j->yrow, nc);
            }
        }
    }
}

static int parse_types(const char *s, int *out, int cap) {
    int n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < cap;
         t = strtok_r(NULL, ",", &save)) {
        const int ty = el_type_from_name(t);
        if (ty < 0) {
            fprintf(stderr, "unknown type %s\n", t);
            return -1;
        }
        out[n++] = ty;
    }
    return n;
}

int main(int argc, char **argv) {
    int64_t rows = 4864, k = 896;
    int cols = 64, reps = 5, panel = 64;
    int types[32], n_types = 0;
    const char *only_level = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--rows") && v)
            rows = atoll(argv[++i]);
        else if (!strcmp(a, "--k") && v)
            k = atoll(argv[++i]);
        else if (!strcmp(a, "--cols") && v)
            cols = atoi(argv[++i]);
        else if (!strcmp(a, "--reps") && v)
            reps = atoi(argv[++i]);
        else if (!strcmp(a, "--panel") && v)
            panel = atoi(argv[++i]);
        else if (!strcmp(a, "--level") && v)
            only_level = argv[++i];
        else if (!strcmp(a, "--types") && v) {
            if ((n_types = parse_types(argv[++i], types, 32)) < 0) return 2;
        } else {
            fprintf(stderr,
                    "usage: %s [--types q4_0,...] [--rows N] [--k N] [--cols N] [--panel N] "
                    "[--reps N] [--level avx2]\n",
                    argv[0]);
            return 2;
        }
    }
    if (rows < 1 || k < 32 || k % 32 || cols < 1 || reps < 1 || panel < 1) {
        fprintf(stderr,
                "need rows >= 1, k a multiple of 32 (256 for K-quants), cols, reps, panel >= 1\n");
        return 2;
    }
    if (!n_types) {
        n_types = (int)EL_ARRAY_LEN(bench_types);
        memcpy(types, bench_types, sizeof bench_types);
    }
    char desc[512];
    el_cpu_describe(desc, sizeof desc);
    printf("%s\n", desc);
    printf("matrix %lld x %lld times %d columns, panel %d rows, GMAC/s of thread CPU time, best "
           "of %d\n",
           (long long)rows, (long long)k, cols, panel, reps);
    printf("%-8s %-7s %10s %10s %8s  tile\n", "type", "level", "vecdot", "gemm", "x");

    int lv[EL_CPU_LEVEL_COUNT];
    const int nl = el_kernels_levels(lv, EL_CPU_LEVEL_COUNT);
    float *f = malloc(sizeof(float) * (size_t)k);
    float *out = malloc(sizeof(float) * (size_t)rows * (size_t)cols);
    if (!f || !out) return 1;
    for (int ti = 0; ti < n_types; ti++) {
        const int t = types[ti];
        const el_type_info *info = el_type_traits(t);
        const int vt = info->vec_dot_type;
        const size_t xrow = el_row_size(t, k), yrow = el_row_size(vt, k);
        uint8_t *x = malloc(xrow * (size_t)rows), *y = malloc(yrow * (size_t)cols);
        if (!x || !y) return 1;
        /* 64 distinct real rows, repeated */
        for (int64_t r = 0; r < rows; r++) {
            if (r < 64) {
                for (int64_t e = 0; e < k; e++)
                    f[e] = gauss() * 0.02f;
                el_quants_ref(t)->from_float(f, x + (size_t)r * xrow, k);
            } else {
                memcpy(x + (size_t)r * xrow, x + (size_t)(r % 64) * xrow, xrow);
            }
        }
        for (int c = 0; c < cols; c++) {
            for (int64_t e = 0; e < k; e++)
                f[e] = gauss();
            el_quants_ref(vt)->from_float(f, y + (size_t)c * yrow, k);
        }
        const job j = {t, rows, k, cols, x, y, xrow, yrow, out};
        const double macs = (double)rows * (double)cols * (double)k;
        for (int l = 1; l < nl; l++) {
            if (!el_kernels_level_available(lv[l])) continue;
            if (only_level && strcmp(only_level, el_kernels_level_name(lv[l]))) continue;
            const el_quant_kernels *kk = el_kernels_for_level(lv[l], t);
            const el_gemm_kernel *g = el_kernels_gemm(lv[l], t);
            double best_v = 1e30, best_g = 1e30;
            for (int r = 0; r < reps; r++) {
                double t0 = now_s();
                run_vecdot(&j, kk->vec_dot);
                best_v = EL_MIN(best_v, now_s() - t0);
                if (g && g->gemm) {
                    t0 = now_s();
                    run_gemm(&j, g, panel);
                    best_g = EL_MIN(best_g, now_s() - t0);
                }
            }
            if (g && g->gemm)
                printf("%-8s %-7s %10.2f %10.2f %8.2f  %dx%d\n", info->name,
                       el_kernels_level_name(lv[l]), macs / best_v * 1e-9, macs / best_g * 1e-9,
                       best_v / best_g, g->mr, g->nc);
            else
                printf("%-8s %-7s %10.2f %10s %8s\n", info->name, el_kernels_level_name(lv[l]),
                       macs / best_v * 1e-9, "-", "-");
            fflush(stdout);
        }
        free(x);
        free(y);
    }
    free(f);
    free(out);
    return 0;
}
