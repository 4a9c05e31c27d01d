/* kernels/quants.h — block layouts (llama.cpp's, bit for bit) and the scalar reference
 * kernels: dequantize (to_float), quantize (from_float) and dot products against the
 * activation type each weight type pairs with (vec_dot).
 *
 * A quantized row is an array of blocks; each block covers blck_size consecutive elements
 * (32 for the "legacy" types, 256 = EL_QK_K for the K-quants and IQ4_XS). The structs below
 * are the file bytes: GGUF is little-endian, and so is every host we build for (x86-64,
 * aarch64); a static assert keeps it that way. Multi-byte fields other than the fp16 scales
 * (q5 high bits, iq4_xs scales_h) are kept as byte arrays and assembled explicitly.
 *
 * Alignment: blocks with an fp16 field need 2-byte alignment, block_q8_K needs 4. GGUF tensor
 * data is 32-byte aligned and block sizes are even, so rows inside a mapped file always are;
 * callers with their own buffers must keep to it (malloc'd memory does).
 *
 * The scalar kernels here are the ground truth every SIMD kernel is tested against. The
 * quantizers reproduce ggml's quantize_row_*_ref bytes exactly (same rounding, same search),
 * which is what llama-quantize writes without an importance matrix; IQ4_NL and IQ4_XS
 * reproduce ggml's quantize_iq4_nl / quantize_iq4_xs (the search llama-quantize runs).
 */
#ifndef EL_QUANTS_H
#define EL_QUANTS_H

#include <stdint.h>

#include "kernels/types.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "edgellm's block structs mirror GGUF's little-endian bytes: big-endian hosts unsupported"
#endif

#define EL_QK4_0 32
#define EL_QK4_1 32
#define EL_QK5_0 32
#define EL_QK5_1 32
#define EL_QK8_0 32
#define EL_QK8_1 32
#define EL_QK4_NL 32
#define EL_QK_MXFP4 32
#define EL_QK_K 256        /* K-quant super-block */
#define EL_K_SCALE_SIZE 12 /* packed 6-bit scales + mins of q4_K / q5_K */

/* ---- 32-element blocks ------------------------------------------------------------------ */

/* x = d * (q - 8), q in 0..15. Element j in low nibble of qs[j], element j+16 in high. */
typedef struct {
    el_fp16 d;
    uint8_t qs[EL_QK4_0 / 2];
} el_block_q4_0;

/* x = d * q + m, q in 0..15. */
typedef struct {
    el_fp16 d;
    el_fp16 m;
    uint8_t qs[EL_QK4_1 / 2];
} el_block_q4_1;

/* x = d * (q - 16), q in 0..31: low 4 bits as q4_0, bit 4 of element j in bit j of qh
 * (qh read as a little-endian uint32). */
typedef struct {
    el_fp16 d;
    uint8_t qh[4];
    uint8_t qs[EL_QK5_0 / 2];
} el_block_q5_0;

/* x = d * q + m, q in 0..31, bits as q5_0. */
typedef struct {
    el_fp16 d;
    el_fp16 m;
    uint8_t qh[4];
    uint8_t qs[EL_QK5_1 / 2];
} el_block_q5_1;

/* x = d * q, q in -127..127. Also the activation type of q4_0/q5_0/q8_0/iq4_nl/mxfp4. */
typedef struct {
    el_fp16 d;
    int8_t qs[EL_QK8_0];
} el_block_q8_0;

/* Activation type of q4_1/q5_1: q8_0 plus s = d * sum(qs), so the min term of the weight
 * costs one multiply per block. */
typedef struct {
    el_fp16 d;
    el_fp16 s;
    int8_t qs[EL_QK8_1];
} el_block_q8_1;

/* Non-linear 4-bit: x = d * kvalues_iq4nl[q]. Nibble order as q4_0. */
typedef struct {
    el_fp16 d;
    uint8_t qs[EL_QK4_NL / 2];
} el_block_iq4_nl;

/* OCP microscaling fp4: x = 2^(e-128) * kvalues_mxfp4[q] (the table holds 2x the e2m1
 * values). Nibble order as q4_0. */
typedef struct {
    uint8_t e; /* E8M0 exponent */
    uint8_t qs[EL_QK_MXFP4 / 2];
} el_block_mxfp4;

/* ---- 256-element super-blocks ----------------------------------------------------------- */

/* 16 sub-blocks of 16: x = d * (scales[j] & 15) * q - dmin * (scales[j] >> 4), q in 0..3.
 * qs: per 128-element half, byte l holds elements l, l+32, l+64, l+96 (2 bits each). */
typedef struct {
    uint8_t scales[EL_QK_K / 16];
    uint8_t qs[EL_QK_K / 4];
    el_fp16 d;
    el_fp16 dmin;
} el_block_q2_K;

/* 16 sub-blocks of 16: x = d * (s_j - 32) * (q - 4), q in 0..7 = 2 low bits in qs (layout as
 * q2_K) + high bit in hmask (bit b of hmask[l] belongs to element 32*b + l). s_j are 6-bit,
 * packed: low nibbles in scales[0..7], high 2-bit pairs in scales[8..11]. */
typedef struct {
    uint8_t hmask[EL_QK_K / 8];
    uint8_t qs[EL_QK_K / 4];
    uint8_t scales[12];
    el_fp16 d;
} el_block_q3_K;

/* 8 sub-blocks of 32: x = d * sc_j * q - dmin * m_j, q in 0..15; sc_j, m_j 6-bit, packed in
 * scales[12] (see el_quants_scale_min_k4). qs: per 64 elements, 32 bytes, element l in the
 * low nibble of byte l and element l+32 in its high nibble. */
typedef struct {
    el_fp16 d;
    el_fp16 dmin;
    uint8_t scales[EL_K_SCALE_SIZE];
    uint8_t qs[EL_QK_K / 2];
} el_block_q4_K;

/* As q4_K with q in 0..31: bit 4 of element 64*i + l (l < 32) is bit 2i of qh[l], of element
 * 64*i + 32 + l bit 2i+1. */
typedef struct {
    el_fp16 d;
    el_fp16 dmin;
    uint8_t scales[EL_K_SCALE_SIZE];
    uint8_t qh[EL_QK_K / 8];
    uint8_t qs[EL_QK_K / 2];
} el_block_q5_K;

/* 16 sub-blocks of 16: x = d * scales[j] * (q - 32), q in 0..63. Per 128-element half:
 * ql[l] low nibble = element l, high = l+64; ql[l+32] low = l+32, high = l+96; qh[l] holds
 * the 2 high bits of elements l, l+32, l+64, l+96 at bits 0, 2, 4, 6. */
typedef struct {
    uint8_t ql[EL_QK_K / 2];
    uint8_t qh[EL_QK_K / 4];
    int8_t scales[EL_QK_K / 16];
    el_fp16 d;
} el_block_q6_K;

/* Activation type of the K-quants and IQ4_XS: x = d * q, with the sums of each 16 quants
 * precomputed (bsums) for the min terms. Not a storage format (d is fp32). */
typedef struct {
    float d;
    int8_t qs[EL_QK_K];
    int16_t bsums[EL_QK_K / 16];
} el_block_q8_K;

/* Non-linear 4-bit in super-blocks: 8 sub-blocks of 32, x = d * (ls_j - 32) *
 * kvalues_iq4nl[q]; ls_j 6-bit: low nibble in scales_l[j/2] (j odd: high nibble), high 2
 * bits at bits 2j..2j+1 of scales_h (little-endian uint16). qs as iq4_nl per sub-block. */
typedef struct {
    el_fp16 d;
    uint8_t scales_h[2];
    uint8_t scales_l[EL_QK_K / 64];
    uint8_t qs[EL_QK_K / 2];
} el_block_iq4_xs;

_Static_assert(sizeof(el_block_q4_0) == 18, "q4_0 block layout");
_Static_assert(sizeof(el_block_q4_1) == 20, "q4_1 block layout");
_Static_assert(sizeof(el_block_q5_0) == 22, "q5_0 block layout");
_Static_assert(sizeof(el_block_q5_1) == 24, "q5_1 block layout");
_Static_assert(sizeof(el_block_q8_0) == 34, "q8_0 block layout");
_Static_assert(sizeof(el_block_q8_1) == 36, "q8_1 block layout");
_Static_assert(sizeof(el_block_iq4_nl) == 18, "iq4_nl block layout");
_Static_assert(sizeof(el_block_mxfp4) == 17, "mxfp4 block layout");
_Static_assert(sizeof(el_block_q2_K) == 84, "q2_K block layout");
_Static_assert(sizeof(el_block_q3_K) == 110, "q3_K block layout");
_Static_assert(sizeof(el_block_q4_K) == 144, "q4_K block layout");
_Static_assert(sizeof(el_block_q5_K) == 176, "q5_K block layout");
_Static_assert(sizeof(el_block_q6_K) == 210, "q6_K block layout");
_Static_assert(sizeof(el_block_q8_K) == 292, "q8_K block layout");
_Static_assert(sizeof(el_block_iq4_xs) == 136, "iq4_xs block layout");

/* The 16 IQ4_NL / IQ4_XS code points (a non-uniform grid fitted to weight distributions). */
extern const int8_t el_kvalues_iq4nl[16];
/* The 16 MXFP4 code points, 2x the e2m1 values. */
extern const int8_t el_kvalues_mxfp4[16];

/* Unpacks the 6-bit scale and min of sub-block j (0..7) of a q4_K / q5_K block. */
static inline void el_quants_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Fills the reference kernel pointers of the traits table (called once by types.c). */
void el_quants_register(el_type_info *traits);

/* The scalar reference kernels of type t (NULL pointers where none), whatever the traits
 * table points at after SIMD dispatch: what SIMD tests compare against. NULL for unknown t. */
typedef struct el_quant_kernels {
    el_to_float_fn to_float;
    el_from_float_fn from_float;
    el_vec_dot_fn vec_dot;
} el_quant_kernels;
const el_quant_kernels *el_quants_ref(int t);

/* ---- the reference kernels by name --------------------------------------------------------
 * to_float:   k elements (multiple of the block size) from k/blck blocks at x into y.
 * from_float: k floats at x into k/blck blocks at y.
 * vec_dot:    *s = dot(x, y) over n elements, x of the weight type, y of its activation
 *             type. Integer sums per block are exact; blocks accumulate in float. */
void el_quants_to_float_f32(const void *x, float *y, int64_t k);
void el_quants_to_float_f16(const void *x, float *y, int64_t k);
void el_quants_to_float_bf16(const void *x, float *y, int64_t k);
void el_quants_to_float_q4_0(const void *x, float *y, int64_t k);
void el_quants_to_float_q4_1(const void *x, float *y, int64_t k);
void el_quants_to_float_q5_0(const void *x, float *y, int64_t k);
void el_quants_to_float_q5_1(const void *x, float *y, int64_t k);
void el_quants_to_float_q8_0(const void *x, float *y, int64_t k);
void el_quants_to_float_q8_1(const void *x, float *y, int64_t k);
void el_quants_to_float_q2_K(const void *x, float *y, int64_t k);
void el_quants_to_float_q3_K(const void *x, float *y, int64_t k);
void el_quants_to_float_q4_K(const void *x, float *y, int64_t k);
void el_quants_to_float_q5_K(const void *x, float *y, int64_t k);
void el_quants_to_float_q6_K(const void *x, float *y, int64_t k);
void el_quants_to_float_q8_K(const void *x, float *y, int64_t k);
void el_quants_to_float_iq4_nl(const void *x, float *y, int64_t k);
void el_quants_to_float_iq4_xs(const void *x, float *y, int64_t k);
void el_quants_to_float_mxfp4(const void *x, float *y, int64_t k);

void el_quants_from_float_f32(const float *x, void *y, int64_t k);
void el_quants_from_float_f16(const float *x, void *y, int64_t k);
void el_quants_from_float_bf16(const float *x, void *y, int64_t k);
void el_quants_from_float_q4_0(const float *x, void *y, int64_t k);
void el_quants_from_float_q4_1(const float *x, void *y, int64_t k);
void el_quants_from_float_q5_0(const float *x, void *y, int64_t k);
void el_quants_from_float_q5_1(const float *x, void *y, int64_t k);
void el_quants_from_float_q8_0(const float *x, void *y, int64_t k);
void el_quants_from_float_q8_1(const float *x, void *y, int64_t k);
void el_quants_from_float_q2_K(const float *x, void *y, int64_t k);
void el_quants_from_float_q3_K(const float *x, void *y, int64_t k);
void el_quants_from_float_q4_K(const float *x, void *y, int64_t k);
void el_quants_from_float_q5_K(const float *x, void *y, int64_t k);
void el_quants_from_float_q6_K(const float *x, void *y, int64_t k);
void el_quants_from_float_q8_K(const float *x, void *y, int64_t k);
void el_quants_from_float_iq4_nl(const float *x, void *y, int64_t k);
void el_quants_from_float_iq4_xs(const float *x, void *y, int64_t k);
void el_quants_from_float_mxfp4(const float *x, void *y, int64_t k);

void el_quants_vec_dot_f32(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_f16(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_bf16(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_q4_0_q8_0(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_q4_1_q8_1(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_q5_0_q8_0(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_q5_1_q8_1(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_q8_0_q8_0(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_q2_K_q8_K(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_q3_K_q8_K(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_q4_K_q8_K(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_q5_K_q8_K(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_q6_K_q8_K(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_iq4_nl_q8_0(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_iq4_xs_q8_K(int n, float *s, const void *x, const void *y);
void el_quants_vec_dot_mxfp4_q8_0(int n, float *s, const void *x, const void *y);

#endif
