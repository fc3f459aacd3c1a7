/* test_lines.c: the file reader and line splitter under the keymap, theme and config parsers
 * (editor/lines.c): line ends, numbering, the long-line and NUL-byte errors, file checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "lines.h"

static void test_lines_strip_lf_and_crlf_and_keep_a_last_unterminated_line(void **state)
{
    (void)state;
    const char text[] = "one\r\ntwo\n\nlast";
    lines_reader r;
    lines_init(&r, text, sizeof text - 1, "t");
    char buf[16];
    const char *want[] = {"one", "two", "", "last"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(lines_next(&r, buf, 15, NULL, 0), LINES_OK);
        assert_string_equal(buf, want[i]);
        assert_int_equal(r.line, i + 1);
    }
    assert_int_equal(lines_next(&r, buf, 15, NULL, 0), LINES_END);
}

static void test_lines_final_newline_adds_no_empty_line(void **state)
{
    (void)state;
    lines_reader r;
    lines_init(&r, "a\n", 2, "t");
    char buf[4];
    assert_int_equal(lines_next(&r, buf, 3, NULL, 0), LINES_OK);
    assert_int_equal(lines_next(&r, buf, 3, NULL, 0), LINES_END);
    lines_init(&r, NULL, 0, "t");
    assert_int_equal(lines_next(&r, buf, 3, NULL, 0), LINES_END);
}

static void test_lines_accept_max_length_and_reject_one_more(void **state)
{
    (void)state;
    const char text[] = "abcd\r\nabcde\n";
    lines_reader r;
    lines_init(&r, text, sizeof text - 1, "f.keys");
    char buf[5], err[64] = "";
    assert_int_equal(lines_next(&r, buf, 4, err, sizeof err), LINES_OK);
    assert_string_equal(buf, "abcd");
    assert_int_equal(lines_next(&r, buf, 4, err, sizeof err), LINES_E_LINE);
    assert_string_equal(err, "f.keys:2: line longer than 4 bytes");
}

static void test_lines_reject_nul_byte_with_its_line(void **state)
{
    (void)state;
    const char text[] = "ok\nb\0d\n";
    lines_reader r;
    lines_init(&r, text, sizeof text - 1, "c.conf");
    char buf[8], err[64] = "";
    assert_int_equal(lines_next(&r, buf, 7, err, sizeof err), LINES_OK);
    assert_int_equal(lines_next(&r, buf, 7, err, sizeof err), LINES_E_LINE);
    assert_string_equal(err, "c.conf:2: NUL byte in line");
}

static void test_lines_read_file_returns_the_bytes_and_refuses_big_or_odd_files(void **state)
{
    (void)state;
    char path[] = "/tmp/test_lines_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "a\0b\n", 4), 4);
    close(fd);
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    int e = 0;
    assert_int_equal(lines_read_file(path, 4, &text, &len, &st, &e), LINES_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(text, "a\0b\n", 4);
    free(text);
    assert_int_equal(lines_read_file(path, 3, &text, &len, &st, &e), LINES_E_BIG);
    unlink(path);
    assert_int_equal(lines_read_file(path, 4, &text, &len, &st, &e), LINES_E_OPEN);
    assert_int_equal(e, ENOENT);
    assert_int_equal(lines_read_file("/tmp", 4, &text, &len, &st, &e), LINES_E_TYPE);
}

static void test_lines_valid_name_allows_plain_file_names_only(void **state)
{
    (void)state;
    assert_true(lines_valid_name("vi", 8));
    assert_true(lines_valid_name("cb-safe_2.x", 32));
    assert_false(lines_valid_name("", 8));
    assert_false(lines_valid_name(".hidden", 8));
    assert_false(lines_valid_name("../etc", 8));
    assert_false(lines_valid_name("a/b", 8));
    assert_false(lines_valid_name("a b", 8));
    assert_true(lines_valid_name("1234567", 8));
    assert_false(lines_valid_name("12345678", 8));
}

static void test_lines_find_takes_the_first_directory_and_skips_busy_files(void **state)
{
    (void)state;
    char a[] = "/tmp/test_lines_a_XXXXXX", b[] = "/tmp/test_lines_b_XXXXXX";
    assert_non_null(mkdtemp(a));
    assert_non_null(mkdtemp(b));
    char pa[64], pb[64], path[64];
    snprintf(pa, sizeof pa, "%s/x.keys", a);
    snprintf(pb, sizeof pb, "%s/x.keys", b);
    FILE *f = fopen(pa, "w");
    assert_non_null(f);
    fclose(f);
    assert_non_null(f = fopen(pb, "w"));
    fclose(f);
    char *dirs[] = {a, b};
    assert_true(lines_find(dirs, 2, "x", "keys", NULL, 0, path, sizeof path));
    assert_string_equal(path, pa);
    struct stat st;
    assert_int_equal(stat(pa, &st), 0);
    lines_file_id busy = lines_file_id_of(pa, &st, "keys");
    assert_true(lines_find(dirs, 2, "x", "keys", &busy, 1, path, sizeof path));
    assert_string_equal(path, pb);
    assert_false(lines_find(dirs, 2, "y", "keys", NULL, 0, path, sizeof path));
    assert_false(lines_find(dirs, 2, "x", "keys", &busy, 1, path, 8)); /* path does not fit */
    unlink(pa);
    unlink(pb);
    rmdir(a);
    rmdir(b);
}

/* The id of a file keeps its name without ".ext"; a cycle is found only when the first file
 * of the name is busy, and named from it. */
static void test_lines_include_cycle_names_the_chain(void **state)
{
    (void)state;
    char a[] = "/tmp/test_lines_c_XXXXXX";
    assert_non_null(mkdtemp(a));
    char px[64], py[64], chain[128];
    snprintf(px, sizeof px, "%s/x.theme", a);
    snprintf(py, sizeof py, "%s/y.theme", a);
    FILE *f = fopen(px, "w");
    assert_non_null(f);
    fclose(f);
    assert_non_null(f = fopen(py, "w"));
    fclose(f);
    struct stat sx, sy;
    assert_int_equal(stat(px, &sx), 0);
    assert_int_equal(stat(py, &sy), 0);
    lines_file_id busy[3] = {lines_file_id_of("/elsewhere/top.theme", &sy, "theme"),
                             lines_file_id_of(px, &sx, "theme"), lines_file_id_of(py, &sy, "theme")};
    busy[0].ino = 0; /* another file */
    assert_string_equal(busy[0].name, "top");
    assert_string_equal(busy[1].name, "x");
    assert_string_equal(lines_file_id_of("dir/v.keys", &sx, "theme").name, "v.keys");
    assert_string_equal(lines_file_id_of(".theme", &sx, "theme").name, ".theme");
    char *dirs[] = {a};
    assert_true(lines_include_cycle(dirs, 1, "x", "theme", busy, 3, chain, sizeof chain));
    assert_string_equal(chain, "x -> y -> x");
    assert_true(lines_include_cycle(dirs, 1, "y", "theme", busy, 3, chain, sizeof chain));
    assert_string_equal(chain, "y -> y");
    assert_false(lines_include_cycle(dirs, 1, "x", "theme", busy, 1, chain, sizeof chain)); /* x not busy */
    assert_false(lines_include_cycle(dirs, 1, "z", "theme", busy, 3, chain, sizeof chain)); /* no such file */
    assert_true(lines_include_cycle(dirs, 1, "x", "theme", busy, 3, chain, 6));             /* cut to fit */
    assert_string_equal(chain, "x -> ");
    unlink(px);
    unlink(py);
    rmdir(a);
}

static void test_lines_file_error_names_the_file_and_the_including_line(void **state)
{
    (void)state;
    char err[128];
    lines_file_error(LINES_E_BIG, 0, "big.keys", 1024, NULL, 0, err, sizeof err);
    assert_string_equal(err, "big.keys: larger than 1024 bytes");
    lines_file_error(LINES_E_READ, 0, "x.theme", 1024, NULL, 0, err, sizeof err);
    assert_string_equal(err, "x.theme: read error");
    lines_file_error(LINES_E_OPEN, ENOENT, "b.keys", 1024, "a.keys", 3, err, sizeof err);
    char want[128];
    snprintf(want, sizeof want, "a.keys:3: include b.keys: %s", strerror(ENOENT));
    assert_string_equal(err, want);
    lines_file_error(LINES_E_TYPE, EISDIR, "d", 1024, NULL, 0, err, sizeof err);
    assert_string_equal(err, "d: not a regular file");
    lines_file_error(LINES_E_TYPE, 0, "fifo", 1024, "a.keys", 2, err, sizeof err);
    assert_string_equal(err, "a.keys:2: include fifo: not a regular file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_strip_lf_and_crlf_and_keep_a_last_unterminated_line),
        cmocka_unit_test(test_lines_final_newline_adds_no_empty_line),
        cmocka_unit_test(test_lines_accept_max_length_and_reject_one_more),
        cmocka_unit_test(test_lines_reject_nul_byte_with_its_line),
        cmocka_unit_test(test_lines_valid_name_allows_plain_file_names_only),
        cmocka_unit_test(test_lines_find_takes_the_first_directory_and_skips_busy_files),
        cmocka_unit_test(test_lines_include_cycle_names_the_chain),
        cmocka_unit_test(test_lines_file_error_names_the_file_and_the_including_line),
        cmocka_unit_test(test_lines_read_file_returns_the_bytes_and_refuses_big_or_odd_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
