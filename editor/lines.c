/* lines.c: the file reader, line splitter, name check and messages shared by the keymap, theme
 * and config parsers. Depends on libc/POSIX only. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lines.h"

void lines_init(lines_reader *r, const char *text, size_t len, const char *source)
{
    *r = (lines_reader){text, len, 0, 0, source};
}

void lines_verror(char *err, size_t err_size, const char *source, int line, const char *fmt, va_list ap)
{
    if (!err || !err_size) return;
    int n = snprintf(err, err_size, "%s:%d: ", source, line);
    if (n >= 0 && (size_t)n < err_size) vsnprintf(err + n, err_size - (size_t)n, fmt, ap);
}

/* lines_verror with the arguments in place. */
static void lines_error(char *err, size_t err_size, const char *source, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lines_verror(err, err_size, source, line, fmt, ap);
    va_end(ap);
}

bool lines_valid_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max || s[0] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.'))
            return false;
    }
    return true;
}

lines_status lines_next(lines_reader *r, char *buf, size_t max_line, char *err, size_t err_size)
{
    if (r->pos >= r->len) return LINES_END;
    r->line++;
    const char *start = r->text + r->pos;
    const char *nl = memchr(start, '\n', r->len - r->pos);
    size_t n = nl ? (size_t)(nl - start) : r->len - r->pos;
    r->pos = nl ? r->pos + n + 1 : r->len;
    if (n && start[n - 1] == '\r') n--;
    if (n > max_line) {
        lines_error(err, err_size, r->source, r->line, "line longer than %zu bytes", max_line);
        return LINES_E_LINE;
    }
    if (memchr(start, '\0', n)) {
        lines_error(err, err_size, r->source, r->line, "NUL byte in line");
        return LINES_E_LINE;
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    return LINES_OK;
}

bool lines_find(char *const *dirs, int n_dirs, const char *name, const char *ext, const lines_file_id *busy,
                int n_busy, char *path, size_t size)
{
    for (int d = 0; d < n_dirs; d++) {
        int n = snprintf(path, size, "%s/%s.%s", dirs[d], name, ext);
        struct stat st;
        if (n < 0 || (size_t)n >= size || stat(path, &st) != 0) continue;
        bool is_busy = false;
        for (int i = 0; i < n_busy; i++)
            if (busy[i].dev == st.st_dev && busy[i].ino == st.st_ino) is_busy = true;
        if (!is_busy) return true;
    }
    return false;
}

lines_file_id lines_file_id_of(const char *path, const struct stat *st, const char *ext)
{
    lines_file_id id = {.dev = st->st_dev, .ino = st->st_ino};
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t bl = strlen(base), el = strlen(ext);
    if (bl > el + 1 && base[bl - el - 1] == '.' && !strcmp(base + bl - el, ext)) bl -= el + 1;
    snprintf(id.name, sizeof id.name, "%.*s", (int)bl, base);
    return id;
}

bool lines_include_cycle(char *const *dirs, int n_dirs, const char *name, const char *ext,
                         const lines_file_id *busy, int n_busy, char *chain, size_t size)
{
    char path[4096];
    struct stat st;
    if (!size || !lines_find(dirs, n_dirs, name, ext, NULL, 0, path, sizeof path) || stat(path, &st) != 0)
        return false;
    for (int i = 0; i < n_busy; i++) {
        if (busy[i].dev != st.st_dev || busy[i].ino != st.st_ino) continue;
        size_t n = 0;
        chain[0] = 0;
        for (int j = i; j < n_busy && n < size; j++) {
            int w = snprintf(chain + n, size - n, "%s -> ", busy[j].name);
            n += w > 0 ? (size_t)w : 0;
        }
        if (n < size) snprintf(chain + n, size - n, "%s", name);
        return true;
    }
    return false;
}

lines_status lines_read_file(const char *path, size_t max_size, char **text, size_t *len, struct stat *st,
                             int *err_no)
{
    /* a FIFO or device must not block the editor: non-blocking open, regular files only */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        *err_no = errno;
        return LINES_E_OPEN;
    }
    lines_status s = LINES_OK;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))
        s = LINES_E_TYPE;
    else if (st->st_size > (off_t)max_size)
        s = LINES_E_BIG;
    else if (!(*text = malloc((size_t)st->st_size + 1)))
        s = LINES_E_NOMEM;
    if (s != LINES_OK) {
        close(fd);
        return s;
    }
    size_t want = (size_t)st->st_size, got = 0;
    bool bad = false;
    while (got < want) {
        ssize_t r = read(fd, *text + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            bad = true;
            break;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    *len = got;
    close(fd);
    if (bad) {
        free(*text);
        *text = NULL;
        return LINES_E_READ;
    }
    return LINES_OK;
}

void lines_file_error(lines_status s, int err_no, const char *path, size_t max_size, const char *from,
                      int from_line, char *err, size_t err_size)
{
    if (!err || !err_size) return;
    if (s == LINES_E_BIG)
        snprintf(err, err_size, "%s: larger than %zu bytes", path, max_size);
    else if (s == LINES_E_TYPE && from)
        snprintf(err, err_size, "%s:%d: include %s: not a regular file", from, from_line, path);
    else if (s == LINES_E_TYPE)
        snprintf(err, err_size, "%s: not a regular file", path);
    else if (s == LINES_E_READ)
        snprintf(err, err_size, "%s: read error", path);
    else if (from)
        snprintf(err, err_size, "%s:%d: include %s: %s", from, from_line, path, strerror(err_no));
    else
        snprintf(err, err_size, "%s: %s", path, strerror(err_no));
}
