/* text.h: text storage: a piece table over an original buffer (mmapped or owned) plus
 * append-only added blocks, a one-byte attribute per byte, undo/redo by steps, and marks.
 * Depends on libc only: knows nothing of files, screens, keys or the model.
 *
 * Positions are byte offsets 0..text_size(). Every stored byte carries a one-byte attribute
 * (0 = none) held beside it in its buffer, so attributes move with the text through edits,
 * undo and redo. Not thread-safe: one thread owns a text (lookups update an internal cache). */
#ifndef BD3ED_TEXT_H
#define BD3ED_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum text_status {
    TEXT_OK = 0,
    TEXT_E_NOMEM, /* an allocation failed; the text is unchanged */
    TEXT_E_RANGE, /* a position or length outside 0..text_size() */
} text_status;

const char *text_status_str(text_status s);

typedef struct text text;

/* A mark names one stored byte, not a position: it follows that byte through edits and
 * resolves to TEXT_POS_NONE while the byte is deleted (and again to its position if an undo
 * brings it back). A mark set at text_size() is the end of the text and always resolves to
 * the current size. */
typedef uint64_t text_mark;
#define TEXT_MARK_NONE ((text_mark)0)
#define TEXT_POS_NONE  SIZE_MAX

/* ---- lifetime ---- */
text *text_new(void); /* empty text; NULL when out of memory */
/* Takes ownership of len bytes at data: malloc'ed (mapped false, freed with free) or a
 * read-only mmap (mapped true, released with munmap). data may be NULL when len is 0. NULL when
 * out of memory (data is then still the caller's). */
text *text_new_owned(void *data, size_t len, bool mapped);
void text_free(text *t); /* NULL is a no-op */

/* ---- reading ---- */
size_t text_size(const text *t);
/* Copies up to len bytes from pos into out; returns the count copied (0 when pos >= size). */
size_t text_read(const text *t, size_t pos, size_t len, char *out);
/* Byte at pos (0..255), or -1 when pos >= size. Sequential calls are O(1) amortised. */
int text_byte_at(const text *t, size_t pos);
/* Contiguous stored bytes starting at pos, up to the end of their piece: returns a pointer
 * and sets *len (> 0), or NULL with *len = 0 when pos >= size. Valid until the next edit. */
const char *text_chunk(const text *t, size_t pos, size_t *len);
/* Contiguous stored bytes ending at pos (bytes pos-*len .. pos-1), or NULL when pos == 0. */
const char *text_chunk_before(const text *t, size_t pos, size_t *len);
/* A run of stored bytes. Stored bytes never move or change while the text lives, so spans may
 * be read by another thread (e.g. to write a recovery file) while this one keeps editing. */
typedef struct text_span {
    const char *data; /* first byte */
    size_t len;       /* bytes */
} text_span;
/* The spans of the whole text in order: a malloc'ed array of *n entries (NULL with *n = 0 for
 * an empty text or when out of memory). */
text_span *text_spans(const text *t, size_t *n);
/* Number of pieces (for tests and diagnostics). */
size_t text_n_pieces(const text *t);

/* ---- editing (each call is one change inside the current undo step) ---- */
text_status text_insert(text *t, size_t pos, const char *bytes, size_t len);
/* As text_insert, with one attribute per byte (attrs may be NULL: all 0). */
text_status text_insert_attr(text *t, size_t pos, const char *bytes, size_t len, const uint8_t *attrs);
text_status text_delete(text *t, size_t pos, size_t len);

/* ---- attributes (not edits: no undo step, the revision does not change) ---- */
/* Copies the attributes of bytes pos..pos+len-1 into out (len entries). */
text_status text_attr_get(const text *t, size_t pos, size_t len, uint8_t *out);
/* Overwrites the stored attributes of bytes pos..pos+len-1 with vals (len entries). */
text_status text_attr_set(text *t, size_t pos, size_t len, const uint8_t *vals);
/* Sets the attributes of bytes pos..pos+len-1 to val. */
text_status text_attr_fill(text *t, size_t pos, size_t len, uint8_t val);
/* Counter that changes on every text_attr_set/text_attr_fill (for redraw decisions). */
uint64_t text_attr_revision(const text *t);

/* ---- undo ---- */
/* Ends the current undo step: the next change starts a new one. Ignored inside a group. */
void text_snapshot(text *t);
/* Every change between begin and end (nestable) forms one undo step. begin also ends the step
 * that was open before it. */
void text_group_begin(text *t);
void text_group_end(text *t);
/* As text_group_begin, but the group's changes join the last undo step (one undo then takes back
 * both): for results that replace the one just written (another sample, the next block). false,
 * beginning a plain group, when there is no step to join or a group is already open. */
bool text_group_join(text *t);
/* Reverts the last step; returns true and sets *pos (when non-NULL) to the position of its
 * first change, or false when there is nothing to undo. */
bool text_undo(text *t, size_t *pos);
/* Makes the last undone step again; *pos is the end of its last change (after re-inserted
 * text, as if it had just been typed). */
bool text_redo(text *t, size_t *pos);
/* As text_redo, also setting *start (when non-NULL) to the lowest position the step changed
 * (where vi puts the cursor) and *end (when non-NULL) to what text_redo gives. */
bool text_redo_span(text *t, size_t *start, size_t *end);
bool text_can_undo(const text *t);
bool text_can_redo(const text *t);

/* History position: the number of changes applied. */
size_t text_history_pos(const text *t);
/* Reverts every change after history position pos and forgets them and any redo (for edits
 * that are shown but must not become history). false when pos is past the current position or
 * out of memory (then part may be reverted). */
bool text_rollback(text *t, size_t pos);

/* Counter that changes on every edit, undo and redo (never repeats a value). */
uint64_t text_revision(const text *t);
/* A number that tells this text apart from every other text of the process (for caches). */
uint64_t text_id(const text *t);
/* The lowest byte position changed since revision since (bytes before it are as they were
 * then): SIZE_MAX when nothing changed, 0 when it is not known (many revisions ago). */
size_t text_changed_from(const text *t, uint64_t since);
/* Records the current state as saved; text_modified is false until the content changes
 * (an undo back to the saved state makes it false again). */
void text_set_saved(text *t);
bool text_modified(const text *t);

/* ---- marks ---- */
text_mark text_mark_set(const text *t, size_t pos); /* TEXT_MARK_NONE when pos > size */
size_t text_mark_get(const text *t, text_mark m);   /* position, or TEXT_POS_NONE */

#endif
