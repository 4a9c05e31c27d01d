/* kernels/arm/gemm_dotprod.c — the dotprod level's tile kernels: gemm_neon.inc compiled with
 * +dotprod, where each step of 4 rows x 4 int8 is one `sdot` by element (vdotq_laneq_s32):
 * 16 multiply-adds per instruction, with the activation group picked from a register.
 *
 * What it owns: prefill's matrix products on the boards edgellm is built for (Cortex-A55/A76:
 * RK3588, Raspberry Pi 5). Speed could not be measured where this was written (qemu); per
 * 8 rows x 1 column x 32 elements a tile spends 16 sdot plus ~6 scale instructions and shares
 * the unpacking across the columns, where vec_dot spends 16 sdot plus 8 x (unpack + scale), so
 * every type is registered. The i8mm level inherits these and replaces q4_0 / q8_0. Nothing
 * allocates.
 */
#include <arm_neon.h>
#include <stddef.h>
#include <string.h>

#include "kernels/arm/arm_simd.h"
#include "kernels/dispatch.h"
#include "kernels/quants.h"

#if !defined(__ARM_FEATURE_DOTPROD)
#error "gemm_dotprod.c needs -march=armv8.2-a+dotprod (the Makefile's ISA_dotprod)"
#endif

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

void el_kernels_fill_gemm_dotprod(el_gemm_kernel *g) {
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
