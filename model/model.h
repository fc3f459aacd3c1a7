/* model.h: the loaded bd3lm model (hyperparameters, weights, tokenizer), internal to the engine.
 * Shared by the loader (model.c) and the forward pass (forward.c). Depends on gguf.h, tokenizer.h. */
#ifndef BD3_MODEL_H
#define BD3_MODEL_H

#include "bd3.h"
#include "gguf.h"
#include "tokenizer.h"

/* Weights of one transformer block; every pointer is float32, row-major in PyTorch order. */
typedef struct bd3_layer {
    const float *attn_norm; /* [D] weight of the attention layer norm */
    const float *wqkv;      /* [3D, D] q, k, v projections stacked */
    const float *wo;        /* [D, D] attention output projection */
    const float *ffn_norm;  /* [D] weight of the MLP layer norm */
    const float *w_up;      /* [F, D] MLP up projection */
    const float *b_up;      /* [F] its bias */
    const float *w_down;    /* [D, F] MLP down projection */
    const float *b_down;    /* [D] its bias */
    const float *mod;       /* [6, D] shift1, scale1, gate1, shift2, scale2, gate2 */
} bd3_layer;

struct bd3_model {
    bd3_hparams hp;          /* hyperparameters from the metadata */
    char *name;              /* general.name, "" when absent (owned) */
    gguf_file *file;         /* the mapped file; F32 weights point into it */
    size_t file_size;        /* bytes of the file */
    size_t n_params;         /* weights counted over all tensors used */
    const float *tok_embd;   /* [V, D] token embedding */
    bd3_layer *layers;       /* [n_layer] */
    const float *out_norm;   /* [D] weight of the final layer norm */
    const float *out_mod;    /* [2, D] final shift, scale */
    const float *w_out;      /* [V, D] output projection */
    const float *b_out;      /* [V] its bias */
    float **owned;           /* [n_owned] buffers of dequantized or realigned weights */
    int n_owned;             /* buffers in owned */
    tokenizer *tok;          /* byte-level BPE over the file's vocabulary */
};

/* Checks the bd3lm.sampler.* metadata of a loading model (defaults.c): BD3_E_FORMAT with a
 * message naming the file and the key when one has the wrong type or an out-of-range value. */
bd3_status model_check_defaults(const bd3_model *m, char *err, size_t err_size);

#endif
