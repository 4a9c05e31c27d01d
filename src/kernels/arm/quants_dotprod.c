/* kernels/arm/quants_dotprod.c — dotprod kernels (none yet: this level runs the level below). */
#include "kernels/dispatch.h"

void el_kernels_fill_dotprod(el_quant_kernels *k) {
    (void)k;
}
