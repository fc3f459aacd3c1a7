/* tokenizer.c: byte-level BPE with two pre-tokenisation rule sets (GPT-2's and Qwen2's), each
 * hand-written as a scanner. Depends on libc and libutf8proc (categories, NFC) only.
 *
 * Rule set "gpt2" (the default):
 * Pre-tokenisation follows GPT-2's pattern, alternatives tried in order at each position:
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * \p{L} is the Unicode categories Lu Ll Lt Lm Lo, \p{N} is Nd Nl No, \s is the Unicode White_Space
 * property (U+0009..U+000D, U+0085 and categories Zs Zl Zp), as in the Python `regex` module GPT-2
 * uses. GPT-2's encoder works on Unicode strings, so it never sees invalid UTF-8; here every byte
 * that does not start a valid, shortest-form UTF-8 sequence (surrogates and values past U+10FFFF
 * are invalid) is a character of its own in the "other" class [^\s\p{L}\p{N}], so any byte string
 * encodes and decodes back to itself. The text of the eos token ("<|endoftext|>") is cut out
 * before pre-tokenisation and becomes the eos id; the mask token is never produced.
 *
 * BPE merges the lowest-ranked adjacent pair, all its non-overlapping occurrences left to right,
 * then the next lowest, exactly as GPT-2's encoder does; a heap keeps this fast on long words.
 *
 * Rule set "qwen2" (Qwen2, Qwen2.5 and Qwen3 vocabularies): text is first put in Unicode NFC (each
 * maximal run of valid UTF-8 on its own; invalid bytes are kept as they are), then cut with
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
 *   \s*[\r\n]+|\s+(?!\S)|\s+
 * where the case-insensitive contractions are ASCII only and \s is JavaScript's white space
 * (U+0009..U+000D, U+0020, U+2028, U+2029, U+FEFF and category Zs; not U+0085), as in the
 * tokenizers.js encoder this rule set is checked against. Merging takes the lowest (rank, position)
 * pair one at a time, so a pair created by a merge competes at once (the tokenizers library's
 * order). Added tokens (control and user-defined entries) match only in
 * tokenizer_encode_special; tokenizer_encode leaves their text to BPE like any other text. */
#include "tokenizer.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <utf8proc.h>

#define TOK_CLASS_OTHER  0 /* neither letter, number nor whitespace (also invalid bytes) */
#define TOK_CLASS_LETTER 1 /* \p{L} */
#define TOK_CLASS_NUMBER 2 /* \p{N} */
#define TOK_CLASS_SPACE  3 /* \s */

typedef struct tok_merge_slot {
    uint64_t key;   /* (left id << 32) | right id; UINT64_MAX when empty */
    int32_t rank;   /* position in the merge list, 0 = highest priority */
    int32_t result; /* id of the merged token */
} tok_merge_slot;

struct tokenizer {
    int n_vocab;            /* number of tokens */
    char *strs;             /* token strings (mapped form), concatenated */
    size_t *str_off;        /* [n_vocab + 1] offsets into strs */
    char *raw;              /* raw bytes of every token, concatenated */
    size_t *raw_off;        /* [n_vocab + 1] offsets into raw */
    int32_t *vocab_slots;   /* [vocab_cap] open-addressing table of ids by string; -1 empty */
    size_t vocab_cap;       /* slots in vocab_slots, a power of two */
    tok_merge_slot *merges; /* [merge_cap] open-addressing table of merge rules */
    size_t merge_cap;       /* slots in merges, a power of two */
    int n_merges;           /* merge rules stored */
    int32_t byte_id[256];   /* id of the token for each single byte; -1 when absent */
    int32_t eos_id;         /* end-of-text id or -1 */
    int32_t mask_id;        /* mask id or -1 */
    int pre;                /* pre-tokenisation rule set, TOK_PRE_GPT2 or TOK_PRE_QWEN2 */
    int32_t *added;         /* [n_added] ids matched literally by tokenizer_encode_special,
                               longest text first */
    int n_added;            /* entries in added */
};

#define TOK_PRE_GPT2  0 /* GPT-2 rules; "<|endoftext|>" always becomes the eos id */
#define TOK_PRE_QWEN2 1 /* Qwen2 rules, NFC, added tokens only on request */

/* ---- GPT-2's byte-to-unicode mapping ----------------------------------------------------- */

/* The code point GPT-2 uses to stand for byte b: printable Latin-1 bytes stand for themselves,
 * the other 68 bytes for U+0100.. in byte order. */
static int32_t tok_byte_to_cp(int b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return b;
    int n = 0;
    for (int i = 0; i < b; i++)
        if (!((i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255))) n++;
    return 256 + n;
}

/* The byte a code point stands for, or -1 when it is not one of the 256 mapped code points. */
static int tok_cp_to_byte(int32_t cp)
{
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255)) return cp;
    if (cp < 256 || cp >= 256 + 68) return -1;
    int n = cp - 256;
    for (int b = 0; b < 256; b++) {
        if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) {
            if (n == 0) return b;
            n--;
        }
    }
    return -1;
}

/* ---- UTF-8 ------------------------------------------------------------------------------- */

/* Decodes one strict UTF-8 character at s[0..n), n >= 1. Returns its length and sets *cp, or
 * returns 1 with *cp = -1 for a byte that does not start a valid character. */
static size_t tok_utf8_decode(const unsigned char *s, size_t n, int32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = (int32_t)c;
        return 1;
    }
    size_t len;
    int32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        *cp = -1;
        return 1;
    }
    if (len > n) {
        *cp = -1;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = -1;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = -1;
        return 1;
    }
    *cp = v;
    return len;
}

/* Writes the UTF-8 form of cp (< 0x800 here) to out; returns its length. */
static size_t tok_utf8_encode_small(int32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* Class of the character at s[0..n) (n >= 1) and its length in bytes. */
static int tok_char_class(const unsigned char *s, size_t n, size_t *clen)
{
    int32_t cp;
    *clen = tok_utf8_decode(s, n, &cp);
    if (cp < 0) return TOK_CLASS_OTHER;
    if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85) return TOK_CLASS_SPACE;
    if (cp < 0x80) {
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return TOK_CLASS_LETTER;
        if (cp >= '0' && cp <= '9') return TOK_CLASS_NUMBER;
        return TOK_CLASS_OTHER;
    }
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: return TOK_CLASS_LETTER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return TOK_CLASS_NUMBER;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP: return TOK_CLASS_SPACE;
    default: return TOK_CLASS_OTHER;
    }
}

/* Length in bytes of the pre-token starting at s[0..n), n >= 1 (see the pattern above). */
static size_t tok_pretoken_len(const unsigned char *s, size_t n)
{
    size_t clen;
    if (s[0] == '\'' && n >= 2) {
        unsigned char a = s[1];
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if (n >= 3) {
            unsigned char b = s[2];
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        }
    }
    int c0 = tok_char_class(s, n, &clen);
    /* ' ?X+' for X = letter, number, other: with the optional space first, then without it */
    size_t start = 0;
    int cls = -1;
    if (s[0] == ' ' && n >= 2) {
        size_t l2;
        int c1 = tok_char_class(s + 1, n - 1, &l2);
        if (c1 != TOK_CLASS_SPACE) {
            start = 1;
            cls = c1;
        }
    }
    if (cls < 0 && c0 != TOK_CLASS_SPACE) cls = c0;
    if (cls >= 0) {
        size_t p = start;
        while (p < n) {
            size_t l;
            if (tok_char_class(s + p, n - p, &l) != cls) break;
            p += l;
        }
        return p;
    }
    /* whitespace: \s+(?!\S) takes the run but leaves its last character when a non-space
     * follows; a single whitespace character before a non-space is taken by \s+ */
    size_t p = 0, last = 0;
    while (p < n) {
        size_t l;
        if (tok_char_class(s + p, n - p, &l) != TOK_CLASS_SPACE) break;
        last = p;
        p += l;
    }
    if (p == n || last == 0) return p;
    return last;
}

/* Class of the character at s[0..n) under the qwen2 rules (JavaScript's \s) and its length. */
static int tok_char_class_js(const unsigned char *s, size_t n, size_t *clen)
{
    int32_t cp;
    *clen = tok_utf8_decode(s, n, &cp);
    if (cp < 0) return TOK_CLASS_OTHER;
    if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF)
        return TOK_CLASS_SPACE;
    if (cp < 0x80) {
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return TOK_CLASS_LETTER;
        if (cp >= '0' && cp <= '9') return TOK_CLASS_NUMBER;
        return TOK_CLASS_OTHER;
    }
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: return TOK_CLASS_LETTER;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return TOK_CLASS_NUMBER;
    case UTF8PROC_CATEGORY_ZS: return TOK_CLASS_SPACE;
    default: return TOK_CLASS_OTHER;
    }
}

/* End of the run of characters of class cls starting at s[p] (p <= n). */
static size_t tok_run_js(const unsigned char *s, size_t n, size_t p, int cls)
{
    while (p < n) {
        size_t l;
        if (tok_char_class_js(s + p, n - p, &l) != cls) break;
        p += l;
    }
    return p;
}

static int tok_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Length in bytes of the qwen2 pre-token starting at s[0..n), n >= 1 (pattern at the top). */
static size_t tok_pretoken_len_qwen(const unsigned char *s, size_t n)
{
    if (s[0] == '\'' && n >= 2) {
        int a = tok_lower(s[1]);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if (n >= 3) {
            int b = tok_lower(s[2]);
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        }
    }
    size_t l0, l1 = 0;
    int c0 = tok_char_class_js(s, n, &l0), c1 = -1;
    if (l0 < n) c1 = tok_char_class_js(s + l0, n - l0, &l1);
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (c0 == TOK_CLASS_LETTER) return tok_run_js(s, n, l0, TOK_CLASS_LETTER);
    if (c0 != TOK_CLASS_NUMBER && s[0] != '\r' && s[0] != '\n' && c1 == TOK_CLASS_LETTER)
        return tok_run_js(s, n, l0 + l1, TOK_CLASS_LETTER);
    /* \p{N}: one character */
    if (c0 == TOK_CLASS_NUMBER) return l0;
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    if (c0 == TOK_CLASS_OTHER || (s[0] == ' ' && c1 == TOK_CLASS_OTHER)) {
        size_t p = tok_run_js(s, n, c0 == TOK_CLASS_OTHER ? 0 : l0, TOK_CLASS_OTHER);
        while (p < n && (s[p] == '\r' || s[p] == '\n')) p++;
        return p;
    }
    /* white space: \s*[\r\n]+ ends after the run's last CR or LF; else \s+(?!\S) leaves the
     * run's last character when a non-space follows; a single one before a non-space is \s+ */
    size_t p = 0, last = 0, nl_end = 0;
    while (p < n) {
        size_t l;
        if (tok_char_class_js(s + p, n - p, &l) != TOK_CLASS_SPACE) break;
        if (s[p] == '\r' || s[p] == '\n') nl_end = p + l;
        last = p;
        p += l;
    }
    if (nl_end) return nl_end;
    if (p == n || last == 0) return p;
    return last;
}

/* ---- hash tables ------------------------------------------------------------------------- */

static uint64_t tok_hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static uint64_t tok_hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Id of the token whose mapped string is s[0..n), or -1. */
static int32_t tok_vocab_find(const tokenizer *t, const char *s, size_t n)
{
    size_t mask = t->vocab_cap - 1;
    for (size_t i = tok_hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        int32_t id = t->vocab_slots[i];
        if (id < 0) return -1;
        size_t len = t->str_off[id + 1] - t->str_off[id];
        if (len == n && memcmp(t->strs + t->str_off[id], s, n) == 0) return id;
    }
}

static const tok_merge_slot *tok_merge_find(const tokenizer *t, int32_t left, int32_t right)
{
    uint64_t key = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
    size_t mask = t->merge_cap - 1;
    for (size_t i = tok_hash_u64(key) & mask;; i = (i + 1) & mask) {
        if (t->merges[i].key == UINT64_MAX) return NULL;
        if (t->merges[i].key == key) return &t->merges[i];
    }
}

/* ---- construction ------------------------------------------------------------------------ */

static size_t tok_pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

static bd3_status tok_fail(tokenizer *t, bd3_status s, char *err, size_t err_size, const char *msg, int index)
{
    if (err && err_size) {
        if (index >= 0)
            snprintf(err, err_size, "%s (entry %d)", msg, index);
        else
            snprintf(err, err_size, "%s", msg);
    }
    tokenizer_free(t);
    return s;
}

bd3_status tokenizer_new(const char *const *tokens, const size_t *token_lens, int n_tokens,
                         const char *const *merges, const size_t *merge_lens, int n_merges, int32_t eos_id,
                         int32_t mask_id, tokenizer **out, char *err, size_t err_size)
{
    *out = NULL;
    if (err && err_size) err[0] = '\0';
    if (n_tokens <= 0 || n_tokens > (1 << 30) || n_merges < 0 || n_merges > (1 << 30) ||
        (n_tokens && (!tokens || !token_lens)) || (n_merges && (!merges || !merge_lens)))
        return tok_fail(NULL, BD3_E_ARG, err, err_size, "tokenizer: bad vocabulary or merge counts", -1);
    if (eos_id < -1 || eos_id >= n_tokens || mask_id < -1 || mask_id >= n_tokens)
        return tok_fail(NULL, BD3_E_FORMAT, err, err_size, "tokenizer: eos or mask id outside the vocabulary",
                        -1);
    tokenizer *t = calloc(1, sizeof *t);
    if (!t) return BD3_E_NOMEM;
    t->n_vocab = n_tokens;
    t->eos_id = eos_id;
    t->mask_id = mask_id;
    size_t total = 0;
    for (int i = 0; i < n_tokens; i++) {
        if (!tokens[i] && token_lens[i])
            return tok_fail(t, BD3_E_ARG, err, err_size, "tokenizer: NULL token string", i);
        if (token_lens[i] > ((size_t)1 << 20))
            return tok_fail(t, BD3_E_FORMAT, err, err_size, "tokenizer: token string longer than 1 MiB", i);
        total += token_lens[i];
    }
    t->str_off = malloc(((size_t)n_tokens + 1) * sizeof *t->str_off);
    t->raw_off = malloc(((size_t)n_tokens + 1) * sizeof *t->raw_off);
    t->strs = malloc(total + 1);
    t->raw = malloc(total + 1);
    t->vocab_cap = tok_pow2_at_least((size_t)n_tokens * 2);
    t->vocab_slots = malloc(t->vocab_cap * sizeof *t->vocab_slots);
    t->merge_cap = tok_pow2_at_least((size_t)n_merges * 2);
    t->merges = malloc(t->merge_cap * sizeof *t->merges);
    if (!t->str_off || !t->raw_off || !t->strs || !t->raw || !t->vocab_slots || !t->merges)
        return tok_fail(t, BD3_E_NOMEM, err, err_size, "tokenizer: out of memory", -1);
    memset(t->vocab_slots, 0xff, t->vocab_cap * sizeof *t->vocab_slots);
    for (size_t i = 0; i < t->merge_cap; i++) t->merges[i].key = UINT64_MAX;
    for (int b = 0; b < 256; b++) t->byte_id[b] = -1;

    /* token strings, their raw bytes, and the string -> id table (first id wins on duplicates) */
    size_t so = 0, ro = 0;
    for (int i = 0; i < n_tokens; i++) {
        const char *s = tokens[i];
        size_t n = token_lens[i];
        t->str_off[i] = so;
        t->raw_off[i] = ro;
        if (n) memcpy(t->strs + so, s, n);
        so += n;
        /* raw bytes: through the byte mapping when every character is a mapped one, else literal */
        size_t p = 0, r = ro;
        int mapped = 1;
        while (p < n) {
            int32_t cp;
            size_t l = tok_utf8_decode((const unsigned char *)s + p, n - p, &cp);
            int b = cp < 0 ? -1 : tok_cp_to_byte(cp);
            if (b < 0) {
                mapped = 0;
                break;
            }
            t->raw[r++] = (char)b;
            p += l;
        }
        if (!mapped) {
            if (n) memcpy(t->raw + ro, s, n);
            r = ro + n;
        }
        ro = r;
        if (tok_vocab_find(t, s, n) < 0) {
            size_t mask = t->vocab_cap - 1;
            size_t k = tok_hash_bytes(s, n) & mask;
            while (t->vocab_slots[k] >= 0) k = (k + 1) & mask;
            /* str_off[i + 1] must be valid for the lookup above on later entries */
            t->vocab_slots[k] = i;
        }
        t->str_off[i + 1] = so;
        t->raw_off[i + 1] = ro;
    }
    for (int b = 0; b < 256; b++) {
        char u[2];
        size_t l = tok_utf8_encode_small(tok_byte_to_cp(b), u);
        t->byte_id[b] = tok_vocab_find(t, u, l);
    }

    /* merge rules: "left right" -> (rank, id of left+right) */
    char *buf = NULL;
    size_t buf_cap = 0;
    for (int i = 0; i < n_merges; i++) {
        const char *m = merges[i];
        size_t n = merge_lens[i];
        const char *sp = m ? memchr(m, ' ', n) : NULL;
        if (!sp || sp == m || sp == m + n - 1 || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - m))) {
            free(buf);
            return tok_fail(t, BD3_E_FORMAT, err, err_size, "tokenizer: merge is not \"left right\"", i);
        }
        size_t ln = (size_t)(sp - m), rn = n - ln - 1;
        int32_t left = tok_vocab_find(t, m, ln), right = tok_vocab_find(t, sp + 1, rn);
        if (ln + rn > buf_cap) {
            char *nb = realloc(buf, ln + rn);
            if (!nb) {
                free(buf);
                return tok_fail(t, BD3_E_NOMEM, err, err_size, "tokenizer: out of memory", -1);
            }
            buf = nb;
            buf_cap = ln + rn;
        }
        memcpy(buf, m, ln);
        memcpy(buf + ln, sp + 1, rn);
        int32_t result = tok_vocab_find(t, buf, ln + rn);
        if (left < 0 || right < 0 || result < 0) {
            free(buf);
            return tok_fail(t, BD3_E_FORMAT, err, err_size,
                            "tokenizer: merge uses or makes a token missing from the vocabulary", i);
        }
        if (tok_merge_find(t, left, right)) continue; /* duplicate rule: the first one counts */
        uint64_t key = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
        size_t mask = t->merge_cap - 1;
        size_t k = tok_hash_u64(key) & mask;
        while (t->merges[k].key != UINT64_MAX) k = (k + 1) & mask;
        t->merges[k].key = key;
        t->merges[k].rank = i;
        t->merges[k].result = result;
        t->n_merges++;
    }
    free(buf);
    *out = t;
    return BD3_OK;
}

void tokenizer_free(tokenizer *t)
{
    if (!t) return;
    free(t->strs);
    free(t->str_off);
    free(t->raw);
    free(t->raw_off);
    free(t->vocab_slots);
    free(t->merges);
    free(t->added);
    free(t);
}

int tokenizer_n_vocab(const tokenizer *t) { return t ? t->n_vocab : 0; }

bd3_status tokenizer_set_pre(tokenizer *t, const char *name, size_t len)
{
    if (!t || (!name && len)) return BD3_E_ARG;
    if (len == 4 && memcmp(name, "gpt2", 4) == 0)
        t->pre = TOK_PRE_GPT2;
    else if (len == 5 && memcmp(name, "qwen2", 5) == 0)
        t->pre = TOK_PRE_QWEN2;
    else
        return BD3_E_UNSUPPORTED;
    return BD3_OK;
}

/* Orders added ids by the length of their text, longest first (ties: lower id first). */
static int tok_added_cmp(const void *a, const void *b, void *arg)
{
    const tokenizer *t = arg;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    size_t lx = t->raw_off[x + 1] - t->raw_off[x], ly = t->raw_off[y + 1] - t->raw_off[y];
    if (lx != ly) return lx > ly ? -1 : 1;
    return (x > y) - (x < y);
}

bd3_status tokenizer_set_added(tokenizer *t, const int32_t *ids, int n)
{
    if (!t || n < 0 || (n && !ids)) return BD3_E_ARG;
    int32_t *a = malloc(((size_t)n + 1) * sizeof *a);
    if (!a) return BD3_E_NOMEM;
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab) {
            free(a);
            return BD3_E_ARG;
        }
        if (ids[i] == t->mask_id || t->raw_off[ids[i] + 1] == t->raw_off[ids[i]]) continue;
        a[k++] = ids[i];
    }
    qsort_r(a, (size_t)k, sizeof *a, tok_added_cmp, t);
    free(t->added);
    t->added = a;
    t->n_added = k;
    return BD3_OK;
}

const char *tokenizer_token_bytes(const tokenizer *t, int32_t id, size_t *len)
{
    if (!t || id < 0 || id >= t->n_vocab || id == t->mask_id) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = t->raw_off[id + 1] - t->raw_off[id];
    return t->raw + t->raw_off[id];
}

/* ---- encoding ---------------------------------------------------------------------------- */

typedef struct tok_pair {
    int32_t rank;  /* merge rank, lower merges first */
    int32_t left;  /* index of the left symbol in the word */
    int32_t right; /* index of the right symbol */
    int32_t lid;   /* id the left symbol had when the pair was found */
    int32_t rid;   /* id the right symbol had */
} tok_pair;

typedef struct tok_work {
    int32_t *id;     /* [cap] symbol ids of the word being merged */
    int32_t *next;   /* [cap] index of the next live symbol, -1 at the end */
    int32_t *prev;   /* [cap] index of the previous live symbol, -1 at the start */
    tok_pair *heap;  /* [2 * cap] candidate merges, min-heap on (rank, left) */
    tok_pair *later; /* [2 * cap] pairs found while merging one rank, added after it */
    size_t cap;      /* symbols the buffers hold */
    int32_t *out;    /* output ids */
    size_t n_out;    /* ids in out */
    size_t out_cap;  /* capacity of out */
} tok_work;

static int tok_pair_less(const tok_pair *a, const tok_pair *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static void tok_heap_push(tok_pair *h, size_t *n, tok_pair p)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!tok_pair_less(&p, &h[up])) break;
        h[i] = h[up];
        i = up;
    }
    h[i] = p;
}

static tok_pair tok_heap_pop(tok_pair *h, size_t *n)
{
    tok_pair top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && tok_pair_less(&h[c + 1], &h[c])) c++;
        if (!tok_pair_less(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

static int tok_out_push(tok_work *w, int32_t id)
{
    if (w->n_out == w->out_cap) {
        size_t nc = w->out_cap ? w->out_cap * 2 : 256;
        int32_t *no = realloc(w->out, nc * sizeof *no);
        if (!no) return -1;
        w->out = no;
        w->out_cap = nc;
    }
    w->out[w->n_out++] = id;
    return 0;
}

static int tok_work_reserve(tok_work *w, size_t n)
{
    if (n <= w->cap) return 0;
    size_t c = w->cap ? w->cap : 64;
    while (c < n) c *= 2;
    int32_t *id = realloc(w->id, c * sizeof *id);
    if (id) w->id = id;
    int32_t *nx = realloc(w->next, c * sizeof *nx);
    if (nx) w->next = nx;
    int32_t *pv = realloc(w->prev, c * sizeof *pv);
    if (pv) w->prev = pv;
    tok_pair *h = realloc(w->heap, 2 * c * sizeof *h);
    if (h) w->heap = h;
    tok_pair *l = realloc(w->later, 2 * c * sizeof *l);
    if (l) w->later = l;
    if (!id || !nx || !pv || !h || !l) return -1;
    w->cap = c;
    return 0;
}

/* Looks up the merge of symbols a and b and, when one exists, adds it to the pair list. */
static void tok_pair_add(const tokenizer *t, tok_work *w, tok_pair *list, size_t *n, int32_t a, int32_t b,
                         int heap)
{
    const tok_merge_slot *m = tok_merge_find(t, w->id[a], w->id[b]);
    if (!m) return;
    tok_pair p = {m->rank, a, b, w->id[a], w->id[b]};
    if (heap)
        tok_heap_push(list, n, p);
    else
        list[(*n)++] = p;
}

/* BPE over one pre-token s[0..n); appends its ids to w->out. */
static bd3_status tok_encode_word(const tokenizer *t, tok_work *w, const unsigned char *s, size_t n)
{
    if (n > INT32_MAX / 2) return BD3_E_ARG;
    if (tok_work_reserve(w, n) < 0) return BD3_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->byte_id[s[i]];
        if (id < 0) return BD3_E_ARG; /* the vocabulary cannot spell this byte */
        w->id[i] = id;
        w->prev[i] = (int32_t)i - 1;
        w->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    size_t nh = 0, nl = 0;
    for (size_t i = 0; i + 1 < n; i++) tok_pair_add(t, w, w->heap, &nh, (int32_t)i, (int32_t)i + 1, 1);
    int32_t rank = -1;
    while (nh || nl) {
        if (nl && (!nh || w->heap[0].rank != rank)) {
            /* every occurrence of the current rank is done: now the pairs it created */
            for (size_t i = 0; i < nl; i++) tok_heap_push(w->heap, &nh, w->later[i]);
            nl = 0;
            continue;
        }
        tok_pair p = tok_heap_pop(w->heap, &nh);
        int32_t a = p.left, b = p.right;
        if (w->id[a] != p.lid || w->next[a] != b || w->id[b] != p.rid || w->prev[b] != a)
            continue; /* stale: one of the symbols was merged since */
        rank = p.rank;
        w->id[a] = tok_merge_find(t, p.lid, p.rid)->result;
        w->id[b] = -1;
        w->next[a] = w->next[b];
        if (w->next[b] >= 0) w->prev[w->next[b]] = a;
        w->prev[b] = -1;
        w->next[b] = -1;
        if (t->pre == TOK_PRE_QWEN2) { /* new pairs compete at once */
            if (w->prev[a] >= 0) tok_pair_add(t, w, w->heap, &nh, w->prev[a], a, 1);
            if (w->next[a] >= 0) tok_pair_add(t, w, w->heap, &nh, a, w->next[a], 1);
            continue;
        }
        if (w->prev[a] >= 0) tok_pair_add(t, w, w->later, &nl, w->prev[a], a, 0);
        if (w->next[a] >= 0) tok_pair_add(t, w, w->later, &nl, a, w->next[a], 0);
    }
    for (int32_t i = 0; i >= 0; i = w->next[i])
        if (tok_out_push(w, w->id[i]) < 0) return BD3_E_NOMEM;
    return BD3_OK;
}

/* NFC of s[0..n): each maximal run of valid UTF-8 holding a non-ASCII character goes through
 * utf8proc, other bytes are copied. *out is malloc'd (length *out_len). */
static bd3_status tok_nfc(const unsigned char *s, size_t n, unsigned char **out, size_t *out_len)
{
    size_t cap = n + 16, k = 0;
    unsigned char *o = malloc(cap);
    if (!o) return BD3_E_NOMEM;
    size_t p = 0;
    while (p < n) {
        /* a run of valid characters: [p, e); ascii when none is above U+007F */
        size_t e = p;
        int ascii = 1;
        while (e < n) {
            int32_t cp;
            size_t l = tok_utf8_decode(s + e, n - e, &cp);
            if (cp < 0) break;
            if (cp >= 0x80) ascii = 0;
            e += l;
        }
        const unsigned char *src = s + p;
        size_t len = e - p;
        utf8proc_uint8_t *mapped = NULL;
        if (!ascii) {
            utf8proc_ssize_t r =
                utf8proc_map(src, (utf8proc_ssize_t)len, &mapped, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
            if (r >= 0) {
                src = mapped;
                len = (size_t)r;
            } else if (r == UTF8PROC_ERROR_NOMEM) {
                free(o);
                return BD3_E_NOMEM;
            }
        }
        if (k + len + 1 > cap) {
            size_t nc = (k + len + 1) * 2;
            unsigned char *no = realloc(o, nc);
            if (!no) {
                free(mapped);
                free(o);
                return BD3_E_NOMEM;
            }
            o = no;
            cap = nc;
        }
        memcpy(o + k, src, len);
        k += len;
        free(mapped);
        if (e < n) o[k++] = s[e++]; /* an invalid byte stays itself */
        p = e;
    }
    *out = o;
    *out_len = k;
    return BD3_OK;
}

/* Pre-tokenises and encodes s[0..n), which holds no special-token text to match. */
static bd3_status tok_encode_span(const tokenizer *t, tok_work *w, const unsigned char *s, size_t n)
{
    unsigned char *norm = NULL;
    if (t->pre == TOK_PRE_QWEN2 && n) {
        bd3_status st = tok_nfc(s, n, &norm, &n);
        if (st != BD3_OK) return st;
        s = norm;
    }
    size_t p = 0;
    bd3_status st = BD3_OK;
    while (st == BD3_OK && p < n) {
        size_t l =
            t->pre == TOK_PRE_QWEN2 ? tok_pretoken_len_qwen(s + p, n - p) : tok_pretoken_len(s + p, n - p);
        if (l == 0) l = 1; /* cannot happen; guards against an endless loop */
        st = tok_encode_word(t, w, s + p, l);
        p += l;
    }
    free(norm);
    return st;
}

/* The longest added token whose text starts at s[0..n); its id and length, or -1. */
static int32_t tok_added_at(const tokenizer *t, const unsigned char *s, size_t n, size_t *len)
{
    for (int i = 0; i < t->n_added; i++) { /* longest first */
        int32_t id = t->added[i];
        size_t l = t->raw_off[id + 1] - t->raw_off[id];
        if (l && l <= n && memcmp(s, t->raw + t->raw_off[id], l) == 0) {
            *len = l;
            return id;
        }
    }
    return -1;
}

/* The next special match at or after s[p]: sets *at, *len and returns the id, or -1 (none). */
static int32_t tok_next_special(const tokenizer *t, const unsigned char *s, size_t n, size_t p, int special,
                                size_t *at, size_t *len)
{
    if (t->pre == TOK_PRE_GPT2) { /* GPT-2: the eos text, always */
        const char *eos = NULL;
        size_t eos_len = 0;
        if (t->eos_id >= 0) eos = tokenizer_token_bytes(t, t->eos_id, &eos_len);
        if (!eos || !eos_len) return -1;
        const unsigned char *hit = memmem(s + p, n - p, eos, eos_len);
        if (!hit) return -1;
        *at = (size_t)(hit - s);
        *len = eos_len;
        return t->eos_id;
    }
    if (!special || !t->n_added) return -1;
    for (size_t q = p; q < n; q++) {
        int32_t id = tok_added_at(t, s + q, n - q, len);
        if (id >= 0) {
            *at = q;
            return id;
        }
    }
    return -1;
}

bd3_status tokenizer_encode(const tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n_ids)
{
    return tokenizer_encode_special(t, text, len, 0, ids, n_ids);
}

bd3_status tokenizer_encode_special(const tokenizer *t, const char *text, size_t len, int special,
                                    int32_t **ids, size_t *n_ids)
{
    *ids = NULL;
    *n_ids = 0;
    if (!t || (!text && len)) return BD3_E_ARG;
    tok_work w;
    memset(&w, 0, sizeof w);
    const unsigned char *s = (const unsigned char *)text;
    bd3_status st = BD3_OK;
    size_t p = 0;
    while (st == BD3_OK && p < len) {
        size_t at = len, sl = 0;
        int32_t sid = tok_next_special(t, s, len, p, special, &at, &sl);
        size_t end = sid >= 0 ? at : len;
        st = tok_encode_span(t, &w, s + p, end - p);
        if (st == BD3_OK && sid >= 0) {
            if (tok_out_push(&w, sid) < 0) st = BD3_E_NOMEM;
            end += sl;
        }
        p = end;
    }
    free(w.id);
    free(w.next);
    free(w.prev);
    free(w.heap);
    free(w.later);
    if (st != BD3_OK) {
        free(w.out);
        return st;
    }
    if (!w.out) {
        w.out = malloc(sizeof *w.out); /* a valid pointer even for empty text */
        if (!w.out) return BD3_E_NOMEM;
    }
    *ids = w.out;
    *n_ids = w.n_out;
    return BD3_OK;
}
