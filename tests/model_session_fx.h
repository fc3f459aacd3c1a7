/* model_session_fx.h: the fixture of the model-session test programs: a session over the small
 * random fixture model and a text (setup/teardown), link-time wraps (the programs' .ldflags) that
 * record what the engine was called with, and waiting for a job. Test-only. */
#ifndef BD3_TEST_MODEL_SESSION_FX_H
#define BD3_TEST_MODEL_SESSION_FX_H

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "fixture.h"
#include "model-session.h"
#include "model-window.h"
#include "engine_wrap.h"

static char model_path[1024]; /* the fixture model */

/* The prompts bd3_continue was called with (the engine runs underneath unchanged). */
#define PROMPT_MAX 256
static int32_t prompts[2][PROMPT_MAX];   /* the last two prompts */
static int n_prompts[2];                 /* their lengths */
static int n_calls;                      /* calls seen */
static int last_block_len, last_max_new; /* of the last call */

bd3_status __wrap_bd3_continue(bd3_ctx *c, const bd3_sampler_params *p, int block_len, const int32_t *prompt,
                               int n_prompt, int max_new, int32_t *out, float *out_conf, int *n_out,
                               bd3_stop *why, bd3_step_fn cb, void *user)
{
    memcpy(prompts[0], prompts[1], sizeof prompts[0]);
    n_prompts[0] = n_prompts[1];
    n_prompts[1] = n_prompt < PROMPT_MAX ? n_prompt : PROMPT_MAX;
    memcpy(prompts[1], prompt, (size_t)n_prompts[1] * sizeof *prompt);
    n_calls++;
    last_block_len = block_len;
    last_max_new = max_new;
    return __real_bd3_continue(c, p, block_len, prompt, n_prompt, max_new, out, out_conf, n_out, why, cb,
                               user);
}

/* The confidence bd3_revise was given (copied before it runs). */
#define REVISE_MAX 512
static float revise_conf[REVISE_MAX];      /* conf of the last call */
static int revise_n, revise_lo, revise_hi; /* its window length and target */
static bd3_sampler_params revise_sp;       /* the sampler of the last call */
static double revise_fraction;             /* its fraction */

bd3_status __wrap_bd3_revise(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             int lo, int hi, double fraction, uint8_t *changed, bd3_step_fn cb, void *user)
{
    revise_n = n < REVISE_MAX ? n : REVISE_MAX;
    revise_lo = lo;
    revise_hi = hi;
    revise_sp = *p;
    revise_fraction = fraction;
    memcpy(revise_conf, conf, (size_t)revise_n * sizeof *conf);
    return __real_bd3_revise(c, p, ids, conf, n, lo, hi, fraction, changed, cb, user);
}

/* The windows bd3_infill was called with: how many, and the masks of the last one. */
static int infill_calls; /* calls seen */
static int infill_masks; /* masks in the last call's window */
static int infill_runs;  /* runs of consecutive masks in it */

bd3_status __wrap_bd3_infill(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             bd3_step_fn cb, void *user)
{
    const bd3_hparams *hp = bd3_model_hparams(bd3_ctx_model(c));
    infill_calls++;
    infill_masks = infill_runs = 0;
    for (int i = 0; i < n; i++) {
        infill_masks += ids[i] == hp->mask_id;
        infill_runs += ids[i] == hp->mask_id && (i == 0 || ids[i - 1] != hp->mask_id);
    }
    return __real_bd3_infill(c, p, ids, conf, n, cb, user);
}

/* The lengths bd3_infill_fit tried and the one it kept. */
static int fit_min, fit_max, fit_kept; /* of the last call */
static double fit_npb;                 /* its nats per byte */

bd3_status __wrap_bd3_infill_fit(bd3_ctx *c, const bd3_sampler_params *p, const int32_t *ids, int n, int lo,
                                 int hi, int len_min, int len_max, int n_draws, int32_t *out, float *out_conf,
                                 int *n_out, double *nats_per_byte, bd3_step_fn cb, void *user)
{
    fit_min = len_min;
    fit_max = len_max;
    bd3_status st = __real_bd3_infill_fit(c, p, ids, n, lo, hi, len_min, len_max, n_draws, out, out_conf,
                                          n_out, nats_per_byte, cb, user);
    fit_kept = *n_out;
    fit_npb = nats_per_byte ? *nats_per_byte : 0.0;
    return st;
}

typedef struct fx {
    config *cfg;      /* options pointing at the fixture */
    model_session *s; /* session under test */
    text *t;          /* document */
    int n_edits;      /* edit callbacks seen */
} fx;

static const char doc[] = "The cat sat on the mat.\nA dog ran to the park and back.\nEnd of it.\n";

static inline void on_edit(void *user, text *t, size_t pos, size_t old_len, size_t new_len)
{
    fx *f = user;
    assert_ptr_equal(t, f->t);
    assert_true(pos + new_len <= text_size(t));
    (void)old_len;
    f->n_edits++;
}

static inline int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->cfg = config_new();
    char err[256];
    assert_int_equal(config_set(f->cfg, "model", model_path, err, sizeof err), CONFIG_OK);
    assert_int_equal(config_set(f->cfg, "threads", "1", err, sizeof err), CONFIG_OK);
    assert_int_equal(config_set(f->cfg, "seed", "7", err, sizeof err), CONFIG_OK);
    f->s = model_session_new(f->cfg);
    model_session_set_edit_fn(f->s, on_edit, f);
    f->t = text_new();
    assert_int_equal(text_insert(f->t, 0, doc, strlen(doc)), TEXT_OK);
    text_snapshot(f->t);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    fx *f = *state;
    model_session_free(f->s);
    text_free(f->t);
    config_free(f->cfg);
    free(f);
    return 0;
}

/* Processes events until the session is idle (a hung worker fails instead of hanging). */
static inline void run_to_idle(fx *f)
{
    while (model_session_busy(f->s)) {
        struct pollfd p = {model_session_fd(f->s), POLLIN, 0};
        if (poll(&p, 1, 60000) == 0) fail_msg("model job did not finish");
        model_session_process(f->s);
    }
}

static inline char *text_all(const text *t)
{
    size_t n = text_size(t);
    char *b = malloc(n + 1);
    text_read(t, 0, n, b);
    b[n] = '\0';
    return b;
}

/* Replaces the fixture's text with s (one undo step before the test's). */
static inline void set_text(fx *f, const char *s)
{
    text_delete(f->t, 0, text_size(f->t));
    text_insert(f->t, 0, s, strlen(s));
    text_snapshot(f->t);
}

#endif
