/* cli/main.c — `edgellm <command> ...`: finds the subcommand and hands it the arguments. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const el_cli_cmd commands[] = {
    {"info", cmd_info, "what is in a GGUF file, how big, what it needs (--cpu: CPU features)"},
    {"run", cmd_run, "one completion of a prompt, streamed, with speed figures"},
    {"chat", cmd_chat, "interactive chat with the model's chat template"},
    {"bench", cmd_bench, "prefill and decode speed like llama-bench, with memory bandwidth"},
    {"perplexity", cmd_perplexity, "perplexity over a text file, computed as llama-perplexity does"},
    {"quantize", cmd_quantize, "re-encode weights (Q4_K_M, Q8_0, ...) like llama-quantize"},
    {"synth", cmd_synth, "random-weight GGUF of any architecture, shape and type (for tests)"},
    {"serve", cmd_serve, "OpenAI-compatible HTTP server (chat, completions, tools, JSON output)"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: edgellm <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`edgellm <command> --help` for a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "edgellm: unknown command '%s' (edgellm --help lists them)\n", argv[1]);
    return 2;
}
