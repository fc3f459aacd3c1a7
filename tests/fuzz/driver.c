/* Replay driver for fuzz targets when libFuzzer is not used: feeds every file under the seed
 * folders given on the command line, then -runs=N pseudo-random mutations of them. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t driver_rng = 0x9e3779b97f4a7c15ull; /* xorshift state */

static uint64_t driver_next(void)
{
    driver_rng ^= driver_rng << 13;
    driver_rng ^= driver_rng >> 7;
    driver_rng ^= driver_rng << 17;
    return driver_rng;
}

/* Reads a whole file; NULL on error. */
static uint8_t *driver_read(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    *size = n;
    return buf;
}

int main(int argc, char **argv)
{
    long runs = 0;
    uint8_t *seeds[256];   /* seed contents */
    size_t seed_size[256]; /* bytes per seed */
    int n_seeds = 0;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "-runs=", 6) == 0) {
            runs = atol(argv[i] + 6);
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d)) && n_seeds < 256) {
            if (e->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            size_t sz;
            uint8_t *buf = driver_read(path, &sz);
            if (!buf) continue;
            LLVMFuzzerTestOneInput(buf, sz);
            seeds[n_seeds] = buf;
            seed_size[n_seeds++] = sz;
        }
        closedir(d);
    }
    for (long r = 0; r < runs; r++) {
        size_t sz = n_seeds ? seed_size[r % n_seeds] : (size_t)(driver_next() % 256);
        uint8_t *buf = malloc(sz + 1);
        if (!buf) return 1;
        if (n_seeds)
            memcpy(buf, seeds[r % n_seeds], sz);
        else
            for (size_t i = 0; i < sz; i++) buf[i] = (uint8_t)driver_next();
        int flips = 1 + (int)(driver_next() % 8);
        for (int k = 0; k < flips && sz; k++) {
            size_t at = driver_next() % sz;
            switch (driver_next() % 3) {
            case 0: buf[at] = (uint8_t)driver_next(); break;
            case 1: buf[at] ^= (uint8_t)(1u << (driver_next() % 8)); break;
            default: buf[at] = (uint8_t)(driver_next() % 2 ? 0xff : 0); break;
            }
        }
        if (driver_next() % 4 == 0 && sz) sz = driver_next() % sz;
        LLVMFuzzerTestOneInput(buf, sz);
        free(buf);
    }
    for (int i = 0; i < n_seeds; i++) free(seeds[i]);
    printf("fuzz: %d seeds, %ld mutated runs, no crash\n", n_seeds, runs);
    return 0;
}
