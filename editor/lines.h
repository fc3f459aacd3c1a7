/* lines.h: reads a keymap, theme or config file, splits its text into checked lines for its
 * parser, and checks the names and formats the "file:line:" messages of those parsers.
 * Depends on libc/POSIX only. */
#ifndef BD3ED_LINES_H
#define BD3ED_LINES_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

typedef enum lines_status {
    LINES_OK,      /* a line (or the file) was read */
    LINES_END,     /* no lines left */
    LINES_E_LINE,  /* the line is too long or holds a NUL byte; err says which */
    LINES_E_OPEN,  /* the file cannot be opened (errno in *err_no) */
    LINES_E_TYPE,  /* the file is not a regular file */
    LINES_E_BIG,   /* the file is larger than the limit */
    LINES_E_NOMEM, /* out of memory */
    LINES_E_READ,  /* reading the file failed */
} lines_status;

/* A position in a text being split; set it up with lines_init. */
typedef struct lines_reader {
    const char *text;   /* the text, len bytes, not NUL-terminated */
    size_t len;         /* bytes of text */
    size_t pos;         /* offset in text of the next line */
    int line;           /* 1-based number of the line last read; 0 before the first */
    const char *source; /* file name that messages start with */
} lines_reader;

/* Prepares r to read text[0..len) from the start; source names it in messages. */
void lines_init(lines_reader *r, const char *text, size_t len, const char *source);

/* Copies the next line into buf (max_line + 1 bytes): '\n' and one '\r' before it removed,
 * NUL-terminated; r->line is its number. A line longer than max_line bytes or holding a NUL byte
 * gives LINES_E_LINE and "source:line: why" in err (when err is not NULL). */
lines_status lines_next(lines_reader *r, char *buf, size_t max_line, char *err, size_t err_size);

/* Writes "source:line: " and the printf-style message into err (nothing when err is NULL). */
void lines_verror(char *err, size_t err_size, const char *source, int line, const char *fmt, va_list ap);

/* True for a name of letters, digits, '-', '_', '.' (not starting with '.'), below max bytes:
 * safe to join to a directory as a file name. */
bool lines_valid_name(const char *s, size_t max);

#define LINES_MAX_NAME 32 /* bytes of a file's name kept for messages, NUL included */

/* A file being read, to refuse including it again inside itself. */
typedef struct lines_file_id {
    dev_t dev;                 /* device of the file */
    ino_t ino;                 /* inode of the file */
    char name[LINES_MAX_NAME]; /* its name without folder and ".ext" (cut to fit), for messages */
} lines_file_id;

/* The id of the file at path, of status st, whose name ends in "." ext. */
lines_file_id lines_file_id_of(const char *path, const struct stat *st, const char *ext);

/* Writes into path (size bytes) the first dirs[d]/name.ext, d in 0..n_dirs, that exists and is
 * none of the files busy[0..n_busy). False when there is none. */
bool lines_find(char *const *dirs, int n_dirs, const char *name, const char *ext, const lines_file_id *busy,
                int n_busy, char *path, size_t size);

/* Including name.ext from inside the files busy[0..n_busy) (the outermost first) closes a
 * cycle: the first dirs[d]/name.ext is one of them. Then writes the cycle from it to name,
 * "a -> b -> a", into chain (size bytes) and returns true. */
bool lines_include_cycle(char *const *dirs, int n_dirs, const char *name, const char *ext,
                         const lines_file_id *busy, int n_busy, char *chain, size_t size);

/* Reads the regular file at path, of at most max_size bytes, into *text (malloc'd, *len bytes,
 * the caller frees it) and its status into *st. LINES_OK or one of the LINES_E_* file errors,
 * with errno in *err_no for LINES_E_OPEN. */
lines_status lines_read_file(const char *path, size_t max_size, char **text, size_t *len, struct stat *st,
                             int *err_no);

/* Writes the message of the file error s of lines_read_file into err: "path: why", or
 * "from:from_line: include path: why" when from is not NULL. */
void lines_file_error(lines_status s, int err_no, const char *path, size_t max_size, const char *from,
                      int from_line, char *err, size_t err_size);

#endif
