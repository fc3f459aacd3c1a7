/* model-window.c: token windows over a document for the model (tokens with byte offsets,
 * confidence attributes in and out).
 * Depends on text.h and model/bd3.h only: no curses, no editor state. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "model-window.h"

#define WINDOW_BYTES_PER_TOKEN 6 /* bytes read per wanted context token (English averages ~4) */

uint8_t model_window_conf_encode(float p, bool by_model)
{
    uint8_t level = 1;
    if (p >= 0.0f) level = (uint8_t)(1 + lrintf((p > 1.0f ? 1.0f : p) * (MODEL_CONF_LEVELS - 1)));
    return by_model ? (uint8_t)(MODEL_CONF_BY_MODEL | level) : level;
}

float model_window_conf_decode(uint8_t attr)
{
    unsigned level = attr & (MODEL_CONF_BY_MODEL - 1);
    if (level == 0) return -1.0f;
    return (float)(level - 1) / (MODEL_CONF_LEVELS - 1);
}

bool model_window_conf_by_model(uint8_t attr)
{
    return (attr & MODEL_CONF_BY_MODEL) && (attr & (MODEL_CONF_BY_MODEL - 1));
}

void model_window_release(model_window *w)
{
    free(w->ids);
    free(w->conf);
    free(w->pos);
    memset(w, 0, sizeof *w);
}

/* Tokens of document bytes [a, b); *ids malloc'd (NULL when empty). Also writes the byte length
 * of every token to *lens (malloc'd [n]); fails with BD3_E_FORMAT when the tokens do not cover
 * the bytes exactly. */
static bd3_status window_tokenize(const bd3_model *m, const text *t, size_t a, size_t b, int32_t **ids,
                                  size_t **lens, size_t *n)
{
    *ids = NULL;
    *lens = NULL;
    *n = 0;
    if (b <= a) return BD3_OK;
    char *buf = malloc(b - a);
    if (!buf) return BD3_E_NOMEM;
    size_t got = text_read(t, a, b - a, buf);
    bd3_status st = bd3_tokenize(m, buf, got, ids, n);
    free(buf);
    if (st != BD3_OK) return st;
    *lens = malloc((*n ? *n : 1) * sizeof **lens);
    if (!*lens) {
        free(*ids);
        *ids = NULL;
        return BD3_E_NOMEM;
    }
    size_t sum = 0;
    for (size_t i = 0; i < *n; i++) {
        size_t len = 0;
        if (!bd3_token_bytes(m, (*ids)[i], &len)) len = 0;
        (*lens)[i] = len;
        sum += len;
    }
    if (sum != got) {
        free(*ids);
        free(*lens);
        *ids = NULL;
        *lens = NULL;
        *n = 0;
        return BD3_E_FORMAT;
    }
    return BD3_OK;
}

bd3_status model_window_build(model_window *w, const bd3_model *m, const text *t, size_t byte_lo,
                              size_t byte_hi, int n_masks, int max_tokens, int max_left, int max_right)
{
    memset(w, 0, sizeof *w);
    const bd3_hparams *hp = bd3_model_hparams(m);
    size_t size = text_size(t);
    if (byte_lo > byte_hi || byte_hi > size || max_tokens <= 0) return BD3_E_ARG;
    if (max_tokens > hp->n_ctx) max_tokens = hp->n_ctx;
    int32_t *tid = NULL, *lid = NULL, *rid = NULL;
    size_t *tlen = NULL, *llen = NULL, *rlen = NULL;
    size_t nt = 0, nl = 0, nr = 0;
    bd3_status st = BD3_OK;
    if (n_masks < 0) {
        st = window_tokenize(m, t, byte_lo, byte_hi, &tid, &tlen, &nt);
        if (st != BD3_OK) goto done;
    } else {
        nt = (size_t)n_masks;
    }
    if (nt > (size_t)max_tokens) {
        st = BD3_E_ARG;
        goto done;
    }
    size_t avail = (size_t)max_tokens - nt;
    size_t want_l = max_left >= 0 && (size_t)max_left < avail ? (size_t)max_left : avail;
    size_t want_r = max_right >= 0 && (size_t)max_right < avail ? (size_t)max_right : avail;
    size_t lbytes = want_l * WINDOW_BYTES_PER_TOKEN + 64;
    size_t rbytes = want_r * WINDOW_BYTES_PER_TOKEN + 64;
    size_t left_start = byte_lo > lbytes ? byte_lo - lbytes : 0;
    size_t right_end = size - byte_hi > rbytes ? byte_hi + rbytes : size;
    if (want_l > 0) st = window_tokenize(m, t, left_start, byte_lo, &lid, &llen, &nl);
    if (st == BD3_OK && want_r > 0) st = window_tokenize(m, t, byte_hi, right_end, &rid, &rlen, &nr);
    if (st != BD3_OK) goto done;
    if (want_r == 0) right_end = byte_hi;
    /* split: each side gets half, a short side gives the rest to the other */
    size_t take_l = nl < want_l ? nl : want_l;
    size_t take_r = nr < want_r ? nr : want_r;
    if (take_l + take_r > avail) {
        size_t half = avail / 2;
        if (take_l < half)
            take_r = avail - take_l;
        else if (take_r < avail - half)
            take_l = avail - take_r;
        else {
            take_l = half;
            take_r = avail - half;
        }
    }
    size_t n = take_l + nt + take_r;
    w->ids = malloc((n ? n : 1) * sizeof *w->ids);
    w->conf = calloc(n ? n : 1, sizeof *w->conf);
    w->pos = malloc((n + 1) * sizeof *w->pos);
    if (!w->ids || !w->conf || !w->pos) {
        st = BD3_E_NOMEM;
        goto done;
    }
    size_t p = byte_lo;
    for (size_t i = 0; i < take_l; i++) /* offsets of the kept left tokens, backwards */
        p -= llen[nl - 1 - i];
    size_t k = 0;
    for (size_t i = nl - take_l; i < nl; i++, k++) {
        w->ids[k] = lid[i];
        w->pos[k] = p;
        p += llen[i];
    }
    w->lo = (int)k;
    for (size_t i = 0; i < nt; i++, k++) {
        w->ids[k] = tid ? tid[i] : hp->mask_id;
        w->pos[k] = p;
        if (tlen) p += tlen[i];
    }
    w->hi = (int)k;
    if (!tid) p = byte_hi;
    for (size_t i = 0; i < take_r; i++, k++) {
        w->ids[k] = rid[i];
        w->pos[k] = p;
        p += rlen[i];
    }
    w->pos[k] = p;
    w->n = (int)n;
    w->byte_lo = byte_lo;
    w->byte_hi = byte_hi;
    /* confidence of a text token: the lowest confidence of its bytes (recorded by the model or
     * scored), unknown if any byte is */
    size_t first = w->pos[0], last = w->pos[n];
    if (last > first) {
        uint8_t *attr = malloc(last - first);
        if (!attr) {
            st = BD3_E_NOMEM;
            goto done;
        }
        text_attr_get(t, first, last - first, attr);
        for (size_t i = 0; i < n; i++) {
            if (w->ids[i] == hp->mask_id) continue;
            float v = 1.0f;
            for (size_t b = w->pos[i]; b < w->pos[i + 1]; b++) {
                float c = model_window_conf_decode(attr[b - first]);
                v = c < v ? c : v;
            }
            /* known confidence stays above 0, which means unknown */
            w->conf[i] = w->pos[i + 1] > w->pos[i] && v >= 0.0f ? (v > 1e-6f ? v : 1e-6f) : 0.0f;
        }
        free(attr);
    }
done:
    free(tid);
    free(lid);
    free(rid);
    free(tlen);
    free(llen);
    free(rlen);
    if (st != BD3_OK) model_window_release(w);
    return st;
}

bd3_status model_window_build_spans(model_window *w, const bd3_model *m, const text *t, int n_spans,
                                    const size_t *lo, const size_t *hi, const int *n_masks, int max_tokens)
{
    memset(w, 0, sizeof *w);
    if (n_spans < 1 || !lo || !hi || !n_masks) return BD3_E_ARG;
    for (int k = 0; k < n_spans; k++)
        if (lo[k] > hi[k] || n_masks[k] < 0 || (k > 0 && lo[k] < hi[k - 1]) || hi[k] > text_size(t))
            return BD3_E_ARG;
    int32_t **bid = calloc((size_t)n_spans, sizeof *bid);  /* [n_spans - 1] tokens between spans */
    size_t **blen = calloc((size_t)n_spans, sizeof *blen); /* their byte lengths */
    size_t *bn = calloc((size_t)n_spans, sizeof *bn);      /* their counts */
    bd3_status st = bid && blen && bn ? BD3_OK : BD3_E_NOMEM;
    size_t nt = 0; /* target tokens: masks and the tokens between */
    for (int k = 0; st == BD3_OK && k < n_spans; k++) {
        nt += (size_t)n_masks[k];
        if (k + 1 < n_spans) {
            st = window_tokenize(m, t, hi[k], lo[k + 1], &bid[k], &blen[k], &bn[k]);
            nt += bn[k];
        }
    }
    if (st == BD3_OK && nt > (size_t)INT32_MAX) st = BD3_E_ARG;
    if (st == BD3_OK) st = model_window_build(w, m, t, lo[0], hi[n_spans - 1], (int)nt, max_tokens, -1, -1);
    if (st == BD3_OK) {
        const bd3_hparams *hp = bd3_model_hparams(m);
        int i = w->lo;
        for (int k = 0; k < n_spans; k++) {
            for (int j = 0; j < n_masks[k]; j++, i++) {
                w->ids[i] = hp->mask_id;
                w->conf[i] = 0.0f;
                w->pos[i] = lo[k];
            }
            size_t p = hi[k];
            for (size_t j = 0; k + 1 < n_spans && j < bn[k]; j++, i++) {
                w->ids[i] = bid[k][j];
                w->pos[i] = p;
                /* confidence as model_window_build reads it: the lowest of its bytes */
                float v = 1.0f;
                for (size_t b = 0; b < blen[k][j]; b++) {
                    uint8_t a = 0;
                    text_attr_get(t, p + b, 1, &a);
                    float cf = model_window_conf_decode(a);
                    v = cf < v ? cf : v;
                }
                w->conf[i] = blen[k][j] > 0 && v >= 0.0f ? (v > 1e-6f ? v : 1e-6f) : 0.0f;
                p += blen[k][j];
            }
        }
    }
    for (int k = 0; bid && blen && k < n_spans; k++) {
        free(bid[k]);
        free(blen[k]);
    }
    free(bid);
    free(blen);
    free(bn);
    if (st != BD3_OK) model_window_release(w);
    return st;
}

/* Grows *buf and *attrs to hold need bytes. */
static int window_reserve(char **buf, uint8_t **attrs, size_t *cap, size_t need)
{
    if (need <= *cap && *buf && *attrs) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    char *nb = realloc(*buf, c);
    if (!nb) return -1;
    *buf = nb;
    uint8_t *na = realloc(*attrs, c);
    if (!na) return -1;
    *attrs = na;
    *cap = c;
    return 0;
}

bd3_status model_window_render(const bd3_model *m, const int32_t *ids, const float *conf, int n,
                               const char *mask_text, char **buf, uint8_t **attrs, size_t *len, size_t *cap,
                               size_t *bounds)
{
    const bd3_hparams *hp = bd3_model_hparams(m);
    size_t mlen = strlen(mask_text);
    for (int i = 0; i < n; i++) {
        if (bounds) bounds[i] = *len;
        const char *b;
        size_t bl = 0;
        uint8_t q = 0;
        if (ids[i] == hp->mask_id) {
            b = mask_text;
            bl = mlen;
        } else {
            b = bd3_token_bytes(m, ids[i], &bl);
            if (!b) bl = 0;
            q = conf ? model_window_conf_encode(conf[i], true) : 0;
        }
        if (window_reserve(buf, attrs, cap, *len + bl + 1) != 0) return BD3_E_NOMEM;
        memcpy(*buf + *len, b, bl);
        memset(*attrs + *len, q, bl);
        *len += bl;
    }
    if (bounds) bounds[n] = *len;
    return BD3_OK;
}
