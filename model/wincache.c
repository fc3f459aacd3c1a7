/* wincache.c: the window cache of approximate global denoising (bd3_sampler_params.refresh): a
 * full pass that keeps every layer's rotated K and V of the window, and steps that recompute only
 * the active rows against them. Depends on forward.h and libc only. */
#include "forward.h"

#include <stdlib.h>
#include <string.h>

bd3_status wincache_init(bd3_ctx *c)
{
    const bd3_hparams *hp = &c->m->hp;
    c->win.k = c->kv.k_rot; /* the window cache and the KV cache take turns with the rotated keys */
    c->win.v = forward_alloc((size_t)hp->n_layer * (size_t)hp->n_ctx * (size_t)c->kv_dim, &c->bytes);
    c->win.n = 0;
    return c->win.v ? BD3_OK : BD3_E_NOMEM;
}

void wincache_free(bd3_ctx *c) { free(c->win.v); }

void wincache_claim(bd3_ctx *c)
{
    c->win.n = 0;
    c->kv.rot_stale = 1; /* the window cache's keys go to the rotated-key buffer */
}

void wincache_store(bd3_ctx *c, int l, int n, const float *k, const float *v, int ld, int pos0,
                    const int *active)
{
    const size_t D = (size_t)c->kv_dim; /* key and value width */
    const size_t lo = (size_t)l * (size_t)c->m->hp.n_ctx * D;
    for (int i = 0; i < n; i++) {
        size_t at = lo + (size_t)(active ? active[i] : pos0 + i) * D;
        memcpy(c->win.k + at, k + (size_t)i * ld, D * sizeof(float));
        memcpy(c->win.v + at, v + (size_t)i * ld, D * sizeof(float));
    }
}

bd3_status wincache_refresh(bd3_ctx *c, const int32_t *ids, int n, const int *rows, int n_rows,
                            int chunk, float *logits, bd3_rows_fn fn, void *user)
{
    if (!c || !logits || !fn || chunk < 1 || n < 1 || n > c->m->hp.n_ctx ||
        !forward_rows_ok(rows, n_rows, n))
        return BD3_E_ARG;
    if (forward_check_ids(c, ids, n)) return BD3_E_ARG;
    wincache_claim(c);
    struct forward_pass p = { .block_len = BD3_GLOBAL, .cache_pos = -1,
                              .store = FORWARD_STORE_WINDOW };
    forward_layers(c, ids, n, &p);
    c->win.n = n;
    if (c->m->hp.logit_shift) forward_shift(c, n, NULL);
    forward_gather(c, rows, n_rows);
    return forward_emit(c, n_rows, chunk, logits, fn, user);
}

bd3_status wincache_step(bd3_ctx *c, const int32_t *ids, int n, const int *active, int n_active,
                         const int *rows, int n_rows, int chunk, float *logits, bd3_rows_fn fn,
                         void *user)
{
    if (!c || !logits || !fn || chunk < 1 || n < 1 || n != c->win.n ||
        !forward_rows_ok(active, n_active, n) || !forward_rows_ok(rows, n_rows, n) ||
        n_rows > n_active)
        return BD3_E_ARG;
    if (forward_check_ids(c, ids, n)) return BD3_E_ARG;
    for (int j = 0, a = 0; j < n_rows; j++) { /* rows must be a subset of active */
        while (a < n_active && active[a] < rows[j]) a++;
        if (a == n_active || active[a] != rows[j]) return BD3_E_ARG;
    }
    for (int i = 0; i < n_active; i++) c->row_ids[i] = ids[active[i]];
    struct forward_pass p = { .block_len = BD3_GLOBAL, .cache_pos = -1,
                              .store = FORWARD_STORE_WINDOW, .active = active, .n_window = n };
    forward_layers(c, c->row_ids, n_active, &p);
    /* rows[j] is active[a] with a >= j, both ascending: gather them to the front in order */
    size_t D = (size_t)c->m->hp.n_embd;
    for (int j = 0, a = 0; j < n_rows; j++) {
        while (active[a] < rows[j]) a++;
        if (a != j) memcpy(c->x + (size_t)j * D, c->x + (size_t)a * D, D * sizeof(float));
    }
    return forward_emit(c, n_rows, chunk, logits, fn, user);
}
