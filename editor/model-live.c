/* model-live.c: the text a running job shows in its span, kept out of the person's undo
 * history: hidden before the person's edits, saves and recovery writes and shown again after;
 * the result is committed as one undo step. Depends on model-session-core.h; no curses. */
#include <stdlib.h>
#include <string.h>
#include "model-session-core.h"

static int shown_reserve(model_session *s, size_t need)
{
    if (need <= s->live.shown_cap) return 0;
    size_t c = s->live.shown_cap ? s->live.shown_cap : 256;
    while (c < need) c *= 2;
    char *b = realloc(s->live.shown, c);
    if (!b) return -1;
    s->live.shown = b;
    uint8_t *a = realloc(s->live.shown_attr, c);
    if (!a) return -1;
    s->live.shown_attr = a;
    s->live.shown_cap = c;
    return 0;
}

/* The live text of a job is shown in the text as changes of its own at the end of the history
 * (from live_base), never mixed with the person's: before the person edits, saves or a recovery
 * file is written, the session hides it (rolls the history back to live_base, the span holds
 * the original text again), and shows it again afterwards. The result is written as one undo
 * step on the person's history when the job ends; a cancelled job leaves no history at all. */

/* true when nothing but the job changed the text since its last write. */
static bool live_ours(const model_session *s)
{
    const text *t = s->live.span.t;
    return text_history_pos(t) == s->live.cur && text_revision(t) == s->live.rev;
}

static void live_note_write(model_session *s)
{
    s->live.cur = text_history_pos(s->live.span.t);
    s->live.rev = text_revision(s->live.span.t);
}

/* Takes the job's text out of the text: afterwards the span holds the original text and the
 * history is the person's alone. false when the text was edited without hiding it first (the
 * job's changes are then part of the history). */
bool live_hide(model_session *s)
{
    if (!s->live.on || s->live.hidden) return true;
    text *t = s->live.span.t;
    if (!live_ours(s)) return false;
    size_t lo = 0, hi = 0;
    bool have = span_get(&s->live.span, &lo, &hi);
    if (!text_rollback(t, s->live.base)) return false;
    s->live.hidden = true;
    if (have && s->edit_fn) s->edit_fn(s->edit_user, t, lo, hi - lo, s->live.orig_len);
    return true;
}

/* Shows the job's text again after live_hide. false when the person edited the span or its
 * anchors meanwhile (the job must stop). */
bool live_show(model_session *s)
{
    if (!s->live.on || !s->live.hidden) return true;
    text *t = s->live.span.t;
    size_t lo, hi;
    if (!span_get(&s->live.span, &lo, &hi) || !span_holds(t, lo, hi, s->live.orig, s->live.orig_len))
        return false;
    s->live.base = text_history_pos(t);
    s->live.hidden = false;
    bool ok = session_replace(s, t, lo, hi, s->live.shown, s->live.shown_attr, s->live.shown_len);
    live_note_write(s);
    return ok;
}

/* Writes bytes into the live span if it still holds what the job wrote last (while hidden, they
 * are kept for the next show). false: the person edited it (or an anchor) meanwhile. */
static bool live_write(model_session *s, const char *bytes, const uint8_t *attr, size_t len)
{
    size_t lo, hi;
    text *t = s->live.span.t;
    if (!s->live.hidden) {
        if (!live_ours(s) || !span_get(&s->live.span, &lo, &hi) ||
            !span_holds(t, lo, hi, s->live.shown, s->live.shown_len))
            return false;
        bool ok = session_replace(s, t, lo, hi, bytes, attr, len);
        live_note_write(s);
        if (!ok) return false;
    }
    if (shown_reserve(s, len + 1) != 0) return false;
    memcpy(s->live.shown, bytes, len);
    memcpy(s->live.shown_attr, attr, len);
    s->live.shown_len = len;
    return true;
}

/* Starts a live job over [lo, hi) of t: remembers the original text. */
int live_begin(model_session *s, text *t, size_t lo, size_t hi)
{
    s->live.orig_len = hi - lo;
    s->live.orig = malloc(s->live.orig_len ? s->live.orig_len : 1);
    s->live.orig_attr = malloc(s->live.orig_len ? s->live.orig_len : 1);
    if (!s->live.orig || !s->live.orig_attr || shown_reserve(s, s->live.orig_len + 1) != 0) return -1;
    text_read(t, lo, s->live.orig_len, s->live.orig);
    text_attr_get(t, lo, s->live.orig_len, s->live.orig_attr);
    memcpy(s->live.shown, s->live.orig, s->live.orig_len);
    memcpy(s->live.shown_attr, s->live.orig_attr, s->live.orig_len);
    s->live.shown_len = s->live.orig_len;
    span_set(&s->live.span, t, lo, hi);
    text_snapshot(t);
    s->live.on = true;
    s->live.hidden = false;
    s->live.base = text_history_pos(t);
    live_note_write(s);
    return 0;
}

/* The text was edited without hiding the job's text first: the result is dropped, but no mask
 * placeholder it showed may stay in the text. */
static void live_strip_masks(model_session *s)
{
    size_t lo, hi;
    text *t = s->live.span.t;
    if (!s->live.on || !span_get(&s->live.span, &lo, &hi)) return;
    const size_t ml = sizeof MODEL_MASK_TEXT - 1;
    for (size_t p = hi; p >= lo + ml; p--) {
        char b[sizeof MODEL_MASK_TEXT - 1];
        uint8_t a = 1;
        if (text_read(t, p - ml, ml, b) == ml && memcmp(b, MODEL_MASK_TEXT, ml) == 0 &&
            text_attr_get(t, p - ml, 1, &a) == TEXT_OK && a == 0) {
            session_replace(s, t, p - ml, p, "", (const uint8_t *)"", 0);
            p -= ml - 1;
        }
    }
}

/* Ends a live job without a result: the original text is back and the job left no history. */
void live_end(model_session *s)
{
    if (!s->live.on) return;
    if (!live_hide(s)) live_strip_masks(s);
    s->live.on = false;
    s->live.hidden = false;
}

/* Ends a live job with its result: the original text comes back, then bytes replace it as one
 * undo step. false (original text kept) when the span was edited meanwhile. */
bool live_commit(model_session *s, const char *bytes, const uint8_t *attr, size_t len)
{
    if (!s->live.on) return false;
    text *t = s->live.span.t;
    if (!live_hide(s)) {
        live_strip_masks(s);
        s->live.on = false;
        return false;
    }
    s->live.on = false;
    s->live.hidden = false;
    size_t lo, hi;
    if (!span_get(&s->live.span, &lo, &hi) || !span_holds(t, lo, hi, s->live.orig, s->live.orig_len))
        return false;
    if (s->live.join && text_history_pos(t) == s->live.join_hist)
        text_group_join(t); /* replaces the sample just written, or extends the run */
    else
        text_group_begin(t);
    bool ok = session_replace(s, t, lo, hi, bytes, attr, len);
    text_group_end(t);
    return ok;
}

/* Renders tokens (masks as placeholders) and ends the live job with them as its result. */
bool live_commit_tokens(model_session *s, const int32_t *ids, const float *conf, int n)
{
    char *buf = NULL;
    uint8_t *attr = NULL;
    size_t len = 0, cap = 0;
    bd3_status st =
        model_window_render(s->model, ids, conf, n, MODEL_MASK_TEXT, &buf, &attr, &len, &cap, NULL);
    bool ok = st == BD3_OK ? live_commit(s, buf ? buf : "", attr ? attr : (const uint8_t *)"", len)
                           : (live_end(s), false);
    free(buf);
    free(attr);
    return ok;
}

/* Renders window tokens [a, b) (masks as placeholders) and writes them into the span. */
bool live_write_tokens(model_session *s, const int32_t *ids, const float *conf, int n)
{
    char *buf = NULL;
    uint8_t *attr = NULL;
    size_t len = 0, cap = 0;
    bd3_status st =
        model_window_render(s->model, ids, conf, n, MODEL_MASK_TEXT, &buf, &attr, &len, &cap, NULL);
    bool ok = st == BD3_OK && live_write(s, buf ? buf : "", attr ? attr : (const uint8_t *)"", len);
    free(buf);
    free(attr);
    return ok;
}

bool live_window_progress(model_session *s, const model_event *e)
{
    if (e->n == s->win.n && e->offset == 0)
        return live_write_tokens(s, e->ids + s->win.lo, e->conf + s->win.lo, s->win.hi - s->win.lo);
    return true;
}

bool live_window_render(model_session *s, const model_event *e, char **buf, uint8_t **attr, size_t *len,
                        size_t **bounds)
{
    size_t cap = 0;
    int n = s->win.hi - s->win.lo;
    *buf = NULL;
    *attr = NULL;
    *len = 0;
    *bounds = malloc((size_t)(n + 1) * sizeof **bounds);
    return *bounds && e->n == s->win.n &&
           model_window_render(s->model, e->ids + s->win.lo, e->conf + s->win.lo, n, MODEL_MASK_TEXT, buf,
                               attr, len, &cap, *bounds) == BD3_OK;
}

void model_session_hide(model_session *s, text *t)
{
    if (!s->job_id || !s->live.on || s->live.span.t != t || s->live.hidden) return;
    if (!live_hide(s)) {
        /* edited behind the session's back: the job cannot keep its text apart any more */
        live_end(s);
        if (s->worker) model_worker_cancel(s->worker);
        session_job_clear(s);
        session_msg(s, MODEL_MSG_ERROR, "model: the text under the job was edited; stopped");
    }
}

bool model_session_show(model_session *s)
{
    if (!s->job_id || !s->live.on || !s->live.hidden) return false;
    if (!live_show(s)) {
        session_stop(s);
        session_msg(s, MODEL_MSG_ERROR, "model: the text under the job was edited; stopped");
    }
    return true;
}

void model_session_save_begin(model_session *s, text *t) { model_session_hide(s, t); }

void model_session_save_end(model_session *s, text *t)
{
    (void)t;
    model_session_show(s);
}

bool model_session_before_undo(model_session *s, text *t)
{
    /* the undo takes back the person's last step; the job's text is not part of the history */
    model_session_hide(s, t);
    return false;
}

bool model_session_in_job(const model_session *s, const text *t, size_t pos)
{
    size_t lo, hi;
    return s->job_id && s->live.on && t && s->live.span.t == t && span_get(&s->live.span, &lo, &hi) &&
           pos >= lo && pos < hi;
}
