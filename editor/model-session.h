/* model-session.h: the model inside the editor: infill, continue, revise, inspect and background
 * scoring of one text at a time, run on the model worker and written into the text as tokens are
 * unmasked (confidence in the byte attributes, marked as the model's), one undo step per operation.
 * Background scoring writes the person's bytes only: the model's keep the confidence recorded
 * when it unmasked them, until a person edits them.
 * Depends on text.h, config.h, model-worker.h, model-window.h and model/bd3.h: no curses. */
#ifndef BD3ED_MODEL_SESSION_H
#define BD3ED_MODEL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bd3.h"
#include "config.h"
#include "model-worker.h"
#include "text.h"

#define MODEL_MSG_MAX        256            /* bytes of a message, NUL included */
#define MODEL_MASK_TEXT      "\xe2\x96\x91" /* placeholder drawn for a mask: U+2591 LIGHT SHADE */
#define MODEL_INFILL_DEFAULT 16             /* tokens of an empty-selection infill when infill-length is 0 */

typedef struct model_session model_session;

/* Severity of a message for the message line. */
typedef enum model_msg_kind {
    MODEL_MSG_INFO,  /* progress and results */
    MODEL_MSG_ERROR, /* a failure, a dropped result or a weak model */
} model_msg_kind;

/* The editor's view of a text while the model edits it: called after the session replaced
 * [pos, pos + old_len) of t with new_len bytes, so cursors and selections can follow. */
typedef void (*model_edit_fn)(void *user, text *t, size_t pos, size_t old_len, size_t new_len);

/* A session reading options from cfg (kept, not copied: later changes apply to the next job).
 * Nothing is loaded until the first model command. NULL when out of memory. */
model_session *model_session_new(const config *cfg);
void model_session_free(model_session *s); /* cancels any job; NULL is a no-op */
void model_session_set_edit_fn(model_session *s, model_edit_fn fn, void *user);

/* Loads the model now (config "model", else $BD3_MODEL / the default model) unless loaded. 0 on
 * success; -1 with the reason in model_session_message. Later calls after a failure retry. */
int model_session_load(model_session *s);
/* The model file a load reads and how it computes; false (message set) when there is none. */
bool model_session_model_path(model_session *s, char *path, size_t size, bd3_compute *compute);
/* Takes a model loaded elsewhere (a loader thread) as the session's own; the next command starts
 * its worker. A session that has a model already frees m. */
void model_session_set_model(model_session *s, bd3_model *m);
const bd3_model *model_session_model(const model_session *s); /* NULL before a load */
/* Drops the model and worker (the next command reloads: after "model" or "threads" changed). */
void model_session_unload(model_session *s);

/* The message for the message line after a command or event ("" when none); cleared by reading
 * through model_session_take_message, which returns its severity. */
const char *model_session_message(const model_session *s);
model_msg_kind model_session_take_message(model_session *s, char *buf, size_t size);

/* ---- commands (the editor passes the text, the selection [sel_lo, sel_hi) and the cursor) ---- */
/* Infill the selection, or insert infill-length tokens at the cursor when it is empty; count > 0
 * sets the number of tokens written. When the last infill's result is still untouched, draws
 * another sample of the same span instead. */
int model_session_infill(model_session *s, text *t, size_t sel_lo, size_t sel_hi, size_t cursor, int count);
/* Grow or shrink the infill target by delta tokens: restarts a running infill, redraws the last
 * one at the new length, or else applies to the next infill. */
int model_session_resize(model_session *s, text *t, int delta);
/* Continue count blocks after the cursor (count <= 0: one); pressed while a continuation runs,
 * adds a block to it. */
int model_session_continue(model_session *s, text *t, size_t cursor, int count);
/* Revise the selection, or a window around the cursor when it is empty. */
int model_session_revise(model_session *s, text *t, size_t sel_lo, size_t sel_hi, size_t cursor);
/* Ask for the alternatives of the token under the cursor (they arrive as an event). */
int model_session_inspect(model_session *s, text *t, size_t cursor);
/* Replaces the inspected token with alternative k (one undo step). -1 when it is gone. */
int model_session_inspect_choose(model_session *s, text *t, int k);
/* Replaces the last infill's span with an earlier (dir < 0) or later sample (one undo step). */
int model_session_cycle(model_session *s, text *t, int dir);
/* Fill in the blanks: every run of three or more underscores in the selection (the whole text
 * when nothing is selected) becomes one mask per underscore, and the model fills them all
 * jointly in global mode over one window holding every blank and the text between them (the
 * blank before a blank joins it). One undo step. Pressed again while the result stands (the
 * cursor in its span): another sample, cycled with model_session_cycle like an infill's. */
int model_session_fill(model_session *s, text *t, size_t sel_lo, size_t sel_hi, size_t cursor);
/* Marks the selection [sel_lo, sel_hi) of t as a blank for the next fill (its length in tokens is
 * kept), or unmarks the marked blank it overlaps. Marked blanks follow edits and are filled with
 * the ___ runs by the next model_session_fill, jointly; marks of another text are dropped. */
int model_session_mark_blank(model_session *s, text *t, size_t sel_lo, size_t sel_hi);
/* true when byte pos of t lies in a span marked as a blank. */
bool model_session_blank_at(const model_session *s, const text *t, size_t pos);
/* Esc: cancels the running job and restores the text it was working on. true when there was
 * one (the key is then used up). */
bool model_session_cancel(model_session *s, text *t);
/* A key other than the model's: a running continuation stops, keeping the tokens written up to
 * the first one still masked (one undo step). true when one was stopped. */
bool model_session_stop_continue(model_session *s);
/* A running job's text is kept out of the undo history: it is shown in t as changes that are
 * rolled back before the person's next edit (hide) and written again afterwards (show, also
 * done by model_session_process); its result becomes one undo step of its own when it ends.
 * Call hide before anything edits or writes out t (a key, a paste, a recovery file) and show
 * after it; an edit of the job's span or its anchors meanwhile stops the job. */
void model_session_hide(model_session *s, text *t);
bool model_session_show(model_session *s); /* true when something was shown (or stopped) */
/* Around saving t: the original text of a job's span is saved, not its placeholders. */
void model_session_save_begin(model_session *s, text *t);
void model_session_save_end(model_session *s, text *t);
/* Undo or redo is about to run on t: the job's text is hidden, so the undo takes back the
 * person's last step (returns false: the undo still runs). */
bool model_session_before_undo(model_session *s, text *t);
/* The editor is about to drop t: forgets every job and result about it. */
void model_session_forget(model_session *s, const text *t);

/* ---- main loop ---- */
/* Descriptor that is readable when the worker posted events; -1 when no worker runs. */
int model_session_fd(const model_session *s);
/* Applies every waiting event to its text. Returns true when something visible changed. */
bool model_session_process(model_session *s);
/* Starts background scoring of the unscored bytes of t in [vis_lo, vis_hi) (then the rest of
 * the window around them) when the heatmap is on, no job runs and the last edit is older than
 * score-delay-ms. now_ms: a monotonic clock. Returns the milliseconds until it wants to be
 * called again (-1: only after the next event or edit). */
int model_session_tick(model_session *s, text *t, size_t vis_lo, size_t vis_hi, int64_t now_ms);
/* The person edited t (call after every edit command): restarts the score delay. */
void model_session_note_edit(model_session *s, const text *t, int64_t now_ms);
/* As model_session_note_edit, with the position of the edit: once the delay passed, the tokens
 * around it (whose context changed) are scored again before any other scoring, replacing their
 * earlier scores (not the model's recorded confidence), so the heatmap follows the writing. */
void model_session_note_edit_at(model_session *s, const text *t, size_t pos, int64_t now_ms);

/* ---- display ---- */
bool model_session_busy(const model_session *s);
/* Status-line text: job, progress and tokens/s ("infill 12/32 45 tok/s"; "fit 12..20 ..." while
 * infill-fit tries lengths), or when idle the length infill-fit kept and its NELBO per byte
 * ("fit 14 tok 1.07 nat/B") while that result stands, else "". */
void model_session_status(const model_session *s, char *buf, size_t size);
bool model_session_heatmap(const model_session *s);
/* Once after an infill of a selection finished: its text and the byte range of its result (the
 * editor selects it, so the infill key again draws another sample of it). false otherwise. */
bool model_session_take_result(model_session *s, text **t, size_t *lo, size_t *hi);
/* true when byte pos of t lies in the span a running job is writing (coloured as it goes). */
bool model_session_in_job(const model_session *s, const text *t, size_t pos);
bool model_session_toggle_heatmap(model_session *s);
/* true when byte pos of t lies in a token the last revise changed (until the next edit). */
bool model_session_changed_at(const model_session *s, const text *t, size_t pos);
/* Alternatives of the last inspect, for a menu: their number (0 when none are waiting), and for
 * each its token text (stored bytes, *len of them) and probability. */
int model_session_alt_count(const model_session *s);
const char *model_session_alt_text(const model_session *s, int i, size_t *len);
double model_session_alt_prob(const model_session *s, int i);
void model_session_alternatives_close(model_session *s);

#endif
