/* kernels/arm/gemm_neon.c — the neon level's tile kernels (el_gemm_fn, kernels/dispatch.h).
 *
 * What it owns: prefill's matrix products on aarch64 at this level. None yet: matmul runs
 * the level's vec_dot per (row, token) where a type has no tile kernel. Nothing allocates.
 */
#include "kernels/dispatch.h"

void el_kernels_fill_gemm_neon(el_gemm_kernel *g) {
    (void)g;
}
