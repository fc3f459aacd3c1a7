/* model-infill.c: infill of a selection or at the cursor, drawing more samples of the same
 * span, growing and shrinking it, and cycling through the samples kept.
 * Depends on model-session-core.h; no curses. */
#include <stdlib.h>
#include <string.h>
#include "model-session-core.h"

static void sample_free(session_sample *x)
{
    free(x->bytes);
    free(x->attr);
    memset(x, 0, sizeof *x);
}

static int sample_copy(session_sample *x, const char *bytes, const uint8_t *attr, size_t len)
{
    x->bytes = malloc(len ? len : 1);
    x->attr = malloc(len ? len : 1);
    if (!x->bytes || !x->attr) {
        sample_free(x);
        return -1;
    }
    memcpy(x->bytes, bytes, len);
    if (attr)
        memcpy(x->attr, attr, len);
    else
        memset(x->attr, 0, len);
    x->len = len;
    return 0;
}

void infill_samples_clear(model_session *s)
{
    for (int i = 0; i < s->infill.n_samples; i++) sample_free(&s->infill.samples[i]);
    s->infill.n_samples = 0;
    s->infill.cur_sample = 0;
    s->infill.result_new = false;
    s->infill.fit_len = 0;
    memset(&s->infill.last, 0, sizeof s->infill.last);
}

/* Submits the infill of [lo, hi) of t at n_target tokens; with the infill-fit option, at every
 * length up to that many tokens shorter and longer (the window leaves room for the longest). */
static int infill_submit(model_session *s, text *t, size_t lo, size_t hi, int n_target)
{
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    int fit = s->cfg && s->cfg->infill_fit > 0 ? s->cfg->infill_fit : 0;
    if (fit > hp->n_ctx / 4) fit = hp->n_ctx / 4;
    if (n_target + fit > hp->n_ctx) fit = 0;
    bd3_status st = model_window_build(&s->win, s->model, t, lo, hi, n_target, hp->n_ctx - fit, -1, -1);
    if (st != BD3_OK) {
        session_msg(s, MODEL_MSG_ERROR, "model: cannot build the window: %s", bd3_status_str(st));
        return -1;
    }
    model_job j = {0};
    j.kind = fit > 0 ? MODEL_JOB_INFILL_FIT : MODEL_JOB_INFILL;
    j.ids = s->win.ids;
    j.conf = s->win.conf;
    j.n = s->win.n;
    j.lo = s->win.lo;
    j.hi = s->win.hi;
    j.fit_min = n_target - fit > 1 ? n_target - fit : 1;
    j.fit_max = n_target + fit;
    session_params(s, &j.sp);
    s->infill.target_len = n_target;
    s->infill.fit_lo = fit > 0 ? j.fit_min : 0;
    s->infill.fit_hi = fit > 0 ? j.fit_max : 0;
    s->infill.fill = false;
    s->n_target = 0;
    for (int len = j.fit_min; fit > 0 && len <= j.fit_max; len++) s->n_target += len;
    if (fit == 0) s->n_target = n_target;
    s->n_done = 0;
    s->seconds = 0;
    s->job_id = session_submit(s, &j);
    if (!s->job_id) return -1;
    s->kind = j.kind;
    /* show the masks right away */
    live_write_tokens(s, s->win.ids + s->win.lo, s->win.conf + s->win.lo, s->win.hi - s->win.lo);
    return 0;
}

bool infill_last_intact(model_session *s, text *t)
{
    size_t lo, hi;
    return s->infill.last.t == t && s->infill.n_samples > 0 && text_revision(t) == s->infill.last_rev &&
           span_get(&s->infill.last, &lo, &hi);
}

/* true when an infill (with or without fitting its length, not a fill) runs on t. */
static bool infill_running(const model_session *s, const text *t)
{
    return s->job_id && (s->kind == MODEL_JOB_INFILL || s->kind == MODEL_JOB_INFILL_FIT) && !s->infill.fill &&
           s->live.span.t == t;
}

int model_session_infill(model_session *s, text *t, size_t sel_lo, size_t sel_hi, size_t cursor, int count)
{
    if (session_ready(s) != 0) return -1;
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    int n_target;
    bool again = false;
    size_t lo, hi;
    size_t at = cursor, at_hi = cursor; /* the insertion point the cursor stands for */
    if (cursor <= text_size(t)) span_snap(t, &at, &at_hi);
    bool join = false;
    size_t join_hist = 0;
    if (s->job_id && s->kind == MODEL_JOB_INFILL && s->infill.fill && s->live.span.t == t) {
        /* a fill runs: another sample of it */
        session_span keep = s->live.span;
        join = s->live.join;
        join_hist = s->live.join_hist;
        session_stop(s);
        return span_get(&keep, &lo, &hi) ? fill_again(s, t, lo, hi, join, join_hist) : -1;
    }
    if (s->infill.fill && infill_last_intact(s, t) && span_get(&s->infill.last, &lo, &hi) &&
        (sel_lo == sel_hi ? at >= lo && at <= hi : sel_lo <= lo && sel_hi >= hi))
        return fill_again(s, t, lo, hi, true, s->infill.last_hist); /* the last fill again */
    if (infill_running(s, t)) {
        /* pressed again while it runs: draw another sample of the same span */
        session_span keep = s->live.span;
        int len = s->infill.target_len;
        join = s->live.join;
        join_hist = s->live.join_hist;
        session_stop(s);
        if (!span_get(&keep, &lo, &hi)) return -1;
        n_target = len;
        again = true;
    } else if (infill_last_intact(s, t) && span_get(&s->infill.last, &lo, &hi) && sel_hi <= text_size(t) &&
               (sel_lo == sel_hi ? at >= lo && at <= hi
                                 : (span_snap(t, &sel_lo, &sel_hi), sel_lo == lo && sel_hi == hi))) {
        n_target = s->infill.last_len; /* the same span again: another sample */
        again = true;
        join = true; /* it replaces the sample shown, in the same undo step */
        join_hist = s->infill.last_hist;
    } else {
        session_stop(s);
        s->infill.result_select = sel_lo < sel_hi;
        lo = sel_lo < sel_hi ? sel_lo : cursor;
        hi = sel_lo < sel_hi ? sel_hi : cursor;
        if (lo > text_size(t) || hi > text_size(t)) return -1;
        span_snap(t, &lo, &hi);
        if (lo == hi) {
            n_target = s->cfg && s->cfg->infill_length > 0 ? s->cfg->infill_length : MODEL_INFILL_DEFAULT;
        } else {
            model_window tw;
            if (model_window_build(&tw, s->model, t, lo, hi, -1, hp->n_ctx, 0, 0) != BD3_OK) {
                session_msg(s, MODEL_MSG_ERROR,
                            "model: the selection is longer than the model's window (%d tokens)", hp->n_ctx);
                return -1;
            }
            n_target = tw.hi - tw.lo;
            model_window_release(&tw);
            if (s->cfg && s->cfg->infill_length > 0 && n_target == 0) n_target = s->cfg->infill_length;
        }
        infill_samples_clear(s);
    }
    if (!again) {
        if (count > 0) n_target = count; /* a typed token count */
        n_target += s->infill.pending_delta;
        s->infill.pending_delta = 0;
    }
    if (n_target < 1) n_target = 1;
    if (n_target > hp->n_ctx) n_target = hp->n_ctx;
    if (!again) infill_samples_clear(s);
    if (live_begin(s, t, lo, hi) != 0 || infill_submit(s, t, lo, hi, n_target) != 0) {
        live_end(s);
        session_job_clear(s);
        return -1;
    }
    s->infill.again = again;
    s->live.join = join;
    s->live.join_hist = join_hist;
    return 0;
}

int model_session_resize(model_session *s, text *t, int delta)
{
    if (s->infill.fill &&
        ((s->job_id && s->kind == MODEL_JOB_INFILL && s->live.span.t == t) || infill_last_intact(s, t))) {
        session_msg(s, MODEL_MSG_INFO, "model: a fill takes its lengths from its blanks (one token per _)");
        return -1;
    }
    if (infill_running(s, t)) {
        int len = s->infill.target_len + delta;
        const bd3_hparams *hp = bd3_model_hparams(s->model);
        if (len < 1 || len > hp->n_ctx) return -1;
        size_t lo, hi;
        if (!span_get(&s->live.span, &lo, &hi)) return -1;
        model_window_release(&s->win);
        if (infill_submit(s, t, lo, hi, len) != 0) { /* supersedes the running job */
            session_stop(s);
            return -1;
        }
        return 0;
    }
    if (infill_last_intact(s, t)) {
        /* resize the last result and draw a new sample of the new length */
        s->infill.last_len += delta;
        if (s->infill.last_len < 1) s->infill.last_len = 1;
        size_t lo, hi;
        span_get(&s->infill.last, &lo, &hi);
        return model_session_infill(s, t, lo, hi, hi, 0);
    }
    s->infill.pending_delta += delta;
    session_msg(s, MODEL_MSG_INFO, "model: the next infill writes %+d tokens more than its selection",
                s->infill.pending_delta);
    return 0;
}

int model_session_cycle(model_session *s, text *t, int dir)
{
    if (!infill_last_intact(s, t) || s->infill.n_samples < 2) {
        session_msg(s, MODEL_MSG_INFO, "model: no other sample of this infill");
        return -1;
    }
    size_t lo, hi;
    span_get(&s->infill.last, &lo, &hi);
    int k = ((s->infill.cur_sample + dir) % s->infill.n_samples + s->infill.n_samples) % s->infill.n_samples;
    session_sample *x = &s->infill.samples[k];
    text_group_join(t); /* the samples of one infill share its undo step */
    bool ok = session_replace(s, t, lo, hi, x->bytes, x->attr, x->len);
    text_group_end(t);
    if (!ok) return -1;
    s->infill.cur_sample = k;
    s->infill.last_rev = text_revision(t);
    s->infill.last_hist = text_history_pos(t);
    session_msg(s, MODEL_MSG_INFO, "model: sample %d of %d", k + 1, s->infill.n_samples);
    return 0;
}

void infill_finish(model_session *s, char *buf, uint8_t *attr, size_t len, int n)
{
    text *t = s->live.span.t;
    bool ok = live_commit(s, buf ? buf : "", attr ? attr : (const uint8_t *)"", len);
    size_t lo = 0, hi = 0;
    if (ok) span_get(&s->live.span, &lo, &hi);
    if (!ok) {
        session_msg(s, MODEL_MSG_ERROR, "model: the text under the job was edited; result dropped");
        return;
    }
    if (!s->infill.again) infill_samples_clear(s);
    if (s->infill.n_samples == SESSION_SAMPLES_MAX) {
        sample_free(&s->infill.samples[0]);
        memmove(s->infill.samples, s->infill.samples + 1,
                sizeof s->infill.samples[0] * (SESSION_SAMPLES_MAX - 1));
        s->infill.n_samples--;
    }
    if (sample_copy(&s->infill.samples[s->infill.n_samples], buf ? buf : "", attr, len) == 0) {
        s->infill.cur_sample = s->infill.n_samples++;
        span_set(&s->infill.last, t, lo, hi);
        s->infill.last_rev = text_revision(t);
        s->infill.last_hist = text_history_pos(t);
        s->infill.last_len = s->infill.target_len;
        s->infill.result_new = true;
    }
    const char *weak =
        bd3_model_has_global(s->model) ? "" : "; no global training: the text after it was not seen";
    model_msg_kind kind = weak[0] ? MODEL_MSG_ERROR : MODEL_MSG_INFO;
    if (s->infill.fill)
        session_msg(s, kind,
                    "model: filled %d blank%s with %d token%s (sample %d; press again for another)%s",
                    s->infill.fill_blanks, s->infill.fill_blanks == 1 ? "" : "s", s->infill.fill_masks,
                    s->infill.fill_masks == 1 ? "" : "s", s->infill.n_samples, weak);
    else if (s->infill.fit_lo > 0)
        session_msg(s, kind,
                    "model: infilled %d token%s, best fit of %d..%d (%.2f nat/B; sample %d; press again)%s",
                    n, n == 1 ? "" : "s", s->infill.fit_lo, s->infill.fit_hi, s->infill.fit_npb,
                    s->infill.n_samples, weak);
    else
        session_msg(s, kind, "model: infilled %d token%s (sample %d; press again for another)%s", n,
                    n == 1 ? "" : "s", s->infill.n_samples, weak);
}

void infill_on_done(model_session *s, const model_event *e)
{
    char *buf;
    uint8_t *attr;
    size_t len, *bounds;
    int n = s->win.hi - s->win.lo;
    bool ok = live_window_render(s, e, &buf, &attr, &len, &bounds);
    if (ok && s->infill.fill) /* the text between the blanks stays the writer's */
        fill_keep_attrs(s, e->ids + s->win.lo, attr, bounds);
    s->infill.fit_len = 0;
    if (ok)
        infill_finish(s, buf, attr, len, n);
    else
        live_end(s);
    free(buf);
    free(attr);
    free(bounds);
    session_job_clear(s);
}

bool infill_fit_on_progress(model_session *s, const model_event *e)
{
    /* the canvas is the window at the length being tried: the span is what lies between the
     * window's context on either side */
    int right = s->win.n - s->win.hi;
    int end = e->n - right;
    if (e->offset != 0 || end < s->win.lo || !e->ids) return true;
    return live_write_tokens(s, e->ids + s->win.lo, e->conf + s->win.lo, end - s->win.lo);
}

void infill_fit_on_done(model_session *s, const model_event *e)
{
    char *buf = NULL;
    uint8_t *attr = NULL;
    size_t len = 0, cap = 0;
    bool ok = model_window_render(s->model, e->ids, e->conf, e->n, MODEL_MASK_TEXT, &buf, &attr, &len, &cap,
                                  NULL) == BD3_OK &&
              e->n > 0;
    s->infill.fit_npb = e->nats_per_byte;
    if (ok) {
        infill_finish(s, buf, attr, len, e->n);
        if (s->infill.n_samples > 0) s->infill.fit_len = e->n;
    } else {
        live_end(s);
    }
    free(buf);
    free(attr);
    session_job_clear(s);
}

bool model_session_take_result(model_session *s, text **t, size_t *lo, size_t *hi)
{
    if (!s->infill.result_new) return false;
    s->infill.result_new = false;
    if (!s->infill.result_select) return false; /* an insertion leaves the cursor after it */
    if (!infill_last_intact(s, s->infill.last.t)) return false;
    *t = s->infill.last.t;
    return span_get(&s->infill.last, lo, hi);
}
