/* theme.c: the theme file parser, built-in defaults, and the pure reduction of colours to the
 * terminal's depth. Depends on libc only: no curses (the terminal code applies the results). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "lines.h"
#include "theme.h"

#define THEME_MAX_FILE (1u << 20) /* bytes of one theme file */
#define THEME_MAX_NAME 32         /* bytes of a theme name, NUL included */

struct theme {
    theme_style styles[THEME_N_SLOTS];     /* one style per slot */
    float thresholds[THEME_N_BUCKETS - 1]; /* upper limits of conf0..conf3, increasing */
    char *dirs[THEME_MAX_DIRS];            /* search directories, n_dirs used (malloc'd) */
    int n_dirs;                            /* 0..THEME_MAX_DIRS */
    lines_file_id stack[THEME_MAX_DEPTH];  /* files being read (include nesting), depth used */
    int depth;                             /* 0..THEME_MAX_DEPTH */
};

static const char *const theme_slot_names[THEME_N_SLOTS] = {
    "normal",  "selection", "status", "message", "error", "line-number", "search", "mask",
    "control", "invalid",   "legend", "conf0",   "conf1", "conf2",       "conf3",  "conf4",
};

/* Attributes a slot gets when colours are not available (or collapse), per slot. */
static const unsigned theme_mono_attr[THEME_N_SLOTS] = {
    [THEME_NORMAL] = 0,
    [THEME_SELECTION] = THEME_ATTR_REVERSE,
    [THEME_STATUS] = THEME_ATTR_REVERSE,
    [THEME_MESSAGE] = 0,
    [THEME_ERROR] = THEME_ATTR_BOLD,
    [THEME_LINE_NUMBER] = THEME_ATTR_DIM,
    [THEME_SEARCH] = THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE,
    [THEME_MASK] = THEME_ATTR_DIM,
    [THEME_CONTROL] = THEME_ATTR_BOLD,
    [THEME_INVALID] = THEME_ATTR_REVERSE,
    [THEME_LEGEND] = 0,
    [THEME_CONF0] = THEME_ATTR_REVERSE,
    [THEME_CONF1] = THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE,
    [THEME_CONF2] = THEME_ATTR_UNDERLINE,
    [THEME_CONF3] = 0,
    [THEME_CONF4] = THEME_ATTR_DIM,
};

static const char *const theme_color_names[8] = {
    "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
};

const char *theme_status_str(theme_status s)
{
    switch (s) {
    case THEME_OK: return "success";
    case THEME_E_IO: return "theme file not found or unreadable";
    case THEME_E_SYNTAX: return "malformed theme line";
    case THEME_E_NOMEM: return "out of memory";
    case THEME_E_ARG: return "invalid argument";
    }
    return "unknown status";
}

theme *theme_new(void)
{
    theme *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    for (int i = 0; i < THEME_N_SLOTS; i++) t->styles[i].attr = theme_mono_attr[i];
    t->styles[THEME_ERROR].fg = (theme_color){THEME_COLOR_INDEX, 1};
    t->styles[THEME_CONTROL].fg = (theme_color){THEME_COLOR_INDEX, 6};
    t->styles[THEME_INVALID].fg = (theme_color){THEME_COLOR_INDEX, 1};
    t->styles[THEME_SEARCH].fg = (theme_color){THEME_COLOR_INDEX, 3};
    static const float defaults[THEME_N_BUCKETS - 1] = {0.1f, 0.3f, 0.6f, 0.9f};
    memcpy(t->thresholds, defaults, sizeof defaults);
    return t;
}

void theme_free(theme *t)
{
    if (!t) return;
    for (int i = 0; i < t->n_dirs; i++) free(t->dirs[i]);
    free(t);
}

theme_status theme_add_dir(theme *t, const char *dir)
{
    if (!t || !dir || !*dir || t->n_dirs == THEME_MAX_DIRS) return THEME_E_ARG;
    char *copy = strdup(dir);
    if (!copy) return THEME_E_NOMEM;
    t->dirs[t->n_dirs++] = copy;
    return THEME_OK;
}

const theme_style *theme_style_get(const theme *t, theme_slot slot)
{
    return t && (unsigned)slot < THEME_N_SLOTS ? &t->styles[slot] : NULL;
}

const char *theme_slot_name(theme_slot slot)
{
    return (unsigned)slot < THEME_N_SLOTS ? theme_slot_names[slot] : "";
}

int theme_slot_find(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < THEME_N_SLOTS; i++)
        if (strcmp(theme_slot_names[i], name) == 0) return i;
    return -1;
}

const float *theme_thresholds(const theme *t) { return t->thresholds; }

int theme_confidence_bucket(const theme *t, float p)
{
    if (!t || isnan(p)) return 0;
    int b = 0;
    while (b < THEME_N_BUCKETS - 1 && p >= t->thresholds[b]) b++;
    return b;
}

/* ---- colours ---- */

uint32_t theme_index_rgb(int index)
{
    static const uint32_t base16[16] = {
        0x000000, 0xcd0000, 0x00cd00, 0xcdcd00, 0x0000ee, 0xcd00cd, 0x00cdcd, 0xe5e5e5,
        0x7f7f7f, 0xff0000, 0x00ff00, 0xffff00, 0x5c5cff, 0xff00ff, 0x00ffff, 0xffffff,
    };
    if (index < 0 || index > 255) return 0;
    if (index < 16) return base16[index];
    if (index >= 232) {
        uint32_t g = 8 + 10 * (uint32_t)(index - 232);
        return g << 16 | g << 8 | g;
    }
    static const uint32_t level[6] = {0, 95, 135, 175, 215, 255};
    int i = index - 16;
    return level[i / 36] << 16 | level[(i / 6) % 6] << 8 | level[i % 6];
}

/* Perceptual-ish distance between two RGB colours ("redmean" weighting). */
static long theme_rgb_distance(uint32_t a, uint32_t b)
{
    long ar = (long)(a >> 16 & 0xff), ag = (long)(a >> 8 & 0xff), ab = (long)(a & 0xff);
    long br = (long)(b >> 16 & 0xff), bg = (long)(b >> 8 & 0xff), bb = (long)(b & 0xff);
    long rmean = (ar + br) / 2, dr = ar - br, dg = ag - bg, db = ab - bb;
    return ((512 + rmean) * dr * dr >> 8) + 4 * dg * dg + ((767 - rmean) * db * db >> 8);
}

/* Nearest palette index in [lo, hi] to rgb. */
static int theme_nearest_index(uint32_t rgb, int lo, int hi)
{
    int best = lo;
    long best_d = -1;
    for (int i = lo; i <= hi; i++) {
        long d = theme_rgb_distance(rgb, theme_index_rgb(i));
        if (best_d < 0 || d < best_d) {
            best_d = d;
            best = i;
        }
    }
    return best;
}

int theme_color_parse(const char *text, theme_color *out)
{
    if (!text || !out) return -1;
    if (strcmp(text, "default") == 0) {
        *out = (theme_color){THEME_COLOR_DEFAULT, 0};
        return 0;
    }
    for (uint32_t i = 0; i < 8; i++) {
        if (strcmp(text, theme_color_names[i]) == 0) {
            *out = (theme_color){THEME_COLOR_INDEX, i};
            return 0;
        }
        if (strncmp(text, "bright-", 7) == 0 && strcmp(text + 7, theme_color_names[i]) == 0) {
            *out = (theme_color){THEME_COLOR_INDEX, i + 8};
            return 0;
        }
    }
    size_t n = strlen(text);
    if (text[0] == '#') {
        if (n != 7) return -1;
        uint32_t v = 0;
        for (size_t i = 1; i < 7; i++) {
            char c = text[i];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0) return -1;
            v = v << 4 | (uint32_t)d;
        }
        *out = (theme_color){THEME_COLOR_RGB, v};
        return 0;
    }
    if (n == 0 || n > 3) return -1;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] < '0' || text[i] > '9') return -1;
        v = v * 10 + (uint32_t)(text[i] - '0');
    }
    if (v > 255) return -1;
    *out = (theme_color){THEME_COLOR_INDEX, v};
    return 0;
}

int32_t theme_color_resolve(theme_color c, theme_depth depth)
{
    if (depth == THEME_DEPTH_NONE || c.kind == THEME_COLOR_DEFAULT) return -1;
    uint32_t rgb;
    if (c.kind == THEME_COLOR_INDEX) {
        if (c.value > 255) return -1;
        switch (depth) {
        case THEME_DEPTH_256: return (int32_t)c.value;
        case THEME_DEPTH_8:
            if (c.value < 8) return (int32_t)c.value;
            if (c.value < 16) return (int32_t)c.value - 8;
            return theme_nearest_index(theme_index_rgb((int)c.value), 0, 7);
        default:
            if (c.value < 8) return (int32_t)c.value;
            rgb = theme_index_rgb((int)c.value);
            return rgb < 8 ? 8 : (int32_t)rgb;
        }
    }
    if (c.kind != THEME_COLOR_RGB) return -1;
    rgb = c.value & 0xffffff;
    switch (depth) {
    case THEME_DEPTH_256: return theme_nearest_index(rgb, 16, 255);
    case THEME_DEPTH_8: return theme_nearest_index(rgb, 0, 7);
    default: return rgb < 8 ? 8 : (int32_t)rgb; /* 0..7 would mean the palette */
    }
}

theme_depth theme_depth_from_colors(long colors)
{
    if (colors >= 0x1000000L) return THEME_DEPTH_TRUE;
    if (colors >= 256) return THEME_DEPTH_256;
    if (colors >= 8) return THEME_DEPTH_8;
    return THEME_DEPTH_NONE;
}

/* The style of slot reduced to depth, without the collapse rules. */
static theme_resolved theme_resolve_plain(const theme *t, int slot, theme_depth depth)
{
    const theme_style *s = &t->styles[slot];
    theme_resolved r = {theme_color_resolve(s->fg, depth), theme_color_resolve(s->bg, depth), s->attr};
    if (depth == THEME_DEPTH_NONE && !r.attr) r.attr = theme_mono_attr[slot];
    return r;
}

theme_resolved theme_style_resolve(const theme *t, theme_slot slot, theme_depth depth)
{
    theme_resolved none = {-1, -1, 0};
    if (!t || (unsigned)slot >= THEME_N_SLOTS) return none;
    theme_resolved r = theme_resolve_plain(t, slot, depth);
    if (depth == THEME_DEPTH_NONE) return r;
    unsigned mono = t->styles[slot].attr ? t->styles[slot].attr : theme_mono_attr[slot];
    if (r.fg >= 0 && r.fg == r.bg) {
        /* Text would vanish: drop the colours, show the slot by attributes. */
        r.fg = r.bg = -1;
        r.attr |= mono;
    }
    if (slot >= THEME_CONF0 && slot <= THEME_CONF4) {
        /* Buckets that reduce to the same look are told apart by their attributes. */
        for (int o = THEME_CONF0; o <= THEME_CONF4; o++) {
            if (o == (int)slot) continue;
            theme_resolved q = theme_resolve_plain(t, o, depth);
            if (q.fg == q.bg) q.fg = q.bg = -1;
            if (q.fg == r.fg && q.bg == r.bg && q.attr == r.attr) {
                r.attr |= theme_mono_attr[slot];
                break;
            }
        }
    }
    return r;
}

/* ---- parser ---- */

static theme_status theme_error(char *err, size_t err_size, const char *source, int line, const char *fmt,
                                ...)
{
    va_list ap;
    va_start(ap, fmt);
    lines_verror(err, err_size, source, line, fmt, ap);
    va_end(ap);
    return THEME_E_SYNTAX;
}

/* Printable form of a field for an error message ("?" when it holds odd bytes). */
static const char *theme_shown(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) return "?";
    return s;
}

static char *theme_field(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t') s++;
    if (!*s) {
        *p = s;
        return NULL;
    }
    char *start = s;
    while (*s && *s != ' ' && *s != '\t') s++;
    if (*s) *s++ = '\0';
    *p = s;
    return start;
}

static int theme_attr_parse(const char *s, unsigned *attr)
{
    static const struct {
        const char *name; /* attribute word */
        unsigned bit;     /* THEME_ATTR_* */
    } attrs[] = {
        {"bold", THEME_ATTR_BOLD},       {"underline", THEME_ATTR_UNDERLINE}, {"dim", THEME_ATTR_DIM},
        {"reverse", THEME_ATTR_REVERSE}, {"italic", THEME_ATTR_ITALIC},       {"plain", 0},
    };
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        if (strcmp(s, attrs[i].name) == 0) {
            *attr |= attrs[i].bit;
            return 0;
        }
    return -1;
}

static theme_status theme_load_path(theme *t, const char *path, char *err, size_t err_size, const char *from,
                                    int from_line);

static theme_status theme_include(theme *t, const char *name, const char *source, int line, char *err,
                                  size_t err_size)
{
    if (!lines_valid_name(name, THEME_MAX_NAME))
        return theme_error(err, err_size, source, line,
                           "bad theme name '%.40s' (letters, digits, '-', '_', '.')", theme_shown(name));
    if (t->depth >= THEME_MAX_DEPTH)
        return theme_error(err, err_size, source, line, "includes nested deeper than %d", THEME_MAX_DEPTH);
    char path[4096];
    if (lines_find(t->dirs, t->n_dirs, name, "theme", t->stack, t->depth, path, sizeof path))
        return theme_load_path(t, path, err, err_size, source, line);
    /* every file of that name is being read: name the chain from it back to it */
    char chain[THEME_MAX_DEPTH * (LINES_MAX_NAME + 4) + THEME_MAX_NAME];
    if (lines_include_cycle(t->dirs, t->n_dirs, name, "theme", t->stack, t->depth, chain, sizeof chain))
        return theme_error(err, err_size, source, line, "include cycle: %s", chain);
    return theme_error(err, err_size, source, line, "include: no theme '%s' found", name);
}

static theme_status theme_parse_line(theme *t, char *s, const char *source, int line, char *err,
                                     size_t err_size)
{
    char *p = s;
    char *first = theme_field(&p);
    if (!first || first[0] == '#') return THEME_OK;
    if (strcmp(first, "include") == 0) {
        char *name = theme_field(&p);
        if (!name || theme_field(&p)) return theme_error(err, err_size, source, line, "usage: include NAME");
        return theme_include(t, name, source, line, err, err_size);
    }
    if (strcmp(first, "thresholds") == 0) {
        float v[THEME_N_BUCKETS - 1];
        for (int i = 0; i < THEME_N_BUCKETS - 1; i++) {
            char *f = theme_field(&p), *end = NULL;
            if (!f)
                return theme_error(err, err_size, source, line,
                                   "usage: thresholds T1 T2 T3 T4 (increasing, in (0, 1))");
            errno = 0;
            double d = strtod(f, &end);
            if (errno || *end || !(d > 0.0 && d < 1.0))
                return theme_error(err, err_size, source, line, "threshold '%.20s' is not a number in (0, 1)",
                                   theme_shown(f));
            v[i] = (float)d;
            if (i > 0 && !(v[i] > v[i - 1]))
                return theme_error(err, err_size, source, line, "thresholds must increase");
        }
        if (theme_field(&p))
            return theme_error(err, err_size, source, line,
                               "usage: thresholds T1 T2 T3 T4 (increasing, in (0, 1))");
        memcpy(t->thresholds, v, sizeof v);
        return THEME_OK;
    }
    int slot = theme_slot_find(first);
    if (slot < 0)
        return theme_error(err, err_size, source, line,
                           "unknown slot '%.40s' (normal selection status message error "
                           "line-number search mask control invalid legend conf0..conf4)",
                           theme_shown(first));
    theme_style st = {{THEME_COLOR_DEFAULT, 0}, {THEME_COLOR_DEFAULT, 0}, 0};
    char *f = theme_field(&p);
    if (!f) return theme_error(err, err_size, source, line, "usage: SLOT FG [BG] [ATTR...]");
    if (theme_color_parse(f, &st.fg) != 0)
        return theme_error(err, err_size, source, line,
                           "bad colour '%.40s' (default, a colour name, 0..255 or #rrggbb)", theme_shown(f));
    bool have_bg = false;
    while ((f = theme_field(&p))) {
        if (!have_bg && st.attr == 0 && theme_color_parse(f, &st.bg) == 0) {
            have_bg = true;
            continue;
        }
        have_bg = true;
        if (theme_attr_parse(f, &st.attr) != 0)
            return theme_error(err, err_size, source, line,
                               "bad colour or attribute '%.40s' (bold underline dim reverse "
                               "italic plain)",
                               theme_shown(f));
    }
    t->styles[slot] = st;
    return THEME_OK;
}

/* The first word of line s starts a theme line (a keyword, a slot name). */
static bool theme_first_word_known(const theme *t, const char *s)
{
    char w[64];
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strcspn(s, " \t");
    if (n >= sizeof w) return false;
    memcpy(w, s, n);
    w[n] = 0;
    return !strcmp(w, "include") || !strcmp(w, "thresholds") || theme_slot_find(w) >= 0;
}

theme_status theme_load_string(theme *t, const char *text, size_t len, const char *source, char *err,
                               size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (!t || (!text && len)) return THEME_E_ARG;
    if (!source) source = "(theme)";
    char buf[THEME_MAX_LINE + 1];
    lines_reader r;
    lines_init(&r, text, len, source);
    lines_status ls;
    bool any = false; /* a setting was read: the file is a theme */
    while ((ls = lines_next(&r, buf, THEME_MAX_LINE, err, err_size)) == LINES_OK) {
        theme_status st = theme_parse_line(t, buf, source, r.line, err, err_size);
        if (st != THEME_OK) {
            /* the first setting is wrong: most likely not a theme at all (a wrong path); its
             * lines are not quoted, they may be anything (a password file) */
            if (!any && st != THEME_E_NOMEM && !theme_first_word_known(t, buf) && err && err_size)
                snprintf(err, err_size, "%s: not a theme file", source);
            return st;
        }
        const char *c = buf;
        while (*c == ' ' || *c == '\t') c++;
        if (*c && *c != '#') any = true;
    }
    return ls == LINES_END ? THEME_OK : THEME_E_SYNTAX;
}

static theme_status theme_load_path(theme *t, const char *path, char *err, size_t err_size, const char *from,
                                    int from_line)
{
    char *text;
    size_t len;
    struct stat st;
    int e = EISDIR; /* errno of a failed open; a file that is not regular reads as a directory */
    lines_status ls = lines_read_file(path, THEME_MAX_FILE, &text, &len, &st, &e);
    if (ls == LINES_E_NOMEM) return THEME_E_NOMEM;
    if (ls != LINES_OK) {
        lines_file_error(ls, e, path, THEME_MAX_FILE, from, from_line, err, err_size);
        return THEME_E_IO;
    }
    t->stack[t->depth++] = lines_file_id_of(path, &st, "theme");
    theme_status s = theme_load_string(t, text, len, path, err, err_size);
    t->depth--;
    free(text);
    return s;
}

theme_status theme_load_file(theme *t, const char *path, char *err, size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (!t || !path || t->depth >= THEME_MAX_DEPTH) return THEME_E_ARG;
    return theme_load_path(t, path, err, err_size, NULL, 0);
}

theme_status theme_load_name(theme *t, const char *name, char *err, size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (!t || !name) return THEME_E_ARG;
    if (strchr(name, '/')) return theme_load_file(t, name, err, err_size);
    if (!lines_valid_name(name, THEME_MAX_NAME)) {
        if (err && err_size) snprintf(err, err_size, "bad theme name '%.40s'", theme_shown(name));
        return THEME_E_ARG;
    }
    char path[4096];
    if (lines_find(t->dirs, t->n_dirs, name, "theme", NULL, 0, path, sizeof path))
        return theme_load_path(t, path, err, err_size, NULL, 0);
    if (err && err_size) snprintf(err, err_size, "no theme '%s' found", name);
    return THEME_E_IO;
}
