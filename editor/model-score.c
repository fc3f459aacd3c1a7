/* model-score.c: background scoring of the visible text (then the text around it) for the
 * heatmap, and again around the person's edits once they pause. Depends on
 * model-session-core.h; no curses. */
#include <stdlib.h>
#include <string.h>
#include "model-session-core.h"

static int score_range(model_session *s, text *t, size_t vis_lo, size_t vis_hi);
static int score_edit(model_session *s, text *t);
static int score_submit(model_session *s, text *t, size_t a);

/* Writes the scores of e into the attributes of the window at byte p of the scored text. */
static void score_apply(model_session *s, const model_event *e, size_t p)
{
    text *t = s->score.t;
    uint8_t *attr = malloc(s->score.len);
    if (!attr) return;
    text_attr_get(t, p, s->score.len, attr);
    size_t base = s->score.win.pos[0];
    size_t size = text_size(t);
    for (int i = 0; i < s->score.win.n; i++) {
        size_t a = s->score.win.pos[i] - base, b = s->score.win.pos[i + 1] - base;
        /* a token cut at the window's edge is scored from a window that starts with it */
        if ((i == 0 && p > 0) || (i == s->score.win.n - 1 && p + s->score.len < size)) continue;
        uint8_t q = model_window_conf_encode(e->conf[i], false);
        bool over = i >= s->score.over_lo && i < s->score.over_hi;
        /* the model's bytes keep the confidence recorded when it wrote them */
        for (size_t k = a; k < b; k++)
            if (attr[k] == 0 || (over && !model_window_conf_by_model(attr[k]))) attr[k] = q;
    }
    text_attr_set(t, p, s->score.len, attr);
    free(attr);
}

void score_on_done(model_session *s, const model_event *e)
{
    text *t = s->score.t;
    size_t p = text_mark_get(t, s->score.mark);
    if (p != TEXT_POS_NONE && e->n == s->score.win.n && s->score.len > 0 &&
        span_holds(t, p, p + s->score.len, s->score.bytes, s->score.len))
        score_apply(s, e, p); /* else edited meanwhile: scored again after the delay */
    session_job_clear(s);
}

void model_session_note_edit(model_session *s, const text *t, int64_t now_ms)
{
    model_session_note_edit_at(s, t, SIZE_MAX, now_ms);
}

static void dirty_add(model_session *s, size_t lo, size_t hi)
{
    if (!s->score.dirty) {
        s->score.dirty_lo = lo;
        s->score.dirty_hi = hi;
    } else {
        s->score.dirty_lo = lo < s->score.dirty_lo ? lo : s->score.dirty_lo;
        s->score.dirty_hi = hi > s->score.dirty_hi ? hi : s->score.dirty_hi;
    }
    s->score.dirty = true;
}

void model_session_note_edit_at(model_session *s, const text *t, size_t pos, int64_t now_ms)
{
    if (s->score.edit_t != t) s->score.dirty = false;
    if (s->job_id && s->kind == MODEL_JOB_SCORE && s->score.t == t) {
        if (s->score.over_hi > 0) dirty_add(s, s->score.elo, s->score.ehi); /* still to be done */
        model_worker_cancel(s->worker);                                     /* its window is probably stale */
        session_job_clear(s);
    }
    if (pos != SIZE_MAX) dirty_add(s, pos, pos);
    s->score.edit_t = t;
    s->score.edit_ms = now_ms;
}

/* Starts scoring the first unscored bytes of t in [vis_lo, vis_hi): 1 when a job started (or
 * scoring must wait), 0 when every byte there is scored. */
static int score_range(model_session *s, text *t, size_t vis_lo, size_t vis_hi)
{
    uint8_t *attr = malloc(vis_hi - vis_lo);
    if (!attr) return 1;
    text_attr_get(t, vis_lo, vis_hi - vis_lo, attr);
    size_t x = vis_lo;
    while (x < vis_hi && attr[x - vis_lo] != 0) x++;
    size_t run = 0; /* unscored bytes from x on (within the visible part) */
    bool scored_after = false;
    for (size_t k = x; k < vis_hi; k++) {
        if (attr[k - vis_lo] == 0) {
            run++;
            continue;
        }
        if (k > x) {
            scored_after = true;
            break;
        }
    }
    free(attr);
    if (x == vis_hi) return 0; /* everything there is scored */
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    size_t a = x;
    int max_tokens = hp->n_ctx, max_left = hp->n_ctx / 8;
    if (scored_after && run < SESSION_EDIT_BYTES) {
        /* an edit inside scored text: a small window around it answers sooner */
        while (a > 0 && !session_is_blank(text_byte_at(t, a - 1)) && x - a < 64) a--;
        max_tokens = hp->n_ctx < SESSION_EDIT_WINDOW ? hp->n_ctx : SESSION_EDIT_WINDOW;
        max_left = max_tokens / 2;
    } else {
        while (a > 0 && text_byte_at(t, a - 1) != '\n' && x - a < 2048) a--;
    }
    if (a == s->score.last && text_revision(t) == s->score.last_rev)
        return 1; /* that window did not help; wait for an edit */
    bd3_status st = model_window_build(&s->score.win, s->model, t, a, a, -1, max_tokens, max_left, -1);
    if (st != BD3_OK || s->score.win.n < 2) {
        model_window_release(&s->score.win);
        return 1;
    }
    s->score.over_lo = s->score.over_hi = 0;
    return score_submit(s, t, a);
}

/* Scores again the tokens around the edits noted since the last scoring (the edited bytes and
 * SESSION_EDIT_AROUND tokens on each side, whose context changed), replacing their old scores.
 * 1 when a job started, 0 when there was nothing to score. */
static int score_edit(model_session *s, text *t)
{
    size_t size = text_size(t);
    size_t lo = s->score.dirty_lo < size ? s->score.dirty_lo : size,
           hi = s->score.dirty_hi < size ? s->score.dirty_hi : size;
    s->score.dirty = false;
    if (size == 0) return 0;
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    int max_tokens = hp->n_ctx < SESSION_EDIT_WINDOW ? hp->n_ctx : SESSION_EDIT_WINDOW;
    if (hi - lo > SESSION_EDIT_BYTES) lo = hi - SESSION_EDIT_BYTES; /* edits far apart: the latest one */
    bd3_status st =
        model_window_build(&s->score.win, s->model, t, lo, hi, -1, max_tokens, max_tokens / 2, -1);
    if (st != BD3_OK || s->score.win.n < 2) {
        model_window_release(&s->score.win);
        return 0;
    }
    s->score.over_lo = s->score.win.lo > SESSION_EDIT_AROUND ? s->score.win.lo - SESSION_EDIT_AROUND : 0;
    s->score.over_hi = s->score.win.hi + SESSION_EDIT_AROUND < s->score.win.n
                           ? s->score.win.hi + SESSION_EDIT_AROUND
                           : s->score.win.n;
    s->score.elo = lo;
    s->score.ehi = hi;
    score_submit(s, t, s->score.win.pos[0]);
    s->score.last = SIZE_MAX;
    return 1;
}

/* Submits the scoring job over s->score.win, a window of t starting at byte a. Always 1. */
static int score_submit(model_session *s, text *t, size_t a)
{
    s->score.len = s->score.win.pos[s->score.win.n] - s->score.win.pos[0];
    s->score.bytes = malloc(s->score.len ? s->score.len : 1);
    if (!s->score.bytes) {
        session_job_clear(s);
        return 1;
    }
    text_read(t, s->score.win.pos[0], s->score.len, s->score.bytes);
    s->score.mark = text_mark_set(t, s->score.win.pos[0]);
    s->score.t = t;
    s->score.last = a;
    s->score.last_rev = text_revision(t);
    model_job j = {0};
    j.kind = MODEL_JOB_SCORE;
    j.ids = s->score.win.ids;
    j.n = s->score.win.n;
    s->kind = MODEL_JOB_SCORE;
    s->n_target = s->score.win.n;
    s->n_done = 0;
    s->job_id = model_worker_submit(s->worker, &j);
    if (!s->job_id) session_job_clear(s);
    return 1;
}

int model_session_tick(model_session *s, text *t, size_t vis_lo, size_t vis_hi, int64_t now_ms)
{
    if (!s->heatmap || !s->model || !s->worker || s->job_id) return -1;
    int delay = s->cfg ? s->cfg->score_delay_ms : 500;
    if (s->score.edit_t == t && now_ms - s->score.edit_ms < delay)
        return (int)(delay - (now_ms - s->score.edit_ms));
    size_t size = text_size(t);
    if (vis_hi > size) vis_hi = size;
    if (s->score.dirty && s->score.edit_t == t && score_edit(s, t) != 0)
        return -1; /* the tokens around the last edits first: their context changed */
    if (vis_lo >= vis_hi) return -1;
    /* the visible text first, then the text just below and above it */
    if (score_range(s, t, vis_lo, vis_hi) == 0) {
        size_t below = size - vis_hi < SESSION_AHEAD_BYTES ? size : vis_hi + SESSION_AHEAD_BYTES;
        size_t above = vis_lo > SESSION_AHEAD_BYTES ? vis_lo - SESSION_AHEAD_BYTES : 0;
        if (vis_hi >= below || score_range(s, t, vis_hi, below) == 0)
            if (above < vis_lo) score_range(s, t, above, vis_lo);
    }
    return -1;
}

bool model_session_heatmap(const model_session *s) { return s->heatmap; }

bool model_session_toggle_heatmap(model_session *s)
{
    s->heatmap = !s->heatmap;
    if (s->heatmap && session_ready(s) != 0) {
        s->heatmap = false;
        return false;
    }
    if (!s->heatmap && s->job_id && s->kind == MODEL_JOB_SCORE) {
        model_worker_cancel(s->worker);
        session_job_clear(s);
    }
    return s->heatmap;
}
