/* bd3.c: the bd3 command-line tool (placeholder until the subcommands land). */
#include <stdio.h>
#include "bd3.h"

int main(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "bd3 %s: no subcommands yet (%s)\n", BD3ED_VERSION, bd3_status_str(BD3_OK));
    return 2;
}
