/* test_sampler.c: the samplers (spec section 3) on synthetic logits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>
#include "bd3.h"
#include "gguf_build.h"
#include "sampler.h"

/* ---- parameters --------------------------------------------------------------------------- */

static void test_sampler_params_init_sets_documented_defaults(void **state)
{
    (void)state;
    bd3_sampler_params p;
    memset(&p, 0xff, sizeof p);
    bd3_sampler_params_init(&p);
    assert_int_equal(p.kind, BD3_SAMPLE_FIRST_HITTING);
    assert_int_equal(p.steps, 0);
    assert_true(p.threshold == 0.0 && p.temperature == 1.0 && p.top_p == 1.0);
    assert_int_equal(p.top_k, 0);
    assert_true(p.seed == 0);
}

static void test_sampler_kind_names_round_trip_and_unknown_fails(void **state)
{
    (void)state;
    bd3_sampler_kind kinds[] = {BD3_SAMPLE_FIRST_HITTING, BD3_SAMPLE_STEPS, BD3_SAMPLE_CONFIDENCE,
                                BD3_SAMPLE_MARGIN, BD3_SAMPLE_ENTROPY};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        bd3_sampler_kind k = (bd3_sampler_kind)99;
        assert_int_equal(bd3_sampler_kind_parse(bd3_sampler_kind_name(kinds[i]), &k), 0);
        assert_int_equal(k, kinds[i]);
    }
    bd3_sampler_kind k;
    assert_int_equal(bd3_sampler_kind_parse("nonsense", &k), -1);
    assert_int_equal(bd3_sampler_kind_parse(NULL, &k), -1);
    assert_string_equal(bd3_sampler_kind_name((bd3_sampler_kind)42), "unknown");
}

static void test_sampler_new_rejects_invalid_params(void **state)
{
    (void)state;
    bd3_sampler_params p;
    sampler *s;
    bd3_sampler_params_init(&p);
    p.temperature = 0.0;
    assert_int_equal(sampler_new(10, 9, &p, &s), BD3_E_ARG);
    bd3_sampler_params_init(&p);
    p.top_p = 0.0;
    assert_int_equal(sampler_new(10, 9, &p, &s), BD3_E_ARG);
    p.top_p = 1.5;
    assert_int_equal(sampler_new(10, 9, &p, &s), BD3_E_ARG);
    bd3_sampler_params_init(&p);
    p.top_k = -1;
    assert_int_equal(sampler_new(10, 9, &p, &s), BD3_E_ARG);
    bd3_sampler_params_init(&p);
    p.threshold = NAN;
    assert_int_equal(sampler_new(10, 9, &p, &s), BD3_E_ARG);
    bd3_sampler_params_init(&p);
    assert_int_equal(sampler_new(0, 0, &p, &s), BD3_E_ARG);
    assert_int_equal(sampler_new(10, 9, &p, &s), BD3_OK);
    sampler_free(s);
    sampler_free(NULL);
}

/* ---- single draws ------------------------------------------------------------------------- */

static sampler *make_sampler(int V, int32_t mask, double temp, int top_k, double top_p)
{
    bd3_sampler_params p;
    bd3_sampler_params_init(&p);
    p.temperature = temp;
    p.top_k = top_k;
    p.top_p = top_p;
    sampler *s = NULL;
    assert_int_equal(sampler_new(V, mask, &p, &s), BD3_OK);
    return s;
}

static void test_draw_never_returns_mask_even_when_its_logit_is_largest(void **state)
{
    (void)state;
    float logits[4] = {0.0f, 1.0f, 0.5f, 100.0f}; /* id 3 is the mask */
    sampler *s = make_sampler(4, 3, 1.0, 0, 1.0);
    bd3_rng r;
    bd3_rng_seed(&r, 1);
    for (int i = 0; i < 1000; i++) {
        sampler_draw d;
        assert_int_equal(sampler_draw_token(s, logits, &r, &d), BD3_OK);
        assert_true(d.token >= 0 && d.token < 3);
    }
    sampler_free(s);
}

static void test_draw_never_returns_banned_id_and_ban_can_be_cleared(void **state)
{
    (void)state;
    float logits[4] = {0.0f, 100.0f, 0.5f, 0.0f}; /* id 3 is the mask, id 1 dominates */
    sampler *s = make_sampler(4, 3, 1.0, 0, 1.0);
    sampler_ban(s, 1);
    bd3_rng r;
    bd3_rng_seed(&r, 1);
    for (int i = 0; i < 1000; i++) {
        sampler_draw d;
        assert_int_equal(sampler_draw_token(s, logits, &r, &d), BD3_OK);
        assert_true(d.token == 0 || d.token == 2);
    }
    sampler_ban(s, -1); /* cleared: the dominant id is drawn again */
    sampler_draw d;
    assert_int_equal(sampler_draw_token(s, logits, &r, &d), BD3_OK);
    assert_int_equal(d.token, 1);
    sampler_free(s);
}

static void test_draw_rejects_row_without_finite_logit(void **state)
{
    (void)state;
    float logits[3] = {NAN, -INFINITY, 5.0f}; /* id 2 is the mask */
    sampler *s = make_sampler(3, 2, 1.0, 0, 1.0);
    bd3_rng r;
    bd3_rng_seed(&r, 1);
    sampler_draw d;
    assert_int_equal(sampler_draw_token(s, logits, &r, &d), BD3_E_ARG);
    sampler_free(s);
}

static void test_draw_is_deterministic_per_seed(void **state)
{
    (void)state;
    enum { V = 50 };
    float logits[V];
    for (int v = 0; v < V; v++) logits[v] = (float)sin(v * 1.3);
    sampler *s = make_sampler(V, V - 1, 0.8, 0, 0.9);
    bd3_rng a, b, c;
    bd3_rng_seed(&a, 123);
    bd3_rng_seed(&b, 123);
    bd3_rng_seed(&c, 124);
    int differ = 0;
    for (int i = 0; i < 200; i++) {
        sampler_draw da, db, dc;
        sampler_draw_token(s, logits, &a, &da);
        sampler_draw_token(s, logits, &b, &db);
        sampler_draw_token(s, logits, &c, &dc);
        assert_int_equal(da.token, db.token);
        assert_true(da.conf == db.conf);
        differ += da.token != dc.token;
    }
    assert_true(differ > 20);
    sampler_free(s);
}

static void test_draw_frequencies_follow_softmax(void **state)
{
    (void)state;
    /* p = 1/7, 2/7, 4/7 over ids 0..2; id 3 is the mask. */
    float logits[4] = {0.0f, (float)log(2.0), (float)log(4.0), 3.0f};
    sampler *s = make_sampler(4, 3, 1.0, 0, 1.0);
    bd3_rng r;
    bd3_rng_seed(&r, 9);
    int count[3] = {0};
    const int n = 30000;
    for (int i = 0; i < n; i++) {
        sampler_draw d;
        sampler_draw_token(s, logits, &r, &d);
        count[d.token]++;
        double want = (d.token == 0 ? 1.0 : d.token == 1 ? 2.0 : 4.0) / 7.0;
        assert_true(fabs(d.conf - want) < 1e-6);
    }
    assert_true(fabs(count[0] / (double)n - 1.0 / 7) < 0.015);
    assert_true(fabs(count[1] / (double)n - 2.0 / 7) < 0.015);
    assert_true(fabs(count[2] / (double)n - 4.0 / 7) < 0.015);
    sampler_free(s);
}

static void test_temperature_divides_logits_before_softmax(void **state)
{
    (void)state;
    float logits[3] = {0.0f, 2.0f, -1.0f}; /* id 2 is the mask */
    sampler *s = make_sampler(3, 2, 2.0, 0, 1.0);
    bd3_rng r;
    bd3_rng_seed(&r, 5);
    double p1 = exp(1.0) / (1.0 + exp(1.0));
    for (int i = 0; i < 50; i++) {
        sampler_draw d;
        sampler_draw_token(s, logits, &r, &d);
        double want = d.token == 1 ? p1 : 1.0 - p1;
        assert_true(fabs(d.conf - want) < 1e-9);
        assert_true(fabs(d.margin - (2 * p1 - 1.0)) < 1e-9);
    }
    sampler_free(s);
}

static void test_top_k_keeps_only_k_best_and_renormalises(void **state)
{
    (void)state;
    float logits[6] = {1.0f, 3.0f, 2.0f, 0.0f, 2.5f, 9.0f}; /* id 5 is the mask */
    sampler *s = make_sampler(6, 5, 1.0, 2, 1.0);
    bd3_rng r;
    bd3_rng_seed(&r, 3);
    double z = exp(3.0) + exp(2.5);
    int seen[6] = {0};
    for (int i = 0; i < 2000; i++) {
        sampler_draw d;
        sampler_draw_token(s, logits, &r, &d);
        assert_true(d.token == 1 || d.token == 4);
        seen[d.token]++;
        assert_true(fabs(d.conf - exp(logits[d.token]) / z) < 1e-9);
    }
    assert_true(seen[1] > 0 && seen[4] > 0);
    sampler_free(s);
    s = make_sampler(6, 5, 1.0, 1, 1.0);
    for (int i = 0; i < 100; i++) {
        sampler_draw d;
        sampler_draw_token(s, logits, &r, &d);
        assert_int_equal(d.token, 1);
        assert_true(d.conf == 1.0);
    }
    sampler_free(s);
}

/* Probabilities 0.5, 0.25, 0.125, 0.125 (exact in binary) over ids 0..3; id 4 is the mask. */
static void quarter_logits(float *logits)
{
    logits[0] = (float)log(4.0);
    logits[1] = (float)log(2.0);
    logits[2] = 0.0f;
    logits[3] = 0.0f;
    logits[4] = 50.0f;
}

static void count_draws(sampler *s, const float *logits, int n, int *count, uint64_t seed)
{
    bd3_rng r;
    bd3_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        sampler_draw d;
        assert_int_equal(sampler_draw_token(s, logits, &r, &d), BD3_OK);
        count[d.token]++;
    }
}

static void test_top_p_below_top_token_keeps_only_top_token(void **state)
{
    (void)state;
    float logits[5];
    quarter_logits(logits);
    sampler *s = make_sampler(5, 4, 1.0, 0, 0.3);
    int count[5] = {0};
    count_draws(s, logits, 500, count, 11);
    assert_int_equal(count[0], 500);
    /* Confidence is the probability before top-p, not the renormalised 1. */
    bd3_rng r;
    bd3_rng_seed(&r, 1);
    sampler_draw d;
    sampler_draw_token(s, logits, &r, &d);
    assert_true(fabs(d.conf - 0.5) < 1e-6);
    sampler_free(s);
}

static void test_top_p_keeps_prefix_whose_cumulative_sum_is_at_most_p(void **state)
{
    (void)state;
    float logits[5];
    quarter_logits(logits);
    /* Cumulative sums 0.5, 0.75, 0.875 (up to float32 rounding of the logits): p just above
     * 0.75 keeps the first two. */
    sampler *s = make_sampler(5, 4, 1.0, 0, 0.750001);
    int count[5] = {0};
    count_draws(s, logits, 6000, count, 12);
    assert_int_equal(count[2] + count[3] + count[4], 0);
    /* Renormalised: 2/3 and 1/3. */
    assert_true(fabs(count[0] / 6000.0 - 2.0 / 3) < 0.03);
    sampler_free(s);
    /* p just below 0.75 keeps only the top token. */
    s = make_sampler(5, 4, 1.0, 0, 0.749999);
    memset(count, 0, sizeof count);
    count_draws(s, logits, 500, count, 13);
    assert_int_equal(count[0], 500);
    sampler_free(s);
}

static void test_top_p_one_keeps_every_token(void **state)
{
    (void)state;
    float logits[5];
    quarter_logits(logits);
    sampler *s = make_sampler(5, 4, 1.0, 0, 1.0);
    int count[5] = {0};
    count_draws(s, logits, 8000, count, 14);
    for (int v = 0; v < 4; v++) assert_true(count[v] > 0);
    assert_int_equal(count[4], 0);
    assert_true(fabs(count[3] / 8000.0 - 0.125) < 0.02);
    sampler_free(s);
}

static void test_top_p_with_tied_probabilities_breaks_ties_by_id(void **state)
{
    (void)state;
    /* Four equal tokens, p = 0.5: exactly the first two ids are kept. */
    float logits[5] = {1.0f, 1.0f, 1.0f, 1.0f, 0.0f};
    sampler *s = make_sampler(5, 4, 1.0, 0, 0.5);
    int count[5] = {0};
    count_draws(s, logits, 2000, count, 15);
    assert_true(count[0] > 0 && count[1] > 0);
    assert_int_equal(count[2] + count[3] + count[4], 0);
    sampler_free(s);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void test_top_p_on_large_vocabulary_matches_full_sort(void **state)
{
    (void)state;
    enum { V = 5000 };
    float *logits = malloc(V * sizeof *logits);
    double *prob = malloc(V * sizeof *prob);
    double *sorted = malloc(V * sizeof *sorted);
    bd3_rng g;
    bd3_rng_seed(&g, 77);
    for (int v = 0; v < V; v++) logits[v] = (float)(6.0 * bd3_rng_uniform(&g));
    const double top_p = 0.6;
    sampler_softmax(logits, V, V - 1, prob);
    memcpy(sorted, prob, V * sizeof *sorted);
    qsort(sorted, V, sizeof *sorted, cmp_desc);
    double cum = 0.0, cutoff = sorted[0];
    int n_nucleus = 0;
    while (n_nucleus < V && cum + sorted[n_nucleus] <= top_p) {
        cum += sorted[n_nucleus];
        cutoff = sorted[n_nucleus];
        n_nucleus++;
    }
    assert_true(n_nucleus > 10 && n_nucleus < V / 2);
    sampler *s = make_sampler(V, V - 1, 1.0, 0, top_p);
    bd3_rng r;
    bd3_rng_seed(&r, 78);
    int below = 0, lowest_hit = 0;
    for (int i = 0; i < 20000; i++) {
        sampler_draw d;
        sampler_draw_token(s, logits, &r, &d);
        below += prob[d.token] < cutoff;
        if (prob[d.token] == cutoff) lowest_hit = 1;
        assert_true(fabs(d.conf - prob[d.token]) < 1e-12);
    }
    assert_int_equal(below, 0);
    assert_true(lowest_hit || n_nucleus > 2000);
    sampler_free(s);
    free(logits);
    free(prob);
    free(sorted);
}

static void test_log_prob_matches_softmax_and_excludes_mask(void **state)
{
    (void)state;
    float logits[4] = {0.5f, -1.0f, 2.0f, 7.0f};
    double prob[4];
    double lse = sampler_softmax(logits, 4, 3, prob);
    assert_true(prob[3] == 0.0);
    assert_true(fabs(prob[0] + prob[1] + prob[2] - 1.0) < 1e-12);
    assert_true(fabs(lse - log(exp(0.5) + exp(-1.0) + exp(2.0))) < 1e-12);
    for (int v = 0; v < 3; v++) assert_true(fabs(sampler_log_prob(logits, 4, 3, v) - log(prob[v])) < 1e-12);
    assert_true(sampler_log_prob(logits, 4, 3, 3) == -INFINITY);
    assert_true(sampler_log_prob(logits, 4, 3, 9) == -INFINITY);
}

/* ---- schedule and canvas denoising ------------------------------------------------------- */

static void test_schedule_counts_cover_every_mask_and_end_with_all(void **state)
{
    (void)state;
    for (int T = 1; T <= 12; T++) {
        for (int m0 = 1; m0 <= 40; m0++) {
            int m = m0;
            for (int i = 0; i < T && m > 0; i++) {
                int k = sampler_schedule_count(m, i, T);
                assert_true(k >= 1 && k <= m);
                if (i == T - 1) assert_int_equal(k, m);
                m -= k;
            }
            assert_int_equal(m, 0);
        }
    }
    assert_int_equal(sampler_schedule_count(6, 0, 3), 2);
    assert_int_equal(sampler_schedule_count(4, 1, 3), 2);
    assert_int_equal(sampler_schedule_count(10, 0, 10), 1);
    assert_int_equal(sampler_schedule_count(0, 0, 3), 0);
}

enum { CV = 8, MASK = 7 }; /* canvas tests: vocabulary of 8, id 7 is the mask */

/* Fake model: position i prefers token i % 7 with a strength that grows with i. */
typedef struct fake_model {
    int n_calls;    /* calls made */
    int rows_total; /* rows asked for, summed */
    int fail_at;    /* call index that fails with BD3_E_IO, -1 never */
    int first_rows; /* rows asked for by the first call */
    float strength; /* logit of the preferred token per position index; 0 means 0.5 */
} fake_model;

/* Hands the rows over in chunks of up to 3, as a chunked forward pass does. */
static bd3_status fake_logits(void *user, const int32_t *ids, const int *rows, int n_rows, sampler_rows_fn fn,
                              void *fn_user)
{
    fake_model *f = user;
    (void)ids;
    if (f->n_calls == f->fail_at) return BD3_E_IO;
    if (f->n_calls == 0) f->first_rows = n_rows;
    f->n_calls++;
    f->rows_total += n_rows;
    float logits[3 * CV];
    for (int j0 = 0; j0 < n_rows; j0 += 3) {
        int nj = n_rows - j0 < 3 ? n_rows - j0 : 3;
        for (int j = 0; j < nj; j++) {
            int row = rows[j0 + j];
            for (int v = 0; v < CV; v++) logits[j * CV + v] = 0.0f;
            logits[j * CV + row % 7] = (f->strength > 0.0f ? f->strength : 0.5f) * (float)row;
            logits[j * CV + MASK] = 100.0f;
        }
        bd3_status st = fn(fn_user, j0, nj, logits);
        if (st != BD3_OK) return st;
    }
    return BD3_OK;
}

/* Delivers fewer rows than asked for. */
static bd3_status short_logits(void *user, const int32_t *ids, const int *rows, int n_rows,
                               sampler_rows_fn fn, void *fn_user)
{
    (void)user;
    (void)ids;
    (void)rows;
    float logits[CV] = {0};
    return n_rows > 1 ? fn(fn_user, 0, 1, logits) : BD3_OK;
}

static void make_canvas(int32_t *ids, float *conf, int n)
{
    for (int i = 0; i < n; i++) {
        ids[i] = (i % 3 == 0) ? i % 7 : MASK;
        conf[i] = -1.0f;
    }
}

static void run_canvas(bd3_sampler_kind kind, int steps, double threshold, uint64_t seed, int32_t *ids,
                       float *conf, int n, fake_model *f)
{
    bd3_sampler_params p;
    bd3_sampler_params_init(&p);
    p.kind = kind;
    p.steps = steps;
    p.threshold = threshold;
    sampler *s;
    assert_int_equal(sampler_new(CV, MASK, &p, &s), BD3_OK);
    bd3_rng r;
    bd3_rng_seed(&r, seed);
    make_canvas(ids, conf, n);
    memset(f, 0, sizeof *f);
    f->fail_at = -1;
    assert_int_equal(sampler_denoise(s, &r, ids, conf, n, fake_logits, f, NULL, NULL, NULL), BD3_OK);
    sampler_free(s);
}

/* One sampler denoising canvas after canvas (as continue does block after block), with more
 * masks, fewer, then more again, gives exactly what a fresh sampler gives for each canvas: its
 * buffers are reused and grown, never stale. */
static void test_sampler_reused_across_canvases_equals_fresh(void **state)
{
    (void)state;
    static const int sizes[4] = {6, 40, 9, 64};
    for (int kind = 0; kind < 3; kind++) {
        bd3_sampler_params p;
        bd3_sampler_params_init(&p);
        p.kind = kind == 0 ? BD3_SAMPLE_FIRST_HITTING : kind == 1 ? BD3_SAMPLE_CONFIDENCE : BD3_SAMPLE_STEPS;
        p.steps = kind ? 4 : 0;
        sampler *s;
        assert_int_equal(sampler_new(CV, MASK, &p, &s), BD3_OK);
        for (int k = 0; k < 4; k++) {
            int n = sizes[k];
            int32_t a[64], b[64];
            float ca[64], cb[64];
            bd3_rng r;
            bd3_rng_seed(&r, 100 + (uint64_t)k);
            make_canvas(a, ca, n);
            fake_model f = {.fail_at = -1};
            assert_int_equal(sampler_denoise(s, &r, a, ca, n, fake_logits, &f, NULL, NULL, NULL), BD3_OK);
            sampler *fresh;
            assert_int_equal(sampler_new(CV, MASK, &p, &fresh), BD3_OK);
            bd3_rng_seed(&r, 100 + (uint64_t)k);
            make_canvas(b, cb, n);
            fake_model g = {.fail_at = -1};
            assert_int_equal(sampler_denoise(fresh, &r, b, cb, n, fake_logits, &g, NULL, NULL, NULL), BD3_OK);
            sampler_free(fresh);
            assert_memory_equal(a, b, (size_t)n * sizeof *a);
            assert_memory_equal(ca, cb, (size_t)n * sizeof *ca);
            for (int i = 0; i < n; i++) assert_int_not_equal(a[i], MASK);
        }
        sampler_free(s);
    }
}

/* A sampler reset to other parameters (after a ban, banned ids and classes) draws exactly as a
 * fresh sampler with those parameters; a reset with bad parameters is refused and changes nothing. */
static void test_sampler_reset_equals_fresh(void **state)
{
    (void)state;
    bd3_sampler_params p;
    bd3_sampler_params_init(&p);
    p.kind = BD3_SAMPLE_CONFIDENCE;
    p.steps = 3;
    p.top_p = 0.5;
    sampler *s;
    assert_int_equal(sampler_new(CV, MASK, &p, &s), BD3_OK);
    static uint8_t banned[CV];
    static uint8_t tok_class[CV];
    uint32_t allow[64];
    for (int v = 0; v < CV; v++) banned[v] = v % 2, tok_class[v] = (uint8_t)(v % 3);
    for (int i = 0; i < 64; i++) allow[i] = 1u;
    sampler_ban(s, 2);
    sampler_ban_many(s, banned);
    sampler_set_classes(s, tok_class, allow);
    int32_t a[64], b[64];
    float ca[64], cb[64];
    bd3_rng r;
    bd3_rng_seed(&r, 9);
    make_canvas(a, ca, 40);
    fake_model f = {.fail_at = -1};
    assert_int_equal(sampler_denoise(s, &r, a, ca, 40, fake_logits, &f, NULL, NULL, NULL), BD3_OK);
    bd3_sampler_params q;
    bd3_sampler_params_init(&q);
    q.kind = BD3_SAMPLE_FIRST_HITTING;
    q.temperature = 0.7;
    bd3_sampler_params bad = q;
    bad.top_p = 0.0;
    assert_int_equal(sampler_reset(s, &bad), BD3_E_ARG);
    assert_int_equal(sampler_reset(s, &q), BD3_OK);
    sampler *fresh;
    assert_int_equal(sampler_new(CV, MASK, &q, &fresh), BD3_OK);
    for (int k = 0; k < 2; k++) {
        sampler *t = k ? fresh : s;
        int32_t *x = k ? b : a;
        float *cx = k ? cb : ca;
        bd3_rng_seed(&r, 21);
        make_canvas(x, cx, 48);
        fake_model g = {.fail_at = -1};
        assert_int_equal(sampler_denoise(t, &r, x, cx, 48, fake_logits, &g, NULL, NULL, NULL), BD3_OK);
    }
    assert_memory_equal(a, b, 48 * sizeof *a);
    assert_memory_equal(ca, cb, 48 * sizeof *ca);
    int odd = 0; /* ids the banned list had kept out are drawn again */
    for (int i = 0; i < 48; i++) odd += a[i] % 2;
    assert_true(odd > 0);
    sampler_free(s);
    sampler_free(fresh);
}

/* With classes set, each position draws only tokens of the class it asks for (the fake model
 * prefers another token at most positions); a position left free draws anything. */
static void test_sampler_classes_restrict_each_position(void **state)
{
    (void)state;
    enum { N = 24 };
    const uint8_t tok_class[CV] = {0, 1, 0, 1, 0, 1, 0, 2}; /* even ids 0, odd ids 1 */
    uint32_t pos_allow[N];
    for (uint64_t seed = 0; seed < 4; seed++) {
        bd3_sampler_params p;
        bd3_sampler_params_init(&p);
        p.seed = seed;
        sampler *s;
        assert_int_equal(sampler_new(CV, MASK, &p, &s), BD3_OK);
        int32_t ids[N];
        float conf[N];
        make_canvas(ids, conf, N);
        for (int i = 0; i < N; i++)
            pos_allow[i] = i % 4 == 1 ? 1u << 1 : i % 4 == 2 ? 1u << 0 : SAMPLER_ANY_CLASS;
        sampler_set_classes(s, tok_class, pos_allow);
        fake_model f = {.fail_at = -1, .strength = 4.0f};
        bd3_rng r;
        bd3_rng_seed(&r, seed);
        assert_int_equal(sampler_denoise(s, &r, ids, conf, N, fake_logits, &f, NULL, NULL, NULL), BD3_OK);
        for (int i = 0; i < N; i++) {
            if (i % 3 == 0) continue; /* given, not drawn */
            if (pos_allow[i] != SAMPLER_ANY_CLASS) assert_true((pos_allow[i] >> tok_class[ids[i]]) & 1u);
            assert_true(conf[i] > 0.0f && conf[i] <= 1.0f);
        }
        /* one draw: token 5 (odd) is all but certain; class 0 keeps the even ones only */
        sampler_draw d;
        float lg[CV] = {0, 0, 0, 0, 0, 30.0f, 0, 100.0f};
        assert_int_equal(sampler_draw_token_class(s, lg, 1u << 0, &r, &d), BD3_OK);
        assert_int_equal(d.token % 2, 0);
        assert_int_equal(sampler_draw_token_class(s, lg, 1u << 3, &r, &d), BD3_OK); /* none: any */
        assert_int_equal(d.token, 5);
        sampler_set_classes(s, NULL, NULL); /* cleared: the class asked for no longer applies */
        assert_int_equal(sampler_draw_token_class(s, lg, 1u << 0, &r, &d), BD3_OK);
        assert_int_equal(d.token, 5);
        sampler_free(s);
    }
}

static void test_every_sampler_fills_all_masks_and_keeps_unmasked_tokens(void **state)
{
    (void)state;
    bd3_sampler_kind kinds[] = {BD3_SAMPLE_FIRST_HITTING, BD3_SAMPLE_STEPS, BD3_SAMPLE_CONFIDENCE,
                                BD3_SAMPLE_MARGIN, BD3_SAMPLE_ENTROPY};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (int steps = 0; steps <= 5; steps += 5) {
            enum { N = 30 };
            int32_t ids[N];
            float conf[N];
            fake_model f;
            run_canvas(kinds[k], steps, 0.0, 1 + k, ids, conf, N, &f);
            for (int i = 0; i < N; i++) {
                if (i % 3 == 0) {
                    assert_int_equal(ids[i], i % 7);
                    assert_true(conf[i] == -1.0f);
                } else {
                    assert_true(ids[i] >= 0 && ids[i] < MASK);
                    assert_true(conf[i] > 0.0f && conf[i] <= 1.0f);
                }
            }
            if (kinds[k] == BD3_SAMPLE_FIRST_HITTING)
                assert_int_equal(f.n_calls, 20);
            else if (steps == 5)
                assert_true(f.n_calls >= 1 && f.n_calls <= 5);
            else
                assert_true(f.n_calls >= 1 && f.n_calls <= 20);
        }
    }
}

static void test_denoise_is_deterministic_per_seed(void **state)
{
    (void)state;
    enum { N = 40 };
    int32_t a[N], b[N], c[N];
    float ca[N], cb[N], cc[N];
    fake_model f;
    run_canvas(BD3_SAMPLE_STEPS, 6, 0.0, 99, a, ca, N, &f);
    run_canvas(BD3_SAMPLE_STEPS, 6, 0.0, 99, b, cb, N, &f);
    run_canvas(BD3_SAMPLE_STEPS, 6, 0.0, 100, c, cc, N, &f);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(ca, cb, sizeof ca);
    assert_true(memcmp(a, c, sizeof a) != 0);
}

static void test_ordered_sampler_unmasks_schedule_count_per_step(void **state)
{
    (void)state;
    enum { N = 9 }; /* 6 masks (positions not divisible by 3) */
    int32_t ids[N];
    float conf[N];
    fake_model f;
    run_canvas(BD3_SAMPLE_CONFIDENCE, 3, 0.0, 4, ids, conf, N, &f);
    assert_int_equal(f.n_calls, 3);
    assert_int_equal(f.rows_total, 6 + 4 + 2); /* every masked row is drawn each step */
}

static void test_threshold_keeps_every_confident_draw_in_one_step(void **state)
{
    (void)state;
    enum { N = 60 };
    int32_t ids[N];
    float conf[N];
    fake_model f;
    /* Positions >= 12 have logit margin >= 6 over 6 rivals: probability > 0.98. */
    run_canvas(BD3_SAMPLE_CONFIDENCE, 0, 0.9, 4, ids, conf, N, &f);
    /* Without a threshold: one per call (40 masks); with it, the confident ones go together. */
    assert_true(f.n_calls < 15);
    fake_model g;
    run_canvas(BD3_SAMPLE_CONFIDENCE, 0, 0.0, 4, ids, conf, N, &g);
    assert_int_equal(g.n_calls, 40);
}

/* Records the order in which positions are unmasked. */
typedef struct order_log {
    int32_t prev[64]; /* canvas ids at the previous callback */
    int order[64];    /* positions in unmask order */
    int n;            /* entries in order */
    int cancel_after; /* calls after which to cancel, -1 never */
} order_log;

static int log_step(void *user, const bd3_progress *p)
{
    order_log *l = user;
    for (int i = 0; i < p->n_canvas; i++) {
        if (l->prev[i] == MASK && p->ids[i] != MASK) l->order[l->n++] = i;
        l->prev[i] = p->ids[i];
    }
    return l->cancel_after >= 0 && p->n_calls >= l->cancel_after;
}

static bd3_status run_logged(bd3_sampler_kind kind, int32_t *ids, float *conf, int n, order_log *l,
                             fake_model *f)
{
    bd3_sampler_params p;
    bd3_sampler_params_init(&p);
    p.kind = kind;
    sampler *s;
    assert_int_equal(sampler_new(CV, MASK, &p, &s), BD3_OK);
    bd3_rng r;
    bd3_rng_seed(&r, 2);
    make_canvas(ids, conf, n);
    memcpy(l->prev, ids, (size_t)n * sizeof *ids);
    l->n = 0;
    memset(f, 0, sizeof *f);
    f->fail_at = -1;
    f->strength = 1.5f; /* distinct, unsaturated probabilities up to position 19 */
    bd3_progress prog = {.ids = ids, .conf = conf, .n_canvas = n};
    bd3_status st = sampler_denoise(s, &r, ids, conf, n, fake_logits, f, &prog, log_step, l);
    sampler_free(s);
    return st;
}

static void test_confidence_and_entropy_orders_unmask_most_certain_first(void **state)
{
    (void)state;
    enum { N = 20 };
    bd3_sampler_kind kinds[] = {BD3_SAMPLE_CONFIDENCE, BD3_SAMPLE_MARGIN, BD3_SAMPLE_ENTROPY};
    for (size_t k = 0; k < 3; k++) {
        int32_t ids[N];
        float conf[N];
        order_log l = {.cancel_after = -1};
        fake_model f;
        assert_int_equal(run_logged(kinds[k], ids, conf, N, &l, &f), BD3_OK);
        /* The fake model is more certain at later positions: unmasking goes right to left.
         * Margin and entropy depend only on the distribution; confidence depends on the token
         * drawn, which at the weakly peaked first positions may not be the preferred one. */
        assert_int_equal(l.n, 13);
        int checked = kinds[k] == BD3_SAMPLE_CONFIDENCE ? 8 : l.n;
        assert_int_equal(l.order[0], 19);
        for (int i = 1; i < checked; i++) assert_true(l.order[i] < l.order[i - 1]);
    }
}

static void test_callback_cancels_after_requested_call(void **state)
{
    (void)state;
    enum { N = 20 };
    int32_t ids[N];
    float conf[N];
    order_log l = {.cancel_after = 3};
    fake_model f;
    assert_int_equal(run_logged(BD3_SAMPLE_FIRST_HITTING, ids, conf, N, &l, &f), BD3_E_CANCELLED);
    assert_int_equal(f.n_calls, 3);
    int masks = 0;
    for (int i = 0; i < N; i++) masks += ids[i] == MASK;
    assert_int_equal(masks, 13 - 3);
}

static void test_logits_error_is_returned(void **state)
{
    (void)state;
    bd3_sampler_params p;
    bd3_sampler_params_init(&p);
    sampler *s;
    assert_int_equal(sampler_new(CV, MASK, &p, &s), BD3_OK);
    int32_t ids[10];
    float conf[10];
    make_canvas(ids, conf, 10);
    fake_model f = {.fail_at = 2};
    bd3_rng r;
    bd3_rng_seed(&r, 0);
    assert_int_equal(sampler_denoise(s, &r, ids, conf, 10, fake_logits, &f, NULL, NULL, NULL), BD3_E_IO);
    sampler_free(s);
}

static void test_denoise_rejects_logits_that_skip_rows(void **state)
{
    (void)state;
    bd3_sampler_params p;
    bd3_sampler_params_init(&p);
    p.kind = BD3_SAMPLE_CONFIDENCE;
    sampler *s;
    assert_int_equal(sampler_new(CV, MASK, &p, &s), BD3_OK);
    int32_t ids[10];
    float conf[10];
    make_canvas(ids, conf, 10);
    bd3_rng r;
    bd3_rng_seed(&r, 0);
    assert_int_equal(sampler_denoise(s, &r, ids, conf, 10, short_logits, NULL, NULL, NULL, NULL), BD3_E_ARG);
    sampler_free(s);
}

static void test_step_schedule_unmasks_half_at_first_of_two_steps(void **state)
{
    (void)state;
    /* T = 2: at step 0, t = 1, s = 1/2, each mask unmasks with probability 1/2; step 1 takes
     * the rest. */
    enum { N = 300 };
    int32_t ids[N];
    float conf[N];
    bd3_sampler_params p;
    bd3_sampler_params_init(&p);
    p.kind = BD3_SAMPLE_STEPS;
    p.steps = 2;
    sampler *s;
    assert_int_equal(sampler_new(CV, MASK, &p, &s), BD3_OK);
    int first = 0, total = 0;
    for (uint64_t seed = 0; seed < 20; seed++) {
        for (int i = 0; i < N; i++) ids[i] = MASK;
        fake_model f = {.fail_at = -1};
        bd3_rng r;
        bd3_rng_seed(&r, seed);
        assert_int_equal(sampler_denoise(s, &r, ids, conf, N, fake_logits, &f, NULL, NULL, NULL), BD3_OK);
        assert_int_equal(f.n_calls, 2);
        assert_int_equal(f.rows_total, N);
        first += f.first_rows;
        total += N;
    }
    assert_true(fabs(first / (double)total - 0.5) < 0.03);
    sampler_free(s);
}

/* ---- shared defaults and model metadata ---------------------------------------------------- */

static void test_builtin_defaults_are_the_documented_values(void **state)
{
    (void)state;
    bd3_defaults d;
    bd3_model_defaults(NULL, &d);
    assert_int_equal(d.sampler.kind, BD3_SAMPLE_FIRST_HITTING);
    assert_int_equal(d.sampler.steps, 0);
    assert_true(d.sampler.threshold == 0.0);
    assert_true(d.sampler.temperature == 1.0);
    assert_true(d.sampler.top_p == BD3_DEFAULT_TOP_P && d.sampler.top_p == 0.9);
    assert_int_equal(d.sampler.top_k, 0);
    assert_true(d.sampler.seed == 0);
    assert_int_equal(d.sampler.refresh, BD3_DEFAULT_REFRESH);
    assert_int_equal(d.sampler.refresh, 32);
    assert_true(d.revise_fraction == BD3_DEFAULT_REVISE_FRACTION && d.revise_fraction == 0.3);
    /* the defaults make a valid sampler */
    sampler *s = NULL;
    assert_int_equal(sampler_new(10, 9, &d.sampler, &s), BD3_OK);
    sampler_free(s);
}

/* Metadata of one test model: a key and how to write it. */
typedef struct kv_case {
    const char *key; /* metadata key */
    int type;        /* 0 u32, 1 f32, 2 string */
    uint32_t u;      /* value when u32 */
    float f;         /* value when f32 */
    const char *s;   /* value when string */
} kv_case;

static void add_kv_cases(gb_file *f, void *user)
{
    for (const kv_case *k = user; k->key; k++) {
        if (k->type == 0)
            gb_kv_u32(f, k->key, k->u);
        else if (k->type == 1)
            gb_kv_f32(f, k->key, k->f);
        else
            gb_kv_str(f, k->key, k->s);
    }
}

/* Writes the tiny model with the extra metadata to a temporary file and loads it. */
static bd3_status load_with_kv(const kv_case *cases, bd3_model **m, char *err, size_t err_size)
{
    gb_model_opts o;
    gb_model_opts_init(&o);
    o.more_kv = add_kv_cases;
    o.more_kv_user = (void *)cases;
    uint8_t *buf = NULL;
    size_t size = 0;
    gb_model(&o, &buf, &size);
    char path[] = "/tmp/bd3-defaults-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_true(write(fd, buf, size) == (ssize_t)size);
    close(fd);
    free(buf);
    bd3_status st = bd3_model_load(path, m, err, err_size);
    unlink(path);
    return st;
}

static void test_model_metadata_overrides_the_defaults(void **state)
{
    (void)state;
    const kv_case cases[] = {
        {"bd3lm.sampler.kind", 2, 0, 0, "confidence"},
        {"bd3lm.sampler.steps", 0, 7, 0, NULL},
        {"bd3lm.sampler.top_p", 1, 0, 0.75f, NULL},
        {"bd3lm.sampler.temperature", 1, 0, 0.5f, NULL},
        {"bd3lm.sampler.refresh", 0, 0, 0, NULL},
        {"bd3lm.sampler.revise_fraction", 1, 0, 0.5f, NULL},
        {NULL, 0, 0, 0, NULL},
    };
    bd3_model *m = NULL;
    char err[256] = "";
    assert_int_equal(load_with_kv(cases, &m, err, sizeof err), BD3_OK);
    bd3_defaults d;
    bd3_model_defaults(m, &d);
    assert_int_equal(d.sampler.kind, BD3_SAMPLE_CONFIDENCE);
    assert_int_equal(d.sampler.steps, 7);
    assert_true(d.sampler.top_p == 0.75);
    assert_true(d.sampler.temperature == 0.5);
    assert_int_equal(d.sampler.refresh, 0);
    assert_true(d.revise_fraction == 0.5);
    /* keys the model does not set keep the built-in values */
    assert_int_equal(d.sampler.top_k, 0);
    assert_true(d.sampler.threshold == 0.0);
    bd3_model_free(m);
    /* a model without sampler keys gives the built-in defaults */
    const kv_case none[] = {{NULL, 0, 0, 0, NULL}};
    assert_int_equal(load_with_kv(none, &m, err, sizeof err), BD3_OK);
    bd3_model_defaults(m, &d);
    assert_true(d.sampler.top_p == 0.9 && d.sampler.refresh == 32 && d.revise_fraction == 0.3);
    bd3_model_free(m);
}

static void test_bad_sampler_metadata_fails_the_load_naming_the_key(void **state)
{
    (void)state;
    const kv_case bad[][2] = {
        {{"bd3lm.sampler.top_p", 1, 0, 1.5f, NULL}, {NULL, 0, 0, 0, NULL}},
        {{"bd3lm.sampler.top_p", 1, 0, 0.0f, NULL}, {NULL, 0, 0, 0, NULL}},
        {{"bd3lm.sampler.temperature", 1, 0, -1.0f, NULL}, {NULL, 0, 0, 0, NULL}},
        {{"bd3lm.sampler.kind", 2, 0, 0, "sideways"}, {NULL, 0, 0, 0, NULL}},
        {{"bd3lm.sampler.kind", 0, 3, 0, NULL}, {NULL, 0, 0, 0, NULL}},
        {{"bd3lm.sampler.steps", 2, 0, 0, "many"}, {NULL, 0, 0, 0, NULL}},
        {{"bd3lm.sampler.revise_fraction", 1, 0, 2.0f, NULL}, {NULL, 0, 0, 0, NULL}},
        {{"bd3lm.sampler.threshold", 1, 0, NAN, NULL}, {NULL, 0, 0, 0, NULL}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bd3_model *m = (bd3_model *)1;
        char err[256] = "";
        assert_int_equal(load_with_kv(bad[i], &m, err, sizeof err), BD3_E_FORMAT);
        assert_null(m);
        assert_non_null(strstr(err, bad[i][0].key));
    }
}

static void test_fresh_seeds_are_nonzero_and_differ(void **state)
{
    (void)state;
    uint64_t a = bd3_rng_fresh_seed(), b = bd3_rng_fresh_seed();
    assert_true(a != 0 && b != 0);
    assert_true(a != b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_defaults_are_the_documented_values),
        cmocka_unit_test(test_model_metadata_overrides_the_defaults),
        cmocka_unit_test(test_bad_sampler_metadata_fails_the_load_naming_the_key),
        cmocka_unit_test(test_fresh_seeds_are_nonzero_and_differ),
        cmocka_unit_test(test_sampler_params_init_sets_documented_defaults),
        cmocka_unit_test(test_sampler_kind_names_round_trip_and_unknown_fails),
        cmocka_unit_test(test_sampler_new_rejects_invalid_params),
        cmocka_unit_test(test_draw_never_returns_mask_even_when_its_logit_is_largest),
        cmocka_unit_test(test_draw_never_returns_banned_id_and_ban_can_be_cleared),
        cmocka_unit_test(test_draw_rejects_row_without_finite_logit),
        cmocka_unit_test(test_draw_is_deterministic_per_seed),
        cmocka_unit_test(test_draw_frequencies_follow_softmax),
        cmocka_unit_test(test_temperature_divides_logits_before_softmax),
        cmocka_unit_test(test_top_k_keeps_only_k_best_and_renormalises),
        cmocka_unit_test(test_top_p_below_top_token_keeps_only_top_token),
        cmocka_unit_test(test_top_p_keeps_prefix_whose_cumulative_sum_is_at_most_p),
        cmocka_unit_test(test_top_p_one_keeps_every_token),
        cmocka_unit_test(test_top_p_with_tied_probabilities_breaks_ties_by_id),
        cmocka_unit_test(test_top_p_on_large_vocabulary_matches_full_sort),
        cmocka_unit_test(test_log_prob_matches_softmax_and_excludes_mask),
        cmocka_unit_test(test_schedule_counts_cover_every_mask_and_end_with_all),
        cmocka_unit_test(test_every_sampler_fills_all_masks_and_keeps_unmasked_tokens),
        cmocka_unit_test(test_sampler_classes_restrict_each_position),
        cmocka_unit_test(test_sampler_reused_across_canvases_equals_fresh),
        cmocka_unit_test(test_sampler_reset_equals_fresh),
        cmocka_unit_test(test_denoise_is_deterministic_per_seed),
        cmocka_unit_test(test_ordered_sampler_unmasks_schedule_count_per_step),
        cmocka_unit_test(test_threshold_keeps_every_confident_draw_in_one_step),
        cmocka_unit_test(test_confidence_and_entropy_orders_unmask_most_certain_first),
        cmocka_unit_test(test_callback_cancels_after_requested_call),
        cmocka_unit_test(test_logits_error_is_returned),
        cmocka_unit_test(test_denoise_rejects_logits_that_skip_rows),
        cmocka_unit_test(test_step_schedule_unmasks_half_at_first_of_two_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
