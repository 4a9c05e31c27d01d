/* cli/cmd_bench.c — `edgellm bench`: prefill (ppN) and decode (tgN) speed like llama-bench,
 * so users can put the two tables side by side, plus what llama-bench does not say: the
 * memory bandwidth a decode step achieves (weights + KV cache read per token × tokens/s)
 * and its fraction of the machine's measured read bandwidth (`--membw` prints that alone).
 *
 * Procedure per (model, threads, depth, test), as llama-bench: one warm-up run, then -r
 * timed repetitions on a cleared cache; DEPTH tokens of context are prefilled (untimed)
 * before each timed run; tokens are pseudo-random ids after a BOS. Mean ± sample stddev of
 * tokens/s over the repetitions.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/util.h"
#include "core/core.h"
#include "edgellm.h"
#include "plan/membw.h"

#define MAXL 16

typedef struct list {
    int32_t v[MAXL];
    int n;
} list;

typedef enum { OUT_MD, OUT_JSON, OUT_CSV } out_fmt;

static int parse_list(const char *flag, const char *s, int32_t lo, int32_t hi, list *l) {
    l->n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (l->n == MAXL) {
            fprintf(stderr, "edgellm: %s: at most %d values\n", flag, MAXL);
            return -1;
        }
        if (cli_i32(flag, tok, lo, hi, &l->v[l->n])) return -1;
        l->n++;
    }
    if (l->n == 0) {
        fprintf(stderr, "edgellm: %s needs a value\n", flag);
        return -1;
    }
    return 0;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: edgellm bench -m FILE[,FILE2...] [options]\n"
            "  -p N[,N]    prompt tokens for the prefill test (default 512; 0 = skip)\n"
            "  -n N[,N]    generated tokens for the decode test (default 128; 0 = skip)\n"
            "  -d N[,N]    context depth before each test (default 0)\n"
            "  -t N[,N]    threads (default: all cores)\n"
            "  -r N        repetitions (default 5)\n"
            "  -b N        prefill batch size (default 512)\n"
            "  -ctk, -ctv  KV cache type f16 (default) or f32\n"
            "  -o md|json|csv   output format (default md)\n"
            "  --no-membw  do not measure memory bandwidth (no GB/s fraction column)\n"
            "  --membw     only measure memory read bandwidth at 1..N threads\n");
}

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Decodes n tokens starting at the sequence's current length, in chunks of n_batch. */
static int feed(el_session *s, const el_model_desc *d, el_token bos, int n, int n_batch,
                bool one_by_one, uint64_t *rng, el_token *toks, int32_t *pos) {
    char err[256];
    int32_t at = el_session_seq_len(s, 0);
    int step = one_by_one ? 1 : n_batch;
    for (int i = 0; i < n; i += step) {
        int k = EL_MIN(step, n - i);
        for (int j = 0; j < k; j++) {
            toks[j] = (at + j == 0 && bos >= 0) ? bos : (el_token)(rng_next(rng) % (uint64_t)d->n_vocab);
            pos[j] = at + j;
        }
        el_batch b = {.n = k, .tokens = toks, .pos = pos};
        if (el_session_decode(s, &b, err, sizeof err)) {
            fprintf(stderr, "edgellm bench: %s\n", err);
            return -1;
        }
        at += k;
    }
    return 0;
}

typedef struct result {
    const char *model;
    double size_mib, params_b;
    int threads, depth, n_prompt, n_gen;
    double mean, sd;  /* tokens/s */
    double gbs;       /* decode: bytes read per token × t/s */
    double membw;     /* measured read bandwidth at these threads (0: not measured) */
} result;

static void print_header(out_fmt o, bool bw) {
    if (o == OUT_MD) {
        printf("| %-30s | %10s | %10s | %7s | %15s | %20s |%s\n", "model", "size", "params",
               "threads", "test", "t/s", bw ? "    GB/s | % of membw |" : "");
        printf("| %-30s | %10s | %10s | %7s | %15s | %20s |%s\n", "------------------------------",
               "---------:", "---------:", "------:", "--------------:", "-------------------:",
               bw ? " -------: | ---------: |" : "");
    } else if (o == OUT_CSV) {
        printf("model,size_bytes,params,threads,n_prompt,n_gen,n_depth,avg_ts,stddev_ts,gbs,membw_gbs\n");
    } else {
        printf("[\n");
    }
}

static void print_row(out_fmt o, const result *r, bool first) {
    char test[64];
    if (r->n_prompt)
        snprintf(test, sizeof test, "pp%d", r->n_prompt);
    else
        snprintf(test, sizeof test, "tg%d", r->n_gen);
    if (r->depth) snprintf(test + strlen(test), sizeof test - strlen(test), " @ d%d", r->depth);
    if (o == OUT_MD) {
        char ts[64];
        snprintf(ts, sizeof ts, "%.2f ± %.2f", r->mean, r->sd);
        printf("| %-30.30s | %6.2f MiB | %8.2f M | %7d | %15s | %21s |", r->model, r->size_mib,
               r->params_b * 1e3, r->threads, test, ts);
        if (r->membw > 0 && !r->n_prompt)
            printf(" %7.2f | %8.1f %% |", r->gbs, 100.0 * r->gbs / r->membw);
        else if (r->membw > 0)
            printf(" %7s | %10s |", "", "");
        printf("\n");
    } else if (o == OUT_CSV) {
        printf("\"%s\",%.0f,%.0f,%d,%d,%d,%d,%.4f,%.4f,%.4f,%.4f\n", r->model,
               r->size_mib * 1048576.0, r->params_b * 1e9, r->threads, r->n_prompt, r->n_gen,
               r->depth, r->mean, r->sd, r->gbs, r->membw);
    } else {
        printf("%s  {\"model\": ", first ? "" : ",\n");
        cli_json_str(stdout, r->model, strlen(r->model));
        printf(", \"size_bytes\": %.0f, \"params\": %.0f, \"threads\": %d, \"n_prompt\": %d, "
               "\"n_gen\": %d, \"n_depth\": %d, \"avg_ts\": %.4f, \"stddev_ts\": %.4f, "
               "\"gbs\": %.4f, \"membw_gbs\": %.4f}",
               r->size_mib * 1048576.0, r->params_b * 1e9, r->threads, r->n_prompt, r->n_gen,
               r->depth, r->mean, r->sd, r->gbs, r->membw);
    }
    fflush(stdout);
}

/* Peak resident memory since the last reset (VmHWM), and the reset (Linux: writing 5 to
 * clear_refs); 0 / no-op where /proc is not there. */
static void peak_rss_reset(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}
static double peak_rss_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atof(line + 6);
    if (f) fclose(f);
    return kb * 1024;
}
static double file_bytes(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_size : 0;
}

static int membw_only(const list *threads) {
    printf("| threads | read GB/s |\n| ------: | --------: |\n");
    for (int i = 0; i < threads->n; i++) {
        double g = el_membw_read(0, threads->v[i], 5);
        if (g < 0) {
            fprintf(stderr, "edgellm bench: cannot measure bandwidth\n");
            return 1;
        }
        printf("| %7d | %9.2f |\n", threads->v[i], g);
    }
    return 0;
}

int cmd_bench(int argc, char **argv) {
    list prompts = {{512}, 1}, gens = {{128}, 1}, depths = {{0}, 1}, threads = {{0}, 0};
    int32_t reps = 5, n_batch = 512;
    el_kv_type tk = EL_KV_F16, tv = EL_KV_F16;
    out_fmt fmt = OUT_MD;
    bool only_membw = false, want_bw = true;
    char models_arg[4096] = "";
    const char *v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(v = cli_next(argc, argv, &i))) return 2;
            snprintf(models_arg, sizeof models_arg, "%s", v);
        } else if (!strcmp(a, "-p") || !strcmp(a, "--n-prompt")) {
            if (!(v = cli_next(argc, argv, &i)) || parse_list(a, v, 0, 1 << 20, &prompts)) return 2;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--n-gen")) {
            if (!(v = cli_next(argc, argv, &i)) || parse_list(a, v, 0, 1 << 20, &gens)) return 2;
        } else if (!strcmp(a, "-d") || !strcmp(a, "--n-depth")) {
            if (!(v = cli_next(argc, argv, &i)) || parse_list(a, v, 0, 1 << 20, &depths)) return 2;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = cli_next(argc, argv, &i)) || parse_list(a, v, 1, 256, &threads)) return 2;
        } else if (!strcmp(a, "-r") || !strcmp(a, "--repetitions")) {
            if (!(v = cli_next(argc, argv, &i)) || cli_i32(a, v, 1, 1000, &reps)) return 2;
        } else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) {
            if (!(v = cli_next(argc, argv, &i)) || cli_i32(a, v, 1, 1 << 16, &n_batch)) return 2;
        } else if (!strcmp(a, "-ctk") || !strcmp(a, "-ctv")) {
            if (!(v = cli_next(argc, argv, &i)) || cli_kv_type(a, v, a[3] == 'k' ? &tk : &tv))
                return 2;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(v = cli_next(argc, argv, &i))) return 2;
            if (!strcmp(v, "md")) {
                fmt = OUT_MD;
            } else if (!strcmp(v, "json")) {
                fmt = OUT_JSON;
            } else if (!strcmp(v, "csv")) {
                fmt = OUT_CSV;
            } else {
                fprintf(stderr, "edgellm: -o: format '%s' is not md, json or csv\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--membw")) {
            only_membw = true;
        } else if (!strcmp(a, "--no-membw")) {
            want_bw = false;
        } else {
            fprintf(stderr, "edgellm bench: unknown option '%s' (edgellm bench --help)\n", a);
            return 2;
        }
    }
    if (threads.n == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads.v[0] = nc > 0 ? (int32_t)EL_MIN(nc, 256) : 1;
        threads.n = 1;
        if (only_membw) {
            threads.n = 0;
            for (int t = 1; t <= threads.v[0] && threads.n < MAXL; t *= 2) threads.v[threads.n++] = t;
            if (threads.v[threads.n - 1] != (int32_t)nc && threads.n < MAXL) threads.v[threads.n++] = (int32_t)nc;
        }
    }
    if (only_membw) return membw_only(&threads);
    if (!models_arg[0]) {
        const char *def = cli_default_model();
        if (!def) {
            usage(stderr);
            return 2;
        }
        snprintf(models_arg, sizeof models_arg, "%s", def);
    }
    double membw[MAXL] = {0};
    if (want_bw)
        for (int i = 0; i < threads.n; i++) membw[i] = el_membw_read(0, threads.v[i], 3);

    print_header(fmt, want_bw);
    char rss_notes[8][200];
    int n_notes = 0;
    bool first = true;
    int rc = 0;
    char *save = NULL;
    for (char *path = strtok_r(models_arg, ",", &save); path && !rc; path = strtok_r(NULL, ",", &save)) {
        char err[512];
        peak_rss_reset();
        double kv_max = 0;
        el_model *m = el_model_open(path, err, sizeof err);
        if (!m) {
            fprintf(stderr, "edgellm: %s\n", err);
            rc = 1;
            break;
        }
        el_model_desc d;
        el_model_describe(m, &d);
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        el_token bos = el_token_bos(m);
        for (int ti = 0; ti < threads.n && !rc; ti++) {
            for (int di = 0; di < depths.n && !rc; di++) {
                for (int pass = 0; pass < 2 && !rc; pass++) {
                    const list *L = pass == 0 ? &prompts : &gens;
                    for (int li = 0; li < L->n && !rc; li++) {
                        int n = L->v[li], depth = depths.v[di];
                        if (n == 0) continue;
                        int bsz = EL_MIN(n_batch, EL_MAX(n, depth));
                        el_session_params sp;
                        el_session_params_default(&sp);
                        sp.n_ctx = depth + n + 1;
                        sp.n_batch = EL_MAX(bsz, 1);
                        sp.n_threads = threads.v[ti];
                        sp.type_k = tk;
                        sp.type_v = tv;
                        el_session *s = el_session_open(m, &sp, err, sizeof err);
                        el_token *toks = malloc((size_t)sp.n_batch * sizeof *toks);
                        int32_t *pos = malloc((size_t)sp.n_batch * sizeof *pos);
                        double *ts = calloc((size_t)reps, sizeof *ts);
                        if (!s || !toks || !pos || !ts) {
                            fprintf(stderr, "edgellm: %s\n", s ? "out of memory" : err);
                            rc = 1;
                        }
                        uint64_t rng = 42;
                        /* warm-up */
                        if (!rc) rc = feed(s, &d, bos, pass == 0 ? EL_MIN(n, sp.n_batch) : 1,
                                           sp.n_batch, pass == 1, &rng, toks, pos);
                        for (int r = 0; r < reps && !rc; r++) {
                            el_session_seq_truncate(s, 0, 0);
                            if (depth && feed(s, &d, bos, depth, sp.n_batch, false, &rng, toks, pos)) {
                                rc = 1;
                                break;
                            }
                            double t0 = el_now();
                            if (feed(s, &d, bos, n, sp.n_batch, pass == 1, &rng, toks, pos)) {
                                rc = 1;
                                break;
                            }
                            ts[r] = n / (el_now() - t0);
                        }
                        if (!rc) {
                            result res = {.model = base, .size_mib = (double)d.weight_bytes / 1048576.0,
                                          .params_b = (double)d.n_params / 1e9, .threads = threads.v[ti],
                                          .depth = depth, .membw = membw[ti]};
                            if (pass == 0)
                                res.n_prompt = n;
                            else
                                res.n_gen = n;
                            double sum = 0, sq = 0;
                            for (int r = 0; r < reps; r++) sum += ts[r];
                            res.mean = sum / reps;
                            for (int r = 0; r < reps; r++) sq += (ts[r] - res.mean) * (ts[r] - res.mean);
                            res.sd = reps > 1 ? sqrt(sq / (reps - 1)) : 0;
                            /* bytes per decoded token: weights + the KV rows attention reads
                             * at the average position of the test */
                            kv_max = EL_MAX(kv_max, (double)el_session_kv_bytes(s));
                            double kv_per_pos = (double)el_session_kv_bytes(s) / sp.n_ctx;
                            double avg_pos = depth + n / 2.0;
                            res.gbs = ((double)d.decode_bytes + kv_per_pos * avg_pos) * res.mean / 1e9;
                            print_row(fmt, &res, first);
                            first = false;
                        }
                        free(ts);
                        free(toks);
                        free(pos);
                        el_session_close(s);
                    }
                }
            }
        }
        /* the memory goal: peak resident memory against file + KV cache (+ 64 MiB for
         * buffers, code and the allocator) */
        const double peak = peak_rss_bytes(), file = file_bytes(path);
        if (peak > 0 && file > 0 && n_notes < 8)
            snprintf(rss_notes[n_notes++], sizeof rss_notes[0],
                     "%s: peak RSS %.1f MiB = file %.1f MiB + largest KV cache %.1f MiB %+.1f MiB",
                     base, peak / 1048576.0, file / 1048576.0, kv_max / 1048576.0,
                     (peak - file - kv_max) / 1048576.0);
        el_model_close(m);
    }
    if (fmt == OUT_JSON) printf("\n]\n");
    if (fmt == OUT_MD && !rc) {
        if (n_notes) printf("\n");
        for (int i = 0; i < n_notes; i++)
            printf("%s\n", rss_notes[i]);
    }
    return rc;
}
