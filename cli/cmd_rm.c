/* cmd_rm.c — `ember rm NAME...`: delete pulled models from the store. */
#include "commands.h"
#include "ember.h"
#include "model_arg.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: ember rm NAME... [--models-dir DIR]\n"
    "\n"
    "Deletes pulled models (names as `ember list` shows them, e.g. owner/repo:Q4_K_M).\n"
    "Files another pulled model still uses (a shared projector) are kept.\n";

int ember_cmd_rm(int argc, char **argv) {
    const char *dir = NULL;
    int names = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--models-dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "ember rm: unknown option '%s'\n%s", argv[i], usage);
            return 2;
        } else {
            names++;
        }
    }
    if (names == 0) {
        fputs(usage, stderr);
        return 2;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--models-dir") == 0) {
            i++;
            continue;
        }
        ember_store_entry removed;
        ember_error err = {0};
        if (ember_store_remove(dir, argv[i], &removed, &err) != EMBER_OK) {
            fprintf(stderr, "ember rm: %s\n", err.message);
            rc = 1;
            continue;
        }
        char size[32];
        cli_format_size(removed.size, size);
        printf("removed %s (%s)\n", removed.name, size);
    }
    return rc;
}
