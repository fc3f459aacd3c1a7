/* model_latency.c: latency figures of the model in the editor (not a test; timings are printed,
 * never asserted): infill of a 32-token span in a 1024-token document, continuation tokens/s,
 * keystroke to heatmap update. Usage: model_latency MODEL.gguf TEXTFILE [THREADS]
 * Build (after make): cc -std=c11 -D_GNU_SOURCE -O2 -pthread -Imodel -Ieditor -o build/model_latency
 *   tests/bench/model_latency.c build/libbd3ed.a build/libbd3.a -lutf8proc -lopenblas -lm */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "config.h"
#include "model-session.h"
#include "model-window.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Tokens of the len bytes of t at pos (what a continuation wrote). */
static int tokens_at(const bd3_model *m, const text *t, size_t pos, size_t len)
{
    char *b = malloc(len + 1);
    int32_t *ids = NULL;
    size_t n = 0;
    if (b && text_read(t, pos, len, b) == len && bd3_tokenize(m, b, len, &ids, &n) != BD3_OK) n = 0;
    free(ids);
    free(b);
    return (int)n;
}

static void run_to_idle(model_session *s)
{
    while (model_session_busy(s)) {
        struct pollfd p = {model_session_fd(s), POLLIN, 0};
        poll(&p, 1, 1000);
        model_session_process(s);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf TEXTFILE [THREADS]\n", argv[0]);
        return 2;
    }
    FILE *fp = fopen(argv[2], "rb");
    if (!fp) {
        perror(argv[2]);
        return 1;
    }
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    config *cfg = config_new();
    char err[256];
    config_set(cfg, "model", argv[1], err, sizeof err);
    config_set(cfg, "threads", argc > 3 ? argv[3] : "0", err, sizeof err);
    config_set(cfg, "seed", "1", err, sizeof err);
    model_session *s = model_session_new(cfg);
    double t0 = now_s();
    if (model_session_load(s) != 0) {
        fprintf(stderr, "%s\n", model_session_message(s));
        return 1;
    }
    printf("load: %.3f s\n", now_s() - t0);
    const bd3_model *m = model_session_model(s);
    const bd3_hparams *hp = bd3_model_hparams(m);
    /* a document of 1024 tokens (or n_ctx when smaller) */
    int want = hp->n_ctx < 1024 ? hp->n_ctx : 1024;
    int32_t *ids;
    size_t n_ids;
    if (bd3_tokenize(m, buf, n, &ids, &n_ids) != BD3_OK || n_ids < (size_t)want) {
        fprintf(stderr, "the text file holds fewer than %d tokens\n", want);
        return 1;
    }
    size_t bytes = 0;
    size_t span_lo = 0, span_hi = 0;
    for (int i = 0; i < want; i++) {
        size_t len;
        bd3_token_bytes(m, ids[i], &len);
        if (i == want / 2) span_lo = bytes;
        bytes += len;
        if (i == want / 2 + 31) span_hi = bytes;
    }
    free(ids);
    text *t = text_new();
    text_insert(t, 0, buf, bytes);
    text_snapshot(t);
    printf("document: %zu bytes, %d tokens, model n_ctx %d, n_embd %d, n_layer %d, n_vocab %d\n", bytes, want,
           hp->n_ctx, hp->n_embd, hp->n_layer, hp->n_vocab);

    /* one full global forward over the window, the unit of the infill figures */
    {
        bd3_ctx *c;
        int32_t *w;
        size_t nw;
        bd3_tokenize(m, buf, bytes, &w, &nw);
        float *logits = malloc((size_t)nw * (size_t)hp->n_vocab * sizeof *logits);
        int threads = argc > 3 ? atoi(argv[3]) : 0;
        if (bd3_ctx_new(m, threads, &c) == BD3_OK && logits) {
            bd3_forward(c, w, (int)nw, BD3_GLOBAL, logits); /* warm-up */
            double best = 1e9;
            for (int k = 0; k < 3; k++) {
                t0 = now_s();
                bd3_forward(c, w, (int)nw, BD3_GLOBAL, logits);
                best = now_s() - t0 < best ? now_s() - t0 : best;
            }
            printf("one full global forward over %zu tokens: %.3f s (best of 3)\n", nw, best);
        }
        bd3_ctx_free(c);
        free(logits);
        free(w);
    }
    model_session_infill(s, t, span_lo, span_hi, span_hi, 0); /* warm-up: the worker's buffers */
    run_to_idle(s);
    text_undo(t, NULL);
    const char *refresh[] = {"32", "32", "32", "0"};
    for (int k = 0; k < 4; k++) {
        config_set(cfg, "refresh", refresh[k], err, sizeof err);
        t0 = now_s();
        model_session_infill(s, t, span_lo, span_hi, span_hi, 0);
        run_to_idle(s);
        printf("infill 32 tokens (first-hitting, one model call per token, refresh %s%s): %.3f s\n",
               refresh[k], k < 3 ? ", the default" : "", now_s() - t0);
        text_undo(t, NULL);
    }
    config_set(cfg, "refresh", "32", err, sizeof err);
    const char *steps[] = {"8", "3"};
    config_set(cfg, "sampler", "confidence", err, sizeof err);
    for (int k = 0; k < 2; k++) {
        config_set(cfg, "steps", steps[k], err, sizeof err);
        t0 = now_s();
        model_session_infill(s, t, span_lo, span_hi, span_hi, 0);
        run_to_idle(s);
        printf("infill 32 tokens (confidence, %s steps): %.3f s\n", steps[k], now_s() - t0);
        text_undo(t, NULL);
    }
    config_set(cfg, "sampler", "first-hitting", err, sizeof err);
    config_set(cfg, "steps", "0", err, sizeof err);

    size_t before = text_size(t);
    int blocks = 8;
    t0 = now_s();
    model_session_continue(s, t, bytes, blocks);
    run_to_idle(s);
    double dt = now_s() - t0;
    int block = cfg->block_length > 0 ? cfg->block_length : bd3_model_default_block(m);
    int wrote = tokens_at(m, t, bytes, text_size(t) - before);
    printf("continue %d blocks of %d after %d tokens: %.3f s, %d tokens, %.1f tokens/s (%s)\n", blocks, block,
           want, dt, wrote, wrote / dt, model_session_message(s));
    text_undo(t, NULL);
    /* Ctrl-N pressed again and again: one block per command at the end of the last one */
    size_t at_end = bytes;
    for (int k = 0; k < 6; k++) {
        size_t was = text_size(t);
        t0 = now_s();
        model_session_continue(s, t, at_end, 1);
        run_to_idle(s);
        dt = now_s() - t0;
        at_end += text_size(t) - was;
        int got = tokens_at(m, t, at_end - (text_size(t) - was), text_size(t) - was);
        printf("continue again (%d): one block in %.3f s, %d tokens, %.1f tokens/s (%s)\n", k + 1, dt, got,
               got / dt, model_session_message(s));
    }
    while (text_size(t) > bytes && text_undo(t, NULL))
        ;

    /* heatmap: score everything visible, then type a character and time its update */
    config_set(cfg, "score-delay-ms", "0", err, sizeof err);
    model_session_toggle_heatmap(s);
    t0 = now_s();
    for (int round = 0; round < 64; round++) {
        model_session_tick(s, t, 0, bytes, (int64_t)(now_s() * 1000));
        if (!model_session_busy(s)) break;
        run_to_idle(s);
    }
    printf("score the whole document: %.3f s\n", now_s() - t0);
    const char *delays[] = {"0", "500"};
    for (int d = 0; d < 2; d++) {
        config_set(cfg, "score-delay-ms", delays[d], err, sizeof err);
        size_t at = bytes / 2;
        /* a stale score on the next word shows when the tokens around the edit were done */
        uint8_t q = 0, stale = 251;
        size_t next = at + 1;
        while (next < text_size(t) && text_byte_at(t, next) != ' ') next++;
        next++;
        text_attr_fill(t, next, 1, stale);
        t0 = now_s();
        text_insert(t, at, "x", 1);
        model_session_note_edit_at(s, t, at + 1, (int64_t)(t0 * 1000));
        uint8_t qn = stale;
        while (q == 0 || qn == stale) {
            int wait = model_session_tick(s, t, 0, text_size(t), (int64_t)(now_s() * 1000));
            struct pollfd p = {model_session_fd(s), POLLIN, 0};
            poll(&p, 1, wait >= 0 ? wait : 5);
            model_session_process(s);
            text_attr_get(t, at, 1, &q);
            text_attr_get(t, next + 1, 1, &qn);
        }
        printf("keystroke to heatmap update of it and the tokens around it (score-delay-ms %s): %.3f s\n",
               delays[d], now_s() - t0);
    }
    model_session_free(s);
    text_free(t);
    config_free(cfg);
    return 0;
}
