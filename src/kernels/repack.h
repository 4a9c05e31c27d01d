/* kernels/repack.h — weight matrices interleaved by groups of rows at load, for the kernels
 * that read several rows at once (lanes = rows).
 *
 * Why: a decode step is a matrix-vector product. Row by row, each 32-element block of a
 * q4_0 row costs a scale conversion, a nibble unpack and a horizontal fold of its own; the
 * per-block overhead, not the memory bus, then limits decode (bench/kernels.c: q4_0's
 * vec_dot streams at half the speed of q8_0's). The tile kernels of kernels/dispatch.h
 * already compute 8 or 16 rows per register, but from the file's layout they must
 * transpose 8 rows' bytes on the fly, which costs as much as it saves for one column. A
 * layout where the 8 rows' bytes already lie as the lanes want them makes the same tile
 * a few plain loads per block, for decode (one column) and prefill (many) alike.
 *
 * The file stays the source of truth: the mmapped original is never written; the packed
 * copy is built from it at load (engine/model.c) and the original's pages are released
 * from the process afterwards (they come back from the page cache if something reads them,
 * e.g. token_embd's rows when the output matrix is tied to it). Memory therefore stays at
 * about one copy; `edgellm info` reports what is repacked.
 *
 * Layouts: the 32-element block types q4_0, q5_0 and q8_0 in groups of EL_REPACK_ROWS (8)
 * rows ("x8"). For each block b of the group's rows, 8 blocks' bytes in this order:
 *   d[8]        row r's fp16 scale at d[r]                                      16 bytes
 *   qh[8]       q5_0 only: row r's 32 high bits (its qh) at qh[r]               32 bytes
 *   qs          chunks of 32 bytes; chunk k holds at bytes 4r..4r+3 row r's
 *               qs[4k..4k+3] (q4_0 / q5_0: 4 chunks, the low nibbles of chunk k
 *               are elements 4k..4k+3, the high ones 16+4k..; q8_0: 8 chunks,
 *               chunk k = elements 4k..4k+3)                          128 / 128 / 256 bytes
 *   so a packed block is 8 file blocks: el_block_q4_0x8 144, q5_0x8 176, q8_0x8 272 bytes.
 * q4_K and q6_K ("x8" too): each 256-element block of the 8 rows interleaved by dwords of
 * the file block: file dword k of row r at byte 32 * slot(k) + 4r, so any dword of the 8 rows
 * is one load, then the bytes past the last whole dword per row (q6_K's 2-byte d: d of row r
 * at 32 * 52 + 2r, the 8 rows' d contiguous). q4_K (36 dwords: d and dmin, 3 of scales, 32
 * of qs) keeps the file's order, slot(k) = k, which is the order its decode tile reads in.
 * q6_K's order is the one its decode tile reads in (el_repack_q6_K_slot): the scales, then
 * per half the ql, ql + 32 and qh dwords of each step side by side. In the file's order the
 * tile read each block in six places at once and streamed at a fifth of its L2-hot speed
 * (the hardware prefetcher lost the streams); in this order it is one ascending stream.
 * Group g holds rows 8g..8g+7, its blocks one after another (group stride = nb * that); rows
 * past n_out in the last group repeat the last row (computed and dropped).
 */
#ifndef EL_REPACK_H
#define EL_REPACK_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/quants.h"

enum { EL_REPACK_ROWS = 8 };

typedef struct {
    el_fp16 d[EL_REPACK_ROWS];
    uint8_t qs[EL_REPACK_ROWS * EL_QK4_0 / 2];
} el_block_q4_0x8;

typedef struct {
    el_fp16 d[EL_REPACK_ROWS];
    uint32_t qh[EL_REPACK_ROWS];
    uint8_t qs[EL_REPACK_ROWS * EL_QK5_0 / 2];
} el_block_q5_0x8;

typedef struct {
    el_fp16 d[EL_REPACK_ROWS];
    int8_t qs[EL_REPACK_ROWS * EL_QK8_0];
} el_block_q8_0x8;

/* Where q6_K's file dword k (0..51: ql 0..31, qh 32..47, scales 48..51) sits in its packed
 * block: scales first, then for each half h and step k < 8 the three dwords ql[16h + k],
 * ql[16h + 8 + k], qh[32 + 8h + k]. */
static inline int el_repack_q6_K_slot(int k) {
    if (k >= 48) return k - 48;
    if (k >= 32) return 4 + 24 * ((k - 32) / 8) + 3 * ((k - 32) % 8) + 2;
    return 4 + 24 * (k / 16) + 3 * (k % 8) + (k % 16) / 8;
}

/* Bytes of one group of t's packed form for rows of n_in elements; 0 when t has no packed
 * form (or n_in is not a whole number of blocks). */
size_t el_repack_group_bytes(int t, int64_t n_in);

/* Bytes of the packed form of an (n_out rows, n_in) matrix of type t (whole groups); 0 when
 * t has none. Overflow-checked: 0 also when the size does not fit. */
size_t el_repack_bytes(int t, int64_t n_out, int64_t n_in);

/* Packs groups [g0, g1) of the matrix src (n_out rows of row_bytes, type t) into dst, the
 * whole packed buffer (group g at g * el_repack_group_bytes). t must have a packed form. */
void el_repack_groups(int t, const void *src, size_t row_bytes, int64_t n_out, int64_t n_in,
                      void *dst, int64_t g0, int64_t g1);

/* Row r of a packed matrix back in t's own layout (row_bytes bytes): the tests, and the
 * embedding lookup of a token_embd repacked as the tied output matrix. */
void el_repack_unpack_row(int t, const void *packed, int64_t n_in, int64_t r, void *row);

#endif
