/* test_view.c: bytes to screen cells: grapheme clusters and widths, visible control and invalid
 * bytes, tabs, soft wrap at word boundaries, rows of long lines, cluster motion. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "view.h"

static text *text_from(const char *s, size_t n)
{
    text *t = text_new();
    assert_non_null(t);
    assert_int_equal(text_insert(t, 0, s, n), TEXT_OK);
    return t;
}

static view_opts opts(int width, bool wrap)
{
    return (view_opts){.width = width, .wrap = wrap, .tab_width = 8, .hscroll = 0};
}

static void test_view_wide_and_combining_clusters(void **state)
{
    (void)state;
    const char *s = "\xe6\x97\xa5\xe6\x9c\xac"
                    "e\xcc\x81"
                    "x"; /* 日本 é(e+U+0301) x */
    text *t = text_from(s, strlen(s));
    view_opts o = opts(40, true);
    view_row row;
    assert_true(view_row_init(&row, 40));
    view_row_layout(t, 0, &o, &row);
    assert_int_equal(row.n_cells, 4);
    assert_int_equal(row.cells[0].width, 2);
    assert_int_equal(row.cells[1].col, 2);
    assert_int_equal(row.cells[2].col, 4);
    assert_int_equal(row.cells[2].len, 3);
    assert_int_equal(row.cells[2].width, 1);
    assert_string_equal(row.cells[2].glyph, "e\xcc\x81");
    assert_int_equal(row.cells[3].col, 5);
    assert_int_equal(view_row_col(&row, 7), 4); /* inside the cluster: its column */
    assert_int_equal(view_row_pos(&row, 3), 3); /* right half of a wide cell */
    assert_true(row.last);
    view_row_release(&row);
    text_free(t);
}

static void test_view_zwj_sequence_is_one_cluster(void **state)
{
    (void)state;
    /* man ZWJ woman ZWJ girl, then 'a' */
    const char *s = "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7"
                    "a";
    text *t = text_from(s, strlen(s));
    view_opts o = opts(40, true);
    view_row row;
    view_row_init(&row, 40);
    view_row_layout(t, 0, &o, &row);
    assert_int_equal(row.n_cells, 2);
    assert_int_equal(row.cells[0].len, 18);
    assert_int_equal(row.cells[0].width, 2);
    assert_int_equal(row.cells[1].col, 2);
    assert_int_equal(view_next_cluster(t, 0), 18);
    assert_int_equal(view_prev_cluster(t, 18), 0);
    assert_int_equal(view_prev_cluster(t, 19), 18);
    view_row_release(&row);
    text_free(t);
}

static void test_view_controls_and_invalid_bytes_are_visible(void **state)
{
    (void)state;
    static const char s[] = "a\x1b[2J\xff\x00\x7f\xc2\x85\xe2\x80\xae"
                            "b\r";
    size_t n = sizeof s - 1;
    text *t = text_from(s, n);
    view_opts o = opts(80, true);
    view_row row;
    view_row_init(&row, 80);
    view_row_layout(t, 0, &o, &row);
    assert_string_equal(row.cells[1].glyph, "^[");
    assert_int_equal(row.cells[1].kind, VIEW_CELL_CONTROL);
    assert_int_equal(row.cells[1].width, 2);
    assert_string_equal(row.cells[5].glyph, "<ff>");
    assert_int_equal(row.cells[5].kind, VIEW_CELL_INVALID);
    assert_string_equal(row.cells[6].glyph, "^@");
    assert_string_equal(row.cells[7].glyph, "^?");
    assert_string_equal(row.cells[8].glyph, "<U+0085>");
    assert_string_equal(row.cells[9].glyph, "<U+202E>");
    assert_string_equal(row.cells[11].glyph, "^M"); /* a lone CR is shown */
    size_t covered = 0;
    for (int i = 0; i < row.n_cells; i++) {
        for (const char *g = row.cells[i].glyph; *g; g++)
            assert_true((unsigned char)*g >= 0x20 && *g != 0x7f);
        covered += row.cells[i].len;
    }
    assert_int_equal(covered, n);
    view_row_release(&row);
    text_free(t);
}

static void test_view_tabs_expand_to_stops(void **state)
{
    (void)state;
    text *t = text_from("abc\tx", 5);
    view_opts o = opts(40, true);
    view_row row;
    view_row_init(&row, 40);
    view_row_layout(t, 0, &o, &row);
    assert_int_equal(row.cells[3].kind, VIEW_CELL_TAB);
    assert_int_equal(row.cells[3].width, 5);
    assert_string_equal(row.cells[3].glyph, "     ");
    assert_int_equal(row.cells[4].col, 8);
    view_row_release(&row);
    text_free(t);
}

static void test_view_soft_wrap_breaks_at_word_boundaries(void **state)
{
    (void)state;
    const char *s = "hello world foo\nabcdefghijkl";
    text *t = text_from(s, strlen(s));
    view_opts o = opts(8, true);
    view_row row;
    view_row_init(&row, 8);
    size_t starts[8], p = 0;
    int n = 0;
    for (;;) {
        starts[n++] = p;
        size_t next = view_row_layout(t, p, &o, &row);
        if (row.last) break;
        p = next;
    }
    /* "hello " | "world " | "foo\n" | "abcdefgh" | "ijkl" */
    assert_int_equal(n, 5);
    assert_int_equal(starts[1], 6);
    assert_int_equal(starts[2], 12);
    assert_int_equal(starts[3], 16);
    assert_int_equal(starts[4], 24);
    assert_int_equal(view_row_start(t, 9, &o), 6);
    assert_int_equal(view_row_start(t, 15, &o), 12); /* the newline belongs to its row */
    assert_int_equal(view_row_start(t, strlen(s), &o), 24);
    assert_int_equal(view_row_prev(t, 16, &o), 12);
    assert_int_equal(view_row_prev(t, 6, &o), 0);
    text_free(t);
    /* the blank fills the last column: the next word starts the next row */
    t = text_from("abcdefg hij", 11);
    assert_int_equal(view_row_layout(t, 0, &o, &row), 8);
    assert_int_equal(row.n_cells, 8);
    view_row_release(&row);
    text_free(t);
}

static void test_view_no_wrap_one_row_per_line_with_hscroll(void **state)
{
    (void)state;
    const char *s = "0123456789abcdef\r\nx";
    text *t = text_from(s, strlen(s));
    view_opts o = opts(4, false);
    o.hscroll = 10;
    view_row row;
    view_row_init(&row, 4);
    size_t next = view_row_layout(t, 0, &o, &row);
    assert_int_equal(next, 18);
    assert_true(row.newline);
    assert_int_equal(row.content_end, 16); /* CRLF ends the line; CR not shown */
    assert_int_equal(row.n_cells, 4);
    assert_string_equal(row.cells[0].glyph, "a");
    assert_int_equal(row.cells[0].col, 0);
    view_row_release(&row);
    text_free(t);
}

static void test_view_row_start_in_very_long_line(void **state)
{
    (void)state;
    size_t n = 5u << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = (i % 7 == 6) ? ' ' : 'w';
    text *t = text_from(big, n);
    free(big);
    view_opts o = opts(80, true);
    size_t pos = n - 1234;
    size_t rs = view_row_start(t, pos, &o);
    assert_true(rs <= pos && pos - rs <= 80); /* 80 columns and a hanging blank */
    view_row row;
    view_row_init(&row, 80);
    view_row_layout(t, rs, &o, &row);
    assert_true(view_row_has(&row, pos, n));
    view_row_release(&row);
    text_free(t);
}

static void test_view_row_starts_agree_across_anchors(void **state)
{
    (void)state;
    /* a line of words longer than two anchors: rows laid out one after another from the
     * start must be the rows view_row_start finds for every position */
    size_t n = 2 * VIEW_ANCHOR + 5000;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = (i % 9 == 8) ? ' ' : (char)('a' + i % 26);
    text *t = text_from(big, n);
    free(big);
    view_opts o = opts(70, true);
    view_row row;
    view_row_init(&row, 70);
    size_t p = VIEW_ANCHOR - 3000;
    p = view_row_start(t, p, &o);
    int checked = 0;
    while (p < n) {
        size_t next = view_row_layout(t, p, &o, &row);
        size_t mid = p + (next - p) / 2;
        assert_int_equal(view_row_start(t, mid, &o), p);
        if (next - 1 > p) assert_int_equal(view_row_start(t, next - 1, &o), p);
        checked++;
        if (row.last) break;
        if (next > VIEW_ANCHOR + 3000 && next < 2 * VIEW_ANCHOR - 3000)
            next = view_row_start(t, 2 * VIEW_ANCHOR - 3000, &o);
        p = next;
    }
    assert_true(checked > 100);
    assert_int_equal(view_row_start(t, n, &o), row.start); /* the end is on the last row */
    view_row_release(&row);
    text_free(t);
}

static void test_view_line_counting(void **state)
{
    (void)state;
    const char *s = "a\nbb\n\nccc";
    text *t = text_from(s, strlen(s));
    assert_int_equal(view_count_lines(t, 0, strlen(s)), 3);
    assert_int_equal(view_line_pos(t, 0), 0);
    assert_int_equal(view_line_pos(t, 2), 5);
    assert_int_equal(view_line_pos(t, 3), 6);
    assert_int_equal(view_line_pos(t, 9), strlen(s));
    assert_int_equal(view_line_start(t, 8), 6);
    assert_int_equal(view_line_end(t, 2), 4);
    text_free(t);
}

/* A position inside a character or a cluster goes back to the cluster's start; boundaries stay. */
static void test_view_cluster_start_snaps_inside_positions(void **state)
{
    (void)state;
    /* "a", 日 (3 bytes), "e" + combining acute (1 + 2 bytes), "\r\n", "z" */
    const char s[] = "a\xe6\x97\xa5" "e\xcc\x81\r\nz";
    text *t = text_from(s, sizeof s - 1);
    assert_int_equal(view_cluster_start(t, 0), 0);
    assert_int_equal(view_cluster_start(t, 1), 1);
    assert_int_equal(view_cluster_start(t, 2), 1);
    assert_int_equal(view_cluster_start(t, 3), 1);
    assert_int_equal(view_cluster_start(t, 4), 4);
    assert_int_equal(view_cluster_start(t, 5), 4); /* before the combining mark */
    assert_int_equal(view_cluster_start(t, 6), 4);
    assert_int_equal(view_cluster_start(t, 7), 7);
    assert_int_equal(view_cluster_start(t, 8), 7); /* between \r and \n */
    assert_int_equal(view_cluster_start(t, 9), 9);
    assert_int_equal(view_cluster_start(t, 10), 10);
    assert_int_equal(view_cluster_start(t, 99), 10);
    text_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_view_wide_and_combining_clusters),
        cmocka_unit_test(test_view_cluster_start_snaps_inside_positions),
        cmocka_unit_test(test_view_zwj_sequence_is_one_cluster),
        cmocka_unit_test(test_view_controls_and_invalid_bytes_are_visible),
        cmocka_unit_test(test_view_tabs_expand_to_stops),
        cmocka_unit_test(test_view_soft_wrap_breaks_at_word_boundaries),
        cmocka_unit_test(test_view_no_wrap_one_row_per_line_with_hscroll),
        cmocka_unit_test(test_view_row_start_in_very_long_line),
        cmocka_unit_test(test_view_row_starts_agree_across_anchors),
        cmocka_unit_test(test_view_line_counting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
