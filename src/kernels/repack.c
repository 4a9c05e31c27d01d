/* kernels/repack.c — the packed layouts of kernels/repack.h: sizes, packing, unpacking.
 *
 * What it owns: the byte shuffles between a type's file layout and its packed form; which
 * layouts exist (layout_of: q4_0, q5_0, q8_0, q4_K, q6_K). The kernels that read packed groups live
 * with the other tile kernels (kernels/x86/gemm_*.c) and are found through el_kernels_packed
 * (kernels/dispatch.h). Invariants: packing is a pure permutation of bytes (no value changes), so a
 * packed row unpacks to the file's bytes exactly. No state, no allocation.
 */
#include "kernels/repack.h"

#include <stdbool.h>
#include <string.h>

#include "core/core.h"

_Static_assert(sizeof(el_block_q4_0x8) == EL_REPACK_ROWS * sizeof(el_block_q4_0), "q4_0x8");
_Static_assert(sizeof(el_block_q5_0x8) == EL_REPACK_ROWS * sizeof(el_block_q5_0), "q5_0x8");
_Static_assert(sizeof(el_block_q8_0x8) == EL_REPACK_ROWS * sizeof(el_block_q8_0), "q8_0x8");

/* Where a type's fields are in its file block and in its packed block. */
typedef struct {
    size_t blk;    /* file block bytes */
    size_t qk;     /* elements per block */
    bool dwords;   /* K-quants: the whole block interleaved by dwords (the fields below unused) */
    size_t qh;     /* file offset of qh (q5_0), 0: none */
    size_t qs, nq; /* file offset and length of qs */
    size_t pqs;    /* packed offset of qs */
} layout;

static bool layout_of(int t, layout *l) {
    switch (t) {
    case EL_TYPE_Q4_0:
        *l = (layout){
            sizeof(el_block_q4_0),        32, false, 0, offsetof(el_block_q4_0, qs), EL_QK4_0 / 2,
            offsetof(el_block_q4_0x8, qs)};
        return true;
    case EL_TYPE_Q5_0:
        *l = (layout){sizeof(el_block_q5_0),
                      32,
                      false,
                      offsetof(el_block_q5_0, qh),
                      offsetof(el_block_q5_0, qs),
                      EL_QK5_0 / 2,
                      offsetof(el_block_q5_0x8, qs)};
        return true;
    case EL_TYPE_Q8_0:
        *l = (layout){
            sizeof(el_block_q8_0),        32, false, 0, offsetof(el_block_q8_0, qs), EL_QK8_0,
            offsetof(el_block_q8_0x8, qs)};
        return true;
    case EL_TYPE_Q4_K:
        *l = (layout){sizeof(el_block_q4_K), EL_QK_K, true, 0, 0, 0, 0};
        return true;
    case EL_TYPE_Q6_K:
        *l = (layout){sizeof(el_block_q6_K), EL_QK_K, true, 0, 0, 0, 0};
        return true;
    default:
        return false;
    }
}

size_t el_repack_group_bytes(int t, int64_t n_in) {
    layout l;
    if (!layout_of(t, &l) || n_in <= 0 || n_in % (int64_t)l.qk) return 0;
    return (size_t)(n_in / (int64_t)l.qk) * EL_REPACK_ROWS * l.blk;
}

size_t el_repack_bytes(int t, int64_t n_out, int64_t n_in) {
    const size_t gb = el_repack_group_bytes(t, n_in);
    if (!gb || n_out <= 0) return 0;
    const uint64_t groups = ((uint64_t)n_out + EL_REPACK_ROWS - 1) / EL_REPACK_ROWS;
    if (groups > SIZE_MAX / gb) return 0;
    return (size_t)groups * gb;
}

/* The packed position of file dword k of a dword-interleaved type (kernels/repack.h). */
static size_t slot(const layout *l, size_t k) {
    return l->blk == sizeof(el_block_q6_K) ? (size_t)el_repack_q6_K_slot((int)k) : k;
}

/* File block fb -> lane r of the packed block pk, and back. */
static void pack_block(const layout *l, uint8_t *pk, const uint8_t *fb, int r) {
    if (l->dwords) { /* then the bytes past the last whole dword (q6_K's d), per row */
        const size_t nd = l->blk / 4, tail = l->blk % 4;
        for (size_t k = 0; k < nd; k++)
            memcpy(pk + 32 * slot(l, k) + 4 * (size_t)r, fb + 4 * k, 4);
        memcpy(pk + 32 * nd + tail * (size_t)r, fb + 4 * nd, tail);
        return;
    }
    memcpy(pk + 2 * (size_t)r, fb, 2);
    if (l->qh) memcpy(pk + 2 * EL_REPACK_ROWS + 4 * (size_t)r, fb + l->qh, 4);
    for (size_t k = 0; k < l->nq / 4; k++)
        memcpy(pk + l->pqs + 32 * k + 4 * (size_t)r, fb + l->qs + 4 * k, 4);
}
static void unpack_block(const layout *l, const uint8_t *pk, uint8_t *fb, int r) {
    if (l->dwords) {
        const size_t nd = l->blk / 4, tail = l->blk % 4;
        for (size_t k = 0; k < nd; k++)
            memcpy(fb + 4 * k, pk + 32 * slot(l, k) + 4 * (size_t)r, 4);
        memcpy(fb + 4 * nd, pk + 32 * nd + tail * (size_t)r, tail);
        return;
    }
    memcpy(fb, pk + 2 * (size_t)r, 2);
    if (l->qh) memcpy(fb + l->qh, pk + 2 * EL_REPACK_ROWS + 4 * (size_t)r, 4);
    for (size_t k = 0; k < l->nq / 4; k++)
        memcpy(fb + l->qs + 4 * k, pk + l->pqs + 32 * k + 4 * (size_t)r, 4);
}

void el_repack_groups(int t, const void *src, size_t row_bytes, int64_t n_out, int64_t n_in,
                      void *dst, int64_t g0, int64_t g1) {
    layout l;
    if (!layout_of(t, &l)) return;
    const int64_t nb = n_in / (int64_t)l.qk;
    const size_t gb = el_repack_group_bytes(t, n_in), pb = EL_REPACK_ROWS * l.blk;
    for (int64_t g = g0; g < g1; g++) {
        const uint8_t *rows[EL_REPACK_ROWS];
        for (int r = 0; r < EL_REPACK_ROWS; r++) {
            const int64_t row = EL_MIN(g * EL_REPACK_ROWS + r, n_out - 1);
            rows[r] = (const uint8_t *)src + (size_t)row * row_bytes;
        }
        uint8_t *out = (uint8_t *)dst + (size_t)g * gb;
        for (int64_t b = 0; b < nb; b++)
            for (int r = 0; r < EL_REPACK_ROWS; r++)
                pack_block(&l, out + (size_t)b * pb, rows[r] + (size_t)b * l.blk, r);
    }
}

void el_repack_unpack_row(int t, const void *packed, int64_t n_in, int64_t r, void *row) {
    layout l;
    if (!layout_of(t, &l)) return;
    const int64_t nb = n_in / (int64_t)l.qk;
    const size_t gb = el_repack_group_bytes(t, n_in), pb = EL_REPACK_ROWS * l.blk;
    const uint8_t *in = (const uint8_t *)packed + (size_t)(r / EL_REPACK_ROWS) * gb;
    for (int64_t b = 0; b < nb; b++)
        unpack_block(&l, in + (size_t)b * pb, (uint8_t *)row + (size_t)b * l.blk,
                     (int)(r % EL_REPACK_ROWS));
}
