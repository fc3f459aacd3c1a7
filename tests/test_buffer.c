/* test_buffer.c: edits through a buffer keep its cursor, selection anchor, top and line cache in
 * step with the text; a read-only buffer refuses them; line and column of a position; the
 * selection in either direction. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffer_insert_moves_positions_after_it),
        cmocka_unit_test(test_buffer_delete_pulls_positions_inside_to_its_start),
        cmocka_unit_test(test_buffer_read_only_refuses_edits),
        cmocka_unit_test(test_buffer_line_and_column_follow_edits),
        cmocka_unit_test(test_buffer_selection_in_either_direction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
