/* search.h: literal and POSIX extended regular-expression search over a text, forward and
 * backward with wrap-around, and replacement strings with \0..\9 and & references.
 * Depends on text.h, view.h and libc regex only. */
#ifndef BD3ED_SEARCH_H
#define BD3ED_SEARCH_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include "text.h"

#define SEARCH_MAX_GROUPS 10 /* \0..\9 */

typedef struct search_match {
    size_t start;                          /* byte offset of the match */
    size_t end;                            /* byte offset after it */
    size_t group_start[SEARCH_MAX_GROUPS]; /* subexpression offsets; TEXT_POS_NONE if unset */
    size_t group_end[SEARCH_MAX_GROUPS];   /* offsets after them */
} search_match;

typedef struct search {
    bool regex;    /* pattern is a POSIX extended regular expression */
    bool icase;    /* ignore case (regex only, or an all-lower-case literal) */
    char *pattern; /* NUL-terminated pattern */
    size_t len;    /* bytes of pattern */
    regex_t re;    /* compiled expression when regex */
    bool compiled; /* re holds a compiled expression */
} search;

/* Prepares a search; on a bad expression returns false and writes the message into err. */
bool search_init(search *s, const char *pattern, bool regex, char *err, size_t err_size);
void search_release(search *s);

/* First non-empty match starting at or after from (forward) or before from (backward),
 * wrapping around the end of the text when wrap. false when there is none. */
bool search_next(search *s, const text *t, size_t from, bool backward, bool wrap, search_match *m);

/* First non-empty match starting in [lo, hi) (matches may end after hi); false when none. */
bool search_in(search *s, const text *t, size_t lo, size_t hi, search_match *m);

/* Expands a replacement for a match: \0..\9 and & insert groups, \\ a backslash, \n a
 * newline. Returns a malloc'ed string and its length in *len, or NULL when out of memory. */
char *search_expand(const text *t, const search_match *m, const char *repl, size_t *len);

#endif
