/* model-continue.c: continuation after the cursor, block by block, reusing the last prompt
 * window while it fits; a key other than the model's stops it. Depends on
 * model-session-core.h; no curses. */
#include <stdlib.h>
#include <string.h>
#include "model-session-core.h"

static int gen_reserve(model_session *s, int need)
{
    if (need <= s->cont.gen_cap) return 0;
    int c = s->cont.gen_cap ? s->cont.gen_cap : 64;
    while (c < need) c *= 2;
    int32_t *g = realloc(s->cont.gen, (size_t)c * sizeof *g);
    if (!g) return -1;
    s->cont.gen = g;
    float *f = realloc(s->cont.gen_conf, (size_t)c * sizeof *f);
    if (!f) return -1;
    s->cont.gen_conf = f;
    s->cont.gen_cap = c;
    return 0;
}

/* Drops the first d tokens of a window (its context; d < w->n and d <= w->lo). */
static void window_drop_front(model_window *w, int d)
{
    memmove(w->ids, w->ids + d, (size_t)(w->n - d) * sizeof *w->ids);
    if (w->conf) memmove(w->conf, w->conf + d, (size_t)(w->n - d) * sizeof *w->conf);
    memmove(w->pos, w->pos + d, (size_t)(w->n + 1 - d) * sizeof *w->pos);
    w->n -= d;
    w->lo -= d;
    w->hi -= d;
}

static int continue_start(model_session *s, text *t, size_t cursor, int blocks)
{
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    int B = s->cfg && s->cfg->block_length > 0 ? s->cfg->block_length : bd3_model_default_block(s->model);
    if (B >= hp->n_ctx) B = hp->n_ctx / 2 > 0 ? hp->n_ctx / 2 : 1;
    /* The prompt starts where the last continuation's did while it fits, so the engine finds
     * the blocks it read then in its cache and reads only the new ones; a new start leaves room
     * for a quarter of the window to be written before the next one. */
    int cap = hp->n_ctx - B;
    bd3_status st = BD3_E_ARG;
    size_t p0 = s->cont.t == t ? text_mark_get(t, s->cont.mark) : TEXT_POS_NONE;
    if (p0 != TEXT_POS_NONE && p0 < cursor && cursor - p0 <= (size_t)cap * 32)
        st = model_window_build(&s->win, s->model, t, p0, cursor, -1, cap, 0, 0);
    if (st != BD3_OK) {
        model_window_release(&s->win);
        st = model_window_build(&s->win, s->model, t, cursor, cursor, 0,
                                cap - cap / 4 > 0 ? cap - cap / 4 : cap, -1, 0);
        /* a new start: a whole number of blocks, so no block is half prompt, half new text */
        if (st == BD3_OK && s->win.n > B && s->win.n % B != 0) window_drop_front(&s->win, s->win.n % B);
    }
    if (st != BD3_OK) {
        session_msg(s, MODEL_MSG_ERROR, "model: cannot build the window: %s", bd3_status_str(st));
        return -1;
    }
    s->cont.t = t;
    s->cont.mark = text_mark_set(t, s->win.pos[0]);
    if (s->win.n == 0) {
        /* an empty prompt: start from end-of-text when the vocabulary has it */
        if (hp->eos_id < 0) {
            session_msg(s, MODEL_MSG_INFO, "model: nothing before the cursor to continue");
            model_window_release(&s->win);
            return -1;
        }
        s->win.ids[0] = hp->eos_id;
        s->win.n = 1;
    }
    /* the next block of a run (the cursor at the end of the last continuation, nothing edited
     * since) joins its undo step */
    bool join = s->cont.run_t == t && text_revision(t) == s->cont.run_rev && cursor == s->cont.run_end;
    size_t join_hist = s->cont.run_hist;
    if (live_begin(s, t, cursor, cursor) != 0) return -1;
    s->live.join = join;
    s->live.join_hist = join_hist;
    model_job j = {0};
    j.kind = MODEL_JOB_CONTINUE;
    j.ids = s->win.ids;
    j.n = s->win.n;
    j.block_len = B;
    j.max_new = B * (blocks > 0 ? blocks : 1);
    /* blocks are aligned to the prompt's start: the first one ends where the prompt's last
     * partial block does, so the next Ctrl-N starts on a block boundary again */
    if (s->win.n % B != 0 && j.max_new > s->win.n % B) j.max_new -= s->win.n % B;
    session_params(s, &j.sp);
    s->cont.block_len = B;
    s->cont.gen_n = 0;
    s->n_target = j.max_new;
    s->n_done = 0;
    s->seconds = 0;
    s->kind = MODEL_JOB_CONTINUE;
    s->job_id = session_submit(s, &j);
    if (!s->job_id) {
        live_end(s);
        session_job_clear(s);
        return -1;
    }
    return 0;
}

/* Remembers the continuation just written (the live span), so the next block of the run joins
 * its undo step. */
static void continue_note_run(model_session *s)
{
    size_t lo, hi;
    s->cont.run_t = NULL;
    if (!span_get(&s->live.span, &lo, &hi)) return;
    s->cont.run_t = s->live.span.t;
    s->cont.run_rev = text_revision(s->live.span.t);
    s->cont.run_hist = text_history_pos(s->live.span.t);
    s->cont.run_end = hi;
}

int model_session_continue(model_session *s, text *t, size_t cursor, int count)
{
    if (session_ready(s) != 0) return -1;
    if (s->job_id && s->kind == MODEL_JOB_CONTINUE && s->live.span.t == t) {
        /* presses while a block runs (a held key repeats) coalesce: one more block after it, or
         * the count typed, so generation stops within one block of the last press */
        int want = count > 1 ? count : 1;
        if (s->cont.more_blocks < want) s->cont.more_blocks = want;
        return 0;
    }
    session_stop(s);
    if (cursor > text_size(t)) return -1;
    return continue_start(s, t, cursor, count);
}

bool model_session_stop_continue(model_session *s)
{
    if (!s->job_id || s->kind != MODEL_JOB_CONTINUE || !s->live.on) return false;
    model_worker_cancel(s->worker);
    int mask = bd3_model_hparams(s->model)->mask_id;
    int k = 0;
    while (k < s->cont.gen_n && s->cont.gen[k] != mask) k++;
    bool ok = live_commit_tokens(s, s->cont.gen, s->cont.gen_conf, k);
    if (ok) continue_note_run(s);
    session_job_clear(s);
    session_msg(s, MODEL_MSG_INFO,
                ok ? "model: continuation stopped (%d tokens kept)" : "model: continuation stopped", k);
    return true;
}

/* Writes the continuation tokens so far (masks as placeholders) into the span. */
static bool continue_show(model_session *s)
{
    return live_write_tokens(s, s->cont.gen, s->cont.gen_conf, s->cont.gen_n);
}

bool continue_on_progress(model_session *s, const model_event *e)
{
    int n_prompt = s->win.n;
    for (int i = 0; i < e->n; i++) {
        int k = e->offset + i - n_prompt;
        if (k < 0) continue;
        if (gen_reserve(s, k + 1) != 0) return true;
        while (s->cont.gen_n <= k) {
            s->cont.gen[s->cont.gen_n] = bd3_model_hparams(s->model)->mask_id;
            s->cont.gen_conf[s->cont.gen_n++] = 0;
        }
        s->cont.gen[k] = e->ids[i];
        s->cont.gen_conf[k] = e->conf ? e->conf[i] : 0;
    }
    return continue_show(s);
}

void continue_on_done(model_session *s, const model_event *e)
{
    text *t = s->live.span.t;
    if (gen_reserve(s, e->n + 1) == 0) {
        memcpy(s->cont.gen, e->ids, (size_t)e->n * sizeof *s->cont.gen);
        memcpy(s->cont.gen_conf, e->conf, (size_t)e->n * sizeof *s->cont.gen_conf);
        s->cont.gen_n = e->n;
    }
    bool ok = live_commit_tokens(s, s->cont.gen, s->cont.gen_conf, s->cont.gen_n);
    size_t lo = 0, hi = 0;
    if (ok) {
        span_get(&s->live.span, &lo, &hi);
        continue_note_run(s);
    }
    int more = s->cont.more_blocks;
    session_job_clear(s);
    if (!ok) {
        session_msg(s, MODEL_MSG_ERROR, "model: the text under the job was edited; result dropped");
    } else if (e->stop == BD3_STOP_EOS) {
        session_msg(s, MODEL_MSG_INFO, "model: end of text");
    } else if (e->stop == BD3_STOP_REPEAT) {
        session_msg(s, MODEL_MSG_INFO, "model: stopped at a repetition");
    } else if (more > 0 && t) {
        continue_start(s, t, hi, more);
    } else {
        session_msg(s, MODEL_MSG_INFO, "model: continued %d token%s", e->n, e->n == 1 ? "" : "s");
    }
}
