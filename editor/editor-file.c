/* editor-file.c: opening files, saving (save-as, overwrite after a change on disk), closing
 * buffers and quitting, with their prompts. No curses, no model (told through
 * editor events around saves and closes). */
#include "editor-core.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void quit_accept(editor *ed, const char *in, void *ctx);
static void close_accept(editor *ed, const char *in, void *ctx);
static void overwrite_accept(editor *ed, const char *in, void *ctx);
static void save_as_accept(editor *ed, const char *in, void *ctx);
static void readonly_accept(editor *ed, const char *in, void *ctx);
static void open_accept(editor *ed, const char *in, void *ctx);

static const editor_prompt_ops quit_prompt = {
    .kind = PROMPT_QUIT,
    .yes_no = true,
    .on_escape = 'c',
    .accept = quit_accept,
};
static const editor_prompt_ops close_prompt = {
    .kind = PROMPT_CLOSE,
    .yes_no = true,
    .on_escape = 'c',
    .accept = close_accept,
};
static const editor_prompt_ops overwrite_prompt = {
    .kind = PROMPT_OVERWRITE,
    .yes_no = true,
    .on_escape = 'n',
    .accept = overwrite_accept,
};
static const editor_prompt_ops readonly_prompt = {
    .kind = PROMPT_OVERWRITE,
    .yes_no = true,
    .on_escape = 'n',
    .accept = readonly_accept,
};
static const editor_prompt_ops save_as_prompt = {.kind = PROMPT_SAVE_AS, .accept = save_as_accept};
static const editor_prompt_ops open_prompt = {.kind = PROMPT_OPEN, .accept = open_accept};

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

bool editor_open(editor *ed, const char *path)
{
    for (int i = 0; i < ed->n_bufs; i++)
        if (ed->bufs[i]->path && strcmp(ed->bufs[i]->path, path) == 0) {
            ed->cur = i;
            return true;
        }
    text *t;
    file_info info;
    int err = 0;
    file_status s = file_load(path, &t, &info, &err);
    if (s != FILE_OK) {
        editor_message(ed, EDITOR_MSG_ERROR, "%s: %s", path,
                       s == FILE_E_IO ? strerror(err) : file_status_str(s));
        return false;
    }
    buffer *b = buffer_new(t, path, base_name(path));
    if (!b || !editor_add_buffer(ed, b)) {
        if (b)
            buffer_free(b);
        else
            text_free(t);
        editor_message(ed, EDITOR_MSG_ERROR, "Out of memory");
        return false;
    }
    b->info = info;
    b->new_file = !info.exists;
    b->file_readonly = buffer_file_not_writable(b);
    if (!info.exists)
        editor_message(ed, EDITOR_MSG_INFO, "%s: new file", path);
    else if (b->file_readonly)
        editor_message(ed, EDITOR_MSG_INFO, "%s: the file is read-only (saving asks first)", path);
    long other = 0;
    if (file_recovery_others(path, &other) > 0)
        editor_message(ed, EDITOR_MSG_ERROR,
                       "%s is also being edited in another bd3ed (pid %ld) with unsaved "
                       "changes; each keeps its own recovery file",
                       path, other);
    char amb[PATH_MAX], amb_other[PATH_MAX];
    if (file_recovery_ambiguous(path, amb, amb_other))
        editor_message(ed, EDITOR_MSG_ERROR,
                       "The recovery file %.150s, left by an earlier version, may be of %.150s instead: "
                       "not offered (open it to see its text)",
                       amb, amb_other);
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
        if (b) {
            b->text = NULL;
            buffer_free(b);
        }
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
    for (int i = 0; i < ed->n_bufs; i++) buffer_rec_remove(ed->bufs[i]);
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
    if (n == 0 || force) {
        editor_quit_now(ed);
        return;
    }
    char label[160];
    snprintf(label, sizeof label, "%d file%s modified. Save before quitting? (y)es (n)o (c)ancel ", n,
             n == 1 ? "" : "s");
    editor_prompt_open(ed, &quit_prompt, NULL, label, "");
}

void editor_close_buffer(editor *ed, int index)
{
    if (index < 0 || index >= ed->n_bufs) return;
    editor_recovery_wait(ed);
    buffer *b = ed->bufs[index];
    buffer_rec_remove(b);
    editor_event_send(ed, EDITOR_EVENT_BUFFER_CLOSE, b); /* drops jobs on its text */
    buffer *back = b->is_help ? b->help_from : NULL;     /* help goes back where it came from */
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
    if (b->is_help || !text_modified(b->text)) {
        editor_close_buffer(ed, ed->cur);
        return;
    }
    char label[160];
    snprintf(label, sizeof label, "%.80s is modified. Save before closing? (y)es (n)o (c)ancel ", b->name);
    editor_prompt_open(ed, &close_prompt, NULL, label, "");
}

/* A new file ends with a newline when saved (final-newline): added to the text as the writer's
 * own edit, so what is shown is what is written. */
static void editor_final_newline(editor *ed, buffer *b, bool new_file)
{
    if (!new_file || !ed->cfg->final_newline || b->readonly) return;
    editor_event_send(ed, EDITOR_EVENT_EDIT_PRE, b); /* the writer's text, not a running job's */
    size_t n = text_size(b->text);
    if (n == 0 || text_byte_at(b->text, n - 1) == '\n') return;
    text_snapshot(b->text);
    buffer_insert(b, n, "\n", 1, NULL);
    text_snapshot(b->text);
}

bool buffer_file_not_writable(const buffer *b)
{
    struct stat st;
    if (!b->path || stat(b->path, &st) != 0 || !S_ISREG(st.st_mode)) return false;
    return access(b->path, W_OK) != 0 || !(st.st_mode & 0222);
}

/* Forgets a Save As target waiting for an answer. */
static void editor_save_forget(editor *ed)
{
    free(ed->save_path);
    ed->save_path = NULL;
    ed->save_flags = 0;
}

/* Asks whether to go on with a save that file_save refused (op answers it); the target and the
 * flags already confirmed wait in ed. */
static void editor_save_ask(editor *ed, const editor_prompt_ops *op, const char *label, const char *path,
                            bool as, unsigned flags)
{
    char *keep = as ? strdup(path) : NULL;
    editor_save_forget(ed);
    ed->save_path = keep;
    ed->save_flags = flags;
    editor_prompt_open(ed, op, NULL, label, "");
}

/* Saves the current buffer to path (its own file when path is NULL or its own), with the
 * FILE_SAVE_* flags already confirmed; true when it was written. The buffer takes the new name
 * only once the file is written: a failed Save As leaves it as it was. */
static void editor_save_all_and_quit(editor *ed);

static bool editor_save_to(editor *ed, const char *path, unsigned flags)
{
    buffer *b = editor_buffer(ed);
    if (!b || b->is_help) return false;
    if (!path && !b->path) {
        editor_prompt_open(ed, &save_as_prompt, NULL, "Save as: ", "");
        return false;
    }
    bool as = path && (!b->path || strcmp(b->path, path) != 0);
    const char *target = as ? path : b->path;
    char target_copy[PATH_MAX];
    snprintf(target_copy, sizeof target_copy, "%s", target); /* path may be ed->save_path */
    target = target_copy;
    file_info info = b->info;
    if (as) memset(&info, 0, sizeof info); /* an existing file there counts as a change */
    int err = 0;
    char copy[PATH_MAX];
    editor_recovery_wait(ed); /* its file is removed below */
    struct stat tst;
    bool target_new = as ? stat(target, &tst) != 0 : b->new_file;
    editor_final_newline(ed, b, target_new);
    /* a running model job puts the text it replaces back for the save */
    editor_event_send(ed, EDITOR_EVENT_SAVE_PRE, b);
    file_status s = file_save_report(b->text, target, &info, flags, copy, sizeof copy, &err);
    size_t written = text_size(b->text); /* the person's text, without a job's */
    if (s == FILE_OK) text_set_saved(b->text);
    editor_event_send(ed, EDITOR_EVENT_SAVE_POST, b);
    char label[256];
    if (s == FILE_E_CHANGED) {
        if (as)
            snprintf(label, sizeof label, "%.80s exists. Overwrite? (y/n) ", base_name(target));
        else
            snprintf(label, sizeof label, "%.80s changed on disk since it was opened. Overwrite? (y/n) ",
                     b->name);
        editor_save_ask(ed, &overwrite_prompt, label, target, as, flags);
        return false;
    }
    if (s == FILE_E_READONLY && !(flags & FILE_SAVE_READONLY)) { /* asked once only */
        /* Another user's file can only be written anew, which makes it this user's: say so. */
        struct stat ost;
        uid_t me = geteuid();
        if (me != 0 && stat(target, &ost) == 0 && ost.st_uid != me) {
            const struct passwd *pw = getpwuid(ost.st_uid);
            char owner[64];
            if (pw && pw->pw_name)
                snprintf(owner, sizeof owner, "%.40s", pw->pw_name);
            else
                snprintf(owner, sizeof owner, "uid %ld", (long)ost.st_uid);
            snprintf(label, sizeof label,
                     "%.60s is read-only and belongs to %s; writing makes it yours. "
                     "Write it anyway? (y/n) ",
                     base_name(target), owner);
        } else {
            snprintf(label, sizeof label, "%.80s is read-only. Write it anyway? (y/n) ", base_name(target));
        }
        editor_save_ask(ed, &readonly_prompt, label, target, as, flags);
        return false;
    }
    editor_save_forget(ed);
    if (s != FILE_OK) {
        char msg[EDITOR_MESSAGE_MAX];
        file_save_message(s, err, target, copy, msg, sizeof msg);
        editor_message(ed, EDITOR_MSG_ERROR, "%s", msg);
        return false;
    }
    if (as) {
        char *np = strdup(target), *nn = strdup(base_name(target));
        if (!np || !nn) {
            free(np);
            free(nn);
            editor_message(ed, EDITOR_MSG_ERROR, "Saved %s, but out of memory to rename the buffer", target);
            return false;
        }
        buffer_rec_remove(b); /* of the old name */
        free(b->rec_file);
        b->rec_file = NULL;
        free(b->path);
        free(b->name);
        b->path = np;
        b->name = nn;
        b->new_file = target_new;
    }
    b->info = info;
    b->file_readonly = buffer_file_not_writable(b);
    file_recovery_remove(b->path);
    b->rec_written = false;
    editor_message(ed, EDITOR_MSG_INFO, "Saved %s (%zu bytes)", b->path, written);
    return true;
}

/* Saves the current buffer; true when it was written. Asks when the file changed on disk. */
bool editor_save_current(editor *ed, bool force)
{
    return editor_save_to(ed, NULL, force ? FILE_SAVE_CHANGED : 0);
}

void editor_save_buffer(editor *ed, bool force) { editor_save_current(ed, force); }

/* Saves every modified buffer for the quit prompt; stops at the first that needs an answer. */
static void editor_save_all_and_quit(editor *ed)
{
    for (int i = 0; i < ed->n_bufs; i++) {
        buffer *b = ed->bufs[i];
        if (b->is_help || !text_modified(b->text)) continue;
        ed->cur = i;
        ed->quit_after_save = true;
        if (!editor_save_current(ed, false)) return; /* a prompt or an error: stay */
    }
    ed->quit_after_save = false;
    editor_quit_now(ed);
}

void editor_open_prompt(editor *ed) { editor_prompt_open(ed, &open_prompt, NULL, "Open: ", ""); }

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
    if (c == 'y') {
        editor_prompt_end(ed);
        editor_save_all_and_quit(ed);
    } else if (c == 'n') {
        editor_prompt_end(ed);
        editor_quit_now(ed);
    } else if (c == 'c')
        editor_prompt_end(ed);
}

static void close_accept(editor *ed, const char *in, void *ctx)
{
    (void)ctx;
    char c = in[0];
    if (c == 'y') {
        editor_prompt_end(ed);
        if (editor_save_current(ed, false)) editor_close_buffer(ed, ed->cur);
    } else if (c == 'n') {
        editor_prompt_end(ed);
        editor_close_buffer(ed, ed->cur);
    } else if (c == 'c')
        editor_prompt_end(ed);
}

/* The answer to a save that needs a confirmation: y saves with it, n keeps everything. */
static void save_confirm(editor *ed, char c, unsigned flag)
{
    if (c == 'y') {
        editor_prompt_end(ed);
        char *path = ed->save_path;
        ed->save_path = NULL;
        bool ok = editor_save_to(ed, path, ed->save_flags | flag);
        free(path);
        if (ok && ed->quit_after_save) editor_save_all_and_quit(ed);
    } else if (c == 'n') {
        editor_prompt_end(ed);
        editor_save_forget(ed);
        ed->quit_after_save = false;
        editor_message(ed, EDITOR_MSG_INFO, "Not saved");
    }
}

static void overwrite_accept(editor *ed, const char *in, void *ctx)
{
    (void)ctx;
    save_confirm(ed, in[0], FILE_SAVE_CHANGED);
}

static void readonly_accept(editor *ed, const char *in, void *ctx)
{
    (void)ctx;
    save_confirm(ed, in[0], FILE_SAVE_READONLY);
}

static void save_as_accept(editor *ed, const char *input, void *ctx)
{
    (void)ctx;
    buffer *b = editor_buffer(ed);
    char in[EDITOR_INPUT_MAX];
    snprintf(in, sizeof in, "%s", input);
    editor_prompt_end(ed);
    if (!b || !in[0]) return;
    if (editor_save_to(ed, in, 0) && ed->quit_after_save) editor_save_all_and_quit(ed);
}

static void open_accept(editor *ed, const char *input, void *ctx)
{
    (void)ctx;
    char in[EDITOR_INPUT_MAX];
    snprintf(in, sizeof in, "%s", input);
    editor_prompt_end(ed);
    if (in[0]) editor_open(ed, in);
}
