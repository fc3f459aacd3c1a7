/* model-revise.c: revision of the least confident tokens of a selection or of the paragraph
 * around the cursor, in whole words (scored first where confidence is unknown), and the tokens it
 * changed.
 * Depends on model-session-core.h; no curses. */
#include <stdlib.h>
#include <string.h>
#include "model-session-core.h"

/* Submits the revise job over s->win (its confidence complete). */
static int revise_submit(model_session *s)
{
    model_job j = {0};
    j.kind = MODEL_JOB_REVISE;
    j.ids = s->win.ids;
    j.conf = s->win.conf;
    j.n = s->win.n;
    j.lo = s->win.lo;
    j.hi = s->win.hi;
    j.fraction = session_revise_fraction(s);
    session_params(s, &j.sp);
    s->n_target = (int)((j.hi - j.lo) * j.fraction + 0.999);
    s->n_done = 0;
    s->job_id = session_submit(s, &j);
    return s->job_id ? 0 : -1;
}

/* true when the line starting at byte a holds only blanks (or is empty). */
static bool line_blank(const text *t, size_t a)
{
    for (size_t p = a;; p++) {
        int c = text_byte_at(t, p);
        if (c < 0 || c == '\n') return true;
        if (!session_is_blank(c)) return false;
    }
}

static size_t line_start(const text *t, size_t p)
{
    while (p > 0 && text_byte_at(t, p - 1) != '\n') p--;
    return p;
}

/* The paragraph around pos: its lines between blank lines, without its last line end and the
 * blanks at either end. On a blank line, the paragraph before it (else the one after). false
 * when the text has none. */
static bool paragraph_around(const text *t, size_t pos, size_t *lo, size_t *hi)
{
    size_t size = text_size(t);
    size_t a = line_start(t, pos);
    if (line_blank(t, a)) {
        size_t b = a; /* back over blank lines to the last line of the paragraph before */
        while (b > 0 && line_blank(t, line_start(t, b - 1))) b = line_start(t, b - 1);
        if (b > 0) {
            a = line_start(t, b - 1);
        } else { /* none before: forward to the next one */
            while (a < size && line_blank(t, a)) {
                while (a < size && text_byte_at(t, a) != '\n') a++;
                if (a < size) a++;
            }
            if (a >= size) return false;
        }
    }
    while (a > 0 && !line_blank(t, line_start(t, a - 1))) a = line_start(t, a - 1);
    size_t b = a; /* forward to the end of the paragraph's last line */
    for (;;) {
        while (b < size && text_byte_at(t, b) != '\n') b++;
        if (b + 1 >= size || line_blank(t, b + 1)) break;
        b++;
    }
    while (b > a && session_is_blank(text_byte_at(t, b - 1))) b--;
    while (a < b && session_is_blank(text_byte_at(t, a))) a++;
    *lo = a;
    *hi = b;
    return a < b;
}

/* Widens [lo, hi) to whole words (runs of bytes that are not blanks), then lets the blank before
 * the first word join it as span_snap does: a span edge inside a word would let the model split
 * or join that word. */
static void word_edges(const text *t, size_t *lo, size_t *hi)
{
    size_t size = text_size(t);
    while (*lo > 0 && *lo < size && !session_is_blank(text_byte_at(t, *lo)) &&
           !session_is_blank(text_byte_at(t, *lo - 1)))
        (*lo)--;
    while (*hi > *lo && *hi < size && !session_is_blank(text_byte_at(t, *hi - 1)) &&
           !session_is_blank(text_byte_at(t, *hi)))
        (*hi)++;
    span_snap(t, lo, hi);
}

int model_session_revise(model_session *s, text *t, size_t sel_lo, size_t sel_hi, size_t cursor)
{
    if (session_ready(s) != 0) return -1;
    session_stop(s);
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    size_t size = text_size(t), lo, hi;
    if (sel_lo < sel_hi) {
        lo = sel_lo;
        hi = sel_hi < size ? sel_hi : size;
    } else if (!paragraph_around(t, cursor < size ? cursor : size, &lo, &hi)) {
        session_msg(s, MODEL_MSG_INFO, "model: nothing to revise here");
        return -1;
    }
    word_edges(t, &lo, &hi);
    if (hi > size || lo >= hi) {
        session_msg(s, MODEL_MSG_INFO, "model: nothing to revise");
        return -1;
    }
    int max_target = hp->n_ctx * 3 / 4;
    bd3_status st = model_window_build(&s->win, s->model, t, lo, hi, -1, hp->n_ctx, -1, -1);
    while (st == BD3_OK && s->win.hi - s->win.lo > max_target && hi > lo + 16) {
        /* too long for a window with context: the part nearest the cursor, cut between words */
        model_window_release(&s->win);
        size_t cut = (hi - lo) / 4;
        if (cursor > lo && cursor - lo > hi - cursor) {
            lo += cut;
            while (lo < hi && !session_is_blank(text_byte_at(t, lo))) lo++;
            while (lo < hi && session_is_blank(text_byte_at(t, lo))) lo++;
        } else {
            hi -= cut;
            while (hi > lo && !session_is_blank(text_byte_at(t, hi - 1))) hi--;
            while (hi > lo && session_is_blank(text_byte_at(t, hi - 1))) hi--;
        }
        word_edges(t, &lo, &hi);
        if (lo >= hi) break;
        st = model_window_build(&s->win, s->model, t, lo, hi, -1, hp->n_ctx, -1, -1);
    }
    if (st != BD3_OK || s->win.hi <= s->win.lo) {
        model_window_release(&s->win);
        session_msg(s, MODEL_MSG_ERROR, "model: cannot revise this text: %s", bd3_status_str(st));
        return -1;
    }
    if (live_begin(s, t, lo, hi) != 0) {
        session_job_clear(s);
        return -1;
    }
    s->kind = MODEL_JOB_REVISE;
    /* tokens without a recorded confidence (the person's, not yet scored) are scored first */
    bool unknown = false;
    for (int i = s->win.lo; i < s->win.hi; i++)
        if (s->win.conf[i] <= 0.0f) unknown = true;
    int ok;
    if (unknown) {
        model_job j = {0};
        j.kind = MODEL_JOB_SCORE;
        j.ids = s->win.ids;
        j.n = s->win.n;
        s->job_id = session_submit(s, &j);
        ok = s->job_id != 0;
    } else {
        ok = revise_submit(s) == 0;
    }
    if (!ok) {
        live_end(s);
        session_job_clear(s);
        return -1;
    }
    return 0;
}

/* The tokens a revise left unchanged keep the attributes they had (the person's text stays the
 * person's, with its score; unknown bytes take the score made before the revise); attr and
 * bounds are the rendered target. */
static void revise_keep_attrs(model_session *s, const model_event *e, uint8_t *attr, const size_t *bounds)
{
    for (int i = s->win.lo; i < s->win.hi; i++) {
        if ((e->changed && e->changed[i]) || e->ids[i] != s->win.ids[i]) continue;
        size_t from = s->win.pos[i] - s->win.byte_lo, len = s->win.pos[i + 1] - s->win.pos[i];
        size_t to = bounds[i - s->win.lo];
        if (len != bounds[i - s->win.lo + 1] - to || from + len > s->live.orig_len)
            continue; /* not the same bytes: keeps the revise's confidence */
        uint8_t q = model_window_conf_encode(s->win.conf[i], false);
        for (size_t k = 0; k < len; k++)
            attr[to + k] = s->live.orig_attr[from + k] ? s->live.orig_attr[from + k] : q;
    }
}

void revise_on_done(model_session *s, const model_event *e)
{
    if (e->job_kind == MODEL_JOB_SCORE) {
        /* the scoring pass before the revise: its confidence fills the unknown ones */
        for (int i = 0; i < s->win.n && i < e->n; i++)
            if (s->win.conf[i] <= 0.0f) s->win.conf[i] = e->conf[i] > 0.0f ? e->conf[i] : 1e-6f;
        if (revise_submit(s) != 0) session_stop(s);
        return;
    }
    text *t = s->live.span.t;
    char *buf;
    uint8_t *attr;
    size_t len, *bounds;
    int n = s->win.hi - s->win.lo;
    bool ok = live_window_render(s, e, &buf, &attr, &len, &bounds);
    if (ok) revise_keep_attrs(s, e, attr, bounds);
    ok = ok ? live_commit(s, buf ? buf : "", attr ? attr : (const uint8_t *)"", len) : (live_end(s), false);
    size_t lo = 0, hi = 0;
    if (ok) span_get(&s->live.span, &lo, &hi);
    if (!ok) {
        session_msg(s, MODEL_MSG_ERROR, "model: the text under the job was edited; result dropped");
    } else {
        int n_chg = 0;
        free(s->revise.chg);
        s->revise.chg = malloc((size_t)(2 * n + 2) * sizeof *s->revise.chg);
        for (int i = 0; s->revise.chg && i < n; i++) {
            if (!e->changed || !e->changed[s->win.lo + i]) continue;
            s->revise.chg[2 * n_chg] = lo + bounds[i];
            s->revise.chg[2 * n_chg + 1] = lo + bounds[i + 1];
            n_chg++;
        }
        s->revise.n_chg = n_chg;
        s->revise.t = t;
        s->revise.rev = text_revision(t);
        session_msg(s, MODEL_MSG_INFO, "model: revised %d of %d tokens", n_chg, n);
    }
    free(buf);
    free(attr);
    free(bounds);
    session_job_clear(s);
}

bool model_session_changed_at(const model_session *s, const text *t, size_t pos)
{
    if (s->revise.t != t || !t || text_revision(t) != s->revise.rev) return false;
    for (int i = 0; i < s->revise.n_chg; i++)
        if (pos >= s->revise.chg[2 * i] && pos < s->revise.chg[2 * i + 1]) return true;
    return false;
}
