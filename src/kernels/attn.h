/* kernels/attn.h — attention of one query head over a run of cached positions, per KV
 * storage type and CPU level: the inner loop of decode at depth, where a step reads every
 * cached key and value once (at 4096 tokens of context that is ~15% of a 0.5B model's bytes
 * per token, so it must stream at memory speed like the weight kernels).
 *
 * One call serves n_q query heads that share one KV head (grouped-query attention), so each
 * cached row is read once for the whole group: for every query g,
 *   out[g] = softmax(scale * q[g] . K[0..n)) V[0..n)
 * computed as an online softmax over blocks of positions (no n-sized score buffer), K and V
 * rows `stride` bytes apart, each of the cache's element type. Scalar code is the
 * reference; SIMD variants (x86/attn_avx2.c, arm/attn_neon.c) are chosen by the CPU level,
 * like the weight kernels, and compute exp with a polynomial (relative error < 2e-7).
 */
#ifndef EL_ATTN_H
#define EL_ATTN_H

#include <stddef.h>
#include <stdint.h>

/* q: (n_q, hd) floats; out: (n_q, hdv) floats; 1 <= n_q <= EL_ATTN_MAX_Q. */
typedef void (*el_attn_fn)(int hd, int hdv, int n_q, int n, const float *q, const uint8_t *k,
                           size_t k_stride, const uint8_t *v, size_t v_stride, float scale,
                           float *out);

/* The attention kernel for key type tk and value type tv (EL_TYPE_F32 / EL_TYPE_F16) at the
 * active CPU level; NULL for a pair without a kernel. hd, hdv <= EL_ATTN_MAX_HDV. */
el_attn_fn el_attn_get(int tk, int tv);
/* The same at a given el_cpu_level (tests); NULL when that level has no variant of its own. */
el_attn_fn el_attn_get_level(int level, int tk, int tv);

#define EL_ATTN_MAX_HDV 256 /* value head dim (models use 64..256) */
#define EL_ATTN_MAX_Q 8     /* query heads per call: larger groups take several calls */
#define EL_ATTN_BLOCK 64 /* positions per online-softmax block */

/* Per-ISA variants (defined in the ISA files only). */
el_attn_fn el_attn_avx2(int tk, int tv);
el_attn_fn el_attn_neon(int tk, int tv);

#endif
