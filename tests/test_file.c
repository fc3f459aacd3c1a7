/* test_file.c: byte-exact load/save round trips, atomic save (mode kept, no temporary left,
 * failure leaves the original intact), refusal to overwrite a changed file, recovery files. */
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "file.h"

/* fsync replaced (tests/test_file.ldflags) so that a test can make it fail. */
static int fsync_fail;
int __real_fsync(int fd);
int __wrap_fsync(int fd)
{
    if (fsync_fail) { errno = EIO; return -1; }
    return __real_fsync(fd);
}

static char dir[256];   /* the test directory */

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

static void path_in(char *buf, const char *name)
{
    snprintf(buf, PATH_MAX, "%s/%s", dir, name);
}

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
    file_info oinfo = { 0 };
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
    static const char hostile[] = "NUL\0inside\r\nCRLF\r\n\xff\xfe invalid \xc3( \x1b[2J esc\x80 no final newline";
    round_trip(hostile, sizeof hostile - 1);
    round_trip("", 0);
    size_t n = 5u << 20;   /* a 5 MB single line: loaded through mmap */
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
    assert_int_equal(file_load_fd(fd, &t, NULL), FILE_OK);
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
    file_info none = { 0 };
    write_file(q, "x", 1);
    assert_int_equal(file_save(t, q, &none, false, NULL), FILE_E_CHANGED);
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
    assert_int_equal(file_load_fd(fds[0], &t, NULL), FILE_OK);
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
    size_t n = (size_t)3 << 20;   /* above the old mmap threshold, below the new one */
    write_pattern(p, n);
    text *t;
    file_info info;
    assert_int_equal(file_load(p, &t, &info, NULL), FILE_OK);
    assert_int_equal(truncate(p, 0), 0);
    char *b = malloc(n);
    assert_non_null(b);
    assert_int_equal(text_read(t, 0, n, b), n);
    assert_int_equal(b[n - 1], (char)('a' + (n - 1) % 26));   /* private memory: all there */
    assert_false(file_mmap_fault_take(NULL, 0));
    free(b);
    text_free(t);
}

static void test_file_truncated_mapping_reads_zeros_and_keeps_edits(void **state)
{
    (void)state;
    char p[PATH_MAX];
    path_in(p, "mapped.txt");
    size_t n = 64 * 1024;
    write_pattern(p, n);
    text *t;
    file_info info;
    assert_int_equal(file_load_mmap(p, 4096, &t, &info, NULL), FILE_OK);
    assert_int_equal(text_insert(t, 0, "mine ", 5), TEXT_OK);
    char first[4];
    assert_int_equal(text_read(t, 5, 4, first), 4);   /* the first page is read while intact */
    assert_memory_equal(first, "abcd", 4);
    assert_int_equal(truncate(p, 100), 0);
    /* without the handler this read dies of SIGBUS */
    char *b = malloc(n + 5);
    assert_non_null(b);
    assert_int_equal(text_read(t, 0, n + 5, b), n + 5);
    assert_memory_equal(b, "mine abcd", 9);
    assert_int_equal(b[n + 4], 0);   /* the part cut off reads as zeros */
    char where[PATH_MAX];
    assert_true(file_mmap_fault_take(where, sizeof where));
    assert_string_equal(where, p);
    assert_false(file_mmap_fault_take(where, sizeof where));   /* reported once */
    /* the edits are still there and can be written as a recovery file */
    assert_int_equal(file_recovery_write(t, p, NULL), FILE_OK);
    text *r;
    assert_int_equal(file_recovery_load(p, &r, NULL), FILE_OK);
    assert_int_equal(text_size(r), n + 5);
    assert_int_equal(text_read(r, 0, 9, b), 9);
    assert_memory_equal(b, "mine abcd", 9);
    text_free(r);
    free(b);
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
        cmocka_unit_test_setup_teardown(test_file_refuses_to_overwrite_changed_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_recovery_round_trip_and_removal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_load_fd_reads_pipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_ordinary_file_survives_truncation_by_another_program,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_truncated_mapping_reads_zeros_and_keeps_edits,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
