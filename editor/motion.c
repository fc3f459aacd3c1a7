/* motion.c: word, sentence and paragraph motions (see motion.h).
 * Depends on text.h, view.h and libutf8proc only. */
#include "motion.h"

#include <stdbool.h>
#include <string.h>
#include <utf8proc.h>
#include "view.h"

/* Word classes as vim has them: a word is a run of one class other than blank. Ideographs,
 * hiragana and katakana are classes apart from letters (and from each other). */
enum { CLASS_SPACE, CLASS_WORD, CLASS_PUNCT, CLASS_EMOJI, CLASS_IDEOGRAPH, CLASS_HIRAGANA, CLASS_KATAKANA };

/* The code point that byte pos belongs to (a continuation byte: the one it continues), its first
 * byte in *start; -1 when the bytes there are no valid UTF-8. */
static utf8proc_int32_t motion_code_point(const text *t, size_t pos, size_t *start)
{
    size_t s = pos;
    for (int i = 0; i < 3 && s > 0 && (text_byte_at(t, s) & 0xC0) == 0x80; i++) s--;
    int len;
    int32_t cp = view_decode(t, s, &len);
    *start = s;
    if (cp < 0 || s + (size_t)len <= pos) return -1;
    return cp;
}

/* Class of a code point that is not a combining mark (non-ASCII: Unicode's categories). */
static int motion_class_of(utf8proc_int32_t cp)
{
    if (cp < 0) return CLASS_WORD; /* bytes that are not UTF-8: part of a word, as before */
    utf8proc_category_t cat = utf8proc_category(cp);
    int wide = utf8proc_charwidth(cp) == 2;
    switch (cat) {
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
        return CLASS_SPACE; /* no-break and ideographic spaces too */
    case UTF8PROC_CATEGORY_SO:
        return wide ? CLASS_EMOJI : CLASS_PUNCT;
    case UTF8PROC_CATEGORY_PC:
        return CLASS_WORD; /* connectors join words, as '_' does */
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
        return CLASS_PUNCT;
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_LM:
        if (!wide) return CLASS_WORD;
        /* East Asian wide letters: the kana blocks, else ideographs (Han, Hangul, ...) */
        if (cp >= 0x3040 && cp <= 0x309F) return CLASS_HIRAGANA;
        if ((cp >= 0x30A0 && cp <= 0x30FF) || (cp >= 0x31F0 && cp <= 0x31FF)) return CLASS_KATAKANA;
        return CLASS_IDEOGRAPH;
    default:
        return CLASS_WORD;
    }
}

/* True for a code point that continues the character before it (a combining mark, a joiner, a
 * variation selector): it takes that character's class. */
static bool motion_continues(utf8proc_int32_t cp)
{
    if (cp < 0) return false;
    utf8proc_category_t cat = utf8proc_category(cp);
    return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME ||
           cp == 0x200D || (cp >= 0xFE00 && cp <= 0xFE0F);
}

/* Class of the byte at pos: blank, word (letters, digits, '_'), other (punctuation, symbols),
 * and for non-ASCII the class of its code point (combining marks: that of their base). With
 * big (vi WORDs) only blank or not. */
static int motion_class_big(const text *t, size_t pos, bool big)
{
    int b = text_byte_at(t, pos);
    if (b < 0 || b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v')
        return CLASS_SPACE;
    if (b < 0x80) {
        if (big || b == '_' || (b >= '0' && b <= '9') || ((b | 0x20) >= 'a' && (b | 0x20) <= 'z'))
            return CLASS_WORD;
        return CLASS_PUNCT;
    }
    size_t s;
    utf8proc_int32_t cp = motion_code_point(t, pos, &s);
    for (int i = 0; i < 8 && motion_continues(cp) && s > 0; i++) {
        int pb = text_byte_at(t, s - 1);
        if (pb < 0x80) return motion_class_big(t, s - 1, big); /* an ASCII base (or a blank) */
        cp = motion_code_point(t, s - 1, &s);
    }
    int c = motion_class_of(cp);
    return big && c != CLASS_SPACE ? CLASS_WORD : c;
}

static int motion_class(const text *t, size_t pos) { return motion_class_big(t, pos, false); }

size_t motion_word_next(const text *t, size_t pos)
{
    size_t size = text_size(t);
    if (pos >= size) return size;
    int c = motion_class(t, pos);
    if (c != CLASS_SPACE)
        while (pos < size && motion_class(t, pos) == c) pos++;
    while (pos < size && motion_class(t, pos) == CLASS_SPACE) pos++;
    return pos;
}

size_t motion_word_prev(const text *t, size_t pos)
{
    while (pos > 0 && motion_class(t, pos - 1) == CLASS_SPACE) pos--;
    if (pos == 0) return 0;
    int c = motion_class(t, pos - 1);
    while (pos > 0 && motion_class(t, pos - 1) == c) pos--;
    return pos;
}

/* True when pos starts an empty line: a line break (LF or CRLF) right at a line start. */
static bool motion_empty_line_at(const text *t, size_t pos)
{
    if (pos > 0 && text_byte_at(t, pos - 1) != '\n') return false;
    int b = text_byte_at(t, pos);
    return b == '\n' || (b == '\r' && text_byte_at(t, pos + 1) == '\n');
}

static size_t motion_vi_next(const text *t, size_t pos, bool big)
{
    size_t size = text_size(t);
    if (pos >= size) return size;
    int c = motion_class_big(t, pos, big);
    if (c != CLASS_SPACE)
        while (pos < size && motion_class_big(t, pos, big) == c) pos++;
    else if (motion_empty_line_at(t, pos))
        pos = view_next_cluster(t, pos); /* off the empty line the motion starts on */
    while (pos < size && motion_class(t, pos) == CLASS_SPACE && !motion_empty_line_at(t, pos)) pos++;
    return pos;
}

static size_t motion_vi_prev(const text *t, size_t pos, bool big)
{
    while (pos > 0 && motion_class(t, pos - 1) == CLASS_SPACE) {
        pos--;
        if (motion_empty_line_at(t, pos)) return pos;
    }
    if (pos == 0) return 0;
    int c = motion_class_big(t, pos - 1, big);
    while (pos > 0 && motion_class_big(t, pos - 1, big) == c) pos--;
    return pos;
}

size_t motion_vi_word_next(const text *t, size_t pos) { return motion_vi_next(t, pos, false); }
size_t motion_vi_word_prev(const text *t, size_t pos) { return motion_vi_prev(t, pos, false); }
size_t motion_vi_bigword_next(const text *t, size_t pos) { return motion_vi_next(t, pos, true); }
size_t motion_vi_bigword_prev(const text *t, size_t pos) { return motion_vi_prev(t, pos, true); }

static size_t motion_end(const text *t, size_t pos, bool big)
{
    size_t size = text_size(t);
    while (pos < size && motion_class(t, pos) == CLASS_SPACE) pos++;
    if (pos >= size) return size;
    int c = motion_class_big(t, pos, big);
    while (pos < size && motion_class_big(t, pos, big) == c) pos++;
    return pos;
}

size_t motion_word_end(const text *t, size_t pos) { return motion_end(t, pos, false); }
size_t motion_bigword_end(const text *t, size_t pos) { return motion_end(t, pos, true); }

static size_t motion_last(const text *t, size_t pos, bool big)
{
    size_t size = text_size(t);
    size_t p = view_next_cluster(t, pos);
    while (p < size && motion_class(t, p) == CLASS_SPACE) p++;
    if (p >= size) return pos;
    size_t end = motion_end(t, p, big);
    size_t last = view_prev_cluster(t, end);
    return last > pos ? last : pos;
}

size_t motion_word_last(const text *t, size_t pos) { return motion_last(t, pos, false); }
size_t motion_bigword_last(const text *t, size_t pos) { return motion_last(t, pos, true); }

/* vi ge / gE: back over the rest of the word pos is in, then over blanks (stopping on an empty
 * line) to the last character before them. */
size_t motion_word_last_prev(const text *t, size_t pos, bool big)
{
    if (pos == 0) return 0;
    int c = motion_class_big(t, pos, big);
    size_t p = view_prev_cluster(t, pos);
    if (c != CLASS_SPACE)
        while (motion_class_big(t, p, big) == c) {
            if (p == 0) return 0;
            p = view_prev_cluster(t, p);
        }
    while (motion_class(t, p) == CLASS_SPACE && !motion_empty_line_at(t, p)) {
        if (p == 0) return 0;
        p = view_prev_cluster(t, p);
    }
    return p;
}

/* vi f, t, F, T: see motion.h. */
size_t motion_find_char(const text *t, size_t pos, uint32_t cp, int count, bool back, bool till, bool again)
{
    size_t ls = view_line_start(t, pos), le = view_line_end(t, pos), p = pos, s;
    if (till && again) { /* ; after t: a match right next to the cursor is the one it stands at */
        if (back ? p <= ls : p >= le) return TEXT_POS_NONE;
        p = back ? view_prev_cluster(t, p) : view_next_cluster(t, p);
    }
    for (int found = 0; found < (count > 0 ? count : 1);) {
        if (back ? p <= ls : p >= le) return TEXT_POS_NONE;
        p = back ? view_prev_cluster(t, p) : view_next_cluster(t, p);
        if (p >= le) return TEXT_POS_NONE;
        if (motion_code_point(t, p, &s) == (utf8proc_int32_t)cp) found++;
    }
    if (!till) return p;
    return back ? view_next_cluster(t, p) : view_prev_cluster(t, p);
}

/* vi %: see motion.h. */
size_t motion_match_bracket(const text *t, size_t pos)
{
    static const char pairs[] = "()[]{}";
    size_t le = view_line_end(t, pos), size = text_size(t), p = pos;
    const char *k = NULL;
    for (; p < le; p++) {
        int b = text_byte_at(t, p);
        if (b > 0 && (k = strchr(pairs, b)) != NULL) break;
    }
    if (!k) return TEXT_POS_NONE;
    int i = (int)(k - pairs), open = pairs[i & ~1], close = pairs[i | 1];
    long depth = 0;
    if (!(i & 1)) {
        for (; p < size; p++) {
            int b = text_byte_at(t, p);
            if (b == open) depth++;
            else if (b == close && --depth == 0) return p;
        }
    } else {
        for (;; p--) {
            int b = text_byte_at(t, p);
            if (b == close) depth++;
            else if (b == open && --depth == 0) return p;
            if (p == 0) break;
        }
    }
    return TEXT_POS_NONE;
}

static bool motion_is_blank(int b) { return b == ' ' || b == '\t' || b == '\r'; }

/* True when the line starting at pos is blank (only blanks before its newline or the end). */
static bool motion_line_blank(const text *t, size_t pos)
{
    int b;
    while ((b = text_byte_at(t, pos)) >= 0 && b != '\n') {
        if (!motion_is_blank(b)) return false;
        pos++;
    }
    return true;
}

/* True when a sentence starts at pos (pos > 0): the text before is a sentence end followed by
 * blanks, or a paragraph break, and pos is not blank. */
static bool motion_sentence_start(const text *t, size_t pos)
{
    int b = text_byte_at(t, pos);
    if (b < 0 || motion_class(t, pos) == CLASS_SPACE) return false;
    if (pos == 0) return true;
    size_t p = pos;
    int newlines = 0;
    while (p > 0 && motion_class(t, p - 1) == CLASS_SPACE) {
        if (text_byte_at(t, p - 1) == '\n') newlines++;
        p--;
    }
    if (p == 0) return true;
    if (newlines >= 2) return true;
    if (p == pos) return false; /* no blank before pos */
    while (p > 0) {
        int c = text_byte_at(t, p - 1);
        if (c == '"' || c == '\'' || c == ')' || c == ']') {
            p--;
            continue;
        }
        /* closing quotes ’ ” (E2 80 99 / E2 80 9D) */
        if ((c == 0x99 || c == 0x9d) && p >= 3 && text_byte_at(t, p - 2) == 0x80 &&
            text_byte_at(t, p - 3) == 0xe2) {
            p -= 3;
            continue;
        }
        return c == '.' || c == '!' || c == '?';
    }
    return false;
}

size_t motion_sentence_next(const text *t, size_t pos)
{
    size_t size = text_size(t);
    for (size_t p = pos + 1; p < size; p++)
        if (motion_sentence_start(t, p)) return p;
    return size;
}

size_t motion_sentence_prev(const text *t, size_t pos)
{
    if (pos == 0) return 0;
    for (size_t p = pos - 1; p > 0; p--)
        if (motion_sentence_start(t, p)) return p;
    return 0;
}

/* Start of the line after the one starting at ls, or the text size when it is the last. */
static size_t motion_next_line(const text *t, size_t ls)
{
    size_t e = view_line_end(t, ls), size = text_size(t);
    if (e >= size) return size;
    return e + (text_byte_at(t, e) == '\r' ? 2 : 1);
}

size_t motion_paragraph_next(const text *t, size_t pos)
{
    size_t size = text_size(t), ls = view_line_start(t, pos);
    /* leave the current paragraph, then the blank lines after it */
    while (ls < size && !motion_line_blank(t, ls)) ls = motion_next_line(t, ls);
    while (ls < size && motion_line_blank(t, ls)) ls = motion_next_line(t, ls);
    return ls;
}

size_t motion_paragraph_prev(const text *t, size_t pos)
{
    size_t ls = view_line_start(t, pos);
    if (ls == pos && ls > 0) ls = view_line_start(t, ls - 1);
    /* skip blank lines above, then go to the first line of that paragraph */
    while (ls > 0 && motion_line_blank(t, ls)) ls = view_line_start(t, ls - 1);
    while (ls > 0) {
        size_t prev = view_line_start(t, ls - 1);
        if (motion_line_blank(t, prev)) break;
        ls = prev;
    }
    return ls < pos ? ls : 0;
}

/* Start of the last character of the line starting at ls (ls itself when it is empty). */
static size_t motion_line_last(const text *t, size_t ls)
{
    size_t e = view_line_end(t, ls);
    return e > ls ? view_prev_cluster(t, e) : ls;
}

/* Start of the line after (dir > 0) or before (dir < 0) the line starting at ls; TEXT_POS_NONE
 * when there is none (a final line end starts no line). */
static size_t motion_line_step(const text *t, size_t ls, int dir)
{
    if (dir < 0) return ls > 0 ? view_line_start(t, ls - 1) : TEXT_POS_NONE;
    size_t next = motion_next_line(t, ls);
    return next < text_size(t) ? next : TEXT_POS_NONE;
}

/* vi } (dir > 0) and { (dir < 0): see motion.h. */
static size_t motion_blank_line(const text *t, size_t pos, int count, int dir)
{
    size_t ls = view_line_start(t, pos);
    for (int i = 0; i < count; i++) {
        bool left_blank = false; /* a line with text was passed in this round */
        for (bool first = true;; first = false) {
            bool blank = motion_line_blank(t, ls);
            if (!blank) left_blank = true;
            if (!first && left_blank && blank) break;
            size_t step = motion_line_step(t, ls, dir);
            if (step == TEXT_POS_NONE) /* the text ends: only the last round may stop there */
                return i + 1 < count ? TEXT_POS_NONE : dir > 0 ? motion_line_last(t, ls) : ls;
            ls = step;
        }
    }
    return ls;
}

size_t motion_blank_line_next(const text *t, size_t pos, int count)
{
    return motion_blank_line(t, pos, count, 1);
}
size_t motion_blank_line_prev(const text *t, size_t pos, int count)
{
    return motion_blank_line(t, pos, count, -1);
}

/* Where vi's + and - land on the line starting at ls: its first character that is not a blank
 * (space or tab), else its last character, else (an empty line) its start. */
static size_t motion_line_first_nonblank(const text *t, size_t ls)
{
    size_t p = ls, e = view_line_end(t, ls);
    int c;
    while (p < e && ((c = text_byte_at(t, p)) == ' ' || c == '\t')) p++;
    return p < e ? p : motion_line_last(t, ls);
}

/* vi + (dir > 0) and - (dir < 0): see motion.h. */
static size_t motion_line_step_nonblank(const text *t, size_t pos, int count, int dir)
{
    size_t ls = view_line_start(t, pos), step;
    bool moved = false;
    for (int i = 0; i < count && (step = motion_line_step(t, ls, dir)) != TEXT_POS_NONE; i++) {
        ls = step;
        moved = true;
    }
    return moved ? motion_line_first_nonblank(t, ls) : TEXT_POS_NONE;
}

size_t motion_line_next_nonblank(const text *t, size_t pos, int count)
{
    return motion_line_step_nonblank(t, pos, count, 1);
}

size_t motion_line_prev_nonblank(const text *t, size_t pos, int count)
{
    return motion_line_step_nonblank(t, pos, count, -1);
}

size_t motion_line_nonblank(const text *t, size_t pos, int count)
{
    (void)count;
    return motion_line_first_nonblank(t, view_line_start(t, pos));
}

bool motion_keyword_at(const text *t, size_t pos, size_t *s, size_t *e)
{
    size_t ls = view_line_start(t, pos), le = view_line_end(t, pos), p = pos;
    int c = CLASS_SPACE;
    while (p < le && ((c = motion_class(t, p)) == CLASS_SPACE || c == CLASS_PUNCT || c == CLASS_EMOJI)) p++;
    if (p >= le) return false;
    size_t a = p, b = p;
    while (a > ls && motion_class(t, a - 1) == c) a--;
    while (b < le && motion_class(t, b) == c) b++;
    *s = a;
    *e = b;
    return true;
}

/* ---- vi text objects ---- */

/* iw / aw (big: iW / aW): the run of one class at pos (blanks count as one, within the line);
 * around, with the blanks after it, or before it when none follow (a run of blanks: with the
 * word after). */
static bool motion_object_word(const text *t, size_t pos, bool big, bool around, size_t *s, size_t *e)
{
    size_t ls = view_line_start(t, pos), le = view_line_end(t, pos);
    if (pos >= le) return false; /* an empty line or the line end: no word */
    int c = motion_class_big(t, pos, big);
    size_t a = pos, b = pos;
    while (a > ls && motion_class_big(t, a - 1, big) == c) a--;
    while (b < le && motion_class_big(t, b, big) == c) b++;
    if (around) {
        if (c == CLASS_SPACE) { /* blanks and the word after */
            if (b < le) {
                int d = motion_class_big(t, b, big);
                while (b < le && motion_class_big(t, b, big) == d) b++;
            }
        } else if (b < le && motion_class(t, b) == CLASS_SPACE) {
            while (b < le && motion_class(t, b) == CLASS_SPACE) b++;
        } else {
            while (a > ls && motion_class(t, a - 1) == CLASS_SPACE) a--;
        }
    }
    *s = a;
    *e = b;
    return true;
}

/* i( a( and the other brackets: the pair around pos (pos on either bracket: that pair). */
static bool motion_object_bracket(const text *t, size_t pos, int open, int close, bool around, size_t *s,
                                  size_t *e)
{
    size_t size = text_size(t), o = TEXT_POS_NONE, c = TEXT_POS_NONE;
    int here = text_byte_at(t, pos);
    long depth = 0;
    if (here == open) {
        o = pos;
    } else {
        for (size_t p = here == close ? pos : pos + 1; p-- > 0;) {
            int b = text_byte_at(t, p);
            if (b == close && p != pos) depth++;
            else if (b == open && depth-- == 0) {
                o = p;
                break;
            }
        }
    }
    if (o == TEXT_POS_NONE) return false;
    depth = 0;
    for (size_t p = o + 1; p < size; p++) {
        int b = text_byte_at(t, p);
        if (b == open) depth++;
        else if (b == close && depth-- == 0) {
            c = p;
            break;
        }
    }
    if (c == TEXT_POS_NONE || (here != open && here != close && c < pos)) return false;
    if (around) {
        *s = o;
        *e = c + 1;
        return true;
    }
    *s = o + 1;
    *e = c;
    /* a block: "(" ends its line and ")" starts its own: the lines between, as whole lines */
    int after = text_byte_at(t, o + 1);
    if (after == '\n' || (after == '\r' && text_byte_at(t, o + 2) == '\n')) {
        size_t cl = view_line_start(t, c);
        bool only_blanks = true;
        for (size_t p = cl; p < c && only_blanks; p++) only_blanks = motion_is_blank(text_byte_at(t, p));
        if (only_blanks) {
            *s = view_next_cluster(t, o + 1);
            *e = cl > *s ? cl : *s;
        }
    }
    return true;
}

/* i" a" (and ' `): the quoted string of pos's line that pos is in or on, else the first one after
 * it; quotes pair from the line start, one after a backslash does not count. Around: with the
 * blanks after it, or before it when none follow. */
static bool motion_object_quote(const text *t, size_t pos, int q, bool around, size_t *s, size_t *e)
{
    size_t ls = view_line_start(t, pos), le = view_line_end(t, pos), o = TEXT_POS_NONE, c = TEXT_POS_NONE;
    bool open = false;
    for (size_t p = ls; p < le; p++) {
        int b = text_byte_at(t, p);
        if (b == '\\') {
            p++;
            continue;
        }
        if (b != q) continue;
        if (!open) {
            o = p;
            open = true;
            continue;
        }
        open = false;
        if (p >= pos) {
            c = p;
            break;
        }
    }
    if (c == TEXT_POS_NONE) return false;
    if (!around) {
        *s = o + 1;
        *e = c;
        return true;
    }
    size_t a = o, b = c + 1;
    if (b < le && motion_is_blank(text_byte_at(t, b)))
        while (b < le && motion_is_blank(text_byte_at(t, b))) b++;
    else
        while (a > ls && motion_is_blank(text_byte_at(t, a - 1))) a--;
    *s = a;
    *e = b;
    return true;
}

/* ip / ap: the paragraph's lines, or the run of blank lines pos is on; around, with the blank
 * lines after it (before it when none follow). */
static bool motion_object_paragraph(const text *t, size_t pos, bool around, size_t *s, size_t *e)
{
    size_t size = text_size(t), a = view_line_start(t, pos), b = a;
    bool blank = motion_line_blank(t, a);
    while (a > 0 && motion_line_blank(t, view_line_start(t, a - 1)) == blank) a = view_line_start(t, a - 1);
    while (b < size && motion_line_blank(t, b) == blank) b = motion_next_line(t, b);
    if (around) {
        size_t b2 = b;
        while (b2 < size && motion_line_blank(t, b2) != blank) b2 = motion_next_line(t, b2);
        if (b2 > b)
            b = b2;
        else
            while (a > 0 && motion_line_blank(t, view_line_start(t, a - 1)) != blank)
                a = view_line_start(t, a - 1);
    }
    *s = a;
    *e = b;
    return b > a;
}

bool motion_text_object(const text *t, size_t pos, uint32_t obj, bool around, size_t *s, size_t *e)
{
    switch (obj) {
    case 'w': return motion_object_word(t, pos, false, around, s, e);
    case 'W': return motion_object_word(t, pos, true, around, s, e);
    case '(': case ')': case 'b': return motion_object_bracket(t, pos, '(', ')', around, s, e);
    case '[': case ']': return motion_object_bracket(t, pos, '[', ']', around, s, e);
    case '{': case '}': case 'B': return motion_object_bracket(t, pos, '{', '}', around, s, e);
    case '<': case '>': return motion_object_bracket(t, pos, '<', '>', around, s, e);
    case '"': case '\'': case '`': return motion_object_quote(t, pos, (int)obj, around, s, e);
    case 'p': return motion_object_paragraph(t, pos, around, s, e);
    case 's': motion_sentence_range(t, pos, s, e);
        if (around)
            while (*e < text_size(t) && motion_is_blank(text_byte_at(t, *e))) (*e)++;
        return *e > *s;
    default: return false;
    }
}

void motion_word_range(const text *t, size_t pos, size_t *start, size_t *end)
{
    size_t size = text_size(t);
    if (pos >= size && pos > 0) pos = size - 1;
    int c = motion_class(t, pos);
    if (c == CLASS_SPACE && pos > 0 && motion_class(t, pos - 1) != CLASS_SPACE) c = motion_class(t, --pos);
    size_t s = pos, e = pos;
    while (s > 0 && motion_class(t, s - 1) == c) s--;
    while (e < size && motion_class(t, e) == c) e++;
    *start = s;
    *end = e;
}

void motion_sentence_range(const text *t, size_t pos, size_t *start, size_t *end)
{
    size_t s = motion_sentence_start(t, pos) ? pos : motion_sentence_prev(t, pos);
    size_t e = motion_sentence_next(t, pos);
    /* stop at a paragraph break inside the range */
    size_t pe = motion_paragraph_next(t, s);
    if (pe < e && pe > pos) e = pe;
    /* leave the trailing line break of a paragraph out */
    while (e > s && text_byte_at(t, e - 1) == '\n') e--;
    *start = s;
    *end = e;
}

void motion_paragraph_range(const text *t, size_t pos, size_t *start, size_t *end)
{
    size_t ls = view_line_start(t, pos);
    size_t s = ls;
    while (s > 0) {
        size_t prev = view_line_start(t, s - 1);
        if (motion_line_blank(t, prev)) break;
        s = prev;
    }
    size_t e = ls, size = text_size(t);
    while (e < size && !motion_line_blank(t, e)) e = motion_next_line(t, e);
    *start = s;
    *end = e;
}

void motion_line_range(const text *t, size_t pos, size_t *start, size_t *end)
{
    size_t s = view_line_start(t, pos), e = view_line_end(t, pos), size = text_size(t);
    if (e < size) e += text_byte_at(t, e) == '\r' ? 2 : 1;
    *start = s;
    *end = e;
}
