/* key.c: key codes, key names and terminal byte/terminfo decoding. Depends on libc only: no
 * curses, no other editor module. */
#include <string.h>
#include <strings.h>
#include "key.h"
#include "utf8.h"

const char *key_status_str(key_status s)
{
    switch (s) {
    case KEY_OK: return "success";
    case KEY_E_EMPTY: return "empty key name";
    case KEY_E_MODIFIER: return "bad or repeated modifier (use C-, M-, S-)";
    case KEY_E_UNKNOWN: return "unknown key name";
    case KEY_E_UTF8: return "invalid UTF-8 in key name";
    case KEY_E_CONTROL: return "raw control character in key name (write C-x, Tab, Enter, Esc)";
    }
    return "unknown status";
}

/* Names of the named keys, in KEYC_ order from KEYC_UP (the canonical spelling first). */
static const char *const key_names[] = {
    "Up",     "Down",      "Left",  "Right", "Home", "End", "PageUp", "PageDown", "Insert",
    "Delete", "Backspace", "Enter", "Tab",   "Esc",  "F1",  "F2",     "F3",       "F4",
    "F5",     "F6",        "F7",    "F8",    "F9",   "F10", "F11",    "F12",
};

/* Other spellings accepted by key_parse. */
static const struct {
    const char *name; /* alias, case-insensitive */
    key_code key;     /* what it means */
} key_aliases[] = {
    {"Space", ' '},         {"Comma", ','},
    {"PgUp", KEYC_PAGEUP},  {"PgDn", KEYC_PAGEDOWN},
    {"PPage", KEYC_PAGEUP}, {"NPage", KEYC_PAGEDOWN},
    {"Del", KEYC_DELETE},   {"Ins", KEYC_INSERT},
    {"BS", KEYC_BACKSPACE}, {"BSpace", KEYC_BACKSPACE},
    {"Ret", KEYC_ENTER},    {"Return", KEYC_ENTER},
    {"Escape", KEYC_ESC},
};

static bool key_is_codepoint(uint32_t base)
{
    return base <= 0x10ffff && !(base >= 0xd800 && base <= 0xdfff);
}

/* Brings key into normal form (see key.h). */
static key_code key_normalize(key_code key)
{
    uint32_t base = key & KEYC_BASE_MASK, mods = key & KEYC_MOD_MASK;
    if (!key_is_codepoint(base)) return key;
    if (mods & KEYC_CTRL) {
        if (base >= 'A' && base <= 'Z') base = base - 'A' + 'a';
    } else if (mods & KEYC_SHIFT) {
        /* Shift without Ctrl is part of the character typed: S-a is 'A', S-= means '='. */
        if (base >= 'a' && base <= 'z') base = base - 'a' + 'A';
        mods &= ~(uint32_t)KEYC_SHIFT;
    }
    return base | mods;
}

key_status key_parse(const char *name, key_code *out)
{
    *out = KEYC_NONE;
    if (!name || !*name) return KEY_E_EMPTY;
    uint32_t mods = 0;
    const char *p = name;
    /* A modifier is one letter and '-' followed by at least one more byte ("M--" is M- and '-'). */
    while (p[0] && p[1] == '-' && p[2]) {
        uint32_t m;
        switch (p[0]) {
        case 'C': m = KEYC_CTRL; break;
        case 'M':
        case 'A': m = KEYC_ALT; break;
        case 'S': m = KEYC_SHIFT; break;
        default: return KEY_E_MODIFIER;
        }
        if (mods & m) return KEY_E_MODIFIER;
        mods |= m;
        p += 2;
    }
    size_t len = strlen(p);
    uint32_t base;
    long cp = utf8_decode((const unsigned char *)p, len);
    if (cp >= 0) {
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) return KEY_E_CONTROL;
        base = (uint32_t)cp;
    } else {
        base = KEYC_NONE;
        for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
            if (strcasecmp(p, key_names[i]) == 0) base = KEYC_NAMED + (uint32_t)i;
        for (size_t i = 0; i < sizeof key_aliases / sizeof key_aliases[0]; i++)
            if (strcasecmp(p, key_aliases[i].name) == 0) base = key_aliases[i].key;
        if (base == KEYC_NONE) {
            /* One character of several bytes that did not decode: a UTF-8 problem, not a name. */
            unsigned char c0 = (unsigned char)p[0];
            if (c0 >= 0x80) return KEY_E_UTF8;
            for (size_t i = 0; i < len; i++)
                if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) return KEY_E_CONTROL;
            return KEY_E_UNKNOWN;
        }
    }
    *out = key_normalize(base | mods);
    return KEY_OK;
}

/* Copies name into buf (size > 0), truncating; returns buf. */
static char *key_copy_name(char *buf, size_t size, const char *name)
{
    size_t n = strlen(name);
    if (n >= size) n = size - 1;
    memcpy(buf, name, n);
    buf[n] = '\0';
    return buf;
}

char *key_format(key_code key, char *buf, size_t size)
{
    if (!buf || size == 0) return buf;
    char tmp[KEY_NAME_MAX];
    size_t n = 0;
    uint32_t base = key & KEYC_BASE_MASK;
    bool valid = (key & ~(uint32_t)(KEYC_BASE_MASK | KEYC_MOD_MASK)) == 0 &&
                 (key_is_codepoint(base) ? base >= 0x20 && base != 0x7f && !(base >= 0x80 && base < 0xa0)
                                         : base >= KEYC_NAMED && base < KEYC_NAMED_END);
    if (!valid) return key_copy_name(buf, size, "<invalid>");
    if (key & KEYC_CTRL) {
        tmp[n++] = 'C';
        tmp[n++] = '-';
    }
    if (key & KEYC_ALT) {
        tmp[n++] = 'M';
        tmp[n++] = '-';
    }
    if (key & KEYC_SHIFT) {
        tmp[n++] = 'S';
        tmp[n++] = '-';
    }
    const char *word = NULL;
    if (base >= KEYC_NAMED)
        word = key_names[base - KEYC_NAMED];
    else if (base == ' ')
        word = "Space";
    else if (base == ',')
        word = "Comma";
    if (word) {
        size_t wl = strlen(word);
        memcpy(tmp + n, word, wl);
        n += wl;
    } else {
        n += utf8_encode(base, tmp + n);
    }
    tmp[n] = '\0';
    return key_copy_name(buf, size, n + 1 <= size ? tmp : "<invalid>");
}

bool key_is_printable(key_code key)
{
    if (key & ~(uint32_t)KEYC_BASE_MASK) return false;
    uint32_t base = key & KEYC_BASE_MASK;
    if (!key_is_codepoint(base)) return false;
    return base >= 0x20 && base != 0x7f && !(base >= 0x80 && base < 0xa0);
}

key_code key_from_byte(unsigned char byte)
{
    switch (byte) {
    case 0x00: return KEYC_CTRL | ' ';
    case 0x09: return KEYC_TAB;
    case 0x0a:
    case 0x0d: return KEYC_ENTER;
    case 0x1b: return KEYC_ESC;
    case 0x7f: return KEYC_BACKSPACE;
    case 0x1c: return KEYC_CTRL | '\\';
    case 0x1d: return KEYC_CTRL | ']';
    case 0x1e: return KEYC_CTRL | '^';
    case 0x1f: return KEYC_CTRL | '_';
    }
    if (byte >= 0x01 && byte <= 0x1a) return KEYC_CTRL | (uint32_t)(byte - 1 + 'a');
    if (byte >= 0x20 && byte < 0x7f) return byte;
    return KEYC_NONE;
}

key_code key_from_terminfo(const char *name)
{
    static const struct {
        const char *cap; /* terminfo extended-key stem */
        key_code key;    /* base key */
    } stems[] = {
        {"kUP", KEYC_UP},     {"kDN", KEYC_DOWN},   {"kLFT", KEYC_LEFT},   {"kRIT", KEYC_RIGHT},
        {"kHOM", KEYC_HOME},  {"kEND", KEYC_END},   {"kPRV", KEYC_PAGEUP}, {"kNXT", KEYC_PAGEDOWN},
        {"kDC", KEYC_DELETE}, {"kIC", KEYC_INSERT},
    };
    /* xterm modifier parameter minus 1: bit 0 Shift, bit 1 Alt, bit 2 Ctrl. */
    if (!name) return KEYC_NONE;
    for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++) {
        size_t sl = strlen(stems[i].cap);
        if (strncmp(name, stems[i].cap, sl) != 0) continue;
        const char *d = name + sl;
        if (d[0] < '2' || d[0] > '8' || d[1] != '\0') return KEYC_NONE;
        int m = d[0] - '1';
        key_code k = stems[i].key;
        if (m & 1) k |= KEYC_SHIFT;
        if (m & 2) k |= KEYC_ALT;
        if (m & 4) k |= KEYC_CTRL;
        return k;
    }
    return KEYC_NONE;
}

key_code key_with_alt(key_code key)
{
    if (key == KEYC_NONE) return KEYC_NONE;
    return key_normalize(key | KEYC_ALT);
}
