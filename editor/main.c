/* main.c: bd3ed entry point: options, config, keymap and theme loading, files to open, signal
 * flags, then the terminal loop. The only editor file that exits. */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
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
#include "utf8.h"

static volatile sig_atomic_t main_stop; /* SIGHUP/SIGTERM arrived */
static loop *main_loop;                 /* woken by the signal handler */

/* Prints "bd3ed: " and the message on stderr with its control characters shown (^[, <9b>), as
 * the screen shows them: a message may quote an argument, and an argument is not a command to
 * the terminal. */
static void main_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void main_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    fputs("bd3ed: ", stderr);
    const unsigned char *u = (const unsigned char *)msg;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_lead_len(u[i]);
        long cp = k <= len - i ? utf8_decode(u + i, k) : -1;
        if (cp < 0) { /* a byte that is no character */
            fprintf(stderr, "<%02x>", u[i]);
            i++;
        } else if (cp < 0x20 || cp == 0x7f) {
            fprintf(stderr, "^%c", cp == 0x7f ? '?' : (char)(cp + '@'));
            i++;
        } else if (cp >= 0x80 && cp < 0xa0) { /* C1 controls, e.g. CSI */
            fprintf(stderr, "<%02lx>", cp);
            i += k;
        } else {
            fwrite(u + i, 1, k, stderr);
            i += k;
        }
    }
    fputc('\n', stderr);
}

static void main_on_signal(int sig)
{
    (void)sig;
    main_stop = 1;
    if (main_loop) loop_wakeup(main_loop);
}

static void main_usage(FILE *f)
{
    fprintf(f, "Usage: bd3ed [options] [+LINE] [FILE...]\n"
               "A terminal text editor for prose with a block-diffusion language model inside.\n"
               "\n"
               "  FILE             files to open (a missing file is created on save); - reads stdin\n"
               "  +LINE            start on line LINE of the first file\n"
               "  --keymap NAME    keymap: default, vi, emacs, or a file path\n"
               "  --theme NAME     theme: dark, light, cb-safe, mono, or a file path\n"
               "  --model FILE     model file (GGUF) for the model commands\n"
               "  --NAME=VALUE, --NAME VALUE\n"
               "                   set any option of the config file (e.g. --tab-width 4)\n"
               "  --NAME, --no-NAME  turn a boolean option on or off (e.g. --no-wrap, --line-numbers)\n"
               "  --               every later argument is a file name\n"
               "  -h, --help       show this help\n"
               "  -V, --version    show the version\n"
               "\n"
               "Options (as in the config file):\n");
    for (int i = 0; i < config_n_options(); i++) {
        const config_option *o = config_option_at(i);
        /* the default as the built-in defaults write it ("name = value" lines) */
        char def[128] = "";
        char key[CONFIG_MAX_NAME + 8];
        snprintf(key, sizeof key, "\n%s = ", o->name);
        const char *d = strstr(config_defaults_text(), key);
        if (d) {
            d += strlen(key);
            size_t n = strcspn(d, "\n");
            snprintf(def, sizeof def, "%.*s", (int)(n < sizeof def ? n : sizeof def - 1), d);
        }
        fprintf(f, "  --%-16s %s%s (default: %s)\n", o->name, o->type == CONFIG_BOOL ? "on/off: " : "",
                o->help, def);
    }
    fprintf(f, "\n"
               "Config: $XDG_CONFIG_HOME/bd3ed/config (else ~/.config/bd3ed/config); user keymaps and\n"
               "themes in the keymaps/ and themes/ folders beside it. Recovery files of unsaved changes:\n"
               "$XDG_STATE_HOME/bd3ed (else ~/.local/state/bd3ed). In the editor, C-g shows the keys.\n");
}

static bool main_is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Data directories for NAME ("keymaps" or "themes"): the user's (when user is true), the
 * installed one, and the one beside the executable (a build tree). */
static int main_data_dirs(const char *name, bool user, char dirs[][PATH_MAX], int max)
{
    int n = 0;
    if (user && n < max &&
        config_path(getenv("XDG_CONFIG_HOME"), getenv("HOME"), name, dirs[n], PATH_MAX) == CONFIG_OK &&
        main_is_dir(dirs[n]))
        n++;
    if (n < max && snprintf(dirs[n], PATH_MAX, "%s/%s", BD3ED_DATADIR, name) < PATH_MAX &&
        main_is_dir(dirs[n]))
        n++;
    char exe[PATH_MAX];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (l > 0) {
        exe[l] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        if (n < max && snprintf(dirs[n], PATH_MAX, "%s/../%s", exe, name) < PATH_MAX && main_is_dir(dirs[n]))
            n++;
        if (n < max && snprintf(dirs[n], PATH_MAX, "%s/../share/bd3ed/%s", exe, name) < PATH_MAX &&
            main_is_dir(dirs[n]))
            n++;
    }
    return n;
}

/* Loads keymap name; with user false only the shipped folders are searched (the fallback when
 * a user keymap is broken). */
static keymap *main_keymap(const char *name, bool user, char *err, size_t err_size)
{
    keymap *km = keymap_new();
    if (!km) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    keymap_set_command_check(km, command_known, NULL);
    char dirs[4][PATH_MAX];
    int n = main_data_dirs("keymaps", user, dirs, 4);
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
    int n = main_data_dirs("themes", true, dirs, 4);
    for (int i = 0; i < n; i++) theme_add_dir(th, dirs[i]);
    if (name[0]) {
        theme_status s = strchr(name, '/') ? theme_load_file(th, name, err, err_size)
                                           : theme_load_name(th, name, err, err_size);
        if (s != THEME_OK && !err[0]) snprintf(err, err_size, "theme %s: %s", name, theme_status_str(s));
    }
    return th;
}

/* The errors of a config file, "P:N: why; P:M: why (lines N, M skipped)", as start-up messages:
 * for several bad lines, first which lines were skipped, then each line's reason on its own (one
 * joined message would be cut at the screen's width). */
static void main_config_messages(editor *ed, const char *path, char *err)
{
    char *tail = strstr(err, " (line");
    while (tail && strstr(tail + 1, " (line")) tail = strstr(tail + 1, " (line");
    if (!tail || strncmp(tail, " (lines ", 8) != 0 || tail[strlen(tail) - 1] != ')') { /* one line */
        editor_message(ed, EDITOR_MSG_ERROR, "%s", err);
        return;
    }
    editor_message(ed, EDITOR_MSG_ERROR, "Config file: %.*s; the reasons follow", (int)strlen(tail + 2) - 1,
                   tail + 2);
    *tail = 0;
    char sep[PATH_MAX + 4];
    snprintf(sep, sizeof sep, "; %s:", path);
    for (char *m = err; m && *m;) {
        char *next = strstr(m, sep);
        if (next) *next = 0;
        editor_message(ed, EDITOR_MSG_ERROR, "%s", m);
        m = next ? next + 2 : NULL;
    }
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    editor *ed = editor_new();
    if (!ed) {
        fprintf(stderr, "bd3ed: out of memory\n");
        return 1;
    }

    /* config file first; the command line overrides it */
    /* every start-up message is kept: each waits behind the one before it */
    editor_set_message_queueing(ed, true);
    char path[PATH_MAX], err[1024] = "";
    if (config_path(getenv("XDG_CONFIG_HOME"), getenv("HOME"), "config", path, sizeof path) == CONFIG_OK) {
        config_status cs = config_load_file(editor_config(ed), path, err, sizeof err);
        if (cs != CONFIG_OK && cs != CONFIG_E_NOFILE) main_config_messages(ed, path, err);
    }

    const char **files = calloc((size_t)argc + 1, sizeof *files);
    int n_files = 0;
    long start_line = 0;
    bool opts_done = false;
    int early = -1; /* exit status when the options end the program (help, version, error) */
    if (!files) {
        fprintf(stderr, "bd3ed: out of memory\n");
        editor_free(ed);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && a[0] == '-' && a[1] == '-' && a[2] == 0) {
            opts_done = true;
            continue;
        }
        if (!opts_done && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
            main_usage(stdout);
            early = 0;
            break;
        }
        if (!opts_done && (!strcmp(a, "-V") || !strcmp(a, "--version"))) {
            printf("bd3ed %s\n", BD3ED_VERSION);
            early = 0;
            break;
        }
        if (!opts_done && a[0] == '-' && a[1] == '-') {
            /* any config option: --NAME=VALUE, --NAME VALUE, and --NAME / --no-NAME for a
             * boolean */
            int used = 1;
            char cerr[512];
            config_status cs = config_set_arg(editor_config(ed), a, i + 1 < argc ? argv[i + 1] : NULL, &used,
                                              cerr, sizeof cerr);
            if (cs == CONFIG_E_NAME) {
                main_error("unknown option %s (see --help)", a);
                early = 2;
                break;
            }
            if (cs != CONFIG_OK) {
                main_error("%s", cerr);
                early = 2;
                break;
            }
            i += used - 1;
            continue;
        }
        if (!opts_done && a[0] == '+' && a[1]) {
            char *end;
            start_line = strtol(a + 1, &end, 10);
            if (*end || start_line < 1) {
                main_error("bad line number %s", a);
                early = 2;
                break;
            }
            continue;
        }
        if (!opts_done && a[0] == '-' && a[1]) {
            main_error("unknown option %s (see --help)", a);
            early = 2;
            break;
        }
        files[n_files++] = a;
    }
    if (early >= 0) {
        editor_free(ed);
        free(files);
        return early;
    }
    editor_apply_config(ed);

    const char *km_name = editor_config(ed)->keymap[0] ? editor_config(ed)->keymap : "default";
    keymap *km = main_keymap(km_name, true, err, sizeof err);
    if (!km) {
        /* a broken user keymap (even a user default.keys) must not stop the editor */
        editor_message(ed, EDITOR_MSG_ERROR, "%s (using the shipped default keymap)", err);
        err[0] = 0;
        km = main_keymap("default", false, err, sizeof err);
        if (!km) {
            main_error("cannot load the default keymap: %s", err);
            return 1;
        }
        editor_set_keymap(ed, km, "default");
    } else {
        editor_set_keymap(ed, km, km_name);
    }
    err[0] = 0;
    theme *th = main_theme(editor_config(ed)->theme, err, sizeof err);
    if (!th) {
        fprintf(stderr, "bd3ed: out of memory\n");
        return 1;
    }
    if (err[0]) editor_message(ed, EDITOR_MSG_ERROR, "%s", err);

    /* files: "-" reads standard input */
    bool stdin_used = false;
    for (int i = 0; i < n_files; i++) {
        if (!strcmp(files[i], "-")) {
            if (stdin_used) continue;
            text *t;
            int e = 0;
            file_status fs = file_load_fd(0, FILE_STDIN_MAX, &t, &e);
            if (fs == FILE_E_TOOBIG) {
                fprintf(stderr,
                        "bd3ed: standard input is larger than %zu MiB; not opened "
                        "(save it to a file and open that)\n",
                        FILE_STDIN_MAX >> 20);
                return 1;
            }
            if (fs != FILE_OK) {
                fprintf(stderr, "bd3ed: cannot read standard input: %s\n",
                        fs == FILE_E_IO ? strerror(e) : file_status_str(fs));
                return 1;
            }
            editor_open_text(ed, t, "[stdin]");
            stdin_used = true;
            continue;
        }
        editor_open(ed, files[i]);
    }
    if (editor_n_buffers(ed) == 0) {
        text *t = text_new();
        if (!t || !editor_open_text(ed, t, "[new]")) {
            fprintf(stderr, "bd3ed: out of memory\n");
            return 1;
        }
        /* text of an unnamed buffer that an earlier editor lost (killed, crashed) */
        editor_offer_unnamed_recovery(ed);
    }
    if (editor_prompt_kind(ed) == PROMPT_NONE) editor_select_buffer(ed, 0);
    if (start_line > 0 && editor_prompt_kind(ed) == PROMPT_NONE) editor_goto_line(ed, (size_t)start_line - 1);

    /* the terminal: when stdin was a file or pipe, keys come from /dev/tty */
    FILE *in = stdin, *out = stdout;
    if (stdin_used || !isatty(0)) {
        in = fopen("/dev/tty", "r");
        if (!in) {
            fprintf(stderr, "bd3ed: cannot open /dev/tty: %s\n", strerror(errno));
            return 1;
        }
    }
    if (!isatty(1)) {
        out = fopen("/dev/tty", "w");
        if (!out) {
            fprintf(stderr, "bd3ed: cannot open /dev/tty: %s\n", strerror(errno));
            return 1;
        }
    }

    main_loop = loop_new();
    if (!main_loop) {
        fprintf(stderr, "bd3ed: cannot create the main loop\n");
        return 1;
    }
    editor_set_loop(ed, main_loop); /* model layer: a wakeup of the loop from its worker requests a frame */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = main_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    model_editor *me = model_editor_new(ed, th);
    if (!me) {
        fprintf(stderr, "bd3ed: out of memory\n");
        return 1;
    }
    term_config tc = {
        .in = in, .out = out, .theme = th, .stop = &main_stop, .on_frame = model_editor_on_frame, .ctx = me};
    term_status ts = term_run(ed, main_loop, &tc);
    model_editor_free(me);
    int rc = 0;
    if (ts != TERM_OK) {
        fprintf(stderr, "bd3ed: %s\n", term_status_str(ts));
        rc = 1;
    }
    if (main_stop) rc = 1;
    editor_free(ed);
    theme_free(th);
    loop_free(main_loop);
    free(files);
    if (in != stdin) fclose(in);
    if (out != stdout) fclose(out);
    return rc;
}
