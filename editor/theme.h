/* theme.h: editor colours and the confidence palette as data (themes/NAME.theme), and their
 * reduction to what the terminal can show (truecolour -> 256 -> 8 -> attributes only).
 * Depends on libc only: no curses; the terminal code applies the resolved numbers.
 *
 * File format (one item per line, fields separated by blanks, '#' starts a comment line):
 *   include NAME                   read NAME.theme first, then override it
 *   SLOT FG [BG] [ATTR...]         FG/BG: default | black red green yellow blue magenta cyan
 *                                  white | 0..255 | #rrggbb; ATTR: bold underline dim reverse
 *                                  italic (or "plain" for none); BG omitted = default
 *   thresholds T1 T2 T3 T4         confidence bucket limits, increasing, in (0, 1): a token of
 *                                  probability p is conf0 when p < T1, conf1 when p < T2, ...,
 *                                  conf4 when p >= T4 (conf0 = least confident) */
#ifndef BD3ED_THEME_H
#define BD3ED_THEME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define THEME_MAX_LINE  1024 /* bytes of one line of a theme file */
#define THEME_MAX_DEPTH 8    /* nested includes */
#define THEME_MAX_DIRS  4    /* search directories */
#define THEME_N_BUCKETS 5    /* confidence buckets conf0..conf4 */

typedef enum theme_status {
    THEME_OK = 0,
    THEME_E_IO,     /* a file could not be read, or a theme name was not found */
    THEME_E_SYNTAX, /* a malformed line (message in err: "file:line: problem") */
    THEME_E_NOMEM,  /* an allocation failed */
    THEME_E_ARG,    /* invalid argument */
} theme_status;

const char *theme_status_str(theme_status s);

typedef enum theme_slot {
    THEME_NORMAL,      /* "normal": text */
    THEME_SELECTION,   /* "selection" */
    THEME_STATUS,      /* "status": status line */
    THEME_MESSAGE,     /* "message": message line */
    THEME_ERROR,       /* "error": error messages */
    THEME_LINE_NUMBER, /* "line-number" */
    THEME_SEARCH,      /* "search": search matches */
    THEME_MASK,        /* "mask": placeholder of a masked token */
    THEME_CONTROL,     /* "control": glyphs of control characters (^[) */
    THEME_INVALID,     /* "invalid": glyphs of invalid bytes (<ff>) */
    THEME_LEGEND,      /* "legend": heatmap legend frame and text */
    THEME_CONF0,       /* "conf0": least confident tokens */
    THEME_CONF1,       /* "conf1" */
    THEME_CONF2,       /* "conf2" */
    THEME_CONF3,       /* "conf3" */
    THEME_CONF4,       /* "conf4": most confident tokens */
    THEME_N_SLOTS,
} theme_slot;

typedef enum theme_color_kind {
    THEME_COLOR_DEFAULT, /* the terminal's default colour */
    THEME_COLOR_INDEX,   /* value: palette index 0..255 (0..7 = the 8 named colours) */
    THEME_COLOR_RGB,     /* value: 0xRRGGBB */
} theme_color_kind;

typedef struct theme_color {
    theme_color_kind kind; /* see above */
    uint32_t value;        /* index or 0xRRGGBB; 0 for DEFAULT */
} theme_color;

enum {
    THEME_ATTR_BOLD = 1u << 0,
    THEME_ATTR_UNDERLINE = 1u << 1,
    THEME_ATTR_DIM = 1u << 2,
    THEME_ATTR_REVERSE = 1u << 3,
    THEME_ATTR_ITALIC = 1u << 4,
};

typedef struct theme_style {
    theme_color fg; /* foreground */
    theme_color bg; /* background */
    unsigned attr;  /* THEME_ATTR_* bits */
} theme_style;

/* What the terminal can show; theme_depth_from_colors maps curses' COLORS to it. */
typedef enum theme_depth {
    THEME_DEPTH_NONE, /* no colour: attributes only */
    THEME_DEPTH_8,    /* 8 colours */
    THEME_DEPTH_256,  /* 256-colour palette */
    THEME_DEPTH_TRUE, /* 24-bit colour */
} theme_depth;

/* A style reduced to a depth: fg/bg are -1 (terminal default) or a colour number to hand to the
 * terminal: 0..7 at DEPTH_8, 0..255 at DEPTH_256; at DEPTH_TRUE 0..7 for the named colours and
 * 0xRRGGBB (>= 8) otherwise (as ncurses' direct-colour terminals expect). */
typedef struct theme_resolved {
    int32_t fg;    /* -1 or colour number, see above */
    int32_t bg;    /* -1 or colour number */
    unsigned attr; /* THEME_ATTR_* bits */
} theme_resolved;

typedef struct theme theme;

/* A theme with built-in defaults (terminal colours with attributes, usable at every depth). */
theme *theme_new(void);
void theme_free(theme *t); /* NULL is a no-op */

/* Directory searched for NAME.theme by theme_load_name and "include NAME", in the order added. */
theme_status theme_add_dir(theme *t, const char *dir);
/* Loads a theme over what t holds. On error err holds "file:line: message". */
theme_status theme_load_name(theme *t, const char *name, char *err, size_t err_size);
theme_status theme_load_file(theme *t, const char *path, char *err, size_t err_size);
theme_status theme_load_string(theme *t, const char *text, size_t len, const char *source, char *err,
                               size_t err_size);

const theme_style *theme_style_get(const theme *t, theme_slot slot); /* NULL for a bad slot */
const char *theme_slot_name(theme_slot slot);                        /* "" for a bad slot */
int theme_slot_find(const char *name);                               /* slot, or -1 */
/* Upper limits T1..T4 of buckets conf0..conf3 (THEME_N_BUCKETS - 1 values, increasing). */
const float *theme_thresholds(const theme *t);
/* Bucket 0..4 of a token probability (NaN and p < T1 give 0). */
int theme_confidence_bucket(const theme *t, float p);

/* Parses a colour ("red", "default", "203", "#ff8800"); 0 on success, -1 if malformed. */
int theme_color_parse(const char *text, theme_color *out);
/* Reduces one colour to a depth (see theme_resolved): RGB to the nearest xterm-256 entry or the
 * nearest of the 8 named colours; -1 for DEFAULT and at DEPTH_NONE. Pure. */
int32_t theme_color_resolve(theme_color c, theme_depth depth);
/* Reduces the style of slot to depth. At DEPTH_NONE (or when the colours of a slot that must
 * stand out collapse onto its background) the slot's attributes are used, and a slot without
 * attributes gets the built-in monochrome ones (selection reverse, conf0 underline, ...). */
theme_resolved theme_style_resolve(const theme *t, theme_slot slot, theme_depth depth);
/* Depth for a terminal with `colors` colours (curses COLORS; >= 2^24 means direct colour). */
theme_depth theme_depth_from_colors(long colors);
/* RGB (0xRRGGBB) of an xterm palette index 0..255 (the standard xterm values). */
uint32_t theme_index_rgb(int index);

#endif
