/* test_prenorm.c: the pre-norm backbone of model/QWEN.md (model.c loader, forward.c layers,
 * kvcache.c logit shift) on tiny models built in memory: metadata and tensor checks, the logit
 * shift, and KV-cache passes against plain block-causal passes. The float64 parity with the
 * published modeling code is tests/test_qwen_convert.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "forward.h"
#include "gguf_build.h"

#define PN_V   16 /* vocabulary: the letters a..o and the mask */
#define PN_D   8  /* hidden size */
#define PN_H   2  /* query heads */
#define PN_HD  8  /* head size: H * hd = 16 != D */
#define PN_F   12 /* MLP width */
#define PN_L   2  /* layers */
#define PN_CTX 32 /* context */
#define PN_B   4  /* block length */

typedef struct pn_opts {
    int shift;            /* bd3lm.diffusion.logit_shift */
    int kv_heads;         /* head_count_kv (1 or 2) */
    int bias;             /* q/k/v biases in every layer */
    int qk_norm;          /* per-head q/k norms */
    int tied;             /* no output.weight */
    int bias_layer1;      /* defect: biases in layer 1 only */
    const char *backbone; /* bd3lm.backbone */
    int sub_block;        /* bd3lm.diffusion.sub_block_length; 0: absent */
    int n_control;        /* ids 0 .. n_control-1 get token type 3 (control); 0: no token types */
} pn_opts;

static uint32_t pn_seed;

static float pn_rand(void)
{
    pn_seed = pn_seed * 1664525u + 1013904223u;
    return ((float)(pn_seed >> 8) / 16777216.0f - 0.5f);
}

static void pn_tensor(gb_file *f, const char *name, uint64_t ne0, uint64_t ne1, float scale, float base)
{
    size_t n = (size_t)(ne0 * ne1);
    float *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++) w[i] = base + scale * pn_rand();
    uint64_t ne[2] = {ne0, ne1};
    gb_tensor(f, name, ne1 == 1 ? 1 : 2, ne, 0, w, n * sizeof *w);
    free(w);
}

/* Writes a tiny pre-norm model to path (the weights depend only on the seed 7). */
static void pn_write(const char *path, const pn_opts *o)
{
    gb_file f;
    gb_init(&f);
    pn_seed = 7;
    const char *toks[PN_V] = {"a", "b", "c", "d", "e", "f", "g", "h",
                              "i", "j", "k", "l", "m", "n", "o", "<|MASK|>"};
    const uint32_t bl[1] = {PN_B};
    int K = o->kv_heads * PN_HD;
    gb_kv_str(&f, "general.architecture", "bd3lm");
    gb_kv_str(&f, "bd3lm.backbone", o->backbone ? o->backbone : "prenorm");
    gb_kv_u32(&f, "bd3lm.context_length", PN_CTX);
    gb_kv_u32(&f, "bd3lm.embedding_length", PN_D);
    gb_kv_u32(&f, "bd3lm.feed_forward_length", PN_F);
    gb_kv_u32(&f, "bd3lm.block_count", PN_L);
    gb_kv_u32(&f, "bd3lm.attention.head_count", PN_H);
    gb_kv_u32(&f, "bd3lm.attention.head_count_kv", (uint32_t)o->kv_heads);
    gb_kv_u32(&f, "bd3lm.attention.key_length", PN_HD);
    gb_kv_f32(&f, "bd3lm.attention.layer_norm_rms_epsilon", 1e-6f);
    gb_kv_f32(&f, "bd3lm.rope.freq_base", 1000000.0f);
    gb_kv_arr_u32(&f, "bd3lm.diffusion.block_lengths", bl, 1);
    gb_kv_u32(&f, "bd3lm.diffusion.mask_token_id", PN_V - 1);
    gb_kv_u32(&f, "bd3lm.diffusion.logit_shift", (uint32_t)o->shift);
    if (o->sub_block) gb_kv_u32(&f, "bd3lm.diffusion.sub_block_length", (uint32_t)o->sub_block);
    gb_kv_str(&f, "tokenizer.ggml.model", "gpt2");
    gb_kv_str(&f, "tokenizer.ggml.pre", "qwen2");
    gb_kv_arr_str(&f, "tokenizer.ggml.tokens", toks, PN_V);
    if (o->n_control) { /* tokenizer.ggml.token_type: an array of int32 */
        gb_str(&f.kv, "tokenizer.ggml.token_type");
        gb_u32(&f.kv, 9);
        gb_u32(&f.kv, 5);
        gb_u64(&f.kv, PN_V);
        for (int i = 0; i < PN_V; i++) gb_u32(&f.kv, i < o->n_control || i == PN_V - 1 ? 3u : 1u);
        f.n_kv++;
    }
    pn_tensor(&f, "token_embd.weight", PN_D, PN_V, 2.0f, 0.0f);
    char name[64];
    for (int l = 0; l < PN_L; l++) {
#define PN_T(suffix, ne0, ne1, scale, base)                                                                  \
    do {                                                                                                     \
        snprintf(name, sizeof name, "blk.%d." suffix, l);                                                    \
        pn_tensor(&f, name, ne0, ne1, scale, base);                                                          \
    } while (0)
        PN_T("attn_norm.weight", PN_D, 1, 0.4f, 1.0f);
        PN_T("attn_q.weight", PN_D, PN_H * PN_HD, 0.8f, 0.0f);
        PN_T("attn_k.weight", PN_D, K, 0.8f, 0.0f);
        PN_T("attn_v.weight", PN_D, K, 0.8f, 0.0f);
        if (o->bias || (o->bias_layer1 && l == 1)) {
            PN_T("attn_q.bias", PN_H * PN_HD, 1, 0.5f, 0.0f);
            PN_T("attn_k.bias", K, 1, 0.5f, 0.0f);
            PN_T("attn_v.bias", K, 1, 0.5f, 0.0f);
        }
        if (o->qk_norm) {
            PN_T("attn_q_norm.weight", PN_HD, 1, 0.4f, 1.0f);
            PN_T("attn_k_norm.weight", PN_HD, 1, 0.4f, 1.0f);
        }
        PN_T("attn_output.weight", PN_H * PN_HD, PN_D, 0.6f, 0.0f);
        PN_T("ffn_norm.weight", PN_D, 1, 0.4f, 1.0f);
        PN_T("ffn_gate.weight", PN_D, PN_F, 0.8f, 0.0f);
        PN_T("ffn_up.weight", PN_D, PN_F, 0.8f, 0.0f);
        PN_T("ffn_down.weight", PN_F, PN_D, 0.6f, 0.0f);
#undef PN_T
    }
    pn_tensor(&f, "output_norm.weight", PN_D, 1, 0.4f, 1.0f);
    if (!o->tied) pn_tensor(&f, "output.weight", PN_D, PN_V, 1.0f, 0.0f);
    uint8_t *buf;
    size_t size;
    gb_finish(&f, &buf, &size);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, size, fp), size);
    fclose(fp);
    free(buf);
    gb_release(&f);
}

static bd3_status pn_load(const pn_opts *o, bd3_model **m, char *err, size_t err_size)
{
    char path[] = "/tmp/bd3-prenorm-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    pn_write(path, o);
    bd3_status st = bd3_model_load(path, m, err, err_size);
    unlink(path);
    return st;
}

static void pn_opts_init(pn_opts *o)
{
    memset(o, 0, sizeof *o);
    o->kv_heads = 1;
    o->bias = 1;
    o->qk_norm = 1;
}

static double pn_max_rel(const float *a, const float *b, size_t n)
{
    double d = 0.0, mx = 1e-30;
    for (size_t i = 0; i < n; i++) {
        if (fabs((double)a[i] - b[i]) > d) d = fabs((double)a[i] - b[i]);
        if (fabs((double)b[i]) > mx) mx = fabs((double)b[i]);
    }
    return d / mx;
}

static void test_prenorm_loads_grouped_heads_and_tied_output(void **state)
{
    (void)state;
    pn_opts o;
    pn_opts_init(&o);
    o.tied = 1;
    bd3_model *m = NULL;
    char err[256];
    assert_int_equal(pn_load(&o, &m, err, sizeof err), BD3_OK);
    const bd3_hparams *hp = bd3_model_hparams(m);
    assert_int_equal(hp->prenorm, 1);
    assert_int_equal(hp->n_head_kv, 1);
    assert_int_equal(hp->head_dim, PN_HD);
    assert_int_equal(hp->logit_shift, 0);
    assert_true(fabsf(hp->norm_eps - 1e-6f) < 1e-12f);
    assert_ptr_equal(m->w_out.f32, m->tok_embd);
    assert_non_null(m->layers[1].bq);
    assert_non_null(m->layers[1].k_norm);
    /* the qwen2 rules: a writer's "<|MASK|>" is text, letters are letters */
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(bd3_tokenize(m, "abc", 3, &ids, &n), BD3_OK);
    assert_int_equal(n, 3);
    free(ids);
    bd3_model_free(m);
}

static void test_prenorm_rejects_partial_biases_and_bad_heads(void **state)
{
    (void)state;
    pn_opts o;
    pn_opts_init(&o);
    o.bias = 0;
    o.bias_layer1 = 1;
    bd3_model *m = NULL;
    char err[256];
    assert_int_equal(pn_load(&o, &m, err, sizeof err), BD3_E_FORMAT);
    assert_null(m);
    assert_non_null(strstr(err, "blk.1.attn_q.bias"));
    pn_opts_init(&o);
    o.kv_heads = 3; /* 2 query heads cannot share 3 kv heads */
    assert_int_not_equal(pn_load(&o, &m, err, sizeof err), BD3_OK);
    assert_non_null(strstr(err, "head_count_kv"));
    pn_opts_init(&o);
    o.backbone = "mamba";
    assert_int_equal(pn_load(&o, &m, err, sizeof err), BD3_E_UNSUPPORTED);
    assert_non_null(strstr(err, "mamba"));
}

static void test_prenorm_logit_shift_reads_the_row_before(void **state)
{
    (void)state;
    pn_opts o;
    pn_opts_init(&o);
    bd3_model *m0 = NULL, *m1 = NULL;
    assert_int_equal(pn_load(&o, &m0, NULL, 0), BD3_OK);
    o.shift = 1;
    assert_int_equal(pn_load(&o, &m1, NULL, 0), BD3_OK);
    bd3_ctx *c0 = NULL, *c1 = NULL;
    assert_int_equal(bd3_ctx_new(m0, 1, &c0), BD3_OK);
    assert_int_equal(bd3_ctx_new(m1, 1, &c1), BD3_OK);
    const int32_t ids[8] = {1, 2, 15, 4, 5, 15, 15, 8};
    float a[8 * PN_V], b[8 * PN_V];
    assert_int_equal(bd3_forward(c0, ids, 8, 0, a), BD3_OK);
    assert_int_equal(bd3_forward(c1, ids, 8, 0, b), BD3_OK);
    assert_memory_equal(b, a, PN_V * sizeof(float)); /* row 0: its own */
    for (int i = 1; i < 8; i++) assert_memory_equal(b + i * PN_V, a + (i - 1) * PN_V, PN_V * sizeof(float));
    /* rows asked for one by one see the same shift */
    const int rows[2] = {0, 5};
    float r[2 * PN_V];
    assert_int_equal(bd3_forward_rows(c1, ids, 8, 0, rows, 2, r), BD3_OK);
    assert_memory_equal(r, b, PN_V * sizeof(float));
    assert_memory_equal(r + PN_V, b + 5 * PN_V, PN_V * sizeof(float));
    bd3_ctx_free(c0);
    bd3_ctx_free(c1);
    bd3_model_free(m0);
    bd3_model_free(m1);
}

/* Commits blocks of ids[0..nb*B) and compares the cached pass over the next block with rows of
 * a plain block-causal pass over all of them. */
static void pn_check_cache(bd3_ctx *c, const int32_t *ids, int nb)
{
    int n = (nb + 1) * PN_B;
    float *full = malloc((size_t)n * PN_V * sizeof *full), got[PN_B * PN_V];
    assert_int_equal(bd3_forward(c, ids, n, PN_B, full), BD3_OK);
    assert_int_equal(bd3_cache_forward(c, ids + nb * PN_B, PN_B, got), BD3_OK);
    double e = pn_max_rel(got, full + (size_t)nb * PN_B * PN_V, (size_t)PN_B * PN_V);
    if (e > 1e-5) fail_msg("cached block differs from the block-causal pass: %g", e);
    free(full);
}

static void test_prenorm_cache_matches_block_causal_passes(void **state)
{
    (void)state;
    for (int shift = 0; shift <= 1; shift++) {
        pn_opts o;
        pn_opts_init(&o);
        o.shift = shift;
        o.kv_heads = 2 - shift; /* grouped and not */
        o.qk_norm = shift;
        bd3_model *m = NULL;
        assert_int_equal(pn_load(&o, &m, NULL, 0), BD3_OK);
        bd3_ctx *c = NULL;
        assert_int_equal(bd3_ctx_new(m, 2, &c), BD3_OK);
        int32_t ids[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 14, 15, 15};
        bd3_cache_clear(c);
        for (int b = 0; b < 3; b++) assert_int_equal(bd3_cache_commit(c, ids + b * PN_B, PN_B), BD3_OK);
        pn_check_cache(c, ids, 3);
        /* the cache cut back to two blocks (another prompt shares them): with a shift, the last
           kept row's output is recomputed for the next block's first position */
        int32_t other[12] = {1, 2, 3, 4, 5, 6, 7, 8, 3, 3, 3, 3};
        assert_int_equal(kvcache_reuse(c, other, 12, PN_B), 8);
        int32_t next[12] = {1, 2, 3, 4, 5, 6, 7, 8, 15, 2, 15, 15};
        pn_check_cache(c, next, 2);
        /* and the cache itself is unchanged by that: a second call gives the same */
        pn_check_cache(c, next, 2);
        bd3_ctx_free(c);
        bd3_model_free(m);
    }
}

/* The pre-norm layers in chunks of rows (norms, q/k/v, output projection, SwiGLU MLP, output
 * layer; the attention output in place of the queries) give exactly the logits of all rows at
 * once: global and block-causal passes over whole and odd lengths, and KV-cache calls. */
static void test_prenorm_row_chunks_give_identical_logits(void **state)
{
    (void)state;
    pn_opts o;
    pn_opts_init(&o);
    o.kv_heads = 1;
    o.bias = 1;
    o.qk_norm = 1;
    bd3_model *m = NULL;
    assert_int_equal(pn_load(&o, &m, NULL, 0), BD3_OK);
    bd3_ctx *whole = NULL, *chunked = NULL;
    assert_int_equal(bd3_ctx_new(m, 2, &whole), BD3_OK);
    assert_int_equal(bd3_ctx_new(m, 2, &chunked), BD3_OK);
    int32_t ids[PN_CTX];
    for (int i = 0; i < PN_CTX; i++) ids[i] = (i * 7 + 3) % (PN_V - 1);
    float a[PN_CTX * PN_V], b[PN_CTX * PN_V];
    const int chunks[2] = {4, 12};
    for (int k = 0; k < 2; k++) {
        chunked->row_chunk = chunks[k];
        const int lens[2] = {PN_CTX, 13};
        for (int t = 0; t < 2; t++)
            for (int block = 0; block <= PN_B; block += PN_B) {
                assert_int_equal(bd3_forward(whole, ids, lens[t], block, a), BD3_OK);
                assert_int_equal(bd3_forward(chunked, ids, lens[t], block, b), BD3_OK);
                assert_memory_equal(a, b, (size_t)lens[t] * PN_V * sizeof *a);
            }
        bd3_cache_clear(whole);
        bd3_cache_clear(chunked);
        assert_int_equal(bd3_cache_commit(whole, ids, 8), BD3_OK);
        assert_int_equal(bd3_cache_commit(chunked, ids, 8), BD3_OK);
        assert_int_equal(bd3_cache_forward(whole, ids + 8, 8, a), BD3_OK);
        assert_int_equal(bd3_cache_forward(chunked, ids + 8, 8, b), BD3_OK);
        assert_memory_equal(a, b, (size_t)8 * PN_V * sizeof *a);
    }
    bd3_ctx_free(whole);
    bd3_ctx_free(chunked);
    bd3_model_free(m);
}

/* Progress of a continuation: the block canvas after every model call. */
typedef struct pn_watch {
    int calls;      /* callbacks seen with a block canvas */
    int violations; /* callbacks where a later sub-block had a token before an earlier one was done */
    int mask_id;    /* the mask */
} pn_watch;

static int pn_watch_cb(void *user, const bd3_progress *p)
{
    pn_watch *w = user;
    if (p->n_canvas != PN_B) return 0;
    w->calls++;
    /* sub-blocks of 2: position 2 or 3 may hold a token only once 0 and 1 do (the prompt fills
       none of this block here) */
    int first_done = p->ids[0] != w->mask_id && p->ids[1] != w->mask_id;
    int second_any = p->ids[2] != w->mask_id || p->ids[3] != w->mask_id;
    if (second_any && !first_done) w->violations++;
    return 0;
}

static void test_prenorm_sub_blocks_are_denoised_left_to_right(void **state)
{
    (void)state;
    for (int sub = 0; sub <= 2; sub += 2) {
        pn_opts o;
        pn_opts_init(&o);
        o.shift = 1;
        o.sub_block = sub;
        bd3_model *m = NULL;
        assert_int_equal(pn_load(&o, &m, NULL, 0), BD3_OK);
        assert_int_equal(bd3_model_hparams(m)->sub_block, sub);
        bd3_ctx *c = NULL;
        assert_int_equal(bd3_ctx_new(m, 1, &c), BD3_OK);
        bd3_sampler_params p;
        bd3_sampler_params_init(&p);
        p.kind = BD3_SAMPLE_CONFIDENCE; /* one position per call, the most confident anywhere */
        p.seed = 3;
        const int32_t prompt[4] = {1, 2, 3, 4};
        int32_t out[16], out2[16];
        int n_out = 0, n_out2 = 0;
        bd3_stop why;
        pn_watch w = {.mask_id = PN_V - 1};
        assert_int_equal(bd3_continue(c, &p, PN_B, prompt, 4, 16, out, NULL, &n_out, &why, pn_watch_cb, &w),
                         BD3_OK);
        assert_true(w.calls >= 8);
        if (sub) assert_int_equal(w.violations, 0);
        /* the uncached path decodes the same way and gives the same tokens */
        assert_int_equal(
            bd3_continue_nocache(c, &p, PN_B, prompt, 4, 16, out2, NULL, &n_out2, &why, NULL, NULL), BD3_OK);
        assert_int_equal(n_out, n_out2);
        assert_memory_equal(out, out2, (size_t)n_out * sizeof *out);
        bd3_ctx_free(c);
        bd3_model_free(m);
        if (!sub) assert_true(w.violations > 0); /* without sub-blocks the order is free */
    }
}

static void test_prenorm_never_draws_control_tokens(void **state)
{
    (void)state;
    pn_opts o;
    pn_opts_init(&o);
    o.n_control = 10; /* only ids 10..14 are text */
    bd3_model *m = NULL;
    assert_int_equal(pn_load(&o, &m, NULL, 0), BD3_OK);
    bd3_ctx *c = NULL;
    assert_int_equal(bd3_ctx_new(m, 1, &c), BD3_OK);
    bd3_sampler_params p;
    bd3_sampler_params_init(&p);
    p.seed = 5;
    const int32_t prompt[4] = {10, 11, 12, 13};
    int32_t out[24], win[16];
    int n_out = 0;
    bd3_stop why;
    assert_int_equal(bd3_continue(c, &p, PN_B, prompt, 4, 24, out, NULL, &n_out, &why, NULL, NULL), BD3_OK);
    assert_int_equal(n_out, 24);
    for (int i = 0; i < n_out; i++) assert_true(out[i] >= 10 && out[i] < PN_V - 1);
    for (int i = 0; i < 16; i++) win[i] = i % 3 ? PN_V - 1 : 10 + i % 5;
    assert_int_equal(bd3_infill(c, &p, win, NULL, 16, NULL, NULL), BD3_OK);
    for (int i = 0; i < 16; i++) assert_true(win[i] >= 10 && win[i] < PN_V - 1);
    bd3_ctx_free(c);
    bd3_model_free(m);
    /* the same model without token types draws them (the test above can fail) */
    o.n_control = 0;
    assert_int_equal(pn_load(&o, &m, NULL, 0), BD3_OK);
    assert_int_equal(bd3_ctx_new(m, 1, &c), BD3_OK);
    assert_int_equal(bd3_continue(c, &p, PN_B, prompt, 4, 24, out, NULL, &n_out, &why, NULL, NULL), BD3_OK);
    int low = 0;
    for (int i = 0; i < n_out; i++) low += out[i] < 10;
    assert_true(low > 0);
    bd3_ctx_free(c);
    bd3_model_free(m);
}

int main(void)
{
    (void)gb_model; /* the DiT fixture of gguf_build.h is not used here */
    (void)gb_model_opts_init;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prenorm_loads_grouped_heads_and_tied_output),
        cmocka_unit_test(test_prenorm_rejects_partial_biases_and_bad_heads),
        cmocka_unit_test(test_prenorm_logit_shift_reads_the_row_before),
        cmocka_unit_test(test_prenorm_cache_matches_block_causal_passes),
        cmocka_unit_test(test_prenorm_row_chunks_give_identical_logits),
        cmocka_unit_test(test_prenorm_sub_blocks_are_denoised_left_to_right),
        cmocka_unit_test(test_prenorm_never_draws_control_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
