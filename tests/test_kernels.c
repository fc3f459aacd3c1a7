/* test_kernels.c: each numeric kernel of the forward pass against naive double-precision loops
 * (exp, softmax with row lengths, GELU, layer norm with modulation, gated residual, RoPE). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "kernels.h"

static uint64_t rng_state = 88172645463325252ull; /* xorshift state */

static double rnd(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) * 0x1p-52 - 1.0;
}

static void fill(float *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * rnd());
}

static void test_kern_exp_matches_libm(void **state)
{
    (void)state;
    enum { N = 4099 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    for (int i = 0; i < N; i++) x[i] = -87.0f + 175.0f * (float)i / (N - 1);
    x[5] = 0.0f;
    kern_exp(x, y, N);
    double worst = 0.0;
    for (int i = 0; i < N; i++) {
        double want = exp((double)x[i]);
        double rel = fabs(y[i] - want) / want;
        if (rel > worst) worst = rel;
    }
    assert_true(y[5] == 1.0f);
    if (!(worst < 3e-7)) fail_msg("exp relative error %.3e", worst);
    free(x);
    free(y);
}

static void test_kern_softmax_rows_matches_naive(void **state)
{
    (void)state;
    enum { ROWS = 7, WIDTH = 53, STRIDE = 60 };
    float s[ROWS * STRIDE];
    double ref[ROWS * STRIDE];
    int len[ROWS] = {1, 5, 16, 17, 33, 48, 53};
    fill(s, ROWS * STRIDE, 20.0);
    for (int i = 0; i < ROWS; i++) {
        double mx = -1e300, sum = 0.0;
        for (int j = 0; j < len[i]; j++) mx = fmax(mx, s[i * STRIDE + j]);
        for (int j = 0; j < len[i]; j++) sum += exp(s[i * STRIDE + j] - mx);
        for (int j = 0; j < WIDTH; j++)
            ref[i * STRIDE + j] = j < len[i] ? exp(s[i * STRIDE + j] - mx) / sum : 0.0;
    }
    s[STRIDE - 1] = 123.0f; /* beyond width: must stay */
    float s2[ROWS * STRIDE], inv[ROWS];
    memcpy(s2, s, sizeof s);
    kern_softmax_rows(s, ROWS, STRIDE, WIDTH, len, NULL);
    kern_softmax_rows(s2, ROWS, STRIDE, WIDTH, len, inv);
    for (int i = 0; i < ROWS; i++) /* unnormalised rows times inv_sum give the same */
        for (int j = 0; j < WIDTH; j++)
            assert_true(fabs(s2[i * STRIDE + j] * inv[i] - s[i * STRIDE + j]) < 1e-7);
    assert_true(s[STRIDE - 1] == 123.0f);
    for (int i = 0; i < ROWS; i++) {
        double total = 0.0;
        for (int j = 0; j < WIDTH; j++) {
            double got = s[i * STRIDE + j], want = ref[i * STRIDE + j];
            if (j >= len[i]) assert_true(got == 0.0);
            if (fabs(got - want) > 1e-6 * fmax(want, 1e-3))
                fail_msg("row %d col %d: %g vs %g", i, j, got, want);
            total += got;
        }
        assert_true(fabs(total - 1.0) < 1e-5);
    }
}

static void test_kern_bias_gelu_matches_naive(void **state)
{
    (void)state;
    enum { N = 3, D = 45 };
    float x[N * D], b[D], orig[N * D];
    fill(x, N * D, 6.0);
    fill(b, D, 1.0);
    x[0] = 40.0f; /* tanh saturates */
    x[1] = -40.0f;
    for (int i = 0; i < N * D; i++) orig[i] = x[i];
    kern_bias_gelu(x, b, N, D);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) {
            double v = (double)orig[i * D + j] + b[j];
            double want = 0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
            double got = x[i * D + j];
            if (fabs(got - want) > 2e-6 * fmax(fabs(want), 1.0))
                fail_msg("gelu(%g) = %g, want %g", v, got, want);
        }
}

static void test_kern_norm_mod_matches_naive(void **state)
{
    (void)state;
    enum { N = 4, D = 37 };
    float x[N * D], w[D], sh[D], sc[D], out[N * D];
    fill(x, N * D, 3.0);
    for (int j = 0; j < D; j++) x[j] += 100.0f; /* large mean in row 0 */
    fill(w, D, 1.0);
    fill(sh, D, 0.5);
    fill(sc, D, 0.5);
    kern_norm_mod(x, N, D, 1e-5f, w, sh, sc, out);
    for (int i = 0; i < N; i++) {
        double mean = 0.0, var = 0.0;
        for (int j = 0; j < D; j++) mean += x[i * D + j];
        mean /= D;
        for (int j = 0; j < D; j++) var += (x[i * D + j] - mean) * (x[i * D + j] - mean);
        var /= D;
        for (int j = 0; j < D; j++) {
            double want = (x[i * D + j] - mean) / sqrt(var + 1e-5) * w[j] * (1.0 + sc[j]) + sh[j];
            if (fabs(out[i * D + j] - want) > 2e-5 * fmax(fabs(want), 1.0))
                fail_msg("row %d col %d: %g vs %g", i, j, out[i * D + j], want);
        }
    }
    kern_norm_mod(x, N, D, 1e-5f, w, sh, sc, x); /* in place gives the same */
    for (int i = 0; i < N * D; i++) assert_true(x[i] == out[i]);
}

static void test_kern_gate_add_matches_naive(void **state)
{
    (void)state;
    enum { N = 3, D = 11 };
    float h[N * D], h2[N * D], orig[N * D], y[N * D], g[D], b[D];
    fill(h, N * D, 1.0);
    fill(y, N * D, 1.0);
    fill(g, D, 1.0);
    fill(b, D, 1.0);
    for (int i = 0; i < N * D; i++) h2[i] = orig[i] = h[i];
    kern_gate_add(h, y, b, g, N, D);
    kern_gate_add(h2, y, NULL, g, N, D);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++) {
            double yv = y[i * D + j], o = orig[i * D + j];
            assert_true(fabs(h[i * D + j] - (o + g[j] * (yv + b[j]))) < 1e-6);
            assert_true(fabs(h2[i * D + j] - (o + g[j] * yv)) < 1e-6);
        }
}

static void test_kern_rope_matches_formula(void **state)
{
    (void)state;
    enum { NPOS = 700, HD = 16, H = 3, N = 5, STRIDE = 3 * H * HD };
    float *cs = malloc(NPOS * HD / 2 * sizeof(float)), *sn = malloc(NPOS * HD / 2 * sizeof(float));
    kern_rope_table(NPOS, HD, 10000.0f, cs, sn);
    float x[N * STRIDE], orig[N * STRIDE];
    fill(x, N * STRIDE, 2.0);
    for (int i = 0; i < N * STRIDE; i++) orig[i] = x[i];
    int pos0 = 690;
    kern_rope(x, N, STRIDE, H, HD, pos0, cs, sn);
    for (int i = 0; i < N; i++)
        for (int h = 0; h < H; h++)
            for (int j = 0; j < HD / 2; j++) {
                float inv = (float)(1.0 / pow(10000.0, 2.0 * j / HD));
                double ang = (double)((float)(pos0 + i) * inv);
                const float *o = orig + i * STRIDE + h * HD;
                double a = o[j], b = o[j + HD / 2];
                double w0 = a * cos(ang) - b * sin(ang), w1 = b * cos(ang) + a * sin(ang);
                assert_true(fabs(x[i * STRIDE + h * HD + j] - w0) < 1e-5);
                assert_true(fabs(x[i * STRIDE + h * HD + j + HD / 2] - w1) < 1e-5);
            }
    /* the rest of each row (past the heads) is untouched */
    for (int i = 0; i < N; i++)
        for (int j = H * HD; j < STRIDE; j++) assert_true(x[i * STRIDE + j] == orig[i * STRIDE + j]);
    /* position 0 is the identity */
    float y[HD], y0[HD];
    fill(y, HD, 1.0);
    for (int j = 0; j < HD; j++) y0[j] = y[j];
    kern_rope(y, 1, HD, 1, HD, 0, cs, sn);
    for (int j = 0; j < HD; j++) assert_true(y[j] == y0[j]);
    free(cs);
    free(sn);
}

static enum kern_isa group_isa; /* instruction set of the group being run */

/* Group setup: the kernels run on group_isa. */
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

/* The chosen instruction set is one the CPU runs; kern_isa_set accepts exactly those; an
 * instruction set is chosen over the ones before it when the CPU runs both. */
static void test_kern_isa_choice_is_consistent(void **state)
{
    (void)state;
    enum kern_isa best = kern_isa_best();
    assert_true(kern_isa_has(best));
    assert_true(kern_isa_has(KERN_ISA_BASE));
    for (int isa = best + 1; isa < KERN_ISA_COUNT; isa++) /* AVX-VNNI alone may run below best */
        assert_true(!kern_isa_has((enum kern_isa)isa) || isa == KERN_ISA_AVX_VNNI);
    if (kern_cpu_has_avx_vnni()) {
        assert_true(kern_isa_has(KERN_ISA_AVX_VNNI));
        assert_true(best >= KERN_ISA_AVX_VNNI);
    }
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
        assert_int_equal(kern_isa_set((enum kern_isa)isa), kern_isa_has((enum kern_isa)isa) ? 0 : -1);
        for (int other = 0; other < isa; other++)
            assert_string_not_equal(kern_isa_name((enum kern_isa)isa), kern_isa_name((enum kern_isa)other));
    }
    assert_int_equal(kern_isa_set(KERN_ISA_COUNT), -1);
    assert_string_equal(kern_isa_name(KERN_ISA_COUNT), "?");
    assert_int_equal(kern_isa_set(best), 0);
    assert_int_equal(kern_isa(), best);
}

/* BD3_MAX_ISA's values: a name caps the choice at that instruction set or the best one before it
 * that the CPU runs; no name or an unknown one leaves the best. */
static void test_kern_isa_cap_names(void **state)
{
    (void)state;
    enum kern_isa best = kern_isa_best();
    assert_int_equal(kern_isa_cap(NULL), best);
    assert_int_equal(kern_isa_cap("sse9"), best);
    assert_int_equal(kern_isa_cap(""), best);
    assert_int_equal(kern_isa_cap("portable"), KERN_ISA_BASE);
    for (int isa = 0; isa < KERN_ISA_COUNT; isa++) {
        enum kern_isa got = kern_isa_cap(kern_isa_name((enum kern_isa)isa));
        assert_true(kern_isa_has(got));
        assert_true((int)got <= isa);
        if (kern_isa_has((enum kern_isa)isa)) assert_int_equal(got, isa);
        for (int between = got + 1; between <= isa; between++) /* nothing runnable skipped */
            assert_false(kern_isa_has((enum kern_isa)between));
    }
    assert_int_equal(kern_isa_cap(kern_isa_name((enum kern_isa)(KERN_ISA_COUNT - 1))), best); /* the last */
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
    const struct CMUnitTest choice[] = {
        cmocka_unit_test(test_kern_isa_choice_is_consistent),
        cmocka_unit_test(test_kern_isa_cap_names),
    };
    const struct CMUnitTest kernels[] = {
        cmocka_unit_test(test_kern_exp_matches_libm),
        cmocka_unit_test(test_kern_softmax_rows_matches_naive),
        cmocka_unit_test(test_kern_bias_gelu_matches_naive),
        cmocka_unit_test(test_kern_norm_mod_matches_naive),
        cmocka_unit_test(test_kern_gate_add_matches_naive),
        cmocka_unit_test(test_kern_rope_matches_formula),
    };
    const struct CMUnitTest absent[] = {
        cmocka_unit_test(test_variant_needs_instructions_this_cpu_lacks),
    };
    static const char *names[KERN_ISA_COUNT] = {
        "kernels, portable C", "kernels, AVX2",         "kernels, AVX-VNNI (AVX2 kernels)",
        "kernels, AVX-512",    "kernels, AVX-512 VNNI", "kernels, AVX-512 VNNI and BF16"};
    int failed = cmocka_run_group_tests(choice, NULL, NULL);
    /* every variant this CPU can run, each against the same naive loops */
    for (int isa = KERN_ISA_BASE; isa < KERN_ISA_COUNT; isa++) {
        group_isa = (enum kern_isa)isa;
        print_message("-- %s\n", names[isa]);
        if (kern_isa_has(group_isa))
            failed += _cmocka_run_group_tests(names[isa], kernels, sizeof kernels / sizeof kernels[0],
                                              isa_setup, isa_teardown);
        else
            failed += _cmocka_run_group_tests(names[isa], absent, 1, NULL, NULL);
    }
    return failed;
}
