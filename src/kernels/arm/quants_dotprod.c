/* kernels/arm/quants_dotprod.c — the dotprod level (ARMv8.2-A + dotprod + fp16: Cortex-A55,
 * A76 and later — RK3588, Raspberry Pi 5): quants_neon.inc compiled again, where each int8
 * dot product of 16 pairs is one sdot instead of two smull + two sadalp.
 *
 * What it owns: the decode kernels of the boards edgellm is built for. Only the kernels whose
 * inner loop is an int8 dot product are registered (they run a quarter of the multiply
 * instructions); the float kernels and the quantizers compile to the same instructions as on
 * the NEON level and stay there. Speed could not be measured where this was written (qemu).
 */
#include <arm_neon.h>
#include <string.h>

#include "kernels/arm/arm_simd.h"
#include "kernels/dispatch.h"
#include "kernels/quants.h"

#if !defined(__ARM_FEATURE_DOTPROD)
#error "quants_dotprod.c needs -march=armv8.2-a+dotprod (the Makefile's ISA_dotprod)"
#endif

#include "kernels/arm/quants_neon.inc"

void el_kernels_fill_dotprod(el_quant_kernels *k) {
    k[EL_TYPE_Q4_0].vec_dot = dot_q4_0_q8_0;
    k[EL_TYPE_Q4_1].vec_dot = dot_q4_1_q8_1;
    k[EL_TYPE_Q5_0].vec_dot = dot_q5_0_q8_0;
    k[EL_TYPE_Q5_1].vec_dot = dot_q5_1_q8_1;
    k[EL_TYPE_Q8_0].vec_dot = dot_q8_0_q8_0;
    k[EL_TYPE_IQ4_NL].vec_dot = dot_iq4_nl_q8_0;
    k[EL_TYPE_Q2_K].vec_dot = dot_q2_K_q8_K;
    k[EL_TYPE_Q3_K].vec_dot = dot_q3_K_q8_K;
    k[EL_TYPE_Q4_K].vec_dot = dot_q4_K_q8_K;
    k[EL_TYPE_Q5_K].vec_dot = dot_q5_K_q8_K;
    k[EL_TYPE_Q6_K].vec_dot = dot_q6_K_q8_K;
    k[EL_TYPE_IQ4_XS].vec_dot = dot_iq4_xs_q8_K;
}
