/* model-inspect.c: alternatives of the token at the cursor and replacing it with one of them.
 * Depends on model-session-core.h; no curses. */
#include <stdlib.h>
#include <string.h>
#include "model-session-core.h"

int model_session_inspect(model_session *s, text *t, size_t cursor)
{
    if (session_ready(s) != 0) return -1;
    size_t size = text_size(t);
    if (size == 0) {
        session_msg(s, MODEL_MSG_INFO, "model: no token here");
        return -1;
    }
    if (cursor >= size) cursor = size - 1;
    session_stop(s);
    /* the word around the cursor, with the blank before it (GPT-2 tokens start with it) */
    size_t lo = cursor, hi = cursor + 1;
    if (!session_is_blank(text_byte_at(t, cursor))) {
        while (lo > 0 && !session_is_blank(text_byte_at(t, lo - 1)) && cursor - lo < 256) lo--;
        while (hi < size && !session_is_blank(text_byte_at(t, hi)) && hi - cursor < 256) hi++;
        if (lo > 0 && text_byte_at(t, lo - 1) == ' ') lo--;
    }
    const bd3_hparams *hp = bd3_model_hparams(s->model);
    bd3_status st = model_window_build(&s->win, s->model, t, lo, hi, -1, hp->n_ctx, -1, -1);
    if (st != BD3_OK || s->win.hi <= s->win.lo) {
        model_window_release(&s->win);
        session_msg(s, MODEL_MSG_ERROR, "model: cannot inspect here");
        return -1;
    }
    int pos = s->win.lo;
    while (pos + 1 < s->win.hi && s->win.pos[pos + 1] <= cursor) pos++;
    model_job j = {0};
    j.kind = MODEL_JOB_INSPECT;
    j.ids = s->win.ids;
    j.n = s->win.n;
    j.pos = pos;
    j.n_alt = SESSION_ALTS;
    s->inspect.t = t;
    s->inspect.rev = text_revision(t);
    s->inspect.lo = s->win.pos[pos];
    s->inspect.hi = s->win.pos[pos + 1];
    s->inspect.n = 0;
    s->kind = MODEL_JOB_INSPECT;
    s->n_target = 1;
    s->live.span.t = t;
    s->job_id = session_submit(s, &j);
    if (!s->job_id) {
        session_job_clear(s);
        return -1;
    }
    return 0;
}

int model_session_alt_count(const model_session *s) { return s->inspect.n; }

const char *model_session_alt_text(const model_session *s, int i, size_t *len)
{
    *len = 0;
    if (i < 0 || i >= s->inspect.n || !s->model) return NULL;
    return bd3_token_bytes(s->model, s->inspect.ids[i], len);
}

double model_session_alt_prob(const model_session *s, int i)
{
    return i >= 0 && i < s->inspect.n ? s->inspect.probs[i] : 0.0;
}

void model_session_alternatives_close(model_session *s) { s->inspect.n = 0; }

int model_session_inspect_choose(model_session *s, text *t, int k)
{
    if (s->inspect.n > 0 && (k < 0 || k >= s->inspect.n)) {
        session_msg(s, MODEL_MSG_INFO, "model: no alternative %d; the choices were 1 to %d", k + 1,
                    s->inspect.n);
        s->inspect.n = 0;
        return -1;
    }
    if (k < 0 || k >= s->inspect.n || s->inspect.t != t || text_revision(t) != s->inspect.rev) {
        s->inspect.n = 0;
        session_msg(s, MODEL_MSG_INFO, "model: the text changed; inspect again");
        return -1;
    }
    size_t len = 0;
    const char *b = bd3_token_bytes(s->model, s->inspect.ids[k], &len);
    if (!b) return -1;
    uint8_t *attr = malloc(len ? len : 1);
    if (!attr) return -1;
    memset(attr, model_window_conf_encode((float)s->inspect.probs[k], true), len);
    text_group_begin(t);
    bool ok = session_replace(s, t, s->inspect.lo, s->inspect.hi, b, attr, len);
    text_group_end(t);
    free(attr);
    s->inspect.n = 0;
    return ok ? 0 : -1;
}

void inspect_on_done(model_session *s, const model_event *e)
{
    text *t = s->live.span.t;
    if (s->inspect.t == t && text_revision(t) == s->inspect.rev) {
        s->inspect.n = e->n_alt;
        memcpy(s->inspect.ids, e->alt_ids, sizeof s->inspect.ids);
        memcpy(s->inspect.probs, e->alt_probs, sizeof s->inspect.probs);
    }
    session_job_clear(s);
}
