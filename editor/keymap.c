/* keymap.c: the keymap file parser (shipped and user keymaps alike), modes, and key-sequence
 * lookup. Depends on key.h, lines.h, utf8.h and libc only; command names stay strings for the editor to
 * resolve. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "keymap.h"
#include "lines.h"
#include "utf8.h"

#define KEYMAP_MAX_FILE (1u << 20) /* bytes of one keymap file */

typedef struct keymap_mode {
    char name[KEYMAP_MAX_NAME]; /* mode name, e.g. "insert" */
    bool self_insert;           /* unbound printable keys insert themselves */
    bool count;                 /* leading digits are a repeat count */
    bool inclusive;             /* a selection takes in the character at its far end (vi visual) */
} keymap_mode;

struct keymap {
    keymap_mode modes[KEYMAP_MAX_MODES];   /* declared modes, n_modes used */
    int n_modes;                           /* 0..KEYMAP_MAX_MODES */
    keymap_binding *bindings;              /* [n_bindings], file order */
    int n_bindings;                        /* bindings held */
    int cap_bindings;                      /* allocated entries of bindings */
    char *dirs[KEYMAP_MAX_DIRS];           /* search directories, n_dirs used (malloc'd) */
    int n_dirs;                            /* 0..KEYMAP_MAX_DIRS */
    bool (*known)(const char *, void *);   /* command name check, or NULL */
    void *known_ctx;                       /* argument of known */
    lines_file_id stack[KEYMAP_MAX_DEPTH]; /* files being read (include nesting), depth used */
    int depth;                             /* 0..KEYMAP_MAX_DEPTH */
};

const char *keymap_status_str(keymap_status s)
{
    switch (s) {
    case KEYMAP_OK: return "success";
    case KEYMAP_E_IO: return "keymap file not found or unreadable";
    case KEYMAP_E_SYNTAX: return "malformed keymap line";
    case KEYMAP_E_NOMEM: return "out of memory";
    case KEYMAP_E_ARG: return "invalid argument";
    }
    return "unknown status";
}

keymap *keymap_new(void) { return calloc(1, sizeof(keymap)); }

void keymap_free(keymap *km)
{
    if (!km) return;
    for (int i = 0; i < km->n_dirs; i++) free(km->dirs[i]);
    free(km->bindings);
    free(km);
}

keymap_status keymap_add_dir(keymap *km, const char *dir)
{
    if (!km || !dir || !*dir || km->n_dirs == KEYMAP_MAX_DIRS) return KEYMAP_E_ARG;
    char *copy = strdup(dir);
    if (!copy) return KEYMAP_E_NOMEM;
    km->dirs[km->n_dirs++] = copy;
    return KEYMAP_OK;
}

void keymap_set_command_check(keymap *km, bool (*known)(const char *, void *), void *ctx)
{
    km->known = known;
    km->known_ctx = ctx;
}

/* Writes "source:line: message" into err. */
static keymap_status keymap_error(char *err, size_t err_size, const char *source, int line, const char *fmt,
                                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    lines_verror(err, err_size, source, line, fmt, ap);
    va_end(ap);
    return KEYMAP_E_SYNTAX;
}

/* True when s[0..n) is valid UTF-8 without control characters (tab allowed). */
static bool keymap_valid_text(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
            i++;
            continue;
        }
        size_t need = utf8_lead_len(c);
        if (need == 1 || i + need > n) return false; /* a stray or cut character */
        long cp = utf8_decode(s + i, need);
        if (cp < 0 || (cp >= 0x80 && cp < 0xa0)) return false; /* malformed, or a C1 control */
        i += need;
    }
    return true;
}

int keymap_n_modes(const keymap *km) { return km ? km->n_modes : 0; }

int keymap_mode_find(const keymap *km, const char *name)
{
    if (!km || !name) return -1;
    for (int i = 0; i < km->n_modes; i++)
        if (strcmp(km->modes[i].name, name) == 0) return i;
    return -1;
}

const char *keymap_mode_name(const keymap *km, int mode)
{
    return km && mode >= 0 && mode < km->n_modes ? km->modes[mode].name : "";
}

bool keymap_mode_self_insert(const keymap *km, int mode)
{
    return km && mode >= 0 && mode < km->n_modes && km->modes[mode].self_insert;
}

bool keymap_mode_count(const keymap *km, int mode)
{
    return km && mode >= 0 && mode < km->n_modes && km->modes[mode].count;
}

bool keymap_mode_inclusive(const keymap *km, int mode)
{
    return km && mode >= 0 && mode < km->n_modes && km->modes[mode].inclusive;
}

int keymap_mode_initial(const keymap *km)
{
    if (!km || km->n_modes == 0) return -1;
    int n = keymap_mode_find(km, "normal");
    return n >= 0 ? n : 0;
}

/* True when the shorter of a and b is a prefix of the other (equal sequences included). */
static bool keymap_seq_overlap(const key_code *a, int na, const key_code *b, int nb)
{
    int n = na < nb ? na : nb;
    for (int i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/* Removes binding i, keeping file order. */
static void keymap_remove_at(keymap *km, int i)
{
    memmove(km->bindings + i, km->bindings + i + 1,
            (size_t)(km->n_bindings - i - 1) * sizeof(keymap_binding));
    km->n_bindings--;
}

/* Adds b, replacing an equal sequence in place and dropping sequences it overlaps as a prefix. */
static keymap_status keymap_bind(keymap *km, const keymap_binding *b)
{
    int same = -1;
    for (int i = 0; i < km->n_bindings;) {
        keymap_binding *o = &km->bindings[i];
        if (o->mode == b->mode && keymap_seq_overlap(o->keys, o->n_keys, b->keys, b->n_keys)) {
            if (o->n_keys == b->n_keys && same < 0) {
                same = i;
                i++;
                continue;
            }
            keymap_remove_at(km, i);
            if (same > i) same--;
            continue;
        }
        i++;
    }
    if (same >= 0) {
        km->bindings[same] = *b;
        return KEYMAP_OK;
    }
    if (km->n_bindings == km->cap_bindings) {
        int cap = km->cap_bindings ? km->cap_bindings * 2 : 64;
        keymap_binding *nb = realloc(km->bindings, (size_t)cap * sizeof(keymap_binding));
        if (!nb) return KEYMAP_E_NOMEM;
        km->bindings = nb;
        km->cap_bindings = cap;
    }
    km->bindings[km->n_bindings++] = *b;
    return KEYMAP_OK;
}

/* Removes the binding of exactly these keys in mode (no-op when there is none). */
static void keymap_unbind(keymap *km, int mode, const key_code *keys, int n_keys)
{
    for (int i = 0; i < km->n_bindings; i++) {
        keymap_binding *o = &km->bindings[i];
        if (o->mode == mode && o->n_keys == n_keys &&
            memcmp(o->keys, keys, (size_t)n_keys * sizeof(key_code)) == 0) {
            keymap_remove_at(km, i);
            return;
        }
    }
}

/* Splits the next blank-separated field off *p (modifies the line); NULL when none is left. */
static char *keymap_field(char **p)
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

static keymap_status keymap_load_path(keymap *km, const char *path, char *err, size_t err_size,
                                      const char *from, int from_line);

/* Loads NAME.keys from the first search directory that has it and is not being read. */
static keymap_status keymap_include(keymap *km, const char *name, const char *source, int line, char *err,
                                    size_t err_size)
{
    if (!lines_valid_name(name, KEYMAP_MAX_NAME))
        return keymap_error(err, err_size, source, line,
                            "bad keymap name '%.40s' (letters, digits, '-', '_', '.')", name);
    if (km->depth >= KEYMAP_MAX_DEPTH)
        return keymap_error(err, err_size, source, line, "includes nested deeper than %d", KEYMAP_MAX_DEPTH);
    char path[4096];
    if (lines_find(km->dirs, km->n_dirs, name, "keys", km->stack, km->depth, path, sizeof path))
        return keymap_load_path(km, path, err, err_size, source, line);
    /* every file of that name is being read: name the chain from it back to it */
    char chain[KEYMAP_MAX_DEPTH * (LINES_MAX_NAME + 4) + KEYMAP_MAX_NAME];
    if (lines_include_cycle(km->dirs, km->n_dirs, name, "keys", km->stack, km->depth, chain, sizeof chain))
        return keymap_error(err, err_size, source, line, "include cycle: %s", chain);
    return keymap_error(err, err_size, source, line, "include: no keymap '%s' found", name);
}

/* Parses one line (NUL-terminated, no newline). */
static keymap_status keymap_parse_line(keymap *km, char *s, const char *source, int line, char *err,
                                       size_t err_size)
{
    char *p = s;
    char *first = keymap_field(&p);
    if (!first || first[0] == '#') return KEYMAP_OK;
    if (strcmp(first, "include") == 0) {
        char *name = keymap_field(&p);
        if (!name || keymap_field(&p))
            return keymap_error(err, err_size, source, line, "usage: include NAME");
        return keymap_include(km, name, source, line, err, err_size);
    }
    if (strcmp(first, "mode") == 0) {
        char *name = keymap_field(&p);
        if (!name)
            return keymap_error(err, err_size, source, line,
                                "usage: mode NAME [self-insert] [count] [inclusive]");
        if (!lines_valid_name(name, KEYMAP_MAX_NAME) || strcmp(name, "mode") == 0 ||
            strcmp(name, "include") == 0)
            return keymap_error(err, err_size, source, line, "bad mode name '%.40s'", name);
        keymap_mode m = {.self_insert = false, .count = false, .inclusive = false};
        snprintf(m.name, sizeof m.name, "%s", name);
        for (char *opt; (opt = keymap_field(&p));) {
            if (strcmp(opt, "self-insert") == 0)
                m.self_insert = true;
            else if (strcmp(opt, "count") == 0)
                m.count = true;
            else if (strcmp(opt, "inclusive") == 0)
                m.inclusive = true;
            else
                return keymap_error(err, err_size, source, line,
                                    "unknown mode option '%.40s' (self-insert, count, inclusive)", opt);
        }
        int i = keymap_mode_find(km, name);
        if (i >= 0) {
            km->modes[i] = m; /* a later declaration (user keymap) redefines the options */
            return KEYMAP_OK;
        }
        if (km->n_modes == KEYMAP_MAX_MODES)
            return keymap_error(err, err_size, source, line, "more than %d modes", KEYMAP_MAX_MODES);
        km->modes[km->n_modes++] = m;
        return KEYMAP_OK;
    }
    int mode = keymap_mode_find(km, first);
    if (mode < 0)
        return keymap_error(err, err_size, source, line,
                            "mode '%.40s' is not declared (add a line: mode %.40s)", first, first);
    char *keys = keymap_field(&p);
    char *command = keymap_field(&p);
    if (!keys || !command)
        return keymap_error(err, err_size, source, line, "usage: MODE KEYS COMMAND [HELP]");
    keymap_binding b = {.mode = mode};
    for (char *k = keys;;) {
        char *comma = strchr(k, ',');
        if (comma) *comma = '\0';
        if (b.n_keys == KEYMAP_MAX_SEQ)
            return keymap_error(err, err_size, source, line, "more than %d keys in a sequence",
                                KEYMAP_MAX_SEQ);
        if (!*k)
            return keymap_error(err, err_size, source, line,
                                "empty key in '%.60s' (the comma key is written Comma)", keys);
        key_status ks = key_parse(k, &b.keys[b.n_keys]);
        if (ks != KEY_OK)
            return keymap_error(err, err_size, source, line, "key '%.40s': %s",
                                keymap_valid_text((const unsigned char *)k, strlen(k)) ? k : "?",
                                key_status_str(ks));
        b.n_keys++;
        if (!comma) break;
        k = comma + 1;
    }
    if (!lines_valid_name(command, KEYMAP_MAX_COMMAND))
        return keymap_error(err, err_size, source, line, "bad command name");
    while (*p == ' ' || *p == '\t') p++;
    size_t help_len = strlen(p);
    while (help_len && (p[help_len - 1] == ' ' || p[help_len - 1] == '\t')) help_len--;
    if (help_len >= KEYMAP_MAX_HELP)
        return keymap_error(err, err_size, source, line, "help text longer than %d bytes",
                            KEYMAP_MAX_HELP - 1);
    if (!keymap_valid_text((const unsigned char *)p, help_len))
        return keymap_error(err, err_size, source, line, "help text has invalid UTF-8 or control characters");
    if (strcmp(command, "none") == 0) {
        keymap_unbind(km, mode, b.keys, b.n_keys);
        return KEYMAP_OK;
    }
    if (km->known && !km->known(command, km->known_ctx))
        return keymap_error(err, err_size, source, line, "unknown command '%s'", command);
    snprintf(b.command, sizeof b.command, "%s", command);
    memcpy(b.help, p, help_len);
    b.help[help_len] = '\0';
    keymap_status st = keymap_bind(km, &b);
    if (st != KEYMAP_OK) keymap_error(err, err_size, source, line, "out of memory");
    return st;
}

/* The first word of line s starts a keymap line (a keyword, a mode name). */
static bool keymap_first_word_known(const keymap *km, const char *s)
{
    char w[64];
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strcspn(s, " \t");
    if (n >= sizeof w) return false;
    memcpy(w, s, n);
    w[n] = 0;
    return !strcmp(w, "include") || !strcmp(w, "mode") || keymap_mode_find(km, w) >= 0;
}

keymap_status keymap_load_string(keymap *km, const char *text, size_t len, const char *source, char *err,
                                 size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (!km || (!text && len)) return KEYMAP_E_ARG;
    if (!source) source = "(keymap)";
    char buf[KEYMAP_MAX_LINE + 1];
    lines_reader r;
    lines_init(&r, text, len, source);
    lines_status ls;
    bool any = false; /* a setting was read: the file is a keymap */
    while ((ls = lines_next(&r, buf, KEYMAP_MAX_LINE, err, err_size)) == LINES_OK) {
        keymap_status st = keymap_parse_line(km, buf, source, r.line, err, err_size);
        if (st != KEYMAP_OK) {
            /* the first setting is wrong: most likely not a keymap at all (a wrong path); its
             * lines are not quoted, they may be anything (a password file) */
            if (!any && st != KEYMAP_E_NOMEM && !keymap_first_word_known(km, buf) && err && err_size)
                snprintf(err, err_size, "%s: not a keymap file", source);
            return st;
        }
        const char *c = buf;
        while (*c == ' ' || *c == '\t') c++;
        if (*c && *c != '#') any = true;
    }
    return ls == LINES_END ? KEYMAP_OK : KEYMAP_E_SYNTAX;
}

/* Reads and parses the file at path, pushing it on the include stack. */
static keymap_status keymap_load_path(keymap *km, const char *path, char *err, size_t err_size,
                                      const char *from, int from_line)
{
    char *text;
    size_t len;
    struct stat st;
    int e = EISDIR; /* errno of a failed open; a file that is not regular reads as a directory */
    lines_status ls = lines_read_file(path, KEYMAP_MAX_FILE, &text, &len, &st, &e);
    if (ls == LINES_E_NOMEM) return KEYMAP_E_NOMEM;
    if (ls != LINES_OK) {
        lines_file_error(ls, e, path, KEYMAP_MAX_FILE, from, from_line, err, err_size);
        return KEYMAP_E_IO;
    }
    km->stack[km->depth++] = lines_file_id_of(path, &st, "keys");
    keymap_status s = keymap_load_string(km, text, len, path, err, err_size);
    km->depth--;
    free(text);
    return s;
}

keymap_status keymap_load_file(keymap *km, const char *path, char *err, size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (!km || !path) return KEYMAP_E_ARG;
    if (km->depth >= KEYMAP_MAX_DEPTH) return KEYMAP_E_ARG;
    return keymap_load_path(km, path, err, err_size, NULL, 0);
}

keymap_status keymap_load_name(keymap *km, const char *name, char *err, size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (!km || !name) return KEYMAP_E_ARG;
    if (strchr(name, '/')) return keymap_load_file(km, name, err, err_size);
    if (!lines_valid_name(name, KEYMAP_MAX_NAME)) {
        if (err && err_size) snprintf(err, err_size, "bad keymap name '%.40s'", name);
        return KEYMAP_E_ARG;
    }
    char path[4096];
    if (lines_find(km->dirs, km->n_dirs, name, "keys", NULL, 0, path, sizeof path))
        return keymap_load_path(km, path, err, err_size, NULL, 0);
    if (err && err_size) snprintf(err, err_size, "no keymap '%s' found", name);
    return KEYMAP_E_IO;
}

/* ---- lookup ---- */

void keymap_state_init(const keymap *km, keymap_state *state)
{
    memset(state, 0, sizeof *state);
    state->mode = keymap_mode_initial(km);
}

void keymap_state_reset(keymap_state *state)
{
    state->n_keys = 0;
    state->count = 0;
    state->inner = 0;
    state->matched = false;
}

/* True when a binding of the mode starts with the pending keys followed by key. */
static bool keymap_continues(const keymap *km, const keymap_state *state, key_code key)
{
    for (int i = 0; i < km->n_bindings; i++) {
        const keymap_binding *b = &km->bindings[i];
        if (b->mode != state->mode || b->n_keys <= state->n_keys || b->keys[state->n_keys] != key) continue;
        if (memcmp(b->keys, state->keys, (size_t)state->n_keys * sizeof(key_code)) == 0) return true;
    }
    return false;
}

/* Adds a digit to a count, no further than KEYMAP_MAX_COUNT. */
static unsigned keymap_count_digit(unsigned count, key_code key)
{
    unsigned c = count * 10 + (unsigned)(key - '0');
    return c > KEYMAP_MAX_COUNT ? KEYMAP_MAX_COUNT : c;
}

keymap_result keymap_feed(const keymap *km, keymap_state *state, key_code key, const keymap_binding **out)
{
    if (out) *out = NULL;
    if (state->matched) keymap_state_reset(state);
    if (!km || state->mode < 0 || state->mode >= km->n_modes) {
        keymap_state_reset(state);
        return KEYMAP_NONE;
    }
    const keymap_mode *m = &km->modes[state->mode];
    if (m->count && state->n_keys == 0 && key >= '0' && key <= '9' && (key != '0' || state->count > 0)) {
        state->count = keymap_count_digit(state->count, key);
        return KEYMAP_PREFIX;
    }
    if (m->count && state->n_keys > 0 && key >= '0' && key <= '9' &&
        (state->inner > 0 || (key != '0' && !keymap_continues(km, state, key)))) {
        state->inner = keymap_count_digit(state->inner, key);
        return KEYMAP_PREFIX;
    }
    if (state->n_keys == KEYMAP_MAX_SEQ) {
        keymap_state_reset(state);
        return KEYMAP_NONE;
    }
    state->keys[state->n_keys++] = key;
    bool prefix = false;
    for (int i = 0; i < km->n_bindings; i++) {
        const keymap_binding *b = &km->bindings[i];
        if (b->mode != state->mode || b->n_keys < state->n_keys) continue;
        if (memcmp(b->keys, state->keys, (size_t)state->n_keys * sizeof(key_code)) != 0) continue;
        if (b->n_keys == state->n_keys) {
            if (out) *out = b;
            if (state->inner) {
                unsigned long long c = (unsigned long long)(state->count ? state->count : 1) * state->inner;
                state->count = c > KEYMAP_MAX_COUNT ? KEYMAP_MAX_COUNT : (unsigned)c;
                state->inner = 0;
            }
            state->n_keys = 0;
            state->matched = true;
            return KEYMAP_MATCH;
        }
        prefix = true;
    }
    if (prefix) return KEYMAP_PREFIX;
    bool alone = state->n_keys == 1 && state->count == 0;
    keymap_state_reset(state);
    if (alone && m->self_insert && key_is_printable(key)) return KEYMAP_INSERT;
    return KEYMAP_NONE;
}

char *keymap_format_keys(const key_code *keys, int n_keys, char *buf, size_t size)
{
    if (!buf || size == 0) return buf;
    buf[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < n_keys; i++) {
        char name[KEY_NAME_MAX];
        key_format(keys[i], name, sizeof name);
        int n = snprintf(buf + used, size - used, "%s%s", i ? "," : "", name);
        if (n < 0 || (size_t)n >= size - used) break;
        used += (size_t)n;
    }
    return buf;
}

char *keymap_state_describe(const keymap_state *state, char *buf, size_t size)
{
    if (!buf || size == 0) return buf;
    buf[0] = '\0';
    if (state->matched) return buf;
    size_t used = 0;
    if (state->count) {
        int n = snprintf(buf, size, "%u", state->count);
        if (n < 0 || (size_t)n >= size) return buf;
        used = (size_t)n;
    }
    if (state->n_keys) {
        int n = snprintf(buf + used, size - used, "%s", used ? " " : "");
        if (n < 0 || (size_t)n >= size - used) return buf;
        used += (size_t)n;
        keymap_format_keys(state->keys, state->n_keys, buf + used, size - used);
        used = strlen(buf);
        if (state->inner) snprintf(buf + used, size - used, " %u", state->inner);
    }
    return buf;
}

int keymap_n_bindings(const keymap *km) { return km ? km->n_bindings : 0; }

const keymap_binding *keymap_binding_at(const keymap *km, int i)
{
    return km && i >= 0 && i < km->n_bindings ? &km->bindings[i] : NULL;
}

const keymap_binding *keymap_find_command(const keymap *km, int mode, const char *command)
{
    if (!km || !command) return NULL;
    for (int i = 0; i < km->n_bindings; i++)
        if (km->bindings[i].mode == mode && strcmp(km->bindings[i].command, command) == 0)
            return &km->bindings[i];
    return NULL;
}

int keymap_keys_for_command(const keymap *km, int mode, const char *command, char *buf, size_t size)
{
    if (buf && size) buf[0] = '\0';
    if (!km || !command) return 0;
    int found = 0;
    size_t used = 0;
    for (int i = 0; i < km->n_bindings; i++) {
        const keymap_binding *b = &km->bindings[i];
        if (b->mode != mode || strcmp(b->command, command) != 0) continue;
        found++;
        if (!buf || size == 0) continue;
        char seq[KEYMAP_MAX_SEQ * (KEY_NAME_MAX + 1)];
        keymap_format_keys(b->keys, b->n_keys, seq, sizeof seq);
        int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", seq);
        if (n < 0 || (size_t)n >= size - used) {
            buf[used] = '\0';
            size = used; /* full: keep counting, write no more */
            continue;
        }
        used += (size_t)n;
    }
    return found;
}
