/* kernels.h: the small numeric helpers of the forward pass (layer norm with modulation, gated
 * residual, GELU, RoPE, softmax, exp), each with its shapes. Pure functions over float32 arrays;
 * internal to the engine. Depends on libc only. */
#ifndef BD3_KERNELS_H
#define BD3_KERNELS_H

#include <stdbool.h>
#include <stddef.h>

/* Instruction sets the engine's kernels are compiled for, in the order kern_isa_best() prefers
 * them. From KERN_ISA_AVX2 on each includes AVX2, FMA and F16C; AVX_VNNI is not implied by the
 * AVX-512 ones (kern_isa_has tells what a CPU runs). */
enum kern_isa {
    KERN_ISA_BASE,        /* portable C (baseline x86-64 or any other CPU) */
    KERN_ISA_AVX2,        /* AVX2 (with FMA and F16C) */
    KERN_ISA_AVX_VNNI,    /* AVX2 with AVX-VNNI (256-bit int8 dot products, VEX-encoded) */
    KERN_ISA_AVX512,      /* AVX-512 F */
    KERN_ISA_AVX512_VNNI, /* AVX-512 F, BW, VL and VNNI (int8 dot products) */
    KERN_ISA_AVX512_BF16, /* the same and AVX512_BF16 (bf16 dot products, vdpbf16ps) */
    KERN_ISA_COUNT,       /* number of instruction sets above */
};

/* The best instruction set this CPU supports (asked of the CPU, no ifunc resolvers). */
enum kern_isa kern_isa_best(void);
/* The instruction set the kernels use: kern_isa_set's choice, else kern_isa_cap of the
 * environment variable BD3_MAX_ISA (read once). */
enum kern_isa kern_isa(void);
/* The best instruction set this CPU runs among the one named (a kern_isa_name) and those before
 * it: "avx2" on a CPU with AVX-512 gives AVX2, to measure or compare. kern_isa_best() when name
 * is NULL or names none. */
enum kern_isa kern_isa_cap(const char *name);
/* Whether this CPU runs isa's kernels. KERN_ISA_AVX_VNNI also runs where the CPU has AVX-512 VNNI
 * (with VL) but no AVX-VNNI: its int8 products then use the EVEX encoding of the same instruction,
 * so that these kernels are tested there too. */
bool kern_isa_has(enum kern_isa isa);
/* Whether the CPU has AVX-VNNI itself (CPUID leaf 7 subleaf 1, EAX bit 4, and the OS saves the
 * AVX state): the VEX encoding of the 256-bit int8 dot product. */
bool kern_cpu_has_avx_vnni(void);
/* A short name of isa ("avx-vnni"), or "?" when isa is out of range. */
const char *kern_isa_name(enum kern_isa isa);
/* Makes the kernels use isa (tests compare the variants); -1 when the CPU lacks it. Not to be
 * called while another thread runs a kernel. */
int kern_isa_set(enum kern_isa isa);

/* out[i, :] = LN(x[i, :]) * w * (1 + scale) + shift for i < n. x, out: [n, d]; w, shift,
 * scale: [d]. LN: subtract the mean, divide by sqrt(biased variance + eps); statistics are
 * accumulated in double. out may equal x. */
void kern_norm_mod(const float *x, int n, int d, float eps, const float *w, const float *shift,
                   const float *scale, float *out);

/* h[i, :] += gate * (y[i, :] + bias) for i < n. h, y: [n, d]; gate: [d]; bias: [d] or NULL. */
void kern_gate_add(float *h, const float *y, const float *bias, const float *gate, int n, int d);

/* x[i, j] = gelu_tanh(x[i, j] + bias[j]). x: [n, d]; bias: [d].
 * gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
void kern_bias_gelu(float *x, const float *bias, int n, int d);

/* Rotary position embedding, rotate_half layout, in place on n rows of n_head heads of size hd:
 * row i of x starts at x + i * stride, head h at + h * hd; row i is at window position pos0 + i.
 * cos_tab, sin_tab: [n_pos, hd / 2], entry [p, j] = cos / sin of angle p * inv_freq[j]. */
void kern_rope(float *x, int n, int stride, int n_head, int hd, int pos0, const float *cos_tab,
               const float *sin_tab);

/* Fills cos_tab, sin_tab [n_pos, hd / 2] for RoPE: inv_freq[j] = float(base^(-2j/hd)) computed in
 * double and rounded once; angle = float32 product p * inv_freq[j]; cos and sin of that angle
 * computed in double and rounded. */
void kern_rope_table(int n_pos, int hd, float base, float *cos_tab, float *sin_tab);

/* Softmax of row i over its first len[i] entries (len[i] >= 1), in place, rows of stride
 * floats; entries len[i]..width-1 are set to 0 so that a following product over width columns
 * ignores them. s: [n, stride]. With inv_sum ([n]) the rows are left unnormalised, exp(s - max),
 * and inv_sum[i] = 1 / their sum, for the caller to scale a smaller product instead. */
void kern_softmax_rows(float *s, int n, int stride, int width, const int *len, float *inv_sum);

/* out[i, :] = x[i, :] / sqrt(mean(x[i, :]^2) + eps) * w for i < n (RMSNorm; the mean square in
 * double). x, out: [n, d]; w: [d]. out may equal x. */
void kern_rms_norm(const float *x, int n, int d, float eps, const float *w, float *out);

/* g = silu(g) * u elementwise over [n, d] (SwiGLU); silu(x) = x / (1 + exp(-x)). */
void kern_silu_mul(float *g, const float *u, int n, int d);

/* x[i, j] += b[j] for i < n, j < d; rows of x are stride floats apart. */
void kern_add_bias(float *x, const float *b, int n, int d, int stride);

/* out[i] = exp(x[i]) for i < n, relative error below 2e-7 for x in [-87, 88]; x may equal out. */
void kern_exp(const float *x, float *out, size_t n);

#endif
