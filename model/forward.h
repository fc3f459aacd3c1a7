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
};

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
