/* test_utf8.c: the single-character UTF-8 helpers: every code point encodes and decodes back,
 * lengths by lead byte, and overlong forms, surrogates, stray and truncated bytes refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "utf8.h"

static void test_utf8_encode_matches_known_bytes(void **state)
{
    (void)state;
    static const struct {
        uint32_t cp;
        const char *bytes;
    } cases[] = {
        {0x24, "$"},
        {0xa2, "\xc2\xa2"},
        {0x939, "\xe0\xa4\xb9"},
        {0x20ac, "\xe2\x82\xac"},
        {0xd55c, "\xed\x95\x9c"},
        {0x10348, "\xf0\x90\x8d\x88"},
        {0x10ffff, "\xf4\x8f\xbf\xbf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[UTF8_MAX];
        size_t n = utf8_encode(cases[i].cp, out);
        assert_int_equal(n, strlen(cases[i].bytes));
        assert_memory_equal(out, cases[i].bytes, n);
        assert_int_equal(utf8_lead_len((unsigned char)out[0]), n);
    }
}

static void test_utf8_every_code_point_round_trips(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        char out[UTF8_MAX];
        size_t n = utf8_encode(cp, out);
        assert_true(n >= 1 && n <= 4);
        for (size_t k = 1; k < n; k++) assert_true(utf8_is_cont((unsigned char)out[k]));
        assert_false(utf8_is_cont((unsigned char)out[0]));
        assert_int_equal(utf8_decode((const unsigned char *)out, n), (long)cp);
    }
}

static void test_utf8_decode_refuses_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"\xc0\xaf", 2},         /* overlong '/' */
        {"\xe0\x80\xaf", 3},     /* overlong, three bytes */
        {"\xf0\x80\x80\xaf", 4}, /* overlong, four bytes */
        {"\xed\xa0\x80", 3},     /* a surrogate */
        {"\xf4\x90\x80\x80", 4}, /* above U+10FFFF */
        {"\x80", 1},             /* a stray continuation byte */
        {"\xe2\x82", 2},         /* truncated */
        {"\xe2\x28\xa1", 3},     /* a continuation byte missing */
        {"\xe2\x82\xac", 2},     /* length shorter than the lead byte says */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(utf8_decode((const unsigned char *)bad[i].bytes, bad[i].len), -1);
    assert_int_equal(utf8_lead_len(0x80), 1); /* a stray byte counts as one */
    assert_true(utf8_is_cont(0xbf));
    assert_false(utf8_is_cont(0xc0));
    assert_false(utf8_is_cont('a'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_encode_matches_known_bytes),
        cmocka_unit_test(test_utf8_every_code_point_round_trips),
        cmocka_unit_test(test_utf8_decode_refuses_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
