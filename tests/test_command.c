/* test_command.c: running commands by name from the command prompt, and the prompt's Tab
 * completion of command names (editor/command-complete.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "editor_fx.h"

/* The names that start with a prefix, counted against the command table itself. */
static int count_prefixed(const char *prefix)
{
    int n = 0;
    for (int i = 0; i < command_count(); i++)
        if (strncmp(command_at(i)->name, prefix, strlen(prefix)) == 0) n++;
    return n;
}

static void test_command_complete_common_prefix_and_list(void **state)
{
    (void)state;
    char common[128], list[512];
    /* one name: completed in full, listed alone */
    assert_int_equal(command_complete("goto-l", common, sizeof common, list, sizeof list), 1);
    assert_string_equal(common, "goto-line");
    assert_string_equal(list, "goto-line");
    /* several: their common prefix, the names sorted */
    int n = count_prefixed("page-");
    assert_true(n >= 2);
    assert_int_equal(command_complete("pag", common, sizeof common, list, sizeof list), n);
    assert_string_equal(common, "page-");
    assert_non_null(strstr(list, "page-down page-up"));
    /* a whole name that starts others: it stays, all are listed */
    n = count_prefixed("line-end");
    assert_int_equal(command_complete("line-end", common, sizeof common, list, sizeof list), n);
    assert_string_equal(common, "line-end");
    /* none: the prefix is kept, nothing listed */
    assert_int_equal(command_complete("no-such-thing", common, sizeof common, list, sizeof list), 0);
    assert_string_equal(common, "no-such-thing");
    assert_string_equal(list, "");
    /* every name: the empty prefix matches the whole table */
    assert_int_equal(command_complete("", common, sizeof common, NULL, 0), command_count());
}

/* A list that does not fit ends in "..." and never overflows. */
static void test_command_complete_list_is_cut_with_dots(void **state)
{
    (void)state;
    char common[128], list[40];
    memset(list, 'Z', sizeof list);
    int n = command_complete("select-", common, sizeof common, list, 24);
    assert_true(n > 5);
    assert_true(strlen(list) < 24);
    assert_int_equal(list[24], 'Z');
    size_t len = strlen(list);
    assert_true(len >= 4);
    assert_string_equal(list + len - 4, " ...");
    /* too small for even one name and the dots: "..." alone */
    assert_int_equal(command_complete("select-", common, sizeof common, list, 8), n);
    assert_string_equal(list, "...");
}

/* Tab at the command prompt completes the name; several candidates are shown after the input
 * until the next key; Enter runs the completed command. */
static void test_command_prompt_tab_completes(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    assert_true(editor_open_text(ed, text_new(), "t"));
    type(ed, "one\ntwo\nthree\n");
    keys(ed, "M-x");
    assert_int_equal(editor_prompt_kind(ed), PROMPT_COMMAND);
    type(ed, "buffer-s");
    keys(ed, "Tab");
    assert_string_equal(editor_prompt_input(ed), "buffer-start");
    assert_string_equal(editor_prompt_hint(ed), "");
    keys(ed, "Enter");
    assert_int_equal(editor_prompt_kind(ed), PROMPT_NONE);
    assert_int_equal(editor_buffer(ed)->cursor, 0);

    keys(ed, "M-x");
    type(ed, "pag");
    keys(ed, "Tab");
    assert_string_equal(editor_prompt_input(ed), "page-");
    assert_non_null(strstr(editor_prompt_hint(ed), "page-down"));
    keys(ed, "Tab"); /* again: the list again, the input as it was */
    assert_string_equal(editor_prompt_input(ed), "page-");
    assert_int_equal(editor_prompt_hint(ed)[0], '{');
    type(ed, "x");
    assert_string_equal(editor_prompt_hint(ed), ""); /* gone with the next key */
    keys(ed, "Tab");
    assert_string_equal(editor_prompt_hint(ed), "[no match]");
    assert_string_equal(editor_prompt_input(ed), "page-x");
    keys(ed, "C-u");
    type(ed, "set wr");
    keys(ed, "Tab"); /* after the name: nothing to complete */
    assert_string_equal(editor_prompt_input(ed), "set wr");
    keys(ed, "Escape");
    assert_int_equal(editor_prompt_kind(ed), PROMPT_NONE);
    editor_free(ed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_complete_common_prefix_and_list),
        cmocka_unit_test(test_command_complete_list_is_cut_with_dots),
        cmocka_unit_test(test_command_prompt_tab_completes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
