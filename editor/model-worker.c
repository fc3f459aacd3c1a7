/* model-worker.c: the model's background thread: one bd3_ctx, one job at a time, progress and
 * results posted to a mutex-protected mailbox plus a wakeup pipe.
 * Depends on model/bd3.h and POSIX threads only; knows nothing of text, views or curses. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "model-worker.h"

/* A queued or running job with its own copies of the arrays. */
typedef struct worker_job {
    model_job req;  /* the request; req.ids and req.conf point at ids and conf below */
    uint64_t id;    /* job id, increasing from 1 */
    int32_t *ids;   /* window ids [req.n] */
    float *conf;    /* window confidence [req.n] */
    double t_start; /* monotonic seconds when the job started */
} worker_job;

struct model_worker {
    bd3_ctx *ctx;                     /* owned; used only by the thread once it runs */
    pthread_t thread;                 /* the worker thread */
    pthread_mutex_t lock;             /* guards everything below except the atomics */
    pthread_cond_t wake;              /* signalled on submit and on quit */
    worker_job *pending;              /* next job to run, or NULL */
    int running;                      /* 1 while the thread runs a job */
    model_event *head, *tail;         /* mailbox, oldest first */
    int pipe_rd, pipe_wr;             /* wakeup pipe, both ends non-blocking */
    atomic_uint_fast64_t latest;      /* id of the newest job submitted */
    atomic_uint_fast64_t cancel_upto; /* every job with id <= this is cancelled */
    atomic_int quit;                  /* 1: stop the thread */
};

static double worker_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void model_event_free(model_event *e)
{
    if (!e) return;
    free(e->ids);
    free(e->conf);
    free(e->changed);
    free(e);
}

static void worker_job_free(worker_job *j)
{
    if (!j) return;
    free(j->ids);
    free(j->conf);
    free(j);
}

static int worker_job_cancelled(model_worker *w, uint64_t id)
{
    return atomic_load(&w->quit) || id <= atomic_load(&w->cancel_upto);
}

/* Appends an event unless it belongs to a superseded job. A progress event of the same job and
 * canvas as the newest queued one replaces it, so a slow reader sees fewer, newer canvases. */
static void worker_post(model_worker *w, model_event *e)
{
    pthread_mutex_lock(&w->lock);
    uint64_t latest = atomic_load(&w->latest);
    if (e->job_id < latest || (e->kind == MODEL_EVENT_PROGRESS && worker_job_cancelled(w, e->job_id))) {
        pthread_mutex_unlock(&w->lock);
        model_event_free(e);
        return;
    }
    model_event *t = w->tail;
    if (e->kind == MODEL_EVENT_PROGRESS && t && t->kind == MODEL_EVENT_PROGRESS && t->job_id == e->job_id &&
        t->offset == e->offset && t->n == e->n) {
        free(t->ids);
        free(t->conf);
        model_event *keep_next = t->next;
        *t = *e;
        t->next = keep_next;
        free(e);
        pthread_mutex_unlock(&w->lock);
        return; /* a wakeup for t is already pending */
    }
    e->next = NULL;
    if (t)
        t->next = e;
    else
        w->head = e;
    w->tail = e;
    pthread_mutex_unlock(&w->lock);
    char b = 1;
    ssize_t r = write(w->pipe_wr, &b, 1); /* a full pipe already means "readable" */
    (void)r;
}

static model_event *worker_event_new(const worker_job *j, model_event_kind kind)
{
    model_event *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->kind = kind;
    e->job_kind = j->req.kind;
    e->job_id = j->id;
    e->tag = j->req.tag;
    e->seconds = worker_now() - j->t_start;
    return e;
}

typedef struct worker_step {
    model_worker *w; /* the worker */
    worker_job *job; /* the running job */
} worker_step;

/* bd3_step_fn: copies the canvas into a progress event; nonzero when the job was cancelled. */
static int worker_on_step(void *user, const bd3_progress *p)
{
    worker_step *s = user;
    if (worker_job_cancelled(s->w, s->job->id)) return 1;
    model_event *e = worker_event_new(s->job, MODEL_EVENT_PROGRESS);
    if (!e) return 0;
    e->n_calls = p->n_calls;
    e->n_masked = p->n_masked;
    e->n_target = p->n_target;
    e->n_done = p->n_done;
    e->offset = p->canvas_offset;
    if (p->n_canvas > 0 && p->ids) {
        e->ids = malloc((size_t)p->n_canvas * sizeof *e->ids);
        e->conf = calloc((size_t)p->n_canvas, sizeof *e->conf);
        if (!e->ids || !e->conf) {
            model_event_free(e);
            return 0;
        }
        memcpy(e->ids, p->ids, (size_t)p->n_canvas * sizeof *e->ids);
        if (p->conf) memcpy(e->conf, p->conf, (size_t)p->n_canvas * sizeof *e->conf);
        e->n = p->n_canvas;
    }
    worker_post(s->w, e);
    return worker_job_cancelled(s->w, s->job->id);
}

/* Runs one job on the thread's context and posts its done event. */
static void worker_run(model_worker *w, worker_job *j)
{
    model_job *r = &j->req;
    worker_step step = {w, j};
    model_event *e = NULL;
    bd3_status st = BD3_OK;
    j->t_start = worker_now();
    int32_t *out = NULL;
    float *out_conf = NULL;
    uint8_t *changed = NULL;
    int n_out = 0;
    bd3_stop why = BD3_STOP_LIMIT;
    double nats_per_byte = 0.0;
    int32_t alt_ids[MODEL_ALT_MAX];
    double alt_probs[MODEL_ALT_MAX];
    switch (r->kind) {
    case MODEL_JOB_INFILL:
        st = bd3_infill(w->ctx, &r->sp, j->ids, j->conf, r->n, worker_on_step, &step);
        break;
    case MODEL_JOB_CONTINUE:
        out = malloc((size_t)r->max_new * sizeof *out);
        out_conf = calloc((size_t)r->max_new, sizeof *out_conf);
        if (!out || !out_conf)
            st = BD3_E_NOMEM;
        else
            st = bd3_continue(w->ctx, &r->sp, r->block_len, j->ids, r->n, r->max_new, out, out_conf, &n_out,
                              &why, worker_on_step, &step);
        break;
    case MODEL_JOB_SCORE:
        st = bd3_score(w->ctx, j->ids, r->n, r->score_k, j->conf, worker_on_step, &step);
        break;
    case MODEL_JOB_REVISE:
        changed = calloc((size_t)r->n, 1);
        if (!changed)
            st = BD3_E_NOMEM;
        else
            st = bd3_revise(w->ctx, &r->sp, j->ids, j->conf, r->n, r->lo, r->hi, r->fraction, changed,
                            worker_on_step, &step);
        break;
    case MODEL_JOB_INSPECT:
        st = bd3_alternatives(w->ctx, j->ids, r->n, r->pos, r->n_alt, alt_ids, alt_probs);
        break;
    case MODEL_JOB_INFILL_FIT:
        out = r->fit_max > 0 ? malloc((size_t)r->fit_max * sizeof *out) : NULL;
        out_conf = r->fit_max > 0 ? calloc((size_t)r->fit_max, sizeof *out_conf) : NULL;
        if (!out || !out_conf)
            st = r->fit_max > 0 ? BD3_E_NOMEM : BD3_E_ARG;
        else
            st = bd3_infill_fit(w->ctx, &r->sp, j->ids, r->n, r->lo, r->hi, r->fit_min, r->fit_max, 0, out,
                                out_conf, &n_out, &nats_per_byte, worker_on_step, &step);
        break;
    }
    if (st == BD3_OK && worker_job_cancelled(w, j->id))
        st = BD3_E_CANCELLED; /* finished, but nobody wants it any more */
    e = worker_event_new(j, MODEL_EVENT_DONE);
    if (!e) {
        free(out);
        free(out_conf);
        free(changed);
        return;
    }
    e->status = st;
    if (r->kind == MODEL_JOB_CONTINUE) {
        e->ids = out;
        e->conf = out_conf;
        e->n = n_out < 0 ? 0 : n_out;
        e->stop = why;
        e->n_done = e->n;
        e->n_target = r->max_new;
    } else if (r->kind == MODEL_JOB_INFILL_FIT) {
        e->ids = out;
        e->conf = out_conf;
        e->n = n_out < 0 ? 0 : n_out;
        e->nats_per_byte = nats_per_byte;
    } else {
        e->ids = j->ids; /* the job's window becomes the result */
        e->conf = j->conf;
        e->n = r->n;
        j->ids = NULL;
        j->conf = NULL;
        e->changed = changed;
    }
    if (r->kind == MODEL_JOB_INSPECT && st == BD3_OK) {
        e->n_alt = r->n_alt;
        memcpy(e->alt_ids, alt_ids, sizeof alt_ids[0] * (size_t)r->n_alt);
        memcpy(e->alt_probs, alt_probs, sizeof alt_probs[0] * (size_t)r->n_alt);
    }
    worker_post(w, e);
}

static void *worker_main(void *arg)
{
    model_worker *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!atomic_load(&w->quit)) {
        worker_job *j = w->pending;
        if (!j) {
            pthread_cond_wait(&w->wake, &w->lock);
            continue;
        }
        w->pending = NULL;
        w->running = 1;
        pthread_mutex_unlock(&w->lock);
        worker_run(w, j);
        worker_job_free(j);
        pthread_mutex_lock(&w->lock);
        w->running = 0;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

bd3_status model_worker_new(const bd3_model *m, int n_threads, model_worker **out)
{
    *out = NULL;
    model_worker *w = calloc(1, sizeof *w);
    if (!w) return BD3_E_NOMEM;
    int fds[2];
    if (pipe(fds) != 0) {
        free(w);
        return BD3_E_IO;
    }
    w->pipe_rd = fds[0];
    w->pipe_wr = fds[1];
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    bd3_status st = bd3_ctx_new(m, n_threads, &w->ctx);
    if (st != BD3_OK) {
        close(fds[0]);
        close(fds[1]);
        free(w);
        return st;
    }
    atomic_init(&w->latest, 0);
    atomic_init(&w->cancel_upto, 0);
    atomic_init(&w->quit, 0);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        bd3_ctx_free(w->ctx);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        close(fds[0]);
        close(fds[1]);
        free(w);
        return BD3_E_NOMEM;
    }
    *out = w;
    return BD3_OK;
}

void model_worker_free(model_worker *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    atomic_store(&w->quit, 1);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    worker_job_free(w->pending);
    for (model_event *e = w->head, *next; e; e = next) {
        next = e->next;
        model_event_free(e);
    }
    bd3_ctx_free(w->ctx);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    close(w->pipe_rd);
    close(w->pipe_wr);
    free(w);
}

/* Checks a request's sizes so the engine only ever sees valid ranges. */
static int worker_job_valid(const model_job *r)
{
    if (r->n <= 0 || !r->ids) return 0;
    switch (r->kind) {
    case MODEL_JOB_INFILL:
    case MODEL_JOB_SCORE: return 1;
    case MODEL_JOB_CONTINUE: return r->max_new > 0 && r->block_len > 0;
    case MODEL_JOB_REVISE:
        return r->lo >= 0 && r->lo < r->hi && r->hi <= r->n && r->fraction > 0 && r->fraction <= 1;
    case MODEL_JOB_INSPECT: return r->pos >= 0 && r->pos < r->n && r->n_alt >= 1 && r->n_alt <= MODEL_ALT_MAX;
    case MODEL_JOB_INFILL_FIT:
        return r->lo >= 0 && r->lo <= r->hi && r->hi <= r->n && r->fit_min >= 1 && r->fit_max >= r->fit_min;
    }
    return 0;
}

uint64_t model_worker_submit(model_worker *w, const model_job *job)
{
    if (!worker_job_valid(job)) return 0;
    worker_job *j = calloc(1, sizeof *j);
    if (!j) return 0;
    j->req = *job;
    j->ids = malloc((size_t)job->n * sizeof *j->ids);
    j->conf = calloc((size_t)job->n, sizeof *j->conf);
    if (!j->ids || !j->conf) {
        worker_job_free(j);
        return 0;
    }
    memcpy(j->ids, job->ids, (size_t)job->n * sizeof *j->ids);
    if (job->conf) memcpy(j->conf, job->conf, (size_t)job->n * sizeof *j->conf);
    j->req.ids = j->ids;
    j->req.conf = j->conf;
    pthread_mutex_lock(&w->lock);
    /* once the lock is released the worker owns j (and may free it): keep the id here */
    uint64_t id = atomic_load(&w->latest) + 1;
    j->id = id;
    atomic_store(&w->cancel_upto, id - 1); /* stops the running job at its next step */
    atomic_store(&w->latest, id);
    worker_job_free(w->pending);
    w->pending = j;
    /* events of older jobs still queued are stale now */
    model_event **pp = &w->head;
    w->tail = NULL;
    while (*pp) {
        model_event *e = *pp;
        if (e->job_id < id) {
            *pp = e->next;
            model_event_free(e);
        } else {
            w->tail = e;
            pp = &e->next;
        }
    }
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    return id;
}

void model_worker_cancel(model_worker *w)
{
    pthread_mutex_lock(&w->lock);
    uint64_t latest = atomic_load(&w->latest);
    atomic_store(&w->cancel_upto, latest);
    if (w->pending) {
        /* never started: report it as cancelled right away */
        worker_job *j = w->pending;
        w->pending = NULL;
        pthread_mutex_unlock(&w->lock);
        j->t_start = worker_now();
        model_event *e = worker_event_new(j, MODEL_EVENT_DONE);
        if (e) {
            e->status = BD3_E_CANCELLED;
            worker_post(w, e);
        }
        worker_job_free(j);
        return;
    }
    pthread_mutex_unlock(&w->lock);
}

uint64_t model_worker_latest(model_worker *w) { return atomic_load(&w->latest); }

int model_worker_busy(model_worker *w)
{
    pthread_mutex_lock(&w->lock);
    int busy = w->pending != NULL || w->running;
    pthread_mutex_unlock(&w->lock);
    return busy;
}

int model_worker_fd(const model_worker *w) { return w->pipe_rd; }

model_event *model_worker_poll(model_worker *w)
{
    char buf[64];
    while (read(w->pipe_rd, buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&w->lock);
    uint64_t latest = atomic_load(&w->latest);
    model_event *e;
    while ((e = w->head) != NULL) {
        w->head = e->next;
        if (!w->head) w->tail = NULL;
        e->next = NULL;
        int stale = e->job_id < latest ||
                    (e->kind == MODEL_EVENT_PROGRESS && e->job_id <= atomic_load(&w->cancel_upto));
        if (!stale) break;
        model_event_free(e);
    }
    pthread_mutex_unlock(&w->lock);
    return e;
}
