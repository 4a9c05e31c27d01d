/* cli/cmd_run.c — `edgellm run`: one completion of a prompt, streamed to stdout, with load,
 * prefill and decode speed on stderr; `--json` prints one object per generated token
 * instead (id, text, logprob, top alternatives) for scripts and runtime comparisons. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/gen.h"
#include "cli/util.h"
#include "core/core.h"
#include "edgellm.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: edgellm run [-m FILE] [-p TEXT | -f FILE] [options]\n"
            "  -m, --model FILE        GGUF model (default: the bundled model)\n"
            "  -p, --prompt TEXT       prompt (\"\" starts from BOS alone)\n"
            "  -f, --file FILE         read the prompt from a file\n"
            "  -e, --escape            process \\n, \\t, \\\\ escapes in the prompt\n");
    gen_usage(f);
    fprintf(f,
            "      --json              one JSON object per generated token on stdout\n"
            "      --top-logprobs K    with --json: the K most likely alternatives (0..20)\n");
}

static void unescape(char *s) {
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '\\' && r[1]) {
            r++;
            switch (*r) {
            case 'n': *w++ = '\n'; break;
            case 't': *w++ = '\t'; break;
            case 'r': *w++ = '\r'; break;
            case '\\': *w++ = '\\'; break;
            case '"': *w++ = '"'; break;
            case '\'': *w++ = '\''; break;
            default: *w++ = '\\'; *w++ = *r;
            }
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
}

int cmd_run(int argc, char **argv) {
    gen_opts o;
    gen_opts_default(&o);
    const char *model = NULL, *prompt = NULL, *pfile = NULL;
    bool escape = false, json = false;
    int32_t top_lp = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int r = gen_parse_flag(&o, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_next(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            if (!(prompt = cli_next(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
            if (!(pfile = cli_next(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-e") || !strcmp(a, "--escape")) {
            escape = true;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--top-logprobs")) {
            if (!(v = cli_next(argc, argv, &i)) || cli_i32(a, v, 0, 20, &top_lp)) return 2;
        } else {
            fprintf(stderr, "edgellm run: unknown option '%s' (edgellm run --help)\n", a);
            return 2;
        }
    }
    if (prompt && pfile) {
        fprintf(stderr, "edgellm run: give -p or -f, not both\n");
        return 2;
    }
    if (!model) model = cli_default_model();
    if (!model) {
        fprintf(stderr, "edgellm run: no model: pass -m FILE.gguf\n");
        return 2;
    }
    char *text = NULL;
    if (pfile) {
        if (!(text = cli_read_file(pfile, NULL))) return 1;
    } else {
        text = strdup(prompt ? prompt : "");
        if (!text) return 1;
    }
    if (escape) unescape(text);

    gen_ctx g;
    int rc = gen_open(&g, model, &o);
    if (rc == 0) {
        rc = gen_prompt(&g, text, strlen(text), true);
        if (rc == 0) rc = gen_complete(&g, json ? GEN_OUT_JSON : GEN_OUT_TEXT, top_lp, stdout);
        gen_report(&g, stderr);
    }
    gen_close(&g);
    free(text);
    return rc ? 1 : 0;
}
