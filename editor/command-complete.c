/* command-complete.c: Tab completion of command names at the command prompt: the names that
 * start with what is typed, their longest common prefix, and the list shown after the input.
 * Depends on command.h, editor-core.h; no curses, no model. */
#include "command.h"
#include "editor-core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int command_complete(const char *prefix, char *common, size_t common_size, char *list, size_t list_size)
{
    size_t plen = strlen(prefix);
    int total = command_count();
    const char **names = malloc((size_t)(total > 0 ? total : 1) * sizeof *names);
    if (common_size > 0) snprintf(common, common_size, "%s", prefix);
    if (list_size > 0) list[0] = 0;
    if (!names) return -1;
    int n = 0;
    for (int i = 0; i < total; i++) {
        const char *name = command_at(i)->name;
        if (strncmp(name, prefix, plen) == 0) names[n++] = name;
    }
    if (n == 0) {
        free(names);
        return 0;
    }
    qsort(names, (size_t)n, sizeof *names, name_cmp);
    /* sorted: the first and the last name share what all of them share */
    size_t clen = 0;
    while (names[0][clen] && names[0][clen] == names[n - 1][clen]) clen++;
    if (common_size > 0) snprintf(common, common_size, "%.*s", (int)clen, names[0]);
    /* the list: names apart by spaces; " ..." ends it where the rest does not fit */
    size_t used = 0;
    for (int i = 0; i < n && list_size >= 8; i++) {
        size_t len = strlen(names[i]), sep = used > 0;
        size_t room = list_size - 1 - (i + 1 < n ? 4 : 0); /* room for " ..." while names follow */
        if (used + sep + len > room) {
            memcpy(list + used, " ..." + !sep, 4 - !sep);
            used += 4 - !sep;
            break;
        }
        if (sep) list[used++] = ' ';
        memcpy(list + used, names[i], len);
        used += len;
    }
    if (list_size >= 8) list[used] = 0;
    free(names);
    return n;
}

void command_prompt_key(editor *ed, key_code key, void *ctx)
{
    (void)ctx;
    if (key != KEYC_TAB || ed->prompt != PROMPT_COMMAND) return;
    if (strchr(ed->input, ' ')) return; /* only the command name is completed */
    char common[EDITOR_INPUT_MAX], list[EDITOR_MESSAGE_MAX - 2];
    int n = command_complete(ed->input, common, sizeof common, list, sizeof list);
    if (n < 0) return;
    if (n == 0) {
        snprintf(ed->prompt_hint, sizeof ed->prompt_hint, "[no match]");
        return;
    }
    size_t len = strlen(common);
    if (len > ed->input_len) {
        memcpy(ed->input, common, len + 1);
        ed->input_len = len;
    }
    if (n > 1) snprintf(ed->prompt_hint, sizeof ed->prompt_hint, "{%s}", list);
}
