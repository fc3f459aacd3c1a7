/* test_key.c: key names, normal form, terminal byte and terminfo decoding (editor/key.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "key.h"

static key_code parse_ok(const char *name)
{
    key_code k = 12345;
    assert_int_equal(key_parse(name, &k), KEY_OK);
    assert_int_not_equal(k, KEYC_NONE);
    return k;
}

static void test_key_parse_ctrl_letter_is_lower_case(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("C-s"), KEYC_CTRL | 's');
    assert_int_equal(parse_ok("C-S"), KEYC_CTRL | 's');
    assert_int_equal(parse_ok("C-S-s"), KEYC_CTRL | KEYC_SHIFT | 's');
}

static void test_key_parse_alt_and_punctuation(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("M-r"), KEYC_ALT | 'r');
    assert_int_equal(parse_ok("A-r"), KEYC_ALT | 'r');
    assert_int_equal(parse_ok("M-="), KEYC_ALT | '=');
    assert_int_equal(parse_ok("M--"), KEYC_ALT | '-');
    assert_int_equal(parse_ok("-"), '-');
    assert_int_equal(parse_ok("C--"), KEYC_CTRL | '-');
    assert_int_equal(parse_ok("M-R"), KEYC_ALT | 'R');
}

static void test_key_parse_named_keys_with_modifiers(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("S-Left"), KEYC_SHIFT | KEYC_LEFT);
    assert_int_equal(parse_ok("C-S-Right"), KEYC_CTRL | KEYC_SHIFT | KEYC_RIGHT);
    assert_int_equal(parse_ok("S-C-Right"), KEYC_CTRL | KEYC_SHIFT | KEYC_RIGHT);
    assert_int_equal(parse_ok("F1"), KEYC_F1);
    assert_int_equal(parse_ok("F12"), KEYC_F12);
    assert_int_equal(parse_ok("f5"), KEYC_F1 + 4);
    assert_int_equal(parse_ok("pagedown"), KEYC_PAGEDOWN);
    assert_int_equal(parse_ok("PgUp"), KEYC_PAGEUP);
    assert_int_equal(parse_ok("Esc"), KEYC_ESC);
    assert_int_equal(parse_ok("Escape"), KEYC_ESC);
    assert_int_equal(parse_ok("Space"), ' ');
    assert_int_equal(parse_ok("C-Space"), KEYC_CTRL | ' ');
    assert_int_equal(parse_ok("Comma"), ',');
    assert_int_equal(parse_ok("M-Backspace"), KEYC_ALT | KEYC_BACKSPACE);
}

static void test_key_parse_shift_folds_into_printable(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("S-a"), 'A');
    assert_int_equal(parse_ok("S-A"), 'A');
    assert_int_equal(parse_ok("M-S-a"), KEYC_ALT | 'A');
}

static void test_key_parse_utf8_character(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("\xc3\xa9"), 0xe9);                    /* é */
    assert_int_equal(parse_ok("M-\xe2\x82\xac"), KEYC_ALT | 0x20ac); /* M-€ */
    assert_int_equal(parse_ok("\xf0\x9f\x98\x80"), 0x1f600);         /* emoji */
}

static void test_key_parse_rejects_bad_names(void **state)
{
    (void)state;
    key_code k = 1;
    assert_int_equal(key_parse("", &k), KEY_E_EMPTY);
    assert_int_equal(k, KEYC_NONE);
    assert_int_equal(key_parse(NULL, &k), KEY_E_EMPTY);
    assert_int_equal(key_parse("C-C-x", &k), KEY_E_MODIFIER);
    assert_int_equal(key_parse("Q-x", &k), KEY_E_MODIFIER);
    assert_int_equal(key_parse("Foo", &k), KEY_E_UNKNOWN);
    assert_int_equal(key_parse("F13", &k), KEY_E_UNKNOWN);
    assert_int_equal(key_parse("ab", &k), KEY_E_UNKNOWN);
    assert_int_equal(key_parse("\xff", &k), KEY_E_UTF8);
    assert_int_equal(key_parse("\xc3", &k), KEY_E_UTF8);
    assert_int_equal(key_parse("\xc0\x80", &k), KEY_E_UTF8);         /* overlong NUL */
    assert_int_equal(key_parse("\xed\xa0\x80", &k), KEY_E_UTF8);     /* surrogate */
    assert_int_equal(key_parse("\xf4\x90\x80\x80", &k), KEY_E_UTF8); /* > U+10FFFF */
    assert_int_equal(key_parse("\x1b", &k), KEY_E_CONTROL);
    assert_int_equal(key_parse("\xc2\x9b", &k), KEY_E_CONTROL); /* C1 CSI */
    assert_int_equal(key_parse("C-", &k), KEY_E_UNKNOWN);
    assert_int_equal(k, KEYC_NONE);
}

static void test_key_format_round_trips(void **state)
{
    (void)state;
    const char *names[] = {
        "C-s",    "M-r",     "S-Left",   "C-S-Right", "M-=",  "M--",   "Space", "F1",  "C-M-S-PageDown",
        "Comma",  "M-Comma", "\xc3\xa9", "A",         "C-\\", "Enter", "Tab",   "Esc", "Backspace",
        "Delete", "Insert",  "F12"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        key_code k = parse_ok(names[i]);
        char buf[KEY_NAME_MAX];
        assert_string_equal(key_format(k, buf, sizeof buf), names[i]);
        key_code again = KEYC_NONE;
        assert_int_equal(key_parse(buf, &again), KEY_OK);
        assert_int_equal(again, k);
    }
}

static void test_key_format_every_code_point_round_trips(void **state)
{
    (void)state;
    for (uint32_t cp = 0x20; cp <= 0x10ffff; cp += (cp < 0x3000 ? 1 : 97)) {
        if (!key_is_printable(cp)) continue;
        char buf[KEY_NAME_MAX];
        key_code k = KEYC_NONE;
        key_format(cp, buf, sizeof buf);
        assert_int_equal(key_parse(buf, &k), KEY_OK);
        assert_int_equal(k, cp);
    }
}

static void test_key_format_invalid_and_small_buffers(void **state)
{
    (void)state;
    char buf[KEY_NAME_MAX];
    assert_string_equal(key_format(0x1b, buf, sizeof buf), "<invalid>");
    assert_string_equal(key_format(KEYC_NAMED_END, buf, sizeof buf), "<invalid>");
    assert_string_equal(key_format(0x80000000u | 'a', buf, sizeof buf), "<invalid>");
    char small[4];
    key_format(KEYC_CTRL | KEYC_PAGEDOWN, small, sizeof small);
    assert_true(strlen(small) < sizeof small);
    char one[1] = {'x'};
    key_format('a', one, 1);
    assert_int_equal(one[0], '\0');
}

static void test_key_is_printable(void **state)
{
    (void)state;
    assert_true(key_is_printable('a'));
    assert_true(key_is_printable(' '));
    assert_true(key_is_printable(0x4e2d));
    assert_false(key_is_printable(0x7f));
    assert_false(key_is_printable(0x85));
    assert_false(key_is_printable(0x0a));
    assert_false(key_is_printable(0xd800));
    assert_false(key_is_printable(KEYC_CTRL | 'a'));
    assert_false(key_is_printable(KEYC_ALT | 'a'));
    assert_false(key_is_printable(KEYC_ENTER));
}

static void test_key_from_byte_maps_control_bytes(void **state)
{
    (void)state;
    assert_int_equal(key_from_byte(0x13), KEYC_CTRL | 's');
    assert_int_equal(key_from_byte(0x01), KEYC_CTRL | 'a');
    assert_int_equal(key_from_byte(0x1a), KEYC_CTRL | 'z');
    assert_int_equal(key_from_byte(0x08), KEYC_CTRL | 'h');
    assert_int_equal(key_from_byte(0x09), KEYC_TAB);
    assert_int_equal(key_from_byte(0x0d), KEYC_ENTER);
    assert_int_equal(key_from_byte(0x0a), KEYC_ENTER);
    assert_int_equal(key_from_byte(0x1b), KEYC_ESC);
    assert_int_equal(key_from_byte(0x7f), KEYC_BACKSPACE);
    assert_int_equal(key_from_byte(0x00), KEYC_CTRL | ' ');
    assert_int_equal(key_from_byte(0x1c), KEYC_CTRL | '\\');
    assert_int_equal(key_from_byte('q'), 'q');
    assert_int_equal(key_from_byte(0xc3), KEYC_NONE);
    key_code k;
    assert_int_equal(key_parse("C-s", &k), KEY_OK);
    assert_int_equal(key_from_byte(0x13), k);
}

static void test_key_from_terminfo_decodes_modifiers(void **state)
{
    (void)state;
    assert_int_equal(key_from_terminfo("kRIT5"), KEYC_CTRL | KEYC_RIGHT);
    assert_int_equal(key_from_terminfo("kLFT6"), KEYC_CTRL | KEYC_SHIFT | KEYC_LEFT);
    assert_int_equal(key_from_terminfo("kUP2"), KEYC_SHIFT | KEYC_UP);
    assert_int_equal(key_from_terminfo("kDC3"), KEYC_ALT | KEYC_DELETE);
    assert_int_equal(key_from_terminfo("kHOM8"), KEYC_CTRL | KEYC_ALT | KEYC_SHIFT | KEYC_HOME);
    assert_int_equal(key_from_terminfo("kNXT7"), KEYC_CTRL | KEYC_ALT | KEYC_PAGEDOWN);
    assert_int_equal(key_from_terminfo("kRIT"), KEYC_NONE);
    assert_int_equal(key_from_terminfo("kRIT9"), KEYC_NONE);
    assert_int_equal(key_from_terminfo("kRIT55"), KEYC_NONE);
    assert_int_equal(key_from_terminfo("kXYZ5"), KEYC_NONE);
    assert_int_equal(key_from_terminfo(NULL), KEYC_NONE);
}

static void test_key_with_alt_keeps_normal_form(void **state)
{
    (void)state;
    assert_int_equal(key_with_alt('r'), KEYC_ALT | 'r');
    assert_int_equal(key_with_alt(key_from_byte(0x13)), KEYC_ALT | KEYC_CTRL | 's');
    key_code k;
    assert_int_equal(key_parse("C-M-s", &k), KEY_OK);
    assert_int_equal(key_with_alt(key_from_byte(0x13)), k);
    assert_int_equal(key_with_alt(KEYC_NONE), KEYC_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_parse_ctrl_letter_is_lower_case),
        cmocka_unit_test(test_key_parse_alt_and_punctuation),
        cmocka_unit_test(test_key_parse_named_keys_with_modifiers),
        cmocka_unit_test(test_key_parse_shift_folds_into_printable),
        cmocka_unit_test(test_key_parse_utf8_character),
        cmocka_unit_test(test_key_parse_rejects_bad_names),
        cmocka_unit_test(test_key_format_round_trips),
        cmocka_unit_test(test_key_format_every_code_point_round_trips),
        cmocka_unit_test(test_key_format_invalid_and_small_buffers),
        cmocka_unit_test(test_key_is_printable),
        cmocka_unit_test(test_key_from_byte_maps_control_bytes),
        cmocka_unit_test(test_key_from_terminfo_decodes_modifiers),
        cmocka_unit_test(test_key_with_alt_keeps_normal_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
