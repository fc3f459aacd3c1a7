/* gguf.h: GGUF v3 container reader (mmap or memory buffer), internal to the engine. Validates the
 * whole file at open time as hostile input; getters report "missing" or "wrong type" instead of
 * failing. Depends on libc and bd3.h (status codes) only; knows nothing of the bd3lm layout. */
#ifndef BD3_GGUF_H
#define BD3_GGUF_H

#include <stddef.h>
#include <stdint.h>
#include "bd3.h"

#define GGUF_MAX_DIMS          4
#define GGUF_DEFAULT_ALIGNMENT 32

/* metadata value types (GGUF numbering) */
typedef enum gguf_type {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
} gguf_type;

/* tensor types this reader accepts (GGML numbering) */
typedef enum gguf_tensor_type {
    GGUF_TENSOR_F32 = 0,
    GGUF_TENSOR_F16 = 1,
    GGUF_TENSOR_Q4_0 = 2,
    GGUF_TENSOR_Q8_0 = 8,
    GGUF_TENSOR_BF16 = 30,
} gguf_tensor_type;

#define GGUF_Q8_0_BLOCK       32 /* values per Q8_0 block */
#define GGUF_Q8_0_BLOCK_BYTES 34 /* f16 scale + 32 int8 */
#define GGUF_Q4_0_BLOCK_BYTES 18 /* f16 scale + 16 bytes of two 4-bit codes (32 values) */

/* Result of a metadata getter. */
typedef enum gguf_get {
    GGUF_FOUND = 0,  /* the value was stored into *out */
    GGUF_MISSING,    /* no such key */
    GGUF_WRONG_TYPE, /* the key exists with a type that cannot represent the request */
} gguf_get;

typedef struct gguf_kv {
    const char *key;      /* key bytes inside the file, NOT NUL-terminated */
    size_t key_len;       /* bytes of key */
    uint32_t type;        /* gguf_type of the value */
    uint32_t arr_type;    /* element gguf_type when type is GGUF_TYPE_ARRAY */
    uint64_t n;           /* array elements (1 for scalars) */
    const uint8_t *value; /* first byte of the value (for arrays: of the first element) */
} gguf_kv;

typedef struct gguf_tensor {
    const char *name;           /* name bytes inside the file, NOT NUL-terminated */
    size_t name_len;            /* bytes of name */
    int n_dims;                 /* 1..GGUF_MAX_DIMS */
    uint64_t ne[GGUF_MAX_DIMS]; /* elements per dimension, fastest-varying first; unused = 1 */
    uint32_t type;              /* gguf_tensor_type */
    uint64_t n_elements;        /* product of ne */
    uint64_t offset;            /* bytes from the start of the data section */
    size_t n_bytes;             /* bytes of the tensor data */
    const uint8_t *data;        /* first byte of the data (inside the mapping) */
} gguf_tensor;

typedef struct gguf_file gguf_file;

/* Maps and validates a file. On error *out is NULL and err names the file and the problem. */
bd3_status gguf_open(const char *path, gguf_file **out, char *err, size_t err_size);
/* Validates a buffer that the caller keeps alive and unchanged until gguf_free; name is used in
 * messages. */
bd3_status gguf_open_memory(const void *data, size_t size, const char *name, gguf_file **out, char *err,
                            size_t err_size);
void gguf_free(gguf_file *g); /* NULL is a no-op */

const char *gguf_name(const gguf_file *g);   /* path or name given at open */
size_t gguf_size(const gguf_file *g);        /* bytes of the file */
uint32_t gguf_alignment(const gguf_file *g); /* data alignment in bytes */

/* ---- metadata ---- */
int gguf_n_kv(const gguf_file *g);
const gguf_kv *gguf_kv_at(const gguf_file *g, int i); /* in file order */
const gguf_kv *gguf_find_kv(const gguf_file *g, const char *key);
/* Integers accept any integer type whose value fits; floats accept f32 and f64. */
gguf_get gguf_get_u32(const gguf_file *g, const char *key, uint32_t *out);
gguf_get gguf_get_f32(const gguf_file *g, const char *key, float *out);
/* *s points into the file and is NOT NUL-terminated. */
gguf_get gguf_get_str(const gguf_file *g, const char *key, const char **s, size_t *len);
/* Array of integers: *n elements; read them with gguf_arr_u32. */
gguf_get gguf_get_arr(const gguf_file *g, const char *key, uint32_t elem_type, const gguf_kv **out);
/* Element i of an integer array as u32; returns -1 when it does not fit (negative or > 2^32-1). */
int gguf_arr_u32(const gguf_kv *kv, uint64_t i, uint32_t *out);
/* Fills strs[0..n) / lens[0..n) with pointers into the file for a string array of exactly n
 * elements (n = kv->n). */
void gguf_arr_strings(const gguf_kv *kv, const char **strs, size_t *lens);

/* ---- tensors ---- */
int gguf_n_tensors(const gguf_file *g);
const gguf_tensor *gguf_tensor_at(const gguf_file *g, int i); /* in file order */
const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name);
const char *gguf_tensor_type_name(uint32_t type);

/* Exact float32 values of a tensor of n_elements values, into out[n_elements] (unaligned input
 * is fine). F16, BF16, Q8_0 and Q4_0 are converted exactly: every f16, every bf16 (the top 16 bits of
 * a float32) and every f16 * int8 is a float32. */
void gguf_tensor_to_f32(const gguf_tensor *t, float *out);
float gguf_f16_to_f32(uint16_t h);
/* Hands the whole pages of data[0..n) back to the kernel when the file is mapped (they are read
 * from the file again if touched): for tensors the caller has copied elsewhere. A no-op for a
 * memory buffer. */
void gguf_drop_pages(const gguf_file *g, const void *data, size_t n);

#endif
