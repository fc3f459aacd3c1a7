/* mem_parts.c: where the memory of `bd3 bench`'s operations goes (not a test; figures are printed,
 * never asserted): the context's buffers by name, the packed weights, and the resident size after
 * each step of the bench's sequence (continue with and without the KV cache, exact infill,
 * confidence-ordered infill, window-cache infill).
 * Usage: mem_parts MODEL.gguf [THREADS]
 * Build (after make): cc -std=c11 -D_GNU_SOURCE -O2 -pthread -Imodel -o build/mem_parts
 *   tests/bench/mem_parts.c build/libbd3.a -lutf8proc -lopenblas -lm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "forward.h"

#define MIB (1024.0 * 1024.0)

/* VmRSS and VmHWM of this process in MiB. */
static void parts_rss(double *rss, double *hwm)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    *rss = *hwm = 0.0;
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6)) *rss = atof(line + 6) / 1024.0;
        if (!strncmp(line, "VmHWM:", 6)) *hwm = atof(line + 6) / 1024.0;
    }
    if (f) fclose(f);
}

static void parts_stage(const char *what)
{
    double rss, hwm;
    parts_rss(&rss, &hwm);
    printf("%-40s rss %8.1f MiB  peak %8.1f MiB\n", what, rss, hwm);
}

/* One buffer of the context: what, its MiB, a note. */
static void parts_line(const char *what, double bytes, const char *note)
{
    printf("  %-28s %8.2f MiB  %s\n", what, bytes / MIB, note);
}

static size_t parts_matrix(const model_matrix *w)
{
    return w->f32 ? 0 : quant_matrix_bytes(&w->q);
}

static void parts_random(int32_t *ids, int n, const bd3_hparams *hp, bd3_rng *r)
{
    for (int i = 0; i < n; i++) {
        int32_t v;
        do v = (int32_t)(bd3_rng_u64(r) % (uint64_t)hp->n_vocab);
        while (v == hp->mask_id || v == hp->eos_id);
        ids[i] = v;
    }
}

static void parts_infill(bd3_ctx *c, const bd3_sampler_params *sp, const bd3_hparams *hp, int32_t *ids,
                         float *conf, const char *what)
{
    bd3_rng r;
    bd3_rng_seed(&r, sp->seed + 1);
    parts_random(ids, hp->n_ctx, hp, &r);
    for (int i = 0; i < 32; i++) ids[(hp->n_ctx - 32) / 2 + i] = hp->mask_id;
    if (bd3_infill(c, sp, ids, conf, hp->n_ctx, NULL, NULL) != BD3_OK) printf("infill failed\n");
    parts_stage(what);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mem_parts MODEL.gguf [THREADS]\n");
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    char err[512];
    bd3_model *m = NULL;
    parts_stage("start");
    if (bd3_model_load(argv[1], &m, err, sizeof err) != BD3_OK) {
        fprintf(stderr, "mem_parts: %s\n", err);
        return 1;
    }
    parts_stage("model loaded");
    size_t packed = parts_matrix(&m->w_out);
    for (int l = 0; l < m->hp.n_layer; l++) {
        const bd3_layer *L = &m->layers[l];
        packed += parts_matrix(&L->wqkv) + parts_matrix(&L->wo) + parts_matrix(&L->w_up) +
                  parts_matrix(&L->w_down) + parts_matrix(&L->wq) + parts_matrix(&L->wk) +
                  parts_matrix(&L->wv) + parts_matrix(&L->w_gate);
    }
    printf("model file %.1f MiB, packed matrices %.1f MiB (output %.1f MiB)\n", m->file_size / MIB,
           packed / MIB, parts_matrix(&m->w_out) / MIB);
    bd3_ctx *c = NULL;
    if (bd3_ctx_new(m, threads, &c) != BD3_OK) {
        fprintf(stderr, "mem_parts: cannot make a context\n");
        return 1;
    }
    const bd3_hparams *hp = &m->hp;
    size_t N = (size_t)hp->n_ctx, L = (size_t)hp->n_layer, KD = (size_t)c->kv_dim, V = (size_t)hp->n_vocab;
    size_t D = (size_t)hp->n_embd, F = (size_t)hp->n_ff, R = (size_t)c->row_chunk, Q = (size_t)c->q_dim;
    size_t K = F > Q ? F : (Q > D ? Q : D), H = (size_t)hp->n_head, hd = (size_t)hp->head_dim;
    size_t T = (size_t)c->n_threads, NP = (size_t)c->ld_scores, qc = (size_t)c->q_chunk;
    size_t qr = qc > hd ? qc : hd;
    /* packed int8 matrix of n values: values and one float scale per 32 */
    size_t kv = 3 * L * N * KD * sizeof(float), win = 0, att = 0, xq = 0;
    if (c->att_k && !hp->prenorm) win = 2 * L * H * NP * hd * 36 / 32; /* made by the first refresh */
    if (c->att_k) att = 2 * H * NP * hd * 36 / 32 + T * qr * NP * (1 + 2 * 4 / 32) + T * hd * NP * 4;
    if (c->xq) xq = R * K + 2 * R * (K / 32 + 1) * 4;
    printf("context %.1f MiB at bd3_ctx_new, then:\n", c->bytes / MIB);
    char what[64];
    parts_line("KV cache k, k_rot, v", (double)kv, "3 x n_layer x n_ctx x kv_dim floats");
    parts_line("window cache, packed", (double)win, "made by the first refresh; float32 rows in k_rot");
    parts_line("x [n_ctx, D]", (double)(N * D * 4), "residual stream");
    parts_line("qkv [n_ctx, Q + 2 KD]", (double)(N * (Q + 2 * KD) * 4), "attention output in place of q");
    snprintf(what, sizeof what, "a, proj [%zu, D]", R);
    parts_line(what, (double)(2 * R * D * 4), "one chunk of rows");
    snprintf(what, sizeof what, "%s [%zu, F]", c->ff2 ? "ff, ff2" : "ff", R);
    parts_line(what, (double)((c->ff2 ? 2 : 1) * R * F * 4), "one chunk of rows");
    snprintf(what, sizeof what, "xq, xd, xs [%zu rows]", R);
    parts_line(what, (double)xq, "int8 input of a product");
    snprintf(what, sizeof what, "scores [%zu, %zu, %zu]", T, qc, NP);
    parts_line(what, (double)(T * qc * NP * 4), "attention probabilities");
    parts_line("int8 attention buffers", (double)att, "packed keys, values, queries");
    parts_line("rope tables, ids, rest",
               (double)(c->bytes - kv - N * D * 4 - N * (Q + 2 * KD) * 4 - 2 * R * D * 4 -
                        (c->ff2 ? 2 : 1) * R * F * 4 - xq - T * qc * NP * 4 - att),
               "");
    printf("logits of one chunk of %d rows: %.1f MiB (the operations put them in qkv when they fit)\n", 32,
           32.0 * V * 4 / MIB);
    parts_stage("context made");
    bd3_defaults def;
    bd3_model_defaults(m, &def);
    bd3_sampler_params sp = def.sampler;
    int B = bd3_model_default_block(m);
    int32_t *ids = malloc(N * sizeof *ids), *out = malloc(2 * (size_t)B * sizeof *out);
    float *conf = calloc(N, sizeof *conf);
    if (!ids || !out || !conf) return 1;
    bd3_rng r;
    bd3_rng_seed(&r, sp.seed);
    parts_random(ids, (int)N, hp, &r);
    int prompt = (int)N / 2 / B * B, n_new = 0;
    bd3_stop why;
    bd3_continue(c, &sp, B, ids, prompt, 2 * B, out, NULL, &n_new, &why, NULL, NULL);
    parts_stage("continue, KV cache");
    bd3_continue_nocache(c, &sp, B, ids, prompt, 2 * B, out, NULL, &n_new, &why, NULL, NULL);
    parts_stage("continue, no cache");
    bd3_sampler_params exact = sp;
    exact.refresh = 0;
    parts_infill(c, &exact, hp, ids, conf, "infill exact");
    bd3_sampler_params two = sp;
    two.kind = BD3_SAMPLE_CONFIDENCE;
    two.steps = 2;
    two.refresh = 0;
    parts_infill(c, &two, hp, ids, conf, "infill confidence, 2 steps");
    bd3_sampler_params fh = sp;
    fh.kind = BD3_SAMPLE_FIRST_HITTING;
    fh.steps = 0;
    fh.refresh = 32;
    parts_infill(c, &fh, hp, ids, conf, "infill window cache, refresh 32");
    printf("context %.1f MiB after the operations (their buffers kept in the context)\n", c->bytes / MIB);
    free(ids);
    free(out);
    free(conf);
    bd3_ctx_free(c);
    bd3_model_free(m);
    return 0;
}
