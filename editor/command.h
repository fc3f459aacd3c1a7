/* command.h: the command table (one descriptor per command: name, help, handler) and running
 * a command by name or a command line. Depends on editor.h (the editor type only). */
#ifndef BD3ED_COMMAND_H
#define BD3ED_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include "editor.h"

/* A command's handler: count as typed (0 = none; COMMAND_REPEAT: 0, the handler runs count
 * times) and the descriptor's arg. */
typedef void (*command_fn)(editor *ed, int count, int arg);

enum {
    COMMAND_REPEAT = 1u << 0,    /* a count runs the handler count times */
    COMMAND_KEEP_GOAL = 1u << 1, /* a vertical motion: keeps the goal column */
    COMMAND_MODEL = 1u << 2,     /* a model command (arg: its editor_model_cmd) */
    COMMAND_KEEP_JOB = 1u << 3,  /* its key does not end a running continuation */
    COMMAND_HISTORY = 1u << 4,   /* undo, redo, vi .: works on the history of changes */
};

typedef struct command {
    const char *name; /* name used by keymaps and the command prompt */
    const char *help; /* one line for the help screen */
    command_fn fn;    /* handler */
    unsigned flags;   /* COMMAND_* bits */
    int arg;          /* passed to fn: MODEL_CMD_* for the model commands, else 0 */
} command;

/* The motion and selection commands (command-motion.c); command_at lists them first. */
extern const command command_motion_table[];
extern const int command_motion_count; /* entries of command_motion_table */
/* The vi operators (command-vi.c); command_at lists them next. */
extern const command command_vi_table[];
extern const int command_vi_count; /* entries of command_vi_table */

/* For the command files: true when the current buffer may be edited (else a message says it
 * is read-only); deleting [s, e) leaves the cursor at s and no selection. */
bool command_editable(editor *ed);
void command_delete_range(editor *ed, size_t s, size_t e);
/* Moves the cursor to pos as a motion does: select extends the selection (starting one at the
 * cursor), else the selection ends (emacs: a set mark extends it too). */
void command_move_to(editor *ed, size_t pos, bool select);

const command *command_find(const char *name); /* NULL when unknown */
int command_count(void);
const command *command_at(int i); /* NULL for a bad index */
/* true for a command only a keymap with modes (vi) has use for: the vi operators, the vi-*
 * motions (and their select-vi-* twins) and the mode-* commands; the help of a keymap without
 * modes leaves them out. */
bool command_modal_only(const command *c);
/* true for a command whose key leaves a running continuation alone (model commands, cancel). */
bool command_keeps_job(const char *name);
/* true for a command that is an undo step of its own and no change for vi . to repeat: undo,
 * redo, . itself and the model's commands. */
bool command_own_step(const command *c);
/* For keymap_set_command_check: true for a command name or "none". */
bool command_known(const char *name, void *ctx);

/* Runs a command by name (count 0 = none) on the current buffer, with one undo step around
 * it; false (with a message) when there is no such command. */
bool command_run(editor *ed, const char *name, int count);
/* Gives the key typed after a command that waits for a character (ed->char_wait: vi f, t, r): a
 * printable key runs that command again with it, any other (Esc) cancels it. */
void command_char(editor *ed, key_code key);
/* Runs a command-prompt line: a command name, a line number, w q wq x q!, e FILE, set NAME VALUE. */
void command_run_line(editor *ed, const char *line);
/* The command names that start with prefix: their count (-1 out of memory); common gets their
 * longest common prefix (prefix itself when none match), list the names in order, apart by
 * spaces, ending in "..." where the rest does not fit (empty when list_size < 8). */
int command_complete(const char *prefix, char *common, size_t common_size, char *list, size_t list_size);
/* Tab at the command prompt: completes the command name typed so far to the names' common
 * prefix and, when several remain, shows them after the input ("[no match]" when none). */
void command_prompt_key(editor *ed, key_code key, void *ctx);

#endif
