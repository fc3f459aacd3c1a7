/* test_model_session.c: the model in the editor over the real text layer and engine, with the
 * small random fixture model: token windows, infill/continue/revise/inspect written into the
 * text as one undo step, cancel restores, results dropped where the text was edited, scoring. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "config.h"
#include "fixture.h"
#include "model-session.h"
#include "model-window.h"

static char model_path[1024]; /* the fixture model */

/* The prompts bd3_continue was called with (the engine runs underneath unchanged). */
#define PROMPT_MAX 256
static int32_t prompts[2][PROMPT_MAX];   /* the last two prompts */
static int n_prompts[2];                 /* their lengths */
static int n_calls;                      /* calls seen */
static int last_block_len, last_max_new; /* of the last call */

bd3_status __real_bd3_continue(bd3_ctx *c, const bd3_sampler_params *p, int block_len, const int32_t *prompt,
                               int n_prompt, int max_new, int32_t *out, float *out_conf, int *n_out,
                               bd3_stop *why, bd3_step_fn cb, void *user);
bd3_status __wrap_bd3_continue(bd3_ctx *c, const bd3_sampler_params *p, int block_len, const int32_t *prompt,
                               int n_prompt, int max_new, int32_t *out, float *out_conf, int *n_out,
                               bd3_stop *why, bd3_step_fn cb, void *user);
bd3_status __wrap_bd3_continue(bd3_ctx *c, const bd3_sampler_params *p, int block_len, const int32_t *prompt,
                               int n_prompt, int max_new, int32_t *out, float *out_conf, int *n_out,
                               bd3_stop *why, bd3_step_fn cb, void *user)
{
    memcpy(prompts[0], prompts[1], sizeof prompts[0]);
    n_prompts[0] = n_prompts[1];
    n_prompts[1] = n_prompt < PROMPT_MAX ? n_prompt : PROMPT_MAX;
    memcpy(prompts[1], prompt, (size_t)n_prompts[1] * sizeof *prompt);
    n_calls++;
    last_block_len = block_len;
    last_max_new = max_new;
    return __real_bd3_continue(c, p, block_len, prompt, n_prompt, max_new, out, out_conf, n_out, why, cb,
                               user);
}

/* The confidence bd3_revise was given (copied before it runs). */
#define REVISE_MAX 512
static float revise_conf[REVISE_MAX];      /* conf of the last call */
static int revise_n, revise_lo, revise_hi; /* its window length and target */
static bd3_sampler_params revise_sp;       /* the sampler of the last call */
static double revise_fraction;             /* its fraction */

bd3_status __real_bd3_revise(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             int lo, int hi, double fraction, uint8_t *changed, bd3_step_fn cb, void *user);
bd3_status __wrap_bd3_revise(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             int lo, int hi, double fraction, uint8_t *changed, bd3_step_fn cb, void *user);
bd3_status __wrap_bd3_revise(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             int lo, int hi, double fraction, uint8_t *changed, bd3_step_fn cb, void *user)
{
    revise_n = n < REVISE_MAX ? n : REVISE_MAX;
    revise_lo = lo;
    revise_hi = hi;
    revise_sp = *p;
    revise_fraction = fraction;
    memcpy(revise_conf, conf, (size_t)revise_n * sizeof *conf);
    return __real_bd3_revise(c, p, ids, conf, n, lo, hi, fraction, changed, cb, user);
}

/* The windows bd3_infill was called with: how many, and the masks of the last one. */
static int infill_calls; /* calls seen */
static int infill_masks; /* masks in the last call's window */
static int infill_runs;  /* runs of consecutive masks in it */

bd3_status __real_bd3_infill(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             bd3_step_fn cb, void *user);
bd3_status __wrap_bd3_infill(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             bd3_step_fn cb, void *user);
bd3_status __wrap_bd3_infill(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             bd3_step_fn cb, void *user)
{
    const bd3_hparams *hp = bd3_model_hparams(bd3_ctx_model(c));
    infill_calls++;
    infill_masks = infill_runs = 0;
    for (int i = 0; i < n; i++) {
        infill_masks += ids[i] == hp->mask_id;
        infill_runs += ids[i] == hp->mask_id && (i == 0 || ids[i - 1] != hp->mask_id);
    }
    return __real_bd3_infill(c, p, ids, conf, n, cb, user);
}

/* The lengths bd3_infill_fit tried and the one it kept. */
static int fit_min, fit_max, fit_kept; /* of the last call */
static double fit_npb;                 /* its nats per byte */

bd3_status __real_bd3_infill_fit(bd3_ctx *c, const bd3_sampler_params *p, const int32_t *ids, int n, int lo,
                                 int hi, int len_min, int len_max, int n_draws, int32_t *out, float *out_conf,
                                 int *n_out, double *nats_per_byte, bd3_step_fn cb, void *user);
bd3_status __wrap_bd3_infill_fit(bd3_ctx *c, const bd3_sampler_params *p, const int32_t *ids, int n, int lo,
                                 int hi, int len_min, int len_max, int n_draws, int32_t *out, float *out_conf,
                                 int *n_out, double *nats_per_byte, bd3_step_fn cb, void *user);
bd3_status __wrap_bd3_infill_fit(bd3_ctx *c, const bd3_sampler_params *p, const int32_t *ids, int n, int lo,
                                 int hi, int len_min, int len_max, int n_draws, int32_t *out, float *out_conf,
                                 int *n_out, double *nats_per_byte, bd3_step_fn cb, void *user)
{
    fit_min = len_min;
    fit_max = len_max;
    bd3_status st = __real_bd3_infill_fit(c, p, ids, n, lo, hi, len_min, len_max, n_draws, out, out_conf,
                                          n_out, nats_per_byte, cb, user);
    fit_kept = *n_out;
    fit_npb = nats_per_byte ? *nats_per_byte : 0.0;
    return st;
}

typedef struct fx {
    config *cfg;      /* options pointing at the fixture */
    model_session *s; /* session under test */
    text *t;          /* document */
    int n_edits;      /* edit callbacks seen */
} fx;

static const char doc[] = "The cat sat on the mat.\nA dog ran to the park and back.\nEnd of it.\n";

static void on_edit(void *user, text *t, size_t pos, size_t old_len, size_t new_len)
{
    fx *f = user;
    assert_ptr_equal(t, f->t);
    assert_true(pos + new_len <= text_size(t));
    (void)old_len;
    f->n_edits++;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->cfg = config_new();
    char err[256];
    assert_int_equal(config_set(f->cfg, "model", model_path, err, sizeof err), CONFIG_OK);
    assert_int_equal(config_set(f->cfg, "threads", "1", err, sizeof err), CONFIG_OK);
    assert_int_equal(config_set(f->cfg, "seed", "7", err, sizeof err), CONFIG_OK);
    f->s = model_session_new(f->cfg);
    model_session_set_edit_fn(f->s, on_edit, f);
    f->t = text_new();
    assert_int_equal(text_insert(f->t, 0, doc, strlen(doc)), TEXT_OK);
    text_snapshot(f->t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    model_session_free(f->s);
    text_free(f->t);
    config_free(f->cfg);
    free(f);
    return 0;
}

/* Processes events until the session is idle (a hung worker fails instead of hanging). */
static void run_to_idle(fx *f)
{
    while (model_session_busy(f->s)) {
        struct pollfd p = {model_session_fd(f->s), POLLIN, 0};
        if (poll(&p, 1, 60000) == 0) fail_msg("model job did not finish");
        model_session_process(f->s);
    }
}

static char *text_all(const text *t)
{
    size_t n = text_size(t);
    char *b = malloc(n + 1);
    text_read(t, 0, n, b);
    b[n] = '\0';
    return b;
}

static void test_model_infill_rewrites_selection_as_one_undo_step(void **state)
{
    fx *f = *state;
    size_t lo = 3, hi = 11; /* " cat sat" */
    assert_int_equal(model_session_infill(f->s, f->t, lo, hi, hi, 0), 0);
    run_to_idle(f);
    char *now = text_all(f->t);
    size_t n = strlen(now);
    size_t tail = strlen(doc) - hi;
    assert_memory_equal(now, doc, lo);             /* before: untouched */
    assert_string_equal(now + n - tail, doc + hi); /* after: untouched */
    assert_null(strstr(now, MODEL_MASK_TEXT));     /* no placeholder left */
    size_t span = n - tail - lo;
    if (span > 0) {
        uint8_t *attr = malloc(span);
        text_attr_get(f->t, lo, span, attr);
        for (size_t i = 0; i < span; i++)
            assert_true(attr[i] != 0); /* model-written bytes carry their confidence */
        free(attr);
    }
    assert_true(f->n_edits > 0);
    free(now);
    assert_true(text_undo(f->t, NULL));
    now = text_all(f->t);
    assert_string_equal(now, doc); /* one undo step takes the whole operation back */
    free(now);
    assert_true(text_undo(f->t, NULL)); /* the step before it is the document's insertion */
    assert_int_equal(text_size(f->t), 0);
}

static void test_model_infill_again_keeps_samples_to_cycle(void **state)
{
    fx *f = *state;
    assert_int_equal(model_session_infill(f->s, f->t, 3, 11, 11, 0), 0);
    run_to_idle(f);
    char *first = text_all(f->t);
    assert_int_equal(model_session_infill(f->s, f->t, 0, 0, 5, 0), 0); /* again: same span */
    run_to_idle(f);
    char *second = text_all(f->t);
    assert_memory_equal(second, doc, 3);
    assert_int_equal(model_session_cycle(f->s, f->t, -1), 0);
    char msg[MODEL_MSG_MAX];
    assert_int_equal(model_session_take_message(f->s, msg, sizeof msg), MODEL_MSG_INFO);
    assert_string_equal(msg, "model: sample 1 of 2");
    char *back = text_all(f->t);
    assert_string_equal(back, first); /* cycled back to the first sample */
    /* a different selection is a new infill, not another sample */
    size_t n_back = text_size(f->t);
    assert_int_equal(model_session_infill(f->s, f->t, 0, 3, 3, 0), 0);
    run_to_idle(f);
    size_t n_other = text_size(f->t);
    char *other = malloc(n_other);
    text_read(f->t, 0, n_other, other);
    assert_true(n_other >= n_back - 3);
    assert_memory_equal(other + n_other - (n_back - 3), back + 3, n_back - 3);
    assert_int_equal(model_session_cycle(f->s, f->t, 1), -1); /* one sample of the new span */
    free(other);
    free(first);
    free(second);
    free(back);
}

static void test_model_infill_cancel_restores_text(void **state)
{
    fx *f = *state;
    assert_int_equal(model_session_infill(f->s, f->t, 3, 11, 11, 0), 0);
    char *during = text_all(f->t);
    assert_non_null(strstr(during, MODEL_MASK_TEXT)); /* masks are shown in place */
    free(during);
    assert_true(model_session_cancel(f->s, f->t));
    run_to_idle(f);
    model_session_process(f->s);
    char *now = text_all(f->t);
    assert_string_equal(now, doc);
    free(now);
    assert_false(model_session_cancel(f->s, f->t)); /* nothing left to cancel */
}

static void test_model_infill_dropped_when_span_edited(void **state)
{
    fx *f = *state;
    assert_int_equal(model_session_infill(f->s, f->t, 3, 11, 11, 0), 0);
    /* the person deletes a placeholder byte inside the span before any result arrived */
    assert_int_equal(text_delete(f->t, 5, 1), TEXT_OK);
    char *edited = text_all(f->t);
    run_to_idle(f);
    char *now = text_all(f->t);
    assert_non_null(strstr(model_session_message(f->s), "edited"));
    assert_null(strstr(now, MODEL_MASK_TEXT)); /* no placeholder left behind */
    assert_memory_equal(now, doc, 3);
    assert_string_equal(now + strlen(now) - (strlen(doc) - 11), doc + 11);
    free(edited);
    free(now);
}

static void test_model_infill_applies_after_edit_elsewhere(void **state)
{
    fx *f = *state;
    size_t lo = 29, hi = 36;
    assert_int_equal(model_session_infill(f->s, f->t, lo, hi, hi, 0), 0);
    assert_int_equal(text_insert(f->t, 0, "XY", 2), TEXT_OK); /* before the span */
    run_to_idle(f);
    char *now = text_all(f->t);
    assert_memory_equal(now, "XY", 2);
    assert_memory_equal(now + 2, doc, lo);
    size_t tail = strlen(doc) - hi;
    assert_string_equal(now + strlen(now) - tail, doc + hi);
    assert_null(strstr(now, MODEL_MASK_TEXT));
    free(now);
}

static void test_model_empty_selection_inserts_tokens_at_cursor(void **state)
{
    fx *f = *state;
    char err[128];
    config_set(f->cfg, "infill-length", "3", err, sizeof err);
    assert_int_equal(model_session_infill(f->s, f->t, 0, 0, 24, 0), 0);
    run_to_idle(f);
    char *now = text_all(f->t);
    assert_memory_equal(now, doc, 24);
    assert_string_equal(now + strlen(now) - (strlen(doc) - 24), doc + 24);
    assert_true(strlen(now) > strlen(doc)); /* three tokens, each at least one byte */
    free(now);
}

static void test_model_empty_selection_again_resamples_the_insertion(void **state)
{
    fx *f = *state;
    char err[128];
    config_set(f->cfg, "infill-length", "3", err, sizeof err);
    /* the cursor after the blank of "The cat": the insertion goes before the blank */
    assert_int_equal(model_session_infill(f->s, f->t, 4, 4, 4, 0), 0);
    run_to_idle(f);
    size_t grown = text_size(f->t) - strlen(doc);
    assert_true(grown > 0);
    /* pressed again with the cursor where the editor leaves it (moved with the text after
     * the insertion point): another sample of the same span, not a second insertion */
    assert_int_equal(model_session_infill(f->s, f->t, 4 + grown, 4 + grown, 4 + grown, 0), 0);
    run_to_idle(f);
    assert_non_null(strstr(model_session_message(f->s), "sample 2"));
    char *now = text_all(f->t);
    assert_memory_equal(now, doc, 3);
    assert_string_equal(now + strlen(now) - (strlen(doc) - 3), doc + 3);
    free(now);
    assert_int_equal(model_session_cycle(f->s, f->t, -1), 0); /* back to the first sample */
}

static void test_model_infill_count_and_grow_set_target_length(void **state)
{
    fx *f = *state;
    assert_int_equal(model_session_infill(f->s, f->t, 3, 11, 11, 5), 0); /* typed count 5 */
    run_to_idle(f);
    assert_non_null(strstr(model_session_message(f->s), "infilled 5 tokens"));
    assert_int_equal(model_session_resize(f->s, f->t, 2), 0); /* grow the last result */
    run_to_idle(f);
    assert_non_null(strstr(model_session_message(f->s), "infilled 7 tokens"));
    char *now = text_all(f->t);
    assert_memory_equal(now, doc, 3);
    assert_string_equal(now + strlen(now) - (strlen(doc) - 11), doc + 11);
    free(now);
}

static void test_model_infill_of_one_token_says_token(void **state)
{
    fx *f = *state;
    assert_int_equal(model_session_infill(f->s, f->t, 3, 11, 11, 1), 0); /* typed count 1 */
    run_to_idle(f);
    assert_non_null(strstr(model_session_message(f->s), "infilled 1 token ("));
}

static void test_model_continue_inserts_after_cursor_and_keeps_rest(void **state)
{
    fx *f = *state;
    size_t cur = 24;
    assert_int_equal(model_session_continue(f->s, f->t, cur, 2), 0);
    run_to_idle(f);
    char *now = text_all(f->t);
    assert_memory_equal(now, doc, cur);
    size_t tail = strlen(doc) - cur;
    assert_string_equal(now + strlen(now) - tail, doc + cur); /* text after the cursor stays */
    assert_null(strstr(now, MODEL_MASK_TEXT));
    free(now);
    assert_true(text_undo(f->t, NULL));
    now = text_all(f->t);
    assert_string_equal(now, doc);
    free(now);
}

static void test_model_stop_continue_keeps_no_placeholder(void **state)
{
    fx *f = *state;
    assert_int_equal(model_session_continue(f->s, f->t, 24, 50), 0);
    char *during = text_all(f->t);
    free(during);
    assert_true(model_session_stop_continue(f->s));
    assert_false(model_session_busy(f->s));
    run_to_idle(f);
    model_session_process(f->s);
    char *now = text_all(f->t);
    assert_string_equal(now, doc); /* no event was applied: nothing kept, nothing left behind */
    free(now);
    assert_false(model_session_stop_continue(f->s));
}

static void test_model_revise_changes_only_target(void **state)
{
    fx *f = *state;
    size_t lo = 24, hi = 55;
    assert_int_equal(model_session_revise(f->s, f->t, lo, hi, lo), 0);
    run_to_idle(f);
    char *now = text_all(f->t);
    assert_memory_equal(now, doc, lo);
    size_t tail = strlen(doc) - hi;
    assert_string_equal(now + strlen(now) - tail, doc + hi);
    free(now);
    assert_non_null(strstr(model_session_message(f->s), "revised"));
    int n_changed = atoi(strstr(model_session_message(f->s), "revised") + 8);
    int marked = 0;
    for (size_t p = 0; p < text_size(f->t); p++) marked += model_session_changed_at(f->s, f->t, p);
    assert_true((n_changed > 0) == (marked > 0)); /* changed tokens are highlighted */
    for (size_t p = 0; p < lo; p++) assert_false(model_session_changed_at(f->s, f->t, p));
    if (text_can_undo(f->t)) {
        text_undo(f->t, NULL);
        now = text_all(f->t);
        assert_string_equal(now, doc);
        free(now);
    }
}

static void test_model_inspect_offers_alternatives_and_replaces_token(void **state)
{
    fx *f = *state;
    assert_int_equal(model_session_inspect(f->s, f->t, 5), 0);
    run_to_idle(f);
    int n = model_session_alt_count(f->s);
    assert_true(n > 0);
    double last = 2.0;
    for (int i = 0; i < n; i++) {
        double p = model_session_alt_prob(f->s, i);
        assert_true(p <= last && p >= 0.0);
        last = p;
    }
    size_t len;
    const char *alt = model_session_alt_text(f->s, 1, &len);
    assert_non_null(alt);
    char want[64];
    memcpy(want, alt, len);
    assert_int_equal(model_session_inspect_choose(f->s, f->t, 1), 0);
    char *now = text_all(f->t);
    assert_non_null(memmem(now, strlen(now), want, len));
    free(now);
    assert_true(text_undo(f->t, NULL));
    now = text_all(f->t);
    assert_string_equal(now, doc);
    free(now);
}

static void test_model_inspect_choice_out_of_range_says_so_and_keeps_text(void **state)
{
    fx *f = *state;
    assert_int_equal(model_session_inspect(f->s, f->t, 5), 0);
    run_to_idle(f);
    int n = model_session_alt_count(f->s);
    assert_true(n > 0);
    assert_int_equal(model_session_inspect_choose(f->s, f->t, n + 2), -1);
    const char *msg = model_session_message(f->s);
    assert_null(strstr(msg, "changed")); /* the text did not change: the number was wrong */
    assert_non_null(strstr(msg, "no alternative"));
    char *now = text_all(f->t);
    assert_string_equal(now, doc);
    free(now);
}

static void test_model_heatmap_scores_person_text_and_survives_undo(void **state)
{
    fx *f = *state;
    char err[128];
    config_set(f->cfg, "score-delay-ms", "0", err, sizeof err);
    assert_true(model_session_toggle_heatmap(f->s));
    size_t n = strlen(doc);
    for (int round = 0; round < 8; round++) {
        model_session_tick(f->s, f->t, 0, 24, 1000); /* only the first line is visible */
        run_to_idle(f);
    }
    /* the visible line first, then the text below it: everything ends up scored */
    uint8_t attr[sizeof doc];
    text_attr_get(f->t, 0, n, attr);
    for (size_t i = 0; i < n; i++) assert_true(attr[i] != 0);
    /* revise uses the recorded confidence directly once every token has one */
    assert_int_equal(model_session_revise(f->s, f->t, 24, 55, 24), 0);
    run_to_idle(f);
    assert_non_null(strstr(model_session_message(f->s), "revised"));
    text_undo(f->t, NULL);
    /* a command while scoring runs: the scoring gives way */
    assert_int_equal(text_insert(f->t, n, "More text.\n", 11), TEXT_OK);
    text_snapshot(f->t);
    model_session_tick(f->s, f->t, 0, n + 11, 1000);
    assert_true(model_session_busy(f->s));
    assert_int_equal(model_session_inspect(f->s, f->t, 5), 0);
    run_to_idle(f);
    assert_true(model_session_alt_count(f->s) > 0);
    model_session_alternatives_close(f->s);
    text_undo(f->t, NULL);
    /* an edit: the new bytes are unknown, the old keep their scores, undo brings them back */
    assert_int_equal(text_insert(f->t, 4, "big ", 4), TEXT_OK);
    uint8_t a2[8];
    text_attr_get(f->t, 4, 4, a2);
    assert_int_equal(a2[0], 0);
    text_undo(f->t, NULL);
    uint8_t a3[sizeof doc];
    text_attr_get(f->t, 0, n, a3);
    assert_memory_equal(a3, attr, n);
}

/* After an edit, the tokens around it are scored again (their context changed), not only the
 * new bytes; text far from the edit keeps its scores. */
static void test_model_heatmap_rescores_tokens_around_an_edit(void **state)
{
    fx *f = *state;
    char err[128];
    config_set(f->cfg, "score-delay-ms", "0", err, sizeof err);
    assert_true(model_session_toggle_heatmap(f->s));
    size_t n = strlen(doc);
    for (int round = 0; round < 8; round++) {
        model_session_tick(f->s, f->t, 0, n, 1000);
        run_to_idle(f);
    }
    /* old scores that an edit would leave stale: a sentinel no random model gives */
    uint8_t stale = model_window_conf_encode(0.99f, false);
    text_attr_fill(f->t, 0, n, stale);
    assert_int_equal(text_insert(f->t, 8, "not ", 4), TEXT_OK); /* "The cat not sat on ..." */
    model_session_note_edit_at(f->s, f->t, 12, 1000);
    for (int round = 0; round < 4; round++) {
        model_session_tick(f->s, f->t, 0, n + 4, 2000);
        run_to_idle(f);
    }
    uint8_t attr[sizeof doc + 4];
    text_attr_get(f->t, 0, n + 4, attr);
    for (size_t i = 8; i < 12; i++) assert_true(attr[i] != 0 && attr[i] != stale); /* the new bytes */
    for (size_t i = 12; i < 19; i++) assert_true(attr[i] != stale); /* " sat on": after the edit */
    assert_true(attr[4] != stale);                                  /* "cat": before it */
    size_t end = n + 4 - strlen("End of it.\n");
    assert_int_equal(attr[end], stale); /* the last line, far from the edit, is not scored again */
}

/* Scores every byte of f's text that has no confidence yet (the heatmap on, no delay). */
static void score_all(fx *f)
{
    char err[128];
    config_set(f->cfg, "score-delay-ms", "0", err, sizeof err);
    if (!model_session_heatmap(f->s)) assert_true(model_session_toggle_heatmap(f->s));
    for (int round = 0; round < 8; round++) {
        model_session_tick(f->s, f->t, 0, text_size(f->t), 1000);
        run_to_idle(f);
    }
}

/* The first line as written by the model: its recorded confidence is 0.9, "cat" 0.05 (values a
 * score of the person's text is told apart from: it is written without the model bit). */
#define LINE1 24 /* bytes of "The cat sat on the mat.\n" */
static void mark_line1_model_written(fx *f)
{
    assert_int_equal(text_attr_fill(f->t, 0, LINE1, model_window_conf_encode(0.9f, true)), TEXT_OK);
    assert_int_equal(text_attr_fill(f->t, 4, 3, model_window_conf_encode(0.05f, true)), TEXT_OK);
}

/* Re-scoring after an edit next to the model's text replaces the scores of the person's tokens
 * around it but leaves the confidence the model recorded for its own tokens. */
static void test_model_rescore_after_edit_keeps_model_recorded_confidence(void **state)
{
    fx *f = *state;
    size_t n = strlen(doc);
    score_all(f);
    mark_line1_model_written(f);
    uint8_t line1[LINE1];
    text_attr_get(f->t, 0, LINE1, line1);
    /* the person's second line: a stale score that the re-scoring must replace */
    uint8_t stale = model_window_conf_encode(0.5f, false);
    text_attr_fill(f->t, LINE1, n - LINE1, stale);
    assert_int_equal(text_insert(f->t, LINE1, "Yes. ", 5), TEXT_OK);
    text_snapshot(f->t);
    model_session_note_edit_at(f->s, f->t, LINE1 + 5, 1000);
    score_all(f);
    uint8_t now[sizeof doc + 5];
    text_attr_get(f->t, 0, n + 5, now);
    assert_memory_equal(now, line1, LINE1);
    for (size_t i = LINE1; i < LINE1 + 5; i++) { /* the new bytes: the person's, scored */
        assert_true(model_window_conf_decode(now[i]) >= 0.0f);
        assert_false(model_window_conf_by_model(now[i]));
    }
    int rescored = 0;
    for (size_t i = LINE1 + 5; i < LINE1 + 5 + 10; i++) rescored += now[i] != stale;
    assert_true(rescored > 0); /* the person's tokens after the edit were scored again */
}

/* A person's edit inside the model's text: the new bytes are the person's (unknown, then
 * scored); undo brings back the model's text with the confidence it recorded. */
static void test_model_undo_of_edit_in_model_text_restores_recorded_confidence(void **state)
{
    fx *f = *state;
    size_t n = strlen(doc);
    score_all(f);
    mark_line1_model_written(f);
    uint8_t before[sizeof doc];
    text_attr_get(f->t, 0, n, before);
    assert_int_equal(text_delete(f->t, 4, 3), TEXT_OK); /* "cat" -> "dog" */
    assert_int_equal(text_insert(f->t, 4, "dog", 3), TEXT_OK);
    text_snapshot(f->t);
    uint8_t a[3];
    text_attr_get(f->t, 4, 3, a);
    for (int i = 0; i < 3; i++) assert_int_equal(a[i], 0);
    model_session_note_edit_at(f->s, f->t, 7, 1000);
    score_all(f);
    text_attr_get(f->t, 4, 3, a);
    for (int i = 0; i < 3; i++) {
        assert_true(model_window_conf_decode(a[i]) >= 0.0f);
        assert_false(model_window_conf_by_model(a[i]));
    }
    assert_true(text_undo(f->t, NULL));
    char *now = text_all(f->t);
    assert_string_equal(now, doc);
    free(now);
    uint8_t after[sizeof doc];
    text_attr_get(f->t, 0, n, after);
    assert_memory_equal(after, before, n);
}

/* Revise ranks the model's tokens by the confidence recorded when they were written, also after
 * the text around them was scored again; the least confident is the model's "cat". */
static void test_model_revise_orders_by_recorded_confidence(void **state)
{
    fx *f = *state;
    score_all(f);
    mark_line1_model_written(f);
    assert_int_equal(text_insert(f->t, LINE1, "Yes. ", 5), TEXT_OK); /* a person's edit next to it */
    text_snapshot(f->t);
    model_session_note_edit_at(f->s, f->t, LINE1 + 5, 1000);
    score_all(f);
    const bd3_model *m = model_session_model(f->s);
    model_window w;
    assert_int_equal(model_window_build(&w, m, f->t, 0, LINE1, -1, 256, -1, -1), BD3_OK);
    revise_n = 0;
    assert_int_equal(model_session_revise(f->s, f->t, 0, LINE1, 0), 0);
    run_to_idle(f);
    assert_int_equal(revise_n, w.n);
    assert_int_equal(revise_lo, w.lo);
    assert_int_equal(revise_hi, w.hi);
    float lowest = 2.0f;
    int at = -1;
    for (int i = w.lo; i < w.hi; i++) {
        bool cat = w.pos[i] < 7 && w.pos[i + 1] > 4;
        float want = model_window_conf_decode(model_window_conf_encode(cat ? 0.05f : 0.9f, true));
        assert_float_equal(revise_conf[i], want, 1e-6);
        if (revise_conf[i] < lowest) {
            lowest = revise_conf[i];
            at = i;
        }
    }
    assert_true(at >= 0);
    assert_true(w.pos[at] < 7 && w.pos[at + 1] > 4); /* a token of "cat" */
    model_window_release(&w);
}

/* After a revise of the person's text the tokens it changed are the model's (confidence
 * recorded), the ones it left are still the person's, with their scores. */
static void test_model_revise_leaves_unchanged_person_tokens_the_persons(void **state)
{
    fx *f = *state;
    score_all(f);
    size_t lo = LINE1, hi = 55;
    assert_int_equal(model_session_revise(f->s, f->t, lo, hi, lo), 0);
    run_to_idle(f);
    size_t end = text_size(f->t) - (strlen(doc) - hi);
    int kept = 0;
    for (size_t p = lo; p < end; p++) {
        uint8_t a = 0;
        text_attr_get(f->t, p, 1, &a);
        assert_true(model_window_conf_decode(a) >= 0.0f);
        assert_int_equal(model_window_conf_by_model(a), model_session_changed_at(f->s, f->t, p));
        kept += !model_session_changed_at(f->s, f->t, p);
    }
    assert_true(kept > 0);
}

/* Continuing again at the end of the last continuation gives the engine a prompt that extends
 * the last one (same first tokens), so its cache holds all but the new blocks; in a document
 * longer than the window too. */
static void test_model_continue_again_extends_the_last_prompt(void **state)
{
    fx *f = *state;
    for (int i = 0; i < 4; i++) /* about 80 tokens: more than the fixture's window of 64 */
        assert_int_equal(text_insert(f->t, text_size(f->t), doc, strlen(doc)), TEXT_OK);
    text_snapshot(f->t);
    int calls = n_calls;
    assert_int_equal(model_session_continue(f->s, f->t, text_size(f->t), 1), 0);
    run_to_idle(f);
    if (strstr(model_session_message(f->s), "end of text") ||
        strstr(model_session_message(f->s), "repetition"))
        skip();
    assert_int_equal(model_session_continue(f->s, f->t, text_size(f->t), 1), 0);
    run_to_idle(f);
    assert_int_equal(n_calls, calls + 2);
    assert_true(n_prompts[0] > 0 && n_prompts[1] > n_prompts[0]);
    assert_true(n_prompts[1] < 64);
    assert_memory_equal(prompts[1], prompts[0], (size_t)(n_prompts[0] - 1) * sizeof prompts[0][0]);
    /* the new text ends on a block boundary (blocks count from the prompt's start) */
    assert_true(last_block_len > 0 && last_max_new > 0 && last_max_new <= last_block_len);
    assert_int_equal((n_prompts[1] + last_max_new) % last_block_len, 0);
}

/* A continuation whose prompt ends inside a block completes that block first, so the next one
 * starts on a block boundary. */
static void test_model_continue_completes_the_partial_block(void **state)
{
    fx *f = *state;
    assert_int_equal(model_session_continue(f->s, f->t, 3, 1), 0); /* after "The" */
    run_to_idle(f);
    assert_true(last_block_len > 1 && n_prompts[1] % last_block_len != 0);
    assert_true(last_max_new > 0 && last_max_new < last_block_len);
    assert_int_equal((n_prompts[1] + last_max_new) % last_block_len, 0);
}

static void test_model_without_global_training_warns_and_infills(void **state)
{
    (void)state;
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char path[512], cmd[2048];
    snprintf(path, sizeof path, "%s/fixtures/noglobal_f32.gguf", build);
    if (access(path, R_OK) != 0) {
        snprintf(cmd, sizeof cmd,
                 "'%s' -c \"import sys; sys.path.insert(0, 'tests/ref'); import make_fixture as f; "
                 "f.random_model(sys.argv[1] + '.tmp', 300, 32, 2, 1, 64, 'f32', [4, 8], 3)\" '%s' && "
                 "mv '%s.tmp' '%s'",
                 getenv("PYTHON") ? getenv("PYTHON") : "/usr/bin/python3", path, path, path);
        if (system(cmd) != 0) skip();
    }
    config *cfg = config_new();
    char err[256];
    config_set(cfg, "model", path, err, sizeof err);
    config_set(cfg, "threads", "1", err, sizeof err);
    model_session *s = model_session_new(cfg);
    text *t = text_new();
    text_insert(t, 0, doc, strlen(doc));
    assert_int_equal(model_session_load(s), 0);
    assert_non_null(strstr(model_session_message(s), "global"));
    assert_int_equal(model_session_infill(s, t, 3, 11, 11, 0), 0);
    while (model_session_busy(s)) {
        struct pollfd p = {model_session_fd(s), POLLIN, 0};
        poll(&p, 1, 60000);
        model_session_process(s);
    }
    assert_non_null(strstr(model_session_message(s), "infilled"));
    assert_non_null(strstr(model_session_message(s), "no global training"));
    model_session_free(s);
    text_free(t);
    config_free(cfg);
}

static void test_model_missing_file_is_reported(void **state)
{
    (void)state;
    config *cfg = config_new();
    char err[256];
    config_set(cfg, "model", "/nonexistent/m.gguf", err, sizeof err);
    model_session *s = model_session_new(cfg);
    text *t = text_new();
    assert_int_equal(model_session_infill(s, t, 0, 0, 0, 0), -1);
    assert_true(strlen(model_session_message(s)) > 0);
    assert_int_equal(model_session_fd(s), -1);
    char msg[MODEL_MSG_MAX];
    assert_int_equal(model_session_take_message(s, msg, sizeof msg), MODEL_MSG_ERROR); /* severity given */
    assert_non_null(strstr(msg, "/nonexistent/m.gguf"));
    assert_string_equal(model_session_message(s), "");
    model_session_free(s);
    text_free(t);
    config_free(cfg);
    model_session_free(NULL);
}

/* The editor starts from the engine's shared defaults (the model's own where it has them);
 * options set in the config win; seed 0 draws a fresh seed each run. */
static void test_model_sampler_is_the_shared_defaults_under_the_config(void **state)
{
    (void)state;
    char path[1024], err[256];
    assert_int_equal(fixture_sampler_model_path(path, sizeof path), 0);
    const char *models[2] = {model_path, path};
    for (int k = 0; k < 2; k++) {
        config *cfg = config_new();
        assert_int_equal(config_set(cfg, "model", models[k], err, sizeof err), CONFIG_OK);
        assert_int_equal(config_set(cfg, "threads", "1", err, sizeof err), CONFIG_OK);
        model_session *s = model_session_new(cfg);
        text *t = text_new();
        assert_int_equal(text_insert(t, 0, doc, strlen(doc)), TEXT_OK);
        text_snapshot(t);
        fx f = {.cfg = cfg, .s = s, .t = t};
        uint64_t seeds[2];
        for (int run = 0; run < 2; run++) {
            assert_int_equal(model_session_revise(s, t, 24, 55, 24), 0);
            run_to_idle(&f);
            seeds[run] = revise_sp.seed;
        }
        bd3_model *m = NULL;
        assert_int_equal(bd3_model_load(models[k], &m, NULL, 0), BD3_OK);
        bd3_defaults d;
        bd3_model_defaults(m, &d);
        bd3_model_free(m);
        assert_int_equal(revise_sp.kind, d.sampler.kind);
        assert_int_equal(revise_sp.steps, d.sampler.steps);
        assert_true(revise_sp.top_p == d.sampler.top_p);
        assert_int_equal(revise_sp.refresh, d.sampler.refresh);
        assert_true(revise_fraction == d.revise_fraction);
        if (k == 0) /* the plain fixture: the built-in values */
            assert_true(revise_sp.top_p == 0.9 && revise_sp.refresh == 32 && revise_fraction == 0.3);
        else /* the model's own */
            assert_true(revise_sp.top_p == 0.5 && revise_sp.refresh == 0 && revise_fraction == 0.5 &&
                        revise_sp.kind == BD3_SAMPLE_CONFIDENCE && revise_sp.steps == 3);
        assert_true(seeds[0] != 0 && seeds[1] != 0 && seeds[0] != seeds[1]);
        /* what the person sets wins over the model */
        assert_int_equal(config_set(cfg, "top-p", "0.8", err, sizeof err), CONFIG_OK);
        assert_int_equal(config_set(cfg, "revise-fraction", "0.9", err, sizeof err), CONFIG_OK);
        assert_int_equal(config_set(cfg, "sampler", "first-hitting", err, sizeof err), CONFIG_OK);
        assert_int_equal(config_set(cfg, "seed", "11", err, sizeof err), CONFIG_OK);
        text_undo(t, NULL);
        assert_int_equal(model_session_revise(s, t, 24, 55, 24), 0);
        run_to_idle(&f);
        assert_true(revise_sp.top_p == 0.8 && revise_fraction == 0.9);
        assert_int_equal(revise_sp.kind, BD3_SAMPLE_FIRST_HITTING);
        assert_true(revise_sp.seed >= 11);
        assert_int_equal(revise_sp.refresh, d.sampler.refresh); /* not set: still the model's */
        model_session_free(s);
        text_free(t);
        config_free(cfg);
    }
}

static const char paras[] = "Once upon a time there was a cat.\nIt sat on the mat all day.\n\n"
                            "The dog ran to the park and back. It was glad.\n\nEnd of the story.\n";

/* Replaces the fixture's text with s (one undo step before the test's). */
static void set_text(fx *f, const char *s)
{
    text_delete(f->t, 0, text_size(f->t));
    text_insert(f->t, 0, s, strlen(s));
    text_snapshot(f->t);
}

/* Number of runs of bytes that are not blanks or line ends. */
static int count_words(const char *s, size_t n)
{
    int w = 0;
    for (size_t i = 0; i < n; i++) w += !strchr(" \t\r\n", s[i]) && (i == 0 || strchr(" \t\r\n", s[i - 1]));
    return w;
}

/* Without a selection, revise works on the paragraph around the cursor: the other paragraphs
 * stay as they were, even with every token of the target remasked. */
static void test_model_revise_without_selection_works_on_the_cursor_paragraph(void **state)
{
    fx *f = *state;
    char err[128];
    config_set(f->cfg, "revise-fraction", "1", err, sizeof err);
    set_text(f, paras);
    const char *p2 = strstr(paras, "The dog");
    size_t lo = (size_t)(p2 - paras), hi = (size_t)(strstr(paras, "\n\nEnd") - paras);
    assert_int_equal(model_session_revise(f->s, f->t, 40, 40, lo + 10), 0);
    run_to_idle(f);
    assert_non_null(strstr(model_session_message(f->s), "revised"));
    char *now = text_all(f->t);
    size_t n = text_size(f->t), tail = strlen(paras) - hi; /* the model may write NUL bytes */
    assert_true(n >= lo + tail);
    assert_memory_equal(now, paras, lo);                           /* the first paragraph */
    assert_memory_equal(now + n - tail, paras + hi, tail);         /* the last one */
    assert_true(n != strlen(paras) || memcmp(now, paras, n) != 0); /* the cursor's paragraph changed */
    free(now);
}

/* Revise keeps token boundaries on word boundaries: the text's first word gets no leading
 * blank, no word is split or joined, a paragraph's final period does not become part of a
 * word. */
static void test_model_revise_keeps_word_boundaries(void **state)
{
    fx *f = *state;
    char err[128];
    config_set(f->cfg, "revise-fraction", "1", err, sizeof err);
    const char *first = "Once upon a time there was a cat.\nIt sat on the mat all day.\n\n";
    for (int round = 0; round < 3; round++) {
        set_text(f, paras);
        assert_int_equal(model_session_revise(f->s, f->t, 0, 0, 5), 0); /* in the first word */
        run_to_idle(f);
        char *now = text_all(f->t);
        size_t n = text_size(f->t), tail = strlen(paras) - strlen(first); /* the model may write NUL */
        assert_true(n >= tail);
        assert_memory_equal(now + n - tail, paras + strlen(first), tail); /* the other paragraphs */
        size_t plen = n - tail;
        assert_true(now[0] != ' ' && now[0] != '\t');
        assert_int_equal(count_words(now, plen), count_words(first, strlen(first)));
        size_t k = plen;
        while (k > 0 && strchr(" \t\r\n", now[k - 1])) k--;
        assert_true(k > 0);
        unsigned char last = (unsigned char)now[k - 1];
        assert_false((last >= '0' && last <= '9') || (unsigned)((last | 0x20) - 'a') < 26u || last >= 0x80);
        free(now);
    }
}

static const char blanks[] = "The ___ sat on the ___.\nEnd of it.\n";

/* Every blank is filled in one model operation over one window holding both blanks and the
 * text between them; the text around the blanks stays, with its attributes; one undo step. */
static void test_model_fill_fills_every_blank_jointly_in_one_undo_step(void **state)
{
    fx *f = *state;
    set_text(f, blanks);
    int calls = infill_calls;
    assert_int_equal(model_session_fill(f->s, f->t, 0, 0, 0), 0);
    run_to_idle(f);
    assert_int_equal(infill_calls, calls + 1); /* one operation for both */
    assert_int_equal(infill_runs, 2);
    assert_int_equal(infill_masks, 6); /* one token per underscore */
    assert_non_null(strstr(model_session_message(f->s), "filled 2 blanks with 6 tokens"));
    char *now = text_all(f->t);
    size_t n = text_size(f->t);
    assert_null(memmem(now, n, "___", 3));
    assert_memory_equal(now, "The", 3);
    const char *tail = ".\nEnd of it.\n";
    assert_true(n > strlen(tail));
    assert_memory_equal(now + n - strlen(tail), tail, strlen(tail));
    char *mid = memmem(now, n, " sat on the", 11);
    assert_non_null(mid); /* the text between the blanks */
    uint8_t a[11];
    text_attr_get(f->t, (size_t)(mid - now), 11, a);
    for (int i = 0; i < 11; i++) assert_int_equal(a[i], 0); /* still the writer's, unscored */
    free(now);
    assert_true(text_undo(f->t, NULL));
    now = text_all(f->t);
    assert_string_equal(now, blanks);
    free(now);
}

/* The fill key again (cursor in the result) draws another sample of the same blanks; the samples
 * cycle and share one undo step. */
static void test_model_fill_again_and_cycle_share_one_undo_step(void **state)
{
    fx *f = *state;
    set_text(f, blanks);
    assert_int_equal(model_session_fill(f->s, f->t, 0, 0, 0), 0);
    run_to_idle(f);
    size_t n1 = text_size(f->t);
    char *first = text_all(f->t);
    assert_int_equal(model_session_fill(f->s, f->t, 5, 5, 5), 0);
    run_to_idle(f);
    assert_int_equal(infill_runs, 2);
    assert_non_null(strstr(model_session_message(f->s), "sample 2"));
    assert_int_equal(model_session_cycle(f->s, f->t, -1), 0);
    char *back = text_all(f->t);
    assert_int_equal(text_size(f->t), n1);
    assert_memory_equal(back, first, n1);
    assert_int_equal(model_session_resize(f->s, f->t, 1), -1); /* lengths come from the blanks */
    assert_true(text_undo(f->t, NULL));
    char *now = text_all(f->t);
    assert_string_equal(now, blanks);
    free(now);
    free(first);
    free(back);
}

/* With a selection, only the blanks inside it are filled; without blanks, nothing happens. */
static void test_model_fill_takes_the_blanks_of_the_selection(void **state)
{
    fx *f = *state;
    set_text(f, blanks);
    assert_int_equal(model_session_fill(f->s, f->t, 0, 10, 0), 0); /* "The ___ sa" */
    run_to_idle(f);
    assert_int_equal(infill_runs, 1);
    assert_int_equal(infill_masks, 3);
    char *now = text_all(f->t);
    size_t n = text_size(f->t);
    const char *tail = " sat on the ___.\nEnd of it.\n";
    assert_memory_equal(now + n - strlen(tail), tail, strlen(tail));
    assert_null(memmem(now, n - strlen(tail), "___", 3));
    free(now);
    set_text(f, doc);
    assert_int_equal(model_session_fill(f->s, f->t, 0, 0, 0), -1);
    assert_non_null(strstr(model_session_message(f->s), "no blanks"));
    assert_false(model_session_busy(f->s));
}

/* Selections marked as blanks are filled with the ___ runs, jointly, each with as many tokens as
 * it had; marking a marked one again unmarks it; the marks are used up by the fill. */
static void test_model_fill_takes_the_marked_selections_as_blanks(void **state)
{
    fx *f = *state;
    /* doc: "The cat sat on the mat.\nA dog ran to the park and back.\nEnd of it.\n" */
    assert_int_equal(model_session_mark_blank(f->s, f->t, 4, 7), 0); /* "cat" (with its blank) */
    assert_true(model_session_blank_at(f->s, f->t, 5));
    assert_int_equal(model_session_mark_blank(f->s, f->t, 41, 45), 0); /* "park" */
    assert_int_equal(model_session_mark_blank(f->s, f->t, 14, 18), 0); /* "the " */
    assert_int_equal(model_session_mark_blank(f->s, f->t, 15, 16), 0); /* again: unmarked */
    assert_false(model_session_blank_at(f->s, f->t, 15));
    assert_non_null(strstr(model_session_message(f->s), "unmarked"));
    const bd3_model *m = model_session_model(f->s);
    model_window a, b;
    assert_int_equal(model_window_build(&a, m, f->t, 3, 7, -1, 64, 0, 0), BD3_OK);
    assert_int_equal(model_window_build(&b, m, f->t, 40, 45, -1, 64, 0, 0), BD3_OK);
    int want = (a.hi - a.lo) + (b.hi - b.lo);
    model_window_release(&a);
    model_window_release(&b);
    int calls = infill_calls;
    assert_int_equal(model_session_fill(f->s, f->t, 0, 0, 0), 0);
    assert_false(model_session_blank_at(f->s, f->t, 5)); /* used up */
    run_to_idle(f);
    assert_int_equal(infill_calls, calls + 1);
    assert_int_equal(infill_runs, 2);
    assert_int_equal(infill_masks, want);
    char *now = text_all(f->t);
    size_t n = text_size(f->t);
    assert_memory_equal(now, "The", 3);
    assert_non_null(memmem(now, n, " sat on the mat.\nA dog ran to the", 33));
    const char *tail = " and back.\nEnd of it.\n";
    assert_memory_equal(now + n - strlen(tail), tail, strlen(tail));
    free(now);
    assert_true(text_undo(f->t, NULL));
    now = text_all(f->t);
    assert_string_equal(now, doc);
    free(now);
    assert_int_equal(model_session_mark_blank(f->s, f->t, 5, 5), -1); /* nothing selected */
}

/* infill-fit: the infill tries the lengths around the one asked for and keeps the one the model
 * finds likeliest per byte, said in the message and the status line; one undo step. */
static void test_model_infill_fit_keeps_the_likeliest_length(void **state)
{
    fx *f = *state;
    char err[128];
    assert_int_equal(config_set(f->cfg, "infill-fit", "2", err, sizeof err), CONFIG_OK);
    fit_kept = 0;
    assert_int_equal(model_session_infill(f->s, f->t, 3, 11, 11, 4), 0); /* " cat sat", 4 tokens */
    char st[128];
    model_session_status(f->s, st, sizeof st);
    assert_non_null(strstr(st, "fit 2..6"));
    run_to_idle(f);
    assert_int_equal(fit_min, 2);
    assert_int_equal(fit_max, 6);
    assert_true(fit_kept >= 2 && fit_kept <= 6);
    char want[64];
    snprintf(want, sizeof want, "infilled %d token", fit_kept);
    assert_non_null(strstr(model_session_message(f->s), want));
    assert_non_null(strstr(model_session_message(f->s), "best fit of 2..6"));
    model_session_status(f->s, st, sizeof st);
    snprintf(want, sizeof want, "fit %d tok %.2f nat/B", fit_kept, fit_npb);
    assert_string_equal(st, want);
    char *now = text_all(f->t);
    size_t n = text_size(f->t), tail = strlen(doc) - 11;
    assert_memory_equal(now, doc, 3);
    assert_memory_equal(now + n - tail, doc + 11, tail);
    free(now);
    assert_true(text_undo(f->t, NULL));
    now = text_all(f->t);
    assert_string_equal(now, doc);
    free(now);
    model_session_status(f->s, st, sizeof st);
    assert_string_equal(st, ""); /* the result is gone: so is its figure */
}

int main(void)
{
    if (fixture_model_path(model_path, sizeof model_path) != 0) return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_infill_rewrites_selection_as_one_undo_step, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_infill_again_keeps_samples_to_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_infill_cancel_restores_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_infill_dropped_when_span_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_infill_applies_after_edit_elsewhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_empty_selection_inserts_tokens_at_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_empty_selection_again_resamples_the_insertion, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_infill_count_and_grow_set_target_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_infill_of_one_token_says_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_continue_inserts_after_cursor_and_keeps_rest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_stop_continue_keeps_no_placeholder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_revise_changes_only_target, setup, teardown),
        cmocka_unit_test(test_model_sampler_is_the_shared_defaults_under_the_config),
        cmocka_unit_test_setup_teardown(test_model_inspect_offers_alternatives_and_replaces_token, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_inspect_choice_out_of_range_says_so_and_keeps_text, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_heatmap_scores_person_text_and_survives_undo, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_heatmap_rescores_tokens_around_an_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_rescore_after_edit_keeps_model_recorded_confidence, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_undo_of_edit_in_model_text_restores_recorded_confidence,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_revise_orders_by_recorded_confidence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_revise_leaves_unchanged_person_tokens_the_persons, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_continue_again_extends_the_last_prompt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_continue_completes_the_partial_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_revise_without_selection_works_on_the_cursor_paragraph,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_revise_keeps_word_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_fill_fills_every_blank_jointly_in_one_undo_step, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_fill_again_and_cycle_share_one_undo_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_fill_takes_the_blanks_of_the_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_fill_takes_the_marked_selections_as_blanks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_infill_fit_keeps_the_likeliest_length, setup, teardown),
        cmocka_unit_test(test_model_without_global_training_warns_and_infills),
        cmocka_unit_test(test_model_missing_file_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
