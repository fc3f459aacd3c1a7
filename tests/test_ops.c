/* test_ops.c: infill, continue, score, revise, alternatives and NELBO on a small random-weight
 * fixture model generated at test time. */
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

/* Allocations of the engine and of this program go through these (tests/test_ops.ldflags wraps
 * malloc, calloc, realloc and posix_memalign), counted while g_counting is set. */
static int g_counting; /* 1 while allocations are counted */
static long g_allocs;  /* allocations counted */
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
void *__wrap_malloc(size_t n)
{
    g_allocs += g_counting;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t k, size_t n)
{
    g_allocs += g_counting;
    return __real_calloc(k, n);
}
void *__wrap_realloc(void *p, size_t n)
{
    g_allocs += g_counting;
    return __real_realloc(p, n);
}
int __wrap_posix_memalign(void **p, size_t align, size_t n)
{
    g_allocs += g_counting;
    return __real_posix_memalign(p, align, n);
}

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

/* ---- logits of selected rows --------------------------------------------------------------- */

static void test_forward_rows_equal_rows_of_full_forward(void **state)
{
    (void)state;
    const int n = 40, V = hp()->n_vocab;
    int32_t ids[40];
    fixture_fill_ids(hp(), ids, n, 30);
    ids[3] = ids[17] = hp()->mask_id;
    float *full = malloc((size_t)n * V * sizeof *full);
    float *part = malloc((size_t)4 * V * sizeof *part);
    int rows[4] = {0, 3, 17, 39};
    int modes[2] = {BD3_GLOBAL, 8};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(bd3_forward(g_ctx, ids, n, modes[k], full), BD3_OK);
        assert_int_equal(bd3_forward_rows(g_ctx, ids, n, modes[k], rows, 4, part), BD3_OK);
        for (int j = 0; j < 4; j++)
            for (int v = 0; v < V; v++)
                assert_true(fabsf(part[(size_t)j * V + v] - full[(size_t)rows[j] * V + v]) < 1e-5f);
    }
    int bad[2] = {5, 5};
    assert_int_equal(bd3_forward_rows(g_ctx, ids, n, BD3_GLOBAL, bad, 2, part), BD3_E_ARG);
    bad[1] = n;
    assert_int_equal(bd3_forward_rows(g_ctx, ids, n, BD3_GLOBAL, bad, 2, part), BD3_E_ARG);
    free(full);
    free(part);
}

/* Collects chunks of bd3_forward_rows_each into one array. */
typedef struct chunk_log {
    float *all;  /* [n_rows, V] logits gathered */
    int next;    /* row expected next */
    int max_nj;  /* largest chunk seen */
    int fail_at; /* j0 at which to return BD3_E_IO, -1 never */
} chunk_log;

static bd3_status collect_rows(void *user, int j0, int nj, const float *logits)
{
    chunk_log *l = user;
    const int V = hp()->n_vocab;
    if (j0 == l->fail_at) return BD3_E_IO;
    assert_int_equal(j0, l->next);
    memcpy(l->all + (size_t)j0 * V, logits, (size_t)nj * V * sizeof *logits);
    l->next = j0 + nj;
    if (nj > l->max_nj) l->max_nj = nj;
    return BD3_OK;
}

static void test_forward_rows_each_hands_over_all_rows_in_chunks(void **state)
{
    (void)state;
    const int n = 50, V = hp()->n_vocab;
    int32_t ids[50];
    int rows[11];
    fixture_fill_ids(hp(), ids, n, 31);
    for (int j = 0; j < 11; j++) rows[j] = 4 * j + 3;
    float *want = malloc((size_t)11 * V * sizeof *want);
    float *chunk = malloc((size_t)4 * V * sizeof *chunk);
    chunk_log l = {.all = malloc((size_t)11 * V * sizeof(float)), .fail_at = -1};
    assert_int_equal(bd3_forward_rows(g_ctx, ids, n, BD3_GLOBAL, rows, 11, want), BD3_OK);
    assert_int_equal(bd3_forward_rows_each(g_ctx, ids, n, BD3_GLOBAL, rows, 11, 4, chunk, collect_rows, &l),
                     BD3_OK);
    assert_int_equal(l.next, 11);
    assert_int_equal(l.max_nj, 4);
    for (size_t i = 0; i < (size_t)11 * V; i++) assert_true(fabsf(l.all[i] - want[i]) < 1e-5f);
    chunk_log f = {.all = l.all, .fail_at = 8};
    assert_int_equal(bd3_forward_rows_each(g_ctx, ids, n, BD3_GLOBAL, rows, 11, 4, chunk, collect_rows, &f),
                     BD3_E_IO);
    free(want);
    free(chunk);
    free(l.all);
}

/* ---- infill ------------------------------------------------------------------------------- */

static void test_infill_fills_every_mask_and_keeps_other_tokens(void **state)
{
    (void)state;
    const int n = hp()->n_ctx;
    int32_t *ids = malloc(n * sizeof *ids), *orig = malloc(n * sizeof *orig);
    float *conf = malloc(n * sizeof *conf);
    bd3_sampler_kind kinds[] = {BD3_SAMPLE_FIRST_HITTING, BD3_SAMPLE_STEPS, BD3_SAMPLE_CONFIDENCE,
                                BD3_SAMPLE_MARGIN, BD3_SAMPLE_ENTROPY};
    for (int k = 0; k < 5; k++) {
        fixture_fill_ids(hp(), orig, n, 1);
        for (int i = 10; i < 22; i++) orig[i] = hp()->mask_id;
        orig[40] = hp()->mask_id;
        memcpy(ids, orig, n * sizeof *ids);
        for (int i = 0; i < n; i++) conf[i] = -1.0f;
        bd3_sampler_params p = params(kinds[k], 4, 5);
        assert_int_equal(bd3_infill(g_ctx, &p, ids, conf, n, NULL, NULL), BD3_OK);
        for (int i = 0; i < n; i++) {
            if (orig[i] == hp()->mask_id) {
                assert_true(ids[i] != hp()->mask_id && ids[i] >= 0 && ids[i] < hp()->n_vocab);
                assert_true(conf[i] > 0.0f && conf[i] <= 1.0f);
            } else {
                assert_int_equal(ids[i], orig[i]);
                assert_true(conf[i] == -1.0f);
            }
        }
    }
    free(ids);
    free(orig);
    free(conf);
}

static int first_is_word(int32_t id)
{
    size_t len = 0;
    const char *b = bd3_token_bytes(g_model, id, &len);
    return b && len > 0 && ops_token_class(g_model, id) / 4 == 0;
}

static int last_is_word(int32_t id)
{
    size_t len = 0;
    const char *b = bd3_token_bytes(g_model, id, &len);
    return b && len > 0 && ops_token_class(g_model, id) % 4 == 0;
}

/* A masked span between two words never glues onto them: its first token starts, and its last
 * token ends, with something other than a letter or digit; inside, anything goes. */
static void test_infill_span_never_glues_onto_the_words_around_it(void **state)
{
    (void)state;
    int32_t *l = NULL, *r = NULL;
    size_t nl = 0, nr = 0;
    assert_int_equal(bd3_tokenize(g_model, "the old", 7, &l, &nl), BD3_OK);
    assert_int_equal(bd3_tokenize(g_model, "stairs", 6, &r, &nr), BD3_OK);
    assert_true(last_is_word(l[nl - 1]) && first_is_word(r[0]));
    const int span = 4, n = (int)(nl + span + nr);
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    int inner_word = 0; /* tokens inside the span that start with a letter: nothing forbids them */
    for (uint64_t seed = 0; seed < 8; seed++) {
        memcpy(ids, l, nl * sizeof *ids);
        for (int i = 0; i < span; i++) ids[nl + i] = hp()->mask_id;
        memcpy(ids + nl + span, r, nr * sizeof *ids);
        bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, seed);
        assert_int_equal(bd3_infill(g_ctx, &p, ids, NULL, n, NULL, NULL), BD3_OK);
        assert_false(first_is_word(ids[nl]));
        assert_false(last_is_word(ids[nl + span - 1]));
        inner_word += first_is_word(ids[nl + 1]) + first_is_word(ids[nl + 2]);
    }
    assert_true(inner_word > 0);
    free(ids);
    free(l);
    free(r);
}

static void run_infill(uint64_t seed, int32_t *ids, float *conf, int n)
{
    fixture_fill_ids(hp(), ids, n, 2);
    memset(conf, 0, (size_t)n * sizeof *conf);
    for (int i = 5; i < 25; i++) ids[i] = hp()->mask_id;
    bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, seed);
    p.top_p = 0.9;
    assert_int_equal(bd3_infill(g_ctx, &p, ids, conf, n, NULL, NULL), BD3_OK);
}

static void test_infill_is_deterministic_per_seed(void **state)
{
    (void)state;
    enum { N = 48 };
    int32_t a[N], b[N], c[N];
    float ca[N], cb[N], cc[N];
    run_infill(11, a, ca, N);
    run_infill(11, b, cb, N);
    run_infill(12, c, cc, N);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(ca, cb, sizeof ca);
    assert_true(memcmp(a, c, sizeof a) != 0);
}

static void test_infill_rejects_bad_windows(void **state)
{
    (void)state;
    const int n = hp()->n_ctx + 1;
    int32_t *ids = calloc(n, sizeof *ids);
    bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, 0);
    assert_int_equal(bd3_infill(g_ctx, &p, ids, NULL, n, NULL, NULL), BD3_E_ARG);
    ids[0] = hp()->n_vocab; /* out of range */
    assert_int_equal(bd3_infill(g_ctx, &p, ids, NULL, 4, NULL, NULL), BD3_E_ARG);
    ids[0] = 0;
    p.top_p = 0.0;
    assert_int_equal(bd3_infill(g_ctx, &p, ids, NULL, 4, NULL, NULL), BD3_E_ARG);
    free(ids);
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

static void test_infill_cancelled_by_callback_stops_and_reports_cancelled(void **state)
{
    (void)state;
    enum { N = 40 };
    int32_t ids[N];
    float conf[N];
    fixture_fill_ids(hp(), ids, N, 3);
    for (int i = 10; i < 20; i++) ids[i] = hp()->mask_id;
    bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, 1);
    cancel_state cs = {.cancel_at = 3};
    assert_int_equal(bd3_infill(g_ctx, &p, ids, conf, N, cancel_cb, &cs), BD3_E_CANCELLED);
    assert_int_equal(cs.calls, 3);
    int masks = 0;
    for (int i = 0; i < N; i++) masks += ids[i] == hp()->mask_id;
    assert_int_equal(masks, 7);
    assert_int_equal(cs.last_masked, 7);
}

/* ---- continue ----------------------------------------------------------------------------- */

static void test_continue_with_and_without_cache_agree_without_sliding(void **state)
{
    (void)state;
    const int B = 4;
    bd3_sampler_kind kinds[] = {BD3_SAMPLE_FIRST_HITTING, BD3_SAMPLE_STEPS, BD3_SAMPLE_CONFIDENCE};
    for (int k = 0; k < 3; k++) {
        int32_t prompt[9], a[20], b[20];
        float ca[20], cb[20];
        fixture_fill_ids(hp(), prompt, 9, 4 + k);
        bd3_sampler_params p = params(kinds[k], 2, 21 + k);
        int na = -1, nb = -1;
        bd3_stop wa, wb;
        /* 9 prompt tokens + 20 new < n_ctx - B: the window never slides. */
        assert_true(9 + 20 + B <= hp()->n_ctx - B);
        assert_int_equal(bd3_continue(g_ctx, &p, B, prompt, 9, 20, a, ca, &na, &wa, NULL, NULL), BD3_OK);
        assert_int_equal(bd3_continue_nocache(g_ctx, &p, B, prompt, 9, 20, b, cb, &nb, &wb, NULL, NULL),
                         BD3_OK);
        assert_true(na > 0);
        assert_int_equal(na, nb);
        assert_int_equal(wa, wb);
        assert_memory_equal(a, b, (size_t)na * sizeof *a);
        for (int i = 0; i < na; i++) {
            assert_true(a[i] != hp()->mask_id && a[i] != hp()->eos_id);
            assert_true(fabsf(ca[i] - cb[i]) < 1e-4f);
        }
    }
}

static void test_continue_is_deterministic_per_seed(void **state)
{
    (void)state;
    int32_t prompt[5], a[24], b[24], c[24];
    fixture_fill_ids(hp(), prompt, 5, 8);
    bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, 77);
    int na, nb, nc;
    bd3_stop w;
    assert_int_equal(bd3_continue(g_ctx, &p, 4, prompt, 5, 24, a, NULL, &na, &w, NULL, NULL), BD3_OK);
    assert_int_equal(bd3_continue(g_ctx, &p, 4, prompt, 5, 24, b, NULL, &nb, &w, NULL, NULL), BD3_OK);
    p.seed = 78;
    assert_int_equal(bd3_continue(g_ctx, &p, 4, prompt, 5, 24, c, NULL, &nc, &w, NULL, NULL), BD3_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, (size_t)na * sizeof *a);
    int m = na < nc ? na : nc;
    assert_true(m < 4 || memcmp(a, c, (size_t)m * sizeof *a) != 0);
}

static void test_continue_slides_past_n_ctx(void **state)
{
    (void)state;
    const int B = 4, max_new = 2 * hp()->n_ctx;
    int32_t prompt[6];
    int32_t *out = malloc((size_t)max_new * sizeof *out);
    fixture_fill_ids(hp(), prompt, 6, 9);
    bd3_sampler_params p = params(BD3_SAMPLE_STEPS, 2, 5);
    p.temperature = 0.7;
    int n_out = -1;
    bd3_stop why;
    assert_int_equal(bd3_continue(g_ctx, &p, B, prompt, 6, max_new, out, NULL, &n_out, &why, NULL, NULL),
                     BD3_OK);
    assert_true(n_out >= 0 && n_out <= max_new);
    if (why == BD3_STOP_LIMIT) assert_int_equal(n_out, max_new);
    assert_true(bd3_cache_len(g_ctx) <= hp()->n_ctx - B);
    for (int i = 0; i < n_out; i++) assert_true(out[i] != hp()->mask_id && out[i] != hp()->eos_id);
    free(out);
}

static int progress_cb(void *user, const bd3_progress *p)
{
    int *offsets_ok = user;
    /* The canvas is the current block; it starts at a multiple of the block length. While the
     * prompt's complete blocks are committed the canvas is empty. */
    if (p->n_canvas == 0 && p->n_done == 0) return 0;
    if (p->n_canvas != 4 || p->canvas_offset % 4 != 0) *offsets_ok = 0;
    return 0;
}

static void test_continue_blocks_are_aligned_from_prompt_start(void **state)
{
    (void)state;
    int32_t prompt[7], out[9];
    fixture_fill_ids(hp(), prompt, 7, 10);
    bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, 3);
    int ok = 1, n_out;
    bd3_stop why;
    assert_int_equal(bd3_continue(g_ctx, &p, 4, prompt, 7, 9, out, NULL, &n_out, &why, progress_cb, &ok),
                     BD3_OK);
    assert_true(ok);
    cancel_state cs = {.cancel_at = 2};
    assert_int_equal(bd3_continue(g_ctx, &p, 4, prompt, 7, 9, out, NULL, &n_out, &why, cancel_cb, &cs),
                     BD3_E_CANCELLED);
    assert_int_equal(cs.calls, 2);
}

static void test_repeat_rule_drops_repetitions_of_a_period(void **state)
{
    (void)state;
    int32_t x[64];
    for (int i = 0; i < 20; i++) x[i] = 7;
    assert_int_equal(ops_repeat_tail(x, 20), 19);    /* 20 repeats of "7": keep one */
    assert_int_equal(ops_repeat_tail(x, 15), 0);     /* shorter than 16 tokens */
    for (int i = 0; i < 40; i++) x[i] = 100 + i % 5; /* period 5, 8 periods */
    x[0] = 1;
    assert_int_equal(ops_repeat_tail(x, 40), 34); /* keeps the first full period */
    for (int i = 0; i < 40; i++) x[i] = i;        /* no repetition */
    assert_int_equal(ops_repeat_tail(x, 40), 0);
    for (int i = 0; i < 30; i++) x[i] = 200 + i % 10; /* period 10, 3 periods: not enough */
    assert_int_equal(ops_repeat_tail(x, 30), 0);
}

/* ---- score, alternatives, revise ---------------------------------------------------------- */

static void test_score_single_masking_matches_alternatives(void **state)
{
    (void)state;
    enum { N = 24 };
    int32_t ids[N];
    float conf[N];
    fixture_fill_ids(hp(), ids, N, 12);
    assert_int_equal(bd3_score(g_ctx, ids, N, N, conf, NULL, NULL), BD3_OK);
    const int V = hp()->n_vocab;
    int32_t *alt = malloc((size_t)V * sizeof *alt);
    double *prob = malloc((size_t)V * sizeof *prob);
    for (int pos = 0; pos < N; pos += 7) {
        assert_int_equal(bd3_alternatives(g_ctx, ids, N, pos, V - 1, alt, prob), BD3_OK);
        double sum = 0.0;
        int found = 0;
        for (int j = 0; j < V - 1; j++) {
            sum += prob[j];
            if (j > 0) assert_true(prob[j] <= prob[j - 1]);
            assert_true(alt[j] != hp()->mask_id);
            if (alt[j] == ids[pos]) {
                found = 1;
                assert_true(fabs(prob[j] - conf[pos]) < 1e-5);
            }
        }
        assert_true(found);
        assert_true(fabs(sum - 1.0) < 1e-6);
    }
    free(alt);
    free(prob);
}

static void test_score_strided_gives_probabilities(void **state)
{
    (void)state;
    enum { N = 40 };
    int32_t ids[N];
    float conf[N];
    fixture_fill_ids(hp(), ids, N, 13);
    for (int i = 0; i < N; i++) conf[i] = -1.0f;
    cancel_state cs = {.cancel_at = 1000};
    assert_int_equal(bd3_score(g_ctx, ids, N, 8, conf, cancel_cb, &cs), BD3_OK);
    assert_int_equal(cs.calls, 8);
    for (int i = 0; i < N; i++) assert_true(conf[i] > 0.0f && conf[i] <= 1.0f);
}

static void test_alternatives_rejects_bad_arguments(void **state)
{
    (void)state;
    int32_t ids[8] = {0};
    int32_t alt[4];
    double prob[4];
    assert_int_equal(bd3_alternatives(g_ctx, ids, 8, 8, 4, alt, prob), BD3_E_ARG);
    assert_int_equal(bd3_alternatives(g_ctx, ids, 8, 0, 0, alt, prob), BD3_E_ARG);
    assert_int_equal(bd3_alternatives(g_ctx, ids, 8, 0, hp()->n_vocab, alt, prob), BD3_E_ARG);
}

static void test_revise_changes_only_remasked_positions(void **state)
{
    (void)state;
    enum { N = 48 };
    int32_t ids[N], orig[N];
    float conf[N], oconf[N];
    uint8_t changed[N];
    fixture_fill_ids(hp(), orig, N, 14);
    for (int i = 0; i < N; i++) oconf[i] = 0.5f + 0.01f * (float)(i % 13);
    /* The four least confident positions of [8, 40): 10, 20, 30 and 33. */
    oconf[10] = 0.01f;
    oconf[20] = 0.02f;
    oconf[30] = 0.03f;
    oconf[33] = 0.04f;
    oconf[2] = 0.0f; /* outside the range: never remasked */
    int changed_any = 0;
    for (uint64_t seed = 0; seed < 4; seed++) {
        memcpy(ids, orig, sizeof ids);
        memcpy(conf, oconf, sizeof conf);
        bd3_sampler_params p = params(BD3_SAMPLE_CONFIDENCE, 0, seed);
        assert_int_equal(bd3_revise(g_ctx, &p, ids, conf, N, 8, 40, 4.0 / 32.0, changed, NULL, NULL), BD3_OK);
        for (int i = 0; i < N; i++) {
            int remasked = i == 10 || i == 20 || i == 30 || i == 33;
            if (!remasked) {
                assert_int_equal(ids[i], orig[i]);
                assert_true(conf[i] == oconf[i]);
                assert_int_equal(changed[i], 0);
            } else {
                assert_int_equal(changed[i], ids[i] != orig[i]);
                assert_true(ids[i] != hp()->mask_id);
                changed_any |= changed[i];
            }
        }
    }
    assert_true(changed_any);
    /* Bad ranges and fractions. */
    bd3_sampler_params p = params(BD3_SAMPLE_CONFIDENCE, 0, 0);
    assert_int_equal(bd3_revise(g_ctx, &p, ids, conf, N, 10, 10, 0.5, NULL, NULL, NULL), BD3_E_ARG);
    assert_int_equal(bd3_revise(g_ctx, &p, ids, conf, N, 0, N + 1, 0.5, NULL, NULL, NULL), BD3_E_ARG);
    assert_int_equal(bd3_revise(g_ctx, &p, ids, conf, N, 0, N, 0.0, NULL, NULL, NULL), BD3_E_ARG);
}

static void test_revise_cancelled_restores_window(void **state)
{
    (void)state;
    enum { N = 32 };
    int32_t ids[N], orig[N];
    float conf[N], oconf[N];
    fixture_fill_ids(hp(), orig, N, 15);
    for (int i = 0; i < N; i++) oconf[i] = (float)i / N;
    memcpy(ids, orig, sizeof ids);
    memcpy(conf, oconf, sizeof conf);
    bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, 0);
    cancel_state cs = {.cancel_at = 1};
    assert_int_equal(bd3_revise(g_ctx, &p, ids, conf, N, 0, N, 0.5, NULL, cancel_cb, &cs), BD3_E_CANCELLED);
    assert_memory_equal(ids, orig, sizeof ids);
    assert_memory_equal(conf, oconf, sizeof conf);
}

/* Revise redraws a token only among tokens of its word-boundary class: the text's first word
 * gets no leading blank, a final "." stays punctuation, a word with its blank stays one. */
static void test_revise_keeps_word_boundary_class_of_every_token(void **state)
{
    (void)state;
    const char *txt = "the cat sat on a mat.\nit ran to the end. ";
    int32_t *tok = NULL;
    size_t nt = 0;
    assert_int_equal(bd3_tokenize(g_model, txt, strlen(txt), &tok, &nt), BD3_OK);
    const int n = (int)nt;
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    float *conf = malloc((size_t)n * sizeof *conf);
    int mixed = 0; /* remasked tokens whose class differs from some other remasked token's */
    for (uint64_t seed = 0; seed < 6; seed++) {
        memcpy(ids, tok, (size_t)n * sizeof *ids);
        for (int i = 0; i < n; i++) conf[i] = 0.01f; /* everything remasked */
        bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, seed);
        assert_int_equal(bd3_revise(g_ctx, &p, ids, conf, n, 0, n, 1.0, NULL, NULL, NULL), BD3_OK);
        for (int i = 0; i < n; i++) {
            assert_int_equal(ops_token_class(g_model, ids[i]), ops_token_class(g_model, tok[i]));
            mixed += ops_token_class(g_model, tok[i]) != ops_token_class(g_model, tok[0]);
        }
        size_t len = 0;
        const char *b = bd3_token_bytes(g_model, ids[0], &len);
        assert_true(b && len > 0 && b[0] != ' '); /* no leading blank on the first word */
    }
    assert_true(mixed > 0); /* the text has tokens of several classes */
    /* the classes themselves */
    int32_t *one = NULL;
    size_t n1 = 0;
    assert_int_equal(bd3_tokenize(g_model, ".", 1, &one, &n1), BD3_OK);
    assert_int_equal(n1, 1);
    assert_int_equal(ops_token_class(g_model, one[0]), 3 * 4 + 3);
    free(one);
    assert_int_equal(bd3_tokenize(g_model, " a", 2, &one, &n1), BD3_OK);
    assert_int_equal(ops_token_class(g_model, one[n1 - 1]), n1 == 1 ? 1 * 4 + 0 : 0 * 4 + 0);
    free(one);
    assert_int_equal(ops_token_class(g_model, hp()->mask_id), OPS_CLASS_SPECIAL);
    assert_int_equal(ops_token_class(g_model, hp()->eos_id), OPS_CLASS_SPECIAL);
    free(ids);
    free(conf);
    free(tok);
}

/* Progress of a fill of several spans: whether some canvas had both spans partly filled. */
typedef struct spans_seen {
    int a_lo, a_hi, b_lo, b_hi; /* the two spans */
    int both_partial;           /* calls at which both spans held tokens and masks */
    int calls;                  /* calls seen */
} spans_seen;

static int spans_cb(void *user, const bd3_progress *p)
{
    spans_seen *s = user;
    int a_tok = 0, a_mask = 0, b_tok = 0, b_mask = 0;
    for (int i = s->a_lo; i < s->a_hi; i++) p->ids[i] == hp()->mask_id ? a_mask++ : a_tok++;
    for (int i = s->b_lo; i < s->b_hi; i++) p->ids[i] == hp()->mask_id ? b_mask++ : b_tok++;
    s->both_partial += a_tok && a_mask && b_tok && b_mask;
    s->calls++;
    return 0;
}

/* Several masked spans in one window are filled in one operation: every model call sees the
 * other span's tokens as they are drawn; the text between them stays. */
static void test_infill_fills_several_spans_jointly(void **state)
{
    (void)state;
    enum { N = 48 };
    int32_t ids[N], orig[N];
    float conf[N];
    fixture_fill_ids(hp(), orig, N, 21);
    for (int i = 6; i < 14; i++) orig[i] = hp()->mask_id;
    for (int i = 30; i < 38; i++) orig[i] = hp()->mask_id;
    memcpy(ids, orig, sizeof ids);
    memset(conf, 0, sizeof conf);
    bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, 3);
    spans_seen seen = {6, 14, 30, 38, 0, 0};
    assert_int_equal(bd3_infill(g_ctx, &p, ids, conf, N, spans_cb, &seen), BD3_OK);
    assert_int_equal(seen.calls, 16); /* one model call per mask of both spans */
    assert_true(seen.both_partial > 0);
    for (int i = 0; i < N; i++) {
        if (orig[i] == hp()->mask_id)
            assert_true(ids[i] != hp()->mask_id && conf[i] > 0.0f);
        else
            assert_int_equal(ids[i], orig[i]);
    }
}

/* ---- NELBO -------------------------------------------------------------------------------- */

static void test_nelbo_is_finite_reproducible_and_counts_all_but_first_token(void **state)
{
    (void)state;
    const int L = hp()->n_ctx;
    const size_t n = (size_t)L * 3 + 5;
    int32_t *ids = malloc(n * sizeof *ids);
    fixture_fill_ids(hp(), ids, (int)n, 16);
    int modes[] = {BD3_GLOBAL, 4, 8};
    for (int k = 0; k < 3; k++) {
        double la = 0, lb = 0, lc = 0;
        size_t na = 0, nb = 0, nc = 0;
        assert_int_equal(bd3_nelbo(g_ctx, ids, n, modes[k], 0, 1, &la, &na, NULL, NULL), BD3_OK);
        assert_int_equal(bd3_nelbo(g_ctx, ids, n, modes[k], 0, 1, &lb, &nb, NULL, NULL), BD3_OK);
        assert_int_equal(bd3_nelbo(g_ctx, ids, n, modes[k], 0, 2, &lc, &nc, NULL, NULL), BD3_OK);
        assert_true(isfinite(la) && la > 0.0);
        assert_true(la == lb);
        assert_true(la != lc);
        assert_int_equal(na, 3 * (size_t)(L - 1));
        assert_int_equal(na, nc);
        /* A random model is close to uniform: the bound per token is near log V. */
        double per_tok = la / (double)na, lv = log((double)hp()->n_vocab - 1);
        assert_true(per_tok > 0.5 * lv && per_tok < 2.0 * lv);
        /* One row only. */
        double l1 = 0;
        size_t n1 = 0;
        assert_int_equal(bd3_nelbo(g_ctx, ids, n, modes[k], 1, 1, &l1, &n1, NULL, NULL), BD3_OK);
        assert_int_equal(n1, (size_t)(L - 1));
    }
    free(ids);
}

/* bd3_nelbo_rows gives each row's nats: summed in row order they are bd3_nelbo's total bit for
 * bit (same masks), and nothing is written past the rows evaluated. */
static void test_nelbo_rows_sum_to_the_total(void **state)
{
    (void)state;
    const int L = hp()->n_ctx;
    const size_t n = (size_t)L * 3 + 5;
    int32_t *ids = malloc(n * sizeof *ids);
    fixture_fill_ids(hp(), ids, (int)n, 17);
    int modes[] = {BD3_GLOBAL, 4, 8};
    for (int k = 0; k < 3; k++) {
        double total = 0, rows[4] = {-1, -1, -1, -1};
        size_t nt = 0, nr = 0;
        assert_int_equal(bd3_nelbo(g_ctx, ids, n, modes[k], 0, 7, &total, &nt, NULL, NULL), BD3_OK);
        assert_int_equal(bd3_nelbo_rows(g_ctx, ids, n, modes[k], 0, 7, rows, &nr, NULL, NULL), BD3_OK);
        assert_int_equal(nr, nt);
        double sum = 0.0;
        for (int i = 0; i < 3; i++) {
            assert_true(isfinite(rows[i]) && rows[i] > 0.0);
            sum += rows[i];
        }
        assert_true(sum == total);
        assert_true(rows[3] == -1); /* three complete rows: nothing written past them */
        assert_true(rows[0] != rows[1]);
    }
    size_t cnt = 0;
    assert_int_equal(bd3_nelbo_rows(g_ctx, ids, n, 4, 0, 7, NULL, &cnt, NULL, NULL), BD3_E_ARG);
    free(ids);
}

/* Spec section 4 written out directly: the same noise as bd3_nelbo (one uniform for the
 * antithetic offset, then one per position 1.. of each row), and for every block one full
 * block-causal pass over the clean earlier blocks followed by the noisy block. */
static double nelbo_reference(const int32_t *ids, int rows, int B, uint64_t seed)
{
    const int L = hp()->n_ctx, V = hp()->n_vocab, nb = (L + B - 1) / B;
    const double M = (double)rows * nb;
    bd3_rng r;
    bd3_rng_seed(&r, seed);
    double u0 = bd3_rng_uniform(&r), loss = 0.0;
    int32_t *noisy = malloc((size_t)L * sizeof *noisy), *win = malloc((size_t)L * sizeof *win);
    float *logits = malloc((size_t)L * V * sizeof *logits);
    double *prob = malloc((size_t)V * sizeof *prob);
    for (int row = 0; row < rows; row++) {
        const int32_t *x = ids + (size_t)row * L;
        double *t = malloc((size_t)nb * sizeof *t);
        for (int b = 0; b < nb; b++) t[b] = 1e-3 + (1.0 - 1e-3) * fmod(u0 + (row * nb + b) / M, 1.0);
        for (int i = 0; i < L; i++)
            noisy[i] = (i > 0 && bd3_rng_uniform(&r) < t[i / B]) ? hp()->mask_id : x[i];
        for (int b = 0; b < nb; b++) {
            int b0 = b * B, len = L - b0 < B ? L - b0 : B;
            memcpy(win, x, (size_t)b0 * sizeof *win);
            memcpy(win + b0, noisy + b0, (size_t)len * sizeof *win);
            assert_int_equal(bd3_forward(g_ctx, win, b0 + len, B, logits), BD3_OK);
            for (int i = b0; i < b0 + len; i++) {
                if (noisy[i] != hp()->mask_id) continue;
                const float *row_logits = logits + (size_t)i * V;
                double mx = -INFINITY, sum = 0.0;
                for (int v = 0; v < V; v++)
                    if (v != hp()->mask_id && row_logits[v] > mx) mx = row_logits[v];
                for (int v = 0; v < V; v++)
                    if (v != hp()->mask_id) sum += exp(row_logits[v] - mx);
                loss -= ((row_logits[x[i]] - mx) - log(sum)) / t[b];
            }
        }
        free(t);
    }
    free(noisy);
    free(win);
    free(logits);
    free(prob);
    return loss;
}

static void test_nelbo_block_mode_matches_direct_computation(void **state)
{
    (void)state;
    const int L = hp()->n_ctx;
    int32_t *ids = malloc((size_t)2 * L * sizeof *ids);
    fixture_fill_ids(hp(), ids, 2 * L, 18);
    int blocks[] = {4, 8, 24}; /* 24 does not divide n_ctx 64: a partial last block */
    for (int k = 0; k < 3; k++) {
        double loss = 0.0;
        size_t cnt = 0;
        assert_int_equal(bd3_nelbo(g_ctx, ids, (size_t)2 * L, blocks[k], 0, 9, &loss, &cnt, NULL, NULL),
                         BD3_OK);
        double want = nelbo_reference(ids, 2, blocks[k], 9);
        assert_true(fabs(loss - want) <= 1e-4 * fabs(want));
        assert_int_equal(cnt, 2 * (size_t)(L - 1));
    }
    free(ids);
}

static void test_nelbo_cancelled_and_bad_input(void **state)
{
    (void)state;
    const int L = hp()->n_ctx;
    int32_t *ids = malloc((size_t)2 * L * sizeof *ids);
    fixture_fill_ids(hp(), ids, 2 * L, 17);
    double loss = 0;
    size_t cnt = 0;
    cancel_state cs = {.cancel_at = 1};
    assert_int_equal(bd3_nelbo(g_ctx, ids, (size_t)2 * L, 4, 0, 1, &loss, &cnt, cancel_cb, &cs),
                     BD3_E_CANCELLED);
    ids[3] = hp()->mask_id;
    assert_int_equal(bd3_nelbo(g_ctx, ids, (size_t)2 * L, 4, 0, 1, &loss, &cnt, NULL, NULL), BD3_E_ARG);
    assert_int_equal(bd3_nelbo(g_ctx, ids, 1, 4, 0, 1, &loss, &cnt, NULL, NULL), BD3_E_ARG);
    free(ids);
}

/* ---- exact left-to-right scoring (block length 1) ---------------------------------------- */

/* log p(tok) of row logits under SUBS, computed here in float64 from raw logits. */
static double ref_log_prob(const float *logits, int V, int32_t mask_id, int32_t tok)
{
    double mx = -INFINITY;
    for (int v = 0; v < V; v++)
        if (v != mask_id && logits[v] > mx) mx = logits[v];
    double sum = 0.0;
    for (int v = 0; v < V; v++)
        if (v != mask_id) sum += exp((double)logits[v] - mx);
    return (double)logits[tok] - mx - log(sum);
}

static void test_score_ar_equals_block1_pass_over_prefix_and_mask(void **state)
{
    (void)state;
    char path[1024];
    assert_int_equal(fixture_ar_model_path(path, sizeof path), 0);
    bd3_model *m = NULL;
    bd3_ctx *c = NULL;
    char err[256] = "";
    assert_int_equal(bd3_model_load(path, &m, err, sizeof err), BD3_OK);
    assert_int_equal(bd3_ctx_new(m, 1, &c), BD3_OK);
    const bd3_hparams *h = bd3_model_hparams(m);
    const int n = 24, V = h->n_vocab;
    int32_t ids[24], canvas[24];
    double logp[24], logp2[24];
    float *logits = malloc((size_t)n * V * sizeof *logits);
    assert_non_null(logits);
    fixture_fill_ids(h, ids, n, 41);
    assert_int_equal(bd3_score_ar(c, ids, n, logp, NULL, NULL), BD3_OK);
    for (int i = 0; i < n; i++) {
        /* the definition: a block-causal pass (B = 1) over the clean prefix and the masked position */
        memcpy(canvas, ids, (size_t)i * sizeof *canvas);
        canvas[i] = h->mask_id;
        assert_int_equal(bd3_forward(c, canvas, i + 1, 1, logits), BD3_OK);
        double want = ref_log_prob(logits + (size_t)i * V, V, h->mask_id, ids[i]);
        assert_true(isfinite(logp[i]) && logp[i] < 0.0);
        assert_true(fabs(logp[i] - want) < 1e-4);
    }
    /* left to right: changing token 15 leaves the scores before it as they were */
    ids[15] = ids[15] == 1 ? 2 : 1;
    assert_int_equal(bd3_score_ar(c, ids, n, logp2, NULL, NULL), BD3_OK);
    for (int i = 0; i < 15; i++) assert_true(logp2[i] == logp[i]);
    assert_true(logp2[15] != logp[15]);
    free(logits);
    bd3_ctx_free(c);
    bd3_model_free(m);
}

static void test_score_ar_runs_past_n_ctx_and_rejects_other_models(void **state)
{
    (void)state;
    char path[1024];
    assert_int_equal(fixture_ar_model_path(path, sizeof path), 0);
    bd3_model *m = NULL;
    bd3_ctx *c = NULL;
    assert_int_equal(bd3_model_load(path, &m, NULL, 0), BD3_OK);
    assert_int_equal(bd3_ctx_new(m, 1, &c), BD3_OK);
    const bd3_hparams *h = bd3_model_hparams(m);
    const int n = 3 * h->n_ctx;
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    double *logp = malloc((size_t)n * sizeof *logp);
    assert_non_null(ids);
    assert_non_null(logp);
    fixture_fill_ids(h, ids, n, 42);
    cancel_state cs = {.cancel_at = n + 1};
    assert_int_equal(bd3_score_ar(c, ids, n, logp, cancel_cb, &cs), BD3_OK);
    for (int i = 0; i < n; i++) assert_true(isfinite(logp[i]) && logp[i] < 0.0);
    assert_int_equal(cs.calls, n);
    cancel_state cs2 = {.cancel_at = 5};
    assert_int_equal(bd3_score_ar(c, ids, n, logp, cancel_cb, &cs2), BD3_E_CANCELLED);
    assert_int_equal(cs2.calls, 5);
    ids[5] = h->mask_id;
    assert_int_equal(bd3_score_ar(c, ids, n, logp, NULL, NULL), BD3_E_ARG);
    /* the fixture of the other tests was trained for blocks of 4, 8 and 64 only */
    fixture_fill_ids(hp(), ids, 8, 43);
    assert_int_equal(bd3_score_ar(g_ctx, ids, 8, logp, NULL, NULL), BD3_E_UNSUPPORTED);
    free(ids);
    free(logp);
    bd3_ctx_free(c);
    bd3_model_free(m);
}

/* One of every operation on a window of n tokens (n <= n_ctx): infill exact, with the window cache
 * and confidence-ordered without confidences kept, continue with and without the KV cache,
 * revise, score, alternatives, NELBO block-causal and global, span NELBO, the length that fits;
 * score_ar on ar (a model trained for block length 1). */
static void ops_round(bd3_ctx *c, bd3_ctx *ar, int n)
{
    const bd3_hparams *h = hp();
    int32_t ids[64], win[64], out[64], alt[3];
    float conf[64] = {0};
    double prob[3], logp[64], loss = 0.0, nats = 0.0;
    uint8_t target[64] = {0}, changed[64];
    size_t counted = 0;
    int n_out = 0;
    bd3_stop why;
    fixture_fill_ids(h, ids, 64, 300);
    bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, 7);
    memcpy(win, ids, sizeof win);
    for (int i = n / 2 - 4; i < n / 2 + 4; i++) win[i] = h->mask_id;
    assert_int_equal(bd3_infill(c, &p, win, conf, n, NULL, NULL), BD3_OK);
    p.refresh = 4;
    memcpy(win, ids, sizeof win);
    for (int i = n / 2 - 4; i < n / 2 + 4; i++) win[i] = h->mask_id;
    assert_int_equal(bd3_infill(c, &p, win, conf, n, NULL, NULL), BD3_OK);
    bd3_sampler_params two = params(BD3_SAMPLE_CONFIDENCE, 2, 8);
    memcpy(win, ids, sizeof win);
    for (int i = 2; i < 8; i++) win[i] = h->mask_id;
    assert_int_equal(bd3_infill(c, &two, win, NULL, n, NULL, NULL), BD3_OK);
    assert_int_equal(bd3_continue(c, &p, 8, ids, n - 24, 16, out, NULL, &n_out, &why, NULL, NULL), BD3_OK);
    assert_int_equal(bd3_continue_nocache(c, &p, 8, ids, n - 24, 16, out, NULL, &n_out, &why, NULL, NULL),
                     BD3_OK);
    for (int i = 0; i < n; i++) conf[i] = (float)((i * 37) % 11) / 11.0f;
    memcpy(win, ids, sizeof win);
    assert_int_equal(bd3_revise(c, &p, win, conf, n, 4, n - 4, 0.25, changed, NULL, NULL), BD3_OK);
    assert_int_equal(bd3_score(c, ids, n, 4, conf, NULL, NULL), BD3_OK);
    assert_int_equal(bd3_alternatives(c, ids, n, n / 3, 3, alt, prob), BD3_OK);
    assert_int_equal(bd3_nelbo(c, ids, (size_t)n, 8, 1, 3, &loss, &counted, NULL, NULL), BD3_OK);
    assert_int_equal(bd3_nelbo(c, ids, (size_t)n, BD3_GLOBAL, 1, 3, &loss, &counted, NULL, NULL), BD3_OK);
    for (int i = 10; i < 20; i++) target[i] = 1;
    assert_int_equal(bd3_nelbo_span(c, ids, n, target, 4, 5, &nats), BD3_OK);
    assert_int_equal(bd3_infill_fit(c, &p, ids, n, 10, 14, 2, 4, 2, out, conf, &n_out, &nats, NULL, NULL),
                     BD3_OK);
    assert_int_equal(bd3_score_ar(ar, ids, n / 2, logp, NULL, NULL), BD3_OK);
}

/* After one of each operation, more of them (on the same window length or a shorter one)
 * allocate nothing: their buffers and sampler stay in the context. */
static void test_ops_allocate_nothing_after_the_first(void **state)
{
    (void)state;
    char path[1024];
    assert_int_equal(fixture_ar_model_path(path, sizeof path), 0);
    bd3_model *m = NULL;
    bd3_ctx *ar = NULL;
    char err[256] = "";
    assert_int_equal(bd3_model_load(path, &m, err, sizeof err), BD3_OK);
    assert_int_equal(bd3_ctx_new(m, 1, &ar), BD3_OK);
    const int N = hp()->n_ctx;
    ops_round(g_ctx, ar, N); /* the first of each */
    g_allocs = 0;
    g_counting = 1;
    ops_round(g_ctx, ar, N);
    ops_round(g_ctx, ar, 40);
    ops_round(g_ctx, ar, N);
    g_counting = 0;
    assert_int_equal(g_allocs, 0);
    /* the counting itself works: a fresh context allocates */
    bd3_ctx *c = NULL;
    g_counting = 1;
    assert_int_equal(bd3_ctx_new(g_model, 1, &c), BD3_OK);
    g_counting = 0;
    assert_true(g_allocs > 0);
    bd3_ctx_free(c);
    bd3_ctx_free(ar);
    bd3_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_rows_equal_rows_of_full_forward),
        cmocka_unit_test(test_forward_rows_each_hands_over_all_rows_in_chunks),
        cmocka_unit_test(test_infill_fills_every_mask_and_keeps_other_tokens),
        cmocka_unit_test(test_infill_is_deterministic_per_seed),
        cmocka_unit_test(test_infill_span_never_glues_onto_the_words_around_it),
        cmocka_unit_test(test_infill_rejects_bad_windows),
        cmocka_unit_test(test_infill_cancelled_by_callback_stops_and_reports_cancelled),
        cmocka_unit_test(test_continue_with_and_without_cache_agree_without_sliding),
        cmocka_unit_test(test_continue_is_deterministic_per_seed),
        cmocka_unit_test(test_continue_slides_past_n_ctx),
        cmocka_unit_test(test_continue_blocks_are_aligned_from_prompt_start),
        cmocka_unit_test(test_repeat_rule_drops_repetitions_of_a_period),
        cmocka_unit_test(test_score_single_masking_matches_alternatives),
        cmocka_unit_test(test_score_strided_gives_probabilities),
        cmocka_unit_test(test_alternatives_rejects_bad_arguments),
        cmocka_unit_test(test_revise_changes_only_remasked_positions),
        cmocka_unit_test(test_revise_cancelled_restores_window),
        cmocka_unit_test(test_revise_keeps_word_boundary_class_of_every_token),
        cmocka_unit_test(test_infill_fills_several_spans_jointly),
        cmocka_unit_test(test_nelbo_is_finite_reproducible_and_counts_all_but_first_token),
        cmocka_unit_test(test_nelbo_rows_sum_to_the_total),
        cmocka_unit_test(test_nelbo_block_mode_matches_direct_computation),
        cmocka_unit_test(test_nelbo_cancelled_and_bad_input),
        cmocka_unit_test(test_score_ar_equals_block1_pass_over_prefix_and_mask),
        cmocka_unit_test(test_score_ar_runs_past_n_ctx_and_rejects_other_models),
        cmocka_unit_test(test_ops_allocate_nothing_after_the_first),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
