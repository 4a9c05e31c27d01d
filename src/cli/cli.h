/* cli/cli.h — one function per subcommand (one file each under cli/), dispatched by main.c.
 * Each returns the process exit status: 0 ok, 1 runtime failure, 2 bad usage. */
#ifndef EL_CLI_H
#define EL_CLI_H

typedef struct el_cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
} el_cli_cmd;

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
