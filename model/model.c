/* model.c: loads a bd3lm GGUF file (spec section 5): hyperparameters, weights (float32 or bfloat16
 * views into the mapping, packed int8 tiles, or converted once), tokenizer; and the public model and
 * tokenizer accessors. Depends on gguf.h, tokenizer.h, quant.h, bf16.h, kernels.h and libc. */
#include "model.h"

#include "bf16.h"
#include "kernels.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BD3_MAX_N_CTX    (1 << 16)
#define BD3_MAX_N_EMBD   (1 << 16)
#define BD3_MAX_N_FF     (1 << 18)
#define BD3_MAX_N_VOCAB  (1 << 24)
#define BD3_MAX_N_LAYER  1024
#define BD3_MAX_N_MERGES (1 << 24)

static void model_err(char *err, size_t err_size, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void model_err(char *err, size_t err_size, const char *path, const char *fmt, ...)
{
    if (!err || !err_size) return;
    int k = snprintf(err, err_size, "%s: ", path);
    if (k < 0 || (size_t)k >= err_size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, err_size - (size_t)k, fmt, ap);
    va_end(ap);
}

/* Reads a required u32 key into *out within [lo, hi]. */
static bd3_status model_u32(const gguf_file *g, const char *key, uint32_t lo, uint32_t hi, int *out,
                            char *err, size_t err_size)
{
    uint32_t v;
    switch (gguf_get_u32(g, key, &v)) {
    case GGUF_MISSING:
        model_err(err, err_size, gguf_name(g), "missing metadata key %s", key);
        return BD3_E_FORMAT;
    case GGUF_WRONG_TYPE:
        model_err(err, err_size, gguf_name(g), "metadata key %s is not an unsigned integer", key);
        return BD3_E_FORMAT;
    case GGUF_FOUND: break;
    }
    if (v < lo || v > hi) {
        model_err(err, err_size, gguf_name(g), "%s = %u is outside %u..%u", key, v, lo, hi);
        return BD3_E_FORMAT;
    }
    *out = (int)v;
    return BD3_OK;
}

/* Reads an optional f32 key (default def when missing). */
static bd3_status model_f32(const gguf_file *g, const char *key, float def, float *out, char *err,
                            size_t err_size)
{
    switch (gguf_get_f32(g, key, out)) {
    case GGUF_MISSING: *out = def; return BD3_OK;
    case GGUF_WRONG_TYPE:
        model_err(err, err_size, gguf_name(g), "metadata key %s is not a float", key);
        return BD3_E_FORMAT;
    case GGUF_FOUND: break;
    }
    if (!(*out > 0.0f) || *out > 1e30f) {
        model_err(err, err_size, gguf_name(g), "%s = %g must be positive and finite", key, (double)*out);
        return BD3_E_FORMAT;
    }
    return BD3_OK;
}

/* Weights must be finite numbers: a NaN or infinity would silently poison every output. */
static bd3_status model_check_finite(const gguf_file *g, const char *name, const float *v, size_t n,
                                     char *err, size_t err_size)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            model_err(err, err_size, gguf_name(g), "tensor %s holds %s at element %zu", name,
                      isnan(v[i]) ? "NaN" : "an infinite value", i);
            return BD3_E_FORMAT;
        }
    return BD3_OK;
}

/* Finds tensor name with ne = [ne0, ne1] (ne1 = 1 for a vector) and one of the types in the
 * bit mask; counts its weights. */
static bd3_status model_find(bd3_model *m, const char *name, uint64_t ne0, uint64_t ne1, unsigned types,
                             const gguf_tensor **out, char *err, size_t err_size)
{
    const gguf_file *g = m->file;
    const gguf_tensor *t = gguf_find_tensor(g, name);
    if (!t) {
        model_err(err, err_size, gguf_name(g), "missing tensor %s", name);
        return BD3_E_FORMAT;
    }
    int extra = 0;
    for (int d = 2; d < GGUF_MAX_DIMS; d++) extra |= t->ne[d] != 1;
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || extra) {
        model_err(err, err_size, gguf_name(g),
                  "tensor %s has shape [%llu, %llu, %llu, %llu], the metadata implies [%llu, %llu]", name,
                  (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], (unsigned long long)t->ne[2],
                  (unsigned long long)t->ne[3], (unsigned long long)ne0, (unsigned long long)ne1);
        return BD3_E_FORMAT;
    }
    if (t->type >= 32 || !(types & (1u << t->type))) {
        model_err(err, err_size, gguf_name(g), "tensor %s has type %s, not allowed for it", name,
                  gguf_tensor_type_name(t->type));
        return BD3_E_FORMAT;
    }
    if (t->type == GGUF_TENSOR_Q8_0 || t->type == GGUF_TENSOR_Q4_0) { /* kept packed: finite scales */
        size_t bb = t->type == GGUF_TENSOR_Q8_0 ? GGUF_Q8_0_BLOCK_BYTES : GGUF_Q4_0_BLOCK_BYTES;
        size_t n_blocks = t->n_bytes / bb;
        for (size_t b = 0; b < n_blocks; b++) {
            const uint8_t *p = t->data + b * bb;
            uint16_t h = (uint16_t)(p[0] | p[1] << 8);
            if ((h & 0x7c00) == 0x7c00) {
                model_err(err, err_size, gguf_name(g), "tensor %s holds %s scale in block %zu", name,
                          (h & 0x3ff) ? "a NaN" : "an infinite", b);
                return BD3_E_FORMAT;
            }
        }
    }
    m->n_params += (size_t)t->n_elements;
    *out = t;
    return BD3_OK;
}

/* A buffer of bytes the model owns (freed with it); NULL when out of memory. */
static void *model_own(bd3_model *m, size_t bytes)
{
    void **owned = realloc(m->owned, (size_t)(m->n_owned + 1) * sizeof *owned);
    if (!owned) return NULL;
    m->owned = owned;
    void *buf = malloc(bytes ? bytes : 1);
    if (buf) m->owned[m->n_owned++] = buf;
    return buf;
}

/* Float32 values of t: a view into the file, or an owned converted copy. */
static bd3_status model_f32_values(bd3_model *m, const gguf_tensor *t, const char *name, const float **out,
                                   char *err, size_t err_size)
{
    if (t->type == GGUF_TENSOR_F32 && ((uintptr_t)t->data % sizeof(float)) == 0) {
        *out = (const float *)(const void *)t->data;
        return model_check_finite(m->file, name, *out, (size_t)t->n_elements, err, err_size);
    }
    float *buf = model_own(m, (size_t)t->n_elements * sizeof(float));
    if (!buf) {
        model_err(err, err_size, gguf_name(m->file), "out of memory converting tensor %s", name);
        return BD3_E_NOMEM;
    }
    gguf_tensor_to_f32(t, buf);
    *out = buf;
    return model_check_finite(m->file, name, buf, (size_t)t->n_elements, err, err_size);
}

/* Element i of an F32, F16 or BF16 tensor as float32 (exact). */
static float model_elem_f32(const gguf_tensor *t, size_t i)
{
    const uint8_t *p = t->data;
    if (t->type == GGUF_TENSOR_F32) {
        float f;
        memcpy(&f, p + 4 * i, sizeof f);
        return f;
    }
    uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
    return t->type == GGUF_TENSOR_F16 ? gguf_f16_to_f32(h) : bf16_to_f32(h);
}

/* Bfloat16 values of an F32, F16 or BF16 tensor for the bf16 products: a BF16 tensor is a view
 * into the file when it is aligned and holds no subnormal (which the products read as zero and
 * the copy holds as zero); F32 and F16 values are rounded to nearest bfloat16, ties to even. NaN
 * and infinities are refused as model_check_finite refuses them. */
static bd3_status model_bf16_values(bd3_model *m, const gguf_tensor *t, const char *name,
                                    const uint16_t **out, char *err, size_t err_size)
{
    size_t n = (size_t)t->n_elements, sub = 0;
    for (size_t i = 0; i < n; i++) {
        float f = model_elem_f32(t, i);
        if (!isfinite(f)) {
            model_err(err, err_size, gguf_name(m->file), "tensor %s holds %s at element %zu", name,
                      isnan(f) ? "NaN" : "an infinite value", i);
            return BD3_E_FORMAT;
        }
        sub += f != 0.0f && fabsf(f) < 0x1p-126f;
    }
    if (t->type == GGUF_TENSOR_BF16 && !sub && (uintptr_t)t->data % sizeof(uint16_t) == 0) {
        *out = (const uint16_t *)(const void *)t->data;
        return BD3_OK;
    }
    uint16_t *buf = model_own(m, n * sizeof *buf);
    if (!buf) {
        model_err(err, err_size, gguf_name(m->file), "out of memory converting tensor %s", name);
        return BD3_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = bf16_from_f32(model_elem_f32(t, i)); /* a subnormal becomes zero */
    *out = buf;
    return BD3_OK;
}

/* BD3_E_FORMAT naming the first NaN or infinity of an F16 or BF16 tensor read from the file. */
static bd3_status model_check_rows16(bd3_model *m, const gguf_tensor *t, const char *name, char *err,
                                     size_t err_size)
{
    const uint8_t *p = t->data;
    uint16_t mask = t->type == GGUF_TENSOR_F16 ? 0x7c00u : 0x7f80u; /* exponent all ones */
    for (size_t i = 0; i < (size_t)t->n_elements; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
        if ((h & mask) == mask) {
            model_err(err, err_size, gguf_name(m->file), "tensor %s holds %s at element %zu", name,
                      (h & (uint16_t) ~(mask | 0x8000u)) ? "NaN" : "an infinite value", i);
            return BD3_E_FORMAT;
        }
    }
    return BD3_OK;
}

/* 1 when a matrix of this type is held in bfloat16 under compute: BF16 asks it of F32, F16 and
 * BF16 matrices; AUTO of F16 and BF16 ones where the CPU has bf16 dot products. */
static int model_wants_bf16(bd3_compute compute, uint32_t type)
{
    if (compute == BD3_COMPUTE_BF16)
        return type == GGUF_TENSOR_F32 || type == GGUF_TENSOR_F16 || type == GGUF_TENSOR_BF16;
    return compute == BD3_COMPUTE_AUTO && (type == GGUF_TENSOR_F16 || type == GGUF_TENSOR_BF16) &&
           kern_isa() >= KERN_ISA_AVX512_BF16;
}

/* A vector or small tensor as float32 (see model_find). */
static bd3_status model_tensor(bd3_model *m, const char *name, uint64_t ne0, uint64_t ne1, unsigned types,
                               const float **out, char *err, size_t err_size)
{
    const gguf_tensor *t;
    bd3_status st = model_find(m, name, ne0, ne1, types, &t, err, err_size);
    return st != BD3_OK ? st : model_f32_values(m, t, name, out, err, err_size);
}

/* A matrix of ne = [cols, rows] for the products, as compute asks (cols a multiple of 32 for
 * anything but float32): Q8_0 and Q4_0 packed for the int8 products (AUTO, Q8, BF16); with Q8 every
 * other matrix rounded to Q8_0 and packed; F16 and BF16 in bfloat16 for the bf16 products (BF16, and
 * AUTO where the CPU has them), with BF16 also F32; everything else in float32 (F32: Q4_0 and Q8_0
 * values converted exactly). */
static bd3_status model_matrix_load(bd3_model *m, const char *name, uint64_t cols, uint64_t rows,
                                    unsigned types, bd3_compute compute, model_matrix *out, char *err,
                                    size_t err_size)
{
    const gguf_tensor *t;
    bd3_status st = model_find(m, name, cols, rows, types, &t, err, err_size);
    if (st != BD3_OK) return st;
    int packable = cols % QUANT_BLOCK == 0 && cols <= INT32_MAX && rows <= INT32_MAX;
    if (packable && compute != BD3_COMPUTE_F32 && t->type == GGUF_TENSOR_Q8_0) {
        st = quant_pack_q8_0(t->data, (int)rows, (int)cols, &out->q);
        if (st == BD3_OK) gguf_drop_pages(m->file, t->data, t->n_bytes); /* the copy replaces them */
    } else if (packable && compute != BD3_COMPUTE_F32 && t->type == GGUF_TENSOR_Q4_0) {
        st = quant_pack_q4_0(t->data, (int)rows, (int)cols, &out->q);
        if (st == BD3_OK) gguf_drop_pages(m->file, t->data, t->n_bytes);
    } else if (packable && compute == BD3_COMPUTE_Q8) {
        const float *f;
        size_t n_owned = (size_t)m->n_owned;
        st = model_f32_values(m, t, name, &f, err, err_size);
        if (st != BD3_OK) return st;
        st = quant_pack_f32(f, (int)rows, (int)cols, &out->q);
        if ((size_t)m->n_owned > n_owned) { /* the converted copy is not needed any more */
            free(m->owned[--m->n_owned]);
        }
    } else if (packable && model_wants_bf16(compute, t->type)) {
        st = model_bf16_values(m, t, name, &out->b16, err, err_size);
        if (st != BD3_OK) return st;
        if ((const uint8_t *)out->b16 != t->data) gguf_drop_pages(m->file, t->data, t->n_bytes);
        out->kind = MODEL_KIND_BF16;
        m->n_bf16++;
        if (m->compute != BD3_COMPUTE_Q8) m->compute = BD3_COMPUTE_BF16;
        return BD3_OK;
    } else {
        out->kind = MODEL_KIND_F32;
        return model_f32_values(m, t, name, &out->f32, err, err_size);
    }
    if (st != BD3_OK) {
        model_err(err, err_size, gguf_name(m->file), "out of memory packing tensor %s", name);
        return st;
    }
    out->kind = MODEL_KIND_Q8;
    m->compute = BD3_COMPUTE_Q8;
    return BD3_OK;
}

#define T_F32 (1u << GGUF_TENSOR_F32)
#define T_ANY                                                                                                \
    ((1u << GGUF_TENSOR_F32) | (1u << GGUF_TENSOR_F16) | (1u << GGUF_TENSOR_BF16) |                          \
     (1u << GGUF_TENSOR_Q8_0) | (1u << GGUF_TENSOR_Q4_0))

static bd3_status model_load_hparams(bd3_model *m, char *err, size_t err_size)
{
    const gguf_file *g = m->file;
    const char *fn = gguf_name(g);
    bd3_hparams *hp = &m->hp;
    const char *s;
    size_t len;
    gguf_get r = gguf_get_str(g, "general.architecture", &s, &len);
    if (r != GGUF_FOUND) {
        model_err(err, err_size, fn, "missing general.architecture");
        return BD3_E_FORMAT;
    }
    if (len != 5 || memcmp(s, "bd3lm", 5) != 0) {
        model_err(err, err_size, fn, "architecture '%.*s' is not bd3lm", (int)(len > 64 ? 64 : len), s);
        return BD3_E_UNSUPPORTED;
    }
    if (gguf_get_str(g, "general.name", &s, &len) != GGUF_FOUND) {
        s = "";
        len = 0;
    }
    m->name = malloc(len + 1);
    if (!m->name) return BD3_E_NOMEM;
    memcpy(m->name, s, len);
    m->name[len] = 0;

    bd3_status st;
    if ((st = model_u32(g, "bd3lm.context_length", 1, BD3_MAX_N_CTX, &hp->n_ctx, err, err_size)) ||
        (st = model_u32(g, "bd3lm.embedding_length", 2, BD3_MAX_N_EMBD, &hp->n_embd, err, err_size)) ||
        (st = model_u32(g, "bd3lm.feed_forward_length", 1, BD3_MAX_N_FF, &hp->n_ff, err, err_size)) ||
        (st = model_u32(g, "bd3lm.block_count", 1, BD3_MAX_N_LAYER, &hp->n_layer, err, err_size)) ||
        (st = model_u32(g, "bd3lm.attention.head_count", 1, BD3_MAX_N_EMBD, &hp->n_head, err, err_size)))
        return st;
    /* the backbone: "dit" (spec sections 1-5, the default) or "prenorm" (model/QWEN.md) */
    r = gguf_get_str(g, "bd3lm.backbone", &s, &len);
    if (r == GGUF_WRONG_TYPE) {
        model_err(err, err_size, fn, "bd3lm.backbone is not a string");
        return BD3_E_FORMAT;
    }
    if (r == GGUF_FOUND && len == 7 && memcmp(s, "prenorm", 7) == 0) {
        hp->prenorm = 1;
    } else if (r == GGUF_FOUND && !(len == 3 && memcmp(s, "dit", 3) == 0)) {
        model_err(err, err_size, fn, "backbone '%.*s' is not one of this engine's (dit, prenorm)",
                  (int)(len > 64 ? 64 : len), s);
        return BD3_E_UNSUPPORTED;
    }
    hp->n_head_kv = hp->n_head;
    hp->head_dim = hp->n_embd / hp->n_head;
    if (hp->prenorm) {
        if (gguf_get_u32(g, "bd3lm.attention.head_count_kv", &(uint32_t){0}) != GGUF_MISSING &&
            (st = model_u32(g, "bd3lm.attention.head_count_kv", 1, (uint32_t)hp->n_head, &hp->n_head_kv, err,
                            err_size)))
            return st;
        if (gguf_get_u32(g, "bd3lm.attention.key_length", &(uint32_t){0}) != GGUF_MISSING &&
            (st = model_u32(g, "bd3lm.attention.key_length", 2, 4096, &hp->head_dim, err, err_size)))
            return st;
        if (hp->n_head % hp->n_head_kv || hp->head_dim % 2) {
            model_err(err, err_size, fn,
                      "head_count %d is not a multiple of head_count_kv %d, or "
                      "key_length %d is odd",
                      hp->n_head, hp->n_head_kv, hp->head_dim);
            return BD3_E_FORMAT;
        }
        if ((st =
                 model_f32(g, "bd3lm.attention.layer_norm_rms_epsilon", 1e-6f, &hp->norm_eps, err, err_size)))
            return st;
        uint32_t v = 0;
        r = gguf_get_u32(g, "bd3lm.diffusion.logit_shift", &v);
        if (r == GGUF_WRONG_TYPE || v > 1) {
            model_err(err, err_size, fn, "bd3lm.diffusion.logit_shift must be 0 or 1");
            return BD3_E_FORMAT;
        }
        hp->logit_shift = (int)v;
        if (gguf_get_u32(g, "bd3lm.diffusion.sub_block_length", &(uint32_t){0}) != GGUF_MISSING &&
            (st = model_u32(g, "bd3lm.diffusion.sub_block_length", 1, (uint32_t)hp->n_ctx, &hp->sub_block,
                            err, err_size)))
            return st;
    } else {
        if (hp->n_embd % hp->n_head || (hp->n_embd / hp->n_head) % 2) {
            model_err(err, err_size, fn,
                      "embedding_length %d is not a multiple of head_count %d with an "
                      "even head size",
                      hp->n_embd, hp->n_head);
            return BD3_E_FORMAT;
        }
        if ((st = model_f32(g, "bd3lm.attention.layer_norm_epsilon", 1e-5f, &hp->norm_eps, err, err_size)))
            return st;
    }
    if ((st = model_f32(g, "bd3lm.rope.freq_base", 10000.0f, &hp->rope_base, err, err_size))) return st;

    const gguf_kv *kv;
    r = gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &kv);
    if (r != GGUF_FOUND) {
        model_err(err, err_size, fn,
                  r == GGUF_MISSING ? "missing tokenizer.ggml.tokens"
                                    : "tokenizer.ggml.tokens is not an array of strings");
        return BD3_E_FORMAT;
    }
    if (kv->n < 1 || kv->n > BD3_MAX_N_VOCAB) {
        model_err(err, err_size, fn, "tokenizer.ggml.tokens has %llu entries (1..%d allowed)",
                  (unsigned long long)kv->n, BD3_MAX_N_VOCAB);
        return BD3_E_FORMAT;
    }
    hp->n_vocab = (int)kv->n;
    int id;
    if ((st =
             model_u32(g, "bd3lm.diffusion.mask_token_id", 0, (uint32_t)hp->n_vocab - 1, &id, err, err_size)))
        return st;
    hp->mask_id = id;
    hp->eos_id = -1;
    uint32_t eos;
    r = gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &eos);
    if (r == GGUF_WRONG_TYPE || (r == GGUF_FOUND && eos >= (uint32_t)hp->n_vocab)) {
        model_err(err, err_size, fn, "tokenizer.ggml.eos_token_id is not an id of the vocabulary");
        return BD3_E_FORMAT;
    }
    if (r == GGUF_FOUND) hp->eos_id = (int32_t)eos;

    r = gguf_get_arr(g, "bd3lm.diffusion.block_lengths", GGUF_TYPE_UINT32, &kv);
    if (r == GGUF_WRONG_TYPE) {
        model_err(err, err_size, fn, "bd3lm.diffusion.block_lengths is not an array of integers");
        return BD3_E_FORMAT;
    }
    if (r == GGUF_MISSING) {
        hp->n_block_lengths = 1;
        hp->block_lengths[0] = hp->n_ctx;
    } else {
        if (kv->n == 0) {
            model_err(err, err_size, fn, "bd3lm.diffusion.block_lengths is empty");
            return BD3_E_FORMAT;
        }
        hp->n_block_lengths = kv->n < BD3_MAX_BLOCK_LENGTHS ? (int)kv->n : BD3_MAX_BLOCK_LENGTHS;
        for (int i = 0; i < hp->n_block_lengths; i++) {
            uint32_t b;
            if (gguf_arr_u32(kv, (uint64_t)i, &b) || b < 1 || b > (uint32_t)hp->n_ctx) {
                model_err(err, err_size, fn, "bd3lm.diffusion.block_lengths[%d] is outside 1..n_ctx (%d)", i,
                          hp->n_ctx);
                return BD3_E_FORMAT;
            }
            hp->block_lengths[i] = (int)b;
        }
    }
    return BD3_OK;
}

/* The tensors of the pre-norm backbone (model/QWEN.md section 3) after the embedding. Optional
 * ones (biases, q/k norms) come in every layer or in none, as layer 0 has them; without
 * output.weight the output is tied to the embedding. */
static bd3_status model_load_prenorm(bd3_model *m, bd3_compute compute, char *err, size_t err_size)
{
    const bd3_hparams *hp = &m->hp;
    uint64_t D = (uint64_t)hp->n_embd, F = (uint64_t)hp->n_ff, V = (uint64_t)hp->n_vocab;
    uint64_t Q = (uint64_t)hp->n_head * (uint64_t)hp->head_dim;
    uint64_t K = (uint64_t)hp->n_head_kv * (uint64_t)hp->head_dim, hd = (uint64_t)hp->head_dim;
    bd3_status st;
    char name[96];
    int has_bias = gguf_find_tensor(m->file, "blk.0.attn_q.bias") != NULL;
    int has_norm = gguf_find_tensor(m->file, "blk.0.attn_q_norm.weight") != NULL;
    for (int l = 0; l < hp->n_layer; l++) {
        bd3_layer *L = &m->layers[l];
        struct {
            const char *suffix;
            uint64_t ne0, ne1;
            const float **dst;
            int want;
        } vec[] = {
            {"attn_norm.weight", D, 1, &L->attn_norm, 1},
            {"attn_q.bias", Q, 1, &L->bq, has_bias},
            {"attn_k.bias", K, 1, &L->bk, has_bias},
            {"attn_v.bias", K, 1, &L->bv, has_bias},
            {"attn_q_norm.weight", hd, 1, &L->q_norm, has_norm},
            {"attn_k_norm.weight", hd, 1, &L->k_norm, has_norm},
            {"ffn_norm.weight", D, 1, &L->ffn_norm, 1},
        };
        struct {
            const char *suffix;
            uint64_t ne0, ne1;
            model_matrix *dst;
        } mat[] = {
            {"attn_q.weight", D, Q, &L->wq},       {"attn_k.weight", D, K, &L->wk},
            {"attn_v.weight", D, K, &L->wv},       {"attn_output.weight", Q, D, &L->wo},
            {"ffn_gate.weight", D, F, &L->w_gate}, {"ffn_up.weight", D, F, &L->w_up},
            {"ffn_down.weight", F, D, &L->w_down},
        };
        for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
            snprintf(name, sizeof name, "blk.%d.%s", l, vec[i].suffix);
            if (!vec[i].want && gguf_find_tensor(m->file, name)) {
                model_err(err, err_size, gguf_name(m->file), "tensor %s is present but layer 0 has no %s",
                          name, vec[i].suffix);
                return BD3_E_FORMAT;
            }
            if (vec[i].want &&
                (st = model_tensor(m, name, vec[i].ne0, vec[i].ne1, T_F32, vec[i].dst, err, err_size)))
                return st;
        }
        for (size_t i = 0; i < sizeof mat / sizeof mat[0]; i++) {
            snprintf(name, sizeof name, "blk.%d.%s", l, mat[i].suffix);
            if ((st = model_matrix_load(m, name, mat[i].ne0, mat[i].ne1, T_ANY, compute, mat[i].dst, err,
                                        err_size)))
                return st;
        }
    }
    if ((st = model_tensor(m, "output_norm.weight", D, 1, T_F32, &m->out_norm, err, err_size))) return st;
    int tied = gguf_find_tensor(m->file, "output.weight") == NULL;
    size_t counted = m->n_params;
    st = model_matrix_load(m, tied ? "token_embd.weight" : "output.weight", D, V, T_ANY, compute, &m->w_out,
                           err, err_size);
    if (tied) m->n_params = counted; /* the embedding's weights are counted once */
    return st;
}

static bd3_status model_load_weights(bd3_model *m, bd3_compute compute, char *err, size_t err_size)
{
    const bd3_hparams *hp = &m->hp;
    uint64_t D = (uint64_t)hp->n_embd, F = (uint64_t)hp->n_ff, V = (uint64_t)hp->n_vocab;
    bd3_status st;
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return BD3_E_NOMEM;
    const gguf_tensor *te;
    if ((st = model_find(m, "token_embd.weight", D, V, T_ANY, &te, err, err_size))) return st;
    if (((te->type == GGUF_TENSOR_Q8_0 || te->type == GGUF_TENSOR_Q4_0) && compute != BD3_COMPUTE_F32) ||
        ((te->type == GGUF_TENSOR_F16 || te->type == GGUF_TENSOR_BF16) &&
         model_wants_bf16(compute, te->type))) {
        /* rows are read from the file as they are looked up (F16 and BF16 rows exactly, checked
           for NaN and infinities here as their float32 copy would be) */
        if ((te->type == GGUF_TENSOR_F16 || te->type == GGUF_TENSOR_BF16) &&
            (st = model_check_rows16(m, te, "token_embd.weight", err, err_size)))
            return st;
        m->tok_embd_rows = te->data;
        m->tok_embd_type = (gguf_tensor_type)te->type;
    } else if ((st = model_f32_values(m, te, "token_embd.weight", &m->tok_embd, err, err_size)))
        return st;
    if (hp->prenorm) return model_load_prenorm(m, compute, err, err_size);
    char name[96];
    for (int l = 0; l < hp->n_layer; l++) {
        bd3_layer *L = &m->layers[l];
        struct {
            const char *suffix;
            uint64_t ne0, ne1;
            const float **dst;
        } vec[] = {
            {"attn_norm.weight", D, 1, &L->attn_norm},
            {"ffn_norm.weight", D, 1, &L->ffn_norm},
            {"ffn_up.bias", F, 1, &L->b_up},
            {"ffn_down.bias", D, 1, &L->b_down},
            {"modulation", D, 6, &L->mod},
        };
        struct {
            const char *suffix;
            uint64_t ne0, ne1;
            model_matrix *dst;
        } mat[] = {
            {"attn_qkv.weight", D, 3 * D, &L->wqkv},
            {"attn_output.weight", D, D, &L->wo},
            {"ffn_up.weight", D, F, &L->w_up},
            {"ffn_down.weight", F, D, &L->w_down},
        };
        for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
            snprintf(name, sizeof name, "blk.%d.%s", l, vec[i].suffix);
            if ((st = model_tensor(m, name, vec[i].ne0, vec[i].ne1, T_F32, vec[i].dst, err, err_size)))
                return st;
        }
        for (size_t i = 0; i < sizeof mat / sizeof mat[0]; i++) {
            snprintf(name, sizeof name, "blk.%d.%s", l, mat[i].suffix);
            if ((st = model_matrix_load(m, name, mat[i].ne0, mat[i].ne1, T_ANY, compute, mat[i].dst, err,
                                        err_size)))
                return st;
        }
    }
    if ((st = model_tensor(m, "output_norm.weight", D, 1, T_F32, &m->out_norm, err, err_size)) ||
        (st = model_tensor(m, "output_modulation", D, 2, T_F32, &m->out_mod, err, err_size)) ||
        (st = model_matrix_load(m, "output.weight", D, V, T_ANY, compute, &m->w_out, err, err_size)) ||
        (st = model_tensor(m, "output.bias", V, 1, T_F32, &m->b_out, err, err_size)))
        return st;
    return BD3_OK;
}

/* The pre-tokenisation rule set (tokenizer.ggml.pre, "gpt2" when absent) and the added tokens:
 * entries of tokenizer.ggml.token_type that are control (3) or user-defined (4), which only
 * bd3_tokenize_special turns into their ids. */
static bd3_status model_tokenizer_rules(bd3_model *m, char *err, size_t err_size)
{
    const gguf_file *g = m->file;
    const char *pre;
    size_t plen;
    gguf_get r = gguf_get_str(g, "tokenizer.ggml.pre", &pre, &plen);
    if (r == GGUF_WRONG_TYPE) {
        model_err(err, err_size, gguf_name(g), "tokenizer.ggml.pre is not a string");
        return BD3_E_FORMAT;
    }
    if (r == GGUF_FOUND && tokenizer_set_pre(m->tok, pre, plen) != BD3_OK) {
        model_err(err, err_size, gguf_name(g),
                  "tokenizer.ggml.pre '%.*s' is not a rule set of this "
                  "engine (gpt2, qwen2)",
                  (int)(plen > 64 ? 64 : plen), pre);
        return BD3_E_UNSUPPORTED;
    }
    const gguf_kv *kv;
    r = gguf_get_arr(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, &kv);
    if (r == GGUF_MISSING) return BD3_OK;
    if (r == GGUF_WRONG_TYPE || kv->n != (uint64_t)m->hp.n_vocab) {
        model_err(err, err_size, gguf_name(g), "tokenizer.ggml.token_type is not one int32 per token");
        return BD3_E_FORMAT;
    }
    int32_t *ids = malloc((size_t)m->hp.n_vocab * sizeof *ids);
    m->never_drawn = calloc((size_t)m->hp.n_vocab, 1);
    if (!ids || !m->never_drawn) {
        free(ids);
        return BD3_E_NOMEM;
    }
    int n = 0;
    for (int i = 0; i < m->hp.n_vocab; i++) {
        uint32_t ty = 0;
        if (gguf_arr_u32(kv, (uint64_t)i, &ty) == 0 && (ty == 3 || ty == 4)) ids[n++] = i;
        m->never_drawn[i] = (ty == 3 || ty == 4 || ty == 5) && i != m->hp.eos_id;
    }
    bd3_status st = tokenizer_set_added(m->tok, ids, n);
    free(ids);
    return st;
}

static bd3_status model_load_tokenizer(bd3_model *m, char *err, size_t err_size)
{
    const gguf_file *g = m->file;
    const gguf_kv *tk, *mk = NULL;
    gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING, &tk); /* checked with the hparams */
    gguf_get r = gguf_get_arr(g, "tokenizer.ggml.merges", GGUF_TYPE_STRING, &mk);
    if (r == GGUF_WRONG_TYPE) {
        model_err(err, err_size, gguf_name(g), "tokenizer.ggml.merges is not an array of strings");
        return BD3_E_FORMAT;
    }
    size_t n_tok = (size_t)tk->n, n_merge = r == GGUF_FOUND ? (size_t)mk->n : 0;
    if (n_merge > BD3_MAX_N_MERGES) {
        model_err(err, err_size, gguf_name(g), "tokenizer.ggml.merges has too many entries");
        return BD3_E_FORMAT;
    }
    const char **strs = malloc((n_tok + n_merge + 1) * sizeof *strs);
    size_t *lens = malloc((n_tok + n_merge + 1) * sizeof *lens);
    bd3_status st = BD3_E_NOMEM;
    if (strs && lens) {
        gguf_arr_strings(tk, strs, lens);
        if (n_merge) gguf_arr_strings(mk, strs + n_tok, lens + n_tok);
        char terr[200] = "";
        st = tokenizer_new(strs, lens, (int)n_tok, strs + n_tok, lens + n_tok, (int)n_merge, m->hp.eos_id,
                           m->hp.mask_id, &m->tok, terr, sizeof terr);
        if (st != BD3_OK) model_err(err, err_size, gguf_name(g), "%s", terr[0] ? terr : "bad tokenizer data");
        if (st == BD3_OK) st = model_tokenizer_rules(m, err, err_size);
    } else {
        model_err(err, err_size, gguf_name(g), "out of memory reading the vocabulary");
    }
    free(strs);
    free(lens);
    return st;
}

bd3_status bd3_model_load(const char *path, bd3_model **out, char *err, size_t err_size)
{
    return bd3_model_load_compute(path, BD3_COMPUTE_AUTO, out, err, err_size);
}

bd3_status bd3_model_load_compute(const char *path, bd3_compute compute, bd3_model **out, char *err,
                                  size_t err_size)
{
    if (err && err_size) err[0] = 0;
    if (!out) return BD3_E_ARG;
    *out = NULL;
    if (!path) return BD3_E_ARG;
    bd3_model *m = calloc(1, sizeof *m);
    if (!m) return BD3_E_NOMEM;
    bd3_status st = gguf_open(path, &m->file, err, err_size);
    if (st == BD3_OK) {
        m->file_size = gguf_size(m->file);
        st = model_load_hparams(m, err, err_size);
    }
    if (st == BD3_OK && compute != BD3_COMPUTE_AUTO && compute != BD3_COMPUTE_F32 &&
        compute != BD3_COMPUTE_Q8 && compute != BD3_COMPUTE_BF16)
        st = BD3_E_ARG;
    m->compute = BD3_COMPUTE_F32; /* until a matrix is packed or held in bfloat16 */
    if (st == BD3_OK) st = model_load_weights(m, compute, err, err_size);
    if (st == BD3_OK) st = model_load_tokenizer(m, err, err_size);
    if (st == BD3_OK) st = model_check_defaults(m, err, err_size);
    if (st != BD3_OK) {
        if (st == BD3_E_NOMEM && err && err_size && !err[0]) model_err(err, err_size, path, "out of memory");
        bd3_model_free(m);
        return st;
    }
    *out = m;
    return BD3_OK;
}

void bd3_model_free(bd3_model *m)
{
    if (!m) return;
    tokenizer_free(m->tok);
    free(m->never_drawn);
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    for (int l = 0; m->layers && l < m->hp.n_layer; l++) {
        quant_matrix_free(&m->layers[l].wqkv.q);
        quant_matrix_free(&m->layers[l].wo.q);
        quant_matrix_free(&m->layers[l].w_up.q);
        quant_matrix_free(&m->layers[l].w_down.q);
        quant_matrix_free(&m->layers[l].wq.q); /* pre-norm models */
        quant_matrix_free(&m->layers[l].wk.q);
        quant_matrix_free(&m->layers[l].wv.q);
        quant_matrix_free(&m->layers[l].w_gate.q);
    }
    quant_matrix_free(&m->w_out.q);
    free(m->owned);
    free(m->layers);
    free(m->name);
    gguf_free(m->file);
    free(m);
}

const bd3_hparams *bd3_model_hparams(const bd3_model *m) { return &m->hp; }
const char *bd3_model_name(const bd3_model *m) { return m->name ? m->name : ""; }
size_t bd3_model_file_size(const bd3_model *m) { return m->file_size; }
size_t bd3_model_n_params(const bd3_model *m) { return m->n_params; }
bd3_compute bd3_model_compute(const bd3_model *m) { return m->compute; }

const char *bd3_compute_name(bd3_compute c)
{
    switch (c) {
    case BD3_COMPUTE_AUTO: return "auto";
    case BD3_COMPUTE_F32: return "f32";
    case BD3_COMPUTE_Q8: return "q8";
    case BD3_COMPUTE_BF16: return "bf16";
    }
    return "?";
}

int bd3_compute_parse(const char *name, bd3_compute *out)
{
    static const bd3_compute all[] = {BD3_COMPUTE_AUTO, BD3_COMPUTE_F32, BD3_COMPUTE_Q8, BD3_COMPUTE_BF16};
    for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, bd3_compute_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

void model_embed_row(const bd3_model *m, int32_t id, float *out)
{
    const int D = m->hp.n_embd;
    if (m->tok_embd) {
        memcpy(out, m->tok_embd + (size_t)id * (size_t)D, (size_t)D * sizeof(float));
        return;
    }
    if (m->tok_embd_type == GGUF_TENSOR_F16 || m->tok_embd_type == GGUF_TENSOR_BF16) {
        const uint8_t *p = m->tok_embd_rows + (size_t)id * (size_t)D * 2;
        for (int e = 0; e < D; e++) {
            uint16_t h = (uint16_t)(p[2 * e] | p[2 * e + 1] << 8);
            out[e] = m->tok_embd_type == GGUF_TENSOR_F16 ? gguf_f16_to_f32(h) : bf16_to_f32(h);
        }
        return;
    }
    if (m->tok_embd_type == GGUF_TENSOR_Q4_0) {
        const uint8_t *p =
            m->tok_embd_rows + (size_t)id * (size_t)(D / GGUF_Q8_0_BLOCK) * GGUF_Q4_0_BLOCK_BYTES;
        for (int b = 0; b < D / GGUF_Q8_0_BLOCK; b++, p += GGUF_Q4_0_BLOCK_BYTES) {
            float d = gguf_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
            for (int e = 0; e < GGUF_Q8_0_BLOCK / 2; e++) {
                out[b * GGUF_Q8_0_BLOCK + e] = d * (float)((p[2 + e] & 0x0f) - 8);
                out[b * GGUF_Q8_0_BLOCK + e + 16] = d * (float)((p[2 + e] >> 4) - 8);
            }
        }
        return;
    }
    const uint8_t *p = m->tok_embd_rows + (size_t)id * (size_t)(D / GGUF_Q8_0_BLOCK) * GGUF_Q8_0_BLOCK_BYTES;
    for (int b = 0; b < D / GGUF_Q8_0_BLOCK; b++, p += GGUF_Q8_0_BLOCK_BYTES) {
        float d = gguf_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
        for (int e = 0; e < GGUF_Q8_0_BLOCK; e++) out[b * GGUF_Q8_0_BLOCK + e] = d * (float)(int8_t)p[2 + e];
    }
}

int bd3_model_has_global(const bd3_model *m)
{
    for (int i = 0; i < m->hp.n_block_lengths; i++)
        if (m->hp.block_lengths[i] == m->hp.n_ctx) return 1;
    return 0;
}

int bd3_model_default_block(const bd3_model *m)
{
    for (int i = 0; i < m->hp.n_block_lengths; i++)
        if (m->hp.block_lengths[i] < m->hp.n_ctx) return m->hp.block_lengths[i];
    return m->hp.n_ctx;
}

bd3_status bd3_tokenize(const bd3_model *m, const char *text, size_t len, int32_t **ids, size_t *n_ids)
{
    if (!m || !ids || !n_ids || (!text && len)) return BD3_E_ARG;
    return tokenizer_encode(m->tok, text ? text : "", len, ids, n_ids);
}

bd3_status bd3_tokenize_special(const bd3_model *m, const char *text, size_t len, int32_t **ids,
                                size_t *n_ids)
{
    if (!m || !ids || !n_ids || (!text && len)) return BD3_E_ARG;
    return tokenizer_encode_special(m->tok, text ? text : "", len, 1, ids, n_ids);
}

const char *bd3_token_bytes(const bd3_model *m, int32_t id, size_t *len)
{
    if (!m || id < 0 || id >= m->hp.n_vocab || id == m->hp.mask_id) return NULL;
    return tokenizer_token_bytes(m->tok, id, len);
}

bd3_status bd3_detokenize(const bd3_model *m, const int32_t *ids, size_t n, char **text, size_t *len)
{
    if (!m || !text || !len || (!ids && n)) return BD3_E_ARG;
    *text = NULL;
    *len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        if (ids[i] < 0 || ids[i] >= m->hp.n_vocab) return BD3_E_ARG;
        if (bd3_token_bytes(m, ids[i], &k)) total += k;
    }
    char *out = malloc(total + 1);
    if (!out) return BD3_E_NOMEM;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        const char *b = bd3_token_bytes(m, ids[i], &k);
        if (b && k) {
            memcpy(out + at, b, k);
            at += k;
        }
    }
    out[at] = 0;
    *text = out;
    *len = at;
    return BD3_OK;
}
