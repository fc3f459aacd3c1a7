/* cmd_logits.c: `bd3 logits`: raw logits (before SUBS) of one model pass over given ids, in
 * global or block-causal mode, or streamed through the KV cache. Depends on bd3.h and cli.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* Parses "1,2,mask,7" into ids (mask = mask_id). Returns the count, -1 on a bad entry. */
static int logits_parse_ids(const cli_opts *o, const char *s, const bd3_hparams *hp, int32_t **out)
{
    size_t cap = 16, n = 0;
    int32_t *ids = malloc(cap * sizeof *ids); /* [cap] parsed ids, n used */
    const char *p = s;
    while (ids) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        long v;
        if (len == 4 && strncmp(p, "mask", 4) == 0) {
            v = hp->mask_id;
        } else {
            char buf[32];
            char *end;
            if (len == 0 || len >= sizeof buf) {
                cli_error(o, "--ids: bad entry '%.*s'", (int)(len < 40 ? len : 40), p);
                free(ids);
                return -1;
            }
            memcpy(buf, p, len);
            buf[len] = '\0';
            errno = 0;
            v = strtol(buf, &end, 10);
            if (errno || *end || v < 0 || v >= hp->n_vocab) {
                cli_error(o, "--ids: '%s' is not a token id (0 to %d, or 'mask')", buf, hp->n_vocab - 1);
                free(ids);
                return -1;
            }
        }
        if (n == cap) {
            int32_t *nb = realloc(ids, 2 * cap * sizeof *ids);
            if (!nb) break;
            ids = nb;
            cap *= 2;
        }
        ids[n++] = (int32_t)v;
        if (!comma) break;
        p = comma + 1;
    }
    if (!ids) {
        cli_error(o, "out of memory");
        return -1;
    }
    if (n > (size_t)1 << 24) {
        cli_error(o, "--ids: too many ids");
        free(ids);
        return -1;
    }
    *out = ids;
    return (int)n;
}

int cmd_logits(cli_opts *o)
{
    if (!o->ids || o->block_len < 0) {
        cli_error(o, "--ids and --mode are required");
        return CLI_EXIT_USAGE;
    }
    if (o->stream && o->block_len == BD3_GLOBAL) {
        cli_error(o, "--stream needs --mode block:B");
        return CLI_EXIT_USAGE;
    }
    bd3_model *m;
    bd3_ctx *c;
    int rc = cli_load(o, &m, &c);
    if (rc != CLI_EXIT_OK) return rc;
    const bd3_hparams *hp = bd3_model_hparams(m);
    int32_t *ids = NULL;
    float *logits = NULL;
    int n = logits_parse_ids(o, o->ids, hp, &ids);
    if (n < 0) {
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (n == 0) {
        cli_error(o, "--ids: no ids");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    const int B = o->block_len;
    if (B != BD3_GLOBAL && (o->stream ? 2 * B > hp->n_ctx : B > hp->n_ctx)) {
        cli_error(o, "--mode block:%d: block length too large for n_ctx %d", B, hp->n_ctx);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (!o->stream && n > hp->n_ctx) {
        cli_error(o, "%d ids exceed the context of %d tokens (use --stream with block:B)", n, hp->n_ctx);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    int first = 0, rows = n; /* rows of ids whose logits are output */
    if (o->stream) {
        int last = n % B ? n % B : B;
        first = n - last;
        rows = last;
    }
    logits = malloc((size_t)rows * (size_t)hp->n_vocab * sizeof *logits); /* [rows, V] */
    if (!logits) {
        cli_error(o, "out of memory for %d x %d logits", rows, hp->n_vocab);
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    bd3_status st = BD3_OK;
    if (o->stream) {
        bd3_cache_clear(c);
        for (int b0 = 0; b0 < first && st == BD3_OK; b0 += B) st = bd3_cache_commit(c, ids + b0, B);
        if (st == BD3_OK) st = bd3_cache_forward(c, ids + first, rows, logits);
    } else {
        st = bd3_forward(c, ids, n, B, logits);
    }
    if (st != BD3_OK) {
        cli_error(o, "model pass failed: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    size_t count = (size_t)rows * (size_t)hp->n_vocab;
    if (o->output) {
        FILE *f = fopen(o->output, "wb");
        if (!f) {
            cli_error(o, "cannot open %s: %s", o->output, strerror(errno));
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        /* Little-endian float32: the byte order of every platform this engine targets. */
        uint16_t probe = 1;
        if (*(uint8_t *)&probe != 1) {
            for (size_t i = 0; i < count; i++) {
                uint32_t u;
                memcpy(&u, &logits[i], 4);
                u = __builtin_bswap32(u);
                memcpy(&logits[i], &u, 4);
            }
        }
        size_t w = fwrite(logits, sizeof *logits, count, f);
        if (fclose(f) != 0 || w != count) {
            cli_error(o, "cannot write %s", o->output);
            rc = CLI_EXIT_FAIL;
        }
    } else {
        for (int r = 0; r < rows; r++) {
            const float *row = logits + (size_t)r * hp->n_vocab;
            for (int v = 0; v < hp->n_vocab; v++) printf(v + 1 < hp->n_vocab ? "%.9g " : "%.9g\n", row[v]);
        }
    }
done:
    free(ids);
    free(logits);
    bd3_ctx_free(c);
    bd3_model_free(m);
    return rc;
}
