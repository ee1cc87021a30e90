/*
 * cmd_keys.c — `ember keys add NAME | list | rm NAME [--db PATH]`: the API keys of
 * `ember serve`. A new key is printed once; the database keeps only its SHA-256.
 */
#include "commands.h"
#include "model_arg.h"

#include "ember.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: ember keys add NAME [--db PATH]   create a key (printed once) named NAME\n"
    "       ember keys list [--db PATH]       the keys: name, prefix, created, last used\n"
    "       ember keys rm NAME [--db PATH]    delete a key and its conversations\n"
    "PATH is a SQLite file or a postgresql:// URI; it defaults to $EMBER_DB, else\n"
    "~/.local/share/ember/ember.db.\n";

int ember_cmd_keys(int argc, char **argv) {
    const char *action = NULL, *name = NULL, *db = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--db") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ember keys: --db needs a path\n%s", usage);
                return 2;
            }
            db = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ember keys: unknown option '%s'\n%s", argv[i], usage);
            return 2;
        } else if (!action) {
            action = argv[i];
        } else if (!name) {
            name = argv[i];
        } else {
            fprintf(stderr, "ember keys: too many arguments\n%s", usage);
            return 2;
        }
    }
    ember_error err = {0};
    if (action && strcmp(action, "add") == 0 && name) {
        char key[128];
        if (ember_keys_add(db, name, key, sizeof key, &err) != EMBER_OK) {
            fprintf(stderr, "ember keys: %s\n", err.message);
            return err.status == EMBER_ERR_INVALID ? 2 : 1;
        }
        printf("%s\n", key);
        fprintf(stderr, "ember keys: created key '%s'; it is shown only this once\n", name);
        return 0;
    }
    if (action && (strcmp(action, "rm") == 0 || strcmp(action, "remove") == 0) && name) {
        if (ember_keys_remove(db, name, &err) != EMBER_OK) {
            fprintf(stderr, "ember keys: %s\n", err.message);
            return 1;
        }
        fprintf(stderr, "ember keys: removed key '%s'\n", name);
        return 0;
    }
    if (action && strcmp(action, "list") == 0 && !name) {
        ember_key_info *keys = NULL;
        size_t n = 0;
        if (ember_keys_list(db, &keys, &n, &err) != EMBER_OK) {
            fprintf(stderr, "ember keys: %s\n", err.message);
            return 1;
        }
        int64_t now = (int64_t)time(NULL);
        if (n) printf("%-24s %-12s %-16s %s\n", "NAME", "PREFIX", "CREATED", "LAST USED");
        for (size_t i = 0; i < n; i++) {
            char created[32], used[32];
            cli_format_ago(keys[i].created_at, now, created);
            cli_format_ago(keys[i].last_used, now, used);
            printf("%-24s %-12s %-16s %s\n", keys[i].name, keys[i].prefix, created, used);
        }
        free(keys);
        return 0;
    }
    fprintf(stderr, "%s", usage);
    return 2;
}
