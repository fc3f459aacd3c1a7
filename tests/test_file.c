/* test_file.c: byte-exact load/save round trips, saves that keep what a file is (mode, owner,
 * links, attributes; failures leave the original intact, through link-time wraps), refusal to
 * overwrite a changed or read-only file, non-regular files, per-editor recovery files. */
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

/* fsync replaced (tests/test_file.ldflags) so that a test can make it fail: when fsync_fail
 * is N > 0, the Nth call from then on fails. */
static int fsync_fail;
int __real_fsync(int fd);
int __wrap_fsync(int fd)
{
    if (fsync_fail > 0 && --fsync_fail == 0) {
        errno = EIO;
        return -1;
    }
    return __real_fsync(fd);
}

static char dir[256]; /* the test directory */

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/bd3ed-test-file-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char st[PATH_MAX + 16];
    snprintf(st, sizeof st, "%s/state", dir);
    setenv("XDG_STATE_HOME", st, 1);
    fsync_fail = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *buf, const char *name) { snprintf(buf, PATH_MAX, "%s/%s", dir, name); }

static void write_file(const char *path, const char *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*n + 1);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static int count_entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "state")) n++;
    closedir(d);
    return n;
}

static void round_trip(const char *bytes, size_t n)
{
    char p[PATH_MAX], q[PATH_MAX];
    path_in(p, "in");
    path_in(q, "out");
    write_file(p, bytes, n);
    text *t;
    file_info info;
    assert_int_equal(file_load(p, &t, &info, NULL), FILE_OK);
    assert_true(info.exists);
    assert_int_equal(text_size(t), n);
    file_info oinfo = {0};
    assert_int_equal(file_save(t, q, &oinfo, false, NULL), FILE_OK);
    size_t m;
    char *got = read_file(q, &m);
    assert_int_equal(m, n);
    assert_memory_equal(got, bytes, n);
    free(got);
    text_free(t);
    unlink(q);
}

static void test_file_round_trip_is_byte_exact(void **state)
{
    (void)state;
    static const char hostile[] =
        "NUL\0inside\r\nCRLF\r\n\xff\xfe invalid \xc3( \x1b[2J esc\x80 no final newline";
    round_trip(hostile, sizeof hostile - 1);
    round_trip("", 0);
    size_t n = 5u << 20; /* a 5 MB single line: loaded through mmap */
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = (char)(' ' + i % 90);
    round_trip(big, n);
    free(big);
}

static void test_file_load_fd_reads_past_its_first_buffer(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "stream");
    size_t n = 200000; /* more than the first 64 KiB buffer, so the buffer grows twice */
    char *bytes = malloc(n);
    assert_non_null(bytes);
    for (size_t i = 0; i < n; i++) bytes[i] = (char)(i * 7 % 251);
    write_file(p, bytes, n);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    text *t;
    assert_int_equal(file_load_fd(fd, SIZE_MAX, &t, NULL), FILE_OK);
    close(fd);
    assert_int_equal(text_size(t), n);
    char *got = malloc(n);
    assert_non_null(got);
    assert_int_equal(text_read(t, 0, n, got), n);
    assert_memory_equal(got, bytes, n);
    free(got);
    free(bytes);
    text_free(t);
    unlink(p);
}

static void test_file_missing_file_loads_empty(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "new.txt");
    text *t;
    file_info info;
    assert_int_equal(file_load(p, &t, &info, NULL), FILE_OK);
    assert_false(info.exists);
    assert_int_equal(text_size(t), 0);
    text_insert(t, 0, "x\n", 2);
    assert_int_equal(file_save(t, p, &info, false, NULL), FILE_OK);
    assert_true(info.exists);
    text_free(t);
    int err = 0;
    assert_int_equal(file_load(dir, &t, &info, &err), FILE_E_NOTREG);
}

static void test_file_save_keeps_mode_and_leaves_no_temporary(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "mode.txt");
    write_file(p, "abc", 3);
    chmod(p, 0640);
    text *t;
    file_info info;
    assert_int_equal(file_load(p, &t, &info, NULL), FILE_OK);
    text_insert(t, 3, "def", 3);
    int before = count_entries();
    assert_int_equal(file_save(t, p, &info, false, NULL), FILE_OK);
    assert_int_equal(count_entries(), before);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    size_t n;
    char *b = read_file(p, &n);
    assert_int_equal(n, 6);
    assert_memory_equal(b, "abcdef", 6);
    free(b);
    /* saving again right away is not a "changed on disk" case */
    assert_int_equal(file_save(t, p, &info, false, NULL), FILE_OK);
    text_free(t);
}

static void test_file_failed_save_keeps_original(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "keep.txt");
    write_file(p, "original", 8);
    text *t;
    file_info info;
    assert_int_equal(file_load(p, &t, &info, NULL), FILE_OK);
    text_insert(t, 0, "new ", 4);
    int before = count_entries();
    fsync_fail = 1;
    int err = 0;
    assert_int_equal(file_save(t, p, &info, false, &err), FILE_E_IO);
    fsync_fail = 0;
    assert_int_equal(err, EIO);
    assert_int_equal(count_entries(), before);
    size_t n;
    char *b = read_file(p, &n);
    assert_int_equal(n, 8);
    assert_memory_equal(b, "original", 8);
    free(b);
    text_free(t);
}

static void test_file_refuses_to_overwrite_changed_file(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "changed.txt");
    write_file(p, "one", 3);
    text *t;
    file_info info;
    assert_int_equal(file_load(p, &t, &info, NULL), FILE_OK);
    assert_false(file_changed(p, &info));
    write_file(p, "other writer", 12);
    assert_true(file_changed(p, &info));
    text_insert(t, 0, "mine ", 5);
    assert_int_equal(file_save(t, p, &info, false, NULL), FILE_E_CHANGED);
    size_t n;
    char *b = read_file(p, &n);
    assert_int_equal(n, 12);
    free(b);
    assert_int_equal(file_save(t, p, &info, true, NULL), FILE_OK);
    b = read_file(p, &n);
    assert_int_equal(n, 8);
    assert_memory_equal(b, "mine one", 8);
    free(b);
    /* a file that appeared where none was when opened also counts as changed */
    char q[PATH_MAX];
    path_in(q, "appeared.txt");
    file_info none = {0};
    write_file(q, "x", 1);
    assert_int_equal(file_save(t, q, &none, false, NULL), FILE_E_CHANGED);
    text_free(t);
}

/* Save As onto a folder or a FIFO: refused as not a regular file before any question about
 * overwriting it (there is nothing to overwrite), and nothing there changes. */
static void test_file_save_onto_non_regular_is_refused_first(void **state)
{
    (void)state;
    char d[PATH_MAX], f[PATH_MAX];
    path_in(d, "folder");
    assert_int_equal(mkdir(d, 0700), 0);
    path_in(f, "fifo-target");
    assert_int_equal(mkfifo(f, 0600), 0);
    text *t = text_new();
    assert_non_null(t);
    assert_int_equal(text_insert(t, 0, "words", 5), TEXT_OK);
    file_info none = {0};
    alarm(20);
    assert_int_equal(file_save(t, d, &none, false, NULL), FILE_E_NOTREG);
    assert_int_equal(file_save(t, f, &none, false, NULL), FILE_E_NOTREG);
    assert_int_equal(file_save(t, f, &none, true, NULL), FILE_E_NOTREG);
    alarm(0);
    struct stat st;
    assert_int_equal(stat(d, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(stat(f, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    text_free(t);
}

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

static void test_file_load_fd_reads_pipe(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "from\0stdin", 10), 10);
    close(fds[1]);
    text *t;
    assert_int_equal(file_load_fd(fds[0], SIZE_MAX, &t, NULL), FILE_OK);
    close(fds[0]);
    char buf[10];
    assert_int_equal(text_read(t, 0, 10, buf), 10);
    assert_memory_equal(buf, "from\0stdin", 10);
    text_free(t);
}

/* A file of n bytes of pattern text. */
static void write_pattern(const char *path, size_t n)
{
    char *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) b[i] = (char)('a' + i % 26);
    write_file(path, b, n);
    free(b);
}

static void test_file_ordinary_file_survives_truncation_by_another_program(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "big.txt");
    size_t n = (size_t)3 << 20; /* above the old mmap threshold, below the new one */
    write_pattern(p, n);
    text *t;
    file_info info;
    assert_int_equal(file_load(p, &t, &info, NULL), FILE_OK);
    assert_int_equal(truncate(p, 0), 0);
    char *b = malloc(n);
    assert_non_null(b);
    assert_int_equal(text_read(t, 0, n, b), n);
    assert_int_equal(b[n - 1], (char)('a' + (n - 1) % 26)); /* private memory: all there */
    free(b);
    text_free(t);
}

static void test_file_large_file_is_a_private_copy(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "mapped.txt");
    size_t n = 64 * 1024;
    write_pattern(p, n);
    text *t;
    file_info info;
    /* the path taken for files of FILE_MMAP_MIN bytes and more */
    assert_int_equal(file_load_mmap(p, 4096, &t, &info, NULL), FILE_OK);
    assert_int_equal(text_size(t), n);
    /* another program writes into the file, then truncates it */
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "XXXX", 4, 8192), 4);
    close(fd);
    char *b = malloc(n);
    assert_non_null(b);
    assert_int_equal(text_read(t, 8192, 4, b), 4);
    assert_int_equal(b[0], 'a' + 8192 % 26); /* not the X written there */
    assert_int_equal(truncate(p, 100), 0);
    assert_int_equal(text_read(t, 0, n, b), n);
    for (size_t i = 0; i < n; i++)
        if (b[i] != (char)('a' + i % 26)) fail_msg("byte %zu changed under the open text", i);
    free(b);
    text_free(t);
}

/* Every open in the code under test returns at once: a FIFO with no writer would block a
 * plain open forever (this alarm only turns such a hang into a failure). */
static void test_file_refuses_fifo_and_device_without_blocking(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    alarm(20);
    text *t = NULL;
    file_info info;
    assert_int_equal(file_load(p, &t, &info, NULL), FILE_E_NOTREG);
    assert_null(t);
    assert_int_equal(file_check_regular(p, NULL), FILE_E_NOTREG);
    assert_int_equal(file_load("/dev/zero", &t, &info, NULL), FILE_E_NOTREG);
    assert_int_equal(file_check_regular("/dev/null", NULL), FILE_E_NOTREG);
    int err = 0;
    path_in(p, "none");
    assert_int_equal(file_check_regular(p, &err), FILE_E_IO);
    assert_int_equal(err, ENOENT);
    alarm(0);
}

static void test_file_load_fd_stops_at_its_limit(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char buf[3000];
    memset(buf, 0, sizeof buf);
    assert_int_equal(write(fds[1], buf, sizeof buf), (ssize_t)sizeof buf);
    close(fds[1]);
    text *t = NULL;
    assert_int_equal(file_load_fd(fds[0], 1000, &t, NULL), FILE_E_TOOBIG);
    assert_null(t);
    close(fds[0]);
    /* exactly the limit is fine */
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], buf, 1000), 1000);
    close(fds[1]);
    assert_int_equal(file_load_fd(fds[0], 1000, &t, NULL), FILE_OK);
    assert_int_equal(text_size(t), 1000);
    text_free(t);
    close(fds[0]);
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

/* ---- saving keeps what a file is ---- */

static text *load(const char *p, file_info *info)
{
    text *t;
    assert_int_equal(file_load(p, &t, info, NULL), FILE_OK);
    return t;
}

static void assert_file(const char *p, const char *want)
{
    size_t n;
    char *b = read_file(p, &n);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(b, want, n);
    free(b);
}

/* No safety copy or temporary file is left behind. */
static void assert_no_leftovers(void)
{
    char st[PATH_MAX];
    snprintf(st, sizeof st, "%s/state/bd3ed", dir);
    DIR *d = opendir(st);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (!strncmp(e->d_name, FILE_SAFETY_COPY, strlen(FILE_SAFETY_COPY)))
                fail_msg("safety copy %s left", e->d_name);
        closedir(d);
    }
    d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".bd3ed-")) fail_msg("temporary %s left", e->d_name);
    closedir(d);
}

static void test_file_save_keeps_hard_links(void **state)
{
    (void)state;
    char p[PATH_MAX], q[PATH_MAX];
    path_in(p, "one.txt");
    path_in(q, "two.txt");
    write_file(p, "old", 3);
    assert_int_equal(link(p, q), 0);
    file_info info;
    text *t = load(p, &info);
    text_insert(t, 3, " and new", 8);
    assert_int_equal(file_save(t, p, &info, false, NULL), FILE_OK);
    assert_file(p, "old and new");
    assert_file(q, "old and new");
    struct stat a, b;
    assert_int_equal(stat(p, &a), 0);
    assert_int_equal(stat(q, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_nlink, 2);
    /* shorter text: the rest of the old one is cut */
    text_delete(t, 0, 8);
    assert_int_equal(file_save(t, p, &info, false, NULL), FILE_OK);
    assert_file(q, "new");
    assert_no_leftovers();
    text_free(t);
}

static bool is_root(void)
{
    if (geteuid() == 0) return true;
    print_message("    (not root: ownership case skipped)\n");
    return false;
}

#define OTHER_UID 4242 /* an owner that is not the test's user (no account is needed) */

static void test_file_save_as_root_keeps_owner_and_group(void **state)
{
    (void)state;
    if (!is_root()) return;
    char p[PATH_MAX];
    path_in(p, "theirs.txt");
    write_file(p, "theirs", 6);
    assert_int_equal(chown(p, OTHER_UID, OTHER_UID), 0);
    assert_int_equal(chmod(p, 0640), 0);
    file_info info;
    text *t = load(p, &info);
    text_insert(t, 0, "root edited ", 12);
    assert_int_equal(file_save(t, p, &info, false, NULL), FILE_OK);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_uid, OTHER_UID);
    assert_int_equal(st.st_gid, OTHER_UID);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_file(p, "root edited theirs");
    text_free(t);
}

/* link-time wraps (tests/test_file.ldflags): each fails while its switch is set */
static int fchown_fail, fsetxattr_fail, mkstemp_fail, rename_fail, write_fail_after = -1;
static int write_fail_sticky; /* once write has failed, it keeps failing */
int __real_fchown(int fd, uid_t u, gid_t g);
int __wrap_fchown(int fd, uid_t u, gid_t g)
{
    if (fchown_fail) {
        errno = EPERM;
        return -1;
    }
    return __real_fchown(fd, u, g);
}
int __real_fsetxattr(int fd, const char *name, const void *v, size_t n, int flags);
int __wrap_fsetxattr(int fd, const char *name, const void *v, size_t n, int flags)
{
    if (fsetxattr_fail) {
        errno = EPERM;
        return -1;
    }
    return __real_fsetxattr(fd, name, v, n, flags);
}
int __real_mkstemp(char *tmpl);
int __wrap_mkstemp(char *tmpl)
{
    if (mkstemp_fail) {
        errno = EACCES;
        return -1;
    }
    return __real_mkstemp(tmpl);
}
int __real_rename(const char *a, const char *b);
int __wrap_rename(const char *a, const char *b)
{
    if (rename_fail) {
        errno = EIO;
        return -1;
    }
    return __real_rename(a, b);
}
ssize_t __real_write(int fd, const void *p, size_t n);
ssize_t __wrap_write(int fd, const void *p, size_t n)
{
    if (write_fail_after == 0) {
        if (!write_fail_sticky) write_fail_after = -1;
        errno = ENOSPC;
        return -1;
    }
    if (write_fail_after > 0) {
        if (n > (size_t)write_fail_after) n = (size_t)write_fail_after;
        write_fail_after -= (int)n;
    }
    return __real_write(fd, p, n);
}

static void reset_wraps(void)
{
    fchown_fail = fsetxattr_fail = mkstemp_fail = rename_fail = fsync_fail = write_fail_sticky = 0;
    write_fail_after = -1;
}

static void test_file_save_writes_in_place_when_owner_cannot_be_kept(void **state)
{
    (void)state;
    if (!is_root()) return;
    char p[PATH_MAX];
    path_in(p, "setuid.txt");
    write_file(p, "theirs", 6);
    assert_int_equal(chown(p, OTHER_UID, OTHER_UID), 0);
    assert_int_equal(chmod(p, 0644), 0);
    struct stat before, after;
    assert_int_equal(stat(p, &before), 0);
    file_info info;
    text *t = load(p, &info);
    text_insert(t, 6, " + mine", 7);
    fchown_fail = 1; /* as for a user who may not give the file away */
    assert_int_equal(file_save(t, p, &info, false, NULL), FILE_OK);
    reset_wraps();
    assert_int_equal(stat(p, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_int_equal(after.st_uid, OTHER_UID);
    assert_int_equal(after.st_gid, OTHER_UID);
    assert_file(p, "theirs + mine");
    assert_no_leftovers();
    text_free(t);
}

/* A user saving a read-only setuid file owned by someone else, after confirming: the new
 * file is theirs, so the setuid/setgid bits go. Runs as uid OTHER_UID in a child. */
static void test_file_save_drops_setuid_when_owner_changes(void **state)
{
    (void)state;
    if (!is_root()) return;
    char p[PATH_MAX];
    assert_int_equal(chmod(dir, 0777), 0);
    path_in(p, "prog");
    write_file(p, "#!/bin/sh\n", 10);
    assert_int_equal(chmod(p, 06755), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        if (setgid(OTHER_UID) || setuid(OTHER_UID)) _exit(10);
        setenv("XDG_STATE_HOME", "/nonexistent", 1);
        text *t;
        file_info info;
        if (file_load(p, &t, &info, NULL) != FILE_OK) _exit(11);
        text_insert(t, 10, "echo\n", 5);
        if (file_save(t, p, &info, false, NULL) != FILE_E_READONLY) _exit(12);
        if (file_save_opts(t, p, &info, FILE_SAVE_READONLY, NULL) != FILE_OK) _exit(13);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(WEXITSTATUS(status), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_uid, OTHER_UID);
    assert_int_equal(st.st_mode & 06000, 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    assert_file(p, "#!/bin/sh\necho\n");
}

/* A POSIX ACL (user OTHER_UID may read) in the kernel's xattr form. */
static size_t acl_value(char *v)
{
    struct {
        uint16_t tag, perm;
        uint32_t id;
    } e[] = {{0x01, 6, 0xffffffff},
             {0x02, 4, OTHER_UID},
             {0x04, 4, 0xffffffff},
             {0x10, 4, 0xffffffff},
             {0x20, 4, 0xffffffff}};
    uint32_t version = 2;
    memcpy(v, &version, 4);
    memcpy(v + 4, e, sizeof e);
    return 4 + sizeof e;
}

static void test_file_save_keeps_xattrs_and_acl(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "attrs.txt");
    write_file(p, "x", 1);
    if (setxattr(p, "user.bd3ed.test", "kept", 4, 0) < 0) {
        print_message("    (no user xattrs on this file system: skipped)\n");
        return;
    }
    char acl[64];
    size_t al = acl_value(acl);
    bool have_acl = setxattr(p, "system.posix_acl_access", acl, al, 0) == 0;
    if (!have_acl) print_message("    (no POSIX ACLs here: ACL part skipped)\n");
    for (int wrap = 0; wrap < 2; wrap++) {
        file_info info;
        text *t = load(p, &info);
        text_insert(t, 0, "y", 1);
        struct stat before, after;
        assert_int_equal(stat(p, &before), 0);
        fsetxattr_fail = wrap; /* an attribute that cannot be set on a new file: in place */
        assert_int_equal(file_save(t, p, &info, false, NULL), FILE_OK);
        reset_wraps();
        assert_int_equal(stat(p, &after), 0);
        if (wrap) assert_int_equal(after.st_ino, before.st_ino);
        char v[64];
        assert_int_equal(getxattr(p, "user.bd3ed.test", v, sizeof v), 4);
        assert_memory_equal(v, "kept", 4);
        if (have_acl) {
            ssize_t n = getxattr(p, "system.posix_acl_access", v, sizeof v);
            assert_int_equal(n, (ssize_t)al);
            assert_memory_equal(v, acl, al);
        }
        text_free(t);
    }
    assert_no_leftovers();
}

static void test_file_save_refuses_read_only_file_until_confirmed(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "ro.txt");
    write_file(p, "keep me", 7);
    assert_int_equal(chmod(p, 0444), 0);
    file_info info;
    text *t = load(p, &info);
    text_insert(t, 0, "x", 1);
    assert_int_equal(file_save(t, p, &info, false, NULL), FILE_E_READONLY);
    assert_int_equal(file_save(t, p, &info, true, NULL), FILE_E_READONLY);
    assert_file(p, "keep me");
    char msg[512];
    file_save_message(FILE_E_READONLY, 0, p, NULL, msg, sizeof msg);
    assert_non_null(strstr(msg, "read-only"));
    assert_int_equal(file_save_opts(t, p, &info, FILE_SAVE_READONLY, NULL), FILE_OK);
    assert_file(p, "xkeep me");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0444);
    text_free(t);
}

static void test_file_save_in_read_only_folder(void **state)
{
    (void)state;
    char p[PATH_MAX], q[PATH_MAX];
    path_in(p, "w.txt");
    path_in(q, "new.txt");
    write_file(p, "old", 3);
    struct stat before, after;
    assert_int_equal(stat(p, &before), 0);
    file_info info;
    text *t = load(p, &info);
    text_insert(t, 3, "er", 2);
    mkstemp_fail = 1; /* the folder takes no new file (EACCES) */
    assert_int_equal(file_save(t, p, &info, false, NULL), FILE_OK);
    assert_file(p, "older");
    assert_int_equal(stat(p, &after), 0);
    assert_int_equal(after.st_ino, before.st_ino);
    file_info none = {0};
    int err = 0;
    file_status s = file_save(t, q, &none, false, &err);
    reset_wraps();
    assert_int_equal(s, FILE_E_DIR);
    char msg[PATH_MAX + 256];
    file_save_message(s, err, q, NULL, msg, sizeof msg);
    assert_non_null(strstr(msg, dir));
    assert_non_null(strstr(msg, "folder"));
    assert_no_leftovers();
    text_free(t);
}

static void test_file_failed_in_place_write_puts_old_text_back(void **state)
{
    (void)state;
    char p[PATH_MAX], q[PATH_MAX];
    path_in(p, "a.txt");
    path_in(q, "b.txt");
    write_file(p, "the old text", 12);
    assert_int_equal(link(p, q), 0); /* in place */
    file_info info;
    text *t = load(p, &info);
    text_insert(t, 0, "a much longer new text replacing ", 33);
    for (int how = 0; how < 2; how++) {
        int err = 0;
        /* disk full after the safety copy (12 bytes) and 10 bytes of the new text, or fsync */
        if (how == 0)
            write_fail_after = 12 + 10;
        else
            fsync_fail = 2; /* the safety copy's fsync works, the file's fails */
        char copy[PATH_MAX];
        file_status s = file_save_report(t, p, &info, 0, copy, sizeof copy, &err);
        reset_wraps();
        assert_int_equal(s, FILE_E_IO);
        assert_int_equal(err, how == 0 ? ENOSPC : EIO);
        assert_string_equal(copy, "");
        assert_file(q, "the old text");
    }
    assert_no_leftovers();
    /* when even putting the old text back fails, the safety copy stays and is named */
    write_fail_after = 12 + 10;
    write_fail_sticky = 1;
    char copy[PATH_MAX], msg[2 * PATH_MAX];
    int err = 0;
    file_status s = file_save_report(t, p, &info, 0, copy, sizeof copy, &err);
    reset_wraps();
    assert_int_equal(s, FILE_E_IO);
    assert_non_null(strstr(copy, FILE_SAFETY_COPY));
    assert_file(copy, "the old text");
    file_save_message(s, err, p, copy, msg, sizeof msg);
    assert_non_null(strstr(msg, copy));
    text_free(t);
}

static void test_file_failed_rename_keeps_original(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "r.txt");
    write_file(p, "original", 8);
    file_info info;
    text *t = load(p, &info);
    text_insert(t, 0, "new ", 4);
    rename_fail = 1;
    int err = 0;
    assert_int_equal(file_save(t, p, &info, false, &err), FILE_E_IO);
    reset_wraps();
    assert_int_equal(err, EIO);
    assert_file(p, "original");
    assert_no_leftovers();
    text_free(t);
}

static void test_file_save_writes_through_dangling_symlink(void **state)
{
    (void)state;
    char p[PATH_MAX], target[PATH_MAX];
    path_in(p, "link");
    path_in(target, "target.txt");
    assert_int_equal(symlink("target.txt", p), 0);
    file_info info;
    text *t = load(p, &info);
    assert_false(info.exists);
    text_insert(t, 0, "through", 7);
    assert_int_equal(file_save(t, p, &info, false, NULL), FILE_OK);
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_file(target, "through");
    text_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_round_trip_is_byte_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_missing_file_loads_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_load_fd_reads_past_its_first_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_save_keeps_mode_and_leaves_no_temporary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_failed_save_keeps_original, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_save_onto_non_regular_is_refused_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_refuses_to_overwrite_changed_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_round_trip_and_removal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_load_fd_reads_pipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_ordinary_file_survives_truncation_by_another_program, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_large_file_is_a_private_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_refuses_fifo_and_device_without_blocking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_load_fd_stops_at_its_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_names_never_collide, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_same_file_by_two_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_of_a_path_longer_than_name_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_per_editor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_discard_removes_the_offered_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_of_a_reused_pid_is_offered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_of_an_earlier_version_is_offered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_of_an_earlier_version_discarded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_earlier_and_current_both_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_save_keeps_hard_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_save_as_root_keeps_owner_and_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_save_writes_in_place_when_owner_cannot_be_kept, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_save_drops_setuid_when_owner_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_save_keeps_xattrs_and_acl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_save_refuses_read_only_file_until_confirmed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_save_in_read_only_folder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_failed_in_place_write_puts_old_text_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_failed_rename_keeps_original, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_save_writes_through_dangling_symlink, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
