/* cmd_bench.c: `bd3 bench`: speed figures of the engine on this machine, from one run: OpenBLAS
 * sgemm at the model's shapes against a full forward, continuation with and without the KV cache,
 * infilling a 32-token span (exact, and with the window cache at a few refresh periods), peak
 * memory. Depends on bd3.h, cli.h and POSIX. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "cli.h"

#define BENCH_SPAN           32   /* tokens of the infilled span */
#define BENCH_WINDOW         1024 /* tokens of the infill window (n_ctx when smaller) */
#define BENCH_N_REFRESH      4    /* refresh periods of the window-cache infill runs */
#define BENCH_EDITOR_REFRESH 32   /* the refresh period the figures recommend for the editor */

static void bench_random_ids(int32_t *ids, int n, const bd3_hparams *hp, bd3_rng *r)
{
    for (int i = 0; i < n; i++) {
        int32_t v;
        do v = (int32_t)(bd3_rng_u64(r) % (uint64_t)hp->n_vocab);
        while (v == hp->mask_id || v == hp->eos_id);
        ids[i] = v;
    }
}

/* Step callback of the continuation runs: notes when the prompt has been read into the cache
 * (the last call with an empty canvas), so that tokens/s counts generation only. */
static int bench_prompt_done(void *user, const bd3_progress *p)
{
    if (p->n_canvas == 0) *(double *)user = cli_now();
    return 0;
}

static double bench_peak_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* Physical cores among the CPUs this process may use (distinct package and core ids in Linux's
 * /sys topology; SMT siblings share one); 0 when that cannot be read. */
static int bench_usable_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    static unsigned long long seen[CPU_SETSIZE]; /* package << 32 | core of each core counted */
    int n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set)) continue;
        long id[2];
        static const char *const file[2] = {"physical_package_id", "core_id"};
        for (int k = 0; k < 2; k++) {
            char path[96];
            snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/%s", cpu, file[k]);
            FILE *f = fopen(path, "r");
            int ok = f && fscanf(f, "%ld", &id[k]) == 1;
            if (f) fclose(f);
            if (!ok) return 0;
        }
        unsigned long long key =
            (unsigned long long)(id[0] & 0xffffffffL) << 32 | (unsigned long long)(id[1] & 0xffffffffL);
        int known = 0;
        for (int i = 0; i < n && !known; i++) known = seen[i] == key;
        if (!known) seen[n++] = key;
    }
    return n;
}

/* The threads the figures ran on, what was asked, the CPUs and cores they share, and the kernels. */
static void bench_print_threads(const cli_opts *o, const bd3_ctx *c)
{
    int t = bd3_ctx_threads(c), cpus = bd3_cpu_count(), cores = bench_usable_cores();
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    printf("threads %d", t);
    if (o->threads > 0 && o->threads != t)
        printf(" (%d asked, %d at most)", o->threads, t);
    else if (o->threads <= 0)
        printf(" (default: one per usable CPU)");
    printf(", usable CPUs %d", cpus);
    if (online > 0 && online != cpus) printf(" of %ld online", online);
    if (cores > 0 && cores < cpus) printf(" on %d cores", cores);
    if (t > cpus)
        printf(": more threads than CPUs, some wait for a CPU");
    else if (cores > 0 && t > cores)
        printf(": more threads than cores, some share a core with another");
    printf("; kernels %s\n", bd3_isa_name());
}

/* Seconds of infilling span masks in the middle of a window of wn random ids. */
static bd3_status bench_infill(bd3_ctx *c, const bd3_sampler_params *sp, const bd3_hparams *hp, int wn,
                               int span, int32_t *ids, float *conf, double *secs)
{
    bd3_rng r;
    bd3_rng_seed(&r, sp->seed + 1);
    bench_random_ids(ids, wn, hp, &r);
    int s0 = (wn - span) / 2;
    for (int i = 0; i < span; i++) ids[s0 + i] = hp->mask_id;
    double t0 = cli_now();
    bd3_status st = bd3_infill(c, sp, ids, conf, wn, NULL, NULL);
    *secs = cli_now() - t0;
    return st;
}

int cmd_bench(cli_opts *o)
{
    bd3_model *m;
    bd3_ctx *c;
    int rc = cli_load(o, &m, &c);
    if (rc != CLI_EXIT_OK) return rc;
    const bd3_hparams *hp = bd3_model_hparams(m);
    const int n = hp->n_ctx;
    int B = o->block_len > 0 ? o->block_len : bd3_model_default_block(m);
    if (2 * B > n) B = n / 4 > 0 ? n / 4 : 1;
    int32_t *ids = malloc((size_t)n * sizeof *ids);     /* [n_ctx] random prompt or window */
    int32_t *out = malloc((size_t)2 * B * sizeof *out); /* [2B] continuation */
    float *conf = calloc((size_t)n, sizeof *conf);      /* [n_ctx] infill confidences */
    float *wlogits = NULL;
    if (!ids || !out || !conf) {
        cli_error(o, "out of memory");
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    /* the name comes from the file: shown, not obeyed, on a terminal */
    cli_out w;
    cli_out_init(&w, stdout);
    printf("model ");
    cli_out_write(&w, bd3_model_name(m), strlen(bd3_model_name(m)));
    cli_out_finish(&w);
    printf(": n_layer %d, n_embd %d, n_ff %d, n_vocab %d, n_ctx %d, block %d\n", hp->n_layer, hp->n_embd,
           hp->n_ff, hp->n_vocab, n, B);
    bench_print_threads(o, c);
    cli_progress prog;
    cli_progress_start(&prog, o, "bench");
    bd3_status st = BD3_OK;

    /* Continuation: two blocks after a prompt of half the window, with and without the cache. */
    bd3_rng r;
    bd3_rng_seed(&r, o->sp.seed);
    bench_random_ids(ids, n, hp, &r);
    int prompt_len = n / 2 / B * B;
    if (prompt_len < B) prompt_len = B;
    double tps[2];
    int n_new[2];
    for (int nc = 0; nc < 2; nc++) {
        bd3_stop why;
        double t0 = cli_now();
        st = nc ? bd3_continue_nocache(c, &o->sp, B, ids, prompt_len, 2 * B, out, NULL, &n_new[nc], &why,
                                       bench_prompt_done, &t0)
                : bd3_continue(c, &o->sp, B, ids, prompt_len, 2 * B, out, NULL, &n_new[nc], &why,
                               bench_prompt_done, &t0);
        double dt = cli_now() - t0;
        if (st != BD3_OK) {
            cli_progress_end(&prog);
            cli_error(o, "continuation failed: %s", bd3_status_str(st));
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        tps[nc] = n_new[nc] / dt;
        cli_progress_show(&prog, 1 + nc, 6, "continue");
    }

    /* The editor's pattern: one block per call, each call's prompt the last one's plus its
     * output. The second call reuses the cache; the same call after clearing it reads the whole
     * prompt again. */
    double t_next[2] = {0.0, 0.0};
    for (int k = 0; k < 3 && st == BD3_OK; k++) {
        bd3_stop why;
        int n1 = 0;
        if (k == 2) bd3_cache_clear(c);
        double t0 = cli_now();
        st = bd3_continue(c, &o->sp, B, ids, prompt_len + (k ? B : 0), B, out, NULL, &n1, &why, NULL, NULL);
        if (k)
            t_next[k - 1] = cli_now() - t0;
        else if (st == BD3_OK && n1 == B)
            memcpy(ids + prompt_len, out, (size_t)B * sizeof *ids); /* the next call's prompt */
        else if (st == BD3_OK)
            break; /* stopped early (end-of-text): no next call to time */
    }
    if (st != BD3_OK) {
        cli_progress_end(&prog);
        cli_error(o, "continuation failed: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }

    /* Infill of a 32-token span in the middle of a 1024-token window: with the sampler options
     * given, and with two confidence-ordered steps (parallel decoding). */
    int wn = n < BENCH_WINDOW ? n : BENCH_WINDOW;
    int span = BENCH_SPAN < wn / 4 ? BENCH_SPAN : wn / 4;
    double t_infill = 0.0, t_infill2 = 0.0;
    st = bench_infill(c, &o->sp, hp, wn, span, ids, conf, &t_infill);
    cli_progress_show(&prog, 3, 6, "infill");
    bd3_sampler_params two = o->sp;
    two.kind = BD3_SAMPLE_CONFIDENCE;
    two.steps = 2;
    if (st == BD3_OK) st = bench_infill(c, &two, hp, wn, span, ids, conf, &t_infill2);
    if (st != BD3_OK) {
        cli_progress_end(&prog);
        cli_error(o, "infill failed: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    /* The same span with the window cache (first hitting, one mask per call) at a few refresh
     * periods: R = span is one full pass followed by span-only calls. */
    static const int refresh[BENCH_N_REFRESH] = {4, 8, 16, BENCH_SPAN};
    double t_cached[BENCH_N_REFRESH];
    bd3_sampler_params fh = o->sp;
    fh.kind = BD3_SAMPLE_FIRST_HITTING;
    fh.steps = 0;
    for (int k = 0; k < BENCH_N_REFRESH && st == BD3_OK; k++) {
        fh.refresh = refresh[k];
        st = bench_infill(c, &fh, hp, wn, span, ids, conf, &t_cached[k]);
    }
    if (st != BD3_OK) {
        cli_progress_end(&prog);
        cli_error(o, "cached infill failed: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    cli_progress_show(&prog, 4, 6, "forward");
    double peak_ops = bench_peak_mib();

    /* A full forward against sgemm on the same shapes. */
    bd3_bench_result br;
    st = bd3_bench_forward(c, 3, &br);
    if (st != BD3_OK) {
        cli_progress_end(&prog);
        cli_error(o, "forward benchmark failed: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
        goto done;
    }
    double t_fwd_w = br.forward_s;
    if (wn != n) {
        wlogits = malloc((size_t)wn * (size_t)hp->n_vocab * sizeof *wlogits); /* [wn, V] */
        if (!wlogits) {
            cli_error(o, "out of memory");
            rc = CLI_EXIT_FAIL;
            goto done;
        }
        double t0 = cli_now();
        bd3_forward(c, ids, wn, BD3_GLOBAL, wlogits);
        t_fwd_w = cli_now() - t0;
    }
    cli_progress_end(&prog);

    printf("sgemm %.2f GFLOP/s (OpenBLAS at the forward pass's shapes; largest product alone %.2f)\n",
           br.sgemm_gflops, br.peak_gflops);
    printf("forward %.2f GFLOP/s, %.4f s for %d tokens (global), %.0f%% of sgemm\n", br.forward_gflops,
           br.forward_s, n, 100.0 * br.ratio);
    printf("continue %.2f tokens/s with KV cache, %.2f tokens/s without (%d tokens after a prompt of "
           "%d, prompt reading not counted; sampler %s, steps %d)\n",
           tps[0], tps[1], n_new[0], prompt_len, bd3_sampler_kind_name(o->sp.kind), o->sp.steps);
    if (t_next[0] > 0.0)
        printf("continue one block after a call that wrote the prompt's last block: %.4f s reusing the "
               "cache, %.4f s reading the %d-token prompt afresh\n",
               t_next[0], t_next[1], prompt_len + B);
    printf("infill %d tokens in a %d-token window: %.4f s = %.2f full forwards (sampler %s, steps %d, "
           "refresh %d%s)\n",
           span, wn, t_infill, t_infill / t_fwd_w, bd3_sampler_kind_name(o->sp.kind), o->sp.steps,
           o->sp.refresh, o->sp.refresh ? "" : ": exact");
    for (int k = 0; k < BENCH_N_REFRESH; k++)
        printf("infill %d tokens in a %d-token window: %.4f s = %.2f full forwards (sampler "
               "first-hitting, window cache refresh %d%s)\n",
               span, wn, t_cached[k], t_cached[k] / t_fwd_w, refresh[k],
               refresh[k] == BENCH_EDITOR_REFRESH ? ": recommended for the editor" : "");
    printf("infill %d tokens in a %d-token window: %.4f s = %.2f full forwards (sampler confidence, "
           "steps 2)\n",
           span, wn, t_infill2, t_infill2 / t_fwd_w);
    printf("peak memory %.1f MiB during the operations, %.1f MiB in all (model file %.1f MiB, "
           "context %.1f MiB)\n",
           peak_ops, bench_peak_mib(), bd3_model_file_size(m) / 1048576.0, bd3_ctx_bytes(c) / 1048576.0);
done:
    free(ids);
    free(out);
    free(conf);
    free(wlogits);
    bd3_ctx_free(c);
    bd3_model_free(m);
    return rc;
}
