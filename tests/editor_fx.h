/* editor_fx.h: an editor without a terminal for the editor test programs: one with a shipped
 * keymap, keys by name, typing, the buffer's text. Test-only. */
#ifndef BD3_TEST_EDITOR_FX_H
#define BD3_TEST_EDITOR_FX_H

#include <stdlib.h>
#include <string.h>
#include "command.h"
#include "editor-core.h"

static inline editor *new_editor(const char *km_name)
{
    keymap *km = keymap_new();
    keymap_add_dir(km, "keymaps");
    keymap_set_command_check(km, command_known, NULL);
    char err[256];
    assert_int_equal(keymap_load_name(km, km_name, err, sizeof err), KEYMAP_OK);
    editor *ed = editor_new();
    assert_non_null(ed);
    editor_set_keymap(ed, km, km_name);
    editor_resize(ed, 12, 40);
    return ed;
}

static inline void keys(editor *ed, const char *names)
{
    char buf[64];
    const char *p = names;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        size_t n = strcspn(p, " ");
        memcpy(buf, p, n);
        buf[n] = 0;
        key_code k;
        assert_int_equal(key_parse(buf, &k), KEY_OK);
        editor_key(ed, k);
        p += n;
    }
}

static inline void type(editor *ed, const char *s)
{
    for (; *s; s++) editor_key(ed, *s == '\n' ? KEYC_ENTER : (key_code)(unsigned char)*s);
}

static inline char *buf_contents(editor *ed)
{
    buffer *b = editor_buffer(ed);
    size_t n = text_size(b->text);
    char *s = malloc(n + 1);
    text_read(b->text, 0, n, s);
    s[n] = 0;
    return s;
}

#endif
