/* test_theme.c: theme parsing, colour reduction to the terminal depth, confidence buckets and
 * the shipped themes (editor/theme.c, themes/NAME.theme). Runs from the repository root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "theme.h"

static theme *load_ok(const char *text)
{
    theme *t = theme_new();
    assert_non_null(t);
    char err[256];
    if (theme_load_string(t, text, strlen(text), "t.theme", err, sizeof err) != THEME_OK)
        fail_msg("unexpected error: %s", err);
    return t;
}

static void load_fails(const char *text, size_t len, const char *want)
{
    theme *t = theme_new();
    assert_non_null(t);
    char err[256] = "";
    if (theme_load_string(t, text, len, "t.theme", err, sizeof err) == THEME_OK)
        fail_msg("no error (want %s)", want);
    if (!strstr(err, want)) fail_msg("error '%s' lacks '%s'", err, want);
    theme_free(t);
}
#define LOAD_FAILS(lit, want) load_fails(lit, sizeof(lit) - 1, want)

static void test_theme_color_parse_forms(void **state)
{
    (void)state;
    theme_color c;
    assert_int_equal(theme_color_parse("default", &c), 0);
    assert_int_equal(c.kind, THEME_COLOR_DEFAULT);
    assert_int_equal(theme_color_parse("red", &c), 0);
    assert_int_equal(c.kind, THEME_COLOR_INDEX);
    assert_int_equal(c.value, 1);
    assert_int_equal(theme_color_parse("white", &c), 0);
    assert_int_equal(c.value, 7);
    assert_int_equal(theme_color_parse("bright-blue", &c), 0);
    assert_int_equal(c.value, 12);
    assert_int_equal(theme_color_parse("203", &c), 0);
    assert_int_equal(c.value, 203);
    assert_int_equal(theme_color_parse("#Ff8800", &c), 0);
    assert_int_equal(c.kind, THEME_COLOR_RGB);
    assert_int_equal(c.value, 0xff8800);
    const char *bad[] = {"",       "256", "-1",   "#ff880", "#ff88001", "#gg0000",
                         "purple", "1a",  "0x10", "Red",    "bright-"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (theme_color_parse(bad[i], &c) == 0) fail_msg("'%s' accepted", bad[i]);
}

static void test_theme_index_rgb_matches_xterm(void **state)
{
    (void)state;
    assert_int_equal(theme_index_rgb(1), 0xcd0000);
    assert_int_equal(theme_index_rgb(16), 0x000000);
    assert_int_equal(theme_index_rgb(196), 0xff0000);
    assert_int_equal(theme_index_rgb(21), 0x0000ff);
    assert_int_equal(theme_index_rgb(231), 0xffffff);
    assert_int_equal(theme_index_rgb(232), 0x080808);
    assert_int_equal(theme_index_rgb(255), 0xeeeeee);
    assert_int_equal(theme_index_rgb(110), 0x87afd7);
}

static void test_theme_resolve_rgb_to_each_depth(void **state)
{
    (void)state;
    theme_color orange = {THEME_COLOR_RGB, 0xff8700};
    assert_int_equal(theme_color_resolve(orange, THEME_DEPTH_TRUE), 0xff8700);
    assert_int_equal(theme_color_resolve(orange, THEME_DEPTH_256), 208); /* exact cube entry */
    theme_color red = {THEME_COLOR_RGB, 0xe01010};
    assert_int_equal(theme_color_resolve(red, THEME_DEPTH_8), 1);
    theme_color navy = {THEME_COLOR_RGB, 0x0000c0};
    assert_int_equal(theme_color_resolve(navy, THEME_DEPTH_8), 4);
    theme_color grey = {THEME_COLOR_RGB, 0x4e4e4e};
    assert_int_equal(theme_color_resolve(grey, THEME_DEPTH_256), 239);
    assert_int_equal(theme_color_resolve(orange, THEME_DEPTH_NONE), -1);
    /* Near-black RGB must not be mistaken for a palette index in direct colour. */
    theme_color near_black = {THEME_COLOR_RGB, 0x000005};
    assert_true(theme_color_resolve(near_black, THEME_DEPTH_TRUE) >= 8);
}

static void test_theme_resolve_index_and_default(void **state)
{
    (void)state;
    theme_color def = {THEME_COLOR_DEFAULT, 0};
    for (int d = THEME_DEPTH_NONE; d <= THEME_DEPTH_TRUE; d++)
        assert_int_equal(theme_color_resolve(def, (theme_depth)d), -1);
    theme_color c = {THEME_COLOR_INDEX, 3};
    assert_int_equal(theme_color_resolve(c, THEME_DEPTH_8), 3);
    assert_int_equal(theme_color_resolve(c, THEME_DEPTH_256), 3);
    assert_int_equal(theme_color_resolve(c, THEME_DEPTH_TRUE), 3); /* palette colour kept */
    c.value = 9;
    assert_int_equal(theme_color_resolve(c, THEME_DEPTH_8), 1);
    c.value = 196;
    assert_int_equal(theme_color_resolve(c, THEME_DEPTH_8), 1);
    assert_int_equal(theme_color_resolve(c, THEME_DEPTH_TRUE), 0xff0000);
    c.value = 999;
    assert_int_equal(theme_color_resolve(c, THEME_DEPTH_256), -1);
}

static void test_theme_resolve_every_index_stays_in_range(void **state)
{
    (void)state;
    for (uint32_t v = 0; v < 256; v++) {
        theme_color c = {THEME_COLOR_INDEX, v};
        int32_t r8 = theme_color_resolve(c, THEME_DEPTH_8);
        assert_true(r8 >= 0 && r8 < 8);
        assert_int_equal(theme_color_resolve(c, THEME_DEPTH_256), (int32_t)v);
        /* 256 -> RGB -> 256 round trip for the cube and grey ramp. */
        if (v >= 16) {
            theme_color rgb = {THEME_COLOR_RGB, theme_index_rgb((int)v)};
            int32_t back = theme_color_resolve(rgb, THEME_DEPTH_256);
            assert_int_equal(theme_index_rgb(back), theme_index_rgb((int)v));
        }
    }
}

static void test_theme_depth_from_colors(void **state)
{
    (void)state;
    assert_int_equal(theme_depth_from_colors(0), THEME_DEPTH_NONE);
    assert_int_equal(theme_depth_from_colors(-1), THEME_DEPTH_NONE);
    assert_int_equal(theme_depth_from_colors(2), THEME_DEPTH_NONE);
    assert_int_equal(theme_depth_from_colors(8), THEME_DEPTH_8);
    assert_int_equal(theme_depth_from_colors(88), THEME_DEPTH_8);
    assert_int_equal(theme_depth_from_colors(256), THEME_DEPTH_256);
    assert_int_equal(theme_depth_from_colors(0x1000000L), THEME_DEPTH_TRUE);
}

static void test_theme_slot_line_sets_fg_bg_attrs(void **state)
{
    (void)state;
    theme *t = load_ok("selection #ffffff #0000ff bold underline\nerror red\n"
                       "status 250 bold\n");
    const theme_style *s = theme_style_get(t, THEME_SELECTION);
    assert_int_equal(s->fg.kind, THEME_COLOR_RGB);
    assert_int_equal(s->fg.value, 0xffffff);
    assert_int_equal(s->bg.value, 0x0000ff);
    assert_int_equal(s->attr, THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE);
    s = theme_style_get(t, THEME_ERROR);
    assert_int_equal(s->fg.value, 1);
    assert_int_equal(s->bg.kind, THEME_COLOR_DEFAULT);
    assert_int_equal(s->attr, 0);
    s = theme_style_get(t, THEME_STATUS);
    assert_int_equal(s->fg.value, 250);
    assert_int_equal(s->bg.kind, THEME_COLOR_DEFAULT);
    assert_int_equal(s->attr, THEME_ATTR_BOLD);
    assert_null(theme_style_get(t, THEME_N_SLOTS));
    theme_free(t);
}

static void test_theme_slot_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < THEME_N_SLOTS; i++)
        assert_int_equal(theme_slot_find(theme_slot_name((theme_slot)i)), i);
    assert_int_equal(theme_slot_find("conf5"), -1);
    assert_int_equal(theme_slot_find(NULL), -1);
    assert_string_equal(theme_slot_name(THEME_N_SLOTS), "");
    assert_int_equal(theme_slot_find("conf0"), THEME_CONF0);
}

static void test_theme_thresholds_define_buckets(void **state)
{
    (void)state;
    theme *t = load_ok("thresholds 0.2 0.4 0.6 0.8\n");
    assert_int_equal(theme_confidence_bucket(t, 0.0f), 0);
    assert_int_equal(theme_confidence_bucket(t, 0.19f), 0);
    assert_int_equal(theme_confidence_bucket(t, 0.2f), 1);
    assert_int_equal(theme_confidence_bucket(t, 0.5f), 2);
    assert_int_equal(theme_confidence_bucket(t, 0.7f), 3);
    assert_int_equal(theme_confidence_bucket(t, 0.8f), 4);
    assert_int_equal(theme_confidence_bucket(t, 1.0f), 4);
    assert_int_equal(theme_confidence_bucket(t, 7.0f), 4);
    assert_int_equal(theme_confidence_bucket(t, -1.0f), 0);
    assert_int_equal(theme_confidence_bucket(t, NAN), 0);
    assert_true(fabsf(theme_thresholds(t)[1] - 0.4f) < 1e-6f);
    theme_free(t);
}

static void test_theme_errors_name_file_and_line(void **state)
{
    (void)state;
    LOAD_FAILS("normal default\nselction red\n", "t.theme:2: unknown slot 'selction'");
    LOAD_FAILS("error #ff00\n", "t.theme:1: bad colour '#ff00'");
    LOAD_FAILS("error red blue blink\n", "bad colour or attribute 'blink'");
    LOAD_FAILS("error red bold blue\n", "bad colour or attribute 'blue'");
    LOAD_FAILS("error\n", "usage: SLOT");
    LOAD_FAILS("thresholds 0.5 0.4 0.6 0.8\n", "must increase");
    LOAD_FAILS("thresholds 0.1 0.2 0.3\n", "usage: thresholds");
    LOAD_FAILS("thresholds 0.1 0.2 0.3 0.4 0.5\n", "usage: thresholds");
    LOAD_FAILS("thresholds 0 0.2 0.3 0.4\n", "not a number in (0, 1)");
    LOAD_FAILS("thresholds 0.1 0.2 0.3 nan\n", "not a number in (0, 1)");
    LOAD_FAILS("thresholds 0.1 0.2 0.3 1\n", "not a number in (0, 1)");
    LOAD_FAILS("include ../x\n", "bad theme name");
    LOAD_FAILS("include nothere\n", "no theme 'nothere'");
    LOAD_FAILS("normal red\0\n", "NUL byte");
    LOAD_FAILS("normal red\n\x1b]0;pwned\x07 red\n", "unknown slot '?'");
}

static void test_theme_error_keeps_earlier_lines_and_long_lines_rejected(void **state)
{
    (void)state;
    theme *t = theme_new();
    char err[256];
    const char *text = "error #123456\nbogus red\n";
    assert_int_equal(theme_load_string(t, text, strlen(text), "x", err, sizeof err), THEME_E_SYNTAX);
    assert_int_equal(theme_style_get(t, THEME_ERROR)->fg.value, 0x123456);
    size_t n = THEME_MAX_LINE + 10;
    char *big = malloc(n);
    memset(big, ' ', n);
    memcpy(big, "normal", 6);
    assert_int_equal(theme_load_string(t, big, n, "x", err, sizeof err), THEME_E_SYNTAX);
    assert_non_null(strstr(err, "x:1: line longer"));
    free(big);
    theme_free(t);
}

static void test_theme_no_colour_uses_attributes(void **state)
{
    (void)state;
    theme *t = load_ok("selection #ffffff #0000ff\nconf0 #ffffff #440154\nconf3 red default italic\n");
    theme_resolved r = theme_style_resolve(t, THEME_SELECTION, THEME_DEPTH_NONE);
    assert_int_equal(r.fg, -1);
    assert_int_equal(r.bg, -1);
    assert_int_equal(r.attr, THEME_ATTR_REVERSE);
    r = theme_style_resolve(t, THEME_CONF0, THEME_DEPTH_NONE);
    assert_int_not_equal(r.attr, 0);
    r = theme_style_resolve(t, THEME_CONF3, THEME_DEPTH_NONE); /* own attributes win */
    assert_int_equal(r.attr, THEME_ATTR_ITALIC);
    r = theme_style_resolve(t, THEME_SELECTION, THEME_DEPTH_256);
    assert_int_equal(r.fg, 231);
    assert_int_equal(r.bg, 21);
    assert_int_equal(r.attr, 0);
    theme_free(t);
}

static void test_theme_collapsed_colours_fall_back_to_attributes(void **state)
{
    (void)state;
    /* Two greys that both become white at 8 colours: the text would vanish. */
    theme *t = load_ok("selection #e0e0e0 #f0f0f0\n");
    theme_resolved r = theme_style_resolve(t, THEME_SELECTION, THEME_DEPTH_8);
    assert_int_equal(r.fg, -1);
    assert_int_equal(r.bg, -1);
    assert_true(r.attr & THEME_ATTR_REVERSE);
    r = theme_style_resolve(t, THEME_SELECTION, THEME_DEPTH_TRUE);
    assert_int_equal(r.fg, 0xe0e0e0);
    theme_free(t);
}

static void test_theme_conf_buckets_stay_distinct_at_every_depth(void **state)
{
    (void)state;
    const char *names[] = {"dark", "light", "cb-safe", "mono"};
    for (int n = 0; n < 4; n++) {
        theme *t = theme_new();
        assert_int_equal(theme_add_dir(t, "themes"), THEME_OK);
        char err[256];
        if (theme_load_name(t, names[n], err, sizeof err) != THEME_OK) fail_msg("%s", err);
        for (int d = THEME_DEPTH_NONE; d <= THEME_DEPTH_TRUE; d++) {
            theme_resolved r[THEME_N_BUCKETS];
            for (int b = 0; b < THEME_N_BUCKETS; b++)
                r[b] = theme_style_resolve(t, (theme_slot)(THEME_CONF0 + b), (theme_depth)d);
            for (int a = 0; a < THEME_N_BUCKETS; a++)
                for (int b = a + 1; b < THEME_N_BUCKETS; b++)
                    if (r[a].fg == r[b].fg && r[a].bg == r[b].bg && r[a].attr == r[b].attr)
                        fail_msg("%s: conf%d and conf%d look the same at depth %d", names[n], a, b, d);
            /* Selection must differ from normal text. */
            theme_resolved s = theme_style_resolve(t, THEME_SELECTION, (theme_depth)d);
            theme_resolved nt = theme_style_resolve(t, THEME_NORMAL, (theme_depth)d);
            assert_false(s.fg == nt.fg && s.bg == nt.bg && s.attr == nt.attr);
        }
        theme_free(t);
    }
}

static void test_theme_mono_has_no_colours(void **state)
{
    (void)state;
    theme *t = theme_new();
    assert_int_equal(theme_add_dir(t, "themes"), THEME_OK);
    char err[256];
    assert_int_equal(theme_load_name(t, "mono", err, sizeof err), THEME_OK);
    for (int s = 0; s < THEME_N_SLOTS; s++) {
        theme_resolved r = theme_style_resolve(t, (theme_slot)s, THEME_DEPTH_TRUE);
        assert_int_equal(r.fg, -1);
        assert_int_equal(r.bg, -1);
    }
    theme_free(t);
}

static void test_theme_shipped_themes_set_every_slot(void **state)
{
    (void)state;
    const char *names[] = {"dark", "light", "cb-safe", "mono"};
    for (int n = 0; n < 4; n++) {
        char path[128];
        snprintf(path, sizeof path, "themes/%s.theme", names[n]);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char line[512];
        bool seen[THEME_N_SLOTS] = {false};
        bool thresholds = false;
        while (fgets(line, sizeof line, f)) {
            char word[64];
            if (sscanf(line, "%63s", word) != 1 || word[0] == '#') continue;
            int s = theme_slot_find(word);
            if (s >= 0) seen[s] = true;
            if (strcmp(word, "thresholds") == 0) thresholds = true;
        }
        fclose(f);
        for (int s = 0; s < THEME_N_SLOTS; s++)
            if (!seen[s]) fail_msg("%s does not set %s", names[n], theme_slot_name((theme_slot)s));
        assert_true(thresholds);
        theme *t = theme_new();
        char err[256];
        if (theme_load_file(t, path, err, sizeof err) != THEME_OK) fail_msg("%s", err);
        theme_free(t);
    }
}

static void test_theme_include_and_override(void **state)
{
    (void)state;
    char dir[] = "/tmp/bd3ed-theme-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/dark.theme", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("include dark\nselection black yellow\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/loop.theme", dir);
    f = fopen(path, "w");
    fputs("include loop\n", f);
    fclose(f);
    theme *t = theme_new();
    assert_int_equal(theme_add_dir(t, dir), THEME_OK);
    assert_int_equal(theme_add_dir(t, "themes"), THEME_OK);
    char err[256];
    if (theme_load_name(t, "dark", err, sizeof err) != THEME_OK) fail_msg("%s", err);
    assert_int_equal(theme_style_get(t, THEME_SELECTION)->bg.value, 3);    /* override */
    assert_int_equal(theme_style_get(t, THEME_CONF0)->bg.value, 0x8700af); /* inherited */
    assert_int_not_equal(theme_load_name(t, "loop", err, sizeof err), THEME_OK);
    assert_non_null(strstr(err, "loop.theme:1: include cycle: loop -> loop"));
    assert_int_equal(theme_load_name(t, "absent", err, sizeof err), THEME_E_IO);
    assert_int_equal(theme_load_file(t, "/nonexistent.theme", err, sizeof err), THEME_E_IO);
    theme_free(t);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    theme_free(NULL);
}

/* Themes that include one another in a cycle: an error that names the cycle (from the first
 * file of it to where it closes), never a loop, and never "not found"; a theme loaded by its
 * path names the cycle the same way. */
static void test_theme_include_cycle_names_the_cycle(void **state)
{
    (void)state;
    char dir[] = "/tmp/bd3ed-theme-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *files[][2] = {
        {"a", "normal white\ninclude b\n"},
        {"b", "# b\ninclude a\n"},
        {"top", "include a\n"},
        {"c", "include d\n"},
        {"d", "include e\n"},
        {"e", "status red\ninclude c\n"},
    };
    char path[128];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s.theme", dir, files[i][0]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(files[i][1], f);
        fclose(f);
    }
    theme *t = theme_new();
    assert_int_equal(theme_add_dir(t, dir), THEME_OK);
    char err[256];
    assert_int_equal(theme_load_name(t, "a", err, sizeof err), THEME_E_SYNTAX);
    assert_non_null(strstr(err, "b.theme:2: include cycle: a -> b -> a"));
    assert_null(strstr(err, "no theme"));
    assert_int_equal(theme_load_name(t, "top", err, sizeof err), THEME_E_SYNTAX);
    assert_non_null(strstr(err, "include cycle: a -> b -> a")); /* top is not part of it */
    assert_null(strstr(err, "top ->"));
    assert_int_equal(theme_load_name(t, "c", err, sizeof err), THEME_E_SYNTAX);
    assert_non_null(strstr(err, "e.theme:2: include cycle: c -> d -> e -> c"));
    snprintf(path, sizeof path, "%s/d.theme", dir);
    assert_int_equal(theme_load_file(t, path, err, sizeof err), THEME_E_SYNTAX);
    assert_non_null(strstr(err, "include cycle: d -> e -> c -> d"));
    theme_free(t);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* A wrong path to a file that is no theme (a password file): its lines are never quoted; a
 * FIFO is refused without blocking (the alarm only turns a hang into a failure). */
static void test_theme_other_files_are_not_quoted_and_fifos_refused(void **state)
{
    (void)state;
    char dir[64], path[128], err[256] = "";
    snprintf(dir, sizeof dir, "/tmp/bd3ed-theme-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/shadow", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("root:$6$secrethash:19000:0:99999:7:::\nnormal red\n", f);
    fclose(f);
    theme *t = theme_new();
    assert_int_not_equal(theme_load_file(t, path, err, sizeof err), THEME_OK);
    assert_null(strstr(err, "secret"));
    assert_non_null(strstr(err, "not a theme file"));
    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(20);
    assert_int_equal(theme_load_file(t, path, err, sizeof err), THEME_E_IO);
    alarm(0);
    assert_non_null(strstr(err, "not a regular file"));
    theme_free(t);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_theme_color_parse_forms),
        cmocka_unit_test(test_theme_index_rgb_matches_xterm),
        cmocka_unit_test(test_theme_resolve_rgb_to_each_depth),
        cmocka_unit_test(test_theme_resolve_index_and_default),
        cmocka_unit_test(test_theme_resolve_every_index_stays_in_range),
        cmocka_unit_test(test_theme_depth_from_colors),
        cmocka_unit_test(test_theme_slot_line_sets_fg_bg_attrs),
        cmocka_unit_test(test_theme_slot_names_round_trip),
        cmocka_unit_test(test_theme_thresholds_define_buckets),
        cmocka_unit_test(test_theme_errors_name_file_and_line),
        cmocka_unit_test(test_theme_other_files_are_not_quoted_and_fifos_refused),
        cmocka_unit_test(test_theme_error_keeps_earlier_lines_and_long_lines_rejected),
        cmocka_unit_test(test_theme_no_colour_uses_attributes),
        cmocka_unit_test(test_theme_collapsed_colours_fall_back_to_attributes),
        cmocka_unit_test(test_theme_conf_buckets_stay_distinct_at_every_depth),
        cmocka_unit_test(test_theme_mono_has_no_colours),
        cmocka_unit_test(test_theme_shipped_themes_set_every_slot),
        cmocka_unit_test(test_theme_include_and_override),
        cmocka_unit_test(test_theme_include_cycle_names_the_cycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
