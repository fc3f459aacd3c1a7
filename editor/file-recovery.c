/* file-recovery.c: recovery files of unsaved text (names, headers, which editor owns one, offer
 * and removal; see file.h). Depends on text.h, file-core.h and POSIX only. */
#include "file.h"
#include "file-core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static bool file_recovery_dir(char *buf, size_t size) { return file_state_dir(buf, size); }

bool file_canonical_path(const char *path, char *buf, size_t size)
{
    char abs[PATH_MAX], dir[PATH_MAX];
    if (realpath(path, abs)) {
        if (strlen(abs) >= size) return false;
        strcpy(buf, abs);
        return true;
    }
    /* a file not yet on disk: its folder made canonical, then its name */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (!file_dir_of(path, dir, sizeof dir)) return false;
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) return false;
    if (realpath(dir, abs)) {
        int n = snprintf(buf, size, "%s%s%s", abs, strcmp(abs, "/") ? "/" : "", base);
        return n > 0 && (size_t)n < size;
    }
    /* no such folder: the path as given, made absolute */
    if (path[0] == '/') {
        if (strlen(path) >= size) return false;
        strcpy(buf, path);
        return true;
    }
    if (!getcwd(dir, sizeof dir)) return false;
    int n = snprintf(buf, size, "%s/%s", dir, path);
    return n > 0 && (size_t)n < size;
}

/* 64-bit FNV-1a of a string: the short part of a recovery file's name. */
static uint64_t file_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* Start time of process pid in seconds since the epoch, from /proc (field 22 of
 * /proc/PID/stat, in clock ticks after boot, plus the boot time of /proc/stat); -1 when it
 * cannot be read. With the pid it tells an editor apart from a later process given its pid. */
static long long file_proc_start(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (!p) return -1;
    unsigned long long ticks = 0;
    /* after ")": state is field 3; starttime is field 22 */
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " "))
        if (++field == 22) {
            ticks = strtoull(tok, NULL, 10);
            break;
        }
    if (field != 22) return -1;
    static long long boot = -1; /* boot time, read once */
    if (boot < 0) {
        FILE *s = fopen("/proc/stat", "r");
        char line[256];
        while (s && fgets(line, sizeof line, s))
            if (!strncmp(line, "btime ", 6)) boot = atoll(line + 6);
        if (s) fclose(s);
        if (boot < 0) return -1;
    }
    long hz = sysconf(_SC_CLK_TCK);
    return boot + (long long)(ticks / (unsigned long long)(hz > 0 ? hz : 100));
}

/* The tag of this editor process in file names: its pid and its start time. */
static void file_instance(long *pid, long long *started)
{
    static long long start; /* this process's start time */
    static pid_t owner;     /* the process that took start (a fork takes its own) */
    if (!start || owner != getpid()) {
        owner = getpid();
        start = file_proc_start((long)owner);
        if (start < 0) start = (long long)time(NULL);
    }
    *pid = (long)getpid();
    *started = start;
}

bool file_recovery_path(const char *path, char *buf, size_t size)
{
    char dir[PATH_MAX], canon[PATH_MAX];
    if (!file_recovery_dir(dir, sizeof dir) || !file_canonical_path(path, canon, sizeof canon)) return false;
    long pid;
    long long started;
    file_instance(&pid, &started);
    int n = snprintf(buf, size, "%s/%s%016llx-%ld-%lld", dir, FILE_RECOVERY_NAMED,
                     (unsigned long long)file_hash(canon), pid, started);
    return n > 0 && (size_t)n < size;
}

/* The header of a recovery file: a magic line, then the canonical path it belongs to with its
 * length, so that a file of another path that happens to share the hash is never offered. */
#define FILE_RECOVERY_MAGIC "bd3ed recovery 1\n"

static char *file_recovery_header(const char *canon, size_t *len)
{
    size_t pl = strlen(canon), cap = sizeof FILE_RECOVERY_MAGIC + pl + 32;
    char *h = malloc(cap);
    if (!h) return NULL;
    int n = snprintf(h, cap, "%spath %zu\n%s\n", FILE_RECOVERY_MAGIC, pl, canon);
    *len = (size_t)n;
    return h;
}

/* Length of the header of the recovery file bytes b (n bytes) when it names canon; 0 when
 * it does not (another path, or not a recovery file). */
static size_t file_recovery_header_match(const char *b, size_t n, const char *canon)
{
    size_t ml = strlen(FILE_RECOVERY_MAGIC), pl = strlen(canon);
    if (n < ml + 5 || memcmp(b, FILE_RECOVERY_MAGIC, ml) != 0 || memcmp(b + ml, "path ", 5) != 0) return 0;
    size_t i = ml + 5, v = 0;
    while (i < n && b[i] >= '0' && b[i] <= '9' && v < PATH_MAX) v = v * 10 + (size_t)(b[i++] - '0');
    if (i >= n || b[i] != '\n' || v != pl) return 0;
    i++;
    if (n - i < pl + 1 || memcmp(b + i, canon, pl) != 0 || b[i + pl] != '\n') return 0;
    return i + pl + 1;
}

static file_status file_recovery_write_any(const text *t, const text_span *spans, size_t n, const char *path,
                                           int *err)
{
    char dir[PATH_MAX], rec[PATH_MAX], canon[PATH_MAX];
    if (!file_recovery_dir(dir, sizeof dir) || !file_canonical_path(path, canon, sizeof canon) ||
        !file_recovery_path(path, rec, sizeof rec))
        return file_fail(err, ENAMETOOLONG);
    int e = file_mkdirs(dir);
    if (e) return file_fail(err, e);
    size_t hl;
    char *h = file_recovery_header(canon, &hl);
    if (!h) return FILE_E_NOMEM;
    file_content c = {.prefix = h, .prefix_len = hl, .t = t, .spans = spans, .n_spans = n};
    file_status s = file_write_atomic(&c, rec, 0600, err);
    free(h);
    return s;
}

file_status file_recovery_write(const text *t, const char *path, int *err)
{
    return file_recovery_write_any(t, NULL, 0, path, err);
}

file_status file_recovery_write_spans(const text_span *spans, size_t n, const char *path, int *err)
{
    return file_recovery_write_any(NULL, spans, n, path, err);
}

/* Reads the first bytes of a file (up to size) into buf; their count, or -1. */
static ssize_t file_head(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    struct stat st;
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        size_t got = 0;
        while (got < size) {
            ssize_t r = read(fd, buf + got, size - got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += (size_t)r;
        }
        n = (ssize_t)got;
    }
    close(fd);
    return n;
}

/* The editor of pid started at started is still running (a pid that is not, or one that now
 * belongs to a process started at another time, says the file is left over). */
static bool file_pid_alive(long pid, long long started)
{
    if (pid <= 0) return false;
    if (pid == (long)getpid()) return true;
    if (!(kill((pid_t)pid, 0) == 0 || errno == EPERM)) return false;
    long long s = file_proc_start(pid);
    return s < 0 || (s >= started - 1 && s <= started + 1); /* no /proc: trust the pid */
}

/* ---- recovery files of earlier versions ----
 * Earlier versions of the editor kept one recovery file per path, named after the absolute
 * path as it was given (made absolute with the working folder, leading "./" dropped) with
 * every '/' written as '%' ("%home%me%notes.txt"), holding the text alone, no header. They are
 * still offered for their path; recovering one turns it into this editor's recovery file. */

/* The earlier versions' absolute spelling of path: path itself when absolute, else the
 * working folder, '/', and path without its leading "./". */
static bool file_legacy_abs(const char *path, char *buf, size_t size)
{
    if (path[0] == '/') {
        if (strlen(path) >= size) return false;
        strcpy(buf, path);
        return true;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return false;
    while (path[0] == '.' && path[1] == '/') path += 2;
    int n = snprintf(buf, size, "%s/%s", cwd, path);
    return n > 0 && (size_t)n < size;
}

/* The earlier versions' recovery file name of the absolute path abs: '/' written as '%'. */
static void file_legacy_escape(const char *abs, char *buf)
{
    for (; *abs; abs++) *buf++ = *abs == '/' ? '%' : *abs;
    *buf = 0;
}

/* The file name name (a directory entry) is an earlier version's recovery file of the file
 * whose canonical path is canon and which was asked for as given: it is the escaped canonical
 * path or the escaped spelling of given, or its '%' read back as '/' resolves to canon (the
 * same file by another spelling). The old names cannot tell "x%y" from "x/y": both match, and
 * file_legacy_ambiguous says whether the other reading is a file on disk too. */
static bool file_legacy_match(const char *name, const char *canon, const char *given)
{
    char esc[PATH_MAX], abs[PATH_MAX], back[PATH_MAX];
    if (name[0] != '%') return false;
    size_t n = strlen(name);
    if (n >= sizeof back) return false;
    if (strlen(canon) == n) {
        file_legacy_escape(canon, esc);
        if (!strcmp(esc, name)) return true;
    }
    if (file_legacy_abs(given, abs, sizeof abs) && strlen(abs) == n) {
        file_legacy_escape(abs, esc);
        if (!strcmp(esc, name)) return true;
    }
    for (size_t i = 0; i <= n; i++) back[i] = name[i] == '%' ? '/' : name[i];
    return file_canonical_path(back, abs, sizeof abs) && !strcmp(abs, canon);
}

/* Looks for a file on disk other than canon that the earlier versions' name in buf (n bytes,
 * the first '%' already read back as '/') could stand for: each later '%' is read as '/' where
 * what comes before it is a folder, and as itself. i: where to go on reading; *budget: the
 * lookups left (none left counts as found: an old file is offered only when that is sure).
 * True with that file's path in other. */
static bool file_legacy_other(char *buf, size_t i, size_t n, const char *canon, char *other, size_t osize,
                              int *budget)
{
    struct stat st;
    for (; i < n; i++) {
        if (buf[i] != '%') continue;
        if (--*budget < 0) {
            snprintf(other, osize, "%s", buf);
            return true;
        }
        buf[i] = 0;
        bool folder = stat(buf, &st) == 0 && S_ISDIR(st.st_mode);
        buf[i] = '/';
        bool found = folder && file_legacy_other(buf, i + 1, n, canon, other, osize, budget);
        buf[i] = '%';
        if (found) return true;
    }
    char c[PATH_MAX];
    if (stat(buf, &st) != 0 || S_ISDIR(st.st_mode)) return false;
    if (!file_canonical_path(buf, c, sizeof c) || !strcmp(c, canon)) return false;
    snprintf(other, osize, "%s", buf);
    return true;
}

/* The earlier versions' name name fits canon but might as well be of another file on disk
 * (their names wrote '/' and '%' alike: "x%y" and "x/y" have one name); that file's path goes
 * into other (PATH_MAX bytes). */
static bool file_legacy_ambiguous(const char *name, const char *canon, char *other)
{
    char buf[PATH_MAX];
    size_t n = strlen(name);
    if (n >= sizeof buf || name[0] != '%') return false;
    memcpy(buf, name, n + 1);
    buf[0] = '/';
    int budget = 4096;
    return file_legacy_other(buf, 1, n, canon, other, PATH_MAX, &budget);
}

/* A left-over recovery file found by file_recovery_scan. */
typedef struct file_left {
    char path[PATH_MAX]; /* the newest one ("" when none) */
    bool legacy;         /* it is an earlier version's (no header) */
    time_t mtime;        /* its modification time */
} file_left;

/* Takes full (modified at mtime) as the left-over file when it is newer than the one found. */
static void file_left_offer(file_left *left, const char *full, time_t mtime, bool legacy)
{
    if (left->path[0] && mtime < left->mtime) return;
    strcpy(left->path, full);
    left->mtime = mtime;
    left->legacy = legacy;
}

/* Finds the recovery files of path: this editor's own (own, when wanted), the newest one
 * left by an editor that is no longer running or by an earlier version (left), and counts
 * those of editors that are still running (returned). An earlier version's file that might
 * be another file's is never left; when amb is wanted, it gets that file's path and amb_other
 * the other file's (both PATH_MAX bytes, "" when there is none). */
static int file_recovery_scan(const char *path, char *own, file_left *left, long *other_pid, char *amb,
                              char *amb_other)
{
    char dir[PATH_MAX], canon[PATH_MAX], prefix[64];
    if (own) own[0] = 0;
    if (left) *left = (file_left){0};
    if (other_pid) *other_pid = 0;
    if (amb) amb[0] = amb_other[0] = 0;
    if (!file_recovery_dir(dir, sizeof dir) || !file_canonical_path(path, canon, sizeof canon)) return 0;
    snprintf(prefix, sizeof prefix, "%s%016llx-", FILE_RECOVERY_NAMED, (unsigned long long)file_hash(canon));
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t hcap = strlen(canon) + 64, pl = strlen(prefix);
    char *head = malloc(hcap);
    long me;
    long long started;
    file_instance(&me, &started);
    int others = 0;
    struct dirent *de;
    while (head && (de = readdir(d)) != NULL) {
        char full[PATH_MAX];
        if (de->d_name[0] == '%') {
            struct stat st;
            if ((!left && !amb) || !file_legacy_match(de->d_name, canon, path)) continue;
            if (snprintf(full, sizeof full, "%s/%s", dir, de->d_name) >= (int)sizeof full) continue;
            if (lstat(full, &st) != 0 || !S_ISREG(st.st_mode)) continue;
            char other[PATH_MAX];
            if (file_legacy_ambiguous(de->d_name, canon, other)) {
                if (amb) {
                    strcpy(amb, full);
                    strcpy(amb_other, other);
                }
                continue;
            }
            if (left) file_left_offer(left, full, st.st_mtime, true);
            continue;
        }
        if (strncmp(de->d_name, prefix, pl) != 0) continue;
        char *end;
        long pid = strtol(de->d_name + pl, &end, 10);
        if (end == de->d_name + pl || *end != '-') continue;
        long long st_tag = strtoll(end + 1, &end, 10);
        if (*end) continue;
        if (snprintf(full, sizeof full, "%s/%s", dir, de->d_name) >= (int)sizeof full) continue;
        ssize_t hn = file_head(full, head, hcap);
        if (hn <= 0 || !file_recovery_header_match(head, (size_t)hn, canon)) continue;
        if (pid == me && st_tag == started) {
            if (own) strcpy(own, full);
            continue;
        }
        if (file_pid_alive(pid, st_tag)) {
            others++;
            if (other_pid) *other_pid = pid;
            continue;
        }
        struct stat st;
        if (stat(full, &st) < 0) continue;
        if (left) file_left_offer(left, full, st.st_mtime, false);
    }
    free(head);
    closedir(d);
    return others;
}

bool file_recovery_exists(const char *path)
{
    char own[PATH_MAX];
    file_left left;
    file_recovery_scan(path, own, &left, NULL, NULL, NULL);
    return own[0] || left.path[0];
}

int file_recovery_others(const char *path, long *pid)
{
    return file_recovery_scan(path, NULL, NULL, pid, NULL, NULL);
}

bool file_recovery_ambiguous(const char *path, char *rec, char *other)
{
    file_recovery_scan(path, NULL, NULL, NULL, rec, other);
    return rec[0] != 0;
}

/* Reads a recovery file of canon (header checked) into a new text without its header; when
 * canon is NULL, an earlier version's file (the text alone). */
static file_status file_recovery_read(const char *rec, const char *canon, text **out, int *err)
{
    int fd;
    struct stat st;
    file_status s = file_open_regular(rec, &fd, &st, err);
    if (s != FILE_OK) return s;
    if (fd < 0) return FILE_E_NONE;
    size_t len = (size_t)st.st_size;
    text *raw = NULL;
    s = file_read_text(fd, len ? len : 1, len, &raw, err);
    close(fd);
    if (s != FILE_OK || !canon) {
        *out = raw;
        return s;
    }
    size_t n = text_size(raw);
    char *b = malloc(n ? n : 1);
    if (!b) {
        text_free(raw);
        return FILE_E_NOMEM;
    }
    text_read(raw, 0, n, b);
    text_free(raw);
    size_t h = file_recovery_header_match(b, n, canon);
    if (!h) {
        free(b);
        return FILE_E_NONE;
    }
    memmove(b, b + h, n - h);
    *out = text_new_owned(b, n - h, false);
    if (!*out) {
        free(b);
        return FILE_E_NOMEM;
    }
    return FILE_OK;
}

file_status file_recovery_load(const char *path, text **out, int *err)
{
    char own[PATH_MAX], canon[PATH_MAX];
    file_left left;
    *out = NULL;
    if (!file_canonical_path(path, canon, sizeof canon)) return FILE_E_NONE;
    file_recovery_scan(path, own, &left, NULL, NULL, NULL);
    if (own[0]) return file_recovery_read(own, canon, out, err);
    if (!left.path[0]) return FILE_E_NONE;
    file_status s = file_recovery_read(left.path, left.legacy ? NULL : canon, out, err);
    if (s != FILE_OK) return s;
    /* the text left by an editor that is gone becomes this editor's recovery file; an
     * earlier version's file is written anew in this version's form, and removed only once
     * that is on disk */
    char mine[PATH_MAX];
    if (!left.legacy) {
        if (file_recovery_path(path, mine, sizeof mine)) rename(left.path, mine);
    } else if (file_recovery_write(*out, path, NULL) == FILE_OK)
        unlink(left.path);
    return s;
}

void file_recovery_remove(const char *path)
{
    char own[PATH_MAX];
    file_recovery_scan(path, own, NULL, NULL, NULL, NULL);
    if (own[0]) unlink(own);
}

void file_recovery_discard(const char *path)
{
    char own[PATH_MAX];
    file_left left;
    file_recovery_scan(path, own, &left, NULL, NULL, NULL);
    if (own[0])
        unlink(own);
    else if (left.path[0])
        unlink(left.path);
}

bool file_recovery_unnamed_path(char *buf, size_t size)
{
    static time_t started; /* this process's first call */
    static unsigned count; /* unnamed buffers named so far */
    char dir[PATH_MAX];
    if (!file_recovery_dir(dir, sizeof dir)) return false;
    if (!started) started = time(NULL);
    int n = snprintf(buf, size, "%s/%s%ld-%lld-%u", dir, FILE_RECOVERY_UNNAMED, (long)getpid(),
                     (long long)started, ++count);
    return n > 0 && (size_t)n < size;
}

file_status file_recovery_write_file(const text *t, const text_span *spans, size_t n, const char *rec,
                                     int *err)
{
    char dir[PATH_MAX];
    if (!file_dir_of(rec, dir, sizeof dir)) return file_fail(err, ENAMETOOLONG);
    int e = file_mkdirs(dir);
    if (e) return file_fail(err, e);
    file_content c = {.t = t, .spans = spans, .n_spans = n};
    return file_write_atomic(&c, rec, 0600, err);
}

/* One unnamed recovery file found by file_recovery_unnamed_list. */
typedef struct file_unnamed {
    char path[PATH_MAX]; /* the file */
    time_t mtime;        /* its modification time, for the order */
} file_unnamed;

static int file_unnamed_newer(const void *a, const void *b)
{
    time_t x = ((const file_unnamed *)a)->mtime, y = ((const file_unnamed *)b)->mtime;
    return x < y ? 1 : x > y ? -1 : 0;
}

int file_recovery_unnamed_list(char (*paths)[PATH_MAX], int max)
{
    char dir[PATH_MAX];
    if (max <= 0 || !file_recovery_dir(dir, sizeof dir)) return 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    enum { FILE_UNNAMED_SCAN = 64 }; /* files considered at most */
    file_unnamed *found = calloc(FILE_UNNAMED_SCAN, sizeof *found);
    int n = 0;
    struct dirent *de;
    size_t pl = strlen(FILE_RECOVERY_UNNAMED);
    while (found && n < FILE_UNNAMED_SCAN && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, FILE_RECOVERY_UNNAMED, pl) != 0) continue;
        char *end;
        long pid = strtol(de->d_name + pl, &end, 10);
        if (end == de->d_name + pl || *end != '-' || pid <= 0) continue;
        if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno == EPERM)
            continue; /* its editor is still running */
        struct stat st;
        if (snprintf(found[n].path, PATH_MAX, "%s/%s", dir, de->d_name) >= PATH_MAX) continue;
        if (stat(found[n].path, &st) < 0 || !S_ISREG(st.st_mode)) continue;
        found[n].mtime = st.st_mtime;
        n++;
    }
    closedir(d);
    if (!found) return 0;
    qsort(found, (size_t)n, sizeof *found, file_unnamed_newer);
    int k = n < max ? n : max;
    for (int i = 0; i < k; i++) memcpy(paths[i], found[i].path, PATH_MAX);
    free(found);
    return k;
}
