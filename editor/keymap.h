/* keymap.h: key bindings as data: one parser for the shipped keymaps (keymaps/NAME.keys) and
 * user keymaps, modes, prefix sequences, vi counts, and enumeration for the help screen.
 * Depends on key.h and libc only: command names are plain strings the editor resolves.
 *
 * File format (one item per line, fields separated by blanks, '#' starts a comment line):
 *   include NAME                      read NAME.keys first (later lines extend or override it)
 *   mode NAME [self-insert] [count] [inclusive]
 *                                     declare a mode; self-insert: unbound printable keys insert
 *                                     themselves; count: leading digits give a repeat count;
 *                                     inclusive: the selection takes in the character under its
 *                                     far end as well (vi visual mode)
 *   MODE KEYS COMMAND [HELP...]       bind; KEYS is keys separated by commas ("C-x,C-s", "g,g"),
 *                                     HELP runs to the end of the line; COMMAND "none" unbinds
 * The first mode is "normal" when declared, else the first declared mode. A later binding of the
 * same keys replaces the earlier one, and also removes bindings it would shadow as a prefix. */
#ifndef BD3ED_KEYMAP_H
#define BD3ED_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include "key.h"

#define KEYMAP_MAX_SEQ     4     /* keys in one binding */
#define KEYMAP_MAX_MODES   8     /* modes in one keymap */
#define KEYMAP_MAX_NAME    32    /* bytes of a mode or keymap name, NUL included */
#define KEYMAP_MAX_COMMAND 64    /* bytes of a command name, NUL included */
#define KEYMAP_MAX_HELP    160   /* bytes of a help text, NUL included */
#define KEYMAP_MAX_LINE    1024  /* bytes of one line of a keymap file */
#define KEYMAP_MAX_DEPTH   8     /* nested includes */
#define KEYMAP_MAX_DIRS    4     /* search directories */
#define KEYMAP_MAX_COUNT   99999 /* largest vi count */

typedef enum keymap_status {
    KEYMAP_OK = 0,
    KEYMAP_E_IO,     /* a file could not be read, or a keymap name was not found */
    KEYMAP_E_SYNTAX, /* a malformed line (message in err: "file:line: problem") */
    KEYMAP_E_NOMEM,  /* an allocation failed */
    KEYMAP_E_ARG,    /* invalid argument (too many directories, name too long) */
} keymap_status;

const char *keymap_status_str(keymap_status s);

typedef struct keymap_binding {
    int mode;                         /* index of the mode, 0..keymap_n_modes()-1 */
    key_code keys[KEYMAP_MAX_SEQ];    /* the key sequence, n_keys entries used */
    int n_keys;                       /* 1..KEYMAP_MAX_SEQ */
    char command[KEYMAP_MAX_COMMAND]; /* command name, e.g. "save" */
    char help[KEYMAP_MAX_HELP];       /* help text from the file, "" when none */
} keymap_binding;

typedef struct keymap keymap;

keymap *keymap_new(void);     /* empty keymap, no modes; NULL when out of memory */
void keymap_free(keymap *km); /* NULL is a no-op */

/* Directory searched for NAME.keys by keymap_load_name and "include NAME", in the order added
 * (user directory first, then the shipped one). An include never reopens a file already being
 * read, so a user's default.keys may say "include default" to extend the shipped default. */
keymap_status keymap_add_dir(keymap *km, const char *dir);

/* Optional check of command names: when set, a binding naming a command for which known()
 * returns false is a syntax error ("unknown command"). */
void keymap_set_command_check(keymap *km, bool (*known)(const char *command, void *ctx), void *ctx);

/* Loads bindings into km (adding to what it holds). On error km keeps the lines read before the
 * bad one and err (when non-NULL) holds "file:line: message". */
keymap_status keymap_load_name(keymap *km, const char *name, char *err, size_t err_size);
keymap_status keymap_load_file(keymap *km, const char *path, char *err, size_t err_size);
/* text: len bytes (need not be NUL-terminated; may contain anything); source names it in errors. */
keymap_status keymap_load_string(keymap *km, const char *text, size_t len, const char *source, char *err,
                                 size_t err_size);

/* ---- modes ---- */
int keymap_n_modes(const keymap *km);
int keymap_mode_find(const keymap *km, const char *name); /* index, or -1 */
const char *keymap_mode_name(const keymap *km, int mode); /* "" for a bad index */
bool keymap_mode_self_insert(const keymap *km, int mode);
bool keymap_mode_count(const keymap *km, int mode);
bool keymap_mode_inclusive(const keymap *km, int mode); /* the mode was declared "inclusive" */
int keymap_mode_initial(const keymap *km);              /* "normal", else 0; -1 if none */

/* ---- lookup, one key at a time ---- */
typedef enum keymap_result {
    KEYMAP_NONE,   /* no binding: the pending sequence (if any) is dropped */
    KEYMAP_PREFIX, /* the keys so far start a longer binding (or a count): feed the next key */
    KEYMAP_MATCH,  /* *out is the binding; state->count holds the count (0 = none) */
    KEYMAP_INSERT, /* self-insert mode, printable key, nothing pending: insert the key */
} keymap_result;

typedef struct keymap_state {
    int mode;                      /* current mode index */
    key_code keys[KEYMAP_MAX_SEQ]; /* keys of the pending sequence */
    int n_keys;                    /* pending keys, 0 when idle */
    unsigned count;                /* count typed so far / of the last match; 0 = none */
    unsigned inner;                /* count typed after the first key (vi d3w); 0 = none */
    bool matched;                  /* count belongs to the last MATCH (cleared on next feed) */
} keymap_state;

/* Sets state to idle in the keymap's initial mode. */
void keymap_state_init(const keymap *km, keymap_state *state);
/* Clears the pending keys and count (e.g. on Esc or a mode change); keeps the mode. */
void keymap_state_reset(keymap_state *state);
/* Feeds one key. After MATCH, INSERT or NONE the pending keys are cleared (the count survives
 * MATCH so the caller can read it; the next feed starts fresh). In a count mode, a digit
 * after the first key of a sequence that no binding continues with it starts a count there too
 * (vi d3w; later digits go on with it), which multiplies the leading one (2d3w: 6) at the MATCH. */
keymap_result keymap_feed(const keymap *km, keymap_state *state, key_code key, const keymap_binding **out);
/* Writes the pending count, keys and count after them ("3 C-x", "2 d 3") into buf, for the
 * status line; "" when idle. */
char *keymap_state_describe(const keymap_state *state, char *buf, size_t size);

/* ---- enumeration (help screen) ---- */
int keymap_n_bindings(const keymap *km);
const keymap_binding *keymap_binding_at(const keymap *km, int i); /* file order; NULL if bad i */
/* First binding of command in mode, or NULL ("Press C-g for help"). */
const keymap_binding *keymap_find_command(const keymap *km, int mode, const char *command);
/* Writes every key sequence bound to command in mode, in file order, as "C-s, F2" into buf
 * ("" when unbound; truncated at a whole sequence). Returns the number of sequences. */
int keymap_keys_for_command(const keymap *km, int mode, const char *command, char *buf, size_t size);
/* Writes a key sequence as in the files ("C-x,C-s") into buf. Returns buf. */
char *keymap_format_keys(const key_code *keys, int n_keys, char *buf, size_t size);

#endif
