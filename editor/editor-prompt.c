/* editor-prompt.c: the message line (with the start-up queue) and the prompt: line editing of
 * its input; what a prompt means is given by its client's callbacks (editor_prompt_ops).
 * No curses, no model. */
#include "editor-core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "utf8.h"

void editor_message(editor *ed, editor_msg_kind kind, const char *fmt, ...)
{
    char *dst = ed->message;
    bool *dst_error = &ed->message_error;
    if (ed->message_queueing && (ed->message[0] || ed->prompt != PROMPT_NONE)) {
        if (ed->n_msg_queue == EDITOR_MESSAGE_QUEUE) return; /* the first ones are kept */
        dst = ed->msg_queue[ed->n_msg_queue];
        dst_error = &ed->msg_queue_error[ed->n_msg_queue];
        ed->n_msg_queue++;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, EDITOR_MESSAGE_MAX, fmt, ap);
    va_end(ap);
    /* the message line is drawn by the terminal layer: keep it printable */
    for (char *p = dst; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    *dst_error = kind == EDITOR_MSG_ERROR;
    ed->message_serial++;
}

uint64_t editor_message_serial(const editor *ed) { return ed->message_serial; }

void editor_message_withdraw(editor *ed, uint64_t serial)
{
    if (ed->message_serial != serial) return; /* another message came since */
    if (ed->n_msg_queue > 0) {
        ed->n_msg_queue--; /* it was the last to queue */
        return;
    }
    ed->message[0] = 0;
    ed->message_error = false;
}

/* Shows the oldest waiting message. */
void editor_message_next(editor *ed)
{
    if (ed->n_msg_queue == 0) return;
    memcpy(ed->message, ed->msg_queue[0], EDITOR_MESSAGE_MAX);
    ed->message_error = ed->msg_queue_error[0];
    ed->n_msg_queue--;
    memmove(ed->msg_queue[0], ed->msg_queue[1], (size_t)ed->n_msg_queue * EDITOR_MESSAGE_MAX);
    memmove(&ed->msg_queue_error[0], &ed->msg_queue_error[1], (size_t)ed->n_msg_queue * sizeof(bool));
    ed->message_serial++;
}

void editor_prompt_open(editor *ed, const editor_prompt_ops *ops, void *ctx, const char *label,
                        const char *initial)
{
    buffer *b = editor_buffer(ed);
    ed->prompt = ops->kind;
    ed->prompt_ops = ops;
    ed->prompt_ctx = ctx;
    snprintf(ed->prompt_label, sizeof ed->prompt_label, "%s", label);
    ed->input_len = strlen(initial) < EDITOR_INPUT_MAX - 1 ? strlen(initial) : EDITOR_INPUT_MAX - 1;
    memcpy(ed->input, initial, ed->input_len);
    ed->input[ed->input_len] = 0;
    ed->prompt_hint[0] = 0;
    if (ed->message_queueing && ed->message[0] && ed->n_msg_queue < EDITOR_MESSAGE_QUEUE) {
        /* a start-up message under a start-up prompt is shown after it */
        memmove(ed->msg_queue[1], ed->msg_queue[0], (size_t)ed->n_msg_queue * EDITOR_MESSAGE_MAX);
        memmove(&ed->msg_queue_error[1], &ed->msg_queue_error[0], (size_t)ed->n_msg_queue * sizeof(bool));
        memcpy(ed->msg_queue[0], ed->message, EDITOR_MESSAGE_MAX);
        ed->msg_queue_error[0] = ed->message_error;
        ed->n_msg_queue++;
    }
    ed->message[0] = 0;
    if (b) {
        ed->origin_cursor = b->cursor;
        ed->origin_anchor = b->anchor;
        ed->origin_top = b->top;
    }
}

void editor_prompt_end(editor *ed)
{
    ed->prompt = PROMPT_NONE;
    ed->prompt_ops = NULL;
    ed->prompt_ctx = NULL;
    ed->input_len = 0;
    ed->input[0] = 0;
    ed->prompt_hint[0] = 0;
    editor_recovery_offer(ed);
}

/* Hands the input (a copy: the callback may close the prompt) to the client's accept. */
static void prompt_accept(editor *ed, const char *input)
{
    const editor_prompt_ops *ops = ed->prompt_ops;
    char in[EDITOR_INPUT_MAX];
    snprintf(in, sizeof in, "%s", input);
    if (ops && ops->accept)
        ops->accept(ed, in, ed->prompt_ctx);
    else
        editor_prompt_end(ed);
}

static void prompt_cancel(editor *ed)
{
    const editor_prompt_ops *ops = ed->prompt_ops;
    if (ops && ops->cancel) ops->cancel(ed, ed->prompt_ctx);
    ed->quit_after_save = false;
    editor_prompt_end(ed);
    editor_message(ed, EDITOR_MSG_INFO, "Cancelled");
}

static void prompt_changed(editor *ed)
{
    const editor_prompt_ops *ops = ed->prompt_ops;
    if (ops && ops->changed) ops->changed(ed, ed->input, ed->prompt_ctx);
}

static bool prompt_is_yes_no(const editor *ed) { return ed->prompt_ops && ed->prompt_ops->yes_no; }

static bool is_cancel_key(key_code key)
{
    return key == KEYC_ESC || key == (KEYC_CTRL | 'g') || key == (KEYC_CTRL | 'c');
}

void editor_prompt_key(editor *ed, key_code key)
{
    ed->prompt_hint[0] = 0; /* a hint lasts until the next key */
    if (prompt_is_yes_no(ed)) {
        char answer[2] = {0, 0};
        if (is_cancel_key(key)) {
            answer[0] = ed->prompt_ops->on_escape;
            if (!answer[0]) {
                prompt_cancel(ed);
                return;
            }
        } else if (key < 0x80 && key_is_printable(key)) {
            answer[0] = (char)(key | 0x20);
        } else {
            return;
        }
        prompt_accept(ed, answer);
        return;
    }
    if (is_cancel_key(key)) {
        prompt_cancel(ed);
        return;
    }
    if (key == KEYC_ENTER) {
        prompt_accept(ed, ed->input);
        return;
    }
    if (key == KEYC_BACKSPACE || key == (KEYC_CTRL | 'h')) {
        if (ed->input_len == 0) return;
        do ed->input_len--;
        while (ed->input_len > 0 && utf8_is_cont((unsigned char)ed->input[ed->input_len]));
        ed->input[ed->input_len] = 0;
        prompt_changed(ed);
        return;
    }
    if (key == (KEYC_CTRL | 'u')) {
        ed->input_len = 0;
        ed->input[0] = 0;
        prompt_changed(ed);
        return;
    }
    if (key_is_printable(key)) {
        char u[UTF8_MAX];
        size_t n = utf8_encode(key & KEYC_BASE_MASK, u);
        if (ed->input_len + n >= EDITOR_INPUT_MAX) return;
        memcpy(ed->input + ed->input_len, u, n);
        ed->input_len += n;
        ed->input[ed->input_len] = 0;
        prompt_changed(ed);
        return;
    }
    if (ed->prompt_ops && ed->prompt_ops->key) ed->prompt_ops->key(ed, key, ed->prompt_ctx);
}

void editor_prompt_paste(editor *ed, const char *bytes, size_t len)
{
    if (prompt_is_yes_no(ed)) return;
    for (size_t i = 0; i < len && ed->input_len + 1 < EDITOR_INPUT_MAX; i++) {
        unsigned char c = (unsigned char)bytes[i];
        if (c < 0x20 || c == 0x7f) continue;
        ed->input[ed->input_len++] = (char)c;
    }
    ed->input[ed->input_len] = 0;
    prompt_changed(ed);
}
