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
    for (int i = 0; i < s->infill.n_samples; i++)
        sample_free(&s->infill.samples[i]);
    s->infill.n_samples = 0;
    s->infill.cur_sample = 0;
    s->infill.result_new = false;
    memset(&s->infill.last, 0, sizeof s->infill.last);
}

static int infill_submit(model_session *s, text *t, size_t lo, size_t hi, int n_target)
{
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    bd3_status st = model_window_build(&s->win, s->model, t, lo, hi, n_target, hp->n_ctx, -1, -1);
    if (st != BD3_OK) {
        session_msg(s, MODEL_MSG_ERROR, "model: cannot build the window: %s", bd3_status_str(st));
        return -1;
    }
    model_job j = {0};
    j.kind = MODEL_JOB_INFILL;
    j.ids = s->win.ids;
    j.conf = s->win.conf;
    j.n = s->win.n;
    session_params(s, &j.sp);
    s->infill.target_len = n_target;
    s->n_target = n_target;
    s->n_done = 0;
    s->seconds = 0;
    s->job_id = session_submit(s, &j);
    if (!s->job_id)
        return -1;
    s->kind = MODEL_JOB_INFILL;
    /* show the masks right away */
    live_write_tokens(s, s->win.ids + s->win.lo, s->win.conf + s->win.lo, s->win.hi - s->win.lo);
    return 0;
}

static bool last_intact(model_session *s, text *t)
{
    size_t lo, hi;
    return s->infill.last.t == t && s->infill.n_samples > 0 && text_revision(t) == s->infill.last_rev &&
           span_get(&s->infill.last, &lo, &hi);
}

int model_session_infill(model_session *s, text *t, size_t sel_lo, size_t sel_hi, size_t cursor,
                         int count)
{
    if (session_ready(s) != 0)
        return -1;
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    int n_target;
    bool again = false;
    size_t lo, hi;
    size_t at = cursor, at_hi = cursor; /* the insertion point the cursor stands for */
    if (cursor <= text_size(t))
        span_snap(t, &at, &at_hi);
    bool join = false;
    size_t join_hist = 0;
    if (s->job_id && s->kind == MODEL_JOB_INFILL && s->live.span.t == t) {
        /* pressed again while it runs: draw another sample of the same span */
        session_span keep = s->live.span;
        int len = s->infill.target_len;
        join = s->live.join;
        join_hist = s->live.join_hist;
        session_stop(s);
        if (!span_get(&keep, &lo, &hi))
            return -1;
        n_target = len;
        again = true;
    } else if (last_intact(s, t) && span_get(&s->infill.last, &lo, &hi) && sel_hi <= text_size(t) &&
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
        if (lo > text_size(t) || hi > text_size(t))
            return -1;
        span_snap(t, &lo, &hi);
        if (lo == hi) {
            n_target = s->cfg && s->cfg->infill_length > 0 ? s->cfg->infill_length : MODEL_INFILL_DEFAULT;
        } else {
            model_window tw;
            if (model_window_build(&tw, s->model, t, lo, hi, -1, hp->n_ctx, 0, 0) != BD3_OK) {
                session_msg(s, MODEL_MSG_ERROR, "model: the selection is longer than the model's window (%d tokens)", hp->n_ctx);
                return -1;
            }
            n_target = tw.hi - tw.lo;
            model_window_release(&tw);
            if (s->cfg && s->cfg->infill_length > 0 && n_target == 0)
                n_target = s->cfg->infill_length;
        }
        infill_samples_clear(s);
    }
    if (!again) {
        if (count > 0)
            n_target = count; /* a typed token count */
        n_target += s->infill.pending_delta;
        s->infill.pending_delta = 0;
    }
    if (n_target < 1)
        n_target = 1;
    if (n_target > hp->n_ctx)
        n_target = hp->n_ctx;
    if (!again)
        infill_samples_clear(s);
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
    if (s->job_id && s->kind == MODEL_JOB_INFILL && s->live.span.t == t) {
        int len = s->infill.target_len + delta;
        const bd3_hparams *hp = bd3_model_hparams(s->model);
        if (len < 1 || len > hp->n_ctx)
            return -1;
        size_t lo, hi;
        if (!span_get(&s->live.span, &lo, &hi))
            return -1;
        model_window_release(&s->win);
        if (infill_submit(s, t, lo, hi, len) != 0) { /* supersedes the running job */
            session_stop(s);
            return -1;
        }
        return 0;
    }
    if (last_intact(s, t)) {
        /* resize the last result and draw a new sample of the new length */
        s->infill.last_len += delta;
        if (s->infill.last_len < 1)
            s->infill.last_len = 1;
        size_t lo, hi;
        span_get(&s->infill.last, &lo, &hi);
        return model_session_infill(s, t, lo, hi, hi, 0);
    }
    s->infill.pending_delta += delta;
    session_msg(s, MODEL_MSG_INFO, "model: the next infill writes %+d tokens more than its selection", s->infill.pending_delta);
    return 0;
}

int model_session_cycle(model_session *s, text *t, int dir)
{
    if (!last_intact(s, t) || s->infill.n_samples < 2) {
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
    if (!ok)
        return -1;
    s->infill.cur_sample = k;
    s->infill.last_rev = text_revision(t);
    s->infill.last_hist = text_history_pos(t);
    session_msg(s, MODEL_MSG_INFO, "model: sample %d of %d", k + 1, s->infill.n_samples);
    return 0;
}

void infill_on_done(model_session *s, const model_event *e)
{
    text *t = s->live.span.t;
    char *buf;
    uint8_t *attr;
    size_t len, *bounds;
    int n = s->win.hi - s->win.lo;
    bool ok = live_window_render(s, e, &buf, &attr, &len, &bounds);
    ok = ok ? live_commit(s, buf ? buf : "", attr ? attr : (const uint8_t *)"", len) : (live_end(s), false);
    size_t lo = 0, hi = 0;
    if (ok)
        span_get(&s->live.span, &lo, &hi);
    if (!ok) {
        session_msg(s, MODEL_MSG_ERROR, "model: the text under the job was edited; result dropped");
    } else {
        if (!s->infill.again)
            infill_samples_clear(s);
        if (s->infill.n_samples == SESSION_SAMPLES_MAX) {
            sample_free(&s->infill.samples[0]);
            memmove(s->infill.samples, s->infill.samples + 1, sizeof s->infill.samples[0] * (SESSION_SAMPLES_MAX - 1));
            s->infill.n_samples--;
        }
        if (sample_copy(&s->infill.samples[s->infill.n_samples], buf ? buf : "", attr, len) == 0) {
            s->infill.cur_sample = s->infill.n_samples++;
            span_set(&s->infill.last, t, lo, hi);
            s->infill.last_rev = text_revision(t);
            s->infill.last_hist = text_history_pos(t);
            s->infill.last_len = n;
            s->infill.result_new = true;
        }
        session_msg(s, bd3_model_has_global(s->model) ? MODEL_MSG_INFO : MODEL_MSG_ERROR,
                    "model: infilled %d token%s (sample %d; press again for another)%s", n, n == 1 ? "" : "s",
                    s->infill.n_samples, bd3_model_has_global(s->model) ? "" : "; weak: no global training");
    }
    free(buf);
    free(attr);
    free(bounds);
    session_job_clear(s);
}

bool model_session_take_result(model_session *s, text **t, size_t *lo, size_t *hi)
{
    if (!s->infill.result_new)
        return false;
    s->infill.result_new = false;
    if (!s->infill.result_select)
        return false; /* an insertion leaves the cursor after it */
    if (!last_intact(s, s->infill.last.t))
        return false;
    *t = s->infill.last.t;
    return span_get(&s->infill.last, lo, hi);
}
