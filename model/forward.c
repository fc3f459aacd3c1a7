/* forward.c: run-time context, forward pass (spec 1) in global and block-causal mode, float32 KV
 * cache with commit pass and sliding window (spec 2); all buffers come from bd3_ctx_new. Depends on
 * model.h, kernels.h, pool.h and OpenBLAS (cblas_sgemm for every matrix product) only. */
#include "forward.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CTX_SCORE_FLOATS (1 << 18) /* target size of one thread's attention scores, floats */
#define CTX_ROWS_PER_TASK 32       /* rows per task of the elementwise loops */
#define CTX_SMALL_ROWS 32          /* products over at most this many rows run in small slices */
#define CTX_MAX_THREADS 64         /* threads of one context at most */

/* Widest slice (a multiple of 16; 0 if none) of one dimension of a column-major product
 * [m, k] x [k, n] that OpenBLAS's small-matrix kernels take (they skip packing): m * n * k <= 1e6,
 * and with a transposed first operand m * n <= 1200 and k >= 32. fixed: the size of the other of
 * m and k; transposed: first operand transposed, slicing m (fixed = k). */
static int ctx_small_slice(int n, int fixed, int transposed)
{
    long lim = 1000000L / ((long)n * fixed);
    if (transposed) {
        if (fixed < 32) return 0;
        if (1200L / n < lim) lim = 1200L / n;
    }
    lim = lim / 16 * 16;
    return lim >= 16 ? (int)lim : 0;
}

/* Allocates n floats (64-byte aligned) and counts them in *bytes; NULL on failure. */
static float *ctx_alloc(size_t n, size_t *bytes)
{
    void *p = NULL;
    size_t sz = (n ? n : 1) * sizeof(float);
    sz = (sz + 63) / 64 * 64;
    if (posix_memalign(&p, 64, sz)) return NULL;
    *bytes += sz;
    return p;
}

bd3_status bd3_ctx_new(const bd3_model *m, int n_threads, bd3_ctx **out)
{
    if (!out) return BD3_E_ARG;
    *out = NULL;
    if (!m) return BD3_E_ARG;
    const bd3_hparams *hp = &m->hp;
    bd3_ctx *c = calloc(1, sizeof *c);
    if (!c) return BD3_E_NOMEM;
    c->m = m;
    if (n_threads <= 0) {
        long k = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = k > 0 ? (int)k : 1;
    }
    if (n_threads > CTX_MAX_THREADS) n_threads = CTX_MAX_THREADS;
    c->n_threads = n_threads;
    size_t N = (size_t)hp->n_ctx, D = (size_t)hp->n_embd, F = (size_t)hp->n_ff;
    size_t hd = D / (size_t)hp->n_head, L = (size_t)hp->n_layer;
    size_t chunk = CTX_SCORE_FLOATS / N;
    if (chunk < 16) chunk = 16;
    if (chunk > N) chunk = N;
    c->q_chunk = (int)chunk;
    c->bytes = sizeof *c;
    c->x = ctx_alloc(N * D, &c->bytes);
    c->a = ctx_alloc(N * D, &c->bytes);
    c->qkv = ctx_alloc(N * 3 * D, &c->bytes);
    c->att = ctx_alloc(N * D, &c->bytes);
    c->proj = ctx_alloc(N * D, &c->bytes);
    c->ff = ctx_alloc(N * F, &c->bytes);
    c->scores = ctx_alloc((size_t)n_threads * chunk * N, &c->bytes);
    c->k_rot = ctx_alloc(L * N * D, &c->bytes);
    c->rope_cos = ctx_alloc(N * hd / 2, &c->bytes);
    c->rope_sin = ctx_alloc(N * hd / 2, &c->bytes);
    c->k_cache = ctx_alloc(L * N * D, &c->bytes);
    c->v_cache = ctx_alloc(L * N * D, &c->bytes);
    c->inv_sum = ctx_alloc((size_t)n_threads * chunk, &c->bytes);
    c->lens = malloc(N * sizeof *c->lens);
    c->bytes += N * sizeof *c->lens;
    c->pool = pool_new(n_threads);
    if (!c->pool || !c->x || !c->a || !c->qkv || !c->att || !c->proj || !c->ff || !c->scores ||
        !c->k_rot || !c->inv_sum || !c->rope_cos || !c->rope_sin || !c->k_cache || !c->v_cache ||
        !c->lens) {
        bd3_ctx_free(c);
        return BD3_E_NOMEM;
    }
    kern_rope_table(hp->n_ctx, (int)hd, hp->rope_base, c->rope_cos, c->rope_sin);
    *out = c;
    return BD3_OK;
}

void bd3_ctx_free(bd3_ctx *c)
{
    if (!c) return;
    pool_free(c->pool);
    free(c->x);
    free(c->a);
    free(c->qkv);
    free(c->att);
    free(c->proj);
    free(c->ff);
    free(c->scores);
    free(c->k_rot);
    free(c->inv_sum);
    free(c->rope_cos);
    free(c->rope_sin);
    free(c->k_cache);
    free(c->v_cache);
    free(c->lens);
    free(c);
}

const bd3_model *bd3_ctx_model(const bd3_ctx *c) { return c->m; }
size_t bd3_ctx_bytes(const bd3_ctx *c) { return c->bytes; }

/* y^T = w x^T in column-major terms, for output rows [o0, o0 + n_o): the weight is the long
   operand, which OpenBLAS packs once per call even when n is small. */
static void ctx_linear_part(int n, int o0, int n_o, int n_in, const float *x, int ldx, const float *w,
                            float beta, float *y, int ldy)
{
    cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, n_o, n, n_in, 1.0f, w + (size_t)o0 * n_in, n_in,
                x, ldx, beta, y + o0, ldy);
}

typedef struct ctx_lin_job {
    int n, n_out, n_in, ldx, ldy, part; /* shapes; part = output rows per task */
    const float *x, *w;                 /* [n, n_in] rows of ldx; [n_out, n_in] */
    float *y;                           /* [n, n_out] rows of ldy */
    float beta;                         /* 0 or 1 */
} ctx_lin_job;

static void ctx_lin_task(void *arg, int t, int tid)
{
    (void)tid;
    const ctx_lin_job *j = arg;
    int o0 = t * j->part, n_o = j->n_out - o0 < j->part ? j->n_out - o0 : j->part;
    ctx_linear_part(j->n, o0, n_o, j->n_in, j->x, j->ldx, j->w, j->beta, j->y, j->ldy);
}

void ctx_linear(bd3_ctx *c, int n, int n_out, int n_in, const float *x, int ldx, const float *w,
                float beta, float *y, int ldy)
{
    int T = pool_threads(c->pool);
    /* one slice of the output features per thread, each a single-threaded sgemm; for a few rows
       (a block in a cache call) slices small enough for OpenBLAS's small-matrix kernels, which
       multiply straight from the weights without packing them first */
    int small = n <= CTX_SMALL_ROWS ? ctx_small_slice(n, n_in, 1) : 0;
    int part = small ? small : ((n_out + T - 1) / T + 15) / 16 * 16;
    if (T == 1 && !small) {
        ctx_linear_part(n, 0, n_out, n_in, x, ldx, w, beta, y, ldy);
        return;
    }
    ctx_lin_job j = { n, n_out, n_in, ldx, ldy, part, x, w, y, beta };
    pool_run(c->pool, (n_out + part - 1) / part, ctx_lin_task, &j);
}

/* c[m, n] = a[m, k] @ b[n, k]^T (+ c when beta = 1): a row-major with lda, b row-major with ldb. */
static void ctx_gemm_nt(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                        int ldb, float beta, float *cc, int ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc);
}

/* c[m, n] = a[m, k] @ b[k, n] + beta * c. */
static void ctx_gemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                        float beta, float *cc, int ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, beta, cc, ldc);
}

typedef struct ctx_att_job {
    bd3_ctx *c;           /* context (scores, lens) */
    const float *q;       /* queries, rows of ldq */
    const float *k;       /* keys, rows of ldk */
    const float *v;       /* values, rows of ldv */
    float *out;           /* [nq, D] */
    int ldq, ldk, ldv;    /* row strides, floats */
    int nq;               /* query rows */
    int n_chunks;         /* query chunks of q_chunk rows */
} ctx_att_job;

/* Task t: query chunk t / H, head t % H, on thread tid's score buffer. */
static void ctx_att_task(void *arg, int t, int tid)
{
    const ctx_att_job *j = arg;
    bd3_ctx *c = j->c;
    const bd3_hparams *hp = &c->m->hp;
    int D = hp->n_embd, H = hp->n_head, hd = D / H, N = hp->n_ctx;
    int r0 = (t / H) * c->q_chunk, h = t % H;
    int rows = j->nq - r0 < c->q_chunk ? j->nq - r0 : c->q_chunk;
    int kmax = c->lens[r0 + rows - 1]; /* lens grows with the row */
    float *s = c->scores + (size_t)tid * c->q_chunk * N;
    float alpha = (float)(1.0 / sqrt((double)hd));
    const float *q = j->q + (size_t)r0 * j->ldq + (size_t)h * hd;
    const float *k = j->k + (size_t)h * hd, *v = j->v + (size_t)h * hd;
    float *o = j->out + (size_t)r0 * D + (size_t)h * hd;
    /* a few query rows (a cache call): slices of keys small enough for the unpacked kernels */
    int ks = rows <= CTX_SMALL_ROWS ? ctx_small_slice(rows, hd, 1) : 0;
    int vs = rows <= CTX_SMALL_ROWS ? ctx_small_slice(rows, hd, 0) : 0;
    if (!ks) ks = kmax;
    if (!vs) vs = kmax;
    for (int k0 = 0; k0 < kmax; k0 += ks) {
        int kk = kmax - k0 < ks ? kmax - k0 : ks;
        ctx_gemm_nt(rows, kk, hd, alpha, q, j->ldq, k + (size_t)k0 * j->ldk, j->ldk, 0.0f, s + k0, N);
    }
    float *inv = c->inv_sum + (size_t)tid * c->q_chunk;
    kern_softmax_rows(s, rows, N, kmax, c->lens + r0, inv);
    for (int k0 = 0; k0 < kmax; k0 += vs) {
        int kk = kmax - k0 < vs ? kmax - k0 : vs;
        ctx_gemm_nn(rows, hd, kk, s + k0, N, v + (size_t)k0 * j->ldv, j->ldv, k0 ? 1.0f : 0.0f, o, D);
    }
    for (int i = 0; i < rows; i++)
        for (int d = 0; d < hd; d++) o[(size_t)i * D + d] *= inv[i];
}

void ctx_attention(bd3_ctx *c, const float *q, int ldq, int nq, int qpos0, const float *k, int ldk,
                   const float *v, int ldv, int nk, int block_len, float *out)
{
    const bd3_hparams *hp = &c->m->hp;
    for (int i = 0; i < nq; i++) {
        int lim = nk;
        if (block_len > 0) {
            long end = ((long)(qpos0 + i) / block_len + 1) * block_len;
            if (end < lim) lim = (int)end;
        }
        c->lens[i] = lim;
    }
    ctx_att_job j = { c, q, k, v, out, ldq, ldk, ldv, nq, (nq + c->q_chunk - 1) / c->q_chunk };
    /* heads run in parallel on the pool, each product on one thread */
    pool_run(c->pool, j.n_chunks * hp->n_head, ctx_att_task, &j);
}

/* ---- elementwise loops split by rows over the pool ---- */

typedef enum ctx_op { CTX_NORM, CTX_GATE, CTX_GELU, CTX_ROPE } ctx_op;

typedef struct ctx_rows_job {
    ctx_op op;            /* which kernel */
    int n, d;             /* rows, row width */
    float *x;             /* in/out rows (norm: input) */
    float *out;           /* norm output */
    const float *y;       /* gate: added rows */
    const float *w, *p1, *p2; /* norm: weight, shift, scale; gate: bias, gate; gelu: bias */
    float eps;            /* norm epsilon */
    int stride, n_head, hd, pos0; /* rope */
    const float *cos_tab, *sin_tab; /* rope tables */
} ctx_rows_job;

static void ctx_rows_task(void *arg, int t, int tid)
{
    (void)tid;
    const ctx_rows_job *j = arg;
    int r0 = t * CTX_ROWS_PER_TASK, rows = j->n - r0 < CTX_ROWS_PER_TASK ? j->n - r0 : CTX_ROWS_PER_TASK;
    size_t off = (size_t)r0 * j->d;
    switch (j->op) {
    case CTX_NORM: kern_norm_mod(j->x + off, rows, j->d, j->eps, j->w, j->p1, j->p2, j->out + off); break;
    case CTX_GATE: kern_gate_add(j->x + off, j->y + off, j->w, j->p1, rows, j->d); break;
    case CTX_GELU: kern_bias_gelu(j->x + off, j->w, rows, j->d); break;
    case CTX_ROPE:
        kern_rope(j->x + (size_t)r0 * j->stride, rows, j->stride, j->n_head, j->hd, j->pos0 + r0,
                  j->cos_tab, j->sin_tab);
        break;
    }
}

static void ctx_rows(bd3_ctx *c, ctx_rows_job *j)
{
    pool_run(c->pool, (j->n + CTX_ROWS_PER_TASK - 1) / CTX_ROWS_PER_TASK, ctx_rows_task, j);
}

static void ctx_norm(bd3_ctx *c, const float *x, int n, const float *w, const float *shift,
                     const float *scale, float *out)
{
    const bd3_hparams *hp = &c->m->hp;
    ctx_rows_job j = { .op = CTX_NORM, .n = n, .d = hp->n_embd, .x = (float *)x, .out = out, .w = w,
                       .p1 = shift, .p2 = scale, .eps = hp->norm_eps };
    ctx_rows(c, &j);
}

static void ctx_gate(bd3_ctx *c, float *h, const float *y, const float *bias, const float *gate, int n)
{
    ctx_rows_job j = { .op = CTX_GATE, .n = n, .d = c->m->hp.n_embd, .x = h, .y = y, .w = bias, .p1 = gate };
    ctx_rows(c, &j);
}

static void ctx_gelu(bd3_ctx *c, float *x, const float *bias, int n)
{
    ctx_rows_job j = { .op = CTX_GELU, .n = n, .d = c->m->hp.n_ff, .x = x, .w = bias };
    ctx_rows(c, &j);
}

/* RoPE on n rows of stride floats at positions pos0..: the first n_sets * H heads of each row. */
static void ctx_rope(bd3_ctx *c, float *x, int n, int stride, int pos0, int n_sets)
{
    const bd3_hparams *hp = &c->m->hp;
    ctx_rows_job j = { .op = CTX_ROPE, .n = n, .d = stride, .x = x, .stride = stride,
                       .n_head = n_sets * hp->n_head,
                       .hd = hp->n_embd / hp->n_head, .pos0 = pos0, .cos_tab = c->rope_cos,
                       .sin_tab = c->rope_sin };
    ctx_rows(c, &j);
}

/* Embedding rows for ids into c->x. */
static void ctx_embed(bd3_ctx *c, const int32_t *ids, int n)
{
    size_t D = (size_t)c->m->hp.n_embd;
    for (int i = 0; i < n; i++) memcpy(c->x + (size_t)i * D, c->m->tok_embd + (size_t)ids[i] * D, D * sizeof(float));
}

/* The attention half of layer l for n rows in c->x, leaving q|k|v in c->qkv. Without the cache
 * (cache_pos < 0): positions 0..n-1 and block_len masking. With the cache: the rows are at window
 * positions cache_pos..cache_pos+n-1; their raw K and V are written to cache rows cache_pos.. of
 * layer l and the queries attend to cache rows 0..cache_pos+n-1. */
static void ctx_attn_layer(bd3_ctx *c, int l, int n, int block_len, int cache_pos, int store_only)
{
    const bd3_model *m = c->m;
    const bd3_hparams *hp = &m->hp;
    const bd3_layer *L = &m->layers[l];
    int D = hp->n_embd, N = hp->n_ctx;
    const float *mod = L->mod; /* [6, D] */
    ctx_norm(c, c->x, n, L->attn_norm, mod, mod + D, c->a);
    ctx_linear(c, n, 3 * D, D, c->a, D, L->wqkv, 0.0f, c->qkv, 3 * D);
    if (cache_pos < 0) {
        ctx_rope(c, c->qkv, n, 3 * D, 0, 2); /* q and k side by side: 2H heads */
        ctx_attention(c, c->qkv, 3 * D, n, 0, c->qkv + D, 3 * D, c->qkv + 2 * D, 3 * D, n, block_len,
                      c->att);
        return;
    }
    size_t lo = (size_t)l * N * D, row = (size_t)D * sizeof(float);
    float *kc = c->k_cache + lo, *kr = c->k_rot + lo, *vc = c->v_cache + lo;
    for (int i = 0; i < n; i++) {
        const float *q = c->qkv + (size_t)i * 3 * D;
        memcpy(kc + (size_t)(cache_pos + i) * D, q + D, row);
        memcpy(kr + (size_t)(cache_pos + i) * D, q + D, row);
        memcpy(vc + (size_t)(cache_pos + i) * D, q + 2 * D, row);
    }
    /* rows 0..cache_pos-1 of kr are already rotated at their current positions */
    ctx_rope(c, kr + (size_t)cache_pos * D, n, D, cache_pos, 1);
    if (store_only) return;
    ctx_rope(c, c->qkv, n, 3 * D, cache_pos, 1);
    ctx_attention(c, c->qkv, 3 * D, n, cache_pos, kr, D, vc, D, cache_pos + n, 0, c->att);
}

/* The rest of layer l after attention: output projection, gated residual, MLP. */
static void ctx_mlp_layer(bd3_ctx *c, int l, int n)
{
    const bd3_model *m = c->m;
    const bd3_hparams *hp = &m->hp;
    const bd3_layer *L = &m->layers[l];
    int D = hp->n_embd, F = hp->n_ff;
    const float *mod = L->mod;
    ctx_linear(c, n, D, D, c->att, D, L->wo, 0.0f, c->proj, D);
    ctx_gate(c, c->x, c->proj, NULL, mod + 2 * D, n);
    ctx_norm(c, c->x, n, L->ffn_norm, mod + 3 * D, mod + 4 * D, c->a);
    ctx_linear(c, n, F, D, c->a, D, L->w_up, 0.0f, c->ff, F);
    ctx_gelu(c, c->ff, L->b_up, n);
    ctx_linear(c, n, D, F, c->ff, F, L->w_down, 0.0f, c->proj, D);
    ctx_gate(c, c->x, c->proj, L->b_down, mod + 5 * D, n);
}

/* Final norm and output projection of n rows into logits [n, V]. */
static void ctx_output(bd3_ctx *c, int n, float *logits)
{
    const bd3_model *m = c->m;
    const bd3_hparams *hp = &m->hp;
    int D = hp->n_embd, V = hp->n_vocab;
    ctx_norm(c, c->x, n, m->out_norm, m->out_mod, m->out_mod + D, c->a);
    for (int i = 0; i < n; i++) memcpy(logits + (size_t)i * V, m->b_out, (size_t)V * sizeof(float));
    ctx_linear(c, n, V, D, c->a, D, m->w_out, 1.0f, logits, V);
}

static bd3_status ctx_check_ids(const bd3_ctx *c, const int32_t *ids, int n)
{
    if (!ids) return BD3_E_ARG;
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= c->m->hp.n_vocab) return BD3_E_ARG;
    return BD3_OK;
}

/* Every product runs single-threaded inside one task of the pool, which does all the
   parallel work: OpenBLAS's own threads would only spin beside it. */
static void ctx_threads(bd3_ctx *c)
{
    (void)c;
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

bd3_status bd3_forward(bd3_ctx *c, const int32_t *ids, int n, int block_len, float *logits)
{
    if (!c || !logits || n < 1 || n > c->m->hp.n_ctx || block_len < 0) return BD3_E_ARG;
    if (ctx_check_ids(c, ids, n)) return BD3_E_ARG;
    ctx_threads(c);
    ctx_embed(c, ids, n);
    for (int l = 0; l < c->m->hp.n_layer; l++) {
        ctx_attn_layer(c, l, n, block_len, -1, 0);
        ctx_mlp_layer(c, l, n);
    }
    ctx_output(c, n, logits);
    return BD3_OK;
}

void bd3_cache_clear(bd3_ctx *c)
{
    if (c) c->cache_len = 0;
}

int bd3_cache_len(const bd3_ctx *c) { return c ? c->cache_len : 0; }

bd3_status bd3_cache_forward(bd3_ctx *c, const int32_t *ids, int n, float *logits)
{
    if (!c || !logits || n < 1 || c->cache_len + n > c->m->hp.n_ctx) return BD3_E_ARG;
    if (ctx_check_ids(c, ids, n)) return BD3_E_ARG;
    ctx_threads(c);
    ctx_embed(c, ids, n);
    for (int l = 0; l < c->m->hp.n_layer; l++) {
        ctx_attn_layer(c, l, n, 0, c->cache_len, 0);
        ctx_mlp_layer(c, l, n);
    }
    ctx_output(c, n, logits);
    return BD3_OK;
}

bd3_status bd3_cache_commit(bd3_ctx *c, const int32_t *ids, int n)
{
    if (!c || n < 1 || c->cache_len + n > c->m->hp.n_ctx) return BD3_E_ARG;
    if (ctx_check_ids(c, ids, n)) return BD3_E_ARG;
    const bd3_hparams *hp = &c->m->hp;
    ctx_threads(c);
    ctx_embed(c, ids, n);
    for (int l = 0; l < hp->n_layer; l++) {
        int last = l == hp->n_layer - 1; /* its K and V are all the commit needs from it */
        ctx_attn_layer(c, l, n, 0, c->cache_len, last);
        if (!last) ctx_mlp_layer(c, l, n);
    }
    int len = c->cache_len + n, keep = hp->n_ctx - n;
    if (len > keep) {
        size_t D = (size_t)hp->n_embd, N = (size_t)hp->n_ctx, drop = (size_t)(len - keep);
        for (int l = 0; l < hp->n_layer; l++) {
            float *kc = c->k_cache + (size_t)l * N * D, *vc = c->v_cache + (size_t)l * N * D;
            float *kr = c->k_rot + (size_t)l * N * D;
            memmove(kc, kc + drop * D, (size_t)keep * D * sizeof(float));
            memmove(vc, vc + drop * D, (size_t)keep * D * sizeof(float));
            /* every kept row moved to a new window position: rotate again from the raw keys */
            memcpy(kr, kc, (size_t)keep * D * sizeof(float));
            ctx_rope(c, kr, keep, (int)D, 0, 1);
        }
        len = keep;
    }
    c->cache_len = len;
    return BD3_OK;
}

/* ---- logits of selected rows ---------------------------------------------------------------- */

/* The layers of a window pass, then the wanted rows of the residual stream gathered to the front
 * (rows[j] >= j and ascending, so no source row is overwritten before it is read). */
static bd3_status ctx_rows_pass(bd3_ctx *c, const int32_t *ids, int n, int block_len, const int *rows,
                                int n_rows)
{
    if (!c || !rows || n < 1 || n > c->m->hp.n_ctx || block_len < 0 || n_rows < 1 || n_rows > n)
        return BD3_E_ARG;
    for (int j = 0; j < n_rows; j++)
        if (rows[j] < 0 || rows[j] >= n || (j > 0 && rows[j] <= rows[j - 1])) return BD3_E_ARG;
    if (ctx_check_ids(c, ids, n)) return BD3_E_ARG;
    ctx_threads(c);
    ctx_embed(c, ids, n);
    for (int l = 0; l < c->m->hp.n_layer; l++) {
        ctx_attn_layer(c, l, n, block_len, -1, 0);
        ctx_mlp_layer(c, l, n);
    }
    size_t D = (size_t)c->m->hp.n_embd;
    for (int j = 0; j < n_rows; j++)
        if (rows[j] != j) memcpy(c->x + (size_t)j * D, c->x + (size_t)rows[j] * D, D * sizeof(float));
    return BD3_OK;
}

bd3_status bd3_forward_rows(bd3_ctx *c, const int32_t *ids, int n, int block_len, const int *rows,
                            int n_rows, float *logits)
{
    if (!logits) return BD3_E_ARG;
    bd3_status st = ctx_rows_pass(c, ids, n, block_len, rows, n_rows);
    if (st != BD3_OK) return st;
    ctx_output(c, n_rows, logits);
    return BD3_OK;
}

bd3_status bd3_forward_rows_each(bd3_ctx *c, const int32_t *ids, int n, int block_len,
                                 const int *rows, int n_rows, int chunk, float *logits,
                                 bd3_rows_fn fn, void *user)
{
    if (!logits || !fn || chunk < 1) return BD3_E_ARG;
    bd3_status st = ctx_rows_pass(c, ids, n, block_len, rows, n_rows);
    if (st != BD3_OK) return st;
    size_t D = (size_t)c->m->hp.n_embd;
    for (int j0 = 0; j0 < n_rows; j0 += chunk) {
        int nj = n_rows - j0 < chunk ? n_rows - j0 : chunk;
        /* Rows before j0 are done: move this chunk to the front, where ctx_output reads. */
        if (j0 > 0) memmove(c->x, c->x + (size_t)j0 * D, (size_t)nj * D * sizeof(float));
        ctx_output(c, nj, logits);
        st = fn(user, j0, nj, logits);
        if (st != BD3_OK) return st;
    }
    return BD3_OK;
}
