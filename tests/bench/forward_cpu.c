/* forward_cpu.c: process CPU time of the forward pass per compute mode (not a test; figures are
 * printed, never asserted), for a machine where wall time is noisy: one global pass over n_ctx
 * random ids and one 16-token block through the KV cache after a 512-token prompt, best of 3.
 * Usage: forward_cpu MODEL.gguf [THREADS [MODE...]] (modes: auto f32 q8 bf16; default auto f32)
 * Build (after make): cc -std=c11 -D_GNU_SOURCE -O2 -pthread -Imodel -o build/forward_cpu
 *   tests/bench/forward_cpu.c build/libbd3.a -lutf8proc -lopenblas -lm */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "bd3.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Float32-equivalent FLOPs of a global pass over n rows: 2 n per weight of every product, and
 * q k^T and p v over n keys (the DiT: D = H * hd, 4 D^2 + 2 D F per layer; pre-norm: its own widths). */
static double pass_flop(const bd3_hparams *hp, double n)
{
    double D = hp->n_embd, F = hp->n_ff, V = hp->n_vocab, Q = (double)hp->n_head * hp->head_dim;
    double KD = (double)hp->n_head_kv * hp->head_dim;
    double layer = hp->prenorm ? 2.0 * Q * D + 2.0 * KD * D + 3.0 * F * D : 4.0 * D * D + 2.0 * D * F;
    return hp->n_layer * (2.0 * n * layer + 4.0 * n * n * Q) + 2.0 * n * V * D;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: forward_cpu MODEL.gguf [THREADS [MODE...]]\n");
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    const char *def[] = {"auto", "f32"};
    const char **modes = argc > 3 ? (const char **)argv + 3 : def;
    int n_modes = argc > 3 ? argc - 3 : 2;
    for (int mi = 0; mi < n_modes; mi++) {
        bd3_compute cm;
        if (bd3_compute_parse(modes[mi], &cm)) {
            fprintf(stderr, "unknown mode %s\n", modes[mi]);
            return 2;
        }
        bd3_model *m = NULL;
        bd3_ctx *c = NULL;
        char err[512];
        if (bd3_model_load_compute(argv[1], cm, &m, err, sizeof err) != BD3_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        if (bd3_ctx_new(m, threads, &c) != BD3_OK) return 1;
        const bd3_hparams *hp = bd3_model_hparams(m);
        int n = hp->n_ctx, B = 16, P = n / 2 < 512 ? n / 2 : 512;
        int32_t *ids = malloc(sizeof *ids * (size_t)n);
        float *logits = malloc(sizeof *logits * (size_t)n * (size_t)hp->n_vocab);
        if (!ids || !logits) return 1;
        unsigned s = 12345;
        for (int i = 0; i < n; i++) {
            s = s * 1103515245u + 12345u;
            ids[i] = (int32_t)((s >> 8) % (unsigned)(hp->n_vocab - 1));
            if (ids[i] == hp->mask_id) ids[i] = 0;
        }
        double best = 1e30, best_step = 1e30;
        for (int r = 0; r < 3; r++) {
            double t0 = cpu_s();
            if (bd3_forward(c, ids, n, BD3_GLOBAL, logits) != BD3_OK) return 1;
            double t1 = cpu_s();
            if (t1 - t0 < best) best = t1 - t0;
            bd3_cache_clear(c);
            for (int i = 0; i < P; i += B)
                if (bd3_cache_commit(c, ids + i, B) != BD3_OK) return 1;
            double t2 = cpu_s();
            if (bd3_cache_forward(c, ids + P, B, logits) != BD3_OK) return 1;
            double t3 = cpu_s();
            if (t3 - t2 < best_step) best_step = t3 - t2;
        }
        printf("%-5s (model says %s): global pass of %d tokens %.3f s CPU = %.1f GFLOP/s; 16-token cached "
               "step after %d tokens %.4f s CPU; context %.1f MiB\n",
               modes[mi], bd3_compute_name(bd3_model_compute(m)), n, best, pass_flop(hp, n) / best * 1e-9, P,
               best_step, bd3_ctx_bytes(c) / 1048576.0);
        free(ids);
        free(logits);
        bd3_ctx_free(c);
        bd3_model_free(m);
    }
    return 0;
}
