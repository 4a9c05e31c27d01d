/* cli/cmd_serve.c — `edgellm serve`: flags → el_server_config → el_server_run (server/).
 * Bad flags exit 2 with one line; the server's own exit status otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/util.h"
#include "server/server.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: edgellm serve [-m model.gguf] [options]\n"
            "OpenAI-compatible HTTP API: /v1/chat/completions, /v1/completions, /v1/models,\n"
            "/health, /metrics, /tokenize, /detokenize.\n\n"
            "  -m, --model FILE        model (default: models/default.gguf or $EDGELLM_MODEL)\n"
            "      --host ADDR         address to bind (default 127.0.0.1; anything but loopback\n"
            "                          needs an API key)\n"
            "      --port N            port (default 8080; 0: any free port, printed)\n"
            "      --api-key KEY       require 'Authorization: Bearer KEY' (or $EDGELLM_API_KEY)\n"
            "      --alias NAME        model id in the API (default: the file name)\n"
            "  -c, --ctx-size N        context per slot (default: model's, at most 4096)\n"
            "  -np, --parallel N       slots: requests decoded together (default 2)\n"
            "  -b, --batch-size N      tokens per decode step (default 512)\n"
            "  -t, --threads N         threads (default: all cores)\n"
            "  -ctk, -ctv TYPE         KV cache type: f16 (default), f32\n"
            "      --metrics           serve Prometheus metrics on /metrics\n"
            "      --chat-template-file FILE   Jinja chat template instead of the model's\n"
            "      --queue N           requests that may wait for a slot (default 64; more: 503)\n"
            "      --timeout S         generation time limit per request (default 600)\n"
            "      --max-body BYTES    request body limit (default 4194304)\n"
            "      --max-conns N       open connections (default 256)\n"
            "      --idle-timeout S    close idle connections after S seconds (default 60)\n"
            "      --port-file FILE    write the bound port to FILE once listening\n");
}

static int kv(const char *flag, const char *v, el_kv_type *out) {
    if (!strcmp(v, "f16"))
        *out = EL_KV_F16;
    else if (!strcmp(v, "f32"))
        *out = EL_KV_F32;
    else {
        fprintf(stderr, "edgellm serve: %s: cache type '%s' is not supported (f16, f32)\n", flag,
                v);
        return -1;
    }
    return 0;
}

int cmd_serve(int argc, char **argv) {
    el_server_config c;
    el_server_config_default(&c);
    c.api_key = getenv("EDGELLM_API_KEY");
    if (c.api_key && !*c.api_key) c.api_key = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int32_t n;
        long long ll;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--metrics")) {
            c.metrics = true;
            continue;
        }
#define VAL()                                                                                      \
    do {                                                                                           \
        if (!(v = cli_next(argc, argv, &i))) return 2;                                             \
    } while (0)
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            VAL();
            c.model_path = v;
        } else if (!strcmp(a, "--host")) {
            VAL();
            c.host = v;
        } else if (!strcmp(a, "--port")) {
            VAL();
            if (cli_i32(a, v, 0, 65535, &n)) return 2;
            c.port = n;
        } else if (!strcmp(a, "--api-key")) {
            VAL();
            if (!*v) {
                fprintf(stderr, "edgellm serve: --api-key: empty key\n");
                return 2;
            }
            c.api_key = v;
        } else if (!strcmp(a, "--alias")) {
            VAL();
            c.alias = v;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            VAL();
            if (cli_i32(a, v, 0, 1 << 24, &c.n_ctx)) return 2;
        } else if (!strcmp(a, "-np") || !strcmp(a, "--parallel")) {
            VAL();
            if (cli_i32(a, v, 1, 256, &c.n_parallel)) return 2;
        } else if (!strcmp(a, "-b") || !strcmp(a, "--batch-size")) {
            VAL();
            if (cli_i32(a, v, 1, 1 << 16, &c.n_batch)) return 2;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            VAL();
            if (cli_i32(a, v, 1, 256, &c.n_threads)) return 2;
        } else if (!strcmp(a, "-ctk") || !strcmp(a, "--cache-type-k")) {
            VAL();
            if (kv(a, v, &c.type_k)) return 2;
        } else if (!strcmp(a, "-ctv") || !strcmp(a, "--cache-type-v")) {
            VAL();
            if (kv(a, v, &c.type_v)) return 2;
        } else if (!strcmp(a, "--chat-template-file")) {
            VAL();
            c.chat_template_file = v;
        } else if (!strcmp(a, "--queue")) {
            VAL();
            if (cli_i32(a, v, 0, 1 << 20, &c.queue_max)) return 2;
        } else if (!strcmp(a, "--timeout")) {
            VAL();
            if (cli_i32(a, v, 1, 1 << 24, &c.timeout_s)) return 2;
        } else if (!strcmp(a, "--max-body")) {
            VAL();
            if (cli_int(a, v, 1024, 1LL << 30, &ll)) return 2;
            c.max_body = (size_t)ll;
        } else if (!strcmp(a, "--max-conns")) {
            VAL();
            if (cli_i32(a, v, 1, 65536, &c.max_conns)) return 2;
        } else if (!strcmp(a, "--idle-timeout")) {
            VAL();
            if (cli_i32(a, v, 1, 1 << 20, &c.idle_timeout_s)) return 2;
        } else if (!strcmp(a, "--port-file")) {
            VAL();
            c.port_file = v;
        } else {
            fprintf(stderr, "edgellm serve: unknown option '%s' (edgellm serve --help)\n", a);
            return 2;
        }
#undef VAL
    }
    if (!c.model_path && !(c.model_path = cli_default_model())) {
        fprintf(stderr, "edgellm serve: no model (-m model.gguf)\n");
        return 2;
    }
    return el_server_run(&c);
}
