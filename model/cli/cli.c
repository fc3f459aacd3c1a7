/* cli.c: helpers shared by the bd3 subcommands (messages, model loading, files, progress bar).
 * Depends on bd3.h, cli.h and libc/POSIX only. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

void cli_error(const cli_opts *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bd3 %s: ", o && o->cmd ? o->cmd : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_load(cli_opts *o, bd3_model **m, bd3_ctx **c)
{
    char path[4096];
    const char *file = o->model;
    *m = NULL;
    if (c)
        *c = NULL;
    if (!file) {
        bd3_status st = bd3_default_model_path(path, sizeof path);
        if (st != BD3_OK) {
            cli_error(o, "no model given (-m FILE) and no default model found (set BD3_MODEL, "
                         "or install %s)", st == BD3_E_IO ? path : "default.gguf");
            return CLI_EXIT_FAIL;
        }
        file = path;
    }
    char err[512] = "";
    bd3_status st = bd3_model_load(file, m, err, sizeof err);
    if (st != BD3_OK) {
        cli_error(o, "%s", err[0] ? err : bd3_status_str(st));
        return CLI_EXIT_FAIL;
    }
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
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    if (!is_stdin)
        fclose(f);
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
        if (errno || end == s + 6 || *end || b <= 0 || b > 1 << 20)
            return -1;
        *block_len = (int)b;
        return 0;
    }
    return -1;
}

/* Length of the valid UTF-8 sequence at s (at most len bytes), or 0 when invalid. */
static size_t cli_utf8_len(const unsigned char *s, size_t len)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (n == 0 || n > len)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && s[0] == 0xe0 && s[1] < 0xa0)
        return 0;
    if (n == 3 && s[0] == 0xed && s[1] >= 0xa0)
        return 0;
    if (n == 4 && s[0] == 0xf0 && s[1] < 0x90)
        return 0;
    if (n == 4 && s[0] == 0xf4 && s[1] >= 0x90)
        return 0;
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
            if (n == 0) {
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
            if (n == 0) {
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
        if ((ch & 0xc0) == 0x80)
            continue; /* a continuation byte: look further back for the lead */
        size_t need = ch >= 0xf0 && ch <= 0xf4 ? 4 : ch >= 0xe0 && ch < 0xf0 ? 3 : ch >= 0xc2 && ch < 0xe0 ? 2 : 1;
        return need > back;
    }
    return 0;
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
}

void cli_progress_show(cli_progress *p, double done, double total, const char *what)
{
    if (!p || !p->enabled)
        return;
    double now = cli_now();
    if (now - p->start < 1.0 || now - p->last_draw < 0.1)
        return;
    p->last_draw = now;
    double frac = total > 0 ? done / total : 0.0;
    if (frac < 0)
        frac = 0;
    if (frac > 1)
        frac = 1;
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int fill = (int)(frac * WIDTH + 0.5);
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '-';
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

void cli_progress_end(cli_progress *p)
{
    if (p && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = 0;
    }
}
