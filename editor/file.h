/* file.h: loading files into a text (private memory; mmap only for very large ones, guarded
 * against truncation by another program), atomic saving that refuses to
 * overwrite a file changed on disk since it was opened, and recovery files of unsaved changes.
 * Depends on text.h and libc/POSIX only: no screen, no keys. */
#ifndef BD3ED_FILE_H
#define BD3ED_FILE_H

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "text.h"

#define FILE_MMAP_MIN ((size_t)256 << 20) /* files of at least this many bytes are mmapped; smaller
                                            ones are read into private memory, so that another
                                            program truncating them cannot touch the buffer */

typedef enum file_status {
    FILE_OK = 0,
    FILE_E_IO,        /* a system call failed: see the errno value returned beside it */
    FILE_E_NOMEM,     /* an allocation failed */
    FILE_E_CHANGED,   /* the file changed on disk since it was opened or last saved */
    FILE_E_NOTREG,    /* not a regular file (a directory, a device) */
    FILE_E_NONE,      /* no such recovery file */
} file_status;

const char *file_status_str(file_status s);

/* What a buffer remembers of its file on disk, to detect changes by others. */
typedef struct file_info {
    bool exists;             /* the file existed when opened or last saved */
    dev_t dev;               /* device of the file */
    ino_t ino;               /* inode */
    struct timespec mtime;   /* modification time */
    off_t size;              /* bytes */
    mode_t mode;             /* permission bits to keep on save */
} file_info;

/* Loads path into a new text (*out). A missing file gives an empty text with info->exists
 * false and FILE_OK. On FILE_E_IO *err (when non-NULL) is the errno value. */
file_status file_load(const char *path, text **out, file_info *info, int *err);
/* file_load with another mmap threshold (files of at least mmap_min bytes are mapped). A
 * mapped file that another program truncates does not crash the editor: the read of a page
 * past the new end fails with SIGBUS, which a handler turns into zero bytes for the rest of
 * the mapping and records (see file_mmap_fault_take). */
file_status file_load_mmap(const char *path, size_t mmap_min, text **out, file_info *info,
                           int *err);
/* Takes one not yet reported mapped file that was truncated under the editor: writes its path
 * into buf (size bytes) and returns true; false when there is none. */
bool file_mmap_fault_take(char *buf, size_t size);
/* Reads fd to its end into a new text (for "-", standard input). */
file_status file_load_fd(int fd, text **out, int *err);
/* Writes all of t to fd. */
file_status file_write_fd(const text *t, int fd, int *err);

/* True when path on disk differs (inode, size, mtime, or existence) from info. */
bool file_changed(const char *path, const file_info *info);
/* Saves t to path atomically: a temporary file in the same directory, fsync, rename over path,
 * fsync of the directory; keeps the mode of the existing file (new files: 0666 less umask). A
 * symbolic link is followed and its target replaced. Unless force, refuses with FILE_E_CHANGED
 * when the file changed on disk since info was taken. On success info describes the new file. */
file_status file_save(const text *t, const char *path, file_info *info, bool force, int *err);

/* ---- recovery files ---- */
/* Path of the recovery file for path in $XDG_STATE_HOME/bd3ed (else ~/.local/state/bd3ed),
 * named after the absolute path ('/' written as '%'). Writes at most size bytes into buf;
 * false when it does not fit or no directory can be found. */
bool file_recovery_path(const char *path, char *buf, size_t size);
/* Writes t as the recovery file of path (atomically, directory created with mode 0700). */
file_status file_recovery_write(const text *t, const char *path, int *err);
/* The same from spans of stored bytes (text_spans), safe to call on another thread. */
file_status file_recovery_write_spans(const text_span *spans, size_t n, const char *path, int *err);
bool file_recovery_exists(const char *path);
/* Loads the recovery file of path into a new text; FILE_E_NONE when there is none. */
file_status file_recovery_load(const char *path, text **out, int *err);
void file_recovery_remove(const char *path);

/* Recovery files of unnamed buffers ([new], [stdin]) live in the same folder, named
 * "unnamed-PID-SECONDS-N" after the editor process, its start time and a counter. */
#define FILE_RECOVERY_UNNAMED "unnamed-"   /* prefix of their names */
/* A new recovery file path for an unnamed buffer of this process (nothing is created). */
bool file_recovery_unnamed_path(char *buf, size_t size);
/* Writes t (or, when t is NULL, the n spans) as the recovery file at rec (a path from
 * file_recovery_unnamed_path), atomically, creating the folder. */
file_status file_recovery_write_file(const text *t, const text_span *spans, size_t n,
                                     const char *rec, int *err);
/* Recovery files of unnamed buffers left by editors that are no longer running, newest first:
 * writes up to max paths (each PATH_MAX bytes) into paths and returns how many. */
int file_recovery_unnamed_list(char (*paths)[PATH_MAX], int max);

#endif
