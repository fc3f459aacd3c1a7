/* lines.h: splits the text of a keymap, theme or config file into checked lines for its parser.
 * Depends on libc only. */
#ifndef BD3ED_LINES_H
#define BD3ED_LINES_H

#include <stddef.h>

typedef enum lines_status {
    LINES_OK,     /* a line was read */
    LINES_END,    /* no lines left */
    LINES_E_LINE, /* the line is too long or holds a NUL byte; err says which */
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

#endif
