/* quant.h: matrix products in the quantized domain: Q8_0 weights (GGUF's blocks of 32 int8 values
 * with one f16 scale, spec section 5) kept packed in memory, times activations quantized per row
 * the same way (32 values, one float32 scale), with int8 dot products (AVX-512 VNNI, AVX-VNNI, AVX2,
 * portable C, chosen by kern_isa()). Internal to the engine. Depends on bd3.h (status), kernels.h, libc. */
#ifndef BD3_QUANT_H
#define BD3_QUANT_H

#include <stddef.h>
#include <stdint.h>
#include "bd3.h"

#define QUANT_BLOCK      32                         /* values per block (a Q8_0 block) */
#define QUANT_TILE       16                         /* output rows per tile */
#define QUANT_TILE_BYTES (QUANT_TILE * QUANT_BLOCK) /* int8 weights of one tile and block */

/* A weight matrix w[rows, cols] in Q8_0 (cols a multiple of 32), packed by tiles of 16 rows: for
 * tile t and block b, the 16 rows' scales (float32: a Q8_0 file's f16 scales exactly), and their
 * 16 x 32 values as unsigned bytes (value + 128) in the order an int8 dot product over 4 values per
 * lane reads them: byte ((j * 16 + lane) * 4 + e) is row 16t + lane, column 32b + 4j + e. Rows
 * past the end of the last tile have scale 0. A view of the leading rows and blocks of a larger
 * packed matrix keeps its ld_blocks.
 * Q4_0 weights (bits 4) keep 4.5 bits per value: for tile t and block b, 16 f16 scales (h) and
 * 256 bytes whose low nibbles are the bytes 0..255 of the layout above and whose high nibbles are
 * the bytes 256..511, each holding the unsigned 4-bit code q (value q - 8, as Q4_0 defines). */
typedef struct quant_matrix {
    int rows;      /* output features (rows of w) */
    int cols;      /* input features, a multiple of QUANT_BLOCK */
    int n_tiles;   /* ceil(rows / QUANT_TILE) */
    int n_blocks;  /* cols / QUANT_BLOCK */
    int ld_blocks; /* blocks per tile in memory (n_blocks, or more for a view) */
    uint8_t *q;    /* [n_tiles, ld_blocks, QUANT_TILE_BYTES] values + 128, 64-byte aligned */
    float *d;      /* [n_tiles, ld_blocks, QUANT_TILE] scales, 64-byte aligned (NULL: bits 4) */
    uint16_t *h;   /* [n_tiles, ld_blocks, QUANT_TILE] f16 scales when bits is 4, else NULL */
    int bits;      /* 4: Q4_0 nibbles in q and f16 scales in h; anything else: 8 */
} quant_matrix;

#define QUANT_TILE_BYTES4 (QUANT_TILE_BYTES / 2) /* nibble bytes of one Q4_0 tile and block */

/* Packs a GGUF Q8_0 tensor of rows x cols (rows of cols / 32 blocks of 34 bytes: f16 scale, then
 * 32 int8) exactly. src may be unaligned. BD3_E_ARG when cols is not a multiple of 32. */
bd3_status quant_pack_q8_0(const void *src, int rows, int cols, quant_matrix *out);
/* Packs a GGUF Q4_0 tensor of rows x cols (rows of cols / 32 blocks of 18 bytes: f16 scale d, then
 * 16 bytes whose low nibbles are values 0..15 and high nibbles values 16..31, value d * (q - 8))
 * exactly, 4 bits per value. src may be unaligned. BD3_E_ARG when cols is not a multiple of 32. */
bd3_status quant_pack_q4_0(const void *src, int rows, int cols, quant_matrix *out);
/* Quantizes float32 rows [rows, cols] to Q8_0 as GGUF does (scale = f16(max |x| / 127), values
 * round(x / scale)) and packs them. */
bd3_status quant_pack_f32(const float *src, int rows, int cols, quant_matrix *out);
void quant_matrix_free(quant_matrix *m);          /* frees the buffers; NULL buffers are fine */
size_t quant_matrix_bytes(const quant_matrix *m); /* bytes of the packed buffers */
/* The float32 value of w[row, col] (scale * value), for tests and naive loops. */
float quant_matrix_at(const quant_matrix *m, int row, int col);

/* Packs rows already quantized by quant_rows (q [rows, cols] of ldq bytes, d [rows, cols / 32] of
 * ldd floats) into the tiles of m, whose buffers hold ld_blocks >= cols / 32 blocks per tile and
 * at least ceil(rows / 16) tiles; sets m's shape. The float scales are kept as they are. */
void quant_pack_rows(const int8_t *q, int ldq, const float *d, int ldd, int rows, int cols, quant_matrix *m);

/* Sets block b of row r of a packed 8-bit matrix (within its tiles) to scale d and values q[32]. */
void quant_set_block(quant_matrix *m, int r, int b, const int8_t *q, float d);

/* Quantizes n rows of k floats (row stride ldx; k a multiple of 32) for quant_matmul: q [n, k]
 * int8 values, d [n, k / 32] float32 scales (max |x| / 127 of each block; 0 for a block of zeros),
 * s [n, k / 32] int32 = -128 * (sum of the block's values). x = d * q to within d / 2. */
void quant_rows(const float *x, int n, int k, int ldx, int8_t *q, float *d, int32_t *s);

/* y[i, o] = sum over blocks b of dx[i, b] * dw[o, b] * (q[i, b] . w[o, b]) (+ beta * y[i, o]),
 * for the n rows of quant_rows output (q rows of k = w->cols bytes, d and s rows of k / 32) and
 * the output rows of tiles t0..t1-1 (o < w->rows); y rows of ldy floats. The int8 dot products
 * are exact; the blocks are added in order in float32 with fused multiply-adds, so every
 * instruction set gives the same result. */
void quant_matmul(const quant_matrix *w, int t0, int t1, int n, const int8_t *q, const float *d,
                  const int32_t *s, float beta, float *y, int ldy);

#endif
