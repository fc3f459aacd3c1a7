/* test_model_editor.c: the model commands through the editor core and the default keymap with
 * the small random fixture model: keys start jobs, the cursor follows the model's edits, undo
 * takes an operation back in one step, Esc cancels and restores, inspect offers a choice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "loop.h"
#include <stdio.h>
#include <unistd.h>
#include "command.h"
#include "editor-core.h"
#include "file.h"
#include "fixture.h"
#include "model-editor.h"
#include "engine_wrap.h"

static char model_path[1024]; /* the fixture model */

/* A gate in the engine's step callback (bd3_infill is wrapped at link time): while it is closed,
 * a running infill stops after its first model call, so a test can act while the job is surely
 * still running, whatever the machine's speed. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER; /* guards gate_closed */
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;   /* signalled when the gate opens */
static bool gate_closed;                                    /* infill waits while true */
static bd3_step_fn gate_inner_cb;                           /* the worker's own callback */


static int gate_step(void *user, const bd3_progress *pr)
{
    int r = gate_inner_cb ? gate_inner_cb(user, pr) : 0;
    pthread_mutex_lock(&gate_mu);
    while (gate_closed) pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    return r;
}

bd3_status __wrap_bd3_infill(bd3_ctx *c, const bd3_sampler_params *p, int32_t *ids, float *conf, int n,
                             bd3_step_fn cb, void *user)
{
    gate_inner_cb = cb;
    return __real_bd3_infill(c, p, ids, conf, n, gate_step, user);
}

/* bd3_continue passes through the same gate; its calls and the tokens they may write are
 * counted. */
static int cont_calls;           /* bd3_continue calls */
static int cont_max_new;         /* sum of their max_new */
static int cont_block_len;       /* block length of the last call */
static bd3_step_fn gate_cont_cb; /* the worker's own callback for a continuation */

static int gate_cont_step(void *user, const bd3_progress *pr)
{
    int r = gate_cont_cb ? gate_cont_cb(user, pr) : 0;
    pthread_mutex_lock(&gate_mu);
    while (gate_closed) pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    return r;
}

bd3_status __wrap_bd3_continue(bd3_ctx *c, const bd3_sampler_params *p, int block_len, const int32_t *prompt,
                               int n_prompt, int max_new, int32_t *out, float *out_conf, int *n_out,
                               bd3_stop *why, bd3_step_fn cb, void *user)
{
    cont_calls++;
    cont_max_new += max_new;
    cont_block_len = block_len;
    gate_cont_cb = cb;
    return __real_bd3_continue(c, p, block_len, prompt, n_prompt, max_new, out, out_conf, n_out, why,
                               gate_cont_step, user);
}

static void gate_set(bool closed)
{
    pthread_mutex_lock(&gate_mu);
    gate_closed = closed;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

static const char doc[] = "The cat sat on the mat.\nA dog ran to the park and back.\nEnd of it.\n";

typedef struct fx {
    editor *ed;       /* editor with one buffer holding doc */
    model_editor *me; /* the model layer */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    keymap *km = keymap_new();
    keymap_add_dir(km, "keymaps");
    keymap_set_command_check(km, command_known, NULL);
    char err[256];
    assert_int_equal(keymap_load_name(km, "default", err, sizeof err), KEYMAP_OK);
    f->ed = editor_new();
    editor_set_keymap(f->ed, km, "default");
    editor_resize(f->ed, 24, 80);
    assert_int_equal(config_set(f->ed->cfg, "model", model_path, err, sizeof err), CONFIG_OK);
    assert_int_equal(config_set(f->ed->cfg, "threads", "1", err, sizeof err), CONFIG_OK);
    assert_int_equal(config_set(f->ed->cfg, "seed", "7", err, sizeof err), CONFIG_OK);
    cont_calls = cont_max_new = 0;
    text *t = text_new();
    text_insert(t, 0, doc, strlen(doc));
    text_snapshot(t);
    assert_true(editor_open_text(f->ed, t, "doc"));
    f->me = model_editor_new(f->ed, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    gate_set(false);
    model_editor_free(f->me);
    editor_free(f->ed);
    free(f);
    return 0;
}

static void tick_to_idle(fx *f)
{
    int timeout;
    model_editor_tick(f->me, 0, &timeout);
    while (model_session_busy(model_editor_session(f->me))) {
        struct pollfd p = {model_editor_fd(f->me), POLLIN, 0};
        if (poll(&p, 1, 60000) == 0) fail_msg("model job did not finish");
        model_editor_tick(f->me, 0, &timeout);
    }
}

static char *buf_text(fx *f)
{
    text *t = editor_buffer(f->ed)->text;
    size_t n = text_size(t);
    char *b = malloc(n + 1);
    text_read(t, 0, n, b);
    b[n] = '\0';
    return b;
}

static void key(fx *f, const char *name)
{
    key_code k;
    assert_int_equal(key_parse(name, &k), KEY_OK);
    editor_key(f->ed, k);
}

static void test_model_editor_ctrl_r_infills_selection_and_undo_restores(void **state)
{
    fx *f = *state;
    buffer *b = editor_buffer(f->ed);
    b->anchor = 4;
    b->cursor = 11;
    key(f, "C-r");
    tick_to_idle(f);
    char *now = buf_text(f);
    size_t tail = strlen(doc) - 11;
    assert_string_equal(now + strlen(now) - tail, doc + 11);
    assert_int_equal(b->cursor, strlen(now) - tail); /* the cursor followed the span's end */
    free(now);
    key(f, "C-r"); /* again: another sample of the same span */
    tick_to_idle(f);
    assert_non_null(strstr(f->ed->message, "sample 2"));
    command_run_line(f->ed, "model-sample-prev"); /* back to the first sample, by name */
    assert_non_null(strstr(f->ed->message, "sample 1 of 2"));
    command_run_line(f->ed, "model-sample-next");
    assert_non_null(strstr(f->ed->message, "sample 2 of 2"));
    key(f, "C-z"); /* the infill with all its samples is one undo step */
    now = buf_text(f);
    assert_string_equal(now, doc);
    free(now);
    key(f, "C-y"); /* and redo brings back the sample shown last */
    now = buf_text(f);
    assert_true(strcmp(now, doc) != 0);
    free(now);
}

/* After undo takes an infill back, its "press again for another" message no longer stands. */
static void test_model_editor_undo_replaces_infill_message(void **state)
{
    fx *f = *state;
    buffer *b = editor_buffer(f->ed);
    b->anchor = 4;
    b->cursor = 11;
    key(f, "C-r");
    tick_to_idle(f);
    assert_non_null(strstr(f->ed->message, "press again"));
    key(f, "C-z");
    tick_to_idle(f);
    char *now = buf_text(f);
    assert_string_equal(now, doc);
    free(now);
    assert_null(strstr(f->ed->message, "infilled"));
    assert_string_equal(f->ed->message, "Undone");
    key(f, "C-y");
    tick_to_idle(f);
    assert_string_equal(f->ed->message, "Redone");
}

static void test_model_editor_esc_cancels_and_restores(void **state)
{
    fx *f = *state;
    buffer *b = editor_buffer(f->ed);
    b->anchor = 4;
    b->cursor = 11;
    key(f, "C-r");
    assert_true(model_session_busy(model_editor_session(f->me)));
    key(f, "Escape");
    assert_false(model_session_busy(model_editor_session(f->me)));
    tick_to_idle(f);
    char *now = buf_text(f);
    assert_string_equal(now, doc);
    free(now);
    assert_non_null(strstr(f->ed->message, "cancelled"));
}

static void test_model_editor_ctrl_n_continues_at_cursor(void **state)
{
    fx *f = *state;
    buffer *b = editor_buffer(f->ed);
    b->cursor = 24;
    key(f, "C-n");
    assert_true(f->ed->model_status[0] != '\0'); /* the status slot names the job */
    tick_to_idle(f);
    char *now = buf_text(f);
    assert_memory_equal(now, doc, 24);
    assert_string_equal(now + strlen(now) - (strlen(doc) - 24), doc + 24);
    assert_true(b->cursor >= 24 && b->cursor == strlen(now) - (strlen(doc) - 24));
    free(now);
}

static void test_model_editor_typing_stops_continuation(void **state)
{
    fx *f = *state;
    buffer *b = editor_buffer(f->ed);
    b->cursor = 24;
    key(f, "C-n");
    /* wait for the first tokens to appear */
    int timeout;
    size_t before = text_size(b->text);
    while (model_session_busy(model_editor_session(f->me)) && text_size(b->text) == before) {
        struct pollfd p = {model_editor_fd(f->me), POLLIN, 0};
        poll(&p, 1, 1000);
        model_editor_tick(f->me, 0, &timeout);
    }
    key(f, "x");
    assert_false(model_session_busy(model_editor_session(f->me)));
    char *now = buf_text(f);
    assert_null(strstr(now, "\xe2\x96\x91")); /* no placeholder kept */
    assert_memory_equal(now, doc, 24);
    assert_string_equal(now + strlen(now) - (strlen(doc) - 24), doc + 24);
    assert_int_equal(now[b->cursor - 1], 'x'); /* typed after the kept tokens */
    free(now);
}

static void test_model_editor_inspect_prompt_replaces_token(void **state)
{
    fx *f = *state;
    buffer *b = editor_buffer(f->ed);
    b->cursor = 5;
    key(f, "M-i");
    tick_to_idle(f);
    assert_int_equal(f->ed->prompt, PROMPT_MODEL);
    assert_non_null(strstr(f->ed->prompt_label, "1'"));
    key(f, "2");
    key(f, "Enter");
    int timeout;
    model_editor_tick(f->me, 0, &timeout);
    assert_int_equal(f->ed->prompt, PROMPT_NONE);
    key(f, "C-z");
    char *now = buf_text(f);
    assert_string_equal(now, doc); /* the replacement was one undo step */
    free(now);
}

static void test_model_editor_heatmap_toggle_sets_status(void **state)
{
    fx *f = *state;
    key(f, "C-e");
    assert_true(model_editor_heatmap(f->me));
    char err[64];
    config_set(f->ed->cfg, "score-delay-ms", "0", err, sizeof err);
    for (int i = 0; i < 8; i++) tick_to_idle(f);
    buffer *b = editor_buffer(f->ed);
    assert_true(model_editor_conf_at(f->me, b, 0) >= 0.0f);
    key(f, "C-e");
    assert_false(model_editor_heatmap(f->me));
    assert_true(model_editor_conf_at(f->me, b, 0) < 0.0f);
}

static void test_model_editor_closing_buffer_drops_its_job(void **state)
{
    fx *f = *state;
    text *t2 = text_new();
    text_insert(t2, 0, doc, strlen(doc));
    assert_true(editor_open_text(f->ed, t2, "second"));
    buffer *b = editor_buffer(f->ed);
    b->anchor = 4;
    b->cursor = 30;
    key(f, "C-r");
    assert_true(model_session_busy(model_editor_session(f->me)));
    editor_close_buffer(f->ed, f->ed->cur); /* the job's text goes away while it runs */
    assert_false(model_session_busy(model_editor_session(f->me)));
    int timeout;
    for (int i = 0; i < 3; i++) {
        struct pollfd p = {model_editor_fd(f->me), POLLIN, 0};
        poll(&p, 1, 100);
        model_editor_tick(f->me, 0, &timeout); /* late events touch no freed text */
    }
    char *now = buf_text(f);
    assert_string_equal(now, doc); /* the other buffer is untouched */
    free(now);
}

static void test_model_editor_missing_model_reports_on_message_line(void **state)
{
    fx *f = *state;
    char err[64];
    config_set(f->ed->cfg, "model", "/nonexistent.gguf", err, sizeof err);
    int timeout;
    model_editor_tick(f->me, 0, &timeout);
    key(f, "C-r");
    assert_true(f->ed->message_error);
    assert_non_null(strstr(f->ed->message, "model"));
    char *now = buf_text(f);
    assert_string_equal(now, doc);
    free(now);
}

/* Selects "cat sat" and starts an infill that the closed gate holds after its first model call;
 * the placeholders are on screen when this returns. */
static void start_held_infill(fx *f)
{
    buffer *b = editor_buffer(f->ed);
    b->anchor = 4;
    b->cursor = 11;
    gate_set(true);
    key(f, "C-r");
    int timeout;
    model_editor_tick(f->me, 0, &timeout);
}

/* Text typed elsewhere while a job runs is the person's own undo steps; the job's result is one
 * step of its own, written when it ends. */
static void test_model_editor_typing_during_job_is_not_part_of_its_undo_step(void **state)
{
    fx *f = *state;
    int timeout;
    start_held_infill(f); /* the placeholders are shown */
    assert_true(model_session_busy(model_editor_session(f->me)));
    key(f, "C-End");
    key(f, "x");
    model_editor_tick(f->me, 0, &timeout);
    key(f, "y");
    gate_set(false);
    tick_to_idle(f);
    char *now = buf_text(f);
    size_t n = strlen(now);
    assert_true(n > 2 && now[n - 2] == 'x' && now[n - 1] == 'y');
    assert_null(strstr(now, MODEL_MASK_TEXT));
    free(now);
    key(f, "C-z"); /* the job's step: the original words come back, the typing stays */
    now = buf_text(f);
    char want[sizeof doc + 2];
    snprintf(want, sizeof want, "%sxy", doc);
    assert_string_equal(now, want);
    free(now);
    bool back = false; /* the typing is undone in at most two steps, through no placeholder */
    for (int i = 0; i < 2 && !back; i++) {
        key(f, "C-z");
        now = buf_text(f);
        assert_null(strstr(now, MODEL_MASK_TEXT));
        back = strcmp(now, doc) == 0;
        free(now);
    }
    assert_true(back);
}

/* Undo pressed while a job runs takes back the person's last edit, not the job's text. */
static void test_model_editor_undo_during_job_takes_back_only_the_person_edit(void **state)
{
    fx *f = *state;
    int timeout;
    start_held_infill(f);
    key(f, "C-End");
    key(f, "q");
    model_editor_tick(f->me, 0, &timeout);
    key(f, "C-z");
    model_editor_tick(f->me, 0, &timeout);
    assert_true(model_session_busy(model_editor_session(f->me))); /* the job goes on */
    gate_set(false);
    tick_to_idle(f);
    assert_non_null(strstr(f->ed->message, "infilled"));
    char *now = buf_text(f);
    size_t tail = strlen(doc) - 11;
    assert_string_equal(now + strlen(now) - tail, doc + 11); /* no q */
    assert_memory_equal(now, doc, 3);
    free(now);
    key(f, "C-z");
    now = buf_text(f);
    assert_string_equal(now, doc);
    free(now);
}

/* A recovery file written while a job shows its placeholders holds the person's text. */
static void test_model_editor_recovery_file_during_job_holds_person_text(void **state)
{
    fx *f = *state;
    char dir[] = "/tmp/bd3ed-model-recXXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("XDG_STATE_HOME", dir, 1);
    char path[300];
    snprintf(path, sizeof path, "%s/doc.txt", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(doc, fp);
    fclose(fp);
    assert_true(editor_open(f->ed, path));
    int timeout;
    start_held_infill(f);
    key(f, "C-End");
    key(f, "z");
    model_editor_tick(f->me, 0, &timeout); /* the job's text is shown again */
    assert_true(model_session_busy(model_editor_session(f->me)));
    char *shown = buf_text(f);
    assert_non_null(strstr(shown, MODEL_MASK_TEXT)); /* what the screen shows */
    free(shown);
    editor_tick(f->ed, 1000.0);
    assert_true(file_recovery_exists(path));
    text *rec = NULL;
    assert_int_equal(file_recovery_load(path, &rec, NULL), FILE_OK);
    size_t n = text_size(rec);
    char *got = malloc(n + 1);
    text_read(rec, 0, n, got);
    got[n] = '\0';
    char want[sizeof doc + 1];
    snprintf(want, sizeof want, "%sz", doc);
    assert_string_equal(got, want);
    free(got);
    text_free(rec);
    shown = buf_text(f);
    assert_non_null(strstr(shown, MODEL_MASK_TEXT)); /* and the job's text is back on screen */
    free(shown);
    gate_set(false);
    tick_to_idle(f);
    file_recovery_remove(path);
    unlink(path);
    rmdir(dir);
}

/* With a main loop, a model command never waits for the model file to be read: the key
 * returns at once (the editor keeps taking keys), and the command runs once the loader thread
 * has read the model and woken the loop. */
static void test_model_editor_loads_the_model_off_the_screen_thread(void **state)
{
    fx *f = *state;
    loop *lp = loop_new();
    assert_non_null(lp);
    editor_set_loop(f->ed, lp);
    buffer *b = editor_buffer(f->ed);
    b->anchor = 4;
    b->cursor = 11;
    assert_string_equal(editor_model_status(f->ed), "");
    key(f, "C-r");
    assert_null(model_session_model(model_editor_session(f->me))); /* not read on this thread */
    assert_non_null(strstr(f->ed->message, "loading"));
    assert_string_equal(editor_model_status(f->ed), "loading model..."); /* the status slot says so */
    char *now = buf_text(f);
    assert_string_equal(now, doc); /* nothing ran yet */
    free(now);
    int timeout;
    for (int i = 0; i < 600 && !model_session_model(model_editor_session(f->me)); i++) {
        loop_wait(lp, -1, 100); /* the loader's wakeup ends the wait */
        model_editor_tick(f->me, 0, &timeout);
    }
    assert_non_null(model_session_model(model_editor_session(f->me)));
    assert_null(strstr(editor_model_status(f->ed), "loading")); /* read: the job's state instead */
    tick_to_idle(f);
    assert_string_equal(editor_model_status(f->ed), "");
    assert_non_null(strstr(f->ed->message, "infilled"));
    now = buf_text(f);
    assert_string_not_equal(now, doc); /* the infill ran on the selection (whole tokens) */
    assert_memory_equal(now, doc, 3);
    free(now);
    model_editor_free(f->me); /* teardown frees it again: make it a fresh one */
    f->me = model_editor_new(f->ed, NULL);
    editor_set_loop(f->ed, NULL);
    loop_free(lp);
}

/* A model file that cannot be read: the status slot says "loading model..." while the reader
 * runs, then that the load failed (the reason on the message line), until another model is
 * set. */
static void test_model_editor_status_shows_loading_then_the_failure(void **state)
{
    fx *f = *state;
    char path[] = "/tmp/bd3ed-badmodel-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "GGUF but not really a model file", 32), 32);
    close(fd);
    char err[256];
    assert_int_equal(config_set(f->ed->cfg, "model", path, err, sizeof err), CONFIG_OK);
    int timeout;
    model_editor_tick(f->me, 0, &timeout); /* the new option takes effect */
    loop *lp = loop_new();
    assert_non_null(lp);
    editor_set_loop(f->ed, lp);
    key(f, "C-r");
    assert_string_equal(editor_model_status(f->ed), "loading model...");
    for (int i = 0; i < 600 && strstr(editor_model_status(f->ed), "loading"); i++) {
        loop_wait(lp, -1, 100);
        model_editor_tick(f->me, 0, &timeout);
    }
    assert_string_equal(editor_model_status(f->ed), "model failed to load");
    assert_true(f->ed->message_error);
    assert_non_null(strstr(f->ed->message, "model: "));
    char *now = buf_text(f);
    assert_string_equal(now, doc); /* no command ran */
    free(now);
    model_editor_tick(f->me, 0, &timeout); /* it stays said */
    assert_string_equal(editor_model_status(f->ed), "model failed to load");
    assert_int_equal(config_set(f->ed->cfg, "model", model_path, err, sizeof err), CONFIG_OK);
    model_editor_tick(f->me, 0, &timeout); /* another model: not failed (yet) */
    assert_string_equal(editor_model_status(f->ed), "");
    unlink(path);
    editor_set_loop(f->ed, NULL);
    loop_free(lp);
}

/* Waits (the loop woken by the loader) until the model is read and its command has run. */
static void wait_for_load(fx *f, loop *lp)
{
    int timeout;
    for (int i = 0; i < 600 && !model_session_model(model_editor_session(f->me)); i++) {
        loop_wait(lp, -1, 100);
        model_editor_tick(f->me, 0, &timeout);
    }
    assert_non_null(model_session_model(model_editor_session(f->me)));
}

/* Once the model is read, "loading" leaves the message line: the job that runs then shows its
 * progress in the status slot, and its own messages; a message that came while loading stays. */
static void test_model_editor_loading_message_goes_when_loaded(void **state)
{
    fx *f = *state;
    loop *lp = loop_new();
    assert_non_null(lp);
    editor_set_loop(f->ed, lp);
    buffer *b = editor_buffer(f->ed);
    b->anchor = 4;
    b->cursor = 11;
    gate_set(true); /* the infill holds after its first step */
    key(f, "C-r");
    assert_non_null(strstr(f->ed->message, "loading"));
    key(f, "C-r"); /* again while loading */
    assert_non_null(strstr(f->ed->message, "still loading"));
    wait_for_load(f, lp);
    assert_true(model_session_busy(model_editor_session(f->me))); /* the job runs, held */
    assert_null(strstr(f->ed->message, "loading"));
    assert_non_null(strstr(editor_model_status(f->ed), "infill")); /* its progress */
    gate_set(false);
    tick_to_idle(f);
    assert_non_null(strstr(f->ed->message, "infilled"));
    model_editor_free(f->me);
    f->me = model_editor_new(f->ed, NULL);

    /* a message set while the model loads is not the loader's to take back */
    b->anchor = 4;
    b->cursor = 11;
    gate_set(true);
    key(f, "C-r");
    assert_non_null(strstr(f->ed->message, "loading"));
    editor_message(f->ed, EDITOR_MSG_INFO, "Saved doc (66 bytes)");
    wait_for_load(f, lp);
    assert_string_equal(f->ed->message, "Saved doc (66 bytes)");
    gate_set(false);
    tick_to_idle(f);
    model_editor_free(f->me); /* teardown frees it again: make it a fresh one */
    f->me = model_editor_new(f->ed, NULL);
    editor_set_loop(f->ed, NULL);
    loop_free(lp);
}

/* Saving while a job shows its placeholders writes the person's text and says how many bytes
 * that was (not the size of the text on screen). */
static void test_model_editor_save_during_job_reports_bytes_written(void **state)
{
    fx *f = *state;
    char dir[] = "/tmp/bd3ed-model-saveXXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("XDG_STATE_HOME", dir, 1);
    char path[300];
    snprintf(path, sizeof path, "%s/doc.txt", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(doc, fp);
    fclose(fp);
    assert_true(editor_open(f->ed, path));
    int timeout;
    start_held_infill(f);
    key(f, "C-End");
    key(f, "z");
    model_editor_tick(f->me, 0, &timeout);
    char *shown = buf_text(f);
    assert_non_null(strstr(shown, MODEL_MASK_TEXT));
    size_t shown_len = strlen(shown);
    free(shown);
    key(f, "C-s");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((size_t)st.st_size, strlen(doc) + 1); /* the person's text and the z */
    assert_true(shown_len != (size_t)st.st_size);
    char want[400];
    snprintf(want, sizeof want, "Saved %s (%zu bytes)", path, (size_t)st.st_size);
    assert_string_equal(f->ed->message, want);
    gate_set(false);
    tick_to_idle(f);
    file_recovery_remove(path);
    unlink(path);
    rmdir(dir);
}

/* Typing elsewhere while an infill runs: when it ends, the cursor stays where the writer put it
 * and nothing gets selected (the next key must not replace the generated text). */
static void test_model_editor_typing_elsewhere_during_infill_keeps_cursor_and_selection(void **state)
{
    fx *f = *state;
    int timeout;
    buffer *b = editor_buffer(f->ed);
    start_held_infill(f);
    key(f, "C-End");
    key(f, "x");
    model_editor_tick(f->me, 0, &timeout);
    gate_set(false);
    tick_to_idle(f);
    assert_non_null(strstr(f->ed->message, "infilled"));
    size_t s, e;
    assert_false(buffer_selection(b, &s, &e));
    assert_int_equal(b->cursor, text_size(b->text)); /* after the typed x, at the end */
    key(f, "y");
    char *now = buf_text(f);
    size_t n = strlen(now);
    assert_true(n > 2 && now[n - 2] == 'x' && now[n - 1] == 'y');
    size_t tail = strlen(doc) - 11;
    assert_memory_equal(now + n - 2 - tail, doc + 11, tail); /* the infill's result is intact */
    free(now);
}

/* Without moving, the writer finds the result selected: the infill key again draws another. */
static void test_model_editor_infill_result_selected_when_writer_did_not_move(void **state)
{
    fx *f = *state;
    buffer *b = editor_buffer(f->ed);
    b->anchor = 4;
    b->cursor = 11;
    key(f, "C-r");
    tick_to_idle(f);
    size_t s, e;
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 3); /* the span took the blank before "cat" */
    char *now = buf_text(f);
    assert_int_equal(e, strlen(now) - (strlen(doc) - 11));
    free(now);
}

/* vi visual mode: v e selects "cat" with its last character, the infill rewrites all of it, and
 * the result stays selected in visual mode as the model's edits leave it (\,i again draws
 * another sample; d deletes exactly the result). */
static void test_model_editor_vi_visual_infill_takes_the_cursor_character(void **state)
{
    fx *f = *state;
    keymap *km = keymap_new();
    keymap_add_dir(km, "keymaps");
    keymap_set_command_check(km, command_known, NULL);
    char err[256];
    assert_int_equal(keymap_load_name(km, "vi", err, sizeof err), KEYMAP_OK);
    editor_set_keymap(f->ed, km, "vi");
    buffer *b = editor_buffer(f->ed);
    b->cursor = 4;
    key(f, "v");
    key(f, "e");
    size_t s, e;
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 4);
    assert_int_equal(e, 7); /* "cat", t included */
    key(f, "\\");
    key(f, "i");
    tick_to_idle(f);
    size_t tail = strlen(doc) - 7;
    char *now = buf_text(f);
    size_t n = strlen(now);
    assert_string_equal(now + n - tail, doc + 7); /* " sat on ..." untouched: t was rewritten */
    free(now);
    assert_string_equal(keymap_mode_name(km, editor_key_state(f->ed)->mode), "visual");
    assert_true(buffer_selection(b, &s, &e));
    assert_int_equal(s, 3); /* the span took the blank before "cat" */
    assert_int_equal(e, n - tail);
    key(f, "\\");
    key(f, "i");
    tick_to_idle(f);
    assert_non_null(strstr(f->ed->message, "sample 2"));
    key(f, "d");
    now = buf_text(f);
    assert_string_equal(now, "The sat on the mat.\nA dog ran to the park and back.\nEnd of it.\n");
    free(now);
}

/* Key repeat on continue: presses while a block runs coalesce into one more block, so
 * generation stops within one block of the last press. */
static void test_model_editor_continue_key_repeat_coalesces(void **state)
{
    fx *f = *state;
    int timeout;
    buffer *b = editor_buffer(f->ed);
    b->cursor = 24;
    gate_set(true);
    key(f, "C-n");
    model_editor_tick(f->me, 0, &timeout);
    for (int i = 0; i < 12; i++) { /* the key held: repeats arrive while the block runs */
        key(f, "C-n");
        model_editor_tick(f->me, 0, &timeout);
    }
    assert_true(model_session_busy(model_editor_session(f->me)));
    gate_set(false);
    tick_to_idle(f);
    assert_true(cont_block_len > 0);
    assert_int_equal(cont_calls, 2); /* the block running at the last press, then one more */
    assert_true(cont_max_new <= 2 * cont_block_len);
    char *now = buf_text(f);
    assert_memory_equal(now, doc, 24);
    assert_string_equal(now + strlen(now) - (strlen(doc) - 24), doc + 24);
    free(now);
}

/* A run of continuation blocks (the key pressed again while a block runs, or right after one
 * ended) is one undo step. */
static void test_model_editor_continuation_run_is_one_undo_step(void **state)
{
    fx *f = *state;
    int timeout;
    buffer *b = editor_buffer(f->ed);
    b->cursor = 24;
    gate_set(true);
    key(f, "C-n");
    model_editor_tick(f->me, 0, &timeout);
    key(f, "C-n");
    gate_set(false);
    tick_to_idle(f);
    key(f, "C-n"); /* pressed again after the run ended, at its end */
    tick_to_idle(f);
    assert_int_equal(cont_calls, 3);
    char *now = buf_text(f);
    assert_true(strlen(now) > strlen(doc));
    free(now);
    key(f, "C-z");
    now = buf_text(f);
    assert_string_equal(now, doc);
    free(now);
}

/* M-b fills every ___ blank of the text at once; the cursor stays where it was; M-b again draws
 * another sample, M-< goes back to the first; one C-z takes the fill with its samples back. */
static void test_model_editor_fill_key_fills_the_blanks(void **state)
{
    fx *f = *state;
    static const char blanks[] = "The ___ sat on the ___.\nEnd of it.\n";
    buffer *b = editor_buffer(f->ed);
    text *t = b->text;
    text_delete(t, 0, text_size(t));
    text_insert(t, 0, blanks, strlen(blanks));
    text_snapshot(t);
    b->cursor = text_size(t); /* at the end, away from the blanks */
    b->anchor = b->cursor;
    key(f, "M-b");
    tick_to_idle(f);
    assert_non_null(strstr(f->ed->message, "filled 2 blanks"));
    char *first = buf_text(f);
    assert_null(strstr(first, "___"));
    assert_int_equal(b->cursor, text_size(t)); /* the writer's cursor stayed */
    b->cursor = b->anchor = 4;                 /* in the first filled blank, nothing selected */
    key(f, "M-b");
    tick_to_idle(f);
    assert_non_null(strstr(f->ed->message, "sample 2"));
    key(f, "M-<");
    assert_non_null(strstr(f->ed->message, "sample 1 of 2"));
    char *now = buf_text(f);
    assert_string_equal(now, first);
    free(now);
    key(f, "C-z");
    now = buf_text(f);
    assert_string_equal(now, blanks);
    free(now);
    free(first);
}

int main(void)
{
    if (fixture_model_path(model_path, sizeof model_path) != 0) return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_editor_ctrl_r_infills_selection_and_undo_restores, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_undo_replaces_infill_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_esc_cancels_and_restores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_ctrl_n_continues_at_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_typing_stops_continuation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_inspect_prompt_replaces_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_heatmap_toggle_sets_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_closing_buffer_drops_its_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_missing_model_reports_on_message_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_typing_during_job_is_not_part_of_its_undo_step,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_undo_during_job_takes_back_only_the_person_edit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_save_during_job_reports_bytes_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_loads_the_model_off_the_screen_thread, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_loading_message_goes_when_loaded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_recovery_file_during_job_holds_person_text, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_model_editor_typing_elsewhere_during_infill_keeps_cursor_and_selection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_infill_result_selected_when_writer_did_not_move,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_status_shows_loading_then_the_failure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_vi_visual_infill_takes_the_cursor_character, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_continue_key_repeat_coalesces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_continuation_run_is_one_undo_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_editor_fill_key_fills_the_blanks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
