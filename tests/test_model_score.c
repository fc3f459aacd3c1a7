/* test_model_score.c: confidence in the model session: the heatmap scores a person's text and
 * re-scores around edits, the model's text keeps the confidence recorded when it was written
 * (through edits and undo), and revise works from it (target, paragraph, word boundaries). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "model_session_fx.h"

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

static const char paras[] = "Once upon a time there was a cat.\nIt sat on the mat all day.\n\n"
                            "The dog ran to the park and back. It was glad.\n\nEnd of the story.\n";

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

int main(void)
{
    if (fixture_model_path(model_path, sizeof model_path) != 0) return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_revise_changes_only_target, setup, teardown),
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
        cmocka_unit_test_setup_teardown(test_model_revise_without_selection_works_on_the_cursor_paragraph,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_revise_keeps_word_boundaries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
