/* fuzz_gguf.c: fuzz target for the GGUF reader and the bd3lm model loader: any bytes must give
 * either a model or a clear error, never a crash or an out-of-bounds read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bd3.h"
#include "gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, so that sanitizers catch any read past the end */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    gguf_file *g = NULL;
    char err[512];
    if (gguf_open_memory(buf, size, "fuzz.gguf", &g, err, sizeof err) != BD3_OK) {
        if (strncmp(err, "fuzz.gguf: ", 11) != 0) abort(); /* every message names the file */
        free(buf);
        return 0;
    }
    /* touch every value and tensor the reader accepted */
    for (int i = 0; i < gguf_n_kv(g); i++) {
        const gguf_kv *kv = gguf_kv_at(g, i);
        char key[128];
        size_t n = kv->key_len < sizeof key - 1 ? kv->key_len : sizeof key - 1;
        memcpy(key, kv->key, n);
        key[n] = 0;
        uint32_t u;
        float f;
        const char *s;
        size_t len;
        (void)gguf_get_u32(g, key, &u);
        (void)gguf_get_f32(g, key, &f);
        (void)gguf_get_str(g, key, &s, &len);
        if (kv->type == GGUF_TYPE_ARRAY && kv->arr_type != GGUF_TYPE_STRING)
            for (uint64_t k = 0; k < kv->n && k < 64; k++) (void)gguf_arr_u32(kv, k, &u);
    }
    for (int i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        if (t->n_elements > (1u << 20)) continue;
        float *out = malloc((size_t)t->n_elements * sizeof(float));
        if (out) gguf_tensor_to_f32(t, out);
        free(out);
    }
    gguf_free(g);
    /* files the reader accepts go through the model loader too */
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_gguf_%d.gguf", (int)getpid());
    FILE *fp = fopen(path, "wb");
    if (fp) {
        size_t w = fwrite(buf, 1, size, fp);
        fclose(fp);
        bd3_model *m = NULL;
        if (w == size && bd3_model_load(path, &m, err, sizeof err) == BD3_OK) {
            int32_t *ids = NULL;
            size_t n_ids = 0;
            if (bd3_tokenize(m, "ab c", 4, &ids, &n_ids) == BD3_OK) free(ids);
            bd3_model_free(m);
        } else if (strncmp(err, path, strlen(path)) != 0) {
            abort();
        }
        unlink(path);
    }
    free(buf);
    return 0;
}
