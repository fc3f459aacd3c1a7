/* test_buffer.c: edits through a buffer keep its cursor, selection anchor, top and line cache in
 * step with the text; a read-only buffer refuses them; line and column of a position; the
 * selection in either direction, exclusive, inclusive (vi visual) and linewise (vi V). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "editor-core.h"

static buffer *buffer_with(const char *s)
{
    text *t = text_new();
    assert_non_null(t);
    assert_int_equal(text_insert(t, 0, s, strlen(s)), TEXT_OK);
    buffer *b = buffer_new(t, NULL, "t");
    assert_non_null(b);
    return b;
}

static void test_buffer_insert_moves_positions_after_it(void **state)
{
    (void)state;
    buffer *b = buffer_with("abc\ndef\n");
    b->cursor = 5; /* after it: moves */
    b->anchor = 2; /* before it: stays */
    b->top = 4;    /* at it: stays (the insertion goes before) */
    assert_true(buffer_insert(b, 4, "xy\n", 3, NULL));
    assert_int_equal(b->cursor, 8);
    assert_int_equal(b->anchor, 2);
    assert_int_equal(b->top, 4);
    assert_int_equal(buffer_line_of(b, b->cursor), 2); /* the inserted newline counts */
    buffer_free(b);
}

static void test_buffer_delete_pulls_positions_inside_to_its_start(void **state)
{
    (void)state;
    buffer *b = buffer_with("one two three");
    b->cursor = 6;  /* inside the deleted range */
    b->anchor = 12; /* after it */
    b->top = 0;
    assert_true(buffer_delete(b, 4, 4)); /* "two " */
    assert_int_equal(b->cursor, 4);
    assert_int_equal(b->anchor, 8);
    assert_int_equal(b->top, 0);
    size_t s, e;
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 4);
    assert_int_equal(e, 8);
    buffer_free(b);
}

static void test_buffer_read_only_refuses_edits(void **state)
{
    (void)state;
    buffer *b = buffer_with("fixed");
    b->readonly = true;
    assert_false(buffer_insert(b, 0, "x", 1, NULL));
    assert_false(buffer_delete(b, 0, 1));
    assert_int_equal(text_size(b->text), 5);
    buffer_free(b);
    buffer_free(NULL);
}

/* The line cache gives the same answers as counting newlines, whatever the order of the
 * questions and edits in between. */
static void test_buffer_line_and_column_follow_edits(void **state)
{
    (void)state;
    buffer *b = buffer_with("a\nbb\nccc\n\xc3\xa9t\xc3\xa9\n");
    assert_int_equal(buffer_line_of(b, 0), 0);
    assert_int_equal(buffer_line_of(b, 5), 2);
    assert_int_equal(buffer_line_of(b, 9), 3);
    assert_int_equal(buffer_col_of(b, 9 + 5), 3); /* "été": three characters, five bytes */
    assert_true(buffer_delete(b, 0, 2));          /* "a\n" goes: lines move up */
    assert_int_equal(buffer_line_of(b, 7), 2);    /* "é" of "bb\nccc\né..." */
    assert_true(buffer_insert(b, 0, "\n\n", 2, NULL));
    assert_int_equal(buffer_line_of(b, 9), 4);
    assert_int_equal(buffer_line_of(b, 0), 0);
    assert_int_equal(buffer_line_of(b, 1000), 5); /* past the end: the empty last line */
    buffer_free(b);
}

static void test_buffer_selection_in_either_direction(void **state)
{
    (void)state;
    buffer *b = buffer_with("abcdef");
    size_t s, e;
    b->cursor = 2;
    assert_false(buffer_selection(b, &s, &e)); /* no anchor */
    b->anchor = 2;
    assert_false(buffer_selection(b, &s, &e)); /* empty */
    b->anchor = 5;
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 2);
    assert_int_equal(e, 5);
    b->anchor = 0;
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 0);
    assert_int_equal(e, 2);
    assert_false(buffer_selection(NULL, &s, &e));
    buffer_free(b);
}

/* vi visual: the selection takes in the whole grapheme cluster under its far end, in either
 * direction; a single position selects its character. */
static void test_buffer_inclusive_selection_takes_the_far_cluster(void **state)
{
    (void)state;
    buffer *b = buffer_with("ae\xcc\x81\xe4\xb8\xad\nx\n"); /* a, e + U+0301, a wide CJK character */
    b->inclusive = true;
    size_t s, e;
    b->anchor = b->cursor = 0;
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 0);
    assert_int_equal(e, 1);
    b->cursor = 1; /* on e: its combining mark comes too */
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(e, 4);
    b->anchor = 4; /* backward from the wide character: it is taken in */
    b->cursor = 0;
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 0);
    assert_int_equal(e, 7);
    b->anchor = b->cursor = 7; /* a line break inside the text is a character */
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(e, 8);
    b->anchor = b->cursor = 9; /* the text's last line break is not (vi keeps it) */
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 9);
    assert_int_equal(e, 9);
    b->cursor = 10; /* the end of the text: nothing to take in */
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(e, 10);
    b->anchor = TEXT_POS_NONE;
    assert_false(buffer_selection(b, &s, &e));
    buffer_free(b);
}

/* The last line break is kept in CRLF texts too; one inside the text goes with its CR. */
static void test_buffer_inclusive_end_of_crlf_lines(void **state)
{
    (void)state;
    buffer *b = buffer_with("ab\r\ncd\r\n");
    assert_int_equal(buffer_inclusive_end(b->text, 2), 4);
    assert_int_equal(buffer_inclusive_end(b->text, 6), 6);
    assert_int_equal(buffer_inclusive_end(b->text, 5), 6);
    assert_int_equal(buffer_inclusive_end(b->text, 8), 8);
    buffer_free(b);
}

/* vi V: whole lines from the first end's to the second's, line breaks included. */
static void test_buffer_linewise_selection_takes_whole_lines(void **state)
{
    (void)state;
    buffer *b = buffer_with("one\ntwo\nthree");
    b->inclusive = b->linewise = true;
    size_t s, e;
    b->anchor = b->cursor = 5;
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 4);
    assert_int_equal(e, 8);
    b->cursor = 1;
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 0);
    assert_int_equal(e, 8);
    b->cursor = 10; /* the last line, without a line break */
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 4);
    assert_int_equal(e, 13);
    buffer_free(b);
}

/* buffer_select_range selects exactly the range whatever the kind of selection, so what is
 * highlighted is what an operator acts on. */
static void test_buffer_select_range_is_exact_in_every_kind(void **state)
{
    (void)state;
    buffer *b = buffer_with("ab\xc3\xa9 cd\nef\n");
    const size_t ranges[][2] = {{0, 4}, {1, 4}, {2, 4}, {4, 7}, {5, 8}, {7, 8}, {8, 11}, {0, 11}};
    for (int inclusive = 0; inclusive < 2; inclusive++) {
        for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
            b->inclusive = inclusive;
            b->linewise = inclusive;
            buffer_select_range(b, ranges[i][0], ranges[i][1]);
            assert_false(b->linewise);
            size_t s, e;
            assert_true(buffer_selection(b, &s, &e));
            assert_int_equal(s, ranges[i][0]);
            assert_int_equal(e, ranges[i][1]);
        }
    }
    buffer_free(b);
}

/* The model replaces the text under an inclusive selection's far end: the end goes on the
 * replacement's last character, so the selection covers the whole replacement. */
static void test_buffer_inclusive_selection_follows_a_replacement(void **state)
{
    (void)state;
    editor *ed = editor_new();
    assert_non_null(ed);
    text *t = text_new();
    assert_int_equal(text_insert(t, 0, "The cat sat.", 12), TEXT_OK);
    assert_true(editor_open_text(ed, t, "t"));
    buffer *b = editor_buffer(ed);
    b->inclusive = true;
    b->anchor = 4;
    b->cursor = 6; /* "cat" */
    assert_int_equal(text_delete(t, 4, 3), TEXT_OK);
    assert_int_equal(text_insert(t, 4, "kitten", 6), TEXT_OK);
    editor_follow_replace(ed, t, 4, 3, 6);
    size_t s, e;
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 4);
    assert_int_equal(e, 10);
    assert_int_equal(b->cursor, 9);
    b->anchor = 9; /* backward, anchor on the last character: it follows the same way */
    b->cursor = 4;
    assert_int_equal(text_delete(t, 4, 6), TEXT_OK);
    assert_int_equal(text_insert(t, 4, "ox", 2), TEXT_OK);
    editor_follow_replace(ed, t, 4, 6, 2);
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 4);
    assert_int_equal(e, 6);
    assert_int_equal(b->anchor, 5);
    editor_free(ed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffer_insert_moves_positions_after_it),
        cmocka_unit_test(test_buffer_delete_pulls_positions_inside_to_its_start),
        cmocka_unit_test(test_buffer_read_only_refuses_edits),
        cmocka_unit_test(test_buffer_line_and_column_follow_edits),
        cmocka_unit_test(test_buffer_selection_in_either_direction),
        cmocka_unit_test(test_buffer_inclusive_selection_takes_the_far_cluster),
        cmocka_unit_test(test_buffer_inclusive_end_of_crlf_lines),
        cmocka_unit_test(test_buffer_linewise_selection_takes_whole_lines),
        cmocka_unit_test(test_buffer_select_range_is_exact_in_every_kind),
        cmocka_unit_test(test_buffer_inclusive_selection_follows_a_replacement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
