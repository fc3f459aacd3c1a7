/* test_bf16.c: the bfloat16 products: rounding of floats to bfloat16 against its definition (nearest,
 * ties to even, subnormals to signed zero), and the product of every variant the CPU runs bit for
 * bit against the portable one (which follows vdpbf16ps step by step; on a CPU with AVX512_BF16 that
 * compares it with the instruction itself) and against a double-precision sum. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "bf16.h"
#include "kernels.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull; /* xorshift state */

static uint64_t rnd_u64(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double rnd(void) { return (double)(rnd_u64() >> 11) * 0x1p-52 - 1.0; } /* uniform in [-1, 1) */

static float f32_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t bits_f32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* bf16_from_f32 is the nearest bfloat16 (ties to the even one), computed here from the two
 * neighbours by distance in double; subnormal floats give zeros of their sign. */
static void test_round_is_nearest_even(void **state)
{
    (void)state;
    for (int it = 0; it < 200000; it++) {
        uint32_t u = (uint32_t)rnd_u64();
        if (it % 5 == 0) u = (u & 0xffff0000u) | 0x8000u; /* exact ties */
        if (it % 7 == 0) u &= 0x807fffffu;                /* subnormal or zero */
        if ((u & 0x7f800000u) == 0x7f800000u) continue;   /* infinities and NaN: below */
        float f = f32_bits(u);
        uint16_t h = bf16_from_f32(f);
        if ((u & 0x7f800000u) == 0) {
            assert_int_equal(h, (u >> 16) & 0x8000u);
            continue;
        }
        uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1); /* toward zero, away from it */
        double vh = (hi & 0x7fff) == 0x7f80 ? copysign(0x1p128, f) : bf16_to_f32(hi); /* as if unbounded */
        double dl = fabs((double)f - bf16_to_f32(lo)), dh = fabs(vh - f);
        uint16_t want = dl < dh ? lo : dh < dl ? hi : (lo & 1) ? hi : lo;
        if (h != want) fail_msg("bf16(%a) = 0x%04x, want 0x%04x", (double)f, h, want);
        assert_false(bf16_is_subnormal(h));
    }
    assert_int_equal(bf16_from_f32(INFINITY), 0x7f80);
    assert_int_equal(bf16_from_f32(-INFINITY), 0xff80);
    assert_int_equal(bf16_from_f32(f32_bits(0x7f7fffffu)),
                     0x7f80); /* the largest float rounds up to infinity */
    assert_true(isnan(bf16_to_f32(bf16_from_f32(NAN))));
    assert_int_equal(bf16_from_f32(-0.0f), 0x8000);
    assert_int_equal(bf16_from_f32(0x1p-130f), 0x0000);
    assert_true(bf16_is_subnormal(0x0001) && bf16_is_subnormal(0x807f));
    assert_false(bf16_is_subnormal(0x0080) || bf16_is_subnormal(0x8000));
}

static enum kern_isa group_isa; /* instruction set of the group being run */

/* Rows rounded by the variant of the group equal the scalar definition, edge values included. */
static void test_round_rows_matches_scalar(void **state)
{
    (void)state;
    const int n = 3, k = 96, ldx = 100, ldo = 128;
    float x[3 * 100];
    for (int i = 0; i < n * ldx; i++) {
        uint32_t u = (uint32_t)rnd_u64();
        x[i] = i % 3 == 0 ? (float)rnd() * 10.0f : f32_bits(u & 0xbfffffffu); /* any exponent < 128 */
    }
    x[1] = 0x1p-140f;      /* subnormal */
    x[2] = -0x1p-149f;     /* smallest subnormal */
    x[4] = 1.0f + 0x1p-8f; /* a tie: stays 1 */
    x[5] = 1.0f + 0x3p-8f; /* a tie: rounds up to even */
    x[7] = INFINITY;
    x[8] = -f32_bits(0x7f7fffffu); /* rounds to -infinity */
    uint16_t out[3 * 128];
    memset(out, 0xab, sizeof out);
    bf16_round_rows(x, n, k, ldx, out, ldo);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < k; j++)
            if (out[i * ldo + j] != bf16_from_f32(x[i * ldx + j]))
                fail_msg("row %d col %d: 0x%04x, want 0x%04x", i, j, out[i * ldo + j],
                         bf16_from_f32(x[i * ldx + j]));
        for (int j = k; j < ldo; j++) assert_int_equal(out[i * ldo + j], 0xabab); /* untouched */
    }
}

/* A random bfloat16 that is not subnormal: exponents from emin to emin + span - 1 (zero for a
 * would-be exponent 0), both signs, some exact zeros. */
static uint16_t rnd_bf16(int emin, int span)
{
    uint64_t r = rnd_u64();
    if (r % 29 == 0) return (uint16_t)(r & 0x8000u);
    int e = emin + (int)((r >> 20) % (uint64_t)span);
    if (e <= 0) return (uint16_t)(r & 0x8000u);
    if (e > 254) e = 254;
    return (uint16_t)((r & 0x807fu) | (unsigned)e << 7);
}

/* The product of the group's variant over rows [o0, o1) in two calls against the portable
 * variant bit for bit (NaN-free data) and, for values of ordinary size, against a double sum. */
static void check_matmul(int rows, int k, int n, float beta, int emin, int span)
{
    int ldw = k + 32, ldx = k + 64, ldy = rows + 3;
    uint16_t *w = malloc(sizeof *w * (size_t)rows * ldw), *x = malloc(sizeof *x * (size_t)n * ldx);
    float *y = malloc(sizeof *y * (size_t)n * ldy), *yb = malloc(sizeof *yb * (size_t)n * ldy);
    uint16_t *tile = NULL;
    assert_int_equal(posix_memalign((void **)&tile, 64, sizeof *tile * 16 * (size_t)k), 0);
    assert_true(w && x && y && yb);
    for (int i = 0; i < rows * ldw; i++) w[i] = rnd_bf16(emin, span);
    for (int i = 0; i < n * ldx; i++) x[i] = rnd_bf16(emin, span);
    for (int i = 0; i < n * ldy; i++) y[i] = yb[i] = (float)rnd();
    int half = rows > 16 ? 16 : 0; /* two calls, split at a tile */
    bf16_matmul(w, ldw, 0, half, n, k, x, ldx, beta, y, ldy, tile);
    bf16_matmul(w, ldw, half, rows, n, k, x, ldx, beta, y, ldy, tile);
    enum kern_isa now = kern_isa();
    kern_isa_set(KERN_ISA_BASE);
    bf16_matmul(w, ldw, 0, rows, n, k, x, ldx, beta, yb, ldy, tile);
    kern_isa_set(now);
    for (int i = 0; i < n; i++) {
        for (int o = 0; o < rows; o++) {
            float got = y[i * ldy + o], base = yb[i * ldy + o];
            if (bits_f32(got) != bits_f32(base))
                fail_msg("y[%d,%d] = %a differs from the portable variant's %a (k %d, exponents %d..%d)", i,
                         o, (double)got, (double)base, k, emin, emin + span - 1);
            if (emin < 100 || emin + span > 150 || beta != 0.0f) continue;
            double want = 0.0, mag = 0.0;
            for (int c = 0; c < k; c++) {
                double p = (double)bf16_to_f32(w[o * ldw + c]) * bf16_to_f32(x[i * ldx + c]);
                want += p;
                mag += fabs(p);
            }
            /* one float32 sum of k terms: at most k roundings of 2^-24 each */
            if (!(fabs(got - want) <= (k + 1) * 0x1p-24 * mag + 1e-30))
                fail_msg("y[%d,%d] = %.9g, want %.9g", i, o, (double)got, want);
        }
        for (int o = rows; o < ldy; o++) assert_true(bits_f32(y[i * ldy + o]) == bits_f32(yb[i * ldy + o]));
    }
    free(w);
    free(x);
    free(y);
    free(yb);
    free(tile);
}

static void test_matmul_matches_portable_and_double_sum(void **state)
{
    (void)state;
    check_matmul(16, 32, 1, 0.0f, 120, 15);
    check_matmul(37, 96, 13, 0.0f, 120, 15); /* a partial tile, 8 + 4 + 1 rows */
    check_matmul(9, 768, 6, 0.0f, 110, 30);
    check_matmul(11, 64, 5, 1.0f, 120, 15); /* adds to y */
}

/* Values near the bottom of the exponent range: products below the smallest normal float, sums
 * flushed to zero, zeros of both signs. The variants must still agree bit for bit. */
static void test_matmul_tiny_values_agree(void **state)
{
    (void)state;
    check_matmul(13, 64, 7, 0.0f, 1, 64);  /* every product underflows or nearly */
    check_matmul(13, 64, 7, 0.0f, 40, 60); /* products around 2^-126 */
    check_matmul(6, 128, 5, 0.0f, 0, 190); /* the bottom half of the range and a bit more: no overflow */
    check_matmul(6, 96, 3, 1.0f, 50, 40);
}

/* A variant this CPU cannot run: one skipped test, with the reason, instead of its group. */
static void test_variant_needs_instructions_this_cpu_lacks(void **state)
{
    (void)state;
    print_message("this CPU lacks the %s instructions: that variant is not tested here\n",
                  kern_isa_name(group_isa));
    skip();
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

int main(void)
{
    const struct CMUnitTest scalar[] = {
        cmocka_unit_test(test_round_is_nearest_even),
    };
    const struct CMUnitTest variants[] = {
        cmocka_unit_test(test_round_rows_matches_scalar),
        cmocka_unit_test(test_matmul_matches_portable_and_double_sum),
        cmocka_unit_test(test_matmul_tiny_values_agree),
    };
    const struct CMUnitTest absent[] = {
        cmocka_unit_test(test_variant_needs_instructions_this_cpu_lacks),
    };
    static const char *names[KERN_ISA_COUNT] = {"bf16, portable C",
                                                "bf16, AVX2",
                                                "bf16, AVX-VNNI (AVX2 products)",
                                                "bf16, AVX-512 (AVX2 products)",
                                                "bf16, AVX-512 VNNI (AVX2 products)",
                                                "bf16, AVX512_BF16 (vdpbf16ps)"};
    int failed = cmocka_run_group_tests(scalar, NULL, NULL);
    for (int isa = KERN_ISA_BASE; isa < KERN_ISA_COUNT; isa++) {
        group_isa = (enum kern_isa)isa;
        if (kern_isa_has(group_isa))
            failed += _cmocka_run_group_tests(names[isa], variants, sizeof variants / sizeof variants[0],
                                              isa_setup, isa_teardown);
        else
            failed += _cmocka_run_group_tests(names[isa], absent, 1, NULL, NULL);
    }
    return failed;
}
