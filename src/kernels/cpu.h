/* kernels/cpu.h — runtime CPU feature detection and the kernel level dispatch uses.
 *
 * el_cpu_get() detects once (thread-safe) what the CPU and the OS support, and the core
 * counts. The feature flags describe the hardware as detected; `level` is what kernel
 * dispatch should use: the best level detected, capped by EL_CPU_FEATURES (read at the
 * first el_cpu_get) or el_cpu_set_max_level(). A level needs every instruction set the
 * Makefile compiles that level's kernel files with (ISA_* flags), so a kernel file may use
 * any of them:
 *   EL_CPU_AVX2     avx2 + fma + f16c (OS saves ymm)
 *   EL_CPU_AVX512   AVX2 level + avx512 f/bw/vl/dq + avx512_vnni + avx512_bf16 (OS saves zmm,
 *                   opmask); Skylake-X / Ice Lake (no BF16) therefore run the AVX2 level
 *   EL_CPU_NEON     asimd
 *   EL_CPU_DOTPROD  NEON + asimddp + fp16 arithmetic (Cortex-A55/A76 and later)
 *   EL_CPU_I8MM     DOTPROD level + i8mm
 * Levels order within an architecture only: x86-64 SCALAR < AVX2 < AVX512, aarch64
 * SCALAR < NEON < DOTPROD < I8MM.
 */
#ifndef EL_CPU_H
#define EL_CPU_H

#include <stdbool.h>
#include <stddef.h>

typedef enum el_cpu_level {
    EL_CPU_SCALAR = 0,
    EL_CPU_AVX2 = 1,
    EL_CPU_AVX512 = 2,
    EL_CPU_NEON = 3,
    EL_CPU_DOTPROD = 4,
    EL_CPU_I8MM = 5,
    EL_CPU_LEVEL_COUNT = 6,
} el_cpu_level;

typedef struct el_cpu_info {
    const char *arch; /* "x86_64", "aarch64" or "other" */
    char model[64];   /* brand string where the CPU reports one, else "" */
    /* x86-64 (false elsewhere); AVX-family flags also require OS support (xgetbv) */
    bool sse3, ssse3, avx, avx2, fma, f16c;
    bool avx512f, avx512bw, avx512vl, avx512dq, avx512_vnni, avx512_bf16, avx_vnni;
    /* aarch64 (false elsewhere), from getauxval(AT_HWCAP / AT_HWCAP2) */
    bool neon, dotprod, fp16, i8mm, sve, bf16;
    el_cpu_level detected; /* best level this CPU + OS support */
    el_cpu_level level;    /* what dispatch uses: detected, capped (see above) */
    int n_logical;         /* online logical CPUs (>= 1) */
    int n_physical;        /* distinct cores (>= 1, <= n_logical) */
    int n_perf; /* cores of the fastest class on big.LITTLE (RK3588: 4), else n_physical */
} el_cpu_info;

/* Detects on first call (and applies EL_CPU_FEATURES; a bad value logs one error line and
 * is ignored). Never NULL. */
const el_cpu_info *el_cpu_get(void);

/* Caps the level at max (a level of this architecture, else -1 and nothing changes); a cap
 * above what was detected leaves the detected level. Call at start-up, before kernels run
 * on other threads. */
int el_cpu_set_max_level(el_cpu_level max);

/* Applies an EL_CPU_FEATURES-style value: one of scalar|avx2|avx512|neon|dotprod|i8mm
 * (case-insensitive). 0 on success; -1 with one line in err for an unknown name or a level
 * of another architecture (the level is then unchanged). */
int el_cpu_apply_features(const char *spec, char *err, size_t errlen);

/* Level by name ("avx2", case-insensitive), -1 when unknown; and the reverse. */
int el_cpu_parse_level(const char *name);
const char *el_cpu_level_name(el_cpu_level l);

/* One line, no newline: "x86_64 <model>: sse3 ssse3 avx avx2 fma f16c ... | level avx2
 * (detected avx2) | 4 cores, 8 threads". Returns the length snprintf would write. */
int el_cpu_describe(char *buf, size_t n);

#endif
