/* cli/util.h — what several subcommands share: strict number parsing for flags (one-line
 * errors), JSON string escaping for machine-readable output, reading a text file. */
#ifndef EL_CLI_UTIL_H
#define EL_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "edgellm.h"

/* Parse "val" of flag into *out within [lo, hi]. Print "edgellm: <flag>: ..." and return -1
 * on anything else. */
int cli_int(const char *flag, const char *val, long long lo, long long hi, long long *out);
int cli_i32(const char *flag, const char *val, int32_t lo, int32_t hi, int32_t *out);
int cli_float(const char *flag, const char *val, double lo, double hi, float *out);
/* KV cache type by name (f16, f32) for -ctk / -ctv; prints an error and returns -1. */
int cli_kv_type(const char *flag, const char *val, el_kv_type *out);
/* The value after argv[*i] (advancing *i); prints an error and returns NULL when missing. */
const char *cli_next(int argc, char **argv, int *i);
/* Writes s[0..n) as a JSON string literal (with quotes). Invalid UTF-8 becomes U+FFFD. */
void cli_json_str(FILE *f, const char *s, size_t n);
/* Reads a whole file (NUL-terminated, malloc'd); prints an error and returns NULL. */
char *cli_read_file(const char *path, size_t *len);
/* The model used when no -m is given (models/default.gguf next to the binary's repo, or
 * $EDGELLM_MODEL). Returns NULL when there is none. */
const char *cli_default_model(void);

#endif
