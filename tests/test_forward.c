/* test_forward.c: forward pass and KV cache against float64 reference logits (tests/ref/bd3_ref.py):
 * global, block-causal, streamed and sliding-cache calls on random F32/F16/BF16/Q8_0/Q4_0 models. Takes the
 * fixture folder as argument (tests/test_forward.sh makes it); exits 77 (skipped) without one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>
#include "bd3.h"
#include "forward.h"
#include "gguf.h"
#include "kernels.h"

#define TOL 1e-5 /* max |engine - reference| / max |reference|: float32 rounding */

/* The int8 products (BD3_COMPUTE_Q8) round every input of a product to a block of 32 values
 * on a grid of max|x| / 127: an error uniform in +-step/2, RMS step / sqrt(12). A block's max is at
 * most sqrt(32) times its RMS, so the RMS error relative to the block's RMS is at most
 * EPS_Q8 = sqrt(32) / (127 sqrt(12)) = 1.29% (about 0.5% for Gaussian values, whose max over 32
 * is about 2.1 sigma). Each of the 4 n_layer + 1 quantized products adds such relative noise to
 * its output, independently; the residual stream sums them, so the logits' relative RMS error
 * is about EPS_Q8 sqrt(4 n_layer + 1), times sqrt(2) when the weights were also rounded to Q8_0
 * at load. The test allows twice that for the gain of the nonlinearities (GELU, softmax, norms).
 * Q4_0 weights (grid step |max| / 8 per block of 32) are exact in the file, like Q8_0 ones, and
 * the reference reads the same values, so only the activations' rounding counts for them too: the
 * same bound. (Their distance to the weights before 4-bit rounding is the converter's affair:
 * tests/test_qwen_convert.sh.) */
#define EPS_Q8 (5.656854249 / (127.0 * 3.464101615))

/* The bf16 products (BD3_COMPUTE_BF16, and AUTO for F16/BF16 files on a CPU with AVX512_BF16) round
 * every activation entering a product to bfloat16: 8 significant bits, nearest, so a relative
 * error within u = 2^-8 that is uniform in +-u / m for a value of mantissa m in [1, 2): RMS at most
 * EPS_BF16 = u / sqrt(3) = 0.23% (0.17% averaged over mantissas). The products themselves are exact
 * in float32 and summed in float32 (relative error about 2^-24 per addition, negligible). An output
 * of a product, a sum of terms w x (1 + d) with independent d of random sign, thus carries a relative
 * RMS error of at most EPS_BF16 (sqrt(2) EPS_BF16 = 0.32% when the weights were also rounded to
 * bfloat16 at load, as F16 and F32 ones are; a BF16 file's weights are exact and the reference
 * reads the same values). With float32 attention there are 4 n_layer + 1 such products; as for
 * the int8 path the logits' relative RMS error is about EPS_BF16 sqrt(4 n_layer + 1), and the test
 * allows twice that for the gain of the nonlinearities. */
#define EPS_BF16 (0.00390625 / 1.732050808)

static const char *fixture_dir; /* folder with cases.txt, *.gguf and *.f32 */

typedef struct fx_case {
    char name[64];    /* case name; logits in name.f32 */
    char model[64];   /* model file name */
    char mode[32];    /* global | block:B | stream:B */
    int rows;         /* reference rows */
    int n_vocab;      /* columns */
    int32_t ids[256]; /* ids of the call */
    int n_ids;        /* entries of ids */
} fx_case;

static char *fx_path(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", fixture_dir, name);
    return buf;
}

/* Reads the next case from cases.txt; 0 at the end. */
static int fx_next(FILE *f, fx_case *c)
{
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char ids[8000];
        if (sscanf(line, "%63s %63s %31s %d %d %7999s", c->name, c->model, c->mode, &c->rows, &c->n_vocab,
                   ids) != 6)
            fail_msg("bad line in cases.txt: %s", line);
        c->n_ids = 0;
        for (char *p = strtok(ids, ","); p && c->n_ids < 256; p = strtok(NULL, ","))
            c->ids[c->n_ids++] = (int32_t)atoi(p);
        return 1;
    }
    return 0;
}

static bd3_model *fx_load_compute(const char *model, bd3_compute compute)
{
    bd3_model *m = NULL;
    char err[512];
    bd3_status st = bd3_model_load_compute(fx_path(model), compute, &m, err, sizeof err);
    if (st != BD3_OK) fail_msg("load %s: %s", model, err);
    return m;
}

static bd3_model *fx_load(const char *model) { return fx_load_compute(model, BD3_COMPUTE_F32); }

/* Runs one case through the engine; logits [rows, V]. */
static void fx_run(bd3_ctx *c, const fx_case *k, float *logits)
{
    int V = k->n_vocab;
    if (strcmp(k->mode, "global") == 0) {
        assert_int_equal(bd3_forward(c, k->ids, k->n_ids, BD3_GLOBAL, logits), BD3_OK);
    } else if (strncmp(k->mode, "block:", 6) == 0) {
        assert_int_equal(bd3_forward(c, k->ids, k->n_ids, atoi(k->mode + 6), logits), BD3_OK);
    } else if (strncmp(k->mode, "stream:", 7) == 0) {
        int B = atoi(k->mode + 7), n_ctx = bd3_model_hparams(bd3_ctx_model(c))->n_ctx;
        bd3_cache_clear(c);
        int start = 0;
        while (k->n_ids - start > B) {
            assert_int_equal(bd3_cache_commit(c, k->ids + start, B), BD3_OK);
            assert_true(bd3_cache_len(c) <= n_ctx - B);
            start += B;
        }
        assert_int_equal(k->n_ids - start, k->rows);
        assert_int_equal(bd3_cache_forward(c, k->ids + start, k->n_ids - start, logits), BD3_OK);
    } else {
        fail_msg("unknown mode %s", k->mode);
    }
    (void)V;
}

static bd3_compute fx_compute = BD3_COMPUTE_F32; /* compute mode fx_check loads models with */
static double fx_worst_q8;                       /* largest relative RMS error seen (int8, bf16) */
static bd3_compute fx_want = BD3_COMPUTE_F32;    /* what bd3_model_compute must say after loading */

/* Runs every case whose mode starts with mode_prefix and whose model starts with model_prefix;
 * returns how many ran. With fx_compute f32 each must match to TOL; with q8 (int8 products)
 * each must match to the bound above in relative RMS error, and differ from the reference by
 * more than float32 rounding (the int8 products really ran). */
static int fx_check(const char *mode_prefix, const char *model_prefix)
{
    FILE *f = fopen(fx_path("cases.txt"), "r");
    assert_non_null(f);
    fx_case k;
    int ran = 0;
    while (fx_next(f, &k)) {
        if (strncmp(k.mode, mode_prefix, strlen(mode_prefix)) != 0) continue;
        if (strncmp(k.model, model_prefix, strlen(model_prefix)) != 0) continue;
        bd3_model *m = fx_load_compute(k.model, fx_compute);
        assert_int_equal(bd3_model_hparams(m)->n_vocab, k.n_vocab);
        assert_int_equal(bd3_model_compute(m), fx_want);
        bd3_ctx *c = NULL;
        /* two threads: attention heads and elementwise loops run on the pool */
        assert_int_equal(bd3_ctx_new(m, 2, &c), BD3_OK);
        size_t n = (size_t)k.rows * (size_t)k.n_vocab;
        float *got = malloc(n * sizeof(float)), *want = malloc(n * sizeof(float));
        assert_non_null(got);
        assert_non_null(want);
        char file[128];
        snprintf(file, sizeof file, "%s.f32", k.name);
        FILE *lf = fopen(fx_path(file), "rb");
        assert_non_null(lf);
        assert_int_equal(fread(want, sizeof(float), n, lf), n);
        fclose(lf);
        fx_run(c, &k, got);
        double md = 0.0, mref = 0.0, sd = 0.0, sref = 0.0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)got[i] - (double)want[i]);
            if (!(d <= md)) md = d; /* NaN propagates as a failure */
            if (fabs(want[i]) > mref) mref = fabs(want[i]);
            sd += d * d;
            sref += (double)want[i] * want[i];
        }
        double rms = sqrt(sd / sref);
        printf("  %-24s %s max|diff|/max|ref| = %.2e, rms relative %.2e\n", k.name,
               bd3_compute_name(fx_compute), md / mref, rms);
        if (fx_want == BD3_COMPUTE_F32) {
            if (!(md / mref <= TOL)) fail_msg("%s: relative error %.3e above %.1e", k.name, md / mref, TOL);
        } else if (fx_want == BD3_COMPUTE_BF16) {
            int L = bd3_model_hparams(m)->n_layer;
            double tol = 2.0 * EPS_BF16 * sqrt(4.0 * L + 1.0) * (strstr(k.model, "bf16") ? 1.0 : sqrt(2.0));
            if (!(rms <= tol)) fail_msg("%s: bf16 relative RMS error %.3e above %.3e", k.name, rms, tol);
            if (!(md / mref > TOL)) fail_msg("%s: bf16 products match float32 exactly", k.name);
            if (rms > fx_worst_q8) fx_worst_q8 = rms;
        } else {
            const bd3_hparams *hq = bd3_model_hparams(m);
            int L = hq->n_layer, att = (hq->n_embd / hq->n_head) % 32 == 0 && k.rows >= 64;
            /* with int8 attention (heads of a multiple of 32, 64 rows or more) two more products
               a layer: q k^T and p v */
            double tol = 2.0 * EPS_Q8 * sqrt((att ? 6.0 : 4.0) * L + 1.0) *
                         (strstr(k.model, "q8_0") || strstr(k.model, "q4_0") ? 1.0 : sqrt(2.0));
            if (!(rms <= tol)) fail_msg("%s: int8 relative RMS error %.3e above %.3e", k.name, rms, tol);
            if (!(md / mref > TOL)) fail_msg("%s: int8 products match float32 exactly", k.name);
            if (rms > fx_worst_q8) fx_worst_q8 = rms;
        }
        free(got);
        free(want);
        bd3_ctx_free(c);
        bd3_model_free(m);
        ran++;
    }
    fclose(f);
    return ran;
}

/* Runs fx_check with compute and the mode bd3_model_compute must report. */
static int fx_check_as(bd3_compute compute, bd3_compute want, const char *mode_prefix,
                       const char *model_prefix)
{
    fx_compute = compute;
    fx_want = want;
    int ran = fx_check(mode_prefix, model_prefix);
    fx_compute = fx_want = BD3_COMPUTE_F32;
    return ran;
}

static void test_forward_global_matches_reference(void **state)
{
    (void)state;
    assert_int_equal(fx_check("global", "tiny_f32"), 2);
}

static void test_forward_block_causal_matches_reference(void **state)
{
    (void)state;
    assert_int_equal(fx_check("block:", "tiny_f32"), 2);
}

static void test_cache_stream_matches_reference(void **state)
{
    (void)state;
    assert_int_equal(fx_check("stream:", "tiny_f32"), 3);
}

static void test_cache_slides_past_n_ctx_like_reference(void **state)
{
    (void)state;
    assert_int_equal(fx_check("stream:", "slide_"), 3);
    assert_int_equal(fx_check("global", "slide_"), 1);
}

static void test_forward_f16_weights_match_reference(void **state)
{
    (void)state;
    assert_int_equal(fx_check("", "tiny_f16"), 6);
}

static void test_forward_q8_0_weights_match_reference(void **state)
{
    (void)state;
    assert_int_equal(fx_check("", "tiny_q8_0"), 6);
    assert_int_equal(fx_check("", "wide_q8_0"), 3);
    assert_int_equal(fx_check("", "tiny_q4_0"), 6); /* --compute f32 dequantizes Q4_0 exactly */
}

/* The int8 products against the same float64 reference: Q8_0 weights as they are in the file
 * (the activations alone are rounded), and float32 weights rounded to Q8_0 at load. */
static void test_forward_int8_products_within_derived_tolerance(void **state)
{
    (void)state;
    fx_compute = fx_want = BD3_COMPUTE_Q8;
    fx_worst_q8 = 0.0;
    assert_int_equal(fx_check("", "tiny_q8_0"), 6);
    assert_int_equal(fx_check("", "tiny_q4_0"), 6); /* 4-bit weights kept packed */
    assert_int_equal(fx_check("", "tiny_f32"), 7);
    assert_int_equal(fx_check("", "slide_"), 4);
    assert_int_equal(fx_check("", "wide_q8_0"), 3); /* int8 attention too: 6 products a layer */
    assert_int_equal(fx_check("", "tiny_bf16"), 6); /* q8 quantizes BF16 matrices to Q8_0 at load */
    fx_compute = fx_want = BD3_COMPUTE_F32;
    printf("  worst int8 relative RMS error %.2e (bound for 2 layers, Q8_0 weights: %.2e)\n", fx_worst_q8,
           2.0 * EPS_Q8 * 3.0);
}

/* BF16 weights expanded exactly to float32 (--compute f32) match the reference to float32 rounding. */
static void test_forward_bf16_weights_match_reference(void **state)
{
    (void)state;
    assert_int_equal(fx_check("", "tiny_bf16"), 6);
}

/* The bf16 products against the float64 reference within the bound derived above: BF16 weights as
 * they are in the file (activations alone rounded), F16 and F32 weights rounded to bfloat16 at load;
 * and each result differs from the reference by more than float32 rounding (the bf16 products ran). */
static void test_forward_bf16_products_within_derived_tolerance(void **state)
{
    (void)state;
    fx_worst_q8 = 0.0;
    assert_int_equal(fx_check_as(BD3_COMPUTE_BF16, BD3_COMPUTE_BF16, "", "tiny_bf16"), 6);
    assert_int_equal(fx_check_as(BD3_COMPUTE_BF16, BD3_COMPUTE_BF16, "", "tiny_f16"), 6);
    assert_int_equal(fx_check_as(BD3_COMPUTE_BF16, BD3_COMPUTE_BF16, "", "tiny_f32"), 7);
    assert_int_equal(fx_check_as(BD3_COMPUTE_BF16, BD3_COMPUTE_BF16, "", "slide_"), 4);
    /* auto: F16 and BF16 files in bfloat16 where the CPU has bf16 dot products, else float32 */
    bd3_compute want = kern_isa_best() >= KERN_ISA_AVX512_BF16 ? BD3_COMPUTE_BF16 : BD3_COMPUTE_F32;
    assert_int_equal(fx_check_as(BD3_COMPUTE_AUTO, want, "", "tiny_bf16"), 6);
    assert_int_equal(fx_check_as(BD3_COMPUTE_AUTO, want, "", "tiny_f16"), 6);
    assert_int_equal(fx_check_as(BD3_COMPUTE_AUTO, BD3_COMPUTE_F32, "global", "tiny_f32"), 2);
    printf("  worst bf16 relative RMS error %.2e (bound for 2 layers, BF16 weights: %.2e)\n", fx_worst_q8,
           2.0 * EPS_BF16 * 3.0);
}

/* The whole forward pass with bf16 products gives the same bits with every instruction set the CPU
 * runs (vdpbf16ps, its AVX2 and portable emulations; the other kernels agree across variants). */
static void test_forward_bf16_same_bits_on_every_variant(void **state)
{
    (void)state;
    bd3_model *m = fx_load_compute("tiny_bf16.gguf", BD3_COMPUTE_BF16);
    assert_int_equal(bd3_model_compute(m), BD3_COMPUTE_BF16);
    bd3_ctx *c = NULL;
    assert_int_equal(bd3_ctx_new(m, 2, &c), BD3_OK);
    const int n = 64, V = bd3_model_hparams(m)->n_vocab;
    int32_t ids[64];
    for (int i = 0; i < n; i++) ids[i] = (int32_t)((i * 37 + 11) % (V - 1));
    float *best = malloc(sizeof(float) * (size_t)n * (size_t)V),
          *got = malloc(sizeof(float) * (size_t)n * (size_t)V);
    assert_non_null(best);
    assert_non_null(got);
    assert_int_equal(bd3_forward(c, ids, n, 8, best), BD3_OK);
    for (int isa = KERN_ISA_BASE; isa < KERN_ISA_COUNT; isa++) {
        if (isa == (int)kern_isa_best() || !kern_isa_has((enum kern_isa)isa)) continue;
        assert_int_equal(kern_isa_set((enum kern_isa)isa), 0);
        assert_int_equal(bd3_forward(c, ids, n, 8, got), BD3_OK);
        kern_isa_set(kern_isa_best());
        for (size_t i = 0; i < (size_t)n * (size_t)V; i++)
            if (memcmp(&got[i], &best[i], sizeof(float)) != 0)
                fail_msg("instruction set %d: logit %zu is %a, the best variant's %a", isa, i, (double)got[i],
                         (double)best[i]);
    }
    free(best);
    free(got);
    bd3_ctx_free(c);
    bd3_model_free(m);
}

/* A Q4_0 matrix whose block 1 has a NaN or infinite f16 scale is refused by name, in every mode. */
static void test_q4_0_bad_scale_is_refused(void **state)
{
    (void)state;
    FILE *f = fopen(fx_path("tiny_q4_0.gguf"), "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)size);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    gguf_file *g = NULL;
    char err[512];
    assert_int_equal(gguf_open_memory(buf, (size_t)size, "copy", &g, err, sizeof err), BD3_OK);
    const gguf_tensor *t = gguf_find_tensor(g, "blk.0.ffn_up.weight");
    assert_non_null(t);
    assert_int_equal(t->type, GGUF_TENSOR_Q4_0);
    size_t at = (size_t)(t->data - buf) + GGUF_Q4_0_BLOCK_BYTES; /* block 1's scale */
    gguf_free(g);
    char path[64];
    snprintf(path, sizeof path, "/tmp/bd3_test_q4_%d.gguf", (int)getpid());
    static const uint16_t bad[2] = {0x7e00, 0xfc00}; /* NaN, -infinity */
    for (int i = 0; i < 2; i++) {
        buf[at] = (uint8_t)(bad[i] & 0xff);
        buf[at + 1] = (uint8_t)(bad[i] >> 8);
        f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, (size_t)size, f), (size_t)size);
        fclose(f);
        bd3_model *m = NULL;
        assert_int_equal(bd3_model_load_compute(path, BD3_COMPUTE_AUTO, &m, err, sizeof err), BD3_E_FORMAT);
        assert_non_null(strstr(err, i ? "blk.0.ffn_up.weight holds an infinite scale in block 1"
                                      : "blk.0.ffn_up.weight holds a NaN scale in block 1"));
    }
    unlink(path);
    free(buf);
}

/* BD3_COMPUTE_AUTO keeps Q8_0 matrices packed and float32 ones as they are. */
static void test_compute_auto_follows_the_file(void **state)
{
    (void)state;
    bd3_model *m = fx_load_compute("tiny_q8_0.gguf", BD3_COMPUTE_AUTO);
    assert_int_equal(bd3_model_compute(m), BD3_COMPUTE_Q8);
    bd3_model_free(m);
    m = fx_load_compute("tiny_q4_0.gguf", BD3_COMPUTE_AUTO);
    assert_int_equal(bd3_model_compute(m), BD3_COMPUTE_Q8);
    bd3_model_free(m);
    m = fx_load_compute("tiny_f32.gguf", BD3_COMPUTE_AUTO);
    assert_int_equal(bd3_model_compute(m), BD3_COMPUTE_F32);
    bd3_model_free(m);
    bd3_compute c;
    assert_int_equal(bd3_compute_parse("q8", &c), 0);
    assert_int_equal(c, BD3_COMPUTE_Q8);
    assert_int_equal(bd3_compute_parse("f32", &c), 0);
    assert_int_equal(c, BD3_COMPUTE_F32);
    assert_int_equal(bd3_compute_parse("auto", &c), 0);
    assert_int_equal(c, BD3_COMPUTE_AUTO);
    assert_int_equal(bd3_compute_parse("bf16", &c), 0);
    assert_int_equal(c, BD3_COMPUTE_BF16);
    assert_int_equal(bd3_compute_parse("f16", &c), -1);
    char err[256];
    assert_int_equal(bd3_model_load_compute(fx_path("tiny_f32.gguf"), (bd3_compute)7, &m, err, sizeof err),
                     BD3_E_ARG);
    assert_null(m);
}

/* ---- properties that need a model but no reference logits ---- */

static void test_model_metadata_is_read(void **state)
{
    (void)state;
    bd3_model *m = fx_load("tiny_f32.gguf");
    const bd3_hparams *hp = bd3_model_hparams(m);
    assert_int_equal(hp->n_vocab, 300);
    assert_int_equal(hp->n_embd, 64);
    assert_int_equal(hp->n_head, 4);
    assert_int_equal(hp->n_layer, 2);
    assert_int_equal(hp->n_ff, 256);
    assert_int_equal(hp->n_ctx, 64);
    assert_int_equal(hp->mask_id, 299);
    assert_int_equal(hp->eos_id, 298);
    assert_int_equal(hp->n_block_lengths, 3);
    assert_int_equal(bd3_model_default_block(m), 8);
    assert_int_equal(bd3_model_has_global(m), 1);
    assert_string_equal(bd3_model_name(m), "random f32");
    size_t V = 300, D = 64, F = 256, L = 2;
    assert_int_equal(bd3_model_n_params(m),
                     2 * V * D + V + 3 * D + L * (3 * D * D + D * D + 2 * D * F + F + D + 2 * D + 6 * D));
    assert_true(bd3_model_file_size(m) > 4 * bd3_model_n_params(m));
    bd3_model_free(m);
}

static void test_tokenizer_wrappers_round_trip(void **state)
{
    (void)state;
    bd3_model *m = fx_load("tiny_f32.gguf");
    int32_t *ids = NULL;
    size_t n = 0;
    const char text[] = "the heat<|endoftext|> ok";
    assert_int_equal(bd3_tokenize(m, text, strlen(text), &ids, &n), BD3_OK);
    assert_true(n > 0 && n < strlen(text));
    int saw_eos = 0;
    for (size_t i = 0; i < n; i++) saw_eos |= ids[i] == 298;
    assert_true(saw_eos);
    char *back = NULL;
    size_t len = 0;
    assert_int_equal(bd3_detokenize(m, ids, n, &back, &len), BD3_OK);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(back, text, len);
    size_t k = 0;
    assert_null(bd3_token_bytes(m, 299, &k));
    assert_null(bd3_token_bytes(m, 300, &k));
    assert_non_null(bd3_token_bytes(m, 'a' - 0, &k));
    free(back);
    free(ids);
    bd3_model_free(m);
}

static void test_forward_rejects_bad_arguments(void **state)
{
    (void)state;
    bd3_model *m = fx_load("tiny_f32.gguf");
    bd3_ctx *c = NULL;
    assert_int_equal(bd3_ctx_new(m, 1, &c), BD3_OK);
    int32_t ids[65] = {0};
    float *logits = malloc(65 * 300 * sizeof(float));
    assert_int_equal(bd3_forward(c, ids, 0, 0, logits), BD3_E_ARG);
    assert_int_equal(bd3_forward(c, ids, 65, 0, logits), BD3_E_ARG);
    assert_int_equal(bd3_forward(c, ids, 4, -1, logits), BD3_E_ARG);
    ids[2] = 300;
    assert_int_equal(bd3_forward(c, ids, 4, 0, logits), BD3_E_ARG);
    ids[2] = -1;
    assert_int_equal(bd3_cache_commit(c, ids, 4), BD3_E_ARG);
    assert_int_equal(bd3_cache_len(c), 0);
    ids[2] = 0;
    for (int i = 0; i < 7; i++) assert_int_equal(bd3_cache_commit(c, ids, 8), BD3_OK);
    assert_int_equal(bd3_cache_len(c), 56);
    assert_int_equal(bd3_cache_forward(c, ids, 9, logits), BD3_E_ARG); /* 56 + 9 > n_ctx */
    assert_int_equal(bd3_cache_forward(c, ids, 8, logits), BD3_OK);
    free(logits);
    bd3_ctx_free(c);
    bd3_model_free(m);
}

static void test_cache_forward_leaves_cache_unchanged(void **state)
{
    (void)state;
    bd3_model *m = fx_load("slide_f32.gguf");
    bd3_ctx *c = NULL;
    assert_int_equal(bd3_ctx_new(m, 1, &c), BD3_OK);
    int32_t ids[8];
    for (int i = 0; i < 8; i++) ids[i] = 3 * i + 1;
    float *a = malloc(8 * 300 * sizeof(float)), *b = malloc(8 * 300 * sizeof(float));
    for (int k = 0; k < 5; k++) assert_int_equal(bd3_cache_commit(c, ids, 8), BD3_OK);
    assert_int_equal(bd3_cache_len(c), 24); /* n_ctx 32 - block 8 */
    assert_int_equal(bd3_cache_forward(c, ids, 8, a), BD3_OK);
    int32_t other[8] = {299, 299, 5, 6, 299, 7, 8, 9};
    assert_int_equal(bd3_cache_forward(c, other, 8, b), BD3_OK);
    assert_int_equal(bd3_cache_forward(c, ids, 8, b), BD3_OK);
    assert_int_equal(bd3_cache_len(c), 24);
    assert_memory_equal(a, b, 8 * 300 * sizeof(float));
    bd3_cache_clear(c);
    assert_int_equal(bd3_cache_len(c), 0);
    free(a);
    free(b);
    bd3_ctx_free(c);
    bd3_model_free(m);
}

static void test_forward_block_len_of_window_equals_global(void **state)
{
    (void)state;
    bd3_model *m = fx_load("tiny_f32.gguf");
    bd3_ctx *c = NULL;
    assert_int_equal(bd3_ctx_new(m, 2, &c), BD3_OK);
    int32_t ids[40];
    for (int i = 0; i < 40; i++) ids[i] = (i * 37) % 300;
    float *a = malloc(40 * 300 * sizeof(float)), *b = malloc(40 * 300 * sizeof(float));
    assert_int_equal(bd3_forward(c, ids, 40, BD3_GLOBAL, a), BD3_OK);
    assert_int_equal(bd3_forward(c, ids, 40, 40, b), BD3_OK);
    assert_memory_equal(a, b, 40 * 300 * sizeof(float));
    assert_int_equal(bd3_forward(c, ids, 40, 8, b), BD3_OK);
    assert_memory_not_equal(a, b, 40 * 300 * sizeof(float));
    free(a);
    free(b);
    bd3_ctx_free(c);
    bd3_model_free(m);
}

/* The int8 and bf16 contexts run the position-wise work (norms, products, MLP, output layer) in
 * chunks of rows: any chunking gives exactly the logits of all rows at once, for window passes
 * (global and block-causal, whole and odd lengths), KV-cache calls and a window-cache infill. */
static void test_row_chunks_give_identical_logits(void **state)
{
    (void)state;
    /* wide: int8 attention too */
    const char *models[3] = {"tiny_q8_0.gguf", "wide_q8_0.gguf", "tiny_bf16.gguf"};
    const bd3_compute modes[3] = {BD3_COMPUTE_Q8, BD3_COMPUTE_Q8, BD3_COMPUTE_BF16};
    for (int mi = 0; mi < 3; mi++) {
        bd3_model *m = fx_load_compute(models[mi], modes[mi]);
        const bd3_hparams *hp = bd3_model_hparams(m);
        const int N = hp->n_ctx, V = hp->n_vocab;
        bd3_ctx *whole = NULL, *chunked = NULL;
        assert_int_equal(bd3_ctx_new(m, 2, &whole), BD3_OK);
        assert_int_equal(bd3_ctx_new(m, 2, &chunked), BD3_OK);
        assert_int_equal(whole->row_chunk, N); /* n_ctx <= FORWARD_ROW_CHUNK: one chunk */
        int32_t *ids = malloc((size_t)N * sizeof *ids), ids2[128], ids3[128];
        float *a = malloc((size_t)N * V * sizeof *a), *b = malloc((size_t)N * V * sizeof *b);
        float conf2[128] = {0}, conf3[128] = {0};
        for (int i = 0; i < N; i++) ids[i] = (i * 37 + 11) % (V - 1);
        const int chunks[3] = {16, 24, 40}; /* 40 over 64 rows: two chunks of 32 */
        for (int k = 0; k < 3; k++) {
            chunked->row_chunk = chunks[k];
            const int lens[2] = {N, 37};
            for (int t = 0; t < 2; t++)
                for (int bl = 0; bl < 2; bl++) {
                    int block = bl ? 8 : BD3_GLOBAL;
                    assert_int_equal(bd3_forward(whole, ids, lens[t], block, a), BD3_OK);
                    assert_int_equal(bd3_forward(chunked, ids, lens[t], block, b), BD3_OK);
                    assert_memory_equal(a, b, (size_t)lens[t] * V * sizeof *a);
                }
            /* KV cache: a commit of 24 rows, then a call of 24 rows against it */
            bd3_cache_clear(whole);
            bd3_cache_clear(chunked);
            assert_int_equal(bd3_cache_commit(whole, ids, 24), BD3_OK);
            assert_int_equal(bd3_cache_commit(chunked, ids, 24), BD3_OK);
            assert_int_equal(bd3_cache_forward(whole, ids + 24, 24, a), BD3_OK);
            assert_int_equal(bd3_cache_forward(chunked, ids + 24, 24, b), BD3_OK);
            assert_memory_equal(a, b, (size_t)24 * V * sizeof *a);
            /* a window-cache infill of 20 masks in a window of n_ctx */
            bd3_sampler_params sp;
            bd3_sampler_params_init(&sp);
            sp.seed = 5;
            sp.refresh = 4;
            const int n = N < 128 ? N : 128;
            memcpy(ids2, ids, (size_t)n * sizeof *ids2);
            for (int i = 0; i < 20; i++) ids2[10 + i] = hp->mask_id;
            memcpy(ids3, ids2, sizeof ids3);
            assert_int_equal(bd3_infill(whole, &sp, ids2, conf2, n, NULL, NULL), BD3_OK);
            assert_int_equal(bd3_infill(chunked, &sp, ids3, conf3, n, NULL, NULL), BD3_OK);
            assert_memory_equal(ids2, ids3, (size_t)n * sizeof *ids2);
            assert_memory_equal(conf2, conf3, (size_t)n * sizeof *conf2);
        }
        free(ids);
        free(a);
        free(b);
        bd3_ctx_free(whole);
        bd3_ctx_free(chunked);
        bd3_model_free(m);
    }
}

/* The pool splits row-wise loops and products by its thread count (a call of a few rows into one
 * part per thread): logits and draws are bit-identical for every thread count, for window passes
 * of many and few rows, KV-cache calls, and window-cache steps over a span (int8, packed int8
 * attention on the wide model, bf16). */
static void test_thread_counts_give_identical_logits(void **state)
{
    (void)state;
    const char *models[3] = {"tiny_q8_0.gguf", "wide_q8_0.gguf", "tiny_bf16.gguf"};
    const bd3_compute modes[3] = {BD3_COMPUTE_Q8, BD3_COMPUTE_Q8, BD3_COMPUTE_BF16};
    for (int mi = 0; mi < 3; mi++) {
        bd3_model *m = fx_load_compute(models[mi], modes[mi]);
        const bd3_hparams *hp = bd3_model_hparams(m);
        const int N = hp->n_ctx, V = hp->n_vocab;
        bd3_ctx *one = NULL;
        assert_int_equal(bd3_ctx_new(m, 1, &one), BD3_OK);
        int32_t *ids = malloc((size_t)N * sizeof *ids), ids2[128], ids3[128];
        float *a = malloc((size_t)N * V * sizeof *a), *b = malloc((size_t)N * V * sizeof *b);
        float conf2[128] = {0}, conf3[128] = {0};
        assert_non_null(ids);
        assert_non_null(a);
        assert_non_null(b);
        for (int i = 0; i < N; i++) ids[i] = (i * 53 + 7) % (V - 1);
        for (int threads = 2; threads <= 3; threads++) {
            bd3_ctx *many = NULL;
            assert_int_equal(bd3_ctx_new(m, threads, &many), BD3_OK);
            assert_int_equal(bd3_ctx_threads(many), threads);
            const int lens[5] = {1, 5, 32, 37, N};
            for (int t = 0; t < 5; t++)
                for (int bl = 0; bl < 2; bl++) {
                    int block = bl ? 8 : BD3_GLOBAL;
                    assert_int_equal(bd3_forward(one, ids, lens[t], block, a), BD3_OK);
                    assert_int_equal(bd3_forward(many, ids, lens[t], block, b), BD3_OK);
                    assert_memory_equal(a, b, (size_t)lens[t] * V * sizeof *a);
                }
            /* KV cache: a commit of 24 rows, then calls of 3 and 8 rows against it */
            bd3_cache_clear(one);
            bd3_cache_clear(many);
            assert_int_equal(bd3_cache_commit(one, ids, 24), BD3_OK);
            assert_int_equal(bd3_cache_commit(many, ids, 24), BD3_OK);
            for (int k = 3; k <= 8; k += 5) {
                assert_int_equal(bd3_cache_forward(one, ids + 24, k, a), BD3_OK);
                assert_int_equal(bd3_cache_forward(many, ids + 24, k, b), BD3_OK);
                assert_memory_equal(a, b, (size_t)k * V * sizeof *a);
            }
            /* window-cache infills of 20 masks: a refresh every 4 calls, and one full pass then
               span-only steps */
            for (int r = 4; r <= 32; r += 28) {
                bd3_sampler_params sp;
                bd3_sampler_params_init(&sp);
                sp.seed = 9;
                sp.refresh = r;
                const int n = N < 128 ? N : 128;
                memcpy(ids2, ids, (size_t)n * sizeof *ids2);
                for (int i = 0; i < 20; i++) ids2[30 + i] = hp->mask_id;
                memcpy(ids3, ids2, sizeof ids3);
                assert_int_equal(bd3_infill(one, &sp, ids2, conf2, n, NULL, NULL), BD3_OK);
                assert_int_equal(bd3_infill(many, &sp, ids3, conf3, n, NULL, NULL), BD3_OK);
                assert_memory_equal(ids2, ids3, (size_t)n * sizeof *ids2);
                assert_memory_equal(conf2, conf3, (size_t)n * sizeof *conf2);
            }
            bd3_ctx_free(many);
        }
        free(ids);
        free(a);
        free(b);
        bd3_ctx_free(one);
        bd3_model_free(m);
    }
}

static void test_bench_counts_the_flops_of_the_products(void **state)
{
    (void)state;
    bd3_model *m = fx_load("tiny_f32.gguf");
    bd3_ctx *c = NULL;
    assert_int_equal(bd3_ctx_new(m, 2, &c), BD3_OK);
    bd3_bench_result r;
    assert_int_equal(bd3_bench_forward(c, 1, &r), BD3_OK);
    double n = 64, D = 64, F = 256, V = 300, L = 2;
    double want =
        L * (2 * n * D * 3 * D + 2 * n * D * D + 2 * 2 * n * D * F + 2 * 2 * n * n * D) + 2 * n * D * V;
    assert_true(r.flop == want);
    assert_true(r.forward_s > 0 && r.sgemm_s > 0 && r.forward_gflops > 0 && r.sgemm_gflops > 0);
    assert_true(fabs(r.ratio - r.sgemm_s / r.forward_s) < 1e-9 * r.ratio);
    assert_int_equal(bd3_bench_forward(NULL, 1, &r), BD3_E_ARG);
    bd3_ctx_free(c);
    bd3_model_free(m);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "test_forward: no fixture folder given (tests/test_forward.sh runs this)\n");
        return 77;
    }
    fixture_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_global_matches_reference),
        cmocka_unit_test(test_forward_block_causal_matches_reference),
        cmocka_unit_test(test_cache_stream_matches_reference),
        cmocka_unit_test(test_cache_slides_past_n_ctx_like_reference),
        cmocka_unit_test(test_forward_f16_weights_match_reference),
        cmocka_unit_test(test_forward_bf16_weights_match_reference),
        cmocka_unit_test(test_forward_bf16_products_within_derived_tolerance),
        cmocka_unit_test(test_forward_bf16_same_bits_on_every_variant),
        cmocka_unit_test(test_forward_q8_0_weights_match_reference),
        cmocka_unit_test(test_forward_int8_products_within_derived_tolerance),
        cmocka_unit_test(test_q4_0_bad_scale_is_refused),
        cmocka_unit_test(test_compute_auto_follows_the_file),
        cmocka_unit_test(test_model_metadata_is_read),
        cmocka_unit_test(test_tokenizer_wrappers_round_trip),
        cmocka_unit_test(test_forward_rejects_bad_arguments),
        cmocka_unit_test(test_cache_forward_leaves_cache_unchanged),
        cmocka_unit_test(test_forward_block_len_of_window_equals_global),
        cmocka_unit_test(test_row_chunks_give_identical_logits),
        cmocka_unit_test(test_thread_counts_give_identical_logits),
        cmocka_unit_test(test_bench_counts_the_flops_of_the_products),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
