/* ops.c: the operations built on the forward pass and the samplers: infill (exact or with the
 * window cache), continue (with and without the KV cache, reusing it across calls), score, revise
 * (word-boundary classes kept), alternatives and NELBO (span NELBO and the length that fits: fit.c).
 * Depends on bd3.h, forward.h, sampler.h and libc/libm only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bd3.h"
#include "forward.h"
#include "ops.h"
#include "sampler.h"

/* ---- logits of selected rows --------------------------------------------------------------- */

/* A window pass (bd3_forward_rows_each) whose rows the sampler picks from. */
typedef struct ops_window {
    bd3_ctx *c;        /* context that runs the pass */
    int n;             /* tokens in the window */
    int block_len;     /* BD3_GLOBAL or B */
    int row0;          /* window index of canvas row 0 (canvas = window tail) */
    int32_t *window;   /* [n] ids of the whole window; NULL when the canvas is the window */
    int *wrows;        /* [n] rows in window indices; NULL when row0 is 0 */
    float *chunk;      /* [OPS_CHUNK, n_vocab] logits of one chunk of rows */
    int refresh;       /* window cache: a full pass every refresh calls; 0 = off (exact) */
    int calls;         /* model calls made so far (window cache) */
    const int *active; /* [n_active] positions recomputed between full passes (window cache) */
    int n_active;      /* entries of active */
} ops_window;

static bd3_status ops_window_logits(void *user, const int32_t *ids, const int *rows, int n_rows,
                                    sampler_rows_fn fn, void *fn_user)
{
    ops_window *w = user;
    if (w->refresh > 0) { /* the canvas is the window here */
        int full = w->calls++ % w->refresh == 0;
        if (full) return wincache_refresh(w->c, ids, w->n, rows, n_rows, OPS_CHUNK, w->chunk, fn, fn_user);
        return wincache_step(w->c, ids, w->n, w->active, w->n_active, rows, n_rows, OPS_CHUNK, w->chunk, fn,
                             fn_user);
    }
    const int32_t *win = ids;
    const int *wr = rows;
    if (w->window) {
        memcpy(w->window + w->row0, ids, (size_t)(w->n - w->row0) * sizeof *ids);
        win = w->window;
    }
    if (w->row0 != 0) {
        for (int j = 0; j < n_rows; j++) w->wrows[j] = w->row0 + rows[j];
        wr = w->wrows;
    }
    return bd3_forward_rows_each(w->c, win, w->n, w->block_len, wr, n_rows, OPS_CHUNK, w->chunk, fn, fn_user);
}

/* A denoising call for the current block against the KV cache. */
typedef struct ops_cached {
    bd3_ctx *c;  /* context holding the cache */
    int n;       /* tokens in the block */
    float *full; /* [n, n_vocab] logits of the rows of the last call */
} ops_cached;

static bd3_status ops_cached_logits(void *user, const int32_t *ids, const int *rows, int n_rows,
                                    sampler_rows_fn fn, void *fn_user)
{
    ops_cached *k = user;
    /* only the rows asked for go through the output projection (one for first hitting) */
    bd3_status st = kvcache_rows(k->c, ids, k->n, rows, n_rows, k->full);
    return st == BD3_OK ? fn(fn_user, 0, n_rows, k->full) : st;
}

/* One sub-block of a block (hparams.sub_block): the sampler works on the sub-block's positions,
 * the model call on the whole block. */
typedef struct ops_sub {
    sampler_logits_fn inner; /* the block's logits callback */
    void *inner_user;        /* its user data */
    const int32_t *block;    /* [B] the whole block canvas */
    int off;                 /* block index of the sub-block's first position */
    int *rows;               /* [B] rows of a call in block indices */
} ops_sub;

static bd3_status ops_sub_logits(void *user, const int32_t *ids, const int *rows, int n_rows,
                                 sampler_rows_fn fn, void *fn_user)
{
    ops_sub *u = user;
    (void)ids; /* the sub-block, which lies inside u->block */
    for (int j = 0; j < n_rows; j++) u->rows[j] = rows[j] + u->off;
    return u->inner(u->inner_user, u->block, u->rows, n_rows, fn, fn_user);
}

/* Denoises the block canvas of B positions: at once, or one sub-block of sub positions at a time
 * from the left when 0 < sub < B divides B (Fast-dLLM v2's sub-blocks; the later sub-blocks stay
 * masked while an earlier one is denoised). rows: [B] scratch. */
static bd3_status ops_denoise_block(sampler *s, bd3_rng *r, int32_t *block, float *bconf, int B, int sub,
                                    int *rows, sampler_logits_fn fn, void *user, bd3_progress *prog,
                                    bd3_step_fn cb, void *cb_user)
{
    if (sub <= 0 || sub >= B || B % sub)
        return sampler_denoise(s, r, block, bconf, B, fn, user, prog, cb, cb_user);
    bd3_status st = BD3_OK;
    for (int off = 0; off < B && st == BD3_OK; off += sub) {
        ops_sub u = {.inner = fn, .inner_user = user, .block = block, .off = off, .rows = rows};
        st = sampler_denoise(s, r, block + off, bconf + off, sub, ops_sub_logits, &u, prog, cb, cb_user);
    }
    return st;
}

void *ops_work(bd3_ctx *c, enum ops_slot slot, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    return forward_work(c, (int)slot, count * size);
}

float *ops_logits(bd3_ctx *c, int rows)
{
    const bd3_hparams *hp = bd3_model_hparams(bd3_ctx_model(c));
    const size_t n = (size_t)rows * (size_t)hp->n_vocab;
    /* the forward pass's q | k | v rows are free once its layers are done, which is when the output
       layer writes the logits, and every operation reads a call's logits before the next call */
    if (n <= (size_t)hp->n_ctx * (size_t)(c->q_dim + 2 * c->kv_dim)) return c->qkv;
    return ops_work(c, OPS_W_LOGITS, n, sizeof(float));
}

bd3_status ops_sampler(bd3_ctx *c, const bd3_sampler_params *p, sampler **out)
{
    *out = NULL;
    if (!p) return BD3_E_ARG;
    if (!c->sampler) {
        const bd3_hparams *hp = bd3_model_hparams(bd3_ctx_model(c));
        bd3_status st = sampler_new(hp->n_vocab, hp->mask_id, p, &c->sampler);
        if (st != BD3_OK) return st;
    } else if (sampler_reset(c->sampler, p) != BD3_OK) {
        return BD3_E_ARG;
    }
    *out = c->sampler;
    return BD3_OK;
}

/* ---- infill ------------------------------------------------------------------------------- */

bd3_status ops_check_window(const bd3_ctx *c, const int32_t *ids, int n)
{
    if (!c || !ids || n <= 0) return BD3_E_ARG;
    const bd3_hparams *hp = bd3_model_hparams(bd3_ctx_model(c));
    if (n > hp->n_ctx) return BD3_E_ARG;
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= hp->n_vocab) return BD3_E_ARG;
    return BD3_OK;
}

/* Infill with an optional restriction per position (pos_allow [n], classes allowed as bits, see
 * sampler_set_classes; NULL: none) over the token classes tok_class [n_vocab]. */
static bd3_status ops_infill(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             const uint8_t *tok_class, const uint32_t *pos_allow, bd3_step_fn cb, void *user)
{
    bd3_status st = ops_check_window(c, ids, n);
    if (st != BD3_OK || !p) return st != BD3_OK ? st : BD3_E_ARG;
    const bd3_hparams *hp = bd3_model_hparams(bd3_ctx_model(c));
    const size_t N = (size_t)hp->n_ctx;
    sampler *s;
    st = ops_sampler(c, p, &s);
    if (st != BD3_OK) return st;
    /* a span inside a text: an end-of-text token would be written out as "<|endoftext|>" */
    sampler_ban(s, hp->eos_id);
    sampler_set_classes(s, tok_class, pos_allow);
    sampler_ban_many(s, bd3_ctx_model(c)->never_drawn); /* nor are control or unused tokens */
    /* A model trained block by block only never saw global attention: it runs block-causal here,
       each masked position seeing the text before its block and its own block, never the text
       after it (the front ends say so). */
    const int block_only = !bd3_model_has_global(bd3_ctx_model(c));
    ops_window w = {.c = c,
                    .n = n,
                    .block_len = block_only ? bd3_model_default_block(bd3_ctx_model(c)) : BD3_GLOBAL,
                    .chunk = ops_logits(c, OPS_CHUNK)};
    if (!w.chunk) return BD3_E_NOMEM;
    int n_mask = 0;
    for (int i = 0; i < n; i++) n_mask += ids[i] == hp->mask_id;
    /* conf may be NULL: keep a private one so the progress canvas always has one. */
    float *own = NULL; /* [n] */
    int *active = NULL; /* [n_mask] the masked positions: what the window cache recomputes */
    if (!conf) {
        own = ops_work(c, OPS_W_CONF, N, sizeof *own);
        if (!own) return BD3_E_NOMEM;
        memset(own, 0, (size_t)n * sizeof *own);
    }
    /* The window cache recomputes only the span's rows, in global mode; a logit shift needs the
       row before each one too: block-only and shifted models take exact passes. */
    const int refresh = hp->logit_shift || block_only ? 0 : p->refresh;
    if (refresh > 0 && n_mask > 0) {
        active = ops_work(c, OPS_W_ACTIVE, N, sizeof *active);
        if (!active) return BD3_E_NOMEM;
    }
    if (!conf) conf = own;
    if (active) {
        for (int i = 0; i < n; i++)
            if (ids[i] == hp->mask_id) active[w.n_active++] = i;
        w.active = active;
        w.refresh = refresh;
    }
    bd3_rng r;
    bd3_rng_seed(&r, p->seed);
    bd3_progress prog = {.n_target = n_mask, .ids = ids, .conf = conf, .n_canvas = n};
    return sampler_denoise(s, &r, ids, conf, n, ops_window_logits, &w, &prog, cb, user);
}

static uint8_t *ops_token_classes(bd3_ctx *c);

#define OPS_NOT_FIRST_WORD 0xfff0u /* classes whose first byte is not a letter or digit */
#define OPS_NOT_LAST_WORD  0xeeeeu /* classes whose last byte is not a letter or digit */

/* Infill whose masks never glue onto the words around them: a mask right after a known token
 * ending in a letter or digit draws no token that starts with one, a mask right before a known
 * token starting with one draws no token that ends with one. */
bd3_status ops_infill_words(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                            bd3_step_fn cb, void *user)
{
    bd3_status st = ops_check_window(c, ids, n);
    if (st != BD3_OK) return st;
    const bd3_model *m = bd3_ctx_model(c);
    const int32_t mask = bd3_model_hparams(m)->mask_id;
    int edges = 0;
    for (int i = 0; i < n && !edges; i++)
        edges = ids[i] == mask && ((i > 0 && ids[i - 1] != mask) || (i + 1 < n && ids[i + 1] != mask));
    if (!edges) return ops_infill(c, p, ids, conf, n, NULL, NULL, cb, user);
    uint8_t *tok_class = ops_token_classes(c); /* [n_vocab] */
    uint32_t *allow = ops_work(c, OPS_W_ALLOW, (size_t)bd3_model_hparams(m)->n_ctx, sizeof *allow); /* [n] */
    if (!tok_class || !allow) return BD3_E_NOMEM;
    for (int i = 0; i < n; i++) {
        allow[i] = SAMPLER_ANY_CLASS;
        if (ids[i] != mask) continue;
        unsigned before = i > 0 && ids[i - 1] != mask ? tok_class[ids[i - 1]] : OPS_CLASS_SPECIAL;
        unsigned after = i + 1 < n && ids[i + 1] != mask ? tok_class[ids[i + 1]] : OPS_CLASS_SPECIAL;
        if (before < OPS_CLASS_SPECIAL && before % 4 == 0) allow[i] &= OPS_NOT_FIRST_WORD;
        if (after < OPS_CLASS_SPECIAL && after / 4 == 0) allow[i] &= OPS_NOT_LAST_WORD;
    }
    return ops_infill(c, p, ids, conf, n, tok_class, allow, cb, user);
}

bd3_status bd3_infill(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                      bd3_step_fn cb, void *user)
{
    return ops_infill_words(c, p, ids, conf, n, cb, user);
}

/* ---- token classes ---------------------------------------------------------------------- */

/* Kind of one byte for word boundaries: 0 letter or digit (any byte >= 0x80 counts: it belongs
 * to a non-ASCII character), 1 blank, 2 line end, 3 anything else (punctuation, symbols). */
static unsigned ops_byte_kind(unsigned char b)
{
    if ((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b >= 0x80) return 0;
    if (b == ' ' || b == '\t') return 1;
    if (b == '\n' || b == '\r') return 2;
    return 3;
}

unsigned ops_token_class(const bd3_model *m, int32_t id)
{
    const bd3_hparams *hp = bd3_model_hparams(m);
    size_t len = 0;
    const char *b = id == hp->eos_id ? NULL : bd3_token_bytes(m, id, &len);
    if (!b || len == 0) return OPS_CLASS_SPECIAL;
    return ops_byte_kind((unsigned char)b[0]) * 4 + ops_byte_kind((unsigned char)b[len - 1]);
}

/* Class of every token of the vocabulary: [n_vocab] in OPS_W_CLASSES, NULL when out of memory. */
static uint8_t *ops_token_classes(bd3_ctx *c)
{
    const bd3_model *m = bd3_ctx_model(c);
    const int V = bd3_model_hparams(m)->n_vocab;
    uint8_t *cls = ops_work(c, OPS_W_CLASSES, (size_t)V, 1);
    for (int v = 0; cls && v < V; v++) cls[v] = (uint8_t)ops_token_class(m, v);
    return cls;
}

/* ---- continue ----------------------------------------------------------------------------- */

int ops_repeat_tail(const int32_t *out, int n)
{
    for (int L = 1; L <= 64 && 2 * L <= n; L++) {
        int run = 0; /* trailing positions i with out[i] == out[i - L] */
        while (run < n - L && out[n - 1 - run] == out[n - 1 - run - L]) run++;
        int span = run + L;
        if (span >= 4 * L && span >= 16) return run;
    }
    return 0;
}

/* Shared by the cached and the uncached continuation. */
static bd3_status ops_continue(bd3_ctx *c, const bd3_sampler_params *p, int block_len, const int32_t *prompt,
                               int n_prompt, int max_new, int32_t *out, float *out_conf, int *n_out,
                               bd3_stop *why, bd3_step_fn cb, void *user, int use_cache)
{
    int written = 0; /* tokens in out */
    if (n_out) *n_out = 0;
    if (why) *why = BD3_STOP_LIMIT;
    if (!c || !p || n_prompt < 0 || (n_prompt > 0 && !prompt) || max_new < 0 || (max_new > 0 && !out))
        return BD3_E_ARG;
    const bd3_hparams *hp = bd3_model_hparams(bd3_ctx_model(c));
    const int V = hp->n_vocab;
    const int B = block_len > 0 ? block_len : bd3_model_default_block(bd3_ctx_model(c));
    if (B <= 0 || 2 * B > hp->n_ctx) return BD3_E_ARG;
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= V || prompt[i] == hp->mask_id) return BD3_E_ARG;
    if (max_new == 0) return BD3_OK;

    /* Context kept by the uncached path: whole blocks, at most n_ctx - B tokens, like the cache. */
    const int ctx_max = (hp->n_ctx - B) / B * B;
    sampler *s = NULL;
    bd3_status st = ops_sampler(c, p, &s);
    if (st != BD3_OK) return st;
    sampler_ban_many(s, bd3_ctx_model(c)->never_drawn); /* control and unused tokens are no text */
    const size_t N = (size_t)hp->n_ctx;
    int32_t *block = ops_work(c, OPS_W_BLOCK, N, sizeof *block);    /* [B] canvas of the current block */
    float *bconf = ops_work(c, OPS_W_BCONF, N, sizeof *bconf);      /* [B] its confidences */
    int32_t *window = ops_work(c, OPS_W_WINDOW, N, sizeof *window); /* [n_ctx] uncached window */
    int *wrows = ops_work(c, OPS_W_WROWS, N, sizeof *wrows);        /* [n_ctx] uncached window rows */
    float *full = ops_logits(c, B > OPS_CHUNK ? B : OPS_CHUNK);     /* [max(B, chunk), V] */
    /* [max_new] confidences when the caller keeps none: at least n_ctx, then powers of two */
    size_t n_tconf = N;
    while (n_tconf < (size_t)max_new) n_tconf *= 2;
    float *tconf = out_conf ? NULL : ops_work(c, OPS_W_CONF, n_tconf, sizeof *tconf);
    int *brows = ops_work(c, OPS_W_ACTIVE, N, sizeof *brows); /* [B] rows of a sub-block call */
    if (!block || !bconf || !window || !wrows || !full || (!out_conf && !tconf) || !brows) {
        st = BD3_E_NOMEM;
        goto done;
    }
    if (!out_conf) out_conf = tconf;

    bd3_rng r;
    bd3_rng_seed(&r, p->seed);
    int n_ctx_tok = 0;                   /* uncached path: tokens of window[] holding committed context */
    const int n_full = n_prompt / B * B; /* prompt tokens in complete blocks */
    /* blocks an earlier call left in the cache are not read again */
    int reused = use_cache ? (int)kvcache_reuse(c, prompt, n_full, B) : 0;
    if (!use_cache) bd3_cache_clear(c);
    bd3_progress prog = {.n_target = max_new, .ids = block, .conf = bconf, .n_canvas = 0};
    for (int b0 = reused; use_cache && b0 < n_full; b0 += B) {
        st = bd3_cache_commit(c, prompt + b0, B);
        if (st != BD3_OK) goto done;
        prog.n_calls++;
        if (cb && cb(user, &prog)) { /* an empty canvas: the prompt is being read */
            st = BD3_E_CANCELLED;
            goto done;
        }
    }
    if (!use_cache) {
        int keep = n_full < ctx_max ? n_full : ctx_max;
        memcpy(window, prompt + n_full - keep, (size_t)keep * sizeof *window);
        n_ctx_tok = keep;
    }

    int fixed = n_prompt - n_full; /* prompt tokens at the start of the current block */
    prog.n_canvas = B;
    while (written < max_new) {
        for (int i = 0; i < B; i++) {
            block[i] = i < fixed ? prompt[n_full + i] : hp->mask_id;
            bconf[i] = i < fixed ? 1.0f : 0.0f;
        }
        prog.canvas_offset = n_prompt + written - fixed; /* block[0] in prompt ++ out */
        prog.n_done = written;
        if (use_cache) {
            ops_cached k = {.c = c, .n = B, .full = full};
            st = ops_denoise_block(s, &r, block, bconf, B, hp->sub_block, brows, ops_cached_logits, &k, &prog,
                                   cb, user);
        } else {
            ops_window w = {.c = c,
                            .n = n_ctx_tok + B,
                            .block_len = B,
                            .row0 = n_ctx_tok,
                            .window = window,
                            .wrows = wrows,
                            .chunk = full};
            st = ops_denoise_block(s, &r, block, bconf, B, hp->sub_block, brows, ops_window_logits, &w, &prog,
                                   cb, user);
        }
        if (st != BD3_OK) goto done;
        /* Append the new tokens, stopping at end-of-text or the limit. */
        int stop_eos = 0;
        for (int i = fixed; i < B && written < max_new; i++) {
            if (block[i] == hp->eos_id) {
                stop_eos = 1;
                break;
            }
            out[written] = block[i];
            out_conf[written] = bconf[i];
            written++;
        }
        if (stop_eos) {
            if (why) *why = BD3_STOP_EOS;
            break;
        }
        int drop = ops_repeat_tail(out, written);
        if (drop > 0) {
            written -= drop;
            if (why) *why = BD3_STOP_REPEAT;
            break;
        }
        if (written >= max_new) break;
        /* Commit the clean block and move on. */
        if (use_cache) {
            st = bd3_cache_commit(c, block, B);
            if (st != BD3_OK) goto done;
        } else {
            if (n_ctx_tok + B > ctx_max) {
                int drop_tok = n_ctx_tok + B - ctx_max;
                memmove(window, window + drop_tok, (size_t)(n_ctx_tok - drop_tok) * sizeof *window);
                n_ctx_tok -= drop_tok;
            }
            memcpy(window + n_ctx_tok, block, (size_t)B * sizeof *window);
            n_ctx_tok += B;
        }
        fixed = 0;
    }
done:
    if (n_out) *n_out = written;
    return st;
}

bd3_status bd3_continue(bd3_ctx *c, const bd3_sampler_params *p, int block_len, const int32_t *prompt,
                        int n_prompt, int max_new, int32_t *out, float *out_conf, int *n_out, bd3_stop *why,
                        bd3_step_fn cb, void *user)
{
    return ops_continue(c, p, block_len, prompt, n_prompt, max_new, out, out_conf, n_out, why, cb, user, 1);
}

bd3_status bd3_continue_nocache(bd3_ctx *c, const bd3_sampler_params *p, int block_len, const int32_t *prompt,
                                int n_prompt, int max_new, int32_t *out, float *out_conf, int *n_out,
                                bd3_stop *why, bd3_step_fn cb, void *user)
{
    return ops_continue(c, p, block_len, prompt, n_prompt, max_new, out, out_conf, n_out, why, cb, user, 0);
}

/* ---- score, alternatives, revise ------------------------------------------------------------ */

#define OPS_SCORE_STRIDE 8 /* default k of bd3_score: each pass masks one token in 8 */

bd3_status ops_logp_rows(void *user, int j0, int nj, const float *logits)
{
    ops_logp *q = user;
    for (int j = 0; j < nj; j++) {
        int i = q->rows[j0 + j];
        double lp = q->truth[i] == q->mask_id ? -INFINITY
                                              : sampler_log_prob(logits + (size_t)j * q->n_vocab, q->n_vocab,
                                                                 q->mask_id, q->truth[i]);
        if (q->conf) q->conf[i] = (float)exp(lp);
        if (q->sum_neg) *q->sum_neg -= lp / q->scale;
    }
    return BD3_OK;
}

bd3_status bd3_score(bd3_ctx *c, const int32_t *ids, int n, int k, float *conf, bd3_step_fn cb, void *user)
{
    bd3_status st = ops_check_window(c, ids, n);
    if (st != BD3_OK || !conf) return st != BD3_OK ? st : BD3_E_ARG;
    const bd3_hparams *hp = bd3_model_hparams(bd3_ctx_model(c));
    if (k <= 0) k = OPS_SCORE_STRIDE;
    if (k > n) k = n;
    const size_t N = (size_t)hp->n_ctx;
    int32_t *canvas = ops_work(c, OPS_W_CANVAS, N, sizeof *canvas); /* [n] ids with one stride masked */
    int *rows = ops_work(c, OPS_W_ROWS, N, sizeof *rows);            /* [n / k rounded up] masked positions */
    float *chunk = ops_logits(c, OPS_CHUNK);                         /* [OPS_CHUNK, V] logits of some rows */
    if (!canvas || !rows || !chunk) return BD3_E_NOMEM;
    bd3_progress prog = {.n_target = n, .ids = ids, .conf = conf, .n_canvas = n};
    for (int off = 0; off < k; off++) {
        memcpy(canvas, ids, (size_t)n * sizeof *canvas);
        int n_rows = 0;
        for (int i = off; i < n; i += k) {
            canvas[i] = hp->mask_id;
            rows[n_rows++] = i;
        }
        ops_logp q = {.truth = ids,
                      .rows = rows,
                      .n_vocab = hp->n_vocab,
                      .mask_id = hp->mask_id,
                      .conf = conf,
                      .scale = 1.0};
        st = bd3_forward_rows_each(c, canvas, n, BD3_GLOBAL, rows, n_rows, OPS_CHUNK, chunk, ops_logp_rows,
                                   &q);
        if (st != BD3_OK) return st;
        prog.n_done += n_rows;
        prog.n_calls++;
        if (cb && cb(user, &prog)) return BD3_E_CANCELLED;
    }
    return BD3_OK;
}

bd3_status bd3_score_ar(bd3_ctx *c, const int32_t *ids, int n, double *logp, bd3_step_fn cb, void *user)
{
    if (!c || !ids || !logp || n < 0) return BD3_E_ARG;
    const bd3_model *m = bd3_ctx_model(c);
    const bd3_hparams *hp = bd3_model_hparams(m);
    const int V = hp->n_vocab;
    int trained = 0;
    for (int i = 0; i < hp->n_block_lengths; i++) trained |= hp->block_lengths[i] == 1;
    if (!trained || hp->n_ctx < 2) return BD3_E_UNSUPPORTED;
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V || ids[i] == hp->mask_id) return BD3_E_ARG;
    float *logits = ops_logits(c, 1); /* [1, V] logits of the masked position */
    if (!logits) return BD3_E_NOMEM;
    bd3_cache_clear(c);
    bd3_progress prog = {.n_target = n};
    const int32_t mask = hp->mask_id;
    bd3_status st = BD3_OK;
    for (int i = 0; i < n; i++) {
        /* block length 1: the next position, masked, sees the clean prefix in the cache */
        st = bd3_cache_forward(c, &mask, 1, logits);
        if (st != BD3_OK) break;
        logp[i] = sampler_log_prob(logits, V, hp->mask_id, ids[i]);
        st = bd3_cache_commit(c, ids + i, 1);
        if (st != BD3_OK) break;
        prog.n_calls += 2;
        prog.n_done = i + 1;
        if (cb && cb(user, &prog)) {
            st = BD3_E_CANCELLED;
            break;
        }
    }
    return st;
}

bd3_status bd3_alternatives(bd3_ctx *c, const int32_t *ids, int n, int pos, int k, int32_t *alt_ids,
                            double *alt_probs)
{
    bd3_status st = ops_check_window(c, ids, n);
    if (st != BD3_OK) return st;
    const bd3_hparams *hp = bd3_model_hparams(bd3_ctx_model(c));
    const int V = hp->n_vocab;
    if (pos < 0 || pos >= n || k < 1 || k > V - 1 || !alt_ids || !alt_probs) return BD3_E_ARG;
    int32_t *canvas = ops_work(c, OPS_W_CANVAS, (size_t)hp->n_ctx, sizeof *canvas); /* [n] pos masked */
    float *full = ops_logits(c, 1);                                                  /* [1, V] logits at pos */
    double *prob = ops_work(c, OPS_W_DOUBLE, (size_t)V, sizeof *prob); /* [V] probabilities at pos */
    if (!canvas || !full || !prob) return BD3_E_NOMEM;
    memcpy(canvas, ids, (size_t)n * sizeof *canvas);
    canvas[pos] = hp->mask_id;
    st = bd3_forward_rows(c, canvas, n, BD3_GLOBAL, &pos, 1, full);
    if (st != BD3_OK) return st;
    if (sampler_softmax(full, V, hp->mask_id, prob) == -INFINITY) return BD3_E_ARG;
    /* k best by insertion into a sorted list (k is small); ties go to the smaller id. */
    int have = 0;
    for (int v = 0; v < V; v++) {
        if (v == hp->mask_id) continue;
        if (have == k && prob[v] <= alt_probs[k - 1]) continue;
        int j = have < k ? have++ : k - 1;
        while (j > 0 && alt_probs[j - 1] < prob[v]) {
            alt_probs[j] = alt_probs[j - 1];
            alt_ids[j] = alt_ids[j - 1];
            j--;
        }
        alt_probs[j] = prob[v];
        alt_ids[j] = v;
    }
    return BD3_OK;
}

bd3_status bd3_revise(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n, int lo,
                      int hi, double fraction, uint8_t *changed, bd3_step_fn cb, void *user)
{
    bd3_status st = ops_check_window(c, ids, n);
    if (st != BD3_OK) return st;
    if (!p || !conf || lo < 0 || hi > n || lo >= hi || !(fraction > 0.0 && fraction <= 1.0)) return BD3_E_ARG;
    const bd3_hparams *hp = bd3_model_hparams(bd3_ctx_model(c));
    int span = hi - lo;
    int count = (int)ceil(fraction * span - 1e-9);
    if (count < 1) count = 1;
    if (count > span) count = span;
    const size_t N = (size_t)hp->n_ctx;
    int32_t *old = ops_work(c, OPS_W_OLD, N, sizeof *old);              /* [n] ids before revising */
    float *old_conf = ops_work(c, OPS_W_OLD_CONF, N, sizeof *old_conf); /* [n] conf before revising */
    int *order = ops_work(c, OPS_W_ORDER, N, sizeof *order);            /* [span] positions by rising conf */
    if (!old || !old_conf || !order) return BD3_E_NOMEM;
    memcpy(old, ids, (size_t)n * sizeof *old);
    memcpy(old_conf, conf, (size_t)n * sizeof *old_conf);
    /* The count least confident positions (insertion sort: stable, ties to the earlier position). */
    for (int i = 0; i < span; i++) {
        int pos = lo + i, j = i;
        while (j > 0 && conf[order[j - 1]] > conf[pos]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = pos;
    }
    /* Each remasked token is redrawn among the tokens of its class (the kinds of its first and
     * last bytes), so that word boundaries stay where they were at both of its ends. */
    uint8_t *tok_class = ops_token_classes(c);                            /* [n_vocab] */
    uint32_t *pos_allow = ops_work(c, OPS_W_ALLOW, N, sizeof *pos_allow); /* [n] classes allowed */
    if (!tok_class || !pos_allow) return BD3_E_NOMEM;
    for (int i = 0; i < n; i++) pos_allow[i] = SAMPLER_ANY_CLASS;
    for (int i = 0; i < count; i++) {
        unsigned cls = tok_class[ids[order[i]]];
        /* a special token (end-of-text in the text) has no class to keep */
        pos_allow[order[i]] = cls < OPS_CLASS_SPECIAL ? 1u << cls : SAMPLER_ANY_CLASS;
        ids[order[i]] = hp->mask_id;
    }
    st = ops_infill(c, p, ids, conf, n, tok_class, pos_allow, cb, user);
    if (st != BD3_OK) {
        /* Failed or cancelled: the window is left as it was. */
        memcpy(ids, old, (size_t)n * sizeof *ids);
        memcpy(conf, old_conf, (size_t)n * sizeof *conf);
    } else if (changed) {
        for (int i = 0; i < n; i++) changed[i] = ids[i] != old[i];
    }
    return st;
}

/* ---- NELBO (spec section 4) ------------------------------------------------------------------ */

#define OPS_T_MIN 1e-3 /* lower end of the masking-rate interval */

/* bd3_nelbo, and each complete row's nats in row_nats[row] when row_nats is not NULL. */
static bd3_status ops_nelbo(bd3_ctx *c, const int32_t *ids, size_t n, int block_len, int n_rows, uint64_t seed,
                            double *loss_sum, double *row_nats, size_t *n_counted, bd3_step_fn cb, void *user)
{
    if (!c || !ids || !loss_sum || !n_counted || block_len < 0) return BD3_E_ARG;
    const bd3_hparams *hp = bd3_model_hparams(bd3_ctx_model(c));
    const int V = hp->n_vocab;
    const int L = hp->n_ctx;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V || ids[i] == hp->mask_id) return BD3_E_ARG;
    int row_len = L;
    size_t avail = n / (size_t)L;
    if (avail == 0) {
        if (n < 2) return BD3_E_ARG;
        avail = 1; /* shorter than one row: the text is one partial row */
        row_len = (int)n;
    }
    size_t rows = (n_rows <= 0 || (size_t)n_rows > avail) ? avail : (size_t)n_rows;
    const int global = block_len == BD3_GLOBAL || block_len >= row_len;
    const int B = global ? row_len : block_len;
    if (!global && 2 * B > L) return BD3_E_ARG;
    const int nb = (row_len + B - 1) / B; /* blocks per row */
    const size_t M = rows * (size_t)nb;   /* masking rates drawn in all */

    const size_t N = (size_t)L;
    int32_t *noisy = ops_work(c, OPS_W_CANVAS, N, sizeof *noisy);    /* [row_len] noised row */
    int *mrows = ops_work(c, OPS_W_ROWS, N, sizeof *mrows);          /* [row_len] masked positions */
    int32_t *window = ops_work(c, OPS_W_WINDOW, N, sizeof *window);  /* [row_len] clean ++ noisy block */
    double *t_block = ops_work(c, OPS_W_DOUBLE, N, sizeof *t_block); /* [nb] masking rate per block */
    /* [rows of a call, V]: a chunk of a global pass, or a block */
    float *full = ops_logits(c, global || B < OPS_CHUNK ? OPS_CHUNK : B);
    if (!noisy || !mrows || !window || !t_block || !full) return BD3_E_NOMEM;
    bd3_rng r;
    bd3_rng_seed(&r, seed);
    const double u0 = bd3_rng_uniform(&r); /* antithetic offset shared by the M draws */
    bd3_progress prog = {
        .n_target = (int)(rows * (size_t)row_len > (size_t)INT32_MAX ? INT32_MAX : rows * (size_t)row_len)};
    bd3_status st = BD3_OK;
    for (size_t row = 0; row < rows; row++) {
        const int32_t *x = ids + row * (size_t)L;
        /* Noise the whole row first: block b masks each of its tokens with probability t_b. */
        for (int b = 0; b < nb; b++) {
            size_t i = row * (size_t)nb + (size_t)b;
            double frac = fmod(u0 + (double)i / (double)M, 1.0);
            t_block[b] = OPS_T_MIN + (1.0 - OPS_T_MIN) * frac;
        }
        double row_loss = 0.0; /* nats of this row, added once the row is complete */
        for (int i = 0; i < row_len; i++) {
            int masked = i > 0 && bd3_rng_uniform(&r) < t_block[i / B];
            noisy[i] = masked ? hp->mask_id : x[i];
        }
        if (global) {
            int n_masked = 0;
            for (int i = 1; i < row_len; i++)
                if (noisy[i] == hp->mask_id) mrows[n_masked++] = i;
            ops_logp q = {.truth = x,
                          .rows = mrows,
                          .n_vocab = V,
                          .mask_id = hp->mask_id,
                          .sum_neg = &row_loss,
                          .scale = t_block[0]};
            if (n_masked > 0) {
                st = bd3_forward_rows_each(c, noisy, row_len, BD3_GLOBAL, mrows, n_masked, OPS_CHUNK, full,
                                           ops_logp_rows, &q);
                if (st != BD3_OK) break;
            }
        } else {
            /* Block-causal with the cache: denoise each noisy block against the clean blocks
             * before it, then commit the clean block. A partial last block (B does not divide
             * the row) would not fit beside a full cache: it gets one block-causal pass over the
             * clean blocks and itself instead, and the block before it is not committed. */
            const int partial = row_len % B != 0;
            bd3_cache_clear(c);
            for (int b = 0; b < nb; b++) {
                int b0 = b * B;
                int len = row_len - b0 < B ? row_len - b0 : B;
                if (partial && b == nb - 1) {
                    int n_masked = 0;
                    for (int i = 0; i < len; i++)
                        if (noisy[b0 + i] == hp->mask_id) mrows[n_masked++] = b0 + i;
                    if (n_masked > 0) {
                        memcpy(window, x, (size_t)b0 * sizeof *window);
                        memcpy(window + b0, noisy + b0, (size_t)len * sizeof *window);
                        st = bd3_forward_rows(c, window, b0 + len, B, mrows, n_masked, full);
                        if (st != BD3_OK) break;
                    }
                    for (int j = 0; j < n_masked; j++)
                        row_loss -=
                            sampler_log_prob(full + (size_t)j * V, V, hp->mask_id, x[mrows[j]]) / t_block[b];
                    prog.n_calls++;
                    break;
                }
                st = bd3_cache_forward(c, noisy + b0, len, full);
                if (st != BD3_OK) break;
                for (int i = 0; i < len; i++) {
                    if (noisy[b0 + i] != hp->mask_id) continue;
                    row_loss -=
                        sampler_log_prob(full + (size_t)i * V, V, hp->mask_id, x[b0 + i]) / t_block[b];
                }
                if (b + 1 < nb - partial) {
                    st = bd3_cache_commit(c, x + b0, len);
                    if (st != BD3_OK) break;
                }
                prog.n_calls += 2;
                prog.n_done = (int)(row * (size_t)row_len) + b0 + len;
                if (cb && cb(user, &prog)) {
                    st = BD3_E_CANCELLED;
                    break;
                }
            }
            if (st != BD3_OK) break;
        }
        *loss_sum += row_loss;
        if (row_nats) row_nats[row] = row_loss;
        *n_counted += (size_t)row_len - 1; /* every token but position 0, masked or not */
        prog.n_done = (int)((row + 1) * (size_t)row_len);
        prog.n_calls += global;
        if (global && cb && cb(user, &prog)) {
            st = BD3_E_CANCELLED;
            break;
        }
    }
    bd3_cache_clear(c);
    return st;
}

bd3_status bd3_nelbo(bd3_ctx *c, const int32_t *ids, size_t n, int block_len, int n_rows, uint64_t seed,
                     double *loss_sum, size_t *n_counted, bd3_step_fn cb, void *user)
{
    return ops_nelbo(c, ids, n, block_len, n_rows, seed, loss_sum, NULL, n_counted, cb, user);
}

bd3_status bd3_nelbo_rows(bd3_ctx *c, const int32_t *ids, size_t n, int block_len, int n_rows, uint64_t seed,
                          double *row_nats, size_t *n_counted, bd3_step_fn cb, void *user)
{
    if (!row_nats) return BD3_E_ARG;
    double total = 0.0;
    return ops_nelbo(c, ids, n, block_len, n_rows, seed, &total, row_nats, n_counted, cb, user);
}
