/* cli/cmd_info.c — `edgellm info FILE`: header summary of a GGUF file. */
#include <stdio.h>

#include "cli/cli.h"
#include "gguf/gguf.h"

int cmd_info(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: edgellm info FILE.gguf\n");
        return 2;
    }
    char err[256];
    el_gguf *g = el_gguf_open(argv[1], err, sizeof err);
    if (!g) {
        fprintf(stderr, "edgellm: %s\n", err);
        return 1;
    }
    printf("GGUF v%u, %lld keys, %lld tensors\n", el_gguf_version(g), (long long)el_gguf_n_kv(g),
           (long long)el_gguf_n_tensors(g));
    el_gguf_close(g);
    return 0;
}
