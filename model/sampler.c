/* sampler.c: token draws (SUBS, temperature, top-k, float64 top-p) and canvas denoising loops
 * (first hitting, step schedule, confidence/margin/entropy order, threshold) of spec section 3.
 * Depends on bd3.h, sampler.h and libc/libm only; logits come from the caller. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sampler.h"

struct sampler {
    int n_vocab;               /* V */
    int32_t mask_id;           /* id excluded from every distribution (SUBS) */
    int32_t ban_id;            /* a second id never drawn (sampler_ban), -1 for none */
    const uint8_t *tok_class;  /* [n_vocab] class of every token (sampler_set_classes), or NULL */
    const uint32_t *pos_allow; /* [canvas] classes allowed at every canvas position (bits), or NULL */
    const uint8_t *banned;     /* [n_vocab] 1 for ids never drawn (sampler_ban_many), or NULL */
    bd3_sampler_params p;      /* parameters, checked */
    double *prob;              /* [n_vocab] scaled logits, then probabilities of candidates */
    int *cand;                 /* [n_vocab] candidate ids (finite, not the mask; top-k subset) */
    int *nucleus;              /* [n_vocab] ids gathered for top-p, sorted by probability */
    int *scratch;              /* [n_vocab] merge-sort scratch */
    int cap;                   /* canvas masks the denoising buffers below hold */
    int *masked;               /* [cap] masked positions of a canvas, ascending */
    int *rows;                 /* [cap] rows asked for in one step */
    int *order;                /* [cap] draw indices by score */
    int *tmp;                  /* [cap] merge-sort scratch of the draws */
    double *score;             /* [cap] rank key per draw */
    uint8_t *keep;             /* [cap] 1 where the draw is kept */
    sampler_draw *draws;       /* [cap] draws of one step */
};

/* Grows the denoising buffers to hold m masks (only when a canvas has more masks than any before:
 * a sampler denoising block after block allocates once). */
static bd3_status sampler_reserve(sampler *s, int m)
{
    if (m <= s->cap) return BD3_OK;
    int *masked = realloc(s->masked, (size_t)m * sizeof *masked);
    if (masked) s->masked = masked;
    int *rows = realloc(s->rows, (size_t)m * sizeof *rows);
    if (rows) s->rows = rows;
    int *order = realloc(s->order, (size_t)m * sizeof *order);
    if (order) s->order = order;
    int *tmp = realloc(s->tmp, (size_t)m * sizeof *tmp);
    if (tmp) s->tmp = tmp;
    double *score = realloc(s->score, (size_t)m * sizeof *score);
    if (score) s->score = score;
    uint8_t *keep = realloc(s->keep, (size_t)m);
    if (keep) s->keep = keep;
    sampler_draw *draws = realloc(s->draws, (size_t)m * sizeof *draws);
    if (draws) s->draws = draws;
    if (!masked || !rows || !order || !tmp || !score || !keep || !draws) return BD3_E_NOMEM;
    s->cap = m;
    return BD3_OK;
}

/* ---- parameters ------------------------------------------------------------------------- */

void bd3_sampler_params_init(bd3_sampler_params *p)
{
    p->kind = BD3_SAMPLE_FIRST_HITTING;
    p->steps = 0;
    p->threshold = 0.0;
    p->temperature = 1.0;
    p->top_p = 1.0;
    p->top_k = 0;
    p->seed = 0;
    p->refresh = 0;
}

static const char *const sampler_kind_names[] = {
    [BD3_SAMPLE_FIRST_HITTING] = "first-hitting",
    [BD3_SAMPLE_STEPS] = "steps",
    [BD3_SAMPLE_CONFIDENCE] = "confidence",
    [BD3_SAMPLE_MARGIN] = "margin",
    [BD3_SAMPLE_ENTROPY] = "entropy",
};
#define SAMPLER_N_KINDS ((int)(sizeof sampler_kind_names / sizeof sampler_kind_names[0]))

const char *bd3_sampler_kind_name(bd3_sampler_kind k)
{
    if ((int)k < 0 || (int)k >= SAMPLER_N_KINDS) return "unknown";
    return sampler_kind_names[k];
}

int bd3_sampler_kind_parse(const char *name, bd3_sampler_kind *out)
{
    if (!name) return -1;
    for (int i = 0; i < SAMPLER_N_KINDS; i++) {
        if (strcmp(name, sampler_kind_names[i]) == 0) {
            *out = (bd3_sampler_kind)i;
            return 0;
        }
    }
    /* Short aliases used on command lines and in the editor's option prompt. */
    static const struct {
        const char *alias;
        bd3_sampler_kind kind;
    } aliases[] = {
        {"first", BD3_SAMPLE_FIRST_HITTING}, {"fh", BD3_SAMPLE_FIRST_HITTING},
        {"step", BD3_SAMPLE_STEPS},          {"schedule", BD3_SAMPLE_STEPS},
        {"ddpm", BD3_SAMPLE_STEPS},          {"conf", BD3_SAMPLE_CONFIDENCE},
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcmp(name, aliases[i].alias) == 0) {
            *out = aliases[i].kind;
            return 0;
        }
    }
    return -1;
}

/* BD3_OK when p's values are in range (see sampler_new). */
static bd3_status sampler_check(const bd3_sampler_params *p)
{
    if (!p) return BD3_E_ARG;
    if ((int)p->kind < 0 || (int)p->kind >= SAMPLER_N_KINDS) return BD3_E_ARG;
    if (!(p->temperature > 0.0) || !isfinite(p->temperature)) return BD3_E_ARG;
    if (!(p->top_p > 0.0 && p->top_p <= 1.0)) return BD3_E_ARG;
    if (p->top_k < 0 || !(p->threshold >= 0.0 && p->threshold <= 1.0) || p->refresh < 0) return BD3_E_ARG;
    return BD3_OK;
}

bd3_status sampler_reset(sampler *s, const bd3_sampler_params *p)
{
    if (sampler_check(p) != BD3_OK) return BD3_E_ARG;
    s->p = *p;
    s->ban_id = -1;
    s->banned = NULL;
    s->tok_class = NULL;
    s->pos_allow = NULL;
    return BD3_OK;
}

bd3_status sampler_new(int n_vocab, int32_t mask_id, const bd3_sampler_params *p, sampler **out)
{
    *out = NULL;
    if (n_vocab <= 0 || sampler_check(p) != BD3_OK) return BD3_E_ARG;
    sampler *s = calloc(1, sizeof *s);
    if (!s) return BD3_E_NOMEM;
    s->n_vocab = n_vocab;
    s->mask_id = mask_id;
    s->ban_id = -1;
    s->p = *p;
    s->prob = malloc((size_t)n_vocab * sizeof *s->prob);
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    s->nucleus = malloc((size_t)n_vocab * sizeof *s->nucleus);
    s->scratch = malloc((size_t)n_vocab * sizeof *s->scratch);
    if (!s->prob || !s->cand || !s->nucleus || !s->scratch) {
        sampler_free(s);
        return BD3_E_NOMEM;
    }
    *out = s;
    return BD3_OK;
}

void sampler_free(sampler *s)
{
    if (!s) return;
    free(s->prob);
    free(s->cand);
    free(s->nucleus);
    free(s->scratch);
    free(s->masked);
    free(s->rows);
    free(s->order);
    free(s->tmp);
    free(s->score);
    free(s->keep);
    free(s->draws);
    free(s);
}

/* ---- distributions ---------------------------------------------------------------------- */

double sampler_softmax(const float *logits, int n_vocab, int32_t mask_id, double *prob)
{
    double mx = -INFINITY;
    for (int v = 0; v < n_vocab; v++)
        if (v != mask_id && isfinite(logits[v]) && logits[v] > mx) mx = logits[v];
    if (mx == -INFINITY) {
        for (int v = 0; v < n_vocab; v++) prob[v] = 0.0;
        return -INFINITY;
    }
    double sum = 0.0;
    for (int v = 0; v < n_vocab; v++) {
        double e = (v != mask_id && isfinite(logits[v])) ? exp((double)logits[v] - mx) : 0.0;
        prob[v] = e;
        sum += e;
    }
    for (int v = 0; v < n_vocab; v++) prob[v] /= sum;
    return mx + log(sum);
}

double sampler_log_prob(const float *logits, int n_vocab, int32_t mask_id, int32_t token)
{
    if (token < 0 || token >= n_vocab || token == mask_id || !isfinite(logits[token])) return -INFINITY;
    double mx = -INFINITY;
    for (int v = 0; v < n_vocab; v++)
        if (v != mask_id && isfinite(logits[v]) && logits[v] > mx) mx = logits[v];
    double sum = 0.0;
    for (int v = 0; v < n_vocab; v++)
        if (v != mask_id && isfinite(logits[v])) sum += exp((double)logits[v] - mx);
    return ((double)logits[token] - mx) - log(sum);
}

/* Strict total order "a ranks before b": larger value first, smaller id on ties. */
static int sampler_ranks_before(const double *val, int a, int b)
{
    return val[a] > val[b] || (val[a] == val[b] && a < b);
}

/* Rearranges ids[0..n) so that its first k entries are the k best ranked by val (quickselect). */
static void sampler_select_top(int *ids, int n, int k, const double *val)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int pivot = ids[mid];
        ids[mid] = ids[hi];
        ids[hi] = pivot;
        int store = lo;
        for (int i = lo; i < hi; i++) {
            if (sampler_ranks_before(val, ids[i], pivot)) {
                int t = ids[i];
                ids[i] = ids[store];
                ids[store] = t;
                store++;
            }
        }
        ids[hi] = ids[store];
        ids[store] = pivot;
        if (store == k - 1 || store == k) return; /* ids[0..store) all rank before ids[store] */
        if (store < k)
            lo = store + 1;
        else
            hi = store - 1;
    }
}

/* Sorts ids[0..n) by val, best first (bottom-up merge sort; C11 qsort has no user pointer for
 * the key, and a static one would not be thread-safe). tmp: [n] scratch. */
static void sampler_sort_rank(int *ids, int *tmp, int n, const double *val)
{
    for (int width = 1; width < n; width *= 2) {
        for (int lo = 0; lo < n; lo += 2 * width) {
            int mid = lo + width < n ? lo + width : n;
            int hi = lo + 2 * width < n ? lo + 2 * width : n;
            int i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                tmp[o++] = sampler_ranks_before(val, ids[j], ids[i]) ? ids[j++] : ids[i++];
            while (i < mid) tmp[o++] = ids[i++];
            while (j < hi) tmp[o++] = ids[j++];
        }
        memcpy(ids, tmp, (size_t)n * sizeof *ids);
    }
}

void sampler_ban_many(sampler *s, const uint8_t *banned) { s->banned = banned; }

void sampler_ban(sampler *s, int32_t id) { s->ban_id = id >= 0 && id < s->n_vocab ? id : -1; }

void sampler_set_classes(sampler *s, const uint8_t *tok_class, const uint32_t *pos_allow)
{
    s->tok_class = tok_class && pos_allow ? tok_class : NULL;
    s->pos_allow = tok_class && pos_allow ? pos_allow : NULL;
}

bd3_status sampler_draw_token(sampler *s, const float *logits, bd3_rng *r, sampler_draw *out)
{
    return sampler_draw_token_class(s, logits, SAMPLER_ANY_CLASS, r, out);
}

bd3_status sampler_draw_token_class(sampler *s, const float *logits, uint32_t allow, bd3_rng *r,
                                    sampler_draw *out)
{
    const int V = s->n_vocab;
    const double inv_temp = 1.0 / s->p.temperature;
    const uint8_t *cls = allow != SAMPLER_ANY_CLASS ? s->tok_class : NULL;
    double *val = s->prob;
    int n = 0;
    for (int v = 0; v < V; v++) {
        if (v == s->mask_id || v == s->ban_id || (s->banned && s->banned[v]) || !isfinite(logits[v]) ||
            (cls && !(cls[v] < 32 && (allow >> cls[v]) & 1u)))
            continue;
        val[v] = (double)logits[v] * inv_temp;
        s->cand[n++] = v;
    }
    if (n == 0 && cls) /* no token of the classes allowed can be drawn: any class will do */
        return sampler_draw_token_class(s, logits, SAMPLER_ANY_CLASS, r, out);
    if (n == 0) return BD3_E_ARG;
    /* Top-k on the scaled logits (the order is the same as on probabilities). */
    if (s->p.top_k > 0 && s->p.top_k < n) {
        sampler_select_top(s->cand, n, s->p.top_k, val);
        n = s->p.top_k;
    }
    /* Softmax over the candidates in float64. */
    double mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (val[s->cand[i]] > mx) mx = val[s->cand[i]];
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        int v = s->cand[i];
        val[v] = exp(val[v] - mx);
        sum += val[v];
    }
    double top1 = 0.0, top2 = 0.0;
    for (int i = 0; i < n; i++) {
        int v = s->cand[i];
        val[v] /= sum;
        if (val[v] > top1) {
            top2 = top1;
            top1 = val[v];
        } else if (val[v] > top2) {
            top2 = val[v];
        }
    }
    double entropy = 0.0;
    if (s->p.kind == BD3_SAMPLE_ENTROPY)
        for (int i = 0; i < n; i++) {
            double q = val[s->cand[i]];
            if (q > 0.0) entropy -= q * log(q);
        }

    /* The draw: from the candidates in id order, or from the nucleus in rank order. */
    const int *pool = s->cand;
    int n_pool = n;
    double total = 1.0;
    if (s->p.top_p < 1.0 && n > 1) {
        /* Gather every candidate with probability >= c (a prefix of the full ranking); once
         * that prefix holds more than top_p of the mass, the nucleus ends inside it. */
        double c = 1.0 / 256.0;
        int m;
        for (;;) {
            double mass = 0.0;
            m = 0;
            for (int i = 0; i < n; i++) {
                int v = s->cand[i];
                if (val[v] >= c) {
                    s->nucleus[m++] = v;
                    mass += val[v];
                }
            }
            if (mass > s->p.top_p || c == 0.0) break;
            c = c > 1e-300 ? c / 16.0 : 0.0;
        }
        sampler_sort_rank(s->nucleus, s->scratch, m, val);
        double cum = 0.0;
        int keep = 0;
        while (keep < m && cum + val[s->nucleus[keep]] <= s->p.top_p) {
            cum += val[s->nucleus[keep]];
            keep++;
        }
        if (keep == 0) {
            keep = 1; /* the top token is always kept */
            cum = val[s->nucleus[0]];
        }
        pool = s->nucleus;
        n_pool = keep;
        total = cum;
    } else {
        total = 0.0;
        for (int i = 0; i < n; i++) total += val[s->cand[i]];
    }
    double u = bd3_rng_uniform(r) * total;
    int tok = pool[n_pool - 1];
    double acc = 0.0;
    for (int i = 0; i < n_pool; i++) {
        acc += val[pool[i]];
        if (u < acc) {
            tok = pool[i];
            break;
        }
    }
    out->token = tok;
    out->conf = val[tok];
    out->margin = top1 - top2;
    out->entropy = entropy;
    return BD3_OK;
}

/* ---- canvas denoising ------------------------------------------------------------------- */

int sampler_schedule_count(int m, int i, int T)
{
    if (m <= 0) return 0;
    if (T <= 1 || i >= T - 1) return m;
    double t = 1.0 - (double)i / T;
    double s = t - 1.0 / T;
    double k = ceil((double)m * (t - s) / t - 1e-9);
    if (k < 1.0) return 1;
    if (k > (double)m) return m;
    return (int)k;
}

/* Rank key of a draw for the ordered samplers: larger is more certain. */
static double sampler_draw_score(bd3_sampler_kind kind, const sampler_draw *d)
{
    switch (kind) {
    case BD3_SAMPLE_MARGIN: return d->margin;
    case BD3_SAMPLE_ENTROPY: return -d->entropy;
    default: return d->conf;
    }
}

/* Draws for the rows of one model call as their logits arrive. */
typedef struct sampler_drawer {
    sampler *s;          /* the sampler */
    bd3_rng *r;          /* its generator */
    sampler_draw *draws; /* [n_rows] one draw per requested row */
    const int *rows;     /* [n_rows] canvas position of every requested row */
    int next;            /* index of the next row expected */
    int n_rows;          /* rows requested */
} sampler_drawer;

static bd3_status sampler_drawer_rows(void *user, int j0, int nj, const float *logits)
{
    sampler_drawer *d = user;
    if (j0 != d->next || nj < 1 || j0 + nj > d->n_rows)
        return BD3_E_ARG; /* rows must arrive in order, once each */
    for (int j = 0; j < nj; j++) {
        uint32_t allow = d->s->pos_allow ? d->s->pos_allow[d->rows[j0 + j]] : SAMPLER_ANY_CLASS;
        bd3_status st = sampler_draw_token_class(d->s, logits + (size_t)j * d->s->n_vocab, allow, d->r,
                                                 &d->draws[j0 + j]);
        if (st != BD3_OK) return st;
    }
    d->next = j0 + nj;
    return BD3_OK;
}

bd3_status sampler_denoise(sampler *s, bd3_rng *r, int32_t *ids, float *conf, int n,
                           sampler_logits_fn logits_fn, void *logits_user, bd3_progress *prog, bd3_step_fn cb,
                           void *cb_user)
{
    const bd3_sampler_kind kind = s->p.kind;
    bd3_progress local = {0};
    if (!prog) {
        local.ids = ids;
        local.conf = conf;
        local.n_canvas = n;
        prog = &local;
    }
    int m = 0;
    for (int i = 0; i < n; i++) m += ids[i] == s->mask_id;
    prog->n_masked = m;
    if (m == 0) return BD3_OK;
    bd3_status st = sampler_reserve(s, m);
    if (st != BD3_OK) return st;
    int *masked = s->masked, *rows = s->rows, *order = s->order, *tmp = s->tmp;
    double *score = s->score;
    uint8_t *keep = s->keep;
    sampler_draw *draws = s->draws;
    m = 0;
    for (int i = 0; i < n; i++)
        if (ids[i] == s->mask_id) masked[m++] = i;
    const int T = s->p.steps > 0 ? s->p.steps : m;

    for (int step = 0; m > 0; step++) {
        int n_rows = 0;
        switch (kind) {
        case BD3_SAMPLE_FIRST_HITTING: {
            int j = (int)(bd3_rng_uniform(r) * m);
            if (j >= m) j = m - 1;
            rows[n_rows++] = masked[j];
            break;
        }
        case BD3_SAMPLE_STEPS: {
            if (step >= T - 1) {
                for (int j = 0; j < m; j++) rows[n_rows++] = masked[j];
            } else {
                double t = 1.0 - (double)step / T;
                double sv = t - 1.0 / T;
                double pu = (t - sv) / t;
                for (int j = 0; j < m; j++)
                    if (bd3_rng_uniform(r) < pu) rows[n_rows++] = masked[j];
            }
            break;
        }
        default:
            for (int j = 0; j < m; j++) rows[n_rows++] = masked[j];
            break;
        }
        if (n_rows == 0) continue; /* nothing unmasks at this step: the canvas and its logits are unchanged */
        sampler_drawer drawer = {.s = s, .r = r, .draws = draws, .rows = rows, .n_rows = n_rows};
        st = logits_fn(logits_user, ids, rows, n_rows, sampler_drawer_rows, &drawer);
        if (st == BD3_OK && drawer.next != n_rows) st = BD3_E_ARG; /* some rows never arrived */
        if (st != BD3_OK) goto done;
        int n_keep = 0;
        if (kind == BD3_SAMPLE_FIRST_HITTING || kind == BD3_SAMPLE_STEPS) {
            memset(keep, 1, (size_t)n_rows);
            n_keep = n_rows;
        } else {
            int k = sampler_schedule_count(m, step, T);
            for (int j = 0; j < n_rows; j++) {
                order[j] = j;
                score[j] = sampler_draw_score(kind, &draws[j]);
            }
            sampler_sort_rank(order, tmp, n_rows, score);
            memset(keep, 0, (size_t)n_rows);
            for (int j = 0; j < k; j++) keep[order[j]] = 1;
            if (s->p.threshold > 0.0)
                for (int j = 0; j < n_rows; j++)
                    if (draws[j].conf > s->p.threshold) keep[j] = 1;
            for (int j = 0; j < n_rows; j++) n_keep += keep[j];
        }
        for (int j = 0; j < n_rows; j++) {
            if (!keep[j]) continue;
            ids[rows[j]] = draws[j].token;
            if (conf) conf[rows[j]] = (float)draws[j].conf;
        }
        int w = 0;
        for (int j = 0; j < m; j++)
            if (ids[masked[j]] == s->mask_id) masked[w++] = masked[j];
        m = w;
        prog->n_calls++;
        prog->n_masked = m;
        prog->n_done += n_keep;
        if (cb && cb(cb_user, prog)) {
            st = BD3_E_CANCELLED;
            goto done;
        }
    }
done:
    return st;
}
