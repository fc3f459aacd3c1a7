/* rng.c: the engine's random number generator, xoshiro256** seeded through splitmix64, so that a
 * seed reproduces a run on every platform. Depends on bd3.h only. */
#include "bd3.h"

static uint64_t rng_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void bd3_rng_seed(bd3_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = rng_splitmix64(&x);
    /* splitmix64 never yields four zero words in a row, so the state is never all zero. */
}

uint64_t bd3_rng_u64(bd3_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return result;
}

double bd3_rng_uniform(bd3_rng *r) { return (double)(bd3_rng_u64(r) >> 11) * 0x1.0p-53; }
