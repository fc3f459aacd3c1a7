/* cli.c: helpers shared by the bd3 subcommands (messages, model loading, files, progress bar).
 * Depends on bd3.h, cli.h and libc/POSIX only. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

void cli_error(const cli_opts *o, const char *fmt, ...)
{
    /* messages may quote a file (a model's metadata, a path): on a terminal its control bytes
     * are shown, not obeyed */
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    fprintf(stderr, "bd3 %s: ", o && o->cmd ? o->cmd : "");
    if (isatty(STDERR_FILENO))
        cli_put_text(stderr, msg, len);
    else
        fwrite(msg, 1, len, stderr);
    fputc('\n', stderr);
}

int cli_load(cli_opts *o, bd3_model **m, bd3_ctx **c)
{
    char path[4096];
    const char *file = o->model;
    *m = NULL;
    if (c) *c = NULL;
    if (!file) {
        bd3_status st = bd3_default_model_path(path, sizeof path);
        if (st != BD3_OK) {
            cli_error(o,
                      "no model given (-m FILE) and no default model found (set BD3_MODEL, "
                      "or install %s)",
                      st == BD3_E_IO ? path : "default.gguf");
            return CLI_EXIT_FAIL;
        }
        file = path;
    }
    char err[512] = "";
    bd3_status st = bd3_model_load_compute(file, o->compute, m, err, sizeof err);
    if (st != BD3_OK) {
        cli_error(o, "%s", err[0] ? err : bd3_status_str(st));
        return CLI_EXIT_FAIL;
    }
    /* the sampler: what the command line gave, the model's (or built-in) defaults for the rest */
    bd3_defaults d;
    bd3_model_defaults(*m, &d);
    bd3_sampler_params given = o->sp;
    o->sp = d.sampler;
    if (o->sp_given & CLI_SP_KIND) o->sp.kind = given.kind;
    if (o->sp_given & CLI_SP_STEPS) o->sp.steps = given.steps;
    if (o->sp_given & CLI_SP_THRESHOLD) o->sp.threshold = given.threshold;
    if (o->sp_given & CLI_SP_TEMPERATURE) o->sp.temperature = given.temperature;
    if (o->sp_given & CLI_SP_TOP_P) o->sp.top_p = given.top_p;
    if (o->sp_given & CLI_SP_TOP_K) o->sp.top_k = given.top_k;
    if (o->sp_given & CLI_SP_SEED) o->sp.seed = given.seed;
    if (o->sp_given & CLI_SP_REFRESH) o->sp.refresh = given.refresh;
    if (!(o->fraction > 0)) o->fraction = d.revise_fraction;
    if (c) {
        st = bd3_ctx_new(*m, o->threads, c);
        if (st != BD3_OK) {
            cli_error(o, "cannot set up the model context: %s", bd3_status_str(st));
            bd3_model_free(*m);
            *m = NULL;
            return CLI_EXIT_FAIL;
        }
    }
    return CLI_EXIT_OK;
}

void cli_seed(cli_opts *o)
{
    if (o->sp.seed == 0) {
        o->sp.seed = bd3_rng_fresh_seed();
        o->seed_fresh = 1;
    }
}

int cli_read_file(const cli_opts *o, const char *path, char **data, size_t *len)
{
    int is_stdin = !path || strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        cli_error(o, "cannot open %s: %s", path, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap); /* [cap] bytes read so far, n used */
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    if (!is_stdin) fclose(f);
    if (!buf || bad) {
        cli_error(o, "cannot read %s: %s", is_stdin ? "standard input" : path,
                  buf ? "read error" : "out of memory");
        free(buf);
        return CLI_EXIT_FAIL;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return CLI_EXIT_OK;
}

int cli_parse_mode(const char *s, int *block_len)
{
    if (strcmp(s, "global") == 0) {
        *block_len = BD3_GLOBAL;
        return 0;
    }
    if (strncmp(s, "block:", 6) == 0) {
        char *end;
        errno = 0;
        long b = strtol(s + 6, &end, 10);
        if (errno || end == s + 6 || *end || b <= 0 || b > 1 << 20) return -1;
        *block_len = (int)b;
        return 0;
    }
    return -1;
}

/* Length of the valid UTF-8 sequence at s (at most len bytes), or 0 when invalid. */
static size_t cli_utf8_len(const unsigned char *s, size_t len)
{
    if (s[0] < 0x80) return 1;
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (n == 0 || n > len) return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (n == 3 && s[0] == 0xe0 && s[1] < 0xa0) return 0;
    if (n == 3 && s[0] == 0xed && s[1] >= 0xa0) return 0;
    if (n == 4 && s[0] == 0xf0 && s[1] < 0x90) return 0;
    if (n == 4 && s[0] == 0xf4 && s[1] >= 0x90) return 0;
    return n;
}

void cli_put_escaped(FILE *f, const char *s, size_t len, int json)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char ch = u[i];
        if (ch == '\\' || (json && ch == '"')) {
            fputc('\\', f);
            fputc(ch, f);
            i++;
        } else if (ch == '\n') {
            fputs("\\n", f);
            i++;
        } else if (ch == '\t') {
            fputs("\\t", f);
            i++;
        } else if (ch == '\r') {
            fputs("\\r", f);
            i++;
        } else if (ch < 0x20 || ch == 0x7f) {
            fprintf(f, json ? "\\u%04x" : "\\x%02x", ch);
            i++;
        } else {
            size_t n = cli_utf8_len(u + i, len - i);
            if (n == 2 && ch == 0xc2 && u[i + 1] < 0xa0) { /* a C1 control, as C0 above */
                if (json)
                    fprintf(f, "\\u%04x", u[i + 1]);
                else
                    fprintf(f, "\\x%02x\\x%02x", ch, u[i + 1]);
                i += 2;
            } else if (n == 0) {
                /* JSON strings cannot hold raw bytes: show them as U+FFFD-free escapes. */
                fprintf(f, json ? "\\\\x%02x" : "\\x%02x", ch);
                i++;
            } else {
                fwrite(u + i, 1, n, f);
                i += n;
            }
        }
    }
}

void cli_put_text(FILE *f, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char ch = u[i];
        if (ch == '\n' || ch == '\t') {
            fputc(ch, f);
            i++;
        } else if (ch < 0x20 || ch == 0x7f) {
            fprintf(f, "\\x%02x", ch);
            i++;
        } else {
            size_t n = cli_utf8_len(u + i, len - i);
            if (n == 2 && ch == 0xc2 && u[i + 1] < 0xa0) {
                /* a C1 control (U+0080..U+009F, e.g. CSI): a terminal may obey it as ESC + key */
                fprintf(f, "\\x%02x\\x%02x", ch, u[i + 1]);
                i += 2;
            } else if (n == 0) {
                fprintf(f, "\\x%02x", ch);
                i++;
            } else {
                fwrite(u + i, 1, n, f);
                i += n;
            }
        }
    }
}

int cli_utf8_incomplete_tail(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t back = 1; back <= 3 && back <= len; back++) {
        unsigned char ch = u[len - back];
        if ((ch & 0xc0) == 0x80) continue; /* a continuation byte: look further back for the lead */
        size_t need = ch >= 0xf0 && ch <= 0xf4  ? 4
                      : ch >= 0xe0 && ch < 0xf0 ? 3
                      : ch >= 0xc2 && ch < 0xe0 ? 2
                                                : 1;
        return need > back ? (int)back : 0;
    }
    return 0;
}

void cli_out_init(cli_out *w, FILE *f)
{
    w->f = f;
    w->tty = isatty(fileno(f));
    w->n_carry = 0;
    w->last = '\n';
}

void cli_out_write(cli_out *w, const char *s, size_t len)
{
    if (len == 0) return;
    w->last = (unsigned char)s[len - 1];
    if (!w->tty) {
        fwrite(s, 1, len, w->f);
        return;
    }
    /* complete a character left over from the last write first */
    while (w->n_carry > 0 && len > 0) {
        w->carry[w->n_carry++] = *s++;
        len--;
        if (!cli_utf8_incomplete_tail(w->carry, w->n_carry) || w->n_carry == sizeof w->carry) {
            cli_put_text(w->f, w->carry, w->n_carry);
            w->n_carry = 0;
        }
    }
    size_t hold = (size_t)cli_utf8_incomplete_tail(s, len);
    cli_put_text(w->f, s, len - hold);
    memcpy(w->carry, s + len - hold, hold);
    w->n_carry = hold;
}

void cli_out_finish(cli_out *w)
{
    if (w->n_carry > 0) cli_put_text(w->f, w->carry, w->n_carry);
    w->n_carry = 0;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_start(cli_progress *p, const cli_opts *o, const char *label)
{
    p->enabled = !o->quiet && isatty(STDERR_FILENO);
    p->start = cli_now();
    p->last_draw = 0.0;
    p->drawn = 0;
    p->label = label;
    p->hold = 0;
}

void cli_progress_show(cli_progress *p, double done, double total, const char *what)
{
    if (!p || !p->enabled || p->hold) return;
    double now = cli_now();
    if (now - p->start < 1.0 || now - p->last_draw < 0.1) return;
    p->last_draw = now;
    double frac = total > 0 ? done / total : 0.0;
    if (frac < 0) frac = 0;
    if (frac > 1) frac = 1;
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int fill = (int)(frac * WIDTH + 0.5);
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '-';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r%s [%s] %3d%% %s %.1fs\033[K", p->label, bar, (int)(frac * 100 + 0.5),
            what ? what : "", now - p->start);
    fflush(stderr);
    p->drawn = 1;
}

int cli_progress_step(void *user, const bd3_progress *pr)
{
    cli_progress *p = user;
    char what[64];
    snprintf(what, sizeof what, "%d/%d tokens, %d calls", pr->n_done, pr->n_target, pr->n_calls);
    cli_progress_show(p, pr->n_done, pr->n_target, what);
    return 0;
}

int cli_stream_write(cli_out *w, cli_progress *p, const char *s, size_t len)
{
    if (w->tty) cli_progress_end(p);
    cli_out_write(w, s, len);
    int bad = ferror(w->f) || fflush(w->f) != 0;
    p->hold = w->tty && w->last != '\n';
    return bad ? -1 : 0;
}

void cli_progress_end(cli_progress *p)
{
    if (p && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = 0;
    }
}

/* Parses a decimal number of at least one digit at *s, advancing *s. -1 when there is none. */
static long cli_span_number(const char **s)
{
    const char *p = *s;
    long v = 0;
    if (*p < '0' || *p > '9') return -1;
    while (*p >= '0' && *p <= '9') {
        if (v > (LONG_MAX - 9) / 10) return -1;
        v = v * 10 + (*p++ - '0');
    }
    *s = p;
    return v;
}

/* Byte offset of line:col (both from 1, col in bytes, at most the line's length + 1) of
 * text[0..len), or -1 when the text has no such position. */
static long cli_line_col(const char *text, size_t len, long line, long col)
{
    if (line < 1 || col < 1) return -1;
    size_t at = 0;
    for (long l = 1; l < line; l++) {
        const char *nl = memchr(text + at, '\n', len - at);
        if (!nl) return -1;
        at = (size_t)(nl - text) + 1;
    }
    const char *nl = memchr(text + at, '\n', len - at);
    size_t line_len = (nl ? (size_t)(nl - text) : len) - at;
    if ((size_t)col > line_len + 1) return -1;
    return (long)(at + (size_t)col - 1);
}

int cli_span(const cli_opts *o, const char *name, const char *text, size_t len, size_t *a, size_t *b)
{
    if (o->find) {
        size_t k = strlen(o->find);
        const char *hit = memmem(text, len, o->find, k);
        if (!hit) {
            cli_error(o, "--find: the text does not occur in %s", name);
            return CLI_EXIT_USAGE;
        }
        *a = (size_t)(hit - text);
        *b = *a + k;
        size_t count = 1;
        for (const char *p = hit + 1; (p = memmem(p, len - (size_t)(p - text), o->find, k)); p++) count++;
        if (count > 1 && !o->quiet)
            fprintf(stderr, "bd3 %s: --find: %zu occurrences, the first is used\n", o->cmd, count);
        return CLI_EXIT_OK;
    }
    const char *p = o->range;
    long v[4];
    int lc = strchr(p, '-') != NULL; /* L1:C1-L2:C2 */
    int ok = (v[0] = cli_span_number(&p)) >= 0 && *p++ == ':' && (v[1] = cli_span_number(&p)) >= 0;
    if (ok && lc)
        ok = *p++ == '-' && (v[2] = cli_span_number(&p)) >= 0 && *p++ == ':' &&
             (v[3] = cli_span_number(&p)) >= 0;
    if (!ok || *p) {
        cli_error(o, "--range: expected START:END byte offsets or L1:C1-L2:C2, got '%s'", o->range);
        return CLI_EXIT_USAGE;
    }
    long lo, hi;
    if (lc) {
        lo = cli_line_col(text, len, v[0], v[1]);
        hi = cli_line_col(text, len, v[2], v[3]);
        if (lo < 0 || hi < 0) {
            cli_error(o, "--range %s: %s has no such line and column", o->range, name);
            return CLI_EXIT_USAGE;
        }
    } else {
        lo = v[0];
        hi = v[1];
        if ((size_t)hi > len) {
            cli_error(o, "--range %s is outside %s (%zu bytes)", o->range, name, len);
            return CLI_EXIT_USAGE;
        }
    }
    if (hi < lo) {
        cli_error(o, "--range %s: the end comes before the start", o->range);
        return CLI_EXIT_USAGE;
    }
    *a = (size_t)lo;
    *b = (size_t)hi;
    return CLI_EXIT_OK;
}

int cli_span_tokens(const bd3_model *m, const int32_t *ids, size_t n, size_t len, size_t *a, size_t *b,
                    size_t *i0, size_t *i1)
{
    size_t off = 0, lo = n, hi = n, s = len, e = len;
    for (size_t i = 0; i < n; i++) {
        size_t tl = 0;
        if (!bd3_token_bytes(m, ids[i], &tl)) tl = 0;
        if (lo == n && off + tl > *a) { /* the token that holds byte a */
            lo = i;
            s = off;
        }
        if (hi == n && off >= *b) { /* the first token at or after b */
            hi = i;
            e = off;
        }
        off += tl;
    }
    if (off != len) return -1;
    if (*a == *b) { /* an insertion point inside a token moves to that token's start */
        hi = lo;
        e = s;
    }
    *a = s;
    *b = e;
    *i0 = lo;
    *i1 = hi;
    return 0;
}

int cli_doc_open(cli_opts *o, cli_doc *d)
{
    memset(d, 0, sizeof *d);
    int rc = cli_read_file(o, o->args[0], &d->text, &d->len);
    if (rc != CLI_EXIT_OK) return rc;
    d->b = d->len;
    if ((o->range || o->find) && (rc = cli_span(o, o->args[0], d->text, d->len, &d->a, &d->b)) != CLI_EXIT_OK)
        goto fail;
    d->a0 = d->a;
    d->b0 = d->b;
    if ((rc = cli_load(o, &d->m, &d->c)) != CLI_EXIT_OK) goto fail;
    cli_seed(o);
    bd3_status st = bd3_tokenize(d->m, d->text, d->len, &d->ids, &d->n);
    if (st != BD3_OK) {
        cli_error(o, "cannot tokenize %s: %s", o->args[0], bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto fail;
    }
    if (cli_span_tokens(d->m, d->ids, d->n, d->len, &d->a, &d->b, &d->i0, &d->i1) != 0) {
        cli_error(o, "the tokens of %s do not spell its bytes", o->args[0]);
        rc = CLI_EXIT_FAIL;
        goto fail;
    }
    return CLI_EXIT_OK;
fail:
    cli_doc_close(d);
    return rc;
}

void cli_doc_close(cli_doc *d)
{
    free(d->ids);
    free(d->text);
    bd3_ctx_free(d->c);
    bd3_model_free(d->m);
    memset(d, 0, sizeof *d);
}
