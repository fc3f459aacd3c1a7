/* paths.c: where the engine finds its default model file. Depends on bd3.h and POSIX only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bd3.h"

#ifndef BD3ED_DATADIR
#define BD3ED_DATADIR "/usr/local/share/bd3ed"
#endif

static bd3_status paths_put(char *buf, size_t size, const char *path)
{
    size_t len = strlen(path);
    if (len + 1 > size) return BD3_E_ARG;
    memcpy(buf, path, len + 1);
    return BD3_OK;
}

bd3_status bd3_default_model_path(char *buf, size_t size)
{
    if (!buf || size == 0) return BD3_E_ARG;
    const char *env = getenv("BD3_MODEL");
    if (env && *env) return paths_put(buf, size, env);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char cand[4200];
            snprintf(cand, sizeof cand, "%s/../model/default.gguf", exe);
            if (access(cand, R_OK) == 0) return paths_put(buf, size, cand);
        }
    }
    bd3_status st = paths_put(buf, size, BD3ED_DATADIR "/default.gguf");
    if (st != BD3_OK) return st;
    return access(buf, R_OK) == 0 ? BD3_OK : BD3_E_IO;
}
