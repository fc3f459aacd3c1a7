/* test_model_worker.c: the model worker's protocol (progress order, cancellation, superseding,
 * stale results, shutdown) against a fake engine linked in with -Wl,--wrap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <cmocka.h>
#include "model-worker.h"

#define FAKE_MASK 99 /* mask id of the fake model */

/* The fake engine. In lockstep mode every model call waits for a permit from the test, so the
 * test decides exactly how many steps run; otherwise it runs until its step count or a cancel. */
static struct fake {
    pthread_mutex_t lock;  /* guards the fields below */
    pthread_cond_t cond;   /* signalled on any change */
    int lockstep;          /* 1: each step needs a permit */
    int permits;           /* steps the test allowed and the fake has not yet taken */
    int steps_done;        /* steps taken (callbacks made) since the last reset */
    int endless;           /* 1: step until the callback says stop */
    int n_steps;           /* steps per operation when not endless */
    int cancelled_seen;    /* operations that ended because the callback returned nonzero */
    int ctx_new, ctx_free; /* context calls */
    int calls_after_stop;  /* callbacks made after one returned nonzero (must stay 0) */
} fake = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 4, 0, 0, 0, 0};

static int fake_ctx_storage; /* the fake context's address */

bd3_status __wrap_bd3_ctx_new(const bd3_model *m, int n_threads, bd3_ctx **out)
{
    (void)m;
    (void)n_threads;
    pthread_mutex_lock(&fake.lock);
    fake.ctx_new++;
    pthread_mutex_unlock(&fake.lock);
    *out = (bd3_ctx *)&fake_ctx_storage;
    return BD3_OK;
}

void __wrap_bd3_ctx_free(bd3_ctx *c)
{
    if (!c) return;
    pthread_mutex_lock(&fake.lock);
    fake.ctx_free++;
    pthread_mutex_unlock(&fake.lock);
}

/* One fake model call: waits for a permit in lockstep mode, then reports progress. Returns
 * nonzero when the callback asked to stop. */
static int fake_step(int call, int32_t *ids, float *conf, int n, int offset, bd3_step_fn cb, void *user)
{
    pthread_mutex_lock(&fake.lock);
    while (fake.lockstep && fake.permits == 0) pthread_cond_wait(&fake.cond, &fake.lock);
    if (fake.lockstep) fake.permits--;
    pthread_mutex_unlock(&fake.lock);
    bd3_progress p = {call, 0, n, call, ids, conf, n, offset};
    int stop = cb(user, &p);
    pthread_mutex_lock(&fake.lock);
    fake.steps_done++;
    if (stop) fake.cancelled_seen++;
    pthread_cond_broadcast(&fake.cond);
    pthread_mutex_unlock(&fake.lock);
    return stop;
}

/* Writes token 1000 + call at the first mask, like an unmasking sampler. */
static bd3_status fake_denoise(int32_t *ids, float *conf, int n, bd3_step_fn cb, void *user)
{
    pthread_mutex_lock(&fake.lock);
    int endless = fake.endless, n_steps = fake.n_steps; /* fixed for this operation */
    pthread_mutex_unlock(&fake.lock);
    for (int call = 1; endless || call <= n_steps; call++) {
        for (int i = 0; i < n; i++) {
            if (ids[i] == FAKE_MASK) {
                ids[i] = 1000 + call;
                conf[i] = 0.5f;
                break;
            }
        }
        if (fake_step(call, ids, conf, n, 0, cb, user)) return BD3_E_CANCELLED;
    }
    return BD3_OK;
}

bd3_status __wrap_bd3_infill(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             bd3_step_fn cb, void *user)
{
    (void)p;
    assert_ptr_equal(c, &fake_ctx_storage);
    return fake_denoise(ids, conf, n, cb, user);
}

bd3_status __wrap_bd3_revise(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             int lo, int hi, double fraction, uint8_t *changed, bd3_step_fn cb, void *user)
{
    (void)c;
    (void)p;
    (void)fraction;
    ids[lo] = FAKE_MASK;
    bd3_status st = fake_denoise(ids, conf, n, cb, user);
    if (changed) changed[lo] = 1;
    (void)hi;
    return st;
}

bd3_status __wrap_bd3_continue(bd3_ctx *c, const bd3_sampler_params *p, int block_len, const int32_t *prompt,
                               int n_prompt, int max_new, int32_t *out, float *out_conf, int *n_out,
                               bd3_stop *why, bd3_step_fn cb, void *user)
{
    (void)c;
    (void)p;
    (void)prompt;
    *n_out = 0;
    for (int call = 1; call <= max_new; call++) {
        out[call - 1] = 2000 + call;
        out_conf[call - 1] = 0.25f;
        *n_out = call;
        int blk = (call - 1) / block_len * block_len;
        if (fake_step(call, out + blk, out_conf + blk, call - blk, n_prompt + blk, cb, user))
            return BD3_E_CANCELLED;
    }
    *why = BD3_STOP_LIMIT;
    return BD3_OK;
}

bd3_status __wrap_bd3_score(bd3_ctx *c, const int32_t *ids, int n, int k, float *conf, bd3_step_fn cb,
                            void *user)
{
    (void)c;
    (void)k;
    for (int i = 0; i < n; i++) conf[i] = (float)(ids[i] % 10) / 10.0f;
    if (fake_step(1, (int32_t *)ids, conf, n, 0, cb, user)) return BD3_E_CANCELLED;
    return BD3_OK;
}

bd3_status __wrap_bd3_alternatives(bd3_ctx *c, const int32_t *ids, int n, int pos, int k, int32_t *alt_ids,
                                   double *alt_probs)
{
    (void)c;
    (void)n;
    for (int i = 0; i < k; i++) {
        alt_ids[i] = ids[pos] + i;
        alt_probs[i] = 1.0 / (i + 2);
    }
    return BD3_OK;
}

/* Keeps the middle length, with its tokens 3000 + i, after one step. */
bd3_status __wrap_bd3_infill_fit(bd3_ctx *c, const bd3_sampler_params *p, const int32_t *ids, int n, int lo,
                                 int hi, int len_min, int len_max, int n_draws, int32_t *out, float *out_conf,
                                 int *n_out, double *nats_per_byte, bd3_step_fn cb, void *user)
{
    (void)c;
    (void)p;
    (void)lo;
    (void)hi;
    (void)n_draws;
    int len = (len_min + len_max) / 2;
    for (int i = 0; i < len; i++) {
        out[i] = 3000 + i;
        if (out_conf) out_conf[i] = 0.75f;
    }
    *n_out = len;
    *nats_per_byte = 1.5;
    if (fake_step(1, (int32_t *)ids, NULL, n, 0, cb, user)) return BD3_E_CANCELLED;
    return BD3_OK;
}

/* ---- helpers ---------------------------------------------------------------------------- */

/* A consistent copy of the fake's counters (assertions must not run with the lock held). */
static struct fake fake_snapshot(void)
{
    pthread_mutex_lock(&fake.lock);
    struct fake f = fake;
    pthread_mutex_unlock(&fake.lock);
    return f;
}

static void fake_reset(int lockstep, int endless, int n_steps)
{
    pthread_mutex_lock(&fake.lock);
    fake.lockstep = lockstep;
    fake.permits = 0;
    fake.steps_done = 0;
    fake.endless = endless;
    fake.n_steps = n_steps;
    fake.cancelled_seen = 0;
    pthread_mutex_unlock(&fake.lock);
}

/* Allows n more steps and waits until they were taken. */
static void fake_allow_and_wait(int n)
{
    pthread_mutex_lock(&fake.lock);
    int target = fake.steps_done + n;
    fake.permits += n;
    pthread_cond_broadcast(&fake.cond);
    while (fake.steps_done < target) pthread_cond_wait(&fake.cond, &fake.lock);
    pthread_mutex_unlock(&fake.lock);
}

static void fake_wait_steps(int n)
{
    pthread_mutex_lock(&fake.lock);
    while (fake.steps_done < n) pthread_cond_wait(&fake.cond, &fake.lock);
    pthread_mutex_unlock(&fake.lock);
}

/* Blocks until the worker posts something, then returns the next event of the current job.
 * The long poll limit only turns a hung worker into a failure instead of a stuck test run. */
static model_event *wait_event(model_worker *w)
{
    for (;;) {
        model_event *e = model_worker_poll(w);
        if (e) return e;
        struct pollfd pfd = {model_worker_fd(w), POLLIN, 0};
        if (poll(&pfd, 1, 60000) == 0) fail_msg("no event from the worker");
    }
}

/* Waits for the done event of the current job, checking progress on the way; returns it. */
static model_event *wait_done(model_worker *w, uint64_t id, int *n_progress)
{
    int last_call = 0;
    *n_progress = 0;
    for (;;) {
        model_event *e = wait_event(w);
        assert_int_equal(e->job_id, id);
        if (e->kind == MODEL_EVENT_DONE) return e;
        assert_true(e->n_calls > last_call);
        last_call = e->n_calls;
        (*n_progress)++;
        model_event_free(e);
    }
}

static model_job infill_job(const int32_t *ids, int n)
{
    model_job j;
    memset(&j, 0, sizeof j);
    j.kind = MODEL_JOB_INFILL;
    j.ids = ids;
    j.n = n;
    j.sp.temperature = 1.0;
    j.sp.top_p = 1.0;
    return j;
}

static int setup(void **state)
{
    fake_reset(0, 0, 4);
    model_worker *w = NULL;
    assert_int_equal(model_worker_new((const bd3_model *)&fake_ctx_storage, 1, &w), BD3_OK);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    fake_reset(0, 0, 0); /* a fake blocked waiting for a permit must not hold up the join */
    pthread_cond_broadcast(&fake.cond);
    model_worker_free(*state);
    return 0;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_model_worker_infill_progress_arrives_in_order(void **state)
{
    model_worker *w = *state;
    int32_t ids[6] = {1, FAKE_MASK, FAKE_MASK, FAKE_MASK, FAKE_MASK, 2};
    model_job j = infill_job(ids, 6);
    j.tag = 77;
    fake_reset(1, 0, 4);
    uint64_t id = model_worker_submit(w, &j);
    assert_true(id > 0);
    int last = 0;
    for (int step = 1; step <= 4; step++) {
        fake_allow_and_wait(1);
        model_event *e = wait_event(w);
        assert_int_equal(e->kind, MODEL_EVENT_PROGRESS);
        assert_int_equal(e->tag, 77);
        assert_int_equal(e->n_calls, step);
        assert_true(e->n_calls > last);
        last = e->n_calls;
        assert_int_equal(e->n, 6);
        assert_int_equal(e->ids[step], 1000 + step); /* the canvas is a copy of that step */
        model_event_free(e);
    }
    int np;
    model_event *d = wait_done(w, id, &np);
    assert_int_equal(d->status, BD3_OK);
    assert_int_equal(d->n, 6);
    int32_t want[6] = {1, 1001, 1002, 1003, 1004, 2};
    assert_memory_equal(d->ids, want, sizeof want);
    assert_true(d->conf[1] > 0.4f && d->conf[0] == 0.0f);
    model_event_free(d);
    assert_int_equal(ids[1], FAKE_MASK); /* the caller's array was copied, not written */
}

static void test_model_worker_cancel_stops_job_at_next_step(void **state)
{
    model_worker *w = *state;
    int32_t ids[4] = {FAKE_MASK, FAKE_MASK, FAKE_MASK, FAKE_MASK};
    model_job j = infill_job(ids, 4);
    fake_reset(1, 1, 0);
    uint64_t id = model_worker_submit(w, &j);
    fake_allow_and_wait(3);
    model_worker_cancel(w);
    fake_allow_and_wait(1); /* the very next model call must be told to stop */
    int np;
    model_event *d = wait_done(w, id, &np);
    assert_int_equal(d->status, BD3_E_CANCELLED);
    model_event_free(d);
    struct fake f = fake_snapshot();
    assert_int_equal(f.steps_done, 4);
    assert_int_equal(f.cancelled_seen, 1);
    assert_null(model_worker_poll(w));
}

static void test_model_worker_newer_job_supersedes_running_one(void **state)
{
    model_worker *w = *state;
    int32_t a[3] = {FAKE_MASK, FAKE_MASK, FAKE_MASK};
    int32_t b[2] = {5, FAKE_MASK};
    model_job ja = infill_job(a, 3);
    model_job jb = infill_job(b, 2);
    fake_reset(1, 1, 0);
    uint64_t ida = model_worker_submit(w, &ja);
    fake_allow_and_wait(2); /* job a posted two progress events nobody read */
    pthread_mutex_lock(&fake.lock);
    fake.endless = 0;
    fake.n_steps = 1;
    pthread_mutex_unlock(&fake.lock);
    uint64_t idb = model_worker_submit(w, &jb);
    assert_true(idb > ida);
    assert_int_equal(model_worker_latest(w), idb);
    fake_allow_and_wait(1); /* a's next call is told to stop */
    assert_int_equal(fake_snapshot().cancelled_seen, 1);
    fake_allow_and_wait(1); /* b's only call */
    int np;
    model_event *d = wait_done(w, idb, &np); /* asserts every event is b's */
    assert_int_equal(d->status, BD3_OK);
    assert_int_equal(d->ids[1], 1001);
    assert_int_equal(np, 1);
    model_event_free(d);
    assert_null(model_worker_poll(w));
}

static void test_model_worker_stale_done_event_is_dropped(void **state)
{
    model_worker *w = *state;
    int32_t a[2] = {FAKE_MASK, 3};
    model_job ja = infill_job(a, 2);
    fake_reset(0, 0, 1);
    uint64_t ida = model_worker_submit(w, &ja);
    /* wait until a finished and its done event sits unread in the mailbox */
    fake_wait_steps(1);
    while (model_worker_busy(w)) {
        struct pollfd pfd = {model_worker_fd(w), POLLIN, 0};
        poll(&pfd, 1, 10);
    }
    fake_reset(1, 0, 1);
    model_job jb = infill_job(a, 2);
    jb.kind = MODEL_JOB_SCORE;
    uint64_t idb = model_worker_submit(w, &jb);
    assert_true(idb > ida);
    fake_allow_and_wait(1);
    int np;
    model_event *d = wait_done(w, idb, &np);
    assert_int_equal(d->job_kind, MODEL_JOB_SCORE);
    assert_int_equal(d->status, BD3_OK);
    assert_true(d->conf[1] > 0.29f && d->conf[1] < 0.31f);
    model_event_free(d);
}

static void test_model_worker_queued_job_cancelled_before_start(void **state)
{
    model_worker *w = *state;
    int32_t a[2] = {FAKE_MASK, FAKE_MASK};
    model_job ja = infill_job(a, 2);
    fake_reset(1, 1, 0);
    model_worker_submit(w, &ja);
    fake_allow_and_wait(1);
    uint64_t idb = model_worker_submit(w, &ja); /* queued behind a until a sees the cancel */
    model_worker_cancel(w);
    fake_allow_and_wait(1);
    int np;
    model_event *d = wait_done(w, idb, &np);
    assert_int_equal(d->status, BD3_E_CANCELLED);
    assert_int_equal(np, 0);
    model_event_free(d);
    while (model_worker_busy(w)) {
        struct pollfd pfd = {model_worker_fd(w), POLLIN, 0};
        poll(&pfd, 1, 10);
    }
    assert_int_equal(fake_snapshot().steps_done, 2); /* b never ran */
}

static void test_model_worker_continue_reports_blocks_and_tokens(void **state)
{
    model_worker *w = *state;
    int32_t prompt[3] = {7, 8, 9};
    model_job j;
    memset(&j, 0, sizeof j);
    j.kind = MODEL_JOB_CONTINUE;
    j.ids = prompt;
    j.n = 3;
    j.block_len = 2;
    j.max_new = 5;
    j.sp.temperature = 1.0;
    j.sp.top_p = 1.0;
    fake_reset(0, 0, 0);
    uint64_t id = model_worker_submit(w, &j);
    int last_offset = 0;
    for (;;) {
        model_event *e = wait_event(w);
        assert_int_equal(e->job_id, id);
        if (e->kind == MODEL_EVENT_DONE) {
            assert_int_equal(e->status, BD3_OK);
            assert_int_equal(e->n, 5);
            assert_int_equal(e->ids[0], 2001);
            assert_int_equal(e->ids[4], 2005);
            assert_int_equal(e->stop, BD3_STOP_LIMIT);
            model_event_free(e);
            break;
        }
        assert_true(e->offset >= last_offset); /* blocks arrive in order */
        assert_int_equal(e->ids[0], 2001 + e->offset - 3);
        last_offset = e->offset;
        model_event_free(e);
    }
    assert_int_equal(last_offset, 7); /* the last block's canvas was seen */
}

static void test_model_worker_inspect_returns_alternatives(void **state)
{
    model_worker *w = *state;
    int32_t ids[3] = {10, 20, 30};
    model_job j = infill_job(ids, 3);
    j.kind = MODEL_JOB_INSPECT;
    j.pos = 1;
    j.n_alt = 3;
    uint64_t id = model_worker_submit(w, &j);
    int np;
    model_event *d = wait_done(w, id, &np);
    assert_int_equal(d->status, BD3_OK);
    assert_int_equal(d->n_alt, 3);
    assert_int_equal(d->alt_ids[0], 20);
    assert_int_equal(d->alt_ids[2], 22);
    model_event_free(d);
}

static void test_model_worker_revise_reports_changed(void **state)
{
    model_worker *w = *state;
    int32_t ids[4] = {10, 20, 30, 40};
    model_job j = infill_job(ids, 4);
    j.kind = MODEL_JOB_REVISE;
    j.lo = 2;
    j.hi = 4;
    j.fraction = 0.5;
    fake_reset(0, 0, 1);
    uint64_t id = model_worker_submit(w, &j);
    int np;
    model_event *d = wait_done(w, id, &np);
    assert_int_equal(d->status, BD3_OK);
    assert_non_null(d->changed);
    assert_int_equal(d->changed[2], 1);
    assert_int_equal(d->changed[1], 0);
    assert_int_equal(d->ids[2], 1001);
    model_event_free(d);
}

/* An infill-fit job's done event carries the tokens of the length kept and its score; a job
 * whose lengths make no sense is refused. */
static void test_model_worker_infill_fit_reports_the_kept_span(void **state)
{
    model_worker *w = *state;
    int32_t ids[6] = {10, 20, FAKE_MASK, FAKE_MASK, 50, 60};
    model_job j = infill_job(ids, 6);
    j.kind = MODEL_JOB_INFILL_FIT;
    j.lo = 2;
    j.hi = 4;
    j.fit_min = 1;
    j.fit_max = 5;
    fake_reset(0, 0, 1);
    uint64_t id = model_worker_submit(w, &j);
    int np;
    model_event *d = wait_done(w, id, &np);
    assert_int_equal(d->status, BD3_OK);
    assert_int_equal(d->job_kind, MODEL_JOB_INFILL_FIT);
    assert_int_equal(d->n, 3);
    assert_int_equal(d->ids[0], 3000);
    assert_int_equal(d->ids[2], 3002);
    assert_true(d->conf[1] == 0.75f);
    assert_true(d->nats_per_byte == 1.5);
    model_event_free(d);
    j.fit_min = 4;
    j.fit_max = 3;
    assert_int_equal(model_worker_submit(w, &j), 0);
    j.fit_min = 0;
    j.fit_max = 3;
    assert_int_equal(model_worker_submit(w, &j), 0);
}

static void test_model_worker_rejects_invalid_jobs(void **state)
{
    model_worker *w = *state;
    int32_t ids[4] = {1, 2, 3, 4};
    model_job j = infill_job(ids, 4);
    j.kind = MODEL_JOB_REVISE;
    j.lo = 3;
    j.hi = 9;
    j.fraction = 0.5;
    assert_int_equal(model_worker_submit(w, &j), 0);
    j.kind = MODEL_JOB_INSPECT;
    j.pos = 4;
    j.n_alt = 2;
    assert_int_equal(model_worker_submit(w, &j), 0);
    j.pos = 0;
    j.n_alt = MODEL_ALT_MAX + 1;
    assert_int_equal(model_worker_submit(w, &j), 0);
    j = infill_job(ids, 0);
    assert_int_equal(model_worker_submit(w, &j), 0);
    assert_int_equal(model_worker_latest(w), 0);
}

static void test_model_worker_shutdown_with_running_job(void **state)
{
    (void)state;
    fake_reset(0, 1, 0);
    int free_before = fake_snapshot().ctx_free;
    model_worker *w = NULL;
    assert_int_equal(model_worker_new((const bd3_model *)&fake_ctx_storage, 1, &w), BD3_OK);
    int32_t ids[2] = {FAKE_MASK, FAKE_MASK};
    model_job j = infill_job(ids, 2);
    model_worker_submit(w, &j);
    fake_wait_steps(2);   /* the endless job is running and has posted events */
    model_worker_free(w); /* returns only when the thread stopped */
    struct fake f = fake_snapshot();
    assert_int_equal(f.cancelled_seen, 1);
    assert_int_equal(f.ctx_free, free_before + 1);
    model_worker_free(NULL);
    model_event_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_worker_infill_progress_arrives_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_worker_cancel_stops_job_at_next_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_worker_newer_job_supersedes_running_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_worker_stale_done_event_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_worker_queued_job_cancelled_before_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_worker_continue_reports_blocks_and_tokens, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_worker_inspect_returns_alternatives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_worker_revise_reports_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_worker_infill_fit_reports_the_kept_span, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_worker_rejects_invalid_jobs, setup, teardown),
        cmocka_unit_test(test_model_worker_shutdown_with_running_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
