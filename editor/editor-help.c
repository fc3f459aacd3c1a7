/* editor-help.c: the help screen, a read-only buffer listing the active keymap's bindings and
 * the commands without a key. No curses, no model. */
#include "editor-core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "command.h"

static void help_append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap + n + 1) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb) return;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

void editor_show_help(editor *ed)
{
    if (!ed->km) return;
    buffer *from = editor_buffer(ed);
    for (int i = 0; i < ed->n_bufs; i++)
        if (ed->bufs[i]->is_help) {
            editor_close_buffer(ed, i);
            break;
        }
    char *buf = NULL, line[512];
    size_t len = 0, cap = 0;
    int mode = ed->ks.mode;
    snprintf(line, sizeof line,
             "bd3ed %s: keys of the %s keymap, %s mode (Esc or the help key closes this)\n\n", BD3ED_VERSION,
             ed->keymap_name[0] ? ed->keymap_name : "active", keymap_mode_name(ed->km, mode));
    help_append(&buf, &len, &cap, line);
    for (int m = 0; m < keymap_n_modes(ed->km); m++) {
        if (keymap_n_modes(ed->km) > 1) {
            snprintf(line, sizeof line, "%s mode%s\n", keymap_mode_name(ed->km, m),
                     keymap_mode_self_insert(ed->km, m) ? " (typing inserts text)" : "");
            help_append(&buf, &len, &cap, line);
        }
        for (int i = 0; i < keymap_n_bindings(ed->km); i++) {
            const keymap_binding *bd = keymap_binding_at(ed->km, i);
            if (!bd || bd->mode != m) continue;
            char keys[128];
            keymap_format_keys(bd->keys, bd->n_keys, keys, sizeof keys);
            const command *c = command_find(bd->command);
            snprintf(line, sizeof line, "  %-16s %-22s %s\n", keys, bd->command,
                     bd->help[0] ? bd->help
                     : c         ? c->help
                                 : "");
            help_append(&buf, &len, &cap, line);
        }
        help_append(&buf, &len, &cap, "\n");
    }
    help_append(&buf, &len, &cap, "Commands without a key (run them with the command prompt):\n");
    bool modal = keymap_n_modes(ed->km) > 1;
    for (int i = 0; i < command_count(); i++) {
        const command *c = command_at(i);
        if (!modal && command_modal_only(c)) continue;
        bool bound = false;
        for (int m = 0; m < keymap_n_modes(ed->km) && !bound; m++)
            bound = keymap_find_command(ed->km, m, c->name) != NULL;
        if (bound) continue;
        snprintf(line, sizeof line, "  %-22s %s\n", c->name, c->help);
        help_append(&buf, &len, &cap, line);
    }
    if (!buf) return;
    text *t = text_new_owned(buf, len, false);
    if (!t) {
        free(buf);
        return;
    }
    if (!editor_open_text(ed, t, "[help]")) {
        text_free(t);
        return;
    }
    buffer *b = editor_buffer(ed);
    b->readonly = true;
    b->is_help = true;
    b->help_from = from && !from->is_help ? from : NULL;
}
