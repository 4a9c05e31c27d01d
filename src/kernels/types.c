/* kernels/types.c — the per-type traits table: names and block geometry for every ggml type
 * id (so `info` can size any tensor, even of a type we cannot compute), and the reference
 * kernels where implemented (quants.c). Geometry is pinned against the block structs by
 * static asserts in quants.h. */
#include "kernels/types.h"

#include <pthread.h>
#include <strings.h>

#include "kernels/dispatch.h"
#include "kernels/quants.h"

/* clang-format off */
static el_type_info traits[EL_TYPE_COUNT] = {
    [EL_TYPE_F32]     = {"f32",     1,   4,   false, EL_TYPE_F32,  0, 0, 0},
    [EL_TYPE_F16]     = {"f16",     1,   2,   false, EL_TYPE_F16,  0, 0, 0},
    [EL_TYPE_BF16]    = {"bf16",    1,   2,   false, EL_TYPE_BF16, 0, 0, 0},
    [EL_TYPE_Q4_0]    = {"q4_0",    32,  18,  true,  EL_TYPE_Q8_0, 0, 0, 0},
    [EL_TYPE_Q4_1]    = {"q4_1",    32,  20,  true,  EL_TYPE_Q8_1, 0, 0, 0},
    [EL_TYPE_Q5_0]    = {"q5_0",    32,  22,  true,  EL_TYPE_Q8_0, 0, 0, 0},
    [EL_TYPE_Q5_1]    = {"q5_1",    32,  24,  true,  EL_TYPE_Q8_1, 0, 0, 0},
    [EL_TYPE_Q8_0]    = {"q8_0",    32,  34,  true,  EL_TYPE_Q8_0, 0, 0, 0},
    [EL_TYPE_Q8_1]    = {"q8_1",    32,  36,  true,  EL_TYPE_Q8_1, 0, 0, 0},
    [EL_TYPE_Q2_K]    = {"q2_K",    256, 84,  true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_Q3_K]    = {"q3_K",    256, 110, true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_Q4_K]    = {"q4_K",    256, 144, true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_Q5_K]    = {"q5_K",    256, 176, true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_Q6_K]    = {"q6_K",    256, 210, true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_Q8_K]    = {"q8_K",    256, 292, true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_IQ2_XXS] = {"iq2_xxs", 256, 66,  true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_IQ2_XS]  = {"iq2_xs",  256, 74,  true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_IQ3_XXS] = {"iq3_xxs", 256, 98,  true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_IQ1_S]   = {"iq1_s",   256, 50,  true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_IQ4_NL]  = {"iq4_nl",  32,  18,  true,  EL_TYPE_Q8_0, 0, 0, 0},
    [EL_TYPE_IQ3_S]   = {"iq3_s",   256, 110, true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_IQ2_S]   = {"iq2_s",   256, 82,  true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_IQ4_XS]  = {"iq4_xs",  256, 136, true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_I8]      = {"i8",      1,   1,   false, EL_TYPE_I8,   0, 0, 0},
    [EL_TYPE_I16]     = {"i16",     1,   2,   false, EL_TYPE_I16,  0, 0, 0},
    [EL_TYPE_I32]     = {"i32",     1,   4,   false, EL_TYPE_I32,  0, 0, 0},
    [EL_TYPE_I64]     = {"i64",     1,   8,   false, EL_TYPE_I64,  0, 0, 0},
    [EL_TYPE_F64]     = {"f64",     1,   8,   false, EL_TYPE_F64,  0, 0, 0},
    [EL_TYPE_IQ1_M]   = {"iq1_m",   256, 56,  true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_TQ1_0]   = {"tq1_0",   256, 54,  true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_TQ2_0]   = {"tq2_0",   256, 66,  true,  EL_TYPE_Q8_K, 0, 0, 0},
    [EL_TYPE_MXFP4]   = {"mxfp4",   32,  17,  true,  EL_TYPE_Q8_0, 0, 0, 0},
};
/* clang-format on */

static pthread_once_t traits_once = PTHREAD_ONCE_INIT;

static void traits_init(void) {
    el_quants_register(traits);
    el_kernels_dispatch(traits); /* SIMD variants for this CPU over the reference kernels */
}

const el_type_info *el_type_traits(int t) {
    if (t < 0 || t >= EL_TYPE_COUNT || !traits[t].name) return NULL;
    pthread_once(&traits_once, traits_init);
    return &traits[t];
}

int el_type_from_name(const char *name) {
    for (int t = 0; t < EL_TYPE_COUNT; t++)
        if (traits[t].name && !strcasecmp(traits[t].name, name)) return t;
    return -1;
}

size_t el_row_size(int t, int64_t n) {
    const el_type_info *ti = el_type_traits(t);
    if (!ti || n < 0 || n % ti->blck_size) return 0;
    return (size_t)(n / ti->blck_size) * ti->type_size;
}
