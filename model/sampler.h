/* sampler.h: per-position draws and canvas denoising of spec section 3 (SUBS, temperature, top-k,
 * float64 top-p, first hitting, step schedule, confidence/margin/entropy order, threshold),
 * internal to the engine. Depends on bd3.h and libc only: logits come from a caller's function. */
#ifndef BD3_SAMPLER_H
#define BD3_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include "bd3.h"

/* Work buffers for drawing from one vocabulary with one parameter set. */
typedef struct sampler sampler;

/* One draw at one position. conf, margin and entropy describe the distribution the token was
 * drawn from before top-p: SUBS (mask excluded), logits divided by the temperature, restricted
 * to the top-k tokens when top_k > 0, softmax in float64. */
typedef struct sampler_draw {
    int32_t token;  /* drawn id, never the mask id */
    double conf;    /* probability of token under that distribution, (0, 1] */
    double margin;  /* top-1 minus top-2 probability of that distribution, [0, 1] */
    double entropy; /* entropy of that distribution in nats (computed for the entropy order only) */
} sampler_draw;

/* Checks p (temperature > 0, top_p in (0, 1], top_k >= 0, threshold in [0, 1]) and allocates
 * buffers for n_vocab tokens. */
bd3_status sampler_new(int n_vocab, int32_t mask_id, const bd3_sampler_params *p, sampler **out);
void sampler_free(sampler *s); /* NULL is a no-op */
/* Makes s as sampler_new would with p (same vocabulary and mask), keeping its buffers: no ban, no
 * banned ids, no classes. BD3_E_ARG (s unchanged) when p is out of range. */
bd3_status sampler_reset(sampler *s, const bd3_sampler_params *p);

/* Excludes one more id (besides the mask) from every draw, as if its logit were -inf; an id
 * outside [0, n_vocab) clears it. Infill uses it for the end-of-text token. */
void sampler_ban(sampler *s, int32_t id);
/* Ids with banned[id] != 0 are never drawn either (banned: [n_vocab], kept by the caller while the
 * sampler is used; NULL for none). */
void sampler_ban_many(sampler *s, const uint8_t *banned);

/* Restricts draws by token class (0..31): a draw at canvas position i (of sampler_denoise) keeps
 * only the tokens v whose bit tok_class[v] is set in pos_allow[i]; pos_allow[i] ==
 * SAMPLER_ANY_CLASS (all bits) leaves position i free. tok_class [n_vocab] and pos_allow [canvas
 * length] are the caller's and must stay valid while the sampler draws; NULL for either clears
 * the restriction. */
#define SAMPLER_ANY_CLASS 0xffffffffu
void sampler_set_classes(sampler *s, const uint8_t *tok_class, const uint32_t *pos_allow);

/* Draws a token from one row of raw logits [n_vocab] with the generator r. BD3_E_ARG when no
 * token has a finite logit. */
bd3_status sampler_draw_token(sampler *s, const float *logits, bd3_rng *r, sampler_draw *out);
/* As sampler_draw_token, keeping only the tokens whose class bit (sampler_set_classes's
 * tok_class) is set in allow (SAMPLER_ANY_CLASS, or no classes set: every token). When no token
 * of those classes can be drawn (all banned or non-finite), draws as sampler_draw_token. */
bd3_status sampler_draw_token_class(sampler *s, const float *logits, uint32_t allow, bd3_rng *r,
                                    sampler_draw *out);

/* Probabilities of one row under SUBS at temperature 1 (float64, mask probability 0). prob: [n_vocab].
 * Returns log of the normaliser (log-sum-exp over non-mask tokens), or -INFINITY when no token
 * has a finite logit. */
double sampler_softmax(const float *logits, int n_vocab, int32_t mask_id, double *prob);

/* log p(token) under SUBS at temperature 1, in float64; -INFINITY for the mask or a non-finite row. */
double sampler_log_prob(const float *logits, int n_vocab, int32_t mask_id, int32_t token);

/* Receives raw logits [nj, n_vocab] of the requested rows j0 .. j0 + nj - 1 (indices into the
 * rows list of the request). */
typedef bd3_status (*sampler_rows_fn)(void *user, int j0, int nj, const float *logits);

/* Computes raw logits for the canvas rows listed in rows[0..n_rows) (ascending) given the canvas
 * ids (length known to the callee) and hands them to fn in order, in chunks of any size. */
typedef bd3_status (*sampler_logits_fn)(void *user, const int32_t *ids, const int *rows, int n_rows,
                                        sampler_rows_fn fn, void *fn_user);

/* Number of masks the step schedule unmasks at step i of T when m masks are left: the expected
 * count m (t - s) / t with t = 1 - i/T and s = t - 1/T, rounded up, at least 1, all at the last step. */
int sampler_schedule_count(int m, int i, int T);

/* Denoises a canvas of n ids until no mask is left, calling logits_fn for the rows it needs.
 * conf[i] receives the confidence of every position it unmasks; other positions are untouched.
 * prog (caller-filled ids/conf/n_canvas/canvas_offset/n_target) gets n_calls, n_masked and
 * n_done updated, and cb (may be NULL) is called after every model call; a nonzero return stops
 * with BD3_E_CANCELLED. */
bd3_status sampler_denoise(sampler *s, bd3_rng *r, int32_t *ids, float *conf, int n,
                           sampler_logits_fn logits_fn, void *logits_user, bd3_progress *prog, bd3_step_fn cb,
                           void *cb_user);

#endif
