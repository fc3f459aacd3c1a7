/* editor-find.c: search (incremental literal, regular expression, again forwards and
 * backwards) and replace with confirmation, as clients of the prompt. No curses, no model. */
#include "editor-core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "motion.h"

static void find_changed(editor *ed, const char *input, void *ctx);
static void find_accept(editor *ed, const char *input, void *ctx);
static void find_regex_accept(editor *ed, const char *input, void *ctx);
static void find_cancel(editor *ed, void *ctx);
static void find_key(editor *ed, key_code key, void *ctx);
static void replace_find_accept(editor *ed, const char *input, void *ctx);
static void replace_with_accept(editor *ed, const char *input, void *ctx);
static void replace_with_cancel(editor *ed, void *ctx);
static void replace_confirm_accept(editor *ed, const char *input, void *ctx);

static const editor_prompt_ops find_prompt = {
    .kind = PROMPT_FIND,
    .accept = find_accept,
    .changed = find_changed,
    .cancel = find_cancel,
    .key = find_key,
};
static const editor_prompt_ops find_regex_prompt = {
    .kind = PROMPT_FIND_REGEX,
    .accept = find_regex_accept,
    .cancel = find_cancel,
};
static const editor_prompt_ops replace_find_prompt = {
    .kind = PROMPT_REPLACE_FIND,
    .accept = replace_find_accept,
};
static const editor_prompt_ops replace_with_prompt = {
    .kind = PROMPT_REPLACE_WITH,
    .accept = replace_with_accept,
    .cancel = replace_with_cancel,
};
static const editor_prompt_ops replace_confirm_prompt = {
    .kind = PROMPT_REPLACE_CONFIRM,
    .yes_no = true,
    .on_escape = 'q',
    .accept = replace_confirm_accept,
};

/* Compiles pattern as the current search; false with a message on a bad expression. */
static bool editor_set_search(editor *ed, const char *pattern, bool regex)
{
    search s;
    char err[256];
    if (!search_init(&s, pattern, regex, err, sizeof err)) {
        editor_message(ed, EDITOR_MSG_ERROR, "Bad expression: %s", err);
        return false;
    }
    if (ed->search_valid) search_release(&ed->search);
    ed->search = s;
    ed->search_valid = true;
    ed->search_highlight = true;
    return true;
}

/* Selects the next match from `from`; false (message) when there is none. */
static bool editor_find_from(editor *ed, size_t from, bool backward)
{
    buffer *b = editor_buffer(ed);
    search_match m;
    if (!b || !ed->search_valid || ed->search.len == 0) return false;
    if (!search_next(&ed->search, b->text, from, backward, true, &m)) {
        editor_message(ed, EDITOR_MSG_ERROR, "Not found: %s", ed->search.pattern);
        return false;
    }
    bool wrapped = backward ? m.start >= from : m.start < from;
    if (editor_command_mode(ed) && b->anchor == TEXT_POS_NONE) {
        b->cursor = m.start; /* vi: on the match's first character, no selection */
    } else {
        b->anchor = m.start;
        b->cursor = m.end;
    }
    ed->center_next = true;
    if (wrapped) editor_message(ed, EDITOR_MSG_INFO, "Search wrapped");
    return true;
}

void editor_find_again(editor *ed, bool backward)
{
    buffer *b = editor_buffer(ed);
    if (!b) return;
    if (!ed->search_valid) {
        editor_find_start(ed, false);
        return;
    }
    size_t s, e;
    size_t from = b->cursor;
    if (buffer_selection(b, &s, &e))
        from = backward ? s : e; /* after the match */
    else if (!backward && editor_command_mode(ed) && from < text_size(b->text))
        from = view_next_cluster(b->text, from); /* vi: the cursor is on the last match */
    editor_find_from(ed, from, backward);
}

/* vi * and #: the word at or after the cursor in its line becomes the search, as a whole word
 * (a regular expression: its special characters escaped, GNU \< and \> around an ASCII word),
 * and the cursor goes to its next (backward: previous) match. */
void editor_find_word(editor *ed, bool backward)
{
    buffer *b = editor_buffer(ed);
    size_t s, e;
    if (!b || !motion_keyword_at(b->text, b->cursor, &s, &e)) {
        editor_message(ed, EDITOR_MSG_ERROR, "No word under the cursor");
        return;
    }
    size_t n = e - s;
    if (n > (EDITOR_INPUT_MAX - 8) / 2) n = (EDITOR_INPUT_MAX - 8) / 2;
    char word[EDITOR_INPUT_MAX], pat[EDITOR_INPUT_MAX];
    text_read(b->text, s, n, word);
    bool ascii = (unsigned char)word[0] < 0x80 && (unsigned char)word[n - 1] < 0x80;
    size_t k = 0;
    if (ascii) k += (size_t)snprintf(pat + k, sizeof pat - k, "\\<");
    for (size_t i = 0; i < n; i++) {
        if (strchr(".[]()*+?{}|^$\\", word[i])) pat[k++] = '\\';
        pat[k++] = word[i];
    }
    if (ascii) k += (size_t)snprintf(pat + k, sizeof pat - k, "\\>");
    pat[k] = 0;
    if (!editor_set_search(ed, pat, true)) return;
    /* from the word's start: forward finds the next one, backward the one before */
    editor_find_from(ed, backward ? s : e, backward);
}

/* Incremental search: every change of the input searches again from where it began. */
static void find_changed(editor *ed, const char *input, void *ctx)
{
    (void)ctx;
    buffer *b = editor_buffer(ed);
    if (!b) return;
    b->cursor = ed->origin_cursor;
    b->anchor = ed->origin_anchor;
    b->top = ed->origin_top;
    ed->message[0] = 0;
    if (!input[0]) return;
    if (editor_set_search(ed, input, false)) editor_find_from(ed, ed->origin_cursor, false);
}

static void editor_replace_next(editor *ed);

static void editor_replace_finish(editor *ed)
{
    buffer *b = editor_buffer(ed);
    if (b) text_group_end(b->text);
    editor_message(ed, EDITOR_MSG_INFO, "Replaced %d occurrence%s", ed->replace_count,
                   ed->replace_count == 1 ? "" : "s");
    free(ed->replace_with);
    ed->replace_with = NULL;
    editor_prompt_end(ed);
}

/* Replaces the selected match; the cursor ends after the replacement. */
static bool editor_replace_one(editor *ed, const search_match *m)
{
    buffer *b = editor_buffer(ed);
    size_t len;
    char *r = search_expand(b->text, m, ed->replace_with, &len);
    if (!r) return false;
    buffer_delete(b, m->start, m->end - m->start);
    buffer_insert(b, m->start, r, len, NULL);
    free(r);
    b->cursor = m->start + len;
    b->anchor = TEXT_POS_NONE;
    ed->replace_count++;
    return true;
}

/* Moves to the next match after the cursor and asks; ends when there is none. */
static void editor_replace_next(editor *ed)
{
    buffer *b = editor_buffer(ed);
    search_match m;
    if (!search_next(&ed->search, b->text, b->cursor, false, false, &m)) {
        editor_replace_finish(ed);
        return;
    }
    b->anchor = m.start;
    b->cursor = m.end;
    ed->center_next = true;
    ed->prompt = PROMPT_REPLACE_CONFIRM;
    ed->prompt_ops = &replace_confirm_prompt;
    ed->prompt_ctx = NULL;
    ed->input_len = 0;
    ed->input[0] = 0;
    snprintf(ed->prompt_label, sizeof ed->prompt_label, "Replace this match? (y)es (n)o (a)ll (q)uit ");
}

static void editor_replace_all(editor *ed)
{
    buffer *b = editor_buffer(ed);
    search_match m;
    size_t from = b->anchor != TEXT_POS_NONE && b->anchor < b->cursor ? b->anchor : b->cursor;
    while (search_next(&ed->search, b->text, from, false, false, &m)) {
        if (!editor_replace_one(ed, &m)) break;
        from = b->cursor;
        if (from >= text_size(b->text)) break;
    }
    editor_replace_finish(ed);
}

void editor_find_start(editor *ed, bool regex)
{
    if (regex)
        editor_prompt_open(ed, &find_regex_prompt, NULL, "Find regex: ", "");
    else
        editor_prompt_open(ed, &find_prompt, NULL, "Find: ", "");
}

void editor_replace_start(editor *ed)
{
    editor_prompt_open(ed, &replace_find_prompt, NULL, "Replace regex: ", "");
}

/* ---- prompt answers ---- */

static void find_accept(editor *ed, const char *input, void *ctx)
{
    (void)input;
    (void)ctx;
    editor_prompt_end(ed);
}

static void find_regex_accept(editor *ed, const char *input, void *ctx)
{
    (void)ctx;
    char in[EDITOR_INPUT_MAX];
    snprintf(in, sizeof in, "%s", input);
    editor_prompt_end(ed);
    if (in[0] && editor_set_search(ed, in, true)) editor_find_from(ed, ed->origin_cursor, false);
}

/* A cancelled search puts the cursor back where it began. */
static void find_cancel(editor *ed, void *ctx)
{
    (void)ctx;
    buffer *b = editor_buffer(ed);
    if (!b) return;
    b->cursor = ed->origin_cursor;
    b->anchor = ed->origin_anchor;
    b->top = ed->origin_top;
}

/* find-next / find-prev keys move between matches during an incremental search. */
static void find_key(editor *ed, key_code key, void *ctx)
{
    (void)ctx;
    if (!ed->km) return;
    keymap_state st;
    keymap_state_init(ed->km, &st);
    st.mode = ed->ks.mode;
    const keymap_binding *bd = NULL;
    if (keymap_feed(ed->km, &st, key, &bd) == KEYMAP_MATCH && bd) {
        if (!strcmp(bd->command, "find-next") || !strcmp(bd->command, "find"))
            editor_find_again(ed, false);
        else if (!strcmp(bd->command, "find-prev"))
            editor_find_again(ed, true);
    }
}

static void replace_find_accept(editor *ed, const char *input, void *ctx)
{
    (void)ctx;
    if (!input[0] || !editor_set_search(ed, input, true)) {
        editor_prompt_end(ed);
        return;
    }
    editor_prompt_open(ed, &replace_with_prompt, NULL, "Replace with: ", "");
}

static void replace_with_accept(editor *ed, const char *input, void *ctx)
{
    (void)ctx;
    buffer *b = editor_buffer(ed);
    free(ed->replace_with);
    ed->replace_with = strdup(input);
    ed->replace_count = 0;
    if (!ed->replace_with || !b) {
        editor_prompt_end(ed);
        return;
    }
    text_group_begin(b->text); /* the whole replace is one undo step */
    b->anchor = TEXT_POS_NONE;
    editor_replace_next(ed);
}

static void replace_with_cancel(editor *ed, void *ctx)
{
    (void)ctx;
    buffer *b = editor_buffer(ed);
    if (b) text_group_end(b->text);
}

static void replace_confirm_accept(editor *ed, const char *input, void *ctx)
{
    (void)ctx;
    buffer *b = editor_buffer(ed);
    char c = input[0];
    if (c == 'y') {
        search_match m;
        size_t s, e;
        if (buffer_selection(b, &s, &e) && search_next(&ed->search, b->text, s, false, false, &m) &&
            m.start == s)
            editor_replace_one(ed, &m);
        editor_replace_next(ed);
    } else if (c == 'n') {
        b->anchor = TEXT_POS_NONE;
        editor_replace_next(ed);
    } else if (c == 'a')
        editor_replace_all(ed);
    else if (c == 'q')
        editor_replace_finish(ed);
}
