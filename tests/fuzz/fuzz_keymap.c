/* fuzz_keymap.c: fuzz target for the keymap parser and key names: any bytes as a keymap file,
 * then the same bytes as keys fed to the lookup and as key names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "keymap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    keymap *km = keymap_new();
    if (!km) return 0;
    char err[256];
    keymap_load_string(km, (const char *)data, size, "fuzz.keys", err, sizeof err);
    keymap_state st;
    keymap_state_init(km, &st);
    for (size_t i = 0; i < size; i++) {
        const keymap_binding *b;
        key_code k = key_from_byte(data[i]);
        if (i % 7 == 3) k = key_with_alt(k);
        keymap_feed(km, &st, k, &b);
        if (b) keymap_format_keys(b->keys, b->n_keys, err, sizeof err);
        if (i % 13 == 0) st.mode = (int)(data[i] % 10) - 1;
        keymap_state_describe(&st, err, sizeof err);
    }
    for (int i = 0; i < keymap_n_bindings(km); i++)
        keymap_find_command(km, keymap_binding_at(km, i)->mode, keymap_binding_at(km, i)->command);
    keymap_free(km);
    /* Each line as a key name. */
    char name[64];
    size_t n = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == '\n' || n == sizeof name - 1) {
            name[n] = '\0';
            key_code k;
            if (key_parse(name, &k) == KEY_OK) {
                char out[KEY_NAME_MAX];
                key_code again;
                key_format(k, out, sizeof out);
                if (key_parse(out, &again) != KEY_OK || again != k) abort();
            }
            n = 0;
        } else {
            name[n++] = (char)data[i];
        }
    }
    key_from_terminfo(size ? (const char *)name : NULL);
    return 0;
}
