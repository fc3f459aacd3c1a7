/* cmd_infill.c: `bd3 infill`: regenerate a span of a file (byte range, line:col range or found
 * text, widened to whole tokens) with the text on both sides as context (global mode) and write
 * the whole file with the new span. Depends on bd3.h and cli.h. */
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
    if (!bd3_model_has_global(m) && !o->quiet)
        fprintf(stderr, "bd3 infill: warning: the model was trained for block-causal mode only: the span "
                        "is filled from the text before it (and within its own block); the text after it "
                        "is not seen\n");
    if (!o->quiet)
        fprintf(stderr, "bd3 infill: bytes %zu:%zu%s, %d token%s, seed %llu\n", a, b,
                a != a0 || b != b0 ? " (widened to whole tokens)" : "", N, N == 1 ? "" : "s",
                (unsigned long long)o->sp.seed);
    /* The window: as much context on each side as fits, shared evenly. */
    size_t avail = (size_t)(hp->n_ctx - N);
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
    cli_progress prog;
    cli_progress_start(&prog, o, "infill");
    st = bd3_infill(c, &o->sp, win, conf, nw, cli_progress_step, &prog);
    cli_progress_end(&prog);
    if (st != BD3_OK) {
        cli_error(o, "infill failed: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    st = bd3_detokenize(m, win + nl, (size_t)N, &gen, &gen_len);
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
    free(win);
    free(conf);
    cli_doc_close(&d);
    return rc;
}
