/* cli/cmd_quantize.c — `edgellm quantize IN.gguf OUT.gguf TYPE [--threads N]`: re-encode a
 * model's weights with llama-quantize's per-tensor mix (kernels/quantize_model.c does the
 * work; this file parses flags and prints one line per tensor and a summary). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/util.h"
#include "kernels/quantize_model.h"
#include "kernels/types.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: edgellm quantize IN.gguf OUT.gguf TYPE [--threads N] [-q]\n"
            "  TYPE: %s\n"
            "        (Q3_K, Q4_K, Q5_K mean the _M mixes; names are case-insensitive)\n"
            "  -t, --threads N  threads (default 4)\n"
            "  -q, --quiet      no per-tensor lines\n"
            "Tensors are chosen and typed as llama-quantize does without an importance matrix;\n"
            "a tensor whose row length does not fit the block size falls back to a type that "
            "fits\n(F16 when none does). All metadata is kept.\n",
            el_quantize_ftype_list());
}

static void print_shape(char *buf, size_t n, uint32_t n_dims, const int64_t *ne) {
    size_t k = 0;
    buf[0] = 0;
    for (uint32_t d = 0; d < n_dims && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)ne[d]);
}

static void on_tensor(void *ctx, const el_quantize_tensor *t) {
    (void)ctx;
    char shape[96];
    print_shape(shape, sizeof shape, t->n_dims, t->ne);
    const char *src = el_type_traits(t->src_type)->name, *dst = el_type_traits(t->dst_type)->name;
    printf("[%4d/%4d] %-36s [%s] %-6s -> %-6s %9.3f MiB -> %9.3f MiB%s\n", t->index + 1,
           t->n_tensors, t->name, shape, src, t->src_type == t->dst_type ? "(same)" : dst,
           t->src_bytes / 1048576.0, t->dst_bytes / 1048576.0,
           t->fallback ? "  (fallback: rows do not fit the block size)" : "");
}

int cmd_quantize(int argc, char **argv) {
    const char *pos[3];
    int npos = 0;
    int32_t threads = 4;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            const char *v = cli_next(argc, argv, &i);
            if (!v || cli_i32(a, v, 1, 256, &threads) != 0) return 2;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "edgellm quantize: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (npos < 3) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "edgellm quantize: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (npos != 3) {
        usage(stderr);
        return 2;
    }
    const int ftype = el_quantize_ftype_from_name(pos[2]);
    if (ftype < 0) {
        fprintf(stderr, "edgellm quantize: unknown type '%s' (one of: %s)\n", pos[2],
                el_quantize_ftype_list());
        return 2;
    }
    el_quantize_params p = {ftype, threads, quiet ? NULL : on_tensor, NULL};
    el_quantize_stats st;
    char err[512];
    if (el_quantize_model(pos[0], pos[1], &p, &st, err, sizeof err) != 0) {
        fprintf(stderr, "edgellm quantize: %s\n", err);
        return 1;
    }
    printf("%s: %d tensors, %d converted, %d fallbacks; %.2f MiB -> %.2f MiB (%s)\n", pos[1],
           st.n_tensors, st.n_quantized, st.n_fallback, st.src_bytes / 1048576.0,
           st.dst_bytes / 1048576.0, el_quantize_ftype_name(ftype));
    return 0;
}
