/* editor-file.c: opening files, saving (save-as, overwrite after a change on disk), closing
 * buffers and quitting, with their prompts. No curses, no model (told through
 * editor events around saves and closes). */
#include "editor-core.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void quit_accept(editor *ed, const char *in, void *ctx);
static void close_accept(editor *ed, const char *in, void *ctx);
static void overwrite_accept(editor *ed, const char *in, void *ctx);
static void save_as_accept(editor *ed, const char *in, void *ctx);
static void open_accept(editor *ed, const char *in, void *ctx);

static const editor_prompt_ops quit_prompt = {
    .kind = PROMPT_QUIT, .yes_no = true, .on_escape = 'c', .accept = quit_accept,
};
static const editor_prompt_ops close_prompt = {
    .kind = PROMPT_CLOSE, .yes_no = true, .on_escape = 'c', .accept = close_accept,
};
static const editor_prompt_ops overwrite_prompt = {
    .kind = PROMPT_OVERWRITE, .yes_no = true, .on_escape = 'n', .accept = overwrite_accept,
};
static const editor_prompt_ops save_as_prompt = { .kind = PROMPT_SAVE_AS, .accept = save_as_accept };
static const editor_prompt_ops open_prompt = { .kind = PROMPT_OPEN, .accept = open_accept };

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

bool editor_open(editor *ed, const char *path)
{
    for (int i = 0; i < ed->n_bufs; i++)
        if (ed->bufs[i]->path && strcmp(ed->bufs[i]->path, path) == 0) { ed->cur = i; return true; }
    text *t;
    file_info info;
    int err = 0;
    file_status s = file_load(path, &t, &info, &err);
    if (s != FILE_OK) {
        editor_message(ed, EDITOR_MSG_ERROR, "%s: %s", path, s == FILE_E_IO ? strerror(err) : file_status_str(s));
        return false;
    }
    buffer *b = buffer_new(t, path, base_name(path));
    if (!b || !editor_add_buffer(ed, b)) {
        if (b) buffer_free(b); else text_free(t);
        editor_message(ed, EDITOR_MSG_ERROR, "Out of memory");
        return false;
    }
    b->info = info;
    b->new_file = !info.exists;
    if (!info.exists) editor_message(ed, EDITOR_MSG_INFO, "%s: new file", path);
    if (file_recovery_exists(path)) {
        b->recovery_offer = true;
        editor_recovery_offer(ed);
    }
    return true;
}

bool editor_open_text(editor *ed, text *t, const char *name)
{
    buffer *b = buffer_new(t, NULL, name);
    if (!b || !editor_add_buffer(ed, b)) {
        if (b) { b->text = NULL; buffer_free(b); }
        return false;
    }
    text_set_saved(t);
    char rec[PATH_MAX];
    if (file_recovery_unnamed_path(rec, sizeof rec)) b->rec_file = strdup(rec);
    return true;
}


/* Ends the quit flow once every buffer is saved or discarded. */
static void editor_quit_now(editor *ed)
{
    editor_recovery_wait(ed);
    for (int i = 0; i < ed->n_bufs; i++)
        buffer_rec_remove(ed->bufs[i]);
    ed->quit = true;
}

static int editor_n_modified(editor *ed)
{
    int n = 0;
    for (int i = 0; i < ed->n_bufs; i++)
        if (!ed->bufs[i]->is_help && text_modified(ed->bufs[i]->text)) n++;
    return n;
}

void editor_request_quit(editor *ed, bool force)
{
    int n = editor_n_modified(ed);
    if (n == 0 || force) { editor_quit_now(ed); return; }
    char label[160];
    snprintf(label, sizeof label, "%d file%s modified. Save before quitting? (y)es (n)o (c)ancel ",
             n, n == 1 ? "" : "s");
    editor_prompt_open(ed, &quit_prompt, NULL, label, "");
}

void editor_close_buffer(editor *ed, int index)
{
    if (index < 0 || index >= ed->n_bufs) return;
    editor_recovery_wait(ed);
    buffer *b = ed->bufs[index];
    buffer_rec_remove(b);
    editor_event_send(ed, EDITOR_EVENT_BUFFER_CLOSE, b); /* drops jobs on its text */
    buffer *back = b->is_help ? b->help_from : NULL;   /* help goes back where it came from */
    buffer_free(b);
    memmove(ed->bufs + index, ed->bufs + index + 1, (size_t)(ed->n_bufs - index - 1) * sizeof *ed->bufs);
    ed->n_bufs--;
    if (ed->cur >= ed->n_bufs) ed->cur = ed->n_bufs - 1;
    if (ed->cur < 0) ed->cur = 0;
    for (int i = 0; back && i < ed->n_bufs; i++)
        if (ed->bufs[i] == back) ed->cur = i;
    if (ed->n_bufs == 0) ed->quit = true;
}

void editor_request_close(editor *ed)
{
    buffer *b = editor_buffer(ed);
    if (!b) return;
    if (b->is_help || !text_modified(b->text)) { editor_close_buffer(ed, ed->cur); return; }
    char label[160];
    snprintf(label, sizeof label, "%.80s is modified. Save before closing? (y)es (n)o (c)ancel ", b->name);
    editor_prompt_open(ed, &close_prompt, NULL, label, "");
}

/* A new file ends with a newline when saved (final-newline): added to the text as the writer's
 * own edit, so what is shown is what is written. */
static void editor_final_newline(editor *ed, buffer *b)
{
    if (!b->new_file || !ed->cfg->final_newline || b->readonly) return;
    editor_event_send(ed, EDITOR_EVENT_EDIT_PRE, b);   /* the writer's text, not a running job's */
    size_t n = text_size(b->text);
    if (n == 0 || text_byte_at(b->text, n - 1) == '\n') return;
    text_snapshot(b->text);
    buffer_insert(b, n, "\n", 1, NULL);
    text_snapshot(b->text);
}

/* Saves the current buffer; true when it was written. Asks when the file changed on disk. */
bool editor_save_current(editor *ed, bool force)
{
    buffer *b = editor_buffer(ed);
    if (!b || b->is_help) return false;
    if (!b->path) {
        editor_prompt_open(ed, &save_as_prompt, NULL, "Save as: ", "");
        return false;
    }
    int err = 0;
    editor_recovery_wait(ed);   /* its file is removed below */
    editor_final_newline(ed, b);
    /* a running model job puts the text it replaces back for the save */
    editor_event_send(ed, EDITOR_EVENT_SAVE_PRE, b);
    file_status s = file_save(b->text, b->path, &b->info, force, &err);
    if (s == FILE_OK) text_set_saved(b->text);
    editor_event_send(ed, EDITOR_EVENT_SAVE_POST, b);
    if (s == FILE_E_CHANGED) {
        char label[160];
        snprintf(label, sizeof label, "%.80s changed on disk since it was opened. Overwrite? (y/n) ",
                 b->name);
        editor_prompt_open(ed, &overwrite_prompt, NULL, label, "");
        return false;
    }
    if (s != FILE_OK) {
        editor_message(ed, EDITOR_MSG_ERROR, "Cannot save %s: %s", b->path,
                       s == FILE_E_IO ? strerror(err) : file_status_str(s));
        return false;
    }
    file_recovery_remove(b->path);
    b->rec_written = false;
    editor_message(ed, EDITOR_MSG_INFO, "Saved %s (%zu bytes)", b->path, text_size(b->text));
    return true;
}

void editor_save_buffer(editor *ed, bool force)
{
    editor_save_current(ed, force);
}

/* Saves every modified buffer for the quit prompt; stops at the first that needs an answer. */
static void editor_save_all_and_quit(editor *ed)
{
    for (int i = 0; i < ed->n_bufs; i++) {
        buffer *b = ed->bufs[i];
        if (b->is_help || !text_modified(b->text)) continue;
        ed->cur = i;
        ed->quit_after_save = true;
        if (!editor_save_current(ed, false)) return;   /* a prompt or an error: stay */
    }
    ed->quit_after_save = false;
    editor_quit_now(ed);
}

void editor_open_prompt(editor *ed)
{
    editor_prompt_open(ed, &open_prompt, NULL, "Open: ", "");
}

void editor_save_as_prompt(editor *ed)
{
    buffer *b = editor_buffer(ed);
    if (b && !b->is_help) editor_prompt_open(ed, &save_as_prompt, NULL, "Save as: ", b->path ? b->path : "");
}

/* ---- prompt answers ---- */

static void quit_accept(editor *ed, const char *in, void *ctx)
{
    (void)ctx;
    char c = in[0];
    if (c == 'y') { editor_prompt_end(ed); editor_save_all_and_quit(ed); }
    else if (c == 'n') { editor_prompt_end(ed); editor_quit_now(ed); }
    else if (c == 'c') editor_prompt_end(ed);
}

static void close_accept(editor *ed, const char *in, void *ctx)
{
    (void)ctx;
    char c = in[0];
    if (c == 'y') { editor_prompt_end(ed); if (editor_save_current(ed, false)) editor_close_buffer(ed, ed->cur); }
    else if (c == 'n') { editor_prompt_end(ed); editor_close_buffer(ed, ed->cur); }
    else if (c == 'c') editor_prompt_end(ed);
}

static void overwrite_accept(editor *ed, const char *in, void *ctx)
{
    (void)ctx;
    char c = in[0];
    if (c == 'y') {
        editor_prompt_end(ed);
        if (editor_save_current(ed, true) && ed->quit_after_save) editor_save_all_and_quit(ed);
    } else if (c == 'n') {
        editor_prompt_end(ed);
        ed->quit_after_save = false;
        editor_message(ed, EDITOR_MSG_INFO, "Not saved");
    }
}

static void save_as_accept(editor *ed, const char *input, void *ctx)
{
    (void)ctx;
    buffer *b = editor_buffer(ed);
    char in[EDITOR_INPUT_MAX];
    snprintf(in, sizeof in, "%s", input);
    editor_prompt_end(ed);
    if (!b || !in[0]) return;
    if (!b->path || strcmp(b->path, in) != 0) {
        char *np = strdup(in), *nn = strdup(base_name(in));
        if (!np || !nn) { free(np); free(nn); return; }
        buffer_rec_remove(b);
        free(b->rec_file);
        b->rec_file = NULL;
        free(b->path); free(b->name);
        b->path = np; b->name = nn;
        memset(&b->info, 0, sizeof b->info);
        b->info.exists = file_changed(np, &b->info);   /* an existing file: ask first */
        b->new_file = !b->info.exists;
        if (b->info.exists) {
            char label[160];
            snprintf(label, sizeof label, "%.80s exists. Overwrite? (y/n) ", b->name);
            editor_prompt_open(ed, &overwrite_prompt, NULL, label, "");
            return;
        }
    }
    if (editor_save_current(ed, false) && ed->quit_after_save) editor_save_all_and_quit(ed);
}

static void open_accept(editor *ed, const char *input, void *ctx)
{
    (void)ctx;
    char in[EDITOR_INPUT_MAX];
    snprintf(in, sizeof in, "%s", input);
    editor_prompt_end(ed);
    if (in[0]) editor_open(ed, in);
}
