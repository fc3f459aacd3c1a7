/* model-session.c: the model session's core: loading, sampler parameters, submitting, stopping
 * and forgetting jobs, and the job_ops table that hands worker events to each job kind's file.
 * Depends on model-session-core.h (text, config, worker, window, model/bd3.h); no curses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model-session-core.h"

void session_msg(model_session *s, model_msg_kind kind, const char *fmt, ...)
{
    s->msg_kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
}

void span_set(session_span *sp, text *t, size_t lo, size_t hi)
{
    sp->t = t;
    sp->at_start = lo == 0;
    sp->before = lo > 0 ? text_mark_set(t, lo - 1) : TEXT_MARK_NONE;
    sp->after = text_mark_set(t, hi);
}

/* Current byte range of a span; false when an anchor was deleted. */
bool span_get(const session_span *sp, size_t *lo, size_t *hi)
{
    if (!sp->t) return false;
    size_t b = sp->at_start ? 0 : text_mark_get(sp->t, sp->before);
    size_t a = text_mark_get(sp->t, sp->after);
    if (b == TEXT_POS_NONE || a == TEXT_POS_NONE) return false;
    *lo = sp->at_start ? 0 : b + 1;
    *hi = a;
    return *lo <= *hi;
}

/* true when t holds exactly len bytes equal to want in [lo, hi). */
bool span_holds(const text *t, size_t lo, size_t hi, const char *want, size_t len)
{
    if (hi - lo != len) return false;
    char buf[4096];
    for (size_t off = 0; off < len;) {
        size_t n = len - off < sizeof buf ? len - off : sizeof buf;
        if (text_read(t, lo + off, n, buf) != n || memcmp(buf, want + off, n) != 0) return false;
        off += n;
    }
    return true;
}

/* Replaces [lo, hi) of t with bytes/attr, editing only the part that differs. */
bool session_replace(model_session *s, text *t, size_t lo, size_t hi, const char *bytes, const uint8_t *attr,
                     size_t len)
{
    size_t old = hi - lo;
    char *cur = malloc(old ? old : 1);
    uint8_t *cur_attr = malloc(old ? old : 1);
    if (!cur || !cur_attr) {
        free(cur);
        free(cur_attr);
        return false;
    }
    text_read(t, lo, old, cur);
    text_attr_get(t, lo, old, cur_attr);
    size_t p = 0;
    while (p < old && p < len && cur[p] == bytes[p] && cur_attr[p] == attr[p]) p++;
    size_t q = 0;
    while (q < old - p && q < len - p && cur[old - 1 - q] == bytes[len - 1 - q] &&
           cur_attr[old - 1 - q] == attr[len - 1 - q])
        q++;
    free(cur);
    free(cur_attr);
    size_t del = old - p - q, ins = len - p - q;
    if (del == 0 && ins == 0) return true;
    if (del > 0 && text_delete(t, lo + p, del) != TEXT_OK) return false;
    if (ins > 0 && text_insert_attr(t, lo + p, bytes + p, ins, attr + p) != TEXT_OK) return false;
    if (s->edit_fn) s->edit_fn(s->edit_user, t, lo + p, del, ins);
    return true;
}

bool session_is_blank(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Moves the edges of a span so the text on both sides tokenizes as it would whole: the blank
 * before a word starting the span joins the span (tokens carry their leading blank), blanks
 * ending the span before a word go to the right side; an insertion point after a blank moves
 * before it. */
void span_snap(const text *t, size_t *lo, size_t *hi)
{
    if (*lo == *hi) {
        if (*lo > 1 && text_byte_at(t, *lo - 1) == ' ' && !session_is_blank(text_byte_at(t, *lo - 2)))
            *lo = *hi = *lo - 1;
        return;
    }
    size_t h = *hi;
    while (h > *lo + 1 && text_byte_at(t, h - 1) == ' ') h--;
    if (h < *hi && *hi < text_size(t) && !session_is_blank(text_byte_at(t, *hi))) *hi = h;
    if (*lo > 0 && text_byte_at(t, *lo - 1) == ' ' && !session_is_blank(text_byte_at(t, *lo))) (*lo)--;
}

model_session *model_session_new(const config *cfg)
{
    model_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cfg = cfg;
    s->score.last = SIZE_MAX;
    return s;
}

void model_session_set_edit_fn(model_session *s, model_edit_fn fn, void *user)
{
    s->edit_fn = fn;
    s->edit_user = user;
}

void session_job_clear(model_session *s)
{
    s->job_id = 0;
    s->live.on = false;
    s->live.hidden = false;
    memset(&s->live.span, 0, sizeof s->live.span);
    free(s->live.orig);
    free(s->live.orig_attr);
    s->live.orig = NULL;
    s->live.orig_attr = NULL;
    s->live.orig_len = 0;
    s->live.shown_len = 0;
    model_window_release(&s->win);
    s->cont.gen_n = 0;
    s->cont.more_blocks = 0;
    s->n_done = s->n_target = 0;
    s->seconds = 0;
    s->infill.again = false;
    s->live.join = false;
    s->score.t = NULL;
    model_window_release(&s->score.win);
    free(s->score.bytes);
    s->score.bytes = NULL;
    s->score.len = 0;
}

void model_session_unload(model_session *s)
{
    model_worker_free(s->worker);
    s->worker = NULL;
    live_end(s);
    session_job_clear(s);
    bd3_model_free(s->model);
    s->model = NULL;
}

void model_session_free(model_session *s)
{
    if (!s) return;
    model_session_unload(s);
    infill_samples_clear(s);
    fill_forget(s);
    free(s->live.shown);
    free(s->live.shown_attr);
    free(s->cont.gen);
    free(s->cont.gen_conf);
    free(s->revise.chg);
    free(s);
}

bool model_session_model_path(model_session *s, char *path, size_t size, bd3_compute *compute)
{
    *compute = BD3_COMPUTE_AUTO;
    if (s->cfg && bd3_compute_parse(s->cfg->compute, compute) != 0) *compute = BD3_COMPUTE_AUTO;
    if (s->cfg && s->cfg->model[0]) {
        snprintf(path, size, "%s", s->cfg->model);
    } else if (bd3_default_model_path(path, size) != BD3_OK) {
        session_msg(s, MODEL_MSG_ERROR,
                    "model: no model file (looked for %s); set the model option or $BD3_MODEL", path);
        return false;
    }
    return true;
}

void model_session_set_model(model_session *s, bd3_model *m)
{
    if (s->model) {
        bd3_model_free(m); /* one is there already */
        return;
    }
    s->model = m;
}

int model_session_load(model_session *s)
{
    if (s->model && s->worker) return 0;
    char path[CONFIG_MAX_PATH];
    bd3_compute compute;
    if (!s->model && !model_session_model_path(s, path, sizeof path, &compute)) return -1;
    if (!s->model) {
        char err[256] = "";
        bd3_status st = bd3_model_load_compute(path, compute, &s->model, err, sizeof err);
        if (st != BD3_OK) {
            session_msg(s, MODEL_MSG_ERROR, "model: %s", err[0] ? err : bd3_status_str(st));
            return -1;
        }
    }
    bd3_status st = model_worker_new(s->model, s->cfg ? s->cfg->threads : 0, &s->worker);
    if (st != BD3_OK) {
        session_msg(s, MODEL_MSG_ERROR, "model: cannot start: %s", bd3_status_str(st));
        return -1;
    }
    if (!bd3_model_has_global(s->model))
        session_msg(s, MODEL_MSG_ERROR,
                    "model %s: not trained for global mode; infill and revise see only "
                    "the text before a span (and its own block), not the text after it",
                    bd3_model_name(s->model));
    return 0;
}

const bd3_model *model_session_model(const model_session *s) { return s->model; }

const char *model_session_message(const model_session *s) { return s->msg; }

model_msg_kind model_session_take_message(model_session *s, char *buf, size_t size)
{
    if (size > 0) snprintf(buf, size, "%s", s->msg);
    s->msg[0] = '\0';
    return s->msg_kind;
}

void session_params(model_session *s, bd3_sampler_params *p)
{
    /* the defaults bd3 shares (the model's own where it has them); options the person set win */
    bd3_defaults d;
    bd3_model_defaults(s->model, &d);
    *p = d.sampler;
    const config *c = s->cfg;
    s->n_runs++;
    bd3_sampler_kind k;
    if (c && config_given(c, "sampler") && bd3_sampler_kind_parse(c->sampler, &k) == 0) p->kind = k;
    if (c && config_given(c, "steps")) p->steps = c->steps;
    if (c && config_given(c, "threshold")) p->threshold = c->threshold;
    if (c && config_given(c, "temperature") && c->temperature > 0) p->temperature = c->temperature;
    if (c && config_given(c, "top-p") && c->top_p > 0 && c->top_p <= 1) p->top_p = c->top_p;
    if (c && config_given(c, "top-k")) p->top_k = c->top_k;
    if (c && config_given(c, "refresh")) p->refresh = c->refresh;
    /* seed 0: a fresh seed every run; a set seed N gives N, N+1, ... for the runs of a session */
    p->seed = c && c->seed ? c->seed + s->n_runs - 1 : bd3_rng_fresh_seed();
}

double session_revise_fraction(const model_session *s)
{
    bd3_defaults d;
    bd3_model_defaults(s->model, &d);
    return s->cfg && config_given(s->cfg, "revise-fraction") ? s->cfg->revise_fraction : d.revise_fraction;
}

/* Cancels the running job (worker side) and forgets it; a live job leaves the original text. */
void session_stop(model_session *s)
{
    if (!s->job_id) return;
    if (s->worker) model_worker_cancel(s->worker);
    live_end(s);
    session_job_clear(s);
}

uint64_t session_submit(model_session *s, const model_job *j)
{
    uint64_t id = model_worker_submit(s->worker, j);
    if (!id) session_msg(s, MODEL_MSG_ERROR, "model: the request does not fit the model");
    return id;
}

/* Loads the model if needed; a background scoring job gives way to the command. */
int session_ready(model_session *s)
{
    if (model_session_load(s) != 0) return -1;
    if (s->job_id && s->kind == MODEL_JOB_SCORE) session_stop(s);
    return 0;
}

bool model_session_cancel(model_session *s, text *t)
{
    if (s->inspect.n > 0) {
        s->inspect.n = 0;
        return true;
    }
    if (!s->job_id || s->kind == MODEL_JOB_SCORE || (s->live.span.t && s->live.span.t != t && t))
        return false;
    session_stop(s);
    session_msg(s, MODEL_MSG_INFO, "model: cancelled");
    return true;
}

void model_session_forget(model_session *s, const text *t)
{
    if (s->job_id && (s->live.span.t == t || s->score.t == t)) {
        if (s->worker) model_worker_cancel(s->worker);
        s->live.on = false; /* the text goes away: no group to close */
        session_job_clear(s);
    }
    if (s->infill.last.t == t) {
        infill_samples_clear(s);
        fill_forget(s);
        s->infill.fill = false;
    }
    if (s->infill.n_marks > 0 && s->infill.marks[0].t == t) fill_marks_clear(s);
    if (s->revise.t == t) s->revise.t = NULL;
    if (s->inspect.t == t) {
        s->inspect.t = NULL;
        s->inspect.n = 0;
    }
    if (s->score.edit_t == t) s->score.edit_t = NULL;
    if (s->cont.t == t) s->cont.t = NULL;
    if (s->cont.run_t == t) s->cont.run_t = NULL;
}

/* What each job kind does with its events. */
static const session_job_ops job_ops[] = {
    [MODEL_JOB_INFILL] = {"infill", true, live_window_progress, infill_on_done},
    [MODEL_JOB_CONTINUE] = {"continue", true, continue_on_progress, continue_on_done},
    [MODEL_JOB_SCORE] = {"scoring", false, NULL, score_on_done},
    [MODEL_JOB_REVISE] = {"revise", true, live_window_progress, revise_on_done},
    [MODEL_JOB_INSPECT] = {"inspect", false, NULL, inspect_on_done},
    [MODEL_JOB_INFILL_FIT] = {"fit", true, infill_fit_on_progress, infill_fit_on_done},
};

static void on_progress(model_session *s, const model_event *e)
{
    if (e->job_kind != s->kind) return; /* the scoring pass before a revise */
    s->n_done = e->n_done;
    s->n_target = e->n_target > 0 ? e->n_target : s->n_target;
    s->seconds = e->seconds;
    const session_job_ops *ops = &job_ops[s->kind];
    if (ops->on_progress && !ops->on_progress(s, e)) {
        session_stop(s);
        session_msg(s, MODEL_MSG_ERROR, "model: the text under the job was edited; stopped");
    }
}

static void on_done(model_session *s, const model_event *e)
{
    if (e->status != BD3_OK) {
        if (s->kind == MODEL_JOB_SCORE) {
            session_job_clear(s);
            return;
        }
        session_msg(s, MODEL_MSG_ERROR, "model: %s", bd3_status_str(e->status));
        session_stop(s);
        return;
    }
    s->seconds = e->seconds;
    job_ops[s->kind].on_done(s, e);
}

int model_session_fd(const model_session *s) { return s->worker ? model_worker_fd(s->worker) : -1; }

bool model_session_process(model_session *s)
{
    if (!s->worker) return false;
    bool changed = model_session_show(s);
    model_event *e;
    while ((e = model_worker_poll(s->worker)) != NULL) {
        if (e->job_id == s->job_id) {
            if (e->kind == MODEL_EVENT_PROGRESS)
                on_progress(s, e);
            else
                on_done(s, e);
            changed = true;
        }
        model_event_free(e);
    }
    return changed;
}

bool model_session_busy(const model_session *s) { return s->job_id != 0; }

void model_session_status(const model_session *s, char *buf, size_t size)
{
    if (size == 0) return;
    buf[0] = '\0';
    const session_infill *in = &s->infill;
    if (!s->job_id) {
        /* the length infill-fit kept, while its result stands as written */
        if (in->fit_len > 0 && in->last.t && text_revision(in->last.t) == in->last_rev &&
            in->cur_sample == in->n_samples - 1)
            snprintf(buf, size, "fit %d tok %.2f nat/B", in->fit_len, in->fit_npb);
        return;
    }
    const session_job_ops *ops = &job_ops[s->kind];
    const char *name = s->kind == MODEL_JOB_INFILL && in->fill ? "fill" : ops->name;
    double rate = s->seconds > 0 ? s->n_done / s->seconds : 0;
    if (!ops->shows_progress)
        snprintf(buf, size, "%s", name);
    else if (s->kind == MODEL_JOB_INFILL_FIT)
        snprintf(buf, size, "fit %d..%d %d/%d %.0f tok/s", in->fit_lo, in->fit_hi, s->n_done, s->n_target,
                 rate);
    else
        snprintf(buf, size, "%s %d/%d %.0f tok/s", name, s->n_done, s->n_target, rate);
}
