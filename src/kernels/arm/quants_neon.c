/* kernels/arm/quants_neon.c — the baseline aarch64 level (ARMv8-A Advanced SIMD, every
 * 64-bit ARM core): every kernel of quants_neon.inc, with int8 dot products done as widening
 * multiplies (smull) and pairwise accumulation (sadalp).
 *
 * What it owns: the fallback for cores without the dot-product extension (Cortex-A53/A72:
 * Raspberry Pi 3/4). quants_neon.inc says what the kernels compute and how. Speed could not be
 * measured where this was written (aarch64 runs under qemu there, whose timing means
 * nothing); the kernels replace per-element scalar code with 16-lane vector code throughout,
 * so every one is registered.
 */
#include <arm_neon.h>
#include <string.h>

#include "kernels/arm/arm_simd.h"
#include "kernels/dispatch.h"
#include "kernels/quants.h"

#include "kernels/arm/quants_neon.inc"

void el_kernels_fill_neon(el_quant_kernels *k) {
    k[EL_TYPE_F32].vec_dot = dot_f32;
    k[EL_TYPE_F16].vec_dot = dot_f16;
    k[EL_TYPE_F16].to_float = to_float_f16;
    k[EL_TYPE_F16].from_float = from_float_f16;
    k[EL_TYPE_BF16].vec_dot = dot_bf16;
    k[EL_TYPE_BF16].to_float = to_float_bf16;
    k[EL_TYPE_BF16].from_float = from_float_bf16;
    k[EL_TYPE_Q4_0].vec_dot = dot_q4_0_q8_0;
    k[EL_TYPE_Q4_1].vec_dot = dot_q4_1_q8_1;
    k[EL_TYPE_Q5_0].vec_dot = dot_q5_0_q8_0;
    k[EL_TYPE_Q5_1].vec_dot = dot_q5_1_q8_1;
    k[EL_TYPE_Q8_0].vec_dot = dot_q8_0_q8_0;
    k[EL_TYPE_Q8_0].from_float = from_float_q8_0;
    k[EL_TYPE_Q8_1].from_float = from_float_q8_1;
    k[EL_TYPE_Q8_K].from_float = from_float_q8_K;
    k[EL_TYPE_IQ4_NL].vec_dot = dot_iq4_nl_q8_0;
    k[EL_TYPE_Q2_K].vec_dot = dot_q2_K_q8_K;
    k[EL_TYPE_Q3_K].vec_dot = dot_q3_K_q8_K;
    k[EL_TYPE_Q4_K].vec_dot = dot_q4_K_q8_K;
    k[EL_TYPE_Q5_K].vec_dot = dot_q5_K_q8_K;
    k[EL_TYPE_Q6_K].vec_dot = dot_q6_K_q8_K;
    k[EL_TYPE_IQ4_XS].vec_dot = dot_iq4_xs_q8_K;
}
