/* fuzz_tokenizer.c: fuzz target for the BPE tokenizer: encoding any bytes and decoding the ids
 * must give back exactly those bytes. Depends on model/tokenizer.h only. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Merges in GPT-2's mapped form (Ġ = space, Ċ = newline); they produce the tokens added below. */
static const char *const fuzz_merges[] = {
    "Ġ t", "h e", "Ġt he", "i n",   "Ġ a", "e r",  "Ġ Ġ", "ĠĠ ĠĠ", "Ċ Ċ",  "' s", "' t",
    "Ã ©", "a n", "an d",  "Ġ and", "0 0", "00 0", "Ġ 1", "ð Ł",   "ðŁ ĺ", "< |",
};

static tokenizer *fuzz_tok; /* built once */

static int is_printable_byte(int b)
{
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

static tokenizer *fuzz_build(void)
{
    static char store[256 + 64][32]; /* token strings */
    const char *toks[256 + 64];      /* pointers into store */
    size_t lens[256 + 64];           /* their lengths */
    int n = 0, n_merges = (int)(sizeof fuzz_merges / sizeof *fuzz_merges);
    for (int b = 0; b < 256; b++) {
        int cp = b, k = 0;
        if (!is_printable_byte(b)) {
            for (int i = 0; i < b; i++) k += !is_printable_byte(i);
            cp = 256 + k;
        }
        if (cp < 0x80) {
            store[n][0] = (char)cp;
            lens[n] = 1;
        } else {
            store[n][0] = (char)(0xC0 | (cp >> 6));
            store[n][1] = (char)(0x80 | (cp & 0x3F));
            lens[n] = 2;
        }
        n++;
    }
    size_t mlens[64];
    for (int i = 0; i < n_merges; i++) {
        const char *m = fuzz_merges[i], *sp = strchr(m, ' ');
        mlens[i] = strlen(m);
        size_t l = (size_t)(sp - m);
        memcpy(store[n], m, l);
        strcpy(store[n] + l, sp + 1);
        lens[n] = strlen(store[n]);
        n++;
    }
    strcpy(store[n], "<|endoftext|>");
    lens[n++] = 13;
    strcpy(store[n], "<|mask|>");
    lens[n++] = 8;
    for (int i = 0; i < n; i++) toks[i] = store[i];
    tokenizer *t = NULL;
    if (tokenizer_new(toks, lens, n, fuzz_merges, mlens, n_merges, n - 2, n - 1, &t, NULL, 0) != BD3_OK)
        abort();
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_tok) fuzz_tok = fuzz_build();
    int32_t *ids = NULL;
    size_t n = 0;
    if (tokenizer_encode(fuzz_tok, (const char *)data, size, &ids, &n) != BD3_OK) abort();
    if (n > size) abort(); /* every token covers at least one byte */
    uint8_t *back = malloc(size + 1);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        const char *b = tokenizer_token_bytes(fuzz_tok, ids[i], &l);
        if (!b || l == 0 || m + l > size) abort();
        memcpy(back + m, b, l);
        m += l;
    }
    if (m != size || (size && memcmp(back, data, size) != 0)) abort();
    free(back);
    free(ids);
    return 0;
}
