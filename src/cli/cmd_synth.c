/* cli/cmd_synth.c — `edgellm synth`: writes a random-weight GGUF model of a chosen
 * architecture, shape and type (engine/synth.h does the work). A preset gives the shape of
 * a real model; flags override its fields. Bad flags and impossible shapes exit 2 with one
 * line; a failed write exits 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "engine/synth.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: edgellm synth -o OUT.gguf [options]\n"
            "  -o, --output FILE      where to write the model\n"
            "      --preset NAME      start from a preset shape (default: tiny-<arch>)\n"
            "      --arch A           llama | qwen2 | qwen3 (default: the preset's)\n"
            "      --layers N  --embd N  --heads N  --kv-heads N  --head-dim N  --ffn N\n"
            "      --vocab N  --ctx N shape overrides\n"
            "      --type T           F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K_S Q4_K_M\n"
            "                         Q5_K_S Q5_K_M Q6_K (default F16)\n"
            "      --seed S           weights seed (default 1); same seed, same bytes\n"
            "      --tokenizer T      byte (made-up byte-level BPE, default) | vocab.gguf |\n"
            "                         tokenizer.json (with tokenizer_config.json beside it)\n"
            "      --tied / --untied  share token_embd as the output matrix or not\n"
            "      --rope-base F      rope.freq_base\n"
            "      --rope-scaling S   none | llama3 (llama: factor 32, low 1, high 4, ctx 8192)\n"
            "      --name TEXT        general.name\n"
            "  -t, --threads N        threads for generating/quantizing (default 1)\n"
            "\npresets:\n");
    const char *desc;
    for (int i = 0; el_synth_preset_name(i, &desc); i++)
        fprintf(f, "  %-16s %s\n", el_synth_preset_name(i, NULL), desc);
}

static int bad(const char *flag, const char *val, const char *why) {
    fprintf(stderr, "edgellm synth: %s '%s': %s\n", flag, val, why);
    return -1;
}

static int parse_i64(const char *flag, const char *val, long long lo, long long hi, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(val, &end, 10);
    if (errno || end == val || *end) return bad(flag, val, "not an integer");
    if (v < lo || v > hi) {
        char why[96];
        snprintf(why, sizeof why, "out of range (%lld..%lld)", lo, hi);
        return bad(flag, val, why);
    }
    *out = v;
    return 0;
}

static int parse_f64(const char *flag, const char *val, double *out) {
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (errno || end == val || *end || !(v > 0) || v > 1e30)
        return bad(flag, val, "not a positive number");
    *out = v;
    return 0;
}

int cmd_synth(int argc, char **argv) {
    const char *out = NULL, *preset = NULL, *arch = NULL, *type = "F16", *tokenizer = NULL;
    const char *name = NULL, *rope_scaling = NULL;
    int64_t layers = -1, embd = -1, heads = -1, kv = -1, hd = -1, ffn = -1, vocab = -1;
    int64_t ctx = -1, seed = -1, threads = 1;
    double rope_base = 0;
    int tied = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--tied") || !strcmp(a, "--untied")) {
            tied = !strcmp(a, "--tied");
            continue;
        }
        if (a[0] != '-') {
            fprintf(stderr, "edgellm synth: unexpected argument '%s' (the output is -o FILE)\n", a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "edgellm synth: %s needs a value (edgellm synth --help)\n", a);
            return 2;
        }
        const char *v = argv[++i];
        int rc = 0;
        if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out = v;
        else if (!strcmp(a, "--preset"))
            preset = v;
        else if (!strcmp(a, "--arch"))
            arch = v;
        else if (!strcmp(a, "--type"))
            type = v;
        else if (!strcmp(a, "--tokenizer"))
            tokenizer = v;
        else if (!strcmp(a, "--name"))
            name = v;
        else if (!strcmp(a, "--rope-scaling"))
            rope_scaling = v;
        else if (!strcmp(a, "--layers"))
            rc = parse_i64(a, v, 1, 1024, &layers);
        else if (!strcmp(a, "--embd"))
            rc = parse_i64(a, v, 1, 65536, &embd);
        else if (!strcmp(a, "--heads"))
            rc = parse_i64(a, v, 1, 1024, &heads);
        else if (!strcmp(a, "--kv-heads"))
            rc = parse_i64(a, v, 1, 1024, &kv);
        else if (!strcmp(a, "--head-dim"))
            rc = parse_i64(a, v, 1, 1024, &hd);
        else if (!strcmp(a, "--ffn"))
            rc = parse_i64(a, v, 1, 1 << 20, &ffn);
        else if (!strcmp(a, "--vocab"))
            rc = parse_i64(a, v, 1, 1 << 22, &vocab);
        else if (!strcmp(a, "--ctx"))
            rc = parse_i64(a, v, 1, 1 << 24, &ctx);
        else if (!strcmp(a, "--seed"))
            rc = parse_i64(a, v, 0, INT64_MAX, &seed);
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads"))
            rc = parse_i64(a, v, 1, 16, &threads);
        else if (!strcmp(a, "--rope-base"))
            rc = parse_f64(a, v, &rope_base);
        else {
            fprintf(stderr, "edgellm synth: unknown option '%s' (edgellm synth --help)\n", a);
            return 2;
        }
        if (rc) return 2;
    }
    if (!out) {
        fprintf(stderr, "edgellm synth: no output file (-o OUT.gguf)\n");
        return 2;
    }
    int arch_id = -1;
    if (arch && (arch_id = el_synth_arch_from_name(arch)) < 0) {
        fprintf(stderr, "edgellm synth: unknown architecture '%s' (llama, qwen2, qwen3)\n", arch);
        return 2;
    }
    char pname[32], err[512];
    if (!preset) {
        snprintf(pname, sizeof pname, "tiny-%s", arch ? arch : "llama");
        preset = pname;
    }
    el_synth_params p;
    if (el_synth_preset(preset, &p, err, sizeof err)) {
        fprintf(stderr, "edgellm synth: %s (edgellm synth --help lists them)\n", err);
        return 2;
    }
    if (arch_id >= 0) {
        p.arch = (el_synth_arch)arch_id;
        if (p.arch != EL_SYNTH_LLAMA) p.rope_llama3 = false; /* llama3 scaling is llama's */
    }
    if ((p.ftype = el_synth_ftype_from_name(type)) < 0) {
        fprintf(stderr, "edgellm synth: unknown type '%s' (edgellm synth --help lists them)\n",
                type);
        return 2;
    }
    if (layers > 0) p.n_layer = layers;
    if (embd > 0) p.n_embd = embd;
    if (heads > 0) p.n_head = heads;
    if (kv > 0) p.n_head_kv = kv;
    if (hd > 0) p.head_dim = hd;
    if (ffn > 0) p.n_ff = ffn;
    if (vocab > 0) p.n_vocab = vocab, p.vocab_exact = true;
    if (ctx > 0) p.n_ctx = ctx;
    if (seed >= 0) p.seed = (uint64_t)seed;
    if (tied >= 0) p.tied = tied;
    if (rope_base > 0) p.rope_base = rope_base;
    p.n_threads = (int)threads;
    if ((embd > 0 || heads > 0) && hd < 0 && p.head_dim && p.head_dim * p.n_head != p.n_embd &&
        p.arch != EL_SYNTH_QWEN3)
        p.head_dim = 0; /* a reshaped llama/qwen2 keeps head_dim = embd / heads */
    if (rope_scaling) {
        if (!strcmp(rope_scaling, "llama3")) {
            p.rope_llama3 = true;
        } else if (!strcmp(rope_scaling, "none")) {
            p.rope_llama3 = false;
        } else {
            fprintf(stderr, "edgellm synth: --rope-scaling '%s': want none or llama3\n",
                    rope_scaling);
            return 2;
        }
    }
    if (name) snprintf(p.name, sizeof p.name, "%s", name);
    if (tokenizer) {
        if (strlen(tokenizer) >= sizeof p.tokenizer) {
            fprintf(stderr, "edgellm synth: --tokenizer path too long\n");
            return 2;
        }
        snprintf(p.tokenizer, sizeof p.tokenizer, "%s", tokenizer);
        if (strcmp(tokenizer, "byte") && access(tokenizer, R_OK)) {
            fprintf(stderr, "edgellm synth: --tokenizer '%s': %s\n", tokenizer, strerror(errno));
            return 2;
        }
    }
    if (el_synth_check(&p, err, sizeof err)) {
        fprintf(stderr, "edgellm synth: %s\n", err);
        return 2;
    }
    if (el_synth_write(&p, out, err, sizeof err)) {
        fprintf(stderr, "edgellm synth: %s\n", err);
        return 1;
    }
    struct stat st;
    double mib = stat(out, &st) == 0 ? (double)st.st_size / (1024.0 * 1024.0) : 0;
    printf("wrote %s: %s, %lld layers x %lld, %lld/%lld heads, ffn %lld, %s, seed %llu, "
           "%.1f MiB\n",
           out, el_synth_arch_name(p.arch), (long long)p.n_layer, (long long)p.n_embd,
           (long long)p.n_head, (long long)p.n_head_kv, (long long)p.n_ff,
           el_synth_ftype_name(p.ftype), (unsigned long long)p.seed, mib);
    return 0;
}
