/* test_motion.c: word, sentence and paragraph motions and the text units around a position, over
 * a text with runs of blanks, sentence ends before a newline and a blank-line paragraph break. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "motion.h"

/*                        0         1           2          3
 *                        0123456789012345 6789012345678901 2 3456789012345 */
static const char doc[] = "one two  three.\nFour five? Six.\n\nSeven eight.\n";

static int setup(void **state)
{
    text *t = text_new();
    if (!t || text_insert(t, 0, doc, strlen(doc)) != TEXT_OK) return -1;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    text_free(*state);
    return 0;
}

static void test_motion_word_next_and_prev_skip_blank_runs(void **state)
{
    const text *t = *state;
    assert_int_equal(motion_word_next(t, 0), 4);
    assert_int_equal(motion_word_next(t, 4), 9); /* over two blanks */
    assert_int_equal(motion_word_next(t, 5), 9); /* from inside a word */
    assert_int_equal(motion_word_prev(t, 9), 4);
    assert_int_equal(motion_word_prev(t, 6), 4); /* inside a word: its start */
    assert_int_equal(motion_word_prev(t, 4), 0);
    assert_int_equal(motion_word_prev(t, 0), 0);
    assert_int_equal(motion_word_next(t, strlen(doc)), strlen(doc));
}

static text *text_of(const char *s)
{
    text *t = text_new();
    assert_non_null(t);
    assert_int_equal(text_insert(t, 0, s, strlen(s)), TEXT_OK);
    return t;
}

static void test_motion_vi_words_stop_on_empty_lines(void **state)
{
    (void)state;
    /* 0 1  2  345  6 7 8  9 10 11 */
    text *t = text_of("a\n\n  \nb\r\n\r\nc");
    assert_int_equal(motion_vi_word_next(t, 0), 2); /* the empty line is a word */
    assert_int_equal(motion_vi_word_next(t, 2), 6); /* a line of blanks is not */
    assert_int_equal(motion_vi_word_next(t, 6), 9); /* an empty CRLF line */
    assert_int_equal(motion_vi_word_next(t, 9), 11);
    assert_int_equal(motion_vi_word_prev(t, 11), 9);
    assert_int_equal(motion_vi_word_prev(t, 9), 6);
    assert_int_equal(motion_vi_word_prev(t, 6), 2);
    assert_int_equal(motion_vi_word_prev(t, 2), 0);
    assert_int_equal(motion_word_next(t, 0), 6); /* the shared motion goes over them */
    assert_int_equal(motion_word_prev(t, 6), 0);
    text_free(t);
}

static void test_motion_word_end_and_last(void **state)
{
    const text *t = *state;
    assert_int_equal(motion_word_end(t, 0), 3);    /* after "one" */
    assert_int_equal(motion_word_end(t, 3), 7);    /* from a blank: after the next word */
    assert_int_equal(motion_word_last(t, 0), 2);   /* vi e: on the last character of "one" */
    assert_int_equal(motion_word_last(t, 2), 6);   /* already there: the next word's last */
    assert_int_equal(motion_word_last(t, 7), 13);  /* over the blanks to "three" */
    assert_int_equal(motion_word_last(t, 13), 14); /* punctuation is a word of its own */
}

static void test_motion_vi_bigwords_are_runs_of_non_blanks(void **state)
{
    (void)state;
    /*                  0123456789 0 1 2 */
    text *t = text_of("a.b  c-d\n\ne.f");
    assert_int_equal(motion_vi_bigword_next(t, 0), 5); /* "a.b" is one WORD (w stops at ".") */
    assert_int_equal(motion_vi_word_next(t, 0), 1);
    assert_int_equal(motion_vi_bigword_next(t, 5), 9); /* the empty line is a WORD */
    assert_int_equal(motion_vi_bigword_next(t, 9), 10);
    assert_int_equal(motion_vi_bigword_prev(t, 10), 9);
    assert_int_equal(motion_vi_bigword_prev(t, 9), 5);
    assert_int_equal(motion_vi_bigword_prev(t, 7), 5); /* inside a WORD: its start */
    assert_int_equal(motion_bigword_last(t, 0), 2);
    assert_int_equal(motion_bigword_last(t, 2), 7);   /* already there: the next WORD's last */
    assert_int_equal(motion_bigword_last(t, 12), 12); /* no WORD after: stays */
    assert_int_equal(motion_bigword_end(t, 3), 8);    /* from blanks: after the next WORD */
    /* ge / gE: to the last character of the word before; an empty line is one */
    assert_int_equal(motion_word_last_prev(t, 10, false), 9);
    assert_int_equal(motion_word_last_prev(t, 9, false), 7);
    assert_int_equal(motion_word_last_prev(t, 7, false), 6); /* "-" is a word of its own */
    assert_int_equal(motion_word_last_prev(t, 7, true), 2);  /* "c-d" is one WORD */
    assert_int_equal(motion_word_last_prev(t, 5, true), 2);
    assert_int_equal(motion_word_last_prev(t, 1, false), 0); /* nothing before: the start */
    assert_int_equal(motion_word_last_prev(t, 0, false), 0);
    text_free(t);
}

static void test_motion_word_classes_of_unicode(void **state)
{
    (void)state;
    /* East Asian wide letters are words apart from Latin ones: 日本語 (3 x 3 bytes) then abc */
    text *t = text_of("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" "abc");
    assert_int_equal(motion_vi_word_next(t, 0), 9);
    assert_int_equal(motion_vi_word_next(t, 4), 9); /* from inside a character */
    assert_int_equal(motion_vi_word_prev(t, 10), 9);
    assert_int_equal(motion_vi_word_prev(t, 9), 0);
    assert_int_equal(motion_word_last(t, 0), 6); /* e: on 語 */
    assert_int_equal(motion_vi_bigword_next(t, 0), 12); /* one WORD: to the end */
    size_t s, e;
    motion_word_range(t, 3, &s, &e);
    assert_int_equal(s, 0);
    assert_int_equal(e, 9);
    text_free(t);
    /* as in vim, ideographs, hiragana and katakana are three classes: 漢字 かな カナ */
    t = text_of("\xe6\xbc\xa2\xe5\xad\x97\xe3\x81\x8b\xe3\x81\xaa\xe3\x82\xab\xe3\x83\x8a");
    assert_int_equal(motion_vi_word_next(t, 0), 6);
    assert_int_equal(motion_vi_word_next(t, 6), 12);
    assert_int_equal(motion_vi_word_next(t, 12), 18);
    text_free(t);
    /* a combining accent stays in its letter's word; an em dash is punctuation; a no-break space
     * and an ideographic space are blanks: "cafe" U+0301 "—x" NBSP "y" U+3000 "z" */
    t = text_of("cafe\xcc\x81\xe2\x80\x94x\xc2\xa0y\xe3\x80\x80z");
    assert_int_equal(motion_vi_word_next(t, 0), 6);   /* the dash */
    assert_int_equal(motion_vi_word_next(t, 6), 9);   /* x */
    assert_int_equal(motion_vi_word_next(t, 9), 12);  /* y, over the no-break space */
    assert_int_equal(motion_vi_word_next(t, 12), 16); /* z, over the ideographic space */
    assert_int_equal(motion_word_last(t, 0), 3);      /* e: on the accent's base, not in it */
    text_free(t);
    /* emoji are a class apart from letters and from ASCII punctuation: ab 😀😀 !! */
    t = text_of("ab\xf0\x9f\x98\x80\xf0\x9f\x98\x80!!");
    assert_int_equal(motion_vi_word_next(t, 0), 2);
    assert_int_equal(motion_vi_word_next(t, 2), 10);
    text_free(t);
    /* bytes that are not UTF-8 stay part of a word */
    t = text_of("a\xff\xfe b");
    assert_int_equal(motion_vi_word_next(t, 0), 4);
    text_free(t);
}

static void test_motion_find_char_in_the_line(void **state)
{
    (void)state;
    /*                 012345 6 78 */
    text *t = text_of("a,b,,c\nd,");
    assert_int_equal(motion_find_char(t, 0, ',', 1, false, false, false), 1);
    assert_int_equal(motion_find_char(t, 0, ',', 2, false, false, false), 3);
    assert_int_equal(motion_find_char(t, 0, ',', 3, false, false, false), 4);
    assert_int_equal(motion_find_char(t, 0, ',', 4, false, false, false), TEXT_POS_NONE); /* not past the line */
    assert_int_equal(motion_find_char(t, 0, ',', 1, false, true, false), 0); /* t: before it */
    assert_int_equal(motion_find_char(t, 0, ',', 1, false, true, true), 2);  /* ; after t: the next */
    assert_int_equal(motion_find_char(t, 5, ',', 1, true, false, false), 4); /* F */
    assert_int_equal(motion_find_char(t, 5, ',', 2, true, false, false), 3);
    assert_int_equal(motion_find_char(t, 5, ',', 1, true, true, false), 5); /* T: after it */
    assert_int_equal(motion_find_char(t, 5, ',', 1, true, true, true), 4);
    assert_int_equal(motion_find_char(t, 1, 'a', 1, true, false, false), 0);
    assert_int_equal(motion_find_char(t, 0, 'a', 1, true, false, false), TEXT_POS_NONE);
    assert_int_equal(motion_find_char(t, 5, 'd', 1, false, false, false), TEXT_POS_NONE);
    text_free(t);
    t = text_of("\xe6\x97\xa5\xe6\x9c\xac,\xe8\xaa\x9e"); /* 日本,語: by code point */
    assert_int_equal(motion_find_char(t, 0, 0x8A9E, 1, false, false, false), 7);
    assert_int_equal(motion_find_char(t, 0, 0x8A9E, 1, false, true, false), 6);
    assert_int_equal(motion_find_char(t, 7, 0x672C, 1, true, false, false), 3);
    text_free(t);
}

static void test_motion_match_bracket(void **state)
{
    (void)state;
    /*                 0123456789 0 12345 */
    text *t = text_of("x(a[b](c)\n)y ]");
    assert_int_equal(motion_match_bracket(t, 0), 10); /* the first bracket after: over the line */
    assert_int_equal(motion_match_bracket(t, 10), 1); /* back from a closing one */
    assert_int_equal(motion_match_bracket(t, 3), 5);  /* [ ] inside ( ) */
    assert_int_equal(motion_match_bracket(t, 6), 8);
    assert_int_equal(motion_match_bracket(t, 11), TEXT_POS_NONE); /* "]" without a "[" before */
    text_free(t);
    t = text_of("(a\nb");
    assert_int_equal(motion_match_bracket(t, 0), TEXT_POS_NONE); /* no match */
    assert_int_equal(motion_match_bracket(t, 1), TEXT_POS_NONE); /* no bracket after in the line */
    text_free(t);
}

static void test_motion_text_objects(void **state)
{
    (void)state;
    size_t s, e;
    /*                 0123456789012345678 */
    text *t = text_of("ab  cd(e[f]g) \"h\"\n{\n  x\n}\n");
    assert_true(motion_text_object(t, 1, 'w', false, &s, &e));
    assert_int_equal(s, 0);
    assert_int_equal(e, 2);
    assert_true(motion_text_object(t, 1, 'w', true, &s, &e)); /* with the blanks after */
    assert_int_equal(e, 4);
    assert_true(motion_text_object(t, 2, 'w', false, &s, &e)); /* on blanks: the blanks */
    assert_int_equal(s, 2);
    assert_int_equal(e, 4);
    assert_true(motion_text_object(t, 9, '(', false, &s, &e)); /* nested [ ] skipped */
    assert_int_equal(s, 7);
    assert_int_equal(e, 12);
    assert_true(motion_text_object(t, 12, 'b', true, &s, &e)); /* on the ")" */
    assert_int_equal(s, 6);
    assert_int_equal(e, 13);
    assert_true(motion_text_object(t, 9, ']', false, &s, &e));
    assert_int_equal(s, 9);
    assert_int_equal(e, 10);
    assert_false(motion_text_object(t, 0, '(', false, &s, &e)); /* not inside any */
    assert_true(motion_text_object(t, 0, '"', false, &s, &e)); /* the first string after */
    assert_int_equal(s, 15);
    assert_int_equal(e, 16);
    assert_true(motion_text_object(t, 18, '{', false, &s, &e)); /* a block: its lines */
    assert_int_equal(s, 20);
    assert_int_equal(e, 24);
    assert_false(motion_text_object(t, 0, 'q', false, &s, &e));
    assert_true(motion_keyword_at(t, 6, &s, &e)); /* on "(": the word after it */
    assert_int_equal(s, 7);
    assert_int_equal(e, 8);
    assert_true(motion_keyword_at(t, 5, &s, &e)); /* in "cd" */
    assert_int_equal(s, 4);
    assert_int_equal(e, 6);
    assert_false(motion_keyword_at(t, 16, &s, &e)); /* only '"' after it in the line */
    text_free(t);
    t = text_of("a\nb\n\n\nc\n");
    assert_true(motion_text_object(t, 0, 'p', false, &s, &e));
    assert_int_equal(s, 0);
    assert_int_equal(e, 4);
    assert_true(motion_text_object(t, 2, 'p', true, &s, &e)); /* with the blank lines after */
    assert_int_equal(e, 6);
    assert_true(motion_text_object(t, 4, 'p', false, &s, &e)); /* on blank lines: those */
    assert_int_equal(s, 4);
    assert_int_equal(e, 6);
    text_free(t);
}

static void test_motion_sentences_end_after_punctuation_and_blank(void **state)
{
    const text *t = *state;
    assert_int_equal(motion_sentence_next(t, 0), 16);  /* "Four", after ".\n" */
    assert_int_equal(motion_sentence_next(t, 16), 27); /* "Six", after "? " */
    assert_int_equal(motion_sentence_prev(t, 29), 27); /* inside: this sentence's start */
    assert_int_equal(motion_sentence_prev(t, 27), 16); /* at a start: the previous one */
}

static void test_motion_paragraphs_break_at_blank_lines(void **state)
{
    const text *t = *state;
    assert_int_equal(motion_paragraph_next(t, 0), 33); /* "Seven" */
    assert_int_equal(motion_paragraph_prev(t, 35), 33);
    assert_int_equal(motion_paragraph_prev(t, 33), 0);
}

static void test_motion_units_around_a_position(void **state)
{
    const text *t = *state;
    size_t s, e;
    motion_word_range(t, 5, &s, &e);
    assert_int_equal(s, 4);
    assert_int_equal(e, 7);
    motion_line_range(t, 20, &s, &e);
    assert_int_equal(s, 16);
    assert_int_equal(e, 32); /* with its newline */
    motion_sentence_range(t, 22, &s, &e);
    assert_int_equal(s, 16);
    assert_int_equal(e, 27); /* "Four five?" with the blank after it */
    motion_paragraph_range(t, 20, &s, &e);
    assert_int_equal(s, 0);
    assert_int_equal(e, 32); /* the first paragraph, up to its blank line */
}

/* vi } and {: the positions below are where vim puts the cursor on the same text and keys
 * (line 3 is blank, lines 5 and 6 are blank, the text has no final line end). */
static void test_motion_blank_lines_as_vi_paragraph_motions(void **state)
{
    (void)state;
    /*                 0         1          2
     *                 01234 56789 0 12345 6 7 89012 3456 */
    text *t = text_of("p1 a\np1 b\n\np2 a\n\n\np3 a\np3 b");
    assert_int_equal(motion_blank_line_next(t, 0, 1), 10);  /* the blank line after p1 */
    assert_int_equal(motion_blank_line_next(t, 2, 1), 10);  /* from inside the line too */
    assert_int_equal(motion_blank_line_next(t, 0, 2), 16);  /* the first blank line after p2 */
    assert_int_equal(motion_blank_line_next(t, 10, 1), 16); /* from a blank line: over p2 */
    assert_int_equal(motion_blank_line_next(t, 0, 3), 26);  /* past p3: its last character */
    assert_int_equal(motion_blank_line_next(t, 16, 1), 26); /* over both blank lines and p3 */
    assert_int_equal(motion_blank_line_next(t, 25, 1), 26);
    assert_int_equal(motion_blank_line_next(t, 26, 1), 26);
    assert_int_equal(motion_blank_line_next(t, 0, 4), TEXT_POS_NONE); /* no fourth: no move */
    assert_int_equal(motion_blank_line_prev(t, 25, 1), 17);           /* the blank line before p3 */
    assert_int_equal(motion_blank_line_prev(t, 25, 2), 10);
    assert_int_equal(motion_blank_line_prev(t, 25, 3), 0); /* before p1: the start */
    assert_int_equal(motion_blank_line_prev(t, 16, 1), 10);
    assert_int_equal(motion_blank_line_prev(t, 12, 1), 10);
    assert_int_equal(motion_blank_line_prev(t, 0, 1), 0);
    assert_int_equal(motion_blank_line_prev(t, 25, 9), TEXT_POS_NONE);
    text_free(t);

    /* a final line end starts no line of its own: the last line is still "p3 b" */
    t = text_of("p1 a\np1 b\n\np2 a\n\n\np3 a\np3 b\n");
    assert_int_equal(motion_blank_line_next(t, 0, 3), 26);
    assert_int_equal(motion_blank_line_next(t, 0, 4), TEXT_POS_NONE);
    text_free(t);
    t = text_of("a\n\n"); /* the blank last line is where } stops, once or twice */
    assert_int_equal(motion_blank_line_next(t, 0, 1), 2);
    assert_int_equal(motion_blank_line_next(t, 0, 2), 2);
    text_free(t);
    t = text_of("");
    assert_int_equal(motion_blank_line_next(t, 0, 1), 0);
    assert_int_equal(motion_blank_line_prev(t, 0, 1), 0);
    text_free(t);
    t = text_of("one\r\n\r\ntwo\r\n"); /* CRLF: the blank line is "\r\n" */
    assert_int_equal(motion_blank_line_next(t, 0, 1), 5);
    assert_int_equal(motion_blank_line_prev(t, 8, 1), 5);
    assert_int_equal(motion_blank_line_next(t, 5, 1), 9); /* last character, before its CR */
    text_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_motion_word_next_and_prev_skip_blank_runs, setup, teardown),
        cmocka_unit_test(test_motion_vi_words_stop_on_empty_lines),
        cmocka_unit_test_setup_teardown(test_motion_word_end_and_last, setup, teardown),
        cmocka_unit_test_setup_teardown(test_motion_sentences_end_after_punctuation_and_blank, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_motion_paragraphs_break_at_blank_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_motion_units_around_a_position, setup, teardown),
        cmocka_unit_test(test_motion_blank_lines_as_vi_paragraph_motions),
        cmocka_unit_test(test_motion_vi_bigwords_are_runs_of_non_blanks),
        cmocka_unit_test(test_motion_word_classes_of_unicode),
        cmocka_unit_test(test_motion_find_char_in_the_line),
        cmocka_unit_test(test_motion_match_bracket),
        cmocka_unit_test(test_motion_text_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
