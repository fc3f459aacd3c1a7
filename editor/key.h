/* key.h: terminal-independent key codes (Unicode code points and named keys, with modifier bits)
 * and their names ("C-s", "M-r", "S-Left", "C-S-Right", "M-=", "M--", "Space", "F1").
 * Depends on libc only: no curses, no other editor module. */
#ifndef BD3ED_KEY_H
#define BD3ED_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A key: the low 24 bits are a Unicode code point (0..0x10FFFF) or a named key (KEYC_UP...),
 * the bits above are modifiers. Constants are KEYC_* because curses.h owns KEY_*.
 * Normal form (what key_parse, key_from_byte and key_from_terminfo return):
 *   - Ctrl with an ASCII letter uses the lower-case letter: C-a and C-A are one key, as on a
 *     terminal; Shift with a printable character is folded into the character (S-a is 'A').
 *   - Space is the code point ' ', Comma is ',' (names used where the key files need them). */
typedef uint32_t key_code;

enum {
    KEYC_NONE = 0,                /* no key / parse failure */
    KEYC_BASE_MASK = 0x00ffffffu, /* code point or named key */
    KEYC_NAMED = 0x00200000u,     /* first named key, above every code point */
    KEYC_UP = KEYC_NAMED,
    KEYC_DOWN,
    KEYC_LEFT,
    KEYC_RIGHT,
    KEYC_HOME,
    KEYC_END,
    KEYC_PAGEUP,
    KEYC_PAGEDOWN,
    KEYC_INSERT,
    KEYC_DELETE,
    KEYC_BACKSPACE,
    KEYC_ENTER,
    KEYC_TAB,
    KEYC_ESC,
    KEYC_F1, /* KEYC_F1 + n - 1 is Fn, n = 1..12 */
    KEYC_F12 = KEYC_F1 + 11,
    KEYC_NAMED_END,        /* one past the last named key */
    KEYC_SHIFT = 1u << 24, /* modifier bit: Shift */
    KEYC_CTRL = 1u << 25,  /* modifier bit: Ctrl */
    KEYC_ALT = 1u << 26,   /* modifier bit: Alt (Meta), written M- */
    KEYC_MOD_MASK = KEYC_SHIFT | KEYC_CTRL | KEYC_ALT,
};

/* Longest name key_format writes, NUL included ("C-M-S-PageDown" is 15 bytes). */
#define KEY_NAME_MAX 32

typedef enum key_status {
    KEY_OK = 0,
    KEY_E_EMPTY,    /* empty name */
    KEY_E_MODIFIER, /* a modifier prefix repeated or unknown ("C-C-x", "Q-x") */
    KEY_E_UNKNOWN,  /* not a single character and not a key name */
    KEY_E_UTF8,     /* the character is not valid UTF-8 or not a valid code point */
    KEY_E_CONTROL,  /* a raw control character; write it as C-x, Tab, Enter, Esc */
} key_status;

const char *key_status_str(key_status s);

/* Parses one key name: optional modifiers "C-" (Ctrl), "M-" or "A-" (Alt), "S-" (Shift), each
 * at most once, in any order, then one UTF-8 character or a key name (case-insensitive: Up Down
 * Left Right Home End PageUp PageDown Insert Delete Backspace Enter Tab Esc Space Comma F1..F12,
 * aliases PgUp PgDn Del Ins BS Ret Return Escape). Examples: "C-s", "M-=", "M--", "S-Left",
 * "C-S-Right", "é". *out gets the key in normal form (KEYC_NONE on error). */
key_status key_parse(const char *name, key_code *out);

/* Writes the canonical name of key into buf (size bytes, KEY_NAME_MAX is always enough):
 * modifiers in the order C- M- S-, then the character or the key name ("Space", "Comma" for
 * ' ' and ','). key_parse(key_format(k)) == k for every key in normal form. Returns buf; an
 * invalid key is written as "<invalid>". (Not called key_name: ncursesw exports that symbol.) */
char *key_format(key_code key, char *buf, size_t size);

/* True for a key that inserts itself in a self-insert mode: no Ctrl/Alt, a code point that is
 * not a C0/C1 control, DEL, a surrogate or beyond 0x10FFFF. */
bool key_is_printable(key_code key);

/* Key of one byte read from a terminal in raw mode: 0x01..0x1a (except Tab, Enter, C-h) are
 * C-a..C-z, 0x00 is C-Space, 0x09 Tab, 0x0a and 0x0d Enter, 0x08 C-h, 0x1b Esc, 0x7f Backspace,
 * 0x1c..0x1f C-\ C-] C-^ C-_, printable ASCII is itself. Bytes >= 0x80 return KEYC_NONE (they
 * start a UTF-8 sequence the caller decodes). */
key_code key_from_byte(unsigned char byte);

/* Key of a terminfo extended key name as curses reports it (keyname() of a code above KEY_MAX),
 * e.g. "kRIT5" is C-Right, "kUP2" S-Up, "kDC3" M-Delete: base kUP kDN kLFT kRIT kHOM kEND kPRV
 * kNXT kDC kIC, suffix 2..8 = Shift, Alt, S-Alt, Ctrl, C-S, C-Alt, C-S-Alt. KEYC_NONE if unknown. */
key_code key_from_terminfo(const char *name);

/* Adds the Alt modifier to key (Esc followed by a key): lower-cases nothing, keeps normal form. */
key_code key_with_alt(key_code key);

#endif
