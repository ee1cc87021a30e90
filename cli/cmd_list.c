/* cmd_list.c — `ember list [--json]`: the models pulled into the store. */
#include "commands.h"
#include "ember.h"
#include "model_arg.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: ember list [--json] [--models-dir DIR]\n"
    "\n"
    "Lists the models `ember pull` downloaded: name, size, quantization, vision, last use.\n";

static json_t *iso_time(int64_t t) {
    if (t <= 0) return json_null();
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

static int print_json(const ember_store_entry *e, size_t n) {
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(e[i].name));
        json_object_set_new(o, "repo", json_string(e[i].repo));
        json_object_set_new(o, "quant", json_string(e[i].quant));
        json_object_set_new(o, "size", json_integer((json_int_t)e[i].size));
        json_object_set_new(o, "vision", json_boolean(e[i].has_vision));
        json_object_set_new(o, "parts", json_integer(e[i].n_parts));
        json_object_set_new(o, "model_path", json_string(e[i].model_path));
        json_object_set_new(o, "mmproj_path", e[i].has_vision ? json_string(e[i].mmproj_path) : json_null());
        json_object_set_new(o, "complete", json_boolean(e[i].complete));
        json_object_set_new(o, "pulled_at", iso_time(e[i].pulled_at));
        json_object_set_new(o, "last_used", iso_time(e[i].last_used));
        json_array_append_new(list, o);
    }
    char *text = json_dumps(list, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(list);
    if (!text) return 1;
    puts(text);
    free(text);
    return 0;
}

int ember_cmd_list(int argc, char **argv) {
    bool json = false;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--models-dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "ember list: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    ember_store_entry *entries;
    size_t n;
    ember_error err = {0};
    if (ember_store_list(dir, &entries, &n, &err) != EMBER_OK) {
        fprintf(stderr, "ember list: %s\n", err.message);
        return 1;
    }
    int rc = 0;
    if (json) {
        rc = print_json(entries, n);
    } else if (n == 0) {
        fprintf(stderr, "no models pulled yet; `ember pull OWNER/REPO[:QUANT]` downloads one\n");
    } else {
        int name_w = 4, quant_w = 5;
        for (size_t i = 0; i < n; i++) {
            if ((int)strlen(entries[i].name) > name_w) name_w = (int)strlen(entries[i].name);
            if ((int)strlen(entries[i].quant) > quant_w) quant_w = (int)strlen(entries[i].quant);
        }
        printf("%-*s  %9s  %-*s  %-6s  %s\n", name_w, "NAME", "SIZE", quant_w, "QUANT", "VISION",
               "LAST USED");
        int64_t now = (int64_t)time(NULL);
        for (size_t i = 0; i < n; i++) {
            char size[32], ago[32];
            cli_format_size(entries[i].size, size);
            cli_format_ago(entries[i].last_used, now, ago);
            printf("%-*s  %9s  %-*s  %-6s  %s%s\n", name_w, entries[i].name, size, quant_w,
                   entries[i].quant, entries[i].has_vision ? "yes" : "no", ago,
                   entries[i].complete ? "" : "  (files missing: pull it again)");
        }
    }
    ember_store_list_free(entries);
    return rc;
}
