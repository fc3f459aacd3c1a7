/* fixture.h: a small random-weight bd3lm model for engine tests, generated once per build folder
 * by tests/ref/make_fixture.py (numpy). Test-only; depends on libc/POSIX. */
#ifndef BD3_TEST_FIXTURE_H
#define BD3_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Writes the path of $BUILD/fixtures/ops_f32.gguf (V 300, D 64, 4 heads, 2 layers, n_ctx 64,
 * block lengths 4, 8 and 64) to buf, generating it when absent. 0 ok, -1 failure (message on
 * stderr). */
static int fixture_model_path(char *buf, size_t size)
{
    const char *build = getenv("BUILD");
    const char *python = getenv("PYTHON");
    if (!build || !*build)
        build = "build";
    if (!python || !*python)
        python = "/usr/bin/python3";
    snprintf(buf, size, "%s/fixtures/ops_f32.gguf", build);
    if (access(buf, R_OK) == 0)
        return 0;
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/fixtures' && '%s' -c \"import sys; sys.path.insert(0, 'tests/ref'); "
             "import make_fixture as f; f.random_model(sys.argv[1] + '.tmp', 300, 64, 4, 2, 64, "
             "'f32', [4, 8, 64], 5)\" '%s' && mv '%s.tmp' '%s'",
             build, python, buf, buf, buf);
    if (system(cmd) != 0 || access(buf, R_OK) != 0) {
        fprintf(stderr, "cannot generate the fixture model %s\n", buf);
        return -1;
    }
    return 0;
}

#endif
