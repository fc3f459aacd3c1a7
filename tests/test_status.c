/* test_status.c: bd3_status messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "bd3.h"

static void test_status_messages_are_distinct(void **state)
{
    (void)state;
    assert_string_equal(bd3_status_str(BD3_OK), "success");
    assert_true(strcmp(bd3_status_str(BD3_E_IO), bd3_status_str(BD3_E_FORMAT)) != 0);
    assert_string_equal(bd3_status_str((bd3_status)999), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_messages_are_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
