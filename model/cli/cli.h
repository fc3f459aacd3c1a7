/* cli.h: shared parts of the bd3 command-line tool: options common to every subcommand, model
 * loading, file reading, the progress bar. Depends on bd3.h and libc/POSIX only. */
#ifndef BD3_CLI_H
#define BD3_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "bd3.h"

/* Exit codes of every subcommand. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* Options that only some subcommands accept (bits of cli_cmd.accepts). */
enum {
    CLI_OPT_IDS = 1 << 0,     /* --ids LIST */
    CLI_OPT_MODE = 1 << 1,    /* --mode global|block:B */
    CLI_OPT_STREAM = 1 << 2,  /* --stream */
    CLI_OPT_OUTPUT = 1 << 3,  /* -o FILE */
    CLI_OPT_ROWS = 1 << 4,    /* --rows N */
    CLI_OPT_PROMPT = 1 << 5,  /* -p TEXT */
    CLI_OPT_MAXNEW = 1 << 6,  /* -n N */
    CLI_OPT_BLOCK = 1 << 7,   /* --block B */
    CLI_OPT_RANGE = 1 << 8,   /* --range START:END */
    CLI_OPT_LENGTH = 1 << 9,  /* --length N */
    CLI_OPT_FORMAT = 1 << 10, /* --format NAME */
    CLI_OPT_STRIDE = 1 << 11, /* --stride K */
    CLI_OPT_NOCACHE = 1 << 12, /* --no-cache */
    CLI_OPT_ECHO = 1 << 13,   /* --echo */
};

/* Parsed command line of one subcommand. */
typedef struct cli_opts {
    const char *cmd;          /* subcommand name, for messages */
    const char *model;        /* -m FILE, NULL: the default model */
    bd3_sampler_params sp;    /* --sampler --steps --threshold --temperature --top-p --top-k --seed */
    int seed_set;             /* 1 when --seed was given */
    int threads;              /* -t N, 0: all cores */
    int quiet;                /* -q: no progress bar */
    const char *ids;          /* --ids LIST */
    int block_len;            /* --mode / --block: BD3_GLOBAL or B; -1 when not given */
    int stream;               /* --stream */
    const char *output;       /* -o FILE */
    int rows;                 /* --rows N, 0: all */
    const char *prompt;       /* -p TEXT */
    int max_new;              /* -n N, -1 when not given */
    long range_start;         /* --range START:END in bytes; -1 when not given */
    long range_end;           /* end of --range (exclusive) */
    int length;               /* --length N tokens, -1 when not given */
    const char *format;       /* --format NAME */
    int stride;               /* --stride K, 0: default */
    int no_cache;             /* --no-cache */
    int echo;                 /* --echo */
    char **args;              /* positional arguments */
    int n_args;               /* entries in args */
} cli_opts;

/* One subcommand: name, the options it accepts beyond the common ones, usage, and its body. */
typedef struct cli_cmd {
    const char *name;                   /* as typed after bd3 */
    unsigned accepts;                   /* CLI_OPT_* bits */
    int max_args;                       /* positional arguments allowed */
    const char *usage;                  /* one line of synopsis after "bd3 NAME" */
    const char *help;                   /* one line of description */
    int (*run)(cli_opts *o);            /* returns an exit code */
} cli_cmd;

int cmd_info(cli_opts *o);
int cmd_tokenize(cli_opts *o);
int cmd_logits(cli_opts *o);
int cmd_generate(cli_opts *o);
int cmd_infill(cli_opts *o);
int cmd_score(cli_opts *o);
int cmd_ppl(cli_opts *o);
int cmd_bench(cli_opts *o);

/* Prints "bd3 CMD: message" to stderr. */
void cli_error(const cli_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Loads the model of -m (or the default one) and makes a context; prints the problem and
 * returns CLI_EXIT_FAIL on failure. */
int cli_load(cli_opts *o, bd3_model **m, bd3_ctx **c);

/* Reads a whole file (path NULL or "-": stdin). *data is malloc'd and NUL-terminated. */
int cli_read_file(const cli_opts *o, const char *path, char **data, size_t *len);

/* Parses "global" or "block:B" into BD3_GLOBAL or B. 0 ok, -1 bad. */
int cli_parse_mode(const char *s, int *block_len);

/* Writes the bytes of a token with C-style escapes for control characters, backslash and
 * bytes >= 0x80 that do not form valid UTF-8 (json: JSON string escapes). */
void cli_put_escaped(FILE *f, const char *s, size_t len, int json);

/* Writes text for a terminal: valid UTF-8, newlines and tabs as they are; other control
 * characters and bytes that are not valid UTF-8 as \xNN. */
void cli_put_text(FILE *f, const char *s, size_t len);

/* 1 when s[0..len) ends inside a UTF-8 sequence that more bytes could complete. */
int cli_utf8_incomplete_tail(const char *s, size_t len);

/* Seconds on a monotonic clock. */
double cli_now(void);

/* Progress bar on stderr: drawn only when stderr is a terminal, not quiet, and the operation
 * has run longer than a second. Also a bd3_step_fn (user = cli_progress *). */
typedef struct cli_progress {
    int enabled;        /* stderr is a terminal and not -q */
    double start;       /* cli_now() at the start */
    double last_draw;   /* cli_now() of the last redraw */
    int drawn;          /* 1 once a bar is on the screen */
    const char *label;  /* text before the bar */
} cli_progress;
void cli_progress_start(cli_progress *p, const cli_opts *o, const char *label);
int cli_progress_step(void *user, const bd3_progress *p);
/* Draws fraction done/total directly (for loops outside the engine). */
void cli_progress_show(cli_progress *p, double done, double total, const char *what);
void cli_progress_end(cli_progress *p);

#endif
