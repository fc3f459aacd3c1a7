/* main.c: bd3ed entry point: options, config, keymap and theme loading, files to open, signal
 * flags, then the terminal loop. The only editor file that exits. */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "command.h"
#include "config.h"
#include "editor.h"
#include "file.h"
#include "keymap.h"
#include "loop.h"
#include "model-editor.h"
#include "term.h"
#include "theme.h"

static volatile sig_atomic_t main_stop;   /* SIGHUP/SIGTERM arrived */
static loop *main_loop;                   /* woken by the signal handler */

static void main_on_signal(int sig)
{
    (void)sig;
    main_stop = 1;
    if (main_loop) loop_wakeup(main_loop);
}

static void main_usage(FILE *f)
{
    fprintf(f,
        "Usage: bd3ed [options] [+LINE] [FILE...]\n"
        "A terminal text editor for prose with a block-diffusion language model inside.\n"
        "\n"
        "  FILE             files to open (a missing file is created on save); - reads stdin\n"
        "  +LINE            start on line LINE of the first file\n"
        "  --keymap NAME    keymap: default, vi, emacs, or a file path\n"
        "  --theme NAME     theme: dark, light, cb-safe, mono, or a file path\n"
        "  --model FILE     model file (GGUF) for the model commands\n"
        "  --NAME=VALUE     set any option of the config file (e.g. --wrap=off, --tab-width=4)\n"
        "  -h, --help       show this help\n"
        "  -V, --version    show the version\n"
        "\n"
        "Config: $XDG_CONFIG_HOME/bd3ed/config (else ~/.config/bd3ed/config); user keymaps and\n"
        "themes in the keymaps/ and themes/ folders beside it. Recovery files of unsaved changes:\n"
        "$XDG_STATE_HOME/bd3ed (else ~/.local/state/bd3ed). In the editor, C-g shows the keys.\n");
}

static bool main_is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Data directories for NAME ("keymaps" or "themes"): the user's, the installed one, and the
 * one beside the executable (a build tree). */
static int main_data_dirs(const char *name, char dirs[][PATH_MAX], int max)
{
    int n = 0;
    if (n < max && config_path(getenv("XDG_CONFIG_HOME"), getenv("HOME"), name, dirs[n], PATH_MAX) == CONFIG_OK &&
        main_is_dir(dirs[n]))
        n++;
    if (n < max && snprintf(dirs[n], PATH_MAX, "%s/%s", BD3ED_DATADIR, name) < PATH_MAX && main_is_dir(dirs[n])) n++;
    char exe[PATH_MAX];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (l > 0) {
        exe[l] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        if (n < max && snprintf(dirs[n], PATH_MAX, "%s/../%s", exe, name) < PATH_MAX && main_is_dir(dirs[n])) n++;
        if (n < max && snprintf(dirs[n], PATH_MAX, "%s/../share/bd3ed/%s", exe, name) < PATH_MAX &&
            main_is_dir(dirs[n]))
            n++;
    }
    return n;
}

static keymap *main_keymap(const char *name, char *err, size_t err_size)
{
    keymap *km = keymap_new();
    if (!km) { snprintf(err, err_size, "out of memory"); return NULL; }
    keymap_set_command_check(km, command_known, NULL);
    char dirs[4][PATH_MAX];
    int n = main_data_dirs("keymaps", dirs, 4);
    for (int i = 0; i < n; i++) keymap_add_dir(km, dirs[i]);
    keymap_status s = strchr(name, '/') ? keymap_load_file(km, name, err, err_size)
                                        : keymap_load_name(km, name, err, err_size);
    if (s != KEYMAP_OK) {
        if (!err[0]) snprintf(err, err_size, "keymap %s: %s", name, keymap_status_str(s));
        keymap_free(km);
        return NULL;
    }
    return km;
}

static theme *main_theme(const char *name, char *err, size_t err_size)
{
    theme *th = theme_new();
    if (!th) return NULL;
    char dirs[4][PATH_MAX];
    int n = main_data_dirs("themes", dirs, 4);
    for (int i = 0; i < n; i++) theme_add_dir(th, dirs[i]);
    if (name[0]) {
        theme_status s = strchr(name, '/') ? theme_load_file(th, name, err, err_size)
                                           : theme_load_name(th, name, err, err_size);
        if (s != THEME_OK && !err[0]) snprintf(err, err_size, "theme %s: %s", name, theme_status_str(s));
    }
    return th;
}

/* Sets option name from the command line; exits with a message when it is not valid. */
static void main_set(config *cfg, const char *name, const char *value)
{
    char err[512];
    if (config_set(cfg, name, value, err, sizeof err) != CONFIG_OK) {
        fprintf(stderr, "bd3ed: %s\n", err);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    editor *ed = editor_new();
    if (!ed) { fprintf(stderr, "bd3ed: out of memory\n"); return 1; }

    /* config file first; the command line overrides it */
    char path[PATH_MAX], err[1024] = "", startup_msg[1100] = "";
    if (config_path(getenv("XDG_CONFIG_HOME"), getenv("HOME"), "config", path, sizeof path) == CONFIG_OK) {
        config_status cs = config_load_file(ed->cfg, path, err, sizeof err);
        if (cs != CONFIG_OK && cs != CONFIG_E_NOFILE) snprintf(startup_msg, sizeof startup_msg, "%s", err);
    }

    const char **files = calloc((size_t)argc + 1, sizeof *files);
    int n_files = 0;
    long start_line = 0;
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && a[0] == '-' && a[1] == '-' && a[2] == 0) { opts_done = true; continue; }
        if (!opts_done && (!strcmp(a, "-h") || !strcmp(a, "--help"))) { main_usage(stdout); return 0; }
        if (!opts_done && (!strcmp(a, "-V") || !strcmp(a, "--version"))) { printf("bd3ed %s\n", BD3ED_VERSION); return 0; }
        if (!opts_done && (!strcmp(a, "--keymap") || !strcmp(a, "--theme") || !strcmp(a, "--model"))) {
            if (i + 1 >= argc) { fprintf(stderr, "bd3ed: %s needs a value\n", a); return 2; }
            main_set(ed->cfg, a + 2, argv[++i]);
            continue;
        }
        if (!opts_done && a[0] == '-' && a[1] == '-') {
            const char *eq = strchr(a, '=');
            char name[CONFIG_MAX_NAME];
            if (!eq || (size_t)(eq - a - 2) >= sizeof name) {
                fprintf(stderr, "bd3ed: unknown option %s (see --help)\n", a);
                return 2;
            }
            memcpy(name, a + 2, (size_t)(eq - a - 2));
            name[eq - a - 2] = 0;
            main_set(ed->cfg, name, eq + 1);
            continue;
        }
        if (!opts_done && a[0] == '+' && a[1]) {
            char *end;
            start_line = strtol(a + 1, &end, 10);
            if (*end || start_line < 1) { fprintf(stderr, "bd3ed: bad line number %s\n", a); return 2; }
            continue;
        }
        if (!opts_done && a[0] == '-' && a[1]) { fprintf(stderr, "bd3ed: unknown option %s (see --help)\n", a); return 2; }
        files[n_files++] = a;
    }
    editor_apply_config(ed);

    keymap *km = main_keymap(ed->cfg->keymap[0] ? ed->cfg->keymap : "default", err, sizeof err);
    if (!km) {
        snprintf(startup_msg, sizeof startup_msg, "%s (using the default keymap)", err);
        km = main_keymap("default", err, sizeof err);
        if (!km) { fprintf(stderr, "bd3ed: cannot load the default keymap: %s\n", err); return 1; }
        editor_set_keymap(ed, km, "default");
    } else {
        editor_set_keymap(ed, km, ed->cfg->keymap[0] ? ed->cfg->keymap : "default");
    }
    err[0] = 0;
    theme *th = main_theme(ed->cfg->theme, err, sizeof err);
    if (!th) { fprintf(stderr, "bd3ed: out of memory\n"); return 1; }
    if (err[0]) snprintf(startup_msg, sizeof startup_msg, "%s", err);

    /* files: "-" reads standard input */
    bool stdin_used = false;
    for (int i = 0; i < n_files; i++) {
        if (!strcmp(files[i], "-")) {
            if (stdin_used) continue;
            text *t;
            int e = 0;
            if (file_load_fd(0, &t, &e) != FILE_OK) {
                fprintf(stderr, "bd3ed: cannot read standard input: %s\n", strerror(e));
                return 1;
            }
            editor_open_text(ed, t, "[stdin]");
            stdin_used = true;
            continue;
        }
        editor_open(ed, files[i]);
    }
    if (ed->n_bufs == 0) {
        text *t = text_new();
        if (!t || !editor_open_text(ed, t, "[new]")) { fprintf(stderr, "bd3ed: out of memory\n"); return 1; }
    }
    if (ed->n_bufs > 0 && ed->prompt == PROMPT_NONE) ed->cur = 0;
    if (start_line > 0 && ed->prompt == PROMPT_NONE) editor_goto_line(ed, (size_t)start_line - 1);
    if (startup_msg[0] && !ed->message[0]) editor_message(ed, true, "%s", startup_msg);

    /* the terminal: when stdin was a file or pipe, keys come from /dev/tty */
    FILE *in = stdin, *out = stdout;
    if (stdin_used || !isatty(0)) {
        in = fopen("/dev/tty", "r");
        if (!in) { fprintf(stderr, "bd3ed: cannot open /dev/tty: %s\n", strerror(errno)); return 1; }
    }
    if (!isatty(1)) {
        out = fopen("/dev/tty", "w");
        if (!out) { fprintf(stderr, "bd3ed: cannot open /dev/tty: %s\n", strerror(errno)); return 1; }
    }

    main_loop = loop_new();
    if (!main_loop) { fprintf(stderr, "bd3ed: cannot create the main loop\n"); return 1; }
    ed->loop = main_loop;   /* model layer: loop_wakeup(ed->loop) from its worker requests a frame */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = main_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    ed->loop = main_loop;
    model_editor *me = model_editor_new(ed, th);
    if (!me) { fprintf(stderr, "bd3ed: out of memory\n"); return 1; }
    term_config tc = { .in = in, .out = out, .theme = th, .stop = &main_stop,
                       .on_frame = model_editor_on_frame, .ctx = me };
    term_status ts = term_run(ed, main_loop, &tc);
    model_editor_free(me);
    int rc = 0;
    if (ts != TERM_OK) { fprintf(stderr, "bd3ed: %s\n", term_status_str(ts)); rc = 1; }
    if (main_stop) rc = 1;
    editor_free(ed);
    theme_free(th);
    loop_free(main_loop);
    free(files);
    if (in != stdin) fclose(in);
    if (out != stdout) fclose(out);
    return rc;
}
