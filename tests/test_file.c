/* test_file.c: byte-exact load/save round trips, saves that keep what a file is (mode, owner,
 * links, attributes; failures leave the original intact, through link-time wraps), refusal to
 * overwrite a changed or read-only file, non-regular files (recovery files: test_file_recovery.c). */
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

/* before each test: a fresh folder, no fsync failing */
static int setup(void **state)
{
    fsync_fail = 0;
    return tmpdir_setup(state);
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

/* Forks a child that runs as uid and gid OTHER_UID with no recovery folder (it exits 10 when
 * it cannot switch); returns the child's pid in the parent, 0 in the child. */
static pid_t fork_as_other_user(void)
{
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        if (setgid(OTHER_UID) || setuid(OTHER_UID)) _exit(10);
        setenv("XDG_STATE_HOME", "/nonexistent", 1);
    }
    return child;
}

/* Waits for a child of fork_as_other_user and checks that it exited with 0. */
static void assert_child_ok(pid_t child)
{
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
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
    pid_t child = fork_as_other_user();
    if (child == 0) {
        text *t;
        file_info info;
        if (file_load(p, &t, &info, NULL) != FILE_OK) _exit(11);
        text_insert(t, 10, "echo\n", 5);
        if (file_save(t, p, &info, false, NULL) != FILE_E_READONLY) _exit(12);
        if (file_save_opts(t, p, &info, FILE_SAVE_READONLY, NULL) != FILE_OK) _exit(13);
        _exit(0);
    }
    assert_child_ok(child);
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

/* A confirmed save of another user's read-only file in a folder this user cannot write can
 * neither replace nor rewrite it: it fails naming the folder, not as "read-only" again (which
 * the editor would answer with the same question forever). Runs as uid OTHER_UID in a child. */
static void test_file_confirmed_read_only_save_in_locked_folder_names_folder(void **state)
{
    (void)state;
    if (!is_root()) return;
    char p[PATH_MAX];
    assert_int_equal(chmod(dir, 0755), 0);
    path_in(p, "roots.txt");
    write_file(p, "root's", 6);
    assert_int_equal(chmod(p, 0644), 0);
    pid_t child = fork_as_other_user();
    if (child == 0) {
        text *t;
        file_info info;
        if (file_load(p, &t, &info, NULL) != FILE_OK) _exit(11);
        text_insert(t, 0, "x", 1);
        if (file_save(t, p, &info, false, NULL) != FILE_E_READONLY) _exit(12);
        int err = 0;
        if (file_save_opts(t, p, &info, FILE_SAVE_READONLY, &err) != FILE_E_DIR) _exit(13);
        char msg[PATH_MAX + 256];
        file_save_message(FILE_E_DIR, err, p, NULL, msg, sizeof msg);
        if (!strstr(msg, dir) || !strstr(msg, "folder")) _exit(14);
        _exit(0);
    }
    assert_child_ok(child);
    assert_file(p, "root's");
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
        cmocka_unit_test_setup_teardown(test_file_round_trip_is_byte_exact, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_missing_file_loads_empty, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_load_fd_reads_past_its_first_buffer, setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_save_keeps_mode_and_leaves_no_temporary, setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_failed_save_keeps_original, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_save_onto_non_regular_is_refused_first, setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_refuses_to_overwrite_changed_file, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_load_fd_reads_pipe, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_ordinary_file_survives_truncation_by_another_program, setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_large_file_is_a_private_copy, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_refuses_fifo_and_device_without_blocking, setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_load_fd_stops_at_its_limit, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_save_keeps_hard_links, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_save_as_root_keeps_owner_and_group, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_save_writes_in_place_when_owner_cannot_be_kept, setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_save_drops_setuid_when_owner_changes, setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_save_keeps_xattrs_and_acl, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_save_refuses_read_only_file_until_confirmed, setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_save_in_read_only_folder, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_confirmed_read_only_save_in_locked_folder_names_folder,
                                        setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_failed_in_place_write_puts_old_text_back, setup,
                                        tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_failed_rename_keeps_original, setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_file_save_writes_through_dangling_symlink, setup,
                                        tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
