/* defaults.c: the sampler defaults shared by bd3ed and bd3, with a model's own values from its
 * bd3lm.sampler.* metadata (model/SAMPLER.md), and fresh seeds for runs that ask for one.
 * Depends on model.h (gguf metadata) and libc/POSIX. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "model.h"

/* One integer key of the sampler metadata and its accepted range. */
typedef struct defaults_int_key {
    const char *key; /* metadata key */
    long lo, hi;     /* accepted values, inclusive */
    size_t offset;   /* offsetof(bd3_sampler_params, field) of an int field */
} defaults_int_key;

/* One float key: accepted values lo < v <= hi, or lo <= v <= hi when lo_closed. */
typedef struct defaults_real_key {
    const char *key; /* metadata key */
    double lo, hi;   /* bounds */
    int lo_closed;   /* 1: lo itself is accepted */
    int revise;      /* 1: bd3_defaults.revise_fraction, 0: a double of bd3_sampler_params */
    size_t offset;   /* offsetof(bd3_sampler_params, field) when revise is 0 */
} defaults_real_key;

static const defaults_int_key defaults_ints[] = {
    {"bd3lm.sampler.steps", 0, 1 << 20, offsetof(bd3_sampler_params, steps)},
    {"bd3lm.sampler.top_k", 0, 1 << 24, offsetof(bd3_sampler_params, top_k)},
    {"bd3lm.sampler.refresh", 0, 1 << 20, offsetof(bd3_sampler_params, refresh)},
};

static const defaults_real_key defaults_reals[] = {
    {"bd3lm.sampler.threshold", 0.0, 1.0, 1, 0, offsetof(bd3_sampler_params, threshold)},
    {"bd3lm.sampler.temperature", 0.0, 100.0, 0, 0, offsetof(bd3_sampler_params, temperature)},
    {"bd3lm.sampler.top_p", 0.0, 1.0, 0, 0, offsetof(bd3_sampler_params, top_p)},
    {"bd3lm.sampler.revise_fraction", 0.0, 1.0, 0, 1, 0},
};

static void defaults_err(char *err, size_t err_size, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void defaults_err(char *err, size_t err_size, const char *file, const char *fmt, ...)
{
    if (!err || !err_size) return;
    int k = snprintf(err, err_size, "%s: ", file);
    if (k < 0 || (size_t)k >= err_size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, err_size - (size_t)k, fmt, ap);
    va_end(ap);
}

static void defaults_builtin(bd3_defaults *d)
{
    bd3_sampler_params_init(&d->sampler);
    d->sampler.top_p = BD3_DEFAULT_TOP_P;
    d->sampler.refresh = BD3_DEFAULT_REFRESH;
    d->revise_fraction = BD3_DEFAULT_REVISE_FRACTION;
}

/* Applies the metadata of g to d; a missing key keeps the built-in value. */
static bd3_status defaults_read(const gguf_file *g, bd3_defaults *d, char *err, size_t err_size)
{
    const char *fn = gguf_name(g);
    const char *s;
    size_t len;
    gguf_get r = gguf_get_str(g, "bd3lm.sampler.kind", &s, &len);
    if (r == GGUF_WRONG_TYPE) {
        defaults_err(err, err_size, fn, "metadata key bd3lm.sampler.kind is not a string");
        return BD3_E_FORMAT;
    }
    if (r == GGUF_FOUND) {
        char name[32];
        bd3_sampler_kind k;
        if (len >= sizeof name || memchr(s, 0, len)) {
            defaults_err(err, err_size, fn, "bd3lm.sampler.kind is not a sampler name");
            return BD3_E_FORMAT;
        }
        memcpy(name, s, len);
        name[len] = '\0';
        if (bd3_sampler_kind_parse(name, &k) != 0) {
            defaults_err(err, err_size, fn, "bd3lm.sampler.kind is not a sampler name");
            return BD3_E_FORMAT;
        }
        d->sampler.kind = k;
    }
    for (size_t i = 0; i < sizeof defaults_ints / sizeof defaults_ints[0]; i++) {
        const defaults_int_key *k = &defaults_ints[i];
        uint32_t v;
        r = gguf_get_u32(g, k->key, &v);
        if (r == GGUF_MISSING) continue;
        if (r == GGUF_WRONG_TYPE || v < (uint32_t)k->lo || v > (uint32_t)k->hi) {
            defaults_err(err, err_size, fn, "metadata key %s must be an integer from %ld to %ld", k->key,
                         k->lo, k->hi);
            return BD3_E_FORMAT;
        }
        *(int *)((char *)&d->sampler + k->offset) = (int)v;
    }
    for (size_t i = 0; i < sizeof defaults_reals / sizeof defaults_reals[0]; i++) {
        const defaults_real_key *k = &defaults_reals[i];
        float v;
        r = gguf_get_f32(g, k->key, &v);
        if (r == GGUF_MISSING) continue;
        int ok = r == GGUF_FOUND && isfinite(v) && (k->lo_closed ? v >= k->lo : v > k->lo) && v <= k->hi;
        if (!ok) {
            defaults_err(err, err_size, fn, "metadata key %s must be a number in %c%g, %g]", k->key,
                         k->lo_closed ? '[' : '(', k->lo, k->hi);
            return BD3_E_FORMAT;
        }
        if (k->revise)
            d->revise_fraction = v;
        else
            *(double *)((char *)&d->sampler + k->offset) = v;
    }
    return BD3_OK;
}

bd3_status model_check_defaults(const bd3_model *m, char *err, size_t err_size)
{
    bd3_defaults d;
    defaults_builtin(&d);
    return defaults_read(m->file, &d, err, err_size);
}

void bd3_model_defaults(const bd3_model *m, bd3_defaults *out)
{
    defaults_builtin(out);
    if (m && m->file && defaults_read(m->file, out, NULL, 0) != BD3_OK)
        defaults_builtin(out); /* not reached for a loaded model: the loader checked the keys */
}

uint64_t bd3_rng_fresh_seed(void)
{
    static _Atomic uint64_t counter; /* calls so far in this process */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^
                 (++counter * 0x9e3779b97f4a7c15ULL);
    bd3_rng r;
    bd3_rng_seed(&r, x);
    uint64_t s = bd3_rng_u64(&r);
    return s ? s : 1;
}
