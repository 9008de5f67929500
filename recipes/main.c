/* The tensorcook command-line program: dispatches to the recipes listed in
 * registry.def. Only the CLI prints; the library reports errors by status. */
#include <stdio.h>
#include <string.h>

#include "tensorcook/tensorcook.h"

#define RECIPE(name, fn, summary) int fn(int argc, char **argv);
#include "registry.def"
#undef RECIPE

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
#define RECIPE(name, fn, summary) {name, fn, summary},
#include "registry.def"
#undef RECIPE
    {NULL, NULL, NULL} /* end */
};
static const size_t n_commands = sizeof commands / sizeof commands[0] - 1;

static void usage(FILE *f)
{
    fprintf(f, "usage: tensorcook <command> [options]   (tensorcook <command> --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < n_commands; i++)
        fprintf(f, "  %-20s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n  --help               this text\n  --version            print the version\n"
               "\nenvironment: TENSORCOOK_THREADS=N sets the number of threads (default: all cores)\n");
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
    for (size_t i = 0; i < n_commands; i++) {
        if (!strcmp(argv[1], commands[i].name)) {
            int rc = commands[i].run(argc - 1, argv + 1);
            tc_shutdown();
            return rc;
        }
    }
    fprintf(stderr, "tensorcook: unknown command '%s' (see tensorcook --help)\n", argv[1]);
    return 2;
}
