/* model-session.c: the model inside the editor: turns commands into worker jobs over token
 * windows, writes tokens into the text as they are unmasked, keeps results anchored to marks.
 * Depends on text.h, config.h, model-worker.h, model-window.h and model/bd3.h: no curses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model-session.h"
#include "model-window.h"

#define SESSION_SAMPLES_MAX 16   /* infill samples kept for cycling */
#define SESSION_REVISE_BYTES 1024 /* bytes around the cursor a revise without selection covers */
#define SESSION_ALTS 8           /* alternatives an inspect asks for */
#define SESSION_EDIT_BYTES 256   /* unscored runs shorter than this are scored as an edit */
#define SESSION_EDIT_WINDOW 128  /* tokens of the window that scores an edit */
#define SESSION_EDIT_AROUND 8    /* tokens on each side of an edit scored again (their context changed) */
#define SESSION_AHEAD_BYTES 8192 /* bytes below and above the visible text scored after it */

typedef struct session_sample {
    char *bytes;    /* the span's text [len] */
    uint8_t *attr;  /* its confidence attributes [len] */
    size_t len;     /* bytes */
} session_sample;

/* A span of a text between two anchors: the byte before it (none when it starts the text) and
 * the byte after it (or the end of the text). */
typedef struct session_span {
    text *t;            /* the text, NULL when unused */
    bool at_start;      /* the span starts at byte 0 */
    text_mark before;   /* mark on the byte before the span */
    text_mark after;    /* mark on the byte after the span, or the end mark */
} session_span;

struct model_session {
    const config *cfg;          /* options (not owned) */
    bd3_model *model;           /* loaded model, or NULL */
    model_worker *worker;       /* worker thread, or NULL */
    char msg[MODEL_MSG_MAX];    /* message for the message line */
    model_edit_fn edit_fn;      /* told about every replacement */
    void *edit_user;            /* its argument */
    bool heatmap;               /* heatmap shown */
    uint64_t n_runs;            /* jobs started (varies the seed when the seed option is 0) */

    /* the running job */
    uint64_t job_id;            /* worker job id, 0 when none */
    model_job_kind kind;        /* its operation */
    bool live;                  /* it writes into span as it goes */
    bool hidden;                /* live: the span holds orig for now (the person's turn) */
    size_t live_base;           /* live: history position where the shown text starts */
    size_t live_cur;            /* live: history position after the job's last write */
    uint64_t live_rev;          /* live: text revision after the job's last write */
    session_span span;          /* where it writes (live jobs) */
    char *orig;                 /* span text before the job [orig_len] */
    uint8_t *orig_attr;         /* its attributes [orig_len] */
    size_t orig_len;            /* bytes */
    char *shown;                /* what the job last wrote into the span [shown_len] */
    uint8_t *shown_attr;        /* its attributes [shown_len] */
    size_t shown_len, shown_cap; /* bytes used and allocated in shown and shown_attr */
    model_window win;           /* the job's window (ids, offsets, target) */
    int32_t *gen;               /* continue: tokens so far (mask where still masked) [gen_cap] */
    float *gen_conf;            /* continue: their confidence [gen_cap] */
    int gen_n, gen_cap;         /* entries used and allocated */
    int more_blocks;            /* continue: blocks asked for while it ran */
    int block_len;              /* continue: block length of the job */
    const text *cont_t;         /* text of the last continuation */
    text_mark cont_mark;        /* mark on the first byte of its prompt window */
    int n_done, n_target;       /* progress: tokens written of tokens wanted */
    double seconds;             /* progress: seconds since the job started */
    int target_len;             /* infill: target tokens */
    bool again;                 /* infill: the job draws another sample of the last span */
    int pending_delta;          /* infill: grow/shrink pressed before the next infill */
    /* score job (not live) */
    text *score_t;              /* text scored */
    text_mark score_mark;       /* mark on the first byte of the scored window */
    char *score_bytes;          /* the window's text at submit [score_len] */
    size_t score_len;           /* bytes */
    int score_over_lo, score_over_hi; /* window tokens whose old scores are replaced [lo, hi) */
    size_t score_elo, score_ehi; /* byte range of the edits an edit scoring is for */
    size_t score_last;          /* start of the last scoring window (no progress guard) */
    uint64_t score_last_rev;    /* text revision of that window */
    /* person edits */
    const text *edit_t;         /* text last edited */
    int64_t edit_ms;            /* when */
    bool dirty;                 /* edits of edit_t wait to be scored again around them */
    size_t dirty_lo, dirty_hi;  /* byte range of those edits (positions when they were made) */

    /* the last infill result, for "again" and cycling */
    session_span last;          /* its span (last.t NULL: none) */
    uint64_t last_rev;          /* text revision right after it was written */
    int last_len;               /* target tokens */
    session_sample samples[SESSION_SAMPLES_MAX]; /* samples drawn, oldest first */
    int n_samples, cur_sample;  /* count and the one shown */
    bool result_new;            /* an infill result not yet taken by model_session_take_result */
    bool result_select;         /* the last infill started from a selection (its result is selected) */

    /* changed tokens of the last revise, highlighted until the next edit */
    const text *chg_t;          /* its text */
    uint64_t chg_rev;           /* text revision right after it was written */
    size_t *chg;                /* [2 * n_chg] byte ranges lo, hi */
    int n_chg;                  /* ranges */

    /* alternatives of the last inspect */
    const text *alt_t;          /* its text */
    uint64_t alt_rev;           /* text revision when it was asked */
    size_t alt_lo, alt_hi;      /* byte range of the inspected token */
    int n_alt;                  /* alternatives */
    int32_t alt_ids[MODEL_ALT_MAX];  /* their ids */
    double alt_probs[MODEL_ALT_MAX]; /* their probabilities */
};

/* ---- small helpers ---------------------------------------------------------------------- */

static void session_msg(model_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void session_msg(model_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
}

static void span_set(session_span *sp, text *t, size_t lo, size_t hi)
{
    sp->t = t;
    sp->at_start = lo == 0;
    sp->before = lo > 0 ? text_mark_set(t, lo - 1) : TEXT_MARK_NONE;
    sp->after = text_mark_set(t, hi);
}

/* Current byte range of a span; false when an anchor was deleted. */
static bool span_get(const session_span *sp, size_t *lo, size_t *hi)
{
    if (!sp->t)
        return false;
    size_t b = sp->at_start ? 0 : text_mark_get(sp->t, sp->before);
    size_t a = text_mark_get(sp->t, sp->after);
    if (b == TEXT_POS_NONE || a == TEXT_POS_NONE)
        return false;
    *lo = sp->at_start ? 0 : b + 1;
    *hi = a;
    return *lo <= *hi;
}

/* true when t holds exactly len bytes equal to want in [lo, hi). */
static bool span_holds(const text *t, size_t lo, size_t hi, const char *want, size_t len)
{
    if (hi - lo != len)
        return false;
    char buf[4096];
    for (size_t off = 0; off < len;) {
        size_t n = len - off < sizeof buf ? len - off : sizeof buf;
        if (text_read(t, lo + off, n, buf) != n || memcmp(buf, want + off, n) != 0)
            return false;
        off += n;
    }
    return true;
}

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

/* Replaces [lo, hi) of t with bytes/attr, editing only the part that differs. */
static bool session_replace(model_session *s, text *t, size_t lo, size_t hi, const char *bytes,
                            const uint8_t *attr, size_t len)
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
    while (p < old && p < len && cur[p] == bytes[p] && cur_attr[p] == attr[p])
        p++;
    size_t q = 0;
    while (q < old - p && q < len - p && cur[old - 1 - q] == bytes[len - 1 - q] &&
           cur_attr[old - 1 - q] == attr[len - 1 - q])
        q++;
    free(cur);
    free(cur_attr);
    size_t del = old - p - q, ins = len - p - q;
    if (del == 0 && ins == 0)
        return true;
    if (del > 0 && text_delete(t, lo + p, del) != TEXT_OK)
        return false;
    if (ins > 0 && text_insert_attr(t, lo + p, bytes + p, ins, attr + p) != TEXT_OK)
        return false;
    if (s->edit_fn)
        s->edit_fn(s->edit_user, t, lo + p, del, ins);
    return true;
}

static bool is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Moves the edges of a span so the text on both sides tokenizes as it would whole: the blank
 * before a word starting the span joins the span (tokens carry their leading blank), blanks
 * ending the span before a word go to the right side; an insertion point after a blank moves
 * before it. */
static void span_snap(const text *t, size_t *lo, size_t *hi)
{
    if (*lo == *hi) {
        if (*lo > 1 && text_byte_at(t, *lo - 1) == ' ' && !is_blank(text_byte_at(t, *lo - 2)))
            *lo = *hi = *lo - 1;
        return;
    }
    size_t h = *hi;
    while (h > *lo + 1 && text_byte_at(t, h - 1) == ' ')
        h--;
    if (h < *hi && *hi < text_size(t) && !is_blank(text_byte_at(t, *hi)))
        *hi = h;
    if (*lo > 0 && text_byte_at(t, *lo - 1) == ' ' && !is_blank(text_byte_at(t, *lo)))
        (*lo)--;
}

static void live_end(model_session *s);

/* ---- model and worker ------------------------------------------------------------------- */

model_session *model_session_new(const config *cfg)
{
    model_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->score_last = SIZE_MAX;
    return s;
}

void model_session_set_edit_fn(model_session *s, model_edit_fn fn, void *user)
{
    s->edit_fn = fn;
    s->edit_user = user;
}

static void session_job_clear(model_session *s)
{
    s->job_id = 0;
    s->live = false;
    s->hidden = false;
    memset(&s->span, 0, sizeof s->span);
    free(s->orig);
    free(s->orig_attr);
    s->orig = NULL;
    s->orig_attr = NULL;
    s->orig_len = 0;
    s->shown_len = 0;
    model_window_release(&s->win);
    s->gen_n = 0;
    s->more_blocks = 0;
    s->n_done = s->n_target = 0;
    s->seconds = 0;
    s->again = false;
    s->score_t = NULL;
    free(s->score_bytes);
    s->score_bytes = NULL;
    s->score_len = 0;
}

static void session_samples_clear(model_session *s)
{
    for (int i = 0; i < s->n_samples; i++)
        sample_free(&s->samples[i]);
    s->n_samples = 0;
    s->cur_sample = 0;
    s->result_new = false;
    memset(&s->last, 0, sizeof s->last);
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
    if (!s)
        return;
    model_session_unload(s);
    session_samples_clear(s);
    free(s->shown);
    free(s->shown_attr);
    free(s->gen);
    free(s->gen_conf);
    free(s->chg);
    free(s);
}

int model_session_load(model_session *s)
{
    if (s->model && s->worker)
        return 0;
    char path[CONFIG_MAX_PATH];
    if (s->cfg && s->cfg->model[0]) {
        snprintf(path, sizeof path, "%s", s->cfg->model);
    } else if (bd3_default_model_path(path, sizeof path) != BD3_OK) {
        session_msg(s, "model: no model file (looked for %s); set the model option or $BD3_MODEL", path);
        return -1;
    }
    if (!s->model) {
        char err[256] = "";
        bd3_status st = bd3_model_load(path, &s->model, err, sizeof err);
        if (st != BD3_OK) {
            session_msg(s, "model: %s", err[0] ? err : bd3_status_str(st));
            return -1;
        }
    }
    bd3_status st = model_worker_new(s->model, s->cfg ? s->cfg->threads : 0, &s->worker);
    if (st != BD3_OK) {
        session_msg(s, "model: cannot start: %s", bd3_status_str(st));
        return -1;
    }
    if (!bd3_model_has_global(s->model))
        session_msg(s, "model %s: not trained for global mode; infill and revise will be weak",
                    bd3_model_name(s->model));
    return 0;
}

const bd3_model *model_session_model(const model_session *s)
{
    return s->model;
}

const char *model_session_message(const model_session *s)
{
    return s->msg;
}

void model_session_take_message(model_session *s, char *buf, size_t size)
{
    if (size > 0)
        snprintf(buf, size, "%s", s->msg);
    s->msg[0] = '\0';
}

static void session_params(model_session *s, bd3_sampler_params *p)
{
    bd3_sampler_params_init(p);
    const config *c = s->cfg;
    s->n_runs++;
    if (!c) {
        p->seed = (uint64_t)time(NULL) * 1000003u + s->n_runs;
        return;
    }
    bd3_sampler_kind k;
    if (bd3_sampler_kind_parse(c->sampler, &k) == 0)
        p->kind = k;
    p->steps = c->steps;
    p->threshold = c->threshold;
    p->temperature = c->temperature > 0 ? c->temperature : 1.0;
    p->top_p = c->top_p > 0 && c->top_p <= 1 ? c->top_p : 1.0;
    p->top_k = c->top_k;
    p->refresh = c->refresh;
    p->seed = c->seed ? c->seed + s->n_runs - 1 : (uint64_t)time(NULL) * 1000003u + s->n_runs;
}

/* ---- live jobs: a span of the text rewritten as the job goes ---------------------------- */

static int shown_reserve(model_session *s, size_t need)
{
    if (need <= s->shown_cap)
        return 0;
    size_t c = s->shown_cap ? s->shown_cap : 256;
    while (c < need)
        c *= 2;
    char *b = realloc(s->shown, c);
    if (!b)
        return -1;
    s->shown = b;
    uint8_t *a = realloc(s->shown_attr, c);
    if (!a)
        return -1;
    s->shown_attr = a;
    s->shown_cap = c;
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
    const text *t = s->span.t;
    return text_history_pos(t) == s->live_cur && text_revision(t) == s->live_rev;
}

static void live_note_write(model_session *s)
{
    s->live_cur = text_history_pos(s->span.t);
    s->live_rev = text_revision(s->span.t);
}

/* Takes the job's text out of the text: afterwards the span holds the original text and the
 * history is the person's alone. false when the text was edited without hiding it first (the
 * job's changes are then part of the history). */
static bool live_hide(model_session *s)
{
    if (!s->live || s->hidden)
        return true;
    text *t = s->span.t;
    if (!live_ours(s))
        return false;
    size_t lo = 0, hi = 0;
    bool have = span_get(&s->span, &lo, &hi);
    if (!text_rollback(t, s->live_base))
        return false;
    s->hidden = true;
    if (have && s->edit_fn)
        s->edit_fn(s->edit_user, t, lo, hi - lo, s->orig_len);
    return true;
}

/* Shows the job's text again after live_hide. false when the person edited the span or its
 * anchors meanwhile (the job must stop). */
static bool live_show(model_session *s)
{
    if (!s->live || !s->hidden)
        return true;
    text *t = s->span.t;
    size_t lo, hi;
    if (!span_get(&s->span, &lo, &hi) || !span_holds(t, lo, hi, s->orig, s->orig_len))
        return false;
    s->live_base = text_history_pos(t);
    s->hidden = false;
    bool ok = session_replace(s, t, lo, hi, s->shown, s->shown_attr, s->shown_len);
    live_note_write(s);
    return ok;
}

/* Writes bytes into the live span if it still holds what the job wrote last (while hidden, they
 * are kept for the next show). false: the person edited it (or an anchor) meanwhile. */
static bool live_write(model_session *s, const char *bytes, const uint8_t *attr, size_t len)
{
    size_t lo, hi;
    text *t = s->span.t;
    if (!s->hidden) {
        if (!live_ours(s) || !span_get(&s->span, &lo, &hi) || !span_holds(t, lo, hi, s->shown, s->shown_len))
            return false;
        bool ok = session_replace(s, t, lo, hi, bytes, attr, len);
        live_note_write(s);
        if (!ok)
            return false;
    }
    if (shown_reserve(s, len + 1) != 0)
        return false;
    memcpy(s->shown, bytes, len);
    memcpy(s->shown_attr, attr, len);
    s->shown_len = len;
    return true;
}

/* Starts a live job over [lo, hi) of t: remembers the original text. */
static int live_begin(model_session *s, text *t, size_t lo, size_t hi)
{
    s->orig_len = hi - lo;
    s->orig = malloc(s->orig_len ? s->orig_len : 1);
    s->orig_attr = malloc(s->orig_len ? s->orig_len : 1);
    if (!s->orig || !s->orig_attr || shown_reserve(s, s->orig_len + 1) != 0)
        return -1;
    text_read(t, lo, s->orig_len, s->orig);
    text_attr_get(t, lo, s->orig_len, s->orig_attr);
    memcpy(s->shown, s->orig, s->orig_len);
    memcpy(s->shown_attr, s->orig_attr, s->orig_len);
    s->shown_len = s->orig_len;
    span_set(&s->span, t, lo, hi);
    text_snapshot(t);
    s->live = true;
    s->hidden = false;
    s->live_base = text_history_pos(t);
    live_note_write(s);
    return 0;
}

/* The text was edited without hiding the job's text first: the result is dropped, but no mask
 * placeholder it showed may stay in the text. */
static void live_strip_masks(model_session *s)
{
    size_t lo, hi;
    text *t = s->span.t;
    if (!s->live || !span_get(&s->span, &lo, &hi))
        return;
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
static void live_end(model_session *s)
{
    if (!s->live)
        return;
    if (!live_hide(s))
        live_strip_masks(s);
    s->live = false;
    s->hidden = false;
}

/* Ends a live job with its result: the original text comes back, then bytes replace it as one
 * undo step. false (original text kept) when the span was edited meanwhile. */
static bool live_commit(model_session *s, const char *bytes, const uint8_t *attr, size_t len)
{
    if (!s->live)
        return false;
    text *t = s->span.t;
    if (!live_hide(s)) {
        live_strip_masks(s);
        s->live = false;
        return false;
    }
    s->live = false;
    s->hidden = false;
    size_t lo, hi;
    if (!span_get(&s->span, &lo, &hi) || !span_holds(t, lo, hi, s->orig, s->orig_len))
        return false;
    text_group_begin(t);
    bool ok = session_replace(s, t, lo, hi, bytes, attr, len);
    text_group_end(t);
    return ok;
}

/* Renders tokens (masks as placeholders) and ends the live job with them as its result. */
static bool live_commit_tokens(model_session *s, const int32_t *ids, const float *conf, int n)
{
    char *buf = NULL;
    uint8_t *attr = NULL;
    size_t len = 0, cap = 0;
    bd3_status st = model_window_render(s->model, ids, conf, n, MODEL_MASK_TEXT, &buf, &attr, &len, &cap, NULL);
    bool ok = st == BD3_OK ? live_commit(s, buf ? buf : "", attr ? attr : (const uint8_t *)"", len)
                           : (live_end(s), false);
    free(buf);
    free(attr);
    return ok;
}

/* Renders window tokens [a, b) (masks as placeholders) and writes them into the span. */
static bool live_write_tokens(model_session *s, const int32_t *ids, const float *conf, int n)
{
    char *buf = NULL;
    uint8_t *attr = NULL;
    size_t len = 0, cap = 0;
    bd3_status st = model_window_render(s->model, ids, conf, n, MODEL_MASK_TEXT, &buf, &attr, &len, &cap, NULL);
    bool ok = st == BD3_OK && live_write(s, buf ? buf : "", attr ? attr : (const uint8_t *)"", len);
    free(buf);
    free(attr);
    return ok;
}

/* Cancels the running job (worker side) and forgets it; a live job leaves the original text. */
static void session_stop(model_session *s)
{
    if (!s->job_id)
        return;
    if (s->worker)
        model_worker_cancel(s->worker);
    live_end(s);
    session_job_clear(s);
}

static uint64_t session_submit(model_session *s, const model_job *j)
{
    uint64_t id = model_worker_submit(s->worker, j);
    if (!id)
        session_msg(s, "model: the request does not fit the model");
    return id;
}

/* Loads the model if needed; a background scoring job gives way to the command. */
static int session_ready(model_session *s)
{
    if (model_session_load(s) != 0)
        return -1;
    if (s->job_id && s->kind == MODEL_JOB_SCORE)
        session_stop(s);
    return 0;
}

/* ---- infill ----------------------------------------------------------------------------- */

static int infill_submit(model_session *s, text *t, size_t lo, size_t hi, int n_target)
{
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    bd3_status st = model_window_build(&s->win, s->model, t, lo, hi, n_target, hp->n_ctx, -1, -1);
    if (st != BD3_OK) {
        session_msg(s, "model: cannot build the window: %s", bd3_status_str(st));
        return -1;
    }
    model_job j = {0};
    j.kind = MODEL_JOB_INFILL;
    j.ids = s->win.ids;
    j.conf = s->win.conf;
    j.n = s->win.n;
    session_params(s, &j.sp);
    s->target_len = n_target;
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
    return s->last.t == t && s->n_samples > 0 && text_revision(t) == s->last_rev &&
           span_get(&s->last, &lo, &hi);
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
    if (s->job_id && s->kind == MODEL_JOB_INFILL && s->span.t == t) {
        /* pressed again while it runs: draw another sample of the same span */
        session_span keep = s->span;
        int len = s->target_len;
        session_stop(s);
        if (!span_get(&keep, &lo, &hi))
            return -1;
        n_target = len;
        again = true;
    } else if (last_intact(s, t) && span_get(&s->last, &lo, &hi) && sel_hi <= text_size(t) &&
               (sel_lo == sel_hi ? at >= lo && at <= hi
                                 : (span_snap(t, &sel_lo, &sel_hi), sel_lo == lo && sel_hi == hi))) {
        n_target = s->last_len; /* the same span again: another sample */
        again = true;
    } else {
        session_stop(s);
        s->result_select = sel_lo < sel_hi;
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
                session_msg(s, "model: the selection is longer than the model's window (%d tokens)", hp->n_ctx);
                return -1;
            }
            n_target = tw.hi - tw.lo;
            model_window_release(&tw);
            if (s->cfg && s->cfg->infill_length > 0 && n_target == 0)
                n_target = s->cfg->infill_length;
        }
        session_samples_clear(s);
    }
    if (!again) {
        if (count > 0)
            n_target = count; /* a typed token count */
        n_target += s->pending_delta;
        s->pending_delta = 0;
    }
    if (n_target < 1)
        n_target = 1;
    if (n_target > hp->n_ctx)
        n_target = hp->n_ctx;
    if (!again)
        session_samples_clear(s);
    if (live_begin(s, t, lo, hi) != 0 || infill_submit(s, t, lo, hi, n_target) != 0) {
        live_end(s);
        session_job_clear(s);
        return -1;
    }
    s->again = again;
    return 0;
}

int model_session_resize(model_session *s, text *t, int delta)
{
    if (s->job_id && s->kind == MODEL_JOB_INFILL && s->span.t == t) {
        int len = s->target_len + delta;
        const bd3_hparams *hp = bd3_model_hparams(s->model);
        if (len < 1 || len > hp->n_ctx)
            return -1;
        size_t lo, hi;
        if (!span_get(&s->span, &lo, &hi))
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
        s->last_len += delta;
        if (s->last_len < 1)
            s->last_len = 1;
        size_t lo, hi;
        span_get(&s->last, &lo, &hi);
        return model_session_infill(s, t, lo, hi, hi, 0);
    }
    s->pending_delta += delta;
    session_msg(s, "model: the next infill writes %+d tokens more than its selection", s->pending_delta);
    return 0;
}

int model_session_cycle(model_session *s, text *t, int dir)
{
    if (!last_intact(s, t) || s->n_samples < 2) {
        session_msg(s, "model: no other sample of this infill");
        return -1;
    }
    size_t lo, hi;
    span_get(&s->last, &lo, &hi);
    int k = ((s->cur_sample + dir) % s->n_samples + s->n_samples) % s->n_samples;
    session_sample *x = &s->samples[k];
    text_group_begin(t);
    bool ok = session_replace(s, t, lo, hi, x->bytes, x->attr, x->len);
    text_group_end(t);
    if (!ok)
        return -1;
    s->cur_sample = k;
    s->last_rev = text_revision(t);
    session_msg(s, "model: sample %d of %d", k + 1, s->n_samples);
    return 0;
}

/* ---- continue --------------------------------------------------------------------------- */

static int gen_reserve(model_session *s, int need)
{
    if (need <= s->gen_cap)
        return 0;
    int c = s->gen_cap ? s->gen_cap : 64;
    while (c < need)
        c *= 2;
    int32_t *g = realloc(s->gen, (size_t)c * sizeof *g);
    if (!g)
        return -1;
    s->gen = g;
    float *f = realloc(s->gen_conf, (size_t)c * sizeof *f);
    if (!f)
        return -1;
    s->gen_conf = f;
    s->gen_cap = c;
    return 0;
}

/* Drops the first d tokens of a window (its context; d < w->n and d <= w->lo). */
static void window_drop_front(model_window *w, int d)
{
    memmove(w->ids, w->ids + d, (size_t)(w->n - d) * sizeof *w->ids);
    if (w->conf)
        memmove(w->conf, w->conf + d, (size_t)(w->n - d) * sizeof *w->conf);
    memmove(w->pos, w->pos + d, (size_t)(w->n + 1 - d) * sizeof *w->pos);
    w->n -= d;
    w->lo -= d;
    w->hi -= d;
}

static int continue_start(model_session *s, text *t, size_t cursor, int blocks)
{
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    int B = s->cfg && s->cfg->block_length > 0 ? s->cfg->block_length : bd3_model_default_block(s->model);
    if (B >= hp->n_ctx)
        B = hp->n_ctx / 2 > 0 ? hp->n_ctx / 2 : 1;
    /* The prompt starts where the last continuation's did while it fits, so the engine finds
     * the blocks it read then in its cache and reads only the new ones; a new start leaves room
     * for a quarter of the window to be written before the next one. */
    int cap = hp->n_ctx - B;
    bd3_status st = BD3_E_ARG;
    size_t p0 = s->cont_t == t ? text_mark_get(t, s->cont_mark) : TEXT_POS_NONE;
    if (p0 != TEXT_POS_NONE && p0 < cursor && cursor - p0 <= (size_t)cap * 32)
        st = model_window_build(&s->win, s->model, t, p0, cursor, -1, cap, 0, 0);
    if (st != BD3_OK) {
        model_window_release(&s->win);
        st = model_window_build(&s->win, s->model, t, cursor, cursor, 0, cap - cap / 4 > 0 ? cap - cap / 4 : cap, -1, 0);
        /* a new start: a whole number of blocks, so no block is half prompt, half new text */
        if (st == BD3_OK && s->win.n > B && s->win.n % B != 0)
            window_drop_front(&s->win, s->win.n % B);
    }
    if (st != BD3_OK) {
        session_msg(s, "model: cannot build the window: %s", bd3_status_str(st));
        return -1;
    }
    s->cont_t = t;
    s->cont_mark = text_mark_set(t, s->win.pos[0]);
    if (s->win.n == 0) {
        /* an empty prompt: start from end-of-text when the vocabulary has it */
        if (hp->eos_id < 0) {
            session_msg(s, "model: nothing before the cursor to continue");
            model_window_release(&s->win);
            return -1;
        }
        s->win.ids[0] = hp->eos_id;
        s->win.n = 1;
    }
    if (live_begin(s, t, cursor, cursor) != 0)
        return -1;
    model_job j = {0};
    j.kind = MODEL_JOB_CONTINUE;
    j.ids = s->win.ids;
    j.n = s->win.n;
    j.block_len = B;
    j.max_new = B * (blocks > 0 ? blocks : 1);
    /* blocks are aligned to the prompt's start: the first one ends where the prompt's last
     * partial block does, so the next Ctrl-N starts on a block boundary again */
    if (s->win.n % B != 0 && j.max_new > s->win.n % B)
        j.max_new -= s->win.n % B;
    session_params(s, &j.sp);
    s->block_len = B;
    s->gen_n = 0;
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

int model_session_continue(model_session *s, text *t, size_t cursor, int count)
{
    if (session_ready(s) != 0)
        return -1;
    if (s->job_id && s->kind == MODEL_JOB_CONTINUE && s->span.t == t) {
        s->more_blocks += count > 0 ? count : 1;
        return 0;
    }
    session_stop(s);
    if (cursor > text_size(t))
        return -1;
    return continue_start(s, t, cursor, count);
}

/* ---- revise ----------------------------------------------------------------------------- */

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
    j.fraction = s->cfg ? s->cfg->revise_fraction : 0.3;
    session_params(s, &j.sp);
    s->n_target = (int)((j.hi - j.lo) * j.fraction + 0.999);
    s->n_done = 0;
    s->job_id = session_submit(s, &j);
    return s->job_id ? 0 : -1;
}

int model_session_revise(model_session *s, text *t, size_t sel_lo, size_t sel_hi, size_t cursor)
{
    if (session_ready(s) != 0)
        return -1;
    session_stop(s);
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    size_t size = text_size(t), lo, hi;
    if (sel_lo < sel_hi) {
        lo = sel_lo;
        hi = sel_hi;
        span_snap(t, &lo, &hi);
    } else {
        lo = cursor > SESSION_REVISE_BYTES / 2 ? cursor - SESSION_REVISE_BYTES / 2 : 0;
        hi = size - cursor > SESSION_REVISE_BYTES / 2 ? cursor + SESSION_REVISE_BYTES / 2 : size;
        /* start and end at line boundaries where there are some */
        while (lo > 0 && text_byte_at(t, lo - 1) != '\n' && cursor - lo < SESSION_REVISE_BYTES)
            lo--;
        while (hi < size && text_byte_at(t, hi) != '\n' && hi - cursor < SESSION_REVISE_BYTES)
            hi++;
    }
    if (hi > size || lo >= hi) {
        session_msg(s, "model: nothing to revise");
        return -1;
    }
    int max_target = hp->n_ctx * 3 / 4;
    bd3_status st = model_window_build(&s->win, s->model, t, lo, hi, -1, hp->n_ctx, -1, -1);
    while (st == BD3_OK && s->win.hi - s->win.lo > max_target && hi > lo + 16) {
        /* too long for a window with context: revise the part nearest the cursor */
        model_window_release(&s->win);
        size_t cut = (hi - lo) / 4;
        if (cursor - lo > hi - cursor)
            lo += cut;
        else
            hi -= cut;
        st = model_window_build(&s->win, s->model, t, lo, hi, -1, hp->n_ctx, -1, -1);
    }
    if (st != BD3_OK || s->win.hi <= s->win.lo) {
        model_window_release(&s->win);
        session_msg(s, "model: cannot revise this text: %s", bd3_status_str(st));
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
        if (s->win.conf[i] <= 0.0f)
            unknown = true;
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

/* ---- inspect ---------------------------------------------------------------------------- */


int model_session_inspect(model_session *s, text *t, size_t cursor)
{
    if (session_ready(s) != 0)
        return -1;
    size_t size = text_size(t);
    if (size == 0) {
        session_msg(s, "model: no token here");
        return -1;
    }
    if (cursor >= size)
        cursor = size - 1;
    session_stop(s);
    /* the word around the cursor, with the blank before it (GPT-2 tokens start with it) */
    size_t lo = cursor, hi = cursor + 1;
    if (!is_blank(text_byte_at(t, cursor))) {
        while (lo > 0 && !is_blank(text_byte_at(t, lo - 1)) && cursor - lo < 256)
            lo--;
        while (hi < size && !is_blank(text_byte_at(t, hi)) && hi - cursor < 256)
            hi++;
        if (lo > 0 && text_byte_at(t, lo - 1) == ' ')
            lo--;
    }
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    bd3_status st = model_window_build(&s->win, s->model, t, lo, hi, -1, hp->n_ctx, -1, -1);
    if (st != BD3_OK || s->win.hi <= s->win.lo) {
        model_window_release(&s->win);
        session_msg(s, "model: cannot inspect here");
        return -1;
    }
    int pos = s->win.lo;
    while (pos + 1 < s->win.hi && s->win.pos[pos + 1] <= cursor)
        pos++;
    model_job j = {0};
    j.kind = MODEL_JOB_INSPECT;
    j.ids = s->win.ids;
    j.n = s->win.n;
    j.pos = pos;
    j.n_alt = SESSION_ALTS;
    s->alt_t = t;
    s->alt_rev = text_revision(t);
    s->alt_lo = s->win.pos[pos];
    s->alt_hi = s->win.pos[pos + 1];
    s->n_alt = 0;
    s->kind = MODEL_JOB_INSPECT;
    s->n_target = 1;
    s->span.t = t;
    s->job_id = session_submit(s, &j);
    if (!s->job_id) {
        session_job_clear(s);
        return -1;
    }
    return 0;
}

int model_session_alt_count(const model_session *s)
{
    return s->n_alt;
}

const char *model_session_alt_text(const model_session *s, int i, size_t *len)
{
    *len = 0;
    if (i < 0 || i >= s->n_alt || !s->model)
        return NULL;
    return bd3_token_bytes(s->model, s->alt_ids[i], len);
}

double model_session_alt_prob(const model_session *s, int i)
{
    return i >= 0 && i < s->n_alt ? s->alt_probs[i] : 0.0;
}

void model_session_alternatives_close(model_session *s)
{
    s->n_alt = 0;
}

int model_session_inspect_choose(model_session *s, text *t, int k)
{
    if (s->n_alt > 0 && (k < 0 || k >= s->n_alt)) {
        session_msg(s, "model: no alternative %d; the choices were 1 to %d", k + 1, s->n_alt);
        s->n_alt = 0;
        return -1;
    }
    if (k < 0 || k >= s->n_alt || s->alt_t != t || text_revision(t) != s->alt_rev) {
        s->n_alt = 0;
        session_msg(s, "model: the text changed; inspect again");
        return -1;
    }
    size_t len = 0;
    const char *b = bd3_token_bytes(s->model, s->alt_ids[k], &len);
    if (!b)
        return -1;
    uint8_t *attr = malloc(len ? len : 1);
    if (!attr)
        return -1;
    memset(attr, model_window_conf_encode((float)s->alt_probs[k], true), len);
    text_group_begin(t);
    bool ok = session_replace(s, t, s->alt_lo, s->alt_hi, b, attr, len);
    text_group_end(t);
    free(attr);
    s->n_alt = 0;
    return ok ? 0 : -1;
}

/* ---- cancel and forget ------------------------------------------------------------------ */

bool model_session_cancel(model_session *s, text *t)
{
    if (s->n_alt > 0) {
        s->n_alt = 0;
        return true;
    }
    if (!s->job_id || s->kind == MODEL_JOB_SCORE || (s->span.t && s->span.t != t && t))
        return false;
    session_stop(s);
    session_msg(s, "model: cancelled");
    return true;
}

bool model_session_stop_continue(model_session *s)
{
    if (!s->job_id || s->kind != MODEL_JOB_CONTINUE || !s->live)
        return false;
    model_worker_cancel(s->worker);
    int mask = bd3_model_hparams(s->model)->mask_id;
    int k = 0;
    while (k < s->gen_n && s->gen[k] != mask)
        k++;
    bool ok = live_commit_tokens(s, s->gen, s->gen_conf, k);
    session_job_clear(s);
    session_msg(s, ok ? "model: continuation stopped (%d tokens kept)" : "model: continuation stopped", k);
    return true;
}

void model_session_hide(model_session *s, text *t)
{
    if (!s->job_id || !s->live || s->span.t != t || s->hidden)
        return;
    if (!live_hide(s)) {
        /* edited behind the session's back: the job cannot keep its text apart any more */
        live_end(s);
        if (s->worker)
            model_worker_cancel(s->worker);
        session_job_clear(s);
        session_msg(s, "model: the text under the job was edited; stopped");
    }
}

bool model_session_show(model_session *s)
{
    if (!s->job_id || !s->live || !s->hidden)
        return false;
    if (!live_show(s)) {
        session_stop(s);
        session_msg(s, "model: the text under the job was edited; stopped");
    }
    return true;
}

void model_session_save_begin(model_session *s, text *t)
{
    model_session_hide(s, t);
}

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

void model_session_forget(model_session *s, const text *t)
{
    if (s->job_id && (s->span.t == t || s->score_t == t)) {
        if (s->worker)
            model_worker_cancel(s->worker);
        s->live = false; /* the text goes away: no group to close */
        session_job_clear(s);
    }
    if (s->last.t == t)
        session_samples_clear(s);
    if (s->chg_t == t)
        s->chg_t = NULL;
    if (s->alt_t == t) {
        s->alt_t = NULL;
        s->n_alt = 0;
    }
    if (s->edit_t == t)
        s->edit_t = NULL;
    if (s->cont_t == t)
        s->cont_t = NULL;
}

/* ---- events ----------------------------------------------------------------------------- */

/* Writes the continuation tokens so far (masks as placeholders) into the span. */
static bool continue_show(model_session *s)
{
    return live_write_tokens(s, s->gen, s->gen_conf, s->gen_n);
}

static void on_progress(model_session *s, const model_event *e)
{
    if (e->job_kind != s->kind)
        return; /* the scoring pass before a revise */
    s->n_done = e->n_done;
    s->n_target = e->n_target > 0 ? e->n_target : s->n_target;
    s->seconds = e->seconds;
    bool ok = true;
    if (s->kind == MODEL_JOB_INFILL || s->kind == MODEL_JOB_REVISE) {
        if (e->n == s->win.n && e->offset == 0)
            ok = live_write_tokens(s, e->ids + s->win.lo, e->conf + s->win.lo, s->win.hi - s->win.lo);
    } else if (s->kind == MODEL_JOB_CONTINUE) {
        int n_prompt = s->win.n;
        for (int i = 0; i < e->n; i++) {
            int k = e->offset + i - n_prompt;
            if (k < 0)
                continue;
            if (gen_reserve(s, k + 1) != 0)
                return;
            while (s->gen_n <= k) {
                s->gen[s->gen_n] = bd3_model_hparams(s->model)->mask_id;
                s->gen_conf[s->gen_n++] = 0;
            }
            s->gen[k] = e->ids[i];
            s->gen_conf[k] = e->conf ? e->conf[i] : 0;
        }
        ok = continue_show(s);
    }
    if (!ok) {
        session_stop(s);
        session_msg(s, "model: the text under the job was edited; stopped");
    }
}

static void score_apply(model_session *s, const model_event *e)
{
    text *t = s->score_t;
    size_t p = text_mark_get(t, s->score_mark);
    if (p == TEXT_POS_NONE || e->n != s->win.n || !span_holds(t, p, p + s->score_len, s->score_bytes, s->score_len) ||
        s->score_len == 0)
        return; /* edited meanwhile: scored again after the delay */
    uint8_t *attr = malloc(s->score_len);
    if (!attr)
        return;
    text_attr_get(t, p, s->score_len, attr);
    size_t base = s->win.pos[0];
    size_t size = text_size(t);
    for (int i = 0; i < s->win.n; i++) {
        size_t a = s->win.pos[i] - base, b = s->win.pos[i + 1] - base;
        /* a token cut at the window's edge is scored from a window that starts with it */
        if ((i == 0 && p > 0) || (i == s->win.n - 1 && p + s->score_len < size))
            continue;
        uint8_t q = model_window_conf_encode(e->conf[i], false);
        bool over = i >= s->score_over_lo && i < s->score_over_hi;
        /* the model's bytes keep the confidence recorded when it wrote them */
        for (size_t k = a; k < b; k++)
            if (attr[k] == 0 || (over && !model_window_conf_by_model(attr[k])))
                attr[k] = q;
    }
    text_attr_set(t, p, s->score_len, attr);
    free(attr);
}

/* The tokens a revise left unchanged keep the attributes they had (the person's text stays the
 * person's, with its score; unknown bytes take the score made before the revise); attr and
 * bounds are the rendered target. */
static void revise_keep_attrs(model_session *s, const model_event *e, uint8_t *attr, const size_t *bounds)
{
    for (int i = s->win.lo; i < s->win.hi; i++) {
        if ((e->changed && e->changed[i]) || e->ids[i] != s->win.ids[i])
            continue;
        size_t from = s->win.pos[i] - s->win.byte_lo, len = s->win.pos[i + 1] - s->win.pos[i];
        size_t to = bounds[i - s->win.lo];
        if (len != bounds[i - s->win.lo + 1] - to || from + len > s->orig_len)
            continue; /* not the same bytes: keeps the revise's confidence */
        uint8_t q = model_window_conf_encode(s->win.conf[i], false);
        for (size_t k = 0; k < len; k++)
            attr[to + k] = s->orig_attr[from + k] ? s->orig_attr[from + k] : q;
    }
}

static void on_done(model_session *s, const model_event *e)
{
    text *t = s->span.t;
    if (e->status != BD3_OK) {
        if (s->kind == MODEL_JOB_SCORE) {
            session_job_clear(s);
            return;
        }
        session_msg(s, "model: %s", bd3_status_str(e->status));
        session_stop(s);
        return;
    }
    s->seconds = e->seconds;
    if (s->kind == MODEL_JOB_REVISE && e->job_kind == MODEL_JOB_SCORE) {
        for (int i = 0; i < s->win.n && i < e->n; i++)
            if (s->win.conf[i] <= 0.0f)
                s->win.conf[i] = e->conf[i] > 0.0f ? e->conf[i] : 1e-6f;
        if (revise_submit(s) != 0)
            session_stop(s);
        return;
    }
    switch (s->kind) {
    case MODEL_JOB_INFILL:
    case MODEL_JOB_REVISE: {
        char *buf = NULL;
        uint8_t *attr = NULL;
        size_t len = 0, cap = 0;
        int n = s->win.hi - s->win.lo;
        size_t *bounds = malloc((size_t)(n + 1) * sizeof *bounds);
        bool ok = bounds && e->n == s->win.n &&
                  model_window_render(s->model, e->ids + s->win.lo, e->conf + s->win.lo, n, MODEL_MASK_TEXT,
                                      &buf, &attr, &len, &cap, bounds) == BD3_OK;
        if (ok && s->kind == MODEL_JOB_REVISE)
            revise_keep_attrs(s, e, attr, bounds);
        ok = ok ? live_commit(s, buf ? buf : "", attr ? attr : (const uint8_t *)"", len) : (live_end(s), false);
        size_t lo = 0, hi = 0;
        if (ok)
            span_get(&s->span, &lo, &hi);
        if (!ok) {
            session_msg(s, "model: the text under the job was edited; result dropped");
        } else if (s->kind == MODEL_JOB_INFILL) {
            if (!s->again)
                session_samples_clear(s);
            if (s->n_samples == SESSION_SAMPLES_MAX) {
                sample_free(&s->samples[0]);
                memmove(s->samples, s->samples + 1, sizeof s->samples[0] * (SESSION_SAMPLES_MAX - 1));
                s->n_samples--;
            }
            if (sample_copy(&s->samples[s->n_samples], buf ? buf : "", attr, len) == 0) {
                s->cur_sample = s->n_samples++;
                span_set(&s->last, t, lo, hi);
                s->last_rev = text_revision(t);
                s->last_len = n;
                s->result_new = true;
            }
            session_msg(s, "model: infilled %d token%s (sample %d; press again for another)%s", n,
                        n == 1 ? "" : "s",
                        s->n_samples, bd3_model_has_global(s->model) ? "" : "; weak: no global training");
        } else {
            int n_chg = 0;
            free(s->chg);
            s->chg = malloc((size_t)(2 * n + 2) * sizeof *s->chg);
            for (int i = 0; s->chg && i < n; i++) {
                if (!e->changed || !e->changed[s->win.lo + i])
                    continue;
                s->chg[2 * n_chg] = lo + bounds[i];
                s->chg[2 * n_chg + 1] = lo + bounds[i + 1];
                n_chg++;
            }
            s->n_chg = n_chg;
            s->chg_t = t;
            s->chg_rev = text_revision(t);
            session_msg(s, "model: revised %d of %d tokens", n_chg, n);
        }
        free(buf);
        free(attr);
        free(bounds);
        session_job_clear(s);
        break;
    }
    case MODEL_JOB_CONTINUE: {
        if (gen_reserve(s, e->n + 1) == 0) {
            memcpy(s->gen, e->ids, (size_t)e->n * sizeof *s->gen);
            memcpy(s->gen_conf, e->conf, (size_t)e->n * sizeof *s->gen_conf);
            s->gen_n = e->n;
        }
        bool ok = live_commit_tokens(s, s->gen, s->gen_conf, s->gen_n);
        size_t lo = 0, hi = 0;
        if (ok)
            span_get(&s->span, &lo, &hi);
        int more = s->more_blocks;
        session_job_clear(s);
        if (!ok) {
            session_msg(s, "model: the text under the job was edited; result dropped");
        } else if (e->stop == BD3_STOP_EOS) {
            session_msg(s, "model: end of text");
        } else if (e->stop == BD3_STOP_REPEAT) {
            session_msg(s, "model: stopped at a repetition");
        } else if (more > 0 && t) {
            continue_start(s, t, hi, more);
        } else {
            session_msg(s, "model: continued %d tokens", e->n);
        }
        break;
    }
    case MODEL_JOB_SCORE:
        score_apply(s, e);
        session_job_clear(s);
        break;
    case MODEL_JOB_INSPECT:
        if (s->alt_t == t && text_revision(t) == s->alt_rev) {
            s->n_alt = e->n_alt;
            memcpy(s->alt_ids, e->alt_ids, sizeof s->alt_ids);
            memcpy(s->alt_probs, e->alt_probs, sizeof s->alt_probs);
        }
        session_job_clear(s);
        break;
    }
}

int model_session_fd(const model_session *s)
{
    return s->worker ? model_worker_fd(s->worker) : -1;
}

bool model_session_process(model_session *s)
{
    if (!s->worker)
        return false;
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

/* ---- background scoring ----------------------------------------------------------------- */

void model_session_note_edit(model_session *s, const text *t, int64_t now_ms)
{
    model_session_note_edit_at(s, t, SIZE_MAX, now_ms);
}

static void dirty_add(model_session *s, size_t lo, size_t hi)
{
    if (!s->dirty) {
        s->dirty_lo = lo;
        s->dirty_hi = hi;
    } else {
        s->dirty_lo = lo < s->dirty_lo ? lo : s->dirty_lo;
        s->dirty_hi = hi > s->dirty_hi ? hi : s->dirty_hi;
    }
    s->dirty = true;
}

void model_session_note_edit_at(model_session *s, const text *t, size_t pos, int64_t now_ms)
{
    if (s->edit_t != t)
        s->dirty = false;
    if (s->job_id && s->kind == MODEL_JOB_SCORE && s->score_t == t) {
        if (s->score_over_hi > 0)
            dirty_add(s, s->score_elo, s->score_ehi); /* still to be done */
        model_worker_cancel(s->worker); /* its window is probably stale */
        session_job_clear(s);
    }
    if (pos != SIZE_MAX)
        dirty_add(s, pos, pos);
    s->edit_t = t;
    s->edit_ms = now_ms;
}

static int score_range(model_session *s, text *t, size_t vis_lo, size_t vis_hi);
static int score_edit(model_session *s, text *t);
static int score_submit(model_session *s, text *t, size_t a);

int model_session_tick(model_session *s, text *t, size_t vis_lo, size_t vis_hi, int64_t now_ms)
{
    if (!s->heatmap || !s->model || !s->worker || s->job_id)
        return -1;
    int delay = s->cfg ? s->cfg->score_delay_ms : 500;
    if (s->edit_t == t && now_ms - s->edit_ms < delay)
        return (int)(delay - (now_ms - s->edit_ms));
    size_t size = text_size(t);
    if (vis_hi > size)
        vis_hi = size;
    if (s->dirty && s->edit_t == t && score_edit(s, t) != 0)
        return -1; /* the tokens around the last edits first: their context changed */
    if (vis_lo >= vis_hi)
        return -1;
    /* the visible text first, then the text just below and above it */
    if (score_range(s, t, vis_lo, vis_hi) == 0) {
        size_t below = size - vis_hi < SESSION_AHEAD_BYTES ? size : vis_hi + SESSION_AHEAD_BYTES;
        size_t above = vis_lo > SESSION_AHEAD_BYTES ? vis_lo - SESSION_AHEAD_BYTES : 0;
        if (vis_hi >= below || score_range(s, t, vis_hi, below) == 0)
            if (above < vis_lo)
                score_range(s, t, above, vis_lo);
    }
    return -1;
}

/* Starts scoring the first unscored bytes of t in [vis_lo, vis_hi): 1 when a job started (or
 * scoring must wait), 0 when every byte there is scored. */
static int score_range(model_session *s, text *t, size_t vis_lo, size_t vis_hi)
{
    uint8_t *attr = malloc(vis_hi - vis_lo);
    if (!attr)
        return 1;
    text_attr_get(t, vis_lo, vis_hi - vis_lo, attr);
    size_t x = vis_lo;
    while (x < vis_hi && attr[x - vis_lo] != 0)
        x++;
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
    if (x == vis_hi)
        return 0; /* everything there is scored */
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    size_t a = x;
    int max_tokens = hp->n_ctx, max_left = hp->n_ctx / 8;
    if (scored_after && run < SESSION_EDIT_BYTES) {
        /* an edit inside scored text: a small window around it answers sooner */
        while (a > 0 && !is_blank(text_byte_at(t, a - 1)) && x - a < 64)
            a--;
        max_tokens = hp->n_ctx < SESSION_EDIT_WINDOW ? hp->n_ctx : SESSION_EDIT_WINDOW;
        max_left = max_tokens / 2;
    } else {
        while (a > 0 && text_byte_at(t, a - 1) != '\n' && x - a < 2048)
            a--;
    }
    if (a == s->score_last && text_revision(t) == s->score_last_rev)
        return 1; /* that window did not help; wait for an edit */
    bd3_status st = model_window_build(&s->win, s->model, t, a, a, -1, max_tokens, max_left, -1);
    if (st != BD3_OK || s->win.n < 2) {
        model_window_release(&s->win);
        return 1;
    }
    s->score_over_lo = s->score_over_hi = 0;
    return score_submit(s, t, a);
}

/* Scores again the tokens around the edits noted since the last scoring (the edited bytes and
 * SESSION_EDIT_AROUND tokens on each side, whose context changed), replacing their old scores.
 * 1 when a job started, 0 when there was nothing to score. */
static int score_edit(model_session *s, text *t)
{
    size_t size = text_size(t);
    size_t lo = s->dirty_lo < size ? s->dirty_lo : size, hi = s->dirty_hi < size ? s->dirty_hi : size;
    s->dirty = false;
    if (size == 0)
        return 0;
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    int max_tokens = hp->n_ctx < SESSION_EDIT_WINDOW ? hp->n_ctx : SESSION_EDIT_WINDOW;
    if (hi - lo > SESSION_EDIT_BYTES)
        lo = hi - SESSION_EDIT_BYTES; /* edits far apart: the latest one */
    bd3_status st = model_window_build(&s->win, s->model, t, lo, hi, -1, max_tokens, max_tokens / 2, -1);
    if (st != BD3_OK || s->win.n < 2) {
        model_window_release(&s->win);
        return 0;
    }
    s->score_over_lo = s->win.lo > SESSION_EDIT_AROUND ? s->win.lo - SESSION_EDIT_AROUND : 0;
    s->score_over_hi = s->win.hi + SESSION_EDIT_AROUND < s->win.n ? s->win.hi + SESSION_EDIT_AROUND : s->win.n;
    s->score_elo = lo;
    s->score_ehi = hi;
    score_submit(s, t, s->win.pos[0]);
    s->score_last = SIZE_MAX;
    return 1;
}

/* Submits the scoring job over s->win, a window of t starting at byte a. Always 1. */
static int score_submit(model_session *s, text *t, size_t a)
{
    s->score_len = s->win.pos[s->win.n] - s->win.pos[0];
    s->score_bytes = malloc(s->score_len ? s->score_len : 1);
    if (!s->score_bytes) {
        session_job_clear(s);
        return 1;
    }
    text_read(t, s->win.pos[0], s->score_len, s->score_bytes);
    s->score_mark = text_mark_set(t, s->win.pos[0]);
    s->score_t = t;
    s->score_last = a;
    s->score_last_rev = text_revision(t);
    model_job j = {0};
    j.kind = MODEL_JOB_SCORE;
    j.ids = s->win.ids;
    j.n = s->win.n;
    s->kind = MODEL_JOB_SCORE;
    s->n_target = s->win.n;
    s->n_done = 0;
    s->job_id = model_worker_submit(s->worker, &j);
    if (!s->job_id)
        session_job_clear(s);
    return 1;
}

/* ---- display ---------------------------------------------------------------------------- */

bool model_session_busy(const model_session *s)
{
    return s->job_id != 0;
}

void model_session_status(const model_session *s, char *buf, size_t size)
{
    if (size == 0)
        return;
    buf[0] = '\0';
    if (!s->job_id)
        return;
    static const char *names[] = {"infill", "continue", "scoring", "revise", "inspect"};
    double rate = s->seconds > 0 ? s->n_done / s->seconds : 0;
    if (s->kind == MODEL_JOB_SCORE || s->kind == MODEL_JOB_INSPECT)
        snprintf(buf, size, "%s", names[s->kind]);
    else
        snprintf(buf, size, "%s %d/%d %.0f tok/s", names[s->kind], s->n_done, s->n_target, rate);
}

bool model_session_heatmap(const model_session *s)
{
    return s->heatmap;
}

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

bool model_session_take_result(model_session *s, text **t, size_t *lo, size_t *hi)
{
    if (!s->result_new)
        return false;
    s->result_new = false;
    if (!s->result_select)
        return false; /* an insertion leaves the cursor after it */
    if (!last_intact(s, s->last.t))
        return false;
    *t = s->last.t;
    return span_get(&s->last, lo, hi);
}

bool model_session_in_job(const model_session *s, const text *t, size_t pos)
{
    size_t lo, hi;
    return s->job_id && s->live && t && s->span.t == t && span_get(&s->span, &lo, &hi) && pos >= lo &&
           pos < hi;
}

bool model_session_changed_at(const model_session *s, const text *t, size_t pos)
{
    if (s->chg_t != t || !t || text_revision(t) != s->chg_rev)
        return false;
    for (int i = 0; i < s->n_chg; i++)
        if (pos >= s->chg[2 * i] && pos < s->chg[2 * i + 1])
            return true;
    return false;
}
