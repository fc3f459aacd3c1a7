/* test_model_window.c: token windows over a text with the small random fixture model (offsets
 * of every token, masked targets, windows smaller than the text), rendering tokens back into
 * bytes with confidence attributes, and the confidence encoding of the attribute byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fixture.h"
#include "model-window.h"
#include "theme.h"

static char model_path[1024]; /* the fixture model */

typedef struct fx {
    bd3_model *m; /* the fixture model */
    text *t;      /* document holding doc */
} fx;

static const char doc[] = "The cat sat on the mat.\nA dog ran to the park and back.\nEnd of it.\n";

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char err[256];
    if (!f || bd3_model_load(model_path, &f->m, err, sizeof err) != BD3_OK) {
        free(f);
        return -1;
    }
    f->t = text_new();
    assert_int_equal(text_insert(f->t, 0, doc, strlen(doc)), TEXT_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    text_free(f->t);
    bd3_model_free(f->m);
    free(f);
    return 0;
}

static void test_model_window_offsets_cover_the_bytes(void **state)
{
    fx *f = *state;
    const bd3_model *m = f->m;
    model_window w;
    assert_int_equal(model_window_build(&w, m, f->t, 4, 11, -1, 64, -1, -1), BD3_OK);
    assert_int_equal(w.pos[w.lo], 4);
    assert_int_equal(w.pos[w.hi], 11);
    assert_true(w.n <= 64);
    for (int i = 0; i < w.n; i++) {
        size_t len;
        const char *b = bd3_token_bytes(m, w.ids[i], &len);
        assert_non_null(b);
        assert_int_equal(w.pos[i + 1] - w.pos[i], len);
        assert_memory_equal(doc + w.pos[i], b, len);
    }
    model_window_release(&w);
    /* masked target: masks have no bytes, the context keeps its offsets */
    assert_int_equal(model_window_build(&w, m, f->t, 4, 11, 5, 64, -1, -1), BD3_OK);
    assert_int_equal(w.hi - w.lo, 5);
    for (int i = w.lo; i < w.hi; i++) {
        assert_int_equal(w.ids[i], bd3_model_hparams(m)->mask_id);
        assert_int_equal(w.pos[i], 4);
    }
    assert_int_equal(w.pos[w.hi], 11);
    model_window_release(&w);
    /* a window smaller than the text keeps the tokens nearest the target on both sides */
    assert_int_equal(model_window_build(&w, m, f->t, 30, 30, 0, 10, -1, -1), BD3_OK);
    assert_int_equal(w.n, 10);
    assert_int_equal(w.lo, 5);
    assert_int_equal(w.pos[w.lo], 30);
    model_window_release(&w);
    assert_int_equal(model_window_build(&w, m, f->t, 0, strlen(doc), -1, 4, -1, -1), BD3_E_ARG);
}

/* Encoding a confidence and decoding it lands in the bucket the theme gives the confidence, or
 * in the next one where the confidence lies within one quantisation step of a threshold; the
 * provenance bit comes back as written and unknown stays apart from every confidence. */
static void test_model_window_conf_round_trip_stays_within_one_bucket(void **state)
{
    (void)state;
    theme *th = theme_new();
    char err[128];
    const char *dark = "thresholds 0.1 0.3 0.6 0.9\n";
    assert_int_equal(theme_load_string(th, dark, strlen(dark), "t", err, sizeof err), THEME_OK);
    const float *thr = theme_thresholds(th);
    float step = 1.0f / (MODEL_CONF_LEVELS - 1);
    for (int by = 0; by < 2; by++) {
        for (int i = 0; i <= 2000; i++) {
            float p = (float)i / 2000.0f;
            uint8_t a = model_window_conf_encode(p, by);
            assert_int_not_equal(a & (MODEL_CONF_BY_MODEL - 1), 0);
            assert_int_equal(model_window_conf_by_model(a), by);
            float v = model_window_conf_decode(a);
            assert_true(v >= 0.0f && v <= 1.0f);
            assert_true(v - p <= step / 2 + 1e-6f && p - v <= step / 2 + 1e-6f);
            int want = theme_confidence_bucket(th, p), got = theme_confidence_bucket(th, v);
            assert_true(got - want <= 1 && want - got <= 1);
            bool near = false;
            for (int k = 0; k < THEME_N_BUCKETS - 1; k++)
                near = near || (p - thr[k] < step && thr[k] - p < step);
            if (!near) assert_int_equal(got, want);
        }
    }
    assert_int_equal(model_window_conf_encode(0.0f / 0.0f, false), 1);
    assert_true(model_window_conf_decode(0) < 0.0f);
    assert_true(model_window_conf_decode(MODEL_CONF_BY_MODEL) < 0.0f);
    assert_false(model_window_conf_by_model(0));
    assert_false(model_window_conf_by_model(MODEL_CONF_BY_MODEL));
    theme_free(th);
}

/* Rendering the tokens of a window gives back the document's bytes with one attribute per
 * byte (the token's confidence, written by the model) and the token boundaries; masks become
 * the placeholder. */
static void test_model_window_render_gives_back_the_bytes(void **state)
{
    fx *f = *state;
    model_window w;
    assert_int_equal(model_window_build(&w, f->m, f->t, 0, strlen(doc), -1, 64, -1, -1), BD3_OK);
    float *conf = malloc((size_t)w.n * sizeof *conf);
    for (int i = 0; i < w.n; i++) conf[i] = 0.75f;
    char *buf = NULL;
    uint8_t *attr = NULL;
    size_t len = 0, cap = 0;
    size_t *bounds = malloc((size_t)(w.n + 1) * sizeof *bounds);
    assert_int_equal(model_window_render(f->m, w.ids, conf, w.n, "#", &buf, &attr, &len, &cap, bounds),
                     BD3_OK);
    assert_int_equal(len, strlen(doc));
    assert_memory_equal(buf, doc, len);
    for (size_t k = 0; k < len; k++) assert_int_equal(attr[k], model_window_conf_encode(0.75f, true));
    for (int i = 0; i <= w.n; i++) assert_int_equal(bounds[i], w.pos[i]);
    /* two masks in place of the first two tokens */
    int32_t mask = bd3_model_hparams(f->m)->mask_id;
    w.ids[0] = w.ids[1] = mask;
    len = 0;
    assert_int_equal(model_window_render(f->m, w.ids, NULL, w.n, "#", &buf, &attr, &len, &cap, NULL), BD3_OK);
    assert_int_equal(len, strlen(doc) - w.pos[2] + 2);
    assert_memory_equal(buf, "##", 2);
    assert_memory_equal(buf + 2, doc + w.pos[2], len - 2);
    assert_int_equal(attr[5], 0);
    free(buf);
    free(attr);
    free(bounds);
    free(conf);
    model_window_release(&w);
}

/* Several spans: each becomes its masks at its own offset, the text between keeps its tokens
 * and offsets, and the context around them is as for one span; spans out of order are refused. */
static void test_model_window_spans_mask_each_span_and_keep_the_text_between(void **state)
{
    fx *f = *state;
    const bd3_model *m = f->m;
    const int32_t mask = bd3_model_hparams(m)->mask_id;
    size_t lo[2] = {3, 18}, hi[2] = {7, 22}; /* " cat" and " mat" */
    int nm[2] = {2, 3};
    model_window w;
    assert_int_equal(model_window_build_spans(&w, m, f->t, 2, lo, hi, nm, 64), BD3_OK);
    assert_int_equal(w.byte_lo, 3);
    assert_int_equal(w.byte_hi, 22);
    assert_int_equal(w.pos[w.lo], 3);
    assert_int_equal(w.pos[w.hi], 22);
    int i = w.lo;
    assert_int_equal(w.ids[i], mask);
    assert_int_equal(w.ids[i + 1], mask);
    assert_int_equal(w.pos[i + 1], 3);
    i += 2;
    assert_int_equal(w.pos[i], 7); /* " sat on the" */
    for (; w.ids[i] != mask; i++) {
        size_t len;
        const char *b = bd3_token_bytes(m, w.ids[i], &len);
        assert_non_null(b);
        assert_int_equal(w.pos[i + 1] - w.pos[i], len);
        assert_memory_equal(doc + w.pos[i], b, len);
    }
    assert_int_equal(w.pos[i], 18);
    assert_int_equal(w.hi - i, 3);
    for (int k = 0; k < w.lo; k++) /* the context before */
        assert_true(w.ids[k] != mask && w.pos[k] < 3);
    for (int k = w.hi; k < w.n; k++) /* and after */
        assert_true(w.ids[k] != mask && w.pos[k] >= 22);
    model_window_release(&w);
    size_t rlo[2] = {18, 3}, rhi[2] = {22, 7};
    assert_int_equal(model_window_build_spans(&w, m, f->t, 2, rlo, rhi, nm, 64), BD3_E_ARG);
    assert_null(w.ids);
}

int main(void)
{
    if (fixture_model_path(model_path, sizeof model_path) != 0) return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_window_offsets_cover_the_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_window_render_gives_back_the_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_window_spans_mask_each_span_and_keep_the_text_between,
                                        setup, teardown),
        cmocka_unit_test(test_model_window_conf_round_trip_stays_within_one_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
