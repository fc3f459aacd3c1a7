/* tmpdir.h (include after cmocka.h): a fresh temporary folder for each test (cmocka setup and
 * teardown; XDG_STATE_HOME points into it, so recovery files land there) and small whole-file
 * helpers. Test-only; libc/POSIX. */
#ifndef BD3_TEST_TMPDIR_H
#define BD3_TEST_TMPDIR_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256]; /* the test's folder, made by tmpdir_setup */

static inline int tmpdir_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/bd3ed-test-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char st[PATH_MAX + 16];
    snprintf(st, sizeof st, "%s/state", dir);
    setenv("XDG_STATE_HOME", st, 1);
    return 0;
}

static inline int tmpdir_teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* buf (PATH_MAX bytes) = the test folder's entry name */
static inline void path_in(char *buf, const char *name) { snprintf(buf, PATH_MAX, "%s/%s", dir, name); }

static inline void write_file(const char *path, const char *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

/* The whole file in a malloc'd buffer (one spare byte), its size in *n. */
static inline char *read_file(const char *path, size_t *n)
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

/* The same for text: write_text writes the string s, read_text gives the file's first 4095
 * bytes as a string in a static buffer (overwritten by the next call). */
static inline void write_text(const char *path, const char *s) { write_file(path, s, strlen(s)); }

static inline char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

#endif
