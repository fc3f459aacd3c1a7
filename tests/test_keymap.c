/* test_keymap.c: the keymap parser, lookup with prefixes and counts, and the shipped keymaps
 * (editor/keymap.c, keymaps/NAME.keys). Runs from the repository root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "command.h"
#include "keymap.h"

/* Every command name of the editor (the shared command list). */
static const char *const all_commands[] = {
    "char-left",
    "char-right",
    "line-up",
    "line-down",
    "word-left",
    "word-right",
    "sentence-prev",
    "sentence-next",
    "paragraph-prev",
    "paragraph-next",
    "blank-line-next",
    "blank-line-prev",
    "line-start",
    "line-end",
    "page-up",
    "page-down",
    "buffer-start",
    "buffer-end",
    "goto-line",
    "select-char-left",
    "select-char-right",
    "select-line-up",
    "select-line-down",
    "select-word-left",
    "select-word-right",
    "select-sentence-prev",
    "select-sentence-next",
    "select-paragraph-prev",
    "select-paragraph-next",
    "select-blank-line-next",
    "select-blank-line-prev",
    "select-line-start",
    "select-line-end",
    "select-page-up",
    "select-page-down",
    "select-buffer-start",
    "select-buffer-end",
    "select-all",
    "select-word",
    "select-sentence",
    "select-paragraph",
    "select-line",
    "insert-newline",
    "insert-tab",
    "delete-char-before",
    "delete-char-after",
    "delete-word-before",
    "delete-word-after",
    "delete-word",
    "delete-line",
    "delete-line-end",
    "mode-change-word",
    "mode-change-line-end",
    "cut",
    "copy",
    "paste",
    "paste-after",
    "mark-set",
    "undo",
    "redo",
    "save",
    "save-as",
    "open",
    "quit",
    "buffer-next",
    "buffer-prev",
    "buffer-close",
    "find",
    "find-next",
    "find-prev",
    "find-regex",
    "replace",
    "cancel",
    "help",
    "command-prompt",
    "redraw",
    "suspend",
    "toggle-wrap",
    "toggle-line-numbers",
    "mode-normal",
    "mode-insert",
    "mode-append",
    "mode-insert-line-start",
    "mode-append-line-end",
    "mode-open-below",
    "mode-open-above",
    "mode-visual",
    "model-infill",
    "model-continue",
    "model-heatmap",
    "model-revise",
    "model-inspect",
    "model-grow",
    "model-shrink",
    "model-fill",
    "model-sample-next",
    "model-sample-prev",
    "model-mark-blank",
};
#define N_COMMANDS (sizeof all_commands / sizeof all_commands[0])

static bool known_command(const char *name, void *ctx)
{
    (void)ctx;
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(all_commands[i], name) == 0) return true;
    return command_find(name) != NULL; /* the commands only modal keymaps bind (vi) */
}

static key_code K(const char *name)
{
    key_code k = KEYC_NONE;
    assert_int_equal(key_parse(name, &k), KEY_OK);
    return k;
}

/* Loads src into a fresh keymap and expects success. */
static keymap *load_ok(const char *src)
{
    keymap *km = keymap_new();
    assert_non_null(km);
    keymap_set_command_check(km, known_command, NULL);
    char err[256];
    keymap_status st = keymap_load_string(km, src, strlen(src), "t.keys", err, sizeof err);
    if (st != KEYMAP_OK) fail_msg("unexpected error: %s", err);
    return km;
}

/* Loads src and expects a syntax error whose message contains want. */
static void load_fails(const char *src, size_t len, const char *want)
{
    keymap *km = keymap_new();
    assert_non_null(km);
    keymap_set_command_check(km, known_command, NULL);
    char err[256] = "";
    keymap_status st = keymap_load_string(km, src, len, "t.keys", err, sizeof err);
    if (st == KEYMAP_OK) fail_msg("no error (want %s)", want);
    if (!strstr(err, want)) fail_msg("error '%s' lacks '%s'", err, want);
    keymap_free(km);
}

/* Same, for a string literal (which may contain NUL bytes). */
#define LOAD_FAILS(lit, want) load_fails(lit, sizeof(lit) - 1, want)

/* Feeds the keys of a sequence; returns the last result and binding. */
static keymap_result feed_seq(const keymap *km, keymap_state *st, const char *seq, const keymap_binding **b)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", seq);
    keymap_result r = KEYMAP_NONE;
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        r = keymap_feed(km, st, K(tok), b);
    return r;
}

static const char *match_command(const keymap *km, keymap_state *st, const char *seq)
{
    const keymap_binding *b = NULL;
    keymap_result r = feed_seq(km, st, seq, &b);
    if (r != KEYMAP_MATCH)
        return r == KEYMAP_PREFIX ? "(prefix)" : r == KEYMAP_INSERT ? "(insert)" : "(none)";
    assert_non_null(b);
    return b->command;
}

static void test_keymap_binding_parses_mode_keys_command_help(void **state)
{
    (void)state;
    keymap *km = load_ok("# comment\n\nmode normal self-insert\n"
                         "normal  C-s   save   save the file  \n");
    assert_int_equal(keymap_n_bindings(km), 1);
    const keymap_binding *b = keymap_binding_at(km, 0);
    assert_non_null(b);
    assert_int_equal(b->mode, 0);
    assert_int_equal(b->n_keys, 1);
    assert_int_equal(b->keys[0], KEYC_CTRL | 's');
    assert_string_equal(b->command, "save");
    assert_string_equal(b->help, "save the file");
    assert_null(keymap_binding_at(km, 1));
    assert_null(keymap_binding_at(km, -1));
    keymap_free(km);
}

static void test_keymap_prefix_sequence_then_match(void **state)
{
    (void)state;
    keymap *km = load_ok("mode normal self-insert\n"
                         "normal C-x,C-s save save\nnormal C-x,C-c quit quit\n");
    keymap_state st;
    keymap_state_init(km, &st);
    const keymap_binding *b = NULL;
    assert_int_equal(keymap_feed(km, &st, K("C-x"), &b), KEYMAP_PREFIX);
    assert_null(b);
    char desc[64];
    assert_string_equal(keymap_state_describe(&st, desc, sizeof desc), "C-x");
    assert_int_equal(keymap_feed(km, &st, K("C-s"), &b), KEYMAP_MATCH);
    assert_string_equal(b->command, "save");
    assert_string_equal(match_command(km, &st, "C-x C-c"), "quit");
    /* An unbound continuation drops the pending prefix and does not self-insert. */
    assert_int_equal(feed_seq(km, &st, "C-x a", &b), KEYMAP_NONE);
    assert_int_equal(st.n_keys, 0);
    assert_int_equal(keymap_feed(km, &st, K("a"), &b), KEYMAP_INSERT);
    keymap_free(km);
}

static void test_keymap_self_insert_only_in_self_insert_modes(void **state)
{
    (void)state;
    keymap *km = load_ok("mode normal\nmode insert self-insert\n"
                         "normal i mode-insert insert\ninsert Esc mode-normal back\n");
    keymap_state st;
    keymap_state_init(km, &st);
    assert_int_equal(st.mode, keymap_mode_find(km, "normal"));
    const keymap_binding *b;
    assert_int_equal(keymap_feed(km, &st, K("x"), &b), KEYMAP_NONE);
    assert_int_equal(keymap_feed(km, &st, K("i"), &b), KEYMAP_MATCH);
    st.mode = keymap_mode_find(km, "insert");
    assert_int_equal(keymap_feed(km, &st, K("x"), &b), KEYMAP_INSERT);
    assert_int_equal(keymap_feed(km, &st, K("C-x"), &b), KEYMAP_NONE);
    assert_int_equal(keymap_feed(km, &st, K("Enter"), &b), KEYMAP_NONE);
    assert_int_equal(keymap_feed(km, &st, K("Esc"), &b), KEYMAP_MATCH);
    assert_true(keymap_mode_self_insert(km, 1));
    assert_false(keymap_mode_self_insert(km, 0));
    assert_false(keymap_mode_self_insert(km, 7));
    keymap_free(km);
}

/* "inclusive" is a mode option of its own; a later declaration of the mode redefines it. */
static void test_keymap_inclusive_mode_option(void **state)
{
    (void)state;
    keymap *km = load_ok("mode normal count\nmode visual count inclusive\n");
    assert_false(keymap_mode_inclusive(km, keymap_mode_find(km, "normal")));
    assert_true(keymap_mode_inclusive(km, keymap_mode_find(km, "visual")));
    assert_true(keymap_mode_count(km, keymap_mode_find(km, "visual")));
    assert_false(keymap_mode_inclusive(km, 7));
    assert_false(keymap_mode_inclusive(NULL, 0));
    char err[256];
    const char *redo = "mode visual count\n";
    assert_int_equal(keymap_load_string(km, redo, strlen(redo), "u.keys", err, sizeof err), KEYMAP_OK);
    assert_false(keymap_mode_inclusive(km, keymap_mode_find(km, "visual")));
    keymap_free(km);
}

static void test_keymap_count_prefix_in_count_modes(void **state)
{
    (void)state;
    keymap *km = load_ok("mode normal count\nnormal w word-right w\nnormal 0 line-start 0\n"
                         "normal d,d delete-line dd\n");
    keymap_state st;
    keymap_state_init(km, &st);
    const keymap_binding *b;
    assert_int_equal(keymap_feed(km, &st, K("1"), &b), KEYMAP_PREFIX);
    assert_int_equal(keymap_feed(km, &st, K("2"), &b), KEYMAP_PREFIX);
    assert_int_equal(keymap_feed(km, &st, K("0"), &b), KEYMAP_PREFIX);
    char desc[64];
    assert_string_equal(keymap_state_describe(&st, desc, sizeof desc), "120");
    assert_int_equal(keymap_feed(km, &st, K("w"), &b), KEYMAP_MATCH);
    assert_string_equal(b->command, "word-right");
    assert_int_equal(st.count, 120);
    /* A bare 0 is a command, and the count of the previous match is gone. */
    assert_int_equal(keymap_feed(km, &st, K("0"), &b), KEYMAP_MATCH);
    assert_string_equal(b->command, "line-start");
    assert_int_equal(st.count, 0);
    assert_string_equal(match_command(km, &st, "3 d d"), "delete-line");
    assert_int_equal(st.count, 3);
    /* Huge counts saturate. */
    assert_string_equal(match_command(km, &st, "9 9 9 9 9 9 9 9 9 9 9 w"), "word-right");
    assert_int_equal(st.count, KEYMAP_MAX_COUNT);
    keymap_free(km);
}

/* vi d3w: digits after the first key of a sequence are a count that multiplies the leading one;
 * a digit that a binding continues the sequence with stays a key, and 0 starts no count. */
static void test_keymap_count_inside_a_sequence(void **state)
{
    (void)state;
    keymap *km = load_ok("mode normal count\nnormal d,w delete-word dw\nnormal d,d delete-line dd\n"
                         "normal g,1 buffer-start g1\nnormal d,0 line-start d0\n");
    keymap_state st;
    keymap_state_init(km, &st);
    const keymap_binding *b;
    assert_int_equal(keymap_feed(km, &st, K("2"), &b), KEYMAP_PREFIX);
    assert_int_equal(keymap_feed(km, &st, K("d"), &b), KEYMAP_PREFIX);
    assert_int_equal(keymap_feed(km, &st, K("1"), &b), KEYMAP_PREFIX);
    assert_int_equal(keymap_feed(km, &st, K("5"), &b), KEYMAP_PREFIX);
    char desc[64];
    assert_string_equal(keymap_state_describe(&st, desc, sizeof desc), "2 d 15");
    assert_int_equal(keymap_feed(km, &st, K("w"), &b), KEYMAP_MATCH);
    assert_string_equal(b->command, "delete-word");
    assert_int_equal(st.count, 30);
    assert_string_equal(match_command(km, &st, "d 3 d"), "delete-line");
    assert_int_equal(st.count, 3);
    assert_string_equal(match_command(km, &st, "d 0"), "line-start"); /* 0 first: a key */
    assert_int_equal(st.count, 0);
    assert_string_equal(match_command(km, &st, "d 1 0 w"), "delete-word"); /* 0 after a digit */
    assert_int_equal(st.count, 10);
    assert_string_equal(match_command(km, &st, "g 1"), "buffer-start"); /* a bound digit */
    assert_int_equal(st.count, 0);
    assert_string_equal(match_command(km, &st, "d 2 x"), "(none)"); /* no d,x: all dropped */
    assert_int_equal(st.count, 0);
    assert_int_equal(st.inner, 0);
    assert_string_equal(match_command(km, &st, "9 9 9 d 9 9 9 w"), "delete-word");
    assert_int_equal(st.count, KEYMAP_MAX_COUNT);
    keymap_free(km);
}

static void test_keymap_digits_are_keys_without_count(void **state)
{
    (void)state;
    keymap *km = load_ok("mode normal self-insert\n");
    keymap_state st;
    keymap_state_init(km, &st);
    const keymap_binding *b;
    assert_int_equal(keymap_feed(km, &st, K("3"), &b), KEYMAP_INSERT);
    keymap_free(km);
    km = load_ok("mode normal\nnormal d,w delete-word dw\n"); /* no count mode: no count inside */
    keymap_state_init(km, &st);
    assert_string_equal(match_command(km, &st, "d 3 w"), "(none)");
    keymap_free(km);
}

static void test_keymap_later_binding_overrides(void **state)
{
    (void)state;
    keymap *km = load_ok("mode normal self-insert\nnormal C-k delete-line first\n"
                         "normal C-s save s\nnormal C-k cut second\n");
    assert_int_equal(keymap_n_bindings(km), 2);
    assert_string_equal(keymap_binding_at(km, 0)->command, "cut"); /* replaced in place */
    assert_string_equal(keymap_binding_at(km, 0)->help, "second");
    keymap_state st;
    keymap_state_init(km, &st);
    assert_string_equal(match_command(km, &st, "C-k"), "cut");
    keymap_free(km);
}

static void test_keymap_prefix_binding_replaces_shadowed_key(void **state)
{
    (void)state;
    keymap *km = load_ok("mode normal self-insert\nnormal C-x cut cut\n"
                         "normal C-x,C-s save save\n");
    keymap_state st;
    keymap_state_init(km, &st);
    assert_string_equal(match_command(km, &st, "C-x C-s"), "save");
    assert_int_equal(keymap_n_bindings(km), 1);
    keymap_free(km);
    km = load_ok("mode normal self-insert\nnormal C-x,C-s save save\nnormal C-x cut cut\n");
    keymap_state_init(km, &st);
    assert_string_equal(match_command(km, &st, "C-x"), "cut");
    assert_int_equal(keymap_n_bindings(km), 1);
    keymap_free(km);
}

static void test_keymap_none_unbinds(void **state)
{
    (void)state;
    keymap *km = load_ok("mode normal self-insert\nnormal C-q quit q\nnormal C-q none\n"
                         "normal C-w none\n");
    assert_int_equal(keymap_n_bindings(km), 0);
    keymap_free(km);
}

static void test_keymap_modes_are_separate(void **state)
{
    (void)state;
    keymap *km = load_ok("mode normal count\nmode visual\nnormal h char-left\n"
                         "visual h select-char-left\n");
    keymap_state st;
    keymap_state_init(km, &st);
    assert_string_equal(match_command(km, &st, "h"), "char-left");
    st.mode = keymap_mode_find(km, "visual");
    assert_string_equal(match_command(km, &st, "h"), "select-char-left");
    assert_int_equal(keymap_mode_find(km, "insert"), -1);
    assert_string_equal(keymap_mode_name(km, 1), "visual");
    assert_string_equal(keymap_mode_name(km, 5), "");
    keymap_free(km);
}

static void test_keymap_initial_mode_is_normal(void **state)
{
    (void)state;
    keymap *km = load_ok("mode insert self-insert\nmode normal\n");
    assert_int_equal(keymap_mode_initial(km), 1);
    keymap_free(km);
    km = load_ok("mode write self-insert\n");
    assert_int_equal(keymap_mode_initial(km), 0);
    keymap_free(km);
    km = keymap_new();
    assert_int_equal(keymap_mode_initial(km), -1);
    keymap_state st;
    keymap_state_init(km, &st);
    const keymap_binding *b;
    assert_int_equal(keymap_feed(km, &st, 'a', &b), KEYMAP_NONE);
    keymap_free(km);
}

static void test_keymap_errors_name_file_and_line(void **state)
{
    (void)state;
    LOAD_FAILS("mode normal\nnormal C-s save ok\nnormal C-Q-x save bad\n", "t.keys:3:");
    LOAD_FAILS("mode normal\n\n# c\nnromal C-s save\n", "t.keys:4: mode 'nromal' is not declared");
    LOAD_FAILS("mode normal\nnormal C-s\n", "usage");
    LOAD_FAILS("mode normal\nnormal C-s sav save\n", "unknown command 'sav'");
    LOAD_FAILS("mode normal\nnormal Foo save\n", "key 'Foo'");
    LOAD_FAILS("mode normal\nnormal C-x, save\n", "empty key");
    LOAD_FAILS("mode normal\nnormal a,b,c,d,e save\n", "more than 4 keys");
    LOAD_FAILS("mode normal turbo\n", "unknown mode option");
    LOAD_FAILS("mode normal turbo\n", "inclusive"); /* the message lists the options */
    LOAD_FAILS("mode in/sert\n", "bad mode name");
    LOAD_FAILS("mode mode\n", "bad mode name");
    LOAD_FAILS("include\n", "usage: include");
    LOAD_FAILS("include ../../etc/passwd\n", "bad keymap name");
    LOAD_FAILS("include nosuch\n", "no keymap 'nosuch'");
    LOAD_FAILS("mode normal\nnormal C-s save$ x\n", "bad command name");
}

static void test_keymap_hostile_lines_are_rejected(void **state)
{
    (void)state;
    /* NUL inside a line. */
    LOAD_FAILS("mode normal\nnormal C-s save a\0b\n", "t.keys:2: NUL byte");
    /* Raw control characters in the help text (an escape sequence). */
    LOAD_FAILS("mode normal\nnormal C-s save \x1b]0;pwned\x07\n", "control characters");
    /* Invalid UTF-8 in the help text. */
    LOAD_FAILS("mode normal\nnormal C-s save \xff\xfe\n", "invalid UTF-8");
    /* Raw control character as a key. */
    LOAD_FAILS("mode normal\nnormal \x1b save\n", "raw control character");
    /* A line far longer than the limit. */
    size_t n = KEYMAP_MAX_LINE * 3;
    char *big = malloc(n + 32);
    assert_non_null(big);
    memcpy(big, "mode normal\nnormal C-s save ", 28);
    memset(big + 28, 'h', n);
    load_fails(big, n + 28, "t.keys:2: line longer");
    /* Help text over the limit but line within it. */
    memset(big + 28, 'h', KEYMAP_MAX_HELP + 5);
    load_fails(big, 28 + KEYMAP_MAX_HELP + 5, "help text longer");
    free(big);
    /* Too many modes. */
    char modes[512] = "";
    for (int i = 0; i <= KEYMAP_MAX_MODES; i++) {
        char line[32];
        snprintf(line, sizeof line, "mode m%d\n", i);
        strcat(modes, line);
    }
    load_fails(modes, strlen(modes), "more than 8 modes");
}

static void test_keymap_crlf_and_missing_final_newline_accepted(void **state)
{
    (void)state;
    keymap *km = load_ok("mode normal self-insert\r\nnormal C-s save save it\r\nnormal C-q quit");
    assert_int_equal(keymap_n_bindings(km), 2);
    assert_string_equal(keymap_binding_at(km, 0)->help, "save it");
    assert_string_equal(keymap_binding_at(km, 1)->help, "");
    keymap_free(km);
}

static void test_keymap_format_keys_and_find_command(void **state)
{
    (void)state;
    keymap *km = load_ok("mode normal self-insert\nnormal C-x,C-s save save\n"
                         "normal M-Comma buffer-prev prev\nnormal F2 save save\n");
    const keymap_binding *b = keymap_find_command(km, 0, "save");
    assert_non_null(b);
    char buf[64];
    assert_string_equal(keymap_format_keys(b->keys, b->n_keys, buf, sizeof buf), "C-x,C-s");
    b = keymap_find_command(km, 0, "buffer-prev");
    assert_string_equal(keymap_format_keys(b->keys, b->n_keys, buf, sizeof buf), "M-Comma");
    assert_null(keymap_find_command(km, 0, "quit"));
    assert_int_equal(keymap_keys_for_command(km, 0, "save", buf, sizeof buf), 2);
    assert_string_equal(buf, "C-x,C-s, F2");
    assert_int_equal(keymap_keys_for_command(km, 0, "save", buf, 10), 2);
    assert_string_equal(buf, "C-x,C-s");
    assert_int_equal(keymap_keys_for_command(km, 0, "quit", buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_null(keymap_find_command(km, 3, "save"));
    char tiny[5];
    b = keymap_find_command(km, 0, "save");
    keymap_format_keys(b->keys, b->n_keys, tiny, sizeof tiny);
    assert_true(strlen(tiny) < sizeof tiny);
    keymap_free(km);
}

/* ---- shipped keymaps ---- */

static keymap *load_shipped(const char *name)
{
    keymap *km = keymap_new();
    assert_non_null(km);
    keymap_set_command_check(km, known_command, NULL);
    assert_int_equal(keymap_add_dir(km, "keymaps"), KEYMAP_OK);
    char err[256] = "";
    keymap_status st = keymap_load_name(km, name, err, sizeof err);
    if (st != KEYMAP_OK) fail_msg("%s: %s", name, err);
    return km;
}

static void test_keymap_shipped_keymaps_parse_without_error(void **state)
{
    (void)state;
    const char *names[] = {"default", "vi", "emacs"};
    for (int i = 0; i < 3; i++) {
        keymap *km = load_shipped(names[i]);
        assert_true(keymap_n_bindings(km) > 40);
        for (int j = 0; j < keymap_n_bindings(km); j++)
            if (!keymap_binding_at(km, j)->help[0])
                fail_msg("%s: binding of %s has no help", names[i], keymap_binding_at(km, j)->command);
        keymap_free(km);
    }
}

static void test_keymap_default_has_required_bindings(void **state)
{
    (void)state;
    static const char *const required[][2] = {
        {"C-s", "save"},
        {"C-q", "quit"},
        {"C-z", "undo"},
        {"C-y", "redo"},
        {"C-f", "find"},
        {"C-c", "copy"},
        {"C-x", "cut"},
        {"C-v", "paste"},
        {"C-a", "select-all"},
        {"S-Left", "select-char-left"},
        {"S-Right", "select-char-right"},
        {"Left", "char-left"}, /* the arrows cross line ends (vi's h and l do not) */
        {"Right", "char-right"},
        {"C-Left", "word-left"}, /* by words over empty lines (vi's w and b stop on them) */
        {"C-Right", "word-right"},
        {"S-Up", "select-line-up"},
        {"S-Down", "select-line-down"},
        {"Esc", "cancel"},
        {"C-g", "help"},
        {"C-r", "model-infill"},
        {"C-n", "model-continue"},
        {"C-e", "model-heatmap"},
        {"M-r", "model-revise"},
        {"M-i", "model-inspect"},
        {"M-=", "model-grow"},
        {"M--", "model-shrink"},
        {"M-b", "model-fill"},
        {"M->", "model-sample-next"},
        {"M-<", "model-sample-prev"},
    };
    keymap *km = load_shipped("default");
    keymap_state st;
    keymap_state_init(km, &st);
    assert_string_equal(keymap_mode_name(km, st.mode), "normal");
    assert_true(keymap_mode_self_insert(km, st.mode));
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        const char *got = match_command(km, &st, required[i][0]);
        if (strcmp(got, required[i][1]) != 0)
            fail_msg("default: %s gives %s, want %s", required[i][0], got, required[i][1]);
    }
    /* Typing inserts. */
    const keymap_binding *b;
    assert_int_equal(keymap_feed(km, &st, K("q"), &b), KEYMAP_INSERT);
    keymap_free(km);
}

static void test_keymap_default_binds_every_modeless_command(void **state)
{
    (void)state;
    keymap *km = load_shipped("default");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strncmp(all_commands[i], "mode-", 5) == 0) continue;   /* vi modal commands */
        if (strcmp(all_commands[i], "delete-word") == 0) continue; /* vi d,w */
        if (strstr(all_commands[i], "blank-line-")) continue;      /* vi } and { */
        if (!keymap_find_command(km, 0, all_commands[i]))
            fail_msg("default keymap does not bind %s", all_commands[i]);
    }
    keymap_free(km);
}

static void test_keymap_model_commands_bound_in_all_keymaps(void **state)
{
    (void)state;
    const char *names[] = {"default", "vi", "emacs"};
    const char *model[] = {"model-infill",      "model-continue",   "model-heatmap", "model-revise",
                           "model-inspect",     "model-grow",       "model-shrink",  "model-fill",
                           "model-sample-next", "model-sample-prev"};
    for (int i = 0; i < 3; i++) {
        keymap *km = load_shipped(names[i]);
        int normal = keymap_mode_find(km, "normal");
        assert_true(normal >= 0);
        for (int j = 0; j < (int)(sizeof model / sizeof model[0]); j++)
            if (!keymap_find_command(km, normal, model[j]))
                fail_msg("%s does not bind %s", names[i], model[j]);
        keymap_free(km);
    }
}

static void test_keymap_vi_modes_and_keys(void **state)
{
    (void)state;
    keymap *km = load_shipped("vi");
    keymap_state st;
    keymap_state_init(km, &st);
    assert_string_equal(keymap_mode_name(km, st.mode), "normal");
    assert_false(keymap_mode_self_insert(km, st.mode));
    assert_true(keymap_mode_count(km, st.mode));
    const keymap_binding *b;
    assert_int_equal(keymap_feed(km, &st, K("q"), &b), KEYMAP_NONE);
    assert_string_equal(match_command(km, &st, "i"), "mode-insert");
    assert_string_equal(match_command(km, &st, "g g"), "buffer-start");
    assert_string_equal(match_command(km, &st, "5 j"), "line-down");
    assert_int_equal(st.count, 5);
    assert_string_equal(match_command(km, &st, "Z Z"), "quit");
    assert_string_equal(match_command(km, &st, "e"), "word-end");
    assert_string_equal(match_command(km, &st, "}"), "blank-line-next");
    assert_string_equal(match_command(km, &st, "3 {"), "blank-line-prev");
    assert_int_equal(st.count, 3);
    /* + - Enter move by lines as in vi; the infill length is behind the backslash. */
    assert_string_equal(match_command(km, &st, "+"), "line-next-nonblank");
    assert_string_equal(match_command(km, &st, "Enter"), "line-next-nonblank");
    assert_string_equal(match_command(km, &st, "2 -"), "line-prev-nonblank");
    assert_int_equal(st.count, 2);
    assert_string_equal(match_command(km, &st, "\\ ="), "model-grow");
    assert_string_equal(match_command(km, &st, "\\ -"), "model-shrink");
    /* ^ to the first non-blank; \n is the next sample, line numbers behind \l */
    assert_string_equal(match_command(km, &st, "^"), "line-nonblank");
    assert_string_equal(match_command(km, &st, "\\ n"), "model-sample-next");
    assert_string_equal(match_command(km, &st, "\\ l"), "toggle-line-numbers");
    /* h l stay in the line and x X cut into the register, as in vim; P puts lines above */
    assert_string_equal(match_command(km, &st, "h"), "char-left-in-line");
    assert_string_equal(match_command(km, &st, "3 l"), "char-right-in-line");
    assert_string_equal(match_command(km, &st, "Left"), "char-left-in-line");
    assert_string_equal(match_command(km, &st, "Backspace"), "char-left");
    assert_string_equal(match_command(km, &st, "Space"), "char-right");
    assert_string_equal(match_command(km, &st, "x"), "cut-char-after");
    assert_string_equal(match_command(km, &st, "X"), "cut-char-before");
    assert_string_equal(match_command(km, &st, "P"), "paste-before");
    assert_string_equal(match_command(km, &st, "d b"), "cut-word-before");
    /* w and b stop on empty lines as in vim */
    assert_string_equal(match_command(km, &st, "w"), "vi-word-right");
    assert_string_equal(match_command(km, &st, "2 b"), "vi-word-left");
    /* W B E by WORDs, ge gE back to word ends */
    assert_string_equal(match_command(km, &st, "W"), "vi-bigword-right");
    assert_string_equal(match_command(km, &st, "B"), "vi-bigword-left");
    assert_string_equal(match_command(km, &st, "E"), "bigword-end");
    assert_string_equal(match_command(km, &st, "2 g e"), "word-end-prev");
    assert_string_equal(match_command(km, &st, "g E"), "bigword-end-prev");
    /* d, y and c over words and WORDs */
    assert_string_equal(match_command(km, &st, "d e"), "cut-word-end");
    assert_string_equal(match_command(km, &st, "d W"), "delete-bigword");
    assert_string_equal(match_command(km, &st, "y w"), "copy-word");
    assert_string_equal(match_command(km, &st, "y y"), "copy");
    assert_string_equal(match_command(km, &st, "c e"), "mode-change-word-end");
    assert_string_equal(match_command(km, &st, "c W"), "mode-change-bigword");
    /* f t F T ; , and r (their character is the next key, which the editor takes) */
    assert_string_equal(match_command(km, &st, "3 f"), "find-char");
    assert_string_equal(match_command(km, &st, "T"), "find-char-back-till");
    assert_string_equal(match_command(km, &st, ";"), "find-char-again");
    assert_string_equal(match_command(km, &st, "Comma"), "find-char-again-reverse");
    assert_string_equal(match_command(km, &st, "d t"), "cut-find-char-till");
    assert_string_equal(match_command(km, &st, "r"), "replace-char");
    /* d, y and c over lines and to places in the line; c,c S Y */
    assert_string_equal(match_command(km, &st, "d j"), "cut-lines-down");
    assert_string_equal(match_command(km, &st, "d g g"), "cut-to-first-line");
    assert_string_equal(match_command(km, &st, "d 0"), "cut-to-line-start");
    assert_string_equal(match_command(km, &st, "y $"), "copy-to-line-end");
    assert_string_equal(match_command(km, &st, "c }"), "mode-change-to-blank-line-next");
    assert_string_equal(match_command(km, &st, "c c"), "mode-change-lines");
    assert_string_equal(match_command(km, &st, "Y"), "copy-lines");
    assert_string_equal(match_command(km, &st, "%"), "match-bracket");
    assert_string_equal(match_command(km, &st, "d %"), "cut-to-match-bracket");
    assert_string_equal(match_command(km, &st, "3 J"), "join-lines");
    assert_string_equal(match_command(km, &st, "~"), "toggle-case");
    assert_string_equal(match_command(km, &st, "s"), "mode-change-char");
    assert_string_equal(match_command(km, &st, "."), "repeat-change");
    assert_string_equal(match_command(km, &st, "> >"), "shift-right");
    assert_string_equal(match_command(km, &st, "2 < <"), "shift-left");
    assert_string_equal(match_command(km, &st, "d i"), "cut-inner-object");
    assert_string_equal(match_command(km, &st, "*"), "find-word-next");
    assert_string_equal(match_command(km, &st, "#"), "find-word-prev");
    assert_string_equal(match_command(km, &st, "c a"), "mode-change-around-object");
    int insert = keymap_mode_find(km, "insert");
    assert_true(keymap_mode_self_insert(km, insert));
    st.mode = insert;
    assert_int_equal(keymap_feed(km, &st, K("j"), &b), KEYMAP_INSERT);
    assert_string_equal(match_command(km, &st, "Esc"), "mode-normal");
    st.mode = keymap_mode_find(km, "visual");
    assert_string_equal(match_command(km, &st, "w"), "select-vi-word-right");
    assert_string_equal(match_command(km, &st, "b"), "select-vi-word-left");
    assert_string_equal(match_command(km, &st, "e"), "select-word-end");
    assert_string_equal(match_command(km, &st, "W"), "select-vi-bigword-right");
    assert_string_equal(match_command(km, &st, "U"), "upper-case");
    assert_string_equal(match_command(km, &st, "i"), "select-inner-object");
    assert_string_equal(match_command(km, &st, "o"), "select-swap-ends");
    assert_string_equal(match_command(km, &st, "r"), "replace-char");
    assert_string_equal(match_command(km, &st, ">"), "shift-right");
    assert_string_equal(match_command(km, &st, "g e"), "select-word-end-prev");
    assert_string_equal(match_command(km, &st, "}"), "select-blank-line-next");
    assert_string_equal(match_command(km, &st, "+"), "select-line-next-nonblank");
    assert_string_equal(match_command(km, &st, "-"), "select-line-prev-nonblank");
    assert_string_equal(match_command(km, &st, "^"), "select-line-nonblank");
    assert_string_equal(match_command(km, &st, "\\ ="), "model-grow");
    assert_string_equal(match_command(km, &st, "y"), "copy");
    assert_string_equal(match_command(km, &st, "h"), "select-char-left-in-line");
    assert_string_equal(match_command(km, &st, "l"), "select-char-right-in-line");
    /* visual selections take in the cursor's character (vi's inclusive visual mode); c and s
     * change the selection, v and V switch the kind or go back to normal mode */
    assert_true(keymap_mode_inclusive(km, st.mode));
    assert_false(keymap_mode_inclusive(km, keymap_mode_find(km, "normal")));
    assert_false(keymap_mode_inclusive(km, insert));
    assert_string_equal(match_command(km, &st, "c"), "mode-change-selection");
    assert_string_equal(match_command(km, &st, "s"), "mode-change-selection");
    assert_string_equal(match_command(km, &st, "v"), "mode-visual");
    assert_string_equal(match_command(km, &st, "V"), "mode-visual-line");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strncmp(all_commands[i], "mode-", 5) != 0) continue;
        bool found = false;
        for (int m = 0; m < keymap_n_modes(km); m++)
            if (keymap_find_command(km, m, all_commands[i])) found = true;
        if (!found) fail_msg("vi keymap does not bind %s", all_commands[i]);
    }
    keymap_free(km);
}

static void test_keymap_emacs_prefixes(void **state)
{
    (void)state;
    keymap *km = load_shipped("emacs");
    keymap_state st;
    keymap_state_init(km, &st);
    assert_string_equal(match_command(km, &st, "C-x C-s"), "save");
    assert_string_equal(match_command(km, &st, "C-x C-c"), "quit");
    assert_string_equal(match_command(km, &st, "C-c i"), "model-infill");
    assert_string_equal(match_command(km, &st, "C-g"), "cancel");
    assert_string_equal(match_command(km, &st, "C-x"), "(prefix)");
    const keymap_binding *b;
    assert_int_equal(keymap_feed(km, &st, K("C-g"), &b), KEYMAP_NONE);
    assert_int_equal(keymap_feed(km, &st, K("x"), &b), KEYMAP_INSERT);
    keymap_free(km);
}

/* ---- user keymaps over shipped ones ---- */

static char tmpdir[64];

static int setup_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bd3ed-keymap-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *dir, const char *name, const char *src)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(src, f);
    fclose(f);
}

static void test_keymap_user_file_extends_shipped_of_same_name(void **state)
{
    (void)state;
    write_file(tmpdir, "default.keys",
               "include default\nnormal C-q none\nnormal C-x,C-c quit quit emacs-style\n"
               "normal F2 save save\n");
    keymap *km = keymap_new();
    keymap_set_command_check(km, known_command, NULL);
    assert_int_equal(keymap_add_dir(km, tmpdir), KEYMAP_OK);
    assert_int_equal(keymap_add_dir(km, "keymaps"), KEYMAP_OK);
    char err[256] = "";
    if (keymap_load_name(km, "default", err, sizeof err) != KEYMAP_OK) fail_msg("%s", err);
    keymap_state st;
    keymap_state_init(km, &st);
    assert_string_equal(match_command(km, &st, "F2"), "save");
    assert_string_equal(match_command(km, &st, "C-s"), "save");     /* inherited */
    assert_string_equal(match_command(km, &st, "C-x C-c"), "quit"); /* overrides cut */
    const keymap_binding *b;
    assert_int_equal(keymap_feed(km, &st, K("C-q"), &b), KEYMAP_NONE);
    keymap_free(km);
}

static void test_keymap_include_cycle_is_an_error(void **state)
{
    (void)state;
    write_file(tmpdir, "a.keys", "include b\n");
    write_file(tmpdir, "b.keys", "include a\n");
    keymap *km = keymap_new();
    assert_int_equal(keymap_add_dir(km, tmpdir), KEYMAP_OK);
    char err[256] = "";
    assert_int_not_equal(keymap_load_name(km, "a", err, sizeof err), KEYMAP_OK);
    assert_non_null(strstr(err, "b.keys:1:"));
    assert_non_null(strstr(err, "include cycle: a -> b -> a")); /* the cycle, not "not found" */
    assert_null(strstr(err, "no keymap"));
    write_file(tmpdir, "c.keys", "include c\n");
    assert_int_not_equal(keymap_load_name(km, "c", err, sizeof err), KEYMAP_OK);
    assert_non_null(strstr(err, "c.keys:1: include cycle: c -> c"));
    keymap_free(km);
}

static void test_keymap_error_in_included_file_names_that_file(void **state)
{
    (void)state;
    write_file(tmpdir, "base.keys", "mode normal\n\nnormal C-s bogus-command x\n");
    write_file(tmpdir, "top.keys", "include base\n");
    keymap *km = keymap_new();
    keymap_set_command_check(km, known_command, NULL);
    assert_int_equal(keymap_add_dir(km, tmpdir), KEYMAP_OK);
    char err[256] = "";
    assert_int_equal(keymap_load_name(km, "top", err, sizeof err), KEYMAP_E_SYNTAX);
    assert_non_null(strstr(err, "base.keys:3: unknown command 'bogus-command'"));
    keymap_free(km);
}

/* A wrong path to a file that is no keymap (a password file): its lines are never quoted; a
 * FIFO is refused without blocking (the alarm only turns a hang into a failure). */
static void test_keymap_other_files_are_not_quoted_and_fifos_refused(void **state)
{
    (void)state;
    write_file(tmpdir, "shadow", "root:$6$secrethash:19000:0:99999:7:::\nmode normal\n");
    char path[256], err[256] = "";
    snprintf(path, sizeof path, "%s/shadow", tmpdir);
    keymap *km = keymap_new();
    assert_int_not_equal(keymap_load_file(km, path, err, sizeof err), KEYMAP_OK);
    assert_null(strstr(err, "secret"));
    assert_non_null(strstr(err, "not a keymap file"));
    snprintf(path, sizeof path, "%s/fifo", tmpdir);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(20);
    assert_int_equal(keymap_load_file(km, path, err, sizeof err), KEYMAP_E_IO);
    alarm(0);
    assert_non_null(strstr(err, "not a regular file"));
    keymap_free(km);
}

static void test_keymap_missing_file_and_bad_arguments(void **state)
{
    (void)state;
    keymap *km = keymap_new();
    char err[256] = "";
    assert_int_equal(keymap_load_file(km, "/nonexistent/x.keys", err, sizeof err), KEYMAP_E_IO);
    assert_non_null(strstr(err, "/nonexistent/x.keys"));
    assert_int_equal(keymap_load_file(km, tmpdir, err, sizeof err), KEYMAP_E_IO);
    assert_int_equal(keymap_load_name(km, "nothere", err, sizeof err), KEYMAP_E_IO);
    for (int i = 0; i < KEYMAP_MAX_DIRS; i++) assert_int_equal(keymap_add_dir(km, "d"), KEYMAP_OK);
    assert_int_equal(keymap_add_dir(km, "d"), KEYMAP_E_ARG);
    assert_int_equal(keymap_load_string(km, NULL, 3, "x", err, sizeof err), KEYMAP_E_ARG);
    assert_string_not_equal(keymap_status_str(KEYMAP_E_IO), keymap_status_str(KEYMAP_E_SYNTAX));
    keymap_free(km);
    keymap_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keymap_binding_parses_mode_keys_command_help),
        cmocka_unit_test(test_keymap_prefix_sequence_then_match),
        cmocka_unit_test(test_keymap_self_insert_only_in_self_insert_modes),
        cmocka_unit_test(test_keymap_inclusive_mode_option),
        cmocka_unit_test(test_keymap_count_prefix_in_count_modes),
        cmocka_unit_test(test_keymap_count_inside_a_sequence),
        cmocka_unit_test(test_keymap_digits_are_keys_without_count),
        cmocka_unit_test(test_keymap_later_binding_overrides),
        cmocka_unit_test(test_keymap_prefix_binding_replaces_shadowed_key),
        cmocka_unit_test(test_keymap_none_unbinds),
        cmocka_unit_test(test_keymap_modes_are_separate),
        cmocka_unit_test(test_keymap_initial_mode_is_normal),
        cmocka_unit_test(test_keymap_errors_name_file_and_line),
        cmocka_unit_test(test_keymap_hostile_lines_are_rejected),
        cmocka_unit_test(test_keymap_crlf_and_missing_final_newline_accepted),
        cmocka_unit_test(test_keymap_format_keys_and_find_command),
        cmocka_unit_test(test_keymap_shipped_keymaps_parse_without_error),
        cmocka_unit_test(test_keymap_default_has_required_bindings),
        cmocka_unit_test(test_keymap_default_binds_every_modeless_command),
        cmocka_unit_test(test_keymap_model_commands_bound_in_all_keymaps),
        cmocka_unit_test(test_keymap_vi_modes_and_keys),
        cmocka_unit_test(test_keymap_emacs_prefixes),
        cmocka_unit_test_setup_teardown(test_keymap_user_file_extends_shipped_of_same_name, setup_tmpdir,
                                        teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_keymap_include_cycle_is_an_error, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_keymap_error_in_included_file_names_that_file, setup_tmpdir,
                                        teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_keymap_other_files_are_not_quoted_and_fifos_refused,
                                        setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_keymap_missing_file_and_bad_arguments, setup_tmpdir,
                                        teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
