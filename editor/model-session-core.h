/* model-session-core.h: the model session's state (one sub-struct per job kind) and what its
 * files share: model-session.c, model-live.c and one model-KIND.c per job kind. Other modules
 * use model-session.h. No curses. */
#ifndef BD3ED_MODEL_SESSION_CORE_H
#define BD3ED_MODEL_SESSION_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model-session.h"
#include "model-window.h"

#define SESSION_SAMPLES_MAX 16   /* infill samples kept for cycling */
#define SESSION_ALTS        8    /* alternatives an inspect asks for */
#define SESSION_MARKS_MAX   32   /* spans marked as blanks for the next fill */
#define SESSION_EDIT_BYTES  256  /* unscored runs shorter than this are scored as an edit */
#define SESSION_EDIT_WINDOW 128  /* tokens of the window that scores an edit */
#define SESSION_EDIT_AROUND 8    /* tokens on each side of an edit scored again (their context changed) */
#define SESSION_AHEAD_BYTES 8192 /* bytes below and above the visible text scored after it */

typedef struct session_sample {
    char *bytes;   /* the span's text [len] */
    uint8_t *attr; /* its confidence attributes [len] */
    size_t len;    /* bytes */
} session_sample;

/* A span of a text between two anchors: the byte before it (none when it starts the text) and
 * the byte after it (or the end of the text). */
typedef struct session_span {
    text *t;          /* the text, NULL when unused */
    bool at_start;    /* the span starts at byte 0 */
    text_mark before; /* mark on the byte before the span */
    text_mark after;  /* mark on the byte after the span, or the end mark */
} session_span;

/* The text a running live job shows in its span (model-live.c). */
typedef struct session_live {
    bool on;                     /* the running job writes into span as it goes */
    bool hidden;                 /* the span holds orig for now (the person's turn) */
    size_t base;                 /* history position where the shown text starts */
    size_t cur;                  /* history position after the job's last write */
    uint64_t rev;                /* text revision after the job's last write */
    session_span span;           /* where it writes */
    char *orig;                  /* span text before the job [orig_len] */
    uint8_t *orig_attr;          /* its attributes [orig_len] */
    size_t orig_len;             /* bytes */
    char *shown;                 /* what the job last wrote into the span [shown_len] */
    uint8_t *shown_attr;         /* its attributes [shown_len] */
    size_t shown_len, shown_cap; /* bytes used and allocated in shown and shown_attr */
    bool join;                   /* the result joins the last undo step (another sample, the next
                                    block of a run) when that step is still the last one */
    size_t join_hist;            /* history position right after that step */
} session_live;

/* Infill: the running job's length and the last result with its samples (model-infill.c). */
typedef struct session_infill {
    int target_len;                              /* target tokens of the running job */
    bool again;                                  /* the job draws another sample of the last span */
    int pending_delta;                           /* grow/shrink pressed before the next infill (tokens) */
    session_span last;                           /* span of the last result (last.t NULL: none) */
    uint64_t last_rev;                           /* text revision right after it was written */
    size_t last_hist;                            /* history position right after it was written */
    int last_len;                                /* its target tokens */
    session_sample samples[SESSION_SAMPLES_MAX]; /* samples drawn, oldest first */
    int n_samples, cur_sample;                   /* count and the one shown */
    bool result_new;                             /* a result not yet taken by model_session_take_result */
    bool result_select;    /* the last infill started from a selection (its result is selected) */
    int fit_lo, fit_hi;    /* lengths the running infill-fit job tries (tokens); 0: no fit */
    int fit_len;           /* length the last result kept by infill-fit (tokens); 0: none */
    double fit_npb;        /* its NELBO per byte (nats) */
    bool fill;             /* the running job and the last result fill blanks (model-fill.c) */
    model_window fill_win; /* fill: the window with masks in the blanks, for another sample */
    uint8_t *fill_attr;    /* fill: attributes of the text between the blanks [fill_attr_len] */
    size_t fill_attr_len;  /* bytes */
    int fill_blanks;       /* fill: number of blanks */
    int fill_masks;        /* fill: masks in them (tokens the model writes) */
    session_span marks[SESSION_MARKS_MAX]; /* spans marked as blanks for the next fill (one text) */
    int mark_len[SESSION_MARKS_MAX];       /* their lengths in tokens when marked */
    int n_marks;                           /* spans marked */
} session_infill;

/* Continue (model-continue.c). */
typedef struct session_continue {
    int32_t *gen;       /* tokens so far (mask where still masked) [gen_cap] */
    float *gen_conf;    /* their confidence [gen_cap] */
    int gen_n, gen_cap; /* entries used and allocated */
    int more_blocks;    /* blocks asked for while it ran */
    int block_len;      /* block length of the job (tokens) */
    const text *t;      /* text of the last continuation */
    text_mark mark;     /* mark on the first byte of its prompt window */
    const text *run_t;  /* text of the last continuation written (a run's undo step), or NULL */
    uint64_t run_rev;   /* text revision right after it was written */
    size_t run_hist;    /* history position right after it was written */
    size_t run_end;     /* byte after it */
} session_continue;

/* Background scoring and the person's edits it follows (model-score.c). */
typedef struct session_score {
    model_window win;          /* the scoring job's window (its own: a job's window stays apart) */
    text *t;                   /* text scored by the running job */
    text_mark mark;            /* mark on the first byte of the scored window */
    char *bytes;               /* the window's text at submit [len] */
    size_t len;                /* bytes */
    int over_lo, over_hi;      /* window tokens whose old scores are replaced [lo, hi) */
    size_t elo, ehi;           /* byte range of the edits an edit scoring is for */
    size_t last;               /* start of the last scoring window (no progress guard) */
    uint64_t last_rev;         /* text revision of that window */
    const text *edit_t;        /* text last edited by the person */
    int64_t edit_ms;           /* when (monotonic ms) */
    bool dirty;                /* edits of edit_t wait to be scored again around them */
    size_t dirty_lo, dirty_hi; /* byte range of those edits (positions when they were made) */
} session_score;

/* Changed tokens of the last revise, highlighted until the next edit (model-revise.c). */
typedef struct session_revise {
    const text *t; /* its text */
    uint64_t rev;  /* text revision right after it was written */
    size_t *chg;   /* [2 * n_chg] byte ranges lo, hi */
    int n_chg;     /* ranges */
} session_revise;

/* Alternatives of the last inspect (model-inspect.c). */
typedef struct session_inspect {
    const text *t;               /* its text */
    uint64_t rev;                /* text revision when it was asked */
    size_t lo, hi;               /* byte range of the inspected token */
    int n;                       /* alternatives */
    int32_t ids[MODEL_ALT_MAX];  /* their ids */
    double probs[MODEL_ALT_MAX]; /* their probabilities */
} session_inspect;

struct model_session {
    const config *cfg;       /* options (not owned) */
    bd3_model *model;        /* loaded model, or NULL */
    model_worker *worker;    /* worker thread, or NULL */
    char msg[MODEL_MSG_MAX]; /* message for the message line */
    model_msg_kind msg_kind; /* its severity */
    model_edit_fn edit_fn;   /* told about every replacement */
    void *edit_user;         /* its argument */
    bool heatmap;            /* heatmap shown */
    uint64_t n_runs;         /* jobs started (varies the seed when the seed option is 0) */

    /* the running job */
    uint64_t job_id;      /* worker job id, 0 when none */
    model_job_kind kind;  /* its operation */
    model_window win;     /* the live or inspect job's window (ids, offsets, target) */
    int n_done, n_target; /* progress: tokens written of tokens wanted */
    double seconds;       /* progress: seconds since the job started */

    session_live live;       /* the text a live job shows */
    session_infill infill;   /* infill state and samples */
    session_continue cont;   /* continue state */
    session_score score;     /* background scoring */
    session_revise revise;   /* last revise's changed tokens */
    session_inspect inspect; /* last inspect's alternatives */
};

/* What the session does with a job kind's events (the table is in model-session.c). */
typedef struct session_job_ops {
    const char *name;    /* shown in the status line */
    bool shows_progress; /* the status line shows n_done/n_target and tokens/s */
    /* A progress event of the running job; false when its text was edited (the job stops). */
    bool (*on_progress)(model_session *s, const model_event *e);
    /* The done event of the running job (status BD3_OK; failures are handled by the session). */
    void (*on_done)(model_session *s, const model_event *e);
} session_job_ops;

/* ---- model-session.c ---- */
void session_msg(model_session *s, model_msg_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void span_set(session_span *sp, text *t, size_t lo, size_t hi);
bool span_get(const session_span *sp, size_t *lo, size_t *hi); /* false: an anchor died */
bool span_holds(const text *t, size_t lo, size_t hi, const char *want, size_t len);
/* Replaces [lo, hi) of t with bytes/attr, editing only the part that differs. */
bool session_replace(model_session *s, text *t, size_t lo, size_t hi, const char *bytes, const uint8_t *attr,
                     size_t len);
bool session_is_blank(int c);
void span_snap(const text *t, size_t *lo, size_t *hi);
void session_job_clear(model_session *s); /* forgets the running job (not its text) */
void session_params(model_session *s, bd3_sampler_params *p);
/* The share of tokens a revise remasks: the config's when set, else the model's default. */
double session_revise_fraction(const model_session *s);
void session_stop(model_session *s); /* cancels the running job; its text goes back */
uint64_t session_submit(model_session *s, const model_job *j); /* 0 with a message */
int session_ready(model_session *s);                           /* loads the model; scoring gives way */

/* ---- model-live.c ---- */
int live_begin(model_session *s, text *t, size_t lo, size_t hi);
void live_end(model_session *s);
bool live_hide(model_session *s);
bool live_show(model_session *s);
bool live_commit(model_session *s, const char *bytes, const uint8_t *attr, size_t len);
bool live_commit_tokens(model_session *s, const int32_t *ids, const float *conf, int n);
bool live_write_tokens(model_session *s, const int32_t *ids, const float *conf, int n);
/* Infill and revise progress: writes the window's target from e into the span. */
bool live_window_progress(model_session *s, const model_event *e);
/* Renders the window's target from the done event e: bytes, attributes and the byte bounds of
 * each target token [n + 1] (all malloc'ed); false when it cannot. */
bool live_window_render(model_session *s, const model_event *e, char **buf, uint8_t **attr, size_t *len,
                        size_t **bounds);

/* ---- one file per job kind ---- */
void infill_samples_clear(model_session *s);
bool infill_last_intact(model_session *s, text *t);
/* Ends the running infill or fill with its rendered result (buf/attr, len bytes, n tokens):
 * commits it, keeps it as a sample, says so. */
void infill_finish(model_session *s, char *buf, uint8_t *attr, size_t len, int n);
void infill_on_done(model_session *s, const model_event *e);
bool infill_fit_on_progress(model_session *s, const model_event *e);
void infill_fit_on_done(model_session *s, const model_event *e);
/* Fill: another sample of the last fill (or of the running one), over [lo, hi) of t. */
int fill_again(model_session *s, text *t, size_t lo, size_t hi, bool join, size_t join_hist);
void fill_forget(model_session *s);      /* frees the fill's window and attributes */
void fill_marks_clear(model_session *s); /* forgets the spans marked as blanks */
void fill_keep_attrs(model_session *s, const int32_t *ids, uint8_t *attr, const size_t *bounds);
bool continue_on_progress(model_session *s, const model_event *e);
void continue_on_done(model_session *s, const model_event *e);
void revise_on_done(model_session *s, const model_event *e);
void inspect_on_done(model_session *s, const model_event *e);
void score_on_done(model_session *s, const model_event *e);

#endif
