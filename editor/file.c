/* file.c: file loading, atomic save and change detection (see file.h); recovery files are in
 * file-recovery.c. Depends on text.h and POSIX only. */
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

file_status file_fail(int *err, int e)
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
file_status file_read_text(int fd, size_t cap, size_t limit, text **out, int *err)
{
    size_t n = 0;
    char *buf = malloc(cap);
    if (!buf) return FILE_E_NOMEM;
    while (n < limit) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return FILE_E_NOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        size_t want = cap - n < limit - n ? cap - n : limit - n;
        ssize_t r = read(fd, buf + n, want);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return file_fail(err, e);
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    *out = text_new_owned(buf, n, false);
    if (!*out) {
        free(buf);
        return FILE_E_NOMEM;
    }
    return FILE_OK;
}

file_status file_load_fd(int fd, size_t limit, text **out, int *err)
{
    file_status s = file_read_text(fd, 65536, limit, out, err);
    if (s != FILE_OK || text_size(*out) < limit) return s;
    char c;
    ssize_t r;
    while ((r = read(fd, &c, 1)) < 0 && errno == EINTR) {}
    if (r == 0) return FILE_OK; /* exactly limit bytes */
    text_free(*out);
    *out = NULL;
    if (r < 0) return file_fail(err, errno);
    return FILE_E_TOOBIG;
}

/* ---- loading ---- */

/* Opens path for reading without ever blocking (a FIFO or a device given as a file) and
 * refuses what is not a regular file. *fd is -1 and the status FILE_OK when path does not
 * exist. */
file_status file_open_regular(const char *path, int *fd, struct stat *st, int *err)
{
    *fd = -1;
    if (stat(path, st) < 0) return errno == ENOENT ? FILE_OK : file_fail(err, errno);
    if (!S_ISREG(st->st_mode)) return FILE_E_NOTREG;
    int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (f < 0) return file_fail(err, errno);
    if (fstat(f, st) < 0) {
        int e = errno;
        close(f);
        return file_fail(err, e);
    }
    if (!S_ISREG(st->st_mode)) {
        close(f);
        return FILE_E_NOTREG;
    } /* replaced meanwhile */
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
        if (r < 0) {
            int e = errno;
            munmap(map, len);
            return file_fail(err, e);
        }
        if (r == 0) break; /* the file shrank while read: what was there */
        n += (size_t)r;
    }
    if (n < len) { /* give back the pages past what was read */
        size_t page = (size_t)sysconf(_SC_PAGESIZE), keep = (n + page - 1) / page * page;
        if (keep < len) munmap(map + keep, len - keep);
        if (n == 0) {
            *out = text_new();
            return *out ? FILE_OK : FILE_E_NOMEM;
        }
        len = n;
    }
    *out = text_new_owned(map, len, true);
    if (!*out) {
        munmap(map, len);
        return FILE_E_NOMEM;
    }
    return FILE_OK;
}

/* Reads exactly the len bytes of a regular file (fewer when it shrinks meanwhile). */
file_status file_load_mmap(const char *path, size_t mmap_min, text **out, file_info *info, int *err)
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
    if (len > 0 && len >= mmap_min)
        s = file_read_private(fd, len, out, err);
    else
        s = file_read_text(fd, len ? len : 1, len, out, err);
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
bool file_dir_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, size, ".");
        return true;
    }
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= size) return false;
    memcpy(dir, path, n);
    dir[n] = 0;
    return true;
}

static void file_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
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
    if (!file_dir_of(target, dir, sizeof dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
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
file_status file_write_atomic(const file_content *c, const char *target, mode_t mode, int *err)
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
    if (s != FILE_OK) {
        unlink(tmp);
        return s;
    }
    file_fsync_dir(dir);
    return FILE_OK;
}

/* ---- saving: what a file is survives a save ---- */

/* Follows symbolic links from path to the file they name, even when it does not exist (a
 * dangling link is written through to its target). */
static bool file_resolve(const char *path, char *out, size_t size, int *e)
{
    char cur[PATH_MAX];
    if (strlen(path) >= sizeof cur) {
        *e = ENAMETOOLONG;
        return false;
    }
    strcpy(cur, path);
    for (int depth = 0; depth < 40; depth++) {
        struct stat st;
        if (lstat(cur, &st) < 0 || !S_ISLNK(st.st_mode)) {
            if (strlen(cur) >= size) {
                *e = ENAMETOOLONG;
                return false;
            }
            strcpy(out, cur);
            return true;
        }
        char link[PATH_MAX];
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n < 0) {
            *e = errno;
            return false;
        }
        link[n] = 0;
        if (link[0] == '/') {
            strcpy(cur, link);
            continue;
        }
        char dir[PATH_MAX]; /* relative: from the link's folder */
        if (!file_dir_of(cur, dir, sizeof dir)) {
            *e = ENAMETOOLONG;
            return false;
        }
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
    if (n < 0) return errno == ENOTSUP; /* none can exist */
    if (n == 0) return true;
    char *names = malloc((size_t)n), *val = NULL;
    size_t val_cap = 0;
    bool ok = names != NULL;
    if (ok) n = flistxattr(from, names, (size_t)n);
    if (n < 0) ok = false;
    for (ssize_t i = 0; ok && i < n; i += (ssize_t)strlen(names + i) + 1) {
        const char *name = names + i;
        ssize_t vl = fgetxattr(from, name, NULL, 0);
        if (vl < 0) {
            ok = false;
            break;
        }
        if ((size_t)vl > val_cap) {
            char *nv = realloc(val, (size_t)vl);
            if (!nv) {
                ok = false;
                break;
            }
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

/* Writes the bytes of the open file fd into a new file of the state folder (mode 0600),
 * fsynced; its name goes into copy. */
static file_status file_safety_copy(int fd, const char *target, char *copy, size_t size, int *err)
{
    char dir[PATH_MAX];
    static unsigned count; /* safety copies made by this process */
    if (!file_state_dir(dir, sizeof dir)) return file_fail(err, ENOENT);
    int e = file_mkdirs(dir);
    if (e) return file_fail(err, e);
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    if (snprintf(copy, size, "%s/%s%.100s-%ld-%u", dir, FILE_SAFETY_COPY, base, (long)getpid(), ++count) >=
        (int)size)
        return file_fail(err, ENAMETOOLONG);
    int out = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) return file_fail(err, errno);
    file_status s = FILE_OK;
    char buf[65536];
    off_t off = 0;
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof buf, off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            s = file_fail(err, errno);
            break;
        }
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
        if (r <= 0) {
            ok = r == 0;
            break;
        }
        ok = file_write_all(fd, buf, (size_t)r, NULL) == FILE_OK;
        total += r;
    }
    close(in);
    return ok && ftruncate(fd, total) == 0 && fsync(fd) == 0;
}

/* Overwrites the file open as fd with c, keeping its inode (so its owner, group, links,
 * attributes and ACLs). A safety copy of the old bytes is made first and put back when the
 * write fails; it stays (and its name is in copy_left) only when even that fails. */
static file_status file_write_in_place(const file_content *c, int fd, const char *target, char *copy_left,
                                       size_t copy_size, int *err)
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
    if (s == FILE_OK || file_restore(fd, copy))
        unlink(copy);
    else if (copy_left)
        snprintf(copy_left, copy_size, "%s", copy);
    return s;
}

/* Writes c through a temporary file renamed over target, giving it the owner, group, mode
 * and extended attributes of the existing file (open as old, stat st). FILE_E_KEEP when one
 * of them cannot be kept: the caller writes in place instead. */
static file_status file_replace(const file_content *c, const char *target, int old, const struct stat *st,
                                bool owner_may_change, int *err)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 32];
    if (!file_dir_of(target, dir, sizeof dir)) return file_fail(err, ENAMETOOLONG);
    int fd = file_temp_beside(target, tmp, sizeof tmp);
    if (fd < 0) {
        if (errno == EACCES || errno == EPERM) return FILE_E_KEEP; /* the folder */
        return file_fail(err, errno);
    }
    mode_t mode = st->st_mode & 07777;
    file_status s = FILE_OK;
    struct stat ts;
    if (fstat(fd, &ts) < 0)
        s = file_fail(err, errno);
    else if ((ts.st_uid != st->st_uid || ts.st_gid != st->st_gid) && fchown(fd, st->st_uid, st->st_gid) < 0) {
        if (!owner_may_change)
            s = FILE_E_KEEP;
        else
            mode &= ~(mode_t)(S_ISUID | S_ISGID); /* never on a file whose owner changed */
    }
    if (s == FILE_OK && !file_copy_xattrs(old, fd) && !owner_may_change) s = FILE_E_KEEP;
    if (s == FILE_OK) s = file_write_content(c, fd, err);
    if (s == FILE_OK && fchmod(fd, mode) < 0) s = file_fail(err, errno);
    if (s == FILE_OK && fsync(fd) < 0) s = file_fail(err, errno);
    if (close(fd) < 0 && s == FILE_OK) s = file_fail(err, errno);
    if (s == FILE_OK && rename(tmp, target) < 0) {
        s = errno == EACCES || errno == EPERM ? FILE_E_KEEP : file_fail(err, errno);
    }
    if (s != FILE_OK) {
        unlink(tmp);
        return s;
    }
    file_fsync_dir(dir);
    return FILE_OK;
}

file_status file_save_opts(const text *t, const char *path, file_info *info, unsigned flags, int *err)
{
    return file_save_report(t, path, info, flags, NULL, 0, err);
}

file_status file_save_report(const text *t, const char *path, file_info *info, unsigned flags,
                             char *copy_left, size_t copy_size, int *err)
{
    if (copy_left && copy_size) copy_left[0] = 0;
    struct stat pre; /* a folder or FIFO there is refused before asking to overwrite it */
    if (stat(path, &pre) == 0 && !S_ISREG(pre.st_mode)) return FILE_E_NOTREG;
    if (!(flags & FILE_SAVE_CHANGED) && file_changed(path, info)) return FILE_E_CHANGED;
    char target[PATH_MAX];
    int e = 0;
    if (!file_resolve(path, target, sizeof target, &e)) return file_fail(err, e);
    file_content c = {.t = t};
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
        if (fstat(fd, &fs) < 0 || !S_ISREG(fs.st_mode)) {
            close(fd);
            return FILE_E_NOTREG;
        }
        int wfd = fd;
        if (!writable) wfd = open(target, O_WRONLY | O_CLOEXEC); /* root: a 0444 file */
        s = FILE_E_KEEP;
        if (fs.st_nlink <= 1) /* several names: only in place do they all see the new text */
            s = file_replace(&c, target, fd, &fs, wfd < 0, err);
        if (s == FILE_E_KEEP) {
            if (wfd < 0) {
                /* confirmed, yet no new file in the folder and no write into this one */
                s = FILE_E_READONLY;
                if (flags & FILE_SAVE_READONLY) {
                    s = FILE_E_DIR;
                    if (err) *err = EACCES;
                }
            } else {
                s = file_write_in_place(&c, wfd, target, copy_left, copy_size, err);
                struct stat rs; /* old bytes put back: the same file as info, a new mtime */
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

void file_save_message(file_status s, int err, const char *path, const char *copy_left, char *buf,
                       size_t size)
{
    char dir[PATH_MAX];
    if (!file_dir_of(path, dir, sizeof dir)) snprintf(dir, sizeof dir, "its folder");
    char full[PATH_MAX]; /* "the folder ." says little: name it */
    if (dir[0] != '/' && realpath(dir, full)) snprintf(dir, sizeof dir, "%s", full);
    switch (s) {
    case FILE_E_DIR:
        snprintf(buf, size, "Cannot save %s: cannot create files in the folder %s (%s)", path, dir,
                 strerror(err ? err : EACCES));
        break;
    case FILE_E_READONLY: snprintf(buf, size, "Cannot save %s: the file is read-only", path); break;
    case FILE_E_NOCOPY:
        snprintf(buf, size,
                 "Cannot save %s: no safety copy of the old text could be made (%s); "
                 "the file is unchanged",
                 path, strerror(err));
        break;
    case FILE_E_IO:
        if (copy_left && copy_left[0])
            snprintf(buf, size, "Cannot save %s: %s; its old text is kept in %s", path, strerror(err),
                     copy_left);
        else
            snprintf(buf, size, "Cannot save %s: %s", path, strerror(err));
        break;
    default: snprintf(buf, size, "Cannot save %s: %s", path, file_status_str(s)); break;
    }
}

/* $XDG_STATE_HOME/bd3ed, else ~/.local/state/bd3ed: recovery files and safety copies. */
bool file_state_dir(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(buf, size, "%s/bd3ed", xdg);
    else {
        const char *home = getenv("HOME");
        if (!home || !home[0]) return false;
        n = snprintf(buf, size, "%s/.local/state/bd3ed", home);
    }
    return n > 0 && (size_t)n < size;
}

/* mkdir -p with mode 0700 for each missing component. */
int file_mkdirs(const char *dir)
{
    char tmp[PATH_MAX];
    if (strlen(dir) >= sizeof tmp) return ENAMETOOLONG;
    strcpy(tmp, dir);
    for (char *p = tmp + 1;; p++) {
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
