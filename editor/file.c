/* file.c: file loading, atomic save, change detection and recovery files (see file.h).
 * Depends on text.h and POSIX only. */
#include "file.h"

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

const char *file_status_str(file_status s)
{
    switch (s) {
    case FILE_OK: return "success";
    case FILE_E_IO: return "input/output error";
    case FILE_E_NOMEM: return "out of memory";
    case FILE_E_CHANGED: return "file changed on disk since it was opened";
    case FILE_E_NOTREG: return "not a regular file";
    case FILE_E_NONE: return "no recovery file";
    case FILE_E_TOOBIG: return "too large";
    case FILE_E_READONLY: return "the file is read-only";
    case FILE_E_DIR: return "no file can be created in its folder";
    case FILE_E_NOCOPY: return "no safety copy of the old text could be made";
    }
    return "unknown status";
}

/* Internal: a save that cannot keep what the file is through a rename (owner, links, the
 * folder): it is written in place instead. Never returned to callers. */
#define FILE_E_KEEP ((file_status)100)

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

file_status file_load_fd(int fd, size_t limit, text **out, int *err)
{
    file_status s = file_read_text(fd, 65536, limit, out, err);
    if (s != FILE_OK || text_size(*out) < limit) return s;
    char c;
    ssize_t r;
    while ((r = read(fd, &c, 1)) < 0 && errno == EINTR) {}
    if (r == 0) return FILE_OK;   /* exactly limit bytes */
    text_free(*out);
    *out = NULL;
    if (r < 0) return file_fail(err, errno);
    return FILE_E_TOOBIG;
}

/* ---- loading ---- */

/* Opens path for reading without ever blocking (a FIFO or a device given as a file) and
 * refuses what is not a regular file. *fd is -1 and the status FILE_OK when path does not
 * exist. */
static file_status file_open_regular(const char *path, int *fd, struct stat *st, int *err)
{
    *fd = -1;
    if (stat(path, st) < 0) return errno == ENOENT ? FILE_OK : file_fail(err, errno);
    if (!S_ISREG(st->st_mode)) return FILE_E_NOTREG;
    int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (f < 0) return file_fail(err, errno);
    if (fstat(f, st) < 0) { int e = errno; close(f); return file_fail(err, e); }
    if (!S_ISREG(st->st_mode)) { close(f); return FILE_E_NOTREG; }   /* replaced meanwhile */
    int fl = fcntl(f, F_GETFL);
    if (fl >= 0) fcntl(f, F_SETFL, fl & ~O_NONBLOCK);
    *fd = f;
    return FILE_OK;
}

file_status file_check_regular(const char *path, int *err)
{
    int fd;
    struct stat st;
    file_status s = file_open_regular(path, &fd, &st, err);
    if (s == FILE_OK && fd < 0) return file_fail(err, ENOENT);
    if (fd >= 0) close(fd);
    return s;
}

/* Reads a large file into private anonymous memory (released by the text with munmap): the
 * text never shares pages with the file, so no other program can change it. */
static file_status file_read_private(int fd, size_t len, text **out, int *err)
{
    char *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) return FILE_E_NOMEM;
    size_t n = 0;
    while (n < len) {
        ssize_t r = read(fd, map + n, len - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { int e = errno; munmap(map, len); return file_fail(err, e); }
        if (r == 0) break;   /* the file shrank while read: what was there */
        n += (size_t)r;
    }
    if (n < len) {   /* give back the pages past what was read */
        size_t page = (size_t)sysconf(_SC_PAGESIZE), keep = (n + page - 1) / page * page;
        if (keep < len) munmap(map + keep, len - keep);
        if (n == 0) { *out = text_new(); return *out ? FILE_OK : FILE_E_NOMEM; }
        len = n;
    }
    *out = text_new_owned(map, len, true);
    if (!*out) { munmap(map, len); return FILE_E_NOMEM; }
    return FILE_OK;
}

/* Reads exactly the len bytes of a regular file (fewer when it shrinks meanwhile). */
file_status file_load_mmap(const char *path, size_t mmap_min, text **out, file_info *info,
                           int *err)
{
    memset(info, 0, sizeof *info);
    info->mode = 0666;
    *out = NULL;
    int fd;
    struct stat st;
    file_status s = file_open_regular(path, &fd, &st, err);
    if (s != FILE_OK) return s;
    if (fd < 0) {
        *out = text_new();
        return *out ? FILE_OK : FILE_E_NOMEM;
    }
    file_info_from_stat(info, &st);
    size_t len = (size_t)st.st_size;
    if (len > 0 && len >= mmap_min) s = file_read_private(fd, len, out, err);
    else s = file_read_text(fd, len ? len : 1, len, out, err);
    close(fd);
    return s;
}

file_status file_load(const char *path, text **out, file_info *info, int *err)
{
    return file_load_mmap(path, FILE_MMAP_MIN, out, info, err);
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

static file_status file_write_all(int fd, const char *p, size_t len, int *err)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, p + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return file_fail(err, errno);
        if (w == 0) return file_fail(err, EIO);
        done += (size_t)w;
    }
    return FILE_OK;
}

file_status file_write_fd(const text *t, int fd, int *err)
{
    size_t pos = 0, len;
    const char *c;
    while ((c = text_chunk(t, pos, &len)) != NULL) {
        file_status s = file_write_all(fd, c, len, err);
        if (s != FILE_OK) return s;
        pos += len;
    }
    return FILE_OK;
}

/* What to write: a prefix of bytes (may be empty), then a text or, when it is NULL, spans. */
typedef struct file_content {
    const char *prefix;       /* bytes before the text (a recovery header), or NULL */
    size_t prefix_len;        /* bytes */
    const text *t;            /* the text, or NULL for spans */
    const text_span *spans;   /* n_spans runs of stored bytes when t is NULL */
    size_t n_spans;           /* count */
} file_content;

static file_status file_write_content(const file_content *c, int fd, int *err)
{
    if (c->prefix_len) {
        file_status s = file_write_all(fd, c->prefix, c->prefix_len, err);
        if (s != FILE_OK) return s;
    }
    if (c->t) return file_write_fd(c->t, fd, err);
    for (size_t i = 0; i < c->n_spans; i++) {
        file_status s = file_write_all(fd, c->spans[i].data, c->spans[i].len, err);
        if (s != FILE_OK) return s;
    }
    return FILE_OK;
}

/* Creates a temporary file beside target (mode 0600); its name goes into tmp. */
static int file_temp_beside(const char *target, char *tmp, size_t size)
{
    char dir[PATH_MAX];
    if (!file_dir_of(target, dir, sizeof dir)) { errno = ENAMETOOLONG; return -1; }
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    /* a long file name is cut so that the temporary name still fits in NAME_MAX */
    if (snprintf(tmp, size, "%s/.%.200s.bd3ed-XXXXXX", dir, base) >= (int)size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkstemp(tmp);
}

/* Writes c to a temporary file beside target, then renames it over target. */
static file_status file_write_atomic(const file_content *c, const char *target, mode_t mode,
                                     int *err)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 32];
    if (!file_dir_of(target, dir, sizeof dir)) return file_fail(err, ENAMETOOLONG);
    int fd = file_temp_beside(target, tmp, sizeof tmp);
    if (fd < 0) return file_fail(err, errno);
    file_status s = file_write_content(c, fd, err);
    if (s == FILE_OK && fchmod(fd, mode) < 0) s = file_fail(err, errno);
    if (s == FILE_OK && fsync(fd) < 0) s = file_fail(err, errno);
    if (close(fd) < 0 && s == FILE_OK) s = file_fail(err, errno);
    if (s == FILE_OK && rename(tmp, target) < 0) s = file_fail(err, errno);
    if (s != FILE_OK) { unlink(tmp); return s; }
    file_fsync_dir(dir);
    return FILE_OK;
}

/* ---- saving: what a file is survives a save ---- */

/* Follows symbolic links from path to the file they name, even when it does not exist (a
 * dangling link is written through to its target). */
static bool file_resolve(const char *path, char *out, size_t size, int *e)
{
    char cur[PATH_MAX];
    if (strlen(path) >= sizeof cur) { *e = ENAMETOOLONG; return false; }
    strcpy(cur, path);
    for (int depth = 0; depth < 40; depth++) {
        struct stat st;
        if (lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode)) {
            if (strlen(cur) >= size) { *e = ENAMETOOLONG; return false; }
            strcpy(out, cur);
            return true;
        }
        char link[PATH_MAX];
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n < 0) { *e = errno; return false; }
        link[n] = 0;
        if (link[0] == '/') { strcpy(cur, link); continue; }
        char dir[PATH_MAX];   /* relative: from the link's folder */
        if (!file_dir_of(cur, dir, sizeof dir)) { *e = ENAMETOOLONG; return false; }
        if (snprintf(cur, sizeof cur, "%s/%s", dir, link) >= (int)sizeof cur) {
            *e = ENAMETOOLONG;
            return false;
        }
    }
    *e = ELOOP;
    return false;
}

/* Copies every extended attribute of from (user.*, security.*, system.posix_acl_* ...) to
 * to; false (errno set) when one cannot be copied. */
static bool file_copy_xattrs(int from, int to)
{
    ssize_t n = flistxattr(from, NULL, 0);
    if (n < 0) return errno == ENOTSUP;   /* none can exist */
    if (n == 0) return true;
    char *names = malloc((size_t)n), *val = NULL;
    size_t val_cap = 0;
    bool ok = names != NULL;
    if (ok) n = flistxattr(from, names, (size_t)n);
    if (n < 0) ok = false;
    for (ssize_t i = 0; ok && i < n; i += (ssize_t)strlen(names + i) + 1) {
        const char *name = names + i;
        ssize_t vl = fgetxattr(from, name, NULL, 0);
        if (vl < 0) { ok = false; break; }
        if ((size_t)vl > val_cap) {
            char *nv = realloc(val, (size_t)vl);
            if (!nv) { ok = false; break; }
            val = nv;
            val_cap = (size_t)vl;
        }
        vl = fgetxattr(from, name, val, val_cap);
        if (vl < 0 || fsetxattr(to, name, val, (size_t)vl, 0) < 0) ok = false;
    }
    int e = errno;
    free(names);
    free(val);
    errno = e;
    return ok;
}

static bool file_state_dir(char *buf, size_t size);
static int file_mkdirs(const char *dir);

/* Writes the bytes of the open file fd into a new file of the state folder (mode 0600),
 * fsynced; its name goes into copy. */
static file_status file_safety_copy(int fd, const char *target, char *copy, size_t size, int *err)
{
    char dir[PATH_MAX];
    static unsigned count;   /* safety copies made by this process */
    if (!file_state_dir(dir, sizeof dir)) return file_fail(err, ENOENT);
    int e = file_mkdirs(dir);
    if (e) return file_fail(err, e);
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    if (snprintf(copy, size, "%s/%s%.100s-%ld-%u", dir, FILE_SAFETY_COPY, base, (long)getpid(),
                 ++count) >= (int)size)
        return file_fail(err, ENAMETOOLONG);
    int out = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) return file_fail(err, errno);
    file_status s = FILE_OK;
    char buf[65536];
    off_t off = 0;
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof buf, off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { s = file_fail(err, errno); break; }
        if (r == 0) break;
        s = file_write_all(out, buf, (size_t)r, err);
        if (s != FILE_OK) break;
        off += r;
    }
    if (s == FILE_OK && fsync(out) < 0) s = file_fail(err, errno);
    if (close(out) < 0 && s == FILE_OK) s = file_fail(err, errno);
    if (s != FILE_OK) unlink(copy);
    return s;
}

/* Puts the bytes of the safety copy back into fd (after a failed in-place write). */
static bool file_restore(int fd, const char *copy)
{
    int in = open(copy, O_RDONLY | O_CLOEXEC);
    if (in < 0) return false;
    bool ok = lseek(fd, 0, SEEK_SET) == 0;
    char buf[65536];
    off_t total = 0;
    while (ok) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) { ok = r == 0; break; }
        ok = file_write_all(fd, buf, (size_t)r, NULL) == FILE_OK;
        total += r;
    }
    close(in);
    return ok && ftruncate(fd, total) == 0 && fsync(fd) == 0;
}

/* Overwrites the file open as fd with c, keeping its inode (so its owner, group, links,
 * attributes and ACLs). A safety copy of the old bytes is made first and put back when the
 * write fails; it stays (and its name is in copy_left) only when even that fails. */
static file_status file_write_in_place(const file_content *c, int fd, const char *target,
                                       char *copy_left, size_t copy_size, int *err)
{
    char copy[PATH_MAX];
    file_status s = file_safety_copy(fd, target, copy, sizeof copy, err);
    if (s != FILE_OK) return s == FILE_E_IO ? FILE_E_NOCOPY : s;
    if (lseek(fd, 0, SEEK_SET) != 0) s = file_fail(err, errno);
    if (s == FILE_OK) s = file_write_content(c, fd, err);
    if (s == FILE_OK) {
        off_t end = lseek(fd, 0, SEEK_CUR);
        if (end < 0 || ftruncate(fd, end) < 0) s = file_fail(err, errno);
    }
    if (s == FILE_OK && fsync(fd) < 0) s = file_fail(err, errno);
    if (s == FILE_OK || file_restore(fd, copy)) unlink(copy);
    else if (copy_left) snprintf(copy_left, copy_size, "%s", copy);
    return s;
}

/* Writes c through a temporary file renamed over target, giving it the owner, group, mode
 * and extended attributes of the existing file (open as old, stat st). FILE_E_KEEP when one
 * of them cannot be kept: the caller writes in place instead. */
static file_status file_replace(const file_content *c, const char *target, int old,
                                const struct stat *st, bool owner_may_change, int *err)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 32];
    if (!file_dir_of(target, dir, sizeof dir)) return file_fail(err, ENAMETOOLONG);
    int fd = file_temp_beside(target, tmp, sizeof tmp);
    if (fd < 0) {
        if (errno == EACCES || errno == EPERM) return FILE_E_KEEP;   /* the folder */
        return file_fail(err, errno);
    }
    mode_t mode = st->st_mode & 07777;
    file_status s = FILE_OK;
    struct stat ts;
    if (fstat(fd, &ts) < 0) s = file_fail(err, errno);
    else if ((ts.st_uid != st->st_uid || ts.st_gid != st->st_gid) &&
             fchown(fd, st->st_uid, st->st_gid) < 0) {
        if (!owner_may_change) s = FILE_E_KEEP;
        else mode &= ~(mode_t)(S_ISUID | S_ISGID);   /* never on a file whose owner changed */
    }
    if (s == FILE_OK && !file_copy_xattrs(old, fd) && !owner_may_change) s = FILE_E_KEEP;
    if (s == FILE_OK) s = file_write_content(c, fd, err);
    if (s == FILE_OK && fchmod(fd, mode) < 0) s = file_fail(err, errno);
    if (s == FILE_OK && fsync(fd) < 0) s = file_fail(err, errno);
    if (close(fd) < 0 && s == FILE_OK) s = file_fail(err, errno);
    if (s == FILE_OK && rename(tmp, target) < 0) {
        s = errno == EACCES || errno == EPERM ? FILE_E_KEEP : file_fail(err, errno);
    }
    if (s != FILE_OK) { unlink(tmp); return s; }
    file_fsync_dir(dir);
    return FILE_OK;
}

file_status file_save_opts(const text *t, const char *path, file_info *info, unsigned flags,
                           int *err)
{
    return file_save_report(t, path, info, flags, NULL, 0, err);
}

file_status file_save_report(const text *t, const char *path, file_info *info, unsigned flags,
                             char *copy_left, size_t copy_size, int *err)
{
    if (copy_left && copy_size) copy_left[0] = 0;
    struct stat pre;   /* a folder or FIFO there is refused before asking to overwrite it */
    if (stat(path, &pre) == 0 && !S_ISREG(pre.st_mode)) return FILE_E_NOTREG;
    if (!(flags & FILE_SAVE_CHANGED) && file_changed(path, info)) return FILE_E_CHANGED;
    char target[PATH_MAX];
    int e = 0;
    if (!file_resolve(path, target, sizeof target, &e)) return file_fail(err, e);
    file_content c = { .t = t };
    struct stat st;
    file_status s;
    if (stat(target, &st) < 0) {
        if (errno != ENOENT) return file_fail(err, errno);
        mode_t um = umask(022);
        umask(um);
        s = file_write_atomic(&c, target, 0666 & ~um, err);
        if (s == FILE_E_IO && err && (*err == EACCES || *err == EPERM)) s = FILE_E_DIR;
    } else {
        if (!S_ISREG(st.st_mode)) return FILE_E_NOTREG;
        bool writable = access(target, W_OK) == 0 && (st.st_mode & 0222);
        if (!writable && !(flags & FILE_SAVE_READONLY)) return FILE_E_READONLY;
        int fd = open(target, (writable ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 && !writable) fd = open(target, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) return file_fail(err, errno);
        struct stat fs;
        if (fstat(fd, &fs) < 0 || !S_ISREG(fs.st_mode)) { close(fd); return FILE_E_NOTREG; }
        int wfd = fd;
        if (!writable) wfd = open(target, O_WRONLY | O_CLOEXEC);   /* root: a 0444 file */
        s = FILE_E_KEEP;
        if (fs.st_nlink <= 1)   /* several names: only in place do they all see the new text */
            s = file_replace(&c, target, fd, &fs, wfd < 0, err);
        if (s == FILE_E_KEEP) {
            if (wfd < 0) {
                s = FILE_E_READONLY;
            } else {
                s = file_write_in_place(&c, wfd, target, copy_left, copy_size, err);
                struct stat rs;   /* old bytes put back: the same file as info, a new mtime */
                if (s != FILE_OK && !(copy_left && copy_left[0]) && fstat(wfd, &rs) == 0)
                    file_info_from_stat(info, &rs);
            }
        }
        if (wfd >= 0 && wfd != fd) close(wfd);
        close(fd);
    }
    if (s != FILE_OK) return s;
    if (stat(target, &st) == 0) file_info_from_stat(info, &st);
    return FILE_OK;
}

file_status file_save(const text *t, const char *path, file_info *info, bool force, int *err)
{
    return file_save_opts(t, path, info, force ? FILE_SAVE_CHANGED : 0, err);
}

void file_save_message(file_status s, int err, const char *path, const char *copy_left,
                       char *buf, size_t size)
{
    char dir[PATH_MAX];
    if (!file_dir_of(path, dir, sizeof dir)) snprintf(dir, sizeof dir, "its folder");
    switch (s) {
    case FILE_E_DIR:
        snprintf(buf, size, "Cannot save %s: cannot create files in the folder %s (%s)", path, dir,
                 strerror(err ? err : EACCES));
        break;
    case FILE_E_READONLY:
        snprintf(buf, size, "Cannot save %s: the file is read-only", path);
        break;
    case FILE_E_NOCOPY:
        snprintf(buf, size, "Cannot save %s: no safety copy of the old text could be made (%s); "
                 "the file is unchanged", path, strerror(err));
        break;
    case FILE_E_IO:
        if (copy_left && copy_left[0])
            snprintf(buf, size, "Cannot save %s: %s; its old text is kept in %s", path,
                     strerror(err), copy_left);
        else
            snprintf(buf, size, "Cannot save %s: %s", path, strerror(err));
        break;
    default:
        snprintf(buf, size, "Cannot save %s: %s", path, file_status_str(s));
        break;
    }
}

/* ---- recovery ---- */

/* $XDG_STATE_HOME/bd3ed, else ~/.local/state/bd3ed: recovery files and safety copies. */
static bool file_state_dir(char *buf, size_t size)
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

static bool file_recovery_dir(char *buf, size_t size)
{
    return file_state_dir(buf, size);
}

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
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 1099511628211ull; }
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
    char *p = strrchr(buf, ')');   /* the command name may hold spaces and parentheses */
    if (!p) return -1;
    unsigned long long ticks = 0;
    /* after ")": state is field 3; starttime is field 22 */
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " "))
        if (++field == 22) { ticks = strtoull(tok, NULL, 10); break; }
    if (field != 22) return -1;
    static long long boot = -1;   /* boot time, read once */
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
    static long long start;   /* this process's start time */
    static pid_t owner;       /* the process that took start (a fork takes its own) */
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
    if (!file_recovery_dir(dir, sizeof dir) || !file_canonical_path(path, canon, sizeof canon))
        return false;
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
    if (n < ml + 5 || memcmp(b, FILE_RECOVERY_MAGIC, ml) != 0 || memcmp(b + ml, "path ", 5) != 0)
        return 0;
    size_t i = ml + 5, v = 0;
    while (i < n && b[i] >= '0' && b[i] <= '9' && v < PATH_MAX) v = v * 10 + (size_t)(b[i++] - '0');
    if (i >= n || b[i] != '\n' || v != pl) return 0;
    i++;
    if (n - i < pl + 1 || memcmp(b + i, canon, pl) != 0 || b[i + pl] != '\n') return 0;
    return i + pl + 1;
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
    char dir[PATH_MAX], rec[PATH_MAX], canon[PATH_MAX];
    if (!file_recovery_dir(dir, sizeof dir) || !file_canonical_path(path, canon, sizeof canon) ||
        !file_recovery_path(path, rec, sizeof rec))
        return file_fail(err, ENAMETOOLONG);
    int e = file_mkdirs(dir);
    if (e) return file_fail(err, e);
    size_t hl;
    char *h = file_recovery_header(canon, &hl);
    if (!h) return FILE_E_NOMEM;
    file_content c = { .prefix = h, .prefix_len = hl, .t = t, .spans = spans, .n_spans = n };
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
    return s < 0 || (s >= started - 1 && s <= started + 1);   /* no /proc: trust the pid */
}

/* Finds the recovery files of path: this editor's own (own, when wanted), the newest one
 * left by an editor that is no longer running (left), and counts those of editors that are
 * still running (returned). */
static int file_recovery_scan(const char *path, char *own, char *left, long *other_pid)
{
    char dir[PATH_MAX], canon[PATH_MAX], prefix[64];
    if (own) own[0] = 0;
    if (left) left[0] = 0;
    if (other_pid) *other_pid = 0;
    if (!file_recovery_dir(dir, sizeof dir) || !file_canonical_path(path, canon, sizeof canon))
        return 0;
    snprintf(prefix, sizeof prefix, "%s%016llx-", FILE_RECOVERY_NAMED,
             (unsigned long long)file_hash(canon));
    DIR *d = opendir(dir);
    if (!d) return 0;
    size_t hcap = strlen(canon) + 64, pl = strlen(prefix);
    char *head = malloc(hcap);
    long me;
    long long started;
    file_instance(&me, &started);
    int others = 0;
    time_t newest = 0;
    struct dirent *de;
    while (head && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, pl) != 0) continue;
        char *end;
        long pid = strtol(de->d_name + pl, &end, 10);
        if (end == de->d_name + pl || *end != '-') continue;
        long long st_tag = strtoll(end + 1, &end, 10);
        if (*end) continue;
        char full[PATH_MAX];
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
        if (left && (!left[0] || st.st_mtime >= newest)) {
            strcpy(left, full);
            newest = st.st_mtime;
        }
    }
    free(head);
    closedir(d);
    return others;
}

bool file_recovery_exists(const char *path)
{
    char own[PATH_MAX], left[PATH_MAX];
    file_recovery_scan(path, own, left, NULL);
    return own[0] || left[0];
}

int file_recovery_others(const char *path, long *pid)
{
    return file_recovery_scan(path, NULL, NULL, pid);
}

/* Reads a recovery file of canon (header checked) into a new text without its header. */
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
    if (s != FILE_OK) return s;
    size_t n = text_size(raw);
    char *b = malloc(n ? n : 1);
    if (!b) { text_free(raw); return FILE_E_NOMEM; }
    text_read(raw, 0, n, b);
    text_free(raw);
    size_t h = file_recovery_header_match(b, n, canon);
    if (!h) { free(b); return FILE_E_NONE; }
    memmove(b, b + h, n - h);
    *out = text_new_owned(b, n - h, false);
    if (!*out) { free(b); return FILE_E_NOMEM; }
    return FILE_OK;
}

file_status file_recovery_load(const char *path, text **out, int *err)
{
    char own[PATH_MAX], left[PATH_MAX], canon[PATH_MAX];
    *out = NULL;
    if (!file_canonical_path(path, canon, sizeof canon)) return FILE_E_NONE;
    file_recovery_scan(path, own, left, NULL);
    if (own[0]) return file_recovery_read(own, canon, out, err);
    if (!left[0]) return FILE_E_NONE;
    file_status s = file_recovery_read(left, canon, out, err);
    /* the text left by an editor that is gone becomes this editor's recovery file */
    char mine[PATH_MAX];
    if (s == FILE_OK && file_recovery_path(path, mine, sizeof mine)) rename(left, mine);
    return s;
}

void file_recovery_remove(const char *path)
{
    char own[PATH_MAX];
    file_recovery_scan(path, own, NULL, NULL);
    if (own[0]) unlink(own);
}

void file_recovery_discard(const char *path)
{
    char own[PATH_MAX], left[PATH_MAX];
    file_recovery_scan(path, own, left, NULL);
    if (own[0]) unlink(own);
    else if (left[0]) unlink(left);
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
    file_content c = { .t = t, .spans = spans, .n_spans = n };
    return file_write_atomic(&c, rec, 0600, err);
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
