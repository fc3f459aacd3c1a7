/* kernels.c: numeric helpers of the forward pass and the choice of instruction set. The exp-heavy
 * loops (softmax, GELU) use GCC vector extensions, compiled for AVX-512, AVX2 and baseline x86-64
 * with run-time selection. Depends on libc and libm only. */
#include "kernels.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

/* The vector helpers below are static inline and never cross an ABI boundary. */
#pragma GCC diagnostic ignored "-Wpsabi"

#define KERN_W 16 /* floats per vector in the vectorised loops */
typedef float kern_vf __attribute__((vector_size(KERN_W * 4))); /* KERN_W float32 lanes */
typedef int kern_vi __attribute__((vector_size(KERN_W * 4)));   /* KERN_W int32 lanes */

/* Each public loop is written once as an always-inline body and compiled three times (AVX-512,
 * AVX2, baseline) by KERN_VARIANTS; the public function calls the variant kern_isa() selects.
 * Plain function pointers chosen at run time, not ifunc resolvers (target_clones), which run
 * before sanitizer run-times are set up. */
#define KERN_BODY static inline __attribute__((always_inline))
#if defined(__x86_64__) && defined(__GNUC__)
#define KERN_X86 1
#define KERN_VARIANTS(name, params, args)                                                                    \
    __attribute__((target("avx512f"))) static void name##_avx512 params { name##_body args; }                \
    __attribute__((target("avx2"))) static void name##_avx2 params { name##_body args; }                     \
    static void name##_base params { name##_body args; }                                                     \
    void name params                                                                                         \
    {                                                                                                        \
        enum kern_isa isa = kern_isa();                                                                      \
        if (isa >= KERN_ISA_AVX512)                                                                          \
            name##_avx512 args;                                                                              \
        else if (isa >= KERN_ISA_AVX2)                                                                       \
            name##_avx2 args;                                                                                \
        else                                                                                                 \
            name##_base args;                                                                                \
    }
#else
#define KERN_X86 0
#define KERN_VARIANTS(name, params, args)                                                                    \
    void name params { name##_body args; }
#endif

#if KERN_X86
/* F16C from CPUID leaf 1 (ECX bit 29): not every compiler's __builtin_cpu_supports knows it. */
static bool kern_cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

/* The OS saves the XMM and YMM registers (OSXSAVE, then XCR0 bits 1 and 2). */
static bool kern_os_saves_ymm(void)
{
    unsigned a, b, c, d, lo, hi;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return false;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return (lo & 6u) == 6u;
}

/* AVX2 with FMA and F16C, usable. */
static bool kern_cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && kern_cpu_has_f16c();
}

/* AVX-512 F, BW, VL and VNNI, usable (libgcc's answer includes the OS's ZMM state). */
static bool kern_cpu_has_avx512_vnni(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}
#endif

#if KERN_X86
/* AVX-512 VNNI (as above) and AVX512_BF16 (CPUID leaf 7, sub-leaf 1, EAX bit 5). */
static bool kern_cpu_has_avx512_bf16(void)
{
    unsigned a, b, c, d;
    return kern_cpu_has_avx512_vnni() && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
}
#endif

static _Atomic int kern_avx_vnni = -1; /* kern_cpu_has_avx_vnni's answer; -1 until first asked */

bool kern_cpu_has_avx_vnni(void)
{
    int v = kern_avx_vnni;
    if (v >= 0) return v; /* asked once: CPUID is slow, and trapped under a hypervisor */
    v = 0;
#if KERN_X86
    unsigned a, b, c, d;
    v = __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4)) && kern_os_saves_ymm() &&
        kern_cpu_has_avx2();
#endif
    kern_avx_vnni = v;
    return v;
}

static _Atomic int kern_isa_now = -1; /* enum kern_isa in use; -1 until first asked */

bool kern_isa_has(enum kern_isa isa)
{
    switch (isa) {
    case KERN_ISA_BASE: return true;
#if KERN_X86
    case KERN_ISA_AVX2: return kern_cpu_has_avx2();
    case KERN_ISA_AVX_VNNI:
        return kern_cpu_has_avx_vnni() || (kern_cpu_has_avx2() && kern_cpu_has_avx512_vnni());
    case KERN_ISA_AVX512: __builtin_cpu_init(); return __builtin_cpu_supports("avx512f");
    case KERN_ISA_AVX512_VNNI: return kern_cpu_has_avx512_vnni();
    case KERN_ISA_AVX512_BF16: return kern_cpu_has_avx512_bf16();
#endif
    default: return false;
    }
}

enum kern_isa kern_isa_best(void)
{
#if KERN_X86
    if (kern_cpu_has_avx512_bf16()) return KERN_ISA_AVX512_BF16;
    if (kern_cpu_has_avx512_vnni()) return KERN_ISA_AVX512_VNNI;
    if (kern_isa_has(KERN_ISA_AVX512)) return KERN_ISA_AVX512;
    if (kern_cpu_has_avx_vnni()) return KERN_ISA_AVX_VNNI;
    if (kern_cpu_has_avx2()) return KERN_ISA_AVX2;
#endif
    return KERN_ISA_BASE;
}

enum kern_isa kern_isa_cap(const char *name)
{
    for (int cap = 0; name && cap < KERN_ISA_COUNT; cap++)
        if (strcmp(name, kern_isa_name((enum kern_isa)cap)) == 0) {
            while (!kern_isa_has((enum kern_isa)cap)) cap--; /* KERN_ISA_BASE always runs */
            return (enum kern_isa)cap;
        }
    return kern_isa_best();
}

enum kern_isa kern_isa(void)
{
    int v = kern_isa_now;
    if (v < 0) kern_isa_now = v = (int)kern_isa_cap(getenv("BD3_MAX_ISA"));
    return (enum kern_isa)v;
}

int kern_isa_set(enum kern_isa isa)
{
    if (!kern_isa_has(isa)) return -1;
    kern_isa_now = (int)isa;
    return 0;
}

const char *kern_isa_name(enum kern_isa isa)
{
    static const char *const names[KERN_ISA_COUNT] = {"portable", "avx2",        "avx-vnni",
                                                      "avx512",   "avx512-vnni", "avx512-bf16"};
    return (unsigned)isa < KERN_ISA_COUNT ? names[isa] : "?";
}

static inline __attribute__((always_inline)) kern_vf kern_splat(float v)
{
    kern_vf r;
    for (int i = 0; i < KERN_W; i++) r[i] = v;
    return r;
}

/* exp of each lane (Cephes-style: x = n ln2 + r with |r| <= ln2 / 2, degree-6 polynomial, scale
 * by 2^n). Inputs are clamped to [-87.3, 88.3] so that 2^n stays a normal float. */
static inline __attribute__((always_inline)) kern_vf kern_vexp(kern_vf x)
{
    const kern_vf hi = kern_splat(88.3f), lo = kern_splat(-87.3f);
    kern_vi gt = x > hi, lt = x < lo;
    kern_vi xi = (kern_vi)x;
    xi = (xi & ~gt) | ((kern_vi)hi & gt);
    xi = (xi & ~lt) | ((kern_vi)lo & lt);
    x = (kern_vf)xi;
    /* n = round(x / ln2): adding 1.5 * 2^23 leaves the rounded integer in the low mantissa bits */
    const kern_vf magic = kern_splat(12582912.0f);
    kern_vf t = x * kern_splat(1.44269504088896341f) + magic;
    kern_vi n = (kern_vi)t - (kern_vi)magic;
    kern_vf fn = t - magic;
    kern_vf r = x - fn * kern_splat(0.693359375f) - fn * kern_splat(-2.12194440e-4f);
    kern_vf p = kern_splat(1.9875691500e-4f);
    p = p * r + kern_splat(1.3981999507e-3f);
    p = p * r + kern_splat(8.3334519073e-3f);
    p = p * r + kern_splat(4.1665795894e-2f);
    p = p * r + kern_splat(1.6666665459e-1f);
    p = p * r + kern_splat(5.0000001201e-1f);
    p = p * r * r + r + kern_splat(1.0f);
    kern_vi e = (n + 127) << 23;
    return p * (kern_vf)e;
}

static inline __attribute__((always_inline)) float kern_sexp(float x)
{
    kern_vf v = kern_splat(0.0f);
    v[0] = x;
    return kern_vexp(v)[0];
}

KERN_BODY void kern_exp_body(const float *x, float *out, size_t n)
{
    size_t i = 0;
    for (; i + KERN_W <= n; i += KERN_W) {
        kern_vf v;
        memcpy(&v, x + i, sizeof v);
        v = kern_vexp(v);
        memcpy(out + i, &v, sizeof v);
    }
    for (; i < n; i++) out[i] = kern_sexp(x[i]);
}
KERN_VARIANTS(kern_exp, (const float *x, float *out, size_t n), (x, out, n))

typedef double kern_vd __attribute__((vector_size(KERN_W * 8))); /* KERN_W float64 lanes */

KERN_BODY void kern_norm_mod_body(const float *x, int n, int d, float eps, const float *w, const float *shift,
                                  const float *scale, float *out)
{
    for (int i = 0; i < n; i++) {
        const float *xr = x + (size_t)i * d;
        float *o = out + (size_t)i * d;
        /* mean and variance in double, KERN_W independent lanes */
        kern_vd acc = {0};
        int j = 0;
        for (; j + KERN_W <= d; j += KERN_W) {
            kern_vf v;
            memcpy(&v, xr + j, sizeof v);
            acc += __builtin_convertvector(v, kern_vd);
        }
        double sum = 0.0, sq = 0.0;
        for (int k = 0; k < KERN_W; k++) sum += acc[k];
        for (; j < d; j++) sum += xr[j];
        double mean = sum / d;
        kern_vd accq = {0}, vm = {0};
        for (int k = 0; k < KERN_W; k++) vm[k] = mean;
        for (j = 0; j + KERN_W <= d; j += KERN_W) {
            kern_vf v;
            memcpy(&v, xr + j, sizeof v);
            kern_vd c = __builtin_convertvector(v, kern_vd) - vm;
            accq += c * c;
        }
        for (int k = 0; k < KERN_W; k++) sq += accq[k];
        for (; j < d; j++) {
            double c = xr[j] - mean;
            sq += c * c;
        }
        float inv = (float)(1.0 / sqrt(sq / d + (double)eps));
        float fm = (float)mean;
        for (j = 0; j + KERN_W <= d; j += KERN_W) {
            kern_vf v, vw, vs, vh;
            memcpy(&v, xr + j, sizeof v);
            memcpy(&vw, w + j, sizeof vw);
            memcpy(&vs, scale + j, sizeof vs);
            memcpy(&vh, shift + j, sizeof vh);
            v = (v - fm) * inv * vw * (1.0f + vs) + vh;
            memcpy(o + j, &v, sizeof v);
        }
        for (; j < d; j++) o[j] = (xr[j] - fm) * inv * w[j] * (1.0f + scale[j]) + shift[j];
    }
}
KERN_VARIANTS(kern_norm_mod,
              (const float *x, int n, int d, float eps, const float *w, const float *shift,
               const float *scale, float *out),
              (x, n, d, eps, w, shift, scale, out))

KERN_BODY void kern_gate_add_body(float *h, const float *y, const float *bias, const float *gate, int n,
                                  int d)
{
    for (int i = 0; i < n; i++) {
        float *hr = h + (size_t)i * d;
        const float *yr = y + (size_t)i * d;
        int j = 0;
        for (; j + KERN_W <= d; j += KERN_W) {
            kern_vf vh, vy, vg, vb = {0};
            memcpy(&vh, hr + j, sizeof vh);
            memcpy(&vy, yr + j, sizeof vy);
            memcpy(&vg, gate + j, sizeof vg);
            if (bias) memcpy(&vb, bias + j, sizeof vb);
            vh += vg * (vy + vb);
            memcpy(hr + j, &vh, sizeof vh);
        }
        for (; j < d; j++) hr[j] += gate[j] * (yr[j] + (bias ? bias[j] : 0.0f));
    }
}
KERN_VARIANTS(kern_gate_add, (float *h, const float *y, const float *bias, const float *gate, int n, int d),
              (h, y, bias, gate, n, d))

KERN_BODY void kern_bias_gelu_body(float *x, const float *bias, int n, int d)
{
    const float c = 0.7978845608028654f; /* sqrt(2/pi) */
    for (int i = 0; i < n; i++) {
        float *xr = x + (size_t)i * d;
        int j = 0;
        for (; j + KERN_W <= d; j += KERN_W) {
            kern_vf v, b;
            memcpy(&v, xr + j, sizeof v);
            memcpy(&b, bias + j, sizeof b);
            v += b;
            kern_vf u = kern_splat(c) * (v + kern_splat(0.044715f) * v * v * v);
            /* 1 + tanh(u) = 2 - 2 / (exp(2u) + 1) = 2 exp(2u) / (exp(2u) + 1) */
            kern_vf e = kern_vexp(kern_splat(2.0f) * u);
            kern_vf t = kern_splat(2.0f) - kern_splat(2.0f) / (e + kern_splat(1.0f));
            v = kern_splat(0.5f) * v * t;
            memcpy(xr + j, &v, sizeof v);
        }
        for (; j < d; j++) {
            float v = xr[j] + bias[j];
            float u = c * (v + 0.044715f * v * v * v);
            xr[j] = 0.5f * v * (1.0f + tanhf(u));
        }
    }
}
KERN_VARIANTS(kern_bias_gelu, (float *x, const float *bias, int n, int d), (x, bias, n, d))

void kern_rope_table(int n_pos, int hd, float base, float *cos_tab, float *sin_tab)
{
    int half = hd / 2;
    for (int j = 0; j < half; j++) {
        float inv = (float)(1.0 / pow((double)base, 2.0 * j / hd));
        for (int p = 0; p < n_pos; p++) {
            float ang = (float)p * inv;
            cos_tab[(size_t)p * half + j] = (float)cos((double)ang);
            sin_tab[(size_t)p * half + j] = (float)sin((double)ang);
        }
    }
}

KERN_BODY void kern_rope_body(float *x, int n, int stride, int n_head, int hd, int pos0, const float *cos_tab,
                              const float *sin_tab)
{
    int half = hd / 2;
    for (int i = 0; i < n; i++) {
        const float *c = cos_tab + (size_t)(pos0 + i) * half;
        const float *s = sin_tab + (size_t)(pos0 + i) * half;
        for (int h = 0; h < n_head; h++) {
            float *v = x + (size_t)i * stride + (size_t)h * hd;
            int j = 0;
            for (; j + KERN_W <= half; j += KERN_W) {
                kern_vf a, b, vc, vs;
                memcpy(&a, v + j, sizeof a);
                memcpy(&b, v + j + half, sizeof b);
                memcpy(&vc, c + j, sizeof vc);
                memcpy(&vs, s + j, sizeof vs);
                kern_vf lo = a * vc - b * vs, hi = b * vc + a * vs;
                memcpy(v + j, &lo, sizeof lo);
                memcpy(v + j + half, &hi, sizeof hi);
            }
            for (; j < half; j++) {
                float a = v[j], b = v[j + half];
                v[j] = a * c[j] - b * s[j];
                v[j + half] = b * c[j] + a * s[j];
            }
        }
    }
}
KERN_VARIANTS(kern_rope,
              (float *x, int n, int stride, int n_head, int hd, int pos0, const float *cos_tab,
               const float *sin_tab),
              (x, n, stride, n_head, hd, pos0, cos_tab, sin_tab))

KERN_BODY void kern_softmax_rows_body(float *s, int n, int stride, int width, const int *len, float *inv_sum)
{
    for (int i = 0; i < n; i++) {
        float *r = s + (size_t)i * stride;
        int m = len[i];
        int j = 0;
        kern_vf vm = kern_splat(r[0]);
        for (; j + KERN_W <= m; j += KERN_W) {
            kern_vf v;
            memcpy(&v, r + j, sizeof v);
            kern_vi gt = v > vm;
            vm = (kern_vf)(((kern_vi)v & gt) | ((kern_vi)vm & ~gt));
        }
        float mx = r[0];
        for (int k = 0; k < KERN_W; k++) mx = vm[k] > mx ? vm[k] : mx;
        for (; j < m; j++) mx = r[j] > mx ? r[j] : mx;
        j = 0;
        kern_vf acc = kern_splat(0.0f);
        for (; j + KERN_W <= m; j += KERN_W) {
            kern_vf v;
            memcpy(&v, r + j, sizeof v);
            v = kern_vexp(v - kern_splat(mx));
            acc += v;
            memcpy(r + j, &v, sizeof v);
        }
        float sum = 0.0f;
        for (int k = 0; k < KERN_W; k++) sum += acc[k];
        for (; j < m; j++) {
            r[j] = kern_sexp(r[j] - mx);
            sum += r[j];
        }
        float inv = 1.0f / sum;
        if (inv_sum)
            inv_sum[i] = inv;
        else
            for (j = 0; j < m; j++) r[j] *= inv;
        for (j = m; j < width; j++) r[j] = 0.0f;
    }
}
KERN_VARIANTS(kern_softmax_rows, (float *s, int n, int stride, int width, const int *len, float *inv_sum),
              (s, n, stride, width, len, inv_sum))

void kern_rms_norm(const float *x, int n, int d, float eps, const float *w, float *out)
{
    for (int i = 0; i < n; i++) {
        const float *xr = x + (size_t)i * d;
        float *o = out + (size_t)i * d;
        double sq = 0.0; /* mean square in double */
        for (int j = 0; j < d; j++) sq += (double)xr[j] * xr[j];
        float r = (float)(1.0 / sqrt(sq / d + (double)eps));
        for (int j = 0; j < d; j++) o[j] = xr[j] * r * w[j];
    }
}

void kern_silu_mul(float *g, const float *u, int n, int d)
{
    size_t k = (size_t)n * d;
    for (size_t i = 0; i < k; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void kern_add_bias(float *x, const float *b, int n, int d, int stride)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) x[(size_t)i * stride + j] += b[j];
}
