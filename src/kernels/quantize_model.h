/* kernels/quantize_model.h — re-encode a whole GGUF model to another weight type, with
 * llama.cpp's per-tensor mix (what `llama-quantize` does without an importance matrix).
 *
 * The file type ("ftype") values are llama.cpp's LLAMA_FTYPE_* numbers, which is what
 * general.file_type holds in every GGUF on the hub.
 */
#ifndef EL_QUANTIZE_MODEL_H
#define EL_QUANTIZE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"

enum {
    EL_FTYPE_ALL_F32 = 0,
    EL_FTYPE_F16 = 1,
    EL_FTYPE_Q4_0 = 2,
    EL_FTYPE_Q4_1 = 3,
    EL_FTYPE_Q8_0 = 7,
    EL_FTYPE_Q5_0 = 8,
    EL_FTYPE_Q5_1 = 9,
    EL_FTYPE_Q2_K = 10,
    EL_FTYPE_Q3_K_S = 11,
    EL_FTYPE_Q3_K_M = 12,
    EL_FTYPE_Q3_K_L = 13,
    EL_FTYPE_Q4_K_S = 14,
    EL_FTYPE_Q4_K_M = 15,
    EL_FTYPE_Q5_K_S = 16,
    EL_FTYPE_Q5_K_M = 17,
    EL_FTYPE_Q6_K = 18,
    EL_FTYPE_IQ4_NL = 25,
    EL_FTYPE_IQ4_XS = 30,
    EL_FTYPE_BF16 = 32,
    EL_FTYPE_MXFP4_MOE = 38,
};

/* ftype by name ("Q4_K_M", "q8_0", "f16", also the aliases Q3_K / Q4_K / Q5_K for the _M
 * variants), or -1 when it is not one edgellm can write. */
int el_quantize_ftype_from_name(const char *name);
/* "Q4_K_M"-style name of an ftype we can write, or NULL. */
const char *el_quantize_ftype_name(int ftype);
/* The space-separated list of the names above, for usage messages. */
const char *el_quantize_ftype_list(void);

/* One tensor's decision, reported to the caller as the output is written. */
typedef struct el_quantize_tensor {
    int index; /* 0-based position in the output file */
    int n_tensors;
    const char *name;
    uint32_t n_dims;
    const int64_t *ne; /* (n_dims) */
    int src_type, dst_type;
    uint64_t src_bytes, dst_bytes;
    bool fallback; /* the mix wanted a type the row length does not fit */
} el_quantize_tensor;

typedef struct el_quantize_params {
    int ftype;     /* EL_FTYPE_* */
    int n_threads; /* rows are split over this many threads; <= 0 means 1 */
    /* optional, called once per tensor in output order, before the data is written */
    void (*on_tensor)(void *ctx, const el_quantize_tensor *t);
    void *ctx;
} el_quantize_params;

typedef struct el_quantize_stats {
    uint64_t src_bytes, dst_bytes; /* tensor data, without padding */
    int n_tensors, n_quantized, n_fallback;
} el_quantize_stats;

/* The output type of every tensor of g for ftype, in g's tensor order (types[n_tensors]);
 * fallback[i] (may be NULL) says whether tensor i fell back. Also gives the output order
 * (order[n_tensors]: output position -> g's tensor index; may be NULL). 0 or -1 with err. */
int el_quantize_plan(const el_gguf *g, int ftype, int *types, bool *fallback, int *order, char *err,
                     size_t errlen);

/* Reads in_path, writes out_path (through a temporary file: a failure leaves no half file).
 * All metadata is kept, in order, except split.* keys; general.quantization_version = 2 and
 * general.file_type = ftype are (re)set at the end, as llama-quantize does. Tensors are
 * written in llama-quantize's order (non-layer tensors, then by layer; by name within), so
 * for the types whose quantizers match ggml's the output is the file llama-quantize writes.
 * stats may be NULL. 0 or -1 with one line in err. */
int el_quantize_model(const char *in_path, const char *out_path, const el_quantize_params *p,
                      el_quantize_stats *stats, char *err, size_t errlen);

#endif
