/* test_cli.c: the shared parts of the bd3 tool (model/cli/cli.c): text written to a terminal or a
 * pipe, spans given as bytes, line:col or found text, spans widened to whole tokens, and the
 * progress bar held off streamed text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "cli/cli.c"
#include "fixture.h"

/* Runs writes through a cli_out on a temporary file with tty forced, returns the bytes. */
static char *out_capture(int tty, const char *const *parts, const size_t *lens, int n, size_t *len)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    cli_out w;
    cli_out_init(&w, f);
    assert_int_equal(w.tty, 0); /* a file is not a terminal */
    w.tty = tty;
    for (int i = 0; i < n; i++) cli_out_write(&w, parts[i], lens[i]);
    cli_out_finish(&w);
    fflush(f);
    long size = ftell(f);
    rewind(f);
    char *buf = calloc((size_t)size + 1, 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static void test_out_writes_exact_bytes_to_a_pipe_or_file(void **state)
{
    (void)state;
    const char *parts[] = {"a\033]0;t\007b", "\xe4\xb8", "\xad\xff\r\n"};
    const size_t lens[] = {8, 2, 4};
    size_t len;
    char *got = out_capture(0, parts, lens, 3, &len);
    assert_int_equal(len, 14);
    assert_memory_equal(got, "a\033]0;t\007b\xe4\xb8\xad\xff\r\n", 14);
    free(got);
}

static void test_out_shows_control_bytes_on_a_terminal_and_keeps_split_characters(void **state)
{
    (void)state;
    /* a CJK character split across two writes stays whole; ESC, BEL, CR and invalid bytes are
     * shown as \xNN; newline and tab pass */
    const char *parts[] = {"a\033]0;t\007b\t", "\xe4\xb8", "\xad\xff\r\n"};
    const size_t lens[] = {9, 2, 4};
    size_t len;
    char *got = out_capture(1, parts, lens, 3, &len);
    assert_string_equal(got, "a\\x1b]0;t\\x07b\t\xe4\xb8\xad\\xff\\x0d\n");
    free(got);
    /* an incomplete character at the very end is shown byte by byte */
    const char *tail[] = {"x\xe4\xb8"};
    const size_t tail_len[] = {3};
    got = out_capture(1, tail, tail_len, 1, &len);
    assert_string_equal(got, "x\\xe4\\xb8");
    free(got);
    /* a lead byte followed by a non-continuation byte is not held as a character */
    const char *bad[] = {"\xe4", "A"};
    const size_t bad_len[] = {1, 1};
    got = out_capture(1, bad, bad_len, 2, &len);
    assert_string_equal(got, "\\xe4A");
    free(got);
}

static void test_utf8_incomplete_tail_counts_the_bytes(void **state)
{
    (void)state;
    assert_int_equal(cli_utf8_incomplete_tail("ab", 2), 0);
    assert_int_equal(cli_utf8_incomplete_tail("a\xe4", 2), 1);
    assert_int_equal(cli_utf8_incomplete_tail("a\xe4\xb8", 3), 2);
    assert_int_equal(cli_utf8_incomplete_tail("a\xe4\xb8\xad", 4), 0);
    assert_int_equal(cli_utf8_incomplete_tail("\xf0\x9f\x98", 3), 3);
    assert_int_equal(cli_utf8_incomplete_tail("", 0), 0);
}

static int span_of(const char *range, const char *find, const char *text, size_t *a, size_t *b)
{
    cli_opts o;
    memset(&o, 0, sizeof o);
    o.cmd = "test";
    o.range = range;
    o.find = find;
    return cli_span(&o, "t.txt", text, strlen(text), a, b);
}

static void test_span_from_bytes_line_col_and_found_text(void **state)
{
    (void)state;
    const char *text = "the rain\nin spain\n\nend";
    size_t a, b;
    assert_int_equal(span_of("4:8", NULL, text, &a, &b), CLI_EXIT_OK);
    assert_true(a == 4 && b == 8);
    assert_int_equal(span_of("2:4-2:9", NULL, text, &a, &b), CLI_EXIT_OK);
    assert_true(a == 12 && b == 17);
    assert_memory_equal(text + a, "spain", 5);
    /* the end of a line (column = length + 1), an empty line, the end of the text */
    assert_int_equal(span_of("1:5-3:1", NULL, text, &a, &b), CLI_EXIT_OK);
    assert_true(a == 4 && b == 18);
    assert_int_equal(span_of("4:1-4:4", NULL, text, &a, &b), CLI_EXIT_OK);
    assert_true(a == 19 && b == 22);
    assert_int_equal(span_of(NULL, "spain", text, &a, &b), CLI_EXIT_OK);
    assert_true(a == 12 && b == 17);
    assert_int_equal(span_of(NULL, "in", text, &a, &b), CLI_EXIT_OK); /* the first occurrence */
    assert_true(a == 6 && b == 8);
    /* refused */
    assert_int_equal(span_of(NULL, "snow", text, &a, &b), CLI_EXIT_USAGE);
    assert_int_equal(span_of("4:99", NULL, text, &a, &b), CLI_EXIT_USAGE);
    assert_int_equal(span_of("8:4", NULL, text, &a, &b), CLI_EXIT_USAGE);
    assert_int_equal(span_of("1:10-1:11", NULL, text, &a, &b), CLI_EXIT_USAGE); /* col past the end */
    assert_int_equal(span_of("5:1-5:1", NULL, text, &a, &b), CLI_EXIT_USAGE);   /* no line 5 */
    assert_int_equal(span_of("0:1-1:1", NULL, text, &a, &b), CLI_EXIT_USAGE);
    assert_int_equal(span_of("2:4-1:1", NULL, text, &a, &b), CLI_EXIT_USAGE);
    assert_int_equal(span_of("x:3", NULL, text, &a, &b), CLI_EXIT_USAGE);
    assert_int_equal(span_of("3", NULL, text, &a, &b), CLI_EXIT_USAGE);
    assert_int_equal(span_of("1:2-3", NULL, text, &a, &b), CLI_EXIT_USAGE);
    assert_int_equal(span_of("-1:3", NULL, text, &a, &b), CLI_EXIT_USAGE);
    assert_int_equal(span_of("1:3x", NULL, text, &a, &b), CLI_EXIT_USAGE);
}

static void test_span_widens_to_whole_tokens(void **state)
{
    (void)state;
    bd3_model *m = NULL;
    bd3_ctx *c = NULL;
    assert_int_equal(fixture_open(1, &m, &c), 0);
    /* the fixture's vocabulary: bytes and pairs of the letters etaoinshrdlu, so "the rain" is
     * "th" "e" " " "r" "ai" "n" */
    const char *text = "the rain";
    int32_t *ids = NULL;
    size_t n = 0, a, b, i0, i1;
    assert_int_equal(bd3_tokenize(m, text, strlen(text), &ids, &n), BD3_OK);
    assert_int_equal(n, 6);
    a = 1, b = 6; /* "he ra": starts inside "th", ends inside "ai" */
    assert_int_equal(cli_span_tokens(m, ids, n, 8, &a, &b, &i0, &i1), 0);
    assert_true(a == 0 && b == 7 && i0 == 0 && i1 == 5);
    a = 3, b = 4; /* exactly the space token */
    assert_int_equal(cli_span_tokens(m, ids, n, 8, &a, &b, &i0, &i1), 0);
    assert_true(a == 3 && b == 4 && i0 == 2 && i1 == 3);
    a = 6, b = 6; /* an insertion point inside "ai" moves to its start */
    assert_int_equal(cli_span_tokens(m, ids, n, 8, &a, &b, &i0, &i1), 0);
    assert_true(a == 5 && b == 5 && i0 == 4 && i1 == 4);
    a = 8, b = 8; /* the end of the text */
    assert_int_equal(cli_span_tokens(m, ids, n, 8, &a, &b, &i0, &i1), 0);
    assert_true(a == 8 && b == 8 && i0 == 6 && i1 == 6);
    a = 0, b = 8;
    assert_int_equal(cli_span_tokens(m, ids, n, 8, &a, &b, &i0, &i1), 0);
    assert_true(a == 0 && b == 8 && i0 == 0 && i1 == 6);
    /* tokens that do not spell the text's length are refused */
    a = 0, b = 1;
    assert_int_equal(cli_span_tokens(m, ids, n, 9, &a, &b, &i0, &i1), -1);
    free(ids);
    fixture_close(m, c);
}

/* Captures what fn writes to standard error. */
static char *capture_stderr(void (*fn)(void *), void *user)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
    fn(user);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    long size = ftell(f);
    rewind(f);
    char *buf = calloc((size_t)size + 1, 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    return buf;
}

/* A progress bar that would draw now (enabled, started long ago), a terminal stream on a file. */
typedef struct stream_case {
    cli_progress p; /* the bar */
    cli_out w;      /* the stream, tty forced */
    FILE *f;        /* where the stream goes */
} stream_case;

static void stream_steps(void *user)
{
    stream_case *s = user;
    cli_progress_show(&s->p, 1, 4, "a"); /* drawn: nothing streamed yet */
    s->p.last_draw = 0;
    cli_stream_write(&s->w, &s->p, "Once", 4); /* erases the bar, then the text */
    cli_progress_show(&s->p, 2, 4, "b");       /* held: the cursor is inside the text */
    s->p.last_draw = 0;
    cli_stream_write(&s->w, &s->p, " upon\n", 6);
    cli_progress_show(&s->p, 3, 4, "c"); /* drawn again: the text ended its line */
}

static void test_progress_bar_stays_off_streamed_text(void **state)
{
    (void)state;
    stream_case s;
    cli_opts o;
    memset(&o, 0, sizeof o);
    cli_progress_start(&s.p, &o, "generate");
    s.p.enabled = 1;
    s.p.start -= 10.0;
    s.f = tmpfile();
    assert_non_null(s.f);
    cli_out_init(&s.w, s.f);
    s.w.tty = 1;
    char *err = capture_stderr(stream_steps, &s);
    /* bar a, its erasure before "Once", no bar b, bar c */
    assert_non_null(strstr(err, "[##########"));
    assert_non_null(strstr(err, "\r\033[K"));
    assert_non_null(strstr(err, " a "));
    assert_null(strstr(err, " b "));
    assert_non_null(strstr(err, " c "));
    assert_true(strstr(err, " a ") < strstr(err, "\r\033[K") && strstr(err, "\r\033[K") < strstr(err, " c "));
    free(err);
    fclose(s.f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_writes_exact_bytes_to_a_pipe_or_file),
        cmocka_unit_test(test_out_shows_control_bytes_on_a_terminal_and_keeps_split_characters),
        cmocka_unit_test(test_utf8_incomplete_tail_counts_the_bytes),
        cmocka_unit_test(test_span_from_bytes_line_col_and_found_text),
        cmocka_unit_test(test_span_widens_to_whole_tokens),
        cmocka_unit_test(test_progress_bar_stays_off_streamed_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
