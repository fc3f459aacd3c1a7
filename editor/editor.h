/* editor.h: the editor core: buffers (text + file + cursor/selection), key dispatch through the
 * keymap to named commands, prompts on the message line, search, register, recovery timing.
 * Runs without a terminal (tests drive it with keys). Depends on text, file, view, motion,
 * search, key, keymap and config; never on curses. */
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

#define EDITOR_INPUT_MAX 1024        /* bytes of prompt input */
#define EDITOR_MESSAGE_MAX 512       /* bytes of the message line */
#define EDITOR_MESSAGE_QUEUE 8       /* messages that can wait behind the one shown */
#define EDITOR_MODEL_STATUS_MAX 96   /* bytes of the model's status slot */
#define EDITOR_RECOVERY_SECONDS 2.0  /* least time between two recovery writes of a buffer */
#define EDITOR_RECOVERY_ASYNC_MIN (4u << 20) /* texts of at least this many bytes are written
                                                to their recovery file by a thread */

/* One open file (or unnamed text). */
typedef struct buffer {
    text *text;             /* the content */
    char *path;             /* file path; NULL for an unnamed buffer */
    char *name;             /* name shown in the status line */
    file_info info;         /* the file on disk when opened or last saved */
    bool readonly;          /* edits refused (the help screen) */
    bool is_help;           /* this is the help screen */
    size_t cursor;          /* byte offset of the cursor */
    size_t anchor;          /* other end of the selection; TEXT_POS_NONE when none */
    bool mark;              /* the mark is set (emacs): plain motions extend the selection */
    size_t top;             /* byte offset of the first row shown */
    int hscroll;            /* first column shown when not wrapping */
    int goal_col;           /* column kept by vertical motions; -1 when none */
    bool typing;            /* the last key typed text (a typed run is one undo step) */
    bool typed_blank;       /* the last typed character was a blank */
    uint64_t rec_rev;       /* text revision of the last recovery write */
    double rec_time;        /* time (s) of the last recovery write */
    bool rec_written;       /* a recovery file of this buffer exists */
    bool recovery_offer;    /* a recovery file was found on open and waits for an answer */
    char *rec_file;         /* unnamed buffers: path of their recovery file; NULL otherwise */
    char *rec_offer;        /* unnamed buffers: an earlier session's recovery file offered for
                               restoring (recovery_offer); NULL otherwise */
    size_t lc_pos;          /* line cache: a position ... */
    size_t lc_line;         /* ... and its 0-based line number */
    uint64_t lc_rev;        /* text revision the cache is valid for */
    bool lc_valid;          /* the cache holds a position */
} buffer;

typedef enum editor_prompt {
    PROMPT_NONE,
    PROMPT_SAVE_AS,          /* file name to save to */
    PROMPT_OPEN,             /* file name to open */
    PROMPT_GOTO,             /* line number */
    PROMPT_FIND,             /* incremental literal search */
    PROMPT_FIND_REGEX,       /* regular expression search */
    PROMPT_REPLACE_FIND,     /* replace: the expression */
    PROMPT_REPLACE_WITH,     /* replace: the replacement */
    PROMPT_REPLACE_CONFIRM,  /* replace this match? y n a q */
    PROMPT_QUIT,             /* unsaved changes on quit: y n c */
    PROMPT_CLOSE,            /* unsaved changes on close: y n c */
    PROMPT_OVERWRITE,        /* the file changed on disk: y n */
    PROMPT_RECOVER,          /* a recovery file exists: y n */
    PROMPT_COMMAND,          /* a command line */
    PROMPT_MODEL,            /* a choice for the model layer (model-choose with the number) */
} editor_prompt;

typedef enum editor_mouse_kind {
    EDITOR_MOUSE_PRESS,       /* button 1 pressed */
    EDITOR_MOUSE_DRAG,        /* moved with button 1 held */
    EDITOR_MOUSE_RELEASE,     /* button 1 released */
    EDITOR_MOUSE_WHEEL_UP,    /* wheel up */
    EDITOR_MOUSE_WHEEL_DOWN,  /* wheel down */
} editor_mouse_kind;

typedef struct editor editor;
struct loop;
struct editor_recovery_job;

/* Handles the model-* commands; set by the model layer. Also called with "cancel" (Esc), "undo"
 * (before an undo or redo runs), "key" (before any other key's command or typed text),
 * "forget" (buffer number count is about to be closed), "save-begin" / "save-end" (around
 * writing the current buffer to its file) and "model-choose" (a PROMPT_MODEL answer as count). */
typedef void (*editor_model_fn)(editor *ed, const char *command, int count, void *ctx);
/* Called before every command other than the model-* ones (which go to editor_model_fn);
 * returning true consumes the command (e.g. "cancel" stops a model job instead of clearing the
 * selection). Set by the model layer. */
typedef bool (*editor_command_hook_fn)(editor *ed, const char *command, void *ctx);
/* Theme slot (theme_slot) for a cell of the current buffer whose first byte is at pos and has
 * attribute attr, or -1 for the default style; set by the model layer (confidence heatmap,
 * mask placeholders, tokens a revise changed). */
typedef int (*editor_style_fn)(uint8_t attr, size_t pos, void *ctx);
/* Receives copied text for the system clipboard (the terminal layer sends OSC 52). */
typedef void (*editor_clipboard_fn)(const char *bytes, size_t len, void *ctx);

struct editor {
    buffer **bufs;              /* n_bufs open buffers */
    int n_bufs;                 /* count */
    int cur;                    /* index of the current buffer */
    keymap *km;                 /* active keymap (owned) */
    char keymap_name[KEYMAP_MAX_NAME]; /* its name, for the help screen */
    keymap_state ks;            /* pending keys, count and mode */
    config *cfg;                /* options (owned) */
    int rows;                   /* terminal rows */
    int cols;                   /* terminal columns */
    char *reg;                  /* register (cut/copy/paste), reg_len bytes */
    size_t reg_len;             /* bytes in reg */
    editor_clipboard_fn clipboard_fn; /* system clipboard sink, or NULL */
    void *clipboard_ctx;        /* its context */
    char message[EDITOR_MESSAGE_MAX]; /* message line text */
    bool message_error;         /* the message is an error */
    bool message_queueing;      /* a message does not replace the one shown but waits behind it
                                   (start-up, until the first key) */
    char msg_queue[EDITOR_MESSAGE_QUEUE][EDITOR_MESSAGE_MAX]; /* waiting messages, oldest first */
    bool msg_queue_error[EDITOR_MESSAGE_QUEUE]; /* each is an error */
    int n_msg_queue;            /* messages waiting, 0..EDITOR_MESSAGE_QUEUE */
    uint64_t message_serial;    /* count of messages set, to see whether a key set one */
    editor_prompt prompt;       /* active prompt */
    char prompt_label[160];     /* prompt text before the input */
    char input[EDITOR_INPUT_MAX]; /* prompt input, input_len bytes, NUL-terminated */
    size_t input_len;           /* bytes in input */
    size_t origin_cursor;       /* cursor when an incremental search began */
    size_t origin_anchor;       /* anchor then */
    size_t origin_top;          /* top then */
    search search;              /* last search */
    bool search_valid;          /* search holds a pattern */
    bool search_highlight;      /* show the matches of search (until cancel) */
    char *replace_with;         /* replacement of the running replace */
    int replace_count;          /* replacements done in the running replace */
    bool quit_after_save;       /* the quit prompt asked to save, then quit */
    bool center_next;           /* the next scroll centres the cursor */
    bool quit;                  /* the main loop should end */
    bool suspend_requested;     /* the terminal layer should suspend */
    bool redraw_requested;      /* the terminal layer should repaint everything */
    bool dragging;              /* mouse button 1 held */
    size_t drag_origin;         /* position where the drag began */
    editor_model_fn model_fn;   /* handler of the model-* commands, or NULL */
    void *model_ctx;            /* its context */
    char model_status[EDITOR_MODEL_STATUS_MAX]; /* model slot of the status line */
    editor_command_hook_fn command_hook; /* sees every command first, or NULL */
    void *command_hook_ctx;     /* its context */
    editor_style_fn style_fn;   /* style of cells by attribute, or NULL (no heatmap) */
    void *style_ctx;            /* its context */
    bool model_legend;          /* draw the heatmap legend (conf0..conf4) in the status line */
    struct loop *loop;          /* main loop (extra fds, wakeups); set by the terminal layer */
    struct editor_recovery_job *rec_job; /* recovery write running on a thread, or NULL */
    bool keep_top;              /* the last command placed top itself (page motions) */
    view_row scratch;           /* row reused by layouts in motions */
    int scratch_width;          /* width scratch was allocated for */
};

editor *editor_new(void);      /* no buffers, built-in config, no keymap; NULL out of memory */
void editor_free(editor *ed);  /* NULL is a no-op */

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
buffer *editor_buffer(editor *ed);   /* current buffer, NULL when none */

/* Input. */
void editor_key(editor *ed, key_code key);
void editor_paste(editor *ed, const char *bytes, size_t len);
void editor_mouse(editor *ed, editor_mouse_kind kind, int row, int col);
/* Runs a command by name (count 0 = none); false when there is no such command. */
bool editor_run_command(editor *ed, const char *name, int count);

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
void editor_message(editor *ed, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void editor_set_model_hook(editor *ed, editor_model_fn fn, void *ctx);
void editor_set_model_status(editor *ed, const char *status);

/* ---- geometry and positions (for the renderer) ---- */
int editor_text_rows(const editor *ed);       /* rows of the text area (terminal rows - 2) */
int editor_gutter(editor *ed);                /* columns of the line-number gutter, 0 if off */
view_opts editor_view_opts(editor *ed);       /* layout options of the current buffer */
void editor_scroll(editor *ed);               /* moves top so that the cursor is visible */
size_t editor_line_of(buffer *b, size_t pos); /* 0-based line number (cached) */
size_t editor_col_of(buffer *b, size_t pos);  /* 0-based character column in its line */
/* Selection [*start, *end) of b; false when there is none. */
bool editor_selection(const buffer *b, size_t *start, size_t *end);

/* ---- edits through the buffer (keep cursor, selection and caches in step) ---- */
bool buffer_insert(buffer *b, size_t pos, const char *bytes, size_t len, const uint8_t *attrs);
bool buffer_delete(buffer *b, size_t pos, size_t len);

/* Base64 of len bytes for an OSC 52 clipboard sequence: writes at most size bytes (NUL
 * included) into out; returns the length, or 0 when it does not fit. */
size_t editor_base64(const char *bytes, size_t len, char *out, size_t size);

#endif
