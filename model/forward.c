/* forward.c: context, forward pass (spec 1), float32 KV cache with commit, sliding and reuse across
 * calls (spec 2), window cache of approximate global denoising; buffers all from bd3_ctx_new.
 * Depends on model.h, kernels.h, pool.h and OpenBLAS (cblas_sgemm for every matrix product) only. */
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
#define CTX_FNV_BASIS 0xcbf29ce484222325ull /* FNV-1a 64-bit offset basis */

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
    c->win_v = ctx_alloc(L * N * D, &c->bytes);
    c->lens = malloc(N * sizeof *c->lens);
    c->bytes += N * sizeof *c->lens;
    c->cache_ids = malloc(N * sizeof *c->cache_ids);
    c->bytes += N * sizeof *c->cache_ids;
    c->pool = pool_new(n_threads);
    if (!c->pool || !c->x || !c->a || !c->qkv || !c->att || !c->proj || !c->ff || !c->scores ||
        !c->k_rot || !c->inv_sum || !c->rope_cos || !c->rope_sin || !c->k_cache || !c->v_cache ||
        !c->lens || !c->win_v || !c->cache_ids) {
        bd3_ctx_free(c);
        return BD3_E_NOMEM;
    }
    kern_rope_table(hp->n_ctx, (int)hd, hp->rope_base, c->rope_cos, c->rope_sin);
    c->win_k = c->k_rot; /* the window cache and the KV cache take turns with the rotated keys */
    bd3_cache_clear(c);
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
    free(c->win_v);
    free(c->cache_ids);
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
 * layer l and the queries attend to cache rows 0..cache_pos+n-1. store_only 1: stop after storing
 * K and V; store_only -1 (no cache only): also store every row's rotated K and V in the window
 * cache. */
static void ctx_attn_layer(bd3_ctx *c, int l, int n, int block_len, int cache_pos, int store_only)
{
    int win_store = store_only < 0; /* global pass of a window-cache refresh */
    const bd3_model *m = c->m;
    const bd3_hparams *hp = &m->hp;
    const bd3_layer *L = &m->layers[l];
    int D = hp->n_embd, N = hp->n_ctx;
    const float *mod = L->mod; /* [6, D] */
    ctx_norm(c, c->x, n, L->attn_norm, mod, mod + D, c->a);
    ctx_linear(c, n, 3 * D, D, c->a, D, L->wqkv, 0.0f, c->qkv, 3 * D);
    if (cache_pos < 0) {
        ctx_rope(c, c->qkv, n, 3 * D, 0, 2); /* q and k side by side: 2H heads */
        if (win_store) {
            size_t wl = (size_t)l * N * D, row = (size_t)D * sizeof(float);
            for (int i = 0; i < n; i++) {
                const float *q = c->qkv + (size_t)i * 3 * D;
                memcpy(c->win_k + wl + (size_t)i * D, q + D, row);
                memcpy(c->win_v + wl + (size_t)i * D, q + 2 * D, row);
            }
        }
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

static int ctx_rows_ok(const int *rows, int n_rows, int n);

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
    if (!c) return;
    c->cache_len = 0;
    c->cache_total = 0;
    c->cache_hash = CTX_FNV_BASIS;
    c->cache_block = 0;
}

/* FNV-1a over the four bytes of each id, continuing from h. */
static uint64_t ctx_hash_ids(uint64_t h, const int32_t *ids, long n)
{
    for (long i = 0; i < n; i++) {
        uint32_t v = (uint32_t)ids[i];
        for (int b = 0; b < 4; b++) {
            h ^= (v >> (8 * b)) & 0xffu;
            h *= 0x100000001b3ull;
        }
    }
    return h;
}

long ctx_cache_reuse(bd3_ctx *c, const int32_t *prompt, long n_full, int block_len)
{
    long keep = 0;
    if (block_len > 0 && c->cache_block == block_len) {
        if (c->cache_total == c->cache_len) {
            /* nothing dropped: every cached row saw exactly the rows before it */
            long lim = c->cache_len < n_full ? c->cache_len : n_full, i = 0;
            while (i < lim && c->cache_ids[i] == prompt[i]) i++;
            keep = i / block_len * block_len;
        } else if (c->cache_total <= n_full &&
                   ctx_hash_ids(CTX_FNV_BASIS, prompt, c->cache_total) == c->cache_hash &&
                   !memcmp(c->cache_ids, prompt + c->cache_total - c->cache_len,
                           (size_t)c->cache_len * sizeof *prompt)) {
            keep = c->cache_total; /* rows were dropped: only the whole history can match */
        }
    }
    if (keep == 0) {
        bd3_cache_clear(c);
    } else if (keep < c->cache_total) {
        /* cut back (only without drops): rows before keep never saw the rows after it */
        c->cache_len = (int)keep;
        c->cache_total = keep;
        c->cache_hash = ctx_hash_ids(CTX_FNV_BASIS, prompt, keep);
    }
    return keep;
}

int bd3_cache_len(const bd3_ctx *c) { return c ? c->cache_len : 0; }

/* Before a KV-cache call: when the window cache used the rotated-key buffer, rotate the cached
 * rows' raw keys again at their window positions. */
static void ctx_cache_keys(bd3_ctx *c)
{
    if (!c->rot_stale) return;
    const bd3_hparams *hp = &c->m->hp;
    size_t D = (size_t)hp->n_embd, N = (size_t)hp->n_ctx;
    for (int l = 0; l < hp->n_layer && c->cache_len > 0; l++) {
        float *kr = c->k_rot + (size_t)l * N * D;
        memcpy(kr, c->k_cache + (size_t)l * N * D, (size_t)c->cache_len * D * sizeof(float));
        ctx_rope(c, kr, c->cache_len, (int)D, 0, 1);
    }
    c->rot_stale = 0;
    c->win_n = 0; /* the window cache's keys are gone */
}

/* Runs ids[0..n) through every layer after the cached prefix, leaving the cache as it was;
 * the hidden states end in c->x [n, n_embd]. */
static bd3_status ctx_cache_pass(bd3_ctx *c, const int32_t *ids, int n)
{
    if (ctx_check_ids(c, ids, n)) return BD3_E_ARG;
    ctx_threads(c);
    ctx_cache_keys(c);
    ctx_embed(c, ids, n);
    for (int l = 0; l < c->m->hp.n_layer; l++) {
        ctx_attn_layer(c, l, n, 0, c->cache_len, 0);
        ctx_mlp_layer(c, l, n);
    }
    return BD3_OK;
}

bd3_status bd3_cache_forward(bd3_ctx *c, const int32_t *ids, int n, float *logits)
{
    if (!c || !logits || n < 1 || c->cache_len + n > c->m->hp.n_ctx) return BD3_E_ARG;
    if (ctx_cache_pass(c, ids, n) != BD3_OK) return BD3_E_ARG;
    ctx_output(c, n, logits);
    return BD3_OK;
}

bd3_status ctx_cache_rows(bd3_ctx *c, const int32_t *ids, int n, const int *rows, int n_rows,
                          float *logits)
{
    if (!c || !logits || n < 1 || c->cache_len + n > c->m->hp.n_ctx || !ctx_rows_ok(rows, n_rows, n))
        return BD3_E_ARG;
    if (ctx_cache_pass(c, ids, n) != BD3_OK) return BD3_E_ARG;
    size_t D = (size_t)c->m->hp.n_embd;
    for (int j = 0; j < n_rows; j++) /* rows[j] >= j, ascending: gather to the front */
        if (rows[j] != j) memcpy(c->x + (size_t)j * D, c->x + (size_t)rows[j] * D, D * sizeof(float));
    ctx_output(c, n_rows, logits);
    return BD3_OK;
}

bd3_status bd3_cache_commit(bd3_ctx *c, const int32_t *ids, int n)
{
    if (!c || n < 1 || c->cache_len + n > c->m->hp.n_ctx) return BD3_E_ARG;
    if (ctx_check_ids(c, ids, n)) return BD3_E_ARG;
    const bd3_hparams *hp = &c->m->hp;
    ctx_threads(c);
    ctx_cache_keys(c);
    ctx_embed(c, ids, n);
    for (int l = 0; l < hp->n_layer; l++) {
        int last = l == hp->n_layer - 1; /* its K and V are all the commit needs from it */
        ctx_attn_layer(c, l, n, 0, c->cache_len, last);
        if (!last) ctx_mlp_layer(c, l, n);
    }
    memcpy(c->cache_ids + c->cache_len, ids, (size_t)n * sizeof *ids);
    c->cache_total += n;
    c->cache_hash = ctx_hash_ids(c->cache_hash, ids, n);
    c->cache_block = c->cache_block == 0 || c->cache_block == n ? n : -1;
    int len = c->cache_len + n, keep = hp->n_ctx - n;
    if (len > keep) {
        size_t D = (size_t)hp->n_embd, N = (size_t)hp->n_ctx, drop = (size_t)(len - keep);
        for (int l = 0; l < hp->n_layer; l++) {
            float *kc = c->k_cache + (size_t)l * N * D, *vc = c->v_cache + (size_t)l * N * D;
            float *kr = c->k_rot + (size_t)l * N * D;
            memmove(kc, kc + drop * D, (size_t)keep * D * sizeof(float));
            memmove(vc, vc + drop * D, (size_t)keep * D * sizeof(float));
            if (l == 0) memmove(c->cache_ids, c->cache_ids + drop, (size_t)keep * sizeof *c->cache_ids);
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

/* Checks that rows[0..n_rows) are strictly ascending window indices of a window of n. */
static int ctx_rows_ok(const int *rows, int n_rows, int n)
{
    if (!rows || n_rows < 1 || n_rows > n) return 0;
    for (int j = 0; j < n_rows; j++)
        if (rows[j] < 0 || rows[j] >= n || (j > 0 && rows[j] <= rows[j - 1])) return 0;
    return 1;
}

/* The layers of a window pass, then the wanted rows of the residual stream gathered to the front
 * (rows[j] >= j and ascending, so no source row is overwritten before it is read). win_store: also
 * fill the window cache. */
static bd3_status ctx_rows_pass(bd3_ctx *c, const int32_t *ids, int n, int block_len, const int *rows,
                                int n_rows, int win_store)
{
    if (!c || n < 1 || n > c->m->hp.n_ctx || block_len < 0 || !ctx_rows_ok(rows, n_rows, n))
        return BD3_E_ARG;
    if (ctx_check_ids(c, ids, n)) return BD3_E_ARG;
    ctx_threads(c);
    if (win_store) {
        c->win_n = 0;
        c->rot_stale = 1; /* the window cache's keys go to the rotated-key buffer */
    }
    ctx_embed(c, ids, n);
    for (int l = 0; l < c->m->hp.n_layer; l++) {
        ctx_attn_layer(c, l, n, block_len, -1, win_store ? -1 : 0);
        ctx_mlp_layer(c, l, n);
    }
    if (win_store) c->win_n = n;
    size_t D = (size_t)c->m->hp.n_embd;
    for (int j = 0; j < n_rows; j++)
        if (rows[j] != j) memcpy(c->x + (size_t)j * D, c->x + (size_t)rows[j] * D, D * sizeof(float));
    return BD3_OK;
}

bd3_status bd3_forward_rows(bd3_ctx *c, const int32_t *ids, int n, int block_len, const int *rows,
                            int n_rows, float *logits)
{
    if (!logits) return BD3_E_ARG;
    bd3_status st = ctx_rows_pass(c, ids, n, block_len, rows, n_rows, 0);
    if (st != BD3_OK) return st;
    ctx_output(c, n_rows, logits);
    return BD3_OK;
}

/* Logits of the n_rows rows gathered at the front of c->x, handed to fn in chunks. */
static bd3_status ctx_rows_emit(bd3_ctx *c, int n_rows, int chunk, float *logits, bd3_rows_fn fn,
                                void *user)
{
    size_t D = (size_t)c->m->hp.n_embd;
    for (int j0 = 0; j0 < n_rows; j0 += chunk) {
        int nj = n_rows - j0 < chunk ? n_rows - j0 : chunk;
        /* Rows before j0 are done: move this chunk to the front, where ctx_output reads. */
        if (j0 > 0) memmove(c->x, c->x + (size_t)j0 * D, (size_t)nj * D * sizeof(float));
        ctx_output(c, nj, logits);
        bd3_status st = fn(user, j0, nj, logits);
        if (st != BD3_OK) return st;
    }
    return BD3_OK;
}

bd3_status bd3_forward_rows_each(bd3_ctx *c, const int32_t *ids, int n, int block_len,
                                 const int *rows, int n_rows, int chunk, float *logits,
                                 bd3_rows_fn fn, void *user)
{
    if (!logits || !fn || chunk < 1) return BD3_E_ARG;
    bd3_status st = ctx_rows_pass(c, ids, n, block_len, rows, n_rows, 0);
    if (st != BD3_OK) return st;
    return ctx_rows_emit(c, n_rows, chunk, logits, fn, user);
}

/* ---- window cache ---------------------------------------------------------------------------- */

bd3_status ctx_window_refresh(bd3_ctx *c, const int32_t *ids, int n, const int *rows, int n_rows,
                              int chunk, float *logits, bd3_rows_fn fn, void *user)
{
    if (!logits || !fn || chunk < 1) return BD3_E_ARG;
    bd3_status st = ctx_rows_pass(c, ids, n, BD3_GLOBAL, rows, n_rows, 1);
    if (st != BD3_OK) return st;
    return ctx_rows_emit(c, n_rows, chunk, logits, fn, user);
}

bd3_status ctx_window_step(bd3_ctx *c, const int32_t *ids, int n, const int *active, int n_active,
                           const int *rows, int n_rows, int chunk, float *logits, bd3_rows_fn fn,
                           void *user)
{
    if (!c || !logits || !fn || chunk < 1 || n < 1 || n != c->win_n ||
        !ctx_rows_ok(active, n_active, n) || !ctx_rows_ok(rows, n_rows, n) ||
        n_rows > n_active)
        return BD3_E_ARG;
    if (ctx_check_ids(c, ids, n)) return BD3_E_ARG;
    const bd3_hparams *hp = &c->m->hp;
    const int D = hp->n_embd, N = hp->n_ctx, H = hp->n_head, hd = D / H;
    for (int j = 0, a = 0; j < n_rows; j++) { /* rows must be a subset of active */
        while (a < n_active && active[a] < rows[j]) a++;
        if (a == n_active || active[a] != rows[j]) return BD3_E_ARG;
    }
    ctx_threads(c);
    size_t Ds = (size_t)D;
    for (int i = 0; i < n_active; i++)
        memcpy(c->x + (size_t)i * Ds, c->m->tok_embd + (size_t)ids[active[i]] * Ds, Ds * sizeof(float));
    for (int l = 0; l < hp->n_layer; l++) {
        const bd3_layer *L = &c->m->layers[l];
        ctx_norm(c, c->x, n_active, L->attn_norm, L->mod, L->mod + D, c->a);
        ctx_linear(c, n_active, 3 * D, D, c->a, D, L->wqkv, 0.0f, c->qkv, 3 * D);
        /* RoPE at each active row's own window position, runs of consecutive positions at once */
        for (int i0 = 0; i0 < n_active;) {
            int i1 = i0 + 1;
            while (i1 < n_active && active[i1] == active[i1 - 1] + 1) i1++;
            kern_rope(c->qkv + (size_t)i0 * 3 * D, i1 - i0, 3 * D, 2 * H, hd, active[i0], c->rope_cos,
                      c->rope_sin);
            i0 = i1;
        }
        float *wk = c->win_k + (size_t)l * N * Ds, *wv = c->win_v + (size_t)l * N * Ds;
        for (int i = 0; i < n_active; i++) {
            const float *q = c->qkv + (size_t)i * 3 * D;
            memcpy(wk + (size_t)active[i] * Ds, q + D, Ds * sizeof(float));
            memcpy(wv + (size_t)active[i] * Ds, q + 2 * D, Ds * sizeof(float));
        }
        ctx_attention(c, c->qkv, 3 * D, n_active, 0, wk, D, wv, D, n, 0, c->att);
        ctx_mlp_layer(c, l, n_active);
    }
    /* rows[j] is active[a] with a >= j, both ascending: gather them to the front in order */
    for (int j = 0, a = 0; j < n_rows; j++) {
        while (active[a] < rows[j]) a++;
        if (a != j) memcpy(c->x + (size_t)j * Ds, c->x + (size_t)a * Ds, Ds * sizeof(float));
    }
    return ctx_rows_emit(c, n_rows, chunk, logits, fn, user);
}
