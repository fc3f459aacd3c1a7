/* test_model_fill.c: the model session's fill: every ___ blank (or marked selection) of the text
 * or the selection filled jointly in one window, as one undo step, again for another sample. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "model_session_fx.h"

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

int main(void)
{
    if (fixture_model_path(model_path, sizeof model_path) != 0) return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_fill_fills_every_blank_jointly_in_one_undo_step, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_fill_again_and_cycle_share_one_undo_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_fill_takes_the_blanks_of_the_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_fill_takes_the_marked_selections_as_blanks, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
