/* file-core.h: helpers that file.c (loading, saving) shares with file-recovery.c (recovery
 * files); included by those two files only. Depends on file.h. */
#ifndef BD3ED_FILE_CORE_H
#define BD3ED_FILE_CORE_H

#include "file.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* What to write: a prefix of bytes (may be empty), then a text or, when it is NULL, spans. */
typedef struct file_content {
    const char *prefix;     /* bytes before the text (a recovery header), or NULL */
    size_t prefix_len;      /* bytes */
    const text *t;          /* the text, or NULL for spans */
    const text_span *spans; /* n_spans runs of stored bytes when t is NULL */
    size_t n_spans;         /* count */
} file_content;

/* Stores errno e into *err (when err is set) and returns FILE_E_IO. */
file_status file_fail(int *err, int e);
/* Reads fd to its end (at most limit bytes) into a new text, starting with a buffer of cap. */
file_status file_read_text(int fd, size_t cap, size_t limit, text **out, int *err);
/* Opens path for reading only when it is a regular file (never blocks on a FIFO); *st is its stat. */
file_status file_open_regular(const char *path, int *fd, struct stat *st, int *err);
/* Splits path into its directory (written into dir, "." when none). */
bool file_dir_of(const char *path, char *dir, size_t size);
/* Writes c to a temporary file beside target with the given mode, then renames it over target. */
file_status file_write_atomic(const file_content *c, const char *target, mode_t mode, int *err);
/* $XDG_STATE_HOME/bd3ed, else ~/.local/state/bd3ed: recovery files and safety copies. */
bool file_state_dir(char *buf, size_t size);
/* mkdir -p with mode 0700; 0 or an errno value. */
int file_mkdirs(const char *dir);

#endif
