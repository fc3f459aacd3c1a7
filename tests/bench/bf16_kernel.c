/* bf16_kernel.c: speed of the bf16 product alone against OpenBLAS sgemm on the same values (not a
 * test; figures are printed, never asserted), in thread CPU time, one thread, best of 5: rows n
 * rounded to bfloat16 (bf16_round_rows), then bf16_matmul in panels of 256 rows as the forward
 * pass runs it, against one single-threaded cblas_sgemm of [n, k] x [k, n_out].
 * Usage: bf16_kernel N K N_OUT (K a multiple of 32)
 * Build (after make): cc -std=c11 -D_GNU_SOURCE -O2 -Imodel -o build/bf16_kernel
 *   tests/bench/bf16_kernel.c build/libbd3.a -lopenblas -lm */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "bf16.h"
#include "kernels.h"

#define PANEL 256 /* rows per bf16_matmul call, as FORWARD_PANEL in model/linear.c */

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 4 || atoi(argv[2]) % BF16_CHUNK || atoi(argv[1]) < 1 || atoi(argv[3]) < 1) {
        fprintf(stderr, "usage: bf16_kernel N K N_OUT (K a multiple of %d)\n", BF16_CHUNK);
        return 2;
    }
    int n = atoi(argv[1]), k = atoi(argv[2]), o = atoi(argv[3]);
    openblas_set_num_threads(1);
    uint16_t *w = NULL, *x = NULL, *tile = NULL;
    if (posix_memalign((void **)&w, 64, sizeof *w * (size_t)o * k) ||
        posix_memalign((void **)&x, 64, sizeof *x * (size_t)n * k) ||
        posix_memalign((void **)&tile, 64, sizeof *tile * BF16_TILE * (size_t)k))
        return 1;
    float *xf = malloc(sizeof *xf * (size_t)n * k), *wf = malloc(sizeof *wf * (size_t)o * k);
    float *y = malloc(sizeof *y * (size_t)n * o);
    if (!xf || !wf || !y) return 1;
    for (size_t i = 0; i < (size_t)o * k; i++) {
        wf[i] = bf16_to_f32(bf16_from_f32((float)(rand() % 2001 - 1000) * 1e-3f)); /* same values */
        w[i] = bf16_from_f32(wf[i]);
    }
    for (size_t i = 0; i < (size_t)n * k; i++) xf[i] = (float)(rand() % 2001 - 1000) * 1e-3f;
    double best = 1e30, best_sgemm = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = cpu_s();
        bf16_round_rows(xf, n, k, k, x, k);
        for (int p = 0; p < n; p += PANEL) {
            int rows = n - p < PANEL ? n - p : PANEL;
            bf16_matmul(w, k, 0, o, rows, k, x + (size_t)p * k, k, 0.0f, y + (size_t)p * o, o, tile);
        }
        double t1 = cpu_s();
        cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, o, n, k, 1.0f, wf, k, xf, k, 0.0f, y, o);
        double t2 = cpu_s();
        if (t1 - t0 < best) best = t1 - t0;
        if (t2 - t1 < best_sgemm) best_sgemm = t2 - t1;
    }
    double flop = 2.0 * n * k * o;
    printf("%d rows, %d -> %d (kernels %s): bf16 %.1f GFLOP/s, sgemm %.1f GFLOP/s\n", n, k, o,
           kern_isa_name(kern_isa()), flop / best * 1e-9, flop / best_sgemm * 1e-9);
    free(w);
    free(x);
    free(tile);
    free(xf);
    free(wf);
    free(y);
    return 0;
}
