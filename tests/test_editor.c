/* test_editor.c: the editor core without a terminal: save/overwrite/quit flows on real files,
 * mouse, scrolling, the model hook and events, the line cache, the help screen and OSC 52
 * encoding (recovery files: test_editor_recovery.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "editor_fx.h"
#include "tmpdir.h"

static void test_editor_save_writes_file_and_clears_modified(void **state)
{
    (void)state;
    char p[300];
    snprintf(p, sizeof p, "%s/doc.txt", dir);
    write_text(p, "hello\n");
    editor *ed = new_editor("default");
    assert_true(editor_open(ed, p));
    keys(ed, "C-End");
    type(ed, "more\n");
    assert_true(text_modified(editor_buffer(ed)->text));
    keys(ed, "C-s");
    assert_false(text_modified(editor_buffer(ed)->text));
    assert_string_equal(read_text(p), "hello\nmore\n");
    editor_free(ed);
}

/* A new file (opened but not on disk, or an unnamed buffer saved as one) ends with a newline when
 * saved, unless final-newline is off; an existing file is written as it is. */
static void test_editor_new_file_gets_final_newline_on_save(void **state)
{
    (void)state;
    char p[300], q[300], r[300];
    snprintf(p, sizeof p, "%s/new.txt", dir);
    snprintf(q, sizeof q, "%s/plain.txt", dir);
    snprintf(r, sizeof r, "%s/old.txt", dir);
    write_text(r, "no newline");
    editor *ed = new_editor("default");
    assert_true(editor_open(ed, p));
    type(ed, "hello");
    keys(ed, "C-s");
    assert_string_equal(read_text(p), "hello\n");
    assert_false(text_modified(editor_buffer(ed)->text));
    type(ed, " again"); /* the cursor stayed before the newline */
    keys(ed, "C-s");
    assert_string_equal(read_text(p), "hello again\n");
    /* an existing file without a final newline keeps it that way */
    assert_true(editor_open(ed, r));
    keys(ed, "C-End");
    type(ed, "!");
    keys(ed, "C-s");
    assert_string_equal(read_text(r), "no newline!");
    /* the writer turned it off */
    command_run_line(ed, "set final-newline off");
    assert_true(editor_open(ed, q));
    type(ed, "as typed");
    keys(ed, "C-s");
    assert_string_equal(read_text(q), "as typed");
    editor_free(ed);
}

static void test_editor_asks_before_overwriting_changed_file(void **state)
{
    (void)state;
    char p[300];
    snprintf(p, sizeof p, "%s/changed.txt", dir);
    write_text(p, "original\n");
    editor *ed = new_editor("default");
    assert_true(editor_open(ed, p));
    type(ed, "mine ");
    sleep(0); /* mtime granularity is nanoseconds; size differs anyway */
    write_text(p, "someone else wrote this\n");
    keys(ed, "C-s");
    assert_int_equal(ed->prompt, PROMPT_OVERWRITE);
    keys(ed, "n");
    assert_int_equal(ed->prompt, PROMPT_NONE);
    assert_string_equal(read_text(p), "someone else wrote this\n");
    keys(ed, "C-s y");
    assert_string_equal(read_text(p), "mine original\n");
    editor_free(ed);
}

static void test_editor_read_only_file_is_marked_and_asks_before_saving(void **state)
{
    (void)state;
    char p[300];
    snprintf(p, sizeof p, "%s/ro.txt", dir);
    write_text(p, "keep\n");
    assert_int_equal(chmod(p, 0444), 0);
    editor *ed = new_editor("default");
    assert_true(editor_open(ed, p));
    assert_true(buffer_file_readonly(editor_buffer(ed))); /* the status line shows [RO] */
    assert_non_null(strstr(ed->message, "read-only"));
    type(ed, "mine ");
    keys(ed, "C-s");
    assert_int_equal(ed->prompt, PROMPT_OVERWRITE);
    assert_non_null(strstr(ed->prompt_label, "read-only"));
    keys(ed, "n");
    assert_int_equal(ed->prompt, PROMPT_NONE);
    assert_string_equal(read_text(p), "keep\n");
    assert_true(text_modified(editor_buffer(ed)->text));
    keys(ed, "C-s y");
    assert_string_equal(read_text(p), "mine keep\n");
    assert_false(text_modified(editor_buffer(ed)->text));
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0444);
    editor_free(ed);
}

/* Another user's read-only file can only be written anew, which changes its owner: the question
 * says so before anything is written. As root, a child drops to uid 4242 in a folder it may write. */
static void test_editor_read_only_file_of_another_user_says_the_owner_changes(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("needs root to make a file of another user: skipped\n");
        skip();
    }
    char sub[300], p[320];
    snprintf(sub, sizeof sub, "%s/shared", dir);
    assert_int_equal(mkdir(sub, 0777), 0);
    assert_int_equal(chmod(sub, 0777), 0);
    assert_int_equal(chmod(dir, 0755), 0);
    snprintf(p, sizeof p, "%s/theirs.txt", sub);
    write_text(p, "keep\n");
    assert_int_equal(chmod(p, 0444), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(4242) != 0 || setuid(4242) != 0) _exit(10);
        editor *ed = new_editor("default");
        if (!editor_open(ed, p)) _exit(11);
        type(ed, "mine ");
        keys(ed, "C-s");
        if (ed->prompt != PROMPT_OVERWRITE) _exit(12);
        if (!strstr(ed->prompt_label, "belongs to") || !strstr(ed->prompt_label, "yours")) _exit(13);
        keys(ed, "n");
        editor_free(ed);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_string_equal(read_text(p), "keep\n"); /* "n": nothing written */
    unlink(p);
    rmdir(sub);
}

/* Save As to a place that cannot be written: the buffer keeps its name, path and recovery. */
static void test_editor_failed_save_as_keeps_the_buffer_name(void **state)
{
    (void)state;
    char p[300], bad[300];
    snprintf(p, sizeof p, "%s/doc.txt", dir);
    snprintf(bad, sizeof bad, "%s/no-such-folder/copy.txt", dir);
    write_text(p, "text\n");
    editor *ed = new_editor("default");
    assert_true(editor_open(ed, p));
    type(ed, "x");
    editor_save_as_prompt(ed);
    assert_int_equal(ed->prompt, PROMPT_SAVE_AS);
    snprintf(ed->input, sizeof ed->input, "%s", bad);
    ed->input_len = strlen(bad);
    keys(ed, "Enter");
    buffer *b = editor_buffer(ed);
    assert_string_equal(b->path, p);
    assert_string_equal(b->name, "doc.txt");
    assert_true(ed->message_error);
    assert_non_null(strstr(ed->message, "no-such-folder"));
    assert_true(text_modified(b->text));
    assert_string_equal(read_text(p), "text\n");
    /* a Save As that works renames the buffer */
    snprintf(bad, sizeof bad, "%s/copy.txt", dir);
    editor_save_as_prompt(ed);
    snprintf(ed->input, sizeof ed->input, "%s", bad);
    ed->input_len = strlen(bad);
    keys(ed, "Enter");
    assert_string_equal(b->path, bad);
    assert_string_equal(b->name, "copy.txt");
    assert_string_equal(read_text(bad), "xtext\n");
    editor_free(ed);
}

/* What a frame costs: the view work of laying out every visible row, the cursor's column and
 * line (status line), as the terminal layer does. Returns whether the cursor is on screen. */
static bool draw_frame(editor *ed)
{
    editor_scroll(ed);
    buffer *b = editor_buffer(ed);
    view_opts o = editor_view_opts(ed);
    view_row row;
    assert_true(view_row_init(&row, o.width));
    size_t p = b->top, size = text_size(b->text);
    bool seen = false;
    for (int r = 0; r < editor_text_rows(ed); r++) {
        size_t next = view_row_layout(b->text, p, &o, &row);
        if (view_row_has(&row, b->cursor, size)) {
            int col = view_row_col(&row, b->cursor);
            seen = col >= 0 && col < o.width;
        }
        if (row.last) break;
        p = next;
    }
    view_row_release(&row);
    buffer_col_of(b, b->cursor);
    buffer_line_of(b, b->cursor);
    return seen;
}

/* Typing at the end of a very long line (wrap off) costs what the screen shows, not the line:
 * the view work of a key stays far below the line's length. */
static void test_editor_key_at_end_of_long_line_costs_the_screen(void **state)
{
    (void)state;
    const size_t n = (size_t)5 << 20;
    for (int kind = 0; kind < 2; kind++) { /* 5 MB of letters; 5 MB of NUL bytes */
        char p[300];
        snprintf(p, sizeof p, "%s/long%d.txt", dir, kind);
        char *big = malloc(n + 16);
        assert_non_null(big);
        for (size_t i = 0; i < n; i++) big[i] = kind ? 0 : (char)('a' + i % 26);
        memcpy(big + n, "\nshort line\n", 12);
        FILE *f = fopen(p, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(big, 1, n + 12, f), n + 12);
        fclose(f);
        free(big);
        editor *ed = new_editor("default");
        char err[128];
        assert_int_equal(config_set(ed->cfg, "wrap", "off", err, sizeof err), CONFIG_OK);
        assert_true(editor_open(ed, p));
        keys(ed, "End"); /* the end of the long line */
        assert_int_equal(editor_buffer(ed)->cursor, n);
        assert_true(draw_frame(ed));
        assert_true(draw_frame(ed));
        for (int k = 0; k < 5; k++) {
            size_t before = view_work();
            type(ed, "x");
            assert_true(draw_frame(ed)); /* the cursor stays on screen */
            size_t cost = view_work() - before;
            if (cost > 20000) fail_msg("a key cost %zu units of view work on a %zu-byte line", cost, n);
        }
        assert_int_equal(buffer_col_of(editor_buffer(ed), editor_buffer(ed)->cursor), n + 5);
        keys(ed, "BSpace");
        assert_true(draw_frame(ed));
        editor_free(ed);
    }
}

/* With soft wrap, End goes to the end of the line, not of its screen row, and Home to the line's
 * start: what is typed (or continued) after End lands after the line's last character. */
static void test_editor_home_end_take_the_whole_wrapped_line(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    assert_true(editor_open_text(ed, text_new(), "wrapped"));
    const char *line = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen";
    type(ed, line);
    type(ed, "\nnext");
    buffer *b = editor_buffer(ed);
    assert_true(draw_frame(ed));
    keys(ed, "C-Home");
    keys(ed, "End");
    assert_int_equal(b->cursor, strlen(line));
    keys(ed, "End"); /* again: stays */
    assert_int_equal(b->cursor, strlen(line));
    type(ed, "!");
    char *s = buf_contents(ed);
    assert_int_equal(strncmp(s + strlen(line), "!\nnext", 7), 0);
    free(s);
    keys(ed, "Home"); /* from the line's last screen row */
    assert_int_equal(b->cursor, 0);
    keys(ed, "Down End"); /* the line's second row: End still goes to the line's end */
    assert_int_equal(b->cursor, strlen(line) + 1);
    keys(ed, "C-Home Right Right Right S-End");
    assert_int_equal(b->anchor, 3);
    assert_int_equal(b->cursor, strlen(line) + 1);
    /* row-end stops at the first screen row's edge, and goes on to the line's end from there */
    keys(ed, "C-Home");
    assert_true(command_run(ed, "row-end", 0));
    size_t row_end = b->cursor;
    assert_true(row_end > 0 && row_end < strlen(line));
    assert_true(command_run(ed, "row-end", 0));
    assert_int_equal(b->cursor, strlen(line) + 1);
    assert_true(command_run(ed, "row-start", 0));
    assert_true(b->cursor > row_end);
    editor_free(ed);
}

static void test_editor_quit_asks_when_modified(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    text *t = text_new();
    assert_true(editor_open_text(ed, t, "scratch"));
    keys(ed, "C-q");
    assert_true(ed->quit); /* nothing modified: quits at once */
    editor_free(ed);
    ed = new_editor("default");
    t = text_new();
    assert_true(editor_open_text(ed, t, "scratch"));
    type(ed, "x");
    keys(ed, "C-q");
    assert_false(ed->quit);
    assert_int_equal(ed->prompt, PROMPT_QUIT);
    keys(ed, "c");
    assert_false(ed->quit);
    keys(ed, "C-q n");
    assert_true(ed->quit);
    editor_free(ed);
}

/* A message taken back goes only while no other came after it; one waiting in the start-up
 * queue leaves the queue. */
static void test_editor_message_withdraw_takes_back_only_its_own(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    editor_message(ed, EDITOR_MSG_INFO, "loading");
    uint64_t serial = editor_message_serial(ed);
    editor_message_withdraw(ed, serial);
    assert_string_equal(editor_message_text(ed, NULL, NULL), "");
    editor_message(ed, EDITOR_MSG_INFO, "loading");
    serial = editor_message_serial(ed);
    editor_message(ed, EDITOR_MSG_ERROR, "later");
    editor_message_withdraw(ed, serial);
    assert_string_equal(editor_message_text(ed, NULL, NULL), "later");
    editor_set_message_queueing(ed, true);
    editor_message(ed, EDITOR_MSG_INFO, "queued");
    serial = editor_message_serial(ed);
    int waiting = 0;
    editor_message_text(ed, NULL, &waiting);
    assert_int_equal(waiting, 1);
    editor_message_withdraw(ed, serial);
    assert_string_equal(editor_message_text(ed, NULL, &waiting), "later");
    assert_int_equal(waiting, 0);
    editor_free(ed);
}

static void test_editor_mouse_click_and_drag_select(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    text *t = text_new();
    text_insert(t, 0, "first line\nsecond line\n", 23);
    editor_open_text(ed, t, "m");
    editor_mouse(ed, EDITOR_MOUSE_PRESS, 1, 3);
    buffer *b = editor_buffer(ed);
    assert_int_equal(b->cursor, 14);
    editor_mouse(ed, EDITOR_MOUSE_DRAG, 0, 5);
    editor_mouse(ed, EDITOR_MOUSE_RELEASE, 0, 5);
    size_t s, e;
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 5);
    assert_int_equal(e, 14);
    editor_mouse(ed, EDITOR_MOUSE_PRESS, 0, 30); /* past the line end: at its end */
    assert_int_equal(b->cursor, 10);
    assert_false(buffer_selection(b, &s, &e));
    editor_free(ed);
}

static void test_editor_wheel_and_page_keep_cursor_visible(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    text *t = text_new();
    for (int i = 0; i < 100; i++) {
        char l[16];
        int n = snprintf(l, sizeof l, "line %d\n", i + 1);
        text_insert(t, text_size(t), l, (size_t)n);
    }
    editor_open_text(ed, t, "w");
    buffer *b = editor_buffer(ed);
    editor_mouse(ed, EDITOR_MOUSE_WHEEL_DOWN, 0, 0);
    assert_int_equal(buffer_line_of(b, b->top), 3);
    assert_true(buffer_line_of(b, b->cursor) >= 3);
    keys(ed, "PageDown");
    /* 12 rows: 10 text rows, a page moves 8 */
    assert_int_equal(buffer_line_of(b, b->cursor), 11);
    keys(ed, "C-End");
    editor_scroll(ed);
    assert_true(buffer_line_of(b, b->top) >= 100 - 10);
    keys(ed, "C-Home");
    assert_int_equal(b->top, 0);
    editor_free(ed);
}

static int hook_calls;
static editor_model_cmd hook_cmd;

static void hook(editor *ed, editor_model_cmd cmd, int count, void *ctx)
{
    (void)ed;
    (void)count;
    hook_calls++;
    hook_cmd = cmd;
    assert_ptr_equal(ctx, &hook_calls);
}

static void test_editor_model_commands_reach_the_hook(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    editor_open_text(ed, text_new(), "x");
    keys(ed, "C-r");
    assert_non_null(strstr(ed->message, "No model loaded"));
    editor_set_model_hook(ed, hook, NULL, &hook_calls);
    keys(ed, "C-r");
    assert_int_equal(hook_calls, 1);
    assert_int_equal(hook_cmd, MODEL_CMD_INFILL);
    keys(ed, "M-=");
    assert_int_equal(hook_cmd, MODEL_CMD_GROW);
    editor_set_model_status(ed, "infill 3/8\x1b[2J");
    assert_null(strchr(ed->model_status, '\x1b'));
    editor_free(ed);
}

/* Events received, in order, as letters: k key, c cancel, u undo, e edit-pre, E edit-post,
 * s save-pre, S save-post, x buffer-close. */
static char events[64];

static void event_hook(editor *ed, editor_event ev, buffer *b, void *ctx)
{
    (void)ed;
    (void)ctx;
    assert_non_null(b);
    static const char letters[] = {
        [EDITOR_EVENT_KEY] = 'k',       [EDITOR_EVENT_CANCEL] = 'c',      [EDITOR_EVENT_UNDO_PRE] = 'u',
        [EDITOR_EVENT_EDIT_PRE] = 'e',  [EDITOR_EVENT_EDIT_POST] = 'E',   [EDITOR_EVENT_SAVE_PRE] = 's',
        [EDITOR_EVENT_SAVE_POST] = 'S', [EDITOR_EVENT_BUFFER_CLOSE] = 'x'};
    size_t n = strlen(events);
    if (n + 1 < sizeof events) {
        events[n] = letters[ev];
        events[n + 1] = 0;
    }
}

static void test_editor_events_reach_the_model_layer_typed(void **state)
{
    (void)state;
    char p[300];
    snprintf(p, sizeof p, "%s/events.txt", dir);
    write_text(p, "abc\n");
    editor *ed = new_editor("default");
    assert_true(editor_open(ed, p));
    editor_set_model_hook(ed, hook, event_hook, &hook_calls);
    events[0] = 0;
    keys(ed, "x"); /* typed text: edit-pre, then key */
    assert_string_equal(events, "ek");
    events[0] = 0;
    keys(ed, "C-r"); /* a model key does not end a continuation */
    assert_string_equal(events, "e");
    events[0] = 0;
    keys(ed, "Esc"); /* cancel reaches the model, not as a key */
    assert_string_equal(events, "ec");
    events[0] = 0;
    keys(ed, "C-z");
    assert_string_equal(events, "eku");
    events[0] = 0;
    keys(ed, "x C-s");
    assert_string_equal(events, "ekeksS");
    events[0] = 0;
    editor_close_buffer(ed, 0);
    assert_string_equal(events, "x");
    editor_free(ed);
    hook_calls = 0;
}

/* Closing help (Esc or the help key again) goes back to the buffer help was opened from, not to
 * the last one open. */
static void test_editor_closing_help_returns_to_its_buffer(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    const char *names[] = {"a.txt", "b.txt", "c.txt"};
    for (int i = 0; i < 3; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        write_text(p, names[i]);
        assert_true(editor_open(ed, p));
    }
    editor_select_buffer(ed, 0);
    keys(ed, "C-g");
    assert_true(editor_buffer(ed)->is_help);
    keys(ed, "Esc");
    assert_string_equal(buffer_name(editor_buffer(ed)), "a.txt");
    editor_select_buffer(ed, 1);
    keys(ed, "C-g C-g"); /* the help key closes it too */
    assert_string_equal(buffer_name(editor_buffer(ed)), "b.txt");
    /* the buffer it came from was closed meanwhile: another one is shown */
    keys(ed, "C-g");
    editor_close_buffer(ed, 1);
    keys(ed, "Esc");
    assert_false(editor_buffer(ed)->is_help);
    assert_int_equal(editor_n_buffers(ed), 2);
    editor_free(ed);
}

static bool hook_eat_cancel(editor *ed, const char *name, void *ctx)
{
    (void)ed;
    (*(int *)ctx)++;
    return strcmp(name, "cancel") == 0;
}

static void test_editor_command_hook_sees_and_can_consume_commands(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    text *t = text_new();
    text_insert(t, 0, "abc", 3);
    editor_open_text(ed, t, "h");
    int seen = 0;
    ed->command_hook = hook_eat_cancel;
    ed->command_hook_ctx = &seen;
    keys(ed, "S-Right Esc");
    assert_int_equal(seen, 2);
    size_t s, e;
    assert_true(buffer_selection(editor_buffer(ed), &s, &e)); /* cancel was consumed */
    ed->command_hook = NULL;
    keys(ed, "Esc");
    assert_false(buffer_selection(editor_buffer(ed), &s, &e));
    editor_free(ed);
}

static void test_editor_line_cache_matches_counting(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    editor_open_text(ed, text_new(), "c");
    buffer *b = editor_buffer(ed);
    srand(7);
    for (int i = 0; i < 400; i++) {
        size_t size = text_size(b->text);
        size_t pos = size ? (size_t)rand() % (size + 1) : 0;
        if (rand() % 3 == 0 && size > 0) {
            size_t len = 1 + (size_t)rand() % 5;
            if (pos + len > size) len = size - pos;
            buffer_delete(b, pos, len);
        } else {
            const char *ins[] = {"a", "\n", "b\nc", "\n\n"};
            const char *s = ins[rand() % 4];
            buffer_insert(b, pos, s, strlen(s), NULL);
        }
        if (rand() % 5 == 0) {
            text_snapshot(b->text);
            keys(ed, "C-z");
        }
        size_t q = (size_t)rand() % (text_size(b->text) + 1);
        assert_int_equal(buffer_line_of(b, q), view_count_lines(b->text, 0, q));
    }
    editor_free(ed);
}

static void test_editor_help_lists_active_bindings(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    editor_open_text(ed, text_new(), "x");
    keys(ed, "C-g");
    buffer *b = editor_buffer(ed);
    assert_true(b->is_help);
    char *s = buf_contents(ed);
    assert_non_null(strstr(s, "C-s"));
    assert_non_null(strstr(s, "save"));
    assert_non_null(strstr(s, "model-infill"));
    /* commands without a key: the general ones, not those only vi's modes use */
    assert_non_null(strstr(s, "row-end"));
    assert_null(strstr(s, "mode-change-word"));
    assert_null(strstr(s, "vi-bigword-left"));
    assert_null(strstr(s, "mode-visual-line"));
    free(s);
    type(ed, "zz"); /* read-only */
    assert_false(text_modified(b->text));
    keys(ed, "Esc");
    assert_false(editor_buffer(ed)->is_help);
    assert_int_equal(ed->n_bufs, 1);
    editor_free(ed);
}

/* Rows shown from top to the end of the text, at most a screen. */
static int rows_to_end(editor *ed)
{
    buffer *b = editor_buffer(ed);
    view_opts o = editor_view_opts(ed);
    view_row row;
    assert_true(view_row_init(&row, o.width));
    size_t p = b->top;
    int r = 0;
    while (r < editor_text_rows(ed)) {
        size_t next = view_row_layout(b->text, p, &o, &row);
        r++;
        if (row.last) break;
        p = next;
    }
    view_row_release(&row);
    return r;
}

/* PageDown on the help screen stops with the help's last line on the screen's last row. */
static void test_editor_help_page_down_stops_at_the_end(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    editor_open_text(ed, text_new(), "x");
    keys(ed, "C-g");
    buffer *b = editor_buffer(ed);
    assert_true(b->is_help);
    assert_true(buffer_line_of(b, text_size(b->text)) > (size_t)(3 * editor_text_rows(ed)));
    /* to the end (however long the help is), then a few more presses that stay there */
    int extra = 0;
    for (int i = 0; i < 1000 && extra < 3; i++) {
        extra += b->cursor == text_size(b->text);
        keys(ed, "PageDown");
        assert_true(draw_frame(ed));
        assert_int_equal(rows_to_end(ed), editor_text_rows(ed)); /* the screen stays full */
    }
    assert_int_equal(extra, 3);
    assert_int_equal(b->cursor, text_size(b->text));
    editor_free(ed);
}

static void test_editor_several_buffers(void **state)
{
    (void)state;
    char p[300], q[300];
    snprintf(p, sizeof p, "%s/one.txt", dir);
    snprintf(q, sizeof q, "%s/two.txt", dir);
    write_text(p, "one\n");
    write_text(q, "two\n");
    editor *ed = new_editor("default");
    editor_open(ed, p);
    editor_open(ed, q);
    assert_int_equal(ed->n_bufs, 2);
    assert_string_equal(editor_buffer(ed)->name, "two.txt");
    keys(ed, "M-.");
    assert_string_equal(editor_buffer(ed)->name, "one.txt");
    type(ed, "x");
    keys(ed, "C-w");
    assert_int_equal(ed->prompt, PROMPT_CLOSE);
    keys(ed, "n");
    assert_int_equal(ed->n_bufs, 1);
    assert_string_equal(editor_buffer(ed)->name, "two.txt");
    assert_string_equal(read_text(p), "one\n");
    editor_free(ed);
}

static void test_editor_paste_into_find_prompt(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    text *t = text_new();
    text_insert(t, 0, "alpha beta", 10);
    editor_open_text(ed, t, "p");
    keys(ed, "C-f");
    editor_paste(ed, "be\nta", 5); /* control bytes are dropped from prompts */
    assert_string_equal(ed->input, "beta");
    keys(ed, "Enter");
    size_t s, e;
    assert_true(buffer_selection(editor_buffer(ed), &s, &e));
    assert_int_equal(s, 6);
    editor_free(ed);
}

static void test_editor_base64_for_osc52(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(editor_base64("Man", 3, out, sizeof out), 4);
    assert_string_equal(out, "TWFu");
    editor_base64("Ma", 2, out, sizeof out);
    assert_string_equal(out, "TWE=");
    editor_base64("M", 1, out, sizeof out);
    assert_string_equal(out, "TQ==");
    editor_base64("\xff\x00\x80", 3, out, sizeof out);
    assert_string_equal(out, "/wCA");
    assert_int_equal(editor_base64("abcdef", 6, out, 8), 0); /* does not fit */
}

static void test_editor_messages_are_sanitised(void **state)
{
    (void)state;
    editor *ed = editor_new();
    editor_message(ed, EDITOR_MSG_ERROR, "bad \x1b]52;c;evil\a name");
    for (const char *p = ed->message; *p; p++) assert_true((unsigned char)*p >= 0x20);
    editor_free(ed);
}

/* The status line's pending keys: a count and the keys of a sequence, then those of a vi command
 * waiting for its character ("3 f") until the character comes. */
static void test_editor_pending_keys_include_a_waiting_character_command(void **state)
{
    (void)state;
    editor *ed = new_editor("vi");
    text *t = text_new();
    assert_int_equal(text_insert(t, 0, "a,b,c,d", 7), TEXT_OK);
    editor_open_text(ed, t, "x");
    char buf[64];
    keys(ed, "d 2");
    assert_string_equal(editor_pending_describe(ed, buf, sizeof buf), "d 2");
    keys(ed, "Esc");
    keys(ed, "2 f");
    assert_string_equal(editor_pending_describe(ed, buf, sizeof buf), "2 f");
    keys(ed, "Comma");
    assert_string_equal(editor_pending_describe(ed, buf, sizeof buf), "");
    assert_int_equal(editor_buffer(ed)->cursor, 3);
    keys(ed, "r");
    assert_string_equal(editor_pending_describe(ed, buf, sizeof buf), "r");
    keys(ed, "Esc"); /* cancels r: nothing replaced, nothing pending */
    assert_string_equal(editor_pending_describe(ed, buf, sizeof buf), "");
    char *got = buf_contents(ed);
    assert_string_equal(got, "a,b,c,d");
    free(got);
    editor_free(ed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_editor_save_writes_file_and_clears_modified, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_new_file_gets_final_newline_on_save, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_asks_before_overwriting_changed_file, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_events_reach_the_model_layer_typed, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_closing_help_returns_to_its_buffer, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_quit_asks_when_modified, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_message_withdraw_takes_back_only_its_own, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_read_only_file_is_marked_and_asks_before_saving,
                                        tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_read_only_file_of_another_user_says_the_owner_changes,
                                        tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_failed_save_as_keeps_the_buffer_name, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_key_at_end_of_long_line_costs_the_screen, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test(test_editor_home_end_take_the_whole_wrapped_line),
        cmocka_unit_test(test_editor_mouse_click_and_drag_select),
        cmocka_unit_test(test_editor_wheel_and_page_keep_cursor_visible),
        cmocka_unit_test(test_editor_model_commands_reach_the_hook),
        cmocka_unit_test(test_editor_command_hook_sees_and_can_consume_commands),
        cmocka_unit_test(test_editor_line_cache_matches_counting),
        cmocka_unit_test(test_editor_help_lists_active_bindings),
        cmocka_unit_test(test_editor_help_page_down_stops_at_the_end),
        cmocka_unit_test_setup_teardown(test_editor_several_buffers, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test(test_editor_paste_into_find_prompt),
        cmocka_unit_test(test_editor_base64_for_osc52),
        cmocka_unit_test(test_editor_messages_are_sanitised),
        cmocka_unit_test(test_editor_pending_keys_include_a_waiting_character_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
