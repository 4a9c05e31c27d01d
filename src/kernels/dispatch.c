/* kernels/dispatch.c — builds, once, the kernel table of every level of this architecture
 * (reference kernels with each level's SIMD variants laid over those of the level below) and
 * points the traits table at the level el_cpu_get() reports.
 *
 * This file is the only place that knows which ISA files exist: the #if per architecture
 * below picks the fill functions the Makefile compiled (src/kernels/x86/ on x86-64,
 * src/kernels/arm/ on aarch64). Nothing else in the tree tests ISA macros.
 *
 * Memory: static tables (vec_dot, 2x2, tile and packed-tile kernels), levels x EL_TYPE_COUNT
 * entries (a few KiB), written once under pthread_once and read-only afterwards, so lookups need no
 * lock. The traits pointers are written once, inside types.c's own pthread_once.
 */
#include "kernels/dispatch.h"

#include <pthread.h>
#include <string.h>

#include "core/core.h"
#include "kernels/cpu.h"

/* The chain of this architecture, lowest first, and the fill function of each level. */
typedef void (*fill_fn)(el_quant_kernels *k);
typedef void (*fill2_fn)(el_vec_dot_2x2_fn *d);
typedef void (*fillg_fn)(el_gemm_kernel *g);
typedef void (*fillp_fn)(el_packed_kernels *p);
typedef struct {
    el_cpu_level level;
    fill_fn fill;   /* NULL for scalar */
    fill2_fn fill2; /* 2x2 kernels, NULL where the level has none */
    fillg_fn fillg; /* tile kernels, NULL where the level has none */
    fillp_fn fillp; /* packed-layout tiles, NULL where the level has none */
} chain_entry;

static const chain_entry chain[] = {
    {EL_CPU_SCALAR, NULL, NULL, NULL, NULL},
#if defined(__x86_64__)
    {EL_CPU_AVX2, el_kernels_fill_avx2, NULL, el_kernels_fill_gemm_avx2,
     el_kernels_fill_packed_avx2},
    {EL_CPU_AVX512, el_kernels_fill_avx512, NULL, el_kernels_fill_gemm_avx512,
     el_kernels_fill_packed_avx512},
#elif defined(__aarch64__)
    {EL_CPU_NEON, el_kernels_fill_neon, NULL, el_kernels_fill_gemm_neon, NULL},
    {EL_CPU_DOTPROD, el_kernels_fill_dotprod, NULL, el_kernels_fill_gemm_dotprod, NULL},
    {EL_CPU_I8MM, el_kernels_fill_i8mm, el_kernels_fill_2x2_i8mm, el_kernels_fill_gemm_i8mm, NULL},
#endif
};
#define N_CHAIN ((int)(sizeof chain / sizeof chain[0]))

static el_quant_kernels tables[N_CHAIN][EL_TYPE_COUNT];
static el_vec_dot_2x2_fn tables2[N_CHAIN][EL_TYPE_COUNT]; /* level 0: all NULL */
static el_gemm_kernel tablesg[N_CHAIN][EL_TYPE_COUNT];    /* level 0: all NULL */
static el_packed_kernels tablesp[N_CHAIN][EL_TYPE_COUNT]; /* level 0: all NULL */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static int active = 0; /* chain index traits point at */

static void build_tables(void) {
    for (int t = 0; t < EL_TYPE_COUNT; t++)
        tables[0][t] = *el_quants_ref(t);
    for (int c = 1; c < N_CHAIN; c++) {
        memcpy(tables[c], tables[c - 1], sizeof tables[c]);
        chain[c].fill(tables[c]);
        memcpy(tables2[c], tables2[c - 1], sizeof tables2[c]);
        if (chain[c].fill2) chain[c].fill2(tables2[c]);
        memcpy(tablesg[c], tablesg[c - 1], sizeof tablesg[c]);
        if (chain[c].fillg) chain[c].fillg(tablesg[c]);
        memcpy(tablesp[c], tablesp[c - 1], sizeof tablesp[c]);
        if (chain[c].fillp) chain[c].fillp(tablesp[c]);
    }
}

static int chain_index(int level) {
    for (int c = 0; c < N_CHAIN; c++)
        if ((int)chain[c].level == level) return c;
    return -1;
}

const el_quant_kernels *el_kernels_for_level(int level, int t) {
    const int c = chain_index(level);
    if (c < 0 || t < 0 || t >= EL_TYPE_COUNT) return NULL;
    pthread_once(&tables_once, build_tables);
    return &tables[c][t];
}

el_vec_dot_2x2_fn el_kernels_vec_dot_2x2(int level, int t) {
    const int c = chain_index(level);
    if (c < 0 || t < 0 || t >= EL_TYPE_COUNT) return NULL;
    pthread_once(&tables_once, build_tables);
    return tables2[c][t];
}

const el_gemm_kernel *el_kernels_gemm(int level, int t) {
    const int c = chain_index(level);
    if (c < 0 || t < 0 || t >= EL_TYPE_COUNT) return NULL;
    pthread_once(&tables_once, build_tables);
    return &tablesg[c][t];
}

const el_packed_kernels *el_kernels_packed(int level, int t) {
    const int c = chain_index(level);
    if (c < 0 || t < 0 || t >= EL_TYPE_COUNT) return NULL;
    pthread_once(&tables_once, build_tables);
    return &tablesp[c][t];
}

bool el_kernels_packs(int level, int t) {
    const el_packed_kernels *pk = el_kernels_packed(level, t);
    return pk && pk->gemv.gemm && pk->gemm.gemm;
}

bool el_kernels_level_available(int level) {
    const int c = chain_index(level);
    if (c < 0) return false;
    /* the chain is ordered, and cpu.c's `detected` is the best level the hardware runs */
    return c <= chain_index(el_cpu_get()->detected);
}

int el_kernels_levels(int *out, int cap) {
    for (int c = 0; c < N_CHAIN && c < cap; c++)
        out[c] = chain[c].level;
    return N_CHAIN;
}

const char *el_kernels_level_name(int level) {
    return chain_index(level) >= 0 ? el_cpu_level_name((el_cpu_level)level) : "?";
}

int el_kernels_active_level(void) {
    el_type_traits(EL_TYPE_F32); /* runs the dispatch if nothing has yet (and orders the read) */
    return chain[active].level;
}

void el_kernels_dispatch(el_type_info *traits) {
    int c = chain_index(el_cpu_get()->level);
    if (c < 0) c = 0; /* a level of another architecture cannot be reported, but be safe */
    pthread_once(&tables_once, build_tables);
    for (int t = 0; t < EL_TYPE_COUNT; t++) {
        if (!traits[t].name) continue;
        traits[t].to_float = tables[c][t].to_float;
        traits[t].from_float = tables[c][t].from_float;
        traits[t].vec_dot = tables[c][t].vec_dot;
    }
    active = c;
    el_log(EL_LOG_DEBUG, "kernels: %s", el_kernels_level_name(chain[c].level));
}
