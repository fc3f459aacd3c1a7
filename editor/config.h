/* config.h: editor options: a typed table, the config file ($XDG_CONFIG_HOME/bd3ed/config,
 * else ~/.config/bd3ed/config) and one set-by-name used by the file, the command line and the
 * command prompt. The defaults are written in the file language and read by the same parser.
 * Depends on libc only.
 *
 * File format: "name = value" per line; blanks around both are ignored; a line whose first
 * non-blank character is '#' is a comment ('#' inside a value is part of it); a value may be put
 * in double quotes (to keep leading or trailing blanks). Booleans: on/off, true/false, yes/no,
 * 1/0. */
#ifndef BD3ED_CONFIG_H
#define BD3ED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_LINE 4096 /* bytes of one line of the config file */
#define CONFIG_MAX_NAME 64   /* bytes of a keymap, theme or sampler name, NUL included */
#define CONFIG_MAX_PATH 4096 /* bytes of a path value, NUL included */

typedef enum config_status {
    CONFIG_OK = 0,
    CONFIG_E_IO,     /* the file exists but could not be read */
    CONFIG_E_NOFILE, /* the file does not exist (not an error for the editor) */
    CONFIG_E_SYNTAX, /* a line that is not "name = value" ("file:line: message") */
    CONFIG_E_NAME,   /* no option of that name */
    CONFIG_E_VALUE,  /* a value of the wrong type or out of range */
    CONFIG_E_ARG,    /* invalid argument (NULL, buffer too small) */
} config_status;

const char *config_status_str(config_status s);

typedef struct config {
    char keymap[CONFIG_MAX_NAME];  /* "keymap": keymap name (keymaps/NAME.keys) or path */
    char theme[CONFIG_MAX_NAME];   /* "theme": theme name (themes/NAME.theme) or path */
    bool wrap;                     /* "wrap": soft wrap at word boundaries */
    bool line_numbers;             /* "line-numbers": show line numbers */
    int tab_width;                 /* "tab-width": columns per tab stop, 1..16 */
    bool final_newline;            /* "final-newline": a new file is saved ending with a newline */
    char model[CONFIG_MAX_PATH];   /* "model": GGUF file; "" = the default model */
    int steps;                     /* "steps": denoising steps per block; 0 = one per mask */
    int block_length;              /* "block-length": tokens per block; 0 = the model's own */
    char sampler[CONFIG_MAX_NAME]; /* "sampler": first-hitting steps confidence margin entropy */
    double threshold;              /* "threshold": ordered samplers keep draws above it; 0 off */
    double temperature;            /* "temperature": > 0 */
    double top_p;                  /* "top-p": nucleus mass in (0, 1]; 1 = off */
    int top_k;                     /* "top-k": tokens kept; 0 = off */
    uint64_t seed;                 /* "seed": sampler seed; 0 = a new seed per run */
    int refresh;                   /* "refresh": infill/revise window cache, a full pass every
                                      N model calls; 0 = exact passes only */
    double revise_fraction;        /* "revise-fraction": share of tokens remasked, (0, 1] */
    int infill_length;             /* "infill-length": tokens inserted by an empty-selection
                                      infill; 0 = the length of the selection */
    int infill_fit;                /* "infill-fit": tokens tried on each side of an infill's
                                      length (the likeliest per byte is kept); 0 = off */
    int threads;                   /* "threads": model threads; 0 = all cores */
    char compute[CONFIG_MAX_NAME]; /* "compute": model products, auto f32 q8 (bd3_compute) */
    int score_delay_ms;            /* "score-delay-ms": ms after the last keystroke before the
                                      heatmap re-scores the edited text */
    uint32_t given;                /* bit i: option i of the table was set after the
                                      defaults (file, command line, prompt) */
} config;

/* A config holding the defaults (parsed from config_defaults_text()). NULL when out of memory. */
config *config_new(void);
void config_free(config *cfg); /* NULL is a no-op */

/* The built-in defaults, in the config file language. */
const char *config_defaults_text(void);

/* Sets one option by name from text: the config file, "--name=value" on the command line and
 * ":set name value" at the prompt all come here. cfg is unchanged on error; err (when non-NULL)
 * gets a message naming the option and the accepted values. */
config_status config_set(config *cfg, const char *name, const char *value, char *err, size_t err_size);
/* ":set" at the command prompt: "name = value", "name=value" or "name value". */
config_status config_set_text(config *cfg, const char *text, char *err, size_t err_size);
/* One command-line argument naming an option: "--name=value", "--name value" (value from next,
 * *used = 2), "--name" for a boolean (on) and "--no-name" (off); *used = 1 otherwise.
 * CONFIG_E_NAME when arg names no option (the caller then tries its own options). */
config_status config_set_arg(config *cfg, const char *arg, const char *next, int *used, char *err,
                             size_t err_size);
/* true when the option was set by config_set since config_new (not only the built-in
 * default): the model layer then uses it instead of the model's own default. */
bool config_given(const config *cfg, const char *name);
/* Writes the current value of an option as text (as config_set accepts it). */
config_status config_get(const config *cfg, const char *name, char *buf, size_t size);

/* Reads "name = value" lines. A bad line is skipped and the others applied; err then holds
 * every bad line's "source:line: message" and says which were skipped ("(lines 3, 7 skipped)").
 * The status is that of the first bad line. */
config_status config_load_string(config *cfg, const char *text, size_t len, const char *source, char *err,
                                 size_t err_size);
config_status config_load_file(config *cfg, const char *path, char *err, size_t err_size);

/* Path of file_name in the user's configuration directory: $XDG_CONFIG_HOME/bd3ed/FILE when
 * xdg_config_home is set and absolute, else $HOME/.config/bd3ed/FILE (pass getenv values; pure).
 * file_name "config" is the config file, "keymaps" and "themes" the user's data directories. */
config_status config_path(const char *xdg_config_home, const char *home, const char *file_name, char *buf,
                          size_t size);

/* ---- the options table, for help and completion ---- */
typedef enum config_type {
    CONFIG_BOOL,
    CONFIG_INT,
    CONFIG_U64,
    CONFIG_DOUBLE,
    CONFIG_STRING,
    CONFIG_ENUM,
} config_type;

typedef struct config_option {
    const char *name;    /* option name, e.g. "tab-width" */
    config_type type;    /* value type */
    const char *help;    /* one-line description */
    double min, max;     /* inclusive range of INT/U64/DOUBLE values */
    const char *choices; /* ENUM: blank-separated accepted values; else NULL */
} config_option;

int config_n_options(void);
const config_option *config_option_at(int i);              /* NULL for a bad index */
const config_option *config_option_find(const char *name); /* NULL when unknown */

#endif
