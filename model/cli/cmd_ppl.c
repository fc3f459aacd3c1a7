/* cmd_ppl.c: `bd3 ppl`: NELBO perplexity of a file (spec section 4) and bits per byte. Depends on
 * bd3.h and cli.h. */
#include <math.h>
#include <stdlib.h>
#include "cli.h"

int cmd_ppl(cli_opts *o)
{
    if (o->n_args != 1) {
        cli_error(o, "a FILE to evaluate is required");
        return CLI_EXIT_USAGE;
    }
    char *text;
    size_t len;
    int rc = cli_read_file(o, o->args[0], &text, &len);
    if (rc != CLI_EXIT_OK) return rc;
    bd3_model *m;
    bd3_ctx *c;
    rc = cli_load(o, &m, &c);
    if (rc != CLI_EXIT_OK) {
        free(text);
        return rc;
    }
    const bd3_hparams *hp = bd3_model_hparams(m);
    int32_t *ids = NULL;
    size_t n = 0;
    bd3_status st = bd3_tokenize(m, text, len, &ids, &n);
    if (st != BD3_OK) {
        cli_error(o, "cannot tokenize %s: %s", o->args[0], bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    int B = o->block_len >= 0 ? o->block_len : bd3_model_default_block(m);
    if (B >= hp->n_ctx) B = BD3_GLOBAL;
    if (B != BD3_GLOBAL && 2 * B > hp->n_ctx) {
        cli_error(o, "block length %d too large for n_ctx %d", B, hp->n_ctx);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (n < 2) {
        cli_error(o, "%s has fewer than 2 tokens", o->args[0]);
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    /* Tokens evaluated: whole rows of n_ctx, or the whole text when it is shorter than a row. */
    size_t avail = n / (size_t)hp->n_ctx;
    size_t rows = avail == 0 ? 1 : (o->rows > 0 && (size_t)o->rows < avail ? (size_t)o->rows : avail);
    size_t n_eval = avail == 0 ? n : rows * (size_t)hp->n_ctx;
    size_t bytes = 0;
    for (size_t i = 0; i < n_eval; i++) {
        size_t tl = 0;
        if (bd3_token_bytes(m, ids[i], &tl)) bytes += tl;
    }
    double loss = 0.0;
    size_t counted = 0;
    cli_progress prog;
    cli_progress_start(&prog, o, "ppl");
    uint64_t seed = o->sp.seed;
    st = bd3_nelbo(c, ids, n, B, (int)rows, seed, &loss, &counted, cli_progress_step, &prog);
    cli_progress_end(&prog);
    if (st != BD3_OK) {
        cli_error(o, "evaluation failed: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (B == BD3_GLOBAL)
        printf("mode global\n");
    else
        printf("mode block:%d\n", B);
    printf("rows %zu\n", rows);
    printf("tokens %zu\n", n_eval);
    printf("counted %zu\n", counted);
    printf("bytes %zu\n", bytes);
    printf("nats %.6f\n", loss);
    printf("ppl %.6f\n", exp(loss / (double)counted));
    printf("bpb %.6f\n", bytes ? loss / log(2.0) / (double)bytes : 0.0);
done:
    free(ids);
    free(text);
    bd3_ctx_free(c);
    bd3_model_free(m);
    return rc;
}
