/* tokenizer.h: byte-level BPE with GPT-2 or Qwen2 pre-tokenisation, internal to the engine (the public
 * entry points are bd3_tokenize / bd3_detokenize in bd3.h). Depends on libc and libutf8proc.
 *
 * Vocabulary convention (shared with the converter and the trainer): token strings and merges
 * are stored as GPT-2's vocab.json/merges.txt store them, in the byte-to-unicode mapped form
 * ("Ġthe" for " the"); special tokens such as "<|endoftext|>" and the mask token "<|mask|>" are
 * stored literally and are never produced by merging. */
#ifndef BD3_TOKENIZER_H
#define BD3_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>
#include "bd3.h"

typedef struct tokenizer tokenizer;

/* Builds a tokenizer from n_tokens token strings (tokens[i] of token_lens[i] bytes, id = i) and
 * n_merges merge rules ("left right", highest priority first). eos_id and mask_id may be -1.
 * Strings are copied. On error, err (when non-NULL) says which entry is wrong. */
bd3_status tokenizer_new(const char *const *tokens, const size_t *token_lens, int n_tokens,
                         const char *const *merges, const size_t *merge_lens, int n_merges, int32_t eos_id,
                         int32_t mask_id, tokenizer **out, char *err, size_t err_size);
void tokenizer_free(tokenizer *t); /* NULL is a no-op */

/* Selects the pre-tokenisation rule set by its GGUF name (tokenizer.ggml.pre): "gpt2" (the
 * default) or "qwen2" (NFC first, Qwen2's pattern; see tokenizer.c). BD3_E_UNSUPPORTED for any
 * other name. */
bd3_status tokenizer_set_pre(tokenizer *t, const char *name, size_t len);
/* The added tokens (control and user-defined vocabulary entries) that tokenizer_encode_special
 * matches literally; the mask token and empty entries are left out. Replaces an earlier list. */
bd3_status tokenizer_set_added(tokenizer *t, const int32_t *ids, int n);

/* Encodes len bytes (any bytes). *ids is malloc'd; the caller frees it. With the gpt2 rules the
 * text "<|endoftext|>" becomes the eos id; with qwen2 the text of added tokens is plain text. */
bd3_status tokenizer_encode(const tokenizer *t, const char *text, size_t len, int32_t **ids, size_t *n_ids);
/* As tokenizer_encode; with special != 0 and the qwen2 rules, the text of every added token
 * becomes its id (longest match first), as a chat template or a caller building a prompt needs. */
bd3_status tokenizer_encode_special(const tokenizer *t, const char *text, size_t len, int special,
                                    int32_t **ids, size_t *n_ids);
/* Raw bytes of one token (decoded from the mapped form), or NULL for an unknown id or the mask. */
const char *tokenizer_token_bytes(const tokenizer *t, int32_t id, size_t *len);
int tokenizer_n_vocab(const tokenizer *t);

#endif
