/* model-fill.c: fill in the blanks: every run of underscores in the selection (or the text) is
 * masked, one mask per underscore, and so is every span marked as a blank (as many masks as it
 * had tokens); the model fills them all in one pass over one window that holds every blank and
 * all the text between them; more samples and cycling as for infill.
 * Depends on model-session-core.h; no curses. */
#include <stdlib.h>
#include <string.h>
#include "model-session-core.h"

#define FILL_MIN_RUN    3  /* underscores that make a blank */
#define FILL_MAX_BLANKS 64 /* blanks filled at once */

void fill_forget(model_session *s)
{
    model_window_release(&s->infill.fill_win);
    free(s->infill.fill_attr);
    s->infill.fill_attr = NULL;
    s->infill.fill_attr_len = 0;
}

void fill_marks_clear(model_session *s)
{
    memset(s->infill.marks, 0, sizeof s->infill.marks);
    s->infill.n_marks = 0;
}

int model_session_mark_blank(model_session *s, text *t, size_t sel_lo, size_t sel_hi)
{
    if (sel_lo >= sel_hi || sel_hi > text_size(t)) {
        session_msg(s, MODEL_MSG_INFO, "model: select the words to mark as a blank");
        return -1;
    }
    if (session_ready(s) != 0) return -1;
    if (s->infill.n_marks > 0 && s->infill.marks[0].t != t) fill_marks_clear(s);
    size_t lo = sel_lo, hi = sel_hi;
    span_snap(t, &lo, &hi);
    /* a marked blank it overlaps is unmarked; marks whose text is gone are dropped */
    int w = 0, removed = 0;
    for (int i = 0; i < s->infill.n_marks; i++) {
        size_t a, b;
        if (!span_get(&s->infill.marks[i], &a, &b)) continue;
        if (a < hi && lo < b) {
            removed++;
            continue;
        }
        s->infill.marks[w] = s->infill.marks[i];
        s->infill.mark_len[w++] = s->infill.mark_len[i];
    }
    s->infill.n_marks = w;
    if (removed) {
        session_msg(s, MODEL_MSG_INFO, "model: blank unmarked (%d marked)", w);
        return 0;
    }
    if (w == SESSION_MARKS_MAX) {
        session_msg(s, MODEL_MSG_ERROR, "model: at most %d marked blanks", SESSION_MARKS_MAX);
        return -1;
    }
    model_window tw;
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    if (model_window_build(&tw, s->model, t, lo, hi, -1, hp->n_ctx, 0, 0) != BD3_OK) {
        session_msg(s, MODEL_MSG_ERROR, "model: the selection is longer than the model's window");
        return -1;
    }
    s->infill.mark_len[w] = tw.hi - tw.lo > 0 ? tw.hi - tw.lo : 1;
    model_window_release(&tw);
    span_set(&s->infill.marks[w], t, lo, hi);
    s->infill.n_marks = w + 1;
    session_msg(s, MODEL_MSG_INFO, "model: blank %d marked (%d token%s); the fill key fills every blank",
                w + 1, s->infill.mark_len[w], s->infill.mark_len[w] == 1 ? "" : "s");
    return 0;
}

bool model_session_blank_at(const model_session *s, const text *t, size_t pos)
{
    for (int i = 0; t && i < s->infill.n_marks; i++) {
        size_t a, b;
        if (s->infill.marks[i].t == t && span_get(&s->infill.marks[i], &a, &b) && pos >= a && pos < b)
            return true;
    }
    return false;
}

/* A copy of window w into *out (zeroed first); BD3_E_NOMEM when out of memory. */
static bd3_status fill_window_copy(model_window *out, const model_window *w)
{
    memset(out, 0, sizeof *out);
    size_t n = (size_t)w->n;
    out->ids = malloc((n ? n : 1) * sizeof *out->ids);
    out->conf = malloc((n ? n : 1) * sizeof *out->conf);
    out->pos = malloc((n + 1) * sizeof *out->pos);
    if (!out->ids || !out->conf || !out->pos) {
        model_window_release(out);
        return BD3_E_NOMEM;
    }
    memcpy(out->ids, w->ids, n * sizeof *out->ids);
    memcpy(out->conf, w->conf, n * sizeof *out->conf);
    memcpy(out->pos, w->pos, (n + 1) * sizeof *out->pos);
    out->n = w->n;
    out->lo = w->lo;
    out->hi = w->hi;
    out->byte_lo = w->byte_lo;
    out->byte_hi = w->byte_hi;
    return BD3_OK;
}

void fill_keep_attrs(model_session *s, const int32_t *ids, uint8_t *attr, const size_t *bounds)
{
    const int32_t mask = bd3_model_hparams(s->model)->mask_id;
    const model_window *fw = &s->infill.fill_win;
    size_t k = 0; /* next byte of fill_attr */
    for (int i = fw->lo; i < fw->hi; i++) {
        if (fw->ids[i] == mask) continue; /* a blank's token: the model's, with its confidence */
        size_t a = bounds[i - fw->lo], b = bounds[i - fw->lo + 1];
        if (ids[i - fw->lo] != fw->ids[i] || k + (b - a) > s->infill.fill_attr_len) return;
        memcpy(attr + a, s->infill.fill_attr + k, b - a);
        k += b - a;
    }
}

/* Submits the saved fill window; shows its masks. */
static int fill_submit(model_session *s)
{
    model_window_release(&s->win);
    if (fill_window_copy(&s->win, &s->infill.fill_win) != BD3_OK) return -1;
    model_job j = {0};
    j.kind = MODEL_JOB_INFILL;
    j.ids = s->win.ids;
    j.conf = s->win.conf;
    j.n = s->win.n;
    session_params(s, &j.sp);
    const int32_t mask = bd3_model_hparams(s->model)->mask_id;
    int n_masks = 0;
    for (int i = s->win.lo; i < s->win.hi; i++) n_masks += s->win.ids[i] == mask;
    s->infill.target_len = s->win.hi - s->win.lo;
    s->infill.fill_masks = n_masks;
    s->infill.fit_lo = s->infill.fit_hi = 0;
    s->n_target = n_masks;
    s->n_done = 0;
    s->seconds = 0;
    s->job_id = session_submit(s, &j);
    if (!s->job_id) return -1;
    s->kind = MODEL_JOB_INFILL;
    s->infill.fill = true;
    live_write_tokens(s, s->win.ids + s->win.lo, s->win.conf + s->win.lo, s->win.hi - s->win.lo);
    return 0;
}

int fill_again(model_session *s, text *t, size_t lo, size_t hi, bool join, size_t join_hist)
{
    if (!s->infill.fill_win.ids) {
        session_msg(s, MODEL_MSG_INFO, "model: no fill to draw again");
        return -1;
    }
    session_stop(s);
    if (live_begin(s, t, lo, hi) != 0 || fill_submit(s) != 0) {
        live_end(s);
        session_job_clear(s);
        return -1;
    }
    s->infill.again = true;
    s->infill.fill = true;
    s->live.join = join;
    s->live.join_hist = join_hist;
    return 0;
}

int model_session_fill(model_session *s, text *t, size_t sel_lo, size_t sel_hi, size_t cursor)
{
    if (session_ready(s) != 0) return -1;
    size_t size = text_size(t), lo, hi;
    if (s->job_id && s->kind == MODEL_JOB_INFILL && s->infill.fill && s->live.span.t == t) {
        /* pressed again while it runs: another sample of the same blanks */
        session_span keep = s->live.span;
        bool join = s->live.join;
        size_t join_hist = s->live.join_hist;
        session_stop(s);
        return span_get(&keep, &lo, &hi) ? fill_again(s, t, lo, hi, join, join_hist) : -1;
    }
    if (s->infill.fill && infill_last_intact(s, t) && span_get(&s->infill.last, &lo, &hi) &&
        (sel_lo == sel_hi ? cursor >= lo && cursor <= hi : sel_lo <= lo && sel_hi >= hi))
        return fill_again(s, t, lo, hi, true, s->infill.last_hist); /* the same blanks again */
    session_stop(s);
    size_t a = 0, b = size; /* where blanks are looked for */
    if (sel_lo < sel_hi && sel_hi <= size) {
        a = sel_lo;
        b = sel_hi;
    }
    size_t blo[FILL_MAX_BLANKS], bhi[FILL_MAX_BLANKS];
    int nm[FILL_MAX_BLANKS];
    int n = 0;
    for (size_t p = a; p < b && n < FILL_MAX_BLANKS;) {
        if (text_byte_at(t, p) != '_') {
            p++;
            continue;
        }
        size_t q = p;
        while (q < b && text_byte_at(t, q) == '_') q++;
        if (q - p >= FILL_MIN_RUN) {
            size_t l = p, h = q;
            span_snap(t, &l, &h); /* the blank before a blank joins it: tokens carry it */
            if (n > 0 && l < bhi[n - 1]) l = bhi[n - 1];
            blo[n] = l;
            bhi[n] = h;
            nm[n] = (int)(q - p);
            n++;
        }
        p = q;
    }
    /* the spans marked as blanks join them, in text order; one overlapping another is left out */
    for (int i = 0; i < s->infill.n_marks && n < FILL_MAX_BLANKS; i++) {
        size_t l, h;
        if (s->infill.marks[i].t != t || !span_get(&s->infill.marks[i], &l, &h) || l >= h) continue;
        int at = 0;
        while (at < n && blo[at] < l) at++;
        if ((at > 0 && bhi[at - 1] > l) || (at < n && blo[at] < h)) continue;
        memmove(blo + at + 1, blo + at, (size_t)(n - at) * sizeof *blo);
        memmove(bhi + at + 1, bhi + at, (size_t)(n - at) * sizeof *bhi);
        memmove(nm + at + 1, nm + at, (size_t)(n - at) * sizeof *nm);
        blo[at] = l;
        bhi[at] = h;
        nm[at] = s->infill.mark_len[i];
        n++;
    }
    if (n == 0) {
        session_msg(s, MODEL_MSG_INFO, "model: no blanks to fill (write ___ or mark a selection as a blank)");
        return -1;
    }
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    fill_forget(s);
    model_window *fw = &s->infill.fill_win;
    bd3_status st = model_window_build_spans(fw, s->model, t, n, blo, bhi, nm, hp->n_ctx);
    if (st == BD3_OK && fw->hi - fw->lo > hp->n_ctx * 3 / 4)
        st = BD3_E_ARG; /* the blanks and the text between leave no room for context */
    if (st != BD3_OK) {
        fill_forget(s);
        session_msg(s, MODEL_MSG_ERROR,
                    "model: the blanks are too far apart for one window (%d tokens); "
                    "select the part to fill",
                    hp->n_ctx);
        return -1;
    }
    /* the attributes of the text between the blanks, kept for every sample */
    const int32_t mask = hp->mask_id;
    size_t keep = 0;
    for (int i = fw->lo; i < fw->hi; i++)
        if (fw->ids[i] != mask) keep += fw->pos[i + 1] - fw->pos[i];
    s->infill.fill_attr = malloc(keep ? keep : 1);
    if (!s->infill.fill_attr) {
        fill_forget(s);
        return -1;
    }
    size_t k = 0;
    for (int i = fw->lo; i < fw->hi; i++) {
        if (fw->ids[i] == mask) continue;
        size_t len = fw->pos[i + 1] - fw->pos[i];
        text_attr_get(t, fw->pos[i], len, s->infill.fill_attr + k);
        k += len;
    }
    s->infill.fill_attr_len = keep;
    s->infill.fill_blanks = n;
    infill_samples_clear(s);
    s->infill.result_select = false; /* the cursor stays where it is */
    lo = blo[0];
    hi = bhi[n - 1];
    if (live_begin(s, t, lo, hi) != 0 || fill_submit(s) != 0) {
        live_end(s);
        session_job_clear(s);
        return -1;
    }
    fill_marks_clear(s); /* used up: their spans are this fill's blanks now */
    s->infill.again = false;
    s->live.join = false;
    return 0;
}
