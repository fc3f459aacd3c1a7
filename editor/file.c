/* file.c: file loading, atomic save, change detection and recovery files (see file.h).
 * Depends on text.h and POSIX only. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const char *file_status_str(file_status s)
{
    switch (s) {
    case FILE_OK: return "success";
    case FILE_E_IO: return "input/output error";
    case FILE_E_NOMEM: return "out of memory";
    case FILE_E_CHANGED: return "file changed on disk since it was opened";
    case FILE_E_NOTREG: return "not a regular file";
    case FILE_E_NONE: return "no recovery file";
    }
    return "unknown status";
}

static file_status file_fail(int *err, int e)
{
    if (err) *err = e;
    return FILE_E_IO;
}

static void file_info_from_stat(file_info *info, const struct stat *st)
{
    info->exists = true;
    info->dev = st->st_dev;
    info->ino = st->st_ino;
    info->mtime = st->st_mtim;
    info->size = st->st_size;
    info->mode = st->st_mode & 07777;
}

/* Reads fd up to its end or limit bytes into a new text; the buffer starts at cap (> 0) bytes
 * and doubles when full. */
static file_status file_read_text(int fd, size_t cap, size_t limit, text **out, int *err)
{
    size_t n = 0;
    char *buf = malloc(cap);
    if (!buf) return FILE_E_NOMEM;
    while (n < limit) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); return FILE_E_NOMEM; }
            buf = nb;
            cap *= 2;
        }
        size_t want = cap - n < limit - n ? cap - n : limit - n;
        ssize_t r = read(fd, buf + n, want);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { int e = errno; free(buf); return file_fail(err, e); }
        if (r == 0) break;
        n += (size_t)r;
    }
    *out = text_new_owned(buf, n, false);
    if (!*out) { free(buf); return FILE_E_NOMEM; }
    return FILE_OK;
}

file_status file_load_fd(int fd, text **out, int *err)
{
    return file_read_text(fd, 65536, SIZE_MAX, out, err);
}

/* ---- mapped files and truncation (SIGBUS) ---- */

#define FILE_MAPS_MAX 64   /* mapped files remembered for the SIGBUS handler */

/* A mapped file. Entries are written by the loading thread before `state` publishes them and
 * read by the signal handler on any thread. The text frees the mapping itself (munmap); an
 * entry then stays until its slot is reused, which is harmless: a SIGBUS in its range can only
 * come from a file mapping there, and zero pages are the better outcome for it too. */
typedef struct file_map {
    char *addr;                 /* start of the mapping */
    size_t len;                 /* bytes mapped */
    char path[PATH_MAX];        /* the file, for the message */
    atomic_int state;           /* 0 free, 1 in use, 2 faulted (not yet reported) */
} file_map;

static file_map file_maps[FILE_MAPS_MAX];       /* registry, searched by the handler */
static atomic_int file_maps_next;               /* next slot to (re)use, round robin */
static struct sigaction file_old_bus;           /* the handler before ours */
static atomic_int file_bus_installed;           /* ours is installed */

static void file_on_bus(int sig, siginfo_t *si, void *uctx)
{
    char *a = si ? (char *)si->si_addr : NULL;
    long page = sysconf(_SC_PAGESIZE);
    for (int i = 0; a && i < FILE_MAPS_MAX; i++) {
        file_map *m = &file_maps[i];
        if (atomic_load(&m->state) == 0 || a < m->addr || a >= m->addr + m->len) continue;
        /* the file shrank: zero pages from the faulting page to the end of the mapping */
        char *from = (char *)((uintptr_t)a & ~(uintptr_t)(page - 1));
        size_t n = (size_t)(m->addr + m->len - from);
        if (mmap(from, n, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
            break;
        atomic_store(&m->state, 2);
        return;   /* the faulting read is retried and now reads zeros */
    }
    /* not ours: the previous disposition handles it when the fault repeats */
    if (file_old_bus.sa_flags & SA_SIGINFO) {
        if (file_old_bus.sa_sigaction) { file_old_bus.sa_sigaction(sig, si, uctx); return; }
    } else if (file_old_bus.sa_handler != SIG_IGN && file_old_bus.sa_handler != SIG_DFL) {
        file_old_bus.sa_handler(sig);
        return;
    }
    signal(SIGBUS, SIG_DFL);
}

static void file_map_register(void *addr, size_t len, const char *path)
{
    if (!atomic_exchange(&file_bus_installed, 1)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = file_on_bus;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGBUS, &sa, &file_old_bus);
    }
    int slot = -1;
    for (int i = 0; i < FILE_MAPS_MAX && slot < 0; i++)
        if (atomic_load(&file_maps[i].state) == 0) slot = i;
    if (slot < 0) slot = atomic_fetch_add(&file_maps_next, 1) % FILE_MAPS_MAX;
    file_map *m = &file_maps[slot];
    atomic_store(&m->state, 0);
    m->addr = addr;
    m->len = len;
    snprintf(m->path, sizeof m->path, "%s", path);
    atomic_store(&m->state, 1);
}

bool file_mmap_fault_take(char *buf, size_t size)
{
    for (int i = 0; i < FILE_MAPS_MAX; i++) {
        int faulted = 2;
        if (atomic_compare_exchange_strong(&file_maps[i].state, &faulted, 1)) {
            if (buf && size) snprintf(buf, size, "%s", file_maps[i].path);
            return true;
        }
    }
    return false;
}

/* Reads exactly the len bytes of a regular file (fewer when it shrinks meanwhile). */
file_status file_load_mmap(const char *path, size_t mmap_min, text **out, file_info *info,
                           int *err)
{
    memset(info, 0, sizeof *info);
    info->mode = 0666;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) return file_fail(err, errno);
        *out = text_new();
        return *out ? FILE_OK : FILE_E_NOMEM;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) { int e = errno; close(fd); return file_fail(err, e); }
    if (!S_ISREG(st.st_mode)) { close(fd); return FILE_E_NOTREG; }
    file_info_from_stat(info, &st);
    size_t len = (size_t)st.st_size;
    if (len > 0 && len >= mmap_min) {
        void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (map == MAP_FAILED) return file_fail(err, errno);
        file_map_register(map, len, path);
        *out = text_new_owned(map, len, true);
        if (!*out) { munmap(map, len); return FILE_E_NOMEM; }
        return FILE_OK;
    }
    file_status s = file_read_text(fd, len ? len : 1, len, out, err);
    close(fd);
    return s;
}

file_status file_load(const char *path, text **out, file_info *info, int *err)
{
    return file_load_mmap(path, FILE_MMAP_MIN, out, info, err);
}

file_status file_write_fd(const text *t, int fd, int *err)
{
    size_t pos = 0, len;
    const char *c;
    while ((c = text_chunk(t, pos, &len)) != NULL) {
        size_t done = 0;
        while (done < len) {
            ssize_t w = write(fd, c + done, len - done);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) return file_fail(err, errno);
            done += (size_t)w;
        }
        pos += len;
    }
    return FILE_OK;
}

bool file_changed(const char *path, const file_info *info)
{
    struct stat st;
    if (stat(path, &st) < 0) return info->exists;
    if (!info->exists) return true;
    return st.st_dev != info->dev || st.st_ino != info->ino || st.st_size != info->size ||
           st.st_mtim.tv_sec != info->mtime.tv_sec || st.st_mtim.tv_nsec != info->mtime.tv_nsec;
}

/* Splits path into its directory (written into dir, "." when none). */
static bool file_dir_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash) { snprintf(dir, size, "."); return true; }
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= size) return false;
    memcpy(dir, path, n);
    dir[n] = 0;
    return true;
}

static void file_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) { fsync(fd); close(fd); }
}

static file_status file_write_spans_fd(const text_span *spans, size_t n, int fd, int *err)
{
    for (size_t i = 0; i < n; i++) {
        size_t done = 0;
        while (done < spans[i].len) {
            ssize_t w = write(fd, spans[i].data + done, spans[i].len - done);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) return file_fail(err, errno);
            done += (size_t)w;
        }
    }
    return FILE_OK;
}

/* Writes t (or, when t is NULL, the spans) to a temporary file beside target, then renames
 * it over target. */
static file_status file_write_atomic(const text *t, const text_span *spans, size_t n_spans,
                                     const char *target, mode_t mode, int *err)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 32];
    if (!file_dir_of(target, dir, sizeof dir)) return file_fail(err, ENAMETOOLONG);
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    if (snprintf(tmp, sizeof tmp, "%s/.%s.bd3ed-XXXXXX", dir, base) >= (int)sizeof tmp)
        return file_fail(err, ENAMETOOLONG);
    int fd = mkstemp(tmp);
    if (fd < 0) return file_fail(err, errno);
    file_status s = t ? file_write_fd(t, fd, err) : file_write_spans_fd(spans, n_spans, fd, err);
    if (s == FILE_OK && fchmod(fd, mode) < 0) s = file_fail(err, errno);
    if (s == FILE_OK && fsync(fd) < 0) s = file_fail(err, errno);
    if (close(fd) < 0 && s == FILE_OK) s = file_fail(err, errno);
    if (s == FILE_OK && rename(tmp, target) < 0) s = file_fail(err, errno);
    if (s != FILE_OK) { unlink(tmp); return s; }
    file_fsync_dir(dir);
    return FILE_OK;
}

file_status file_save(const text *t, const char *path, file_info *info, bool force, int *err)
{
    if (!force && file_changed(path, info)) return FILE_E_CHANGED;
    char target[PATH_MAX];
    struct stat st;
    mode_t mode;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) return FILE_E_NOTREG;
        mode = st.st_mode & 07777;
        if (!realpath(path, target)) return file_fail(err, errno);
    } else {
        mode_t um = umask(022);
        umask(um);
        mode = 0666 & ~um;
        if (strlen(path) >= sizeof target) return file_fail(err, ENAMETOOLONG);
        strcpy(target, path);
    }
    file_status s = file_write_atomic(t, NULL, 0, target, mode, err);
    if (s != FILE_OK) return s;
    if (stat(target, &st) == 0) file_info_from_stat(info, &st);
    return FILE_OK;
}

/* ---- recovery ---- */

static bool file_recovery_dir(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    int n;
    if (xdg && xdg[0] == '/') n = snprintf(buf, size, "%s/bd3ed", xdg);
    else {
        const char *home = getenv("HOME");
        if (!home || !home[0]) return false;
        n = snprintf(buf, size, "%s/.local/state/bd3ed", home);
    }
    return n > 0 && (size_t)n < size;
}

bool file_recovery_path(const char *path, char *buf, size_t size)
{
    char dir[PATH_MAX], abs[PATH_MAX];
    if (!file_recovery_dir(dir, sizeof dir)) return false;
    if (path[0] == '/') {
        if (strlen(path) >= sizeof abs) return false;
        strcpy(abs, path);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) return false;
        const char *p = path;
        while (p[0] == '.' && p[1] == '/') p += 2;
        if (snprintf(abs, sizeof abs, "%s/%s", cwd, p) >= (int)sizeof abs) return false;
    }
    size_t n = strlen(dir);
    if (n + 2 + strlen(abs) >= size) return false;
    memcpy(buf, dir, n);
    buf[n++] = '/';
    for (const char *p = abs; *p; p++) buf[n++] = *p == '/' ? '%' : *p;
    buf[n] = 0;
    return true;
}

/* mkdir -p with mode 0700 for each missing component. */
static int file_mkdirs(const char *dir)
{
    char tmp[PATH_MAX];
    if (strlen(dir) >= sizeof tmp) return ENAMETOOLONG;
    strcpy(tmp, dir);
    for (char *p = tmp + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(tmp, 0700) < 0 && errno != EEXIST) return errno;
            *p = c;
            if (c == 0) break;
        }
    }
    return 0;
}

static file_status file_recovery_write_any(const text *t, const text_span *spans, size_t n,
                                           const char *path, int *err)
{
    char dir[PATH_MAX], rec[PATH_MAX];
    if (!file_recovery_dir(dir, sizeof dir) || !file_recovery_path(path, rec, sizeof rec))
        return file_fail(err, ENAMETOOLONG);
    int e = file_mkdirs(dir);
    if (e) return file_fail(err, e);
    return file_write_atomic(t, spans, n, rec, 0600, err);
}

file_status file_recovery_write(const text *t, const char *path, int *err)
{
    return file_recovery_write_any(t, NULL, 0, path, err);
}

file_status file_recovery_write_spans(const text_span *spans, size_t n, const char *path, int *err)
{
    return file_recovery_write_any(NULL, spans, n, path, err);
}

bool file_recovery_exists(const char *path)
{
    char rec[PATH_MAX];
    struct stat st;
    return file_recovery_path(path, rec, sizeof rec) && stat(rec, &st) == 0 && S_ISREG(st.st_mode);
}

file_status file_recovery_load(const char *path, text **out, int *err)
{
    char rec[PATH_MAX];
    if (!file_recovery_path(path, rec, sizeof rec)) return FILE_E_NONE;
    file_info info;
    file_status s = file_load(rec, out, &info, err);
    if (s == FILE_OK && !info.exists) {
        text_free(*out);
        *out = NULL;
        return FILE_E_NONE;
    }
    return s;
}

void file_recovery_remove(const char *path)
{
    char rec[PATH_MAX];
    if (file_recovery_path(path, rec, sizeof rec)) unlink(rec);
}

bool file_recovery_unnamed_path(char *buf, size_t size)
{
    static time_t started;   /* this process's first call */
    static unsigned count;   /* unnamed buffers named so far */
    char dir[PATH_MAX];
    if (!file_recovery_dir(dir, sizeof dir)) return false;
    if (!started) started = time(NULL);
    int n = snprintf(buf, size, "%s/%s%ld-%lld-%u", dir, FILE_RECOVERY_UNNAMED, (long)getpid(),
                     (long long)started, ++count);
    return n > 0 && (size_t)n < size;
}

file_status file_recovery_write_file(const text *t, const text_span *spans, size_t n,
                                     const char *rec, int *err)
{
    char dir[PATH_MAX];
    if (!file_dir_of(rec, dir, sizeof dir)) return file_fail(err, ENAMETOOLONG);
    int e = file_mkdirs(dir);
    if (e) return file_fail(err, e);
    return file_write_atomic(t, spans, n, rec, 0600, err);
}

/* One unnamed recovery file found by file_recovery_unnamed_list. */
typedef struct file_unnamed {
    char path[PATH_MAX];   /* the file */
    time_t mtime;          /* its modification time, for the order */
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
    enum { FILE_UNNAMED_SCAN = 64 };   /* files considered at most */
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
            continue;   /* its editor is still running */
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
