/* bf16.c: rounding of activations to bfloat16 and the bfloat16 matrix product in three variants
 * (AVX512_BF16's vdpbf16ps, AVX2 with FMA, portable C) that give identical results: the portable
 * and AVX2 ones follow vdpbf16ps step by step (see bf16.h). Depends on bf16.h, kernels.h, libc. */
#include "bf16.h"

#include <math.h>
#include <string.h>

#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BF16_X86    1
#define BF16_T_512  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#define BF16_T_AVX2 __attribute__((target("avx2,fma")))
#else
#define BF16_X86 0
#endif

#define BF16_INLINE     static inline __attribute__((always_inline))
#define BF16_MIN_NORMAL 0x1p-126f /* smallest normal float32 */

uint16_t bf16_from_f32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);        /* zero or subnormal */
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* NaN, made quiet */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16); /* ties to even; infinity stays */
}

float bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

int bf16_is_subnormal(uint16_t h) { return (h & 0x7f80u) == 0 && (h & 0x7fu) != 0; }

/* A float32 below the smallest normal in magnitude becomes a zero of its sign. */
static inline float bf16_ftz(float f) { return fabsf(f) < BF16_MIN_NORMAL ? copysignf(0.0f, f) : f; }

/* ---- activations ------------------------------------------------------------------------- */

static void bf16_round_rows_base(const float *x, int n, int k, int ldx, uint16_t *out, int ldo)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) out[(size_t)i * ldo + j] = bf16_from_f32(x[(size_t)i * ldx + j]);
}

#if BF16_X86
BF16_T_512
static void bf16_round_rows_512(const float *x, int n, int k, int ldx, uint16_t *out, int ldo)
{
    for (int i = 0; i < n; i++) {
        const float *xr = x + (size_t)i * ldx;
        uint16_t *o = out + (size_t)i * ldo;
        for (int j = 0; j < k; j += BF16_CHUNK) {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(xr + j + 16), _mm512_loadu_ps(xr + j));
            _mm512_storeu_si512((void *)(o + j), (__m512i)v);
        }
    }
}
#endif

void bf16_round_rows(const float *x, int n, int k, int ldx, uint16_t *out, int ldo)
{
#if BF16_X86
    if (kern_isa() >= KERN_ISA_AVX512_BF16) {
        bf16_round_rows_512(x, n, k, ldx, out, ldo);
        return;
    }
#endif
    bf16_round_rows_base(x, n, k, ldx, out, ldo);
}

/* ---- products ----------------------------------------------------------------------------- */

#define BF16_ROWS 8 /* activation rows per register block */

/* Gathers rows o0 .. o0 + lanes - 1 of w (lanes <= 16) into tile: pair p of lane l (elements 2p and
 * 2p + 1 of row o0 + l) at tile[2 (16 p + l)], lanes past the rows zero. */
static void bf16_gather(const uint16_t *w, int ldw, int o0, int lanes, int k, uint16_t *tile)
{
    uint32_t *t = (uint32_t *)(void *)tile;
    for (int l = 0; l < BF16_TILE; l++) {
        if (l >= lanes) {
            for (int p = 0; p < k / 2; p++) t[p * BF16_TILE + l] = 0;
            continue;
        }
        const uint16_t *wr = w + (size_t)(o0 + l) * (size_t)ldw;
        for (int p = 0; p < k / 2; p++) {
            uint32_t v;
            memcpy(&v, wr + 2 * p, sizeof v);
            t[p * BF16_TILE + l] = v;
        }
    }
}

static inline void bf16_store(float *yo, float s, float beta) { *yo = beta != 0.0f ? fmaf(beta, *yo, s) : s; }

/* One gathered tile (lanes output rows from o0) times n activation rows. */
static void bf16_tile_base(const uint16_t *tile, int lanes, int n, int k, const uint16_t *x, int ldx,
                           float beta, float *y, int ldy)
{
    for (int i = 0; i < n; i++) {
        const uint16_t *xr = x + (size_t)i * ldx;
        for (int l = 0; l < lanes; l++) {
            float acc = 0.0f;
            for (int p = 0; p < k / 2; p++) {
                const uint16_t *wp = tile + 2 * (p * BF16_TILE + l);
                acc = bf16_ftz(fmaf(bf16_to_f32(wp[1]), bf16_to_f32(xr[2 * p + 1]), acc));
                acc = bf16_ftz(fmaf(bf16_to_f32(wp[0]), bf16_to_f32(xr[2 * p]), acc));
            }
            bf16_store(y + (size_t)i * ldy + l, acc, beta);
        }
    }
}

#if BF16_X86
static inline int32_t bf16_load_pair(const uint16_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* R activation rows (R <= BF16_ROWS) times one tile: per pair, one vector of the tile's 16 lanes
 * and the row's pair broadcast to every lane. */
BF16_INLINE BF16_T_512 void bf16_rows_512(int R, const uint16_t *tile, int k, const uint16_t *x, size_t ldx,
                                          float beta, float *y, size_t ldy, __mmask16 mask)
{
    __m512 acc[BF16_ROWS];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
    for (int p = 0; p < k / 2; p++) {
        __m512bh wv = (__m512bh)_mm512_load_si512((const void *)(tile + 2 * p * BF16_TILE));
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512bh xv = (__m512bh)_mm512_set1_epi32(bf16_load_pair(x + r * ldx + 2 * p));
            acc[r] = _mm512_dpbf16_ps(acc[r], wv, xv);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        float *yr = y + r * ldy;
        __m512 out = acc[r];
        if (beta != 0.0f) out = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(mask, yr), out);
        _mm512_mask_storeu_ps(yr, mask, out);
    }
}

/* bf16_gather with 16 x 16 transposes of 32-bit pairs in registers. */
BF16_T_512
static void bf16_gather_512(const uint16_t *w, int ldw, int o0, int lanes, int k, uint16_t *tile)
{
    for (int p0 = 0; p0 < k / 2; p0 += 16) {
        __m512i r[16], t[16], u[16];
#pragma GCC unroll 16
        for (int l = 0; l < 16; l++)
            r[l] = l < lanes ? _mm512_loadu_si512((const void *)(w + (size_t)(o0 + l) * (size_t)ldw + 2 * p0))
                             : _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int l = 0; l < 16; l += 2) { /* within 128-bit lanes: pairs 0,1 / 2,3 of rows l, l+1 */
            t[l] = _mm512_unpacklo_epi32(r[l], r[l + 1]);
            t[l + 1] = _mm512_unpackhi_epi32(r[l], r[l + 1]);
        }
#pragma GCC unroll 4
        for (int l = 0; l < 16; l += 4) { /* pair j of 4 rows in each 128-bit lane of u[l + j] */
            u[l] = _mm512_unpacklo_epi64(t[l], t[l + 2]);
            u[l + 1] = _mm512_unpackhi_epi64(t[l], t[l + 2]);
            u[l + 2] = _mm512_unpacklo_epi64(t[l + 1], t[l + 3]);
            u[l + 3] = _mm512_unpackhi_epi64(t[l + 1], t[l + 3]);
        }
        __m512i *dst = (__m512i *)(void *)(tile + 2 * (size_t)p0 * BF16_TILE);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) { /* pairs j, j + 4, j + 8, j + 12 from the four row groups */
            __m512i v0 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88),
                    v1 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xdd);
            __m512i v2 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x88);
            __m512i v3 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xdd);
            _mm512_store_si512(dst + j, _mm512_shuffle_i32x4(v0, v2, 0x88));
            _mm512_store_si512(dst + j + 8, _mm512_shuffle_i32x4(v0, v2, 0xdd));
            _mm512_store_si512(dst + j + 4, _mm512_shuffle_i32x4(v1, v3, 0x88));
            _mm512_store_si512(dst + j + 12, _mm512_shuffle_i32x4(v1, v3, 0xdd));
        }
    }
}

BF16_T_512
static void bf16_tile_512(const uint16_t *tile, int lanes, int n, int k, const uint16_t *x, int ldx,
                          float beta, float *y, int ldy)
{
    __mmask16 mask = (__mmask16)((1u << lanes) - 1u);
    size_t lx = (size_t)ldx, ly = (size_t)ldy;
    int i = 0;
    for (; i + BF16_ROWS <= n; i += BF16_ROWS)
        bf16_rows_512(BF16_ROWS, tile, k, x + i * lx, lx, beta, y + i * ly, ly, mask);
    for (; i + 4 <= n; i += 4) bf16_rows_512(4, tile, k, x + i * lx, lx, beta, y + i * ly, ly, mask);
    for (; i < n; i++) bf16_rows_512(1, tile, k, x + i * lx, lx, beta, y + i * ly, ly, mask);
}

/* The even (low half of each 32-bit lane) and odd elements of 8 pairs of bfloat16, as floats. */
BF16_INLINE BF16_T_AVX2 __m256 bf16_even_avx2(__m256i v)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}
BF16_INLINE BF16_T_AVX2 __m256 bf16_odd_avx2(__m256i v)
{
    return _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int)0xffff0000u)));
}

/* fma(a, b, acc) with a result below the smallest normal made a zero of its sign. */
BF16_INLINE BF16_T_AVX2 __m256 bf16_fma_ftz_avx2(__m256 a, __m256 b, __m256 acc)
{
    const __m256 sign = _mm256_set1_ps(-0.0f), tiny = _mm256_set1_ps(BF16_MIN_NORMAL);
    __m256 r = _mm256_fmadd_ps(a, b, acc);
    __m256 keep = _mm256_cmp_ps(_mm256_andnot_ps(sign, r), tiny, _CMP_GE_OQ);
    return _mm256_and_ps(r, _mm256_or_ps(keep, sign));
}

/* R activation rows (R <= 4) times one tile, lanes 0..7 and 8..15 in two registers. */
BF16_INLINE BF16_T_AVX2 void bf16_rows_avx2(int R, const uint16_t *tile, int k, const uint16_t *x, size_t ldx,
                                            float beta, float *y, size_t ldy, int lanes)
{
    __m256 acc[4][2];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int p = 0; p < k / 2; p++) {
        const __m256i *tv = (const __m256i *)(const void *)(tile + 2 * p * BF16_TILE);
        __m256i v0 = _mm256_load_si256(tv), v1 = _mm256_load_si256(tv + 1);
        __m256 we0 = bf16_even_avx2(v0), wo0 = bf16_odd_avx2(v0), we1 = bf16_even_avx2(v1),
               wo1 = bf16_odd_avx2(v1);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m256i xv = _mm256_set1_epi32(bf16_load_pair(x + r * ldx + 2 * p));
            __m256 xe = bf16_even_avx2(xv), xo = bf16_odd_avx2(xv);
            acc[r][0] = bf16_fma_ftz_avx2(we0, xe, bf16_fma_ftz_avx2(wo0, xo, acc[r][0]));
            acc[r][1] = bf16_fma_ftz_avx2(we1, xe, bf16_fma_ftz_avx2(wo1, xo, acc[r][1]));
        }
    }
    for (int r = 0; r < R; r++) {
        float tmp[16];
        _mm256_storeu_ps(tmp, acc[r][0]);
        _mm256_storeu_ps(tmp + 8, acc[r][1]);
        for (int l = 0; l < lanes; l++) bf16_store(y + r * ldy + l, tmp[l], beta);
    }
}

BF16_T_AVX2
static void bf16_tile_avx2(const uint16_t *tile, int lanes, int n, int k, const uint16_t *x, int ldx,
                           float beta, float *y, int ldy)
{
    size_t lx = (size_t)ldx, ly = (size_t)ldy;
    int i = 0;
    for (; i + 4 <= n; i += 4) bf16_rows_avx2(4, tile, k, x + i * lx, lx, beta, y + i * ly, ly, lanes);
    for (; i < n; i++) bf16_rows_avx2(1, tile, k, x + i * lx, lx, beta, y + i * ly, ly, lanes);
}
#endif

void bf16_matmul(const uint16_t *w, int ldw, int o0, int o1, int n, int k, const uint16_t *x, int ldx,
                 float beta, float *y, int ldy, uint16_t *tile)
{
#if BF16_X86
    enum kern_isa isa = kern_isa();
#endif
    for (int o = o0; o < o1; o += BF16_TILE) {
        int lanes = o1 - o < BF16_TILE ? o1 - o : BF16_TILE;
#if BF16_X86
        if (isa >= KERN_ISA_AVX512_BF16) {
            bf16_gather_512(w, ldw, o, lanes, k, tile);
            bf16_tile_512(tile, lanes, n, k, x, ldx, beta, y + o, ldy);
            continue;
        }
        bf16_gather(w, ldw, o, lanes, k, tile);
        if (isa >= KERN_ISA_AVX2) {
            bf16_tile_avx2(tile, lanes, n, k, x, ldx, beta, y + o, ldy);
            continue;
        }
#else
        bf16_gather(w, ldw, o, lanes, k, tile);
#endif
        bf16_tile_base(tile, lanes, n, k, x, ldx, beta, y + o, ldy);
    }
}
