/* kvcache.c: the float32 KV cache of spec section 2: denoising calls against the cached rows,
 * commits, sliding past n_ctx, and reuse across calls. Depends on forward.h and libc only. */
#include "forward.h"

#include <stdlib.h>
#include <string.h>

#define KVCACHE_FNV_BASIS 0xcbf29ce484222325ull /* FNV-1a 64-bit offset basis */

bd3_status kvcache_init(bd3_ctx *c)
{
    const bd3_hparams *hp = &c->m->hp;
    size_t rows = (size_t)hp->n_layer * (size_t)hp->n_ctx * (size_t)c->kv_dim;
    struct kvcache *kv = &c->kv;
    kv->k = forward_alloc(rows, &c->bytes);
    kv->k_rot = forward_alloc(rows, &c->bytes);
    kv->v = forward_alloc(rows, &c->bytes);
    kv->ids = malloc((size_t)hp->n_ctx * sizeof *kv->ids);
    c->bytes += (size_t)hp->n_ctx * sizeof *kv->ids;
    if (hp->logit_shift) kv->saved = forward_alloc((size_t)hp->n_layer * 3 * (size_t)c->kv_dim, &c->bytes);
    return kv->k && kv->k_rot && kv->v && kv->ids && (!hp->logit_shift || kv->saved) ? BD3_OK : BD3_E_NOMEM;
}

void kvcache_free(bd3_ctx *c)
{
    free(c->kv.k);
    free(c->kv.k_rot);
    free(c->kv.v);
    free(c->kv.ids);
    free(c->kv.saved);
}

void kvcache_store_raw(bd3_ctx *c, int l, int pos, int n, const float *k, const float *v, int ld)
{
    const size_t D = (size_t)c->kv_dim; /* key and value width */
    const size_t lo = (size_t)l * (size_t)c->m->hp.n_ctx * D;
    for (int i = 0; i < n; i++) {
        memcpy(c->kv.k + lo + (size_t)(pos + i) * D, k + (size_t)i * ld, D * sizeof(float));
        memcpy(c->kv.v + lo + (size_t)(pos + i) * D, v + (size_t)i * ld, D * sizeof(float));
    }
}

void kvcache_store_rot(bd3_ctx *c, int l, int pos, int n, const float *k, int ld)
{
    const size_t D = (size_t)c->kv_dim; /* key and value width */
    const size_t lo = (size_t)l * (size_t)c->m->hp.n_ctx * D;
    for (int i = 0; i < n; i++)
        memcpy(c->kv.k_rot + lo + (size_t)(pos + i) * D, k + (size_t)i * ld, D * sizeof(float));
}

/* Rotates rows 0..n-1 of every layer's raw keys into k_rot at positions 0..n-1. */
static void kvcache_rotate(bd3_ctx *c, int n)
{
    const bd3_hparams *hp = &c->m->hp;
    size_t D = (size_t)c->kv_dim, N = (size_t)hp->n_ctx;
    for (int l = 0; l < hp->n_layer && n > 0; l++) {
        float *kr = c->kv.k_rot + (size_t)l * N * D;
        memcpy(kr, c->kv.k + (size_t)l * N * D, (size_t)n * D * sizeof(float));
        forward_rope(c, kr, n, (int)D, hp->n_head_kv, 0, NULL);
    }
}

void kvcache_keys(bd3_ctx *c)
{
    if (!c->kv.rot_stale) return;
    kvcache_rotate(c, c->kv.len);
    c->kv.rot_stale = 0;
    c->win.n = 0; /* the window cache's keys are gone */
}

void bd3_cache_clear(bd3_ctx *c)
{
    if (!c) return;
    c->kv.len = 0;
    c->prev_len = -1;
    c->kv.total = 0;
    c->kv.hash = KVCACHE_FNV_BASIS;
    c->kv.block = 0;
}

int bd3_cache_len(const bd3_ctx *c) { return c ? c->kv.len : 0; }

/* FNV-1a over the four bytes of each id, continuing from h. */
static uint64_t kvcache_hash_ids(uint64_t h, const int32_t *ids, long n)
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

long kvcache_reuse(bd3_ctx *c, const int32_t *prompt, long n_full, int block_len)
{
    struct kvcache *kv = &c->kv;
    long keep = 0;
    if (block_len > 0 && kv->block == block_len) {
        if (kv->total == kv->len) {
            /* nothing dropped: every cached row saw exactly the rows before it */
            long lim = kv->len < n_full ? kv->len : n_full, i = 0;
            while (i < lim && kv->ids[i] == prompt[i]) i++;
            keep = i / block_len * block_len;
        } else if (kv->total <= n_full &&
                   kvcache_hash_ids(KVCACHE_FNV_BASIS, prompt, kv->total) == kv->hash &&
                   !memcmp(kv->ids, prompt + kv->total - kv->len, (size_t)kv->len * sizeof *prompt)) {
            keep = kv->total; /* rows were dropped: only the whole history can match */
        }
    }
    if (keep == 0) {
        bd3_cache_clear(c);
    } else if (keep < kv->total) {
        c->prev_len = -1; /* the last kept row's hidden state is not known */
        /* cut back (only without drops): rows before keep never saw the rows after it */
        kv->len = (int)keep;
        kv->total = keep;
        kv->hash = kvcache_hash_ids(KVCACHE_FNV_BASIS, prompt, keep);
    }
    return keep;
}

/* Runs ids[0..n) through every layer after the cached rows, leaving the cache as it was (the
 * rows' K and V are written past its end); the hidden states end in c->x [n, n_embd]. */
/* Logit shift: the hidden state of the last cached row into c->prev_h, unless it is there
 * already (a commit leaves it). Recomputes that row as a query over the cache; the pass writes
 * its K and V over the cached ones, which are saved and put back so the cache stays bit-exact. */
static void kvcache_prev(bd3_ctx *c)
{
    const bd3_hparams *hp = &c->m->hp;
    struct kvcache *kv = &c->kv;
    if (!hp->logit_shift || kv->len == 0 || c->prev_len == kv->len) return;
    const size_t KD = (size_t)c->kv_dim, N = (size_t)hp->n_ctx, r = (size_t)kv->len - 1;
    for (int l = 0; l < hp->n_layer; l++) {
        size_t at = (size_t)l * N * KD + r * KD;
        float *s = kv->saved + (size_t)l * 3 * KD;
        memcpy(s, kv->k + at, KD * sizeof(float));
        memcpy(s + KD, kv->k_rot + at, KD * sizeof(float));
        memcpy(s + 2 * KD, kv->v + at, KD * sizeof(float));
    }
    struct forward_pass p = {.block_len = BD3_GLOBAL, .cache_pos = (int)r, .store = FORWARD_STORE_KV};
    forward_layers(c, kv->ids + r, 1, &p);
    memcpy(c->prev_h, c->x, (size_t)hp->n_embd * sizeof(float));
    for (int l = 0; l < hp->n_layer; l++) {
        size_t at = (size_t)l * N * KD + r * KD;
        const float *s = kv->saved + (size_t)l * 3 * KD;
        memcpy(kv->k + at, s, KD * sizeof(float));
        memcpy(kv->k_rot + at, s + KD, KD * sizeof(float));
        memcpy(kv->v + at, s + 2 * KD, KD * sizeof(float));
    }
    c->prev_len = kv->len;
}

static bd3_status kvcache_pass(bd3_ctx *c, const int32_t *ids, int n)
{
    if (forward_check_ids(c, ids, n)) return BD3_E_ARG;
    kvcache_keys(c);
    kvcache_prev(c);
    struct forward_pass p = {.block_len = BD3_GLOBAL, .cache_pos = c->kv.len, .store = FORWARD_STORE_KV};
    forward_layers(c, ids, n, &p);
    /* logit shift: block row 0 reads the last cached row's output (its own when nothing is cached) */
    if (c->m->hp.logit_shift) forward_shift(c, n, c->kv.len > 0 ? c->prev_h : NULL);
    return BD3_OK;
}

bd3_status bd3_cache_forward(bd3_ctx *c, const int32_t *ids, int n, float *logits)
{
    if (!c || !logits || n < 1 || c->kv.len + n > c->m->hp.n_ctx) return BD3_E_ARG;
    if (kvcache_pass(c, ids, n) != BD3_OK) return BD3_E_ARG;
    forward_output(c, n, logits);
    return BD3_OK;
}

bd3_status kvcache_rows(bd3_ctx *c, const int32_t *ids, int n, const int *rows, int n_rows, float *logits)
{
    if (!c || !logits || n < 1 || c->kv.len + n > c->m->hp.n_ctx || !forward_rows_ok(rows, n_rows, n))
        return BD3_E_ARG;
    if (kvcache_pass(c, ids, n) != BD3_OK) return BD3_E_ARG;
    forward_gather(c, rows, n_rows);
    forward_output(c, n_rows, logits);
    return BD3_OK;
}

bd3_status bd3_cache_commit(bd3_ctx *c, const int32_t *ids, int n)
{
    if (!c || n < 1 || c->kv.len + n > c->m->hp.n_ctx) return BD3_E_ARG;
    if (forward_check_ids(c, ids, n)) return BD3_E_ARG;
    const bd3_hparams *hp = &c->m->hp;
    struct kvcache *kv = &c->kv;
    kvcache_keys(c);
    /* with a logit shift the last layer runs to the end: the next block's row 0 reads the last
       committed row's output */
    struct forward_pass p = {.block_len = BD3_GLOBAL,
                             .cache_pos = kv->len,
                             .store = hp->logit_shift ? FORWARD_STORE_KV : FORWARD_STORE_KV_ONLY};
    forward_layers(c, ids, n, &p);
    if (hp->logit_shift)
        memcpy(c->prev_h, c->x + (size_t)(n - 1) * hp->n_embd, (size_t)hp->n_embd * sizeof(float));
    memcpy(kv->ids + kv->len, ids, (size_t)n * sizeof *ids);
    kv->total += n;
    kv->hash = kvcache_hash_ids(kv->hash, ids, n);
    kv->block = kv->block == 0 || kv->block == n ? n : -1;
    int len = kv->len + n, keep = hp->n_ctx - n;
    if (len > keep) {
        size_t D = (size_t)c->kv_dim, N = (size_t)hp->n_ctx, drop = (size_t)(len - keep);
        for (int l = 0; l < hp->n_layer; l++) {
            float *kc = kv->k + (size_t)l * N * D, *vc = kv->v + (size_t)l * N * D;
            memmove(kc, kc + drop * D, (size_t)keep * D * sizeof(float));
            memmove(vc, vc + drop * D, (size_t)keep * D * sizeof(float));
        }
        memmove(kv->ids, kv->ids + drop, (size_t)keep * sizeof *kv->ids);
        /* every kept row moved to a new window position: rotate again from the raw keys */
        kvcache_rotate(c, keep);
        len = keep;
    }
    kv->len = len;
    c->prev_len = hp->logit_shift ? len : -1;
    return BD3_OK;
}
