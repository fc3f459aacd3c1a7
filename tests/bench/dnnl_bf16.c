/* dnnl_bf16.c: the engine's bf16 product (bf16_matmul, in panels of 256 rows as the forward pass
 * runs it) against oneDNN's bf16 matmul primitive (bf16 x bf16 -> f32) and single-threaded sgemm on
 * the same values, process CPU time, one thread, best of 5; prints the largest difference between
 * the engine and oneDNN. Not built by make and not a dependency: needs libdnnl-dev.
 * Usage: OMP_NUM_THREADS=1 dnnl_bf16 N K N_OUT
 * Build (after make): cc -std=c11 -D_GNU_SOURCE -O2 -Imodel -o build/dnnl_bf16 tests/bench/dnnl_bf16.c
 *   build/libbd3.a -ldnnl -lopenblas -lm -lpthread */
#include <dnnl.h>
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "bf16.h"
#define CK(x)                                                                                                \
    do {                                                                                                     \
        dnnl_status_t s_ = (x);                                                                              \
        if (s_ != dnnl_success) {                                                                            \
            fprintf(stderr, "%s: %d\n", #x, s_);                                                             \
            exit(1);                                                                                         \
        }                                                                                                    \
    } while (0)
static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
int main(int argc, char **argv)
{
    int n = atoi(argv[1]), K = atoi(argv[2]), O = atoi(argv[3]);
    openblas_set_num_threads(1);
    uint16_t *w, *x, *tile;
    posix_memalign((void **)&w, 64, 2L * O * K);
    posix_memalign((void **)&x, 64, 2L * n * K);
    posix_memalign((void **)&tile, 64, 2L * BF16_TILE * K);
    float *wf = malloc(4L * O * K), *xf = malloc(4L * n * K), *y = malloc(4L * n * O),
          *y2 = malloc(4L * n * O);
    for (long i = 0; i < (long)O * K; i++) {
        wf[i] = bf16_to_f32(bf16_from_f32((rand() % 2001 - 1000) * 1e-3f));
        w[i] = bf16_from_f32(wf[i]);
    }
    for (long i = 0; i < (long)n * K; i++) { xf[i] = (rand() % 2001 - 1000) * 1e-3f; }
    dnnl_engine_t eng;
    CK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    dnnl_stream_t st;
    CK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    dnnl_memory_desc_t a, b, c;
    dnnl_dims_t ad = {n, K}, bd = {K, O}, cd = {n, O};
    dnnl_dims_t as = {K, 1}, bs = {1, K}, cs = {O, 1};
    CK(dnnl_memory_desc_init_by_strides(&a, 2, ad, dnnl_bf16, as));
    CK(dnnl_memory_desc_init_by_strides(&b, 2, bd, dnnl_bf16, bs));
    CK(dnnl_memory_desc_init_by_strides(&c, 2, cd, dnnl_f32, cs));
    dnnl_matmul_desc_t md;
    CK(dnnl_matmul_desc_init(&md, &a, &b, NULL, &c));
    dnnl_primitive_desc_t pd;
    CK(dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL));
    const char *impl;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    dnnl_primitive_t mm;
    CK(dnnl_primitive_create(&mm, pd));
    dnnl_memory_t ma, mb, mc;
    CK(dnnl_memory_create(&ma, &a, eng, x));
    CK(dnnl_memory_create(&mb, &b, eng, w));
    CK(dnnl_memory_create(&mc, &c, eng, y2));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
    double be = 1e9, bo = 1e9, bs_ = 1e9;
    for (int r = 0; r < 5; r++) {
        double t0 = cpu_s();
        bf16_round_rows(xf, n, K, K, x, K);
        for (int p = 0; p < n; p += 256) {
            int rows = n - p < 256 ? n - p : 256;
            bf16_matmul(w, K, 0, O, rows, K, x + (long)p * K, K, 0.0f, y + (long)p * O, O, tile);
        }
        double t1 = cpu_s();
        bf16_round_rows(xf, n, K, K, x, K);
        CK(dnnl_primitive_execute(mm, st, 3, args));
        CK(dnnl_stream_wait(st));
        double t2 = cpu_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, O, K, 1, xf, K, wf, K, 0, y2 + 0, O);
        double t3 = cpu_s();
        if (t1 - t0 < be) be = t1 - t0;
        if (t2 - t1 < bo) bo = t2 - t1;
        if (t3 - t2 < bs_) bs_ = t3 - t2;
        if (r == 0) {
            CK(dnnl_primitive_execute(mm, st, 3, args));
            CK(dnnl_stream_wait(st));
            double md_ = 0;
            for (long i = 0; i < (long)n * O; i++) {
                double d = y[i] - y2[i];
                if (d < 0) d = -d;
                if (d > md_) md_ = d;
            }
            fprintf(stderr, "max |engine-oneDNN| %.3g (%s)\n", md_, impl);
        }
    }
    double fl = 2.0 * n * O * K * 1e-9;
    printf("n=%4d K=%4d O=%5d  engine bf16 %6.1f | oneDNN bf16 matmul %6.1f | sgemm %6.1f GFLOP/s\n", n, K, O,
           fl / be, fl / bo, fl / bs_);
}
