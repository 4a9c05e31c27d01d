/* kernels/arm/gemm_neon.c — the NEON level's tile kernels: gemm_neon.inc compiled for plain
 * ARMv8-A, where each step of 4 rows x 4 int8 is a dup, two widening multiplies and two
 * pairwise adds (no sdot).
 *
 * What it owns: prefill's matrix products on cores without the dot-product extension
 * (Cortex-A53/A72: Raspberry Pi 3/4). Speed could not be measured where this was written
 * (qemu); per 32 multiply-adds a tile step costs ~9 instructions where vec_dot per (row,
 * column) costs ~16 (its unpacking and scaling are not shared), so every type is registered.
 * Nothing allocates.
 */
#include <arm_neon.h>
#include <stddef.h>
#include <string.h>

#include "kernels/arm/arm_simd.h"
#include "kernels/dispatch.h"
#include "kernels/quants.h"

#include "kernels/arm/gemm_neon.inc"

#define NC32 4 /* 32-element block types */
#define NCK 4  /* K-quants */
#define NCF 4  /* f16 */

GEMM_ENTRY(gemm_q4_0, tile_b32, EL_TYPE_Q4_0, NC32)
GEMM_ENTRY(gemm_q5_0, tile_b32, EL_TYPE_Q5_0, NC32)
GEMM_ENTRY(gemm_q8_0, tile_b32, EL_TYPE_Q8_0, NC32)
GEMM_ENTRY(gemm_iq4_nl, tile_b32, EL_TYPE_IQ4_NL, NC32)
GEMM_ENTRY(gemm_q4_1, tile_b32, EL_TYPE_Q4_1, NC32)
GEMM_ENTRY(gemm_q5_1, tile_b32, EL_TYPE_Q5_1, NC32)
GEMM_ENTRY(gemm_q4_K, tile_kq, EL_TYPE_Q4_K, NCK)
GEMM_ENTRY(gemm_q5_K, tile_kq, EL_TYPE_Q5_K, NCK)
GEMM_ENTRY(gemm_q6_K, tile_kq, EL_TYPE_Q6_K, NCK)
GEMM_ENTRY(gemm_f16, tile_f16, EL_TYPE_F16, NCF)

void el_kernels_fill_gemm_neon(el_gemm_kernel *g) {
    g[EL_TYPE_Q4_0] = (el_gemm_kernel){gemm_q4_0, GEMM_MR, NC32};
    g[EL_TYPE_Q5_0] = (el_gemm_kernel){gemm_q5_0, GEMM_MR, NC32};
    g[EL_TYPE_Q8_0] = (el_gemm_kernel){gemm_q8_0, GEMM_MR, NC32};
    g[EL_TYPE_IQ4_NL] = (el_gemm_kernel){gemm_iq4_nl, GEMM_MR, NC32};
    g[EL_TYPE_Q4_1] = (el_gemm_kernel){gemm_q4_1, GEMM_MR, NC32};
    g[EL_TYPE_Q5_1] = (el_gemm_kernel){gemm_q5_1, GEMM_MR, NC32};
    g[EL_TYPE_Q4_K] = (el_gemm_kernel){gemm_q4_K, GEMM_MR, NCK};
    g[EL_TYPE_Q5_K] = (el_gemm_kernel){gemm_q5_K, GEMM_MR, NCK};
    g[EL_TYPE_Q6_K] = (el_gemm_kernel){gemm_q6_K, GEMM_MR, NCK};
    g[EL_TYPE_F16] = (el_gemm_kernel){gemm_f16, GEMM_F16_MR, NCF};
}
