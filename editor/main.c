/* main.c: bd3ed entry point (placeholder until the editor lands). */
#include <stdio.h>

int main(void)
{
    printf("bd3ed %s\n", BD3ED_VERSION);
    return 0;
}
