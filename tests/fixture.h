/* fixture.h: a small random-weight bd3lm model for engine tests, generated once per build folder
 * by tests/ref/make_fixture.py (numpy), and helpers to load it. Test-only; depends on libc/POSIX
 * and bd3.h. */
#ifndef BD3_TEST_FIXTURE_H
#define BD3_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "bd3.h"

/* Writes the path of $BUILD/fixtures/FILE to buf, generating it when absent: a random F32 model
 * of V 300, D 64, 4 heads, 2 layers, n_ctx 64 with the block lengths of blocks (a Python list,
 * e.g. "[4, 8, 64]"), weights from seed, and more keyword arguments of make_fixture.random_model
 * in extra ("" or e.g. ", sampler={'top_p': 0.5}"). 0 ok, -1 failure (message on stderr). */
static int fixture_path_for(char *buf, size_t size, const char *file, const char *blocks, int seed,
                            const char *extra)
{
    const char *build = getenv("BUILD");
    const char *python = getenv("PYTHON");
    if (!build || !*build) build = "build";
    if (!python || !*python) python = "/usr/bin/python3";
    snprintf(buf, size, "%s/fixtures/%s", build, file);
    if (access(buf, R_OK) == 0) return 0;
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/fixtures' && '%s' -c \"import sys; sys.path.insert(0, 'tests/ref'); "
             "import make_fixture as f; f.random_model(sys.argv[1] + '.tmp', 300, 64, 4, 2, 64, "
             "'f32', %s, %d%s)\" '%s' && mv '%s.tmp' '%s'",
             build, python, blocks, seed, extra, buf, buf, buf);
    if (system(cmd) != 0 || access(buf, R_OK) != 0) {
        fprintf(stderr, "cannot generate the fixture model %s\n", buf);
        return -1;
    }
    return 0;
}

/* Writes the path of $BUILD/fixtures/ops_f32.gguf (V 300, D 64, 4 heads, 2 layers, n_ctx 64,
 * block lengths 4, 8 and 64) to buf, generating it when absent. 0 ok, -1 failure (message on
 * stderr). */
static int fixture_model_path(char *buf, size_t size)
{
    return fixture_path_for(buf, size, "ops_f32.gguf", "[4, 8, 64]", 5, "");
}

/* The same shape trained (as its metadata says) for block length 1 and global mode:
 * $BUILD/fixtures/ar_f32.gguf, block lengths 1 and 64. */
static inline int fixture_ar_model_path(char *buf, size_t size)
{
    return fixture_path_for(buf, size, "ar_f32.gguf", "[1, 64]", 7, "");
}

/* The ops fixture's weights with sampler defaults of its own in the metadata:
 * $BUILD/fixtures/sampler_f32.gguf, kind confidence, steps 3, top_p 0.5, refresh 0, revise
 * fraction 0.5. */
static inline int fixture_sampler_model_path(char *buf, size_t size)
{
    return fixture_path_for(buf, size, "sampler_f32.gguf", "[4, 8, 64]", 5,
                            ", sampler={'kind': 'confidence', 'steps': 3, 'top_p': 0.5, "
                            "'refresh': 0, 'revise_fraction': 0.5}");
}

/* Loads the fixture model into *model and a context of n_threads threads on it into *ctx (a
 * cmocka group set-up). 0 ok, -1 failure (message on stderr). */
static inline int fixture_open(int n_threads, bd3_model **model, bd3_ctx **ctx)
{
    char path[1024];
    if (fixture_model_path(path, sizeof path) != 0) return -1;
    char err[256] = "";
    if (bd3_model_load(path, model, err, sizeof err) != BD3_OK) {
        fprintf(stderr, "cannot load %s: %s\n", path, err);
        return -1;
    }
    return bd3_ctx_new(*model, n_threads, ctx) == BD3_OK ? 0 : -1;
}

/* Frees what fixture_open loaded. */
static inline void fixture_close(bd3_model *model, bd3_ctx *ctx)
{
    bd3_ctx_free(ctx);
    bd3_model_free(model);
}

/* n pseudo-random ordinary tokens of a model with hyperparameters hp (neither mask nor
 * end-of-text), the same for the same seed. */
static inline void fixture_fill_ids(const bd3_hparams *hp, int32_t *ids, int n, uint64_t seed)
{
    bd3_rng r;
    bd3_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int32_t v;
        do v = (int32_t)(bd3_rng_u64(&r) % (uint64_t)hp->n_vocab);
        while (v == hp->mask_id || v == hp->eos_id);
        ids[i] = v;
    }
}

#endif
