/* forward.c: the context, the one layer loop of the forward pass (spec section 1) with the
 * attention and MLP sublayers, the parallel loops it runs on, and the plain
 * window passes of the public API; the matrix products (forward_linear) are in linear.c. The KV cache is in
 * kvcache.c, the window cache in wincache.c; every buffer of the forward pass comes from bd3_ctx_new, the
 * operations' buffers and sampler live in the context too. Depends on model.h, kernels.h, quant.h, bf16.h,
 * pool.h, sampler.h (to free the sampler) and OpenBLAS (cblas_sgemm for every float32 product) only. */
#include "forward.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

#define FORWARD_SCORE_FLOATS (1 << 18) /* target size of one thread's attention scores, floats */
#define FORWARD_MAX_THREADS  64        /* threads of one context at most */

/* Widest slice (a multiple of 16; 0 if none) of one dimension of a column-major product
 * [m, k] x [k, n] that OpenBLAS's small-matrix kernels take (they skip packing): m * n * k <= 1e6,
 * and with a transposed first operand m * n <= 1200 and k >= 32. fixed: the size of the other of
 * m and k; transposed: first operand transposed, slicing m (fixed = k). */
int forward_small_slice(int n, int fixed, int transposed)
{
    long lim = 1000000L / ((long)n * fixed);
    if (transposed) {
        if (fixed < 32) return 0;
        if (1200L / n < lim) lim = 1200L / n;
    }
    lim = lim / 16 * 16;
    return lim >= 16 ? (int)lim : 0;
}

float *forward_alloc(size_t n, size_t *bytes)
{
    void *p = NULL;
    size_t sz = (n ? n : 1) * sizeof(float);
    sz = (sz + 63) / 64 * 64;
    if (posix_memalign(&p, 64, sz)) return NULL;
    *bytes += sz;
    return p;
}

bd3_status forward_alloc_packed(quant_matrix *q, int n_tiles, int ld_blocks, size_t *bytes)
{
    size_t tb = (size_t)n_tiles * (size_t)ld_blocks;
    q->ld_blocks = ld_blocks;
    q->q = (uint8_t *)(void *)forward_alloc(tb * QUANT_TILE_BYTES / sizeof(float), bytes);
    q->d = forward_alloc(tb * QUANT_TILE, bytes);
    return q->q && q->d ? BD3_OK : BD3_E_NOMEM;
}

/* Buffers of the int8 attention (hd a multiple of 32). */
static bd3_status forward_att_alloc(bd3_ctx *c)
{
    const bd3_hparams *hp = &c->m->hp;
    const int H = hp->n_head, hd = hp->head_dim, NP = c->ld_scores;
    const size_t T = (size_t)c->n_threads, rows = (size_t)(c->q_chunk > hd ? c->q_chunk : hd);
    c->att_k = calloc((size_t)H, sizeof *c->att_k);
    c->att_vt = calloc((size_t)H, sizeof *c->att_vt);
    c->bytes += 2 * (size_t)H * sizeof *c->att_k;
    if (!c->att_k || !c->att_vt) return BD3_E_NOMEM;
    for (int h = 0; h < H; h++)
        if (forward_alloc_packed(&c->att_k[h], NP / QUANT_TILE, hd / QUANT_BLOCK, &c->bytes) ||
            forward_alloc_packed(&c->att_vt[h], (hd + QUANT_TILE - 1) / QUANT_TILE, NP / QUANT_BLOCK,
                                 &c->bytes))
            return BD3_E_NOMEM;
    c->att_q = (int8_t *)(void *)forward_alloc(T * rows * (size_t)NP / sizeof(float), &c->bytes);
    c->att_d = forward_alloc(T * rows * (size_t)NP / QUANT_BLOCK, &c->bytes);
    c->att_s = (int32_t *)(void *)forward_alloc(T * rows * (size_t)NP / QUANT_BLOCK, &c->bytes);
    c->att_vt_tmp = forward_alloc(T * (size_t)hd * (size_t)NP, &c->bytes);
    return c->att_q && c->att_d && c->att_s && c->att_vt_tmp ? BD3_OK : BD3_E_NOMEM;
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
    if (n_threads <= 0) n_threads = bd3_cpu_count();
    if (n_threads > FORWARD_MAX_THREADS) n_threads = FORWARD_MAX_THREADS;
    c->n_threads = n_threads;
    size_t N = (size_t)hp->n_ctx, D = (size_t)hp->n_embd, F = (size_t)hp->n_ff;
    size_t hd = (size_t)hp->head_dim;
    c->q_dim = hp->n_head * hp->head_dim;
    c->kv_dim = hp->n_head_kv * hp->head_dim;
    size_t Q = (size_t)c->q_dim, KD = (size_t)c->kv_dim, AW = Q > D ? Q : D;
    size_t chunk = FORWARD_SCORE_FLOATS / N;
    if (chunk < 16) chunk = 16;
    if (chunk > N) chunk = N;
    c->q_chunk = (int)chunk;
    /* int8 and bf16 contexts: the position-wise work in chunks of rows, whose results do not depend
       on the chunking; float32 ones: all rows at once (sgemm's rounding may depend on the row count) */
    size_t R = m->compute != BD3_COMPUTE_F32 && N > FORWARD_ROW_CHUNK ? FORWARD_ROW_CHUNK : N;
    c->row_chunk = (int)R;
    c->bytes = sizeof *c;
    c->x = forward_alloc(N * D, &c->bytes);
    c->a = forward_alloc(R * D, &c->bytes);
    c->qkv = forward_alloc(N * (Q + 2 * KD), &c->bytes);
    c->proj = forward_alloc(R * D, &c->bytes);
    c->ff = forward_alloc(R * F, &c->bytes);
    c->ld_scores = (int)((N + QUANT_BLOCK - 1) / QUANT_BLOCK * QUANT_BLOCK);
    c->scores = forward_alloc((size_t)n_threads * chunk * (size_t)c->ld_scores, &c->bytes);
    if (hp->prenorm) c->ff2 = forward_alloc(R * F, &c->bytes);
    c->prev_h = forward_alloc(D, &c->bytes);
    c->prev_len = -1;
    c->inv_sum = forward_alloc((size_t)n_threads * chunk, &c->bytes);
    c->rope_cos = forward_alloc(N * hd / 2, &c->bytes);
    c->rope_sin = forward_alloc(N * hd / 2, &c->bytes);
    c->lens = malloc(N * sizeof *c->lens);
    c->bytes += N * sizeof *c->lens;
    c->row_ids = malloc(N * sizeof *c->row_ids);
    c->bytes += N * sizeof *c->row_ids;
    size_t K = F > AW ? F : AW; /* widest input of a product (D, F or the attention width) */
    if (m->n_bf16) {
        c->xb = (uint16_t *)(void *)forward_alloc((R * K + 1) / 2, &c->bytes);
        c->wtile = (uint16_t *)(void *)forward_alloc((size_t)n_threads * BF16_TILE * K / 2, &c->bytes);
    }
    if (m->compute == BD3_COMPUTE_Q8) {
        c->xq = (int8_t *)(void *)forward_alloc((R * K + 3) / 4, &c->bytes);
        c->xd = forward_alloc(R * (K / QUANT_BLOCK + 1), &c->bytes);
        c->xs = (int32_t *)(void *)forward_alloc(R * (K / QUANT_BLOCK + 1), &c->bytes);
        if (hd % QUANT_BLOCK == 0 && forward_att_alloc(c) != BD3_OK) {
            bd3_ctx_free(c);
            return BD3_E_NOMEM;
        }
    }
    c->pool = pool_new(n_threads);
    if (!c->pool || !c->x || !c->a || !c->qkv || !c->proj || !c->ff || !c->scores ||
        (hp->prenorm && !c->ff2) || !c->prev_h || !c->inv_sum || !c->rope_cos || !c->rope_sin || !c->lens ||
        !c->row_ids || (m->compute == BD3_COMPUTE_Q8 && (!c->xq || !c->xd || !c->xs)) ||
        (m->n_bf16 && (!c->xb || !c->wtile)) || kvcache_init(c) != BD3_OK || wincache_init(c) != BD3_OK) {
        bd3_ctx_free(c);
        return BD3_E_NOMEM;
    }
    kern_rope_table(hp->n_ctx, (int)hd, hp->rope_base, c->rope_cos, c->rope_sin);
    bd3_cache_clear(c);
    *out = c;
    return BD3_OK;
}

void *forward_work(bd3_ctx *c, int slot, size_t bytes)
{
    if (slot < 0 || slot >= FORWARD_N_WORK) return NULL;
    if (bytes == 0) bytes = 1;
    if (c->work_size[slot] >= bytes) return c->work[slot];
    free(c->work[slot]);
    c->bytes -= c->work_size[slot];
    c->work[slot] = NULL;
    c->work_size[slot] = 0;
    void *p = NULL;
    size_t sz = (bytes + 63) / 64 * 64;
    if (posix_memalign(&p, 64, sz)) return NULL;
    c->work[slot] = p;
    c->work_size[slot] = sz;
    c->bytes += sz;
    return p;
}

void bd3_ctx_free(bd3_ctx *c)
{
    if (!c) return;
    for (int i = 0; i < FORWARD_N_WORK; i++) free(c->work[i]);
    sampler_free(c->sampler);
    pool_free(c->pool);
    free(c->x);
    free(c->a);
    free(c->qkv);
    free(c->proj);
    free(c->ff);
    free(c->ff2);
    free(c->prev_h);
    free(c->scores);
    free(c->inv_sum);
    free(c->rope_cos);
    free(c->rope_sin);
    free(c->lens);
    free(c->row_ids);
    free(c->xq);
    free(c->xd);
    free(c->xs);
    free(c->xb);
    free(c->wtile);
    for (int h = 0; c->att_k && h < c->m->hp.n_head; h++) quant_matrix_free(&c->att_k[h]);
    for (int h = 0; c->att_vt && h < c->m->hp.n_head; h++) quant_matrix_free(&c->att_vt[h]);
    free(c->att_k);
    free(c->att_vt);
    free(c->att_q);
    free(c->att_d);
    free(c->att_s);
    free(c->att_vt_tmp);
    wincache_free(c);
    kvcache_free(c);
    free(c);
}

const bd3_model *bd3_ctx_model(const bd3_ctx *c) { return c->m; }
size_t bd3_ctx_bytes(const bd3_ctx *c) { return c->bytes; }
int bd3_ctx_threads(const bd3_ctx *c) { return pool_threads(c->pool); }

int bd3_cpu_count(void) { return pool_cpu_count(); }

/* c[m, n] = a[m, k] @ b[n, k]^T (+ c when beta = 1): a row-major with lda, b row-major with ldb. */
static void forward_gemm_nt(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                            int ldb, float beta, float *cc, int ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc);
}

/* c[m, n] = a[m, k] @ b[k, n] + beta * c. */
static void forward_gemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float beta,
                            float *cc, int ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, beta, cc, ldc);
}

typedef struct forward_att_job {
    bd3_ctx *c;        /* context (scores, lens) */
    const float *q;    /* queries, rows of ldq */
    const float *k;    /* keys, rows of ldk */
    const float *v;    /* values, rows of ldv */
    float *out;        /* [nq, H * hd] rows of ldq floats (may be q) */
    int ldq, ldk, ldv; /* row strides, floats */
    int nq;            /* query rows */
    int n_chunks;      /* query chunks of q_chunk rows */
    int nk;            /* keys */
    quant_matrix *pk;  /* [H] int8 attention: packed keys of each head */
    quant_matrix *pvt; /* [H] packed transposed values of each head */
} forward_att_job;

/* Task t: query chunk t / H, head t % H, on thread tid's score buffer. */
static void forward_att_task(void *arg, int t, int tid)
{
    const forward_att_job *j = arg;
    bd3_ctx *c = j->c;
    const bd3_hparams *hp = &c->m->hp;
    int H = hp->n_head, hd = hp->head_dim, LS = c->ld_scores;
    int r0 = (t / H) * c->q_chunk, h = t % H, g = h / (H / hp->n_head_kv); /* g: its kv head */
    int rows = j->nq - r0 < c->q_chunk ? j->nq - r0 : c->q_chunk;
    int kmax = c->lens[r0 + rows - 1]; /* lens grows with the row */
    float *s = c->scores + (size_t)tid * c->q_chunk * c->ld_scores;
    float alpha = (float)(1.0 / sqrt((double)hd));
    const float *q = j->q + (size_t)r0 * j->ldq + (size_t)h * hd;
    const float *k = j->k + (size_t)g * hd, *v = j->v + (size_t)g * hd;
    float *o = j->out + (size_t)r0 * j->ldq + (size_t)h * hd;
    /* a few query rows (a cache call): slices of keys small enough for the unpacked kernels */
    int ks = rows <= FORWARD_SMALL_ROWS ? forward_small_slice(rows, hd, 1) : 0;
    int vs = rows <= FORWARD_SMALL_ROWS ? forward_small_slice(rows, hd, 0) : 0;
    if (!ks) ks = kmax;
    if (!vs) vs = kmax;
    for (int k0 = 0; k0 < kmax; k0 += ks) {
        int kk = kmax - k0 < ks ? kmax - k0 : ks;
        forward_gemm_nt(rows, kk, hd, alpha, q, j->ldq, k + (size_t)k0 * j->ldk, j->ldk, 0.0f, s + k0, LS);
    }
    float *inv = c->inv_sum + (size_t)tid * c->q_chunk;
    kern_softmax_rows(s, rows, LS, kmax, c->lens + r0, inv);
    for (int k0 = 0; k0 < kmax; k0 += vs) {
        int kk = kmax - k0 < vs ? kmax - k0 : vs;
        forward_gemm_nn(rows, hd, kk, s + k0, LS, v + (size_t)k0 * j->ldv, j->ldv, k0 ? 1.0f : 0.0f, o,
                        j->ldq);
    }
    for (int i = 0; i < rows; i++)
        for (int d = 0; d < hd; d++) o[(size_t)i * j->ldq + d] *= inv[i];
}

/* int8 attention, first pass: task h packs query head h's keys (nk x hd; those of its kv head g)
 * and its values transposed (hd x keys, zero past nk up to a multiple of 32) for the products of
 * forward_att_q8_task. */
static void forward_att_pack_task(void *arg, int h, int tid)
{
    const forward_att_job *j = arg;
    bd3_ctx *c = j->c;
    const int hd = c->m->hp.head_dim, LS = c->ld_scores;
    const int g = h / (c->m->hp.n_head / c->m->hp.n_head_kv);
    const int nk = j->nk, kpad = (nk + QUANT_BLOCK - 1) / QUANT_BLOCK * QUANT_BLOCK;
    const size_t rows = (size_t)(c->q_chunk > hd ? c->q_chunk : hd);
    int8_t *q8 = c->att_q + (size_t)tid * rows * LS;
    float *d = c->att_d + (size_t)tid * rows * (LS / QUANT_BLOCK);
    int32_t *s = c->att_s + (size_t)tid * rows * (LS / QUANT_BLOCK);
    quant_rows(j->k + (size_t)g * hd, nk, hd, j->ldk, q8, d, s);
    quant_pack_rows(q8, hd, d, hd / QUANT_BLOCK, nk, hd, &j->pk[h]);
    float *vt = c->att_vt_tmp + (size_t)tid * hd * LS;
    for (int i = 0; i < nk; i++) {
        const float *vr = j->v + (size_t)i * j->ldv + (size_t)g * hd;
        for (int e = 0; e < hd; e++) vt[(size_t)e * LS + i] = vr[e];
    }
    for (int e = 0; e < hd; e++)
        for (int i = nk; i < kpad; i++) vt[(size_t)e * LS + i] = 0.0f;
    quant_rows(vt, hd, kpad, LS, q8, d, s);
    quant_pack_rows(q8, kpad, d, kpad / QUANT_BLOCK, hd, kpad, &j->pvt[h]);
}

/* int8 attention, second pass: task t is query chunk t / H, head t % H. Queries quantized with
 * 1 / sqrt(hd) folded into their scales, scores as int8 products with the packed keys, softmax in
 * float32, probabilities quantized per block of 32 keys, int8 products with the packed values. */
static void forward_att_q8_task(void *arg, int t, int tid)
{
    const forward_att_job *j = arg;
    bd3_ctx *c = j->c;
    const bd3_hparams *hp = &c->m->hp;
    const int H = hp->n_head, hd = hp->head_dim, LS = c->ld_scores, nbh = hd / QUANT_BLOCK;
    const int r0 = (t / H) * c->q_chunk, h = t % H;
    const int rows = j->nq - r0 < c->q_chunk ? j->nq - r0 : c->q_chunk;
    const int kmax = c->lens[r0 + rows - 1]; /* lens grows with the row */
    const int kpad = (kmax + QUANT_BLOCK - 1) / QUANT_BLOCK * QUANT_BLOCK;
    const size_t brows = (size_t)(c->q_chunk > hd ? c->q_chunk : hd);
    int8_t *q8 = c->att_q + (size_t)tid * brows * LS;
    float *d = c->att_d + (size_t)tid * brows * (LS / QUANT_BLOCK);
    int32_t *s8 = c->att_s + (size_t)tid * brows * (LS / QUANT_BLOCK);
    float *s = c->scores + (size_t)tid * c->q_chunk * LS;
    float *inv = c->inv_sum + (size_t)tid * c->q_chunk;
    float *o = j->out + (size_t)r0 * j->ldq + (size_t)h * hd;
    const float alpha = (float)(1.0 / sqrt((double)hd));
    quant_rows(j->q + (size_t)r0 * j->ldq + (size_t)h * hd, rows, hd, j->ldq, q8, d, s8);
    for (int i = 0; i < rows * nbh; i++) d[i] *= alpha;
    quant_matrix keys = j->pk[h]; /* the keys this chunk sees */
    keys.rows = kmax;
    keys.n_tiles = (kmax + QUANT_TILE - 1) / QUANT_TILE;
    quant_matmul(&keys, 0, keys.n_tiles, rows, q8, d, s8, 0.0f, s, LS);
    kern_softmax_rows(s, rows, LS, kpad, c->lens + r0, inv);
    quant_rows(s, rows, kpad, LS, q8, d, s8);
    quant_matrix vals = j->pvt[h];
    vals.cols = kpad;
    vals.n_blocks = kpad / QUANT_BLOCK;
    quant_matmul(&vals, 0, vals.n_tiles, rows, q8, d, s8, 0.0f, o, j->ldq);
    for (int i = 0; i < rows; i++)
        for (int e = 0; e < hd; e++) o[(size_t)i * j->ldq + e] *= inv[i];
}

void forward_attend_packed(bd3_ctx *c, const float *q, int ldq, int nq, const float *k, int ldk,
                           const float *v, int ldv, int nk, quant_matrix *pk, quant_matrix *pvt, int pack,
                           float *out)
{
    for (int i = 0; i < nq; i++) c->lens[i] = nk;
    forward_att_job j = {c, q, k, v, out, ldq, ldk, ldv, nq, (nq + c->q_chunk - 1) / c->q_chunk, nk, pk, pvt};
    if (pack) pool_run(c->pool, c->m->hp.n_head, forward_att_pack_task, &j);
    pool_run(c->pool, j.n_chunks * c->m->hp.n_head, forward_att_q8_task, &j);
}

void forward_attend(bd3_ctx *c, const float *q, int ldq, int nq, int qpos0, const float *k, int ldk,
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
    forward_att_job j = {
        c, q, k, v, out, ldq, ldk, ldv, nq, (nq + c->q_chunk - 1) / c->q_chunk, nk, c->att_k, c->att_vt};
    /* heads run in parallel on the pool, each product on one thread; int8 products when the
       queries are many enough to pay for packing every key and value */
    if (c->att_k && nq >= FORWARD_Q_ATT_ROWS) {
        pool_run(c->pool, hp->n_head, forward_att_pack_task, &j);
        pool_run(c->pool, j.n_chunks * hp->n_head, forward_att_q8_task, &j);
        return;
    }
    pool_run(c->pool, j.n_chunks * hp->n_head, forward_att_task, &j);
}

/* ---- elementwise loops split by rows over the pool ---- */

/* Rows per task of a row-wise loop over n rows: FORWARD_ROWS_PER_TASK, fewer when that would
   leave threads idle (a call of a few rows). Each row's result is the same whatever the split. */
int forward_rows_per_task(const bd3_ctx *c, int n)
{
    int T = pool_threads(c->pool), r = (n + T - 1) / T;
    return r < 1 ? 1 : r < FORWARD_ROWS_PER_TASK ? r : FORWARD_ROWS_PER_TASK;
}

typedef enum forward_op {
    FORWARD_NORM,
    FORWARD_GATE,
    FORWARD_GELU,
    FORWARD_ROPE,
    FORWARD_RMS,
    FORWARD_HEAD_RMS,
    FORWARD_SWIGLU
} forward_op;

typedef struct forward_rows_job {
    forward_op op;                  /* which kernel */
    int n, d;                       /* rows, row width */
    float *x;                       /* in/out rows (norm: input) */
    float *out;                     /* norm output */
    const float *y;                 /* gate: added rows */
    const float *w, *p1, *p2;       /* norm: weight, shift, scale; gate: bias, gate; gelu: bias */
    float eps;                      /* norm epsilon */
    int stride, n_head, hd, pos0;   /* rope */
    const float *cos_tab, *sin_tab; /* rope tables */
    int per_task;                   /* rows per task (set by forward_rows) */
} forward_rows_job;

static void forward_rows_task(void *arg, int t, int tid)
{
    (void)tid;
    const forward_rows_job *j = arg;
    int r0 = t * j->per_task, rows = j->n - r0 < j->per_task ? j->n - r0 : j->per_task;
    size_t off = (size_t)r0 * j->d;
    switch (j->op) {
    case FORWARD_NORM: kern_norm_mod(j->x + off, rows, j->d, j->eps, j->w, j->p1, j->p2, j->out + off); break;
    case FORWARD_GATE: kern_gate_add(j->x + off, j->y + off, j->w, j->p1, rows, j->d); break;
    case FORWARD_GELU: kern_bias_gelu(j->x + off, j->w, rows, j->d); break;
    case FORWARD_RMS: kern_rms_norm(j->x + off, rows, j->d, j->eps, j->w, j->out + off); break;
    case FORWARD_HEAD_RMS: /* n_head heads of hd at the start of each row of stride floats */
        for (int i = 0; i < rows; i++) {
            float *xr = j->x + (size_t)(r0 + i) * j->stride;
            kern_rms_norm(xr, j->n_head, j->hd, j->eps, j->w, xr);
        }
        break;
    case FORWARD_SWIGLU: kern_silu_mul(j->x + off, j->y + off, rows, j->d); break;
    case FORWARD_ROPE:
        kern_rope(j->x + (size_t)r0 * j->stride, rows, j->stride, j->n_head, j->hd, j->pos0 + r0, j->cos_tab,
                  j->sin_tab);
        break;
    }
}

static void forward_rows(bd3_ctx *c, forward_rows_job *j)
{
    j->per_task = forward_rows_per_task(c, j->n);
    pool_run(c->pool, (j->n + j->per_task - 1) / j->per_task, forward_rows_task, j);
}

static void forward_norm(bd3_ctx *c, const float *x, int n, const float *w, const float *shift,
                         const float *scale, float *out)
{
    const bd3_hparams *hp = &c->m->hp;
    forward_rows_job j = {.op = FORWARD_NORM,
                          .n = n,
                          .d = hp->n_embd,
                          .x = (float *)x,
                          .out = out,
                          .w = w,
                          .p1 = shift,
                          .p2 = scale,
                          .eps = hp->norm_eps};
    forward_rows(c, &j);
}

static void forward_gate(bd3_ctx *c, float *h, const float *y, const float *bias, const float *gate, int n)
{
    forward_rows_job j = {
        .op = FORWARD_GATE, .n = n, .d = c->m->hp.n_embd, .x = h, .y = y, .w = bias, .p1 = gate};
    forward_rows(c, &j);
}

static void forward_gelu(bd3_ctx *c, float *x, const float *bias, int n)
{
    forward_rows_job j = {.op = FORWARD_GELU, .n = n, .d = c->m->hp.n_ff, .x = x, .w = bias};
    forward_rows(c, &j);
}

void forward_rope(bd3_ctx *c, float *x, int n, int stride, int n_heads, int pos0, const int *active)
{
    const bd3_hparams *hp = &c->m->hp;
    forward_rows_job j = {.op = FORWARD_ROPE,
                          .d = stride,
                          .stride = stride,
                          .n_head = n_heads,
                          .hd = hp->head_dim,
                          .cos_tab = c->rope_cos,
                          .sin_tab = c->rope_sin};
    if (!active) {
        j.x = x;
        j.n = n;
        j.pos0 = pos0;
        forward_rows(c, &j);
        return;
    }
    /* each row at its own window position: runs of consecutive positions at once */
    for (int i0 = 0; i0 < n;) {
        int i1 = i0 + 1;
        while (i1 < n && active[i1] == active[i1 - 1] + 1) i1++;
        j.x = x + (size_t)i0 * stride;
        j.n = i1 - i0;
        j.pos0 = active[i0];
        forward_rows(c, &j);
        i0 = i1;
    }
}

/* ---- the layers (spec section 1) ---------------------------------------------------------- */

/* Rows per chunk of the position-wise work over n rows: the fewest chunks of at most row_chunk
 * rows, of nearly equal size (rounded up to a multiple of 16). */
static int forward_chunk_rows(const bd3_ctx *c, int n)
{
    int k = (n + c->row_chunk - 1) / c->row_chunk;
    int rows = ((n + k - 1) / k + 15) / 16 * 16;
    return rows < c->row_chunk ? rows : c->row_chunk;
}

/* The attention sublayer of layer l over the n rows of the residual stream c->x. Returns 0 when
 * the pass stops at this layer once its K and V are stored (a commit's last layer), else 1. */
static int forward_attention(bd3_ctx *c, int l, int n, const struct forward_pass *p)
{
    const bd3_model *m = c->m;
    const bd3_layer *L = &m->layers[l];
    const int D = m->hp.n_embd, ld = 3 * D;
    const float *shift1 = L->mod, *scale1 = L->mod + D, *gate1 = L->mod + 2 * D;
    const int kv = p->store == FORWARD_STORE_KV || p->store == FORWARD_STORE_KV_ONLY;
    const int pos0 = p->cache_pos > 0 ? p->cache_pos : 0;
    float *q = c->qkv, *k = c->qkv + D, *v = c->qkv + 2 * D;

    const int cr = forward_chunk_rows(c, n);
    for (int r0 = 0; r0 < n; r0 += cr) {
        const int nr = n - r0 < cr ? n - r0 : cr;
        /* a = LN(h) * w_attn_norm * (1 + scale1) + shift1 */
        forward_norm(c, c->x + (size_t)r0 * D, nr, L->attn_norm, shift1, scale1, c->a);
        /* q, k, v = split(a @ Wqkv^T, 3) */
        forward_linear(c, nr, 3 * D, D, c->a, D, &L->wqkv, 0.0f, c->qkv + (size_t)r0 * ld, ld);
    }
    if (kv) kvcache_store_raw(c, l, pos0, n, k, v, ld); /* the cache keeps keys before RoPE */
    /* q, k = rope(q, pos), rope(k, pos): q and k side by side, 2H heads */
    forward_rope(c, c->qkv, n, ld, 2 * m->hp.n_head, pos0, p->active);
    /* the keys and values the queries see */
    const float *keys = k, *vals = v;
    int ldkv = ld, n_keys = n;
    if (kv) {
        kvcache_store_rot(c, l, pos0, n, k, ld);
        if (p->store == FORWARD_STORE_KV_ONLY && l == m->hp.n_layer - 1) return 0;
        size_t lo = (size_t)l * m->hp.n_ctx * D;
        keys = c->kv.k_rot + lo;
        vals = c->kv.v + lo;
        ldkv = D;
        n_keys = pos0 + n;
    } else if (p->store == FORWARD_STORE_WINDOW) {
        wincache_store(c, l, n, k, v, ld, 0, p->active);
        if (p->active && c->win.k) { /* float32 attention over the window (not packed) */
            size_t lo = (size_t)l * (size_t)c->win.ld_layer * D;
            keys = c->win.k + lo;
            vals = c->win.v + lo;
            ldkv = D;
            n_keys = p->n_window;
        }
    }
    /* o = softmax(q k^T / sqrt(hd) + mask) v */
    /* (o overwrites q: each head's output takes the place of its queries) */
    if (p->store != FORWARD_STORE_WINDOW || !wincache_attend(c, l, q, ld, n, k, v, ld, p, q))
        forward_attend(c, q, ld, n, pos0, keys, ldkv, vals, ldkv, n_keys, p->active ? 0 : p->block_len, q);
    /* h = h + gate1 * (o @ Wo^T) */
    for (int r0 = 0; r0 < n; r0 += cr) {
        const int nr = n - r0 < cr ? n - r0 : cr;
        forward_linear(c, nr, D, D, q + (size_t)r0 * ld, ld, &L->wo, 0.0f, c->proj, D);
        forward_gate(c, c->x + (size_t)r0 * D, c->proj, NULL, gate1, nr);
    }
    return 1;
}

/* The MLP sublayer of layer l over the n rows of c->x. */
static void forward_mlp(bd3_ctx *c, int l, int n)
{
    const bd3_layer *L = &c->m->layers[l];
    const int D = c->m->hp.n_embd, F = c->m->hp.n_ff;
    const float *shift2 = L->mod + 3 * D, *scale2 = L->mod + 4 * D, *gate2 = L->mod + 5 * D;

    const int cr = forward_chunk_rows(c, n);
    for (int r0 = 0; r0 < n; r0 += cr) {
        const int nr = n - r0 < cr ? n - r0 : cr;
        float *h = c->x + (size_t)r0 * D;
        /* a = LN(h) * w_ffn_norm * (1 + scale2) + shift2 */
        forward_norm(c, h, nr, L->ffn_norm, shift2, scale2, c->a);
        /* h = h + gate2 * (gelu_tanh(a @ W1^T + b1) @ W2^T + b2) */
        forward_linear(c, nr, F, D, c->a, D, &L->w_up, 0.0f, c->ff, F);
        forward_gelu(c, c->ff, L->b_up, nr);
        forward_linear(c, nr, D, F, c->ff, F, &L->w_down, 0.0f, c->proj, D);
        forward_gate(c, h, c->proj, L->b_down, gate2, nr);
    }
}

/* ---- the pre-norm backbone (model/QWEN.md section 1) ------------------------------------- */

/* out = rms(x) * w over rows of D. */
static void forward_rms(bd3_ctx *c, const float *x, int n, const float *w, float *out)
{
    const bd3_hparams *hp = &c->m->hp;
    forward_rows_job j = {
        .op = FORWARD_RMS, .n = n, .d = hp->n_embd, .x = (float *)x, .out = out, .w = w, .eps = hp->norm_eps};
    forward_rows(c, &j);
}

/* Per-head RMSNorm of the first n_heads heads of n rows of stride floats, in place. */
static void forward_head_rms(bd3_ctx *c, float *x, int n, int stride, int n_heads, const float *w)
{
    const bd3_hparams *hp = &c->m->hp;
    forward_rows_job j = {.op = FORWARD_HEAD_RMS,
                          .n = n,
                          .d = stride,
                          .x = x,
                          .stride = stride,
                          .n_head = n_heads,
                          .hd = hp->head_dim,
                          .w = w,
                          .eps = hp->norm_eps};
    forward_rows(c, &j);
}

/* The attention sublayer of a pre-norm layer; returns as forward_attention. */
static int forward_attention_prenorm(bd3_ctx *c, int l, int n, const struct forward_pass *p)
{
    const bd3_model *m = c->m;
    const bd3_layer *L = &m->layers[l];
    const int D = m->hp.n_embd, H = m->hp.n_head, Hkv = m->hp.n_head_kv;
    const int Q = c->q_dim, KD = c->kv_dim, ld = Q + 2 * KD;
    const int kv = p->store == FORWARD_STORE_KV || p->store == FORWARD_STORE_KV_ONLY;
    const int pos0 = p->cache_pos > 0 ? p->cache_pos : 0;
    float *q = c->qkv, *k = c->qkv + Q, *v = c->qkv + Q + KD;

    const int cr = forward_chunk_rows(c, n);
    for (int r0 = 0; r0 < n; r0 += cr) {
        const int nr = n - r0 < cr ? n - r0 : cr;
        const size_t at = (size_t)r0 * ld;
        /* a = rms(h) * w_attn_norm */
        forward_rms(c, c->x + (size_t)r0 * D, nr, L->attn_norm, c->a);
        /* q, k, v = a @ W^T (+ b) */
        forward_linear(c, nr, Q, D, c->a, D, &L->wq, 0.0f, q + at, ld);
        forward_linear(c, nr, KD, D, c->a, D, &L->wk, 0.0f, k + at, ld);
        forward_linear(c, nr, KD, D, c->a, D, &L->wv, 0.0f, v + at, ld);
    }
    if (L->bq) {
        kern_add_bias(q, L->bq, n, Q, ld);
        kern_add_bias(k, L->bk, n, KD, ld);
        kern_add_bias(v, L->bv, n, KD, ld);
    }
    /* per-head RMSNorm of q and k before RoPE (Qwen3) */
    if (L->q_norm) {
        forward_head_rms(c, q, n, ld, H, L->q_norm);
        forward_head_rms(c, k, n, ld, Hkv, L->k_norm);
    }
    if (kv) kvcache_store_raw(c, l, pos0, n, k, v, ld); /* the cache keeps keys before RoPE */
    /* q, k = rope(q, pos), rope(k, pos): H query heads then Hkv key heads, side by side */
    forward_rope(c, c->qkv, n, ld, H + Hkv, pos0, p->active);
    const float *keys = k, *vals = v;
    int ldkv = ld, n_keys = n;
    if (kv) {
        kvcache_store_rot(c, l, pos0, n, k, ld);
        if (p->store == FORWARD_STORE_KV_ONLY && l == m->hp.n_layer - 1) return 0;
        size_t lo = (size_t)l * m->hp.n_ctx * KD;
        keys = c->kv.k_rot + lo;
        vals = c->kv.v + lo;
        ldkv = KD;
        n_keys = pos0 + n;
    } else if (p->store == FORWARD_STORE_WINDOW) {
        wincache_store(c, l, n, k, v, ld, 0, p->active);
        if (p->active && c->win.k) { /* float32 attention over the window (not packed) */
            size_t lo = (size_t)l * (size_t)c->win.ld_layer * KD;
            keys = c->win.k + lo;
            vals = c->win.v + lo;
            ldkv = KD;
            n_keys = p->n_window;
        }
    }
    /* o_h = softmax(q_h k_g^T / sqrt(hd) + mask) v_g, g = the kv head of query head h */
    /* (o overwrites q, head by head) */
    forward_attend(c, q, ld, n, pos0, keys, ldkv, vals, ldkv, n_keys, p->active ? 0 : p->block_len, q);
    /* h = h + o @ Wo^T */
    forward_linear(c, n, D, Q, q, ld, &L->wo, 1.0f, c->x, D);
    return 1;
}

/* The SwiGLU MLP sublayer of a pre-norm layer. */
static void forward_mlp_prenorm(bd3_ctx *c, int l, int n)
{
    const bd3_layer *L = &c->m->layers[l];
    const int D = c->m->hp.n_embd, F = c->m->hp.n_ff;
    const int cr = forward_chunk_rows(c, n);
    for (int r0 = 0; r0 < n; r0 += cr) {
        const int nr = n - r0 < cr ? n - r0 : cr;
        float *h = c->x + (size_t)r0 * D;
        /* a = rms(h) * w_ffn_norm */
        forward_rms(c, h, nr, L->ffn_norm, c->a);
        /* h = h + (silu(a @ Wgate^T) * (a @ Wup^T)) @ Wdown^T */
        forward_linear(c, nr, F, D, c->a, D, &L->w_gate, 0.0f, c->ff, F);
        forward_linear(c, nr, F, D, c->a, D, &L->w_up, 0.0f, c->ff2, F);
        forward_rows_job j = {.op = FORWARD_SWIGLU, .n = nr, .d = F, .x = c->ff, .y = c->ff2};
        forward_rows(c, &j);
        forward_linear(c, nr, D, F, c->ff, F, &L->w_down, 1.0f, h, D);
    }
}

void forward_shift(bd3_ctx *c, int n, const float *first)
{
    size_t D = (size_t)c->m->hp.n_embd;
    if (n > 1) memmove(c->x + D, c->x, (size_t)(n - 1) * D * sizeof(float));
    if (first) memcpy(c->x, first, D * sizeof(float));
}

void forward_layers(bd3_ctx *c, const int32_t *ids, int n, const struct forward_pass *p)
{
    const bd3_model *m = c->m;
    const size_t D = (size_t)m->hp.n_embd;
    forward_threads(c);
    /* h = E[x] */
    for (int i = 0; i < n; i++) model_embed_row(m, ids[i], c->x + (size_t)i * D);
    for (int l = 0; l < m->hp.n_layer; l++) {
        if (m->hp.prenorm) {
            if (!forward_attention_prenorm(c, l, n, p)) break;
            forward_mlp_prenorm(c, l, n);
            continue;
        }
        if (!forward_attention(c, l, n, p)) break;
        forward_mlp(c, l, n);
    }
}

void forward_output(bd3_ctx *c, int n, float *logits)
{
    const bd3_model *m = c->m;
    const int D = m->hp.n_embd, V = m->hp.n_vocab, cr = forward_chunk_rows(c, n);
    for (int r0 = 0; r0 < n; r0 += cr) {
        const int nr = n - r0 < cr ? n - r0 : cr;
        const float *h = c->x + (size_t)r0 * D;
        float *y = logits + (size_t)r0 * V;
        if (m->hp.prenorm) {
            /* logits = (rms(h) * w_out_norm) @ Wout^T, Wout possibly the embedding itself */
            forward_rms(c, h, nr, m->out_norm, c->a);
            forward_linear(c, nr, V, D, c->a, D, &m->w_out, 0.0f, y, V);
            continue;
        }
        const float *shift = m->out_mod, *scale = m->out_mod + D;
        /* a = LN(h) * w_out_norm * (1 + scale) + shift */
        forward_norm(c, h, nr, m->out_norm, shift, scale, c->a);
        /* logits = a @ Wout^T + bout */
        for (int i = 0; i < nr; i++) memcpy(y + (size_t)i * V, m->b_out, (size_t)V * sizeof(float));
        forward_linear(c, nr, V, D, c->a, D, &m->w_out, 1.0f, y, V);
    }
}

void forward_gather(bd3_ctx *c, const int *rows, int n_rows)
{
    size_t D = (size_t)c->m->hp.n_embd;
    for (int j = 0; j < n_rows; j++)
        if (rows[j] != j) memcpy(c->x + (size_t)j * D, c->x + (size_t)rows[j] * D, D * sizeof(float));
}

bd3_status forward_emit(bd3_ctx *c, int n_rows, int chunk, float *logits, bd3_rows_fn fn, void *user)
{
    size_t D = (size_t)c->m->hp.n_embd;
    for (int j0 = 0; j0 < n_rows; j0 += chunk) {
        int nj = n_rows - j0 < chunk ? n_rows - j0 : chunk;
        /* rows before j0 are done: move this chunk to the front, where forward_output reads */
        if (j0 > 0) memmove(c->x, c->x + (size_t)j0 * D, (size_t)nj * D * sizeof(float));
        forward_output(c, nj, logits);
        bd3_status st = fn(user, j0, nj, logits);
        if (st != BD3_OK) return st;
    }
    return BD3_OK;
}

bd3_status forward_check_ids(const bd3_ctx *c, const int32_t *ids, int n)
{
    if (!ids) return BD3_E_ARG;
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= c->m->hp.n_vocab) return BD3_E_ARG;
    return BD3_OK;
}

int forward_rows_ok(const int *rows, int n_rows, int n)
{
    if (!rows || n_rows < 1 || n_rows > n) return 0;
    for (int j = 0; j < n_rows; j++)
        if (rows[j] < 0 || rows[j] >= n || (j > 0 && rows[j] <= rows[j - 1])) return 0;
    return 1;
}

/* Every product runs single-threaded inside one task of the pool, which does all the
   parallel work: OpenBLAS's own threads would only spin beside it. */
void forward_threads(bd3_ctx *c)
{
    (void)c;
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

/* ---- window passes without a cache -------------------------------------------------------- */

bd3_status bd3_forward(bd3_ctx *c, const int32_t *ids, int n, int block_len, float *logits)
{
    if (!c || !logits || n < 1 || n > c->m->hp.n_ctx || block_len < 0) return BD3_E_ARG;
    if (forward_check_ids(c, ids, n)) return BD3_E_ARG;
    struct forward_pass p = {.block_len = block_len, .cache_pos = -1, .store = FORWARD_STORE_NONE};
    forward_layers(c, ids, n, &p);
    if (c->m->hp.logit_shift) forward_shift(c, n, NULL);
    forward_output(c, n, logits);
    return BD3_OK;
}

/* Checks a rows pass and runs its layers, leaving the wanted rows at the front of c->x. */
static bd3_status forward_rows_pass(bd3_ctx *c, const int32_t *ids, int n, int block_len, const int *rows,
                                    int n_rows)
{
    if (!c || n < 1 || n > c->m->hp.n_ctx || block_len < 0 || !forward_rows_ok(rows, n_rows, n))
        return BD3_E_ARG;
    if (forward_check_ids(c, ids, n)) return BD3_E_ARG;
    struct forward_pass p = {.block_len = block_len, .cache_pos = -1, .store = FORWARD_STORE_NONE};
    forward_layers(c, ids, n, &p);
    if (c->m->hp.logit_shift) forward_shift(c, n, NULL);
    forward_gather(c, rows, n_rows);
    return BD3_OK;
}

bd3_status bd3_forward_rows(bd3_ctx *c, const int32_t *ids, int n, int block_len, const int *rows, int n_rows,
                            float *logits)
{
    if (!logits) return BD3_E_ARG;
    bd3_status st = forward_rows_pass(c, ids, n, block_len, rows, n_rows);
    if (st != BD3_OK) return st;
    forward_output(c, n_rows, logits);
    return BD3_OK;
}

bd3_status bd3_forward_rows_each(bd3_ctx *c, const int32_t *ids, int n, int block_len, const int *rows,
                                 int n_rows, int chunk, float *logits, bd3_rows_fn fn, void *user)
{
    if (!logits || !fn || chunk < 1) return BD3_E_ARG;
    bd3_status st = forward_rows_pass(c, ids, n, block_len, rows, n_rows);
    if (st != BD3_OK) return st;
    return forward_emit(c, n_rows, chunk, logits, fn, user);
}
