/* config.c: the typed options table, the "name = value" parser shared by the defaults, the
 * config file, the command line and the prompt. Depends on libc only. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "config.h"
#include "lines.h"

#define CONFIG_MAX_FILE (1u << 20) /* bytes of a config file */

/* The defaults, in the language of the config file. */
static const char config_defaults[] =
    "# bd3ed defaults; a config file overrides any of these with the same lines.\n"
    "keymap = default\n"
    "theme = dark\n"
    "wrap = on\n"
    "line-numbers = off\n"
    "tab-width = 8\n"
    "final-newline = on\n"
    "model = \"\"\n"
    "steps = 0\n"
    "block-length = 0\n"
    "sampler = first-hitting\n"
    "threshold = 0\n"
    "temperature = 1\n"
    "top-p = 0.9\n"
    "top-k = 0\n"
    "seed = 0\n"
    "refresh = 32\n"
    "revise-fraction = 0.3\n"
    "infill-length = 0\n"
    "infill-fit = 0\n"
    "threads = 0\n"
    "compute = auto\n"
    "score-delay-ms = 500\n";

/* An option with where its value lives in struct config. */
typedef struct config_entry {
    config_option opt; /* public description */
    size_t offset;     /* offsetof(config, field) */
    size_t size;       /* sizeof the field (string capacity in bytes) */
} config_entry;

#define CONFIG_FIELD(f) offsetof(config, f), sizeof(((config *)0)->f)

static const config_entry config_table[] = {
    {{"keymap", CONFIG_STRING, "key bindings: default, vi, emacs, or a .keys file", 0, 0, NULL},
     CONFIG_FIELD(keymap)},
    {{"theme", CONFIG_STRING, "colours: dark, light, cb-safe, mono, or a .theme file", 0, 0, NULL},
     CONFIG_FIELD(theme)},
    {{"wrap", CONFIG_BOOL, "soft wrap long lines at word boundaries", 0, 1, NULL}, CONFIG_FIELD(wrap)},
    {{"line-numbers", CONFIG_BOOL, "show line numbers", 0, 1, NULL}, CONFIG_FIELD(line_numbers)},
    {{"tab-width", CONFIG_INT, "columns per tab stop", 1, 16, NULL}, CONFIG_FIELD(tab_width)},
    {{"final-newline", CONFIG_BOOL, "a new file is saved with a newline at its end", 0, 1, NULL},
     CONFIG_FIELD(final_newline)},
    {{"model", CONFIG_STRING, "model file (.gguf); empty for the default model", 0, 0, NULL},
     CONFIG_FIELD(model)},
    {{"steps", CONFIG_INT, "denoising steps per block; 0 = one per masked token", 0, 100000, NULL},
     CONFIG_FIELD(steps)},
    {{"block-length", CONFIG_INT, "tokens per generated block; 0 = the model's own", 0, 65536, NULL},
     CONFIG_FIELD(block_length)},
    {{"sampler", CONFIG_ENUM, "order in which masked tokens are revealed", 0, 0,
      "first-hitting steps confidence margin entropy"},
     CONFIG_FIELD(sampler)},
    {{"threshold", CONFIG_DOUBLE, "ordered samplers: also reveal every token above this confidence; 0 = off",
      0, 1, NULL},
     CONFIG_FIELD(threshold)},
    {{"temperature", CONFIG_DOUBLE, "sampling temperature", 0.01, 100, NULL}, CONFIG_FIELD(temperature)},
    {{"top-p", CONFIG_DOUBLE, "nucleus sampling mass; 1 = off", 0.001, 1, NULL}, CONFIG_FIELD(top_p)},
    {{"top-k", CONFIG_INT, "sample among the k most probable tokens; 0 = off", 0, 1000000, NULL},
     CONFIG_FIELD(top_k)},
    {{"seed", CONFIG_U64, "random seed; 0 = a new seed every run", 0, 18446744073709551615.0, NULL},
     CONFIG_FIELD(seed)},
    {{"refresh", CONFIG_INT,
      "infill and revise: a full model pass every N calls, the span alone between; 0 = exact", 0, 100000,
      NULL},
     CONFIG_FIELD(refresh)},
    {{"revise-fraction", CONFIG_DOUBLE, "share of the least confident tokens that revise redoes", 0.01, 1,
      NULL},
     CONFIG_FIELD(revise_fraction)},
    {{"infill-length", CONFIG_INT,
      "tokens an infill inserts when nothing is selected; 0 inserts 16; a selection keeps its length", 0,
      4096, NULL},
     CONFIG_FIELD(infill_length)},
    {{"infill-fit", CONFIG_INT,
      "infill also tries up to N tokens shorter and longer and keeps the length the model finds "
      "most likely per byte; 0 = off",
      0, 64, NULL},
     CONFIG_FIELD(infill_fit)},
    {{"threads", CONFIG_INT, "threads for the model; 0 = all cores", 0, 1024, NULL}, CONFIG_FIELD(threads)},
    {{"compute", CONFIG_ENUM,
      "model products: auto (Q8_0 weights in int8, F16/BF16 in bf16 where the CPU has it: the fastest), "
      "f32, q8 (all int8) or bf16",
      0, 0, "auto f32 q8 bf16"},
     CONFIG_FIELD(compute)},
    {{"score-delay-ms", CONFIG_INT, "milliseconds after typing stops before the heatmap re-scores the edit",
      0, 600000, NULL},
     CONFIG_FIELD(score_delay_ms)},
};
#define CONFIG_N_OPTIONS ((int)(sizeof config_table / sizeof config_table[0]))
_Static_assert(sizeof config_table / sizeof config_table[0] <= 32, "config.given has 32 bits");

const char *config_status_str(config_status s)
{
    switch (s) {
    case CONFIG_OK: return "success";
    case CONFIG_E_IO: return "config file unreadable";
    case CONFIG_E_NOFILE: return "no config file";
    case CONFIG_E_SYNTAX: return "malformed config line";
    case CONFIG_E_NAME: return "unknown option";
    case CONFIG_E_VALUE: return "bad option value";
    case CONFIG_E_ARG: return "invalid argument";
    }
    return "unknown status";
}

const char *config_defaults_text(void) { return config_defaults; }

int config_n_options(void) { return CONFIG_N_OPTIONS; }

const config_option *config_option_at(int i)
{
    return i >= 0 && i < CONFIG_N_OPTIONS ? &config_table[i].opt : NULL;
}

static const config_entry *config_entry_find(const char *name)
{
    if (!name) return NULL;
    for (int i = 0; i < CONFIG_N_OPTIONS; i++)
        if (strcmp(config_table[i].opt.name, name) == 0) return &config_table[i];
    return NULL;
}

const config_option *config_option_find(const char *name)
{
    const config_entry *e = config_entry_find(name);
    return e ? &e->opt : NULL;
}

static config_status config_msg(config_status st, char *err, size_t err_size, const char *fmt, ...)
{
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* A value shown in a message: printable ASCII only, else "?". */
static const char *config_shown(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) return "?";
    return s;
}

/* True when s holds no control characters (C0, DEL). */
static bool config_text_ok(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) return false;
    return true;
}

static int config_parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* True when word is one of the blank-separated words of list. */
static bool config_in_list(const char *list, const char *word)
{
    size_t n = strlen(word);
    if (n == 0) return false;
    for (const char *p = list; *p;) {
        while (*p == ' ') p++;
        const char *end = p;
        while (*end && *end != ' ') end++;
        if ((size_t)(end - p) == n && memcmp(p, word, n) == 0) return true;
        p = end;
    }
    return false;
}

/* Stores one option's value (config_set without recording that it was given). */
static config_status config_store(config *cfg, const char *name, const char *value, char *err,
                                  size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (!cfg || !name || !value) return CONFIG_E_ARG;
    const config_entry *e = config_entry_find(name);
    if (!e) return config_msg(CONFIG_E_NAME, err, err_size, "unknown option '%.60s'", config_shown(name));
    const config_option *o = &e->opt;
    char *field = (char *)cfg + e->offset;
    switch (o->type) {
    case CONFIG_BOOL: {
        bool b;
        if (config_parse_bool(value, &b) != 0)
            return config_msg(CONFIG_E_VALUE, err, err_size, "%s: '%.40s' is not on or off", o->name,
                              config_shown(value));
        *(bool *)field = b;
        return CONFIG_OK;
    }
    case CONFIG_INT: {
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno)
            return config_msg(CONFIG_E_VALUE, err, err_size, "%s: '%.40s' is not a whole number", o->name,
                              config_shown(value));
        if (v < (long)o->min || v > (long)o->max)
            return config_msg(CONFIG_E_VALUE, err, err_size, "%s: %ld is outside %ld..%ld", o->name, v,
                              (long)o->min, (long)o->max);
        *(int *)field = (int)v;
        return CONFIG_OK;
    }
    case CONFIG_U64: {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (!*value || *end || errno || value[0] == '-' || value[0] == '+' || value[0] == ' ')
            return config_msg(CONFIG_E_VALUE, err, err_size,
                              "%s: '%.40s' is not a whole number 0..18446744073709551615", o->name,
                              config_shown(value));
        *(uint64_t *)field = (uint64_t)v;
        return CONFIG_OK;
    }
    case CONFIG_DOUBLE: {
        char *end = NULL;
        errno = 0;
        double v = strtod(value, &end);
        if (!*value || *end || errno || !isfinite(v))
            return config_msg(CONFIG_E_VALUE, err, err_size, "%s: '%.40s' is not a number", o->name,
                              config_shown(value));
        if (v < o->min || v > o->max)
            return config_msg(CONFIG_E_VALUE, err, err_size, "%s: %g is outside %g..%g", o->name, v, o->min,
                              o->max);
        *(double *)field = v;
        return CONFIG_OK;
    }
    case CONFIG_STRING:
        if (strlen(value) >= e->size)
            return config_msg(CONFIG_E_VALUE, err, err_size, "%s: value longer than %zu bytes", o->name,
                              e->size - 1);
        if (!config_text_ok(value))
            return config_msg(CONFIG_E_VALUE, err, err_size, "%s: control character in value", o->name);
        memcpy(field, value, strlen(value) + 1);
        return CONFIG_OK;
    case CONFIG_ENUM:
        if (!config_in_list(o->choices, value) || strlen(value) >= e->size)
            return config_msg(CONFIG_E_VALUE, err, err_size, "%s: '%.40s' is not one of: %s", o->name,
                              config_shown(value), o->choices);
        memcpy(field, value, strlen(value) + 1);
        return CONFIG_OK;
    }
    return CONFIG_E_ARG;
}

config_status config_get(const config *cfg, const char *name, char *buf, size_t size)
{
    if (!cfg || !buf || size == 0) return CONFIG_E_ARG;
    buf[0] = '\0';
    const config_entry *e = config_entry_find(name);
    if (!e) return CONFIG_E_NAME;
    const char *field = (const char *)cfg + e->offset;
    int n = 0;
    switch (e->opt.type) {
    case CONFIG_BOOL: n = snprintf(buf, size, "%s", *(const bool *)field ? "on" : "off"); break;
    case CONFIG_INT: n = snprintf(buf, size, "%d", *(const int *)field); break;
    case CONFIG_U64: n = snprintf(buf, size, "%llu", (unsigned long long)*(const uint64_t *)field); break;
    case CONFIG_DOUBLE: n = snprintf(buf, size, "%.17g", *(const double *)field); break;
    case CONFIG_STRING:
    case CONFIG_ENUM: n = snprintf(buf, size, "%s", field); break;
    }
    return n >= 0 && (size_t)n < size ? CONFIG_OK : CONFIG_E_ARG;
}

/* Splits "name = value" (or "name=value", or "name value" when loose) in place; the value may
 * be quoted. Returns 0, or -1 with a reason in *why. */
static int config_split(char *s, bool loose, char **name, char **value, const char **why)
{
    while (*s == ' ' || *s == '\t') s++;
    char *n = s;
    while (*s && *s != ' ' && *s != '\t' && *s != '=') s++;
    char *name_end = s;
    while (*s == ' ' || *s == '\t') s++;
    if (*s == '=')
        s++;
    else if (!loose || s == name_end) {
        *why = "expected: name = value";
        return -1;
    }
    *name_end = '\0';
    if (!*n) {
        *why = "expected: name = value";
        return -1;
    }
    while (*s == ' ' || *s == '\t') s++;
    char *v = s;
    size_t len = strlen(v);
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t')) v[--len] = '\0';
    if (len && v[0] == '"') {
        if (len < 2 || v[len - 1] != '"' || memchr(v + 1, '"', len - 2)) {
            *why = "unbalanced quotes in value";
            return -1;
        }
        v[len - 1] = '\0';
        v++;
    }
    *name = n;
    *value = v;
    return 0;
}

config_status config_set_text(config *cfg, const char *text, char *err, size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (!cfg || !text) return CONFIG_E_ARG;
    char buf[CONFIG_MAX_LINE + 1];
    if (strlen(text) > CONFIG_MAX_LINE)
        return config_msg(CONFIG_E_SYNTAX, err, err_size, "longer than %d bytes", CONFIG_MAX_LINE);
    memcpy(buf, text, strlen(text) + 1);
    char *name, *value;
    const char *why;
    if (config_split(buf, true, &name, &value, &why) != 0)
        return config_msg(CONFIG_E_SYNTAX, err, err_size, "%s", why);
    return config_set(cfg, name, value, err, err_size);
}

config_status config_set_arg(config *cfg, const char *arg, const char *next, int *used, char *err,
                             size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (used) *used = 1;
    if (!cfg || !arg || strncmp(arg, "--", 2) != 0) return CONFIG_E_NAME;
    char name[CONFIG_MAX_NAME];
    const char *eq = strchr(arg + 2, '=');
    size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    if (n == 0 || n >= sizeof name) return CONFIG_E_NAME;
    memcpy(name, arg + 2, n);
    name[n] = '\0';
    const config_entry *e = config_entry_find(name);
    if (eq) {
        if (!e) return CONFIG_E_NAME;
        return config_set(cfg, name, eq + 1, err, err_size);
    }
    if (e && e->opt.type == CONFIG_BOOL) return config_set(cfg, name, "on", err, err_size);
    if (!e && strncmp(name, "no-", 3) == 0) {
        const config_entry *b = config_entry_find(name + 3);
        if (b && b->opt.type == CONFIG_BOOL) return config_set(cfg, name + 3, "off", err, err_size);
        return CONFIG_E_NAME;
    }
    if (!e) return CONFIG_E_NAME;
    if (!next) return config_msg(CONFIG_E_VALUE, err, err_size, "--%s needs a value", name);
    if (used) *used = 2;
    return config_set(cfg, name, next, err, err_size);
}

/* The bad lines of a config file: every message, and which lines were skipped. */
typedef struct config_bad {
    char msgs[1024];     /* "source:line: why" of each bad line, joined by "; " */
    char lines[256];     /* their numbers, joined by ", " */
    int n;               /* bad lines */
    config_status first; /* status of the first one */
} config_bad;

static void config_bad_add(config_bad *b, config_status st, const char *source, int line, const char *why)
{
    if (b->n++ == 0) b->first = st;
    size_t m = strlen(b->msgs), l = strlen(b->lines);
    snprintf(b->msgs + m, sizeof b->msgs - m, "%s%s:%d: %s", m ? "; " : "", source, line, why);
    snprintf(b->lines + l, sizeof b->lines - l, "%s%d", l ? ", " : "", line);
}

config_status config_load_string(config *cfg, const char *text, size_t len, const char *source, char *err,
                                 size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (!cfg || (!text && len)) return CONFIG_E_ARG;
    if (!source) source = "(config)";
    char buf[CONFIG_MAX_LINE + 1], why[512];
    config_bad bad = {.n = 0};
    lines_reader r;
    lines_init(&r, text, len, source);
    lines_status ls;
    while ((ls = lines_next(&r, buf, CONFIG_MAX_LINE, why, sizeof why)) != LINES_END) {
        if (ls != LINES_OK) { /* too long, or a NUL byte: why is "source:line: ..." */
            const char *w = why + strlen(source) + 1;
            while (*w && *w != ' ') w++;
            config_bad_add(&bad, CONFIG_E_SYNTAX, source, r.line, *w ? w + 1 : why);
            continue;
        }
        char *s = buf;
        while (*s == ' ' || *s == '\t') s++;
        if (!*s || *s == '#') continue;
        char *name, *value;
        const char *w;
        if (config_split(s, false, &name, &value, &w) != 0) {
            config_bad_add(&bad, CONFIG_E_SYNTAX, source, r.line, w);
            continue;
        }
        config_status st = config_set(cfg, name, value, why, sizeof why);
        if (st != CONFIG_OK) config_bad_add(&bad, st, source, r.line, why);
    }
    if (bad.n == 0) return CONFIG_OK;
    if (err && err_size) {
        char tail[300];
        int tn = snprintf(tail, sizeof tail, " (line%s %s skipped)", bad.n > 1 ? "s" : "", bad.lines);
        size_t room = err_size > (size_t)tn + 1 ? err_size - (size_t)tn - 1 : 0;
        snprintf(err, err_size, "%.*s%s", (int)room, bad.msgs, tail);
    }
    return bad.first;
}

config_status config_load_file(config *cfg, const char *path, char *err, size_t err_size)
{
    if (err && err_size) err[0] = '\0';
    if (!cfg || !path) return CONFIG_E_ARG;
    char *text;
    size_t len;
    struct stat st;
    int e = 0;
    switch (lines_read_file(path, CONFIG_MAX_FILE, &text, &len, &st, &e)) {
    case LINES_OK: break;
    case LINES_E_OPEN:
        return config_msg(e == ENOENT ? CONFIG_E_NOFILE : CONFIG_E_IO, err, err_size, "%s: %s", path,
                          strerror(e));
    case LINES_E_NOMEM: return config_msg(CONFIG_E_IO, err, err_size, "%s: out of memory", path);
    case LINES_E_READ: return config_msg(CONFIG_E_IO, err, err_size, "%s: read error", path);
    default:
        return config_msg(CONFIG_E_IO, err, err_size, "%s: not a regular file of at most %u bytes", path,
                          CONFIG_MAX_FILE);
    }
    config_status s = config_load_string(cfg, text, len, path, err, err_size);
    free(text);
    return s;
}

config_status config_set(config *cfg, const char *name, const char *value, char *err, size_t err_size)
{
    config_status st = config_store(cfg, name, value, err, err_size);
    if (st == CONFIG_OK) cfg->given |= 1u << (config_entry_find(name) - config_table);
    return st;
}

bool config_given(const config *cfg, const char *name)
{
    const config_entry *e = config_entry_find(name);
    return cfg && e && (cfg->given >> (e - config_table) & 1u);
}

config *config_new(void)
{
    config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    if (config_load_string(cfg, config_defaults, sizeof config_defaults - 1, "(defaults)", NULL, 0) !=
        CONFIG_OK) {
        free(cfg);
        return NULL;
    }
    cfg->given = 0; /* the defaults were not given by anyone */
    return cfg;
}

void config_free(config *cfg) { free(cfg); }

config_status config_path(const char *xdg_config_home, const char *home, const char *file_name, char *buf,
                          size_t size)
{
    if (!buf || size == 0 || !file_name || !*file_name) return CONFIG_E_ARG;
    buf[0] = '\0';
    int n;
    if (xdg_config_home && xdg_config_home[0] == '/')
        n = snprintf(buf, size, "%s/bd3ed/%s", xdg_config_home, file_name);
    else if (home && home[0])
        n = snprintf(buf, size, "%s/.config/bd3ed/%s", home, file_name);
    else
        return CONFIG_E_ARG;
    if (n < 0 || (size_t)n >= size) {
        buf[0] = '\0';
        return CONFIG_E_ARG;
    }
    return CONFIG_OK;
}
