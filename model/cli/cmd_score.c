/* cmd_score.c: `bd3 score`: per-token confidence of existing text (strided global passes, or with
 * --ar exact left-to-right log-probabilities of a block-length-1 model), as plain lines, TSV, JSON
 * or ANSI-coloured text. Depends on bd3.h and cli.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

enum { SCORE_PLAIN, SCORE_TSV, SCORE_JSON, SCORE_ANSI };

/* ANSI colour of a confidence: the buckets of the editor's default theme. */
static const char *score_colour(float p)
{
    if (p >= 0.5f) return "\033[32m";  /* green: the model expected it */
    if (p >= 0.1f) return "\033[33m";  /* yellow */
    if (p >= 0.01f) return "\033[31m"; /* red */
    return "\033[35m";                 /* magenta: surprising */
}

/* --ar: *logp [n] = log p(ids[i] | text before it) and *conf [n] = exp of it, the text read as a
 * document's start (after end-of-text when the vocabulary has it); the totals go to stderr. */
static int score_ar(cli_opts *o, const bd3_model *m, bd3_ctx *c, const int32_t *ids, size_t n, double **logp,
                    float **conf)
{
    const bd3_hparams *hp = bd3_model_hparams(m);
    int has_one = 0;
    for (int i = 0; i < hp->n_block_lengths; i++) has_one |= hp->block_lengths[i] == 1;
    if (!has_one) {
        cli_error(o, "--ar needs a model trained for block length 1 (this one: bd3 info shows "
                     "its block_lengths)");
        return CLI_EXIT_FAIL;
    }
    int lead = hp->eos_id >= 0; /* an end-of-text token before the text */
    if (n + (size_t)lead > (size_t)1 << 30) {
        cli_error(o, "text too long");
        return CLI_EXIT_FAIL;
    }
    int32_t *seq = malloc((n + (size_t)lead + 1) * sizeof *seq); /* [lead + n] scored ids */
    double *lp = malloc((n + (size_t)lead + 1) * sizeof *lp);    /* [lead + n] their log p */
    *conf = calloc(n + 1, sizeof **conf);
    if (!seq || !lp || !*conf) {
        free(seq);
        free(lp);
        cli_error(o, "out of memory");
        return CLI_EXIT_FAIL;
    }
    if (lead) seq[0] = hp->eos_id;
    memcpy(seq + lead, ids, n * sizeof *seq);
    cli_progress prog;
    cli_progress_start(&prog, o, "score");
    bd3_status st = bd3_score_ar(c, seq, (int)(n + (size_t)lead), lp, cli_progress_step, &prog);
    cli_progress_end(&prog);
    free(seq);
    if (st != BD3_OK) {
        free(lp);
        cli_error(o, "scoring failed: %s", bd3_status_str(st));
        return CLI_EXIT_FAIL;
    }
    memmove(lp, lp + lead, n * sizeof *lp);
    double sum = 0.0;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        (*conf)[i] = (float)exp(lp[i]);
        sum += lp[i];
        size_t tl = 0;
        if (bd3_token_bytes(m, ids[i], &tl)) bytes += tl;
    }
    *logp = lp;
    if (!o->quiet && n > 0)
        fprintf(stderr, "bd3 score: %zu tokens, log p %.4f nats, perplexity %.4f, %.4f bits per byte\n", n,
                sum, exp(-sum / (double)n), bytes ? -sum / log(2.0) / (double)bytes : 0.0);
    return CLI_EXIT_OK;
}

int cmd_score(cli_opts *o)
{
    int fmt = isatty(STDOUT_FILENO) ? SCORE_ANSI : SCORE_PLAIN;
    if (o->ar && o->stride) {
        cli_error(o, "--ar scores every token from its prefix; --stride does not apply");
        return CLI_EXIT_USAGE;
    }
    if (o->format) {
        static const char *const names[] = {"plain", "tsv", "json", "ansi"};
        fmt = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(o->format, names[i]) == 0) fmt = i;
        if (fmt < 0) {
            cli_error(o, "--format: expected plain, tsv, json or ansi, got '%s'", o->format);
            return CLI_EXIT_USAGE;
        }
    }
    char *text;
    size_t len;
    int rc = cli_read_file(o, o->n_args ? o->args[0] : NULL, &text, &len);
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
    float *conf = NULL, *wconf = NULL;
    double *logp = NULL;
    size_t n = 0;
    bd3_status st = bd3_tokenize(m, text, len, &ids, &n);
    if (st != BD3_OK) {
        cli_error(o, "cannot tokenize: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    if (o->ar) {
        rc = score_ar(o, m, c, ids, n, &logp, &conf);
        if (rc != CLI_EXIT_OK) goto done;
        goto print;
    }
    conf = calloc(n ? n : 1, sizeof *conf);           /* [n] confidence per token */
    wconf = calloc((size_t)hp->n_ctx, sizeof *wconf); /* [n_ctx] of one window */
    if (!conf || !wconf) {
        cli_error(o, "out of memory");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    /* Windows of n_ctx every n_ctx/2 tokens; a token takes its score from the last window in
     * which it lies at least a quarter window from the left edge (or the first window). */
    const size_t W = (size_t)hp->n_ctx;
    cli_progress prog;
    cli_progress_start(&prog, o, "score");
    for (size_t s0 = 0; n > 0;) {
        size_t wn = n - s0 < W ? n - s0 : W;
        st = bd3_score(c, ids + s0, (int)wn, o->stride, wconf, NULL, NULL);
        if (st != BD3_OK) {
            cli_progress_end(&prog);
            cli_error(o, "scoring failed: %s", bd3_status_str(st));
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        size_t from = s0 == 0 ? 0 : W / 4;
        for (size_t i = from; i < wn; i++) conf[s0 + i] = wconf[i];
        cli_progress_show(&prog, (double)(s0 + wn), (double)n, "tokens");
        if (s0 + wn >= n) break;
        s0 += W / 2;
        if (s0 + W > n) s0 = n - W;
    }
    cli_progress_end(&prog);
print:;
    size_t off = 0;
    /* ANSI: tokens that split a UTF-8 character are coloured as one group (by their lowest
     * confidence), so that no escape sequence lands inside a character. */
    char group[64];          /* bytes of the pending group */
    size_t group_len = 0;    /* bytes in group */
    float group_conf = 1.0f; /* lowest confidence in the group */
    if (fmt == SCORE_TSV)
        printf(logp ? "index\tstart\tend\tid\tconf\tlogp\ttoken\n" : "index\tstart\tend\tid\tconf\ttoken\n");
    if (fmt == SCORE_JSON) printf("{\"n_tokens\": %zu, \"tokens\": [", n);
    for (size_t i = 0; i < n; i++) {
        size_t tl = 0;
        const char *tb = bd3_token_bytes(m, ids[i], &tl);
        if (!tb) tl = 0;
        switch (fmt) {
        case SCORE_PLAIN:
            printf("%.6f\t", conf[i]);
            cli_put_escaped(stdout, tb, tl, 0);
            putchar('\n');
            break;
        case SCORE_TSV:
            printf("%zu\t%zu\t%zu\t%d\t%.6f\t", i, off, off + tl, ids[i], conf[i]);
            if (logp) printf("%.6f\t", logp[i]);
            cli_put_escaped(stdout, tb, tl, 0);
            putchar('\n');
            break;
        case SCORE_JSON:
            printf("%s\n  {\"id\": %d, \"start\": %zu, \"end\": %zu, \"conf\": %.6f, ", i ? "," : "", ids[i],
                   off, off + tl, conf[i]);
            if (logp) printf("\"logp\": %.6f, ", logp[i]);
            printf("\"text\": \"");
            cli_put_escaped(stdout, tb, tl, 1);
            printf("\"}");
            break;
        case SCORE_ANSI:
            if (group_len + tl > sizeof group) {
                fputs(score_colour(group_conf), stdout);
                cli_put_text(stdout, group, group_len);
                fputs("\033[0m", stdout);
                group_len = 0;
                group_conf = 1.0f;
            }
            if (tl > sizeof group) {
                fputs(score_colour(conf[i]), stdout);
                cli_put_text(stdout, tb, tl);
                fputs("\033[0m", stdout);
                break;
            }
            memcpy(group + group_len, tb, tl);
            group_len += tl;
            if (conf[i] < group_conf) group_conf = conf[i];
            if (i + 1 == n || !cli_utf8_incomplete_tail(group, group_len)) {
                fputs(score_colour(group_conf), stdout);
                cli_put_text(stdout, group, group_len);
                fputs("\033[0m", stdout);
                group_len = 0;
                group_conf = 1.0f;
            }
            break;
        }
        off += tl;
    }
    if (fmt == SCORE_JSON && logp) {
        double sum = 0.0;
        for (size_t i = 0; i < n; i++) sum += logp[i];
        printf("\n], \"logp_sum\": %.6f}\n", sum);
    } else if (fmt == SCORE_JSON) {
        printf("\n]}\n");
    }
    if (fmt == SCORE_ANSI)
        printf("\n\033[32m>=0.5\033[0m \033[33m>=0.1\033[0m \033[31m>=0.01\033[0m \033[35m<0.01\033[0m\n");
    if (fflush(stdout) != 0) {
        cli_error(o, "cannot write the output");
        rc = CLI_EXIT_FAIL;
    }
done:
    free(ids);
    free(logp);
    free(conf);
    free(wconf);
    free(text);
    bd3_ctx_free(c);
    bd3_model_free(m);
    return rc;
}
