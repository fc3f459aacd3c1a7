/* model-window.h: the token window the model sees around a span of a document: tokens of the
 * text before and after the span (at most n_ctx in all) with the byte offset of every token, and
 * confidence kept as a one-byte attribute per byte: the high bit set = written by the model (the
 * confidence it recorded when it unmasked the token), clear = the person's text (a background
 * score); the low 7 bits = the quantised confidence 1..127, 0 = unknown.
 * Depends on text.h and model/bd3.h only: no curses, no editor state. */
#ifndef BD3ED_MODEL_WINDOW_H
#define BD3ED_MODEL_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bd3.h"
#include "text.h"

typedef struct model_window {
    int32_t *ids;   /* [n] token ids; the target's are masks when it was built masked */
    float *conf;    /* [n] confidence in (0, 1] read from the byte attributes; 0 = unknown */
    size_t *pos;    /* [n + 1] document byte offset of token i; pos[n] = end of the window;
                       masks have no bytes (pos[i] == pos[i + 1]) */
    int n;          /* tokens in the window, <= n_ctx */
    int lo, hi;     /* target tokens [lo, hi) */
    size_t byte_lo; /* first document byte of the target */
    size_t byte_hi; /* document byte after the target */
} model_window;

/* Builds the window around document bytes [byte_lo, byte_hi): the target is the tokens of those
 * bytes (n_masks < 0) or n_masks mask tokens in their place (n_masks >= 0), the context the
 * tokens nearest to it on both sides, split evenly where both sides have more than fits.
 * max_tokens (<= n_ctx) bounds the window; max_left (>= 0) bounds the left context alone
 * (-1: no bound). BD3_E_ARG when the target alone does not fit. w is zeroed first. */
bd3_status model_window_build(model_window *w, const bd3_model *m, const text *t, size_t byte_lo,
                              size_t byte_hi, int n_masks, int max_tokens, int max_left, int max_right);
/* As model_window_build with a target of several spans: [lo[k], hi[k]) for k < n_spans
 * (ascending, not overlapping) become n_masks[k] >= 0 masks each, and the text between two
 * spans keeps its own tokens (with their offsets and confidence); the target [w->lo, w->hi)
 * runs from the first span's masks to the last one's, byte_lo = lo[0], byte_hi = hi[n_spans-1].
 * Masks of span k sit at offset lo[k]. BD3_E_ARG when the spans are not in order or the target
 * alone does not fit max_tokens. */
bd3_status model_window_build_spans(model_window *w, const bd3_model *m, const text *t, int n_spans,
                                    const size_t *lo, const size_t *hi, const int *n_masks, int max_tokens);
void model_window_release(model_window *w); /* frees the arrays; zeroed window: no-op */

/* The bytes of tokens ids[0..n) appended to *buf (malloc'd, grown as needed; *len bytes used,
 * *cap allocated) with one attribute per byte (the token's confidence encoded as written by the
 * model; 0 where conf is NULL) in *attrs. Masks are written as the placeholder bytes mask_text (may be "").
 * Token boundaries (n + 1 offsets into buf) go to bounds when non-NULL. */
bd3_status model_window_render(const bd3_model *m, const int32_t *ids, const float *conf, int n,
                               const char *mask_text, char **buf, uint8_t **attrs, size_t *len, size_t *cap,
                               size_t *bounds);

#define MODEL_CONF_BY_MODEL 0x80u /* attribute bit: written by the model, confidence recorded */
#define MODEL_CONF_LEVELS   127   /* quantised confidence levels 1..127 in the low 7 bits */

/* Confidence p in [0, 1] as an attribute byte: level 1..127 (NaN: 1), with MODEL_CONF_BY_MODEL
 * when by_model. The one encoding of confidence in the text. */
uint8_t model_window_conf_encode(float p, bool by_model);
/* The confidence an attribute byte holds, in [0, 1]; -1 when unknown (level 0). */
float model_window_conf_decode(uint8_t attr);
/* true when the byte was written by the model (its confidence is the recorded one, kept until
 * the byte is edited); unknown bytes never are. */
bool model_window_conf_by_model(uint8_t attr);

#endif
