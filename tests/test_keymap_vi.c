/* test_keymap_vi.c: bindings of the shipped vi keymap (keymaps/vi.keys) beyond those
 * test_keymap.c checks: the screen-row motions g0 and g$. Runs from the repository root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "command.h"
#include "keymap.h"

static keymap *vi_load(void)
{
    keymap *km = keymap_new();
    assert_non_null(km);
    keymap_set_command_check(km, command_known, NULL);
    assert_int_equal(keymap_add_dir(km, "keymaps"), KEYMAP_OK);
    char err[256] = "";
    if (keymap_load_name(km, "vi", err, sizeof err) != KEYMAP_OK) fail_msg("vi: %s", err);
    return km;
}

/* Feeds the blank-separated key names of seq in mode; the command of the match, or what else
 * the last key gave. */
static const char *vi_command(const keymap *km, const char *mode, const char *seq)
{
    keymap_state st;
    keymap_state_init(km, &st);
    st.mode = keymap_mode_find(km, mode);
    assert_true(st.mode >= 0);
    char buf[64];
    snprintf(buf, sizeof buf, "%s", seq);
    keymap_result r = KEYMAP_NONE;
    const keymap_binding *b = NULL;
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        key_code k = KEYC_NONE;
        assert_int_equal(key_parse(tok, &k), KEY_OK);
        r = keymap_feed(km, &st, k, &b);
    }
    if (r != KEYMAP_MATCH) return r == KEYMAP_PREFIX ? "(prefix)" : r == KEYMAP_INSERT ? "(insert)" : "(none)";
    assert_non_null(b);
    return b->command;
}

/* g0 g$ move along the screen row of a wrapped line, as in vim; 0 $ still take the whole line. */
static void test_keymap_vi_g0_and_g_dollar_are_screen_row_motions(void **state)
{
    (void)state;
    keymap *km = vi_load();
    assert_string_equal(vi_command(km, "normal", "g 0"), "row-start");
    assert_string_equal(vi_command(km, "normal", "g $"), "row-end");
    assert_string_equal(vi_command(km, "normal", "0"), "line-start");
    assert_string_equal(vi_command(km, "normal", "$"), "line-end");
    assert_string_equal(vi_command(km, "normal", "g"), "(prefix)");
    assert_string_equal(vi_command(km, "visual", "g 0"), "select-row-start");
    assert_string_equal(vi_command(km, "visual", "g $"), "select-row-end");
    assert_string_equal(vi_command(km, "visual", "0"), "select-line-start");
    keymap_free(km);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keymap_vi_g0_and_g_dollar_are_screen_row_motions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
