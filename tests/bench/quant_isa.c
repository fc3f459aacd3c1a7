/* quant_isa.c: speed of the int8 matrix product (quant_matmul) on one thread for every instruction
 * set this CPU runs, at the shapes of the default model and of a 12x768 model, Q8_0 and Q4_0. Not a
 * test: timings are printed, never asserted; the variants' outputs are compared bit for bit.
 * Usage: quant_isa [SECONDS per figure, default 0.2]
 * Build: cc -std=c11 -D_GNU_SOURCE -O2 -Imodel -o build/quant_isa tests/bench/quant_isa.c
 *        model/quant.c model/kernels.c -lm */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kernels.h"
#include "quant.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull; /* xorshift state */

static double rnd(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1p-52 - 1.0;
}

/* A GGUF Q8_0 (bits 8) or Q4_0 (bits 4) tensor of rows x cols, random values, scale 2^-7. */
static uint8_t *make_tensor(int bits, int rows, int cols)
{
    size_t bb = bits == 4 ? 18 : 34, n = (size_t)rows * (size_t)(cols / 32);
    uint8_t *t = malloc(n * bb);
    if (!t) return NULL;
    for (size_t i = 0; i < n; i++) {
        uint8_t *b = t + i * bb;
        b[0] = 0x00;
        b[1] = 0x20; /* f16 2^-7 */
        for (size_t e = 2; e < bb; e++) b[e] = (uint8_t)(rnd() * 128.0 + 128.0);
    }
    return t;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.2;
    if (!(secs > 0.0)) secs = 0.2;
    static const int shapes[][2] = {{1152, 384}, {384, 1536}, {3072, 768}, {768, 3072}}; /* rows, cols */
    static const int ns[] = {1, 16, 256};
    printf("int8 product on one thread, GOP/s (2 rows cols n per call); best variant of this CPU: %s\n",
           kern_isa_name(kern_isa_best()));
    printf("%-5s %-10s %4s", "type", "rows x cols", "n");
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++)
        if (kern_isa_has((enum kern_isa)isa)) printf(" %12s", kern_isa_name((enum kern_isa)isa));
    printf("\n");
    if (kern_isa_has(KERN_ISA_AVX_VNNI) && !kern_cpu_has_avx_vnni())
        printf("(avx-vnni: the same kernels with the EVEX encoding, this CPU having AVX-512 VNNI only)\n");
    int differ = 0;
    for (int bits = 8; bits >= 4; bits -= 4)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            int rows = shapes[si][0], cols = shapes[si][1], nb = cols / 32;
            uint8_t *t = make_tensor(bits, rows, cols);
            quant_matrix m;
            if (!t || (bits == 4 ? quant_pack_q4_0(t, rows, cols, &m) : quant_pack_q8_0(t, rows, cols, &m))) {
                fprintf(stderr, "out of memory\n");
                return 1;
            }
            for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
                int n = ns[ni];
                float *x = malloc(sizeof(float) * (size_t)n * cols),
                      *d = malloc(sizeof(float) * (size_t)n * nb);
                int8_t *q = malloc((size_t)n * cols);
                int32_t *s = malloc(sizeof(int32_t) * (size_t)n * nb);
                float *y = malloc(sizeof(float) * (size_t)n * rows),
                      *y0 = malloc(sizeof(float) * (size_t)n * rows);
                if (!x || !d || !q || !s || !y || !y0) {
                    fprintf(stderr, "out of memory\n");
                    return 1;
                }
                for (size_t i = 0; i < (size_t)n * cols; i++) x[i] = (float)rnd();
                quant_rows(x, n, cols, cols, q, d, s);
                printf("%-5s %4d x %-4d %4d", bits == 4 ? "q4_0" : "q8_0", rows, cols, n);
                int ref = 0; /* y0 holds the first variant's output */
                for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
                    if (n > 16 && isa == KERN_ISA_BASE) { /* seconds per call: not timed */
                        printf(" %12s", "-");
                        continue;
                    }
                    if (kern_isa_set((enum kern_isa)isa) != 0) continue;
                    double best = 1e30;
                    for (int rep = 0; rep < 3; rep++) {
                        int calls = 0;
                        double t0 = now_s(), dt;
                        do {
                            quant_matmul(&m, 0, m.n_tiles, n, q, d, s, 0.0f, y, rows);
                            calls++;
                        } while ((dt = now_s() - t0) < secs / 3);
                        if (dt / calls < best) best = dt / calls;
                    }
                    if (!ref++)
                        memcpy(y0, y, sizeof(float) * (size_t)n * rows);
                    else if (memcmp(y0, y, sizeof(float) * (size_t)n * rows) != 0)
                        differ++;
                    printf(" %12.1f", 2.0 * rows * cols * n / best * 1e-9);
                }
                printf("\n");
                kern_isa_set(kern_isa_best());
                free(x);
                free(d);
                free(q);
                free(s);
                free(y);
                free(y0);
            }
            quant_matrix_free(&m);
            free(t);
        }
    printf(differ
               ? "%d products differ between variants\n"
               : "every variant gave the same floats (the portable one up to 16 rows, where it is timed)\n",
           differ);
    return differ != 0;
}
