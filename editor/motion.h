/* motion.h: text motions and text units over stored bytes: words, sentences, paragraphs,
 * lines. Pure functions of a text and a position. Depends on text.h, view.h (clusters) and
 * libutf8proc (word classes).
 * A word is a run of one class: letters, digits and '_' (other letters of Unicode too);
 * punctuation and symbols; East Asian wide letters, apart from the rest and split as vim splits
 * them (ideographs, hiragana, katakana); wide symbols (emoji). Blanks (Unicode spaces too) and
 * line breaks are no word. A vi WORD ("big word") is a run of anything but blanks. */
#ifndef BD3ED_MOTION_H
#define BD3ED_MOTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "text.h"

/* Start of the next word after pos / start of the word before pos. */
size_t motion_word_next(const text *t, size_t pos);
size_t motion_word_prev(const text *t, size_t pos);
/* vi w and b: as motion_word_next/prev, but an empty line is a word of its own (vim): the
 * motion stops at the start of an empty line it reaches. */
size_t motion_vi_word_next(const text *t, size_t pos);
size_t motion_vi_word_prev(const text *t, size_t pos);
/* vi W and B: as motion_vi_word_next/prev over WORDs (runs of non-blanks). */
size_t motion_vi_bigword_next(const text *t, size_t pos);
size_t motion_vi_bigword_prev(const text *t, size_t pos);
/* End of the word at or after pos (for "delete word after"). */
size_t motion_word_end(const text *t, size_t pos);
size_t motion_bigword_end(const text *t, size_t pos); /* the same for a WORD */
/* Start of the last character of the word after pos (vi e): pos itself when no word follows. */
size_t motion_word_last(const text *t, size_t pos);
size_t motion_bigword_last(const text *t, size_t pos); /* vi E: the same for a WORD */
/* vi ge (big: gE): the start of the last character of the word (WORD) before the one pos is in;
 * an empty line is a word (vim). 0 when none comes before. */
size_t motion_word_last_prev(const text *t, size_t pos, bool big);
/* vi f and F (back): the count-th character cp after / before pos in pos's line (the first code
 * point of a cluster is what matches); t and T (till): the character before / after it.
 * TEXT_POS_NONE when the line has fewer. again (vi ; and , repeating t or T): a match right
 * next to pos does not count, so the motion goes on to the next one (vim). */
size_t motion_find_char(const text *t, size_t pos, uint32_t cp, int count, bool back, bool till, bool again);
/* vi %: the bracket matching the first of ( ) [ ] { } at or after pos in pos's line (nested
 * pairs of its kind skipped, over lines); TEXT_POS_NONE when the line has none after pos or it
 * has no match. */
size_t motion_match_bracket(const text *t, size_t pos);
/* vi * and #: the word of letters, digits and '_' (or of one kind of wide letters) at pos, or
 * else the first one after pos in its line, as [*s, *e); false when the line has none. */
bool motion_keyword_at(const text *t, size_t pos, size_t *s, size_t *e);
/* vi text objects: the span [*s, *e) of object obj at pos, inner (i) or around (a): w W (a word,
 * a WORD, or a run of blanks), ( ) b, [ ], { } B, < > (the brackets around pos; inner of a block
 * whose brackets end and start lines: the lines between), " ' ` (a quoted string of the line),
 * p (a paragraph or a run of blank lines, as whole lines), s (a sentence). Around takes the
 * brackets or quotes, or the blanks (blank lines) after, else before. False when there is none. */
bool motion_text_object(const text *t, size_t pos, uint32_t obj, bool around, size_t *s, size_t *e);
/* Start of the next sentence after pos / start of this sentence (or the previous one when pos
 * is at a start). A sentence ends after . ! or ? (and closing quotes or brackets) followed by
 * blank space, or at a paragraph break. */
size_t motion_sentence_next(const text *t, size_t pos);
size_t motion_sentence_prev(const text *t, size_t pos);
/* Start of the next paragraph / of this paragraph (or the previous one). Paragraphs are
 * separated by blank lines (empty or only blanks). */
size_t motion_paragraph_next(const text *t, size_t pos);
size_t motion_paragraph_prev(const text *t, size_t pos);
/* vi } and {, count times: the start of the next blank line after / before pos that comes after
 * (in the direction of travel) a line with text: the blank line after / before a paragraph.
 * When the text ends in the last of the count moves, } stops on the last character of the
 * last line and { at the start of the text; when it ends in an earlier one, TEXT_POS_NONE
 * (vi does not move). */
size_t motion_blank_line_next(const text *t, size_t pos, int count);
size_t motion_blank_line_prev(const text *t, size_t pos, int count);

/* vi + and -: the first character that is not a blank (space or tab) of the line count lines
 * after / before pos's line (its last character when it has only blanks). A count past the
 * text stops at its last / first line (as vim does); TEXT_POS_NONE when pos is already on it. */
size_t motion_line_next_nonblank(const text *t, size_t pos, int count);
size_t motion_line_prev_nonblank(const text *t, size_t pos, int count);
/* vi ^: the first non-blank of pos's own line, as + and - land on a line (count ignored). */
size_t motion_line_nonblank(const text *t, size_t pos, int count);

/* Units around pos, as [*start, *end). */
void motion_word_range(const text *t, size_t pos, size_t *start, size_t *end);
void motion_sentence_range(const text *t, size_t pos, size_t *start, size_t *end);
void motion_paragraph_range(const text *t, size_t pos, size_t *start, size_t *end);
void motion_line_range(const text *t, size_t pos, size_t *start, size_t *end); /* with its newline */

#endif
