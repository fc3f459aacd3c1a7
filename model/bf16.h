/* bf16.h: matrix products of bfloat16 weights (row-major, as GGUF BF16 stores them, so a file's
 * matrix can be used where it is mapped) with activations rounded to bfloat16, accumulated in
 * float32 as AVX512_BF16's vdpbf16ps does, in three variants (vdpbf16ps, AVX2, portable C) that give
 * identical results. Internal to the engine. Depends on kernels.h (instruction set) and libc only. */
#ifndef BD3_BF16_H
#define BD3_BF16_H

#include <stdint.h>

#define BF16_CHUNK 32 /* values per step of a dot product: 16 float32 lanes, 2 products each */

/* The bfloat16 of f as vcvtneps2bf16 rounds it: nearest, ties to even; a subnormal or zero f gives
 * a zero of its sign; a NaN stays a (quiet) NaN. The result is never subnormal. */
uint16_t bf16_from_f32(float f);
/* The float32 value of a bfloat16 (exact: its top 16 bits). */
float bf16_to_f32(uint16_t h);
/* 1 when h is a subnormal bfloat16 (exponent 0, fraction not 0), which the products read as zero:
 * the loader replaces them by zeros of their sign before a matrix reaches bf16_matmul. */
int bf16_is_subnormal(uint16_t h);

/* out[i, j] = bf16_from_f32(x[i, j]) for i < n, j < k: n rows of k floats (row stride ldx) into
 * rows of ldo values. k a multiple of BF16_CHUNK. */
void bf16_round_rows(const float *x, int n, int k, int ldx, uint16_t *out, int ldo);

#define BF16_TILE 16 /* output rows multiplied together: one float32 lane each */

/* y[i, o] = dot(w[o, :], x[i, :]) (+ beta * y[i, o]) for output rows o0 <= o < o1 and n activation
 * rows. w: rows of k bfloat16 (row stride ldw), none subnormal; x: n rows of bf16_round_rows output
 * (row stride ldx); y: rows of ldy floats; k a multiple of BF16_CHUNK; tile: scratch of
 * BF16_TILE * k values, 64-byte aligned (w's rows are gathered there, 16 at a time, in the order vdpbf16ps
 * reads them). Each output is one float32 sum that vdpbf16ps builds in one lane: for p = 0 .. k/2 - 1 it
 * adds, with one rounding each, first the product of elements 2p + 1 (exact in float32), then that
 * of elements 2p; a sum below the smallest normal float becomes a zero of its sign. With
 * beta != 0 the output is fmaf(beta, y, sum). Every instruction set gives the same bits. */
void bf16_matmul(const uint16_t *w, int ldw, int o0, int o1, int n, int k, const uint16_t *x, int ldx,
                 float beta, float *y, int ldy, uint16_t *tile);

#endif
