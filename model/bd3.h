/* bd3.h: the one public interface of the bd3lm engine (GGUF model loading, tokenizer, forward
 * pass with KV cache, samplers, and the operations built on them). Depends on libc only: it
 * knows nothing of editors, terminals or curses. Math and file format: shared/spec/model.md. */
#ifndef BD3_H
#define BD3_H

#include <stddef.h>
#include <stdint.h>

/* ---- status ------------------------------------------------------------------------------ */

typedef enum bd3_status {
    BD3_OK = 0,
    BD3_E_IO,          /* a file could not be opened, read or mapped */
    BD3_E_FORMAT,      /* a model file is malformed (message in the err buffer) */
    BD3_E_UNSUPPORTED, /* well-formed, but uses something this engine does not implement */
    BD3_E_NOMEM,       /* an allocation failed */
    BD3_E_ARG,         /* the caller passed an invalid argument (length, id, range) */
    BD3_E_CANCELLED,   /* a step callback asked to stop */
} bd3_status;

/* A constant English message for a status. */
const char *bd3_status_str(bd3_status s);

/* ---- model ------------------------------------------------------------------------------- */

#define BD3_MAX_BLOCK_LENGTHS 16

typedef struct bd3_hparams {
    int n_vocab;         /* V: vocabulary size, mask token included */
    int n_embd;          /* D: hidden size */
    int n_head;          /* H: attention heads; head size is n_embd / n_head */
    int n_layer;         /* transformer blocks */
    int n_ff;            /* F: MLP width */
    int n_head_kv;       /* key/value heads (grouped-query attention); n_head when not grouped */
    int head_dim;        /* hd: size of one attention head; n_embd / n_head for the DiT */
    int prenorm;         /* 1: the pre-norm RMSNorm/SwiGLU backbone of model/QWEN.md; 0: DiT */
    int logit_shift;     /* 1: the distribution of position i is the output of row i - 1 (row 0
                            its own), model/QWEN.md; 0: row i */
    int sub_block;       /* block decoding one sub-block of this many tokens at a time; 0: whole */
    int n_ctx;           /* tokens per window (the paper's L) */
    float norm_eps;      /* layer-norm epsilon */
    float rope_base;     /* RoPE frequency base */
    int32_t mask_id;     /* id of the mask token */
    int32_t eos_id;      /* id of <|endoftext|>, -1 when the vocabulary has none */
    int n_block_lengths; /* entries used in block_lengths */
    int block_lengths[BD3_MAX_BLOCK_LENGTHS]; /* trained block lengths, preferred first; n_ctx = global */
} bd3_hparams;

typedef struct bd3_model bd3_model; /* weights (views into the mapped file) and tokenizer; read-only
                                       after load, so several contexts and threads may share it */

/* How the matrix products of the forward pass compute. */
typedef enum bd3_compute {
    BD3_COMPUTE_AUTO, /* the fastest: Q8_0 and Q4_0 matrices stay packed and multiply in int8 (activations
                         quantized per block of 32 as Q8_0 defines, on the fly); F16 and BF16 ones, on a
                         CPU with AVX512_BF16, in bfloat16 as BD3_COMPUTE_BF16 holds them (elsewhere in
                         float32); F32 ones in float32 */
    BD3_COMPUTE_F32,  /* every matrix expanded to float32 at load; float32 products (OpenBLAS) */
    BD3_COMPUTE_Q8,   /* every matrix in Q8_0 and int8 products; F32/F16/BF16 matrices quantized at load */
    BD3_COMPUTE_BF16, /* F32, F16 and BF16 matrices in bfloat16 (BF16 as in the file, the others rounded
                         to nearest at load), activations rounded to bfloat16 per product, products
                         summed in float32 as AVX512_BF16's vdpbf16ps does (the same bits on a CPU
                         without it, slower); Q8_0 and Q4_0 matrices as AUTO holds them */
} bd3_compute;
const char *bd3_compute_name(bd3_compute c);               /* "auto", "f32", "q8", "bf16" */
int bd3_compute_parse(const char *name, bd3_compute *out); /* 0 ok, -1 unknown */

/* Loads a GGUF file with BD3_COMPUTE_AUTO. On failure *out is NULL and err (when non-NULL) holds
 * a message naming the file and the problem. */
bd3_status bd3_model_load(const char *path, bd3_model **out, char *err, size_t err_size);
/* The same with a compute mode. */
bd3_status bd3_model_load_compute(const char *path, bd3_compute compute, bd3_model **out, char *err,
                                  size_t err_size);
/* BD3_COMPUTE_Q8 when any matrix multiplies in int8, else BD3_COMPUTE_BF16 when any multiplies in
 * bfloat16, else BD3_COMPUTE_F32. */
bd3_compute bd3_model_compute(const bd3_model *m);
void bd3_model_free(bd3_model *m); /* NULL is a no-op */
const bd3_hparams *bd3_model_hparams(const bd3_model *m);
const char *bd3_model_name(const bd3_model *m);  /* general.name, or "" */
int bd3_model_has_global(const bd3_model *m);    /* 1 if trained for global mode (n_ctx in block_lengths) */
int bd3_model_default_block(const bd3_model *m); /* preferred block length < n_ctx, or n_ctx */
size_t bd3_model_file_size(const bd3_model *m);  /* bytes of the GGUF file */
size_t bd3_model_n_params(const bd3_model *m);   /* number of weights */

/* ---- tokenizer (byte-level BPE; GPT-2 or Qwen2 pre-tokenisation, tokenizer.ggml.pre) ------ */

/* Encodes len bytes of text (any bytes, not only valid UTF-8). *ids is malloc'd, caller frees.
 * With the gpt2 rules the text "<|endoftext|>" is encoded as the eos token; with the qwen2 rules
 * (NFC first) the text of every special or added token is plain text, as a writer typed it. */
bd3_status bd3_tokenize(const bd3_model *m, const char *text, size_t len, int32_t **ids, size_t *n_ids);
/* As bd3_tokenize, but the text of an added token (tokenizer.ggml.token_type control or
 * user-defined, e.g. "<|endoftext|>", "<|im_start|>") becomes its id: for prompts a program
 * builds, never for a writer's text. */
bd3_status bd3_tokenize_special(const bd3_model *m, const char *text, size_t len, int32_t **ids,
                                size_t *n_ids);
/* The raw bytes a token stands for (not NUL-terminated), or NULL for an id out of range or the
 * mask token. */
const char *bd3_token_bytes(const bd3_model *m, int32_t id, size_t *len);
/* Decodes ids to bytes; *text is malloc'd and NUL-terminated, caller frees. Mask ids are skipped. */
bd3_status bd3_detokenize(const bd3_model *m, const int32_t *ids, size_t n, char **text, size_t *len);

/* ---- context: run-time buffers and KV cache, one per thread ------------------------------ */

typedef struct bd3_ctx bd3_ctx;

/* Allocates every buffer the forward pass needs for n_ctx tokens (the forward pass itself never
 * allocates). The operations (infill, continue, revise, score, NELBO, fit...) keep their buffers
 * and sampler in the context too, made by the first that needs each and then reused, as are the
 * window cache's (bd3_sampler_params.refresh): after the first of each kind, operations allocate
 * nothing. n_threads <= 0: one per CPU this process may use (bd3_cpu_count); at most 64. */
bd3_status bd3_ctx_new(const bd3_model *m, int n_threads, bd3_ctx **out);
void bd3_ctx_free(bd3_ctx *c); /* NULL is a no-op */
const bd3_model *bd3_ctx_model(const bd3_ctx *c);
size_t bd3_ctx_bytes(const bd3_ctx *c); /* bytes of run-time buffers and KV cache, so far */
int bd3_ctx_threads(const bd3_ctx *c);  /* threads its passes run on, the caller's included */
/* CPUs this process may run on (its affinity mask, as taskset or a cgroup sets it; else the CPUs
 * online), at least 1. */
int bd3_cpu_count(void);

#define BD3_GLOBAL 0 /* block_len value that selects global attention */

/* One pass over n <= n_ctx ids at window positions 0..n-1 (no cache). block_len BD3_GLOBAL:
 * everyone sees everyone; block_len B > 0: block-causal. logits: [n, n_vocab] raw model output
 * (before SUBS). */
bd3_status bd3_forward(bd3_ctx *c, const int32_t *ids, int n, int block_len, float *logits);

/* As bd3_forward, but writes the logits of the n_rows rows listed in rows (strictly ascending
 * window indices) only: logits [n_rows, n_vocab]. The output projection, the largest product of a
 * pass with a large vocabulary, then costs n_rows rows instead of n. */
bd3_status bd3_forward_rows(bd3_ctx *c, const int32_t *ids, int n, int block_len, const int *rows, int n_rows,
                            float *logits);
/* Receives the logits [nj, n_vocab] of rows[j0 .. j0 + nj) of a bd3_forward_rows_each pass. A
 * status other than BD3_OK stops the pass and is returned. */
typedef bd3_status (*bd3_rows_fn)(void *user, int j0, int nj, const float *logits);
/* As bd3_forward_rows, but hands the logits to fn in chunks of at most chunk rows, so that the
 * caller needs only logits [chunk, n_vocab] however many rows it asks for. */
bd3_status bd3_forward_rows_each(bd3_ctx *c, const int32_t *ids, int n, int block_len, const int *rows,
                                 int n_rows, int chunk, float *logits, bd3_rows_fn fn, void *user);

/* KV cache (spec section 2). The cache holds m committed clean rows. */
void bd3_cache_clear(bd3_ctx *c);    /* also forgets which ids the cache held (bd3_continue) */
int bd3_cache_len(const bd3_ctx *c); /* rows held, at most n_ctx - block */
/* Denoising call for the current block of n ids (n <= n_ctx / 2 in practice): queries see every
 * cached row and the whole block. logits: [n, n_vocab]. The cache is unchanged. */
bd3_status bd3_cache_forward(bd3_ctx *c, const int32_t *ids, int n, float *logits);
/* Commit pass: stores K and V of the n clean ids after the cached rows, first dropping the oldest
 * n rows when the cache would exceed n_ctx - n. */
bd3_status bd3_cache_commit(bd3_ctx *c, const int32_t *ids, int n);

/* ---- random numbers: the engine's own generator, so that a seed reproduces a run --------- */

typedef struct bd3_rng {
    uint64_t s[4]; /* xoshiro256** state */
} bd3_rng;
void bd3_rng_seed(bd3_rng *r, uint64_t seed);
uint64_t bd3_rng_u64(bd3_rng *r);
double bd3_rng_uniform(bd3_rng *r); /* [0, 1) with 53 random bits */

/* ---- samplers (spec section 3) ----------------------------------------------------------- */

typedef enum bd3_sampler_kind {
    BD3_SAMPLE_FIRST_HITTING, /* one uniformly chosen masked position per model call */
    BD3_SAMPLE_STEPS,         /* step schedule: each mask unmasks with probability (t-s)/t */
    BD3_SAMPLE_CONFIDENCE,    /* keep the k most probable draws per step */
    BD3_SAMPLE_MARGIN,        /* keep the k draws with the largest top1 - top2 margin */
    BD3_SAMPLE_ENTROPY,       /* keep the k draws with the lowest entropy */
} bd3_sampler_kind;

typedef struct bd3_sampler_params {
    bd3_sampler_kind kind; /* see above */
    int steps;             /* steps per block or span for schedule samplers; <= 0: one per mask */
    double threshold;      /* ordered samplers: also keep every draw whose confidence exceeds this; 0 = off */
    double temperature;    /* divides logits before the softmax; > 0 */
    double top_p;          /* nucleus mass in (0, 1]; 1 = off */
    int top_k;             /* keep the k most probable tokens; 0 = off */
    uint64_t seed;         /* RNG seed */
    int refresh;           /* global-mode denoising over a window (infill, revise): 0 = exact;
                              R >= 1 = window cache, a full pass every R model calls (see below) */
} bd3_sampler_params;

/* The plain sampler of spec section 3, exact and untruncated: first hitting, steps 0, threshold
 * 0, temperature 1, top_p 1, top_k 0, seed 0, refresh 0 (exact). A baseline for callers that set
 * every field themselves; the settings bd3ed and bd3 start from are bd3_model_defaults's.
 *
 * Window cache (refresh R >= 1; an approximation in the manner of Fast-dLLM's dual cache): the
 * first model call of bd3_infill / bd3_revise, and every R-th after it, is a full global pass
 * that also keeps every layer's keys and values of all rows of the window. The calls between run
 * only the positions that were masked when the operation started (the span being filled) through
 * the layers: their queries attend to their own fresh keys and values and to those the last full
 * pass left for every other row. The other rows' keys and values then lag behind the tokens
 * written since that pass, so the logits differ slightly from an exact pass; R = 1 gives exactly
 * the results of R = 0. With first hitting (one call per mask) R about the span length means one
 * full pass per span-length of calls, each call between costing a few percent of a full pass;
 * `bd3 bench` reports the cost at several R. Its float32 keys and values live in the KV cache's
 * buffer of rotated keys, which the next KV-cache call rotates again from the raw keys (the KV
 * cache itself is kept); with int8 attention the keys and values are also held packed (8 bits per
 * value: 6.8 MiB for the default model, 20 MiB for a 12-layer, 768-wide one, allocated by the
 * first refresh and kept by the context). Float32 attention (a float32 or pre-norm context) over a window of more than
 * n_ctx / 2 tokens keeps the values in a buffer of their own, n_layer * n_ctx * n_embd floats,
 * allocated by the first such window and kept by the context. */
void bd3_sampler_params_init(bd3_sampler_params *p);
const char *bd3_sampler_kind_name(bd3_sampler_kind k);
int bd3_sampler_kind_parse(const char *name, bd3_sampler_kind *out); /* 0 ok, -1 unknown */

/* The sampler defaults shared by every front end (bd3ed, bd3): built-in values, each of which a
 * model may override with metadata (model/SAMPLER.md lists the keys). */
typedef struct bd3_defaults {
    bd3_sampler_params sampler; /* sampler settings; seed 0 means a fresh seed per run
                                   (bd3_rng_fresh_seed), which front ends draw themselves */
    double revise_fraction;     /* share of a range that a revise remasks, (0, 1] */
} bd3_defaults;

/* Built-in: first hitting, steps 0, threshold 0, temperature 1, top_p 0.9, top_k 0, seed 0
 * (fresh per run), refresh 32, revise_fraction 0.3. */
#define BD3_DEFAULT_TOP_P           0.9
#define BD3_DEFAULT_REFRESH         32
#define BD3_DEFAULT_REVISE_FRACTION 0.3

/* The built-in defaults (m NULL), or m's: the built-in values with every bd3lm.sampler.* key of
 * m's metadata applied (the loader has checked them: a bad value fails bd3_model_load). */
void bd3_model_defaults(const bd3_model *m, bd3_defaults *out);

/* A seed for a run whose settings say seed 0: mixes the clock, the process id and a counter;
 * never 0, and two calls in one process differ. */
uint64_t bd3_rng_fresh_seed(void);

/* Progress of an operation, passed to the step callback after every model call. The arrays are
 * the operation's canvas; they stay valid only during the call. */
typedef struct bd3_progress {
    int n_calls;        /* model calls made so far */
    int n_masked;       /* masks left on the canvas */
    int n_target;       /* tokens the operation writes in all */
    int n_done;         /* tokens written so far */
    const int32_t *ids; /* canvas ids [n_canvas]; mask_id where still masked */
    const float *conf;  /* canvas confidence [n_canvas], probability at unmask time */
    int n_canvas;       /* canvas length */
    int canvas_offset;  /* index of canvas[0] in the caller's token sequence */
} bd3_progress;
/* Return nonzero to cancel: the operation returns BD3_E_CANCELLED and leaves its outputs as they
 * were when it stopped. The callback must not run another operation on the same context (the
 * running one is using the context's buffers). */
typedef int (*bd3_step_fn)(void *user, const bd3_progress *p);

/* ---- files -------------------------------------------------------------------------------- */

/* The default model file: $BD3_MODEL when set and non-empty, else <dir of the executable>/../model/
 * default.gguf when that exists, else BD3ED_DATADIR "/default.gguf". Writes the path to buf.
 * Returns BD3_OK when the chosen file exists (or came from $BD3_MODEL), BD3_E_IO when none
 * exists (buf then holds the installed path, for the message), BD3_E_ARG when buf is too small. */
bd3_status bd3_default_model_path(char *buf, size_t size);

/* ---- operations ------------------------------------------------------------------------- */

/* Infill (global mode): ids[0..n) is a window of n <= n_ctx tokens in which some are mask_id;
 * every mask is replaced by a sampled token and conf[i] set to its confidence. Other entries
 * are left unchanged; the end-of-text token is never drawn (the span lies inside a text). A
 * span never glues onto the words around it: a mask right after a known token that ends with a
 * letter or digit draws no token that starts with one, and a mask right before a known token
 * that starts with one draws no token that ends with one.
 * The masks may form several spans anywhere in the window: they are filled jointly, every draw
 * seeing every other span as it stands and all the text between them (fill-in-the-blanks).
 * p->refresh >= 1 uses the window cache (approximate, see above). A model not trained for global
 * mode (bd3_model_has_global 0, e.g. SDAR, Fast-dLLM v2) runs block-causal with its default block
 * instead: a masked position sees the window before its block and its own block, not what comes
 * after; such models, and those with a logit shift, take exact passes whatever p->refresh says. */
bd3_status bd3_infill(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                      bd3_step_fn cb, void *user);

/* Why a continuation stopped. */
typedef enum bd3_stop {
    BD3_STOP_LIMIT,  /* max_new tokens written */
    BD3_STOP_EOS,    /* the model wrote end-of-text (not included in the output) */
    BD3_STOP_REPEAT, /* degenerate repetition detected; the repeating tail is dropped */
} bd3_stop;

/* Continue block by block with the KV cache: blocks are aligned to block_len from the start of
 * prompt (the last, partial prompt block is completed with masks), committed when clean, and the
 * cache slides past n_ctx. Writes up to max_new tokens into out/out_conf, *n_out of them.
 * block_len <= 0 picks bd3_model_default_block. out_conf may be NULL. The cache is reused when it
 * holds the prompt's leading complete blocks as an earlier call (or bd3_cache_commit calls of
 * block_len rows) left them: the longest block-aligned prefix whose ids still match is kept (once
 * the window has slid, only a cache holding exactly the start of this prompt's blocks), so that
 * a call whose prompt extends the last one reads only the new blocks; otherwise it is cleared
 * first. The results are the same either way.
 * Stops after the block that writes end-of-text (BD3_STOP_EOS), reaches max_new (BD3_STOP_LIMIT)
 * or ends in degenerate repetition (BD3_STOP_REPEAT): a period of 1 to 64 tokens repeated so
 * that the repeating tail spans at least 4 periods and 16 tokens; all but its first period are
 * dropped from the output. The progress canvas is the current block (empty, n_canvas 0, while the
 * prompt's complete blocks are committed to the cache). */
bd3_status bd3_continue(bd3_ctx *c, const bd3_sampler_params *p, int block_len, const int32_t *prompt,
                        int n_prompt, int max_new, int32_t *out, float *out_conf, int *n_out, bd3_stop *why,
                        bd3_step_fn cb, void *user);
/* The same without the KV cache: every model call recomputes the context window (the last whole
 * blocks of at most n_ctx - block_len tokens) plus the current block with the block-causal mask.
 * Gives the tokens bd3_continue gives for the same seed while the window does not slide; it
 * exists for benchmarks and tests. Uses the cache buffers' context but leaves the cache empty. */
bd3_status bd3_continue_nocache(bd3_ctx *c, const bd3_sampler_params *p, int block_len, const int32_t *prompt,
                                int n_prompt, int max_new, int32_t *out, float *out_conf, int *n_out,
                                bd3_stop *why, bd3_step_fn cb, void *user);

/* Score existing text (global mode): conf[i] = p(ids[i]) when position i is masked together with
 * every k-th neighbour (k passes with offsets 0..k-1; k <= 0 picks a default). n <= n_ctx. */
bd3_status bd3_score(bd3_ctx *c, const int32_t *ids, int n, int k, float *conf, bd3_step_fn cb, void *user);

/* Exact left-to-right scoring with a model trained for block length 1 (1 in block_lengths):
 * logp[i] = log p(ids[i] | ids[0..i)) in nats, float64 (SUBS), for every i (position 0 given an
 * empty prefix; start ids with end-of-text to score a text as a document's beginning). Each
 * position costs two one-row calls through the KV cache: the position masked after the clean
 * prefix, then the commit of its true token. Past n_ctx the cache slides as in bd3_continue
 * (the oldest rows drop out of the context). Clears the KV cache first and leaves it holding the
 * last rows. BD3_E_UNSUPPORTED when the model was not trained for block length 1. The progress
 * has no canvas (n_canvas 0). */
bd3_status bd3_score_ar(bd3_ctx *c, const int32_t *ids, int n, double *logp, bd3_step_fn cb, void *user);

/* Revise: remask the ceil(fraction * (hi - lo)) positions of [lo, hi) with the lowest conf, then
 * regenerate them in global mode over the window ids[0..n) (p->refresh as in bd3_infill: the
 * window cache recomputes the remasked positions). A remasked token is redrawn among the tokens
 * whose first and last bytes are of the same kinds as its own (letter or digit, blank, line end,
 * other), so word boundaries stay where they were: a final "." stays punctuation, a word's
 * leading blank stays, no word is split or joined at either end. ids and conf are updated in place;
 * changed[i] (optional, [n]) is set to 1 where the token changed. fraction in (0, 1]. On an
 * error or cancellation ids and conf are restored to what they were. */
bd3_status bd3_revise(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n, int lo,
                      int hi, double fraction, uint8_t *changed, bd3_step_fn cb, void *user);

/* The k most probable tokens at position pos when it alone is masked (global mode, SUBS,
 * temperature 1). Writes k ids and probabilities, most probable first. */
bd3_status bd3_alternatives(bd3_ctx *c, const int32_t *ids, int n, int pos, int k, int32_t *alt_ids,
                            double *alt_probs);

/* NELBO of the target tokens of a window (target[i] != 0, none a mask) given the others, in
 * global mode: the any-order form of the masked-diffusion bound, the mean over n_draws draws
 * (<= 0: 8) of (m / k) * sum of -log p(x_i) over a random subset of k of the m target tokens
 * masked together, k spread evenly over 1..m across the draws (seeded). Nats in *nats; an upper
 * bound on -log p(target | rest) in expectation. One pass over the window per draw. */
bd3_status bd3_nelbo_span(bd3_ctx *c, const int32_t *ids, int n, const uint8_t *target, int n_draws,
                          uint64_t seed, double *nats);

/* Length that fits: the tokens ids[lo..hi) of the window ids[0..n) are a span to replace; for
 * every length len in [len_min, len_max] the window ids[0..lo) ++ len masks ++ ids[hi..n) (at
 * most n_ctx tokens) is filled as bd3_infill does (same p for every length) and the fill with
 * the 8 tokens on each side of it (how well it joins the text around it) is scored by
 * bd3_nelbo_span (n_draws) per byte of their text. The fill with the fewest nats per byte wins:
 * out (and out_conf when non-NULL), both [len_max], receive its tokens, *n_out its length and
 * *nats_per_byte (when non-NULL) its score. cb sees each length's window as the canvas, with
 * n_done and n_target counted over all lengths. */
bd3_status bd3_infill_fit(bd3_ctx *c, const bd3_sampler_params *p, const int32_t *ids, int n, int lo, int hi,
                          int len_min, int len_max, int n_draws, int32_t *out, float *out_conf, int *n_out,
                          double *nats_per_byte, bd3_step_fn cb, void *user);

/* NELBO (spec section 4) over the first n_rows rows of n_ctx tokens of ids (all complete rows
 * when n_rows <= 0) with block_len (BD3_GLOBAL or B). Adds to *loss_sum (nats) and *n_counted.
 * Text shorter than n_ctx is evaluated as one shorter row. The masking rates of all blocks of the
 * evaluated rows are one antithetic set drawn from seed. Block-causal mode uses the KV cache
 * (clears it). On cancellation only complete rows have been added. */
bd3_status bd3_nelbo(bd3_ctx *c, const int32_t *ids, size_t n, int block_len, int n_rows, uint64_t seed,
                     double *loss_sum, size_t *n_counted, bd3_step_fn cb, void *user);

/* bd3_nelbo with each row's nats written to row_nats [rows evaluated] (row order; their sum in
 * that order is bd3_nelbo's *loss_sum), for comparisons paired row by row; the masks are
 * bd3_nelbo's for the same seed, rows and mode. On cancellation only complete rows are written. */
bd3_status bd3_nelbo_rows(bd3_ctx *c, const int32_t *ids, size_t n, int block_len, int n_rows, uint64_t seed,
                          double *row_nats, size_t *n_counted, bd3_step_fn cb, void *user);

/* ---- benchmark ---------------------------------------------------------------------------- */

/* Speed of one full global forward over n_ctx tokens against OpenBLAS sgemm on the same shapes.
 * FLOPs counted: 2*m*n*k for every matrix product of the pass (per layer Q/K/V, attention output,
 * MLP up and down projections, per head q k^T and p v; then the logits projection):
 * n_layer * (24 n D^2 + 4 n^2 D) + 2 n D V for n = n_ctx, F = 4D; elementwise work is not
 * counted. The sgemm figure runs the same products as plain sgemm calls, one per product, with
 * OpenBLAS's own threads (c's thread count). */
typedef struct bd3_bench_result {
    double flop;           /* FLOPs of one forward (matrix products only) */
    double forward_s;      /* seconds of one forward, best of the runs */
    double sgemm_s;        /* seconds of the same sgemm calls alone, best of the runs */
    double forward_gflops; /* flop / forward_s / 1e9 */
    double sgemm_gflops;   /* flop / sgemm_s / 1e9: sgemm at the model's shapes */
    double peak_gflops;    /* sgemm GFLOP/s of the MLP up projection alone ([n_ctx, D] x [D, F]) */
    double ratio;          /* forward_gflops / sgemm_gflops */
} bd3_bench_result;

/* Runs n_runs (<= 0: 3) forwards of n_ctx fixed pseudo-random ids and the matching sgemm calls on
 * the context's buffers and the model's weights. Clears the KV cache. */
bd3_status bd3_bench_forward(bd3_ctx *c, int n_runs, bd3_bench_result *out);

/* The instruction set of the engine's kernels on this CPU: "avx512-vnni", "avx512", "avx-vnni",
 * "avx2" or "portable". */
const char *bd3_isa_name(void);

#endif
