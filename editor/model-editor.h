/* model-editor.h: the model in the editor core: handles the model-* commands through the core's
 * model hook, keeps cursors and selections in step with the model's edits, and feeds the status
 * slot, the message line and the heatmap. Depends on editor.h and model-session.h; no curses.
 * Linux: the score delay uses a timerfd. */
#ifndef BD3ED_MODEL_EDITOR_H
#define BD3ED_MODEL_EDITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "editor.h"
#include "model-session.h"
#include "theme.h"

typedef struct model_editor model_editor;

/* Installs the model hook and the cell style hook on ed (which, like th, must outlive it). NULL
 * when out of memory. When ed->loop is set, the worker's descriptor and a timer for the score
 * delay are watched there. */
model_editor *model_editor_new(editor *ed, const theme *th);
void model_editor_free(model_editor *me); /* removes the hook; NULL is a no-op */
model_session *model_editor_session(model_editor *me);

/* Descriptor the main loop polls (-1 while no model is loaded: poll ignores it). */
int model_editor_fd(const model_editor *me);
/* Runs after every key, event and timeout: applies worker events, notices the person's edits,
 * starts background scoring, updates the status slot. now_ms: monotonic milliseconds. Returns
 * true when the screen should be redrawn; *timeout_ms gets the longest the loop may wait
 * before calling again (-1: no limit). */
bool model_editor_tick(model_editor *me, int64_t now_ms, int *timeout_ms);

/* term_config.on_frame: model_editor_tick with the current time. ctx is the model_editor. */
void model_editor_on_frame(editor *ed, void *ctx);

/* For the renderer: confidence of byte pos of b in [0, 1], or -1 when the heatmap is off or the
 * byte has none. */
float model_editor_conf_at(const model_editor *me, const buffer *b, size_t pos);
bool model_editor_heatmap(const model_editor *me);
/* true when byte pos of b was changed by the last revise (shown until the next edit). */
bool model_editor_changed_at(const model_editor *me, const buffer *b, size_t pos);

#endif
