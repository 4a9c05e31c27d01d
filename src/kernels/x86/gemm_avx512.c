/* kernels/x86/gemm_avx512.c — the AVX-512 level's tile kernels: gemm_ymm.inc compiled with
 * AVX512-VNNI (+VL), so each step of four int8 products per lane is one vpdpbusd, and with
 * 32 ymm registers for the accumulators of wider tiles.
 *
 * What it owns: prefill's matrix products on x86 with AVX-512 (Zen 4, Sapphire Rapids).
 * Tile sizes were chosen by measurement (bench/gemm.c); see the fill function. Nothing
 * allocates.
 */
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "kernels/dispatch.h"
#include "kernels/quants.h"
#include "kernels/x86/x86_simd.h"

#include "kernels/x86/gemm_ymm.inc"

GEMM_ENTRY(gemm_q4_0, tile_q4_0, 8)
GEMM_ENTRY(gemm_q8_0, tile_q8_0, 8)

void el_kernels_fill_gemm_avx512(el_gemm_kernel *g) {
    g[EL_TYPE_Q4_0] = (el_gemm_kernel){gemm_q4_0, GEMM_MR, 8};
    g[EL_TYPE_Q8_0] = (el_gemm_kernel){gemm_q8_0, GEMM_MR, 8};
}
