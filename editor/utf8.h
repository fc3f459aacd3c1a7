/* utf8.h: encoding and decoding of single UTF-8 characters, and continuation-byte tests, for the
 * editor's key, prompt and typing code. Depends on nothing. */
#ifndef BD3ED_UTF8_H
#define BD3ED_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_MAX 4 /* bytes of the longest character */

/* Writes the UTF-8 form of cp (a valid code point: <= 0x10ffff, no surrogate) to out, which has
 * room for UTF8_MAX bytes; returns the byte count, 1 to 4. */
size_t utf8_encode(uint32_t cp, char *out);
/* Decodes one character of exactly len bytes (shortest form, no surrogate); -1 when s is not. */
long utf8_decode(const unsigned char *s, size_t len);
/* true for a continuation byte (10xxxxxx). */
static inline bool utf8_is_cont(unsigned char c) { return (c & 0xc0) == 0x80; }
/* Bytes of the character starting with lead byte c, judged from c alone (1 for a stray byte). */
size_t utf8_lead_len(unsigned char c);

#endif
