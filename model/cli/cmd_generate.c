/* cmd_generate.c: `bd3 generate`: continue a prompt block by block with the KV cache, printing
 * each block as it is finished. Depends on bd3.h and cli.h. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

#define GENERATE_DEFAULT_MAX_NEW 128 /* tokens written without -n */
#define GENERATE_MAX_PERIOD      64  /* longest period of bd3_continue's repetition rule */

/* Prints finished blocks while bd3_continue runs. The tokens of a finished block are known, but
 * the repetition rule may still drop the repeating tail of the output, so the tokens that could
 * belong to such a tail are held back until the end. */
typedef struct gen_stream {
    cli_progress *prog; /* progress bar, updated on every call */
    const bd3_model *m; /* for decoding */
    int32_t eos_id;     /* end-of-text id, -1 none */
    int n_prompt;       /* prompt tokens */
    int max_new;        /* token limit */
    int32_t *toks;      /* [max_new] tokens written so far, as bd3_continue writes them */
    int n_toks;         /* entries of toks */
    int n_printed;      /* leading entries of toks already printed */
    int ended;          /* end-of-text seen: nothing more is written */
    int failed;         /* a write or decode failed: stop printing */
    cli_out *out;       /* standard output (control bytes shown on a terminal) */
} gen_stream;

/* Trailing tokens of toks[0..n) that the repetition rule could drop now or later: for every
 * period L, the trailing run with toks[i] == toks[i - L] (a later drop for L removes at most that
 * run and what follows it). */
static int gen_hold_back(const int32_t *toks, int n)
{
    int hold = 0;
    for (int L = 1; L <= GENERATE_MAX_PERIOD && L < n; L++) {
        int run = 0;
        while (run < n - L && toks[n - 1 - run] == toks[n - 1 - run - L]) run++;
        if (run > hold) hold = run;
    }
    return hold;
}

static void gen_write(gen_stream *g, const char *s, size_t len)
{
    if (cli_stream_write(g->out, g->prog, s, len) != 0) g->failed = 1;
}

/* Prints toks[n_printed..upto). */
static void gen_print(gen_stream *g, int upto)
{
    if (upto <= g->n_printed || g->failed) return;
    char *text = NULL;
    size_t len = 0;
    if (bd3_detokenize(g->m, g->toks + g->n_printed, (size_t)(upto - g->n_printed), &text, &len) != BD3_OK) {
        g->failed = 1;
        return;
    }
    if (len > 0) gen_write(g, text, len);
    free(text);
    g->n_printed = upto;
}

static int gen_step(void *user, const bd3_progress *p)
{
    gen_stream *g = user;
    if (p->n_canvas > 0 && p->n_masked == 0 && !g->ended) {
        /* a finished block: its tokens after the prompt, up to end-of-text or the limit */
        int i = g->n_prompt > p->canvas_offset ? g->n_prompt - p->canvas_offset : 0;
        for (; i < p->n_canvas && g->n_toks < g->max_new; i++) {
            if (p->ids[i] == g->eos_id) {
                g->ended = 1;
                break;
            }
            g->toks[g->n_toks++] = p->ids[i];
        }
        gen_print(g, g->n_toks - gen_hold_back(g->toks, g->n_toks));
    }
    return cli_progress_step(g->prog, p);
}

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
        if (rc != CLI_EXIT_OK) return rc;
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
    cli_seed(o);
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
    gen_stream g = {.m = m, .eos_id = hp->eos_id, .n_prompt = (int)n, .max_new = max_new};
    int32_t *toks = malloc((size_t)(max_new > 0 ? max_new : 1) * sizeof *toks); /* [max_new] streamed */
    if (!toks) {
        cli_error(o, "out of memory");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    g.toks = toks;
    cli_out w;
    cli_out_init(&w, stdout);
    g.out = &w;
    cli_progress prog;
    cli_progress_start(&prog, o, "generate");
    g.prog = &prog;
    if (o->echo) gen_write(&g, text, len);
    double t0 = cli_now();
    if (o->no_cache)
        st = bd3_continue_nocache(c, &o->sp, B, ids, (int)n, max_new, out, conf, &n_out, &why, gen_step, &g);
    else
        st = bd3_continue(c, &o->sp, B, ids, (int)n, max_new, out, conf, &n_out, &why, gen_step, &g);
    double dt = cli_now() - t0;
    cli_progress_end(&prog);
    free(toks);
    if (st != BD3_OK) {
        cli_error(o, "generation failed: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    /* the rest: what was held back, from the final output (which starts with what was printed) */
    size_t gen_len = 0;
    int from = g.n_printed < n_out ? g.n_printed : n_out;
    st = bd3_detokenize(m, out + from, (size_t)(n_out - from), &gen, &gen_len);
    if (st != BD3_OK) {
        cli_error(o, "cannot decode the output: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (gen_len > 0) gen_write(&g, gen, gen_len);
    cli_out_finish(&w);
    /* on a terminal, end the line so the shell prompt does not join the text; a pipe or file
     * gets exactly the generated bytes */
    if (w.tty && (n_out > 0 || o->echo)) fputc('\n', stdout);
    if (g.failed || ferror(stdout) || fflush(stdout) != 0) {
        cli_error(o, "cannot write the output");
        rc = CLI_EXIT_FAIL;
    }
    if (!o->quiet)
        fprintf(stderr, "%sbd3 generate: %d tokens, stopped on %s, %.1f tokens/s, seed %llu\n",
                w.tty ? "" : "\n", n_out,
                why == BD3_STOP_EOS      ? "end-of-text"
                : why == BD3_STOP_REPEAT ? "repetition"
                                         : "limit",
                dt > 0 ? n_out / dt : 0.0, (unsigned long long)o->sp.seed);
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
