/* cmd_tokenize.c: `bd3 tokenize`: token ids of a file, whitespace-separated, nothing else on
 * stdout. Depends on bd3.h and cli.h. */
#include <stdlib.h>
#include "cli.h"

int cmd_tokenize(cli_opts *o)
{
    char *text;
    size_t len;
    int rc = cli_read_file(o, o->n_args ? o->args[0] : NULL, &text, &len);
    if (rc != CLI_EXIT_OK) return rc;
    bd3_model *m;
    rc = cli_load(o, &m, NULL);
    if (rc != CLI_EXIT_OK) {
        free(text);
        return rc;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    bd3_status st = bd3_tokenize(m, text, len, &ids, &n);
    if (st != BD3_OK) {
        cli_error(o, "cannot tokenize: %s", bd3_status_str(st));
        rc = CLI_EXIT_FAIL;
    } else {
        for (size_t i = 0; i < n; i++) printf(i + 1 < n ? "%d " : "%d", ids[i]);
        printf("\n");
        if (fflush(stdout) != 0) {
            cli_error(o, "cannot write the output");
            rc = CLI_EXIT_FAIL;
        }
    }
    free(ids);
    free(text);
    bd3_model_free(m);
    return rc;
}
