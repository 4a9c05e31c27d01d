/* kernels/arm/quants_i8mm.c — i8mm kernels (none yet: this level runs the level below). */
#include "kernels/dispatch.h"

void el_kernels_fill_i8mm(el_quant_kernels *k) {
    (void)k;
}
