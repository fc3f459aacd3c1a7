/* fuzz_theme.c: fuzz target for the theme parser and colour reduction: any bytes as a theme
 * file, then every slot resolved at every depth. */
#include <stdint.h>
#include <stdlib.h>
#include "theme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    theme *t = theme_new();
    if (!t) return 0;
    char err[256];
    theme_load_string(t, (const char *)data, size, "fuzz.theme", err, sizeof err);
    for (int s = 0; s < THEME_N_SLOTS; s++)
        for (int d = THEME_DEPTH_NONE; d <= THEME_DEPTH_TRUE; d++) {
            theme_resolved r = theme_style_resolve(t, (theme_slot)s, (theme_depth)d);
            int32_t max = d == THEME_DEPTH_8 ? 7 : d == THEME_DEPTH_256 ? 255 : 0xffffff;
            if (r.fg < -1 || r.fg > max || r.bg < -1 || r.bg > max) abort();
        }
    const float *th = theme_thresholds(t);
    for (int i = 1; i < THEME_N_BUCKETS - 1; i++)
        if (!(th[i] > th[i - 1])) abort();
    for (size_t i = 0; i + 4 <= size; i += 4) {
        float p = (float)(data[i] | data[i + 1] << 8) / 65535.0f;
        int b = theme_confidence_bucket(t, p);
        if (b < 0 || b >= THEME_N_BUCKETS) abort();
    }
    theme_free(t);
    return 0;
}
