/* test_editor_recovery.c: the editor's recovery files (editor/editor-recovery.c) without a
 * terminal: written by the tick (large ones on a thread, all of them on the signal path), offered
 * on the next open and removed or declined, an unnamed buffer's, failures reported once. */
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

/* A recovery file that cannot be written is reported once (not on every try) while the writes
 * go on; once one works again, the editor says so. */
static void test_editor_recovery_write_failure_reported_once(void **state)
{
    (void)state;
    char p[300], st[300];
    snprintf(p, sizeof p, "%s/doc.txt", dir);
    snprintf(st, sizeof st, "%s/state", dir);
    write_text(p, "text\n");
    write_text(st, "a file where the state folder should be\n");
    editor *ed = new_editor("default");
    assert_true(editor_open(ed, p));
    type(ed, "a");
    editor_tick(ed, 100.0);
    assert_true(ed->message_error);
    assert_non_null(strstr(ed->message, "Cannot write the recovery file"));
    uint64_t serial = ed->message_serial;
    for (int i = 1; i <= 5; i++) {
        type(ed, "b");
        editor_tick(ed, 100.0 + 10.0 * i); /* each one tries again */
    }
    assert_int_equal(ed->message_serial, serial);
    assert_false(file_recovery_exists(p));
    assert_int_equal(unlink(st), 0);
    editor_tick(ed, 200.0);
    assert_true(file_recovery_exists(p));
    assert_false(ed->message_error);
    assert_non_null(strstr(ed->message, "written"));
    editor_free(ed);
}

/* Number of unnamed recovery files in the state folder; the name of the last one in name. */
static int unnamed_recovery_files(char *name, size_t size)
{
    char st[300];
    snprintf(st, sizeof st, "%s/state/bd3ed", dir);
    DIR *d = opendir(st);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, FILE_RECOVERY_UNNAMED, strlen(FILE_RECOVERY_UNNAMED)) == 0) {
            n++;
            if (name) snprintf(name, size, "%s/%s", st, de->d_name);
        }
    closedir(d);
    return n;
}

static void test_editor_unnamed_buffer_recovery_offered_on_next_start(void **state)
{
    (void)state;
    editor *ed = new_editor("default");
    assert_true(editor_open_text(ed, text_new(), "[new]"));
    type(ed, "lost words");
    editor_tick(ed, 100.0);
    char rec[600];
    assert_int_equal(unnamed_recovery_files(rec, sizeof rec), 1);
    char *tail = strrchr(rec, '/') + 1 + strlen(FILE_RECOVERY_UNNAMED);
    assert_int_equal(strtol(tail, NULL, 10), (long)getpid());
    /* an editor still running (this one) keeps its file to itself */
    editor *other = new_editor("default");
    assert_true(editor_open_text(other, text_new(), "[new]"));
    assert_false(editor_offer_unnamed_recovery(other));
    editor_free(other);
    editor_free(ed); /* as if the editor was killed */

    /* the same file as left by a process that has ended */
    pid_t child = fork();
    if (child == 0) _exit(0);
    assert_true(child > 0);
    waitpid(child, NULL, 0);
    char dead[700];
    snprintf(dead, sizeof dead, "%.*s%ld%s", (int)(tail - rec), rec, (long)child, strchr(tail, '-'));
    assert_int_equal(rename(rec, dead), 0);

    ed = new_editor("default");
    assert_true(editor_open_text(ed, text_new(), "[new]"));
    assert_true(editor_offer_unnamed_recovery(ed));
    assert_int_equal(ed->prompt, PROMPT_RECOVER);
    keys(ed, "y");
    char *s = buf_contents(ed);
    assert_string_equal(s, "lost words");
    free(s);
    assert_int_equal(unnamed_recovery_files(NULL, 0), 1); /* now this buffer's */
    assert_true(access(dead, F_OK) != 0);
    keys(ed, "C-q n"); /* quit without saving */
    assert_true(ed->quit);
    assert_int_equal(unnamed_recovery_files(NULL, 0), 0);
    editor_free(ed);
}

static void test_editor_recovery_written_offered_and_removed(void **state)
{
    (void)state;
    char p[300];
    snprintf(p, sizeof p, "%s/rec.txt", dir);
    write_text(p, "on disk\n");
    editor *ed = new_editor("default");
    assert_true(editor_open(ed, p));
    editor_tick(ed, 100.0);
    assert_false(file_recovery_exists(p)); /* not modified: nothing written */
    type(ed, "unsaved ");
    editor_tick(ed, 101.0);
    assert_true(file_recovery_exists(p));
    editor_free(ed); /* as if the editor was killed */

    ed = new_editor("default");
    assert_true(editor_open(ed, p));
    assert_int_equal(ed->prompt, PROMPT_RECOVER);
    keys(ed, "y");
    char *s = buf_contents(ed);
    assert_string_equal(s, "unsaved on disk\n");
    free(s);
    assert_true(text_modified(editor_buffer(ed)->text));
    keys(ed, "C-z"); /* undo returns to the file on disk */
    s = buf_contents(ed);
    assert_string_equal(s, "on disk\n");
    free(s);
    keys(ed, "C-y C-s");
    assert_false(file_recovery_exists(p));
    assert_string_equal(read_text(p), "unsaved on disk\n");
    editor_free(ed);
}

/* An earlier version's recovery file whose name fits two files on disk ("x%y" and "x/y") is
 * not offered on opening either; the editor says where it is and which other file it may be
 * of, and leaves it. */
static void test_editor_recovery_of_two_readings_is_reported_not_offered(void **state)
{
    (void)state;
    char sub[300], slash[300], pct[300], st[300], rec[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/x", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(slash, sizeof slash, "%s/x/y", dir);
    snprintf(pct, sizeof pct, "%s/x%%y", dir);
    write_text(slash, "x/y on disk\n");
    write_text(pct, "x%y on disk\n");
    snprintf(st, sizeof st, "%s/state", dir);
    mkdir(st, 0700);
    snprintf(st, sizeof st, "%s/state/bd3ed", dir);
    mkdir(st, 0700);
    size_t n = (size_t)snprintf(rec, sizeof rec, "%s/", st);
    for (const char *c = slash; *c; c++) rec[n++] = *c == '/' ? '%' : *c; /* the earlier name */
    rec[n] = 0;
    write_text(rec, "whose text?\n");
    for (int i = 0; i < 2; i++) {
        editor *ed = new_editor("default");
        assert_true(editor_open(ed, i ? pct : slash));
        assert_int_equal(ed->prompt, PROMPT_NONE);
        assert_non_null(strstr(ed->message, "left by an earlier version"));
        assert_non_null(strstr(ed->message, i ? slash : pct));
        keys(ed, "C-q");
        editor_free(ed);
        assert_string_equal(read_text(rec), "whose text?\n");
    }
}

static void test_editor_recovery_declined_is_removed(void **state)
{
    (void)state;
    char p[300];
    snprintf(p, sizeof p, "%s/decline.txt", dir);
    write_text(p, "disk\n");
    text *t = text_new();
    text_insert(t, 0, "recovered\n", 10);
    assert_int_equal(file_recovery_write(t, p, NULL), FILE_OK);
    text_free(t);
    editor *ed = new_editor("default");
    assert_true(editor_open(ed, p));
    assert_int_equal(ed->prompt, PROMPT_RECOVER);
    keys(ed, "Esc");
    assert_int_equal(ed->prompt, PROMPT_NONE);
    assert_false(file_recovery_exists(p));
    char *s = buf_contents(ed);
    assert_string_equal(s, "disk\n");
    free(s);
    editor_free(ed);
}

/* An earlier version's recovery file (named after the path with '/' written as '%', the text
 * alone) is offered on open like any left over: y restores it and it becomes this editor's;
 * saving then leaves none behind. */
static void test_editor_recovery_of_an_earlier_version_offered(void **state)
{
    (void)state;
    char p[300], st[300], old[700];
    snprintf(p, sizeof p, "%s/earlier.txt", dir);
    write_text(p, "disk\n");
    snprintf(st, sizeof st, "%s/state", dir);
    mkdir(st, 0700);
    snprintf(st, sizeof st, "%s/state/bd3ed", dir);
    mkdir(st, 0700);
    int n = snprintf(old, sizeof old, "%s/", st);
    for (const char *c = p; *c; c++) old[n++] = *c == '/' ? '%' : *c;
    old[n] = 0;
    write_text(old, "written before a crash\n");
    editor *ed = new_editor("default");
    assert_true(editor_open(ed, p));
    assert_int_equal(ed->prompt, PROMPT_RECOVER);
    keys(ed, "y");
    char *s = buf_contents(ed);
    assert_string_equal(s, "written before a crash\n");
    free(s);
    assert_true(access(old, F_OK) != 0);
    assert_true(file_recovery_exists(p)); /* now this editor's, in this version's form */
    keys(ed, "C-s");
    assert_false(file_recovery_exists(p));
    assert_string_equal(read_text(p), "written before a crash\n");
    editor_free(ed);
}

static void test_editor_recovery_all_on_signal_path(void **state)
{
    (void)state;
    char p[300];
    snprintf(p, sizeof p, "%s/sig.txt", dir);
    editor *ed = new_editor("default");
    assert_true(editor_open(ed, p)); /* a new file */
    type(ed, "never saved");
    editor_recovery_write_all(ed);
    assert_true(file_recovery_exists(p));
    text *r = NULL;
    assert_int_equal(file_recovery_load(p, &r, NULL), FILE_OK);
    assert_int_equal(text_size(r), 11);
    text_free(r);
    keys(ed, "C-q n"); /* discarding on quit removes it */
    assert_false(file_recovery_exists(p));
    editor_free(ed);
}

static void test_editor_large_recovery_written_on_a_thread(void **state)
{
    (void)state;
    char p[300];
    snprintf(p, sizeof p, "%s/large.txt", dir);
    size_t n = EDITOR_RECOVERY_ASYNC_MIN + 1000;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++) big[i] = i % 64 == 63 ? '\n' : 'a';
    big[n] = 0;
    write_text(p, big);
    editor *ed = new_editor("default");
    assert_true(editor_open(ed, p));
    type(ed, "edit ");
    editor_tick(ed, 10.0);
    assert_non_null(ed->rec_job);
    type(ed, "more "); /* editing goes on while it writes */
    editor_recovery_wait(ed);
    assert_null(ed->rec_job);
    assert_true(editor_buffer(ed)->rec_written);
    text *r = NULL;
    assert_int_equal(file_recovery_load(p, &r, NULL), FILE_OK);
    assert_int_equal(text_size(r), n + 5); /* the state when the write began */
    char head[5];
    text_read(r, 0, 5, head);
    assert_memory_equal(head, "edit ", 5);
    text_free(r);
    editor_tick(ed, 11.0); /* too soon for the next write */
    assert_null(ed->rec_job);
    editor_tick(ed, 13.0);
    assert_non_null(ed->rec_job);
    keys(ed, "C-q n"); /* waits for the writer, then removes the file */
    assert_true(ed->quit);
    assert_false(file_recovery_exists(p));
    editor_free(ed);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_editor_recovery_written_offered_and_removed, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_recovery_of_two_readings_is_reported_not_offered,
                                        tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_recovery_declined_is_removed, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_recovery_of_an_earlier_version_offered, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_recovery_write_failure_reported_once, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_recovery_all_on_signal_path, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_large_recovery_written_on_a_thread, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_editor_unnamed_buffer_recovery_offered_on_next_start,
                                        tmpdir_setup, tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
