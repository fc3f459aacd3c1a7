/* test_search.c: literal and regular-expression search over a piece table: direction, wrap,
 * bounds, smart case, matches across pieces and NUL bytes, replacement expansion. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "search.h"

static text *text_from(const char *s, size_t n)
{
    text *t = text_new();
    assert_int_equal(text_insert(t, 0, s, n), TEXT_OK);
    return t;
}

static void test_search_literal_forward_backward_wrap(void **state)
{
    (void)state;
    text *t = text_from("one two one two", 15);
    search s;
    char err[128];
    assert_true(search_init(&s, "two", false, err, sizeof err));
    search_match m;
    assert_true(search_next(&s, t, 0, false, false, &m));
    assert_int_equal(m.start, 4);
    assert_true(search_next(&s, t, 5, false, false, &m));
    assert_int_equal(m.start, 12);
    assert_false(search_next(&s, t, 13, false, false, &m));
    assert_true(search_next(&s, t, 13, false, true, &m));
    assert_int_equal(m.start, 4);
    assert_true(search_next(&s, t, 12, true, false, &m));
    assert_int_equal(m.start, 4);
    assert_false(search_next(&s, t, 4, true, false, &m));
    assert_true(search_next(&s, t, 4, true, true, &m));
    assert_int_equal(m.start, 12);
    search_release(&s);
    text_free(t);
}

static void test_search_matches_across_pieces_and_smart_case(void **state)
{
    (void)state;
    text *t = text_from("Hello World", 11);
    text_insert(t, 8, "XX", 2); /* Hello WoXXrld */
    text_delete(t, 8, 2);       /* three pieces: "Hello Wo" "rld" */
    search s;
    char err[128];
    assert_true(search_init(&s, "world", false, err, sizeof err)); /* lower case: any case */
    search_match m;
    assert_true(search_next(&s, t, 0, false, false, &m));
    assert_int_equal(m.start, 6);
    search_release(&s);
    assert_true(search_init(&s, "World", false, err, sizeof err));
    assert_true(search_next(&s, t, 0, false, false, &m));
    search_release(&s);
    assert_true(search_init(&s, "WORLD", false, err, sizeof err)); /* upper case: exact */
    assert_false(search_next(&s, t, 0, false, true, &m));
    search_release(&s);
    text_free(t);
}

static void test_search_regex_groups_nul_and_expand(void **state)
{
    (void)state;
    static const char bytes[] = "x\0y key=val\nk2=v2";
    text *t = text_from(bytes, sizeof bytes - 1);
    search s;
    char err[128];
    assert_true(search_init(&s, "([a-z0-9]+)=([a-z0-9]+)", true, err, sizeof err));
    search_match m;
    assert_true(search_next(&s, t, 0, false, false, &m)); /* past the NUL byte */
    assert_int_equal(m.start, 4);
    assert_int_equal(m.end, 11);
    size_t len;
    char *r = search_expand(t, &m, "\\2:\\1 [&] \\\\ \\9", &len);
    assert_string_equal(r, "val:key [key=val] \\ ");
    assert_int_equal(len, strlen(r));
    free(r);
    assert_true(search_next(&s, t, m.end, false, false, &m));
    assert_int_equal(m.start, 12);
    assert_true(search_in(&s, t, 0, 5, &m));
    assert_false(search_in(&s, t, 11, 12, &m)); /* the next match starts at 12 */
    search_release(&s);
    assert_false(search_init(&s, "a(", true, err, sizeof err));
    assert_true(strlen(err) > 0);
    text_free(t);
}

static void test_search_regex_anchors_per_line(void **state)
{
    (void)state;
    text *t = text_from("ab\nab\nab", 8);
    search s;
    char err[128];
    assert_true(search_init(&s, "^ab", true, err, sizeof err));
    search_match m;
    assert_true(search_next(&s, t, 1, false, false, &m));
    assert_int_equal(m.start, 3);
    assert_true(search_next(&s, t, 8, true, false, &m));
    assert_int_equal(m.start, 6);
    search_release(&s);
    text_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_literal_forward_backward_wrap),
        cmocka_unit_test(test_search_matches_across_pieces_and_smart_case),
        cmocka_unit_test(test_search_regex_groups_nul_and_expand),
        cmocka_unit_test(test_search_regex_anchors_per_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
