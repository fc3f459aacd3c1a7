/* fuzz_config.c: fuzz target for the config parser: any bytes as a config file and as prompt
 * text; every option must still format and re-parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    config *cfg = config_new();
    if (!cfg) abort(); /* the defaults must always parse */
    char err[256];
    config_load_string(cfg, (const char *)data, size, "fuzz", err, sizeof err);
    char text[512];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    config_set_text(cfg, text, err, sizeof err);
    int used;
    config_set_arg(cfg, text, "1", &used, err, sizeof err);
    for (int i = 0; i < config_n_options(); i++) {
        const config_option *o = config_option_at(i);
        char value[CONFIG_MAX_PATH + 8];
        if (config_get(cfg, o->name, value, sizeof value) != CONFIG_OK) abort();
        if (config_set(cfg, o->name, value, err, sizeof err) != CONFIG_OK) abort();
    }
    config_free(cfg);
    return 0;
}
