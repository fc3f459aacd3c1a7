/* editor.h: the editor core's public API for main, the terminal and the model layer: input,
 * prompts with callbacks, messages, the typed editor<->model seam and the state drawn. The state
 * itself is in editor-core.h. Runs without a terminal; never depends on curses. */
#ifndef BD3ED_EDITOR_H
#define BD3ED_EDITOR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "file.h"
#include "key.h"
#include "keymap.h"
#include "search.h"
#include "text.h"
#include "view.h"

#define EDITOR_INPUT_MAX        1024 /* bytes of prompt input */
#define EDITOR_MESSAGE_MAX      512  /* bytes of the message line */
#define EDITOR_MESSAGE_QUEUE    8    /* messages that can wait behind the one shown */
#define EDITOR_DOT_MAX          1024 /* keys of a change vi . can repeat */
#define EDITOR_MODEL_STATUS_MAX 96   /* bytes of the model's status slot */
#define EDITOR_RECOVERY_SECONDS 2.0  /* least time between two recovery writes of a buffer */
#define EDITOR_RECOVERY_ASYNC_MIN                                                                            \
    (4u << 20) /* texts of at least this many bytes are written                                              \
                  to their recovery file by a thread */

typedef struct buffer buffer;

/* Which prompt is open (what it does is in its editor_prompt_ops). */
typedef enum editor_prompt {
    PROMPT_NONE,
    PROMPT_SAVE_AS,         /* file name to save to */
    PROMPT_OPEN,            /* file name to open */
    PROMPT_GOTO,            /* line number */
    PROMPT_FIND,            /* incremental literal search */
    PROMPT_FIND_REGEX,      /* regular expression search */
    PROMPT_REPLACE_FIND,    /* replace: the expression */
    PROMPT_REPLACE_WITH,    /* replace: the replacement */
    PROMPT_REPLACE_CONFIRM, /* replace this match? y n a q */
    PROMPT_QUIT,            /* unsaved changes on quit: y n c */
    PROMPT_CLOSE,           /* unsaved changes on close: y n c */
    PROMPT_OVERWRITE,       /* the file changed on disk: y n */
    PROMPT_RECOVER,         /* a recovery file exists: y n */
    PROMPT_COMMAND,         /* a command line */
    PROMPT_MODEL,           /* a choice for the model layer (model-choose with the number) */
} editor_prompt;

typedef enum editor_mouse_kind {
    EDITOR_MOUSE_PRESS,      /* button 1 pressed */
    EDITOR_MOUSE_DRAG,       /* moved with button 1 held */
    EDITOR_MOUSE_RELEASE,    /* button 1 released */
    EDITOR_MOUSE_WHEEL_UP,   /* wheel up */
    EDITOR_MOUSE_WHEEL_DOWN, /* wheel down */
} editor_mouse_kind;

typedef struct editor editor;

/* Severity of a message on the message line. */
typedef enum editor_msg_kind {
    EDITOR_MSG_INFO,  /* what happened (drawn in the message style) */
    EDITOR_MSG_ERROR, /* what failed or was refused (drawn in the error style) */
} editor_msg_kind;
struct loop;
struct editor_recovery_job;

/* The model commands of the command table (command.arg), handled by the model layer. */
typedef enum editor_model_cmd {
    MODEL_CMD_INFILL,      /* model-infill */
    MODEL_CMD_CONTINUE,    /* model-continue */
    MODEL_CMD_HEATMAP,     /* model-heatmap */
    MODEL_CMD_REVISE,      /* model-revise */
    MODEL_CMD_INSPECT,     /* model-inspect */
    MODEL_CMD_GROW,        /* model-grow */
    MODEL_CMD_SHRINK,      /* model-shrink */
    MODEL_CMD_SAMPLE_NEXT, /* model-sample-next */
    MODEL_CMD_SAMPLE_PREV, /* model-sample-prev */
    MODEL_CMD_FILL,        /* model-fill */
    MODEL_CMD_MARK_BLANK,  /* model-mark-blank */
} editor_model_cmd;

/* What the editor tells the model layer about, with the buffer concerned. */
typedef enum editor_event {
    EDITOR_EVENT_KEY,          /* a key other than the model's or cancel runs (ends a continuation) */
    EDITOR_EVENT_CANCEL,       /* the cancel command (Esc): a running job stops */
    EDITOR_EVENT_UNDO_PRE,     /* an undo or redo is about to run on the buffer */
    EDITOR_EVENT_EDIT_PRE,     /* the person's edit or a recovery write of the buffer comes: a
                                  running job's text must be taken out of it */
    EDITOR_EVENT_EDIT_POST,    /* after a recovery write: the job's text may be shown again */
    EDITOR_EVENT_SAVE_PRE,     /* the buffer is about to be saved to its file */
    EDITOR_EVENT_SAVE_POST,    /* the save ended (written or not) */
    EDITOR_EVENT_BUFFER_CLOSE, /* the buffer is about to be closed and freed */
} editor_event;

/* Runs a model command (count 0 = none); set by the model layer. */
typedef void (*editor_model_fn)(editor *ed, editor_model_cmd cmd, int count, void *ctx);
/* Receives the editor's events; set by the model layer. b is never NULL. */
typedef void (*editor_event_fn)(editor *ed, editor_event ev, buffer *b, void *ctx);
/* Called before every command other than the model ones, with its name; returning true consumes
 * the command. No module installs one today (the model layer uses editor_event_fn); tests do. */
typedef bool (*editor_command_hook_fn)(editor *ed, const char *command, void *ctx);
/* Theme slot (theme_slot) for a cell of the current buffer whose first byte is at pos and has
 * attribute attr, or -1 for the default style; set by the model layer (confidence heatmap,
 * mask placeholders, tokens a revise changed). */
typedef int (*editor_style_fn)(uint8_t attr, size_t pos, void *ctx);
/* Receives copied text for the system clipboard (the terminal layer sends OSC 52). */
typedef void (*editor_clipboard_fn)(const char *bytes, size_t len, void *ctx);

/* A prompt's behaviour, given by the code that opens it (its client). */
typedef struct editor_prompt_ops {
    editor_prompt kind; /* which prompt this is */
    bool yes_no;        /* answered by one letter: accept gets it as soon as it is typed */
    char on_escape;     /* yes_no: the letter Esc, C-g and C-c answer; 0: cancel */
    /* Enter (or the letter of a yes/no prompt): input is the text typed. The prompt is still
     * open: the callback closes it (editor_prompt_end) or opens the next one. */
    void (*accept)(editor *ed, const char *input, void *ctx);
    /* The input changed (typing, deleting, pasting); NULL: nothing to do. */
    void (*changed)(editor *ed, const char *input, void *ctx);
    /* Esc, C-g, C-c: called before the prompt closes with "Cancelled"; NULL: nothing to do. */
    void (*cancel)(editor *ed, void *ctx);
    /* A key the prompt does not edit with; NULL: ignored. */
    void (*key)(editor *ed, key_code key, void *ctx);
} editor_prompt_ops;

editor *editor_new(void);     /* no buffers, built-in config, no keymap; NULL out of memory */
void editor_free(editor *ed); /* NULL is a no-op */

/* Takes ownership of km (freeing the previous one) and resets the key state. */
void editor_set_keymap(editor *ed, keymap *km, const char *name);
/* Applies wrap, line-numbers and tab-width from ed->cfg (after it changed). */
void editor_apply_config(editor *ed);
void editor_resize(editor *ed, int rows, int cols);

/* Opens path (missing: a new file) as a new current buffer; offers a recovery file. */
bool editor_open(editor *ed, const char *path);
/* Adds t (owned) as a new current unnamed buffer called name. Its unsaved text is kept in a
 * recovery file named after this process (file_recovery_unnamed_path). */
bool editor_open_text(editor *ed, text *t, const char *name);
/* Offers, in the current buffer when it is unnamed and empty, the newest recovery file of an
 * unnamed buffer left by an editor that is no longer running; false when there is none. */
bool editor_offer_unnamed_recovery(editor *ed);
buffer *editor_buffer(editor *ed); /* current buffer, NULL when none */

/* Input. */
void editor_key(editor *ed, key_code key);
void editor_paste(editor *ed, const char *bytes, size_t len);
void editor_mouse(editor *ed, editor_mouse_kind kind, int row, int col);

/* Writes recovery files of modified buffers when due (now in seconds, monotonic); removes
 * those of buffers no longer modified. */
void editor_tick(editor *ed, double now);
/* Waits for a recovery write running on a thread (large texts) to end. */
void editor_recovery_wait(editor *ed);
/* Writes recovery files of every modified buffer now (on SIGHUP/SIGTERM). */
void editor_recovery_write_all(editor *ed);

/* Sets the message line. While ed->message_queueing is on (start-up) a message arriving while
 * another is shown waits behind it; each key then shows the next waiting one, unless the key
 * set a message of its own, so no start-up error hides another. */
void editor_message(editor *ed, editor_msg_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Installs the model layer's command handler and event receiver (NULL, NULL: none). */
void editor_set_model_hook(editor *ed, editor_model_fn fn, editor_event_fn event_fn, void *ctx);
void editor_set_model_status(editor *ed, const char *status);

/* ---- geometry and positions (for the renderer) ---- */
int editor_text_rows(const editor *ed);       /* rows of the text area (terminal rows - 2) */
int editor_gutter(editor *ed);                /* columns of the line-number gutter, 0 if off */
view_opts editor_view_opts(editor *ed);       /* layout options of the current buffer */
void editor_scroll(editor *ed);               /* moves top so that the cursor is visible */
size_t buffer_line_of(buffer *b, size_t pos); /* 0-based line number (cached) */
size_t buffer_col_of(buffer *b, size_t pos);  /* 0-based character column in its line */
/* Selection [*start, *end) of b; false when there is none. An inclusive selection (vi visual
 * mode) runs from the nearer of anchor and cursor through the character under the farther one,
 * in either direction; it is never "none" while its anchor is set, though it is empty on the
 * text's last line break or its end (see buffer_inclusive_end). A linewise one (vi V) runs
 * from the start of the first line to the end of the last, its line break included. */
bool buffer_selection(const buffer *b, size_t *start, size_t *end);
/* Selects exactly [start, end) of b (start < end), whether its selection is inclusive or not
 * (a linewise one becomes characterwise): the anchor at start, the cursor at the end. */
void buffer_select_range(buffer *b, size_t start, size_t end);

/* ---- prompts (for clients outside the core, such as the model layer's menus) ---- */
/* Opens a prompt with label and initial input; ops and ctx belong to the caller and must stay
 * valid until the prompt ends. */
void editor_prompt_open(editor *ed, const editor_prompt_ops *ops, void *ctx, const char *label,
                        const char *initial);
/* Closes the prompt (then offers a waiting recovery file). */
void editor_prompt_end(editor *ed);

/* ---- state for the terminal layer, main and the model layer ---- */
config *editor_config(editor *ed); /* options (owned by the editor) */
int editor_cols(const editor *ed); /* terminal columns */
int editor_n_buffers(const editor *ed);
void editor_select_buffer(editor *ed, int index);   /* makes buffer index current */
editor_prompt editor_prompt_kind(const editor *ed); /* PROMPT_NONE when no prompt is open */
const char *editor_prompt_label(const editor *ed);
const char *editor_prompt_input(const editor *ed);
/* Text shown after the prompt's input (completion candidates), "" when none. */
const char *editor_prompt_hint(const editor *ed);
/* The message line text ("" when none); *error: its severity; *n_waiting: messages queued. */
const char *editor_message_text(const editor *ed, bool *error, int *n_waiting);
/* While on (start-up) messages queue behind the one shown instead of replacing it. */
void editor_set_message_queueing(editor *ed, bool on);
/* Count of messages set so far: the one just set is still the last one while it is unchanged. */
uint64_t editor_message_serial(const editor *ed);
/* Takes back the message set when the count was serial (one that has gone out of date, as
 * "loading" once loaded), unless another message was set since; a waiting one comes next. */
void editor_message_withdraw(editor *ed, uint64_t serial);
const char *editor_model_status(const editor *ed);
bool editor_model_legend(const editor *ed); /* draw the heatmap legend */
void editor_set_model_legend(editor *ed, bool on);
void *editor_model_hook_ctx(const editor *ed); /* ctx of editor_set_model_hook */
/* Cell style hook (heatmap, masks, revised tokens); NULL fn: none. */
void editor_set_style_hook(editor *ed, editor_style_fn fn, void *ctx);
editor_style_fn editor_style_hook(const editor *ed, void **ctx);
/* The search whose matches are highlighted, or NULL. */
search *editor_search_shown(editor *ed);
const keymap *editor_keymap(const editor *ed);          /* NULL when none */
const keymap_state *editor_key_state(const editor *ed); /* pending keys, count and mode */
/* The pending count and keys for the status line ("3 d"), with those of a command waiting for
 * its character (vi "f"); "" when none. Returns buf. */
char *editor_pending_describe(const editor *ed, char *buf, size_t size);
/* true when key means something now: a binding in the current mode, an open prompt (which
 * reads keys itself) or a pending key sequence. */
bool editor_key_bound(const editor *ed, key_code key);
void editor_set_clipboard(editor *ed, editor_clipboard_fn fn, void *ctx);
void editor_set_loop(editor *ed, struct loop *lp); /* main loop for extra fds and wakeups */
struct loop *editor_loop(const editor *ed);
bool editor_quitting(const editor *ed);         /* the main loop should end */
bool editor_take_suspend(editor *ed);           /* a suspend was asked for (cleared) */
bool editor_take_redraw(editor *ed);            /* a full repaint was asked for (cleared) */
void editor_goto_line(editor *ed, size_t line); /* 0-based; centres it */
/* The model replaced [pos, pos + old_len) of t with new_len bytes: cursors, selections and
 * tops of the buffers showing t follow. */
void editor_follow_replace(editor *ed, const text *t, size_t pos, size_t old_len, size_t new_len);
/* Selects [lo, hi) in the buffers showing t. */
void editor_select_in(editor *ed, const text *t, size_t lo, size_t hi);

/* ---- a buffer's state ---- */
text *buffer_text(const buffer *b);
size_t buffer_cursor(const buffer *b);    /* byte offset of the cursor */
size_t buffer_top(const buffer *b);       /* byte offset of the first row shown */
const char *buffer_name(const buffer *b); /* name for the status line */
bool buffer_readonly(const buffer *b);
/* The buffer's file on disk is read-only for this user (saving asks first). */
bool buffer_file_readonly(const buffer *b);
/* b's selection takes in whole lines (vi V), for the status line. */
bool buffer_linewise(const buffer *b);

/* ---- edits through the buffer (keep cursor, selection and caches in step) ---- */
bool buffer_insert(buffer *b, size_t pos, const char *bytes, size_t len, const uint8_t *attrs);
bool buffer_delete(buffer *b, size_t pos, size_t len);

/* Base64 of len bytes for an OSC 52 clipboard sequence: writes at most size bytes (NUL
 * included) into out; returns the length, or 0 when it does not fit. */
size_t editor_base64(const char *bytes, size_t len, char *out, size_t size);

#endif
