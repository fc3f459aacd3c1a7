/* test_fit.c: the span NELBO and the length that fits (fit.c) on a small random-weight fixture
 * model generated at test time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "bd3.h"
#include "ops.h"

static bd3_model *g_model; /* the fixture, loaded once */
static bd3_ctx *g_ctx;     /* a context on it */

#include "fixture.h"

static int group_setup(void **state)
{
    (void)state;
    return fixture_open(1, &g_model, &g_ctx);
}

static int group_teardown(void **state)
{
    (void)state;
    fixture_close(g_model, g_ctx);
    return 0;
}

static const bd3_hparams *hp(void) { return bd3_model_hparams(g_model); }

static bd3_sampler_params params(bd3_sampler_kind kind, int steps, uint64_t seed)
{
    bd3_sampler_params p;
    bd3_sampler_params_init(&p);
    p.kind = kind;
    p.steps = steps;
    p.seed = seed;
    return p;
}

typedef struct cancel_state {
    int calls;       /* callbacks seen */
    int cancel_at;   /* callback number that returns nonzero */
    int last_masked; /* n_masked of the last callback */
} cancel_state;

static int cancel_cb(void *user, const bd3_progress *p)
{
    cancel_state *s = user;
    s->calls++;
    s->last_masked = p->n_masked;
    return s->calls >= s->cancel_at;
}

/* log p(ids[pos]) with pos alone masked, from the logits (float64 log-softmax, mask excluded). */
static double logp_alone(const int32_t *ids, int n, int pos)
{
    const int V = hp()->n_vocab;
    int32_t *canvas = malloc((size_t)n * sizeof *canvas);
    float *lg = malloc((size_t)V * sizeof *lg);
    memcpy(canvas, ids, (size_t)n * sizeof *canvas);
    canvas[pos] = hp()->mask_id;
    assert_int_equal(bd3_forward_rows(g_ctx, canvas, n, BD3_GLOBAL, &pos, 1, lg), BD3_OK);
    double mx = -INFINITY, sum = 0.0;
    for (int v = 0; v < V; v++)
        if (v != hp()->mask_id && lg[v] > mx) mx = lg[v];
    for (int v = 0; v < V; v++)
        if (v != hp()->mask_id) sum += exp((double)lg[v] - mx);
    double r = (double)lg[ids[pos]] - mx - log(sum);
    free(canvas);
    free(lg);
    return r;
}

/* The span NELBO of one token is -log p of that token masked alone; of several, finite,
 * positive, reproducible per seed; bad targets are refused. */
static void test_nelbo_span_of_one_token_is_its_log_prob_and_checks_input(void **state)
{
    (void)state;
    enum { N = 32 };
    int32_t ids[N];
    uint8_t target[N] = {0};
    fixture_fill_ids(hp(), ids, N, 22);
    target[9] = 1;
    double nats = 0.0;
    assert_int_equal(bd3_nelbo_span(g_ctx, ids, N, target, 4, 1, &nats), BD3_OK);
    assert_true(fabs(nats + logp_alone(ids, N, 9)) < 1e-6);
    for (int i = 10; i < 20; i++) target[i] = 1;
    double a = 0.0, b = 0.0, c = 0.0;
    assert_int_equal(bd3_nelbo_span(g_ctx, ids, N, target, 8, 5, &a), BD3_OK);
    assert_int_equal(bd3_nelbo_span(g_ctx, ids, N, target, 8, 5, &b), BD3_OK);
    assert_int_equal(bd3_nelbo_span(g_ctx, ids, N, target, 8, 6, &c), BD3_OK);
    assert_true(isfinite(a) && a > 0.0);
    assert_true(a == b);
    assert_true(a != c);
    memset(target, 0, sizeof target);
    assert_int_equal(bd3_nelbo_span(g_ctx, ids, N, target, 8, 5, &a), BD3_E_ARG); /* empty */
    target[3] = 1;
    ids[3] = hp()->mask_id;
    assert_int_equal(bd3_nelbo_span(g_ctx, ids, N, target, 8, 5, &a), BD3_E_ARG); /* a mask */
}

/* The length that fits is the length whose fill has the fewest nats per byte: each length's fill
 * (bd3_infill with the same parameters) scored by bd3_nelbo_span gives the same winner. */
static void test_infill_fit_keeps_the_length_with_fewest_nats_per_byte(void **state)
{
    (void)state;
    enum { N = 40, LO = 12, HI = 18, MIN = 3, MAX = 9 };
    int32_t ids[N];
    fixture_fill_ids(hp(), ids, N, 23);
    bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, 9);
    int32_t out[MAX];
    float out_conf[MAX];
    int n_out = 0;
    double npb = 0.0;
    cancel_state cs = {.cancel_at = 1 << 30};
    assert_int_equal(
        bd3_infill_fit(g_ctx, &p, ids, N, LO, HI, MIN, MAX, 4, out, out_conf, &n_out, &npb, cancel_cb, &cs),
        BD3_OK);
    assert_true(n_out >= MIN && n_out <= MAX);
    int sum_len = 0;
    for (int len = MIN; len <= MAX; len++) sum_len += len;
    assert_int_equal(cs.calls, sum_len); /* first hitting: one call per token of every length */
    double best = INFINITY;
    int best_len = 0;
    for (int len = MIN; len <= MAX; len++) {
        int32_t w[N + MAX];
        float cf[N + MAX];
        uint8_t target[N + MAX] = {0};
        int wn = N - (HI - LO) + len;
        memcpy(w, ids, LO * sizeof *w);
        for (int i = LO; i < LO + len; i++) w[i] = hp()->mask_id;
        for (int i = LO - 8; i < LO + len + 8; i++) /* the fill and 8 tokens on each side */
            target[i] = 1;
        memcpy(w + LO + len, ids + HI, (N - HI) * sizeof *w);
        memset(cf, 0, sizeof cf);
        assert_int_equal(bd3_infill(g_ctx, &p, w, cf, wn, NULL, NULL), BD3_OK);
        double nats;
        assert_int_equal(bd3_nelbo_span(g_ctx, w, wn, target, 4, p.seed, &nats), BD3_OK);
        size_t bytes = 0;
        for (int i = LO - 8; i < LO + len + 8; i++) {
            size_t bl = 0;
            bd3_token_bytes(g_model, w[i], &bl);
            bytes += bl;
        }
        double per = nats / (double)bytes;
        if (per < best) {
            best = per;
            best_len = len;
            if (len == n_out) {
                assert_memory_equal(out, w + LO, (size_t)len * sizeof *out);
                assert_memory_equal(out_conf, cf + LO, (size_t)len * sizeof *out_conf);
            }
        }
    }
    assert_int_equal(n_out, best_len);
    assert_true(fabs(npb - best) < 1e-12);
    /* a window that would not fit at the longest length, and bad lengths */
    assert_int_equal(
        bd3_infill_fit(g_ctx, &p, ids, N, LO, HI, MIN, hp()->n_ctx, 4, out, NULL, &n_out, NULL, NULL, NULL),
        BD3_E_ARG);
    assert_int_equal(bd3_infill_fit(g_ctx, &p, ids, N, LO, HI, 0, 4, 4, out, NULL, &n_out, NULL, NULL, NULL),
                     BD3_E_ARG);
    assert_int_equal(bd3_infill_fit(g_ctx, &p, ids, N, LO, HI, 5, 4, 4, out, NULL, &n_out, NULL, NULL, NULL),
                     BD3_E_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nelbo_span_of_one_token_is_its_log_prob_and_checks_input),
        cmocka_unit_test(test_infill_fit_keeps_the_length_with_fewest_nats_per_byte),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
