/* kernels/gemm.c — the scalar reference tile kernels (el_kernels_gemm_ref): a tile of a
 * matrix product computed as one reference vec_dot per (row, column).
 *
 * What it owns: the ground truth the SIMD tile kernels (kernels/x86/gemm_*.c,
 * kernels/arm/gemm_*.c) are tested against; it is not on any fast path (the scalar level has
 * no tile kernels, so matmul runs vec_dot there). The tile kernel signature carries no type,
 * hence one small wrapper per type around its reference dot product.
 *
 * Invariants: s[c*bs + r] for r < nr, c < nc, nothing else written. No state, no allocation.
 */
#include <stdint.h>

#include "kernels/dispatch.h"
#include "kernels/quants.h"

#define REF_TILE(name, dot)                                                                        \
    static void gemm_ref_##name(int n, float *s, size_t bs, const void *x, size_t bx, int nr,      \
                                const void *y, size_t by, int nc) {                                \
        for (int c = 0; c < nc; c++)                                                               \
            for (int r = 0; r < nr; r++)                                                           \
                dot(n, &s[(size_t)c * bs + (size_t)r], (const uint8_t *)x + (size_t)r * bx,        \
                    (const uint8_t *)y + (size_t)c * by);                                          \
    }

REF_TILE(f32, el_quants_vec_dot_f32)
REF_TILE(f16, el_quants_vec_dot_f16)
REF_TILE(bf16, el_quants_vec_dot_bf16)
REF_TILE(q4_0, el_quants_vec_dot_q4_0_q8_0)
REF_TILE(q4_1, el_quants_vec_dot_q4_1_q8_1)
REF_TILE(q5_0, el_quants_vec_dot_q5_0_q8_0)
REF_TILE(q5_1, el_quants_vec_dot_q5_1_q8_1)
REF_TILE(q8_0, el_quants_vec_dot_q8_0_q8_0)
REF_TILE(q2_K, el_quants_vec_dot_q2_K_q8_K)
REF_TILE(q3_K, el_quants_vec_dot_q3_K_q8_K)
REF_TILE(q4_K, el_quants_vec_dot_q4_K_q8_K)
REF_TILE(q5_K, el_quants_vec_dot_q5_K_q8_K)
REF_TILE(q6_K, el_quants_vec_dot_q6_K_q8_K)
REF_TILE(iq4_nl, el_quants_vec_dot_iq4_nl_q8_0)
REF_TILE(iq4_xs, el_quants_vec_dot_iq4_xs_q8_K)
REF_TILE(mxfp4, el_quants_vec_dot_mxfp4_q8_0)

el_gemm_fn el_kernels_gemm_ref(int t) {
    switch (t) {
    case EL_TYPE_F32:
        return gemm_ref_f32;
    case EL_TYPE_F16:
        return gemm_ref_f16;
    case EL_TYPE_BF16:
        return gemm_ref_bf16;
    case EL_TYPE_Q4_0:
        return gemm_ref_q4_0;
    case EL_TYPE_Q4_1:
        return gemm_ref_q4_1;
    case EL_TYPE_Q5_0:
        return gemm_ref_q5_0;
    case EL_TYPE_Q5_1:
        return gemm_ref_q5_1;
    case EL_TYPE_Q8_0:
        return gemm_ref_q8_0;
    case EL_TYPE_Q2_K:
        return gemm_ref_q2_K;
    case EL_TYPE_Q3_K:
        return gemm_ref_q3_K;
    case EL_TYPE_Q4_K:
        return gemm_ref_q4_K;
    case EL_TYPE_Q5_K:
        return gemm_ref_q5_K;
    case EL_TYPE_Q6_K:
        return gemm_ref_q6_K;
    case EL_TYPE_IQ4_NL:
        return gemm_ref_iq4_nl;
    case EL_TYPE_IQ4_XS:
        return gemm_ref_iq4_xs;
    case EL_TYPE_MXFP4:
        return gemm_ref_mxfp4;
    default:
        return NULL;
    }
}
