/* kernels/arm/quants_neon.c — neon kernels (none yet: this level runs the level below). */
#include "kernels/dispatch.h"

void el_kernels_fill_neon(el_quant_kernels *k) {
    (void)k;
}
