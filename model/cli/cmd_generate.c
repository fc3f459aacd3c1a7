/* cmd_generate.c: `bd3 generate`: continue a prompt block by block with the KV cache. Depends on
 * bd3.h and cli.h. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

#define GENERATE_DEFAULT_MAX_NEW 128 /* tokens written without -n */

int cmd_generate(cli_opts *o)
{
    if (o->prompt && o->n_args) {
        cli_error(o, "give the prompt either with -p or as a FILE, not both");
        return CLI_EXIT_USAGE;
    }
    char *text = NULL;
    size_t len = 0;
    int rc;
    if (o->n_args) {
        rc = cli_read_file(o, o->args[0], &text, &len);
        if (rc != CLI_EXIT_OK)
            return rc;
    } else {
        const char *p = o->prompt ? o->prompt : "";
        len = strlen(p);
        text = malloc(len + 1); /* [len + 1] the prompt, NUL-terminated */
        if (!text) {
            cli_error(o, "out of memory");
            return CLI_EXIT_FAIL;
        }
        memcpy(text, p, len + 1);
    }
    bd3_model *m;
    bd3_ctx *c;
    rc = cli_load(o, &m, &c);
    if (rc != CLI_EXIT_OK) {
        free(text);
        return rc;
    }
    const bd3_hparams *hp = bd3_model_hparams(m);
    int32_t *ids = NULL, *out = NULL;
    float *conf = NULL;
    char *gen = NULL;
    size_t n = 0;
    bd3_status st = bd3_tokenize(m, text, len, &ids, &n);
    if (st != BD3_OK) {
        cli_error(o, "cannot tokenize the prompt: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (n == 0 && hp->eos_id >= 0) {
        /* An empty prompt starts after end-of-text, as the model saw documents begin. */
        int32_t *one = realloc(ids, sizeof *ids);
        if (!one) {
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        ids = one;
        ids[0] = hp->eos_id;
        n = 1;
    }
    int B = o->block_len > 0 ? o->block_len : bd3_model_default_block(m);
    if (2 * B > hp->n_ctx) {
        cli_error(o, "block length %d too large for n_ctx %d (use --block)", B, hp->n_ctx);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (n > (size_t)1 << 24) {
        cli_error(o, "prompt too long");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    int max_new = o->max_new >= 0 ? o->max_new : GENERATE_DEFAULT_MAX_NEW;
    out = malloc((size_t)(max_new > 0 ? max_new : 1) * sizeof *out);   /* [max_new] new ids */
    conf = malloc((size_t)(max_new > 0 ? max_new : 1) * sizeof *conf); /* [max_new] their confidence */
    if (!out || !conf) {
        cli_error(o, "out of memory");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    int n_out = 0;
    bd3_stop why = BD3_STOP_LIMIT;
    cli_progress prog;
    cli_progress_start(&prog, o, "generate");
    double t0 = cli_now();
    if (o->no_cache)
        st = bd3_continue_nocache(c, &o->sp, B, ids, (int)n, max_new, out, conf, &n_out, &why,
                                  cli_progress_step, &prog);
    else
        st = bd3_continue(c, &o->sp, B, ids, (int)n, max_new, out, conf, &n_out, &why,
                          cli_progress_step, &prog);
    double dt = cli_now() - t0;
    cli_progress_end(&prog);
    if (st != BD3_OK) {
        cli_error(o, "generation failed: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    size_t gen_len = 0;
    st = bd3_detokenize(m, out, (size_t)n_out, &gen, &gen_len);
    if (st != BD3_OK) {
        cli_error(o, "cannot decode the output: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (o->echo)
        fwrite(text, 1, len, stdout);
    fwrite(gen, 1, gen_len, stdout);
    if (fflush(stdout) != 0) {
        cli_error(o, "cannot write the output");
        rc = CLI_EXIT_FAIL;
    }
    if (!o->quiet)
        fprintf(stderr, "\nbd3 generate: %d tokens, stopped on %s, %.1f tokens/s\n", n_out,
                why == BD3_STOP_EOS ? "end-of-text" : why == BD3_STOP_REPEAT ? "repetition" : "limit",
                dt > 0 ? n_out / dt : 0.0);
done:
    free(gen);
    free(out);
    free(conf);
    free(ids);
    free(text);
    bd3_ctx_free(c);
    bd3_model_free(m);
    return rc;
}
