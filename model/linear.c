/* linear.c: the matrix products of the forward pass, y = x w^T over the thread pool, by the
 * weight's kind: float32 (OpenBLAS sgemm by slices of output features), packed Q8_0/Q4_0 (int8
 * activations, quant.c) and bfloat16 (bf16.c), split by row panels and output tiles. Depends on
 * forward.h, quant.h, bf16.h, pool.h and OpenBLAS only. */
#include "forward.h"

#include <cblas.h>
#include <stddef.h>

/* y^T = w x^T in column-major terms, for output rows [o0, o0 + n_o): the weight is the long
   operand, which OpenBLAS packs once per call even when n is small. */
static void forward_linear_part(int n, int o0, int n_o, int n_in, const float *x, int ldx, const float *w,
                                float beta, float *y, int ldy)
{
    cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, n_o, n, n_in, 1.0f, w + (size_t)o0 * n_in, n_in, x,
                ldx, beta, y + o0, ldy);
}

typedef struct forward_lin_job {
    int n, n_out, n_in, ldx, ldy, part; /* shapes; part = output rows per task */
    const float *x, *w;                 /* [n, n_in] rows of ldx; [n_out, n_in] */
    float *y;                           /* [n, n_out] rows of ldy */
    float beta;                         /* 0 or 1 */
} forward_lin_job;

static void forward_lin_task(void *arg, int t, int tid)
{
    (void)tid;
    const forward_lin_job *j = arg;
    int o0 = t * j->part, n_o = j->n_out - o0 < j->part ? j->n_out - o0 : j->part;
    forward_linear_part(j->n, o0, n_o, j->n_in, j->x, j->ldx, j->w, j->beta, j->y, j->ldy);
}

/* The float32 product of forward_linear. */
static void forward_linear_f32(bd3_ctx *c, int n, int n_out, int n_in, const float *x, int ldx,
                               const float *w, float beta, float *y, int ldy)
{
    int T = pool_threads(c->pool);
    /* one slice of the output features per thread, each a single-threaded sgemm; for a few rows
       (a block in a cache call) slices small enough for OpenBLAS's small-matrix kernels, which
       multiply straight from the weights without packing them first */
    int small = n <= FORWARD_SMALL_ROWS ? forward_small_slice(n, n_in, 1) : 0;
    int part = small ? small : ((n_out + T - 1) / T + 15) / 16 * 16;
    if (T == 1 && !small) {
        forward_linear_part(n, 0, n_out, n_in, x, ldx, w, beta, y, ldy);
        return;
    }
    forward_lin_job j = {n, n_out, n_in, ldx, ldy, part, x, w, y, beta};
    pool_run(c->pool, (n_out + part - 1) / part, forward_lin_task, &j);
}

typedef struct forward_q_job {
    bd3_ctx *c;            /* context (quantized input in xq, xd, xs) */
    const quant_matrix *w; /* the matrix */
    const float *x;        /* [n, n_in] input rows of ldx (quantization tasks) */
    int ldx;               /* row stride of x */
    int n;                 /* rows */
    int panel;             /* rows per product task */
    int n_panels;          /* ceil(n / panel) */
    int tiles;             /* output tiles per product task */
    float beta;            /* 0 or 1 */
    float *y;              /* [n, n_out] output rows of ldy */
    int ldy;               /* row stride of y */
    int per_task;          /* rows per quantization task */
} forward_q_job;

static void forward_quant_task(void *arg, int t, int tid)
{
    (void)tid;
    const forward_q_job *j = arg;
    int r0 = t * j->per_task, rows = j->n - r0 < j->per_task ? j->n - r0 : j->per_task;
    size_t k = (size_t)j->w->cols, nb = k / QUANT_BLOCK;
    quant_rows(j->x + (size_t)r0 * j->ldx, rows, (int)k, j->ldx, j->c->xq + r0 * k, j->c->xd + r0 * nb,
               j->c->xs + r0 * nb);
}

/* Task t: row panel t % n_panels, tiles from (t / n_panels) * tiles. */
static void forward_qmm_task(void *arg, int t, int tid)
{
    (void)tid;
    const forward_q_job *j = arg;
    int p = t % j->n_panels, t0 = (t / j->n_panels) * j->tiles;
    int t1 = t0 + j->tiles < j->w->n_tiles ? t0 + j->tiles : j->w->n_tiles;
    int r0 = p * j->panel, rows = j->n - r0 < j->panel ? j->n - r0 : j->panel;
    size_t k = (size_t)j->w->cols, nb = k / QUANT_BLOCK;
    quant_matmul(j->w, t0, t1, rows, j->c->xq + r0 * k, j->c->xd + r0 * nb, j->c->xs + r0 * nb, j->beta,
                 j->y + (size_t)r0 * j->ldy, j->ldy);
}

#define FORWARD_PANEL 256 /* rows of one int8 or bf16 product task: their quantized input stays in L2 */

/* Tasks of an int8 or bf16 product over n rows and n_tiles output tiles: panels of at most
 * FORWARD_PANEL rows times groups of *tiles tiles, about four tasks per thread in all so that
 * threads finishing early take more. Returns the task count; task t is panel t % *n_panels. */
static int forward_split(const bd3_ctx *c, int n, int n_tiles, int *panel, int *n_panels, int *tiles)
{
    int T = pool_threads(c->pool);
    *panel = n < FORWARD_PANEL ? n : FORWARD_PANEL;
    *n_panels = (n + *panel - 1) / *panel;
    int per_panel = (4 * T + *n_panels - 1) / *n_panels;
    *tiles = (n_tiles + per_panel - 1) / per_panel;
    if (*tiles < 1) *tiles = 1;
    return *n_panels * ((n_tiles + *tiles - 1) / *tiles);
}

typedef struct forward_b_job {
    bd3_ctx *c;         /* context (rounded input in xb) */
    const uint16_t *w;  /* [n_out, n_in] bfloat16 weights */
    const float *x;     /* [n, n_in] input rows of ldx (rounding tasks) */
    int ldx;            /* row stride of x */
    int n, n_out, n_in; /* rows, output features, input features */
    int panel;          /* rows per product task */
    int n_panels;       /* ceil(n / panel) */
    int tiles;          /* output tiles of BF16_TILE features per product task */
    float beta;         /* 0 or 1 */
    float *y;           /* [n, n_out] output rows of ldy */
    int ldy;            /* row stride of y */
    int per_task;       /* rows per rounding task */
} forward_b_job;

static void forward_bround_task(void *arg, int t, int tid)
{
    (void)tid;
    const forward_b_job *j = arg;
    int r0 = t * j->per_task, rows = j->n - r0 < j->per_task ? j->n - r0 : j->per_task;
    bf16_round_rows(j->x + (size_t)r0 * j->ldx, rows, j->n_in, j->ldx, j->c->xb + (size_t)r0 * j->n_in,
                    j->n_in);
}

/* Task t: row panel t % n_panels, output features from (t / n_panels) * tiles * BF16_TILE; thread
 * tid gathers the weights into its part of wtile (BF16_TILE * n_in values). */
static void forward_bmm_task(void *arg, int t, int tid)
{
    const forward_b_job *j = arg;
    int p = t % j->n_panels, o0 = (t / j->n_panels) * j->tiles * BF16_TILE;
    int o1 = o0 + j->tiles * BF16_TILE < j->n_out ? o0 + j->tiles * BF16_TILE : j->n_out;
    int r0 = p * j->panel, rows = j->n - r0 < j->panel ? j->n - r0 : j->panel;
    bf16_matmul(j->w, j->n_in, o0, o1, rows, j->n_in, j->c->xb + (size_t)r0 * j->n_in, j->n_in, j->beta,
                j->y + (size_t)r0 * j->ldy, j->ldy, j->c->wtile + (size_t)tid * BF16_TILE * (size_t)j->n_in);
}

/* The bf16 product of forward_linear: the rows rounded to bfloat16, then panels of rows times
 * groups of output tiles, partitioned as the int8 product partitions its tiles. */
static void forward_linear_bf16(bd3_ctx *c, int n, int n_out, int n_in, const float *x, int ldx,
                                const uint16_t *w, float beta, float *y, int ldy)
{
    forward_b_job j = {.c = c,
                       .w = w,
                       .x = x,
                       .ldx = ldx,
                       .n = n,
                       .n_out = n_out,
                       .n_in = n_in,
                       .beta = beta,
                       .y = y,
                       .ldy = ldy};
    j.per_task = forward_rows_per_task(c, n);
    pool_run(c->pool, (n + j.per_task - 1) / j.per_task, forward_bround_task, &j);
    int n_tasks = forward_split(c, n, (n_out + BF16_TILE - 1) / BF16_TILE, &j.panel, &j.n_panels, &j.tiles);
    pool_run(c->pool, n_tasks, forward_bmm_task, &j);
}

void forward_linear(bd3_ctx *c, int n, int n_out, int n_in, const float *x, int ldx, const model_matrix *w,
                    float beta, float *y, int ldy)
{
    if (w->kind == MODEL_KIND_F32) {
        forward_linear_f32(c, n, n_out, n_in, x, ldx, w->f32, beta, y, ldy);
        return;
    }
    if (n > c->row_chunk) { /* the quantized or bfloat16 input holds row_chunk rows */
        for (int r0 = 0; r0 < n; r0 += c->row_chunk) {
            int nr = n - r0 < c->row_chunk ? n - r0 : c->row_chunk;
            forward_linear(c, nr, n_out, n_in, x + (size_t)r0 * ldx, ldx, w, beta, y + (size_t)r0 * ldy, ldy);
        }
        return;
    }
    if (w->kind == MODEL_KIND_BF16) {
        forward_linear_bf16(c, n, n_out, n_in, x, ldx, w->b16, beta, y, ldy);
        return;
    }
    forward_q_job j = {.c = c, .w = &w->q, .x = x, .ldx = ldx, .n = n, .beta = beta, .y = y, .ldy = ldy};
    j.per_task = forward_rows_per_task(c, n);
    pool_run(c->pool, (n + j.per_task - 1) / j.per_task, forward_quant_task, &j);
    int n_tasks = forward_split(c, n, w->q.n_tiles, &j.panel, &j.n_panels, &j.tiles);
    pool_run(c->pool, n_tasks, forward_qmm_task, &j);
}
