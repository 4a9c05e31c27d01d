/* cli/util.c — shared flag parsing and output helpers for the subcommands. */
#include "cli/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

int cli_int(const char *flag, const char *val, long long lo, long long hi, long long *out) {
    if (!val || !*val) {
        fprintf(stderr, "edgellm: %s needs a number\n", flag);
        return -1;
    }
    errno = 0;
    char *end;
    long long v = strtoll(val, &end, 10);
    if (errno || *end) {
        fprintf(stderr, "edgellm: %s: '%s' is not an integer\n", flag, val);
        return -1;
    }
    if (v < lo || v > hi) {
        fprintf(stderr, "edgellm: %s: %lld is out of range [%lld, %lld]\n", flag, v, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_i32(const char *flag, const char *val, int32_t lo, int32_t hi, int32_t *out) {
    long long v;
    if (cli_int(flag, val, lo, hi, &v)) return -1;
    *out = (int32_t)v;
    return 0;
}

int cli_float(const char *flag, const char *val, double lo, double hi, float *out) {
    if (!val || !*val) {
        fprintf(stderr, "edgellm: %s needs a number\n", flag);
        return -1;
    }
    errno = 0;
    char *end;
    double v = strtod(val, &end);
    if (errno || *end || !isfinite(v)) {
        fprintf(stderr, "edgellm: %s: '%s' is not a number\n", flag, val);
        return -1;
    }
    if (v < lo || v > hi) {
        fprintf(stderr, "edgellm: %s: %g is out of range [%g, %g]\n", flag, v, lo, hi);
        return -1;
    }
    *out = (float)v;
    return 0;
}

int cli_kv_type(const char *flag, const char *val, el_kv_type *out) {
    if (!strcmp(val, "f16")) {
        *out = EL_KV_F16;
    } else if (!strcmp(val, "f32")) {
        *out = EL_KV_F32;
    } else {
        fprintf(stderr, "edgellm: %s: cache type '%s' is not supported (f16, f32)\n", flag, val);
        return -1;
    }
    return 0;
}

const char *cli_next(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "edgellm: %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

void cli_json_str(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t bad;
            int len = el_utf8_len(c);
            if (len == 0 || i + (size_t)len > n || !el_utf8_valid(s + i, (size_t)len, &bad)) {
                fputs("\\ufffd", f);
                i++;
                continue;
            }
            fwrite(s + i, 1, (size_t)len, f);
            i += (size_t)len;
            continue;
        }
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
        i++;
    }
    fputc('"', f);
}

char *cli_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "edgellm: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = cap < (SIZE_MAX >> 1) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    int rd_err = ferror(f);
    fclose(f);
    if (!buf || rd_err) {
        free(buf);
        fprintf(stderr, "edgellm: %s: cannot read\n", path);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

const char *cli_default_model(void) {
    const char *env = getenv("EDGELLM_MODEL");
    if (env && *env) return env;
    static char path[4096];
    /* models/default.gguf beside the binary (repo checkout), then the install location */
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        for (int up = 0; up < 3; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash) break;
            *slash = 0;
            snprintf(path, sizeof path, "%s/models/default.gguf", exe);
            if (access(path, R_OK) == 0) return path;
        }
    }
    snprintf(path, sizeof path, "/usr/local/share/edgellm/default.gguf");
    if (access(path, R_OK) == 0) return path;
    return NULL;
}
