/* test_text.c: the piece table: edits, byte-exact content, attributes, undo steps, marks,
 * checked against a plain-array reference model. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "text.h"

static char *text_dup_all(const text *t)
{
    size_t n = text_size(t);
    char *s = malloc(n + 1);
    assert_non_null(s);
    assert_int_equal(text_read(t, 0, n, s), n);
    s[n] = 0;
    return s;
}

static void assert_text(const text *t, const char *want)
{
    char *s = text_dup_all(t);
    assert_int_equal(text_size(t), strlen(want));
    assert_string_equal(s, want);
    free(s);
}

static text *text_from(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n ? n : 1);
    memcpy(d, s, n);
    text *t = text_new_owned(d, n, false);
    assert_non_null(t);
    return t;
}

static void test_text_insert_inside_piece_splits_it(void **state)
{
    (void)state;
    text *t = text_from("hello world");
    assert_int_equal(text_insert(t, 5, ",", 1), TEXT_OK);
    assert_text(t, "hello, world");
    assert_int_equal(text_n_pieces(t), 3);
    assert_int_equal(text_insert(t, 0, ">", 1), TEXT_OK);
    assert_int_equal(text_insert(t, text_size(t), "!", 1), TEXT_OK);
    assert_text(t, ">hello, world!");
    text_free(t);
}

static void test_text_delete_across_pieces(void **state)
{
    (void)state;
    text *t = text_from("abcdef");
    text_insert(t, 3, "XYZ", 3);                     /* abcXYZdef */
    assert_int_equal(text_delete(t, 2, 5), TEXT_OK); /* ab + ef */
    assert_text(t, "abef");
    assert_int_equal(text_delete(t, 0, 4), TEXT_OK);
    assert_text(t, "");
    assert_int_equal(text_delete(t, 0, 1), TEXT_E_RANGE);
    assert_int_equal(text_insert(t, 1, "x", 1), TEXT_E_RANGE);
    text_free(t);
}

static void test_text_undo_restores_split_piece(void **state)
{
    (void)state;
    text *t = text_from("hello world");
    text_insert(t, 5, ",", 1);
    text_snapshot(t);
    text_delete(t, 0, 3);
    assert_text(t, "lo, world");
    size_t pos = 99;
    assert_true(text_undo(t, &pos));
    assert_int_equal(pos, 0);
    assert_text(t, "hello, world");
    assert_true(text_undo(t, &pos));
    assert_int_equal(pos, 5);
    assert_text(t, "hello world");
    assert_int_equal(text_n_pieces(t), 1);
    assert_false(text_undo(t, NULL));
    assert_true(text_redo(t, NULL));
    assert_true(text_redo(t, NULL));
    assert_text(t, "lo, world");
    assert_false(text_redo(t, NULL));
    text_free(t);
}

/* Redo's positions are those of the text the step leaves, not the lengths of the pieces its
 * changes split: replacing "b" of "ab\n日本語" by "xyz" typed one byte at a time gives end 4
 * (after z) and start 1, both ahead of the multi-byte line. */
static void test_text_redo_positions_are_the_re_applied_change(void **state)
{
    (void)state;
    text *t = text_from("ab\n\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
    text_group_begin(t);
    assert_int_equal(text_delete(t, 1, 1), TEXT_OK);
    assert_int_equal(text_insert(t, 1, "x", 1), TEXT_OK);
    assert_int_equal(text_insert(t, 2, "y", 1), TEXT_OK);
    assert_int_equal(text_insert(t, 3, "z", 1), TEXT_OK);
    text_group_end(t);
    assert_text(t, "axyz\n\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
    size_t pos = 99, start = 99;
    assert_true(text_undo(t, &pos));
    assert_int_equal(pos, 1);
    assert_true(text_redo(t, &pos));
    assert_int_equal(pos, 4);
    assert_true(text_undo(t, NULL));
    pos = 99;
    assert_true(text_redo_span(t, &start, &pos));
    assert_int_equal(start, 1);
    assert_int_equal(pos, 4);
    /* a step that only deletes ends where it deleted */
    text_snapshot(t);
    assert_int_equal(text_delete(t, 2, 2), TEXT_OK);
    assert_true(text_undo(t, NULL));
    assert_true(text_redo_span(t, &start, &pos));
    assert_int_equal(start, 2);
    assert_int_equal(pos, 2);
    assert_text(t, "ax\n\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
    text_free(t);
}

static void test_text_typed_run_is_one_step(void **state)
{
    (void)state;
    text *t = text_new();
    const char *word = "typing";
    for (size_t i = 0; i < strlen(word); i++) text_insert(t, i, word + i, 1);
    assert_int_equal(text_n_pieces(t), 1); /* consecutive typing extends one piece */
    text_snapshot(t);
    text_insert(t, 6, " more", 5);
    assert_text(t, "typing more");
    assert_true(text_undo(t, NULL));
    assert_text(t, "typing");
    assert_true(text_undo(t, NULL));
    assert_text(t, "");
    text_free(t);
}

static void test_text_group_makes_one_step_and_nests(void **state)
{
    (void)state;
    text *t = text_from("abc");
    text_group_begin(t);
    text_delete(t, 0, 1);
    text_snapshot(t); /* ignored inside a group */
    text_group_begin(t);
    text_insert(t, 0, "X", 1);
    text_group_end(t);
    text_insert(t, 3, "Y", 1);
    text_group_end(t);
    text_insert(t, 0, "after", 5); /* a new step after the group */
    assert_text(t, "afterXbcY");
    text_undo(t, NULL);
    assert_text(t, "XbcY");
    text_undo(t, NULL);
    assert_text(t, "abc");
    text_free(t);
}

/* A joined group belongs to the last step: one undo takes back both; with nothing to join it is
 * a plain group; the next change after it starts a step of its own. */
static void test_text_group_join_extends_the_last_step(void **state)
{
    (void)state;
    text *t = text_from("abc");
    text_snapshot(t);
    text_group_begin(t);
    text_insert(t, 3, "d", 1);
    text_group_end(t);
    assert_true(text_group_join(t));
    text_insert(t, 4, "e", 1);
    text_delete(t, 0, 1);
    text_group_end(t);
    text_insert(t, 0, "Z", 1); /* a new step */
    assert_text(t, "Zbcde");
    assert_true(text_undo(t, NULL));
    assert_text(t, "bcde");
    assert_true(text_undo(t, NULL));
    assert_text(t, "abc"); /* the group and the joined one in one step */
    text_free(t);
    text *u = text_new();
    assert_false(text_group_join(u)); /* nothing to join: a plain group */
    text_insert(u, 0, "x", 1);
    text_group_end(u);
    assert_true(text_group_join(u));
    assert_false(text_group_join(u)); /* a group is open: nested, not joined again */
    text_insert(u, 1, "y", 1);
    text_group_end(u);
    text_group_end(u);
    assert_true(text_undo(u, NULL));
    assert_int_equal(text_size(u), 0);
    assert_false(text_can_undo(u));
    text_free(u);
}

static void test_text_new_edit_drops_redo(void **state)
{
    (void)state;
    text *t = text_from("abc");
    text_insert(t, 3, "d", 1);
    text_undo(t, NULL);
    assert_true(text_can_redo(t));
    text_insert(t, 0, "z", 1);
    assert_false(text_can_redo(t));
    assert_false(text_redo(t, NULL));
    assert_text(t, "zabc");
    text_free(t);
}

static void test_text_revision_changes_on_every_edit(void **state)
{
    (void)state;
    text *t = text_from("abc");
    uint64_t r0 = text_revision(t);
    text_insert(t, 0, "x", 1);
    uint64_t r1 = text_revision(t);
    assert_true(r1 != r0);
    text_undo(t, NULL);
    uint64_t r2 = text_revision(t);
    assert_true(r2 != r1 && r2 != r0);
    uint8_t v = 7;
    text_attr_set(t, 0, 1, &v);
    assert_int_equal(text_revision(t), r2); /* attributes are not edits */
    text_free(t);
}

static void test_text_modified_follows_saved_state(void **state)
{
    (void)state;
    text *t = text_from("abc");
    assert_false(text_modified(t));
    text_insert(t, 0, "x", 1);
    assert_true(text_modified(t));
    text_set_saved(t);
    assert_false(text_modified(t));
    text_undo(t, NULL);
    assert_true(text_modified(t));
    text_redo(t, NULL);
    assert_false(text_modified(t));
    text_undo(t, NULL);
    text_insert(t, 0, "y", 1); /* the saved state left the history */
    assert_true(text_modified(t));
    text_undo(t, NULL);
    assert_true(text_modified(t));
    text_free(t);
}

static void test_text_attributes_follow_text_through_edits_and_undo(void **state)
{
    (void)state;
    text *t = text_from("0123456789");
    uint8_t a[10], out[16];
    for (int i = 0; i < 10; i++) a[i] = (uint8_t)(10 + i);
    assert_int_equal(text_attr_set(t, 0, 10, a), TEXT_OK); /* lazily allocated original */
    const uint8_t ins_attr[2] = {200, 201};
    text_insert_attr(t, 5, "ab", 2, ins_attr);
    assert_int_equal(text_attr_get(t, 3, 6, out), TEXT_OK);
    const uint8_t want1[6] = {13, 14, 200, 201, 15, 16};
    assert_memory_equal(out, want1, 6);
    text_snapshot(t);
    text_delete(t, 4, 4); /* 0123 + 6789 */
    assert_int_equal(text_attr_get(t, 3, 2, out), TEXT_OK);
    assert_int_equal(out[0], 13);
    assert_int_equal(out[1], 16);
    text_undo(t, NULL);
    assert_int_equal(text_attr_get(t, 0, 12, out), TEXT_OK);
    const uint8_t want2[12] = {10, 11, 12, 13, 14, 200, 201, 15, 16, 17, 18, 19};
    assert_memory_equal(out, want2, 12);
    text_insert(t, 0, "zz", 2); /* plain insert: attribute 0 */
    assert_int_equal(text_attr_get(t, 0, 3, out), TEXT_OK);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[2], 10);
    assert_int_equal(text_attr_fill(t, 1, 2, 9), TEXT_OK);
    assert_int_equal(text_attr_get(t, 0, 3, out), TEXT_OK);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 9);
    assert_int_equal(out[2], 9);
    assert_int_equal(text_attr_get(t, 10, 5, out), TEXT_E_RANGE);
    assert_int_equal(text_attr_set(t, 13, 2, a), TEXT_E_RANGE);
    text_free(t);
}

static void test_text_mark_follows_edits_and_dies_with_its_byte(void **state)
{
    (void)state;
    text *t = text_from("hello world");
    text_mark m = text_mark_set(t, 6); /* 'w' */
    text_mark end = text_mark_set(t, 11);
    assert_int_equal(text_mark_set(t, 12), TEXT_MARK_NONE);
    text_insert(t, 0, ">> ", 3);
    assert_int_equal(text_mark_get(t, m), 9);
    text_insert(t, 9, "new ", 4); /* insert at the mark: it stays on its byte */
    assert_int_equal(text_mark_get(t, m), 13);
    text_snapshot(t);
    text_delete(t, 10, 6); /* deletes 'w' */
    assert_int_equal(text_mark_get(t, m), TEXT_POS_NONE);
    assert_int_equal(text_mark_get(t, end), text_size(t));
    text_undo(t, NULL);
    assert_int_equal(text_mark_get(t, m), 13);
    assert_int_equal(text_mark_get(t, TEXT_MARK_NONE), TEXT_POS_NONE);
    text_free(t);
}

static void test_text_round_trips_hostile_bytes(void **state)
{
    (void)state;
    static const char bytes[] = "a\0b\r\n\xff\xfe\xc3(\x1b[31m\x80no final newline";
    size_t n = sizeof bytes - 1;
    char *d = malloc(n);
    memcpy(d, bytes, n);
    text *t = text_new_owned(d, n, false);
    text_insert(t, 3, "\0", 1);
    text_delete(t, 3, 1);
    char out[sizeof bytes];
    assert_int_equal(text_read(t, 0, n, out), n);
    assert_memory_equal(out, bytes, n);
    assert_int_equal(text_byte_at(t, 1), 0);
    assert_int_equal(text_byte_at(t, 5), 0xff);
    assert_int_equal(text_byte_at(t, n), -1);
    text_free(t);
}

static void test_text_chunks_cover_the_text(void **state)
{
    (void)state;
    text *t = text_from("abcdef");
    text_insert(t, 3, "123", 3);
    size_t len;
    const char *c = text_chunk(t, 4, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(c, "23", 2);
    c = text_chunk_before(t, 4, &len);
    assert_int_equal(len, 1);
    assert_memory_equal(c, "1", 1);
    c = text_chunk_before(t, 3, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(c, "abc", 3);
    assert_null(text_chunk(t, 9, &len));
    size_t n;
    text_span *sp = text_spans(t, &n);
    assert_int_equal(n, 3);
    assert_int_equal(sp[1].len, 3);
    assert_memory_equal(sp[1].data, "123", 3);
    assert_memory_equal(sp[2].data, "def", 3);
    free(sp);
    assert_null(text_chunk_before(t, 0, &len));
    text_free(t);
}

static void test_text_large_single_line_insert(void **state)
{
    (void)state;
    size_t n = 5u << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++) big[i] = (char)('a' + i % 26);
    text *t = text_new();
    assert_int_equal(text_insert(t, 0, big, n), TEXT_OK);
    assert_int_equal(text_insert(t, n / 2, "\n", 1), TEXT_OK);
    assert_int_equal(text_delete(t, n / 2, 1), TEXT_OK);
    char *out = malloc(n);
    assert_int_equal(text_read(t, 0, n, out), n);
    assert_memory_equal(out, big, n);
    free(out);
    free(big);
    text_free(t);
}

/* Random edits, undo and redo against a reference array of bytes and attributes. */
typedef struct ref_state {
    char *b;    /* bytes */
    uint8_t *a; /* attributes */
    size_t n;   /* length */
} ref_state;

static ref_state ref_copy(const ref_state *r)
{
    ref_state c = {malloc(r->n + 1), malloc(r->n + 1), r->n};
    memcpy(c.b, r->b, r->n);
    memcpy(c.a, r->a, r->n);
    return c;
}

static void ref_check(const text *t, const ref_state *r)
{
    assert_int_equal(text_size(t), r->n);
    char *b = malloc(r->n + 1);
    uint8_t *a = malloc(r->n + 1);
    assert_int_equal(text_read(t, 0, r->n, b), r->n);
    assert_int_equal(text_attr_get(t, 0, r->n, a), TEXT_OK);
    assert_memory_equal(b, r->b, r->n);
    assert_memory_equal(a, r->a, r->n);
    free(b);
    free(a);
}

static void test_text_random_edits_match_reference(void **state)
{
    (void)state;
    srand(12345);
    text *t = text_new();
    enum { MAXH = 400 };
    ref_state hist[MAXH]; /* hist[k] = content after k steps */
    size_t cur = 0, top = 0;
    hist[0] = (ref_state){malloc(1), malloc(1), 0};
    for (int it = 0; it < 1500 && top < MAXH - 1; it++) {
        int op = rand() % 10;
        if (op < 6) {
            ref_state r = ref_copy(&hist[cur]);
            int edits = 1 + rand() % 3;
            for (int e = 0; e < edits; e++) {
                if (r.n > 0 && rand() % 2) {
                    size_t pos = (size_t)rand() % r.n, len = 1 + (size_t)rand() % (r.n - pos);
                    if (len > 20) len = 1 + len % 20;
                    assert_int_equal(text_delete(t, pos, len), TEXT_OK);
                    memmove(r.b + pos, r.b + pos + len, r.n - pos - len);
                    memmove(r.a + pos, r.a + pos + len, r.n - pos - len);
                    r.n -= len;
                } else {
                    size_t pos = r.n ? (size_t)rand() % (r.n + 1) : 0, len = 1 + (size_t)rand() % 8;
                    char b[8];
                    uint8_t a[8];
                    for (size_t k = 0; k < len; k++) {
                        b[k] = (char)rand();
                        a[k] = (uint8_t)rand();
                    }
                    assert_int_equal(text_insert_attr(t, pos, b, len, a), TEXT_OK);
                    r.b = realloc(r.b, r.n + len + 1);
                    r.a = realloc(r.a, r.n + len + 1);
                    memmove(r.b + pos + len, r.b + pos, r.n - pos);
                    memmove(r.a + pos + len, r.a + pos, r.n - pos);
                    memcpy(r.b + pos, b, len);
                    memcpy(r.a + pos, a, len);
                    r.n += len;
                }
            }
            text_snapshot(t);
            for (size_t k = cur + 1; k <= top; k++) {
                free(hist[k].b);
                free(hist[k].a);
            }
            hist[++cur] = r;
            top = cur;
        } else if (op < 8) {
            bool ok = text_undo(t, NULL);
            assert_int_equal(ok, cur > 0);
            if (ok) cur--;
        } else {
            bool ok = text_redo(t, NULL);
            assert_int_equal(ok, cur < top);
            if (ok) cur++;
        }
        ref_check(t, &hist[cur]);
        if (hist[cur].n > 0 && rand() % 4 == 0) {
            /* attributes written in place are part of the stored bytes: keep the reference in
             * step for the current state only, then make all states agree by rewriting them */
            size_t pos = (size_t)rand() % hist[cur].n;
            uint8_t v = (uint8_t)rand();
            assert_int_equal(text_attr_set(t, pos, 1, &v), TEXT_OK);
            uint8_t got;
            text_attr_get(t, pos, 1, &got);
            assert_int_equal(got, v);
            text_attr_set(t, pos, 1, &hist[cur].a[pos]);
        }
    }
    for (size_t k = 0; k <= top; k++) {
        free(hist[k].b);
        free(hist[k].a);
    }
    text_free(t);
}

static void test_text_rollback_forgets_changes_and_keeps_earlier_steps(void **state)
{
    (void)state;
    text *t = text_new();
    text_insert(t, 0, "abc", 3);
    text_snapshot(t);
    size_t base = text_history_pos(t);
    text_insert(t, 1, "XY", 2);
    text_delete(t, 0, 2);
    text_snapshot(t);
    text_insert(t, 3, "Z", 1);
    assert_false(text_rollback(t, base + 10));
    assert_true(text_rollback(t, base));
    assert_text(t, "abc");
    assert_false(text_can_redo(t)); /* rolled-back changes are gone, not redoable */
    text_insert(t, 3, "d", 1);
    assert_true(text_undo(t, NULL));
    assert_text(t, "abc");
    assert_true(text_undo(t, NULL));
    assert_text(t, "");
    text_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_insert_inside_piece_splits_it),
        cmocka_unit_test(test_text_delete_across_pieces),
        cmocka_unit_test(test_text_undo_restores_split_piece),
        cmocka_unit_test(test_text_redo_positions_are_the_re_applied_change),
        cmocka_unit_test(test_text_typed_run_is_one_step),
        cmocka_unit_test(test_text_group_makes_one_step_and_nests),
        cmocka_unit_test(test_text_group_join_extends_the_last_step),
        cmocka_unit_test(test_text_new_edit_drops_redo),
        cmocka_unit_test(test_text_revision_changes_on_every_edit),
        cmocka_unit_test(test_text_modified_follows_saved_state),
        cmocka_unit_test(test_text_attributes_follow_text_through_edits_and_undo),
        cmocka_unit_test(test_text_mark_follows_edits_and_dies_with_its_byte),
        cmocka_unit_test(test_text_round_trips_hostile_bytes),
        cmocka_unit_test(test_text_chunks_cover_the_text),
        cmocka_unit_test(test_text_large_single_line_insert),
        cmocka_unit_test(test_text_random_edits_match_reference),
        cmocka_unit_test(test_text_rollback_forgets_changes_and_keeps_earlier_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
