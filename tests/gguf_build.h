/* gguf_build.h: builds GGUF v3 files in memory for the loader tests and the fuzz seeds: raw
 * metadata/tensor entries, plus a complete tiny bd3lm model with optional defects.
 * Header-only, for tests. Depends on libc only. */
#ifndef BD3_TEST_GGUF_BUILD_H
#define BD3_TEST_GGUF_BUILD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gb_buf {
    uint8_t *p; /* bytes */
    size_t n;   /* bytes used */
    size_t cap; /* bytes allocated */
} gb_buf;

typedef struct gb_file {
    gb_buf kv;      /* metadata entries */
    uint64_t n_kv;  /* entries in kv */
    gb_buf ti;      /* tensor infos */
    uint64_t n_t;   /* entries in ti */
    gb_buf data;    /* tensor data, each tensor padded to align */
    uint32_t align; /* data alignment, bytes */
} gb_file;

static void gb_bytes(gb_buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void gb_u32(gb_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    gb_bytes(b, x, 4);
}

static void gb_u64(gb_buf *b, uint64_t v)
{
    gb_u32(b, (uint32_t)v);
    gb_u32(b, (uint32_t)(v >> 32));
}

static void gb_str(gb_buf *b, const char *s)
{
    gb_u64(b, strlen(s));
    gb_bytes(b, s, strlen(s));
}

static void gb_init(gb_file *f)
{
    memset(f, 0, sizeof *f);
    f->align = 32;
}

static void gb_release(gb_file *f)
{
    free(f->kv.p);
    free(f->ti.p);
    free(f->data.p);
}

static void gb_kv_u32(gb_file *f, const char *key, uint32_t v)
{
    gb_str(&f->kv, key);
    gb_u32(&f->kv, 4);
    gb_u32(&f->kv, v);
    f->n_kv++;
}

static void gb_kv_f32(gb_file *f, const char *key, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    gb_str(&f->kv, key);
    gb_u32(&f->kv, 6);
    gb_u32(&f->kv, u);
    f->n_kv++;
}

static void gb_kv_str(gb_file *f, const char *key, const char *s)
{
    gb_str(&f->kv, key);
    gb_u32(&f->kv, 8);
    gb_str(&f->kv, s);
    f->n_kv++;
}

static void gb_kv_arr_u32(gb_file *f, const char *key, const uint32_t *v, int n)
{
    gb_str(&f->kv, key);
    gb_u32(&f->kv, 9);
    gb_u32(&f->kv, 4);
    gb_u64(&f->kv, (uint64_t)n);
    for (int i = 0; i < n; i++) gb_u32(&f->kv, v[i]);
    f->n_kv++;
}

static void gb_kv_arr_str(gb_file *f, const char *key, const char *const *s, int n)
{
    gb_str(&f->kv, key);
    gb_u32(&f->kv, 9);
    gb_u32(&f->kv, 8);
    gb_u64(&f->kv, (uint64_t)n);
    for (int i = 0; i < n; i++) gb_str(&f->kv, s[i]);
    f->n_kv++;
}

/* Adds a tensor info and its data (nbytes from src), padded to the alignment. */
static void gb_tensor(gb_file *f, const char *name, int nd, const uint64_t *ne, uint32_t type,
                      const void *src, size_t nbytes)
{
    gb_str(&f->ti, name);
    gb_u32(&f->ti, (uint32_t)nd);
    for (int i = 0; i < nd; i++) gb_u64(&f->ti, ne[i]);
    gb_u32(&f->ti, type);
    gb_u64(&f->ti, f->data.n);
    gb_bytes(&f->data, src, nbytes);
    static const uint8_t zero[64] = {0};
    while (f->data.n % f->align) gb_bytes(&f->data, zero, 1);
    f->n_t++;
}

/* The whole file; caller frees *out. */
static void gb_finish(const gb_file *f, uint8_t **out, size_t *size)
{
    gb_buf b = {0};
    gb_bytes(&b, "GGUF", 4);
    gb_u32(&b, 3);
    gb_u64(&b, f->n_t);
    gb_u64(&b, f->n_kv);
    gb_bytes(&b, f->kv.p, f->kv.n);
    gb_bytes(&b, f->ti.p, f->ti.n);
    static const uint8_t zero[64] = {0};
    while (b.n % f->align) gb_bytes(&b, zero, 1);
    gb_bytes(&b, f->data.p, f->data.n);
    *out = b.p;
    *size = b.n;
}

/* ---- a tiny bd3lm model (V 6, D 4, H 2, F 8, 1 layer, n_ctx 8) ---- */

typedef struct gb_model_opts {
    const char *skip;                        /* tensor to leave out, or NULL */
    const char *bad_shape;                   /* tensor whose ne[0] is one too large, or NULL */
    const char *as_f16;                      /* tensor stored as F16, or NULL */
    const char *as_bf16;                     /* tensor stored as BF16, or NULL */
    const char *arch;                        /* general.architecture ("bd3lm" when NULL) */
    uint32_t mask_id;                        /* bd3lm.diffusion.mask_token_id (5 = "<|mask|>") */
    uint32_t n_head;                         /* head count (2) */
    void (*more_kv)(gb_file *f, void *user); /* adds metadata after the standard keys, or NULL */
    void *more_kv_user;                      /* passed to more_kv */
    const char *bad_value;                   /* tensor whose element 3 is bad_float, or NULL */
    float bad_float;                         /* the value put there (NaN, infinity) */
} gb_model_opts;

static void gb_model_opts_init(gb_model_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mask_id = 5;
    o->n_head = 2;
}

static void gb_model_tensor(gb_file *f, const gb_model_opts *o, const char *name, uint64_t ne0, uint64_t ne1)
{
    if (o->skip && strcmp(o->skip, name) == 0) return;
    uint64_t ne[2] = {ne0, ne1};
    if (o->bad_shape && strcmp(o->bad_shape, name) == 0) ne[0]++;
    size_t n = (size_t)(ne[0] * ne[1]);
    int f16 = o->as_f16 && strcmp(o->as_f16, name) == 0;
    int bf16 = o->as_bf16 && strcmp(o->as_bf16, name) == 0;
    uint8_t *buf = malloc(n * 4);
    if (!buf) abort();
    for (size_t i = 0; i < n; i++) {
        float v = (float)((int)(i % 7) - 3) * 0.125f;
        if (o->bad_value && strcmp(o->bad_value, name) == 0 && i == 3) v = o->bad_float;
        if (f16) {
            uint16_t h = v == 0.0f ? 0 : 0x3000; /* 0.125 */
            memcpy(buf + 2 * i, &h, 2);
        } else if (bf16) { /* the values above are bf16 numbers: the top half of the float is exact */
            uint32_t bits;
            memcpy(&bits, &v, 4);
            uint16_t h = (uint16_t)(bits >> 16);
            memcpy(buf + 2 * i, &h, 2);
        } else
            memcpy(buf + 4 * i, &v, 4);
    }
    gb_tensor(f, name, ne1 == 1 ? 1 : 2, ne, f16 ? 1u : bf16 ? 30u : 0u, buf, n * (f16 || bf16 ? 2 : 4));
    free(buf);
}

static void gb_model(const gb_model_opts *o, uint8_t **out, size_t *size)
{
    gb_file f;
    gb_init(&f);
    const uint64_t V = 6, D = 4, F = 8;
    static const char *const toks[6] = {"a", "b", "c", "ab", "<|endoftext|>", "<|mask|>"};
    static const char *const merges[1] = {"a b"};
    const uint32_t bl[2] = {4, 8};
    gb_kv_str(&f, "general.architecture", o->arch ? o->arch : "bd3lm");
    gb_kv_str(&f, "general.name", "tiny");
    gb_kv_u32(&f, "bd3lm.context_length", 8);
    gb_kv_u32(&f, "bd3lm.embedding_length", (uint32_t)D);
    gb_kv_u32(&f, "bd3lm.feed_forward_length", (uint32_t)F);
    gb_kv_u32(&f, "bd3lm.block_count", 1);
    gb_kv_u32(&f, "bd3lm.attention.head_count", o->n_head);
    gb_kv_f32(&f, "bd3lm.attention.layer_norm_epsilon", 1e-5f);
    gb_kv_f32(&f, "bd3lm.rope.freq_base", 10000.0f);
    gb_kv_arr_u32(&f, "bd3lm.diffusion.block_lengths", bl, 2);
    gb_kv_u32(&f, "bd3lm.diffusion.mask_token_id", o->mask_id);
    gb_kv_str(&f, "tokenizer.ggml.model", "gpt2");
    gb_kv_arr_str(&f, "tokenizer.ggml.tokens", toks, 6);
    gb_kv_arr_str(&f, "tokenizer.ggml.merges", merges, 1);
    gb_kv_u32(&f, "tokenizer.ggml.eos_token_id", 4);
    if (o->more_kv) o->more_kv(&f, o->more_kv_user);
    gb_model_tensor(&f, o, "token_embd.weight", D, V);
    gb_model_tensor(&f, o, "blk.0.attn_norm.weight", D, 1);
    gb_model_tensor(&f, o, "blk.0.attn_qkv.weight", D, 3 * D);
    gb_model_tensor(&f, o, "blk.0.attn_output.weight", D, D);
    gb_model_tensor(&f, o, "blk.0.ffn_norm.weight", D, 1);
    gb_model_tensor(&f, o, "blk.0.ffn_up.weight", D, F);
    gb_model_tensor(&f, o, "blk.0.ffn_up.bias", F, 1);
    gb_model_tensor(&f, o, "blk.0.ffn_down.weight", F, D);
    gb_model_tensor(&f, o, "blk.0.ffn_down.bias", D, 1);
    gb_model_tensor(&f, o, "blk.0.modulation", D, 6);
    gb_model_tensor(&f, o, "output_norm.weight", D, 1);
    gb_model_tensor(&f, o, "output_modulation", D, 2);
    gb_model_tensor(&f, o, "output.weight", D, V);
    gb_model_tensor(&f, o, "output.bias", V, 1);
    gb_finish(&f, out, size);
    gb_release(&f);
}

#endif
