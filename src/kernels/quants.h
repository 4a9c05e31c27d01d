/* kernels/quants.h — block layouts (llama.cpp's, bit for bit) and the scalar reference
 * kernels: dequantize, quantize, and dot products against 8-bit activations. */
#ifndef EL_QUANTS_H
#define EL_QUANTS_H

#include "kernels/types.h"

/* Fills the reference kernel pointers of the traits table (called once by types.c). */
void el_quants_register(el_type_info *traits);

#endif
