/* text.c: piece table with per-byte attributes, undo steps and marks (see text.h).
 * Depends on libc only (mmap's munmap to release a mapped original). */
#include "text.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define TEXT_BLOCK_MIN  (1u << 20) /* bytes of a new added block, at least */
#define TEXT_MARK_SHIFT 40         /* mark = (block + 1) << 40 | offset */
#define TEXT_MARK_END   UINT64_MAX /* mark of the end of the text */

/* One buffer: the original (block 0) or an append-only added block. Bytes never change once
 * written, so pieces and marks can point into them. */
#define TEXT_LOW_RING 64 /* revisions whose lowest changed position is remembered */

typedef struct text_block {
    char *data;    /* cap bytes, len used */
    uint8_t *attr; /* cap attributes beside data; NULL while all are 0 */
    size_t len;    /* bytes used */
    size_t cap;    /* bytes allocated (== len for the original) */
    bool mapped;   /* data is an mmap (original only) */
    bool readonly; /* data must not be appended to (the original) */
} text_block;

/* A span of one block: bytes block[off .. off+len-1]. */
typedef struct text_piece {
    uint32_t block; /* index into text.blocks */
    size_t off;     /* byte offset in the block */
    size_t len;     /* bytes, > 0 */
} text_piece;

/* One change: pieces[index .. index+n_old-1] were replaced by n_new pieces. */
typedef struct text_change {
    size_t index;    /* piece index of the replacement */
    text_piece *old; /* n_old pieces removed (points into the same allocation as new) */
    size_t n_old;    /* count */
    text_piece *new; /* n_new pieces inserted */
    size_t n_new;    /* count */
    size_t pos;      /* byte position of the change (cursor after undo) */
    size_t ins;      /* bytes the change inserted at pos (0 for a delete; new/old also hold the
                        unchanged parts of the pieces it split) */
    uint64_t step;   /* undo step the change belongs to */
} text_change;

struct text {
    text_block *blocks;        /* n_blocks buffers; [0] is the original */
    size_t n_blocks;           /* count */
    size_t cap_blocks;         /* allocated entries */
    text_piece *pieces;        /* n_pieces spans in document order */
    size_t n_pieces;           /* count */
    size_t cap_pieces;         /* allocated entries */
    size_t size;               /* bytes in the document */
    text_change *changes;      /* history: [0, cur) applied, [cur, n_changes) redoable */
    size_t n_changes;          /* count */
    size_t cap_changes;        /* allocated entries */
    size_t cur;                /* changes applied */
    uint64_t step;             /* step number of the open step */
    uint64_t n_steps;          /* steps numbered so far */
    bool step_open;            /* the next change joins step */
    int group_depth;           /* nesting of text_group_begin */
    uint64_t revision;         /* changes on every edit/undo/redo */
    uint64_t id;               /* unique among the texts of this process */
    size_t low[TEXT_LOW_RING]; /* lowest byte position revision r changed, at [r % TEXT_LOW_RING] */
    uint64_t attr_revision;    /* changes on every attribute write */
    size_t saved_cur;          /* cur at the last text_set_saved */
    bool saved_valid;          /* false when the saved state left the history */
    size_t cache_idx;          /* piece index of the last lookup */
    size_t cache_start;        /* document position of that piece */
};

const char *text_status_str(text_status s)
{
    switch (s) {
    case TEXT_OK: return "success";
    case TEXT_E_NOMEM: return "out of memory";
    case TEXT_E_RANGE: return "position out of range";
    }
    return "unknown status";
}

/* ---- lifetime ---- */

text *text_new_owned(void *data, size_t len, bool mapped)
{
    text *t = calloc(1, sizeof *t);
    static atomic_ullong next_id; /* ids handed out (texts may be made on any thread) */
    if (t) t->id = atomic_fetch_add(&next_id, 1) + 1;
    if (!t) return NULL;
    t->blocks = calloc(4, sizeof *t->blocks);
    t->pieces = malloc(16 * sizeof *t->pieces);
    if (!t->blocks || !t->pieces) {
        free(t->blocks);
        free(t->pieces);
        free(t);
        return NULL;
    }
    t->cap_blocks = 4;
    t->cap_pieces = 16;
    t->n_blocks = 1;
    t->blocks[0] = (text_block){.data = data, .len = len, .cap = len, .mapped = mapped, .readonly = true};
    if (len > 0) {
        t->pieces[0] = (text_piece){.block = 0, .off = 0, .len = len};
        t->n_pieces = 1;
    }
    t->size = len;
    t->saved_valid = true;
    return t;
}

text *text_new(void) { return text_new_owned(NULL, 0, false); }

void text_free(text *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_blocks; i++) {
        text_block *b = &t->blocks[i];
        if (b->mapped) {
            if (b->len) munmap(b->data, b->len);
        } else
            free(b->data);
        free(b->attr);
    }
    for (size_t i = 0; i < t->n_changes; i++) free(t->changes[i].old);
    free(t->changes);
    free(t->blocks);
    free(t->pieces);
    free(t);
}

/* ---- lookup ---- */

/* Index of the piece holding pos and that piece's start; pos == size gives n_pieces, size. */
static size_t text_find(const text *t, size_t pos, size_t *start)
{
    text *mt = (text *)t; /* the cache is not part of the observable state */
    size_t i = 0, s = 0;
    if (t->cache_idx < t->n_pieces && t->cache_start <= pos) {
        i = t->cache_idx;
        s = t->cache_start;
    }
    while (i < t->n_pieces && s + t->pieces[i].len <= pos) {
        s += t->pieces[i].len;
        i++;
    }
    if (i < t->n_pieces) {
        mt->cache_idx = i;
        mt->cache_start = s;
    }
    *start = s;
    return i;
}

size_t text_size(const text *t) { return t->size; }
size_t text_n_pieces(const text *t) { return t->n_pieces; }

static const char *text_piece_data(const text *t, const text_piece *p)
{
    return t->blocks[p->block].data + p->off;
}

const char *text_chunk(const text *t, size_t pos, size_t *len)
{
    if (pos >= t->size) {
        *len = 0;
        return NULL;
    }
    size_t start, i = text_find(t, pos, &start);
    const text_piece *p = &t->pieces[i];
    *len = p->len - (pos - start);
    return text_piece_data(t, p) + (pos - start);
}

const char *text_chunk_before(const text *t, size_t pos, size_t *len)
{
    if (pos == 0 || pos > t->size) {
        *len = 0;
        return NULL;
    }
    size_t start, i = text_find(t, pos - 1, &start);
    const text_piece *p = &t->pieces[i];
    *len = pos - start;
    return text_piece_data(t, p);
}

int text_byte_at(const text *t, size_t pos)
{
    size_t n;
    const char *c = text_chunk(t, pos, &n);
    return c ? (unsigned char)c[0] : -1;
}

size_t text_read(const text *t, size_t pos, size_t len, char *out)
{
    size_t done = 0;
    while (done < len) {
        size_t n;
        const char *c = text_chunk(t, pos + done, &n);
        if (!c) break;
        if (n > len - done) n = len - done;
        memcpy(out + done, c, n);
        done += n;
    }
    return done;
}

text_span *text_spans(const text *t, size_t *n)
{
    *n = 0;
    if (t->n_pieces == 0) return NULL;
    text_span *s = malloc(t->n_pieces * sizeof *s);
    if (!s) return NULL;
    for (size_t i = 0; i < t->n_pieces; i++)
        s[i] = (text_span){.data = text_piece_data(t, &t->pieces[i]), .len = t->pieces[i].len};
    *n = t->n_pieces;
    return s;
}

/* ---- buffers ---- */

/* Appends len bytes (and attributes, NULL = 0) to an added block; sets *block and *off. */
static text_status text_append(text *t, const char *bytes, size_t len, const uint8_t *attrs, uint32_t *block,
                               size_t *off)
{
    text_block *b = &t->blocks[t->n_blocks - 1];
    if (b->readonly || b->cap - b->len < len) {
        if (t->n_blocks == t->cap_blocks) {
            size_t nc = t->cap_blocks * 2;
            text_block *nb = realloc(t->blocks, nc * sizeof *nb);
            if (!nb) return TEXT_E_NOMEM;
            t->blocks = nb;
            t->cap_blocks = nc;
        }
        size_t cap = len > TEXT_BLOCK_MIN ? len : TEXT_BLOCK_MIN;
        char *data = malloc(cap);
        if (!data) return TEXT_E_NOMEM;
        b = &t->blocks[t->n_blocks++];
        *b = (text_block){.data = data, .cap = cap};
    }
    bool any_attr = false;
    for (size_t i = 0; attrs && i < len; i++)
        if (attrs[i]) {
            any_attr = true;
            break;
        }
    if (any_attr && !b->attr) {
        b->attr = calloc(b->cap, 1);
        if (!b->attr) return TEXT_E_NOMEM;
    }
    memcpy(b->data + b->len, bytes, len);
    if (b->attr) {
        if (attrs)
            memcpy(b->attr + b->len, attrs, len);
        else
            memset(b->attr + b->len, 0, len);
    }
    *block = (uint32_t)(t->n_blocks - 1);
    *off = b->len;
    b->len += len;
    return TEXT_OK;
}

/* ---- history ---- */

/* Replaces pieces[index .. index+n_old-1] by src[0..n_new-1]. Capacity must suffice. */
static void text_splice(text *t, size_t index, size_t n_old, const text_piece *src, size_t n_new)
{
    memmove(t->pieces + index + n_new, t->pieces + index + n_old,
            (t->n_pieces - index - n_old) * sizeof *t->pieces);
    memcpy(t->pieces + index, src, n_new * sizeof *src);
    t->n_pieces = t->n_pieces - n_old + n_new;
    t->cache_idx = 0;
    t->cache_start = 0;
}

static size_t text_pieces_len(const text_piece *p, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++) s += p[i].len;
    return s;
}

static text_status text_reserve_pieces(text *t, size_t extra)
{
    if (t->n_pieces + extra <= t->cap_pieces) return TEXT_OK;
    size_t nc = t->cap_pieces * 2;
    while (nc < t->n_pieces + extra) nc *= 2;
    text_piece *np = realloc(t->pieces, nc * sizeof *np);
    if (!np) return TEXT_E_NOMEM;
    t->pieces = np;
    t->cap_pieces = nc;
    return TEXT_OK;
}

/* Records and applies one change: pieces[index..index+n_old) become new_p[0..n_new). */
/* Counts one more revision whose changes start at byte low. */
static void text_bump(text *t, size_t low)
{
    t->revision++;
    t->low[t->revision % TEXT_LOW_RING] = low;
}

static text_status text_change_apply(text *t, size_t index, size_t n_old, const text_piece *new_p,
                                     size_t n_new, size_t pos, size_t ins)
{
    if (text_reserve_pieces(t, n_new) != TEXT_OK) return TEXT_E_NOMEM;
    if (t->n_changes == t->cap_changes) {
        size_t nc = t->cap_changes ? t->cap_changes * 2 : 64;
        text_change *c = realloc(t->changes, nc * sizeof *c);
        if (!c) return TEXT_E_NOMEM;
        t->changes = c;
        t->cap_changes = nc;
    }
    text_piece *mem = malloc((n_old + n_new + 1) * sizeof *mem);
    if (!mem) return TEXT_E_NOMEM;
    /* drop the redo branch */
    for (size_t i = t->cur; i < t->n_changes; i++) free(t->changes[i].old);
    t->n_changes = t->cur;
    if (t->saved_valid && t->saved_cur > t->cur) t->saved_valid = false;
    if (!t->step_open) {
        t->step = ++t->n_steps;
        t->step_open = true;
    }
    memcpy(mem, t->pieces + index, n_old * sizeof *mem);
    memcpy(mem + n_old, new_p, n_new * sizeof *mem);
    t->changes[t->n_changes++] = (text_change){.index = index,
                                               .old = mem,
                                               .n_old = n_old,
                                               .new = mem + n_old,
                                               .n_new = n_new,
                                               .pos = pos,
                                               .ins = ins,
                                               .step = t->step};
    t->cur = t->n_changes;
    t->size = t->size - text_pieces_len(mem, n_old) + text_pieces_len(new_p, n_new);
    text_splice(t, index, n_old, new_p, n_new);
    text_bump(t, pos);
    return TEXT_OK;
}

/* ---- editing ---- */

text_status text_insert_attr(text *t, size_t pos, const char *bytes, size_t len, const uint8_t *attrs)
{
    if (pos > t->size) return TEXT_E_RANGE;
    if (len == 0) return TEXT_OK;
    if (text_reserve_pieces(t, 3) != TEXT_OK) return TEXT_E_NOMEM;
    uint32_t block;
    size_t off;
    text_status st = text_append(t, bytes, len, attrs, &block, &off);
    if (st != TEXT_OK) return st;
    text_piece np = {.block = block, .off = off, .len = len};
    size_t start, i = text_find(t, pos, &start);
    if (pos == start) {
        /* at a piece boundary: extend the previous piece when the new bytes follow it */
        if (i > 0) {
            text_piece prev = t->pieces[i - 1];
            if (prev.block == block && prev.off + prev.len == off) {
                prev.len += len;
                return text_change_apply(t, i - 1, 1, &prev, 1, pos, len);
            }
        }
        return text_change_apply(t, i, 0, &np, 1, pos, len);
    }
    text_piece p = t->pieces[i];
    size_t k = pos - start;
    text_piece three[3] = {
        {.block = p.block, .off = p.off, .len = k},
        np,
        {.block = p.block, .off = p.off + k, .len = p.len - k},
    };
    return text_change_apply(t, i, 1, three, 3, pos, len);
}

text_status text_insert(text *t, size_t pos, const char *bytes, size_t len)
{
    return text_insert_attr(t, pos, bytes, len, NULL);
}

text_status text_delete(text *t, size_t pos, size_t len)
{
    if (pos > t->size || len > t->size - pos) return TEXT_E_RANGE;
    if (len == 0) return TEXT_OK;
    size_t s1, i = text_find(t, pos, &s1);
    size_t s2, j = text_find(t, pos + len - 1, &s2);
    text_piece keep[2];
    size_t n = 0;
    if (pos > s1) {
        text_piece p = t->pieces[i];
        keep[n++] = (text_piece){.block = p.block, .off = p.off, .len = pos - s1};
    }
    size_t end_in_j = pos + len - s2; /* bytes of piece j that are deleted */
    if (end_in_j < t->pieces[j].len) {
        text_piece p = t->pieces[j];
        keep[n++] = (text_piece){.block = p.block, .off = p.off + end_in_j, .len = p.len - end_in_j};
    }
    return text_change_apply(t, i, j - i + 1, keep, n, pos, 0);
}

/* ---- attributes ---- */

text_status text_attr_get(const text *t, size_t pos, size_t len, uint8_t *out)
{
    if (pos > t->size || len > t->size - pos) return TEXT_E_RANGE;
    size_t done = 0;
    while (done < len) {
        size_t start, i = text_find(t, pos + done, &start);
        const text_piece *p = &t->pieces[i];
        size_t k = pos + done - start, n = p->len - k;
        if (n > len - done) n = len - done;
        const text_block *b = &t->blocks[p->block];
        if (b->attr)
            memcpy(out + done, b->attr + p->off + k, n);
        else
            memset(out + done, 0, n);
        done += n;
    }
    return TEXT_OK;
}

/* Writes vals (or val when vals is NULL) over the attributes of pos..pos+len-1. */
static text_status text_attr_write(text *t, size_t pos, size_t len, const uint8_t *vals, uint8_t val)
{
    if (pos > t->size || len > t->size - pos) return TEXT_E_RANGE;
    size_t done = 0;
    while (done < len) {
        size_t start, i = text_find(t, pos + done, &start);
        const text_piece *p = &t->pieces[i];
        size_t k = pos + done - start, n = p->len - k;
        if (n > len - done) n = len - done;
        text_block *b = &t->blocks[p->block];
        if (!b->attr) {
            bool zero = true;
            for (size_t q = 0; q < n; q++)
                if (vals ? vals[done + q] : val) {
                    zero = false;
                    break;
                }
            if (!zero) {
                b->attr = calloc(b->cap ? b->cap : 1, 1);
                if (!b->attr) return TEXT_E_NOMEM;
            }
        }
        if (b->attr) {
            if (vals)
                memcpy(b->attr + p->off + k, vals + done, n);
            else
                memset(b->attr + p->off + k, val, n);
        }
        done += n;
    }
    t->attr_revision++;
    return TEXT_OK;
}

text_status text_attr_set(text *t, size_t pos, size_t len, const uint8_t *vals)
{
    return text_attr_write(t, pos, len, vals, 0);
}

text_status text_attr_fill(text *t, size_t pos, size_t len, uint8_t val)
{
    return text_attr_write(t, pos, len, NULL, val);
}

uint64_t text_attr_revision(const text *t) { return t->attr_revision; }

/* ---- undo ---- */

void text_snapshot(text *t)
{
    if (t->group_depth == 0) t->step_open = false;
}

void text_group_begin(text *t)
{
    if (t->group_depth == 0) t->step_open = false;
    t->group_depth++;
}

void text_group_end(text *t)
{
    if (t->group_depth > 0 && --t->group_depth == 0) t->step_open = false;
}

bool text_group_join(text *t)
{
    if (t->group_depth > 0 || t->cur == 0) {
        text_group_begin(t);
        return false;
    }
    t->step = t->changes[t->cur - 1].step;
    t->step_open = true;
    t->group_depth++;
    return true;
}

bool text_can_undo(const text *t) { return t->cur > 0; }
bool text_can_redo(const text *t) { return t->cur < t->n_changes; }

bool text_undo(text *t, size_t *pos)
{
    if (t->cur == 0) return false;
    uint64_t step = t->changes[t->cur - 1].step;
    size_t p = 0, low = SIZE_MAX;
    while (t->cur > 0 && t->changes[t->cur - 1].step == step) {
        text_change *c = &t->changes[--t->cur];
        /* the old pieces fit: they were there before */
        if (text_reserve_pieces(t, c->n_old) != TEXT_OK) {
            t->cur++;
            break;
        }
        t->size = t->size - text_pieces_len(c->new, c->n_new) + text_pieces_len(c->old, c->n_old);
        text_splice(t, c->index, c->n_new, c->old, c->n_old);
        p = c->pos;
        if (c->pos < low) low = c->pos;
    }
    t->step_open = false;
    text_bump(t, low == SIZE_MAX ? 0 : low);
    if (pos) *pos = p;
    return true;
}

bool text_redo(text *t, size_t *pos) { return text_redo_span(t, NULL, pos); }

bool text_redo_span(text *t, size_t *start, size_t *end)
{
    if (t->cur >= t->n_changes) return false;
    uint64_t step = t->changes[t->cur].step;
    size_t p = 0, low = SIZE_MAX;
    while (t->cur < t->n_changes && t->changes[t->cur].step == step) {
        text_change *c = &t->changes[t->cur];
        if (text_reserve_pieces(t, c->n_new) != TEXT_OK) break;
        t->cur++;
        t->size = t->size - text_pieces_len(c->old, c->n_old) + text_pieces_len(c->new, c->n_new);
        text_splice(t, c->index, c->n_old, c->new, c->n_new);
        p = c->pos + c->ins; /* after the last change, in the text as the step leaves it */
        if (c->pos < low) low = c->pos;
    }
    t->step_open = false;
    if (low == SIZE_MAX) low = 0;
    text_bump(t, low);
    /* the bytes before the lowest change are the same before and after the step */
    if (start) *start = low;
    if (end) *end = p;
    return true;
}

size_t text_history_pos(const text *t) { return t->cur; }

bool text_rollback(text *t, size_t pos)
{
    if (pos > t->cur) return false;
    bool ok = true;
    while (t->cur > pos) {
        text_change *c = &t->changes[t->cur - 1];
        if (text_reserve_pieces(t, c->n_old) != TEXT_OK) {
            ok = false;
            break;
        }
        t->cur--;
        t->size = t->size - text_pieces_len(c->new, c->n_new) + text_pieces_len(c->old, c->n_old);
        text_splice(t, c->index, c->n_new, c->old, c->n_old);
    }
    for (size_t i = t->cur; i < t->n_changes; i++) free(t->changes[i].old);
    t->n_changes = t->cur;
    if (t->saved_valid && t->saved_cur > t->cur) t->saved_valid = false;
    t->step_open = false;
    text_bump(t, 0); /* many changes: say all */
    return ok;
}

uint64_t text_revision(const text *t) { return t->revision; }
uint64_t text_id(const text *t) { return t->id; }

size_t text_changed_from(const text *t, uint64_t since)
{
    if (since > t->revision) return 0;
    if (t->revision - since >= TEXT_LOW_RING) return 0; /* too long ago to know */
    size_t low = SIZE_MAX;
    for (uint64_t r = since + 1; r <= t->revision; r++)
        if (t->low[r % TEXT_LOW_RING] < low) low = t->low[r % TEXT_LOW_RING];
    return low;
}

void text_set_saved(text *t)
{
    t->saved_cur = t->cur;
    t->saved_valid = true;
    t->step_open = false;
}

bool text_modified(const text *t) { return !(t->saved_valid && t->saved_cur == t->cur); }

/* ---- marks ---- */

text_mark text_mark_set(const text *t, size_t pos)
{
    if (pos > t->size) return TEXT_MARK_NONE;
    if (pos == t->size) return TEXT_MARK_END;
    size_t start, i = text_find(t, pos, &start);
    const text_piece *p = &t->pieces[i];
    return ((text_mark)(p->block + 1) << TEXT_MARK_SHIFT) | (text_mark)(p->off + pos - start);
}

size_t text_mark_get(const text *t, text_mark m)
{
    if (m == TEXT_MARK_NONE) return TEXT_POS_NONE;
    if (m == TEXT_MARK_END) return t->size;
    uint64_t block = (m >> TEXT_MARK_SHIFT) - 1;
    size_t off = (size_t)(m & (((text_mark)1 << TEXT_MARK_SHIFT) - 1));
    size_t s = 0;
    for (size_t i = 0; i < t->n_pieces; i++) {
        const text_piece *p = &t->pieces[i];
        if (p->block == block && off >= p->off && off < p->off + p->len) return s + off - p->off;
        s += p->len;
    }
    return TEXT_POS_NONE;
}
