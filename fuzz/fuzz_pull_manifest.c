/*
 * fuzz_pull_manifest.c — manifests as read from the store: parse, and when that succeeds,
 * dump and parse again (the round trip must hold) and match names against it.
 */
#include "pull/manifest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pull_manifest m;
    ember_error err;
    if (pull_manifest_parse((const char *)data, size, &m, &err) != EMBER_OK) return 0;
    char *text = pull_manifest_dump(&m);
    if (text) {
        pull_manifest back;
        if (pull_manifest_parse(text, strlen(text), &back, &err) != EMBER_OK) abort();
        if (strcmp(back.repo, m.repo) != 0 || back.n_files != m.n_files) abort();
        pull_manifest_free(&back);
        free(text);
    }
    pull_manifest_set set = {.items = &m, .count = 1};
    size_t index;
    char name[400];
    strcpy(name, m.repo);
    strcat(name, ":");
    strcat(name, m.quant);
    if (pull_manifest_match(&set, name, &index, &err) != EMBER_OK || index != 0) abort();
    pull_manifest_match(&set, m.quant, &index, &err);
    pull_manifest_free(&m);
    return 0;
}
