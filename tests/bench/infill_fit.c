/* infill_fit.c: how well the length that fits (bd3_infill_fit) finds the length of a removed
 * phrase (not a test; figures are printed, never asserted): for spans of a text, removes the
 * tokens of a run of whole words, asks for a length off by -4, 0 and +4 tokens with lengths
 * tried 4 either side, and reports how far the kept length lies from the true one against how
 * far the asked one did, and the NELBO per byte of the kept fill.
 * Usage: infill_fit MODEL.gguf TEXTFILE [SPANS [THREADS]]
 * Build (after make): cc -std=c11 -D_GNU_SOURCE -O2 -pthread -Imodel -o build/infill_fit
 *   tests/bench/infill_fit.c build/libbd3.a -lutf8proc -lopenblas -lm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bd3.h"

#define FIT_WINDOW 192 /* tokens of a window */
#define FIT_SPAN   8   /* tokens removed (true length) */
#define FIT_RANGE  4   /* lengths tried on each side of the one asked for */

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: infill_fit MODEL.gguf TEXTFILE [SPANS [THREADS]]\n");
        return 2;
    }
    int spans = argc > 3 ? atoi(argv[3]) : 12, threads = argc > 4 ? atoi(argv[4]) : 0;
    bd3_model *m = NULL;
    char err[256] = "";
    if (bd3_model_load(argv[1], &m, err, sizeof err) != BD3_OK) {
        fprintf(stderr, "infill_fit: %s\n", err);
        return 1;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    int32_t *ids = NULL;
    size_t n = 0;
    bd3_ctx *c = NULL;
    if (bd3_tokenize(m, text, len, &ids, &n) != BD3_OK || bd3_ctx_new(m, threads, &c) != BD3_OK) return 1;
    if (n < (size_t)FIT_WINDOW * 2) {
        fprintf(stderr, "infill_fit: the text is too short\n");
        return 1;
    }
    const int offsets[3] = {-FIT_RANGE, 0, FIT_RANGE};
    double dist_asked[3] = {0}, dist_kept[3] = {0}, npb_sum[3] = {0};
    int exact[3] = {0}, done = 0;
    int32_t out[FIT_SPAN + 2 * FIT_RANGE + 1];
    for (int k = 0; k < spans; k++) {
        size_t w0 = (n - FIT_WINDOW) * (size_t)k / (size_t)spans;
        const int32_t *win = ids + w0;
        /* the span: FIT_SPAN tokens from the first token that starts with a blank past the middle */
        int lo = FIT_WINDOW / 2;
        for (size_t bl; lo < FIT_WINDOW - FIT_SPAN; lo++) {
            const char *b = bd3_token_bytes(m, win[lo], &bl);
            if (b && bl > 0 && b[0] == ' ') break;
        }
        int hi = lo + FIT_SPAN;
        for (int o = 0; o < 3; o++) {
            int asked = FIT_SPAN + offsets[o];
            bd3_sampler_params p;
            bd3_sampler_params_init(&p);
            p.seed = 1000 + (uint64_t)k;
            p.refresh = 32;
            p.top_p = 0.9;
            int kept = 0;
            double npb = 0;
            if (bd3_infill_fit(c, &p, win, FIT_WINDOW, lo, hi, asked - FIT_RANGE > 0 ? asked - FIT_RANGE : 1,
                               asked + FIT_RANGE, 0, out, NULL, &kept, &npb, NULL, NULL) != BD3_OK)
                return 1;
            dist_asked[o] += abs(asked - FIT_SPAN);
            dist_kept[o] += abs(kept - FIT_SPAN);
            exact[o] += kept == FIT_SPAN;
            npb_sum[o] += npb;
        }
        done++;
    }
    printf("%d spans of %d tokens in %d-token windows, lengths tried +-%d around the one asked\n", done,
           FIT_SPAN, FIT_WINDOW, FIT_RANGE);
    printf("asked    mean |asked-true|  mean |kept-true|  kept == true  mean nat/B kept\n");
    for (int o = 0; o < 3; o++)
        printf("true%+d  %17.2f  %16.2f  %9d/%d  %15.3f\n", offsets[o], dist_asked[o] / done,
               dist_kept[o] / done, exact[o], done, npb_sum[o] / done);
    bd3_ctx_free(c);
    bd3_model_free(m);
    free(ids);
    return 0;
}
