/* search.c: literal and regular-expression search over a text (see search.h).
 * Depends on text.h, view.h and libc regex. Regular expressions match within one line. */
#include "search.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "view.h"

bool search_init(search *s, const char *pattern, bool regex, char *err, size_t err_size)
{
    memset(s, 0, sizeof *s);
    s->len = strlen(pattern);
    s->pattern = strdup(pattern);
    if (!s->pattern) {
        snprintf(err, err_size, "out of memory");
        return false;
    }
    s->regex = regex;
    bool lower = true;
    for (const char *p = pattern; *p; p++)
        if (isupper((unsigned char)*p)) lower = false;
    s->icase = lower;
    if (regex) {
        int flags = REG_EXTENDED | REG_NEWLINE | (s->icase ? REG_ICASE : 0);
        int rc = regcomp(&s->re, pattern, flags);
        if (rc != 0) {
            regerror(rc, &s->re, err, err_size);
            free(s->pattern);
            s->pattern = NULL;
            return false;
        }
        s->compiled = true;
    }
    return true;
}

void search_release(search *s)
{
    if (s->compiled) regfree(&s->re);
    free(s->pattern);
    memset(s, 0, sizeof *s);
}

static bool search_eq(const search *s, const text *t, size_t pos)
{
    for (size_t i = 0; i < s->len; i++) {
        int b = text_byte_at(t, pos + i);
        if (b < 0) return false;
        int c = (unsigned char)s->pattern[i];
        if (s->icase ? tolower(b) != c : b != c) return false;
    }
    return true;
}

static void search_match_set(search_match *m, size_t start, size_t end)
{
    m->start = start;
    m->end = end;
    for (int i = 0; i < SEARCH_MAX_GROUPS; i++) m->group_start[i] = m->group_end[i] = TEXT_POS_NONE;
    m->group_start[0] = start;
    m->group_end[0] = end;
}

/* Literal search in [lo, hi): first (or last when backward) match start. */
static bool search_literal(const search *s, const text *t, size_t lo, size_t hi, bool backward,
                           search_match *m)
{
    if (s->len == 0 || hi < lo || hi - lo < s->len) return false;
    size_t last = hi - s->len;
    int first = (unsigned char)s->pattern[0];
    if (!backward) {
        for (size_t p = lo; p <= last;) {
            size_t n;
            const char *c = text_chunk(t, p, &n);
            if (n > last - p + 1) n = last - p + 1;
            const char *hit = NULL;
            if (!s->icase || !isalpha(first))
                hit = memchr(c, first, n);
            else {
                for (size_t i = 0; i < n; i++)
                    if (tolower((unsigned char)c[i]) == first) {
                        hit = c + i;
                        break;
                    }
            }
            if (!hit) {
                p += n;
                continue;
            }
            size_t q = p + (size_t)(hit - c);
            if (search_eq(s, t, q)) {
                search_match_set(m, q, q + s->len);
                return true;
            }
            p = q + 1;
        }
        return false;
    }
    for (size_t p = last + 1; p > lo; p--)
        if (search_eq(s, t, p - 1)) {
            search_match_set(m, p - 1, p - 1 + s->len);
            return true;
        }
    return false;
}

/* Regular-expression matches in the line [ls, le): the first one starting at or after from
 * (forward), or the last one starting before from (backward). */
static bool search_regex_line(search *s, const text *t, size_t ls, size_t le, size_t from, bool backward,
                              search_match *m)
{
    size_t n = le - ls;
    char *buf = malloc(n + 1);
    if (!buf) return false;
    text_read(t, ls, n, buf);
    buf[n] = 0;
    bool found = false;
    size_t off = backward ? 0 : (from > ls ? from - ls : 0);
    while (off <= n) {
        regmatch_t rm[SEARCH_MAX_GROUPS];
        rm[0].rm_so = (regoff_t)off;
        rm[0].rm_eo = (regoff_t)n;
        if (regexec(&s->re, buf, SEARCH_MAX_GROUPS, rm, REG_STARTEND | (off > 0 ? REG_NOTBOL : 0)) != 0)
            break;
        size_t ms = ls + (size_t)rm[0].rm_so, me = ls + (size_t)rm[0].rm_eo;
        if (backward && ms >= from) break;
        if (me > ms) {
            search_match_set(m, ms, me);
            for (int g = 1; g < SEARCH_MAX_GROUPS; g++)
                if (rm[g].rm_so >= 0) {
                    m->group_start[g] = ls + (size_t)rm[g].rm_so;
                    m->group_end[g] = ls + (size_t)rm[g].rm_eo;
                }
            found = true;
            if (!backward) break;
        }
        off = (size_t)rm[0].rm_so + 1;
    }
    free(buf);
    return found;
}

static bool search_regex(search *s, const text *t, size_t lo, size_t hi, bool backward, search_match *m)
{
    if (!backward) {
        size_t ls = view_line_start(t, lo);
        while (ls <= hi) {
            size_t le = view_line_end(t, ls);
            if (search_regex_line(s, t, ls, le, lo, false, m) && m->start < hi) return true;
            size_t next = view_line_start(t, le + 1);
            if (le >= text_size(t) || next <= ls) break;
            ls = next;
        }
        return false;
    }
    size_t ls = view_line_start(t, hi);
    for (;;) {
        size_t le = view_line_end(t, ls);
        if (search_regex_line(s, t, ls, le, hi, true, m) && m->start >= lo) return true;
        if (ls == 0 || ls <= lo) return false;
        ls = view_line_start(t, ls - 1);
    }
}

static bool search_range(search *s, const text *t, size_t lo, size_t hi, bool backward, search_match *m)
{
    return s->regex ? search_regex(s, t, lo, hi, backward, m) : search_literal(s, t, lo, hi, backward, m);
}

bool search_in(search *s, const text *t, size_t lo, size_t hi, search_match *m)
{
    size_t size = text_size(t);
    if (hi > size) hi = size;
    if (lo >= hi) return false;
    if (s->regex) return search_regex(s, t, lo, hi, false, m) && m->start < hi;
    size_t end = hi + s->len - 1 < size ? hi + s->len - 1 : size;
    return search_literal(s, t, lo, end, false, m);
}

bool search_next(search *s, const text *t, size_t from, bool backward, bool wrap, search_match *m)
{
    size_t size = text_size(t);
    if (from > size) from = size;
    if (!backward) {
        if (search_range(s, t, from, size, false, m)) return true;
        return wrap && search_range(s, t, 0, size, false, m) && m->start < from + 1;
    }
    /* backward: a match starting before from (it may extend past it) */
    if (s->regex) {
        if (search_range(s, t, 0, from, true, m)) return true;
        return wrap && search_range(s, t, 0, size, true, m);
    }
    size_t hi = from + s->len - 1 < size ? from + s->len - 1 : size;
    if (search_range(s, t, 0, hi, true, m)) return true;
    return wrap && search_range(s, t, 0, size, true, m);
}

char *search_expand(const text *t, const search_match *m, const char *repl, size_t *len)
{
    size_t cap = strlen(repl) + 64, n = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    for (const char *p = repl; *p; p++) {
        char lit = *p;  /* the byte to add when not a group */
        int group = -1; /* group to add, or -1 */
        if (*p == '&')
            group = 0;
        else if (*p == '\\' && p[1]) {
            p++;
            if (*p >= '0' && *p <= '9')
                group = *p - '0';
            else
                lit = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
        }
        size_t add = 1, gs = TEXT_POS_NONE;
        if (group >= 0) {
            gs = m->group_start[group];
            add = gs == TEXT_POS_NONE ? 0 : m->group_end[group] - gs;
        }
        if (n + add + 1 > cap) {
            while (n + add + 1 > cap) cap *= 2;
            char *nb = realloc(out, cap);
            if (!nb) {
                free(out);
                return NULL;
            }
            out = nb;
        }
        if (group < 0)
            out[n] = lit;
        else if (add)
            text_read(t, gs, add, out + n);
        n += add;
    }
    out[n] = 0;
    *len = n;
    return out;
}
