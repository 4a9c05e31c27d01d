/* kernels/cpu.c — runtime CPU feature detection (cpuid + xgetbv on x86-64, getauxval on
 * aarch64 Linux), core counts from sysfs, and the capped kernel level (see cpu.h).
 *
 * Owns one static el_cpu_info, filled once under pthread_once; afterwards only `level`
 * changes, through el_cpu_set_max_level / el_cpu_apply_features, which callers use at
 * start-up. No allocation. On other architectures everything reads as scalar.
 */
#include "kernels/cpu.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/core.h"

#if defined(__x86_64__) || defined(__i386__)
#define EL_X86 1
#include <cpuid.h>
#elif defined(__aarch64__)
#define EL_ARM64 1
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#endif

static el_cpu_info info;
static el_cpu_level cap = EL_CPU_LEVEL_COUNT; /* no cap */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const char *const level_names[EL_CPU_LEVEL_COUNT] = {"scalar", "avx2",    "avx512",
                                                            "neon",   "dotprod", "i8mm"};

const char *el_cpu_level_name(el_cpu_level l) {
    return l >= 0 && l < EL_CPU_LEVEL_COUNT ? level_names[l] : "unknown";
}

int el_cpu_parse_level(const char *name) {
    if (!name) return -1;
    for (int l = 0; l < EL_CPU_LEVEL_COUNT; l++)
        if (!strcasecmp(name, level_names[l])) return l;
    return -1;
}

/* Rank of a level on this architecture (SCALAR is 0 everywhere), -1 when the level belongs
 * to another architecture. */
static int rank(el_cpu_level l) {
    if (l == EL_CPU_SCALAR) return 0;
#if EL_X86
    if (l == EL_CPU_AVX2) return 1;
    if (l == EL_CPU_AVX512) return 2;
#elif EL_ARM64
    if (l == EL_CPU_NEON) return 1;
    if (l == EL_CPU_DOTPROD) return 2;
    if (l == EL_CPU_I8MM) return 3;
#endif
    return -1;
}

static void apply_cap(void) {
    info.level = info.detected;
    if (cap != EL_CPU_LEVEL_COUNT && rank(cap) < rank(info.detected)) info.level = cap;
}

/* ---- x86-64 ------------------------------------------------------------------------------ */
#if EL_X86
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static void detect_x86(void) {
    unsigned a, b, c, d;
    info.arch = "x86_64";
    unsigned max = (unsigned)__get_cpuid_max(0, NULL);
    if (max < 1) return;
    __cpuid(1, a, b, c, d);
    info.sse3 = c & (1u << 0);
    info.ssse3 = c & (1u << 9);
    bool osxsave = c & (1u << 27);
    bool hw_fma = c & (1u << 12), hw_avx = c & (1u << 28), hw_f16c = c & (1u << 29);
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    bool os_avx = (xcr0 & 0x6) == 0x6;      /* xmm + ymm state */
    bool os_avx512 = (xcr0 & 0xE6) == 0xE6; /* + opmask, zmm hi256, hi16 zmm */
    info.avx = hw_avx && os_avx;
    info.fma = hw_fma && os_avx;
    info.f16c = hw_f16c && os_avx;
    if (max >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        info.avx2 = (b & (1u << 5)) && os_avx;
        info.avx512f = (b & (1u << 16)) && os_avx512;
        info.avx512dq = (b & (1u << 17)) && os_avx512;
        info.avx512bw = (b & (1u << 30)) && os_avx512;
        info.avx512vl = (b & (1u << 31)) && os_avx512;
        info.avx512_vnni = (c & (1u << 11)) && os_avx512;
        unsigned max7 = a;
        if (max7 >= 1) {
            __cpuid_count(7, 1, a, b, c, d);
            info.avx_vnni = (a & (1u << 4)) && os_avx;
            info.avx512_bf16 = (a & (1u << 5)) && os_avx512;
        }
    }
    /* brand string, leaves 0x80000002..4 */
    if ((unsigned)__get_cpuid_max(0x80000000, NULL) >= 0x80000004u) {
        unsigned r[12];
        for (unsigned i = 0; i < 3; i++)
            __cpuid(0x80000002 + i, r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
        char s[49];
        memcpy(s, r, 48);
        s[48] = 0;
        const char *p = s;
        while (*p == ' ')
            p++;
        snprintf(info.model, sizeof info.model, "%s", p);
    }
    if (info.avx2 && info.fma && info.f16c) {
        info.detected = EL_CPU_AVX2;
        if (info.avx512f && info.avx512bw && info.avx512vl && info.avx512dq && info.avx512_vnni &&
            info.avx512_bf16)
            info.detected = EL_CPU_AVX512;
    }
}
#endif

/* ---- aarch64 ------------------------------------------------------------------------------ */
#if EL_ARM64
static void detect_arm64(void) {
    info.arch = "aarch64";
#if defined(__linux__)
    /* bit numbers of the Linux arm64 uapi <asm/hwcap.h> (stable ABI) */
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    info.neon = hw & (1ul << 1);                         /* HWCAP_ASIMD */
    info.fp16 = (hw & (1ul << 9)) && (hw & (1ul << 10)); /* HWCAP_FPHP + HWCAP_ASIMDHP */
    info.dotprod = hw & (1ul << 20);                     /* HWCAP_ASIMDDP */
    info.sve = hw & (1ul << 22);                         /* HWCAP_SVE */
    info.i8mm = hw2 & (1ul << 13);                       /* HWCAP2_I8MM */
    info.bf16 = hw2 & (1ul << 14);                       /* HWCAP2_BF16 */
#else
    info.neon = true; /* Advanced SIMD is mandatory in AArch64 */
#endif
    if (info.neon) {
        info.detected = EL_CPU_NEON;
        if (info.dotprod && info.fp16) {
            info.detected = EL_CPU_DOTPROD;
            if (info.i8mm) info.detected = EL_CPU_I8MM;
        }
    }
    FILE *f = fopen("/sys/firmware/devicetree/base/model", "r");
    if (f) {
        size_t n = fread(info.model, 1, sizeof info.model - 1, f);
        info.model[n] = 0;
        fclose(f);
    }
}
#endif

/* ---- cores ---------------------------------------------------------------------------------- */

/* Reads one integer from a sysfs file; -1 when absent. */
static long read_long(int cpu, const char *leaf) {
    char path[128];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/%s", cpu, leaf);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    if (fscanf(f, "%ld", &v) != 1) v = -1;
    fclose(f);
    return v;
}

#define MAX_CPUS 1024

static void count_cores(void) {
    long nl = sysconf(_SC_NPROCESSORS_ONLN);
    long nc = sysconf(_SC_NPROCESSORS_CONF);
    info.n_logical = nl > 0 ? (int)EL_MIN(nl, 1L << 20) : 1;
    if (nc < 1 || nc > MAX_CPUS) nc = EL_MIN(EL_MAX(nc, 1), MAX_CPUS);
    static long pkg[MAX_CPUS], core[MAX_CPUS], speed[MAX_CPUS];
    int n = 0;
    long top = 0;
    bool have_speed = true;
    for (int c = 0; c < nc; c++) {
        long cid = read_long(c, "topology/core_id");
        if (cid < 0) continue; /* offline or no sysfs */
        if (c > 0 && read_long(c, "online") == 0) continue;
        long pid = read_long(c, "topology/physical_package_id");
        long sp = read_long(c, "cpu_capacity");
        if (sp < 0) sp = read_long(c, "cpufreq/cpuinfo_max_freq");
        if (sp < 0) have_speed = false;
        int k = 0;
        while (k < n && !(pkg[k] == pid && core[k] == cid))
            k++;
        if (k == n) {
            pkg[n] = pid;
            core[n] = cid;
            speed[n] = sp;
            n++;
        }
        if (sp > top) top = sp;
    }
    info.n_physical = n > 0 ? EL_MIN(n, info.n_logical) : info.n_logical;
    info.n_perf = info.n_physical;
    if (n > 0 && have_speed && top > 0) {
        /* the fastest class: within 15% of the top (turbo-favoured cores differ by a few %,
         * little cores by 25% or more) */
        int fast = 0;
        for (int k = 0; k < n; k++)
            if (speed[k] * 100 >= top * 85) fast++;
        info.n_perf = EL_MAX(1, EL_MIN(fast, info.n_physical));
    }
}

static int apply_features(const char *spec, char *err, size_t errlen);

static void detect(void) {
    info.arch = "other";
    info.detected = EL_CPU_SCALAR;
#if EL_X86
    detect_x86();
#elif EL_ARM64
    detect_arm64();
#endif
    count_cores();
    apply_cap();
    const char *env = getenv("EL_CPU_FEATURES");
    if (env && *env) {
        char err[160];
        if (apply_features(env, err, sizeof err) != 0) el_log(EL_LOG_ERROR, "%s", err);
    }
}

const el_cpu_info *el_cpu_get(void) {
    pthread_once(&once, detect);
    return &info;
}

/* The two setters without el_cpu_get(), so detect() (inside pthread_once) can use them. */
static int set_cap(el_cpu_level max) {
    if (rank(max) < 0) return -1;
    cap = max;
    apply_cap();
    return 0;
}

static int apply_features(const char *spec, char *err, size_t errlen) {
    int l = el_cpu_parse_level(spec);
    if (l < 0)
        return el_errf(err, errlen,
                       "EL_CPU_FEATURES=%.40s: unknown level (scalar|avx2|avx512|neon|dotprod|"
                       "i8mm); ignored",
                       spec ? spec : "");
    if (set_cap((el_cpu_level)l) != 0)
        return el_errf(err, errlen, "EL_CPU_FEATURES=%s: not a level of %s; ignored",
                       level_names[l], info.arch);
    return 0;
}

int el_cpu_set_max_level(el_cpu_level max) {
    el_cpu_get();
    return set_cap(max);
}

int el_cpu_apply_features(const char *spec, char *err, size_t errlen) {
    el_cpu_get();
    return apply_features(spec, err, errlen);
}

int el_cpu_describe(char *buf, size_t n) {
    const el_cpu_info *ci = el_cpu_get();
    const struct {
        bool on;
        const char *name;
    } f[] = {
        {ci->sse3, "sse3"},
        {ci->ssse3, "ssse3"},
        {ci->avx, "avx"},
        {ci->avx2, "avx2"},
        {ci->fma, "fma"},
        {ci->f16c, "f16c"},
        {ci->avx_vnni, "avx_vnni"},
        {ci->avx512f, "avx512f"},
        {ci->avx512bw, "avx512bw"},
        {ci->avx512vl, "avx512vl"},
        {ci->avx512dq, "avx512dq"},
        {ci->avx512_vnni, "avx512_vnni"},
        {ci->avx512_bf16, "avx512_bf16"},
        {ci->neon, "neon"},
        {ci->dotprod, "dotprod"},
        {ci->fp16, "fp16"},
        {ci->i8mm, "i8mm"},
        {ci->bf16, "bf16"},
        {ci->sve, "sve"},
    };
    char feat[256] = "";
    size_t at = 0;
    for (size_t i = 0; i < EL_ARRAY_LEN(f); i++) {
        if (!f[i].on) continue;
        int k = snprintf(feat + at, sizeof feat - at, "%s%s", at ? " " : "", f[i].name);
        if (k < 0 || (size_t)k >= sizeof feat - at) break;
        at += (size_t)k;
    }
    char cores[96];
    if (ci->n_perf < ci->n_physical)
        snprintf(cores, sizeof cores, "%d cores (%d fast), %d threads", ci->n_physical, ci->n_perf,
                 ci->n_logical);
    else
        snprintf(cores, sizeof cores, "%d cores, %d threads", ci->n_physical, ci->n_logical);
    return snprintf(buf, n, "%s%s%s: %s | level %s (detected %s) | %s", ci->arch,
                    ci->model[0] ? " " : "", ci->model, at ? feat : "no SIMD features",
                    el_cpu_level_name(ci->level), el_cpu_level_name(ci->detected), cores);
}
