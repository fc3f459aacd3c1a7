/* test_config.c: the options table, the config parser shared by defaults, file, command line
 * and prompt, and the config path (editor/config.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "bd3.h"
#include "config.h"

static int setup_cfg(void **state)
{
    *state = config_new();
    return *state ? 0 : -1;
}

static int teardown_cfg(void **state)
{
    config_free(*state);
    return 0;
}

static void test_config_defaults_come_from_defaults_text(void **state)
{
    config *cfg = *state;
    assert_string_equal(cfg->keymap, "default");
    assert_string_equal(cfg->theme, "dark");
    assert_true(cfg->wrap);
    assert_false(cfg->line_numbers);
    assert_int_equal(cfg->tab_width, 8);
    assert_string_equal(cfg->model, "");
    assert_string_equal(cfg->sampler, "first-hitting");
    assert_true(cfg->top_p > 0.89 && cfg->top_p < 0.91);
    assert_int_equal(cfg->refresh, 32); /* infill within a few full passes by default */
    assert_int_equal(cfg->score_delay_ms, 500);
    /* Every option appears in the defaults text, and the text round-trips through config_get. */
    const char *text = config_defaults_text();
    for (int i = 0; i < config_n_options(); i++) {
        const config_option *o = config_option_at(i);
        char needle[80];
        snprintf(needle, sizeof needle, "\n%s = ", o->name);
        if (!strstr(text, needle)) fail_msg("defaults text lacks %s", o->name);
        char value[256];
        assert_int_equal(config_get(cfg, o->name, value, sizeof value), CONFIG_OK);
        config *other = config_new();
        char err[256];
        if (config_set(other, o->name, value, err, sizeof err) != CONFIG_OK)
            fail_msg("%s: own value '%s' rejected: %s", o->name, value, err);
        config_free(other);
    }
    assert_null(config_option_at(config_n_options()));
    assert_null(config_option_at(-1));
}

static void test_config_set_typed_values(void **state)
{
    config *cfg = *state;
    char err[256];
    assert_int_equal(config_set(cfg, "wrap", "off", err, sizeof err), CONFIG_OK);
    assert_false(cfg->wrap);
    assert_int_equal(config_set(cfg, "wrap", "yes", err, sizeof err), CONFIG_OK);
    assert_true(cfg->wrap);
    assert_int_equal(config_set(cfg, "tab-width", "4", err, sizeof err), CONFIG_OK);
    assert_int_equal(cfg->tab_width, 4);
    assert_int_equal(config_set(cfg, "temperature", "0.7", err, sizeof err), CONFIG_OK);
    assert_true(cfg->temperature > 0.69 && cfg->temperature < 0.71);
    assert_int_equal(config_set(cfg, "seed", "18446744073709551615", err, sizeof err), CONFIG_OK);
    assert_true(cfg->seed == UINT64_MAX);
    assert_int_equal(config_set(cfg, "sampler", "entropy", err, sizeof err), CONFIG_OK);
    assert_string_equal(cfg->sampler, "entropy");
    assert_int_equal(config_set(cfg, "model", "/models/my model.gguf", err, sizeof err), CONFIG_OK);
    assert_string_equal(cfg->model, "/models/my model.gguf");
    char buf[64];
    assert_int_equal(config_get(cfg, "tab-width", buf, sizeof buf), CONFIG_OK);
    assert_string_equal(buf, "4");
    assert_int_equal(config_get(cfg, "wrap", buf, sizeof buf), CONFIG_OK);
    assert_string_equal(buf, "on");
    assert_int_equal(config_get(cfg, "nope", buf, sizeof buf), CONFIG_E_NAME);
    char tiny[2];
    assert_int_equal(config_get(cfg, "model", tiny, sizeof tiny), CONFIG_E_ARG);
}

static void test_config_set_rejects_bad_values_and_keeps_old(void **state)
{
    config *cfg = *state;
    char err[256];
    assert_int_equal(config_set(cfg, "tab-width", "0", err, sizeof err), CONFIG_E_VALUE);
    assert_non_null(strstr(err, "tab-width: 0 is outside 1..16"));
    assert_int_equal(cfg->tab_width, 8);
    assert_int_equal(config_set(cfg, "tab-width", "4x", err, sizeof err), CONFIG_E_VALUE);
    assert_int_equal(config_set(cfg, "tab-width", "", err, sizeof err), CONFIG_E_VALUE);
    assert_int_equal(config_set(cfg, "tab-width", "99999999999999999999", err, sizeof err), CONFIG_E_VALUE);
    assert_int_equal(config_set(cfg, "wrap", "maybe", err, sizeof err), CONFIG_E_VALUE);
    assert_non_null(strstr(err, "not on or off"));
    assert_true(cfg->wrap);
    assert_int_equal(config_set(cfg, "temperature", "0", err, sizeof err), CONFIG_E_VALUE);
    assert_int_equal(config_set(cfg, "temperature", "nan", err, sizeof err), CONFIG_E_VALUE);
    assert_int_equal(config_set(cfg, "temperature", "inf", err, sizeof err), CONFIG_E_VALUE);
    assert_int_equal(config_set(cfg, "top-p", "1.5", err, sizeof err), CONFIG_E_VALUE);
    assert_int_equal(config_set(cfg, "seed", "-1", err, sizeof err), CONFIG_E_VALUE);
    assert_int_equal(config_set(cfg, "seed", "18446744073709551616", err, sizeof err), CONFIG_E_VALUE);
    assert_int_equal(config_set(cfg, "sampler", "greedy", err, sizeof err), CONFIG_E_VALUE);
    assert_non_null(strstr(err, "first-hitting"));
    assert_int_equal(config_set(cfg, "sampler", "", err, sizeof err), CONFIG_E_VALUE);
    assert_string_equal(cfg->sampler, "first-hitting");
    assert_int_equal(config_set(cfg, "theme", "da\x1b[2Jrk", err, sizeof err), CONFIG_E_VALUE);
    assert_string_equal(cfg->theme, "dark");
    char longname[CONFIG_MAX_NAME + 10];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(config_set(cfg, "keymap", longname, err, sizeof err), CONFIG_E_VALUE);
    assert_int_equal(config_set(cfg, "colour", "red", err, sizeof err), CONFIG_E_NAME);
    assert_non_null(strstr(err, "unknown option 'colour'"));
    assert_int_equal(config_set(cfg, NULL, "x", err, sizeof err), CONFIG_E_ARG);
}

static void test_config_file_lines_comments_quotes(void **state)
{
    config *cfg = *state;
    const char *text = "# my settings\n"
                       "\n"
                       "   keymap   =   vi   \n"
                       "line-numbers=on\r\n"
                       "model = \"  spaced # name.gguf \"\n"
                       "theme = cb-safe";
    char err[256];
    assert_int_equal(config_load_string(cfg, text, strlen(text), "cfg", err, sizeof err), CONFIG_OK);
    assert_string_equal(cfg->keymap, "vi");
    assert_true(cfg->line_numbers);
    assert_string_equal(cfg->model, "  spaced # name.gguf ");
    assert_string_equal(cfg->theme, "cb-safe");
}

static void test_config_file_errors_give_line_numbers(void **state)
{
    config *cfg = *state;
    char err[256];
    const char *text = "wrap = off\n\n# x\ntab-width = 40\nkeymap = vi\n";
    assert_int_equal(config_load_string(cfg, text, strlen(text), "cfg", err, sizeof err), CONFIG_E_VALUE);
    assert_string_equal(err, "cfg:4: tab-width: 40 is outside 1..16 (line 4 skipped)");
    assert_false(cfg->wrap);                /* lines before the error stay applied */
    assert_string_equal(cfg->keymap, "vi"); /* and those after it too */
    text = "wrap off\n";
    assert_int_equal(config_load_string(cfg, text, strlen(text), "cfg", err, sizeof err), CONFIG_E_SYNTAX);
    assert_string_equal(err, "cfg:1: expected: name = value (line 1 skipped)");
    text = "a = 1\n";
    assert_int_equal(config_load_string(cfg, text, strlen(text), "cfg", err, sizeof err), CONFIG_E_NAME);
    assert_string_equal(err, "cfg:1: unknown option 'a' (line 1 skipped)");
    text = "model = \"abc\n";
    assert_int_equal(config_load_string(cfg, text, strlen(text), "cfg", err, sizeof err), CONFIG_E_SYNTAX);
    assert_non_null(strstr(err, "cfg:1: unbalanced quotes"));
    text = " = 3\n";
    assert_int_equal(config_load_string(cfg, text, strlen(text), "cfg", err, sizeof err), CONFIG_E_SYNTAX);
    static const char nul[] = "wrap = on\nwrap = o\0n\n";
    assert_int_equal(config_load_string(cfg, nul, sizeof nul - 1, "cfg", err, sizeof err), CONFIG_E_SYNTAX);
    assert_string_equal(err, "cfg:2: NUL byte in line (line 2 skipped)");
}

static void test_config_reports_every_bad_line_and_applies_the_rest(void **state)
{
    config *cfg = *state;
    char err[512];
    const char *text = "tab-width = 40\nwrap = off\nfoo = 1\nno equals here\nkeymap = vi\n";
    assert_int_equal(config_load_string(cfg, text, strlen(text), "cfg", err, sizeof err), CONFIG_E_VALUE);
    assert_string_equal(err, "cfg:1: tab-width: 40 is outside 1..16; cfg:3: unknown option 'foo'; "
                             "cfg:4: expected: name = value (lines 1, 3, 4 skipped)");
    assert_false(cfg->wrap);
    assert_string_equal(cfg->keymap, "vi");
    /* a small buffer still says which lines were skipped */
    char small[40];
    assert_int_equal(config_load_string(cfg, text, strlen(text), "cfg", small, sizeof small), CONFIG_E_VALUE);
    assert_non_null(strstr(small, "(lines 1, 3, 4 skipped)"));
}

static void test_config_hostile_long_line(void **state)
{
    config *cfg = *state;
    size_t n = CONFIG_MAX_LINE * 4;
    char *big = malloc(n + 16);
    memcpy(big, "model = ", 8);
    memset(big + 8, 'x', n);
    char err[256];
    assert_int_equal(config_load_string(cfg, big, n + 8, "cfg", err, sizeof err), CONFIG_E_SYNTAX);
    assert_non_null(strstr(err, "cfg:1: line longer"));
    /* A line within the limit but a value too long for the field. */
    assert_int_equal(config_load_string(cfg, big, CONFIG_MAX_LINE, "cfg", err, sizeof err), CONFIG_OK);
    memcpy(big, "theme = ", 8);
    assert_int_equal(config_load_string(cfg, big, 200, "cfg", err, sizeof err), CONFIG_E_VALUE);
    assert_string_equal(cfg->theme, "dark");
    free(big);
}

static void test_config_command_line_overrides_file(void **state)
{
    config *cfg = *state;
    char err[256];
    const char *file = "tab-width = 2\nwrap = off\ntheme = light\n";
    assert_int_equal(config_load_string(cfg, file, strlen(file), "cfg", err, sizeof err), CONFIG_OK);
    int used = 0;
    assert_int_equal(config_set_arg(cfg, "--tab-width=6", NULL, &used, err, sizeof err), CONFIG_OK);
    assert_int_equal(used, 1);
    assert_int_equal(cfg->tab_width, 6);
    assert_int_equal(config_set_arg(cfg, "--theme", "mono", &used, err, sizeof err), CONFIG_OK);
    assert_int_equal(used, 2);
    assert_string_equal(cfg->theme, "mono");
    assert_int_equal(config_set_arg(cfg, "--wrap", "file.txt", &used, err, sizeof err), CONFIG_OK);
    assert_int_equal(used, 1);
    assert_true(cfg->wrap);
    assert_int_equal(config_set_arg(cfg, "--no-line-numbers", NULL, &used, err, sizeof err), CONFIG_OK);
    assert_false(cfg->line_numbers);
    assert_int_equal(config_set_arg(cfg, "--version", NULL, &used, err, sizeof err), CONFIG_E_NAME);
    assert_int_equal(config_set_arg(cfg, "--no-theme", NULL, &used, err, sizeof err), CONFIG_E_NAME);
    assert_int_equal(config_set_arg(cfg, "file.txt", NULL, &used, err, sizeof err), CONFIG_E_NAME);
    assert_int_equal(config_set_arg(cfg, "--seed", NULL, &used, err, sizeof err), CONFIG_E_VALUE);
    assert_non_null(strstr(err, "needs a value"));
    assert_int_equal(config_set_arg(cfg, "--top-k=-3", NULL, &used, err, sizeof err), CONFIG_E_VALUE);
}

static void test_config_prompt_text_forms(void **state)
{
    config *cfg = *state;
    char err[256];
    assert_int_equal(config_set_text(cfg, "steps 16", err, sizeof err), CONFIG_OK);
    assert_int_equal(cfg->steps, 16);
    assert_int_equal(config_set_text(cfg, "steps=32", err, sizeof err), CONFIG_OK);
    assert_int_equal(cfg->steps, 32);
    assert_int_equal(config_set_text(cfg, "  revise-fraction = 0.5 ", err, sizeof err), CONFIG_OK);
    assert_true(cfg->revise_fraction > 0.49 && cfg->revise_fraction < 0.51);
    assert_int_equal(config_set_text(cfg, "steps", err, sizeof err), CONFIG_E_SYNTAX);
    assert_int_equal(config_set_text(cfg, "", err, sizeof err), CONFIG_E_SYNTAX);
}

static void test_config_path_prefers_xdg(void **state)
{
    (void)state;
    char buf[256];
    assert_int_equal(config_path("/x/cfg", "/home/u", "config", buf, sizeof buf), CONFIG_OK);
    assert_string_equal(buf, "/x/cfg/bd3ed/config");
    assert_int_equal(config_path(NULL, "/home/u", "config", buf, sizeof buf), CONFIG_OK);
    assert_string_equal(buf, "/home/u/.config/bd3ed/config");
    assert_int_equal(config_path("", "/home/u", "keymaps", buf, sizeof buf), CONFIG_OK);
    assert_string_equal(buf, "/home/u/.config/bd3ed/keymaps");
    assert_int_equal(config_path("relative", "/home/u", "config", buf, sizeof buf), CONFIG_OK);
    assert_string_equal(buf, "/home/u/.config/bd3ed/config"); /* XDG spec: ignore relative */
    assert_int_equal(config_path(NULL, NULL, "config", buf, sizeof buf), CONFIG_E_ARG);
    char small[8];
    assert_int_equal(config_path("/x", NULL, "config", small, sizeof small), CONFIG_E_ARG);
    assert_string_equal(small, "");
}

static void test_config_load_file_missing_and_present(void **state)
{
    config *cfg = *state;
    char err[256];
    assert_int_equal(config_load_file(cfg, "/nonexistent/bd3ed/config", err, sizeof err), CONFIG_E_NOFILE);
    assert_int_equal(config_load_file(cfg, "/", err, sizeof err), CONFIG_E_IO);
    /* a FIFO is refused at once (the alarm only turns a hang into a failure) */
    char fifo[] = "/tmp/bd3ed-config-fifo-XXXXXX";
    assert_non_null(mkdtemp(fifo));
    char fp[64];
    snprintf(fp, sizeof fp, "%s/config", fifo);
    assert_int_equal(mkfifo(fp, 0600), 0);
    alarm(20);
    assert_int_equal(config_load_file(cfg, fp, err, sizeof err), CONFIG_E_IO);
    alarm(0);
    assert_non_null(strstr(err, "not a regular file"));
    unlink(fp);
    rmdir(fifo);
    char path[] = "/tmp/bd3ed-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "theme = light\nthreads = 2\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(config_load_file(cfg, path, err, sizeof err), CONFIG_OK);
    assert_string_equal(cfg->theme, "light");
    assert_int_equal(cfg->threads, 2);
    unlink(path);
    assert_string_not_equal(config_status_str(CONFIG_E_NAME), config_status_str(CONFIG_E_VALUE));
    config_free(NULL);
}

static void test_config_option_table_is_consistent(void **state)
{
    (void)state;
    for (int i = 0; i < config_n_options(); i++) {
        const config_option *o = config_option_at(i);
        assert_non_null(o->name);
        assert_non_null(o->help);
        assert_ptr_equal(config_option_find(o->name), o);
        assert_true(o->min <= o->max);
        assert_true((o->type == CONFIG_ENUM) == (o->choices != NULL));
    }
    assert_null(config_option_find("bogus"));
    const char *required[] = {
        "keymap",  "theme",          "wrap",    "line-numbers",    "tab-width",     "model",
        "steps",   "block-length",   "sampler", "threshold",       "temperature",   "top-p",
        "top-k",   "seed",           "refresh", "revise-fraction", "infill-length", "infill-fit",
        "threads", "score-delay-ms", "compute"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!config_option_find(required[i])) fail_msg("no option %s", required[i]);
}

static void test_config_sampler_choices_are_engine_sampler_names(void **state)
{
    (void)state;
    const config_option *o = config_option_find("sampler");
    assert_non_null(o);
    char list[256];
    snprintf(list, sizeof list, "%s", o->choices);
    int n = 0;
    for (char *save = NULL, *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        bd3_sampler_kind k;
        if (bd3_sampler_kind_parse(w, &k) != 0) fail_msg("engine does not know sampler '%s'", w);
        assert_string_equal(bd3_sampler_kind_name(k), w);
        n++;
    }
    assert_int_equal(n, 5);
    config *cfg = config_new();
    bd3_sampler_kind k;
    assert_int_equal(bd3_sampler_kind_parse(cfg->sampler, &k), 0);
    config_free(cfg);
}

/* The compute option's choices are the engine's compute modes; the default is auto. */
static void test_config_compute_choices_are_engine_modes(void **state)
{
    (void)state;
    const config_option *o = config_option_find("compute");
    assert_non_null(o);
    char list[128];
    snprintf(list, sizeof list, "%s", o->choices);
    int n = 0;
    for (char *save = NULL, *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        bd3_compute c;
        if (bd3_compute_parse(w, &c) != 0) fail_msg("engine does not know compute mode '%s'", w);
        assert_string_equal(bd3_compute_name(c), w);
        n++;
    }
    assert_int_equal(n, 4); /* auto f32 q8 bf16 */
    config *cfg = config_new();
    assert_string_equal(cfg->compute, "auto");
    char err[200];
    assert_int_equal(config_set(cfg, "compute", "bf16", err, sizeof err), CONFIG_OK);
    assert_string_equal(cfg->compute, "bf16");
    assert_int_equal(config_set(cfg, "compute", "f32", err, sizeof err), CONFIG_OK);
    assert_string_equal(cfg->compute, "f32");
    assert_int_not_equal(config_set(cfg, "compute", "f16", err, sizeof err), CONFIG_OK);
    assert_string_equal(cfg->compute, "f32");
    config_free(cfg);
}

/* The editor's sampler defaults are the engine's shared ones, and config_given tells an option the
 * person set from a default (the model's own default applies to the others). */
static void test_config_sampler_defaults_are_the_engines_and_given_is_tracked(void **state)
{
    config *cfg = *state;
    bd3_defaults d;
    bd3_model_defaults(NULL, &d);
    bd3_sampler_kind k;
    assert_int_equal(bd3_sampler_kind_parse(cfg->sampler, &k), 0);
    assert_int_equal(k, d.sampler.kind);
    assert_int_equal(cfg->steps, d.sampler.steps);
    assert_true(cfg->threshold == d.sampler.threshold);
    assert_true(cfg->temperature == d.sampler.temperature);
    assert_true(cfg->top_p == d.sampler.top_p);
    assert_int_equal(cfg->top_k, d.sampler.top_k);
    assert_true(cfg->seed == d.sampler.seed);
    assert_int_equal(cfg->refresh, d.sampler.refresh);
    assert_true(cfg->revise_fraction == d.revise_fraction);
    for (int i = 0; i < config_n_options(); i++) assert_false(config_given(cfg, config_option_at(i)->name));
    char err[256];
    assert_int_equal(config_set(cfg, "top-p", "0.9", err, sizeof err), CONFIG_OK);
    assert_true(config_given(cfg, "top-p")); /* set, even to the default value */
    assert_false(config_given(cfg, "refresh"));
    assert_int_equal(config_set(cfg, "refresh", "abc", err, sizeof err), CONFIG_E_VALUE);
    assert_false(config_given(cfg, "refresh")); /* a rejected value is not given */
    const char file[] = "refresh = 4\n";
    assert_int_equal(config_load_string(cfg, file, sizeof file - 1, "t", err, sizeof err), CONFIG_OK);
    assert_true(config_given(cfg, "refresh"));
    assert_false(config_given(cfg, "no-such-option"));
    assert_false(config_given(NULL, "top-p"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_defaults_come_from_defaults_text, setup_cfg,
                                        teardown_cfg),
        cmocka_unit_test_setup_teardown(test_config_sampler_defaults_are_the_engines_and_given_is_tracked,
                                        setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_config_set_typed_values, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_config_set_rejects_bad_values_and_keeps_old, setup_cfg,
                                        teardown_cfg),
        cmocka_unit_test_setup_teardown(test_config_file_lines_comments_quotes, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_config_file_errors_give_line_numbers, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_config_hostile_long_line, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_config_command_line_overrides_file, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_config_prompt_text_forms, setup_cfg, teardown_cfg),
        cmocka_unit_test(test_config_path_prefers_xdg),
        cmocka_unit_test_setup_teardown(test_config_load_file_missing_and_present, setup_cfg, teardown_cfg),
        cmocka_unit_test_setup_teardown(test_config_reports_every_bad_line_and_applies_the_rest, setup_cfg,
                                        teardown_cfg),
        cmocka_unit_test(test_config_option_table_is_consistent),
        cmocka_unit_test(test_config_sampler_choices_are_engine_sampler_names),
        cmocka_unit_test(test_config_compute_choices_are_engine_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
