/* test_cases.c: data-driven editing cases: each tests/cases/NAME.case gives an input text, keys
 * in key-name syntax and the expected text, and runs through the real keymap and command code
 * with no terminal.
 *
 * Case file format: header lines, then sections introduced by "--- NAME" lines.
 *   keymap NAME        keymaps/NAME.keys (default: default)
 *   cursor N           byte offset of the cursor in the input (default 0)
 *   size ROWS COLS     screen size (default 24 80)
 *   wrap on|off        soft wrap (default on)
 *   expect-cursor N    byte offset the cursor must end at
 *   expect-model-selection LO HI
 *                      a stand-in for the model layer records the selection each model command
 *                      acts on (as the model layer reads it); the last one must be [LO, HI)
 *   # ...              comment
 * Sections: "input", "keys", "expect", optional "register" (expected register content).
 * A section's content is the bytes between its line and the next "--- " line, less the last
 * newline (leave an empty line to end with a newline). Keys are separated by blanks: key names
 * ("C-s", "S-Left", "Enter"), "TEXT" types each character of TEXT (\n Enter, \t Tab, \" and \\),
 * paste:"TEXT" delivers TEXT as one bracketed paste. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "command.h"
#include "editor-core.h"

#define CASES_DIR "tests/cases"

typedef struct case_file {
    char name[256]; /* file name */
    char *data;     /* whole file, NUL-terminated */
    size_t len;     /* bytes */
} case_file;

/* Finds section name: sets *start and *len; false when absent. */
static bool case_section(const case_file *cf, const char *name, const char **start, size_t *len)
{
    char hdr[64];
    snprintf(hdr, sizeof hdr, "--- %s\n", name);
    size_t hl = strlen(hdr);
    const char *p = cf->data, *end = cf->data + cf->len;
    for (;;) {
        const char *h = memmem(p, (size_t)(end - p), hdr, hl);
        if (!h) return false;
        if (h == cf->data || h[-1] == '\n') {
            p = h;
            break;
        }
        p = h + 1;
    }
    const char *s = p + hl;
    const char *n = memmem(s - 1, (size_t)(end - s + 1), "\n--- ", 5);
    const char *e = n ? n + 1 : end;
    size_t l = (size_t)(e - s);
    if (l > 0 && s[l - 1] == '\n') l--;
    *start = s;
    *len = l;
    return true;
}

/* Value of header line "key VALUE" (before the first section), or NULL. */
static const char *case_header(const case_file *cf, const char *key, char *buf, size_t size)
{
    const char *p = cf->data;
    size_t kl = strlen(key);
    while (*p && strncmp(p, "--- ", 4) != 0) {
        const char *nl = strchr(p, '\n');
        size_t ll = nl ? (size_t)(nl - p) : strlen(p);
        if (ll > kl && strncmp(p, key, kl) == 0 && p[kl] == ' ') {
            size_t vl = ll - kl - 1;
            if (vl >= size) vl = size - 1;
            memcpy(buf, p + kl + 1, vl);
            buf[vl] = 0;
            return buf;
        }
        if (!nl) break;
        p = nl + 1;
    }
    return NULL;
}

static key_code case_char_key(uint32_t cp)
{
    if (cp == '\n') return KEYC_ENTER;
    if (cp == '\t') return KEYC_TAB;
    return cp;
}

/* Decodes one UTF-8 character of s (at most n bytes); returns its length (1 for bad bytes). */
static size_t case_utf8(const char *s, size_t n, uint32_t *cp)
{
    unsigned char c = (unsigned char)s[0];
    size_t l = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (l > n) l = 1;
    uint32_t v = l == 1 ? c : l == 2 ? c & 0x1f : l == 3 ? c & 0x0f : c & 0x07;
    for (size_t i = 1; i < l; i++) v = v << 6 | ((unsigned char)s[i] & 0x3f);
    *cp = v;
    return l;
}

/* Reads a quoted string starting at *p (after the opening quote) into out; advances *p. */
static size_t case_quoted(const char **p, const char *end, char *out, size_t size)
{
    size_t n = 0;
    const char *s = *p;
    while (s < end && *s != '"') {
        char c = *s++;
        if (c == '\\' && s < end) {
            char e = *s++;
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e;
        }
        if (n + 1 < size) out[n++] = c;
    }
    if (s < end) s++;
    *p = s;
    out[n] = 0;
    return n;
}

static void case_feed(editor *ed, const char *keys, size_t len, const char *name)
{
    const char *p = keys, *end = keys + len;
    char buf[4096];
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\t')) p++;
        if (p >= end) break;
        if (*p == '#') {
            while (p < end && *p != '\n') p++;
            continue;
        }
        if (*p == '"') {
            p++;
            size_t n = case_quoted(&p, end, buf, sizeof buf);
            for (size_t i = 0; i < n;) {
                uint32_t cp;
                i += case_utf8(buf + i, n - i, &cp);
                editor_key(ed, case_char_key(cp));
            }
            continue;
        }
        if (end - p > 7 && strncmp(p, "paste:\"", 7) == 0) {
            p += 7;
            size_t n = case_quoted(&p, end, buf, sizeof buf);
            editor_paste(ed, buf, n);
            continue;
        }
        const char *s = p;
        while (p < end && *p != ' ' && *p != '\n' && *p != '\t') p++;
        size_t n = (size_t)(p - s);
        if (n >= sizeof buf) n = sizeof buf - 1;
        memcpy(buf, s, n);
        buf[n] = 0;
        key_code k;
        if (key_parse(buf, &k) != KEY_OK) fail_msg("%s: bad key name \"%s\"", name, buf);
        editor_key(ed, k);
    }
}

/* What the model commands of a case saw (the stand-in model layer of expect-model-selection). */
typedef struct case_model_rec {
    int calls;     /* model commands run */
    bool on;       /* the last one had a selection */
    size_t lo, hi; /* that selection, [lo, hi) */
} case_model_rec;

/* editor_model_fn: records the selection the command would act on, and does nothing else. */
static void case_model_hook(editor *ed, editor_model_cmd cmd, int count, void *ctx)
{
    (void)cmd;
    (void)count;
    case_model_rec *rec = ctx;
    rec->calls++;
    rec->on = buffer_selection(editor_buffer(ed), &rec->lo, &rec->hi);
}

static void test_case_run(void **state)
{
    case_file *cf = *state;
    char hv[256];
    const char *km_name = case_header(cf, "keymap", hv, sizeof hv);
    char kmn[64];
    snprintf(kmn, sizeof kmn, "%s", km_name ? km_name : "default");
    keymap *km = keymap_new();
    assert_non_null(km);
    keymap_add_dir(km, "keymaps");
    keymap_set_command_check(km, command_known, NULL);
    char err[512];
    if (keymap_load_name(km, kmn, err, sizeof err) != KEYMAP_OK) fail_msg("%s: keymap: %s", cf->name, err);

    editor *ed = editor_new();
    assert_non_null(ed);
    editor_set_keymap(ed, km, kmn);
    int rows = 24, cols = 80;
    if (case_header(cf, "size", hv, sizeof hv)) assert_int_equal(sscanf(hv, "%d %d", &rows, &cols), 2);
    if (case_header(cf, "wrap", hv, sizeof hv)) ed->cfg->wrap = strcmp(hv, "off") != 0;
    editor_resize(ed, rows, cols);

    const char *in, *keys, *want;
    size_t in_len, keys_len, want_len;
    if (!case_section(cf, "input", &in, &in_len)) fail_msg("%s: no input section", cf->name);
    if (!case_section(cf, "keys", &keys, &keys_len)) fail_msg("%s: no keys section", cf->name);
    if (!case_section(cf, "expect", &want, &want_len)) fail_msg("%s: no expect section", cf->name);
    text *t = text_new();
    assert_int_equal(text_insert(t, 0, in, in_len), TEXT_OK);
    text_set_saved(t);
    assert_true(editor_open_text(ed, t, "case"));
    buffer *b = editor_buffer(ed);
    if (case_header(cf, "cursor", hv, sizeof hv)) b->cursor = strtoul(hv, NULL, 10);
    assert_true(b->cursor <= in_len);
    case_model_rec rec = {0};
    bool model_check = case_header(cf, "expect-model-selection", hv, sizeof hv) != NULL;
    size_t want_lo = 0, want_hi = 0;
    if (model_check) {
        assert_int_equal(sscanf(hv, "%zu %zu", &want_lo, &want_hi), 2);
        editor_set_model_hook(ed, case_model_hook, NULL, &rec);
    }

    case_feed(ed, keys, keys_len, cf->name);

    b = editor_buffer(ed);
    assert_non_null(b);
    size_t n = text_size(b->text);
    char *got = malloc(n + 1);
    text_read(b->text, 0, n, got);
    got[n] = 0;
    if (n != want_len || memcmp(got, want, n) != 0)
        fail_msg("%s: text differs\n--- got\n%s\n--- expected\n%.*s\n(message: %s)", cf->name, got,
                 (int)want_len, want, ed->message);
    free(got);
    if (case_header(cf, "expect-cursor", hv, sizeof hv)) {
        size_t c = strtoul(hv, NULL, 10);
        if (b->cursor != c) fail_msg("%s: cursor at %zu, expected %zu", cf->name, b->cursor, c);
    }
    if (model_check) {
        if (rec.calls == 0) fail_msg("%s: no model command ran", cf->name);
        if (!rec.on) fail_msg("%s: the model command saw no selection", cf->name);
        if (rec.lo != want_lo || rec.hi != want_hi)
            fail_msg("%s: the model command saw [%zu, %zu), expected [%zu, %zu)", cf->name, rec.lo, rec.hi,
                     want_lo, want_hi);
    }
    const char *reg;
    size_t reg_len;
    if (case_section(cf, "register", &reg, &reg_len)) {
        if (ed->reg_len != reg_len || memcmp(ed->reg, reg, reg_len) != 0)
            fail_msg("%s: register is \"%.*s\", expected \"%.*s\"", cf->name, (int)ed->reg_len,
                     ed->reg ? ed->reg : "", (int)reg_len, reg);
    }
    editor_free(ed);
}

static int case_cmp(const void *a, const void *b)
{
    return strcmp(((const case_file *)a)->name, ((const case_file *)b)->name);
}

int main(void)
{
    DIR *d = opendir(CASES_DIR);
    if (!d) {
        fprintf(stderr, "test_cases: cannot open %s (run from the repository root)\n", CASES_DIR);
        return 1;
    }
    case_file *cases = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".case") != 0 || l >= sizeof cases->name) continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", CASES_DIR, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        case_file cf = {0};
        snprintf(cf.name, sizeof cf.name, "%s", e->d_name);
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        cf.data = malloc((size_t)sz + 1);
        cf.len = fread(cf.data, 1, (size_t)sz, f);
        cf.data[cf.len] = 0;
        fclose(f);
        cases = realloc(cases, (n + 1) * sizeof *cases);
        cases[n++] = cf;
    }
    closedir(d);
    if (n == 0) {
        fprintf(stderr, "test_cases: no cases in %s\n", CASES_DIR);
        return 1;
    }
    qsort(cases, n, sizeof *cases, case_cmp);
    struct CMUnitTest *tests = calloc(n, sizeof *tests);
    for (size_t i = 0; i < n; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = test_case_run;
        tests[i].initial_state = &cases[i];
    }
    int rc = _cmocka_run_group_tests("cases", tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++) free(cases[i].data);
    free(cases);
    free(tests);
    return rc;
}
