/* cmd_infill.c: `bd3 infill`: regenerate a span of a file (byte range, line:col range or found
 * text, widened to whole tokens) with the text on both sides as context (global mode), at one
 * length or the best fitting of a range, and write the whole file with the new span. Depends on
 * bd3.h and cli.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cmd_infill(cli_opts *o)
{
    if (o->n_args != 1 || (!o->range && !o->find)) {
        cli_error(o, "a span (--range SPAN or --find TEXT) and a FILE are required");
        return CLI_EXIT_USAGE;
    }
    cli_doc d;
    int rc = cli_doc_open(o, &d);
    if (rc != CLI_EXIT_OK) return rc;
    const char *text = d.text;
    bd3_model *m = d.m;
    bd3_ctx *c = d.c;
    int32_t *ids = d.ids;
    const size_t len = d.len, n = d.n, a = d.a, b = d.b, a0 = d.a0, b0 = d.b0, i0 = d.i0, i1 = d.i1;
    const bd3_hparams *hp = bd3_model_hparams(m);
    int32_t *win = NULL;
    float *conf = NULL;
    int32_t *fill = NULL; /* [len_max] the fill --fit kept */
    char *gen = NULL;
    size_t gen_len = 0;
    bd3_status st;
    const int32_t *left = ids, *right = ids + i1;
    size_t n_left = i0, n_mid = i1 - i0, n_right = n - i1;
    int N = o->length >= 0 ? o->length : (int)n_mid;
    if (o->length == 0) {
        if (n_mid > 0)
            cli_error(o, "--length 0 would only delete the span (bytes %zu:%zu); give --length 1 or more", a,
                      b);
        else
            cli_error(o, "nothing to generate: the span is empty and --length is 0");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (N <= 0) {
        cli_error(o, "nothing to generate: the span is empty; give --length N to insert N tokens");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (N > hp->n_ctx - 1) {
        cli_error(o, "--length %d exceeds the context of %d tokens", N, hp->n_ctx);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    /* --fit: the lengths tried are those of bd3ed's infill-fit, N - fit (at least 1) to N + fit */
    const int fit = o->fit, len_min = N - fit > 1 ? N - fit : 1, len_max = N + fit;
    if (fit > hp->n_ctx / 4) {
        cli_error(o, "--fit %d: at most %d (a quarter of the context of %d tokens)", fit, hp->n_ctx / 4,
                  hp->n_ctx);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (len_max > hp->n_ctx - 1) {
        cli_error(o, "--fit %d on a length of %d tokens%s tries %d tokens, more than the context of %d holds",
                  fit, N, o->length >= 0 ? " (--length)" : " (the span's)", len_max, hp->n_ctx);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (!bd3_model_has_global(m) && !o->quiet)
        fprintf(stderr, "bd3 infill: warning: the model was trained for block-causal mode only: the span "
                        "is filled from the text before it (and within its own block); the text after it "
                        "is not seen\n");
    if (!o->quiet && fit == 0)
        fprintf(stderr, "bd3 infill: bytes %zu:%zu%s, %d token%s, seed %llu\n", a, b,
                a != a0 || b != b0 ? " (widened to whole tokens)" : "", N, N == 1 ? "" : "s",
                (unsigned long long)o->sp.seed);
    else if (!o->quiet)
        fprintf(stderr, "bd3 infill: bytes %zu:%zu%s, the best fit of %d..%d tokens, seed %llu\n", a, b,
                a != a0 || b != b0 ? " (widened to whole tokens)" : "", len_min, len_max,
                (unsigned long long)o->sp.seed);
    /* The window: as much context on each side as fits beside the longest fill, shared evenly. */
    size_t avail = (size_t)(hp->n_ctx - len_max);
    size_t nl = n_left < avail / 2 ? n_left : avail / 2;
    size_t nr = n_right < avail - nl ? n_right : avail - nl;
    nl = n_left < avail - nr ? n_left : avail - nr;
    int nw = (int)(nl + (size_t)N + nr);
    win = malloc((size_t)nw * sizeof *win);  /* [nw] left context, masks, right context */
    conf = calloc((size_t)nw, sizeof *conf); /* [nw] confidences */
    if (!win || !conf) {
        rc = CLI_EXIT_FAIL;
        cli_error(o, "out of memory");
        goto done;
    }
    memcpy(win, left + (n_left - nl), nl * sizeof *win);
    for (int i = 0; i < N; i++) win[nl + (size_t)i] = hp->mask_id;
    memcpy(win + nl + N, right, nr * sizeof *win);
    const int32_t *out = win + nl; /* the fill written, n_out tokens */
    int n_out = N;
    double npb = 0.0; /* --fit: the kept fill's nats per byte */
    cli_progress prog;
    cli_progress_start(&prog, o, fit > 0 ? "fit" : "infill");
    if (fit > 0) {
        fill = malloc((size_t)len_max * sizeof *fill);
        st = fill ? bd3_infill_fit(c, &o->sp, win, nw, (int)nl, (int)nl + N, len_min, len_max, 0, fill, NULL,
                                   &n_out, &npb, cli_progress_step, &prog)
                  : BD3_E_NOMEM;
        out = fill;
    } else {
        st = bd3_infill(c, &o->sp, win, conf, nw, cli_progress_step, &prog);
    }
    cli_progress_end(&prog);
    if (st != BD3_OK) {
        cli_error(o, "infill failed: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (fit > 0 && !o->quiet)
        fprintf(stderr, "bd3 infill: best fit %d token%s of %d..%d (%.2f nat/B)\n", n_out,
                n_out == 1 ? "" : "s", len_min, len_max, npb);
    st = bd3_detokenize(m, out, (size_t)n_out, &gen, &gen_len);
    if (st != BD3_OK) {
        cli_error(o, "cannot decode the output: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    FILE *f = stdout;
    if (o->output && !(f = fopen(o->output, "wb"))) {
        cli_error(o, "cannot open %s: %s", o->output, strerror(errno));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    cli_out w;
    cli_out_init(&w, f);
    cli_out_write(&w, text, a);
    cli_out_write(&w, gen, gen_len);
    cli_out_write(&w, text + b, len - b);
    cli_out_finish(&w);
    int bad = ferror(f);
    if ((f == stdout ? fflush(f) : fclose(f)) != 0 || bad) {
        cli_error(o, "cannot write %s", o->output ? o->output : "the output");
        rc = CLI_EXIT_FAIL;
    }
done:
    free(gen);
    free(fill);
    free(win);
    free(conf);
    cli_doc_close(&d);
    return rc;
}
