/* cmd_revise.c: `bd3 revise`: score a span of a file, remask its least confident tokens and
 * regenerate them in global mode (draft then revise, spec section 3), a window at a time; write
 * the whole file with the revised span. Depends on bd3.h and cli.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cmd_revise(cli_opts *o)
{
    if (o->n_args != 1) {
        cli_error(o, "a FILE to revise is required");
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
    uint8_t *changed = NULL;
    char *gen = NULL;
    size_t gen_len = 0;
    bd3_status st;
    if (i1 <= i0) {
        cli_error(o, "nothing to revise: the span holds no token");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (!bd3_model_has_global(m) && !o->quiet)
        fprintf(stderr, "bd3 revise: warning: the model was trained for block-causal mode only: a "
                        "remasked token is redrawn from the text before it (and within its own block); "
                        "the text after it is not seen\n");
    const size_t W = (size_t)hp->n_ctx;
    win = malloc(W * sizeof *win);         /* [n_ctx] one window */
    conf = malloc(W * sizeof *conf);       /* [n_ctx] its confidences */
    changed = malloc(W * sizeof *changed); /* [n_ctx] 1 where the revise changed the token */
    if (!win || !conf || !changed) {
        cli_error(o, "out of memory");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    /* Pieces of at most half a window, each revised with as much context on both sides as fits
     * (what earlier pieces wrote is the left context of later ones). */
    const size_t piece = W / 2 > 0 ? W / 2 : 1;
    size_t n_changed = 0, n_remasked = 0;
    cli_progress prog;
    cli_progress_start(&prog, o, "revise");
    for (size_t p0 = i0; p0 < i1; p0 += piece) {
        size_t N = i1 - p0 < piece ? i1 - p0 : piece;
        size_t avail = W - N;
        size_t n_left = p0, n_right = n - (p0 + N);
        size_t nl = n_left < avail / 2 ? n_left : avail / 2;
        size_t nr = n_right < avail - nl ? n_right : avail - nl;
        nl = n_left < avail - nr ? n_left : avail - nr;
        size_t nw = nl + N + nr;
        memcpy(win, ids + p0 - nl, nw * sizeof *win);
        st = bd3_score(c, win, (int)nw, 0, conf, NULL, NULL);
        if (st == BD3_OK) {
            memset(changed, 0, nw);
            st = bd3_revise(c, &o->sp, win, conf, (int)nw, (int)nl, (int)(nl + N), o->fraction, changed,
                            cli_progress_step, &prog);
        }
        if (st != BD3_OK) {
            cli_progress_end(&prog);
            cli_error(o, "revise failed: %s", bd3_status_str(st));
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        memcpy(ids + p0 - nl, win, nw * sizeof *win);
        for (size_t i = 0; i < nw; i++) n_changed += changed[i];
        n_remasked += (size_t)ceil((double)N * o->fraction - 1e-9);
    }
    cli_progress_end(&prog);
    st = bd3_detokenize(m, ids + i0, i1 - i0, &gen, &gen_len);
    if (st != BD3_OK) {
        cli_error(o, "cannot decode the output: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (!o->quiet)
        fprintf(stderr,
                "bd3 revise: bytes %zu:%zu%s, %zu tokens, %zu remasked (fraction %g), "
                "%zu changed, seed %llu\n",
                a, b, a != a0 || b != b0 ? " (widened to whole tokens)" : "", i1 - i0, n_remasked,
                o->fraction, n_changed, (unsigned long long)o->sp.seed);
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
    free(changed);
    free(win);
    free(conf);
    cli_doc_close(&d);
    return rc;
}
