/* editor-core.h: the editor's internal state (struct editor, struct buffer) and the operations
 * its own files share: buffer.c, command.c and editor*.c. Other modules use editor.h.
 * Depends on editor.h; never on curses or the model. */
#ifndef BD3ED_EDITOR_CORE_H
#define BD3ED_EDITOR_CORE_H

#include "editor.h"

/* One open file (or unnamed text). */
struct buffer {
    text *text;               /* the content */
    char *path;               /* file path; NULL for an unnamed buffer */
    char *name;               /* name shown in the status line */
    file_info info;           /* the file on disk when opened or last saved */
    bool readonly;            /* edits refused (the help screen) */
    bool file_readonly;       /* the file on disk may not be written by this user (mode 0444) */
    bool is_help;             /* this is the help screen */
    bool new_file;            /* its file did not exist when opened or saved as: saves end it
                                 with a newline (final-newline) */
    struct buffer *help_from; /* help: the buffer it was opened from (looked up before use: it
                                 may have been closed) */
    size_t cursor;            /* byte offset of the cursor */
    size_t anchor;            /* other end of the selection; TEXT_POS_NONE when none */
    bool mark;                /* the mark is set (emacs): plain motions extend the selection */
    bool inclusive;           /* the selection also takes in the character under its far end
                                 (vi visual mode; follows the keymap mode) */
    bool linewise;            /* the selection takes in the whole lines of both ends (vi V); only
                                 while inclusive */
    size_t top;               /* byte offset of the first row shown */
    long hscroll;             /* first column shown when not wrapping */
    int goal_col;             /* column kept by vertical motions; -1 when none */
    bool typing;              /* the last key typed text (a typed run is one undo step) */
    bool typed_blank;         /* the last typed character was a blank */
    uint64_t rec_rev;         /* text revision of the last recovery write */
    double rec_time;          /* time (s) of the last recovery write */
    bool rec_written;         /* a recovery file of this buffer exists */
    double rec_fail_time;     /* time (s) of the last failed recovery write; 0 when none */
    bool recovery_offer;      /* a recovery file was found on open and waits for an answer */
    char *rec_file;           /* unnamed buffers: path of their recovery file; NULL otherwise */
    char *rec_offer;          /* unnamed buffers: an earlier session's recovery file offered for
                                 restoring (recovery_offer); NULL otherwise */
    size_t lc_pos;            /* line cache: a position ... */
    size_t lc_line;           /* ... and its 0-based line number */
    uint64_t lc_rev;          /* text revision the cache is valid for */
    bool lc_valid;            /* the cache holds a position */
    size_t cc_ls;             /* column cache: a line start ... */
    size_t cc_pos;            /* ... a position on that line ... */
    size_t cc_col;            /* ... and the code points between them */
    uint64_t cc_rev;          /* text revision the column cache was checked at */
    bool cc_valid;            /* the column cache holds a position */
};

struct editor {
    buffer **bufs;                     /* n_bufs open buffers */
    int n_bufs;                        /* count */
    int cur;                           /* index of the current buffer */
    keymap *km;                        /* active keymap (owned) */
    char keymap_name[KEYMAP_MAX_NAME]; /* its name, for the help screen */
    keymap_state ks;                   /* pending keys, count and mode */
    config *cfg;                       /* options (owned) */
    int rows;                          /* terminal rows */
    int cols;                          /* terminal columns */
    char *reg;                         /* register (cut/copy/paste), reg_len bytes */
    size_t reg_len;                    /* bytes in reg */
    editor_clipboard_fn clipboard_fn;  /* system clipboard sink, or NULL */
    void *clipboard_ctx;               /* its context */
    char message[EDITOR_MESSAGE_MAX];  /* message line text */
    bool message_error;                /* the message is an error */
    bool message_queueing;             /* a message does not replace the one shown but waits behind it
                                          (start-up, until the first key) */
    char msg_queue[EDITOR_MESSAGE_QUEUE][EDITOR_MESSAGE_MAX]; /* waiting messages, oldest first */
    bool msg_queue_error[EDITOR_MESSAGE_QUEUE];               /* each is an error */
    int n_msg_queue;                                          /* messages waiting, 0..EDITOR_MESSAGE_QUEUE */
    uint64_t message_serial;             /* count of messages set, to see whether a key set one */
    editor_prompt prompt;                /* which prompt is open (PROMPT_NONE: none) */
    const editor_prompt_ops *prompt_ops; /* its behaviour (NULL when none is open) */
    void *prompt_ctx;                    /* argument of its callbacks, owned by the prompt's client */
    char prompt_label[160];              /* prompt text before the input */
    char input[EDITOR_INPUT_MAX];        /* prompt input, input_len bytes, NUL-terminated */
    size_t input_len;                    /* bytes in input */
    char prompt_hint[EDITOR_MESSAGE_MAX]; /* shown after the input until the next key ("" none) */
    size_t origin_cursor;                /* cursor when an incremental search began */
    size_t origin_anchor;                /* anchor then */
    size_t origin_top;                   /* top then */
    search search;                       /* last search */
    bool search_valid;                   /* search holds a pattern */
    bool search_highlight;               /* show the matches of search (until cancel) */
    char *replace_with;                  /* replacement of the running replace */
    int replace_count;                   /* replacements done in the running replace */
    bool quit_after_save;                /* the quit prompt asked to save, then quit */
    char *save_path;                     /* Save As target of a save waiting for an answer, or NULL (the
                                            buffer keeps its name until the save succeeds) */
    unsigned save_flags;                 /* FILE_SAVE_* already confirmed for that save */
    bool rec_error_shown;                /* a failed recovery write was reported; cleared on success */
    bool center_next;                    /* the next scroll centres the cursor */
    bool quit;                           /* the main loop should end */
    bool suspend_requested;              /* the terminal layer should suspend */
    bool redraw_requested;               /* the terminal layer should repaint everything */
    bool dragging;                       /* mouse button 1 held */
    size_t drag_origin;                  /* position where the drag began */
    editor_model_fn model_fn;            /* handler of the model commands, or NULL */
    editor_event_fn event_fn;            /* receiver of the editor's events, or NULL */
    void *model_ctx;                     /* context of both */
    char model_status[EDITOR_MODEL_STATUS_MAX]; /* model slot of the status line */
    editor_command_hook_fn command_hook;        /* sees every command first, or NULL */
    void *command_hook_ctx;                     /* its context */
    editor_style_fn style_fn;                   /* style of cells by attribute, or NULL (no heatmap) */
    void *style_ctx;                            /* its context */
    bool model_legend;                   /* draw the heatmap legend (conf0..conf4) in the status line */
    struct loop *loop;                   /* main loop (extra fds, wakeups); set by the terminal layer */
    struct editor_recovery_job *rec_job; /* recovery write running on a thread, or NULL */
    bool keep_top;                       /* the last command placed top itself (page motions) */
    const char *char_wait;               /* command waiting for the next key as its character (vi f,
                                            t, r; its table name), or NULL */
    int char_wait_count;                 /* the count it was typed with (0: none) */
    char char_wait_keys[64];             /* the count and keys that started it ("3 f"), for the
                                            status line */
    uint32_t char_cp;                    /* while that command runs again: the character typed */
    int find_kind;                       /* last vi f/t/F/T for ; and , (command-vi.c's FIND_*), 0 none */
    uint32_t find_cp;                    /* its character */
    key_code dot_seq[EDITOR_DOT_MAX];    /* vi .: keys of the change being typed, dot_n of them */
    int dot_n;                           /* keys in dot_seq; -1 when it cannot be repeated (too long,
                                            a paste in it) */
    bool dot_insert;                     /* the change goes on in a typing mode until normal mode */
    bool dot_skip;                       /* the key ran a command that is no change to repeat (u, .) */
    key_code dot_keys[EDITOR_DOT_MAX];   /* keys of the last whole change, dot_len of them */
    int dot_len;                         /* keys in dot_keys, 0 when none */
    bool dot_replaying;                  /* vi . is feeding dot_keys: nothing is recorded */
    view_row scratch;                    /* row reused by layouts in motions */
    int scratch_width;                   /* width scratch was allocated for */
};

/* ---- editor.c ---- */
bool editor_add_buffer(editor *ed, buffer *b); /* appends b as the current buffer */
/* Sets the keymap mode by name; false (with a message) when the keymap has no such mode. */
bool editor_set_mode(editor *ed, const char *mode);
/* true in a command mode of a modal keymap (vi normal or visual: no self-insert while another
 * mode has it): the cursor sits on a character, as in vi. */
bool editor_command_mode(const editor *ed);
/* true in the typing mode of a modal keymap (vi insert): everything typed there, with the change
 * command that entered it, is one undo step up to the return to a command mode (vim). */
bool editor_insert_session(const editor *ed);
/* Sets every buffer's selection kind from the mode (inclusive in a mode declared so; leaving
 * it ends a linewise selection too); called whenever the mode changes. */
void editor_sync_selection_kind(editor *ed);
/* Scratch row for layouts of width columns (reused). */
view_row *editor_scratch_row(editor *ed, int width);
/* Tells the model layer about ev on buffer b (NULL: the current one; none: nothing). */
void editor_event_send(editor *ed, editor_event ev, buffer *b);

/* ---- buffer.c ---- */
buffer *buffer_new(text *t, const char *path, const char *name); /* NULL out of memory */
void buffer_free(buffer *b);                                     /* frees its text too; NULL is a no-op */
bool buffer_rec_able(const buffer *b);                           /* the buffer has a recovery file path */
file_status buffer_rec_write(buffer *b, int *err); /* writes its recovery file now (errno in *err) */
void buffer_rec_remove(buffer *b);                 /* removes its recovery file */
/* Where the selection of an inclusive buffer ends when the character at p is its far end: after
 * p's grapheme cluster or line break; p itself at the end of the text and on the text's last
 * line break, which vi never takes away with the last line's characters. */
size_t buffer_inclusive_end(const text *t, size_t p);

/* ---- editor-prompt.c ---- */
void editor_prompt_key(editor *ed, key_code key);                    /* a key while a prompt is open */
void editor_prompt_paste(editor *ed, const char *bytes, size_t len); /* pasted while one is open */
void editor_message_next(editor *ed);                                /* shows the oldest waiting message */

/* ---- editor-find.c ---- */
void editor_find_start(editor *ed, bool regex); /* the find prompt (incremental when literal) */
void editor_find_again(editor *ed, bool backward);
void editor_find_word(editor *ed, bool backward); /* vi * and #: the word at the cursor, whole */
void editor_replace_start(editor *ed);  /* the replace prompts */
void editor_goto_prompt(editor *ed);    /* the go-to-line prompt */
void editor_command_prompt(editor *ed); /* the command-line prompt */

/* ---- editor-file.c ---- */
void editor_open_prompt(editor *ed);    /* the open prompt */
void editor_save_as_prompt(editor *ed); /* the save-as prompt (the current path offered) */
void editor_save_buffer(editor *ed, bool force);
/* Saves the current buffer; true when it was written. Asks when the file changed on disk. */
bool editor_save_current(editor *ed, bool force);
/* True when b's file exists and this user may not write it (no write permission or bit). */
bool buffer_file_not_writable(const buffer *b);
void editor_request_quit(editor *ed, bool force);
void editor_request_close(editor *ed);
void editor_close_buffer(editor *ed, int index);

/* ---- editor-recovery.c ---- */
/* Asks about the first buffer with a recovery offer waiting, unless a prompt is open. */
void editor_recovery_offer(editor *ed);

/* ---- editor-input.c ---- */
/* Replaces the selection (or inserts at the cursor) with bytes; the cursor ends after them. */
bool editor_replace_selection(editor *ed, const char *bytes, size_t len);
/* Sets the register (and the system clipboard) to [start, end) of the current buffer. */
void editor_copy_range(editor *ed, size_t start, size_t end);
/* Sets the register (and the system clipboard) to bytes, len bytes from malloc, which it takes. */
void editor_set_register(editor *ed, char *bytes, size_t len);
/* In a command mode of a modal keymap the cursor sits on a character, as in vi. */
void editor_clamp_cursor(editor *ed);

/* ---- editor-help.c ---- */
void editor_show_help(editor *ed);

#endif
