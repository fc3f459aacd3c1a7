/* view.h: maps stored bytes to screen cells: grapheme clusters and their widths (libutf8proc),
 * tabs, soft wrap at word boundaries, visible forms of invalid bytes (<ff>) and control
 * characters (^[, <U+202E>). Depends on text.h and libutf8proc: no curses, no editor state. */
#ifndef BD3ED_VIEW_H
#define BD3ED_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "text.h"

#define VIEW_GLYPH_MAX   40    /* bytes of a cell's glyph, NUL included */
#define VIEW_CLUSTER_MAX 256   /* bytes of one grapheme cluster; longer ones are split */
#define VIEW_ANCHOR      65536 /* lines longer than this are laid out from anchors this far apart */

typedef enum view_cell_kind {
    VIEW_CELL_TEXT,    /* a grapheme cluster, glyph = its bytes (possibly cut short) */
    VIEW_CELL_TAB,     /* a tab, glyph = spaces */
    VIEW_CELL_CONTROL, /* a control or invisible format character, glyph "^[" or "<U+202E>" */
    VIEW_CELL_INVALID, /* a byte that is not valid UTF-8, glyph "<ff>" */
    VIEW_CELL_HANG,    /* a blank that ends a wrapped row, drawn as nothing (width 0) */
} view_cell_kind;

typedef struct view_cell {
    size_t pos;                 /* byte offset of the first byte */
    uint32_t len;               /* bytes covered */
    uint16_t col;               /* first screen column in the row */
    uint8_t width;              /* screen columns, 0 only for VIEW_CELL_HANG */
    uint8_t kind;               /* view_cell_kind */
    char glyph[VIEW_GLYPH_MAX]; /* UTF-8 text to draw, NUL-terminated, never a control byte */
} view_cell;

typedef struct view_opts {
    int width;     /* columns of the text area, >= 1 */
    bool wrap;     /* soft wrap at word boundaries; else one row per line */
    int tab_width; /* columns between tab stops, >= 1 */
    long hscroll;  /* first column shown when not wrapping */
} view_opts;

typedef struct view_row {
    size_t start;       /* byte offset of the row's first byte */
    size_t end;         /* byte offset after the row (after its newline, if any) */
    size_t content_end; /* byte offset after the last cell (the newline's position, if any) */
    bool newline;       /* the row ends a line */
    bool last;          /* the last row of the text (ends at text_size without a newline) */
    int n_cells;        /* cells used */
    int cap_cells;      /* cells allocated */
    view_cell *cells;   /* cap_cells cells */
} view_row;

/* Allocates a row's cells for a text area width (cells = width + 1). false when out of memory. */
bool view_row_init(view_row *row, int width);
void view_row_release(view_row *row);

/* Lays out the screen row that starts at start (a row start: a line start or a wrap point).
 * Returns the start of the next row (== text_size at the end of the text; the last row of a
 * text ending in a newline is the empty row at text_size). */
size_t view_row_layout(const text *t, size_t start, const view_opts *o, view_row *row);

/* Start of the line holding pos (after the previous '\n'), and end (the '\n' or text_size). */
size_t view_line_start(const text *t, size_t pos);
size_t view_line_end(const text *t, size_t pos);
/* Start of the screen row holding pos. */
size_t view_row_start(const text *t, size_t pos, const view_opts *o);
/* Start of the row before the one starting at row_start (row_start itself when it is 0). */
size_t view_row_prev(const text *t, size_t row_start, const view_opts *o);
/* True when the row holds pos (the end of the text belongs to the last row). */
bool view_row_has(const view_row *row, size_t pos, size_t text_size);
/* Screen column of pos in a row that holds it. */
int view_row_col(const view_row *row, size_t pos);
/* Byte position shown at column col of the row (the nearest cell start; past the last cell:
 * content_end). */
size_t view_row_pos(const view_row *row, int col);

/* Screen column of pos counted from the row start rs (tabs expanded), as if the line were not
 * wrapped: for horizontal scrolling. */
long view_col_from(const text *t, size_t rs, size_t pos, const view_opts *o);
/* Work done by this thread's layout so far: cells made plus bytes scanned. Tests compare it
 * before and after a key to check that a key costs what the screen shows, not the line. */
size_t view_work(void);

/* Newlines in [from, to). */
size_t view_count_lines(const text *t, size_t from, size_t to);
/* Position of the start of line number line (0-based); text_size when beyond the last line. */
size_t view_line_pos(const text *t, size_t line);

/* Decodes the code point at pos: returns it and sets *len, or -1 for an invalid byte (*len 1)
 * or the end of the text (*len 0). */
int32_t view_decode(const text *t, size_t pos, int *len);
/* Next/previous grapheme cluster boundary after/before pos (an invalid byte is one cluster). */
size_t view_next_cluster(const text *t, size_t pos);
size_t view_prev_cluster(const text *t, size_t pos);
/* pos when it is a cluster boundary (or the text's end), else the start of the cluster it is
 * inside: where a cursor given by a position from elsewhere (undo, a mark) may sit. */
size_t view_cluster_start(const text *t, size_t pos);

#endif
