/* test_infill_cache.c: the window cache of approximate global denoising (bd3_sampler_params.refresh)
 * and the reuse of the KV cache across bd3_continue calls, on the small random-weight fixture. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "bd3.h"
#include "forward.h"

static bd3_model *g_model; /* the fixture, loaded once */
static bd3_ctx *g_ctx;     /* a context on it */

#include "fixture.h"

static int group_setup(void **state)
{
    (void)state;
    return fixture_open(2, &g_model, &g_ctx);
}

static int group_teardown(void **state)
{
    (void)state;
    fixture_close(g_model, g_ctx);
    return 0;
}

static const bd3_hparams *hp(void) { return bd3_model_hparams(g_model); }

/* Gathers the chunks of a rows pass into one array [n_rows, V]. */
typedef struct gather {
    float *all; /* [n_rows, V] */
    int next;   /* row expected next */
} gather;

static bd3_status gather_rows(void *user, int j0, int nj, const float *logits)
{
    gather *g = user;
    const int V = hp()->n_vocab;
    if (j0 != g->next) return BD3_E_ARG;
    memcpy(g->all + (size_t)j0 * V, logits, (size_t)nj * V * sizeof *logits);
    g->next = j0 + nj;
    return BD3_OK;
}

/* Largest |a - b| over rows of a [n_rows, V] against rows[j] of full [n, V]. */
static float max_row_diff(const float *a, const float *full, const int *rows, int n_rows)
{
    const int V = hp()->n_vocab;
    float worst = 0.0f;
    for (int j = 0; j < n_rows; j++)
        for (int v = 0; v < V; v++) {
            float d = fabsf(a[(size_t)j * V + v] - full[(size_t)rows[j] * V + v]);
            if (!(d <= worst)) worst = d; /* a NaN becomes the worst */
        }
    return worst;
}

/* ---- window cache ---------------------------------------------------------------------------- */

/* Right after a refresh over the same ids, the step's rows (the span alone through the layers)
 * equal a full global forward's rows: spans at the window start, middle, end, and scattered. */
static void test_window_step_after_refresh_equals_full_forward(void **state)
{
    (void)state;
    const int n = hp()->n_ctx, V = hp()->n_vocab;
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    float *full = malloc((size_t)n * V * sizeof *full);
    float *got = malloc((size_t)n * V * sizeof *got);
    float *chunk = malloc((size_t)8 * V * sizeof *chunk);
    int active[64];
    const int spans[3][2] = {{0, 12}, {25, 37}, {n - 12, n}};
    for (int k = 0; k < 4; k++) {
        fixture_fill_ids(hp(), ids, n, 40 + k);
        int na = 0;
        if (k < 3) {
            for (int i = spans[k][0]; i < spans[k][1]; i++) active[na++] = i;
        } else {
            const int scattered[6] = {1, 5, 6, 30, 31, n - 1};
            for (int i = 0; i < 6; i++) active[na++] = scattered[i];
        }
        for (int i = 0; i < na; i += 2)
            ids[active[i]] = hp()->mask_id; /* some of the span still masked, some written */
        assert_int_equal(bd3_forward(g_ctx, ids, n, BD3_GLOBAL, full), BD3_OK);
        gather g = {.all = got};
        assert_int_equal(wincache_refresh(g_ctx, ids, n, active, na, 8, chunk, gather_rows, &g), BD3_OK);
        assert_int_equal(g.next, na);
        assert_true(max_row_diff(got, full, active, na) < 1e-5f); /* the same pass */
        /* the step: every active row, then only some of them */
        g = (gather){.all = got};
        assert_int_equal(wincache_step(g_ctx, ids, n, active, na, active, na, 8, chunk, gather_rows, &g),
                         BD3_OK);
        assert_int_equal(g.next, na);
        assert_true(max_row_diff(got, full, active, na) < 1e-4f);
        int some[2] = {active[1], active[na - 1]};
        g = (gather){.all = got};
        assert_int_equal(wincache_step(g_ctx, ids, n, active, na, some, 2, 8, chunk, gather_rows, &g),
                         BD3_OK);
        assert_true(max_row_diff(got, full, some, 2) < 1e-4f);
    }
    free(ids);
    free(full);
    free(got);
    free(chunk);
}

/* A step whose active rows are the whole window reads nothing stale: after the tokens changed
 * since the refresh it still equals a full forward over the new tokens, while a step with the
 * changed rows outside its active set does not. */
static void test_window_step_uses_fresh_rows_and_cached_others(void **state)
{
    (void)state;
    const int n = 48, V = hp()->n_vocab;
    int32_t ids[48];
    int all[48];
    for (int i = 0; i < n; i++) all[i] = i;
    float *full = malloc((size_t)n * V * sizeof *full);
    float *got = malloc((size_t)n * V * sizeof *got);
    float *chunk = malloc((size_t)16 * V * sizeof *chunk);
    fixture_fill_ids(hp(), ids, n, 51);
    gather g = {.all = got};
    assert_int_equal(wincache_refresh(g_ctx, ids, n, all, n, 16, chunk, gather_rows, &g), BD3_OK);
    for (int i = 0; i < n; i += 3) ids[i] = hp()->mask_id;
    assert_int_equal(bd3_forward(g_ctx, ids, n, BD3_GLOBAL, full), BD3_OK);
    g = (gather){.all = got};
    assert_int_equal(wincache_step(g_ctx, ids, n, all, n, all, n, 16, chunk, gather_rows, &g), BD3_OK);
    assert_true(max_row_diff(got, full, all, n) < 1e-4f);
    /* refresh over the old tokens again, then a step over rows 40..47 only: rows 0, 3, .. changed
     * outside it and their keys and values are the old ones, so the logits differ */
    fixture_fill_ids(hp(), ids, n, 51);
    g = (gather){.all = got};
    assert_int_equal(wincache_refresh(g_ctx, ids, n, all, n, 16, chunk, gather_rows, &g), BD3_OK);
    for (int i = 0; i < 40; i += 3) ids[i] = hp()->mask_id;
    g = (gather){.all = got};
    assert_int_equal(wincache_step(g_ctx, ids, n, all + 40, 8, all + 40, 8, 16, chunk, gather_rows, &g),
                     BD3_OK);
    assert_true(max_row_diff(got, full, all + 40, 8) > 1e-3f);
    free(full);
    free(got);
    free(chunk);
}

/* The int8 fixture of the window-cache tests (heads of 32, n_ctx 128, vocabulary 300), made once. */
static void open_wide_int8(bd3_model **m, bd3_ctx **c)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/fixtures/wide_int8.gguf", getenv("BUILD") ? getenv("BUILD") : "build");
    if (access(path, R_OK) != 0) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd,
                 "'%s' -c \"import sys; sys.path.insert(0, 'tests/ref'); import make_fixture as f; "
                 "f.random_model(sys.argv[1] + '.tmp', 300, 64, 2, 2, 128, 'q8_0', [16, 128], 9)\" "
                 "'%s' && mv '%s.tmp' '%s'",
                 getenv("PYTHON") ? getenv("PYTHON") : "/usr/bin/python3", path, path, path);
        assert_int_equal(system(cmd), 0);
    }
    char err[256];
    assert_int_equal(bd3_model_load_compute(path, BD3_COMPUTE_Q8, m, err, sizeof err), BD3_OK);
    assert_int_equal(bd3_ctx_new(*m, 2, c), BD3_OK);
}

/* The window cache of the int8 path (heads of 32, a window of 128: int8 attention): a refresh
 * packs every layer's keys and values, a step repacks its active rows and attends through them.
 * Right after a refresh the step's logits equal a full int8 forward's; with every row active after
 * the tokens changed, too (every key and every block of values repacked); with the changed rows
 * outside the active set they do not. Float32 attention in the step would differ by about 1e-2. */
static void test_window_cache_int8_attention(void **state)
{
    (void)state;
    bd3_model *m = NULL;
    bd3_ctx *c = NULL;
    open_wide_int8(&m, &c);
    const bd3_hparams *h = bd3_model_hparams(m);
    const int n = 128, V = h->n_vocab;
    int32_t ids[128];
    int active[32], all[128];
    for (int i = 0; i < n; i++) all[i] = i;
    for (int i = 0; i < 32; i++) active[i] = 40 + i;
    float *full = malloc((size_t)n * V * sizeof *full);
    float *got = malloc((size_t)n * V * sizeof *got);
    float *chunk = malloc((size_t)8 * V * sizeof *chunk);
    fixture_fill_ids(h, ids, n, 77);
    for (int i = 0; i < 32; i += 3) ids[active[i]] = h->mask_id;
    assert_int_equal(bd3_forward(c, ids, n, BD3_GLOBAL, full), BD3_OK);
    gather g = {.all = got};
    /* the gather helper reads the vocabulary size of the shared fixture: the same, 300 */
    assert_int_equal(hp()->n_vocab, V);
    assert_int_equal(wincache_refresh(c, ids, n, active, 32, 8, chunk, gather_rows, &g), BD3_OK);
    assert_true(max_row_diff(got, full, active, 32) < 1e-5f);
    g = (gather){.all = got};
    assert_int_equal(wincache_step(c, ids, n, active, 32, active, 32, 8, chunk, gather_rows, &g), BD3_OK);
    assert_true(max_row_diff(got, full, active, 32) < 1e-5f);
    /* tokens change everywhere; a step over every row equals a full forward over them */
    for (int i = 0; i < n; i += 5) ids[i] = h->mask_id;
    assert_int_equal(bd3_forward(c, ids, n, BD3_GLOBAL, full), BD3_OK);
    g = (gather){.all = got};
    assert_int_equal(wincache_step(c, ids, n, all, n, all, n, 8, chunk, gather_rows, &g), BD3_OK);
    assert_true(max_row_diff(got, full, all, n) < 1e-4f);
    /* after a refresh over other tokens, a step over the span alone sees stale rows elsewhere */
    fixture_fill_ids(h, ids, n, 78);
    g = (gather){.all = got};
    assert_int_equal(wincache_refresh(c, ids, n, all, n, 8, chunk, gather_rows, &g), BD3_OK);
    for (int i = 0; i < n; i += 5) ids[i] = h->mask_id;
    assert_int_equal(bd3_forward(c, ids, n, BD3_GLOBAL, full), BD3_OK);
    g = (gather){.all = got};
    assert_int_equal(wincache_step(c, ids, n, active, 32, active, 32, 8, chunk, gather_rows, &g), BD3_OK);
    assert_true(max_row_diff(got, full, active, 32) > 1e-3f);
    free(full);
    free(got);
    free(chunk);
    bd3_ctx_free(c);
    bd3_model_free(m);
}

/* The window cache keeps its float32 rows in the KV cache's rotated-key buffer: the values alone
 * for a packed window (int8 attention), keys and values side by side for a window of at most
 * n_ctx / 2 rows, the values in a buffer of their own (made by the first such window) for a longer
 * one. On context c, for windows of sizes[0..n_sizes) rows: a step after a refresh equals a full
 * forward, and a KV-cache call before and after the window passes gives exactly the same logits
 * (its rotated keys are made again from the raw ones). */
static void check_window_cache_lends_rotated_keys(bd3_ctx *c, const int *sizes, int n_sizes)
{
    const bd3_hparams *h = bd3_model_hparams(bd3_ctx_model(c));
    const int V = h->n_vocab, N = h->n_ctx, B = 16, n_commit = N / 2 / B * B;
    assert_int_equal(hp()->n_vocab, V); /* gather_rows reads the shared fixture's vocabulary */
    int32_t ids[128], block[16];
    int all[128];
    for (int i = 0; i < 128; i++) all[i] = i;
    float *full = malloc((size_t)128 * V * sizeof *full);
    float *got = malloc((size_t)128 * V * sizeof *got);
    float *before = malloc((size_t)B * V * sizeof *before);
    float *after = malloc((size_t)B * V * sizeof *after);
    float *chunk = malloc((size_t)8 * V * sizeof *chunk);
    fixture_fill_ids(h, ids, n_commit + B, 131);
    for (int i = 0; i < B; i++) block[i] = i % 3 ? ids[n_commit + i] : h->mask_id;
    bd3_cache_clear(c);
    for (int b = 0; b < n_commit; b += B) assert_int_equal(bd3_cache_commit(c, ids + b, B), BD3_OK);
    assert_int_equal(bd3_cache_forward(c, block, B, before), BD3_OK);
    for (int k = 0; k < n_sizes; k++) {
        const int n = sizes[k];
        int32_t win[128];
        fixture_fill_ids(h, win, n, 140 + k);
        for (int i = 0; i < n; i += 4) win[i] = h->mask_id;
        assert_int_equal(bd3_forward(c, win, n, BD3_GLOBAL, full), BD3_OK);
        gather g = {.all = got};
        assert_int_equal(wincache_refresh(c, win, n, all, n, 8, chunk, gather_rows, &g), BD3_OK);
        assert_true(max_row_diff(got, full, all, n) < 1e-5f);
        g = (gather){.all = got};
        assert_int_equal(wincache_step(c, win, n, all + 8, 16, all + 8, 16, 8, chunk, gather_rows, &g),
                         BD3_OK);
        assert_true(max_row_diff(got, full, all + 8, 16) < 1e-4f);
        /* the KV cache is intact after the window passes */
        assert_int_equal(bd3_cache_len(c), n_commit);
        assert_int_equal(bd3_cache_forward(c, block, B, after), BD3_OK);
        assert_memory_equal(after, before, (size_t)B * V * sizeof *after);
    }
    free(full);
    free(got);
    free(before);
    free(after);
    free(chunk);
}

static void test_window_cache_lends_rotated_keys(void **state)
{
    (void)state;
    /* int8 context, n_ctx 128: float32 attention with keys and values side by side, then packed */
    bd3_model *m = NULL;
    bd3_ctx *c = NULL;
    open_wide_int8(&m, &c);
    const int int8_sizes[2] = {48, 128};
    check_window_cache_lends_rotated_keys(c, int8_sizes, 2);
    bd3_ctx_free(c);
    bd3_model_free(m);
    /* float32 context, n_ctx 64: side by side, then the values in their own buffer, then side by
       side again */
    const int f32_sizes[3] = {24, 64, 32};
    check_window_cache_lends_rotated_keys(g_ctx, f32_sizes, 3);
}

static void test_window_step_rejects_bad_requests(void **state)
{
    (void)state;
    const int V = hp()->n_vocab;
    int32_t ids[32];
    int active[4] = {3, 4, 5, 9}, rows[2] = {4, 6}, all[32];
    for (int i = 0; i < 32; i++) all[i] = i;
    float *chunk = malloc((size_t)4 * V * sizeof *chunk);
    float *got = malloc((size_t)32 * V * sizeof *got);
    fixture_fill_ids(hp(), ids, 32, 60);
    gather g = {.all = got};
    assert_int_equal(wincache_refresh(g_ctx, ids, 32, all, 32, 4, chunk, gather_rows, &g), BD3_OK);
    g = (gather){.all = got};
    /* a row outside the active set, a window of another length, rows out of order */
    assert_int_equal(wincache_step(g_ctx, ids, 32, active, 4, rows, 2, 4, chunk, gather_rows, &g), BD3_E_ARG);
    assert_int_equal(wincache_step(g_ctx, ids, 31, active, 4, active, 1, 4, chunk, gather_rows, &g),
                     BD3_E_ARG);
    int down[2] = {5, 4};
    assert_int_equal(wincache_step(g_ctx, ids, 32, down, 2, down, 1, 4, chunk, gather_rows, &g), BD3_E_ARG);
    assert_int_equal(g.next, 0);
    free(chunk);
    free(got);
}

static bd3_sampler_params params(bd3_sampler_kind kind, int steps, uint64_t seed, int refresh)
{
    bd3_sampler_params p;
    bd3_sampler_params_init(&p);
    p.kind = kind;
    p.steps = steps;
    p.seed = seed;
    p.refresh = refresh;
    return p;
}

/* refresh 1 (a full pass every call, through the window cache's pass) writes exactly what the
 * exact path writes for the same seed, for spans at the window start, middle and end. */
static void test_infill_refresh_one_equals_exact(void **state)
{
    (void)state;
    const int n = hp()->n_ctx;
    int32_t a[64], b[64];
    float ca[64], cb[64];
    const int spans[3][2] = {{0, 10}, {20, 33}, {n - 9, n}};
    const bd3_sampler_kind kinds[2] = {BD3_SAMPLE_FIRST_HITTING, BD3_SAMPLE_CONFIDENCE};
    for (int k = 0; k < 3; k++)
        for (int s = 0; s < 2; s++) {
            fixture_fill_ids(hp(), a, n, 70 + k);
            for (int i = spans[k][0]; i < spans[k][1]; i++) a[i] = hp()->mask_id;
            memcpy(b, a, sizeof a);
            memset(ca, 0, sizeof ca);
            memset(cb, 0, sizeof cb);
            bd3_sampler_params p0 = params(kinds[s], s ? 4 : 0, 9 + k, 0);
            bd3_sampler_params p1 = params(kinds[s], s ? 4 : 0, 9 + k, 1);
            assert_int_equal(bd3_infill(g_ctx, &p0, a, ca, n, NULL, NULL), BD3_OK);
            assert_int_equal(bd3_infill(g_ctx, &p1, b, cb, n, NULL, NULL), BD3_OK);
            assert_memory_equal(a, b, sizeof a);
            assert_memory_equal(ca, cb, sizeof ca);
        }
}

/* Counts model calls. */
static int count_calls(void *user, const bd3_progress *p)
{
    (void)p;
    (*(int *)user)++;
    return 0;
}

/* With the window cache the infill fills every mask with an ordinary token, leaves every other
 * token and confidence as it was, for spans at the window start and end, scattered masks and a
 * window shorter than n_ctx; a long refresh period changes what is written (it is approximate). */
static void test_infill_cached_fills_masks_only(void **state)
{
    (void)state;
    const int n = hp()->n_ctx;
    int32_t ids[64], orig[64], exact[64];
    float conf[64];
    const int refresh[3] = {2, 5, 64};
    int differs = 0;
    for (int layout = 0; layout < 4; layout++)
        for (int k = 0; k < 3; k++) {
            int len = layout == 3 ? 37 : n;
            fixture_fill_ids(hp(), orig, len, 80 + layout);
            for (int i = 0; i < len; i++) {
                int masked = layout == 0   ? i < 12
                             : layout == 1 ? i >= n - 12
                             : layout == 2 ? i % 5 == 2
                                           : (i >= 30 && i < 36);
                if (masked) orig[i] = hp()->mask_id;
            }
            for (int i = 0; i < len; i++) conf[i] = -1.0f;
            memcpy(ids, orig, (size_t)len * sizeof *ids);
            int calls = 0;
            bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, 3 + layout, refresh[k]);
            assert_int_equal(bd3_infill(g_ctx, &p, ids, conf, len, count_calls, &calls), BD3_OK);
            int n_mask = 0;
            for (int i = 0; i < len; i++) {
                if (orig[i] == hp()->mask_id) {
                    n_mask++;
                    assert_int_not_equal(ids[i], hp()->mask_id);
                    assert_true(ids[i] >= 0 && ids[i] < hp()->n_vocab);
                    assert_true(conf[i] > 0.0f && conf[i] <= 1.0f);
                } else {
                    assert_int_equal(ids[i], orig[i]);
                    assert_true(conf[i] == -1.0f);
                }
            }
            assert_int_equal(calls, n_mask); /* first hitting: one call per mask */
            memcpy(exact, orig, (size_t)len * sizeof *exact);
            p.refresh = 0;
            assert_int_equal(bd3_infill(g_ctx, &p, exact, NULL, len, NULL, NULL), BD3_OK);
            differs += memcmp(exact, ids, (size_t)len * sizeof *ids) != 0;
        }
    assert_true(differs > 0);
}

/* Revise with the window cache regenerates only remasked positions of its range. */
static void test_revise_with_window_cache(void **state)
{
    (void)state;
    const int n = 50;
    int32_t ids[50], old[50];
    float conf[50];
    uint8_t changed[50];
    fixture_fill_ids(hp(), ids, n, 90);
    for (int i = 0; i < n; i++) conf[i] = (float)((i * 37) % 50 + 1) / 51.0f;
    memcpy(old, ids, sizeof ids);
    bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, 4, 4);
    assert_int_equal(bd3_revise(g_ctx, &p, ids, conf, n, 10, 40, 0.5, changed, NULL, NULL), BD3_OK);
    for (int i = 0; i < n; i++) {
        assert_int_not_equal(ids[i], hp()->mask_id);
        if (i < 10 || i >= 40) assert_int_equal(ids[i], old[i]);
        assert_int_equal(changed[i], ids[i] != old[i]);
    }
}

/* ---- continuation across calls --------------------------------------------------------------- */

/* Counts the prompt-reading calls (commit passes with an empty canvas). */
static int count_reads(void *user, const bd3_progress *p)
{
    if (p->n_canvas == 0) (*(int *)user)++;
    return 0;
}

/* Logits of one fixed block against whatever the cache holds. */
static void cache_probe(float *logits)
{
    int32_t probe[4];
    fixture_fill_ids(hp(), probe, 4, 99);
    assert_int_equal(bd3_cache_forward(g_ctx, probe, 4, logits), BD3_OK);
}

/* Continues prompt[0..n) by max_new tokens with B = 4 twice, once on whatever the cache holds
 * and once after clearing it: the same tokens, the same cache afterwards. Returns the
 * prompt-reading calls of the first run. */
static int continue_matches_fresh(const int32_t *prompt, int n, int max_new, uint64_t seed, int32_t *out,
                                  int *n_out)
{
    const int V = hp()->n_vocab;
    bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, seed, 0);
    int32_t fresh[16];
    float *l1 = malloc((size_t)4 * V * sizeof *l1), *l2 = malloc((size_t)4 * V * sizeof *l2);
    int reads = 0, n2 = 0, reads2 = 0;
    bd3_stop why;
    assert_int_equal(
        bd3_continue(g_ctx, &p, 4, prompt, n, max_new, out, NULL, n_out, &why, count_reads, &reads), BD3_OK);
    cache_probe(l1);
    int len1 = bd3_cache_len(g_ctx);
    bd3_cache_clear(g_ctx);
    assert_int_equal(
        bd3_continue(g_ctx, &p, 4, prompt, n, max_new, fresh, NULL, &n2, &why, count_reads, &reads2), BD3_OK);
    assert_int_equal(*n_out, n2);
    assert_memory_equal(out, fresh, (size_t)n2 * sizeof *out);
    assert_int_equal(reads2, n / 4);
    assert_int_equal(bd3_cache_len(g_ctx), len1);
    cache_probe(l2);
    assert_memory_equal(l1, l2, (size_t)4 * V * sizeof *l1);
    free(l1);
    free(l2);
    return reads;
}

/* A prompt that extends the last call's prompt and output reads only its new blocks; one that
 * changed in an early block is read again from the start. */
static void test_continue_reuses_cache_of_extended_prompt(void **state)
{
    (void)state;
    int32_t prompt[40], out[16];
    int n_out = 0;
    fixture_fill_ids(hp(), prompt, 13, 100);
    bd3_cache_clear(g_ctx);
    /* the partial last block is completed and not committed (the output ends in it) */
    assert_int_equal(continue_matches_fresh(prompt, 13, 3, 1, out, &n_out), 3);
    assert_int_equal(n_out, 3);
    /* the editor's next keypress: the prompt now ends with what was written */
    memcpy(prompt + 13, out, 3 * sizeof *out);
    assert_int_equal(continue_matches_fresh(prompt, 16, 4, 2, out, &n_out), 1);
    assert_int_equal(n_out, 4);
    memcpy(prompt + 16, out, (size_t)n_out * sizeof *out);
    int n = 16 + n_out;
    /* an infill with the window cache between two calls (it borrows the rotated-key buffer) */
    int32_t win[40];
    fixture_fill_ids(hp(), win, 40, 120);
    for (int i = 10; i < 20; i++) win[i] = hp()->mask_id;
    bd3_sampler_params ip = params(BD3_SAMPLE_FIRST_HITTING, 0, 8, 3);
    assert_int_equal(bd3_infill(g_ctx, &ip, win, NULL, 40, NULL, NULL), BD3_OK);
    assert_int_equal(continue_matches_fresh(prompt, n, 4, 3, out, &n_out), n / 4 - 4);
    /* an early block changed: nothing of the cache may serve it */
    prompt[2] = prompt[2] == 1 ? 2 : 1;
    assert_int_equal(continue_matches_fresh(prompt, n, 4, 4, out, &n_out), n / 4);
    /* a later block changed: the blocks before it are kept */
    prompt[9] = prompt[9] == 1 ? 2 : 1;
    assert_int_equal(continue_matches_fresh(prompt, n, 4, 5, out, &n_out), n / 4 - 2);
    /* a cache committed with another block length is not reused */
    bd3_sampler_params p = params(BD3_SAMPLE_FIRST_HITTING, 0, 6, 0);
    bd3_stop why;
    int reads = 0;
    assert_int_equal(bd3_continue(g_ctx, &p, 8, prompt, n, 4, out, NULL, &n_out, &why, count_reads, &reads),
                     BD3_OK);
    assert_int_equal(continue_matches_fresh(prompt, n, 4, 7, out, &n_out), n / 4);
}

/* Past n_ctx (the cache dropped its oldest rows) a prompt that extends the whole history reuses
 * it; one that changed in a dropped block does not. */
static void test_continue_reuse_after_the_window_slid(void **state)
{
    (void)state;
    int32_t prompt[120], out[16];
    int n_out = 0;
    const int n = 96; /* more than n_ctx = 64 */
    fixture_fill_ids(hp(), prompt, n, 110);
    bd3_cache_clear(g_ctx);
    assert_int_equal(continue_matches_fresh(prompt, n, 4, 1, out, &n_out), n / 4);
    assert_int_equal(n_out, 4);
    memcpy(prompt + n, out, 4 * sizeof *out);
    assert_int_equal(continue_matches_fresh(prompt, n + 4, 4, 2, out, &n_out), 1);
    prompt[1] = prompt[1] == 1 ? 2 : 1; /* in a block dropped long ago */
    assert_int_equal(continue_matches_fresh(prompt, n + 4, 4, 3, out, &n_out), (n + 4) / 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_step_after_refresh_equals_full_forward),
        cmocka_unit_test(test_window_step_uses_fresh_rows_and_cached_others),
        cmocka_unit_test(test_window_step_rejects_bad_requests),
        cmocka_unit_test(test_window_cache_int8_attention),
        cmocka_unit_test(test_window_cache_lends_rotated_keys),
        cmocka_unit_test(test_infill_refresh_one_equals_exact),
        cmocka_unit_test(test_infill_cached_fills_masks_only),
        cmocka_unit_test(test_revise_with_window_cache),
        cmocka_unit_test(test_continue_reuses_cache_of_extended_prompt),
        cmocka_unit_test(test_continue_reuse_after_the_window_slid),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
