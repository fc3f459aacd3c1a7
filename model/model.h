/* model.h: the loaded bd3lm model (hyperparameters, weights, tokenizer), internal to the engine.
 * Shared by the loader (model.c) and the forward pass (forward.c). Depends on gguf.h, tokenizer.h. */
#ifndef BD3_MODEL_H
#define BD3_MODEL_H

#include "bd3.h"
#include "gguf.h"
#include "quant.h"
#include "tokenizer.h"

/* A weight matrix [rows, cols] (PyTorch [out, in]) as the products read it: float32 values, or
 * Q8_0 values packed for the int8 products. */
typedef struct model_matrix {
    const float *f32; /* [rows, cols] row-major float32 values; NULL when q holds the matrix */
    quant_matrix q;   /* packed Q8_0 values when f32 is NULL (buffers owned by the model) */
} model_matrix;

/* Weights of one transformer block; vectors are float32, matrices row-major in PyTorch order. */
typedef struct bd3_layer {
    const float *attn_norm; /* [D] weight of the attention layer norm */
    model_matrix wqkv;      /* [3D, D] q, k, v projections stacked */
    model_matrix wo;        /* [D, D] attention output projection */
    const float *ffn_norm;  /* [D] weight of the MLP layer norm */
    model_matrix w_up;      /* [F, D] MLP up projection */
    const float *b_up;      /* [F] its bias */
    model_matrix w_down;    /* [D, F] MLP down projection */
    const float *b_down;    /* [D] its bias */
    const float *mod;       /* [6, D] shift1, scale1, gate1, shift2, scale2, gate2 */
    /* pre-norm backbone (model/QWEN.md); empty for the DiT, which uses the fields above */
    model_matrix wq;     /* [H*hd, D] query projection */
    model_matrix wk;     /* [Hkv*hd, D] key projection */
    model_matrix wv;     /* [Hkv*hd, D] value projection */
    const float *bq;     /* [H*hd] query bias, or NULL */
    const float *bk;     /* [Hkv*hd] key bias, or NULL */
    const float *bv;     /* [Hkv*hd] value bias, or NULL */
    const float *q_norm; /* [hd] per-head RMSNorm weight of the queries, or NULL */
    const float *k_norm; /* [hd] per-head RMSNorm weight of the keys, or NULL */
    model_matrix w_gate; /* [F, D] SwiGLU gate projection (w_up, w_down: [F, D], [D, F]) */
} bd3_layer;

struct bd3_model {
    bd3_hparams hp;             /* hyperparameters from the metadata */
    char *name;                 /* general.name, "" when absent (owned) */
    gguf_file *file;            /* the mapped file; F32 weights point into it */
    size_t file_size;           /* bytes of the file */
    size_t n_params;            /* weights counted over all tensors used */
    const float *tok_embd;      /* [V, D] token embedding as float32; NULL when tok_embd_q8 holds it */
    const uint8_t *tok_embd_q8; /* [V, D / 32] Q8_0 (or Q4_0) blocks of the embedding in the file, or NULL */
    int tok_embd_q4;            /* 1: tok_embd_q8 holds Q4_0 blocks (18 bytes), 0: Q8_0 (34 bytes) */
    bd3_layer *layers;          /* [n_layer] */
    const float *out_norm;      /* [D] weight of the final layer norm */
    const float *out_mod;       /* [2, D] final shift, scale (DiT only; NULL for pre-norm) */
    model_matrix w_out;         /* [V, D] output projection (pre-norm: the embedding when tied) */
    bd3_compute compute;        /* how the matrices were loaded: BD3_COMPUTE_F32 or BD3_COMPUTE_Q8
                                   (some or all of them packed Q8_0) */
    const float *b_out;         /* [V] its bias (DiT only; NULL for pre-norm) */
    float **owned;              /* [n_owned] buffers of dequantized or realigned weights */
    int n_owned;                /* buffers in owned */
    tokenizer *tok;             /* byte-level BPE over the file's vocabulary */
    uint8_t *never_drawn;       /* [n_vocab] 1 for control, user-defined and unused tokens other than
                                   eos (tokenizer.ggml.token_type 3, 4, 5): a writer's text never
                                   holds them, so samplers never draw them; NULL without token types */
};

/* Checks the bd3lm.sampler.* metadata of a loading model (defaults.c): BD3_E_FORMAT with a
 * message naming the file and the key when one has the wrong type or an out-of-range value. */
bd3_status model_check_defaults(const bd3_model *m, char *err, size_t err_size);

/* Row id of the token embedding as float32 into out[D]. */
void model_embed_row(const bd3_model *m, int32_t id, float *out);

#endif
