/* wincache.c: the window cache of approximate global denoising (bd3_sampler_params.refresh): a
 * full pass that keeps every layer's rotated K and V of the window, and steps that recompute only
 * the active rows against them. Depends on forward.h and libc only. */
#include "forward.h"

#include <stdlib.h>
#include <string.h>

/* 1 when the context takes windows of at least FORWARD_Q_ATT_ROWS rows with int8 attention. */
static int wincache_int8(const bd3_ctx *c) { return c->att_k && !c->m->hp.prenorm; }

bd3_status wincache_init(bd3_ctx *c)
{
    const bd3_hparams *hp = &c->m->hp;
    c->win.k = c->kv.k_rot; /* the window cache and the KV cache take turns with the rotated keys */
    c->win.v = c->kv.k_rot + (size_t)hp->n_layer * (size_t)(hp->n_ctx / 2) * (size_t)c->kv_dim;
    c->win.ld_layer = hp->n_ctx / 2;
    c->win.v_own = NULL; /* made by the first window that needs it (wincache_claim) */
    c->win.pk = NULL;    /* so are the packed keys and values */
    c->win.pvt = NULL;
    c->win.n = 0;
    c->win.packed = 0;
    return BD3_OK;
}

/* Frees the packed keys and values (NULL arrays are fine). */
static void wincache_free_packed(bd3_ctx *c)
{
    const int LH = c->m->hp.n_layer * c->m->hp.n_head;
    for (int i = 0; c->win.pk && i < LH; i++) quant_matrix_free(&c->win.pk[i]);
    for (int i = 0; c->win.pvt && i < LH; i++) quant_matrix_free(&c->win.pvt[i]);
    free(c->win.pk);
    free(c->win.pvt);
    c->win.pk = NULL;
    c->win.pvt = NULL;
}

/* Allocates the packed keys and values for the int8 attention of the DiT backbone's windows (the
 * pre-norm backbone's window steps attend in float32): every layer's and head's keys (keys x hd)
 * and values transposed (hd x keys). BD3_E_NOMEM leaves none. */
static bd3_status wincache_alloc_packed(bd3_ctx *c)
{
    const bd3_hparams *hp = &c->m->hp;
    const int LH = hp->n_layer * hp->n_head, hd = hp->n_embd / hp->n_head, NP = c->ld_scores;
    const size_t bytes0 = c->bytes;
    c->win.pk = calloc((size_t)LH, sizeof *c->win.pk);
    c->win.pvt = calloc((size_t)LH, sizeof *c->win.pvt);
    bd3_status st = c->win.pk && c->win.pvt ? BD3_OK : BD3_E_NOMEM;
    for (int i = 0; i < LH && st == BD3_OK; i++)
        if (forward_alloc_packed(&c->win.pk[i], NP / QUANT_TILE, hd / QUANT_BLOCK, &c->bytes) ||
            forward_alloc_packed(&c->win.pvt[i], (hd + QUANT_TILE - 1) / QUANT_TILE, NP / QUANT_BLOCK,
                                 &c->bytes))
            st = BD3_E_NOMEM;
    if (st != BD3_OK) {
        wincache_free_packed(c);
        c->bytes = bytes0;
    }
    return st;
}

void wincache_free(bd3_ctx *c)
{
    wincache_free_packed(c);
    free(c->win.v_own);
}

bd3_status wincache_claim(bd3_ctx *c, int n)
{
    const bd3_hparams *hp = &c->m->hp;
    const size_t L = (size_t)hp->n_layer, N = (size_t)hp->n_ctx, KD = (size_t)c->kv_dim;
    c->win.n = 0;
    c->win.packed = 0;
    c->kv.rot_stale = 1; /* the window cache's rows go to the rotated-key buffer */
    if (wincache_int8(c) && n >= FORWARD_Q_ATT_ROWS) { /* packed: keys from each pass's own rows */
        if (!c->win.pk && wincache_alloc_packed(c) != BD3_OK) return BD3_E_NOMEM;
        c->win.ld_layer = hp->n_ctx;
        c->win.k = NULL;
        c->win.v = c->kv.k_rot;
    } else if (n <= hp->n_ctx / 2) { /* keys and values side by side */
        c->win.ld_layer = hp->n_ctx / 2;
        c->win.k = c->kv.k_rot;
        c->win.v = c->kv.k_rot + L * (size_t)c->win.ld_layer * KD;
    } else { /* keys in k_rot, values in a buffer of their own, made once */
        if (!c->win.v_own) {
            c->win.v_own = forward_alloc(L * N * KD, &c->bytes);
            if (!c->win.v_own) return BD3_E_NOMEM;
        }
        c->win.ld_layer = hp->n_ctx;
        c->win.k = c->kv.k_rot;
        c->win.v = c->win.v_own;
    }
    return BD3_OK;
}

void wincache_store(bd3_ctx *c, int l, int n, const float *k, const float *v, int ld, int pos0,
                    const int *active)
{
    const size_t D = (size_t)c->kv_dim; /* key and value width */
    const size_t lo = (size_t)l * (size_t)c->win.ld_layer * D;
    for (int i = 0; i < n; i++) {
        size_t at = lo + (size_t)(active ? active[i] : pos0 + i) * D;
        if (c->win.k) memcpy(c->win.k + at, k + (size_t)i * ld, D * sizeof(float));
        memcpy(c->win.v + at, v + (size_t)i * ld, D * sizeof(float));
    }
}

/* A window-cache step's repacking, task h: head h's keys of the active rows (from the step's own
 * rows), and the 32-key blocks of its transposed values that hold an active row, quantized again
 * from the window cache's float32 values. */
typedef struct wincache_job {
    bd3_ctx *c;        /* context */
    int l;             /* layer */
    const int *active; /* [n] active window positions, ascending */
    int n;             /* active rows */
    const float *k;    /* [n] the active rows' rotated keys, rows of ld floats */
    int ld;            /* row stride of k */
} wincache_job;

static void wincache_repack_task(void *arg, int h, int tid)
{
    const wincache_job *j = arg;
    bd3_ctx *c = j->c;
    const bd3_hparams *hp = &c->m->hp;
    const int D = hp->n_embd, H = hp->n_head, hd = D / H, LS = c->ld_scores, nw = c->win.n;
    const size_t rows = (size_t)(c->q_chunk > hd ? c->q_chunk : hd);
    const size_t lo = (size_t)j->l * (size_t)c->win.ld_layer * (size_t)D;
    int8_t *q8 = c->att_q + (size_t)tid * rows * LS;
    float *d = c->att_d + (size_t)tid * rows * (LS / QUANT_BLOCK);
    int32_t *s = c->att_s + (size_t)tid * rows * (LS / QUANT_BLOCK);
    float *vt = c->att_vt_tmp + (size_t)tid * hd * LS;
    quant_matrix *pk = &c->win.pk[j->l * H + h], *pvt = &c->win.pvt[j->l * H + h];
    for (int i = 0; i < j->n; i++) {
        int a = j->active[i];
        quant_rows(j->k + (size_t)i * j->ld + (size_t)h * hd, 1, hd, j->ld, q8, d, s);
        for (int b = 0; b < hd / QUANT_BLOCK; b++) quant_set_block(pk, a, b, q8 + b * QUANT_BLOCK, d[b]);
    }
    for (int i = 0; i < j->n; i++) {
        int kb = j->active[i] / QUANT_BLOCK;
        if (i > 0 && j->active[i - 1] / QUANT_BLOCK == kb) continue; /* block done already */
        for (int e = 0; e < hd; e++)
            for (int r = 0; r < QUANT_BLOCK; r++) {
                int key = kb * QUANT_BLOCK + r;
                vt[(size_t)e * QUANT_BLOCK + r] =
                    key < nw ? c->win.v[lo + (size_t)key * D + (size_t)h * hd + (size_t)e] : 0.0f;
            }
        quant_rows(vt, hd, QUANT_BLOCK, QUANT_BLOCK, q8, d, s);
        for (int e = 0; e < hd; e++) quant_set_block(pvt, e, kb, q8 + (size_t)e * QUANT_BLOCK, d[e]);
    }
}

int wincache_attend(bd3_ctx *c, int l, const float *q, int ldq, int n, const float *k, const float *v, int ld,
                    const struct forward_pass *p, float *out)
{
    const int H = c->m->hp.n_head;
    if (!c->win.pk) return 0;
    if (!p->active) { /* a refresh: its own rows are the window */
        if (n < FORWARD_Q_ATT_ROWS) return 0;
        forward_attend_packed(c, q, ldq, n, k, ld, v, ld, n, c->win.pk + l * H, c->win.pvt + l * H, 1, out);
        return 1;
    }
    if (!c->win.packed) return 0;
    wincache_job j = {c, l, p->active, n, k, ld};
    pool_run(c->pool, H, wincache_repack_task, &j);
    forward_attend_packed(c, q, ldq, n, NULL, 0, NULL, 0, p->n_window, c->win.pk + l * H, c->win.pvt + l * H,
                          0, out);
    return 1;
}

bd3_status wincache_refresh(bd3_ctx *c, const int32_t *ids, int n, const int *rows, int n_rows, int chunk,
                            float *logits, bd3_rows_fn fn, void *user)
{
    if (!c || !logits || !fn || chunk < 1 || n < 1 || n > c->m->hp.n_ctx || !forward_rows_ok(rows, n_rows, n))
        return BD3_E_ARG;
    if (forward_check_ids(c, ids, n)) return BD3_E_ARG;
    bd3_status st = wincache_claim(c, n);
    if (st != BD3_OK) return st;
    struct forward_pass p = {.block_len = BD3_GLOBAL, .cache_pos = -1, .store = FORWARD_STORE_WINDOW};
    forward_layers(c, ids, n, &p);
    c->win.n = n;
    c->win.packed = c->win.pk && n >= FORWARD_Q_ATT_ROWS; /* wincache_attend packed every layer */
    if (c->m->hp.logit_shift) forward_shift(c, n, NULL);
    forward_gather(c, rows, n_rows);
    return forward_emit(c, n_rows, chunk, logits, fn, user);
}

bd3_status wincache_step(bd3_ctx *c, const int32_t *ids, int n, const int *active, int n_active,
                         const int *rows, int n_rows, int chunk, float *logits, bd3_rows_fn fn, void *user)
{
    if (!c || !logits || !fn || chunk < 1 || n < 1 || n != c->win.n ||
        !forward_rows_ok(active, n_active, n) || !forward_rows_ok(rows, n_rows, n) || n_rows > n_active)
        return BD3_E_ARG;
    if (forward_check_ids(c, ids, n)) return BD3_E_ARG;
    for (int j = 0, a = 0; j < n_rows; j++) { /* rows must be a subset of active */
        while (a < n_active && active[a] < rows[j]) a++;
        if (a == n_active || active[a] != rows[j]) return BD3_E_ARG;
    }
    for (int i = 0; i < n_active; i++) c->row_ids[i] = ids[active[i]];
    struct forward_pass p = {.block_len = BD3_GLOBAL,
                             .cache_pos = -1,
                             .store = FORWARD_STORE_WINDOW,
                             .active = active,
                             .n_window = n};
    forward_layers(c, c->row_ids, n_active, &p);
    /* rows[j] is active[a] with a >= j, both ascending: gather them to the front in order */
    size_t D = (size_t)c->m->hp.n_embd;
    for (int j = 0, a = 0; j < n_rows; j++) {
        while (active[a] < rows[j]) a++;
        if (a != j) memcpy(c->x + (size_t)j * D, c->x + (size_t)a * D, D * sizeof(float));
    }
    return forward_emit(c, n_rows, chunk, logits, fn, user);
}
