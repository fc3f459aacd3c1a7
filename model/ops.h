/* ops.h: helpers of ops.c shared with its tests, internal to the engine. Depends on libc only. */
#ifndef BD3_OPS_H
#define BD3_OPS_H

#include <stdint.h>

/* Degenerate repetition rule of bd3_continue: the output out[0..n) ends with a period of L
 * tokens (1 <= L <= 64) repeated so that the repeating tail spans at least 4 periods and at
 * least 16 tokens. Returns the number of trailing tokens to drop (every repetition after the
 * first occurrence of the period), or 0 when the tail is not degenerate. */
int ops_repeat_tail(const int32_t *out, int n);

#endif
