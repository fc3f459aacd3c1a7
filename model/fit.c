/* fit.c: the span NELBO of a window's target tokens (any-order form of the masked-diffusion
 * bound) and the length that fits (an infill tried at several lengths, the likeliest per byte
 * kept). Depends on bd3.h and ops.h (libc/libm) only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bd3.h"
#include "ops.h"

#define FIT_SPAN_DRAWS 8 /* default subsets of bd3_nelbo_span */
#define FIT_AROUND     8 /* tokens on each side of a fill scored with it by bd3_infill_fit */

bd3_status bd3_nelbo_span(bd3_ctx *c, const int32_t *ids, int n, const uint8_t *target, int n_draws,
                          uint64_t seed, double *nats)
{
    bd3_status st = ops_check_window(c, ids, n);
    if (st != BD3_OK || !target || !nats) return st != BD3_OK ? st : BD3_E_ARG;
    const bd3_hparams *hp = bd3_model_hparams(bd3_ctx_model(c));
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (!target[i]) continue;
        if (ids[i] == hp->mask_id) return BD3_E_ARG; /* a target token must be known to be scored */
        m++;
    }
    if (m == 0) return BD3_E_ARG;
    if (n_draws <= 0) n_draws = FIT_SPAN_DRAWS;
    const size_t N = (size_t)hp->n_ctx;
    int32_t *canvas = ops_work(c, OPS_W_CANVAS, N, sizeof *canvas); /* [n] ids with a subset masked */
    int *perm = ops_work(c, OPS_W_ORDER, N, sizeof *perm);          /* [m] target positions, shuffled */
    int *rows = ops_work(c, OPS_W_ROWS, N, sizeof *rows);           /* [m] masked positions, ascending */
    float *chunk = ops_logits(c, OPS_CHUNK);                        /* [OPS_CHUNK, V] logits of some rows */
    if (!canvas || !perm || !rows || !chunk) return BD3_E_NOMEM;
    bd3_rng r;
    bd3_rng_seed(&r, seed);
    const double u0 = bd3_rng_uniform(&r); /* stratification offset of the subset sizes */
    double total = 0.0;
    for (int d = 0; d < n_draws; d++) {
        /* subset size k spread evenly over 1..m across the draws */
        int k = 1 + (int)(((double)d + u0) * m / n_draws);
        if (k > m) k = m;
        int np = 0;
        for (int i = 0; i < n; i++)
            if (target[i]) perm[np++] = i;
        for (int j = 0; j < k; j++) { /* partial Fisher-Yates: the first k are the subset */
            int x = j + (int)(bd3_rng_uniform(&r) * (m - j));
            if (x >= m) x = m - 1;
            int tmp = perm[j];
            perm[j] = perm[x];
            perm[x] = tmp;
        }
        memcpy(canvas, ids, (size_t)n * sizeof *canvas);
        for (int j = 0; j < k; j++) canvas[perm[j]] = hp->mask_id;
        int nr = 0;
        for (int i = 0; i < n; i++)
            if (canvas[i] == hp->mask_id && target[i]) rows[nr++] = i;
        double sum = 0.0;
        ops_logp q = {.truth = ids,
                      .rows = rows,
                      .n_vocab = hp->n_vocab,
                      .mask_id = hp->mask_id,
                      .sum_neg = &sum,
                      .scale = 1.0};
        st = bd3_forward_rows_each(c, canvas, n, BD3_GLOBAL, rows, nr, OPS_CHUNK, chunk, ops_logp_rows, &q);
        if (st != BD3_OK) return st;
        total += sum * (double)m / (double)k;
    }
    *nats = total / n_draws;
    return BD3_OK;
}

/* Progress of one length of bd3_infill_fit, handed on with counts over all lengths. */
typedef struct fit_step {
    bd3_step_fn cb;  /* the caller's callback */
    void *user;      /* its argument */
    int done_before; /* tokens written at the lengths tried before */
    int n_target;    /* tokens written at all lengths */
} fit_step;

static int fit_on_step(void *user, const bd3_progress *p)
{
    fit_step *f = user;
    bd3_progress q = *p;
    q.n_done = f->done_before + p->n_done;
    q.n_target = f->n_target;
    return f->cb ? f->cb(f->user, &q) : 0;
}

bd3_status bd3_infill_fit(bd3_ctx *c, const bd3_sampler_params *p, const int32_t *ids, int n, int lo, int hi,
                          int len_min, int len_max, int n_draws, int32_t *out, float *out_conf, int *n_out,
                          double *nats_per_byte, bd3_step_fn cb, void *user)
{
    const int around = FIT_AROUND;
    bd3_status st = ops_check_window(c, ids, n);
    if (st != BD3_OK) return st;
    const bd3_model *m = bd3_ctx_model(c);
    const bd3_hparams *hp = bd3_model_hparams(m);
    if (!p || !out || !n_out || lo < 0 || hi < lo || hi > n || len_min < 1 || len_max < len_min ||
        n - (hi - lo) + len_max > hp->n_ctx)
        return BD3_E_ARG;
    /* the window at one length (at most n - (hi - lo) + len_max <= n_ctx tokens), its confidence,
       1 on the span: one slot, n_ctx of each */
    const size_t N = (size_t)hp->n_ctx;
    int32_t *canvas = ops_work(c, OPS_W_FIT, N, sizeof(int32_t) + sizeof(float) + 1);
    if (!canvas) return BD3_E_NOMEM;
    float *conf = (float *)(void *)(canvas + N);
    uint8_t *target = (uint8_t *)(conf + N);
    fit_step fs = {.cb = cb, .user = user};
    for (int len = len_min; len <= len_max; len++) fs.n_target += len;
    double best = INFINITY;
    *n_out = 0;
    for (int len = len_min; len <= len_max; len++) {
        const int w = n - (hi - lo) + len;
        memcpy(canvas, ids, (size_t)lo * sizeof *canvas);
        for (int i = lo; i < lo + len; i++) canvas[i] = hp->mask_id;
        memcpy(canvas + lo + len, ids + hi, (size_t)(n - hi) * sizeof *canvas);
        memset(conf, 0, (size_t)w * sizeof *conf);
        st = ops_infill_words(c, p, canvas, conf, w, fit_on_step, &fs);
        if (st != BD3_OK) return st;
        fs.done_before += len;
        memset(target, 0, (size_t)w);
        size_t bytes = 0;
        int t0 = lo - around > 0 ? lo - around : 0, t1 = lo + len + around < w ? lo + len + around : w;
        for (int i = t0; i < t1; i++) {
            size_t bl = 0;
            bd3_token_bytes(m, canvas[i], &bl);
            bytes += bl;
            target[i] = 1;
        }
        double nats = 0.0;
        st = bd3_nelbo_span(c, canvas, w, target, n_draws, p->seed, &nats);
        if (st != BD3_OK) return st;
        double per_byte = nats / (double)(bytes > 0 ? bytes : 1);
        if (per_byte < best) {
            best = per_byte;
            memcpy(out, canvas + lo, (size_t)len * sizeof *out);
            if (out_conf) memcpy(out_conf, conf + lo, (size_t)len * sizeof *out_conf);
            *n_out = len;
            if (nats_per_byte) *nats_per_byte = per_byte;
        }
    }
    return BD3_OK;
}
