/* test_model_editor.c: the model commands through the editor core and the default keymap with
 * the small random fixture model: keys start jobs, the cursor follows the model's edits, undo
 * takes an operation back in one step, Esc cancels and restores, inspect offers a choice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "command.h"
#include "editor.h"
#include "fixture.h"
#include "model-editor.h"

static char model_path[1024]; /* the fixture model */

static const char doc[] = "The cat sat on the mat.\nA dog ran to the park and back.\nEnd of it.\n";

typedef struct fx {
    editor *ed;          /* editor with one buffer holding doc */
    model_editor *me;    /* the model layer */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    keymap *km = keymap_new();
    keymap_add_dir(km, "keymaps");
    keymap_set_command_check(km, command_known, NULL);
    char err[256];
    assert_int_equal(keymap_load_name(km, "default", err, sizeof err), KEYMAP_OK);
    f->ed = editor_new();
    editor_set_keymap(f->ed, km, "default");
    editor_resize(f->ed, 24, 80);
    assert_int_equal(config_set(f->ed->cfg, "model", model_path, err, sizeof err), CONFIG_OK);
    assert_int_equal(config_set(f->ed->cfg, "threads", "1", err, sizeof err), CONFIG_OK);
    text *t = text_new();
    text_insert(t, 0, doc, strlen(doc));
    text_snapshot(t);
    assert_true(editor_open_text(f->ed, t, "doc"));
    f->me = model_editor_new(f->ed, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    model_editor_free(f->me);
    editor_free(f->ed);
    free(f);
    return 0;
}

static void tick_to_idle(fx *f)
{
    int timeout;
    model_editor_tick(f->me, 0, &timeout);
    while (model_session_busy(model_editor_session(f->me))) {
        struct pollfd p = {model_editor_fd(f->me), POLLIN, 0};
        if (poll(&p, 1, 60000) == 0)
            fail_msg("model job did not finish");
        model_editor_tick(f->me, 0, &timeout);
    }
}

static char *buf_text(fx *f)
{
    text *t = editor_buffer(f->ed)->text;
    size_t n = text_size(t);
    char *b = malloc(n + 1);
    text_read(t, 0, n, b);
    b[n] = '\0';
    return b;
}

static void key(fx *f, const char *name)
{
    key_code k;
    assert_int_equal(key_parse(name, &k), KEY_OK);
    editor_key(f->ed, k);
}

static void test_model_editor_ctrl_r_infills_selection_and_undo_restores(void **state)
{
    fx *f = *state;
    buffer *b = editor_buffer(f->ed);
    b->anchor = 4;
    b->cursor = 11;
    key(f, "C-r");
    tick_to_idle(f);
    char *now = buf_text(f);
    size_t tail = strlen(doc) - 11;
    assert_string_equal(now + strlen(now) - tail, doc + 11);
    assert_int_equal(b->cursor, strlen(now) - tail); /* the cursor followed the span's end */
    free(now);
    key(f, "C-r"); /* again: another sample of the same span */
    tick_to_idle(f);
    assert_non_null(strstr(f->ed->message, "sample 2"));
    editor_run_line(f->ed, "model-sample-prev"); /* back to the first sample, by name */
    assert_non_null(strstr(f->ed->message, "sample 1 of 2"));
    key(f, "C-z");
    key(f, "C-z");
    key(f, "C-z");
    now = buf_text(f);
    assert_string_equal(now, doc);
    free(now);
}

static void test_model_editor_esc_cancels_and_restores(void **state)
{
    fx *f = *state;
    buffer *b = editor_buffer(f->ed);
    b->anchor = 4;
    b->cursor = 11;
    key(f, "C-r");
    assert_true(model_session_busy(model_editor_session(f->me)));
    key(f, "Escape");
    assert_false(model_session_busy(model_editor_session(f->me)));
    tick_to_idle(f);
    char *now = buf_text(f);
    assert_string_equal(now, doc);
    free(now);
    assert_non_null(strstr(f->ed->message, "cancelled"));
}

static void test_model_editor_ctrl_n_continues_at_cursor(void **state)
{
    fx *f = *state;
    buffer *b = editor_buffer(f->ed);
    b->cursor = 24;
    key(f, "C-n");
    assert_true(f->ed->model_status[0] != '\0'); /* the status slot names the job */
    tick_to_idle(f);
    char *now = buf_text(f);
    assert_memory_equal(now, doc, 24);
    assert_string_equal(now + strlen(now) - (strlen(doc) - 24), doc + 24);
    assert_true(b->cursor >= 24 && b->cursor == strlen(now) - (strlen(doc) - 24));
    free(now);
}

static void test_model_editor_typing_stops_continuation(void **state)
{
    fx *f = *state;
    buffer *b = editor_buffer(f->ed);
    b->cursor = 24;
    key(f, "C-n");
    /* wait for the first tokens to appear */
    int timeout;
    size_t before = text_size(b->text);
    while (model_session_busy(model_editor_session(f->me)) && text_size(b->text) == before) {
        struct pollfd p = {model_editor_fd(f->me), POLLIN, 0};
        poll(&p, 1, 1000);
        model_editor_tick(f->me, 0, &timeout);
    }
    key(f, "x");
    assert_false(model_session_busy(model_editor_session(f->me)));
    char *now = buf_text(f);
    assert_null(strstr(now, "\xe2\x96\x91")); /* no placeholder kept */
    assert_memory_equal(now, doc, 24);
    assert_string_equal(now + strlen(now) - (strlen(doc) - 24), doc + 24);
    assert_int_equal(now[b->cursor - 1], 'x'); /* typed after the kept tokens */
    free(now);
}

static void test_model_editor_inspect_prompt_replaces_token(void **state)
{
    fx *f = *state;
    buffer *b = editor_buffer(f->ed);
    b->cursor = 5;
    key(f, "M-i");
    tick_to_idle(f);
    assert_int_equal(f->ed->prompt, PROMPT_MODEL);
    assert_non_null(strstr(f->ed->prompt_label, "1'"));
    key(f, "2");
    key(f, "Enter");
    int timeout;
    model_editor_tick(f->me, 0, &timeout);
    assert_int_equal(f->ed->prompt, PROMPT_NONE);
    key(f, "C-z");
    char *now = buf_text(f);
    assert_string_equal(now, doc); /* the replacement was one undo step */
    free(now);
}

static void test_model_editor_heatmap_toggle_sets_status(void **state)
{
    fx *f = *state;
    key(f, "C-e");
    assert_true(model_editor_heatmap(f->me));
    char err[64];
    config_set(f->ed->cfg, "score-delay-ms", "0", err, sizeof err);
    for (int i = 0; i < 8; i++)
        tick_to_idle(f);
    buffer *b = editor_buffer(f->ed);
    assert_true(model_editor_conf_at(f->me, b, 0) >= 0.0f);
    key(f, "C-e");
    assert_false(model_editor_heatmap(f->me));
    assert_true(model_editor_conf_at(f->me, b, 0) < 0.0f);
}

static void test_model_editor_closing_buffer_drops_its_job(void **state)
{
    fx *f = *state;
    text *t2 = text_new();
    text_insert(t2, 0, doc, strlen(doc));
    assert_true(editor_open_text(f->ed, t2, "second"));
    buffer *b = editor_buffer(f->ed);
    b->anchor = 4;
    b->cursor = 30;
    key(f, "C-r");
    assert_true(model_session_busy(model_editor_session(f->me)));
    editor_close_buffer(f->ed, f->ed->cur); /* the job's text goes away while it runs */
    assert_false(model_session_busy(model_editor_session(f->me)));
    int timeout;
    for (int i = 0; i < 3; i++) {
        struct pollfd p = {model_editor_fd(f->me), POLLIN, 0};
        poll(&p, 1, 100);
        model_editor_tick(f->me, 0, &timeout); /* late events touch no freed text */
    }
    char *now = buf_text(f);
    assert_string_equal(now, doc); /* the other buffer is untouched */
    free(now);
}

static void test_model_editor_missing_model_reports_on_message_line(void **state)
{
    fx *f = *state;
    char err[64];
    config_set(f->ed->cfg, "model", "/nonexistent.gguf", err, sizeof err);
    int timeout;
    model_editor_tick(f->me, 0, &timeout);
    key(f, "C-r");
    assert_true(f->ed->message_error);
    assert_non_null(strstr(f->ed->message, "model"));
    char *now = buf_text(f);
    assert_string_equal(now, doc);
    free(now);
}

int main(void)
{
    if (fixture_model_path(model_path, sizeof model_path) != 0)
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_editor_ctrl_r_infills_selection_and_undo_restores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_esc_cancels_and_restores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_ctrl_n_continues_at_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_typing_stops_continuation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_inspect_prompt_replaces_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_heatmap_toggle_sets_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_closing_buffer_drops_its_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_missing_model_reports_on_message_line, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
