/* block_step.c: time of the KV-cache calls of block decoding (not a test; figures are printed,
 * never asserted): model load, commit of a prompt block by block, a denoising call for one block
 * of masks against the cache (repeated), and a commit of one block.
 * Usage: block_step MODEL.gguf [PROMPT_TOKENS [BLOCK [THREADS]]]
 * Build (after make): cc -std=c11 -D_GNU_SOURCE -O2 -pthread -Imodel -o build/block_step
 *   tests/bench/block_step.c build/libbd3.a -lutf8proc -lopenblas -lm */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "bd3.h"

#define STEP_REPEAT 8 /* denoising calls timed */

static double step_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: block_step MODEL.gguf [PROMPT_TOKENS [BLOCK [THREADS]]]\n");
        return 2;
    }
    int n_prompt = argc > 2 ? atoi(argv[2]) : 64;
    int threads = argc > 4 ? atoi(argv[4]) : 0;
    char err[512];
    bd3_model *m = NULL;
    double t0 = step_now();
    if (bd3_model_load(argv[1], &m, err, sizeof err) != BD3_OK) {
        fprintf(stderr, "block_step: %s\n", err);
        return 1;
    }
    bd3_ctx *c = NULL;
    if (bd3_ctx_new(m, threads, &c) != BD3_OK) {
        fprintf(stderr, "block_step: cannot make a context\n");
        return 1;
    }
    double t1 = step_now();
    const bd3_hparams *hp = bd3_model_hparams(m);
    int B = argc > 3 ? atoi(argv[3]) : bd3_model_default_block(m);
    if (B <= 0 || n_prompt < B || n_prompt + 2 * B > hp->n_ctx) {
        fprintf(stderr, "block_step: prompt %d and block %d do not fit n_ctx %d\n", n_prompt, B, hp->n_ctx);
        return 2;
    }
    n_prompt = n_prompt / B * B;
    int32_t *ids = malloc((size_t)(n_prompt + B) * sizeof *ids);
    float *logits = malloc((size_t)B * (size_t)hp->n_vocab * sizeof *logits);
    if (!ids || !logits) return 1;
    for (int i = 0; i < n_prompt; i++) ids[i] = (int32_t)((i * 7919 + 13) % (hp->n_vocab / 2));
    for (int i = 0; i < B; i++) ids[n_prompt + i] = hp->mask_id;
    bd3_cache_clear(c);
    double t2 = step_now();
    for (int b = 0; b < n_prompt; b += B)
        if (bd3_cache_commit(c, ids + b, B) != BD3_OK) return 1;
    double t3 = step_now(), best = 1e30, sum = 0.0;
    for (int r = 0; r < STEP_REPEAT; r++) {
        double a = step_now();
        if (bd3_cache_forward(c, ids + n_prompt, B, logits) != BD3_OK) return 1;
        double d = step_now() - a;
        sum += d;
        if (d < best) best = d;
    }
    for (int i = 0; i < B; i++) ids[n_prompt + i] = (int32_t)(i + 1);
    double t4 = step_now();
    if (bd3_cache_commit(c, ids + n_prompt, B) != BD3_OK) return 1;
    double t5 = step_now();
    printf("model %s: %zu params, n_ctx %d, block %d, context %.1f MiB\n", bd3_model_name(m),
           bd3_model_n_params(m), hp->n_ctx, B, bd3_ctx_bytes(c) / 1048576.0);
    printf("load + context %.2f s\n", t1 - t0);
    printf("prompt of %d tokens committed block by block: %.2f s (%.1f tokens/s)\n", n_prompt, t3 - t2,
           n_prompt / (t3 - t2));
    printf("denoising call, %d masks after %d cached rows: best %.3f s, mean %.3f s over %d\n", B, n_prompt,
           best, sum / STEP_REPEAT, STEP_REPEAT);
    printf("commit of one block: %.3f s\n", t5 - t4);
    free(ids);
    free(logits);
    bd3_ctx_free(c);
    bd3_model_free(m);
    return 0;
}
