/* The tensorcook command-line program: dispatches to the recipes. */
#include <stdio.h>
#include <string.h>

#include "tensorcook/tensorcook.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tensorcook <command> [options]\n"
            "\n"
            "commands:\n"
            "  --help      this text\n"
            "  --version   print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tensorcook %s\n", tc_version());
        return 0;
    }
    fprintf(stderr, "tensorcook: unknown command '%s' (see tensorcook --help)\n", argv[1]);
    return 2;
}
