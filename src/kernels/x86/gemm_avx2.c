/* kernels/x86/gemm_avx2.c — the AVX2 level's tile kernels: gemm_ymm.inc compiled with
 * -mavx2 -mfma -mf16c, int8 products through vpmaddubsw (16 ymm registers, so narrower tiles
 * than the AVX-512 level).
 *
 * What it owns: prefill's matrix products on x86 without AVX-512. Tile sizes were chosen by
 * measurement (bench/gemm.c, EL_CPU_FEATURES=avx2); see the fill function. Nothing allocates.
 */
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/quants.h"
#include "kernels/x86/x86_simd.h"

#include "kernels/x86/gemm_ymm.inc"

GEMM_ENTRY(gemm_q4_0, tile_q4_0, 4)
GEMM_ENTRY(gemm_q8_0, tile_q8_0, 4)

void el_kernels_fill_gemm_avx2(el_gemm_kernel *g) {
    g[EL_TYPE_Q4_0] = (el_gemm_kernel){gemm_q4_0, GEMM_MR, 4};
    g[EL_TYPE_Q8_0] = (el_gemm_kernel){gemm_q8_0, GEMM_MR, 4};
}
