/* cli/cmd_chat.c — `edgellm chat`: interactive multi-turn chat with the model's own chat
 * template. Each turn renders the whole conversation and hands it to the shared generation
 * loop, which keeps the longest common token prefix in the KV cache, so only the new turn is
 * prefilled. Ctrl-C stops the current answer; Ctrl-C at the prompt or Ctrl-D ends the chat.
 * The conversation is kept as an OpenAI-shaped JSON array (cJSON builds it). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/gen.h"
#include "cli/util.h"
#include "edgellm.h"

static void usage(FILE *f) {
    fprintf(f, "usage: edgellm chat [-m FILE] [-sys TEXT] [--think|--no-think] [options]\n"
               "  -m, --model FILE        GGUF model with a chat template (default: bundled model)\n"
               "  -sys, --system TEXT     system message\n"
               "  --think / --no-think    reasoning on or off for templates that support it\n");
    gen_usage(f);
    fprintf(f, "In the chat: /reset clears the conversation, /exit or Ctrl-D ends it, Ctrl-C stops"
               " an answer.\n");
}

static void on_sigint(int sig) {
    (void)sig;
    gen_interrupted = 1;
}

static int add_msg(cJSON *msgs, const char *role, const char *content) {
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "role", role) ||
        !cJSON_AddStringToObject(o, "content", content)) {
        cJSON_Delete(o);
        return -1;
    }
    cJSON_AddItemToArray(msgs, o);
    return 0;
}

int cmd_chat(int argc, char **argv) {
    gen_opts o;
    gen_opts_default(&o);
    const char *model = NULL, *sys = NULL;
    int think = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = gen_parse_flag(&o, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_next(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-sys") || !strcmp(a, "--system") || !strcmp(a, "--system-prompt")) {
            if (!(sys = cli_next(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--think")) {
            think = 1;
        } else if (!strcmp(a, "--no-think")) {
            think = 0;
        } else {
            fprintf(stderr, "edgellm chat: unknown option '%s' (edgellm chat --help)\n", a);
            return 2;
        }
    }
    if (!model) model = cli_default_model();
    if (!model) {
        fprintf(stderr, "edgellm chat: no model: pass -m FILE.gguf\n");
        return 2;
    }
    gen_ctx g;
    if (gen_open(&g, model, &o)) {
        gen_close(&g);
        return 1;
    }
    el_model_desc d;
    el_model_describe(g.m, &d);
    if (!d.has_chat_template) {
        char *probe = NULL, err[256];
        el_chat_opts co = {.add_generation_prompt = true, .enable_thinking = think};
        el_chat_render(g.m, "[]", NULL, &co, &probe, err, sizeof err);
        fprintf(stderr, "edgellm chat: %s\n", err);
        free(probe);
        gen_close(&g);
        return 1;
    }
    char bos[64] = "";
    el_token bt = el_token_bos(g.m);
    if (bt >= 0) {
        int n = el_token_text(g.m, bt, true, bos, (int)sizeof bos - 1);
        bos[n > 0 && n < (int)sizeof bos ? n : 0] = 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: Ctrl-C at the prompt ends fgets */

    cJSON *msgs = cJSON_CreateArray();
    if (!msgs || (sys && add_msg(msgs, "system", sys))) {
        cJSON_Delete(msgs);
        gen_close(&g);
        return 1;
    }
    fprintf(stderr, "edgellm chat: %s (%s), context %d. /exit to quit, /reset to start over.\n",
            d.name[0] ? d.name : model, d.arch, el_session_n_ctx(g.s));
    char line[16384];
    int rc = 0;
    for (;;) {
        gen_interrupted = 0;
        fputs("\n> ", stdout);
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin)) {
            if (errno == EINTR || gen_interrupted) fputc('\n', stdout);
            break;
        }
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (!n) continue;
        if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) break;
        if (!strcmp(line, "/reset")) {
            cJSON_Delete(msgs);
            msgs = cJSON_CreateArray();
            if (!msgs || (sys && add_msg(msgs, "system", sys))) {
                rc = 1;
                break;
            }
            fputs("(conversation cleared)\n", stdout);
            continue;
        }
        if (add_msg(msgs, "user", line)) {
            rc = 1;
            break;
        }
        char *mj = cJSON_PrintUnformatted(msgs), *prompt = NULL, err[512];
        el_chat_opts co = {.add_generation_prompt = true, .enable_thinking = think};
        snprintf(err, sizeof err, "out of memory");
        int r = mj ? el_chat_render(g.m, mj, NULL, &co, &prompt, err, sizeof err) : -1;
        free(mj);
        if (r) {
            fprintf(stderr, "edgellm chat: %s\n", err);
            free(prompt);
            rc = 1;
            break;
        }
        /* a template that writes the BOS text itself must not get a second BOS */
        bool add_special = !(bos[0] && !strncmp(prompt, bos, strlen(bos)));
        r = gen_prompt(&g, prompt, strlen(prompt), add_special);
        free(prompt);
        if (r == 0) r = gen_complete(&g, GEN_OUT_TEXT, 0, stdout);
        if (r) {
            rc = 1;
            break;
        }
        fputc('\n', stdout);
        if (g.stop_reason && !strcmp(g.stop_reason, "interrupted")) fputs("(stopped)\n", stdout);
        if (add_msg(msgs, "assistant", g.last_text ? g.last_text : "")) {
            rc = 1;
            break;
        }
    }
    gen_report(&g, stderr);
    cJSON_Delete(msgs);
    gen_close(&g);
    return rc;
}
