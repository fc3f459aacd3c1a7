/* model-editor.c: the model in the editor core: model-* commands, cursors kept in step with the
 * model's edits, status slot, messages, background scoring of the visible text.
 * Depends on editor.h and model-session.h; no curses. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "file.h"
#include "loop.h"
#include "model-editor.h"
#include "model-window.h"
#include "utf8.h"

/* A model file read on a thread of its own: the screen never waits for a load. */
typedef struct me_loader {
    pthread_t thread;           /* the reader */
    char path[CONFIG_MAX_PATH]; /* the model file */
    bd3_compute compute;        /* how its matrices multiply */
    bd3_model *model;           /* the result, or NULL */
    bd3_status st;              /* its status */
    char err[256];              /* its message */
    struct loop *lp;            /* woken when the reader is done */
    atomic_bool done;           /* the reader has finished */
} me_loader;

struct model_editor {
    editor *ed;                       /* the editor (not owned) */
    model_session *s;                 /* the model session (owned) */
    const text *seen_t;               /* text whose revision is remembered in seen_rev */
    uint64_t seen_rev;                /* its revision after the last tick or model edit */
    int64_t now_ms;                   /* time of the last tick */
    bool alt_shown;                   /* the alternatives prompt is open */
    char model_path[CONFIG_MAX_PATH]; /* model option the loaded model came from */
    int threads;                      /* threads option the worker was started with */
    char compute[CONFIG_MAX_NAME];    /* compute option the model was loaded with */
    const theme *th;                  /* confidence buckets (not owned) */
    int watched_fd;                   /* worker descriptor registered with the editor's loop, or -1 */
    int timer_fd;                     /* timerfd for the score delay, or -1 */
    bool timer_watched;               /* timer_fd registered with the editor's loop */
    const buffer *sel_b;              /* buffer an infill was started from, NULL when none */
    size_t sel_cursor;                /* its cursor as the model's edits left it (the writer's moves not) */
    bool sel_on;                      /* it had a selection */
    size_t sel_lo, sel_hi;            /* that selection, as the model's edits left it */
    me_loader *loader;                /* a model load in progress, or NULL */
    editor_model_cmd pending_cmd;     /* the command that asked for it, run once it is loaded */
    int pending_count;                /* its count */
    const buffer *pending_b;          /* the buffer it was given on */
    uint64_t load_msg;                /* editor_message_serial of the "loading" message */
    bool load_failed;                 /* the last read of the model failed (the status slot says so
                                         until the next read or another model option) */
};

static void me_command(editor *ed, editor_model_cmd cmd, int count, void *ctx);

static void *me_loader_run(void *arg)
{
    me_loader *l = arg;
    l->st = bd3_model_load_compute(l->path, l->compute, &l->model, l->err, sizeof l->err);
    atomic_store(&l->done, true);
    loop_wakeup(l->lp);
    return NULL;
}

/* Starts reading the model on a thread for cmd (run when it is there); false when the model
 * cannot be read (said on the message line at once) or no thread could start. */
static bool me_load_start(model_editor *me, editor_model_cmd cmd, int count, const buffer *b)
{
    me_loader *l = calloc(1, sizeof *l);
    if (!l) return false;
    if (!model_session_model_path(me->s, l->path, sizeof l->path, &l->compute)) {
        free(l);
        return false; /* the session said why */
    }
    int err = 0;
    file_status fs = file_check_regular(l->path, &err); /* a FIFO would hang the reader */
    if (fs != FILE_OK) {
        editor_message(me->ed, EDITOR_MSG_ERROR, "model: %s: %s", l->path,
                       fs == FILE_E_IO ? strerror(err) : file_status_str(fs));
        free(l);
        me->load_failed = true;
        return true;
    }
    l->lp = editor_loop(me->ed);
    atomic_init(&l->done, false);
    if (pthread_create(&l->thread, NULL, me_loader_run, l) != 0) {
        free(l);
        return false;
    }
    me->loader = l;
    me->load_failed = false;
    me->pending_cmd = cmd;
    me->pending_count = count;
    me->pending_b = b;
    const char *base = strrchr(l->path, '/');
    editor_message(me->ed, EDITOR_MSG_INFO, "model: loading %s (the command runs when it is loaded)",
                   base ? base + 1 : l->path);
    me->load_msg = editor_message_serial(me->ed);
    return true;
}

/* Takes a finished load (or waits for it when wait): the model goes to the session and the
 * command that asked for it runs, on the buffer it was given on when that is still current. */
static bool me_load_collect(model_editor *me, bool wait)
{
    me_loader *l = me->loader;
    if (!l || (!wait && !atomic_load(&l->done))) return false;
    pthread_join(l->thread, NULL);
    me->loader = NULL;
    if (wait) {
        bd3_model_free(l->model);
        free(l);
        return false;
    }
    if (l->st != BD3_OK) {
        editor_message(me->ed, EDITOR_MSG_ERROR, "model: %s", l->err[0] ? l->err : bd3_status_str(l->st));
        free(l);
        me->load_failed = true;
        return true;
    }
    model_session_set_model(me->s, l->model);
    free(l);
    /* loaded: "loading" no longer holds; the command's job shows its own progress and messages */
    editor_message_withdraw(me->ed, me->load_msg);
    buffer *b = editor_buffer(me->ed);
    if (b && b == me->pending_b)
        me_command(me->ed, me->pending_cmd, me->pending_count, me);
    else
        editor_message(me->ed, EDITOR_MSG_INFO, "model: loaded");
    return true;
}

/* Moves a position past a replacement of [pos, pos + old_len) by new_len bytes, as the editor
 * moves cursors (editor_follow_replace). */
static size_t shift_pos(size_t p, size_t pos, size_t old_len, size_t new_len)
{
    if (p >= pos + old_len) return p - old_len + new_len;
    if (p > pos) return pos + (p - pos < new_len ? p - pos : new_len);
    return p;
}

/* Remembers where the writer stands in b after an infill command. */
static void me_note_writer(model_editor *me, const buffer *b)
{
    me->sel_b = b;
    me->sel_cursor = buffer_cursor(b);
    me->sel_on = buffer_selection(b, &me->sel_lo, &me->sel_hi);
}

/* true when the writer still stands in b where the last infill command left them (moved only
 * by the model's edits): the same selection, or without one the same cursor (the editor keeps
 * a vi visual selection's far end on the replacement's last character, where the cursor is). */
static bool me_writer_stayed(const model_editor *me, const buffer *b)
{
    size_t lo = 0, hi = 0;
    bool on = buffer_selection(b, &lo, &hi);
    return b == me->sel_b && on == me->sel_on &&
           (on ? lo == me->sel_lo && hi == me->sel_hi : buffer_cursor(b) == me->sel_cursor);
}

/* model_edit_fn: the model replaced bytes of t; cursors, selections and tops follow. */
static void me_on_edit(void *user, text *t, size_t pos, size_t old_len, size_t new_len)
{
    model_editor *me = user;
    editor_follow_replace(me->ed, t, pos, old_len, new_len);
    if (me->sel_b && buffer_text(me->sel_b) == t) {
        me->sel_cursor = shift_pos(me->sel_cursor, pos, old_len, new_len);
        me->sel_lo = shift_pos(me->sel_lo, pos, old_len, new_len);
        me->sel_hi = shift_pos(me->sel_hi, pos, old_len, new_len);
    }
    if (t == me->seen_t) me->seen_rev = text_revision(t);
}

static void me_flush_message(model_editor *me)
{
    char msg[MODEL_MSG_MAX];
    model_msg_kind kind = model_session_take_message(me->s, msg, sizeof msg);
    if (msg[0])
        editor_message(me->ed, kind == MODEL_MSG_ERROR ? EDITOR_MSG_ERROR : EDITOR_MSG_INFO, "%s", msg);
}

/* Enter on the alternatives prompt: a number picks that alternative, anything else closes it. */
static void me_alt_accept(editor *ed, const char *input, void *ctx)
{
    model_editor *me = ctx;
    int k = atoi(input);
    editor_prompt_end(ed);
    me->alt_shown = false;
    buffer *b = editor_buffer(ed);
    if (b && k >= 1)
        model_session_inspect_choose(me->s, buffer_text(b), k - 1);
    else
        model_session_alternatives_close(me->s);
    me_flush_message(me);
}

static void me_alt_cancel(editor *ed, void *ctx)
{
    (void)ed;
    model_editor *me = ctx;
    me->alt_shown = false;
    model_session_alternatives_close(me->s);
}

static const editor_prompt_ops me_alt_prompt = {
    .kind = PROMPT_MODEL,
    .accept = me_alt_accept,
    .cancel = me_alt_cancel,
};

/* Shows the alternatives of an inspect as a prompt: a number picks one. */
static void me_show_alternatives(model_editor *me)
{
    int n = model_session_alt_count(me->s);
    if (n <= 0) return;
    char label[160];
    size_t used = (size_t)snprintf(label, sizeof label, "Alternatives:");
    size_t room = editor_cols(me->ed) > 8 && (size_t)editor_cols(me->ed) - 4 < sizeof label
                      ? (size_t)editor_cols(me->ed) - 4
                      : sizeof label - 1;
    for (int i = 0; i < n && used < sizeof label - 24; i++) {
        size_t len;
        const char *b = model_session_alt_text(me->s, i, &len);
        char tok[16];
        size_t k = 0;
        for (size_t j = 0; b && j < len;) {
            unsigned char c = (unsigned char)b[j];
            size_t cl = utf8_lead_len(c);
            if (j + cl > len || k + cl > 12) break;
            for (size_t q = 0; q < cl; q++) {
                unsigned char d = (unsigned char)b[j + q];
                tok[k++] = cl == 1 && (d < 0x20 || d >= 0x7f) ? '?' : (char)d;
            }
            j += cl;
        }
        tok[k] = '\0';
        char item[48];
        int il = snprintf(item, sizeof item, " %d'%s'%.0f%%", i + 1, tok,
                          100.0 * model_session_alt_prob(me->s, i));
        if (il < 0 || used + (size_t)il > room) break; /* the prompt shows what fits on the line */
        memcpy(label + used, item, (size_t)il + 1);
        used += (size_t)il;
    }
    if (used < sizeof label - 3) snprintf(label + used, sizeof label - used, ": ");
    editor_prompt_open(me->ed, &me_alt_prompt, me, label, "");
    me->alt_shown = true;
}

/* editor_style_fn: tokens a revise changed, spans marked as blanks and mask placeholders (the
 * mask colour), then the heatmap buckets. */
static int me_style(uint8_t attr, size_t pos, void *ctx)
{
    model_editor *me = ctx;
    buffer *b = editor_buffer(me->ed);
    if (!b) return -1;
    if (model_session_changed_at(me->s, buffer_text(b), pos)) return THEME_SEARCH;
    if (model_session_blank_at(me->s, buffer_text(b), pos)) return THEME_MASK;
    if (attr == 0 && model_session_busy(me->s) && text_byte_at(buffer_text(b), pos) == 0xe2 &&
        text_byte_at(buffer_text(b), pos + 1) == 0x96 && text_byte_at(buffer_text(b), pos + 2) == 0x91)
        return THEME_MASK; /* MODEL_MASK_TEXT */
    if (attr == 0 || (!model_session_heatmap(me->s) && !model_session_in_job(me->s, buffer_text(b), pos)))
        return -1; /* a running job's tokens are coloured even without the heatmap */
    return THEME_CONF0 + theme_confidence_bucket(me->th, model_window_conf_decode(attr));
}

/* Selects the result of a finished infill when the writer stayed where the command left them
 * (the key again then draws another sample); a writer who moved on keeps the cursor and the
 * selection they have. */
static void me_select_result(model_editor *me)
{
    text *t;
    size_t lo, hi;
    if (!model_session_take_result(me->s, &t, &lo, &hi)) return;
    buffer *b = editor_buffer(me->ed);
    if (b && buffer_text(b) == t && me_writer_stayed(me, b)) editor_select_in(me->ed, t, lo, hi);
    me->sel_b = NULL;
}

/* loop_fd_fn for the worker's descriptor: applies its events (the frame follows). */
static void me_on_fd(int fd, void *ctx)
{
    (void)fd;
    model_editor *me = ctx;
    model_session_process(me->s);
    me_select_result(me);
}

/* loop_fd_fn for the timer: only wakes the loop (the frame's tick does the work). */
static void me_on_timer(int fd, void *ctx)
{
    (void)ctx;
    uint64_t n;
    ssize_t r = read(fd, &n, sizeof n);
    (void)r;
}

/* Keeps the loop watching the current worker descriptor and the timer. */
static void me_watch(model_editor *me)
{
    struct loop *lp = editor_loop(me->ed);
    if (!lp) return;
    int fd = model_session_fd(me->s);
    if (fd != me->watched_fd) {
        if (me->watched_fd >= 0) loop_remove_fd(lp, me->watched_fd);
        me->watched_fd = fd >= 0 && loop_add_fd(lp, fd, me_on_fd, me) ? fd : -1;
    }
    if (me->timer_fd >= 0 && !me->timer_watched)
        me->timer_watched = loop_add_fd(lp, me->timer_fd, me_on_timer, me);
}

static void me_arm_timer(model_editor *me, int ms)
{
    if (me->timer_fd < 0) return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (ms >= 0) {
        if (ms == 0) ms = 1; /* zero would disarm */
        its.it_value.tv_sec = ms / 1000;
        its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
    }
    timerfd_settime(me->timer_fd, 0, &its, NULL);
}

/* Writes the model's state into the status slot: a read of the model file under way, the job
 * and its progress, a failed read, the heatmap; true when it changed. */
static bool me_update_status(model_editor *me)
{
    char status[EDITOR_MODEL_STATUS_MAX];
    if (me->loader)
        snprintf(status, sizeof status, "loading model...");
    else
        model_session_status(me->s, status, sizeof status);
    if (!status[0] && me->load_failed) snprintf(status, sizeof status, "model failed to load");
    if (!status[0] && model_session_heatmap(me->s)) snprintf(status, sizeof status, "heatmap");
    if (strcmp(status, editor_model_status(me->ed)) == 0) return false;
    editor_set_model_status(me->ed, status);
    return true;
}

/* editor_event_fn: the editor's events about buffer b. */
static void me_event(editor *ed, editor_event ev, buffer *b, void *ctx)
{
    (void)ed;
    model_editor *me = ctx;
    switch (ev) {
    case EDITOR_EVENT_KEY:
        if (model_session_stop_continue(me->s)) me_flush_message(me);
        break;
    case EDITOR_EVENT_CANCEL:
        model_session_cancel(me->s, buffer_text(b));
        me_flush_message(me);
        break;
    case EDITOR_EVENT_UNDO_PRE: model_session_before_undo(me->s, buffer_text(b)); break;
    case EDITOR_EVENT_EDIT_PRE:
        /* around the person's edits and recovery writes: the job's text is not theirs */
        model_session_hide(me->s, buffer_text(b));
        break;
    case EDITOR_EVENT_EDIT_POST: model_session_show(me->s); break;
    case EDITOR_EVENT_SAVE_PRE:
        model_session_save_begin(me->s, buffer_text(b));
        me->seen_rev = text_revision(buffer_text(b));
        break;
    case EDITOR_EVENT_SAVE_POST:
        model_session_save_end(me->s, buffer_text(b));
        me->seen_rev = text_revision(buffer_text(b));
        break;
    case EDITOR_EVENT_BUFFER_CLOSE:
        if (me->sel_b == b) me->sel_b = NULL;
        model_session_forget(me->s, buffer_text(b));
        if (me->seen_t == buffer_text(b)) me->seen_t = NULL;
        break;
    }
}

/* editor_model_fn: a model command on the current buffer. */
static void me_command(editor *ed, editor_model_cmd cmd, int count, void *ctx)
{
    model_editor *me = ctx;
    buffer *b = editor_buffer(ed);
    if (!b) return;
    if (buffer_readonly(b) && cmd != MODEL_CMD_HEATMAP) {
        editor_message(ed, EDITOR_MSG_ERROR, "This buffer is read-only");
        return;
    }
    if (me->loader) { /* a load is under way: this command runs instead when it is done */
        me->pending_cmd = cmd;
        me->pending_count = count;
        me->pending_b = b;
        editor_message(ed, EDITOR_MSG_INFO, "model: still loading");
        me->load_msg = editor_message_serial(ed);
        return;
    }
    /* the model is read on a thread when the editor runs a main loop (to wake it when done) */
    bool needs = cmd != MODEL_CMD_HEATMAP || !model_session_heatmap(me->s);
    if (needs && !model_session_model(me->s) && editor_loop(ed) && me_load_start(me, cmd, count, b)) {
        me_update_status(me); /* "loading model..." from this frame on */
        return;
    }
    size_t s, e;
    if (!buffer_selection(b, &s, &e)) s = e = buffer_cursor(b);
    int n = count > 0 ? count : 1;
    switch (cmd) {
    case MODEL_CMD_INFILL: model_session_infill(me->s, buffer_text(b), s, e, buffer_cursor(b), count); break;
    case MODEL_CMD_CONTINUE: model_session_continue(me->s, buffer_text(b), buffer_cursor(b), n); break;
    case MODEL_CMD_REVISE: model_session_revise(me->s, buffer_text(b), s, e, buffer_cursor(b)); break;
    case MODEL_CMD_INSPECT: model_session_inspect(me->s, buffer_text(b), buffer_cursor(b)); break;
    case MODEL_CMD_GROW: model_session_resize(me->s, buffer_text(b), n); break;
    case MODEL_CMD_SHRINK: model_session_resize(me->s, buffer_text(b), -n); break;
    case MODEL_CMD_SAMPLE_NEXT: model_session_cycle(me->s, buffer_text(b), n); break;
    case MODEL_CMD_SAMPLE_PREV: model_session_cycle(me->s, buffer_text(b), -n); break;
    case MODEL_CMD_FILL: model_session_fill(me->s, buffer_text(b), s, e, buffer_cursor(b)); break;
    case MODEL_CMD_MARK_BLANK: model_session_mark_blank(me->s, buffer_text(b), s, e); break;
    case MODEL_CMD_HEATMAP: {
        bool on = model_session_toggle_heatmap(me->s);
        if (on && !model_session_message(me->s)[0])
            editor_message(ed, EDITOR_MSG_INFO,
                           "Heatmap on: conf0 (least likely) .. conf4 (most likely), see the status line");
        else if (!on && !model_session_message(me->s)[0])
            editor_message(ed, EDITOR_MSG_INFO, "Heatmap off");
        break;
    }
    }
    if (cmd == MODEL_CMD_INFILL || cmd == MODEL_CMD_GROW || cmd == MODEL_CMD_SHRINK)
        me_note_writer(me, b); /* the result is selected if the writer stays */
    me->seen_t = buffer_text(b);
    me->seen_rev = text_revision(buffer_text(b));
    me_flush_message(me);
    me_update_status(me);
    editor_set_model_legend(ed, model_session_heatmap(me->s));
    me_watch(me);
}

model_editor *model_editor_new(editor *ed, const theme *th)
{
    model_editor *me = calloc(1, sizeof *me);
    if (!me) return NULL;
    me->ed = ed;
    me->th = th;
    me->watched_fd = -1;
    me->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    me->s = model_session_new(editor_config(ed));
    if (!me->s) {
        free(me);
        return NULL;
    }
    model_session_set_edit_fn(me->s, me_on_edit, me);
    const config *cfg = editor_config(ed);
    snprintf(me->model_path, sizeof me->model_path, "%s", cfg ? cfg->model : "");
    me->threads = cfg ? cfg->threads : 0;
    snprintf(me->compute, sizeof me->compute, "%s", cfg ? cfg->compute : "auto");
    editor_set_model_hook(ed, me_command, me_event, me);
    editor_set_style_hook(ed, me_style, me);
    return me;
}

void model_editor_free(model_editor *me)
{
    if (!me) return;
    if (editor_model_hook_ctx(me->ed) == me) editor_set_model_hook(me->ed, NULL, NULL, NULL);
    void *style_ctx;
    if (editor_style_hook(me->ed, &style_ctx) && style_ctx == me) editor_set_style_hook(me->ed, NULL, NULL);
    struct loop *lp = editor_loop(me->ed);
    if (lp) {
        if (me->watched_fd >= 0) loop_remove_fd(lp, me->watched_fd);
        if (me->timer_watched) loop_remove_fd(lp, me->timer_fd);
    }
    if (me->timer_fd >= 0) close(me->timer_fd);
    me_load_collect(me, true);
    model_session_free(me->s);
    free(me);
}

model_session *model_editor_session(model_editor *me) { return me->s; }

int model_editor_fd(const model_editor *me) { return model_session_fd(me->s); }

bool model_editor_tick(model_editor *me, int64_t now_ms, int *timeout_ms)
{
    editor *ed = me->ed;
    bool redraw = false;
    *timeout_ms = -1;
    me->now_ms = now_ms;
    if (me_load_collect(me, false)) redraw = true;
    /* "set model ...", "set threads ..." or "set compute ..." at the prompt: the next command
       reloads */
    const config *cfg = editor_config(ed);
    if (cfg &&
        (strcmp(cfg->model, me->model_path) != 0 || cfg->threads != me->threads ||
         strcmp(cfg->compute, me->compute) != 0) &&
        !model_session_busy(me->s)) {
        model_session_unload(me->s);
        me->load_failed = false; /* another model (or the same with other options) may read */
        snprintf(me->model_path, sizeof me->model_path, "%s", cfg->model);
        me->threads = cfg->threads;
        snprintf(me->compute, sizeof me->compute, "%s", cfg->compute);
    }
    /* buffers closed behind the session's back */
    buffer *b = editor_buffer(ed);
    if (b) {
        if (me->seen_t == buffer_text(b) && text_revision(buffer_text(b)) != me->seen_rev)
            model_session_note_edit_at(me->s, buffer_text(b), buffer_cursor(b),
                                       now_ms); /* the person edited */
        me->seen_t = buffer_text(b);
    }
    if (model_session_process(me->s)) redraw = true;
    me_select_result(me);
    if (b) me->seen_rev = text_revision(buffer_text(b));
    if (!me->alt_shown && model_session_alt_count(me->s) > 0 && editor_prompt_kind(ed) == PROMPT_NONE) {
        me_show_alternatives(me);
        redraw = true;
    }
    if (me->alt_shown && editor_prompt_kind(ed) != PROMPT_MODEL) {
        me->alt_shown = false; /* the prompt was cancelled */
        model_session_alternatives_close(me->s);
    }
    if (model_session_message(me->s)[0]) {
        me_flush_message(me);
        redraw = true;
    }
    if (b && model_session_heatmap(me->s)) {
        int rows = editor_text_rows(ed);
        size_t span =
            (size_t)(rows > 0 ? rows : 1) * (size_t)(editor_cols(ed) > 0 ? editor_cols(ed) : 80) * 2;
        int t = model_session_tick(me->s, buffer_text(b), buffer_top(b), buffer_top(b) + span, now_ms);
        if (t >= 0) *timeout_ms = t;
    }
    if (me_update_status(me)) redraw = true;
    editor_set_model_legend(ed, model_session_heatmap(me->s));
    me_watch(me);
    me_arm_timer(me, *timeout_ms);
    return redraw;
}

void model_editor_on_frame(editor *ed, void *ctx)
{
    (void)ed;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int timeout;
    model_editor_tick(ctx, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &timeout);
}

float model_editor_conf_at(const model_editor *me, const buffer *b, size_t pos)
{
    if (!model_session_heatmap(me->s) || !b) return -1.0f;
    uint8_t q = 0;
    if (text_attr_get(buffer_text(b), pos, 1, &q) != TEXT_OK) return -1.0f;
    return model_window_conf_decode(q);
}

bool model_editor_heatmap(const model_editor *me) { return model_session_heatmap(me->s); }

bool model_editor_changed_at(const model_editor *me, const buffer *b, size_t pos)
{
    return b && model_session_changed_at(me->s, buffer_text(b), pos);
}
