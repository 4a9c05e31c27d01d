/* kernels/x86/quants_avx512.c — AVX-512 kernels (placeholder while measuring). */
#include "kernels/dispatch.h"

void el_kernels_fill_avx512(el_quant_kernels *k) {
    (void)k;
}
