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
    CLI_OPT_IDS = 1 << 0,       /* --ids LIST */
    CLI_OPT_MODE = 1 << 1,      /* --mode global|block:B */
    CLI_OPT_STREAM = 1 << 2,    /* --stream */
    CLI_OPT_OUTPUT = 1 << 3,    /* -o FILE */
    CLI_OPT_ROWS = 1 << 4,      /* --rows N */
    CLI_OPT_PROMPT = 1 << 5,    /* -p TEXT */
    CLI_OPT_MAXNEW = 1 << 6,    /* -n N */
    CLI_OPT_BLOCK = 1 << 7,     /* --block B */
    CLI_OPT_RANGE = 1 << 8,     /* --range START:END */
    CLI_OPT_LENGTH = 1 << 9,    /* --length N */
    CLI_OPT_FORMAT = 1 << 10,   /* --format NAME */
    CLI_OPT_STRIDE = 1 << 11,   /* --stride K */
    CLI_OPT_NOCACHE = 1 << 12,  /* --no-cache */
    CLI_OPT_ECHO = 1 << 13,     /* --echo */
    CLI_OPT_FIND = 1 << 14,     /* --find TEXT */
    CLI_OPT_FRACTION = 1 << 15, /* --fraction X */
    CLI_OPT_AR = 1 << 16,       /* --ar */
    CLI_OPT_SEED = 1 << 17,     /* --seed N */
    CLI_OPT_SAMPLER = 1 << 18,  /* --sampler --steps --threshold --temperature --top-p --top-k --refresh */
    CLI_OPT_REF = 1 << 19,      /* --ref FILE */
    CLI_OPT_FIT = 1 << 20,      /* --fit N */
};

/* Sampler fields given on the command line (bits of cli_opts.sp_given); the others come from
 * bd3_model_defaults once the model is loaded. */
enum {
    CLI_SP_KIND = 1 << 0,
    CLI_SP_STEPS = 1 << 1,
    CLI_SP_THRESHOLD = 1 << 2,
    CLI_SP_TEMPERATURE = 1 << 3,
    CLI_SP_TOP_P = 1 << 4,
    CLI_SP_TOP_K = 1 << 5,
    CLI_SP_SEED = 1 << 6,
    CLI_SP_REFRESH = 1 << 7,
};

/* Parsed command line of one subcommand. */
typedef struct cli_opts {
    const char *cmd;       /* subcommand name, for messages */
    const char *model;     /* -m FILE, NULL: the default model */
    bd3_sampler_params sp; /* the sampler: options given, the rest from bd3_model_defaults
                              (filled by cli_load) */
    unsigned sp_given;     /* CLI_SP_* bits of the sampler fields given on the command line */
    int seed_fresh;        /* 1 when cli_load drew a fresh seed (seed 0 or none given) */
    double fraction;       /* --fraction X; after cli_load the revise fraction in use */
    int threads;           /* -t N, 0: all cores */
    bd3_compute compute;   /* --compute MODE, BD3_COMPUTE_AUTO when not given */
    int quiet;             /* -q: no progress bar */
    const char *ids;       /* --ids LIST */
    int block_len;         /* --mode / --block: BD3_GLOBAL or B; -1 when not given */
    int stream;            /* --stream */
    const char *output;    /* -o FILE */
    int rows;              /* --rows N, 0: all */
    const char *prompt;    /* -p TEXT */
    int max_new;           /* -n N, -1 when not given */
    const char *range;     /* --range SPAN (START:END bytes or L1:C1-L2:C2), NULL when not given */
    const char *find;      /* --find TEXT, NULL when not given */
    int ar;                /* --ar */
    int length;            /* --length N tokens, -1 when not given */
    int fit;               /* --fit N: lengths up to N tokens shorter and longer also tried, 0: off */
    const char *format;    /* --format NAME */
    int stride;            /* --stride K, 0: default */
    int no_cache;          /* --no-cache */
    int echo;              /* --echo */
    const char *ref;       /* --ref FILE: a second model scored on the same rows, NULL when not given */
    char **args;           /* positional arguments */
    int n_args;            /* entries in args */
} cli_opts;

/* One subcommand: name, the options it accepts beyond the common ones, usage, and its body. */
typedef struct cli_cmd {
    const char *name;        /* as typed after bd3 */
    unsigned accepts;        /* CLI_OPT_* bits */
    int max_args;            /* positional arguments allowed */
    const char *usage;       /* one line of synopsis after "bd3 NAME" */
    const char *help;        /* one line of description */
    const char *options;     /* help lines for the command's own options */
    int (*run)(cli_opts *o); /* returns an exit code */
} cli_cmd;

int cmd_info(cli_opts *o);
int cmd_tokenize(cli_opts *o);
int cmd_logits(cli_opts *o);
int cmd_generate(cli_opts *o);
int cmd_infill(cli_opts *o);
int cmd_score(cli_opts *o);
int cmd_ppl(cli_opts *o);
int cmd_bench(cli_opts *o);
int cmd_revise(cli_opts *o);

/* Prints "bd3 CMD: message" to stderr. */
void cli_error(const cli_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Loads the model of -m (or the default one) and makes a context; prints the problem and
 * returns CLI_EXIT_FAIL on failure. */
int cli_load(cli_opts *o, bd3_model **m, bd3_ctx **c);

/* Reads a whole file (path NULL or "-": stdin). *data is malloc'd and NUL-terminated. */
int cli_read_file(const cli_opts *o, const char *path, char **data, size_t *len);

/* For commands that draw text: a seed of 0 (none given, and no model default) becomes a fresh
 * one (bd3_rng_fresh_seed) and seed_fresh is set. Call after cli_load. */
void cli_seed(cli_opts *o);

/* The byte span [*a, *b) of text[0..len) that --find or --range names (o->find or o->range must
 * be set); name is the file's name for messages. Prints the problem and returns CLI_EXIT_USAGE
 * when the span is not in the text. */
int cli_span(const cli_opts *o, const char *name, const char *text, size_t len, size_t *a, size_t *b);

/* Widens the byte span [*a, *b) to whole tokens of ids[0..n), the tokens of a text of len bytes:
 * the start moves back to the start of its token, the end forward to the end of its token (an
 * empty span moves to the start of the token that holds it). *i0, *i1: the span's tokens
 * [i0, i1). -1 when the tokens do not spell len bytes. */
int cli_span_tokens(const bd3_model *m, const int32_t *ids, size_t n, size_t len, size_t *a, size_t *b,
                    size_t *i0, size_t *i1);

/* The common start of infill and revise: FILE (o->args[0]) read, its span taken from --find or
 * --range (the whole file when neither is given), the model loaded and seeded, the text tokenized
 * and the span widened to whole tokens. */
typedef struct cli_doc {
    char *text;    /* the file's bytes (len) */
    size_t len;    /* bytes */
    size_t a0, b0; /* the span as asked: bytes [a0, b0) */
    size_t a, b;   /* the span widened to whole tokens: bytes [a, b) */
    bd3_model *m;  /* the loaded model */
    bd3_ctx *c;    /* its context */
    int32_t *ids;  /* the text's tokens [n] */
    size_t n;      /* tokens */
    size_t i0, i1; /* the span's tokens [i0, i1) */
} cli_doc;

/* Fills d (CLI_EXIT_OK) or prints the problem, frees what it took and returns the exit code. */
int cli_doc_open(cli_opts *o, cli_doc *d);
/* Frees what cli_doc_open took; a zeroed d is a no-op. */
void cli_doc_close(cli_doc *d);

/* Parses "global" or "block:B" into BD3_GLOBAL or B. 0 ok, -1 bad. */
int cli_parse_mode(const char *s, int *block_len);

/* Writes the bytes of a token with C-style escapes for control characters, backslash and
 * bytes >= 0x80 that do not form valid UTF-8 (json: JSON string escapes). */
void cli_put_escaped(FILE *f, const char *s, size_t len, int json);

/* Writes text for a terminal: valid UTF-8, newlines and tabs as they are; other control
 * characters and bytes that are not valid UTF-8 as \xNN. */
void cli_put_text(FILE *f, const char *s, size_t len);

/* Bytes of the UTF-8 sequence that s[0..len) ends inside and that more bytes could complete
 * (1 to 3), or 0. */
int cli_utf8_incomplete_tail(const char *s, size_t len);

/* Writes text that comes from a model or a file (model output, metadata, echoed text): to a
 * terminal through cli_put_text (control bytes and invalid UTF-8 shown as \xNN, a character
 * split across two writes kept whole), anywhere else as the exact bytes. */
typedef struct cli_out {
    FILE *f;        /* the stream */
    int tty;        /* 1 when f is a terminal */
    char carry[4];  /* start of a UTF-8 character whose other bytes have not come yet */
    size_t n_carry; /* bytes in carry */
    int last;       /* last byte written (unsigned char), '\n' before the first write */
} cli_out;
void cli_out_init(cli_out *w, FILE *f);
void cli_out_write(cli_out *w, const char *s, size_t len);
void cli_out_finish(cli_out *w); /* writes a held incomplete character as \xNN bytes */

/* Seconds on a monotonic clock. */
double cli_now(void);

/* Progress bar on stderr: drawn only when stderr is a terminal, not quiet, and the operation
 * has run longer than a second. Also a bd3_step_fn (user = cli_progress *). */
typedef struct cli_progress {
    int enabled;       /* stderr is a terminal and not -q */
    double start;      /* cli_now() at the start */
    double last_draw;  /* cli_now() of the last redraw */
    int drawn;         /* 1 once a bar is on the screen */
    const char *label; /* text before the bar */
    int hold;          /* 1 while the cursor is inside text streamed to the same terminal: the
                          bar is not drawn, so that it never covers that text */
} cli_progress;
void cli_progress_start(cli_progress *p, const cli_opts *o, const char *label);
int cli_progress_step(void *user, const bd3_progress *p);
/* Draws fraction done/total directly (for loops outside the engine). */
void cli_progress_show(cli_progress *p, double done, double total, const char *what);
void cli_progress_end(cli_progress *p); /* erases the bar; it may be drawn again later */
/* Streams text to w while p may draw on the same terminal: the bar is erased before the text
 * and held back (p->hold) until the text has ended its line, so that it never covers or erases
 * streamed text. Flushes w. -1 when the write failed. */
int cli_stream_write(cli_out *w, cli_progress *p, const char *s, size_t len);

#endif
