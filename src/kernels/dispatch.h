/* kernels/dispatch.h — which kernels run: the scalar reference (quants.c) or a SIMD variant
 * for the CPU we are on, chosen once at start-up.
 *
 * Kernel levels are kernels/cpu.h's EL_CPU_* levels. They form one chain per architecture,
 * each level a superset of the one below it:
 *   x86-64:  scalar < avx2 (AVX2+FMA+F16C) < avx512 (F/BW/VL/DQ + VNNI + BF16)
 *   aarch64: scalar < neon < dotprod (+fp16) < i8mm
 * The kernels of a level are the ones of the level below with the level's own variants laid
 * over them, so a level only carries the kernels that beat the level below (measured with
 * bench/kernels.c); everything else falls through to the reference.
 *
 * Every SIMD kernel computes the same integer sums as the reference, in another float order:
 * vec_dot differs from the reference by float rounding only; the activation quantizers
 * (from_float of Q8_0, Q8_1, Q8_K, F16, BF16) write the reference's bytes exactly for finite
 * input (tests/unit/test_kernels.c checks both). Inputs the reference never produces are
 * outside that promise: int8 quants of -128 in Q8_0 weights or in activations (the x86
 * kernels that move a sign onto the other operand — q8_0, iq4_nl, iq4_xs — negate them as
 * 8-bit values; the ARM kernels are exact for any int8) and non-finite floats given to a
 * quantizer (the output is deterministic and the kernel safe, but may differ from the
 * reference's bytes).
 *
 * The choice is made once, at the first el_type_traits() call. EL_CPU_FEATURES is read right
 * then (first el_cpu_get); a flag that calls el_cpu_set_max_level() must run before it.
 */
#ifndef EL_DISPATCH_H
#define EL_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/quants.h"
#include "kernels/types.h"

/* Replaces traits[t]'s to_float / from_float / vec_dot with the kernels of the level
 * el_cpu_get() reports (which EL_CPU_FEATURES or el_cpu_set_max_level may have lowered).
 * Called once by types.c's traits init, inside its pthread_once: it must not (and does not)
 * call el_type_traits. */
void el_kernels_dispatch(el_type_info *traits);

/* The kernels of type t at `level` (an EL_CPU_* value): the level's variants over the
 * reference. NULL when t is not a known type id or level is not a level of this build's
 * architecture. Whether the machine can run them is el_kernels_level_available's business:
 * calling a kernel of an unavailable level raises SIGILL. */
const el_quant_kernels *el_kernels_for_level(int level, int t);

/* True when this machine can execute the kernels of `level` (hardware and OS support,
 * ignoring any forced cap). The scalar level is always available. */
bool el_kernels_level_available(int level);

/* The levels of this architecture's chain, lowest (scalar) first: writes up to cap of them
 * into out and returns how many there are. */
int el_kernels_levels(int *out, int cap);

/* Short name of a level ("scalar", "avx2", ...), "?" for a value that is not a level. */
const char *el_kernels_level_name(int level);

/* The level the traits table points at (runs the dispatch first if it has not run). */
int el_kernels_active_level(void);

/* ---- two weight rows x two activation rows (ARM i8mm) ------------------------------------
 * s[0] = x0.y0, s[1] = x1.y0, s[2] = x0.y1, s[3] = x1.y1 over n elements, where x1 = x0 + bx
 * bytes (the next weight row) and y1 = y0 + by bytes (the next activation row, in the
 * weight type's vec_dot_type). A matmul with two or more activation rows (prefill) can cover
 * 2x2 tiles with it; vmmlaq_s32 computes such a tile of int8 dot products in one
 * instruction, twice the work of an sdot. With one activation row (decode) half of it would
 * be wasted, so single-row vec_dot has no i8mm variant. Same error contract as vec_dot. */
typedef void (*el_vec_dot_2x2_fn)(int n, float *s, const void *x, size_t bx, const void *y,
                                  size_t by);

/* The 2x2 kernel of type t at `level`, NULL where there is none (today: q8_0 and q4_0 at the
 * i8mm level). A caller uses el_kernels_vec_dot_2x2(el_kernels_active_level(), t). */
el_vec_dot_2x2_fn el_kernels_vec_dot_2x2(int level, int t);

/* ---- tiles of a matrix product (prefill) -------------------------------------------------
 * s[c*bs + r] = dot(row r of x, column c of y) over n elements, for r < nr and c < nc: row r
 * of the weights (type t) starts r*bx bytes after x, column c of the activations (t's
 * vec_dot_type, one quantized token) c*by bytes after y, and bs is in floats. A matmul with
 * two or more activation rows (prefill) covers its output with such tiles: a tile kernel
 * unpacks each weight block once for all nc columns and loads each activation block once for
 * all nr rows, where vec_dot per (row, column) does both every time. Same error contract as
 * vec_dot (same integer sums, float accumulation in another order). 1 <= nr <= mr and
 * 1 <= nc <= nc_max of the kernel; n a multiple of the block size; rows and columns may be
 * anywhere (no alignment beyond the block structs'). Nothing allocates. */
typedef void (*el_gemm_fn)(int n, float *s, size_t bs, const void *x, size_t bx, int nr,
                           const void *y, size_t by, int nc);

typedef struct el_gemm_kernel {
    el_gemm_fn gemm; /* NULL: no tile kernel at this level, use vec_dot per (row, column) */
    int mr;          /* largest nr it takes (its weight rows per pass) */
    int nc;          /* largest nc it takes */
} el_gemm_kernel;

/* The tile kernel of type t at `level` (the level's own or inherited from the level below,
 * never the scalar reference: gemm is NULL where the level has none). NULL only for a bad
 * level or t. */
const el_gemm_kernel *el_kernels_gemm(int level, int t);

/* The scalar reference tile of type t (loops over the reference vec_dot: ground truth for the
 * tests), NULL where t has no reference vec_dot. Takes any nr, nc >= 1. */
el_gemm_fn el_kernels_gemm_ref(int t);

/* ---- tiles over packed weights (kernels/repack.h) ---------------------------------------
 * The same tile contract as el_gemm_fn, over a matrix repacked by groups of EL_REPACK_ROWS
 * rows: x points at the group holding the tile's first row (tiles start at multiples of
 * the group size), bx is the group stride in bytes (el_repack_group_bytes), and rows
 * continue into the next groups (mr may span two). Reads at most the groups covering the
 * tile's nr rows. Decode (one activation row) and prefill may want different tiles, so a
 * level gives both; either may be NULL. */
typedef struct el_packed_kernels {
    el_gemm_kernel gemv; /* for one activation row (decode): nc = 1 */
    el_gemm_kernel gemm; /* for a batch (prefill) */
} el_packed_kernels;

/* The packed-layout tiles of type t at `level` (its own or inherited); NULL only for a bad
 * level or t, entries with gemm == NULL where there are none. A loader repacks a matrix only
 * when the active level has them (el_kernels_packed(el_kernels_active_level(), t)). */
const el_packed_kernels *el_kernels_packed(int level, int t);

/* True when matrices of type t are repacked at `level`: it has a packed layout
 * (kernels/repack.h) and both packed tiles there. The one rule the loader and `info` use. */
bool el_kernels_packs(int level, int t);

/* ---- for the ISA files only ---------------------------------------------------------------
 * Each fills the entries of k[EL_TYPE_COUNT] it has kernels for and leaves the others. The
 * table it receives already holds the level below, so a variant not worth having is simply
 * not set. Defined only on the architecture the file compiles for. */
void el_kernels_fill_avx2(el_quant_kernels *k);
void el_kernels_fill_avx512(el_quant_kernels *k);
void el_kernels_fill_neon(el_quant_kernels *k);
void el_kernels_fill_dotprod(el_quant_kernels *k);
void el_kernels_fill_i8mm(el_quant_kernels *k);
/* fills d[EL_TYPE_COUNT] (the table of the level below, so usually all NULL) */
void el_kernels_fill_2x2_i8mm(el_vec_dot_2x2_fn *d);
/* tile kernels: g[EL_TYPE_COUNT] holds the level below's (all NULL over scalar) */
void el_kernels_fill_gemm_avx2(el_gemm_kernel *g);
void el_kernels_fill_gemm_avx512(el_gemm_kernel *g);
void el_kernels_fill_gemm_neon(el_gemm_kernel *g);
void el_kernels_fill_gemm_dotprod(el_gemm_kernel *g);
void el_kernels_fill_gemm_i8mm(el_gemm_kernel *g);
/* packed-layout tiles: p[EL_TYPE_COUNT] holds the level below's */
void el_kernels_fill_packed_avx2(el_packed_kernels *p);
void el_kernels_fill_packed_avx512(el_packed_kernels *p);

#endif
