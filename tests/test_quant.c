/* test_quant.c: the quantized products against naive loops: Q8_0 packing (exact), activation
 * quantization (error within half a step), Q4_0 packing (exact, 4.5 bits per value), and the int8 product of
 * every variant the CPU runs against a double-precision sum over the same quantized values, and the variants
 * against each other bit for bit; a variant the CPU cannot run is reported as skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "kernels.h"
#include "quant.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull; /* xorshift state */

static double rnd(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1p-52 - 1.0;
}

/* A GGUF Q8_0 tensor of rows x cols with random scales and values (both signs, -128 included). */
static uint8_t *make_q8_0(int rows, int cols)
{
    int nb = cols / 32;
    uint8_t *t = malloc((size_t)rows * nb * 34);
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < nb; b++) {
            uint8_t *blk = t + ((size_t)r * nb + b) * 34;
            /* f16 scale between 2^-10 and 2^-6, some zero */
            uint16_t h = (r + b) % 11 == 0 ? 0
                                           : (uint16_t)(((5 + (int)(4.0 * (rnd() + 1) / 2)) << 10) |
                                                        ((unsigned)(rnd() * 1023.0) & 0x3ff));
            blk[0] = (uint8_t)(h & 0xff);
            blk[1] = (uint8_t)(h >> 8);
            for (int e = 0; e < 32; e++) blk[2 + e] = (uint8_t)(int8_t)(rnd() * 128.0);
        }
    return t;
}

/* A GGUF Q4_0 tensor of rows x cols: random f16 scales (some zero, some negative) and codes 0..15. */
static uint8_t *make_q4_0(int rows, int cols)
{
    int nb = cols / 32;
    uint8_t *t = malloc((size_t)rows * nb * 18);
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < nb; b++) {
            uint8_t *blk = t + ((size_t)r * nb + b) * 18;
            uint16_t h = (r + b) % 11 == 0 ? 0
                                           : (uint16_t)(((5 + (int)(4.0 * (rnd() + 1) / 2)) << 10) |
                                                        ((unsigned)(rnd() * 1023.0) & 0x3ff));
            if ((r + b) % 7 == 3) h |= 0x8000;
            blk[0] = (uint8_t)(h & 0xff);
            blk[1] = (uint8_t)(h >> 8);
            for (int e = 0; e < 16; e++) blk[2 + e] = (uint8_t)((unsigned)((rnd() + 1) * 128.0) & 0xff);
        }
    return t;
}

static float f16(uint16_t h) /* naive f16 decoding for normal and zero values */
{
    if (h == 0) return 0.0f;
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    return (float)ldexp(1.0 + m / 1024.0, e - 15) * ((h >> 15) ? -1.0f : 1.0f);
}

static void test_pack_q8_0_is_exact(void **state)
{
    (void)state;
    const int rows = 37, cols = 96, nb = cols / 32; /* a partial last tile */
    uint8_t *t = make_q8_0(rows, cols);
    quant_matrix m;
    assert_int_equal(quant_pack_q8_0(t, rows, cols, &m), BD3_OK);
    assert_int_equal(m.n_tiles, 3);
    assert_int_equal(m.n_blocks, 3);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            const uint8_t *blk = t + ((size_t)r * nb + c / 32) * 34;
            float want = f16((uint16_t)(blk[0] | blk[1] << 8)) * (float)(int8_t)blk[2 + c % 32];
            assert_true(quant_matrix_at(&m, r, c) == want);
        }
    quant_matrix_free(&m);
    assert_int_equal(quant_pack_q8_0(t, rows, 40, &m), BD3_E_ARG); /* not a multiple of 32 */
    free(t);
}

/* Q4_0 packed at 4.5 bits per value reads back d * (q - 8) with GGUF's nibble order. */
static void test_pack_q4_0_is_exact(void **state)
{
    (void)state;
    const int rows = 37, cols = 96, nb = cols / 32;
    uint8_t *t = make_q4_0(rows, cols);
    quant_matrix m;
    assert_int_equal(quant_pack_q4_0(t, rows, cols, &m), BD3_OK);
    assert_int_equal(m.bits, 4);
    assert_int_equal(m.n_tiles, 3);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            const uint8_t *blk = t + ((size_t)r * nb + c / 32) * 18;
            int k = c % 32, code = k < 16 ? blk[2 + k] & 15 : blk[2 + k - 16] >> 4;
            float want = f16((uint16_t)(blk[0] | blk[1] << 8)) * (float)(code - 8);
            if (quant_matrix_at(&m, r, c) != want)
                fail_msg("w[%d,%d] = %g, want %g", r, c, (double)quant_matrix_at(&m, r, c), (double)want);
        }
    /* 48 rows (3 tiles) x 96 values: 16 bytes of nibbles and 2 of scale per 32 values */
    assert_int_equal(quant_matrix_bytes(&m), 48 * 3 * 18);
    quant_matrix_free(&m);
    assert_int_equal(quant_pack_q4_0(t, 4, 48, &m), BD3_E_ARG);
    free(t);
}

static void test_pack_f32_error_is_half_a_step(void **state)
{
    (void)state;
    const int rows = 20, cols = 64;
    float *w = malloc(sizeof(float) * rows * cols);
    for (int i = 0; i < rows * cols; i++) w[i] = (float)(rnd() * (1 + i % 7));
    for (int c = 0; c < 32; c++) w[3 * cols + c] = 0.0f; /* a block of zeros */
    quant_matrix m;
    assert_int_equal(quant_pack_f32(w, rows, cols, &m), BD3_OK);
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < cols / 32; b++) {
            double amax = 0.0;
            for (int e = 0; e < 32; e++) amax = fmax(amax, fabs(w[r * cols + 32 * b + e]));
            double step = amax / 127.0 * (1.0 + 1.0 / 1024); /* scale rounded to f16 */
            for (int e = 0; e < 32; e++) {
                int c = 32 * b + e;
                double err = fabs((double)quant_matrix_at(&m, r, c) - w[r * cols + c]);
                if (err > 0.5 * step + 1e-12)
                    fail_msg("w[%d,%d]: error %g > half step %g", r, c, err, step / 2);
            }
        }
    quant_matrix_free(&m);
    free(w);
}

static enum kern_isa group_isa; /* instruction set of the group being run */

static void test_quant_rows_error_is_half_a_step(void **state)
{
    (void)state;
    const int n = 5, k = 96, ld = 100, nb = k / 32;
    float x[5 * 100];
    for (int i = 0; i < n * ld; i++) x[i] = (float)(rnd() * 3.0);
    for (int e = 0; e < 32; e++) x[ld + 32 + e] = 0.0f; /* a block of zeros */
    int8_t q[5 * 96];
    float d[5 * 3];
    int32_t s[5 * 3];
    quant_rows(x, n, k, ld, q, d, s);
    for (int i = 0; i < n; i++)
        for (int b = 0; b < nb; b++) {
            int sum = 0;
            double amax = 0.0;
            for (int e = 0; e < 32; e++) amax = fmax(amax, fabs(x[i * ld + 32 * b + e]));
            assert_true(fabs(d[i * nb + b] - amax / 127.0) <= 1e-6 * amax);
            for (int e = 0; e < 32; e++) {
                int v = q[i * k + 32 * b + e];
                sum += v;
                assert_true(v >= -127 && v <= 127);
                double err = fabs((double)d[i * nb + b] * v - x[i * ld + 32 * b + e]);
                assert_true(err <= 0.5 * d[i * nb + b] * (1 + 1e-5) + 1e-30);
            }
            assert_int_equal(s[i * nb + b], -128 * sum);
        }
    assert_true(d[nb + 1] == 0.0f);
}

/* quant_rows of the variant being run gives the portable variant's bytes, scales and sums exactly,
 * ties included (x * 127 / amax halfway between integers rounds to even), with a row stride. */
static void test_quant_rows_match_portable(void **state)
{
    (void)state;
    const int n = 4, k = 128, ld = 136, nb = k / 32;
    float x[4 * 136];
    for (int i = 0; i < n * ld; i++) x[i] = (float)(rnd() * 5.0);
    for (int e = 0; e < 32; e++) x[e] = (float)(e % 2 ? e - 15 : -e) + 0.5f; /* halves: ties */
    x[31] = 127.0f;                                                          /* amax 127: scale 1 */
    for (int e = 0; e < 32; e++) x[ld + 64 + e] = 0.0f;                      /* a block of zeros */
    x[2 * ld + 40] = 1e30f;                                                  /* one huge value */
    int8_t q[4 * 128], qb[4 * 128];
    float d[4 * 4], db[4 * 4];
    int32_t sv[4 * 4], sb[4 * 4];
    quant_rows(x, n, k, ld, q, d, sv);
    enum kern_isa now = kern_isa();
    kern_isa_set(KERN_ISA_BASE);
    quant_rows(x, n, k, ld, qb, db, sb);
    kern_isa_set(now);
    assert_memory_equal(q, qb, sizeof q);
    assert_memory_equal(d, db, sizeof d);
    assert_memory_equal(sv, sb, sizeof sv);
    assert_int_equal(qb[0], 0);   /* 0.5 */
    assert_int_equal(qb[1], -14); /* -13.5 */
    assert_int_equal(qb[2], -2);  /* -1.5 */
    assert_int_equal(qb[3], -12); /* -11.5 */
    (void)nb;
}

/* y = q-product of m and the n rows x[n, m->cols] quantized, against a double sum of the same
 * values; every variant must also give the portable variant's floats exactly. */
static void check_product(const quant_matrix *m, const float *x, int n, float beta)
{
    int rows = m->rows, cols = m->cols, nb = cols / 32;
    int8_t *q = malloc((size_t)n * cols);
    float *d = malloc(sizeof(float) * n * nb);
    int32_t *s = malloc(sizeof(int32_t) * n * nb);
    quant_rows(x, n, cols, cols, q, d, s);
    int ldy = rows + 3;
    float *y = malloc(sizeof(float) * n * ldy), *yb = malloc(sizeof(float) * n * ldy);
    for (int i = 0; i < n * ldy; i++) y[i] = yb[i] = (float)rnd();
    /* two calls over tile ranges cover the matrix */
    int half = m->n_tiles / 2;
    quant_matmul(m, 0, half, n, q, d, s, beta, y, ldy);
    quant_matmul(m, half, m->n_tiles, n, q, d, s, beta, y, ldy);
    enum kern_isa now = kern_isa();
    kern_isa_set(KERN_ISA_BASE);
    quant_matmul(m, 0, m->n_tiles, n, q, d, s, beta, yb, ldy);
    kern_isa_set(now);
    for (int i = 0; i < n; i++) {
        for (int o = 0; o < rows; o++) {
            double want = 0.0, mag = 0.0;
            for (int c = 0; c < cols; c++) {
                double p = (double)quant_matrix_at(m, o, c) * d[i * nb + c / 32] * q[i * cols + c];
                want += p;
                mag += fabs(p);
            }
            float got = y[i * ldy + o];
            if (beta == 0.0f && !(fabs(got - want) <= 1e-6 * mag + 1e-30))
                fail_msg("y[%d,%d] = %.9g, want %.9g", i, o, (double)got, want);
            if (got != yb[i * ldy + o] && !(isnan(got) && isnan(yb[i * ldy + o])))
                fail_msg("y[%d,%d]: %.9g differs from the portable variant's %.9g", i, o, (double)got,
                         (double)yb[i * ldy + o]);
        }
        for (int o = rows; o < ldy; o++) /* columns past the matrix untouched */
            assert_true(y[i * ldy + o] == yb[i * ldy + o]);
    }
    free(q);
    free(d);
    free(s);
    free(y);
    free(yb);
}

/* The same for a random Q8_0 (bits 8) or Q4_0 (bits 4) matrix and random rows. */
static void check_matmul_bits(int bits, int rows, int cols, int n, float beta)
{
    uint8_t *t = bits == 4 ? make_q4_0(rows, cols) : make_q8_0(rows, cols);
    quant_matrix m;
    if (bits == 4)
        assert_int_equal(quant_pack_q4_0(t, rows, cols, &m), BD3_OK);
    else
        assert_int_equal(quant_pack_q8_0(t, rows, cols, &m), BD3_OK);
    float *x = malloc(sizeof(float) * n * cols);
    for (int i = 0; i < n * cols; i++) x[i] = (float)rnd();
    check_product(&m, x, n, beta);
    quant_matrix_free(&m);
    free(t);
    free(x);
}

/* The largest products the formats allow: weights -128 and 127 (Q4_0: codes 0 and 15) times
 * activations quantized to -127 and 127, every product of a block of the same sign. Each block's
 * int32 sum is exact in every variant (no 16-bit saturation on the way). */
static void test_matmul_extremes_are_exact(void **state)
{
    (void)state;
    const int rows = 21, cols = 96, n = 6, nb = cols / 32;
    uint8_t *t8 = malloc((size_t)rows * nb * 34), *t4 = malloc((size_t)rows * nb * 18);
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < nb; b++) {
            uint8_t *b8 = t8 + ((size_t)r * nb + b) * 34, *b4 = t4 + ((size_t)r * nb + b) * 18;
            b8[0] = b4[0] = 0x00; /* f16 1.0 */
            b8[1] = b4[1] = 0x3c;
            memset(b8 + 2, r % 2 ? 127 : 0x80, 32);  /* 127 or -128 */
            memset(b4 + 2, r % 2 ? 0xff : 0x00, 16); /* 7 or -8 */
        }
    float x[6 * 96];
    for (int i = 0; i < n * cols; i++) x[i] = (i / cols) % 2 ? 1.0f : -1.0f; /* 127 or -127 */
    quant_matrix m;
    assert_int_equal(quant_pack_q8_0(t8, rows, cols, &m), BD3_OK);
    assert_true(quant_matrix_at(&m, 0, 5) == -128.0f && quant_matrix_at(&m, 1, 5) == 127.0f);
    check_product(&m, x, n, 0.0f);
    quant_matrix_free(&m);
    assert_int_equal(quant_pack_q4_0(t4, rows, cols, &m), BD3_OK);
    assert_true(quant_matrix_at(&m, 0, 5) == -8.0f && quant_matrix_at(&m, 1, 5) == 7.0f);
    check_product(&m, x, n, 0.0f);
    quant_matrix_free(&m);
    free(t8);
    free(t4);
}

static void check_matmul(int rows, int cols, int n, float beta)
{
    check_matmul_bits(8, rows, cols, n, beta);
    check_matmul_bits(4, rows, cols, n, beta);
}

static void test_matmul_matches_naive(void **state)
{
    (void)state;
    check_matmul(16, 32, 1, 0.0f);
    check_matmul(37, 96, 13, 0.0f); /* partial tile, 8 + 4 + 1 rows */
    check_matmul(50, 384, 21, 0.0f);
    check_matmul(33, 64, 9, 1.0f); /* adds to y (logits with the bias preloaded) */
}

static void test_matmul_with_beta_adds_to_y(void **state)
{
    (void)state;
    const int rows = 17, cols = 64, n = 3, nb = 2;
    uint8_t *t = make_q8_0(rows, cols);
    quant_matrix m;
    assert_int_equal(quant_pack_q8_0(t, rows, cols, &m), BD3_OK);
    float x[3 * 64], y0[3 * 17], y1[3 * 17];
    for (int i = 0; i < n * cols; i++) x[i] = (float)rnd();
    int8_t q[3 * 64];
    float d[3 * 2];
    int32_t s[3 * 2];
    quant_rows(x, n, cols, cols, q, d, s);
    for (int i = 0; i < n * rows; i++) {
        y0[i] = 0.0f;
        y1[i] = (float)(i % 5) - 2.0f;
    }
    quant_matmul(&m, 0, m.n_tiles, n, q, d, s, 0.0f, y0, rows);
    quant_matmul(&m, 0, m.n_tiles, n, q, d, s, 1.0f, y1, rows);
    for (int i = 0; i < n * rows; i++) assert_true(fabsf(y1[i] - (y0[i] + (float)(i % 5) - 2.0f)) <= 1e-5f);
    (void)nb;
    quant_matrix_free(&m);
    free(t);
}

/* Rows quantized by quant_rows, packed into a larger buffer (as the attention packs keys and
 * values), and a view of fewer rows and blocks: the product over the view's blocks only. */
static void test_pack_rows_and_views(void **state)
{
    (void)state;
    const int rows = 21, cols = 96, nb = 3, ldb = 5; /* buffer of 2 tiles x 5 blocks */
    float x[21 * 96];
    for (int i = 0; i < rows * cols; i++) x[i] = (float)rnd();
    int8_t q[21 * 96];
    float d[21 * 3];
    int32_t s[21 * 3];
    quant_rows(x, rows, cols, cols, q, d, s);
    quant_matrix m = {.ld_blocks = ldb};
    m.q = aligned_alloc(64, 2 * ldb * QUANT_TILE_BYTES);
    m.d = aligned_alloc(64, 2 * ldb * QUANT_TILE * sizeof(float));
    quant_pack_rows(q, cols, d, nb, rows, cols, &m);
    assert_int_equal(m.n_tiles, 2);
    assert_int_equal(m.n_blocks, 3);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            assert_true(quant_matrix_at(&m, r, c) == d[r * nb + c / 32] * (float)q[r * cols + c]);
    /* a view: the first 2 blocks of the first 18 rows, against a naive sum */
    quant_matrix v = m;
    v.rows = 18;
    v.n_tiles = 2;
    v.cols = 64;
    v.n_blocks = 2;
    const int n = 3;
    float xa[3 * 64];
    for (int i = 0; i < n * 64; i++) xa[i] = (float)rnd();
    int8_t qa[3 * 64];
    float da[3 * 2];
    int32_t sa[3 * 2];
    quant_rows(xa, n, 64, 64, qa, da, sa);
    float y[3 * 20];
    for (int i = 0; i < 3 * 20; i++) y[i] = -7.0f;
    quant_matmul(&v, 0, v.n_tiles, n, qa, da, sa, 0.0f, y, 20);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < 20; o++) {
            if (o >= 18) {
                assert_true(y[i * 20 + o] == -7.0f); /* past the view's rows: untouched */
                continue;
            }
            double want = 0.0, mag = 0.0;
            for (int c = 0; c < 64; c++) {
                double p = (double)quant_matrix_at(&m, o, c) * da[i * 2 + c / 32] * qa[i * 64 + c];
                want += p;
                mag += fabs(p);
            }
            assert_true(fabs(y[i * 20 + o] - want) <= 1e-6 * mag + 1e-30);
        }
    free(m.q);
    free(m.d);
}

static int isa_setup(void **state)
{
    (void)state;
    return kern_isa_set(group_isa);
}

static int isa_teardown(void **state)
{
    (void)state;
    return kern_isa_set(kern_isa_best());
}

/* A variant this CPU cannot run: one skipped test, with the reason, instead of its group. */
static void test_variant_needs_instructions_this_cpu_lacks(void **state)
{
    (void)state;
    print_message("this CPU lacks the %s instructions: that variant is not tested here\n",
                  kern_isa_name(group_isa));
    skip();
}

int main(void)
{
    const struct CMUnitTest packing[] = {
        cmocka_unit_test(test_pack_q8_0_is_exact),
        cmocka_unit_test(test_pack_q4_0_is_exact),
        cmocka_unit_test(test_pack_f32_error_is_half_a_step),
    };
    const struct CMUnitTest products[] = {
        cmocka_unit_test(test_quant_rows_error_is_half_a_step),
        cmocka_unit_test(test_quant_rows_match_portable),
        cmocka_unit_test(test_matmul_matches_naive),
        cmocka_unit_test(test_matmul_extremes_are_exact),
        cmocka_unit_test(test_matmul_with_beta_adds_to_y),
        cmocka_unit_test(test_pack_rows_and_views),
    };
    const struct CMUnitTest absent[] = {
        cmocka_unit_test(test_variant_needs_instructions_this_cpu_lacks),
    };
    static const char *names[KERN_ISA_COUNT] = {"quant, portable C",   "quant, AVX2",
                                                "quant, AVX-VNNI",     "quant, AVX-512 (AVX2 products)",
                                                "quant, AVX-512 VNNI", "quant, AVX-512 VNNI and BF16"};
    int failed = cmocka_run_group_tests(packing, NULL, NULL);
    for (int isa = KERN_ISA_BASE; isa < KERN_ISA_COUNT; isa++) {
        group_isa = (enum kern_isa)isa;
        const char *name = names[isa];
        if (isa == KERN_ISA_AVX_VNNI && kern_isa_has(group_isa) && !kern_cpu_has_avx_vnni())
            name = "quant, AVX-VNNI kernels in EVEX encoding (this CPU has AVX-512 VNNI, not AVX-VNNI)";
        print_message("-- %s\n", name);
        if (kern_isa_has(group_isa))
            failed += _cmocka_run_group_tests(name, products, sizeof products / sizeof products[0], isa_setup,
                                              isa_teardown);
        else
            failed += _cmocka_run_group_tests(name, absent, 1, NULL, NULL);
    }
    return failed;
}
