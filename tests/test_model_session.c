/* test_model_session.c: the model in the editor over the real text layer and engine, with the
 * small random fixture model: infill (samples, length, fit), continue and inspect written into
 * the text as one undo step, cancel restores, results dropped where the text was edited,
 * loading and the sampler defaults. Scoring and revise: test_model_score.c; fill: test_model_fill.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "model_session_fx.h"

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
        cmocka_unit_test(test_model_sampler_is_the_shared_defaults_under_the_config),
        cmocka_unit_test_setup_teardown(test_model_inspect_offers_alternatives_and_replaces_token, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_inspect_choice_out_of_range_says_so_and_keeps_text, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_continue_again_extends_the_last_prompt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_continue_completes_the_partial_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_infill_fit_keeps_the_likeliest_length, setup, teardown),
        cmocka_unit_test(test_model_without_global_training_warns_and_infills),
        cmocka_unit_test(test_model_missing_file_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
