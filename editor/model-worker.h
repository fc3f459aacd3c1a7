/* model-worker.h: one background thread that runs engine operations (infill, continue, score,
 * revise, inspect) on its own bd3_ctx and posts progress to a mailbox the main loop polls.
 * Depends on model/bd3.h and POSIX threads only; knows nothing of text, views or curses. */
#ifndef MODEL_WORKER_H
#define MODEL_WORKER_H

#include <stdint.h>
#include "bd3.h"

#define MODEL_ALT_MAX 16 /* most alternatives an inspect job returns */

typedef enum model_job_kind {
    MODEL_JOB_INFILL,     /* bd3_infill over the window: every mask is regenerated */
    MODEL_JOB_CONTINUE,   /* bd3_continue after the window (the window is the prompt) */
    MODEL_JOB_SCORE,      /* bd3_score of the window */
    MODEL_JOB_REVISE,     /* bd3_revise of [lo, hi) in the window */
    MODEL_JOB_INSPECT,    /* bd3_alternatives at pos */
    MODEL_JOB_INFILL_FIT, /* bd3_infill_fit: [lo, hi) refilled at every length fit_min..fit_max */
} model_job_kind;

/* A request. The arrays are copied by model_worker_submit; the caller keeps its own. */
typedef struct model_job {
    model_job_kind kind;   /* operation */
    const int32_t *ids;    /* window token ids [n] */
    const float *conf;     /* confidence [n] in [0, 1] (revise input); NULL: all 0 */
    int n;                 /* window length in tokens, 1..n_ctx */
    int lo, hi;            /* target range [lo, hi) of the window (revise) */
    bd3_sampler_params sp; /* sampler (infill, continue, revise) */
    int block_len;         /* continue: block length in tokens */
    int max_new;           /* continue: most tokens to write */
    int score_k;           /* score: strided passes; <= 0: the engine's default */
    double fraction;       /* revise: fraction of [lo, hi) to remask, (0, 1] */
    int pos;               /* inspect: window index of the token */
    int n_alt;             /* inspect: alternatives wanted, 1..MODEL_ALT_MAX */
    int fit_min, fit_max;  /* infill-fit: lengths tried, in tokens (n - (hi - lo) + fit_max <= n_ctx) */
    uint64_t tag;          /* caller's value, echoed in every event of the job */
} model_job;

typedef enum model_event_kind {
    MODEL_EVENT_PROGRESS, /* after a model call: a copy of the operation's canvas */
    MODEL_EVENT_DONE,     /* the job ended (status says how); the last event of a job */
} model_event_kind;

typedef struct model_event {
    model_event_kind kind;           /* progress or done */
    model_job_kind job_kind;         /* operation of the job */
    uint64_t job_id;                 /* id model_worker_submit returned */
    uint64_t tag;                    /* the job's tag */
    bd3_status status;               /* done: the operation's status (BD3_E_CANCELLED when stopped) */
    int n_calls;                     /* model calls made so far */
    int n_masked;                    /* masks left on the canvas */
    int n_target;                    /* tokens the operation writes in all */
    int n_done;                      /* tokens written so far */
    double seconds;                  /* wall time since the job started */
    int32_t *ids;                    /* progress: canvas [n]; done: window [n] (continue: new tokens [n];
                                        infill-fit: the tokens of the span that fits [n]) */
    float *conf;                     /* confidence [n] parallel to ids */
    int n;                           /* entries in ids and conf */
    int offset;                      /* progress: index of ids[0] in the operation's token sequence */
    uint8_t *changed;                /* done, revise: [n], 1 where the token changed; else NULL */
    bd3_stop stop;                   /* done, continue: why it stopped */
    int n_alt;                       /* done, inspect: alternatives written */
    double nats_per_byte;            /* done, infill-fit: NELBO per byte of the span kept */
    int32_t alt_ids[MODEL_ALT_MAX];  /* done, inspect: token ids, most probable first */
    double alt_probs[MODEL_ALT_MAX]; /* done, inspect: their probabilities */
    struct model_event *next;        /* mailbox link (private) */
} model_event;

void model_event_free(model_event *e); /* NULL is a no-op */

typedef struct model_worker model_worker;

/* Creates the context (bd3_ctx_new with n_threads) and starts the thread. The model is shared
 * read-only and must outlive the worker. */
bd3_status model_worker_new(const bd3_model *m, int n_threads, model_worker **out);
/* Cancels any job, joins the thread, frees the context and every queued event. NULL: no-op. */
void model_worker_free(model_worker *w);

/* Queues a job and returns its id (> 0), or 0 when the job is invalid. A newer job supersedes
 * every older one: a running job is cancelled at its next step, a queued one never starts, and
 * events of superseded jobs are dropped. */
uint64_t model_worker_submit(model_worker *w, const model_job *job);
/* Cancels the current job (running or queued); its done event reports BD3_E_CANCELLED. */
void model_worker_cancel(model_worker *w);
/* Id of the newest job submitted, 0 before the first. */
uint64_t model_worker_latest(model_worker *w);
/* 1 while a job is queued or running. */
int model_worker_busy(model_worker *w);

/* File descriptor that becomes readable when events are waiting (poll it in the main loop). */
int model_worker_fd(const model_worker *w);
/* Takes the oldest waiting event of the current job (caller frees), or NULL. Drains the wakeup
 * descriptor first, so a later post always makes it readable again. */
model_event *model_worker_poll(model_worker *w);

#endif
