/* fuzz_view.c: any bytes laid out at several widths: cells cover every byte once, in order,
 * and no glyph holds a byte that a terminal would act on (C0, DEL, C1 as UTF-8, invalid). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "view.h"

static void fuzz_check_glyph(const char *g)
{
    const unsigned char *p = (const unsigned char *)g;
    for (; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) abort();
        if (*p == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0) abort(); /* C1 control */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    text *t = text_new();
    if (!t) return 0;
    if (size > 0 && text_insert(t, 0, (const char *)data, size) != TEXT_OK) {
        text_free(t);
        return 0;
    }
    static const int widths[] = {1, 3, 8, 80};
    for (int w = 0; w < 4; w++) {
        for (int wrap = 0; wrap < 2; wrap++) {
            view_opts o = {.width = widths[w], .wrap = wrap, .tab_width = 4, .hscroll = 0};
            view_row row;
            if (!view_row_init(&row, o.width)) break;
            size_t pos = 0, expect = 0;
            for (int guard = 0; guard < 100000; guard++) {
                size_t next = view_row_layout(t, pos, &o, &row);
                if (row.start != pos || next < pos || next > size) abort();
                for (int i = 0; i < row.n_cells; i++) {
                    const view_cell *c = &row.cells[i];
                    fuzz_check_glyph(c->glyph);
                    if (wrap && c->pos != expect) abort(); /* no gaps, no overlaps */
                    expect = c->pos + c->len;
                }
                if (wrap) expect = next;
                if (row.last || next == size) {
                    if (next == size && !row.last && next == pos) abort();
                    if (row.last) break;
                }
                if (next == pos) abort(); /* no progress */
                pos = next;
            }
            view_row_release(&row);
        }
    }
    /* cluster motion round trip */
    for (size_t p = 0; p < size;) {
        size_t n = view_next_cluster(t, p);
        if (n <= p || n > size) abort();
        p = n;
    }
    text_free(t);
    return 0;
}
