/* forward.h: the run-time context and the one layer loop of the forward pass (forward.c), the KV
 * cache (kvcache.c) and the window cache (wincache.c); internal to the engine, shared with the
 * benchmark (bench.c) and the operations (ops.c). Depends on model.h, kernels.h and pool.h. */
#ifndef BD3_FORWARD_H
#define BD3_FORWARD_H

#include "bf16.h"
#include "kernels.h"
#include "model.h"
#include "pool.h"

/* The KV cache of spec section 2: committed clean rows, their keys before and after RoPE. */
struct kvcache {
    float *k;      /* [n_layer, n_ctx, KD] cached keys BEFORE RoPE (KD = kv_dim) */
    float *k_rot;  /* [n_layer, n_ctx, KD] the same keys rotated at their current window
                      positions (rows 0..len-1 valid); lent to the window cache, whose
                      rows it then holds (rot_stale) */
    float *v;      /* [n_layer, n_ctx, KD] cached values */
    int len;       /* committed rows, <= n_ctx - block */
    int32_t *ids;  /* [n_ctx] ids of the cached rows (rows 0..len-1 valid) */
    long total;    /* ids committed since the cache was last cleared (dropped rows included) */
    uint64_t hash; /* FNV-1a hash of those total ids, in order */
    int block;     /* rows of every commit since the clear; -1 when they differed, 0 none */
    int rot_stale; /* 1 when k_rot holds window-cache rows instead of the KV cache's keys */
    float *saved;  /* [n_layer, 3, KD] logit shift only: one row's k, k_rot, v kept aside
                      while that row is recomputed; NULL otherwise */
};

/* The window cache of approximate global denoising (bd3_sampler_params.refresh). Its float32 rows
 * live in the KV cache's k_rot buffer (which the next KV-cache call rotates again from the raw
 * keys): with int8 attention (packed) only the values are kept there, the keys being packed from
 * each pass's own rows; otherwise keys and values, each with layer stride ld_layer rows, side by
 * side when the window has at most n_ctx / 2 rows, else with the values in a buffer of their own
 * made by the first such window. */
struct wincache {
    float *k;          /* [n_layer, ld_layer, KD] keys of every row of the last refresh, rotated at
                          their window positions (in k_rot); NULL while packed */
    float *v;          /* [n_layer, ld_layer, KD] values of the same rows (in k_rot, or v_own) */
    int ld_layer;      /* rows per layer in k and v: n_ctx, or n_ctx / 2 when both share k_rot */
    float *v_own;      /* [n_layer, n_ctx, KD] values of a float32-attention window of more than
                          n_ctx / 2 rows; NULL until one came */
    int n;             /* rows held; 0 when it holds nothing */
    quant_matrix *pk;  /* [n_layer * H] int8 attention: each layer's and head's keys packed
                          (keys x hd), made by the first packed window; NULL before, and always
                          when the context has no int8 attention */
    quant_matrix *pvt; /* [n_layer * H] the values transposed and packed (hd x keys) */
    int packed;        /* 1 when pk and pvt hold the last refresh's keys and values */
};

#define FORWARD_N_WORK 16 /* buffer slots of the operations in a context */

struct sampler;

struct bd3_ctx {
    const bd3_model *m;         /* the model (not owned) */
    int n_threads;              /* threads of the pool (OpenBLAS runs single-threaded inside its tasks) */
    pool *pool;                 /* workers for products, attention heads and elementwise loops */
    size_t bytes;               /* bytes of everything allocated below */
    int q_chunk;                /* query rows per attention chunk (rows of scores) */
    int row_chunk;              /* R: most rows of one chunk of the position-wise work (norms, products,
                                   MLP, output layer); FORWARD_ROW_CHUNK in int8 and bf16 contexts,
                                   n_ctx in float32 ones; may be lowered (tests), never raised */
    float *x;                   /* [n_ctx, D] residual stream h */
    float *a;                   /* [R, D] normalised, modulated input of a sublayer, one chunk of rows */
    int q_dim;                  /* Q = n_head * head_dim: query width (D for the DiT) */
    int kv_dim;                 /* KD = n_head_kv * head_dim: key and value width (D for the DiT) */
    float *qkv;                 /* [n_ctx, Q + 2 KD] q | k | v of each row; the attention output o, heads
                                   side by side, then takes the place of q; after the layers, the logits
                                   of the operations' model calls (ops_logits) */
    float *proj;                /* [R, D] output of a projection before gating, one chunk of rows */
    float *ff;                  /* [R, F] MLP hidden activations (pre-norm: the gate), one chunk of rows */
    float *ff2;                 /* [R, F] pre-norm only: the SwiGLU up projection; NULL for the DiT */
    float *prev_h;              /* [D] logit shift with the KV cache: hidden state of the last cached row */
    int prev_len;               /* cache length prev_h belongs to; -1 when it holds nothing */
    int ld_scores;              /* floats per row of scores: n_ctx rounded up to a multiple of 32 */
    float *scores;              /* [n_threads, q_chunk, ld_scores] attention probabilities, one head per
                                   thread */
    float *inv_sum;             /* [n_threads, q_chunk] 1 / softmax row sums, one chunk per thread */
    int *lens;                  /* [n_ctx] keys each query row sees */
    int32_t *row_ids;           /* [n_ctx] ids of the rows of a window-cache step */
    int8_t *xq;                 /* [R, max(D, F, Q)] input of an int8 product, quantized (quant_rows) */
    float *xd;                  /* [R, max(D, F, Q) / 32] its block scales */
    int32_t *xs;                /* [R, max(D, F, Q) / 32] its block sums times -128 */
    uint16_t *xb;               /* [R, max(D, F, Q)] input of a bf16 product rounded to bfloat16 (rows of
                                   the matrix's cols); NULL when the model holds no bf16 matrix */
    uint16_t *wtile;            /* [n_threads * BF16_TILE * max(D, F, Q)] gathered bf16 weights: thread tid's
                                   from tid * BF16_TILE * cols of the product (bf16_matmul); NULL with xb */
    quant_matrix *att_k;        /* [H] int8 attention: each query head's keys (those of its kv head)
                                   packed, ld_scores keys x hd */
    quant_matrix *att_vt;       /* [H] each query head's values transposed and packed, hd x ld_scores */
    int8_t *att_q;              /* [n_threads, max(q_chunk, hd), ld_scores] quantized queries,
                                   probabilities, or keys and values being packed */
    float *att_d;               /* [n_threads, max(q_chunk, hd), ld_scores / 32] their block scales */
    int32_t *att_s;             /* [n_threads, max(q_chunk, hd), ld_scores / 32] their block sums * -128 */
    float *att_vt_tmp;          /* [n_threads, hd, ld_scores] one head's values transposed, keys padded */
    float *rope_cos;            /* [n_ctx, hd/2] cos of position * inv_freq (hd = head_dim) */
    float *rope_sin;            /* [n_ctx, hd/2] sin of position * inv_freq */
    struct kvcache kv;          /* KV cache */
    struct wincache win;        /* window cache */
    void *work[FORWARD_N_WORK]; /* buffers of the operations (ops.c, fit.c) by slot, each grown
                                   to the largest size asked and kept (forward_work) */
    size_t work_size[FORWARD_N_WORK]; /* bytes of each */
    struct sampler *sampler;          /* the operations' sampler: made by the first, reset by the
                                         next (ops_sampler); NULL before */
};

#define FORWARD_Q_ATT_ROWS 64 /* int8 attention from this many query rows (quantized contexts) */
#define FORWARD_ROW_CHUNK                                                                                    \
    256 /* rows of a chunk of the position-wise work in int8 and bf16 contexts: the                          \
           rows of one int8 product task, whose input stays in L2 */

/* What a pass keeps besides the residual stream it leaves in c->x. */
enum forward_store {
    FORWARD_STORE_NONE,    /* nothing */
    FORWARD_STORE_KV,      /* every layer's raw and rotated K and V of the rows into the KV cache at
                              rows cache_pos.. (the queries then read them there) */
    FORWARD_STORE_KV_ONLY, /* the same; the last layer stops once they are stored (a commit) */
    FORWARD_STORE_WINDOW,  /* every layer's rotated K and V of the rows into the window cache at
                              their window positions */
};

/* One pass of n rows through the layers: where the rows sit, which keys their queries see, what
 * the pass stores. */
struct forward_pass {
    int block_len;            /* mask among the keys: BD3_GLOBAL, or B (query at position p sees
                                 keys j < (p / B + 1) * B) */
    int cache_pos;            /* -1: no KV cache, the rows are at positions 0..n-1 and see one
                                 another; >= 0: rows at positions cache_pos.., seeing the cached
                                 rows 0..cache_pos-1 and themselves (store KV or KV_ONLY) */
    enum forward_store store; /* see above */
    const int *active;        /* NULL, or [n] window positions (ascending) of the rows of a
                                 window-cache step: each query sees all n_window rows of the window
                                 cache, whose active rows the pass has just replaced */
    int n_window;             /* rows of the window (with active) */
};

/* Runs ids[0..n) through every layer as p describes; the residual stream ends in c->x [n, D].
 * ids are checked by the caller. */
void forward_layers(bd3_ctx *c, const int32_t *ids, int n, const struct forward_pass *p);
/* Final norm and output projection of the first n rows of c->x into logits [n, V]. */
void forward_output(bd3_ctx *c, int n, float *logits);
/* Moves rows rows[j] of c->x to row j (rows strictly ascending, so rows[j] >= j). */
void forward_gather(bd3_ctx *c, const int *rows, int n_rows);
/* Logits of the first n_rows rows of c->x, handed to fn in chunks of at most chunk rows. */
bd3_status forward_emit(bd3_ctx *c, int n_rows, int chunk, float *logits, bd3_rows_fn fn, void *user);
/* BD3_OK when ids is non-NULL and every id is in the vocabulary. */
bd3_status forward_check_ids(const bd3_ctx *c, const int32_t *ids, int n);
/* 1 when rows[0..n_rows) are strictly ascending indices into a window of n, n_rows >= 1. */
int forward_rows_ok(const int *rows, int n_rows, int n);
/* Buffer slot (0 .. FORWARD_N_WORK - 1) of the operations, at least bytes long (64-byte aligned):
 * the slot's buffer when it is long enough, else a new one replacing it (contents not kept), so
 * that a sequence of operations allocates only when one needs more than any before. NULL when out
 * of memory (the slot is then empty). */
void *forward_work(bd3_ctx *c, int slot, size_t bytes);
/* Allocates n floats (64-byte aligned) and adds their bytes to *bytes; NULL on failure. */
float *forward_alloc(size_t n, size_t *bytes);
/* Keeps OpenBLAS single-threaded inside the pool's tasks (call at the start of every pass). */
void forward_threads(bd3_ctx *c);
/* RoPE on n rows of stride floats: the first n_heads heads (head_dim each) of each row; row i at
 * position pos0 + i, or at active[i] when active is non-NULL. */
void forward_rope(bd3_ctx *c, float *x, int n, int stride, int n_heads, int pos0, const int *active);
/* Logit shift (hparams.logit_shift): row i of c->x [n, D] takes row i - 1's hidden state; row 0
 * takes first when non-NULL, else keeps its own. */
void forward_shift(bd3_ctx *c, int n, const float *first);

#define FORWARD_ROWS_PER_TASK 32 /* rows per task of the elementwise loops */
#define FORWARD_SMALL_ROWS    32 /* products over at most this many rows run in small slices */

/* Widest slice (a multiple of 16; 0 if none) of one dimension of a column-major product
 * [m, k] x [k, n] that OpenBLAS's small-matrix kernels take (they skip packing): m * n * k <= 1e6,
 * and with a transposed first operand m * n <= 1200 and k >= 32. fixed: the size of the other of
 * m and k; transposed: first operand transposed, slicing m (fixed = k). */
int forward_small_slice(int n, int fixed, int transposed);
/* Rows per task of a row-wise loop over n rows: FORWARD_ROWS_PER_TASK, fewer when that would
 * leave threads idle (a call of a few rows). Each row's result is the same whatever the split. */
int forward_rows_per_task(const bd3_ctx *c, int n);

/* y[n, n_out] (row stride ldy) = x[n, n_in] (row stride ldx) @ w[n_out, n_in]^T + beta * y over
 * the pool, by w->kind: float32 matrices split by output features, one single-threaded sgemm per
 * slice; packed Q8_0 matrices with x quantized per block of 32 (quant_rows) and int8 products
 * (quant_matmul) split by rows and output tiles; bfloat16 matrices with x rounded to bfloat16
 * (bf16_round_rows) and bf16 products (bf16_matmul) split the same way (tiles of 16 rows). */
void forward_linear(bd3_ctx *c, int n, int n_out, int n_in, const float *x, int ldx, const model_matrix *w,
                    float beta, float *y, int ldy);

/* Attention of nq queries at window positions qpos0.. over nk keys at positions 0..nk-1, all
 * heads: out[i, h*hd..] = softmax(q_h k_h^T / sqrt(hd) + mask) v_h. q: rows of ldq floats (RoPE
 * applied), k: rows of ldk, v: rows of ldv; out: rows of ldq floats, which may be q itself (each
 * head's output then replaces its queries). block_len 0: every key visible;
 * B > 0: query at position p sees keys j < (p / B + 1) * B. */
void forward_attend(bd3_ctx *c, const float *q, int ldq, int nq, int qpos0, const float *k, int ldk,
                    const float *v, int ldv, int nk, int block_len, float *out);

/* Global int8 attention of nq queries over nk keys through packed keys and transposed values
 * pk[H], pvt[H] (int8 contexts only); pack: first pack k and v (rows of ldk, ldv) into them,
 * else they already hold the keys and values. out as forward_attend's (may be q). */
void forward_attend_packed(bd3_ctx *c, const float *q, int ldq, int nq, const float *k, int ldk,
                           const float *v, int ldv, int nk, quant_matrix *pk, quant_matrix *pvt, int pack,
                           float *out);
/* Allocates a packed matrix's buffers, n_tiles tiles of ld_blocks blocks; adds to *bytes. */
bd3_status forward_alloc_packed(quant_matrix *q, int n_tiles, int ld_blocks, size_t *bytes);

/* ---- KV cache (kvcache.c) ---- */

/* Allocates the cache's buffers, adding their bytes to c->bytes; frees them. */
bd3_status kvcache_init(bd3_ctx *c);
void kvcache_free(bd3_ctx *c);
/* Stores layer l's raw keys and values of n rows (rows of ld floats) at cache rows pos.. . */
void kvcache_store_raw(bd3_ctx *c, int l, int pos, int n, const float *k, const float *v, int ld);
/* Stores layer l's rotated keys of n rows (rows of ld floats) at rows pos.. of k_rot. */
void kvcache_store_rot(bd3_ctx *c, int l, int pos, int n, const float *k, int ld);
/* Before a pass through the KV cache: when the window cache used k_rot, rotate the cached rows'
 * raw keys again at their window positions (the window cache then holds nothing). */
void kvcache_keys(bd3_ctx *c);

/* As bd3_cache_forward, but the output projection runs for the n_rows rows listed in rows
 * (strictly ascending block indices) only: logits [n_rows, n_vocab]. */
bd3_status kvcache_rows(bd3_ctx *c, const int32_t *ids, int n, const int *rows, int n_rows, float *logits);

/* How many leading tokens of prompt[0..n_full) (the prompt's complete blocks of block_len) the KV
 * cache already holds committed, exactly as committing them block by block after a clear would
 * leave it: a multiple of block_len; 0 after clearing the cache when nothing can be reused. The
 * cache is cut back to the reused rows. Reuse needs every commit since the last clear to have been
 * block_len rows; while no row was ever dropped, the longest block-aligned prefix of the cached ids
 * that matches the prompt is kept; after rows were dropped only the whole committed history (by
 * hash of every id committed since the clear, and the cached ids themselves) can match. */
long kvcache_reuse(bd3_ctx *c, const int32_t *prompt, long n_full, int block_len);

/* ---- window cache (wincache.c) ---- */

/* Sets the window cache up empty (its buffers are made by the first window that needs them: the
 * KV cache is allocated first); frees its buffers. */
bd3_status wincache_init(bd3_ctx *c);
void wincache_free(bd3_ctx *c);
/* Before a refresh of n rows: the window cache takes k_rot over from the KV cache and lays out
 * its rows for a window of n (packed when the int8 attention takes it), making the packed keys and
 * values or the values' own buffer when they are needed the first time (BD3_E_NOMEM when that
 * fails). */
bd3_status wincache_claim(bd3_ctx *c, int n);
/* Stores layer l's rotated keys (unless packed) and values of n rows (rows of ld floats) at window
 * rows pos0.., or at active[i] when active is non-NULL. */
void wincache_store(bd3_ctx *c, int l, int n, const float *k, const float *v, int ld, int pos0,
                    const int *active);

/* The attention of layer l in a pass that stores into the window cache (int8 contexts): a
 * refresh packs the rows' keys and values for the steps to come, a step repacks its active rows
 * and attends through the packed window. Returns 0 when float32 attention must run instead. */
int wincache_attend(bd3_ctx *c, int l, const float *q, int ldq, int n, const float *k, const float *v, int ld,
                    const struct forward_pass *p, float *out);

/* A global pass over the n ids that also stores every layer's rotated K and V of all n rows in the
 * window cache, then hands the logits of rows (strictly ascending window indices) to fn in chunks
 * of at most chunk rows, as bd3_forward_rows_each does (whose logits it equals exactly). */
bd3_status wincache_refresh(bd3_ctx *c, const int32_t *ids, int n, const int *rows, int n_rows, int chunk,
                            float *logits, bd3_rows_fn fn, void *user);
/* A step against the window cache: only the n_active rows listed in active (strictly ascending)
 * run through the layers; their queries attend to every row of the window, with the keys and
 * values of the active rows computed afresh (and stored) and those of the others as the last
 * refresh left them. rows (strictly ascending) must be a subset of active; their logits go to fn
 * as above. BD3_E_ARG when the cache holds no refresh of n rows. Right after a refresh over the
 * same ids the logits equal the refresh's to float32 rounding. */
bd3_status wincache_step(bd3_ctx *c, const int32_t *ids, int n, const int *active, int n_active,
                         const int *rows, int n_rows, int chunk, float *logits, bd3_rows_fn fn, void *user);

#endif
