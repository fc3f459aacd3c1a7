/* gguf.c: GGUF v3 reader. Every count, length, offset, alignment, type and dimension product is
 * checked against the file before use. Depends on libc, POSIX mmap and gguf.h only. */
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAX_NAME    4096      /* longest key or tensor name accepted, bytes */
#define GGUF_MAX_KV      (1 << 16) /* metadata entries accepted (real files have tens) */
#define GGUF_MAX_TENSORS (1 << 20) /* tensors accepted (real files have hundreds to thousands) */

struct gguf_file {
    char *name;           /* path or name for messages (owned) */
    const uint8_t *base;  /* first byte of the file */
    size_t size;          /* bytes of the file */
    int mapped;           /* 1 when base is our mmap */
    uint32_t alignment;   /* data alignment, bytes (power of two) */
    size_t data_start;    /* offset of the data section in the file */
    int n_kv;             /* metadata entries */
    gguf_kv *kv;          /* [n_kv] in file order */
    int *kv_sorted;       /* [n_kv] indices into kv sorted by key */
    int n_tensors;        /* tensors */
    gguf_tensor *tensors; /* [n_tensors] in file order */
    int *tensor_sorted;   /* [n_tensors] indices into tensors sorted by name */
};

/* ---- reading little-endian values from a bounded cursor ---- */

typedef struct gguf_cursor {
    const uint8_t *p;    /* next byte */
    const uint8_t *end;  /* one past the last byte */
    const uint8_t *base; /* start of the file, for offsets in messages */
} gguf_cursor;

static uint64_t gguf_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static size_t gguf_left(const gguf_cursor *c) { return (size_t)(c->end - c->p); }

static int gguf_take(gguf_cursor *c, size_t n, const uint8_t **out)
{
    if (n > gguf_left(c)) return -1;
    *out = c->p;
    c->p += n;
    return 0;
}

static int gguf_take_u32(gguf_cursor *c, uint32_t *v)
{
    const uint8_t *p;
    if (gguf_take(c, 4, &p)) return -1;
    *v = (uint32_t)gguf_le(p, 4);
    return 0;
}

static int gguf_take_u64(gguf_cursor *c, uint64_t *v)
{
    const uint8_t *p;
    if (gguf_take(c, 8, &p)) return -1;
    *v = gguf_le(p, 8);
    return 0;
}

/* A GGUF string: u64 length then bytes. Returns -1 when it runs past the end. */
static int gguf_take_str(gguf_cursor *c, const char **s, size_t *len)
{
    uint64_t n;
    const uint8_t *p;
    if (gguf_take_u64(c, &n) || n > gguf_left(c) || gguf_take(c, (size_t)n, &p)) return -1;
    *s = (const char *)p;
    *len = (size_t)n;
    return 0;
}

static void gguf_err(char *err, size_t err_size, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void gguf_err(char *err, size_t err_size, const char *name, const char *fmt, ...)
{
    if (!err || !err_size) return;
    int k = snprintf(err, err_size, "%s: ", name ? name : "(model)");
    if (k < 0 || (size_t)k >= err_size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, err_size - (size_t)k, fmt, ap);
    va_end(ap);
}

/* Bytes of one scalar of type t, 0 for strings/arrays, -1 for an unknown type. */
static int gguf_scalar_size(uint32_t t)
{
    switch (t) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_INT8:
    case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_INT32:
    case GGUF_TYPE_FLOAT32: return 4;
    case GGUF_TYPE_UINT64:
    case GGUF_TYPE_INT64:
    case GGUF_TYPE_FLOAT64: return 8;
    case GGUF_TYPE_STRING:
    case GGUF_TYPE_ARRAY: return 0;
    }
    return -1;
}

const char *gguf_tensor_type_name(uint32_t type)
{
    switch (type) {
    case GGUF_TENSOR_F32: return "F32";
    case GGUF_TENSOR_F16: return "F16";
    case GGUF_TENSOR_Q8_0: return "Q8_0";
    case GGUF_TENSOR_Q4_0: return "Q4_0";
    case GGUF_TENSOR_BF16: return "BF16";
    }
    return "unsupported";
}

/* ---- sorting for duplicate detection and lookup ---- */

static int gguf_cmp_bytes(const char *a, size_t na, const char *b, size_t nb)
{
    int r = memcmp(a, b, na < nb ? na : nb);
    if (r) return r;
    return na < nb ? -1 : na > nb;
}

static int gguf_cmp_kv(const void *a, const void *b, void *user)
{
    const gguf_file *g = user;
    const gguf_kv *x = &g->kv[*(const int *)a], *y = &g->kv[*(const int *)b];
    return gguf_cmp_bytes(x->key, x->key_len, y->key, y->key_len);
}

static int gguf_cmp_tensor(const void *a, const void *b, void *user)
{
    const gguf_file *g = user;
    const gguf_tensor *x = &g->tensors[*(const int *)a], *y = &g->tensors[*(const int *)b];
    return gguf_cmp_bytes(x->name, x->name_len, y->name, y->name_len);
}

static void gguf_sort(gguf_file *g)
{
    qsort_r(g->kv_sorted, (size_t)g->n_kv, sizeof(int), gguf_cmp_kv, g);
    qsort_r(g->tensor_sorted, (size_t)g->n_tensors, sizeof(int), gguf_cmp_tensor, g);
}

/* Prints at most 64 bytes of a name from the file, replacing unprintable bytes. */
static const char *gguf_show(const char *s, size_t n, char *buf, size_t size)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < size && i < 64; i++)
        buf[k++] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    if (n > 64 && k + 4 < size) {
        buf[k++] = '.';
        buf[k++] = '.';
        buf[k++] = '.';
    }
    buf[k] = 0;
    return buf;
}

/* ---- parsing ---- */

static bd3_status gguf_parse_value(gguf_cursor *c, gguf_kv *kv, const char *fname, const char *key, char *err,
                                   size_t err_size)
{
    uint32_t t = kv->type;
    int sz = gguf_scalar_size(t);
    if (sz < 0) {
        gguf_err(err, err_size, fname, "metadata key '%s' has unknown value type %u", key, t);
        return BD3_E_FORMAT;
    }
    kv->n = 1;
    kv->arr_type = 0;
    if (t == GGUF_TYPE_STRING) {
        kv->value = c->p;
        const char *s;
        size_t n;
        if (gguf_take_str(c, &s, &n)) {
            gguf_err(err, err_size, fname, "string value of '%s' runs past the end of the file", key);
            return BD3_E_FORMAT;
        }
        return BD3_OK;
    }
    if (t != GGUF_TYPE_ARRAY) {
        const uint8_t *p;
        kv->value = c->p;
        if (gguf_take(c, (size_t)sz, &p)) {
            gguf_err(err, err_size, fname, "value of '%s' runs past the end of the file", key);
            return BD3_E_FORMAT;
        }
        return BD3_OK;
    }
    uint32_t et;
    uint64_t n;
    if (gguf_take_u32(c, &et) || gguf_take_u64(c, &n)) {
        gguf_err(err, err_size, fname, "array header of '%s' runs past the end of the file", key);
        return BD3_E_FORMAT;
    }
    int esz = gguf_scalar_size(et);
    if (esz < 0) {
        gguf_err(err, err_size, fname, "array '%s' has unknown element type %u", key, et);
        return BD3_E_FORMAT;
    }
    if (et == GGUF_TYPE_ARRAY) {
        gguf_err(err, err_size, fname, "array '%s' holds arrays (nested arrays are not supported)", key);
        return BD3_E_FORMAT;
    }
    kv->arr_type = et;
    kv->n = n;
    kv->value = c->p;
    if (et == GGUF_TYPE_STRING) {
        /* every string needs at least its 8-byte length */
        if (n > gguf_left(c) / 8) {
            gguf_err(err, err_size, fname, "array '%s' claims %llu strings, more than the file holds", key,
                     (unsigned long long)n);
            return BD3_E_FORMAT;
        }
        for (uint64_t i = 0; i < n; i++) {
            const char *s;
            size_t len;
            if (gguf_take_str(c, &s, &len)) {
                gguf_err(err, err_size, fname, "string %llu of array '%s' runs past the end of the file",
                         (unsigned long long)i, key);
                return BD3_E_FORMAT;
            }
        }
        return BD3_OK;
    }
    const uint8_t *p;
    if (n > gguf_left(c) / (size_t)esz || gguf_take(c, (size_t)n * (size_t)esz, &p)) {
        gguf_err(err, err_size, fname, "array '%s' of %llu elements runs past the end of the file", key,
                 (unsigned long long)n);
        return BD3_E_FORMAT;
    }
    return BD3_OK;
}

/* One tensor's data range, for the overlap check. */
typedef struct gguf_range {
    uint64_t start; /* offset in the data section */
    uint64_t end;   /* one past its last byte */
    int tensor;     /* index in g->tensors */
} gguf_range;

static int gguf_range_cmp(const void *a, const void *b)
{
    uint64_t x = ((const gguf_range *)a)->start, y = ((const gguf_range *)b)->start;
    return x < y ? -1 : x > y;
}

/* Tensors may not share data bytes: each would be expanded on its own, so a small file could
 * claim far more memory than it holds. With no overlap, the data a model converts is bounded by
 * the data section the header describes. */
static bd3_status gguf_check_overlap(const gguf_file *g, char *err, size_t err_size)
{
    if (g->n_tensors < 2) return BD3_OK;
    gguf_range *r = malloc((size_t)g->n_tensors * sizeof *r);
    if (!r) {
        gguf_err(err, err_size, g->name, "out of memory");
        return BD3_E_NOMEM;
    }
    for (int i = 0; i < g->n_tensors; i++)
        r[i] = (gguf_range){g->tensors[i].offset, g->tensors[i].offset + g->tensors[i].n_bytes, i};
    qsort(r, (size_t)g->n_tensors, sizeof *r, gguf_range_cmp);
    bd3_status st = BD3_OK;
    for (int i = 1; i < g->n_tensors && st == BD3_OK; i++) {
        if (r[i].start >= r[i - 1].end) continue;
        const gguf_tensor *a = &g->tensors[r[i - 1].tensor], *b = &g->tensors[r[i].tensor];
        char sa[80], sb[80];
        gguf_err(err, err_size, g->name, "tensors '%s' and '%s' share data bytes (offsets %llu and %llu)",
                 gguf_show(a->name, a->name_len, sa, sizeof sa),
                 gguf_show(b->name, b->name_len, sb, sizeof sb), (unsigned long long)a->offset,
                 (unsigned long long)b->offset);
        st = BD3_E_FORMAT;
    }
    free(r);
    return st;
}

static bd3_status gguf_parse(gguf_file *g, char *err, size_t err_size)
{
    const char *fn = g->name;
    char show[80];
    gguf_cursor c = {g->base, g->base + g->size, g->base};
    const uint8_t *magic;
    if (gguf_take(&c, 4, &magic) || memcmp(magic, "GGUF", 4) != 0) {
        if (g->size < 4)
            gguf_err(err, err_size, fn, "file too short for a GGUF header (%zu bytes)", g->size);
        else
            gguf_err(err, err_size, fn, "not a GGUF file (bad magic)");
        return BD3_E_FORMAT;
    }
    uint32_t version;
    uint64_t n_tensors, n_kv;
    if (gguf_take_u32(&c, &version)) {
        gguf_err(err, err_size, fn, "truncated GGUF header");
        return BD3_E_FORMAT;
    }
    if (version != 3) {
        gguf_err(err, err_size, fn, "GGUF version %u, only version 3 is supported", version);
        return version == 1 || version == 2 ? BD3_E_UNSUPPORTED : BD3_E_FORMAT;
    }
    if (gguf_take_u64(&c, &n_tensors) || gguf_take_u64(&c, &n_kv)) {
        gguf_err(err, err_size, fn, "truncated GGUF header");
        return BD3_E_FORMAT;
    }
    /* a metadata entry takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor entry at
       least 8 + 4 + 8 + 4 + 8 bytes */
    if (n_kv > gguf_left(&c) / 13) {
        gguf_err(err, err_size, fn, "header claims %llu metadata entries, more than the file holds",
                 (unsigned long long)n_kv);
        return BD3_E_FORMAT;
    }
    if (n_tensors > gguf_left(&c) / 32) {
        gguf_err(err, err_size, fn, "header claims %llu tensors, more than the file holds",
                 (unsigned long long)n_tensors);
        return BD3_E_FORMAT;
    }
    if (n_kv > GGUF_MAX_KV || n_tensors > GGUF_MAX_TENSORS) {
        gguf_err(err, err_size, fn,
                 "header claims %llu metadata entries and %llu tensors (at most "
                 "%d and %d supported)",
                 (unsigned long long)n_kv, (unsigned long long)n_tensors, GGUF_MAX_KV, GGUF_MAX_TENSORS);
        return BD3_E_FORMAT;
    }
    g->kv = calloc(n_kv ? (size_t)n_kv : 1, sizeof *g->kv);
    g->kv_sorted = calloc(n_kv ? (size_t)n_kv : 1, sizeof(int));
    g->tensors = calloc(n_tensors ? (size_t)n_tensors : 1, sizeof *g->tensors);
    g->tensor_sorted = calloc(n_tensors ? (size_t)n_tensors : 1, sizeof(int));
    if (!g->kv || !g->kv_sorted || !g->tensors || !g->tensor_sorted) {
        gguf_err(err, err_size, fn, "out of memory reading the header");
        return BD3_E_NOMEM;
    }
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < n_kv; i++) {
        gguf_kv *kv = &g->kv[i];
        if (gguf_take_str(&c, &kv->key, &kv->key_len)) {
            gguf_err(err, err_size, fn, "key of metadata entry %llu runs past the end of the file",
                     (unsigned long long)i);
            return BD3_E_FORMAT;
        }
        if (kv->key_len == 0 || kv->key_len > GGUF_MAX_NAME) {
            gguf_err(err, err_size, fn, "metadata entry %llu has a key of %zu bytes", (unsigned long long)i,
                     kv->key_len);
            return BD3_E_FORMAT;
        }
        gguf_show(kv->key, kv->key_len, show, sizeof show);
        if (gguf_take_u32(&c, &kv->type)) {
            gguf_err(err, err_size, fn, "type of metadata key '%s' runs past the end of the file", show);
            return BD3_E_FORMAT;
        }
        bd3_status st = gguf_parse_value(&c, kv, fn, show, err, err_size);
        if (st != BD3_OK) return st;
        g->kv_sorted[i] = (int)i;
        g->n_kv = (int)i + 1;
    }
    /* general.alignment before the tensor infos are interpreted */
    for (int i = 0; i < g->n_kv; i++) {
        const gguf_kv *kv = &g->kv[i];
        if (kv->key_len == 17 && memcmp(kv->key, "general.alignment", 17) == 0) {
            if (kv->type != GGUF_TYPE_UINT32) {
                gguf_err(err, err_size, fn, "general.alignment is not a u32");
                return BD3_E_FORMAT;
            }
            uint32_t a = (uint32_t)gguf_le(kv->value, 4);
            if (a == 0 || (a & (a - 1)) || a > (1u << 24)) {
                gguf_err(err, err_size, fn, "general.alignment %u is not a power of two up to 2^24", a);
                return BD3_E_FORMAT;
            }
            g->alignment = a;
        }
    }
    for (uint64_t i = 0; i < n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        if (gguf_take_str(&c, &t->name, &t->name_len)) {
            gguf_err(err, err_size, fn, "name of tensor %llu runs past the end of the file",
                     (unsigned long long)i);
            return BD3_E_FORMAT;
        }
        if (t->name_len == 0 || t->name_len > GGUF_MAX_NAME) {
            gguf_err(err, err_size, fn, "tensor %llu has a name of %zu bytes", (unsigned long long)i,
                     t->name_len);
            return BD3_E_FORMAT;
        }
        gguf_show(t->name, t->name_len, show, sizeof show);
        uint32_t nd;
        if (gguf_take_u32(&c, &nd)) goto truncated;
        if (nd < 1 || nd > GGUF_MAX_DIMS) {
            gguf_err(err, err_size, fn, "tensor '%s' has %u dimensions (1 to %d allowed)", show, nd,
                     GGUF_MAX_DIMS);
            return BD3_E_FORMAT;
        }
        t->n_dims = (int)nd;
        uint64_t prod = 1;
        for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < nd; d++) {
            if (gguf_take_u64(&c, &t->ne[d])) goto truncated;
            if (t->ne[d] == 0) {
                gguf_err(err, err_size, fn, "tensor '%s' has an empty dimension %u", show, d);
                return BD3_E_FORMAT;
            }
            if (__builtin_mul_overflow(prod, t->ne[d], &prod) || prod > ((uint64_t)1 << 60)) {
                gguf_err(err, err_size, fn, "tensor '%s': the product of its dimensions overflows", show);
                return BD3_E_FORMAT;
            }
        }
        t->n_elements = prod;
        if (gguf_take_u32(&c, &t->type) || gguf_take_u64(&c, &t->offset)) goto truncated;
        uint64_t nb;
        switch (t->type) {
        case GGUF_TENSOR_F32: nb = prod * 4; break;
        case GGUF_TENSOR_F16:
        case GGUF_TENSOR_BF16: nb = prod * 2; break;
        case GGUF_TENSOR_Q8_0:
            if (t->ne[0] % GGUF_Q8_0_BLOCK) {
                gguf_err(err, err_size, fn, "Q8_0 tensor '%s' has ne[0] = %llu, not a multiple of 32", show,
                         (unsigned long long)t->ne[0]);
                return BD3_E_FORMAT;
            }
            nb = prod / GGUF_Q8_0_BLOCK * GGUF_Q8_0_BLOCK_BYTES;
            break;
        case GGUF_TENSOR_Q4_0:
            if (t->ne[0] % GGUF_Q8_0_BLOCK) {
                gguf_err(err, err_size, fn, "Q4_0 tensor '%s' has ne[0] = %llu, not a multiple of 32", show,
                         (unsigned long long)t->ne[0]);
                return BD3_E_FORMAT;
            }
            nb = prod / GGUF_Q8_0_BLOCK * GGUF_Q4_0_BLOCK_BYTES;
            break;
        default:
            gguf_err(err, err_size, fn,
                     "tensor '%s' has type %u (only F32, F16, BF16, Q8_0 and Q4_0 are supported)", show,
                     t->type);
            return BD3_E_UNSUPPORTED;
        }
        if (t->offset % g->alignment) {
            gguf_err(err, err_size, fn, "tensor '%s' offset %llu is not aligned to %u bytes", show,
                     (unsigned long long)t->offset, g->alignment);
            return BD3_E_FORMAT;
        }
        if (nb > g->size) {
            gguf_err(err, err_size, fn, "tensor '%s' (%llu bytes) is larger than the file", show,
                     (unsigned long long)nb);
            return BD3_E_FORMAT;
        }
        t->n_bytes = (size_t)nb;
        g->tensor_sorted[i] = (int)i;
        g->n_tensors = (int)i + 1;
    }
    size_t pos = (size_t)(c.p - g->base);
    size_t pad = (g->alignment - pos % g->alignment) % g->alignment;
    if (g->n_tensors > 0 && pad > g->size - pos) {
        gguf_err(err, err_size, fn, "data section starts past the end of the file");
        return BD3_E_FORMAT;
    }
    g->data_start = pos + pad;
    size_t data_size = g->size >= g->data_start ? g->size - g->data_start : 0;
    bd3_status st_overlap;
    for (int i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        if (t->offset > data_size || t->n_bytes > data_size - t->offset) {
            gguf_err(err, err_size, fn,
                     "tensor '%s' (offset %llu, %zu bytes) lies outside the data "
                     "section of %zu bytes (file truncated?)",
                     gguf_show(t->name, t->name_len, show, sizeof show), (unsigned long long)t->offset,
                     t->n_bytes, data_size);
            return BD3_E_FORMAT;
        }
        t->data = g->base + g->data_start + t->offset;
    }
    st_overlap = gguf_check_overlap(g, err, err_size);
    if (st_overlap != BD3_OK) return st_overlap;
    gguf_sort(g);
    for (int i = 1; i < g->n_kv; i++) {
        const gguf_kv *a = &g->kv[g->kv_sorted[i - 1]], *b = &g->kv[g->kv_sorted[i]];
        if (gguf_cmp_bytes(a->key, a->key_len, b->key, b->key_len) == 0) {
            gguf_err(err, err_size, fn, "metadata key '%s' appears twice",
                     gguf_show(a->key, a->key_len, show, sizeof show));
            return BD3_E_FORMAT;
        }
    }
    for (int i = 1; i < g->n_tensors; i++) {
        const gguf_tensor *a = &g->tensors[g->tensor_sorted[i - 1]], *b = &g->tensors[g->tensor_sorted[i]];
        if (gguf_cmp_bytes(a->name, a->name_len, b->name, b->name_len) == 0) {
            gguf_err(err, err_size, fn, "tensor '%s' appears twice",
                     gguf_show(a->name, a->name_len, show, sizeof show));
            return BD3_E_FORMAT;
        }
    }
    return BD3_OK;
truncated:
    gguf_err(err, err_size, fn, "tensor info '%s' runs past the end of the file", show);
    return BD3_E_FORMAT;
}

static bd3_status gguf_finish(gguf_file *g, gguf_file **out, char *err, size_t err_size)
{
    bd3_status st = gguf_parse(g, err, err_size);
    if (st != BD3_OK) {
        gguf_free(g);
        return st;
    }
    *out = g;
    return BD3_OK;
}

bd3_status gguf_open_memory(const void *data, size_t size, const char *name, gguf_file **out, char *err,
                            size_t err_size)
{
    *out = NULL;
    gguf_file *g = calloc(1, sizeof *g);
    if (!g || !(g->name = strdup(name ? name : "(memory)"))) {
        free(g);
        gguf_err(err, err_size, name, "out of memory");
        return BD3_E_NOMEM;
    }
    g->base = data;
    g->size = data ? size : 0;
    return gguf_finish(g, out, err, err_size);
}

bd3_status gguf_open(const char *path, gguf_file **out, char *err, size_t err_size)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY); /* a FIFO: no wait */
    if (fd < 0) {
        gguf_err(err, err_size, path, "cannot open: %s", strerror(errno));
        return BD3_E_IO;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        gguf_err(err, err_size, path, "not a regular file");
        close(fd);
        return BD3_E_IO;
    }
    size_t size = (size_t)sb.st_size;
    void *map = NULL;
    if (size > 0) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            gguf_err(err, err_size, path, "cannot map: %s", strerror(errno));
            close(fd);
            return BD3_E_IO;
        }
    }
    close(fd);
    gguf_file *g = calloc(1, sizeof *g);
    if (!g || !(g->name = strdup(path))) {
        free(g);
        if (map) munmap(map, size);
        gguf_err(err, err_size, path, "out of memory");
        return BD3_E_NOMEM;
    }
    g->base = map;
    g->size = size;
    g->mapped = map != NULL;
    return gguf_finish(g, out, err, err_size);
}

void gguf_free(gguf_file *g)
{
    if (!g) return;
    if (g->mapped) munmap((void *)g->base, g->size);
    free(g->kv);
    free(g->kv_sorted);
    free(g->tensors);
    free(g->tensor_sorted);
    free(g->name);
    free(g);
}

const char *gguf_name(const gguf_file *g) { return g->name; }
size_t gguf_size(const gguf_file *g) { return g->size; }
uint32_t gguf_alignment(const gguf_file *g) { return g->alignment; }
int gguf_n_kv(const gguf_file *g) { return g->n_kv; }
const gguf_kv *gguf_kv_at(const gguf_file *g, int i) { return i >= 0 && i < g->n_kv ? &g->kv[i] : NULL; }
int gguf_n_tensors(const gguf_file *g) { return g->n_tensors; }
const gguf_tensor *gguf_tensor_at(const gguf_file *g, int i)
{
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const gguf_kv *gguf_find_kv(const gguf_file *g, const char *key)
{
    size_t n = strlen(key);
    int lo = 0, hi = g->n_kv;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        const gguf_kv *kv = &g->kv[g->kv_sorted[mid]];
        int r = gguf_cmp_bytes(kv->key, kv->key_len, key, n);
        if (r == 0) return kv;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name)
{
    size_t n = strlen(name);
    int lo = 0, hi = g->n_tensors;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        const gguf_tensor *t = &g->tensors[g->tensor_sorted[mid]];
        int r = gguf_cmp_bytes(t->name, t->name_len, name, n);
        if (r == 0) return t;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Integer value of type t at p as signed/unsigned 64-bit; returns -1 for non-integer types. */
static int gguf_int_at(uint32_t t, const uint8_t *p, int64_t *sv, uint64_t *uv, int *is_signed)
{
    *is_signed = 0;
    switch (t) {
    case GGUF_TYPE_UINT8: *uv = p[0]; return 0;
    case GGUF_TYPE_UINT16: *uv = gguf_le(p, 2); return 0;
    case GGUF_TYPE_UINT32: *uv = gguf_le(p, 4); return 0;
    case GGUF_TYPE_UINT64: *uv = gguf_le(p, 8); return 0;
    case GGUF_TYPE_INT8: *sv = (int8_t)p[0]; break;
    case GGUF_TYPE_INT16: *sv = (int16_t)(uint16_t)gguf_le(p, 2); break;
    case GGUF_TYPE_INT32: *sv = (int32_t)(uint32_t)gguf_le(p, 4); break;
    case GGUF_TYPE_INT64: *sv = (int64_t)gguf_le(p, 8); break;
    default: return -1;
    }
    *is_signed = 1;
    return 0;
}

static int gguf_u32_at(uint32_t t, const uint8_t *p, uint32_t *out)
{
    int64_t sv = 0;
    uint64_t uv = 0;
    int sgn;
    if (gguf_int_at(t, p, &sv, &uv, &sgn)) return -1;
    if (sgn) {
        if (sv < 0) return -1;
        uv = (uint64_t)sv;
    }
    if (uv > UINT32_MAX) return -1;
    *out = (uint32_t)uv;
    return 0;
}

gguf_get gguf_get_u32(const gguf_file *g, const char *key, uint32_t *out)
{
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv) return GGUF_MISSING;
    return gguf_u32_at(kv->type, kv->value, out) ? GGUF_WRONG_TYPE : GGUF_FOUND;
}

gguf_get gguf_get_f32(const gguf_file *g, const char *key, float *out)
{
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv) return GGUF_MISSING;
    if (kv->type == GGUF_TYPE_FLOAT32) {
        uint32_t u = (uint32_t)gguf_le(kv->value, 4);
        memcpy(out, &u, 4);
        return GGUF_FOUND;
    }
    if (kv->type == GGUF_TYPE_FLOAT64) {
        uint64_t u = gguf_le(kv->value, 8);
        double d;
        memcpy(&d, &u, 8);
        *out = (float)d;
        return GGUF_FOUND;
    }
    return GGUF_WRONG_TYPE;
}

gguf_get gguf_get_str(const gguf_file *g, const char *key, const char **s, size_t *len)
{
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv) return GGUF_MISSING;
    if (kv->type != GGUF_TYPE_STRING) return GGUF_WRONG_TYPE;
    *len = (size_t)gguf_le(kv->value, 8);
    *s = (const char *)kv->value + 8;
    return GGUF_FOUND;
}

gguf_get gguf_get_arr(const gguf_file *g, const char *key, uint32_t elem_type, const gguf_kv **out)
{
    const gguf_kv *kv = gguf_find_kv(g, key);
    if (!kv) return GGUF_MISSING;
    if (kv->type != GGUF_TYPE_ARRAY) return GGUF_WRONG_TYPE;
    int want_int = gguf_scalar_size(elem_type) > 0 && elem_type != GGUF_TYPE_FLOAT32 &&
                   elem_type != GGUF_TYPE_FLOAT64 && elem_type != GGUF_TYPE_BOOL;
    int is_int = gguf_scalar_size(kv->arr_type) > 0 && kv->arr_type != GGUF_TYPE_FLOAT32 &&
                 kv->arr_type != GGUF_TYPE_FLOAT64 && kv->arr_type != GGUF_TYPE_BOOL;
    if (kv->arr_type != elem_type && !(want_int && is_int)) return GGUF_WRONG_TYPE;
    *out = kv;
    return GGUF_FOUND;
}

int gguf_arr_u32(const gguf_kv *kv, uint64_t i, uint32_t *out)
{
    int sz = gguf_scalar_size(kv->arr_type);
    if (kv->type != GGUF_TYPE_ARRAY || sz <= 0 || i >= kv->n) return -1;
    return gguf_u32_at(kv->arr_type, kv->value + i * (uint64_t)sz, out);
}

void gguf_arr_strings(const gguf_kv *kv, const char **strs, size_t *lens)
{
    const uint8_t *p = kv->value;
    for (uint64_t i = 0; i < kv->n; i++) {
        size_t n = (size_t)gguf_le(p, 8);
        strs[i] = (const char *)p + 8;
        lens[i] = n;
        p += 8 + n;
    }
}

/* ---- conversion ---- */

float gguf_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                man <<= 1;
                e++;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

void gguf_tensor_to_f32(const gguf_tensor *t, float *out)
{
    const uint8_t *p = t->data;
    uint64_t n = t->n_elements;
    switch (t->type) {
    case GGUF_TENSOR_F32: memcpy(out, p, (size_t)n * 4); break;
    case GGUF_TENSOR_F16:
        for (uint64_t i = 0; i < n; i++) out[i] = gguf_f16_to_f32((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
        break;
    case GGUF_TENSOR_BF16:
        for (uint64_t i = 0; i < n; i++) {
            uint32_t bits = (uint32_t)(p[2 * i] | (p[2 * i + 1] << 8)) << 16;
            memcpy(out + i, &bits, 4);
        }
        break;
    case GGUF_TENSOR_Q8_0:
        for (uint64_t b = 0; b < n / GGUF_Q8_0_BLOCK; b++) {
            const uint8_t *blk = p + b * GGUF_Q8_0_BLOCK_BYTES;
            float d = gguf_f16_to_f32((uint16_t)(blk[0] | (blk[1] << 8)));
            for (int i = 0; i < GGUF_Q8_0_BLOCK; i++)
                out[b * GGUF_Q8_0_BLOCK + i] = d * (float)(int8_t)blk[2 + i];
        }
        break;
    case GGUF_TENSOR_Q4_0:
        for (uint64_t b = 0; b < n / GGUF_Q8_0_BLOCK; b++) {
            const uint8_t *blk = p + b * GGUF_Q4_0_BLOCK_BYTES;
            float d = gguf_f16_to_f32((uint16_t)(blk[0] | (blk[1] << 8)));
            for (int i = 0; i < GGUF_Q8_0_BLOCK / 2; i++) {
                out[b * GGUF_Q8_0_BLOCK + i] = d * (float)((blk[2 + i] & 0x0f) - 8);
                out[b * GGUF_Q8_0_BLOCK + i + 16] = d * (float)((blk[2 + i] >> 4) - 8);
            }
        }
        break;
    }
}

void gguf_drop_pages(const gguf_file *g, const void *data, size_t n)
{
    if (!g->mapped || n == 0) return;
    long ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0) return;
    uintptr_t lo = ((uintptr_t)data + (uintptr_t)ps - 1) / (uintptr_t)ps * (uintptr_t)ps;
    uintptr_t hi = ((uintptr_t)data + n) / (uintptr_t)ps * (uintptr_t)ps;
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}
