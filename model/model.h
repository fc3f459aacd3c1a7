/* model.h: the loaded bd3lm model (hyperparameters, weights, tokenizer), internal to the engine.
 * Shared by the loader (model.c) and the forward pass (forward.c). Depends on gguf.h, tokenizer.h. */
#ifndef BD3_MODEL_H
#define BD3_MODEL_H

#include "bd3.h"
#include "gguf.h"
#include "quant.h"
#include "tokenizer.h"

/* How a weight matrix is held, which decides the product that reads it. */
typedef enum model_kind {
    MODEL_KIND_F32,  /* float32 values, float32 products (OpenBLAS) */
    MODEL_KIND_Q8,   /* Q8_0 or Q4_0 blocks packed into tiles, int8 products (quant.h) */
    MODEL_KIND_BF16, /* bfloat16 values row-major, bf16 products (bf16.h) */
} model_kind;

/* A weight matrix [rows, cols] (PyTorch [out, in]) as the products read it. */
typedef struct model_matrix {
    model_kind kind;     /* which of the fields below holds the matrix */
    const float *f32;    /* MODEL_KIND_F32: [rows, cols] row-major float32 values, else NULL */
    quant_matrix q;      /* MODEL_KIND_Q8: packed Q8_0/Q4_0 values (buffers owned by the model) */
    const uint16_t *b16; /* MODEL_KIND_BF16: [rows, cols] row-major bfloat16 values, none subnormal
                            (a view into the file or a buffer in owned), else NULL */
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
    bd3_hparams hp;                 /* hyperparameters from the metadata */
    char *name;                     /* general.name, "" when absent (owned) */
    gguf_file *file;                /* the mapped file; F32 weights point into it */
    size_t file_size;               /* bytes of the file */
    size_t n_params;                /* weights counted over all tensors used */
    const float *tok_embd;          /* [V, D] token embedding as float32; NULL when tok_embd_rows holds it */
    const uint8_t *tok_embd_rows;   /* [V, row bytes] rows of the embedding as the file holds them (Q8_0,
                                     Q4_0, F16 or BF16), read as they are looked up; or NULL */
    gguf_tensor_type tok_embd_type; /* type of the rows in tok_embd_rows */
    bd3_layer *layers;              /* [n_layer] */
    const float *out_norm;          /* [D] weight of the final layer norm */
    const float *out_mod;           /* [2, D] final shift, scale (DiT only; NULL for pre-norm) */
    model_matrix w_out;             /* [V, D] output projection (pre-norm: the embedding when tied) */
    bd3_compute compute;            /* how the matrices were loaded: BD3_COMPUTE_Q8 when one or more is
                                       packed for int8 products, else BD3_COMPUTE_BF16 when one or more
                                       is held in bfloat16, else BD3_COMPUTE_F32 */
    int n_bf16;                     /* matrices held in bfloat16 (MODEL_KIND_BF16) */
    const float *b_out;             /* [V] its bias (DiT only; NULL for pre-norm) */
    void **owned;                   /* [n_owned] buffers of converted or realigned weights */
    int n_owned;                    /* buffers in owned */
    tokenizer *tok;                 /* byte-level BPE over the file's vocabulary */
    uint8_t *never_drawn;           /* [n_vocab] 1 for control, user-defined and unused tokens other than
                                       eos (tokenizer.ggml.token_type 3, 4, 5): a writer's text never
                                       holds them, so samplers never draw them; NULL without token types */
};

/* Checks the bd3lm.sampler.* metadata of a loading model (defaults.c): BD3_E_FORMAT with a
 * message naming the file and the key when one has the wrong type or an out-of-range value. */
bd3_status model_check_defaults(const bd3_model *m, char *err, size_t err_size);

/* Row id of the token embedding as float32 into out[D]. */
void model_embed_row(const bd3_model *m, int32_t id, float *out);

#endif
