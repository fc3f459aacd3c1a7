/* test_file_recovery.c: recovery files of unsaved changes (editor/file-recovery.c): one per editor
 * instance, names that never collide, the same file by two paths, pids reused, recovery files of
 * earlier versions offered, discarded and kept. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>
#include "file.h"
#include "tmpdir.h"

static void test_file_recovery_round_trip_and_removal(void **state)
{
    (void)state;
    char p[PATH_MAX], rec[PATH_MAX];
    path_in(p, "doc.txt");
    assert_true(file_recovery_path(p, rec, sizeof rec));
    assert_non_null(strstr(rec, "/state/bd3ed/"));
    assert_null(strchr(strstr(rec, "/state/bd3ed/") + 13, '/'));
    assert_false(file_recovery_exists(p));
    text *t = text_new();
    text_insert(t, 0, "unsaved\0work", 12);
    assert_int_equal(file_recovery_write(t, p, NULL), FILE_OK);
    assert_true(file_recovery_exists(p));
    struct stat st;
    assert_int_equal(stat(rec, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);
    text *r = NULL;
    assert_int_equal(file_recovery_load(p, &r, NULL), FILE_OK);
    char buf[12];
    assert_int_equal(text_read(r, 0, 12, buf), 12);
    assert_memory_equal(buf, "unsaved\0work", 12);
    file_recovery_remove(p);
    assert_false(file_recovery_exists(p));
    text_free(r);
    r = NULL;
    assert_int_equal(file_recovery_load(p, &r, NULL), FILE_E_NONE);
    assert_null(r);
    text_free(t);
}

static text *text_of(const char *s)
{
    text *t = text_new();
    assert_non_null(t);
    assert_int_equal(text_insert(t, 0, s, strlen(s)), TEXT_OK);
    return t;
}

static void assert_text(const text *t, const char *want)
{
    size_t n = strlen(want);
    assert_int_equal(text_size(t), n);
    char *b = malloc(n + 1);
    text_read(t, 0, n, b);
    assert_memory_equal(b, want, n);
    free(b);
}

static void assert_recovers(const char *path, const char *want)
{
    text *r = NULL;
    assert_int_equal(file_recovery_load(path, &r, NULL), FILE_OK);
    assert_text(r, want);
    text_free(r);
}

static void test_file_recovery_names_never_collide(void **state)
{
    (void)state;
    char sub[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
    path_in(sub, "x");
    assert_int_equal(mkdir(sub, 0700), 0);
    path_in(a, "x/y.txt");
    path_in(b, "x%y.txt");
    text *ta = text_of("text of x/y"), *tb = text_of("text of x%y");
    assert_int_equal(file_recovery_write(ta, a, NULL), FILE_OK);
    assert_int_equal(file_recovery_write(tb, b, NULL), FILE_OK);
    char ra[PATH_MAX], rb[PATH_MAX];
    assert_true(file_recovery_path(a, ra, sizeof ra));
    assert_true(file_recovery_path(b, rb, sizeof rb));
    assert_string_not_equal(ra, rb);
    assert_recovers(a, "text of x/y");
    assert_recovers(b, "text of x%y");
    /* a file under the name of a's recovery file that names another path is never offered */
    FILE *f = fopen(ra, "wb");
    assert_non_null(f);
    fputs("bd3ed recovery 1\npath 4\n/etc\nnot for a", f);
    fclose(f);
    assert_false(file_recovery_exists(a));
    text *r = NULL;
    assert_int_equal(file_recovery_load(a, &r, NULL), FILE_E_NONE);
    assert_null(r);
    text_free(ta);
    text_free(tb);
}

static void test_file_recovery_same_file_by_two_paths(void **state)
{
    (void)state;
    char sub[PATH_MAX], cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    path_in(sub, "sub");
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(chdir(sub), 0);
    text *t = text_of("edited as ../k2.txt");
    assert_int_equal(file_recovery_write(t, "../k2.txt", NULL), FILE_OK);
    assert_int_equal(chdir(dir), 0);
    assert_true(file_recovery_exists("k2.txt"));
    assert_true(file_recovery_exists("./sub/../k2.txt"));
    assert_recovers("k2.txt", "edited as ../k2.txt");
    /* a symbolic link to it shares it too, once the file exists */
    char k2[PATH_MAX], ln[PATH_MAX];
    path_in(k2, "k2.txt");
    path_in(ln, "link.txt");
    write_file(k2, "on disk", 7);
    assert_int_equal(symlink("k2.txt", ln), 0);
    assert_true(file_recovery_exists(ln));
    assert_int_equal(chdir(cwd), 0);
    text_free(t);
}

static void test_file_recovery_of_a_path_longer_than_name_max(void **state)
{
    (void)state;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", dir);
    for (int i = 0; i < 4; i++) { /* four folders of 100 bytes: a path of over 400 bytes */
        size_t n = strlen(p);
        p[n] = '/';
        memset(p + n + 1, 'a' + i, 100);
        p[n + 101] = 0;
        assert_int_equal(mkdir(p, 0700), 0);
    }
    strcat(p, "/file.txt");
    assert_true(strlen(p) > NAME_MAX);
    text *t = text_of("deep");
    assert_int_equal(file_recovery_write(t, p, NULL), FILE_OK);
    assert_true(file_recovery_exists(p));
    assert_recovers(p, "deep");
    text_free(t);
}

/* Another editor process on the same file: it keeps its own recovery file, which this one's
 * save (removal) never deletes; once it is gone, its text is offered. */
static void test_file_recovery_per_editor(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "shared.txt");
    write_file(p, "disk", 4);
    int go[2], ready[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        text *t = text_of("other editor's work");
        char c = file_recovery_write(t, p, NULL) == FILE_OK ? 'y' : 'n';
        (void)!write(ready[1], &c, 1);
        (void)!read(go[0], &c, 1); /* stays running until told */
        _exit(0);
    }
    char c = 0;
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    /* the other editor is running: its file is its own, not offered here */
    assert_false(file_recovery_exists(p));
    long pid = 0;
    assert_int_equal(file_recovery_others(p, &pid), 1);
    assert_int_equal(pid, (long)child);
    text *t = text_of("my work");
    assert_int_equal(file_recovery_write(t, p, NULL), FILE_OK);
    assert_recovers(p, "my work");
    file_recovery_remove(p); /* this editor saved */
    assert_false(file_recovery_exists(p));
    /* the other editor dies (kill -9): its text is there to recover */
    assert_int_equal(write(go[1], "x", 1), 1);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(file_recovery_others(p, NULL), 0);
    assert_true(file_recovery_exists(p));
    assert_recovers(p, "other editor's work"); /* and it becomes this editor's */
    file_recovery_remove(p);
    assert_false(file_recovery_exists(p));
    text_free(t);
    close(go[0]);
    close(go[1]);
    close(ready[0]);
    close(ready[1]);
}

/* A recovery file whose pid now belongs to another process (pid reuse: here pid 1, started at
 * boot, not at the time in the name) is left over: it is offered, not taken as a running
 * editor's. */
static void test_file_recovery_of_a_reused_pid_is_offered(void **state)
{
    (void)state;
    char p[PATH_MAX], rec[PATH_MAX], cut[PATH_MAX], other[PATH_MAX + 32];
    path_in(p, "reused.txt");
    text *t = text_of("left by an editor whose pid was reused");
    assert_int_equal(file_recovery_write(t, p, NULL), FILE_OK);
    assert_true(file_recovery_path(p, rec, sizeof rec));
    /* "file-HASH-PID-START": keep "file-HASH", then pid 1 with a start time it never had */
    snprintf(cut, sizeof cut, "%s", rec);
    *strrchr(cut, '-') = 0;
    *strrchr(cut, '-') = 0;
    snprintf(other, sizeof other, "%s-1-12345", cut);
    assert_int_equal(rename(rec, other), 0);
    assert_int_equal(file_recovery_others(p, NULL), 0);
    assert_true(file_recovery_exists(p));
    assert_recovers(p, "left by an editor whose pid was reused");
    text_free(t);
}

static void test_file_recovery_discard_removes_the_offered_file(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "gone.txt");
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        text *t = text_of("left");
        _exit(file_recovery_write(t, p, NULL) == FILE_OK ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(file_recovery_exists(p));
    file_recovery_remove(p); /* not this editor's: stays */
    assert_true(file_recovery_exists(p));
    file_recovery_discard(p);
    assert_false(file_recovery_exists(p));
}

/* ---- recovery files of earlier versions ---- */

/* Writes text as an earlier version's recovery file of the absolute path abs (its name: abs
 * with every '/' written as '%'; its bytes: the text alone); its path goes into rec. */
static void write_legacy_recovery(const char *abs, const char *bytes, char *rec)
{
    char st[300], name[PATH_MAX];
    snprintf(st, sizeof st, "%s/state", dir);
    mkdir(st, 0700);
    snprintf(st, sizeof st, "%s/state/bd3ed", dir);
    mkdir(st, 0700);
    size_t i = 0;
    for (; abs[i]; i++) name[i] = abs[i] == '/' ? '%' : abs[i];
    name[i] = 0;
    assert_true(snprintf(rec, PATH_MAX, "%s/%s", st, name) < PATH_MAX);
    write_file(rec, bytes, strlen(bytes));
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

/* An earlier version's recovery file is offered for its path (however spelled), kept by a
 * save of this editor, and on recovery becomes this editor's recovery file in this version's
 * form before the old one is removed; one of another path is never touched. */
static void test_file_recovery_of_an_earlier_version_is_offered(void **state)
{
    (void)state;
    char p[PATH_MAX], other[PATH_MAX], rec[PATH_MAX], rec_other[PATH_MAX], mine[PATH_MAX], cwd[PATH_MAX];
    path_in(p, "old.txt");
    path_in(other, "other.txt");
    write_file(p, "disk", 4);
    write_legacy_recovery(p, "text saved by an earlier version", rec);
    write_legacy_recovery(other, "not for old.txt", rec_other);
    assert_true(file_recovery_exists(p));
    assert_int_equal(file_recovery_others(p, NULL), 0);
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    assert_true(file_recovery_exists("old.txt"));
    assert_true(file_recovery_exists("./state/../old.txt"));
    assert_false(file_recovery_exists("new.txt"));
    assert_int_equal(chdir(cwd), 0);
    file_recovery_remove(p); /* this editor saved: not its file, kept */
    assert_true(exists(rec));
    assert_true(file_recovery_exists(p));

    assert_recovers(p, "text saved by an earlier version");
    assert_false(exists(rec));
    assert_true(file_recovery_path(p, mine, sizeof mine));
    size_t n;
    char *b = read_file(mine, &n);
    assert_true(n > 16 && !memcmp(b, "bd3ed recovery 1\n", 17)); /* this version's header */
    free(b);
    assert_recovers(p, "text saved by an earlier version"); /* now from this editor's file */
    assert_true(exists(rec_other));
    assert_recovers(other, "not for old.txt");
}

/* An earlier version's recovery file written under another spelling of the path ("sub/../"
 * from the folder) is the same file's; declining it removes it, and only it. */
static void test_file_recovery_of_an_earlier_version_discarded(void **state)
{
    (void)state;
    char p[PATH_MAX], spelled[PATH_MAX], sub[PATH_MAX], rec[PATH_MAX], rec_other[PATH_MAX], other[PATH_MAX];
    path_in(p, "kept.txt");
    path_in(sub, "sub");
    assert_int_equal(mkdir(sub, 0700), 0);
    path_in(spelled, "sub/../kept.txt");
    path_in(other, "sub/kept.txt");
    write_legacy_recovery(spelled, "spelled another way", rec);
    write_legacy_recovery(other, "a file in sub", rec_other);
    assert_true(file_recovery_exists(p));
    file_recovery_discard(p);
    assert_false(exists(rec));
    assert_false(file_recovery_exists(p));
    assert_true(exists(rec_other));
    assert_true(file_recovery_exists(other));
}

/* Both kinds left over: the newest is offered, the other stays until it is recovered or
 * declined in turn; a folder or link under an old name is never offered. */
static void test_file_recovery_earlier_and_current_both_kept(void **state)
{
    (void)state;
    char p[PATH_MAX], rec[PATH_MAX];
    path_in(p, "both.txt");
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        text *t = text_of("current left over");
        _exit(file_recovery_write(t, p, NULL) == FILE_OK ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(WEXITSTATUS(status), 0);
    write_legacy_recovery(p, "earlier version's", rec);
    struct timespec old[2] = {{.tv_sec = 1000000}, {.tv_sec = 1000000}};
    assert_int_equal(utimensat(AT_FDCWD, rec, old, 0), 0); /* older than the current one */
    assert_recovers(p, "current left over");
    assert_true(exists(rec));
    file_recovery_remove(p); /* saved */
    assert_true(file_recovery_exists(p));
    assert_recovers(p, "earlier version's");
    assert_false(exists(rec));
    file_recovery_remove(p);
    assert_false(file_recovery_exists(p));

    char target[PATH_MAX];
    path_in(target, "target.txt");
    write_file(target, "not a recovery file", 19);
    write_legacy_recovery(p, "", rec);
    assert_int_equal(unlink(rec), 0);
    assert_int_equal(symlink(target, rec), 0);
    assert_false(file_recovery_exists(p));
    file_recovery_discard(p);
    assert_true(exists(target));
}

/* An earlier version's name cannot tell "x%y" from "x/y": while both files are on disk its
 * recovery file is offered for neither, declining either leaves it, and it is reported with
 * the other file; with one of them on disk it is that one's (never the missing one's). */
static void test_file_recovery_of_an_earlier_version_with_two_readings(void **state)
{
    (void)state;
    char sub[PATH_MAX], slash[PATH_MAX], pct[PATH_MAX], rec[PATH_MAX], amb[PATH_MAX], other[PATH_MAX];
    path_in(sub, "x");
    assert_int_equal(mkdir(sub, 0700), 0);
    path_in(slash, "x/y");
    path_in(pct, "x%y");
    write_file(slash, "disk x/y", 8);
    write_file(pct, "disk x%y", 8);
    write_legacy_recovery(slash, "which one?", rec);
    text *r = NULL;
    for (int i = 0; i < 2; i++) {
        const char *p = i ? pct : slash;
        assert_false(file_recovery_exists(p));
        assert_int_equal(file_recovery_load(p, &r, NULL), FILE_E_NONE);
        assert_null(r);
        file_recovery_discard(p);
        assert_true(exists(rec));
        assert_true(file_recovery_ambiguous(p, amb, other));
        assert_string_equal(amb, rec);
        assert_string_equal(other, i ? slash : pct);
    }
    /* only x/y on disk: x%y (a new file) is not offered it, x/y is */
    assert_int_equal(unlink(pct), 0);
    assert_false(file_recovery_exists(pct));
    assert_true(file_recovery_ambiguous(pct, amb, other));
    assert_string_equal(other, slash);
    assert_false(file_recovery_ambiguous(slash, amb, other));
    assert_recovers(slash, "which one?");
    assert_false(exists(rec));
    file_recovery_remove(slash);
    /* only x%y on disk (no folder x): it is x%y's */
    assert_int_equal(unlink(slash), 0);
    assert_int_equal(rmdir(sub), 0);
    write_file(pct, "disk x%y", 8);
    write_legacy_recovery(pct, "for x%y", rec);
    assert_false(file_recovery_ambiguous(pct, amb, other));
    assert_recovers(pct, "for x%y");
    assert_false(exists(rec));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_recovery_round_trip_and_removal, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_names_never_collide, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_same_file_by_two_paths, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_of_a_path_longer_than_name_max, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_per_editor, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_discard_removes_the_offered_file, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_of_a_reused_pid_is_offered, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_of_an_earlier_version_is_offered, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_of_an_earlier_version_discarded, tmpdir_setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_of_an_earlier_version_with_two_readings,
                                        tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_earlier_and_current_both_kept, tmpdir_setup,
                                        tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
