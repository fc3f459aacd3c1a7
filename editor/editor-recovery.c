/* editor-recovery.c: recovery files of unsaved changes: written when due (large texts on a
 * thread), offered on open and restored on request, written at once on a hang-up; a write
 * that fails is reported once and retried. No curses, no model (told through editor events). */
#include "editor-core.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- recovery writes of large texts on a thread ---- */

/* One recovery write in progress. The spans point into stored bytes of the buffer's text,
 * which never move or change: the buffer is only freed after the job is joined. */
typedef struct editor_recovery_job {
    pthread_t thread;   /* the writer */
    text_span *spans;   /* n spans of the text to write */
    size_t n;           /* count */
    char *path;         /* file the recovery file is for (direct: the recovery file) */
    bool direct;        /* path is the recovery file itself (an unnamed buffer) */
    buffer *buf;        /* buffer written */
    uint64_t rev;       /* its text revision then */
    double time;        /* tick time the job started */
    atomic_bool done;   /* the writer has finished */
    file_status status; /* its result */
    int err;            /* errno value of a failed write */
} editor_recovery_job;

static void *editor_recovery_thread(void *arg)
{
    editor_recovery_job *job = arg;
    job->status = job->direct ? file_recovery_write_file(NULL, job->spans, job->n, job->path, &job->err)
                              : file_recovery_write_spans(job->spans, job->n, job->path, &job->err);
    atomic_store(&job->done, true);
    return NULL;
}

/* A recovery write failed (full disk, no permission): says so once, until one succeeds; the
 * writes go on being tried every EDITOR_RECOVERY_SECONDS. */
static void editor_recovery_failed(editor *ed, buffer *b, file_status s, int err, double now)
{
    b->rec_fail_time = now > 0 ? now : 1e-9;
    if (ed->rec_error_shown) return;
    ed->rec_error_shown = true;
    editor_message(ed, EDITOR_MSG_ERROR,
                   "Cannot write the recovery file of %.100s: %s (unsaved changes are "
                   "not protected; still trying)",
                   b->name, s == FILE_E_IO ? strerror(err) : file_status_str(s));
}

static void editor_recovery_done(editor *ed, buffer *b, uint64_t rev, double now)
{
    b->rec_written = true;
    b->rec_rev = rev;
    b->rec_time = now;
    b->rec_fail_time = 0;
    if (ed->rec_error_shown) {
        ed->rec_error_shown = false;
        editor_message(ed, EDITOR_MSG_INFO, "Recovery file of %.100s written", b->name);
    }
}

/* Collects a finished job (or waits for it when wait). */
static void editor_recovery_collect(editor *ed, bool wait)
{
    editor_recovery_job *job = ed->rec_job;
    if (!job || (!wait && !atomic_load(&job->done))) return;
    pthread_join(job->thread, NULL);
    for (int i = 0; i < ed->n_bufs; i++) {
        if (ed->bufs[i] != job->buf) continue;
        if (job->status == FILE_OK)
            editor_recovery_done(ed, job->buf, job->rev, job->time);
        else
            editor_recovery_failed(ed, job->buf, job->status, job->err, job->time);
    }
    free(job->spans);
    free(job->path);
    free(job);
    ed->rec_job = NULL;
}

void editor_recovery_wait(editor *ed) { editor_recovery_collect(ed, true); }

/* Starts writing b's recovery file on a thread; false when it could not start. */
static bool editor_recovery_start(editor *ed, buffer *b, double now)
{
    editor_recovery_job *job = calloc(1, sizeof *job);
    if (!job) return false;
    job->spans = text_spans(b->text, &job->n);
    job->path = strdup(b->path ? b->path : b->rec_file);
    job->direct = !b->path;
    job->buf = b;
    job->rev = text_revision(b->text);
    job->time = now;
    atomic_init(&job->done, false);
    if ((!job->spans && text_size(b->text) > 0) || !job->path ||
        pthread_create(&job->thread, NULL, editor_recovery_thread, job) != 0) {
        free(job->spans);
        free(job->path);
        free(job);
        return false;
    }
    ed->rec_job = job;
    return true;
}

static void editor_recover(editor *ed, bool yes)
{
    buffer *b = editor_buffer(ed);
    b->recovery_offer = false;
    if (!yes) {
        if (b->path)
            file_recovery_discard(b->path);
        else if (b->rec_offer)
            unlink(b->rec_offer);
        free(b->rec_offer);
        b->rec_offer = NULL;
        editor_message(ed, EDITOR_MSG_INFO, "Recovery file removed");
        return;
    }
    text *r = NULL;
    int err = 0;
    file_status s = FILE_E_NONE;
    if (b->path) {
        s = file_recovery_load(b->path, &r, &err);
    } else if (b->rec_offer) {
        file_info info;
        s = file_load(b->rec_offer, &r, &info, &err);
        if (s == FILE_OK && !info.exists) {
            text_free(r);
            r = NULL;
            s = FILE_E_NONE;
        }
    }
    if (s != FILE_OK) {
        editor_message(ed, EDITOR_MSG_ERROR, "Cannot read the recovery file: %s",
                       s == FILE_E_IO ? strerror(err) : file_status_str(s));
        return;
    }
    size_t n = text_size(r);
    char *bytes = malloc(n ? n : 1);
    if (!bytes) {
        text_free(r);
        editor_message(ed, EDITOR_MSG_ERROR, "Out of memory");
        return;
    }
    text_read(r, 0, n, bytes);
    text_free(r);
    text_group_begin(b->text);
    buffer_delete(b, 0, text_size(b->text));
    buffer_insert(b, 0, bytes, n, NULL);
    text_group_end(b->text);
    free(bytes);
    b->cursor = 0;
    b->top = 0;
    b->rec_written = true;
    if (!b->path && b->rec_offer) {
        /* the earlier session's file becomes this buffer's recovery file */
        if (!b->rec_file || rename(b->rec_offer, b->rec_file) != 0) b->rec_written = false;
        free(b->rec_offer);
        b->rec_offer = NULL;
    }
    editor_message(ed, EDITOR_MSG_INFO, "Recovered unsaved changes (undo returns to the file on disk)");
}

/* yes_no accept of the recover prompt: y restores, n removes the recovery file. */
static void recover_accept(editor *ed, const char *in, void *ctx)
{
    (void)ctx;
    if (in[0] != 'y' && in[0] != 'n') return;
    ed->prompt = PROMPT_NONE;
    editor_recover(ed, in[0] == 'y');
    editor_prompt_end(ed);
}

static const editor_prompt_ops recover_prompt = {
    .kind = PROMPT_RECOVER,
    .yes_no = true,
    .on_escape = 'n',
    .accept = recover_accept,
};

void editor_recovery_offer(editor *ed)
{
    if (ed->prompt != PROMPT_NONE) return;
    for (int i = 0; i < ed->n_bufs; i++) {
        buffer *b = ed->bufs[i];
        if (!b->recovery_offer) continue;
        ed->cur = i;
        char label[sizeof ed->prompt_label];
        if (b->path)
            snprintf(label, sizeof label, "Unsaved changes of %.100s were recovered. Restore them? (y/n) ",
                     b->name);
        else
            snprintf(label, sizeof label,
                     "Unsaved text of an unnamed buffer was recovered. Restore it? (y/n) ");
        editor_prompt_open(ed, &recover_prompt, NULL, label, "");
        return;
    }
}

bool editor_offer_unnamed_recovery(editor *ed)
{
    buffer *b = editor_buffer(ed);
    if (!b || b->path || !b->rec_file || b->rec_offer || text_size(b->text) > 0) return false;
    char found[1][PATH_MAX];
    if (file_recovery_unnamed_list(found, 1) < 1) return false;
    b->rec_offer = strdup(found[0]);
    if (!b->rec_offer) return false;
    b->recovery_offer = true;
    editor_recovery_offer(ed);
    return true;
}

void editor_tick(editor *ed, double now)
{
    editor_recovery_collect(ed, false);
    if (ed->rec_job) return;
    for (int i = 0; i < ed->n_bufs; i++) {
        buffer *b = ed->bufs[i];
        if (!buffer_rec_able(b) || b->recovery_offer) continue;
        if (!text_modified(b->text)) {
            if (b->rec_written) {
                buffer_rec_remove(b);
                b->rec_written = false;
            }
            continue;
        }
        if (b->rec_rev == text_revision(b->text) && b->rec_written) continue;
        if (b->rec_written && now - b->rec_time < EDITOR_RECOVERY_SECONDS) continue;
        if (b->rec_fail_time > 0 && now - b->rec_fail_time < EDITOR_RECOVERY_SECONDS) continue;
        editor_event_send(ed, EDITOR_EVENT_EDIT_PRE, b); /* the person's text, not a running job's */
        if (text_size(b->text) >= EDITOR_RECOVERY_ASYNC_MIN) {
            bool started = editor_recovery_start(ed, b, now); /* spans of stored bytes */
            editor_event_send(ed, EDITOR_EVENT_EDIT_POST, b);
            if (started) return; /* one write at a time */
            continue;
        }
        int err = 0;
        file_status st = buffer_rec_write(b, &err);
        if (st == FILE_OK)
            editor_recovery_done(ed, b, text_revision(b->text), now);
        else
            editor_recovery_failed(ed, b, st, err, now);
        editor_event_send(ed, EDITOR_EVENT_EDIT_POST, b);
    }
}

void editor_recovery_write_all(editor *ed)
{
    editor_recovery_wait(ed);
    for (int i = 0; i < ed->n_bufs; i++) {
        buffer *b = ed->bufs[i];
        editor_event_send(ed, EDITOR_EVENT_EDIT_PRE, b);
        if (buffer_rec_able(b) && !b->recovery_offer && text_modified(b->text)) buffer_rec_write(b, NULL);
        editor_event_send(ed, EDITOR_EVENT_EDIT_POST, b);
    }
}
