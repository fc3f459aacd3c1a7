/* command.h: the command table (one descriptor per command: name, help, handler) and the
 * editor operations the handlers share with the key and prompt code. Depends on editor.h. */
#ifndef BD3ED_COMMAND_H
#define BD3ED_COMMAND_H

#include <stdbool.h>
#include "editor.h"

typedef void (*command_fn)(editor *ed, int count);

enum {
    COMMAND_REPEAT = 1u << 0,     /* a count runs the handler count times */
    COMMAND_KEEP_GOAL = 1u << 1,  /* a vertical motion: keeps the goal column */
    COMMAND_MODEL = 1u << 2,      /* handled by the model layer's hook */
};

typedef struct command {
    const char *name;   /* name used by keymaps and the command prompt */
    const char *help;   /* one line for the help screen */
    command_fn fn;      /* handler (NULL for model commands) */
    unsigned flags;     /* COMMAND_* bits */
} command;

const command *command_find(const char *name);   /* NULL when unknown */
int command_count(void);
const command *command_at(int i);                /* NULL for a bad index */
/* For keymap_set_command_check: true for a command name or "none". */
bool command_known(const char *name, void *ctx);

/* ---- editor operations used by the handlers (editor.c) ---- */
void editor_prompt_start(editor *ed, editor_prompt kind, const char *label, const char *initial);
void editor_save_buffer(editor *ed, bool force);
void editor_request_quit(editor *ed, bool force);
void editor_request_close(editor *ed);
void editor_close_buffer(editor *ed, int index);
void editor_find_again(editor *ed, bool backward);
void editor_show_help(editor *ed);
void editor_goto_line(editor *ed, size_t line);
void editor_run_line(editor *ed, const char *line);
/* Replaces the selection (or inserts at the cursor) with bytes; the cursor ends after them. */
bool editor_replace_selection(editor *ed, const char *bytes, size_t len);
/* Sets the register (and the system clipboard) to [start, end) of the current buffer. */
void editor_copy_range(editor *ed, size_t start, size_t end);
/* Scratch row for layouts of width columns (reused). */
view_row *editor_scratch_row(editor *ed, int width);
/* Sets the keymap mode by name; false (with a message) when the keymap has no such mode. */
bool editor_set_mode(editor *ed, const char *mode);

#endif
