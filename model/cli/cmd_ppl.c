/* cmd_ppl.c: `bd3 ppl`: NELBO perplexity of a file (spec section 4) and bits per byte, optionally
 * against a reference model on the same rows and masks. Depends on bd3.h and cli.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* One model's NELBO of a text: what `bd3 ppl` prints for it. */
typedef struct ppl_result {
    int32_t *ids;     /* [n] the text's tokens under the model's tokenizer */
    size_t n;         /* tokens of the text */
    int n_ctx;        /* the model's row length, tokens */
    int block_len;    /* mode evaluated: BD3_GLOBAL or B */
    size_t rows;      /* rows evaluated */
    size_t n_eval;    /* tokens in the rows evaluated */
    size_t bytes;     /* UTF-8 bytes of those tokens */
    size_t counted;   /* tokens counted: all but each row's first */
    double *row_nats; /* [rows] nats of each row */
    double nats;      /* their sum in row order, nats */
} ppl_result;

static void ppl_result_free(ppl_result *r)
{
    free(r->ids);
    free(r->row_nats);
    memset(r, 0, sizeof *r);
}

/* Tokenizes text with m and evaluates it in mode B (BD3_GLOBAL or a block length; -1: the model's
 * preferred one) with seed; fills r (free with ppl_result_free). */
static int ppl_eval(cli_opts *o, const char *file, bd3_model *m, bd3_ctx *c, const char *text, size_t len, int B,
                    uint64_t seed, ppl_result *r)
{
    const bd3_hparams *hp = bd3_model_hparams(m);
    memset(r, 0, sizeof *r);
    r->n_ctx = hp->n_ctx;
    bd3_status st = bd3_tokenize(m, text, len, &r->ids, &r->n);
    if (st != BD3_OK) {
        cli_error(o, "cannot tokenize %s: %s", file, bd3_status_str(st));
        return CLI_EXIT_FAIL;
    }
    if (B < 0) B = bd3_model_default_block(m);
    if (B >= hp->n_ctx) B = BD3_GLOBAL;
    if (B != BD3_GLOBAL && 2 * B > hp->n_ctx) {
        cli_error(o, "block length %d too large for n_ctx %d", B, hp->n_ctx);
        return CLI_EXIT_USAGE;
    }
    r->block_len = B;
    if (r->n < 2) {
        cli_error(o, "%s has fewer than 2 tokens", file);
        return CLI_EXIT_FAIL;
    }
    /* Tokens evaluated: whole rows of n_ctx, or the whole text when it is shorter than a row. */
    size_t avail = r->n / (size_t)hp->n_ctx;
    r->rows = avail == 0 ? 1 : (o->rows > 0 && (size_t)o->rows < avail ? (size_t)o->rows : avail);
    r->n_eval = avail == 0 ? r->n : r->rows * (size_t)hp->n_ctx;
    for (size_t i = 0; i < r->n_eval; i++) {
        size_t tl = 0;
        if (bd3_token_bytes(m, r->ids[i], &tl)) r->bytes += tl;
    }
    r->row_nats = calloc(r->rows, sizeof *r->row_nats);
    if (!r->row_nats) {
        cli_error(o, "out of memory");
        return CLI_EXIT_FAIL;
    }
    cli_progress prog;
    cli_progress_start(&prog, o, "ppl");
    st = bd3_nelbo_rows(c, r->ids, r->n, B, (int)r->rows, seed, r->row_nats, &r->counted, cli_progress_step,
                        &prog);
    cli_progress_end(&prog);
    if (st != BD3_OK) {
        cli_error(o, "evaluation failed: %s", bd3_status_str(st));
        return CLI_EXIT_FAIL;
    }
    for (size_t i = 0; i < r->rows; i++) r->nats += r->row_nats[i];
    return CLI_EXIT_OK;
}

static void ppl_print(const char *prefix, const ppl_result *r)
{
    printf("%sppl %.6f\n", prefix, exp(r->nats / (double)r->counted));
    printf("%sbpb %.6f\n", prefix, r->bytes ? r->nats / log(2.0) / (double)r->bytes : 0.0);
}

/* The reference's lines and the change of bits per byte against it; paired row by row (with a
 * standard error) when both models scored the same tokens in the same rows and mode, which
 * gives them the same masks. */
static void ppl_print_ref(const ppl_result *r, const ppl_result *ref)
{
    printf("ref_nats %.6f\n", ref->nats);
    ppl_print("ref_", ref);
    double bpb = r->bytes ? r->nats / (double)r->bytes : 0.0;
    double bpb_ref = ref->bytes ? ref->nats / (double)ref->bytes : 0.0;
    printf("change_bpb %+.4f%%\n", bpb_ref > 0.0 ? 100.0 * (bpb / bpb_ref - 1.0) : 0.0);
    int paired = r->n_ctx == ref->n_ctx && r->n == ref->n && r->rows == ref->rows &&
                 r->block_len == ref->block_len && memcmp(r->ids, ref->ids, r->n * sizeof *r->ids) == 0;
    printf("paired_rows %zu\n", paired ? r->rows : (size_t)0);
    if (!paired || r->rows < 2 || !(ref->nats > 0.0)) return;
    /* standard error of the summed per-row differences, relative to the reference's total */
    double mean = (r->nats - ref->nats) / (double)r->rows, ss = 0.0;
    for (size_t i = 0; i < r->rows; i++) {
        double d = r->row_nats[i] - ref->row_nats[i] - mean;
        ss += d * d;
    }
    double se = sqrt(ss / (double)(r->rows - 1)) * sqrt((double)r->rows) / ref->nats;
    printf("change_se %.4f%%\n", 100.0 * se);
}

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
    bd3_model *m = NULL, *rm = NULL;
    bd3_ctx *c = NULL, *rctx = NULL;
    ppl_result r = {0}, ref = {0};
    rc = cli_load(o, &m, &c);
    if (rc != CLI_EXIT_OK) goto done;
    uint64_t seed = o->sp.seed;
    rc = ppl_eval(o, o->args[0], m, c, text, len, o->block_len, seed, &r);
    if (rc != CLI_EXIT_OK) goto done;
    if (o->ref) {
        cli_opts ro = *o; /* the same options with the reference as the model */
        ro.model = o->ref;
        rc = cli_load(&ro, &rm, &rctx);
        if (rc != CLI_EXIT_OK) goto done;
        /* the mode the first model was evaluated in, whatever the reference prefers */
        rc = ppl_eval(&ro, o->args[0], rm, rctx, text, len, r.block_len, seed, &ref);
        if (rc != CLI_EXIT_OK) goto done;
    }
    if (r.block_len == BD3_GLOBAL)
        printf("mode global\n");
    else
        printf("mode block:%d\n", r.block_len);
    printf("rows %zu\n", r.rows);
    printf("tokens %zu\n", r.n_eval);
    printf("counted %zu\n", r.counted);
    printf("bytes %zu\n", r.bytes);
    printf("nats %.6f\n", r.nats);
    ppl_print("", &r);
    if (o->ref) ppl_print_ref(&r, &ref);
done:
    ppl_result_free(&r);
    ppl_result_free(&ref);
    free(text);
    bd3_ctx_free(rctx);
    bd3_model_free(rm);
    bd3_ctx_free(c);
    bd3_model_free(m);
    return rc;
}
