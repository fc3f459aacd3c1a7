/* quant.c: packing of Q8_0 weights into tiles, quantization of activations, and the block-scaled
 * int8 matrix product in four variants (AVX-512 VNNI, AVX-VNNI, AVX2, portable C) that give
 * identical results. Depends on quant.h, kernels.h (instruction set) and libc only. */
#include "quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define QUANT_X86    1
#define QUANT_T_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512dq")))
#define QUANT_T_AVX2 __attribute__((target("avx2,fma,f16c")))
#else
#define QUANT_X86 0
#endif

#define QUANT_ROWS 8 /* rows of activations per register block */

static float quant_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: value man * 2^-24 */
            float v = (float)man * 0x1p-24f;
            memcpy(&bits, &v, sizeof bits);
            bits |= sign;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Nearest f16 (ties to even) of a finite, non-negative float below 65520. */
static uint16_t quant_f32_to_f16(float f)
{
    if (!(f > 0.0f)) return 0;
    if (f < 0x1p-14f) { /* subnormal f16: units of 2^-24, rounded to nearest even */
        float u = f * 0x1p24f;
        return (uint16_t)nearbyintf(u);
    }
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    uint32_t exp = (b >> 23) & 0xff, man = b & 0x7fffff;
    uint32_t h = ((exp - 112) << 10) | (man >> 13), rest = man & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++; /* a carry into the exponent is right */
    return h > 0x7bff ? 0x7bff : (uint16_t)h;
}

/* Allocates the packed buffers of a rows x cols matrix, scales zero and values 128 (zero). */
static bd3_status quant_alloc(int rows, int cols, quant_matrix *out)
{
    memset(out, 0, sizeof *out);
    if (rows < 1 || cols < QUANT_BLOCK || cols % QUANT_BLOCK) return BD3_E_ARG;
    out->rows = rows;
    out->cols = cols;
    out->n_tiles = (rows + QUANT_TILE - 1) / QUANT_TILE;
    out->n_blocks = cols / QUANT_BLOCK;
    out->ld_blocks = out->n_blocks;
    size_t tb = (size_t)out->n_tiles * (size_t)out->n_blocks;
    void *q = NULL, *d = NULL;
    if (posix_memalign(&q, 64, tb * QUANT_TILE_BYTES) ||
        posix_memalign(&d, 64, tb * QUANT_TILE * sizeof(float))) {
        free(q);
        return BD3_E_NOMEM;
    }
    out->q = q;
    out->d = d;
    memset(out->q, 128, tb * QUANT_TILE_BYTES);
    memset(out->d, 0, tb * QUANT_TILE * sizeof(float));
    return BD3_OK;
}

void quant_set_block(quant_matrix *m, int r, int b, const int8_t *v, float d)
{
    int t = r / QUANT_TILE, lane = r % QUANT_TILE;
    size_t tb = (size_t)t * (size_t)m->ld_blocks + (size_t)b;
    m->d[tb * QUANT_TILE + (size_t)lane] = d;
    uint8_t *dst = m->q + tb * QUANT_TILE_BYTES;
    for (int j = 0; j < QUANT_BLOCK / 4; j++)
        for (int e = 0; e < 4; e++) dst[(j * QUANT_TILE + lane) * 4 + e] = (uint8_t)(v[4 * j + e] + 128);
}

bd3_status quant_pack_q8_0(const void *src, int rows, int cols, quant_matrix *out)
{
    bd3_status st = quant_alloc(rows, cols, out);
    if (st != BD3_OK) return st;
    const uint8_t *p = src;
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < out->n_blocks; b++, p += 2 + QUANT_BLOCK) {
            int8_t v[QUANT_BLOCK];
            memcpy(v, p + 2, sizeof v);
            quant_set_block(out, r, b, v, quant_f16_to_f32((uint16_t)(p[0] | p[1] << 8)));
        }
    return BD3_OK;
}

bd3_status quant_pack_q4_0(const void *src, int rows, int cols, quant_matrix *out)
{
    memset(out, 0, sizeof *out);
    if (rows < 1 || cols < QUANT_BLOCK || cols % QUANT_BLOCK) return BD3_E_ARG;
    out->rows = rows;
    out->cols = cols;
    out->n_tiles = (rows + QUANT_TILE - 1) / QUANT_TILE;
    out->n_blocks = cols / QUANT_BLOCK;
    out->ld_blocks = out->n_blocks;
    out->bits = 4;
    size_t tb = (size_t)out->n_tiles * (size_t)out->n_blocks;
    void *q = NULL, *h = NULL;
    if (posix_memalign(&q, 64, tb * QUANT_TILE_BYTES4) ||
        posix_memalign(&h, 64, tb * QUANT_TILE * sizeof(uint16_t))) {
        free(q);
        return BD3_E_NOMEM;
    }
    out->q = q;
    out->h = h;
    memset(out->q, 0x88, tb * QUANT_TILE_BYTES4); /* rows past the end: code 8 (zero), scale 0 */
    memset(out->h, 0, tb * QUANT_TILE * sizeof(uint16_t));
    const uint8_t *p = src;
    for (int r = 0; r < rows; r++) {
        int t = r / QUANT_TILE, lane = r % QUANT_TILE;
        for (int b = 0; b < out->n_blocks; b++, p += 2 + QUANT_BLOCK / 2) {
            size_t tbi = (size_t)t * (size_t)out->ld_blocks + (size_t)b;
            out->h[tbi * QUANT_TILE + (size_t)lane] = (uint16_t)(p[0] | p[1] << 8);
            uint8_t *dst = out->q + tbi * QUANT_TILE_BYTES4;
            for (int k = 0; k < QUANT_BLOCK; k++) {
                int code = k < 16 ? p[2 + k] & 0x0f : p[2 + k - 16] >> 4;
                int pos = ((k / 4) * QUANT_TILE + lane) * 4 + k % 4; /* byte of the 8-bit layout */
                if (pos < QUANT_TILE_BYTES4)
                    dst[pos] = (uint8_t)((dst[pos] & 0xf0) | code);
                else
                    dst[pos - QUANT_TILE_BYTES4] =
                        (uint8_t)((dst[pos - QUANT_TILE_BYTES4] & 0x0f) | code << 4);
            }
        }
    }
    return BD3_OK;
}

bd3_status quant_pack_f32(const float *src, int rows, int cols, quant_matrix *out)
{
    bd3_status st = quant_alloc(rows, cols, out);
    if (st != BD3_OK) return st;
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < out->n_blocks; b++) {
            const float *x = src + (size_t)r * (size_t)cols + (size_t)b * QUANT_BLOCK;
            float amax = 0.0f;
            for (int e = 0; e < QUANT_BLOCK; e++) amax = fabsf(x[e]) > amax ? fabsf(x[e]) : amax;
            uint16_t d16 = quant_f32_to_f16(amax / 127.0f);
            float d = quant_f16_to_f32(d16);
            int8_t v[QUANT_BLOCK];
            for (int e = 0; e < QUANT_BLOCK; e++) {
                float q = d > 0.0f ? nearbyintf(x[e] / d) : 0.0f;
                v[e] = (int8_t)(q > 127.0f ? 127 : q < -127.0f ? -127 : q);
            }
            quant_set_block(out, r, b, v, d);
        }
    return BD3_OK;
}

void quant_pack_rows(const int8_t *q, int ldq, const float *d, int ldd, int rows, int cols, quant_matrix *m)
{
    m->rows = rows;
    m->cols = cols;
    m->n_tiles = (rows + QUANT_TILE - 1) / QUANT_TILE;
    m->n_blocks = cols / QUANT_BLOCK;
    for (int r = 0; r < m->n_tiles * QUANT_TILE; r++)
        for (int b = 0; b < m->n_blocks; b++) {
            static const int8_t zero[QUANT_BLOCK];
            int real = r < rows;
            quant_set_block(m, r, b, real ? q + (size_t)r * ldq + (size_t)b * QUANT_BLOCK : zero,
                            real ? d[(size_t)r * ldd + b] : 0.0f);
        }
}

void quant_matrix_free(quant_matrix *m)
{
    if (!m) return;
    free(m->q);
    free(m->d);
    free(m->h);
    m->q = NULL;
    m->d = NULL;
    m->h = NULL;
}

size_t quant_matrix_bytes(const quant_matrix *m)
{
    size_t tb = (size_t)m->n_tiles * (size_t)m->ld_blocks;
    if (m->bits == 4) return tb * QUANT_TILE_BYTES4 + tb * QUANT_TILE * sizeof(uint16_t);
    return tb * QUANT_TILE_BYTES + tb * QUANT_TILE * sizeof(float);
}

float quant_matrix_at(const quant_matrix *m, int row, int col)
{
    int t = row / QUANT_TILE, lane = row % QUANT_TILE, b = col / QUANT_BLOCK, k = col % QUANT_BLOCK;
    size_t tb = (size_t)t * (size_t)m->ld_blocks + (size_t)b;
    if (m->bits == 4) {
        int pos = ((k / 4) * QUANT_TILE + lane) * 4 + k % 4;
        uint8_t byte = m->q[tb * QUANT_TILE_BYTES4 + (size_t)(pos % QUANT_TILE_BYTES4)];
        int code = pos < QUANT_TILE_BYTES4 ? byte & 0x0f : byte >> 4;
        return quant_f16_to_f32(m->h[tb * QUANT_TILE + (size_t)lane]) * (float)(code - 8);
    }
    int v = m->q[tb * QUANT_TILE_BYTES + (size_t)(((k / 4) * QUANT_TILE + lane) * 4 + k % 4)] - 128;
    return m->d[tb * QUANT_TILE + (size_t)lane] * (float)v;
}

/* ---- activations ------------------------------------------------------------------------- */

/* Nearest integer, ties to even, of |v| <= 2^22: the float addition rounds as cvtps2dq does. */
static inline float quant_round(float v) { return (v + 12582912.0f) - 12582912.0f; }

static void quant_rows_base(const float *x, int n, int k, int ldx, int8_t *q, float *d, int32_t *s)
{
    int nb = k / QUANT_BLOCK;
    for (int i = 0; i < n; i++)
        for (int b = 0; b < nb; b++) {
            const float *xb = x + (size_t)i * (size_t)ldx + (size_t)b * QUANT_BLOCK;
            int8_t *qb = q + (size_t)i * (size_t)k + (size_t)b * QUANT_BLOCK;
            float amax = 0.0f;
            for (int e = 0; e < QUANT_BLOCK; e++) amax = fabsf(xb[e]) > amax ? fabsf(xb[e]) : amax;
            float id = amax > 0.0f ? 127.0f / amax : 0.0f;
            int sum = 0;
            for (int e = 0; e < QUANT_BLOCK; e++) {
                int v = (int)quant_round(xb[e] * id);
                qb[e] = (int8_t)v;
                sum += v;
            }
            d[(size_t)i * nb + b] = amax / 127.0f;
            s[(size_t)i * nb + b] = -128 * sum;
        }
}

#if QUANT_X86
QUANT_T_VNNI
static void quant_rows_avx512(const float *x, int n, int k, int ldx, int8_t *q, float *d, int32_t *s)
{
    int nb = k / QUANT_BLOCK;
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (int i = 0; i < n; i++)
        for (int b = 0; b < nb; b++) {
            const float *xb = x + (size_t)i * (size_t)ldx + (size_t)b * QUANT_BLOCK;
            int8_t *qb = q + (size_t)i * (size_t)k + (size_t)b * QUANT_BLOCK;
            __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
            __m512 a = _mm512_max_ps(_mm512_andnot_ps(sign, v0), _mm512_andnot_ps(sign, v1));
            float amax = _mm512_reduce_max_ps(a);
            float id = amax > 0.0f ? 127.0f / amax : 0.0f;
            __m512 vid = _mm512_set1_ps(id);
            __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, vid));
            __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, vid));
            _mm_storeu_si128((__m128i *)(void *)qb, _mm512_cvtepi32_epi8(q0));
            _mm_storeu_si128((__m128i *)(void *)(qb + 16), _mm512_cvtepi32_epi8(q1));
            d[(size_t)i * nb + b] = amax / 127.0f;
            s[(size_t)i * nb + b] = -128 * _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
        }
}

/* quant_rows with AVX2: 4 vectors of 8 values per block; the int32 values (within +-127) are packed
 * to bytes by two saturating packs, which interleave 128-bit halves, and one permutation. */
QUANT_T_AVX2
static void quant_rows_x_avx2(const float *x, int n, int k, int ldx, int8_t *q, float *d, int32_t *s)
{
    int nb = k / QUANT_BLOCK;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int i = 0; i < n; i++)
        for (int b = 0; b < nb; b++) {
            const float *xb = x + (size_t)i * (size_t)ldx + (size_t)b * QUANT_BLOCK;
            int8_t *qb = q + (size_t)i * (size_t)k + (size_t)b * QUANT_BLOCK;
            __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8);
            __m256 v2 = _mm256_loadu_ps(xb + 16), v3 = _mm256_loadu_ps(xb + 24);
            __m256 a = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                     _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
            __m128 h = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
            h = _mm_max_ps(h, _mm_movehl_ps(h, h));
            h = _mm_max_ss(h, _mm_movehdup_ps(h));
            float amax = _mm_cvtss_f32(h);
            float id = amax > 0.0f ? 127.0f / amax : 0.0f;
            __m256 vid = _mm256_set1_ps(id);
            __m256i q0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, vid));
            __m256i q1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, vid));
            __m256i q2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, vid));
            __m256i q3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, vid));
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
            _mm256_storeu_si256((__m256i *)(void *)qb, _mm256_permutevar8x32_epi32(p, order));
            __m256i t = _mm256_add_epi32(_mm256_add_epi32(q0, q1), _mm256_add_epi32(q2, q3));
            __m128i u = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
            u = _mm_add_epi32(u, _mm_shuffle_epi32(u, 0x4e));
            u = _mm_add_epi32(u, _mm_shuffle_epi32(u, 0xb1));
            d[(size_t)i * nb + b] = amax / 127.0f;
            s[(size_t)i * nb + b] = -128 * _mm_cvtsi128_si32(u);
        }
}
#endif

void quant_rows(const float *x, int n, int k, int ldx, int8_t *q, float *d, int32_t *s)
{
#if QUANT_X86
    if (kern_isa() >= KERN_ISA_AVX512_VNNI) {
        quant_rows_avx512(x, n, k, ldx, q, d, s);
        return;
    }
    if (kern_isa() >= KERN_ISA_AVX2) {
        quant_rows_x_avx2(x, n, k, ldx, q, d, s);
        return;
    }
#endif
    quant_rows_base(x, n, k, ldx, q, d, s);
}

/* ---- products ---------------------------------------------------------------------------- */

/* One tile (16 output rows from o0, lanes valid below n_out) for n activation rows. */
static void quant_tile_base(const quant_matrix *w, int t, int n, const int8_t *q, const float *d, float beta,
                            float *y, int ldy)
{
    int nb = w->n_blocks, k = w->cols, o0 = t * QUANT_TILE;
    int lanes = w->rows - o0 < QUANT_TILE ? w->rows - o0 : QUANT_TILE;
    const uint8_t *wt = w->q + (size_t)t * w->ld_blocks * QUANT_TILE_BYTES;
    const float *dt = w->d + (size_t)t * w->ld_blocks * QUANT_TILE;
    for (int i = 0; i < n; i++)
        for (int lane = 0; lane < lanes; lane++) {
            float f = 0.0f;
            for (int b = 0; b < nb; b++) {
                const uint8_t *wb = wt + (size_t)b * QUANT_TILE_BYTES;
                const int8_t *qb = q + (size_t)i * k + (size_t)b * QUANT_BLOCK;
                int32_t acc = 0;
                for (int j = 0; j < QUANT_BLOCK / 4; j++)
                    for (int e = 0; e < 4; e++)
                        acc += ((int)wb[(j * QUANT_TILE + lane) * 4 + e] - 128) * qb[4 * j + e];
                float sc = dt[(size_t)b * QUANT_TILE + lane] * d[(size_t)i * nb + b];
                f = fmaf((float)acc, sc, f);
            }
            float *yo = y + (size_t)i * ldy + o0 + lane;
            *yo = beta != 0.0f ? fmaf(beta, *yo, f) : f;
        }
}

/* The code (0..15) of lane `lane`, column 4j + e of a Q4_0 tile block of 256 bytes. */
static inline int quant_code4(const uint8_t *wb, int lane, int j, int e)
{
    int pos = (j * QUANT_TILE + lane) * 4 + e;
    return pos < QUANT_TILE_BYTES4 ? wb[pos] & 0x0f : wb[pos - QUANT_TILE_BYTES4] >> 4;
}

/* One Q4_0 tile for n activation rows: the same sums and float operations as the vector kernels. */
static void quant_tile4_base(const quant_matrix *w, int t, int n, const int8_t *q, const float *d, float beta,
                             float *y, int ldy)
{
    int nb = w->n_blocks, k = w->cols, o0 = t * QUANT_TILE;
    int lanes = w->rows - o0 < QUANT_TILE ? w->rows - o0 : QUANT_TILE;
    const uint8_t *wt = w->q + (size_t)t * w->ld_blocks * QUANT_TILE_BYTES4;
    const uint16_t *ht = w->h + (size_t)t * w->ld_blocks * QUANT_TILE;
    for (int i = 0; i < n; i++)
        for (int lane = 0; lane < lanes; lane++) {
            float f = 0.0f;
            for (int b = 0; b < nb; b++) {
                const uint8_t *wb = wt + (size_t)b * QUANT_TILE_BYTES4;
                const int8_t *qb = q + (size_t)i * k + (size_t)b * QUANT_BLOCK;
                int32_t acc = 0;
                for (int j = 0; j < QUANT_BLOCK / 4; j++)
                    for (int e = 0; e < 4; e++) acc += (quant_code4(wb, lane, j, e) - 8) * qb[4 * j + e];
                float sc = quant_f16_to_f32(ht[(size_t)b * QUANT_TILE + lane]) * d[(size_t)i * nb + b];
                f = fmaf((float)acc, sc, f);
            }
            float *yo = y + (size_t)i * ldy + o0 + lane;
            *yo = beta != 0.0f ? fmaf(beta, *yo, f) : f;
        }
}

#if QUANT_X86
static inline int32_t quant_load4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* acc + the products of one block: the tile's 8 weight vectors (4 bytes per lane each) times the
 * row's 32 int8 values, 4 at a time broadcast to every lane. Shared by Q8_0 and Q4_0. */
static inline __attribute__((always_inline)) QUANT_T_VNNI __m512i
quant_dot_block_vnni(__m512i acc, __m512i w0, __m512i w1, __m512i w2, __m512i w3, __m512i w4, __m512i w5,
                     __m512i w6, __m512i w7, const int8_t *qb)
{
    acc = _mm512_dpbusd_epi32(acc, w0, _mm512_set1_epi32(quant_load4(qb)));
    acc = _mm512_dpbusd_epi32(acc, w1, _mm512_set1_epi32(quant_load4(qb + 4)));
    acc = _mm512_dpbusd_epi32(acc, w2, _mm512_set1_epi32(quant_load4(qb + 8)));
    acc = _mm512_dpbusd_epi32(acc, w3, _mm512_set1_epi32(quant_load4(qb + 12)));
    acc = _mm512_dpbusd_epi32(acc, w4, _mm512_set1_epi32(quant_load4(qb + 16)));
    acc = _mm512_dpbusd_epi32(acc, w5, _mm512_set1_epi32(quant_load4(qb + 20)));
    acc = _mm512_dpbusd_epi32(acc, w6, _mm512_set1_epi32(quant_load4(qb + 24)));
    return _mm512_dpbusd_epi32(acc, w7, _mm512_set1_epi32(quant_load4(qb + 28)));
}

/* y = f (+ beta y) for R rows on the tile's lanes (mask). */
static inline __attribute__((always_inline)) QUANT_T_VNNI void
quant_store_vnni(int R, const __m512 *f, float beta, float *y, size_t ldy, __mmask16 mask)
{
    for (int r = 0; r < R; r++) {
        float *yr = y + (size_t)r * ldy;
        __m512 out = f[r];
        if (beta != 0.0f) out = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(mask, yr), out);
        _mm512_mask_storeu_ps(yr, mask, out);
    }
}

/* R rows (R <= QUANT_ROWS) of one tile: the tile's 8 vectors of weights per block are loaded once
 * and multiplied with each row's 4-value groups broadcast to every lane. */
static inline __attribute__((always_inline)) QUANT_T_VNNI void
quant_rows_vnni(int R, const uint8_t *wt, const float *dt, int nb, const int8_t *q, size_t ldq,
                const float *d, const int32_t *s, float beta, float *y, size_t ldy, __mmask16 mask)
{
    __m512 f[QUANT_ROWS];
    for (int r = 0; r < R; r++) f[r] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const __m512i *wb = (const __m512i *)(const void *)(wt + (size_t)b * QUANT_TILE_BYTES);
        __m512i w0 = _mm512_load_si512(wb), w1 = _mm512_load_si512(wb + 1);
        __m512i w2 = _mm512_load_si512(wb + 2), w3 = _mm512_load_si512(wb + 3);
        __m512i w4 = _mm512_load_si512(wb + 4), w5 = _mm512_load_si512(wb + 5);
        __m512i w6 = _mm512_load_si512(wb + 6), w7 = _mm512_load_si512(wb + 7);
        __m512 dw = _mm512_load_ps(dt + (size_t)b * QUANT_TILE);
        for (int r = 0; r < R; r++) {
            const int8_t *qb = q + (size_t)r * ldq + (size_t)b * QUANT_BLOCK;
            size_t sb = (size_t)r * (size_t)nb + (size_t)b;
            /* sum (w + 128) q over the block, less 128 sum q: sum w q, exactly */
            __m512i acc = _mm512_set1_epi32(s[sb]);
            acc = quant_dot_block_vnni(acc, w0, w1, w2, w3, w4, w5, w6, w7, qb);
            __m512 sc = _mm512_mul_ps(dw, _mm512_set1_ps(d[sb]));
            f[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), sc, f[r]);
        }
    }
    quant_store_vnni(R, f, beta, y, ldy, mask);
}

/* y = f (+ beta y) for R rows on the first nl (<= 8) lanes of a half tile. */
static inline __attribute__((always_inline)) QUANT_T_AVX2 void
quant_store_avx2(int R, const __m256 *f, float beta, float *y, size_t ldy, int nl)
{
    for (int r = 0; r < R; r++) {
        float *yr = y + (size_t)r * ldy;
        float tmp[8];
        _mm256_storeu_ps(tmp, f[r]);
        for (int l = 0; l < nl; l++) yr[l] = beta != 0.0f ? fmaf(beta, yr[l], tmp[l]) : tmp[l];
    }
}

/* The same with AVX2 (no int8 dot product instruction): each half tile of 8 lanes, products of
 * |w| and q with w's sign (vpmaddubsw, at most 2 * 128 * 127 per pair: no saturation). */
static inline __attribute__((always_inline)) QUANT_T_AVX2 void
quant_rows_avx2(int R, const uint8_t *wt, const float *dt, int nb, const int8_t *q, size_t ldq,
                const float *d, float beta, float *y, size_t ldy, int lanes)
{
    const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8((char)0x80);
    for (int h = 0; h < 2 && 8 * h < lanes; h++) {
        __m256 f[QUANT_ROWS];
        for (int r = 0; r < R; r++) f[r] = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            const uint8_t *wb = wt + (size_t)b * QUANT_TILE_BYTES + 32 * h;
            __m256i ws[8], wa[8];
            for (int j = 0; j < 8; j++) {
                ws[j] =
                    _mm256_xor_si256(_mm256_load_si256((const __m256i *)(const void *)(wb + 64 * j)), flip);
                wa[j] = _mm256_abs_epi8(ws[j]);
            }
            __m256 dw = _mm256_load_ps(dt + (size_t)b * QUANT_TILE + 8 * h);
            for (int r = 0; r < R; r++) {
                const int8_t *qb = q + (size_t)r * ldq + (size_t)b * QUANT_BLOCK;
                __m256i acc = _mm256_setzero_si256();
                for (int j = 0; j < 8; j++) {
                    __m256i x = _mm256_sign_epi8(_mm256_set1_epi32(quant_load4(qb + 4 * j)), ws[j]);
                    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(wa[j], x), ones));
                }
                __m256 sc = _mm256_mul_ps(dw, _mm256_set1_ps(d[(size_t)r * nb + b]));
                f[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), sc, f[r]);
            }
        }
        quant_store_avx2(R, f, beta, y + 8 * h, ldy, lanes - 8 * h < 8 ? lanes - 8 * h : 8);
    }
}

QUANT_T_AVX2
static void quant_tile_avx2(const quant_matrix *w, int t, int n, const int8_t *q, const float *d, float beta,
                            float *y, int ldy)
{
    int nb = w->n_blocks, k = w->cols, o0 = t * QUANT_TILE;
    int lanes = w->rows - o0 < QUANT_TILE ? w->rows - o0 : QUANT_TILE;
    const uint8_t *wt = w->q + (size_t)t * w->ld_blocks * QUANT_TILE_BYTES;
    const float *dt = w->d + (size_t)t * w->ld_blocks * QUANT_TILE;
    int i = 0;
    for (; i + 4 <= n; i += 4)
        quant_rows_avx2(4, wt, dt, nb, q + (size_t)i * k, (size_t)k, d + (size_t)i * nb, beta,
                        y + (size_t)i * ldy + o0, (size_t)ldy, lanes);
    for (; i < n; i++)
        quant_rows_avx2(1, wt, dt, nb, q + (size_t)i * k, (size_t)k, d + (size_t)i * nb, beta,
                        y + (size_t)i * ldy + o0, (size_t)ldy, lanes);
}

/* Q4_0 rows: each block's 4 vectors of nibbles give the 8 vectors of codes (0..15); the sum of
 * code * q less 8 sum q (s / 16, s being -128 sum q) is the exact sum of (code - 8) q. */
static inline __attribute__((always_inline)) QUANT_T_VNNI void
quant_rows4_vnni(int R, const uint8_t *wt, const uint16_t *ht, int nb, const int8_t *q, size_t ldq,
                 const float *d, const int32_t *s, float beta, float *y, size_t ldy, __mmask16 mask)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m512 f[QUANT_ROWS];
    for (int r = 0; r < R; r++) f[r] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const __m512i *wb = (const __m512i *)(const void *)(wt + (size_t)b * QUANT_TILE_BYTES4);
        __m512i v0 = _mm512_load_si512(wb), v1 = _mm512_load_si512(wb + 1);
        __m512i v2 = _mm512_load_si512(wb + 2), v3 = _mm512_load_si512(wb + 3);
        __m512i w0 = _mm512_and_si512(v0, m4), w1 = _mm512_and_si512(v1, m4);
        __m512i w2 = _mm512_and_si512(v2, m4), w3 = _mm512_and_si512(v3, m4);
        __m512i w4 = _mm512_and_si512(_mm512_srli_epi16(v0, 4), m4);
        __m512i w5 = _mm512_and_si512(_mm512_srli_epi16(v1, 4), m4);
        __m512i w6 = _mm512_and_si512(_mm512_srli_epi16(v2, 4), m4);
        __m512i w7 = _mm512_and_si512(_mm512_srli_epi16(v3, 4), m4);
        __m512 dw =
            _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(ht + (size_t)b * QUANT_TILE)));
        for (int r = 0; r < R; r++) {
            const int8_t *qb = q + (size_t)r * ldq + (size_t)b * QUANT_BLOCK;
            size_t sb = (size_t)r * (size_t)nb + (size_t)b;
            __m512i acc = _mm512_set1_epi32(s[sb] / 16);
            acc = quant_dot_block_vnni(acc, w0, w1, w2, w3, w4, w5, w6, w7, qb);
            __m512 sc = _mm512_mul_ps(dw, _mm512_set1_ps(d[sb]));
            f[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), sc, f[r]);
        }
    }
    quant_store_vnni(R, f, beta, y, ldy, mask);
}

/* R rows of one tile, Q8_0 (bits 8: weights wt, scales dt) or Q4_0 (bits 4: wt, f16 scales ht). */
static inline __attribute__((always_inline)) QUANT_T_VNNI void
quant_rows_any_vnni(int R, int bits, const uint8_t *wt, const float *dt, const uint16_t *ht, int nb,
                    const int8_t *q, size_t ldq, const float *d, const int32_t *s, float beta, float *y,
                    size_t ldy, __mmask16 mask)
{
    if (bits == 4)
        quant_rows4_vnni(R, wt, ht, nb, q, ldq, d, s, beta, y, ldy, mask);
    else
        quant_rows_vnni(R, wt, dt, nb, q, ldq, d, s, beta, y, ldy, mask);
}

QUANT_T_VNNI
static void quant_tile_vnni(const quant_matrix *w, int t, int n, const int8_t *q, const float *d,
                            const int32_t *s, float beta, float *y, int ldy)
{
    int nb = w->n_blocks, k = w->cols, o0 = t * QUANT_TILE, bits = w->bits == 4 ? 4 : 8;
    int lanes = w->rows - o0 < QUANT_TILE ? w->rows - o0 : QUANT_TILE;
    __mmask16 mask = (__mmask16)((1u << lanes) - 1u);
    size_t tb = (size_t)t * (size_t)w->ld_blocks;
    const uint8_t *wt = w->q + tb * (bits == 4 ? QUANT_TILE_BYTES4 : QUANT_TILE_BYTES);
    const float *dt = bits == 4 ? NULL : w->d + tb * QUANT_TILE;
    const uint16_t *ht = bits == 4 ? w->h + tb * QUANT_TILE : NULL;
    int i = 0;
    for (; i + QUANT_ROWS <= n; i += QUANT_ROWS)
        quant_rows_any_vnni(QUANT_ROWS, bits, wt, dt, ht, nb, q + (size_t)i * k, (size_t)k,
                            d + (size_t)i * nb, s + (size_t)i * nb, beta, y + (size_t)i * ldy + o0,
                            (size_t)ldy, mask);
    for (; i + 4 <= n; i += 4)
        quant_rows_any_vnni(4, bits, wt, dt, ht, nb, q + (size_t)i * k, (size_t)k, d + (size_t)i * nb,
                            s + (size_t)i * nb, beta, y + (size_t)i * ldy + o0, (size_t)ldy, mask);
    for (; i < n; i++)
        quant_rows_any_vnni(1, bits, wt, dt, ht, nb, q + (size_t)i * k, (size_t)k, d + (size_t)i * nb,
                            s + (size_t)i * nb, beta, y + (size_t)i * ldy + o0, (size_t)ldy, mask);
}

/* Q4_0 with AVX2: codes (unsigned, at most 15) times q with vpmaddubsw (no saturation), plus s / 16. */
static inline __attribute__((always_inline)) QUANT_T_AVX2 void
quant_rows4_avx2(int R, const uint8_t *wt, const uint16_t *ht, int nb, const int8_t *q, size_t ldq,
                 const float *d, const int32_t *s, float beta, float *y, size_t ldy, int lanes)
{
    const __m256i ones = _mm256_set1_epi16(1), m4 = _mm256_set1_epi8(0x0f);
    for (int h = 0; h < 2 && 8 * h < lanes; h++) {
        __m256 f[QUANT_ROWS];
        for (int r = 0; r < R; r++) f[r] = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            const uint8_t *wb = wt + (size_t)b * QUANT_TILE_BYTES4 + 32 * h;
            __m256i wc[8];
            for (int j = 0; j < 4; j++) {
                __m256i v = _mm256_load_si256((const __m256i *)(const void *)(wb + 64 * j));
                wc[j] = _mm256_and_si256(v, m4);
                wc[j + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            }
            __m256 dw = _mm256_cvtph_ps(
                _mm_loadu_si128((const __m128i *)(const void *)(ht + (size_t)b * QUANT_TILE + 8 * h)));
            for (int r = 0; r < R; r++) {
                const int8_t *qb = q + (size_t)r * ldq + (size_t)b * QUANT_BLOCK;
                __m256i acc = _mm256_set1_epi32(s[(size_t)r * nb + b] / 16);
                for (int j = 0; j < 8; j++) {
                    __m256i x = _mm256_set1_epi32(quant_load4(qb + 4 * j));
                    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(wc[j], x), ones));
                }
                __m256 sc = _mm256_mul_ps(dw, _mm256_set1_ps(d[(size_t)r * nb + b]));
                f[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), sc, f[r]);
            }
        }
        quant_store_avx2(R, f, beta, y + 8 * h, ldy, lanes - 8 * h < 8 ? lanes - 8 * h : 8);
    }
}

QUANT_T_AVX2
static void quant_tile4_avx2(const quant_matrix *w, int t, int n, const int8_t *q, const float *d,
                             const int32_t *s, float beta, float *y, int ldy)
{
    int nb = w->n_blocks, k = w->cols, o0 = t * QUANT_TILE;
    int lanes = w->rows - o0 < QUANT_TILE ? w->rows - o0 : QUANT_TILE;
    const uint8_t *wt = w->q + (size_t)t * w->ld_blocks * QUANT_TILE_BYTES4;
    const uint16_t *ht = w->h + (size_t)t * w->ld_blocks * QUANT_TILE;
    int i = 0;
    for (; i + 4 <= n; i += 4)
        quant_rows4_avx2(4, wt, ht, nb, q + (size_t)i * k, (size_t)k, d + (size_t)i * nb, s + (size_t)i * nb,
                         beta, y + (size_t)i * ldy + o0, (size_t)ldy, lanes);
    for (; i < n; i++)
        quant_rows4_avx2(1, wt, ht, nb, q + (size_t)i * k, (size_t)k, d + (size_t)i * nb, s + (size_t)i * nb,
                         beta, y + (size_t)i * ldy + o0, (size_t)ldy, lanes);
}
/* AVX-VNNI: the AVX2 kernels' layout (half tiles of 8 lanes, 4 rows at a time) with vpdpbusd
 * on 256 bits. vpdpbusd adds four products of unsigned and signed bytes to a 32-bit lane without
 * saturating (unlike vpmaddubsw, which the AVX2 kernels keep below 2^15), so the stored bytes
 * w + 128 are used as they are and the block's sum starts at s = -128 sum q, as in the AVX-512
 * kernels: every block's int32 sum is exact, and the float32 steps are those of every variant. */

/* acc + vpdpbusd(w, x) with the encoding named: VEX (AVX-VNNI) or, when evex is set, EVEX
 * (AVX-512 VNNI with VL), the same operation. Assembly so that one body serves both encodings. */
static inline __attribute__((always_inline)) QUANT_T_AVX2 __m256i quant_dpbusd256(__m256i acc, __m256i w,
                                                                                  __m256i x, int evex)
{
    if (evex)
        __asm__("%{evex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(w), "x"(x));
    else
        __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(w), "x"(x));
    return acc;
}

/* R rows (R <= 4) of one tile; bits 4: Q4_0 codes (0..15) with s / 16, as quant_rows4_vnni. */
static inline __attribute__((always_inline)) QUANT_T_AVX2 void
quant_rows_avxvnni(int R, int bits, const uint8_t *wt, const float *dt, const uint16_t *ht, int nb,
                   const int8_t *q, size_t ldq, const float *d, const int32_t *s, float beta, float *y,
                   size_t ldy, int lanes, int evex)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const size_t tile_bytes = bits == 4 ? QUANT_TILE_BYTES4 : QUANT_TILE_BYTES;
    for (int h = 0; h < 2 && 8 * h < lanes; h++) {
        __m256 f[4];
        for (int r = 0; r < R; r++) f[r] = _mm256_setzero_ps();
        for (int b = 0; b < nb; b++) {
            const uint8_t *wb = wt + (size_t)b * tile_bytes + 32 * h;
            __m256i wv[8];
            __m256 dw;
            if (bits == 4) {
                for (int j = 0; j < 4; j++) {
                    __m256i v = _mm256_load_si256((const __m256i *)(const void *)(wb + 64 * j));
                    wv[j] = _mm256_and_si256(v, m4);
                    wv[j + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                }
                dw = _mm256_cvtph_ps(
                    _mm_loadu_si128((const __m128i *)(const void *)(ht + (size_t)b * QUANT_TILE + 8 * h)));
            } else {
                for (int j = 0; j < 8; j++)
                    wv[j] = _mm256_load_si256((const __m256i *)(const void *)(wb + 64 * j));
                dw = _mm256_load_ps(dt + (size_t)b * QUANT_TILE + 8 * h);
            }
            for (int r = 0; r < R; r++) {
                const int8_t *qb = q + (size_t)r * ldq + (size_t)b * QUANT_BLOCK;
                size_t sb = (size_t)r * (size_t)nb + (size_t)b;
                __m256i acc = _mm256_set1_epi32(bits == 4 ? s[sb] / 16 : s[sb]);
#pragma GCC unroll 8
                for (int j = 0; j < 8; j++)
                    acc = quant_dpbusd256(acc, wv[j], _mm256_set1_epi32(quant_load4(qb + 4 * j)), evex);
                __m256 sc = _mm256_mul_ps(dw, _mm256_set1_ps(d[sb]));
                f[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), sc, f[r]);
            }
        }
        quant_store_avx2(R, f, beta, y + 8 * h, ldy, lanes - 8 * h < 8 ? lanes - 8 * h : 8);
    }
}

static inline __attribute__((always_inline)) QUANT_T_AVX2 void
quant_tile_avxvnni_body(const quant_matrix *w, int t, int n, const int8_t *q, const float *d,
                        const int32_t *s, float beta, float *y, int ldy, int evex)
{
    int nb = w->n_blocks, k = w->cols, o0 = t * QUANT_TILE, bits = w->bits == 4 ? 4 : 8;
    int lanes = w->rows - o0 < QUANT_TILE ? w->rows - o0 : QUANT_TILE;
    size_t tb = (size_t)t * (size_t)w->ld_blocks;
    const uint8_t *wt = w->q + tb * (bits == 4 ? QUANT_TILE_BYTES4 : QUANT_TILE_BYTES);
    const float *dt = bits == 4 ? NULL : w->d + tb * QUANT_TILE;
    const uint16_t *ht = bits == 4 ? w->h + tb * QUANT_TILE : NULL;
    int i = 0;
    for (; i + 4 <= n; i += 4)
        quant_rows_avxvnni(4, bits, wt, dt, ht, nb, q + (size_t)i * k, (size_t)k, d + (size_t)i * nb,
                           s + (size_t)i * nb, beta, y + (size_t)i * ldy + o0, (size_t)ldy, lanes, evex);
    for (; i < n; i++)
        quant_rows_avxvnni(1, bits, wt, dt, ht, nb, q + (size_t)i * k, (size_t)k, d + (size_t)i * nb,
                           s + (size_t)i * nb, beta, y + (size_t)i * ldy + o0, (size_t)ldy, lanes, evex);
}

QUANT_T_AVX2
static void quant_tile_avxvnni(const quant_matrix *w, int t, int n, const int8_t *q, const float *d,
                               const int32_t *s, float beta, float *y, int ldy)
{
    quant_tile_avxvnni_body(w, t, n, q, d, s, beta, y, ldy, 0);
}

/* The same kernels with the EVEX encoding, for CPUs with AVX-512 VNNI and no AVX-VNNI. */
QUANT_T_AVX2
static void quant_tile_avxvnni_evex(const quant_matrix *w, int t, int n, const int8_t *q, const float *d,
                                    const int32_t *s, float beta, float *y, int ldy)
{
    quant_tile_avxvnni_body(w, t, n, q, d, s, beta, y, ldy, 1);
}
#endif

void quant_matmul(const quant_matrix *w, int t0, int t1, int n, const int8_t *q, const float *d,
                  const int32_t *s, float beta, float *y, int ldy)
{
#if QUANT_X86
    enum kern_isa isa = kern_isa();
    if (isa == KERN_ISA_AVX_VNNI) {
        int vex = kern_cpu_has_avx_vnni();
        for (int t = t0; t < t1; t++)
            if (vex)
                quant_tile_avxvnni(w, t, n, q, d, s, beta, y, ldy);
            else
                quant_tile_avxvnni_evex(w, t, n, q, d, s, beta, y, ldy);
        return;
    }
    if (isa >= KERN_ISA_AVX512_VNNI) {
        for (int t = t0; t < t1; t++) quant_tile_vnni(w, t, n, q, d, s, beta, y, ldy);
        return;
    }
    if (w->bits == 4 && isa >= KERN_ISA_AVX2) {
        for (int t = t0; t < t1; t++) quant_tile4_avx2(w, t, n, q, d, s, beta, y, ldy);
        return;
    }
    if (isa >= KERN_ISA_AVX2) {
        for (int t = t0; t < t1; t++) quant_tile_avx2(w, t, n, q, d, beta, y, ldy);
        return;
    }
#endif
    (void)s;
    if (w->bits == 4) {
        for (int t = t0; t < t1; t++) quant_tile4_base(w, t, n, q, d, beta, y, ldy);
        return;
    }
    for (int t = t0; t < t1; t++) quant_tile_base(w, t, n, q, d, beta, y, ldy);
}
