/* kernels/types.h — tensor element types (ggml's numbering, so GGUF type ids read as they
 * are), their block geometry, fp16/bf16 conversion, and the per-type traits table through
 * which every module reaches a type's kernels.
 *
 * The traits table is the one place where a type's behaviour is looked up:
 *   el_type_traits(EL_TYPE_Q4_0)->to_float(...)
 * Reference (scalar) implementations are the ground truth; SIMD variants replace the
 * pointers at start-up after CPU detection (kernels/dispatch), never the meaning.
 */
#ifndef EL_TYPES_H
#define EL_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum el_type {
    EL_TYPE_F32 = 0,
    EL_TYPE_F16 = 1,
    EL_TYPE_Q4_0 = 2,
    EL_TYPE_Q4_1 = 3,
    /* 4, 5: Q4_2, Q4_3 — removed from ggml long ago */
    EL_TYPE_Q5_0 = 6,
    EL_TYPE_Q5_1 = 7,
    EL_TYPE_Q8_0 = 8,
    EL_TYPE_Q8_1 = 9,
    EL_TYPE_Q2_K = 10,
    EL_TYPE_Q3_K = 11,
    EL_TYPE_Q4_K = 12,
    EL_TYPE_Q5_K = 13,
    EL_TYPE_Q6_K = 14,
    EL_TYPE_Q8_K = 15,
    EL_TYPE_IQ2_XXS = 16,
    EL_TYPE_IQ2_XS = 17,
    EL_TYPE_IQ3_XXS = 18,
    EL_TYPE_IQ1_S = 19,
    EL_TYPE_IQ4_NL = 20,
    EL_TYPE_IQ3_S = 21,
    EL_TYPE_IQ2_S = 22,
    EL_TYPE_IQ4_XS = 23,
    EL_TYPE_I8 = 24,
    EL_TYPE_I16 = 25,
    EL_TYPE_I32 = 26,
    EL_TYPE_I64 = 27,
    EL_TYPE_F64 = 28,
    EL_TYPE_IQ1_M = 29,
    EL_TYPE_BF16 = 30,
    /* 31..33: Q4_0_4_4, Q4_0_4_8, Q4_0_8_8 — removed (repacking is done at load now) */
    EL_TYPE_TQ1_0 = 34,
    EL_TYPE_TQ2_0 = 35,
    /* 36..38: IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8 — removed */
    EL_TYPE_MXFP4 = 39,
    EL_TYPE_COUNT = 40,
} el_type;

/* Row kernels. n / k are element counts, multiples of the type's block size. */
typedef void (*el_to_float_fn)(const void *x, float *y, int64_t k);
typedef void (*el_from_float_fn)(const float *x, void *y, int64_t k);
/* s = dot(x, y) over n elements; x is of this type, y of the type's vec_dot_type. */
typedef void (*el_vec_dot_fn)(int n, float *s, const void *x, const void *y);

typedef struct el_type_info {
    const char *name;      /* "q4_K"-style, as ggml prints it; NULL: id not in use */
    int blck_size;         /* elements per block */
    size_t type_size;      /* bytes per block */
    bool is_quantized;
    el_type vec_dot_type;  /* activation type the dot product wants (F32, Q8_0, Q8_K, ...) */
    el_to_float_fn to_float;     /* dequantize; NULL when not implemented */
    el_from_float_fn from_float; /* reference quantize; NULL when not implemented */
    el_vec_dot_fn vec_dot;       /* dot against vec_dot_type; NULL when not implemented */
} el_type_info;

/* Traits of type t, or NULL for an id that is not a known type (t may come from a file). */
const el_type_info *el_type_traits(int t);
/* Type by ggml name ("q4_0", "Q4_K", "f16", case-insensitive), -1 when unknown. */
int el_type_from_name(const char *name);
/* Bytes of a row of n elements of type t; 0 when n is not a multiple of the block size or t
 * is unknown. */
size_t el_row_size(int t, int64_t n);

/* ---- fp16 / bf16 ---------------------------------------------------------------------- */
typedef uint16_t el_fp16; /* IEEE half, bit pattern */
typedef uint16_t el_bf16; /* bfloat16, bit pattern */

static inline uint32_t el_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float el_bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Exact widening of a half (subnormals, inf, NaN preserved). */
static inline float el_fp16_to_fp32(el_fp16 h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t man = h & 0x3FF;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3FF) << 13);
        }
    } else if (exp == 0x1F) {
        u = sign | 0x7F800000 | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    return el_bits_f32(u);
}

/* Round-to-nearest-even narrowing, as F16C's vcvtps2ph with imm 0 and ggml's fallback. */
static inline el_fp16 el_fp32_to_fp16(float f) {
    uint32_t x = el_f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7FFFFFFF;
    if (ax >= 0x7F800000) /* inf or NaN (keep NaN quiet and non-zero) */
        return (el_fp16)(sign | 0x7C00 | (ax > 0x7F800000 ? (0x200 | ((ax >> 13) & 0x3FF)) : 0));
    if (ax >= 0x477FF000) return (el_fp16)(sign | 0x7C00); /* rounds to >= 65520: inf */
    if (ax < 0x38800000) {                                 /* result subnormal or zero */
        if (ax < 0x33000000) return (el_fp16)sign;         /* < 2^-25: rounds to zero */
        uint32_t e = ax >> 23;
        uint32_t m = (ax & 0x7FFFFF) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (el_fp16)(sign | q);
    }
    uint32_t r = ax - 0x38000000; /* rebias exponent 127 -> 15 */
    uint32_t q = r >> 13;
    uint32_t rem = r & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;
    return (el_fp16)(sign | q);
}

static inline float el_bf16_to_fp32(el_bf16 h) { return el_bits_f32((uint32_t)h << 16); }

/* Round-to-nearest-even, NaN kept quiet (ggml's rule). */
static inline el_bf16 el_fp32_to_bf16(float f) {
    uint32_t u = el_f32_bits(f);
    if ((u & 0x7FFFFFFF) > 0x7F800000) return (el_bf16)((u >> 16) | 64);
    return (el_bf16)((u + (0x7FFF + ((u >> 16) & 1))) >> 16);
}

#endif
