/* kernels/repack.c — the packed layouts of kernels/repack.h: sizes, packing, unpacking.
 *
 * What it owns: the byte shuffles between a type's file layout and its packed form; which
 * layouts exist. The kernels that read packed groups live with the other tile kernels
 * (kernels/x86/gemm_*.c) and are found through el_kernels_packed (kernels/dispatch.h).
 * Invariants: packing is a pure permutation of bytes (no value changes), so a packed row
 * unpacks to the file's bytes exactly. No state, no allocation.
 */
#include "kernels/repack.h"

#include <string.h>

#include "core/core.h"

_Static_assert(sizeof(el_block_q4_0x8) == EL_REPACK_ROWS * sizeof(el_block_q4_0),
               "q4_0x8 is 8 q4_0 blocks");

size_t el_repack_group_bytes(int t, int64_t n_in) {
    if (t != EL_TYPE_Q4_0 || n_in <= 0 || n_in % EL_QK4_0) return 0;
    return (size_t)(n_in / EL_QK4_0) * sizeof(el_block_q4_0x8);
}

size_t el_repack_bytes(int t, int64_t n_out, int64_t n_in) {
    const size_t gb = el_repack_group_bytes(t, n_in);
    if (!gb || n_out <= 0) return 0;
    const uint64_t groups = ((uint64_t)n_out + EL_REPACK_ROWS - 1) / EL_REPACK_ROWS;
    if (groups > SIZE_MAX / gb) return 0;
    return (size_t)groups * gb;
}

void el_repack_groups(int t, const void *src, size_t row_bytes, int64_t n_out, int64_t n_in,
                      void *dst, int64_t g0, int64_t g1) {
    (void)t; /* q4_0 is the only packed type */
    const int64_t nb = n_in / EL_QK4_0;
    const size_t gb = el_repack_group_bytes(EL_TYPE_Q4_0, n_in);
    for (int64_t g = g0; g < g1; g++) {
        const el_block_q4_0 *rows[EL_REPACK_ROWS];
        for (int r = 0; r < EL_REPACK_ROWS; r++) {
            const int64_t row = EL_MIN(g * EL_REPACK_ROWS + r, n_out - 1);
            rows[r] = (const el_block_q4_0 *)((const uint8_t *)src + (size_t)row * row_bytes);
        }
        el_block_q4_0x8 *out = (el_block_q4_0x8 *)((uint8_t *)dst + (size_t)g * gb);
        for (int64_t b = 0; b < nb; b++) {
            for (int r = 0; r < EL_REPACK_ROWS; r++) {
                out[b].d[r] = rows[r][b].d;
                for (int k = 0; k < 4; k++)
                    memcpy(&out[b].qs[32 * k + 4 * r], &rows[r][b].qs[4 * k], 4);
            }
        }
    }
}

void el_repack_unpack_row(int t, const void *packed, int64_t n_in, int64_t r, void *row) {
    (void)t;
    const int64_t nb = n_in / EL_QK4_0;
    const size_t gb = el_repack_group_bytes(EL_TYPE_Q4_0, n_in);
    const el_block_q4_0x8 *in =
        (const el_block_q4_0x8 *)((const uint8_t *)packed + (size_t)(r / EL_REPACK_ROWS) * gb);
    const int lane = (int)(r % EL_REPACK_ROWS);
    el_block_q4_0 *out = row;
    for (int64_t b = 0; b < nb; b++) {
        out[b].d = in[b].d[lane];
        for (int k = 0; k < 4; k++)
            memcpy(&out[b].qs[4 * k], &in[b].qs[32 * k + 4 * lane], 4);
    }
}
