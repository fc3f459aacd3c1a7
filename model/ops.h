/* ops.h: helpers of ops.c shared with its tests, internal to the engine. Depends on bd3.h and libc only. */
#ifndef BD3_OPS_H
#define BD3_OPS_H

#include <stdint.h>
#include "bd3.h"

/* Degenerate repetition rule of bd3_continue: the output out[0..n) ends with a period of L
 * tokens (1 <= L <= 64) repeated so that the repeating tail spans at least 4 periods and at
 * least 16 tokens. Returns the number of trailing tokens to drop (every repetition after the
 * first occurrence of the period), or 0 when the tail is not degenerate. */
int ops_repeat_tail(const int32_t *out, int n);

/* Word-boundary class of a token for bd3_revise: 4 * kind(first byte) + kind(last byte), kinds
 * 0 letter or digit (or a byte >= 0x80), 1 blank, 2 line end, 3 other; OPS_CLASS_SPECIAL for
 * the end-of-text and mask tokens and ids without bytes. */
#define OPS_CLASS_SPECIAL 16u
unsigned ops_token_class(const bd3_model *m, int32_t id);

#endif
