/* tests/unit/test_cpu.c — CPU feature detection: the flags are consistent with each other and
 * with the detected level, EL_CPU_FEATURES and el_cpu_set_max_level cap the level (and only
 * cap it), bad values are refused with a message, core counts are sane. Under
 * qemu-aarch64 -cpu max (RUNNER contains "-cpu max") dotprod and i8mm must be reported. */
#include <stdlib.h>

#include "kernels/cpu.h"
#include "test.h"

/* The first el_cpu_get() reads EL_CPU_FEATURES: main() sets it to "scalar" before. */
static void test_env_at_startup(void) {
    const el_cpu_info *ci = el_cpu_get();
    CHECK(ci->level == EL_CPU_SCALAR, "EL_CPU_FEATURES=scalar, level %s",
          el_cpu_level_name(ci->level));
    CHECK(el_cpu_set_max_level(ci->detected) == 0);
    CHECK(ci->level == ci->detected, "the cap can be lifted again");
}

static void test_consistency(void) {
    const el_cpu_info *ci = el_cpu_get();
    REQUIRE(ci && ci->arch);
    char line[512];
    int n = el_cpu_describe(line, sizeof line);
    printf("%s\n", line);
    CHECK(n > 0 && (size_t)n < sizeof line && !strchr(line, '\n'));
    CHECK(strstr(line, ci->arch) == line, "starts with the arch: %s", line);
#if defined(__x86_64__)
    CHECK(!strcmp(ci->arch, "x86_64"));
    CHECK(!ci->neon && !ci->dotprod && !ci->i8mm && !ci->sve);
    CHECK(!ci->avx2 || ci->avx, "avx2 implies avx");
    CHECK(!ci->fma || ci->avx, "fma implies avx (OS ymm state)");
    CHECK(!ci->f16c || ci->avx);
    CHECK(!ci->avx_vnni || ci->avx);
    CHECK(!ci->avx512f || ci->avx, "avx512f implies avx");
    CHECK(!(ci->avx512bw || ci->avx512vl || ci->avx512dq || ci->avx512_vnni || ci->avx512_bf16) ||
              ci->avx512f,
          "avx512 extensions imply avx512f");
    CHECK(ci->detected == EL_CPU_SCALAR || ci->detected == EL_CPU_AVX2 ||
          ci->detected == EL_CPU_AVX512);
    if (ci->detected >= EL_CPU_AVX2) CHECK(ci->avx2 && ci->fma && ci->f16c);
    if (ci->detected == EL_CPU_AVX512)
        CHECK(ci->avx512f && ci->avx512bw && ci->avx512vl && ci->avx512dq && ci->avx512_vnni &&
              ci->avx512_bf16);
    if (ci->avx2 && ci->fma && ci->f16c) CHECK(ci->detected != EL_CPU_SCALAR, "AVX2 level missed");
    if (ci->detected == EL_CPU_AVX2)
        CHECK(!(ci->avx512f && ci->avx512bw && ci->avx512vl && ci->avx512dq && ci->avx512_vnni &&
                ci->avx512_bf16),
              "AVX512 level missed");
    for (int f = 0; f < 2; f++) {
        const char *name = f ? "avx2" : "avx512f";
        bool on = f ? ci->avx2 : ci->avx512f;
        char pat[32];
        snprintf(pat, sizeof pat, " %s ", name);
        char padded[600];
        snprintf(padded, sizeof padded, " %s ", line);
        CHECK(on == (strstr(padded, pat) != NULL), "%s listed iff detected: %s", name, line);
    }
#elif defined(__aarch64__)
    CHECK(!strcmp(ci->arch, "aarch64"));
    CHECK(!ci->avx && !ci->avx2 && !ci->avx512f && !ci->sse3);
    CHECK(ci->neon, "Advanced SIMD is mandatory on aarch64 Linux");
    CHECK(!ci->dotprod || ci->neon);
    CHECK(!ci->i8mm || ci->neon);
    CHECK(ci->detected == EL_CPU_NEON || ci->detected == EL_CPU_DOTPROD ||
          ci->detected == EL_CPU_I8MM);
    if (ci->detected >= EL_CPU_DOTPROD) CHECK(ci->dotprod && ci->fp16);
    if (ci->detected == EL_CPU_I8MM) CHECK(ci->i8mm);
    if (ci->dotprod && ci->fp16) CHECK(ci->detected >= EL_CPU_DOTPROD);
    const char *runner = getenv("RUNNER");
    if (runner && strstr(runner, "-cpu max")) {
        CHECK(ci->dotprod && ci->i8mm && ci->fp16, "qemu -cpu max has dotprod, i8mm, fp16: %s",
              line);
        CHECK(ci->detected == EL_CPU_I8MM, "%s", el_cpu_level_name(ci->detected));
        CHECK(strstr(line, "dotprod") && strstr(line, "i8mm"), "%s", line);
    }
#endif
    CHECK(ci->n_logical >= 1);
    CHECK(ci->n_physical >= 1 && ci->n_physical <= ci->n_logical, "%d physical, %d logical",
          ci->n_physical, ci->n_logical);
    CHECK(ci->n_perf >= 1 && ci->n_perf <= ci->n_physical, "%d fast", ci->n_perf);
    CHECK(strstr(line, "threads") != NULL);
    /* a tiny buffer truncates but still NUL-terminates and reports the full length */
    char small[8];
    CHECK(el_cpu_describe(small, sizeof small) == n && strlen(small) == 7);
}

static void test_parse(void) {
    CHECK(el_cpu_parse_level("scalar") == EL_CPU_SCALAR);
    CHECK(el_cpu_parse_level("avx2") == EL_CPU_AVX2);
    CHECK(el_cpu_parse_level("AVX512") == EL_CPU_AVX512);
    CHECK(el_cpu_parse_level("neon") == EL_CPU_NEON);
    CHECK(el_cpu_parse_level("DotProd") == EL_CPU_DOTPROD);
    CHECK(el_cpu_parse_level("i8mm") == EL_CPU_I8MM);
    CHECK(el_cpu_parse_level("sse") == -1);
    CHECK(el_cpu_parse_level("") == -1);
    CHECK(el_cpu_parse_level("avx2 ") == -1);
    CHECK(el_cpu_parse_level(NULL) == -1);
    for (int l = 0; l < EL_CPU_LEVEL_COUNT; l++)
        CHECK(el_cpu_parse_level(el_cpu_level_name((el_cpu_level)l)) == l);
    CHECK(!strcmp(el_cpu_level_name(EL_CPU_LEVEL_COUNT), "unknown"));
}

static void test_caps(void) {
    const el_cpu_info *ci = el_cpu_get();
    el_cpu_level det = ci->detected;
    char err[256] = "";

    CHECK(el_cpu_set_max_level(EL_CPU_SCALAR) == 0 && ci->level == EL_CPU_SCALAR);
    CHECK(ci->detected == det, "capping never changes what was detected");
    CHECK(el_cpu_apply_features("bogus", err, sizeof err) == -1);
    CHECK(strstr(err, "bogus") && strstr(err, "scalar|avx2|avx512|neon|dotprod|i8mm"), "%s", err);
    CHECK(ci->level == EL_CPU_SCALAR, "a bad value is ignored");
#if defined(__x86_64__)
    const el_cpu_level mine[] = {EL_CPU_AVX2, EL_CPU_AVX512};
    const el_cpu_level other[] = {EL_CPU_NEON, EL_CPU_DOTPROD, EL_CPU_I8MM};
#elif defined(__aarch64__)
    const el_cpu_level mine[] = {EL_CPU_NEON, EL_CPU_DOTPROD, EL_CPU_I8MM};
    const el_cpu_level other[] = {EL_CPU_AVX2, EL_CPU_AVX512};
#else
    const el_cpu_level mine[] = {EL_CPU_SCALAR};
    const el_cpu_level other[] = {EL_CPU_AVX2, EL_CPU_NEON};
#endif
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        CHECK(el_cpu_set_max_level(other[i]) == -1, "%s", el_cpu_level_name(other[i]));
        CHECK(el_cpu_apply_features(el_cpu_level_name(other[i]), err, sizeof err) == -1);
        CHECK(strstr(err, "not a level of"), "%s", err);
        CHECK(ci->level == EL_CPU_SCALAR, "unchanged");
    }
    /* levels are ordered within the arch: a cap gives min(cap, detected) */
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) {
        CHECK(el_cpu_apply_features(el_cpu_level_name(mine[i]), err, sizeof err) == 0, "%s", err);
        el_cpu_level want = mine[i] < det ? mine[i] : det; /* same-arch ids are in rank order */
        CHECK(ci->level == want, "cap %s: level %s, detected %s", el_cpu_level_name(mine[i]),
              el_cpu_level_name(ci->level), el_cpu_level_name(det));
    }
    CHECK(el_cpu_apply_features("SCALAR", err, sizeof err) == 0 && ci->level == EL_CPU_SCALAR);
    CHECK(el_cpu_set_max_level(det) == 0 && ci->level == det);
    char line[512];
    el_cpu_set_max_level(EL_CPU_SCALAR);
    el_cpu_describe(line, sizeof line);
    CHECK(strstr(line, "level scalar"), "%s", line);
    el_cpu_set_max_level(det);
}

int main(int argc, char **argv) {
    (void)argc;
    setenv("EL_CPU_FEATURES", "scalar", 1);
    RUN(test_env_at_startup);
    RUN(test_consistency);
    RUN(test_parse);
    RUN(test_caps);
    return test_summary(argv[0]);
}
