/* infill_quality.c: compares infill settings by what the exact model thinks of their output (not
 * a test; figures are printed, never asserted): for spans of 32 tokens in 1024-token windows of
 * a text, infills with each setting and reports the mean log-probability of the written tokens
 * under an exact global scoring pass (bd3_score, every 4th token masked) and the wall time.
 * Usage: infill_quality MODEL.gguf TEXTFILE [SPANS [THREADS]]
 * Build (after make): cc -std=c11 -D_GNU_SOURCE -O2 -pthread -Imodel -o build/infill_quality
 *   tests/bench/infill_quality.c build/libbd3.a -lutf8proc -lopenblas -lm */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bd3.h"

#define QUALITY_WINDOW 1024 /* tokens of a window */
#define QUALITY_SPAN   32   /* tokens infilled */

typedef struct quality_setting {
    const char *name; /* label */
    int refresh;      /* window cache refresh; 0 exact */
    double top_p;     /* nucleus mass */
} quality_setting;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Mean log-probability of ids[lo, hi) under the exact model (every 4th token masked). */
static double span_logprob(bd3_ctx *c, const int32_t *ids, int n, int lo, int hi)
{
    float *conf = malloc((size_t)n * sizeof *conf);
    double sum = 0;
    if (conf && bd3_score(c, ids, n, 4, conf, NULL, NULL) == BD3_OK)
        for (int i = lo; i < hi; i++) sum += log(conf[i] > 1e-12f ? conf[i] : 1e-12f);
    free(conf);
    return sum / (hi - lo);
}

static void print_span(const bd3_model *m, const int32_t *ids, int lo, int hi)
{
    char *s = NULL;
    size_t len = 0;
    if (bd3_detokenize(m, ids + lo, (size_t)(hi - lo), &s, &len) == BD3_OK) {
        for (size_t i = 0; i < len; i++)
            if (s[i] == '\n') s[i] = ' ';
        printf("    |%.*s|\n", (int)len, s);
    }
    free(s);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf TEXTFILE [SPANS [THREADS]]\n", argv[0]);
        return 2;
    }
    int n_spans = argc > 3 ? atoi(argv[3]) : 3;
    int threads = argc > 4 ? atoi(argv[4]) : 0;
    bd3_model *m;
    char err[256] = "";
    if (bd3_model_load(argv[1], &m, err, sizeof err) != BD3_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    FILE *fp = fopen(argv[2], "rb");
    if (!fp) {
        perror(argv[2]);
        return 1;
    }
    static char buf[1 << 22];
    size_t nb = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    int32_t *all;
    size_t n_all;
    if (bd3_tokenize(m, buf, nb, &all, &n_all) != BD3_OK || n_all < (size_t)(n_spans * QUALITY_WINDOW)) {
        fprintf(stderr, "the text holds too few tokens\n");
        return 1;
    }
    bd3_ctx *c;
    if (bd3_ctx_new(m, threads, &c) != BD3_OK) return 1;
    const quality_setting set[] = {
        {"exact top-p 1", 0, 1.0},
        {"refresh 32 top-p 1", 32, 1.0},
        {"exact top-p 0.9", 0, 0.9},
        {"refresh 32 top-p 0.9", 32, 0.9},
    };
    const int n_set = (int)(sizeof set / sizeof set[0]);
    double lp[8] = {0}, secs[8] = {0}, orig = 0;
    int32_t *ids = malloc(QUALITY_WINDOW * sizeof *ids);
    float *conf = malloc(QUALITY_WINDOW * sizeof *conf);
    int mask = bd3_model_hparams(m)->mask_id;
    int lo = QUALITY_WINDOW / 2 - QUALITY_SPAN / 2, hi = lo + QUALITY_SPAN;
    for (int k = 0; k < n_spans; k++) {
        const int32_t *w = all + (size_t)k * QUALITY_WINDOW;
        double o = span_logprob(c, w, QUALITY_WINDOW, lo, hi);
        orig += o;
        printf("span %d: original %.3f\n", k, o);
        print_span(m, w, lo, hi);
        for (int s = 0; s < n_set; s++) {
            memcpy(ids, w, QUALITY_WINDOW * sizeof *ids);
            for (int i = lo; i < hi; i++) ids[i] = mask;
            bd3_sampler_params p;
            bd3_sampler_params_init(&p);
            p.refresh = set[s].refresh;
            p.top_p = set[s].top_p;
            p.seed = 1000 + (uint64_t)k;
            double t0 = now_s();
            if (bd3_infill(c, &p, ids, conf, QUALITY_WINDOW, NULL, NULL) != BD3_OK) return 1;
            double dt = now_s() - t0;
            double l = span_logprob(c, ids, QUALITY_WINDOW, lo, hi);
            lp[s] += l;
            secs[s] += dt;
            printf("  %-22s %.3f (%.2f s)\n", set[s].name, l, dt);
            print_span(m, ids, lo, hi);
        }
    }
    printf("mean over %d spans: original %.3f\n", n_spans, orig / n_spans);
    for (int s = 0; s < n_set; s++)
        printf("  %-22s mean log-prob %.3f, mean %.2f s\n", set[s].name, lp[s] / n_spans, secs[s] / n_spans);
    free(ids);
    free(conf);
    free(all);
    bd3_ctx_free(c);
    bd3_model_free(m);
    return 0;
}
