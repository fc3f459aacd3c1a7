/* bench.c: forward-pass speed against OpenBLAS sgemm at the model's shapes (bd3_bench_forward).
 * Depends on forward.h, kernels.h and OpenBLAS. */
#include "forward.h"

#include <cblas.h>
#include "kernels.h"
#include <stdlib.h>
#include <time.h>

static double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* y[n, n_out] = x[n, n_in] @ w[n_out, n_in]^T as one sgemm call (OpenBLAS's own threads); adds
   its FLOPs to *flop. */
static void bench_linear(int n, int n_out, int n_in, const float *x, const float *w, float *y, double *flop)
{
    cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, n_out, n, n_in, 1.0f, w, n_in, x, n_in, 0.0f, y,
                n_out);
    *flop += 2.0 * n * n_out * n_in;
}

/* c[m, n] = a[m, k] @ b[n, k]^T (transb) or a @ b[k, n]; adds 2mnk to *flop. */
static void bench_gemm(int transb, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                       float *cc, int ldc, double *flop)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, transb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda, b,
                ldb, 0.0f, cc, ldc);
    *flop += 2.0 * m * n * k;
}

/* Activations of the sgemm pass over all n_ctx rows at once (the context holds a chunk of rows
   of some of them). */
typedef struct bench_rows {
    float *a;    /* [n_ctx, D] input of the products from the residual stream */
    float *proj; /* [n_ctx, D] output of the projections into it */
    float *ff;   /* [n_ctx, F] MLP hidden activations (and pre-norm k, v) */
    float *ff2;  /* [n_ctx, F] pre-norm: the SwiGLU up projection */
    float *att;  /* [n_ctx, max(D, Q)] attention output */
} bench_rows;

/* The matrix products of one global forward over n = n_ctx rows, in the same order and shapes,
   each as one sgemm call that OpenBLAS parallelises with its own threads. wq: float32 values
   of the largest matrix's size, standing in for the matrices not held in float32 (packed Q8_0 or
   Q4_0, bfloat16). */
static double bench_sgemm_pass(bd3_ctx *c, const bench_rows *b, float *logits, const float *wq)
{
    const bd3_model *m = c->m;
    const bd3_hparams *hp = &m->hp;
    int n = hp->n_ctx, D = hp->n_embd, F = hp->n_ff, V = hp->n_vocab, H = hp->n_head, hd = D / H;
    int N = hp->n_ctx;
    double flop = 0.0;
#define BENCH_W(mat) ((mat).kind == MODEL_KIND_F32 ? (mat).f32 : wq)
    if (hp->prenorm) { /* model/QWEN.md: q, k, v, grouped heads, SwiGLU */
        int Q = c->q_dim, KD = c->kv_dim, ld = Q + 2 * KD, g = hp->n_head / hp->n_head_kv;
        hd = hp->head_dim;
        for (int l = 0; l < hp->n_layer; l++) {
            const bd3_layer *L = &m->layers[l];
            bench_linear(n, Q, D, b->a, BENCH_W(L->wq), c->qkv, &flop);
            bench_linear(n, KD, D, b->a, BENCH_W(L->wk), b->ff, &flop);
            bench_linear(n, KD, D, b->a, BENCH_W(L->wv), b->ff, &flop);
            for (int r0 = 0; r0 < n; r0 += c->q_chunk) {
                int rows = n - r0 < c->q_chunk ? n - r0 : c->q_chunk;
                for (int h = 0; h < H; h++) {
                    const float *k = c->qkv + Q + (size_t)(h / g) * hd, *v = k + KD;
                    bench_gemm(1, rows, n, hd, c->qkv + (size_t)r0 * ld + (size_t)h * hd, ld, k, ld,
                               c->scores, N, &flop);
                    bench_gemm(0, rows, hd, n, c->scores, N, v, ld, b->att + (size_t)r0 * Q + (size_t)h * hd,
                               Q, &flop);
                }
            }
            bench_linear(n, D, Q, b->att, BENCH_W(L->wo), b->proj, &flop);
            bench_linear(n, F, D, b->a, BENCH_W(L->w_gate), b->ff, &flop);
            bench_linear(n, F, D, b->a, BENCH_W(L->w_up), b->ff2, &flop);
            bench_linear(n, D, F, b->ff, BENCH_W(L->w_down), b->proj, &flop);
        }
        bench_linear(n, V, D, b->a, BENCH_W(m->w_out), logits, &flop);
        return flop;
    }
    for (int l = 0; l < hp->n_layer; l++) {
        const bd3_layer *L = &m->layers[l];
        bench_linear(n, 3 * D, D, b->a, BENCH_W(L->wqkv), c->qkv, &flop);
        for (int r0 = 0; r0 < n; r0 += c->q_chunk) {
            int rows = n - r0 < c->q_chunk ? n - r0 : c->q_chunk;
            for (int h = 0; h < H; h++) {
                bench_gemm(1, rows, n, hd, c->qkv + (size_t)r0 * 3 * D + (size_t)h * hd, 3 * D,
                           c->qkv + D + (size_t)h * hd, 3 * D, c->scores, N, &flop);
                bench_gemm(0, rows, hd, n, c->scores, N, c->qkv + 2 * D + (size_t)h * hd, 3 * D,
                           b->att + (size_t)r0 * D + (size_t)h * hd, D, &flop);
            }
        }
        bench_linear(n, D, D, b->att, BENCH_W(L->wo), b->proj, &flop);
        bench_linear(n, F, D, b->a, BENCH_W(L->w_up), b->ff, &flop);
        bench_linear(n, D, F, b->ff, BENCH_W(L->w_down), b->proj, &flop);
    }
    bench_linear(n, V, D, b->a, BENCH_W(m->w_out), logits, &flop);
#undef BENCH_W
    return flop;
}

bd3_status bd3_bench_forward(bd3_ctx *c, int n_runs, bd3_bench_result *out)
{
    if (!c || !out) return BD3_E_ARG;
    if (n_runs <= 0) n_runs = 3;
    const bd3_hparams *hp = &c->m->hp;
    int n = hp->n_ctx;
    float *logits = malloc((size_t)n * (size_t)hp->n_vocab * sizeof(float));
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    /* float32 stand-ins for packed matrices: the sgemm figure is the float32 speed */
    size_t big = (size_t)hp->n_embd * (size_t)(hp->n_vocab > hp->n_ff ? hp->n_vocab : hp->n_ff);
    if (big < (size_t)3 * hp->n_embd * hp->n_embd) big = (size_t)3 * hp->n_embd * hp->n_embd;
    if (big < (size_t)c->q_dim * hp->n_embd) big = (size_t)c->q_dim * hp->n_embd;
    float *wq = c->m->compute != BD3_COMPUTE_F32 ? malloc(big * sizeof *wq) : NULL;
    size_t nd = (size_t)n * (size_t)hp->n_embd, nf = (size_t)n * (size_t)hp->n_ff;
    size_t na = (size_t)n * (size_t)(c->q_dim > hp->n_embd ? c->q_dim : hp->n_embd);
    bench_rows b = {malloc(nd * sizeof(float)), malloc(nd * sizeof(float)), malloc(nf * sizeof(float)),
                    malloc(nf * sizeof(float)), malloc(na * sizeof(float))};
    if (!logits || !ids || (c->m->compute != BD3_COMPUTE_F32 && !wq) || !b.a || !b.proj || !b.ff || !b.ff2 ||
        !b.att) {
        free(logits);
        free(ids);
        free(wq);
        free(b.a);
        free(b.proj);
        free(b.ff);
        free(b.ff2);
        free(b.att);
        return BD3_E_NOMEM;
    }
    for (size_t i = 0; wq && i < big; i++) wq[i] = (float)((i * 2654435761u) % 2001) * 1e-5f - 0.01f;
    /* inputs of the sgemm pass: values of the size a normalised row has */
    for (size_t i = 0; i < nd; i++) b.a[i] = (float)((i * 40503u) % 1999) * 1e-3f - 1.0f;
    for (size_t i = 0; i < nf; i++) b.ff[i] = (float)((i * 40503u) % 1999) * 1e-3f - 1.0f;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int32_t id = (int32_t)((s >> 33) % (uint64_t)hp->n_vocab);
        ids[i] = id == hp->mask_id ? (id + 1) % hp->n_vocab : id;
    }
    bd3_cache_clear(c);
    /* fill the buffers the sgemm pass reads with sane values */
    bd3_status st = bd3_forward(c, ids, n, BD3_GLOBAL, logits);
    double best_fwd = 1e30, best_gemm = 1e30, flop = 0.0, peak = 1e30;
    /* all forwards first: OpenBLAS's own threads, used by the sgemm runs below, keep spinning
       for a while after each call and would slow down a forward that follows */
    for (int r = 0; r < n_runs && st == BD3_OK; r++) {
        double t0 = bench_now();
        st = bd3_forward(c, ids, n, BD3_GLOBAL, logits);
        double t1 = bench_now();
        if (t1 - t0 < best_fwd) best_fwd = t1 - t0;
    }
    openblas_set_num_threads(c->n_threads); /* the next forward pass sets it back to 1 */
    for (int r = 0; r < n_runs && st == BD3_OK; r++) {
        double t1 = bench_now();
        flop = bench_sgemm_pass(c, &b, logits, wq);
        double t2 = bench_now();
        double f = 0.0;
        const model_matrix *w_up = &c->m->layers[0].w_up;
        bench_linear(n, hp->n_ff, hp->n_embd, b.a, w_up->kind == MODEL_KIND_F32 ? w_up->f32 : wq, b.ff, &f);
        double t3 = bench_now();
        if (t2 - t1 < best_gemm) best_gemm = t2 - t1;
        if (t3 - t2 < peak) peak = t3 - t2;
    }
    openblas_set_num_threads(1); /* as the forward pass runs it */
    if (st == BD3_OK) {
        out->flop = flop;
        out->forward_s = best_fwd;
        out->sgemm_s = best_gemm;
        out->forward_gflops = flop / best_fwd * 1e-9;
        out->sgemm_gflops = flop / best_gemm * 1e-9;
        out->peak_gflops = 2.0 * n * hp->n_ff * hp->n_embd / peak * 1e-9;
        out->ratio = out->forward_gflops / out->sgemm_gflops;
    }
    free(logits);
    free(ids);
    free(wq);
    free(b.a);
    free(b.proj);
    free(b.ff);
    free(b.ff2);
    free(b.att);
    return st;
}

const char *bd3_isa_name(void) { return kern_isa_name(kern_isa()); }
