/* test_rng.c: the engine's random number generator (splitmix64-seeded xoshiro256**): known
 * values, reproducible sequences per seed, uniform draws in [0, 1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <cmocka.h>
#include "bd3.h"

static void test_rng_matches_xoshiro256starstar_reference(void **state)
{
    (void)state;
    /* Values from an independent Python implementation of splitmix64 + xoshiro256**. */
    bd3_rng r;
    bd3_rng_seed(&r, 42);
    assert_true(bd3_rng_u64(&r) == 0x15780b2e0c2ec716ULL);
    assert_true(bd3_rng_u64(&r) == 0x6104d9866d113a7eULL);
    assert_true(bd3_rng_u64(&r) == 0xae17533239e499a1ULL);
}

static void test_rng_same_seed_same_sequence_other_seed_differs(void **state)
{
    (void)state;
    bd3_rng a, b, c;
    bd3_rng_seed(&a, 7);
    bd3_rng_seed(&b, 7);
    bd3_rng_seed(&c, 8);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = bd3_rng_u64(&a);
        assert_true(x == bd3_rng_u64(&b));
        differ += x != bd3_rng_u64(&c);
    }
    assert_true(differ > 90);
}

static void test_rng_uniform_in_unit_interval_with_mean_half(void **state)
{
    (void)state;
    bd3_rng r;
    bd3_rng_seed(&r, 0);
    double sum = 0.0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        double u = bd3_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
    }
    assert_true(fabs(sum / n - 0.5) < 0.01);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_matches_xoshiro256starstar_reference),
        cmocka_unit_test(test_rng_same_seed_same_sequence_other_seed_differs),
        cmocka_unit_test(test_rng_uniform_in_unit_interval_with_mean_half),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
