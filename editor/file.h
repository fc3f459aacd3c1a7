/* file.h: loading files into a text (always private memory: no other program can change an
 * open text), saving that keeps what a file is (owner, links, attributes) and refuses to
 * overwrite a file changed on disk, and per-editor recovery files of unsaved changes.
 * Depends on text.h and libc/POSIX only: no screen, no keys. */
#ifndef BD3ED_FILE_H
#define BD3ED_FILE_H

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "text.h"

#define FILE_MMAP_MIN                                                                                        \
    ((size_t)256 << 20)                  /* files of at least this many bytes are read into                  \
                                           anonymous mappings (released page by page), smaller               \
                                           ones into malloc'ed memory; neither shares pages                  \
                                           with the file */
#define FILE_STDIN_MAX ((size_t)1 << 30) /* bytes read from standard input ("-") at most */

typedef enum file_status {
    FILE_OK = 0,
    FILE_E_IO,       /* a system call failed: see the errno value returned beside it */
    FILE_E_NOMEM,    /* an allocation failed */
    FILE_E_CHANGED,  /* the file changed on disk since it was opened or last saved */
    FILE_E_NOTREG,   /* not a regular file (a directory, a device) */
    FILE_E_NONE,     /* no such recovery file */
    FILE_E_TOOBIG,   /* more bytes than the limit asked for */
    FILE_E_READONLY, /* the file may not be written (no write permission): ask first */
    FILE_E_DIR,      /* no file can be created in its folder */
    FILE_E_NOCOPY,   /* an in-place save needs a safety copy of the old text that cannot be made */
} file_status;

const char *file_status_str(file_status s);

/* What a buffer remembers of its file on disk, to detect changes by others. */
typedef struct file_info {
    bool exists;           /* the file existed when opened or last saved */
    dev_t dev;             /* device of the file */
    ino_t ino;             /* inode */
    struct timespec mtime; /* modification time */
    off_t size;            /* bytes */
    mode_t mode;           /* permission bits to keep on save */
} file_info;

/* Loads path into a new text (*out). A missing file gives an empty text with info->exists
 * false and FILE_OK. A FIFO, device or socket is refused (FILE_E_NOTREG) without blocking.
 * On FILE_E_IO *err (when non-NULL) is the errno value. */
file_status file_load(const char *path, text **out, file_info *info, int *err);
/* file_load with another threshold for anonymous mappings (mmap_min bytes and more). The text
 * is a private copy either way: another program writing or truncating the file later does
 * not change it. */
file_status file_load_mmap(const char *path, size_t mmap_min, text **out, file_info *info, int *err);
/* FILE_OK when path is an existing regular file; FILE_E_NOTREG otherwise, found
 * without a blocking open (for keymaps, themes, config and model files). */
file_status file_check_regular(const char *path, int *err);
/* Reads fd to its end into a new text (for "-", standard input): FILE_E_TOOBIG, and no text,
 * when there are more than limit bytes. */
file_status file_load_fd(int fd, size_t limit, text **out, int *err);
/* Writes all of t to fd. */
file_status file_write_fd(const text *t, int fd, int *err);

/* True when path on disk differs (inode, size, mtime, or existence) from info. */
bool file_changed(const char *path, const file_info *info);
/* Saves t to path. A symbolic link (even a dangling one) is followed and its target written.
 * An existing file keeps what it is: atomically (a temporary file in the same folder given the
 * file's owner, group, mode, extended attributes and ACLs, fsync, rename, fsync of the folder)
 * when all of that can be kept; otherwise (several hard links, an owner or attribute this user
 * cannot give, a folder that cannot take new files) in place, after an fsynced safety copy of
 * the old bytes in the state folder that is put back when the write fails. setuid/setgid bits
 * never survive on a file whose owner changed. New files get 0666 less umask.
 * Refuses with FILE_E_CHANGED when the file changed on disk since info was taken (unless
 * FILE_SAVE_CHANGED), with FILE_E_READONLY when it has no write permission for this user or
 * no write bit at all (unless FILE_SAVE_READONLY), with FILE_E_DIR when a new file cannot be
 * created in its folder. On success info describes the file. */
#define FILE_SAVE_CHANGED  1u /* overwrite a file changed on disk since info */
#define FILE_SAVE_READONLY 2u /* overwrite a read-only file (the person confirmed) */
file_status file_save_opts(const text *t, const char *path, file_info *info, unsigned flags, int *err);
/* file_save_opts that also writes into copy_left (copy_size bytes) the safety copy that holds
 * the old text when a failed in-place write could not even be undone ("" otherwise). */
file_status file_save_report(const text *t, const char *path, file_info *info, unsigned flags,
                             char *copy_left, size_t copy_size, int *err);
/* file_save_opts with FILE_SAVE_CHANGED when force. */
file_status file_save(const text *t, const char *path, file_info *info, bool force, int *err);
/* A message for the person about a failed save of path (naming the folder when the folder is
 * the cause, and a safety copy left behind). */
void file_save_message(file_status s, int err, const char *path, const char *copy_left, char *buf,
                       size_t size);
#define FILE_SAFETY_COPY "saved-old-" /* prefix of safety copies in the state folder */

/* ---- recovery files ---- */
/* Each editor process keeps its own recovery file for each file it edits, in
 * $XDG_STATE_HOME/bd3ed (else ~/.local/state/bd3ed), named "file-HASH-PID-START": a hash of
 * the canonical path (symbolic links, "." and ".." resolved), the editor's process id and
 * start time. The file begins with a header that holds the canonical path; a recovery file
 * is only offered for the path its header names. Recovery files of earlier versions (named
 * after the absolute path with '/' written as '%', the text alone) are offered as left over
 * for the path their name spells. */
#define FILE_RECOVERY_NAMED "file-" /* prefix of recovery files of named files */
/* The canonical absolute path of path (which need not exist yet). */
bool file_canonical_path(const char *path, char *buf, size_t size);
/* Path of this editor's recovery file for path. Writes at most size bytes into buf; false
 * when it does not fit or no directory can be found. */
bool file_recovery_path(const char *path, char *buf, size_t size);
/* Writes t as this editor's recovery file of path (atomically, directory created with mode
 * 0700). */
file_status file_recovery_write(const text *t, const char *path, int *err);
/* The same from spans of stored bytes (text_spans), safe to call on another thread. */
file_status file_recovery_write_spans(const text_span *spans, size_t n, const char *path, int *err);
/* True when this editor has a recovery file of path, or an editor that is no longer running
 * (killed, crashed) or an earlier version left one. Those of editors still running are
 * theirs, not offered. */
bool file_recovery_exists(const char *path);
/* How many other running editors keep a recovery file of path (unsaved changes); *pid (when
 * non-NULL) is one of them. */
int file_recovery_others(const char *path, long *pid);
/* True when an earlier version's recovery file has path's name but might as well be another
 * file's on disk (those names wrote '/' and '%' alike: "x%y" and "x/y" shared one): it is
 * never offered, taken or removed for path; its path goes into rec and the other file's into
 * other (PATH_MAX bytes each). */
bool file_recovery_ambiguous(const char *path, char *rec, char *other);
/* Loads this editor's recovery file of path, else the newest left by an editor no longer
 * running or an earlier version (which then becomes this editor's), into a new text without
 * its header; FILE_E_NONE when there is none. */
file_status file_recovery_load(const char *path, text **out, int *err);
/* Removes this editor's recovery file of path (never another running editor's). */
void file_recovery_remove(const char *path);
/* Removes this editor's recovery file of path, else the one file_recovery_load would take
 * (the person declined to recover it). */
void file_recovery_discard(const char *path);

/* Recovery files of unnamed buffers ([new], [stdin]) live in the same folder, named
 * "unnamed-PID-SECONDS-N" after the editor process, its start time and a counter. */
#define FILE_RECOVERY_UNNAMED "unnamed-" /* prefix of their names */
/* A new recovery file path for an unnamed buffer of this process (nothing is created). */
bool file_recovery_unnamed_path(char *buf, size_t size);
/* Writes t (or, when t is NULL, the n spans) as the recovery file at rec (a path from
 * file_recovery_unnamed_path), atomically, creating the folder. */
file_status file_recovery_write_file(const text *t, const text_span *spans, size_t n, const char *rec,
                                     int *err);
/* Recovery files of unnamed buffers left by editors that are no longer running, newest first:
 * writes up to max paths (each PATH_MAX bytes) into paths and returns how many. */
int file_recovery_unnamed_list(char (*paths)[PATH_MAX], int max);

#endif
