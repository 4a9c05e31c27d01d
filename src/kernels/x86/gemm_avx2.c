/* kernels/x86/gemm_avx2.c — the AVX2 level's tile kernels: gemm_ymm.inc compiled with
 * -mavx2 -mfma -mf16c, int8 products through vpmaddubsw (16 ymm registers, so narrower tiles
 * than the AVX-512 level).
 *
 * What it owns: prefill's matrix products on x86 without AVX-512. Tiles are 8 rows x 6
 * columns: measured on Zen 4 running this level (bench/gemm.c --level avx2, 2048 x 2048 x 64
 * columns, GMAC/s), 8x4 -> 8x6 -> 8x8: q4_0 59 -> 64 -> 45 (spills), q5_0 49 -> 55 -> 58,
 * q8_0 43 -> 49 -> 51, q4_K 67 -> 76 -> 75, q6_K 58 -> 62 -> 64. A machine with only AVX2 may
 * prefer another width; measure there. Nothing allocates.
 */
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/quants.h"
#include "kernels/repack.h"
#include "kernels/x86/x86_simd.h"

#include "kernels/x86/gemm_ymm.inc"

#define NC32 6 /* 32-element block types */
#define NCK 6  /* K-quants */
#define NCF 2  /* f16 */

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
GEMM_PACKED_ENTRY(gemm_q4_0x8, tile_x8, EL_TYPE_Q4_0, NC32)
GEMM_PACKED_ENTRY(gemm_q5_0x8, tile_x8, EL_TYPE_Q5_0, NC32)
GEMM_PACKED_ENTRY(gemm_q8_0x8, tile_x8, EL_TYPE_Q8_0, NC32)

void el_kernels_fill_gemm_avx2(el_gemm_kernel *g) {
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

void el_kernels_fill_packed_avx2(el_packed_kernels *p) {
    p[EL_TYPE_Q4_0] = (el_packed_kernels){.gemv = {gemm_q4_0x8, GEMM_MR, 1},
                                          .gemm = {gemm_q4_0x8, GEMM_MR, NC32}};
    p[EL_TYPE_Q5_0] = (el_packed_kernels){.gemv = {gemm_q5_0x8, GEMM_MR, 1},
                                          .gemm = {gemm_q5_0x8, GEMM_MR, NC32}};
    p[EL_TYPE_Q8_0] = (el_packed_kernels){.gemv = {gemm_q8_0x8, GEMM_MR, 1},
                                          .gemm = {gemm_q8_0x8, GEMM_MR, NC32}};
}
