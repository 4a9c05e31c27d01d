/* kernels/x86/quants_avx2.c — the AVX2 + FMA + F16C level: every 256-bit kernel of
 * quants_ymm.inc, compiled with -mavx2 -mfma -mf16c (Haswell / Zen 1 and later).
 *
 * What it owns: the fast path of decode on x86 mini-PCs without AVX-512. Every kernel of the
 * template is registered here (each beats the scalar reference by 3x to 40x, see
 * bench/kernels.c); quants_ymm.inc says what they compute and how.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/quants.h"
#include "kernels/x86/x86_simd.h"

#include "kernels/x86/quants_ymm.inc"

/* ======================================================================================== */

void el_kernels_fill_avx2(el_quant_kernels *k) {
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
