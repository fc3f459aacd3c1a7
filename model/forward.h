/* forward.h: the run-time context shared by the forward pass (forward.c) and the benchmark
 * (bench.c); internal to the engine. Depends on model.h, kernels.h and pool.h. */
#ifndef BD3_FORWARD_H
#define BD3_FORWARD_H

#include "kernels.h"
#include "model.h"
#include "pool.h"

struct bd3_ctx {
    const bd3_model *m; /* the model (not owned) */
    int n_threads;      /* threads of the pool (OpenBLAS runs single-threaded inside its tasks) */
    pool *pool;         /* workers for attention heads and elementwise loops */
    size_t bytes;       /* bytes of everything allocated below */
    int q_chunk;        /* query rows per attention chunk (rows of scores) */
    float *x;           /* [n_ctx, D] residual stream */
    float *a;           /* [n_ctx, D] normalised, modulated input of a sublayer */
    float *qkv;         /* [n_ctx, 3D] q | k | v of each row */
    float *att;         /* [n_ctx, D] attention output, heads side by side */
    float *proj;        /* [n_ctx, D] output of a projection before gating */
    float *ff;          /* [n_ctx, F] MLP hidden activations */
    float *scores;      /* [n_threads, q_chunk, n_ctx] attention probabilities, one head per thread */
    float *inv_sum;     /* [n_threads, q_chunk] 1 / softmax row sums, one chunk per thread */
    int *lens;          /* [n_ctx] keys each query row sees */

    float *rope_cos;    /* [n_ctx, hd/2] cos of position * inv_freq */
    float *rope_sin;    /* [n_ctx, hd/2] sin of position * inv_freq */
    float *k_cache;     /* [n_layer, n_ctx, D] cached keys BEFORE RoPE */
    float *k_rot;       /* [n_layer, n_ctx, D] the same keys rotated at their current window
                           positions (rows 0..cache_len-1 valid) */
    float *v_cache;     /* [n_layer, n_ctx, D] cached values */
    int cache_len;      /* committed rows in the cache, <= n_ctx - block */
    int32_t *cache_ids; /* [n_ctx] ids of the cached rows (rows 0..cache_len-1 valid) */
    long cache_total;   /* ids committed since the cache was last cleared (dropped rows included) */
    uint64_t cache_hash; /* FNV-1a hash of those cache_total ids, in order */
    int cache_block;    /* rows of every commit since the clear; -1 when they differed, 0 none */

    float *win_k;       /* [n_layer, n_ctx, D] window cache: keys of every row of the last
                           refresh pass, rotated at their window positions; the same buffer as
                           k_rot, which is rotated again from k_cache when the KV cache is next used */
    int rot_stale;      /* 1 when k_rot holds window-cache keys instead of the KV cache's */
    float *win_v;       /* [n_layer, n_ctx, D] window cache: values of the same rows */
    int win_n;          /* rows held by the window cache; 0 when it holds nothing */
};

/* As bd3_cache_forward, but the output projection runs for the n_rows rows listed in rows
 * (strictly ascending block indices) only: logits [n_rows, n_vocab]. */
bd3_status ctx_cache_rows(bd3_ctx *c, const int32_t *ids, int n, const int *rows, int n_rows,
                          float *logits);

/* Window cache (approximate global denoising, bd3_sampler_params.refresh): a global pass over the
 * n ids that also stores every layer's rotated K and V of all n rows in the window cache, then
 * hands the logits of rows (strictly ascending window indices) to fn in chunks of at most chunk
 * rows, as bd3_forward_rows_each does (whose logits it equals exactly). */
bd3_status ctx_window_refresh(bd3_ctx *c, const int32_t *ids, int n, const int *rows, int n_rows,
                              int chunk, float *logits, bd3_rows_fn fn, void *user);
/* A step against the window cache: only the n_active rows listed in active (strictly ascending)
 * run through the layers; their queries attend to every row of the window, with the keys and
 * values of the active rows computed afresh (and stored) and those of the others as the last
 * refresh left them. rows (strictly ascending) must be a subset of active; their logits go to fn
 * as above. BD3_E_ARG when the cache holds no refresh of n rows. Right after a refresh over the
 * same ids the logits equal the refresh's to float32 rounding. */
bd3_status ctx_window_step(bd3_ctx *c, const int32_t *ids, int n, const int *active, int n_active,
                           const int *rows, int n_rows, int chunk, float *logits, bd3_rows_fn fn,
                           void *user);

/* How many leading tokens of prompt[0..n_full) (the prompt's complete blocks of block_len) the KV
 * cache already holds committed, exactly as committing them block by block after a clear would
 * leave it: a multiple of block_len; 0 after clearing the cache when nothing can be reused. The
 * cache is cut back to the reused rows. Reuse needs every commit since the last clear to have been
 * block_len rows; while no row was ever dropped, the longest block-aligned prefix of the cached ids
 * that matches the prompt is kept; after rows were dropped only the whole committed history (by
 * hash of every id committed since the clear, and the cached ids themselves) can match. */
long ctx_cache_reuse(bd3_ctx *c, const int32_t *prompt, long n_full, int block_len);

/* y[n, n_out] (row stride ldy) = x[n, n_in] (row stride ldx) @ w[n_out, n_in]^T + beta * y,
 * split by output features over the pool, one single-threaded sgemm per slice. */
void ctx_linear(bd3_ctx *c, int n, int n_out, int n_in, const float *x, int ldx, const float *w,
                float beta, float *y, int ldy);

/* Attention of nq queries at window positions qpos0.. over nk keys at positions 0..nk-1, all
 * heads: out[i, h*hd..] = softmax(q_h k_h^T / sqrt(hd) + mask) v_h. q: rows of ldq floats (RoPE
 * applied), k: rows of ldk, v: rows of ldv; out: [nq, D]. block_len 0: every key visible;
 * B > 0: query at position p sees keys j < (p / B + 1) * B. */
void ctx_attention(bd3_ctx *c, const float *q, int ldq, int nq, int qpos0, const float *k, int ldk,
                   const float *v, int ldv, int nk, int block_len, float *out);

#endif
