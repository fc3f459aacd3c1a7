/* cmd_infill.c: `bd3 infill`: regenerate a byte range of a file with the text on both sides as
 * context (global mode) and write the whole file with the new span. Depends on bd3.h and cli.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int cmd_infill(cli_opts *o)
{
    if (o->n_args != 1 || o->range_start < 0) {
        cli_error(o, "--range START:END and a FILE are required");
        return CLI_EXIT_USAGE;
    }
    char *text;
    size_t len;
    int rc = cli_read_file(o, o->args[0], &text, &len);
    if (rc != CLI_EXIT_OK)
        return rc;
    if ((size_t)o->range_end > len) {
        cli_error(o, "--range %ld:%ld is outside %s (%zu bytes)", o->range_start, o->range_end,
                  o->args[0], len);
        free(text);
        return CLI_EXIT_USAGE;
    }
    bd3_model *m;
    bd3_ctx *c;
    rc = cli_load(o, &m, &c);
    if (rc != CLI_EXIT_OK) {
        free(text);
        return rc;
    }
    const bd3_hparams *hp = bd3_model_hparams(m);
    const size_t a = (size_t)o->range_start, b = (size_t)o->range_end;
    int32_t *left = NULL, *mid = NULL, *right = NULL, *win = NULL;
    float *conf = NULL;
    char *gen = NULL;
    size_t n_left = 0, n_mid = 0, n_right = 0, gen_len = 0;
    bd3_status st = bd3_tokenize(m, text, a, &left, &n_left);
    if (st == BD3_OK)
        st = bd3_tokenize(m, text + a, b - a, &mid, &n_mid);
    if (st == BD3_OK)
        st = bd3_tokenize(m, text + b, len - b, &right, &n_right);
    if (st != BD3_OK) {
        cli_error(o, "cannot tokenize %s: %s", o->args[0], bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    int N = o->length >= 0 ? o->length : (int)n_mid;
    if (N <= 0) {
        cli_error(o, "nothing to generate: the range is empty and --length is 0 or absent");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (N > hp->n_ctx - 1) {
        cli_error(o, "--length %d exceeds the context of %d tokens", N, hp->n_ctx);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (!bd3_model_has_global(m) && !o->quiet)
        fprintf(stderr, "bd3 infill: warning: the model was trained for block-causal mode only; "
                        "its global mode (used here) is weak\n");
    /* The window: as much context on each side as fits, shared evenly. */
    size_t avail = (size_t)(hp->n_ctx - N);
    size_t nl = n_left < avail / 2 ? n_left : avail / 2;
    size_t nr = n_right < avail - nl ? n_right : avail - nl;
    nl = n_left < avail - nr ? n_left : avail - nr;
    int n = (int)(nl + (size_t)N + nr);
    win = malloc((size_t)n * sizeof *win);    /* [n] left context, masks, right context */
    conf = calloc((size_t)n, sizeof *conf);   /* [n] confidences */
    if (!win || !conf) {
        rc = CLI_EXIT_FAIL;
        cli_error(o, "out of memory");
        goto done;
    }
    memcpy(win, left + (n_left - nl), nl * sizeof *win);
    for (int i = 0; i < N; i++)
        win[nl + (size_t)i] = hp->mask_id;
    memcpy(win + nl + N, right, nr * sizeof *win);
    cli_progress prog;
    cli_progress_start(&prog, o, "infill");
    st = bd3_infill(c, &o->sp, win, conf, n, cli_progress_step, &prog);
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
    fwrite(text, 1, a, f);
    fwrite(gen, 1, gen_len, f);
    fwrite(text + b, 1, len - b, f);
    if ((f == stdout ? fflush(f) : fclose(f)) != 0) {
        cli_error(o, "cannot write %s", o->output ? o->output : "the output");
        rc = CLI_EXIT_FAIL;
    }
done:
    free(gen);
    free(win);
    free(conf);
    free(left);
    free(mid);
    free(right);
    free(text);
    bd3_ctx_free(c);
    bd3_model_free(m);
    return rc;
}
