/* ops.h: helpers of ops.c shared with fit.c and the tests, internal to the engine. Depends on
 * bd3.h and libc only. */
#ifndef BD3_OPS_H
#define BD3_OPS_H

#include <stdint.h>
#include "bd3.h"

/* Degenerate repetition rule of bd3_continue: the output out[0..n) ends with a period of L
 * tokens (1 <= L <= 64) repeated so that the repeating tail spans at least 4 periods and at
 * least 16 tokens. Returns the number of trailing tokens to drop (every repetition after the
 * first occurrence of the period), or 0 when the tail is not degenerate. */
int ops_repeat_tail(const int32_t *out, int n);

/* Word-boundary class of a token for bd3_revise: 4 * kind(first byte) + kind(last byte), kinds
 * 0 letter or digit (or a byte >= 0x80), 1 blank, 2 line end, 3 other; OPS_CLASS_SPECIAL for
 * the end-of-text and mask tokens and ids without bytes. */
#define OPS_CLASS_SPECIAL 16u
unsigned ops_token_class(const bd3_model *m, int32_t id);

#define OPS_CHUNK 32 /* rows of logits held at a time by a window pass */

/* BD3_OK when ids[0..n) is a window the context can run (1..n_ctx ids in the vocabulary). */
bd3_status ops_check_window(const bd3_ctx *c, const int32_t *ids, int n);
/* Buffer slots of the operations in the context (forward_work): every operation takes its buffers
 * from them, so a sequence of operations allocates only when one needs more than any before.
 * Sizes are asked at their most for the model (n_ctx positions, n_vocab tokens) where a call's
 * own size is smaller, so that calls on windows of varying length reuse one buffer. An operation
 * run inside another (infill in revise and fit, the span NELBO in fit) uses slots the outer one
 * leaves alone. */
enum ops_slot {
    OPS_W_LOGITS,   /* [rows, n_vocab] float: logits of a chunk of rows or of a block, when the
                       forward pass's q | k | v buffer cannot hold them (ops_logits) */
    OPS_W_CONF,     /* float: infill's own confidences [n_ctx], continue's [max_new] */
    OPS_W_ACTIVE,   /* [n_ctx] int: infill's masked positions, continue's sub-block rows */
    OPS_W_CLASSES,  /* [n_vocab] uint8: token classes (ops_token_class) */
    OPS_W_ALLOW,    /* [n_ctx] uint32: token classes allowed per position */
    OPS_W_CANVAS,   /* [n_ctx] int32: a canvas (score, alternatives, NELBO, span NELBO) */
    OPS_W_ROWS,     /* [n_ctx] int: rows of a pass (score, NELBO, span NELBO) */
    OPS_W_WINDOW,   /* [n_ctx] int32: a window (uncached continue, NELBO) */
    OPS_W_WROWS,    /* [n_ctx] int: rows of the uncached continue's window */
    OPS_W_BLOCK,    /* [n_ctx] int32: continue's block canvas */
    OPS_W_BCONF,    /* [n_ctx] float: its confidences */
    OPS_W_DOUBLE,   /* double: alternatives' probabilities [n_vocab], NELBO's rates [n_ctx] */
    OPS_W_OLD,      /* [n_ctx] int32: revise's ids before revising */
    OPS_W_OLD_CONF, /* [n_ctx] float: their confidences */
    OPS_W_ORDER,    /* [n_ctx] int: revise's positions by confidence, span NELBO's permutation */
    OPS_W_FIT,      /* fit: [n_ctx] int32 canvas, [n_ctx] float confidences, [n_ctx] uint8 targets */
    OPS_N_SLOTS
};

/* Slot slot of count items of size bytes (forward_work); NULL when out of memory. */
void *ops_work(bd3_ctx *c, enum ops_slot slot, size_t count, size_t size);
/* Room for the logits of rows rows ([rows, n_vocab]) that a model call of the context writes:
 * the forward pass's q | k | v buffer when they fit (so valid until the next model call; an
 * operation reads them before it makes another), else OPS_W_LOGITS. */
float *ops_logits(bd3_ctx *c, int rows);
/* The context's sampler set up for p (made at the first call, reset at the next); BD3_E_ARG when
 * p is out of range. */
struct sampler;
bd3_status ops_sampler(bd3_ctx *c, const bd3_sampler_params *p, struct sampler **out);
/* bd3_infill itself: masks never glue onto the words next to them (see bd3.h). */
bd3_status ops_infill_words(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                            bd3_step_fn cb, void *user);

/* Log-probabilities of the true tokens at the rows of a chunked pass, as they arrive. */
typedef struct ops_logp {
    const int32_t *truth; /* [window] ids whose probability is wanted */
    const int *rows;      /* [n_rows] window positions of the pass's rows */
    int n_vocab;          /* V */
    int32_t mask_id;      /* the mask id (probability 0) */
    float *conf;          /* [window] receives p(truth[i]) at each row i; NULL: not kept */
    double *sum_neg;      /* receives the sum of -log p / *scale; NULL: not kept */
    double scale;         /* divisor of each term of *sum_neg (the masking rate t) */
} ops_logp;
/* bd3_rows_fn over an ops_logp: records p or sums -log p / scale of the true token at each row. */
bd3_status ops_logp_rows(void *user, int j0, int nj, const float *logits);

#endif
