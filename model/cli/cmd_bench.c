/* cmd_bench.c: `bd3 bench`: speed figures of the engine on this machine, from one run: OpenBLAS
 * sgemm at the model's shapes, a full forward, continuation with and without the KV cache,
 * infilling a 32-token span, peak memory. Depends on bd3.h, cli.h, OpenBLAS's cblas.h, POSIX. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "cli.h"

#define BENCH_SPAN 32      /* tokens of the infilled span */
#define BENCH_WINDOW 1024  /* tokens of the infill window (n_ctx when smaller) */

/* Seconds of one C[M,N] = A[M,K] B[N,K]^T (the layout of the forward pass), best of reps. */
static double bench_sgemm(int M, int N, int K, int reps)
{
    float *a = malloc((size_t)M * K * sizeof *a);
    float *b = malloc((size_t)N * K * sizeof *b);
    float *c = malloc((size_t)M * N * sizeof *c);
    double best = -1.0;
    if (a && b && c) {
        for (size_t i = 0; i < (size_t)M * K; i++)
            a[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
        for (size_t i = 0; i < (size_t)N * K; i++)
            b[i] = (float)((i * 40503u) % 1000) * 1e-3f - 0.5f;
        for (int r = 0; r < reps; r++) {
            double t0 = cli_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
            double dt = cli_now() - t0;
            if (best < 0 || dt < best)
                best = dt;
        }
    }
    free(a);
    free(b);
    free(c);
    return best;
}

static void bench_random_ids(int32_t *ids, int n, const bd3_hparams *hp, bd3_rng *r)
{
    for (int i = 0; i < n; i++) {
        int32_t v;
        do
            v = (int32_t)(bd3_rng_u64(r) % (uint64_t)hp->n_vocab);
        while (v == hp->mask_id);
        ids[i] = v;
    }
}

int cmd_bench(cli_opts *o)
{
    bd3_model *m;
    bd3_ctx *c;
    int rc = cli_load(o, &m, &c);
    if (rc != CLI_EXIT_OK)
        return rc;
    const bd3_hparams *hp = bd3_model_hparams(m);
    const int n = hp->n_ctx, D = hp->n_embd, F = hp->n_ff, V = hp->n_vocab, NL = hp->n_layer;
    int B = o->block_len > 0 ? o->block_len : bd3_model_default_block(m);
    if (2 * B > n)
        B = n / 4 > 0 ? n / 4 : 1;
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    int32_t *out = malloc((size_t)2 * B * sizeof *out);
    float *logits = malloc((size_t)n * V * sizeof *logits);
    float *conf = calloc((size_t)n, sizeof *conf);
    if (!ids || !out || !logits || !conf) {
        cli_error(o, "out of memory");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    bd3_rng r;
    bd3_rng_seed(&r, o->sp.seed);
    bench_random_ids(ids, n, hp, &r);
    printf("model %s: n_layer %d, n_embd %d, n_ff %d, n_vocab %d, n_ctx %d, block %d\n",
           bd3_model_name(m), NL, D, F, V, n, B);

    /* 1. sgemm at the forward pass's shapes, weighted as one forward uses them. */
    const int reps = 3;
    double t_layer = bench_sgemm(n, 3 * D, D, reps) + bench_sgemm(n, D, D, reps) +
                     bench_sgemm(n, F, D, reps) + bench_sgemm(n, D, F, reps);
    double t_out = bench_sgemm(n, V, D, reps);
    double mm_flops = 2.0 * n * ((double)NL * (4.0 * D * D + 2.0 * D * F) + (double)D * V);
    double t_sgemm = NL * t_layer + t_out;
    double sgemm_gflops = mm_flops / t_sgemm * 1e-9;
    printf("sgemm %.2f GFLOP/s (OpenBLAS, M=%d at the model's shapes)\n", sgemm_gflops, n);

    /* 2. one full global forward over n_ctx tokens. */
    bd3_status st = bd3_forward(c, ids, n, BD3_GLOBAL, logits); /* warm-up */
    double t_fwd = -1.0;
    for (int i = 0; st == BD3_OK && i < 2; i++) {
        double t0 = cli_now();
        st = bd3_forward(c, ids, n, BD3_GLOBAL, logits);
        double dt = cli_now() - t0;
        if (t_fwd < 0 || dt < t_fwd)
            t_fwd = dt;
    }
    if (st != BD3_OK) {
        cli_error(o, "forward failed: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    double fwd_flops = mm_flops + 4.0 * NL * (double)n * n * D;
    double fwd_gflops = fwd_flops / t_fwd * 1e-9;
    printf("forward %.3f s, %.2f GFLOP/s (global, %d tokens), %.0f%% of sgemm\n", t_fwd, fwd_gflops,
           n, 100.0 * fwd_gflops / sgemm_gflops);

    /* 3. continuation: two blocks after a prompt of half the window, with and without cache. */
    int prompt_len = n / 2 / B * B;
    if (prompt_len < B)
        prompt_len = B;
    double tps[2];
    for (int nc = 0; nc < 2; nc++) {
        int n_out = 0;
        bd3_stop why;
        double t0 = cli_now();
        st = nc ? bd3_continue_nocache(c, &o->sp, B, ids, prompt_len, 2 * B, out, NULL, &n_out, &why, NULL, NULL)
                : bd3_continue(c, &o->sp, B, ids, prompt_len, 2 * B, out, NULL, &n_out, &why, NULL, NULL);
        double dt = cli_now() - t0;
        if (st != BD3_OK) {
            cli_error(o, "continuation failed: %s", bd3_status_str(st));
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        tps[nc] = n_out / dt;
    }
    printf("continue %.2f tokens/s with KV cache, %.2f tokens/s without (prompt %d, sampler %s, "
           "steps %d)\n", tps[0], tps[1], prompt_len, bd3_sampler_kind_name(o->sp.kind), o->sp.steps);

    /* 4. infill a 32-token span in the middle of a 1024-token window. */
    int wn = n < BENCH_WINDOW ? n : BENCH_WINDOW;
    int span = BENCH_SPAN < wn / 4 ? BENCH_SPAN : wn / 4;
    int s0 = (wn - span) / 2;
    for (int i = 0; i < span; i++)
        ids[s0 + i] = hp->mask_id;
    double t0 = cli_now();
    st = bd3_infill(c, &o->sp, ids, conf, wn, NULL, NULL);
    double t_infill = cli_now() - t0;
    if (st != BD3_OK) {
        cli_error(o, "infill failed: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    double t_fwd_w = t_fwd;
    if (wn != n) {
        t0 = cli_now();
        bd3_forward(c, ids, wn, BD3_GLOBAL, logits);
        t_fwd_w = cli_now() - t0;
    }
    printf("infill %d tokens in a %d-token window: %.3f s = %.2f full forwards\n", span, wn,
           t_infill, t_infill / t_fwd_w);

    /* 5. peak memory. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak memory %.1f MiB (model file %.1f MiB, context %.1f MiB)\n", ru.ru_maxrss / 1024.0,
           bd3_model_file_size(m) / 1048576.0, bd3_ctx_bytes(c) / 1048576.0);
done:
    free(ids);
    free(out);
    free(logits);
    free(conf);
    bd3_ctx_free(c);
    bd3_model_free(m);
    return rc;
}
