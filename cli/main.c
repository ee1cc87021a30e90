/* main.c — the ember command: dispatch on the first argument. */
#include "commands.h"

#include <stdio.h>
#include <string.h>

static void help(FILE *out) {
    fprintf(out, "ember — the Muse Spark system, open and local\n\nusage: ember COMMAND [options]\n\ncommands:\n");
    for (const ember_cmd *c = ember_cmds; c->name; c++) fprintf(out, "  %-8s %s\n", c->name, c->summary);
    fprintf(out, "\n`ember COMMAND --help` describes a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (const ember_cmd *c = ember_cmds; c->name; c++)
        if (strcmp(argv[1], c->name) == 0) return c->run(argc - 1, argv + 1);
    fprintf(stderr, "ember: unknown command '%s'\n\n", argv[1]);
    help(stderr);
    return 2;
}
